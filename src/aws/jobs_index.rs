//! `status --status S [--due-after T] [--due-before T]` on the aws target: a Query on the
//! status index (`waitable_core::status_index`), which reads only the matching items and gives
//! them in StartActionAt order, page after page. The index does not hold payloads; when they
//! are wanted, each page's payloads are read by key with BatchGetItem.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use crate::Result;
use waitable_core::job::{ATTR_ID, ATTR_PAYLOAD, JobRecord, JobStatus};
use waitable_core::payload::Payload;
use waitable_core::status_index::{
    BATCH_GET_MAX, DueWindow, INDEX_NAME, key_condition, window_is_empty,
};

use super::jobs::job_from_sdk_item;
use super::sdk::failed;

/// Rounds of BatchGetItem for one page's unprocessed keys before giving up (each round waits
/// a little longer; DynamoDB returns unprocessed keys when throttled).
const BATCH_GET_ROUNDS: u32 = 8;

/// Streams the jobs in `status` due within `window` to `sink`, in StartActionAt order.
/// With `payloads`, each job carries its Payload (read by key, one BatchGetItem per page of
/// at most 100); without, it is left out (the status table does not show it).
pub async fn query_jobs(
    ddb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    status: JobStatus,
    window: &DueWindow,
    payloads: bool,
    sink: &mut dyn FnMut(JobRecord) -> Result<()>,
) -> Result<()> {
    if window_is_empty(window) {
        return Ok(());
    }
    let condition = key_condition(status, window);
    let mut query = ddb
        .query()
        .table_name(table_name)
        .index_name(INDEX_NAME)
        .key_condition_expression(condition.expression)
        .limit(BATCH_GET_MAX as i32);
    for (placeholder, name) in condition.names {
        query = query.expression_attribute_names(placeholder, name);
    }
    for (placeholder, value) in condition.values {
        query = query.expression_attribute_values(placeholder, AttributeValue::S(value));
    }
    let mut pages = query.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| failed(&format!("querying table {table_name}"), &e))?;
        let mut jobs: Vec<JobRecord> = page.items().iter().filter_map(job_from_sdk_item).collect();
        if payloads && !jobs.is_empty() {
            let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
            let mut found = read_payloads(ddb, table_name, &ids).await?;
            for job in &mut jobs {
                job.payload = found.remove(&job.id).flatten();
            }
        }
        for job in jobs {
            // The index is eventually consistent: an item may have moved on since; it is
            // shown as the index had it, like any read of a changing table.
            if window.selects(&job) {
                sink(job)?;
            }
        }
    }
    Ok(())
}

/// The payloads of jobs `ids` (at most [`BATCH_GET_MAX`]), by Id; a job without one maps to
/// None, a job gone meanwhile is absent.
async fn read_payloads(
    ddb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    ids: &[&str],
) -> Result<HashMap<String, Option<Payload>>> {
    debug_assert!(ids.len() <= BATCH_GET_MAX);
    let keys: Vec<HashMap<String, AttributeValue>> = ids
        .iter()
        .map(|id| HashMap::from([(ATTR_ID.to_string(), AttributeValue::S(id.to_string()))]))
        .collect();
    let mut request = Some(
        KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .projection_expression("#id, #payload")
            .expression_attribute_names("#id", ATTR_ID)
            .expression_attribute_names("#payload", ATTR_PAYLOAD)
            .build()
            .map_err(|e| crate::Error::failed(format!("building a BatchGetItem: {e}")))?,
    );
    let mut found = HashMap::new();
    for round in 0..BATCH_GET_ROUNDS {
        let Some(keys) = request.take() else { break };
        if round > 0 {
            // Unprocessed keys mean throttling: back off before asking again.
            tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
        }
        let out = ddb
            .batch_get_item()
            .request_items(table_name, keys)
            .send()
            .await
            .map_err(|e| failed(&format!("reading payloads from table {table_name}"), &e))?;
        for item in out
            .responses()
            .and_then(|r| r.get(table_name))
            .into_iter()
            .flatten()
        {
            if let Some(job) = job_from_sdk_item(item) {
                found.insert(job.id, job.payload);
            }
        }
        request = out
            .unprocessed_keys()
            .and_then(|u| u.get(table_name))
            .filter(|k| !k.keys().is_empty())
            .cloned();
    }
    if request.is_some() {
        return Err(crate::Error::failed(format!(
            "reading payloads from table {table_name}: still throttled after {BATCH_GET_ROUNDS} rounds"
        )));
    }
    Ok(found)
}

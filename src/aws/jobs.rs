//! Jobs on the aws target: submit (StartExecution), list (Scan), cancel (StopExecution and a
//! conditional UpdateItem). Clients are passed in; nothing here builds one.

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_types::retry::RetryConfig;

use super::sdk::failed;
use crate::backend::{Cancelled, JobQuery};
use crate::{Error, Result};
use waitable_core::arn::execution_arn;
use waitable_core::cancel;
use waitable_core::job::{
    ATTR_ID, ATTR_LAST_UPDATED, ATTR_PROCESS_STATUS, JobRecord, JobRequest, JobStatus, Submitted,
    same_job_text,
};
use waitable_core::outputs::StackOutputs;
use waitable_core::record::{StringAttributes, record_from_item};

/// Attempts for a throttled StartExecution/DescribeExecution (the SDK backs off exponentially
/// with jitter between them). The execution name is fixed before the first attempt, so a
/// retry can never start a second job.
pub const SUBMIT_MAX_ATTEMPTS: u32 = 8;

/// Segments of the parallel scan behind `status`.
pub const SCAN_SEGMENTS: i32 = 4;

fn submit_retries() -> aws_sdk_sfn::config::Builder {
    aws_sdk_sfn::config::Builder::default()
        .retry_config(RetryConfig::standard().with_max_attempts(SUBMIT_MAX_ATTEMPTS))
}

/// Starts `job` as an execution of `state_machine_arn` named after the job's Id, its input
/// carrying the `ExpiresAt` of a stack that keeps finished jobs `retention_days`.
///
/// Idempotent. The job's row is read first (a consistent GetItem): Step Functions forgets an
/// execution's name 90 days after it closes, the row does not, so a reused Id is answered from
/// the row (the same job: `already_submitted`; another: an error) and never starts an
/// execution whose first write would fail. Otherwise StartExecution is the one Step Functions
/// call (its quota is 20 times DescribeExecution's); only when it answers
/// ExecutionAlreadyExists is the existing execution's input compared.
pub async fn submit(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    stack: &StackOutputs,
    retention_days: u32,
    job: &JobRequest,
) -> Result<Submitted> {
    let state_machine_arn = &stack.state_machine_arn;
    let arn = execution_arn(state_machine_arn, &job.id).ok_or_else(|| {
        Error::failed(format!(
            "the stack's StateMachineArn {state_machine_arn:?} is not a state machine ARN"
        ))
    })?;
    if let Some(row) = get_job(ddb, &stack.table_name, &job.id).await? {
        return if row.records(job) {
            Ok(Submitted {
                job_id: job.id.clone(),
                execution_arn: arn,
                already_submitted: true,
            })
        } else {
            Err(different(job, &arn))
        };
    }
    let input = job.execution_input(retention_days).to_string();
    let started = sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(&job.id)
        .input(&input)
        .customize()
        .config_override(submit_retries())
        .send()
        .await;
    match started {
        Ok(out) => Ok(Submitted {
            job_id: job.id.clone(),
            execution_arn: out.execution_arn,
            already_submitted: false,
        }),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_execution_already_exists()) =>
        {
            let existing = existing_input(sfn, &arn)
                .await?
                .ok_or_else(|| failed(&format!("starting job {}", job.id), &err))?;
            compare(job, arn, &existing, &input)
        }
        Err(err) => Err(failed(&format!("starting job {}", job.id), &err)),
    }
}

fn different(job: &JobRequest, arn: &str) -> Error {
    Error::failed(format!(
        "job {} was already submitted with a different time or payload (execution {arn}); use another --id",
        job.id
    ))
}

fn compare(job: &JobRequest, arn: String, existing: &str, input: &str) -> Result<Submitted> {
    if same_job_text(existing, input) {
        Ok(Submitted {
            job_id: job.id.clone(),
            execution_arn: arn,
            already_submitted: true,
        })
    } else {
        Err(different(job, &arn))
    }
}

/// The input of execution `arn`, or None when there is no such execution.
async fn existing_input(sfn: &aws_sdk_sfn::Client, arn: &str) -> Result<Option<String>> {
    match sfn
        .describe_execution()
        .execution_arn(arn)
        .customize()
        .config_override(submit_retries())
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.input().unwrap_or("{}").to_string())),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_execution_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(err) => Err(failed(&format!("looking up execution {arn}"), &err)),
    }
}

/// The SDK's attribute map, read by the contract's item mapping.
struct SdkItem<'a>(&'a HashMap<String, AttributeValue>);

impl StringAttributes for SdkItem<'_> {
    fn string(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.as_s().ok().map(String::as_str)
    }
    fn number(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.as_n().ok().map(String::as_str)
    }
}

/// A row of the jobs table as read by the SDK, through the contract's one item mapping.
pub(crate) fn job_from_sdk_item(item: &HashMap<String, AttributeValue>) -> Option<JobRecord> {
    record_from_item(&SdkItem(item))
}

/// One job by Id (a consistent read), or None.
pub async fn get_job(
    ddb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    id: &str,
) -> Result<Option<JobRecord>> {
    let out = ddb
        .get_item()
        .table_name(table_name)
        .key(ATTR_ID, AttributeValue::S(id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| failed(&format!("reading job {id} from table {table_name}"), &e))?;
    Ok(out.item().and_then(job_from_sdk_item))
}

/// Streams every job matching `query` to `sink`: a parallel scan of `segments` segments,
/// each reading page after page. At most two pages per segment are held at once (one queued,
/// one being read), so memory does not grow with the table.
pub async fn list_jobs(
    ddb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    query: &JobQuery,
    segments: i32,
    sink: &mut dyn FnMut(JobRecord) -> Result<()>,
) -> Result<()> {
    if let Some(id) = &query.id {
        if let Some(job) = get_job(ddb, table_name, id).await?
            && query.matches(&job)
        {
            sink(job)?;
        }
        return Ok(());
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(segments.max(1) as usize);
    for segment in 0..segments {
        let mut scan = ddb
            .scan()
            .table_name(table_name)
            .segment(segment)
            .total_segments(segments);
        if !query.statuses.is_empty() {
            // Filter on the server: fewer bytes over the wire.
            let names: Vec<String> = (0..query.statuses.len())
                .map(|i| format!(":s{i}"))
                .collect();
            scan = scan
                .filter_expression(format!("#status IN ({})", names.join(", ")))
                .expression_attribute_names("#status", ATTR_PROCESS_STATUS);
            for (name, status) in names.iter().zip(&query.statuses) {
                scan = scan.expression_attribute_values(
                    name,
                    AttributeValue::S(status.as_str().to_string()),
                );
            }
        }
        let tx = tx.clone();
        let table = table_name.to_string();
        tokio::spawn(async move {
            let mut pages = scan.into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page
                    .map(|p| p.items.unwrap_or_default())
                    .map_err(|e| failed(&format!("scanning table {table}"), &e));
                let failed = page.is_err();
                // A closed channel means the reader stopped (an error, a closed pipe): stop too.
                if tx.send(page).await.is_err() || failed {
                    return;
                }
            }
        });
    }
    drop(tx);
    while let Some(page) = rx.recv().await {
        for item in page? {
            if let Some(job) = job_from_sdk_item(&item)
                && query.matches(&job)
            {
                sink(job)?;
            }
        }
    }
    Ok(())
}

/// Cancels job `id` of the stack: refuses unknown, fired and finished jobs with a clear message.
pub async fn cancel(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    state_machine_arn: &str,
    table_name: &str,
    id: &str,
) -> Result<Cancelled> {
    let job = get_job(ddb, table_name, id)
        .await?
        .ok_or_else(|| no_such_job(id))?;
    cancel::check(&job).map_err(|e| Error::failed(e.to_string()))?;
    // The job's current run's execution (`waitable_core::runs`).
    let name = waitable_core::runs::execution_name(id, waitable_core::runs::current_run(&job));
    let arn = execution_arn(state_machine_arn, &name).ok_or_else(|| {
        Error::failed(format!(
            "the stack's StateMachineArn {state_machine_arn:?} is not a state machine ARN"
        ))
    })?;
    cancel_execution(sfn, ddb, table_name, id, &arn).await
}

fn no_such_job(id: &str) -> Error {
    Error::failed(format!("no job with Id {id:?}"))
}

/// Marks the job CANCELLED, only if it is still STARTED and has not fired (conditional
/// update), then stops its execution. The write comes first: once the row is CANCELLED the
/// execution's claim fails, so it delivers nothing even if it fires before the stop, and the
/// reconcile the stop starts finds no STARTED row to change. A job that fired or finished
/// meanwhile is refused with the reason.
pub async fn cancel_execution(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    job_id: &str,
    execution_arn: &str,
) -> Result<Cancelled> {
    let Some(job) = mark_cancelled(ddb, table_name, job_id).await? else {
        // It fired, finished or vanished meanwhile; say what it is now.
        return match get_job(ddb, table_name, job_id).await? {
            Some(job) => Err(Error::failed(cancel::check(&job).err().map_or_else(
                || format!("job {job_id:?} changed meanwhile; try again"),
                |e| e.to_string(),
            ))),
            None => Err(no_such_job(job_id)),
        };
    };
    stop_execution(sfn, execution_arn, "cancelled by waitable").await.map_err(|e| {
        Error::failed(format!(
            "job {job_id:?} is CANCELLED and will not be delivered, but its execution was not stopped (it ends at its time without doing anything): {e}"
        ))
    })?;
    Ok(Cancelled {
        job_id: job_id.to_string(),
        job,
    })
}

/// For `destroy`: stops a RUNNING execution and marks its job CANCELLED when it is still
/// STARTED. An execution that had not yet written its job, or whose job finished meanwhile,
/// only needs the stop: the table is about to go.
pub async fn stop_before_delete(
    sfn: &aws_sdk_sfn::Client,
    ddb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    job_id: &str,
    execution_arn: &str,
) -> Result<()> {
    stop_execution(sfn, execution_arn, "cancelled by waitable").await?;
    mark_cancelled(ddb, table_name, job_id).await?;
    Ok(())
}

/// StopExecution with `cause`; an execution that no longer exists is already stopped.
pub(crate) async fn stop_execution(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    cause: &str,
) -> Result<()> {
    match sfn
        .stop_execution()
        .execution_arn(execution_arn)
        .cause(cause)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // A row written by something other than an execution can still be cancelled.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_execution_does_not_exist()) =>
        {
            Ok(())
        }
        Err(err) => Err(failed(&format!("stopping execution {execution_arn}"), &err)),
    }
}

/// Marks the job CANCELLED if it is STARTED; `None` when it is not (missing or finished).
async fn mark_cancelled(
    ddb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    job_id: &str,
) -> Result<Option<JobRecord>> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let updated = ddb
        .update_item()
        .table_name(table_name)
        .key(ATTR_ID, AttributeValue::S(job_id.to_string()))
        .update_expression("SET #status = :cancelled, #updated = :now")
        .condition_expression(cancel::CONDITION)
        .expression_attribute_names(cancel::NAMES[0].0, cancel::NAMES[0].1)
        .expression_attribute_names(cancel::NAMES[1].0, cancel::NAMES[1].1)
        .expression_attribute_names("#updated", ATTR_LAST_UPDATED)
        .expression_attribute_values(
            ":cancelled",
            AttributeValue::S(JobStatus::Cancelled.as_str().into()),
        )
        .expression_attribute_values(
            cancel::STARTED_VALUE,
            AttributeValue::S(JobStatus::Started.as_str().into()),
        )
        .expression_attribute_values(":now", AttributeValue::S(now))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match updated {
        Ok(out) => {
            let job = out
                .attributes()
                .and_then(job_from_sdk_item)
                .context("the cancelled job came back without attributes")?;
            Ok(Some(job))
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(failed(&format!("marking job {job_id} CANCELLED"), &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn items_map_by_the_contract_table() {
        for (attrs, expected) in waitable_core::record::table::cases() {
            let item: HashMap<String, AttributeValue> =
                attrs.iter().map(|(k, v)| (k.to_string(), s(v))).collect();
            assert_eq!(job_from_sdk_item(&item), expected, "{attrs:?}");
        }
        let numeric_id = HashMap::from([("Id".to_string(), AttributeValue::N("1".into()))]);
        assert_eq!(job_from_sdk_item(&numeric_id), None);
    }

    #[test]
    fn generated_payloads_read_back_byte_for_byte_from_sdk_items() {
        use waitable_core::payload::{Payload, generate::Gen};
        for seed in 0..500 {
            let Ok(p) = Payload::parse(&Gen::new(seed).payload()) else {
                continue;
            };
            let item = HashMap::from([
                ("Id".to_string(), s("a")),
                ("Payload".to_string(), s(p.as_str())),
            ]);
            let record = job_from_sdk_item(&item).unwrap();
            assert_eq!(record.payload.as_ref(), Some(&p), "seed {seed}");
            let json = serde_json::to_string(&record).unwrap();
            assert!(
                json.ends_with(&format!("\"Payload\":{}}}", p.as_str())),
                "seed {seed}"
            );
        }
    }
}

#[cfg(test)]
mod mocked {
    //! Error paths moto cannot produce (throttling, a race on the execution name, an Id whose
    //! execution Step Functions has forgotten), and how many calls a submit makes.
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_sfn::Client;
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sfn::types::ExecutionStatus;
    use aws_smithy_mocks::{
        MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock, mock_client,
    };

    use super::*;
    use waitable_core::payload::Payload;

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:M";
    const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:M:job-1";

    fn stack() -> StackOutputs {
        StackOutputs {
            api_url: "https://x".into(),
            state_machine_arn: MACHINE.into(),
            table_name: "T".into(),
            more: Default::default(),
        }
    }

    fn job(payload: &str) -> JobRequest {
        JobRequest {
            id: "job-1".into(),
            at: "2030-01-01T00:00:00Z".into(),
            payload: Some(Payload::parse(payload).unwrap()),
        }
    }

    fn ddb(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("a", "b", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    /// The jobs table holds no row for the job.
    fn no_row() -> Rule {
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build())
    }

    /// The jobs table holds this row.
    fn row(at: &str, payload: &str) -> Rule {
        let item = HashMap::from([
            ("Id".to_string(), AttributeValue::S("job-1".into())),
            ("StartActionAt".to_string(), AttributeValue::S(at.into())),
            (
                "ProcessStatus".to_string(),
                AttributeValue::S("COMPLETED".into()),
            ),
            ("Payload".to_string(), AttributeValue::S(payload.into())),
        ]);
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(item.clone()))
                .build()
        })
    }

    fn error_body(code: &str) -> Option<String> {
        Some(format!(r#"{{"__type":"{code}","message":"mocked"}}"#))
    }

    fn started() -> StartExecutionOutput {
        StartExecutionOutput::builder()
            .execution_arn(EXECUTION)
            .start_date(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .unwrap()
    }

    fn described(input: String) -> DescribeExecutionOutput {
        DescribeExecutionOutput::builder()
            .execution_arn(EXECUTION)
            .state_machine_arn(MACHINE)
            .status(ExecutionStatus::Running)
            .start_date(aws_smithy_types::DateTime::from_secs(0))
            .input(input)
            .build()
            .unwrap()
    }

    #[test]
    fn the_default_rate_is_the_regions_start_execution_quota() {
        use crate::backend::Backend;
        let sdk = |region: &'static str| {
            aws_types::SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(region))
                .build()
        };
        assert_eq!(
            super::super::AwsBackend::new("s", &sdk("us-west-2")).default_rate(),
            300
        );
        assert_eq!(
            super::super::AwsBackend::new("s", &sdk("eu-north-1")).default_rate(),
            150
        );
        // A bulk cancel keeps to StopExecution's quota the same way.
        let stop = |region| {
            super::super::AwsBackend::new("s", &sdk(region))
                .cancel_quota()
                .per_second
        };
        assert_eq!((stop("eu-west-1"), stop("eu-north-1")), (200, 25));
    }

    #[tokio::test]
    async fn a_new_job_is_one_start_execution_and_no_describe() {
        let describe = mock!(Client::describe_execution)
            .then_http_response(|| panic!("a new job must not be described"));
        let start = mock!(Client::start_execution)
            .match_requests(|r| r.name() == Some("job-1"))
            .then_output(started);
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&describe, &start]);
        let get = no_row();
        let s = submit(&sfn, &ddb(&[&get]), &stack(), 90, &job(r#"{"a":1}"#))
            .await
            .unwrap();
        assert_eq!(start.num_calls(), 1);
        assert_eq!(describe.num_calls(), 0);
        assert_eq!(get.num_calls(), 1);
        assert!(!s.already_submitted);
    }

    #[tokio::test]
    async fn throttled_start_is_retried_into_one_job() {
        let throttled_then_ok = mock!(Client::start_execution)
            .match_requests(|r| r.name() == Some("job-1"))
            .sequence()
            .http_status(400, error_body("ThrottlingException"))
            .times(2)
            .output(started)
            .build();
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&throttled_then_ok]);
        let s = submit(&sfn, &ddb(&[&no_row()]), &stack(), 90, &job(r#"{"a":1}"#))
            .await
            .unwrap();
        assert_eq!(throttled_then_ok.num_calls(), 3, "two throttles, one start");
        assert!(!s.already_submitted);
        assert_eq!(s.execution_arn, EXECUTION);
    }

    #[tokio::test]
    async fn a_name_taken_meanwhile_is_compared_by_input() {
        let same = job(r#"{"a":1,"b":2}"#);
        // Started through the API while RetentionDays was 30: ExpiresAt differs, the job does not.
        let input = same.execution_input(30).to_string();
        let describe =
            mock!(Client::describe_execution).then_output(move || described(input.clone()));
        let taken = mock!(Client::start_execution).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    error_body("ExecutionAlreadyExists").unwrap(),
                ),
            )
        });
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&describe, &taken]);
        let get = no_row();
        let table = ddb(&[&get]);
        // The same payload, its keys in another order.
        let s = submit(&sfn, &table, &stack(), 90, &job(r#"{ "b": 2, "a": 1 }"#))
            .await
            .unwrap();
        assert!(s.already_submitted);
        assert_eq!(s.execution_arn, EXECUTION);

        // Already there with another payload: refused, and nothing is started.
        let err = submit(&sfn, &table, &stack(), 90, &job(r#"{"a":2,"b":2}"#))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("different"), "{err}");
        assert_eq!(err.exit_code(), 1);
        assert_eq!(describe.num_calls(), 2);
    }

    #[tokio::test]
    async fn an_id_reused_after_step_functions_forgot_it_is_answered_from_the_row() {
        // Step Functions would start a new execution (the name is free again after 90 days);
        // the row says the job exists.
        let start = mock!(Client::start_execution).then_output(started);
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&start]);

        let same = row("2030-01-01T00:00:00Z", r#"{"b":2,"a":1}"#);
        let s = submit(&sfn, &ddb(&[&same]), &stack(), 90, &job(r#"{"a":1,"b":2}"#))
            .await
            .unwrap();
        assert!(s.already_submitted, "the same job: exit 0");

        let other_time = row("2030-01-02T00:00:00Z", r#"{"a":1,"b":2}"#);
        let err = submit(
            &sfn,
            &ddb(&[&other_time]),
            &stack(),
            90,
            &job(r#"{"a":1,"b":2}"#),
        )
        .await
        .unwrap_err();
        assert_eq!(err.exit_code(), 1, "{err}");
        assert!(err.to_string().contains("different"), "{err}");
        assert_eq!(start.num_calls(), 0, "no execution was started");
    }
}

//! `waitable stacks` on the aws target: the stacks in the current region that carry the
//! `waitable:version` tag (every stack waitable deploys gets it from the change set), read
//! with DescribeStacks, page by page. Job counts are not read here: counting a table costs a
//! read of every job.

use super::sdk;
use crate::Result;
use waitable_core::logical_ids::VERSION_TAG;

/// One stack as `stacks` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsStack {
    pub name: String,
    pub status: String,
    /// The `waitable:version` tag: the waitable that last deployed it.
    pub version: String,
}

/// Every stack of this account and region tagged `waitable:version`, by name.
pub async fn list(cfn: &aws_sdk_cloudformation::Client) -> Result<Vec<AwsStack>> {
    let mut pages = cfn.describe_stacks().into_paginator().send();
    let mut stacks = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk::failed("listing the stacks (DescribeStacks)", &e))?;
        for stack in page.stacks() {
            let Some(version) = stack
                .tags()
                .iter()
                .find(|t| t.key() == Some(VERSION_TAG))
                .and_then(|t| t.value())
            else {
                continue;
            };
            stacks.push(AwsStack {
                name: stack.stack_name().unwrap_or_default().to_string(),
                status: stack
                    .stack_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                version: version.to_string(),
            });
        }
    }
    stacks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(stacks)
}

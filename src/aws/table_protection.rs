//! The jobs table's deletion protection, turned off by `destroy` once the user has confirmed,
//! so the stack delete can remove the table (the template turns protection on).

use super::describe::StackCtx;
use super::sdk;
use crate::Result;
use waitable_core::logical_ids;

/// Turns off deletion protection of the stack's jobs table. Nothing to do when the stack has
/// no table (a failed create) or the table is not protected.
pub(super) async fn unprotect_table(
    ctx: &StackCtx<'_>,
    ddb: &aws_sdk_dynamodb::Client,
    stack_id: &str,
) -> Result<()> {
    let table = match ctx
        .cfn
        .describe_stack_resource()
        .stack_name(stack_id)
        .logical_resource_id(logical_ids::JOBS_TABLE)
        .send()
        .await
    {
        Ok(out) => out
            .stack_resource_detail()
            .and_then(|r| r.physical_resource_id())
            .map(str::to_string),
        Err(err) if sdk::is_not_found(&err) => None,
        Err(err) => return Err(sdk::failed("finding the stack's jobs table", &err)),
    };
    let Some(table) = table else {
        return Ok(());
    };
    let protected = match is_protected(ddb, &table).await? {
        Some(protected) => protected,
        None => return Ok(()),
    };
    if !protected {
        return Ok(());
    }
    ddb.update_table()
        .table_name(&table)
        .deletion_protection_enabled(false)
        .send()
        .await
        .map_err(|e| {
            sdk::failed(
                &format!("turning off deletion protection of table {table}"),
                &e,
            )
        })?;
    ctx.ui
        .info(format!("turned off deletion protection of table {table}"));
    Ok(())
}

/// Whether the table is protected; `None` when it does not exist.
async fn is_protected(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<Option<bool>> {
    match ddb.describe_table().table_name(table).send().await {
        Ok(out) => Ok(Some(
            out.table()
                .and_then(|t| t.deletion_protection_enabled())
                .unwrap_or(false),
        )),
        Err(err) if sdk::is_not_found(&err) => Ok(None),
        Err(err) => Err(sdk::failed(&format!("describing table {table}"), &err)),
    }
}

//! The task resources (DynamoDB putItem, updateItem, ...) acting on the stack's one jobs
//! table inside the engine's current transaction.

use rusqlite::Connection;
use serde_json::Value;

use super::super::store;
use super::deliver::{self, Delivery};
use waitable_asl::ddb;
use waitable_asl::deliver_task::DeliverOp;
use waitable_asl::{self as asl, Fault};
use waitable_core::job::ATTR_ID;
use waitable_core::status_index;

/// The jobs table as the interpreter's `Tasks`, for one state of one execution.
pub(super) struct TableTasks<'a> {
    pub c: &'a Connection,
    /// The delivery tasks' queue and webhook client.
    pub delivery: &'a Delivery,
    pub table: &'a str,
    pub execution: &'a str,
    pub state: String,
    pub now: i64,
    /// The answer to this state's webhook request, when it came back.
    pub sent: Option<Result<Value, Fault>>,
    /// The webhook request this state needs made (its parameters): the step is not taken.
    pub send: Option<Value>,
    /// The first store error: the step is rolled back and the execution fails internally.
    pub failure: Option<anyhow::Error>,
}

impl asl::Tasks for TableTasks<'_> {
    fn deliver(&mut self, op: DeliverOp, params: &Value) -> Result<Value, Fault> {
        let result = match op {
            DeliverOp::SqsSendMessage => {
                match deliver::send_message(self.c, self.delivery, params, self.now) {
                    Ok(r) => r,
                    Err(e) => {
                        self.failure = Some(e.into());
                        return Err(Fault::task("SQS.AmazonSQSException", "local store error"));
                    }
                }
            }
            DeliverOp::HttpInvoke => match self.sent.take() {
                Some(answer) => answer,
                None => {
                    self.send = Some(params.clone());
                    // Never seen: the engine drops this step and waits for the answer.
                    return Err(Fault::task("States.Runtime", "the request is in flight"));
                }
            },
            other => Err(Fault::task(
                "States.TaskFailed",
                format!("{other:?} is not available on the local target"),
            )),
        };
        if result.is_ok()
            && let Err(e) = store::record(
                self.c,
                self.execution,
                "TaskSucceeded",
                Some(&self.state),
                self.now,
            )
        {
            self.failure = Some(e);
        }
        result
    }

    fn call(&mut self, op: &ddb::Op, params: &Value) -> Result<Value, Fault> {
        let to_fault = |e: ddb::DdbError| Fault::task(&e.states_error(), e.message);
        ddb::check_request(op, params).map_err(to_fault)?;
        let name = params.get("TableName").and_then(Value::as_str);
        if name != Some(self.table) {
            return Err(to_fault(ddb::table_not_found(name.unwrap_or_default())));
        }
        let key = ddb::target_key(*op, params, ATTR_ID).map_err(to_fault)?;
        let io = |r: anyhow::Result<()>, failure: &mut Option<anyhow::Error>| {
            if let Err(e) = r {
                failure.get_or_insert(e);
            }
        };
        let current = match store::get_item(self.c, &key) {
            Ok(c) => c,
            Err(e) => {
                self.failure = Some(e);
                return Err(Fault::task(
                    "DynamoDB.InternalServerErrorException",
                    "local store error",
                ));
            }
        };
        let (write, result) =
            ddb::apply(*op, params, ATTR_ID, current.as_ref()).map_err(to_fault)?;
        match write {
            Some(ddb::Write::Put(k, item)) => {
                // The index's sort key is held to DynamoDB's limit too.
                ddb::check_write(&item, ATTR_ID, &[status_index::RANGE_KEY]).map_err(to_fault)?;
                io(store::put_item(self.c, &k, &item), &mut self.failure)
            }
            Some(ddb::Write::Delete(k)) => io(store::delete_item(self.c, &k), &mut self.failure),
            None => {}
        }
        io(
            store::record(
                self.c,
                self.execution,
                "TaskSucceeded",
                Some(&self.state),
                self.now,
            ),
            &mut self.failure,
        );
        Ok(result)
    }
}

//! The generated state machine run on the States Language interpreter: every path a job can
//! take ends with its row out of STARTED.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use waitable_asl::ddb;
use waitable_asl::model::{DynamoOp, Kind, Place, WaitFor};
use waitable_asl::parse::parse;
use waitable_asl::parse::parse_text;
use waitable_asl::run::iso_millis;
use waitable_asl::{Cursor, ExecutionInfo, Fault, Tasks, Transition, step};

/// An in-memory table with the same semantics as the engine's, plus a call log.
#[derive(Default)]
struct Table {
    items: BTreeMap<String, ddb::Item>,
    calls: Vec<(DynamoOp, Value)>,
    /// Errors to raise on the next calls, in order.
    fail_next: Vec<Fault>,
}

impl Tasks for Table {
    fn call(&mut self, op: &DynamoOp, params: &Value) -> Result<Value, Fault> {
        self.calls.push((*op, params.clone()));
        if !self.fail_next.is_empty() {
            return Err(self.fail_next.remove(0));
        }
        let key = ddb::target_key(*op, params, "Id")
            .map_err(|e| Fault::task(&e.states_error(), e.message.clone()))?;
        let (write, result) = ddb::apply(*op, params, "Id", self.items.get(&key))
            .map_err(|e| Fault::task(&e.states_error(), e.message))?;
        match write {
            Some(ddb::Write::Put(k, item)) => {
                self.items.insert(k, item);
            }
            Some(ddb::Write::Delete(k)) => {
                self.items.remove(&k);
            }
            None => {}
        }
        Ok(result)
    }
}

const T0: i64 = 1_800_000_000_000; // 2027-01-15, before the jobs below are due

fn exec(input: &Value) -> ExecutionInfo {
    ExecutionInfo {
        name: "job-1".into(),
        arn: "arn:aws:states:local:000000000000:execution:sm:job-1".into(),
        input: input.clone(),
        start_ms: T0,
        state_machine_arn: "arn:aws:states:local:000000000000:stateMachine:sm".into(),
        state_machine_name: "sm".into(),
    }
}

/// Runs to the end, jumping the clock to each sleep's deadline. Returns the final step, the
/// states entered, and the sleeps' deadlines.
fn run_all(def: Value, input: Value, table: &mut Table) -> (Transition, Vec<String>, Vec<i64>) {
    let m = parse(&def).unwrap();
    let info = exec(&input);
    let mut now = T0;
    let mut cur = Cursor::enter(&m.start_at, input, now);
    let mut visited = vec![cur.state.clone()];
    let mut sleeps = vec![];
    let mut rand = || 0.5;
    for _ in 0..100 {
        match step(&m, &info, cur, now, table, &mut rand) {
            Transition::Next(c) => {
                visited.push(c.state.clone());
                cur = c;
            }
            Transition::Sleep { cursor, until_ms } => {
                assert!(until_ms > now);
                sleeps.push(until_ms);
                now = until_ms;
                cur = cursor;
            }
            end => return (end, visited, sleeps),
        }
    }
    panic!("did not finish");
}

// ---- The generated definition, end to end --------------------------------------------------

fn generated() -> Value {
    serde_json::from_str(&crate::state_machine::resolved("jobs", "aws")).unwrap()
}

fn record(table: &Table, id: &str) -> Value {
    Value::Object(table.items[id].clone())
}

#[test]
fn generated_definition_completes_a_job() {
    let mut table = Table::default();
    let at = "2027-06-01T00:00:00Z";
    let (end, visited, sleeps) = run_all(generated(), json!({"StartTimestamp": at}), &mut table);
    assert!(matches!(end, Transition::Succeeded(_)), "{end:?}");
    assert_eq!(
        visited,
        [
            "ValidateInput",
            "SetInitialStatus",
            "WaitUntil",
            "SetFinalStatus"
        ]
    );
    let due = chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp_millis();
    assert_eq!(sleeps, [due]);
    let rec = record(&table, "job-1");
    assert_eq!(rec["ProcessStatus"], json!({"S": "COMPLETED"}));
    assert_eq!(rec["StartActionAt"], json!({"S": at}));
    assert_eq!(rec["LastUpdated"], json!({"S": iso_millis(due)}));
    assert_eq!(table.calls.len(), 2);
    assert_eq!(table.calls[0].1["TableName"], "jobs");
}

#[test]
fn generated_definition_keeps_a_payload_given_as_text() {
    let mut table = Table::default();
    let input = json!({"StartTimestamp": "2027-06-01T00:00:00Z", "Payload": "{\"k\":[1]}"});
    let (_, visited, _) = run_all(generated(), input, &mut table);
    assert_eq!(visited[1], "SetInitialStatusWithPayload");
    assert_eq!(
        record(&table, "job-1")["Payload"],
        json!({"S": "{\"k\":[1]}"})
    );
}

#[test]
fn generated_definition_rejects_a_bad_timestamp_visibly() {
    for input in [
        json!({}),
        json!({"StartTimestamp": "soon"}),
        json!({"StartTimestamp": 5}),
    ] {
        let mut table = Table::default();
        let (end, visited, _) = run_all(generated(), input.clone(), &mut table);
        // A rejected text is kept as StartActionAt (the status index needs one).
        let expected: &[&str] = match &input["StartTimestamp"] {
            Value::Null => &["ValidateInput", "RejectInput", "InvalidInput"],
            Value::String(_) => &[
                "ValidateInput",
                "ChooseRejectRecord",
                "RejectInputKeepingTime",
                "InvalidInput",
            ],
            _ => &[
                "ValidateInput",
                "ChooseRejectRecord",
                "RejectInput",
                "InvalidInput",
            ],
        };
        assert_eq!(visited, expected, "{input}");
        assert!(
            matches!(end, Transition::Failed { ref error, .. } if error == "InvalidStartTimestamp")
        );
        let rec = record(&table, "job-1");
        assert_eq!(rec["ProcessStatus"], json!({"S": "FAILED"}));
        assert_eq!(rec["Error"], json!({"S": "InvalidStartTimestamp"}));
        let kept = input["StartTimestamp"]
            .as_str()
            .map_or(Value::Null, |t| json!({ "S": t }));
        assert_eq!(rec["StartActionAt"], kept, "{input}");
    }
}

#[test]
fn generated_definition_marks_failed_when_the_final_write_fails() {
    let mut table = Table::default();
    // The final write fails for good (5 retries + 1), then MarkFailed records the error.
    let mut faults = vec![Fault::task("DynamoDB.InternalServerErrorException", "oops"); 6];
    // The first call (SetInitialStatus) must succeed.
    let m = parse(&generated()).unwrap();
    let input = json!({"StartTimestamp": "2027-06-01T00:00:00Z"});
    let info = exec(&input);
    let mut now = T0;
    let mut cur = Cursor::enter(&m.start_at, input, now);
    let mut visited = vec![];
    let mut rand = || 1.0;
    let end = loop {
        if cur.state == "SetFinalStatus" && !faults.is_empty() && table.fail_next.is_empty() {
            table.fail_next = std::mem::take(&mut faults);
        }
        visited.push(cur.state.clone());
        match step(&m, &info, cur, now, &mut table, &mut rand) {
            Transition::Next(c) => cur = c,
            Transition::Sleep { cursor, until_ms } => {
                now = until_ms;
                cur = cursor;
            }
            end => break end,
        }
    };
    assert!(
        matches!(end, Transition::Failed { ref error, .. } if error == "JobFailed"),
        "{end:?}"
    );
    assert_eq!(visited.iter().filter(|s| *s == "SetFinalStatus").count(), 6);
    let rec = record(&table, "job-1");
    assert_eq!(rec["ProcessStatus"], json!({"S": "FAILED"}));
    assert_eq!(
        rec["Error"],
        json!({"S": "DynamoDB.InternalServerErrorException"})
    );
}

#[test]
fn generated_definition_leaves_a_cancelled_job_cancelled() {
    let mut table = Table::default();
    let m = parse(&generated()).unwrap();
    let input = json!({"StartTimestamp": "2027-06-01T00:00:00Z"});
    let info = exec(&input);
    let mut cur = Cursor::enter(&m.start_at, input, T0);
    let mut rand = || 0.0;
    // Run until the Wait.
    let (cursor, until) = loop {
        match step(&m, &info, cur, T0, &mut table, &mut rand) {
            Transition::Next(c) => cur = c,
            Transition::Sleep { cursor, until_ms } => break (cursor, until_ms),
            other => panic!("{other:?}"),
        }
    };
    table
        .items
        .get_mut("job-1")
        .unwrap()
        .insert("ProcessStatus".into(), json!({"S": "CANCELLED"}));
    let mut cur = cursor;
    let end = loop {
        match step(&m, &info, cur, until, &mut table, &mut rand) {
            Transition::Next(c) => cur = c,
            Transition::Sleep { .. } => panic!("no retry for a failed condition"),
            end => break end,
        }
    };
    assert!(
        matches!(end, Transition::Failed { ref error, .. } if error == "DynamoDB.ConditionalCheckFailedException")
    );
    assert_eq!(
        record(&table, "job-1")["ProcessStatus"],
        json!({"S": "CANCELLED"})
    );
}

#[test]
fn the_generated_definition_is_accepted() {
    let m = parse_text(&crate::state_machine::resolved("t", "aws")).unwrap();
    assert_eq!(m.start_at, "ValidateInput");
    assert!(matches!(
        m.states["WaitUntil"].kind,
        Kind::Wait(WaitFor::TimestampPath(_))
    ));
    assert_eq!(m.states["SetFinalStatus"].catch.len(), 1);
    assert_eq!(m.states["SetFinalStatus"].retry[0].max_attempts, 5);
    assert_eq!(m.states["SetInitialStatus"].result_path, Place::Discard);
}

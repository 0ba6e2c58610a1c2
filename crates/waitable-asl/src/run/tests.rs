use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::ddb;
use crate::parse::parse;

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

fn single(state: Value, input: Value) -> Transition {
    run_all(
        json!({"StartAt": "S", "States": {"S": state}}),
        input,
        &mut Table::default(),
    )
    .0
}

#[test]
fn pass_with_result_result_path_and_output_path() {
    let out = single(
        json!({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "End": true}),
        json!({"a": 1}),
    );
    assert_eq!(out, Transition::Succeeded(json!({"a": 1, "r": {"x": 1}})));
    let out = single(
        json!({"Type": "Pass", "Result": 5, "ResultPath": null, "End": true}),
        json!({"a": 1}),
    );
    assert_eq!(out, Transition::Succeeded(json!({"a": 1})));
    let out = single(
        json!({"Type": "Pass", "Result": 5, "End": true}),
        json!({"a": 1}),
    );
    assert_eq!(out, Transition::Succeeded(json!(5)));
    let out = single(
        json!({"Type": "Pass", "InputPath": "$.a", "OutputPath": "$.b", "End": true}),
        json!({"a": {"b": 2}}),
    );
    assert_eq!(out, Transition::Succeeded(json!(2)));
    let out = single(
        json!({"Type": "Pass", "InputPath": null, "End": true}),
        json!({"a": 1}),
    );
    assert_eq!(out, Transition::Succeeded(json!({})));
    let out = single(
        json!({"Type": "Pass", "OutputPath": null, "End": true}),
        json!({"a": 1}),
    );
    assert_eq!(out, Transition::Succeeded(json!({})));
}

#[test]
fn parameters_fill_paths_and_the_context_object() {
    let out = single(
        json!({"Type": "Pass", "Parameters": {
            "name.$": "$$.Execution.Name", "entered.$": "$$.State.EnteredTime",
            "state.$": "$$.State.Name", "v.$": "$.a[1]", "fixed": {"deep.$": "$.b"}, "list": [1]
        }, "End": true}),
        json!({"a": [0, "one"], "b": true}),
    );
    assert_eq!(
        out,
        Transition::Succeeded(
            json!({"name": "job-1", "entered": iso_millis(T0), "state": "S",
            "v": "one", "fixed": {"deep": true}, "list": [1]})
        )
    );
}

#[test]
fn path_failures_have_their_error_names() {
    let Transition::Failed { error, .. } = single(
        json!({"Type": "Pass", "Parameters": {"v.$": "$.nope"}, "End": true}),
        json!({}),
    ) else {
        panic!()
    };
    // AWS: a `.$` path that finds nothing is States.Runtime, not States.ParameterPathFailure.
    assert_eq!(error, "States.Runtime");
    let Transition::Failed { error, .. } = single(
        json!({"Type": "Pass", "InputPath": "$.nope", "End": true}),
        json!({}),
    ) else {
        panic!()
    };
    assert_eq!(error, "States.Runtime");
    let Transition::Failed { error, .. } = single(
        json!({"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": true}),
        json!({"a": "text"}),
    ) else {
        panic!()
    };
    assert_eq!(error, "States.ResultPathMatchFailure");
}

#[test]
fn wait_forms() {
    let input = json!({"secs": 30, "at": iso_millis(T0 + 90_000)});
    for (wait, until) in [
        (json!({"Seconds": 10}), T0 + 10_000),
        (json!({"SecondsPath": "$.secs"}), T0 + 30_000),
        (json!({"Timestamp": iso_millis(T0 + 60_000)}), T0 + 60_000),
        (json!({"TimestampPath": "$.at"}), T0 + 90_000),
        // AWS truncates a Wait timestamp's milliseconds.
        (json!({"Timestamp": iso_millis(T0 + 60_999)}), T0 + 60_000),
    ] {
        let mut state = json!({"Type": "Wait", "End": true});
        state
            .as_object_mut()
            .unwrap()
            .extend(wait.as_object().unwrap().clone());
        let (end, _, sleeps) = run_all(
            json!({"StartAt": "S", "States": {"S": state}}),
            input.clone(),
            &mut Table::default(),
        );
        assert_eq!(sleeps, [until], "{wait}");
        assert_eq!(end, Transition::Succeeded(input.clone()));
    }
    // A timestamp in the past does not sleep at all.
    let (end, _, sleeps) = run_all(
        json!({"StartAt": "S", "States": {"S": {"Type": "Wait", "Timestamp": "2001-01-01T00:00:00Z", "End": true}}}),
        json!({}),
        &mut Table::default(),
    );
    assert!(sleeps.is_empty());
    assert!(matches!(end, Transition::Succeeded(_)));
    // A bad timestamp is a runtime error, which no Catch sees.
    let Transition::Failed { error, .. } = single(
        json!({"Type": "Wait", "TimestampPath": "$.t", "End": true}),
        json!({"t": "tomorrow"}),
    ) else {
        panic!()
    };
    assert_eq!(error, "States.Runtime");
}

#[test]
fn choice_routes_and_defaults() {
    let def = |default: Option<&str>| {
        let mut c = json!({"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"Not": {"Variable": "$.n", "IsNumeric": true}, "Next": "Odd"}
        ]});
        if let Some(d) = default {
            c["Default"] = json!(d);
        }
        json!({"StartAt": "C", "States": {"C": c,
            "Big": {"Type": "Succeed"}, "Odd": {"Type": "Succeed"}, "Small": {"Type": "Succeed"}}})
    };
    for (n, path) in [(json!(11), "Big"), (json!("x"), "Odd"), (json!(1), "Small")] {
        let (_, visited, _) = run_all(def(Some("Small")), json!({"n": n}), &mut Table::default());
        assert_eq!(visited, ["C", path]);
    }
    let (end, _, _) = run_all(def(None), json!({"n": 1}), &mut Table::default());
    assert!(
        matches!(end, Transition::Failed { ref error, .. } if error == "States.NoChoiceMatched")
    );
}

#[test]
fn succeed_and_fail() {
    assert_eq!(
        single(
            json!({"Type": "Succeed", "OutputPath": "$.a"}),
            json!({"a": 3})
        ),
        Transition::Succeeded(json!(3))
    );
    assert_eq!(
        single(
            json!({"Type": "Fail", "Error": "E", "Cause": "C"}),
            json!({})
        ),
        Transition::Failed {
            error: "E".into(),
            cause: "C".into()
        }
    );
    assert_eq!(
        single(
            json!({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$$.Execution.Name"}),
            json!({"e": "X"})
        ),
        Transition::Failed {
            error: "X".into(),
            cause: "job-1".into()
        }
    );
}

fn task_def(retry: Value, catch: Value) -> Value {
    json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
              "Parameters": {"TableName": "t", "Key": {"Id": {"S.$": "$.id"}}},
              "ResultSelector": {"status.$": "$.Item.ProcessStatus.S"},
              "ResultPath": "$.found", "Retry": retry, "Catch": catch, "End": true},
        "Caught": {"Type": "Pass", "End": true}
    }})
}

#[test]
fn task_result_selector_and_result_path() {
    let mut table = Table::default();
    table.items.insert(
        "a".into(),
        json!({"Id": {"S": "a"}, "ProcessStatus": {"S": "STARTED"}})
            .as_object()
            .unwrap()
            .clone(),
    );
    let (end, _, _) = run_all(
        task_def(json!([]), json!([])),
        json!({"id": "a"}),
        &mut table,
    );
    assert_eq!(
        end,
        Transition::Succeeded(json!({"id": "a", "found": {"status": "STARTED"}}))
    );
}

#[test]
fn retry_backs_off_then_catch_takes_over() {
    let mut table = Table {
        fail_next: vec![Fault::task("DynamoDB.ThrottlingException", "slow down"); 3],
        ..Table::default()
    };
    let retry = json!([{"ErrorEquals": ["DynamoDB.ThrottlingException"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 3.0}]);
    let catch =
        json!([{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Caught"}]);
    let (end, visited, sleeps) = run_all(task_def(retry, catch), json!({"id": "a"}), &mut table);
    assert_eq!(sleeps, [T0 + 2_000, T0 + 2_000 + 6_000]);
    assert_eq!(table.calls.len(), 3);
    assert_eq!(visited, ["T", "Caught"]);
    assert_eq!(
        end,
        Transition::Succeeded(
            json!({"id": "a", "err": {"Error": "DynamoDB.ThrottlingException", "Cause": "slow down"}})
        )
    );
}

#[test]
fn retry_delay_caps_and_jitters() {
    let r = crate::model::Retrier {
        errors: vec!["States.ALL".into()],
        interval_seconds: 1.0,
        max_attempts: 5,
        backoff_rate: 2.0,
        max_delay_seconds: Some(5.0),
        full_jitter: true,
    };
    assert_eq!(retry_delay_ms(&r, 0, 1.0), 1_000);
    assert_eq!(retry_delay_ms(&r, 4, 1.0), 5_000);
    assert_eq!(retry_delay_ms(&r, 4, 0.5), 2_500);
}

#[test]
fn uncaught_errors_fail_the_execution_and_states_all_skips_runtime() {
    let mut table = Table {
        fail_next: vec![Fault::task("Custom.Error", "boom")],
        ..Table::default()
    };
    let (end, _, _) = run_all(
        task_def(
            json!([]),
            json!([{"ErrorEquals": ["Other"], "Next": "Caught"}]),
        ),
        json!({"id": "a"}),
        &mut table,
    );
    assert_eq!(
        end,
        Transition::Failed {
            error: "Custom.Error".into(),
            cause: "boom".into()
        }
    );
    // Timeout is not a TaskFailed.
    let mut table = Table {
        fail_next: vec![Fault::task("States.Timeout", "late")],
        ..Table::default()
    };
    let (end, _, _) = run_all(
        task_def(
            json!([]),
            json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]),
        ),
        json!({"id": "a"}),
        &mut table,
    );
    assert!(matches!(end, Transition::Failed { ref error, .. } if error == "States.Timeout"));
    // A Parameters path that finds nothing is States.Runtime: States.ALL does not catch it.
    let (end, visited, _) = run_all(
        task_def(
            json!([]),
            json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]),
        ),
        json!({}),
        &mut Table::default(),
    );
    assert_eq!(visited, ["T"]);
    assert!(matches!(end, Transition::Failed { ref error, .. } if error == "States.Runtime"));
}

// ---- As strict as AWS ---------------------------------------------------------------------

fn failed(step: Transition) -> (String, String) {
    match step {
        Transition::Failed { error, cause } => (error, cause),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn fail_paths_that_find_nothing_are_runtime_errors() {
    let fail = |state: Value| failed(single(state, json!({"e": "E", "n": 1})));
    assert_eq!(
        fail(json!({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$$.State.Name"})),
        ("E".into(), "S".into())
    );
    assert_eq!(
        fail(json!({"Type": "Fail", "ErrorPath": "$.nope"})).0,
        "States.Runtime"
    );
    let (error, cause) = fail(json!({"Type": "Fail", "Error": "E", "CausePath": "$.nope"}));
    assert_eq!(error, "States.Runtime");
    assert!(
        cause.contains("'$.nope'") && cause.contains("CausePath"),
        "{cause}"
    );
    assert_eq!(
        fail(json!({"Type": "Fail", "ErrorPath": "$.n"})).0,
        "States.Runtime"
    );
    // Neither Error nor ErrorPath: the execution fails without an error name.
    assert_eq!(
        fail(json!({"Type": "Fail"})),
        (String::new(), String::new())
    );
}

#[test]
fn a_wait_over_2_pow_31_seconds_fails_at_once() {
    let limit = 1_u64 << 31;
    let wait = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}});
    let (end, _, sleeps) = run_all(
        wait.clone(),
        json!({ "s": limit + 1 }),
        &mut Table::default(),
    );
    assert!(sleeps.is_empty(), "{sleeps:?}");
    let (error, cause) = failed(end);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("too long"), "{cause}");
    // Exactly 2^31 seconds is a wait (then the one-year limit ends the execution).
    let (_, _, sleeps) = run_all(wait.clone(), json!({ "s": limit }), &mut Table::default());
    assert_eq!(sleeps.len(), 1);
    // Past i64 (2^63 s would wrap to a time in the past) and past u64 (a float in JSON):
    // too long, never a Wait skipped.
    let huge: Value = serde_json::from_str("123456789012345678901234567890").unwrap();
    for s in [json!(1_u64 << 63), json!(u64::MAX), json!(1e20), huge] {
        let (end, _, sleeps) = run_all(wait.clone(), json!({ "s": s }), &mut Table::default());
        assert!(sleeps.is_empty(), "{s}: {sleeps:?}");
        let (error, cause) = failed(end);
        assert_eq!(error, "States.Runtime", "{s}");
        assert!(cause.contains("too long"), "{s}: {cause}");
    }
    for (s, why) in [
        (json!(-1), "negative"),
        (json!(1.5), "cannot be parsed as a long"),
        (json!("10"), "cannot be parsed as a long"),
    ] {
        let (end, _, _) = run_all(wait.clone(), json!({ "s": s }), &mut Table::default());
        let (error, cause) = failed(end);
        assert_eq!(error, "States.Runtime", "{s}");
        assert!(cause.contains(why), "{s}: {cause}");
    }
    // A timestamp as far ahead is refused the same way.
    let far = iso_millis(T0 + (limit as i64 + 1) * 1000);
    let (error, _) = failed(single(
        json!({"Type": "Wait", "Timestamp": far, "End": true}),
        json!({}),
    ));
    assert_eq!(error, "States.Runtime");
}

#[test]
fn an_execution_stops_one_year_after_its_start() {
    let year = super::limits::MAX_EXECUTION_MS;
    let (end, visited, sleeps) = run_all(
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 400 * 24 * 3600, "Next": "After"},
            "After": {"Type": "Pass", "End": true}
        }}),
        json!({}),
        &mut Table::default(),
    );
    assert_eq!(sleeps, [T0 + year + 1]);
    assert_eq!(visited, ["W"]);
    assert_eq!(failed(end).0, "States.Timeout");
    // A wait that ends within the year goes on.
    let (end, _, _) = run_all(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 364 * 24 * 3600, "End": true}}}),
        json!({}),
        &mut Table::default(),
    );
    assert!(matches!(end, Transition::Succeeded(_)), "{end:?}");
}

#[test]
fn state_data_over_256_kib_is_data_limit_exceeded_and_uncaught() {
    let big = "x".repeat(super::limits::MAX_STATE_DATA_BYTES);
    let (error, _) = failed(single(
        json!({"Type": "Pass", "Result": {"big": big}, "ResultPath": null, "End": true}),
        json!({}),
    ));
    assert_eq!(error, "States.DataLimitExceeded");
    // An input that grows past the limit by its result.
    let half = "x".repeat(super::limits::MAX_STATE_DATA_BYTES / 2 + 10);
    let (error, _) = failed(single(
        json!({"Type": "Pass", "Result": half, "ResultPath": "$.b", "End": true}),
        json!({ "a": half }),
    ));
    assert_eq!(error, "States.DataLimitExceeded");
    // A task's result over the limit is not caught by States.ALL.
    let mut table = Table::default();
    table.items.insert(
        "a".into(),
        json!({"Id": {"S": "a"}, "ProcessStatus": {"S": big}})
            .as_object()
            .unwrap()
            .clone(),
    );
    let (end, visited, _) = run_all(
        task_def(
            json!([{"ErrorEquals": ["States.ALL"]}]),
            json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]),
        ),
        json!({"id": "a"}),
        &mut table,
    );
    assert_eq!(visited, ["T"]);
    assert_eq!(failed(end).0, "States.DataLimitExceeded");
}

#[test]
fn context_paths_select_the_context_object() {
    let out = single(
        json!({"Type": "Pass", "InputPath": "$$.Execution.Input", "End": true}),
        json!({"x": 1}),
    );
    assert_eq!(out, Transition::Succeeded(json!({"x": 1})));
    let Transition::Succeeded(out) = single(
        json!({"Type": "Pass", "OutputPath": "$$", "End": true}),
        json!({"x": 1}),
    ) else {
        panic!()
    };
    assert_eq!(out["Execution"]["Name"], "job-1");
    assert_eq!(out["Execution"]["RedriveCount"], 0);
    assert_eq!(
        out["State"],
        json!({"Name": "S", "EnteredTime": iso_millis(T0)})
    );
    let out = single(
        json!({"Type": "Wait", "SecondsPath": "$$.Execution.Input.s", "End": true}),
        json!({"s": 5}),
    );
    assert_eq!(out, Transition::Succeeded(json!({"s": 5})));
}

#[test]
fn retry_count_appears_only_while_retrying() {
    let mut table = Table {
        fail_next: vec![Fault::task("DynamoDB.ThrottlingException", "slow down")],
        ..Table::default()
    };
    table.items.insert(
        "a".into(),
        json!({"Id": {"S": "a"}}).as_object().unwrap().clone(),
    );
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
              "Parameters": {"TableName": "t", "Key": {"Id": {"S.$": "$.id"}},
                             "ExpressionAttributeValues.$": "$$.State"},
              "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}], "End": true}
    }});
    let (end, _, _) = run_all(def, json!({"id": "a"}), &mut table);
    assert!(matches!(end, Transition::Succeeded(_)), "{end:?}");
    let state = |i: usize| table.calls[i].1["ExpressionAttributeValues"].clone();
    assert_eq!(
        state(0),
        json!({"Name": "T", "EnteredTime": iso_millis(T0)})
    );
    assert_eq!(state(1)["RetryCount"], 1);
}

/// Steps until the execution ends (the clock jumping over sleeps); the transitions taken and
/// the end.
fn run_to_quota(def: Value, table: &mut Table) -> (usize, Transition) {
    let m = parse(&def).unwrap();
    let info = exec(&json!({"id": "a"}));
    let mut now = T0;
    let mut cur = Cursor::enter(&m.start_at, json!({"id": "a"}), now);
    let mut rand = || 0.5;
    for taken in 0..100_000 {
        match step(&m, &info, cur, now, table, &mut rand) {
            Transition::Next(c) => cur = c,
            Transition::Sleep { cursor, until_ms } => {
                now = until_ms;
                cur = cursor;
            }
            end => return (taken, end),
        }
    }
    panic!("the history quota never ended the execution");
}

fn history_full_end() -> Transition {
    Transition::Failed {
        error: "States.Runtime".into(),
        cause: "The execution's history reached 25000 events (the Step Functions quota)".into(),
    }
}

#[test]
fn a_loop_that_never_waits_fails_when_its_history_is_full() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "A"}}});
    let (taken, end) = run_to_quota(def, &mut Table::default());
    // ExecutionStarted and A's two events, then two a state: 3 + 2 × 12,499 > 25,000.
    assert_eq!(taken, 12_498);
    assert_eq!(end, history_full_end());
}

#[test]
fn retried_attempts_count_toward_the_history_quota() {
    let mut table = Table {
        fail_next: vec![Fault::task("DynamoDB.ThrottlingException", "slow down"); 10_000],
        ..Table::default()
    };
    let retry = json!([{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 99_999_999, "BackoffRate": 1.0}]);
    let (_, end) = run_to_quota(task_def(retry, json!([])), &mut table);
    // Three events an attempt retried: 3 + 3 × 8,333 > 25,000.
    assert_eq!(table.calls.len(), 8_333);
    assert_eq!(end, history_full_end());
}

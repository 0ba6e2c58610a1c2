//! `waitable local exec`: one execution of a definition on the local interpreter, its result as
//! one JSON object. Each test pins one behaviour recorded on AWS Step Functions.

use serde_json::{Value, json};

use crate::harness::{describe, waitable_bare};

/// Runs `definition` on `input` with the virtual clock and the given `--table`s.
fn exec(definition: &Value, input: &Value, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("definition.json");
    std::fs::write(&file, definition.to_string()).unwrap();
    let out = waitable_bare()
        .args(["local", "exec", "--virtual-clock", "--definition"])
        .arg(&file)
        .args(["--input", &input.to_string()])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
}

#[test]
fn a_pass_chain_succeeds_with_its_output_and_states() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"n.$": "$$.Execution.Name", "x.$": "$.a.x"}, "End": true}
    }});
    let got = exec(&def, &json!({}), &["--name", "run-1"]);
    assert_eq!(
        got,
        json!({"status": "SUCCEEDED", "output": {"n": "run-1", "x": 1}, "statesEntered": ["A", "B"]})
    );
}

#[test]
fn a_virtual_wait_moves_the_clock_forward() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 86400, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"t.$": "$$.State.EnteredTime"}, "End": true}
    }});
    let got = exec(&def, &json!({}), &["--start", "2030-01-01T00:00:00.000Z"]);
    assert_eq!(got["output"], json!({"t": "2030-01-02T00:00:00.000Z"}));
    assert_eq!(got["statesEntered"], json!(["W", "P"]));
}

#[test]
fn a_fail_state_reports_its_error_and_cause() {
    let def = json!({"StartAt": "F", "States": {
        "F": {"Type": "Fail", "Error": "Oops", "Cause": "because"}
    }});
    let got = exec(&def, &json!({}), &[]);
    assert_eq!(
        got,
        json!({"status": "FAILED", "error": "Oops", "cause": "because", "statesEntered": ["F"]})
    );
}

#[test]
fn a_refused_definition_is_invalid_definition() {
    let got = exec(&json!({"States": {}}), &json!({}), &[]);
    assert_eq!(got["status"], "INVALID_DEFINITION");
    assert!(got["cause"].as_str().unwrap().contains("StartAt"), "{got}");
    assert_eq!(got["statesEntered"], json!([]));
}

#[test]
fn dynamodb_tasks_use_the_named_tables_only() {
    let def = json!({"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": "jobs", "Item": {"pk": {"S.$": "$.id"}}},
                "ResultPath": null, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "jobs", "Key": {"pk": {"S.$": "$.id"}}},
                "OutputPath": "$.Item", "End": true}
    }});
    let got = exec(&def, &json!({"id": "a"}), &["--table", "jobs=pk"]);
    assert_eq!(got["output"], json!({"pk": {"S": "a"}}), "{got}");
    let got = exec(&def, &json!({"id": "a"}), &[]);
    assert_eq!(got["status"], "FAILED");
    assert_eq!(got["error"], "DynamoDB.ResourceNotFoundException");
    assert_eq!(got["statesEntered"], json!(["Put"]));
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.json");
    std::fs::write(
        &file,
        r#"{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}"#,
    )
    .unwrap();
    for args in [
        vec!["--input", "{not json"],
        vec!["--table", "nokey"],
        vec!["--start", "tomorrow"],
    ] {
        let out = waitable_bare()
            .args(["local", "exec", "--definition"])
            .arg(&file)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert!(out.stdout.is_empty());
    }
}

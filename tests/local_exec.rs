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
        vec!["--execution-arn", "arn:aws:states:r:1:stateMachine:m"],
        vec![
            "--name",
            "a",
            "--execution-arn",
            "arn:aws:states:r:1:execution:m:a",
        ],
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

// ---- As strict as AWS ---------------------------------------------------------------------------

fn one_state(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

#[test]
fn a_missing_parameter_path_is_an_uncatchable_runtime_error() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
              "Parameters": {"TableName": "jobs", "Key": {"pk": {"S.$": "$.nope"}}},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}
    }});
    let got = exec(&def, &json!({}), &["--table", "jobs=pk"]);
    assert_eq!(got["status"], "FAILED", "{got}");
    assert_eq!(got["error"], "States.Runtime");
    assert!(got["cause"].as_str().unwrap().contains("$.nope"), "{got}");
    assert_eq!(got["statesEntered"], json!(["T"]));
}

#[test]
fn fail_paths_that_find_nothing_are_runtime_errors_and_a_bare_fail_has_no_error() {
    let got = exec(
        &one_state(json!({"Type": "Fail", "Error": "E", "CausePath": "$.nope"})),
        &json!({}),
        &[],
    );
    assert_eq!(got["error"], "States.Runtime", "{got}");
    let got = exec(&one_state(json!({"Type": "Fail"})), &json!({}), &[]);
    assert_eq!(got, json!({"status": "FAILED", "statesEntered": ["S"]}));
}

#[test]
fn a_wait_over_2_pow_31_seconds_fails_at_once() {
    let def = one_state(json!({"Type": "Wait", "TimestampPath": "$.at", "End": true}));
    let start = ["--start", "2023-12-13T07:09:17.500Z"];
    // 24,856 days ahead is over 2^31 s; 300 days is not.
    let got = exec(&def, &json!({"at": "2092-01-01T07:09:17.000Z"}), &start);
    assert_eq!(got["error"], "States.Runtime", "{got}");
    let got = exec(&def, &json!({"at": "2024-10-08T07:09:17.000Z"}), &start);
    assert_eq!(got["status"], "SUCCEEDED", "{got}");
}

#[test]
fn an_execution_stops_after_one_year() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 34560000, "Next": "P"},
        "P": {"Type": "Pass", "End": true}
    }});
    let got = exec(&def, &json!({}), &[]);
    assert_eq!(got["error"], "States.Timeout", "{got}");
    assert_eq!(got["statesEntered"], json!(["W"]));
}

#[test]
fn state_data_over_256_kib_is_data_limit_exceeded() {
    let big = "a".repeat(256 * 1024);
    let got = exec(
        &one_state(json!({"Type": "Pass", "Result": {"Arg1": big}, "End": true})),
        &json!({}),
        &[],
    );
    assert_eq!(got["error"], "States.DataLimitExceeded", "{got}");
}

#[test]
fn context_paths_select_the_context_object_with_its_aws_fields() {
    let arn = "arn:aws:states:eu-west-1:123456789012:execution:machine:run-9";
    let got = exec(
        &one_state(json!({"Type": "Pass", "OutputPath": "$$", "End": true})),
        &json!({"x": 1}),
        &["--execution-arn", arn, "--start", "2030-01-01T00:00:00Z"],
    );
    let ctx = &got["output"];
    assert_eq!(
        ctx["Execution"],
        json!({"Id": arn, "Input": {"x": 1}, "StartTime": "2030-01-01T00:00:00.000Z",
               "Name": "run-9", "RoleArn": ctx["Execution"]["RoleArn"], "RedriveCount": 0})
    );
    assert_eq!(
        ctx["StateMachine"],
        json!({"Id": "arn:aws:states:eu-west-1:123456789012:stateMachine:machine", "Name": "machine"})
    );
    assert_eq!(
        ctx["State"],
        json!({"Name": "S", "EnteredTime": "2030-01-01T00:00:00.000Z"})
    );
    let got = exec(
        &one_state(json!({"Type": "Pass", "InputPath": "$$.Execution.Input", "End": true})),
        &json!({"x": 1}),
        &[],
    );
    assert_eq!(got["output"], json!({"x": 1}));
}

#[test]
fn expressions_given_by_path_are_accepted_and_updated_new_returns_the_change() {
    let def = json!({"StartAt": "U", "States": {
        "U": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
              "Parameters": {"TableName": "jobs", "Key": {"id": {"S": "a"}},
                             "UpdateExpression.$": "$.expr",
                             "ExpressionAttributeValues": {":r": {"S": "new"}},
                             "ReturnValues": "UPDATED_NEW"},
              "End": true}
    }});
    let got = exec(&def, &json!({"expr": "set S=:r"}), &["--table", "jobs=id"]);
    assert_eq!(
        got["output"],
        json!({"Attributes": {"S": {"S": "new"}}}),
        "{got}"
    );
}

#[test]
fn dynamodb_validation_errors_have_the_name_aws_gives_them() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
              "Parameters": {"TableName.$": "$.table", "Item.$": "$.item"}, "End": true}
    }});
    let item = json!({"id": {"S": "a"}});
    for input in [
        json!({"table": "/bad-name", "item": item}),
        json!({"table": "jobs", "item": null}),
        json!({"table": "jobs", "item": {"other": {"S": "a"}}}),
    ] {
        let got = exec(&def, &input, &["--table", "jobs=id"]);
        assert_eq!(
            got["error"], "DynamoDB.AmazonDynamoDBException",
            "{input}: {got}"
        );
    }
    let got = exec(
        &def,
        &json!({"table": "other", "item": item}),
        &["--table", "jobs=id"],
    );
    assert_eq!(got["error"], "DynamoDB.ResourceNotFoundException", "{got}");
}

#[test]
fn exit_code_tells_failed_and_invalid_apart_for_ci() {
    let dir = tempfile::tempdir().unwrap();
    let code = |definition: &str, extra: &[&str]| {
        let file = dir.path().join("definition.json");
        std::fs::write(&file, definition).unwrap();
        let out = waitable_bare()
            .args(["local", "exec", "--definition"])
            .arg(&file)
            .args(extra)
            .output()
            .unwrap();
        // The result is printed whatever the exit code.
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
        (out.status.code(), v["status"].as_str().unwrap().to_string())
    };
    let fail = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops"}}});
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let fail = fail.to_string();
    let pass = pass.to_string();
    assert_eq!(code(&fail, &["--exit-code"]), (Some(1), "FAILED".into()));
    assert_eq!(
        code("{\"StartAt\": 1}", &["--exit-code"]),
        (Some(2), "INVALID_DEFINITION".into())
    );
    assert_eq!(code(&pass, &["--exit-code"]), (Some(0), "SUCCEEDED".into()));
    // Without the flag every result exits 0, as before.
    assert_eq!(code(&fail, &[]), (Some(0), "FAILED".into()));
    assert_eq!(
        code("{\"StartAt\": 1}", &[]),
        (Some(0), "INVALID_DEFINITION".into())
    );
}

#[test]
fn retries_count_toward_the_history_quota() {
    // Every attempt fails (no such table) and is retried: AWS's history would pass 25,000
    // events after about 8,300 attempts, and the execution fails there.
    let def = one_state(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {"TableName": "missing", "Key": {"id": {"S": "x"}}},
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 99999999, "IntervalSeconds": 1, "BackoffRate": 1}],
        "End": true
    }));
    let got = exec(&def, &json!({}), &[]);
    assert_eq!(got["status"], "FAILED", "{got}");
    assert_eq!(got["error"], "States.Runtime", "{got}");
    assert!(
        got["cause"].as_str().unwrap().contains("25000 events"),
        "{got}"
    );
}

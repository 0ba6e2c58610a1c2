//! `waitable synth`: golden files, the validators the AWS world trusts, and the emulator.

use std::process::Command;

use serde_json::Value;

use crate::harness::{
    Emulator, describe, moto_url, repo_root, run_ok, unique_name, venv_bin, waitable_bare,
};

const TEMPLATE: &str = "templates/waitable.yaml";
const STATE_MACHINE: &str = "statemachine/waitable.asl.json";
const REGENERATE: &str = "regenerate with: cargo run -- synth --out .";

/// The golden files of every variant users deploy: (template, state machine).
fn golden_files() -> Vec<(String, String)> {
    waitable_core::stack_spec::variants()
        .into_iter()
        .map(|v| {
            (
                format!("templates/{}.yaml", v.name),
                format!("statemachine/{}.asl.json", v.name),
            )
        })
        .collect()
}

#[test]
fn checked_in_files_are_exactly_what_synth_writes() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(waitable_bare().args(["synth", "--out"]).arg(dir.path()));
    let written = walk(dir.path());
    let expected: Vec<String> = golden_files()
        .into_iter()
        .flat_map(|(t, s)| [t, s])
        .collect();
    assert_eq!(written.len(), expected.len(), "{written:?}");
    assert_eq!(
        golden_files()[0],
        (TEMPLATE.to_string(), STATE_MACHINE.to_string())
    );
    for file in expected {
        let fresh = std::fs::read_to_string(dir.path().join(&file)).unwrap();
        let golden = std::fs::read_to_string(repo_root().join(&file))
            .unwrap_or_else(|e| panic!("{file} is missing ({e}); {REGENERATE}"));
        assert!(
            fresh == golden,
            "{file} has drifted from what synth produces; {REGENERATE}"
        );
    }
}

/// Every file under `dir`, relative to it.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir).unwrap() {
        let sub = sub.unwrap().path();
        for f in std::fs::read_dir(&sub).unwrap() {
            let f = f.unwrap().path();
            out.push(f.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out
}

/// A variant's golden template is what `synth --deliver ...` prints for its targets.
#[test]
fn each_delivering_golden_template_is_what_synth_deliver_prints() {
    for v in waitable_core::stack_spec::variants().into_iter().skip(1) {
        let mut cmd = waitable_bare();
        cmd.arg("synth");
        for t in &v.spec.deliveries.targets {
            cmd.arg("--deliver").arg(t.flag());
        }
        let printed = run_ok(&mut cmd).stdout;
        let golden = std::fs::read(repo_root().join(format!("templates/{}.yaml", v.name))).unwrap();
        assert!(printed == golden, "{} differs from synth --deliver", v.name);
    }
}

#[test]
fn synth_prints_yaml_by_default_and_json_on_request() {
    let yaml = run_ok(waitable_bare().arg("synth")).stdout;
    let golden = std::fs::read(repo_root().join(TEMPLATE)).unwrap();
    assert_eq!(yaml, golden);
    let json = run_ok(waitable_bare().args(["synth", "--format", "json"])).stdout;
    let from_json: Value = serde_json::from_slice(&json).unwrap();
    let from_yaml: Value = serde_norway::from_slice(&yaml).unwrap();
    assert_eq!(from_json, from_yaml);
}

#[test]
fn synth_rejects_unknown_format_with_usage_exit_code() {
    let out = waitable_bare()
        .args(["synth", "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn cfn_lint_finds_nothing_in_any_variant() {
    // .cfnlintrc.yaml at the repository root includes informational checks and names the one
    // ignored rule with its reason.
    for (template, _) in golden_files() {
        let out = Command::new(venv_bin("cfn-lint"))
            .current_dir(repo_root())
            .arg(&template)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cfn-lint reported findings in {template}:\n{}",
            describe(&out)
        );
        assert!(out.stdout.is_empty(), "{template}: {}", describe(&out));
    }
}

#[test]
fn cfn_lint_also_passes_the_no_auth_variant() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open.yaml");
    std::fs::write(
        &path,
        run_ok(waitable_bare().args(["synth", "--no-auth"])).stdout,
    )
    .unwrap();
    let out = Command::new(venv_bin("cfn-lint"))
        .current_dir(repo_root())
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

/// Each variant's definition with its placeholders filled as CloudFormation fills them.
fn resolved_variants() -> Vec<std::path::PathBuf> {
    waitable_core::stack_spec::variants()
        .into_iter()
        .map(|v| {
            let path = std::env::temp_dir().join(unique_name(v.name));
            let text = waitable_core::state_machine::resolved_with(
                &v.spec,
                &[
                    ("TableName", "jobs-table"),
                    ("AWS::Partition", "aws"),
                    ("AWS::StackName", "s"),
                    (
                        "DeliveryQueueUrl",
                        "https://sqs.us-east-1.amazonaws.com/1/q",
                    ),
                    ("DeliveryTopicArn", "arn:aws:sns:us-east-1:1:t"),
                    (
                        "WebhookConnectionArn",
                        "arn:aws:events:us-east-1:1:connection/c/1",
                    ),
                ],
            );
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

#[test]
fn statelint_accepts_every_state_machine() {
    let mut definitions = resolved_variants();
    definitions.extend([
        repo_root().join(STATE_MACHINE),
        {
            let dir = std::env::temp_dir().join(unique_name("resolved-asl"));
            std::fs::write(
                &dir,
                waitable_core::state_machine::resolved("jobs-table", "aws"),
            )
            .unwrap();
            dir
        },
        {
            let dir = std::env::temp_dir().join(unique_name("reconcile-asl"));
            std::fs::write(
                &dir,
                waitable_core::reconcile_machine::resolved("jobs-table", "aws"),
            )
            .unwrap();
            dir
        },
    ]);
    for definition in definitions {
        let out = Command::new(venv_bin("statelint"))
            .arg(&definition)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "statelint rejected {}:\n{}",
            definition.display(),
            describe(&out)
        );
    }
}

#[test]
fn statelint_is_not_a_rubber_stamp() {
    let path = std::env::temp_dir().join(unique_name("broken-asl"));
    std::fs::write(
        &path,
        r#"{"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}"#,
    )
    .unwrap();
    let out = Command::new(venv_bin("statelint"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "statelint accepted a broken definition"
    );
}

#[test]
fn template_creates_a_stack_on_the_emulator() {
    let stack = unique_name("synth-moto");
    let aws = |args: &[&str]| {
        let mut cmd = Command::new(venv_bin("aws"));
        crate::harness::scrub(&mut cmd)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args(["--endpoint-url", &moto_url(), "--output", "json"])
            .args(args);
        run_ok(&mut cmd)
    };
    let body = format!("file://{}", repo_root().join(TEMPLATE).display());
    aws(&[
        "cloudformation",
        "create-stack",
        "--stack-name",
        &stack,
        "--template-body",
        &body,
        "--capabilities",
        "CAPABILITY_IAM",
    ]);
    let out = aws(&["cloudformation", "describe-stacks", "--stack-name", &stack]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &doc["Stacks"][0];
    assert_eq!(s["StackStatus"], "CREATE_COMPLETE", "{s}");
    let mut keys: Vec<&str> = s["Outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["OutputKey"].as_str().unwrap())
        .collect();
    keys.sort();
    // moto resolves no Ref of an AWS::CloudWatch::Alarm, so it leaves the output naming the
    // reconcile alarm out (cfn-lint checks that output; AWS returns the alarm's name).
    assert_eq!(
        keys,
        [
            "ApiUrl",
            "ReconcileDeadLetterQueueUrl",
            "StateMachineArn",
            "TableName"
        ]
    );
    // The table is protected from deletion: a plain delete-stack fails on it (moto enforces
    // this too), and succeeds once protection is turned off, as `waitable destroy` does.
    let table = s["Outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["OutputKey"] == "TableName")
        .unwrap()["OutputValue"]
        .as_str()
        .unwrap()
        .to_string();
    let out = aws(&["dynamodb", "describe-table", "--table-name", &table]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["Table"]["DeletionProtectionEnabled"], true, "{doc}");
    aws(&[
        "dynamodb",
        "update-table",
        "--table-name",
        &table,
        "--no-deletion-protection-enabled",
    ]);
    aws(&["cloudformation", "delete-stack", "--stack-name", &stack]);
}

/// checkov lives in a venv of its own (it pins a boto3 that moto's cannot share); scripts/test
/// points here, and scripts/setup-venv creates it.
fn checkov() -> std::path::PathBuf {
    let venv = std::env::var_os("WAITABLE_TEST_CHECKOV_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv-checkov"));
    let path = venv.join("bin").join("checkov");
    assert!(
        path.exists(),
        "{} is missing; run scripts/setup-venv (scripts/test does)",
        path.display()
    );
    path
}

fn run_checkov(template: &std::path::Path) -> Value {
    // --skip-download: no call to Prisma Cloud (no network here, and none is needed offline).
    let out = Command::new(checkov())
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
            "--file",
        ])
        .arg(template)
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("checkov printed no JSON ({e}):\n{}", describe(&out)))
}

#[test]
fn checkov_finds_nothing_and_every_skip_has_its_reason() {
    let report = run_checkov(&repo_root().join(TEMPLATE));
    let results = &report["results"];
    let failed = results["failed_checks"].as_array().unwrap();
    assert!(
        failed.is_empty(),
        "checkov findings:\n{}",
        failed
            .iter()
            .map(|f| format!("{} {} ({})", f["check_id"], f["check_name"], f["resource"]))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        report["summary"]["passed"].as_u64().unwrap() >= 20,
        "{}",
        report["summary"]
    );
    let skipped: Vec<(&str, &str)> = results["skipped_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["check_id"].as_str().unwrap(),
                s["check_result"]["suppress_comment"]
                    .as_str()
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("CKV_AWS_119", waitable_core::template::CKV_AWS_119_REASON),
            ("CKV_AWS_27", waitable_core::template::CKV_AWS_27_DLQ_REASON)
        ]
    );
}

#[test]
fn checkov_is_not_a_rubber_stamp() {
    // The same template without the justification: the finding it answers comes back.
    let mut t: Value =
        serde_norway::from_str(&std::fs::read_to_string(repo_root().join(TEMPLATE)).unwrap())
            .unwrap();
    t["Resources"]["JobsTable"]
        .as_object_mut()
        .unwrap()
        .remove("Metadata");
    let path = std::env::temp_dir()
        .join(unique_name("checkov"))
        .with_extension("json");
    std::fs::write(&path, serde_json::to_string(&t).unwrap()).unwrap();
    let report = run_checkov(&path);
    let failed: Vec<&str> = report["results"]["failed_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check_id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["CKV_AWS_119"]);
}

/// The generated state machine, run by the local interpreter (`waitable local exec`), sends
/// each kind of input to the right first write with one Choice: with or without a payload
/// (`"null"`), without Payload or ExpiresAt (refused), a bad timestamp, and a start the API
/// flagged as too far ahead.
#[test]
fn the_state_machine_routes_every_kind_of_input_to_its_first_write() {
    let definition = std::env::temp_dir().join(unique_name("routes-asl"));
    std::fs::write(
        &definition,
        waitable_core::state_machine::resolved("jobs", "aws"),
    )
    .unwrap();
    // Due within the one-year limit the interpreter applies, as AWS does.
    let at = &(chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let cases = [
        (
            serde_json::json!({"StartTimestamp": at, "Payload": "null", "ExpiresAt": "1",
                "Run": {"Id": "local-exec", "Number": "1"}}),
            "SetInitialStatus",
            "SUCCEEDED",
        ),
        (
            serde_json::json!({"StartTimestamp": at, "Payload": "{}", "ExpiresAt": "1",
                "Run": {"Id": "local-exec", "Number": "1"}}),
            "SetInitialStatusWithPayload",
            "SUCCEEDED",
        ),
        // Without its run (the API's input, or one started by hand): AddRun gives it run 1.
        (
            serde_json::json!({"StartTimestamp": at, "Payload": "null", "ExpiresAt": "1"}),
            "AddRun",
            "SUCCEEDED",
        ),
        (
            serde_json::json!({"StartTimestamp": at, "Payload": "null", "ExpiresAt": "1",
                "Run": {"Id": 5, "Number": "1"}}),
            "RejectExecutionInput",
            "FAILED",
        ),
        (
            serde_json::json!({"StartTimestamp": at}),
            "RejectExecutionInput",
            "FAILED",
        ),
        (
            serde_json::json!({"StartTimestamp": at, "Payload": "{}"}),
            "RejectExecutionInput",
            "FAILED",
        ),
        (
            serde_json::json!({"StartTimestamp": at, "ExpiresAt": "1"}),
            "RejectExecutionInput",
            "FAILED",
        ),
        (
            serde_json::json!({"StartTimestamp": "soon"}),
            "RejectInputKeepingTime",
            "FAILED",
        ),
        (
            serde_json::json!({"StartTimestamp": 5}),
            "RejectInput",
            "FAILED",
        ),
        (
            serde_json::json!({"StartTimestamp": ""}),
            "RejectInput",
            "FAILED",
        ),
        (
            serde_json::json!({"ExpiresAt": "1"}),
            "RejectInput",
            "FAILED",
        ),
        (
            serde_json::json!({"StartTimestamp": at, "Payload": "null", "ExpiresAt": "1", "TooFarAhead": true}),
            "RecordTooFarAhead",
            "FAILED",
        ),
    ];
    for (input, first_write, status) in cases {
        let out = run_ok(
            waitable_bare()
                .args([
                    "local",
                    "exec",
                    "--virtual-clock",
                    "--table",
                    "jobs=Id",
                    "--definition",
                ])
                .arg(&definition)
                .args(["--input", &input.to_string()]),
        );
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        let entered = result["statesEntered"].as_array().unwrap();
        // The first write comes right after the Choice that picked it (a second Choice only
        // sorts out a bad timestamp).
        let first = entered
            .iter()
            .find(|s| {
                !s.as_str().unwrap().starts_with("Validate")
                    && !s.as_str().unwrap().starts_with("Choose")
            })
            .unwrap();
        assert_eq!(first, first_write, "{input}: {result}");
        if status == "SUCCEEDED" {
            let extra = if input.get("Run").is_some() { 0 } else { 2 };
            assert_eq!(entered.len(), 4 + extra, "{input}: {result}");
        }
        assert_eq!(result["status"], status, "{input}: {result}");
    }
}

/// The reconcile state machine, on the local interpreter, given the event EventBridge sends:
/// each abnormal ending routes to its write (which here finds no STARTED row, as for a job
/// that recorded its own end, and so succeeds without changing anything).
#[test]
fn the_reconcile_routes_each_ending_and_leaves_recorded_jobs_alone() {
    let definition = std::env::temp_dir().join(unique_name("reconcile-run"));
    std::fs::write(
        &definition,
        waitable_core::reconcile_machine::resolved("jobs", "aws"),
    )
    .unwrap();
    for (status, state) in [
        ("TIMED_OUT", Some("RecordTimedOut")),
        ("ABORTED", Some("RecordAborted")),
        ("FAILED", Some("RecordFailed")),
        ("SUCCEEDED", None),
    ] {
        let event = serde_json::json!({
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": { "name": "job-1", "status": status }
        });
        let out = run_ok(
            waitable_bare()
                .args(["local", "exec", "--table", "jobs=Id", "--definition"])
                .arg(&definition)
                .args(["--input", &event.to_string()]),
        );
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["status"], "SUCCEEDED", "{status}: {result}");
        let entered: Vec<&str> = result["statesEntered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        match state {
            Some(s) => assert_eq!(entered, ["Route", s, "Done"], "{status}"),
            None => assert_eq!(entered, ["Route", "Done"], "{status}"),
        }
    }
}

/// The reconcile on moto, started with the event EventBridge would send (moto does not send
/// Step Functions status events): a job still STARTED after its execution timed out becomes
/// FAILED with the reason, an aborted one CANCELLED, and a job already finished keeps its end.
#[test]
fn the_reconcile_moves_a_started_job_out_of_started_on_the_emulator() {
    // On the moto that runs state machines (scripts/test turns that on when it starts it).
    let moto = Emulator::MotoExecuting;
    let stack = unique_name("reconcile");
    let out = run_ok(crate::harness::waitable_on(moto).args([
        "--stack-name",
        &stack,
        "deploy",
        "--yes",
        "--output",
        "json",
    ]));
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = outputs["TableName"].as_str().unwrap().to_string();
    let aws = |args: &[&str]| -> Value {
        let mut cmd = Command::new(venv_bin("aws"));
        crate::harness::scrub(&mut cmd)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args(["--endpoint-url", &moto.url(), "--output", "json"])
            .args(args);
        let out = run_ok(&mut cmd);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };
    // Executions run in moto's executing backend, which does not see state machines made by
    // CloudFormation: make the reconcile there from the same definition and the stack's role.
    let role = aws(&[
        "cloudformation",
        "describe-stack-resource",
        "--stack-name",
        &stack,
        "--logical-resource-id",
        "ReconcileRole",
    ])["StackResourceDetail"]["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    let reconcile = aws(&[
        "stepfunctions",
        "create-state-machine",
        "--name",
        &stack,
        "--role-arn",
        &format!("arn:aws:iam::123456789012:role/{role}"),
        "--definition",
        &waitable_core::reconcile_machine::resolved(&table, "aws"),
    ])["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        ("timed-out", "STARTED", "TIMED_OUT", "FAILED"),
        ("aborted", "STARTED", "ABORTED", "CANCELLED"),
        ("finished", "COMPLETED", "FAILED", "COMPLETED"),
    ];
    for (id, before, ending, _) in cases {
        let item = serde_json::json!({"Id": {"S": id}, "ProcessStatus": {"S": before}});
        aws(&[
            "dynamodb",
            "put-item",
            "--table-name",
            &table,
            "--item",
            &item.to_string(),
        ]);
        let event = serde_json::json!({
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": { "name": id, "status": ending }
        });
        let started = aws(&[
            "stepfunctions",
            "start-execution",
            "--state-machine-arn",
            &reconcile,
            "--name",
            id,
            "--input",
            &event.to_string(),
        ]);
        let arn = started["executionArn"].as_str().unwrap().to_string();
        let mut status = String::new();
        for _ in 0..100 {
            status = aws(&[
                "stepfunctions",
                "describe-execution",
                "--execution-arn",
                &arn,
            ])["status"]
                .as_str()
                .unwrap()
                .to_string();
            if status != "RUNNING" {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(status, "SUCCEEDED", "{id}");
    }
    for (id, _, ending, after) in cases {
        let key = serde_json::json!({"Id": {"S": id}});
        let got = aws(&[
            "dynamodb",
            "get-item",
            "--table-name",
            &table,
            "--key",
            &key.to_string(),
        ]);
        assert_eq!(got["Item"]["ProcessStatus"]["S"], after, "{id}: {got}");
        if after != "COMPLETED" {
            let (_, error) = waitable_core::reconcile_machine::outcome(ending).unwrap();
            assert_eq!(got["Item"]["Error"]["S"], error, "{id}");
        } else {
            assert!(got["Item"].get("Error").is_none(), "{id}: {got}");
        }
    }
    run_ok(crate::harness::waitable_on(moto).args(["--stack-name", &stack, "destroy", "--yes"]));
}

/// The delivery variants checkov must pass, at their longest: none, each target alone, all four.
fn delivery_variants() -> Vec<(String, Vec<String>)> {
    let url = format!("https://hooks.example.com/{}", "p".repeat(2_000 - 26));
    let bus = format!("bus={}", "b".repeat(256));
    let webhook = format!("webhook={url}");
    vec![
        ("plain".into(), vec![]),
        ("queue".into(), vec!["queue".into()]),
        ("topic".into(), vec!["topic".into()]),
        ("bus".into(), vec![bus.clone()]),
        ("webhook".into(), vec![webhook.clone()]),
        (
            "all-four".into(),
            vec!["queue".into(), "topic".into(), bus, webhook],
        ),
    ]
}

/// checkov over every delivery variant synth makes and every checked-in template (cfn-lint over
/// the variants): no finding, and every skip is one of the two justified ones, with its reason.
#[test]
fn checkov_and_cfn_lint_pass_every_delivery_variant_and_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, flags) in delivery_variants() {
        let mut cmd = waitable_bare();
        cmd.args(["synth", "--format", "json"]);
        for f in &flags {
            cmd.arg(format!("--deliver={f}"));
        }
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, run_ok(&mut cmd).stdout).unwrap();
        files.push(path);
    }
    // cfn-lint too, at their longest (moto cannot create the webhook's connection, so for the
    // webhook variants this and checkov are what stands in for a deploy).
    let out = Command::new(venv_bin("cfn-lint"))
        .current_dir(repo_root())
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint:\n{}",
        describe(&out)
    );
    for entry in std::fs::read_dir(repo_root().join("templates")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let allowed = [
        ("CKV_AWS_119", waitable_core::template::CKV_AWS_119_REASON),
        (
            "CKV_AWS_27",
            waitable_core::delivery::resources::CKV_AWS_27_REASON,
        ),
        ("CKV_AWS_27", waitable_core::template::CKV_AWS_27_DLQ_REASON),
    ];
    for file in &files {
        let report = run_checkov(file);
        let results = &report["results"];
        let failed: Vec<String> = results["failed_checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {} ({})", f["check_id"], f["check_name"], f["resource"]))
            .collect();
        assert!(
            failed.is_empty(),
            "{}: checkov findings:\n{}",
            file.display(),
            failed.join("\n")
        );
        for s in results["skipped_checks"].as_array().unwrap() {
            let skip = (
                s["check_id"].as_str().unwrap(),
                s["check_result"]["suppress_comment"]
                    .as_str()
                    .unwrap_or_default(),
            );
            assert!(
                allowed.contains(&skip),
                "{}: unexpected skip {skip:?}",
                file.display()
            );
        }
    }
}

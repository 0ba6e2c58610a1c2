//! `waitable synth`: golden files, the validators the AWS world trusts, and the emulator.

use std::process::Command;

use serde_json::Value;

use crate::harness::{describe, moto_url, repo_root, run_ok, unique_name, venv_bin, waitable_bare};

const TEMPLATE: &str = "templates/waitable.yaml";
const STATE_MACHINE: &str = "statemachine/waitable.asl.json";
const REGENERATE: &str = "regenerate with: cargo run -- synth --out .";

#[test]
fn checked_in_files_are_exactly_what_synth_writes() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(waitable_bare().args(["synth", "--out"]).arg(dir.path()));
    for file in [TEMPLATE, STATE_MACHINE] {
        let fresh = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let golden = std::fs::read_to_string(repo_root().join(file))
            .unwrap_or_else(|e| panic!("{file} is missing ({e}); {REGENERATE}"));
        assert!(
            fresh == golden,
            "{file} has drifted from what synth produces; {REGENERATE}"
        );
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
fn cfn_lint_finds_nothing() {
    // .cfnlintrc.yaml at the repository root includes informational checks and names the one
    // ignored rule with its reason.
    let out = Command::new(venv_bin("cfn-lint"))
        .current_dir(repo_root())
        .arg(TEMPLATE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint reported findings:\n{}",
        describe(&out)
    );
    assert!(out.stdout.is_empty(), "{}", describe(&out));
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

#[test]
fn statelint_accepts_the_state_machine() {
    for definition in [repo_root().join(STATE_MACHINE), {
        let dir = std::env::temp_dir().join(unique_name("resolved-asl"));
        std::fs::write(&dir, waitable::core::asl::resolved("jobs-table", "aws")).unwrap();
        dir
    }] {
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
    assert_eq!(keys, ["ApiUrl", "StateMachineArn", "TableName"]);
    aws(&["cloudformation", "delete-stack", "--stack-name", &stack]);
}

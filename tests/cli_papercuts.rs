//! Small things a user meets on the command line, each pinned: synth holds a template to what
//! deploy holds it to, a missing region names the local stack of that name, `local run` says
//! which stack and target it runs, and the README's own claims.

use std::io::BufRead;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{describe, repo_root, waitable_bare};

#[test]
fn synth_refuses_what_deploy_refuses() {
    let out = waitable_bare()
        .args(["synth", "--deliver", "webhook=http://example.com/hook"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the aws target calls webhooks over https only"),
        "{stderr}"
    );
    // The local target calls http webhooks, as its deploy allows; https is fine everywhere.
    for args in [
        &[
            "--target",
            "local",
            "synth",
            "--deliver",
            "webhook=http://127.0.0.1:9/h",
        ][..],
        &["synth", "--deliver", "webhook=https://example.com/hook"],
    ] {
        let out = waitable_bare().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", describe(&out));
    }
}

#[test]
fn no_region_names_the_local_stack_of_that_name() {
    let home = tempfile::tempdir().unwrap();
    let run = || {
        waitable_bare()
            .env("WAITABLE_HOME", home.path())
            .args(["--stack-name", "mine", "status"])
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no AWS region configured"), "{stderr}");
    assert!(!stderr.contains("--target local"), "{stderr}");
    // A local stack `mine` exists: the error says how to reach it.
    std::fs::create_dir_all(home.path().join("mine")).unwrap();
    std::fs::write(home.path().join("mine/stack.json"), "{}").unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a local stack mine exists on this machine: for it, pass --target local"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn local_run_names_its_stack_and_target() {
    let home = tempfile::tempdir().unwrap();
    let mut child = waitable_bare()
        .env("WAITABLE_HOME", home.path())
        .env("WAITABLE_ENGINE_TIED_TO_STDIN", "1")
        .args([
            "--target",
            "local",
            "--stack-name",
            "hinted",
            "local",
            "run",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        let found = line.contains("running stack hinted on the local target")
            && line.contains("waitable --target local --stack-name hinted status");
        seen.push(line);
        if found || Instant::now() > deadline {
            break;
        }
    }
    // Closing stdin stops a tied engine.
    drop(child.stdin.take());
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.contains("running stack hinted")),
        "{seen:#?}"
    );
}

/// The README's claims a new user acts on: its sample curl's StartTimestamp can be submitted
/// (not more than 363 days ahead, or computed at run time), `status --output json`'s field list
/// names DeliveredAt, and it says what a non-terminal stderr hides.
#[test]
fn the_readme_says_what_is_true_now() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let curl: Vec<&str> = readme
        .lines()
        .filter(|l| l.contains("curl -X POST"))
        .collect();
    assert!(!curl.is_empty());
    let latest = chrono::Utc::now() + chrono::Duration::days(363);
    for line in curl {
        let Some((_, rest)) = line.split_once("StartTimestamp") else {
            continue;
        };
        let literal: String = rest
            .chars()
            .skip_while(|c| !c.is_ascii_digit() && *c != '$')
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '$' | '('))
            .collect();
        if literal.starts_with("$(date") {
            continue;
        }
        let at = chrono::DateTime::parse_from_rfc3339(&literal)
            .unwrap_or_else(|e| panic!("{literal:?} in {line:?}: {e}"));
        assert!(at <= latest, "{line}: {at} is more than 363 days ahead");
    }
    let status_row = readme
        .lines()
        .find(|l| l.starts_with("| `waitable status "))
        .unwrap();
    let (_, json) = status_row
        .split_once("`--output json` prints an array of records (")
        .unwrap();
    let fields = json.split(')').next().unwrap();
    assert!(fields.contains("`DeliveredAt`"), "{fields}");
    assert!(
        readme.contains("When stderr is not a terminal, no progress bar or spinner is drawn"),
        "the README says what a non-terminal stderr hides"
    );
}

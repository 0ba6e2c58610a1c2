//! The command line as a user meets it: help text (snapshots) and usage errors.

use crate::harness::{describe, waitable_bare};

fn help(args: &[&str]) -> String {
    let out = waitable_bare()
        .args(args)
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(help(&["--help"]));
}

#[test]
fn command_help() {
    for command in [
        "synth", "deploy", "submit", "status", "cancel", "receive", "destroy", "demo",
    ] {
        insta::assert_snapshot!(format!("help_{command}"), help(&[command, "--help"]));
    }
}

#[test]
fn global_flags_work_after_the_subcommand() {
    let out = waitable_bare()
        .args(["synth", "--stack-name", "x", "--output", "json", "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn usage_errors_exit_2_with_nothing_on_stdout() {
    for args in [
        &["--stack-name", "1bad", "synth"][..],
        &["--target", "mars", "status"],
        &["submit"],
        &["frobnicate"],
    ] {
        let out = waitable_bare().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let text = help(&["completions", shell]);
        assert!(
            text.contains("submit") && text.contains("due-after"),
            "{shell}"
        );
    }
    let man = help(&["man"]);
    assert!(
        man.contains(".TH waitable"),
        "{}",
        &man[..200.min(man.len())]
    );
    let bad = waitable_bare()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
}

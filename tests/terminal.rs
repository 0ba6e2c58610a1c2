//! What a user at a terminal sees: the commands run under a pseudo-terminal (util-linux
//! `script`), so stdin and stderr are terminals, and Ctrl-C is typed (`^C` through the
//! terminal, which sends SIGINT as a real one does).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Emulator, unique_name, waitable_bare, waitable_on};

/// `script -qec CMD /dev/null` for this command line, with its environment.
fn under_a_terminal(cmd: &Command) -> Command {
    let found = Command::new("script").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "util-linux `script` is needed for the terminal tests (apt-get install bsdutils)"
    );
    let mut line = shell_quote(cmd.get_program().to_str().unwrap());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(arg.to_str().unwrap()));
    }
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => script.env(key, v),
            None => script.env_remove(key),
        };
    }
    script
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Reads the child's stdout until `wanted` shows (or the deadline), returning all it read.
fn read_until(child: &mut Child, wanted: &str, timeout: Duration) -> String {
    use std::io::Read;
    let stdout = child.stdout.as_mut().unwrap();
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&seen).contains(wanted) {
            break;
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn ctrl_c_at_the_deploy_prompt_deletes_the_change_set() {
    let name = unique_name("prompt");
    let mut deploy = waitable_on(Emulator::Moto);
    deploy.args(["--stack-name", &name, "deploy"]);
    let mut child = under_a_terminal(&deploy)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let shown = read_until(&mut child, "[y/N]", Duration::from_secs(60));
    assert!(shown.contains("[y/N]"), "no prompt: {shown}");
    // The spinner while CloudFormation worked out the change set.
    assert!(
        shown.contains(&format!("creating a change set for stack {name}")),
        "{shown}"
    );
    child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let rest = read_until(&mut child, "\u{0}", Duration::from_secs(30));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(
        rest.contains("interrupted: the change set was deleted; nothing was changed"),
        "{rest}"
    );
    // The change set is gone, and so is the empty stack its create made.
    let cfn = aws_sdk_cloudformation::Client::new(crate::jobs::sdk_config_for(Emulator::Moto));
    let status = crate::jobs::runtime().block_on(async {
        cfn.describe_stacks()
            .stack_name(&name)
            .send()
            .await
            .ok()
            .and_then(|o| o.stacks().first().cloned())
            .and_then(|s| s.stack_status().map(|s| s.as_str().to_string()))
    });
    assert!(
        status.is_none() || status.as_deref() == Some("DELETE_COMPLETE"),
        "{status:?}"
    );
}

#[test]
fn destroy_shows_a_spinner_while_the_engine_stops_on_a_terminal_only() {
    let home = tempfile::tempdir().unwrap();
    let stack = unique_name("spin");
    let waitable = || {
        let mut cmd = waitable_bare();
        cmd.env("WAITABLE_HOME", home.path())
            .args(["--target", "local", "--stack-name", &stack]);
        cmd
    };
    crate::harness::run_ok(waitable().args(["deploy", "--yes"]));
    crate::harness::run_ok(waitable().args(["submit", "--at", "+1h"]));
    let mut destroy = waitable();
    destroy.args(["destroy", "--yes"]);
    let out = under_a_terminal(&destroy).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains(&format!(
            "cancelling the waiting jobs of stack {stack} and stopping its engine"
        )),
        "{shown}"
    );
    // Without a terminal: no spinner, the messages only.
    crate::harness::run_ok(waitable().args(["deploy", "--yes"]));
    let out = crate::harness::run_ok(waitable().args(["destroy", "--yes"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("cancelling the waiting jobs"), "{stderr}");
    assert!(
        stderr.contains(&format!("deleted stack {stack}")),
        "{stderr}"
    );
}

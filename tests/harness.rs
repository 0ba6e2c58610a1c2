//! What every integration test shares: the emulator's address, the Python tools, and the
//! `waitable` binary with a scrubbed environment (tests never see real credentials).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

const HOW_TO: &str = "run the tests with scripts/test: it installs the pinned tools in .venv and starts moto on 127.0.0.1";

/// The moto server started by scripts/test. Fails (never skips) when it is not there.
pub fn moto_url() -> String {
    let url = std::env::var("WAITABLE_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!("WAITABLE_TEST_MOTO_URL is not set: this test needs the moto emulator; {HOW_TO}")
    });
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "WAITABLE_TEST_MOTO_URL must point at 127.0.0.1, got {url}"
    );
    url
}

/// A tool installed in the project's venv (cfn-lint, statelint, python, aws).
pub fn venv_bin(tool: &str) -> PathBuf {
    let venv = std::env::var_os("WAITABLE_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let path = venv.join("bin").join(tool);
    assert!(path.exists(), "{} is missing; {HOW_TO}", path.display());
    path
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A name no other test in this run uses (tests share one moto server).
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Empty AWS config and credentials files, so no developer's profile leaks into a test.
fn fixture_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waitable-test-aws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config", "credentials"] {
        let p = dir.join(f);
        if !p.exists() {
            std::fs::write(&p, "").unwrap();
        }
    }
    dir
}

/// Clears every `AWS_*` and `WAITABLE_*` variable and points the AWS config files at empty
/// fixtures; instance metadata lookups are off.
pub fn scrub(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        if key.starts_with("AWS_") || key.starts_with("WAITABLE_") {
            cmd.env_remove(&key);
        }
    }
    let fixtures = fixture_dir();
    cmd.env("AWS_CONFIG_FILE", fixtures.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", fixtures.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
}

/// The binary with a scrubbed environment and nothing else set.
pub fn waitable_bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_waitable"));
    scrub(&mut cmd);
    cmd
}

/// The binary pointed at moto, with test credentials and a region.
pub fn waitable_on_moto() -> Command {
    let mut cmd = waitable_bare();
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", moto_url());
    cmd
}

/// Runs a command and returns its output, with stdout/stderr in the panic message on failure.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the command runs");
    assert!(out.status.success(), "{cmd:?} failed: {}", describe(&out));
    out
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A deployed stack on one target, as the shared behaviour suite (`tests/behaviour.rs`) sees
/// it. `tests/jobs.rs` implements it for aws (moto), `tests/local.rs` for the local target;
/// every scenario runs on both with the same assertions.
pub trait StackEnv {
    /// The CLI with this target's flags and environment set (stack name, target, endpoint).
    fn waitable(&self) -> Command;
    /// Starts an execution with `input` as its raw JSON input and `id` as its name, bypassing
    /// the CLI's checks (drives the FAILED path with input the CLI would refuse).
    fn start_raw_execution(&self, id: &str, input: &str);
    /// Writes job records (JSON objects with the table's attribute names: Id, StartActionAt,
    /// ProcessStatus, LastUpdated, Payload as JSON text, Error) straight into the jobs table.
    fn seed_jobs(&self, records: &[serde_json::Value]);
}

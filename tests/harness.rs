//! What every integration test shares: the emulator's address, the Python tools, and the
//! `waitable` binary with a scrubbed environment (tests never see real credentials).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

const HOW_TO: &str = "run the tests with scripts/test: it installs the pinned tools (.venv, .venv-ministack) and starts moto and ministack on 127.0.0.1";

/// The AWS emulators scripts/test starts, each a separate server: a test module that needs an
/// emulator's global switch set gets a server started with it set, so no test flips one and
/// tests pass in any order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    /// moto as it starts: CloudFormation's state machines are visible (deploy, destroy, check).
    Moto,
    /// moto with `execute_state_machine` on (scripts/test sets it before any test runs): its
    /// executions really run, for machines made through the Step Functions API only.
    MotoExecuting,
    /// ministack: runs the stack's own state machines, delivers Step Functions status events
    /// to EventBridge rules, records per-resource stack events.
    Ministack,
}

impl Emulator {
    fn variable(self) -> &'static str {
        match self {
            Emulator::Moto => "WAITABLE_TEST_MOTO_URL",
            Emulator::MotoExecuting => "WAITABLE_TEST_MOTO_SFN_URL",
            Emulator::Ministack => "WAITABLE_TEST_MINISTACK_URL",
        }
    }

    /// The server's address. Fails (never skips) when it is not there.
    pub fn url(self) -> String {
        let var = self.variable();
        let url = std::env::var(var).unwrap_or_else(|_| {
            panic!("{var} is not set: this test needs the {self:?} emulator; {HOW_TO}")
        });
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "{var} must point at 127.0.0.1, got {url}"
        );
        url
    }

    /// The account id the emulator puts in ARNs.
    pub fn account(self) -> &'static str {
        match self {
            Emulator::Moto | Emulator::MotoExecuting => "123456789012",
            Emulator::Ministack => "000000000000",
        }
    }
}

/// The plain moto server started by scripts/test. Fails (never skips) when it is not there.
pub fn moto_url() -> String {
    Emulator::Moto.url()
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

/// A name no other test in this run uses (tests share each emulator).
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

/// The binary pointed at the plain moto, with test credentials and a region.
pub fn waitable_on_moto() -> Command {
    waitable_on(Emulator::Moto)
}

/// The binary pointed at `emulator`, with test credentials and a region.
pub fn waitable_on(emulator: Emulator) -> Command {
    let mut cmd = waitable_bare();
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", emulator.url());
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
    /// [`StackEnv::waitable`] for another stack on the same target (one that may not exist).
    fn waitable_for(&self, stack: &str) -> Command;
    /// Starts an execution with `input` as its raw JSON input and `id` as its name, bypassing
    /// the CLI's checks (drives the FAILED path with input the CLI would refuse).
    fn start_raw_execution(&self, id: &str, input: &str);
    /// Writes job records (JSON objects with the table's attribute names: Id, StartActionAt,
    /// ProcessStatus, LastUpdated, Payload as JSON text, Error) straight into the jobs table.
    fn seed_jobs(&self, records: &[serde_json::Value]);
}

/// Sends one HTTP/1.1 request to a server on 127.0.0.1 and returns the status code and body.
pub fn http_request(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr)
        .unwrap_or_else(|e| panic!("{addr} is not reachable ({e}); {HOW_TO}"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer from {addr}: {answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Who uses ministack now: the test file (module) and how many of its tests.
struct MinistackUse {
    module: Option<&'static str>,
    holders: usize,
    last: Option<&'static str>,
}

static MINISTACK_USE: std::sync::Mutex<MinistackUse> = std::sync::Mutex::new(MinistackUse {
    module: None,
    holders: 0,
    last: None,
});
static MINISTACK_FREED: std::sync::Condvar = std::sync::Condvar::new();

/// A test's hold on ministack, shared with the other tests of its module (test file) and
/// exclusive of every other module's: ministack is reset (`POST /_ministack/reset`) each time
/// it passes to another module, so no module sees what another left behind, in any order.
pub struct MinistackLease {
    _private: (),
}

/// Waits until no test of another module uses ministack, resetting it if the last user was
/// another module. Identifies the module by the calling test's file.
#[track_caller]
pub fn ministack_lease() -> MinistackLease {
    let module = std::panic::Location::caller().file();
    let url = Emulator::Ministack.url();
    let mut state = MINISTACK_USE.lock().unwrap_or_else(|e| e.into_inner());
    while state.module.is_some_and(|m| m != module) {
        state = MINISTACK_FREED
            .wait(state)
            .unwrap_or_else(|e| e.into_inner());
    }
    if state.module.is_none() && state.last != Some(module) {
        let (status, body) = http_request(&url, "POST", "/_ministack/reset", "");
        assert_eq!(status, 200, "ministack refused the reset: {body}");
    }
    state.module = Some(module);
    state.last = Some(module);
    state.holders += 1;
    MinistackLease { _private: () }
}

impl Drop for MinistackLease {
    fn drop(&mut self) {
        let mut state = MINISTACK_USE.lock().unwrap_or_else(|e| e.into_inner());
        state.holders -= 1;
        if state.holders == 0 {
            state.module = None;
            MINISTACK_FREED.notify_all();
        }
    }
}

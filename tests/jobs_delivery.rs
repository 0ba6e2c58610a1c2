//! Delivery at fire time (`deploy --deliver`): the message, the queue and `receive`, the
//! webhook's retry rules, cancelled jobs, a crash between firing and delivering, and the
//! delivering template under cfn-lint and statelint. Queue scenarios run on both targets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::harness::{
    Emulator, StackEnv, describe, repo_root, run_ok, unique_name, venv_bin, waitable_bare,
};
use crate::local::LocalEnv;

const GRACE: Duration = Duration::from_secs(25);
/// Moto's waits can end up to ~2 s early (as in tests/behaviour.rs); the local engine's never do.
const EARLY_TOLERANCE: chrono::Duration = chrono::Duration::seconds(2);

fn ok(env: &dyn StackEnv, args: &[&str]) -> String {
    String::from_utf8(run_ok(env.waitable().args(args)).stdout).unwrap()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// The job as `status --id` shows it, polled until `done`.
pub fn wait_job(env: &dyn StackEnv, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + GRACE;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        // Before the first state writes the row, `status --id` exits 1 ("no job ...").
        let out = env
            .waitable()
            .args(["status", "--id", id, "--output", "json"])
            .output()
            .unwrap();
        if out.status.success() {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            last = v[0].clone();
        }
        if done(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("job {id} did not get there in {GRACE:?}; last seen {last}");
}

fn is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |j| j["ProcessStatus"] == status
}

/// Every message `receive` hands out within `wait` seconds, as raw JSON texts.
pub fn receive_all(env: &dyn StackEnv, expected: usize, wait: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(wait);
    let mut got = Vec::new();
    while got.len() < expected && Instant::now() < deadline {
        let text = ok(
            env,
            &["receive", "--output", "json", "--max", "10", "--wait", "2"],
        );
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        for m in v.as_array().unwrap() {
            // Each message, as text, exactly as printed (bodies are printed as received).
            got.push(m.to_string());
        }
    }
    got
}

/// Queue scenario for both targets (the stack already delivers to its queue): the message is
/// exactly `{"Id","StartActionAt","FiredAt","Payload"}`, never early, the payload as sent;
/// the job ends COMPLETED with DeliveredAt; receive deletes what it printed.
pub fn queue_delivers_the_message_as_specified(env: &dyn StackEnv) {
    let with = unique_name("dq");
    let without = unique_name("dq-none");
    let payload = r#"{"to":"a@example.com","n":[1,{"x":null}]}"#;
    ok(
        env,
        &["submit", "--at", "+2s", "--id", &with, "--payload", payload],
    );
    ok(env, &["submit", "--at", "+2s", "--id", &without]);
    let done = wait_job(env, &with, is("COMPLETED"));
    assert!(done["DeliveredAt"].is_string(), "{done}");
    assert!(
        time(&done["DeliveredAt"]) >= time(&done["StartActionAt"]) - EARLY_TOLERANCE,
        "{done}"
    );
    wait_job(env, &without, is("COMPLETED"));

    let got = receive_all(env, 2, 20);
    assert_eq!(got.len(), 2, "{got:?}");
    let by_id = |id: &str| -> Value {
        got.iter()
            .map(|t| serde_json::from_str::<Value>(t).unwrap())
            .find(|m| m["Id"] == id)
            .unwrap_or_else(|| panic!("no message for {id}: {got:?}"))
    };
    let m = by_id(&with);
    let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Id", "StartActionAt", "FiredAt", "Payload"]);
    assert_eq!(
        m["Payload"],
        serde_json::from_str::<Value>(payload).unwrap()
    );
    assert_eq!(m["StartActionAt"], done["StartActionAt"]);
    assert!(
        time(&m["FiredAt"]) >= time(&m["StartActionAt"]) - EARLY_TOLERANCE,
        "fired early: {m}"
    );
    assert_eq!(by_id(&without)["Payload"], Value::Null);
    // Deleted once printed.
    let again = ok(env, &["receive", "--output", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&again).unwrap(),
        serde_json::json!([])
    );
}

/// A job cancelled before it fires is never delivered (both targets).
pub fn cancelled_job_is_never_delivered(env: &dyn StackEnv) {
    let cancelled = unique_name("dc");
    let control = unique_name("dc-ok");
    // Due far enough ahead that a loaded machine still cancels it before its time; the control
    // job is due just after it, so once the control completed the cancelled one's time passed.
    ok(env, &["submit", "--at", "+8s", "--id", &cancelled]);
    wait_job(env, &cancelled, is("STARTED"));
    ok(env, &["cancel", &cancelled]);
    ok(env, &["submit", "--at", "+9s", "--id", &control]);
    wait_job(env, &control, is("COMPLETED"));
    std::thread::sleep(Duration::from_secs(1));
    let got = receive_all(env, 1, 10);
    assert!(got.iter().all(|m| !m.contains(&cancelled)), "{got:?}");
    assert!(got.iter().any(|m| m.contains(&control)), "{got:?}");
    assert_eq!(
        wait_job(env, &cancelled, |_| true)["ProcessStatus"],
        "CANCELLED"
    );
}

/// A local stack that delivers to `flags`.
pub(crate) fn local_delivering(flags: &[&str]) -> LocalEnv {
    let env = LocalEnv::new();
    let mut args = vec!["deploy".to_string()];
    for f in flags {
        args.push(format!("--deliver={f}"));
    }
    run_ok(env.waitable().args(&args));
    env
}

#[test]
fn local_queue_delivers_the_message_as_specified() {
    queue_delivers_the_message_as_specified(&local_delivering(&["queue"]));
}

#[test]
fn local_cancelled_job_is_never_delivered() {
    cancelled_job_is_never_delivered(&local_delivering(&["queue"]));
}

#[test]
fn receive_without_a_queue_says_how_to_get_one() {
    let env = LocalEnv::new();
    let out = env.waitable().arg("receive").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--deliver queue"),
        "{}",
        describe(&out)
    );
}

#[test]
fn local_refuses_topic_and_bus_naming_the_alternative() {
    let env = LocalEnv::new();
    for flag in ["topic", "bus"] {
        let out = env
            .waitable()
            .args(["deploy", "--deliver", flag])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--deliver queue") && err.lines().count() == 1,
            "{err}"
        );
    }
}

/// A webhook receiver on 127.0.0.1 answering the scripted statuses in turn (then 200); it can
/// hold the first request without answering while `hold` is set.
struct Hook {
    url: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl Hook {
    fn start(script: Vec<u16>, hold_first: Option<Duration>) -> Hook {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let script = Arc::new(Mutex::new((script.into_iter(), hold_first)));
        std::thread::spawn(move || {
            for stream in l.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, script) = (seen.clone(), script.clone());
                std::thread::spawn(move || serve(stream, script, seen));
            }
        });
        Hook { url, requests }
    }

    fn bodies(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }
}

type Script = Arc<Mutex<(std::vec::IntoIter<u16>, Option<Duration>)>>;

/// One connection (keep-alive): each request gets the script's next status (200 once it is
/// spent); the very first request of the hook may be held unanswered.
fn serve(stream: TcpStream, script: Script, seen: Arc<Mutex<Vec<(String, String)>>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        seen.lock()
            .unwrap()
            .push((head, String::from_utf8(body).unwrap()));
        let (status, hold) = {
            let mut s = script.lock().unwrap();
            (s.0.next().unwrap_or(200), s.1.take())
        };
        if let Some(d) = hold {
            std::thread::sleep(d);
            return;
        }
        let _ = write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
    }
}

#[test]
fn webhook_answering_500_once_is_delivered_once_after_the_retry() {
    let hook = Hook::start(vec![500], None);
    let env = local_delivering(&[&format!("webhook={}", hook.url)]);
    let id = unique_name("dw");
    ok(
        &env,
        &[
            "submit",
            "--at",
            "+1s",
            "--id",
            &id,
            "--payload",
            r#"{"k":"v"}"#,
        ],
    );
    let done = wait_job(&env, &id, is("COMPLETED"));
    assert!(done["DeliveredAt"].is_string(), "{done}");
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "one 500, then one delivery: {bodies:?}");
    assert_eq!(bodies[0], bodies[1], "the retry sends the same message");
    let m: Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(m["Id"], id.as_str());
    assert_eq!(m["Payload"]["k"], "v");
    // The job's story shows the failed attempt with its error, then the delivery.
    let story: Value = serde_json::from_str(&ok(&env, &["show", &id, "--output", "json"])).unwrap();
    let events = story["timeline"].as_array().unwrap();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "TaskFailed")
        .collect();
    assert_eq!(failed.len(), 1, "{story}");
    assert_eq!(failed[0]["state"], "DeliverToWebhook", "{story}");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("States.Http."),
        "{story}"
    );
}

#[test]
fn webhook_answering_400_fails_the_job_with_the_reason_at_once() {
    let hook = Hook::start(vec![400, 400, 400], None);
    let env = local_delivering(&[&format!("webhook={}", hook.url)]);
    let id = unique_name("dw4");
    ok(&env, &["submit", "--at", "+1s", "--id", &id]);
    let done = wait_job(&env, &id, is("FAILED"));
    let error = done["Error"].as_str().unwrap();
    assert!(
        error.starts_with("DeliveryFailed: webhook: States.Http.StatusCode.400"),
        "{done}"
    );
    assert!(done.get("DeliveredAt").is_none(), "{done}");
    assert_eq!(hook.bodies().len(), 1, "a 400 is not retried");
}

#[test]
fn the_webhook_header_reaches_the_receiver_and_no_file_but_its_secret_one() {
    let hook = Hook::start(vec![], None);
    let env = local_delivering(&[]);
    let out = run_ok(env.waitable().args([
        "deploy",
        "--deliver",
        &format!("webhook={}", hook.url),
        "--webhook-header",
        "X-Api-Key=s3cret-value",
    ]));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret-value"));
    let id = unique_name("dh");
    ok(&env, &["submit", "--at", "+1s", "--id", &id]);
    wait_job(&env, &id, is("COMPLETED"));
    let head = hook.requests.lock().unwrap()[0].0.to_ascii_lowercase();
    assert!(head.contains("x-api-key: s3cret-value"), "{head}");
    assert!(
        head.contains(&format!("idempotency-key: {}", id.to_ascii_lowercase())),
        "{head}"
    );
    for entry in std::fs::read_dir(env.dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read(&path).unwrap_or_default();
        let holds = String::from_utf8_lossy(&text).contains("s3cret-value");
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(holds, name == "webhook-header.json", "{name}");
        #[cfg(unix)]
        if holds {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
    // Remembered: a deploy without --deliver keeps the webhook (and its header).
    run_ok(env.waitable().arg("deploy"));
    let again = unique_name("dh2");
    ok(&env, &["submit", "--at", "+1s", "--id", &again]);
    wait_job(&env, &again, is("COMPLETED"));
    assert_eq!(hook.bodies().len(), 2);
}

#[test]
fn a_crash_between_firing_and_delivering_still_delivers() {
    // The first POST is held unanswered while the engine is killed.
    let hook = Hook::start(vec![], Some(Duration::from_secs(30)));
    let mut env = local_delivering(&[&format!("webhook={}", hook.url)]);
    let id = unique_name("dk");
    ok(&env, &["submit", "--at", "+1s", "--id", &id]);
    let deadline = Instant::now() + GRACE;
    while hook.bodies().is_empty() {
        assert!(Instant::now() < deadline, "the webhook was never called");
        std::thread::sleep(Duration::from_millis(50));
    }
    env.kill_engine();
    env.start_engine();
    let done = wait_job(&env, &id, is("COMPLETED"));
    assert!(done["DeliveredAt"].is_string(), "{done}");
    let bodies = hook.bodies();
    assert!(
        bodies.len() >= 2 && bodies.iter().all(|b| b.contains(&id)),
        "{bodies:?}"
    );
}

/// `synth --deliver ...` for every target kind: cfn-lint finds nothing, statelint accepts the
/// definition (with the retry numbers filled in, as Fn::Sub would).
#[test]
fn delivering_templates_pass_cfn_lint_and_statelint() {
    let dir = tempfile::tempdir().unwrap();
    let all = [
        "--deliver=queue",
        "--deliver=topic",
        "--deliver=bus=orders",
        "--deliver=webhook=https://hooks.example.com/due",
    ];
    let mut args = vec!["synth", "--format", "json"];
    args.extend(all);
    let text = run_ok(waitable_bare().args(&args)).stdout;
    let path = dir.path().join("delivering.json");
    std::fs::write(&path, &text).unwrap();
    let out = Command::new(venv_bin("cfn-lint"))
        .current_dir(repo_root())
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint:\n{}",
        describe(&out)
    );

    let t: Value = serde_json::from_slice(&text).unwrap();
    let def = t["Resources"]["StateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"][0]
        .as_str()
        .unwrap()
        .replace("${DeliveryAttempts}", "5")
        .replace("${DeliveryMaxDelaySeconds}", "60");
    let asl = dir.path().join("delivering.asl.json");
    std::fs::write(&asl, def).unwrap();
    let out: Output = Command::new(venv_bin("statelint"))
        .arg(&asl)
        .output()
        .unwrap();
    assert!(out.status.success(), "statelint:\n{}", describe(&out));
}

/// A stack on the executing moto that delivers to `flags`, its state machine re-registered so
/// moto runs it (see tests/jobs.rs for why), with the delivering definition resolved as
/// `Fn::Sub` would.
pub(crate) fn aws_delivering(flags: &[&str]) -> (crate::jobs::AwsEnv, Vec<(String, String)>) {
    use crate::jobs::{runtime, sdk_config};
    let stack = unique_name("deliver");
    let mut args = vec![
        "--stack-name".to_string(),
        stack.clone(),
        "--output".into(),
        "json".into(),
        "deploy".into(),
        "--yes".into(),
    ];
    args.extend(flags.iter().map(|f| format!("--deliver={f}")));
    let out = run_ok(crate::harness::waitable_on(Emulator::MotoExecuting).args(&args));
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cfn = aws_sdk_cloudformation::Client::new(sdk_config());
    let resources = runtime().block_on(async {
        cfn.list_stack_resources()
            .stack_name(&stack)
            .send()
            .await
            .expect("list-stack-resources")
            .stack_resource_summaries()
            .iter()
            .filter_map(|r| {
                Some((
                    r.logical_resource_id()?.to_string(),
                    r.physical_resource_id()?.to_string(),
                ))
            })
            .collect::<Vec<_>>()
    });
    let physical = |logical: &str| {
        resources
            .iter()
            .find(|(l, _)| l == logical)
            .map(|(_, p)| p.clone())
    };
    let role_arn = format!(
        "arn:aws:iam::123456789012:role/{}",
        physical("StateMachineRole").unwrap()
    );
    let table = outputs["TableName"].as_str().unwrap().to_string();
    let arn = outputs["StateMachineArn"].as_str().unwrap().to_string();
    let d = waitable_core::delivery::Deliveries::parse(
        &flags.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
    )
    .unwrap()
    .unwrap();
    let mut vars: Vec<(String, String)> = vec![
        ("TableName".into(), table.clone()),
        ("AWS::Partition".into(), "aws".into()),
        ("AWS::StackName".into(), stack.clone()),
        ("DeliveryAttempts".into(), "2".into()),
        ("DeliveryMaxDelaySeconds".into(), "2".into()),
    ];
    if let Some(q) = physical("DeliveryQueue") {
        vars.push(("DeliveryQueueUrl".into(), q));
    }
    if let Some(t) = physical("DeliveryTopic") {
        vars.push(("DeliveryTopicArn".into(), t));
    }
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let definition = waitable_core::cfn_intrinsics::substitute(
        &waitable_core::state_machine::definition_text(&waitable_core::stack_spec::StackSpec {
            deliveries: d,
            ..Default::default()
        }),
        &pairs,
    );
    let sfn = aws_sdk_sfn::Client::new(sdk_config());
    runtime().block_on(async {
        let _ = sfn
            .delete_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await;
        let created = sfn
            .create_state_machine()
            .name(arn.rsplit(':').next().unwrap())
            .definition(definition)
            .role_arn(role_arn)
            .send()
            .await
            .expect("re-registering the state machine");
        assert_eq!(created.state_machine_arn(), arn);
    });
    let env = crate::jobs::AwsEnv {
        emulator: Emulator::MotoExecuting,
        _lease: None,
        stack,
        state_machine_arn: arn,
        table_name: table,
        sfn,
        ddb: aws_sdk_dynamodb::Client::new(sdk_config()),
    };
    (env, vars)
}

#[test]
fn aws_queue_delivers_the_message_as_specified() {
    queue_delivers_the_message_as_specified(&aws_delivering(&["queue"]).0);
}

#[test]
fn aws_cancelled_job_is_never_delivered() {
    cancelled_job_is_never_delivered(&aws_delivering(&["queue"]).0);
}

/// The `aws` CLI on the executing moto (where `aws_delivering` deploys).
fn aws_cli(args: &[&str]) -> Value {
    let mut cmd = Command::new(venv_bin("aws"));
    crate::harness::scrub(&mut cmd)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .args([
            "--endpoint-url",
            &Emulator::MotoExecuting.url(),
            "--output",
            "json",
        ])
        .args(args);
    let out = run_ok(&mut cmd);
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// A queue of the test's own to watch a topic or a bus with; returns (url, arn).
fn watch_queue() -> (String, String) {
    let url = aws_cli(&["sqs", "create-queue", "--queue-name", &unique_name("watch")])["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let arn = aws_cli(&[
        "sqs",
        "get-queue-attributes",
        "--queue-url",
        &url,
        "--attribute-names",
        "QueueArn",
    ])["Attributes"]["QueueArn"]
        .as_str()
        .unwrap()
        .to_string();
    (url, arn)
}

fn watched(url: &str) -> Vec<String> {
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        let got = aws_cli(&[
            "sqs",
            "receive-message",
            "--queue-url",
            url,
            "--max-number-of-messages",
            "10",
            "--wait-time-seconds",
            "1",
        ]);
        let bodies: Vec<String> = got["Messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["Body"].as_str().unwrap().to_string())
            .collect();
        if !bodies.is_empty() {
            return bodies;
        }
    }
    panic!("nothing arrived on {url}");
}

#[test]
fn aws_topic_publishes_the_message() {
    let (env, vars) = aws_delivering(&["topic"]);
    let topic = vars
        .iter()
        .find(|(k, _)| k == "DeliveryTopicArn")
        .map(|(_, v)| v.clone())
        .expect("the stack has a topic");
    let (url, arn) = watch_queue();
    aws_cli(&[
        "sns",
        "subscribe",
        "--topic-arn",
        &topic,
        "--protocol",
        "sqs",
        "--notification-endpoint",
        &arn,
        "--attributes",
        "RawMessageDelivery=true",
    ]);
    let id = unique_name("dt");
    ok(
        &env,
        &[
            "submit",
            "--at",
            "+1s",
            "--id",
            &id,
            "--payload",
            r#"{"to":"x"}"#,
        ],
    );
    wait_job(&env, &id, is("COMPLETED"));
    let m: Value = serde_json::from_str(&watched(&url)[0]).unwrap();
    assert_eq!(m["Id"], id.as_str());
    assert_eq!(m["Payload"]["to"], "x");
}

#[test]
fn aws_bus_puts_a_job_due_event() {
    let (env, _) = aws_delivering(&["bus"]);
    let (url, arn) = watch_queue();
    let rule = unique_name("due");
    let pattern = serde_json::json!({ "source": [format!("waitable.{}", env.stack)], "detail-type": ["Job Due"] }).to_string();
    aws_cli(&[
        "events",
        "put-rule",
        "--name",
        &rule,
        "--event-pattern",
        &pattern,
    ]);
    aws_cli(&[
        "events",
        "put-targets",
        "--rule",
        &rule,
        "--targets",
        &format!("Id=q,Arn={arn}"),
    ]);
    let id = unique_name("db");
    ok(&env, &["submit", "--at", "+1s", "--id", &id]);
    wait_job(&env, &id, is("COMPLETED"));
    let event: Value = serde_json::from_str(&watched(&url)[0]).unwrap();
    assert_eq!(event["detail-type"], "Job Due");
    assert_eq!(event["detail"]["Id"], id.as_str());
    assert_eq!(event["detail"]["Payload"], Value::Null);
}

/// `receive --output json` on SQS prints a body whose numbers no double holds as it was sent
/// (it was printed as a JSON string before).
#[test]
fn aws_receive_prints_numbers_no_double_holds_as_sent() {
    let (env, vars) = aws_delivering(&["queue"]);
    let queue = vars
        .iter()
        .find(|(k, _)| k == "DeliveryQueueUrl")
        .map(|(_, v)| v.clone())
        .unwrap();
    let body = r#"{"Id":"big-numbers","Payload":{"huge":1e400,"long":12345678901234567890123}}"#;
    aws_cli(&[
        "sqs",
        "send-message",
        "--queue-url",
        &queue,
        "--message-body",
        body,
    ]);
    let text = ok(&env, &["receive", "--output", "json", "--wait", "5"]);
    assert!(text.contains(body), "{text}");
    let again = ok(&env, &["receive", "--output", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&again).unwrap(),
        serde_json::json!([])
    );
}

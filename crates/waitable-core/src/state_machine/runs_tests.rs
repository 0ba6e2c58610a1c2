//! The generated state machine of every variant run on the States Language interpreter (the
//! local engine's): every path a job can take ends with its row out of STARTED, a cancelled
//! job is never delivered, and the number of state transitions a job costs.

use serde_json::{Value, json};

use waitable_asl::ddb::Op;
use waitable_asl::deliver_task::DeliverOp;
use waitable_asl::exec::{Clock, End, run_to_end};
use waitable_asl::model::{Kind, Place, WaitFor};
use waitable_asl::parse::parse_text;
use waitable_asl::run::iso_millis;
use waitable_asl::tables::MemoryTables;
use waitable_asl::{Cursor, ExecutionInfo, Fault, Machine, Tasks, Transition, step};

use crate::delivery::{Deliveries, Target};
use crate::job::{JobRequest, NO_PAYLOAD};
use crate::payload::Payload;
use crate::stack_spec::{StackSpec, variants};
use crate::state_machine::resolved_with;

const TABLE: &str = "jobs";
const T0: i64 = 1_800_000_000_000; // 2027-01-15, before the jobs below are due
const DUE: &str = "2027-06-01T00:00:00Z";

/// The jobs table, the messages sent, and faults to raise on chosen calls.
struct Stack {
    tables: MemoryTables,
    sent: Vec<(DeliverOp, Value)>,
    /// Faults for the next table writes, in order.
    table_faults: Vec<Fault>,
    /// Faults for the next sends to a target, in order.
    send_faults: Vec<(DeliverOp, Fault)>,
}

impl Stack {
    fn new() -> Stack {
        let mut tables = MemoryTables::default();
        tables.create(TABLE, "Id");
        Stack {
            tables,
            sent: vec![],
            table_faults: vec![],
            send_faults: vec![],
        }
    }

    /// The job's row as a JSON attribute map (null when there is none).
    fn row(&mut self, id: &str) -> Value {
        let get = json!({ "TableName": TABLE, "Key": { "Id": { "S": id } } });
        self.tables.call(&Op::GetItem, &get).unwrap()["Item"].clone()
    }

    fn set_status(&mut self, id: &str, status: &str) {
        let update = json!({
            "TableName": TABLE, "Key": { "Id": { "S": id } },
            "UpdateExpression": "SET ProcessStatus = :s",
            "ExpressionAttributeValues": { ":s": { "S": status } }
        });
        self.tables.call(&Op::UpdateItem, &update).unwrap();
    }
}

impl Tasks for Stack {
    fn call(&mut self, op: &Op, params: &Value) -> Result<Value, Fault> {
        if !self.table_faults.is_empty() {
            return Err(self.table_faults.remove(0));
        }
        self.tables.call(op, params)
    }

    fn deliver(&mut self, op: DeliverOp, params: &Value) -> Result<Value, Fault> {
        if let Some(i) = self.send_faults.iter().position(|(o, _)| *o == op) {
            return Err(self.send_faults.remove(i).1);
        }
        self.sent.push((op, params.clone()));
        Ok(json!({}))
    }
}

fn machine(spec: &StackSpec) -> Machine {
    let vars = [
        ("TableName", TABLE),
        ("AWS::Partition", "aws"),
        ("AWS::StackName", "s"),
        (crate::delivery::QUEUE_URL_VAR, "https://sqs.local/q"),
        (crate::delivery::TOPIC_ARN_VAR, "arn:aws:sns:local:1:t"),
        (
            crate::delivery::CONNECTION_ARN_VAR,
            "arn:aws:events:local:1:c",
        ),
    ];
    parse_text(&resolved_with(spec, &vars)).unwrap()
}

fn exec(input: &Value) -> ExecutionInfo {
    ExecutionInfo {
        name: "job-1".into(),
        arn: "arn:aws:states:local:000000000000:execution:sm:job-1".into(),
        input: input.clone(),
        start_ms: T0,
        state_machine_arn: "arn:aws:states:local:000000000000:stateMachine:sm".into(),
        state_machine_name: "sm".into(),
    }
}

/// The input the CLI and the API send for a job due at [`DUE`].
fn input(payload: Option<&str>) -> Value {
    JobRequest {
        id: "job-1".into(),
        at: DUE.into(),
        payload: payload.map(|p| Payload::parse(p).unwrap()),
    }
    .execution_input(90)
}

fn run(spec: &StackSpec, input: &Value, stack: &mut Stack) -> (End, Vec<String>) {
    let outcome = run_to_end(
        &machine(spec),
        &exec(input),
        Clock::Virtual,
        stack,
        &mut || 0.5,
    );
    (outcome.end, outcome.states_entered)
}

fn spec_of(targets: Vec<Target>) -> StackSpec {
    StackSpec::delivering(targets)
}

fn webhook() -> Target {
    Target::Webhook("https://h.example/x".into())
}

/// Steps from `cur` to the end, calling `before` ahead of every step (to change the table
/// behind the execution's back).
fn run_from(
    spec: &StackSpec,
    mut cur: Cursor,
    stack: &mut Stack,
    mut before: impl FnMut(&Cursor, &mut Stack),
) -> (Transition, Vec<String>) {
    let m = machine(spec);
    let info = exec(&cur.input);
    let mut now = T0;
    let mut visited = vec![cur.state.clone()];
    for _ in 0..200 {
        before(&cur, stack);
        match step(&m, &info, cur, now, stack, &mut || 1.0) {
            Transition::Next(c) => {
                visited.push(c.state.clone());
                cur = c;
            }
            Transition::Sleep { cursor, until_ms } => {
                now = until_ms;
                cur = cursor;
            }
            end => return (end, visited),
        }
    }
    panic!("did not finish");
}

// ---- What a job costs ------------------------------------------------------------------------

/// State transitions per job (Step Functions bills each state entered), one number per
/// variant users deploy, for a job with a payload and for one without. The README's cost table
/// quotes these numbers.
#[test]
fn transitions_per_job_for_each_variant() {
    let queue_and_webhook = spec_of(vec![Target::Queue, webhook()]);
    let mut cases: Vec<(String, StackSpec, usize)> = variants()
        .into_iter()
        .map(|v| {
            let expected = match v.name {
                "waitable" => 4,
                "waitable-queue" | "waitable-webhook" => 6,
                "waitable-all-targets" => 9,
                other => panic!("no count for {other}"),
            };
            (v.name.to_string(), v.spec, expected)
        })
        .collect();
    cases.push(("queue and webhook".into(), queue_and_webhook, 7));
    for (name, spec, expected) in cases {
        for payload in [None, Some(r#"{"k":1}"#)] {
            let mut stack = Stack::new();
            let (end, entered) = run(&spec, &input(payload), &mut stack);
            assert!(matches!(end, End::Succeeded(_)), "{name}: {end:?}");
            assert_eq!(entered.len(), expected, "{name} ({payload:?}): {entered:?}");
            assert_eq!(stack.sent.len(), spec.deliveries.targets.len(), "{name}");
        }
    }
}

// ---- No delivery -----------------------------------------------------------------------------

#[test]
fn a_job_completes_and_records_when_it_fired() {
    let mut stack = Stack::new();
    let (end, visited) = run(&StackSpec::default(), &input(None), &mut stack);
    assert!(matches!(end, End::Succeeded(_)), "{end:?}");
    assert_eq!(
        visited,
        [
            "ValidateInput",
            "SetInitialStatus",
            "WaitUntil",
            "SetFinalStatus"
        ]
    );
    let due = chrono::DateTime::parse_from_rfc3339(DUE)
        .unwrap()
        .timestamp_millis();
    let rec = stack.row("job-1");
    assert_eq!(rec["ProcessStatus"], json!({"S": "COMPLETED"}));
    assert_eq!(rec["StartActionAt"], json!({"S": DUE}));
    assert_eq!(rec["LastUpdated"], json!({"S": iso_millis(due)}));
    assert_eq!(rec["FiredAt"], json!({"S": iso_millis(due)}));
    assert!(rec.get("Payload").is_none(), "{rec}");
    assert_eq!(rec["ExpiresAt"]["N"], input(None)["ExpiresAt"]);
}

#[test]
fn a_payload_given_as_text_is_stored_and_none_is_not() {
    let mut stack = Stack::new();
    let (_, visited) = run(
        &StackSpec::default(),
        &input(Some(r#"{"k":[1]}"#)),
        &mut stack,
    );
    assert_eq!(visited[1], "SetInitialStatusWithPayload");
    assert_eq!(stack.row("job-1")["Payload"], json!({"S": "{\"k\":[1]}"}));
    assert_eq!(input(None)["Payload"], NO_PAYLOAD);
}

#[test]
fn a_bad_timestamp_is_rejected_visibly() {
    for input in [
        json!({"Payload": "null", "ExpiresAt": "1"}),
        json!({"StartTimestamp": "soon"}),
        json!({"StartTimestamp": 5}),
    ] {
        let mut stack = Stack::new();
        let (end, visited) = run(&StackSpec::default(), &input, &mut stack);
        // A rejected text is kept as StartActionAt (the status index needs one).
        let expected: &[&str] = match &input["StartTimestamp"] {
            Value::Null => &["ValidateInput", "RejectInput", "InvalidInput"],
            Value::String(_) => &[
                "ValidateInput",
                "ChooseRejectRecord",
                "RejectInputKeepingTime",
                "InvalidInput",
            ],
            _ => &[
                "ValidateInput",
                "ChooseRejectRecord",
                "RejectInput",
                "InvalidInput",
            ],
        };
        assert_eq!(visited, expected, "{input}");
        assert!(
            matches!(end, End::Failed { ref error, .. } if error == "InvalidStartTimestamp"),
            "{end:?}"
        );
        let rec = stack.row("job-1");
        assert_eq!(rec["ProcessStatus"], json!({"S": "FAILED"}));
        assert_eq!(rec["Error"], json!({"S": "InvalidStartTimestamp"}));
        let kept = input["StartTimestamp"]
            .as_str()
            .map_or(Value::Null, |t| json!({ "S": t }));
        assert_eq!(rec["StartActionAt"], kept, "{input}");
    }
}

/// An input started by hand without `Payload` or `ExpiresAt` (or with them of the wrong type)
/// is recorded FAILED at once, on every variant: never STARTED, never delivered.
#[test]
fn an_input_without_payload_or_expiry_is_refused_visibly() {
    for v in variants() {
        for input in [
            json!({"StartTimestamp": DUE}),
            json!({"StartTimestamp": DUE, "Payload": "null"}),
            json!({"StartTimestamp": DUE, "ExpiresAt": "1"}),
            json!({"StartTimestamp": DUE, "ExpiresAt": 1, "Payload": "null"}),
            json!({"StartTimestamp": DUE, "ExpiresAt": "1", "Payload": {"k": 1}}),
        ] {
            let mut stack = Stack::new();
            let (end, visited) = run(&v.spec, &input, &mut stack);
            assert_eq!(
                visited,
                [
                    "ValidateInput",
                    "RejectExecutionInput",
                    "InvalidExecutionInput"
                ],
                "{}: {input}",
                v.name
            );
            assert!(
                matches!(end, End::Failed { ref error, .. } if error == "InvalidExecutionInput")
            );
            let rec = stack.row("job-1");
            assert_eq!(rec["ProcessStatus"], json!({"S": "FAILED"}));
            assert_eq!(rec["StartActionAt"], json!({"S": DUE}));
            assert!(stack.sent.is_empty());
        }
    }
}

#[test]
fn a_start_flagged_too_far_ahead_is_recorded_failed_with_its_expiry() {
    let mut too_far = input(None);
    too_far["TooFarAhead"] = json!(true);
    let mut stack = Stack::new();
    let (end, visited) = run(&StackSpec::default(), &too_far, &mut stack);
    assert_eq!(
        visited,
        ["ValidateInput", "RecordTooFarAhead", "TooFarAhead"]
    );
    assert!(matches!(end, End::Failed { ref error, .. } if error == "StartTimestampTooFarAhead"));
    let rec = stack.row("job-1");
    assert_eq!(rec["Error"], json!({"S": "StartTimestampTooFarAhead"}));
    assert_eq!(rec["ExpiresAt"]["N"], too_far["ExpiresAt"]);
}

#[test]
fn the_job_is_marked_failed_when_the_final_write_fails() {
    let mut stack = Stack::new();
    let spec = StackSpec::default();
    let cur = Cursor::enter("ValidateInput", input(None), T0);
    let mut tries = 0;
    let (end, _) = run_from(&spec, cur, &mut stack, |cur, stack| {
        if cur.state != "SetFinalStatus" {
            return;
        }
        tries += 1;
        // The final write fails for good (5 retries + 1), then MarkFailed records the error.
        if tries == 1 {
            stack.table_faults =
                vec![Fault::task("DynamoDB.InternalServerErrorException", "oops"); 6];
        }
    });
    assert!(
        matches!(end, Transition::Failed { ref error, .. } if error == "JobFailed"),
        "{end:?}"
    );
    assert_eq!(tries, 6);
    let rec = stack.row("job-1");
    assert_eq!(rec["ProcessStatus"], json!({"S": "FAILED"}));
    assert_eq!(
        rec["Error"],
        json!({"S": "DynamoDB.InternalServerErrorException"})
    );
}

/// Cancelled during the Wait (on every variant): the row stays CANCELLED and nothing is sent.
#[test]
fn a_job_cancelled_before_it_fires_stays_cancelled_and_is_never_delivered() {
    for v in variants() {
        let mut stack = Stack::new();
        let cur = Cursor::enter("ValidateInput", input(Some("{}")), T0);
        let (_, visited) = run_from(&v.spec, cur, &mut stack, |cur, stack| {
            if cur.state == "WaitUntil" && cur.waited {
                stack.set_status("job-1", "CANCELLED");
            }
        });
        assert_eq!(
            stack.row("job-1")["ProcessStatus"],
            json!({"S": "CANCELLED"}),
            "{}: {visited:?}",
            v.name
        );
        assert!(stack.sent.is_empty(), "{}", v.name);
        assert!(stack.row("job-1").get("FiredAt").is_none(), "{}", v.name);
    }
}

// ---- Delivery --------------------------------------------------------------------------------

#[test]
fn a_delivered_job_records_when_it_fired_and_every_target_that_took_it() {
    let spec = spec_of(vec![Target::Queue, webhook()]);
    let mut stack = Stack::new();
    let (end, visited) = run(&spec, &input(None), &mut stack);
    assert!(matches!(end, End::Succeeded(_)), "{end:?}");
    assert_eq!(
        visited,
        [
            "ValidateInput",
            "SetInitialStatus",
            "WaitUntil",
            "FireJob",
            "DeliverToQueue",
            "DeliverToWebhook",
            "RecordDelivered"
        ]
    );
    let rec = stack.row("job-1");
    assert_eq!(rec["ProcessStatus"], json!({"S": "COMPLETED"}));
    assert_eq!(rec["DeliveredTo"], json!({"S": "queue,webhook"}));
    assert!(rec["FiredAt"]["S"].is_string() && rec["DeliveredAt"]["S"].is_string());
    // A job without a payload is delivered with "Payload":null.
    let body: Value =
        serde_json::from_str(stack.sent[0].1["MessageBody"].as_str().unwrap()).unwrap();
    assert_eq!(body["Payload"], Value::Null);
    assert_eq!(body["FiredAt"], rec["FiredAt"]["S"]);
}

/// The webhook refuses after the queue took the message: the row says the queue got it and
/// the webhook failed, so nobody re-sends to the queue thinking nothing arrived.
#[test]
fn a_partial_delivery_records_which_targets_took_the_message() {
    let spec = spec_of(vec![Target::Queue, Target::Topic, webhook()]);
    let mut stack = Stack::new();
    stack.send_faults = vec![(
        DeliverOp::HttpInvoke,
        Fault::task("States.Http.StatusCode.400", "bad request"),
    )];
    let (end, visited) = run(&spec, &input(Some("{}")), &mut stack);
    assert!(matches!(end, End::Failed { ref error, .. } if error == "JobFailed"));
    assert!(visited.contains(&"DeliveryFailedAtWebhook".to_string()));
    let rec = stack.row("job-1");
    assert_eq!(rec["ProcessStatus"], json!({"S": "FAILED"}));
    assert_eq!(rec["DeliveredTo"], json!({"S": "queue,topic"}));
    assert_eq!(
        rec["Error"],
        json!({"S": "DeliveryFailed: webhook: States.Http.StatusCode.400: bad request"})
    );
    assert_eq!(stack.sent.len(), 2);
    // Failing at the first target: nothing took it.
    let mut stack = Stack::new();
    stack.send_faults = vec![(DeliverOp::SqsSendMessage, Fault::task("SQS.X", "no")); 6];
    run(&spec, &input(None), &mut stack);
    let rec = stack.row("job-1");
    assert_eq!(rec["DeliveredTo"], json!({"S": ""}));
    assert_eq!(
        rec["Error"],
        json!({"S": "DeliveryFailed: queue: SQS.X: no"})
    );
}

/// A caught error without a Cause still records the job FAILED (a path to a missing Cause
/// would fail the execution uncatchably).
#[test]
fn a_delivery_failure_without_a_cause_is_recorded() {
    let spec = spec_of(vec![Target::Queue]);
    let mut stack = Stack::new();
    run(&spec, &input(None), &mut stack);
    stack.set_status("job-1", "STARTED");
    let mut data = input(None);
    data["Failure"] = json!({ "Error": "States.Timeout" });
    let cur = Cursor::enter("DeliveryFailedAtQueue", data, T0);
    let (end, visited) = run_from(&spec, cur, &mut stack, |_, _| {});
    assert!(
        matches!(end, Transition::Failed { ref error, .. } if error == "JobFailed"),
        "{end:?}"
    );
    assert_eq!(
        visited,
        [
            "DeliveryFailedAtQueue",
            "CheckFailureCause",
            "MarkDeliveryFailedWithoutCause",
            "JobFailed"
        ]
    );
    assert_eq!(
        stack.row("job-1")["Error"],
        json!({"S": "DeliveryFailed: queue: States.Timeout"})
    );
}

#[test]
fn the_generated_definition_is_accepted() {
    let m = machine(&StackSpec::default());
    assert_eq!(m.start_at, "ValidateInput");
    assert!(matches!(
        m.states["WaitUntil"].kind,
        Kind::Wait(WaitFor::TimestampPath(_))
    ));
    assert_eq!(m.states["SetFinalStatus"].catch.len(), 1);
    assert_eq!(m.states["SetFinalStatus"].retry[0].max_attempts, 5);
    assert_eq!(m.states["SetInitialStatus"].result_path, Place::Discard);
    let all = machine(&spec_of(
        Deliveries::parse(&["queue".into(), "topic".into(), "bus".into()])
            .unwrap()
            .unwrap()
            .targets,
    ));
    assert_eq!(all.states["DeliverToQueue"].retry[0].max_attempts, 5);
}

// ---- A job's later runs (`crate::runs`) -------------------------------------------------------

fn record_of(stack: &mut Stack) -> crate::job::JobRecord {
    let row = stack.row("job-1");
    crate::record::record_from_item(row.as_object().unwrap()).unwrap()
}

/// Run 1 to its end, then the job's row moved to `status`.
fn finished_job(spec: &StackSpec, status: &str) -> Stack {
    let mut stack = Stack::new();
    run(spec, &input(Some(r#"{"k":1}"#)), &mut stack);
    stack.set_status("job-1", status);
    stack
}

#[test]
fn a_retry_moves_the_row_to_its_run_and_costs_one_choice_more() {
    for v in variants() {
        let mut stack = finished_job(&v.spec, "FAILED");
        let job = record_of(&mut stack);
        let retry = crate::runs::run_input(&job, 2, crate::runs::RunKind::Retry, DUE, 90);
        let (end, entered) = run(&v.spec, &retry, &mut stack);
        assert!(matches!(end, End::Succeeded(_)), "{}: {end:?}", v.name);
        // ValidateInput, ChooseRun, StartRetry instead of ValidateInput, SetInitialStatus.
        assert_eq!(
            entered[..3],
            ["ValidateInput", "ChooseRun", "StartRetry"],
            "{}",
            v.name
        );
        let row = stack.row("job-1");
        assert_eq!(row["Run"], json!({ "N": "2" }), "{}", v.name);
        assert_eq!(row["ProcessStatus"]["S"], "COMPLETED", "{}", v.name);
        assert_eq!(row["Payload"]["S"], r#"{"k":1}"#, "{}", v.name);
        assert!(row.get("Error").is_none(), "{}", v.name);
        // The message names the job, not the run's execution.
        for (_, params) in &stack.sent {
            assert!(params.to_string().contains("job-1"), "{params}");
        }
    }
}

#[test]
fn a_run_whose_row_is_not_where_it_expects_is_refused_and_changes_nothing() {
    let spec = StackSpec::default();
    for (status, kind) in [
        ("COMPLETED", crate::runs::RunKind::Retry),
        ("COMPLETED", crate::runs::RunKind::Reschedule),
    ] {
        let mut stack = finished_job(&spec, status);
        let before = stack.row("job-1");
        let job = record_of(&mut stack);
        let later = crate::runs::run_input(&job, 2, kind, DUE, 90);
        let (end, entered) = run(&spec, &later, &mut stack);
        assert!(
            matches!(&end, End::Failed { error, .. } if error == crate::runs::ERROR_RUN_REFUSED),
            "{end:?}"
        );
        assert_eq!(entered.last().unwrap(), "RunRefused");
        assert_eq!(stack.row("job-1"), before);
    }
    // A stale run (the row moved on to run 3 meanwhile) is refused too.
    let mut stack = finished_job(&spec, "FAILED");
    let job = record_of(&mut stack);
    let update = json!({
        "TableName": TABLE, "Key": { "Id": { "S": "job-1" } },
        "UpdateExpression": "SET #r = :r", "ExpressionAttributeNames": { "#r": "Run" },
        "ExpressionAttributeValues": { ":r": { "N": "3" } }
    });
    stack.tables.call(&Op::UpdateItem, &update).unwrap();
    let stale = crate::runs::run_input(&job, 2, crate::runs::RunKind::Retry, DUE, 90);
    let (end, _) = run(&spec, &stale, &mut stack);
    assert!(matches!(end, End::Failed { .. }), "{end:?}");
    assert_eq!(stack.row("job-1")["Run"], json!({ "N": "3" }));
}

#[test]
fn an_old_run_cannot_fire_once_its_job_moved_to_a_later_run() {
    for v in variants() {
        let mut stack = Stack::new();
        let first = input(None);
        let cur = Cursor::enter("ValidateInput", first, T0);
        // The job moves to run 2 while run 1 waits (a reschedule's first write).
        let (_, visited) = run_from(&v.spec, cur, &mut stack, |c, stack| {
            if c.state == "WaitUntil" && stack.row("job-1").get("Run").is_none() {
                let job = record_of(stack);
                let later = crate::runs::run_input(
                    &job,
                    2,
                    crate::runs::RunKind::Reschedule,
                    "2027-07-01T00:00:00Z",
                    90,
                );
                let m = machine(&v.spec);
                let mut cur = Cursor::enter("ValidateInput", later.clone(), T0);
                while cur.state != "WaitUntil" {
                    match step(&m, &exec(&later), cur, T0, stack, &mut || 1.0) {
                        Transition::Next(c) => cur = c,
                        other => panic!("{other:?}"),
                    }
                }
            }
        });
        let row = stack.row("job-1");
        assert_eq!(
            row["ProcessStatus"]["S"], "STARTED",
            "{}: {visited:?}",
            v.name
        );
        assert!(row.get("FiredAt").is_none(), "{}: {row}", v.name);
        assert_eq!(row["StartActionAt"]["S"], "2027-07-01T00:00:00Z");
        assert!(stack.sent.is_empty(), "{}", v.name);
    }
}

//! A state machine definition as the interpreter runs it: checked and typed once, at deploy
//! time, by [`super::parse`]; anything the local engine cannot run is refused there.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use super::choice::Rule;
use super::path::Path;

/// Why a definition cannot run locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The state at fault, or None for the top level.
    pub state: Option<String>,
    pub feature: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(s) => write!(f, "state {s:?}: {}", self.feature),
            None => write!(f, "{}", self.feature),
        }
    }
}

/// `InputPath`/`OutputPath`: absent means `$`, null means "an empty object".
#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    All,
    Nothing,
    At(Path),
}

/// `ResultPath`: absent means `$` (the result replaces the input), null means "discard".
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    Discard,
    At(Path),
}

pub use crate::ddb::Op as DynamoOp;

#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    Seconds(u64),
    Timestamp(String),
    SecondsPath(Path),
    TimestampPath(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub errors: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    pub errors: Vec<String>,
    pub result_path: Place,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task {
        op: DynamoOp,
    },
    /// A delivery task (queue, topic, bus, webhook): see `deliver_task`.
    Deliver {
        op: DeliverOp,
    },
    Wait(WaitFor),
    Choice {
        /// (rule, next) in order.
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    Succeed,
    Fail {
        error: Option<String>,
        cause: Option<String>,
        error_path: Option<Path>,
        cause_path: Option<Path>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub kind: Kind,
    pub input_path: Select,
    pub output_path: Select,
    pub result_path: Place,
    pub parameters: Option<Value>,
    pub result_selector: Option<Value>,
    /// None for End (and for Choice, Succeed and Fail).
    pub next: Option<String>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub start_at: String,
    pub states: HashMap<String, State>,
}

/// A delivery task resource (checked in `deliver_task`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverOp {
    SqsSendMessage,
    SnsPublish,
    EventsPutEvents,
    HttpInvoke,
}

impl DeliverOp {
    /// The op of `arn:<partition>:states:::<service>:<action>`, if it is a delivery one.
    pub fn of(resource: &str) -> Option<DeliverOp> {
        let parts: Vec<&str> = resource.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "states", "", "", rest] => match *rest {
                "sqs:sendMessage" => Some(DeliverOp::SqsSendMessage),
                "sns:publish" => Some(DeliverOp::SnsPublish),
                "events:putEvents" => Some(DeliverOp::EventsPutEvents),
                "http:invoke" => Some(DeliverOp::HttpInvoke),
                _ => None,
            },
            _ => None,
        }
    }
}

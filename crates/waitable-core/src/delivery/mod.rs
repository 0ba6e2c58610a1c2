//! Delivery at fire time: where a job goes when its time comes (`deploy --deliver TARGET`).
//!
//! Pure: the targets and their flags ([`Deliveries::parse`]), the one message shape
//! ([`message`]), the states that deliver ([`states`]) and the resources and permissions they
//! need ([`resources`]). The template and state machine builders call into this module in
//! their one pass; both targets run what it generates.

pub mod local;
pub mod message;
pub mod received;
pub mod resources;
pub mod webhook_probe;

use serde_json::{Value, json};

/// Logical IDs, parameters and outputs of the delivery resources.
pub const DELIVERY_QUEUE: &str = "DeliveryQueue";
pub const DELIVERY_DEAD_LETTER_QUEUE: &str = "DeliveryDeadLetterQueue";
pub const DELIVERY_TOPIC: &str = "DeliveryTopic";
pub const WEBHOOK_CONNECTION: &str = "WebhookConnection";
pub const DELIVERY_POLICY: &str = "DeliveryPolicy";
pub const PARAM_ATTEMPTS: &str = "DeliveryAttempts";
pub const PARAM_MAX_DELAY: &str = "DeliveryMaxDelaySeconds";
pub const PARAM_HEADER_NAME: &str = "WebhookHeaderName";
pub const PARAM_HEADER_VALUE: &str = "WebhookHeaderValue";
pub const OUTPUT_QUEUE_URL: &str = "QueueUrl";
pub const OUTPUT_TOPIC_ARN: &str = "TopicArn";
/// `Fn::Sub` variables in the state machine definition.
pub const QUEUE_URL_VAR: &str = "DeliveryQueueUrl";
pub const TOPIC_ARN_VAR: &str = "DeliveryTopicArn";
pub const CONNECTION_ARN_VAR: &str = "WebhookConnectionArn";

/// Where the template remembers the targets, so a later deploy without `--deliver` keeps them.
pub const METADATA_KEY: &str = "Waitable";
const METADATA_DELIVER: &str = "Deliver";

/// Source and detail-type of the events put on a bus.
pub const EVENT_DETAIL_TYPE: &str = "Job Due";
pub const DEFAULT_BUS: &str = "default";
/// The header name the webhook's connection sends when `--webhook-header` was never given.
pub const DEFAULT_HEADER_NAME: &str = "X-Waitable-Stack";

/// Why `--deliver` or `--webhook-header` was refused (or a stack's remembered targets could
/// not be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("--deliver none cannot be combined with other targets")]
    NoneCombined,
    #[error("--deliver {kind} is given twice")]
    Twice { kind: &'static str },
    #[error(
        "--deliver {flag:?} is not a target: use queue, topic, bus[=NAME], webhook=URL or none"
    )]
    NotATarget { flag: String },
    #[error("--deliver webhook needs a URL: --deliver webhook=https://example.com/hook")]
    WebhookWithoutUrl,
    #[error("--deliver bus={name:?}: a bus name is 1 to 256 letters, digits, '.', '_', '-' or '/'")]
    BusName { name: String },
    #[error(
        "--deliver webhook={url:?}: the URL must start with https:// (or http:// on the local target) and name a host"
    )]
    UrlHost { url: String },
    #[error(
        "--deliver webhook={url:?}: the URL must be at most 2048 characters, without spaces or \"${{\""
    )]
    UrlText { url: String },
    #[error(
        "--deliver webhook: the URL for {host} carries a user name or password: give the credentials with --webhook-header (e.g. --webhook-header Authorization='Basic ...'), not in the URL"
    )]
    UrlUserInfo { host: String },
    #[error("--deliver webhook={url}: the aws target calls webhooks over https only")]
    NotHttps { url: String },
    #[error("--webhook-header is NAME=VALUE, e.g. --webhook-header Authorization='Bearer abc'")]
    HeaderSyntax,
    #[error("--webhook-header: {name:?} is not an HTTP header name")]
    HeaderName { name: String },
    #[error(
        "--webhook-header {name}: the value must be 1 to 512 characters without control characters"
    )]
    HeaderValue { name: String },
    #[error("--webhook-header needs a webhook: add --deliver webhook=URL")]
    HeaderWithoutWebhook,
}

/// One place a fired job is delivered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The stack's own SQS queue (with its dead-letter queue).
    Queue,
    /// The stack's own SNS topic.
    Topic,
    /// EventBridge PutEvents on this bus (`default` or a name).
    Bus(String),
    /// An HTTP POST of the message to this URL.
    Webhook(String),
}

impl Target {
    /// The flag text that gives this target (`queue`, `bus=orders`, `webhook=https://...`).
    pub fn flag(&self) -> String {
        match self {
            Target::Queue => "queue".into(),
            Target::Topic => "topic".into(),
            Target::Bus(name) if name == DEFAULT_BUS => "bus".into(),
            Target::Bus(name) => format!("bus={name}"),
            Target::Webhook(url) => format!("webhook={url}"),
        }
    }

    fn parse(flag: &str) -> Result<Target, DeliveryError> {
        let (kind, value) = match flag.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (flag, None),
        };
        match (kind, value) {
            ("queue", None) => Ok(Target::Queue),
            ("topic", None) => Ok(Target::Topic),
            ("bus", None) => Ok(Target::Bus(DEFAULT_BUS.into())),
            ("bus", Some(name)) => check_bus_name(name).map(|()| Target::Bus(name.into())),
            ("webhook", Some(url)) => check_url(url).map(|()| Target::Webhook(url.into())),
            ("webhook", None) => Err(DeliveryError::WebhookWithoutUrl),
            _ => Err(DeliveryError::NotATarget { flag: flag.into() }),
        }
    }

    /// The kind alone, for messages and ordering.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Queue => "queue",
            Target::Topic => "topic",
            Target::Bus(_) => "bus",
            Target::Webhook(_) => "webhook",
        }
    }
}

/// The delivery targets of a stack, in the order the state machine delivers to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deliveries {
    pub targets: Vec<Target>,
}

impl Deliveries {
    /// `--deliver` flags: `None` when none was given (keep what the stack has), `none` alone
    /// removes every target. Each kind at most once.
    pub fn parse(flags: &[String]) -> Result<Option<Deliveries>, DeliveryError> {
        if flags.is_empty() {
            return Ok(None);
        }
        if flags.iter().any(|f| f == "none") {
            if flags.len() > 1 {
                return Err(DeliveryError::NoneCombined);
            }
            return Ok(Some(Deliveries::default()));
        }
        let mut targets: Vec<Target> = Vec::new();
        for flag in flags {
            let t = Target::parse(flag)?;
            if targets.iter().any(|o| o.kind() == t.kind()) {
                return Err(DeliveryError::Twice { kind: t.kind() });
            }
            targets.push(t);
        }
        targets.sort_by_key(|t| {
            ["queue", "topic", "bus", "webhook"]
                .iter()
                .position(|k| *k == t.kind())
        });
        Ok(Some(Deliveries { targets }))
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    pub fn has(&self, kind: &str) -> bool {
        self.targets.iter().any(|t| t.kind() == kind)
    }

    pub fn webhook(&self) -> Option<&str> {
        self.targets.iter().find_map(|t| match t {
            Target::Webhook(url) => Some(url.as_str()),
            _ => None,
        })
    }

    pub fn bus(&self) -> Option<&str> {
        self.targets.iter().find_map(|t| match t {
            Target::Bus(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The template's `Metadata` section that remembers these targets.
    pub fn metadata(&self) -> Value {
        let flags: Vec<String> = self.targets.iter().map(Target::flag).collect();
        json!({ METADATA_KEY: { METADATA_DELIVER: flags } })
    }

    /// The targets a deployed template remembers (none when it has no such metadata).
    pub fn from_template(template: &Value) -> Result<Deliveries, DeliveryError> {
        let flags: Vec<String> = template["Metadata"][METADATA_KEY][METADATA_DELIVER]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Deliveries::parse(&flags)?.unwrap_or_default())
    }
}

/// `--webhook-header NAME=VALUE`: the header the webhook's connection sends. The value is a
/// secret: it travels only as a NoEcho parameter into the connection's secret.
pub fn parse_header(flag: &str) -> Result<(String, String), DeliveryError> {
    let Some((name, value)) = flag.split_once('=') else {
        return Err(DeliveryError::HeaderSyntax);
    };
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || name.len() > 512 || !name.chars().all(token) {
        return Err(DeliveryError::HeaderName { name: name.into() });
    }
    if value.is_empty() || value.len() > 512 || value.chars().any(|c| c.is_control()) {
        return Err(DeliveryError::HeaderValue { name: name.into() });
    }
    Ok((name.to_string(), value.to_string()))
}

/// An EventBridge bus name (its documented pattern), never a wildcard.
fn check_bus_name(name: &str) -> Result<(), DeliveryError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DeliveryError::BusName { name: name.into() })
    }
}

/// A webhook URL: http(s), a host, nothing that could break out of the template or the
/// definition (`${` would be read by `Fn::Sub`).
fn check_url(url: &str) -> Result<(), DeliveryError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty()
    });
    if !host_ok {
        return Err(DeliveryError::UrlHost { url: url.into() });
    }
    // User info (`https://user:pw@host/`) would keep a secret in the template and the
    // definition, in plain text: the secret is not repeated here either.
    if let Some(r) = rest
        && let Some((_, host)) = r
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .rsplit_once('@')
    {
        return Err(DeliveryError::UrlUserInfo { host: host.into() });
    }
    if url.len() > 2048
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
        || url.contains("${")
    {
        return Err(DeliveryError::UrlText { url: url.into() });
    }
    Ok(())
}

/// True for an `https://` URL (what the aws target's HTTP Task accepts).
pub fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

/// The rule a target holds delivery targets to, for `deploy` and `synth` alike: on the aws
/// target a webhook must be https (the HTTP Task's rule); the local target also calls http.
pub fn check_for_target(d: &Deliveries, aws: bool) -> Result<(), DeliveryError> {
    if aws
        && let Some(url) = d.webhook()
        && !is_https(url)
    {
        return Err(DeliveryError::NotHttps { url: url.into() });
    }
    Ok(())
}

/// What a deploy delivers to: the parsed `--deliver` flags, else what the stack has now. On
/// the aws target a webhook must be https (the HTTP Task's rule). `header` is the parsed
/// `--webhook-header`, which needs a webhook; it becomes the connection's two parameters.
pub fn for_deploy(
    chosen: Option<Deliveries>,
    header: Option<(String, String)>,
    remembered: impl FnOnce() -> Deliveries,
    aws: bool,
) -> Result<(Deliveries, Vec<(String, String)>), DeliveryError> {
    let d = chosen.unwrap_or_else(remembered);
    check_for_target(&d, aws)?;
    let mut parameters = Vec::new();
    if let Some((name, value)) = header {
        if d.webhook().is_none() {
            return Err(DeliveryError::HeaderWithoutWebhook);
        }
        parameters.push((PARAM_HEADER_NAME.to_string(), name));
        parameters.push((PARAM_HEADER_VALUE.to_string(), value));
    }
    Ok((d, parameters))
}

/// The queue URL the local target gives a stack's delivery queue (the engine checks a send
/// names it).
pub fn local_queue_url(stack: &str) -> String {
    format!("http://127.0.0.1/local-queue/{stack}")
}

/// The ARN the local target gives a stack's webhook connection.
pub fn local_connection_arn(stack: &str) -> String {
    format!("arn:aws:events:local:000000000000:connection/{stack}-webhook")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(flags: &[&str]) -> Result<Option<Deliveries>, DeliveryError> {
        Deliveries::parse(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn targets_parse_and_keep_a_fixed_order() {
        assert_eq!(p(&[]).unwrap(), None);
        assert_eq!(p(&["none"]).unwrap(), Some(Deliveries::default()));
        let d = p(&[
            "webhook=https://h.example/x?a=1",
            "bus=orders",
            "queue",
            "topic",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            d.targets,
            [
                Target::Queue,
                Target::Topic,
                Target::Bus("orders".into()),
                Target::Webhook("https://h.example/x?a=1".into())
            ]
        );
        assert_eq!(p(&["bus"]).unwrap().unwrap().bus(), Some("default"));
        assert_eq!(d.webhook(), Some("https://h.example/x?a=1"));
    }

    #[test]
    fn bad_targets_are_refused_with_the_reason() {
        for (flags, needle) in [
            (vec!["none", "queue"], "cannot be combined"),
            (vec!["queue", "queue"], "twice"),
            (
                vec!["webhook=https://a.example", "webhook=https://b.example"],
                "twice",
            ),
            (vec!["sqs"], "not a target"),
            (vec!["queue=x"], "not a target"),
            (vec!["webhook"], "needs a URL"),
            (vec!["webhook=ftp://x"], "https://"),
            (vec!["webhook=https://"], "name a host"),
            (vec!["webhook=https://h/${AWS::Region}"], "${"),
            (vec!["webhook=https://h/a b"], "spaces"),
            (vec!["bus=a*b"], "bus name"),
            (vec!["bus="], "bus name"),
        ] {
            let flags: Vec<&str> = flags;
            let err = p(&flags).unwrap_err().to_string();
            assert!(err.contains(needle), "{flags:?}: {err}");
        }
    }

    #[test]
    fn targets_round_trip_through_the_template_metadata() {
        let d = p(&["queue", "bus", "webhook=http://127.0.0.1:9/h"])
            .unwrap()
            .unwrap();
        let t = json!({ "Metadata": d.metadata() });
        assert_eq!(Deliveries::from_template(&t).unwrap(), d);
        assert_eq!(
            Deliveries::from_template(&json!({})).unwrap(),
            Deliveries::default()
        );
        for target in &d.targets {
            assert_eq!(Target::parse(&target.flag()).unwrap(), *target);
        }
    }

    #[test]
    fn a_deploy_keeps_what_the_stack_has_unless_told_otherwise() {
        let had = || p(&["queue"]).unwrap().unwrap();
        let header = || Some(parse_header("X-Key=v").unwrap());
        let (d, params) = for_deploy(None, None, had, true).unwrap();
        assert_eq!(d, had());
        assert!(params.is_empty());
        let (d, _) = for_deploy(p(&["none"]).unwrap(), None, had, true).unwrap();
        assert!(d.is_empty());
        let web = || p(&["webhook=http://127.0.0.1:1/h"]).unwrap();
        assert!(matches!(
            for_deploy(web(), None, had, true).unwrap_err(),
            DeliveryError::NotHttps { .. }
        ));
        let (_, params) = for_deploy(web(), header(), had, false).unwrap();
        assert_eq!(
            params[0],
            (PARAM_HEADER_NAME.to_string(), "X-Key".to_string())
        );
        assert_eq!(params[1], (PARAM_HEADER_VALUE.to_string(), "v".to_string()));
        assert_eq!(
            for_deploy(None, header(), had, false).unwrap_err(),
            DeliveryError::HeaderWithoutWebhook
        );
    }

    #[test]
    fn a_webhook_url_with_user_info_is_refused_without_repeating_it() {
        for url in ["https://user:s3cret@example.com/h", "http://u@127.0.0.1:9/"] {
            let e = p(&[&format!("webhook={url}")]).unwrap_err();
            let e = e.to_string();
            assert!(e.contains("--webhook-header"), "{e}");
            assert!(!e.contains("s3cret") && !e.contains("user:"), "{e}");
        }
        assert!(p(&["webhook=https://example.com/a@b"]).is_ok());
    }

    #[test]
    fn headers_are_checked_and_split_once() {
        assert_eq!(
            parse_header("Authorization=Bearer a=b").unwrap(),
            ("Authorization".to_string(), "Bearer a=b".to_string())
        );
        for bad in ["NoValue", "=v", "Bad Name=v", "X=", "X=a\nb"] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
        // The value never appears in an error.
        let err = parse_header("X=sec\u{7}ret").unwrap_err();
        assert!(!err.to_string().contains("sec"), "{err}");
    }
}

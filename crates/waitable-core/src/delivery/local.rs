//! A delivering template made ready for the local target: the queue URL and the connection
//! get the local engine's names, the retry parameters their values, and the targets the local
//! engine cannot reach are refused with the alternative.

use serde_json::Value;

use super::resources::parameters;
use super::*;
use crate::cfn_intrinsics::substitute;
use crate::logical_ids::STATE_MACHINE;

/// Why a delivering template cannot run on the local target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalDeliveryError {
    #[error(transparent)]
    Deliveries(#[from] DeliveryError),
    #[error(
        "the local target cannot deliver to {what}: use --deliver queue or --deliver webhook=URL here ({kind} works on the aws target)"
    )]
    Unsupported {
        what: &'static str,
        kind: &'static str,
    },
    #[error("the state machine's DefinitionString is not an Fn::Sub with variables")]
    NotSubstituted,
    #[error("parameter {name} has no value")]
    NoValue { name: String },
    #[error("parameter {name} must be a whole number, not {value:?}")]
    NotANumber { name: &'static str, value: String },
}

/// The template with every delivery placeholder of its state machine resolved for `stack`.
/// `given` are the `--parameter` values (the rest take the template's defaults).
pub fn for_local(
    template: &Value,
    given: &[(String, String)],
    stack: &str,
) -> Result<Value, LocalDeliveryError> {
    let d = Deliveries::from_template(template)?;
    if d.is_empty() {
        return Ok(template.clone());
    }
    for t in &d.targets {
        let what = match t {
            Target::Topic => "an SNS topic",
            Target::Bus(_) => "an EventBridge bus",
            _ => continue,
        };
        return Err(LocalDeliveryError::Unsupported {
            what,
            kind: t.kind(),
        });
    }
    let mut t = template.clone();
    let sub = &mut t["Resources"][STATE_MACHINE]["Properties"]["DefinitionString"]["Fn::Sub"];
    let (Some(text), true) = (sub[0].as_str().map(str::to_string), sub[1].is_object()) else {
        return Err(LocalDeliveryError::NotSubstituted);
    };
    let specs = parameters(&d);
    let value = |name: &str| -> Result<String, LocalDeliveryError> {
        given
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| specs[name]["Default"].as_str().map(str::to_string))
            .ok_or_else(|| LocalDeliveryError::NoValue { name: name.into() })
    };
    let mut pairs = Vec::new();
    for p in [PARAM_ATTEMPTS, PARAM_MAX_DELAY] {
        let v = value(p)?;
        if v.parse::<u32>().is_err() {
            return Err(LocalDeliveryError::NotANumber { name: p, value: v });
        }
        pairs.push((p, v));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sub[0] = substitute(&text, &pairs).into();
    let vars = sub[1].as_object_mut().expect("checked above");
    if vars.contains_key(QUEUE_URL_VAR) {
        vars.insert(QUEUE_URL_VAR.into(), local_queue_url(stack).into());
    }
    if vars.contains_key(CONNECTION_ARN_VAR) {
        vars.insert(
            CONNECTION_ARN_VAR.into(),
            local_connection_arn(stack).into(),
        );
    }
    Ok(t)
}

/// The webhook header given on this deploy (`--webhook-header`), if any.
pub fn given_header(given: &[(String, String)]) -> Option<(String, String)> {
    let find = |name: &str| {
        given
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    Some((find(PARAM_HEADER_NAME)?, find(PARAM_HEADER_VALUE)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{StackSpec, template};

    fn delivering(flags: &[&str]) -> Value {
        let d = Deliveries::parse(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .unwrap();
        template(&StackSpec {
            deliveries: d,
            ..StackSpec::default()
        })
    }

    #[test]
    fn queue_and_webhook_resolve_to_the_local_engines_names() {
        let t = delivering(&["queue", "webhook=http://127.0.0.1:9/h"]);
        let out = for_local(&t, &[(PARAM_ATTEMPTS.into(), "2".into())], "s").unwrap();
        let sub = &out["Resources"][STATE_MACHINE]["Properties"]["DefinitionString"]["Fn::Sub"];
        assert_eq!(sub[1][QUEUE_URL_VAR], local_queue_url("s"));
        assert_eq!(sub[1][CONNECTION_ARN_VAR], local_connection_arn("s"));
        let text = sub[0].as_str().unwrap();
        assert!(text.contains("\"MaxAttempts\":2,"), "{text}");
        assert!(text.contains("\"MaxDelaySeconds\":60,"), "{text}");
        let plain = template(&StackSpec::default());
        assert_eq!(for_local(&plain, &[], "s").unwrap(), plain);
    }

    #[test]
    fn topic_and_bus_are_refused_naming_the_alternative() {
        for flag in ["topic", "bus"] {
            let err = for_local(&delivering(&[flag]), &[], "s")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("--deliver queue") && err.contains("aws target"),
                "{err}"
            );
        }
        let err = for_local(
            &delivering(&["queue"]),
            &[(PARAM_ATTEMPTS.into(), "x".into())],
            "s",
        )
        .unwrap_err();
        assert!(
            matches!(err, LocalDeliveryError::NotANumber { .. }),
            "{err}"
        );
    }

    #[test]
    fn the_header_needs_both_halves() {
        let given = vec![
            (PARAM_HEADER_NAME.to_string(), "X-Key".to_string()),
            (PARAM_HEADER_VALUE.to_string(), "v".to_string()),
        ];
        assert_eq!(given_header(&given), Some(("X-Key".into(), "v".into())));
        assert_eq!(given_header(&given[..1]), None);
    }
}

//! The typed description of a stack, from which the template and the state machine are each
//! built in one pass: what the API requires and where a fired job is delivered. Numbers a user
//! may change without a new template (retention, throttling, delivery retries) are stack
//! parameters, not part of it.

use super::delivery::{Deliveries, Target};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    /// Require SigV4 (`AWS_IAM`) on both methods. Off only for demos.
    pub iam_auth: bool,
    /// Where a fired job goes, in delivery order (none: it only completes).
    pub deliveries: Deliveries,
}

impl Default for StackSpec {
    fn default() -> Self {
        StackSpec {
            iam_auth: true,
            deliveries: Deliveries::default(),
        }
    }
}

impl StackSpec {
    /// The default stack delivering to `targets`.
    pub fn delivering(targets: Vec<Target>) -> StackSpec {
        StackSpec {
            deliveries: Deliveries { targets },
            ..StackSpec::default()
        }
    }
}

/// A variant users deploy, with the name of its golden files (`templates/<name>.yaml`,
/// `statemachine/<name>.asl.json`).
pub struct Variant {
    pub name: &'static str,
    pub spec: StackSpec,
}

/// The webhook URL of the golden webhook variants.
pub const EXAMPLE_WEBHOOK: &str = "https://example.com/hook";

/// The variants that get golden files: no delivery, a queue, a webhook, all four targets.
pub fn variants() -> Vec<Variant> {
    let webhook = || Target::Webhook(EXAMPLE_WEBHOOK.into());
    vec![
        Variant {
            name: "waitable",
            spec: StackSpec::default(),
        },
        Variant {
            name: "waitable-queue",
            spec: StackSpec::delivering(vec![Target::Queue]),
        },
        Variant {
            name: "waitable-webhook",
            spec: StackSpec::delivering(vec![webhook()]),
        },
        Variant {
            name: "waitable-all-targets",
            spec: StackSpec::delivering(vec![
                Target::Queue,
                Target::Topic,
                Target::Bus(super::delivery::DEFAULT_BUS.into()),
                webhook(),
            ]),
        },
    ]
}

#[cfg(test)]
mod tests {

    use serde_json::Value;

    use super::*;
    use crate::cfn_intrinsics::{references, sub_variables};
    use crate::logical_ids::STATE_MACHINE;
    use crate::template::template;

    #[test]
    fn every_reference_in_every_variant_resolves() {
        for v in variants() {
            let t = template(&v.spec);
            let known = crate::template::names_a_template_defines(&t);
            for (name, res) in t["Resources"].as_object().unwrap() {
                for target in references(res) {
                    assert!(known.contains(&target), "{}: {name} -> {target}", v.name);
                }
            }
            // Every ${...} in the definition is a Sub variable, a parameter or a pseudo one.
            let parts = t["Resources"][STATE_MACHINE]["Properties"]["DefinitionString"]["Fn::Sub"]
                .as_array()
                .unwrap();
            let vars = parts[1].as_object().unwrap();
            for var in sub_variables(parts[0].as_str().unwrap()) {
                assert!(
                    vars.contains_key(var) || known.contains(var) || var.starts_with("AWS::"),
                    "{}: unresolved ${{{var}}}",
                    v.name
                );
            }
            // The targets are remembered for the next deploy, right after Description.
            assert_eq!(
                Deliveries::from_template(&t).unwrap(),
                v.spec.deliveries,
                "{}",
                v.name
            );
            let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
            assert_eq!(
                keys.iter().position(|k| *k == "Metadata"),
                (!v.spec.deliveries.is_empty()).then_some(2),
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn the_template_carries_the_definition_built_for_the_same_spec() {
        for v in variants() {
            let t = template(&v.spec);
            let parts = t["Resources"][STATE_MACHINE]["Properties"]["DefinitionString"]["Fn::Sub"]
                .as_array()
                .unwrap();
            assert_eq!(
                parts[0].as_str().unwrap(),
                crate::state_machine::definition_text(&v.spec),
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn the_definition_text_is_json_once_the_numbers_are_in() {
        let spec = StackSpec::delivering(vec![Target::Queue]);
        let text = crate::state_machine::definition_text(&spec)
            .replace("${DeliveryAttempts}", "5")
            .replace("${DeliveryMaxDelaySeconds}", "60");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["States"]["DeliverToQueue"]["Retry"][0]["MaxAttempts"], 5);
    }

    #[test]
    fn the_header_value_appears_nowhere_but_as_a_noecho_parameter() {
        let t = template(&StackSpec::delivering(vec![Target::Webhook(
            EXAMPLE_WEBHOOK.into(),
        )]));
        assert_eq!(t["Parameters"]["WebhookHeaderValue"]["NoEcho"], true);
        assert!(
            !t["Resources"][STATE_MACHINE]
                .to_string()
                .contains("WebhookHeaderValue")
        );
    }
}

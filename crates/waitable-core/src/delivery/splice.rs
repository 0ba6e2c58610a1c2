//! Turning the plain template and state machine into delivering ones. The template and ASL
//! modules stay as they are; this adds to what they build.

use serde_json::{Map, Value, json};

use super::states::{Hooks, splice, unquote_placeholders};
use super::{Deliveries, resources};
use crate::cfn_intrinsics::{r#ref, sub_with};
use crate::logical_ids::{JOBS_TABLE, STATE_MACHINE, STATE_MACHINE_ROLE, TABLE_NAME_VAR};
use crate::state_machine;

/// The state machine of a stack delivering to `d` (the plain one when `d` is empty).
pub fn definition(d: &Deliveries) -> Value {
    let mut def = state_machine::definition();
    if d.is_empty() {
        return def;
    }
    let table = format!("${{{TABLE_NAME_VAR}}}");
    let states = def["States"].as_object_mut().expect("States is an object");
    let write_retry = states[state_machine::SET_FINAL_STATUS]["Retry"].clone();
    // Every other first write that stores no payload (e.g. `SetInitialStatusWithExpiry`).
    let more_no_payload = states
        .keys()
        .filter(|k| k.starts_with(state_machine::SET_INITIAL_STATUS) && !k.contains("Payload"))
        .filter(|k| k.as_str() != state_machine::SET_INITIAL_STATUS)
        .map(|k| {
            (
                k.clone(),
                k.replacen(
                    state_machine::SET_INITIAL_STATUS,
                    super::states::ADD_NULL_PAYLOAD,
                    1,
                ),
            )
        })
        .collect();
    splice(
        states,
        d,
        &Hooks {
            table: &table,
            no_payload_next: state_machine::SET_INITIAL_STATUS,
            more_no_payload,
            wait: state_machine::WAIT_UNTIL,
            replaced: state_machine::SET_FINAL_STATUS,
            write_retry,
            failed_catch: state_machine::failed_catch(),
            job_failed: state_machine::JOB_FAILED,
        },
    );
    def["Comment"] = "waitable: record a job as STARTED, wait until its StartTimestamp, deliver it, mark it COMPLETED (or FAILED)".into();
    def
}

/// The definition as the text `Fn::Sub` gets (retry numbers as `${Parameter}`).
pub fn definition_text(d: &Deliveries) -> String {
    let text = serde_json::to_string(&definition(d)).expect("a JSON value serialises");
    unquote_placeholders(&text)
}

/// Adds the delivery parts to a synthesised template: metadata (what a later deploy
/// remembers), parameters, resources, the delivering definition and outputs. No targets, no
/// change.
pub fn apply(template: &mut Value, d: &Deliveries) {
    if d.is_empty() {
        return;
    }
    let mut vars = vec![(TABLE_NAME_VAR, r#ref(JOBS_TABLE))];
    vars.extend(resources::definition_vars(d));
    template["Resources"][STATE_MACHINE]["Properties"]["DefinitionString"] =
        sub_with(&definition_text(d), &vars);
    extend(template, "Parameters", resources::parameters(d));
    extend(
        template,
        "Resources",
        resources::resources(d, STATE_MACHINE_ROLE, STATE_MACHINE),
    );
    extend(template, "Outputs", resources::outputs(d));
    // Metadata goes right after Description (rain's section order).
    let old = std::mem::take(template.as_object_mut().expect("a template is an object"));
    let mut out = Map::new();
    for (k, v) in old {
        let after_description = k == "Description";
        out.insert(k, v);
        if after_description {
            out.insert("Metadata".into(), d.metadata());
        }
    }
    *template = Value::Object(out);
}

fn extend(template: &mut Value, section: &str, add: Map<String, Value>) {
    if template[section].is_null() {
        template[section] = json!({});
    }
    template[section]
        .as_object_mut()
        .expect("a template section is an object")
        .extend(add);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::cfn_intrinsics::{references, sub_variables};
    use crate::delivery::states::{FIRE_JOB, RECORD_DELIVERED};
    use crate::template::{StackOptions, template};

    fn d(flags: &[&str]) -> Deliveries {
        Deliveries::parse(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .unwrap()
    }

    fn delivering(flags: &[&str]) -> Value {
        let mut t = template(StackOptions::default());
        apply(&mut t, &d(flags));
        t
    }

    #[test]
    fn no_targets_leave_the_template_as_it_is() {
        let mut t = template(StackOptions::default());
        apply(&mut t, &Deliveries::default());
        assert_eq!(t, template(StackOptions::default()));
        assert_eq!(
            definition(&Deliveries::default()),
            state_machine::definition()
        );
    }

    #[test]
    fn every_reference_resolves_and_sections_keep_their_order() {
        let t = delivering(&["queue", "topic", "bus=b", "webhook=https://h.example/x"]);
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        // The plain template's sections, with Metadata right after Description.
        let plain = template(StackOptions::default());
        let mut expected: Vec<&String> = plain.as_object().unwrap().keys().collect();
        let metadata = "Metadata".to_string();
        expected.insert(2, &metadata);
        assert_eq!(keys, expected);
        assert_eq!(expected[1], "Description");
        let mut known: BTreeSet<String> = t["Resources"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        known.extend(t["Parameters"].as_object().unwrap().keys().cloned());
        for (name, res) in t["Resources"].as_object().unwrap() {
            for target in references(res) {
                assert!(known.contains(&target), "{name} refers to missing {target}");
            }
        }
        // Every ${...} in the definition is a Sub variable, a parameter or a pseudo parameter.
        let parts = t["Resources"][STATE_MACHINE]["Properties"]["DefinitionString"]["Fn::Sub"]
            .as_array()
            .unwrap();
        let vars = parts[1].as_object().unwrap();
        for v in sub_variables(parts[0].as_str().unwrap()) {
            assert!(
                vars.contains_key(v) || known.contains(v) || v.starts_with("AWS::"),
                "unresolved ${{{v}}}"
            );
        }
        assert_eq!(
            Deliveries::from_template(&t).unwrap(),
            d(&["queue", "topic", "bus=b", "webhook=https://h.example/x"])
        );
    }

    #[test]
    fn the_definition_text_is_json_once_the_numbers_are_in() {
        let text = definition_text(&d(&["queue"]));
        let filled = text
            .replace("${DeliveryAttempts}", "5")
            .replace("${DeliveryMaxDelaySeconds}", "60");
        let v: Value = serde_json::from_str(&filled).unwrap();
        assert_eq!(v["States"]["DeliverToQueue"]["Retry"][0]["MaxAttempts"], 5);
        assert_eq!(v["States"][state_machine::WAIT_UNTIL]["Next"], FIRE_JOB);
        assert_eq!(v["States"]["DeliverToQueue"]["Next"], RECORD_DELIVERED);
        assert!(v["States"].get(state_machine::SET_FINAL_STATUS).is_none());
    }

    #[test]
    fn the_header_value_appears_nowhere_but_as_a_noecho_parameter() {
        let t = delivering(&["webhook=https://h.example/x"]);
        assert_eq!(t["Parameters"]["WebhookHeaderValue"]["NoEcho"], true);
        assert!(
            !t["Resources"][STATE_MACHINE]
                .to_string()
                .contains("WebhookHeaderValue")
        );
    }
}

//! The template's size over every combination of delivery targets, at their longest: a
//! 2,000-character webhook URL and a 256-character bus name.

use serde_json::Value;

use super::{MAX_TEMPLATE_BODY, MAX_TEMPLATE_URL_BODY, template};
use crate::delivery::Deliveries;
use crate::logical_ids::{RECONCILE_STATE_MACHINE, STATE_MACHINE};
use crate::stack_spec::StackSpec;

fn longest_flags() -> [String; 4] {
    let url = format!("https://hooks.example.com/{}", "p".repeat(2_000 - 26));
    assert_eq!(url.len(), 2_000);
    [
        "queue".into(),
        "topic".into(),
        format!("bus={}", "b".repeat(256)),
        format!("webhook={url}"),
    ]
}

/// Every subset of the four targets, the empty one first.
fn combinations() -> Vec<Vec<String>> {
    let flags = longest_flags();
    (0..16u8)
        .map(|mask| {
            (0..4)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| flags[i].clone())
                .collect()
        })
        .collect()
}

fn synth(flags: &[String]) -> Value {
    template(&StackSpec {
        iam_auth: true,
        deliveries: Deliveries::parse(flags).unwrap().unwrap_or_default(),
    })
}

#[test]
fn every_combination_fits_a_template_url_and_the_size_is_printed() {
    let mut inline = 0;
    for flags in combinations() {
        let t = synth(&flags);
        let size = serde_json::to_string(&t).unwrap().len();
        let kinds: Vec<&str> = flags.iter().map(|f| f.split('=').next().unwrap()).collect();
        println!("{size:>7} bytes  {}", kinds.join("+"));
        assert!(size <= MAX_TEMPLATE_URL_BODY, "{kinds:?}: {size}");
        if size <= MAX_TEMPLATE_BODY {
            inline += 1;
        }
    }
    // The plain stack and the single targets other than the long webhook go inline.
    assert!(inline >= 4, "only {inline} combinations fit inline");
}

#[test]
fn the_embedded_definitions_are_compact_json() {
    let t = synth(&longest_flags());
    for sm in [STATE_MACHINE, RECONCILE_STATE_MACHINE] {
        let text = t["Resources"][sm]["Properties"]["DefinitionString"]["Fn::Sub"][0]
            .as_str()
            .unwrap();
        assert!(!text.contains('\n'), "{sm} is pretty-printed");
        assert!(!text.contains("\": "), "{sm} has padding");
    }
}

//! A `--parameter KEY=VALUE` checked against the template's own constraints (`Type`,
//! `AllowedPattern`, `AllowedValues`, `MinLength`/`MaxLength`, `MinValue`/`MaxValue`), as
//! CloudFormation checks it: one rule for both targets, applied before anything is sent.

use serde_json::Value;

/// Why `value` is not a value CloudFormation would take for parameter `key` of `template`
/// (a key the template does not declare is the caller's to report).
pub fn check(template: &Value, key: &str, value: &str) -> Result<(), String> {
    let spec = &template["Parameters"][key];
    if spec.is_null() {
        return Ok(());
    }
    let described = || match spec["Description"].as_str() {
        Some(d) => format!(" ({d})"),
        None => String::new(),
    };
    if spec["Type"] == "Number" {
        let Ok(n) = value.trim().parse::<f64>() else {
            return Err(format!(
                "--parameter {key}={value:?}: must be a number{}",
                described()
            ));
        };
        if let Some(min) = spec["MinValue"].as_f64()
            && n < min
        {
            return Err(format!("--parameter {key}={value}: must be at least {min}"));
        }
        if let Some(max) = spec["MaxValue"].as_f64()
            && n > max
        {
            return Err(format!("--parameter {key}={value}: must be at most {max}"));
        }
        return Ok(());
    }
    // A NoEcho value (the webhook's secret header) is never repeated in a message.
    let shown = if spec["NoEcho"] == true {
        "(hidden)".to_string()
    } else {
        format!("{value:?}")
    };
    let chars = value.chars().count();
    if let Some(min) = spec["MinLength"].as_u64()
        && (chars as u64) < min
    {
        return Err(format!(
            "--parameter {key}: must be at least {min} characters"
        ));
    }
    if let Some(max) = spec["MaxLength"].as_u64()
        && (chars as u64) > max
    {
        return Err(format!(
            "--parameter {key}: must be at most {max} characters"
        ));
    }
    if let Some(allowed) = spec["AllowedValues"].as_array()
        && !allowed.iter().any(|a| a.as_str() == Some(value))
    {
        return Err(format!(
            "--parameter {key}={shown}: must be one of {}",
            allowed
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(pattern) = spec["AllowedPattern"].as_str() {
        // CloudFormation matches the whole value against the pattern.
        let whole = format!("^(?:{pattern})$");
        let re = regex::Regex::new(&whole)
            .map_err(|e| format!("parameter {key} has a pattern this tool cannot read: {e}"))?;
        if !re.is_match(value) {
            return Err(format!(
                "--parameter {key}={shown}: must match {pattern}{}",
                described()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Deliveries;
    use crate::stack_spec::StackSpec;
    use crate::template::template;

    fn delivering() -> Value {
        let d = Deliveries::parse(&["queue".into(), "webhook=https://h.example/x".into()])
            .unwrap()
            .unwrap();
        template(&StackSpec {
            iam_auth: true,
            deliveries: d,
        })
    }

    #[test]
    fn values_are_held_to_the_templates_constraints() {
        let t = delivering();
        for (key, good) in [
            ("StageName", "dev_1"),
            ("RetentionDays", "0"),
            ("RetentionDays", "3650"),
            ("ThrottleRateLimit", "7"),
            ("DeliveryAttempts", "0"),
            ("WebhookHeaderName", "X-Api-Key"),
            ("WebhookHeaderValue", "s3cr3t"),
        ] {
            assert_eq!(check(&t, key, good), Ok(()), "{key}={good}");
        }
        for (key, bad) in [
            ("StageName", "has space"),
            ("StageName", ""),
            ("RetentionDays", "ninety"),
            ("RetentionDays", "3651"),
            ("RetentionDays", "-1"),
            ("ThrottleRateLimit", "0"),
            ("DeliveryAttempts", "100"),
            ("DeliveryMaxDelaySeconds", "0"),
            ("WebhookHeaderName", "bad header"),
            ("WebhookHeaderValue", ""),
        ] {
            let err = check(&t, key, bad).unwrap_err();
            assert!(err.contains(key), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[test]
    fn a_secret_value_is_never_echoed() {
        let t = delivering();
        let err = check(&t, "WebhookHeaderValue", &"x".repeat(600)).unwrap_err();
        assert!(!err.contains("xxxx"), "{err}");
    }
}

//! The stack's name, checked once when the flags are parsed.

use std::fmt;
use std::str::FromStr;

/// A name CloudFormation accepts for a stack: a letter, then letters, digits and hyphens, 128
/// at most. The local target uses the same rule, so a name works on both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StackName(String);

impl StackName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for StackName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        let mut chars = name.chars();
        let ok = name.len() <= 128
            && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
        if ok {
            Ok(StackName(name.to_string()))
        } else {
            Err(format!(
                "invalid stack name {name:?}: use a letter followed by letters, digits or hyphens (at most 128)"
            ))
        }
    }
}

impl fmt::Display for StackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StackName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_follow_cloudformation_rules() {
        for good in ["waitable", "a", "my-stack-2"] {
            assert_eq!(good.parse::<StackName>().unwrap().as_str(), good);
        }
        let long = "a".repeat(129);
        for bad in ["", "1abc", "-x", "has_underscore", "sp ace", long.as_str()] {
            assert!(bad.parse::<StackName>().is_err(), "{bad}");
        }
    }
}

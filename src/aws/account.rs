//! Whose account a command acts on: STS GetCallerIdentity, asked once per command, so the
//! prompts and "does not exist" messages name the account and region as the aws CLI shows them.

use super::sdk;
use crate::{Error, Result};

/// The caller's account, and the region the command acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    /// `aws`, `aws-cn`, `aws-us-gov`: from the caller's ARN.
    pub partition: String,
    pub region: String,
}

impl std::fmt::Display for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "account {}, region {}", self.id, self.region)
    }
}

/// Asks STS who the credentials belong to.
pub async fn caller(sts: &aws_sdk_sts::Client, region: &str) -> Result<Account> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| sdk::failed("asking STS which account the credentials belong to", &e))?;
    let id = out
        .account()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Error::failed("STS GetCallerIdentity returned no account"))?;
    Ok(Account {
        id: id.to_string(),
        partition: partition_of(out.arn().unwrap_or_default()).to_string(),
        region: region.to_string(),
    })
}

/// The partition of an ARN (`arn:PARTITION:...`); `aws` when it is not an ARN.
pub fn partition_of(arn: &str) -> &str {
    match arn.split(':').nth(1) {
        Some(p) if arn.starts_with("arn:") && !p.is_empty() => p,
        _ => "aws",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_comes_from_the_callers_arn() {
        assert_eq!(partition_of("arn:aws-cn:iam::1:user/x"), "aws-cn");
        assert_eq!(partition_of("arn:aws:sts::1:assumed-role/r/s"), "aws");
        assert_eq!(partition_of(""), "aws");
        let a = Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        };
        assert_eq!(a.to_string(), "account 123456789012, region eu-west-1");
    }
}

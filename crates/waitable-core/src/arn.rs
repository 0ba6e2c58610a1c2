//! ARNs of the state machine and its executions, built in one place for both targets.

/// What the local target stands in for the partition, region and account of an ARN.
pub const LOCAL_PARTITION: &str = "aws";
pub const LOCAL_REGION: &str = "local";
pub const LOCAL_ACCOUNT: &str = "000000000000";

/// `arn:P:states:R:A:stateMachine:NAME`.
pub fn state_machine_arn(partition: &str, region: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:states:{region}:{account}:stateMachine:{name}")
}

/// The local target's state machine of stack `stack`.
pub fn local_state_machine_arn(stack: &str) -> String {
    state_machine_arn(LOCAL_PARTITION, LOCAL_REGION, LOCAL_ACCOUNT, stack)
}

/// The execution ARN of job `id` under the state machine `state_machine_arn`
/// (`arn:P:states:R:A:stateMachine:NAME` -> `arn:P:states:R:A:execution:NAME:ID`); None when
/// the first is not a state machine ARN.
pub fn execution_arn(state_machine_arn: &str, id: &str) -> Option<String> {
    let (prefix, name) = state_machine_arn.split_once(":stateMachine:")?;
    Some(format!("{prefix}:execution:{name}:{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_arns_are_derived_from_the_state_machine() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:us-east-1:123456789012:stateMachine:Jobs-1",
                "job-7"
            )
            .unwrap(),
            "arn:aws:states:us-east-1:123456789012:execution:Jobs-1:job-7"
        );
        assert!(execution_arn("not-an-arn", "x").is_none());
        let local = local_state_machine_arn("s");
        assert_eq!(local, "arn:aws:states:local:000000000000:stateMachine:s");
        assert_eq!(
            execution_arn(&local, "a").unwrap(),
            "arn:aws:states:local:000000000000:execution:s:a"
        );
    }
}

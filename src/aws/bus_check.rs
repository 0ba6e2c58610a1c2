//! `deploy --deliver bus=NAME` needs the bus to exist: the stack only grants PutEvents on it,
//! and a missing bus would first show as failed deliveries when jobs fire. So deploy asks
//! EventBridge before it makes a change set.

use serde_json::Value;

use super::account::Account;
use super::sdk;
use crate::{Error, Result};
use waitable_core::delivery::Deliveries;

/// Fails with one line when the template delivers to a bus that is not there.
pub async fn check_bus(
    events: &aws_sdk_eventbridge::Client,
    template: &Value,
    account: &Account,
) -> Result<()> {
    let deliveries = Deliveries::from_template(template).map_err(Error::failed)?;
    let Some(bus) = deliveries.bus() else {
        return Ok(());
    };
    match events.describe_event_bus().name(bus).send().await {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Err(Error::failed(missing_bus(bus, account)))
        }
        Err(err) => Err(sdk::failed(&format!("looking for event bus {bus}"), &err)),
    }
}

fn missing_bus(bus: &str, account: &Account) -> String {
    format!(
        "event bus {bus} does not exist in {account}: create it (aws events create-event-bus --name {bus}) or deliver to another bus; nothing was changed"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_bus_the_account_and_the_fix() {
        let account = Account {
            id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
        };
        let msg = missing_bus("orders", &account);
        assert!(msg.contains("orders does not exist in account 123456789012, region eu-west-1"));
        assert!(msg.contains("create-event-bus --name orders"));
        assert_eq!(msg.lines().count(), 1);
    }
}

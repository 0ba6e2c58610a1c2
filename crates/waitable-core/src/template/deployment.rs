//! The API deployment and its stage. A stage serves the snapshot of the API it was deployed
//! with, and CloudFormation makes a new snapshot only when the Deployment resource is replaced.
//! So the Deployment's logical ID carries a hash of everything the snapshot depends on: every
//! API Gateway resource, every resource or parameter they reference (the table, the state
//! machine and its definition, the roles), followed transitively, and the deployment's own
//! properties (stage name, throttling). Any change to one of them yields a new ID, hence a
//! new deployment that the stage then serves.
//!
//! What the template cannot show, a resource replaced while its definition stays the same or a
//! new parameter value, is handled at deploy by creating a deployment after such an update.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::cfn_intrinsics::{r#ref, references};
use crate::logical_ids::*;

/// The Deployment resource, which also creates the stage (`StageName`).
pub fn deployment() -> Value {
    json!({
        "Type": "AWS::ApiGateway::Deployment",
        "DependsOn": [SUBMIT_METHOD, STATUS_METHOD],
        "Properties": {
            "RestApiId": r#ref(API),
            "StageName": r#ref(PARAM_STAGE_NAME),
            "Description": "waitable API deployment",
            // Every POST starts a billed execution: the stage caps the request rate.
            "StageDescription": {
                "ThrottlingRateLimit": r#ref(PARAM_THROTTLE_RATE),
                "ThrottlingBurstLimit": r#ref(PARAM_THROTTLE_BURST)
            }
        }
    })
}

/// `ApiDeployment` + 8 hex digits of a stable hash of what the deployment snapshots, given the
/// template's `Resources` and `Parameters` (without the deployment) and the deployment itself.
/// FNV-1a: std's hasher is not stable across Rust versions, and the ID must not change between
/// builds.
pub fn logical_id(
    resources: &Map<String, Value>,
    parameters: &Value,
    deployment: &Value,
) -> String {
    let snapshot = snapshot(resources, parameters, deployment);
    let text = serde_json::to_string(&snapshot).expect("a JSON value serialises");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{DEPLOYMENT_PREFIX}{:08x}", hash >> 32)
}

/// Everything hashed, by name: the API Gateway resources, the deployment, and what they
/// reference, transitively.
fn snapshot(
    resources: &Map<String, Value>,
    parameters: &Value,
    deployment: &Value,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::from([("(deployment)".to_string(), deployment.clone())]);
    let mut pending: Vec<String> = references(deployment);
    pending.extend(
        resources
            .iter()
            .filter(|(_, r)| is_api_gateway(r))
            .map(|(name, _)| name.clone()),
    );
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(value) = resources.get(&name).or_else(|| parameters.get(&name)) else {
            continue;
        };
        pending.extend(references(value));
        for dep in value["DependsOn"].as_array().into_iter().flatten() {
            pending.extend(dep.as_str().map(str::to_string));
        }
        out.insert(name, value.clone());
    }
    out
}

fn is_api_gateway(resource: &Value) -> bool {
    resource["Type"]
        .as_str()
        .is_some_and(|t| t.starts_with("AWS::ApiGateway::") && t != "AWS::ApiGateway::Deployment")
}

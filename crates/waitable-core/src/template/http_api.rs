//! The REST API: the API itself, its integration role, the request model and validator, the
//! `/status` resource, and one method per route (direct service integrations, no Lambda).

use serde_json::{Map, Value, json};

use super::StackOptions;
use super::iam::{assume_role_by, inline_policy};
use crate::api;
use crate::cfn_intrinsics::{get_att, r#ref, sub, sub_with};
use crate::logical_ids::*;
use crate::status_index;

pub fn resources(options: StackOptions) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        API.into(),
        json!({
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Name": sub("${AWS::StackName}-api"),
                "Description": "waitable: POST / starts a job, GET /status lists jobs",
                "EndpointConfiguration": { "Types": ["REGIONAL"] }
            }
        }),
    );
    m.insert(
        API_ROLE.into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": assume_role_by("apigateway.amazonaws.com"),
                "Policies": inline_policy("start-and-list-jobs", json!([
                    {
                        "Effect": "Allow",
                        "Action": "states:StartExecution",
                        "Resource": r#ref(STATE_MACHINE)
                    },
                    {
                        "Effect": "Allow",
                        "Action": "dynamodb:Scan",
                        "Resource": get_att(JOBS_TABLE, "Arn")
                    },
                    status_index::query_policy_statement()
                ]))
            }
        }),
    );
    m.insert(
        JOB_MODEL.into(),
        json!({
            "Type": "AWS::ApiGateway::Model",
            "Properties": {
                "RestApiId": r#ref(API),
                "ContentType": "application/json",
                "Description": "Body of POST /: StartTimestamp (UTC, Z), optional Id and Payload",
                "Schema": api::job_request_schema()
            }
        }),
    );
    m.insert(
        REQUEST_VALIDATOR.into(),
        json!({
            "Type": "AWS::ApiGateway::RequestValidator",
            "Properties": {
                "RestApiId": r#ref(API),
                "ValidateRequestBody": true,
                "ValidateRequestParameters": true
            }
        }),
    );
    m.insert(
        STATUS_RESOURCE.into(),
        json!({
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": r#ref(API),
                "ParentId": get_att(API, "RootResourceId"),
                "PathPart": "status"
            }
        }),
    );
    m.insert(SUBMIT_METHOD.into(), submit_method(options));
    m.insert(STATUS_METHOD.into(), status_method(options));
    m
}

fn service_uri(action: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:{action}"
    ))
}

fn json_templates(template: Value) -> Value {
    json!({ "application/json": template })
}

/// Integration responses shared by both methods: 200 mapped by `ok`, service errors mapped to
/// a small JSON error body.
///
/// For AWS service integrations API Gateway matches `SelectionPattern` against the service's
/// HTTP status code only (the body is matched for Lambda integrations), and DynamoDB and Step
/// Functions answer throttling with 400. So the 4xx template itself turns throttling into 429
/// (`$context.responseOverride.status`, see [`api::error_response_template`]).
fn integration_responses(ok: String) -> Value {
    let error = json_templates(api::error_response_template().into());
    json!([
        { "StatusCode": "200", "ResponseTemplates": json_templates(ok.into()) },
        { "StatusCode": "400", "SelectionPattern": "4\\d{2}", "ResponseTemplates": error },
        { "StatusCode": "500", "SelectionPattern": "5\\d{2}", "ResponseTemplates": error }
    ])
}

fn method_responses() -> Value {
    json!([
        { "StatusCode": "200" },
        { "StatusCode": "400" },
        { "StatusCode": "429" },
        { "StatusCode": "500" }
    ])
}

fn authorization(options: StackOptions) -> &'static str {
    if options.iam_auth { "AWS_IAM" } else { "NONE" }
}

fn submit_method(options: StackOptions) -> Value {
    json!({
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": r#ref(API),
            "ResourceId": get_att(API, "RootResourceId"),
            "HttpMethod": "POST",
            "AuthorizationType": authorization(options),
            "RequestValidatorId": r#ref(REQUEST_VALIDATOR),
            "RequestModels": { "application/json": r#ref(JOB_MODEL) },
            "Integration": {
                "Type": "AWS",
                "IntegrationHttpMethod": "POST",
                "Uri": service_uri("states:action/StartExecution"),
                "Credentials": get_att(API_ROLE, "Arn"),
                "PassthroughBehavior": "NEVER",
                "RequestTemplates": json_templates(sub_with(
                    &api::submit_request_template(),
                    &[
                        (STATE_MACHINE_ARN_VAR, r#ref(STATE_MACHINE)),
                        (RETENTION_DAYS_VAR, r#ref(PARAM_RETENTION_DAYS))
                    ]
                )),
                "IntegrationResponses": integration_responses(api::submit_response_template())
            },
            "MethodResponses": method_responses()
        }
    })
}

fn status_method(options: StackOptions) -> Value {
    json!({
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": r#ref(API),
            "ResourceId": r#ref(STATUS_RESOURCE),
            "HttpMethod": "GET",
            "AuthorizationType": authorization(options),
            "RequestValidatorId": r#ref(REQUEST_VALIDATOR),
            "RequestParameters": {
                "method.request.querystring.limit": false,
                "method.request.querystring.nextToken": false,
                format!("method.request.querystring.{}", status_index::STATUS_PARAM): false
            },
            "Integration": {
                "Type": "AWS",
                "IntegrationHttpMethod": "POST",
                // Path-style: the request template names the action (Scan, or Query on the
                // status index) in both branches; an action-style URI would imply one.
                "Uri": service_uri(status_index::STATUS_INTEGRATION),
                "Credentials": get_att(API_ROLE, "Arn"),
                "RequestParameters": {
                    "integration.request.header.Content-Type":
                        format!("'{}'", status_index::DYNAMODB_CONTENT_TYPE)
                },
                "PassthroughBehavior": "NEVER",
                "RequestTemplates": json_templates(sub_with(
                    &api::status_request_template(),
                    &[(TABLE_NAME_VAR, r#ref(JOBS_TABLE))]
                )),
                "IntegrationResponses": integration_responses(api::status_response_template())
            },
            "MethodResponses": method_responses()
        }
    })
}

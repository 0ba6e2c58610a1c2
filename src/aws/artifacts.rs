//! The artifacts bucket: where a template too large to send inline goes before
//! CloudFormation reads it by `TemplateURL`, as `sam deploy` (its managed bucket) and
//! `cdk deploy` (its bootstrap bucket) do.
//!
//! One bucket per account and region, shared by every stack there, created on first need:
//! encrypted (SSE-S3), public access blocked, TLS required, and uploaded templates expire by a
//! lifecycle rule. `destroy` leaves it, as other stacks may use it. A configuration that
//! stopped half-way is finished by the next deploy that needs the bucket.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use aws_smithy_types::error::operation::BuildError;

use super::account::Account;
use super::sdk;
use crate::output::Ui;
use crate::{Error, Result};

/// Where uploaded templates go inside the bucket; the lifecycle rule covers this prefix.
pub const TEMPLATE_PREFIX: &str = "templates/";
/// Days an uploaded template is kept: CloudFormation reads it while it makes the change set,
/// so only a person investigating a deploy needs it later.
pub const TEMPLATE_EXPIRY_DAYS: i32 = 30;

/// The account's bucket in `region`: bucket names are global, so both parts are in it.
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("waitable-artifacts-{account}-{region}")
}

/// The key of one upload: per stack, newest last when listed.
pub fn template_key(stack: &str, now: chrono::DateTime<chrono::Utc>, nonce: &str) -> String {
    format!(
        "{TEMPLATE_PREFIX}{stack}/{}-{nonce}.json",
        now.format("%Y%m%dT%H%M%SZ")
    )
}

/// The `TemplateURL` for an object: the path-style regional URL `sam deploy` also gives
/// CloudFormation (CloudFormation fetches it itself, so the virtual-host form is not needed).
pub fn template_url(region: &str, bucket: &str, key: &str) -> String {
    let suffix = waitable_core::resolve::url_suffix(region);
    format!("https://s3.{region}.{suffix}/{bucket}/{key}")
}

/// What one upload left where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub bucket: String,
    pub key: String,
    pub url: String,
}

/// The account's bucket in this region, created and configured when it is not there yet.
pub async fn ensure_bucket(
    s3: &Client,
    whose: &Account,
    tls_only: bool,
    ui: &Ui,
) -> Result<String> {
    let (account, region) = (whose.id.as_str(), whose.region.as_str());
    let bucket = bucket_name(account, region);
    match s3
        .head_bucket()
        .bucket(&bucket)
        .expected_bucket_owner(account)
        .send()
        .await
    {
        Ok(_) => {
            // The lifecycle rule is set last: without it, an earlier configuration stopped
            // half-way (every step is idempotent, so finish it).
            if s3
                .get_bucket_lifecycle_configuration()
                .bucket(&bucket)
                .expected_bucket_owner(account)
                .send()
                .await
                .is_err()
            {
                configure(s3, &bucket, whose, tls_only).await?;
            }
            return Ok(bucket);
        }
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {}
        Err(err)
            if err
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 403) =>
        {
            return Err(Error::failed(format!(
                "the artifacts bucket {bucket} exists but this account may not use it (403): \
                 it belongs to another account, or your credentials lack s3:ListBucket on it"
            )));
        }
        Err(err) => return Err(sdk::failed(&format!("looking for bucket {bucket}"), &err)),
    }
    ui.info(format!(
        "creating the artifacts bucket {bucket} (one per account and region, shared by every stack; destroy leaves it)"
    ));
    let mut create = s3.create_bucket().bucket(&bucket);
    // us-east-1 is the one region that refuses a location constraint naming itself.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        // Another deploy made it a moment ago: configuring it again changes nothing.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
        Err(err) => return Err(sdk::failed(&format!("creating bucket {bucket}"), &err)),
    }
    configure(s3, &bucket, whose, tls_only).await?;
    Ok(bucket)
}

/// The account's bucket in this region, when it exists (destroy names what it leaves).
pub async fn existing_bucket(s3: &Client, whose: &Account) -> Option<String> {
    let bucket = bucket_name(&whose.id, &whose.region);
    s3.head_bucket()
        .bucket(&bucket)
        .expected_bucket_owner(&whose.id)
        .send()
        .await
        .ok()
        .map(|_| bucket)
}

/// Encryption, the public access block, TLS only, and (last, as the mark of a finished
/// configuration) the lifecycle rule. Every step is idempotent.
async fn configure(s3: &Client, bucket: &str, whose: &Account, tls_only: bool) -> Result<()> {
    let account = whose.id.as_str();
    let build = |e: BuildError| Error::failed(format!("configuring bucket {bucket}: {e}"));
    s3.put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk::failed(&format!("blocking public access to {bucket}"), &e))?;
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(build)?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .build(),
                )
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(|e| sdk::failed(&format!("encrypting bucket {bucket}"), &e))?;
    if tls_only {
        s3.put_bucket_policy()
            .bucket(bucket)
            .expected_bucket_owner(account)
            .policy(tls_only_policy(&whose.partition, bucket))
            .send()
            .await
            .map_err(|e| sdk::failed(&format!("setting the policy of bucket {bucket}"), &e))?;
    }
    let rule = LifecycleRule::builder()
        .id("expire-uploaded-templates")
        .filter(
            LifecycleRuleFilter::builder()
                .prefix(TEMPLATE_PREFIX)
                .build(),
        )
        .status(ExpirationStatus::Enabled)
        .expiration(
            LifecycleExpiration::builder()
                .days(TEMPLATE_EXPIRY_DAYS)
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()
        .map_err(build)?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .expected_bucket_owner(account)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(|e| sdk::failed(&format!("setting the lifecycle of bucket {bucket}"), &e))?;
    Ok(())
}

/// Refuses every request not made over TLS.
pub fn tls_only_policy(partition: &str, bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [
                format!("arn:{partition}:s3:::{bucket}"),
                format!("arn:{partition}:s3:::{bucket}/*")
            ],
            "Condition": { "Bool": { "aws:SecureTransport": "false" } }
        }]
    })
    .to_string()
}

/// Puts the template in the bucket (made on first need) and returns where CloudFormation
/// reads it.
/// `tls_only` adds the policy refusing plain HTTP; off only for an emulator reached over
/// `http://`, which that policy would lock out.
pub async fn upload_template(
    s3: &Client,
    whose: &Account,
    tls_only: bool,
    stack: &str,
    body: &str,
    ui: &Ui,
) -> Result<Uploaded> {
    let bucket = ensure_bucket(s3, whose, tls_only, ui).await?;
    let key = template_key(
        stack,
        chrono::Utc::now(),
        &uuid::Uuid::new_v4().simple().to_string()[..8],
    );
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .expected_bucket_owner(&whose.id)
        .content_type("application/json")
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .map_err(|e| sdk::failed(&format!("uploading the template to {bucket}"), &e))?;
    Ok(Uploaded {
        url: template_url(&whose.region, &bucket, &key),
        bucket,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_is_named_for_its_account_and_region_within_s3s_limit() {
        let name = bucket_name("123456789012", "ap-southeast-4");
        assert_eq!(name, "waitable-artifacts-123456789012-ap-southeast-4");
        assert!(name.len() <= 63);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn template_urls_are_path_style_and_regional() {
        assert_eq!(
            template_url("eu-west-1", "b", "templates/s/x.json"),
            "https://s3.eu-west-1.amazonaws.com/b/templates/s/x.json"
        );
        assert!(template_url("cn-north-1", "b", "k").contains(".amazonaws.com.cn/"));
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            template_key("s", now, "abcd1234"),
            "templates/s/20260102T030405Z-abcd1234.json"
        );
    }

    #[test]
    fn the_policy_denies_plain_http() {
        let p: serde_json::Value = serde_json::from_str(&tls_only_policy("aws", "b")).unwrap();
        let st = &p["Statement"][0];
        assert_eq!(st["Effect"], "Deny");
        assert_eq!(st["Resource"][1], "arn:aws:s3:::b/*");
        assert_eq!(st["Condition"]["Bool"]["aws:SecureTransport"], "false");
    }
}

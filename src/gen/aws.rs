//! AWS vocabulary of the records: regions, service endpoints, CloudTrail's time formats and
//! event-name helpers.

use chrono::{DateTime, Utc};

pub(super) const US_EAST_1: &str = "us-east-1";
pub(super) const EU_WEST_1: &str = "eu-west-1";
pub(super) const US_WEST_2: &str = "us-west-2";

pub(super) const STS: &str = "sts.amazonaws.com";
pub(super) const IAM: &str = "iam.amazonaws.com";
pub(super) const S3: &str = "s3.amazonaws.com";
pub(super) const EC2: &str = "ec2.amazonaws.com";
pub(super) const LAMBDA: &str = "lambda.amazonaws.com";
pub(super) const KMS: &str = "kms.amazonaws.com";
pub(super) const SSM: &str = "ssm.amazonaws.com";
pub(super) const SECRETS: &str = "secretsmanager.amazonaws.com";
pub(super) const CFN: &str = "cloudformation.amazonaws.com";
pub(super) const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";
pub(super) const ORGS: &str = "organizations.amazonaws.com";
pub(super) const SIGNIN: &str = "signin.amazonaws.com";

pub(super) fn dt(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// `2024-03-11T08:54:28Z` (eventTime, creationDate).
pub(super) fn iso(t: i64) -> String {
    dt(t).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `Mar 11, 2024, 9:54:28 PM` (credentials.expiration, accessKey.createDate; 2023+ style).
pub(super) fn us_time(t: i64) -> String {
    dt(t).format("%b %-d, %Y, %-I:%M:%S %p").to_string()
}

/// `Mar 11, 2024 9:54:28 PM` (user/loginProfile createDate as seen in real 2023 logs).
pub(super) fn us_time_no_comma(t: i64) -> String {
    dt(t).format("%b %-d, %Y %-I:%M:%S %p").to_string()
}

pub(super) fn read_only(name: &str) -> bool {
    ["Describe", "List", "Get", "Head", "Lookup", "AssumeRole", "Decrypt"]
        .iter()
        .any(|p| name.starts_with(p))
        && name != "GetSessionToken"
        && name != "GetFederationToken"
}

/// IAM action name of an event name (`ListFunctions20150331` → `ListFunctions`).
pub(super) fn action_of(name: &str) -> &str {
    match name.find("2015") {
        Some(i) => &name[..i],
        None => name,
    }
}

pub(super) fn service_of(src: &str) -> &str {
    src.split('.').next().unwrap_or(src)
}

//! The event-table schema: the columns of `trailhound export` and how each is read from and
//! written back into an [`Event`]. Shared by the exporter ([`crate::export`]) and the Parquet
//! reader of ingest (`crate::ingest::parquet`), which reads the exported table back.

use super::Event;

/// How a column is read from an [`Event`] and written back into one.
#[derive(Clone, Copy)]
pub enum Access {
    Str(fn(&Event) -> Option<&str>, fn(&mut Event, String)),
    /// Unix seconds in the model; `Datetime(ms, UTC)` in Parquet, ISO 8601 in CSV/JSON Lines.
    Time(fn(&Event) -> Option<i64>, fn(&mut Event, i64)),
    Bool(fn(&Event) -> Option<bool>, fn(&mut Event, bool)),
    Int(fn(&Event) -> Option<i64>, fn(&mut Event, i64)),
}

/// The export schema: every field of the normalized [`Event`], so that `sessions`, `blast`
/// and `plan` can start from exported Parquet (SPEC §7) and reach the same result as from
/// the JSON it came from. `file` and `record` (the source of each row) are written after
/// these and are not read back: a row read from Parquet is traced to the Parquet file.
pub const COLUMNS: &[(&str, Access)] = &[
    ("event_id", Access::Str(|e| Some(&e.id), |e, v| e.id = v)),
    ("event_time", Access::Time(|e| Some(e.time), |e, v| e.time = v)),
    ("event_version", Access::Str(|e| e.version.as_deref(), |e, v| e.version = Some(v))),
    ("event_source", Access::Str(|e| Some(&e.source), |e, v| e.source = v)),
    ("event_name", Access::Str(|e| Some(&e.name), |e, v| e.name = v)),
    ("aws_region", Access::Str(|e| e.region.as_deref(), |e, v| e.region = Some(v))),
    ("source_ip", Access::Str(|e| e.source_ip.as_deref(), |e, v| e.source_ip = Some(v))),
    ("user_agent", Access::Str(|e| e.user_agent.as_deref(), |e, v| e.user_agent = Some(v))),
    ("error_code", Access::Str(|e| e.error_code.as_deref(), |e, v| e.error_code = Some(v))),
    (
        "error_message",
        Access::Str(|e| e.error_message.as_deref(), |e, v| e.error_message = Some(v)),
    ),
    ("read_only", Access::Bool(|e| e.read_only, |e, v| e.read_only = Some(v))),
    ("event_type", Access::Str(|e| e.event_type.as_deref(), |e, v| e.event_type = Some(v))),
    ("event_category", Access::Str(|e| e.category.as_deref(), |e, v| e.category = Some(v))),
    ("request_id", Access::Str(|e| e.request_id.as_deref(), |e, v| e.request_id = Some(v))),
    (
        "recipient_account_id",
        Access::Str(|e| e.recipient_account.as_deref(), |e, v| e.recipient_account = Some(v)),
    ),
    (
        "shared_event_id",
        Access::Str(|e| e.shared_event_id.as_deref(), |e, v| e.shared_event_id = Some(v)),
    ),
    (
        "identity_type",
        Access::Str(|e| e.identity.kind.as_deref(), |e, v| e.identity.kind = Some(v)),
    ),
    (
        "principal_id",
        Access::Str(
            |e| e.identity.principal_id.as_deref(),
            |e, v| e.identity.principal_id = Some(v),
        ),
    ),
    ("principal_arn", Access::Str(|e| e.identity.arn.as_deref(), |e, v| e.identity.arn = Some(v))),
    (
        "account_id",
        Access::Str(|e| e.identity.account_id.as_deref(), |e, v| e.identity.account_id = Some(v)),
    ),
    (
        "access_key_id",
        Access::Str(
            |e| e.identity.access_key_id.as_deref(),
            |e, v| e.identity.access_key_id = Some(v),
        ),
    ),
    (
        "user_name",
        Access::Str(|e| e.identity.user_name.as_deref(), |e, v| e.identity.user_name = Some(v)),
    ),
    (
        "invoked_by",
        Access::Str(|e| e.identity.invoked_by.as_deref(), |e, v| e.identity.invoked_by = Some(v)),
    ),
    (
        "identity_provider",
        Access::Str(
            |e| e.identity.identity_provider.as_deref(),
            |e, v| e.identity.identity_provider = Some(v),
        ),
    ),
    (
        "session_issuer_type",
        Access::Str(|e| e.identity.issuer_kind.as_deref(), |e, v| e.identity.issuer_kind = Some(v)),
    ),
    (
        "session_issuer_arn",
        Access::Str(|e| e.identity.issuer_arn.as_deref(), |e, v| e.identity.issuer_arn = Some(v)),
    ),
    (
        "session_issuer_principal_id",
        Access::Str(
            |e| e.identity.issuer_principal_id.as_deref(),
            |e, v| e.identity.issuer_principal_id = Some(v),
        ),
    ),
    (
        "session_issuer_account_id",
        Access::Str(
            |e| e.identity.issuer_account_id.as_deref(),
            |e, v| e.identity.issuer_account_id = Some(v),
        ),
    ),
    (
        "session_issuer_user_name",
        Access::Str(
            |e| e.identity.issuer_user_name.as_deref(),
            |e, v| e.identity.issuer_user_name = Some(v),
        ),
    ),
    (
        "session_created",
        Access::Time(|e| e.identity.creation_date, |e, v| e.identity.creation_date = Some(v)),
    ),
    (
        "mfa_authenticated",
        Access::Bool(
            |e| e.identity.mfa_authenticated,
            |e, v| e.identity.mfa_authenticated = Some(v),
        ),
    ),
    (
        "source_identity",
        Access::Str(
            |e| e.identity.source_identity.as_deref(),
            |e, v| e.identity.source_identity = Some(v),
        ),
    ),
    (
        "ec2_role_delivery",
        Access::Str(
            |e| e.identity.ec2_role_delivery.as_deref(),
            |e, v| e.identity.ec2_role_delivery = Some(v),
        ),
    ),
    (
        "session_credential_from_console",
        Access::Bool(
            |e| e.identity.from_console.then_some(true),
            |e, v| e.identity.from_console = v,
        ),
    ),
    (
        "role_arn",
        Access::Str(|e| e.request.role_arn.as_deref(), |e, v| e.request.role_arn = Some(v)),
    ),
    (
        "role_session_name",
        Access::Str(
            |e| e.request.role_session_name.as_deref(),
            |e, v| e.request.role_session_name = Some(v),
        ),
    ),
    (
        "duration_seconds",
        Access::Int(|e| e.request.duration_seconds, |e, v| e.request.duration_seconds = Some(v)),
    ),
    (
        "request_user_name",
        Access::Str(|e| e.request.user_name.as_deref(), |e, v| e.request.user_name = Some(v)),
    ),
    ("request_name", Access::Str(|e| e.request.name.as_deref(), |e, v| e.request.name = Some(v))),
    (
        "request_source_identity",
        Access::Str(
            |e| e.request.source_identity.as_deref(),
            |e, v| e.request.source_identity = Some(v),
        ),
    ),
    (
        "request_principal_arn",
        Access::Str(
            |e| e.request.principal_arn.as_deref(),
            |e, v| e.request.principal_arn = Some(v),
        ),
    ),
    (
        "request_role_name",
        Access::Str(|e| e.request.role_name.as_deref(), |e, v| e.request.role_name = Some(v)),
    ),
    (
        "request_policy_arn",
        Access::Str(|e| e.request.policy_arn.as_deref(), |e, v| e.request.policy_arn = Some(v)),
    ),
    (
        "request_policy_name",
        Access::Str(|e| e.request.policy_name.as_deref(), |e, v| e.request.policy_name = Some(v)),
    ),
    (
        "request_policy_size",
        Access::Int(|e| e.request.policy_size, |e, v| e.request.policy_size = Some(v)),
    ),
    (
        "request_new_user_name",
        Access::Str(
            |e| e.request.new_user_name.as_deref(),
            |e, v| e.request.new_user_name = Some(v),
        ),
    ),
    (
        "request_group_name",
        Access::Str(|e| e.request.group_name.as_deref(), |e, v| e.request.group_name = Some(v)),
    ),
    (
        "request_access_key_id",
        Access::Str(
            |e| e.request.access_key_id.as_deref(),
            |e, v| e.request.access_key_id = Some(v),
        ),
    ),
    (
        "request_status",
        Access::Str(|e| e.request.status.as_deref(), |e, v| e.request.status = Some(v)),
    ),
    (
        "request_bucket_name",
        Access::Str(|e| e.request.bucket_name.as_deref(), |e, v| e.request.bucket_name = Some(v)),
    ),
    ("request_key", Access::Str(|e| e.request.key.as_deref(), |e, v| e.request.key = Some(v))),
    (
        "request_function_name",
        Access::Str(
            |e| e.request.function_name.as_deref(),
            |e, v| e.request.function_name = Some(v),
        ),
    ),
    (
        "request_secret_id",
        Access::Str(|e| e.request.secret_id.as_deref(), |e, v| e.request.secret_id = Some(v)),
    ),
    (
        "request_instance_id",
        Access::Str(|e| e.request.instance_id.as_deref(), |e, v| e.request.instance_id = Some(v)),
    ),
    (
        "request_target_principal",
        Access::Str(
            |e| e.request.target_principal.as_deref(),
            |e, v| e.request.target_principal = Some(v),
        ),
    ),
    (
        "request_passed_role",
        Access::Str(|e| e.request.passed_role.as_deref(), |e, v| e.request.passed_role = Some(v)),
    ),
    (
        "issued_access_key_id",
        Access::Str(
            |e| e.response.credentials_key.as_deref(),
            |e, v| e.response.credentials_key = Some(v),
        ),
    ),
    (
        "issued_expiration",
        Access::Time(
            |e| e.response.credentials_expiration,
            |e, v| e.response.credentials_expiration = Some(v),
        ),
    ),
    (
        "issued_principal_arn",
        Access::Str(
            |e| e.response.assumed_role_arn.as_deref(),
            |e, v| e.response.assumed_role_arn = Some(v),
        ),
    ),
    (
        "issued_principal_id",
        Access::Str(
            |e| e.response.assumed_role_id.as_deref(),
            |e, v| e.response.assumed_role_id = Some(v),
        ),
    ),
    (
        "federated_user_arn",
        Access::Str(
            |e| e.response.federated_user_arn.as_deref(),
            |e, v| e.response.federated_user_arn = Some(v),
        ),
    ),
    (
        "federated_user_id",
        Access::Str(
            |e| e.response.federated_user_id.as_deref(),
            |e, v| e.response.federated_user_id = Some(v),
        ),
    ),
    (
        "created_access_key_id",
        Access::Str(
            |e| e.response.access_key_id.as_deref(),
            |e, v| e.response.access_key_id = Some(v),
        ),
    ),
    (
        "created_access_key_user",
        Access::Str(
            |e| e.response.access_key_user.as_deref(),
            |e, v| e.response.access_key_user = Some(v),
        ),
    ),
    (
        "created_access_key_date",
        Access::Time(
            |e| e.response.access_key_created,
            |e, v| e.response.access_key_created = Some(v),
        ),
    ),
    (
        "created_user_arn",
        Access::Str(|e| e.response.user_arn.as_deref(), |e, v| e.response.user_arn = Some(v)),
    ),
    (
        "created_user_id",
        Access::Str(|e| e.response.user_id.as_deref(), |e, v| e.response.user_id = Some(v)),
    ),
    (
        "created_user_name",
        Access::Str(|e| e.response.user_name.as_deref(), |e, v| e.response.user_name = Some(v)),
    ),
    (
        "login_profile_user",
        Access::Str(
            |e| e.response.login_profile_user.as_deref(),
            |e, v| e.response.login_profile_user = Some(v),
        ),
    ),
    (
        "created_role_arn",
        Access::Str(|e| e.response.role_arn.as_deref(), |e, v| e.response.role_arn = Some(v)),
    ),
    (
        "response_subject",
        Access::Str(|e| e.response.subject.as_deref(), |e, v| e.response.subject = Some(v)),
    ),
    (
        "response_provider",
        Access::Str(|e| e.response.provider.as_deref(), |e, v| e.response.provider = Some(v)),
    ),
    (
        "response_source_identity",
        Access::Str(
            |e| e.response.source_identity.as_deref(),
            |e, v| e.response.source_identity = Some(v),
        ),
    ),
    (
        "console_login",
        Access::Str(
            |e| e.response.console_login.as_deref(),
            |e, v| e.response.console_login = Some(v),
        ),
    ),
    (
        "response_instance_ids",
        Access::Str(
            |e| e.response.instance_ids.as_deref(),
            |e, v| e.response.instance_ids = Some(v),
        ),
    ),
    (
        "created_credential_id",
        Access::Str(
            |e| e.response.credential_id.as_deref(),
            |e, v| e.response.credential_id = Some(v),
        ),
    ),
];

/// Resource ARNs are one column, joined with this separator ([`join_resources`]).
pub const RESOURCE_SEPARATOR: char = ';';

/// The `resources` column's value: the ARNs joined with [`RESOURCE_SEPARATOR`], a `;` or `\`
/// inside one preceded by `\`. An S3 object's key is named by whoever writes the object and
/// may hold a `;`: joined as it was, `loot;arn:aws:s3:::payroll` read back from Parquet as two
/// resources, and the plan denied a bucket nobody touched.
pub fn join_resources(list: &[String]) -> String {
    let mut out = String::new();
    for (i, r) in list.iter().enumerate() {
        if i > 0 {
            out.push(RESOURCE_SEPARATOR);
        }
        for c in r.chars() {
            if c == RESOURCE_SEPARATOR || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// The ARNs of a `resources` value ([`join_resources`]); empty ones are left out. (An export
/// from before the escaping whose resources held a `\` reads back without it.)
pub fn split_resources(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            RESOURCE_SEPARATOR => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod resource_tests {
    use super::*;

    #[test]
    fn resources_with_separators_and_backslashes_survive_the_column() {
        let list: Vec<String> = [
            "arn:aws:s3:::b/loot;arn:aws:s3:::payroll",
            "arn:aws:s3:::b/a\\;b\\",
            "arn:aws:iam::111122223333:role/R",
        ]
        .map(String::from)
        .into();
        let joined = join_resources(&list);
        assert_eq!(joined.matches(RESOURCE_SEPARATOR).count(), 2 + 2);
        assert_eq!(split_resources(&joined), list);
        assert_eq!(split_resources("a;;b;"), ["a", "b"], "empty ones are left out");
        assert!(split_resources("").is_empty());
    }
}

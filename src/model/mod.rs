//! The normalized event: what every stage after ingest works on.
//!
//! One [`Event`] per unique CloudTrail record (deduplicated on `eventID`), with the fields the
//! session-chain, blast-radius and plan stages need, already typed: times are unix seconds,
//! empty strings are `None` (F17), and the STS/IAM request and response fields of the
//! credential-issuing and persistence events (SPEC §3) are lifted out of the free-form
//! `requestParameters`/`responseElements`. Every event remembers where it came from
//! ([`Origin`]) so any finding can be traced back to a file and record.

pub mod arn;
mod columns;
pub mod names;
mod seed;
pub use seed::SeedKey;

pub use columns::{join_resources, split_resources, Access, COLUMNS};

use serde::Serialize;

/// Where an event was read: index into the ingest's file list, and record index in that file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    /// Index into [`crate::ingest::Ingest::files`].
    pub file: u32,
    /// Zero-based position of the record inside its file (line number for JSON Lines).
    pub record: u32,
}

/// `userIdentity`, normalized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `type`: Root, IAMUser, AssumedRole, FederatedUser, AWSAccount, AWSService, SAMLUser, …
    pub kind: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    /// The access key that signed the call; `None` when absent or `""` (F17).
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    /// Service that made the call on the principal's behalf (`invokedBy`).
    pub invoked_by: Option<String>,
    /// SAML / OIDC provider (`identityProvider`) of SAMLUser and WebIdentityUser callers.
    pub identity_provider: Option<String>,
    /// `sessionContext.sessionIssuer.type` (Role, IAMUser, Root).
    pub issuer_kind: Option<String>,
    pub issuer_arn: Option<String>,
    pub issuer_principal_id: Option<String>,
    pub issuer_account_id: Option<String>,
    pub issuer_user_name: Option<String>,
    /// `sessionContext.attributes.creationDate`: the session's `aws:TokenIssueTime` (F5).
    pub creation_date: Option<i64>,
    pub mfa_authenticated: Option<bool>,
    /// `sessionContext.sourceIdentity` (survives role chaining, F4).
    pub source_identity: Option<String>,
    /// `sessionContext.ec2RoleDelivery`: set on EC2 instance-profile sessions.
    pub ec2_role_delivery: Option<String>,
    /// `sessionCredentialFromConsole` (a top-level record field, kept with the identity).
    pub from_console: bool,
}

/// What one call says about the credential that signed it, in borrowed form: built from an
/// issuing call ([`crate::ingest::IssuingCall::as_use`]) or from the interned
/// [`crate::ingest::CredFacts`] ([`crate::ingest::Ingest::use_of`]) without allocating.
#[derive(Debug, Clone, Copy, Default)]
pub struct Use<'a> {
    pub kind: Option<&'a str>,
    pub arn: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub principal_id: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub issuer_kind: Option<&'a str>,
    pub issuer_arn: Option<&'a str>,
    /// `sessionContext.sourceIdentity` (F4: it survives role chaining).
    pub source_identity: Option<&'a str>,
    pub from_console: bool,
    pub ec2_instance: bool,
}

/// True when `key` is a temporary STS access key id (`ASIA…`).
pub fn is_temporary_key(key: &str) -> bool {
    key.starts_with("ASIA")
}

/// True when `key` is a long-term access key id (`AKIA…`).
pub fn is_long_term_key(key: &str) -> bool {
    key.starts_with("AKIA")
}

/// The `requestParameters` fields used by later stages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub duration_seconds: Option<i64>,
    pub user_name: Option<String>,
    /// GetFederationToken `name`, also generic `name` parameters; for SSM `GetParameters` and
    /// `GetParametersByPath`, the names read joined by spaces, or the path
    /// (`crate::ingest::raw::RawRequest::parameters_read`).
    pub name: Option<String>,
    pub source_identity: Option<String>,
    /// AssumeRoleWithSAML `principalArn` (the SAML provider), or the provider an
    /// `UpdateSAMLProvider` re-points (`sAMLProviderArn`).
    pub principal_arn: Option<String>,
    pub role_name: Option<String>,
    pub policy_arn: Option<String>,
    pub policy_name: Option<String>,
    /// The characters of `policyDocument` as F8 counts them (no whitespace), for an inline
    /// policy put on a user or role: what the plan's inline deny must still fit beside.
    pub policy_size: Option<i64>,
    /// `UpdateUser`'s `newUserName`: the user's inline policies go with it.
    pub new_user_name: Option<String>,
    pub group_name: Option<String>,
    pub access_key_id: Option<String>,
    pub status: Option<String>,
    pub bucket_name: Option<String>,
    pub key: Option<String>,
    pub function_name: Option<String>,
    pub secret_id: Option<String>,
    pub instance_id: Option<String>,
    pub target_principal: Option<String>,
    /// Every role or instance-profile ARN in `requestParameters`, at any depth, and every
    /// bare role name where the request says it is a role's, sorted and joined by spaces (IAM
    /// allows none in an ARN or a name): what the call hands a service to act with
    /// (`iam:PassRole`), under whatever parameter name the service gives it
    /// (`crate::ingest::tape::passed_roles`).
    pub passed_role: Option<String>,
}

/// The `responseElements` fields used by later stages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// `credentials.accessKeyId`: the key an STS call issued (F1).
    pub credentials_key: Option<String>,
    /// `credentials.expiration`, parsed from the US-style string (F12).
    pub credentials_expiration: Option<i64>,
    /// `assumedRoleUser.arn` / `.assumedRoleId` (AssumeRole*).
    pub assumed_role_arn: Option<String>,
    pub assumed_role_id: Option<String>,
    /// `federatedUser.arn` / `.federatedUserId` (GetFederationToken).
    pub federated_user_arn: Option<String>,
    pub federated_user_id: Option<String>,
    /// `accessKey.*` (CreateAccessKey).
    pub access_key_id: Option<String>,
    pub access_key_user: Option<String>,
    pub access_key_created: Option<i64>,
    /// `user.*` (CreateUser).
    pub user_arn: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    /// `loginProfile.userName` (CreateLoginProfile).
    pub login_profile_user: Option<String>,
    /// `role.arn` (CreateRole).
    pub role_arn: Option<String>,
    /// SAML `subject` / OIDC `subjectFromWebIdentityToken`.
    pub subject: Option<String>,
    /// SAML `issuer` / OIDC `provider`.
    pub provider: Option<String>,
    pub source_identity: Option<String>,
    /// `ConsoleLogin` result (`Success` / `Failure`).
    pub console_login: Option<String>,
    /// `instancesSet.items[].instanceId` (RunInstances): the instances launched, comma-separated.
    pub instance_ids: Option<String>,
    /// The id of another long-term credential of an IAM user the call made:
    /// `sSHPublicKey.sSHPublicKeyId` (UploadSSHPublicKey), `serviceSpecificCredential.
    /// serviceSpecificCredentialId` (CreateServiceSpecificCredential), `certificate.
    /// certificateId` (UploadSigningCertificate).
    pub credential_id: Option<String>,
}

/// An EC2 instance id as EC2 gives them: `i-` and 8 or 17 lower-case hex digits. An instance's
/// role sessions are named by it (CLOUDTRAIL.md §5), so it is what links a launch to them.
pub fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|h| {
        matches!(h.len(), 8 | 17)
            && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// One unique CloudTrail event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// `eventID`; records without one get `noid:<file>:<record>` and are never deduplicated.
    pub id: String,
    /// `eventTime`, unix seconds.
    pub time: i64,
    pub version: Option<String>,
    pub source: String,
    pub name: String,
    pub region: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub read_only: Option<bool>,
    pub event_type: Option<String>,
    pub category: Option<String>,
    pub request_id: Option<String>,
    pub recipient_account: Option<String>,
    pub shared_event_id: Option<String>,
    pub identity: Identity,
    pub request: Request,
    pub response: Response,
    /// `resources[].ARN`, plus S3 object/bucket ARNs derived from the request.
    pub resources: Vec<String>,
    pub origin: Origin,
}

impl Event {
    /// True when the call failed (`errorCode` set).
    pub fn failed(&self) -> bool {
        self.error_code.is_some()
    }

    /// The account the event belongs to: `recipientAccountId`, else the caller's account.
    pub fn account(&self) -> Option<&str> {
        self.recipient_account.as_deref().or(self.identity.account_id.as_deref())
    }
}

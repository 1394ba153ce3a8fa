//! The session graph's projection of the credential-issuing calls: which events are kept
//! in full ([`needs_detail`]) and the part of them the graph reads ([`IssuingCall`]).

use crate::model::names::{STS_ISSUERS, USER_GRANTS};
use crate::model::{Event, Origin};

/// An issuing call as kept in [`Ingest::details`](super::Ingest::details): only the fields the
/// session graph reads. A full [`Event`] is 1.6 KB before any of its strings; a large trail has
/// hundreds of thousands of issuing calls, so they are kept in this third of the size (user agent,
/// request id, resources and the request/response fields of other APIs are read back from the files
/// when a report needs them). Field names mirror [`Event`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuingCall {
    pub id: String,
    pub time: i64,
    pub name: String,
    pub source_ip: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub recipient_account: Option<String>,
    pub shared_event_id: Option<String>,
    pub identity: crate::model::Identity,
    pub request: IssuingRequest,
    pub response: IssuingResponse,
    pub origin: Origin,
}

/// The `requestParameters` of an issuing call that the graph reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuingRequest {
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub user_name: Option<String>,
    pub principal_arn: Option<String>,
    pub target_principal: Option<String>,
}

/// The `responseElements` of an issuing call that the graph reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuingResponse {
    pub credentials_key: Option<String>,
    pub credentials_expiration: Option<i64>,
    pub assumed_role_arn: Option<String>,
    pub assumed_role_id: Option<String>,
    pub federated_user_arn: Option<String>,
    pub federated_user_id: Option<String>,
    pub access_key_id: Option<String>,
    pub access_key_user: Option<String>,
    pub access_key_created: Option<i64>,
    pub provider: Option<String>,
    pub subject: Option<String>,
    /// `user.arn` / `user.userName` (CreateUser) and `loginProfile.userName`
    /// (CreateLoginProfile): the users a tainted credential made or took over (SPEC §9).
    pub user_arn: Option<String>,
    pub user_name: Option<String>,
    pub login_profile_user: Option<String>,
}

impl IssuingCall {
    /// True when the call failed (`errorCode` set).
    pub fn failed(&self) -> bool {
        self.error_code.is_some()
    }
}

/// The part of an issuing event the session graph keeps ([`IssuingCall`]).
pub fn for_graph(e: Event) -> IssuingCall {
    use crate::model::Identity;
    let i = e.identity;
    let q = e.request;
    let p = e.response;
    IssuingCall {
        id: e.id,
        time: e.time,
        name: e.name,
        source_ip: e.source_ip,
        error_code: e.error_code,
        error_message: e.error_message,
        recipient_account: e.recipient_account,
        shared_event_id: e.shared_event_id,
        origin: e.origin,
        identity: Identity {
            kind: i.kind,
            principal_id: i.principal_id,
            arn: i.arn,
            account_id: i.account_id,
            access_key_id: i.access_key_id,
            user_name: i.user_name,
            invoked_by: i.invoked_by,
            identity_provider: i.identity_provider,
            issuer_kind: i.issuer_kind,
            issuer_arn: i.issuer_arn,
            creation_date: i.creation_date,
            ec2_role_delivery: i.ec2_role_delivery,
            from_console: i.from_console,
            ..Identity::default()
        },
        request: IssuingRequest {
            role_arn: q.role_arn,
            role_session_name: q.role_session_name,
            user_name: q.user_name,
            principal_arn: q.principal_arn,
            target_principal: q.target_principal,
        },
        response: IssuingResponse {
            credentials_key: p.credentials_key,
            credentials_expiration: p.credentials_expiration,
            assumed_role_arn: p.assumed_role_arn,
            assumed_role_id: p.assumed_role_id,
            federated_user_arn: p.federated_user_arn,
            federated_user_id: p.federated_user_id,
            access_key_id: p.access_key_id,
            access_key_user: p.access_key_user,
            access_key_created: p.access_key_created,
            provider: p.provider,
            subject: p.subject,
            user_arn: p.user_arn,
            user_name: p.user_name,
            login_profile_user: p.login_profile_user,
        },
    }
}

/// Event names whose full record the session graph needs: credential-issuing calls (F1)
/// and the calls that make a user the attacker's (SPEC §9: CreateUser, a login profile
/// created or changed).
pub fn needs_detail(name: &str) -> bool {
    STS_ISSUERS.contains(&name) || name == "CreateAccessKey" || USER_GRANTS.contains(&name)
}

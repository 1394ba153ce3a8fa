//! The shape of one CloudTrail record, field order as CloudTrail writes it, and the
//! `userIdentity` block of each kind of credential.

use serde::Serialize;
use serde_json::Value;

use super::aws::iso;
use super::identity::{Cred, Who};

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Ident {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) session_context: Option<SessionCtx>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_provider: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionCtx {
    session_issuer: Issuer,
    web_id_federation_data: Empty,
    pub(super) attributes: Attrs,
    #[serde(skip_serializing_if = "Option::is_none")]
    ec2_role_delivery: Option<&'static str>,
}

/// Serializes as `{}`.
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Issuer {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Attrs {
    pub(super) creation_date: String,
    mfa_authenticated: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Record {
    #[serde(skip)]
    pub(super) t: i64,
    pub(super) event_version: &'static str,
    pub(super) user_identity: Ident,
    pub(super) event_time: String,
    pub(super) event_source: &'static str,
    pub(super) event_name: &'static str,
    pub(super) aws_region: &'static str,
    #[serde(rename = "sourceIPAddress")]
    pub(super) source_ip_address: String,
    pub(super) user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error_message: Option<String>,
    pub(super) request_parameters: Value,
    pub(super) response_elements: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) additional_event_data: Option<Value>,
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    pub(super) request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub(super) event_id: String,
    pub(super) read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) resources: Option<Value>,
    pub(super) event_type: &'static str,
    pub(super) management_event: bool,
    pub(super) recipient_account_id: &'static str,
    #[serde(rename = "sharedEventID", skip_serializing_if = "Option::is_none")]
    pub(super) shared_event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) service_event_details: Option<Value>,
    pub(super) event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tls_details: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) session_credential_from_console: Option<&'static str>,
}

fn attrs(c: &Cred) -> Option<Attrs> {
    c.created.map(|t| Attrs {
        creation_date: iso(t),
        mfa_authenticated: if c.mfa { "true" } else { "false" },
    })
}

fn empty_issuer_ctx(c: &Cred) -> Option<SessionCtx> {
    attrs(c).map(|a| SessionCtx {
        session_issuer: Issuer::default(),
        web_id_federation_data: Empty {},
        attributes: a,
        ec2_role_delivery: None,
    })
}

pub(super) fn ident(c: &Cred) -> Ident {
    match &c.who {
        Who::User(u) => Ident {
            kind: Some("IAMUser"),
            principal_id: Some(u.id.clone()),
            arn: Some(u.arn()),
            account_id: Some(u.acct.to_string()),
            access_key_id: c.key.clone(),
            user_name: Some(u.name.clone()),
            session_context: empty_issuer_ctx(c),
            invoked_by: c.invoked_by,
            identity_provider: None,
        },
        Who::Root(a) => Ident {
            kind: Some("Root"),
            principal_id: Some((*a).to_string()),
            arn: Some(c.arn()),
            account_id: Some((*a).to_string()),
            access_key_id: c.key.clone(),
            session_context: empty_issuer_ctx(c),
            invoked_by: c.invoked_by,
            ..Ident::default()
        },
        Who::Role(r, _) => Ident {
            kind: Some("AssumedRole"),
            principal_id: Some(c.principal_id()),
            arn: Some(c.arn()),
            account_id: Some(r.acct.to_string()),
            access_key_id: c.key.clone(),
            user_name: None,
            session_context: attrs(c).map(|a| SessionCtx {
                session_issuer: Issuer {
                    kind: Some("Role"),
                    principal_id: Some(r.id.clone()),
                    arn: Some(r.arn()),
                    account_id: Some(r.acct.to_string()),
                    user_name: Some(r.name.clone()),
                },
                web_id_federation_data: Empty {},
                attributes: a,
                ec2_role_delivery: if c.ec2 { Some("2.0") } else { None },
            }),
            invoked_by: c.invoked_by,
            identity_provider: None,
        },
        Who::Federated { user, .. } => Ident {
            kind: Some("FederatedUser"),
            principal_id: Some(c.principal_id()),
            arn: Some(c.arn()),
            account_id: Some(user.acct.to_string()),
            access_key_id: c.key.clone(),
            session_context: attrs(c).map(|a| SessionCtx {
                session_issuer: Issuer {
                    kind: Some("IAMUser"),
                    principal_id: Some(user.id.clone()),
                    arn: Some(user.arn()),
                    account_id: Some(user.acct.to_string()),
                    user_name: Some(user.name.clone()),
                },
                web_id_federation_data: Empty {},
                attributes: a,
                ec2_role_delivery: None,
            }),
            ..Ident::default()
        },
        Who::Service(by) => {
            Ident { kind: Some("AWSService"), invoked_by: Some(by), ..Ident::default() }
        }
        Who::Account { acct, principal } => Ident {
            kind: Some("AWSAccount"),
            principal_id: Some(principal.clone()),
            account_id: Some((*acct).to_string()),
            ..Ident::default()
        },
        Who::Saml { principal, user, provider } => Ident {
            kind: Some("SAMLUser"),
            principal_id: Some(principal.clone()),
            user_name: Some(user.clone()),
            identity_provider: Some(provider.clone()),
            ..Ident::default()
        },
        Who::Web { principal, user, provider } => Ident {
            kind: Some("WebIdentityUser"),
            principal_id: Some(principal.clone()),
            user_name: Some(user.clone()),
            identity_provider: Some(provider.clone()),
            ..Ident::default()
        },
        Who::Untyped { acct, by } => Ident {
            account_id: Some((*acct).to_string()),
            invoked_by: Some(by),
            ..Ident::default()
        },
    }
}

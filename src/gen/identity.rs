//! Identities: IAM users and roles, who a credential belongs to (`Who`), the credential as it
//! appears in `userIdentity` (`Cred`) and where it is used from (`Actor`).

use super::agent::Ua;
use super::MAIN_ACCOUNT;

#[derive(Clone, Debug)]
pub(super) struct UserDef {
    pub(super) acct: &'static str,
    pub(super) name: String,
    pub(super) id: String,
    pub(super) key: Option<String>,
}

impl UserDef {
    pub(super) fn arn(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.acct, self.name)
    }
}

#[derive(Clone, Debug)]
pub(super) struct RoleDef {
    pub(super) acct: &'static str,
    pub(super) name: String,
    pub(super) path: String,
    pub(super) id: String,
}

impl RoleDef {
    pub(super) fn arn(&self) -> String {
        format!("arn:aws:iam::{}:role{}{}", self.acct, self.path, self.name)
    }
}

#[derive(Clone, Debug)]
pub(super) enum Who {
    User(UserDef),
    Root(&'static str),
    Role(RoleDef, String),
    Federated { name: String, user: UserDef },
    Service(&'static str),
    Account { acct: &'static str, principal: String },
    Saml { principal: String, user: String, provider: String },
    Web { principal: String, user: String, provider: String },
    Untyped { acct: &'static str, by: &'static str },
}

/// A credential as it appears in `userIdentity`.
#[derive(Clone, Debug)]
pub(super) struct Cred {
    pub(super) who: Who,
    pub(super) key: Option<String>,
    pub(super) created: Option<i64>,
    pub(super) expires: Option<i64>,
    pub(super) mfa: bool,
    pub(super) console: bool,
    pub(super) ec2: bool,
    pub(super) invoked_by: Option<&'static str>,
}

impl Cred {
    pub(super) fn new(who: Who, key: Option<String>) -> Self {
        Cred {
            who,
            key,
            created: None,
            expires: None,
            mfa: false,
            console: false,
            ec2: false,
            invoked_by: None,
        }
    }

    pub(super) fn user(u: &UserDef) -> Self {
        Cred::new(Who::User(u.clone()), u.key.clone())
    }

    pub(super) fn acct(&self) -> &'static str {
        match &self.who {
            Who::User(u) | Who::Federated { user: u, .. } => u.acct,
            Who::Root(a) => a,
            Who::Role(r, _) => r.acct,
            Who::Account { acct, .. } | Who::Untyped { acct, .. } => acct,
            Who::Service(_) | Who::Saml { .. } | Who::Web { .. } => MAIN_ACCOUNT,
        }
    }

    pub(super) fn arn(&self) -> String {
        match &self.who {
            Who::User(u) => u.arn(),
            Who::Root(a) => format!("arn:aws:iam::{a}:root"),
            Who::Role(r, s) => format!("arn:aws:sts::{}:assumed-role/{}/{}", r.acct, r.name, s),
            Who::Federated { name, user } => {
                format!("arn:aws:sts::{}:federated-user/{}", user.acct, name)
            }
            Who::Service(s) => (*s).to_string(),
            Who::Account { acct, .. } | Who::Untyped { acct, .. } => {
                format!("arn:aws:iam::{acct}:root")
            }
            Who::Saml { principal, .. } | Who::Web { principal, .. } => principal.clone(),
        }
    }

    /// `principalId` as logged (used for the role-owner copy of cross-account calls).
    pub(super) fn principal_id(&self) -> String {
        match &self.who {
            Who::User(u) => u.id.clone(),
            Who::Root(a) => (*a).to_string(),
            Who::Role(r, s) => format!("{}:{}", r.id, s),
            Who::Federated { name, user } => format!("{}:{}", user.acct, name),
            Who::Account { principal, .. }
            | Who::Saml { principal, .. }
            | Who::Web { principal, .. } => principal.clone(),
            Who::Service(s) => (*s).to_string(),
            Who::Untyped { acct, .. } => (*acct).to_string(),
        }
    }
}

/// A credential plus where and how it is used from.
#[derive(Clone, Debug)]
pub(super) struct Actor {
    pub(super) cred: Cred,
    pub(super) ip: String,
    pub(super) ua: Ua,
}

//! IAM snapshots: the accounts' users, groups, roles and policies as the responder exported
//! them, and what a principal could reach through them ([`Snapshot::reach`], issue #20).
//!
//! [`load`] takes any number of files and detects each one's kind from its content (not its
//! name; gzip is inflated first). Which input gives which facts:
//!
//! | input | facts |
//! |---|---|
//! | `aws iam get-account-authorization-details` (one per account, or its pages: `IsTruncated`/`Marker` pages of one account are merged) | users (groups, inline and attached policies, boundary), groups, roles (path, id, trust policy, policies, boundary), managed policies with their versions |
//! | `aws iam list-access-keys` (`AccessKeyMetadata`) | a user's access key ids, status, creation time |
//! | `aws iam get-login-profile` (`LoginProfile`) | the user has a console password |
//! | `aws iam list-mfa-devices` (`MFADevices`) | a user's MFA device serials |
//! | credential report (CSV, or `get-credential-report` JSON with base64 `Content`) | per user: password enabled, MFA active, access key slots (active, last rotated; no key ids, and an inactive key whose `last_rotated` is `N/A` is not seen); key lists with ids win over it |
//!
//! Policy documents are accepted as JSON objects (CLI output) or URL-encoded strings (the raw
//! API). `get-account-authorization-details` says nothing about access keys, passwords or MFA:
//! without the other inputs those fields are `None` ("unknown"), never an empty list ("none").
//! `get-login-profile` only exists for users with a password, so `login_profile` is
//! `Some(false)` only from a credential report. The outputs of `list-access-keys`,
//! `get-login-profile` and `list-mfa-devices` carry a user name but no account: they are
//! attached to the one snapshot account with that user name (a problem otherwise), so a
//! `list-access-keys` output with no keys at all cannot be attributed (also a problem).
//!
//! Damaged input never stops the load: each file that cannot be read, is not a known kind, or
//! holds an unreadable entry gives a [`SnapshotProblem`] naming the file; an entry whose policy
//! document cannot be read is kept with the policy marked unreadable, and [`Snapshot::reach`]
//! notes it. Service control policies, resource control policies and session policies are not
//! part of a snapshot and are never evaluated (see [`policy`]).

mod parse;
pub mod policy;
pub mod reach;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use policy::{Decision, Eval, Policy, Tri};
pub use reach::{PolicyChange, Reach, ReachedRole, ReachedUser};

/// A loaded snapshot of one or more accounts.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Accounts by id.
    pub accounts: BTreeMap<String, Account>,
    /// Managed policies (customer and AWS managed) by ARN.
    pub policies: BTreeMap<String, ManagedPolicy>,
}

/// One account's principals.
#[derive(Clone, Debug, Default)]
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// Users by name.
    pub users: BTreeMap<String, User>,
    /// Groups by name.
    pub groups: BTreeMap<String, Group>,
    /// Roles by name.
    pub roles: BTreeMap<String, Role>,
}

/// A policy document that may not have been readable.
#[derive(Clone, Debug)]
pub enum Doc {
    /// Parsed.
    Ok(Policy),
    /// Could not be read (the reason); its permissions are unknown.
    Unreadable(String),
}

/// An inline policy.
#[derive(Clone, Debug)]
pub struct InlinePolicy {
    /// Policy name.
    pub name: String,
    /// Size of the (URL-decoded) document as F8 counts it: characters, whitespace not counted.
    pub bytes: usize,
    /// The document.
    pub doc: Doc,
}

/// What kind of role (F20: Identity Center roles are managed in Identity Center).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleKind {
    /// Path `/aws-service-role/`: created and trusted by an AWS service, cannot be edited.
    ServiceLinked,
    /// Path `/aws-reserved/sso.amazonaws.com/` (F20). Decided by the path only, never by the
    /// `AWSReservedSSO_` name prefix, which anyone allowed to create roles could copy.
    IdentityCenter,
    /// Any other role.
    Ordinary,
}

impl RoleKind {
    /// Classifies a role by its path (F20: never by its name).
    pub fn of(path: &str) -> RoleKind {
        if path.starts_with("/aws-service-role/") {
            RoleKind::ServiceLinked
        } else if path.starts_with("/aws-reserved/sso.amazonaws.com/") {
            RoleKind::IdentityCenter
        } else {
            RoleKind::Ordinary
        }
    }

    /// An ordinary role named like an Identity Center role (`AWSReservedSSO_…` outside
    /// `/aws-reserved/sso.amazonaws.com/`): a lookalike worth a label, not an Identity Center
    /// role.
    pub fn sso_lookalike(path: &str, name: &str) -> bool {
        RoleKind::of(path) == RoleKind::Ordinary && name.starts_with("AWSReservedSSO_")
    }
}

/// An IAM role.
#[derive(Clone, Debug)]
pub struct Role {
    /// ARN (with path).
    pub arn: String,
    /// Account id.
    pub account: String,
    /// Role name.
    pub name: String,
    /// Path (`/` by default).
    pub path: String,
    /// Unique id (`AROA…`).
    pub id: String,
    /// Service-linked, Identity Center or ordinary.
    pub kind: RoleKind,
    /// Inline policies, sorted by name.
    pub inline: Vec<InlinePolicy>,
    /// Sum of the inline policies' sizes (F8 limits the aggregate per role: 10,240).
    pub inline_policy_bytes: usize,
    /// ARNs of the attached managed policies, sorted.
    pub attached: Vec<String>,
    /// ARN of the permissions boundary.
    pub boundary: Option<String>,
    /// The trust policy (`AssumeRolePolicyDocument`).
    pub trust: Doc,
}

/// Metadata of an access key (never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMeta {
    /// `AKIA…`; `None` when only the credential report was given (it has no key ids).
    pub id: Option<String>,
    /// `Active` or `Inactive`.
    pub status: String,
    /// Creation time (`CreateDate`, or the report's `last_rotated`), as given.
    pub created: Option<String>,
}

/// An IAM user.
#[derive(Clone, Debug)]
pub struct User {
    /// ARN (with path).
    pub arn: String,
    /// Account id.
    pub account: String,
    /// User name.
    pub name: String,
    /// Path.
    pub path: String,
    /// Unique id (`AIDA…`).
    pub id: String,
    /// Group names, sorted.
    pub groups: Vec<String>,
    /// Inline policies, sorted by name.
    pub inline: Vec<InlinePolicy>,
    /// Sum of the inline policies' sizes (F8 limits the aggregate per user: 2,048).
    pub inline_policy_bytes: usize,
    /// ARNs of the attached managed policies, sorted.
    pub attached: Vec<String>,
    /// ARN of the permissions boundary.
    pub boundary: Option<String>,
    /// Access keys; `None` = unknown (no `list-access-keys` output nor credential report).
    pub access_keys: Option<Vec<KeyMeta>>,
    /// Console password; `None` = unknown.
    pub login_profile: Option<bool>,
    /// MFA device serials; `None` = unknown (no `list-mfa-devices` output).
    pub mfa_devices: Option<Vec<String>>,
    /// MFA active per the credential report; `None` = unknown.
    pub mfa_active: Option<bool>,
}

/// An IAM group.
#[derive(Clone, Debug)]
pub struct Group {
    /// ARN.
    pub arn: String,
    /// Group name.
    pub name: String,
    /// Inline policies, sorted by name.
    pub inline: Vec<InlinePolicy>,
    /// ARNs of the attached managed policies, sorted.
    pub attached: Vec<String>,
}

/// A managed policy and its default version.
#[derive(Clone, Debug)]
pub struct ManagedPolicy {
    /// ARN (`arn:aws:iam::aws:policy/…` for AWS managed policies).
    pub arn: String,
    /// Policy name.
    pub name: String,
    /// Default version id.
    pub default_version: String,
    /// The default version's document.
    pub doc: Doc,
}

/// A file that could not be (fully) used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotProblem {
    /// The file.
    pub file: PathBuf,
    /// What was wrong, naming the entry where there is one.
    pub message: String,
}

/// Loads every file (see the module docs); never stops at a bad file and never panics.
pub fn load(paths: &[PathBuf]) -> (Snapshot, Vec<SnapshotProblem>) {
    let mut b = parse::Builder::default();
    for p in paths {
        b.file(p);
    }
    b.finish()
}

/// Splits an IAM or STS ARN into (account, resource part): `arn:aws:iam::A:role/p/N` →
/// (`A`, `role/p/N`).
pub(crate) fn arn_parts(arn: &str) -> Option<(&str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (a, _, _, _, acct, res) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    (a == "arn").then_some((acct, res))
}

/// `(account, user name)` of a user ARN (with or without path); `None` for any other ARN.
pub(crate) fn user_key(arn: &str) -> Option<(&str, &str)> {
    let (acct, res) = arn_parts(arn)?;
    Some((acct, res.strip_prefix("user/")?.rsplit('/').next()?))
}

/// `(account, role name)` of a role ARN (with or without path) or an assumed-role session ARN
/// (`arn:aws:sts::A:assumed-role/N/session`); `None` for any other ARN.
pub(crate) fn role_key(arn: &str) -> Option<(&str, &str)> {
    let (acct, res) = arn_parts(arn)?;
    let name = if let Some(r) = res.strip_prefix("assumed-role/") {
        r.split('/').next()?
    } else {
        res.strip_prefix("role/")?.rsplit('/').next()?
    };
    Some((acct, name))
}

/// A role's unique id as IAM writes it: `AROA` and 17 upper-case letters or digits (F9). A
/// snapshot's id is used in a policy only when it looks like one: a hostile file could
/// otherwise widen a surgical deny with `*`.
pub(crate) fn is_role_id(id: &str) -> bool {
    id.len() == 21
        && id.starts_with("AROA")
        && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl Role {
    /// The role's ARN when it agrees with the snapshot's own name and path for it (a hostile
    /// or damaged file could say otherwise): `None` when it does not.
    pub(crate) fn consistent_arn(&self) -> Option<&str> {
        let tail = format!("role{}{}", self.path, self.name);
        (self.path.starts_with('/') && self.path.ends_with('/') && self.arn.ends_with(&tail))
            .then_some(self.arn.as_str())
    }
}

impl Snapshot {
    /// A role by ARN (with or without path), by assumed-role session ARN
    /// (`arn:aws:sts::A:assumed-role/N/session`) or by unique id (`AROA…`).
    pub fn role(&self, key: &str) -> Option<&Role> {
        if arn_parts(key).is_some() {
            let (acct, name) = role_key(key)?;
            return self.role_in(acct, name);
        }
        self.accounts.values().flat_map(|a| a.roles.values()).find(|r| r.id == key)
    }

    /// A role by account id and name. IAM names a role without regard to case (`Admin` and
    /// `admin` are one role): a trail that spells it otherwise than the snapshot (a role
    /// deleted and made again, a request's own spelling) still finds it, or the room and
    /// quota the snapshot shows would go unseen.
    pub fn role_in(&self, account: &str, name: &str) -> Option<&Role> {
        let roles = &self.accounts.get(account)?.roles;
        roles.get(name).or_else(|| roles.values().find(|r| r.name.eq_ignore_ascii_case(name)))
    }

    /// A user by ARN (with or without path) or unique id (`AIDA…`).
    pub fn user(&self, key: &str) -> Option<&User> {
        if arn_parts(key).is_some() {
            let (acct, name) = user_key(key)?;
            return self.user_in(acct, name);
        }
        self.accounts.values().flat_map(|a| a.users.values()).find(|u| u.id == key)
    }

    /// A user by account id and name, without regard to case ([`Snapshot::role_in`]).
    pub fn user_in(&self, account: &str, name: &str) -> Option<&User> {
        let users = &self.accounts.get(account)?.users;
        users.get(name).or_else(|| users.values().find(|u| u.name.eq_ignore_ascii_case(name)))
    }

    /// Number of roles over every account.
    pub fn role_count(&self) -> usize {
        self.accounts.values().map(|a| a.roles.len()).sum()
    }
}

impl SnapshotProblem {
    /// A problem with `file`.
    pub(crate) fn new(file: &Path, message: impl Into<String>) -> Self {
        SnapshotProblem { file: file.to_path_buf(), message: message.into() }
    }
}

#[cfg(test)]
mod tests;

//! Event names with a meaning for the session graph: the calls that issue credentials and
//! the calls that make a user the caller's. Shared by ingest (which events to keep in full)
//! and the session chain (what to link).

/// Event names that mint temporary credentials (F1).
pub const STS_ISSUERS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "GetSessionToken",
    "GetFederationToken",
    "AssumeRoot",
];

/// Event names that make a user the caller's (SPEC §9).
pub const USER_GRANTS: &[&str] = &["CreateUser", "CreateLoginProfile", "UpdateLoginProfile"];

/// Calls that set who may assume a role (its trust policy): made by a tainted credential,
/// they open a route into the role that the leaked key's lineage does not show
/// ([`crate::taint`]).
pub const ROLE_GRANTS: &[&str] = &["CreateRole", "UpdateAssumeRolePolicy"];

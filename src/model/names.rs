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

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

/// The AWS partitions an ARN may name (`arn:PARTITION:…`).
pub const PARTITIONS: &[&str] =
    &["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

/// Event names that make a user the caller's (SPEC §9).
pub const USER_GRANTS: &[&str] = &["CreateUser", "CreateLoginProfile", "UpdateLoginProfile"];

/// Calls that set who may assume a role (its trust policy): made by a tainted credential,
/// they open a route into the role that the leaked key's lineage does not show
/// ([`crate::taint`]).
pub const ROLE_GRANTS: &[&str] = &["CreateRole", "UpdateAssumeRolePolicy"];

/// Whether Lambda allows `s` as a function's name (1 to 64 letters, digits, `-`, `_`, and
/// `.`, which its pattern takes): only such a name can be a function's session's.
pub fn is_function_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `us-east-1`, `us-gov-west-1`, …: a region as a partial function ARN starts with one.
fn is_region(s: &str) -> bool {
    let p: Vec<&str> = s.split('-').collect();
    p.len() >= 3
        && p[0].len() == 2
        && p[..p.len() - 1]
            .iter()
            .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_lowercase()))
        && p[p.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// The functions Lambda's `functionName` parameter can name, each with its account when the
/// parameter gives one: `NAME`, `NAME:QUALIFIER`, `[REGION:][ACCOUNT:]function:NAME
/// [:QUALIFIER]` or `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`. The
/// partial `function:X` is both the function `X` and the function `function` at qualifier
/// `X`: both are linked. Nothing for a name no function could have.
pub fn function_names(s: &str) -> Vec<(Option<&str>, &str)> {
    let parts: Vec<&str> = s.split(':').collect();
    let account_of = |a: &str| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit());
    let mut out = Vec::new();
    if parts.first() == Some(&"arn") {
        if (7..=8).contains(&parts.len()) && parts[2] == "lambda" && parts[5] == "function" {
            out.push((Some(parts[4]).filter(|a| account_of(a)), parts[6]));
        }
    } else {
        let mut rest = &parts[..];
        if rest.len() > 1 && is_region(rest[0]) {
            rest = &rest[1..];
        }
        let mut account = None;
        if rest.len() > 1 && account_of(rest[0]) {
            account = Some(rest[0]);
            rest = &rest[1..];
        }
        match rest {
            ["function", name] => {
                out.push((account, *name));
                out.push((account, "function"));
            }
            ["function", name, _] | [name] | [name, _] => out.push((account, *name)),
            _ => {}
        }
    }
    out.retain(|(_, n)| is_function_name(n));
    out
}

/// Calls that give an IAM user a long-term credential other than an access key, each
/// `crate::blast::Persistence::credential_id`: made, its password reset (a new working password, as good
/// as a new credential), or set `Active` again ([`other_credential_call`]).
pub const OTHER_CREDENTIALS: &[&str] = &[
    "UploadSSHPublicKey",
    "CreateServiceSpecificCredential",
    "UploadSigningCertificate",
    "ResetServiceSpecificCredential",
    "UpdateSSHPublicKey",
    "UpdateServiceSpecificCredential",
    "UpdateSigningCertificate",
    // An access key of an existing user set Active again: the attacker may hold its secret
    // (an old key found with the leaked one). A new key is the session graph's (F1).
    "UpdateAccessKey",
];

/// Whether a call named `name` with the request's `status` gives a user a working credential
/// of [`OTHER_CREDENTIALS`]: an `Update*` only when it sets the credential `Active` (setting
/// it `Inactive` is what the plan does).
pub fn other_credential_call(name: &str, status: Option<&str>) -> bool {
    OTHER_CREDENTIALS.contains(&name)
        && (!name.starts_with("Update") || status.is_some_and(|s| s.eq_ignore_ascii_case("Active")))
}

/// What a call of [`OTHER_CREDENTIALS`] gives a user, as the plan and the blast radius name
/// it (the AWS CLI names it in lower case with hyphens: `update-ssh-public-key`).
pub fn other_credential_what(name: &str) -> Option<&'static str> {
    match name {
        "UploadSSHPublicKey" | "UpdateSSHPublicKey" => Some("SSH public key"),
        "CreateServiceSpecificCredential"
        | "ResetServiceSpecificCredential"
        | "UpdateServiceSpecificCredential" => Some("service-specific credential"),
        "UploadSigningCertificate" | "UpdateSigningCertificate" => Some("signing certificate"),
        "UpdateAccessKey" => Some("access key"),
        _ => None,
    }
}

/// Cognito's call that mints an OpenID token for a developer-authenticated identity with the
/// developer's AWS credentials: whoever holds the token assumes the identity pool's roles as
/// that identity (`AssumeRoleWithWebIdentity`, subject the identity id) until it expires (at
/// most 24 hours), after the key that made it is deactivated.
pub const COGNITO_DEVELOPER_TOKEN: &str = "GetOpenIdTokenForDeveloperIdentity";

/// The longest life of a [`COGNITO_DEVELOPER_TOKEN`] token, taken when the call does not say.
pub const COGNITO_TOKEN_LIFE: i64 = 24 * 3600;

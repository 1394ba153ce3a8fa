//! The commands of the plan's actions: the AWS CLI words each action type stands for (the one
//! definition `plan` writes and `verify` checks), the order actions run in, `review` items,
//! the plausibility check of every value put into a command, and what counts as a safe
//! command line for `plan.sh`.

use super::{Action, ActionKind};
use crate::escape::{is_account_id, is_bucket_name, is_iam_name, is_plausible_key_id, one_line};

/// Action types, in the order the plan runs them: deactivations first (nothing new can be
/// minted), then the denies, then the clean-up of attacker-made users in the order AWS
/// requires before `DeleteUser` (login profile, keys, attached and inline policies, groups),
/// then what needs a human. A managed deny (`create_policy` then `attach_*_policy`, where a
/// principal's inline policies have no room, F8) ranks with the inline denies; inside an
/// account's block the creation comes first, as it names no principal.
pub const ACTION_ORDER: &[ActionKind] = &[
    ActionKind::DeactivateAccessKey,
    ActionKind::DeactivateSshPublicKey,
    ActionKind::DeactivateServiceSpecificCredential,
    ActionKind::DeactivateSigningCertificate,
    ActionKind::PutRolePolicy,
    ActionKind::PutUserPolicy,
    ActionKind::CreatePolicy,
    ActionKind::AttachRolePolicy,
    ActionKind::AttachUserPolicy,
    ActionKind::ResourcePolicyDeny,
    ActionKind::DeleteLoginProfile,
    ActionKind::DeleteAccessKey,
    ActionKind::DetachUserPolicy,
    ActionKind::DeleteUserPolicy,
    ActionKind::RemoveUserFromGroup,
    ActionKind::DeleteUser,
    ActionKind::Review,
];

pub(super) fn rank(kind: &ActionKind) -> usize {
    match kind {
        ActionKind::PutRolePolicy
        | ActionKind::PutUserPolicy
        | ActionKind::CreatePolicy
        | ActionKind::AttachRolePolicy
        | ActionKind::AttachUserPolicy => {
            ACTION_ORDER.iter().position(|x| *x == ActionKind::PutRolePolicy).unwrap_or(1)
        }
        k => ACTION_ORDER.iter().position(|x| x == k).unwrap_or(ACTION_ORDER.len()),
    }
}

/// The AWS CLI words of an action, built from its own fields: the one definition of what each
/// action type does, used to write `command` and, by `verify`, to check it (SPEC §6). `None`
/// when the action has no command (`review`, `resource_policy_deny` on a resource other than
/// an S3 bucket) or lacks a field its command needs.
///
/// A value that starts with `-` (IAM names may: `[\w+=,.@-]+`) is written joined to its
/// option, `--user-name=-svc`: the AWS CLI takes a separate `-svc` for an option of its own
/// and refuses the command ("expected one argument").
pub fn expected_words(a: &Action) -> Option<Vec<String>> {
    let w = |v: &[&str]| {
        let mut words: Vec<String> = Vec::with_capacity(v.len());
        let mut i = 0;
        while i < v.len() {
            match v.get(i + 1) {
                Some(value) if v[i].starts_with("--") && value.starts_with('-') => {
                    words.push(format!("{}={value}", v[i]));
                    i += 2;
                }
                _ => {
                    words.push(v[i].to_string());
                    i += 1;
                }
            }
        }
        Some(words)
    };
    let doc = || a.policy_document.as_ref().map(|d| serde_json::to_string(d).unwrap_or_default());
    let user = a.user_name.as_deref();
    match a.kind {
        ActionKind::DeactivateAccessKey => w(&[
            "aws",
            "iam",
            "update-access-key",
            "--user-name",
            user?,
            "--access-key-id",
            a.access_key_id.as_deref()?,
            "--status",
            "Inactive",
        ]),
        ActionKind::DeactivateSshPublicKey
        | ActionKind::DeactivateServiceSpecificCredential
        | ActionKind::DeactivateSigningCertificate => {
            let (verb, flag) = match a.kind {
                ActionKind::DeactivateSshPublicKey => {
                    ("update-ssh-public-key", "--ssh-public-key-id")
                }
                ActionKind::DeactivateServiceSpecificCredential => {
                    ("update-service-specific-credential", "--service-specific-credential-id")
                }
                _ => ("update-signing-certificate", "--certificate-id"),
            };
            w(&[
                "aws",
                "iam",
                verb,
                "--user-name",
                user?,
                flag,
                a.credential_id.as_deref()?,
                "--status",
                "Inactive",
            ])
        }
        ActionKind::DeleteAccessKey => w(&[
            "aws",
            "iam",
            "delete-access-key",
            "--user-name",
            user?,
            "--access-key-id",
            a.access_key_id.as_deref()?,
        ]),
        ActionKind::PutRolePolicy | ActionKind::PutUserPolicy => {
            let arn = a.principal_arn.as_deref()?;
            let name = arn.rsplit('/').next()?;
            let (verb, flag) = if a.kind == ActionKind::PutRolePolicy {
                ("put-role-policy", "--role-name")
            } else {
                ("put-user-policy", "--user-name")
            };
            w(&[
                "aws",
                "iam",
                verb,
                flag,
                name,
                "--policy-name",
                a.policy_name.as_deref()?,
                "--policy-document",
                &doc()?,
            ])
        }
        ActionKind::CreatePolicy => w(&[
            "aws",
            "iam",
            "create-policy",
            "--policy-name",
            a.policy_name.as_deref()?,
            "--policy-document",
            &doc()?,
        ]),
        ActionKind::AttachRolePolicy | ActionKind::AttachUserPolicy => {
            let name = a.principal_arn.as_deref()?.rsplit('/').next()?;
            let (verb, flag) = if a.kind == ActionKind::AttachRolePolicy {
                ("attach-role-policy", "--role-name")
            } else {
                ("attach-user-policy", "--user-name")
            };
            w(&["aws", "iam", verb, flag, name, "--policy-arn", a.policy_arn.as_deref()?])
        }
        // Never a command: put-bucket-policy replaces the whole bucket policy (its grants, a
        // log bucket's CloudTrail delivery), so the statement must be merged by hand. The
        // planner writes it as comments (`bucket_policy_comment`); verify requires that.
        ActionKind::ResourcePolicyDeny => None,
        ActionKind::DeleteLoginProfile => {
            w(&["aws", "iam", "delete-login-profile", "--user-name", user?])
        }
        ActionKind::DetachUserPolicy => w(&[
            "aws",
            "iam",
            "detach-user-policy",
            "--user-name",
            user?,
            "--policy-arn",
            a.policy_arn.as_deref()?,
        ]),
        ActionKind::DeleteUserPolicy => w(&[
            "aws",
            "iam",
            "delete-user-policy",
            "--user-name",
            user?,
            "--policy-name",
            a.policy_name.as_deref()?,
        ]),
        ActionKind::RemoveUserFromGroup => w(&[
            "aws",
            "iam",
            "remove-user-from-group",
            "--user-name",
            user?,
            "--group-name",
            a.group_name.as_deref()?,
        ]),
        ActionKind::DeleteUser => w(&["aws", "iam", "delete-user", "--user-name", user?]),
        _ => None,
    }
}

/// `flag value` as shell words, or `'flag=value'` when the value starts with `-` (which the
/// AWS CLI would take for an option of its own: [`expected_words`]).
pub(super) fn option(flag: &str, value: &str) -> String {
    if value.starts_with('-') {
        crate::escape::shell_word(&format!("{flag}={value}"))
    } else {
        format!("{flag} {}", crate::escape::shell_word(value))
    }
}

/// Every word of a command as one shell word ([`crate::escape::shell_arg`]: bare when
/// nothing in it is special to the shell, else single-quoted).
fn command_of(words: &[String]) -> String {
    words.iter().map(|w| crate::escape::shell_arg(w)).collect::<Vec<_>>().join(" ")
}

/// A `review` action: something a human must look at, with a suggested command commented
/// out (every line a `#` comment, log text on one line, SPEC §9).
pub(super) fn review(account: Option<String>, reason: String, suggestion: &[String]) -> Action {
    let mut command = format!("# review: {}", one_line(&reason));
    for s in suggestion {
        command.push_str("\n# ");
        command.push_str(&one_line(s));
    }
    Action { kind: ActionKind::Review, account_id: account, reason, command, ..Default::default() }
}

/// An action whose command is built from its fields, when every value in it is plausible for
/// what it claims to be (SPEC §9); otherwise a `review` item that says which value is not.
pub(super) fn checked(mut a: Action) -> Action {
    let bad = |what: &str, v: &str| Some(format!("{what} {:?} is not a valid {what}", one_line(v)));
    let mut why = None;
    match a.account_id.as_deref() {
        Some(acct) if !is_account_id(acct) => why = bad("account id", acct),
        Some(_) => {}
        None => why = Some("the account it belongs to is unknown".to_string()),
    }
    if let Some(k) = a.access_key_id.as_deref() {
        if !is_plausible_key_id(k) {
            why = bad("access key id", k);
        }
    }
    if let Some(c) = a.credential_id.as_deref() {
        // SSH public key (`APKA…`), service-specific credential (`ACCA…`) and signing
        // certificate ids take the same shape as access key ids.
        if !is_plausible_key_id(c) {
            why = bad("credential id", c);
        }
    }
    if let Some(u) = a.user_name.as_deref() {
        if !is_iam_name(u) {
            why = bad("IAM user name", u);
        }
    }
    if matches!(
        a.kind,
        ActionKind::PutRolePolicy
            | ActionKind::PutUserPolicy
            | ActionKind::AttachRolePolicy
            | ActionKind::AttachUserPolicy
    ) {
        let name = a.principal_arn.as_deref().and_then(|x| x.rsplit('/').next()).unwrap_or("");
        if !is_iam_name(name) {
            why = bad("IAM principal name", name);
        }
    }
    if let Some(g) = a.group_name.as_deref() {
        if !is_iam_name(g) {
            why = bad("IAM group name", g);
        }
    }
    if let Some(p) = a.policy_arn.as_deref() {
        if !p.starts_with("arn:aws") || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            why = bad("policy ARN", p);
        }
    }
    if a.kind == ActionKind::ResourcePolicyDeny {
        let b = a.principal_arn.as_deref().and_then(crate::blast::s3_rest);
        if let Some(b) = b {
            if !is_bucket_name(b) {
                why = bad("bucket name", b);
            }
        }
    }
    if let Some(why) = why {
        let kind = a.kind.clone();
        return review(
            a.account_id.clone(),
            format!(
                "{kind} not planned: {why}; do it by hand after checking the evidence ({})",
                a.reason
            ),
            &[],
        );
    }
    if let Some(words) = expected_words(&a) {
        let cmd = command_of(&words);
        a.command = if a.command.is_empty() { cmd } else { format!("{}\n{cmd}", a.command) };
    }
    a
}

/// True when every line of `command` is either a `#` comment without unsafe characters or
/// one command that parses into plain shell words (SPEC §9): what `plan.sh` will contain.
pub fn command_is_safe(command: &str) -> bool {
    command.split('\n').all(|line| {
        let t = line.trim_start();
        if t.starts_with('#') {
            !line.chars().any(crate::escape::is_unsafe_char)
        } else {
            crate::escape::shell_words(line).is_some()
        }
    })
}

/// The comment lines of an S3 `resource_policy_deny`: how to merge its statement into the
/// bucket's policy, and the command to put the merged policy, commented out.
pub(super) fn bucket_policy_comment(bucket: &str, doc: &serde_json::Value) -> String {
    let words: Vec<String> = ["aws", "s3api", "put-bucket-policy", "--bucket", bucket, "--policy"]
        .iter()
        .map(|s| s.to_string())
        .chain([serde_json::to_string(doc).unwrap_or_default()])
        .collect();
    format!(
        "# not run: put-bucket-policy REPLACES the whole bucket policy (its grants, and CloudTrail's\n# delivery if this is a log bucket). Merge this statement into the output of\n# aws s3api get-bucket-policy --bucket {b} and put the merged policy; this one alone:\n# {}",
        one_line(&command_of(&words)),
        b = one_line(&crate::escape::shell_arg(bucket))
    )
}

/// The partition of `arn` when it is one of
/// [`PARTITIONS`](crate::model::names::PARTITIONS), else `aws`: the partition a policy made
/// for the principal of that ARN lives in (its ARN must name the same one).
pub fn partition_of(arn: &str) -> &str {
    crate::chain::arn_partition(arn).unwrap_or("aws")
}

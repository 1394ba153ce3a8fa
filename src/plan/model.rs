//! The plan document (`trailhound.plan/v1`) as it is written to and read from `plan.json`:
//! the strategy, the actions, the tainted credentials, the unrevocable ones and the summary.

use crate::time::{de_lenient, de_lenient_str, Time};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::fmt;

/// Plan strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Strict,
    Surgical,
}

/// One action of the plan. Fields not used by an action type are omitted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Action {
    pub order: u32,
    #[serde(rename = "type")]
    pub kind: ActionKind,
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub access_key_id: Option<String>,
    /// The SSH public key, service-specific credential or signing certificate to deactivate
    /// (`deactivate_ssh_public_key`, …).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub credential_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub principal_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy_name: Option<String>,
    /// A managed policy to detach (`detach_user_policy`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy_arn: Option<String>,
    /// A group to remove the user from (`remove_user_from_group`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy_document: Option<Value>,
    /// Policy size without whitespace, and its limit (F8).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy_size_limit: Option<usize>,
    /// Tainted sessions this policy denies (session ids).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub covers: Option<Vec<String>>,
    /// Untainted sessions alive at `effective_at` that this policy also denies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub collateral: Option<Vec<String>>,
    pub reason: String,
    pub command: String,
}

/// A tainted credential no IAM policy can cut.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unrevocable {
    pub credential: String,
    pub principal_arn: Option<String>,
    pub reason: String,
    /// When it stops being valid on its own (`null`: unknown).
    #[serde(default, deserialize_with = "de_lenient")]
    pub valid_until: Option<Time>,
}

/// `inputs` of the plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanInputs {
    pub paths: Vec<String>,
    /// Files read.
    pub files: u64,
    /// SHA-256 over the sorted SHA-256s of every input file ([`crate::ingest::Ingest::evidence_sha256`]).
    #[serde(default)]
    pub sha256: String,
    pub events: u64,
    #[serde(default, deserialize_with = "de_lenient")]
    pub first_event: Option<Time>,
    #[serde(default, deserialize_with = "de_lenient")]
    pub last_event: Option<Time>,
}

/// A tainted credential as recorded in the plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanCredential {
    pub id: String,
    pub access_key_id: Option<String>,
    pub kind: CredentialKind,
    pub principal_arn: Option<String>,
    pub account_id: Option<String>,
    #[serde(default, deserialize_with = "de_lenient")]
    pub issued_at: Option<Time>,
    #[serde(default, deserialize_with = "de_lenient")]
    pub expires_at: Option<Time>,
    /// `live` (needs a deny), `expired`, `deactivate`, `unrevocable`.
    pub status: CredentialStatus,
}

/// `tainted` of the plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanTainted {
    pub credentials: Vec<PlanCredential>,
    pub events: u64,
}

/// `summary` of the plan.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub policies: u64,
    pub principals: u64,
    pub tainted_sessions: u64,
    pub covered_sessions: u64,
    pub expired_sessions: u64,
    /// Untainted sessions alive at the cut-off that plan.sh denies: the evidence-based
    /// actions' and the precautionary ones' (`--contain-reachable`), each session once.
    pub collateral_sessions: u64,
    pub unrevocable_sessions: u64,
    pub keys_to_deactivate: u64,
    /// Live tainted sessions the plan's denies do not match (issued at or after an
    /// `--effective-at` given too early, or with no known issue time): written only when
    /// there are some, and `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uncovered_sessions: u64,
    /// Tainted long-term keys the plan cannot deactivate itself (the logs do not name their
    /// user, or a name IAM would not accept): review items; written only when there are
    /// some, and `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keys_by_hand: u64,
    /// Users the attacker controls whose name now the trail cannot tell (renames in one
    /// second): neither denied everything nor removed under a guessed name, review items;
    /// written only when there are some, and `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub users_by_hand: u64,
    /// Sessions the trail cannot attribute that may be the attacker's (`plan::tocheck`):
    /// denied if they may be alive, and review items; written only when there are some, and
    /// `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sessions_to_check: u64,
    /// Calls of tainted credentials that open a route to some principal's sessions that the
    /// taint does not follow (`plan::unfollowed`): review items; written only when there are
    /// some, and `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub routes_not_followed: u64,
    /// Roles the attacker made that the plan's actions leave without a deny-all IAM takes
    /// (`plan::roles`): written only when there are some, and `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub roles_by_hand: u64,
    /// Live tainted sessions that used Amazon EKS, whose sign-in no deny stops (F22,
    /// `plan::eks`): review items; written only when there are some, and `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub eks_sessions: u64,
    /// With `--contain-reachable`: principals of the unseen tail the IAM snapshot does not
    /// hold (another account's export, a missing page), so what they could reach is unknown
    /// and nothing of it is contained (`plan::precaution`): review items; written only when
    /// there are some, and `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uncontained_principals: u64,
    /// Access keys of a user given as `--principal` that the trail shows exist but does not
    /// name (`plan::principals`): review items; written only when there are some, and
    /// `plan` then exits 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub principal_credentials_by_hand: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Summary {
    /// `", N NOT covered"` to follow the covered count in a one-line summary, or nothing.
    pub fn not_covered_text(&self) -> String {
        match self.uncovered_sessions {
            0 => String::new(),
            n => format!(", {n} NOT covered"),
        }
    }
    /// Each kind of credential a plan can leave uncut: how many, what stderr says of them and
    /// what plan.sh's WARNING says (`{n}` stands for the count).
    fn uncut(&self) -> [(u64, &'static str, &'static str); 9] {
        [
            (
                self.uncovered_sessions,
                "this plan does NOT cut {n} live tainted session(s) (the NOT COVERED notes in the plan name them and say why: a cut-off not after their issue time (F14), an unknown issue time or principal, or a deny left to a review item); do not apply it as done",
                "# WARNING: this plan does NOT cut {n} live tainted session(s). See the NOT COVERED notes in\n# the plan for why (a cut-off not after their issue time, F14; an unknown issue time or\n# principal; a deny left to a review item).",
            ),
            (
                self.keys_by_hand,
                "{n} tainted access key(s) must be deactivated by hand (review items; the NOT CUT notes name them): the plan does not do it",
                "# WARNING: {n} tainted access key(s) are left to review items: deactivate them by hand.",
            ),
            (
                self.users_by_hand,
                "{n} user(s) the attacker controls must be found, denied and removed by hand (review items; the NOT CUT notes say why: the logs do not tell the name one has now, or its name is not one IAM takes)",
                "# WARNING: {n} user(s) the attacker controls are left to review items (the NOT CUT notes say\n# why: renames in one second, or a name IAM would not take). Find, deny and remove them by hand.",
            ),
            (
                self.sessions_to_check,
                "{n} session(s) the trail cannot attribute may be the attacker's (review items: sessions the trail neither links to the leaked key nor shows to be another's, and what they issued; the plan denies those that may still be valid): check them by hand",
                "# WARNING: {n} session(s) the trail cannot attribute may be the attacker's: see their review\n# items and check their calls by hand.",
            ),
            (
                self.routes_not_followed,
                "{n} call(s) of tainted credentials opened a route to sessions the taint does not follow (the NOT FOLLOWED notes and review items name them: commands run on an instance, a task, build or job handed a role, a stack's service role, a changed identity provider, ...): no deny of this plan cuts those sessions; close each route by hand",
                "# WARNING: {n} call(s) of tainted credentials opened a route to sessions the taint does not\n# follow (NOT FOLLOWED review items): this plan does not cut them. Close each by hand.",
            ),
            (
                self.roles_by_hand,
                "{n} role(s) the attacker made are left without a deny IAM takes (the NOT CUT notes name them): whoever their trust names can assume them after the cut-off; deny them everything or delete them by hand",
                "# WARNING: {n} role(s) the attacker made are left without a deny IAM takes (NOT CUT notes):\n# deny them everything or delete them by hand.",
            ),
            (
                self.eks_sessions,
                "{n} live tainted session(s) used Amazon EKS, whose sign-in (a presigned sts:GetCallerIdentity) no deny stops (F22; the NOT CUT notes and review items name them): remove their principals' access to the clusters by hand, or wait until they expire",
                "# WARNING: {n} live tainted session(s) used Amazon EKS: no deny stops their sign-in to a\n# cluster (F22). Remove their principals' cluster access by hand (review items).",
            ),
            (
                self.uncontained_principals,
                "{n} principal(s) of the unseen tail are not in the IAM snapshot, so --contain-reachable could not contain what they could reach (the precautionary review items name them and their accounts): add those accounts' get-account-authorization-details to --iam and plan again",
                "# WARNING: {n} principal(s) of the unseen tail are not in the IAM snapshot: what they could\n# reach is NOT contained (precautionary review items). Add their accounts to --iam and plan again.",
            ),
            (
                self.principal_credentials_by_hand,
                "{n} access key(s) of a user given as --principal that the trail shows exist but does not name are not cut by any action (the NOT CUT notes and review items name them): deactivate every key of the user by hand",
                "# WARNING: {n} access key(s) of a --principal user that the trail does not name are NOT cut\n# by this script (review items): deactivate them by hand.",
            ),
        ]
    }

    /// What a plan that leaves something uncut says on stderr, one message each (the CLI
    /// prints them even with `-q`).
    pub fn uncut_errors(&self) -> Vec<String> {
        self.uncut()
            .iter()
            .filter(|u| u.0 > 0)
            .map(|(n, e, _)| e.replace("{n}", &n.to_string()))
            .collect()
    }

    /// The WARNING lines plan.sh opens with for what the plan leaves uncut.
    pub fn uncut_warnings(&self) -> Vec<String> {
        self.uncut()
            .iter()
            .filter(|u| u.0 > 0)
            .map(|(n, _, w)| w.replace("{n}", &n.to_string()))
            .collect()
    }

    /// Whether the plan leaves some live tainted credential uncut (`plan` exits 1).
    pub fn leaves_some_uncut(&self) -> bool {
        self.uncut().iter().any(|u| u.0 > 0)
    }
}

/// The plan file (`trailhound.plan/v1`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub schema: String,
    /// Always set in a plan built here; `None` only in a plan read back whose value is not a
    /// time (`verify` does not read it).
    #[serde(deserialize_with = "de_lenient_str")]
    pub generated_at: Option<Time>,
    pub tool_version: String,
    pub strategy: Strategy,
    /// The cut-off. A value that is not a time makes the whole plan unreadable, with an error
    /// naming the field and the value.
    #[serde(deserialize_with = "de_effective_at")]
    pub effective_at: Time,
    pub inputs: PlanInputs,
    pub seeds: Vec<String>,
    /// The `--principal` values the plan was made for (their credentials are in `seeds`):
    /// `verify` selects their credentials again on the trail it reads, where later logs may
    /// show more of them (another key of the same user).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seed_principals: Vec<String>,
    pub tainted: PlanTainted,
    pub actions: Vec<Action>,
    pub unrevocable: Vec<Unrevocable>,
    /// Users the attacker created or took over (SPEC §9).
    #[serde(default)]
    pub attacker_users: Vec<crate::taint::AttackerUser>,
    /// Per account, the first and last event of the evidence, to hold against
    /// `effective_at` (SPEC §9).
    #[serde(default)]
    pub evidence_window: Vec<crate::taint::EvidenceWindow>,
    /// Tainted credentials still valid when their account's evidence ends (SPEC §9).
    #[serde(default)]
    pub unseen_tail: Vec<crate::taint::TailRisk>,
    /// True when the plan was asked to contain what the unseen tail could reach
    /// (`--contain-reachable`): `verify --iam` then requires every reachable, unused role to
    /// be denied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub contain_reachable: bool,
    /// What the unseen tail could reach per the IAM snapshot (`--iam`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable: Option<crate::contain::Reachable>,
    /// Precautionary actions for what the unseen tail could reach (`--contain-reachable`):
    /// not evidence-based, kept apart from `actions` and numbered after them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precautionary: Vec<Action>,
    pub notes: Vec<String>,
    pub summary: Summary,
    /// What the trail shows was put on principals' inline budgets (F8), read once when the
    /// plan is built and used again when an IAM snapshot is applied to it. Not in the file.
    #[serde(skip)]
    pub trail_rooms: super::TrailRooms,
}

/// Reads `effective_at`, naming the field and the value when it is not a time.
fn de_effective_at<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
    let s = String::deserialize(d)?;
    Time::parse(&s).ok_or_else(|| {
        serde::de::Error::custom(format!("plan effective_at {s:?} is not a timestamp"))
    })
}

/// Names of the plan's kinds as they are written in `plan.json` (each variant's name, given
/// explicitly). A name this version does not know (a hand-edited plan) is kept as written
/// (`Other`), so the plan still parses and `verify` can say which action it does not
/// understand, as it did when these were strings; a value that is not a string is refused
/// with the same error as before. A kind reads as its name through `as_str` and `Display`;
/// code compares kinds by variant.
macro_rules! named_kind {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vm])* $v,)*
            /// A name this version does not know, as written in the plan.
            Other(String),
        }

        impl $name {
            /// The name as written in `plan.json`.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$v => $s,)*
                    $name::Other(s) => s,
                }
            }

            /// The kind a name stands for (`Other` when it is not one of this version's).
            pub fn from_name(name: String) -> Self {
                match name.as_str() {
                    $($s => $name::$v,)*
                    _ => $name::Other(name),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map($name::from_name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_kind! {
    /// The type of a plan action (`type` in `actions[]`).
    ActionKind {
        /// `aws iam update-access-key --status Inactive`.
        DeactivateAccessKey => "deactivate_access_key",
        /// `aws iam update-ssh-public-key --status Inactive`: an SSH public key a tainted
        /// credential gave a user (CodeCommit over SSH acts as the user).
        DeactivateSshPublicKey => "deactivate_ssh_public_key",
        /// `aws iam update-service-specific-credential --status Inactive` (CodeCommit over
        /// HTTPS, Amazon Keyspaces, Amazon Bedrock API keys act as the user).
        DeactivateServiceSpecificCredential => "deactivate_service_specific_credential",
        /// `aws iam update-signing-certificate --status Inactive`.
        DeactivateSigningCertificate => "deactivate_signing_certificate",
        /// A deny policy put on a role.
        PutRolePolicy => "put_role_policy",
        /// A deny policy put on an IAM user.
        PutUserPolicy => "put_user_policy",
        /// A customer managed policy holding a deny, for a principal whose inline policies
        /// have no room left for it (F8); attached by the next kind.
        CreatePolicy => "create_policy",
        /// A managed deny policy (made by `create_policy`) attached to a role.
        AttachRolePolicy => "attach_role_policy",
        /// A managed deny policy (made by `create_policy`) attached to an IAM user.
        AttachUserPolicy => "attach_user_policy",
        /// A deny by session ARN in a resource policy (F7).
        ResourcePolicyDeny => "resource_policy_deny",
        DeleteLoginProfile => "delete_login_profile",
        DeleteAccessKey => "delete_access_key",
        DetachUserPolicy => "detach_user_policy",
        DeleteUserPolicy => "delete_user_policy",
        RemoveUserFromGroup => "remove_user_from_group",
        DeleteUser => "delete_user",
        /// Something a human must look at; runs nothing.
        Review => "review",
    }
}

/// An action without a type yet: an empty name, as when the type was a string.
impl Default for ActionKind {
    fn default() -> Self {
        ActionKind::Other(String::new())
    }
}

named_kind! {
    /// The kind of a tainted credential recorded in the plan.
    CredentialKind {
        LongTermKey => "long_term_key",
        Session => "session",
    }
}

named_kind! {
    /// What the plan does about a tainted credential.
    CredentialStatus {
        /// Alive at the cut-off: needs a deny.
        Live => "live",
        /// Expired by the cut-off.
        Expired => "expired",
        /// A long-term key: deactivated.
        Deactivate => "deactivate",
        /// No IAM policy can cut it.
        Unrevocable => "unrevocable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_written_and_read_by_their_names() {
        for (k, name) in [
            (ActionKind::DeactivateAccessKey, "deactivate_access_key"),
            (ActionKind::DeactivateSshPublicKey, "deactivate_ssh_public_key"),
            (
                ActionKind::DeactivateServiceSpecificCredential,
                "deactivate_service_specific_credential",
            ),
            (ActionKind::DeactivateSigningCertificate, "deactivate_signing_certificate"),
            (ActionKind::PutRolePolicy, "put_role_policy"),
            (ActionKind::PutUserPolicy, "put_user_policy"),
            (ActionKind::CreatePolicy, "create_policy"),
            (ActionKind::AttachRolePolicy, "attach_role_policy"),
            (ActionKind::AttachUserPolicy, "attach_user_policy"),
            (ActionKind::ResourcePolicyDeny, "resource_policy_deny"),
            (ActionKind::DeleteLoginProfile, "delete_login_profile"),
            (ActionKind::DeleteAccessKey, "delete_access_key"),
            (ActionKind::DetachUserPolicy, "detach_user_policy"),
            (ActionKind::DeleteUserPolicy, "delete_user_policy"),
            (ActionKind::RemoveUserFromGroup, "remove_user_from_group"),
            (ActionKind::DeleteUser, "delete_user"),
            (ActionKind::Review, "review"),
        ] {
            assert_eq!(serde_json::to_value(&k).unwrap(), name);
            assert_eq!(serde_json::from_value::<ActionKind>(name.into()).unwrap(), k);
            assert_eq!((k.as_str(), k.to_string()), (name, name.to_string()));
        }
        for (s, name) in [
            (CredentialStatus::Live, "live"),
            (CredentialStatus::Expired, "expired"),
            (CredentialStatus::Deactivate, "deactivate"),
            (CredentialStatus::Unrevocable, "unrevocable"),
        ] {
            assert_eq!(serde_json::to_value(&s).unwrap(), name);
            assert_eq!(serde_json::from_value::<CredentialStatus>(name.into()).unwrap(), s);
        }
        for (k, name) in
            [(CredentialKind::LongTermKey, "long_term_key"), (CredentialKind::Session, "session")]
        {
            assert_eq!(serde_json::to_value(&k).unwrap(), name);
            assert_eq!(serde_json::from_value::<CredentialKind>(name.into()).unwrap(), k);
        }
    }

    #[test]
    fn an_unknown_name_is_kept_as_written() {
        let k: ActionKind = serde_json::from_value("Review".into()).unwrap();
        assert_eq!(k, ActionKind::Other("Review".into()));
        assert_eq!(serde_json::to_value(&k).unwrap(), "Review");
        let s: CredentialStatus = serde_json::from_value("half-live".into()).unwrap();
        assert_eq!(s.as_str(), "half-live");
        assert_eq!(ActionKind::default().as_str(), "");
        // Not a string: refused as when the type was a string.
        let e = serde_json::from_value::<ActionKind>(5.into()).unwrap_err().to_string();
        assert_eq!(e, serde_json::from_value::<String>(5.into()).unwrap_err().to_string());
    }
}

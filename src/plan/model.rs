//! The plan document (`trailhound.plan/v1`) as it is written to and read from `plan.json`:
//! the strategy, the actions, the tainted credentials, the unrevocable ones and the summary.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    pub kind: String,
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub access_key_id: Option<String>,
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
    pub valid_until: Option<String>,
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
    pub first_event: Option<String>,
    pub last_event: Option<String>,
}

/// A tainted credential as recorded in the plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanCredential {
    pub id: String,
    pub access_key_id: Option<String>,
    pub kind: String,
    pub principal_arn: Option<String>,
    pub account_id: Option<String>,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    /// `live` (needs a deny), `expired`, `deactivate`, `unrevocable`.
    pub status: String,
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
    pub collateral_sessions: u64,
    pub unrevocable_sessions: u64,
    pub keys_to_deactivate: u64,
}

/// The plan file (`trailhound.plan/v1`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub schema: String,
    pub generated_at: String,
    pub tool_version: String,
    pub strategy: Strategy,
    pub effective_at: String,
    pub inputs: PlanInputs,
    pub seeds: Vec<String>,
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
    pub notes: Vec<String>,
    pub summary: Summary,
}

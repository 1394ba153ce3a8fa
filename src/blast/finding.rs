//! The finding record (`findings[]` of a blast radius): what a key finding says, its
//! severity and its evidence. Which findings there are and how they rank is the `findings`
//! stage, above the plan; the record lives here so that a blast radius can hold them.

use serde::Serialize;

/// How urgent a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    /// `critical`, `high`, `medium`, `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub(crate) fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable machine-readable kind: `leaked_key_used`, `instance_credentials_stolen`,
    /// `logging_tampered`, `trust_policy_changed`, `admin_policy_attached`, `attacker_user`,
    /// `persistence`, `lambda_backdoor`, `data_read`, `unseen_tail`, `missing_logs`,
    /// `failed_attempt`.
    pub kind: String,
    pub title: String,
    /// What the finding names, e.g. `user/backup-admin`, `role/AdminRole`,
    /// `trail/management-events`, `function/backdoor`, `bucket/payroll`, a session ARN.
    pub target: String,
    /// The account the target lives in, when known.
    pub account_id: Option<String>,
    /// When it first happened (RFC 3339 in the JSON).
    pub time: Option<crate::time::Time>,
    pub detail: String,
    /// MITRE ATT&CK technique ids.
    pub techniques: Vec<String>,
    pub next_step: String,
    /// Event ids (or credential ids) the finding rests on.
    pub evidence: Vec<String>,
    /// The attempt failed (an `errorCode`): shown apart from what succeeded.
    pub failed: bool,
}

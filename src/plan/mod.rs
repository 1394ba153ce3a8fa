//! The revocation plan (SPEC §5): the smallest set of actions that cuts off every tainted
//! credential still alive, as a versioned JSON document (`trailhound.plan/v1`).
//!
//! Facts that drive the rules (reference/IAM-REVOCATION.md):
//! * Temporary credentials cannot be revoked, only denied (F12); the deny keys on
//!   `aws:TokenIssueTime` (F5), which long-term keys do not carry, so leaked and
//!   attacker-created `AKIA` keys are *deactivated* instead, first, so nothing new is minted.
//! * A role session is denied on its role in the role's account; GetSessionToken and
//!   GetFederationToken sessions on the calling IAM user (F7). Every hop of a chain is its own
//!   principal with its own issue time, so each needs its own statement (F5).
//! * `strict` = the AWSRevokeOlderSessions shape (F6); `surgical` narrows it with `aws:userid`
//!   (F9), falling back to strict where `aws:userid` cannot separate sessions (GetSessionToken,
//!   console sessions of a user) or where the policy would exceed the size limit (F8).
//! * Root-derived sessions (F11), service-linked roles (F6) and Identity Center roles (F20)
//!   cannot be denied by an IAM policy: they are listed under `unrevocable`, with the time
//!   until which they stay valid.
//! * A session whose expiry (the `expiration` of its issuing call, else the maximum lifetime
//!   of its kind, F12/F4) is not after `effective_at` needs no statement.
//!
//! The document is deterministic: principals and actions are sorted, JSON keys are ordered,
//! and `generated_at` honours `SOURCE_DATE_EPOCH`.

pub mod verify;

use crate::blast::BlastRadius;
use crate::chain::{arn_account, Node, NodeKind, SessionGraph};
use crate::ingest::Ingest;
use crate::time::{fmt_iso, fmt_opt, parse_iso};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Schema id of the plan file.
pub const SCHEMA: &str = "trailhound.plan/v1";
/// Inline policy size limits without whitespace (F8).
pub const USER_POLICY_LIMIT: usize = 2048;
/// Role inline policy size limit (F8).
pub const ROLE_POLICY_LIMIT: usize = 10240;
/// Policy name used by the strict strategy.
pub const STRICT_POLICY_NAME: &str = "TrailhoundRevokeOlderSessions";
/// Policy name used by the surgical strategy.
pub const SURGICAL_POLICY_NAME: &str = "TrailhoundRevokeTaintedSessions";

/// Plan strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Strict,
    Surgical,
}

/// Options of the planner.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub strategy: Strategy,
    /// Cut-off; `None` = max(now, newest tainted issue time + 1 s) (F14).
    pub effective_at: Option<i64>,
    /// "Now" (unix seconds): the generation time and the default cut-off floor.
    pub now: i64,
    /// The INPUT paths as given, recorded in the plan.
    pub input_paths: Vec<String>,
}

/// Where a deny for a credential must be attached (F7).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// `role` or `user`.
    pub kind: String,
    pub name: String,
    pub arn: String,
    pub account_id: String,
}

/// Why a credential cannot be denied by an IAM policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    Root,
    ServiceLinkedRole,
    IdentityCenter,
    UnknownPrincipal,
}

/// Where a role lives by its path: service-linked roles under `/aws-service-role/` (their
/// policies cannot be changed, F6) and IAM Identity Center roles under
/// `/aws-reserved/sso.amazonaws.com/` (F20). Decided by the path in the role's ARN, never by a
/// name prefix: anyone who can create roles can name one `AWSReservedSSO_…` (SPEC §6).
pub fn role_blocker(role_arn: &str) -> Option<Blocker> {
    let path = role_arn.split(":role/").nth(1)?;
    if path.starts_with("aws-service-role/") {
        Some(Blocker::ServiceLinkedRole)
    } else if path.starts_with("aws-reserved/sso.amazonaws.com/") {
        Some(Blocker::IdentityCenter)
    } else {
        None
    }
}

/// The principal whose inline policy governs a session, or why there is none.
pub fn attach_target(g: &SessionGraph, n: usize) -> Result<Target, Blocker> {
    let node = &g.nodes[n];
    if node.root_derived || node.principal_type.as_deref() == Some("Root") {
        return Err(Blocker::Root);
    }
    let arn = node.principal_arn.as_deref().unwrap_or("");
    if let Some(rest) = arn.split(":assumed-role/").nth(1) {
        let name = rest.split('/').next().unwrap_or("").to_string();
        let account = arn_account(arn).unwrap_or("").to_string();
        let role_arn =
            node.role_arn.clone().unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{name}"));
        if let Some(b) = role_blocker(&role_arn) {
            return Err(b);
        }
        return Ok(Target { kind: "role".into(), name, arn: role_arn, account_id: account });
    }
    let user_arn = if arn.contains(":federated-user/") {
        // F7: GetFederationToken sessions are denied on the IAM user that called it, known
        // from the issuing call or, without one, from the session's own sessionIssuer (SPEC §9).
        node.user_arn
            .clone()
            .or_else(|| g.parent_edge()[n].and_then(|(p, _)| g.nodes[p].principal_arn.clone()))
            .unwrap_or_default()
    } else {
        arn.to_string()
    };
    if user_arn.ends_with(":root") {
        return Err(Blocker::Root);
    }
    if let Some(rest) = user_arn.split(":user/").nth(1) {
        let name = rest.rsplit('/').next().unwrap_or(rest).to_string();
        let account = arn_account(&user_arn).unwrap_or("").to_string();
        return Ok(Target { kind: "user".into(), name, arn: user_arn, account_id: account });
    }
    Err(Blocker::UnknownPrincipal)
}

/// When a session stops being valid: its `expiration`, else issue time + the maximum
/// lifetime of its kind (F12; chained role sessions 1 h, F4; AssumeRoot 15 min; root 1 h).
/// `None` when the issue time is unknown too (it cannot be shown to have expired).
pub fn session_expiry(g: &SessionGraph, n: usize) -> Option<i64> {
    let node = &g.nodes[n];
    if let Some(e) = node.expires_at {
        return Some(e);
    }
    let issued = node.issued_at?;
    let parent_is_session =
        g.parent_edge()[n].is_some_and(|(p, _)| g.nodes[p].kind == NodeKind::Session);
    let max = match node.issued_by_event.as_deref() {
        Some("AssumeRoot") => 900,
        _ if node.root_derived => 3600,
        Some("GetSessionToken") | Some("GetFederationToken") => 36 * 3600,
        Some(_) if parent_is_session && node.principal_type.as_deref() == Some("AssumedRole") => {
            3600
        }
        _ => match node.principal_type.as_deref() {
            Some("AssumedRole") => 12 * 3600,
            _ => 36 * 3600,
        },
    };
    Some(issued + max)
}

/// The value of `aws:userid` for a session's requests, as a `StringLike` pattern (F9).
fn userid_pattern(node: &Node) -> Option<String> {
    if let Some(u) = &node.userid {
        return Some(u.clone());
    }
    let arn = node.principal_arn.as_deref()?;
    if arn.contains(":assumed-role/") {
        return arn.rsplit('/').next().map(|s| format!("*:{s}"));
    }
    None
}

/// Characters of a policy without whitespace (the IAM size measure, F8).
pub fn policy_size(doc: &Value) -> usize {
    serde_json::to_string(doc).unwrap_or_default().chars().filter(|c| !c.is_whitespace()).count()
}

/// A deny statement as written into a policy.
fn deny_statement(sid: &str, cutoff: i64, userids: Option<&[String]>) -> Value {
    let mut cond = serde_json::Map::new();
    cond.insert("DateLessThan".into(), json!({ "aws:TokenIssueTime": fmt_iso(cutoff) }));
    if let Some(ids) = userids {
        cond.insert("StringLike".into(), json!({ "aws:userid": ids }));
    }
    json!({ "Sid": sid, "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": Value::Object(cond) })
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
    /// SHA-256 over the sorted SHA-256s of every input file ([`Ingest::evidence_sha256`]).
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

/// Whether a deny `statement` (from a plan) matches a session issued at `issued` with
/// `aws:userid` = `userid`, as IAM evaluates it (SPEC §6).
pub fn statement_matches(statement: &Value, issued: Option<i64>, userid: Option<&str>) -> bool {
    if statement.get("Effect").and_then(Value::as_str) != Some("Deny") {
        return false;
    }
    let Some(cond) = statement.get("Condition").and_then(Value::as_object) else { return true };
    for (op, kv) in cond {
        let Some(kv) = kv.as_object() else { return false };
        for (key, val) in kv {
            let vals: Vec<&str> = match val {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => return false,
            };
            let ok = match (op.as_str(), key.as_str()) {
                // F5: no aws:TokenIssueTime on long-term keys → the condition does not match.
                ("DateLessThan", "aws:TokenIssueTime") => issued.is_some_and(|t| {
                    vals.iter().any(|v| crate::time::parse_iso(v).is_some_and(|c| t < c))
                }),
                ("StringLike", "aws:userid") => {
                    userid.is_some_and(|u| vals.iter().any(|p| glob_match(p, u)))
                }
                _ => false, // a condition we cannot evaluate offline never proves coverage
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// IAM `StringLike` matching: `*` any run, `?` one character.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Every session of the trail with its attach target, for collateral and verification.
pub fn sessions_by_target(g: &SessionGraph) -> BTreeMap<Target, Vec<usize>> {
    let mut m: BTreeMap<Target, Vec<usize>> = BTreeMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if n.kind == NodeKind::Session {
            if let Ok(t) = attach_target(g, i) {
                m.entry(t).or_default().push(i);
            }
        }
    }
    m
}

use crate::escape::{
    is_account_id, is_bucket_name, is_iam_name, is_plausible_key_id, one_line, shell_word,
};

/// Name of the deny-all policy put on users the attacker controls (SPEC §9).
pub const DENY_ALL_POLICY_NAME: &str = "TrailhoundDenyAll";

/// Action types, in the order the plan runs them: deactivations first (nothing new can be
/// minted), then the denies, then the clean-up of attacker-made users in the order AWS
/// requires before `DeleteUser` (login profile, keys, attached and inline policies, groups),
/// then what needs a human.
pub const ACTION_ORDER: &[&str] = &[
    "deactivate_access_key",
    "put_role_policy",
    "put_user_policy",
    "resource_policy_deny",
    "delete_login_profile",
    "delete_access_key",
    "detach_user_policy",
    "delete_user_policy",
    "remove_user_from_group",
    "delete_user",
    "review",
];

fn rank(kind: &str) -> usize {
    match kind {
        "put_role_policy" | "put_user_policy" => 1,
        k => ACTION_ORDER.iter().position(|x| *x == k).unwrap_or(ACTION_ORDER.len()),
    }
}

/// The AWS CLI words of an action, built from its own fields: the one definition of what each
/// action type does, used to write `command` and, by `verify`, to check it (SPEC §6). `None`
/// when the action has no command (`review`, `resource_policy_deny` on a resource other than
/// an S3 bucket) or lacks a field its command needs.
pub fn expected_words(a: &Action) -> Option<Vec<String>> {
    let w = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<String>>());
    let doc = || a.policy_document.as_ref().map(|d| serde_json::to_string(d).unwrap_or_default());
    let user = a.user_name.as_deref();
    match a.kind.as_str() {
        "deactivate_access_key" => w(&[
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
        "delete_access_key" => w(&[
            "aws",
            "iam",
            "delete-access-key",
            "--user-name",
            user?,
            "--access-key-id",
            a.access_key_id.as_deref()?,
        ]),
        "put_role_policy" | "put_user_policy" => {
            let arn = a.principal_arn.as_deref()?;
            let name = arn.rsplit('/').next()?;
            let (verb, flag) = if a.kind == "put_role_policy" {
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
        "resource_policy_deny" => {
            let bucket = a.principal_arn.as_deref()?.strip_prefix("arn:aws:s3:::")?;
            w(&["aws", "s3api", "put-bucket-policy", "--bucket", bucket, "--policy", &doc()?])
        }
        "delete_login_profile" => w(&["aws", "iam", "delete-login-profile", "--user-name", user?]),
        "detach_user_policy" => w(&[
            "aws",
            "iam",
            "detach-user-policy",
            "--user-name",
            user?,
            "--policy-arn",
            a.policy_arn.as_deref()?,
        ]),
        "delete_user_policy" => w(&[
            "aws",
            "iam",
            "delete-user-policy",
            "--user-name",
            user?,
            "--policy-name",
            a.policy_name.as_deref()?,
        ]),
        "remove_user_from_group" => w(&[
            "aws",
            "iam",
            "remove-user-from-group",
            "--user-name",
            user?,
            "--group-name",
            a.group_name.as_deref()?,
        ]),
        "delete_user" => w(&["aws", "iam", "delete-user", "--user-name", user?]),
        _ => None,
    }
}

/// Every word of a command as one shell word ([`crate::escape::shell_arg`]: bare when
/// nothing in it is special to the shell, else single-quoted).
fn command_of(words: &[String]) -> String {
    words.iter().map(|w| crate::escape::shell_arg(w)).collect::<Vec<_>>().join(" ")
}

/// A `review` action: something a human must look at, with a suggested command commented
/// out (every line a `#` comment, log text on one line, SPEC §9).
fn review(account: Option<String>, reason: String, suggestion: &[String]) -> Action {
    let mut command = format!("# review: {}", one_line(&reason));
    for s in suggestion {
        command.push_str("\n# ");
        command.push_str(&one_line(s));
    }
    Action { kind: "review".into(), account_id: account, reason, command, ..Default::default() }
}

/// An action whose command is built from its fields, when every value in it is plausible for
/// what it claims to be (SPEC §9); otherwise a `review` item that says which value is not.
fn checked(mut a: Action) -> Action {
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
    if let Some(u) = a.user_name.as_deref() {
        if !is_iam_name(u) {
            why = bad("IAM user name", u);
        }
    }
    if matches!(a.kind.as_str(), "put_role_policy" | "put_user_policy") {
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
    if a.kind == "resource_policy_deny" {
        let b = a.principal_arn.as_deref().and_then(|x| x.strip_prefix("arn:aws:s3:::"));
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

/// Builds the plan.
pub fn build_plan(ing: &Ingest, g: &SessionGraph, b: &BlastRadius, o: &PlanOptions) -> Plan {
    let mut notes: Vec<String> = b.notes.clone();
    // Issue times after "now" are time anomalies (a record dated in the future): they never
    // move the default cut-off (SPEC §8).
    let issue_times = b
        .nodes
        .iter()
        .filter(|&&n| g.nodes[n].kind == NodeKind::Session)
        .filter_map(|&n| g.nodes[n].issued_at);
    let (plausible, future): (Vec<i64>, Vec<i64>) = issue_times.partition(|&t| t <= o.now);
    let newest_issue = plausible.into_iter().max();
    if let Some(f) = future.into_iter().max() {
        notes.push(format!(
            "a tainted session is dated {} , after the run's reference time {}: a time anomaly (a forged or mis-dated record); it does not move the cut-off",
            fmt_iso(f),
            fmt_iso(o.now)
        ));
    }
    // F14: never a cut-off before the newest tainted issue time.
    let effective_at =
        o.effective_at.unwrap_or_else(|| o.now.max(newest_issue.map_or(o.now, |t| t + 1)));
    if let (Some(e), Some(t)) = (o.effective_at, newest_issue) {
        if e <= t {
            notes.push(format!(
                "--effective-at {} is not after the newest tainted issue time {}: sessions issued in that second would not be denied (F14)",
                fmt_iso(e),
                fmt_iso(t)
            ));
        }
    }

    let attackers: BTreeMap<(String, String), &crate::taint::AttackerUser> =
        b.attacker_users.iter().map(|u| ((u.account_id.clone(), u.user_name.clone()), u)).collect();
    let mut actions: Vec<Action> = Vec::new();
    let mut unrevocable = Vec::new();
    let mut credentials = Vec::new();
    let mut summary = Summary::default();
    let mut live_by_target: BTreeMap<Target, Vec<usize>> = BTreeMap::new();
    // Long-term keys of attacker-made users, to delete before the user.
    let mut user_keys: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();

    for &n in &b.nodes {
        let node = &g.nodes[n];
        let mut status = "live";
        match node.kind {
            NodeKind::LongTermKey => {
                status = "deactivate";
                if node.root_derived || node.principal_type.as_deref() == Some("Root") {
                    status = "unrevocable";
                    unrevocable.push(Unrevocable {
                        credential: node.id.clone(),
                        principal_arn: node.principal_arn.clone(),
                        reason: "root access key: delete it as the root user (Security credentials page) or through centralized root access; IAM policies cannot restrict root (F11)".into(),
                        valid_until: None,
                    });
                } else {
                    summary.keys_to_deactivate += 1;
                    let user = node.user_name.as_deref().map(str::to_string).or_else(|| {
                        node.principal_arn
                            .as_deref()
                            .and_then(|a| a.split(":user/").nth(1))
                            .map(|r| r.rsplit('/').next().unwrap_or(r).to_string())
                    });
                    let key = node.access_key_id.as_deref().unwrap_or(&node.id).to_string();
                    let account = node.account_id.as_deref().map(str::to_string);
                    let why = if b.seeds.contains(&key) {
                        "leaked key"
                    } else {
                        "key created by or for a credential the attacker controls (persistence)"
                    };
                    if let (Some(a), Some(u)) = (&account, &user) {
                        if attackers.contains_key(&(a.clone(), u.clone())) {
                            user_keys
                                .entry((a.clone(), u.clone()))
                                .or_default()
                                .insert(key.clone());
                        }
                    }
                    let reason = format!("{why}; stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5)");
                    match user {
                        Some(u) => actions.push(checked(Action {
                            kind: "deactivate_access_key".into(),
                            account_id: account,
                            user_name: Some(u),
                            access_key_id: Some(key),
                            reason,
                            ..Default::default()
                        })),
                        None => actions.push(review(
                            account,
                            format!("deactivate access key {key} by hand: the logs do not name the user it belongs to ({reason})"),
                            &[format!("aws iam update-access-key --user-name USER --access-key-id {} --status Inactive", shell_word(&key))],
                        )),
                    }
                }
            }
            NodeKind::Session => {
                summary.tainted_sessions += 1;
                let expiry = session_expiry(g, n);
                if expiry.is_some_and(|x| x <= effective_at) {
                    status = "expired";
                    summary.expired_sessions += 1;
                } else {
                    match attach_target(g, n) {
                        Ok(t) => live_by_target.entry(t).or_default().push(n),
                        Err(why) => {
                            status = "unrevocable";
                            summary.unrevocable_sessions += 1;
                            unrevocable.push(Unrevocable {
                                credential: node.id.clone(),
                                principal_arn: node.principal_arn.clone(),
                                reason: blocker_reason(&why).into(),
                                valid_until: fmt_opt(expiry),
                            });
                        }
                    }
                }
            }
            _ => continue,
        }
        credentials.push(PlanCredential {
            id: node.id.clone(),
            access_key_id: node.access_key_id.as_deref().map(str::to_string),
            kind: match node.kind {
                NodeKind::LongTermKey => "long_term_key".into(),
                _ => "session".into(),
            },
            principal_arn: node.principal_arn.clone(),
            account_id: node.account_id.as_deref().map(str::to_string),
            issued_at: fmt_opt(node.issued_at),
            expires_at: fmt_opt(session_expiry(g, n).filter(|_| node.kind == NodeKind::Session)),
            status: status.into(),
        });
    }
    // Every attacker-controlled user gets a deny-all policy, live sessions or not (SPEC §9).
    for u in &b.attacker_users {
        let arn = format!("arn:aws:iam::{}:user/{}", u.account_id, u.user_name);
        let arn = if u.user_arn.ends_with(&format!("/{}", u.user_name)) {
            u.user_arn.clone()
        } else {
            arn
        };
        let t = Target {
            kind: "user".into(),
            name: u.user_name.clone(),
            arn,
            account_id: u.account_id.clone(),
        };
        live_by_target.entry(t).or_default();
    }

    // One policy per principal with a live tainted session.
    let all_by_target = sessions_by_target(g);
    // Principals in accounts whose logs (and so, probably, IAM) are not ours.
    let mut foreign: Vec<(Target, Vec<usize>)> = Vec::new();
    let trail_accounts = ing.accounts();
    for (target, tainted) in &live_by_target {
        let limit = if target.kind == "role" { ROLE_POLICY_LIMIT } else { USER_POLICY_LIMIT };
        let attacker = (target.kind == "user")
            .then(|| attackers.get(&(target.account_id.clone(), target.name.clone())))
            .flatten();
        let mut statement = deny_statement("TrailhoundRevokeOlderSessions", effective_at, None);
        let mut policy_name = STRICT_POLICY_NAME;
        let mut reason = format!(
            "{} live tainted session(s) of {} {}: deny every session of it issued before {} (AWSRevokeOlderSessions shape, F6; each hop of a chain needs its own deny, F5)",
            tainted.len(),
            target.kind,
            target.name,
            fmt_iso(effective_at)
        );
        if let Some(u) = attacker {
            statement = json!({ "Sid": "TrailhoundDenyAll", "Effect": "Deny", "Action": "*", "Resource": "*" });
            policy_name = DENY_ALL_POLICY_NAME;
            reason = format!(
                "user {} is attacker-controlled since {} ({}): deny everything it does, with any credential, sessions and long-term keys alike, until it is removed (SPEC §9)",
                target.name,
                fmt_iso(u.since),
                u.evidence.join(", ")
            );
        } else if o.strategy == Strategy::Surgical {
            let ids: Option<Vec<String>> =
                tainted.iter().map(|&n| userid_pattern(&g.nodes[n])).collect();
            let separable = target.kind == "role"
                || tainted
                    .iter()
                    .all(|&n| g.nodes[n].principal_type.as_deref() == Some("FederatedUser"));
            match ids {
                Some(mut ids) if separable => {
                    ids.sort();
                    ids.dedup();
                    let s = deny_statement("TrailhoundRevokeTaintedSessions", effective_at, Some(&ids));
                    let doc = json!({ "Version": "2012-10-17", "Statement": [s.clone()] });
                    if policy_size(&doc) <= limit {
                        statement = s;
                        policy_name = SURGICAL_POLICY_NAME;
                        reason = format!(
                            "{} live tainted session(s) of {} {}: deny only them, by aws:userid (F9), if issued before {}",
                            tainted.len(),
                            target.kind,
                            target.name,
                            fmt_iso(effective_at)
                        );
                    } else {
                        notes.push(format!("surgical policy for {} would exceed {limit} characters (F8): strict instead", target.arn));
                    }
                }
                _ => notes.push(format!(
                    "{} {}: aws:userid cannot separate its tainted sessions from its other sessions (GetSessionToken or console sessions carry the user's id, F9): strict instead",
                    target.kind, target.name
                )),
            }
        }
        let doc = json!({ "Version": "2012-10-17", "Statement": [statement.clone()] });
        let size = policy_size(&doc);
        let covers: Vec<String> = tainted.iter().map(|&n| g.nodes[n].id.clone()).collect();
        let mut collateral = Vec::new();
        for &s in all_by_target.get(target).map(Vec::as_slice).unwrap_or(&[]) {
            if b.nodes.contains(&s) {
                continue;
            }
            let alive = session_expiry(g, s).is_none_or(|x| x > effective_at);
            let sn = &g.nodes[s];
            if alive && statement_matches(&statement, sn.issued_at, sn.userid.as_deref()) {
                collateral.push(sn.id.clone());
            }
        }
        if !trail_accounts.contains(target.account_id.as_str()) {
            notes.push(format!(
                "account {} ({} {}) has no logs in the trail: collateral there is unknown; if you do not control IAM in that account, ask its owner to apply this policy, and apply the resource_policy_deny actions on your own resources (F7)",
                target.account_id, target.kind, target.name
            ));
            foreign.push((target.clone(), tainted.clone()));
        }
        summary.covered_sessions += covers.len() as u64;
        summary.collateral_sessions += collateral.len() as u64;
        actions.push(checked(Action {
            kind: if target.kind == "role" {
                "put_role_policy".into()
            } else {
                "put_user_policy".into()
            },
            account_id: Some(target.account_id.clone()),
            principal_arn: Some(target.arn.clone()),
            policy_name: Some(policy_name.into()),
            policy_document: Some(doc),
            policy_size: Some(size),
            policy_size_limit: Some(limit),
            covers: Some(covers),
            collateral: Some(collateral),
            reason,
            ..Default::default()
        }));
    }
    summary.policies = live_by_target.len() as u64;
    actions.extend(resource_denies(g, b, &foreign, &trail_accounts));
    summary.principals = live_by_target.len() as u64;

    // Attacker-made users: removed in the order DeleteUser requires (SPEC §9). What the
    // evidence shows is removed by name; a user the attacker only took over (its password
    // changed) existed before the incident: it is denied and its password removed, and its
    // deletion is left to a human.
    let mut handled: BTreeSet<String> = BTreeSet::new();
    for u in &b.attacker_users {
        let key = (u.account_id.clone(), u.user_name.clone());
        let mine = |p: &&crate::blast::Persistence| {
            p.account_id.as_deref() == Some(u.account_id.as_str())
                && p.user_name.as_deref() == Some(u.user_name.as_str())
        };
        let of_user: Vec<&crate::blast::Persistence> = b.persistence.iter().filter(mine).collect();
        for p in &of_user {
            handled.insert(p.event_id.clone());
        }
        let base = |kind: &str, reason: String| Action {
            kind: kind.into(),
            account_id: Some(u.account_id.clone()),
            user_name: Some(u.user_name.clone()),
            reason,
            ..Default::default()
        };
        if of_user.iter().any(|p| p.event_name.ends_with("LoginProfile")) {
            actions.push(checked(base(
                "delete_login_profile",
                format!(
                    "user {}: its console password was set by the attacker; remove it",
                    u.user_name
                ),
            )));
        }
        if u.created {
            for k in user_keys.get(&key).into_iter().flatten() {
                actions.push(checked(Action {
                    access_key_id: Some(k.clone()),
                    ..base("delete_access_key", format!("user {}: delete its access key {k} (already deactivated above) before deleting the user", u.user_name))
                }));
            }
            let mut policies = BTreeSet::new();
            let mut inline = BTreeSet::new();
            let mut groups = BTreeSet::new();
            for p in &of_user {
                match p.event_name.as_str() {
                    "AttachUserPolicy" => policies.extend(p.policy_arn.clone()),
                    "PutUserPolicy" => inline.extend(p.policy_name.clone()),
                    _ => {}
                }
            }
            for p in &b.persistence {
                if p.event_name == "AddUserToGroup"
                    && p.account_id.as_deref() == Some(u.account_id.as_str())
                    && p.user_name.as_deref() == Some(u.user_name.as_str())
                {
                    handled.insert(p.event_id.clone());
                    groups.extend(p.group_name.clone());
                }
            }
            for arn in policies {
                actions.push(checked(Action {
                    policy_arn: Some(arn.clone()),
                    ..base(
                        "detach_user_policy",
                        format!("user {}: detach {arn}, attached by the attacker", u.user_name),
                    )
                }));
            }
            inline.insert(DENY_ALL_POLICY_NAME.to_string());
            for name in inline {
                actions.push(checked(Action {
                    policy_name: Some(name.clone()),
                    ..base("delete_user_policy", format!("user {}: delete inline policy {name} (the user has no credentials left by now)", u.user_name))
                }));
            }
            for grp in groups {
                actions.push(checked(Action {
                    group_name: Some(grp.clone()),
                    ..base(
                        "remove_user_from_group",
                        format!("user {}: remove it from group {grp}", u.user_name),
                    )
                }));
            }
            actions.push(checked(base(
                "delete_user",
                format!(
                    "user {} was created by the attacker ({}); delete it. If AWS answers DeleteConflict, something the logs do not show remains (MFA devices, signing certificates, SSH keys, service-specific credentials, other keys or policies): list and remove it first",
                    u.user_name,
                    u.evidence.join(", ")
                ),
            )));
        } else {
            actions.push(review(
                Some(u.account_id.clone()),
                format!(
                    "user {} existed before the incident but the attacker set its console password ({}): it is denied everything; decide whether to delete it or to restore access to its owner (new password, keys rotated, {DENY_ALL_POLICY_NAME} removed)",
                    u.user_name,
                    u.evidence.join(", ")
                ),
                &[format!("aws iam delete-user-policy --user-name {} --policy-name {DENY_ALL_POLICY_NAME}", shell_word(&u.user_name))],
            ));
        }
    }

    // Other persistence needs a human: a review item with the suggested command commented out.
    for p in &b.persistence {
        if handled.contains(&p.event_id) || p.event_name == "CreateAccessKey" {
            continue; // done above, or covered by deactivate_access_key
        }
        let q = |v: &Option<String>| shell_word(v.as_deref().unwrap_or("?"));
        let suggestion: Vec<String> = match p.event_name.as_str() {
            "AttachRolePolicy" => vec![format!("aws iam detach-role-policy --role-name {} --policy-arn {}", q(&p.role_name), q(&p.policy_arn))],
            "PutRolePolicy" => vec![format!("aws iam delete-role-policy --role-name {} --policy-name {}", q(&p.role_name), q(&p.policy_name))],
            "AttachUserPolicy" => vec![format!("aws iam detach-user-policy --user-name {} --policy-arn {}", q(&p.user_name), q(&p.policy_arn))],
            "PutUserPolicy" => vec![format!("aws iam delete-user-policy --user-name {} --policy-name {}", q(&p.user_name), q(&p.policy_name))],
            "AttachGroupPolicy" => vec![format!("aws iam detach-group-policy --group-name {} --policy-arn {}", q(&p.group_name), q(&p.policy_arn))],
            "AddUserToGroup" => vec![format!("aws iam remove-user-from-group --user-name {} --group-name {}", q(&p.user_name), q(&p.group_name))],
            "UpdateAssumeRolePolicy" => vec![
                format!("aws iam get-role --role-name {} --query Role.AssumeRolePolicyDocument", q(&p.role_name)),
                format!("aws iam update-assume-role-policy --role-name {} --policy-document file://trust-policy-before-the-incident.json", q(&p.role_name)),
            ],
            "CreateRole" => vec![format!("aws iam delete-role --role-name {}   # after removing its policies and instance profiles", q(&p.role_name))],
            "StopLogging" | "UpdateTrail" | "PutEventSelectors" | "DeleteTrail" => {
                vec![format!("aws cloudtrail start-logging --name {}", q(&p.name))]
            }
            _ => Vec::new(),
        };
        actions.push(review(
            p.account_id.clone(),
            format!(
                "{} {} at {} (event {}): {}",
                p.event_name, p.target, p.event_time, p.event_id, p.follow_up
            ),
            &suggestion,
        ));
    }

    // One review per distinct finding (the same change logged twice needs one look).
    let mut seen_reviews = BTreeSet::new();
    actions.retain(|a| a.kind != "review" || seen_reviews.insert(a.command.clone()));

    // One block per account (plan.sh runs a block only with that account's credentials);
    // blocks in the order of their most urgent action, so the account where keys are
    // deactivated comes first. Inside a block: deactivations first, then denies, then
    // clean-up; stable order inside each group.
    let mut block_rank: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for a in &actions {
        let r = block_rank.entry(a.account_id.clone()).or_insert(usize::MAX);
        *r = (*r).min(rank(&a.kind));
    }
    let key = |a: &Action| {
        (
            a.account_id.is_none(),
            block_rank[&a.account_id],
            a.account_id.clone(),
            rank(&a.kind),
            a.principal_arn.clone(),
            a.user_name.clone(),
            a.access_key_id.clone(),
        )
    };
    actions.sort_by_key(key);
    for (i, a) in actions.iter_mut().enumerate() {
        a.order = i as u32 + 1;
    }
    credentials.sort_by(|a, b| a.id.cmp(&b.id));
    unrevocable.sort_by(|a, b| a.credential.cmp(&b.credential));

    // The blast radius already holds both (the same tainted set and evidence).
    let evidence_window = b.evidence_window.clone();
    let unseen_tail = b.unseen_tail.clone();
    for w in &evidence_window {
        if parse_iso(&w.last_event).is_some_and(|l| l < effective_at) && !unseen_tail.is_empty() {
            notes.push(format!(
                "the evidence of account {} ends at {}, before the cut-off {}: what live tainted credentials did since is not in the logs (unseen_tail); re-run on logs through the cut-off before applying",
                w.account_id, w.last_event, fmt_iso(effective_at)
            ));
        }
    }
    notes.sort();
    notes.dedup();

    Plan {
        schema: SCHEMA.into(),
        generated_at: fmt_iso(o.now),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        strategy: o.strategy,
        effective_at: fmt_iso(effective_at),
        inputs: PlanInputs {
            paths: o.input_paths.clone(),
            files: ing.stats.files_read,
            sha256: ing.evidence_sha256(),
            events: ing.stats.events,
            first_event: fmt_opt(ing.span().0),
            last_event: fmt_opt(ing.span().1),
        },
        seeds: b.seeds.clone(),
        tainted: PlanTainted { credentials, events: b.events },
        actions,
        unrevocable,
        attacker_users: b.attacker_users.clone(),
        evidence_window,
        unseen_tail,
        notes,
        summary,
    }
}

/// Why no IAM policy can cut a session, and the remedy.
pub fn blocker_reason(b: &Blocker) -> &'static str {
    match b {
        Blocker::Root => "minted by root itself (GetSessionToken, GetFederationToken, AssumeRoot) or root's own session: IAM policies cannot restrict root or these credentials (F11); wait for expiry, use an SCP (member accounts) or AWS Support",
        Blocker::ServiceLinkedRole => "service-linked role (path /aws-service-role/): its policies cannot be changed (F6); wait for expiry",
        Blocker::IdentityCenter => "IAM Identity Center role (path /aws-reserved/sso.amazonaws.com/): revoke through the permission set or the user's active sessions in IAM Identity Center (F20)",
        Blocker::UnknownPrincipal => "the principal of this session is unknown (no issuing event and no identity in its calls); review by hand",
    }
}

/// The bucket (or other resource) whose resource policy would hold a deny for an ARN a
/// session touched: S3 object ARNs map to their bucket.
fn policy_resource(arn: &str) -> Option<String> {
    if let Some(rest) = arn.strip_prefix("arn:aws:s3:::") {
        let bucket = rest.split('/').next().filter(|b| !b.is_empty())?;
        return Some(format!("arn:aws:s3:::{bucket}"));
    }
    arn.starts_with("arn:").then(|| arn.to_string())
}

/// `resource_policy_deny` actions (SPEC §5, F7): for tainted role sessions in an account whose
/// logs are not in the trail, deny the session ARNs on the resources of the trail's accounts
/// that they touched, in those resources' policies. These stand in for the role policy when
/// that account's IAM is not under the responder's control.
fn resource_denies(
    g: &SessionGraph,
    b: &BlastRadius,
    foreign: &[(Target, Vec<usize>)],
    ours: &BTreeSet<&str>,
) -> Vec<Action> {
    let mut by_resource: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (_, sessions) in foreign {
        let set: BTreeSet<usize> = sessions.iter().copied().collect();
        for (k, e) in b.tainted_events.iter().enumerate() {
            let Some(n) = g.node_of_event(b.event_indices[k]) else { continue };
            if !set.contains(&n) || e.failed() {
                continue;
            }
            let Some(acct) = e.recipient_account.as_deref().filter(|a| ours.contains(a)) else {
                continue;
            };
            let Some(session_arn) = g.nodes[n].principal_arn.clone() else { continue };
            for r in &e.resources {
                if let Some(res) = policy_resource(r) {
                    by_resource
                        .entry((acct.to_string(), res))
                        .or_default()
                        .insert(session_arn.clone());
                }
            }
        }
    }
    by_resource
        .into_iter()
        .map(|((acct, res), principals)| {
            let principals: Vec<String> = principals.into_iter().collect();
            let resources = if res.starts_with("arn:aws:s3:::") {
                json!([res.clone(), format!("{res}/*")])
            } else {
                json!([res.clone()])
            };
            let doc = json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "TrailhoundDenyTaintedSessions",
                    "Effect": "Deny",
                    "Principal": { "AWS": principals },
                    "Action": "*",
                    "Resource": resources,
                }]
            });
            let compact = serde_json::to_string(&doc).unwrap_or_default();
            let reason = format!(
                "tainted session(s) {} of an account whose logs are not in the trail touched {res}: deny them by session ARN in its resource policy, in case you cannot change the role's policy in its own account (F7)",
                principals.join(", ")
            );
            let a = Action {
                kind: "resource_policy_deny".into(),
                account_id: Some(acct),
                principal_arn: Some(res.clone()),
                policy_size: Some(policy_size(&doc)),
                policy_document: Some(doc),
                covers: Some(principals.clone()),
                reason,
                ..Default::default()
            };
            match res.strip_prefix("arn:aws:s3:::") {
                Some(bucket) => checked(Action {
                    command: format!(
                        "# put-bucket-policy REPLACES the bucket policy: merge this statement into the output of\n# aws s3api get-bucket-policy --bucket {} first, then:",
                        one_line(&shell_word(bucket))
                    ),
                    ..a
                }),
                None => Action {
                    command: format!(
                        "# add this statement to the resource policy of {}:\n# {}",
                        one_line(&res),
                        one_line(&compact)
                    ),
                    ..a
                },
            }
        })
        .collect()
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

/// The plan's actions as a reviewable shell script (nothing runs unless the reader removes
/// the guard at the top). Every value from the logs is a shell word in a command or one
/// escaped line in a comment; a command that fails [`command_is_safe`] (a hand-edited plan) is
/// written commented out, never run.
///
/// The actions come in one block per account. The script asks AWS which account its
/// credentials belong to (`aws sts get-caller-identity`) and runs only that account's block;
/// the others are skipped with a message naming the account to run it again with. At the
/// end, a commented rollback section removes the deny policies once the principals are
/// cleaned up.
pub fn render_script(p: &Plan) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "#!/bin/sh\n# trailhound revocation plan ({}, strategy {}, effective at {})",
        one_line(&p.schema),
        serde_json::to_string(&p.strategy).unwrap_or_default().trim_matches('"'),
        one_line(&p.effective_at)
    );
    let _ = writeln!(o, "# seeds: {}", one_line(&p.seeds.join(", ")));
    let accounts: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for a in &p.actions {
            if let Some(x) = a.account_id.as_deref() {
                if !v.contains(&x) {
                    v.push(x);
                }
            }
        }
        v
    };
    let _ = writeln!(
        o,
        "# Review every command. Run this script once with credentials for each account it names\n# ({}): each run does only the block of the account its credentials belong to.\n# Policy changes take a few minutes to apply (F14): run `trailhound verify` and watch\n# CloudTrail afterwards. The facts cited (F1-F20) are explained in docs/revocation-facts.md.",
        one_line(&accounts.join(", "))
    );
    let _ = writeln!(o, "set -eu\necho 'Review this script, then delete this line and the exit below to run it.' >&2\nexit 1\n");
    let _ = writeln!(o, "CALLER_ACCOUNT=$(aws sts get-caller-identity --query Account --output text)\necho \"plan.sh: running the block of account $CALLER_ACCOUNT\" >&2\nRAN=no\n");
    let mut current: Option<Option<&str>> = None;
    let close = |o: &mut String, acct: Option<&str>| {
        if let Some(acct) = acct.filter(|a| is_account_id(a)) {
            let _ = writeln!(
                o,
                "  RAN=yes\nelse\n  echo \"plan.sh: skipped the block of account {acct}: run again with credentials for it\" >&2\nfi\n"
            );
        }
    };
    for a in &p.actions {
        let acct = a.account_id.as_deref();
        if current != Some(acct) {
            if let Some(prev) = current {
                close(&mut o, prev);
            }
            current = Some(acct);
            match acct.filter(|a| is_account_id(a)) {
                Some(x) => {
                    let _ = writeln!(
                        o,
                        "# ===== account {x} =====\nif [ \"$CALLER_ACCOUNT\" = {x} ]; then\n"
                    );
                }
                None => {
                    let _ = writeln!(o, "# ===== account unknown: review only =====\n");
                }
            }
        }
        let _ = writeln!(
            o,
            "# [{}] {} in account {}\n# {}",
            a.order,
            one_line(&a.kind),
            one_line(acct.unwrap_or("?")),
            one_line(&a.reason)
        );
        let in_block = acct.is_some_and(is_account_id);
        let text = if command_is_safe(&a.command) {
            a.command.clone()
        } else {
            format!("# NOT RUN (not a plain command): {}", one_line(&a.command))
        };
        let _ = writeln!(o, "{text}");
        // The body of an `if` needs a command: an action of comments only gets a no-op.
        if in_block && text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            let _ = writeln!(o, ":");
        }
        let _ = writeln!(o);
    }
    if let Some(prev) = current {
        close(&mut o, prev);
    }
    let _ = writeln!(
        o,
        "if [ \"$RAN\" = no ]; then\n  echo \"plan.sh: no block of this plan is for account $CALLER_ACCOUNT\" >&2\n  exit 1\nfi\n"
    );
    for u in &p.unrevocable {
        let _ = writeln!(
            o,
            "# UNREVOCABLE {} ({}): {} valid until {}",
            one_line(&u.credential),
            one_line(u.principal_arn.as_deref().unwrap_or("?")),
            one_line(&u.reason),
            one_line(u.valid_until.as_deref().unwrap_or("unknown"))
        );
    }
    // Rollback: the denies stay until someone decides they can go.
    let deleted: BTreeSet<(Option<&str>, Option<&str>)> = p
        .actions
        .iter()
        .filter(|a| a.kind == "delete_user")
        .map(|a| (a.account_id.as_deref(), a.user_name.as_deref()))
        .collect();
    let mut rollback = Vec::new();
    for a in &p.actions {
        let (Some(arn), Some(name)) = (a.principal_arn.as_deref(), a.policy_name.as_deref()) else {
            continue;
        };
        let principal = arn.rsplit('/').next().unwrap_or("");
        let line = match a.kind.as_str() {
            "put_role_policy" => format!(
                "aws iam delete-role-policy --role-name {} --policy-name {}",
                shell_word(principal),
                shell_word(name)
            ),
            "put_user_policy" if !deleted.contains(&(a.account_id.as_deref(), Some(principal))) => {
                format!(
                    "aws iam delete-user-policy --user-name {} --policy-name {}",
                    shell_word(principal),
                    shell_word(name)
                )
            }
            _ => continue,
        };
        rollback.push(format!(
            "#   [account {}] {}",
            one_line(a.account_id.as_deref().unwrap_or("?")),
            one_line(&line)
        ));
    }
    if !rollback.is_empty() {
        let _ = writeln!(
            o,
            "\n# ----- rollback -----\n# The deny policies need not stay forever: once every tainted session has expired and the\n# principals are cleaned up (keys rotated, trust and permissions reviewed), remove them with:"
        );
        for l in rollback {
            let _ = writeln!(o, "{l}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("AROAEXAMPLE:ci", "AROAEXAMPLE:ci"));
        assert!(glob_match("*:ci", "AROAEXAMPLE:ci"));
        assert!(!glob_match("*:ci", "AROAEXAMPLE:cia"));
        assert!(glob_match("A?OA*", "AROAX"));
        assert!(!glob_match("", "x"));
    }

    #[test]
    fn deny_condition_semantics() {
        let t = crate::time::parse_iso("2024-03-11T10:00:00Z").unwrap();
        let strict = deny_statement("s", t, None);
        assert!(statement_matches(&strict, Some(t - 1), None));
        assert!(!statement_matches(&strict, Some(t), None), "DateLessThan is strict");
        // F5: long-term keys carry no aws:TokenIssueTime.
        assert!(!statement_matches(&strict, None, Some("AIDAEXAMPLE")));
        let surgical = deny_statement("s", t, Some(&["*:ci".to_string()]));
        assert!(statement_matches(&surgical, Some(t - 5), Some("AROAX:ci")));
        assert!(!statement_matches(&surgical, Some(t - 5), Some("AROAX:other")));
    }

    #[test]
    fn size_ignores_whitespace() {
        let d = json!({"a": "b c"});
        assert_eq!(policy_size(&d), "{\"a\":\"bc\"}".len());
    }
}

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
use crate::time::{fmt_iso, fmt_opt};
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
        if role_arn.contains("/aws-service-role/") || name.starts_with("AWSServiceRoleFor") {
            return Err(Blocker::ServiceLinkedRole);
        }
        if name.starts_with("AWSReservedSSO_") {
            return Err(Blocker::IdentityCenter);
        }
        return Ok(Target { kind: "role".into(), name, arn: role_arn, account_id: account });
    }
    let user_arn = if arn.contains(":federated-user/") {
        // F7: GetFederationToken sessions are denied on the IAM user that called it.
        g.parent_edge()[n]
            .map(|(p, _)| g.nodes[p].principal_arn.clone().unwrap_or_default())
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

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Builds the plan.
pub fn build_plan(ing: &Ingest, g: &SessionGraph, b: &BlastRadius, o: &PlanOptions) -> Plan {
    let mut notes: Vec<String> = b.notes.clone();
    let newest_issue = b
        .nodes
        .iter()
        .filter(|&&n| g.nodes[n].kind == NodeKind::Session)
        .filter_map(|&n| g.nodes[n].issued_at)
        .max();
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

    let mut actions: Vec<Action> = Vec::new();
    let mut unrevocable = Vec::new();
    let mut credentials = Vec::new();
    let mut summary = Summary::default();
    let mut live_by_target: BTreeMap<Target, Vec<usize>> = BTreeMap::new();

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
                        reason: "root access key: delete it as the root user (Security credentials page); IAM policies cannot restrict root (F11)".into(),
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
                    let why = if b.seeds.contains(&key) {
                        "leaked key"
                    } else {
                        "key created by a tainted credential (persistence)"
                    };
                    actions.push(Action {
                        kind: "deactivate_access_key".into(),
                        account_id: node.account_id.as_deref().map(str::to_string),
                        command: format!(
                            "aws iam update-access-key --user-name {} --access-key-id {} --status Inactive",
                            shell_quote(user.as_deref().unwrap_or("UNKNOWN_USER")),
                            key
                        ),
                        user_name: user,
                        access_key_id: Some(key),
                        reason: format!("{why}; stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5)"),
                        ..Default::default()
                    });
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
                            let reason = match why {
                                Blocker::Root => "issued to or by root: IAM policies cannot restrict root or its GetSessionToken/GetFederationToken credentials (F11); wait for expiry, use an SCP (member accounts) or AWS Support",
                                Blocker::ServiceLinkedRole => "service-linked role: its policies cannot be changed (F6); wait for expiry",
                                Blocker::IdentityCenter => "Identity Center role (AWSReservedSSO_*): revoke through the permission set or the user's active sessions in IAM Identity Center (F20)",
                                Blocker::UnknownPrincipal => "the principal of this session is unknown (no use and no issuing details in the logs); review by hand",
                            };
                            unrevocable.push(Unrevocable {
                                credential: node.id.clone(),
                                principal_arn: node.principal_arn.clone(),
                                reason: reason.into(),
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

    // One policy per principal with a live tainted session.
    let all_by_target = sessions_by_target(g);
    // Principals in accounts whose logs (and so, probably, IAM) are not ours.
    let mut foreign: Vec<(Target, Vec<usize>)> = Vec::new();
    let trail_accounts = ing.accounts();
    for (target, tainted) in &live_by_target {
        let mut statement = deny_statement("TrailhoundRevokeOlderSessions", effective_at, None);
        let mut policy_name = STRICT_POLICY_NAME;
        let limit = if target.kind == "role" { ROLE_POLICY_LIMIT } else { USER_POLICY_LIMIT };
        let mut reason = format!(
            "{} live tainted session(s) of {} {}: deny every session of it issued before {} (AWSRevokeOlderSessions shape, F6; each hop of a chain needs its own deny, F5)",
            tainted.len(),
            target.kind,
            target.name,
            fmt_iso(effective_at)
        );
        if o.strategy == Strategy::Surgical {
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
        let tainted_set: BTreeSet<usize> = b.nodes.clone();
        let mut collateral = Vec::new();
        for &s in all_by_target.get(target).map(Vec::as_slice).unwrap_or(&[]) {
            if tainted_set.contains(&s) {
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
        let compact = serde_json::to_string(&doc).unwrap_or_default();
        let command = if target.kind == "role" {
            format!(
                "aws iam put-role-policy --role-name {} --policy-name {policy_name} --policy-document {}",
                shell_quote(&target.name),
                shell_quote(&compact)
            )
        } else {
            format!(
                "aws iam put-user-policy --user-name {} --policy-name {policy_name} --policy-document {}",
                shell_quote(&target.name),
                shell_quote(&compact)
            )
        };
        actions.push(Action {
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
            command,
            ..Default::default()
        });
    }
    summary.policies = live_by_target.len() as u64;
    actions.extend(resource_denies(g, b, &foreign, &trail_accounts));
    summary.principals = live_by_target.len() as u64;

    // Persistence that needs a human.
    let mut seen_users = BTreeSet::new();
    for p in &b.persistence {
        let user = p.target.strip_prefix("user/").map(str::to_string);
        let (kind, command) = match (p.event_name.as_str(), &user) {
            ("CreateLoginProfile" | "UpdateLoginProfile", Some(u)) => (
                "delete_login_profile",
                format!("aws iam delete-login-profile --user-name {}", shell_quote(u)),
            ),
            ("CreateUser", Some(u)) => {
                if !seen_users.insert(u.clone()) {
                    continue;
                }
                ("delete_user", format!("aws iam delete-user --user-name {}", shell_quote(u)))
            }
            ("CreateAccessKey", _) => continue, // covered by deactivate_access_key above
            _ => ("review", format!("# {}: {} ({})", p.event_name, p.target, p.detail)),
        };
        actions.push(Action {
            kind: kind.into(),
            account_id: p.account_id.clone(),
            user_name: if kind == "review" { None } else { user.clone() },
            reason: format!(
                "{} {} at {} (event {}): {}",
                p.event_name, p.target, p.event_time, p.event_id, p.follow_up
            ),
            command,
            ..Default::default()
        });
    }

    // One review per distinct finding (the same change logged twice needs one look).
    let mut seen_reviews = BTreeSet::new();
    actions.retain(|a| a.kind != "review" || seen_reviews.insert(a.command.clone()));

    // Deactivations first, then denies, then clean-up; stable order inside each group.
    let rank = |k: &str| match k {
        "deactivate_access_key" => 0,
        "put_role_policy" | "put_user_policy" => 1,
        "resource_policy_deny" => 2,
        "delete_login_profile" => 3,
        "delete_user" => 4,
        _ => 5,
    };
    actions.sort_by(|a, b| {
        (rank(&a.kind), &a.account_id, &a.principal_arn, &a.access_key_id, &a.user_name).cmp(&(
            rank(&b.kind),
            &b.account_id,
            &b.principal_arn,
            &b.access_key_id,
            &b.user_name,
        ))
    });
    for (i, a) in actions.iter_mut().enumerate() {
        a.order = i as u32 + 1;
    }
    credentials.sort_by(|a, b| a.id.cmp(&b.id));
    unrevocable.sort_by(|a, b| a.credential.cmp(&b.credential));
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
        notes,
        summary,
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
            let command = match res.strip_prefix("arn:aws:s3:::") {
                Some(bucket) => format!(
                    "# put-bucket-policy REPLACES the bucket policy: merge this statement into the output of\n# aws s3api get-bucket-policy --bucket {bucket} first, then:\naws s3api put-bucket-policy --bucket {} --policy {}",
                    shell_quote(bucket),
                    shell_quote(&compact)
                ),
                None => format!("# add this statement to the resource policy of {res}:\n# {compact}"),
            };
            Action {
                kind: "resource_policy_deny".into(),
                account_id: Some(acct),
                principal_arn: Some(res.clone()),
                policy_size: Some(policy_size(&doc)),
                policy_document: Some(doc),
                covers: Some(principals.clone()),
                reason: format!(
                    "tainted session(s) {} of an account whose logs are not in the trail touched {res}: deny them by session ARN in its resource policy, in case you cannot change the role's policy in its own account (F7)",
                    principals.join(", ")
                ),
                command,
                ..Default::default()
            }
        })
        .collect()
}

/// The plan's actions as a reviewable shell script (nothing runs unless the reader removes
/// the guard at the top).
pub fn render_script(p: &Plan) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "#!/bin/sh\n# trailhound revocation plan ({}, strategy {}, effective at {})",
        p.schema,
        serde_json::to_string(&p.strategy).unwrap_or_default().trim_matches('"'),
        p.effective_at
    );
    let _ = writeln!(o, "# seeds: {}", p.seeds.join(", "));
    let _ = writeln!(
        o,
        "# Review every command. Run each block with credentials for the account it names."
    );
    let _ = writeln!(o, "# Policy changes take a few minutes to apply (F14): verify afterwards.\nset -eu\necho 'Review this script, then delete this line and the exit below to run it.' >&2\nexit 1\n");
    for a in &p.actions {
        let _ = writeln!(
            o,
            "# [{}] {} in account {}\n# {}",
            a.order,
            a.kind,
            a.account_id.as_deref().unwrap_or("?"),
            a.reason.replace('\n', " ")
        );
        let _ = writeln!(o, "{}\n", a.command);
    }
    for u in &p.unrevocable {
        let _ = writeln!(
            o,
            "# UNREVOCABLE {} ({}): {} valid until {}",
            u.credential,
            u.principal_arn.as_deref().unwrap_or("?"),
            u.reason,
            u.valid_until.as_deref().unwrap_or("unknown")
        );
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

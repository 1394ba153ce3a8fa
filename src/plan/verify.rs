//! Offline proof of a plan (SPEC §6): evaluate its deny statements as IAM would against every
//! session in the trail.
//!
//! For each session: the inline policies of the principal it is governed by (F7; a policy
//! attached to role A never applies to a session of role B, F5) are evaluated with
//! `aws:TokenIssueTime` = the session's issue time and `aws:userid` = its user id (F9); an
//! explicit deny wins. Long-term keys carry no `aws:TokenIssueTime` (F5): they count as cut
//! only by a `deactivate_access_key` action. The tainted set is recomputed from the plan's
//! seeds on the given trail, so a plan built from other evidence is checked, not trusted.

use super::{attach_target, session_expiry, statement_matches, Plan, Target};
use crate::chain::{NodeKind, SessionGraph};
use crate::ingest::Ingest;
use crate::time::{fmt_iso, fmt_opt, parse_iso};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One session in the verification report.
#[derive(Debug, Clone, Serialize)]
pub struct SessionVerdict {
    pub session: String,
    pub principal_arn: Option<String>,
    pub issued_at: Option<String>,
    pub valid_until: Option<String>,
    /// The policy that denies it (`principal_arn#policy_name`), if any.
    pub denied_by: Option<String>,
}

/// The `verify --format json` document.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub plan_schema: String,
    pub effective_at: String,
    pub seeds: Vec<String>,
    pub tainted_sessions: u64,
    pub covered: Vec<SessionVerdict>,
    pub not_covered: Vec<SessionVerdict>,
    pub expired: Vec<SessionVerdict>,
    /// Tainted sessions the plan lists as unrevocable (acknowledged, not a failure).
    pub unrevocable: Vec<SessionVerdict>,
    /// Untainted sessions alive at `effective_at` that the plan also denies.
    pub collateral: Vec<SessionVerdict>,
    pub keys_deactivated: Vec<String>,
    pub keys_left_active: Vec<String>,
    /// True when every live tainted credential is cut (no `not_covered`, no `keys_left_active`).
    pub ok: bool,
    pub notes: Vec<String>,
}

/// Verifies `plan` against the trail.
///
/// # Errors
/// A plan whose schema or `effective_at` is not understood.
pub fn verify(ing: &Ingest, g: &SessionGraph, plan: &Plan) -> anyhow::Result<Verification> {
    if plan.schema != super::SCHEMA {
        anyhow::bail!("unsupported plan schema {:?} (expected {})", plan.schema, super::SCHEMA);
    }
    let Some(eff) = parse_iso(&plan.effective_at) else {
        anyhow::bail!("plan effective_at {:?} is not a timestamp", plan.effective_at);
    };
    let b = crate::blast::blast(ing, g, &plan.seeds, false)?;
    let mut notes = b.notes.clone();
    let evidence = ing.evidence_sha256();
    if !plan.inputs.sha256.is_empty() && plan.inputs.sha256 != evidence {
        notes.push(format!(
            "the plan was built from different evidence (inputs sha256 {} in the plan, {evidence} here): the verification is of this trail",
            plan.inputs.sha256
        ));
    }

    // Statements per principal (role/user name + account), as IAM attaches them.
    let mut policies: BTreeMap<(String, String, String), Vec<(String, serde_json::Value)>> =
        BTreeMap::new();
    let mut deactivated = BTreeSet::new();
    for a in &plan.actions {
        match a.kind.as_str() {
            "put_role_policy" | "put_user_policy" => {
                let kind = if a.kind == "put_role_policy" { "role" } else { "user" };
                let Some(arn) = &a.principal_arn else { continue };
                let name = arn.rsplit('/').next().unwrap_or("").to_string();
                let acct = a.account_id.clone().unwrap_or_default();
                let Some(doc) = &a.policy_document else { continue };
                let stmts: Vec<serde_json::Value> = match doc.get("Statement") {
                    Some(serde_json::Value::Array(v)) => v.clone(),
                    Some(v @ serde_json::Value::Object(_)) => vec![v.clone()],
                    _ => Vec::new(),
                };
                let label = format!("{arn}#{}", a.policy_name.as_deref().unwrap_or("?"));
                for s in stmts {
                    policies
                        .entry((kind.to_string(), name.clone(), acct.clone()))
                        .or_default()
                        .push((label.clone(), s));
                }
            }
            "deactivate_access_key" => {
                if let Some(k) = &a.access_key_id {
                    deactivated.insert(k.clone());
                }
            }
            _ => {}
        }
    }
    let unrevocable_listed: BTreeSet<&str> =
        plan.unrevocable.iter().map(|u| u.credential.as_str()).collect();

    let denied_by = |n: usize| -> Option<String> {
        let t: Target = attach_target(g, n).ok()?;
        let node = &g.nodes[n];
        let stmts = policies.get(&(t.kind.clone(), t.name.clone(), t.account_id.clone()))?;
        stmts
            .iter()
            .find(|(_, s)| statement_matches(s, node.issued_at, node.userid.as_deref()))
            .map(|(l, _)| l.clone())
    };
    let verdict = |n: usize, by: Option<String>| {
        let node = &g.nodes[n];
        SessionVerdict {
            session: node.id.clone(),
            principal_arn: node.principal_arn.clone(),
            issued_at: fmt_opt(node.issued_at),
            valid_until: fmt_opt(session_expiry(g, n)),
            denied_by: by,
        }
    };

    let mut v = Verification {
        plan_schema: plan.schema.clone(),
        effective_at: fmt_iso(eff),
        seeds: plan.seeds.clone(),
        tainted_sessions: 0,
        covered: Vec::new(),
        not_covered: Vec::new(),
        expired: Vec::new(),
        unrevocable: Vec::new(),
        collateral: Vec::new(),
        keys_deactivated: Vec::new(),
        keys_left_active: Vec::new(),
        ok: false,
        notes: Vec::new(),
    };
    for (i, node) in g.nodes.iter().enumerate() {
        let tainted = b.nodes.contains(&i);
        match node.kind {
            NodeKind::LongTermKey if tainted => {
                let k = node.access_key_id.as_deref().unwrap_or(&node.id).to_string();
                if deactivated.contains(&k) {
                    v.keys_deactivated.push(k);
                } else if unrevocable_listed.contains(node.id.as_str()) {
                    notes.push(format!("long-term key {k} is listed as unrevocable by the plan"));
                } else {
                    v.keys_left_active.push(k);
                }
            }
            NodeKind::Session => {
                let alive = session_expiry(g, i).is_none_or(|x| x > eff);
                let by = denied_by(i);
                if tainted {
                    v.tainted_sessions += 1;
                    if !alive {
                        v.expired.push(verdict(i, by));
                    } else if by.is_some() {
                        v.covered.push(verdict(i, by));
                    } else if unrevocable_listed.contains(node.id.as_str()) {
                        v.unrevocable.push(verdict(i, None));
                    } else {
                        v.not_covered.push(verdict(i, None));
                    }
                } else if alive && by.is_some() {
                    v.collateral.push(verdict(i, by));
                }
            }
            _ => {}
        }
    }
    v.ok = v.not_covered.is_empty() && v.keys_left_active.is_empty();
    notes.sort();
    notes.dedup();
    v.notes = notes;
    Ok(v)
}

/// Terminal rendering.
pub fn render_table(v: &Verification) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} tainted sessions: {} covered, {} NOT covered, {} expired by {}, {} unrevocable; {} collateral; keys: {} deactivated, {} left active",
        if v.ok { "OK" } else { "FAIL" },
        v.tainted_sessions,
        v.covered.len(),
        v.not_covered.len(),
        v.expired.len(),
        v.effective_at,
        v.unrevocable.len(),
        v.collateral.len(),
        v.keys_deactivated.len(),
        v.keys_left_active.len()
    );
    for (label, list) in [
        ("covered", &v.covered),
        ("NOT covered", &v.not_covered),
        ("unrevocable", &v.unrevocable),
        ("collateral", &v.collateral),
    ] {
        for s in list {
            let _ = writeln!(
                o,
                "  {label:<12} {}  {}  issued {}  valid until {}{}",
                s.session,
                s.principal_arn.as_deref().unwrap_or("?"),
                s.issued_at.as_deref().unwrap_or("?"),
                s.valid_until.as_deref().unwrap_or("?"),
                s.denied_by.as_deref().map(|d| format!("  denied by {d}")).unwrap_or_default()
            );
        }
    }
    for k in &v.keys_left_active {
        let _ = writeln!(o, "  key left active: {k}");
    }
    for n in &v.notes {
        let _ = writeln!(o, "note: {n}");
    }
    o
}

//! The tainted set: every credential the leaked keys led to (SPEC §4, §9). Shared by `blast`,
//! `plan` and `verify`, so that `verify` re-derives the same set from the seeds and the
//! evidence alone, never from the plan.
//!
//! Two rules, applied until nothing new is added:
//! 1. Issuance: whatever a tainted credential issued is tainted (sessions, keys), along the
//!    session graph's edges, transitively (F5: every hop is its own credential).
//! 2. Attacker-made identities (SPEC §9): a user created by a tainted credential, or whose
//!    console password (login profile) a tainted credential created or changed, is the
//!    attacker's from that moment. For a user the attacker *created*, every credential of that
//!    user issued (or first seen) from then on is tainted: its console sessions, its keys
//!    (whoever created them), its GetSessionToken sessions. For a user whose password the
//!    attacker set, its console sessions from then on are tainted (its older keys are not
//!    the attacker's; keys created from a tainted console session follow by rule 1).

use crate::chain::{NodeKind, SessionGraph};
use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A user the attacker controls (SPEC §9).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttackerUser {
    pub user_arn: String,
    pub account_id: String,
    pub user_name: String,
    /// Attacker-controlled from this time (the first tainted CreateUser or login-profile call).
    pub since: Time,
    /// The attacker created the user (rather than only setting its password).
    pub created: bool,
    /// The calls that made it the attacker's (event names and ids).
    pub evidence: Vec<String>,
}

/// The tainted credentials and the users the attacker controls.
#[derive(Debug, Clone, Default)]
pub struct Taint {
    /// Tainted credential nodes (long-term keys and sessions).
    pub nodes: BTreeSet<usize>,
    /// Sorted by account and user name.
    pub attacker_users: Vec<AttackerUser>,
}

/// The IAM user name of a credential node, with its account: long-term keys and sessions of
/// IAM users (console and GetSessionToken sessions act as the user itself).
pub fn user_of(g: &SessionGraph, n: usize) -> Option<(&str, &str)> {
    let node = &g.nodes[n];
    let arn = node.principal_arn.as_deref()?;
    let rest = arn.split(":user/").nth(1)?;
    let name = rest.rsplit('/').next().unwrap_or(rest);
    let acct = crate::chain::arn_account(arn)?;
    Some((acct, name))
}

/// Computes the tainted set from seed nodes.
pub fn taint(g: &SessionGraph, seeds: &[usize]) -> Taint {
    let is_cred = |n: usize| matches!(g.nodes[n].kind, NodeKind::LongTermKey | NodeKind::Session);
    let mut reached: BTreeSet<usize> = g.descendants(seeds);
    // Credential nodes of each IAM user, computed once.
    let mut by_user: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for n in 0..g.nodes.len() {
        if is_cred(n) {
            if let Some(u) = user_of(g, n) {
                by_user.entry(u).or_default().push(n);
            }
        }
    }
    let mut users: BTreeMap<(String, String), AttackerUser> = BTreeMap::new();
    loop {
        for gr in &g.user_grants {
            if !reached.contains(&gr.by) {
                continue;
            }
            let e =
                users.entry((gr.account_id.clone(), gr.user_name.clone())).or_insert_with(|| {
                    AttackerUser {
                        user_arn: gr.user_arn.clone(),
                        account_id: gr.account_id.clone(),
                        user_name: gr.user_name.clone(),
                        since: Time(gr.time),
                        created: false,
                        evidence: Vec::new(),
                    }
                });
            e.since = e.since.min(Time(gr.time));
            e.created |= gr.event_name == "CreateUser";
            if gr.event_name == "CreateUser" {
                e.user_arn = gr.user_arn.clone();
            }
            let ev = format!("{} {}", gr.event_name, gr.event_id);
            if !e.evidence.contains(&ev) {
                e.evidence.push(ev);
            }
        }
        let mut new = Vec::new();
        for u in users.values() {
            let Some(creds) = by_user.get(&(u.account_id.as_str(), u.user_name.as_str())) else {
                continue;
            };
            for &n in creds {
                if reached.contains(&n) {
                    continue;
                }
                let node = &g.nodes[n];
                let from = node.issued_at.or(node.first_seen);
                let after = from.is_some_and(|t| t >= u.since.secs());
                let console = node.kind == NodeKind::Session
                    && node.issued_by_event.as_deref() == Some("console sign-in");
                if after && (u.created || console) {
                    new.push(n);
                }
            }
        }
        if new.is_empty() {
            break;
        }
        new.extend(reached.iter().copied());
        reached = g.descendants(&new);
    }
    let nodes = reached.into_iter().filter(|&n| is_cred(n)).collect();
    let mut attacker_users: Vec<AttackerUser> = users.into_values().collect();
    for u in &mut attacker_users {
        u.evidence.sort();
    }
    Taint { nodes, attacker_users }
}

/// What the evidence covers for one account: its first and last event (SPEC §9). Events
/// dated after the run's reference time (now, or `SOURCE_DATE_EPOCH`) are time anomalies and
/// do not extend it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EvidenceWindow {
    pub account_id: String,
    pub first_event: String,
    pub last_event: String,
    pub events: u64,
}

/// The evidence window of every account in the trail, sorted by account; time anomalies
/// ([`crate::ingest::Ingest::is_time_anomaly`]) left out.
pub fn evidence_window(ing: &crate::ingest::Ingest) -> Vec<EvidenceWindow> {
    let mut m: crate::ingest::FxMap<u32, (i64, i64, u64)> = Default::default();
    for st in &ing.stubs {
        if st.account == crate::ingest::NONE || ing.is_time_anomaly(st.time) {
            continue;
        }
        let e = m.entry(st.account).or_insert((st.time, st.time, 0));
        e.0 = e.0.min(st.time);
        e.1 = e.1.max(st.time);
        e.2 += 1;
    }
    let mut out: Vec<EvidenceWindow> = m
        .into_iter()
        .filter_map(|(a, (f, l, n))| {
            Some(EvidenceWindow {
                account_id: ing.str(a)?.to_string(),
                first_event: crate::time::fmt_iso(f),
                last_event: crate::time::fmt_iso(l),
                events: n,
            })
        })
        .collect();
    out.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    out
}

/// A tainted credential that was still valid when the evidence of its account ends, and so
/// may have acted, or minted credentials, where no log shows it (the unseen tail, SPEC §9).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TailRisk {
    pub credential: String,
    pub principal_arn: Option<String>,
    pub account_id: Option<String>,
    /// When it stops being valid on its own (`null`: a long-term key, valid until deactivated).
    /// Read leniently from a plan (`verify` derives its own).
    #[serde(default, deserialize_with = "crate::time::de_lenient")]
    pub valid_until: Option<Time>,
    /// The last event of its account's logs (`null`: no logs of that account).
    #[serde(default, deserialize_with = "crate::time::de_lenient")]
    pub evidence_ends: Option<Time>,
    /// Why it matters: it minted credentials before, or its rights are unknown.
    pub reason: String,
}

/// Tainted credentials alive after the evidence of their account ends. `valid_until(n)` is a
/// session's expiry (None for long-term keys or unknown expiry).
pub fn unseen_tail(
    g: &SessionGraph,
    tainted: &BTreeSet<usize>,
    windows: &[EvidenceWindow],
    valid_until: impl Fn(usize) -> Option<i64>,
) -> Vec<TailRisk> {
    let ends: BTreeMap<&str, i64> = windows
        .iter()
        .filter_map(|w| Some((w.account_id.as_str(), crate::time::parse_iso(&w.last_event)?)))
        .collect();
    let mut minted: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (k, &(p, _)) in g.edge_nodes.iter().enumerate() {
        minted.entry(p).or_default().insert(g.edges[k].event_name.clone());
    }
    for gr in &g.user_grants {
        minted.entry(gr.by).or_default().insert(gr.event_name.clone());
    }
    let mut tried: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in &g.attempts {
        if let Some(k) = a.caller_key.as_deref() {
            tried.entry(k).or_default().insert(a.event_name.as_str());
        }
    }
    let mut out = Vec::new();
    for &n in tainted {
        let node = &g.nodes[n];
        let acct = node.account_id.as_deref();
        let end = acct.and_then(|a| ends.get(a).copied());
        let until = valid_until(n);
        let alive_after = match (node.kind, until, end) {
            (NodeKind::LongTermKey, _, _) => true,
            (_, Some(u), Some(e)) => u > e,
            _ => true,
        };
        if !alive_after {
            continue;
        }
        let mut did: BTreeSet<&str> =
            minted.get(&n).map(|s| s.iter().map(String::as_str).collect()).unwrap_or_default();
        if let Some(k) = node.access_key_id.as_deref() {
            did.extend(tried.get(k).into_iter().flatten().copied());
        }
        let reason = if did.is_empty() {
            "its rights are unknown (no IAM snapshot): it may have minted credentials after the last event".to_string()
        } else {
            format!(
                "it called {} in the evidence: it may have minted more credentials after the last event",
                did.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        out.push(TailRisk {
            credential: node.id.clone(),
            principal_arn: node.principal_arn.clone(),
            account_id: acct.map(str::to_string),
            valid_until: Time::opt(until),
            evidence_ends: Time::opt(end),
            reason,
        });
    }
    out
}

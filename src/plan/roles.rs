//! Roles the attacker made (`CreateRole` by a tainted credential, still there at the end of the
//! trail). Whoever the role's trust policy names (an account of the attacker's, a provider, a
//! service running the attacker's code) can assume it again after any cut-off: a deny on
//! `aws:TokenIssueTime` cuts only the sessions issued before it (F6). A review found a role
//! made trusting another account, with AdministratorAccess attached: plan exit 0, verify OK,
//! and that account could assume it as soon as plan.sh had run.
//!
//! The plan therefore puts `TrailhoundDenyAll` (no condition) on each such role, sessions or
//! not, as it does on the attacker's users (SPEC §9): every session of it, issued before or
//! after the cut-off, is denied everything until a person deletes the role (the review item
//! says so; its policies and instance profiles come off first). `verify` fails when such a
//! role has no deny that matches every session of it. A role made through a credential the
//! taint reached only by an ambiguous link is denied too: a deny can be taken back.

use super::targets::{Target, TargetKind};
use crate::blast::BlastRadius;
use crate::chain::SessionGraph;
use crate::escape::one_line;
use crate::time::fmt_iso;
use serde_json::Value;
use std::collections::BTreeMap;

/// The `CreateRole` that made a role the attacker's: its event id and time.
pub(crate) struct MadeRole {
    pub event_id: String,
    pub time: i64,
    /// The node of the credential that made it, when every credential that made it is tainted
    /// only through an ambiguous inferred link: the role may be a clean session's.
    pub unsure: Option<usize>,
}

/// The roles tainted credentials made that are not gone since (deleted, or their name made
/// again), each with the first such `CreateRole`.
pub(crate) fn made_roles(g: &SessionGraph, b: &BlastRadius) -> BTreeMap<Target, MadeRole> {
    let mut out: BTreeMap<Target, MadeRole> = BTreeMap::new();
    for gr in &g.role_grants {
        if gr.event_name != "CreateRole" || !b.nodes.contains(&gr.by) || gr.user_name.is_empty() {
            continue;
        }
        if g.role_gone_after(&gr.account_id, &gr.user_name, gr.time).is_some() {
            continue;
        }
        let t = Target {
            kind: TargetKind::Role,
            name: gr.user_name.clone(),
            arn: gr.user_arn.clone(),
            account_id: gr.account_id.clone(),
        };
        let unsure = b.by_ambiguous.contains(&gr.by).then_some(gr.by);
        let made = MadeRole { event_id: gr.event_id.clone(), time: gr.time, unsure };
        match out.get_mut(&t) {
            // The first CreateRole names it; it is sure when any maker is.
            Some(m) => {
                if made.unsure.is_none() {
                    m.unsure = None;
                }
                if (made.time, &made.event_id) < (m.time, &m.event_id) {
                    (m.time, m.event_id) = (made.time, made.event_id);
                }
            }
            None => {
                out.insert(t, made);
            }
        }
    }
    out
}

/// The deny-all statement and the reason of the plan's policy on a role the attacker made.
pub(super) fn deny_all(g: &SessionGraph, target: &Target, made: &MadeRole) -> (Value, String) {
    let reason = match made.unsure {
        None => format!(
            "role {} was made by a tainted credential ({}, {}): whoever its trust policy names can assume it again after any cut-off, so deny everything every session of it does, until it is deleted",
            target.name,
            made.event_id,
            fmt_iso(made.time)
        ),
        Some(by) => format!(
            "role {} was made ({}, {}) by {}, which the trail ties to the leaked key only through a call whose caller more than one session matches (inferred link): it may be a clean session's role. Denied everything until a person checks it (a deny can be taken back: delete this policy if the role is clean); do NOT delete the role before that",
            target.name,
            made.event_id,
            fmt_iso(made.time),
            one_line(&g.nodes[by].id)
        ),
    };
    (super::policy::deny_all_statement(), reason)
}

/// The NOT CUT note for a role the attacker made that no deny of the plan cuts whatever its
/// sessions' issue time (`cut` says whether a deny on it matches every session).
pub(crate) fn uncut_notes(
    made: &BTreeMap<Target, MadeRole>,
    cut: impl Fn(&Target) -> bool,
) -> Vec<String> {
    made.iter()
        .filter(|(t, _)| !cut(t))
        .map(|(t, m)| {
            format!(
                "NOT CUT: role {} in {} was made by a tainted credential ({}, {}): whoever its trust policy names can assume it after any cut-off, and no deny of this plan matches every session of it (put TrailhoundDenyAll on it, or delete it)",
                one_line(&t.name),
                t.account_id,
                one_line(&m.event_id),
                fmt_iso(m.time)
            )
        })
        .collect()
}

/// How many roles the attacker made the plan's own actions leave without a deny IAM takes
/// that matches every session of them (`refused`: the actions IAM refuses for want of room,
/// F8; the statements judged as `verify` judges them, [`super::policy::any_matches`]), with a
/// NOT CUT note each: `plan` exits 1 on them (`summary.roles_by_hand`), as `verify` fails. A
/// role with no session in the trail has nothing for the room's NOT COVERED count to count.
pub(super) fn left_uncut(
    made: &BTreeMap<Target, MadeRole>,
    actions: &[super::Action],
    refused: &[usize],
    notes: &mut Vec<String>,
) -> u64 {
    use super::ActionKind;
    let created = |arn: &str| {
        actions
            .iter()
            .find(|m| m.kind == ActionKind::CreatePolicy && m.policy_arn.as_deref() == Some(arn))
    };
    let cuts = |t: &Target| {
        actions.iter().enumerate().any(|(i, a)| {
            let on = a.account_id.as_deref() == Some(t.account_id.as_str())
                && a.principal_arn.as_deref().is_some_and(|p| {
                    p.rsplit('/').next().is_some_and(|n| n.eq_ignore_ascii_case(&t.name))
                });
            let doc = match a.kind {
                ActionKind::PutRolePolicy => a.policy_document.as_ref(),
                ActionKind::AttachRolePolicy => a
                    .policy_arn
                    .as_deref()
                    .and_then(created)
                    .and_then(|c| c.policy_document.as_ref()),
                _ => None,
            };
            let every = doc.is_some_and(|d| {
                super::policy::any_matches(&super::verify::statements(Some(d)), None, None)
            });
            on && every && !refused.contains(&i)
        })
    };
    let uncut = uncut_notes(made, cuts);
    let n = uncut.len() as u64;
    notes.extend(uncut);
    n
}

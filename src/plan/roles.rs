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
use crate::chain::{SessionGraph, UserGrant};
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
    /// Why the role named may not be the one the attacker made, when the trail says so
    /// ([`contested`]): it is denied everything all the same (a deny can be taken back), and
    /// a review item says not to delete it before a person checks.
    pub contested: Option<String>,
    /// The event ids of every tainted `CreateRole` of its name (whose review items a
    /// contested role's own replaces).
    pub made_ids: Vec<String>,
}

/// The `CreateRole` grants by account and lower-case role name, and by event id: what
/// [`contested`] looks up for each role made, once (a forged flood of makings made every role
/// walk every grant).
struct Makings<'g> {
    by_name: BTreeMap<(String, String), Vec<&'g UserGrant>>,
    by_event: BTreeMap<&'g str, Vec<&'g UserGrant>>,
}

impl<'g> Makings<'g> {
    fn of(g: &'g SessionGraph) -> Self {
        let mut m = Makings { by_name: BTreeMap::new(), by_event: BTreeMap::new() };
        for gr in g.role_grants.iter().filter(|gr| gr.event_name == "CreateRole") {
            let key = (gr.account_id.clone(), gr.user_name.to_ascii_lowercase());
            m.by_name.entry(key).or_default().push(gr);
            m.by_event.entry(gr.event_id.as_str()).or_default().push(gr);
        }
        m
    }

    /// The makings of role `t`'s name.
    fn of_name(&self, t: &Target) -> &[&'g UserGrant] {
        let key = (t.account_id.clone(), t.name.to_ascii_lowercase());
        self.by_name.get(&key).map(Vec::as_slice).unwrap_or_default()
    }
}

/// The roles tainted credentials made that are not gone since (deleted, or their name made
/// again), each with the first such `CreateRole`.
pub(crate) fn made_roles(g: &SessionGraph, b: &BlastRadius) -> BTreeMap<Target, MadeRole> {
    let mut out: BTreeMap<Target, MadeRole> = BTreeMap::new();
    for gr in &g.role_grants {
        if gr.event_name != "CreateRole"
            || !b.nodes.contains(&gr.by)
            || gr.user_name.is_empty()
            || gr.user_name.starts_with(crate::chain::UNNAMED_USER)
        {
            continue; // a role its record does not name: `unnamed_notes`
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
        let made = MadeRole {
            event_id: gr.event_id.clone(),
            time: gr.time,
            unsure,
            contested: None,
            made_ids: Vec::new(),
        };
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
    if !out.is_empty() {
        let makings = Makings::of(g);
        let mut uses = None;
        for (t, m) in out.iter_mut() {
            let own = makings.of_name(t).iter().filter(|gr| b.nodes.contains(&gr.by));
            m.made_ids = own.map(|gr| gr.event_id.clone()).collect();
            m.contested = contested(g, &makings, t, m, &mut uses);
        }
    }
    out
}

/// By account and lower-case role name: when each session of the role shows in use, and the
/// session.
type RoleUses = BTreeMap<(String, String), Vec<(i64, usize)>>;

/// The times each role's sessions show in use (issue or first call) with the session, by
/// account and lower-case role name.
fn uses_by_role(g: &SessionGraph) -> RoleUses {
    let mut out: RoleUses = BTreeMap::new();
    for (n, node) in g.nodes.iter().enumerate() {
        if node.kind != crate::chain::NodeKind::Session {
            continue;
        }
        let Some((acct, name)) = crate::chain::role_named(node) else { continue };
        let Some(t) = node.issued_at.into_iter().chain(node.first_seen).min() else { continue };
        out.entry((acct.to_string(), name.to_ascii_lowercase())).or_default().push((t, n));
    }
    out
}

/// Why the role `t` a tainted `CreateRole` names may be another than the attacker made (the
/// rules [`crate::taint`] applies to users, for roles; a review found a copy of the attacker's
/// `CreateRole` naming a production role got it a deny-all with no review item): copies of
/// one such event (one eventID) name two roles, so one is false and the logs cannot tell
/// which; or the name was made before (another `CreateRole`) or a session of the role was in
/// use more than [`crate::taint::MADE_SKEW`] before, with no deletion of the name logged in
/// between (IAM makes no role whose name is taken: the record is forged, or the deletion
/// missing); or the name was made again later with no deletion logged in between (the role
/// there now may be another's).
fn contested(
    g: &SessionGraph,
    makings: &Makings,
    t: &Target,
    m: &MadeRole,
    uses: &mut Option<RoleUses>,
) -> Option<String> {
    let same = |acct: &str, name: &str| acct == t.account_id && name.eq_ignore_ascii_case(&t.name);
    let named = makings.of_name(t);
    // The tainted makings of the name (the attacker may have made it more than once).
    let ids: Vec<&str> =
        m.made_ids.iter().map(String::as_str).filter(|id| !id.is_empty()).collect();
    let mut others: Vec<String> = ids
        .iter()
        .flat_map(|id| makings.by_event.get(id).map(Vec::as_slice).unwrap_or_default())
        .filter(|gr| !same(&gr.account_id, &gr.user_name))
        .map(|gr| format!("{}:{}", gr.account_id, gr.user_name))
        .collect();
    if !others.is_empty() {
        others.sort();
        others.dedup();
        return Some(format!(
            "copies of its CreateRole record (event {}) also name {}: one is false (an evidence conflict) and the logs cannot tell which, so it may be a role that was there before",
            one_line(&m.event_id),
            one_line(&others.join(", "))
        ));
    }
    let deleted = |from: i64, to: i64| {
        g.role_deletions
            .iter()
            .any(|d| same(&d.account_id, &d.user_name) && (from..=to).contains(&d.time))
    };
    let own = || named.iter().filter(|gr| m.made_ids.contains(&gr.event_id));
    let last = own().map(|gr| gr.time).max().unwrap_or(m.time);
    let other = || named.iter().filter(|gr| !ids.contains(&gr.event_id.as_str()));
    if let Some(gr) = other().find(|gr| gr.time > last && !deleted(last, gr.time)) {
        return Some(format!(
            "its name was made again at {} (CreateRole {}) with no deletion of it logged in between: the deletion may be missing from these logs, so the role there now may be another's, or that record is false",
            fmt_iso(gr.time),
            one_line(&gr.event_id)
        ));
    }
    if let Some(gr) =
        other().find(|gr| gr.time < m.time - crate::taint::MADE_SKEW && !deleted(gr.time, m.time))
    {
        return Some(format!(
            "its name was made before, at {} (CreateRole {}), with no deletion of it logged in between (IAM makes no role whose name is taken): the attacker's record may be forged and the role one that was there before",
            fmt_iso(gr.time),
            one_line(&gr.event_id)
        ));
    }
    let uses = uses.get_or_insert_with(|| uses_by_role(g));
    let before = uses
        .get(&(t.account_id.clone(), t.name.to_ascii_lowercase()))?
        .iter()
        .filter(|&&(at, _)| at < m.time - crate::taint::MADE_SKEW && !deleted(at, m.time))
        .min()?;
    let &(at, n) = before;
    Some(format!(
        "its session {} was in use at {}, before the CreateRole of its name at {} (IAM makes no role whose name is taken): that record may be forged and the role one that was there before",
        one_line(&g.nodes[n].id),
        fmt_iso(at),
        fmt_iso(m.time)
    ))
}

/// The deny-all statement and the reason of the plan's policy on a role the attacker made.
pub(super) fn deny_all(g: &SessionGraph, target: &Target, made: &MadeRole) -> (Value, String) {
    if let Some(why) = &made.contested {
        let reason = format!(
            "role {} may not be one the attacker made ({}, {}): {why}. Denied everything until a person checks it (a deny can be taken back: delete this policy if the role is clean); do NOT delete the role before that",
            target.name,
            made.event_id,
            fmt_iso(made.time)
        );
        return (super::policy::deny_all_statement(), reason);
    }
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

/// A review item for each role the attacker's `CreateRole` may not have made
/// ([`MadeRole::contested`]), in place of the review of its `CreateRole`s (which advises the
/// role's deletion: not before a person checks it), whose event ids go to `handled`.
pub(super) fn contested_reviews(
    made: &BTreeMap<Target, MadeRole>,
    handled: &mut std::collections::BTreeSet<String>,
    actions: &mut Vec<super::Action>,
) {
    for (t, m) in made {
        let Some(why) = &m.contested else { continue };
        handled.extend(m.made_ids.iter().cloned());
        actions.push(super::commands::review(
            Some(t.account_id.clone()),
            format!(
                "role {} may not be one the attacker made (CreateRole {} at {}): {why}. It is denied everything ({}); find who made it (the source address and agent of the call) and decide whether to delete it or to give it back to its owner ({} removed)",
                t.name,
                m.event_id,
                fmt_iso(m.time),
                super::DENY_ALL_POLICY_NAME,
                super::DENY_ALL_POLICY_NAME
            ),
            &[format!(
                "aws iam delete-role-policy --role-name {} --policy-name {}",
                crate::escape::shell_word(&t.name),
                super::DENY_ALL_POLICY_NAME
            )],
        ));
    }
}

/// A NOT CUT note for each trust-policy call of a tainted credential (`CreateRole`,
/// `UpdateAssumeRolePolicy`) whose record names no role ([`crate::chain::UNNAMED_USER`]):
/// whoever the trust policy it set names can assume that role after any cut-off, and no
/// action can name a role the logs do not. `plan` counts them in `roles_by_hand` (exit 1) and
/// `verify` fails on them.
pub(crate) fn unnamed_notes(g: &SessionGraph, b: &BlastRadius) -> Vec<String> {
    g.role_grants
        .iter()
        .filter(|gr| gr.user_name.starts_with(crate::chain::UNNAMED_USER) && b.nodes.contains(&gr.by))
        .map(|gr| {
            format!(
                "NOT CUT: a tainted credential's {} in {} (event {}, {}) names no role in its request: whoever the trust policy it set names can assume that role after any cut-off, and no action can name a role the logs do not; find it (aws iam list-roles: its trust policy, its creation or last change at that time) and put {} on it",
                one_line(&gr.event_name),
                gr.account_id,
                one_line(&gr.event_id),
                fmt_iso(gr.time),
                super::DENY_ALL_POLICY_NAME
            )
        })
        .collect()
}

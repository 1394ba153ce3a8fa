//! The room a role's or user's inline policies leave for the plan's inline deny (F8).
//!
//! F8 limits the total of one entity's inline policies (2,048 characters for a user, 10,240
//! for a role, whitespace not counted), not each policy. Two sources say what is already used:
//!
//! * the IAM snapshot (`--iam`), which shows every inline policy of the principal;
//! * the trail, whose tainted `PutUserPolicy` and `PutRolePolicy` calls show what the attacker
//!   put there. Filling a user's 2,048 characters is one call, and it would make IAM refuse
//!   the deny (`LimitExceeded`) while the plan's proof counted it as applied.
//!
//! Where either shows too little room, the plan makes the deny a customer managed policy
//! attached to the principal instead (`precaution::fit_or_managed`), and `verify` treats an
//! inline deny that does not fit as a command IAM would refuse. A put whose record does not
//! hold the document counts as filling the budget: nothing shows the deny would fit. Without
//! a snapshot, the inline policies others put before the trail starts are not known; `verify`
//! says so, and `plan.sh` reports a deny IAM refuses and exits 1.

use super::precaution::MANAGED_POLICY_LIMIT;
use super::{Action, ActionKind, Summary};
use crate::blast::Persistence;
use crate::contain::Iam;
use crate::escape::one_line;
use std::collections::{BTreeMap, BTreeSet};

/// (account, role (true) or user (false), principal name).
type Principal = (String, bool, String);

/// What the trail shows tainted credentials put on each principal: its inline policies (by
/// name, with their size when the record holds the document) and the managed policies
/// attached to it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TrailRooms {
    inline: BTreeMap<Principal, BTreeMap<String, Option<usize>>>,
    attached: BTreeMap<Principal, BTreeSet<String>>,
    /// (account, role?) of a put that names no principal: its record lost its request
    /// (CloudTrail drops one over 100 KB, and a document padded with blanks F8 does not count
    /// gets there), so it may have filled any budget of that kind in the account.
    unnamed: BTreeSet<(String, bool)>,
    /// (account, lower-case name) of each customer managed policy the calls made
    /// (`CreatePolicy`): a name the plan must not give a policy of its own. IAM refuses a
    /// second policy of one name in an account (EntityAlreadyExists), and an attacker who
    /// made one first, under the name the plan would use, would have plan.sh's attach skipped
    /// or, worse, the attacker's document attached.
    made: BTreeSet<(String, String)>,
    /// The SSH public keys, service-specific credentials and signing certificates the calls
    /// made (`othercreds`), the attacker's users' keyless console calls (F17) included.
    pub(super) others: Vec<OtherCredential>,
}

/// A credential other than an access key a call made: account, user, its id when the
/// response shows it, the call's name and event id, and its time.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OtherCredential {
    pub(super) account: String,
    pub(super) user: String,
    pub(super) id: Option<String>,
    pub(super) event_name: String,
    pub(super) event_id: String,
    pub(super) time: i64,
}

impl TrailRooms {
    /// From the blast radius's persistence findings (successful calls of tainted credentials
    /// only). A name put twice counts at its larger size; a later delete is not subtracted,
    /// so the room is never overstated.
    pub fn from_persistence(found: &[Persistence]) -> TrailRooms {
        let mut t = TrailRooms::default();
        for p in found {
            if p.event_name == "CreatePolicy" {
                if let (Some(a), Some(n)) = (p.account_id.as_deref(), p.policy_name.as_deref()) {
                    t.made.insert((a.to_string(), n.to_ascii_lowercase()));
                }
            }
            if crate::blast::OTHER_CREDENTIALS.contains(&p.event_name.as_str()) {
                if let (Some(a), Some(u)) = (&p.account_id, &p.user_name) {
                    t.others.push(OtherCredential {
                        account: a.clone(),
                        user: u.clone(),
                        id: p.credential_id.clone(),
                        event_name: p.event_name.clone(),
                        event_id: p.event_id.clone(),
                        time: p.event_time.secs(),
                    });
                }
            }
            let principal = (p.user_name.as_deref(), p.role_name.as_deref());
            let policy = (p.policy_name.as_deref(), p.policy_arn.as_deref(), p.policy_size);
            t.note(&p.event_name, p.account_id.as_deref(), principal, policy);
        }
        t
    }

    /// What the trail shows was put on principals' inline budgets: the IAM calls of the
    /// tainted credentials (the blast radius's events), and those of the attacker's users
    /// whatever credential they carry (a console session's calls may carry no key, F17, and so
    /// belong to no credential), read back from their files. `plan` and `verify` both use it.
    ///
    /// # Errors
    /// A file that changed on disk since it was read.
    pub fn from_trail(
        ing: &crate::ingest::Ingest,
        b: &crate::blast::BlastRadius,
    ) -> anyhow::Result<TrailRooms> {
        let mut t = TrailRooms::default();
        let is_iam =
            |i: usize| ing.strings.get(ing.stubs[i].source as usize) == Some("iam.amazonaws.com");
        // The tainted calls (sorted, as the blast radius keeps them).
        let mut wanted: Vec<usize> =
            b.event_indices.iter().copied().filter(|&i| is_iam(i)).collect();
        // Under every name each had (a call before a rename signs with the old one).
        let users: BTreeSet<(&str, String)> = b
            .attacker_users
            .iter()
            .flat_map(|u| u.names().map(|n| (u.account_id.as_str(), n.to_ascii_lowercase())))
            .collect();
        if !users.is_empty() {
            let by_user = |i: usize| {
                let arn = ing.strings.get(ing.stubs[i].principal as usize);
                arn.and_then(crate::iam::user_key)
                    .is_some_and(|(acct, name)| users.contains(&(acct, name.to_ascii_lowercase())))
            };
            wanted.extend((0..ing.stubs.len()).filter(|&i| is_iam(i) && by_user(i)));
            wanted.sort_unstable();
            wanted.dedup();
        }
        // In time order: a user renamed after a put takes its inline policies along.
        let mut calls: Vec<(usize, crate::model::Event)> = Vec::new();
        if !wanted.is_empty() {
            ing.for_each_event(&wanted, |pos, e| calls.push((pos, e)))?;
        }
        calls.sort_by_key(|(pos, _)| *pos);
        for (_, e) in &calls {
            t.add_event(e);
        }
        Ok(t)
    }

    /// The inline policy names and the managed policy ARNs the trail shows put on user `name`
    /// of `account` (by the name it has at the end of the trail).
    pub fn user_policies(&self, account: &str, name: &str) -> (Vec<&str>, Vec<&str>) {
        let key = (account.to_string(), false, name.to_ascii_lowercase());
        let inline = self.inline.get(&key).into_iter().flat_map(|m| m.keys().map(String::as_str));
        let attached = self.attached.get(&key).into_iter().flatten().map(String::as_str);
        (inline.collect(), attached.collect())
    }

    /// How many managed policies are attached to the role (or user) `name` in `account`: those
    /// the calls attached and those of `snapshot` (its attached policies' ARNs), each once. A
    /// snapshot taken before an attach the trail shows does not hold it, and one taken after
    /// holds it too: the larger of the two counts was short by the first kind (a review: nine
    /// in the snapshot and a tenth in the trail, and the plan attached an eleventh).
    pub fn attached_with(
        &self,
        account: &str,
        role: bool,
        name: &str,
        snapshot: &[String],
    ) -> usize {
        let key = (account.to_string(), role, name.to_ascii_lowercase());
        let shown = self.attached.get(&key);
        let extra = shown.into_iter().flatten().filter(|a| !snapshot.contains(a)).count();
        snapshot.len() + extra
    }

    /// Whether the calls made a customer managed policy named `name` (whatever its case) in
    /// `account`.
    pub fn made_policy(&self, account: &str, name: &str) -> bool {
        self.made.contains(&(account.to_string(), name.to_ascii_lowercase()))
    }

    /// [`TrailRooms::from_trail`] for the plan: when a file changed since it was read, the
    /// persistence findings of the blast radius instead, with a note.
    pub fn for_plan(
        ing: &crate::ingest::Ingest,
        b: &crate::blast::BlastRadius,
        notes: &mut Vec<String>,
    ) -> TrailRooms {
        TrailRooms::from_trail(ing, b).unwrap_or_else(|e| {
            notes.push(format!("the IAM calls that put inline policies could not be read back ({e}): the room for each inline deny (F8) is judged from the tainted credentials' calls in the blast radius alone"));
            TrailRooms::from_persistence(&b.persistence)
        })
    }

    /// Adds what the call `e` of a tainted credential put or attached, if it succeeded: as
    /// [`TrailRooms::from_persistence`], for `verify`, which reads those calls itself.
    pub fn add_event(&mut self, e: &crate::model::Event) {
        if e.failed() {
            return;
        }
        let q = &e.request;
        if crate::blast::OTHER_CREDENTIALS.contains(&e.name.as_str()) {
            if !crate::blast::other_credential(e) {
                return;
            }
            if let (Some(a), Some(u)) = (e.account(), crate::blast::user_acted_on(e)) {
                self.others.push(OtherCredential {
                    account: a.to_string(),
                    user: u,
                    id: e.response.credential_id.clone(),
                    event_name: e.name.clone(),
                    event_id: e.id.clone(),
                    time: e.time,
                });
            }
            return;
        }
        if e.name == "CreatePolicy" {
            if let (Some(a), Some(n)) = (e.account(), q.policy_name.as_deref()) {
                self.made.insert((a.to_string(), n.to_ascii_lowercase()));
            }
            return;
        }
        if e.name == "UpdateUser" {
            // Inline and attached policies stay with a renamed user: its budget moves with it.
            let (Some(acct), Some(from), Some(to)) =
                (e.account(), q.user_name.as_deref(), q.new_user_name.as_deref())
            else {
                return;
            };
            let (from, to) = (from.to_ascii_lowercase(), to.to_ascii_lowercase());
            let key = |n: &str| (acct.to_string(), false, n.to_string());
            if let Some(m) = self.inline.remove(&key(&from)) {
                self.inline.entry(key(&to)).or_default().extend(m);
            }
            if let Some(m) = self.attached.remove(&key(&from)) {
                self.attached.entry(key(&to)).or_default().extend(m);
            }
            return;
        }
        let principal = (q.user_name.as_deref(), q.role_name.as_deref());
        let policy = (q.policy_name.as_deref(), q.policy_arn.as_deref(), q.policy_size);
        self.note(&e.name, e.account(), principal, policy);
    }

    /// `(user, role)` the call named; `(inline name, managed ARN, inline size)`.
    fn note(
        &mut self,
        event: &str,
        account: Option<&str>,
        (user, role_name): (Option<&str>, Option<&str>),
        (policy, arn, size): (Option<&str>, Option<&str>, Option<i64>),
    ) {
        let role = match event {
            "PutRolePolicy" | "AttachRolePolicy" => true,
            "PutUserPolicy" | "AttachUserPolicy" => false,
            _ => return,
        };
        let Some(acct) = account else { return };
        let name = if role { role_name } else { user };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            if event.starts_with("Put") {
                self.unnamed.insert((acct.to_string(), role));
            }
            return;
        };
        // IAM names are not told apart by case.
        let key = (acct.to_string(), role, name.to_ascii_lowercase());
        if event.starts_with("Put") {
            let Some(policy) = policy else { return };
            let size = size.map(|s| usize::try_from(s).unwrap_or(usize::MAX));
            let slot =
                self.inline.entry(key).or_default().entry(policy.to_string()).or_insert(size);
            *slot = match (*slot, size) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        } else if let Some(arn) = arn {
            self.attached.entry(key).or_default().insert(arn.to_string());
        }
    }
}

/// What is known of the room for one inline deny.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// Characters the principal's other inline policies use (a put of unknown size counts as
    /// the whole limit).
    pub used: usize,
    pub limit: usize,
    /// Managed policies attached to the principal (at least).
    pub attached: usize,
    /// Why `used`, for the notes: "its inline policies already use N of L characters (F8,
    /// per …)".
    pub why: String,
}

/// Whether the IAM snapshot shows an inline policy named `name` on `a`'s principal (already in
/// [`Room::used`]: the plan's put of that name replaces it, so it is not counted twice, as a
/// snapshot taken after plan.sh ran shows the plan's own denies).
pub fn in_snapshot(a: &Action, iam: Option<&Iam>, name: &str) -> bool {
    let Some(arn) = a.principal_arn.as_deref() else { return false };
    let inline = iam.and_then(|i| match a.kind {
        ActionKind::PutRolePolicy => i.snapshot.role(arn).map(|r| &r.inline[..]),
        ActionKind::PutUserPolicy => i.snapshot.user(arn).map(|u| &u.inline[..]),
        _ => None,
    });
    inline.is_some_and(|list| list.iter().any(|x| x.name == name))
}

/// The room for the inline deny `a` on its principal, from the snapshot (if given) and the
/// trail, whichever shows less; `None` when `a` is not an inline deny, or neither source knows
/// its principal and the deny is within the whole inline budget (F8).
pub fn room(a: &Action, iam: Option<&Iam>, trail: &TrailRooms) -> Option<Room> {
    let arn = a.principal_arn.as_deref()?;
    let deny = a.policy_name.as_deref()?;
    let role = match a.kind {
        ActionKind::PutRolePolicy => true,
        ActionKind::PutUserPolicy => false,
        _ => return None,
    };
    let limit = super::inline_limit(role);
    // The snapshot's inline policies other than the deny, and its attached policies.
    let snap_lists = iam.and_then(|i| {
        if role {
            i.snapshot.role(arn).map(|r| (&r.inline[..], &r.attached[..]))
        } else {
            i.snapshot.user(arn).map(|u| (&u.inline[..], &u.attached[..]))
        }
    });
    let snap_inline = || snap_lists.into_iter().flat_map(|(i, _)| i).filter(|x| x.name != deny);
    let snap_attached: &[String] = snap_lists.map_or(&[], |(_, a)| a);
    // What the snapshot's inline policies use, when it shows the principal.
    let snap_used: Option<usize> = snap_lists.map(|_| snap_inline().map(|x| x.bytes).sum());
    let account = a.account_id.clone().unwrap_or_default();
    if trail.unnamed.contains(&(account.clone(), role)) {
        let name = arn.rsplit('/').next().unwrap_or("");
        return Some(Room {
            used: limit.max(snap_used.unwrap_or(0)),
            limit,
            attached: trail.attached_with(&account, role, name, snap_attached),
            why: format!(
                "a tainted Put{}Policy in account {} names no {} (its record lost its request, as CloudTrail drops one over 100 KB), so it may have filled this one's inline policies (F8, per the trail: no room is known)",
                if role { "Role" } else { "User" },
                crate::escape::one_line(&account),
                if role { "role" } else { "user" }
            ),
        });
    }
    let key = (account, role, arn.rsplit('/').next()?.to_ascii_lowercase());
    let put: Vec<(&String, Option<usize>)> = trail
        .inline
        .get(&key)
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.as_str() != deny)
        .map(|(n, s)| (n, *s))
        .collect();
    let attached = trail.attached_with(&key.0, role, &key.2, snap_attached);
    if snap_used.is_none() && put.is_empty() && attached == 0 {
        // Nothing known of the principal: room only for a deny over its whole inline budget.
        let size = a.policy_size.filter(|&s| s > limit)?;
        return Some(Room {
            used: 0,
            limit,
            attached: 0,
            why: format!("this deny has {size} characters, over the {limit} all its inline policies may hold together (F8)"),
        });
    }
    let unknown: Vec<&str> =
        put.iter().filter(|(_, s)| s.is_none()).map(|(n, _)| n.as_str()).collect();
    let from_trail = if unknown.is_empty() {
        put.iter().map(|(_, s)| s.unwrap_or(0)).fold(0usize, usize::saturating_add)
    } else {
        limit
    };
    let (shown, snap_used) = (snap_used.is_some(), snap_used.unwrap_or(0));
    let why = if shown && snap_used >= from_trail {
        format!("its inline policies already use {snap_used} of {limit} characters (F8, per the IAM snapshot)")
    } else if !unknown.is_empty() {
        format!(
            "tainted credentials put the inline polic{} {} on it, of a size the record does not show (F8, per the trail: no room is known)",
            if unknown.len() == 1 { "y" } else { "ies" },
            crate::escape::one_line(&unknown.join(", "))
        )
    } else {
        let names: Vec<String> = put
            .iter()
            .map(|(n, s)| format!("{} ({})", crate::escape::one_line(n), s.unwrap_or(0)))
            .collect();
        format!(
            "the inline policies tainted credentials put on it ({}) already use {from_trail} of {limit} characters (F8, per the trail)",
            names.join(", ")
        )
    };
    // By name, each policy once at the larger of its sizes: the snapshot's, and each put the
    // trail shows (one of unknown size fills the budget). A snapshot taken before a put the
    // trail shows does not hold it, and one taken after holds it too, so neither the larger
    // of the two sums nor their total is right (a review: 5,139 characters in the snapshot
    // and the attacker's 5,038 in the trail left 63, and the plan put its deny inline).
    let mut by_name: BTreeMap<&str, usize> =
        snap_inline().map(|x| (x.name.as_str(), x.bytes)).collect();
    for (n, size) in &put {
        let e = by_name.entry(n.as_str()).or_insert(0);
        *e = (*e).max(size.unwrap_or(limit));
    }
    let used = by_name.values().fold(0usize, |a, &b| a.saturating_add(b));
    let why = if shown && !put.is_empty() && used > snap_used.max(from_trail) {
        format!("{why}; with the IAM snapshot's own, {used} of {limit} (F8)")
    } else {
        why
    };
    Some(Room { used, limit, attached, why })
}

/// What the plan's denies that IAM will refuse for want of room (F8, `LimitExceeded`) would
/// cover: an inline deny left without room (its principal also has its quota of managed
/// policies attached: a review item; or it is over the principal's whole inline budget), and a
/// deny moved to a managed policy (no inline room) over the 6,144 characters one may hold (a
/// statement its split could not cut small enough).
#[derive(Debug, Default)]
pub(super) struct Refused {
    covers: u64,
    collateral: u64,
    policies: u64,
    notes: Vec<String>,
    /// The refused actions, by their place in the list.
    pub(super) at: Vec<usize>,
}

/// Moves what `after` refuses, beyond what `before` did (counted already), from the plan's
/// covered sessions to its uncovered ones, with a NOT COVERED note each.
pub(super) fn count_refused(
    before: &Refused,
    after: Refused,
    s: &mut Summary,
    notes: &mut Vec<String>,
) {
    let shift = |n: u64, add: u64, take: u64| (n + take).saturating_sub(add);
    s.covered_sessions = shift(s.covered_sessions, after.covers, before.covers);
    s.collateral_sessions = shift(s.collateral_sessions, after.collateral, before.collateral);
    s.policies = shift(s.policies, after.policies, before.policies);
    s.uncovered_sessions = shift(s.uncovered_sessions, before.covers, after.covers);
    notes.extend(after.notes.into_iter().filter(|n| !before.notes.contains(n)));
}

/// What `actions` leave to IAM to refuse ([`Refused`]).
pub(super) fn refused(actions: &[Action]) -> Refused {
    let mut r = Refused::default();
    let mut refuse = |i: usize, a: &Action, why: String| {
        r.at.push(i);
        let covers = a.covers.as_ref().map_or(0, Vec::len) as u64;
        r.covers += covers;
        r.collateral += a.collateral.as_ref().map_or(0, Vec::len) as u64;
        r.policies += 1;
        if covers > 0 {
            r.notes.push(format!(
                "NOT COVERED: the deny {} on {} {why} (F8): IAM refuses it (LimitExceeded), so its {covers} live tainted session(s) stay alive until it fits",
                one_line(a.policy_name.as_deref().unwrap_or("")),
                one_line(a.principal_arn.as_deref().unwrap_or(""))
            ));
        }
    };
    let managed_size = |arn: &str| {
        actions
            .iter()
            .find(|m| m.kind == ActionKind::CreatePolicy && m.policy_arn.as_deref() == Some(arn))
            .and_then(|m| m.policy_size)
    };
    for (i, a) in actions.iter().enumerate() {
        match a.kind {
            ActionKind::PutRolePolicy | ActionKind::PutUserPolicy => {
                let (Some(size), Some(room)) = (a.policy_size, a.policy_size_limit) else {
                    continue;
                };
                if size > room {
                    let why = format!("has {size} characters and its principal's other inline policies leave {room} (see the review item)");
                    refuse(i, a, why);
                }
            }
            ActionKind::AttachRolePolicy | ActionKind::AttachUserPolicy => {
                let Some(size) = a.policy_arn.as_deref().and_then(managed_size) else { continue };
                if size > MANAGED_POLICY_LIMIT {
                    let why = format!("was moved to a managed policy for want of inline room, and has {size} characters, over the {MANAGED_POLICY_LIMIT} a managed policy may hold, in a statement that cannot be split");
                    refuse(i, a, why);
                }
            }
            _ => {}
        }
    }
    r
}

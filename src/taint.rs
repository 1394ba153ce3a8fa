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
//! 3. Attacker-set trust (this repository's addition to SPEC §9): a role whose trust policy a
//!    tainted credential set (CreateRole, UpdateAssumeRolePolicy) can be assumed by whoever
//!    the attacker chose, from then on. Its sessions issued from then on by an issuer outside
//!    the trail's credentials (another account, an OIDC or SAML provider, a service) or by an
//!    issuer the logs do not show are tainted: they are the attacker's way back in, and a
//!    session already issued stays valid whatever the trust policy says next (F7, F12), so
//!    reverting the trust policy (a review item) does not cut them. Sessions a known, untainted
//!    credential of the trail issued are not: they are that credential's.

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
    /// The calls that made it the attacker's (event names and ids), and those that renamed it.
    pub evidence: Vec<String>,
    /// The names it had before `UpdateUser` gave it `user_name`, oldest first: what the
    /// attacker's calls on it named it then. Every action takes `user_name`, the only one IAM
    /// knows it by at the end of the trail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renamed_from: Vec<String>,
    /// The `DeleteUser` (event id and time) that removed it after the attacker last made it:
    /// a user made again under its name afterwards is someone else's, and there is nothing
    /// left to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    /// The time of that `DeleteUser`.
    #[serde(skip)]
    pub deleted_at: Option<i64>,
    /// Why the name it has now is not known, when it is not: renames in one second whose
    /// order decides it ([`crate::chain::SessionGraph::rename_unordered`]). The plan then
    /// neither denies it everything nor removes it under a guessed name (which may be another
    /// user's): a NOT CUT note and review item, and verify fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_unsure: Option<String>,
    /// Why it may not be the attacker's, when every `CreateUser` that made it was called by a
    /// credential tainted only through an ambiguous link
    /// ([`crate::chain::SessionGraph::by_ambiguous_link`]): the session may be a clean
    /// one's. The plan then denies it everything and leaves its deletion to a human (a
    /// deletion cannot be undone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_unsure: Option<String>,
}

impl AttackerUser {
    /// Still there (not deleted since) under a name the trail is sure of: the plan acts on it.
    pub fn live(&self) -> bool {
        self.deleted.is_none() && self.name_unsure.is_none()
    }

    /// Every name it had: the one it has now, then those before renames, oldest first. The
    /// attacker's calls on it, and its own, name it by whichever it had then.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.user_name).chain(&self.renamed_from)
    }

    /// [`AttackerUser::live`], and surely made by the attacker: the plan removes it.
    pub fn removable(&self) -> bool {
        self.live() && self.created && self.made_unsure.is_none()
    }
}

/// When the user `u` the attacker controls was deleted after it last made it (`made`: the
/// time of each user's last tainted `CreateUser`; without one, `u.since`), under the name it
/// had at the time: a `DeleteUser` of an earlier name after the user was renamed from it, or of
/// its present name before it was renamed to it, deletes another user (the attacker renames
/// `evil` to `evil2`, makes a new `evil` and deletes that one: `evil2` lives on).
fn deleted_at<'g>(
    g: &'g SessionGraph,
    u: &AttackerUser,
    made: &BTreeMap<(String, String), i64>,
) -> Option<&'g crate::chain::UserGrant> {
    let who = (u.account_id.clone(), u.user_name.to_ascii_lowercase());
    let made = made.get(&who).copied().unwrap_or(u.since.secs());
    let acct = &u.account_id;
    // The name the user had at `made`: of its names, the one whose renames from then on end
    // at its present name through the most steps.
    let origin = std::iter::once(&u.user_name)
        .chain(&u.renamed_from)
        .map(|n| (n, g.renames_of(acct, n, Some(made))))
        .filter(|(n, r)| {
            r.last()
                .map_or(n.as_str(), |r| crate::chain::renamed_to(r))
                .eq_ignore_ascii_case(&u.user_name)
        })
        .max_by_key(|(_, r)| r.len());
    let Some((origin, _)) = origin else {
        return g.name_gone_after(acct, &u.user_name, made);
    };
    // Under each name it had from `made` on (renames followed), a deletion in the same second
    // as the making or a rename into or out of the name not believed.
    g.user_gone_after(acct, origin, made)
}

/// The tainted credentials and the users the attacker controls.
#[derive(Debug, Clone, Default)]
pub struct Taint {
    /// Tainted credential nodes (long-term keys and sessions).
    pub nodes: BTreeSet<usize>,
    /// Sorted by account and user name.
    pub attacker_users: Vec<AttackerUser>,
    /// The roles whose trust policy the attacker set (rule 3): account and role name in lower
    /// case (IAM role names are unique regardless of case), sorted.
    pub attacker_roles: Vec<(String, String)>,
    /// The accounts whose root console password the attacker set (from an `AssumeRoot`
    /// session), with when: root's console sessions begun since are the attacker's. Sorted.
    pub attacker_roots: Vec<(String, i64)>,
    /// Sessions tainted through a call too many credentials may have made to link each
    /// ([`crate::chain::Wide`]), with the tainted credential that may have made it and the
    /// call's event id: `(session, credential, event id)`, in the order taken.
    pub wide: Vec<(usize, usize, String)>,
    /// Sessions rule 3 does not take although they came after the attacker set the role's
    /// trust policy, because the account that took them had taken the role before it did (a
    /// partner's routine run, whose next user plan.sh deleted): with why, for the sessions
    /// to check ([`crate::chain::Unsure`]; not tainted, not clean).
    pub unsure: Vec<(usize, String)>,
    /// Credentials tainted only through an ambiguous inferred link
    /// ([`crate::chain::SessionGraph::by_ambiguous_link`]): what they made may be a clean
    /// session's (a user is not deleted, a role's deny says so).
    pub by_ambiguous: BTreeSet<usize>,
}

/// The IAM user name of a credential node, with its account: long-term keys and sessions of
/// IAM users (console and GetSessionToken sessions act as the user itself). The name is the
/// one the user has at the end of the trail: a user renamed after the credential was seen
/// (`UpdateUser`) is known to IAM only by its new name ([`SessionGraph::user_name_now`]).
pub fn user_of(g: &SessionGraph, n: usize) -> Option<(&str, &str)> {
    let node = &g.nodes[n];
    let (acct, name) = crate::chain::user_named(node)?;
    Some((acct, g.user_name_now(acct, name, node.issued_at.or(node.first_seen))))
}

/// How much earlier than the `CreateUser` of its name a user's credential may show in use
/// and still be the new user's: a key's `createDate` and the call's `eventTime` are taken
/// on different clocks, a second or so apart (a user the attacker made was otherwise left
/// undeleted).
pub(crate) const MADE_SKEW: i64 = 60;

/// The `CreateUser` events (by eventID) whose records name two users (in any case-insensitive
/// sense, or two accounts), with the users they name (`account:name`, sorted).
fn disputed_makings(g: &SessionGraph) -> BTreeMap<&str, Vec<String>> {
    let mut named: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for gr in g.user_grants.iter().filter(|gr| gr.event_name == "CreateUser") {
        if gr.event_id.is_empty() {
            continue;
        }
        let who = format!("{}:{}", gr.account_id, gr.user_name.to_ascii_lowercase());
        named.entry(gr.event_id.as_str()).or_default().insert(who);
    }
    named
        .into_iter()
        .filter(|(_, n)| n.len() > 1)
        .map(|(id, n)| (id, n.into_iter().collect()))
        .collect()
}

/// The account and name of the role a session belongs to (from its issuing call's role ARN,
/// else from its assumed-role ARN).
pub fn role_of(g: &SessionGraph, n: usize) -> Option<(&str, &str)> {
    crate::chain::role_named(&g.nodes[n])
}

/// Passes of the taint that look for the attacker's users' credentials in every credential
/// before it indexes them all by user ([`creds_by_user`]).
const FULL_USER_SCANS: u32 = 8;

/// Every credential of an IAM user, by (account, user name) as [`user_of`] gives them.
fn creds_by_user(g: &SessionGraph) -> BTreeMap<(String, String), Vec<usize>> {
    let mut m: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for n in 0..g.nodes.len() {
        if !matches!(g.nodes[n].kind, NodeKind::LongTermKey | NodeKind::Session) {
            continue;
        }
        if let Some((acct, name)) = user_of(g, n) {
            m.entry((acct.to_string(), name.to_ascii_lowercase())).or_default().push(n);
        }
    }
    m
}

/// A console session: said so by its calls, or a session that no call in the logs issued and
/// whose calls say nothing of how it was made (the console flag is missing from some calls; a
/// user's other sessions, GetSessionToken and GetFederationToken, are issued by logged calls).
fn console_session(node: &crate::chain::Node) -> bool {
    node.kind == NodeKind::Session
        && match node.issued_by_event.as_deref() {
            Some(e) => e == "console sign-in",
            None => node.orphan,
        }
}

/// The sessions rule 3 may take, by role (account, lower-case name): assumed-role sessions
/// whose issuer is no credential of the trail (another account, an OIDC or SAML provider, a
/// service), or unknown. Rule 3 takes those issued (or first seen) once the attacker set the
/// role's trust policy.
fn sessions_by_role(g: &SessionGraph) -> BTreeMap<(String, String), Vec<usize>> {
    let mut m: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    // Whether any record issuing each node came from outside (below): a session two records
    // give to two callers (a copy of its issuing call naming a clean key, read first, or one
    // forged under a new eventID) is from outside if either says so; its first edge alone let
    // the copy take the attacker's session out of the rule (no deny, verify OK).
    let mut from_outside: Vec<Option<bool>> = vec![None; g.nodes.len()];
    for (k, &(p, c)) in g.edge_nodes.iter().enumerate() {
        let o = edge_from_outside(g, k, p);
        let seen = &mut from_outside[c];
        *seen = Some(seen.unwrap_or(false) || o);
    }
    for (n, (node, outside)) in g.nodes.iter().zip(from_outside).enumerate() {
        if node.kind != NodeKind::Session || node.principal_type.as_deref() != Some("AssumedRole") {
            continue;
        }
        // A caller the trail knows only from the role owner's copy of its call (an
        // `AWSAccount` identity, no ARN) counts as from outside: that copy can name the
        // caller's key, which was then a credential of the trail with nothing to taint it, and
        // the session the attacker's account took through the trust policy it set went
        // untainted. Not every caller of another account: a clean CI user whose own calls are
        // in an organization trail made its session, and what that session did, tainted
        // (plan.sh deleted the user its next run made).
        // An IAM user's call with no key (`no-key@EVENT`, F17) counts as from outside too, as
        // it did when such calls were one outside service: nothing of the trail's credentials
        // made it (a review found another account's user's keyless AssumeRole, through a trust
        // policy the attacker set, left untainted once those calls became sessions).
        // A console switch the graph guessed from names alone (an inferred `SwitchRole` link:
        // no address told the two apart) is no evidence the trail's credential made it (a
        // review: the attacker's own user of another account, named as a clean user of it,
        // switched into the role whose trust it set, and was attributed to the clean user).
        if let (true, Some((acct, name))) = (outside.unwrap_or(true), role_of(g, n)) {
            m.entry((acct.to_string(), name.to_ascii_lowercase())).or_default().push(n);
        }
    }
    m
}

/// Whether edge `k` from node `p` shows its session issued from outside the trail's
/// credentials ([`sessions_by_role`]).
fn edge_from_outside(g: &SessionGraph, k: usize, p: usize) -> bool {
    if g.edges[k].inferred && g.edges[k].event_name == crate::chain::SWITCH_ROLE {
        return true;
    }
    let parent = &g.nodes[p];
    matches!(parent.kind, NodeKind::ExternalIdentity | NodeKind::Service)
        || (parent.principal_type.as_deref() == Some("AWSAccount")
            && parent.principal_arn.is_none())
        || crate::chain::keyless_session(parent)
}

/// The other account a session of rule 3 was issued to (its issuer an `account:…` node: the
/// role owner's copy of the call names no more of the caller), if it was.
fn other_account(g: &SessionGraph, n: usize) -> Option<usize> {
    let (p, _) = g.parent_edge()[n]?;
    let parent = &g.nodes[p];
    (parent.kind == NodeKind::ExternalIdentity && parent.id.starts_with("account:")).then_some(p)
}

/// Computes the tainted set from seed nodes.
///
/// Each pass takes the user grants made by a tainted credential (each grant once), then the
/// credentials of the users those made the attacker's, then everything those issued. The
/// work stays linear in the trail whatever the number of attacker users: a credential is
/// looked at only when its ARN's last segment is one of their names (the name [`user_of`]
/// finds is always that segment), and each pass walks only from the credentials it adds.
pub fn taint(g: &SessionGraph, seeds: &[usize]) -> Taint {
    let is_cred = |n: usize| matches!(g.nodes[n].kind, NodeKind::LongTermKey | NodeKind::Session);
    let mut reached: BTreeSet<usize> = g.descendants(seeds);
    // What each pass reached for the first time: only the grants these made are new.
    let mut frontier: Vec<usize> = reached.iter().copied().collect();
    let by_maker = |grants: &[crate::chain::UserGrant]| {
        let mut m: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (k, gr) in grants.iter().enumerate() {
            m.entry(gr.by).or_default().push(k);
        }
        m
    };
    let (user_grants_by, role_grants_by) = (by_maker(&g.user_grants), by_maker(&g.role_grants));
    let change_grants_by = by_maker(&g.change_grants);
    let mut change_taken = vec![false; g.change_grants.len()];
    // Functions and SAML providers a tainted credential changed, with the first time it did
    // (F21; [`crate::chain::SessionGraph::change_grants`]), and their sessions (made once).
    let mut changed: BTreeMap<ChangeKey, i64> = BTreeMap::new();
    let mut change_sessions: Option<BTreeMap<ChangeKey, Vec<usize>>> = None;
    let made_by = |m: &BTreeMap<usize, Vec<usize>>, frontier: &[usize]| {
        let mut ks: Vec<usize> =
            frontier.iter().filter_map(|n| m.get(n)).flatten().copied().collect();
        ks.sort_unstable();
        ks
    };
    let mut users: BTreeMap<(String, String), AttackerUser> = BTreeMap::new();
    // The time of each user's last tainted `CreateUser`: a deletion before it is of an
    // earlier user of the name.
    let mut made: BTreeMap<(String, String), i64> = BTreeMap::new();
    // Each user's ARN is that of its last `CreateUser` grant in the graph's order.
    let mut arn_from: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut taken = vec![false; g.user_grants.len()];
    // Accounts whose root password the attacker set (a user grant named ""), from when.
    let mut roots: BTreeMap<String, i64> = BTreeMap::new();
    let mut root_consoles: Option<Vec<usize>> = None;
    // Roles whose trust policy the attacker set, with the time it first did.
    let mut roles: BTreeMap<(String, String), i64> = BTreeMap::new();
    // And the time it last did.
    let mut role_last: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut role_taken = vec![false; g.role_grants.len()];
    // The sessions rule 3 may take, by role (made once, when a role first needs it).
    let mut role_sessions: Option<BTreeMap<(String, String), Vec<usize>>> = None;
    let mut unsure: Vec<(usize, String)> = Vec::new();
    // The credentials whose CreateUser calls made each attacker user.
    let mut creators: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    // Every user's credentials, for a chain of users past its first passes.
    let mut user_creds: Option<BTreeMap<(String, String), Vec<usize>>> = None;
    let mut user_scans = 0;
    // Calls too many credentials may have made to link each: taken once one of them is
    // tainted (rule 1, decided here rather than by edges: `crate::chain::Wide`).
    let mut wide_index = crate::chain::WideIndex::new(&g.wide);
    let mut wide = Vec::new();
    // Each pass looks only at what the grants of the credentials it reached first changed: a
    // user or role whose entry did not change has had its credentials looked at already
    // (an entry only ever widens: an earlier time, a user created). A forged chain of 12,000
    // roles, each backdoored by the previous one's session, took 17 s when every pass looked
    // at every grant and every credential.
    loop {
        let mut new = Vec::new();
        for (link, by) in wide_index.take(&frontier) {
            if !reached.contains(&link.child) {
                new.push(link.child);
                wide.push((link.child, by, link.event_id.clone()));
            }
        }
        let mut roles_changed: Vec<(String, String)> = Vec::new();
        for k in made_by(&role_grants_by, &frontier) {
            if std::mem::replace(&mut role_taken[k], true) {
                continue;
            }
            let gr = &g.role_grants[k];
            // IAM role names are unique regardless of case: `Admin` and `admin` are one role.
            let role = (gr.account_id.clone(), gr.user_name.to_ascii_lowercase());
            let since = roles.entry(role.clone()).or_insert(i64::MAX);
            let last = role_last.entry(role.clone()).or_insert(i64::MIN);
            // A later grant re-arms a role deleted since the first: its sessions are looked
            // at again.
            if gr.time < *since || gr.time > *last {
                *since = (*since).min(gr.time);
                *last = (*last).max(gr.time);
                roles_changed.push(role);
            }
        }
        let mut changes_changed: Vec<ChangeKey> = Vec::new();
        for k in made_by(&change_grants_by, &frontier) {
            if std::mem::replace(&mut change_taken[k], true) {
                continue;
            }
            let key = change_key(&g.change_grants[k]);
            let since = changed.entry(key.clone()).or_insert(i64::MAX);
            if g.change_grants[k].time < *since {
                *since = g.change_grants[k].time;
                changes_changed.push(key);
            }
        }
        let mut users_changed: Vec<(String, String)> = Vec::new();
        let mut roots_changed = false;
        for k in made_by(&user_grants_by, &frontier) {
            if std::mem::replace(&mut taken[k], true) {
                continue;
            }
            let gr = &g.user_grants[k];
            if gr.user_name.is_empty() {
                // Root's own console password (from an AssumeRoot session): root's console
                // sessions from then on are the attacker's. Root is not a user the plan can
                // deny or remove (F11): it gets no attacker-user entry, only its sessions.
                let since = roots.entry(gr.account_id.clone()).or_insert(i64::MAX);
                if gr.time < *since {
                    *since = gr.time;
                    roots_changed = true;
                }
                continue;
            }
            // A user renamed after the grant is known by its last name (`UpdateUser`, by
            // whatever credential): the entry is that name's.
            let renames = g.renames_of(&gr.account_id, &gr.user_name, Some(gr.time));
            let name =
                renames.last().map_or(gr.user_name.as_str(), |r| crate::chain::renamed_to(r));
            // IAM user names are unique regardless of case, and a call that named `BOB` and
            // succeeded acted on `bob`: the users are keyed by the lower-case name.
            let who = (gr.account_id.clone(), name.to_ascii_lowercase());
            users_changed.push(who.clone());
            let e = users.entry(who.clone()).or_insert_with(|| AttackerUser {
                user_arn: g.user_arn_now(&gr.user_arn, Some(gr.time)),
                account_id: gr.account_id.clone(),
                user_name: name.to_string(),
                since: Time(gr.time),
                created: false,
                evidence: Vec::new(),
                renamed_from: Vec::new(),
                deleted: None,
                deleted_at: None,
                name_unsure: None,
                made_unsure: None,
            });
            if gr.user_name.starts_with(crate::chain::UNNAMED_USER) {
                e.name_unsure = Some(format!(
                    "its {} record (event {}) names no user, in its request or its response",
                    gr.event_name, gr.event_id
                ));
            }
            if e.name_unsure.is_none() {
                e.name_unsure = g.rename_unordered(&gr.account_id, &renames, Some(gr.time));
            }
            let mut before = gr.user_name.as_str();
            for r in &renames {
                if !e.renamed_from.iter().any(|n| n.eq_ignore_ascii_case(before)) {
                    e.renamed_from.push(before.to_string());
                }
                e.evidence.push(format!("{} {}", r.event_name, r.event_id));
                before = crate::chain::renamed_to(r);
            }
            e.since = e.since.min(Time(gr.time));
            e.created |= gr.event_name == "CreateUser";
            if gr.event_name == "CreateUser" {
                creators.entry(who.clone()).or_default().push(gr.by);
                let last = made.entry(who.clone()).or_insert(gr.time);
                *last = (*last).max(gr.time);
                let last = arn_from.entry(who).or_insert(k);
                *last = (*last).max(k);
                e.user_arn = g.user_arn_now(&g.user_grants[*last].user_arn, Some(gr.time));
            }
            e.evidence.push(format!("{} {}", gr.event_name, gr.event_id));
        }
        if !roles_changed.is_empty() {
            let index = role_sessions.get_or_insert_with(|| sessions_by_role(g));
            for role in &roles_changed {
                let since = roles[role];
                // A role deleted after the attacker last set its trust policy is gone: a role
                // made again under its name is another, whose sessions are not taken.
                let gone = g.role_gone_after(&role.0, &role.1, role_last[role]).map(|d| d.time);
                let list = index.get(role).map(Vec::as_slice).unwrap_or(&[]);
                // The other accounts that took the role before the attacker set its trust
                // policy: it did not let them in, so their sessions since are not surely its.
                let before: BTreeSet<usize> = list
                    .iter()
                    .filter(|&&n| {
                        let node = &g.nodes[n];
                        node.issued_at.or(node.first_seen).is_some_and(|t| t < since)
                    })
                    .filter_map(|&n| other_account(g, n))
                    .collect();
                for &n in list {
                    let node = &g.nodes[n];
                    let from = node.issued_at.or(node.first_seen);
                    let alive = gone.is_none_or(|d| from.is_some_and(|t| t < d));
                    if !reached.contains(&n) && alive && from.is_some_and(|t| t >= since) {
                        match other_account(g, n).filter(|p| before.contains(p)) {
                            Some(p) => unsure.push((n, format!(
                                "it was issued to {} after a tainted credential set the trust policy of role {} ({}), but that account had taken the role before, so the change did not let it in: it may be that account's own routine use, or the attacker's",
                                crate::escape::one_line(&g.nodes[p].id),
                                crate::escape::one_line(&role.1),
                                crate::time::fmt_iso(since)
                            ))),
                            None => new.push(n),
                        }
                    }
                }
            }
        }
        if !changes_changed.is_empty() {
            let index = change_sessions.get_or_insert_with(|| sessions_by_change(g));
            for key in &changes_changed {
                let since = changed[key];
                for &n in index.get(key).into_iter().flatten() {
                    // A sign-in's console session is within a minute of it (inferred).
                    let slack = if key.0 == "provider" { 60 } else { 0 };
                    let after = g.nodes[n].issued_at.is_none_or(|t| t + slack >= since);
                    if !reached.contains(&n) && after {
                        new.push(n);
                    }
                }
            }
        }
        let takes = |n: usize, u: &AttackerUser| {
            let node = &g.nodes[n];
            let from = node.issued_at.or(node.first_seen);
            let after = from.is_some_and(|t| t >= u.since.secs());
            // A user deleted after the attacker last made it: what a user of that name holds
            // from then on is another user's.
            let gone = deleted_at(g, u, &made).is_some_and(|d| from.is_some_and(|t| t >= d.time));
            after && !gone && (u.created || console_session(node))
        };
        if roots_changed {
            // Root's console sessions, found once: a pass per change of a root's time walked
            // every node again (a review: thousands of users, each setting root's password
            // earlier than the one before, made the taint quadratic).
            let consoles = root_consoles.get_or_insert_with(|| {
                (0..g.nodes.len())
                    .filter(|&n| {
                        let node = &g.nodes[n];
                        node.principal_type.as_deref() == Some("Root") && console_session(node)
                    })
                    .collect::<Vec<usize>>()
            });
            for &n in consoles.iter() {
                let node = &g.nodes[n];
                let from = node.issued_at.or(node.first_seen);
                let since = node.account_id.as_deref().and_then(|a| roots.get(a));
                if !reached.contains(&n) && from.zip(since).is_some_and(|(t, s)| t >= *s) {
                    new.push(n);
                }
            }
        }
        if !users_changed.is_empty() && user_scans < FULL_USER_SCANS {
            user_scans += 1;
            // The credentials of the attacker's users, found by looking for those users'
            // names in every credential rather than by indexing every credential's user: an
            // index of all of them (a map over every IAM user's keys and sessions) was most of
            // this function's time. A credential's ARN is parsed only when its last segment is
            // one of their names: a set of them, keyed (the names are the logs').
            let lower_old: Vec<String> = users
                .values()
                .flat_map(|u| u.renamed_from.iter().map(|n| n.to_ascii_lowercase()))
                .collect();
            let names: std::collections::HashSet<&str> = users
                .keys()
                .map(|(_, name)| name.as_str())
                .chain(lower_old.iter().map(String::as_str))
                .collect();
            let mut lower = String::new();
            for n in 0..g.nodes.len() {
                if !is_cred(n) || reached.contains(&n) {
                    continue;
                }
                let Some(arn) = g.nodes[n].principal_arn.as_deref() else { continue };
                lower.clear();
                lower.push_str(arn.rsplit('/').next().unwrap_or(arn));
                lower.make_ascii_lowercase();
                if !names.contains(lower.as_str()) {
                    continue;
                }
                let Some((acct, name)) = user_of(g, n) else { continue };
                let who = (acct.to_string(), name.to_ascii_lowercase());
                let Some(u) = users.get(&who) else { continue };
                if takes(n, u) {
                    new.push(n);
                }
            }
        } else if !users_changed.is_empty() {
            // A chain of users, each made by the last one's credentials (a forged trail):
            // past a few passes, the index of every user's credentials costs less than
            // scanning them all in every pass.
            let index = user_creds.get_or_insert_with(|| creds_by_user(g));
            for who in &users_changed {
                let Some(u) = users.get(who) else { continue };
                for &n in index.get(who).into_iter().flatten() {
                    if !reached.contains(&n) && takes(n, u) {
                        new.push(n);
                    }
                }
            }
        }
        if new.is_empty() {
            break;
        }
        new.sort_unstable();
        new.dedup();
        // What the new credentials issued (what `reached` issued is in it already).
        frontier = g.descendants(&new).into_iter().filter(|&n| reached.insert(n)).collect();
    }
    let nodes: BTreeSet<usize> = reached.into_iter().filter(|&n| is_cred(n)).collect();
    let ambiguous = g.by_ambiguous_link(seeds, &nodes);
    if !ambiguous.is_empty() {
        for (who, u) in users.iter_mut().filter(|(_, u)| u.created) {
            let by = creators.get(who).map(Vec::as_slice).unwrap_or(&[]);
            if !by.is_empty() && by.iter().all(|b| ambiguous.contains(b)) {
                u.made_unsure = Some(format!(
                    "it was made by {}, which the trail ties to the leaked key only through a call whose caller more than one session matches (inferred link): it may be another session's, and a user a clean session made must not be deleted",
                    crate::escape::one_line(&g.nodes[by[0]].id)
                ));
            }
        }
    }
    // A user some copy of its CreateUser names and another copy of the same event (same
    // eventID) does not: one of the records is false (a copy planted to name a user who was
    // there before) and the logs cannot tell which, so neither user is deleted (a deletion
    // cannot be undone); both are denied everything, and a person decides.
    let disputed = disputed_makings(g);
    if !disputed.is_empty() {
        for u in users.values_mut().filter(|u| u.created && u.made_unsure.is_none()) {
            let twice = u.evidence.iter().find_map(|e| {
                let id = e.strip_prefix("CreateUser ")?;
                disputed.get(id).map(|names| (id, names))
            });
            if let Some((id, names)) = twice {
                u.made_unsure = Some(format!(
                    "copies of its CreateUser record (event {}) name {} users ({}): one is false (an evidence conflict) and the logs cannot tell which, so it may be a user who was there before",
                    crate::escape::one_line(id),
                    names.len(),
                    crate::escape::one_line(&names.join(", "))
                ));
            }
        }
    }
    // A user a credential of which was in use before the attacker's (last) CreateUser of its
    // name (by more than `MADE_SKEW`), with no deletion of the name in between: IAM refuses
    // to make a user whose name is taken (EntityAlreadyExists), so that record is not what
    // happened (forged), and the user may be one who was there before: denied everything,
    // not deleted.
    for (who, u) in users.iter_mut().filter(|(_, u)| u.created && u.made_unsure.is_none()) {
        let Some(&at) = made.get(who) else { continue };
        // A deletion of the name logged between two times (both included).
        let deleted = |from: i64, to: i64| {
            g.user_deletions.iter().any(|d| {
                d.account_id == who.0
                    && d.user_name.eq_ignore_ascii_case(&who.1)
                    && (from..=to).contains(&d.time)
            })
        };
        // The name made again after it (by anyone) with no deletion logged in between: the
        // deletion may be missing from these logs (the user there now another's, which a
        // deletion would destroy) or that record false (the attacker's user then still
        // there, and denied everything either way).
        let again = g.user_grants.iter().find(|gr| {
            gr.event_name == "CreateUser"
                && gr.time > at
                && gr.account_id == who.0
                && gr.user_name.eq_ignore_ascii_case(&who.1)
                && !deleted(at, gr.time)
        });
        if let Some(gr) = again {
            u.made_unsure = Some(format!(
                "its name was made again at {} (CreateUser {}) with no deletion of it logged in between: the deletion may be missing from these logs, so the user there now may be another's, or that record is false",
                crate::time::fmt_iso(gr.time),
                crate::escape::one_line(&gr.event_id)
            ));
            continue;
        }
        let index = user_creds.get_or_insert_with(|| creds_by_user(g));
        let earlier = index.get(who).into_iter().flatten().find_map(|&n| {
            let node = &g.nodes[n];
            let t = node.issued_at.into_iter().chain(node.first_seen).min()?;
            (t < at - MADE_SKEW && !deleted(t, at)).then_some((n, t))
        });
        if let Some((n, t)) = earlier {
            u.made_unsure = Some(format!(
                "its credential {} was in use at {}, before the CreateUser of its name at {} (IAM makes no user whose name is taken): that record may be forged and the user one who was there before",
                crate::escape::one_line(&g.nodes[n].id),
                crate::time::fmt_iso(t),
                crate::time::fmt_iso(at)
            ));
        }
    }
    let mut attacker_users: Vec<AttackerUser> = users.into_values().collect();
    for u in &mut attacker_users {
        u.evidence.sort();
        u.evidence.dedup();
        let d = deleted_at(g, u, &made);
        u.deleted_at = d.map(|d| d.time);
        u.deleted = d.map(|d| {
            format!("{} {} at {}", d.event_name, d.event_id, crate::time::fmt_iso(d.time))
        });
    }
    unsure.retain(|(n, _)| !nodes.contains(n));
    unsure.sort_unstable();
    unsure.dedup_by_key(|u| u.0);
    Taint {
        nodes,
        attacker_users,
        attacker_roles: roles.into_keys().collect(),
        attacker_roots: roots.into_iter().collect(),
        wide,
        unsure,
        by_ambiguous: ambiguous,
    }
}

/// A function (`"function"`, account, name) or a SAML provider (`"provider"`, account,
/// lower-case name) whose changes the graph keeps.
type ChangeKey = (&'static str, String, String);

fn change_key(gr: &crate::chain::UserGrant) -> ChangeKey {
    // A function by its region and name (`function:REGION:NAME`): one of the same name in
    // another region is another function.
    if crate::ingest::FUNCTION_CHANGES.contains(&gr.event_name.as_str()) {
        return ("function", gr.account_id.clone(), gr.user_arn.clone());
    }
    ("provider", gr.account_id.clone(), gr.user_name.clone())
}

/// The sessions of each function or provider: the children of the edges from its changes
/// (each session has one, from the latest change before it), found by the change's eventID.
fn sessions_by_change(g: &SessionGraph) -> BTreeMap<ChangeKey, Vec<usize>> {
    // By eventID and caller (the edge's parent): forged records can repeat an eventID.
    let mut by_event: BTreeMap<(&str, usize), Vec<usize>> = BTreeMap::new();
    for (k, gr) in g.change_grants.iter().enumerate() {
        by_event.entry((gr.event_id.as_str(), gr.by)).or_default().push(k);
    }
    let mut out: BTreeMap<ChangeKey, Vec<usize>> = BTreeMap::new();
    for (e, &(parent, child)) in g.edges.iter().zip(&g.edge_nodes) {
        let Some(ks) = by_event.get(&(e.event_id.as_str(), parent)) else { continue };
        let node = &g.nodes[child];
        let arn = node.principal_arn.as_deref();
        let session = arn.and_then(|a| a.rsplit('/').next());
        let account = arn.and_then(crate::chain::arn_account);
        let mut keys: Vec<ChangeKey> = Vec::new();
        for &k in ks {
            let gr = &g.change_grants[k];
            // The session's own account: a function runs, and a role trusts a provider, in
            // its account.
            if gr.event_name != e.event_name || account != Some(gr.account_id.as_str()) {
                continue;
            }
            let function = crate::ingest::FUNCTION_CHANGES.contains(&gr.event_name.as_str());
            // A function's edge goes to the session named by it (a call naming `function:X`
            // is kept for both readings, one grant each).
            if function && session != Some(gr.user_name.as_str()) {
                continue;
            }
            let key = change_key(gr);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        for key in keys {
            out.entry(key).or_default().push(child);
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    out
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
    // In account order, from the table's spans (one pass over the events, shared with
    // `Ingest::accounts`).
    ing.account_spans()
        .iter()
        .filter(|a| a.events > 0)
        .filter_map(|a| {
            Some(EvidenceWindow {
                account_id: ing.str(a.account)?.to_string(),
                first_event: crate::time::fmt_iso(a.first),
                last_event: crate::time::fmt_iso(a.last),
                events: a.events,
            })
        })
        .collect()
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
    for gr in g.user_grants.iter().chain(&g.role_grants) {
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

#[cfg(test)]
mod tests {
    //! Known-answer tests: small incidents written with [`Scenario`], ingested, and the
    //! tainted set, the attacker-made users and the unseen tail checked against what the IAM
    //! facts say by hand.

    use super::*;

    #[test]
    fn after_segment_is_the_resource_after_its_type() {
        for arn in [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:user/path/to/alice",
            "arn:aws:iam::111122223333:role/x",
            "arn:aws:sts::111122223333:assumed-role/R/s",
            "arn:aws:iam::1:role/x:user/evil:user/b",
            ":user/",
            "user/a",
            "a::user/b",
            "arn:aws:iam::1:userx/a",
            "a:u:us:user/b:a",
            "arn:aws:iam::1:user/",
            "",
            "\u{e9}:user/\u{fc}",
            "arn:aws:sts::1:assumed-role/R/s",
            "arn:aws:sts::1:assumed-role/R:assumed-role/x/s",
            ":assumed-role/",
            "arn:aws:iam::1:user/x:assumed-role/Admin/eve",
            "arn:aws:iam::1:user/x:user/eve",
            "arn:aws-cn:sts::1:assumed-role/R/s",
        ] {
            // The resource (after the fifth colon) when it starts with `seg`, to its end (a
            // path may hold `:user/`).
            let reference = |seg: &str| arn.splitn(6, ':').nth(5)?.strip_prefix(seg);
            for seg in ["user/", "assumed-role/"] {
                assert_eq!(crate::chain::after_segment(arn, seg), reference(seg), "{arn:?} {seg}");
            }
        }
        assert_eq!(
            crate::chain::after_segment(
                "arn:aws:iam::1:user/x:assumed-role/Admin/eve",
                "assumed-role/"
            ),
            None
        );
    }
    use crate::gen::scenario::{Cred, Scenario};
    use serde_json::Value;

    /// 2024-03-11T10:00:00Z
    const T0: i64 = 1_710_151_200;
    const MAIN: &str = "111122223333";
    const SECOND: &str = "444455556666";
    const LEAKED: &str = "AKIAIOSFODNN7EXAMPLE";
    const OTHER: &str = "AKIAOTHERUSEREXAMPLE";
    const BOB: &str = "AKIABOBSOWNKEYEXAMPL";
    const OLD: &str = "AKIAOLDBACKUPEXAMPLE";

    fn idx(g: &SessionGraph, c: &Cred) -> usize {
        let id = c.node_id();
        g.node(&id).unwrap_or_else(|| panic!("no node {id}"))
    }

    fn seeded(g: &SessionGraph, key: &str) -> Taint {
        taint(g, &[g.node(key).expect("the seed key is a node")])
    }

    fn tainted_ids(g: &SessionGraph, t: &Taint) -> BTreeSet<String> {
        t.nodes.iter().map(|&n| g.nodes[n].id.clone()).collect()
    }

    fn role(account: &str, name: &str) -> String {
        format!("arn:aws:iam::{account}:role/{name}")
    }

    #[test]
    fn a_leaked_keys_role_chain_is_tainted_and_an_unrelated_users_key_is_not() {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let other = s.user_key(MAIN, "alice", OTHER);
        let admin = s.assume_role(&leaked, T0, &role(MAIN, "ops/Admin"), "a", 3600);
        let audit = s.assume_role(&admin, T0 + 60, &role(SECOND, "Audit"), "b", 900);
        let deeper = s.assume_role(&audit, T0 + 90, &role(SECOND, "Deploy"), "c", 900);
        let sts = s.get_session_token(&leaked, T0 + 120, 3600);
        s.call(&deeper, T0 + 100, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.call(&sts, T0 + 130, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
        // The unrelated user assumes the very same role: a different session, not tainted.
        let hers = s.assume_role(&other, T0 + 30, &role(MAIN, "ops/Admin"), "alice", 3600);
        s.call(&hers, T0 + 40, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let (_d, _ing, g) = s.ingested(&[]);

        let t = seeded(&g, LEAKED);
        let want: BTreeSet<String> = [LEAKED.to_string(), admin.node_id(), audit.node_id()]
            .into_iter()
            .chain([deeper.node_id(), sts.node_id()])
            .collect();
        assert_eq!(tainted_ids(&g, &t), want);
        assert!(!t.nodes.contains(&idx(&g, &other)));
        assert!(!t.nodes.contains(&idx(&g, &hers)));
        assert!(t.attacker_users.is_empty(), "{:?}", t.attacker_users);
        // Every descendant of the seed that is a credential is in the set.
        let root = g.node(LEAKED).unwrap();
        for n in g.descendants(&[root]) {
            if matches!(g.nodes[n].kind, NodeKind::LongTermKey | NodeKind::Session) {
                assert!(t.nodes.contains(&n), "{} not tainted", g.nodes[n].id);
            }
        }
        // Seeding the unrelated key taints only its own lineage.
        let t2 = seeded(&g, OTHER);
        assert_eq!(tainted_ids(&g, &t2), BTreeSet::from([OTHER.to_string(), hers.node_id()]));
    }

    #[test]
    fn a_user_the_tainted_key_created_is_the_attackers_with_its_keys_and_sessions() {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let other = s.user_key(MAIN, "alice", OTHER);
        s.call(&other, T0 - 600, "s3.amazonaws.com", "ListBuckets", Value::Null);
        // A key of an earlier user of the same name, seen only before the attacker made the
        // user (deleted and made again): not the attacker's.
        let before = s.user_key(MAIN, "backup-admin", OLD);
        s.call(&before, T0 - 500, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let create = T0 + 100;
        s.create_user(&leaked, create, "backup-admin");
        let key = s.create_access_key(&leaked, create + 10, Some("backup-admin"));
        let sess = s.assume_role(&key, create + 20, &role(MAIN, "Backup"), "bk", 3600);
        s.call(&sess, create + 30, "s3.amazonaws.com", "ListBuckets", Value::Null);
        // A second key made for the attacker's user by an untainted admin is the attacker's
        // too (every credential of a user the attacker created), and so is its console session.
        let second = s.create_access_key(&other, create + 40, Some("backup-admin"));
        s.call(&second, create + 50, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let console = s.console_login(MAIN, create + 60, "backup-admin");
        s.call(&console, create + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let (_d, _ing, g) = s.ingested(&[]);

        let t = seeded(&g, LEAKED);
        for c in [&key, &sess, &second, &console] {
            assert!(t.nodes.contains(&idx(&g, c)), "{} not tainted", c.node_id());
        }
        assert!(!t.nodes.contains(&idx(&g, &other)), "the admin who made a key is not tainted");
        assert!(!t.nodes.contains(&idx(&g, &before)), "first seen before the user was made");
        assert_eq!(t.attacker_users.len(), 1, "{:?}", t.attacker_users);
        let u = &t.attacker_users[0];
        assert_eq!(u.user_name, "backup-admin");
        assert_eq!(u.account_id, MAIN);
        assert_eq!(u.user_arn, format!("arn:aws:iam::{MAIN}:user/backup-admin"));
        assert_eq!(u.since, Time(create));
        assert!(u.created);
        assert_eq!(u.evidence.len(), 1, "{:?}", u.evidence);
        assert!(u.evidence[0].starts_with("CreateUser "), "{:?}", u.evidence);
        // Seeded from the admin instead, only what she issued follows (rule 1): no attacker
        // user, so not the other credentials of the user she made a key for.
        let t2 = seeded(&g, OTHER);
        assert!(t2.attacker_users.is_empty());
        assert_eq!(tainted_ids(&g, &t2), BTreeSet::from([OTHER.to_string(), second.node_id()]));
    }

    #[test]
    fn a_password_the_tainted_key_set_taints_later_console_sessions_only() {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let bob = s.user_key(MAIN, "bob", BOB);
        s.call(&bob, T0 - 100, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let early = s.console_login(MAIN, T0 + 50, "bob");
        s.call(&early, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let set = T0 + 150;
        s.update_login_profile(&leaked, set, "bob");
        let late = s.console_login(MAIN, T0 + 400, "bob");
        s.call(&late, T0 + 410, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.call(&bob, T0 + 500, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let (_d, _ing, g) = s.ingested(&[]);

        let t = seeded(&g, LEAKED);
        assert!(t.nodes.contains(&idx(&g, &late)), "the console session after the change");
        assert!(!t.nodes.contains(&idx(&g, &early)), "the console session before the change");
        assert!(!t.nodes.contains(&idx(&g, &bob)), "bob's own older key");
        assert_eq!(t.attacker_users.len(), 1, "{:?}", t.attacker_users);
        let u = &t.attacker_users[0];
        assert_eq!((u.user_name.as_str(), u.since, u.created), ("bob", Time(set), false));
        assert!(u.evidence[0].starts_with("UpdateLoginProfile "), "{:?}", u.evidence);
    }

    #[test]
    fn the_evidence_window_spans_each_accounts_first_and_last_event() {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let hop = s.assume_role(&leaked, T0, &role(SECOND, "Audit"), "x", 900);
        s.call(&hop, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.call(&leaked, T0 + 2000, "s3.amazonaws.com", "ListBuckets", Value::Null);
        // Calls dated after the run's reference time (now) are time anomalies: left out of
        // the windows (an account with nothing else has none), but their account is still an
        // account of the trail.
        let far = T0 + 20 * 365 * 86_400;
        s.call(&leaked, far, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let other = s.user_key("123456789012", "ops", "AKIAI44QH8DHBEXAMPLE");
        s.call(&other, far, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let (_d, ing, _g) = s.ingested(&[]);
        assert_eq!(ing.stats.time_anomalies, 2);
        let accounts: Vec<&str> = ing.accounts().into_iter().collect();
        assert_eq!(accounts, ["111122223333", "123456789012", "444455556666"]);

        let w = evidence_window(&ing);
        let win = |a: &str, f: i64, l: i64, n: u64| EvidenceWindow {
            account_id: a.into(),
            first_event: crate::time::fmt_iso(f),
            last_event: crate::time::fmt_iso(l),
            events: n,
        };
        // MAIN: the AssumeRole and the last call; SECOND: the owner's copy and the hop's call.
        assert_eq!(w, [win(MAIN, T0, T0 + 2000, 2), win(SECOND, T0, T0 + 10, 2)]);
    }

    #[test]
    fn a_session_valid_after_the_last_event_is_in_the_unseen_tail_and_an_expired_one_is_not() {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let short = s.assume_role(&leaked, T0, &role(MAIN, "Short"), "s", 900);
        let long = s.assume_role(&leaked, T0 + 100, &role(MAIN, "Long"), "l", 43_200);
        s.call(&short, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.call(&long, T0 + 110, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let last = T0 + 2000;
        s.call(&leaked, last, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let (_d, ing, g) = s.ingested(&[]);

        let t = seeded(&g, LEAKED);
        let w = evidence_window(&ing);
        let expiry = |n: usize| {
            (g.nodes[n].kind == NodeKind::Session).then(|| crate::chain::session_expiry(&g, n))?
        };
        let tail = unseen_tail(&g, &t.nodes, &w, expiry);
        let ids: Vec<&str> = tail.iter().map(|r| r.credential.as_str()).collect();
        assert!(ids.contains(&long.node_id().as_str()), "{ids:?}");
        assert!(ids.contains(&LEAKED), "a long-term key is valid until deactivated: {ids:?}");
        assert!(!ids.contains(&short.node_id().as_str()), "it expired at T0+900: {ids:?}");
        assert_eq!(ids.len(), 2, "{ids:?}");

        let key = tail.iter().find(|r| r.credential == LEAKED).unwrap();
        assert_eq!((key.valid_until, key.evidence_ends), (None, Some(Time(last))));
        assert_eq!(key.account_id.as_deref(), Some(MAIN));
        assert!(key.reason.starts_with("it called AssumeRole in the evidence"), "{}", key.reason);
        let l = tail.iter().find(|r| r.credential == long.node_id()).unwrap();
        assert_eq!(l.valid_until, Some(Time(T0 + 100 + 43_200)));
        assert_eq!(l.evidence_ends, Some(Time(last)));
        assert!(l.reason.starts_with("its rights are unknown"), "{}", l.reason);

        // An unknown expiry cannot be shown to have ended: every tainted credential stays.
        let all = unseen_tail(&g, &t.nodes, &w, |_| None);
        assert_eq!(all.len(), t.nodes.len());
        // Without a window for the account there is no end of evidence either.
        let none = unseen_tail(&g, &t.nodes, &[], expiry);
        assert!(none.iter().all(|r| r.evidence_ends.is_none()));
        assert_eq!(none.len(), t.nodes.len());
    }

    /// A chain of attacker-made users, each made with the last one's key: past the first
    /// passes, the users' credentials come from the index ([`creds_by_user`]); every key of
    /// the chain is tainted either way, and the user the last key made is the attacker's.
    #[test]
    fn a_chain_of_users_longer_than_the_scanned_passes_is_followed_to_its_end() {
        let mut s = Scenario::new();
        let mut by = s.user_key(MAIN, "ci-deployer", LEAKED);
        let hops = FULL_USER_SCANS as i64 + 5;
        let mut keys = Vec::new();
        for i in 0..hops {
            let user = format!("u{i}");
            s.create_user(&by, T0 + 10 * i, &user);
            let key = format!("AKIAEXAMPLE{i:09}");
            by = s.user_key(MAIN, &user, &key);
            keys.push(key);
        }
        s.create_user(&by, T0 + 10 * hops, "last");
        let (_d, _ing, g) = s.ingested(&[]);
        let t = seeded(&g, LEAKED);
        let ids = tainted_ids(&g, &t);
        for k in &keys[..keys.len() - 1] {
            assert!(ids.contains(k), "{k} in {ids:?}");
        }
        assert!(t.attacker_users.iter().any(|u| u.user_name == "last"), "{:?}", t.attacker_users);
    }
}

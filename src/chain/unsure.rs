//! Sessions the trail cannot attribute, that may be the attacker's: neither tainted nor
//! clean. Each was a false OK when left alone (a review reproduced both):
//!
//! * a console session that may have been opened with a sign-in token a tainted session asked
//!   for (`GetSigninToken`), but none of whose calls came from an address of that session or
//!   call ([`super::signin`] links only those that did: a person of the same role and session
//!   name in the console is not the attacker, and what such a session made was removed);
//! * a `GetSessionToken` or `GetFederationToken` session of a user one of whose long-term keys
//!   is tainted, with no issuing call in the trail (an STS regional endpoint or a region the
//!   trail does not record, F15) and whose calls do not say console: only the user's keys (or
//!   its console sign-in) make such a session, and the key may be the leaked one;
//!
//! * a console role session named as a switch-role from a tainted console session gives it,
//!   none of whose calls came from an address of that session ([`super::switch`]: a person
//!   of the same user name switching in from another account is not the attacker);
//! * a session a role owner's copy of the call shows issued to a caller with the account and
//!   session name of a tainted session whose role id no record gave (the name does not tell
//!   the role: [`super::usercaller`]);
//! * a session a role owner's copy of the call shows issued to a caller named by an
//!   `aws:userid` that a tainted session (or one to check) carries, which the graph linked to
//!   no tainted session ([`SessionGraph::hops_by_id`]): a session of that role and name the
//!   trail does not show may have made it (assumed again where the trail does not record it,
//!   F15; or a stated end that is wrong), and the name is the caller's choice, so the id does
//!   not tell whose it is; with chains of such hops;
//!
//! and every session these issued. `plan` denies each that may still be valid (with its
//! principal's tainted sessions: a person denied by mistake signs in again, after the
//! cut-off, and is not denied), leaves each to a review item and exits 1; `verify` fails on
//! them. Their calls are not in the blast radius: what they made is not removed.

use super::{NodeKind, SessionGraph};
use std::collections::{BTreeMap, BTreeSet};

/// A session to check.
pub struct Unsure {
    /// The session.
    pub node: usize,
    /// The session that makes it one to check: itself, or the one it descends from.
    pub root: usize,
    /// Why the root may be the attacker's (one line, log text escaped).
    pub why: String,
    /// Until when it may be valid (`None`: no known end).
    pub valid_until: Option<i64>,
}

impl SessionGraph {
    /// Records that `node` may have been issued by `by` through the call `event_name`
    /// (`event_id`, at `time`) though the trail does not link them
    /// ([`SessionGraph::unsure_consoles`]).
    pub(super) fn add_unsure(
        &mut self,
        node: usize,
        by: usize,
        event_name: String,
        event_id: String,
        time: i64,
    ) {
        let n = &self.nodes[node];
        self.unsure_consoles.push(super::UserGrant {
            user_arn: n.id.clone(),
            account_id: n.account_id.as_deref().unwrap_or_default().to_string(),
            user_name: n.principal_arn.clone().unwrap_or_default(),
            event_name,
            event_id,
            time,
            by,
        });
    }

    /// Adds to `roots` the sessions no call in the trail issued that carry the source identity
    /// of a tainted session and began after it: a source identity survives role chaining and
    /// its holder cannot change it (F4), so such a session may have been chained from it
    /// through an STS endpoint or region the trail does not record (F15). A review: the leaked
    /// key's role session, its `SourceIdentity` set, hopped through an unrecorded region into
    /// an administrator role of another account, whose calls (a user and a key made) carried
    /// it; neither tainted nor named, plan 0 and verify OK. Not a link: the source identity is
    /// the caller's choice, and the same value may be a clean pipeline's.
    fn by_tainted_source(
        &self,
        tainted: &BTreeSet<usize>,
        parent: &[Option<(usize, usize)>],
        roots: &mut BTreeMap<usize, (String, Option<i64>)>,
    ) {
        // Each source identity with the tainted session carrying it that began first.
        let mut sources: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
        for &k in tainted {
            let n = &self.nodes[k];
            let Some(s) = n.source_identity.as_deref() else { continue };
            let from = n.issued_at.or(n.first_seen).unwrap_or(i64::MIN);
            let e = sources.entry(s).or_insert((from, k));
            if from < e.0 {
                *e = (from, k);
            }
        }
        if sources.is_empty() {
            return;
        }
        for (i, n) in self.nodes.iter().enumerate() {
            // No issuer the trail knows, or only the account a role owner's copy of the call
            // names (its caller left out: a review found such a session passed over).
            let unissued = match parent[i] {
                None => true,
                Some((p, _)) => {
                    let p = &self.nodes[p];
                    p.kind == NodeKind::ExternalIdentity && p.id.starts_with("account:")
                }
            };
            if n.kind != NodeKind::Session || !unissued || tainted.contains(&i) {
                continue;
            }
            let Some(s) = n.source_identity.as_deref() else { continue };
            let Some(&(since, by)) = sources.get(s) else { continue };
            if n.issued_at.or(n.first_seen).is_some_and(|t| t < since) {
                continue;
            }
            let one = crate::escape::one_line;
            let why = format!(
                "it carries the source identity {} that tainted session {} carries, and no call in the trail issued it (an STS regional endpoint or region the trail does not record, F15): a source identity survives role chaining and its holder cannot change it (F4), so it may have been chained from that session; the value is the caller's choice, so it may also be a clean session's",
                one(s),
                one(&self.nodes[by].id)
            );
            roots.entry(i).or_insert((why, super::session_expiry(self, i)));
        }
    }

    /// The sessions of [`SessionGraph::hops_by_id`] whose caller id a tainted session or one
    /// to check (a root of `roots`, or what it issued) carries, and that are not tainted: roots
    /// too, to a fixed point (a hop from a session to check is one to check).
    fn hops_by_tainted_id(
        &self,
        tainted: &BTreeSet<usize>,
        roots: &mut BTreeMap<usize, (String, Option<i64>)>,
    ) {
        if self.hops_by_id.is_empty() {
            return;
        }
        let one = crate::escape::one_line;
        // Ids compared as IAM compares them: without regard to case (a converted export may
        // write `aroa…`), blanks around them ignored.
        let norm = |u: &str| u.trim().to_ascii_lowercase();
        let userid = |n: &usize| self.nodes[*n].userid.as_deref().map(norm);
        // The hops by caller id; and by caller account and session name, for a role session
        // whose id the trail does not tell (two records gave it two role ids, or its response
        // lost it): not where the trail ties the hop's role id to another role (a clean
        // pipeline's session of that name in another role is not the attacker's).
        let mut by_id: BTreeMap<String, Vec<&super::UserGrant>> = BTreeMap::new();
        let mut by_name: BTreeMap<(&str, String), Vec<&super::UserGrant>> = BTreeMap::new();
        for h in &self.hops_by_id {
            by_id.entry(norm(&h.user_name)).or_default().push(h);
            if let Some((_, name)) = h.user_name.split_once(':') {
                by_name.entry((h.account_id.as_str(), norm(name))).or_default().push(h);
            }
        }
        let role_of_id: std::cell::OnceCell<BTreeMap<String, Vec<&str>>> = Default::default();
        let ids_of = |n: usize| -> Vec<String> {
            if let Some(u) = userid(&n) {
                return vec![u];
            }
            let node = &self.nodes[n];
            let Some((acct, role)) = super::role_named(node) else { return Vec::new() };
            let arn = node.principal_arn.as_deref().unwrap_or_default();
            let Some((_, name)) = arn.rsplit_once('/') else { return Vec::new() };
            let Some(hops) = by_name.get(&(acct, norm(name))) else { return Vec::new() };
            let known = role_of_id.get_or_init(|| {
                let mut m: BTreeMap<String, Vec<&str>> = BTreeMap::new();
                for node in &self.nodes {
                    let id = node.userid.as_deref().and_then(|u| u.split_once(':'));
                    if let (Some((id, _)), Some((_, r))) = (id, super::role_named(node)) {
                        m.entry(norm(id)).or_default().push(r);
                    }
                }
                m
            });
            hops.iter()
                .filter(|h| {
                    let id = h.user_name.split_once(':').map_or("", |(id, _)| id);
                    known
                        .get(&norm(id))
                        .is_none_or(|rs| rs.iter().any(|r| r.eq_ignore_ascii_case(role)))
                })
                .map(|h| norm(&h.user_name))
                .collect()
        };
        // The ids to look up, tainted ones first: each once, under the first reason met.
        let mut queue: std::collections::VecDeque<(String, bool)> =
            tainted.iter().flat_map(|&n| ids_of(n)).map(|u| (u, true)).collect();
        // What the roots issued, each node walked once (a chain of hops walked again from
        // every link was quadratic: 8,000 hops took 15 s and 800 MB, a review).
        let mut kids: Option<Vec<Vec<(usize, usize)>>> = None;
        let mut walked: BTreeSet<usize> = BTreeSet::new();
        let mut walk =
            |from: Vec<usize>, queue: &mut std::collections::VecDeque<(String, bool)>| {
                let kids = kids.get_or_insert_with(|| self.children());
                let mut stack = from;
                while let Some(n) = stack.pop() {
                    if walked.insert(n) {
                        queue.extend(ids_of(n).into_iter().map(|u| (u, false)));
                        stack.extend(kids[n].iter().map(|&(c, _)| c));
                    }
                }
            };
        let starts: Vec<usize> = roots.keys().copied().collect();
        if !starts.is_empty() {
            walk(starts, &mut queue);
        }
        let mut done: BTreeSet<String> = BTreeSet::new();
        while let Some((id, by_tainted)) = queue.pop_front() {
            if !done.insert(id.clone()) {
                continue;
            }
            let Some(hops) = by_id.get(&id) else { continue };
            let mut new = Vec::new();
            for h in hops {
                if tainted.contains(&h.by) || roots.contains_key(&h.by) {
                    continue;
                }
                let why = format!(
                    "the role owner's copy of its {} (event {}) names its caller only by aws:userid {}, which {} carries: a session of that role and name the trail does not show may have made it (assumed again through an STS regional endpoint or a region the trail does not record, F15, or one whose stated end is wrong), and the session name is the caller's choice (F9), so the trail does not tell whose call it was",
                    one(&h.event_name),
                    one(&h.event_id),
                    one(&h.user_name),
                    if by_tainted { "a tainted session (or its account and session name)" } else { "a session to check" }
                );
                roots.insert(h.by, (why, super::session_expiry(self, h.by)));
                new.push(h.by);
            }
            // A hop from one of these (or what it issued) is one to check too.
            if !new.is_empty() {
                walk(new, &mut queue);
            }
        }
    }

    /// The untainted sessions that may be the attacker's (module doc), in node order, each
    /// once (under the first root that reaches it).
    /// `more`: other roots with why (the taint's, [`crate::taint::Taint::unsure`]).
    pub fn unsure_sessions(
        &self,
        tainted: &BTreeSet<usize>,
        more: &[(usize, String)],
    ) -> Vec<Unsure> {
        let one = crate::escape::one_line;
        let mut roots: BTreeMap<usize, (String, Option<i64>)> = BTreeMap::new();
        for (n, why) in more.iter().filter(|(n, _)| !tainted.contains(n)) {
            roots.entry(*n).or_insert_with(|| (why.clone(), super::session_expiry(self, *n)));
        }
        for t in self.unsure_consoles.iter().filter(|t| tainted.contains(&t.by)) {
            let Some(node) = self.node(&t.user_arn).filter(|n| !tainted.contains(n)) else {
                continue;
            };
            let n = &self.nodes[node];
            if t.event_name == super::switch::SWITCH_ROLE {
                let why = format!(
                    "it is named as a console switch-role from tainted console session {} would be (the console names a switched session after the user), but none of its calls came from an address of that session, so the trail does not tell who switched to it",
                    one(&self.nodes[t.by].id)
                );
                roots.entry(node).or_insert((why, super::session_expiry(self, node)));
                continue;
            }
            if t.event_name != crate::ingest::SIGNIN_TOKEN {
                let why = format!(
                    "the role owner's copy of its {} (event {}) names a caller with the account and session name of tainted session {}, whose role id the logs do not give (its issuing record has no response), so the trail does not tell whether that session is its caller",
                    one(&t.event_name),
                    one(&t.event_id),
                    one(&self.nodes[t.by].id)
                );
                roots.entry(node).or_insert((why, super::session_expiry(self, node)));
                continue;
            }
            // A console session lives up to 12 hours from the sign-in.
            let from = n.issued_at.or(n.first_seen).map(|s| s.max(t.time));
            let valid_until = match (from, super::session_expiry(self, node)) {
                (Some(f), Some(x)) => Some(x.max(f + super::signin::CONSOLE_LIFETIME)),
                _ => None,
            };
            let why = format!(
                "tainted session {} asked for a console sign-in token (GetSigninToken, event {}, {}) and this session of the same principal followed, but none of its calls came from an address of that session or call, so the trail does not tell who opened it",
                one(&self.nodes[t.by].id),
                one(&t.event_id),
                crate::time::fmt_iso(t.time)
            );
            roots.entry(node).or_insert((why, valid_until));
        }
        // The users of the tainted long-term keys, by lower-case ARN, with a key of each.
        let mut users: BTreeMap<String, usize> = BTreeMap::new();
        for &k in tainted {
            let n = &self.nodes[k];
            if n.kind == NodeKind::LongTermKey && !n.root_derived {
                if let Some(arn) =
                    n.principal_arn.as_deref().filter(|a| crate::chain::arn_is(a, "user/"))
                {
                    users.entry(arn.to_ascii_lowercase()).or_insert(k);
                }
            }
        }
        let parent = self.parent_edge();
        if !users.is_empty() {
            for (i, n) in self.nodes.iter().enumerate() {
                // An unissued session first (every node is looked at), then its user. With no
                // issuing event: not one whose calls say console (`console sign-in`) or EC2.
                let unissued = n.kind == NodeKind::Session
                    && n.orphan
                    && n.issued_by_event.is_none()
                    && parent[i].is_none()
                    && !n.root_derived;
                if !unissued || tainted.contains(&i) {
                    continue;
                }
                let user = match n.principal_type.as_deref() {
                    Some("IAMUser") => n.principal_arn.as_deref(),
                    Some("FederatedUser") => n.user_arn.as_deref(),
                    _ => None,
                };
                let Some(&key) = user.and_then(|u| users.get(&u.to_ascii_lowercase())) else {
                    continue;
                };
                let why = format!(
                    "it is a session of {} (a GetSessionToken or GetFederationToken session) with no issuing call in the trail (an STS regional endpoint or region the trail does not record, F15), and only that user's keys, tainted key {} among them, or its console sign-in make one; its calls do not say console (if it is that user's own console session, nothing is wrong)",
                    one(user.unwrap_or("-")),
                    one(&self.nodes[key].id)
                );
                roots.entry(i).or_insert((why, super::session_expiry(self, i)));
            }
        }
        self.by_tainted_source(tainted, parent, &mut roots);
        self.hops_by_tainted_id(tainted, &mut roots);
        if roots.is_empty() {
            return Vec::new();
        }
        // What the roots issued, in one walk (a forged trail may give thousands of roots):
        // each under the root its first issuers lead to.
        let first_root = *roots.keys().next().expect("roots is not empty");
        let root_of = |mut n: usize| {
            for _ in 0..64 {
                if roots.contains_key(&n) {
                    return n;
                }
                match parent[n] {
                    Some((p, _)) => n = p,
                    None => break,
                }
            }
            first_root
        };
        let starts: Vec<usize> = roots.keys().copied().collect();
        let mut out = Vec::new();
        for d in self.descendants(&starts) {
            // Sessions, and the keys made under them (which no deny on a session ends).
            let kind = self.nodes[d].kind;
            if tainted.contains(&d) || !matches!(kind, NodeKind::Session | NodeKind::LongTermKey) {
                continue;
            }
            let root = root_of(d);
            let (why, valid_until) = &roots[&root];
            out.push(if d == root {
                Unsure { node: d, root, why: why.clone(), valid_until: *valid_until }
            } else {
                Unsure {
                    node: d,
                    root,
                    why: format!(
                        "it was issued, directly or through others, by session {}, of which: {why}",
                        one(&self.nodes[root].id)
                    ),
                    valid_until: if kind == NodeKind::LongTermKey {
                        None
                    } else {
                        super::session_expiry(self, d)
                    },
                }
            });
        }
        out
    }
}

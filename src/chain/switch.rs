//! Console "switch role" sessions.
//!
//! In the console, a user (or a federated console session) switches to a role without any
//! `AssumeRole` in the logs: only a `SwitchRole` sign-in record, which carries no key, and
//! then the role session's own calls, flagged as console calls. The console names the switched
//! session after the user: `assumed-role/<role>/<user name>`. Such a session was an orphan,
//! never tainted with the console session it came from: an attacker who made a user (or set
//! its password) with the leaked key, signed in and switched to an admin role kept that role
//! session after the plan, and `verify` said OK. It is now linked, as *inferred*, to every
//! console session alive at its start whose user name (or, for a federated console session,
//! session name) is its session name: it is tainted whenever one of them is.
//!
//! A user's console session is known from its calls' key, or, when none of its calls is
//! logged with one (a trail of write events, a sign-in that went straight on to a role), from
//! its sign-in alone (`ConsoleLogin`, [`SessionGraph::add_login_sessions`]): an attacker's user
//! that signed in and switched to a role was no console session at all, the role session
//! stayed an orphan, and the key it made for another user was left active, plan exit 0,
//! verify OK (a review).
//!
//! A console session and the sessions switched from it are one browser's: a switched session
//! none of whose calls came from an address of the console session (when both show some) is
//! someone else's of the same name (a person who signs in to another account and switches
//! into this one, say), not linked: it is a session to check ([`super::unsure`]), denied with
//! a review and a failing plan, and what it made is not removed as the attacker's (a review
//! found such a person's new user deleted by the plan).

use super::{NodeKind, SessionGraph, Text};
use crate::ingest::Ingest;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The longest console session (12 h), for a console session whose expiry is not known.
const CONSOLE_LIFETIME: i64 = 12 * 3600;
/// How far a switched session's start may lie before the console session it came from is
/// first seen (the two records' clocks).
const SLACK: i64 = 60;

/// The name of the link from a console session to a role session switched from it (no record
/// of the switch is read).
pub const SWITCH_ROLE: &str = "SwitchRole";

/// How far apart a sign-in and the `creationDate` its console session's calls carry may be
/// (the same second, bar the two services' clocks): a session of the user issued further
/// from the sign-in is another one, the owner's from before an attacker set the password, say
/// (a review: with a minute, the attacker's sign-in was taken for the owner's session, and
/// the role it switched to went untainted).
const LOGIN_SLACK: i64 = 5;

/// `(role ARN part, session name)` of an assumed-role session ARN.
fn role_session(arn: &str) -> Option<(&str, &str)> {
    let rest = super::after_segment(arn, "assumed-role/")?;
    rest.rsplit_once('/')
}

fn from_console(node: &super::Node) -> bool {
    node.issued_by_event.as_deref() == Some("console sign-in")
}

/// A console session, or a session no logged call issued whose calls say nothing of how it
/// was made (`sessionCredentialFromConsole` is missing from some console calls; the taint
/// takes such a session of a user for a console session too): a switched session whose calls
/// lacked the flag, or a user's console session whose calls did, was not linked, and the role
/// session stayed untainted with plan and verify OK.
pub(super) fn maybe_console(node: &super::Node) -> bool {
    from_console(node) || (node.orphan && node.issued_by_event.is_none())
}

/// The name a console switch-role from `node` gives its session (the user's name, or a
/// federated console session's own session name; lower case: IAM names compare without case)
/// and the first and last start (inclusive) such a session may have, for a console session;
/// `None` for any other node.
pub(super) fn switch_window(node: &super::Node) -> Option<(String, i64, i64)> {
    if node.kind != NodeKind::Session {
        return None;
    }
    let arn = node.principal_arn.as_deref()?;
    // A role session parent (a federated console session) only when its calls say console:
    // unflagged, it is as likely a CLI session of the same person (SSO names both alike).
    let (name, role) = match role_session(arn) {
        Some((_, session)) if from_console(node) => (session, true),
        None if crate::chain::arn_is(arn, "user/") && maybe_console(node) => {
            (arn.rsplit('/').next().unwrap_or(""), false)
        }
        _ => return None,
    };
    let from = node.issued_at.or(node.first_seen)?;
    // A role session as parent started strictly before: no cycle.
    let lo = if role { from + 1 } else { from - SLACK };
    let hi = node.expires_at.unwrap_or(from + CONSOLE_LIFETIME);
    (!name.is_empty()).then(|| (name.to_ascii_lowercase(), lo, hi))
}

impl SessionGraph {
    /// A console session for each IAM user's sign-in ([`crate::ingest::SIGN_IN`]) whose
    /// session no node is (none of its calls logged with a key, or none with a
    /// `creationDate` within [`LOGIN_SLACK`] of the sign-in): the user's, issued at the
    /// sign-in, named `no-key@USER_ARN@TIME` as a user's other sessions known only by a
    /// keyless call are `no-key@…` ([`super::keyless_session`]). The taint's rule 2 takes it
    /// as it takes the user's other console sessions. Returns the console session of each
    /// sign-in with the sign-in's address (the session's own calls may show none).
    pub(super) fn add_login_sessions(&mut self, ing: &Ingest) -> Vec<(usize, IpAddr)> {
        let flagged = |st: &&crate::ingest::Stub| st.flags & crate::ingest::SIGN_IN != 0;
        if !ing.stubs.iter().any(|st| flagged(&st)) {
            return Vec::new();
        }
        // Each user's console sessions, by issue time (a busy user has thousands).
        let mut known: BTreeMap<String, Vec<(i64, usize)>> = BTreeMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if node.kind != NodeKind::Session || !maybe_console(node) {
                continue;
            }
            if let (Some(arn), Some(t)) = (node.principal_arn.as_deref(), node.issued_at) {
                if crate::chain::arn_is(arn, "user/") {
                    known.entry(arn.to_ascii_lowercase()).or_default().push((t, n));
                }
            }
        }
        known.values_mut().for_each(|v| v.sort_unstable());
        // Looked up once per user (by its ARN's string number).
        let mut of_user: crate::ingest::FxMap<u32, Option<&Vec<(i64, usize)>>> = Default::default();
        let mut out = Vec::new();
        for st in ing.stubs.iter().filter(flagged) {
            let Some(arn) = ing.str(st.principal) else { continue };
            let sessions = *of_user
                .entry(st.principal)
                .or_insert_with(|| known.get(&arn.to_ascii_lowercase()));
            let seen = sessions.and_then(|v| {
                let i = v.partition_point(|&(t, _)| t < st.time - LOGIN_SLACK);
                v.get(i).filter(|&&(t, _)| t <= st.time + LOGIN_SLACK).map(|&(_, n)| n)
            });
            let n = match seen {
                Some(n) => n,
                None => {
                    let mut id = format!("{}{arn}@", super::unnamed::KEYLESS);
                    crate::time::push_iso(&mut id, st.time);
                    match self.node(&id) {
                        Some(n) => n,
                        None => {
                            let mut node = Self::blank(id, NodeKind::Session);
                            node.principal_arn = Some(arn.to_string());
                            node.principal_type = Some(Text::from("IAMUser"));
                            node.account_id = crate::chain::arn_account(arn).map(Text::from);
                            node.user_name = arn.rsplit('/').next().map(Text::from);
                            node.issued_at = Some(st.time);
                            node.issued_by_event = Some(Text::from("console sign-in"));
                            node.orphan = true;
                            node.source_ips.extend(ing.str(st.ip).map(Text::from));
                            self.add(node)
                        }
                    }
                }
            };
            out.extend(ing.str(st.ip).and_then(super::signin::address).map(|ip| (n, ip)));
        }
        out
    }

    /// Links each orphan console role session to the console sessions it may have been
    /// switched from (module doc); `event_node`: each call's credential (pass 3), `login_ips`:
    /// the sign-ins' addresses of the console sessions. Returns the notes to add.
    pub(super) fn link_switched(
        &mut self,
        ing: &Ingest,
        event_node: &[u32],
        login_ips: &[(usize, IpAddr)],
    ) -> Vec<String> {
        let incoming = self.first_edges();
        let orphans: Vec<usize> = (0..self.nodes.len())
            .filter(|&o| {
                let n = &self.nodes[o];
                n.kind == NodeKind::Session
                    && n.orphan
                    && incoming[o].is_none()
                    && maybe_console(n)
                    && n.principal_arn.as_deref().and_then(role_session).is_some()
            })
            .collect();
        if orphans.is_empty() {
            return Vec::new();
        }
        // Console sessions by the name a switch from them gives, with their windows.
        let mut by_name: BTreeMap<String, Vec<(usize, i64, i64)>> = BTreeMap::new();
        for (p, n) in self.nodes.iter().enumerate() {
            if let Some((name, lo, hi)) = switch_window(n) {
                by_name.entry(name).or_default().push((p, lo, hi));
            }
        }
        // The console sessions each orphan may have been switched from, and the orphan, by
        // name and time (a first walk: nothing is kept per orphan, whose candidates can be
        // thousands each in a forged trail).
        let (nodes, names) = (&self.nodes, &by_name);
        let candidates = |o: usize| {
            let node = &nodes[o];
            let arn = node.principal_arn.as_deref();
            let start = node.issued_at;
            let name = arn.and_then(role_session).map(|(_, n)| n.to_ascii_lowercase());
            let list = name.and_then(|n| names.get(&n)).map_or(&[][..], Vec::as_slice);
            list.iter()
                .filter(move |&&(p, lo, hi)| {
                    let other = nodes[p].principal_arn.as_deref() != arn;
                    p != o && other && start.is_some_and(|t| lo <= t && t <= hi)
                })
                .map(|&(p, _, _)| p)
        };
        let mut wanted = vec![false; self.nodes.len()];
        for &o in &orphans {
            for p in candidates(o) {
                wanted[p] = true;
                wanted[o] = true;
            }
        }
        // The addresses of their calls, and of the sign-ins.
        let mut ips: BTreeMap<usize, BTreeSet<IpAddr>> =
            (0..wanted.len()).filter(|&n| wanted[n]).map(|n| (n, BTreeSet::new())).collect();
        if ips.is_empty() {
            return Vec::new();
        }
        super::signin::call_addresses(ing, event_node, &mut ips);
        for &(n, ip) in login_ips {
            if let Some(set) = ips.get_mut(&n) {
                set.insert(ip);
            }
        }
        // Each orphan's candidates, from its address or from elsewhere (none of its calls
        // came from an address of that session, both showing some), told apart before the
        // count, so that many sessions of the name do not hand the decision to the name
        // alone; past the count, either way, the taint decides by name (`super::wide`).
        let cap = super::wide::EDGES_UP_TO;
        let mut decided: Vec<(usize, Vec<usize>, Vec<usize>)> = Vec::new();
        for &o in &orphans {
            // An orphan is in `ips` when it has a candidate, and so is every candidate.
            let Some(theirs) = ips.get(&o) else { continue };
            let (mut linked, mut elsewhere) = (Vec::new(), Vec::new());
            for p in candidates(o) {
                let ours = &ips[&p];
                let apart = !theirs.is_empty() && !ours.is_empty() && theirs.is_disjoint(ours);
                let into = if apart { &mut elsewhere } else { &mut linked };
                into.push(p);
                if into.len() > cap {
                    break;
                }
            }
            if linked.is_empty() && elsewhere.is_empty() {
                continue;
            }
            decided.push((o, linked, elsewhere));
        }
        let mut notes = Vec::new();
        for (o, linked, elsewhere) in decided {
            let start = self.nodes[o].issued_at.unwrap_or(0);
            if linked.len() > cap || elsewhere.len() > cap {
                // Too many to link each: the taint decides (`super::wide`).
                let name = role_session(self.nodes[o].principal_arn.as_deref().unwrap_or(""))
                    .map_or(String::new(), |(_, n)| n.to_ascii_lowercase());
                self.wide_pending.push(super::wide::Pending {
                    key: super::wide::WideKey::Console(name),
                    time: start,
                    child: o,
                    event_id: String::new(),
                });
                continue;
            }
            if let Some(&p) = elsewhere.first() {
                notes.push(format!(
                    "session {} is named as a console switch-role from {}{} would be, but none of its calls came from an address of that session: it is not taken as switched from it (if that session is tainted, the plan denies this one too and leaves it to a review)",
                    self.nodes[o].id,
                    self.nodes[p].id,
                    match elsewhere.len() {
                        1 => String::new(),
                        k => format!(" (or {} more console session(s) of that name)", k - 1),
                    }
                ));
            }
            for p in elsewhere {
                self.add_unsure(o, p, SWITCH_ROLE.to_string(), String::new(), start);
            }
            for p in linked {
                notes.push(format!(
                    "session {} is taken as a console switch-role from {} (inferred: no call in the logs issued it, the console names a switched session after the user, and {} was a console session alive at its start): it is tainted whenever that session is",
                    self.nodes[o].id, self.nodes[p].id, self.nodes[p].id
                ));
                // No record of the switch is read: no event id, no file.
                self.change_edge(p, o, (SWITCH_ROLE, "", start, ""), true);
                self.nodes[o].orphan = false;
            }
        }
        notes
    }
}

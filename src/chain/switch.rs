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
//! session name) is its session name: it is tainted whenever one of them is. A wrong match
//! only adds taint (a deny a responder sees, with a note), never removes one.

use super::{NodeKind, SessionGraph};
use std::collections::BTreeMap;

/// The longest console session (12 h), for a console session whose expiry is not known.
const CONSOLE_LIFETIME: i64 = 12 * 3600;
/// How far a switched session's start may lie before the console session it came from is
/// first seen (the two records' clocks).
const SLACK: i64 = 60;

/// `(role ARN part, session name)` of an assumed-role session ARN.
fn role_session(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.split_once(":assumed-role/")?.1;
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
        None if arn.contains(":user/") && maybe_console(node) => {
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
    /// Links each orphan console role session to the console sessions it may have been
    /// switched from; returns the notes to add.
    pub(super) fn link_switched(&mut self) -> Vec<String> {
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
        let mut links: Vec<(usize, usize)> = Vec::new();
        for o in orphans {
            let node = &self.nodes[o];
            let (Some(arn), Some(start)) = (node.principal_arn.as_deref(), node.issued_at) else {
                continue;
            };
            let Some((_, name)) = role_session(arn) else { continue };
            let name = name.to_ascii_lowercase();
            let Some(list) = by_name.get(&name) else { continue };
            let first = links.len();
            links.extend(
                list.iter()
                    .filter(|&&(p, lo, hi)| {
                        let other = self.nodes[p].principal_arn.as_deref() != Some(arn);
                        p != o && other && lo <= start && start <= hi
                    })
                    .map(|&(p, _, _)| (p, o)),
            );
            if links.len() - first > super::wide::EDGES_UP_TO {
                // Too many to link each: the taint decides (`super::wide`).
                links.truncate(first);
                self.wide_pending.push(super::wide::Pending {
                    key: super::wide::WideKey::Console(name),
                    time: start,
                    child: o,
                    event_id: String::new(),
                });
            }
        }
        let mut notes = Vec::new();
        for (p, o) in links {
            let start = self.nodes[o].issued_at.unwrap_or(0);
            notes.push(format!(
                "session {} is taken as a console switch-role from {} (inferred: no call in the logs issued it, the console names a switched session after the user, and {} was a console session alive at its start): it is tainted whenever that session is",
                self.nodes[o].id, self.nodes[p].id, self.nodes[p].id
            ));
            // No record of the switch is read: no event id, no file.
            self.change_edge(p, o, ("SwitchRole", "", start, ""), true);
            self.nodes[o].orphan = false;
        }
        notes
    }
}

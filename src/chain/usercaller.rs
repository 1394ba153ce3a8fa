//! Role owners' copies whose caller is a user.
//!
//! When only the role owner's copy of a cross-account `AssumeRole` is in the trail (the
//! caller's copy went to a region or trail that is not), the copy names the caller by its
//! `principalId` alone. For a role session that is `AROA…:session`, linked to the sessions
//! with that `aws:userid` ([`SessionGraph::inferred_callers`]). For an IAM user it is the
//! user's id (`AIDA…`), and for root the account id: the session was left to the account
//! node, untainted, though the trail holds that very user's leaked key, and `plan` and
//! `verify` said OK with the session live. Such a call is now linked, as *inferred*, to every
//! credential of the trail with that `aws:userid` that could have made it: the user's keys
//! (not made after the call) and its sessions alive at the call (GetSessionToken, console).
//! A wrong match only adds taint, never removes a deny; with more than 64, the taint decides
//! ([`super::wide`]).

use super::{NodeKind, SessionGraph};
use std::collections::{BTreeMap, BTreeSet};

impl SessionGraph {
    /// Adds the inferred edges from each user's credentials to the sessions the role owner's
    /// copies of its calls show; returns the notes to add.
    pub(super) fn link_user_callers(&mut self) -> Vec<String> {
        let pending = std::mem::take(&mut self.user_callers);
        if pending.is_empty() {
            return Vec::new();
        }
        let wanted: BTreeSet<&str> = pending.iter().map(|(_, pid)| pid.as_str()).collect();
        let mut by_userid: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if !matches!(node.kind, NodeKind::LongTermKey | NodeKind::Session) {
                continue;
            }
            if let Some(u) = node.userid.as_deref().filter(|u| wanted.contains(u)) {
                by_userid.entry(u).or_default().push(n);
            }
        }
        let mut links: Vec<(usize, usize)> = Vec::new();
        for (k, pid) in &pending {
            let (t, child) = (self.edges[*k].event_time, self.edge_nodes[*k].1);
            let first = links.len();
            for &p in by_userid.get(pid.as_str()).into_iter().flatten() {
                let n = &self.nodes[p];
                let could = match n.kind {
                    NodeKind::LongTermKey => n.issued_at.is_none_or(|i| i <= t),
                    _ => n.issued_at.is_some_and(|i| i <= t) && n.expires_at.is_none_or(|x| x > t),
                };
                if p != child && could {
                    links.push((*k, p));
                }
            }
            if links.len() - first > super::wide::EDGES_UP_TO {
                // Too many to link each: the taint decides (`super::wide`).
                links.truncate(first);
                self.wide_pending.push(super::wide::Pending {
                    key: super::wide::WideKey::Userid(pid.clone()),
                    time: t,
                    child,
                    event_id: self.edges[*k].event_id.clone(),
                });
            }
        }
        let mut notes = Vec::new();
        for (k, p) in links {
            let child = self.edge_nodes[k].1;
            let mut edge = self.edges[k].clone();
            edge.parent = self.nodes[p].id.clone();
            edge.inferred = true;
            notes.push(format!(
                "inferred link: {} was issued to {} (event {}), seen only in the role owner's copy of the call, whose caller id {} is that of {}: linked to it (when several credentials carry that id, each is linked: the session is tainted if any of them is). Inferred links add taint and never remove a deny",
                edge.child,
                self.nodes[p].id,
                edge.event_id,
                crate::escape::one_line(self.nodes[p].userid.as_deref().unwrap_or("")),
                self.nodes[p].id
            ));
            self.edges.push(edge);
            self.edge_nodes.push((p, child));
        }
        notes
    }
}

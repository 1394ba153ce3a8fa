//! Role owners' copies: the callers the trail knows only after every call is attributed.
//!
//! When only the role owner's copy of a cross-account `AssumeRole` is in the trail (the
//! caller's copy went to a region or trail that is not), the copy names the caller by its
//! `principalId` alone. For an IAM user it is the user's id (`AIDA…`), and for root the
//! account id: the session was left to the account node, untainted, though the trail holds
//! that very user's leaked key, and `plan` and `verify` said OK with the session live. For a
//! role session it is `AROA…:session`, which pass 2 links to the sessions issued by a logged
//! call ([`SessionGraph::inferred_callers`]); but a caller session no logged call issued (a
//! console switch-role, a function's session, a session whose issuing record lost its
//! response) is made only in pass 3, from its use, so a hop from it was left to the account
//! node as well (a review reproduced all three, `plan` and `verify` OK).
//!
//! Such a call is now linked, as *inferred*, to every credential of the trail with that
//! `aws:userid` that could have made it and that pass 2 did not link: the user's keys (not
//! made after the call) and the sessions alive at the call (GetSessionToken, console, and those
//! seen only in use). A wrong match only adds taint, never removes a deny; with more than 64,
//! the taint decides ([`super::wide`]).

use super::wide::caller_window;
use super::{NodeKind, SessionGraph};
use crate::ingest::{IssuingCall, IssuingField as F};
use std::collections::{BTreeMap, BTreeSet};

impl SessionGraph {
    /// The caller id of a role owner's copy of a call (an `AWSAccount` identity with no key):
    /// a user's id, root's account id or a session's `AROA…:name`.
    pub(super) fn owner_copy_caller<'e>(&self, e: &'e IssuingCall) -> Option<&'e str> {
        let pid = e.get(F::PrincipalId).filter(|p| !p.is_empty())?;
        let keyless = !pid.contains(':') || e.get(F::AccessKeyId).is_none();
        (e.get(F::Kind) == Some("AWSAccount") && keyless).then_some(pid)
    }

    /// `child` as issued by the call `(name, id, time)` to the caller `aws:userid` `pid` of
    /// account `account`, as [`SessionGraph::hops_by_id`] keeps it.
    pub(super) fn hop(
        &self,
        child: usize,
        (pid, account): (&str, &str),
        (name, id, time): (&str, &str, i64),
    ) -> super::UserGrant {
        super::UserGrant {
            user_arn: self.nodes[child].id.clone(),
            account_id: account.to_string(),
            user_name: pid.to_string(),
            event_name: name.to_string(),
            event_id: id.to_string(),
            time,
            by: child,
        }
    }

    /// Adds the inferred edges from each caller's credentials to the sessions the role owner's
    /// copies of its calls show; returns the notes to add.
    pub(super) fn link_user_callers(&mut self) -> Vec<String> {
        let pending = std::mem::take(&mut self.user_callers);
        if pending.is_empty() {
            return Vec::new();
        }
        let wanted: BTreeSet<&str> = pending.iter().map(|(_, _, pid)| pid.as_str()).collect();
        // Each id's credentials, indexed by when each could have called ([`caller_window`]):
        // walking all of them for each copy was O(copies × credentials), which an attacker's
        // many sessions of one user, each hop logged only in the role owner's copy, made
        // minutes of a run (a review: 60,000 of each, 27 s).
        let mut by_userid: BTreeMap<&str, super::alive::UseridSessions> = BTreeMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if !matches!(node.kind, NodeKind::LongTermKey | NodeKind::Session) {
                continue;
            }
            if let Some(u) = node.userid.as_deref().filter(|u| wanted.contains(u)) {
                // `alive_at` takes those issued at or before a time that end after it; one
                // with no window (a session with no issue time) is never taken, but is there.
                let (lo, end) = match caller_window(node) {
                    Some((lo, hi)) => (Some(lo), (hi != i64::MAX).then(|| hi.saturating_add(1))),
                    None => (None, None),
                };
                by_userid.entry(u).or_default().push(n, lo, end);
            }
        }
        by_userid.values_mut().for_each(super::alive::UseridSessions::seal);
        let mut links: Vec<(usize, usize)> = Vec::new();
        let mut hops = Vec::new();
        // Calls whose caller id no credential carries: (first edge, caller account, id).
        let mut by_name_wanted: Vec<(usize, String, String)> = Vec::new();
        for (first, drawn, pid) in &pending {
            let (k, t, child) = (*first, self.edges[*first].event_time, self.edge_nodes[*first].1);
            let had: Vec<usize> = (k..k + drawn).map(|j| self.edge_nodes[j].0).collect();
            let start = links.len();
            let exact = by_userid.get(pid.as_str());
            // The caller's account: that of the account node or sessions pass 2 drew from.
            let account = had.iter().find_map(|&p| self.nodes[p].account_id.as_deref());
            // No credential carries the id: matched by account and session name below.
            if exact.is_none_or(|e| e.is_empty()) && pid.contains(':') {
                if let Some(a) = account {
                    by_name_wanted.push((k, a.to_string(), pid.clone()));
                }
            }
            // Enough of them to tell more than EDGES_UP_TO apart from the child and pass 2's
            // own callers, in the order of the nodes, as a walk of them all finds them.
            let most = super::wide::EDGES_UP_TO + had.len() + 2;
            let mut could = exact.map(|e| e.alive_at(t, most)).unwrap_or_default();
            could.sort_unstable();
            for p in could {
                if p != child && !had.contains(&p) {
                    links.push((k, p));
                }
            }
            // Whatever it is linked to, a session of that role and name the trail does not
            // show may have made it (assumed again through a regional endpoint or region the
            // trail does not record, F15; or a session whose stated end is wrong): kept by the
            // id, for the taint to make it one to check when a tainted session carries the id
            // (`SessionGraph::hops_by_id`).
            if pid.contains(':') {
                let e = &self.edges[k];
                let call = (e.event_name.as_str(), e.event_id.as_str(), t);
                hops.push(self.hop(child, (pid, account.unwrap_or_default()), call));
            }
            // Pass 2's own callers count too: they are candidates as well.
            let known = had.iter().filter(|&&p| self.nodes[p].userid.as_deref() == Some(pid));
            if links.len() - start + known.count() > super::wide::EDGES_UP_TO {
                // Too many to link each: the taint decides (`super::wide`).
                links.truncate(start);
                self.wide_pending.push(super::wide::Pending {
                    key: super::wide::WideKey::Userid(pid.clone()),
                    time: t,
                    child,
                    event_id: self.edges[k].event_id.clone(),
                });
            }
        }
        self.hops_by_id.extend(hops);
        let unsure = self.callers_by_name(&by_name_wanted);
        let mut notes = Vec::new();
        for (k, p, child) in unsure {
            notes.push(format!(
                "{} was issued to {} (event {}), seen only in the role owner's copy of the call, whose caller has the account and session name of {}, a session whose role id the logs do not give (its issuing record has no response): not linked (the name does not tell the role), but a session to check if that one is tainted",
                self.nodes[child].id,
                self.edges[k].parent,
                crate::escape::one_line(&self.edges[k].event_id),
                self.nodes[p].id
            ));
            let e = &self.edges[k];
            let (name, id, time) = (e.event_name.clone(), e.event_id.clone(), e.event_time);
            self.add_unsure(child, p, name, id, time);
        }
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

    /// The sessions with the account and session name of each caller id no credential
    /// carries (`wanted`: first edge, caller account, `ROLEID:name`), whose role id no record
    /// gave (a role assumption logged without its response, counted as the call tells it),
    /// alive at the call: `(first edge, session, child)`. A hop from such a session into an
    /// account whose logs are in the trail was left to the account node, its session
    /// untainted, plan and verify OK (a review reproduced it). The name does not tell the role
    /// (sessions named `ci` are in many roles: a link tainted a clean pipeline's session and
    /// plan.sh deleted the user it made), so such a hop is one to check ([`super::unsure`]),
    /// not a link; and none where the trail ties the caller's role id to another role.
    fn callers_by_name(&self, wanted: &[(usize, String, String)]) -> Vec<(usize, usize, usize)> {
        if wanted.is_empty() {
            return Vec::new();
        }
        let ids: BTreeSet<&str> =
            wanted.iter().filter_map(|(_, _, pid)| pid.split_once(':')).map(|(id, _)| id).collect();
        let mut by_name: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        // The roles the trail shows each wanted role id to be.
        let mut role_of_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            let Some((acct, role)) = super::role_named(node) else { continue };
            match node.userid.as_deref().and_then(|u| u.split_once(':')) {
                Some((id, _)) if ids.contains(id) => role_of_id.entry(id).or_default().push(role),
                Some(_) => {}
                None if node.kind == NodeKind::Session => {
                    let arn = node
                        .principal_arn
                        .as_deref()
                        .filter(|a| crate::chain::arn_is(a, "assumed-role/"));
                    let name = arn.and_then(|a| a.rsplit_once('/'));
                    if let Some((_, name)) = name {
                        by_name.entry((acct, name)).or_default().push(n);
                    }
                }
                None => {}
            }
        }
        let mut out = Vec::new();
        for (k, account, pid) in wanted {
            let Some((id, name)) = pid.split_once(':') else { continue };
            let (t, child) = (self.edges[*k].event_time, self.edge_nodes[*k].1);
            for &p in by_name.get(&(account.as_str(), name)).into_iter().flatten() {
                let could =
                    caller_window(&self.nodes[p]).is_some_and(|(lo, hi)| lo <= t && t <= hi);
                let role = super::role_named(&self.nodes[p]).map(|(_, r)| r);
                let other_role = role_of_id.get(id).is_some_and(|roles| {
                    role.is_none_or(|r| !roles.iter().any(|x| x.eq_ignore_ascii_case(r)))
                });
                if p != child && could && !other_role {
                    out.push((*k, p, child));
                }
            }
        }
        out
    }
}

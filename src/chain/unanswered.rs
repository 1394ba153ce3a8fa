//! Issuing calls logged without their response (no key issued in the record): the session each
//! made, found from its use, or counted as the call tells it when no one session seen in use
//! is it ([`SessionGraph::link_unanswered`]).

use super::*;
use crate::ingest::IssuingCall;
use crate::ingest::IssuingField as F;

/// A successful role assumption, `GetSessionToken` or `GetFederationToken` logged without its
/// response (no key issued in the record): how it is held until pass 3 knows the session it
/// made ([`SessionGraph::link_unanswered`]).
pub(super) struct Unanswered {
    /// The nodes that may have made the call (one but for the role owner's copies, F3).
    pub(super) parents: Vec<usize>,
    /// A role owner's copy: its caller's id, and whether it had too many sessions alive to
    /// link each (the taint decides) ([`SessionGraph::link_user_callers`]).
    pub(super) owner: Option<(String, bool)>,
    /// What the session's own calls show: `(false, its ARN)`, from the request for a role
    /// session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`) or the caller's for
    /// `GetSessionToken`; `(true, the caller's ARN)` for a federated user's session, which
    /// names its maker in `sessionIssuer`.
    pub(super) session_arn: (bool, String),
    /// The session as the call alone tells it, with no key: counted in the graph when no
    /// session seen in use is the one the call made.
    pub(super) unseen: Node,
    pub(super) time: i64,
    pub(super) event_name: String,
    pub(super) event_id: String,
    pub(super) file: String,
}

/// What the session a successful call without a response made shows in use
/// ([`Unanswered::session_arn`]): for the AssumeRole family its ARN, from the request (role ARN
/// and session name); for `GetSessionToken` the caller's ARN; for `GetFederationToken` the
/// caller's ARN as its issuer. `None` for any other call.
///
/// A role assumption whose record names neither the role nor the session (request and
/// response both null) still made a session: its ARN is empty, so no session seen in use is
/// taken for it, and it is counted with no key and no known principal (the plan cannot name
/// what to deny: NOT COVERED). It had made none, and the plan passed with it alive.
pub(super) fn unanswered_session(e: &IssuingCall) -> Option<(bool, String)> {
    if e.failed() || e.get(F::CredentialsKey).is_some() {
        return None;
    }
    match e.name() {
        "GetSessionToken" => Some((false, e.get(F::Arn)?.to_string())),
        "GetFederationToken" => Some((true, e.get(F::Arn)?.to_string())),
        n if n.starts_with("AssumeRole") && n != "AssumeRoot" => {
            let arn = e
                .get(F::AssumedRoleArn)
                .map(String::from)
                .or_else(|| session_arn_for_role(e.get(F::RoleArn)?, e.get(F::RoleSessionName)?));
            Some((false, arn.unwrap_or_default()))
        }
        _ => None,
    }
}

/// The id of the session a call made that no key of the logs shows: `no-key-logged@TIME:EVENT`
/// (a call without its response, a console sign-in token, a Cognito developer token).
pub(super) fn unseen_id(time: i64, event_id: &str) -> String {
    format!("no-key-logged@{}:{event_id}", fmt_iso(time))
}

impl SessionGraph {
    /// Links each successful role assumption, `GetSessionToken` or `GetFederationToken` whose
    /// response was not logged (some converted exports drop `responseElements`) to the session
    /// it made, found from its use: the one orphan session with the call's session ARN (role
    /// and session name; the calling user, or the federated user's issuer) whose
    /// `creationDate` is within 2 seconds of the call. The edge is marked inferred: it only
    /// ever adds taint.
    ///
    /// Without that one session (none used in these logs, several, or one whose clock is
    /// off), the session the call made is counted as the call tells it, with no key
    /// (`no-key-logged@TIME:EVENT`), alive for as long as STS allows: the plan cuts it and
    /// `verify` asks for it. Each orphan with the call's session ARN that may still be it (its
    /// `creationDate` within minutes of the call, or none and its first call after the call
    /// and within a session's life) is linked too, as inferred, so that what it did is tainted.
    ///
    /// Returns the event ids of the calls linked to the one session (their notes are
    /// [`SessionGraph::add_notes`]'s), and the notes on the others.
    pub(super) fn link_unanswered(
        &mut self,
        unanswered: Vec<Unanswered>,
    ) -> (BTreeSet<String>, Vec<String>) {
        /// How far a session's `creationDate` may lie from the call that made it (a clock
        /// off by minutes at most), as `link_skewed` takes it.
        const CLOCK: i64 = 300;
        /// The longest life STS gives a session (`GetSessionToken`, `GetFederationToken`).
        const LIFE: i64 = 36 * 3600;
        /// More possible sessions than this (a forged trail) link none of them.
        const MAX_MATCHES: usize = 64;
        let mut linked = BTreeSet::new();
        let mut notes = Vec::new();
        if unanswered.is_empty() {
            return (linked, notes);
        }
        let mut orphans: BTreeMap<(bool, &str), Vec<usize>> = BTreeMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if let (NodeKind::Session, true, Some(arn)) =
                (node.kind, node.orphan, node.principal_arn.as_deref())
            {
                orphans.entry((false, arn)).or_default().push(n);
                if let (Some("FederatedUser"), Some(maker)) =
                    (node.principal_type.as_deref(), node.user_arn.as_deref())
                {
                    orphans.entry((true, maker)).or_default().push(n);
                }
            }
        }
        // (call, the one session it made, or the sessions that may be it)
        let mut links: Vec<(Unanswered, Result<usize, Vec<usize>>)> = Vec::new();
        for u in unanswered {
            let same: &[usize] =
                orphans.get(&(u.session_arn.0, u.session_arn.1.as_str())).map_or(&[], |v| v);
            let near =
                |n: &&usize| self.nodes[**n].issued_at.is_some_and(|t| (t - u.time).abs() <= 2);
            let found: Vec<usize> = same.iter().filter(near).copied().collect();
            if let [child] = found[..] {
                links.push((u, Ok(child)));
                continue;
            }
            let may_be = |n: &&usize| {
                let node = &self.nodes[**n];
                match node.issued_at {
                    Some(t) => (t - u.time).abs() <= CLOCK,
                    None => node.first_seen.is_some_and(|f| f >= u.time - 2 && f <= u.time + LIFE),
                }
            };
            let mut maybe: Vec<usize> = same.iter().filter(may_be).copied().collect();
            if maybe.len() > MAX_MATCHES {
                maybe.clear();
            }
            links.push((u, Err(maybe)));
        }
        drop(orphans);
        let mut has_parent: Vec<bool> = self.first_edges().iter().map(Option::is_some).collect();
        for (mut u, found) in links {
            let children = match found {
                Ok(c) if !std::mem::replace(&mut has_parent[c], true) => {
                    let node = &mut self.nodes[c];
                    node.orphan = false;
                    node.issued_by_event = Some(Text::from(u.event_name.as_str()));
                    linked.insert(u.event_id.clone());
                    vec![c]
                }
                Ok(_) => continue,
                Err(maybe) => {
                    let unseen = std::mem::replace(
                        &mut u.unseen,
                        Self::blank(String::new(), NodeKind::Session),
                    );
                    if self.by_id.contains_key(&h(&unseen.id)) {
                        continue; // another copy of the call
                    }
                    let ids: Vec<&str> = maybe.iter().map(|&n| self.nodes[n].id.as_str()).collect();
                    notes.push(format!(
                        "no key logged: {} (event {}) succeeded at {} but its record has no response, and no one session seen in use is the one it made: that session ({}) is counted as issued then and alive for as long as STS allows{}",
                        u.event_name,
                        u.event_id,
                        fmt_iso(u.time),
                        unseen.principal_arn.as_deref().unwrap_or("principal unknown"),
                        if ids.is_empty() {
                            String::new()
                        } else {
                            format!("; the sessions with its ARN that may be it are linked to the call, inferred (taint only): {}", ids.join(", "))
                        }
                    ));
                    has_parent.push(true);
                    let mut children = vec![self.add(unseen)];
                    children.extend(maybe);
                    children
                }
            };
            for (k, &child) in children.iter().enumerate() {
                // The sessions that may be the unseen one (after it) are linked by inference.
                let inferred = k > 0
                    || linked.contains(&u.event_id)
                    || u.parents.len() > 1
                    || u.owner.is_some();
                if k == 0 {
                    match &u.owner {
                        Some((pid, true)) => self.defer_wide(pid, u.time, child, &u.event_id),
                        Some((pid, false)) => {
                            let drawn = u.parents.len();
                            self.user_callers.push((self.edges.len(), drawn, pid.clone()));
                        }
                        None => {}
                    }
                }
                for &parent in &u.parents {
                    self.edges.push(Edge {
                        parent: self.nodes[parent].id.clone(),
                        child: self.nodes[child].id.clone(),
                        event_name: u.event_name.clone(),
                        event_id: u.event_id.clone(),
                        event_time: u.time,
                        file: u.file.clone(),
                        other_copies: Vec::new(),
                        inferred,
                    });
                    self.edge_nodes.push((parent, child));
                }
            }
        }
        (linked, notes)
    }
}

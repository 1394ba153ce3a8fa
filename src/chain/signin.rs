//! Console sessions opened through the federation endpoint.
//!
//! A role session's (or a federated user's) credentials can be turned into a console sign-in:
//! `GetSigninToken` (`signin.amazonaws.com`), signed with the session's key, then the sign-in
//! URL (the aws_consoler technique). The console session has a key of its own that no logged
//! call issues, carries the same principal ARN as the session that signed it, and may live up
//! to 12 hours from the sign-in whatever the signing session's own life (the token request's
//! `SessionDuration` is not the session's `DurationSeconds`). It was an orphan, never tainted:
//! the leaked key assumed a role for 15 minutes, signed in to the console, and once the 15
//! minutes were over the plan had no deny for the role while the console session lived on,
//! verify OK. Each console session (or session whose calls say nothing of how it was made)
//! no call issued, with the signing session's principal ARN, first seen from the sign-in on,
//! issued no later than the sign-in token can be used, and called from an address of the
//! signing session or of its call (when its calls show one), is now linked to every session
//! that may have signed it, as *inferred*: it is tainted whenever one of them is, and its life
//! is counted from the sign-in ([`super::expiry`]). A clean person's token taken first no
//! longer hides the attacker's console session; a console session of the same principal from
//! elsewhere (a person who switched into the role) is not the attacker's, whose calls the plan
//! would otherwise take for the attacker's (a user it made was deleted).

use super::{NodeKind, SessionGraph};
use crate::ingest::{Ingest, IssuingCall, IssuingField as F};
use std::collections::BTreeMap;

/// A successful `GetSigninToken` signed with a key: the credential that signed it. Or a
/// Cognito developer token ([`super::cognito`]).
pub(super) struct SigninToken {
    pub(super) parent: usize,
    pub(super) time: i64,
    /// The call's `sourceIPAddress`.
    ip: Option<String>,
    pub(super) event_id: String,
    pub(super) file: String,
    /// For a Cognito developer token: the identity it is for and when it stops working.
    pub(super) cognito: Option<(String, i64)>,
}

/// How long after the call the sign-in token can be used (15 minutes), plus the clocks'
/// slack: the console session's `creationDate` is no later than that.
const TOKEN_USABLE: i64 = 15 * 60 + 60;
/// How far before the call the console session's first call may lie (the records' clocks).
const SLACK: i64 = 60;
/// The longest a console session lasts from its sign-in.
pub(super) const CONSOLE_LIFETIME: i64 = 12 * 3600;

/// An address of a caller (not `AWS Internal` or a service's name).
pub(super) fn address(s: &str) -> Option<std::net::IpAddr> {
    s.parse().ok()
}

/// Adds to each node's set in `ips` the addresses its calls came from; `event_node` gives each
/// call's credential (pass 3). One walk over the calls.
pub(super) fn call_addresses(
    ing: &Ingest,
    event_node: &[u32],
    ips: &mut BTreeMap<usize, std::collections::BTreeSet<std::net::IpAddr>>,
) {
    for (i, st) in ing.stubs.iter().enumerate() {
        let Some(&n) = event_node.get(i) else { break };
        if let Some(set) = ips.get_mut(&(n as usize)) {
            set.extend(ing.str(st.ip).and_then(address));
        }
    }
}

impl SessionGraph {
    /// The successful `GetSigninToken` calls among `events` that carry a key, with the
    /// credential of that key (made if need be, as for any caller).
    pub(super) fn signin_tokens(
        &mut self,
        ing: &Ingest,
        events: &[IssuingCall],
    ) -> Vec<SigninToken> {
        let mut out = Vec::new();
        for e in events {
            let cognito = match e.name() {
                crate::ingest::SIGNIN_TOKEN => None,
                crate::model::names::COGNITO_DEVELOPER_TOKEN => {
                    // With no identity named (a new one, its response not logged), nothing
                    // is linked, but what the token can mint is still counted.
                    let id = e.get(F::Subject).unwrap_or("");
                    let until = e
                        .credentials_expiration
                        .unwrap_or(e.time.saturating_add(crate::model::names::COGNITO_TOKEN_LIFE));
                    Some((id.to_string(), until))
                }
                _ => continue,
            };
            if e.failed() || e.get(F::AccessKeyId).is_none() {
                continue;
            }
            let parent = self.parent_of(e);
            out.push(SigninToken {
                parent,
                time: e.time,
                ip: e.get(F::SourceIp).map(String::from),
                event_id: e.id().to_string(),
                file: ing.file_of(e.origin).to_string(),
                cognito,
            });
        }
        out
    }

    /// Links each orphan console session to every session whose `GetSigninToken` may have
    /// opened it (module doc): with the same principal ARN, first seen from the call on, made
    /// no later than its token can be used, and called from an address of that session or of
    /// the call (when its calls show any address): a person of the same role and session name
    /// in the console from elsewhere (an SSO user, say) is not the attacker, and what such a
    /// session made was removed by the plan. Several sessions may match one console session
    /// (two people's tokens): each is linked, none wins by coming first. `event_node` gives
    /// each call's credential (pass 3). Returns the notes to add.
    pub(super) fn link_signin_tokens(
        &mut self,
        tokens: Vec<SigninToken>,
        ing: &Ingest,
        event_node: &[u32],
    ) -> Vec<String> {
        let (cognito, tokens): (Vec<SigninToken>, Vec<SigninToken>) =
            tokens.into_iter().partition(|t| t.cognito.is_some());
        let mut notes = self.link_cognito_tokens(cognito);
        if tokens.is_empty() {
            return notes;
        }
        let incoming = self.first_edges();
        // Orphan sessions no call issued, by lower-case principal ARN.
        let mut orphans: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (o, n) in self.nodes.iter().enumerate() {
            let orphan = n.kind == NodeKind::Session && n.orphan && incoming[o].is_none();
            if orphan && super::switch::maybe_console(n) {
                if let Some(arn) = n.principal_arn.as_deref() {
                    orphans.entry(arn.to_ascii_lowercase()).or_default().push(o);
                }
            }
        }
        let mut candidates: Vec<(usize, usize, usize)> = Vec::new();
        for (k, t) in tokens.iter().enumerate() {
            let p = &self.nodes[t.parent];
            let Some(arn) = p.principal_arn.as_deref() else { continue };
            let Some(list) = orphans.get(&arn.to_ascii_lowercase()) else { continue };
            let start = p.issued_at.or(p.first_seen);
            for &o in list {
                let n = &self.nodes[o];
                let seen = n.first_seen.or(n.issued_at);
                let in_window = seen.is_some_and(|s| s >= t.time - SLACK)
                    && n.issued_at.is_none_or(|i| {
                        i <= t.time + TOKEN_USABLE && start.is_none_or(|s| i >= s - SLACK)
                    });
                if o != t.parent && in_window {
                    candidates.push((t.parent, o, k));
                }
            }
        }
        let mut opened = vec![false; tokens.len()];
        // The addresses of the candidates' calls and of the signing sessions' calls.
        let mut ips: BTreeMap<usize, std::collections::BTreeSet<std::net::IpAddr>> =
            BTreeMap::new();
        for &(p, o, _) in &candidates {
            ips.entry(p).or_default();
            ips.entry(o).or_default();
        }
        call_addresses(ing, event_node, &mut ips);
        for (p, o, k) in candidates {
            let t = &tokens[k];
            let theirs = &ips[&o];
            let from_signer = theirs.is_empty()
                || t.ip.as_deref().and_then(address).is_some_and(|a| theirs.contains(&a))
                || !ips[&p].is_disjoint(theirs);
            if !from_signer {
                notes.push(format!(
                    "session {} has the principal of {}, which asked for a console sign-in token (GetSigninToken, event {}), but is not taken as the console session it opened: none of its calls came from an address of that session or call (if that session is tainted, the plan denies this one too and leaves it to a review)",
                    self.nodes[o].id,
                    self.nodes[p].id,
                    crate::escape::one_line(&t.event_id),
                ));
                let name = crate::ingest::SIGNIN_TOKEN.to_string();
                self.add_unsure(o, p, name, t.event_id.clone(), t.time);
                continue;
            }
            notes.push(format!(
                "session {} is taken as the console session {} opened through the federation endpoint (GetSigninToken, event {}; inferred: no call in the logs issued it, it carries the same principal, was first seen after the sign-in and called from its address): it is tainted whenever that session is, and may live {} h from the sign-in",
                self.nodes[o].id,
                self.nodes[p].id,
                crate::escape::one_line(&t.event_id),
                CONSOLE_LIFETIME / 3600
            ));
            self.change_edge(
                p,
                o,
                (crate::ingest::SIGNIN_TOKEN, &t.event_id, t.time, &t.file),
                true,
            );
            self.nodes[o].orphan = false;
            opened[k] = true;
        }
        let mut drawn = Default::default();
        for (t, _) in tokens.iter().zip(opened).filter(|&(_, o)| !o) {
            self.add_unseen_console(t, &mut drawn, &mut notes);
        }
        notes
    }

    /// The console session a sign-in token no session of the logs is taken for may have opened
    /// (its calls not logged, or logged with no key, F17): counted as the call tells it, with
    /// the signing session's principal, issued as late as the token can be used and alive for
    /// the longest console life from then, linked to the signer as inferred. Without it, a
    /// 15-minute role session that signed in to the console was judged expired with the
    /// console session alive for 12 hours (36 for a federated user's), and the plan had no
    /// deny for the role, verify OK.
    ///
    /// `drawn`: (signer, console node) of each edge drawn here, where copies of one call are
    /// looked up (not in every edge of the graph: a flood of copies).
    fn add_unseen_console(
        &mut self,
        t: &SigninToken,
        drawn: &mut rustc_hash::FxHashSet<(usize, usize)>,
        notes: &mut Vec<String>,
    ) {
        let mut id = super::unanswered::unseen_id(t.time, &t.event_id);
        let p = &self.nodes[t.parent];
        if p.kind != NodeKind::Session || p.principal_arn.is_none() {
            return;
        }
        // Another copy of the call. A review planted a copy signed by a clean session in a file
        // read first: the console session became the clean one's and the tainted role's deny
        // was dropped (verify OK). A signer of the same principal is drawn as another issuer of
        // the same console session (a clean session of the same role and session name: one of
        // the two made it); another principal's gets its own (and a review planted two copies,
        // of another principal's and of a clean session of the same principal, read first:
        // the true record found both ids taken).
        let mut copy = self.by_id.get(&super::h(&id)).map(|&k| k as usize);
        if copy.is_some_and(|k| self.nodes[k].principal_arn != p.principal_arn) {
            id = format!("{id}@{}", p.principal_arn.as_deref().unwrap_or_default());
            copy = self.by_id.get(&super::h(&id)).map(|&k| k as usize);
        }
        if let Some(k) = copy {
            if drawn.insert((t.parent, k)) {
                let name = crate::ingest::SIGNIN_TOKEN;
                self.change_edge(t.parent, k, (name, &t.event_id, t.time, &t.file), true);
            }
            return;
        }
        let p = &self.nodes[t.parent];
        let mut n = Self::blank(id, NodeKind::Session);
        n.principal_arn = p.principal_arn.clone();
        n.principal_type = p.principal_type.clone();
        n.account_id = p.account_id.clone();
        n.role_arn = p.role_arn.clone();
        n.userid = p.userid.clone();
        n.user_name = p.user_name.clone();
        n.user_arn = p.user_arn.clone();
        n.root_derived = p.root_derived;
        n.issued_at = Some(t.time + TOKEN_USABLE);
        n.issued_by_event = Some(crate::ingest::SIGNIN_TOKEN.into());
        notes.push(format!(
            "console sign-in token: session {} asked for one (GetSigninToken, event {}, {}) and no session in the logs is taken for the console session it opens: that session ({}) is counted as issued by {} at the latest and alive {} h from then",
            p.id,
            crate::escape::one_line(&t.event_id),
            crate::time::fmt_iso(t.time),
            p.principal_arn.as_deref().unwrap_or("-"),
            crate::time::fmt_iso(t.time + TOKEN_USABLE),
            if p.principal_type.as_deref() == Some("AssumedRole") { 12 } else { 36 },
        ));
        let child = self.add(n);
        self.change_edge(
            t.parent,
            child,
            (crate::ingest::SIGNIN_TOKEN, &t.event_id, t.time, &t.file),
            true,
        );
        drawn.insert((t.parent, child));
    }
}

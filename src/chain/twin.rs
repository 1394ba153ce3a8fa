//! Two issuing records that name one temporary key id in one second. The copies of one
//! cross-account call do (F3), and agree; a record planted in the trail, or a key id STS gave
//! twice (F16: key ids are not unique), need not. A session is its key, its issue time and its
//! principal (F16), so:
//!
//! - records that name the same principal (or one names none) are one session, whose end is
//!   the later one stated, or unknown (so the longest STS allows) when either states none: a
//!   copy that says the session ended sooner never shortens its life;
//! - a record naming another principal is another session, a node of its own
//!   (`KEY@TIME@PRINCIPAL_ARN`, as an orphan seen under two principals is), issued by its own
//!   caller: each is tainted by its own call and denied as its principal's, and a note names
//!   the collision. A call signed by the key goes to the one whose principal it names.

use super::*;
use crate::ingest::IssuingField as F;

impl SessionGraph {
    /// `n`, made by an earlier record of the key and second `e` names, when `m` (what `e`
    /// says of its session) is the same session: `n` then takes the later end. `None` when `m`
    /// is a session of another principal.
    pub(super) fn same_session(&mut self, n: usize, m: &Node, e: &IssuingCall) -> Option<usize> {
        let node = &self.nodes[n];
        let agree = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        // A federated user's session is its calling user's (F7): one name minted by two users
        // is two sessions.
        let same =
            agree(&node.principal_arn, &m.principal_arn) && agree(&node.user_arn, &m.user_arn);
        if !same {
            return None;
        }
        let end = match (node.expires_at, m.expires_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        let disputed = match (&node.userid, &m.userid) {
            (Some(a), Some(b))
                if a != b && node.principal_type.as_deref() == Some("AssumedRole") =>
            {
                // F9: two records of one session name two role ids (one was planted under
                // another eventID). Neither is taken, nor the id a call then carries: the
                // surgical deny names `*:SESSION-NAME`, which IAM matches whichever is true.
                Some(format!(
                    "session {}: its issuing records name two role ids ({a} and {b} in event {}): neither is taken, the deny names the session under any id of its role (F9)",
                    node.id,
                    e.id()
                ))
            }
            _ => None,
        };
        if let Some(note) = disputed {
            self.notes.push(note);
            self.nodes[n].userid = None;
            self.disputed.push(n as u32);
        }
        let node = &mut self.nodes[n];
        if end != node.expires_at {
            let fmt = |t: Option<i64>| t.map_or("none".into(), crate::time::fmt_iso);
            self.notes.push(format!(
                "session {}: its issuing records disagree on its end ({} and {} in event {}): the later is taken",
                node.id,
                fmt(node.expires_at),
                fmt(m.expires_at),
                e.id()
            ));
            node.expires_at = end;
        }
        Some(n)
    }

    /// `m`, a session of the key and second of `first` under another principal, as a node of
    /// its own, with a note of the collision.
    pub(super) fn add_twin(&mut self, first: usize, mut m: Node, e: &IssuingCall) -> usize {
        let arn = m.principal_arn.clone().unwrap_or_default();
        m.id = format!("{}@{arn}", m.id);
        if let Some(&n) = self.by_id.get(&h(&m.id)) {
            // Another record of that twin: the later end again.
            return self.same_session(n as usize, &m, e).unwrap_or(n as usize);
        }
        self.notes.push(format!(
            "session key {} was issued twice in one second, to {} and to {} (event {}): key ids are not unique (F16), so each is a session of its own principal, and both are followed",
            m.access_key_id.as_deref().unwrap_or(""),
            self.nodes[first].principal_arn.as_deref().unwrap_or("?"),
            arn,
            e.get(F::Id).unwrap_or("")
        ));
        let twin = self.add(m);
        self.twinned.extend([first as u32, twin as u32]);
        twin
    }

    /// Whether session `n` is the one `who` (a caller's ARN, or else its principal id, as a
    /// call names its signer) names.
    pub(super) fn names(&self, n: usize, who: &str) -> bool {
        let node = &self.nodes[n];
        if who.starts_with("arn:") {
            node.principal_arn.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(who))
        } else {
            node.userid.as_deref() == Some(who)
        }
    }

    /// The credentials that may have made the issuing call `e`: its caller's
    /// ([`SessionGraph::parent_of`]), or, where that is a session of a key issued more than
    /// once that the call's signer (its ARN, or principal id) does not name, the one of them
    /// it names; and where it names none, every session of the key issued by then (64 at
    /// most), with a note: one of them made the call, and a chain from the attacker's must not
    /// be hung on an innocent one.
    pub(super) fn parents_of(&mut self, e: &IssuingCall) -> Vec<usize> {
        let p = self.parent_of(e);
        let (Some(key), Some(who)) =
            (e.get(F::AccessKeyId), e.get(F::Arn).or_else(|| e.get(F::PrincipalId)))
        else {
            return vec![p];
        };
        if self.nodes[p].kind != NodeKind::Session || self.names(p, who) {
            return vec![p];
        }
        let by_then: Vec<usize> = self
            .sessions_of(key)
            .filter(|&n| self.nodes[n].issued_at.is_some_and(|t| t <= e.time))
            .take(64)
            .collect();
        if by_then.len() < 2 {
            return vec![p];
        }
        if let Some(&n) = by_then.iter().find(|&&n| self.names(n, who)) {
            return vec![n];
        }
        self.notes.push(format!(
            "{} (event {}) was signed with key {}, issued to {} sessions, none of them {}: each is drawn as a maker of what it issued",
            e.name(),
            e.id(),
            key,
            by_then.len(),
            who
        ));
        by_then
    }

    /// The credential of `e`'s caller when it is not one of `drawn` (the callers' credentials
    /// already drawn as issuers of the session `e` names): another caller of one session.
    /// `None` when `e` names no caller's key, or no keyed caller was drawn (a role owner's copy
    /// of a cross-account call names none, and its edge was drawn otherwise), unless `copy`:
    /// a record of the same event (same eventID) was drawn with a caller's key, so the two
    /// disagree on the caller (one is false: a copy naming a clean key, read first, took the
    /// outside caller's session out of the trust rule) and each is drawn as its issuer.
    pub(super) fn second_caller(
        &mut self,
        e: &IssuingCall,
        drawn: &[usize],
        copy: bool,
    ) -> Option<usize> {
        if e.get(F::AccessKeyId).is_none() && !copy {
            return None;
        }
        if drawn.is_empty() {
            return None;
        }
        let p = self.parent_of(e);
        (!drawn.contains(&p)).then_some(p)
    }

    /// Of the sessions of the key hashed `key` issued within `slack` seconds of `t`, the first
    /// made whose principal is `arn`, else the first made (F16: a session is its key, its issue
    /// time and its principal; one key id issued twice, or in two seconds, goes to the session
    /// whose principal the call carries).
    pub(super) fn session_as(
        &self,
        key: u128,
        t: i64,
        slack: i64,
        arn: Option<&str>,
    ) -> Option<usize> {
        let near = self.near(key, t, slack);
        let mut all = near.into_iter();
        let first = all.next()?;
        let Some(arn) = arn else { return Some(first) };
        let same = |n: usize| self.names(n, arn);
        if same(first) {
            return Some(first);
        }
        Some(all.find(|&n| same(n)).unwrap_or(first))
    }

    /// The latest session of `key` issued at or before `time` whose principal is `arn`, else
    /// the latest so issued whatever its principal (`session_latest_at`).
    pub(super) fn session_latest_as(
        &self,
        key: &str,
        time: i64,
        arn: Option<&str>,
    ) -> Option<usize> {
        let latest = self.session_latest_at(key, time)?;
        let Some(arn) = arn else { return Some(latest) };
        let same = |n: usize| self.names(n, arn);
        // (Past a few thousand sessions of one key, a forged trail's, the latest is taken:
        // looking through them all for every call of the key would take quadratic time.)
        if same(latest) || !(2..=4096).contains(&self.sessions_of(key).take(4097).count()) {
            return Some(latest);
        }
        let own = self
            .sessions_of(key)
            .filter(|&n| same(n) && self.nodes[n].issued_at.is_none_or(|t| t <= time))
            .max_by_key(|&n| (self.nodes[n].issued_at, n));
        Some(own.unwrap_or(latest))
    }

    /// The sessions of the key hashed `key` issued within `slack` seconds of `t`, in the order
    /// made: through the index by issue time where the key has one (a forged trail can give
    /// one key any number of sessions).
    fn near(&self, key: u128, t: i64, slack: i64) -> smallvec::SmallVec<[usize; 2]> {
        if let Some(index) = self.by_issue.get(&key) {
            let range = t.saturating_sub(slack)..=t.saturating_add(slack);
            let mut v: smallvec::SmallVec<[usize; 2]> = index
                .issued
                .range(range)
                .flat_map(|(_, v)| v.iter().map(|&n| n as usize))
                .collect();
            v.sort_unstable();
            return v;
        }
        self.sessions_of_hash(key)
            .filter(|&n| self.nodes[n].issued_at.is_some_and(|x| (x - t).abs() <= slack))
            .collect()
    }

    /// Gives each call made with the key of a session issued twice in one second to the one
    /// whose principal it names: pass 3 matched a call with a `creationDate` on its key and
    /// `creationDate` alone, through its cache (one without is resolved by its own principal
    /// there, `session_latest_as`).
    pub(super) fn route_twins(&mut self, ing: &crate::ingest::Ingest) {
        if self.twinned.is_empty() {
            return;
        }
        let twinned: std::collections::BTreeSet<u32> = self.twinned.iter().copied().collect();
        for (i, st) in ing.stubs.iter().enumerate() {
            let n = self.event_node[i];
            if !twinned.contains(&n) {
                continue;
            }
            let (Some(key), Some(arn), Some(c)) =
                (ing.str(st.key), ing.str(st.principal), st.created())
            else {
                continue;
            };
            if let Some(own) = self.near(h(key), c, 2).into_iter().find(|&s| self.names(s, arn)) {
                self.event_node[i] = own as u32;
            }
        }
    }
}

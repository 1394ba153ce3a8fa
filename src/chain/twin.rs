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
        let node = &mut self.nodes[n];
        let same = match (&node.principal_arn, &m.principal_arn) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        if !same {
            return None;
        }
        let end = match (node.expires_at, m.expires_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
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
            return n as usize;
        }
        self.notes.push(format!(
            "session key {} was issued twice in one second, to {} and to {} (event {}): key ids are not unique (F16), so each is a session of its own principal, and both are followed",
            m.access_key_id.as_deref().unwrap_or(""),
            self.nodes[first].principal_arn.as_deref().unwrap_or("?"),
            arn,
            e.get(F::Id).unwrap_or("")
        ));
        self.twinned.push(first as u32);
        self.add(m)
    }

    /// Gives each call made with the key of a session issued twice in one second to the one
    /// whose principal it names (pass 3 matched it on its key and `creationDate` alone).
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
            let (Some(key), Some(arn), Some(created)) =
                (ing.str(st.key), ing.str(st.principal), st.created())
            else {
                continue;
            };
            let own = self.sessions_of(key).find(|&s| {
                let s = &self.nodes[s];
                s.issued_at.is_some_and(|x| (x - created).abs() <= 2)
                    && s.principal_arn.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(arn))
            });
            if let Some(own) = own {
                self.event_node[i] = own as u32;
            }
        }
    }
}

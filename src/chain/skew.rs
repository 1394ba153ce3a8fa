//! Sessions whose calls carry a `creationDate` more than two seconds from their issuing call,
//! or none.
//!
//! A use is matched to the session an issuing call made by key id and `creationDate` within
//! 2 s of the call's second (the observed skew); a use without `creationDate`, to the latest
//! session of its key issued at or before the call. A use further off becomes an orphan session
//! of its own, and so was never tainted with the session it most likely is: same temporary key
//! id, same session ARN (role and session name), during that session's lifetime. Damaged or
//! forged timestamps (a `creationDate` of 1970, of 2099, minutes early), AWS's clock, or a call
//! logged a second before the call that issued its key are enough; what the orphan then did (a
//! user it created, a key it made) escaped the plan, and `verify` said OK. Such an orphan is
//! now linked, as *inferred*, to the issuing call of each session it matches, by its
//! `creationDate` or, when that is missing or fits no session, by the time of its first call:
//! it is tainted whenever that session is. Key ids can repeat (F16), so a match may be another
//! session that happens to share the key id and the session name: that only adds taint (a deny
//! a responder sees, with a note), never removes one.

use super::{h, Edge, NodeKind, SessionGraph, Text};

/// How long before its issuing call a session's `creationDate` may lie and still be taken for
/// it (a clock behind by minutes at most).
const BEFORE: i64 = 300;
/// A session's lifetime when its issuing call did not say (the longest STS grants: 36 h).
const LIFETIME: i64 = 36 * 3600;
/// How long before its issuing call a session's first call may be logged (the observed skew).
const SKEW: i64 = 2;
/// More matches than this (a forged trail) link nothing.
const MAX_MATCHES: usize = 64;

impl SessionGraph {
    /// Links each orphan session to the issuing call of every issued session with its key id
    /// and session ARN whose lifetime holds its `creationDate`; returns the notes to add.
    pub(super) fn link_skewed(&mut self) -> Vec<String> {
        let issuing_edge = self.first_edges();
        let mut links: Vec<(usize, usize)> = Vec::new();
        for (o, node) in self.nodes.iter().enumerate() {
            if node.kind != NodeKind::Session || !node.orphan || issuing_edge[o].is_some() {
                continue;
            }
            let (Some(key), Some(arn)) =
                (node.access_key_id.as_deref(), node.principal_arn.as_deref())
            else {
                continue;
            };
            let (created, used) = (node.issued_at, node.first_seen);
            let Some(list) = self.sessions_by_key.get(&h(key)) else { continue };
            let start = links.len();
            links.extend(
                list.iter()
                    .map(|&s| s as usize)
                    .filter(|&s| {
                        let n = &self.nodes[s];
                        s != o
                            && !n.orphan
                            && issuing_edge[s].is_some()
                            && n.access_key_id.as_deref() == Some(key)
                            && n.principal_arn.as_deref() == Some(arn)
                            && n.issued_at.is_some_and(|t| {
                                let end = n.expires_at.unwrap_or(t + LIFETIME);
                                created.is_some_and(|c| fits(c, t, end))
                                    || used.is_some_and(|u| u >= t - SKEW && u <= end)
                            })
                    })
                    .map(|s| (s, o)),
            );
            if links.len() - start > MAX_MATCHES {
                links.truncate(start);
            }
        }
        let mut notes = Vec::new();
        for (s, o) in links {
            let Some(k) = issuing_edge[s] else { continue };
            let parent = self.edge_nodes[k].0;
            let edge = Edge {
                child: self.nodes[o].id.clone(),
                other_copies: Vec::new(),
                inferred: true,
                ..self.edges[k].clone()
            };
            let (t, end) =
                (edge.event_time, self.nodes[s].expires_at.unwrap_or(edge.event_time + LIFETIME));
            let (first, ev) = (self.nodes[o].first_seen.unwrap_or(t) - t, &edge.event_id);
            let why = match self.nodes[o].issued_at {
                Some(c) if fits(c, t, end) => {
                    format!("its calls' creationDate {:+} s from the issuing call {ev}", c - t)
                }
                Some(c) => format!(
                    "its first call {first:+} s from the issuing call {ev}, inside that session's life (its calls' creationDate, {}, fits no session)",
                    crate::time::fmt_iso(c)
                ),
                None => format!(
                    "its first call {first:+} s from the issuing call {ev}, inside that session's life (its calls carry no creationDate)"
                ),
            };
            notes.push(format!(
                "session {} is taken for session {} (inferred): the same key id and session ARN, {why} (key ids can repeat, F16: if it is another session, it is denied as well)",
                self.nodes[o].id, self.nodes[s].id
            ));
            let (name, expires) = (Text::from(edge.event_name.as_str()), self.nodes[s].expires_at);
            let node = &mut self.nodes[o];
            node.orphan = false;
            node.issued_by_event = Some(name);
            node.expires_at = node.expires_at.or(expires);
            // Without a creationDate, its issue time is the call that issued it.
            node.issued_at = node.issued_at.or(Some(t));
            self.edges.push(edge);
            self.edge_nodes.push((parent, o));
        }
        notes
    }
}

/// A `creationDate` `c` that may be that of the session issued at `t` and valid until `end`.
fn fits(c: i64, t: i64, end: i64) -> bool {
    c >= t - BEFORE && c <= end
}

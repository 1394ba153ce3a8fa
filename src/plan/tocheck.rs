//! Sessions the trail cannot attribute, that may be the attacker's ([`crate::chain::Unsure`]:
//! a console session a tainted session's sign-in token may have opened from another
//! address, a `GetSessionToken` or `GetFederationToken` session of a tainted key's user with
//! no issuing call in the trail, and what these issued). Before, each was neither tainted
//! nor named, and `verify` said OK while it lived on. Now the plan denies each that may still
//! be valid, with its principal's tainted sessions (a person denied by mistake signs in
//! again, after the cut-off, and is not denied), leaves each to a review item, and exits 1
//! (`summary.sessions_to_check`); `verify` fails on them. What they did is not in the blast
//! radius, so what they made is not removed.

use super::commands::review;
use super::targets::{attach_target, Target};
use crate::blast::BlastRadius;
use crate::chain::SessionGraph;
use crate::escape::one_line;
use crate::time::fmt_iso;
use std::collections::BTreeMap;

/// At most this many review items one by one; the rest in one item.
const LISTED: usize = 20;

/// The sessions to check: those that may be alive at `live_from`, by the principal their
/// deny goes on (to deny with the tainted sessions), and the review items.
pub(super) struct ToCheck {
    pub alive_by_target: BTreeMap<Target, Vec<usize>>,
    pub reviews: Vec<super::Action>,
    /// How many sessions are to check.
    pub sessions: u64,
}

pub(super) fn to_check(g: &SessionGraph, b: &BlastRadius, live_from: i64) -> ToCheck {
    let unsure = g.unsure_sessions(&b.nodes, &b.unsure);
    let mut out = ToCheck {
        alive_by_target: BTreeMap::new(),
        reviews: Vec::new(),
        sessions: unsure.len() as u64,
    };
    for (k, u) in unsure.iter().enumerate() {
        let node = &g.nodes[u.node];
        let alive = u.valid_until.is_none_or(|x| x > live_from);
        let target = attach_target(g, u.node).ok();
        if let (true, Some(t)) = (alive, &target) {
            out.alive_by_target.entry(t.clone()).or_default().push(u.node);
        }
        if k == LISTED {
            out.reviews.push(review(
                None,
                format!(
                    "{} more session(s) may be the attacker's for the same reasons (each denied if it may still be valid): list them with `trailhound verify` (its CHECK notes)",
                    unsure.len() - LISTED
                ),
                &[],
            ));
        }
        if k >= LISTED {
            continue;
        }
        let life = match (alive, &target) {
            (false, _) => "it has expired".to_string(),
            (true, Some(t)) => format!(
                "it may be valid until {}: the plan denies it with the sessions of {} {} issued before the cut-off",
                u.valid_until.map_or_else(|| "no known end".to_string(), fmt_iso),
                t.kind,
                one_line(&t.name)
            ),
            (true, None) => {
                "it may still be valid and its principal is unknown: deny it by hand".to_string()
            }
        };
        out.reviews.push(review(
            node.account_id.as_deref().map(str::to_string),
            format!(
                "session {} ({}) may be the attacker's: {}; {life}. Check its calls (`trailhound sessions --principal` with its ARN: their addresses, user agents, what they made): if they are the attacker's, undo what it made (it is not in the blast radius) and re-run the plan",
                one_line(&node.id),
                one_line(node.principal_arn.as_deref().unwrap_or("-")),
                u.why,
            ),
            &[],
        ));
    }
    out
}

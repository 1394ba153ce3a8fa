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
use crate::chain::{NodeKind, SessionGraph};
use crate::escape::{one_line, shell_word};
use crate::time::fmt_iso;
use std::collections::BTreeMap;

/// At most this many review items one by one; the rest in one item.
pub(super) const LISTED: usize = 20;

/// The sessions to check: those that may be alive at `live_from`, by the principal their
/// deny goes on (to deny with the tainted sessions), and the review items.
pub(super) struct ToCheck {
    pub alive_by_target: BTreeMap<Target, Vec<usize>>,
    pub reviews: Vec<super::Action>,
    /// How many sessions are to check.
    pub sessions: u64,
}

/// The first [`LISTED`] ids, and how many more (a forged trail may give thousands).
pub(super) fn listed<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> String {
    let n = ids.len();
    let mut s = ids.take(LISTED).collect::<Vec<_>>().join(", ");
    if n > LISTED {
        s.push_str(&format!(" and {} more", n - LISTED));
    }
    s
}

pub(super) fn to_check(
    g: &SessionGraph,
    b: &BlastRadius,
    live_from: i64,
    effective_at: i64,
) -> ToCheck {
    let unsure = g.unsure_sessions(&b.nodes, &b.unsure);
    let mut out = ToCheck {
        alive_by_target: BTreeMap::new(),
        reviews: Vec::new(),
        sessions: unsure.len() as u64,
    };
    // The users each made (`CreateUser`, a password set): named in its review item.
    let mut made: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for gr in &g.user_grants {
        made.entry(gr.by).or_default().push(gr.user_name.as_str());
    }
    for (k, u) in unsure.iter().enumerate() {
        let node = &g.nodes[u.node];
        let key = node.kind == NodeKind::LongTermKey;
        let alive = u.valid_until.is_none_or(|x| x > live_from);
        let target = attach_target(g, u.node).ok().filter(|_| !key);
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
        let late = node.issued_at.or(node.first_seen).is_none_or(|t| t >= effective_at);
        let life = match (alive, &target) {
            _ if key => format!(
                "a long-term key no deny of a session ends (F5): if it is the attacker's, deactivate it (aws iam update-access-key --user-name {} --access-key-id {} --status Inactive)",
                shell_word(node.user_name.as_deref().unwrap_or("USER")),
                shell_word(node.access_key_id.as_deref().unwrap_or(&node.id))
            ),
            (false, _) => "it has expired".to_string(),
            (true, Some(_)) if late => format!(
                "it may be valid until {}, and was issued at or after the cut-off (or when is not known): the plan's deny does not cut it (F14); deny it by hand",
                u.valid_until.map_or_else(|| "no known end".to_string(), fmt_iso)
            ),
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
        let users = match made.get(&u.node) {
            Some(names) => {
                format!(" It made or took over user(s) {}.", one_line(&names.join(", ")))
            }
            None => String::new(),
        };
        out.reviews.push(review(
            node.account_id.as_deref().map(str::to_string),
            format!(
                "{} {} ({}) may be the attacker's: {}; {life}.{users} Check its calls (`trailhound sessions --principal` with its ARN: their addresses, user agents, what they made): if they are the attacker's, undo what it made (it is not in the blast radius) and re-run the plan",
                if key { "access key" } else { "session" },
                one_line(&node.id),
                one_line(node.principal_arn.as_deref().unwrap_or("-")),
                u.why,
            ),
            &[],
        ));
    }
    out
}

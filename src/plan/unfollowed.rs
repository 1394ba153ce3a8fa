//! Routes to a principal's sessions that the taint does not follow ([`crate::blast::NOT_FOLLOWED`]):
//! commands run on an instance, an instance profile swapped, instances started from a
//! template, a stack acting with a service role, a task, build, job or notebook handed a role,
//! an identity provider or trust anchor changed, Identity Center's assignments. Each is a
//! `review` item saying what to do by hand. Before, the plan exited 0 and `verify` said OK
//! beside them, although the sessions they lead to are not in the graph, so neither could show
//! them cut (a review found an ECS task started by the leaked key with an existing role: the
//! task renews the role's sessions for as long as it runs, and `verify` said OK).
//!
//! Now each such call of a tainted credential is counted as left uncut: the plan says so on
//! stderr and in plan.sh's WARNING and exits 1 (`summary.routes_not_followed`), and `verify` fails
//! with a NOT FOLLOWED note for each. They stay so on every later run over the same trail: the
//! logs cannot show the route closed; the review item says what closes it.

use crate::blast::{BlastRadius, Persistence};
use crate::escape::one_line;
use std::collections::BTreeSet;

/// At most this many routes named one by one in the notes (a forged trail may give
/// thousands); the rest are counted in one note.
const LISTED: usize = 20;

/// The routes not followed among the blast radius's persistence findings, one per event.
pub(crate) fn routes(b: &BlastRadius) -> Vec<&Persistence> {
    let mut seen = BTreeSet::new();
    b.persistence.iter().filter(|p| p.not_followed() && seen.insert(p.event_id.as_str())).collect()
}

/// A NOT FOLLOWED note for each route (at most [`LISTED`], then one note for the rest).
pub(crate) fn notes(routes: &[&Persistence]) -> Vec<String> {
    let mut out: Vec<String> = routes
        .iter()
        .take(LISTED)
        .map(|p| {
            format!(
                "NOT FOLLOWED: {} {} at {} (event {}, by {}): the sessions it leads to are not in the taint, so no deny of this plan can be shown to cut them; close it by hand (its review item says how)",
                one_line(&p.event_name),
                one_line(&p.target),
                p.event_time,
                one_line(&p.event_id),
                one_line(p.by_access_key.as_deref().unwrap_or("a tainted credential"))
            )
        })
        .collect();
    if routes.len() > LISTED {
        out.push(format!(
            "NOT FOLLOWED: {} more routes the taint does not follow (the first {LISTED} are named above; each is a review item)",
            routes.len() - LISTED
        ));
    }
    out
}

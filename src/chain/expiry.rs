//! How long a session of the graph stays valid: a fact of its issuing call and its kind, used
//! by the renderings of the graph, the blast radius (unseen tail), the plan and `verify`.

use super::{NodeKind, SessionGraph};

/// The shortest life STS gives a session (900 s for AssumeRole, GetSessionToken and
/// GetFederationToken), less a minute for the clocks of the record: a stated `expiration`
/// closer to the issue time than this (or before it, or a year misread) is not believed.
pub const SHORTEST_LIFE: i64 = 840;

/// How much later than its issuing call's `eventTime` a session's `aws:TokenIssueTime` (the
/// `creationDate` its calls carry, F5) has been seen to be.
const ISSUE_SKEW: i64 = 2;

/// The latest `aws:TokenIssueTime` a session may have: its issue time, which its calls'
/// `creationDate` fixes when the trail shows one; for a session issued by a logged call and
/// never seen with a `creationDate` (unused, or its calls' records without one: a damaged or
/// converted export), up to [`ISSUE_SKEW`] later than that call. A deny `DateLessThan` a
/// cut-off one second after the call would miss it, so the plan and `verify` judge it at this
/// time.
pub fn token_issue_time(node: &super::Node) -> Option<i64> {
    let unseen = node.kind == NodeKind::Session && !node.orphan && !node.issue_seen;
    node.issued_at.map(|t| if unseen { t.saturating_add(ISSUE_SKEW) } else { t })
}

/// The note for a session whose issuing call (event `event`) states an end `x` before the
/// call or sooner after it than STS allows: not believed ([`session_expiry`]).
pub(super) fn unbelieved(id: &str, x: i64, event: Option<&str>) -> String {
    format!(
        "session {id}: the expiration {} its issuing call states (event {}) is before the call or sooner after it than STS allows (900 s): not believed; the session is given its kind's longest life",
        crate::time::fmt_iso(x),
        event.unwrap_or("?")
    )
}

/// The `expiration` a session's issuing call stated, if it is believable: not sooner after the
/// issue time than [`SHORTEST_LIFE`], and not more than [`USE_SKEW`] before the session's last
/// call (the logs show the session valid then). What the renderings show as the session's stated end.
pub fn stated_expiry(g: &SessionGraph, n: usize) -> Option<i64> {
    let node = &g.nodes[n];
    node.expires_at.filter(|&e| believable(node, e))
}

/// How long after its end a session's call may still be logged: the clocks of the services
/// that log a call (SigV4 allows requests five minutes off).
const USE_SKEW: i64 = 300;

fn believable(node: &super::Node, end: i64) -> bool {
    node.issued_at.is_none_or(|i| end >= i.saturating_add(SHORTEST_LIFE))
        && node.last_seen.is_none_or(|l| end >= l.saturating_sub(USE_SKEW))
}

/// When a session stops being valid: its `expiration` ([`stated_expiry`]), else issue time +
/// the maximum lifetime of its kind (F12; chained role sessions 1 h, F4; AssumeRoot 15 min;
/// root 1 h). A session the logs show in use after that was not of that kind (a role assumed
/// from an instance's session whose records did not say so is not chained, F4), or its times
/// are off: it gets the longest life of its type (12 h for a role session, 36 h otherwise),
/// and when it is used even later, no end (the end can never be before its last call).
/// `None` when the issue time is unknown too (it cannot be shown to have expired).
///
/// An end a few minutes before the session's last call (a clock off, [`believable`]) moves to
/// that call: the logs show the session working then, so a cut-off between the two must not
/// find it expired.
pub fn session_expiry(g: &SessionGraph, n: usize) -> Option<i64> {
    let end = expiry_of(g, n)?;
    Some(g.nodes[n].last_seen.map_or(end, |l| end.max(l)))
}

fn expiry_of(g: &SessionGraph, n: usize) -> Option<i64> {
    let node = &g.nodes[n];
    if let Some(e) = stated_expiry(g, n) {
        return Some(e);
    }
    let issued = node.issued_at?;
    // A console session opened through the federation endpoint (`signin.rs`) lives up to the
    // longest of its type from the sign-in, whatever the life of the session that signed it:
    // not a role chain (F4, capped at an hour).
    let signin = g.parent_edge()[n]
        .map(|(_, k)| &g.edges[k])
        .filter(|e| e.inferred && e.event_name == crate::ingest::SIGNIN_TOKEN);
    if let Some(e) = signin {
        let end = issued.max(e.event_time).saturating_add(longest_of_type(node));
        return believable(node, end).then_some(end);
    }
    // Role chaining (F4) is a role assumed with a role session's credentials: an
    // `AssumedRole` parent that is not an EC2 instance profile's session (those do not count
    // as a chain link). A role assumed from a GetSessionToken, federated or instance session
    // is not chained and may last the role's maximum: capping it at an hour made a live
    // 12-hour session "expired", and no deny was planned for it. A parent of unknown type is
    // not taken for a role session (the longer life is the one that keeps a deny); nor is one
    // named like an instance (`…/i-0abc…`), as instance profile sessions are.
    // Every issuer: records naming two callers are each drawn, and the first drawn (a
    // record planted in a file read first, naming a role session) capped a user's 12-hour
    // session at an hour, planned as expired (a review; verify OK).
    let parents = g.parents_of_node(n);
    let parent_is_session = !parents.is_empty()
        && parents.iter().all(|&p| {
            let parent = &g.nodes[p];
            let from_ec2 = parent.issued_by_event.as_deref() == Some("EC2 instance profile")
                || g.parent_edge()[p]
                    .is_some_and(|(q, _)| g.nodes[q].id == "service:ec2.amazonaws.com")
                || parent.principal_arn.as_deref().is_some_and(named_like_an_instance);
            parent.kind == NodeKind::Session
                && parent.principal_type.as_deref() == Some("AssumedRole")
                && !from_ec2
        });
    let max = match node.issued_by_event.as_deref() {
        Some("AssumeRoot") => 900,
        _ if node.root_derived => 3600,
        Some("GetSessionToken") | Some("GetFederationToken") => 36 * 3600,
        Some(_) if parent_is_session && node.principal_type.as_deref() == Some("AssumedRole") => {
            3600
        }
        _ => longest_of_type(node),
    };
    let end = issued.saturating_add(max);
    if believable(node, end) {
        return Some(end);
    }
    let end = issued.saturating_add(longest_of_type(node).max(max));
    believable(node, end).then_some(end)
}

/// The longest life STS gives a session of the node's type: 12 h for a role session, 36 h
/// otherwise (GetSessionToken, GetFederationToken, F12).
fn longest_of_type(node: &super::Node) -> i64 {
    match node.principal_type.as_deref() {
        Some("AssumedRole") => 12 * 3600,
        _ => 36 * 3600,
    }
}

/// True for a role session ARN whose session name is an EC2 instance id (`i-` and 8 or 17 hex
/// digits), the name an instance profile's sessions carry.
fn named_like_an_instance(arn: &str) -> bool {
    let name = arn.rsplit('/').next().unwrap_or("");
    name.strip_prefix("i-").is_some_and(|h| {
        matches!(h.len(), 8 | 17)
            && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

//! How long a session of the graph stays valid: a fact of its issuing call and its kind, used
//! by the renderings of the graph, the blast radius (unseen tail), the plan and `verify`.

use super::{NodeKind, SessionGraph};

/// When a session stops being valid: its `expiration`, else issue time + the maximum
/// lifetime of its kind (F12; chained role sessions 1 h, F4; AssumeRoot 15 min; root 1 h).
/// `None` when the issue time is unknown too (it cannot be shown to have expired).
pub fn session_expiry(g: &SessionGraph, n: usize) -> Option<i64> {
    let node = &g.nodes[n];
    if let Some(e) = node.expires_at {
        return Some(e);
    }
    let issued = node.issued_at?;
    // Role chaining (F4) is a role assumed with a role session's credentials: an
    // `AssumedRole` parent that is not an EC2 instance profile's session (those do not count
    // as a chain link). A role assumed from a GetSessionToken, federated or instance session
    // is not chained and may last the role's maximum: capping it at an hour made a live
    // 12-hour session "expired", and no deny was planned for it. A parent of unknown type is
    // not taken for a role session (the longer life is the one that keeps a deny).
    let parent_is_session = g.parent_edge()[n].is_some_and(|(p, _)| {
        let parent = &g.nodes[p];
        let from_ec2 = parent.issued_by_event.as_deref() == Some("EC2 instance profile")
            || g.parent_edge()[p]
                .is_some_and(|(q, _)| g.nodes[q].id == "service:ec2.amazonaws.com");
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
        _ => match node.principal_type.as_deref() {
            Some("AssumedRole") => 12 * 3600,
            _ => 36 * 3600,
        },
    };
    Some(issued + max)
}

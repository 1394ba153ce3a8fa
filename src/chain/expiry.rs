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
    let parent_is_session =
        g.parent_edge()[n].is_some_and(|(p, _)| g.nodes[p].kind == NodeKind::Session);
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

//! Live tainted sessions that used Amazon EKS, which no deny of the plan keeps out (F22).
//!
//! A Kubernetes client signs in to an EKS cluster with a token that is a presigned
//! `sts:GetCallerIdentity` request; the cluster runs it to learn who the caller is, and its
//! access entries (or `aws-auth` ConfigMap) and Kubernetes RBAC, not IAM, decide what the
//! caller may do. `GetCallerIdentity` answers whatever policy denies it, so a session the
//! plan denies everything still signs in to every cluster that maps its role or user, until
//! it expires. A review found such a session counted as covered, with plan exit 0 and
//! `verify` OK.
//!
//! Each tainted session that made an EKS call (any, failed ones included: signing in needs
//! no EKS permission) and may still be valid after the cut-off is a review item: the plan
//! exits 1 (`summary.eks_sessions`) and `verify` fails, until a responder has removed its
//! principal from the clusters' access or the session has expired. A session that never
//! called EKS can still make such a token offline (and other systems take the same kind of
//! login, HashiCorp Vault's AWS auth among them); docs F22 says so, and the README lists it.

use super::commands::review;
use super::Action;
use crate::blast::BlastRadius;
use crate::chain::{session_expiry, NodeKind, SessionGraph};
use crate::escape::one_line;
use crate::time::fmt_iso;
use std::collections::BTreeMap;

/// How long a session that used EKS can still sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// Until it expires, at this time when the logs give it.
    Expiry(Option<i64>),
    /// For as long as the instance or function it is a session of runs: EC2 and Lambda take
    /// the next session of the role by themselves (F21), and each signs in as this one did.
    Renewed,
}

/// The tainted sessions that used EKS and may be valid after `live_from`, in node order: a
/// session of an instance or a function, whatever its own expiry (a review found one that had
/// expired before the cut-off while its instance kept renewing: exit 0). `renewed` is
/// [`SessionGraph::launched_sessions`], which the caller has already worked out.
pub(crate) fn left<V>(
    g: &SessionGraph,
    b: &BlastRadius,
    live_from: i64,
    renewed: &BTreeMap<usize, V>,
) -> Vec<(usize, Until)> {
    b.eks_users
        .iter()
        .filter(|&&n| g.nodes[n].kind == NodeKind::Session)
        .map(|&n| match renewed.contains_key(&n) {
            true => (n, Until::Renewed),
            false => (n, Until::Expiry(session_expiry(g, n))),
        })
        .filter(|&(_, u)| match u {
            Until::Renewed => true,
            Until::Expiry(x) => x.is_none_or(|x| x > live_from),
        })
        .collect()
}

/// What is left of one, as its NOT CUT note and review item say it.
fn text(g: &SessionGraph, n: usize, until: Until) -> String {
    let until = match until {
        Until::Expiry(Some(t)) => fmt_iso(t),
        Until::Expiry(None) => "its expiry, which the logs do not give".to_string(),
        Until::Renewed => "its instance or function stops (it takes the role's next sessions by itself, F21: terminate or restore it)".to_string(),
    };
    format!(
        "session {} used Amazon EKS: an EKS sign-in token is a presigned sts:GetCallerIdentity, which no deny stops (F22), so it still signs in to every cluster whose access entries or aws-auth ConfigMap map its principal, until {until}",
        one_line(&g.nodes[n].id)
    )
}

/// A NOT CUT note each.
pub(crate) fn notes(g: &SessionGraph, left: &[(usize, Until)]) -> Vec<String> {
    left.iter().map(|&(n, until)| format!("NOT CUT: {}", text(g, n, until))).collect()
}

/// A review item each, with the commands that find and remove the access.
pub(super) fn reviews(g: &SessionGraph, left: &[(usize, Until)]) -> Vec<Action> {
    left.iter()
        .map(|&(n, until)| {
            let node = &g.nodes[n];
            // An access entry names an IAM role or user: a session's role, or the user a
            // GetSessionToken or federated session is of.
            let principal = node
                .role_arn
                .as_deref()
                .or(node.user_arn.as_deref())
                .or(node.principal_arn.as_deref())
                .unwrap_or("?");
            review(
                node.account_id.as_ref().map(|a| a.to_string()),
                format!(
                    "{}; remove its principal's access to the clusters it can reach (or have each cluster's owner do it), then check the clusters' audit logs for what it did",
                    text(g, n, until)
                ),
                &[
                    "aws eks list-clusters; aws eks list-access-entries --cluster-name CLUSTER".to_string(),
                    format!("aws eks delete-access-entry --cluster-name CLUSTER --principal-arn {}", one_line(principal)),
                    "kubectl -n kube-system edit configmap aws-auth   # clusters that map IAM principals there".to_string(),
                ],
            )
        })
        .collect()
}

/// The tainted credentials that used Amazon EKS (a call that succeeded, other than listing the
/// clusters: a refused `ListClusters` is ordinary enumeration, a review found it failing every
/// verify) and are not in `left` (expired by the cut-off, long-term keys the plan
/// deactivates), in node order: what they did inside a cluster
/// (kubectl: pods, service accounts, role bindings) is in its audit log, not in CloudTrail, and
/// a workload they started takes its role's sessions (IRSA, EKS Pod Identity) by itself for
/// as long as it runs (F21, F22). A review found an expired session's `DescribeCluster`
/// followed by a pod's role sessions reading secrets from the attacker's address: plan 0,
/// verify OK. Each is a route not followed: `plan` exits 1 and `verify` fails.
pub(crate) fn inside(b: &BlastRadius, left: &[(usize, Until)]) -> Vec<usize> {
    b.eks_reached.iter().copied().filter(|n| !left.iter().any(|(m, _)| m == n)).collect()
}

/// A NOT FOLLOWED note each for [`inside`].
pub(crate) fn inside_notes(g: &SessionGraph, inside: &[usize]) -> Vec<String> {
    inside
        .iter()
        .map(|&n| {
            format!(
                "{}: {} {} used Amazon EKS: what it did inside the clusters (kubectl: pods, service accounts, role bindings) is in their audit logs, not in CloudTrail, and a workload it started takes its role's sessions (IRSA, EKS Pod Identity) by itself for as long as it runs (F21, F22); read the clusters' audit logs for what it made, remove it, and deny the roles' sessions issued since",
                crate::blast::NOT_FOLLOWED,
                if g.nodes[n].kind == NodeKind::LongTermKey { "access key" } else { "session" },
                one_line(&g.nodes[n].id)
            )
        })
        .collect()
}

/// A review item each for [`inside`], with the commands that find what it may have made.
pub(super) fn inside_reviews(g: &SessionGraph, inside: &[usize]) -> Vec<Action> {
    inside
        .iter()
        .zip(inside_notes(g, inside))
        .map(|(&n, note)| {
            review(
                g.nodes[n].account_id.as_ref().map(|a| a.to_string()),
                note,
                &[
                    "aws eks list-clusters; aws eks list-pod-identity-associations --cluster-name CLUSTER".to_string(),
                    "kubectl get pods,serviceaccounts,rolebindings,clusterrolebindings -A   # what it made: the cluster's audit log says who".to_string(),
                ],
            )
        })
        .collect()
}

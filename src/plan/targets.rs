//! Where a deny for a session must be attached (F7): the role or IAM user whose inline
//! policy governs it, or why no IAM policy can cut it (root, service-linked and Identity
//! Center roles, an unknown principal).

use crate::chain::{arn_account, NodeKind, SessionGraph};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The kind of principal a deny is attached to (F7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Role,
    User,
}

impl TargetKind {
    /// `role` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Role => "role",
            TargetKind::User => "user",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a deny for a credential must be attached (F7).
///
/// One principal is one target whatever ARN a session gave for it: IAM names a role or user
/// by account and name (`put-role-policy --role-name`), and a session's role ARN may come with
/// its path (from `sessionIssuer`) or without (rebuilt from the session ARN). Two targets for
/// one role would be two puts of one policy name, the second replacing the first. So targets
/// are equal and ordered by kind, name (whatever its case: IAM names are not told apart by
/// case) and account; `arn` and `name` are the first ones seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    /// `role` or `user`.
    pub kind: TargetKind,
    pub name: String,
    pub arn: String,
    pub account_id: String,
}

impl Target {
    /// IAM names a role or user without regard to case (`Admin` and `admin` are one role):
    /// the name compares so.
    fn key(&self) -> (TargetKind, impl Iterator<Item = u8> + '_, &str) {
        (self.kind, self.name.bytes().map(|b| b.to_ascii_lowercase()), &self.account_id)
    }
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Target {}

impl PartialOrd for Target {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Target {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let ((k, n, a), (ok, on, oa)) = (self.key(), other.key());
        k.cmp(&ok).then_with(|| n.cmp(on)).then_with(|| a.cmp(oa))
    }
}

/// Why a credential cannot be denied by an IAM policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    Root,
    ServiceLinkedRole,
    IdentityCenter,
    UnknownPrincipal,
}

/// Where a role lives by its path: service-linked roles under `/aws-service-role/` (their
/// policies cannot be changed, F6) and IAM Identity Center roles under
/// `/aws-reserved/sso.amazonaws.com/` (F20). Decided by the path in the role's ARN, never by a
/// name prefix: anyone who can create roles can name one `AWSReservedSSO_…` (SPEC §6).
pub fn role_blocker(role_arn: &str) -> Option<Blocker> {
    let path = crate::chain::after_segment(role_arn, "role/")?;
    if path.starts_with("aws-service-role/") {
        Some(Blocker::ServiceLinkedRole)
    } else if path.starts_with("aws-reserved/sso.amazonaws.com/") {
        Some(Blocker::IdentityCenter)
    } else {
        None
    }
}

/// The principal whose inline policy governs a session, or why there is none.
pub fn attach_target(g: &SessionGraph, n: usize) -> Result<Target, Blocker> {
    let node = &g.nodes[n];
    if node.root_derived || node.principal_type.as_deref() == Some("Root") {
        return Err(Blocker::Root);
    }
    let arn = node.principal_arn.as_deref().unwrap_or("");
    if let Some(rest) = crate::chain::after_segment(arn, "assumed-role/") {
        // The role the deny goes on is the one its ARN names (the issuing call's, with the
        // path its calls give): a session ARN naming another role (a planted copy of the
        // response) made a second target whose put carried the first one's name, the second
        // put replacing the first.
        let (account, name) = match crate::chain::role_named(node) {
            Some((a, n)) => (a.to_string(), n.to_string()),
            None => (
                arn_account(arn).unwrap_or("").to_string(),
                rest.split('/').next().unwrap_or("").to_string(),
            ),
        };
        // Built in the session's own partition: in aws-cn or aws-us-gov no role is
        // `arn:aws:`, and a policy attached by such an ARN is refused.
        let role_arn = node.role_arn.clone().unwrap_or_else(|| {
            let partition = crate::chain::arn_partition(arn).unwrap_or("aws");
            format!("arn:{partition}:iam::{account}:role/{name}")
        });
        if let Some(b) = role_blocker(&role_arn) {
            return Err(b);
        }
        return Ok(Target { kind: TargetKind::Role, name, arn: role_arn, account_id: account });
    }
    // A GetFederationToken logged without its response made a session no record names: it is
    // the calling user's, as one named is (it was "principal unknown", NOT COVERED).
    let federated = crate::chain::arn_is(arn, "federated-user/")
        || (arn.is_empty() && node.issued_by_event.as_deref() == Some("GetFederationToken"));
    let user_arn = if federated {
        // F7: GetFederationToken sessions are denied on the IAM user that called it, known
        // from the issuing call or, without one, from the session's own sessionIssuer (SPEC §9).
        node.user_arn
            .clone()
            .or_else(|| g.parent_edge()[n].and_then(|(p, _)| g.nodes[p].principal_arn.clone()))
            .unwrap_or_default()
    } else {
        arn.to_string()
    };
    if user_arn.ends_with(":root") {
        return Err(Blocker::Root);
    }
    if crate::chain::after_segment(&user_arn, "user/").is_some() {
        // Under the name the user has at the end of the trail (`UpdateUser`): IAM knows a
        // renamed user by no other. The name is the last segment: a path may hold `:user/`
        // (`user/ci-deployer:user/x/ops-admin` is user `ops-admin`, not `ci-deployer`).
        let user_arn = g.user_arn_now(&user_arn, node.issued_at.or(node.first_seen));
        let rest = crate::chain::after_segment(&user_arn, "user/").unwrap_or("");
        let name = rest.rsplit('/').next().unwrap_or(rest).to_string();
        let account = arn_account(&user_arn).unwrap_or("").to_string();
        return Ok(Target { kind: TargetKind::User, name, arn: user_arn, account_id: account });
    }
    Err(Blocker::UnknownPrincipal)
}

/// Sessions (node indexes, in node order) by the target whose deny would cut them.
pub type SessionsByTarget = BTreeMap<Target, Vec<usize>>;

/// Every session of the trail with its attach target, for collateral and verification.
///
/// Every assumed-role session of one role has the same target: [`attach_target`] reads only
/// its role name and account (from its ARN), its role ARN and whether root made it. So the
/// target is worked out once for each such group rather than once per session (a trail has
/// about one session per credential), and the groups are merged in node order.
pub fn sessions_by_target(g: &SessionGraph) -> SessionsByTarget {
    use rayon::prelude::*;
    type Key<'a> = (&'a str, Option<&'a str>, Option<&'a str>, bool);
    // Keyed by text from the logs (a role name is its creator's to choose): std's keyed hash,
    // so that no trail can be made of names of one hash.
    type Groups<'a> = crate::ingest::StrMap<Key<'a>, Vec<usize>>;
    // The nodes in parts, on both cores (it runs beside the blast radius, and whichever core
    // is free takes the next part); the parts are merged in node order.
    const PART: usize = 8192;
    let parts: Vec<(Groups<'_>, SessionsByTarget)> = g
        .nodes
        .par_chunks(PART)
        .enumerate()
        .map(|(p, nodes)| {
            let mut groups = Groups::default();
            let mut m = SessionsByTarget::new();
            for (j, n) in nodes.iter().enumerate() {
                if n.kind != NodeKind::Session {
                    continue;
                }
                let i = p * PART + j;
                let arn = n.principal_arn.as_deref().unwrap_or("");
                let root = n.root_derived || n.principal_type.as_deref() == Some("Root");
                match crate::chain::after_segment(arn, "assumed-role/") {
                    Some(rest) => {
                        let name = rest.split('/').next().unwrap_or("");
                        let key = (name, arn_account(arn), n.role_arn.as_deref(), root);
                        groups.entry(key).or_default().push(i);
                    }
                    None => {
                        if let Ok(t) = attach_target(g, i) {
                            m.entry(t).or_default().push(i);
                        }
                    }
                }
            }
            (groups, m)
        })
        .collect();
    let mut groups = Groups::default();
    let mut m = SessionsByTarget::new();
    for (part_groups, part_m) in parts {
        for (k, v) in part_groups {
            groups.entry(k).or_default().extend(v);
        }
        for (t, v) in part_m {
            m.entry(t).or_default().extend(v);
        }
    }
    for members in groups.into_values() {
        if let Ok(t) = attach_target(g, members[0]) {
            m.entry(t).or_default().extend(members);
        }
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}

/// Why no IAM policy can cut a session, and the remedy.
pub fn blocker_reason(b: &Blocker) -> &'static str {
    match b {
        Blocker::Root => "minted by root itself (GetSessionToken, GetFederationToken, AssumeRoot) or root's own session: IAM policies cannot restrict root or these credentials (F11); wait for expiry, use an SCP (member accounts) or AWS Support",
        Blocker::ServiceLinkedRole => "service-linked role (path /aws-service-role/): its policies cannot be changed (F6); wait for expiry",
        Blocker::IdentityCenter => "IAM Identity Center role (path /aws-reserved/sso.amazonaws.com/): revoke through the permission set or the user's active sessions in IAM Identity Center (F20)",
        Blocker::UnknownPrincipal => "the principal of this session is unknown (no issuing event and no identity in its calls); review by hand",
    }
}

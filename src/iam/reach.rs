//! What a principal could reach through the snapshot's policies: roles it could assume (and,
//! transitively, what those roles could assume, across every account in the snapshot), users
//! whose access keys or console passwords it could create, and accounts whose IAM policies it
//! could change (then it may reach everything there: labelled, not enumerated). A user whose
//! credentials could be created lends its own permissions, so the search continues from it
//! (its roles count as reached through it).
//!
//! Assuming a role needs the role's trust policy to trust the caller. A trust policy naming
//! the caller's own ARN (or unique id) suffices in the same account; one naming the caller's
//! account (`arn:aws:iam::ACCT:root`, a bare id) or `*` needs an identity policy allowing
//! `sts:AssumeRole` on the role too; across accounts both are always needed. Service and
//! federated principals in a trust policy never count; `*` and `NotPrincipal` (everyone but
//! the named) count like the account, so the identity policy is needed too. A `Deny` in the
//! trust policy naming the caller wins. The caller's permissions boundary must
//! allow as well, and an explicit Deny in any of them wins. The search is breadth first over
//! sorted candidates with a visited set, so it terminates on cycles and its answer (the first,
//! shortest path to each role) is deterministic.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::policy::{Caller, Eval, Policy, Tri};
use super::{arn_parts, Doc, Role, RoleKind, Snapshot, User};

/// IAM actions that change who may do what in an account (resource type they act on).
const POLICY_CHANGE: &[(&str, Res)] = &[
    ("iam:PutUserPolicy", Res::User),
    ("iam:AttachUserPolicy", Res::User),
    ("iam:PutUserPermissionsBoundary", Res::User),
    ("iam:DeleteUserPermissionsBoundary", Res::User),
    ("iam:PutRolePolicy", Res::Role),
    ("iam:AttachRolePolicy", Res::Role),
    ("iam:UpdateAssumeRolePolicy", Res::Role),
    ("iam:PutRolePermissionsBoundary", Res::Role),
    ("iam:DeleteRolePermissionsBoundary", Res::Role),
    ("iam:PutGroupPolicy", Res::Group),
    ("iam:AttachGroupPolicy", Res::Group),
    ("iam:AddUserToGroup", Res::Group),
    ("iam:CreatePolicyVersion", Res::Policy),
    ("iam:SetDefaultPolicyVersion", Res::Policy),
];

/// IAM actions that give the caller a user's credentials.
const USER_CREDS: &[&str] =
    &["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"];

#[derive(Clone, Copy)]
enum Res {
    User,
    Role,
    Group,
    Policy,
}

/// The reach of one principal.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Reach {
    /// The principal asked about.
    pub principal: String,
    /// Whether the principal is in the snapshot (if not, everything else is empty).
    pub found: bool,
    /// Not in the snapshot, but its account is: the reach is that of a principal allowed
    /// everything there (an upper bound, every entry uncertain).
    pub upper_bound: bool,
    /// Roles it could assume, directly or through other roles; sorted by ARN.
    pub roles: Vec<ReachedRole>,
    /// Users whose credentials it (or a reached role) could create; sorted by ARN.
    pub users: Vec<ReachedUser>,
    /// Accounts whose IAM policies it (or a reached role) could change; sorted.
    pub policy_changes: Vec<PolicyChange>,
    /// What was not evaluated or could not be read (always names SCPs and session policies).
    pub notes: Vec<String>,
}

/// A role the principal could assume.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReachedRole {
    /// Role ARN.
    pub arn: String,
    /// Role account.
    pub account: String,
    /// Service-linked, Identity Center (F20) or ordinary.
    pub kind: RoleKind,
    /// The principal or role it is assumed from (first path found).
    pub via: String,
    /// 1 for roles the principal assumes itself, 2 for roles of those roles, …
    pub depth: usize,
    /// False when a condition on the path decides (see `labels`).
    pub certain: bool,
    /// `policy#sid` of the statements that allowed (identity, then trust).
    pub reasons: Vec<String>,
    /// Condition labels, and flags such as the role kind.
    pub labels: Vec<String>,
}

/// A user whose credentials the principal could create.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReachedUser {
    /// User ARN.
    pub arn: String,
    /// The principal or role that could do it (first found).
    pub via: String,
    /// Which of `iam:CreateAccessKey`, `iam:CreateLoginProfile`, `iam:UpdateLoginProfile`.
    pub actions: Vec<String>,
    /// False when a condition decides.
    pub certain: bool,
    /// `policy#sid` of the statements that allowed.
    pub reasons: Vec<String>,
    /// Condition labels.
    pub labels: Vec<String>,
}

/// An account whose IAM policies could be changed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PolicyChange {
    /// The account.
    pub account: String,
    /// The principal or role that could do it.
    pub via: String,
    /// The policy-changing actions allowed on some entity of the account.
    pub actions: Vec<String>,
    /// False when a condition decides.
    pub certain: bool,
    /// "may reach everything in account …".
    pub label: String,
}

/// A principal whose permissions are evaluated.
struct Node<'a> {
    arn: String,
    account: String,
    id: String,
    identity: Vec<(String, &'a Policy)>,
    boundary: Option<(String, &'a Policy)>,
    /// The boundary is set but cannot be read: every allow becomes uncertain.
    boundary_unknown: bool,
    certain: bool,
    depth: usize,
}

impl Node<'_> {
    fn eval(&self, action: &str, resource: &str) -> (Tri, Tri, Eval) {
        let mut e = Eval::default();
        for (name, p) in &self.identity {
            e.absorb(p.eval(name, action, resource));
        }
        let mut allow = e.allow;
        let mut deny = e.deny;
        if let Some((name, b)) = &self.boundary {
            let be = b.eval(name, action, resource);
            allow = allow.min(be.allow);
            deny = deny.max(be.deny);
            e.labels.extend(be.labels);
        }
        if self.boundary_unknown {
            allow = allow.min(Tri::Maybe);
            e.labels.push("permissions boundary unreadable".into());
        }
        (allow, deny, e)
    }

    /// What the permissions boundary alone allows (`Yes` without a boundary).
    fn boundary_allow(&self, action: &str, resource: &str) -> Tri {
        let mut t = Tri::Yes;
        if let Some((name, b)) = &self.boundary {
            t = b.eval(name, action, resource).allow;
        }
        if self.boundary_unknown {
            t = t.min(Tri::Maybe);
        }
        t
    }

    fn may(&self, action: &str) -> bool {
        self.identity.iter().any(|(_, p)| p.may_allow_action(action))
    }
}

fn label_kind(kind: RoleKind) -> Option<&'static str> {
    match kind {
        RoleKind::ServiceLinked => Some("service-linked role (cannot be edited)"),
        RoleKind::IdentityCenter => Some("Identity Center role (managed in Identity Center, F20)"),
        RoleKind::Ordinary => None,
    }
}

impl Snapshot {
    fn doc_of<'a>(&'a self, arn: &str, notes: &mut BTreeSet<String>) -> Option<&'a Policy> {
        match self.policies.get(arn).map(|p| &p.doc) {
            Some(Doc::Ok(p)) => Some(p),
            Some(Doc::Unreadable(_)) => {
                notes.insert(format!(
                    "managed policy {arn} unreadable: its permissions are unknown"
                ));
                None
            }
            None => {
                notes.insert(format!(
                    "managed policy {arn} not in the snapshot: its permissions are unknown"
                ));
                None
            }
        }
    }

    fn node<'a>(&'a self, arn: &str, notes: &mut BTreeSet<String>) -> Option<Node<'a>> {
        let mut identity = Vec::new();
        let (account, id, inline, attached, boundary, canonical) = if let Some(u) = self.user(arn) {
            for g in &u.groups {
                match self.accounts.get(&u.account).and_then(|a| a.groups.get(g)) {
                    Some(gr) => {
                        for p in &gr.inline {
                            match &p.doc {
                                Doc::Ok(d) => identity.push((format!("group/{g}:{}", p.name), d)),
                                Doc::Unreadable(_) => {
                                    notes.insert(format!(
                                        "inline policy {} of group {g} unreadable",
                                        p.name
                                    ));
                                }
                            }
                        }
                        for a in &gr.attached {
                            if let Some(d) = self.doc_of(a, notes) {
                                identity.push((a.clone(), d));
                            }
                        }
                    }
                    None => {
                        notes.insert(format!("group {g} of {} not in the snapshot", u.arn));
                    }
                }
            }
            (&u.account, &u.id, &u.inline, &u.attached, &u.boundary, &u.arn)
        } else if let Some(r) = self.role(arn) {
            (&r.account, &r.id, &r.inline, &r.attached, &r.boundary, &r.arn)
        } else {
            return None;
        };
        let short = canonical.rsplit('/').next().unwrap_or(canonical);
        for p in inline {
            match &p.doc {
                Doc::Ok(d) => identity.push((format!("{short}:{}", p.name), d)),
                Doc::Unreadable(_) => {
                    notes.insert(format!(
                        "inline policy {} of {canonical} unreadable: its permissions are unknown",
                        p.name
                    ));
                }
            }
        }
        for a in attached {
            if let Some(d) = self.doc_of(a, notes) {
                identity.push((a.clone(), d));
            }
        }
        let (boundary, boundary_unknown) = match boundary {
            None => (None, false),
            Some(b) => match self.doc_of(b, notes) {
                Some(d) => (Some((format!("boundary {b}"), d)), false),
                None => (None, true),
            },
        };
        Some(Node {
            arn: canonical.clone(),
            account: account.clone(),
            id: id.clone(),
            identity,
            boundary,
            boundary_unknown,
            certain: true,
            depth: 0,
        })
    }

    /// A principal the snapshot does not hold, in an account it does hold (a user the
    /// attacker made after the snapshot was taken): its own policies are unknown, so it is
    /// taken as allowed everything, never certain. `None` for an account the snapshot lacks.
    fn unknown_node(&self, arn: &str) -> Option<Node<'static>> {
        static ALL: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
        let (account, _) = arn_parts(arn)?;
        if !self.accounts.contains_key(account) {
            return None;
        }
        // A role's session stands for its role: a trust naming the role's ARN must find it.
        let role = super::role_key(arn).filter(|_| crate::chain::arn_is(arn, "assumed-role/")).map(
            |(a, name)| {
                format!(
                    "arn:{}:iam::{a}:role/{name}",
                    crate::chain::arn_partition(arn).unwrap_or("aws")
                )
            },
        );
        let arn = role.as_deref().unwrap_or(arn);
        let all = ALL.get_or_init(|| {
            let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "UnknownPrincipalUpperBound", "Effect": "Allow", "Action": "*", "Resource": "*"}
            ]});
            Policy::from_value(&doc).expect("a valid policy")
        });
        Some(Node {
            arn: arn.to_string(),
            account: account.to_string(),
            id: arn.to_string(),
            identity: vec![("not in the snapshot: taken as allowed everything".to_string(), all)],
            boundary: None,
            boundary_unknown: false,
            certain: false,
            depth: 0,
        })
    }

    /// Roles whose trust policy could name a caller, by the key it names them with (ARN,
    /// unique id, account id, `*`); roles with `NotPrincipal` under `""`.
    fn trust_index(&self) -> BTreeMap<&str, Vec<&Role>> {
        let mut idx: BTreeMap<&str, Vec<&Role>> = BTreeMap::new();
        for r in self.accounts.values().flat_map(|a| a.roles.values()) {
            let Doc::Ok(t) = &r.trust else { continue };
            for s in &t.statements {
                let Some(p) = &s.principals else { continue };
                if s.not_principal {
                    idx.entry("").or_default().push(r);
                    continue;
                }
                if p.any {
                    idx.entry("*").or_default().push(r);
                }
                for v in &p.aws {
                    let key = super::policy::account_root(v).unwrap_or(v);
                    idx.entry(key).or_default().push(r);
                }
            }
        }
        idx
    }

    /// The reach of `principal_arn` (an IAM user or role ARN, an assumed-role ARN or a unique
    /// id); see the module docs.
    pub fn reach(&self, principal_arn: &str) -> Reach {
        let mut notes = BTreeSet::new();
        notes.insert(
            "service control policies, resource control policies and session policies are not in \
             an IAM snapshot and were not evaluated: they can only make the reach smaller"
                .to_string(),
        );
        let mut out = Reach { principal: principal_arn.to_string(), ..Reach::default() };
        let start = match self.node(principal_arn, &mut notes) {
            Some(start) => {
                out.found = true;
                start
            }
            None => match self.unknown_node(principal_arn) {
                Some(start) => {
                    out.upper_bound = true;
                    notes.insert(format!(
                        "{principal_arn} is not in the snapshot (made or renamed after it was taken?): evaluated as if its policies allowed everything in account {}, an upper bound",
                        start.account
                    ));
                    start
                }
                None => {
                    notes.insert(format!("{principal_arn} is not in the snapshot"));
                    out.notes = notes.into_iter().collect();
                    return out;
                }
            },
        };
        let unreadable_trust = self
            .accounts
            .values()
            .flat_map(|a| a.roles.values())
            .filter(|r| matches!(r.trust, Doc::Unreadable(_)))
            .count();
        if unreadable_trust > 0 {
            notes.insert(format!(
                "{unreadable_trust} role(s) with an unreadable trust policy were not considered"
            ));
        }
        // The roles each trust names and, per account, the users not reached yet: both shrink
        // as they are reached, so a node looks only at what is still unreached (an admin that
        // reached every user and role leaves nothing for the next node to look through;
        // walking them all at each node was O(nodes²) per principal).
        let mut idx = self.trust_index();
        let mut pending_users: BTreeMap<String, Vec<&User>> = BTreeMap::new();
        let mut roles: BTreeMap<String, ReachedRole> = BTreeMap::new();
        let mut users: BTreeMap<String, ReachedUser> = BTreeMap::new();
        let mut changes: Vec<PolicyChange> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        seen.insert(start.arn.clone());
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            self.outside_accounts(&n, &mut notes);
            // A user whose key or password could be created lends its permissions too.
            for arn in self.user_creds(&n, &mut pending_users, &mut users) {
                if seen.insert(arn.clone()) {
                    if let Some(mut next) = self.node(&arn, &mut notes) {
                        next.certain = users[&arn].certain;
                        next.depth = n.depth + 1;
                        queue.push_back(next);
                    }
                }
            }
            if let Some(c) = self.policy_change(&n) {
                changes.push(c);
            }
            // Without an identity allow of sts:AssumeRole, only a same-account trust naming
            // the node itself can let it in: account-level trusts need the identity policy.
            let may = n.may("sts:AssumeRole");
            let keys = [n.arn.as_str(), n.id.as_str(), n.account.as_str(), "*", ""];
            let mut cands: Vec<&Role> = Vec::new();
            for key in keys.into_iter().take(if may { 5 } else { 2 }) {
                if let Some(v) = idx.get_mut(key) {
                    v.retain(|r| !seen.contains(&r.arn));
                    cands.extend(v.iter().copied().filter(|r| may || r.account == n.account));
                }
            }
            cands.sort_by(|a, b| a.arn.cmp(&b.arn));
            cands.dedup_by(|a, b| a.arn == b.arn);
            for r in cands {
                if seen.contains(&r.arn) {
                    continue;
                }
                let Some((certain, reasons, labels)) = self.can_assume(&n, r) else { continue };
                seen.insert(r.arn.clone());
                let mut labels = labels;
                if let Some(l) = label_kind(r.kind) {
                    labels.push(l.to_string());
                }
                if RoleKind::sso_lookalike(&r.path, &r.name) {
                    labels.push(
                        "named like an Identity Center role but not under \
                         /aws-reserved/sso.amazonaws.com/: an ordinary IAM role (F20)"
                            .to_string(),
                    );
                }
                let certain = certain && n.certain;
                roles.insert(
                    r.arn.clone(),
                    ReachedRole {
                        arn: r.arn.clone(),
                        account: r.account.clone(),
                        kind: r.kind,
                        via: n.arn.clone(),
                        depth: n.depth + 1,
                        certain,
                        reasons,
                        labels,
                    },
                );
                if let Some(mut next) = self.node(&r.arn, &mut notes) {
                    next.certain = certain;
                    next.depth = n.depth + 1;
                    queue.push_back(next);
                }
            }
        }
        out.roles = roles.into_values().collect();
        out.users = users.into_values().collect();
        changes.sort_by(|a, b| (&a.account, &a.via).cmp(&(&b.account, &b.via)));
        out.policy_changes = changes;
        out.notes = notes.into_iter().collect();
        out
    }

    /// Whether `n` can assume `r`: (certain, reasons, labels), or `None`.
    fn can_assume(&self, n: &Node<'_>, r: &Role) -> Option<(bool, Vec<String>, Vec<String>)> {
        let Doc::Ok(trust) = &r.trust else { return None };
        let caller = Caller { arn: &n.arn, account: &n.account, id: &n.id };
        let (direct, acct) =
            trust.eval_trust(&format!("trust {}", r.arn), "sts:AssumeRole", caller);
        let (id_allow, id_deny, id) = n.eval("sts:AssumeRole", &r.arn);
        let mut allow = if n.account == r.account {
            direct.allow.max(acct.allow.min(id_allow))
        } else {
            direct.allow.max(acct.allow).min(id_allow)
        };
        // The boundary caps even a direct trust (IAM User Guide, "Update a role trust policy").
        allow = allow.min(n.boundary_allow("sts:AssumeRole", &r.arn));
        let deny = id_deny.max(direct.deny);
        if allow == Tri::No || deny == Tri::Yes {
            return None;
        }
        let mut reasons = id.reasons;
        reasons.extend(direct.reasons);
        reasons.extend(acct.reasons);
        let mut labels = id.labels;
        for l in direct.labels.into_iter().chain(acct.labels) {
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
        Some((allow == Tri::Yes && deny == Tri::No, reasons, labels))
    }

    /// Users of `n`'s account whose credentials `n` could create (the new ones returned), among
    /// `pending`: each account's users not in `users` yet, in name order (filled on first use).
    fn user_creds<'s>(
        &'s self,
        n: &Node<'_>,
        pending: &mut BTreeMap<String, Vec<&'s User>>,
        users: &mut BTreeMap<String, ReachedUser>,
    ) -> Vec<String> {
        let mut new = Vec::new();
        let acts: Vec<&str> = USER_CREDS.iter().copied().filter(|a| n.may(a)).collect();
        if acts.is_empty() {
            return new;
        }
        let Some(acct) = self.accounts.get(&n.account) else { return new };
        let pending =
            pending.entry(n.account.clone()).or_insert_with(|| acct.users.values().collect());
        pending.retain(|u| {
            let mut hit = ReachedUser {
                arn: u.arn.clone(),
                via: n.arn.clone(),
                actions: Vec::new(),
                certain: n.certain,
                reasons: Vec::new(),
                labels: Vec::new(),
            };
            for a in &acts {
                let (allow, deny, e) = n.eval(a, &u.arn);
                if allow == Tri::No || deny == Tri::Yes {
                    continue;
                }
                hit.actions.push((*a).to_string());
                hit.certain &= allow == Tri::Yes && deny == Tri::No;
                hit.reasons.extend(e.reasons);
                hit.labels.extend(e.labels);
            }
            if hit.actions.is_empty() {
                return true;
            }
            hit.reasons.dedup();
            hit.labels.sort();
            hit.labels.dedup();
            new.push(u.arn.clone());
            users.insert(u.arn.clone(), hit);
            false
        });
        new
    }

    /// Whether `n` could change IAM policies in its own account.
    fn policy_change(&self, n: &Node<'_>) -> Option<PolicyChange> {
        let acct = self.accounts.get(&n.account)?;
        let mut actions = Vec::new();
        let mut certain = n.certain;
        for (a, res) in POLICY_CHANGE {
            if !n.may(a) {
                continue;
            }
            // Walked lazily: the first resource allowed for certain ends the walk (collecting
            // every user's ARN first cost O(users) per node).
            let arns: Box<dyn Iterator<Item = &str>> = match res {
                Res::User => Box::new(acct.users.values().map(|u| u.arn.as_str())),
                Res::Role => Box::new(acct.roles.values().map(|r| r.arn.as_str())),
                Res::Group => Box::new(acct.groups.values().map(|g| g.arn.as_str())),
                Res::Policy => Box::new(
                    self.policies
                        .keys()
                        .filter(|k| arn_parts(k).is_some_and(|(x, _)| x == n.account))
                        .map(String::as_str),
                ),
            };
            let mut best = Tri::No;
            for arn in arns {
                let (allow, deny, _) = n.eval(a, arn);
                if deny == Tri::Yes {
                    continue;
                }
                best = best.max(if deny == Tri::No { allow } else { allow.min(Tri::Maybe) });
                if best == Tri::Yes {
                    break;
                }
            }
            if best != Tri::No {
                certain &= best == Tri::Yes;
                actions.push((*a).to_string());
            }
        }
        if actions.is_empty() {
            return None;
        }
        Some(PolicyChange {
            account: n.account.clone(),
            via: n.arn.clone(),
            label: format!(
                "may reach everything in account {}: {} can change its IAM policies ({})",
                n.account,
                n.arn,
                actions.join(", ")
            ),
            actions,
            certain,
        })
    }

    /// Notes identity statements allowing `sts:AssumeRole` into accounts not in the snapshot.
    fn outside_accounts(&self, n: &Node<'_>, notes: &mut BTreeSet<String>) {
        for (name, p) in &n.identity {
            for s in &p.statements {
                if s.effect != super::policy::Effect::Allow
                    || s.not_resource
                    || !s.matches_action("sts:assumerole")
                {
                    continue;
                }
                for r in s.resources.iter().flatten() {
                    if let Some((acct, _)) = arn_parts(r) {
                        if !acct.contains(['*', '?'])
                            && !acct.is_empty()
                            && !self.accounts.contains_key(acct)
                        {
                            notes.insert(format!(
                                "{name} (of {}) allows sts:AssumeRole into account {acct}, not in the snapshot",
                                n.arn
                            ));
                        }
                    }
                }
            }
        }
    }
}

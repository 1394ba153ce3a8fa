//! The unseen tail, contained (issue #20): what the tainted credentials still alive after the
//! evidence ends could reach, according to the IAM snapshot given with `--iam`.
//!
//! The trail shows what tainted credentials did up to the last delivered log; it cannot show
//! what a live one did since, nor what it can still do before the plan is applied (SPEC §9,
//! the unseen tail). With a snapshot (`aws iam get-account-authorization-details`, one file per
//! account, see [`crate::iam`]), each unseen-tail credential's principal is evaluated
//! ([`crate::iam::Snapshot::reach`]): the roles it could assume (transitively, across the
//! accounts in the snapshot), the users whose keys or passwords it could create, and the
//! accounts whose IAM policies it could change. [`reachable`] gathers that per principal and
//! as one set, marks each role the evidence shows the attacker using, and rewrites each tail
//! entry's reason with what the snapshot says.
//!
//! Which principal a credential acts as: a long-term key, its IAM user; a role session, its
//! role; a GetSessionToken session, its user; a federated-user session, the IAM user that
//! minted it (an upper bound: its session policy may narrow it, labelled). Root's own
//! credentials are not evaluated: no IAM policy bounds root (F11); that is said in the notes.

use crate::chain::{NodeKind, SessionGraph};
use crate::iam::{role_key, RoleKind, Snapshot, SnapshotProblem};
use crate::taint::TailRisk;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A loaded `--iam` snapshot with the files it came from.
#[derive(Debug, Clone)]
pub struct Iam {
    pub snapshot: Snapshot,
    pub files: Vec<PathBuf>,
    pub problems: Vec<SnapshotProblem>,
}

/// Loads the `--iam` files; `None` when none were given. Bad files are problems, never fatal.
pub fn load(files: &[PathBuf]) -> Option<Iam> {
    if files.is_empty() {
        return None;
    }
    let (snapshot, problems) = crate::iam::load(files);
    Some(Iam { snapshot, files: files.to_vec(), problems })
}

/// Facts instead of guesses: a role session whose role the evidence names only by its session
/// ARN (no path: the issuing call's `roleArn` and the session's own `sessionIssuer` both
/// missing) gets the role's ARN, with its path, from the snapshot. The path is what tells a
/// service-linked (F6) or Identity Center (F20) role from an ordinary one, so the plan and
/// `verify` do not put a deny IAM would refuse on it. What the evidence shows is never
/// replaced. Returns how many sessions were completed.
pub fn fill_role_arns(iam: &Iam, g: &mut SessionGraph) -> usize {
    let mut filled = 0;
    for n in g.nodes.iter_mut().filter(|n| n.kind == NodeKind::Session && n.role_arn.is_none()) {
        let Some(arn) =
            n.principal_arn.as_deref().filter(|a| crate::chain::arn_is(a, "assumed-role/"))
        else {
            continue;
        };
        let want = role_key(arn);
        let found = iam.snapshot.role(arn).and_then(|r| r.consistent_arn());
        if let Some(r) = found.filter(|r| want.is_some() && role_key(r) == want) {
            n.role_arn = Some(r.to_string());
            filled += 1;
        }
    }
    filled
}

/// The `--iam` arguments of a command: directories are expanded to the files under them, at
/// any depth (sorted; hidden ones left out), and the snapshot is loaded; with `strict`, the first problem is fatal.
///
/// # Errors
/// `--strict` and a problem; a directory that cannot be listed or that holds no file.
pub fn load_args(args: &[PathBuf], strict: bool) -> anyhow::Result<Option<Iam>> {
    let mut files = Vec::new();
    for a in args {
        if a.is_dir() {
            // Every file under it, at any depth (one folder per account is a common layout):
            // a snapshot left out is reach read as none.
            let mut inside = Vec::new();
            let mut dirs = vec![a.clone()];
            while let Some(d) = dirs.pop() {
                let failed = |e: std::io::Error| {
                    anyhow::anyhow!(
                        "--iam {}: {e}",
                        crate::escape::one_line(&d.display().to_string())
                    )
                };
                for e in std::fs::read_dir(&d).map_err(failed)? {
                    let p = e.map_err(failed)?.path();
                    // Hidden files and folders (`.DS_Store`, `.git`) are no snapshot's.
                    if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
                        continue;
                    }
                    if p.is_dir() {
                        dirs.push(p);
                    } else if p.is_file() {
                        inside.push(p);
                    }
                }
            }
            inside.sort();
            if inside.is_empty() {
                anyhow::bail!(
                    "--iam {}: no files in it: give the folder that holds the snapshot's files",
                    crate::escape::one_line(&a.display().to_string())
                );
            }
            files.extend(inside);
        } else {
            files.push(a.clone());
        }
    }
    let Some(iam) = load(&files) else { return Ok(None) };
    if let (true, Some(p)) = (strict, iam.problems.first()) {
        anyhow::bail!(
            "--strict: unreadable IAM snapshot {}: {}",
            crate::escape::one_line(&p.file.display().to_string()),
            crate::escape::one_line(&p.message)
        );
    }
    Ok(Some(iam))
}

/// What the selected credentials still valid after the evidence ends could reach (`sessions
/// --iam`): [`reachable`] over the unseen tail of `selected`.
pub fn reachable_of_selection(
    iam: &Iam,
    ing: &crate::ingest::Ingest,
    g: &SessionGraph,
    selected: &BTreeSet<usize>,
) -> Reachable {
    let windows = crate::taint::evidence_window(ing);
    let mut tail =
        crate::taint::unseen_tail(g, selected, &windows, |n| crate::chain::session_expiry(g, n));
    reachable(iam, g, selected, &mut tail)
}

/// A snapshot file that could not be (fully) used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    pub problem: String,
}

/// One principal of the unseen tail.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PrincipalReach {
    /// The IAM user or role ARN evaluated.
    pub principal: String,
    /// The unseen-tail credentials acting as it.
    pub credentials: Vec<String>,
    /// False when the snapshot does not hold it (its reach is unknown, unless `upper_bound`).
    pub in_snapshot: bool,
    /// Not in the snapshot, but its account is: reach taken as that of a principal allowed
    /// everything there (a user made after the snapshot was taken).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub upper_bound: bool,
    pub roles: usize,
    pub users: usize,
    /// Accounts whose IAM policies it could change.
    pub policy_change_accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// A role some unseen-tail principal could assume.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleReach {
    pub arn: String,
    pub account_id: String,
    /// `ordinary`, `service_linked` (F6) or `identity_center` (F20).
    pub kind: String,
    /// True when the evidence shows a tainted session of this role.
    pub used: bool,
    /// False when a policy condition decides (see `labels`).
    pub certain: bool,
    /// The unseen-tail principals that reach it.
    pub from: Vec<String>,
    /// The principal or role it is first assumed from, and how many hops from `from`.
    pub via: String,
    pub depth: usize,
    /// `policy#sid` of the statements that allow it.
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// A user whose access keys or password some unseen-tail principal could create.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserReach {
    pub arn: String,
    pub actions: Vec<String>,
    pub certain: bool,
    pub from: Vec<String>,
    pub via: String,
    /// Its access key ids at snapshot time (`null`: unknown, no `list-access-keys` output, or
    /// only a credential report, which has no key ids).
    pub keys_at_snapshot: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// An account whose IAM policies some unseen-tail principal could change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangeReach {
    pub account_id: String,
    pub actions: Vec<String>,
    pub certain: bool,
    pub from: Vec<String>,
    pub via: String,
    pub label: String,
}

/// What the unseen tail could reach (module docs).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reachable {
    /// The snapshot files given.
    pub snapshot_files: Vec<String>,
    pub problems: Vec<FileProblem>,
    pub principals: Vec<PrincipalReach>,
    /// Every role reached, by ARN.
    pub roles: Vec<RoleReach>,
    pub users: Vec<UserReach>,
    pub policy_changes: Vec<ChangeReach>,
    pub notes: Vec<String>,
}

impl Reachable {
    /// Roles reached that the evidence does not show in use.
    pub fn unused_roles(&self) -> impl Iterator<Item = &RoleReach> {
        self.roles.iter().filter(|r| !r.used)
    }
}

fn kind_name(k: RoleKind) -> &'static str {
    match k {
        RoleKind::Ordinary => "ordinary",
        RoleKind::ServiceLinked => "service_linked",
        RoleKind::IdentityCenter => "identity_center",
    }
}

/// The principal a credential acts as (module docs), with a label when it is an upper bound;
/// `Err` with the reason when it is not evaluated.
fn principal_of(g: &SessionGraph, n: usize) -> Result<(String, Option<String>), String> {
    let node = &g.nodes[n];
    if node.root_derived || node.principal_type.as_deref() == Some("Root") {
        return Err(format!(
            "{}: root credentials are not bounded by IAM policies (F11): they could reach everything",
            node.id
        ));
    }
    if node.kind == NodeKind::Session {
        if let Some(r) = &node.role_arn {
            return Ok((r.clone(), None));
        }
        if node.principal_type.as_deref() == Some("FederatedUser") {
            if let Some(u) = &node.user_arn {
                return Ok((
                    u.clone(),
                    Some(format!(
                        "federated session {}: evaluated as the user that minted it (its session policy may narrow it)",
                        node.id
                    )),
                ));
            }
        }
    }
    match &node.principal_arn {
        Some(p)
            if crate::chain::arn_is(p, "user/")
                || crate::chain::arn_is(p, "assumed-role/")
                || crate::chain::arn_is(p, "role/") =>
        {
            Ok((p.clone(), None))
        }
        _ => Err(format!("{}: the principal it acts as is not known from the logs", node.id)),
    }
}

/// Whether the trail shows role `name` of `account` deleted, and not made again since.
fn deleted(g: &SessionGraph, account: &str, name: &str) -> bool {
    let same = |a: &str, n: &str| a == account && n.eq_ignore_ascii_case(name);
    let Some(gone) =
        g.role_deletions.iter().filter(|d| same(&d.account_id, &d.user_name)).map(|d| d.time).max()
    else {
        return false;
    };
    !g.role_grants.iter().any(|c| {
        c.event_name == "CreateRole" && c.time >= gone && same(&c.account_id, &c.user_name)
    })
}

/// What the unseen tail could reach through `iam` (module docs); each entry of `tail` gets the
/// snapshot's answer as its reason.
pub fn reachable(
    iam: &Iam,
    g: &SessionGraph,
    tainted: &BTreeSet<usize>,
    tail: &mut [TailRisk],
) -> Reachable {
    // A session's role: its role ARN, or the role its assumed-role ARN names.
    let role_of = |n: usize| {
        let node = &g.nodes[n];
        (node.kind == NodeKind::Session)
            .then(|| {
                node.role_arn.as_deref().or(node
                    .principal_arn
                    .as_deref()
                    .filter(|a| crate::chain::arn_is(a, "assumed-role/")))
            })
            .flatten()
    };
    // Each role the evidence shows in use, once: `(account, name)` to the first ARN naming it.
    let mut used: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for arn in tainted.iter().filter_map(|&n| role_of(n)) {
        if let Some(k) = role_key(arn) {
            used.entry(k).or_insert(arn);
        }
    }
    let mut notes: BTreeSet<String> = BTreeSet::new();
    let mut by_principal: BTreeMap<String, (Vec<usize>, Vec<String>)> = BTreeMap::new();
    for (i, t) in tail.iter().enumerate() {
        let Some(n) = g.node(&t.credential) else { continue };
        match principal_of(g, n) {
            Ok((p, label)) => {
                let e = by_principal.entry(p).or_default();
                e.0.push(i);
                e.1.extend(label);
            }
            Err(why) => {
                notes.insert(why);
            }
        }
    }
    // Every principal of the tail, evaluated. Then the roles the evidence shows in use that
    // none of them reaches through the snapshot: the snapshot lacks the role (an account left
    // out, an older export) or does not let the tail in (an older export, before the attacker
    // changed the role's trust), yet the logs show a tainted credential assumed it, so the tail
    // could again. Each is evaluated as a principal of its own (allowed everything where its
    // account is held but it is not, `iam::reach`; not contained where its account is not) and
    // listed as a used role, which the precaution denies whole unless the evidence's actions
    // do (reviews: such roles were neither denied nor counted, plan 0 and verify OK). A role
    // the trail shows deleted (and not made again since) has nothing left to deny.
    let mut evaluated: Vec<(String, Vec<usize>, Vec<String>, crate::iam::Reach)> = by_principal
        .into_iter()
        .map(|(p, (tails, labels))| {
            let r = iam.snapshot.reach(&p);
            (p, tails, labels, r)
        })
        .collect();
    let mut missing: BTreeMap<String, RoleReach> = BTreeMap::new();
    if !evaluated.is_empty() {
        let reached: BTreeSet<(String, String)> = evaluated
            .iter()
            .flat_map(|e| e.3.roles.iter())
            .filter_map(|x| role_key(&x.arn))
            .map(|(a, n)| (a.to_string(), n.to_ascii_lowercase()))
            .collect();
        for (&(account, name), &arn) in &used {
            if reached.contains(&(account.to_string(), name.to_ascii_lowercase()))
                || deleted(g, account, name)
            {
                continue;
            }
            let partition = crate::chain::arn_partition(arn).unwrap_or("aws");
            let held = iam.snapshot.role_in(account, name);
            let path = match held {
                Some(r) => r.path.clone(),
                None => crate::chain::after_segment(arn, "role/")
                    .map(|rest| {
                        rest.rsplit_once('/').map_or("/".to_string(), |(p, _)| format!("/{p}/"))
                    })
                    .unwrap_or_else(|| "/".to_string()),
            };
            let role_arn = match held {
                Some(r) => r.arn.clone(),
                None => format!("arn:{partition}:iam::{account}:role{path}{name}"),
            };
            if missing.contains_key(&role_arn) || evaluated.iter().any(|e| e.0 == role_arn) {
                continue;
            }
            missing.insert(
                role_arn.clone(),
                RoleReach {
                    arn: role_arn.clone(),
                    account_id: account.to_string(),
                    kind: kind_name(held.map_or(RoleKind::of(&path), |r| r.kind)).into(),
                    used: true,
                    certain: true,
                    from: Vec::new(),
                    via: if held.is_some() {
                        "the evidence (the IAM snapshot does not let the tail in)".into()
                    } else {
                        "the evidence (not in the IAM snapshot)".into()
                    },
                    depth: 0,
                    reasons: Vec::new(),
                    labels: vec![if held.is_some() {
                        "used in the evidence, not reachable per the IAM snapshot".into()
                    } else {
                        "not in the IAM snapshot".into()
                    }],
                },
            );
            let r = iam.snapshot.reach(&role_arn);
            evaluated.push((role_arn, Vec::new(), Vec::new(), r));
        }
    }
    let mut principals = Vec::new();
    let mut roles: BTreeMap<String, RoleReach> = BTreeMap::new();
    let mut users: BTreeMap<String, UserReach> = BTreeMap::new();
    let mut changes: BTreeMap<String, ChangeReach> = BTreeMap::new();
    for (p, tails, labels, r) in &evaluated {
        notes.extend(r.notes.iter().cloned());
        for x in &r.roles {
            let is_used = role_key(&x.arn).is_some_and(|k| used.contains_key(&k));
            let e = roles.entry(x.arn.clone()).or_insert_with(|| RoleReach {
                arn: x.arn.clone(),
                account_id: x.account.clone(),
                kind: kind_name(x.kind).into(),
                used: is_used,
                certain: x.certain,
                from: Vec::new(),
                via: x.via.clone(),
                depth: x.depth,
                reasons: x.reasons.clone(),
                labels: x.labels.clone(),
            });
            e.certain |= x.certain;
            e.from.push(p.clone());
        }
        for u in &r.users {
            let known = iam
                .snapshot
                .user(&u.arn)
                .and_then(|s| s.access_keys.as_ref())
                // Keys without ids (a credential report) do not make a list of ids: unknown.
                .and_then(|ks| ks.iter().map(|k| k.id.clone()).collect::<Option<Vec<_>>>());
            let e = users.entry(u.arn.clone()).or_insert_with(|| UserReach {
                arn: u.arn.clone(),
                actions: u.actions.clone(),
                certain: u.certain,
                from: Vec::new(),
                via: u.via.clone(),
                keys_at_snapshot: known,
                labels: u.labels.clone(),
            });
            e.certain |= u.certain;
            e.from.push(p.clone());
        }
        for c in &r.policy_changes {
            let e = changes.entry(c.account.clone()).or_insert_with(|| ChangeReach {
                account_id: c.account.clone(),
                actions: c.actions.clone(),
                certain: c.certain,
                from: Vec::new(),
                via: c.via.clone(),
                label: c.label.clone(),
            });
            e.certain |= c.certain;
            e.from.push(p.clone());
        }
        let change_accounts: Vec<String> = r
            .policy_changes
            .iter()
            .map(|c| c.account.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let unused = r
            .roles
            .iter()
            .filter(|x| !role_key(&x.arn).is_some_and(|k| used.contains_key(&k)))
            .count();
        let reason = if !r.found && !r.upper_bound {
            "its principal is not in the IAM snapshot: its rights are unknown; it may have minted credentials after the last event".to_string()
        } else {
            let mut s = format!(
                "{} it could assume {} role(s) ({unused} not used in the evidence) and create credentials of {} user(s)",
                if r.upper_bound {
                    "its principal is not in the IAM snapshot (made after it was taken?): taken as allowed everything in its account, at most"
                } else {
                    "per the IAM snapshot"
                },
                r.roles.len(),
                r.users.len()
            );
            if !change_accounts.is_empty() {
                s.push_str(&format!(
                    ", and change IAM policies in account(s) {} (then it may reach everything there)",
                    change_accounts.join(", ")
                ));
            }
            // What the reach does not follow (docs/iam-snapshot.md): a review read "0 role(s)"
            // of a session that could pass a role to a Lambda function it made.
            s.push_str(": what it did with them after the last event is not in the logs (routes through a service are not counted: a role passed to a function, instance or stack it makes, a function's code it changes, a user's service-specific credentials or SSH keys; docs/iam-snapshot.md)");
            s
        };
        for &i in tails {
            tail[i].reason = reason.clone();
        }
        principals.push(PrincipalReach {
            principal: p.clone(),
            credentials: tails.iter().map(|&i| tail[i].credential.clone()).collect(),
            in_snapshot: r.found,
            upper_bound: r.upper_bound,
            roles: r.roles.len(),
            users: r.users.len(),
            policy_change_accounts: change_accounts,
            labels: labels.clone(),
        });
    }
    for (arn, r) in missing {
        roles.entry(arn).or_insert(r);
    }
    let mut roles: Vec<RoleReach> = roles.into_values().collect();
    for r in &mut roles {
        r.from.dedup();
    }
    let mut users: Vec<UserReach> = users.into_values().collect();
    for u in &mut users {
        u.from.dedup();
    }
    let mut policy_changes: Vec<ChangeReach> = changes.into_values().collect();
    for c in &mut policy_changes {
        c.from.dedup();
    }
    Reachable {
        snapshot_files: iam.files.iter().map(|f| f.display().to_string()).collect(),
        problems: iam
            .problems
            .iter()
            .map(|p| FileProblem { file: p.file.display().to_string(), problem: p.message.clone() })
            .collect(),
        principals,
        roles,
        users,
        policy_changes,
        notes: notes.into_iter().collect(),
    }
}

/// The reachable set as text lines (blast's table, plan's summary).
pub fn render(r: &Reachable) -> String {
    use std::fmt::Write;
    let one = |s: &str| crate::escape::one_line(s).into_owned();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Reachable from the unseen tail (IAM snapshot: {} file(s), {} problem(s))",
        r.snapshot_files.len(),
        r.problems.len()
    );
    for p in &r.principals {
        let _ = writeln!(
            o,
            "  {}{}: {} role(s), {} user(s){}",
            one(&p.principal),
            if p.in_snapshot { "" } else { " (not in the snapshot)" },
            p.roles,
            p.users,
            if p.policy_change_accounts.is_empty() {
                String::new()
            } else {
                format!(
                    ", can change IAM policies in {}",
                    one(&p.policy_change_accounts.join(", "))
                )
            }
        );
    }
    for x in &r.roles {
        let _ = writeln!(
            o,
            "  role {} [{}{}{}] via {}",
            one(&x.arn),
            if x.used { "used" } else { "not used in the evidence" },
            if x.certain { "" } else { ", conditional" },
            if x.kind == "ordinary" { String::new() } else { format!(", {}", x.kind) },
            one(&x.via)
        );
    }
    for u in &r.users {
        let _ = writeln!(
            o,
            "  user {}: {} via {}",
            one(&u.arn),
            one(&u.actions.join(", ")),
            one(&u.via)
        );
    }
    for c in &r.policy_changes {
        let _ = writeln!(o, "  account {}: {}", one(&c.account_id), one(&c.label));
    }
    for p in &r.problems {
        let _ = writeln!(o, "  problem: {}: {}", one(&p.file), one(&p.problem));
    }
    o
}

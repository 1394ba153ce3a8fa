//! The revocation plan (SPEC §5): the smallest set of actions that cuts off every tainted
//! credential still alive, as a versioned JSON document (`trailhound.plan/v1`).
//!
//! Facts that drive the rules (reference/IAM-REVOCATION.md):
//! * Temporary credentials cannot be revoked, only denied (F12); the deny keys on
//!   `aws:TokenIssueTime` (F5), which long-term keys do not carry, so leaked and
//!   attacker-created `AKIA` keys are *deactivated* instead, first, so nothing new is minted.
//! * A role session is denied on its role in the role's account; GetSessionToken and
//!   GetFederationToken sessions on the calling IAM user (F7). Every hop of a chain is its own
//!   principal with its own issue time, so each needs its own statement (F5).
//! * `strict` = the AWSRevokeOlderSessions shape (F6); `surgical` narrows it with `aws:userid`
//!   (F9), falling back to strict where `aws:userid` cannot separate sessions (GetSessionToken,
//!   console sessions of a user) or where the policy would exceed the size limit (F8).
//! * Root-derived sessions (F11), service-linked roles (F6) and Identity Center roles (F20)
//!   cannot be denied by an IAM policy: they are listed under `unrevocable`, with the time
//!   until which they stay valid.
//! * A session whose expiry (the `expiration` of its issuing call, else the maximum lifetime
//!   of its kind, F12/F4) is not after `effective_at` needs no statement.
//!
//! The document is deterministic: principals and actions are sorted, JSON keys are ordered,
//! and `generated_at` honours `SOURCE_DATE_EPOCH`.
//!
//! Layout: this module builds the plan ([`build_plan`]); `model` holds the serialized plan
//! document, `targets` where a deny is attached and what cannot be denied, `policy` the deny
//! statements and their offline evaluation, `commands` the AWS CLI command of each action
//! type, `script` the `plan.sh` rendering, and [`verify`] the independent check of a plan.

pub mod verify;

mod commands;
mod eks;
mod guard;
mod model;
mod othercreds;
mod policy;
mod precaution;
mod principals;
mod reviews;
mod roles;
mod room;
mod script;
mod targets;
mod tocheck;
mod unfollowed;
mod users;

pub use commands::{command_is_safe, expected_words};
pub use model::{
    Action, ActionKind, CredentialKind, CredentialStatus, Plan, PlanCredential, PlanInputs,
    PlanTainted, Strategy, Summary, Unrevocable,
};
pub use policy::{policy_size, session_userid, statement_matches};
pub use precaution::apply as apply_snapshot;
pub use room::TrailRooms;
pub use script::render_script;
pub use targets::{
    attach_target, blocker_reason, role_blocker, sessions_by_target, Blocker, SessionsByTarget,
    Target, TargetKind,
};

use crate::blast::BlastRadius;
use crate::chain::Workload;
use crate::chain::{session_expiry, NodeKind, SessionGraph};
use crate::escape::{one_line, shell_word};
use crate::ingest::Ingest;
use crate::time::{fmt_iso, parse_iso, Time};
use commands::{checked, rank, review};
use policy::{
    any_matches, deny_statement, launch_statement, userid_pattern, FUNCTION_SID, LAUNCH_SID,
    RENEWAL,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Schema id of the plan file.
pub const SCHEMA: &str = "trailhound.plan/v1";
/// Inline policy size limits without whitespace (F8).
pub const USER_POLICY_LIMIT: usize = 2048;
/// Role inline policy size limit (F8).
pub const ROLE_POLICY_LIMIT: usize = 10240;

/// An IAM user as the plan's maps key it: (account, name in lower case). IAM names a user
/// without regard to case (`BOB` and `bob` are one user), and records may spell it either way.
pub(super) fn who(account: &str, user: &str) -> (String, String) {
    (account.to_string(), user.to_ascii_lowercase())
}

/// The characters all inline policies of a role (`true`) or a user may hold together (F8).
pub fn inline_limit(role: bool) -> usize {
    if role {
        ROLE_POLICY_LIMIT
    } else {
        USER_POLICY_LIMIT
    }
}
/// Policy name used by the strict strategy, before its digest ([`deny_name`]).
pub const STRICT_POLICY_NAME: &str = "TrailhoundRevokeOlderSessions";
/// Policy name used by the surgical strategy, before its digest ([`deny_name`]).
pub const SURGICAL_POLICY_NAME: &str = "TrailhoundRevokeTaintedSessions";

/// The name of an inline deny of the strict or surgical shape: the shape's name, a dash, and
/// eight hex digits of the SHA-256 of the policy document as first planned. `PutRolePolicy`
/// and `PutUserPolicy` replace a policy of the same name, so under one fixed name a second
/// plan (for a second leaked key, or with another cut-off) replaced the first plan's deny when
/// applied after it, leaving the first plan's sessions un-denied while each plan's `verify`
/// said OK (a review). A plan made again from the same evidence writes the same name and
/// replaces only its own deny; denies of different content are kept side by side. What an
/// earlier plan's deny takes of the principal's inline room (F8) is counted from the IAM
/// snapshot, as any other policy's (the trail's puts counted are the tainted credentials').
fn deny_name(shape: &str, doc: &serde_json::Value) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(doc.to_string().as_bytes());
    format!("{shape}-{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
}

/// The shape's name of a deny [`deny_name`] named (the name itself otherwise).
pub(super) fn shape_name(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((shape, d))
            if (shape == STRICT_POLICY_NAME || shape == SURGICAL_POLICY_NAME)
                && d.len() == 8
                && d.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            shape
        }
        _ => name,
    }
}

/// Persistence calls on a user that make `DeleteUser` fail (DeleteConflict) until undone, and
/// that the plan cannot undo by name from the evidence alone.
pub(crate) const BLOCKS_DELETE_USER: &[&str] = &[
    "EnableMFADevice",
    "UploadSSHPublicKey",
    "CreateServiceSpecificCredential",
    "UploadSigningCertificate",
];

/// Name of the deny-all policy put on users the attacker controls (SPEC §9).
pub const DENY_ALL_POLICY_NAME: &str = "TrailhoundDenyAll";

/// Options of the planner.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub strategy: Strategy,
    /// Cut-off; `None` = max(now, newest tainted issue time + 1 s) (F14).
    pub effective_at: Option<i64>,
    /// "Now" (unix seconds): the generation time and the default cut-off floor.
    pub now: i64,
    /// The INPUT paths as given, recorded in the plan.
    pub input_paths: Vec<String>,
    /// The `--principal` ARNs: a user's credentials the trail shows and no action cuts are
    /// NOT CUT review items (`principals`).
    pub principals: Vec<String>,
}

/// Builds the plan, given every session of the graph by the target that would cut it
/// ([`sessions_by_target`], which reads the graph alone: a command works it out while the
/// blast radius is drawn).
#[cfg(test)]
pub fn build_plan(
    ing: &Ingest,
    g: &SessionGraph,
    b: &BlastRadius,
    o: &PlanOptions,
    all_by_target: SessionsByTarget,
) -> Plan {
    build_plan_with(ing, g, b, o, all_by_target, None)
}

/// [`build_plan`], the denies fitted (F8: inline room, managed policies, their names and
/// quota) with what the IAM snapshot shows as well as the trail, when there is one: fitting
/// them first without it, then again with it, left managed parts made the first time
/// unchecked against the snapshot (a quota already used, a name already taken).
pub fn build_plan_with(
    ing: &Ingest,
    g: &SessionGraph,
    b: &BlastRadius,
    o: &PlanOptions,
    all_by_target: SessionsByTarget,
    iam: Option<&crate::contain::Iam>,
) -> Plan {
    let mut notes: Vec<String> = b.notes.clone();
    // Issue times after "now" are time anomalies (a record dated in the future): they never
    // move the default cut-off (SPEC §8).
    let issue_times = b
        .nodes
        .iter()
        .filter(|&&n| g.nodes[n].kind == NodeKind::Session)
        .filter_map(|&n| crate::chain::token_issue_time(&g.nodes[n]));
    let (plausible, future): (Vec<i64>, Vec<i64>) = issue_times.partition(|&t| t <= o.now);
    // A stated end the logs contradict is not the session's end (`session_expiry`): say so.
    for &n in &b.nodes {
        let node = &g.nodes[n];
        if let (Some(x), None) = (node.expires_at, crate::chain::stated_expiry(g, n)) {
            notes.push(format!(
                "session {}: its issuing call's expiration {} is not believed (sooner than STS allows after its issue, or before its last call {}): it is judged valid until {}",
                node.id,
                fmt_iso(x),
                node.last_seen.map_or_else(|| "-".to_string(), fmt_iso),
                session_expiry(g, n).map_or_else(|| "no known end".to_string(), fmt_iso)
            ));
        }
    }
    let newest_issue = plausible.into_iter().max();
    if let Some(f) = future.into_iter().max() {
        notes.push(format!(
            "a tainted session is dated {} , after the run's reference time {}: a time anomaly (a forged or mis-dated record); it does not move the cut-off",
            fmt_iso(f),
            fmt_iso(o.now)
        ));
    }
    // F14: never a cut-off before the newest tainted issue time.
    let effective_at =
        o.effective_at.unwrap_or_else(|| o.now.max(newest_issue.map_or(o.now, |t| t + 1)));
    if let (Some(e), Some(t)) = (o.effective_at, newest_issue) {
        if e <= t {
            let which = if e == t {
                "sessions issued in that second are not denied".to_string()
            } else {
                format!("sessions issued from {} to {} are not denied", fmt_iso(e), fmt_iso(t))
            };
            notes.push(format!(
                "--effective-at {} is not after the newest tainted issue time {}: {which} (F14; NOT COVERED notes name them)",
                fmt_iso(e),
                fmt_iso(t)
            ));
        }
    }

    // What is still alive is judged at the cut-off, or now if the cut-off is later: a session
    // alive now that expires before a future cut-off is alive until then, and needs its deny.
    let live_from = effective_at.min(o.now);
    if effective_at > o.now {
        notes.push(format!(
            "the cut-off {} is after now ({}): sessions that are alive now are treated as live even if they expire before it",
            fmt_iso(effective_at),
            fmt_iso(o.now)
        ));
    }

    // A user the attacker made and someone deleted since has nothing left to deny or remove,
    // and a user made again under its name is not the attacker's.
    let (gone, live_users): (Vec<&crate::taint::AttackerUser>, Vec<_>) =
        b.attacker_users.iter().partition(|u| u.deleted.is_some());
    // A user whose name now the trail cannot tell is acted on by no name (it may be another
    // user's): a review item each, and the plan does not cut it.
    let (unsure, live_users): (Vec<&crate::taint::AttackerUser>, Vec<_>) =
        live_users.into_iter().partition(|u| u.name_unsure.is_some());
    let mut unsure_reviews = Vec::new();
    for u in unsure {
        let why = u.name_unsure.as_deref().unwrap_or("");
        notes.push(format!(
            "NOT CUT: user {} the attacker controls: {why}; the plan neither denies it everything nor removes it, as the name it would act under may be another user's (see its review item)",
            one_line(&u.user_name)
        ));
        unsure_reviews.push(review(
            Some(u.account_id.clone()),
            format!(
                "user {}{} is the attacker's, but the name it has now is not known: {why}. Find it (aws iam list-users; compare the user ids in its CreateUser response or calls), then deny it everything and remove it as the plan does for the attacker's users",
                one_line(&u.user_name),
                match u.renamed_from.is_empty() {
                    true => String::new(),
                    false => format!(" (also named {})", one_line(&u.renamed_from.join(", "))),
                }
            ),
            &[],
        ));
    }
    for u in gone {
        notes.push(format!(
            "user {} the attacker made is gone ({}: deleted, or its name made again): nothing of it is left to deny or remove, and a user made under its name after that is not taken for the attacker's",
            one_line(&u.user_name),
            u.deleted.as_deref().unwrap_or("")
        ));
    }
    let attackers: BTreeMap<(String, String), &crate::taint::AttackerUser> =
        live_users.iter().map(|&u| (who(&u.account_id, &u.user_name), u)).collect();
    let mut actions: Vec<Action> = Vec::new();
    let mut unrevocable = Vec::new();
    let mut credentials = Vec::new();
    let mut summary = Summary::default();
    let mut live_by_target = SessionsByTarget::new();
    // Long-term keys of attacker-made users, to delete before the user.
    let mut user_keys: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();

    // The other users the making records of each key name, by node: (account, name).
    let claimed = g.key_owner_claims_by_key();
    for &n in &b.nodes {
        let node = &g.nodes[n];
        let mut status = CredentialStatus::Live;
        match node.kind {
            NodeKind::LongTermKey => {
                status = CredentialStatus::Deactivate;
                if node.root_derived || node.principal_type.as_deref() == Some("Root") {
                    status = CredentialStatus::Unrevocable;
                    unrevocable.push(Unrevocable {
                        credential: node.id.clone(),
                        principal_arn: node.principal_arn.clone(),
                        reason: "root access key: delete it as the root user (Security credentials page) or through centralized root access; IAM policies cannot restrict root (F11), and until it is deleted it can take new sessions of any role it may assume, which a deny on sessions issued before the cut-off does not reach".into(),
                        valid_until: None,
                    });
                } else {
                    // The user the key belongs to, as `verify` reads it: from the ARN, which
                    // is what IAM names; `userName` only when there is no user ARN. Records
                    // that name two users (a damaged or forged record) leave the key to a
                    // review rather than deactivating it under a name AWS may refuse or, worse,
                    // that may be another user's.
                    // Both under the name the user has at the end of the trail (`UpdateUser`).
                    let from_arn = crate::taint::user_of(g, n).map(|(_, u)| u.to_string());
                    let since = node.issued_at.or(node.first_seen);
                    let named =
                        node.user_name.as_deref().map(|u| match node.account_id.as_deref() {
                            Some(a) => g.user_name_now(a, u, since).to_string(),
                            None => u.to_string(),
                        });
                    let two_names = match (&from_arn, &named) {
                        (Some(a), Some(u)) if a != u => Some((a.clone(), u.clone())),
                        _ => None,
                    };
                    // Making records that name other users of the key (a copy of the
                    // CreateAccessKey planted beside it): every name, in name order (which
                    // record came first decides nothing).
                    // A user of another account is another user.
                    let home = node.account_id.as_deref().unwrap_or("").to_string();
                    let mut names: Vec<(String, String)> =
                        from_arn.iter().chain(&named).map(|u| (u.clone(), home.clone())).collect();
                    names.extend(
                        claimed.get(&n).into_iter().flatten().map(|(a, u)| (u.clone(), a.clone())),
                    );
                    names.sort_by_key(|(u, a)| (u.to_ascii_lowercase(), a.clone(), u.clone()));
                    names.dedup_by(|x, y| x.0.eq_ignore_ascii_case(&y.0) && x.1 == y.1);
                    let disputed = claimed.contains_key(&n) && names.len() > 1;
                    let user =
                        if two_names.is_some() || disputed { None } else { from_arn.or(named) };
                    let key = node.access_key_id.as_deref().unwrap_or(&node.id).to_string();
                    let account = node.account_id.as_deref().map(str::to_string);
                    let why = if b.seeds.contains(&key) {
                        "leaked key"
                    } else {
                        "key created by or for a credential the attacker controls (persistence)"
                    };
                    if let (Some(a), Some(u)) = (&account, &user) {
                        if attackers.contains_key(&who(a, u)) {
                            user_keys.entry(who(a, u)).or_default().insert(key.clone());
                        }
                    }
                    let reason = format!("{why}; stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5)");
                    let a = match user {
                        Some(u) => checked(Action {
                            kind: ActionKind::DeactivateAccessKey,
                            account_id: account,
                            user_name: Some(u),
                            access_key_id: Some(key.clone()),
                            reason,
                            ..Default::default()
                        }),
                        None if disputed => review(
                            account,
                            format!(
                                "deactivate access key {key} by hand: {} name {} users of it ({}); a key belongs to one user, so some record is false (an evidence conflict: `trailhound integrity` finds files CloudTrail did not deliver); check with `aws iam get-access-key-last-used --access-key-id {key}` which user it belongs to, or run each command (IAM refuses the others with NoSuchEntity) ({reason})",
                                if names.iter().any(|(u, _)| u.is_empty()) { "its calls (as root and as a user)" } else { "copies of the record of its making (CreateAccessKey, same eventID) or another such record" },
                                names.len(),
                                names
                                    .iter()
                                    .map(|(u, a)| if u.is_empty() { format!("root of account {}", one_line(a)) } else if *a == home { one_line(u).to_string() } else { format!("{} in account {}", one_line(u), one_line(a)) })
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                            &names.iter().map(|(name, a)| if name.is_empty() { format!("if it is root's key (account {}): delete it as the root user (Security credentials page) or through centralized root access; no IAM policy restricts root (F11)", one_line(a)) } else { format!("aws iam update-access-key --user-name {} --access-key-id {} --status Inactive{}", shell_word(name), shell_word(&key), if *a == home { String::new() } else { format!(" (with credentials of account {})", one_line(a)) }) }).collect::<Vec<_>>(),
                        ),
                        None => match &two_names {
                            Some((a, u)) => review(
                                account,
                                format!(
                                    "deactivate access key {key} by hand: its records name two users, {} (userIdentity.arn) and {} (userIdentity.userName); check with `aws iam list-access-keys --user-name` which one it belongs to ({reason})",
                                    one_line(a),
                                    one_line(u)
                                ),
                                &[a, u].map(|name| format!("aws iam update-access-key --user-name {} --access-key-id {} --status Inactive", shell_word(name), shell_word(&key))),
                            ),
                            None => review(
                                account,
                                format!("deactivate access key {key} by hand: the logs do not name the user it belongs to ({reason})"),
                                &[format!("aws iam update-access-key --user-name USER --access-key-id {} --status Inactive", shell_word(&key))],
                            ),
                        },
                    };
                    // A deactivation left to a review item is not one the plan makes.
                    if a.kind == ActionKind::Review {
                        summary.keys_by_hand += 1;
                        notes.push(format!(
                            "NOT CUT: access key {} stays active until it is deactivated by hand (see its review item)",
                            one_line(&key)
                        ));
                    } else {
                        summary.keys_to_deactivate += 1;
                    }
                    actions.push(a);
                }
            }
            NodeKind::Session => {
                summary.tainted_sessions += 1;
                let expiry = session_expiry(g, n);
                if expiry.is_some_and(|x| x <= live_from) {
                    status = CredentialStatus::Expired;
                    summary.expired_sessions += 1;
                } else {
                    match attach_target(g, n) {
                        Ok(t) => live_by_target.entry(t).or_default().push(n),
                        // Not provably unrevocable, only not provably cut: no deny is
                        // planned, so it is not covered (verify says the same).
                        Err(Blocker::UnknownPrincipal) => {
                            summary.uncovered_sessions += 1;
                            notes.push(format!(
                                "NOT COVERED: live tainted session {}: {}",
                                node.id,
                                blocker_reason(&Blocker::UnknownPrincipal)
                            ));
                        }
                        Err(why) => {
                            status = CredentialStatus::Unrevocable;
                            summary.unrevocable_sessions += 1;
                            unrevocable.push(Unrevocable {
                                credential: node.id.clone(),
                                principal_arn: node.principal_arn.clone(),
                                reason: blocker_reason(&why).into(),
                                valid_until: Time::opt(expiry),
                            });
                        }
                    }
                }
            }
            _ => continue,
        }
        credentials.push(PlanCredential {
            id: node.id.clone(),
            access_key_id: node.access_key_id.as_deref().map(str::to_string),
            kind: match node.kind {
                NodeKind::LongTermKey => CredentialKind::LongTermKey,
                _ => CredentialKind::Session,
            },
            principal_arn: node.principal_arn.clone(),
            account_id: node.account_id.as_deref().map(str::to_string),
            issued_at: Time::opt(node.issued_at),
            expires_at: Time::opt(session_expiry(g, n).filter(|_| node.kind == NodeKind::Session)),
            status,
        });
    }
    // Sessions of instances a tainted credential launched, or of functions whose code or
    // configuration it set: the instance or Lambda fetches new ones by itself, so their role
    // gets a deny by their aws:userid with no time condition, expired ones included (the next
    // one is not in the logs yet).
    let launched = g.launched_sessions();
    let mut launches_by_target: BTreeMap<Target, Vec<usize>> = BTreeMap::new();
    for &n in launched.keys().filter(|n| b.nodes.contains(n)) {
        if let Ok(t) = attach_target(g, n) {
            live_by_target.entry(t.clone()).or_default();
            launches_by_target.entry(t).or_default().push(n);
        }
    }
    // Sessions the trail cannot attribute, that may be the attacker's: denied with their
    // principal's tainted sessions if they may be alive, and review items (`tocheck`).
    let to_check = tocheck::to_check(g, b, live_from, effective_at);
    for t in to_check.alive_by_target.keys() {
        live_by_target.entry(t.clone()).or_default();
    }
    // Every attacker-controlled user gets a deny-all policy, live sessions or not (SPEC §9).
    for &u in &live_users {
        let partition = crate::chain::arn_partition(&u.user_arn).unwrap_or("aws");
        let arn = format!("arn:{partition}:iam::{}:user/{}", u.account_id, u.user_name);
        let arn = if u.user_arn.ends_with(&format!("/{}", u.user_name)) {
            u.user_arn.clone()
        } else {
            arn
        };
        let t = Target {
            kind: TargetKind::User,
            name: u.user_name.clone(),
            arn,
            account_id: u.account_id.clone(),
        };
        live_by_target.entry(t).or_default();
    }

    // The untainted long-term keys of each attacker-controlled user: its deny-all (no
    // condition) stops them too, so they are collateral (a user the attacker took over keeps
    // its owner's keys). Indexed once, not looked for among every node per user.
    let mut keys_by_user: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    if !attackers.is_empty() {
        for (n, node) in g.nodes.iter().enumerate() {
            if node.kind != NodeKind::LongTermKey || b.nodes.contains(&n) {
                continue;
            }
            let Some((a, u)) = verify::user_of(g, n) else { continue };
            if attackers.contains_key(&who(&a, &u)) {
                keys_by_user.entry(who(&a, &u)).or_default().push(n);
            }
        }
    }

    // Every role the attacker made, sessions or not: its trust lets in whoever it names after
    // any cut-off (`roles`).
    let made_roles = roles::made_roles(g, b);
    for t in made_roles.keys() {
        live_by_target.entry(t.clone()).or_default();
    }

    // One policy per principal with a live tainted session.
    // Principals in accounts whose logs (and so, probably, IAM) are not ours.
    let mut foreign: Vec<(Target, Vec<usize>)> = Vec::new();
    let trail_accounts = ing.accounts();
    for (target, tainted) in &live_by_target {
        let limit = inline_limit(target.kind == TargetKind::Role);
        let attacker = (target.kind == TargetKind::User)
            .then(|| attackers.get(&who(&target.account_id, &target.name)))
            .flatten();
        let mut statement = deny_statement("TrailhoundRevokeOlderSessions", effective_at, None);
        let mut policy_name = STRICT_POLICY_NAME;
        let mut reason = format!(
            "{} live tainted session(s) of {} {}: deny every session of it issued before {} (AWSRevokeOlderSessions shape, F6; each hop of a chain needs its own deny, F5)",
            tainted.len(),
            target.kind,
            target.name,
            fmt_iso(effective_at)
        );
        if let Some(u) = attacker {
            statement = policy::deny_all_statement();
            policy_name = DENY_ALL_POLICY_NAME;
            reason = format!(
                "user {} is attacker-controlled since {} ({}): deny everything it does, with any credential, sessions and long-term keys alike, until it is removed (SPEC §9)",
                target.name,
                u.since,
                u.evidence.join(", ")
            );
        } else if let Some(m) = made_roles.get(target) {
            (statement, reason) = roles::deny_all(g, target, m);
            policy_name = DENY_ALL_POLICY_NAME;
        } else if o.strategy == Strategy::Surgical {
            let unsure = to_check.alive_by_target.get(target).map(Vec::as_slice).unwrap_or(&[]);
            let ids: Option<Vec<String>> =
                tainted.iter().chain(unsure).map(|&n| userid_pattern(&g.nodes[n], None)).collect();
            let separable = target.kind == TargetKind::Role
                || tainted
                    .iter()
                    .chain(unsure)
                    .all(|&n| g.nodes[n].principal_type.as_deref() == Some("FederatedUser"));
            let refused = tainted
                .iter()
                .chain(unsure)
                .find_map(|&n| policy::refused_char(&g.nodes[n]).map(|c| (n, c)));
            match (ids, refused) {
                (_, Some((n, c))) => {
                    notes.push(format!(
                        "{} {}: session {} is named with U+{:04X}, a character IAM refuses in a policy document (no real session name has it: a forged or damaged record), so no deny can name it: strict instead",
                        target.kind,
                        target.name,
                        crate::escape::one_line(&g.nodes[n].id),
                        c as u32
                    ));
                }
                (Some(mut ids), None) if separable => {
                    ids.sort();
                    ids.dedup();
                    let s = deny_statement("TrailhoundRevokeTaintedSessions", effective_at, Some(&ids));
                    let doc = json!({ "Version": "2012-10-17", "Statement": [s.clone()] });
                    if policy_size(&doc) <= limit {
                        statement = s;
                        policy_name = SURGICAL_POLICY_NAME;
                        reason = format!(
                            "{} live tainted session(s) of {} {}: deny only them, by aws:userid (F9), if issued before {}",
                            tainted.len(),
                            target.kind,
                            target.name,
                            fmt_iso(effective_at)
                        );
                    } else {
                        notes.push(format!("surgical policy for {} would exceed {limit} characters (F8): strict instead", target.arn));
                    }
                }
                _ => notes.push(format!(
                    "{} {}: aws:userid cannot separate its tainted sessions from its other sessions (GetSessionToken or console sessions carry the user's id, F9): strict instead",
                    target.kind, target.name
                )),
            }
        }
        if let Some(u) = to_check.alive_by_target.get(target) {
            reason.push_str(&format!(
                "; it also denies {} session(s) that may be the attacker's (see their review items): {}",
                u.len(),
                tocheck::listed(u.iter().map(|&n| g.nodes[n].id.as_str()))
            ));
        }
        // The statements: the deny of the live tainted sessions (none when the target is here
        // only for its launched instances), then that of the launched instances' sessions.
        let launches = launches_by_target.get(target);
        let only_launches = tainted.is_empty() && attacker.is_none() && launches.is_some();
        let mut statements = Vec::new();
        if !only_launches {
            statements.push(statement);
        }
        if let Some(ls) = launches {
            let mut parts = Vec::new();
            for (kind, sid) in
                [(Workload::Instance, LAUNCH_SID), (Workload::Function, FUNCTION_SID)]
            {
                let of: Vec<usize> = ls
                    .iter()
                    .copied()
                    .filter(|n| launched.get(n).is_some_and(|w| w.0 == kind))
                    .collect();
                if of.is_empty() {
                    continue;
                }
                let mut ids: Vec<String> =
                    of.iter().filter_map(|&n| userid_pattern(&g.nodes[n], None)).collect();
                ids.sort();
                ids.dedup();
                let mut names: Vec<&str> =
                    of.iter().filter_map(|n| launched.get(n).map(|w| w.1)).collect();
                names.sort_unstable();
                names.dedup();
                statements.push(launch_statement(sid, &ids));
                parts.push(match kind {
                    Workload::Instance => format!(
                        "instance(s) {} launched by a tainted credential run with role {}: deny every session of them by aws:userid (F9), with no time condition, because the instance fetches new credentials by itself (F21)",
                        names.join(", "),
                        target.name
                    ),
                    Workload::Function => format!(
                        "Lambda function(s) {} whose code or configuration a tainted credential set run with role {}: deny every session of them by aws:userid (F9), with no time condition, because Lambda fetches new credentials for the function by itself (F21)",
                        names.join(", "),
                        target.name
                    ),
                });
            }
            reason = format!(
                "{}{}{}",
                if only_launches { "" } else { &reason },
                if only_launches { "" } else { "; and " },
                parts.join("; and ")
            );
        }
        let doc = json!({ "Version": "2012-10-17", "Statement": statements.clone() });
        let size = policy_size(&doc);
        // A policy covers only the sessions its statement matches, as IAM would evaluate it:
        // one issued at or after the cut-off (an `--effective-at` before the newest tainted
        // issue time, F14) or with no known issue time escapes the `aws:TokenIssueTime`
        // condition. Such a session is counted and named as not covered, never as covered.
        // A launched instance's session is covered only when the one it fetches next is too.
        let (covered, missed): (Vec<usize>, Vec<usize>) = tainted.iter().partition(|&&n| {
            let sn = &g.nodes[n];
            let userid = session_userid(sn, None);
            any_matches(&statements, crate::chain::token_issue_time(sn), userid.as_deref())
                && (!launched.contains_key(&n)
                    || any_matches(&statements, Some(RENEWAL), userid.as_deref()))
        });
        if !missed.is_empty() {
            notes.push(format!(
                "NOT COVERED: {} live tainted session(s) of {} {} escape this plan's deny (issued at or after the cut-off {}, or with no known issue time: F6, F14): {}",
                missed.len(),
                target.kind,
                target.name,
                fmt_iso(effective_at),
                missed.iter().map(|&n| g.nodes[n].id.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        summary.uncovered_sessions += missed.len() as u64;
        let covers: Vec<String> = covered.iter().map(|&n| g.nodes[n].id.clone()).collect();
        let mut collateral = Vec::new();
        for &s in all_by_target.get(target).map(Vec::as_slice).unwrap_or(&[]) {
            if b.nodes.contains(&s) {
                continue;
            }
            let alive = session_expiry(g, s).is_none_or(|x| x > live_from);
            let sn = &g.nodes[s];
            let uid = session_userid(sn, None);
            // A session whose calls carry no `creationDate` was issued before its first call:
            // the deny cuts it when that call is before the cut-off.
            let issued = sn.issued_at.or(sn.first_seen);
            if alive && any_matches(&statements, issued, uid.as_deref()) {
                collateral.push(sn.id.clone());
            }
        }
        // (A user the attacker made is removed: its keys go with it, and are its.)
        if attacker.is_some_and(|u| !u.created) && any_matches(&statements, None, None) {
            let user = who(&target.account_id, &target.name);
            for &k in keys_by_user.get(&user).map(Vec::as_slice).unwrap_or(&[]) {
                collateral.push(g.nodes[k].id.clone());
            }
        }
        if !trail_accounts.contains(target.account_id.as_str()) {
            notes.push(format!(
                "account {} ({} {}) has no logs in the trail: collateral there is unknown; if you do not control IAM in that account, ask its owner to apply this policy, and apply the resource_policy_deny actions on your own resources (F7)",
                target.account_id, target.kind, target.name
            ));
            foreign.push((target.clone(), tainted.clone()));
        }
        let (covering, collateral_n) = (covers.len() as u64, collateral.len() as u64);
        let put = checked(Action {
            kind: if target.kind == TargetKind::Role {
                ActionKind::PutRolePolicy
            } else {
                ActionKind::PutUserPolicy
            },
            account_id: Some(target.account_id.clone()),
            principal_arn: Some(target.arn.clone()),
            policy_name: Some(if policy_name == DENY_ALL_POLICY_NAME {
                policy_name.to_string()
            } else {
                deny_name(policy_name, &doc)
            }),
            policy_document: Some(doc),
            policy_size: Some(size),
            policy_size_limit: Some(limit),
            covers: Some(covers),
            collateral: Some(collateral),
            reason,
            ..Default::default()
        });
        // A deny over the principal's whole inline budget (F8: a role's instances or functions
        // named one by one) is split across managed policies (`precaution::fit_or_managed`);
        // what IAM would still refuse is counted then (`room::refused`).
        // A deny that could not be written as a command (a name IAM would not accept) is a
        // review item: what it would have covered is not covered by this plan.
        if put.kind == ActionKind::Review {
            if covering > 0 {
                notes.push(format!(
                    "NOT COVERED: the deny for {} {} could not be planned (see its review item): its {covering} live tainted session(s) stay alive until it is done by hand",
                    target.kind,
                    crate::escape::one_line(&target.name)
                ));
            }
            summary.uncovered_sessions += covering;
            // An attacker's user left without its deny-all (verify fails the plan on it).
            if target.kind == TargetKind::User && policy_name == DENY_ALL_POLICY_NAME {
                summary.users_by_hand += 1;
                notes.push(format!(
                    "NOT CUT: user {} the attacker controls is not denied everything: its deny-all could not be planned (see its review item); until it is done by hand, the password or keys the attacker set let them back in",
                    crate::escape::one_line(&target.name)
                ));
            }
        } else {
            summary.covered_sessions += covering;
            summary.collateral_sessions += collateral_n;
            summary.policies += 1;
        }
        actions.push(put);
    }
    actions.extend(resource_denies(g, b, &foreign, &trail_accounts));
    summary.principals = live_by_target.len() as u64;

    // Attacker-made users: removed in the order DeleteUser requires (SPEC §9). What the
    // evidence shows is removed by name; a user the attacker only took over (its password
    // changed) existed before the incident: it is denied and its password removed, and its
    // deletion is left to a human.
    let mut handled: BTreeSet<String> = BTreeSet::new();
    // What the trail shows put on principals: the attacker's users' inline and managed
    // policies, whatever credential put them (a console session may carry no key, F17), come
    // off before DeleteUser; the room each inline deny has (F8) is judged from it below.
    let trail_rooms = TrailRooms::for_plan(ing, b, &mut notes);
    users::remove_users(b, &live_users, &user_keys, &trail_rooms, &mut handled, &mut actions);
    // A role the attacker's CreateRole may not have made (`roles::contested`): denied all the
    // same (above), and its deletion, which the CreateRole's review item would advise, left
    // to a person who checks it first.
    roles::contested_reviews(&made_roles, &mut handled, &mut actions);
    summary.users_by_hand += unsure_reviews.len() as u64;
    actions.extend(unsure_reviews);
    summary.sessions_to_check = to_check.sessions;
    let unfollowed = unfollowed::routes(b);
    summary.routes_not_followed = unfollowed.len() as u64;
    notes.extend(unfollowed::notes(&unfollowed));
    let eks = eks::left(g, b, live_from, &launched);
    summary.eks_sessions = eks.len() as u64;
    notes.extend(eks::notes(g, &eks));
    let inside = eks::inside(b, &eks);
    summary.routes_not_followed += inside.len() as u64;
    notes.extend(eks::inside_notes(g, &inside));
    actions.extend(eks::inside_reviews(g, &inside));
    actions.extend(eks::reviews(g, &eks));
    actions.extend(to_check.reviews);
    let denied_all = |a: &str, u: &str| attackers.contains_key(&who(a, u));
    othercreds::deactivate(g, &trail_rooms, denied_all, &mut actions, &mut notes, &mut summary);
    summary.principal_credentials_by_hand =
        principals::actions(g, &o.principals, denied_all, &mut actions, &mut notes);

    // A key made with a tainted credential whose id the logs do not show (no response in the
    // record): no action can name it, so it is cut only if its user is denied everything.
    for k in g.unnamed_keys.iter().filter(|k| b.nodes.contains(&k.by)) {
        // Under the user's name at the end of the trail; a user deleted since took its keys.
        let user = g.user_name_now(&k.account_id, &k.user_name, Some(k.time));
        if attackers.contains_key(&who(&k.account_id, user))
            || g.user_gone_after(&k.account_id, &k.user_name, k.time).is_some()
        {
            continue;
        }
        summary.keys_by_hand += 1;
        notes.push(format!(
            "NOT CUT: {} stays active until it is found and deactivated by hand (see its review item)",
            one_line(&unknown_key(k))
        ));
        let u = shell_word(if k.user_name.is_empty() { "USER" } else { &k.user_name });
        actions.push(review(
            Some(k.account_id.clone()).filter(|a| !a.is_empty()),
            format!(
                "{}: list the user's keys and deactivate the one created at {}",
                unknown_key(k),
                fmt_iso(k.time)
            ),
            &[
                format!("aws iam list-access-keys --user-name {u}"),
                format!("aws iam update-access-key --user-name {u} --access-key-id ID_FROM_THE_LIST --status Inactive"),
            ],
        ));
    }
    // Sessions the trail does not show issued, from the attacker's addresses (F15): a human
    // decides whether they are the attacker's. At most `SUSPECTS_LISTED` one by one (an
    // address the key's owner shares with others, a NAT, may name many): the rest in one item,
    // every one of them in `blast`'s signals.
    const SUSPECTS_LISTED: usize = 20;
    let suspects: Vec<_> = b.signals.iter().filter(|s| s.kind == crate::blast::SUSPECTED).collect();
    if suspects.len() > SUSPECTS_LISTED {
        actions.push(review(
            None,
            format!(
                "SUSPECTED, not denied: {} more role sessions without an issuing call in the trail (or issued from an account whose logs it lacks) called from the leaked key's addresses (see blast's signals {}: a shared address, a NAT, names sessions that are not the attacker's)",
                suspects.len() - SUSPECTS_LISTED,
                crate::blast::SUSPECTED
            ),
            &[],
        ));
    }
    for sig in suspects.into_iter().take(SUSPECTS_LISTED) {
        let account = sig.principal_arn.as_deref().and_then(|a| a.split(':').nth(4));
        actions.push(review(
            account.map(String::from).filter(|a| !a.is_empty()),
            format!("SUSPECTED, not denied: {}", sig.detail),
            &[
                "to deny it: add its aws:userid (the principalId of its calls, ROLEID:session-name) to a deny on its role, or revoke the role's active sessions in the IAM console (which cuts every session of the role, F6)".to_string(),
            ],
        ));
    }
    // A suspected session that made keys, users or roles: a deny of it (what its review item
    // offers) leaves them valid, and nothing here acts on them (`suspects_made`).
    let suspects_made = crate::blast::suspects_made(g, b);
    notes
        .extend(suspects_made.iter().map(|(n, made)| crate::blast::suspect_made_note(g, *n, made)));
    // Other persistence needs a human: a review item with the suggested command commented out.
    reviews::persistence_reviews(g, b, &handled, &mut actions, &mut notes);

    // One review per distinct finding (the same change logged twice needs one look).
    let mut seen_reviews = BTreeSet::new();
    actions.retain(|a| a.kind != ActionKind::Review || seen_reviews.insert(a.command.clone()));

    // An inline deny where the attacker's own inline policies leave it no room (F8) becomes a
    // managed policy attached to the principal (`room`); with a snapshot, `--iam` checks again.
    actions = precaution::fit_or_managed(actions, &[], iam, &trail_rooms, &mut notes);
    // A deny IAM will refuse for want of room (F8) covers nothing.
    let refused = room::refused(&actions);
    summary.roles_by_hand = roles::left_uncut(&made_roles, &actions, &refused.at, &mut notes);
    let unnamed = roles::unnamed_notes(g, b);
    summary.roles_by_hand += unnamed.len() as u64;
    notes.extend(unnamed);
    room::count_refused(&Default::default(), refused, &mut summary, &mut notes);

    // One block per account (plan.sh runs a block only with that account's credentials);
    // blocks in the order of their most urgent action, so the account where keys are
    // deactivated comes first. Inside a block: deactivations first, then denies, then
    // clean-up; stable order inside each group.
    order(&mut actions);
    credentials.sort_by(|a, b| a.id.cmp(&b.id));
    unrevocable.sort_by(|a, b| a.credential.cmp(&b.credential));

    // The blast radius already holds both (the same tainted set and evidence).
    let evidence_window = b.evidence_window.clone();
    let unseen_tail = b.unseen_tail.clone();
    for w in &evidence_window {
        if parse_iso(&w.last_event).is_some_and(|l| l < effective_at) && !unseen_tail.is_empty() {
            notes.push(format!(
                "the evidence of account {} ends at {}, before the cut-off {}: what live tainted credentials did since is not in the logs (unseen_tail); re-run on logs through the cut-off before applying",
                w.account_id, w.last_event, fmt_iso(effective_at)
            ));
        }
    }
    for f in ing.evidence_changed() {
        notes.push(changed_note(&f));
    }
    notes.sort();
    notes.dedup();

    Plan {
        schema: SCHEMA.into(),
        generated_at: Some(Time(o.now)),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        strategy: o.strategy,
        effective_at: Time(effective_at),
        inputs: PlanInputs {
            paths: o.input_paths.clone(),
            files: ing.stats.files_read,
            sha256: ing.evidence_sha256(),
            events: ing.stats.events,
            first_event: Time::opt(ing.span().0),
            last_event: Time::opt(ing.span().1),
        },
        seeds: b.seeds.clone(),
        seed_principals: Vec::new(),
        tainted: PlanTainted { credentials, events: b.events },
        actions,
        unrevocable,
        attacker_users: b.attacker_users.clone(),
        evidence_window,
        unseen_tail,
        contain_reachable: false,
        reachable: None,
        precautionary: Vec::new(),
        notes,
        summary,
        trail_rooms,
    }
}

/// Puts the actions in the order they must run and numbers them from 1: one block per account
/// (plan.sh runs a block only with that account's credentials), blocks in the order of their
/// most urgent action; inside a block deactivations first, then denies, then clean-up, stable
/// inside each group.
fn order(actions: &mut [Action]) {
    let mut block_rank: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for a in actions.iter() {
        let r = block_rank.entry(a.account_id.clone()).or_insert(usize::MAX);
        *r = (*r).min(rank(&a.kind));
    }
    let key = |a: &Action| {
        (
            a.account_id.is_none(),
            block_rank[&a.account_id],
            a.account_id.clone(),
            rank(&a.kind),
            a.principal_arn.clone(),
            a.user_name.clone(),
            a.access_key_id.clone(),
        )
    };
    actions.sort_by_key(key);
    for (i, a) in actions.iter_mut().enumerate() {
        a.order = i as u32 + 1;
    }
}

/// `resource_policy_deny` actions (SPEC §5, F7): for tainted role sessions in an account whose
/// logs are not in the trail, deny the session ARNs on the resources of the trail's accounts
/// that they touched, in those resources' policies. These stand in for the role policy when
/// that account's IAM is not under the responder's control.
fn resource_denies(
    g: &SessionGraph,
    b: &BlastRadius,
    foreign: &[(Target, Vec<usize>)],
    ours: &BTreeSet<&str>,
) -> Vec<Action> {
    let mut by_resource: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    // Which target a session belongs to does not change the deny, so the sessions of every
    // foreign target are one set and the tainted events are walked once (not once per target:
    // a forged trail can name any number of foreign roles).
    let set: BTreeSet<usize> = foreign.iter().flat_map(|(_, s)| s.iter().copied()).collect();
    if !set.is_empty() {
        // What the sessions' calls that succeeded named (the others add nothing), by session
        // and receiving account, whether or not the tainted events were kept in full.
        for (n, by_account) in &b.resource_uses {
            if !set.contains(n) {
                continue;
            }
            let Some(session_arn) = g.nodes[*n].principal_arn.as_deref() else { continue };
            for (acct, held) in by_account.iter().filter(|(a, _)| ours.contains(a.as_str())) {
                for res in held {
                    let principals = by_resource.entry((acct.clone(), res.clone())).or_default();
                    if !principals.contains(session_arn) {
                        principals.insert(session_arn.to_string());
                    }
                }
            }
        }
    }
    by_resource
        .into_iter()
        .map(|((acct, res), principals)| {
            let principals: Vec<String> = principals.into_iter().collect();
            if res == crate::blast::INCOMPLETE_RESOURCES {
                return review(
                    Some(acct),
                    format!(
                        "tainted session(s) {} of an account whose logs are not in the trail named resources of this account that trailhound did not keep in full (a record with more than {} resources, or an ARN over {} bytes, SPEC §8): those resources get NO resource-policy deny in this plan; find the sessions' calls (blast --events-out) and deny the sessions in those resources' policies by hand (F7)",
                        principals.join(", "),
                        crate::ingest::raw::LIST_CAP,
                        crate::ingest::raw::FIELD_CAP
                    ),
                    &[],
                );
            }
            let resources = if crate::blast::s3_rest(&res).is_some() {
                json!([res.clone(), format!("{res}/*")])
            } else {
                json!([res.clone()])
            };
            let doc = json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "TrailhoundDenyTaintedSessions",
                    "Effect": "Deny",
                    "Principal": { "AWS": principals },
                    "Action": "*",
                    "Resource": resources,
                }]
            });
            let compact = serde_json::to_string(&doc).unwrap_or_default();
            let reason = format!(
                "tainted session(s) {} of an account whose logs are not in the trail touched {res}: deny them by session ARN in its resource policy, in case you cannot change the role's policy in its own account (F7)",
                principals.join(", ")
            );
            let a = Action {
                kind: ActionKind::ResourcePolicyDeny,
                account_id: Some(acct),
                principal_arn: Some(res.clone()),
                policy_size: Some(policy_size(&doc)),
                policy_document: Some(doc),
                covers: Some(principals.clone()),
                reason,
                ..Default::default()
            };
            match crate::blast::s3_rest(&res) {
                Some(bucket) => checked(Action {
                    command: commands::bucket_policy_comment(
                        bucket,
                        a.policy_document.as_ref().unwrap_or(&serde_json::Value::Null),
                    ),
                    ..a
                }),
                None => Action {
                    command: format!(
                        "# add this statement to the resource policy of {}:\n# {}",
                        one_line(&res),
                        one_line(&compact)
                    ),
                    ..a
                },
            }
        })
        .collect()
}

/// The note on an input file that changed while the run read it (`plan` and `verify`): the
/// fingerprint they record or compare (`inputs.sha256`) does not vouch for it.
pub(crate) fn changed_note(file: &str) -> String {
    format!(
        "input file {file} changed while this run read it: inputs.sha256 does not vouch for it and matches no evidence; re-run once the trail is no longer being written"
    )
}

/// How a key a tainted credential made, whose id the logs do not show, is named.
pub(crate) fn unknown_key(k: &crate::chain::UserGrant) -> String {
    format!(
        "the access key made for user {} in account {} (event {}: no response in its record, so its id is unknown)",
        if k.user_name.is_empty() { "?" } else { &k.user_name },
        if k.account_id.is_empty() { "?" } else { &k.account_id },
        k.event_id
    )
}

//! What the plan does with an IAM snapshot (`--iam`, issue #20): the reachable set of the
//! unseen tail ([`crate::contain`]) is recorded in the plan, the size of each deny policy is
//! checked against what the principal's inline policies already use (F8 limits their total,
//! not one policy), and with `--contain-reachable` precautionary actions are added for what
//! the unseen tail could have minted where no log shows it:
//!
//! * every reachable role that is not used in the evidence, or used but not denied in full by
//!   the evidence-based actions (a surgical deny names only the logged sessions; a role whose
//!   logged sessions all expired has none), gets the AWSRevokeOlderSessions deny (F6) under
//!   its own name ([`PRECAUTION_POLICY_NAME`]), with its collateral (every live session of
//!   that role in the trail) counted; reachable service-linked (F6) and Identity Center (F20)
//!   roles cannot be denied by IAM and are noted instead;
//! * every user whose access keys or password it could create is a review item (list its
//!   keys and password, compare with the snapshot);
//! * every account whose IAM policies it could change is a review item (IAM changes since the
//!   evidence ended).
//!
//! They are kept apart from the evidence-based actions (`precautionary` in the plan, after
//! them in `plan.sh`), numbered after them, and `verify` checks them on their own.

use super::commands::{checked, review};
use super::policy::deny_statement;
use super::room::{room, TrailRooms};
use super::{policy_size, statement_matches, Action, ActionKind, Plan, ROLE_POLICY_LIMIT};
use crate::chain::{arn_account, session_expiry, NodeKind, SessionGraph};
use crate::contain::{Iam, Reachable};
use crate::escape::shell_word;
use crate::iam::role_key;
use crate::time::fmt_iso;
use serde_json::json;

/// Name of the precautionary deny put on reachable, unused roles.
pub const PRECAUTION_POLICY_NAME: &str = "TrailhoundPrecautionRevokeOlderSessions";

/// Whether `actions` deny every session of role `arn` issued before `cut`: an inline deny on
/// the role, or a managed one attached to it, with a statement that matches a session issued
/// just before the cut-off whatever its name.
fn denies_older_sessions(actions: &[Action], arn: &str, cut: i64) -> bool {
    let want = role_key(arn);
    let on_role = |a: &Action| a.principal_arn.as_deref().and_then(role_key) == want;
    let full = |doc: Option<&serde_json::Value>| {
        doc.and_then(|d| d.get("Statement"))
            .and_then(serde_json::Value::as_array)
            .is_some_and(|sts| sts.iter().any(|st| statement_matches(st, Some(cut - 1), None)))
    };
    actions.iter().filter(|a| on_role(a)).any(|a| match a.kind {
        ActionKind::PutRolePolicy => full(a.policy_document.as_ref()),
        ActionKind::AttachRolePolicy => actions.iter().any(|c| {
            c.kind == ActionKind::CreatePolicy
                && c.policy_arn.is_some()
                && c.policy_arn == a.policy_arn
                && full(c.policy_document.as_ref())
        }),
        _ => false,
    })
}

/// The role name at the end of a role ARN (after its path).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Records `reach` in `p`, checks every deny against the inline policies the snapshot shows,
/// and with `contain` adds the precautionary actions (module docs).
pub fn apply(p: &mut Plan, iam: &Iam, reach: Reachable, g: &SessionGraph, contain: bool) {
    // The rooms the plan was built with (borrowed out while `p` changes).
    let trail = std::mem::take(&mut p.trail_rooms);
    apply_with(p, iam, &trail, reach, g, contain);
    p.trail_rooms = trail;
}

fn apply_with(
    p: &mut Plan,
    iam: &Iam,
    trail: &TrailRooms,
    reach: Reachable,
    g: &SessionGraph,
    contain: bool,
) {
    let cut = p.effective_at.0;
    // What the plan counted refused already: taken before `role_ids` grows a surgical deny's
    // list, so that a deny it pushes past its room is counted as newly refused.
    let before = super::room::refused(&p.actions);
    attacker_user_facts(p, iam);
    leaked_user_keys(p, iam);
    open_trust(p, iam);
    role_ids(p, iam, g);
    let actions = std::mem::take(&mut p.actions);
    p.actions = fit_or_managed(actions, &[], Some(iam), trail, &mut p.notes);
    let after = super::room::refused(&p.actions);
    super::room::count_refused(&before, after, &mut p.summary, &mut p.notes);
    // Both may add actions: back in running order (a no-op when they added none).
    super::order(&mut p.actions);
    if contain {
        p.contain_reachable = true;
        let mut pre = Vec::new();
        // The sessions the evidence-based actions cover: a used role's own tainted sessions
        // are not the precaution's collateral.
        let tainted: std::collections::BTreeSet<String> =
            p.actions.iter().flat_map(|a| a.covers.iter().flatten().cloned()).collect();
        for r in &reach.roles {
            // A role the evidence shows in use is contained only by a deny of every session
            // issued before the cut-off: a surgical deny names only the sessions the logs
            // show, and a role whose logged sessions have all expired has no deny at all,
            // while the unseen tail could have minted more of it.
            if r.used && r.kind == "ordinary" && denies_older_sessions(&p.actions, &r.arn, cut) {
                continue;
            }
            if r.kind != "ordinary" {
                p.notes.push(format!(
                    "reachable role {} is {}: no IAM policy can deny its sessions ({}); watch it instead",
                    r.arn,
                    r.kind.replace('_', "-"),
                    if r.kind == "identity_center" { "F20: revoke through Identity Center" } else { "F6" }
                ));
                continue;
            }
            let statement = deny_statement("TrailhoundPrecautionRevokeOlderSessions", cut, None);
            let doc = json!({ "Version": "2012-10-17", "Statement": [statement.clone()] });
            let mut collateral = Vec::new();
            let want = role_key(&r.arn);
            for (n, node) in g.nodes.iter().enumerate() {
                let of_role = node.kind == NodeKind::Session
                    && want.is_some()
                    && node.role_arn.as_deref().and_then(role_key) == want;
                if of_role
                    && !tainted.contains(node.id.as_str())
                    && session_expiry(g, n).is_none_or(|x| x > cut)
                    // Calls without `creationDate`: issued before the first (as verify reads it).
                    && statement_matches(
                        &statement,
                        node.issued_at.or(node.first_seen),
                        node.userid.as_deref(),
                    )
                {
                    collateral.push(node.id.clone());
                }
            }
            pre.push(checked(Action {
                kind: ActionKind::PutRolePolicy,
                account_id: Some(r.account_id.clone()),
                principal_arn: Some(r.arn.clone()),
                policy_name: Some(PRECAUTION_POLICY_NAME.into()),
                policy_size: Some(policy_size(&doc)),
                policy_size_limit: Some(ROLE_POLICY_LIMIT),
                policy_document: Some(doc),
                covers: Some(Vec::new()),
                collateral: Some(collateral),
                reason: format!(
                    "precaution (not evidence-based): role {} is reachable from the unseen tail ({} via {}, {} hop(s){}) {}; deny its sessions issued before {} in case one was minted after the last log (F6)",
                    role_name(&r.arn),
                    r.from.join(", "),
                    r.via,
                    r.depth,
                    if r.certain { "" } else { ", under a condition" },
                    if r.used {
                        "and used in the evidence, but the plan's denies cover only the sessions the logs show"
                    } else {
                        "but not used in the evidence"
                    },
                    fmt_iso(cut)
                ),
                ..Default::default()
            }));
        }
        for u in &reach.users {
            let name = role_name(&u.arn);
            let account = crate::chain::arn_account(&u.arn).map(str::to_string);
            let slots = iam.snapshot.user(&u.arn).and_then(|s| s.access_keys.as_ref());
            let known = match (&u.keys_at_snapshot, slots) {
                (Some(k), _) if k.is_empty() => {
                    "it had no access keys at snapshot time".to_string()
                }
                (Some(k), _) => format!("its keys at snapshot time: {}", k.join(", ")),
                (None, Some(ks)) => format!(
                    "the credential report shows {} access key(s) active at snapshot time, without their ids",
                    ks.iter().filter(|k| k.status == "Active").count()
                ),
                (None, None) => "its keys at snapshot time are unknown".to_string(),
            };
            pre.push(review(
                account,
                format!(
                    "precaution (not evidence-based): the unseen tail could {} for user {name} (via {}): list its access keys and console password and treat any you do not know as the attacker's; {known}",
                    u.actions.join(" / "),
                    u.via
                ),
                &[
                    format!("aws iam list-access-keys --user-name {}", shell_word(name)),
                    format!("aws iam get-login-profile --user-name {}", shell_word(name)),
                ],
            ));
        }
        // A principal whose account the snapshot does not hold (another account's export, a
        // page left out; one the account holds is taken as allowed everything there, an
        // upper bound, `iam::reach`): what it could reach is unknown, so nothing of it is
        // contained; saying "0 reachable" would read as contained. The plan exits 1 until the
        // snapshot holds it.
        for pr in reach.principals.iter().filter(|pr| !pr.in_snapshot && !pr.upper_bound) {
            let account = arn_account(&pr.principal).map(str::to_string);
            let acct = account.clone().unwrap_or_else(|| "?".into());
            pre.push(review(
                account,
                format!(
                    "precaution NOT made: {} ({}) is not in the IAM snapshot, so what it could reach in account {acct} or beyond is unknown and --contain-reachable contains none of it; collect that account's IAM snapshot and plan again",
                    pr.principal,
                    if pr.credentials.is_empty() {
                        "a role the evidence shows in use".to_string()
                    } else {
                        format!("unseen tail: {}", pr.credentials.join(", "))
                    }
                ),
                &[format!(
                    "aws iam get-account-authorization-details --output json > iam/{}.json   # with credentials for account {}",
                    shell_word(&acct),
                    shell_word(&acct)
                )],
            ));
            p.summary.uncontained_principals += 1;
        }
        let since = p
            .evidence_window
            .iter()
            .map(|w| w.last_event.clone())
            .min()
            .unwrap_or_else(|| fmt_iso(cut));
        for c in &reach.policy_changes {
            pre.push(review(
                Some(c.account_id.clone()),
                format!(
                    "precaution (not evidence-based): the unseen tail could change IAM policies in account {} ({}, via {}): {}; review every IAM change there since the evidence ends",
                    c.account_id,
                    c.actions.join(", "),
                    c.via,
                    c.label
                ),
                &[format!(
                    "aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventSource,AttributeValue=iam.amazonaws.com --start-time {}",
                    shell_word(&since)
                )],
            ));
        }
        let mut pre = fit_or_managed(pre, &p.actions, Some(iam), trail, &mut p.notes);
        let first = p.actions.len() as u32 + 1;
        for (i, a) in pre.iter_mut().enumerate() {
            a.order = first + i as u32;
        }
        p.precautionary = pre;
        // plan.sh runs them too: the untainted live sessions only they deny are collateral of
        // this plan (verify counts them so), or every summary said "0 collateral" of a
        // precaution that cuts a production session.
        let known: std::collections::BTreeSet<&str> = p
            .actions
            .iter()
            .flat_map(|a| a.collateral.iter().flatten())
            .map(String::as_str)
            .collect();
        let more: std::collections::BTreeSet<&str> = p
            .precautionary
            .iter()
            .filter(|a| a.kind != ActionKind::Review)
            .flat_map(|a| a.collateral.iter().flatten())
            .map(String::as_str)
            .filter(|c| !known.contains(c))
            .collect();
        p.summary.collateral_sessions += more.len() as u64;
    }
    p.reachable = Some(reach);
    p.notes.sort();
    p.notes.dedup();
}

/// An attacker-made user is deleted in the order `DeleteUser` requires (SPEC §9); the evidence
/// shows only what the attacker did in the logs. Where the snapshot holds the user, what it
/// shows beyond that is removed too: access keys (deactivated, then deleted), the console
/// password, attached and inline policies, group memberships; MFA devices are a review item
/// (they must be deactivated by serial number, and a virtual one deleted).
fn attacker_user_facts(p: &mut Plan, iam: &Iam) {
    let mut extra = Vec::new();
    for u in p.attacker_users.iter().filter(|u| u.removable()) {
        let Some(s) = iam.snapshot.user_in(&u.account_id, &u.user_name) else { continue };
        let mine = |a: &&Action| {
            a.account_id.as_deref() == Some(u.account_id.as_str())
                && a.user_name.as_deref() == Some(u.user_name.as_str())
        };
        let has = |kind: ActionKind, f: &dyn Fn(&Action) -> bool| {
            p.actions.iter().filter(mine).any(|a| a.kind == kind && f(a))
        };
        let base = |kind: ActionKind, what: String| {
            Action {
            kind,
            account_id: Some(u.account_id.clone()),
            user_name: Some(u.user_name.clone()),
            reason: format!(
                "user {} was created by the attacker; the IAM snapshot shows {what}, which the logs do not: remove it before deleting the user",
                u.user_name
            ),
            ..Default::default()
        }
        };
        for k in s.access_keys.iter().flatten().filter_map(|k| k.id.as_deref()) {
            let same = |a: &Action| a.access_key_id.as_deref() == Some(k);
            if !has(ActionKind::DeactivateAccessKey, &same) {
                extra.push(checked(Action {
                    access_key_id: Some(k.to_string()),
                    ..base(ActionKind::DeactivateAccessKey, format!("its access key {k}"))
                }));
            }
            if !has(ActionKind::DeleteAccessKey, &same) {
                extra.push(checked(Action {
                    access_key_id: Some(k.to_string()),
                    ..base(ActionKind::DeleteAccessKey, format!("its access key {k}"))
                }));
            }
        }
        if s.login_profile == Some(true) && !has(ActionKind::DeleteLoginProfile, &|_| true) {
            extra.push(checked(base(ActionKind::DeleteLoginProfile, "a console password".into())));
        }
        for arn in &s.attached {
            if !has(ActionKind::DetachUserPolicy, &|a| a.policy_arn.as_deref() == Some(arn)) {
                extra.push(checked(Action {
                    policy_arn: Some(arn.clone()),
                    ..base(ActionKind::DetachUserPolicy, format!("the attached policy {arn}"))
                }));
            }
        }
        for ip in &s.inline {
            let name = ip.name.as_str();
            if !has(ActionKind::DeleteUserPolicy, &|a| a.policy_name.as_deref() == Some(name)) {
                extra.push(checked(Action {
                    policy_name: Some(name.to_string()),
                    ..base(ActionKind::DeleteUserPolicy, format!("the inline policy {name}"))
                }));
            }
        }
        for grp in &s.groups {
            if !has(ActionKind::RemoveUserFromGroup, &|a| a.group_name.as_deref() == Some(grp)) {
                extra.push(checked(Action {
                    group_name: Some(grp.clone()),
                    ..base(ActionKind::RemoveUserFromGroup, format!("membership of group {grp}"))
                }));
            }
        }
        for serial in s.mfa_devices.iter().flatten() {
            extra.push(review(
                Some(u.account_id.clone()),
                format!(
                    "user {} was created by the attacker; the IAM snapshot shows the MFA device {serial}: deactivate it (and delete it if virtual) before deleting the user",
                    u.user_name
                ),
                &[
                    format!(
                        "aws iam deactivate-mfa-device --user-name {} --serial-number {}",
                        shell_word(&u.user_name),
                        shell_word(serial)
                    ),
                    format!("aws iam delete-virtual-mfa-device --serial-number {}", shell_word(serial)),
                ],
            ));
        }
    }
    p.actions.extend(extra);
}

/// The other access keys of each user whose key the plan deactivates (a leaked key, or one the
/// attacker made on a user it did not create): an active key the snapshot shows and the plan
/// does not deactivate may be the attacker's, made where no log reached (a region or trail not
/// recorded, F15, or after the last log). Each is a review item naming the key and its
/// deactivation; one created once the evidence had begun says so. A key the snapshot shows
/// without its id (a credential report alone) is a review item to list the user's keys.
fn leaked_user_keys(p: &mut Plan, iam: &Iam) {
    let made: std::collections::BTreeSet<(&str, &str)> = p
        .attacker_users
        .iter()
        .filter(|u| u.created)
        .map(|u| (u.account_id.as_str(), u.user_name.as_str()))
        .collect();
    let deactivated: std::collections::BTreeSet<&str> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeactivateAccessKey)
        .filter_map(|a| a.access_key_id.as_deref())
        .collect();
    let users: std::collections::BTreeSet<(&str, &str)> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeactivateAccessKey)
        .filter_map(|a| Some((a.account_id.as_deref()?, a.user_name.as_deref()?)))
        .filter(|u| !made.contains(u))
        .collect();
    let began = p.inputs.first_event.map(|t| t.0);
    let mut extra = Vec::new();
    for (acct, name) in users {
        let Some(u) = iam.snapshot.user_in(acct, name) else { continue };
        let active = u.access_keys.iter().flatten().filter(|k| k.status == "Active");
        let mut unnamed = Vec::new();
        for k in active {
            let created = k.created.as_deref().and_then(crate::time::parse_iso);
            let during = created.zip(began).is_some_and(|(c, b)| c >= b);
            let when = match (k.created.as_deref(), during) {
                (Some(c), true) => format!(
                    ", created {} once the evidence had begun: the logs do not show who made it",
                    crate::escape::one_line(c)
                ),
                (Some(c), false) => format!(", created {}", crate::escape::one_line(c)),
                (None, _) => String::new(),
            };
            match k.id.as_deref() {
                Some(id) if deactivated.contains(id) => {}
                Some(id) => extra.push(review(
                    Some(acct.to_string()),
                    format!(
                        "user {name}, whose key the plan deactivates, has another active access key {id} in the IAM snapshot{when}; the attacker could have made it where no log reached (F15) or after the last log: deactivate it unless its owner made it and still holds it"
                    ),
                    &[format!(
                        "aws iam update-access-key --user-name {} --access-key-id {} --status Inactive",
                        shell_word(name),
                        shell_word(id)
                    )],
                )),
                None => unnamed.push(match k.created.as_deref() {
                    Some(c) if during => format!("one created {} (once the evidence had begun)", crate::escape::one_line(c)),
                    Some(c) => format!("one created {}", crate::escape::one_line(c)),
                    None => "one".to_string(),
                }),
            }
        }
        if !unnamed.is_empty() {
            extra.push(review(
                Some(acct.to_string()),
                format!(
                    "user {name}, whose key the plan deactivates, has {} active access key(s) in the IAM snapshot without their ids (its credential report's, or past a page of list-access-keys that says more follow: {}): one may be the key the plan deactivates; list its keys and deactivate every one its owner does not hold",
                    unnamed.len(),
                    unnamed.join("; ")
                ),
                &[format!("aws iam list-access-keys --user-name {}", shell_word(name))],
            ));
        }
    }
    p.actions.extend(extra);
}

/// A role whose trust policy, in the snapshot, lets any AWS principal assume it with no
/// condition: anyone in any account can take its sessions. Whoever set it (the attacker, in a
/// call the trail missed: F15, or after the last log), it is a door the plan's denies do not
/// close for sessions issued after the cut-off. Each is a review item (at most [`LISTED`]
/// named, the rest counted) to restore the trust policy.
///
/// [`LISTED`]: super::tocheck::LISTED
fn open_trust(p: &mut Plan, iam: &Iam) {
    use crate::iam::Doc;
    let mut open = Vec::new();
    for a in iam.snapshot.accounts.values() {
        for r in a.roles.values() {
            let Doc::Ok(trust) = &r.trust else { continue };
            let sid = trust.statements.iter().find(|st| {
                st.effect == crate::iam::policy::Effect::Allow
                    && !st.not_principal
                    && st.conditions.is_empty()
                    && st.principals.as_ref().is_some_and(|pr| pr.any)
                    && ["sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml"]
                        .iter()
                        .any(|x| st.matches_action(x))
            });
            if let Some(st) = sid {
                open.push((a.id.clone(), r.name.clone(), r.arn.clone(), st.sid.clone()));
            }
        }
    }
    let n = open.len();
    for (acct, name, arn, sid) in open.into_iter().take(super::tocheck::LISTED) {
        p.actions.push(review(
            Some(acct),
            format!(
                "role {} trusts any AWS principal with no condition (its trust policy in the IAM snapshot, statement {}): anyone in any account can take its sessions, which no deny of this plan cuts once issued after the cut-off; if no one you know set it, the attacker may have (a call the trail does not hold): restore its trust policy{}",
                crate::escape::one_line(&arn),
                crate::escape::one_line(&sid),
                if n > super::tocheck::LISTED { format!(" ({n} roles in all; the first {} named)", super::tocheck::LISTED) } else { String::new() }
            ),
            &[
                format!("aws iam get-role --role-name {}", shell_word(&name)),
                format!("aws iam update-assume-role-policy --role-name {} --policy-document file://TRUST.json", shell_word(&name)),
            ],
        ));
    }
}

/// A surgical deny names each tainted session by `aws:userid` (F9). Where the evidence shows
/// a session's role but not its id (`*:session`), the snapshot's role id makes the pattern
/// exact. Where the id in the evidence differs from the snapshot's, the role was deleted and
/// re-created under the same name after the incident (or the evidence is not what AWS wrote):
/// a note says so, and the deny keeps the evidence's id, which those sessions carry.
fn role_ids(p: &mut Plan, iam: &Iam, g: &SessionGraph) {
    let surgical = |a: &Action| {
        a.kind == ActionKind::PutRolePolicy
            && a.policy_name.as_deref().map(super::shape_name) == Some(super::SURGICAL_POLICY_NAME)
    };
    if !p.actions.iter().any(surgical) {
        return;
    }
    let index: std::collections::HashMap<&str, usize> =
        g.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    for a in p.actions.iter_mut().filter(|a| surgical(a)) {
        let Some(role) = a.principal_arn.as_deref().and_then(|r| iam.snapshot.role(r)) else {
            continue;
        };
        if !crate::iam::is_role_id(&role.id) {
            p.notes.push(format!(
                "role {}: the IAM snapshot's role id {:?} is not a role id: not used",
                role.name,
                crate::escape::one_line(&role.id)
            ));
            continue;
        }
        let mut ids = Vec::new();
        for id in a.covers.iter().flatten() {
            let Some(node) = index.get(id.as_str()).map(|&n| &g.nodes[n]) else { continue };
            if let Some(seen) = node.userid.as_deref().and_then(|u| u.split(':').next()) {
                if seen.starts_with("ARO") && seen != role.id {
                    p.notes.push(format!(
                        "session {}: the evidence gives role {} the id {}, the IAM snapshot {}: the role was deleted and re-created under the same name since, or the evidence is not what AWS wrote; the deny keeps the evidence's id",
                        node.id, role.name, seen, role.id
                    ));
                }
            }
            ids.extend(super::policy::userid_pattern(node, Some(&role.id)));
        }
        ids.sort();
        ids.dedup();
        let Some(doc) = a.policy_document.as_mut() else { continue };
        let Some(list) = doc.pointer_mut("/Statement/0/Condition/StringLike/aws:userid") else {
            continue;
        };
        let new = json!(ids);
        if *list == new || ids.is_empty() {
            continue;
        }
        *list = new;
        a.policy_size = Some(policy_size(doc));
        a.command.clear();
        let done = checked(std::mem::take(a));
        *a = done;
    }
}

/// Characters a customer managed policy may hold (F8).
pub const MANAGED_POLICY_LIMIT: usize = 6144;
/// Managed policies attached to one role or user by default (F8; raisable to 20).
pub(super) const ATTACHED_POLICY_QUOTA: usize = 10;

/// F8 limits the total size of a principal's inline policies, not one policy: where the
/// snapshot or the trail shows what a role's or user's inline policies already use
/// ([`super::room::room`]), each inline deny of `actions` gets the room left as its limit, and
/// one that no longer fits is made a customer managed policy (`create_policy`, 6,144
/// characters) attached to the principal (`attach_*_policy`) instead, which denies the same
/// sessions: IAM evaluates attached and inline policies alike. When the principal also has the
/// default quota of managed policies attached, the inline deny stays with a review item (the
/// quota may have been raised).
///
/// `earlier` are the plan's actions that run before these (the evidence's, for the
/// precautionary ones): an inline deny shares its principal's budget with the plan's other
/// inline policies on it (a review: the evidence's deny and a precautionary one on one role
/// were each held to the room alone, and IAM refused the second).
pub(super) fn fit_or_managed(
    actions: Vec<Action>,
    earlier: &[Action],
    iam: Option<&Iam>,
    trail: &TrailRooms,
    notes: &mut Vec<String>,
) -> Vec<Action> {
    let mut out = Vec::with_capacity(actions.len());
    // (role, account, lower-case principal name) → the plan's inline policies on it so far:
    // name → characters.
    type Inline = std::collections::BTreeMap<
        (bool, String, String),
        std::collections::BTreeMap<String, usize>,
    >;
    let principal_key = |a: &Action| {
        let role = match a.kind {
            ActionKind::PutRolePolicy => true,
            ActionKind::PutUserPolicy => false,
            _ => return None,
        };
        let name = role_name(a.principal_arn.as_deref()?).to_ascii_lowercase();
        Some((role, a.account_id.clone().unwrap_or_default(), name))
    };
    let mut inline: Inline = Default::default();
    for a in earlier {
        if let (Some(k), Some(n), Some(size)) = (principal_key(a), &a.policy_name, a.policy_size) {
            inline.entry(k).or_default().insert(n.clone(), size);
        }
    }
    // (account, user, inline name) → the managed policy that replaced it.
    let mut moved: Vec<(Option<String>, String, String, String)> = Vec::new();
    // (account, lower-case name) of the managed policies made here: a role and a user of one
    // name in one account get a policy each.
    // Those an earlier fitting made are taken too.
    let mut named: std::collections::BTreeSet<(String, String)> = actions
        .iter()
        .filter(|a| a.kind == ActionKind::CreatePolicy)
        .filter_map(|a| {
            Some((a.account_id.clone()?, a.policy_name.as_deref()?.to_ascii_lowercase()))
        })
        .collect();
    for mut a in actions {
        let (Some(room), Some(size)) = (room(&a, iam, trail), a.policy_size) else {
            out.push(a);
            continue;
        };
        let mine = principal_key(&a).map(|k| inline.entry(k).or_default());
        let this = a.policy_name.clone().unwrap_or_default();
        let planned: usize = mine.as_ref().map_or(0, |m| {
            m.iter()
                .filter(|(n, _)| **n != this && !super::room::in_snapshot(&a, iam, n))
                .map(|(_, s)| *s)
                .sum()
        });
        let (used, limit, attached) =
            (room.used.saturating_add(planned), room.limit, room.attached);
        a.policy_size_limit = Some(limit.saturating_sub(used));
        if size + used <= limit {
            if let Some(m) = mine {
                m.insert(this, size);
            }
            out.push(a);
            continue;
        }
        let room = super::room::Room {
            why: match planned {
                0 => room.why,
                n => format!("{} (and this plan's other inline denies on it take {n})", room.why),
            },
            ..room
        };
        let arn = a.principal_arn.clone().unwrap_or_default();
        let principal = role_name(&arn).to_string();
        // The managed policy takes the shape's name (`TrailhoundRevokeOlderSessions-ROLE`):
        // a managed policy of a name already made is never replaced (EntityAlreadyExists).
        let name = a.policy_name.as_deref().map(super::shape_name).unwrap_or_default().to_string();
        let role = a.kind == ActionKind::PutRolePolicy;
        let kind = if role { "role" } else { "user" };
        let full =
            format!("{kind} {principal}: {}, so the deny {name} cannot be added inline", room.why);
        // One managed policy, or several where it is over what one may hold: its aws:userid
        // lists cut between them (a statement that cannot be cut stays whole, and IAM refuses
        // it: `room::refused` counts it).
        let docs: Vec<serde_json::Value> = a
            .policy_document
            .as_ref()
            .filter(|_| size > MANAGED_POLICY_LIMIT)
            .and_then(|d| super::policy::split_policy(d, MANAGED_POLICY_LIMIT))
            .unwrap_or_else(|| a.policy_document.clone().into_iter().collect());
        if attached + docs.len() > ATTACHED_POLICY_QUOTA {
            notes.push(format!("{full}, and it has {attached} managed policies attached (default quota {ATTACHED_POLICY_QUOTA}, F8): see the review item"));
            let flag = if role { "--role-name" } else { "--user-name" };
            let review_item = review(
                a.account_id.clone(),
                format!("{full}, and it already has {attached} managed policies attached (the default quota is {ATTACHED_POLICY_QUOTA}, F8): make room (or raise the quota) and attach the deny as a managed policy"),
                &[format!("aws iam list-attached-{kind}-policies {flag} {}", shell_word(&principal))],
            );
            out.push(a);
            out.push(review_item);
            continue;
        }
        let account = a.account_id.clone().unwrap_or_default();
        // A name no call of the trail made a policy under, nor the snapshot shows, nor this
        // plan gave already: IAM refuses a second policy of one name (EntityAlreadyExists),
        // and one the attacker made first holds a document this plan did not write.
        let taken = |named: &std::collections::BTreeSet<(String, String)>, n: &str| {
            named.contains(&(account.clone(), n.to_ascii_lowercase()))
                || trail.made_policy(&account, n)
                || iam.is_some_and(|i| {
                    i.snapshot.policies.keys().any(|arn| {
                        arn_account(arn) == Some(account.as_str())
                            && arn.rsplit('/').next().is_some_and(|p| p.eq_ignore_ascii_case(n))
                    })
                })
        };
        let base = format!("{name}-{principal}");
        // In the principal's partition (aws-cn, aws-us-gov, …): IAM refuses to attach a policy
        // of another.
        let partition = super::commands::partition_of(&arn);
        let mut made = Vec::new();
        for (k, doc) in docs.into_iter().enumerate() {
            let managed = std::iter::once(base.clone())
                .chain((2..).map(|k| format!("{base}-{k}")))
                .find(|n| !taken(&named, n))
                .unwrap_or_else(|| base.clone());
            if k == 0 && managed != base {
                notes.push(format!(
                    "the managed policy name {base} is taken in account {account} (a CreatePolicy in the trail, the snapshot or another deny of this plan): the deny is created as {managed}"
                ));
            }
            named.insert((account.clone(), managed.to_ascii_lowercase()));
            let policy_arn = format!("arn:{partition}:iam::{account}:policy/{managed}");
            if !role {
                moved.push((
                    a.account_id.clone(),
                    principal.clone(),
                    name.clone(),
                    policy_arn.clone(),
                ));
            }
            let part_size = super::policy_size(&doc);
            out.push(checked(Action {
                kind: ActionKind::CreatePolicy,
                account_id: a.account_id.clone(),
                policy_name: Some(managed.clone()),
                policy_arn: Some(policy_arn.clone()),
                policy_size: Some(part_size),
                policy_size_limit: Some(MANAGED_POLICY_LIMIT),
                policy_document: Some(doc),
                reason: format!(
                    "{full}: create it as the customer managed policy {managed}, attached to {kind} {principal} by the next action"
                ),
                ..Default::default()
            }));
            // What the deny covers is counted once, on its first part.
            out.push(checked(Action {
                kind: if role {
                    ActionKind::AttachRolePolicy
                } else {
                    ActionKind::AttachUserPolicy
                },
                account_id: a.account_id.clone(),
                principal_arn: Some(arn.clone()),
                policy_name: Some(managed.clone()),
                policy_arn: Some(policy_arn),
                covers: a.covers.take(),
                collateral: a.collateral.take(),
                reason: format!(
                    "{} (attached as a managed policy: no inline room left, F8)",
                    a.reason
                ),
                ..Default::default()
            }));
            made.push(managed);
        }
        notes.push(match made.len() {
            1 => format!("{full}: it is created as the managed policy {} and attached instead", made[0]),
            n => format!(
                "{full}: it has {size} characters, over the {MANAGED_POLICY_LIMIT} one managed policy may hold, so its aws:userid lists are cut across {n} managed policies ({}), created and attached instead",
                made.join(", ")
            ),
        });
    }
    // The clean-up of an attacker-made user deletes the inline deny before DeleteUser; where
    // the deny became a managed policy, it is detached instead (DeleteUser refuses a user with
    // attached policies).
    // (A deny cut in parts is detached part by part.)
    let mut done = Vec::with_capacity(out.len());
    for a in out {
        let hits: Vec<&(Option<String>, String, String, String)> = moved
            .iter()
            .filter(|(acct, user, name, _)| {
                a.kind == ActionKind::DeleteUserPolicy
                    && *acct == a.account_id
                    && Some(user.as_str()) == a.user_name.as_deref()
                    && Some(name.as_str()) == a.policy_name.as_deref()
            })
            .collect();
        if hits.is_empty() {
            done.push(a);
            continue;
        }
        for (_, user, _, arn) in hits {
            done.push(checked(Action {
                kind: ActionKind::DetachUserPolicy,
                account_id: a.account_id.clone(),
                user_name: a.user_name.clone(),
                policy_arn: Some(arn.clone()),
                reason: format!("user {user}: detach the managed deny {arn} (the user has no credentials left by now)"),
                ..Default::default()
            }));
        }
    }
    done
}

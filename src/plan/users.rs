//! The removal of the users the attacker made (SPEC §9), in the order `DeleteUser` requires:
//! what the evidence shows on each (keys, console password, attached and inline policies,
//! groups) comes off first, under the name the user has at the end of the trail; a user the
//! attacker only took over, or one made by a session tainted only through an ambiguous link
//! (it may be a clean session's: `AttackerUser::made_unsure`), is denied and left to a human.

use super::commands::{checked, review};
use super::{Action, ActionKind, TrailRooms, BLOCKS_DELETE_USER, DENY_ALL_POLICY_NAME};
use crate::blast::{BlastRadius, Persistence};
use crate::escape::shell_word;
use crate::taint::AttackerUser;
use std::collections::{BTreeMap, BTreeSet};

/// Adds to `actions` the removal of each user of `live_users` (the attacker's users not
/// deleted since) and marks in `handled` the persistence findings it deals with; `user_keys`
/// are the tainted long-term keys of each (deactivated earlier in the plan).
pub(super) fn remove_users(
    b: &BlastRadius,
    live_users: &[&AttackerUser],
    user_keys: &BTreeMap<(String, String), BTreeSet<String>>,
    trail_rooms: &TrailRooms,
    handled: &mut BTreeSet<String>,
    actions: &mut Vec<Action>,
) {
    // Each user's persistence entries, in their order: grouped once, not looked for among all
    // of them for each user (5,000 users the attacker made are 5,000 entries each scanned
    // 5,000 times).
    let mut by_user: BTreeMap<(&str, &str), Vec<&Persistence>> = BTreeMap::new();
    for p in &b.persistence {
        if let (Some(a), Some(n)) = (p.account_id.as_deref(), p.user_name.as_deref()) {
            by_user.entry((a, n)).or_default().push(p);
        }
    }
    // What the attacker did to a user deleted since went with it: no review item would find
    // it, and one naming the user would point at whoever holds the name now.
    for u in b.attacker_users.iter().filter(|u| u.deleted.is_some()) {
        let before = |p: &&&Persistence| u.deleted_at.is_none_or(|d| p.event_time.secs() < d);
        for name in u.names() {
            let done = by_user.get(&(u.account_id.as_str(), name.as_str())).into_iter().flatten();
            handled.extend(done.filter(before).map(|p| p.event_id.clone()));
        }
    }
    for &u in live_users {
        let key = super::who(&u.account_id, &u.user_name);
        // Under each name it had: a call before a rename named it by its old one.
        let of_user: Vec<&Persistence> = u
            .names()
            .filter_map(|name| by_user.get(&(u.account_id.as_str(), name.as_str())))
            .flatten()
            .copied()
            .collect();
        let of_user = of_user.as_slice();
        // What DeleteUser refuses to delete for us (DeleteConflict) and the plan cannot remove
        // by name from the evidence (the device serial or key id comes from a list call): each
        // stays a review item, named in the delete_user action, and not taken as handled.
        let (blocking, undone): (Vec<&Persistence>, Vec<&Persistence>) =
            of_user.iter().partition(|p| BLOCKS_DELETE_USER.contains(&p.event_name.as_str()));
        handled.extend(undone.iter().map(|p| p.event_id.clone()));
        let base = |kind: ActionKind, reason: String| Action {
            kind,
            account_id: Some(u.account_id.clone()),
            user_name: Some(u.user_name.clone()),
            reason,
            ..Default::default()
        };
        if of_user.iter().any(|p| p.event_name.ends_with("LoginProfile")) {
            actions.push(checked(base(
                ActionKind::DeleteLoginProfile,
                format!(
                    "user {}: its console password was set by the attacker; remove it",
                    u.user_name
                ),
            )));
        }
        if u.created && u.made_unsure.is_none() {
            for k in user_keys.get(&key).into_iter().flatten() {
                actions.push(checked(Action {
                    access_key_id: Some(k.clone()),
                    ..base(ActionKind::DeleteAccessKey, format!("user {}: delete its access key {k} (already deactivated above) before deleting the user", u.user_name))
                }));
            }
            let mut policies = BTreeSet::new();
            let mut inline = BTreeSet::new();
            let mut groups = BTreeSet::new();
            for p in of_user {
                match p.event_name.as_str() {
                    "AttachUserPolicy" => policies.extend(p.policy_arn.clone()),
                    "PutUserPolicy" => inline.extend(p.policy_name.clone()),
                    _ => {}
                }
            }
            let (shown_inline, shown_attached) =
                trail_rooms.user_policies(&u.account_id, &u.user_name);
            inline.extend(shown_inline.into_iter().map(str::to_string));
            policies.extend(shown_attached.into_iter().map(str::to_string));
            for p in of_user.iter().filter(|p| p.event_name == "AddUserToGroup") {
                handled.insert(p.event_id.clone());
                groups.extend(p.group_name.clone());
            }
            for arn in policies {
                actions.push(checked(Action {
                    policy_arn: Some(arn.clone()),
                    ..base(
                        ActionKind::DetachUserPolicy,
                        format!("user {}: detach {arn}, attached by the attacker", u.user_name),
                    )
                }));
            }
            inline.insert(DENY_ALL_POLICY_NAME.to_string());
            for name in inline {
                actions.push(checked(Action {
                    policy_name: Some(name.clone()),
                    ..base(ActionKind::DeleteUserPolicy, format!("user {}: delete inline policy {name} (the user has no credentials left by now)", u.user_name))
                }));
            }
            for grp in groups {
                actions.push(checked(Action {
                    group_name: Some(grp.clone()),
                    ..base(
                        ActionKind::RemoveUserFromGroup,
                        format!("user {}: remove it from group {grp}", u.user_name),
                    )
                }));
            }
            let first = if blocking.is_empty() {
                String::new()
            } else {
                let mut names: Vec<&str> = blocking.iter().map(|p| p.event_name.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                format!(
                    " The evidence shows {} on it: do those review items first, or AWS answers DeleteConflict (plan.sh then puts the deny-all policy back).",
                    names.join(", ")
                )
            };
            actions.push(checked(base(
                ActionKind::DeleteUser,
                format!(
                    "user {} was created by the attacker ({}); delete it.{first} If AWS answers DeleteConflict, something the logs do not show remains (MFA devices, signing certificates, SSH keys, service-specific credentials, other keys or policies): list and remove it first",
                    u.user_name,
                    u.evidence.join(", ")
                ),
            )));
        } else {
            let what = match &u.made_unsure {
                Some(why) => format!(
                    "user {} may not be one the attacker made ({}): {why}. It is denied everything and its keys are deactivated; decide whether to delete it (find who made it: the source address and agent in the call) or to give it back to its owner ({DENY_ALL_POLICY_NAME} removed, keys reactivated)",
                    u.user_name,
                    u.evidence.join(", ")
                ),
                None => format!(
                    "user {} existed before the incident but the attacker set its console password ({}): it is denied everything; decide whether to delete it or to restore access to its owner (new password, keys rotated, {DENY_ALL_POLICY_NAME} removed)",
                    u.user_name,
                    u.evidence.join(", ")
                ),
            };
            actions.push(review(
                Some(u.account_id.clone()),
                what,
                &[format!("aws iam delete-user-policy --user-name {} --policy-name {DENY_ALL_POLICY_NAME}", shell_word(&u.user_name))],
            ));
        }
    }
}

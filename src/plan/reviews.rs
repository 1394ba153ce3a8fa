//! Persistence that needs a human: a `review` item for each persistence finding of the blast
//! radius that no other action handles, with the suggested command commented out (what was
//! done to a role deleted since is a note instead: a review item naming the role would point
//! at whatever role holds the name now).

use super::commands::review;
use super::Action;
use crate::blast::BlastRadius;
use crate::chain::SessionGraph;
use crate::escape::{one_line, shell_word};
use crate::time::fmt_iso;
use std::collections::BTreeSet;

/// Pushes a review item for each of `b`'s persistence findings not `handled` (nor a
/// `CreateAccessKey`, which `deactivate_access_key` covers) to `actions`: one per finding,
/// except that findings alike in all the item says (account, call, target, what to do, the
/// suggested commands) are one item naming the first and counting the rest, so that a flood
/// of one call (3,000 `RunTask`s) is one item, not 3 MB of plan (`blast.json` lists each).
pub(super) fn persistence_reviews(
    g: &SessionGraph,
    b: &BlastRadius,
    handled: &BTreeSet<String>,
    actions: &mut Vec<Action>,
    notes: &mut Vec<String>,
) {
    // Each item's findings: the first, how many more, the time of the last.
    type Key = (Option<String>, String, String, String, Vec<String>);
    let mut items: Vec<(Key, &crate::blast::Persistence, u64, String)> = Vec::new();
    let mut index: std::collections::BTreeMap<Key, usize> = std::collections::BTreeMap::new();
    for p in &b.persistence {
        if handled.contains(&p.event_id) || p.event_name == "CreateAccessKey" {
            continue; // done above, or covered by deactivate_access_key
        }
        // What was done to a role deleted since went with it: a review item naming the role
        // would point at whatever role holds the name now (another role, made again).
        let t = p.event_time.secs();
        if let (Some(a), Some(r)) = (p.account_id.as_deref(), p.role_name.as_deref()) {
            if let Some(d) = g.role_gone_after(a, r, t) {
                notes.push(format!(
                    "{} of role {} ({}) is not reviewed: the role is gone since ({} {} at {}: deleted, or its name made again), and a role made under its name after that is another",
                    p.event_name,
                    one_line(r),
                    p.event_id,
                    d.event_name,
                    d.event_id,
                    fmt_iso(d.time)
                ));
                continue;
            }
        }
        let q = |v: &Option<String>| shell_word(v.as_deref().unwrap_or("?"));
        let suggestion: Vec<String> = match p.event_name.as_str() {
            "AttachRolePolicy" => vec![format!("aws iam detach-role-policy --role-name {} --policy-arn {}", q(&p.role_name), q(&p.policy_arn))],
            "PutRolePolicy" => vec![format!("aws iam delete-role-policy --role-name {} --policy-name {}", q(&p.role_name), q(&p.policy_name))],
            "AttachUserPolicy" => vec![format!("aws iam detach-user-policy --user-name {} --policy-arn {}", q(&p.user_name), q(&p.policy_arn))],
            "PutUserPolicy" => vec![format!("aws iam delete-user-policy --user-name {} --policy-name {}", q(&p.user_name), q(&p.policy_name))],
            "AttachGroupPolicy" => vec![format!("aws iam detach-group-policy --group-name {} --policy-arn {}", q(&p.group_name), q(&p.policy_arn))],
            "AddUserToGroup" => vec![format!("aws iam remove-user-from-group --user-name {} --group-name {}", q(&p.user_name), q(&p.group_name))],
            "UpdateAssumeRolePolicy" => vec![
                format!("aws iam get-role --role-name {} --query Role.AssumeRolePolicyDocument", q(&p.role_name)),
                format!("aws iam update-assume-role-policy --role-name {} --policy-document file://trust-policy-before-the-incident.json", q(&p.role_name)),
            ],
            "CreateRole" => vec![format!("aws iam delete-role --role-name {}   # after removing its policies and instance profiles", q(&p.role_name))],
            "EnableMFADevice" => vec![
                format!("aws iam list-mfa-devices --user-name {}", q(&p.user_name)),
                format!("aws iam deactivate-mfa-device --user-name {} --serial-number SERIAL_FROM_THE_LIST", q(&p.user_name)),
            ],
            "UploadSSHPublicKey" => vec![
                format!("aws iam list-ssh-public-keys --user-name {}", q(&p.user_name)),
                format!("aws iam delete-ssh-public-key --user-name {} --ssh-public-key-id ID_FROM_THE_LIST", q(&p.user_name)),
            ],
            "CreateServiceSpecificCredential" => vec![
                format!("aws iam list-service-specific-credentials --user-name {}", q(&p.user_name)),
                format!("aws iam delete-service-specific-credential --user-name {} --service-specific-credential-id ID_FROM_THE_LIST", q(&p.user_name)),
            ],
            "StopLogging" | "UpdateTrail" | "PutEventSelectors" | "DeleteTrail" => {
                vec![format!("aws cloudtrail start-logging --name {}", q(&p.name))]
            }
            _ => Vec::new(),
        };
        let key = (
            p.account_id.clone(),
            p.event_name.clone(),
            p.target.clone(),
            p.follow_up.clone(),
            suggestion,
        );
        match index.get(&key) {
            Some(&i) => {
                items[i].2 += 1;
                items[i].3 = p.event_time.to_string();
            }
            None => {
                index.insert(key.clone(), items.len());
                items.push((key, p, 0, String::new()));
            }
        }
    }
    for ((account, _, _, _, suggestion), p, more, last) in items {
        let also = if more == 0 {
            String::new()
        } else {
            format!(
                " and {more} more such call(s) until {last} (blast.json's persistence lists each)"
            )
        };
        actions.push(review(
            account,
            format!(
                "{} {} at {} (event {}){also}: {}",
                p.event_name, p.target, p.event_time, p.event_id, p.follow_up
            ),
            &suggestion,
        ));
    }
}

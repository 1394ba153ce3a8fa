//! The credentials of an IAM user given as `--principal` that the trail shows exist and a
//! deny on `aws:TokenIssueTime` does not cut (F5, F6). Seeding a plan by a user's ARN says the
//! user is compromised: its keys are deactivated and its sessions denied, but a console
//! sign-in of the user shows a password that signs in again after any cut-off, and a
//! federation token or `GetSessionToken` session of a user none of whose keys the trail shows
//! proves a long-term key that no action names (F13: only a user's long-term credentials call
//! those). A review seeded a plan by such a user: plan and verify said OK, and both stayed
//! valid. The password is now removed by the plan (`delete_login_profile`); the key is a NOT
//! CUT review item (`plan` exits 1) and a NOT CUT note of `verify` (FAIL), unless the plan
//! denies the user everything or deletes it.

use super::commands::{checked, review};
use super::model::{Action, ActionKind};
use crate::chain::{after_segment, arn_account, NodeKind, SessionGraph};
use crate::escape::{one_line, shell_word};
use crate::time::fmt_iso;
use std::collections::BTreeSet;

/// One such credential.
pub(super) struct Left {
    pub account: String,
    /// The user's name at the end of the trail.
    pub user: String,
    /// The console password (else an access key the trail does not show).
    pub password: bool,
    /// What it is and what shows it, for the notes.
    pub what: String,
    /// The commands a person runs.
    pub commands: Vec<String>,
}

/// The credentials of each user of `principals` (ARNs as given) that the trail shows and the
/// plan's actions do not name: its console password, and a long-term key it does not show.
pub(super) fn left(g: &SessionGraph, principals: &[String]) -> Vec<Left> {
    let mut out = Vec::new();
    for p in principals.iter().map(|p| p.trim()) {
        let (Some(account), Some(named)) = (arn_account(p), after_segment(p, "user/")) else {
            continue;
        };
        let Ok(found) = g.seeds_of_principal(p) else { continue };
        let nodes: Vec<usize> = found.iter().filter_map(|s| g.node(s.as_str())).collect();
        let keys: BTreeSet<usize> =
            nodes.iter().copied().filter(|&n| g.nodes[n].kind == NodeKind::LongTermKey).collect();
        // The earliest console session, and the earliest session of a key not shown.
        let (mut signed_in, mut unseen): (Option<usize>, Option<usize>) = (None, None);
        let earlier = |a: Option<usize>, n: usize| match a {
            Some(a) if g.nodes[a].issued_at <= g.nodes[n].issued_at => Some(a),
            _ => Some(n),
        };
        for &n in &nodes {
            let node = &g.nodes[n];
            if node.kind != NodeKind::Session {
                continue;
            }
            // A federated user's session is a GetFederationToken's, logged or not.
            let federated = node
                .principal_arn
                .as_deref()
                .is_some_and(|a| crate::chain::arn_is(a, "federated-user/"));
            let issued = node.issued_by_event.as_deref();
            if issued == Some("console sign-in") {
                signed_in = earlier(signed_in, n);
                continue;
            }
            let by_token = matches!(issued, Some("GetFederationToken" | "GetSessionToken"))
                || (issued.is_none() && federated);
            // Only when the trail shows no key of the user: one it shows may have issued it.
            if by_token && keys.is_empty() {
                unseen = earlier(unseen, n);
            }
        }
        // The name now of the user as its credentials were first seen: renames before it
        // are another user's (a review: an old user renamed away from the name before the
        // principal was made had its password deleted instead).
        let since =
            nodes.iter().filter_map(|&n| g.nodes[n].first_seen.or(g.nodes[n].issued_at)).min();
        let name = named.rsplit('/').next().unwrap_or(named);
        let user = g.user_name_now(account, name, since).to_string();
        let at = |n: usize| fmt_iso(g.nodes[n].issued_at.unwrap_or_default());
        let u = shell_word(&user);
        if let Some(n) = signed_in {
            out.push(Left {
                account: account.to_string(),
                user: user.clone(),
                password: true,
                what: format!(
                    "the console password of user {} (the --principal; it signed in at {}): a deny on aws:TokenIssueTime does not stop a new sign-in (F5, F6)",
                    one_line(&user),
                    at(n)
                ),
                commands: vec![format!("aws iam delete-login-profile --user-name {u}")],
            });
        }
        if let Some(n) = unseen {
            out.push(Left {
                account: account.to_string(),
                user: user.clone(),
                password: false,
                what: format!(
                    "an access key of user {} (the --principal) that the trail does not show: only a user's long-term key calls {} (F13), which issued {} at {}; list the user's keys and deactivate every one",
                    one_line(&user),
                    g.nodes[n].issued_by_event.as_deref().unwrap_or("GetFederationToken"),
                    one_line(&g.nodes[n].id),
                    at(n)
                ),
                commands: vec![format!("aws iam list-access-keys --user-name {u}")],
            });
        }
    }
    out
}

/// The actions for [`left`] that the plan does not cut with the user (`denied_all`): the
/// password's removal, and a review item for each key (their notes, and how many).
pub(super) fn actions(
    g: &SessionGraph,
    principals: &[String],
    denied_all: impl Fn(&str, &str) -> bool,
    actions: &mut Vec<Action>,
    notes: &mut Vec<String>,
) -> u64 {
    let mut n = 0;
    for l in left(g, principals).into_iter().filter(|l| !denied_all(&l.account, &l.user)) {
        if l.password {
            actions.push(checked(Action {
                kind: ActionKind::DeleteLoginProfile,
                account_id: Some(l.account),
                user_name: Some(l.user),
                reason: format!(
                    "{}: remove it (the owner can be given a new one once the incident is over)",
                    l.what
                ),
                ..Default::default()
            }));
            continue;
        }
        n += 1;
        notes.push(format!("NOT CUT: {}", l.what));
        actions.push(review(Some(l.account), format!("NOT CUT: {}", l.what), &l.commands));
    }
    n
}

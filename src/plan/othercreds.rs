//! The long-term credentials of an IAM user other than its access keys that a tainted
//! credential made: SSH public keys (`UploadSSHPublicKey`: CodeCommit over SSH),
//! service-specific credentials (`CreateServiceSpecificCredential`: CodeCommit over HTTPS,
//! Amazon Keyspaces, Amazon Bedrock API keys) and signing certificates
//! (`UploadSigningCertificate`). Each acts as its user, with the user's policies, and no deny
//! on `aws:TokenIssueTime` ends it (F5): like an access key it is deactivated by its id, which
//! the call's response gives. One whose id the record does not show is cut only with its
//! user (denied everything, or deleted); otherwise it is NOT CUT and `plan` exits 1. `verify`
//! judges each the same way, from its own reading of the trail ([`left_active`]).
//!
//! Before, each was a review item only, and `verify` said OK while the attacker's SSH key or
//! Bedrock API key on an existing user kept working.
//!
//! An existing access key set `Active` again by a tainted credential (`UpdateAccessKey`) is
//! deactivated the same way, by the id its request names: the attacker may hold its secret
//! (an old key leaked with the new one), and the plan had left it to a review item while
//! `verify` said OK. The key's own calls are not followed as tainted (the key was the
//! owner's before); what it did is in the trail under its id.

use super::commands::checked;
use super::{Action, ActionKind, Summary, TrailRooms};
use crate::chain::SessionGraph;
use crate::escape::one_line;

/// The action that deactivates what a call of `event` made, and what that is called.
fn kind_of(event: &str) -> Option<(ActionKind, &'static str)> {
    let what = crate::model::names::other_credential_what(event)?;
    let kind = match what {
        "SSH public key" => ActionKind::DeactivateSshPublicKey,
        "service-specific credential" => ActionKind::DeactivateServiceSpecificCredential,
        "access key" => ActionKind::DeactivateAccessKey,
        _ => ActionKind::DeactivateSigningCertificate,
    };
    Some((kind, what))
}

/// One credential a tainted credential made, still there at the end of the trail.
struct Made<'a> {
    account: &'a str,
    /// Its user's name at the end of the trail (a rename since moved it).
    user: &'a str,
    id: Option<&'a str>,
    kind: ActionKind,
    what: &'static str,
    /// "made", "reset" or "set Active".
    how: &'static str,
    event: String,
}

/// The credentials of [`crate::blast::OTHER_CREDENTIALS`] calls the trail shows made by tainted credentials
/// or by the attacker's users under any credential (a console session's calls may carry no
/// key, F17: [`TrailRooms::from_trail`]); those of a user deleted since went with it.
fn made<'a>(g: &'a SessionGraph, rooms: &'a TrailRooms) -> Vec<Made<'a>> {
    let mut out = Vec::new();
    // One action per credential, however many calls made or revived it.
    let mut seen = std::collections::BTreeSet::new();
    for c in &rooms.others {
        let Some((kind, what)) = kind_of(&c.event_name) else { continue };
        let (account, user) = (c.account.as_str(), c.user.as_str());
        if g.user_gone_after(account, user, c.time).is_some() {
            continue;
        }
        if let Some(id) = c.id.as_deref() {
            if !seen.insert((what, account, user.to_ascii_lowercase(), id)) {
                continue;
            }
        }
        out.push(Made {
            account,
            user: g.user_name_now(account, user, Some(c.time)),
            id: c.id.as_deref(),
            kind,
            what,
            how: match c.event_name.as_str() {
                "ResetServiceSpecificCredential" => "whose password was reset",
                n if n.starts_with("Update") => "set Active again",
                _ => "made",
            },
            event: format!("{} {}", c.event_name, one_line(&c.event_id)),
        });
    }
    out
}

/// The plan's deactivations of the credentials of [`made`], and a NOT CUT note (counted in
/// `keys_by_hand`) for each it cannot deactivate whose user `denied_all` does not cover.
pub(super) fn deactivate(
    g: &SessionGraph,
    rooms: &TrailRooms,
    denied_all: impl Fn(&str, &str) -> bool,
    actions: &mut Vec<Action>,
    notes: &mut Vec<String>,
    summary: &mut Summary,
) {
    for m in made(g, rooms) {
        let key = m.kind == ActionKind::DeactivateAccessKey;
        // A tainted key set Active again is deactivated already, as every tainted key is.
        let done = |id: &str| {
            actions.iter().any(|a| a.kind == m.kind && a.access_key_id.as_deref() == Some(id))
        };
        if key && m.id.is_some_and(done) {
            continue;
        }
        let planned = m.id.map(|id| {
            checked(Action {
                kind: m.kind.clone(),
                account_id: Some(m.account.to_string()),
                user_name: Some(m.user.to_string()),
                access_key_id: key.then(|| id.to_string()),
                credential_id: (!key).then(|| id.to_string()),
                reason: format!(
                    "{} {} of user {}, {} by a tainted credential ({}): it acts as the user, and no deny on aws:TokenIssueTime ends it (F5)",
                    m.what,
                    one_line(id),
                    one_line(m.user),
                    m.how,
                    m.event
                ),
                ..Default::default()
            })
        });
        let cut = planned.as_ref().is_some_and(|a| a.kind != ActionKind::Review);
        if cut && key {
            summary.keys_to_deactivate += 1;
        }
        actions.extend(planned);
        if !cut && !denied_all(m.account, m.user) {
            summary.keys_by_hand += 1;
            notes.push(format!(
                "NOT CUT: the {} of user {} {} by {} stays active until it is found and deactivated by hand (see its review item)",
                m.what,
                one_line(m.user),
                m.how,
                m.event
            ));
        }
    }
}

/// [`deactivated`]'s `(account, user in lower case, id)` of each credential of [`made`]:
/// what verify lets a plan deactivate.
pub(super) fn made_ids(
    g: &SessionGraph,
    rooms: &TrailRooms,
) -> std::collections::BTreeSet<(String, String, String)> {
    made(g, rooms)
        .into_iter()
        .filter_map(|m| {
            Some((m.account.to_string(), m.user.to_ascii_lowercase(), m.id?.to_string()))
        })
        .collect()
}

/// What the plan deactivates: `(account, user in lower case, id)` of each action of the
/// kinds [`kind_of`] names.
pub(super) fn deactivated(a: &Action) -> Option<(String, String, String)> {
    let id = match a.kind {
        ActionKind::DeactivateSshPublicKey
        | ActionKind::DeactivateServiceSpecificCredential
        | ActionKind::DeactivateSigningCertificate => a.credential_id.clone()?,
        ActionKind::DeactivateAccessKey => a.access_key_id.clone()?,
        _ => return None,
    };
    Some((a.account_id.clone()?, a.user_name.as_deref()?.to_ascii_lowercase(), id))
}

/// The credentials of [`made`] the plan leaves active (`verify`): neither deactivated by an
/// action of the right kind naming their user and id, nor cut with their user (`user_cut`:
/// deleted, or denied everything); and the access keys set Active again that it deactivates.
pub(super) fn left_active(
    g: &SessionGraph,
    rooms: &TrailRooms,
    plan: &[Action],
    user_cut: impl Fn(&str, &str) -> bool,
) -> (Vec<String>, Vec<String>) {
    let done: std::collections::BTreeSet<(&str, (String, String, String))> =
        plan.iter().filter_map(|a| Some((a.kind.as_str(), deactivated(a)?))).collect();
    let (mut left, mut keys) = (Vec::new(), Vec::new());
    for m in made(g, rooms) {
        let by_id = m.id.is_some_and(|id| {
            let key = (m.account.to_string(), m.user.to_ascii_lowercase(), id.to_string());
            done.contains(&(m.kind.as_str(), key))
        });
        if let (true, ActionKind::DeactivateAccessKey, Some(id)) = (by_id, &m.kind, m.id) {
            keys.push(id.to_string());
        }
        if !by_id && !user_cut(m.account, m.user) {
            left.push(format!(
                "{} {} of user {} ({})",
                m.what,
                m.id.map_or_else(|| "(id not in the log)".into(), one_line),
                one_line(m.user),
                m.event
            ));
        }
    }
    (left, keys)
}

//! Access keys made without their id in the logs: a `CreateAccessKey` record without its
//! response (some converted exports drop `responseElements`) says a key was made for a user
//! but not which. The graph cannot make a node for it; it keeps the call
//! ([`SessionGraph::unnamed_keys`]) so that `plan` and `verify` can say that a key made with a
//! tainted credential is not cut by any action that names keys.

use super::*;
use crate::ingest::IssuingField as F;

impl SessionGraph {
    /// Keeps each successful `CreateAccessKey` among `events` whose record names no key, with
    /// the node of the credential that made it.
    pub(super) fn keep_unnamed_keys(&mut self, events: &[IssuingCall]) {
        for e in events {
            if e.name() != "CreateAccessKey" || e.failed() || e.get(F::CreatedKeyId).is_some() {
                continue;
            }
            // Without a userName, the key is the caller's own (an IAM user).
            let user = e
                .get(F::RequestUserName)
                .or_else(|| e.get(F::AccessKeyUser))
                .or_else(|| e.get(F::UserName))
                .unwrap_or("")
                .to_string();
            let grant = self.grant_of(e, user, |p, a, u| format!("arn:{p}:iam::{a}:user/{u}"));
            self.unnamed_keys.push(grant);
        }
    }

    /// The call `e` as a [`UserGrant`] about `name`: in the call's account (its recipient's,
    /// else its caller's), with `arn(partition, account, name)` as its ARN, and the node of the
    /// credential that made it.
    pub(super) fn grant_of(
        &mut self,
        e: &IssuingCall,
        name: String,
        arn: impl FnOnce(&str, &str, &str) -> String,
    ) -> UserGrant {
        let account = e.get(F::RecipientAccount).or_else(|| e.get(F::AccountId)).unwrap_or("");
        UserGrant {
            user_arn: arn(call_partition(e), account, &name),
            account_id: account.to_string(),
            user_name: name,
            event_name: e.name().to_string(),
            event_id: e.id().to_string(),
            time: e.time,
            by: self.parent_of(e),
        }
    }

    /// The session that made an IAM user's issuing call with no key (a console session's calls
    /// may carry none, F17): one node per call (`no-key@EVENT`), the user's, first seen then.
    /// Such calls were taken for one outside service shared by them all, so what a user the
    /// attacker made created or assumed from its console was followed by nothing (a review: a
    /// keyless `CreateUser` and `CreateAccessKey`, an `AssumeRole`, plan exit 0, verify OK);
    /// now the taint's rule 2 reaches it as it reaches the user's other sessions, and rule 1
    /// what it made. Its issue time is its `creationDate` when the record gives one, else the
    /// call's, the latest it can be: a deny of the user's sessions issued before a cut-off
    /// after the call covers it (a session begun before the attacker set the user's password
    /// is the owner's, not the attacker's: a review found it taken).
    ///
    /// Root's keyless calls are sessions of root the same way (`principal_type` `Root`): they
    /// were one outside service too, so once the leaked key had set root's password
    /// (`AssumeRoot`, `CreateLoginProfile`) the user and key root's console then made were in
    /// no part of the plan (a review: plan exit 0, verify OK). The taint's root rule takes
    /// those begun once the password was set.
    pub(super) fn keyless_user(&mut self, e: &IssuingCall) -> usize {
        let id = format!("{KEYLESS}{}", e.id());
        if let Some(i) = self.node(&id) {
            return i;
        }
        let mut n = Self::blank(id, NodeKind::Session);
        n.principal_arn = e.get(F::Arn).map(String::from);
        let root = e.get(F::Kind) == Some("Root");
        n.principal_type = Some(Text::from(if root { "Root" } else { "IAMUser" }));
        n.account_id = e.get(F::AccountId).map(Text::from);
        n.user_name = e.get(F::UserName).filter(|_| !root).map(Text::from);
        n.userid = e.get(F::PrincipalId).map(String::from);
        n.issued_at = Some(e.creation_date.filter(|&c| c <= e.time).unwrap_or(e.time));
        n.orphan = true;
        self.add(n)
    }
}

/// How the id of an IAM user's session known only by a keyless call begins
/// ([`SessionGraph::keyless_user`]).
pub(super) const KEYLESS: &str = "no-key@";

/// A session known only by an IAM user's issuing call with no key ([`SessionGraph::keyless_user`]).
pub fn keyless_session(n: &Node) -> bool {
    n.kind == NodeKind::Session && n.id.starts_with(KEYLESS)
}

/// The partition of the account a call was made in, as the call's own ARNs show it (the
/// caller's first): `aws` when none names one. An ARN the plan builds for a principal of that
/// account must name the same partition, or IAM in aws-cn or aws-us-gov refuses the policy
/// that names it.
pub(super) fn call_partition(e: &IssuingCall) -> &str {
    [F::Arn, F::UserArn, F::IssuerArn, F::AssumedRoleArn, F::RoleArn, F::PrincipalArn]
        .into_iter()
        .find_map(|f| e.get(f).and_then(arn_partition))
        .unwrap_or("aws")
}

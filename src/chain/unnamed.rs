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
            let grant = self.grant_of(e, user, |a, u| format!("arn:aws:iam::{a}:user/{u}"));
            self.unnamed_keys.push(grant);
        }
    }

    /// The call `e` as a [`UserGrant`] about `name`: in the call's account (its recipient's,
    /// else its caller's), with `arn(account, name)` as its ARN, and the node of the credential
    /// that made it.
    pub(super) fn grant_of(
        &mut self,
        e: &IssuingCall,
        name: String,
        arn: impl FnOnce(&str, &str) -> String,
    ) -> UserGrant {
        let account = e.get(F::RecipientAccount).or_else(|| e.get(F::AccountId)).unwrap_or("");
        UserGrant {
            user_arn: arn(account, &name),
            account_id: account.to_string(),
            user_name: name,
            event_name: e.name().to_string(),
            event_id: e.id().to_string(),
            time: e.time,
            by: self.parent_of(e),
        }
    }
}

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
            let account = e
                .get(F::RecipientAccount)
                .or_else(|| e.get(F::AccountId))
                .unwrap_or("")
                .to_string();
            let by = self.parent_of(e);
            self.unnamed_keys.push(UserGrant {
                user_arn: format!("arn:aws:iam::{account}:user/{user}"),
                account_id: account,
                user_name: user,
                event_name: e.name().to_string(),
                event_id: e.id().to_string(),
                time: e.time,
                by,
            });
        }
    }
}

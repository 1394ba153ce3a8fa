//! Cognito developer tokens (`GetOpenIdTokenForDeveloperIdentity`, signed with the developer's
//! AWS key): the token lets whoever holds it assume the identity pool's roles as that identity
//! (`AssumeRoleWithWebIdentity` with `cognito-identity.amazonaws.com`, subject the identity
//! id) until it expires, up to 24 hours, however soon the key that made it is deactivated.
//! A review found the leaked key's token followed by a role session that read S3, none of it
//! tainted: verify OK.
//!
//! Each session the logs show assumed as the token's identity while the token worked is
//! linked to the token's maker, as inferred (taint only). And the sessions the token can still
//! mint are counted as one session of unknown principal (`no-key-logged@TIME:EVENT`), alive
//! until the token's end plus the longest role session: no deny the plan can name reaches it
//! (the pool's roles are not in the logs), so while it lives the plan says NOT COVERED and
//! exits 1, and the responder removes the identity or denies the pool's roles by hand.

use super::signin::SigninToken;
use super::{NodeKind, SessionGraph};
use crate::escape::one_line;
use crate::time::fmt_iso;

/// How far outside the token's life a session's issue may lie (the records' clocks).
const SLACK: i64 = 300;
/// The longest session a role gives (its maximum session duration, F12).
const LONGEST_ROLE_SESSION: i64 = 12 * 3600;

impl SessionGraph {
    /// Links and counts what each Cognito developer token in `tokens` made (module doc);
    /// returns the notes to add.
    pub(super) fn link_cognito_tokens(&mut self, tokens: Vec<SigninToken>) -> Vec<String> {
        let mut notes = Vec::new();
        if tokens.is_empty() {
            return notes;
        }
        // The sessions assumed through Cognito, by the identity their issuer names.
        let mut by_identity: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for &(p, c) in &self.edge_nodes {
            let parent = &self.nodes[p];
            let Some(rest) = parent.id.strip_prefix("oidc:") else { continue };
            let Some((provider, subject)) = rest.split_once(':') else { continue };
            if parent.kind == NodeKind::ExternalIdentity
                && provider.to_ascii_lowercase().contains("cognito-identity")
                && self.nodes[c].kind == NodeKind::Session
            {
                by_identity.entry(subject).or_default().push(c);
            }
        }
        let mut links = Vec::new();
        for (k, t) in tokens.iter().enumerate() {
            let Some((identity, until)) = &t.cognito else { continue };
            if identity.is_empty() {
                continue;
            }
            for &c in by_identity.get(identity.as_str()).map_or(&[][..], |v| v) {
                let issued = self.nodes[c].issued_at.or(self.nodes[c].first_seen);
                if issued.is_some_and(|i| i >= t.time - SLACK && i <= until + SLACK) {
                    links.push((k, c));
                }
            }
        }
        for (k, c) in links {
            let t = &tokens[k];
            notes.push(format!(
                "session {} is taken as assumed with the Cognito developer token {} asked for (GetOpenIdTokenForDeveloperIdentity, event {}, {}): it is of the token's identity and was issued while the token worked (inferred: tainted whenever that credential is)",
                self.nodes[c].id,
                self.nodes[t.parent].id,
                one_line(&t.event_id),
                fmt_iso(t.time)
            ));
            let name = crate::model::names::COGNITO_DEVELOPER_TOKEN;
            self.change_edge(t.parent, c, (name, &t.event_id, t.time, &t.file), true);
        }
        // (caller, token node) of each edge drawn to a token's node below: copies of one call
        // are looked up here, not in every edge of the graph (a flood of copies).
        let mut drawn: rustc_hash::FxHashSet<(usize, usize)> = Default::default();
        for t in &tokens {
            let Some((identity, until)) = &t.cognito else { continue };
            let id = super::unanswered::unseen_id(t.time, &t.event_id);
            if let Some(&k) = self.by_id.get(&super::h(&id)) {
                // Another copy of the call: the token lives as long as any copy says, and
                // each caller a copy names is drawn as its maker (a review planted a copy with
                // a 60-second token, or another caller, in a file read first: the token was
                // taken as over, or the clean caller's, verify OK).
                let k = k as usize;
                let end = until.saturating_add(LONGEST_ROLE_SESSION);
                let node = &mut self.nodes[k];
                node.expires_at = Some(node.expires_at.map_or(end, |e| e.max(end)));
                if drawn.insert((t.parent, k)) {
                    let name = crate::model::names::COGNITO_DEVELOPER_TOKEN;
                    self.change_edge(t.parent, k, (name, &t.event_id, t.time, &t.file), true);
                }
                continue;
            }
            let mut n = Self::blank(id, NodeKind::Session);
            n.principal_type = Some("WebIdentityUser".into());
            n.account_id = self.nodes[t.parent].account_id.clone();
            n.expires_at = Some(until.saturating_add(LONGEST_ROLE_SESSION));
            n.issued_by_event = Some(crate::model::names::COGNITO_DEVELOPER_TOKEN.into());
            notes.push(format!(
                "Cognito developer token: {} asked for one for identity {} (GetOpenIdTokenForDeveloperIdentity, event {}, {}), good until {}: the sessions of the identity pool's roles it can mint until then are counted as {}, of no principal the logs name, alive until {}; remove the identity (aws cognito-identity delete-identities) or deny the pool's roles (aws cognito-identity get-identity-pool-roles) by hand",
                self.nodes[t.parent].id,
                if identity.is_empty() { "(not named in the record)".into() } else { one_line(identity) },
                one_line(&t.event_id),
                fmt_iso(t.time),
                fmt_iso(*until),
                n.id,
                fmt_iso(until.saturating_add(LONGEST_ROLE_SESSION))
            ));
            let child = self.add(n);
            let name = crate::model::names::COGNITO_DEVELOPER_TOKEN;
            self.change_edge(t.parent, child, (name, &t.event_id, t.time, &t.file), true);
            drawn.insert((t.parent, child));
        }
        notes
    }
}

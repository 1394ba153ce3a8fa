//! SAML identity providers a credential re-pointed (`UpdateSAMLProvider`): the provider's new
//! metadata document names the identity provider whose signed assertions AWS accepts, so
//! whoever sets it can sign in as anyone, to every role that trusts the provider
//! (`AssumeRoleWithSAML` naming it as `principalArn`), without any credential of the trail.
//! The sign-ins through the provider from the change on are linked to whoever changed it by
//! an edge named `UpdateSAMLProvider`, and the taint follows it like any issuance edge: a
//! tainted change makes those sessions the attacker's (the company's own people cannot sign in
//! through a provider that now trusts another signer, unless the attacker kept their key, and
//! then nobody can tell the two apart). The plan denies them like any role session; only
//! restoring the provider's metadata (a `review` item) stops the sign-ins after the cut-off.

use super::launch::Changes;
use super::*;
use crate::ingest::IssuingField as F;
use crate::ingest::PROVIDER_CHANGE;

impl SessionGraph {
    /// Links each successful `UpdateSAMLProvider` to the sessions of the successful
    /// `AssumeRoleWithSAML` calls through its provider (ARNs compared without regard to case)
    /// at or after it; each to the latest change of each credential that changed the provider
    /// before it ([`Changes`]). Runs after the issuing calls' edges are drawn.
    pub(super) fn link_providers(&mut self, ing: &Ingest, events: &[IssuingCall]) {
        let mut calls: Vec<(String, usize, i64)> = Vec::new();
        let mut made: Vec<&IssuingCall> = Vec::new();
        for e in events {
            if e.name() != PROVIDER_CHANGE || e.failed() {
                continue;
            }
            let Some(provider) = e.get(F::PrincipalArn) else { continue };
            calls.push((provider.to_ascii_lowercase(), self.parent_of(e), e.time));
            made.push(e);
        }
        if calls.is_empty() {
            return;
        }
        let changes = Changes::new(&calls);
        // The provider each sign-in named, by its eventID.
        let sign_ins: std::collections::HashMap<&str, String> = events
            .iter()
            .filter(|e| e.name() == "AssumeRoleWithSAML" && !e.failed())
            .filter_map(|e| Some((e.id(), e.get(F::PrincipalArn)?.to_ascii_lowercase())))
            .collect();
        let mut links: Vec<(usize, usize)> = Vec::new();
        for (edge, &(_, child)) in self.edges.iter().zip(&self.edge_nodes) {
            if edge.event_name != "AssumeRoleWithSAML" {
                continue;
            }
            let Some(provider) = sign_ins.get(edge.event_id.as_str()) else { continue };
            for i in changes.before(&calls, provider, Some(edge.event_time)) {
                if calls[i].1 != child {
                    links.push((i, child));
                }
            }
        }
        links.sort_unstable();
        links.dedup();
        for (i, child) in links {
            let e = made[i];
            self.edges.push(Edge {
                parent: self.nodes[calls[i].1].id.clone(),
                child: self.nodes[child].id.clone(),
                event_name: PROVIDER_CHANGE.to_string(),
                event_id: e.id().to_string(),
                event_time: e.time,
                file: ing.file_of(e.origin).to_string(),
                other_copies: Vec::new(),
                inferred: false,
            });
            self.edge_nodes.push((calls[i].1, child));
        }
    }
}

//! SAML identity providers a credential re-pointed or made (`UpdateSAMLProvider`,
//! `CreateSAMLProvider`): a provider's metadata document names the identity provider whose
//! signed assertions AWS accepts, so whoever sets it can sign in as anyone, to every role that
//! trusts the provider (`AssumeRoleWithSAML` naming it as `principalArn`), without any
//! credential of the trail. A role trusts a provider by its ARN: one deleted and made again
//! under the same name is trusted as before. Every such change is kept
//! ([`SessionGraph::change_grants`]); each sign-in through the provider at or after a change is
//! linked to the latest one by an edge named after it, and so is the console session of that
//! sign-in (an orphan with its assumed-role ARN within a minute: inferred). The taint takes
//! the sign-ins from the first change a tainted credential made (the company's own people
//! cannot sign in through a provider that now trusts another signer, unless the attacker
//! kept their key, and then nobody can tell the two apart). The plan denies them like any role
//! session; only restoring the provider (a `review` item) stops the sign-ins after the cut-off.

use super::launch::{in_time_order, latest_by_other};
use super::*;
use crate::ingest::IssuingField as F;
use crate::ingest::PROVIDER_CHANGES;

/// (account, provider name in lower case): IAM names are unique regardless of case.
type Provider = (String, String);

/// Seconds between a SAML sign-in and the console session it opened that link them (the
/// console's own session is issued as the sign-in completes; a minute allows for clocks).
const CONSOLE_WINDOW: i64 = 60;

/// The provider changes and the sign-ins of a trail, held until the role assumptions without
/// a response are linked ([`SessionGraph::link_providers`]).
#[derive(Default)]
pub(super) struct Providers {
    /// (provider, caller node, time, event name, event id, file).
    changes: Vec<(Provider, usize, i64, &'static str, String, String)>,
    /// The providers of each successful `AssumeRoleWithSAML`, by its eventID: every one its
    /// records name (a copy of the record naming another provider, read last, unlinked the
    /// attacker's sign-in through the changed one, and which file sorted last decided it).
    sign_ins: std::collections::HashMap<String, Vec<Provider>>,
}

/// The provider an ARN `arn:PARTITION:iam::ACCOUNT:saml-provider/NAME` names.
fn provider_of(arn: &str) -> Option<Provider> {
    let (head, name) = arn.split_once(":saml-provider/")?;
    let account = head.rsplit(':').next()?;
    (!name.is_empty()).then(|| (account.to_string(), name.to_ascii_lowercase()))
}

impl SessionGraph {
    /// The successful provider changes, each with its caller's node, and (when there is one)
    /// the provider of every successful SAML sign-in.
    pub(super) fn provider_changes(&mut self, ing: &Ingest, events: &[IssuingCall]) -> Providers {
        let mut p = Providers::default();
        for e in events {
            let Some(&name) = PROVIDER_CHANGES.iter().find(|&&n| n == e.name()) else { continue };
            if e.failed() {
                continue;
            }
            let Some(provider) = e.get(F::PrincipalArn).and_then(provider_of) else { continue };
            let file = ing.file_of(e.origin).to_string();
            p.changes.push((provider, self.parent_of(e), e.time, name, e.id().to_string(), file));
        }
        if !p.changes.is_empty() {
            for e in events.iter().filter(|e| e.name() == "AssumeRoleWithSAML" && !e.failed()) {
                if let Some(provider) = e.get(F::PrincipalArn).and_then(provider_of) {
                    let named = p.sign_ins.entry(e.id().to_string()).or_default();
                    if !named.contains(&provider) {
                        named.push(provider);
                    }
                }
            }
        }
        p
    }

    /// Links each sign-in through a changed provider (and its console session) to the latest
    /// change before it, and keeps every change for the taint.
    pub(super) fn link_providers(&mut self, p: Providers) {
        if p.changes.is_empty() {
            return;
        }
        let by_provider = in_time_order(p.changes.iter().map(|c| (&c.0, c.2)));
        let change = |k: usize| (p.changes[k].2, p.changes[k].1);
        let mut links: Vec<(usize, usize, bool)> = Vec::new();
        for (edge, &(_, child)) in self.edges.iter().zip(&self.edge_nodes) {
            if edge.event_name != "AssumeRoleWithSAML" {
                continue;
            }
            let named = p.sign_ins.get(&edge.event_id).map(Vec::as_slice).unwrap_or_default();
            for c in named.iter().filter_map(|k| by_provider.get(k)) {
                if let Some(i) = latest_by_other(c, Some(edge.event_time), child, change) {
                    links.push((i, child, false));
                }
            }
        }
        links.sort_unstable();
        links.dedup();
        // The console sessions of those sign-ins: orphans with the signed-in session's ARN,
        // issued within a minute of it, whose issuing call the console does not log (F2). One
        // link per provider is what the taint needs: each orphan gets one per provider signed
        // into with its ARN (a forged trail of thousands of sign-ins in one second is not
        // thousands × thousands).
        let mut signed: std::collections::HashMap<&str, Vec<(i64, &Provider, usize)>> =
            Default::default();
        for &(i, child, _) in &links {
            let n = &self.nodes[child];
            if let (Some(arn), Some(t)) = (n.principal_arn.as_deref(), n.issued_at) {
                signed.entry(arn).or_default().push((t, &p.changes[i].0, i));
            }
        }
        for v in signed.values_mut() {
            v.sort_unstable();
            v.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        }
        let mut console: Vec<(usize, usize, bool)> = Vec::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if !node.orphan || node.kind != NodeKind::Session {
                continue;
            }
            let (Some(arn), Some(t)) = (node.principal_arn.as_deref(), node.issued_at) else {
                continue;
            };
            let Some(v) = signed.get(arn) else { continue };
            let from = v.partition_point(|e| e.0 < t - CONSOLE_WINDOW);
            let mut seen: Vec<&Provider> = Vec::new();
            for &(at, provider, i) in &v[from..] {
                if at > t + CONSOLE_WINDOW {
                    break;
                }
                if p.changes[i].1 != n && !seen.contains(&provider) {
                    seen.push(provider);
                    console.push((i, n, true));
                }
            }
        }
        links.extend(console);
        links.sort_unstable();
        links.dedup_by_key(|l| (l.0, l.1));
        for (i, child, inferred) in links {
            let (_, by, time, name, id, file) = &p.changes[i];
            self.change_edge(*by, child, (name, id, *time, file), inferred);
        }
        for ((account, name), by, time, event, id, _) in p.changes {
            self.change_grants.push(UserGrant {
                user_arn: format!("saml-provider/{name}"),
                account_id: account,
                user_name: name,
                event_name: event.to_string(),
                event_id: id,
                time,
                by,
            });
        }
    }
}

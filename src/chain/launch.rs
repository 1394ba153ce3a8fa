//! Instances launched with a credential (`RunInstances`): the role sessions of each instance
//! are the launcher's to use. Whoever starts an instance with an instance profile chooses
//! what runs on it (user data, an SSH key, an AMI of their own), and the instance fetches its
//! role's credentials from the instance metadata service: an attacker who launches an
//! instance with an existing role holds that role's sessions without ever calling
//! `AssumeRole`. EC2 names each of those sessions by the instance id (`…:assumed-role/ROLE/
//! i-…`, CLOUDTRAIL.md §5), which `RunInstances`' response gives
//! (`responseElements.instancesSet.items[].instanceId`), so the launch is linked to every
//! session of the instance in the logs by an edge named `RunInstances`, and the taint follows
//! it like any issuance edge.
//!
//! The instance renews its credentials by itself (F21), before they expire, for as long as it runs
//! with the profile: a deny on `aws:TokenIssueTime` cuts the sessions the logs show, never the
//! ones it fetches next. `plan` therefore denies such an instance's sessions by their
//! `aws:userid` (`ROLEID:i-…`, F9) with no time condition, and `verify` counts the sessions
//! of a launched instance as cut only when a deny also matches a session issued after the
//! cut-off ([`SessionGraph::launched_sessions`]).

use super::*;
use crate::ingest::IssuingField as F;
use crate::model::is_instance_id;

/// A successful `RunInstances` whose response names its instances, held until pass 3 has
/// made the node of every credential in use ([`SessionGraph::link_launches`]).
pub(super) struct Launch {
    /// The node of the credential that launched them.
    parent: usize,
    /// The account the instances run in (the call's recipient account).
    account: String,
    instance_ids: Vec<String>,
    time: i64,
    event_id: String,
    file: String,
}

impl SessionGraph {
    /// The successful launches among the issuing calls, each with the node of its caller.
    pub(super) fn launches(&mut self, ing: &Ingest, events: &[IssuingCall]) -> Vec<Launch> {
        let mut out = Vec::new();
        for e in events {
            if e.name() != crate::ingest::LAUNCHES || e.failed() {
                continue;
            }
            let Some(ids) = e.get(F::InstanceIds) else { continue };
            let instance_ids: Vec<String> =
                ids.split(',').filter(|i| is_instance_id(i)).map(String::from).collect();
            let Some(account) = e.get(F::RecipientAccount).or_else(|| e.get(F::AccountId)) else {
                continue;
            };
            if instance_ids.is_empty() {
                continue;
            }
            out.push(Launch {
                parent: self.parent_of(e),
                account: account.to_string(),
                instance_ids,
                time: e.time,
                event_id: e.id().to_string(),
                file: ing.file_of(e.origin).to_string(),
            });
        }
        out
    }

    /// Links each launch to every role session of its instances in the logs: the sessions of
    /// its account whose session name is one of the instance ids. An instance id is never
    /// reused, so no time window is needed; a launch whose instances have no session in the
    /// logs links nothing (`blast` lists the launch for review).
    pub(super) fn link_launches(&mut self, launches: Vec<Launch>) {
        if launches.is_empty() {
            return;
        }
        // (account, instance id) -> its sessions. Keyed SipHash: the names are the logs'.
        let mut by_instance: std::collections::HashMap<(&str, &str), Vec<usize>> =
            std::collections::HashMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if let Some(id) = instance_session(node) {
                let acct = node.principal_arn.as_deref().and_then(arn_account).unwrap_or("");
                by_instance.entry((acct, id)).or_default().push(n);
            }
        }
        let mut drawn: BTreeSet<(usize, usize)> = BTreeSet::new();
        // An instance is launched once: only the first launch (in time order) naming an id
        // links it. A forged trail naming one id in any number of launches would otherwise
        // draw launches × sessions edges.
        let mut linked: BTreeSet<(&str, &str)> = BTreeSet::new();
        for l in &launches {
            for id in &l.instance_ids {
                let at = (l.account.as_str(), id.as_str());
                if !linked.insert(at) {
                    continue;
                }
                let Some(sessions) = by_instance.get(&at) else {
                    continue;
                };
                for &child in sessions {
                    if child == l.parent || !drawn.insert((l.parent, child)) {
                        continue;
                    }
                    self.edges.push(Edge {
                        parent: self.nodes[l.parent].id.clone(),
                        child: self.nodes[child].id.clone(),
                        event_name: crate::ingest::LAUNCHES.to_string(),
                        event_id: l.event_id.clone(),
                        event_time: l.time,
                        file: l.file.clone(),
                        other_copies: Vec::new(),
                        inferred: false,
                    });
                    self.edge_nodes.push((l.parent, child));
                }
            }
        }
    }

    /// The sessions of instances a `RunInstances` in the logs launched (children of a
    /// `RunInstances` edge), each with its instance id.
    pub fn launched_sessions(&self) -> BTreeMap<usize, &str> {
        let mut out = BTreeMap::new();
        for (e, &(_, child)) in self.edges.iter().zip(&self.edge_nodes) {
            if e.event_name == crate::ingest::LAUNCHES {
                if let Some(id) = instance_session(&self.nodes[child]) {
                    out.insert(child, id);
                }
            }
        }
        out
    }
}

/// The instance id a role session is named by (`…:assumed-role/ROLE/i-…`), if it is one.
fn instance_session(node: &Node) -> Option<&str> {
    if node.kind != NodeKind::Session {
        return None;
    }
    let arn = node.principal_arn.as_deref()?;
    let name = arn.rsplit('/').next()?;
    (arn.contains(":assumed-role/") && is_instance_id(name)).then_some(name)
}

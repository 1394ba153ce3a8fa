//! Instances launched with a credential (`RunInstances`), and Lambda functions whose code,
//! configuration or role a credential set: the role sessions of each are the caller's to use.
//! Whoever starts an instance with an instance profile chooses what runs on it (user data, an
//! SSH key, an AMI of their own), and the instance fetches its role's credentials from the
//! instance metadata service: an attacker who launches an instance with an existing role holds
//! that role's sessions without ever calling `AssumeRole`. EC2 names each of those sessions by
//! the instance id (`…:assumed-role/ROLE/i-…`, CLOUDTRAIL.md §5), which `RunInstances`'
//! response gives (`responseElements.instancesSet.items[].instanceId`), so the launch is
//! linked to every session of the instance in the logs by an edge named `RunInstances`, and
//! the taint follows it like any issuance edge.
//!
//! A Lambda function is the same (F21): whoever creates one with an existing role, or replaces
//! an existing function's code or configuration (`CreateFunction`, `UpdateFunctionCode`,
//! `UpdateFunctionConfiguration`), has code of their choice run with its role, whose sessions
//! Lambda takes itself (its `AssumeRole` is the service's, often not in the trail) and names
//! by the function name (`…:assumed-role/ROLE/FUNCTION`). Function names are reused (deleted
//! and made again, or the function existed before the call), so such a call is linked only to
//! the sessions of its account named by the function and issued at or after it (or at an
//! unknown time), and only to sessions no credential of the trail issued (a person may give an
//! `AssumeRole` any session name): the ones Lambda took, or orphans.
//!
//! Both renew their credentials by themselves (F21), before they expire, for as long as they
//! run: a deny on `aws:TokenIssueTime` cuts the sessions the logs show, never the ones fetched
//! next. `plan` therefore denies such sessions by their `aws:userid` (`ROLEID:i-…`,
//! `ROLEID:FUNCTION`, F9) with no time condition, and `verify` counts them as cut only when a
//! deny also matches a session issued after the cut-off ([`SessionGraph::launched_sessions`]).

use super::*;
use crate::ingest::IssuingField as F;
use crate::ingest::FUNCTION_CHANGES;
use crate::model::is_instance_id;

/// A successful `RunInstances` whose response names its instances, or a successful Lambda
/// call of [`FUNCTION_CHANGES`] naming its function, held until pass 3 has made the node of
/// every credential in use ([`SessionGraph::link_launches`]).
pub(super) struct Launch {
    /// The node of the credential that made the call.
    parent: usize,
    /// The account the instances or the function run in (the call's recipient account, or
    /// the account of the function's ARN).
    account: String,
    /// The instances launched, or (`function`) the function's name alone.
    instance_ids: Vec<String>,
    /// A Lambda call: `instance_ids` holds the function's name.
    function: bool,
    time: i64,
    name: &'static str,
    event_id: String,
    file: String,
}

/// What a workload's sessions are named by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    /// An EC2 instance (the session name is its id).
    Instance,
    /// A Lambda function (the session name is the function's name).
    Function,
}

impl Workload {
    /// The word for it in plans and verdicts.
    pub fn word(self) -> &'static str {
        match self {
            Workload::Instance => "instance",
            Workload::Function => "function",
        }
    }
}

/// The most callers one session of a function is linked to: the latest that changed the
/// function before the session was issued. A forged trail naming one function in calls by
/// any number of credentials would otherwise draw callers × sessions edges.
const FUNCTION_CALLERS: usize = 64;

/// The account (when the call named the function by ARN) and the name of a function, as
/// Lambda's `functionName` parameter takes it: `NAME`, `NAME:QUALIFIER`,
/// `ACCOUNT:function:NAME[:QUALIFIER]` or `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME
/// [:QUALIFIER]`. `None` for anything else, or a name that is not one Lambda allows (1 to 64
/// letters, digits, `-` and `_`), which no session could be named by.
pub fn function_name(s: &str) -> Option<(Option<&str>, &str)> {
    let parts: Vec<&str> = s.split(':').collect();
    let (account, name) = match parts.iter().position(|p| *p == "function") {
        Some(i) if i >= 1 && i + 1 < parts.len() => (Some(parts[i - 1]), parts[i + 1]),
        Some(_) => return None,
        None if parts.len() <= 2 => (None, parts[0]),
        None => return None,
    };
    let account = account.filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some((account, name))
}

/// The changes credentials made to named things (a Lambda function, an identity provider),
/// indexed to link a session of the thing to the changes made before it was issued: each
/// caller's latest change before it, for at most the latest [`FUNCTION_CALLERS`] callers to
/// start (a forged trail can name one thing in calls by any number of credentials).
pub(super) struct Changes<K> {
    /// Name -> each caller, in the order of its first change, with its changes (indexes into
    /// the calls) in time order.
    by_name: std::collections::HashMap<K, Vec<(i64, Vec<usize>)>>,
}

impl<K: std::hash::Hash + Eq + Clone> Changes<K> {
    /// `calls`: (name, caller node, time), in any order.
    pub(super) fn new(calls: &[(K, usize, i64)]) -> Self {
        let mut order: Vec<usize> = (0..calls.len()).collect();
        order.sort_by_key(|&i| calls[i].2);
        let mut by_name: std::collections::HashMap<K, Vec<(i64, Vec<usize>)>> =
            std::collections::HashMap::new();
        // (name, caller) -> its place among the name's callers.
        let mut place: std::collections::HashMap<(K, usize), usize> =
            std::collections::HashMap::new();
        for i in order {
            let (name, caller, time) = &calls[i];
            let c = by_name.entry(name.clone()).or_default();
            match place.get(&(name.clone(), *caller)) {
                Some(&k) => c[k].1.push(i),
                None => {
                    place.insert((name.clone(), *caller), c.len());
                    c.push((*time, vec![i]));
                }
            }
        }
        Changes { by_name }
    }

    /// The calls to link a session of `name` issued at `t` (unknown: every change counts) to:
    /// each caller's latest change at or before `t`.
    pub(super) fn before(&self, calls: &[(K, usize, i64)], name: &K, t: Option<i64>) -> Vec<usize> {
        let Some(c) = self.by_name.get(name) else { return Vec::new() };
        let upto = |v: &[usize]| match t {
            Some(t) => v.partition_point(|&k| calls[k].2 <= t),
            None => v.len(),
        };
        let callers = match t {
            Some(t) => c.partition_point(|&(first, _)| first <= t),
            None => c.len(),
        };
        c[callers.saturating_sub(FUNCTION_CALLERS)..callers]
            .iter()
            .map(|(_, v)| v[upto(v) - 1])
            .collect()
    }
}

impl SessionGraph {
    /// The successful launches among the issuing calls, each with the node of its caller.
    pub(super) fn launches(&mut self, ing: &Ingest, events: &[IssuingCall]) -> Vec<Launch> {
        let mut out = Vec::new();
        for e in events {
            if e.failed() {
                continue;
            }
            if let Some(&name) = FUNCTION_CHANGES.iter().find(|&&n| n == e.name()) {
                let Some((acct, function)) = e.get(F::FunctionName).and_then(function_name) else {
                    continue;
                };
                let Some(account) =
                    acct.or(e.get(F::RecipientAccount)).or_else(|| e.get(F::AccountId))
                else {
                    continue;
                };
                out.push(Launch {
                    parent: self.parent_of(e),
                    account: account.to_string(),
                    instance_ids: vec![function.to_string()],
                    function: true,
                    time: e.time,
                    name,
                    event_id: e.id().to_string(),
                    file: ing.file_of(e.origin).to_string(),
                });
                continue;
            }
            if e.name() != crate::ingest::LAUNCHES {
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
                function: false,
                time: e.time,
                name: crate::ingest::LAUNCHES,
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
        let (functions, launches): (Vec<Launch>, Vec<Launch>) =
            launches.into_iter().partition(|l| l.function);
        self.link_functions(functions);
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
        let mut links: Vec<(usize, usize)> = Vec::new();
        for (i, l) in launches.iter().enumerate() {
            for id in &l.instance_ids {
                let at = (l.account.as_str(), id.as_str());
                if !linked.insert(at) {
                    continue;
                }
                let Some(sessions) = by_instance.get(&at) else {
                    continue;
                };
                for &child in sessions {
                    if child != l.parent && drawn.insert((l.parent, child)) {
                        links.push((i, child));
                    }
                }
            }
        }
        for (i, child) in links {
            self.launch_edge(&launches[i], child);
        }
    }

    fn launch_edge(&mut self, l: &Launch, child: usize) {
        self.edges.push(Edge {
            parent: self.nodes[l.parent].id.clone(),
            child: self.nodes[child].id.clone(),
            event_name: l.name.to_string(),
            event_id: l.event_id.clone(),
            event_time: l.time,
            file: l.file.clone(),
            other_copies: Vec::new(),
            inferred: false,
        });
        self.edge_nodes.push((l.parent, child));
    }

    /// Links each function change to the sessions of its function: those of its account named
    /// by the function, issued at or after the call (or at an unknown time), that no credential
    /// of the trail issued. Each session is linked to every credential that changed the
    /// function before it was issued (up to the latest [`FUNCTION_CALLERS`] to start): an
    /// earlier change (a role, a layer) can outlive a later one; the edge is that credential's
    /// latest change before the session.
    fn link_functions(&mut self, functions: Vec<Launch>) {
        if functions.is_empty() {
            return;
        }
        // Sessions a credential of the trail issued (an edge from a credential, not from a
        // service or an outside identity).
        let mut trail_issued = vec![false; self.nodes.len()];
        for &(p, c) in &self.edge_nodes {
            if matches!(self.nodes[p].kind, NodeKind::LongTermKey | NodeKind::Session) {
                trail_issued[c] = true;
            }
        }
        let calls: Vec<((&str, &str), usize, i64)> = functions
            .iter()
            .map(|l| ((l.account.as_str(), l.instance_ids[0].as_str()), l.parent, l.time))
            .collect();
        let changes = Changes::new(&calls);
        let mut links: Vec<(usize, usize)> = Vec::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if trail_issued[n] {
                continue;
            }
            let Some(name) = role_session_name(node) else { continue };
            let acct = node.principal_arn.as_deref().and_then(arn_account).unwrap_or("");
            for i in changes.before(&calls, &(acct, name), node.issued_at) {
                if functions[i].parent != n {
                    links.push((i, n));
                }
            }
        }
        for (i, n) in links {
            self.launch_edge(&functions[i], n);
        }
    }

    /// The sessions of instances a `RunInstances` in the logs launched, and of functions a
    /// Lambda call in the logs changed (children of such an edge), each with its instance id
    /// or function name.
    pub fn launched_sessions(&self) -> BTreeMap<usize, (Workload, &str)> {
        let mut out = BTreeMap::new();
        for (e, &(_, child)) in self.edges.iter().zip(&self.edge_nodes) {
            if e.event_name == crate::ingest::LAUNCHES {
                if let Some(id) = instance_session(&self.nodes[child]) {
                    out.insert(child, (Workload::Instance, id));
                }
            } else if FUNCTION_CHANGES.contains(&e.event_name.as_str()) {
                if let Some(name) = role_session_name(&self.nodes[child]) {
                    out.entry(child).or_insert((Workload::Function, name));
                }
            }
        }
        out
    }
}

/// The session name of a role session (`…:assumed-role/ROLE/NAME`), when it is one a Lambda
/// function could have ([`function_name`]).
fn role_session_name(node: &Node) -> Option<&str> {
    if node.kind != NodeKind::Session {
        return None;
    }
    let arn = node.principal_arn.as_deref()?;
    let name = arn.rsplit('/').next()?;
    (arn.contains(":assumed-role/") && function_name(name).is_some_and(|(_, n)| n == name))
        .then_some(name)
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

#[cfg(test)]
mod tests {
    use super::function_name;

    /// Every form Lambda's `functionName` takes gives the function's name (and its account
    /// when an ARN names it); what no Lambda function could be named gives nothing.
    #[test]
    fn a_function_is_named_by_name_partial_arn_or_arn() {
        let acct = Some("111122223333");
        for (given, want) in [
            ("billing-export", Some((None, "billing-export"))),
            ("billing-export:prod", Some((None, "billing-export"))),
            ("111122223333:function:billing-export", Some((acct, "billing-export"))),
            ("arn:aws:lambda:us-east-1:111122223333:function:billing_2", Some((acct, "billing_2"))),
            ("arn:aws-cn:lambda:cn-north-1:111122223333:function:f:7", Some((acct, "f"))),
            ("arn:aws:lambda:us-east-1:bad:function:f", Some((None, "f"))),
            ("", None),
            ("a/b", None),
            ("name with space", None),
            ("arn:aws:lambda:us-east-1:111122223333:function", None),
            ("a:b:c", None),
            (&"x".repeat(65), None),
        ] {
            assert_eq!(function_name(given), want, "{given}");
        }
    }
}

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
pub use crate::model::names::function_names;
use crate::model::names::is_function_name;

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
    /// For a Lambda call: the region it was made in (lower case), the function's (a function is
    /// named within its account and region: one of the same name elsewhere is another one).
    region: Option<String>,
    time: i64,
    name: &'static str,
    event_id: String,
    file: String,
}

/// The launches, function changes and SAML provider changes of a trail, held until pass 3
/// has made the node of every credential in use and the role assumptions without a response
/// are linked ([`SessionGraph::link_launches`]).
pub(super) struct Pending {
    launches: Vec<Launch>,
    providers: super::provider::Providers,
    /// The regions in which Lambda took a session (its `AssumeRole`, when logged), by the
    /// session's key.
    lambda_regions: BTreeMap<Text, Vec<Text>>,
}

/// What a workload's sessions are named by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    /// An EC2 instance (the session name is its id).
    Instance,
    /// A Lambda function (the session name is the function's name).
    Function,
}

/// The changes (by their place in the list the keys came from) of each thing changed, in
/// time order (ties in list order).
pub(super) fn in_time_order<K: std::hash::Hash + Eq>(
    keys: impl Iterator<Item = (K, i64)>,
) -> std::collections::HashMap<K, Vec<usize>> {
    let mut by: std::collections::HashMap<K, Vec<(i64, usize)>> = Default::default();
    for (i, (k, t)) in keys.enumerate() {
        by.entry(k).or_default().push((t, i));
    }
    by.into_iter()
        .map(|(k, mut v)| {
            v.sort_unstable();
            (k, v.into_iter().map(|(_, i)| i).collect())
        })
        .collect()
}

/// The latest of `changes` (in time order; `change(k)` is its time and caller) made at or
/// before `t` (any, when `t` is unknown) by another credential than `node`: a session's own
/// change of what it is a session of does not hide the one before it.
pub(super) fn latest_by_other(
    changes: &[usize],
    t: Option<i64>,
    node: usize,
    change: impl Fn(usize) -> (i64, usize),
) -> Option<usize> {
    let upto = match t {
        Some(t) => changes.partition_point(|&k| change(k).0 <= t),
        None => changes.len(),
    };
    changes[..upto].iter().rev().copied().find(|&k| change(k).1 != node)
}

/// The regions in which Lambda took each session of a function `launches` changed whose
/// `AssumeRole` is logged (the service's call, named by the function), by the session's key.
fn lambda_regions(events: &[IssuingCall], launches: &[Launch]) -> BTreeMap<Text, Vec<Text>> {
    let mut out: BTreeMap<Text, Vec<Text>> = BTreeMap::new();
    let changed: std::collections::BTreeSet<&str> =
        launches.iter().filter(|l| l.function).map(|l| l.instance_ids[0].as_str()).collect();
    if changed.is_empty() {
        return out;
    }
    for e in events {
        if e.name() != "AssumeRole" || e.failed() {
            continue;
        }
        let by_lambda = e.get(F::InvokedBy).is_some_and(|s| s.eq_ignore_ascii_case(LAMBDA));
        let session = e.get(F::RoleSessionName).unwrap_or("");
        if !by_lambda || !changed.contains(session) {
            continue;
        }
        if let (Some(k), Some(r)) = (e.get(F::CredentialsKey), e.get(F::Region)) {
            let r = Text::from(r.to_ascii_lowercase());
            let v = out.entry(Text::from(k)).or_default();
            if !v.contains(&r) {
                v.push(r);
            }
        }
    }
    out
}

/// The service that takes Lambda functions' sessions.
const LAMBDA: &str = "lambda.amazonaws.com";

/// The first function [`function_names`] finds in `s`.
pub fn function_name(s: &str) -> Option<(Option<&str>, &str)> {
    function_names(s).first().copied()
}

impl SessionGraph {
    /// The successful launches among the issuing calls, each with the node of its caller.
    pub(super) fn launches(&mut self, ing: &Ingest, events: &[IssuingCall]) -> Pending {
        let providers = self.provider_changes(ing, events);
        let launches = self.workload_launches(ing, events);
        let lambda_regions = lambda_regions(events, &launches);
        Pending { launches, providers, lambda_regions }
    }

    fn workload_launches(&mut self, ing: &Ingest, events: &[IssuingCall]) -> Vec<Launch> {
        let mut out = Vec::new();
        for e in events {
            if e.failed() {
                continue;
            }
            if let Some(&name) = FUNCTION_CHANGES.iter().find(|&&n| n == e.name()) {
                let functions = e.get(F::FunctionName).map(function_names).unwrap_or_default();
                let parent = if functions.is_empty() { continue } else { self.parent_of(e) };
                for (acct, function) in functions {
                    let account =
                        acct.or(e.get(F::RecipientAccount)).or_else(|| e.get(F::AccountId));
                    let Some(account) = account else { continue };
                    out.push(Launch {
                        parent,
                        account: account.to_string(),
                        instance_ids: vec![function.to_string()],
                        function: true,
                        region: e.get(F::Region).map(str::to_ascii_lowercase),
                        time: e.time,
                        name,
                        event_id: e.id().to_string(),
                        file: ing.file_of(e.origin).to_string(),
                    });
                }
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
                region: None,
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
    pub(super) fn link_launches(&mut self, pending: Pending) {
        self.link_providers(pending.providers);
        let (functions, launches): (Vec<Launch>, Vec<Launch>) =
            pending.launches.into_iter().partition(|l| l.function);
        self.link_instances(launches);
        // After the instances' links: a launched instance's session is no function's.
        self.link_functions(functions, &pending.lambda_regions);
    }

    fn link_instances(&mut self, launches: Vec<Launch>) {
        if launches.is_empty() {
            return;
        }
        // (account, instance id) -> its sessions. Keyed SipHash: the names are the logs'.
        let mut by_instance: std::collections::HashMap<(&str, &str), Vec<usize>> =
            std::collections::HashMap::new();
        // A session anyone but EC2 issued (an `AssumeRole` whose session name the caller
        // chose: a credential of the trail, an outside account, a provider) is not an
        // instance's, whatever it is named: EC2 takes an instance's sessions itself, as a
        // service (as `link_functions` takes Lambda's). A review found the leaked key's own
        // session of another role, named after the launched instance, taken for it (the
        // launch's deny went on that role and the instance's role was never named, verify
        // OK), and then one an outside account took through a trust policy the key opened.
        let (other, from_ec2) = self.issued_by_other_than("service:ec2.amazonaws.com");
        for (n, node) in self.nodes.iter().enumerate() {
            // And one no logged call issued must carry EC2's mark in its calls
            // (`ec2RoleDelivery`): a session whose `AssumeRole` went through a region the
            // trail lacks is named as its caller chose (a review of the first fix).
            let marked = node.issued_by_event.as_deref() == Some("EC2 instance profile");
            if other[n] || !(from_ec2[n] || marked) {
                continue;
            }
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

    /// By node: whether an edge into it comes from anything but the service node `service`
    /// (a credential, an outside identity, another service), and whether one comes from
    /// `service`. A launch's link is no issuer: a session named by an instance id another
    /// launch named can be a function's of that name (the instance's own carry EC2's mark).
    fn issued_by_other_than(&self, service: &str) -> (Vec<bool>, Vec<bool>) {
        let service = self.node(service).filter(|&s| self.nodes[s].kind == NodeKind::Service);
        let mut other = vec![false; self.nodes.len()];
        let mut from_service = vec![false; self.nodes.len()];
        for (e, &(p, c)) in self.edges.iter().zip(&self.edge_nodes) {
            if e.event_name == crate::ingest::LAUNCHES {
                continue;
            }
            if Some(p) == service {
                from_service[c] = true;
            } else {
                other[c] = true;
            }
        }
        (other, from_service)
    }

    fn launch_edge(&mut self, l: &Launch, child: usize) {
        self.change_edge(l.parent, child, (l.name, &l.event_id, l.time, &l.file), false);
    }

    /// An edge from `parent` to `child` for the call `(name, eventID, time, file)` that
    /// launched, changed or re-pointed what `child` is a session of.
    pub(super) fn change_edge(
        &mut self,
        parent: usize,
        child: usize,
        (name, id, time, file): (&str, &str, i64, &str),
        inferred: bool,
    ) {
        self.edges.push(Edge {
            parent: self.nodes[parent].id.clone(),
            child: self.nodes[child].id.clone(),
            event_name: name.to_string(),
            event_id: id.to_string(),
            event_time: time,
            file: file.to_string(),
            other_copies: Vec::new(),
            inferred,
        });
        self.edge_nodes.push((parent, child));
    }

    /// Links each function's sessions to its latest change before them: the sessions of its
    /// account named by the function, issued at or after a change (or at an unknown time),
    /// that Lambda took or that no logged call issued. Not the sessions a credential of the
    /// trail, an outside identity or another service issued, console sessions or an instance's
    /// (a person, a SAML sign-in or EC2 can give a session any name). Every change is kept
    /// ([`SessionGraph::change_grants`]): the taint takes a function's sessions from the first
    /// change a tainted credential made (an earlier change, a role or a layer, can outlive a
    /// later one), which one edge per session could not say without one per caller (a busy
    /// deployment pipeline makes a new session for every deployment).
    ///
    /// A function is named within its account and region: a session Lambda took in another
    /// region than a change's (its `AssumeRole` logged there) is another function's of the
    /// same name, not linked to it (a review found an innocent function of another region
    /// denied for good). A session whose `AssumeRole` is not in the logs may be either's: it
    /// is linked to the latest change before it in each region, so that another region's
    /// later change does not hide the one of its own (the taint keys functions by region).
    fn link_functions(&mut self, functions: Vec<Launch>, regions: &BTreeMap<Text, Vec<Text>>) {
        if functions.is_empty() {
            return;
        }
        let (other, _) = self.issued_by_other_than(&format!("service:{LAMBDA}"));
        let by_function = in_time_order(
            functions.iter().map(|l| ((l.account.as_str(), l.instance_ids[0].as_str()), l.time)),
        );
        let mut links: Vec<(usize, usize)> = Vec::new();
        for (n, node) in self.nodes.iter().enumerate() {
            let elsewhere = matches!(
                node.issued_by_event.as_deref(),
                Some("console sign-in" | "EC2 instance profile")
            );
            if other[n] || elsewhere {
                continue;
            }
            let Some(name) = role_session_name(node) else { continue };
            let acct = node.principal_arn.as_deref().and_then(arn_account).unwrap_or("");
            let Some(c) = by_function.get(&(acct, name)) else { continue };
            let taken = node.access_key_id.as_deref().and_then(|k| regions.get(k));
            let region = |k: usize| functions[k].region.as_deref();
            // The changes of the regions it may run in (all, when Lambda's call is not logged).
            let ours: Vec<usize> = match taken {
                Some(taken) => c
                    .iter()
                    .copied()
                    .filter(|&k| region(k).is_none_or(|r| taken.iter().any(|t| t == r)))
                    .collect(),
                None => c.clone(),
            };
            // The latest before it in each of those regions: a later change of another
            // region's function of that name does not hide this one's.
            let change = |k: usize| (functions[k].time, functions[k].parent);
            let mut done: Vec<Option<&str>> = Vec::new();
            for &k in &ours {
                if done.contains(&region(k)) {
                    continue;
                }
                done.push(region(k));
                let of_region: Vec<usize> =
                    ours.iter().copied().filter(|&j| region(j) == region(k)).collect();
                if let Some(i) = latest_by_other(&of_region, node.issued_at, n, change) {
                    links.push((i, n));
                }
            }
        }
        for (i, n) in links {
            self.launch_edge(&functions[i], n);
        }
        for l in functions {
            // Named with its region: the taint tells the functions of one name apart by it.
            let user_arn = match &l.region {
                Some(r) => format!("function:{r}:{}", l.instance_ids[0]),
                None => format!("function:{}", l.instance_ids[0]),
            };
            let grant = UserGrant {
                user_arn,
                account_id: l.account,
                user_name: l.instance_ids[0].clone(),
                event_name: l.name.to_string(),
                event_id: l.event_id,
                time: l.time,
                by: l.parent,
            };
            self.change_grants.push(grant);
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

/// The session name of a role session (`…:assumed-role/ROLE/NAME`).
fn session_name(node: &Node) -> Option<&str> {
    let arn = node.principal_arn.as_deref().filter(|_| node.kind == NodeKind::Session)?;
    crate::chain::arn_is(arn, "assumed-role/").then(|| arn.rsplit('/').next()).flatten()
}

/// The session name of a role session when it is one a Lambda function could have.
fn role_session_name(node: &Node) -> Option<&str> {
    session_name(node).filter(|n| is_function_name(n))
}

/// The instance id a role session is named by (`…:assumed-role/ROLE/i-…`), if it is one.
fn instance_session(node: &Node) -> Option<&str> {
    session_name(node).filter(|n| is_instance_id(n))
}

#[cfg(test)]
mod tests {
    use super::function_names;

    /// Every form Lambda's `functionName` takes gives the function's name (and its account
    /// when it names one); `function:X` gives both readings; a name no function could have
    /// gives nothing.
    #[test]
    fn a_function_is_named_by_name_partial_arn_or_arn() {
        let acct = Some("111122223333");
        type Named<'a> = &'a [(Option<&'a str>, &'a str)];
        let cases: &[(&str, Named)] = &[
            ("billing-export", &[(None, "billing-export")]),
            ("billing-export:prod", &[(None, "billing-export")]),
            ("function", &[(None, "function")]),
            ("function:billing", &[(None, "billing"), (None, "function")]),
            ("function:billing:7", &[(None, "billing")]),
            (
                "111122223333:function:billing-export",
                &[(acct, "billing-export"), (acct, "function")],
            ),
            ("us-east-1:111122223333:function:f:$LATEST", &[(acct, "f")]),
            ("us-gov-west-1:function:f.v2", &[(None, "f.v2"), (None, "function")]),
            ("arn:aws:lambda:us-east-1:111122223333:function:billing_2", &[(acct, "billing_2")]),
            ("arn:aws:lambda:us-east-1:111122223333:function:function", &[(acct, "function")]),
            ("arn:aws-cn:lambda:cn-north-1:111122223333:function:f:7", &[(acct, "f")]),
            ("arn:aws:lambda:us-east-1:bad:function:f", &[(None, "f")]),
            ("", &[]),
            ("a/b", &[]),
            ("name with space", &[]),
            ("arn:aws:lambda:us-east-1:111122223333:function", &[]),
            ("arn:aws:s3:::bucket", &[]),
            ("a:b:c", &[]),
        ];
        for (given, want) in cases {
            assert_eq!(function_names(given), *want, "{given}");
        }
        assert!(function_names(&"x".repeat(65)).is_empty());
    }
}

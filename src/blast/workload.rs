//! Functions a tainted credential changed and instances it launched, none of whose role
//! sessions the trail ties to the call as tainted.
//!
//! Lambda and EC2 take those sessions by themselves, whenever the function runs or for as long
//! as the instance does (F21). The session graph ties the sessions it sees to the change or
//! the launch, and the plan denies them by their `aws:userid` with no time condition
//! (`TrailhoundDenyChangedFunctions`, `TrailhoundDenyLaunchedInstances`). A workload none of
//! whose sessions is in the trail yet (a function scheduled to run, not run before the logs
//! end; an instance whose sessions are logged in an account not collected) gives the plan
//! nothing to name, so its finding is a route the taint does not follow: the plan exits 1 and
//! `verify` fails until a responder has dealt with it. A review found a function made with an
//! admin role and scheduled to run every minute, not yet run: plan exit 0 and verify OK, with
//! only "restore or delete the function" to say otherwise.

use super::classify::NOT_FOLLOWED;
use crate::chain::SessionGraph;
use crate::ingest::{FUNCTION_CHANGES, LAUNCHES};
use crate::model::Event;
use std::collections::{BTreeMap, BTreeSet};

/// A successful function change or launch of a tainted credential, as [`Linked::judge`] reads
/// it: its place among the run's persistence findings, its event id, time, account and
/// region, the functions it names and the roles it set (lower case), or the instances it
/// launched.
pub(super) struct Call {
    pub(super) at: usize,
    id: String,
    time: i64,
    account: String,
    region: String,
    functions: Vec<String>,
    roles: Vec<String>,
    sets_role: bool,
    instances: Option<Vec<String>>,
}

/// A role's name from its ARN (the last part of its path) or its bare name, in lower case
/// (IAM does not tell role names apart by case).
fn role_name(r: &str) -> String {
    r.rsplit('/').next().unwrap_or(r).to_ascii_lowercase()
}

impl Call {
    /// `e` as a [`Call`] if it is one (the `at`-th persistence finding).
    pub(super) fn of(e: &Event, at: usize) -> Option<Call> {
        let account = e.account().unwrap_or("").to_string();
        let (functions, instances) = if FUNCTION_CHANGES.contains(&e.name.as_str()) {
            let named = e.request.function_name.as_deref().map(crate::model::names::function_names);
            let names = named.unwrap_or_default();
            (names.iter().map(|&(a, f)| (a, f.to_string())).collect::<Vec<_>>(), None)
        } else if e.name == LAUNCHES {
            // Without instance ids the finding already says NOT FOLLOWED.
            let ids = e.response.instance_ids.as_deref()?;
            let ids = ids.split(',').filter(|i| crate::model::is_instance_id(i));
            (Vec::new(), Some(ids.map(String::from).collect()))
        } else {
            return None;
        };
        // A function named by an ARN of another account is that account's.
        let foreign = functions.iter().find_map(|(a, _)| *a).map(String::from);
        let roles: Vec<String> = e
            .request
            .passed_role
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(role_name)
            .collect();
        Some(Call {
            at,
            id: e.id.clone(),
            time: e.time,
            account: foreign.unwrap_or(account),
            region: e.region.as_deref().unwrap_or("").to_ascii_lowercase(),
            functions: functions.into_iter().map(|(_, f)| f).collect(),
            sets_role: !roles.is_empty() || e.name.starts_with("CreateFunction"),
            roles,
            instances,
        })
    }

    fn names(&self, f: &str) -> bool {
        self.functions.iter().any(|g| g == f)
    }
}

/// A tainted role session the graph ties to a function change: its account, function, role
/// (lower case) and issue time.
struct FunctionSession<'g> {
    account: &'g str,
    function: &'g str,
    role: String,
    issued: Option<i64>,
}

/// What the plan's denies of workloads rest on: the tainted sessions the graph ties to each
/// launch (by its event id, the instance ids), and the tainted sessions of functions.
pub(super) struct Linked<'g> {
    launches: BTreeMap<&'g str, BTreeSet<&'g str>>,
    functions: Vec<FunctionSession<'g>>,
}

impl<'g> Linked<'g> {
    pub(super) fn of(g: &'g SessionGraph, tainted: &[bool]) -> Self {
        let is_tainted = |n: usize| tainted.get(n).copied().unwrap_or(false);
        let mut launches: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut functions = Vec::new();
        let mut seen = BTreeSet::new();
        for (e, &(_, child)) in g.edges.iter().zip(&g.edge_nodes) {
            let function = FUNCTION_CHANGES.contains(&e.event_name.as_str());
            if !(function || e.event_name == LAUNCHES) || !is_tainted(child) {
                continue;
            }
            // `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
            let Some(arn) = g.nodes[child].principal_arn.as_deref() else { continue };
            let mut parts = arn.rsplit('/');
            let (Some(name), Some(role)) = (parts.next(), parts.next()) else { continue };
            if !function {
                launches.entry(e.event_id.as_str()).or_default().insert(name);
            } else if seen.insert(child) {
                functions.push(FunctionSession {
                    account: crate::chain::arn_account(arn).unwrap_or(""),
                    function: name,
                    role: role.to_ascii_lowercase(),
                    issued: g.nodes[child].issued_at,
                });
            }
        }
        Linked { launches, functions }
    }

    /// The follow-up that replaces the finding's own, for each of `calls` whose workload the
    /// plan's denies do not reach (by its place among the persistence findings).
    ///
    /// A launch: each instance it started needs a tainted session tied to it (the deny names
    /// `ROLEID:i-…`). A function change: the plan denies `ROLEID:FUNCTION` with no time
    /// condition on the role of each tainted session of the function, so a change that set
    /// the function's role is reached when a tainted session of that function with that role
    /// is in the graph, in any region (the deny names no region). One that left the role as it
    /// was (new code, a layer, an environment) runs with the role the latest tainted change
    /// before it set in its region, and is reached the same way; when no such change is in the
    /// trail, when a tainted session of the function was issued after it and before the next
    /// tainted change that set its role in its region (the role it ran with then). A session
    /// whose issue time is not known counts for no such window. Reviews of two earlier versions got past them with a function of the same name
    /// in another region, a change of the function's role, and a session of the role the
    /// function had before.
    pub(super) fn judge(&self, calls: &[Call]) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for c in calls {
            if let Some(ids) = &c.instances {
                let linked = self.launches.get(c.id.as_str());
                let missing: Vec<&str> = ids
                    .iter()
                    .map(String::as_str)
                    .filter(|i| !linked.is_some_and(|l| l.contains(i)))
                    .collect();
                if !missing.is_empty() {
                    out.push((c.at, format!(
                        "{NOT_FOLLOWED}: an instance launched with an instance profile (named in the request, or by its launch template) fetches the role's sessions by itself for as long as it runs (F21), and the trail ties none to instance(s) {}, so no deny of this plan names them; terminate them, or find their profile (aws ec2 describe-instances) and deny its role's sessions by aws:userid ROLEID:i-... with no time condition",
                        missing.join(", ")
                    )));
                }
                continue;
            }
            let Some(f) = c.functions.first() else {
                out.push((c.at, format!(
                    "{NOT_FOLLOWED}: the record names no function, so the trail ties no session to this change, and Lambda takes the function's role sessions by itself whenever it runs (F21); find the function the caller changed (aws lambda list-functions, by its last modification), restore or delete it, then deny its role's sessions by aws:userid ROLEID:FUNCTION with no time condition"
                )));
                continue;
            };
            let ours = |s: &&FunctionSession| s.account == c.account && c.names(s.function);
            // The tainted changes that set the role of a function it names, in its region.
            let role_changes = || {
                calls
                    .iter()
                    .filter(|d| d.instances.is_none() && d.sets_role && !d.roles.is_empty())
                    .filter(|d| d.account == c.account && d.region == c.region)
                    .filter(|d| d.functions.iter().any(|g| c.names(g)))
            };
            // The roles the function has after the change: those it set, or those the latest
            // tainted change before it set (a change that left the role).
            let roles = if c.sets_role {
                Some(&c.roles)
            } else {
                role_changes().filter(|d| d.time <= c.time).max_by_key(|d| d.time).map(|d| &d.roles)
            };
            let reached = match roles {
                // A tainted session of the function for every role the request names: the
                // request may name roles that are not the function's (a review put ProdRole's
                // ARN in the `description` of a change that set the function's role to
                // another, and the function's earlier tainted ProdRole session was taken for
                // it, verify OK; a later review linked a session of a role named in the
                // function's `environment`, issued after the change), and which one is the
                // function's role is not kept apart from them. A role ARN the code is given
                // (an environment variable) so holds the change unfollowed until a session of
                // the function with that role shows: a route not followed, which fails closed.
                Some(roles) => {
                    !roles.is_empty()
                        && roles
                            .iter()
                            .all(|r| self.functions.iter().filter(ours).any(|s| &s.role == r))
                }
                // Not known: a session of the function issued after the change and before the
                // next change of its role.
                None => {
                    let next = role_changes().filter(|d| d.time > c.time).map(|d| d.time).min();
                    self.functions.iter().filter(ours).any(|s| {
                        s.issued.is_some_and(|t| t >= c.time && next.is_none_or(|n| t < n))
                    })
                }
            };
            if reached {
                continue;
            }
            let f = crate::escape::one_line(f);
            out.push((c.at, format!(
                "{NOT_FOLLOWED}: Lambda takes the function's role sessions by itself whenever it runs (F21), and no tainted session of function {f} with the role this change left it with is in the trail, so no deny of this plan names them; restore or delete the function (code, layers, environment, role, and what invokes it: schedules, triggers, event source mappings), then deny its role's sessions by aws:userid ROLEID:{f} with no time condition"
            )));
        }
        out
    }
}

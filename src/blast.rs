//! Blast radius (SPEC §4): what the leaked keys led to and what those credentials did.
//!
//! Taint starts at the seed keys and follows issuance edges downward, transitively: sessions
//! minted by tainted credentials (in any account whose logs are given), and long-term keys
//! the attacker created (and what they minted in turn). An event is tainted when the
//! credential that signed it is tainted; the role owner's copy of a cross-account AssumeRole
//! carries no key and is evidence of the edge, not a second tainted event (F3).

use crate::chain::{NodeKind, SessionGraph};
use crate::ingest::Ingest;
use crate::model::Event;
use crate::time::{fmt_iso, fmt_opt};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A tainted credential (`credentials[]` in the JSON).
#[derive(Debug, Clone, Serialize)]
pub struct TaintedCredential {
    /// Node id in the session graph.
    pub id: String,
    pub access_key_id: Option<String>,
    pub kind: NodeKind,
    pub principal_arn: Option<String>,
    pub principal_type: Option<String>,
    pub account_id: Option<String>,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    /// Access key (or node id) of the credential that issued it.
    pub issued_by: Option<String>,
    /// The issuing call.
    pub issuing_event: Option<String>,
    pub events: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Source IPs with the time each was first seen; `new` marks IPs that appeared after the
    /// credential's first IP (a change of hands shows up here).
    pub source_ips: Vec<SeenValue>,
    pub user_agents: Vec<SeenValue>,
}

/// A value (IP, user agent) as seen on one credential.
#[derive(Debug, Clone, Serialize)]
pub struct SeenValue {
    pub value: String,
    pub events: u64,
    pub first_seen: String,
    pub new: bool,
}

/// One action (`actions[]`).
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub event_source: String,
    pub event_name: String,
    pub count: u64,
    pub errors: u64,
}

/// One resource (`resources[]`).
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub arn: String,
    pub events: u64,
    pub actions: Vec<String>,
}

/// Data read by the tainted credentials (S3 objects, secrets, parameters).
#[derive(Debug, Clone, Serialize)]
pub struct DataAccess {
    pub event_name: String,
    pub resource: String,
    pub count: u64,
    pub first: String,
}

/// Something the attacker created or changed that outlives the sessions.
#[derive(Debug, Clone, Serialize)]
pub struct Persistence {
    pub event_time: String,
    pub event_name: String,
    pub event_id: String,
    pub account_id: Option<String>,
    /// What was created or changed (user, key, role, policy).
    pub target: String,
    pub detail: String,
    /// What the responder must do.
    pub follow_up: String,
    pub by_access_key: Option<String>,
    /// The IAM user, role, group and policy the call named (from its request), when it
    /// named them: what the plan's clean-up commands act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// `requestParameters.name` (trail name for StopLogging/DeleteTrail/UpdateTrail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A hint for a responder who is not sure which key leaked.
#[derive(Debug, Clone, Serialize)]
pub struct Signal {
    pub kind: String,
    pub credential: String,
    pub principal_arn: Option<String>,
    pub detail: String,
}

/// The blast radius.
#[derive(Debug, Serialize)]
pub struct BlastRadius {
    pub seeds: Vec<String>,
    /// Key findings and next steps, most severe first; failed attempts marked (SPEC §4;
    /// [`crate::findings`]). Filled by [`with_findings`].
    pub findings: Vec<crate::findings::Finding>,
    pub credentials: Vec<TaintedCredential>,
    /// Number of tainted events.
    pub events: u64,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub accounts: BTreeMap<String, u64>,
    pub regions: BTreeMap<String, u64>,
    pub source_ips: BTreeMap<String, u64>,
    pub user_agents: BTreeMap<String, u64>,
    pub actions: Vec<Action>,
    pub resources: Vec<Resource>,
    pub data_access: Vec<DataAccess>,
    pub persistence: Vec<Persistence>,
    /// Tainted events per hour (`YYYY-MM-DDTHH`).
    pub per_hour: BTreeMap<String, u64>,
    pub signals: Vec<Signal>,
    /// Users the attacker created or took over (SPEC §9): every credential of theirs from
    /// then on is tainted.
    pub attacker_users: Vec<crate::taint::AttackerUser>,
    /// Per account, the first and last event of the evidence (SPEC §9).
    pub evidence_window: Vec<crate::taint::EvidenceWindow>,
    /// Tainted credentials still valid when their account's evidence ends: what they did
    /// since is not in the logs (SPEC §9).
    pub unseen_tail: Vec<crate::taint::TailRisk>,
    pub notes: Vec<String>,
    /// Indices (into [`Ingest::stubs`]) of the tainted events, in time order.
    #[serde(skip)]
    pub event_indices: Vec<usize>,
    /// Indices (into the graph) of the tainted credential nodes.
    #[serde(skip)]
    pub nodes: BTreeSet<usize>,
    /// The tainted events in full, in time order (empty unless asked for).
    #[serde(skip)]
    pub tainted_events: Vec<Event>,
}

/// Seed nodes for `--key` values. A value `KEY@TIME` names one session of a reused key id.
pub fn seed_nodes(g: &SessionGraph, seeds: &[String], notes: &mut Vec<String>) -> Vec<usize> {
    let mut out = Vec::new();
    for s in seeds {
        if s.contains('@') {
            if let Some(n) = g.node(s) {
                out.push(n);
            } else {
                notes.push(format!("seed {s}: no such session in the trail"));
            }
            continue;
        }
        let found: Vec<usize> = g
            .nodes_for_key(s)
            .into_iter()
            .filter(|&n| matches!(g.nodes[n].kind, NodeKind::LongTermKey | NodeKind::Session))
            .collect();
        if found.is_empty() {
            notes.push(format!("seed {s}: the key does not appear in the trail"));
        }
        if found.len() > 1 {
            let ids: Vec<&str> = found.iter().map(|&n| g.nodes[n].id.as_str()).collect();
            notes.push(format!(
                "seed {s}: the key id names {} sessions (F16); all are treated as tainted: {}. Pass KEY@ISSUE_TIME to pick one.",
                found.len(),
                ids.join(", ")
            ));
        }
        out.extend(found);
    }
    out
}

const PERSISTENCE: &[&str] = &[
    "CreateAccessKey",
    "UpdateAccessKey",
    "CreateUser",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "AttachUserPolicy",
    "PutUserPolicy",
    "AttachRolePolicy",
    "PutRolePolicy",
    "AttachGroupPolicy",
    "PutGroupPolicy",
    "AddUserToGroup",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "CreateVirtualMFADevice",
    "EnableMFADevice",
    "CreateSAMLProvider",
    "CreateOpenIDConnectProvider",
    "UpdateSAMLProvider",
    "CreateServiceSpecificCredential",
    "UploadSSHPublicKey",
    "CreateFunction20150331",
    "UpdateFunctionCode20150331v2",
    "AddPermission20150331v2",
    "ImportKeyPair",
    "CreateKeyPair",
    "RunInstances",
    "StopLogging",
    "DeleteTrail",
    "PutEventSelectors",
    "UpdateTrail",
];

fn persistence_of(e: &Event) -> Option<(String, String, String)> {
    let q = &e.request;
    let r = &e.response;
    let user = || {
        q.user_name.clone().or_else(|| e.identity.user_name.clone()).unwrap_or_else(|| "?".into())
    };
    let role = || q.role_name.clone().unwrap_or_else(|| "?".into());
    let (target, detail, follow) = match e.name.as_str() {
        "CreateAccessKey" => (
            format!("user/{}", r.access_key_user.clone().unwrap_or_else(user)),
            format!("access key {}", r.access_key_id.as_deref().unwrap_or("?")),
            "deactivate and delete the key (aws iam update-access-key --status Inactive, then delete-access-key)".to_string(),
        ),
        "UpdateAccessKey" => (
            format!("user/{}", user()),
            format!("access key {} set {}", q.access_key_id.as_deref().unwrap_or("?"), q.status.as_deref().unwrap_or("?")),
            "check the key's status is what it should be".to_string(),
        ),
        "CreateUser" => (
            format!("user/{}", r.user_name.clone().unwrap_or_else(user)),
            format!("new IAM user {}", r.user_arn.as_deref().unwrap_or("")),
            "delete the user after removing its keys, login profile, policies and group memberships".to_string(),
        ),
        "CreateLoginProfile" | "UpdateLoginProfile" => (
            format!("user/{}", r.login_profile_user.clone().unwrap_or_else(user)),
            "console password set".to_string(),
            "delete the login profile (aws iam delete-login-profile)".to_string(),
        ),
        "AttachUserPolicy" | "PutUserPolicy" => (
            format!("user/{}", user()),
            format!("policy {}", q.policy_arn.as_deref().or(q.policy_name.as_deref()).unwrap_or("?")),
            "detach or delete the policy".to_string(),
        ),
        "AttachRolePolicy" | "PutRolePolicy" => (
            format!("role/{}", role()),
            format!("policy {}", q.policy_arn.as_deref().or(q.policy_name.as_deref()).unwrap_or("?")),
            "detach or delete the policy".to_string(),
        ),
        "AttachGroupPolicy" | "PutGroupPolicy" | "AddUserToGroup" => (
            format!("group/{}", q.group_name.as_deref().unwrap_or("?")),
            format!("{} {}", e.name, q.policy_arn.as_deref().or(q.user_name.as_deref()).unwrap_or("")),
            "undo the group change".to_string(),
        ),
        "CreateRole" => (
            format!("role/{}", role()),
            format!("new role {}", r.role_arn.as_deref().unwrap_or("")),
            "review the trust policy, then delete the role".to_string(),
        ),
        "UpdateAssumeRolePolicy" => (
            format!("role/{}", role()),
            "trust policy changed".to_string(),
            "restore the previous trust policy (who can assume the role changed)".to_string(),
        ),
        "StopLogging" | "DeleteTrail" | "PutEventSelectors" | "UpdateTrail" => (
            format!("trail {}", q.name.as_deref().unwrap_or("?")),
            "logging tampered with".to_string(),
            "restore logging; activity after this point may be missing from the trail".to_string(),
        ),
        "RunInstances" => (
            "ec2 instances".to_string(),
            "instances launched".to_string(),
            "review and terminate unknown instances; their instance profiles may hold credentials".to_string(),
        ),
        _ => (
            e.resources.first().cloned().unwrap_or_else(|| e.source.clone()),
            e.name.clone(),
            "review and undo".to_string(),
        ),
    };
    Some((target, detail, follow))
}

fn is_data_read(e: &Event) -> bool {
    matches!(
        e.name.as_str(),
        "GetObject"
            | "GetSecretValue"
            | "BatchGetSecretValue"
            | "GetParameter"
            | "GetParameters"
            | "GetParametersByPath"
            | "GetPasswordData"
            | "Decrypt"
            | "DescribeInstanceAttribute"
    ) || (e.category.as_deref() == Some("Data") && e.read_only == Some(true))
}

fn seen_values(m: BTreeMap<String, (u64, i64)>) -> Vec<SeenValue> {
    let first = m.values().map(|x| x.1).min();
    let mut out: Vec<SeenValue> = m
        .into_iter()
        .map(|(v, (n, t))| SeenValue {
            value: v,
            events: n,
            first_seen: fmt_iso(t),
            new: Some(t) != first,
        })
        .collect();
    out.sort_by(|a, b| a.first_seen.cmp(&b.first_seen).then_with(|| a.value.cmp(&b.value)));
    out
}

/// Adds one to the count of `k`, allocating the key only the first time it is seen.
fn bump(m: &mut BTreeMap<String, u64>, k: &str) {
    match m.get_mut(k) {
        Some(n) => *n += 1,
        None => {
            m.insert(k.to_string(), 1);
        }
    }
}

/// One more sighting of `k` at `t`: count and first time.
fn sight(m: &mut BTreeMap<String, (u64, i64)>, k: &str, t: i64) {
    match m.get_mut(k) {
        Some(x) => {
            x.0 += 1;
            x.1 = x.1.min(t);
        }
        None => {
            m.insert(k.to_string(), (1, t));
        }
    }
}

/// Computes the blast radius of `seeds`. With `with_events`, the tainted events are read back
/// in full (a second pass over only the files that hold them) for the activity sections, and
/// kept in [`BlastRadius::tainted_events`]; without, only the tainted credentials are
/// computed (what `verify` needs).
///
/// # Errors
/// A file that changed on disk between the two passes.
pub fn blast(
    ing: &Ingest,
    g: &SessionGraph,
    seeds: &[String],
    with_events: bool,
) -> anyhow::Result<BlastRadius> {
    blast_with(ing, g, seeds, with_events, with_events)
}

/// [`blast`], with the activity sections (`activity`) and the tainted events kept in full
/// (`keep_events`) chosen apart. The activity is aggregated event by event as the files are
/// re-read ([`Ingest::for_each_event`]), so without `keep_events` memory grows with the
/// distinct values reported (IPs, user agents, actions, resources), not with the number of
/// tainted events; a caller that must write every tainted event streams them in batches with
/// [`Ingest::load_events`] over [`BlastRadius::event_indices`].
///
/// # Errors
/// A file that changed on disk between the two passes.
pub fn blast_with(
    ing: &Ingest,
    g: &SessionGraph,
    seeds: &[String],
    activity: bool,
    keep_events: bool,
) -> anyhow::Result<BlastRadius> {
    let mut notes = Vec::new();
    let seed_idx = seed_nodes(g, seeds, &mut notes);
    let taint = crate::taint::taint(g, &seed_idx);
    let nodes = taint.nodes;
    let evidence_window = crate::taint::evidence_window(ing);
    let unseen_tail = crate::taint::unseen_tail(g, &nodes, &evidence_window, |n| {
        (g.nodes[n].kind == NodeKind::Session).then(|| crate::plan::session_expiry(g, n)).flatten()
    });
    let trail_accounts = ing.accounts();
    let mut gaps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for &n in &nodes {
        if let Some(a) = g.nodes[n].account_id.as_deref() {
            if !trail_accounts.contains(a) {
                gaps.entry(a).or_default().push(g.nodes[n].id.as_str());
            }
        }
    }
    for (a, ids) in gaps {
        notes.push(format!(
            "logs of account {a} are not in the trail: tainted credential(s) {} live there and their activity there is not visible; collect AWSLogs/{a}/ next",
            ids.join(", ")
        ));
    }
    for e in g.edges.iter().filter(|e| e.inferred) {
        if g.node(&e.child).is_some_and(|c| nodes.contains(&c)) {
            notes.push(format!(
                "{} is tainted through an inferred link from {} (event {}): only the role owner's copy of the call is in the trail",
                e.child, e.parent, e.event_id
            ));
        }
    }
    if !unseen_tail.is_empty() {
        notes.push(format!(
            "{} tainted credential(s) were still valid when the evidence of their account ends (see unseen_tail): re-run on logs through the cut-off before applying a plan",
            unseen_tail.len()
        ));
    }
    let mut mask = vec![false; g.nodes.len()];
    for &n in &nodes {
        mask[n] = true;
    }
    let event_indices: Vec<usize> =
        (0..ing.stubs.len()).filter(|&i| g.node_of_event(i).is_some_and(|n| mask[n])).collect();

    let mut per_node: BTreeMap<usize, SeenMaps> = BTreeMap::new();
    let mut accounts = BTreeMap::new();
    let mut regions = BTreeMap::new();
    let mut source_ips = BTreeMap::new();
    let mut user_agents = BTreeMap::new();
    let mut resources: BTreeMap<String, (u64, BTreeSet<String>)> = BTreeMap::new();
    let mut data: BTreeMap<(String, String), (u64, i64)> = BTreeMap::new();
    let mut persistence = Vec::new();
    let mut counts: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut per_hour: BTreeMap<String, u64> = BTreeMap::new();
    let mut slots: Vec<Option<Event>> = Vec::new();
    if keep_events {
        slots.resize_with(event_indices.len(), || None);
    }
    // Persistence items with the position of their event, to restore time order.
    let mut found: Vec<(usize, Persistence)> = Vec::new();
    let wanted: &[usize] = if activity { &event_indices } else { &[] };
    ing.for_each_event(wanted, |pos, e| {
        let i = event_indices[pos];
        if let Some(n) = g.node_of_event(i) {
            let m = per_node.entry(n).or_default();
            if let Some(v) = e.source_ip.as_deref() {
                sight(&mut m.ips, v, e.time);
            }
            if let Some(v) = e.user_agent.as_deref() {
                sight(&mut m.agents, v, e.time);
            }
        }
        if let Some(a) = e.account() {
            bump(&mut accounts, a);
        }
        if let Some(r) = &e.region {
            bump(&mut regions, r);
        }
        if let Some(ip) = &e.source_ip {
            bump(&mut source_ips, ip);
        }
        if let Some(ua) = &e.user_agent {
            bump(&mut user_agents, ua);
        }
        for r in &e.resources {
            let x = match resources.get_mut(r.as_str()) {
                Some(x) => x,
                None => resources.entry(r.clone()).or_default(),
            };
            x.0 += 1;
            if !x.1.contains(e.name.as_str()) {
                x.1.insert(e.name.clone());
            }
        }
        if !e.failed() && is_data_read(&e) {
            let res = e.resources.first().map(String::as_str).unwrap_or(e.source.as_str());
            let d = data.entry((e.name.clone(), res.to_string())).or_insert((0, e.time));
            d.0 += 1;
            d.1 = d.1.min(e.time);
        }
        if !e.failed() && PERSISTENCE.contains(&e.name.as_str()) {
            if let Some((target, detail, follow_up)) = persistence_of(&e) {
                found.push((
                    pos,
                    Persistence {
                        event_time: fmt_iso(e.time),
                        event_name: e.name.clone(),
                        event_id: e.id.clone(),
                        account_id: e.account().map(str::to_string),
                        target,
                        detail,
                        follow_up,
                        by_access_key: e.identity.access_key_id.clone(),
                        user_name: match e.name.as_str() {
                            "CreateAccessKey" => e
                                .response
                                .access_key_user
                                .clone()
                                .or_else(|| e.request.user_name.clone())
                                .or_else(|| e.identity.user_name.clone()),
                            "CreateUser" => {
                                e.response.user_name.clone().or_else(|| e.request.user_name.clone())
                            }
                            "CreateLoginProfile" => e
                                .response
                                .login_profile_user
                                .clone()
                                .or_else(|| e.request.user_name.clone()),
                            _ => e.request.user_name.clone(),
                        },
                        role_name: e.request.role_name.clone(),
                        group_name: e.request.group_name.clone(),
                        policy_arn: e.request.policy_arn.clone(),
                        policy_name: e.request.policy_name.clone(),
                        name: e.request.name.clone(),
                    },
                ));
            }
        }
        let c = counts.entry((e.source.clone(), e.name.clone())).or_default();
        c.0 += 1;
        c.1 += u64::from(e.failed());
        bump(&mut per_hour, &fmt_iso(e.time)[..13]);
        if keep_events {
            slots[pos] = Some(e);
        }
    })?;
    found.sort_by_key(|(pos, _)| *pos);
    persistence.extend(found.into_iter().map(|(_, p)| p));
    let tainted_events: Vec<Event> = slots.into_iter().flatten().collect();

    let parent = g.parent_edge();
    let mut credentials: Vec<TaintedCredential> = nodes
        .iter()
        .map(|&n| {
            let node = &g.nodes[n];
            let mine = per_node.remove(&n).unwrap_or_default();
            TaintedCredential {
                id: node.id.clone(),
                access_key_id: node.access_key_id.as_deref().map(str::to_string),
                kind: node.kind,
                principal_arn: node.principal_arn.clone(),
                principal_type: node.principal_type.as_deref().map(str::to_string),
                account_id: node.account_id.as_deref().map(str::to_string),
                issued_at: fmt_opt(node.issued_at),
                expires_at: fmt_opt(node.expires_at),
                issued_by: parent[n].map(|(p, _)| {
                    g.nodes[p].access_key_id.as_deref().unwrap_or(&g.nodes[p].id).to_string()
                }),
                issuing_event: parent[n].map(|(_, k)| g.edges[k].event_name.clone()),
                events: node.events,
                first_seen: fmt_opt(node.first_seen),
                last_seen: fmt_opt(node.last_seen),
                source_ips: seen_values(mine.ips),
                user_agents: seen_values(mine.agents),
            }
        })
        .collect();
    credentials.sort_by(|a, b| {
        (a.issued_at.is_some(), &a.issued_at, &a.id).cmp(&(
            b.issued_at.is_some(),
            &b.issued_at,
            &b.id,
        ))
    });

    let mut actions: Vec<Action> = counts
        .into_iter()
        .map(|((event_source, event_name), (count, errors))| Action {
            event_source,
            event_name,
            count,
            errors,
        })
        .collect();
    actions.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.event_source, &a.event_name).cmp(&(&b.event_source, &b.event_name)))
    });
    let mut resources: Vec<Resource> = resources
        .into_iter()
        .map(|(arn, (n, acts))| Resource { arn, events: n, actions: acts.into_iter().collect() })
        .collect();
    resources.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.arn.cmp(&b.arn)));
    let data_access = data
        .into_iter()
        .map(|((n, r), (c, t))| DataAccess {
            event_name: n,
            resource: r,
            count: c,
            first: fmt_iso(t),
        })
        .collect();

    Ok(BlastRadius {
        seeds: seeds.to_vec(),
        findings: Vec::new(),
        credentials,
        first_event: fmt_opt(event_indices.first().map(|&i| ing.stubs[i].time)),
        last_event: fmt_opt(event_indices.last().map(|&i| ing.stubs[i].time)),
        accounts,
        regions,
        source_ips,
        user_agents,
        actions,
        resources,
        data_access,
        persistence,
        per_hour,
        events: event_indices.len() as u64,
        signals: signals(ing, g),
        attacker_users: taint.attacker_users,
        evidence_window,
        unseen_tail,
        notes,
        event_indices,
        nodes,
        tainted_events,
    })
}

/// The source IPs and user agents one credential was seen with: count and first time.
#[derive(Debug, Default)]
struct SeenMaps {
    ips: BTreeMap<String, (u64, i64)>,
    agents: BTreeMap<String, (u64, i64)>,
}

/// Signals over the whole trail: EC2 instance-profile credentials of one role session (same
/// role, session name = instance id) used from more than one network. The instance fetches
/// new keys as they rotate, so the evidence is per role session, not per key: a stolen key
/// shows up as the same session ARN calling from somewhere else (CLOUDTRAIL.md §5, item 6).
fn signals(ing: &Ingest, g: &SessionGraph) -> Vec<Signal> {
    let parent = g.parent_edge();
    let is_instance = |n: usize| {
        let node = &g.nodes[n];
        node.issued_by_event.as_deref() == Some("EC2 instance profile")
            || parent[n].is_some_and(|(p, _)| g.nodes[p].id == "service:ec2.amazonaws.com")
            || node.principal_arn.as_deref().is_some_and(|a| {
                a.contains(":assumed-role/")
                    && a.rsplit('/').next().is_some_and(|s| s.starts_with("i-"))
            })
    };
    // session ARN -> (ip -> keys that used it)
    let mut by_session: BTreeMap<&str, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for (i, st) in ing.stubs.iter().enumerate() {
        let Some(n) = g.node_of_event(i) else { continue };
        let Some(ip) = ing.str(st.ip) else { continue };
        let internal = ip.starts_with("AWS Internal") || ip.ends_with(".amazonaws.com");
        if internal || st.flags & crate::ingest::INVOKED_BY != 0 || !is_instance(n) {
            continue;
        }
        let Some(arn) = g.nodes[n].principal_arn.as_deref() else { continue };
        let key = g.nodes[n].access_key_id.as_deref().unwrap_or("?");
        by_session.entry(arn).or_default().entry(ip).or_default().insert(key);
    }
    by_session
        .into_iter()
        .filter(|(_, ips)| ips.len() > 1)
        .map(|(arn, ips)| Signal {
            kind: "instance_credentials_used_elsewhere".into(),
            credential: arn.to_string(),
            principal_arn: Some(arn.to_string()),
            detail: format!(
                "EC2 instance-profile session {arn} used from {} networks: {}",
                ips.len(),
                ips.iter()
                    .map(|(ip, keys)| format!(
                        "{ip} (keys {})",
                        keys.iter().copied().collect::<Vec<_>>().join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        })
        .collect()
}

/// Terminal rendering: a responder's one-screen summary.
pub fn render_table(b: &BlastRadius) -> String {
    use crate::escape::one_line as l;
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "blast radius of {}", l(&b.seeds.join(", ")));
    let _ = writeln!(
        o,
        "{} tainted credentials, {} events, {} .. {}",
        b.credentials.len(),
        b.events,
        b.first_event.as_deref().unwrap_or("-"),
        b.last_event.as_deref().unwrap_or("-")
    );
    let join = |m: &BTreeMap<String, u64>| {
        m.iter().map(|(k, v)| format!("{} ({v})", l(k))).collect::<Vec<_>>().join(", ")
    };
    findings_text(b, &mut o);
    let _ = writeln!(o);
    let _ = writeln!(o, "accounts: {}", join(&b.accounts));
    let _ = writeln!(o, "regions: {}", join(&b.regions));
    let _ = writeln!(o, "source IPs: {}", l(&group_ips(&b.source_ips)));
    let _ = writeln!(o, "user agents: {}", b.user_agents.len());
    let _ = writeln!(o, "\ncredentials (times UTC: issued–expires)");
    let hm = |t: &Option<String>| {
        t.as_deref().map_or("-".to_string(), |t| t.get(11..16).unwrap_or(t).to_string())
    };
    for c in &b.credentials {
        let when = if c.kind == NodeKind::LongTermKey {
            format!("key {}", hm(&c.issued_at))
        } else {
            format!("{}–{}", hm(&c.issued_at), hm(&c.expires_at))
        };
        let line = format!(
            "  {:<20}  {:<11}  {:>4} calls  {}{}",
            l(c.access_key_id.as_deref().unwrap_or(&c.id)),
            when,
            c.events,
            c.principal_arn
                .as_deref()
                .map(crate::chain::render::short_principal)
                .unwrap_or_else(|| "?".into()),
            c.issuing_event.as_deref().map(|e| format!(" ({})", l(e))).unwrap_or_default()
        );
        let _ = writeln!(o, "{}", crate::chain::render::middle_ellipsis(&line, 100));
        let new: Vec<&str> =
            c.source_ips.iter().filter(|v| v.new).map(|v| v.value.as_str()).collect();
        if !new.is_empty() {
            let _ = writeln!(o, "      new source IPs: {}", l(&new.join(", ")));
        }
    }
    let name = |a: &Action| {
        l(&format!("{}:{}", a.event_source.trim_end_matches(".amazonaws.com"), a.event_name))
            .into_owned()
    };
    let _ = writeln!(o, "\ntop successful actions (calls)");
    let mut ok: Vec<&Action> = b.actions.iter().filter(|a| a.count > a.errors).collect();
    ok.sort_by(|x, y| {
        (y.count - y.errors).cmp(&(x.count - x.errors)).then_with(|| name(x).cmp(&name(y)))
    });
    for a in ok.iter().take(15) {
        let _ = writeln!(o, "  {:<60} {:>6}", name(a), a.count - a.errors);
    }
    let failed: Vec<&Action> = b.actions.iter().filter(|a| a.errors > 0).collect();
    if !failed.is_empty() {
        let _ = writeln!(o, "\nfailed or denied attempts (calls)");
        for a in failed.iter().take(15) {
            let _ = writeln!(o, "  {:<60} {:>6}", name(a), a.errors);
        }
    }
    if !b.resources.is_empty() {
        let _ = writeln!(o, "\ntop resources");
        for r in b.resources.iter().take(10) {
            let _ = writeln!(o, "  {:>6}  {}", r.events, l(&r.arn));
        }
    }
    if !b.data_access.is_empty() {
        let _ = writeln!(o, "\ndata access");
        for d in b.data_access.iter().take(10) {
            let _ = writeln!(o, "  {:>6}  {} {}", d.count, l(&d.event_name), l(&d.resource));
        }
    }
    if !b.persistence.is_empty() {
        let _ = writeln!(o, "\npersistence (follow-up needed)");
        for p in &b.persistence {
            let _ = writeln!(
                o,
                "  {} {} {}: {} -> {}",
                p.event_time,
                l(&p.event_name),
                l(&p.target),
                l(&p.detail),
                p.follow_up
            );
        }
    }
    for u in &b.attacker_users {
        let _ = writeln!(
            o,
            "\nattacker-controlled user: {} since {} ({})",
            l(&u.user_arn),
            fmt_iso(u.since),
            l(&u.evidence.join(", "))
        );
    }
    if !b.evidence_window.is_empty() {
        let _ = writeln!(o, "\nevidence window (per account)");
        for w in &b.evidence_window {
            let _ = writeln!(
                o,
                "  {}  {} .. {}  {} events",
                l(&w.account_id),
                w.first_event,
                w.last_event,
                w.events
            );
        }
    }
    if !b.unseen_tail.is_empty() {
        let _ = writeln!(o, "\nunseen tail: still valid when the evidence ends");
        for t in &b.unseen_tail {
            let _ = writeln!(
                o,
                "  {}  valid until {}  evidence ends {}: {}",
                l(&t.credential),
                t.valid_until.as_deref().unwrap_or("deactivation"),
                t.evidence_ends.as_deref().unwrap_or("(no logs of its account)"),
                t.reason
            );
        }
    }
    for s in &b.signals {
        let _ = writeln!(o, "\nsignal: {} {}: {}", l(&s.kind), l(&s.credential), l(&s.detail));
    }
    for n in &b.notes {
        let _ = writeln!(o, "\nnote: {}", l(n));
    }
    o
}

/// The blast radius with its key findings (they read the blast radius and the graph).
pub fn with_findings(
    mut b: BlastRadius,
    g: &SessionGraph,
    plan: Option<&crate::plan::Plan>,
) -> BlastRadius {
    b.findings = crate::findings::findings(&b, g, plan);
    b
}

/// `: target`, unless the title already names it.
fn named(f: &crate::findings::Finding) -> String {
    if f.title.contains(&f.target) {
        String::new()
    } else {
        format!(": {}", crate::escape::one_line(&f.target))
    }
}

fn findings_text(b: &BlastRadius, o: &mut String) {
    use crate::escape::one_line as l;
    use std::fmt::Write;
    if b.findings.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nkey findings and next steps");
    for f in b.findings.iter().filter(|f| !f.failed) {
        let _ = writeln!(
            o,
            "  {:<8} {}{} [{}]\n           next: {}",
            f.severity.as_str().to_uppercase(),
            l(&f.title),
            named(f),
            f.techniques.join(", "),
            l(&f.next_step)
        );
    }
    let failed: Vec<_> = b.findings.iter().filter(|f| f.failed).collect();
    if !failed.is_empty() {
        let _ = writeln!(o, "\nfailed attempts (refused by AWS, still intent)");
        for f in failed {
            let _ = writeln!(o, "  {}{} [{}]", l(&f.title), named(f), f.techniques.join(", "));
        }
    }
}

/// Source addresses grouped by IPv4 /24 (`203.0.113.0/24: 54 addresses, 310 calls`); other
/// values (IPv6, service names) as they are.
pub fn group_ips(ips: &BTreeMap<String, u64>) -> String {
    // key → (addresses, calls, the first address: named when it is alone in its /24)
    let mut groups: BTreeMap<String, (u64, u64, &str)> = BTreeMap::new();
    for (ip, n) in ips {
        let octets: Vec<&str> = ip.split('.').collect();
        let v4 = octets.len() == 4 && octets.iter().all(|o| o.parse::<u8>().is_ok());
        let key =
            if v4 { format!("{}.{}.{}.0/24", octets[0], octets[1], octets[2]) } else { ip.clone() };
        let g = groups.entry(key).or_insert((0, 0, ip.as_str()));
        g.0 += 1;
        g.1 += n;
    }
    groups
        .into_iter()
        .map(|(k, (addrs, calls, first))| {
            if addrs > 1 {
                format!("{k} ({addrs} addresses, {calls} calls)")
            } else {
                format!("{first} ({calls})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Markdown rendering, for an incident ticket. Every value from the logs goes through
/// [`crate::escape::markdown_cell`]: no HTML, no broken table, no markup (SPEC §9).
pub fn render_markdown(b: &BlastRadius) -> String {
    use crate::escape::markdown_cell as m;
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "# Blast radius of {}\n", m(&b.seeds.join(", ")));
    let _ = writeln!(
        o,
        "- **{}** tainted credentials, **{}** events, {} to {}",
        b.credentials.len(),
        b.events,
        m(b.first_event.as_deref().unwrap_or("-")),
        m(b.last_event.as_deref().unwrap_or("-"))
    );
    let join = |map: &BTreeMap<String, u64>| {
        map.iter().map(|(k, v)| format!("{} ({v})", m(k))).collect::<Vec<_>>().join(", ")
    };
    if !b.findings.is_empty() {
        let _ = writeln!(o, "\n## Key findings and next steps\n\n| severity | finding | target | ATT&CK | next step |\n|---|---|---|---|---|");
        for f in b.findings.iter().filter(|f| !f.failed) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                f.severity.as_str(),
                m(&f.title),
                m(&f.target),
                m(&f.techniques.join(", ")),
                m(&f.next_step)
            );
        }
        let failed: Vec<_> = b.findings.iter().filter(|f| f.failed).collect();
        if !failed.is_empty() {
            let _ = writeln!(
                o,
                "\n### Failed attempts\n\n| finding | target | ATT&CK |\n|---|---|---|"
            );
            for f in failed {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} |",
                    m(&f.title),
                    m(&f.target),
                    m(&f.techniques.join(", "))
                );
            }
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "- accounts: {}", join(&b.accounts));
    let _ = writeln!(o, "- regions: {}", join(&b.regions));
    let _ = writeln!(o, "- source IPs: {}\n", join(&b.source_ips));
    let _ = writeln!(o, "## Credentials\n\n| key | principal | account | issued | by | expires | events |\n|---|---|---|---|---|---|---|");
    for c in &b.credentials {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            m(c.access_key_id.as_deref().unwrap_or(&c.id)),
            m(c.principal_arn.as_deref().unwrap_or("?")),
            m(c.account_id.as_deref().unwrap_or("?")),
            m(c.issued_at.as_deref().unwrap_or("-")),
            c.issued_by
                .as_deref()
                .map(|x| format!("{} {}", m(x), m(c.issuing_event.as_deref().unwrap_or(""))))
                .unwrap_or_else(|| "-".into()),
            m(c.expires_at.as_deref().unwrap_or("-")),
            c.events
        );
    }
    let _ = writeln!(o, "\n## Actions\n\n| action | count | errors |\n|---|---|---|");
    for a in &b.actions {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            m(&format!("{}:{}", a.event_source, a.event_name)),
            a.count,
            a.errors
        );
    }
    if !b.persistence.is_empty() {
        let _ = writeln!(o, "\n## Persistence\n\n| time | action | target | detail | follow-up |\n|---|---|---|---|---|");
        for p in &b.persistence {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                m(&p.event_time),
                m(&p.event_name),
                m(&p.target),
                m(&p.detail),
                m(&p.follow_up)
            );
        }
    }
    if !b.data_access.is_empty() {
        let _ = writeln!(o, "\n## Data access\n\n| action | resource | count |\n|---|---|---|");
        for d in &b.data_access {
            let _ = writeln!(o, "| {} | {} | {} |", m(&d.event_name), m(&d.resource), d.count);
        }
    }
    if !b.attacker_users.is_empty() {
        let _ = writeln!(
            o,
            "\n## Attacker-controlled users\n\n| user | since | evidence |\n|---|---|---|"
        );
        for u in &b.attacker_users {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                m(&u.user_arn),
                m(&fmt_iso(u.since)),
                m(&u.evidence.join(", "))
            );
        }
    }
    if !b.unseen_tail.is_empty() {
        let _ = writeln!(o, "\n## Unseen tail\n\nStill valid when the evidence of their account ends: what they did since is not in the logs.\n\n| credential | valid until | evidence ends | why |\n|---|---|---|---|");
        for t in &b.unseen_tail {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                m(&t.credential),
                m(t.valid_until.as_deref().unwrap_or("until deactivated")),
                m(t.evidence_ends.as_deref().unwrap_or("no logs")),
                m(&t.reason)
            );
        }
    }
    for n in b.notes.iter().chain(b.signals.iter().map(|s| &s.detail)) {
        let _ = writeln!(o, "\n> {}", m(n));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::group_ips;
    use std::collections::BTreeMap;

    #[test]
    fn addresses_group_by_slash_24_and_a_lone_address_is_named() {
        let ips: BTreeMap<String, u64> = [
            ("203.0.113.7", 3),
            ("203.0.113.9", 2),
            ("10.1.1.5", 1),
            ("10.1.12.8", 4),
            ("ec2.amazonaws.com", 6),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(
            group_ips(&ips),
            "10.1.1.5 (1), 10.1.12.8 (4), 203.0.113.0/24 (2 addresses, 5 calls), ec2.amazonaws.com (6)"
        );
    }
}

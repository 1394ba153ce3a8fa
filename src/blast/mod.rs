//! Blast radius (SPEC §4): what the leaked keys led to and what those credentials did.
//!
//! Taint starts at the seed keys and follows issuance edges downward, transitively: sessions
//! minted by tainted credentials (in any account whose logs are given), and long-term keys
//! the attacker created (and what they minted in turn). An event is tainted when the
//! credential that signed it is tainted; the role owner's copy of a cross-account AssumeRole
//! carries no key and is evidence of the edge, not a second tainted event (F3).

mod classify;
mod finding;
mod gaps;
mod moments;
mod render;
mod signals;
mod workload;

use crate::chain::{NodeKind, SessionGraph};
use crate::ingest::Ingest;
use crate::model::Event;
pub use crate::model::SeedKey;
use crate::time::{fmt_iso, Time};
pub use classify::NOT_FOLLOWED;
use classify::{is_data_read, is_persistence, not_iam, persistence_of};
pub use finding::{Finding, Severity};
pub use moments::{Moment, Moments};
pub use render::{render_markdown, render_table};
use serde::Serialize;
use signals::signals;
pub use signals::{suspect_made_note, suspects_made, SUSPECTED};
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
    pub issued_at: Option<Time>,
    pub expires_at: Option<Time>,
    /// Access key (or node id) of the credential that issued it.
    pub issued_by: Option<String>,
    /// The issuing call.
    pub issuing_event: Option<String>,
    pub events: u64,
    pub first_seen: Option<Time>,
    pub last_seen: Option<Time>,
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
    pub first_seen: Time,
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
    pub first: Time,
}

/// Something the attacker created or changed that outlives the sessions.
#[derive(Debug, Clone, Serialize)]
pub struct Persistence {
    pub event_time: Time,
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
    /// A call of an IAM or STS name made to another service (an identity store's or Transfer
    /// Family's `CreateUser`): it names no IAM user, role or group, and is not IAM's call to
    /// the findings. Not in `blast.json` (its `detail` says it).
    #[serde(skip)]
    pub not_iam: bool,
    /// The characters of the inline policy a `PutUserPolicy`/`PutRolePolicy` put, as F8
    /// counts them, when the record holds its document: what is left of the principal's
    /// inline budget for the plan's deny ([`crate::plan::TrailRooms`]). Not in `blast.json`.
    #[serde(skip)]
    pub policy_size: Option<i64>,
    /// The SSH public key, service-specific credential or signing certificate the call made
    /// (its id from the response): a long-term credential of the user that no deny on
    /// `aws:TokenIssueTime` ends, deactivated by the plan like an access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

impl Persistence {
    /// A route to some principal's sessions that the taint does not follow ([`NOT_FOLLOWED`]):
    /// what it leads to is not in the graph, so no plan can be shown to cut it.
    pub fn not_followed(&self) -> bool {
        self.follow_up.starts_with(NOT_FOLLOWED)
    }
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
    /// ranked by the `findings` stage). Filled by `findings::with_findings`.
    pub findings: Vec<Finding>,
    pub credentials: Vec<TaintedCredential>,
    /// Number of tainted events.
    pub events: u64,
    pub first_event: Option<Time>,
    pub last_event: Option<Time>,
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
    /// What the unseen tail could reach per the IAM snapshot (`--iam`, issue #20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachable: Option<crate::contain::Reachable>,
    pub notes: Vec<String>,
    /// Indices (into [`Ingest::stubs`]) of the tainted events, in time order.
    #[serde(skip)]
    pub event_indices: Vec<usize>,
    /// Indices (into the graph) of the tainted credential nodes.
    #[serde(skip)]
    pub nodes: BTreeSet<usize>,
    /// Sessions the taint found may be the attacker's but did not take, with why
    /// ([`crate::taint::Taint::unsure`]): roots of the sessions to check.
    #[serde(skip)]
    pub unsure: Vec<(usize, String)>,
    /// The tainted credentials reached only through an ambiguous inferred link (`taint`):
    /// what they made may be a clean session's. Not in `blast.json`.
    #[serde(skip)]
    pub by_ambiguous: BTreeSet<usize>,
    /// The events the findings read in full, in time order: the persistence calls (what
    /// names their targets) and the failed calls (the attempts). Empty unless the events were
    /// asked for ([`BlastRadius::events_kept`]).
    #[serde(skip)]
    pub finding_events: Vec<Event>,
    /// Whether [`BlastRadius::finding_events`] and [`BlastRadius::moments`] were kept
    /// (`keep_events`): without them, the findings fall back on the per-action counts.
    #[serde(skip)]
    pub events_kept: bool,
    /// What the report's timeline reads of every tainted event (empty unless asked for).
    #[serde(skip)]
    pub moments: Moments,
    /// What the plan's resource-policy denies read (SPEC §5, F7), kept whether or not the
    /// events are: for each tainted credential, each account that received a call of its that
    /// succeeded and named resources, and the resources whose policy would hold a deny
    /// ([`policy_resource`]: an S3 object's bucket). A set, not a row per call: a flood of
    /// `GetObject` calls over one bucket is one entry (it was a copy of every call's
    /// resources, most of the 300,000-call flood's peak).
    #[serde(skip)]
    pub resource_uses: ResourceUses,
    /// The tainted credentials that made a call to Amazon EKS, failed ones included
    /// (`plan::eks`, F22).
    #[serde(skip)]
    pub eks_users: BTreeSet<usize>,
    /// Of those, the ones with a call that succeeded other than listing the clusters (a
    /// cluster's endpoint learned, or the cluster changed): what they did inside a cluster is
    /// not in CloudTrail (`plan::eks::inside`).
    #[serde(skip)]
    pub eks_reached: BTreeSet<usize>,
}

/// [`BlastRadius::resource_uses`]: credential node → recipient account → policy resources.
pub type ResourceUses = BTreeMap<usize, BTreeMap<String, BTreeSet<String>>>;

pub use crate::model::names::{other_credential_call, OTHER_CREDENTIALS};

/// [`other_credential_call`] of an event.
pub fn other_credential(e: &Event) -> bool {
    other_credential_call(&e.name, e.request.status.as_deref())
}

/// The IAM user an IAM call acted on, as the plan's clean-up names it
/// ([`Persistence::user_name`]; `plan`'s reading of the users' other credentials too): from
/// its response or request, and, for the calls IAM lets name no user, the calling IAM user.
pub fn user_acted_on(e: &Event) -> Option<String> {
    let q = &e.request;
    let caller =
        || (e.identity.kind.as_deref() == Some("IAMUser")).then(|| e.identity.user_name.clone())?;
    match e.name.as_str() {
        "CreateAccessKey" => e
            .response
            .access_key_user
            .clone()
            .or_else(|| q.user_name.clone())
            .or_else(|| e.identity.user_name.clone()),
        "CreateUser" => e.response.user_name.clone().or_else(|| q.user_name.clone()),
        // Without `userName`, IAM acts on the caller's own user.
        "CreateLoginProfile" | "UpdateLoginProfile" => {
            e.response.login_profile_user.clone().or_else(|| q.user_name.clone()).or_else(caller)
        }
        n if OTHER_CREDENTIALS.contains(&n) => q.user_name.clone().or_else(caller),
        _ => q.user_name.clone(),
    }
}

/// Stands, among a session's [`ResourceUses`], for resources its calls named that ingest did
/// not keep in full (a record's `resources` past [`crate::ingest::raw::LIST_CAP`], an ARN
/// cut at [`crate::ingest::raw::FIELD_CAP`]): no deny can name them, and the plan says so.
pub const INCOMPLETE_RESOURCES: &str = "…[truncated by trailhound: resources not kept in full]";

/// [`policy_resource`] of a resource as the event table holds it: a truncated ARN, or the
/// marker of resources left out, whose policy resource is not known, is
/// [`INCOMPLETE_RESOURCES`] (an S3 object cut in its key still names its bucket).
pub fn held_resource(r: &str) -> Option<&str> {
    let p = policy_resource(r);
    if !r.contains(crate::ingest::raw::TRUNCATED) {
        return p;
    }
    match p {
        Some(p) if !p.contains(crate::ingest::raw::TRUNCATED) => Some(p),
        _ => Some(INCOMPLETE_RESOURCES),
    }
}

/// The bucket (or other resource) whose resource policy would hold a deny for an ARN a
/// session touched: S3 object ARNs map to their bucket, in whatever partition the ARN names
/// (`arn:aws-cn:s3:::b/k` to `arn:aws-cn:s3:::b`), and S3 Express objects to their directory
/// bucket; what is not an ARN, to nothing. A flood of reads of one bucket's objects is then
/// one resource, not one per object.
pub fn policy_resource(arn: &str) -> Option<&str> {
    if let Some((prefix, rest)) = s3_split(arn) {
        let bucket = rest.split('/').next().filter(|b| !b.is_empty())?;
        return Some(&arn[..prefix + bucket.len()]);
    }
    if let Some(at) = express_bucket_end(arn) {
        return Some(&arn[..at]);
    }
    arn.starts_with("arn:").then_some(arn)
}

/// What follows `arn:<partition>:s3:::` in an S3 ARN (`bucket` or `bucket/key`), in any
/// partition (`aws`, `aws-cn`, `aws-us-gov`, …), or `None` for any other ARN.
pub fn s3_rest(arn: &str) -> Option<&str> {
    s3_split(arn).map(|(_, rest)| rest)
}

/// `(length of "arn:<partition>:s3:::", the rest)` of an S3 ARN.
fn s3_split(arn: &str) -> Option<(usize, &str)> {
    let after = arn.strip_prefix("arn:")?;
    let (partition, rest) = after.split_once(':')?;
    let ok = !partition.is_empty()
        && partition.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    let rest = rest.strip_prefix("s3:::").filter(|_| ok)?;
    Some((arn.len() - rest.len(), rest))
}

/// Where the directory bucket of an S3 Express object ARN
/// (`arn:<partition>:s3express:<region>:<account>:bucket/<name>/<key>`) ends.
fn express_bucket_end(arn: &str) -> Option<usize> {
    let mut parts = arn.splitn(6, ':');
    let (arn_, _, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (_, _, resource) = (parts.next()?, parts.next()?, parts.next()?);
    if arn_ != "arn" || service != "s3express" {
        return None;
    }
    let name = resource.strip_prefix("bucket/")?.split('/').next().filter(|b| !b.is_empty())?;
    Some(arn.len() - resource.len() + "bucket/".len() + name.len())
}

/// Seed nodes for `--key` values. A value `KEY@TIME` names one session of a reused key id.
pub fn seed_nodes(g: &SessionGraph, seeds: &[SeedKey], notes: &mut Vec<String>) -> Vec<usize> {
    let mut out = Vec::new();
    for s in seeds {
        let key = match s {
            SeedKey::Node(id) => {
                if let Some(n) = g.node(id) {
                    out.push(n);
                } else {
                    notes.push(format!("seed {s}: no such session in the trail"));
                }
                continue;
            }
            SeedKey::Key(key) => key,
        };
        let found: Vec<usize> = g
            .nodes_for_key(key)
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

/// What `sessions --key` draws: `sel` (what the keys' edges reach, with its ancestors) and every
/// credential the taint takes beyond those edges, with its ancestors: a session issued by a
/// call too many credentials may have made ([`crate::chain::Wide`]), the attacker's users'
/// sessions, those of a role whose trust policy, or a function whose code, an earlier tainted
/// call set. Without it the tree left out sessions that `blast`, `plan` and `verify` act on.
/// With no keys, `sel` itself.
pub fn with_taint(
    g: &SessionGraph,
    keys: &[crate::model::SeedKey],
    sel: BTreeSet<usize>,
) -> BTreeSet<usize> {
    if keys.is_empty() {
        return sel;
    }
    let seeds = seed_nodes(g, keys, &mut Vec::new());
    with_tainted(g, sel, &crate::taint::taint(g, &seeds).nodes)
}

/// `sel` with every node of `tainted` it lacks and the chain to each.
pub fn with_tainted(
    g: &SessionGraph,
    mut sel: BTreeSet<usize>,
    tainted: &BTreeSet<usize>,
) -> BTreeSet<usize> {
    let beyond: BTreeSet<usize> = tainted.iter().copied().filter(|n| !sel.contains(n)).collect();
    if !beyond.is_empty() {
        sel.extend(g.ancestors(&beyond));
    }
    sel
}

fn seen_values(m: BTreeMap<String, (u64, i64)>) -> Vec<SeenValue> {
    let first = m.values().map(|x| x.1).min();
    let mut out: Vec<SeenValue> = m
        .into_iter()
        .map(|(v, (n, t))| SeenValue {
            value: v,
            events: n,
            first_seen: Time(t),
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
/// what the report reads of them is kept ([`BlastRadius::moments`],
/// [`BlastRadius::finding_events`]); without, only the tainted credentials are computed
/// (what `verify` needs).
///
/// # Errors
/// A file that changed on disk between the two passes.
pub fn blast(
    ing: &Ingest,
    g: &SessionGraph,
    seeds: &[SeedKey],
    with_events: bool,
) -> anyhow::Result<BlastRadius> {
    blast_with(ing, g, seeds, with_events, with_events)
}

/// [`blast`], with the activity sections (`activity`) and what the report reads of the
/// tainted events (`keep_events`: [`BlastRadius::moments`] and
/// [`BlastRadius::finding_events`]) chosen apart. The activity is aggregated event by event
/// as the files are re-read ([`Ingest::for_each_event`]), so without `keep_events` memory
/// grows with the distinct values reported (IPs, user agents, actions, resources), not with
/// the number of tainted events; a caller that must write every tainted event streams them
/// in batches with [`Ingest::load_events`] over [`BlastRadius::event_indices`].
///
/// # Errors
/// A file that changed on disk between the two passes.
pub fn blast_with(
    ing: &Ingest,
    g: &SessionGraph,
    seeds: &[SeedKey],
    activity: bool,
    keep_events: bool,
) -> anyhow::Result<BlastRadius> {
    // The signals read the whole table and graph, not the taint: worked out on the other core
    // meanwhile (a tenth of a `blast` over a filled cache at 1 GB of trail). The radius, the
    // longer of the two, starts first, here: `plan` runs this beside its sessions by target,
    // and a radius queued behind the signals waited for one of them to end (a sixth of a
    // `plan` over a filled cache at 1 GB).
    let (b, signals) = rayon::join(
        || radius(ing, g, seeds, activity, keep_events),
        || {
            let s = signals(ing, g);
            crate::diag::mark("blast: signals");
            s
        },
    );
    let b = b?;
    // The sessions suspected from the tainted credentials' addresses need the taint.
    let suspected = signals::suspected(g, &b.nodes);
    Ok(BlastRadius { signals: [signals, suspected].concat(), ..b })
}

/// The note of an input that holds query results, with the sessions used in them but issued
/// before their earliest event: a query run with `--since` leaves out every issuing call
/// before it, and a session the leaked key took before it was then missing without a word
/// (a plan with no tainted session, verify OK).
fn results_note(ing: &Ingest, g: &SessionGraph) -> String {
    let mut note = crate::ingest::result::NOTE.to_string();
    let Some(first) = ing.stubs.iter().map(|s| s.time).min() else { return note };
    let before = g
        .nodes
        .iter()
        .filter(|n| {
            n.kind == NodeKind::Session && n.orphan && n.issued_at.is_some_and(|t| t < first)
        })
        .count();
    if before > 0 {
        note.push_str(&format!(
            "; {before} session(s) used in the results were issued before their earliest event ({}), so the calls that issued them are not in the results (a query run with --since leaves out every issuing call before it): a tainted session among them is missing from this result",
            crate::time::fmt_iso(first)
        ));
    }
    note
}

/// What a successful call leaves behind ([`is_persistence`], [`persistence_of`]), or a root
/// session taken whose calls the trail lacks ([`classify::unseen_root`]; `roots_seen`: the
/// `AssumeRoot` calls whose session made calls in the trail).
fn persistence_item(
    e: &Event,
    accounts: &BTreeSet<&str>,
    roots_seen: &BTreeSet<&str>,
) -> Option<Persistence> {
    if e.failed() {
        return None;
    }
    let (target, detail, follow_up) = if is_persistence(e) {
        persistence_of(e)?
    } else {
        classify::unseen_root(e, accounts, roots_seen.contains(e.id.as_str()))?
    };
    let not_iam = not_iam(e);
    let iam = |v: Option<String>| v.filter(|_| !not_iam);
    Some(Persistence {
        event_time: Time(e.time),
        event_name: e.name.clone(),
        event_id: e.id.clone(),
        account_id: e.account().map(str::to_string),
        target,
        detail,
        follow_up,
        by_access_key: e.identity.access_key_id.clone(),
        user_name: iam(user_acted_on(e)),
        role_name: iam(e.request.role_name.clone()),
        group_name: iam(e.request.group_name.clone()),
        not_iam,
        policy_arn: e.request.policy_arn.clone(),
        policy_name: e.request.policy_name.clone(),
        name: e.request.name.clone(),
        policy_size: e.request.policy_size,
        credential_id: other_credential(e).then(|| e.response.credential_id.clone()).flatten(),
    })
}

/// What a data read read, one entry per resource: the record's first resource; else what its
/// request names (a secret's id; a parameter's name, each of `GetParameters`' names, and
/// `GetParametersByPath`'s path as `PATH/*`: [`crate::model::Request::name`]); else the
/// service, which the findings show as "not named". Before, a read of three secrets showed
/// as one resource, the service (a review), and so did every `GetParameters` of several.
fn data_read(e: &Event) -> Vec<String> {
    if let Some(r) = e.resources.first() {
        return vec![r.clone()];
    }
    let named: Vec<String> = match (e.source.as_str(), e.request.name.as_deref()) {
        ("secretsmanager.amazonaws.com", _) => e.request.secret_id.iter().cloned().collect(),
        ("ssm.amazonaws.com", Some(path)) if e.name == "GetParametersByPath" => {
            vec![format!("{}/*", path.trim_end_matches('/'))]
        }
        ("ssm.amazonaws.com", Some(names)) => {
            names.split(' ').filter(|n| !n.is_empty()).map(String::from).collect()
        }
        _ => Vec::new(),
    };
    if named.is_empty() {
        vec![e.source.clone()]
    } else {
        named
    }
}

/// An existing access key a tainted credential set `Active` again (`UpdateAccessKey`) that
/// signed calls after that call: the plan deactivates it (`plan::othercreds`), but what it
/// did in between is not followed as the attacker's (the key was its owner's before, and
/// tainting it would take the owner's older calls for the attacker's): a route not followed,
/// so the plan exits 1 and `verify` fails until a responder has looked. A key unused since is
/// cut by its deactivation alone; so is one tainted itself (a seed too), whose calls are.
fn revived_keys_used(g: &SessionGraph, tainted: &[bool], persistence: &mut [Persistence]) {
    for p in persistence.iter_mut().filter(|p| p.event_name == "UpdateAccessKey") {
        let Some(k) = p.credential_id.as_deref() else { continue };
        let since = p.event_time.secs();
        let last = g
            .node(k)
            .filter(|&n| !tainted[n])
            .map(|n| &g.nodes[n])
            .filter(|n| n.kind == NodeKind::LongTermKey)
            .and_then(|n| n.last_seen)
            .filter(|&t| t >= since);
        if let Some(t) = last {
            let (k, t) = (crate::escape::one_line(k), fmt_iso(t));
            p.follow_up = format!(
                "{NOT_FOLLOWED}: access key {k} signed calls after it was set Active again (the last at {t}): what it did since is not followed as the attacker's (it was its owner's key before); the plan deactivates it; to follow what it did, run again with --key {k} as well"
            );
        }
    }
}

/// The calls the attacker's users made with no access key (a console session's calls may
/// carry none, F17): such a call belongs to no credential, so no tainted credential's events
/// hold it, and a review found an attacker-made user's keyless `RunTask` with plan exit 0 and
/// verify OK. They are tainted events as the credentials' are (the activity, data reads,
/// persistence and routes of the blast radius, `tainted-events.parquet`), attributed to no
/// credential. Their calls under every name the user had, from the time it became the
/// attacker's until it was deleted; each as its index in the table. A user made again under
/// one of those names by someone else after a rename or a deletion is not the attacker's.
/// The user's own deny (TrailhoundDenyAll) stops its sessions, not what such a call started.
/// Root's keyless calls too, in an account whose root password the attacker set, by a console
/// session begun since (a review: root's console launched and created with nothing of it in
/// the blast radius).
fn keyless_calls(
    ing: &Ingest,
    (users, roots): (&[crate::taint::AttackerUser], &[(String, i64)]),
    tainted: &[bool],
    g: &SessionGraph,
) -> Vec<usize> {
    if users.is_empty() && roots.is_empty() {
        return Vec::new();
    }
    // By the name each has at the end of the trail: from when it was the attacker's until it
    // was deleted.
    let by_name: BTreeMap<(&str, String), (i64, i64)> = users
        .iter()
        .map(|u| {
            let until = u.deleted_at.unwrap_or(i64::MAX);
            ((u.account_id.as_str(), u.user_name.to_ascii_lowercase()), (u.since.0, until))
        })
        .collect();
    let names: BTreeSet<(&str, String)> = users
        .iter()
        .flat_map(|u| u.names().map(|n| (u.account_id.as_str(), n.to_ascii_lowercase())))
        .collect();
    (0..ing.stubs.len())
        .filter(|&i| {
            let s = &ing.stubs[i];
            if s.key != crate::ingest::NONE || g.node_of_event(i).is_some_and(|n| tainted[n]) {
                return false;
            }
            let arn = ing.strings.get(s.principal as usize);
            let begun = if s.created == crate::ingest::NO_TIME { s.time } else { s.created };
            if let Some(root) = arn.filter(|a| a.ends_with(":root")) {
                let acct = crate::chain::arn_account(root);
                return roots.iter().any(|(a, since)| Some(a.as_str()) == acct && begun >= *since);
            }
            let Some((acct, name)) = arn.and_then(crate::iam::user_key) else { return false };
            if !names.contains(&(acct, name.to_ascii_lowercase())) {
                return false;
            }
            // The user called that then, under its name now: another user made under an old
            // name of the attacker's, after a rename or a deletion, is not the attacker's.
            // And by a session begun once it was (its creationDate, when the record has one):
            // one the owner began before the attacker set the password is the owner's.
            let now = g.user_name_now(acct, name, Some(s.time)).to_ascii_lowercase();
            by_name
                .get(&(acct, now))
                .is_some_and(|&(since, until)| begun >= since && s.time < until)
        })
        .collect()
}

/// [`blast_with`] but for the signals.
fn radius(
    ing: &Ingest,
    g: &SessionGraph,
    seeds: &[SeedKey],
    activity: bool,
    keep_events: bool,
) -> anyhow::Result<BlastRadius> {
    let mut notes = Vec::new();
    let seed_idx = seed_nodes(g, seeds, &mut notes);
    if ing.stats.shapes.contains_key("query_result") {
        notes.push(results_note(ing, g));
    }
    let taint = crate::taint::taint(g, &seed_idx);
    crate::diag::mark("blast: tainted");
    let nodes = taint.nodes;
    let evidence_window = crate::taint::evidence_window(ing);
    let unseen_tail = crate::taint::unseen_tail(g, &nodes, &evidence_window, |n| {
        (g.nodes[n].kind == NodeKind::Session).then(|| crate::chain::session_expiry(g, n)).flatten()
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
    gaps::evidence_gaps(ing, g, &nodes, &mut notes);
    for (a, ids) in gaps {
        notes.push(format!(
            "logs of account {a} are not in the trail: tainted credential(s) {} live there and their activity there is not visible; collect AWSLogs/{a}/ next",
            ids.join(", ")
        ));
    }
    for e in g.edges.iter().filter(|e| e.inferred) {
        if g.node(&e.child).is_some_and(|c| nodes.contains(&c)) {
            notes.push(format!(
                "{} is tainted through an inferred link from {} (event {}): the trail does not show that call issuing it (only the role owner's copy of the call, a record without its response, or calls with its key id and ARN whose creationDate is off the call or missing; the session graph's notes say which)",
                e.child, e.parent, e.event_id
            ));
        }
    }
    for (child, by, event) in &taint.wide {
        notes.push(format!(
            "{} is tainted because {}, which is tainted, may have made its issuing call (event {event}): more credentials than are each linked could have (the session graph's notes say which they share)",
            g.nodes[*child].id, g.nodes[*by].id
        ));
    }
    if !unseen_tail.is_empty() {
        notes.push(format!(
            "{} tainted credential(s) were still valid when the evidence of their account ends (see unseen_tail): what they did after it is not in these logs; re-run on logs through the cut-off and up to the time a plan is applied, before applying it",
            unseen_tail.len()
        ));
    }
    let mut mask = vec![false; g.nodes.len()];
    for &n in &nodes {
        mask[n] = true;
    }
    let mut event_indices: Vec<usize> =
        (0..ing.stubs.len()).filter(|&i| g.node_of_event(i).is_some_and(|n| mask[n])).collect();
    // With the attacker's users' keyless calls, which no tainted credential's events hold.
    let keyless = keyless_calls(ing, (&taint.attacker_users, &taint.attacker_roots), &mask, g);
    if !keyless.is_empty() {
        event_indices.extend(keyless);
        event_indices.sort_unstable();
    }

    let roots_seen: BTreeSet<&str> = g
        .edges
        .iter()
        .zip(&g.edge_nodes)
        .filter(|(e, &(_, c))| e.event_name == "AssumeRoot" && g.nodes[c].events > 0)
        .map(|(e, _)| e.event_id.as_str())
        .collect();
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
    let (mut moments, mut strings) = (Vec::new(), crate::ingest::Strings::default());
    let mut finding_events: Vec<(usize, Event)> = Vec::new();
    // Persistence items with their event's index in the table, to restore time order.
    let mut found: Vec<(usize, Persistence)> = Vec::new();
    let wanted: &[usize] = if activity { &event_indices } else { &[] };
    let mut resource_uses = ResourceUses::new();
    let mut eks_users = BTreeSet::new();
    let mut eks_reached = BTreeSet::new();
    let mut workloads = Vec::new();
    ing.for_each_event(wanted, |pos, e| {
        // The credential's own figures: a keyless call has none tainted.
        let node = g.node_of_event(event_indices[pos]).filter(|&n| mask[n]);
        if let (false, false, Some(a), Some(n)) =
            (e.failed(), e.resources.is_empty(), e.recipient_account.as_ref(), node)
        {
            let by_account = resource_uses.entry(n).or_default();
            let held = match by_account.get_mut(a.as_str()) {
                Some(h) => h,
                None => by_account.entry(a.clone()).or_default(),
            };
            for r in e.resources.iter().filter_map(|r| held_resource(r)) {
                if !held.contains(r) {
                    held.insert(r.to_string());
                }
            }
        }
        if let Some(n) = node {
            if e.source == "eks.amazonaws.com" {
                eks_users.insert(n);
                if !e.failed() && !e.name.starts_with("List") {
                    eks_reached.insert(n);
                }
            }
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
            // A secret's or parameter's read names it in its request when its record has no
            // `resources` (GetSecretValue's do not): a review found three secrets read shown
            // as one resource, the service, under "rotate every secret read".
            for res in data_read(&e) {
                let d = data.entry((e.name.clone(), res)).or_insert((0, e.time));
                d.0 += 1;
                d.1 = d.1.min(e.time);
            }
        }
        let mut persisted = false;
        if let Some(p) = persistence_item(&e, &trail_accounts, &roots_seen) {
            workloads.extend(workload::Call::of(&e, found.len()));
            persisted = true;
            found.push((event_indices[pos], p));
        }
        let c = counts.entry((e.source.clone(), e.name.clone())).or_default();
        c.0 += 1;
        c.1 += u64::from(e.failed());
        bump(&mut per_hour, &fmt_iso(e.time)[..13]);
        if keep_events {
            moments.push((pos, Moment::of(&e, &mut strings)));
            if persisted || e.failed() {
                finding_events.push((pos, e));
            }
        }
    })?;
    crate::diag::mark("blast: events read back");
    for (at, follow_up) in workload::Linked::of(g, &mask).judge(&workloads) {
        found[at].1.follow_up = follow_up;
    }
    found.sort_by_key(|(i, _)| *i);
    persistence.extend(found.into_iter().map(|(_, p)| p));
    revived_keys_used(g, &mask, &mut persistence);
    finding_events.sort_by_key(|(pos, _)| *pos);
    let finding_events = finding_events.into_iter().map(|(_, e)| e).collect();
    let moments = Moments::of(moments, strings);

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
                issued_at: Time::opt(node.issued_at),
                expires_at: Time::opt(crate::chain::stated_expiry(g, n)),
                issued_by: parent[n].map(|(p, _)| {
                    g.nodes[p].access_key_id.as_deref().unwrap_or(&g.nodes[p].id).to_string()
                }),
                issuing_event: parent[n].map(|(_, k)| g.edges[k].event_name.clone()),
                events: node.events,
                first_seen: Time::opt(node.first_seen),
                last_seen: Time::opt(node.last_seen),
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
        .map(|((n, r), (c, t))| DataAccess { event_name: n, resource: r, count: c, first: Time(t) })
        .collect();

    Ok(BlastRadius {
        seeds: seeds.iter().map(SeedKey::to_string).collect(),
        findings: Vec::new(),
        credentials,
        first_event: event_indices.first().map(|&i| Time(ing.stubs[i].time)),
        last_event: event_indices.last().map(|&i| Time(ing.stubs[i].time)),
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
        signals: Vec::new(),
        attacker_users: taint.attacker_users,
        unsure: taint.unsure,
        by_ambiguous: taint.by_ambiguous,
        evidence_window,
        unseen_tail,
        reachable: None,
        notes,
        event_indices,
        nodes,
        finding_events,
        events_kept: keep_events,
        moments,
        resource_uses,
        eks_users,
        eks_reached,
    })
}

/// The source IPs and user agents one credential was seen with: count and first time.
#[derive(Debug, Default)]
struct SeenMaps {
    ips: BTreeMap<String, (u64, i64)>,
    agents: BTreeMap<String, (u64, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::scenario::Scenario;
    use serde_json::{json, Value};

    /// What the plan's resource-policy denies read grows with the buckets and resources a
    /// credential's calls reached, not with its calls: 500 reads of one bucket's objects are
    /// one entry (the bucket); a refused call and what is not an ARN add nothing. The report
    /// still counts every object.
    #[test]
    fn a_flood_of_object_reads_is_one_resource_use_per_credential_account_and_bucket() {
        const T0: i64 = 1_710_151_200;
        const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
        let mut s = Scenario::new();
        let leaked = s.user_key("111122223333", "ci-deployer", KEY);
        let object = |b: &str, k: &str| json!([{"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{b}/{k}")}]);
        for i in 0..500 {
            let key = format!("exports/{i:04}.csv");
            s.call(
                &leaked,
                T0 + i,
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": "example-bucket", "key": key}),
            );
            s.last_record()["resources"] = object("example-bucket", &key);
        }
        let req = json!({"bucketName": "refused-bucket", "key": "x"});
        s.call_full(
            &leaked,
            T0 + 600,
            "s3.amazonaws.com",
            "GetObject",
            req,
            Value::Null,
            Some("AccessDenied"),
            "aws-cli/2.15.0",
        );
        s.last_record()["resources"] = object("refused-bucket", "x");
        s.call(&leaked, T0 + 700, "iam.amazonaws.com", "GetRole", json!({"roleName": "Admin"}));
        s.last_record()["resources"] =
            json!([{"ARN": "arn:aws:iam::111122223333:role/Admin"}, {"ARN": "not-an-arn"}]);
        let (_d, ing, g) = s.ingested(&[]);
        let b = blast(&ing, &g, &[crate::model::SeedKey::parse(KEY)], true).unwrap();
        let node = g.node(KEY).unwrap();
        let held: BTreeSet<String> =
            ["arn:aws:iam::111122223333:role/Admin", "arn:aws:s3:::example-bucket"]
                .map(String::from)
                .into();
        let want: ResourceUses = [(node, [("111122223333".to_string(), held)].into())].into();
        assert_eq!(b.resource_uses, want);
        assert!(b.resources.len() >= 500, "every object is still reported: {}", b.resources.len());
    }

    #[test]
    fn a_policy_resource_is_the_bucket_of_an_object_and_nothing_of_what_is_not_an_arn() {
        assert_eq!(policy_resource("arn:aws:s3:::b/k/deep"), Some("arn:aws:s3:::b"));
        assert_eq!(policy_resource("arn:aws:s3:::b"), Some("arn:aws:s3:::b"));
        assert_eq!(policy_resource("arn:aws:s3:::/k"), None);
        assert_eq!(
            policy_resource("arn:aws:iam::111122223333:role/R"),
            Some("arn:aws:iam::111122223333:role/R")
        );
        assert_eq!(policy_resource("example-bucket"), None);
        // Other partitions' buckets, and S3 Express directory buckets.
        assert_eq!(policy_resource("arn:aws-cn:s3:::b/k"), Some("arn:aws-cn:s3:::b"));
        assert_eq!(policy_resource("arn:aws-us-gov:s3:::b"), Some("arn:aws-us-gov:s3:::b"));
        assert_eq!(
            policy_resource(
                "arn:aws:s3express:us-east-1:111122223333:bucket/d--use1-az4--x-s3/o/k"
            ),
            Some("arn:aws:s3express:us-east-1:111122223333:bucket/d--use1-az4--x-s3")
        );
        assert_eq!(s3_rest("arn:aws-cn:s3:::b/k"), Some("b/k"));
        assert_eq!(s3_rest("arn:AWS:s3:::b"), None, "not a partition");
        assert_eq!(s3_rest("arn::s3:::b"), None);
        assert_eq!(s3_rest("arn:aws:s3express:us-east-1:111122223333:bucket/b"), None);
    }
}

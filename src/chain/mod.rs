//! Session chains: the credential lineage graph of SPEC §3.
//!
//! A node is a credential (a long-term key, a temporary session) or something outside the
//! trail that issued one (an external SAML/OIDC identity, an AWS service, another account).
//! An edge says "this credential issued that one" and carries its evidence (event id, time,
//! file). Temporary key ids can repeat (F16), so a session is identified by
//! `(accessKeyId, issue time)`; the issue time is the issuing event's second, which is the
//! `sessionContext.attributes.creationDate` of every call made with it (CLOUDTRAIL.md §5).
//!
//! Building is three passes over the time-sorted events, so the order in which files were
//! delivered never matters: (1) every successful issuing event creates its child credential,
//! (2) every issuing event is linked to its parent (the caller's credential, resolved with the
//! same lookup as any other call), (3) every call is attributed to the credential that made
//! it. Sessions used but never issued in the logs (console sessions, service credentials,
//! F2) become orphan roots attached to their principal.
//!
//! Cross-account AssumeRole is logged twice (F3): the caller-account copy (with the caller's
//! key) and the role-owner copy (`AWSAccount` identity, no key) share `sharedEventID` and the
//! same issued key. Both copies resolve to the same child node; the edge comes from the
//! caller copy, and the other copy is kept as evidence. With only the role owner's logs the
//! chain stops at an "account" node and a note says whose logs are missing.

mod alive;
mod build;
mod cognito;
mod count;
mod expiry;
mod facts;
mod launch;
mod provider;
mod rename;
pub mod render;
mod signin;
mod skew;
mod stored;
mod switch;
mod twin;
mod unanswered;
mod unnamed;
mod unsure;
mod usercaller;
mod wide;
pub use expiry::{session_expiry, stated_expiry, token_issue_time};
pub use launch::{function_name, Workload};
pub use rename::{renamed_to, role_named, user_named};
pub use switch::SWITCH_ROLE;
pub use unnamed::keyless_session;
pub use unsure::Unsure;
pub use wide::{Wide, WideIndex, WideLink};

use crate::ingest::{Creds, FxMap, Ingest, IssuingCall, StrMap};
use crate::model::names::{ROLE_GRANTS, STS_ISSUERS, USER_GRANTS};
use crate::model::{is_long_term_key, is_temporary_key, SeedKey, Use};
use crate::time::{fmt_iso, fmt_opt};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// An `AKIA…` key of an IAM user or root.
    LongTermKey,
    /// A temporary credential (`ASIA…`), identified by key and issue time.
    Session,
    /// A SAML or OIDC identity, or another AWS account whose logs are not in the trail.
    ExternalIdentity,
    /// An AWS service that assumed a role (EC2, Lambda, ECS, …).
    Service,
}

/// Role ARN from an error message: `… on resource: arn:aws:iam::A:role/R` (failed calls have
/// no request parameters, CLOUDTRAIL.md §5).
fn target_from_error(msg: &str) -> Option<String> {
    let from = msg.find("on resource:").unwrap_or(0);
    let i = from + msg[from..].find("arn:aws")?;
    let arn: String = msg[i..].chars().take_while(|c| !c.is_whitespace() && *c != '"').collect();
    Some(arn.trim_end_matches(['.', ',']).to_string())
}

/// A short string stored inline when it fits in 24 bytes (access key ids, account ids,
/// principal types, event names, IP addresses): no heap allocation for most node fields, which
/// matters with hundreds of thousands of credentials in a trail.
pub type Text = compact_str::CompactString;

/// A credential or issuer.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// Stable id: `AKIA…`, `ASIA…@<issue time>`, `saml:…`, `oidc:…`, `service:…`, `account:…`.
    pub id: String,
    pub kind: NodeKind,
    pub access_key_id: Option<Text>,
    /// The principal the credential acts as (session ARN for role sessions).
    pub principal_arn: Option<String>,
    /// IAMUser, Root, AssumedRole, FederatedUser, SAMLUser, WebIdentityUser, AWSService, AWSAccount.
    pub principal_type: Option<Text>,
    pub account_id: Option<Text>,
    /// Issue time (`aws:TokenIssueTime`, F5); for orphans, the `creationDate` seen in use.
    #[serde(serialize_with = "ser_time")]
    pub issued_at: Option<i64>,
    /// `credentials.expiration` of the issuing call, when known.
    #[serde(serialize_with = "ser_time")]
    pub expires_at: Option<i64>,
    /// No issuing event in the logs (console session, service credential, earlier than the trail).
    pub orphan: bool,
    /// Number of events made with this credential.
    pub events: u64,
    /// How many of them failed (an `errorCode`: AccessDenied and the like).
    #[serde(skip_serializing_if = "is_zero")]
    pub denied: u64,
    #[serde(serialize_with = "ser_time")]
    pub first_seen: Option<i64>,
    #[serde(serialize_with = "ser_time")]
    pub last_seen: Option<i64>,
    /// The API call that issued it (AssumeRole, GetSessionToken, CreateAccessKey, …).
    pub issued_by_event: Option<Text>,
    /// For role sessions: the role ARN (with path), where the deny policy goes (F7).
    pub role_arn: Option<String>,
    /// The `aws:userid` of the credential's requests (F9): `AROA…:session`, `acct:name`, `AIDA…`.
    pub userid: Option<String>,
    /// IAM user name (long-term keys, GetSessionToken / GetFederationToken callers).
    pub user_name: Option<Text>,
    /// Distinct source IPs of its calls.
    /// Sorted, without repeats (a vector: most credentials have one or two).
    pub source_ips: Vec<Text>,
    /// Root's own key, or a session root itself minted (GetSessionToken, GetFederationToken,
    /// AssumeRoot, F11): no IAM policy can deny it. What *other* credentials minted downstream
    /// (a key root created for a user, a role that user assumed) is ordinary (SPEC §9).
    pub root_derived: bool,
    /// A call of this session carried its `creationDate` (its `aws:TokenIssueTime`, F5), so
    /// `issued_at` is that time, not only its issuing call's ([`token_issue_time`]).
    #[serde(skip)]
    pub issue_seen: bool,
    /// For federated-user sessions: the IAM user (or root) that called GetFederationToken, from
    /// the issuing call or, without one, from `sessionContext.sessionIssuer` of the session's
    /// own calls (F7: the deny goes on that user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_arn: Option<String>,
    /// The source identity the session carries (`sessionContext.sourceIdentity` of its calls,
    /// else the `sourceIdentity` its `AssumeRole` set): once set, every session chained from
    /// it carries the same (F4), which the caller cannot change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<Text>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn ser_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&fmt_iso(*t)),
        None => s.serialize_none(),
    }
}

/// "This credential issued that one", with its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    /// Parent node id.
    pub parent: String,
    /// Child node id.
    pub child: String,
    pub event_name: String,
    pub event_id: String,
    #[serde(serialize_with = "ser_time_req")]
    pub event_time: i64,
    /// File the issuing event was read from.
    pub file: String,
    /// Other copies of the same call (the role owner's copy of a cross-account AssumeRole).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_copies: Vec<String>,
    /// The parent or the child is inferred, not logged: only the role owner's copy of the call
    /// is in the trail and its caller (`AROA…:session`) matches exactly one known session
    /// alive at the time; or the call's record has no response (no key issued) and exactly
    /// one orphan session has its role, session name and second. Inferred links only ever add
    /// taint, never remove a deny.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

/// The name a [`UserGrant`] of a `CreateUser` whose record names no user (or of any other
/// user or role grant whose record names neither the user nor the role) is given, followed by
/// the call's event id: `?` is in no IAM user name, so it is never taken for a real user's;
/// the taint makes its user one whose name is not known (`AttackerUser::name_unsure`), which
/// the plan leaves to a NOT CUT review item and `verify` fails on. Before, the grant was
/// dropped and the user the attacker made (and signed in as) was not followed.
pub const UNNAMED_USER: &str = "?unnamed:";

/// A call that made a user the caller's: CreateUser, or a console password created or
/// changed (CreateLoginProfile, UpdateLoginProfile). When the caller is tainted, the user is
/// attacker-controlled from `time` on (SPEC §9).
#[derive(Debug, Clone, Serialize)]
pub struct UserGrant {
    pub user_arn: String,
    pub account_id: String,
    pub user_name: String,
    pub event_name: String,
    pub event_id: String,
    #[serde(serialize_with = "ser_time_req")]
    pub time: i64,
    /// The node that made the call.
    #[serde(skip)]
    pub by: usize,
}

fn ser_time_req<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_iso(*t))
}

/// A failed issuing call: kept as evidence, not an edge.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub event_name: String,
    pub event_id: String,
    #[serde(serialize_with = "ser_time_req")]
    pub event_time: i64,
    pub caller_key: Option<String>,
    pub caller_arn: Option<String>,
    /// The role or user the call targeted (from the request, else from the error message).
    pub target: Option<String>,
    pub error_code: Option<String>,
    pub file: String,
}

/// The lineage graph.
#[derive(Debug, Default)]
pub struct SessionGraph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub attempts: Vec<Attempt>,
    pub notes: Vec<String>,
    /// Users made or taken over (CreateUser, CreateLoginProfile, UpdateLoginProfile).
    pub user_grants: Vec<UserGrant>,
    /// Roles whose trust policy a call set (CreateRole, UpdateAssumeRolePolicy), in the same
    /// shape: `user_arn` holds the role's ARN (without its path, which the call does not
    /// name) and `user_name` the role's name.
    pub role_grants: Vec<UserGrant>,
    /// Successful `CreateAccessKey` calls whose record does not name the key made (no
    /// response): `user_name` is the user it was made for. No action can name such a key:
    /// `plan` and `verify` count it as not cut unless its user is denied everything.
    pub unnamed_keys: Vec<UserGrant>,
    /// Calls that set what a Lambda function runs (its code, configuration or role) or which
    /// signer a SAML provider trusts: `user_name` is the function's name or the provider's
    /// lower-case name, `event_name` the call. The taint takes the function's or provider's
    /// sessions issued from the first such call a tainted credential made
    /// ([`crate::taint`]; each session has an edge from the latest change before it).
    pub change_grants: Vec<UserGrant>,
    /// Successful `UpdateUser` calls that renamed a user, by any credential, in time order:
    /// `user_name` is the name the call gave (the old one) and `user_arn` the user's ARN after
    /// it (`arn:aws:iam::ACCOUNT:user/NEW`, without a path). Every action on a user is taken
    /// under the name it has by the end of the trail ([`SessionGraph::user_name_now`]): under
    /// its old name IAM answers NoSuchEntity, and a key deactivated under it stays active.
    pub user_renames: Vec<UserGrant>,
    /// Successful `DeleteUser` calls, by any credential, in time order (`user_name` the user
    /// deleted): a user made again under the name afterwards is another user, not the
    /// attacker's ([`SessionGraph::user_gone_after`]).
    pub user_deletions: Vec<UserGrant>,
    /// Successful `DeleteRole` calls, by any credential, in time order (`user_name` the role
    /// deleted): a role made again under the name afterwards is another role.
    pub role_deletions: Vec<UserGrant>,
    /// Sessions that may be console sessions a `GetSigninToken` opened but share no address
    /// with the session that asked for the token or its call, so are not linked to it
    /// ([`super::signin`]): `by` is the session that asked, `user_arn` the id of the session
    /// that may be its console session, `event_id` and `time` the token call's. When the
    /// asking session is tainted, `plan` denies such a session if it is alive and leaves it
    /// to a review, and `verify` fails (the tool cannot tell who opened it). Also a session a
    /// role owner's copy shows issued to a caller with the account and session name of a
    /// session whose role id no record gave (`event_name` the issuing call's: `usercaller.rs`).
    pub unsure_consoles: Vec<UserGrant>,
    /// Sessions a role owner's copy of the call shows issued to a caller named by its
    /// `aws:userid` alone (`user_name`, `AROA…:name`; `account_id` the caller's account; `by`
    /// the session issued, `event_name` and `event_id` the call's): whoever the graph links it
    /// to, any session of that id may
    /// have made it (the name is the caller's choice, F9), so it is one to check when a
    /// tainted session (or one to check) carries that id and it is not tainted itself
    /// ([`SessionGraph::unsure_sessions`]).
    pub hops_by_id: Vec<UserGrant>,
    /// Access keys whose making records disagree on their user: a `CreateAccessKey` record
    /// (a copy of the same event planted beside it, or another call naming the same key id)
    /// that names another user than the key's node holds, from the first record in
    /// `(time, eventID, file, record)` order (`by` the key's node, `user_name` and
    /// `account_id` the other user, `user_arn` its ARN, the record's event and time). A key
    /// id belongs to one user, so one of the records is false and the logs cannot tell which:
    /// `plan` leaves the deactivation to a review naming every user, and `verify` counts the
    /// key cut only when it is deactivated under each of them.
    pub key_owner_claims: Vec<UserGrant>,
    /// [`SessionGraph::user_renames`] by account and lower-case old name (made when first
    /// asked).
    renames_by_name: std::sync::OnceLock<BTreeMap<(String, String), Vec<usize>>>,
    /// Every parent of each node that has more than one (made when first asked:
    /// [`SessionGraph::parents_of_node`]).
    many_parents: std::sync::OnceLock<BTreeMap<usize, Vec<usize>>>,
    /// For each event of the ingest (same index): the node that made it, or [`NO_NODE`]
    /// ([`SessionGraph::node_of_event`]). `u32`: one of these per event of the trail.
    event_node: Vec<u32>,
    /// For each edge (same index): parent and child node indices.
    pub edge_nodes: Vec<(usize, usize)>,
    /// The issuer of each node (first incoming edge), as (parent node, edge index).
    parents: Vec<Option<(usize, usize)>>,
    /// Node by id, keyed by the id's 128-bit hash ([`h`]) so the index holds no second copy of
    /// every id (collisions: about 2^-128 per pair).
    by_id: FxMap<u128, u32>,
    /// Session nodes by access key id (hashed the same way). Nearly every key has one
    /// session: kept inline, no allocation per key.
    sessions_by_key: FxMap<u128, KeySessions>,
    /// The sessions of a key that has more than [`INDEXED_FROM`], by issue time, while the
    /// graph is built (emptied once it is): resolving a call then does not look through all
    /// of them. A forged trail can give one temporary key id any number of sessions (100,000
    /// `creationDate`s of one key took `sessions` 32 s).
    by_issue: FxMap<u128, IssueIndex>,
    /// While the graph is built: the edges drawn for a role owner's copy of a call (first edge,
    /// how many) with its caller's id ([`SessionGraph::link_user_callers`]).
    user_callers: Vec<(usize, usize, String)>,
    /// Calls with more possible makers than are each given an edge: the taint decides them
    /// ([`Wide`]).
    pub wide: Wide,
    /// While the graph is built: the wide links found, before their groups are made.
    wide_pending: Vec<wide::Pending>,
    /// Both indexes of a graph read from the cache, looked up in place in its file (sorted
    /// arrays): `by_id` and `sessions_by_key` are then empty. A warm run looks up a handful
    /// of ids, and rebuilding the two maps was 15 ms of CPU of a 120 ms warm `plan` at 1 GB.
    stored: Option<stored::StoredIndex>,
    /// While the graph is built: the sessions whose key and second were issued again to
    /// another principal (`twin.rs`), whose calls are then matched by their principal too.
    twinned: Vec<u32>,
    /// While the graph is built: the sessions whose issuing records name different role ids
    /// (`twin.rs`, `same_session`), whose `userid` no call may then fill in.
    disputed: Vec<u32>,
}

/// The session nodes of one access key id, in creation order.
type KeySessions = smallvec::SmallVec<[u32; 2]>;

/// How many sessions a key has before they are indexed by issue time ([`IssueIndex`]).
const INDEXED_FROM: usize = 16;

/// The sessions of one key by issue time, each list in the order they were made.
#[derive(Debug, Default)]
struct IssueIndex {
    issued: BTreeMap<i64, KeySessions>,
    /// Those with no issue time.
    untimed: Vec<u32>,
}

impl IssueIndex {
    fn is_empty(&self) -> bool {
        self.issued.is_empty() && self.untimed.is_empty()
    }
    fn add(&mut self, node: u32, issued_at: Option<i64>) {
        match issued_at {
            Some(t) => self.issued.entry(t).or_default().push(node),
            None => self.untimed.push(node),
        }
    }
    /// As a walk of the key's sessions in the order made would find it: the first issued
    /// within `slack` seconds of `t`.
    fn first_near(&self, t: i64, slack: i64) -> Option<usize> {
        let range = t.saturating_sub(slack)..=t.saturating_add(slack);
        self.issued.range(range).filter_map(|(_, v)| v.first()).min().map(|&n| n as usize)
    }
    /// As `max_by_key(issued_at)` over the sessions issued at or before `time` or never
    /// would: the latest issue time (the last made of its second), else the last untimed.
    fn latest_at(&self, time: i64) -> Option<usize> {
        match self.issued.range(..=time).next_back() {
            Some((_, v)) => v.last().map(|&n| n as usize),
            None => self.untimed.last().map(|&n| n as usize),
        }
    }
}

/// [`SessionGraph::event_node`] of an event no credential made.
const NO_NODE: u32 = u32::MAX;

impl SessionGraph {
    /// The first edge into each node (its issuing call), by node; `None` for roots.
    fn first_edges(&self) -> Vec<Option<usize>> {
        let mut first = vec![None; self.nodes.len()];
        for (k, &(_, c)) in self.edge_nodes.iter().enumerate() {
            first[c].get_or_insert(k);
        }
        first
    }
}

/// The 128-bit hash of a node id (or an access key id) that [`SessionGraph::by_id`] and
/// [`SessionGraph::sessions_by_key`] are keyed by: SipHash-1-3 with a 128-bit output, one pass
/// over the bytes. Node ids are never UUIDs, so [`crate::ingest::id128`] hashed each of them
/// twice (two 64-bit SipHashes): 4% of the graph's time at 1 GB of trail.
fn h(s: &str) -> u128 {
    use siphasher::sip128::Hasher128;
    use std::hash::Hasher;
    let mut x = siphasher::sip128::SipHasher13::new();
    x.write(s.as_bytes());
    x.finish128().into()
}

/// Principal type from an ARN.
pub fn principal_type_of(arn: &str) -> Option<&'static str> {
    if crate::chain::arn_is(arn, "assumed-role/") {
        Some("AssumedRole")
    } else if crate::chain::arn_is(arn, "federated-user/") {
        Some("FederatedUser")
    } else if arn.ends_with(":root") {
        Some("Root")
    } else if crate::chain::arn_is(arn, "user/") {
        Some("IAMUser")
    } else if crate::chain::arn_is(arn, "role/") {
        Some("Role")
    } else {
        None
    }
}

/// The partition `arn` names (`arn:PARTITION:…`) when it is one of
/// [`PARTITIONS`](crate::model::names::PARTITIONS).
pub fn arn_partition(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    match (parts.next(), parts.next()) {
        (Some("arn"), Some(p)) if crate::model::names::PARTITIONS.contains(&p) => Some(p),
        _ => None,
    }
}

/// Account id field of an ARN (`arn:aws:sts::ACCOUNT:…`).
pub fn arn_account(arn: &str) -> Option<&str> {
    // `arn.split(':').nth(4)`, non-empty, by one pass over the bytes: asked of every node by
    // the taint and the plan.
    let mut start = 0;
    let mut field = 0;
    for (i, &c) in arn.as_bytes().iter().enumerate() {
        if c == b':' {
            if field == 4 {
                return Some(&arn[start..i]).filter(|s| !s.is_empty());
            }
            field += 1;
            start = i + 1;
        }
    }
    (field == 4).then(|| &arn[start..]).filter(|s| !s.is_empty())
}

pub use crate::model::arn::{after_segment, arn_is};

/// `arn:aws:iam::A:role/path/Name` + session → `arn:aws:sts::A:assumed-role/Name/session`,
/// in the role's partition.
pub fn session_arn_for_role(role_arn: &str, session: &str) -> Option<String> {
    let acct = arn_account(role_arn)?;
    let name = role_arn.rsplit('/').next()?;
    let p = arn_partition(role_arn).unwrap_or("aws");
    Some(format!("arn:{p}:sts::{acct}:assumed-role/{name}/{session}"))
}

impl SessionGraph {
    /// Node index by id.
    pub fn node(&self, id: &str) -> Option<usize> {
        match &self.stored {
            Some(s) => s.node(h(id)).map(|n| n as usize),
            None => self.by_id.get(&h(id)).map(|&n| n as usize),
        }
    }

    /// The node that made event `i` of the ingest (same index as [`Ingest::stubs`]).
    pub fn node_of_event(&self, i: usize) -> Option<usize> {
        self.event_node.get(i).copied().filter(|&n| n != NO_NODE).map(|n| n as usize)
    }

    /// All session and key nodes for an access key id (several when the id was reused, F16).
    pub fn nodes_for_key(&self, key: &str) -> Vec<usize> {
        // A key listed with sessions has at least one (as built, and as checked when read).
        let sessions: Vec<usize> = self.sessions_of(key).collect();
        if !sessions.is_empty() {
            return sessions;
        }
        self.node(key).into_iter().collect()
    }

    /// Whether the evidence holds a credential for `seed`: the session it names
    /// (`KEY@ISSUE_TIME`), or any credential of its key id.
    pub fn holds_seed(&self, seed: &SeedKey) -> bool {
        match seed {
            SeedKey::Node(id) => self.node(id).is_some(),
            SeedKey::Key(id) => !self.nodes_for_key(id).is_empty(),
        }
    }

    /// The credentials (long-term keys and sessions) that act as `principal` (a user, role,
    /// federated-user or session ARN), as seeds, sorted: what `--principal` selects, worked
    /// out again by `verify` on the trail it is given (a later one may hold more of them).
    ///
    /// IAM names users and roles without regard to case, and a user keeps its unique id
    /// (`AIDA…`) through a rename: a credential whose ARN spells the principal otherwise, or
    /// that acts as the same user under a later name, acts as it too (a plan for the user
    /// missed its other key in later logs that spelled or renamed it). So does one of a user
    /// the trail shows renamed from the principal's name (`UpdateUser`): a review seeded a
    /// plan by the leaked user's name after the leaked key had renamed it, and the plan missed
    /// the key.
    ///
    /// # Errors
    /// The name was two users' in the trail (two unique ids: a user renamed or deleted, and
    /// another made under its name): which one is meant is the responder's to say (a review:
    /// the user made later was seeded alone, its key cut as the leaked one, and the leaked
    /// key left active under its new name; both OK).
    pub fn seeds_of_principal(&self, principal: &str) -> Result<Vec<SeedKey>, String> {
        let p = principal.trim();
        let credentials = || {
            self.nodes
                .iter()
                .filter(|n| matches!(n.kind, NodeKind::LongTermKey | NodeKind::Session))
        };
        // The principal, and the ARNs the renames from its name gave it (users only).
        let mut arns = vec![p.to_string()];
        let mut into: Vec<(String, i64)> = Vec::new();
        if let (Some(account), Some((head, name))) = (arn_account(p), p.rsplit_once('/')) {
            if after_segment(p, "user/").is_some() {
                arns.extend(
                    self.renames_of(account, name, None)
                        .into_iter()
                        .map(|r| format!("{head}/{}", rename::renamed_to(r))),
                );
                // And a user renamed to the name: its credentials seen under its earlier names
                // before each rename (a review: another user renamed to the leaked user's old
                // name was not seen as a second holder of it; nor, later, one renamed to it
                // through a name between, whose credentials the trail shows under the first).
                // Followed back rename by rename, each no later than the one after it; each
                // rename taken once (a forged trail may rename in a circle).
                let mut taken = vec![false; self.user_renames.len()];
                let mut names: Vec<(String, i64)> = vec![(name.to_string(), i64::MAX)];
                while let Some((to, before)) = names.pop() {
                    for (i, r) in self.user_renames.iter().enumerate() {
                        if taken[i]
                            || r.account_id != account
                            || r.time > before
                            || !rename::renamed_to(r).eq_ignore_ascii_case(&to)
                        {
                            continue;
                        }
                        taken[i] = true;
                        into.push((format!("{head}/{}", r.user_name), r.time));
                        names.push((r.user_name.clone(), r.time));
                    }
                }
            }
        }
        let named = |n: &Node| {
            [&n.principal_arn, &n.role_arn, &n.user_arn].into_iter().any(|a| {
                a.as_deref().is_some_and(|a| {
                    arns.iter().any(|p| a.eq_ignore_ascii_case(p))
                        || into.iter().any(|(p, t)| {
                            a.eq_ignore_ascii_case(p) && n.first_seen.is_some_and(|f| f <= *t)
                        })
                })
            })
        };
        let users: BTreeSet<&str> = credentials()
            .filter(|n| named(n))
            .filter_map(|n| n.userid.as_deref().filter(|u| u.starts_with("AIDA")))
            .collect();
        if users.len() > 1 {
            let of = |u: &str| {
                let mut keys: Vec<&str> = credentials()
                    .filter(|n| n.kind == NodeKind::LongTermKey && n.userid.as_deref() == Some(u))
                    .filter_map(|n| n.access_key_id.as_deref())
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                format!(
                    "{} (key{} {})",
                    crate::escape::one_line(u),
                    if keys.len() == 1 { "" } else { "s" },
                    if keys.is_empty() { "none seen".to_string() } else { keys.join(", ") }
                )
            };
            return Err(format!(
                "{} was the name of {} different users in this trail (renamed, or deleted and made again): {}; say which with --key (the leaked key)",
                crate::escape::one_line(p),
                users.len(),
                users.iter().map(|u| of(u)).collect::<Vec<_>>().join("; ")
            ));
        }
        let mut found: Vec<SeedKey> = credentials()
            .filter(|n| named(n) || n.userid.as_deref().is_some_and(|u| users.contains(u)))
            .map(|n| SeedKey::parse(&n.id))
            .collect();
        found.sort();
        Ok(found)
    }

    /// Children of each node (indices), in edge order.
    pub fn children(&self) -> Vec<Vec<(usize, usize)>> {
        let mut ch = vec![Vec::new(); self.nodes.len()];
        for (k, &(p, c)) in self.edge_nodes.iter().enumerate() {
            ch[p].push((c, k));
        }
        ch
    }

    /// Every node reachable from `seeds` along issuance edges, seeds included.
    pub fn descendants(&self, seeds: &[usize]) -> BTreeSet<usize> {
        reach(self.nodes.len(), &self.edge_nodes, false, seeds.iter().copied())
    }

    /// The nodes reached from `seeds` only through an ambiguous link: an inferred edge whose
    /// child has another inferred parent that is not `tainted` (the role owner's copy of a
    /// call names a caller `ROLEID:session` that two or more sessions alive then match, one
    /// of them clean: each is linked, and the child is tainted, but it may be the clean
    /// one's). These are every descendant of such a child that the seeds do not reach along
    /// the other edges. Empty, and nothing walked, when no edge is ambiguous. Two tainted
    /// candidates are not ambiguous (the child is the attacker's either way) unless one of
    /// them is itself reached only through an ambiguous link.
    pub fn by_ambiguous_link(&self, seeds: &[usize], tainted: &BTreeSet<usize>) -> BTreeSet<usize> {
        let mut parents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (e, &(p, c)) in self.edges.iter().zip(&self.edge_nodes) {
            if e.inferred {
                parents.entry(c).or_default().push(p);
            }
        }
        // A candidate tainted only through an ambiguous link is no surer than a clean one: it
        // may itself be the clean pipeline's. So the unsure nodes grow until they hold still
        // (each round only adds; two rounds unless such links are stacked).
        let mut unsure = BTreeSet::new();
        loop {
            let ambiguous = |k: usize| {
                let (p, c) = self.edge_nodes[k];
                self.edges[k].inferred
                    && parents.get(&c).is_some_and(|ps| {
                        ps.iter().any(|&o| o != p && (!tainted.contains(&o) || unsure.contains(&o)))
                    })
            };
            let children: BTreeSet<usize> = (0..self.edges.len())
                .filter(|&k| ambiguous(k))
                .map(|k| self.edge_nodes[k].1)
                .collect();
            if children.is_empty() {
                return BTreeSet::new();
            }
            let clear: Vec<(usize, usize)> = (0..self.edges.len())
                .filter(|&k| !ambiguous(k))
                .map(|k| self.edge_nodes[k])
                .collect();
            let sure = reach(self.nodes.len(), &clear, false, seeds.iter().copied());
            let below = reach(self.nodes.len(), &self.edge_nodes, false, children.into_iter());
            let next: BTreeSet<usize> = below.into_iter().filter(|n| !sure.contains(n)).collect();
            if next == unsure {
                return unsure;
            }
            unsure = next;
        }
    }

    /// Every ancestor of `nodes` (nodes included).
    pub fn ancestors(&self, nodes: &BTreeSet<usize>) -> BTreeSet<usize> {
        reach(self.nodes.len(), &self.edge_nodes, true, nodes.iter().copied())
    }

    /// The issuer of each node (first incoming edge), as (parent node, edge index).
    pub fn parent_edge(&self) -> &[Option<(usize, usize)>] {
        &self.parents
    }

    /// Every node an edge into `n` comes from, the first issuer first: one record of a
    /// session's issuing call may name one caller and another record (a copy, or one forged)
    /// another, and each is drawn (`second_caller`). What a session's issuer decides about it
    /// (its longest life, F4) must hold for each of them.
    pub fn parents_of_node(&self, n: usize) -> Vec<usize> {
        let many = self.many_parents.get_or_init(|| {
            let mut all: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for &(p, c) in &self.edge_nodes {
                // The first issuer is `parents`' (the first edge into the node).
                let Some((first, _)) = self.parents[c] else { continue };
                if first != p {
                    let v = all.entry(c).or_insert_with(|| vec![first]);
                    if !v.contains(&p) {
                        v.push(p);
                    }
                }
            }
            all
        });
        match many.get(&n) {
            Some(v) => v.clone(),
            None => self.parents[n].map(|(p, _)| p).into_iter().collect(),
        }
    }
}

/// Every node of `n` reachable from `start` along the `(parent, child)` edges (child to parent
/// when `up`), `start` included. The edges are laid out by their starting node in one array
/// (a counting sort, linear in nodes and edges): no vector per node and no sort of the edge
/// list, which matters with hundreds of thousands of credentials and every `blast` and `plan`
/// asking more than once.
fn reach(
    n: usize,
    edges: &[(usize, usize)],
    up: bool,
    start: impl Iterator<Item = usize>,
) -> BTreeSet<usize> {
    let ends = |&(p, c): &(usize, usize)| if up { (c, p) } else { (p, c) };
    // `first[k]..first[k + 1]` are the places in `to` of the links from node k.
    let mut first = vec![0u32; n + 1];
    for e in edges {
        first[ends(e).0 + 1] += 1;
    }
    for k in 0..n {
        first[k + 1] += first[k];
    }
    let mut next = first.clone();
    let mut to = vec![0u32; edges.len()];
    for e in edges {
        let (from, t) = ends(e);
        to[next[from] as usize] = t as u32;
        next[from] += 1;
    }
    let mut out = BTreeSet::new();
    let mut stack: Vec<usize> = start.collect();
    while let Some(k) = stack.pop() {
        if out.insert(k) {
            if let Some(r) = first.get(k..k + 2) {
                stack.extend(to[r[0] as usize..r[1] as usize].iter().map(|&t| t as usize));
            }
        }
    }
    out
}

/// The `sessions --format json` document.
#[derive(Debug, Serialize)]
pub struct GraphJson<'a> {
    pub nodes: Vec<&'a Node>,
    pub edges: Vec<&'a Edge>,
    pub attempts: &'a [Attempt],
    pub notes: &'a [String],
}

impl SessionGraph {
    /// The node subset to show for `--key`/`--principal` filters: the matching credentials,
    /// everything they led to, and the chain above them. Empty filters select everything.
    pub fn select(&self, keys: &[SeedKey], principals: &[String]) -> BTreeSet<usize> {
        if keys.is_empty() && principals.is_empty() {
            return (0..self.nodes.len()).collect();
        }
        let mut seeds = Vec::new();
        for k in keys {
            seeds.extend(self.nodes_for_key(k.as_str()));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if principals
                .iter()
                .any(|p| n.principal_arn.as_deref() == Some(p) || n.role_arn.as_deref() == Some(p))
            {
                seeds.push(i);
            }
        }
        let down = self.descendants(&seeds);
        self.ancestors(&down)
    }

    /// The JSON view of a node subset.
    pub fn to_json(&self, sel: &BTreeSet<usize>) -> GraphJson<'_> {
        GraphJson {
            nodes: sel.iter().map(|&i| &self.nodes[i]).collect(),
            edges: self
                .edge_nodes
                .iter()
                .enumerate()
                .filter(|(_, (p, c))| sel.contains(p) && sel.contains(c))
                .map(|(k, _)| &self.edges[k])
                .collect(),
            attempts: &self.attempts,
            notes: &self.notes,
        }
    }
}

/// Formats an optional time for humans.
pub fn t(v: Option<i64>) -> String {
    fmt_opt(v).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests;

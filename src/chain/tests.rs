//! Unit tests of the chain builder: small incidents written record by record with
//! [`crate::gen::scenario::Scenario`], ingested, and the graph checked node by node against
//! what the IAM facts say by hand (F1 issuance, F2 orphans, F3 cross-account copies).

use super::*;
use crate::gen::scenario::{Cred, Scenario};
use serde_json::Value;

/// 2024-03-11T10:00:00Z
const T0: i64 = 1_710_151_200;
const MAIN: &str = "111122223333";
const SECOND: &str = "444455556666";
const LEAKED: &str = "AKIAIOSFODNN7EXAMPLE";

fn graph_of(s: &Scenario, skip: &[&str]) -> SessionGraph {
    s.ingested(skip).2
}

fn node<'g>(g: &'g SessionGraph, c: &Cred) -> &'g Node {
    let id = c.node_id();
    &g.nodes[g.node(&id).unwrap_or_else(|| panic!("no node {id} in {:?}", ids(g)))]
}

fn ids(g: &SessionGraph) -> Vec<&str> {
    g.nodes.iter().map(|n| n.id.as_str()).collect()
}

fn parent_id<'g>(g: &'g SessionGraph, c: &Cred) -> Option<&'g str> {
    let i = g.node(&c.node_id())?;
    g.parent_edge()[i].map(|(p, _)| g.nodes[p].id.as_str())
}

#[test]
fn a_role_chain_across_accounts_is_one_lineage_with_expiry_and_role() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin =
        s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/ops/Admin"), "a", 3600);
    let audit =
        s.assume_role(&admin, T0 + 60, &format!("arn:aws:iam::{SECOND}:role/Audit"), "b", 900);
    s.call(&audit, T0 + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let g = graph_of(&s, &[]);

    assert_eq!(parent_id(&g, &admin), Some(LEAKED));
    assert_eq!(parent_id(&g, &audit).map(str::to_string), Some(admin.node_id()));
    let a = node(&g, &admin);
    assert_eq!(a.kind, NodeKind::Session);
    assert_eq!(a.role_arn.as_deref(), Some("arn:aws:iam::111122223333:role/ops/Admin"));
    assert_eq!((a.issued_at, a.expires_at), (Some(T0), Some(T0 + 3600)));
    assert!(!a.orphan);
    let b = node(&g, &audit);
    assert_eq!(b.account_id.as_deref(), Some(SECOND));
    assert_eq!(b.events, 1, "its ListBuckets call is attributed to it");
    // The cross-account call is logged twice (F3) but is one edge with the copy as evidence.
    let edge = &g.edges[g.parent_edge()[g.node(&audit.node_id()).unwrap()].unwrap().1];
    assert_eq!(edge.other_copies.len(), 1, "{edge:?}");
    assert!(!edge.inferred);
    let root = g.node(LEAKED).unwrap();
    let down: Vec<&str> =
        g.descendants(&[root]).into_iter().map(|n| g.nodes[n].id.as_str()).collect();
    assert_eq!(down.len(), 3, "{down:?}");
    // From the middle of the chain, down and up.
    let (a_id, b_id) = (admin.node_id(), audit.node_id());
    let names = |set: BTreeSet<usize>| -> BTreeSet<String> {
        set.into_iter().map(|n| g.nodes[n].id.clone()).collect()
    };
    let mid = g.node(&a_id).unwrap();
    assert_eq!(names(g.descendants(&[mid])), BTreeSet::from([a_id.clone(), b_id.clone()]));
    let up = names(g.ancestors(&BTreeSet::from([g.node(&b_id).unwrap()])));
    assert_eq!(up, BTreeSet::from([LEAKED.to_string(), a_id, b_id]));
}

#[test]
fn calls_are_attributed_to_their_session_and_a_console_session_is_an_orphan() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let sts = s.get_session_token(&leaked, T0, 3600);
    s.call(&sts, T0 + 30, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
    s.call(&sts, T0 + 40, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
    let console = s.console_login(MAIN, T0 + 100, "alice");
    s.call(&console, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let g = graph_of(&s, &[]);

    let n = node(&g, &sts);
    assert_eq!(n.events, 2);
    assert_eq!(n.user_name.as_deref(), Some("ci-deployer"));
    assert_eq!(n.issued_by_event.as_deref(), Some("GetSessionToken"));
    // The console session has no issuing call (F2): an orphan that says where it came from.
    let c = node(&g, &console);
    assert!(c.orphan);
    assert_eq!(c.issued_by_event.as_deref(), Some("console sign-in"));
    assert_eq!(parent_id(&g, &console), None);
}

#[test]
fn without_the_callers_logs_the_chain_stops_at_an_account_node_with_a_note() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let hop = s.assume_role(&leaked, T0, &format!("arn:aws:iam::{SECOND}:role/Audit"), "x", 900);
    s.call(&hop, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let g = graph_of(&s, &[MAIN]);

    let parent = parent_id(&g, &hop).expect("the owner's copy still issues the session");
    assert_eq!(parent, format!("account:{MAIN}"));
    let p = &g.nodes[g.node(parent).unwrap()];
    assert_eq!(p.kind, NodeKind::ExternalIdentity);
    assert!(g.node(LEAKED).is_none(), "the leaked key's own calls are not in the trail");
    assert!(
        g.notes.iter().any(|n| n.contains(&format!("chain stops at account {MAIN}"))),
        "{:?}",
        g.notes
    );
}

#[test]
fn failed_issuing_calls_are_attempts_not_edges() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call_full(
        &leaked,
        T0,
        "sts.amazonaws.com",
        "AssumeRole",
        serde_json::json!({"roleArn": "arn:aws:iam::111122223333:role/Locked", "roleSessionName": "s"}),
        Value::Null,
        Some("AccessDenied"),
        "aws-cli/2.15.0",
    );
    let g = graph_of(&s, &[]);

    assert!(g.edges.is_empty(), "{:?}", g.edges);
    assert_eq!(g.attempts.len(), 1);
    let a = &g.attempts[0];
    assert_eq!(a.caller_key.as_deref(), Some(LEAKED));
    assert_eq!(a.target.as_deref(), Some("arn:aws:iam::111122223333:role/Locked"));
    assert_eq!(a.error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(g.nodes[g.node(LEAKED).unwrap()].denied, 1);
}

#[test]
fn user_grants_and_created_keys_hang_under_their_maker() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "backup-admin");
    s.create_login_profile(&leaked, T0 + 10, "backup-admin");
    let key = s.create_access_key(&leaked, T0 + 20, Some("backup-admin"));
    s.call(&key, T0 + 30, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let g = graph_of(&s, &[]);

    let grants: Vec<(&str, &str)> =
        g.user_grants.iter().map(|u| (u.user_name.as_str(), u.event_name.as_str())).collect();
    assert_eq!(grants, [("backup-admin", "CreateUser"), ("backup-admin", "CreateLoginProfile")]);
    assert!(g.user_grants.iter().all(|u| g.nodes[u.by].id == LEAKED));
    assert_eq!(parent_id(&g, &key), Some(LEAKED));
    let k = node(&g, &key);
    assert_eq!(k.kind, NodeKind::LongTermKey);
    assert_eq!(k.issued_by_event.as_deref(), Some("CreateAccessKey"));
    assert_eq!(k.user_name.as_deref(), Some("backup-admin"));
}

#[test]
fn every_node_is_found_by_its_id_and_every_session_by_its_key() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin =
        s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/ops/Admin"), "a", 3600);
    s.call(&admin, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let sts = s.get_session_token(&leaked, T0 + 80, 3600);
    s.call(&sts, T0 + 90, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
    let console = s.console_login(MAIN, T0 + 100, "alice");
    s.call(&console, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let key = s.create_access_key(&leaked, T0 + 140, Some("backup-admin"));
    s.call(&key, T0 + 150, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let g = graph_of(&s, &[]);
    // The leaked key, the role session, the GetSessionToken session, the console session and
    // the created key at least.
    assert!(g.nodes.len() >= 5, "{:?}", ids(&g));
    for (i, n) in g.nodes.iter().enumerate() {
        assert_eq!(g.node(&n.id), Some(i), "{}", n.id);
        if let (NodeKind::Session, Some(k)) = (n.kind, &n.access_key_id) {
            assert!(g.nodes_for_key(k).contains(&i), "{} under its key {k}", n.id);
        }
    }
    for c in [&leaked, &admin, &sts, &console, &key] {
        assert_eq!(node(&g, c).id, c.node_id());
    }
    assert_eq!(g.node("AKIAI44QH8DHBEXAMPLE"), None, "a key the trail never saw");
    assert!(g.nodes_for_key("ASIAI44QH8DHBEXAMPLE").is_empty());
    // Distinct ids, distinct hashes; one id, one hash.
    let mut hashes: Vec<u128> = g.nodes.iter().map(|n| h(&n.id)).collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), g.nodes.len());
    assert_eq!(h(LEAKED), h(&format!("AKIA{}", &LEAKED[4..])));
}

/// Everything of a graph that its users read, as text (the indexes listed by key, from the
/// maps of a built graph or the arrays of one read from the cache).
fn graph_text(g: &SessionGraph) -> String {
    let (ids, keys) = match &g.stored {
        Some(s) => s.entries(),
        None => {
            let mut ids: Vec<(u128, u32)> = g.by_id.iter().map(|(k, v)| (*k, *v)).collect();
            ids.sort_unstable();
            let mut keys: Vec<(u128, Vec<u32>)> =
                g.sessions_by_key.iter().map(|(k, v)| (*k, v.to_vec())).collect();
            keys.sort_unstable();
            (ids, keys)
        }
    };
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{ids:?}\n{keys:?}",
        g.nodes,
        g.edges,
        g.attempts,
        g.notes,
        g.user_grants,
        g.role_grants,
        g.unnamed_keys,
        g.key_owner_claims,
        g.change_grants,
        g.wide,
        g.event_node,
        g.edge_nodes,
        g.parents
    )
}

#[test]
fn a_stored_graph_reads_back_equal_and_damage_is_a_miss_not_a_panic() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin =
        s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/ops/Admin"), "a", 3600);
    let audit =
        s.assume_role(&admin, T0 + 60, &format!("arn:aws:iam::{SECOND}:role/Audit"), "b", 900);
    s.call(&audit, T0 + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let sts = s.get_session_token(&leaked, T0 + 80, 3600);
    s.call(&sts, T0 + 90, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
    let console = s.console_login(MAIN, T0 + 100, "alice");
    s.call(&console, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.create_user(&leaked, T0 + 130, "backup-admin");
    let key = s.create_access_key(&leaked, T0 + 140, Some("backup-admin"));
    s.call(&key, T0 + 150, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call_full(
        &leaked,
        T0 + 160,
        "sts.amazonaws.com",
        "AssumeRole",
        serde_json::json!({"roleArn": "arn:aws:iam::111122223333:role/Locked", "roleSessionName": "s"}),
        Value::Null,
        Some("AccessDenied"),
        "aws-cli/2.15.0",
    );
    s.create_access_key_unanswered(&leaked, T0 + 170, Some("carol"));
    // A copy of the key's making (same eventID) naming another user of it.
    s.copy_records(false, |r| {
        let making = r["eventName"] == "CreateAccessKey" && r["responseElements"].is_object();
        if making {
            r["responseElements"]["accessKey"]["userName"] = serde_json::json!("decoy");
        }
        making
    });
    let instance = "i-0a1b2c3d4e5f60718";
    s.run_instances(&leaked, T0 + 175, "AppProfile", &[instance]);
    let role = format!("arn:aws:iam::{MAIN}:role/AppRole");
    let inst = s.instance_session(&role, instance, T0 + 180, 3600);
    s.call(&inst, T0 + 190, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let g = graph_of(&s, &[]);
    assert!(!g.edges.is_empty() && !g.attempts.is_empty() && !g.user_grants.is_empty());
    assert!(g.edges.iter().any(|e| !e.other_copies.is_empty()), "an F3 copy is stored too");
    assert_eq!(g.unnamed_keys.len(), 1, "the key made without its id is stored too");
    assert_eq!(g.key_owner_claims.len(), 1, "and the other user a copy names for a key");
    assert!(g.edges.iter().any(|e| e.event_name == "RunInstances"), "and the launch's edge");

    let bytes = super::stored::encode(&g);
    let events = g.event_node.len();
    // Read as a cache file holds it, after a header: the indexes are looked up in place.
    let decode = |bytes: &[u8], events: usize| {
        let mut file = vec![0u8; 8];
        file.extend_from_slice(bytes);
        let len = file.len();
        file.extend_from_slice(&[0; 16]); // where the seal goes
        let file = std::sync::Arc::new(crate::ingest::Sealed::Read(file, len));
        super::stored::decode_kept(&file, 8, events, &|_| {})
    };
    let kept = decode(&bytes, events).expect("decodes");
    assert_eq!(graph_text(&kept), graph_text(&g));
    assert!(decode(&bytes, events + 1).is_none(), "another table's graph");
    // The indexes answer as the built graph's maps do; written again, it gives the same bytes.
    assert!(kept.stored.is_some() && kept.by_id.is_empty() && kept.sessions_by_key.is_empty());
    for n in &g.nodes {
        assert_eq!(kept.node(&n.id), g.node(&n.id), "{}", n.id);
        if let Some(k) = &n.access_key_id {
            assert_eq!(kept.nodes_for_key(k), g.nodes_for_key(k), "{k}");
        }
    }
    assert!(g.nodes_for_key(&sts.key).len() == 1 && g.nodes_for_key(LEAKED).len() == 1);
    assert_eq!(kept.node("no-such-node"), None);
    assert!(kept.nodes_for_key("ASIAIOSFODNN7NOTHERE").is_empty());
    assert!(super::stored::encode(&kept) == bytes, "written again as it was read");
    for cut in (0..bytes.len()).step_by(7) {
        assert!(decode(&bytes[..cut], events).is_none(), "cut at {cut}");
    }
    // Scribbled bytes either decode (a field changed) or are refused; never a panic.
    for at in (0..bytes.len()).step_by(3) {
        let mut bad = bytes.clone();
        bad[at] ^= 0xA5;
        let _ = decode(&bad, events);
    }
}

#[test]
fn arn_account_is_the_fifth_field() {
    for arn in [
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:sts::111122223333:assumed-role/R/s:x",
        "arn:aws:iam:::user/x",
        "arn:aws:iam::111122223333",
        "arn:aws:iam:",
        "a:b:c:d:e",
        "a:b:c:d:",
        "",
        "::::\u{e9}:",
    ] {
        assert_eq!(
            super::arn_account(arn),
            arn.split(':').nth(4).filter(|s| !s.is_empty()),
            "{arn:?}"
        );
    }
}

#[test]
fn a_temporary_key_seen_with_two_creation_dates_is_two_sessions_each_with_its_calls() {
    // Two console sessions whose key ids repeat (F16), seen only in use (F2): the calls of
    // each, interleaved in time, go to the session their creationDate names, and the leaked
    // long-term key's calls around them to the key.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let first = s.console_login(MAIN, T0, "alice");
    let mut second = s.console_login(MAIN, T0 + 100, "bob");
    second.key = first.key.clone();
    for (c, at) in [(&first, 30), (&leaked, 35), (&second, 130), (&first, 150), (&second, 160)] {
        s.call(c, T0 + at, "s3.amazonaws.com", "ListBuckets", Value::Null);
    }
    s.call(&second, T0 + 170, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
    s.call(&leaked, T0 + 180, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
    let g = graph_of(&s, &[]);

    let (a, b) = (node(&g, &first), node(&g, &second));
    assert_ne!(a.id, b.id);
    assert_eq!((a.events, b.events), (2, 3), "{a:?} {b:?}");
    assert_eq!(a.principal_arn.as_deref(), Some(first.arn.as_str()));
    assert_eq!(b.principal_arn.as_deref(), Some(second.arn.as_str()));
    assert_eq!(node(&g, &leaked).events, 2);
    assert!(g.notes.iter().any(|n| n.contains(&first.key) && n.contains("2 different sessions")));
}

/// The issue-time index of a key with many sessions answers as the walk over its sessions in
/// the order made does (the first within the slack; the latest at or before a time, the last
/// made of its second, else the last untimed), over many random keys and queries.
#[test]
fn the_issue_time_index_answers_as_the_walk_does() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..200 {
        let made: Vec<Option<i64>> =
            (0..next(60) + 1).map(|_| (next(5) != 0).then(|| next(40) as i64)).collect();
        let mut index = IssueIndex::default();
        for (n, &t) in made.iter().enumerate() {
            index.add(n as u32, t);
        }
        for _ in 0..50 {
            let (t, slack) = (next(50) as i64 - 5, next(3) as i64);
            let walk = made.iter().position(|x| x.is_some_and(|x| (x - t).abs() <= slack));
            assert_eq!(index.first_near(t, slack), walk, "{made:?} near {t}±{slack}");
            let latest = (0..made.len())
                .filter(|&n| made[n].is_none_or(|x| x <= t))
                .max_by_key(|&n| made[n]);
            assert_eq!(index.latest_at(t), latest, "{made:?} at {t}");
        }
    }
}

/// Without `expiration`, only a role assumed with another role's session is bounded at an
/// hour (F4); a role assumed with a GetSessionToken session may last the role's maximum, and
/// taking it for chained made a live session "expired" at the cut-off, with no deny.
#[test]
fn only_a_role_session_parent_makes_a_chain_of_an_hour() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let gst = s.get_session_token(&leaked, T0, 129_600);
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let from_gst = s.assume_role(&gst, T0 + 60, &admin, "g", 43_200);
    let role = s.assume_role(&leaked, T0 + 90, &admin, "r", 43_200);
    let chained =
        s.assume_role(&role, T0 + 120, &format!("arn:aws:iam::{MAIN}:role/Audit"), "c", 3600);
    let mut g = graph_of(&s, &[]);
    for c in [&from_gst, &role, &chained] {
        let n = g.node(&c.node_id()).unwrap();
        g.nodes[n].expires_at = None;
    }
    let expiry = |g: &SessionGraph, c: &Cred| session_expiry(g, g.node(&c.node_id()).unwrap());
    assert_eq!(expiry(&g, &from_gst), Some(T0 + 60 + 12 * 3600), "not chained");
    assert_eq!(expiry(&g, &role), Some(T0 + 90 + 12 * 3600));
    assert_eq!(expiry(&g, &chained), Some(T0 + 120 + 3600), "chained");
}

/// A successful AssumeRole whose record lost its response: the session, known only from its
/// use, is linked to the caller (inferred, with a note saying why), so the leaked key's
/// descendants hold it. A second orphan of the same role and session name, issued at another time, is
/// not.
#[test]
fn an_assume_role_without_its_response_is_linked_to_the_session_seen_in_use() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let sess = s.assume_role_unanswered(&leaked, T0 + 100, &admin, "pwn", 43_200);
    s.call(&sess, T0 + 200, "iam.amazonaws.com", "ListUsers", Value::Null);
    let alice = s.user_key(MAIN, "alice", "AKIAJ7ALICE000EXAMPL");
    let other = s.assume_role_unanswered(&alice, T0 + 900, &admin, "pwn", 3600);
    s.call(&other, T0 + 950, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let g = graph_of(&s, &[]);
    assert_eq!(parent_id(&g, &sess), Some(LEAKED), "{:?}", ids(&g));
    assert!(!node(&g, &sess).orphan);
    assert_eq!(parent_id(&g, &other), Some("AKIAJ7ALICE000EXAMPL"));
    let e = g.edges.iter().find(|e| e.child == sess.node_id()).unwrap();
    assert!(e.inferred && e.event_name == "AssumeRole");
    assert!(g.notes.iter().any(|n| n.contains("whose record has no response")), "{:?}", g.notes);
    // The leaked key's descendants (what the taint follows) hold the session, not the other.
    let d = g.descendants(&[g.node(LEAKED).unwrap()]);
    assert!(d.contains(&g.node(&sess.node_id()).unwrap()));
    assert!(!d.contains(&g.node(&other.node_id()).unwrap()));
}

/// A session whose calls carry a `creationDate` 3 s (or more) from its AssumeRole, beyond the
/// 2 s a use is matched by: the orphan it becomes is linked to the call (inferred, with a
/// note), so the leaked key's descendants hold it. A session of the same key id under another
/// session name, and one outside the session's lifetime, are not.
#[test]
fn a_session_seen_with_a_skewed_creation_date_is_linked_to_its_issuing_call() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let sess = s.assume_role(&leaked, T0 + 100, &admin, "pwn", 3600);
    let mut skewed = sess.clone();
    skewed.issued_at = Some(T0 + 103);
    s.call(
        &skewed,
        T0 + 200,
        "iam.amazonaws.com",
        "CreateUser",
        serde_json::json!({"userName": "bd"}),
    );
    let mut before = sess.clone();
    before.issued_at = Some(T0 + 95);
    s.call(&before, T0 + 210, "iam.amazonaws.com", "ListUsers", Value::Null);
    let mut late = sess.clone();
    late.issued_at = Some(T0 + 100 + 3600 + 60);
    s.call(&late, T0 + 3800, "iam.amazonaws.com", "ListRoles", Value::Null);
    // Another session name under the same key id (F16): another session's identity, this key.
    let other = s.assume_role(&leaked, T0 + 2000, &admin, "other", 3600);
    let mut renamed = other.clone();
    renamed.key = sess.key.clone();
    renamed.issued_at = Some(T0 + 110);
    s.call(&renamed, T0 + 220, "iam.amazonaws.com", "ListGroups", Value::Null);
    let g = graph_of(&s, &[]);
    let seed = g.node(LEAKED).unwrap();
    let d = g.descendants(&[seed]);
    for c in [&skewed, &before] {
        let n = g.node(&c.node_id()).unwrap_or_else(|| panic!("{} in {:?}", c.node_id(), ids(&g)));
        assert!(d.contains(&n), "{} is tainted", c.node_id());
        let e = g.edges.iter().find(|e| e.child == c.node_id()).unwrap();
        assert!(e.inferred && e.event_name == "AssumeRole" && e.parent == LEAKED, "{e:?}");
        assert!(!g.nodes[n].orphan);
    }
    for c in [&late, &renamed] {
        let n = g.node(&c.node_id()).unwrap_or_else(|| panic!("{} in {:?}", c.node_id(), ids(&g)));
        assert!(!d.contains(&n), "{} is not", c.node_id());
        assert!(g.nodes[n].orphan);
    }
    assert!(
        g.notes.iter().any(|n| n.contains(&skewed.node_id()) && n.contains("+3 s")),
        "{:?}",
        g.notes
    );
}

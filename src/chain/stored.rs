//! The session graph as bytes, so that a run whose event table came from `--cache` takes the
//! graph an earlier run built from that same table instead of building it again
//! ([`crate::ingest::Ingest::load_derived`]). Decoding checks every index against what it
//! points into: a damaged entry is `None` (and the graph is built), never a panic.

use super::{Attempt, Edge, Node, NodeKind, SessionGraph, Text, UserGrant};
use crate::ingest::{ByteReader as Reader, ByteWriter as Writer};

/// Bumped whenever the graph's shape or how it is built changes.
const FORMAT: u32 = 1;

const KINDS: [NodeKind; 4] =
    [NodeKind::LongTermKey, NodeKind::Session, NodeKind::ExternalIdentity, NodeKind::Service];

fn opt_text(w: &mut Writer, t: &Option<Text>) {
    w.opt_str(t.as_deref());
}

fn opt_string(w: &mut Writer, t: &Option<String>) {
    w.opt_str(t.as_deref());
}

fn get_opt_text(r: &mut Reader<'_>) -> Option<Option<Text>> {
    Some(r.opt_str()?.map(Text::from))
}

fn get_opt_string(r: &mut Reader<'_>) -> Option<Option<String>> {
    Some(r.opt_str()?.map(str::to_string))
}

fn get_bool(r: &mut Reader<'_>) -> Option<bool> {
    match r.u8()? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

fn put_node(w: &mut Writer, n: &Node) {
    let Node {
        id,
        kind,
        access_key_id,
        principal_arn,
        principal_type,
        account_id,
        issued_at,
        expires_at,
        orphan,
        events,
        denied,
        first_seen,
        last_seen,
        issued_by_event,
        role_arn,
        userid,
        user_name,
        source_ips,
        root_derived,
        user_arn,
    } = n;
    w.str(id);
    w.u8(KINDS.iter().position(|k| k == kind).unwrap_or(0) as u8);
    opt_text(w, access_key_id);
    opt_string(w, principal_arn);
    opt_text(w, principal_type);
    opt_text(w, account_id);
    w.opt_i64(*issued_at);
    w.opt_i64(*expires_at);
    w.u8(u8::from(*orphan));
    w.u64(*events);
    w.u64(*denied);
    w.opt_i64(*first_seen);
    w.opt_i64(*last_seen);
    opt_text(w, issued_by_event);
    opt_string(w, role_arn);
    opt_string(w, userid);
    opt_text(w, user_name);
    w.u32(source_ips.len() as u32);
    for ip in source_ips {
        w.str(ip);
    }
    w.u8(u8::from(*root_derived));
    opt_string(w, user_arn);
}

fn get_node(r: &mut Reader<'_>) -> Option<Node> {
    Some(Node {
        id: r.str()?.to_string(),
        kind: *KINDS.get(r.u8()? as usize)?,
        access_key_id: get_opt_text(r)?,
        principal_arn: get_opt_string(r)?,
        principal_type: get_opt_text(r)?,
        account_id: get_opt_text(r)?,
        issued_at: r.opt_i64()?,
        expires_at: r.opt_i64()?,
        orphan: get_bool(r)?,
        events: r.u64()?,
        denied: r.u64()?,
        first_seen: r.opt_i64()?,
        last_seen: r.opt_i64()?,
        issued_by_event: get_opt_text(r)?,
        role_arn: get_opt_string(r)?,
        userid: get_opt_string(r)?,
        user_name: get_opt_text(r)?,
        source_ips: {
            let n = r.count(4)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(Text::from(r.str()?));
            }
            v
        },
        root_derived: get_bool(r)?,
        user_arn: get_opt_string(r)?,
    })
}

fn put_edge(w: &mut Writer, e: &Edge) {
    let Edge { parent, child, event_name, event_id, event_time, file, other_copies, inferred } = e;
    for s in [parent, child, event_name, event_id] {
        w.str(s);
    }
    w.i64(*event_time);
    w.str(file);
    w.u32(other_copies.len() as u32);
    for c in other_copies {
        w.str(c);
    }
    w.u8(u8::from(*inferred));
}

fn get_edge(r: &mut Reader<'_>) -> Option<Edge> {
    Some(Edge {
        parent: r.str()?.to_string(),
        child: r.str()?.to_string(),
        event_name: r.str()?.to_string(),
        event_id: r.str()?.to_string(),
        event_time: r.i64()?,
        file: r.str()?.to_string(),
        other_copies: {
            let n = r.count(4)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.str()?.to_string());
            }
            v
        },
        inferred: get_bool(r)?,
    })
}

fn put_attempt(w: &mut Writer, a: &Attempt) {
    let Attempt {
        event_name,
        event_id,
        event_time,
        caller_key,
        caller_arn,
        target,
        error_code,
        file,
    } = a;
    w.str(event_name);
    w.str(event_id);
    w.i64(*event_time);
    for s in [caller_key, caller_arn, target, error_code] {
        opt_string(w, s);
    }
    w.str(file);
}

fn get_attempt(r: &mut Reader<'_>) -> Option<Attempt> {
    Some(Attempt {
        event_name: r.str()?.to_string(),
        event_id: r.str()?.to_string(),
        event_time: r.i64()?,
        caller_key: get_opt_string(r)?,
        caller_arn: get_opt_string(r)?,
        target: get_opt_string(r)?,
        error_code: get_opt_string(r)?,
        file: r.str()?.to_string(),
    })
}

fn put_grant(w: &mut Writer, g: &UserGrant) {
    let UserGrant { user_arn, account_id, user_name, event_name, event_id, time, by } = g;
    for s in [user_arn, account_id, user_name, event_name, event_id] {
        w.str(s);
    }
    w.i64(*time);
    w.u64(*by as u64);
}

fn get_grant(r: &mut Reader<'_>, nodes: usize) -> Option<UserGrant> {
    Some(UserGrant {
        user_arn: r.str()?.to_string(),
        account_id: r.str()?.to_string(),
        user_name: r.str()?.to_string(),
        event_name: r.str()?.to_string(),
        event_id: r.str()?.to_string(),
        time: r.i64()?,
        by: index(r.u64()?, nodes)?,
    })
}

/// `i` as an index below `len`.
fn index(i: u64, len: usize) -> Option<usize> {
    usize::try_from(i).ok().filter(|&i| i < len)
}

/// The graph as bytes.
pub(super) fn encode(g: &SessionGraph) -> Vec<u8> {
    let SessionGraph {
        nodes,
        edges,
        attempts,
        notes,
        user_grants,
        event_node,
        edge_nodes,
        parents,
        by_id,
        sessions_by_key,
    } = g;
    let mut w = Writer::default();
    w.u32(FORMAT);
    w.u32(nodes.len() as u32);
    for n in nodes {
        put_node(&mut w, n);
    }
    w.u32(edges.len() as u32);
    for e in edges {
        put_edge(&mut w, e);
    }
    w.u32(attempts.len() as u32);
    for a in attempts {
        put_attempt(&mut w, a);
    }
    w.u32(notes.len() as u32);
    for n in notes {
        w.str(n);
    }
    w.u32(user_grants.len() as u32);
    for u in user_grants {
        put_grant(&mut w, u);
    }
    w.u32(event_node.len() as u32);
    for n in event_node {
        w.u32(*n);
    }
    w.u32(edge_nodes.len() as u32);
    for (p, c) in edge_nodes {
        w.u64(*p as u64);
        w.u64(*c as u64);
    }
    w.u32(parents.len() as u32);
    for p in parents {
        match p {
            Some((n, e)) => {
                w.u8(1);
                w.u64(*n as u64);
                w.u64(*e as u64);
            }
            None => w.u8(0),
        }
    }
    let mut ids: Vec<_> = by_id.iter().collect();
    ids.sort_unstable();
    w.u32(ids.len() as u32);
    for (k, v) in ids {
        w.u128(*k);
        w.u32(*v);
    }
    let mut keys: Vec<_> = sessions_by_key.iter().collect();
    keys.sort_unstable();
    w.u32(keys.len() as u32);
    for (k, v) in keys {
        w.u128(*k);
        w.u32(v.len() as u32);
        for x in v {
            w.u32(*x);
        }
    }
    w.buf
}

/// The graph [`encode`] wrote, for a table of `events` events; `None` when the bytes are not
/// one (another format, damage).
pub(super) fn decode(bytes: &[u8], events: usize) -> Option<SessionGraph> {
    let mut r = Reader::new(bytes);
    if r.u32()? != FORMAT {
        return None;
    }
    let n = r.count(8)?;
    let mut nodes = Vec::with_capacity(n);
    for _ in 0..n {
        nodes.push(get_node(&mut r)?);
    }
    let nn = nodes.len();
    let node = |i: u32| (i as usize) < nn;
    let n = r.count(8)?;
    let mut edges = Vec::with_capacity(n);
    for _ in 0..n {
        edges.push(get_edge(&mut r)?);
    }
    let n = r.count(8)?;
    let mut attempts = Vec::with_capacity(n);
    for _ in 0..n {
        attempts.push(get_attempt(&mut r)?);
    }
    let n = r.count(4)?;
    let mut notes = Vec::with_capacity(n);
    for _ in 0..n {
        notes.push(r.str()?.to_string());
    }
    let n = r.count(8)?;
    let mut user_grants = Vec::with_capacity(n);
    for _ in 0..n {
        user_grants.push(get_grant(&mut r, nn)?);
    }
    let n = r.count(4)?;
    if n != events {
        return None;
    }
    let mut event_node = Vec::with_capacity(n);
    for _ in 0..n {
        let x = r.u32()?;
        if x != super::NO_NODE && !node(x) {
            return None;
        }
        event_node.push(x);
    }
    let n = r.count(16)?;
    if n != edges.len() {
        return None;
    }
    let mut edge_nodes = Vec::with_capacity(n);
    for _ in 0..n {
        edge_nodes.push((index(r.u64()?, nn)?, index(r.u64()?, nn)?));
    }
    let n = r.count(1)?;
    if n != nn {
        return None;
    }
    let mut parents = Vec::with_capacity(n);
    for _ in 0..n {
        parents.push(match r.u8()? {
            0 => None,
            1 => Some((index(r.u64()?, nn)?, index(r.u64()?, edges.len())?)),
            _ => return None,
        });
    }
    let n = r.count(20)?;
    let mut by_id = crate::ingest::FxMap::default();
    by_id.reserve(n);
    for _ in 0..n {
        let k = r.u128()?;
        let v = r.u32()?;
        if !node(v) {
            return None;
        }
        by_id.insert(k, v);
    }
    let n = r.count(20)?;
    let mut sessions_by_key = crate::ingest::FxMap::default();
    sessions_by_key.reserve(n);
    for _ in 0..n {
        let k = r.u128()?;
        let m = r.count(4)?;
        let mut v = Vec::with_capacity(m);
        for _ in 0..m {
            let x = r.u32()?;
            if !node(x) {
                return None;
            }
            v.push(x);
        }
        sessions_by_key.insert(k, v);
    }
    if !r.b.is_empty() {
        return None;
    }
    Some(SessionGraph {
        nodes,
        edges,
        attempts,
        notes,
        user_grants,
        event_node,
        edge_nodes,
        parents,
        by_id,
        sessions_by_key,
    })
}

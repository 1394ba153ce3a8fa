//! The session graph as bytes, so that a run whose event table came from `--cache` takes the
//! graph an earlier run built from that same table instead of building it again
//! ([`crate::ingest::Ingest::load_derived`]). Decoding checks every index against what it
//! points into: a damaged entry is `None` (and the graph is built), never a panic.

use super::{Attempt, Edge, Node, NodeKind, SessionGraph, Text, UserGrant};
use crate::ingest::ByteWriter as Writer;
use crate::ingest::{ByteFields as Fields, ByteReader as Reader, ByteSink as Sink};
use rayon::prelude::*;

/// Bumped whenever the graph's shape or how it is built changes.
const FORMAT: u32 = 18;

const KINDS: [NodeKind; 4] =
    [NodeKind::LongTermKey, NodeKind::Session, NodeKind::ExternalIdentity, NodeKind::Service];

fn opt_string(w: &mut Writer, t: &Option<String>) {
    w.opt_str(t.as_deref());
}

fn get_opt_string(r: &mut Reader<'_>) -> Option<Option<String>> {
    Some(r.opt_str()?.map(str::to_string))
}

/// Strings of the graph as they are written: a reference is 0 for `None` and `i + 1` for the
/// `i`-th string written. The fields that repeat (accounts, ARNs, types, files, addresses)
/// are written once, when first met ([`Pool::shared`]), and found again through the index;
/// those of one node or edge alone (its id, access key id, event id: most of the strings) are
/// written where they are met ([`Pool::own`]), never looked up. Only the index of the
/// repeating ones and the end of each string are kept: at 5 GB of trail an index of every
/// string was 50 MB, and the largest part of what keeping the graph added to a run's peak.
#[derive(Default)]
struct Pool<'g> {
    index: crate::ingest::StrMap<&'g str, u32>,
    ends: Vec<u32>,
    len: u32,
}

impl<'g> Pool<'g> {
    /// Writes `s` to `out`: its reference.
    fn own(&mut self, s: &str, out: &mut Writer) -> u32 {
        out.buf.extend_from_slice(s.as_bytes());
        self.len += s.len() as u32;
        self.ends.push(self.len);
        self.ends.len() as u32
    }
    /// The reference of `s`, whose bytes go to `out` when it is new.
    fn shared(&mut self, s: &'g str, out: &mut Writer) -> u32 {
        if let Some(&r) = self.index.get(s) {
            return r;
        }
        let r = self.own(s, out);
        self.index.insert(s, r);
        r
    }
    /// Writes each of `fields` ([`Field`]).
    fn put(&mut self, fields: &[Field<'g>], out: &mut Writer) {
        for f in fields {
            match *f {
                Field::Own(Some(s)) => {
                    self.own(s, out);
                }
                Field::Shared(Some(s)) => {
                    self.shared(s, out);
                }
                Field::Own(None) | Field::Shared(None) => {}
            }
        }
    }
}

/// A string field of a node or an edge, as [`Pool`] writes it.
#[derive(Clone, Copy)]
enum Field<'g> {
    /// Its own: written each time.
    Own(Option<&'g str>),
    /// One that repeats: written once.
    Shared(Option<&'g str>),
}

/// The references [`Pool::put`] gave `fields`, from the number of strings written before
/// them (`before`) and the index of the shared ones: the same walk, without writing. A shared
/// string whose reference is the next one was new where it is met.
fn refs<const N: usize>(
    fields: &[Field<'_>; N],
    mut before: u32,
    index: &crate::ingest::StrMap<&str, u32>,
) -> [u32; N] {
    fields.map(|f| match f {
        Field::Own(None) | Field::Shared(None) => 0,
        Field::Own(Some(_)) => {
            before += 1;
            before
        }
        Field::Shared(Some(s)) => {
            let r = index.get(s).copied().unwrap_or(0);
            if r == before + 1 {
                before = r;
            }
            r
        }
    })
}

/// The strings of a graph: the bytes of each, end to end, and where each ends.
struct Strings<'a>(Vec<&'a str>);

impl<'a> Strings<'a> {
    fn read(blob: &'a [u8], ends: &[u8]) -> Option<Strings<'a>> {
        let blob = std::str::from_utf8(blob).ok()?;
        let mut out = Vec::with_capacity(ends.len() / 4);
        let mut at = 0;
        for end in ends.chunks_exact(4) {
            let end = u32::from_le_bytes([end[0], end[1], end[2], end[3]]) as usize;
            out.push(blob.get(at..end)?);
            at = end;
        }
        (at == blob.len() && ends.len() % 4 == 0).then_some(Strings(out))
    }
    fn opt(&self, r: u32) -> Option<Option<&'a str>> {
        match r {
            0 => Some(None),
            r => self.0.get(r as usize - 1).map(|s| Some(*s)),
        }
    }
    fn get(&self, r: u32) -> Option<&'a str> {
        self.opt(r)?
    }
}

/// A node as a fixed-size record, so that records decode in parallel.
const NODE_BYTES: usize = 11 * 4 + 2 + 4 * 8 + 2 * 8 + 2 * 4;
/// An edge as a fixed-size record.
const EDGE_BYTES: usize = 5 * 4 + 8 + 2 * 4 + 1;

/// Where the strings of a node or an edge start: how many strings were written before them,
/// and where its list starts in the lists.
#[derive(Clone, Copy)]
struct Start {
    strings: u32,
    list: u32,
}

/// The strings of `n`, in the order of its record.
fn node_fields(n: &Node) -> [Field<'_>; 11] {
    [
        Field::Own(Some(&n.id)),
        Field::Own(n.access_key_id.as_deref()),
        Field::Shared(n.principal_type.as_deref()),
        Field::Shared(n.account_id.as_deref()),
        Field::Shared(n.issued_by_event.as_deref()),
        Field::Shared(n.user_name.as_deref()),
        Field::Shared(n.source_identity.as_deref()),
        Field::Shared(n.principal_arn.as_deref()),
        Field::Shared(n.role_arn.as_deref()),
        Field::Shared(n.userid.as_deref()),
        Field::Shared(n.user_arn.as_deref()),
    ]
}

/// Writes the strings of `n`, and its list's references to `lists`; where they start goes to
/// `starts`. Its record is written later ([`put_node`]).
fn put_node_strings<'g>(
    p: &mut Pool<'g>,
    starts: &mut Vec<Start>,
    lists: &mut Vec<u32>,
    n: &'g Node,
    out: &mut Writer,
) {
    starts.push(Start { strings: p.ends.len() as u32, list: lists.len() as u32 });
    p.put(&node_fields(n), out);
    for ip in &n.source_ips {
        lists.push(p.shared(ip, out));
    }
}

/// The record of `n`, whose strings [`put_node_strings`] wrote from `at`.
fn put_node(w: &mut Writer, at: Start, index: &crate::ingest::StrMap<&str, u32>, n: &Node) {
    let Node {
        id: _,
        kind,
        access_key_id: _,
        principal_arn: _,
        principal_type: _,
        account_id: _,
        issued_at,
        expires_at,
        orphan,
        events,
        denied,
        first_seen,
        last_seen,
        issued_by_event: _,
        role_arn: _,
        userid: _,
        user_name: _,
        source_ips,
        root_derived,
        issue_seen,
        user_arn: _,
        source_identity: _,
    } = n;
    for r in refs(&node_fields(n), at.strings, index) {
        w.u32(r);
    }
    w.u8(KINDS.iter().position(|k| k == kind).unwrap_or(0) as u8);
    let times = [issued_at, expires_at, first_seen, last_seen];
    let mut bits = u8::from(*orphan) | u8::from(*root_derived) << 1 | u8::from(*issue_seen) << 6;
    for (i, t) in times.iter().enumerate() {
        bits |= u8::from(t.is_some()) << (2 + i);
    }
    w.u8(bits);
    for t in times {
        w.i64(t.unwrap_or(0));
    }
    w.u64(*events);
    w.u64(*denied);
    w.u32(at.list);
    w.u32(source_ips.len() as u32);
}

/// `len` references from `start` in `lists`.
fn list(lists: &[u32], start: u32, len: u32) -> Option<&[u32]> {
    lists.get(start as usize..(start as usize).checked_add(len as usize)?)
}

fn get_node(rec: &[u8], s: &Strings<'_>, lists: &[u32]) -> Option<Node> {
    let mut f = Fields(rec);
    let id = s.get(f.u32())?.to_string();
    let mut short = [None, None, None, None, None, None];
    for v in &mut short {
        *v = s.opt(f.u32())?.map(Text::from);
    }
    let mut own = [None, None, None, None];
    for v in &mut own {
        *v = s.opt(f.u32())?.map(str::to_string);
    }
    let kind = *KINDS.get(f.u8() as usize)?;
    let bits = f.u8();
    if bits >> 7 != 0 {
        return None;
    }
    let mut times = [None; 4];
    for (i, t) in times.iter_mut().enumerate() {
        let v = f.u64() as i64;
        *t = (bits >> (2 + i) & 1 == 1).then_some(v);
    }
    let (events, denied) = (f.u64(), f.u64());
    let (start, len) = (f.u32(), f.u32());
    let source_ips = list(lists, start, len)?
        .iter()
        .map(|&r| s.get(r).map(Text::from))
        .collect::<Option<Vec<_>>>()?;
    let [access_key_id, principal_type, account_id, issued_by_event, user_name, source_identity] =
        short;
    let [principal_arn, role_arn, userid, user_arn] = own;
    let [issued_at, expires_at, first_seen, last_seen] = times;
    Some(Node {
        id,
        kind,
        access_key_id,
        principal_arn,
        principal_type,
        account_id,
        issued_at,
        expires_at,
        orphan: bits & 1 == 1,
        events,
        denied,
        first_seen,
        last_seen,
        issued_by_event,
        role_arn,
        userid,
        user_name,
        source_ips,
        root_derived: bits & 2 == 2,
        issue_seen: bits & 64 == 64,
        user_arn,
        source_identity,
    })
}

/// The strings of `e`, in the order of its record.
fn edge_fields(e: &Edge) -> [Field<'_>; 5] {
    [
        Field::Shared(Some(&e.parent)),
        Field::Own(Some(&e.child)),
        Field::Shared(Some(&e.event_name)),
        Field::Own(Some(&e.event_id)),
        Field::Shared(Some(&e.file)),
    ]
}

/// [`put_node_strings`] for an edge (the other copies' event ids are its own).
fn put_edge_strings<'g>(
    p: &mut Pool<'g>,
    starts: &mut Vec<Start>,
    lists: &mut Vec<u32>,
    e: &'g Edge,
    out: &mut Writer,
) {
    starts.push(Start { strings: p.ends.len() as u32, list: lists.len() as u32 });
    p.put(&edge_fields(e), out);
    for c in &e.other_copies {
        lists.push(p.own(c, out));
    }
}

/// [`put_node`] for an edge.
fn put_edge(w: &mut Writer, at: Start, index: &crate::ingest::StrMap<&str, u32>, e: &Edge) {
    let Edge { event_time, other_copies, inferred, .. } = e;
    for r in refs(&edge_fields(e), at.strings, index) {
        w.u32(r);
    }
    w.i64(*event_time);
    w.u32(at.list);
    w.u32(other_copies.len() as u32);
    w.u8(u8::from(*inferred));
}

fn get_edge(rec: &[u8], s: &Strings<'_>, lists: &[u32]) -> Option<Edge> {
    let mut f = Fields(rec);
    let mut text = [""; 5];
    for v in &mut text {
        *v = s.get(f.u32())?;
    }
    let [parent, child, event_name, event_id, file] = text.map(str::to_string);
    let event_time = f.u64() as i64;
    let (start, len) = (f.u32(), f.u32());
    let other_copies = list(lists, start, len)?
        .iter()
        .map(|&r| s.get(r).map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    let inferred = match f.u8() {
        0 => false,
        1 => true,
        _ => return None,
    };
    Some(Edge { parent, child, event_name, event_id, event_time, file, other_copies, inferred })
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

/// A list of grants written as its length and [`put_grant`] each.
fn get_grants(r: &mut Reader<'_>, nodes: usize) -> Option<Vec<UserGrant>> {
    let n = r.count(8)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(get_grant(r, nodes)?);
    }
    Some(v)
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

/// The graph as bytes ([`encode_into`] a buffer).
#[cfg(test)]
pub(super) fn encode(g: &SessionGraph) -> Vec<u8> {
    let mut w = Writer::default();
    encode_into(g, &mut w);
    w.buf
}

/// How many parts an encoded graph has ([`Parts`]), each one's length in the trailer.
const PARTS: usize = 7;

/// The length of the part written to `out` since `*from`, which moves to its end.
fn part_len(out: &impl Sink, from: &mut u64) -> u64 {
    let (start, now) = (*from, out.at());
    *from = now;
    now - start
}

/// Writes the fixed-size (`size` bytes) record of each of `items`, the `i`-th from where its
/// strings start (`starts[i]`), encoded on every core a batch at a time and written in order.
fn put_records<T: Sync>(
    out: &mut impl Sink,
    items: &[T],
    starts: &[Start],
    size: usize,
    put: impl Fn(&mut Writer, Start, &T) + Sync,
) {
    const BATCH: usize = 1 << 16;
    const PIECE: usize = 4096;
    debug_assert_eq!(starts.len(), items.len());
    for (items, starts) in items.chunks(BATCH).zip(starts.chunks(BATCH)) {
        let pieces: Vec<Vec<u8>> = items
            .par_chunks(PIECE)
            .zip(starts.par_chunks(PIECE))
            .map(|(items, starts)| {
                let mut w = Writer::with_capacity(items.len() * size);
                for (x, at) in items.iter().zip(starts) {
                    put(&mut w, *at, x);
                }
                w.buf
            })
            .collect();
        out.put_all(&pieces, |w, p| w.buf.extend_from_slice(p));
    }
}

/// Writes the graph to `out` as it encodes it, in parts ([`Parts`]): the bytes of every
/// string ([`Pool`]), where each ends, the lists (a node's source IPs, an edge's other
/// copies) as string references, the fixed-size node and edge records, the rest, the
/// indexes; then the length of each part. The strings go first, written as they are met, so
/// that nothing but where each node's and edge's strings start (and the index of those that
/// repeat) is held to the end: at 5 GB of trail the graph is 170 MB, and a run that filled
/// the cache used to hold it whole beside the graph itself.
pub(super) fn encode_into(g: &SessionGraph, out: &mut impl Sink) {
    let SessionGraph {
        nodes,
        edges,
        attempts,
        notes,
        user_grants,
        role_grants,
        unnamed_keys,
        change_grants,
        user_renames,
        user_deletions,
        role_deletions,
        unsure_consoles,
        hops_by_id,
        key_owner_claims,
        renames_by_name: _,
        many_parents: _,
        event_node,
        edge_nodes,
        parents,
        by_id,
        sessions_by_key,
        by_issue: _,
        user_callers: _,
        wide,
        wide_pending: _,
        stored,
        twinned: _,
        disputed: _,
    } = g;
    out.w().u32(FORMAT);
    out.w().u32(nodes.len() as u32);
    out.w().u32(edges.len() as u32);
    let mut lens = [0u64; PARTS];
    let mut from = out.at();
    let mut pool = Pool::default();
    let mut lists = Vec::new();
    let mut node_starts = Vec::with_capacity(nodes.len());
    out.put_all(nodes, |w, n| put_node_strings(&mut pool, &mut node_starts, &mut lists, n, w));
    let mut edge_starts = Vec::with_capacity(edges.len());
    out.put_all(edges, |w, e| put_edge_strings(&mut pool, &mut edge_starts, &mut lists, e, w));
    lens[0] = part_len(out, &mut from);
    crate::diag::mark("graph encode: strings");
    for (i, refs) in [(1, &pool.ends), (2, &lists)] {
        out.put_all(refs, |w, x| w.u32(*x));
        lens[i] = part_len(out, &mut from);
    }
    drop((pool.ends, lists));
    // The fixed-size records, on every core (at 5 GB of trail, 0.7 s on one core), their
    // references found again from where each one's strings start.
    let index = &pool.index;
    put_records(out, nodes, &node_starts, NODE_BYTES, |w, at, n| put_node(w, at, index, n));
    lens[3] = part_len(out, &mut from);
    put_records(out, edges, &edge_starts, EDGE_BYTES, |w, at, e| put_edge(w, at, index, e));
    lens[4] = part_len(out, &mut from);
    debug_assert_eq!(lens[3], (nodes.len() * NODE_BYTES) as u64);
    debug_assert_eq!(lens[4], (edges.len() * EDGE_BYTES) as u64);
    drop((node_starts, edge_starts, pool.index));
    crate::diag::mark("graph encode: records");

    out.w().u32(attempts.len() as u32);
    out.put_all(attempts, put_attempt);
    out.w().u32(notes.len() as u32);
    out.put_all(notes, |w, n| w.str(n));
    out.w().u32(user_grants.len() as u32);
    out.put_all(user_grants, put_grant);
    out.w().u32(role_grants.len() as u32);
    out.put_all(role_grants, put_grant);
    out.w().u32(unnamed_keys.len() as u32);
    out.put_all(unnamed_keys, put_grant);
    out.w().u32(change_grants.len() as u32);
    out.put_all(change_grants, put_grant);
    out.w().u32(user_renames.len() as u32);
    out.put_all(user_renames, put_grant);
    out.w().u32(user_deletions.len() as u32);
    out.put_all(user_deletions, put_grant);
    out.w().u32(role_deletions.len() as u32);
    out.put_all(role_deletions, put_grant);
    out.w().u32(unsure_consoles.len() as u32);
    out.put_all(unsure_consoles, put_grant);
    out.w().u32(hops_by_id.len() as u32);
    out.put_all(hops_by_id, put_grant);
    out.w().u32(key_owner_claims.len() as u32);
    out.put_all(key_owner_claims, put_grant);
    super::wide::put(out.w(), wide);
    out.w().u32(event_node.len() as u32);
    out.put_all(event_node, |w, n| w.u32(*n));
    out.w().u32(edge_nodes.len() as u32);
    out.put_all(edge_nodes, |w, (p, c)| {
        w.u32(*p as u32);
        w.u32(*c as u32);
    });
    out.w().u32(parents.len() as u32);
    out.put_all(parents, |w, p| match p {
        Some((n, e)) => {
            w.u8(1);
            w.u32(*n as u32);
            w.u32(*e as u32);
        }
        None => w.u8(0),
    });
    lens[5] = part_len(out, &mut from);
    crate::diag::mark("graph encode: the rest");

    // The indexes, keys rising (a warm run looks them up in place: `StoredIndex`): ids as
    // (key, node) records; access keys as (key, start, count) records into one list of
    // their session nodes.
    match stored {
        Some(s) => s.put(out),
        None => {
            let mut ids: Vec<_> = by_id.iter().collect();
            ids.par_sort_unstable();
            out.w().u32(ids.len() as u32);
            out.put_all(&ids, |w, (k, v)| {
                w.u128(**k);
                w.u32(**v);
            });
            drop(ids);
            let mut keys: Vec<_> = sessions_by_key.iter().collect();
            keys.par_sort_unstable_by_key(|(k, _)| **k);
            out.w().u32(keys.len() as u32);
            let mut start = 0u32;
            out.put_all(&keys, |w, (k, v)| {
                w.u128(**k);
                w.u32(start);
                w.u32(v.len() as u32);
                start += v.len() as u32;
            });
            out.w().u32(start);
            out.put_all(&keys, |w, (_, v)| {
                for x in v.iter() {
                    w.u32(*x);
                }
            });
        }
    }
    lens[6] = part_len(out, &mut from);
    for l in lens {
        out.w().u64(l);
    }
}

/// The parts of an encoded graph ([`encode_into`]), each checked to be where the trailer
/// says.
struct Parts<'a> {
    nodes: usize,
    edges: usize,
    blob: &'a [u8],
    ends: &'a [u8],
    lists: Vec<u32>,
    node_records: &'a [u8],
    edge_records: &'a [u8],
    rest: &'a [u8],
    index: &'a [u8],
}

fn parts(bytes: &[u8]) -> Option<Parts<'_>> {
    let mut r = Reader::new(bytes);
    if r.u32()? != FORMAT {
        return None;
    }
    let nodes = r.u32()? as usize;
    let edges = r.u32()? as usize;
    let (mut body, trailer) = r.b.split_at_checked(r.b.len().checked_sub(8 * PARTS)?)?;
    let mut lens = [0usize; PARTS];
    for (l, b) in lens.iter_mut().zip(trailer.chunks_exact(8)) {
        *l = usize::try_from(u64::from_le_bytes(b.try_into().ok()?)).ok()?;
    }
    if lens[3] != nodes.checked_mul(NODE_BYTES)? || lens[4] != edges.checked_mul(EDGE_BYTES)? {
        return None;
    }
    if lens.iter().try_fold(0usize, |a, &l| a.checked_add(l))? != body.len() {
        return None;
    }
    let mut cut = |n: usize| {
        let (h, t) = body.split_at(n);
        body = t;
        h
    };
    let (blob, ends, lists) = (cut(lens[0]), cut(lens[1]), cut(lens[2]));
    if lists.len() % 4 != 0 {
        return None;
    }
    Some(Parts {
        nodes,
        edges,
        blob,
        ends,
        lists: lists
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        node_records: cut(lens[3]),
        edge_records: cut(lens[4]),
        rest: cut(lens[5]),
        index: cut(lens[6]),
    })
}

/// Everything but the nodes and edges, for a graph of `nn` nodes and `ne` edges.
struct Rest {
    attempts: Vec<Attempt>,
    notes: Vec<String>,
    user_grants: Vec<UserGrant>,
    role_grants: Vec<UserGrant>,
    unnamed_keys: Vec<UserGrant>,
    change_grants: Vec<UserGrant>,
    user_renames: Vec<UserGrant>,
    user_deletions: Vec<UserGrant>,
    role_deletions: Vec<UserGrant>,
    unsure_consoles: Vec<UserGrant>,
    hops_by_id: Vec<UserGrant>,
    key_owner_claims: Vec<UserGrant>,
    wide: super::Wide,
    event_node: Vec<u32>,
    edge_nodes: Vec<(usize, usize)>,
    parents: Vec<Option<(usize, usize)>>,
}

fn get_rest(b: &[u8], nn: usize, ne: usize, events: usize) -> Option<Rest> {
    let mut r = Reader::new(b);
    let node = |i: u32| (i as usize) < nn;
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
    let user_grants = get_grants(&mut r, nn)?;
    let role_grants = get_grants(&mut r, nn)?;
    let unnamed_keys = get_grants(&mut r, nn)?;
    let change_grants = get_grants(&mut r, nn)?;
    let user_renames = get_grants(&mut r, nn)?;
    let user_deletions = get_grants(&mut r, nn)?;
    let role_deletions = get_grants(&mut r, nn)?;
    let unsure_consoles = get_grants(&mut r, nn)?;
    let hops_by_id = get_grants(&mut r, nn)?;
    let key_owner_claims = get_grants(&mut r, nn)?;
    let wide = super::wide::get(&mut r, nn)?;
    let n = r.count(4)?;
    if n != events {
        return None;
    }
    let (raw, tail) = r.b.split_at(n * 4);
    r.b = tail;
    let event_node: Vec<u32> =
        raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    if event_node.iter().any(|&x| x != super::NO_NODE && !node(x)) {
        return None;
    }
    let n = r.count(8)?;
    if n != ne {
        return None;
    }
    let mut edge_nodes = Vec::with_capacity(n);
    for _ in 0..n {
        edge_nodes.push((index(r.u32()?.into(), nn)?, index(r.u32()?.into(), nn)?));
    }
    let n = r.count(1)?;
    if n != nn {
        return None;
    }
    let mut parents = Vec::with_capacity(n);
    for _ in 0..n {
        parents.push(match r.u8()? {
            0 => None,
            1 => Some((index(r.u32()?.into(), nn)?, index(r.u32()?.into(), ne)?)),
            _ => return None,
        });
    }
    r.b.is_empty().then_some(Rest {
        attempts,
        notes,
        user_grants,
        role_grants,
        unnamed_keys,
        change_grants,
        user_renames,
        user_deletions,
        role_deletions,
        unsure_consoles,
        hops_by_id,
        key_owner_claims,
        wide,
        event_node,
        edge_nodes,
        parents,
    })
}

/// An id's record in the index: its key and its node.
const ID_BYTES: usize = 16 + 4;
/// An access key's record: its key, and where its session nodes start in the list and how many.
const KEY_BYTES: usize = 16 + 4 + 4;

fn u128_at(b: &[u8], at: usize) -> u128 {
    let mut x = [0u8; 16];
    x.copy_from_slice(&b[at..at + 16]);
    u128::from_le_bytes(x)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

/// Where the index part `b` holds its three arrays (ids, access keys, the list of session
/// nodes), checked for a graph of `nn` nodes: keys strictly rising in both (so a binary
/// search finds each), every node below `nn`, every access key's sessions inside the list
/// and at least one. `None` when any is not so.
fn index_parts(b: &[u8], nn: usize) -> Option<[std::ops::Range<usize>; 3]> {
    let mut r = Reader::new(b);
    let mut ranges = [0..0, 0..0, 0..0];
    for (range, size) in ranges.iter_mut().zip([ID_BYTES, KEY_BYTES, 4]) {
        let n = r.count(size)?;
        let at = b.len() - r.b.len();
        r.take(n * size)?;
        *range = at..at + n * size;
    }
    if !r.b.is_empty() {
        return None;
    }
    let (ids, keys, lists) = (&b[ranges[0].clone()], &b[ranges[1].clone()], &b[ranges[2].clone()]);
    let node = |rec: &[u8], at: usize| (u32_at(rec, at) as usize) < nn;
    let rising = |recs: &[u8], size: usize| {
        recs.chunks_exact(size)
            .zip(recs.chunks_exact(size).skip(1))
            .all(|(a, b)| u128_at(a, 0) < u128_at(b, 0))
    };
    let listed = lists.len() / 4;
    let ok = rising(ids, ID_BYTES)
        && rising(keys, KEY_BYTES)
        && ids.chunks_exact(ID_BYTES).all(|rec| node(rec, 16))
        && lists.chunks_exact(4).all(|rec| node(rec, 0))
        && keys.chunks_exact(KEY_BYTES).all(|rec| {
            let (start, count) = (u32_at(rec, 16) as usize, u32_at(rec, 20) as usize);
            count > 0 && start.checked_add(count).is_some_and(|end| end <= listed)
        });
    ok.then_some(ranges)
}

/// Both indexes listed by key: ids with their node, access keys with their session nodes.
#[cfg(test)]
pub(super) type IndexEntries = (Vec<(u128, u32)>, Vec<(u128, Vec<u32>)>);

/// The indexes of a graph read from the cache, looked up in place in its file (kept mapped
/// as long as the graph is): the arrays [`encode_into`] wrote, checked once
/// ([`index_parts`]), searched by key.
#[derive(Debug)]
pub(super) struct StoredIndex {
    file: std::sync::Arc<crate::ingest::Sealed>,
    /// The three arrays' places in the file.
    ids: std::ops::Range<usize>,
    keys: std::ops::Range<usize>,
    lists: std::ops::Range<usize>,
}

impl StoredIndex {
    fn part(&self, r: &std::ops::Range<usize>) -> &[u8] {
        &self.file[r.clone()]
    }
    /// The record of `key` among `records` of `size` bytes, keys rising.
    fn find(records: &[u8], size: usize, key: u128) -> Option<&[u8]> {
        let (mut lo, mut hi) = (0, records.len() / size);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let rec = &records[mid * size..(mid + 1) * size];
            match u128_at(rec, 0).cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(rec),
            }
        }
        None
    }
    /// The node of the id hashed to `key`.
    pub(super) fn node(&self, key: u128) -> Option<u32> {
        Self::find(self.part(&self.ids), ID_BYTES, key).map(|rec| u32_at(rec, 16))
    }
    /// The session nodes of the access key hashed to `key`, in creation order; `None` when it
    /// has none.
    pub(super) fn sessions(&self, key: u128) -> Option<impl Iterator<Item = u32> + '_> {
        let rec = Self::find(self.part(&self.keys), KEY_BYTES, key)?;
        let (start, count) = (u32_at(rec, 16) as usize, u32_at(rec, 20) as usize);
        let list = &self.part(&self.lists)[start * 4..(start + count) * 4];
        Some(list.chunks_exact(4).map(|c| u32_at(c, 0)))
    }
    /// Every entry of both indexes, keys rising, in the shape of a built graph's maps (the
    /// tests compare the two).
    #[cfg(test)]
    pub(super) fn entries(&self) -> IndexEntries {
        let ids = self.part(&self.ids).chunks_exact(ID_BYTES);
        let keys = self.part(&self.keys).chunks_exact(KEY_BYTES);
        (
            ids.map(|r| (u128_at(r, 0), u32_at(r, 16))).collect(),
            keys.map(|r| {
                (u128_at(r, 0), self.sessions(u128_at(r, 0)).into_iter().flatten().collect())
            })
            .collect(),
        )
    }
    /// Writes the index as [`encode_into`] does (it is already in that form).
    fn put(&self, out: &mut impl Sink) {
        for (r, size) in [(&self.ids, ID_BYTES), (&self.keys, KEY_BYTES), (&self.lists, 4)] {
            let part = self.part(r);
            out.w().u32((part.len() / size) as u32);
            out.put_all(part.chunks(1 << 20), |w, c| w.buf.extend_from_slice(c));
        }
    }
}

/// Decodes `bytes`, records of `size` bytes, in parallel; `None` when one does not decode.
/// Collected by index, each straight into its place: collected as an `Option<Vec<_>>`, rayon
/// would gather pieces of unknown length, growing each, and copy them into the result again
/// (a tenth of a warm run, most of it page faults). The last step reuses the allocation.
fn par_records<T: Send>(
    bytes: &[u8],
    size: usize,
    f: impl Fn(&[u8]) -> Option<T> + Sync + Send,
) -> Option<Vec<T>> {
    use rayon::prelude::*;
    let v: Vec<Option<T>> = bytes.par_chunks(size).with_min_len(1024).map(f).collect();
    v.into_iter().collect()
}

/// The graph [`encode_into`] wrote at byte `start` of a cache file, for a table of `events`
/// events; `None` when the bytes are not one (another format, damage). Nodes and edges decode
/// in parallel, beside the indexes, which are checked and then looked up in place in the file
/// ([`StoredIndex`]): the graph keeps it.
///
/// `done` is told of each part of the file once it is decoded and will not be read again, so
/// that its memory can be given back while the rest decodes ([`crate::ingest::Cache`] maps
/// the file).
pub(super) fn decode_kept(
    file: &std::sync::Arc<crate::ingest::Sealed>,
    start: usize,
    events: usize,
    done: &(dyn Fn(&[u8]) + Sync),
) -> Option<SessionGraph> {
    let bytes = file.get(start..)?;
    let p = parts(bytes)?;
    let ((nodes, edges), (rest, index)) = rayon::join(
        || {
            let Some(s) = Strings::read(p.blob, p.ends) else { return (None, None) };
            let nodes = par_records(p.node_records, NODE_BYTES, |rec| get_node(rec, &s, &p.lists));
            done(p.node_records);
            let edges = par_records(p.edge_records, EDGE_BYTES, |rec| get_edge(rec, &s, &p.lists));
            done(p.edge_records);
            drop(s);
            done(p.blob);
            done(p.ends);
            (nodes, edges)
        },
        || {
            rayon::join(
                || {
                    let rest = get_rest(p.rest, p.nodes, p.edges, events);
                    done(p.rest);
                    rest
                },
                || {
                    let [ids, keys, lists] = index_parts(p.index, p.nodes)?;
                    let at = p.index.as_ptr() as usize - file.as_ptr() as usize;
                    let place = |r: std::ops::Range<usize>| at + r.start..at + r.end;
                    let (ids, keys, lists) = (place(ids), place(keys), place(lists));
                    Some(StoredIndex { file: file.clone(), ids, keys, lists })
                },
            )
        },
    );
    let (nodes, edges, rest, index) = (nodes?, edges?, rest?, index?);
    let Rest {
        attempts,
        notes,
        user_grants,
        role_grants,
        unnamed_keys,
        change_grants,
        user_renames,
        user_deletions,
        role_deletions,
        unsure_consoles,
        hops_by_id,
        key_owner_claims,
        wide,
        event_node,
        edge_nodes,
        parents,
    } = rest;
    Some(SessionGraph {
        nodes,
        edges,
        attempts,
        notes,
        user_grants,
        role_grants,
        unnamed_keys,
        change_grants,
        user_renames,
        user_deletions,
        role_deletions,
        unsure_consoles,
        hops_by_id,
        key_owner_claims,
        renames_by_name: Default::default(),
        many_parents: Default::default(),
        event_node,
        edge_nodes,
        parents,
        by_id: Default::default(),
        sessions_by_key: Default::default(),
        by_issue: Default::default(),
        user_callers: Vec::new(),
        wide,
        wide_pending: Vec::new(),
        stored: Some(index),
        twinned: Vec::new(),
        disputed: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The references found again from where an item's strings start are those it was given
    /// as they were written: shared strings met again, first met in the middle of an item,
    /// twice in one item, equal to another item's own string, and absent fields.
    #[test]
    fn references_found_again_are_those_written() {
        let items: Vec<Vec<Field<'_>>> = vec![
            vec![Field::Own(Some("k1")), Field::Shared(Some("acct")), Field::Shared(None)],
            vec![Field::Own(Some("acct")), Field::Shared(Some("arn")), Field::Shared(Some("acct"))],
            vec![Field::Shared(Some("arn")), Field::Own(None), Field::Shared(Some("new"))],
            vec![Field::Shared(Some("x")), Field::Shared(Some("x")), Field::Own(Some("x"))],
            vec![Field::Own(Some("k1")), Field::Shared(Some("k1")), Field::Shared(Some("new"))],
        ];
        let mut pool = Pool::default();
        let mut blob = Writer::default();
        let mut starts = Vec::new();
        for fields in &items {
            starts.push(pool.ends.len() as u32);
            pool.put(fields, &mut blob);
        }
        let mut ends = Writer::default();
        for e in &pool.ends {
            ends.u32(*e);
        }
        let strings = Strings::read(&blob.buf, &ends.buf).expect("strings read back");
        assert_eq!(strings.0.len(), 9, "own strings each time, shared ones once");
        for (fields, start) in items.iter().zip(starts) {
            let fields: [Field<'_>; 3] = fields.clone().try_into().ok().expect("three fields");
            let refs = refs(&fields, start, &pool.index);
            for (f, r) in fields.iter().zip(refs) {
                let (Field::Own(want) | Field::Shared(want)) = *f;
                assert_eq!(strings.opt(r), Some(want), "{refs:?} from {start}");
            }
        }
    }
}

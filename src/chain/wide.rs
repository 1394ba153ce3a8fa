//! Calls with too many possible makers to draw an edge from each.
//!
//! An inferred link (the role owner's copy of a cross-account call that names its caller by
//! `aws:userid` alone, a role assumption logged without its response, a console switch-role)
//! is drawn from every credential that may have made the call: the session it issued is
//! tainted when any of them is. With more than [`EDGES_UP_TO`] candidates alive at the call,
//! drawing every edge could cost calls × candidates (a forged trail), and the graph used to
//! link the call to none of them. The attacker can do that on purpose: 65 `AssumeRole` calls
//! with one session name, then a call into another account from a region the trail does not
//! record; the session it made was never tainted, and `plan` and `verify` said OK with it live.
//!
//! Such a call is now a [`WideLink`]: its session, its time, and a [`WideGroup`] of the
//! credentials that may have made it, each with the window of call times it may have made.
//! The taint ([`crate::taint`]) decides it: once any credential of the group is tainted, every
//! call of the group inside that credential's window taints the session it made (each call
//! is taken once, so the cost is linear in candidates and calls). The graph keeps the edge it
//! drew (from the account node, or none for a switch) and a note per group; `blast` names
//! the tainted credential that took each such session. `sessions --key` does not draw these
//! sessions under the key (no edge), as for the users the attacker made (SPEC §9).

use super::{NodeKind, SessionGraph};
use std::collections::{BTreeMap, BTreeSet};

/// Most candidates of one call given an edge each.
pub(super) const EDGES_UP_TO: usize = 64;

/// A call (by the credential it issued) that any credential of a group may have made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideLink {
    /// Index into [`Wide::groups`].
    pub group: u32,
    pub time: i64,
    /// The node the call issued.
    pub child: usize,
    pub event_id: String,
}

/// The credentials that may have made a group's calls, each with the first and last call
/// time (inclusive) it may have made one at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideGroup {
    /// What they share, as the notes show it: `aws:userid X` or `console name X`.
    pub key: String,
    pub makers: Vec<(usize, i64, i64)>,
}

/// The wide links of a graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wide {
    pub links: Vec<WideLink>,
    pub groups: Vec<WideGroup>,
}

/// What the candidates of a pending wide link share.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum WideKey {
    /// The credentials (keys and sessions) with this `aws:userid`.
    Userid(String),
    /// The console sessions a switch-role session of this name (lower case) may come from
    /// ([`super::switch`]).
    Console(String),
}

/// A wide link while the graph is built: its group is known only by what it shares.
#[derive(Debug)]
pub(super) struct Pending {
    pub key: WideKey,
    pub time: i64,
    pub child: usize,
    pub event_id: String,
}

/// The first and last time (inclusive) a credential may have made a call as its `aws:userid`:
/// a key from when it was made (or always), a session while it was valid; `None` for a node
/// that is no credential or a session with no known issue time.
pub(super) fn caller_window(node: &super::Node) -> Option<(i64, i64)> {
    match node.kind {
        NodeKind::LongTermKey => Some((node.issued_at.unwrap_or(i64::MIN), i64::MAX)),
        NodeKind::Session => {
            node.issued_at.map(|i| (i, node.expires_at.map_or(i64::MAX, |x| x - 1)))
        }
        _ => None,
    }
}

impl SessionGraph {
    /// Records a call with too many possible makers of `aws:userid` `pid` to link each.
    pub(super) fn defer_wide(&mut self, pid: &str, time: i64, child: usize, event_id: &str) {
        let key = WideKey::Userid(pid.to_string());
        let event_id = event_id.to_string();
        self.wide_pending.push(Pending { key, time, child, event_id });
    }

    /// Turns the pending wide links into groups of candidates; returns a note per group.
    pub(super) fn finish_wide(&mut self) -> Vec<String> {
        let pending = std::mem::take(&mut self.wide_pending);
        if pending.is_empty() {
            return Vec::new();
        }
        // Groups numbered in the order their keys first appear in the calls (deterministic).
        let (mut userids, mut names): (BTreeMap<&str, u32>, BTreeMap<&str, u32>) =
            Default::default();
        let mut calls: Vec<Vec<&Pending>> = Vec::new();
        let mut keys: Vec<&WideKey> = Vec::new();
        let mut group_of = Vec::with_capacity(pending.len());
        for p in &pending {
            let (map, k) = match &p.key {
                WideKey::Userid(u) => (&mut userids, u.as_str()),
                WideKey::Console(n) => (&mut names, n.as_str()),
            };
            let g = *map.entry(k).or_insert(calls.len() as u32);
            if g as usize == calls.len() {
                calls.push(Vec::new());
                keys.push(&p.key);
            }
            calls[g as usize].push(p);
            group_of.push(g);
        }
        let mut makers: Vec<Vec<(usize, i64, i64)>> = vec![Vec::new(); calls.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            if let Some(&g) = node.userid.as_deref().and_then(|u| userids.get(u)) {
                if let Some((lo, hi)) = caller_window(node) {
                    makers[g as usize].push((n, lo, hi));
                }
            }
            if names.is_empty() {
                continue;
            }
            if let Some((name, lo, hi)) = super::switch::switch_window(node) {
                if let Some(&g) = names.get(name.as_str()) {
                    makers[g as usize].push((n, lo, hi));
                }
            }
        }
        let mut notes = Vec::new();
        let mut groups = Vec::with_capacity(calls.len());
        for ((key, calls), makers) in keys.iter().zip(&calls).zip(makers) {
            let key = match key {
                WideKey::Userid(u) => format!("aws:userid {}", crate::escape::one_line(u)),
                WideKey::Console(n) => format!("console name {}", crate::escape::one_line(n)),
            };
            let shown: Vec<String> = calls
                .iter()
                .take(3)
                .map(|p| format!("{} by event {}", self.nodes[p.child].id, p.event_id))
                .collect();
            notes.push(format!(
                "{} call(s) that issued a session ({}{}) may each have been made by more than {EDGES_UP_TO} credentials of the trail ({} in all, sharing {key}): too many to link each, so the taint decides: such a session is tainted when any credential of the group that could have made its call is (blast names which)",
                calls.len(),
                shown.join(", "),
                if calls.len() > shown.len() { ", …" } else { "" },
                makers.len(),
            ));
            groups.push(WideGroup { key, makers });
        }
        drop((calls, keys, userids, names));
        self.wide.links = pending
            .into_iter()
            .zip(group_of)
            .map(|(p, group)| WideLink {
                group,
                time: p.time,
                child: p.child,
                event_id: p.event_id,
            })
            .collect();
        self.wide.groups = groups;
        notes
    }
}

/// The wide links of a graph, indexed for the taint.
pub struct WideIndex<'g> {
    wide: &'g Wide,
    /// For each credential: the groups it is a candidate of, with its window.
    by_maker: BTreeMap<usize, Vec<(u32, i64, i64)>>,
    /// For each group: its calls not taken yet, as (time, link).
    open: Vec<BTreeSet<(i64, u32)>>,
}

impl<'g> WideIndex<'g> {
    pub fn new(wide: &'g Wide) -> WideIndex<'g> {
        let mut by_maker: BTreeMap<usize, Vec<(u32, i64, i64)>> = BTreeMap::new();
        for (g, group) in wide.groups.iter().enumerate() {
            for &(n, lo, hi) in &group.makers {
                by_maker.entry(n).or_default().push((g as u32, lo, hi));
            }
        }
        let mut open = vec![BTreeSet::new(); wide.groups.len()];
        for (l, link) in wide.links.iter().enumerate() {
            if let Some(set) = open.get_mut(link.group as usize) {
                set.insert((link.time, l as u32));
            }
        }
        WideIndex { wide, by_maker, open }
    }

    /// The calls that the newly tainted credentials `tainted` may have made, each taken once:
    /// `(link, the credential)`.
    pub fn take(&mut self, tainted: &[usize]) -> Vec<(&'g WideLink, usize)> {
        let mut out = Vec::new();
        if self.wide.links.is_empty() {
            return out;
        }
        for &n in tainted {
            for &(g, lo, hi) in self.by_maker.get(&n).into_iter().flatten() {
                let set = &mut self.open[g as usize];
                let hits: Vec<(i64, u32)> = set.range((lo, 0)..=(hi, u32::MAX)).copied().collect();
                for hit in hits {
                    set.remove(&hit);
                    out.push((&self.wide.links[hit.1 as usize], n));
                }
            }
        }
        out
    }
}

/// Writes `wide` for the stored graph ([`super::stored`]).
pub(super) fn put(w: &mut crate::ingest::ByteWriter, wide: &Wide) {
    w.u32(wide.groups.len() as u32);
    for g in &wide.groups {
        w.str(&g.key);
        w.u32(g.makers.len() as u32);
        for &(n, lo, hi) in &g.makers {
            w.u32(n as u32);
            w.i64(lo);
            w.i64(hi);
        }
    }
    w.u32(wide.links.len() as u32);
    for l in &wide.links {
        w.u32(l.group);
        w.i64(l.time);
        w.u32(l.child as u32);
        w.str(&l.event_id);
    }
}

/// Reads what [`put`] wrote, for a graph of `nodes` nodes: `None` when damaged.
pub(super) fn get(r: &mut crate::ingest::ByteReader<'_>, nodes: usize) -> Option<Wide> {
    let node = |n: u32| ((n as usize) < nodes).then_some(n as usize);
    let n = r.count(8)?;
    let mut groups = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.str()?.to_string();
        let m = r.count(20)?;
        let mut makers = Vec::with_capacity(m);
        for _ in 0..m {
            makers.push((node(r.u32()?)?, r.i64()?, r.i64()?));
        }
        groups.push(WideGroup { key, makers });
    }
    let n = r.count(20)?;
    let mut links = Vec::with_capacity(n);
    for _ in 0..n {
        let group = r.u32()?;
        let (time, child, event_id) = (r.i64()?, node(r.u32()?)?, r.str()?.to_string());
        if group as usize >= groups.len() {
            return None;
        }
        links.push(WideLink { group, time, child, event_id });
    }
    Some(Wide { links, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Wide {
        let makers = vec![(0, 100, 199), (1, 150, i64::MAX), (2, i64::MIN, i64::MAX)];
        let other = vec![(3, 0, i64::MAX)];
        let groups = vec![
            WideGroup { key: "aws:userid AROAEXAMPLE:x".into(), makers },
            WideGroup { key: "console name bob".into(), makers: other },
        ];
        let link =
            |group, time, child| WideLink { group, time, child, event_id: format!("e{child}") };
        let links = vec![link(0, 120, 10), link(0, 210, 11), link(0, 90, 12), link(1, 5, 13)];
        Wide { links, groups }
    }

    /// A credential takes the calls of its groups inside its window, each call once.
    #[test]
    fn a_tainted_maker_takes_the_calls_in_its_window_once() {
        let wide = sample();
        let mut index = WideIndex::new(&wide);
        let took = |v: Vec<(&WideLink, usize)>| -> Vec<(usize, usize)> {
            v.into_iter().map(|(l, n)| (l.child, n)).collect()
        };
        assert_eq!(took(index.take(&[0])), vec![(10, 0)], "120 only: 210 and 90 are outside");
        assert_eq!(took(index.take(&[1, 0])), vec![(11, 1)], "120 was taken already");
        assert_eq!(took(index.take(&[2])), vec![(12, 2)]);
        assert_eq!(took(index.take(&[5, 3])), vec![(13, 3)]);
        assert!(index.take(&[0, 1, 2, 3]).is_empty());
    }

    /// What is stored reads back equal; damage (cut short, a node or group out of range) is
    /// `None`, never a panic.
    #[test]
    fn stored_wide_links_read_back_and_damage_is_none() {
        let wide = sample();
        let mut w = crate::ingest::ByteWriter::with_capacity(0);
        put(&mut w, &wide);
        let bytes = w.buf.clone();
        let read = |b: &[u8], nodes| get(&mut crate::ingest::ByteReader::new(b), nodes);
        assert_eq!(read(&bytes, 14), Some(wide.clone()));
        assert_eq!(read(&bytes, 13), None, "child 13 is out of range");
        for cut in 0..bytes.len() {
            assert_eq!(read(&bytes[..cut], 14), None, "cut at {cut}");
        }
        let mut bad = wide;
        bad.links[0].group = 2;
        let mut w = crate::ingest::ByteWriter::with_capacity(0);
        put(&mut w, &bad);
        assert_eq!(read(&w.buf, 14), None);
    }
}

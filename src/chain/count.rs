//! The graph's per-credential figures from its calls (pass 3's end): how many calls each
//! credential made, how many were denied, its first and last call, and its source IPs.

use super::*;

/// What the calls say of each credential ([`SessionGraph::tally_calls`]), worked out from the
/// table and the calls' nodes alone: no node is read, so it is worked out while the graph's
/// last links and notes are made ([`SessionGraph::apply_tally`] then writes it in).
pub(super) struct Tally {
    events: Vec<u64>,
    denied: Vec<u64>,
    first: Vec<i64>,
    last: Vec<i64>,
    /// Each credential's distinct source IPs, sorted.
    ips: Vec<Vec<Text>>,
}

impl SessionGraph {
    /// Per credential (the first `n` nodes): number of calls, first and last call, distinct
    /// source IPs. Done over compact arrays rather than node by node: with millions of calls
    /// over hundreds of thousands of credentials, touching a whole node per call is bound by
    /// memory latency.
    pub(super) fn tally_calls(event_node: &[u32], ing: &Ingest, n: usize) -> Tally {
        let mut events = vec![0u64; n];
        let mut denied = vec![0u64; n];
        let mut first = vec![i64::MAX; n];
        let mut last = vec![i64::MIN; n];
        // Calls with a source IP, per node: the IPs are then put in one array grouped by node
        // (a counting sort), each node's few sorted on their own, rather than every
        // `(node, ip)` pair of the trail sorted together.
        let mut with_ip = vec![0u32; n + 1];
        for (st, &node) in ing.stubs.iter().zip(event_node) {
            if node == NO_NODE {
                continue;
            }
            let k = node as usize;
            events[k] += 1;
            denied[k] += u64::from(st.flags & crate::ingest::FAILED != 0);
            first[k] = first[k].min(st.time);
            last[k] = last[k].max(st.time);
            with_ip[k + 1] += u32::from(st.ip != crate::ingest::NONE);
        }
        for k in 0..n {
            with_ip[k + 1] += with_ip[k];
        }
        let mut next = with_ip.clone();
        let mut ips = vec![crate::ingest::NONE; with_ip[n] as usize];
        for (st, &node) in ing.stubs.iter().zip(event_node) {
            if node != NO_NODE && st.ip != crate::ingest::NONE {
                let at = &mut next[node as usize];
                ips[*at as usize] = st.ip;
                *at += 1;
            }
        }
        drop(next);
        // Each node's IPs, its slice of `ips`, sorted and deduplicated on its own.
        let mut lists: Vec<Vec<Text>> = Vec::with_capacity(n);
        let mut rest = &mut ips[..];
        for k in 0..n {
            let (group, tail) = rest.split_at_mut((with_ip[k + 1] - with_ip[k]) as usize);
            rest = tail;
            if group.is_empty() {
                lists.push(Vec::new());
                continue;
            }
            group.sort_unstable();
            let group = &*group;
            let distinct = || (0..group.len()).filter(|&i| i == 0 || group[i - 1] != group[i]);
            // Allocated once at its size: no growth, and no shrinking.
            let mut list: Vec<Text> = Vec::with_capacity(distinct().count());
            list.extend(distinct().filter_map(|i| ing.str(group[i])).map(Text::from));
            list.sort_unstable();
            list.dedup();
            list.shrink_to_fit();
            lists.push(list);
        }
        Tally { events, denied, first, last, ips: lists }
    }

    /// Writes a [`Tally`] into the nodes it was worked out for.
    pub(super) fn apply_tally(&mut self, t: Tally) {
        let Tally { events, denied, first, last, ips } = t;
        for (k, (node, ips)) in self.nodes.iter_mut().zip(ips).enumerate() {
            if events[k] > 0 {
                node.events += events[k];
                node.denied += denied[k];
                node.first_seen = Some(node.first_seen.map_or(first[k], |t| t.min(first[k])));
                node.last_seen = Some(node.last_seen.map_or(last[k], |t| t.max(last[k])));
            }
            if ips.is_empty() {
                continue;
            }
            if node.source_ips.is_empty() {
                node.source_ips = ips;
            } else {
                let mut list: Vec<Text> = Vec::with_capacity(node.source_ips.len() + ips.len());
                list.append(&mut node.source_ips);
                list.extend(ips);
                list.sort_unstable();
                list.dedup();
                list.shrink_to_fit();
                node.source_ips = list;
            }
        }
    }
}

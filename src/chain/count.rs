//! The graph's per-credential figures from its calls (pass 3's end): how many calls each
//! credential made, how many were denied, its first and last call, and its source IPs.

use super::*;

impl SessionGraph {
    /// Per credential: number of calls, first and last call, distinct source IPs. Done over
    /// compact arrays rather than node by node: with millions of calls over hundreds of
    /// thousands of credentials, touching a whole node per call is bound by memory latency.
    pub(super) fn count_calls(&mut self, ing: &Ingest) {
        let n = self.nodes.len();
        let mut events = vec![0u64; n];
        let mut denied = vec![0u64; n];
        let mut first = vec![i64::MAX; n];
        let mut last = vec![i64::MIN; n];
        // Calls with a source IP, per node: the IPs are then put in one array grouped by node
        // (a counting sort), each node's few sorted on their own, rather than every
        // `(node, ip)` pair of the trail sorted together.
        let mut with_ip = vec![0u32; n + 1];
        for (st, &node) in ing.stubs.iter().zip(&self.event_node) {
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
        for (st, &node) in ing.stubs.iter().zip(&self.event_node) {
            if node != NO_NODE && st.ip != crate::ingest::NONE {
                let at = &mut next[node as usize];
                ips[*at as usize] = st.ip;
                *at += 1;
            }
        }
        drop(next);
        for (k, node) in self.nodes.iter_mut().enumerate() {
            if events[k] > 0 {
                node.events += events[k];
                node.denied += denied[k];
                node.first_seen = Some(node.first_seen.map_or(first[k], |t| t.min(first[k])));
                node.last_seen = Some(node.last_seen.map_or(last[k], |t| t.max(last[k])));
            }
        }
        drop((events, denied, first, last));
        // Each node's IPs, its slice of `ips`, sorted and deduplicated on its own.
        let mut rest = &mut ips[..];
        for (k, node) in self.nodes.iter_mut().enumerate() {
            let (group, tail) = rest.split_at_mut((with_ip[k + 1] - with_ip[k]) as usize);
            rest = tail;
            if group.is_empty() {
                continue;
            }
            group.sort_unstable();
            let group = &*group;
            let distinct = || (0..group.len()).filter(|&i| i == 0 || group[i - 1] != group[i]);
            // Allocated once at its size: no growth, and no shrinking below when the node had
            // no IPs before.
            let mut list: Vec<Text> =
                Vec::with_capacity(node.source_ips.len() + distinct().count());
            list.append(&mut node.source_ips);
            list.extend(distinct().filter_map(|i| ing.str(group[i])).map(Text::from));
            list.sort_unstable();
            list.dedup();
            list.shrink_to_fit();
            node.source_ips = list;
        }
    }
}

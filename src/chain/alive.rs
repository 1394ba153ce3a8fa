//! Which sessions of one `aws:userid` were alive at a time, for the role owner's copies of a
//! cross-account call ([`super::SessionGraph`]'s inferred links, F3).
//!
//! A short list is walked. A long one (a forged trail, or many `AssumeRole` calls with one
//! session name) is sorted by issue time with a max-expiry segment tree over it, so a query
//! costs O(log n) however many of the sessions had expired: walking them all for each of the
//! role owner's copies was O(copies × sessions).

/// Lists up to this long are walked.
const WALKED_UP_TO: usize = 16;

use super::wide::EDGES_UP_TO as CALLERS_UP_TO;

impl super::SessionGraph {
    /// The sessions that may have made a cross-account call seen only in the role owner's
    /// copy (`AWSAccount` identity whose `principalId` is `AROA…:session`, F3): the known
    /// sessions with that `aws:userid` alive at the call. One is the caller; when several are
    /// (a session name used twice, by the attacker or beside it), each is linked, so the
    /// session the call made is tainted when any of them is: the evidence cannot say which
    /// made it, and leaving it to nobody let a tainted caller's session go uncut. None leaves
    /// the call to the account node (and its note); more than [`CALLERS_UP_TO`] is `None`:
    /// the call is left to the account node and the taint decides it ([`super::wide`]).
    pub(super) fn inferred_callers(
        &self,
        e: &crate::ingest::IssuingCall,
        by_userid: &crate::ingest::StrMap<String, UseridSessions>,
    ) -> Option<Vec<usize>> {
        use crate::ingest::IssuingField as F;
        if e.get(F::Kind) != Some("AWSAccount") || e.get(F::AccessKeyId).is_some() {
            return Some(Vec::new());
        }
        let Some(pid) = e.get(F::PrincipalId).filter(|p| p.contains(':')) else {
            return Some(Vec::new());
        };
        let Some(sessions) = by_userid.get(pid) else { return Some(Vec::new()) };
        let found = sessions.alive_at(e.time, CALLERS_UP_TO + 1);
        (found.len() <= CALLERS_UP_TO).then_some(found)
    }
}

/// The sessions of one `aws:userid`: `(node, issued_at, expires_at)` in the order made.
#[derive(Debug, Default)]
pub(super) struct UseridSessions {
    list: Vec<(usize, Option<i64>, Option<i64>)>,
    index: Option<Sorted>,
}

/// The sessions with an issue time, sorted by it, and a segment tree of their latest expiry
/// (none counts as never).
#[derive(Debug)]
struct Sorted {
    issued: Vec<i64>,
    node: Vec<usize>,
    /// `tree[1]` is the root; leaves from `size`; padding leaves hold `i64::MIN`.
    tree: Vec<i64>,
    size: usize,
}

impl UseridSessions {
    pub(super) fn push(&mut self, node: usize, issued_at: Option<i64>, expires_at: Option<i64>) {
        self.list.push((node, issued_at, expires_at));
    }

    /// No session at all.
    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Indexes a long list; call once all sessions are pushed.
    pub(super) fn seal(&mut self) {
        if self.list.len() <= WALKED_UP_TO {
            return;
        }
        let mut timed: Vec<(i64, usize, i64)> = self
            .list
            .iter()
            .filter_map(|&(n, i, x)| Some((i?, n, x.unwrap_or(i64::MAX))))
            .collect();
        timed.sort_unstable();
        let size = timed.len().next_power_of_two().max(1);
        let mut tree = vec![i64::MIN; 2 * size];
        for (k, &(_, _, x)) in timed.iter().enumerate() {
            tree[size + k] = x;
        }
        for k in (1..size).rev() {
            tree[k] = tree[2 * k].max(tree[2 * k + 1]);
        }
        self.index = Some(Sorted {
            issued: timed.iter().map(|t| t.0).collect(),
            node: timed.iter().map(|t| t.1).collect(),
            tree,
            size,
        });
    }

    /// The one session issued at or before `t` and not expired at `t` (expiring after it);
    /// `None` when there is none or more than one.
    #[cfg(test)]
    pub(super) fn only_alive_at(&self, t: i64) -> Option<usize> {
        match self.alive_at(t, 2)[..] {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Up to `most` of the sessions issued at or before `t` and not expired at `t`, in the
    /// order of the list (walked) or of their issue times (indexed).
    pub(super) fn alive_at(&self, t: i64, most: usize) -> Vec<usize> {
        let alive = |&&(_, i, x): &&(usize, Option<i64>, Option<i64>)| {
            i.is_some_and(|i| i <= t) && x.is_none_or(|x| x > t)
        };
        let mut found = Vec::new();
        match &self.index {
            None => found.extend(self.list.iter().filter(alive).take(most).map(|s| s.0)),
            Some(s) => {
                let end = s.issued.partition_point(|&i| i <= t);
                s.alive_in(1, 0, s.size, end, t, most, &mut found);
            }
        }
        found
    }
}

impl Sorted {
    /// Pushes to `found` (up to `most`) the nodes among leaves `[lo, hi)` of tree node `k`
    /// that lie before `end` and expire after `t`.
    #[allow(clippy::too_many_arguments)]
    fn alive_in(
        &self,
        k: usize,
        lo: usize,
        hi: usize,
        end: usize,
        t: i64,
        most: usize,
        found: &mut Vec<usize>,
    ) {
        if found.len() >= most || lo >= end || self.tree[k] <= t {
            return;
        }
        if hi - lo == 1 {
            found.push(self.node[lo]);
            return;
        }
        let mid = (lo + hi) / 2;
        self.alive_in(2 * k, lo, mid, end, t, most, found);
        self.alive_in(2 * k + 1, mid, hi, end, t, most, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index answers as the walk does, on lists long enough to be indexed, with times
    /// drawn so that zero, one and several sessions are alive.
    #[test]
    fn the_index_answers_as_the_walk_does() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let (mut ones, mut nones) = (0, 0);
        for _ in 0..300 {
            let len = 17 + next(60) as usize;
            let mut s = UseridSessions::default();
            for n in 0..len {
                let issued = (next(10) > 0).then(|| next(1000) as i64);
                let expires = match next(10) {
                    0 => None,
                    _ => issued.map(|i| i + 1 + next(40) as i64),
                };
                s.push(n, issued, expires);
            }
            let walked = |t: i64| {
                let mut alive = s
                    .list
                    .iter()
                    .filter(|&&(_, i, x)| i.is_some_and(|i| i <= t) && x.is_none_or(|x| x > t));
                match (alive.next(), alive.next()) {
                    (Some(one), None) => Some(one.0),
                    _ => None,
                }
            };
            let before: Vec<_> = (0..1100).map(walked).collect();
            s.seal();
            assert!(s.index.is_some());
            for (t, want) in before.into_iter().enumerate() {
                let got = s.only_alive_at(t as i64);
                assert_eq!(got, want, "t {t}");
                if got.is_some() {
                    ones += 1;
                } else {
                    nones += 1;
                }
            }
        }
        assert!(ones > 1000 && nones > 1000, "{ones} {nones}");
    }
}

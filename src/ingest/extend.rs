//! Extending an earlier run's table with the files it did not have (new log files arrived),
//! found in the cache by [`Cache::find_base`](super::cache::Cache::find_base): the earlier
//! table is already merged, deduplicated and sorted, so only the new files' events are, and
//! the two sorted lists are merged.
//!
//! The result is the table a full merge of every file gives, or nothing (and the caller does
//! the full merge). It is the same because, when it is given:
//!
//! - the earlier run's files keep their order among the new ones ([`Base::map`] rises), so
//!   every `(file, record)` comparison and "first in file order" rule among its events holds
//!   after their files are renumbered, and an earlier issuing call without an `eventID`,
//!   named by its stand-in `noid:<file>:<record>`, is renamed with its file's new number;
//! - a new event that shares an `eventID` with an earlier one is a duplicate of it (the same
//!   content digest; a second delivery, or an organization trail's copy beside the account's
//!   own): the copy kept is the first in file order, as deduplication keeps it
//!   ([`repeats`]). Another content under the id (an evidence conflict), or an id already in
//!   conflict on either side, is left to the whole merge, and at most one side has evidence
//!   conflicts (their list is capped, and interleaved by id);
//! - there is no `--since`/`--until` (deduplication comes before the window, and the earlier
//!   table holds only what was in it);
//! - the first call of each credential is compared by `(file, record)` across both sides,
//!   so its facts are those a cold run takes.
//!
//! The strings keep the earlier run's numbers; new ones are added after them. String numbers
//! never reach an output (a cold run's depend on which worker read what).

use super::intern::Strings;
use super::issuing::IssuingCall;
use super::kept::Kept;
use super::merge::{account, dedupe, gather, listed_conflicts, Gathered};
use super::sink::{keep_first, split_first, FirstFacts, ThreadAcc};
use super::table::{id128, stand_in, stand_in_name, Keyed, STAND_IN};
use super::{Growable, Ingest, IngestOptions, InputFile, Stub};
use super::{DETAIL, HAS_ID, NONE};
use rayon::prelude::*;

/// A map keyed by event ids, hashed with foldhash seeded at random for the process. An
/// `eventID` that is a UUID is its own 128 bits ([`id128`]), so a forged log chooses them, and
/// under the unkeyed FxHash any number of ids share one hash (`((lo * K) + hi) * K`: one `hi`
/// for every `lo`): a new file of 100,000 such ids took extending a run of 50,000 events
/// 14.4 s, against 0.7 s. Keyed SipHash (std's) cost a run extending the 1 GB trail's 5% (its
/// 800,000 earlier ids are each looked up); foldhash is as cheap as FxHash on 128-bit keys.
type IdMap<V> = hashbrown::HashMap<u128, V, foldhash::fast::RandomState>;

/// An earlier run's table, as loaded from the cache, with its file numbers still its own.
pub(super) struct Base {
    pub(super) ing: Ingest,
    pub(super) details: Vec<IssuingCall>,
    pub(super) creds: FirstFacts,
    /// Each stub's id, in stub order ([`Growable::ids`]).
    pub(super) ids: Vec<u128>,
    /// Each stub's content digest, in stub order ([`Growable::digests`]).
    pub(super) digests: Vec<u64>,
    /// The number in this run of each of its files (rising).
    pub(super) map: Vec<u32>,
    /// Its run key's hash, under which its derived parts are kept.
    pub(super) hash: u128,
}

/// The table of a run over `files`: `base` and the new files' accumulators merged; `None` when
/// only a full merge gives it (see the module's documentation).
pub(super) fn extend(
    opts: &IngestOptions,
    files: Vec<InputFile>,
    base: Base,
    accs: Vec<ThreadAcc>,
    t0: std::time::Instant,
) -> Option<Ingest> {
    if opts.since.is_some() || opts.until.is_some() {
        return None;
    }
    let t1 = t0.elapsed();
    let Base {
        ing: old,
        details: old_details,
        creds: old_creds,
        ids: mut old_ids,
        digests,
        map,
        ..
    } = base;
    if digests.len() != old_ids.len() {
        return None;
    }
    let Gathered { strings: theirs, stubs, details, creds, outcomes, seed_events, cached } =
        gather(accs, files.len());

    // The new files' stubs on the earlier run's strings, deduplicated among themselves.
    let mut strings = Strings::from_list(old.strings);
    let remap: Vec<u32> = theirs.list.iter().map(|s| strings.intern(s)).collect();
    let m = |i: u32| if i == NONE { NONE } else { remap[i as usize] };
    let mut new: Vec<Keyed> = stubs.into_iter().map(|k| Keyed { s: k.s.remap(m), ..k }).collect();
    new.par_sort_unstable_by(|a, b| {
        (a.id, a.s.file, a.s.record).cmp(&(b.id, b.s.file, b.s.record))
    });
    let before = new.len();
    let pairs = dedupe(&mut new);
    let mut duplicates = (before - new.len()) as u64;
    if !pairs.is_empty() && old.stats.conflicts > 0 {
        return None;
    }
    // No real id that looks like a stand-in (which would not sort alike once its file is
    // renumbered). An id on both sides is an event a new file repeats (below).
    // (A map: each of the earlier run's ids is looked up, 800,000 at 1 GB of trail.)
    let new_ids: IdMap<u32> = new
        .iter()
        .enumerate()
        .filter(|(_, k)| k.s.flags & HAS_ID != 0)
        .map(|(j, k)| (k.id, j as u32))
        .collect();
    if new_ids.keys().any(|&id| id & STAND_IN == STAND_IN) {
        return None;
    }
    let mut old_stubs = old.stubs.into_vec();
    // `(earlier stub, new stub)` of each event on both sides; `None` for a stand-in look-alike.
    let both: Vec<Option<(usize, u32)>> = old_stubs
        .par_iter_mut()
        .zip(old_ids.par_iter_mut())
        .enumerate()
        .filter_map(|(i, (s, id))| {
            s.file = map[s.file as usize];
            if s.flags & HAS_ID == 0 {
                *id = stand_in(s.file, s.record);
                None
            } else if *id & STAND_IN == STAND_IN {
                Some(None)
            } else {
                new_ids.get(id).map(|&j| Some((i, j)))
            }
        })
        .collect();
    drop(new_ids);
    let mut moved = Vec::new();
    if !both.is_empty() {
        let both: Vec<(usize, u32)> = both.into_iter().collect::<Option<_>>()?;
        let (replaced, dropped) = repeats(&mut old_stubs, &digests, &both, &new)?;
        moved = replaced;
        duplicates += dropped.len() as u64;
        let mut at = dropped.into_iter().peekable();
        let mut j = 0u32;
        new.retain(|_| {
            let gone = at.next_if_eq(&j).is_some();
            j += 1;
            !gone
        });
    }

    // Both sorted by (time, id, file, record), then merged from the back into the earlier
    // table's vectors.
    new.par_sort_unstable_by(|a, b| {
        (a.s.time, a.id, a.s.file, a.s.record).cmp(&(b.s.time, b.id, b.s.file, b.s.record))
    });
    let (stubs, ids, digests) = merge_sorted((old_stubs, old_ids, digests), &new);
    let t2 = t0.elapsed();

    // Counters, problems and per-file facts.
    let mut stats = old.stats;
    let mut file_sha256 = vec![None; files.len()];
    let mut cached_all = cached;
    for (j, &i) in map.iter().enumerate() {
        file_sha256[i as usize] = old.file_sha256.get(j).cloned().flatten();
        cached_all[i as usize] = old.cached.get(j).cloned().flatten();
    }
    let mut problems = Vec::new();
    account(outcomes, &files, &mut stats, &mut problems, &mut file_sha256);
    let problems = interleave(old.problems, problems, &files)?;
    stats.duplicates += duplicates;
    stats.conflicts += pairs.len() as u64;
    stats.events = stubs.len() as u64;
    stats.missing_event_id = stubs.iter().filter(|s| s.flags & HAS_ID == 0).count() as u64;

    // The issuing calls kept (those of new events that survived deduplication), sorted as a
    // full merge sorts them; each credential's facts from its first call on either side.
    // (With those whose new copy took an earlier one's place: the call kept is the new copy.)
    let kept: rustc_hash::FxHashSet<(u32, u32)> = new
        .iter()
        .filter(|k| k.s.flags & DETAIL != 0)
        .map(|k| (k.s.file, k.s.record))
        .chain(moved.iter().map(|&(_, to)| to))
        .collect();
    // An earlier issuing call without an `eventID` is named by its stand-in, which names its
    // file's number: renamed as a cold run over these files names it.
    let unnamed: rustc_hash::FxHashSet<(u32, u32)> = stubs
        .iter()
        .filter(|s| s.flags & (HAS_ID | DETAIL) == DETAIL)
        .map(|s| (s.file, s.record))
        .collect();
    // An earlier call whose kept copy is now a new file's goes (the new copy is kept).
    let moved_from: rustc_hash::FxHashSet<(u32, u32)> = moved.iter().map(|&(f, _)| f).collect();
    let mut all_details = old_details;
    let mut renamed = false;
    all_details.retain_mut(|d| {
        d.origin.file = map[d.origin.file as usize];
        let at = (d.origin.file, d.origin.record);
        if moved_from.contains(&at) {
            return false;
        }
        if unnamed.contains(&at) {
            let name = stand_in_name(at.0, at.1);
            if name != d.id() {
                d.set_id(&name);
                renamed = true;
            }
        }
        true
    });
    let order = |e: &IssuingCall| (e.time, id128(e.id()), e.origin.file, e.origin.record);
    let mut new_details: Vec<IssuingCall> =
        details.into_iter().filter(|e| kept.contains(&(e.origin.file, e.origin.record))).collect();
    new_details.sort_by_cached_key(order);
    // The earlier calls are in that order already (their files' numbers rise with the old
    // ones): the new ones are merged in. Sorting all of them again moved each call (a
    // kilobyte) around in memory, a tenth of the extension's time.
    if renamed || !all_details.is_sorted_by_key(order) {
        all_details.append(&mut new_details);
        all_details.sort_by_cached_key(order);
    } else {
        merge_from_back(&mut all_details, new_details, order);
    }
    let mut first = old_creds;
    for (_, (o, _)) in first.iter_mut() {
        o.2 = map[o.2 as usize];
    }
    for ((k, c), (o, facts)) in creds {
        keep_first(&mut first, (m(k), c), o, facts.remap(m));
    }
    let (creds, first_calls) = split_first(first, true);

    let conflicts = if pairs.is_empty() { old.conflicts } else { listed_conflicts(&pairs, &files) };
    if std::env::var_os("TRAILHOUND_TIMING").is_some() {
        crate::diag::timing(format_args!(
            "extended an earlier run of {} files with {} files: read+parse {:?}, merge {:?}, the rest {:?}; {} stubs ({} new); {}",
            map.len(),
            files.len() - map.len(),
            t1,
            t2 - t1,
            t0.elapsed() - t2,
            stubs.len(),
            new.len(),
            crate::diag::memory_note()
        ));
    }
    // The seed key's events of the new files (those of the earlier ones are read back from
    // the cache's entries, as in a warm run).
    let kept = Kept::of_surviving(seed_events, &stubs);
    let Strings { mut list, index: _ } = strings;
    list.shrink_to_fit();
    // The new files' accumulators and the merge's temporaries: handed back.
    crate::diag::release_free_memory();
    let mut ing = Ingest {
        files: files.iter().map(InputFile::display).collect(),
        inputs: files,
        max_file_bytes: opts.max_file_bytes,
        strings: list,
        file_sha256,
        cached: cached_all,
        stubs: stubs.into(),
        details: all_details,
        creds,
        stats,
        problems,
        conflicts,
        growable: Some(Box::new(Growable { ids, digests, first_calls })),
        kept,
        ..Ingest::default()
    };
    ing.set_reference_time(crate::time::now());
    ing.name_conflicts();
    Some(ing)
}

/// Where an issuing call kept from an earlier run moved: `(earlier copy, new copy)` as
/// `(file, record)`.
type Moved = Vec<((u32, u32), (u32, u32))>;

/// A table's stubs with each one's id and content digest.
type Columns = (Vec<Stub>, Vec<u128>, Vec<u64>);

/// Events that new files repeat (`both`: an earlier stub and the new one with its id), as a
/// full merge deduplicates them ([`dedupe`]): the copy kept is the first in file order. A copy
/// with the same content is a duplicate (a second delivery, or an organization trail's copy
/// beside the account's own trail): the earlier stub stays, or takes the new copy's place when
/// the new copy's file comes first, and the new stub goes. Returns the issuing calls whose
/// kept copy moved, and the new stubs to drop (by their place in `new`, rising).
///
/// `None` (the whole merge decides) when the content differs (an evidence conflict), when a
/// digest is not known, or when the id is already in conflict on either side (two stubs of
/// it kept): which copies a conflict lists depends on all of them. `new` is still sorted by
/// id here, so a new conflict's copies are neighbours.
fn repeats(
    old_stubs: &mut [Stub],
    digests: &[u64],
    both: &[(usize, u32)],
    new: &[Keyed],
) -> Option<(Moved, Vec<u32>)> {
    let mut moved = Vec::new();
    let mut dropped = Vec::with_capacity(both.len());
    for &(i, j) in both {
        let (o, k) = (old_stubs.get_mut(i)?, new.get(j as usize)?);
        let beside = |at: Option<usize>| at.and_then(|a| new.get(a)).is_some_and(|n| n.id == k.id);
        if beside((j as usize).checked_sub(1)) || beside(Some(j as usize + 1)) {
            return None;
        }
        let d = *digests.get(i)?;
        if d == 0 || d != k.digest || o.time != k.s.time {
            return None;
        }
        if (k.s.file, k.s.record) < (o.file, o.record) {
            if o.flags & DETAIL != 0 {
                moved.push(((o.file, o.record), (k.s.file, k.s.record)));
            }
            *o = k.s;
        }
        dropped.push(j);
    }
    dropped.sort_unstable();
    // One new stub repeated by two earlier ones: an earlier conflict (whose two digests
    // differ, so one of them failed above already; kept as a guard).
    if dropped.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    Some((moved, dropped))
}

/// `old` and `new`, both sorted by `(time, id, file, record)` and with no id in common,
/// merged in that order (from the back, into `old`'s vectors: stubs, ids and digests).
fn merge_sorted(old: Columns, new: &[Keyed]) -> Columns {
    let (mut stubs, mut ids, mut digests) = old;
    let (n_old, n_new) = (stubs.len(), new.len());
    let Some(fill) = new.first().map(|k| k.s) else { return (stubs, ids, digests) };
    // Exactly (a resize alone would double the vectors, a quarter of a GB at 5 GB of trail).
    stubs.reserve_exact(n_new);
    ids.reserve_exact(n_new);
    digests.reserve_exact(n_new);
    stubs.resize(n_old + n_new, fill);
    ids.resize(n_old + n_new, 0);
    digests.resize(n_old + n_new, 0);
    let (mut i, mut j) = (n_old, n_new);
    for out in (0..n_old + n_new).rev() {
        let take_new = j > 0
            && (i == 0 || {
                let (a, b) = (&stubs[i - 1], &new[j - 1]);
                (b.s.time, b.id, b.s.file, b.s.record) > (a.time, ids[i - 1], a.file, a.record)
            });
        if take_new {
            j -= 1;
            stubs[out] = new[j].s;
            ids[out] = new[j].id;
            digests[out] = new[j].digest;
        } else {
            i -= 1;
            stubs[out] = stubs[i];
            ids[out] = ids[i];
            digests[out] = digests[i];
        }
    }
    (stubs, ids, digests)
}

/// `new` merged into `old`, both sorted by `key` (no key on both sides): from the back, each
/// of `old` moved at most once, in its own vector (grown by `new`'s length only).
fn merge_from_back<T: Default, K: Ord>(old: &mut Vec<T>, mut new: Vec<T>, key: impl Fn(&T) -> K) {
    let n_old = old.len();
    old.reserve_exact(new.len());
    old.resize_with(n_old + new.len(), T::default);
    // old[..i] are still to be placed; places above `out` are final.
    let mut i = n_old;
    for out in (0..old.len()).rev() {
        let Some(last) = new.last() else { break };
        if i == 0 || key(last) > key(&old[i - 1]) {
            if let Some(x) = new.pop() {
                old[out] = x;
            }
        } else {
            old.swap(out, i - 1);
            i -= 1;
        }
    }
}

/// The earlier run's problems (by display path) and the new files' (in file order) in the
/// order a full merge lists them: by file. `None` when a problem's file is not one of `files`.
fn interleave(
    old: Vec<super::Problem>,
    new: Vec<super::Problem>,
    files: &[InputFile],
) -> Option<Vec<super::Problem>> {
    if old.is_empty() {
        return Some(new);
    }
    let index: std::collections::HashMap<String, usize> =
        files.iter().enumerate().map(|(i, f)| (f.display(), i)).collect();
    if index.len() != files.len() {
        return None; // two files shown alike: which one a problem is of is not known
    }
    let place = |p: &super::Problem| index.get(&p.path).copied();
    let mut out = Vec::with_capacity(old.len() + new.len());
    let mut new = new.into_iter().peekable();
    for p in old {
        let at = place(&p)?;
        while let Some(q) = new.next_if(|q| place(q).is_some_and(|b| b < at)) {
            out.push(q);
        }
        out.push(p);
    }
    out.extend(new);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Event ids chosen to share one FxHash (any `lo`, and the `hi` that brings it to the
    /// same value) spread over the id map's hash as any ids do.
    #[test]
    fn event_ids_made_to_collide_do_not_collide_in_the_id_map() {
        use std::hash::BuildHasher;
        const K: u64 = 0xf135_7aea_2e62_a9c5; // rustc-hash 2.1's multiplier
        let target = 0x0123_4567_89ab_cdefu64;
        let ids: Vec<u128> = (1..=2000u64)
            .map(|lo| {
                let lo = lo.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                (u128::from(target.wrapping_sub(lo.wrapping_mul(K))) << 64) | u128::from(lo)
            })
            .collect();
        let fx = rustc_hash::FxBuildHasher;
        assert!(ids.iter().all(|&id| fx.hash_one(id) == fx.hash_one(ids[0])), "one FxHash");
        let map: IdMap<u32> = ids.iter().enumerate().map(|(i, &id)| (id, i as u32)).collect();
        let hashes: std::collections::HashSet<u64> =
            ids.iter().map(|&id| map.hasher().hash_one(id)).collect();
        assert!(hashes.len() > 1990, "{} distinct hashes of 2000", hashes.len());
        assert!(ids.iter().enumerate().all(|(i, id)| map.get(id) == Some(&(i as u32))));
    }

    /// Two sorted lists merge into the order one sort of both gives, ties on time broken by
    /// id, the vectors grown exactly.
    #[test]
    fn merging_two_sorted_tables_gives_the_full_sort() {
        let stub = |time: i64, file: u32, record: u32| Stub::bare(time, file, record, HAS_ID);
        let mut all: Vec<Keyed> = (0..500u32)
            .map(|i| Keyed {
                id: u128::from((i * 7919) % 503),
                digest: u64::from(i) * 31 + 1,
                s: stub(i64::from(i % 37), i % 5, i),
            })
            .collect();
        let key = |k: &Keyed| (k.s.time, k.id, k.s.file, k.s.record);
        let (mut old, mut new): (Vec<Keyed>, Vec<Keyed>) =
            all.iter().partition(|k| k.s.record % 3 != 0);
        old.sort_by_key(key);
        new.sort_by_key(key);
        all.sort_by_key(key);
        let ids: Vec<u128> = old.iter().map(|k| k.id).collect();
        let stubs: Vec<Stub> = old.iter().map(|k| k.s).collect();
        let digests: Vec<u64> = old.iter().map(|k| k.digest).collect();
        let (stubs, ids, digests) = merge_sorted((stubs, ids, digests), &new);
        assert_eq!(stubs.len(), all.len());
        assert_eq!(stubs.capacity(), all.len());
        assert!(stubs
            .iter()
            .zip(&ids)
            .zip(&digests)
            .zip(&all)
            .all(|(((s, id), d), k)| *s == k.s && *id == k.id && *d == k.digest));
        // Nothing new: the table as it was.
        let (same, _, _) = merge_sorted((stubs.clone(), ids, digests), &[]);
        assert_eq!(same, stubs);
    }

    /// Merged from the back, in place: the order one sort of both gives, whichever side
    /// runs out first, the vector grown by the new ones only.
    #[test]
    fn merging_sorted_calls_from_the_back_gives_the_full_sort() {
        for (n, every) in [(0u64, 2u64), (1, 2), (300, 2), (300, 7), (300, 1), (300, 1000)] {
            // A spread of keys with many equal times (the id breaks the tie).
            let all: Vec<(u64, String)> =
                (0..n).map(|i| ((i * 7919) % 61, format!("id-{}", (i * 104_729) % 997))).collect();
            let (mut old, mut new): (Vec<_>, Vec<_>) =
                all.iter().cloned().partition(|(t, id)| (t + id.len() as u64) % every != 0);
            let mut want = all.clone();
            want.sort();
            old.sort();
            old.shrink_to_fit();
            new.sort();
            merge_from_back(&mut old, new, |x| x.clone());
            assert_eq!(old, want, "{n} {every}");
            assert_eq!(old.capacity(), want.len());
        }
    }
}

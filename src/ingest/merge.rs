//! The sequential end of ingest: the workers' accumulators merged into one table (strings
//! re-interned), file outcomes turned into counters and problems, events deduplicated on
//! `eventID` and content, windowed and sorted by `(eventTime, eventID)`.

use super::intern::Strings;
use super::issuing::IssuingCall;
use super::kept::Kept;
use super::parse::Shape;
use super::sink::{keep_first, split_first, FileOutcome, FileStatus, FirstFacts, ThreadAcc};
use super::table::{id128, move_from_back, strip_ids, Keyed};
use super::{Conflict, Ingest, IngestOptions, IngestStats, InputFile, Located, Problem};
use super::{Severity, TimeAnomaly, DETAIL, HAS_ID, LISTED, NONE};
use rayon::prelude::*;
use std::collections::HashMap;

impl Ingest {
    /// Sets the run's reference time (unix seconds) and finds the events dated after it
    /// (SPEC §8): the tail of the time-sorted stubs.
    pub(super) fn set_reference_time(&mut self, reference_time: i64) {
        self.reference_time = reference_time;
        // The spans leave out events after it: worked out again on next use.
        self.account_spans = Default::default();
        let future = self.stubs.partition_point(|s| s.time <= reference_time);
        self.stats.time_anomalies = (self.stubs.len() - future) as u64;
        self.time_anomalies = self.stubs[future..]
            .iter()
            .take(LISTED)
            .map(|s| TimeAnomaly {
                path: self.files[s.file as usize].clone(),
                record: s.record,
                event_time: crate::time::Time(s.time),
            })
            .collect();
    }

    /// Fills in the `eventID` of the listed conflicts (the ids were only kept as numbers).
    pub(super) fn name_conflicts(&mut self) {
        if self.conflicts.is_empty() {
            return;
        }
        let want: std::collections::HashSet<(u32, u32)> = self
            .conflicts
            .iter()
            .map(|c| (self.files.iter().position(|f| *f == c.first.path), c.first.record))
            .filter_map(|(f, r)| f.map(|f| (f as u32, r)))
            .collect();
        let idx: Vec<usize> = (0..self.stubs.len())
            .filter(|&i| want.contains(&(self.stubs[i].file, self.stubs[i].record)))
            .collect();
        let Ok(events) = self.load_events(&idx) else { return };
        let ids: HashMap<(String, u32), String> = events
            .into_iter()
            .map(|e| ((self.files[e.origin.file as usize].clone(), e.origin.record), e.id))
            .collect();
        for c in &mut self.conflicts {
            if let Some(id) = ids.get(&(c.first.path.clone(), c.first.record)) {
                c.event_id = id.clone();
            }
        }
    }
}

/// The workers' accumulators put together: strings re-interned into the largest worker's,
/// the other stubs, issuing calls and credential facts moved over, the file outcomes sorted.
pub(super) struct Gathered {
    pub(super) strings: Strings,
    pub(super) stubs: Vec<Keyed>,
    pub(super) details: Vec<IssuingCall>,
    pub(super) creds: FirstFacts,
    /// Sorted by file.
    pub(super) outcomes: Vec<FileOutcome>,
    pub(super) seed_events: Vec<super::kept::KeptLog>,
    /// Same index as the files.
    pub(super) cached: Vec<Option<super::cache::CachedEvents>>,
}

/// Puts the accumulators of the workers that read some of `nfiles` files together.
pub(super) fn gather(accs: Vec<ThreadAcc>, nfiles: usize) -> Gathered {
    // The largest worker's strings and vectors become the result as they are; only the
    // other workers' stubs are remapped to its string indices.
    let mut accs = accs;
    let biggest = (0..accs.len()).max_by_key(|&i| accs[i].stubs.len()).unwrap_or(0);
    let base = if accs.is_empty() { ThreadAcc::default() } else { accs.swap_remove(biggest) };
    let mut strings = base.strings;
    let mut stubs = base.stubs;
    stubs.reserve_exact(accs.iter().map(|a| a.stubs.len()).sum());
    let mut details = base.details;
    let mut creds = base.creds;
    let mut outcomes = base.files;
    let mut seed_events = vec![base.kept];
    let mut cached = vec![None; nfiles];
    for (i, e) in base.cached {
        cached[i as usize] = Some(e);
    }
    for mut acc in accs {
        seed_events.push(std::mem::take(&mut acc.kept));
        let remap: Vec<u32> = acc.strings.list.iter().map(|s| strings.intern(s)).collect();
        let m = |i: u32| if i == NONE { NONE } else { remap[i as usize] };
        // Moved over slice by slice (extending from whole vectors held both copies at once: a
        // spike of a sixth of a GB at 5 GB of trail). The order does not matter: stubs and
        // issuing calls are both sorted next, on unique keys. The stubs on one core, the
        // issuing calls and the credentials' first facts on the other.
        let (acc_stubs, acc_details, acc_creds) = (acc.stubs, acc.details, acc.creds);
        rayon::join(
            || {
                move_from_back(acc_stubs, &mut stubs, |Keyed { id, digest, s }| Keyed {
                    id,
                    digest,
                    s: s.remap(m),
                })
            },
            || {
                move_from_back(acc_details, &mut details, |e| e);
                for ((k, c), (o, facts)) in acc_creds {
                    keep_first(&mut creds, (m(k), c), o, facts.remap(m));
                }
            },
        );
        outcomes.extend(acc.files);
        for (i, e) in acc.cached {
            cached[i as usize] = Some(e);
        }
    }
    outcomes.sort_by_key(|o| o.file);
    Gathered { strings, stubs, details, creds, outcomes, seed_events, cached }
}

/// Counts the file outcomes (sorted by file) into `stats`, and adds each file's problem and
/// rejected records to `problems`, in file order; the SHA-256 of each file read whole goes
/// into `file_sha256`.
pub(super) fn account(
    outcomes: Vec<FileOutcome>,
    files: &[InputFile],
    stats: &mut IngestStats,
    problems: &mut Vec<Problem>,
    file_sha256: &mut [Option<String>],
) {
    for o in outcomes {
        file_sha256[o.file as usize] = o.sha256;
        let f = &files[o.file as usize];
        stats.files_seen += 1;
        stats.bytes_read += o.bytes_read;
        stats.bytes_decompressed += o.bytes_decompressed;
        let path = f.display();
        // Records count whatever the file's fate: a failed file has some only when they
        // were salvaged from it (a damaged file), and those are read like any other.
        stats.records += o.records;
        stats.rejected += super::problem::rejected(&o.rejects);
        stats.truncated_fields += o.truncated;
        match o.status {
            FileStatus::Read(shape) => {
                stats.files_read += 1;
                *stats.shapes.entry(shape_name(shape)).or_default() += 1;
            }
            FileStatus::Skipped(reason, detail) => {
                stats.files_skipped += 1;
                problems.push(Problem {
                    path: path.clone(),
                    reason,
                    detail,
                    record: None,
                    severity: Severity::Skipped,
                    more: 0,
                });
            }
            FileStatus::Failed(reason, detail) => {
                stats.files_failed += 1;
                stats.salvaged_records += o.records;
                problems.push(Problem {
                    path: path.clone(),
                    reason,
                    detail,
                    record: None,
                    severity: Severity::Failed,
                    more: 0,
                });
            }
        }
        for r in o.rejects {
            let detail = match r.more {
                0 => r.detail,
                n => format!(
                    "{} (and {n} more records of this file rejected for the same reason, counted but not listed one by one)",
                    r.detail
                ),
            };
            problems.push(Problem {
                path: path.clone(),
                reason: r.reason.code(),
                detail,
                record: Some(r.record),
                severity: Severity::Rejected,
                more: r.more,
            });
        }
    }
}

/// The sequential end of [`super::ingest`], once every worker has read its files. With
/// `growable`, the result keeps what a later run over more files needs to extend it
/// ([`super::Growable`]).
pub(super) fn merge(
    opts: &IngestOptions,
    files: Vec<InputFile>,
    stdin_data: Option<Vec<u8>>,
    mut problems: Vec<Problem>,
    accs: Vec<ThreadAcc>,
    t0: std::time::Instant,
    growable: bool,
) -> Ingest {
    let cap = opts.max_file_bytes;
    let timing = std::env::var_os("TRAILHOUND_TIMING").is_some();

    let t1 = t0.elapsed();
    let mut stats = IngestStats::default();
    // Directory-walk problems are counted as files too (a loop or unreadable entry is a file
    // the user expected to be read).
    for p in &problems {
        stats.files_seen += 1;
        match p.severity {
            Severity::Skipped => stats.files_skipped += 1,
            _ => stats.files_failed += 1,
        }
    }
    let Gathered { strings, mut stubs, mut details, creds, outcomes, seed_events, cached } =
        gather(accs, files.len());
    let mut file_sha256 = vec![None; files.len()];
    account(outcomes, &files, &mut stats, &mut problems, &mut file_sha256);
    let (creds, first_calls) = split_first(creds, growable);

    let t2 = t0.elapsed();
    // Deduplicate on eventID *and* content (SPEC §8): of the copies of one eventID, the
    // first in file order of each distinct content is kept (deterministic); a later copy with
    // content seen before is a duplicate, one with new content an evidence conflict, kept.
    // File and record break the tie between the copies of a conflict.
    stubs.par_sort_unstable_by(|a, b| {
        (a.s.time, a.id, a.s.file, a.s.record).cmp(&(b.s.time, b.id, b.s.file, b.s.record))
    });
    let before = stubs.len();
    let conflict_pairs = dedupe_in_time_order(&mut stubs);
    stats.duplicates = (before - stubs.len()) as u64;
    stats.conflicts = conflict_pairs.len() as u64;
    let before = stubs.len();
    stubs.retain(|e| {
        opts.since.is_none_or(|s| e.s.time >= s) && opts.until.is_none_or(|u| e.s.time <= u)
    });
    stats.filtered_out = (before - stubs.len()) as u64;
    // Nothing after this point needs the ids (and the largest worker's vector grew by
    // doubling: its slack goes too), but a run that keeps its table keeps them too.
    let (stubs, ids, digests) = strip_ids(stubs, growable);
    stats.events = stubs.len() as u64;
    let (missing, with_detail) = stubs.iter().fold((0u64, 0usize), |(m, d), s| {
        (m + u64::from(s.flags & HAS_ID == 0), d + usize::from(s.flags & DETAIL != 0))
    });
    stats.missing_event_id = missing;
    // Each issuing call is the detail of one event (flagged `DETAIL` when it was kept): when
    // as many flagged events are left as there are calls, deduplication and the time window
    // removed none of them, and no call is looked up.
    if with_detail != details.len() {
        let kept: rustc_hash::FxHashSet<(u32, u32)> =
            stubs.iter().filter(|s| s.flags & DETAIL != 0).map(|s| (s.file, s.record)).collect();
        details.retain(|e| kept.contains(&(e.origin.file, e.origin.record)));
    }
    details.sort_by_cached_key(|e| (e.time, id128(e.id()), e.origin.file, e.origin.record));
    let seed_events = Kept::of_surviving(seed_events, &stubs);
    // The merge, dedupe and id stripping left freed heap behind: hand it back.
    crate::diag::release_free_memory();

    if timing {
        crate::diag::timing(format_args!(
            "parallel read+parse {:?}, merge {:?}, dedupe+sort {:?}; {} stubs, {} details, {} kept, {} credentials, {} strings; {}",
            t1,
            t2 - t1,
            t0.elapsed() - t2,
            stubs.len(),
            details.len(),
            seed_events.len(),
            creds.len(),
            strings.list.len(),
            crate::diag::memory_note()
        ));
    }
    // The string index was needed only to intern while merging: freed here.
    let Strings { mut list, index: _ } = strings;
    list.shrink_to_fit();
    let conflicts = listed_conflicts(&conflict_pairs, &files);
    let mut ing = Ingest {
        files: files.iter().map(InputFile::display).collect(),
        inputs: files,
        stdin: stdin_data,
        run_store: None,
        graph_inputs_in_cache: false,
        cached,
        max_file_bytes: cap,
        strings: list,
        evidence: Default::default(),
        file_sha256,
        stubs: stubs.into(),
        details,
        creds,
        stats,
        problems,
        reference_time: 0,
        conflicts,
        time_anomalies: Vec::new(),
        kept: seed_events,
        account_spans: Default::default(),
        growable: growable.then(|| Box::new(super::Growable { ids, digests, first_calls })),
        pending_save: None,
        saved_events: Default::default(),
        events_carried: Default::default(),
        carry_with_table: false,
        read_again: Default::default(),
    };
    ing.set_reference_time(crate::time::now());
    ing.name_conflicts();
    ing
}

/// An evidence conflict found by [`dedupe`]: `(file, record)` of the first copy, and of the
/// copy with other content.
pub(super) type ConflictPair = ((u32, u32), (u32, u32));

/// The first [`LISTED`] evidence conflicts of `pairs` (from [`dedupe`]), their ids not yet
/// named ([`Ingest::name_conflicts`]).
pub(super) fn listed_conflicts(pairs: &[ConflictPair], files: &[InputFile]) -> Vec<Conflict> {
    pairs
        .iter()
        .take(LISTED)
        .map(|&(first, other)| Conflict {
            event_id: String::new(),
            first: Located { path: files[first.0 as usize].display(), record: first.1 },
            other: Located { path: files[other.0 as usize].display(), record: other.1 },
        })
        .collect()
}

pub(super) fn shape_name(s: Shape) -> &'static str {
    match s {
        Shape::RecordsWrapper => "records_wrapper",
        Shape::Array => "json_array",
        Shape::JsonLines => "json_lines",
        Shape::LookupEvents => "lookup_events",
        Shape::SingleRecord => "single_record",
        Shape::Concatenated => "concatenated",
        Shape::Digest => "digest",
        Shape::Parquet => "parquet",
        Shape::QueryResult => "query_result",
    }
}

/// [`dedupe`] for `stubs` sorted by `(time, id, file, record)`: the same copies removed, the
/// same conflicts returned in the same order, and the order of the rest kept. Only the copies
/// of the ids that repeat (found by sorting the 16-byte ids alone; most trails have none) are
/// put in `(id, file, record)` order for [`dedupe`], which is cheaper than sorting every
/// 80-byte stub twice. When most events repeat (a trail given twice), sorting them all by id
/// and back by time is done instead, so that the copies never double the table in memory.
pub(super) fn dedupe_in_time_order(stubs: &mut Vec<Keyed>) -> Vec<ConflictPair> {
    let mut ids: Vec<u128> = stubs.par_iter().map(|k| k.id).collect();
    ids.par_sort_unstable();
    let mut repeated: Vec<u128> = ids.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    drop(ids);
    repeated.dedup();
    if repeated.is_empty() {
        return Vec::new();
    }
    let mut at: Vec<usize> = (0..stubs.len())
        .into_par_iter()
        .filter(|&i| repeated.binary_search(&stubs[i].id).is_ok())
        .collect();
    if at.len() > stubs.len() / 4 {
        drop(at);
        let by_id =
            |a: &Keyed, b: &Keyed| (a.id, a.s.file, a.s.record).cmp(&(b.id, b.s.file, b.s.record));
        stubs.par_sort_unstable_by(by_id);
        let conflicts = dedupe(stubs);
        stubs.par_sort_unstable_by(|a, b| {
            (a.s.time, a.id, a.s.file, a.s.record).cmp(&(b.s.time, b.id, b.s.file, b.s.record))
        });
        return conflicts;
    }
    at.par_sort_unstable_by_key(|&i| (stubs[i].id, stubs[i].s.file, stubs[i].s.record));
    let mut copies: Vec<Keyed> = at.iter().map(|&i| stubs[i]).collect();
    let conflicts = dedupe(&mut copies);
    // `dedupe` keeps a subsequence of `copies`, and `(file, record)` names one stub.
    let mut kept = copies.iter().map(|k| (k.s.file, k.s.record)).peekable();
    let mut dropped: Vec<usize> = Vec::with_capacity(at.len() - copies.len());
    for &i in &at {
        if kept.peek() == Some(&(stubs[i].s.file, stubs[i].s.record)) {
            kept.next();
        } else {
            dropped.push(i);
        }
    }
    dropped.sort_unstable();
    let mut next = dropped.into_iter().peekable();
    let mut i = 0usize;
    stubs.retain(|_| {
        let drop = next.next_if_eq(&i).is_some();
        i += 1;
        !drop
    });
    conflicts
}

/// Removes the duplicates from `stubs` sorted by `(id, file, record)` and returns the
/// evidence conflicts as `((file, record) of the first copy, (file, record) of the other)`.
/// A copy is a duplicate when an earlier kept copy of its id has the same content digest (or
/// either digest is unknown, 0); otherwise it is kept, and it is a conflict.
pub(super) fn dedupe(stubs: &mut Vec<Keyed>) -> Vec<ConflictPair> {
    let mut conflicts = Vec::new();
    let mut out = 0usize;
    // Start (in the kept prefix) of the current id's copies, and their digests when there
    // are many (a hostile trail can repeat one id with a million contents).
    let mut run = 0usize;
    let mut many: hashbrown::HashSet<u64, rustc_hash::FxBuildHasher> = Default::default();
    for r in 0..stubs.len() {
        let cur = stubs[r];
        if out > run && stubs[run].id == cur.id {
            let kept = &stubs[run..out];
            let dup = cur.digest == 0
                || if kept.len() <= 16 {
                    kept.iter().any(|k| k.digest == cur.digest || k.digest == 0)
                } else {
                    if many.is_empty() {
                        many.extend(kept.iter().map(|k| k.digest));
                    }
                    many.contains(&cur.digest) || many.contains(&0)
                };
            if dup {
                continue;
            }
            conflicts.push(((kept[0].s.file, kept[0].s.record), (cur.s.file, cur.s.record)));
            if !many.is_empty() {
                many.insert(cur.digest);
            }
        } else {
            run = out;
            many.clear();
        }
        stubs[out] = cur;
        out += 1;
    }
    stubs.truncate(out);
    conflicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::table::Stub;

    /// The two sorts and [`dedupe`] that [`dedupe_in_time_order`] stands for.
    fn by_two_sorts(mut stubs: Vec<Keyed>) -> (Vec<Keyed>, Vec<ConflictPair>) {
        stubs.sort_by_key(|k| (k.id, k.s.file, k.s.record));
        let conflicts = dedupe(&mut stubs);
        stubs.sort_by_key(|k| (k.s.time, k.id, k.s.file, k.s.record));
        (stubs, conflicts)
    }

    /// `n` stubs drawn from `ids` distinct ids and `digests` distinct contents (0: unknown),
    /// spread over 7 files, seeded.
    fn drawn(seed: u64, n: u32, ids: u64, digests: u64) -> Vec<Keyed> {
        let mut x = seed;
        let mut next = move |m: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        (0..n)
            .map(|r| Keyed {
                id: u128::from(next(ids)) << 64 | 0xfeed,
                digest: next(digests),
                s: Stub::bare(1_700_000_000 + next(50) as i64, r % 7, r, 0),
            })
            .collect()
    }

    #[test]
    fn one_time_sort_removes_the_copies_and_lists_the_conflicts_the_two_sorts_did() {
        // Few repeats (the copies sorted apart), many (the fallback), none, and all one id.
        for (seed, n, ids, digests) in
            [(1, 2000, 100_000, 4), (2, 2000, 300, 3), (3, 500, 1 << 40, 5), (4, 300, 1, 40)]
        {
            let stubs = drawn(seed, n, ids, digests);
            let (want, want_conflicts) = by_two_sorts(stubs.clone());
            let mut got = stubs;
            got.sort_by_key(|k| (k.s.time, k.id, k.s.file, k.s.record));
            let conflicts = dedupe_in_time_order(&mut got);
            let key = |k: &Keyed| (k.id, k.digest, k.s);
            assert_eq!(
                got.iter().map(key).collect::<Vec<_>>(),
                want.iter().map(key).collect::<Vec<_>>(),
                "seed {seed}"
            );
            assert_eq!(conflicts, want_conflicts, "seed {seed}");
            assert!(n as usize > want.len() || ids > u64::from(n), "seed {seed}: nothing removed");
        }
    }
}

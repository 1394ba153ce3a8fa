//! Events kept in full during the first pass: those signed by a seed access key
//! ([`IngestOptions::seed_keys`](super::IngestOptions::seed_keys), the `--key` values of
//! `blast`/`plan`), which are known before ingest starts and are always tainted, and those
//! guessed to be tainted from the seed keys' own calls ([`super::watch`]). Normalized
//! while their file's document is in memory anyway, they spare the second pass
//! ([`Ingest::for_each_event`](super::Ingest::for_each_event)) re-reading every file that
//! holds one; only the files with other wanted records are read again.

use super::cache::codec::{get_event, put_event, Reader, Sink, Writer};
use super::Stub;
use crate::model::{Event, Origin};

/// Events kept by one worker, each encoded with the cache's codec as it is kept: about a
/// fifth of the memory of an [`Event`] (10,000 events of a function's sessions took 33 MB
/// as `Event`s), decoded again only when a report wants them.
#[derive(Debug, Default)]
pub(super) struct KeptLog {
    w: Writer,
    at: Vec<At>,
}

/// Where one kept event is: its time, record and bytes (`log`: which worker's log).
#[derive(Debug, Clone, Copy)]
struct At {
    time: i64,
    file: u32,
    record: u32,
    log: u32,
    start: usize,
    end: usize,
}

impl KeptLog {
    /// Keeps `e` (`has_id`: its record carried an `eventID`, [`put_event`]); the bytes it took.
    pub(super) fn push(&mut self, e: &Event, has_id: bool) -> usize {
        let start = self.w.buf.len();
        put_event(&mut self.w, e, has_id);
        let (file, record) = (e.origin.file, e.origin.record);
        self.at.push(At { time: e.time, file, record, log: 0, start, end: self.w.buf.len() });
        self.w.buf.len() - start
    }

    pub(super) fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// The encoded bytes of the events kept, with their places ([`KeptLog::push`] counts a
    /// place as 20).
    pub(super) fn bytes(&self) -> usize {
        self.w.buf.len() + 20 * self.at.len()
    }

    /// Sorts the places by `(file, record)`, for [`KeptLog::events_of`] (the bytes stay).
    pub(super) fn sort(&mut self) {
        self.at.sort_by_key(|a| (a.file, a.record));
    }

    /// Where `record` of `file` is kept (places sorted, [`KeptLog::sort`]).
    fn find(&self, file: u32, record: u32) -> Option<&At> {
        let i = self.at.binary_search_by_key(&(file, record), |a| (a.file, a.record)).ok()?;
        Some(&self.at[i])
    }

    /// Whether every wanted record of `file` is kept (places sorted, [`KeptLog::sort`]).
    pub(super) fn covers(&self, file: u32, want: &[(u32, usize)]) -> bool {
        want.iter().all(|w| self.find(file, w.0).is_some())
    }

    /// The wanted records of `file` (`(record, position)`, sorted), decoded, when every one
    /// of them is kept (places sorted, [`KeptLog::sort`]); `None` otherwise.
    pub(super) fn events_of(&self, file: u32, want: &[(u32, usize)]) -> Option<Vec<Event>> {
        let decode = |w: &(u32, usize)| {
            let a = self.find(file, w.0)?;
            let bytes = self.w.buf.get(a.start..a.end)?;
            get_event(&mut Reader::new(bytes), Origin { file, record: w.0 })
        };
        want.iter().map(decode).collect()
    }

    /// Adds the events of `other` after those of `self` (taken over whole when `self` has
    /// none: a run's first re-read kept 51 MB of events at 5 GB of trail, copied while both
    /// were held).
    pub(super) fn append(&mut self, other: KeptLog) {
        if self.at.is_empty() {
            *self = other;
            return;
        }
        let base = self.w.buf.len();
        self.w.buf.extend_from_slice(&other.w.buf);
        let moved =
            other.at.into_iter().map(|a| At { start: a.start + base, end: a.end + base, ..a });
        self.at.extend(moved);
    }
}

/// The kept events that survived deduplication and the time window, sorted by
/// `(file, record)`.
#[derive(Debug, Default)]
pub(super) struct Kept {
    logs: Vec<Vec<u8>>,
    at: Vec<At>,
}

impl Kept {
    /// The events of `logs` whose stub is in `stubs` (sorted by time; a record rolled back
    /// with its file, a duplicate copy or an event outside the window has none).
    ///
    /// Second by second: the stubs of each second a kept event has are listed once, sorted,
    /// and searched for each kept event of that second. (Each kept event looked through its
    /// second's stubs: a forged trail of a million events signed by the seed key in one
    /// second made that 10^12 comparisons.)
    pub(super) fn of_surviving(logs: Vec<KeptLog>, stubs: &[Stub]) -> Kept {
        let mut all: Vec<At> = Vec::with_capacity(logs.iter().map(|l| l.at.len()).sum());
        let mut bytes = Vec::with_capacity(logs.len());
        for (n, l) in logs.into_iter().enumerate() {
            all.extend(l.at.into_iter().map(|a| At { log: n as u32, ..a }));
            bytes.push(l.w.buf);
        }
        all.sort_unstable_by_key(|a| (a.time, a.file, a.record));
        let mut keep = vec![false; all.len()];
        let mut i = 0;
        while i < all.len() {
            let t = all[i].time;
            let j = i + all[i..].partition_point(|a| a.time == t);
            let lo = stubs.partition_point(|s| s.time < t);
            let mut here: Vec<(u32, u32)> = stubs[lo..]
                .iter()
                .take_while(|s| s.time == t)
                .map(|s| (s.file, s.record))
                .collect();
            here.sort_unstable();
            for (k, a) in keep[i..j].iter_mut().zip(&all[i..j]) {
                *k = here.binary_search(&(a.file, a.record)).is_ok();
            }
            i = j;
        }
        let mut keep = keep.into_iter();
        all.retain(|_| keep.next().unwrap_or(false));
        all.sort_unstable_by_key(|a| (a.file, a.record));
        all.shrink_to_fit();
        Kept { logs: bytes, at: all }
    }

    pub(super) fn len(&self) -> usize {
        self.at.len()
    }

    fn find(&self, file: u32, record: u32) -> Option<&At> {
        let i = self.at.binary_search_by_key(&(file, record), |a| (a.file, a.record)).ok()?;
        Some(&self.at[i])
    }

    /// Whether every wanted record of `file` (`(record, position)`) is kept.
    pub(super) fn covers(&self, file: u32, want: &[(u32, usize)]) -> bool {
        want.iter().all(|w| self.find(file, w.0).is_some())
    }

    /// Hands over the wanted records of `file` (`(record, position)`, sorted) in that order,
    /// as [`Ingest::for_each_event`](super::Ingest::for_each_event) would after re-reading
    /// the file, when every one of them is kept; false (nothing handed over) otherwise.
    pub(super) fn serve(
        &self,
        file: u32,
        want: &[(u32, usize)],
        f: &mut impl FnMut(usize, Event),
    ) -> bool {
        let decode = |w: &(u32, usize)| {
            let a = self.find(file, w.0)?;
            let bytes = self.logs.get(a.log as usize)?.get(a.start..a.end)?;
            get_event(&mut Reader::new(bytes), Origin { file, record: w.0 })
        };
        // Decoded before any is handed over: all of them, or none.
        let Some(events) = want.iter().map(decode).collect::<Option<Vec<Event>>>() else {
            return false;
        };
        for (w, e) in want.iter().zip(events) {
            f(w.1, e);
        }
        true
    }
}

/// One event kept for the next run: `(file, record, time, encoded bytes)`.
pub(super) type Saved<'a> = (u32, u32, i64, &'a [u8]);

/// The most bytes of events a run keeps beside its table in the cache ([`Kept::put_saved`]).
pub(super) const MAX_SAVED_BYTES: usize = 64 << 20;

impl Kept {
    /// The events an earlier run over the same cached table read for its reports
    /// ([`Kept::put_saved`]); `None` when the bytes do not decode as such (entries out of
    /// order, or lengths past the end).
    pub(super) fn of_saved(bytes: &[u8]) -> Option<Kept> {
        let mut r = Reader::new(bytes);
        let n = r.count(20)?;
        let mut at: Vec<At> = Vec::with_capacity(n);
        let mut log = Vec::new();
        for _ in 0..n {
            let (file, record, time) = (r.u32()?, r.u32()?, r.i64()?);
            let len = r.u32()? as usize;
            let b = r.take(len)?;
            if at.last().is_some_and(|a| (a.file, a.record) >= (file, record)) {
                return None;
            }
            let start = log.len();
            log.extend_from_slice(b);
            at.push(At { time, file, record, log: 0, start, end: log.len() });
        }
        r.b.is_empty().then_some(Kept { logs: vec![log], at })
    }

    /// An earlier run's kept events ([`Kept::of_saved`]) as the run that extends it numbers
    /// its files: the earlier run's file `i` is `map[i]` ([`Base::map`](super::extend::Base),
    /// rising, so the entries stay in `(file, record)` order). `None` when an entry names a
    /// file the earlier run did not have. A record's content does not depend on its file's
    /// number: an event without an `eventID` is named after its origin when it is decoded.
    pub(super) fn renumbered(mut self, map: &[u32]) -> Option<Kept> {
        for a in &mut self.at {
            a.file = *map.get(a.file as usize)?;
        }
        self.at
            .windows(2)
            .all(|w| (w[0].file, w[0].record) < (w[1].file, w[1].record))
            .then_some(self)
    }

    /// The entries of `self` and of `more` (what a run read again for its reports), one per
    /// `(file, record)` in that order, the entry kept before first, for [`Kept::put_saved`];
    /// `None` when their bytes are over [`MAX_SAVED_BYTES`].
    pub(super) fn union<'a>(&'a self, more: &'a KeptLog) -> Option<Vec<Saved<'a>>> {
        let mut all: Vec<Saved> = Vec::with_capacity(self.at.len() + more.at.len());
        for a in &self.at {
            let log = self.logs.get(a.log as usize).and_then(|l| l.get(a.start..a.end));
            all.push((a.file, a.record, a.time, log.unwrap_or_default()));
        }
        for a in &more.at {
            all.push((a.file, a.record, a.time, &more.w.buf[a.start..a.end]));
        }
        if all.iter().map(|e| e.3.len() + 20).sum::<usize>() > MAX_SAVED_BYTES {
            return None;
        }
        // Stable: of two copies of a record (the same event), the one kept before.
        all.sort_by_key(|e| (e.0, e.1));
        all.dedup_by_key(|e| (e.0, e.1));
        Some(all)
    }

    /// Writes `all` ([`Kept::union`]) for [`Kept::of_saved`], handed on to `out` as it is
    /// written (never a second copy of them all).
    pub(super) fn put_saved(all: Vec<Saved>, out: &mut impl Sink) {
        out.w().u32(all.len() as u32);
        out.put_all(all, |w, (file, record, time, bytes)| {
            w.u32(file);
            w.u32(record);
            w.i64(time);
            w.u32(bytes.len() as u32);
            w.buf.extend_from_slice(bytes);
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::ingest::{ingest, IngestOptions};

    fn rec(id: &str, time: &str, key: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"{time}","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","eventID":"{id}","userIdentity":{{"type":"IAMUser","accessKeyId":"{key}","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333"}},"recipientAccountId":"111122223333","sourceIPAddress":"198.51.100.7"}}"#
        )
    }

    fn doc(records: &[String]) -> String {
        format!("{{\"Records\":[{}]}}", records.join(","))
    }

    const SEED: &str = "AKIAIOSFODNN7EXAMPLE";
    const OTHER: &str = "AKIAOTHER0000000000X";

    /// `a.json`: only the seed's events; `b.json`: the seed's and another key's; `c.json`:
    /// a copy of one of `a`'s events (a duplicate: the first copy in file order is kept).
    fn trail(dir: &std::path::Path) {
        let id = |n: u32| format!("00000000-0000-0000-0000-{n:012}");
        let a = doc(&[
            rec(&id(1), "2024-03-11T08:00:00Z", SEED),
            rec(&id(2), "2024-03-11T08:00:05Z", SEED),
        ]);
        let b = doc(&[
            rec(&id(3), "2024-03-11T08:00:03Z", OTHER),
            rec(&id(4), "2024-03-11T08:00:04Z", SEED),
        ]);
        let c = doc(&[rec(&id(2), "2024-03-11T08:00:05Z", SEED)]);
        std::fs::write(dir.join("a.json"), a).unwrap();
        std::fs::write(dir.join("b.json"), b).unwrap();
        std::fs::write(dir.join("c.json"), c).unwrap();
    }

    #[test]
    fn seed_events_are_served_from_memory_and_the_rest_is_read_again() {
        let d = tempfile::TempDir::new().unwrap();
        trail(d.path());
        let plain = IngestOptions { inputs: vec![d.path().to_path_buf()], ..Default::default() };
        let seeded = IngestOptions { seed_keys: vec![SEED.to_string()], ..plain.clone() };
        let without = ingest(&plain).unwrap();
        let with = ingest(&seeded).unwrap();
        // Fresh runs, for what a run that has read nothing again does.
        let (unread, plain_unread) = (ingest(&seeded).unwrap(), ingest(&plain).unwrap());
        assert_eq!(without.kept.len(), 0);
        // Three of the seed's events survive deduplication (c.json's copy is a duplicate).
        assert_eq!(with.stats.duplicates, 1);
        assert_eq!(with.kept.len(), 3);
        let all: Vec<usize> = (0..with.stubs.len()).collect();
        let mut order = Vec::new();
        with.for_each_event(&all, |pos, e| order.push((pos, e))).unwrap();
        let mut expected = Vec::new();
        without.for_each_event(&all, |pos, e| expected.push((pos, e))).unwrap();
        assert_eq!(order, expected);
        assert_eq!(order.len(), 4);
        // a.json holds only the seed's events: it is never read again. b.json is.
        let loaded = without.load_events(&all).unwrap();
        assert_eq!(loaded.len(), 4);
        std::fs::remove_file(d.path().join("a.json")).unwrap();
        assert_eq!(with.load_events(&all).unwrap(), loaded);
        assert!(
            plain_unread.load_events(&all).is_err(),
            "a.json is gone: a plain ingest must re-read it"
        );
        std::fs::remove_file(d.path().join("b.json")).unwrap();
        assert!(unread.load_events(&all).is_err(), "b.json holds another key's event: re-read");
        // What a run read again once, it serves again from memory (`plan` after its blast
        // radius): b.json is not read a second time.
        assert_eq!(with.load_events(&all).unwrap(), loaded);
        let other: Vec<usize> =
            all.iter().copied().filter(|&i| with.str(with.stubs[i].key) == Some(OTHER)).collect();
        assert_eq!(with.load_events(&other).unwrap().len(), 1);
        let seed_only: Vec<usize> =
            all.iter().copied().filter(|&i| with.str(with.stubs[i].key) == Some(SEED)).collect();
        assert_eq!(with.load_events(&seed_only).unwrap().len(), 3);
    }

    /// Past the bound on the seed keys' own events (one byte here: only the first is kept),
    /// the files of the rest are read again, to the same events, and an issuing call among
    /// them is still learned from: the session it returned is watched, its call kept.
    #[test]
    fn past_the_seed_keys_bound_their_files_are_read_again_and_their_calls_still_learned_from() {
        const SESSION: &str = "ASIAEXAMPLESESSION01";
        let d = tempfile::TempDir::new().unwrap();
        let id = |n: u32| format!("00000000-0000-0000-0000-{n:012}");
        let assume = format!(
            r#"{{"eventVersion":"1.08","eventTime":"2024-03-11T08:00:02Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","eventID":"{}","userIdentity":{{"type":"IAMUser","accessKeyId":"{SEED}","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333"}},"requestParameters":{{"roleArn":"arn:aws:iam::111122223333:role/r","roleSessionName":"s"}},"responseElements":{{"credentials":{{"accessKeyId":"{SESSION}","expiration":"Mar 11, 2024, 9:00:02 AM","sessionToken":"x"}},"assumedRoleUser":{{"arn":"arn:aws:sts::111122223333:assumed-role/r/s","assumedRoleId":"AROAEXAMPLE:s"}}}},"recipientAccountId":"111122223333"}}"#,
            id(3)
        );
        let first = doc(&[
            rec(&id(1), "2024-03-11T08:00:00Z", SEED),
            rec(&id(2), "2024-03-11T08:00:01Z", SEED),
            assume,
        ]);
        let a = d.path().join("111122223333_CloudTrail_us-east-1_20240311T0800Z_a.json");
        std::fs::write(&a, first).unwrap();
        let later = doc(&[rec(&id(4), "2024-03-11T08:05:00Z", SESSION)]);
        let b = d.path().join("111122223333_CloudTrail_us-east-1_20240311T0810Z_b.json");
        std::fs::write(b, later).unwrap();
        let plain = IngestOptions { inputs: vec![d.path().to_path_buf()], ..Default::default() };
        let capped =
            IngestOptions { seed_keys: vec![SEED.to_string()], max_seed_bytes: 1, ..plain.clone() };
        // One worker: the files are read in delivery order, the AssumeRole before its use.
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let (with, unread) = one.install(|| (ingest(&capped).unwrap(), ingest(&capped).unwrap()));
        let without = ingest(&plain).unwrap();
        assert_eq!(with.kept.len(), 2, "the first seed event and the session's call");
        let all: Vec<usize> = (0..with.stubs.len()).collect();
        assert_eq!(with.load_events(&all).unwrap(), without.load_events(&all).unwrap());
        let session: Vec<usize> =
            all.iter().copied().filter(|&i| with.str(with.stubs[i].key) == Some(SESSION)).collect();
        assert_eq!(session.len(), 1);
        std::fs::remove_file(&a).unwrap();
        assert!(unread.load_events(&all).is_err(), "the seed's file is read again: it is gone");
        assert_eq!(unread.load_events(&session).unwrap().len(), 1, "the session's call was kept");
    }

    /// What a run keeps in the cache of the events its reports read ([`super::Kept::union`])
    /// reads back as the same events, each `(file, record)` once; bytes out of order or cut
    /// short are refused whole.
    #[test]
    fn events_kept_for_the_next_run_read_back_as_they_were_and_nothing_else_does() {
        use super::{Kept, KeptLog};
        use crate::ingest::cache::codec::Writer;
        let d = tempfile::TempDir::new().unwrap();
        trail(d.path());
        let opts = IngestOptions { inputs: vec![d.path().to_path_buf()], ..Default::default() };
        let ing = ingest(&opts).unwrap();
        let all: Vec<usize> = (0..ing.stubs.len()).collect();
        let mut log = KeptLog::default();
        let mut expected = Vec::new();
        ing.for_each_event(&all, |pos, e| {
            log.push(&e, ing.stubs[all[pos]].flags & crate::ingest::HAS_ID != 0);
            expected.push(e);
        })
        .unwrap();
        assert_eq!(expected.len(), 4);
        // The same events twice (an earlier run's and this one's): kept once.
        let mut w = Writer::default();
        Kept::put_saved(Kept::default().union(&log).unwrap(), &mut w);
        let first = Kept::of_saved(&w.buf).unwrap();
        let mut twice = Writer::default();
        Kept::put_saved(first.union(&log).unwrap(), &mut twice);
        assert_eq!(twice.buf, w.buf);
        let mut got = Vec::new();
        for (file, record) in [(0u32, 0u32), (0, 1), (1, 0), (1, 1)] {
            assert!(first.covers(file, &[(record, 0)]));
            assert!(first.serve(file, &[(record, 0)], &mut |_, e| got.push(e)));
        }
        expected.sort_by_key(|e| (e.origin.file, e.origin.record));
        assert_eq!(got, expected);
        assert!(!first.covers(2, &[(0, 0)]), "c.json's copy is a duplicate: not wanted, not kept");
        // Renumbered for a run that extends this one (new files before each of these): the
        // same events under the files' new numbers, each decoded with its new origin.
        let moved = Kept::of_saved(&w.buf).unwrap().renumbered(&[1, 3, 4]).unwrap();
        for (file, record) in [(0u32, 0u32), (0, 1), (1, 0), (1, 1)] {
            let new = [1u32, 3][file as usize];
            let mut e = Vec::new();
            assert!(moved.serve(new, &[(record, 0)], &mut |_, x| e.push(x)));
            let was = expected.iter().find(|x| (x.origin.file, x.origin.record) == (file, record));
            let mut was = was.unwrap().clone();
            was.origin.file = new;
            assert_eq!(e, [was]);
        }
        assert!(!moved.covers(0, &[(0, 0)]) && !moved.covers(2, &[(0, 0)]));
        // A file the earlier run did not have: refused.
        assert!(Kept::of_saved(&w.buf).unwrap().renumbered(&[1]).is_none());
        // Cut short, or two entries swapped: refused.
        assert!(Kept::of_saved(&w.buf[..w.buf.len() - 1]).is_none());
        let mut more = w.buf.clone();
        more.push(0);
        assert!(Kept::of_saved(&more).is_none());
        let one = 4 + 20 + u32::from_le_bytes(w.buf[20..24].try_into().unwrap()) as usize;
        let mut swapped = w.buf[..4].to_vec();
        let second_len = 20 + u32::from_le_bytes(w.buf[one + 16..one + 20].try_into().unwrap());
        swapped.extend_from_slice(&w.buf[one..one + second_len as usize]);
        swapped.extend_from_slice(&w.buf[4..one]);
        swapped.extend_from_slice(&w.buf[one + second_len as usize..]);
        assert_eq!(swapped.len(), w.buf.len());
        assert!(Kept::of_saved(&swapped).is_none());
    }

    /// Many files (the parallel re-read, a window of files on every thread): the events come
    /// in the same order as on one thread, seed events served from memory included, and a
    /// file gone from disk is an error either way.
    #[test]
    fn many_files_are_read_again_in_file_order_on_every_thread() {
        let d = tempfile::TempDir::new().unwrap();
        let id = |n: u32| format!("00000000-0000-0000-0000-{n:012}");
        for f in 0..80u32 {
            let t = |s: u32| format!("2024-03-11T08:{:02}:{:02}Z", f % 60, s);
            let recs: Vec<String> = (0..5)
                .map(|k| rec(&id(f * 10 + k), &t(k), if k % 2 == 0 { SEED } else { OTHER }))
                .collect();
            std::fs::write(d.path().join(format!("f{f:03}.json")), doc(&recs)).unwrap();
        }
        let plain = IngestOptions { inputs: vec![d.path().to_path_buf()], ..Default::default() };
        let seeded = IngestOptions { seed_keys: vec![SEED.to_string()], ..plain.clone() };
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let many = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        for opts in [plain, seeded] {
            let ing = ingest(&opts).unwrap();
            // Every other event, so that each file is wanted in part.
            let wanted: Vec<usize> = (0..ing.stubs.len()).step_by(2).collect();
            let run = |pool: &rayon::ThreadPool| {
                pool.install(|| {
                    let mut v = Vec::new();
                    ing.for_each_event(&wanted, |pos, e| v.push((pos, e))).unwrap();
                    v
                })
            };
            let (a, b) = (run(&one), run(&many));
            assert_eq!(a.len(), wanted.len());
            assert_eq!(a, b);
        }
        let ing =
            ingest(&IngestOptions { inputs: vec![d.path().to_path_buf()], ..Default::default() })
                .unwrap();
        std::fs::remove_file(d.path().join("f041.json")).unwrap();
        let all: Vec<usize> = (0..ing.stubs.len()).collect();
        let err = many.install(|| ing.for_each_event(&all, |_, _| {})).unwrap_err();
        assert!(err.to_string().contains("f041.json"), "{err}");
    }

    /// A record with the given name, identity and request/response (JSON object bodies).
    fn call(id: u32, time: &str, name: &str, who: &str, req: &str, resp: &str) -> String {
        let source = match name {
            "AssumeRole" => "sts",
            n if n.starts_with("UpdateFunctionCode") => "lambda",
            _ => "x",
        };
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"{time}","eventSource":"{source}.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","eventID":"00000000-0000-0000-0000-{id:012}","userIdentity":{who},"requestParameters":{req},"responseElements":{resp},"recipientAccountId":"111122223333","sourceIPAddress":"198.51.100.7"}}"#
        )
    }

    /// What the seed key's calls lead to is kept too ([`super::super::watch`]): the session
    /// its AssumeRole returned and the role sessions of the function it changed, although
    /// their file sorts first by path (eu-west-1) — the files are read in the order CloudTrail
    /// delivered them. Served from memory, they are the events a re-read gives; a file holding
    /// anything else is still read again.
    #[test]
    fn what_the_seed_key_leads_to_is_kept_and_served_as_a_re_read_would() {
        let d = tempfile::TempDir::new().unwrap();
        let dir = |region: &str| {
            let p = d.path().join(format!("AWSLogs/111122223333/CloudTrail/{region}/2024/03/11"));
            std::fs::create_dir_all(&p).unwrap();
            p
        };
        let user = format!(
            r#"{{"type":"IAMUser","accessKeyId":"{SEED}","arn":"arn:aws:iam::111122223333:user/ci","accountId":"111122223333"}}"#
        );
        let derived = "ASIADERIVEDEXAMPLE01";
        let session = format!(
            r#"{{"type":"AssumedRole","accessKeyId":"{derived}","arn":"arn:aws:sts::111122223333:assumed-role/Admin/s","accountId":"111122223333"}}"#
        );
        let function = r#"{"type":"AssumedRole","accessKeyId":"ASIAFUNCTIONEXAMPLE1","arn":"arn:aws:sts::111122223333:assumed-role/orders-exec/orders-api","accountId":"111122223333"}"#;
        let other = r#"{"type":"IAMUser","accessKeyId":"AKIAOTHER0000000000X","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333"}"#;
        let issued = doc(&[
            call(
                1,
                "2024-03-11T08:00:00Z",
                "AssumeRole",
                &user,
                r#"{"roleArn":"arn:aws:iam::111122223333:role/Admin","roleSessionName":"s"}"#,
                &format!(
                    r#"{{"credentials":{{"accessKeyId":"{derived}","expiration":"Mar 11, 2024, 9:00:00 AM"}}}}"#
                ),
            ),
            call(
                2,
                "2024-03-11T08:00:10Z",
                "UpdateFunctionCode20150331v2",
                &user,
                r#"{"functionName":"orders-api"}"#,
                "null",
            ),
        ]);
        let used = doc(&[
            call(3, "2024-03-11T08:10:00Z", "ListBuckets", &session, "null", "null"),
            call(4, "2024-03-11T08:11:00Z", "GetObject", function, "null", "null"),
            // Without an eventID: named by its place, the same whether kept or read again.
            call(7, "2024-03-11T08:11:30Z", "ListBuckets", &user, "null", "null")
                .replace(r#""eventID":"00000000-0000-0000-0000-000000000007","#, ""),
        ]);
        let mixed = doc(&[
            call(5, "2024-03-11T08:12:00Z", "ListBuckets", &session, "null", "null"),
            call(6, "2024-03-11T08:13:00Z", "ListBuckets", other, "null", "null"),
        ]);
        let east = dir("us-east-1");
        let west = dir("eu-west-1");
        let name = |region: &str, t: &str, u: &str| {
            format!("111122223333_CloudTrail_{region}_20240311T{t}Z_{u}.json")
        };
        std::fs::write(east.join(name("us-east-1", "0805", "a")), issued).unwrap();
        std::fs::write(west.join(name("eu-west-1", "0815", "b")), used).unwrap();
        std::fs::write(west.join(name("eu-west-1", "0820", "c")), mixed).unwrap();
        let plain = IngestOptions { inputs: vec![d.path().to_path_buf()], ..Default::default() };
        let seeded = IngestOptions { seed_keys: vec![SEED.to_string()], ..plain.clone() };
        // One thread: each file is read after the one CloudTrail delivered before it.
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let (without, with) = one.install(|| (ingest(&plain).unwrap(), ingest(&seeded).unwrap()));
        // Fresh runs, for what a run that has read nothing again does.
        let (plain_unread, unread) =
            one.install(|| (ingest(&plain).unwrap(), ingest(&seeded).unwrap()));
        assert_eq!(without.kept.len(), 0);
        // The seed's three calls, the derived session's two, the function session's one.
        assert_eq!(with.kept.len(), 6);
        let all: Vec<usize> = (0..with.stubs.len()).collect();
        let expected = without.load_events(&all).unwrap();
        assert_eq!(expected.len(), 7);
        assert!(expected.iter().any(|e| e.id.starts_with("noid:")));
        assert_eq!(with.load_events(&all).unwrap(), expected);
        // The file of the derived session's and the function's events is never read again.
        let b = std::fs::read_dir(&west)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with("_b.json"))
            .unwrap();
        std::fs::remove_file(&b).unwrap();
        assert_eq!(with.load_events(&all).unwrap(), expected);
        assert!(plain_unread.load_events(&all).is_err(), "a plain ingest re-reads every file");
        // The mixed file holds another key's event: read again by a run that has not read it
        // yet; served from memory by one that has.
        for e in std::fs::read_dir(&west).unwrap() {
            std::fs::remove_file(e.unwrap().path()).unwrap();
        }
        assert!(unread.load_events(&all).is_err());
        assert_eq!(with.load_events(&all).unwrap(), expected);
    }
}

//! Events kept in full during the first pass: those signed by a seed access key
//! ([`IngestOptions::seed_keys`](super::IngestOptions::seed_keys), the `--key` values of
//! `blast`/`plan`), which are known before ingest starts and are always tainted. Normalized
//! while their file's document is in memory anyway, they spare the second pass
//! ([`Ingest::for_each_event`](super::Ingest::for_each_event)) re-reading every file that
//! holds one; only the files with other wanted records are read again.

use super::{parse, raw, Stub};
use crate::model::Event;

/// The kept events that survived deduplication and the time window, sorted by
/// `(file, record)`.
#[derive(Debug, Default)]
pub(super) struct Kept {
    events: Vec<Event>,
}

/// Normalizes a first-pass record into `kept` when its access key is one of `seeds`.
pub(super) fn keep_if_seed(
    kept: &mut Vec<Event>,
    seeds: &[String],
    key: Option<&str>,
    r: &raw::RawRecord<'_>,
    file: u32,
    idx: u32,
) {
    if key.is_some_and(|k| seeds.iter().any(|s| s == k)) {
        if let Ok(e) = parse::normalize(r, file, idx) {
            kept.push(e);
        }
    }
}

impl Kept {
    /// The events of `all` whose stub is in `stubs` (sorted by time; a record rolled back
    /// with its file, a duplicate copy or an event outside the window has none).
    ///
    /// Second by second: the stubs of each second a kept event has are listed once, sorted,
    /// and searched for each kept event of that second. (Each kept event looked through its
    /// second's stubs: a forged trail of a million events signed by the seed key in one
    /// second made that 10^12 comparisons.)
    pub(super) fn of_surviving(mut all: Vec<Event>, stubs: &[Stub]) -> Kept {
        all.sort_unstable_by_key(|e| (e.time, e.origin.file, e.origin.record));
        let mut keep = vec![false; all.len()];
        let mut i = 0;
        while i < all.len() {
            let t = all[i].time;
            let j = i + all[i..].partition_point(|e| e.time == t);
            let lo = stubs.partition_point(|s| s.time < t);
            let mut here: Vec<(u32, u32)> = stubs[lo..]
                .iter()
                .take_while(|s| s.time == t)
                .map(|s| (s.file, s.record))
                .collect();
            here.sort_unstable();
            for (k, e) in keep[i..j].iter_mut().zip(&all[i..j]) {
                *k = here.binary_search(&(e.origin.file, e.origin.record)).is_ok();
            }
            i = j;
        }
        let mut keep = keep.into_iter();
        all.retain(|_| keep.next().unwrap_or(false));
        all.sort_unstable_by_key(|e| (e.origin.file, e.origin.record));
        all.shrink_to_fit();
        Kept { events: all }
    }

    pub(super) fn len(&self) -> usize {
        self.events.len()
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
        let find = |r: u32| {
            self.events.binary_search_by_key(&(file, r), |e| (e.origin.file, e.origin.record)).ok()
        };
        let Some(found) = want.iter().map(|w| find(w.0)).collect::<Option<Vec<usize>>>() else {
            return false;
        };
        for (w, k) in want.iter().zip(found) {
            f(w.1, self.events[k].clone());
        }
        true
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
            without.load_events(&all).is_err(),
            "a.json is gone: a plain ingest must re-read it"
        );
        std::fs::remove_file(d.path().join("b.json")).unwrap();
        assert!(with.load_events(&all).is_err(), "b.json holds another key's event: re-read");
        let seed_only: Vec<usize> =
            all.iter().copied().filter(|&i| with.str(with.stubs[i].key) == Some(SEED)).collect();
        assert_eq!(with.load_events(&seed_only).unwrap().len(), 3);
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
}

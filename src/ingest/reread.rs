//! Reading full events back: the event table keeps only stubs, so the few events a report
//! needs in detail are re-parsed from the files that hold them.

use super::kept::{Kept, KeptLog, MAX_SAVED_BYTES};
use super::read::{parse_decoded, read_decoded, Scratch};
use super::{parquet, parse, raw, Ingest, RejectReason, HAS_ID};
use crate::model::Event;
use parse::FileError;
use std::collections::BTreeMap;

impl Ingest {
    /// order, re-parsing only the files that hold them. Holds them all: for many events use
    /// [`Ingest::for_each_event`].
    ///
    /// # Errors
    /// A file that can no longer be read the way it was the first time (changed on disk).
    pub fn load_events(&self, stubs: &[usize]) -> anyhow::Result<Vec<Event>> {
        let mut slots: Vec<Option<Event>> = Vec::new();
        slots.resize_with(stubs.len(), || None);
        self.for_each_event(stubs, |pos, e| slots[pos] = Some(e))?;
        Ok(slots.into_iter().flatten().collect())
    }

    /// Calls `f(position, event)` with the full event of every stub in `stubs` (indices into
    /// [`Ingest::stubs`]; `position` indexes `stubs`), re-parsing each file that holds them
    /// once, and handing each event over as soon as its record (or, with many files, its
    /// window of files) is parsed: what this holds is a few files' documents and events, never
    /// all the events (2 M tiny tainted events once took `blast` to 13.6 GB when they were all
    /// loaded, twice). Events come in file order, on one thread or many.
    /// A file whose wanted events were all kept by the first pass (the seed keys' events and
    /// those of the credentials they led to, [`super::kept`], [`super::watch`]) is not read
    /// again: they are served from memory, in the same order; so is a file whose wanted
    /// events an earlier call of this run read again (up to [`MAX_SAVED_BYTES`] of them).
    ///
    /// # Errors
    /// A file that can no longer be read the way it was the first time (changed on disk).
    ///
    /// With `--cache`, the events read again are kept beside the run's table (with those an
    /// earlier run kept there, and those the run's earlier reports read), and a later run over
    /// the same table serves the files they cover from there: one file read instead of every
    /// file that holds a wanted event.
    pub fn for_each_event(
        &self,
        stubs: &[usize],
        mut f: impl FnMut(usize, Event),
    ) -> anyhow::Result<()> {
        let mut by_file: BTreeMap<u32, Vec<(u32, usize)>> = BTreeMap::new();
        for (pos, &i) in stubs.iter().enumerate() {
            let s = &self.stubs[i];
            by_file.entry(s.file).or_default().push((s.record, pos));
        }
        let mut files: Vec<(u32, Vec<(u32, usize)>)> = by_file.into_iter().collect();
        for (_, want) in &mut files {
            want.sort_unstable();
        }
        // What this run's earlier reports read again (`plan` after its blast radius, the
        // Parquet file of `investigate`) serves the files it covers; the events read again now
        // are kept for the later ones. With `--cache`, the events an earlier run did not keep
        // are kept for the next run too (those the first pass kept as well: a warm run has no
        // first pass).
        let for_cache = self.run_store.is_some();
        let mut to_keep = vec![false; stubs.len()];
        // Whether each file's wanted events are all in memory (kept by the first pass, in
        // the cache's kept events, or read again earlier in this run): no file to read.
        let mut in_memory = vec![false; files.len()];
        {
            let saved = self.saved_events();
            let again = self.read_again.lock().unwrap_or_else(|e| e.into_inner());
            let (mut kept, mut from_saved, mut from_again) = (0, 0, 0);
            for ((file, want), memory) in files.iter().zip(&mut in_memory) {
                let in_kept = self.kept.covers(*file, want);
                let in_saved = saved.is_some_and(|k| k.covers(*file, want));
                let in_again = again.covers(*file, want);
                (kept, from_saved) = (kept + in_kept as usize, from_saved + in_saved as usize);
                from_again += (in_again && !in_kept && !in_saved) as usize;
                *memory = in_kept || in_saved || in_again;
                if !in_saved && !in_again && (for_cache || !in_kept) {
                    want.iter().for_each(|w| to_keep[w.1] = true);
                }
            }
            if std::env::var_os("TRAILHOUND_TIMING").is_some() {
                crate::diag::timing(format_args!(
                    "re-read: {} events wanted in {} files, {kept} of the files served from the first pass, {from_saved} from the events kept in the cache, {from_again} from what this run read before",
                    stubs.len(),
                    files.len()
                ));
            }
        }
        // Bounded as the file is: past it, nothing more is encoded and nothing is kept.
        let (mut log, mut bytes, mut over) = (KeptLog::default(), 0, false);
        let mut f = |p: usize, e: Event| {
            if !over && to_keep.get(p).copied().unwrap_or(false) {
                bytes += log.push(&e, self.stubs[stubs[p]].flags & HAS_ID != 0) + 20;
                if bytes > MAX_SAVED_BYTES {
                    (log, over) = (KeptLog::default(), true);
                }
            }
            f(p, e)
        };
        let threads = rayon::current_num_threads();
        if files.len() < PARALLEL_FILES || threads < 2 {
            // One file after the other with one set of buffers: the tainted events usually
            // sit in few files, and reading them on every thread made each thread's
            // allocator arena grow again after ingest had handed its pages back (measured:
            // +50 MB at 1 GB of trail, +35 MB at 5 GB, for a 0.05–0.15 s gain).
            let mut st = Scratch::new();
            for (file, want) in &files {
                self.file_events(*file, want, &mut st, &mut f)?;
            }
        } else {
            // Many files (the sessions of a function or an instance the key changed, F21, run
            // all day): a window of files at a time, read on every thread, each file's events
            // kept until the window is handed over in file order, so what is held is a
            // window's wanted events, never all of them. A window holds `WINDOW` files to
            // read per thread, with the files served from memory between them (up to
            // `WINDOW_EVENTS` of their events): a window of four files, most of them served
            // from memory, read the one file among them on one core while the other waited
            // (at 1 GB of trail, 31 files to read among 1,331 made 333 windows).
            // One set of buffers per thread for the whole re-read, not one per task: buffers
            // made and dropped on every thread for every window grew the allocator's arenas
            // (a `plan` at 1 GB of trail peaked 130 MB higher).
            use rayon::prelude::*;
            let scratch: Vec<std::sync::Mutex<Scratch>> =
                (0..threads).map(|_| std::sync::Mutex::new(Scratch::new())).collect();
            let mut start = 0;
            while start < files.len() {
                let end = window_end(&files, &in_memory, start, WINDOW * threads);
                let window = &files[start..end];
                start = end;
                let got: Vec<anyhow::Result<Vec<(usize, Event)>>> = window
                    .par_iter()
                    .map(|(file, want)| {
                        let k = rayon::current_thread_index().unwrap_or(0) % threads;
                        let mut st = scratch[k].lock().unwrap_or_else(|e| e.into_inner());
                        let mut out = Vec::with_capacity(want.len());
                        self.file_events(*file, want, &mut st, &mut |p, e| out.push((p, e)))?;
                        Ok(out)
                    })
                    .collect();
                for events in got {
                    for (p, e) in events? {
                        f(p, e);
                    }
                }
            }
        }
        // With what earlier reports of this run read (a command may ask more than once),
        // written here, in order: the last written holds them all. Those carried from the run
        // this run extends, not written yet, are written with them.
        let mut all = self.read_again.lock().unwrap_or_else(|e| e.into_inner());
        let carried = self.events_carried.swap(false, std::sync::atomic::Ordering::Relaxed);
        if for_cache && (!log.is_empty() || carried) {
            all.append(log);
            all.sort();
            let none = Kept::default();
            match self.saved_events().unwrap_or(&none).union(&all) {
                Some(union) => self.save_derived("events", |out| Kept::put_saved(union, out)),
                // Over the bound: what this run read is not kept (nor held) any longer.
                None => *all = KeptLog::default(),
            }
        } else if !log.is_empty() && all.bytes() + log.bytes() <= MAX_SAVED_BYTES {
            // Held for this run's later reports only, within the same bound.
            all.append(log);
            all.sort();
        }
        // The files' scratch buffers are gone: hand their pages back.
        crate::diag::release_free_memory();
        Ok(())
    }

    /// Keeps the events carried from the run this run extends ([`Ingest::events_carried`])
    /// under this run's key `key`, once its table is kept, for a command without seed keys:
    /// one that reads no events (`sessions`) would otherwise leave the next warm run none to
    /// serve. Done once, by this or by the first re-read (with what it read), whichever comes
    /// first: each writes under the lock of what the run read again, so the last written
    /// holds all.
    pub(super) fn keep_carried_events(&self, cache: &super::cache::Cache, key: u128) {
        if !self.carry_with_table {
            return;
        }
        let all = self.read_again.lock().unwrap_or_else(|e| e.into_inner());
        if !self.events_carried.swap(false, std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        if let Some(union) = self.saved_events().and_then(|k| k.union(&all)) {
            cache.save_derived(key, "events", |out| Kept::put_saved(union, out));
        }
    }

    /// [`Ingest::saved_events`]: what an earlier run over this table in the cache kept of the
    /// events its reports read ([`Kept::union`]).
    fn saved_events(&self) -> Option<&Kept> {
        self.saved_events
            .get_or_init(|| self.load_derived("events").and_then(|d| Kept::of_saved(d.bytes())))
            .as_ref()
    }

    /// The wanted events of one file (`want`: `(record, position)`, sorted), from the events
    /// the first pass kept, those kept in the cache beside the run, the cache's entry of the
    /// file, or the file itself re-parsed in `st`.
    fn file_events(
        &self,
        file: u32,
        want: &[(u32, usize)],
        st: &mut Scratch,
        mut f: impl FnMut(usize, Event),
    ) -> anyhow::Result<()> {
        let cap = self.max_file_bytes;
        if self.kept.serve(file, want, &mut f)
            || self.saved_events().is_some_and(|k| k.serve(file, want, &mut f))
        {
            return Ok(());
        }
        // Decoded under the lock, handed over after it.
        let again = self.read_again.lock().unwrap_or_else(|e| e.into_inner()).events_of(file, want);
        if let Some(events) = again {
            for (w, e) in want.iter().zip(events) {
                f(w.1, e);
            }
            return Ok(());
        }
        if let Some(Some(c)) = self.cached.get(file as usize) {
            let mut records: Vec<u32> = want.iter().map(|w| w.0).collect();
            records.dedup();
            if let Some(events) = c.events(file, &records).filter(|e| e.len() == records.len()) {
                let mut sink = EachEvent { file, want, f: &mut f, found: 0 };
                for e in events {
                    sink.event(e);
                }
                return Ok(());
            }
            // The entry is gone or damaged: the file itself, checked as below.
        }
        let f_in = &self.inputs[file as usize];
        let gone = |what: String| anyhow::anyhow!("re-reading {what} (did the file change?)");
        let data = if f_in.is_stdin() { self.stdin.as_deref() } else { None };
        let damage = read_decoded(f_in, data, st, cap)
            .map_err(|(_, d)| gone(format!("{}: {d}", f_in.display())))?;
        let mut sink = EachEvent { file, want, f: &mut f, found: 0 };
        let flat = if damage.is_none() && parquet::is_parquet(&st.raw) {
            super::result::parquet_to_json_lines(&st.raw)
        } else {
            None
        };
        if let Some(rows) = flat {
            let (mut lines, bad) = rows.map_err(|e| gone(format!("{}: {e}", f_in.display())))?;
            super::read::parse_rows(&mut lines, &bad, &mut st.json, &mut sink);
        } else if damage.is_none() && parquet::is_parquet(&st.raw) {
            parquet::read(
                &st.raw,
                file,
                |r| want.binary_search_by_key(&r, |w| w.0).is_ok(),
                |_| true,
                |r| {
                    if let Ok(e) = r {
                        sink.event(e);
                    }
                },
            )
            .map_err(|e| gone(format!("{}: {e}", f_in.display())))?;
        } else {
            match parse_decoded(st, cap, &mut sink) {
                // The salvaged records of a damaged file are events like any other.
                Ok(_) | Err(FileError::Damaged { .. }) => {}
                // A broken gzip object whose readable part held records that were kept.
                Err(_) if damage.is_some() => {}
                Err(e) => return Err(gone(format!("{}: {e}", f_in.display()))),
            }
        }
        if sink.found < want.len() {
            return Err(gone(format!(
                "{}: {} of its records are gone",
                f_in.display(),
                want.len() - sink.found
            )));
        }
        Ok(())
    }
}

/// How many files to re-read before they are read on every thread ([`Ingest::for_each_event`]).
const PARALLEL_FILES: usize = 32;

/// Files per thread in one window of a parallel re-read: enough that files of unequal size
/// even out between the threads.
const WINDOW: usize = 2;

/// At most this many wanted events of files served from memory in one window of a parallel
/// re-read ([`Ingest::for_each_event`]), decoded and held until the window is handed over.
const WINDOW_EVENTS: usize = 4096;

/// The end of the window of `files` that starts at `start`: at most `reads` files to read
/// (`in_memory` false), with the files served from memory before the next one (at most
/// [`WINDOW_EVENTS`] of their wanted events, unless the window would be empty).
fn window_end(
    files: &[(u32, Vec<(u32, usize)>)],
    in_memory: &[bool],
    start: usize,
    reads: usize,
) -> usize {
    let (mut end, mut read, mut served) = (start, 0, 0);
    while end < files.len() {
        if in_memory.get(end).copied().unwrap_or(false) {
            let n = files[end].1.len();
            if served + n > WINDOW_EVENTS && end > start {
                break;
            }
            served += n;
        } else {
            if read == reads.max(1) {
                break;
            }
            read += 1;
        }
        end += 1;
    }
    end
}

/// The sink of [`Ingest::for_each_event`]: normalizes the wanted records of one file and hands
/// each over at once.
struct EachEvent<'a, F> {
    file: u32,
    /// `(record, position)`, sorted.
    want: &'a [(u32, usize)],
    f: &'a mut F,
    found: usize,
}

impl<F: FnMut(usize, Event)> EachEvent<'_, F> {
    fn event(&mut self, e: Event) {
        let idx = e.origin.record;
        let lo = self.want.partition_point(|w| w.0 < idx);
        let hi = self.want.partition_point(|w| w.0 <= idx);
        if lo == hi {
            return;
        }
        self.found += hi - lo;
        for w in &self.want[lo..hi - 1] {
            (self.f)(w.1, e.clone());
        }
        (self.f)(self.want[hi - 1].1, e);
    }
}

impl<F: FnMut(usize, Event)> parse::RecordSink for EachEvent<'_, F> {
    fn record(&mut self, r: Option<&raw::RawRecord<'_>>, idx: u32) {
        let Some(r) = r else { return };
        if self.want.binary_search_by_key(&idx, |w| w.0).is_err() {
            return;
        }
        if let Ok(e) = parse::normalize(r, self.file, idx) {
            self.event(e);
        }
    }
    fn unparsed(&mut self, _: u32, _: RejectReason, _: String) {}
    fn only_foreign(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::{window_end, WINDOW_EVENTS};

    /// Files of `n` wanted events each.
    fn files(n: &[usize]) -> Vec<(u32, Vec<(u32, usize)>)> {
        n.iter()
            .enumerate()
            .map(|(f, &k)| (f as u32, (0..k as u32).map(|r| (r, 0)).collect()))
            .collect()
    }

    #[test]
    fn a_window_holds_its_files_to_read_and_the_served_files_between_them() {
        // Two files to read per window among files served from memory: the windows end
        // before the third file to read, not after four files of any kind.
        let fs = files(&[1; 12]);
        let mem = [true, false, true, true, true, false, true, false, true, true, false, true];
        assert_eq!(window_end(&fs, &mem, 0, 2), 7);
        assert_eq!(window_end(&fs, &mem, 7, 2), 12);
        // Every file served from memory: one window, bounded by the events it holds.
        let fs = files(&[WINDOW_EVENTS / 2, WINDOW_EVENTS / 2, 1, 5]);
        assert_eq!(window_end(&fs, &[true; 4], 0, 2), 2);
        assert_eq!(window_end(&fs, &[true; 4], 2, 2), 4);
        // A served file larger than the bound still makes a window of its own.
        let fs = files(&[WINDOW_EVENTS + 1, 1]);
        assert_eq!(window_end(&fs, &[true; 2], 0, 2), 1);
        // Nothing served from memory: `reads` files a window, as before.
        let fs = files(&[3; 5]);
        assert_eq!(window_end(&fs, &[false; 5], 0, 4), 4);
        assert_eq!(window_end(&fs, &[false; 5], 4, 4), 5);
    }
}

//! The whole run's result, kept beside the file entries: a second run over the same files
//! with the same options loads the merged, deduplicated, sorted event table in one read,
//! instead of taking every file's entry and merging them again.
//!
//! Its key is a hash of the options that shape the table (window, cap, inventory only), the
//! file list in order (as named, whether named on the command line) and each file's absolute
//! path and [`StatKey`] (device and inode included), taken *before* the files are read: a file that changes during or
//! after the run has another key next time, so the result is never used for other bytes. It
//! is written only when every file went through the cache and the walk met no problem (such a
//! run is re-done in full, files from their entries). The reference time and what depends on
//! it (time anomalies) are computed again on load, as a cold run would.
//!
//! What later stages compute from the table alone (the session graph) can be kept beside it
//! under the same key ([`Cache::save_derived`]); it holds exactly as long as the table does.

use super::codec::{get_facts, get_issuing, put_facts, put_issuing, Fields, Reader, Sink, Writer};
use super::entry::{StatKey, CACHED_FAILS, CACHED_SKIPS, REJECTS, SHAPES};
use super::{Cache, CachedEvents, Stream};
use crate::ingest::intern::StringList;
use crate::ingest::issuing::IssuingCall;
use crate::ingest::{
    Conflict, CredFacts, Growable, Ingest, IngestOptions, IngestStats, InputFile, Located, Problem,
    Severity, Stub, Stubs,
};
use std::path::PathBuf;

const MAGIC: &[u8; 8] = b"THCACHEr";
const DERIVED_MAGIC: &[u8; 8] = b"THCACHEd";
const FORMAT: u32 = 14;
/// Bytes of one stub in the table (time, created, file, record, six strings, flags).
/// A stub as it is in memory ([`Stub`] is `repr(C)`): the run's table is read in place.
const STUB_BYTES: usize = std::mem::size_of::<Stub>();
const STUB_ALIGN: usize = std::mem::align_of::<Stub>();

/// How many runs (merged tables with their graphs) a cache keeps: the most recently used.
pub(crate) const KEPT_RUNS: usize = 4;

/// The key of one run: computed before anything is read.
#[derive(Debug, Clone)]
pub(crate) struct RunKey {
    pub(super) hash: u128,
    /// What the hash is of: the options ([`RunKey::head`]), then each file's entry (path as
    /// named, whether named, absolute path, [`StatKey`]) end to end, ending at `ends`.
    pub(super) head: Vec<u8>,
    pub(super) entries: Vec<u8>,
    pub(super) ends: Vec<usize>,
}

/// A run's result ready to be kept ([`Cache::prepare_run`]), until [`RunSave::write`].
#[derive(Debug)]
pub(crate) struct RunSave {
    cache: std::sync::Arc<Cache>,
    key: RunKey,
    /// The table's head and tail ([`encode_ends`]).
    head: Vec<u8>,
    tail: Vec<u8>,
    grow: Option<Box<Growable>>,
}

impl RunSave {
    /// The key of the run being kept.
    pub(crate) fn hash(&self) -> u128 {
        self.key.hash
    }

    /// Keeps the run: [`RunSave::write_growable`], [`RunSave::write_inputs`], then
    /// [`RunSave::write_table`].
    pub(crate) fn write(
        mut self,
        ing: &Ingest,
        details: impl std::ops::Deref<Target = Vec<IssuingCall>>,
        creds: impl std::ops::Deref<Target = crate::ingest::Creds>,
    ) {
        self.write_growable();
        self.write_inputs(details, creds);
        self.write_table(ing);
    }

    /// Keeps the run with `write` on a thread of its own while `here` runs on this one, and
    /// returns what `here` returns: the run's table is encoded on one core while the command
    /// goes on with it on the other (the session graph, `scan`'s report). When no thread can be
    /// started, `fallback` keeps the run here first; otherwise it is dropped at once (with
    /// what it holds). A panic of the writer is raised here once `here` is done.
    pub(crate) fn keep_beside<R>(
        self,
        write: impl FnOnce(RunSave) + Send,
        fallback: impl FnOnce(RunSave),
        here: impl FnOnce() -> R,
    ) -> R {
        // Through a slot: a thread that cannot be started drops its closure, and the run with
        // it.
        let slot = std::sync::Mutex::new(Some(self));
        let take = || slot.lock().ok().and_then(|mut r| r.take());
        std::thread::scope(|s| {
            let writer = std::thread::Builder::new()
                .name("trailhound-keep-run".into())
                .spawn_scoped(s, || {
                    if let Some(run) = take() {
                        write(run);
                    }
                });
            match &writer {
                Ok(_) => drop(fallback),
                Err(_) => {
                    if let Some(run) = take() {
                        fallback(run);
                    }
                }
            }
            let out = here();
            if let Ok(w) = writer {
                if let Err(panic) = w.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            out
        })
    }

    /// Keeps what extends the run (its `.files` and `.grow`), first of its parts: its event
    /// ids and digests are let go of as soon as they are encoded (110 MB at 5 GB of trail),
    /// before the session graph is built. Should the table not be written after all, they are
    /// removed with the run's other parts ([`RunSave::write_table`]).
    pub(crate) fn write_growable(&mut self) {
        if let Some(grow) = self.grow.take() {
            self.cache.save_growable(&self.key, &grow);
            crate::diag::mark("cache: what extends the run encoded");
        }
    }

    /// Keeps the run's graph inputs (`details` and `creds`, let go of as soon as they are
    /// encoded). Encoded here and written in the background as it is ([`super::Stream`]),
    /// never whole in memory.
    pub(crate) fn write_inputs(
        &self,
        details: impl std::ops::Deref<Target = Vec<IssuingCall>>,
        creds: impl std::ops::Deref<Target = crate::ingest::Creds>,
    ) {
        let hash = self.key.hash;
        let mut inputs = Stream::start(self.cache.derived_path(hash, "inputs"), || true, |_| {});
        derived_header(&mut inputs.w, hash);
        put_graph_inputs(&mut inputs, &details, &creds);
        inputs.finish();
        drop((details, creds));
        crate::diag::mark("cache: graph inputs encoded");
    }

    /// Keeps the run's table, its last part, the same way. Once the table is written, older
    /// runs and removed files' entries are pruned; if it cannot be, the parts written before
    /// it are removed (no run could use them, and pruning leaves a run without a table alone).
    ///
    /// Reads only the strings, stubs and per-file facts of `ing`, so that it can run on one
    /// core while the session graph is built on the other from the same table
    /// ([`crate::chain::SessionGraph::build_releasing`]).
    pub(crate) fn write_table(self, ing: &Ingest) {
        let RunSave { cache, key, head, tail, grow: _ } = self;
        let hash = key.hash;
        let pruner = cache.clone();
        // The entries of this run's files name files just looked at: not opened to be pruned.
        let own = ing.cached.iter().flatten().map(CachedEvents::entry_name).collect();
        let mut table = Stream::start(
            cache.run_path(hash),
            || true,
            move |written| {
                if written {
                    crate::diag::mark("cache: run kept");
                    pruner.prune_runs(hash);
                    pruner.prune_files(&own);
                    crate::diag::mark("cache: old runs and removed files' entries pruned");
                } else {
                    for part in ["inputs", "files", "grow"] {
                        let _ = std::fs::remove_file(pruner.derived_path(hash, part));
                    }
                }
            },
        );
        put_table(&mut table, ing, head, tail);
        table.finish();
        crate::diag::mark("cache: run encoded");
        ing.keep_carried_events(&cache, hash);
    }
}

/// What [`Cache::load_derived`] read: the bytes kept, after their header.
pub(crate) struct Derived {
    bytes: std::sync::Arc<super::Sealed>,
    start: usize,
}

impl Derived {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
    /// The file the bytes are read from, to keep (and read in place) beyond this value, and
    /// where [`Derived::bytes`] start in it.
    pub(crate) fn file(&self) -> (&std::sync::Arc<super::Sealed>, usize) {
        (&self.bytes, self.start)
    }
    /// [`super::Sealed::release`]: `part` of [`Derived::bytes`] is done with.
    pub(crate) fn release(&self, part: &[u8]) {
        self.bytes.release(part);
    }
}

impl RunKey {
    pub(crate) fn hash(&self) -> u128 {
        self.hash
    }
}

impl Cache {
    /// What was kept under `what` beside the run `key` ([`Cache::save_derived`]).
    pub(crate) fn load_derived(&self, key: u128, what: &str) -> Option<Derived> {
        let path = self.derived_path(key, what);
        // A file this process was still writing is read again once written, not taken from
        // what was read before.
        let written = super::wait_for_write_of(&path);
        let pre = self.prefetched.lock().ok().and_then(|mut p| p.take());
        let bytes = match pre {
            Some((at, bytes)) if at == path && !written => bytes,
            _ => super::read_sealed(&path)?,
        };
        let mut r = Reader::new(&bytes);
        if r.b.get(..8)? != DERIVED_MAGIC {
            return None;
        }
        r.b = &r.b[8..];
        if r.u32()? != FORMAT || r.str()? != super::stamp() || r.u128()? != key {
            return None;
        }
        let start = bytes.len() - r.b.len();
        Some(Derived { bytes: std::sync::Arc::new(bytes), start })
    }

    /// Keeps what `encode` writes under `what` beside the run `key`: something computed from
    /// that run's table alone (the session graph), so it holds for every run that loads the
    /// table.
    ///
    /// Written in the background as it is encoded ([`Stream`]), after what was given before.
    /// It is not written when the run's table (`.r`) is not there once those are written (its
    /// writing failed), so that nothing is kept that no run can use or prune.
    pub(crate) fn save_derived(&self, key: u128, what: &str, encode: impl FnOnce(&mut Stream)) {
        let (path, table) = (self.derived_path(key, what), self.run_path(key));
        // A file: something else in the table's place (a directory) is no table.
        let mut out = Stream::start(path, move || table.is_file(), |_| {});
        derived_header(&mut out.w, key);
        encode(&mut out);
        out.finish();
    }

    /// [`Cache::save_derived`] on a thread of its own, while the command goes on with what
    /// `encode` reads (shared with it).
    pub(crate) fn save_derived_beside(
        self: &std::sync::Arc<Self>,
        key: u128,
        what: &str,
        encode: impl FnOnce(&mut Stream) + Send + 'static,
    ) {
        let (cache, name) = (self.clone(), what.to_string());
        let path = self.derived_path(key, what);
        super::write::beside(vec![path], Box::new(move || cache.save_derived(key, &name, encode)));
    }

    pub(super) fn derived_path(&self, key: u128, what: &str) -> PathBuf {
        let what: String = what.chars().filter(char::is_ascii_alphanumeric).collect();
        self.dir.join("runs").join(format!("{key:032x}.{what}"))
    }

    /// The key of a run over `files` with `opts`; `None` when a file cannot be looked at
    /// (it is then read, and reported, by the usual path). `stats` holds what the file system
    /// said of each file when it was found (the walk follows links, as this does), or `None`
    /// to ask it here.
    pub(crate) fn run_key(
        &self,
        opts: &IngestOptions,
        files: &[InputFile],
        stats: &[Option<std::fs::Metadata>],
    ) -> Option<RunKey> {
        use rayon::prelude::*;
        if stats.len() != files.len() {
            return None;
        }
        // The absolute path as named and what the file system says of the file it leads to
        // (device and inode included): no need to resolve every link of every path.
        let states: Vec<Option<(PathBuf, StatKey)>> = files
            .par_iter()
            .zip(stats)
            .map(|(f, m)| {
                let a = std::path::absolute(&f.path).ok()?;
                let m = match m {
                    Some(m) => StatKey::of(m),
                    None => StatKey::of(&std::fs::metadata(&a).ok()?),
                };
                Some((a, m))
            })
            .collect();
        let mut head = Writer::default();
        head.u32(FORMAT);
        head.str(super::stamp());
        for t in [opts.since, opts.until] {
            head.opt_i64(t);
        }
        head.u64(opts.max_file_bytes);
        head.u8(u8::from(opts.inventory_only));
        let mut w = Writer::default();
        let mut ends = Vec::with_capacity(files.len());
        for (f, s) in files.iter().zip(states) {
            let (a, stat) = s?;
            w.str(&f.path.to_string_lossy());
            w.u8(u8::from(f.explicit));
            w.str(&a.to_string_lossy());
            stat.put(&mut w);
            ends.push(w.buf.len());
        }
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&head.buf);
        h.update(&w.buf);
        Some(RunKey { hash: h.digest128(), head: head.buf, entries: w.buf, ends })
    }

    pub(super) fn run_path(&self, hash: u128) -> PathBuf {
        self.dir.join("runs").join(format!("{hash:032x}.r"))
    }

    /// The result of an earlier run with this key, as that run handed it on. What was kept
    /// beside it under `then` (the session graph, for a command that needs it next) is read
    /// meanwhile, on the other core: reading a file and checking its seal is one pass on one
    /// core, the graph's a twentieth of a warm `plan` at 1 GB of trail.
    pub(crate) fn load_run(
        &self,
        key: &RunKey,
        files: Vec<InputFile>,
        then: Option<&str>,
    ) -> Option<Ingest> {
        let path = self.run_path(key.hash);
        super::wait_for_write_of(&path);
        // Both files read before the table is decoded: nothing the other core allocates
        // lands in the region the decoding keeps ([`crate::arena`]).
        let (bytes, pre) = rayon::join(
            || super::read_sealed(&path),
            || {
                let path = self.derived_path(key.hash, then?);
                let bytes = super::read_sealed(&path)?;
                Some((path, bytes))
            },
        );
        if let (Some(pre), Ok(mut slot)) = (pre, self.prefetched.lock()) {
            *slot = Some(pre);
        }
        let ing = self.decode_run(std::sync::Arc::new(bytes?), key.hash, files, true)?;
        // Marked as used now, for [`Cache::prune_runs`] (best effort: a read-only cache
        // still works).
        let _ = std::fs::File::options()
            .write(true)
            .open(self.run_path(key.hash))
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        self.hits.fetch_add(ing.inputs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Some(ing)
    }

    /// The table of the run `hash` over `files` ([`decode`]), decoded into the memory region
    /// of [`crate::arena`] when `in_region` (a table that is not grown afterwards).
    pub(super) fn read_run(
        &self,
        hash: u128,
        files: Vec<InputFile>,
        in_region: bool,
    ) -> Option<Ingest> {
        let path = self.run_path(hash);
        super::wait_for_write_of(&path);
        self.decode_run(std::sync::Arc::new(super::read_sealed(&path)?), hash, files, in_region)
    }

    /// [`Cache::read_run`] of the run file's bytes, read already; shared with the table's
    /// stubs, which are read in place from it.
    fn decode_run(
        &self,
        bytes: std::sync::Arc<super::Sealed>,
        hash: u128,
        files: Vec<InputFile>,
        in_region: bool,
    ) -> Option<Ingest> {
        let kept = in_region.then(crate::arena::Keep::begin);
        let ing = decode(&bytes, hash, files, |name, hash| CachedEvents {
            path: self.dir.join("files").join(name),
            hash,
        });
        drop(kept);
        ing
    }

    /// Gets this run's result ready to be kept, when every file went through the cache:
    /// what can fail is checked and encoded here, before anything is written; `None` when
    /// the run cannot be kept. [`RunSave::write`] then writes it.
    pub(crate) fn prepare_run(
        self: &std::sync::Arc<Self>,
        key: RunKey,
        ing: &Ingest,
        grow: Option<Box<Growable>>,
    ) -> Option<RunSave> {
        if ing.stdin.is_some() || ing.cached.iter().any(Option::is_none) {
            return None;
        }
        let (head, tail) = encode_ends(&key, ing)?;
        std::fs::create_dir_all(self.dir.join("runs")).ok()?;
        Some(RunSave { cache: self.clone(), key, head, tail, grow })
    }

    /// Removes the kept runs (merged table, graph inputs, graph) beyond the
    /// [`KEPT_RUNS`] most recently used, `newest` always kept. A run is keyed by its files and
    /// their states, so each batch of newly arrived log files makes a new one and the one
    /// before is rarely asked for again: without this, a case re-run as logs arrive would
    /// keep a dead copy of its whole table per batch (half a GB a batch at 5 GB of trail).
    /// Another run of the same cache that still wants a removed run finds it missing: a miss,
    /// which rebuilds it from the files' entries.
    fn prune_runs(&self, newest: u128) {
        let Ok(dir) = std::fs::read_dir(self.dir.join("runs")) else { return };
        let mut used: Vec<(std::time::SystemTime, String)> = Vec::new();
        let mut all: Vec<(String, std::fs::DirEntry)> = Vec::new();
        for e in dir.flatten() {
            // Only the cache's own files (a review: a user's `<32 characters>.md` beside a
            // `.r` of the same name was removed with the runs): named as one here (not a run
            // file, or one being written, `.tmp…`, is not), and opened to see its magic bytes
            // only where it counts, a run's table (`.r`) or a file about to be removed.
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((key, ext)) = name.split_once('.').filter(|_| super::is_named(&name)) else {
                continue;
            };
            if ext == "r" {
                if !super::is_ours(&e) {
                    continue;
                }
                let t = e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
                used.push((t, key.to_string()));
            }
            all.push((key.to_string(), e));
        }
        used.sort_unstable_by(|a, b| b.cmp(a));
        let newest = format!("{newest:032x}");
        let keep: std::collections::HashSet<&str> = used
            .iter()
            .map(|(_, k)| k.as_str())
            .filter(|k| *k != newest)
            .take(KEPT_RUNS - 1)
            .chain([newest.as_str()])
            .collect();
        let listed: std::collections::HashSet<&str> =
            used.iter().map(|(_, k)| k.as_str()).collect();
        for (key, e) in &all {
            // Parts whose table (`.r`) is not there are left alone: another run sharing the
            // cache may be writing that run's parts now, its table last.
            if listed.contains(key.as_str()) && !keep.contains(key.as_str()) && super::is_ours(e) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// The header of a part kept beside the run `key`.
pub(super) fn derived_header(w: &mut Writer, key: u128) {
    w.buf.extend_from_slice(DERIVED_MAGIC);
    w.u32(FORMAT);
    w.str(super::stamp());
    w.u128(key);
}

/// The static string `s` is in `list`, as that one.
fn known(list: &[&'static str], s: &str) -> Option<&'static str> {
    list.iter().find(|x| **x == s).copied()
}

fn reasons() -> Vec<&'static str> {
    let mut v: Vec<&'static str> =
        CACHED_SKIPS.iter().chain(CACHED_FAILS.iter()).copied().collect();
    v.extend(REJECTS.iter().map(|r| r.code()));
    v
}

const SEVERITIES: [Severity; 3] = [Severity::Failed, Severity::Rejected, Severity::Skipped];

fn put_stats(w: &mut Writer, s: &IngestStats) {
    let IngestStats {
        files_seen,
        files_read,
        files_skipped,
        files_failed,
        records,
        events,
        duplicates,
        rejected,
        filtered_out,
        missing_event_id,
        conflicts,
        time_anomalies: _,
        truncated_fields,
        salvaged_records,
        bytes_read,
        bytes_decompressed,
        shapes,
    } = s;
    for v in [
        files_seen,
        files_read,
        files_skipped,
        files_failed,
        records,
        events,
        duplicates,
        rejected,
        filtered_out,
        missing_event_id,
        conflicts,
        truncated_fields,
        salvaged_records,
        bytes_read,
        bytes_decompressed,
    ] {
        w.u64(*v);
    }
    w.u32(shapes.len() as u32);
    for (k, v) in shapes {
        w.str(k);
        w.u64(*v);
    }
}

fn get_stats(r: &mut Reader<'_>) -> Option<IngestStats> {
    let mut v = [0u64; 15];
    for x in &mut v {
        *x = r.u64()?;
    }
    let names: Vec<&'static str> =
        SHAPES.iter().map(|s| crate::ingest::merge::shape_name(*s)).collect();
    let n = r.count(12)?;
    let mut shapes = std::collections::BTreeMap::new();
    for _ in 0..n {
        let k = known(&names, r.str()?)?;
        shapes.insert(k, r.u64()?);
    }
    Some(IngestStats {
        files_seen: v[0],
        files_read: v[1],
        files_skipped: v[2],
        files_failed: v[3],
        records: v[4],
        events: v[5],
        duplicates: v[6],
        rejected: v[7],
        filtered_out: v[8],
        missing_event_id: v[9],
        conflicts: v[10],
        time_anomalies: 0,
        truncated_fields: v[11],
        salvaged_records: v[12],
        bytes_read: v[13],
        bytes_decompressed: v[14],
        shapes,
    })
}

/// The two ends of a run's table (`.r`), what can fail to encode: the header with the list
/// of files, and the stats, problems and conflicts after the stubs.
fn encode_ends(key: &RunKey, ing: &Ingest) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut w = Writer::with_capacity(64 + 96 * ing.inputs.len());
    w.buf.extend_from_slice(MAGIC);
    w.u128(key.hash);
    w.u64(ing.max_file_bytes);
    w.u32(ing.inputs.len() as u32);
    for (i, c) in ing.cached.iter().enumerate() {
        let c = c.as_ref()?;
        w.str(c.path.file_name()?.to_str()?);
        w.u128(c.hash);
        w.opt_str(ing.file_sha256.get(i)?.as_deref());
    }
    let mut t = Writer::default();
    put_stats(&mut t, &ing.stats);
    let reasons = reasons();
    t.u32(ing.problems.len() as u32);
    for p in &ing.problems {
        known(&reasons, p.reason)?;
        t.str(&p.path);
        t.str(p.reason);
        t.str(&p.detail);
        t.u64(p.record.map_or(u64::MAX, u64::from));
        t.u8(SEVERITIES.iter().position(|s| *s == p.severity)? as u8);
        t.u64(p.more);
    }
    t.u32(ing.conflicts.len() as u32);
    for c in &ing.conflicts {
        t.str(&c.event_id);
        for l in [&c.first, &c.other] {
            t.str(&l.path);
            t.u32(l.record);
        }
    }
    Some((w.buf, t.buf))
}

/// The run's table (`.r`): `head` and `tail` from [`encode_ends`], the strings and the stubs
/// between them ([`decode`] reads it).
fn put_table(out: &mut Stream, ing: &Ingest, head: Vec<u8>, tail: Vec<u8>) {
    out.w.buf.extend_from_slice(&head);
    let (text, ends) = ing.strings.raw_parts();
    // As `Writer::str` would, in pieces.
    out.w.u32(text.len() as u32);
    out.put_all(text.as_bytes().chunks(1 << 20), |w, piece| w.buf.extend_from_slice(piece));
    out.w.u32(ends.len() as u32);
    out.put_all(ends, |w, e| w.u64(*e as u64));
    out.w.u32(ing.stubs.len() as u32);
    // Padding, so that the stubs start at an offset of the file aligned for `Stub`: a warm
    // run reads them in place from the mapped file ([`Stubs::mapped`]).
    let pad = (STUB_ALIGN - (out.at() as usize + 1) % STUB_ALIGN) % STUB_ALIGN;
    out.w.u8(pad as u8);
    out.w.buf.extend_from_slice(&[0; STUB_ALIGN][..pad]);
    out.put_fixed(&ing.stubs, stub_bytes);
    out.w.buf.extend_from_slice(&tail);
}

/// What only the session graph reads (`.inputs`, beside the table: a run that takes the graph
/// from the cache never reads it): the issuing calls and the credentials' first facts
/// ([`decode_graph_inputs`] reads them).
fn put_graph_inputs(out: &mut impl Sink, details: &[IssuingCall], creds: &crate::ingest::Creds) {
    out.w().u32(details.len() as u32);
    out.put_all(details, |w, c| {
        w.u32(c.origin.file);
        w.u32(c.origin.record);
        // Each call behind its length, so that they are decoded in parallel.
        let at = w.buf.len();
        w.u32(0);
        put_issuing(w, c);
        let len = (w.buf.len() - at - 4) as u32;
        w.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    });
    let mut creds: Vec<_> = creds.iter().collect();
    creds.sort_unstable_by_key(|(k, _)| **k);
    out.w().u32(creds.len() as u32);
    out.put_all(creds, |w, ((key, created), f)| {
        w.u32(*key);
        w.i64(*created);
        put_facts(w, f);
    });
}

fn decode(
    file: &std::sync::Arc<super::Sealed>,
    hash: u128,
    files: Vec<InputFile>,
    events: impl Fn(&str, u128) -> CachedEvents,
) -> Option<Ingest> {
    let bytes: &[u8] = file;
    let mut r = Reader::new(bytes);
    if r.b.get(..8)? != MAGIC {
        return None;
    }
    r.b = &r.b[8..];
    if r.u128()? != hash {
        return None;
    }
    let max_file_bytes = r.u64()?;
    let n = r.count(24)?;
    if n != files.len() {
        return None;
    }
    let mut cached = Vec::with_capacity(n);
    let mut file_sha256 = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?;
        if !name.ends_with(".e") || name.contains(['/', '\\']) {
            return None;
        }
        cached.push(Some(events(name, r.u128()?)));
        file_sha256.push(r.opt_str()?.map(str::to_string));
    }
    let text = r.str()?;
    let n = r.count(8)?;
    let mut ends = Vec::with_capacity(n);
    for _ in 0..n {
        ends.push(usize::try_from(r.u64()?).ok()?);
    }
    let strings = StringList::from_raw_parts(text.to_string(), ends)?;
    let n = r.count(STUB_BYTES)?;
    let pad = r.u8()? as usize;
    if pad >= STUB_ALIGN || r.take(pad)?.iter().any(|&b| b != 0) {
        return None;
    }
    let part = r.take(n * STUB_BYTES)?;
    let at = part.as_ptr() as usize - bytes.as_ptr() as usize;
    let stubs = match Stubs::mapped(file, at, n) {
        // In place: only checked.
        Some(stubs) => check_stubs(&stubs, strings.len(), files.len()).then_some(stubs)?,
        None => get_stubs(part, strings.len(), files.len())?.into(),
    };
    let stats = get_stats(&mut r)?;
    let reasons = reasons();
    let n = r.count(29)?;
    let mut problems = Vec::with_capacity(n);
    for _ in 0..n {
        let path = r.str()?.to_string();
        let reason = known(&reasons, r.str()?)?;
        let detail = r.str()?.to_string();
        let record = match r.u64()? {
            u64::MAX => None,
            x => Some(u32::try_from(x).ok()?),
        };
        let severity = *SEVERITIES.get(r.u8()? as usize)?;
        let more = r.u64()?;
        problems.push(Problem { path, reason, detail, record, severity, more });
    }
    let n = r.count(16)?;
    let mut conflicts = Vec::with_capacity(n);
    for _ in 0..n {
        let event_id = r.str()?.to_string();
        let first = Located { path: r.str()?.to_string(), record: r.u32()? };
        let other = Located { path: r.str()?.to_string(), record: r.u32()? };
        conflicts.push(Conflict { event_id, first, other });
    }
    if !r.b.is_empty() {
        return None;
    }
    // All but the stubs was copied out: the pages of the file around them leave the
    // process's resident memory (nothing but the stubs is read from it again).
    file.release(&bytes[..at]);
    file.release(&bytes[at + part.len()..]);
    let mut ing = Ingest {
        files: files.iter().map(InputFile::display).collect(),
        inputs: files,
        stdin: None,
        run_store: None,
        cached,
        max_file_bytes,
        strings,
        file_sha256,
        evidence: Default::default(),
        stubs,
        details: Vec::new(),
        creds: Default::default(),
        graph_inputs_in_cache: true,
        kept: Default::default(),
        account_spans: Default::default(),
        growable: None,
        pending_save: None,
        saved_events: Default::default(),
        events_carried: Default::default(),
        carry_with_table: false,
        read_again: Default::default(),
        stats,
        problems,
        reference_time: 0,
        conflicts,
        time_anomalies: Vec::new(),
    };
    ing.set_reference_time(crate::time::now());
    Some(ing)
}

/// A stub in `STUB_BYTES`; stubs go end to end ([`get_stubs`] reads them).
/// A stub's bytes in the table: its fields little-endian in their order and at their offsets
/// in [`Stub`] (`repr(C)`), the padding after the flags zero.
fn stub_bytes(s: &Stub) -> [u8; STUB_BYTES] {
    let mut b = [0; STUB_BYTES];
    b[0..8].copy_from_slice(&s.time.to_le_bytes());
    b[8..16].copy_from_slice(&s.created.to_le_bytes());
    let words = [s.file, s.record, s.key, s.ip, s.account, s.region, s.source, s.principal];
    for (at, v) in (16..).step_by(4).zip(words) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    b[48] = s.flags;
    b
}

/// The stubs [`put_table`] wrote end to end, `STUB_BYTES` each, for a table of `strings`
/// strings and `files` files; `None` when one refers past either. Decoded in parallel, each
/// straight into its place (800,000 of them at 1 GB of trail: a fifth of a warm run's load
/// when decoded one after the other), then checked.
fn get_stubs(b: &[u8], strings: usize, files: usize) -> Option<Vec<Stub>> {
    use rayon::prelude::*;
    let stubs: Vec<Stub> = b
        .par_chunks_exact(STUB_BYTES)
        .with_min_len(4096)
        .map(|rec| {
            // In the order `stub_bytes` wrote them.
            let mut f = Fields(rec);
            Stub {
                time: f.u64() as i64,
                created: f.u64() as i64,
                file: f.u32(),
                record: f.u32(),
                key: f.u32(),
                ip: f.u32(),
                account: f.u32(),
                region: f.u32(),
                source: f.u32(),
                principal: f.u32(),
                flags: f.u8(),
            }
        })
        .collect();
    check_stubs(&stubs, strings, files).then_some(stubs)
}

/// True when no stub refers past the table's `strings` strings or its `files` files.
fn check_stubs(stubs: &[Stub], strings: usize, files: usize) -> bool {
    use rayon::prelude::*;
    let local = |i: u32| i == crate::ingest::NONE || (i as usize) < strings;
    let fits = |s: &Stub| {
        (s.file as usize) < files
            && [s.key, s.ip, s.account, s.region, s.source, s.principal].into_iter().all(local)
    };
    stubs.par_iter().with_min_len(4096).all(fits)
}

/// Credential facts by their key, `(access key id, creationDate)`, the keys rising.
pub(crate) type KeyedFacts = Vec<((u32, i64), CredFacts)>;

/// The issuing calls and credential facts [`put_graph_inputs`] wrote behind their count, for a
/// table of `strings` strings and `files` files; the facts in the order of their keys, which
/// rise.
pub(crate) fn decode_graph_inputs(
    b: &[u8],
    strings: usize,
    files: usize,
) -> Option<(Vec<IssuingCall>, KeyedFacts)> {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    let local = |i: u32| (i == crate::ingest::NONE || (i as usize) < strings).then_some(i);
    let mut r = Reader::new(b);
    let n = r.count(12)?;
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        let origin = crate::model::Origin { file: r.u32()?, record: r.u32()? };
        if origin.file as usize >= files {
            return None;
        }
        let len = r.u32()? as usize;
        parts.push((origin, r.take(len)?));
    }
    // Decoded in parallel, each straight into its place (40,000 of them at 1 GB of trail, a
    // third of what a run that extends an earlier one spends loading it, one after the other).
    let bad = AtomicBool::new(false);
    let mut details = Vec::with_capacity(n);
    parts
        .par_iter()
        .with_min_len(256)
        .map(|&(origin, part)| {
            let mut r = Reader::new(part);
            match get_issuing(&mut r, origin) {
                Some(c) if r.b.is_empty() => c,
                _ => {
                    bad.store(true, Ordering::Relaxed);
                    IssuingCall::default()
                }
            }
        })
        .collect_into_vec(&mut details);
    if bad.into_inner() {
        return None;
    }
    drop(parts);
    let n = r.count(42)?;
    let mut creds: KeyedFacts = Vec::with_capacity(n);
    for _ in 0..n {
        let key = (local(r.u32()?)?, r.i64()?);
        if creds.last().is_some_and(|(k, _)| *k >= key) {
            return None;
        }
        creds.push((key, get_facts(&mut r, local)?));
    }
    r.b.is_empty().then_some((details, creds))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stubs come back as written, in order, across the parallel pieces; one that names a
    /// string or a file past the table's makes the whole table a miss.
    fn stub(i: u32) -> Stub {
        Stub {
            time: 1_700_000_000 + i64::from(i),
            created: if i % 3 == 0 { crate::ingest::NO_TIME } else { -i64::from(i) },
            file: i % 7,
            record: i,
            key: if i % 5 == 0 { crate::ingest::NONE } else { i % 40 },
            ip: i % 41,
            account: i % 42,
            region: i % 43,
            source: i % 44,
            principal: i % 45,
            flags: (i % 256) as u8,
        }
    }

    #[test]
    fn stubs_round_trip_and_fail_closed() {
        let stubs: Vec<Stub> = (0..20_000).map(stub).collect();
        let encoded = |stubs: &[Stub]| {
            let mut w = Writer::default();
            w.put_fixed(stubs, stub_bytes);
            w.buf
        };
        let b = encoded(&stubs);
        assert_eq!(b.len(), STUB_BYTES * stubs.len());
        // Strings 0..45 (`principal` reaches 44), files 0..7.
        assert!(get_stubs(&b, 45, 7).as_deref() == Some(&stubs[..]), "round trip");
        assert!(get_stubs(&b, 44, 7).is_none(), "a string past the table's");
        assert!(get_stubs(&b, 45, 6).is_none(), "a file past the table's");
        let mut late = stubs.clone();
        late[19_999].principal = 45;
        assert!(get_stubs(&encoded(&late), 45, 7).is_none(), "in the last piece too");
    }

    /// A table's stubs written at an aligned offset are read in place, as they were written;
    /// at an offset that is not aligned, or running past the file, they are not (the caller
    /// then decodes a copy).
    #[test]
    fn stubs_are_read_in_place_only_where_they_fit() {
        let stubs: Vec<Stub> = (0..5_000).map(stub).collect();
        let mut w = Writer::default();
        // The stubs after a header, at an aligned address (a vector of bytes need not be).
        w.buf.reserve(STUB_ALIGN * 3 + stubs.len() * STUB_BYTES + 16);
        let skew = (STUB_ALIGN - w.buf.as_ptr() as usize % STUB_ALIGN) % STUB_ALIGN;
        let at = skew + STUB_ALIGN;
        w.buf.extend_from_slice(&vec![7; at]);
        w.put_fixed(&stubs, stub_bytes);
        let body = w.buf.len();
        w.buf.extend_from_slice(&[0; 16]); // where the seal goes
        let file = std::sync::Arc::new(super::super::Sealed::Read(w.buf, body));
        assert_eq!((file.as_ptr() as usize + at) % STUB_ALIGN, 0);
        let m = Stubs::mapped(&file, at, stubs.len()).expect("aligned and inside");
        assert_eq!(format!("{m:?}"), "Stubs(5000 mapped)");
        assert!(m[..] == stubs[..], "read in place as written");
        assert!(check_stubs(&m, 45, 7));
        assert!(Stubs::mapped(&file, at - STUB_ALIGN / 2, stubs.len()).is_none(), "not aligned");
        assert!(Stubs::mapped(&file, at, stubs.len() + 1).is_none(), "past the end");
        assert!(m.into_vec() == stubs, "copied out");
    }

    #[test]
    fn issuing_calls_survive_their_round_trip_and_fail_closed() {
        use crate::ingest::issuing::{Strs, FIELDS};
        let owned: Vec<String> = (1..=FIELDS).map(|n| format!("s{n}")).collect();
        let strs: Strs<'_> = std::array::from_fn(|i| Some(owned[i].as_str()));
        let mut c = IssuingCall::new(9, crate::model::Origin { file: 2, record: 3 }, &strs);
        c.creation_date = Some(4);
        c.credentials_expiration = Some(5);
        c.access_key_created = Some(6);
        c.from_console = true;
        let mut w = Writer::default();
        put_issuing(&mut w, &c);
        let mut r = Reader::new(&w.buf);
        assert_eq!(get_issuing(&mut r, c.origin), Some(c.clone()));
        assert!(r.b.is_empty());
        // As the cache keeps them: many, decoded in parallel, each in its place; the facts
        // after them. Cut short or scribbled over anywhere, they fail closed (or decode to
        // other values of the same shape), never panic.
        let calls: Vec<IssuingCall> = (0..1000u32)
            .map(|i| {
                let mut call = c.clone();
                call.set_id(&format!("id-{i}"));
                call.time = i64::from(i);
                call.origin = crate::model::Origin { file: i % 3, record: i };
                call
            })
            .collect();
        let facts = CredFacts {
            kind: 1,
            arn: crate::ingest::NONE,
            account_id: 2,
            principal_id: 0,
            user_name: 1,
            issuer_kind: 2,
            issuer_arn: 0,
            source_identity: 2,
            from_console: true,
            ec2_instance: false,
        };
        let creds: crate::ingest::Creds = [((1, -1), facts), ((0, 7), facts)].into_iter().collect();
        let mut out = Writer::default();
        put_graph_inputs(&mut out, &calls, &creds);
        let (back, facts_back) = decode_graph_inputs(&out.buf, 3, 3).unwrap();
        assert!(back == calls);
        assert_eq!(facts_back, vec![((0, 7), facts), ((1, -1), facts)]);
        assert!(decode_graph_inputs(&out.buf, 2, 3).is_none(), "a string past the table's");
        assert!(decode_graph_inputs(&out.buf, 3, 2).is_none(), "a file past the table's");
        for cut in [1, 7, out.buf.len() / 2, out.buf.len() - 1] {
            assert!(decode_graph_inputs(&out.buf[..cut], 3, 3).is_none(), "cut at {cut}");
        }
        for at in (0..out.buf.len()).step_by(97) {
            let mut b = out.buf.clone();
            b[at] ^= 0xA5;
            let _ = decode_graph_inputs(&b, 3, 3);
        }
    }
}

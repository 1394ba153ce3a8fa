//! Ingest: find every input file, decompress and parse them in parallel, count everything.
//!
//! Pipeline: [`discover`] walks the INPUT paths (S3 export trees, organization trails, single
//! files, `-` for standard input) into a sorted file list; rayon maps each file, with
//! per-thread read/inflate buffers and simd-json scratch, into a per-worker accumulator of
//! compact event stubs (no shared state, no locks in the loop); a single sequential merge
//! then deduplicates on `eventID` (the first copy in file order wins, so output is
//! deterministic), applies the time window and sorts by `(eventTime, eventID)`.
//!
//! Accounting invariant (SPEC §8): over the files that were read,
//! `records == events + duplicates + rejected + filtered_out`, where `filtered_out` counts
//! unique events outside `--since`/`--until` (zero without a window). Every skipped or
//! failed file and every rejected record is a [`Problem`] naming the file (and the record).
//!
//! Files, in pipeline order: `options` (what to read), `discover` (the directory walk),
//! `read` (read, inflate, parse one file), `decompress`, `parse` (document shapes),
//! `tape` and `raw` (records off the simd-json tape), `normalize` (record → [`Event`]),
//! `record_digest` (content digests), `parquet` (exported Parquet input), `result` (query
//! results: CSV and flat JSON Lines rows rebuilt into records), `sink` (the first
//! pass's per-record work), `merge` (the sequential end: merge, dedupe, sort); the result is
//! [`Ingest`], with `table` (stubs, flags, credential facts), `intern` (strings),
//! `issuing` (the graph's issuing calls), `problem` (problems, counters), `evidence` (input
//! fingerprint), `kept` (the seed keys' events, kept in full by the first pass), `reread`
//! (full events read back) and `summary` (problems on stderr).
//!
//! [`Event`]: crate::model::Event

mod cache;
pub mod decompress;
mod discover;
mod evidence;
mod extend;
mod intern;
mod issuing;
mod kept;
mod merge;
mod normalize;
mod options;
pub mod parquet;
pub mod parse;
mod problem;
pub mod raw;
mod read;
mod record_digest;
mod reread;
pub mod result;
mod sink;
mod summary;
mod table;
pub mod tape;
mod watch;

pub(crate) use cache::RunSave;
pub(crate) use cache::Sealed;
pub(crate) use cache::Sink as ByteSink;
pub use cache::{wait_for_writes as wait_for_cache_writes, Cache};
pub(crate) use cache::{Fields as ByteFields, Reader as ByteReader, Writer as ByteWriter};
pub use discover::{discover, InputFile, DIGEST_FOLDER, INSIGHT_FOLDER};
pub use intern::{FxMap, StrMap, StringList, Strings};
pub use issuing::{
    is_detail, needs_detail, signed_in, Field as IssuingField, IssuingCall, Outcome, CONSOLE_LOGIN,
    FUNCTION_CHANGES, LAUNCHES, PROVIDER_CHANGES, ROLE_DELETE, SIGNIN_TOKEN, USER_DELETE,
    USER_RENAME,
};
pub use options::{IngestOptions, DEFAULT_MAX_FILE_BYTES};
pub use problem::{Conflict, IngestStats, Located, Problem, RecordReject, RejectReason};
pub use problem::{Severity, TimeAnomaly};
pub use read::holds_events;
pub use summary::report_problems;
pub use table::SIGN_IN;
pub use table::{id128, CredFacts, Creds, Stub, Stubs, DETAIL, FAILED, HAS_ID, INVOKED_BY};
pub use table::{NONE, NO_TIME};

use crate::model::Origin;
use read::{process_file, Scratch};
use sink::ThreadAcc;
use std::io::Read;

/// The result of ingest.
/// The events of one account in the table ([`Ingest::account_spans`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSpan {
    /// The account id's string.
    pub account: u32,
    /// Its first and last event (unix seconds), time anomalies left out: `i64::MAX` and
    /// `i64::MIN` when it has no other event.
    pub first: i64,
    pub last: i64,
    /// Its events, time anomalies left out.
    pub events: u64,
}

#[derive(Debug, Default)]
pub struct Ingest {
    /// Display path of every discovered file; [`crate::model::Origin::file`] indexes this.
    pub files: Vec<String>,
    inputs: Vec<InputFile>,
    stdin: Option<Vec<u8>>,
    max_file_bytes: u64,
    /// Interned strings of the stubs.
    pub strings: StringList,
    /// SHA-256 of each input file (same index), when hashed during the read.
    file_sha256: Vec<Option<String>>,
    /// [`Ingest::evidence_sha256`], computed once on first use (it re-reads every file that
    /// was not hashed during the read).
    evidence: evidence::Evidence,
    /// The cache and the key of this run, when the run's table is kept in it (loaded from it
    /// or saved to it): what is derived from the table alone can be kept beside it
    /// ([`Ingest::load_derived`]).
    run_store: Option<(std::sync::Arc<Cache>, u128)>,
    /// [`Ingest::details`] and [`Ingest::creds`] are still in the cache, beside the table this
    /// run loaded, until the session graph needs them ([`Ingest::take_graph_inputs`]).
    graph_inputs_in_cache: bool,
    /// Where the events of each file read through `--cache` are (same index as `files`).
    cached: Vec<Option<cache::CachedEvents>>,
    /// Every unique event in the time window, sorted by `(time, id)`.
    pub stubs: Stubs,
    /// The credential-issuing calls (STS, CreateAccessKey), sorted by `(time, id)`, with only
    /// the fields the session graph reads ([`for_graph`]); the full event of any call is
    /// read back with [`Ingest::load_events`]. Empty once
    /// [`crate::chain::SessionGraph::build_releasing`] has used them.
    pub details: Vec<IssuingCall>,
    /// What the first call of each credential `(key, creationDate)` said about its principal.
    /// Empty once [`crate::chain::SessionGraph::build_releasing`] has used them.
    pub creds: Creds,
    pub stats: IngestStats,
    /// Skipped and failed files, rejected records, in file order.
    pub problems: Vec<Problem>,
    /// The run's reference time (unix seconds): now, or `SOURCE_DATE_EPOCH` when set. An
    /// event after it is a time anomaly ([`Ingest::is_time_anomaly`]).
    pub reference_time: i64,
    /// The first [`LISTED`] evidence conflicts (same `eventID`, different content), in
    /// `eventID` order; `stats.conflicts` counts them all.
    pub conflicts: Vec<Conflict>,
    /// The first [`LISTED`] events dated after [`Ingest::reference_time`], in time order;
    /// `stats.time_anomalies` counts them all.
    pub time_anomalies: Vec<TimeAnomaly>,
    /// The events signed by a seed key, kept in full by the first pass ([`kept`]).
    kept: kept::Kept,
    /// [`Ingest::account_spans`], once asked.
    account_spans: std::sync::OnceLock<Vec<AccountSpan>>,
    /// The events an earlier run over the same table in the cache read again for its
    /// reports, loaded on first use ([`Ingest::for_each_event`]).
    saved_events: std::sync::OnceLock<Option<kept::Kept>>,
    /// Whether [`Ingest::saved_events`] came from the earlier run this run extends: they
    /// are kept beside this run's table at its first re-read, even when it reads nothing
    /// more (that run is pruned once this one is kept).
    events_carried: std::sync::atomic::AtomicBool,
    /// Whether the carried events are kept as soon as the table is: for a command without
    /// seed keys, which may never read events again. A report (`--key`) keeps them at its
    /// re-read, with what it reads (written once, not twice).
    carry_with_table: bool,
    /// The events this run read again for its reports (places sorted): they serve its later
    /// reports' re-reads (`plan` after its blast radius, `investigate`'s Parquet file) within
    /// [`kept::MAX_SAVED_BYTES`], and with `--cache` are kept beside the table with the saved
    /// ones.
    read_again: std::sync::Mutex<kept::KeptLog>,
    /// What a later run needs to extend this run's table ([`extend`]), until the table is
    /// kept in the cache; only with `--cache`.
    growable: Option<Box<Growable>>,
    /// The run's table, not kept in the cache yet: the session graph keeps it while it is
    /// built ([`IngestOptions::save_with_graph`]).
    pending_save: Option<Box<cache::RunSave>>,
}

/// What a later run over more files needs to extend a run's table without merging every
/// file again ([`extend`]), kept in the cache beside the table.
#[derive(Debug, Default)]
pub(crate) struct Growable {
    /// Each stub's event id (or the stand-in of an event without one), in stub order.
    pub(crate) ids: Vec<u128>,
    /// Each stub's content digest (under the cache's digest key), in stub order: whether an
    /// event a new file repeats is the same event or another under its id.
    pub(crate) digests: Vec<u64>,
    /// Where the first call of each credential is: `((key, created), (file, record))`, sorted.
    pub(crate) first_calls: Vec<sink::FirstCall>,
}

impl Ingest {
    /// True when `t` (unix seconds) is after the run's reference time: an event dated then
    /// is a time anomaly (SPEC §8), which must never move a default cut-off.
    pub fn is_time_anomaly(&self, t: i64) -> bool {
        t > self.reference_time
    }
    /// True when some input could not be read (exit code 3).
    pub fn incomplete(&self) -> bool {
        self.problems.iter().any(|p| p.severity != Severity::Skipped)
    }
    /// Display path of an event's file.
    pub fn file_of(&self, origin: Origin) -> &str {
        self.files.get(origin.file as usize).map(String::as_str).unwrap_or("?")
    }
    /// An interned string; `None` for [`NONE`].
    pub fn str(&self, i: u32) -> Option<&str> {
        self.strings.get(i as usize)
    }
    /// Every account that events belong to (`recipientAccountId`, else the caller's).
    pub fn accounts(&self) -> std::collections::BTreeSet<&str> {
        self.account_spans().iter().filter_map(|a| self.str(a.account)).collect()
    }
    /// Per account that events belong to, in string order: its first and last event and how
    /// many there are, time anomalies left out ([`crate::taint::evidence_window`]).
    ///
    /// Worked out on first use in one pass over the table, and kept: the graph, `blast` and
    /// `plan` each ask, and each pass over every event was 7 ms of a 160 ms warm `plan` at
    /// 1 GB of trail. The table is not changed once an `Ingest` is made, so neither are they.
    pub fn account_spans(&self) -> &[AccountSpan] {
        self.account_spans.get_or_init(|| {
            // Arrays by string rather than a hash map: one store per event, not a hash and a
            // probe.
            let n = self.strings.len();
            let mut seen = vec![false; n];
            let mut first = vec![i64::MAX; n];
            let mut last = vec![i64::MIN; n];
            let mut events = vec![0u64; n];
            for s in &self.stubs {
                let a = s.account as usize;
                if a >= n {
                    continue; // no account
                }
                seen[a] = true;
                if !self.is_time_anomaly(s.time) {
                    first[a] = first[a].min(s.time);
                    last[a] = last[a].max(s.time);
                    events[a] += 1;
                }
            }
            let mut out: Vec<AccountSpan> = (0..n)
                .filter(|&a| seen[a] && self.str(a as u32).is_some())
                .map(|a| AccountSpan {
                    account: a as u32,
                    first: first[a],
                    last: last[a],
                    events: events[a],
                })
                .collect();
            out.sort_by(|x, y| self.str(x.account).cmp(&self.str(y.account)));
            out
        })
    }
    /// The borrowed view of a credential's facts.
    pub fn use_of(&self, f: &CredFacts) -> crate::model::Use<'_> {
        let s = |i: u32| self.str(i);
        crate::model::Use {
            kind: s(f.kind),
            arn: s(f.arn),
            account_id: s(f.account_id),
            principal_id: s(f.principal_id),
            user_name: s(f.user_name),
            issuer_kind: s(f.issuer_kind),
            issuer_arn: s(f.issuer_arn),
            source_identity: s(f.source_identity),
            from_console: f.from_console,
            ec2_instance: f.ec2_instance,
        }
    }

    /// What an earlier run with the same table kept under `what` ([`Ingest::save_derived`]),
    /// when this run's table came from or went to the cache.
    pub(crate) fn load_derived(&self, what: &str) -> Option<cache::Derived> {
        let (cache, key) = self.run_store.as_ref()?;
        cache.load_derived(*key, what)
    }

    /// Keeps what `encode` writes, derived from this run's table alone, under `what` for the
    /// next run with the same table (nothing, and `encode` is not called, when the table is not
    /// in the cache). It is written in the background as it is encoded.
    pub(crate) fn save_derived(&self, what: &str, encode: impl FnOnce(&mut cache::Stream)) {
        if let Some((cache, key)) = &self.run_store {
            cache.save_derived(*key, what, encode);
        }
    }

    /// [`Ingest::save_derived`] on a thread of its own, while the command goes on with what
    /// `encode` reads (shared with it); the process waits for it before it ends
    /// ([`wait_for_cache_writes`]).
    pub(crate) fn save_derived_beside(
        &self,
        what: &str,
        encode: impl FnOnce(&mut cache::Stream) + Send + 'static,
    ) {
        if let Some((cache, key)) = &self.run_store {
            cache.save_derived_beside(*key, what, encode);
        }
    }

    /// The issuing calls and credential facts, taken out of `self` (left empty) for the session
    /// graph to consume.
    ///
    /// # Errors
    /// A table loaded from the cache whose graph inputs are gone or damaged (the cache was
    /// tampered with): the run stops rather than build a graph without them.
    pub(crate) fn take_graph_inputs(&mut self) -> anyhow::Result<(Vec<IssuingCall>, Creds)> {
        if std::mem::take(&mut self.graph_inputs_in_cache) {
            return self
                .load_derived("inputs")
                .and_then(|b| {
                    cache::decode_graph_inputs(b.bytes(), self.strings.len(), self.files.len())
                        .map(|(details, creds)| (details, creds.into_iter().collect()))
                })
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "the issuing calls of this run's table are missing or damaged in the --cache directory: remove it and run again"
                    )
                });
        }
        Ok((std::mem::take(&mut self.details), std::mem::take(&mut self.creds)))
    }

    /// The run's table, ready to be kept in the cache while the session graph is built from
    /// it ([`IngestOptions::save_with_graph`]); `None` when it was kept already or cannot be.
    pub(crate) fn take_pending_save(&mut self) -> Option<Box<cache::RunSave>> {
        self.pending_save.take()
    }

    /// `f` of this run, while its table is kept in the cache on a thread of its own when it is
    /// still to be ([`IngestOptions::save_with_graph`]): `scan` counts while the table is
    /// encoded (after new log files arrived, encoding it was a fifth of the run, and the
    /// report a tenth).
    pub(crate) fn keep_run_while<R>(&mut self, f: impl FnOnce(&Ingest) -> R) -> R {
        let Some(run) = self.take_pending_save() else { return f(self) };
        let ing = &*self;
        let keep = |run: cache::RunSave| run.write(ing, &ing.details, &ing.creds);
        run.keep_beside(keep, keep, || f(ing))
    }

    /// Frees what only the session graph reads (a run that took its graph from the cache).
    pub(crate) fn drop_graph_inputs(&mut self) {
        self.graph_inputs_in_cache = false;
        self.details = Vec::new();
        self.creds = Creds::default();
    }

    pub fn span(&self) -> (Option<i64>, Option<i64>) {
        (self.stubs.first().map(|s| s.time), self.stubs.last().map(|s| s.time))
    }
}

/// Reads every input: discover, decompress and parse in parallel, deduplicate, sort.
///
/// Never fails on bad input: unreadable files and records become [`Problem`]s. Only standard
/// input that cannot be read at all is returned as an error.
///
/// # Errors
/// I/O errors reading standard input.
pub fn ingest(opts: &IngestOptions) -> std::io::Result<Ingest> {
    let mut problems = Vec::new();
    let (files, stats): (Vec<InputFile>, Vec<_>) =
        discover::discover_stat(&opts.inputs, &mut problems).into_iter().unzip();
    crate::diag::mark("ingest: files found");
    let stdin_data = if files.iter().any(InputFile::is_stdin) {
        let mut v = Vec::new();
        std::io::stdin().lock().read_to_end(&mut v)?;
        Some(v)
    } else {
        None
    };
    // A run over the same files with the same options, kept whole in the cache.
    let run_key = match &opts.cache {
        Some(cache) if stdin_data.is_none() && problems.is_empty() => {
            cache.run_key(opts, &files, &stats)
        }
        _ => None,
    };
    // A run kept in the cache can be extended by a later one over more files, unless a time
    // window cut its table (see `extend`).
    let extensible = run_key.is_some() && opts.since.is_none() && opts.until.is_none();
    crate::diag::mark("cache: run key taken");
    if let (Some(cache), Some(key)) = (&opts.cache, &run_key) {
        let then = (!opts.inventory_only).then_some("graph");
        if let Some(mut ing) = cache.load_run(key, files.clone(), then) {
            cache_note(opts, "the whole run");
            ing.run_store = Some((cache.clone(), key.hash()));
            return Ok(ing);
        }
        // An earlier run over some of these files (new log files arrived): only the others
        // are read, and merged into its table (never with a time window: see `extend`).
        if let Some(base) = extensible.then(|| cache.find_base(key, &files)).flatten() {
            crate::diag::mark("cache: earlier run loaded");
            let t0 = std::time::Instant::now();
            let new: Vec<usize> = (0..files.len())
                .filter(|&i| base.map.binary_search(&(i as u32)).is_err())
                .collect();
            let from_base = base.map.len() as u64;
            // The events the earlier run's reports read again, for this run's: loaded now,
            // before that run is pruned (when this one is kept), by commands that may ask.
            let carried = (!opts.inventory_only)
                .then(|| cache.load_derived(base.hash, "events"))
                .flatten()
                .and_then(|d| kept::Kept::of_saved(d.bytes())?.renumbered(&base.map));
            let accs = read_files(opts, &files, &new, None, true);
            if let Some(mut ing) = extend::extend(opts, files.clone(), base, accs, t0) {
                cache.taken(from_base);
                if let Some(k) = carried {
                    ing.saved_events = Some(k).into();
                    *ing.events_carried.get_mut() = true;
                    ing.carry_with_table = opts.seed_keys.is_empty();
                }
                save(opts, cache, key, &mut ing);
                cache_note(opts, "extending an earlier run");
                return Ok(ing);
            }
            crate::diag::mark("cache: the earlier run cannot be extended");
        }
    }
    let all: Vec<usize> = (0..files.len()).collect();
    // The evidence fingerprint of a run without the cache is taken after the read, beside
    // the session graph ([`evidence`]), on a system whose file states tell a change (Unix):
    // the files' states as found are kept for it. Not when one has no state (standard input).
    let hash_after = (cfg!(unix) && opts.fingerprint && opts.cache.is_none())
        .then(|| (files.clone(), stats))
        .filter(|(_, s)| s.iter().all(Option::is_some));
    let t0 = std::time::Instant::now();
    let accs = read_files(opts, &files, &all, stdin_data.as_deref(), hash_after.is_none());
    let mut ing = merge::merge(opts, files, stdin_data, problems, accs, t0, extensible);
    crate::diag::mark("ingest: merged");
    if let Some((files, found)) = hash_after {
        ing.evidence.hash_beside(files, found);
    }
    if let (Some(cache), Some(key)) = (&opts.cache, &run_key) {
        save(opts, cache, key, &mut ing);
    }
    cache_note(opts, "file by file");
    Ok(ing)
}

/// Keeps the run's table in the cache, with what a later run needs to extend it: now, or,
/// when the session graph is built next ([`IngestOptions::save_with_graph`]), while it is
/// built ([`Ingest::take_pending_save`]).
fn save(
    opts: &IngestOptions,
    cache: &std::sync::Arc<Cache>,
    key: &cache::RunKey,
    ing: &mut Ingest,
) {
    let grow = ing.growable.take();
    let Some(run) = cache.prepare_run(key.clone(), ing, grow) else { return };
    ing.run_store = Some((cache.clone(), run.hash()));
    if opts.save_with_graph {
        ing.pending_save = Some(Box::new(run));
    } else {
        run.write(ing, &ing.details, &ing.creds);
    }
}

/// The first pass over the files `which` (indices into `files`), both cores reading; each
/// file hashed as it is read when the run wants the evidence fingerprint and `hash_now`.
fn read_files(
    opts: &IngestOptions,
    files: &[InputFile],
    which: &[usize],
    stdin_data: Option<&[u8]>,
    hash_now: bool,
) -> Vec<ThreadAcc> {
    let total_bytes: u64 = which
        .iter()
        .map(|&i| std::fs::metadata(&files[i].path).map(|m| m.len()).unwrap_or(0))
        .sum();
    let bar = crate::diag::progress_bar(opts.progress, total_bytes, "reading");
    let cap = opts.max_file_bytes;
    // One accumulator per worker thread (not per rayon split): each worker pulls the next
    // file from a shared counter, so the load balances while strings are interned once per
    // worker and the scratch buffers (inflated document, simd-json buffers) are reused for
    // every file the worker reads instead of being allocated (and page-faulted) again.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let watch = (!opts.seed_keys.is_empty())
        .then(|| watch::Shared::new(&opts.seed_keys, opts.max_seed_bytes));
    // With seed keys, the files are read in the order their names say CloudTrail delivered
    // them (across accounts and regions, which sort apart by path), so that what the seeds'
    // calls lead to is learned before the files of its use are read ([`watch`]). Only the
    // order of reading changes: each file keeps its number, and the result does not depend
    // on it.
    let mut order: Vec<usize> = which.to_vec();
    if watch.is_some() {
        order.sort_by_key(|&i| watch::delivered(&files[i].path));
    }
    let which = &order[..];
    let accs: Vec<ThreadAcc> = rayon::broadcast(|_| {
        let mut st = Scratch::new();
        let mut acc = ThreadAcc {
            inventory_only: opts.inventory_only,
            fingerprint: opts.fingerprint && hash_now,
            watch: watch.as_ref().map(watch::Watch::new),
            ..ThreadAcc::default()
        };
        loop {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = which.get(n) else { break };
            let f = &files[i];
            let n = match &opts.cache {
                Some(cache) if !f.is_stdin() => {
                    let (n, events) = cache.process(f, i as u32, &mut st, &mut acc, cap);
                    acc.cached.extend(events.map(|e| (i as u32, e)));
                    n
                }
                _ => {
                    let data = if f.is_stdin() { stdin_data } else { None };
                    process_file(f, i as u32, data, &mut st, &mut acc, cap)
                }
            };
            bar.inc(n);
        }
        acc
    });
    bar.finish_and_clear();
    // What the workers freed (parse temporaries, outgrown vectors) goes back before the merge.
    crate::diag::release_free_memory();
    accs
}

/// With `TRAILHOUND_TIMING`: how many files came from the cache.
fn cache_note(opts: &IngestOptions, how: &str) {
    if let (Some(c), Some(_)) = (&opts.cache, std::env::var_os("TRAILHOUND_TIMING")) {
        let (hits, misses) = c.counts();
        crate::diag::timing(format_args!(
            "cache: {hits} files taken from the cache ({how}), {misses} read (and cached when they can be)"
        ));
    }
}

/// How many evidence conflicts and time anomalies [`Ingest`] lists (all are counted).
pub const LISTED: usize = 1000;

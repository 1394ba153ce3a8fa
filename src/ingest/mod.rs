//! Ingest: find every input file, decompress and parse them in parallel, count everything.
//!
//! Pipeline: [`discover`] walks the INPUT paths (S3 export trees, organization trails, single
//! files, `-` for standard input) into a sorted file list; rayon maps each file, with
//! per-thread read/inflate buffers and simd-json scratch, into a per-worker accumulator of
//! compact event stubs (no shared state, no locks in the loop); a single sequential merge then deduplicates on `eventID`
//! (the first copy in file order wins, so output is deterministic), applies the time window
//! and sorts by `(eventTime, eventID)`.
//!
//! Accounting invariant (SPEC §8): over the files that were read,
//! `records == events + duplicates + rejected + filtered_out`, where `filtered_out` counts
//! unique events outside `--since`/`--until` (zero without a window). Every skipped or
//! failed file and every rejected record is a [`Problem`] naming the file (and the record).

pub mod decompress;
pub mod parquet;
pub mod parse;
pub mod raw;
pub mod tape;

use crate::model::{Event, Origin};
use parse::{FileError, Shape};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Default cap on one file's decompressed size: 1 GiB. Real CloudTrail objects are far smaller.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// What to read and how.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Files, directories (walked recursively) or `-` for standard input.
    pub inputs: Vec<PathBuf>,
    /// Keep events at or after this time (unix seconds).
    pub since: Option<i64>,
    /// Keep events at or before this time (unix seconds).
    pub until: Option<i64>,
    /// Cap on one file's decompressed size (gzip-bomb guard).
    pub max_file_bytes: u64,
    /// Only the inventory (`scan`, `export`): skip what the session graph needs (the full
    /// issuing events and the per-credential facts), which is most of ingest's memory after
    /// the stubs.
    pub inventory_only: bool,
    /// Hash every file's bytes while they are in memory anyway, for
    /// [`Ingest::evidence_sha256`] (plans record it): saves reading the trail a second time.
    pub fingerprint: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            inputs: Vec::new(),
            since: None,
            until: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            inventory_only: false,
            fingerprint: false,
            progress: false,
        }
    }
}

/// Why a record was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// Not an object, or an object without any CloudTrail record field.
    NotARecord,
    /// A CloudTrail Insights record: never counted as an event.
    Insight,
    /// `eventTime` missing or null.
    MissingEventTime,
    /// `eventTime` not a timestamp.
    BadEventTime,
    /// A JSON Lines line or `CloudTrailEvent` string that is not valid JSON.
    InvalidJson,
    /// Nested deeper than [`tape::MAX_DEPTH`] levels.
    TooDeep,
    /// A key read by trailhound appears twice in one object (valid JSON, ambiguous meaning).
    DuplicateKey,
}

impl RejectReason {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::NotARecord => "not_a_record",
            RejectReason::Insight => "insight_record",
            RejectReason::MissingEventTime => "missing_event_time",
            RejectReason::BadEventTime => "bad_event_time",
            RejectReason::InvalidJson => "invalid_json_record",
            RejectReason::TooDeep => "too_deep",
            RejectReason::DuplicateKey => "duplicate_key",
        }
    }
}

/// A record that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReject {
    /// Record index in the file (line number for JSON Lines).
    pub record: u32,
    /// Why.
    pub reason: RejectReason,
    /// Human-readable detail.
    pub detail: String,
}

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A file that could not be read: data may be missing (exit code 3).
    Failed,
    /// A record inside a readable file that could not be used (exit code 3).
    Rejected,
    /// A file deliberately not read (digest, Insights, not JSON in a walked directory).
    Skipped,
}

/// One input problem, always naming the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file (or directory) concerned.
    pub path: String,
    /// Machine-readable reason code.
    pub reason: &'static str,
    /// What exactly went wrong.
    pub detail: String,
    /// Record index inside the file, when the problem is one record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u32>,
    /// Failed, rejected or skipped.
    pub severity: Severity,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.record {
            Some(r) => write!(f, "{}: record {}: {} ({})", self.path, r, self.detail, self.reason),
            None => write!(f, "{}: {} ({})", self.path, self.detail, self.reason),
        }
    }
}

/// A file to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    /// Path as found (or `-`).
    pub path: PathBuf,
    /// Named on the command line rather than found by walking a directory.
    pub explicit: bool,
}

impl InputFile {
    fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }
    /// How the file is named in messages and outputs.
    pub fn display(&self) -> String {
        if self.is_stdin() {
            "<stdin>".to_string()
        } else {
            self.path.display().to_string()
        }
    }
}

/// Counters of one ingest run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestStats {
    pub files_seen: u64,
    pub files_read: u64,
    pub files_skipped: u64,
    pub files_failed: u64,
    pub records: u64,
    pub events: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub filtered_out: u64,
    /// Events without an `eventID` (kept, never deduplicated).
    pub missing_event_id: u64,
    /// Records sharing an `eventID` with an earlier record but not its content: evidence
    /// conflicts. Each is kept as an event (SPEC §8); see [`Ingest::conflicts`].
    pub conflicts: u64,
    /// Events dated after [`Ingest::reference_time`]; see [`Ingest::time_anomalies`].
    pub time_anomalies: u64,
    /// String fields truncated at [`raw::FIELD_CAP`] bytes and `resources` entries left out
    /// past [`raw::LIST_CAP`]: what one record may add to memory and reports is capped.
    pub truncated_fields: u64,
    /// Records salvaged from damaged files (failed files whose complete records were still
    /// read; they are counted in `records` too).
    pub salvaged_records: u64,
    pub bytes_read: u64,
    pub bytes_decompressed: u64,
    /// Files read, by detected shape.
    pub shapes: BTreeMap<&'static str, u64>,
}

/// "No string" in a [`Stub`] field.
pub const NONE: u32 = u32::MAX;
/// "No time" in [`Stub::created`].
pub const NO_TIME: i64 = i64::MIN;

/// [`Stub::flags`]: the record carried an `eventID`.
pub const HAS_ID: u8 = 1;
/// [`Stub::flags`]: the call failed (`errorCode`).
pub const FAILED: u8 = 2;
/// [`Stub::flags`]: made by a service on the principal's behalf (`invokedBy`).
pub const INVOKED_BY: u8 = 4;
/// [`Stub::flags`]: the full event is in [`Ingest::details`].
pub const DETAIL: u8 = 8;

/// The compact form of every unique event: what the inventory and the session graph need,
/// with strings interned in [`Ingest::strings`]. 56 bytes an event, so a trail of
/// millions of events fits in memory; the full [`Event`] is read back on demand
/// ([`Ingest::load_events`]) for the few events a report needs in detail. The `eventID` is
/// only needed to deduplicate and order the events, so it is dropped once ingest has done
/// both (see [`Keyed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stub {
    /// `eventTime`, unix seconds.
    pub time: i64,
    /// `creationDate` of the signing session, or [`NO_TIME`].
    pub created: i64,
    pub file: u32,
    pub record: u32,
    /// Access key id (interned), or [`NONE`].
    pub key: u32,
    pub ip: u32,
    /// `recipientAccountId`, else the caller's account.
    pub account: u32,
    pub region: u32,
    pub source: u32,
    /// Caller ARN, else principal id.
    pub principal: u32,
    pub flags: u8,
}

/// A stub with its `eventID` as 128 bits (the UUID itself, or a 128-bit hash of another
/// string), as ingest holds it until events are deduplicated and sorted.
#[derive(Debug, Clone, Copy)]
struct Keyed {
    id: u128,
    /// [`parse::content_digest`] of the record ([`parse::event_digest`] for a Parquet row);
    /// never 0, which would mean "unknown" and match any content.
    digest: u64,
    s: Stub,
}

/// Moves every element of `from` into `into` (through `f`), a slice at a time from the back,
/// giving each slice's memory back at once: the two vectors never both exist in full, which
/// matters for the millions of stubs and hundreds of thousands of issuing calls of a large
/// trail. The elements arrive in reverse order.
fn move_from_back<T, U>(mut from: Vec<T>, into: &mut Vec<U>, mut f: impl FnMut(T) -> U) {
    const SLICE: usize = 1 << 14;
    into.reserve_exact(from.len());
    while !from.is_empty() {
        let start = from.len().saturating_sub(SLICE);
        into.extend(from.drain(start..).rev().map(&mut f));
        from.shrink_to_fit();
    }
}

/// The stubs without their ids, in the same order.
fn strip_ids(keyed: Vec<Keyed>) -> Vec<Stub> {
    let mut out = Vec::new();
    move_from_back(keyed, &mut out, |k| k.s);
    out.reverse();
    out
}

impl Stub {
    /// The `creationDate`, if any.
    pub fn created(&self) -> Option<i64> {
        (self.created != NO_TIME).then_some(self.created)
    }
}

/// FxHash (rustc's hasher): much cheaper than SipHash for the short strings and integer keys
/// of the ingest hot loop. Inputs are log contents, not attacker-controlled hash-flooding
/// material in a long-running service, so DoS resistance is not needed here.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut c = bytes.chunks_exact(8);
        for w in &mut c {
            self.add(u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]));
        }
        for &b in c.remainder() {
            self.add(u64::from(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// What the first call of a credential said about its principal, with interned strings
/// ([`NONE`] when absent): the compact form of [`crate::model::Identity`] kept for every
/// credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredFacts {
    pub kind: u32,
    pub arn: u32,
    pub account_id: u32,
    pub principal_id: u32,
    pub user_name: u32,
    pub issuer_kind: u32,
    pub issuer_arn: u32,
    pub from_console: bool,
    pub ec2_instance: bool,
}

impl CredFacts {
    fn of(r: &raw::RawRecord, strings: &mut Strings) -> CredFacts {
        let mut f = CredFacts {
            kind: NONE,
            arn: NONE,
            account_id: NONE,
            principal_id: NONE,
            user_name: NONE,
            issuer_kind: NONE,
            issuer_arn: NONE,
            from_console: r.session_credential_from_console.0 == Some(true),
            ec2_instance: false,
        };
        if let Some(u) = r.user_identity.get() {
            f.kind = strings.opt(u.kind.capped().as_deref());
            f.arn = strings.opt(u.arn.capped().as_deref());
            f.account_id = strings.opt(u.account_id.capped().as_deref());
            f.principal_id = strings.opt(u.principal_id.capped().as_deref());
            f.user_name = strings.opt(u.user_name.capped().as_deref());
            if let Some(sc) = u.session_context.get() {
                if let Some(iss) = sc.session_issuer.get() {
                    f.issuer_kind = strings.opt(iss.kind.capped().as_deref());
                    f.issuer_arn = strings.opt(iss.arn.capped().as_deref());
                }
                f.ec2_instance = sc.ec2_role_delivery.non_empty().is_some();
            }
        }
        f
    }
    fn of_identity(i: &crate::model::Identity, strings: &mut Strings) -> CredFacts {
        CredFacts {
            kind: strings.opt(i.kind.as_deref()),
            arn: strings.opt(i.arn.as_deref()),
            account_id: strings.opt(i.account_id.as_deref()),
            principal_id: strings.opt(i.principal_id.as_deref()),
            user_name: strings.opt(i.user_name.as_deref()),
            issuer_kind: strings.opt(i.issuer_kind.as_deref()),
            issuer_arn: strings.opt(i.issuer_arn.as_deref()),
            from_console: i.from_console,
            ec2_instance: i.ec2_role_delivery.is_some(),
        }
    }
    fn remap(self, m: impl Fn(u32) -> u32) -> CredFacts {
        CredFacts {
            kind: m(self.kind),
            arn: m(self.arn),
            account_id: m(self.account_id),
            principal_id: m(self.principal_id),
            user_name: m(self.user_name),
            issuer_kind: m(self.issuer_kind),
            issuer_arn: m(self.issuer_arn),
            ..self
        }
    }
}

/// A string interner: each distinct string stored once, addressed by `u32`. The index is a
/// table of positions hashed by the string they point to, so it holds no second copy of the
/// strings (at 5 GB of trail that is 700 k strings, most of them ARNs).
#[derive(Debug, Default)]
pub struct Strings {
    list: StringList,
    index: StringIndex,
}

/// Strings stored end to end in one buffer: no allocation (and its header and rounding) per
/// string, and one copy of each.
#[derive(Debug, Default)]
pub struct StringList {
    text: String,
    /// End offset in `text` of each string; a string starts where the one before ends.
    ends: Vec<usize>,
}

impl StringList {
    /// The `i`-th string, if there is one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }
    /// The `i`-th string of an index this list handed out.
    fn at(&self, i: u32) -> &str {
        self.get(i as usize).unwrap_or_default()
    }
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }
    /// Gives back the growth slack once no string will be added.
    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// Every string, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.at(i as u32))
    }
}

/// Positions in a string list, hashed by the string at that position.
#[derive(Debug, Default)]
pub struct StringIndex(hashbrown::HashTable<u32>);

fn str_hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

impl StringIndex {
    fn find(&self, list: &StringList, s: &str) -> Option<u32> {
        self.find_hashed(list, str_hash(s), s)
    }
    fn find_hashed(&self, list: &StringList, hash: u64, s: &str) -> Option<u32> {
        self.0.find(hash, |&i| list.at(i) == s).copied()
    }
}

impl Strings {
    /// The index of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        let hash = str_hash(s);
        if let Some(i) = self.index.find_hashed(&self.list, hash, s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s);
        let list = &self.list;
        self.index.0.insert_unique(hash, i, |&j| str_hash(list.at(j)));
        i
    }
    fn opt(&mut self, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.intern(s))
    }
}

/// What the first call of each credential `(access key, creationDate)` said about its
/// principal.
pub type Creds = FxMap<(u32, i64), CredFacts>;

/// The result of ingest.
#[derive(Debug, Default)]
pub struct Ingest {
    /// Display path of every discovered file; [`crate::model::Origin::file`] indexes this.
    pub files: Vec<String>,
    inputs: Vec<InputFile>,
    stdin: Option<Vec<u8>>,
    max_file_bytes: u64,
    /// Interned strings of the stubs.
    pub strings: StringList,
    string_index: StringIndex,
    /// SHA-256 of each input file (same index), when hashed during the read.
    file_sha256: Vec<Option<String>>,
    /// [`Ingest::evidence_sha256`], computed once on first use (it re-reads every file that
    /// was not hashed during the read).
    evidence: std::sync::OnceLock<String>,
    /// Every unique event in the time window, sorted by `(time, id)`.
    pub stubs: Vec<Stub>,
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
}

impl Ingest {
    /// True when `t` (unix seconds) is after the run's reference time: an event dated then
    /// is a time anomaly (SPEC §8), which must never move a default cut-off.
    pub fn is_time_anomaly(&self, t: i64) -> bool {
        t > self.reference_time
    }
    /// The newest event time that is not a time anomaly (what a default cut-off may build on).
    pub fn last_plausible_time(&self) -> Option<i64> {
        let n = self.stubs.partition_point(|s| s.time <= self.reference_time);
        n.checked_sub(1).map(|i| self.stubs[i].time)
    }
    /// Fills in the `eventID` of the listed conflicts (the ids were only kept as numbers).
    fn name_conflicts(&mut self) {
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
    /// The interned index of a string, if any event carries it.
    pub fn index_of(&self, s: &str) -> Option<u32> {
        self.string_index.find(&self.strings, s)
    }
    /// Every account that events belong to (`recipientAccountId`, else the caller's).
    pub fn accounts(&self) -> std::collections::BTreeSet<&str> {
        let mut seen: HashSet<u32, std::hash::BuildHasherDefault<FxHasher>> = HashSet::default();
        for s in &self.stubs {
            seen.insert(s.account);
        }
        seen.into_iter().filter_map(|a| self.str(a)).collect()
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
            from_console: f.from_console,
            ec2_instance: f.ec2_instance,
        }
    }

    /// The evidence fingerprint recorded in a plan: hex SHA-256 over the sorted list of
    /// `sha256(file bytes as stored)` of every input file (digests and skipped files too), so
    /// a reviewer can tell whether a plan matches the evidence it is applied to. Files that
    /// cannot be read count as `unreadable`.
    pub fn evidence_sha256(&self) -> String {
        self.evidence.get_or_init(|| self.hash_inputs()).clone()
    }

    fn hash_inputs(&self) -> String {
        let mut hashes: Vec<String> = self
            .inputs
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                if let Some(Some(h)) = self.file_sha256.get(i) {
                    return h.clone();
                }
                let bytes = if f.is_stdin() {
                    Ok(self.stdin.clone().unwrap_or_default())
                } else {
                    std::fs::read(&f.path)
                };
                match bytes {
                    Ok(b) => sha256_hex(&b),
                    Err(_) => format!("unreadable:{}", f.display()),
                }
            })
            .collect();
        hashes.sort_unstable();
        sha256_hex(hashes.join("\n").as_bytes())
    }

    /// Time of the first and last event.
    pub fn span(&self) -> (Option<i64>, Option<i64>) {
        (self.stubs.first().map(|s| s.time), self.stubs.last().map(|s| s.time))
    }

    /// Reads back the full events of the given stubs (indices into [`Ingest::stubs`]), in that
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
    /// once, on one thread, and handing each event over as soon as its record is parsed: what
    /// this holds is one file's document, never the events (2 M tiny tainted events once took
    /// `blast` to 13.6 GB when they were all loaded, twice). Events come in file order.
    ///
    /// # Errors
    /// A file that can no longer be read the way it was the first time (changed on disk).
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
        let cap = self.max_file_bytes;
        // One file after the other with one set of buffers: the tainted events sit in few
        // files, and reading them on every thread made each thread's allocator arena grow
        // again after ingest had handed its pages back (measured: +50 MB at 1 GB of trail,
        // +35 MB at 5 GB, for a 0.05–0.15 s gain).
        let mut st = Scratch::new();
        for (file, mut want) in by_file {
            want.sort_unstable();
            let f_in = &self.inputs[file as usize];
            let gone = |what: String| anyhow::anyhow!("re-reading {what} (did the file change?)");
            let data = if f_in.is_stdin() { self.stdin.as_deref() } else { None };
            let damage = read_decoded(f_in, data, &mut st, cap)
                .map_err(|(_, d)| gone(format!("{}: {d}", f_in.display())))?;
            let mut sink = EachEvent { file, want: &want, f: &mut f, found: 0 };
            if damage.is_none() && parquet::is_parquet(&st.raw) {
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
                match parse_decoded(&mut st, cap, &mut sink) {
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
        }
        drop(st);
        // The files' scratch buffers are gone: hand their pages back.
        crate::diag::release_free_memory();
        Ok(())
    }
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

/// What happened to one file.
#[derive(Debug)]
enum FileStatus {
    Read(Shape),
    Skipped(&'static str, String),
    Failed(&'static str, String),
}

/// What happened to one file, kept for the merge (the records went into a [`ThreadAcc`]).
#[derive(Debug)]
struct FileOutcome {
    file: u32,
    status: FileStatus,
    bytes_read: u64,
    bytes_decompressed: u64,
    records: u64,
    rejects: Vec<RecordReject>,
    /// the oversized values ([`parse::content_digest`]) of its records.
    truncated: u64,
    /// SHA-256 of the file as stored, when [`IngestOptions::fingerprint`] and it was read whole.
    sha256: Option<String>,
}

/// One rayon worker's share of the first pass: strings interned once per worker (not per
/// file), stubs, issuing events and credential facts. Merged once, at the end.
#[derive(Debug, Default)]
struct ThreadAcc {
    /// [`IngestOptions::inventory_only`].
    inventory_only: bool,
    /// [`IngestOptions::fingerprint`].
    fingerprint: bool,
    strings: Strings,
    stubs: Vec<Keyed>,
    details: Vec<IssuingCall>,
    /// First call (lowest file, record) of each credential.
    creds: FxMap<(u32, i64), ((u32, u32), CredFacts)>,
    files: Vec<FileOutcome>,
}

/// Walks the inputs into a sorted, de-duplicated file list. Problems met while walking
/// (missing paths, unreadable directories, symlink loops) are appended to `problems`.
pub fn discover(inputs: &[PathBuf], problems: &mut Vec<Problem>) -> Vec<InputFile> {
    let mut files = Vec::new();
    let mut seen_dirs = HashSet::new();
    let mut seen_files = HashSet::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            files.push(InputFile { path: input.clone(), explicit: true });
            continue;
        }
        match std::fs::metadata(input) {
            Err(e) => problems.push(io_problem(input, &e)),
            Ok(m) if m.is_dir() => {
                walk(input, &mut seen_dirs, &mut seen_files, &mut files, problems)
            }
            Ok(m) => {
                if seen_files.insert(file_key(input, &m)) {
                    files.push(InputFile { path: input.clone(), explicit: true });
                }
            }
        }
    }
    files.sort();
    files
}

#[cfg(unix)]
type FileKey = (u64, u64);
#[cfg(not(unix))]
type FileKey = PathBuf;

#[cfg(unix)]
fn file_key(_p: &Path, m: &std::fs::Metadata) -> FileKey {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_key(p: &Path, _m: &std::fs::Metadata) -> FileKey {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn io_problem(path: &Path, e: &std::io::Error) -> Problem {
    let looped = e.raw_os_error() == Some(40); // ELOOP on Linux
    Problem {
        path: path.display().to_string(),
        reason: if looped {
            "symlink_loop"
        } else if e.kind() == std::io::ErrorKind::NotFound {
            "not_found"
        } else {
            "io_error"
        },
        detail: if looped { "symbolic link loop".to_string() } else { e.to_string() },
        record: None,
        severity: if looped { Severity::Skipped } else { Severity::Failed },
    }
}

fn skipped(path: &Path, reason: &'static str, detail: &str) -> Problem {
    Problem {
        path: path.display().to_string(),
        reason,
        detail: detail.to_string(),
        record: None,
        severity: Severity::Skipped,
    }
}

/// Recursive directory walk that follows symbolic links but never enters a directory twice,
/// so a symlink loop is reported once instead of recursing forever.
fn walk(
    dir: &Path,
    seen_dirs: &mut HashSet<FileKey>,
    seen_files: &mut HashSet<FileKey>,
    files: &mut Vec<InputFile>,
    problems: &mut Vec<Problem>,
) {
    match std::fs::metadata(dir) {
        Ok(m) => {
            if !seen_dirs.insert(file_key(dir, &m)) {
                problems.push(skipped(
                    dir,
                    "symlink_loop",
                    "directory already visited through another path (symbolic link loop)",
                ));
                return;
            }
        }
        Err(e) => {
            problems.push(io_problem(dir, &e));
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            problems.push(io_problem(dir, &e));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(en) => paths.push(en.path()),
            Err(e) => problems.push(io_problem(dir, &e)),
        }
    }
    paths.sort();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Digest and Insights objects sit beside the logs in the same bucket: route, don't count.
        if name == "CloudTrail-Digest" {
            problems.push(skipped(
                &p,
                "digest",
                "CloudTrail digest files are not events (see `trailhound integrity`)",
            ));
            continue;
        }
        if name == "CloudTrail-Insight" {
            problems.push(skipped(&p, "insight", "CloudTrail Insights files are not events"));
            continue;
        }
        match std::fs::metadata(&p) {
            Err(e) => problems.push(io_problem(&p, &e)),
            Ok(m) if m.is_dir() => walk(&p, seen_dirs, seen_files, files, problems),
            // FIFOs, sockets and devices found while walking would block or never end:
            // only regular files are read (a FIFO named on the command line still is).
            Ok(m) if !m.is_file() => problems.push(skipped(
                &p,
                "not_a_file",
                "not a regular file (FIFO, socket or device): not read while walking a directory",
            )),
            Ok(m) => {
                if seen_files.insert(file_key(&p, &m)) {
                    files.push(InputFile { path: p, explicit: false });
                }
            }
        }
    }
}

/// Per-thread scratch: the raw file, the inflated document and simd-json's buffers.
struct Scratch {
    raw: Vec<u8>,
    inflated: Vec<u8>,
    buffers: simd_json::Buffers,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch { raw: Vec::new(), inflated: Vec::new(), buffers: simd_json::Buffers::default() }
    }
}

fn read_into(
    f: &InputFile,
    stdin: Option<&[u8]>,
    buf: &mut Vec<u8>,
    cap: u64,
) -> std::io::Result<()> {
    buf.clear();
    if let Some(data) = stdin {
        buf.extend_from_slice(data);
        return Ok(());
    }
    let file = std::fs::File::open(&f.path)?;
    // Read at most cap+1 bytes so a huge uncompressed file is caught without reading it all.
    file.take(cap.saturating_add(1)).read_to_end(buf)?;
    Ok(())
}

/// Reads a file into `st.raw` and inflates it into `st.inflated` when it is gzip.
/// `Ok(None)`: read whole; `Ok(Some((code, detail)))`: a gzip object that is truncated or
/// corrupt, whose readable part is in `st.inflated` (its complete records are still
/// salvaged, SPEC §8); `Err`: nothing to parse.
#[allow(clippy::type_complexity)]
fn read_decoded(
    f: &InputFile,
    stdin: Option<&[u8]>,
    st: &mut Scratch,
    cap: u64,
) -> Result<Option<(&'static str, String)>, (FileStatus, String)> {
    if let Err(e) = read_into(f, stdin, &mut st.raw, cap) {
        let p = io_problem(&f.path, &e);
        let detail = p.detail.clone();
        return Err((
            match p.severity {
                Severity::Skipped => FileStatus::Skipped(p.reason, p.detail),
                _ => FileStatus::Failed(p.reason, p.detail),
            },
            detail,
        ));
    }
    if decompress::is_gzip(&st.raw) {
        if let Err(e) = decompress::gunzip_into(&st.raw, &mut st.inflated, cap) {
            let code = match e {
                decompress::DecompressError::Truncated => "gzip_truncated",
                decompress::DecompressError::Corrupt(_) => "gzip_corrupt",
                decompress::DecompressError::TooLarge(_) => {
                    return Err((FileStatus::Failed("too_large", e.to_string()), e.to_string()))
                }
            };
            return Ok(Some((code, e.to_string())));
        }
        return Ok(None);
    }
    if st.raw.len() as u64 > cap {
        let d = format!("file exceeds the cap of {cap} bytes (raise --max-file-size)");
        return Err((FileStatus::Failed("too_large", d.clone()), d));
    }
    Ok(None)
}

/// An issuing call as kept in [`Ingest::details`]: only the fields the session graph reads.
/// A full [`Event`] is 1.6 KB before any of its strings; a large trail has hundreds of
/// thousands of issuing calls, so they are kept in this third of the size (user agent,
/// request id, resources and the request/response fields of other APIs are read back from
/// the files when a report needs them). Field names mirror [`Event`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuingCall {
    pub id: String,
    pub time: i64,
    pub name: String,
    pub source_ip: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub recipient_account: Option<String>,
    pub shared_event_id: Option<String>,
    pub identity: crate::model::Identity,
    pub request: IssuingRequest,
    pub response: IssuingResponse,
    pub origin: Origin,
}

/// The `requestParameters` of an issuing call that the graph reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuingRequest {
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub user_name: Option<String>,
    pub principal_arn: Option<String>,
    pub target_principal: Option<String>,
}

/// The `responseElements` of an issuing call that the graph reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuingResponse {
    pub credentials_key: Option<String>,
    pub credentials_expiration: Option<i64>,
    pub assumed_role_arn: Option<String>,
    pub assumed_role_id: Option<String>,
    pub federated_user_arn: Option<String>,
    pub federated_user_id: Option<String>,
    pub access_key_id: Option<String>,
    pub access_key_user: Option<String>,
    pub access_key_created: Option<i64>,
    pub provider: Option<String>,
    pub subject: Option<String>,
    /// `user.arn` / `user.userName` (CreateUser) and `loginProfile.userName`
    /// (CreateLoginProfile): the users a tainted credential made or took over (SPEC §9).
    pub user_arn: Option<String>,
    pub user_name: Option<String>,
    pub login_profile_user: Option<String>,
}

impl IssuingCall {
    /// True when the call failed (`errorCode` set).
    pub fn failed(&self) -> bool {
        self.error_code.is_some()
    }
}

/// The part of an issuing event the session graph keeps ([`IssuingCall`]).
pub fn for_graph(e: Event) -> IssuingCall {
    use crate::model::Identity;
    let i = e.identity;
    let q = e.request;
    let p = e.response;
    IssuingCall {
        id: e.id,
        time: e.time,
        name: e.name,
        source_ip: e.source_ip,
        error_code: e.error_code,
        error_message: e.error_message,
        recipient_account: e.recipient_account,
        shared_event_id: e.shared_event_id,
        origin: e.origin,
        identity: Identity {
            kind: i.kind,
            principal_id: i.principal_id,
            arn: i.arn,
            account_id: i.account_id,
            access_key_id: i.access_key_id,
            user_name: i.user_name,
            invoked_by: i.invoked_by,
            identity_provider: i.identity_provider,
            issuer_kind: i.issuer_kind,
            issuer_arn: i.issuer_arn,
            creation_date: i.creation_date,
            ec2_role_delivery: i.ec2_role_delivery,
            from_console: i.from_console,
            ..Identity::default()
        },
        request: IssuingRequest {
            role_arn: q.role_arn,
            role_session_name: q.role_session_name,
            user_name: q.user_name,
            principal_arn: q.principal_arn,
            target_principal: q.target_principal,
        },
        response: IssuingResponse {
            credentials_key: p.credentials_key,
            credentials_expiration: p.credentials_expiration,
            assumed_role_arn: p.assumed_role_arn,
            assumed_role_id: p.assumed_role_id,
            federated_user_arn: p.federated_user_arn,
            federated_user_id: p.federated_user_id,
            access_key_id: p.access_key_id,
            access_key_user: p.access_key_user,
            access_key_created: p.access_key_created,
            provider: p.provider,
            subject: p.subject,
            user_arn: p.user_arn,
            user_name: p.user_name,
            login_profile_user: p.login_profile_user,
        },
    }
}

/// Lower-case hex SHA-256.
fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Event names whose full record the session graph needs: credential-issuing calls (F1)
/// and the calls that make a user the attacker's (SPEC §9: CreateUser, a login profile
/// created or changed).
pub fn needs_detail(name: &str) -> bool {
    crate::chain::STS_ISSUERS.contains(&name)
        || name == "CreateAccessKey"
        || crate::chain::USER_GRANTS.contains(&name)
}

/// 128 bits that identify an `eventID`: the UUID itself when it is one, else a hash.
pub fn id128(s: &str) -> u128 {
    const HEX: [u8; 256] = {
        let mut t = [0xFFu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    let b = s.as_bytes();
    if b.len() == 36 && b[8] == b'-' && b[13] == b'-' && b[18] == b'-' && b[23] == b'-' {
        let mut v: u128 = 0;
        let mut bad = 0u8;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            let d = HEX[c as usize];
            bad |= d;
            v = (v << 4) | u128::from(d & 0x0F);
        }
        if bad & 0xF0 == 0 {
            return v;
        }
    }
    use std::hash::{Hash, Hasher};
    let mut h1 = std::collections::hash_map::DefaultHasher::new();
    (0u8, s).hash(&mut h1);
    let mut h2 = std::collections::hash_map::DefaultHasher::new();
    (1u8, s).hash(&mut h2);
    (u128::from(h1.finish()) << 64) | u128::from(h2.finish())
}

/// First pass over one file: a [`Stub`] per record, the full event for issuing calls, and
/// what each credential's first call says about its principal, into the worker's [`ThreadAcc`].
struct FileScan<'a> {
    file: u32,
    acc: &'a mut ThreadAcc,
    records: u64,
    kept: u64,
    rejects: Vec<RecordReject>,
    /// the oversized values ([`parse::content_digest`]) summed over the file's records.
    truncated: u64,
}

impl FileScan<'_> {
    /// The same as [`parse::RecordSink::record`], for an event read from exported Parquet.
    fn event(&mut self, e: Event) {
        let idx = e.origin.record;
        self.records += 1;
        self.kept += 1;
        let mut flags = 0u8;
        let id = if e.id.starts_with("noid:") {
            (0xFFFF_FFFFu128 << 96) | (u128::from(self.file) << 32) | u128::from(idx)
        } else {
            flags |= HAS_ID;
            id128(&e.id)
        };
        if e.failed() {
            flags |= FAILED;
        }
        if e.identity.invoked_by.is_some() {
            flags |= INVOKED_BY;
        }
        let created = e.identity.creation_date.unwrap_or(NO_TIME);
        let acc = &mut *self.acc;
        let key = acc.strings.opt(e.identity.access_key_id.as_deref());
        if key != NONE && !acc.inventory_only {
            let here = (self.file, idx);
            match acc.creds.get(&(key, created)) {
                Some((o, _)) if *o <= here => {}
                _ => {
                    let facts = CredFacts::of_identity(&e.identity, &mut acc.strings);
                    acc.creds.insert((key, created), (here, facts));
                }
            }
        }
        let principal = e.identity.arn.as_deref().or(e.identity.principal_id.as_deref());
        let stub = Stub {
            time: e.time,
            created,
            file: self.file,
            record: idx,
            key,
            ip: acc.strings.opt(e.source_ip.as_deref()),
            account: acc.strings.opt(e.account()),
            region: acc.strings.opt(e.region.as_deref()),
            source: acc.strings.opt(Some(e.source.as_str()).filter(|s| !s.is_empty())),
            principal: acc.strings.opt(principal),
            flags: if !acc.inventory_only && needs_detail(&e.name) {
                flags | DETAIL
            } else {
                flags
            },
        };
        acc.stubs.push(Keyed { id, digest: parse::event_digest(&e).max(1), s: stub });
        if stub.flags & DETAIL != 0 {
            acc.details.push(for_graph(e));
        }
    }
}

impl parse::RecordSink for FileScan<'_> {
    fn record(&mut self, r: Option<&raw::RawRecord<'_>>, idx: u32) {
        self.records += 1;
        let Some(r) = r else {
            self.rejects.push(RecordReject {
                record: idx,
                reason: RejectReason::NotARecord,
                detail: "array element is not an object".into(),
            });
            return;
        };
        let time = match parse::check(r, idx) {
            Ok(t) => t,
            Err(rej) => {
                self.rejects.push(rej);
                return;
            }
        };
        self.kept += 1;
        let (digest, oversized) = parse::content_digest(r);
        self.truncated += u64::from(oversized);
        let ui = r.user_identity.get();
        let mut flags = 0u8;
        let id = match r.event_id.non_empty() {
            Some(s) => {
                flags |= HAS_ID;
                id128(s)
            }
            // Unique by construction: never deduplicated.
            None => (0xFFFF_FFFFu128 << 96) | (u128::from(self.file) << 32) | u128::from(idx),
        };
        if r.error_code.non_empty().is_some() {
            flags |= FAILED;
        }
        if ui.and_then(|u| u.invoked_by.non_empty()).is_some() {
            flags |= INVOKED_BY;
        }
        let created = parse::creation_date_of(r).unwrap_or(NO_TIME);
        let key_str = ui.and_then(|u| u.access_key_id.capped());
        let acc = &mut *self.acc;
        let key = acc.strings.opt(key_str.as_deref());
        if key != NONE && !acc.inventory_only {
            let here = (self.file, idx);
            match acc.creds.get(&(key, created)) {
                Some((o, _)) if *o <= here => {}
                _ => {
                    let facts = CredFacts::of(r, &mut acc.strings);
                    acc.creds.insert((key, created), (here, facts));
                }
            }
        }
        if !acc.inventory_only && needs_detail(r.event_name.get().unwrap_or("")) {
            if let Ok(e) = parse::normalize(r, self.file, idx) {
                acc.details.push(for_graph(e));
                flags |= DETAIL;
            }
        }
        let account =
            r.recipient_account_id.capped().or_else(|| ui.and_then(|u| u.account_id.capped()));
        let principal = ui.and_then(|u| u.arn.capped().or_else(|| u.principal_id.capped()));
        let stub = Stub {
            time,
            created,
            file: self.file,
            record: idx,
            key,
            ip: acc.strings.opt(r.source_ip_address.capped().as_deref()),
            account: acc.strings.opt(account.as_deref()),
            region: acc.strings.opt(r.aws_region.capped().as_deref()),
            source: acc.strings.opt(r.event_source.capped().as_deref()),
            principal: acc.strings.opt(principal.as_deref()),
            flags,
        };
        // 0 means "content unknown" (Parquet rows); a record's digest never is.
        acc.stubs.push(Keyed { id, digest: digest.max(1), s: stub });
    }
    fn unparsed(&mut self, idx: u32, reason: RejectReason, detail: String) {
        self.records += 1;
        self.rejects.push(RecordReject { record: idx, reason, detail });
    }
    fn only_foreign(&self) -> bool {
        !self.rejects.is_empty()
            && self.kept == 0
            && self.rejects.iter().all(|r| r.reason == RejectReason::NotARecord)
    }
}

fn process_file(
    f: &InputFile,
    idx: u32,
    stdin: Option<&[u8]>,
    st: &mut Scratch,
    acc: &mut ThreadAcc,
    cap: u64,
) -> u64 {
    let mut out = FileOutcome {
        file: idx,
        status: FileStatus::Failed("io_error", String::new()),
        bytes_read: 0,
        bytes_decompressed: 0,
        records: 0,
        rejects: Vec::new(),
        truncated: 0,
        sha256: None,
    };
    let read = read_decoded(f, stdin, st, cap);
    // Only files read whole and usable; the others are hashed (or found unreadable) again
    // by `evidence_sha256`.
    if acc.fingerprint && read.is_ok() && (st.raw.len() as u64) <= cap {
        out.sha256 = Some(sha256_hex(&st.raw));
    }
    let damage = match read {
        Ok(d) => d,
        Err((status, _)) => {
            out.bytes_read = st.raw.len() as u64;
            out.status = status;
            acc.files.push(out);
            return st.raw.len() as u64;
        }
    };
    out.bytes_read = st.raw.len() as u64;
    // Roll back what a file added if it turns out unusable as a whole.
    let marks = (acc.stubs.len(), acc.details.len());
    let mut sink = FileScan {
        file: idx,
        acc: &mut *acc,
        records: 0,
        kept: 0,
        rejects: Vec::new(),
        truncated: 0,
    };
    let parsed = if damage.is_none() && parquet::is_parquet(&st.raw) {
        out.bytes_decompressed = st.raw.len() as u64;
        let mut rejects = Vec::new();
        let r = parquet::read(
            &st.raw,
            idx,
            |_| true,
            needs_detail,
            |r| match r {
                Ok(e) => sink.event(e),
                Err(rej) => rejects.push(rej),
            },
        );
        sink.records += rejects.len() as u64;
        sink.rejects.extend(rejects);
        r.map(|_| Shape::Parquet).map_err(FileError::Parquet)
    } else {
        let r = parse_decoded(st, cap, &mut sink);
        out.bytes_decompressed = st.inflated.len() as u64;
        r
    };
    let (records, rejects, truncated) = (sink.records, sink.rejects, sink.truncated);
    // Records are kept from a document that was read, and from a damaged one (salvaged).
    let keep = matches!(&parsed, Ok(s) if *s != Shape::Digest)
        || matches!(&parsed, Err(FileError::Damaged { .. }));
    out.status = match (damage, parsed) {
        // The gzip layer is broken: a failure, with what its readable part held.
        (Some((code, detail)), _) => FileStatus::Failed(
            code,
            format!(
                "{detail}; {} complete records salvaged from the readable part",
                if keep { records } else { 0 }
            ),
        ),
        (None, Ok(Shape::Digest)) => FileStatus::Skipped(
            "digest",
            "CloudTrail digest file: not events (see `trailhound integrity`)".into(),
        ),
        (None, Ok(shape)) => FileStatus::Read(shape),
        (None, Err(FileError::Empty)) => {
            FileStatus::Failed("empty_file", "the file is empty".into())
        }
        (None, Err(e @ FileError::NotJson)) if !f.explicit => {
            FileStatus::Skipped("not_json", e.to_string())
        }
        (None, Err(e @ FileError::NotJson)) => FileStatus::Failed("not_json", e.to_string()),
        (None, Err(e @ FileError::InvalidJson(_))) => {
            FileStatus::Failed("invalid_json", e.to_string())
        }
        (None, Err(FileError::Parquet(d))) => FileStatus::Failed("invalid_parquet", d),
        // Valid JSON that is not CloudTrail (an AWS Config snapshot, a manifest) found while
        // walking a bucket export is expected there; named explicitly it is a mistake.
        (None, Err(e @ FileError::NotCloudTrail(_))) if !f.explicit => {
            FileStatus::Skipped("not_cloudtrail", e.to_string())
        }
        (None, Err(e @ FileError::NotCloudTrail(_))) => {
            FileStatus::Failed("not_cloudtrail", e.to_string())
        }
        (None, Err(e @ FileError::Damaged { starts_like_json, .. })) => FileStatus::Failed(
            if starts_like_json { "invalid_json" } else { "damaged_cloudtrail" },
            e.to_string(),
        ),
    };
    if keep {
        out.records = records;
        out.rejects = rejects;
        out.truncated = truncated;
    } else {
        // A file that fails half-way (invalid JSON after some records) contributes nothing:
        // it is reported as failed, so its records must not be counted either.
        acc.stubs.truncate(marks.0);
        acc.details.truncate(marks.1);
        acc.creds.retain(|_, (o, _)| o.0 != idx);
    }
    acc.files.push(out);
    st.raw.len() as u64
}

/// Parses the document [`read_decoded`] left in `st` (inflated, or the file as read) into
/// `sink`. The parse works on `st.inflated` (a copy for an uncompressed file), so the bytes
/// as read stay in `st.raw` for the fallbacks that need the original document.
fn parse_decoded<S: parse::RecordSink>(
    st: &mut Scratch,
    cap: u64,
    sink: &mut S,
) -> Result<Shape, FileError> {
    let Scratch { raw, inflated, buffers } = st;
    let gz = decompress::is_gzip(raw);
    if !gz {
        inflated.clear();
        inflated.extend_from_slice(raw);
    }
    let raw: &Vec<u8> = raw;
    let mut pristine = || {
        if gz {
            // Deterministic: the same bytes (or the same readable part) again.
            let mut v = Vec::new();
            let _ = decompress::gunzip_into(raw, &mut v, cap);
            v
        } else {
            raw.clone()
        }
    };
    parse::parse_document_with(inflated, &mut pristine, buffers, sink)
}

fn shape_name(s: Shape) -> &'static str {
    match s {
        Shape::RecordsWrapper => "records_wrapper",
        Shape::Array => "json_array",
        Shape::JsonLines => "json_lines",
        Shape::LookupEvents => "lookup_events",
        Shape::SingleRecord => "single_record",
        Shape::Concatenated => "concatenated",
        Shape::Digest => "digest",
        Shape::Parquet => "parquet",
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
    let files = discover(&opts.inputs, &mut problems);
    let stdin_data = if files.iter().any(InputFile::is_stdin) {
        let mut v = Vec::new();
        std::io::stdin().lock().read_to_end(&mut v)?;
        Some(v)
    } else {
        None
    };
    let total_bytes: u64 =
        files.iter().map(|f| std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0)).sum();
    let bar = crate::diag::progress_bar(opts.progress, total_bytes, "reading");
    let cap = opts.max_file_bytes;
    let timing = std::env::var_os("TRAILHOUND_TIMING").is_some();
    let t0 = std::time::Instant::now();
    // One accumulator per worker thread (not per rayon split): each worker pulls the next
    // file from a shared counter, so the load balances while strings are interned once per
    // worker and the scratch buffers (inflated document, simd-json buffers) are reused for
    // every file the worker reads instead of being allocated (and page-faulted) again.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let accs: Vec<ThreadAcc> = rayon::broadcast(|_| {
        let mut st = Scratch::new();
        let mut acc = ThreadAcc {
            inventory_only: opts.inventory_only,
            fingerprint: opts.fingerprint,
            ..ThreadAcc::default()
        };
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(f) = files.get(i) else { break };
            let data = if f.is_stdin() { stdin_data.as_deref() } else { None };
            let n = process_file(f, i as u32, data, &mut st, &mut acc, cap);
            bar.inc(n);
        }
        acc
    });
    bar.finish_and_clear();
    // What the workers freed (parse temporaries, outgrown vectors) goes back before the merge.
    crate::diag::release_free_memory();

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
    for acc in accs {
        let remap: Vec<u32> = acc.strings.list.iter().map(|s| strings.intern(s)).collect();
        let m = |i: u32| if i == NONE { NONE } else { remap[i as usize] };
        // Moved over slice by slice (extending from whole vectors held both copies at once: a
        // spike of a sixth of a GB at 5 GB of trail). The order does not matter: stubs and
        // issuing calls are both sorted next, on unique keys.
        move_from_back(acc.stubs, &mut stubs, |Keyed { id, digest, s }| Keyed {
            id,
            digest,
            s: Stub {
                key: m(s.key),
                ip: m(s.ip),
                account: m(s.account),
                region: m(s.region),
                source: m(s.source),
                principal: m(s.principal),
                ..s
            },
        });
        move_from_back(acc.details, &mut details, |e| e);
        for ((k, c), (o, facts)) in acc.creds {
            match creds.get(&(m(k), c)) {
                Some((o2, _)) if *o2 <= o => {}
                _ => {
                    creds.insert((m(k), c), (o, facts.remap(m)));
                }
            }
        }
        outcomes.extend(acc.files);
    }
    outcomes.sort_by_key(|o| o.file);
    let mut file_sha256 = vec![None; files.len()];
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
        stats.rejected += o.rejects.len() as u64;
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
                });
            }
        }
        for r in o.rejects {
            problems.push(Problem {
                path: path.clone(),
                reason: r.reason.code(),
                detail: r.detail,
                record: Some(r.record),
                severity: Severity::Rejected,
            });
        }
    }
    let creds: FxMap<(u32, i64), CredFacts> = creds.into_iter().map(|(k, (_, v))| (k, v)).collect();

    let t2 = t0.elapsed();
    // Deduplicate on eventID *and* content (SPEC §8): of the copies of one eventID, the
    // first in file order of each distinct content is kept (deterministic); a later copy with
    // content seen before is a duplicate, one with new content an evidence conflict, kept.
    stubs.par_sort_unstable_by(|a, b| {
        (a.id, a.s.file, a.s.record).cmp(&(b.id, b.s.file, b.s.record))
    });
    let before = stubs.len();
    let conflict_pairs = dedupe(&mut stubs);
    stats.duplicates = (before - stubs.len()) as u64;
    stats.conflicts = conflict_pairs.len() as u64;
    let before = stubs.len();
    stubs.retain(|e| {
        opts.since.is_none_or(|s| e.s.time >= s) && opts.until.is_none_or(|u| e.s.time <= u)
    });
    stats.filtered_out = (before - stubs.len()) as u64;
    // File and record break the tie between the copies of a conflict.
    stubs.par_sort_unstable_by(|a, b| {
        (a.s.time, a.id, a.s.file, a.s.record).cmp(&(b.s.time, b.id, b.s.file, b.s.record))
    });
    // Nothing after this point needs the ids (and the largest worker's vector grew by
    // doubling: its slack goes too).
    let stubs = strip_ids(stubs);
    stats.events = stubs.len() as u64;
    stats.missing_event_id = stubs.iter().filter(|s| s.flags & HAS_ID == 0).count() as u64;
    let kept: std::collections::HashSet<(u32, u32), std::hash::BuildHasherDefault<FxHasher>> =
        stubs.iter().filter(|s| s.flags & DETAIL != 0).map(|s| (s.file, s.record)).collect();
    details.retain(|e| kept.contains(&(e.origin.file, e.origin.record)));
    details.sort_by_cached_key(|e| (e.time, id128(&e.id), e.origin.file, e.origin.record));
    // The merge, dedupe and id stripping left freed heap behind: hand it back.
    crate::diag::release_free_memory();

    if timing {
        eprintln!(
            "trailhound: timing: parallel read+parse {:?}, merge {:?}, dedupe+sort {:?}; {} stubs, {} details, {} credentials, {} strings; {}",
            t1,
            t2 - t1,
            t0.elapsed() - t2,
            stubs.len(),
            details.len(),
            creds.len(),
            strings.list.len(),
            crate::diag::memory_note()
        );
    }
    let Strings { mut list, index } = strings;
    list.shrink_to_fit();
    // Events dated after the reference time (SPEC §8): the tail of the time-sorted stubs.
    let reference_time = crate::time::now();
    let future = stubs.partition_point(|s| s.time <= reference_time);
    stats.time_anomalies = (stubs.len() - future) as u64;
    let time_anomalies = stubs[future..]
        .iter()
        .take(LISTED)
        .map(|s| TimeAnomaly {
            path: files[s.file as usize].display(),
            record: s.record,
            event_time: crate::time::fmt_iso(s.time),
        })
        .collect();
    let conflicts = conflict_pairs
        .iter()
        .take(LISTED)
        .map(|&(first, other)| Conflict {
            event_id: String::new(),
            first: Located { path: files[first.0 as usize].display(), record: first.1 },
            other: Located { path: files[other.0 as usize].display(), record: other.1 },
        })
        .collect();
    let mut ing = Ingest {
        files: files.iter().map(InputFile::display).collect(),
        inputs: files,
        stdin: stdin_data,
        max_file_bytes: cap,
        strings: list,
        string_index: index,
        evidence: std::sync::OnceLock::new(),
        file_sha256,
        stubs,
        details,
        creds,
        stats,
        problems,
        reference_time,
        conflicts,
        time_anomalies,
    };
    ing.name_conflicts();
    Ok(ing)
}

/// How many evidence conflicts and time anomalies [`Ingest`] lists (all are counted).
pub const LISTED: usize = 1000;

/// Removes the duplicates from `stubs` sorted by `(id, file, record)` and returns the
/// evidence conflicts as `((file, record) of the first copy, (file, record) of the other)`.
/// A copy is a duplicate when an earlier kept copy of its id has the same content digest (or
/// either digest is unknown, 0); otherwise it is kept, and it is a conflict.
fn dedupe(stubs: &mut Vec<Keyed>) -> Vec<((u32, u32), (u32, u32))> {
    let mut conflicts = Vec::new();
    let mut out = 0usize;
    // Start (in the kept prefix) of the current id's copies, and their digests when there
    // are many (a hostile trail can repeat one id with a million contents).
    let mut run = 0usize;
    let mut many: hashbrown::HashSet<u64, std::hash::BuildHasherDefault<FxHasher>> =
        Default::default();
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

/// Where a record is: file (display path) and record index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub path: String,
    pub record: u32,
}

/// Two records with the same `eventID` and different content (SPEC §8): both are events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub event_id: String,
    /// The first copy in file order.
    pub first: Located,
    /// A copy with other content.
    pub other: Located,
}

/// An event dated after [`Ingest::reference_time`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeAnomaly {
    pub path: String,
    pub record: u32,
    pub event_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interner_keeps_one_copy_and_finds_it_again() {
        let mut st = Strings::default();
        let words: Vec<String> =
            (0..5000).map(|i| format!("arn:aws:iam::111122223333:role/r{i}")).collect();
        let ids: Vec<u32> = words.iter().map(|w| st.intern(w)).collect();
        assert_eq!(ids, (0..5000).collect::<Vec<u32>>());
        for (w, &i) in words.iter().zip(&ids) {
            assert_eq!(st.intern(w), i);
            assert_eq!(st.index.find(&st.list, w), Some(i));
        }
        assert_eq!(st.list.len(), 5000);
        assert_eq!(st.index.find(&st.list, "arn:aws:iam::111122223333:role/r5000"), None);
        assert_eq!(st.intern(""), 5000);
    }

    #[test]
    fn dropping_ids_keeps_every_stub_in_order() {
        let stub = |i: u32| Stub {
            time: i64::from(i),
            created: NO_TIME,
            file: i / 7,
            record: i,
            key: NONE,
            ip: NONE,
            account: NONE,
            region: NONE,
            source: NONE,
            principal: NONE,
            flags: 0,
        };
        // More than two of the 65,536-stub slices, and a partial one.
        let n = 150_001u32;
        let keyed: Vec<Keyed> =
            (0..n).map(|i| Keyed { id: u128::from(i) * 3, digest: 1, s: stub(i) }).collect();
        let stubs = strip_ids(keyed);
        assert_eq!(stubs.len(), n as usize);
        assert!(stubs.iter().enumerate().all(|(i, s)| *s == stub(i as u32)));
        assert!(strip_ids(Vec::new()).is_empty());
    }

    #[test]
    fn uuid_ids_are_exact_and_others_hashed() {
        assert_eq!(id128("00000000-0000-0000-0000-00000000000a"), 10);
        assert_eq!(id128("FFFFFFFF-0000-0000-0000-000000000000"), 0xFFFF_FFFFu128 << 96);
        assert_ne!(id128("event-1"), id128("event-2"));
        assert_eq!(id128("event-1"), id128("event-1"));
    }
}

//! Ingest: find every input file, decompress and parse them in parallel, count everything.
//!
//! Pipeline: [`discover`] walks the INPUT paths (S3 export trees, organization trails, single
//! files, `-` for standard input) into a sorted file list; rayon maps each file, with
//! per-thread read/inflate buffers and simd-json scratch, to a [`FileOutcome`] (no shared
//! state, no locks in the loop); a single sequential merge then deduplicates on `eventID`
//! (the first copy in file order wins, so output is deterministic), applies the time window
//! and sorts by `(eventTime, eventID)`.
//!
//! Accounting invariant (SPEC §8): over the files that were read,
//! `records == events + duplicates + rejected + filtered_out`, where `filtered_out` counts
//! unique events outside `--since`/`--until` (zero without a window). Every skipped or
//! failed file and every rejected record is a [`Problem`] naming the file (and the record).

pub mod decompress;
pub mod parse;
pub mod raw;

use crate::model::Event;
use parse::{FileError, Parsed, Shape};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
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
    pub bytes_read: u64,
    pub bytes_decompressed: u64,
    /// Files read, by detected shape.
    pub shapes: BTreeMap<&'static str, u64>,
}

/// The result of ingest: the unique events, sorted by `(time, id)`, and the accounting.
#[derive(Debug, Default)]
pub struct Ingest {
    /// Display path of every discovered file; [`crate::model::Origin::file`] indexes this.
    pub files: Vec<String>,
    /// Unique events in the time window, sorted by `(time, id)`.
    pub events: Vec<Event>,
    pub stats: IngestStats,
    /// Skipped and failed files, rejected records, in file order.
    pub problems: Vec<Problem>,
}

impl Ingest {
    /// True when some input could not be read (exit code 3).
    pub fn incomplete(&self) -> bool {
        self.problems.iter().any(|p| p.severity != Severity::Skipped)
    }
    /// Display path of an event's file.
    pub fn file_of(&self, e: &Event) -> &str {
        self.files.get(e.origin.file as usize).map(String::as_str).unwrap_or("?")
    }
}

/// What happened to one file.
#[derive(Debug)]
enum FileStatus {
    Read(Shape),
    Skipped(&'static str, String),
    Failed(&'static str, String),
}

#[derive(Debug)]
struct FileOutcome {
    status: FileStatus,
    bytes_read: u64,
    bytes_decompressed: u64,
    parsed: Parsed,
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

fn process_file(
    f: &InputFile,
    idx: u32,
    stdin: Option<&[u8]>,
    st: &mut Scratch,
    cap: u64,
) -> FileOutcome {
    let mut out = FileOutcome {
        status: FileStatus::Failed("io_error", String::new()),
        bytes_read: 0,
        bytes_decompressed: 0,
        parsed: Parsed::default(),
    };
    if let Err(e) = read_into(f, stdin, &mut st.raw, cap) {
        let p = io_problem(&f.path, &e);
        out.status = match p.severity {
            Severity::Skipped => FileStatus::Skipped(p.reason, p.detail),
            _ => FileStatus::Failed(p.reason, p.detail),
        };
        return out;
    }
    out.bytes_read = st.raw.len() as u64;
    let doc: &mut Vec<u8> = if decompress::is_gzip(&st.raw) {
        if let Err(e) = decompress::gunzip_into(&st.raw, &mut st.inflated, cap) {
            let code = match e {
                decompress::DecompressError::Truncated => "gzip_truncated",
                decompress::DecompressError::Corrupt(_) => "gzip_corrupt",
                decompress::DecompressError::TooLarge(_) => "too_large",
            };
            out.status = FileStatus::Failed(code, e.to_string());
            return out;
        }
        &mut st.inflated
    } else {
        if st.raw.len() as u64 > cap {
            out.status = FileStatus::Failed(
                "too_large",
                format!("file exceeds the cap of {cap} bytes (raise --max-file-size)"),
            );
            return out;
        }
        &mut st.raw
    };
    out.bytes_decompressed = doc.len() as u64;
    out.status = match parse::parse_document(doc, idx, &mut st.buffers) {
        Ok((Shape::Digest, _)) => FileStatus::Skipped(
            "digest",
            "CloudTrail digest file: not events (see `trailhound integrity`)".into(),
        ),
        Ok((shape, parsed)) => {
            out.parsed = parsed;
            FileStatus::Read(shape)
        }
        Err(FileError::Empty) => FileStatus::Failed("empty_file", "the file is empty".into()),
        Err(FileError::NotJson) if !f.explicit => {
            FileStatus::Skipped("not_json", "content is neither JSON nor gzip".into())
        }
        Err(FileError::NotJson) => {
            FileStatus::Failed("not_json", "content is neither JSON nor gzip".into())
        }
        Err(FileError::InvalidJson(d)) => {
            FileStatus::Failed("invalid_json", format!("invalid JSON: {d}"))
        }
        Err(FileError::NotCloudTrail(d)) => {
            FileStatus::Failed("not_cloudtrail", format!("valid JSON but not CloudTrail: {d}"))
        }
    };
    out
}

fn shape_name(s: Shape) -> &'static str {
    match s {
        Shape::RecordsWrapper => "records_wrapper",
        Shape::Array => "json_array",
        Shape::JsonLines => "json_lines",
        Shape::LookupEvents => "lookup_events",
        Shape::SingleRecord => "single_record",
        Shape::Digest => "digest",
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
    let outcomes: Vec<FileOutcome> = files
        .par_iter()
        .enumerate()
        .map_init(
            || Scratch {
                raw: Vec::new(),
                inflated: Vec::new(),
                buffers: simd_json::Buffers::default(),
            },
            |st, (i, f)| {
                let data = if f.is_stdin() { stdin_data.as_deref() } else { None };
                let o = process_file(f, i as u32, data, st, cap);
                bar.inc(o.bytes_read);
                o
            },
        )
        .collect();
    bar.finish_and_clear();

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
    let mut events = Vec::new();
    for (f, o) in files.iter().zip(outcomes) {
        stats.files_seen += 1;
        stats.bytes_read += o.bytes_read;
        stats.bytes_decompressed += o.bytes_decompressed;
        let path = f.display();
        match o.status {
            FileStatus::Read(shape) => {
                stats.files_read += 1;
                *stats.shapes.entry(shape_name(shape)).or_default() += 1;
                stats.records += o.parsed.records;
                stats.rejected += o.parsed.rejects.len() as u64;
                for r in o.parsed.rejects {
                    problems.push(Problem {
                        path: path.clone(),
                        reason: r.reason.code(),
                        detail: r.detail,
                        record: Some(r.record),
                        severity: Severity::Rejected,
                    });
                }
                events.extend(o.parsed.events);
            }
            FileStatus::Skipped(reason, detail) => {
                stats.files_skipped += 1;
                problems.push(Problem {
                    path,
                    reason,
                    detail,
                    record: None,
                    severity: Severity::Skipped,
                });
            }
            FileStatus::Failed(reason, detail) => {
                stats.files_failed += 1;
                problems.push(Problem {
                    path,
                    reason,
                    detail,
                    record: None,
                    severity: Severity::Failed,
                });
            }
        }
    }

    // Deduplicate on eventID; the copy first in file order wins (deterministic).
    events.sort_unstable_by(|a, b| a.id.cmp(&b.id).then(a.origin.cmp(&b.origin)));
    let before = events.len();
    events.dedup_by(|later, first| later.id == first.id);
    stats.duplicates = (before - events.len()) as u64;
    let before = events.len();
    events.retain(|e| {
        opts.since.is_none_or(|s| e.time >= s) && opts.until.is_none_or(|u| e.time <= u)
    });
    stats.filtered_out = (before - events.len()) as u64;
    events.sort_unstable_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    stats.events = events.len() as u64;
    stats.missing_event_id = events.iter().filter(|e| e.id.starts_with("noid:")).count() as u64;

    Ok(Ingest { files: files.iter().map(InputFile::display).collect(), events, stats, problems })
}

//! Reading one file: read it (with the size cap), inflate it when it is gzip, parse it into a
//! record sink; and the first pass over one file ([`process_file`]) that does all three into
//! a worker's accumulator, deciding what happened to the file ([`super::sink::FileStatus`]).

use super::discover::io_problem;
use super::evidence::sha256_hex;
use super::issuing::needs_detail;
use super::sink::{FileOutcome, FileScan, FileStatus, ThreadAcc};
use super::{decompress, parquet, parse, result, InputFile, RejectReason, Severity};
use parse::{FileError, Shape};
use std::io::Read;

/// Per-thread scratch: the raw file, the inflated document and simd-json's buffers.
pub(super) struct Scratch {
    pub(super) raw: Vec<u8>,
    pub(super) inflated: Vec<u8>,
    pub(super) json: parse::JsonScratch,
    /// Directories as named, each with every link in its path resolved
    /// ([`super::cache::Cache::process`]).
    pub(super) dirs: std::collections::HashMap<std::path::PathBuf, std::path::PathBuf>,
}

impl Scratch {
    pub(super) fn new() -> Scratch {
        Scratch {
            raw: Vec::new(),
            inflated: Vec::new(),
            json: parse::JsonScratch::default(),
            dirs: Default::default(),
        }
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
pub(super) fn read_decoded(
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

/// Why an exported Parquet file is damaged: the export schema's columns it lacks, or what its
/// footer says the export could not read, or both.
fn parquet_damage(missing: &[&str], incomplete: Option<&str>) -> String {
    match incomplete {
        None => format!(
            "an exported Parquet without the column(s) {}: what the tool derives from them (chains, keys, sessions, launched instances and changed functions) is missing from its rows; keep every column of the export when filtering it (SELECT *)",
            missing.join(", ")
        ),
        Some(why) => format!(
            "an exported Parquet whose footer (or rows' trailhound_incomplete column) says it is incomplete ({}){}: what the export could not read is not in its rows; read the original logs again",
            crate::escape::one_line(why),
            match missing.is_empty() {
                true => String::new(),
                false => format!(", and without the column(s) {}", missing.join(", ")),
            }
        ),
    }
}

pub(super) fn process_file(
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
    acc.replaced.clear();
    let mut sink = FileScan {
        file: idx,
        acc: &mut *acc,
        records: 0,
        kept: 0,
        rejects: Vec::new(),
        truncated: 0,
    };
    let flat = if damage.is_none() && parquet::is_parquet(&st.raw) {
        result::parquet_to_json_lines(&st.raw)
    } else {
        None
    };
    let parsed = if let Some(rows) = flat {
        out.bytes_decompressed = st.raw.len() as u64;
        let missing = result::parquet_missing_columns(&st.raw);
        rows.map_err(FileError::Parquet).and_then(|(mut lines, bad)| {
            let shape = parse_rows(&mut lines, &bad, &mut st.json, &mut sink);
            lacking(shape, &missing, &lines)
        })
    } else if damage.is_none() && parquet::is_parquet(&st.raw) {
        out.bytes_decompressed = st.raw.len() as u64;
        // A file going to the cache needs every row's event (`sink.acc.events`).
        let every = sink.acc.events.is_some();
        let r = parquet::scan(&st.raw, &mut sink, |name| every || needs_detail(name));
        match r {
            Ok((_, missing, None)) if missing.is_empty() => Ok(Shape::Parquet),
            // Its rows are read, and the file is damaged for what it lacks (`parquet` doc), or
            // for what its export could not read (`export::INCOMPLETE_KEY`).
            Ok((rows, missing, why)) => Err(FileError::Damaged {
                cause: parquet_damage(&missing, why.as_deref()),
                salvaged: rows,
                starts_like_json: false,
            }),
            Err(e) => Err(FileError::Parquet(e)),
        }
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
        (None, Err(e @ FileError::NotJson))
            if !f.explicit
                && !placed_as_log(&f.path)
                && container(&st.inflated).is_none()
                && !holds_record_fields(&st.inflated) =>
        {
            FileStatus::Skipped("not_json", e.to_string())
        }
        (None, Err(e @ FileError::NotJson)) => FileStatus::Failed(
            "not_json",
            match container(&st.inflated) {
                Some(what) => format!("{e}: it holds {what}, which trailhound does not open"),
                None if holds_record_fields(&st.inflated) => format!("{e}; yet it names the fields of CloudTrail records (eventTime, eventSource, eventName): a query result or export in a form trailhound does not read, whose records are not counted"),
                None => e.to_string(),
            },
        ),
        (None, Err(e @ FileError::InvalidJson(_))) => {
            FileStatus::Failed("invalid_json", e.to_string())
        }
        (None, Err(FileError::Parquet(d))) => FileStatus::Failed("invalid_parquet", d),
        // Valid JSON that is not CloudTrail (an AWS Config snapshot, a manifest) found while
        // walking a bucket export is expected there; named explicitly it is a mistake.
        (None, Err(e @ FileError::NotCloudTrail(_))) => {
            if holds_record_fields(&pristine(&st.raw, cap)) {
                FileStatus::Failed(
                    "not_cloudtrail",
                    format!("{e}; yet it holds the fields of CloudTrail records (eventTime, eventSource, eventName) in a shape trailhound does not read: reshaped or damaged evidence, whose records are not counted"),
                )
            } else if !f.explicit && !named_as_log(&f.path) {
                FileStatus::Skipped("not_cloudtrail", e.to_string())
            } else {
                FileStatus::Failed("not_cloudtrail", e.to_string())
            }
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
        acc.forget_file(idx);
    }
    acc.files.push(out);
    st.raw.len() as u64
}

/// Parses the document [`read_decoded`] left in `st` (inflated, or the file as read) into
/// `sink`. The parse works on `st.inflated` (a copy for an uncompressed file), so the bytes
/// as read stay in `st.raw` for the fallbacks that need the original document.
pub(super) fn parse_decoded<S: parse::RecordSink>(
    st: &mut Scratch,
    cap: u64,
    sink: &mut S,
) -> Result<Shape, FileError> {
    let Scratch { raw, inflated, json, .. } = st;
    let gz = decompress::is_gzip(raw);
    if !gz {
        inflated.clear();
        inflated.extend_from_slice(raw);
    }
    if let Some(text) = from_utf16(inflated) {
        *inflated = text;
    }
    if let Some(form) = result::detect(inflated) {
        return parse_result(inflated, form, json, sink);
    }
    let raw: &Vec<u8> = raw;
    let mut pristine = || pristine(raw, cap);
    parse::parse_document_with(inflated, &mut pristine, json, sink)
}

/// The document as read (`raw`: the file's bytes), before any parse worked on it: inflated
/// when gzip (deterministic: the same bytes, or the same readable part, again), as UTF-8.
fn pristine(raw: &[u8], cap: u64) -> Vec<u8> {
    let v = if decompress::is_gzip(raw) {
        let mut v = Vec::new();
        let _ = decompress::gunzip_into(raw, &mut v, cap);
        v
    } else {
        raw.to_vec()
    };
    from_utf16(&v).unwrap_or(v)
}

/// A document in UTF-16 with its byte order mark (what Windows PowerShell 5.1 writes for
/// `aws … > file.json`) as UTF-8; `None` for any other document, or one that is not valid
/// UTF-16 (read as it is, and failed as such). Without the mark it was skipped as "neither
/// JSON nor gzip", its records lost with exit 0.
fn from_utf16(b: &[u8]) -> Option<Vec<u8>> {
    let little = match b {
        [0xFF, 0xFE, 0, 0, ..] => return None, // UTF-32
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return None,
    };
    if b.len() % 2 != 0 {
        return None;
    }
    let units = b[2..].chunks_exact(2).map(|c| {
        let pair = [c[0], c[1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    let text: Result<String, _> = char::decode_utf16(units).collect();
    text.ok().map(String::into_bytes)
}

/// Whether a document holds the fields of CloudTrail records (`eventTime`, `eventSource`,
/// `eventName`, as keys or inside a string): one that is valid JSON but not in a shape
/// trailhound reads (`Records` an object or a string, records in nested arrays) is then
/// damaged or reshaped evidence, a failure that names the file (exit 3), not a stray file
/// to skip with its records lost and exit 0.
/// Any case: a query result's columns are `eventtime`, `eventsource`, `eventname` (a JSON
/// Lines result whose first row did not look like one was skipped, its rows lost, exit 0).
/// Or a `trailhound export` CSV or JSON Lines file ([`export_header`]), which a walk skipped
/// as stray files (a review: a folder of the case's exports planned on what else it held,
/// exit 0, verify OK). Not any file that names `event_time`: a case's `blast.json` does, and
/// is not evidence.
fn holds_record_fields(doc: &[u8]) -> bool {
    let has = |w: &[u8]| doc.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
    (has(b"eventTime") && has(b"eventSource") && has(b"eventName")) || export_header(doc)
}

/// Whether a document's first line names the export's key columns (`event_id`, `event_time`,
/// `event_source`, `event_name`, in any case and order): a CSV header (any of `,` `;` tab `|`
/// between, quoted or not) or a JSON Lines row with those keys at its top. A review re-saved
/// the export with its keys sorted, its header quoted or in capitals, `;` between: skipped.
fn export_header(doc: &[u8]) -> bool {
    const KEYS: [&str; 4] = ["event_id", "event_time", "event_source", "event_name"];
    let doc = doc.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(doc);
    let line = doc.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line).trim().to_ascii_lowercase();
    if line.starts_with('{') {
        return serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line)
            .is_ok_and(|row| KEYS.iter().all(|k| row.contains_key(*k)));
    }
    let cells: Vec<&str> = line
        .split([',', ';', '\t', '|'])
        .map(|c| c.trim().trim_matches(|c| c == '"' || c == '\''))
        .collect();
    KEYS.iter().all(|k| cells.contains(k))
}

/// A query result ([`result`]): its rows rebuilt as records, one per line, parsed as JSON
/// Lines; a row that could not be rebuilt is rejected alone (its placeholder line is not
/// handed to `sink` as a record).
fn parse_result<S: parse::RecordSink>(
    doc: &[u8],
    form: result::Form,
    json: &mut parse::JsonScratch,
    sink: &mut S,
) -> Result<Shape, FileError> {
    let (mut lines, bad) = result::to_json_lines(doc, form);
    let shape = parse_rows(&mut lines, &bad, json, sink);
    match form {
        result::Form::Csv => lacking(shape, &result::csv_missing_columns(doc), &lines),
        result::Form::JsonLines => lacking(shape, &result::jsonl_missing_columns(doc), &lines),
        result::Form::LakeApi => Ok(shape),
    }
}

/// A query result whose header or schema lacks columns the queries select
/// ([`result::missing_columns`]): its rows are read (`lines`, one per row), and the file is
/// damaged all the same (exit 3), naming what it lacks.
fn lacking(shape: Shape, missing: &[&str], lines: &[u8]) -> Result<Shape, FileError> {
    if missing.is_empty() {
        return Ok(shape);
    }
    Err(FileError::Damaged {
        cause: format!(
            "a query result without the column(s) {} that trailhound query selects: what the tool derives from them (chains, keys, sessions) is missing from its rows",
            missing.join(", ")
        ),
        salvaged: lines.iter().filter(|&&b| b == b'\n').count() as u64,
        starts_like_json: false,
    })
}

/// The rebuilt rows of a query result (`lines`, and the rows that could not be rebuilt) into
/// `sink`.
pub(super) fn parse_rows<S: parse::RecordSink>(
    lines: &mut [u8],
    bad: &[(u32, String)],
    json: &mut parse::JsonScratch,
    sink: &mut S,
) -> Shape {
    let mut sink = BadRows { inner: sink, bad, next: 0 };
    parse::parse_lines(lines, json, &mut sink);
    Shape::QueryResult
}

/// Why a result row was not rebuilt: a column given twice is a `duplicate_key` (SPEC §8).
fn bad_reason(detail: &str) -> RejectReason {
    if detail.starts_with(result::DUPLICATE) {
        RejectReason::DuplicateKey
    } else {
        RejectReason::InvalidResultRow
    }
}

/// Passes records to `inner`, except the rows [`result::to_json_lines`] could not rebuild,
/// which are rejected with their own detail.
struct BadRows<'a, S> {
    inner: &'a mut S,
    /// `(row, detail)`, in row order.
    bad: &'a [(u32, String)],
    next: usize,
}

impl<S: parse::RecordSink> BadRows<'_, S> {
    /// The detail of row `idx` when it is a bad row.
    fn bad_row(&mut self, idx: u32) -> Option<(RejectReason, String)> {
        while self.next < self.bad.len() && self.bad[self.next].0 < idx {
            self.next += 1;
        }
        let b = self.bad.get(self.next).filter(|b| b.0 == idx)?;
        Some((bad_reason(&b.1), format!("query result row {}: {}", idx, b.1)))
    }
}

impl<S: parse::RecordSink> parse::RecordSink for BadRows<'_, S> {
    fn record(&mut self, r: Option<&super::raw::RawRecord<'_>>, idx: u32) {
        match self.bad_row(idx) {
            Some((why, d)) => self.inner.unparsed(idx, why, d),
            None => self.inner.record(r, idx),
        }
    }
    fn unparsed(&mut self, idx: u32, reason: RejectReason, detail: String) {
        match self.bad_row(idx) {
            Some((why, d)) => self.inner.unparsed(idx, why, d),
            None => self.inner.unparsed(idx, reason, detail),
        }
    }
    fn only_foreign(&self) -> bool {
        false
    }
}

/// True when `doc` (a file's bytes as stored: gzip or not) would give a run at least one
/// event: a record that passes [`parse::check`], read the way every command reads an input
/// file (JSON in any of its shapes, a damaged document's salvaged records, a query result), or
/// any Parquet file. `trailhound integrity` asks this of every file it cannot place by its
/// name, so that nothing the other commands take as evidence escapes its checks.
pub fn holds_events(doc: &[u8], cap: u64) -> bool {
    struct Count(u64);
    impl parse::RecordSink for Count {
        fn record(&mut self, r: Option<&super::raw::RawRecord<'_>>, idx: u32) {
            if r.is_some_and(|r| parse::check(r, idx).is_ok()) {
                self.0 += 1;
            }
        }
        fn unparsed(&mut self, _: u32, _: RejectReason, _: String) {}
        fn only_foreign(&self) -> bool {
            self.0 == 0
        }
    }
    let mut st = Scratch::new();
    st.raw.extend_from_slice(doc);
    let gz = decompress::is_gzip(doc);
    // A gzip cut short: its readable part is what a run salvages records from.
    if gz && decompress::gunzip_into(doc, &mut st.inflated, cap).is_err() && st.inflated.is_empty()
    {
        return false;
    }
    if parquet::is_parquet(if gz { &st.inflated } else { doc }) {
        return true;
    }
    let mut sink = Count(0);
    let _ = parse_decoded(&mut st, cap, &mut sink);
    sink.0 > 0
}

/// How a run came to a file, as the verdict on a file that is not CloudTrail depends on it
/// (bits: named on the command line, [`placed_as_log`], [`named_as_log`]): a cache entry is
/// kept under it. Keyed by the file's own path alone, an entry made when a link named
/// `notes` led to a damaged log file was taken again once the link was renamed as a log
/// file, the file skipped and the run complete where a cold run failed it (exit 3; a
/// review).
pub(super) fn how_found(f: &InputFile) -> u8 {
    u8::from(f.explicit)
        | u8::from(placed_as_log(&f.path)) << 1
        | u8::from(named_as_log(&f.path)) << 2
}

/// Whether a file found by walking a directory that is neither JSON nor gzip is placed as a log
/// file: named as JSON (`.json`, `.json.gz`, `.json.lz4`, `.jsonl`), named as CloudTrail names its log files (`_CloudTrail_`), or in
/// a `CloudTrail` folder. Such a file is damaged or swapped evidence, a failure (exit 3), not
/// a stray file to skip: a one-bit flip in a log file's gzip magic made it "neither JSON nor
/// gzip", skipped with exit 0.
fn placed_as_log(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
    // Named as JSON, alone or followed by anything (`.json.gz`, `.json.lz4`, `.jsonl`): a
    // JSON document damaged or compressed some way trailhound does not open.
    named_as_log(path)
        || name.contains(".json")
        || path.parent().is_some_and(|d| d.components().any(|c| c.as_os_str() == "CloudTrail"))
}

/// Whether a file is named as CloudTrail names its log files (`…_CloudTrail_…`): valid JSON
/// that is not CloudTrail there is a swapped log file (a failure), while other JSON found by
/// walking a bucket export (a manifest, a Config snapshot) is skipped.
fn named_as_log(path: &std::path::Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains("_CloudTrail_"))
}

/// What a file that is not JSON holds, when its first bytes say (a container trailhound does
/// not open): for the failure's text.
fn container(b: &[u8]) -> Option<&'static str> {
    const MAGICS: [(&[u8], &str); 11] = [
        (b"\x1f\x8b", "gzip inside the gzip layer (compressed twice)"),
        (b"\x1f", "a damaged gzip header"),
        (b"BZh", "bzip2"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"PK\x03\x04", "a zip archive"),
        (b"\xff\xfe", "UTF-16 text"),
        (b"\x04\x22\x4d\x18", "lz4"),
        (b"\x5d\x00\x00", "lzma"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"LZIP", "lzip"),
    ];
    if b.starts_with(b"\xfe\xff") {
        return Some("UTF-16 text");
    }
    MAGICS.iter().find(|(m, _)| b.starts_with(m)).map(|(_, what)| *what)
}

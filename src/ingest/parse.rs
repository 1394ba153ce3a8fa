//! Shape detection and record parsing of one decompressed file.
//!
//! The shape is read from the content, never the file name (SPEC §1): `{"Records":[…]}`, a
//! bare JSON array of records, JSON Lines, `lookup-events` output (records as JSON strings in
//! `CloudTrailEvent`), a single record, several such documents one after the other
//! (`cat *.json.gz`), or a digest file (skipped). One simd-json pass turns the document into a
//! tape; the document around the records is read from the tape directly, and each record is
//! deserialized from its own slice of the tape into the borrowed [`RawRecord`]
//! ([`super::tape`]), so one bad record (a duplicate key, nesting deeper than
//! [`MAX_DEPTH`]) is rejected alone, and nothing recurses with the input's nesting.
//!
//! A document that does not parse as a whole is, in order: a sequence of complete
//! documents (read one by one); a damaged CloudTrail file (a truncated download, a terminal
//! paste, a gzip cut short), from which every complete record is salvaged ([`salvage`]); or
//! not JSON / invalid JSON.

use super::normalize::reject;
use super::raw::RawRecord;
use super::tape::{self, TapeError, MAX_DEPTH};
use super::{RecordReject, RejectReason};
use crate::model::Event;
use simd_json::{Node, Tape};

pub use super::normalize::{check, creation_date_of, normalize};

/// What kind of document a file held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"Records":[…]}`.
    RecordsWrapper,
    /// A bare JSON array of records.
    Array,
    /// One record per line.
    JsonLines,
    /// `aws cloudtrail lookup-events` output.
    LookupEvents,
    /// One bare record object.
    SingleRecord,
    /// Several complete JSON documents one after the other (`cat *.json.gz | … -`).
    Concatenated,
    /// A CloudTrail digest file: not events (SPEC §1).
    Digest,
    /// A Parquet table written by `trailhound export` ([`super::parquet`]).
    Parquet,
    /// The CSV or JSON Lines result of a `trailhound query` query ([`super::result`]).
    QueryResult,
}

/// Why a whole file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Nothing but whitespace.
    Empty,
    /// The content does not start like JSON.
    NotJson,
    /// JSON syntax error.
    InvalidJson(String),
    /// Valid JSON, but not CloudTrail records.
    NotCloudTrail(String),
    /// A Parquet file that cannot be read as an export table ([`super::parquet`]).
    Parquet(String),
    /// Holds CloudTrail records but does not parse as a whole (SPEC §8: a truncated download,
    /// a terminal paste): the complete records in it were salvaged and handed to the sink
    /// anyway. A failure all the same.
    Damaged {
        /// What is wrong with the document.
        cause: String,
        /// Records handed to the sink (kept or rejected).
        salvaged: u64,
        /// The content starts like JSON (`{` or `[`), i.e. a JSON document that breaks off
        /// (`invalid_json`); otherwise a fragment (a paste that starts mid-record) or a whole
        /// document whose wrapper is ambiguous (`damaged_cloudtrail`).
        starts_like_json: bool,
    },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Empty => f.write_str("the file is empty"),
            FileError::NotJson => f.write_str("content is neither JSON nor gzip"),
            FileError::InvalidJson(d) => write!(f, "invalid JSON: {d}"),
            FileError::NotCloudTrail(d) => write!(f, "valid JSON but not CloudTrail: {d}"),
            FileError::Parquet(d) => f.write_str(d),
            FileError::Damaged { cause, salvaged, .. } => {
                write!(f, "damaged CloudTrail file ({cause}); {salvaged} complete records salvaged")
            }
        }
    }
}

/// Receives the records of one document, one call per record, in file order.
pub trait RecordSink {
    /// A record at index `idx`; `None` when the array element is not a JSON object.
    fn record(&mut self, r: Option<&RawRecord<'_>>, idx: u32);
    /// A record that could not be parsed at all (a JSON Lines line, a `CloudTrailEvent`
    /// string, a duplicate key, nesting too deep).
    fn unparsed(&mut self, idx: u32, reason: RejectReason, detail: String);
    /// True when records were seen but none was a CloudTrail record (only foreign objects).
    fn only_foreign(&self) -> bool;
}

/// A sink that normalizes records into owned [`Event`]s: all of them, or only the record
/// indices in `want` (the second, targeted pass over files holding tainted events).
#[derive(Debug, Default)]
pub struct Parsed {
    /// File index stored in each event's [`Origin`](crate::model::Origin).
    pub file: u32,
    /// Only these record indices (sorted); `None` = every record.
    pub want: Option<Vec<u32>>,
    /// Records seen (kept + rejected).
    pub records: u64,
    /// Normalized events, in file order.
    pub events: Vec<Event>,
    /// Records that could not be used, with the reason.
    pub rejects: Vec<RecordReject>,
}

impl Parsed {
    /// A sink keeping every record of file `file`.
    pub fn all(file: u32) -> Parsed {
        Parsed { file, ..Parsed::default() }
    }
}

impl RecordSink for Parsed {
    fn record(&mut self, r: Option<&RawRecord<'_>>, idx: u32) {
        self.records += 1;
        if let Some(w) = &self.want {
            if w.binary_search(&idx).is_err() {
                return;
            }
        }
        match r {
            None => self.rejects.push(reject(
                idx,
                RejectReason::NotARecord,
                "array element is not an object",
            )),
            Some(r) => match normalize(r, self.file, idx) {
                Ok(e) => self.events.push(e),
                Err(rej) => self.rejects.push(rej),
            },
        }
    }
    fn unparsed(&mut self, idx: u32, reason: RejectReason, detail: String) {
        self.records += 1;
        self.rejects.push(RecordReject { record: idx, reason, detail, more: 0 });
    }
    fn only_foreign(&self) -> bool {
        !self.rejects.is_empty()
            && self.events.is_empty()
            && self.rejects.iter().all(|r| r.reason == RejectReason::NotARecord)
    }
}

/// simd-json's buffers and a tape, both reused from one document to the next by a reader of
/// many files. A tape made afresh for every document (`simd_json::to_tape_with_buffers`) was
/// sized from the previous document and then grown by `realloc`, which copied it: about 2%
/// of a cold run's CPU.
#[derive(Default)]
pub struct JsonScratch {
    pub buffers: simd_json::Buffers,
    /// The tape, cleared, between documents (while one is parsed it borrows that document and
    /// is out of here). One grown past [`KEPT_TAPE_BYTES`] is let go of instead.
    tape: Option<Tape<'static>>,
}

/// The largest tape kept for the next document: a CloudTrail log file needs a few MB; a
/// document near the size cap (`--max-file-size`) needs far more, and its tape is freed with
/// it, as before tapes were reused.
const KEPT_TAPE_BYTES: usize = 64 << 20;

impl JsonScratch {
    /// Parses `input` (de-escaped in place) into the reused tape and hands its nodes, with the
    /// buffers for any nested parse, to `f`.
    fn parse<R>(
        &mut self,
        input: &mut [u8],
        f: impl FnOnce(&[Node<'_>], &mut simd_json::Buffers) -> R,
    ) -> Result<R, simd_json::Error> {
        let mut tape = self.tape.take().unwrap_or_else(|| Tape(Vec::new())).reset();
        let out = simd_json::fill_tape(input, &mut self.buffers, &mut tape)
            .map(|()| f(&tape.0, &mut self.buffers));
        let bytes = tape.0.capacity() * std::mem::size_of::<Node<'_>>();
        self.tape = (bytes <= KEPT_TAPE_BYTES).then(|| tape.reset());
        out
    }
}

/// Parses one decompressed document into `sink`. `buf` is modified (simd-json de-escapes in
/// place), so a copy is kept for the fallbacks (sequences of documents, salvage); callers
/// that can restore the bytes themselves use [`parse_document_with`].
///
/// # Errors
/// [`FileError`] when the document as a whole is unusable; individual bad records go to the
/// sink instead. After [`FileError::Damaged`] the sink holds the salvaged records.
pub fn parse_document<S: RecordSink>(
    buf: &mut [u8],
    buffers: &mut simd_json::Buffers,
    sink: &mut S,
) -> Result<Shape, FileError> {
    let pristine = buf.to_vec();
    let mut json = JsonScratch { buffers: std::mem::take(buffers), tape: None };
    let out = parse_document_with(buf, &mut || pristine.clone(), &mut json, sink);
    *buffers = json.buffers;
    out
}

/// [`parse_document`], with `pristine` giving back the document's original bytes when the
/// fast path has failed half-way (and modified `buf`). Called at most once, only for a
/// document that does not parse as a whole.
///
/// # Errors
/// As [`parse_document`].
pub fn parse_document_with<S: RecordSink>(
    buf: &mut [u8],
    pristine: &mut dyn FnMut() -> Vec<u8>,
    json: &mut JsonScratch,
    sink: &mut S,
) -> Result<Shape, FileError> {
    let start = body_start(buf);
    if start == buf.len() {
        return Err(FileError::Empty);
    }
    let body = &mut buf[start..];
    let first = body[0];
    if first != b'{' && first != b'[' {
        // Not JSON; but a paste that starts mid-record still holds whole records.
        return damaged_or(
            &mut pristine()[start..],
            &mut json.buffers,
            sink,
            false,
            FileError::NotJson,
            || "does not start like JSON (a fragment or a terminal paste?)".to_string(),
        );
    }
    if first == b'{' && !starts_with_records_key(body) && is_json_lines(body) {
        parse_lines(body, json, sink);
        return foreign_check(sink, Shape::JsonLines, "no line is a CloudTrail record");
    }
    let mut next = 0u32;
    let err =
        match json.parse(body, |nodes, buffers| document(nodes, buffers, sink, &mut next, false)) {
            Ok(shape) => return shape,
            Err(e) => e.to_string(),
        };
    let buffers = &mut json.buffers;
    // The fast path failed: from here on, work on the original bytes.
    let mut orig = pristine();
    let body = &mut orig[start..];
    if let Some(spans) = split_values(body) {
        if spans.len() > 1 && spans.iter().all(|&(s, e)| parses(&body[s..e], buffers)) {
            let mut damaged = None;
            for (s, e) in spans {
                if let Ok(t) = simd_json::to_tape_with_buffers(&mut body[s..e], buffers) {
                    // In a sequence, a document that is not CloudTrail is a rejected record
                    // (`document`); one whose records are ambiguous makes the file damaged.
                    if let Err(d @ FileError::Damaged { .. }) =
                        document(&t.0, buffers, sink, &mut next, true)
                    {
                        damaged.get_or_insert(d);
                    }
                }
            }
            if let Some(d) = damaged {
                return Err(d);
            }
            return foreign_check(
                sink,
                Shape::Concatenated,
                "no document holds CloudTrail records",
            );
        }
    }
    let cause = format!("invalid JSON: {err}");
    damaged_or(body, buffers, sink, true, FileError::InvalidJson(err), || cause)
}

/// Where the document starts: after a UTF-8 byte order mark and whitespace.
fn body_start(buf: &[u8]) -> usize {
    let mut start = if buf.starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
    while start < buf.len() && buf[start].is_ascii_whitespace() {
        start += 1;
    }
    start
}

fn foreign_check<S: RecordSink>(sink: &S, shape: Shape, what: &str) -> Result<Shape, FileError> {
    if sink.only_foreign() {
        return Err(FileError::NotCloudTrail(what.to_string()));
    }
    Ok(shape)
}

/// Salvages the records of a document that does not parse; [`FileError::Damaged`] when it
/// holds CloudTrail records (or record fields), else `otherwise`.
fn damaged_or<S: RecordSink>(
    body: &mut [u8],
    buffers: &mut simd_json::Buffers,
    sink: &mut S,
    starts_like_json: bool,
    otherwise: FileError,
    cause: impl FnOnce() -> String,
) -> Result<Shape, FileError> {
    let salvaged = salvage(body, buffers, sink);
    if salvaged > 0 || has_record_fields(body) {
        return Err(FileError::Damaged { cause: cause(), salvaged, starts_like_json });
    }
    Err(otherwise)
}

/// True when `b` holds a CloudTrail record field name (`"eventTime"` and another one).
fn has_record_fields(b: &[u8]) -> bool {
    let has = |k: &[u8]| b.windows(k.len()).any(|w| w == k);
    has(b"\"eventTime\"")
        && (has(b"\"eventSource\"") || has(b"\"eventName\"") || has(b"\"eventID\""))
}

fn parses(piece: &[u8], buffers: &mut simd_json::Buffers) -> bool {
    let mut copy = piece.to_vec();
    simd_json::to_tape_with_buffers(&mut copy, buffers).is_ok()
}

/// The records of one parsed document (its tape) into the sink, numbered from `next`.
/// `in_sequence`: one document of several, where an object without records is a rejected
/// record rather than a file that is not CloudTrail.
fn document<S: RecordSink>(
    nodes: &[Node<'_>],
    buffers: &mut simd_json::Buffers,
    sink: &mut S,
    next: &mut u32,
    in_sequence: bool,
) -> Result<Shape, FileError> {
    let mut take = || {
        let i = *next;
        *next = next.saturating_add(1);
        i
    };
    match nodes.first() {
        Some(Node::Array { .. }) => {
            let mut n = 0u32;
            for at in tape::elements(nodes, 0) {
                record_at(nodes, at, take(), sink);
                n += 1;
            }
            if !in_sequence && sink.only_foreign() {
                return Err(FileError::NotCloudTrail(format!(
                    "none of the {n} array elements is a CloudTrail record"
                )));
            }
            Ok(Shape::Array)
        }
        Some(Node::Object { .. }) => {
            let (mut records, mut events, mut digest) = (Vec::new(), Vec::new(), false);
            let mut record_fields = false;
            for (k, v) in tape::members(nodes, 0) {
                match k {
                    "Records" => records.push(v),
                    "Events" => events.push(v),
                    "digestStartTime" | "logFiles" => digest = true,
                    k if RECORD_KEYS.contains(&k) => record_fields = true,
                    _ => {}
                }
            }
            // A record that also holds a "Records" or "Events" array: read as a wrapper, the
            // record itself was lost without a word (an `AssumeRole` of the leaked key with an
            // empty "Records" key issued no session, plan 0, verify OK). It is read as a
            // record, its arrays as well, and the file is a failure that says so.
            let also_record = record_fields && !(records.is_empty() && events.is_empty());
            if records.len() + events.len() > 1 || also_record {
                // Which one counts is ambiguous (other tools keep the last, trailhound kept the
                // first): every array is read, and the file is a failure that says so.
                let mut salvaged = 0u64;
                if also_record {
                    record_at(nodes, 0, take(), sink);
                    salvaged += 1;
                }
                for &v in records.iter().filter(|&&v| matches!(nodes[v], Node::Array { .. })) {
                    for at in tape::elements(nodes, v) {
                        record_at(nodes, at, take(), sink);
                        salvaged += 1;
                    }
                }
                for &v in events.iter().filter(|&&v| matches!(nodes[v], Node::Array { .. })) {
                    salvaged += lookup_events(nodes, v, buffers, sink, &mut take);
                }
                let cause = match also_record {
                    true => format!(
                        "the document is a CloudTrail record and holds {} \"Records\" and {} \"Events\" keys too: whether it is a record or a wrapper is ambiguous, so it was read as a record and every array as well",
                        records.len(),
                        events.len()
                    ),
                    false => format!(
                        "the document holds {} \"Records\" and {} \"Events\" keys: which one counts is ambiguous (other tools keep the last), so every array was read",
                        records.len(),
                        events.len()
                    ),
                };
                return Err(FileError::Damaged { cause, salvaged, starts_like_json: false });
            }
            if let Some(&v) = records.first() {
                if !matches!(nodes[v], Node::Array { .. }) {
                    let what = "\"Records\" is not an array";
                    if in_sequence {
                        sink.unparsed(take(), RejectReason::NotARecord, what.into());
                        return Ok(Shape::RecordsWrapper);
                    }
                    return Err(FileError::NotCloudTrail(what.into()));
                }
                for at in tape::elements(nodes, v) {
                    record_at(nodes, at, take(), sink);
                }
                return Ok(Shape::RecordsWrapper);
            }
            if let Some(&v) = events.first().filter(|&&v| matches!(nodes[v], Node::Array { .. })) {
                lookup_events(nodes, v, buffers, sink, &mut take);
                return Ok(Shape::LookupEvents);
            }
            // Record fields first: a record with a forged `logFiles` key is a record, not a
            // digest file to skip.
            if record_fields {
                record_at(nodes, 0, take(), sink);
                return Ok(Shape::SingleRecord);
            }
            if digest && in_sequence {
                let what = "a CloudTrail digest among the documents of a log file";
                sink.unparsed(take(), RejectReason::NotARecord, what.into());
                return Ok(Shape::SingleRecord);
            }
            if digest {
                return Ok(Shape::Digest);
            }
            if in_sequence {
                sink.unparsed(
                    take(),
                    RejectReason::NotARecord,
                    "object has no CloudTrail record fields".into(),
                );
                return Ok(Shape::SingleRecord);
            }
            Err(FileError::NotCloudTrail(
                "a JSON object without \"Records\", \"Events\" or CloudTrail record fields".into(),
            ))
        }
        _ => Err(FileError::NotJson),
    }
}

/// The records of a `lookup-events` array (`Events`, each with a `CloudTrailEvent` string) at
/// `nodes[v]` into the sink; returns how many elements it handed on.
fn lookup_events<S: RecordSink>(
    nodes: &[Node<'_>],
    v: usize,
    buffers: &mut simd_json::Buffers,
    sink: &mut S,
    take: &mut impl FnMut() -> u32,
) -> u64 {
    let mut scratch = Vec::new();
    let mut n = 0u64;
    for at in tape::elements(nodes, v) {
        let i = take();
        n += 1;
        let mut texts = tape::members(nodes, at).filter(|(k, _)| *k == "CloudTrailEvent");
        let (first, second) = (texts.next(), texts.next());
        if second.is_some() {
            sink.unparsed(
                i,
                RejectReason::DuplicateKey,
                "the key \"CloudTrailEvent\" appears twice in one event: which value counts is ambiguous".into(),
            );
            continue;
        }
        let Some(text) = first.and_then(|(_, v)| match nodes[v] {
            Node::String(s) => Some(s),
            _ => None,
        }) else {
            sink.unparsed(i, RejectReason::NotARecord, "no CloudTrailEvent string".into());
            continue;
        };
        scratch.clear();
        scratch.extend_from_slice(text.as_bytes());
        match simd_json::to_tape_with_buffers(&mut scratch, buffers) {
            Ok(t) => record_at(&t.0, 0, i, sink),
            Err(err) => sink.unparsed(i, RejectReason::InvalidJson, err.to_string()),
        }
    }
    n
}

/// Top-level keys that make an object a CloudTrail record.
const RECORD_KEYS: [&str; 5] = ["eventTime", "eventName", "eventSource", "eventID", "eventVersion"];

/// One record: the value at `nodes[at]`, deserialized from its own slice of the tape.
fn record_at<S: RecordSink>(nodes: &[Node<'_>], at: usize, idx: u32, sink: &mut S) {
    let end = (at + tape::extent(nodes, at)).min(nodes.len());
    let slice = &nodes[at..end];
    if !matches!(slice.first(), Some(Node::Object { .. })) {
        sink.record(None, idx);
        return;
    }
    if tape::too_deep(slice, MAX_DEPTH) {
        sink.unparsed(
            idx,
            RejectReason::TooDeep,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        );
        return;
    }
    match tape::from_tape::<RawRecord>(slice) {
        Ok(mut r) => {
            if r.request_parameters.get().is_some() {
                r.passed_roles = tape::passed_roles(slice);
            }
            sink.record(Some(&r), idx)
        }
        Err(TapeError::DuplicateKey(k)) => sink.unparsed(
            idx,
            RejectReason::DuplicateKey,
            format!("the key {k:?} appears twice in one object: which value counts is ambiguous"),
        ),
        Err(e) => sink.unparsed(idx, RejectReason::InvalidJson, e.to_string()),
    }
}

/// True when the object's first key is `"Records"` (every CloudTrail log file).
fn starts_with_records_key(body: &[u8]) -> bool {
    body[1..].trim_ascii_start().starts_with(b"\"Records\"")
}

/// JSON Lines: the first line is a complete object and another object starts on a later line.
fn is_json_lines(body: &[u8]) -> bool {
    let Some(nl) = body.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let first = body[..nl].trim_ascii();
    let rest = body[nl + 1..].trim_ascii_start();
    first.len() > 1 && first.ends_with(b"}") && rest.first() == Some(&b'{')
}

pub(super) fn parse_lines<S: RecordSink>(body: &mut [u8], json: &mut JsonScratch, sink: &mut S) {
    for (idx, line) in body.split_mut(|&b| b == b'\n').enumerate() {
        let idx = idx as u32;
        if line.trim_ascii().is_empty() {
            continue;
        }
        let parsed = json.parse(line, |nodes, _| {
            // A whole `{"Records": [...]}` document on one line holds several records where
            // the line has one number: rejected as one, saying how many it holds.
            let held = tape::members(nodes, 0)
                .filter(|(k, _)| matches!(*k, "Records" | "Events"))
                .find_map(|(k, v)| matches!(nodes[v], Node::Array { .. }).then(|| (k, v)));
            match held {
                Some((k, v)) if matches!(nodes.first(), Some(Node::Object { .. })) => sink.unparsed(
                    idx,
                    RejectReason::NotARecord,
                    format!(
                        "a whole document on one line, with {} records under \"{k}\": not read as records (give it as a file of its own)",
                        tape::elements(nodes, v).count()
                    ),
                ),
                _ => record_at(nodes, 0, idx, sink),
            }
        });
        if let Err(e) = parsed {
            sink.unparsed(idx, RejectReason::InvalidJson, e.to_string());
        }
    }
}

/// Index just after the array or object starting at `b[start]`, or `None` when it never
/// closes. Strings are skipped (with their escapes); bracket kinds are not matched (the
/// parser checks that).
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// The spans of complete top-level arrays or objects that make up `b`, separated by
/// whitespace only; `None` when anything else is met (a value that never closes, text).
fn split_values(b: &[u8]) -> Option<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            return Some(out);
        }
        if b[i] != b'{' && b[i] != b'[' {
            return None;
        }
        let end = value_end(b, i)?;
        out.push((i, end));
        i = end;
    }
}

/// Keys a CloudTrail record object can start with: an unescaped `{"<key>":` is where a
/// record may begin in a damaged file (inside a JSON string those quotes would be escaped).
const START_KEYS: [&[u8]; 12] = [
    b"eventVersion",
    b"eventTime",
    b"eventSource",
    b"eventName",
    b"eventID",
    b"userIdentity",
    b"awsRegion",
    b"eventType",
    b"eventCategory",
    b"additionalEventData",
    b"apiVersion",
    b"errorCode",
];

/// Length of `{ "<record key>" :` at `b[i]` (whitespace allowed), or `None`.
fn record_start(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() && b[j].is_ascii_whitespace() {
        j += 1;
    }
    if b.get(j) != Some(&b'"') {
        return None;
    }
    let rest = &b[j + 1..];
    let key =
        START_KEYS.iter().find(|k| rest.starts_with(k) && rest.get(k.len()) == Some(&b'"'))?;
    let mut k = j + 2 + key.len();
    while k < b.len() && b[k].is_ascii_whitespace() {
        k += 1;
    }
    (b.get(k) == Some(&b':')).then_some(k + 1 - i)
}

/// The spans of the complete objects in `b` that start like a CloudTrail record, in order.
/// One pass, string-aware, that re-synchronizes where it cannot be inside a string (a raw
/// line break; an unescaped `{"eventVersion":`), so a paste that starts inside a string or a
/// shell prompt with a stray quote does not hide the records after it. Open brackets are
/// remembered up to a fixed depth, so memory stays small whatever the nesting.
fn record_spans(b: &[u8]) -> Vec<(usize, usize)> {
    const STACK: usize = 512;
    let mut spans = Vec::new();
    // Open brackets: (position, starts a record); `extra` counts those past STACK.
    let mut open: Vec<(usize, bool)> = Vec::new();
    let mut extra = 0usize;
    let mut in_str = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            in_str = false;
        } else if c == b'{' && (!in_str || b.get(i + 1) == Some(&b'"')) {
            if let Some(n) = record_start(b, i) {
                if in_str {
                    // A string cannot hold an unescaped `{"eventTime":`: we were not in one.
                    in_str = false;
                }
                if open.len() < STACK {
                    open.push((i, true));
                } else {
                    extra += 1;
                }
                // Continue at the key's opening quote, outside any string.
                i += n;
                continue;
            }
            if !in_str {
                if open.len() < STACK {
                    open.push((i, false));
                } else {
                    extra += 1;
                }
            }
        } else if in_str {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'[' => {
                    if open.len() < STACK {
                        open.push((i, false));
                    } else {
                        extra += 1;
                    }
                }
                b'}' | b']' => {
                    if extra > 0 {
                        extra -= 1;
                    } else if let Some((start, rec)) = open.pop() {
                        if rec && c == b'}' {
                            spans.push((start, i + 1));
                        }
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    spans.sort_unstable();
    spans
}

/// Hands every complete CloudTrail record of a damaged document to the sink, numbered in
/// order from 0 (the same numbers on every pass over the same bytes), and returns how many.
/// A record is a complete object that starts like one ([`record_spans`]), parses on its own
/// and has CloudTrail record fields; records inside a salvaged one are not counted again.
pub fn salvage<S: RecordSink>(body: &[u8], buffers: &mut simd_json::Buffers, sink: &mut S) -> u64 {
    let mut n = 0u32;
    let mut done = 0usize;
    let mut scratch = Vec::new();
    for (s, e) in record_spans(body) {
        if s < done {
            continue;
        }
        scratch.clear();
        scratch.extend_from_slice(&body[s..e]);
        let Ok(t) = simd_json::to_tape_with_buffers(&mut scratch, buffers) else { continue };
        if !tape::members(&t.0, 0).any(|(k, _)| RECORD_KEYS.contains(&k)) {
            continue;
        }
        record_at(&t.0, 0, n, sink);
        n += 1;
        done = e;
    }
    u64::from(n)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::time::parse_iso;

    fn parse(s: &str) -> Result<(Shape, Parsed), FileError> {
        let mut b = s.as_bytes().to_vec();
        let mut sink = Parsed::all(0);
        let shape = parse_document(&mut b, &mut simd_json::Buffers::default(), &mut sink)?;
        Ok((shape, sink))
    }

    pub(crate) const REC: &str = r#"{"eventVersion":"1.08","eventTime":"2023-07-10T11:42:36Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","eventID":"e1","userIdentity":{"type":"IAMUser","accessKeyId":"AKIAIOSFODNN7EXAMPLE","arn":"arn:aws:iam::111122223333:user/a","sessionContext":{"attributes":{"creationDate":"20230710T114200Z","mfaAuthenticated":"false"},"sessionIssuer":{}}},"requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/R","roleSessionName":"s","durationSeconds":"900"},"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE000000001","expiration":"Jul 10, 2023, 12:42:36 PM","sessionToken":"x"},"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/R/s","assumedRoleId":"AROAEXAMPLE:s"}},"resources":[{"ARN":"arn:aws:iam::111122223333:role/R","accountId":"111122223333","type":"AWS::IAM::Role"}],"readOnly":true}"#;

    #[test]
    fn every_shape_gives_the_same_event() {
        let wrapper = format!("{{\"Records\":[{REC}]}}");
        let array = format!("[{REC}]");
        let lines = format!("{REC}\n{}\n", REC.replace("\"e1\"", "\"e2\""));
        let escaped = serde_json::to_string(REC).unwrap();
        let lookup =
            format!("{{\"Events\":[{{\"EventId\":\"e1\",\"CloudTrailEvent\":{escaped}}}]}}");
        let mut seen = Vec::new();
        for (doc, shape) in [
            (wrapper.as_str(), Shape::RecordsWrapper),
            (array.as_str(), Shape::Array),
            (lines.as_str(), Shape::JsonLines),
            (lookup.as_str(), Shape::LookupEvents),
            (REC, Shape::SingleRecord),
        ] {
            let (s, p) = parse(doc).unwrap();
            assert_eq!(s, shape);
            assert!(p.rejects.is_empty(), "{shape:?}: {:?}", p.rejects);
            seen.push(p.events[0].clone());
        }
        let e = &seen[0];
        assert_eq!(e.response.credentials_key.as_deref(), Some("ASIAEXAMPLE000000001"));
        assert_eq!(e.response.credentials_expiration, parse_iso("2023-07-10T12:42:36Z"));
        assert_eq!(e.request.duration_seconds, Some(900));
        assert_eq!(e.identity.creation_date, parse_iso("2023-07-10T11:42:00Z"));
        assert_eq!(e.identity.mfa_authenticated, Some(false));
        assert_eq!(e.resources, vec!["arn:aws:iam::111122223333:role/R".to_string()]);
        for other in &seen[1..] {
            let mut o = other.clone();
            o.id = e.id.clone();
            assert_eq!(&o, e);
        }
    }
    /// One scratch (buffers and tape) carried from document to document, larger then smaller,
    /// valid then broken, in every shape, gives what a fresh parse of each gives: nothing of
    /// one document shows through in the next. A tape grown past the bound is not kept.
    #[test]
    fn a_reused_tape_gives_what_a_fresh_parse_gives() {
        let rec = |i: usize| REC.replace("\"e1\"", &format!("\"e{i}\""));
        let many: Vec<String> = (0..300).map(rec).collect();
        let docs = [
            format!("{{\"Records\":[{}]}}", many.join(",")),
            format!("[{}]", rec(7)),
            format!("{{\"Records\":[{},{{\"eventTime\":null}},3]}}", many[..40].join(",")),
            format!("{}\n{}\n", rec(8), rec(9)),
            format!("{{\"Records\":[{}", many[..10].join(",")),
            rec(10),
            "{\"Records\":[]}".to_string(),
            format!("{{\"Records\":[{}]}}", many.join(",")),
        ];
        let mut json = JsonScratch::default();
        for (i, doc) in docs.iter().enumerate() {
            let fresh = parse(doc).map(|(shape, p)| (shape, p.events, p.rejects));
            let mut b = doc.as_bytes().to_vec();
            let pristine = b.clone();
            let mut sink = Parsed::all(0);
            let again = parse_document_with(&mut b, &mut || pristine.clone(), &mut json, &mut sink)
                .map(|shape| (shape, sink.events, sink.rejects));
            assert_eq!(format!("{again:?}"), format!("{fresh:?}"), "document {i}");
            assert!(json.tape.is_some(), "document {i}: the tape is kept for the next");
        }
        // About 3 M tape nodes (over 64 MB): parsed, then let go of.
        let mut big = vec![b'['];
        big.extend(std::iter::repeat_n(&b"1,"[..], 3 << 20).flatten());
        big.extend_from_slice(b"1]");
        let pristine = big.clone();
        let mut sink = Parsed::all(0);
        let r = parse_document_with(&mut big, &mut || pristine.clone(), &mut json, &mut sink);
        assert!(matches!(r, Err(FileError::NotCloudTrail(_))), "{r:?}");
        assert!(json.tape.is_none(), "a tape past the bound is freed");
        let (mut b, mut sink) = (rec(11).into_bytes(), Parsed::all(0));
        let pristine = b.clone();
        parse_document_with(&mut b, &mut || pristine.clone(), &mut json, &mut sink).unwrap();
        assert_eq!(sink.events.len(), 1);
    }

    #[test]
    fn lenient_fields_do_not_reject_records() {
        let odd = r#"{"Records":[{"eventTime":"2023-07-10T11:42:36Z","eventName":"X","userIdentity":{"accountId":5},"requestParameters":{"roleArn":5},"responseElements":{"credentials":5},"readOnly":"true","resources":null,"userAgent":7}]}"#;
        let (_, p) = parse(odd).unwrap();
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].read_only, Some(true));
        assert_eq!(p.events[0].user_agent, None);
    }

    /// A record that also holds a "Records" (or "Events") array is read as a record, its array
    /// too, and the file is damaged: read as a wrapper, the record was lost without a word.
    #[test]
    fn a_record_holding_a_records_array_is_read_and_the_file_is_damaged() {
        let rec = REC.trim_end_matches('}');
        for (doc, arrays) in [
            (format!(r#"{rec},"Records":[]}}"#), 0),
            (format!(r#"{rec},"Events":[]}}"#), 0),
            (format!(r#"{rec},"Records":[{}]}}"#, REC.replace("\"e1\"", "\"e2\"")), 1),
        ] {
            let mut b = doc.clone().into_bytes();
            let mut sink = Parsed::all(0);
            let r = parse_document(&mut b, &mut simd_json::Buffers::default(), &mut sink);
            let Err(FileError::Damaged { cause, salvaged, .. }) = r else { panic!("{r:?}: {doc}") };
            assert!(cause.contains("is a CloudTrail record and holds"), "{cause}");
            assert_eq!(salvaged, 1 + arrays, "{doc}");
            assert_eq!(sink.events.len() as u64, 1 + arrays, "{doc}");
            assert_eq!(sink.events[0].name, "AssumeRole");
        }
    }

    /// `userIdentity`, `requestParameters` and `responseElements` of another type than an
    /// object or null reject the record (SPEC §8): read as missing, they hid who called and
    /// what the call did (a role assumption with both as JSON strings issued no session);
    /// so does an `eventName` that is not a string.
    #[test]
    fn a_call_whose_identity_request_or_response_is_not_an_object_is_rejected() {
        let base = r#""eventTime":"2023-07-10T11:42:36Z","eventName":"AssumeRole","eventSource":"sts.amazonaws.com""#;
        let ok = format!(r#"{base},"userIdentity":{{"arn":"arn:aws:iam::111122223333:user/u"}}"#);
        for (field, value, what) in [
            ("userIdentity", r#""weird""#, "a string"),
            ("requestParameters", "[1,2]", "an array"),
            ("requestParameters", r#""{\"roleArn\":\"x\"}""#, "a string"),
            ("responseElements", "5", "a number"),
            ("responseElements", "true", "a boolean"),
        ] {
            let first = if field == "userIdentity" { base } else { &ok };
            let doc = format!(r#"{{"Records":[{{{first},"{field}":{value}}},{{{ok}}}]}}"#);
            let (_, p) = parse(&doc).unwrap();
            assert_eq!(p.events.len(), 1, "{doc}");
            assert_eq!(p.rejects.len(), 1, "{doc}");
            let r = &p.rejects[0];
            assert_eq!((r.record, r.reason), (0, RejectReason::WrongType), "{doc}");
            assert!(r.detail.starts_with(&format!("{field} is {what}, not an object")), "{r:?}");
        }
        // Nor is one that does not say what call it is (an `AssumeRole` named by an array
        // issued no session); a missing `eventSource` is let be.
        let time = r#""eventTime":"2023-07-10T11:42:36Z","userIdentity":{}"#;
        for (fields, detail) in [
            (r#""eventName":["AssumeRole"]"#, "eventName is an array, not a string"),
            (r#""eventName":7"#, "eventName is a number, not a string"),
            (r#""eventName":null"#, "eventName is missing or null"),
            (r#""eventSource":"sts.amazonaws.com""#, "eventName is missing or null"),
            (r#""eventName":"X","eventSource":{}"#, "eventSource is an object, not a string"),
        ] {
            let doc = format!(r#"{{"Records":[{{{time},{fields}}},{{{ok}}}]}}"#);
            let (_, p) = parse(&doc).unwrap();
            assert_eq!((p.events.len(), p.rejects.len()), (1, 1), "{doc}");
            assert_eq!(p.rejects[0].reason, RejectReason::WrongType, "{doc}");
            assert!(p.rejects[0].detail.starts_with(detail), "{:?}", p.rejects[0]);
        }
        // Nor one that does not say who made the call.
        for who in ["", r#","userIdentity":null"#] {
            let doc = format!(r#"{{"Records":[{{{base}{who}}},{{{ok}}}]}}"#);
            let (_, p) = parse(&doc).unwrap();
            assert_eq!((p.events.len(), p.rejects.len()), (1, 1), "{doc}");
            assert_eq!(p.rejects[0].reason, RejectReason::WrongType, "{doc}");
            assert!(p.rejects[0].detail.starts_with("userIdentity is missing or null"), "{doc}");
        }
    }

    #[test]
    fn bad_records_are_rejected_with_reasons() {
        let doc = r#"{"Records":[{"eventVersion":"1.1","eventTime":null},{"eventName":"X","eventTime":"yesterday"},3,{"foo":1},{"eventTime":"2023-07-10T11:42:36Z","eventType":"AwsCloudTrailInsight"}]}"#;
        let (_, p) = parse(doc).unwrap();
        assert_eq!(p.records, 5);
        assert!(p.events.is_empty());
        let reasons: Vec<_> = p.rejects.iter().map(|r| (r.record, r.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (0, RejectReason::MissingEventTime),
                (1, RejectReason::BadEventTime),
                (2, RejectReason::NotARecord),
                (3, RejectReason::NotARecord),
                (4, RejectReason::Insight),
            ]
        );
    }

    #[test]
    fn file_level_errors() {
        assert_eq!(parse("  \n").unwrap_err(), FileError::Empty);
        assert_eq!(parse("hello").unwrap_err(), FileError::NotJson);
        assert!(matches!(parse("{\"Records\":[{").unwrap_err(), FileError::InvalidJson(_)));
        assert!(matches!(parse("{\"foo\":1}").unwrap_err(), FileError::NotCloudTrail(_)));
        assert!(matches!(parse("[1,2,{\"a\":1}]").unwrap_err(), FileError::NotCloudTrail(_)));
        let (shape, p) =
            parse(r#"{"digestStartTime":"2024-01-01T00:00:00Z","logFiles":[]}"#).unwrap();
        assert_eq!((shape, p.records), (Shape::Digest, 0));
    }

    #[test]
    fn json_lines_with_a_broken_line_keeps_the_rest() {
        let doc = format!("{REC}\n{{\"eventTime\": oops}}\n{}\n", REC.replace("\"e1\"", "\"e3\""));
        let (shape, p) = parse(&doc).unwrap();
        assert_eq!(shape, Shape::JsonLines);
        assert_eq!((p.records, p.events.len()), (3, 2));
        assert_eq!(p.rejects[0].record, 1);
        assert_eq!(p.rejects[0].reason, RejectReason::InvalidJson);
    }
}

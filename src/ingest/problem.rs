//! What an ingest reports about its input: rejected records, skipped and failed files
//! ([`Problem`], with its [`Severity`]), the run's counters ([`IngestStats`]), evidence
//! conflicts and time anomalies (SPEC §8).

use serde::Serialize;
use std::collections::BTreeMap;

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
    /// Nested deeper than [`tape::MAX_DEPTH`](super::tape::MAX_DEPTH) levels.
    TooDeep,
    /// A key read by trailhound appears twice in one object (valid JSON, ambiguous meaning).
    DuplicateKey,
    /// A query result row that cannot be rebuilt into a record ([`super::result`]).
    InvalidResultRow,
    /// `userIdentity`, `requestParameters` or `responseElements` neither an object nor null
    /// (a JSON string, say): its content cannot be read ([`super::raw::Top`]).
    WrongType,
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
            RejectReason::InvalidResultRow => "invalid_result_row",
            RejectReason::WrongType => "wrong_type",
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
    /// Records of the same file rejected for the same reason past the first
    /// [`REJECTS_LISTED`], folded into this entry (0 for every listed one).
    pub more: u64,
}

/// How many rejected records of one file are kept one by one; past them, one entry per reason
/// counts the rest ([`push_reject`]). A 93 KB gzip of three million bare `{"eventID":"1"}`
/// records took 949 MB (an entry, its detail and a problem with the file's path each): at the
/// 1 GiB cap of one inflated file, a couple of megabytes of crafted evidence would have taken
/// more memory than a responder's machine has (SPEC §8: memory stays bounded).
pub const REJECTS_LISTED: usize = 1000;

/// Adds `r` to a file's rejects: listed while fewer than [`REJECTS_LISTED`], else counted in the
/// entry past them for its reason.
pub fn push_reject(list: &mut Vec<RecordReject>, r: RecordReject) {
    if list.len() >= REJECTS_LISTED {
        if let Some(e) = list[REJECTS_LISTED..].iter_mut().find(|e| e.reason == r.reason) {
            e.more += 1;
            return;
        }
    }
    list.push(r);
}

/// How many records `list` stands for (each entry and what it counts past the listed ones).
pub fn rejected(list: &[RecordReject]) -> u64 {
    list.iter().map(|r| 1 + r.more).sum()
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
    /// Records of the same file and reason this entry also counts (past the listed ones).
    #[serde(skip)]
    pub more: u64,
}

/// One line for stderr: the path is a file name from the evidence and the detail may quote a
/// record, so both are shown through [`crate::escape::one_line`] (SPEC §9): a hostile name can
/// neither start a line of its own nor send an escape sequence to the terminal.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::escape::one_line;
        let (path, detail) = (one_line(&self.path), one_line(&self.detail));
        match self.record {
            Some(r) => write!(f, "{path}: record {r}: {detail} ({})", self.reason),
            None => write!(f, "{path}: {detail} ({})", self.reason),
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
    /// Records sharing an `eventID` with an earlier record but not its content: evidence conflicts.
    /// Each is kept as an event (SPEC §8); see [`Ingest::conflicts`](super::Ingest::conflicts).
    pub conflicts: u64,
    /// Events dated after [`Ingest::reference_time`](super::Ingest::reference_time); see
    /// [`Ingest::time_anomalies`](super::Ingest::time_anomalies).
    pub time_anomalies: u64,
    /// String fields truncated at [`raw::FIELD_CAP`](super::raw::FIELD_CAP) bytes and `resources`
    /// entries left out past [`raw::LIST_CAP`](super::raw::LIST_CAP): what one record may add to
    /// memory and reports is capped.
    pub truncated_fields: u64,
    /// Records salvaged from damaged files (failed files whose complete records were still
    /// read; they are counted in `records` too).
    pub salvaged_records: u64,
    pub bytes_read: u64,
    pub bytes_decompressed: u64,
    /// Files read, by detected shape.
    pub shapes: BTreeMap<&'static str, u64>,
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

/// An event dated after [`Ingest::reference_time`](super::Ingest::reference_time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeAnomaly {
    pub path: String,
    pub record: u32,
    pub event_time: crate::time::Time,
}

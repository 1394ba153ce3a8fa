//! The local log files: each one read and hashed (the first pass, which also spots digests by
//! their content), indexed by key and name, and checked against the `logFiles` entries of a
//! digest as the digest is parsed.

use super::digest::{self, looks_like_digest, short, Lenient, LogFileEntry};
use super::walk::{
    awslogs_suffix, load, match_key, match_name, read_by_other_commands, Found, PathClass,
};
use super::{hex, parse_sha256, Mismatch, Missing, LIST_LIMIT};
use crate::ingest::holds_events;
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};

/// A file read in the first pass: a log file's hash, or a file that turned out to be a digest.
#[derive(Debug)]
pub(super) struct Examined {
    /// SHA-256 of the uncompressed content.
    pub(super) sha256: Option<[u8; 32]>,
    /// Why the content could not be read.
    pub(super) error: Option<String>,
    /// The content looks like a digest: parsed in the second pass.
    pub(super) digest: bool,
    /// Read as the other commands read an input file, it gives them events: a log file,
    /// whatever its name (asked of files not plainly a log file by their path).
    pub(super) events: bool,
}

pub(super) fn examine(f: &Found, raw: &mut Vec<u8>, inflated: &mut Vec<u8>, cap: u64) -> Examined {
    let read = read_by_other_commands(&f.shown);
    match load(&f.path, raw, inflated, cap) {
        Ok(content) => {
            let looks = looks_like_digest(content);
            let sha256 = Some(Sha256::digest(content).into());
            // A file the other commands read that holds events is a log file, whatever its
            // name, and whatever it mentions near its top (`"digestStartTime"` in a log file
            // made it a digest that failed to parse, a warning, while `scan` read its records).
            let events = read && (f.class != PathClass::Log || looks) && holds_events(raw, cap);
            let digest = looks && !events && f.class != PathClass::Sidecar;
            Examined { sha256, error: None, digest, events }
        }
        Err((reason, detail)) => Examined {
            sha256: None,
            error: Some(format!("{reason}: {detail}")),
            digest: false,
            // A damaged gzip still gives the other commands its complete records.
            events: read && f.class != PathClass::Log && holds_events(raw, cap),
        },
    }
}

/// A local log file.
#[derive(Debug)]
pub(super) struct LogEntry {
    pub(super) shown: String,
    /// Where it sits under `AWSLogs/` ([`Found::located`]).
    pub(super) located: String,
    pub(super) sha256: Option<[u8; 32]>,
    pub(super) error: Option<String>,
}

/// The local log files, indexed for matching `logFiles[].s3Object`.
pub(super) struct LogIndex {
    pub(super) logs: Vec<LogEntry>,
    by_key: HashMap<String, Vec<u32>>,
    by_name: HashMap<String, Vec<u32>>,
}

impl LogIndex {
    pub(super) fn new(logs: Vec<LogEntry>) -> LogIndex {
        let mut by_key: HashMap<String, Vec<u32>> = HashMap::new();
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, l) in logs.iter().enumerate() {
            let i = i as u32;
            if let Some(k) = match_key(&l.located) {
                by_key.entry(k.to_string()).or_default().push(i);
            }
            by_name.entry(match_name(&l.shown).to_string()).or_default().push(i);
        }
        LogIndex { logs, by_key, by_name }
    }

    /// The local copies of a listed key: by key from `AWSLogs/`, else by a unique file name.
    fn copies(&self, object: &str) -> &[u32] {
        match match_key(object).and_then(|k| self.by_key.get(k)) {
            Some(v) => v,
            None => match self.by_name.get(match_name(object)) {
                Some(v) if v.len() == 1 => v,
                _ => &[],
            },
        }
    }
}

/// What one digest's `logFiles` gave: counts, the first findings, the local files it covers.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub(super) checked: u64,
    pub(super) ok: u64,
    pub(super) missing: Vec<Missing>,
    pub(super) missing_total: u64,
    pub(super) mismatched: Vec<Mismatch>,
    pub(super) mismatched_total: u64,
    /// Indices into [`LogIndex::logs`] (at most one per local file).
    pub(super) covered: HashSet<u32>,
    /// Entries without an `s3Object` string: the first few named, all counted.
    pub(super) bad_entries: Vec<String>,
    pub(super) bad_entries_total: u64,
}

impl Listing {
    /// Checks one `logFiles[]` entry against its local copies.
    pub(super) fn check(&mut self, idx: &LogIndex, digest: &str, i: u64, e: &LogFileEntry<'_>) {
        self.checked += 1;
        let Some(object) = e.s3_object.as_str() else {
            self.bad_entries_total += 1;
            if self.bad_entries.len() < digest::MAX_MALFORMED {
                self.bad_entries.push(format!("logFiles[{i}] has no s3Object string"));
            }
            return;
        };
        let copies = idx.copies(object);
        if copies.is_empty() {
            self.missing_total += 1;
            if self.missing.len() < LIST_LIMIT {
                self.missing.push(Missing {
                    path: awslogs_suffix(object).unwrap_or(object).to_string(),
                    s3_object: object.to_string(),
                    digest: digest.to_string(),
                });
            }
            return;
        }
        let expected: Result<[u8; 32], String> = match &e.hash_value {
            Lenient::Str(s) => parse_sha256(s).map_err(|why| format!("the digest lists a {why}")),
            Lenient::Null => Err("the digest lists no hashValue".into()),
            Lenient::Other(what) => Err(format!("the digest lists no hashValue (it is {what})")),
        };
        let alg_problem = match &e.hash_algorithm {
            Lenient::Null => None,
            Lenient::Str(a) if a.eq_ignore_ascii_case("SHA-256") => None,
            Lenient::Str(a) => Some(format!("unsupported hash algorithm {:?}", short(a))),
            Lenient::Other(what) => Some(format!("hashAlgorithm is {what}, not a string")),
        };
        let mut all_ok = true;
        for &c in copies {
            self.covered.insert(c);
            let l = &idx.logs[c as usize];
            let reason = match (&alg_problem, &expected, &l.sha256) {
                (Some(why), _, _) => Some(why.clone()),
                (None, Err(why), _) => Some(why.clone()),
                (None, Ok(_), None) => Some(format!(
                    "cannot be read: {}",
                    l.error.as_deref().unwrap_or("unknown error")
                )),
                (None, Ok(want), Some(got)) if want != got => {
                    Some("SHA-256 of the uncompressed content differs".to_string())
                }
                _ => None,
            };
            if let Some(reason) = reason {
                all_ok = false;
                self.mismatched_total += 1;
                if self.mismatched.len() < LIST_LIMIT {
                    self.mismatched.push(Mismatch {
                        path: l.shown.clone(),
                        s3_object: object.to_string(),
                        digest: digest.to_string(),
                        expected: e
                            .hash_value
                            .as_str()
                            .map(|h| short(h.trim()).to_ascii_lowercase())
                            .unwrap_or_default(),
                        actual: l.sha256.map(|h| hex(&h)),
                        reason,
                    });
                }
            }
        }
        if all_ok {
            self.ok += 1;
        }
    }
}

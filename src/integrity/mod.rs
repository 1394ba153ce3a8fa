//! Offline validation of CloudTrail log-file integrity from digest files (`trailhound integrity`).
//!
//! CloudTrail hashes every log file it delivers and, every hour, delivers a digest file under
//! `…/CloudTrail-Digest/<region>/YYYY/MM/DD/` listing the files of that hour with the hex
//! SHA-256 of their **uncompressed** content, and the hash of the previous digest
//! (CLOUDTRAIL.md §6, IAM-REVOCATION.md F18). This module checks, without network access:
//!
//! 1. **Listed log files.** Every `logFiles[].s3Object` (a bucket-relative key) is mapped onto
//!    the local tree by its suffix from `AWSLogs/` (then, for flattened exports, by the file
//!    name; a trailing `.gz` is ignored so locally decompressed copies still match). No local
//!    copy → `missing`; a copy whose uncompressed SHA-256 differs from `hashValue`, cannot be
//!    decompressed, or is listed with a malformed hash (the Elastic sample's 63 digits) →
//!    `mismatched`. Every local copy of a listed key must match. Entries are checked as the
//!    digest is parsed ([`digest`]) and only counts and the first [`LIST_LIMIT`] findings of
//!    each kind are kept, so a hostile digest listing millions of entries costs little memory.
//! 2. **The chain.** Digests are grouped per (prefix up to `CloudTrail-Digest`, region, trail,
//!    home region), taken from the digest's own `digestS3Object` (the name that is signed),
//!    and ordered by `digestEndTime`. Each digest's `previousDigestHashValue` must be the
//!    SHA-256 of the uncompressed preceding digest, and `previousDigestS3Object` and
//!    `previousDigestS3Bucket` must name it, else a `chain_breaks` entry names the pair and
//!    says why. A digest whose previous fields are all null starts a chain: after an earlier
//!    digest it is a restart (logging or validation was stopped) and is reported in `gaps`,
//!    not as a break; so is a hole in time between one digest's end and the next one's start.
//!    The oldest local digest may point to a predecessor that was not exported (a note: an
//!    export can start mid-chain), but never to itself (a break). A digest found somewhere
//!    else than its own `digestS3Object` names, or naming another bucket than the rest of its
//!    chain, was moved: an error.
//! 3. **Uncovered files.** Local log files that no digest lists. One delivered (file-name time)
//!    strictly inside the hour of a digest of its own account and region (or inside an unbroken
//!    stretch of one chain's correctly linked digests, whose windows meet) should have been
//!    listed: it was added after delivery (or another trail without validation shares the
//!    prefix) and fails the run; other uncovered files (before the first or after the last
//!    digest, in a region or account without digests) do not fail it, but leave it
//!    [`Verdict::Unverified`] at best: their content is not proven. A file is a log file by
//!    its path (`CloudTrail/`, `_CloudTrail_`) or, under any other name outside
//!    `CloudTrail-Digest/` and `CloudTrail-Insight/`, by its content: when the other commands
//!    would take events from it ([`crate::ingest::holds_events`]).
//! 4. **Signatures** ([`keys`]). The signature is not in the digest file: it is S3 object
//!    metadata (`x-amz-meta-signature`, hex), lost by a plain `aws s3 sync`. It is taken from
//!    a sidecar `<digest file>.metadata.json` (the output of `aws s3api head-object`, whose
//!    `Metadata` holds `signature` and `signature-algorithm`; a flat object with
//!    `x-amz-meta-signature` is accepted too), or from the next digest's
//!    `previousDigestSignature`. With `--public-keys DIR` (files `<fingerprint>.der|.pem|.pub|
//!    .key|.b64`, or the JSON output of `aws cloudtrail list-public-keys`, whose validity
//!    windows are enforced) the SHA256withRSA signature over `digestEndTime \n bucket/object \n
//!    hex(SHA-256(digest)) \n previousDigestSignature-or-"null"` must verify for **every**
//!    digest: one whose signature cannot be checked (no signature, an empty one, another
//!    algorithm, no key with its fingerprint, a key not valid at its `digestEndTime`) fails,
//!    as the AWS CLI's `validate-logs` marks it INVALID. Without `--public-keys` nothing is
//!    verified and the verdict is [`Verdict::Unverified`] at best.
//!
//! The run fails ([`Verdict::Failed`]) on any mismatched or missing log file, chain break, bad
//! or unverifiable signature (with `--public-keys`), unreadable or moved digest, uncovered
//! file inside a digested hour, or when no digest was found at all. Inputs are hostile: every
//! file is read with a size cap through [`crate::ingest::decompress::gunzip_into`], symbolic
//! links are followed only when they stay inside the input tree, and a bad file becomes a
//! `problems` entry naming it, never a panic. Output is deterministic (sorted, paths relative
//! to the input root).
//!
//! The code: this file holds the options, the report types, the hex helpers and
//! [`validate`], which runs the passes; `walk` finds and reads the files and parses their
//! keys, `logs` hashes the log files and checks digest listings against them, `chains` walks
//! the digest chains, `signature` checks the signatures ([`keys`] verifies RSA), and `table`
//! renders the report for a terminal ([`render_table`]).

mod chains;
pub(crate) mod digest;
pub mod keys;
mod logs;
mod signature;
mod table;
mod walk;

pub use table::render_table;

use crate::time::parse_iso;
use chains::{check_chains, check_moved, dedupe_digests, find_uncovered, merge_listings};
use digest::{parse_digest, DigestDoc};
use logs::{examine, Examined, Listing, LogEntry, LogIndex};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use signature::check_signatures;
use std::collections::HashMap;
use std::path::PathBuf;
use walk::{digest_location, gather, load, match_key, moved_reason, ChainKey, Found, PathClass};

/// How many entries of each bounded list (`missing`, `mismatched`, `uncovered`) the report
/// names; the `*_total` fields count them all.
pub const LIST_LIMIT: usize = 100;

/// What to validate.
#[derive(Debug, Clone, Default)]
pub struct IntegrityOptions {
    /// Trail directories or files: log files and `CloudTrail-Digest/` files, walked recursively.
    pub inputs: Vec<PathBuf>,
    /// Directory of CloudTrail public keys, to verify digest signatures (see the module docs).
    pub public_keys: Option<PathBuf>,
    /// Cap on one file's decompressed size, as the other commands' `--max-file-size`: a file
    /// the other commands read that is larger is not proven (an uncovered log file).
    pub max_file_size: u64,
}

/// A listed log file whose content does not match the digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Mismatch {
    /// The local file.
    pub path: String,
    /// The `logFiles[].s3Object` key it was matched to.
    pub s3_object: String,
    /// The digest listing it.
    pub digest: String,
    /// `hashValue` as listed (lower-cased).
    pub expected: String,
    /// SHA-256 of the local uncompressed content, when it could be computed.
    pub actual: Option<String>,
    /// Why it does not match.
    pub reason: String,
}

/// A listed log file with no local copy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Missing {
    /// Where it is expected, relative to the input root (the key from `AWSLogs/`).
    pub path: String,
    /// The `logFiles[].s3Object` key as listed.
    pub s3_object: String,
    /// The digest listing it.
    pub digest: String,
}

/// A local log file that no digest lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Uncovered {
    /// The local file.
    pub path: String,
    /// Delivered (file-name time) strictly inside the hour covered by a digest of the same
    /// account and region, or by consecutive, correctly linked digests of one chain whose
    /// windows meet: CloudTrail would have listed it (this fails the run).
    pub in_digest_window: bool,
}

/// A broken link between two digests of one chain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ChainBreak {
    /// The digest preceding `next` in time among the inputs (null when none).
    pub previous: Option<String>,
    /// The digest whose `previousDigest*` fields do not lead to `previous`.
    pub next: String,
    /// The predecessor `next` names (`previousDigestS3Object`, from `AWSLogs/`).
    pub expected_previous: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// A hole in a chain's coverage: time between two digests, or a restarted chain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Gap {
    /// The digest before the gap.
    pub after: String,
    /// The digest after the gap.
    pub before: String,
    /// `digestEndTime` of `after`.
    pub from: String,
    /// `digestStartTime` of `before`.
    pub to: String,
    /// Uncovered seconds (0 for a restart without a time gap).
    pub seconds: i64,
    /// `before` starts a new chain (its previous fields are null): logging or validation
    /// was stopped and restarted.
    pub new_chain: bool,
}

/// A digest whose signature did not verify, or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BadSignature {
    /// The digest.
    pub digest: String,
    /// What failed.
    pub reason: String,
}

/// One digest chain (account or member account, region, trail).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ChainSummary {
    /// Key prefix from `AWSLogs/` up to `CloudTrail-Digest` (`AWSLogs/<acct>` or
    /// `AWSLogs/<o-id>/<acct>`).
    pub prefix: String,
    /// Region the digests cover.
    pub region: String,
    /// Trail name (from the digest file name).
    pub trail: String,
    /// The trail's home region (from the digest file name).
    pub home_region: String,
    /// The bucket its digests name (`digestS3Bucket`; the most named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Digests in the chain.
    pub digests: u64,
    /// Earliest `digestStartTime`.
    pub first_start: Option<String>,
    /// Latest `digestEndTime`.
    pub last_end: Option<String>,
    /// The oldest digest is a starting digest (null previous fields).
    pub starts_at_origin: bool,
}

/// A file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct IntegrityProblem {
    /// The file.
    pub path: String,
    /// Machine-readable reason.
    pub reason: String,
    /// What exactly went wrong.
    pub detail: String,
    /// `error` (fails the run: a digest or key that cannot be trusted) or `warning`.
    pub severity: ProblemSeverity,
}

/// How much an integrity problem weighs.
/// Declared in the order of their names, so that problems sort as they did as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemSeverity {
    /// Fails the run: a digest or key that cannot be trusted.
    Error,
    /// Reported; the verdict does not depend on it.
    Warning,
}

impl ProblemSeverity {
    /// The word the JSON and the table show.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemSeverity::Error => "error",
            ProblemSeverity::Warning => "warning",
        }
    }
}

impl std::fmt::Display for ProblemSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The overall outcome (`status` in the JSON, the first word of the table, the exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Everything checked passed, every digest signature included (exit 0).
    Ok,
    /// Hashes, chain and coverage passed, but no `--public-keys` were given, so no signature
    /// was verified (the files agree with the digests, but nothing shows AWS wrote the
    /// digests), or some log file is listed by no digest (outside every digested hour: an
    /// export's first and last hours, a region or account without digests), so its content
    /// is not proven (exit 3).
    Unverified,
    /// Something failed (exit 1).
    #[default]
    Failed,
}

/// The `integrity --format json` document (SPEC §2 keys plus details).
#[derive(Debug, Serialize, Default)]
pub struct IntegrityReport {
    /// `ok`, `unverified` (no `--public-keys`, or uncovered log files) or `failed`.
    pub status: Verdict,
    /// Distinct digest files found (identical copies counted once).
    pub digests: u64,
    /// `logFiles` entries checked, over all digests.
    pub log_files_checked: u64,
    /// Of those, entries whose every local copy matched.
    pub log_files_ok: u64,
    /// Listed log files whose content does not match (the first [`LIST_LIMIT`]).
    pub mismatched: Vec<Mismatch>,
    /// All mismatches.
    pub mismatched_total: u64,
    /// Listed log files with no local copy (the first [`LIST_LIMIT`]).
    pub missing: Vec<Missing>,
    /// All listed files with no local copy.
    pub missing_total: u64,
    /// Local log files that no digest lists (the first [`LIST_LIMIT`], those inside a
    /// digested hour first).
    pub uncovered: Vec<Uncovered>,
    /// All uncovered files.
    pub uncovered_total: u64,
    /// Of those, files inside a digested hour (each fails the run).
    pub uncovered_in_digest_window: u64,
    /// How many entries the bounded lists name at most.
    pub list_limit: usize,
    /// Broken links between digests.
    pub chain_breaks: Vec<ChainBreak>,
    /// Time gaps and chain restarts (reported, not failures).
    pub gaps: Vec<Gap>,
    /// `--public-keys` was given: every digest signature must verify.
    pub signatures_required: bool,
    /// Digest signatures verified (valid or not).
    pub signatures_checked: u64,
    /// Digests whose signature did not verify.
    pub bad_signatures: Vec<BadSignature>,
    /// Digests whose signature was not checked.
    pub signatures_unchecked: u64,
    /// With `--public-keys`: digests whose signature could not be checked, and why (each
    /// fails the run).
    pub unverifiable_signatures: Vec<BadSignature>,
    /// The chains found.
    pub chains: Vec<ChainSummary>,
    /// Chains that end hours before the newest chain of the same trail and account, or stop
    /// and start again with time between: where the newest digests, or those of a restart, and
    /// their log files may have been deleted, which nothing offline can show either way. Each
    /// keeps the status from ok.
    pub not_shown: Vec<String>,
    /// The buckets the chains name (`digestS3Bucket`), when they name more than one: a chain of
    /// another bucket than the trail's may be another account's logs, validly signed
    /// (CloudTrail signs with each region's key, not an account's), copied into the export (a
    /// review planted a whole signed chain of another account's bucket and got OK). The status
    /// is then at best unverified.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
    /// Files that could not be used.
    pub problems: Vec<IntegrityProblem>,
    /// What was not checked and why, and other remarks.
    pub notes: Vec<String>,
}

impl IntegrityReport {
    /// True when nothing failed (see the module docs for what fails). Signatures that were
    /// not checked because no public keys were given do not count as failures here; see
    /// [`IntegrityReport::verdict`].
    pub fn ok(&self) -> bool {
        self.digests > 0
            && self.mismatched_total == 0
            && self.missing_total == 0
            && self.chain_breaks.is_empty()
            && self.bad_signatures.is_empty()
            && self.unverifiable_signatures.is_empty()
            && self.uncovered_in_digest_window == 0
            && !self.problems.iter().any(|p| p.severity == ProblemSeverity::Error)
    }

    /// The outcome: failed, else unverified while any signature went unchecked or any log
    /// file is listed by no digest, else ok.
    ///
    /// An uncovered log file outside every digested hour does not fail the run (an export
    /// starts and ends mid-chain, and the newest hour's digest comes after its logs), but it
    /// is not proven either: its events are read by every other command as evidence. Taking
    /// it for "ok" let a log file dropped in a region or hour whose digests were deleted, or
    /// edited after its digests were deleted, pass a signed check.
    pub fn verdict(&self) -> Verdict {
        if !self.ok() {
            Verdict::Failed
        } else if self.signatures_unverified()
            || self.uncovered_total > 0
            || !self.not_shown.is_empty()
            || !self.buckets.is_empty()
        {
            Verdict::Unverified
        } else {
            Verdict::Ok
        }
    }

    /// Some digest's signature was not verified (no `--public-keys`).
    fn signatures_unverified(&self) -> bool {
        self.signatures_unchecked > 0 || self.signatures_checked < self.digests
    }

    /// Why the verdict is [`Verdict::Unverified`], for the table's first line.
    pub fn unverified_because(&self) -> String {
        let mut why = Vec::new();
        if self.signatures_unverified() {
            why.push("signatures not checked: no --public-keys".to_string());
        }
        if self.uncovered_total > 0 {
            why.push(format!(
                "{} log files that no digest lists: their content is not proven",
                self.uncovered_total
            ));
        }
        if !self.buckets.is_empty() {
            why.push(format!(
                "the chains name {} buckets ({}): a chain of a bucket that is not your trail's may be another account's signed logs copied in; check each against aws cloudtrail describe-trails",
                self.buckets.len(),
                self.buckets.iter().map(|b| crate::escape::one_line(b)).collect::<Vec<_>>().join(", ")
            ));
        }
        if !self.not_shown.is_empty() {
            why.push(format!(
                "{} chains end early, start late or restart after a gap: digests and their log files may have been deleted there (not_shown)",
                self.not_shown.len()
            ));
        }
        why.join("; ")
    }
}

// ---------------------------------------------------------------------------------------------
// Hex
// ---------------------------------------------------------------------------------------------

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(D[usize::from(x >> 4)] as char);
        s.push(D[usize::from(x & 15)] as char);
    }
    s
}

/// Strict hex (surrounding whitespace ignored), either case.
fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    let v = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2).map(|p| Some((v(p[0])? << 4) | v(p[1])?)).collect()
}

/// A listed SHA-256 as 32 bytes, or why it is not one.
fn parse_sha256(s: &str) -> Result<[u8; 32], String> {
    let t = s.trim();
    if t.bytes().all(|c| c.is_ascii_hexdigit()) {
        match unhex(t).and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            Some(h) => Ok(h),
            None => Err(format!("malformed hash value ({} hex digits, expected 64)", t.len())),
        }
    } else {
        Err("malformed hash value (not hexadecimal)".to_string())
    }
}

fn warning(path: &str, reason: &str, detail: &str) -> IntegrityProblem {
    IntegrityProblem {
        path: path.to_string(),
        reason: reason.to_string(),
        detail: detail.to_string(),
        severity: ProblemSeverity::Warning,
    }
}

fn error(path: &str, reason: &str, detail: &str) -> IntegrityProblem {
    IntegrityProblem { severity: ProblemSeverity::Error, ..warning(path, reason, detail) }
}

// ---------------------------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------------------------

/// One digest, read and checked.
#[derive(Debug)]
struct DigestEntry {
    shown: String,
    sha256: [u8; 32],
    doc: DigestDoc,
    /// Matching key of the declared `digestS3Object` (else of the local path).
    key: Option<String>,
    chain: ChainKey,
    start: Option<i64>,
    end: Option<i64>,
    /// Why it is not where its `digestS3Object` says (see [`walk::moved_reason`]).
    moved: Option<String>,
    listing: Listing,
}

/// Reads, hashes and parses one digest, checking its `logFiles` as they are read.
fn read_digest(
    f: &Found,
    idx: &LogIndex,
    (raw, inflated): (&mut Vec<u8>, &mut Vec<u8>),
    cap: u64,
) -> Result<DigestEntry, String> {
    let content = load(&f.path, raw, inflated, cap)
        .map_err(|(reason, detail)| format!("{reason}: {detail}"))?;
    let sha256: [u8; 32] = Sha256::digest(content).into();
    let mut listing = Listing::default();
    let doc = parse_digest(content, |i, e| listing.check(idx, &f.shown, i, &e))?;
    let declared = doc.object.as_deref().and_then(digest_location);
    let local = digest_location(&f.shown);
    let (chain, name_time) = declared.or(local).unwrap_or_else(|| {
        (
            ChainKey {
                prefix: String::new(),
                region: String::new(),
                trail: "(unnamed)".into(),
                home_region: String::new(),
            },
            None,
        )
    });
    let key =
        doc.object.as_deref().and_then(match_key).or_else(|| match_key(&f.shown)).map(String::from);
    let moved = doc.object.as_deref().and_then(|o| moved_reason(&f.shown, o));
    let start = doc.start.as_deref().and_then(parse_iso);
    let end = doc.end.as_deref().and_then(parse_iso).or(name_time);
    Ok(DigestEntry { shown: f.shown.clone(), sha256, doc, key, chain, start, end, moved, listing })
}

/// Validates the digests and log files under the inputs (see the module docs).
///
/// # Errors
/// Only when none of the inputs exists or the public-key directory cannot be listed; every
/// problem with an individual file is reported in [`IntegrityReport::problems`] instead.
pub fn validate(o: &IntegrityOptions) -> anyhow::Result<IntegrityReport> {
    let mut rep = IntegrityReport {
        list_limit: LIST_LIMIT,
        signatures_required: o.public_keys.is_some(),
        ..Default::default()
    };
    let mut problems = Vec::new();
    // Standard input (`-`, which `investigate` reads too) is no file a digest can list: its
    // records are not proven, as a local file no digest lists (a review: `investigate -` took
    // `-` for a file it could not read, and said the evidence did not match its digests).
    let stdin = o.inputs.iter().any(|p| p.as_os_str() == "-");
    // So is a FIFO or device given as an input (`<(zcat f)`, `/dev/stdin`): the other
    // commands read its records (a review: it was skipped here with a warning, and OK).
    let streams: Vec<String> = o
        .inputs
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir()))
        .map(|p| p.display().to_string())
        .collect();
    let files: Vec<PathBuf> = o.inputs.iter().filter(|p| p.as_os_str() != "-").cloned().collect();
    let found = gather(&files, &mut problems)?;
    let sidecars: HashMap<&str, &Found> = found
        .iter()
        .filter(|f| f.class == PathClass::Sidecar)
        .map(|f| (f.shown.as_str(), f))
        .collect();

    // Pass 1: hash every file that is not a digest by its folder; some turn out to be
    // digests, and some files of other names (a digest's name included) log files.
    let first: Vec<&Found> = found
        .iter()
        .filter(|f| match f.class {
            PathClass::Log | PathClass::Other => true,
            // The other commands read a file named like a digest or a sidecar too, unless it
            // is under CloudTrail-Digest/: a log file by its content there.
            PathClass::Digest | PathClass::Sidecar => walk::read_by_other_commands(&f.shown),
            PathClass::Insight => false,
        })
        .collect();
    let examined: Vec<Examined> = first
        .par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(raw, inflated), f| examine(f, raw, inflated, o.max_file_size),
        )
        .collect();
    let mut logs = Vec::new();
    let mut digest_files: Vec<&Found> = found
        .iter()
        .filter(|f| f.class == PathClass::Digest && !walk::read_by_other_commands(&f.shown))
        .collect();
    let mut other_files = 0u64;
    for (f, ex) in first.iter().zip(examined) {
        if f.class == PathClass::Sidecar && !ex.events {
            continue;
        }
        if ex.digest || (f.class == PathClass::Digest && !ex.events) {
            digest_files.push(f);
        } else if f.class == PathClass::Log
            || ex.events
            // A file the other commands read that could not be read here (too large for the
            // cap, unreadable, damaged) is not shown to hold no events: a log file no digest
            // lists, so the run is not OK.
            || (ex.error.is_some() && walk::read_by_other_commands(&f.shown))
        {
            let (shown, located) = (f.shown.clone(), f.located.clone());
            logs.push(LogEntry { shown, located, sha256: ex.sha256, error: ex.error });
        } else {
            other_files += 1;
        }
    }
    digest_files.sort_by(|a, b| a.shown.cmp(&b.shown));
    let idx = LogIndex::new(logs);

    // Pass 2: the digests, each checked against the local log files as it is parsed.
    let read: Vec<Result<DigestEntry, String>> = digest_files
        .par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(raw, inflated), f| read_digest(f, &idx, (raw, inflated), o.max_file_size),
        )
        .collect();
    let mut digests = Vec::new();
    for (f, r) in digest_files.iter().zip(read) {
        match r {
            Ok(d) => digests.push(d),
            Err(why) if f.class == PathClass::Digest => {
                problems.push(error(&f.shown, "unreadable_digest", &why))
            }
            Err(why) => problems.push(warning(
                &f.shown,
                "not_a_digest",
                &format!("looks like a digest but is not one: {why}"),
            )),
        }
    }
    let (digests, duplicate_digests) = dedupe_digests(digests);
    rep.digests = digests.len() as u64;
    if duplicate_digests > 0 {
        rep.notes
            .push(format!("{duplicate_digests} identical copies of digest files counted once"));
    }
    let covered = merge_listings(&digests, &idx, &mut rep, &mut problems);
    check_moved(&digests, &mut problems);
    let links = check_chains(&digests, &mut rep);
    chains::not_shown(&mut rep);
    rep.not_shown.extend(problems.iter().filter(|p| p.reason == "io_error").map(|p| {
        format!("{}: could not be read ({}), so what it holds is not checked", p.path, p.detail)
    }));
    find_uncovered(&idx, &covered, &links.windows, &mut rep);
    check_signatures(o, &digests, &sidecars, &links.successor_sig, &mut rep, &mut problems)?;

    other_files += found.iter().filter(|f| f.class == PathClass::Insight).count() as u64;
    if rep.uncovered_total > rep.uncovered_in_digest_window {
        rep.notes.push(format!(
            "{} log files are listed by no digest and lie outside every digested hour (before \
             the first digest, after the last, in a region or account without digests, or \
             under a name that says neither): not a failure, but their content is not proven, \
             so the status is unverified",
            rep.uncovered_total - rep.uncovered_in_digest_window
        ));
    }
    if other_files > 0 {
        rep.notes.push(format!(
            "{other_files} files are neither CloudTrail log files nor digests and were ignored"
        ));
    }
    if rep.uncovered_in_digest_window > 0 {
        rep.notes.push(format!(
            "{} log files were delivered inside an hour covered by a digest of their account and \
             region but are not listed in it: they were added after delivery, or another trail \
             without log-file validation writes to the same prefix",
            rep.uncovered_in_digest_window
        ));
    }
    for (what, total, kept) in [
        ("missing", rep.missing_total, rep.missing.len()),
        ("mismatched", rep.mismatched_total, rep.mismatched.len()),
        ("uncovered", rep.uncovered_total, rep.uncovered.len()),
    ] {
        if total > kept as u64 {
            rep.notes.push(format!(
                "{total} {what} log files in all; the first {kept} are named (list_limit)"
            ));
        }
    }
    if !rep.chains.is_empty() {
        // What the chains cannot show: a region or account deleted whole (its digests with
        // its log files) breaks no other chain. Named, so that a responder compares them with
        // what the trail logs (a review deleted us-west-2 whole and integrity stayed OK).
        let mut places: Vec<String> =
            rep.chains.iter().map(|c| format!("{} {}", c.prefix, c.region)).collect();
        places.sort();
        places.dedup();
        let n = places.len();
        let shown: Vec<&str> = places.iter().take(8).map(String::as_str).collect();
        rep.notes.push(format!(
            "the digests vouch only for the {n} account and region chain(s) found ({}{}): a region or account whose digests and log files were all deleted leaves no trace in the others, so check that these are every region and account the trail logs (aws cloudtrail describe-trails: IsMultiRegionTrail, IsOrganizationTrail)",
            shown.join(", "),
            if n > shown.len() { ", …" } else { "" }
        ));
    }
    if rep.digests == 0 {
        rep.notes.push(
            "no digest files found: nothing could be validated (was log-file validation enabled, \
             and was the CloudTrail-Digest/ prefix exported?)"
                .into(),
        );
    }
    rep.problems = problems;
    if stdin {
        rep.uncovered.push(Uncovered { path: "-".into(), in_digest_window: false });
        rep.uncovered_total += 1;
        rep.notes.push("standard input (-): its records were read, but no digest can list data given on standard input, so they are not proven".into());
    }
    for p in streams {
        rep.notes.push(format!("{}: not a regular file (a pipe or device), whose records the other commands read: no digest can list it, so they are not proven", crate::escape::one_line(&p)));
        rep.uncovered.push(Uncovered { path: p, in_digest_window: false });
        rep.uncovered_total += 1;
    }
    rep.mismatched.sort();
    rep.missing.sort();
    rep.uncovered
        .sort_by(|a, b| (!a.in_digest_window, &a.path).cmp(&(!b.in_digest_window, &b.path)));
    rep.chain_breaks.sort();
    rep.chain_breaks.dedup();
    rep.gaps.sort();
    rep.bad_signatures.sort();
    rep.unverifiable_signatures.sort();
    rep.chains.sort();
    let buckets: std::collections::BTreeSet<&String> =
        rep.chains.iter().filter_map(|c| c.bucket.as_ref()).collect();
    if buckets.len() > 1 {
        rep.buckets = buckets.into_iter().cloned().collect();
    }
    rep.problems.sort();
    rep.problems.dedup();
    rep.status = rep.verdict();
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_parsed_strictly() {
        assert!(parse_sha256(&"A".repeat(64)).is_ok());
        assert!(parse_sha256(&"a".repeat(63)).unwrap_err().contains("63 hex digits"));
        assert!(parse_sha256("zz").is_err());
        assert_eq!(unhex("0aFf"), Some(vec![10, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("é1"), None);
    }
}

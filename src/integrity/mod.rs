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
//!    strictly inside the hour of a digest of its own account and region should have been
//!    listed: it was added after delivery (or another trail without validation shares the
//!    prefix) and fails the run; other uncovered files (before the first or after the last
//!    digest) are only reported.
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

pub mod digest;
pub mod keys;

use crate::ingest::decompress::{gunzip_into, is_gzip};
use crate::ingest::DEFAULT_MAX_FILE_BYTES;
use crate::time::{fmt_iso, parse_iso};
use digest::{looks_like_digest, parse_digest, short, DigestDoc, Lenient, LogFileEntry, PrevRef};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

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
    /// account and region: CloudTrail would have listed it (this fails the run).
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
    pub severity: &'static str,
}

/// The overall outcome (`status` in the JSON, the first word of the table, the exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Everything checked passed, every digest signature included (exit 0).
    Ok,
    /// Hashes, chain and coverage passed, but no `--public-keys` were given, so no signature
    /// was verified: the files agree with the digests, but nothing shows AWS wrote the
    /// digests (exit 3).
    Unverified,
    /// Something failed (exit 1).
    #[default]
    Failed,
}

/// The `integrity --format json` document (SPEC §2 keys plus details).
#[derive(Debug, Serialize, Default)]
pub struct IntegrityReport {
    /// `ok`, `unverified` (no `--public-keys`) or `failed`.
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
            && !self.problems.iter().any(|p| p.severity == "error")
    }

    /// The outcome: failed, else unverified while any signature went unchecked, else ok.
    pub fn verdict(&self) -> Verdict {
        if !self.ok() {
            Verdict::Failed
        } else if self.signatures_unchecked > 0 || self.signatures_checked < self.digests {
            Verdict::Unverified
        } else {
            Verdict::Ok
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Paths and names
// ---------------------------------------------------------------------------------------------

/// The key from the first `AWSLogs` segment on (`/`-separated), or `None`.
fn awslogs_suffix(key: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(i) = key[from..].find("AWSLogs/") {
        let at = from + i;
        if at == 0 || key.as_bytes()[at - 1] == b'/' {
            return Some(&key[at..]);
        }
        from = at + 1;
    }
    None
}

/// A key for matching: the `AWSLogs/` suffix without a trailing `.gz`.
fn match_key(key: &str) -> Option<&str> {
    awslogs_suffix(key).map(|s| s.strip_suffix(".gz").unwrap_or(s))
}

/// The last path segment without a trailing `.gz`.
fn match_name(key: &str) -> &str {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.strip_suffix(".gz").unwrap_or(name)
}

/// `/`-joined path relative to `root`, or the path as given.
fn rel_string(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> =
        rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    parts.join("/")
}

/// Parses `YYYYMMDDTHHmmZ` or `YYYYMMDDTHHmmssZ` to unix seconds.
fn parse_compact_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let ok_digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    match b.len() {
        14 if b[8] == b'T' && b[13] == b'Z' && ok_digits(0..8) && ok_digits(9..13) => {
            parse_iso(&format!("{}00Z", &s[..13]))
        }
        16 if b[8] == b'T' && b[15] == b'Z' && ok_digits(0..8) && ok_digits(9..15) => parse_iso(s),
        _ => None,
    }
}

/// Where a log file sits: (prefix up to `CloudTrail`, region) and its delivery time.
fn log_location(key: &str) -> Option<(String, String, Option<i64>)> {
    let suffix = awslogs_suffix(key)?;
    let i = suffix.find("/CloudTrail/")?;
    let prefix = &suffix[..i];
    let rest = &suffix[i + "/CloudTrail/".len()..];
    let region = rest.split('/').next()?.to_string();
    let name = match_name(rest);
    let time = name.split('_').find_map(parse_compact_time);
    Some((prefix.to_string(), region, time))
}

/// The chain a digest belongs to, from its key:
/// `…/AWSLogs/[<o-id>/]<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/
/// <acct>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHmmssZ>.json.gz`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct ChainKey {
    prefix: String,
    region: String,
    trail: String,
    home_region: String,
}

/// Parses a digest key into its chain and the file-name time.
fn digest_location(key: &str) -> Option<(ChainKey, Option<i64>)> {
    let suffix = awslogs_suffix(key)?;
    let i = suffix.find("/CloudTrail-Digest/")?;
    let prefix = suffix[..i].to_string();
    let rest = &suffix[i + "/CloudTrail-Digest/".len()..];
    let region = rest.split('/').next()?.to_string();
    let name = rest.rsplit('/').next()?;
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let name = name.strip_suffix(".json").unwrap_or(name);
    let marker = format!("_CloudTrail-Digest_{region}_");
    let after = &name[name.find(&marker)? + marker.len()..];
    // `<trail>_<home-region>_<time>`: trail names may contain `_`, regions and times do not.
    let (head, time) = after.rsplit_once('_')?;
    let (trail, home_region) = head.rsplit_once('_')?;
    Some((
        ChainKey { prefix, region, trail: trail.to_string(), home_region: home_region.to_string() },
        parse_compact_time(time),
    ))
}

/// Why a digest found at `shown` is not where its own `digestS3Object` says it was written:
/// a different key from `AWSLogs/` on, or (for a flattened export) a different file name.
/// `None` when it is in place, or when the local name says nothing about where it came from.
fn moved_reason(shown: &str, declared: &str) -> Option<String> {
    let declared_name = match_name(declared);
    let local = match_key(shown);
    let same = match (local, match_key(declared)) {
        (Some(l), Some(d)) => l == d,
        (Some(_), None) => false,
        (None, _) => {
            let name = match_name(shown);
            // A name that is no digest name (a copy named by hand) cannot be compared.
            if !name.contains("_CloudTrail-Digest_") {
                return None;
            }
            name == declared_name
        }
    };
    (!same).then(|| {
        format!(
            "the digest names itself {} (digestS3Object) but was found at {shown}: it was moved \
             or renamed, and its signature and chain position belong to the other name",
            short(declared)
        )
    })
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

// ---------------------------------------------------------------------------------------------
// Walking and reading
// ---------------------------------------------------------------------------------------------

/// What a path looks like before its content is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathClass {
    /// Under `CloudTrail-Digest/` or named `…_CloudTrail-Digest_…`.
    Digest,
    /// Under `CloudTrail/` or named `…_CloudTrail_…`.
    Log,
    /// A `.metadata.json` sidecar (read on demand).
    Sidecar,
    /// `CloudTrail-Insight/` and anything else: read only to see whether it is a digest.
    Other,
}

fn classify(shown: &str) -> PathClass {
    let name = shown.rsplit('/').next().unwrap_or(shown);
    if name.ends_with(".metadata.json") {
        return PathClass::Sidecar;
    }
    let segs: Vec<&str> = shown.split('/').collect();
    if name.contains("_CloudTrail-Digest_") || segs.contains(&"CloudTrail-Digest") {
        PathClass::Digest
    } else if segs.contains(&"CloudTrail-Insight") {
        PathClass::Other
    } else if name.contains("_CloudTrail_") || segs.contains(&"CloudTrail") {
        PathClass::Log
    } else {
        PathClass::Other
    }
}

/// A file found under the inputs.
#[derive(Debug)]
struct Found {
    path: PathBuf,
    shown: String,
    class: PathClass,
}

/// One input directory being walked.
struct WalkRoot<'a> {
    /// The input as given (paths are shown relative to it).
    root: &'a Path,
    /// Its canonical form: symbolic links may lead anywhere below it, never outside.
    canon: PathBuf,
    /// Shown before relative paths when several directories are given.
    prefix: String,
}

impl WalkRoot<'_> {
    fn shown(&self, p: &Path) -> String {
        let r = rel_string(p, self.root);
        if self.prefix.is_empty() {
            r
        } else {
            format!("{}/{r}", self.prefix)
        }
    }
}

fn walk(
    dir: &Path,
    w: &WalkRoot<'_>,
    seen: &mut HashSet<PathBuf>,
    out: &mut Vec<Found>,
    problems: &mut Vec<IntegrityProblem>,
) {
    match std::fs::canonicalize(dir) {
        Ok(c) if !seen.insert(c.clone()) => {
            problems.push(warning(
                &w.shown(dir),
                "already_visited",
                "directory already visited (overlapping inputs or a symbolic link loop)",
            ));
            return;
        }
        Ok(_) => {}
        Err(e) => {
            problems.push(warning(&w.shown(dir), "io_error", &e.to_string()));
            return;
        }
    }
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            problems.push(warning(&w.shown(dir), "io_error", &e.to_string()));
            return;
        }
    };
    paths.sort();
    for p in paths {
        let shown = w.shown(&p);
        let link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        if link {
            // A symbolic link is followed only while it stays inside the input tree: a link
            // to /etc/passwd must not have that file's hash printed as evidence.
            match std::fs::canonicalize(&p) {
                Ok(target) if target.starts_with(&w.canon) => {}
                Ok(_) => {
                    problems.push(warning(
                        &shown,
                        "symlink_outside_input",
                        "symbolic link to a path outside the input tree: skipped, not read",
                    ));
                    continue;
                }
                Err(e) => {
                    problems.push(warning(
                        &shown,
                        "broken_symlink",
                        &format!("symbolic link that does not resolve: {e}"),
                    ));
                    continue;
                }
            }
        }
        match std::fs::metadata(&p) {
            Err(e) => problems.push(warning(&shown, "io_error", &e.to_string())),
            Ok(m) if m.is_dir() => walk(&p, w, seen, out, problems),
            // A FIFO or device found while walking would block or never end: not evidence.
            Ok(m) if !m.is_file() => problems.push(warning(
                &shown,
                "not_a_regular_file",
                "not a regular file (FIFO, socket or device): skipped",
            )),
            Ok(_) => {
                let canon = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
                if seen.insert(canon) {
                    out.push(Found { class: classify(&shown), shown, path: p });
                }
            }
        }
    }
}

fn warning(path: &str, reason: &str, detail: &str) -> IntegrityProblem {
    IntegrityProblem {
        path: path.to_string(),
        reason: reason.to_string(),
        detail: detail.to_string(),
        severity: "warning",
    }
}

fn error(path: &str, reason: &str, detail: &str) -> IntegrityProblem {
    IntegrityProblem { severity: "error", ..warning(path, reason, detail) }
}

fn read_capped(path: &Path, buf: &mut Vec<u8>, cap: u64) -> std::io::Result<()> {
    buf.clear();
    std::fs::File::open(path)?.take(cap.saturating_add(1)).read_to_end(buf)?;
    Ok(())
}

/// Reads and inflates one file into `inflated` (or leaves it in `raw`); returns which buffer
/// holds the content, or why it could not be read.
fn load<'b>(
    path: &Path,
    raw: &'b mut Vec<u8>,
    inflated: &'b mut Vec<u8>,
    cap: u64,
) -> Result<&'b [u8], (&'static str, String)> {
    read_capped(path, raw, cap).map_err(|e| ("io_error", e.to_string()))?;
    if is_gzip(raw) {
        gunzip_into(raw, inflated, cap).map_err(|e| ("gzip", e.to_string()))?;
        Ok(inflated)
    } else if raw.len() as u64 > cap {
        Err(("too_large", format!("file exceeds the cap of {cap} bytes")))
    } else {
        Ok(raw)
    }
}

/// A file read in the first pass: a log file's hash, or a file that turned out to be a digest.
#[derive(Debug)]
struct Examined {
    /// SHA-256 of the uncompressed content.
    sha256: Option<[u8; 32]>,
    /// Why the content could not be read.
    error: Option<String>,
    /// The content looks like a digest: parsed in the second pass.
    digest: bool,
}

fn examine(f: &Found, raw: &mut Vec<u8>, inflated: &mut Vec<u8>, cap: u64) -> Examined {
    match load(&f.path, raw, inflated, cap) {
        Ok(content) => Examined {
            sha256: Some(Sha256::digest(content).into()),
            error: None,
            digest: looks_like_digest(content),
        },
        Err((reason, detail)) => {
            Examined { sha256: None, error: Some(format!("{reason}: {detail}")), digest: false }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Log files listed by a digest
// ---------------------------------------------------------------------------------------------

/// A local log file.
#[derive(Debug)]
struct LogEntry {
    shown: String,
    sha256: Option<[u8; 32]>,
    error: Option<String>,
}

/// The local log files, indexed for matching `logFiles[].s3Object`.
struct LogIndex {
    logs: Vec<LogEntry>,
    by_key: HashMap<String, Vec<u32>>,
    by_name: HashMap<String, Vec<u32>>,
}

impl LogIndex {
    fn new(logs: Vec<LogEntry>) -> LogIndex {
        let mut by_key: HashMap<String, Vec<u32>> = HashMap::new();
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, l) in logs.iter().enumerate() {
            let i = i as u32;
            if let Some(k) = match_key(&l.shown) {
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
struct Listing {
    checked: u64,
    ok: u64,
    missing: Vec<Missing>,
    missing_total: u64,
    mismatched: Vec<Mismatch>,
    mismatched_total: u64,
    /// Indices into [`LogIndex::logs`] (at most one per local file).
    covered: HashSet<u32>,
    /// Entries without an `s3Object` string: the first few named, all counted.
    bad_entries: Vec<String>,
    bad_entries_total: u64,
}

impl Listing {
    /// Checks one `logFiles[]` entry against its local copies.
    fn check(&mut self, idx: &LogIndex, digest: &str, i: u64, e: &LogFileEntry<'_>) {
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
    /// Why it is not where its `digestS3Object` says (see [`moved_reason`]).
    moved: Option<String>,
    listing: Listing,
}

/// Reads, hashes and parses one digest, checking its `logFiles` as they are read.
fn read_digest(
    f: &Found,
    idx: &LogIndex,
    raw: &mut Vec<u8>,
    inflated: &mut Vec<u8>,
) -> Result<DigestEntry, String> {
    let content = load(&f.path, raw, inflated, DEFAULT_MAX_FILE_BYTES)
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
    let found = gather(&o.inputs, &mut problems)?;
    let sidecars: HashMap<&str, &Found> = found
        .iter()
        .filter(|f| f.class == PathClass::Sidecar)
        .map(|f| (f.shown.as_str(), f))
        .collect();

    // Pass 1: hash every file that is not a digest by its name; some turn out to be digests.
    let first: Vec<&Found> =
        found.iter().filter(|f| matches!(f.class, PathClass::Log | PathClass::Other)).collect();
    let examined: Vec<Examined> = first
        .par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(raw, inflated), f| examine(f, raw, inflated, DEFAULT_MAX_FILE_BYTES),
        )
        .collect();
    let mut logs = Vec::new();
    let mut digest_files: Vec<&Found> =
        found.iter().filter(|f| f.class == PathClass::Digest).collect();
    let mut other_files = 0u64;
    for (f, ex) in first.iter().zip(examined) {
        if ex.digest {
            digest_files.push(f);
        } else if f.class == PathClass::Log {
            logs.push(LogEntry { shown: f.shown.clone(), sha256: ex.sha256, error: ex.error });
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
            |(raw, inflated), f| read_digest(f, &idx, raw, inflated),
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
    find_uncovered(&idx, &covered, &links.windows, &mut rep);
    check_signatures(o, &digests, &sidecars, &links.successor_sig, &mut rep, &mut problems)?;

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
    if rep.digests == 0 {
        rep.notes.push(
            "no digest files found: nothing could be validated (was log-file validation enabled, \
             and was the CloudTrail-Digest/ prefix exported?)"
                .into(),
        );
    }
    rep.problems = problems;
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
    rep.problems.sort();
    rep.problems.dedup();
    rep.status = rep.verdict();
    Ok(rep)
}

/// Walks the inputs into a sorted file list (paths shown relative to their input root).
fn gather(inputs: &[PathBuf], problems: &mut Vec<IntegrityProblem>) -> anyhow::Result<Vec<Found>> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let dirs = inputs.iter().filter(|p| p.is_dir()).count();
    let mut any = false;
    for input in inputs {
        match std::fs::metadata(input) {
            Err(e) => {
                problems.push(error(&input.display().to_string(), "io_error", &e.to_string()))
            }
            Ok(m) if m.is_dir() => {
                any = true;
                let prefix = if dirs > 1 { input.display().to_string() } else { String::new() };
                let canon = std::fs::canonicalize(input).unwrap_or_else(|_| input.clone());
                let w = WalkRoot { root: input, canon, prefix };
                walk(input, &w, &mut seen, &mut found, problems);
            }
            Ok(m) if !m.is_file() => {
                any = true;
                problems.push(warning(
                    &input.display().to_string(),
                    "not_a_regular_file",
                    "not a regular file (FIFO, socket or device): skipped",
                ));
            }
            Ok(_) => {
                any = true;
                let canon = std::fs::canonicalize(input).unwrap_or_else(|_| input.clone());
                if seen.insert(canon) {
                    let shown = input.display().to_string().replace('\\', "/");
                    found.push(Found { class: classify(&shown), shown, path: input.clone() });
                }
            }
        }
    }
    if !any {
        anyhow::bail!(
            "none of the inputs exists: {}",
            inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    found.sort_by(|a, b| a.shown.cmp(&b.shown));
    Ok(found)
}

/// Keeps one of each set of identical digests (by content: the name that counts is inside
/// it), preferring a copy found where it belongs; orders them by (chain, end time, path).
fn dedupe_digests(digests: Vec<DigestEntry>) -> (Vec<DigestEntry>, u64) {
    let mut by_hash: BTreeMap<[u8; 32], Vec<DigestEntry>> = BTreeMap::new();
    for d in digests {
        by_hash.entry(d.sha256).or_default().push(d);
    }
    let mut uniq = Vec::with_capacity(by_hash.len());
    let mut duplicates = 0u64;
    for (_, mut copies) in by_hash {
        copies.sort_by(|a, b| (a.moved.is_some(), &a.shown).cmp(&(b.moved.is_some(), &b.shown)));
        duplicates += copies.len() as u64 - 1;
        if let Some(first) = copies.into_iter().next() {
            uniq.push(first);
        }
    }
    uniq.sort_by(|a, b| (&a.chain, a.end, &a.shown).cmp(&(&b.chain, b.end, &b.shown)));
    (uniq, duplicates)
}

/// Adds up the digests' listings (`log_files_*`, `missing`, `mismatched`, malformed
/// entries); returns which local log files some digest lists.
fn merge_listings(
    digests: &[DigestEntry],
    idx: &LogIndex,
    rep: &mut IntegrityReport,
    problems: &mut Vec<IntegrityProblem>,
) -> Vec<bool> {
    let mut covered = vec![false; idx.logs.len()];
    for d in digests {
        let l = &d.listing;
        rep.log_files_checked += l.checked;
        rep.log_files_ok += l.ok;
        rep.missing_total += l.missing_total;
        rep.mismatched_total += l.mismatched_total;
        let room = LIST_LIMIT.saturating_sub(rep.missing.len());
        rep.missing.extend(l.missing.iter().take(room).cloned());
        let room = LIST_LIMIT.saturating_sub(rep.mismatched.len());
        rep.mismatched.extend(l.mismatched.iter().take(room).cloned());
        for &c in &l.covered {
            covered[c as usize] = true;
        }
        for m in d.doc.malformed.iter().chain(&l.bad_entries) {
            problems.push(error(&d.shown, "malformed_digest", m));
        }
        let more = d.doc.malformed_more + l.bad_entries_total - l.bad_entries.len() as u64;
        if more > 0 {
            problems.push(error(
                &d.shown,
                "malformed_digest",
                &format!("and {more} more malformed fields or entries"),
            ));
        }
    }
    covered
}

/// A digest not where its own name says, or naming another bucket than the rest of its
/// chain, was moved: an error.
fn check_moved(digests: &[DigestEntry], problems: &mut Vec<IntegrityProblem>) {
    let mut buckets: BTreeMap<&ChainKey, BTreeMap<&str, usize>> = BTreeMap::new();
    for d in digests {
        if let Some(reason) = &d.moved {
            problems.push(error(&d.shown, "digest_moved", reason));
        }
        if let Some(b) = d.doc.bucket.as_deref() {
            *buckets.entry(&d.chain).or_default().entry(b).or_default() += 1;
        }
    }
    for d in digests {
        let (Some(b), Some(counts)) = (d.doc.bucket.as_deref(), buckets.get(&d.chain)) else {
            continue;
        };
        // The bucket most of the chain names (ties: the first by name).
        let Some((&usual, _)) = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else {
            continue;
        };
        if b != usual {
            problems.push(error(
                &d.shown,
                "digest_moved",
                &format!(
                    "the digest names bucket {} (digestS3Bucket) but the rest of its chain names \
                     {}: it was copied from another bucket",
                    short(b),
                    short(usual)
                ),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The chain
// ---------------------------------------------------------------------------------------------

/// What the chain walk hands to the later checks.
struct ChainFacts {
    /// For a digest whose successor links to it correctly (hash and name): the successor's
    /// `previousDigestSignature` (if any) and the successor's path.
    successor_sig: HashMap<usize, (Option<String>, String)>,
    /// Covered (start, end) windows per (prefix, region).
    windows: HashMap<(String, String), Vec<(i64, i64)>>,
}

/// True when the previous fields `p` of digest `cur` name `cur` itself.
fn names_itself(cur: &DigestEntry, p: &PrevRef) -> bool {
    let by_name =
        p.object.as_deref().and_then(match_key).is_some_and(|k| Some(k) == cur.key.as_deref());
    let by_hash = p.hash.as_deref().is_some_and(|h| parse_sha256(h) == Ok(cur.sha256));
    by_name || by_hash
}

/// Walks each chain in time order (`chain_breaks`, `gaps`, `chains`).
fn check_chains(digests: &[DigestEntry], rep: &mut IntegrityReport) -> ChainFacts {
    let by_hash: HashMap<[u8; 32], usize> =
        digests.iter().enumerate().map(|(i, d)| (d.sha256, i)).collect();
    let mut by_dkey: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in digests.iter().enumerate() {
        if let Some(k) = &d.key {
            by_dkey.entry(k.as_str()).or_default().push(i);
        }
    }
    let mut chains: BTreeMap<&ChainKey, Vec<usize>> = BTreeMap::new();
    for (i, d) in digests.iter().enumerate() {
        chains.entry(&d.chain).or_default().push(i);
    }
    let mut successor_sig: HashMap<usize, (Option<String>, String)> = HashMap::new();
    let mut windows: HashMap<(String, String), Vec<(i64, i64)>> = HashMap::new();
    for (ck, idx) in &chains {
        let mut summary = ChainSummary {
            prefix: ck.prefix.clone(),
            region: ck.region.clone(),
            trail: ck.trail.clone(),
            home_region: ck.home_region.clone(),
            digests: idx.len() as u64,
            first_start: None,
            last_end: None,
            starts_at_origin: false,
        };
        let starts: Vec<i64> = idx.iter().filter_map(|&i| digests[i].start).collect();
        summary.first_start = starts.iter().min().map(|&t| fmt_iso(t));
        summary.last_end = idx.iter().filter_map(|&i| digests[i].end).max().map(fmt_iso);
        for (pos, &i) in idx.iter().enumerate() {
            let cur = &digests[i];
            if let (Some(s), Some(e)) = (cur.start, cur.end) {
                windows.entry((ck.prefix.clone(), ck.region.clone())).or_default().push((s, e));
            }
            let prev_idx = pos.checked_sub(1).map(|p| idx[p]);
            let prev = prev_idx.map(|p| &digests[p]);
            let link = cur.doc.prev.as_ref();
            let expected_previous = link
                .and_then(|p| p.object.as_deref())
                .map(|o| awslogs_suffix(o).unwrap_or(o).to_string());
            if link.is_some_and(|p| names_itself(cur, p)) {
                rep.chain_breaks.push(ChainBreak {
                    previous: prev.map(|pr| pr.shown.clone()),
                    next: cur.shown.clone(),
                    expected_previous,
                    reason: "the digest names itself as its predecessor".into(),
                });
                continue;
            }
            match (prev, link) {
                (None, None) => summary.starts_at_origin = true,
                (None, Some(p)) => rep.notes.push(format!(
                    "{}: the oldest digest of chain {} names a predecessor ({}) that is not among \
                     the inputs; the export may start mid-chain",
                    cur.shown,
                    chain_label(ck),
                    short(p.object.as_deref().unwrap_or("no previousDigestS3Object"))
                )),
                (Some(pr), None) => rep.gaps.push(Gap {
                    after: pr.shown.clone(),
                    before: cur.shown.clone(),
                    from: pr.end.map(fmt_iso).unwrap_or_default(),
                    to: cur.start.map(fmt_iso).unwrap_or_default(),
                    seconds: match (pr.end, cur.start) {
                        (Some(a), Some(b)) => (b - a).max(0),
                        _ => 0,
                    },
                    new_chain: true,
                }),
                (Some(pr), Some(p)) => {
                    let pi = prev_idx.unwrap_or(0);
                    match link_problem(pr, p, digests, &by_hash, &by_dkey) {
                        None => {
                            successor_sig.insert(pi, (p.signature.clone(), cur.shown.clone()));
                        }
                        Some(reason) => rep.chain_breaks.push(ChainBreak {
                            previous: Some(pr.shown.clone()),
                            next: cur.shown.clone(),
                            expected_previous,
                            reason,
                        }),
                    }
                    if let (Some(a), Some(b)) = (pr.end, cur.start) {
                        if b > a + 60 {
                            rep.gaps.push(Gap {
                                after: pr.shown.clone(),
                                before: cur.shown.clone(),
                                from: fmt_iso(a),
                                to: fmt_iso(b),
                                seconds: b - a,
                                new_chain: false,
                            });
                        }
                    }
                }
            }
        }
        rep.chains.push(summary);
    }

    ChainFacts { successor_sig, windows }
}

/// Lists local log files no digest lists, flagging those inside a digested hour; names the
/// first [`LIST_LIMIT`] (those inside a digested hour first) and counts all.
fn find_uncovered(
    idx: &LogIndex,
    covered: &[bool],
    windows: &HashMap<(String, String), Vec<(i64, i64)>>,
    rep: &mut IntegrityReport,
) {
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    for (l, &c) in idx.logs.iter().zip(covered) {
        if c {
            continue;
        }
        rep.uncovered_total += 1;
        let in_window = log_location(&l.shown).is_some_and(|(prefix, region, t)| {
            t.is_some_and(|t| {
                windows
                    .get(&(prefix, region))
                    .is_some_and(|ws| ws.iter().any(|&(s, e)| t >= s && t + 60 <= e))
            })
        });
        if in_window {
            rep.uncovered_in_digest_window += 1;
            if inside.len() < LIST_LIMIT {
                inside.push(Uncovered { path: l.shown.clone(), in_digest_window: true });
            }
        } else if outside.len() < LIST_LIMIT {
            outside.push(Uncovered { path: l.shown.clone(), in_digest_window: false });
        }
    }
    inside.extend(outside);
    inside.truncate(LIST_LIMIT);
    rep.uncovered = inside;
}

/// A chain named for messages.
fn chain_label(k: &ChainKey) -> String {
    format!("{} {} trail {} (home {})", k.prefix, k.region, k.trail, k.home_region)
}

/// Why the link from `cur` (previous fields `p`) to the preceding digest `pr` is broken.
fn link_problem(
    pr: &DigestEntry,
    p: &PrevRef,
    digests: &[DigestEntry],
    by_hash: &HashMap<[u8; 32], usize>,
    by_dkey: &HashMap<&str, Vec<usize>>,
) -> Option<String> {
    let named = p.object.as_deref().and_then(match_key);
    let want = match p.hash.as_deref().map(parse_sha256) {
        None => return Some("previousDigestHashValue is missing".into()),
        Some(Err(why)) => return Some(format!("previousDigestHashValue: {why}")),
        Some(Ok(h)) => h,
    };
    let hash_ok = want == pr.sha256;
    let name_ok = named.is_some() && named == pr.key.as_deref();
    let bucket_ok = p.bucket.is_none() || pr.doc.bucket.is_none() || p.bucket == pr.doc.bucket;
    if hash_ok && name_ok && bucket_ok {
        return None;
    }
    let named_str = short(p.object.as_deref().unwrap_or("(none)"));
    if hash_ok && name_ok {
        return Some(format!(
            "previousDigestS3Bucket names {}, but the preceding digest names bucket {}",
            short(p.bucket.as_deref().unwrap_or("")),
            short(pr.doc.bucket.as_deref().unwrap_or(""))
        ));
    }
    if hash_ok {
        return Some(format!(
            "previousDigestS3Object names {named_str}, but the hash is that of the preceding \
             digest (renamed or edited digest)"
        ));
    }
    let named_present = named.and_then(|k| by_dkey.get(k));
    let hash_holder = by_hash.get(&want).map(|&i| &digests[i]);
    match (named_present, hash_holder) {
        (_, Some(h)) => Some(format!(
            "links to {} (by hash), not to the preceding digest: an extra or re-ordered digest \
             sits between them",
            h.shown
        )),
        (Some(_), None) if name_ok => Some(format!(
            "hash mismatch: previousDigestHashValue is {} but the preceding digest's SHA-256 \
             is {} (the preceding digest or this link was modified)",
            hex(&want),
            hex(&pr.sha256)
        )),
        (Some(v), None) => Some(format!(
            "names {named_str} ({}), whose content does not match the link either",
            v.iter().map(|&i| digests[i].shown.as_str()).collect::<Vec<_>>().join(", ")
        )),
        (None, None) => Some(format!(
            "the previous digest {named_str} is not among the inputs (deleted or not exported)"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures: sidecar metadata, public keys
// ---------------------------------------------------------------------------------------------

/// `Metadata` of `aws s3api head-object` (keys lower-cased by S3).
#[derive(Debug, Default, Deserialize)]
struct SidecarMeta {
    #[serde(default, alias = "x-amz-meta-signature")]
    signature: Option<String>,
    #[serde(default, rename = "signature-algorithm", alias = "x-amz-meta-signature-algorithm")]
    algorithm: Option<String>,
}

/// A `<digest>.metadata.json` sidecar: `head-object` output, or a flat metadata object.
#[derive(Debug, Default, Deserialize)]
struct Sidecar {
    #[serde(default, rename = "Metadata", alias = "metadata")]
    metadata: Option<SidecarMeta>,
    #[serde(default, rename = "x-amz-meta-signature")]
    flat_signature: Option<String>,
    #[serde(default, rename = "x-amz-meta-signature-algorithm")]
    flat_algorithm: Option<String>,
}

/// Reads a sidecar: `(signature hex, algorithm)`.
fn read_sidecar(path: &Path) -> Result<(Option<String>, Option<String>), String> {
    let mut buf = Vec::new();
    read_capped(path, &mut buf, 1 << 20).map_err(|e| e.to_string())?;
    if buf.len() > 1 << 20 {
        return Err("larger than 1 MiB".into());
    }
    let s: Sidecar = serde_json::from_slice(&buf).map_err(|e| format!("invalid: {e}"))?;
    let meta = s.metadata.unwrap_or_default();
    Ok((meta.signature.or(s.flat_signature), meta.algorithm.or(s.flat_algorithm)))
}

/// A `list-public-keys` time: ISO 8601 text or epoch seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyTime {
    Text(String),
    Epoch(f64),
}

impl KeyTime {
    fn seconds(&self) -> Option<i64> {
        match self {
            KeyTime::Text(s) => parse_iso(s.trim()),
            KeyTime::Epoch(f) if f.is_finite() && f.abs() < 1e13 => Some(f.floor() as i64),
            KeyTime::Epoch(_) => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyListEntry {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    validity_start_time: Option<KeyTime>,
    #[serde(default)]
    validity_end_time: Option<KeyTime>,
}

/// The output of `aws cloudtrail list-public-keys`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyList {
    public_key_list: Vec<KeyListEntry>,
}

/// One usable key and when it is valid.
struct KeyEntry {
    key: keys::RsaPublicKey,
    /// `(ValidityStartTime, ValidityEndTime)` from `list-public-keys`; `None` for a bare key
    /// file, which carries no window.
    window: Option<(i64, i64)>,
}

/// Keys by lower-case fingerprint.
type KeyRing = BTreeMap<String, Vec<KeyEntry>>;

/// Loads `<fingerprint>.{der,pem,pub,key,b64}` files and `list-public-keys` JSON files.
/// Rejected keys are warnings (a digest that needs one then fails as unverifiable).
fn load_public_keys(dir: &Path, problems: &mut Vec<IntegrityProblem>) -> std::io::Result<KeyRing> {
    let mut ring: KeyRing = BTreeMap::new();
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let shown = p.display().to_string();
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else { continue };
        let (Some((stem, _)), Some((_, ext))) = (name.split_once('.'), name.rsplit_once('.'))
        else {
            continue;
        };
        let ext = ext.to_ascii_lowercase();
        if !matches!(ext.as_str(), "json" | "der" | "pem" | "pub" | "key" | "b64") || !p.is_file() {
            continue;
        }
        let mut data = Vec::new();
        if let Err(e) = read_capped(&p, &mut data, 16 << 20) {
            problems.push(warning(&shown, "public_key_unreadable", &e.to_string()));
            continue;
        }
        if data.len() > 16 << 20 {
            problems.push(warning(&shown, "public_key_unreadable", "larger than 16 MiB"));
            continue;
        }
        if ext != "json" {
            match keys::parse_public_key(&data) {
                Ok(key) => ring
                    .entry(stem.trim().to_ascii_lowercase())
                    .or_default()
                    .push(KeyEntry { key, window: None }),
                Err(why) => problems.push(warning(&shown, "public_key_rejected", &why)),
            }
            continue;
        }
        let list: KeyList = match serde_json::from_slice(&data) {
            Ok(l) => l,
            Err(e) => {
                problems.push(warning(
                    &shown,
                    "public_key_unreadable",
                    &format!("not the output of aws cloudtrail list-public-keys: {e}"),
                ));
                continue;
            }
        };
        for (i, k) in list.public_key_list.iter().enumerate() {
            let what = format!("PublicKeyList[{i}]");
            let Some(fp) = k.fingerprint.as_deref().map(|f| f.trim().to_ascii_lowercase()) else {
                problems.push(warning(
                    &shown,
                    "public_key_rejected",
                    &format!("{what}: no Fingerprint"),
                ));
                continue;
            };
            let start = k.validity_start_time.as_ref().map(KeyTime::seconds);
            let end = k.validity_end_time.as_ref().map(KeyTime::seconds);
            let (Some(Some(start)), Some(Some(end))) = (start, end) else {
                problems.push(warning(
                    &shown,
                    "public_key_rejected",
                    &format!(
                        "{what} ({fp}): ValidityStartTime/ValidityEndTime missing or not a time"
                    ),
                ));
                continue;
            };
            let parsed = k
                .value
                .as_deref()
                .ok_or_else(|| "no Value".to_string())
                .and_then(keys::decode_base64)
                .and_then(|der| keys::parse_public_key(&der));
            match parsed {
                Ok(key) => {
                    ring.entry(fp).or_default().push(KeyEntry { key, window: Some((start, end)) })
                }
                Err(why) => problems.push(warning(
                    &shown,
                    "public_key_rejected",
                    &format!("{what} ({fp}): {why}"),
                )),
            }
        }
    }
    Ok(ring)
}

/// The string CloudTrail signs for a digest (CLOUDTRAIL.md §6; `null` for a starting digest,
/// as the AWS CLI's validator does).
fn signing_string(d: &DigestDoc, digest_sha256: &[u8; 32]) -> Option<String> {
    Some(format!(
        "{}\n{}/{}\n{}\n{}",
        d.end.as_deref()?,
        d.bucket.as_deref()?,
        d.object.as_deref()?,
        hex(digest_sha256),
        d.prev.as_ref().and_then(|p| p.signature.as_deref()).unwrap_or("null")
    ))
}

/// The keys for a digest's fingerprint valid at its end time, or why there are none.
fn keys_for<'k>(ring: &'k KeyRing, d: &DigestEntry) -> Result<Vec<&'k keys::RsaPublicKey>, String> {
    let fp = d.doc.fingerprint.as_deref().unwrap_or("").trim().to_ascii_lowercase();
    if fp.is_empty() {
        return Err("the digest names no digestPublicKeyFingerprint".into());
    }
    let Some(entries) = ring.get(&fp) else {
        return Err(format!("no usable public key with the digest's fingerprint {}", short(&fp)));
    };
    let Some(t) = d.doc.end.as_deref().and_then(parse_iso) else {
        return Err("digestEndTime is missing or not a time".into());
    };
    let valid: Vec<&keys::RsaPublicKey> = entries
        .iter()
        .filter(|k| k.window.is_none_or(|(s, e)| s <= t && t <= e))
        .map(|k| &k.key)
        .collect();
    if valid.is_empty() {
        let windows: Vec<String> = entries
            .iter()
            .filter_map(|k| k.window.map(|(s, e)| format!("{} to {}", fmt_iso(s), fmt_iso(e))))
            .collect();
        return Err(format!(
            "public key {} is not valid at the digest's end time {} (valid {})",
            short(&fp),
            fmt_iso(t),
            windows.join(", ")
        ));
    }
    Ok(valid)
}

/// Verifies `sig_hex` with any of `keys`.
fn verify_any(keys: &[&keys::RsaPublicKey], text: &str, sig_hex: &str) -> Result<(), String> {
    let Some(bytes) = unhex(sig_hex) else {
        return Err("the signature is not hexadecimal".into());
    };
    let mut why = String::new();
    for k in keys {
        match keys::verify_sha256_rsa(k, text.as_bytes(), &bytes) {
            Ok(()) => return Ok(()),
            Err(e) => why = e,
        }
    }
    Err(why)
}

/// Records a digest whose signature cannot be checked (a failure with `--public-keys`).
fn unverifiable(rep: &mut IntegrityReport, d: &DigestEntry, reason: String) {
    rep.unverifiable_signatures.push(BadSignature { digest: d.shown.clone(), reason });
}

/// A digest's own signature metadata, as found.
enum Own {
    /// No sidecar.
    Absent,
    /// The sidecar could not be used, and why.
    Unusable(String),
    /// `(signature, algorithm)`.
    Present(String, Option<String>),
}

fn own_signature(
    d: &DigestEntry,
    sidecars: &HashMap<&str, &Found>,
    problems: &mut Vec<IntegrityProblem>,
) -> Own {
    let Some(f) = sidecars.get(format!("{}.metadata.json", d.shown).as_str()) else {
        return Own::Absent;
    };
    match read_sidecar(&f.path) {
        Ok((Some(s), a)) if !s.trim().is_empty() => Own::Present(s, a),
        Ok((Some(_), _)) => Own::Unusable(format!("{}: the signature is empty", f.shown)),
        Ok((None, _)) => {
            problems.push(warning(
                &f.shown,
                "sidecar_without_signature",
                "no x-amz-meta-signature / Metadata.signature in the sidecar",
            ));
            Own::Unusable(format!("{}: no signature in the sidecar", f.shown))
        }
        Err(e) => {
            problems.push(warning(&f.shown, "sidecar_unreadable", &e));
            Own::Unusable(format!("{}: unreadable sidecar ({e})", f.shown))
        }
    }
}

/// Checks every digest's signature (see the module docs, point 4): `signatures_checked`,
/// `bad_signatures`, `unverifiable_signatures`, `signatures_unchecked`, and chain breaks when
/// a successor records a signature that is not its predecessor's.
fn check_signatures(
    o: &IntegrityOptions,
    digests: &[DigestEntry],
    sidecars: &HashMap<&str, &Found>,
    successor_sig: &HashMap<usize, (Option<String>, String)>,
    rep: &mut IntegrityReport,
    problems: &mut Vec<IntegrityProblem>,
) -> anyhow::Result<()> {
    let ring = match &o.public_keys {
        Some(dir) => {
            let ring = load_public_keys(dir, problems).map_err(|e| {
                anyhow::anyhow!("cannot list the public-key directory {}: {e}", dir.display())
            })?;
            if ring.is_empty() {
                problems.push(error(
                    &dir.display().to_string(),
                    "no_public_keys",
                    "no usable public key in the --public-keys directory: no digest signature \
                     can be verified",
                ));
            }
            Some(ring)
        }
        None => None,
    };
    let mut with_sig = 0u64;
    for (i, d) in digests.iter().enumerate() {
        let own = own_signature(d, sidecars, problems);
        let recorded = successor_sig.get(&i).and_then(|(s, next)| s.as_ref().map(|s| (s, next)));
        if matches!(own, Own::Present(..)) || recorded.is_some() {
            with_sig += 1;
        }
        let Some(ring) = &ring else {
            // Without keys, only a disagreement between the two copies can be seen, not which
            // one is genuine: an error on the metadata, not a break blamed on either digest.
            if let (Own::Present(s, _), Some((r, next))) = (&own, recorded) {
                if unhex(s) != unhex(r) {
                    problems.push(error(
                        &format!("{}.metadata.json", d.shown),
                        "signature_conflict",
                        &format!(
                            "the signature metadata differs from the previousDigestSignature that \
                             {next} records; without --public-keys it cannot be told which one \
                             is genuine"
                        ),
                    ));
                }
            }
            continue;
        };
        let own_alg = match &own {
            Own::Present(_, a) => a.clone(),
            _ => None,
        };
        let alg = own_alg.clone().or_else(|| d.doc.algorithm.clone());
        match (&own_alg, &d.doc.algorithm) {
            (Some(a), Some(b)) if !a.trim().eq_ignore_ascii_case(b.trim()) => {
                unverifiable(
                    rep,
                    d,
                    format!(
                        "the signature metadata says {} but the digest says {}",
                        short(a),
                        short(b)
                    ),
                );
                continue;
            }
            _ => {}
        }
        match alg.as_deref().map(str::trim) {
            Some(a) if a.eq_ignore_ascii_case("SHA256withRSA") => {}
            Some(a) => {
                unverifiable(rep, d, format!("unsupported signature algorithm {:?}", short(a)));
                continue;
            }
            None => {
                unverifiable(
                    rep,
                    d,
                    "no signature algorithm (sidecar or digestSignatureAlgorithm)".into(),
                );
                continue;
            }
        }
        let keys = match keys_for(ring, d) {
            Ok(k) => k,
            Err(why) => {
                unverifiable(rep, d, why);
                continue;
            }
        };
        let Some(text) = signing_string(&d.doc, &d.sha256) else {
            rep.signatures_checked += 1;
            rep.bad_signatures.push(BadSignature {
                digest: d.shown.clone(),
                reason:
                    "digestEndTime, digestS3Bucket or digestS3Object missing: nothing to verify"
                        .into(),
            });
            continue;
        };
        let rec = recorded.map(|(r, next)| (verify_any(&keys, &text, r), r, next));
        match (&own, rec) {
            (Own::Present(s, _), rec) => {
                rep.signatures_checked += 1;
                match (verify_any(&keys, &text, s), rec) {
                    (Ok(()), Some((Err(_), _, next))) => rep.chain_breaks.push(ChainBreak {
                        previous: Some(d.shown.clone()),
                        next: next.clone(),
                        expected_previous: d.key.clone(),
                        reason: "the previousDigestSignature it records is not the predecessor's \
                                 (verified) signature: this digest was altered"
                            .into(),
                    }),
                    (Ok(()), _) => {}
                    (Err(why), Some((Ok(()), _, next))) => rep.bad_signatures.push(BadSignature {
                        digest: d.shown.clone(),
                        reason: format!(
                            "signature metadata: {why}; the previousDigestSignature that {next} \
                             records does verify, so the metadata was altered"
                        ),
                    }),
                    (Err(why), _) => rep
                        .bad_signatures
                        .push(BadSignature { digest: d.shown.clone(), reason: why }),
                }
            }
            (Own::Unusable(why), Some((Ok(()), _, next))) => {
                rep.signatures_checked += 1;
                rep.bad_signatures.push(BadSignature {
                    digest: d.shown.clone(),
                    reason: format!(
                        "{why}; the previousDigestSignature that {next} records does verify, so \
                         the metadata was altered or damaged"
                    ),
                });
            }
            (Own::Absent, Some((Ok(()), _, _))) => rep.signatures_checked += 1,
            (own, Some((Err(why), _, next))) => {
                // The copy the successor records does not verify, and the predecessor has no
                // usable signature of its own here: the successor's link is what is wrong. The
                // predecessor is not blamed, only left unverified.
                rep.chain_breaks.push(ChainBreak {
                    previous: Some(d.shown.clone()),
                    next: next.clone(),
                    expected_previous: d.key.clone(),
                    reason: format!(
                        "the previousDigestSignature it records is not a valid signature of the \
                         predecessor ({why}): this digest was altered"
                    ),
                });
                let own_why = match own {
                    Own::Unusable(w) => w.clone(),
                    _ => "no signature metadata of its own".to_string(),
                };
                unverifiable(
                    rep,
                    d,
                    format!(
                        "{own_why}, and the previousDigestSignature that {next} records does not \
                     verify (see chain_breaks)"
                    ),
                );
            }
            (Own::Unusable(why), None) => unverifiable(rep, d, why.clone()),
            (Own::Absent, None) => unverifiable(
                rep,
                d,
                "no signature: no .metadata.json sidecar and no successor digest recording it"
                    .into(),
            ),
        }
    }
    rep.signatures_unchecked = digests.len() as u64 - rep.signatures_checked;
    if ring.is_none() && !digests.is_empty() {
        rep.notes.push(format!(
            "digest signatures were not checked (no --public-keys directory was given; {with_sig} \
             of {} digests had a signature available): the hashes and the chain prove only that \
             the files and the digests agree, not that AWS wrote the digests. Status \
             \"unverified\", exit 3",
            digests.len()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Terminal table
// ---------------------------------------------------------------------------------------------

/// Terminal rendering: a summary line per check, then the findings.
pub fn render_table(r: &IntegrityReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let status = match r.verdict() {
        Verdict::Ok => "OK",
        Verdict::Unverified => "UNVERIFIED (signatures not checked: no --public-keys)",
        Verdict::Failed => "FAILED",
    };
    let _ = writeln!(
        s,
        "integrity: {status} ({} digests in {} chains, {} log files checked, {} matched)",
        r.digests,
        r.chains.len(),
        r.log_files_checked,
        r.log_files_ok
    );
    let rows = [
        ("mismatched", r.mismatched_total),
        ("missing", r.missing_total),
        ("chain breaks", r.chain_breaks.len() as u64),
        ("uncovered", r.uncovered_total),
        ("  inside a digested hour", r.uncovered_in_digest_window),
        ("gaps and restarts", r.gaps.len() as u64),
        ("signatures checked", r.signatures_checked),
        ("bad signatures", r.bad_signatures.len() as u64),
        ("unverifiable signatures", r.unverifiable_signatures.len() as u64),
        ("signatures not checked", r.signatures_unchecked),
        ("problems", r.problems.len() as u64),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "  {k:<26}{v:>8}");
    }
    for c in &r.chains {
        let _ = writeln!(
            s,
            "chain {} {} {} (home {}): {} digests, {} → {}{}",
            c.prefix,
            c.region,
            c.trail,
            c.home_region,
            c.digests,
            c.first_start.as_deref().unwrap_or("?"),
            c.last_end.as_deref().unwrap_or("?"),
            if c.starts_at_origin { ", starts at the chain origin" } else { "" }
        );
    }
    for m in &r.mismatched {
        let _ = writeln!(s, "MISMATCHED {}: {} (listed in {})", m.path, m.reason, m.digest);
    }
    more(&mut s, "MISMATCHED", r.mismatched_total, r.mismatched.len());
    for m in &r.missing {
        let _ = writeln!(s, "MISSING    {} (listed in {})", m.path, m.digest);
    }
    more(&mut s, "MISSING   ", r.missing_total, r.missing.len());
    for b in &r.chain_breaks {
        let _ = writeln!(
            s,
            "BROKEN     {} → {}: {}",
            b.previous.as_deref().unwrap_or("(none)"),
            b.next,
            b.reason
        );
    }
    for b in &r.bad_signatures {
        let _ = writeln!(s, "SIGNATURE  {}: {}", b.digest, b.reason);
    }
    for b in &r.unverifiable_signatures {
        let _ = writeln!(s, "UNVERIFIED {}: {}", b.digest, b.reason);
    }
    // Files delivered after the last digest can be many: list the first few only.
    const MAX_PLAIN: usize = 20;
    let mut shown = 0;
    let mut plain = 0;
    for u in &r.uncovered {
        if u.in_digest_window {
            shown += 1;
            let _ = writeln!(s, "UNLISTED   {} (inside a digested hour)", u.path);
        } else {
            plain += 1;
            if plain <= MAX_PLAIN {
                shown += 1;
                let _ = writeln!(s, "uncovered  {}", u.path);
            }
        }
    }
    more(&mut s, "uncovered ", r.uncovered_total, shown);
    for g in &r.gaps {
        let what = if g.new_chain { "new chain" } else { "gap" };
        let _ = writeln!(
            s,
            "{what:<10} {} → {} ({} s, {} → {})",
            g.from, g.to, g.seconds, g.after, g.before
        );
    }
    for p in &r.problems {
        let _ = writeln!(s, "{:<10} {}: {} ({})", p.severity, p.path, p.detail, p.reason);
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

fn more(s: &mut String, label: &str, total: u64, shown: usize) {
    use std::fmt::Write as _;
    if total > shown as u64 {
        let _ = writeln!(s, "{label} ... and {} more ({total} in all)", total - shown as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys() {
        let k = "prefix/AWSLogs/o-abc/111122223333/CloudTrail-Digest/eu-west-1/2024/03/11/111122223333_CloudTrail-Digest_eu-west-1_my_trail_us-east-1_20240311T090000Z.json.gz";
        let (c, t) = digest_location(k).unwrap();
        assert_eq!(c.prefix, "AWSLogs/o-abc/111122223333");
        assert_eq!(
            (c.region.as_str(), c.trail.as_str(), c.home_region.as_str()),
            ("eu-west-1", "my_trail", "us-east-1")
        );
        assert_eq!(t, parse_iso("2024-03-11T09:00:00Z"));
        let l = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11/111122223333_CloudTrail_us-east-1_20240311T0905Z_abcdefghijklmnop.json.gz";
        let (p, r, t) = log_location(l).unwrap();
        assert_eq!(
            (p.as_str(), r.as_str(), t),
            ("AWSLogs/111122223333", "us-east-1", parse_iso("2024-03-11T09:05:00Z"))
        );
        assert_eq!(awslogs_suffix("xAWSLogs/1/AWSLogs/2"), Some("AWSLogs/2"));
        assert_eq!(match_key("b/AWSLogs/1/x.json.gz"), Some("AWSLogs/1/x.json"));
        assert!(digest_location("AWSLogs/1/CloudTrail-Digest/r/x.json.gz").is_none());
        assert!(parse_compact_time("2024031XT0905Z").is_none());
    }

    #[test]
    fn moved_digests_are_recognised() {
        let d = "p/AWSLogs/1/CloudTrail-Digest/r/2024/03/11/1_CloudTrail-Digest_r_t_r_20240311T090000Z.json.gz";
        assert_eq!(moved_reason(&d[2..], d), None, "an export without the key prefix");
        assert_eq!(moved_reason("x/1_CloudTrail-Digest_r_t_r_20240311T090000Z.json", d), None);
        assert_eq!(moved_reason("copy-of-something.gz", d), None);
        assert!(moved_reason(&d.replace("/11/", "/12/")[2..], d).is_some());
        assert!(moved_reason("x/1_CloudTrail-Digest_r_t_r_20240311T100000Z.json.gz", d).is_some());
    }

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

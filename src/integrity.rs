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
//!    `mismatched`. Every local copy of a listed key must match.
//! 2. **The chain.** Digests are grouped per (prefix up to `CloudTrail-Digest`, region, trail,
//!    home region), taken from the digest's own `digestS3Object` (the name that is signed),
//!    and ordered by `digestEndTime`. Each digest's `previousDigestHashValue` must be the
//!    SHA-256 of the uncompressed preceding digest and `previousDigestS3Object` must name it,
//!    else a `chain_breaks` entry names the pair and says why (predecessor missing, modified,
//!    or another digest in between). A digest whose previous fields are all null starts a
//!    chain: after an earlier digest it is a restart (logging or validation was stopped) and
//!    is reported in `gaps`, not as a break; so is a hole in time between one digest's end and
//!    the next one's start. The oldest local digest may point to a predecessor that was not
//!    exported: that is a note, since an export can start mid-chain.
//! 3. **Uncovered files.** Local log files that no digest lists. One delivered (file-name time)
//!    strictly inside the hour of a digest of its own account and region should have been
//!    listed: it was added after delivery (or another trail without validation shares the
//!    prefix) and fails the run; other uncovered files (before the first or after the last
//!    digest) are only reported.
//! 4. **Signatures.** The signature is not in the digest file: it is S3 object metadata
//!    (`x-amz-meta-signature`, hex), lost by a plain `aws s3 sync`. It is taken from a sidecar
//!    `<digest file>.metadata.json` (the output of `aws s3api head-object`, whose `Metadata`
//!    holds `signature` and `signature-algorithm`; a flat object with `x-amz-meta-signature`
//!    is accepted too), or from the next digest's `previousDigestSignature`. With
//!    `--public-keys DIR` (files `<fingerprint>.der|.pem|.pub|.key|.b64` holding the DER PKCS#1 or SPKI
//!    key, or the JSON output of `aws cloudtrail list-public-keys`) the SHA256withRSA
//!    signature over `digestEndTime \n bucket/object \n hex(SHA-256(digest)) \n
//!    previousDigestSignature-or-"null"` is verified (RSASSA-PKCS1-v1_5 with a small built-in
//!    Montgomery modular exponentiation, so no crypto dependency; it handles public data only,
//!    so it need not be constant-time). What could not be checked is counted and explained in
//!    `notes`; a digest moved away from the key it names is a warning.
//!
//! The run fails (`IntegrityReport::ok` is false) on any mismatched or missing log file, chain
//! break, bad signature, unreadable digest, uncovered file inside a digested hour, or when no
//! digest was found at all (nothing could be validated). Inputs are hostile: every file is
//! read with a size cap through [`crate::ingest::decompress::gunzip_into`], every field is
//! parsed leniently, and a bad file becomes a `problems` entry naming it, never a panic.
//! Output is deterministic (sorted, paths relative to the input root).

use crate::ingest::decompress::{gunzip_into, is_gzip};
use crate::ingest::DEFAULT_MAX_FILE_BYTES;
use crate::time::{fmt_iso, parse_iso};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

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

/// A digest whose signature did not verify.
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

/// The `integrity --format json` document (SPEC §2 keys plus details).
#[derive(Debug, Serialize, Default)]
pub struct IntegrityReport {
    /// Distinct digest files found (identical copies counted once).
    pub digests: u64,
    /// `logFiles` entries checked, over all digests.
    pub log_files_checked: u64,
    /// Of those, entries whose every local copy matched.
    pub log_files_ok: u64,
    /// Listed log files whose content does not match.
    pub mismatched: Vec<Mismatch>,
    /// Listed log files with no local copy.
    pub missing: Vec<Missing>,
    /// Local log files that no digest lists.
    pub uncovered: Vec<Uncovered>,
    /// Broken links between digests.
    pub chain_breaks: Vec<ChainBreak>,
    /// Time gaps and chain restarts (reported, not failures).
    pub gaps: Vec<Gap>,
    /// Digest signatures verified (valid or not).
    pub signatures_checked: u64,
    /// Digests whose signature did not verify.
    pub bad_signatures: Vec<BadSignature>,
    /// Digests whose signature could not be checked (see `notes`).
    pub signatures_unchecked: u64,
    /// The chains found.
    pub chains: Vec<ChainSummary>,
    /// Files that could not be used.
    pub problems: Vec<IntegrityProblem>,
    /// What was not checked and why, and other remarks.
    pub notes: Vec<String>,
}

impl IntegrityReport {
    /// True when nothing failed to validate (see the module docs for what fails).
    pub fn ok(&self) -> bool {
        self.digests > 0
            && self.mismatched.is_empty()
            && self.missing.is_empty()
            && self.chain_breaks.is_empty()
            && self.bad_signatures.is_empty()
            && !self.uncovered.iter().any(|u| u.in_digest_window)
            && !self.problems.iter().any(|p| p.severity == "error")
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
fn match_key(key: &str) -> Option<String> {
    awslogs_suffix(key).map(|s| s.strip_suffix(".gz").unwrap_or(s).to_string())
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

// ---------------------------------------------------------------------------------------------
// Hex and base64
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

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    let v = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2).map(|p| Some((v(p[0])? << 4) | v(p[1])?)).collect()
}

/// A listed SHA-256 as 64 lower-case hex digits, or why it is not one.
fn norm_sha256(s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_lowercase();
    if t.len() == 64 && t.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(t)
    } else if t.bytes().all(|c| c.is_ascii_hexdigit()) {
        Err(format!("malformed hash value ({} hex digits, expected 64)", t.len()))
    } else {
        Err("malformed hash value (not hexadecimal)".to_string())
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Digest documents, parsed leniently
// ---------------------------------------------------------------------------------------------

/// One `logFiles[]` entry.
#[derive(Debug, Clone)]
struct Listed {
    object: String,
    hash: Option<String>,
    algorithm: Option<String>,
}

/// The `previousDigest*` fields.
#[derive(Debug, Clone, Default)]
struct PrevRef {
    object: Option<String>,
    hash: Option<String>,
    signature: Option<String>,
}

/// The fields of a digest file that validation uses.
#[derive(Debug, Clone, Default)]
struct DigestDoc {
    start: Option<String>,
    end: Option<String>,
    bucket: Option<String>,
    object: Option<String>,
    fingerprint: Option<String>,
    algorithm: Option<String>,
    /// `None`: a starting digest (all previous fields null or absent).
    prev: Option<PrevRef>,
    logs: Vec<Listed>,
    /// Field-level problems (wrong types, missing fields).
    malformed: Vec<String>,
}

/// Cheap content test: a JSON object that mentions `"digestStartTime"` near the top and is
/// not a `{"Records":…}` log file.
fn looks_like_digest(doc: &[u8]) -> bool {
    let d = doc.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(doc).trim_ascii_start();
    if !d.starts_with(b"{") || d[1..].trim_ascii_start().starts_with(b"\"Records\"") {
        return false;
    }
    let head = &d[..d.len().min(4096)];
    head.windows(17).any(|w| w == b"\"digestStartTime\"")
}

fn parse_digest(doc: &[u8]) -> Result<DigestDoc, String> {
    let v: Value = serde_json::from_slice(doc).map_err(|e| format!("invalid JSON: {e}"))?;
    let Some(o) = v.as_object() else {
        return Err("not a JSON object".into());
    };
    if !o.contains_key("digestStartTime") || !o.contains_key("logFiles") {
        return Err("a JSON object without \"digestStartTime\" and \"logFiles\"".into());
    }
    let mut d = DigestDoc::default();
    let field = |name: &str, malformed: &mut Vec<String>| -> Option<String> {
        match o.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                malformed.push(format!("{name} is not a string: {}", short(&other.to_string())));
                None
            }
        }
    };
    let mut m = Vec::new();
    d.start = field("digestStartTime", &mut m);
    d.end = field("digestEndTime", &mut m);
    d.bucket = field("digestS3Bucket", &mut m);
    d.object = field("digestS3Object", &mut m);
    d.fingerprint = field("digestPublicKeyFingerprint", &mut m);
    d.algorithm = field("digestSignatureAlgorithm", &mut m);
    let prev = PrevRef {
        object: field("previousDigestS3Object", &mut m),
        hash: field("previousDigestHashValue", &mut m),
        signature: field("previousDigestSignature", &mut m),
    };
    let _ = field("previousDigestS3Bucket", &mut m);
    let _ = field("previousDigestHashAlgorithm", &mut m);
    if prev.object.is_some() || prev.hash.is_some() || prev.signature.is_some() {
        d.prev = Some(prev);
    }
    for (name, val) in [("digestEndTime", &d.end), ("digestStartTime", &d.start)] {
        match val {
            None => m.push(format!("{name} is missing")),
            Some(t) if parse_iso(t).is_none() => m.push(format!("{name} is not a time: {t:?}")),
            Some(_) => {}
        }
    }
    match o.get("logFiles") {
        Some(Value::Array(items)) => {
            for (i, it) in items.iter().enumerate() {
                let s = |k: &str| it.get(k).and_then(Value::as_str).map(str::to_string);
                match s("s3Object") {
                    Some(object) => d.logs.push(Listed {
                        object,
                        hash: s("hashValue"),
                        algorithm: s("hashAlgorithm"),
                    }),
                    None => m.push(format!("logFiles[{i}] has no s3Object string")),
                }
            }
        }
        Some(Value::Null) | None => {}
        Some(_) => m.push("logFiles is not an array".into()),
    }
    d.malformed = m;
    Ok(d)
}

fn short(s: &str) -> String {
    if s.len() <= 80 {
        return s.to_string();
    }
    let mut end = 77;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
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

fn walk(
    dir: &Path,
    root: &Path,
    prefix: &str,
    seen: &mut HashSet<PathBuf>,
    out: &mut Vec<Found>,
    problems: &mut Vec<IntegrityProblem>,
) {
    let shown = |p: &Path| {
        let r = rel_string(p, root);
        if prefix.is_empty() {
            r
        } else {
            format!("{prefix}/{r}")
        }
    };
    match std::fs::canonicalize(dir) {
        Ok(c) if !seen.insert(c.clone()) => {
            problems.push(warning(
                &shown(dir),
                "already_visited",
                "directory already visited (overlapping inputs or a symbolic link loop)",
            ));
            return;
        }
        Ok(_) => {}
        Err(e) => {
            problems.push(warning(&shown(dir), "io_error", &e.to_string()));
            return;
        }
    }
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            problems.push(warning(&shown(dir), "io_error", &e.to_string()));
            return;
        }
    };
    paths.sort();
    for p in paths {
        match std::fs::metadata(&p) {
            Err(e) => problems.push(warning(&shown(&p), "io_error", &e.to_string())),
            Ok(m) if m.is_dir() => walk(&p, root, prefix, seen, out, problems),
            // A FIFO or device found while walking would block or never end: not evidence.
            Ok(m) if !m.is_file() => problems.push(warning(
                &shown(&p),
                "not_a_regular_file",
                "not a regular file (FIFO, socket or device): skipped",
            )),
            Ok(_) => {
                let canon = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
                if seen.insert(canon) {
                    let s = shown(&p);
                    out.push(Found { class: classify(&s), shown: s, path: p });
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

/// The result of reading one file.
#[derive(Debug)]
struct Examined {
    /// SHA-256 of the uncompressed content.
    sha256: Option<[u8; 32]>,
    /// Why the content could not be read.
    error: Option<(&'static str, String)>,
    /// The parsed digest, or why a file that should be one is not.
    digest: Option<Result<DigestDoc, String>>,
}

fn read_capped(path: &Path, buf: &mut Vec<u8>, cap: u64) -> std::io::Result<()> {
    buf.clear();
    std::fs::File::open(path)?.take(cap.saturating_add(1)).read_to_end(buf)?;
    Ok(())
}

/// Reads, inflates and hashes one file, and parses it when it is (or should be) a digest.
fn examine(f: &Found, raw: &mut Vec<u8>, inflated: &mut Vec<u8>, cap: u64) -> Examined {
    let mut ex = Examined { sha256: None, error: None, digest: None };
    if let Err(e) = read_capped(&f.path, raw, cap) {
        ex.error = Some(("io_error", e.to_string()));
        return ex;
    }
    let content: &[u8] = if is_gzip(raw) {
        if let Err(e) = gunzip_into(raw, inflated, cap) {
            ex.error = Some(("gzip", e.to_string()));
            return ex;
        }
        inflated
    } else if raw.len() as u64 > cap {
        ex.error = Some(("too_large", format!("file exceeds the cap of {cap} bytes")));
        return ex;
    } else {
        raw
    };
    ex.sha256 = Some(Sha256::digest(content).into());
    if f.class == PathClass::Digest || looks_like_digest(content) {
        ex.digest = Some(parse_digest(content));
    }
    ex
}

// ---------------------------------------------------------------------------------------------
// Signatures: sidecar metadata, public keys, RSA
// ---------------------------------------------------------------------------------------------

/// Reads `<digest>.metadata.json`: `(signature hex, algorithm)`.
fn read_sidecar(path: &Path) -> Result<(Option<String>, Option<String>), String> {
    let mut buf = Vec::new();
    read_capped(path, &mut buf, 1 << 20).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&buf).map_err(|e| format!("invalid JSON: {e}"))?;
    let pick = |names: &[&str]| -> Option<String> {
        for scope in [Some(&v), v.get("Metadata"), v.get("metadata")].into_iter().flatten() {
            for n in names {
                if let Some(s) = scope.get(*n).and_then(Value::as_str) {
                    return Some(s.to_string());
                }
            }
        }
        None
    };
    Ok((
        pick(&["x-amz-meta-signature", "signature"]),
        pick(&["x-amz-meta-signature-algorithm", "signature-algorithm"]),
    ))
}

/// An RSA public key: modulus and exponent, big-endian without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

/// Reads one DER TLV at the start of `d`: (tag, content, rest).
fn der_tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, d) = d.split_first()?;
    let (&l0, mut d) = d.split_first()?;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || d.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &d[..n] {
            len = (len << 8) | usize::from(b);
        }
        d = &d[n..];
        len
    };
    if d.len() < len {
        return None;
    }
    Some((tag, &d[..len], &d[len..]))
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b[i..].to_vec()
}

/// Parses a DER RSA public key: PKCS#1 `RSAPublicKey` (what `ListPublicKeys` returns) or
/// X.509 `SubjectPublicKeyInfo` (what `openssl rsa -pubout` writes).
fn parse_rsa_der(der: &[u8]) -> Option<RsaKey> {
    let (tag, body, _) = der_tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (t1, c1, rest) = der_tlv(body)?;
    match t1 {
        0x02 => {
            let (t2, c2, _) = der_tlv(rest)?;
            if t2 != 0x02 {
                return None;
            }
            let key = RsaKey { n: strip_zeros(c1), e: strip_zeros(c2) };
            let odd = key.n.last().is_some_and(|b| b & 1 == 1);
            (odd && key.n.len() >= 62 && key.n.len() <= 1024 && !key.e.is_empty()).then_some(key)
        }
        0x30 => {
            let (t2, c2, _) = der_tlv(rest)?;
            if t2 != 0x03 || c2.first() != Some(&0) {
                return None;
            }
            parse_rsa_der(&c2[1..])
        }
        _ => None,
    }
}

/// Decodes a key file: PEM, base64 text, or raw DER.
fn parse_key_file(data: &[u8]) -> Option<RsaKey> {
    let text = std::str::from_utf8(data).ok();
    if let Some(t) = text {
        if let Some(b) = t.find("-----BEGIN") {
            let body = &t[b..];
            let start = body.find('\n')? + 1;
            let end = body.find("-----END")?;
            if end < start {
                return None;
            }
            return parse_rsa_der(&base64_decode(&body[start..end])?);
        }
        if let Some(der) = base64_decode(t.trim()) {
            if let Some(k) = parse_rsa_der(&der) {
                return Some(k);
            }
        }
    }
    parse_rsa_der(data)
}

/// Loads `<fingerprint>.{der,pem,pub,key,b64}` files and `list-public-keys` JSON files.
fn load_public_keys(
    dir: &Path,
    problems: &mut Vec<IntegrityProblem>,
) -> std::io::Result<BTreeMap<String, RsaKey>> {
    let mut keys = BTreeMap::new();
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
        let mut data = Vec::new();
        if !p.is_file() {
            continue;
        }
        if let Err(e) = read_capped(&p, &mut data, 16 << 20) {
            problems.push(warning(&shown, "public_key_unreadable", &e.to_string()));
            continue;
        }
        match ext.to_ascii_lowercase().as_str() {
            "json" => {
                let v: Value = match serde_json::from_slice(&data) {
                    Ok(v) => v,
                    Err(e) => {
                        problems.push(warning(&shown, "public_key_unreadable", &e.to_string()));
                        continue;
                    }
                };
                let list = v.get("PublicKeyList").and_then(Value::as_array);
                for (i, k) in list.into_iter().flatten().enumerate() {
                    let fp = k.get("Fingerprint").and_then(Value::as_str);
                    let key = k.get("Value").and_then(Value::as_str).and_then(base64_decode);
                    match (fp, key.as_deref().and_then(parse_rsa_der)) {
                        (Some(fp), Some(key)) => {
                            keys.insert(fp.trim().to_ascii_lowercase(), key);
                        }
                        _ => problems.push(warning(
                            &shown,
                            "public_key_unreadable",
                            &format!("PublicKeyList[{i}] has no Fingerprint or no RSA Value"),
                        )),
                    }
                }
            }
            "der" | "pem" | "pub" | "key" | "b64" => match parse_key_file(&data) {
                Some(k) => {
                    keys.insert(stem.trim().to_ascii_lowercase(), k);
                }
                None => problems.push(warning(
                    &shown,
                    "public_key_unreadable",
                    "not an RSA public key (PEM, base64 or DER; PKCS#1 or SubjectPublicKeyInfo)",
                )),
            },
            _ => {}
        }
    }
    Ok(keys)
}

/// Arithmetic modulo an odd n with Montgomery multiplication (little-endian u64 limbs).
/// Only what RSA verification (and the test signer) needs; not constant-time, which is fine
/// for public-key operations on public data.
mod bignum {
    /// `-n^-1 mod 2^64` for odd `n0`.
    fn neg_inv(n0: u64) -> u64 {
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inv)));
        }
        inv.wrapping_neg()
    }

    /// Big-endian bytes to `k` limbs (`None` if it does not fit).
    pub(super) fn from_be(b: &[u8], k: usize) -> Option<Vec<u64>> {
        let b = &b[b.iter().position(|&x| x != 0).unwrap_or(b.len())..];
        if b.len() > k * 8 {
            return None;
        }
        let mut v = vec![0u64; k];
        for (i, &x) in b.iter().rev().enumerate() {
            v[i / 8] |= u64::from(x) << (8 * (i % 8));
        }
        Some(v)
    }

    /// Limbs to exactly `len` big-endian bytes (high bytes dropped if any).
    pub(super) fn to_be(v: &[u64], len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        for (i, byte) in out.iter_mut().rev().enumerate() {
            if let Some(l) = v.get(i / 8) {
                *byte = (l >> (8 * (i % 8))) as u8;
            }
        }
        out
    }

    /// `a < b` for equal-length limb vectors.
    pub(super) fn lt(a: &[u64], b: &[u64]) -> bool {
        for (x, y) in a.iter().rev().zip(b.iter().rev()) {
            if x != y {
                return x < y;
            }
        }
        false
    }

    /// `a -= b`, returning the borrow.
    fn sub_in_place(a: &mut [u64], b: &[u64]) -> bool {
        let mut borrow = false;
        for (x, &y) in a.iter_mut().zip(b) {
            let (d1, b1) = x.overflowing_sub(y);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *x = d2;
            borrow = b1 || b2;
        }
        borrow
    }

    /// A modulus prepared for Montgomery arithmetic.
    pub(super) struct Modulus {
        n: Vec<u64>,
        ninv: u64,
        rr: Vec<u64>,
    }

    impl Modulus {
        /// `None` unless `n` is odd and greater than 1.
        pub(super) fn new(n_be: &[u8]) -> Option<Modulus> {
            let k = n_be.len().div_ceil(8).max(1);
            let n = from_be(n_be, k)?;
            if n[0] & 1 == 0 || (n[0] == 1 && n[1..].iter().all(|&x| x == 0)) {
                return None;
            }
            // R^2 mod n by doubling 1 2*64*k times: x < n throughout.
            let mut x = vec![0u64; k];
            x[0] = 1;
            for _ in 0..(128 * k) {
                let mut carry = 0u64;
                for l in x.iter_mut() {
                    let nc = *l >> 63;
                    *l = (*l << 1) | carry;
                    carry = nc;
                }
                if carry == 1 || !lt(&x, &n) {
                    sub_in_place(&mut x, &n);
                }
            }
            Some(Modulus { ninv: neg_inv(n[0]), n, rr: x })
        }

        pub(super) fn limbs(&self) -> usize {
            self.n.len()
        }

        pub(super) fn n(&self) -> &[u64] {
            &self.n
        }

        /// `a * b * R^-1 mod n` (CIOS) for `a, b < n`.
        pub(super) fn mont_mul(&self, a: &[u64], b: &[u64]) -> Vec<u64> {
            let k = self.n.len();
            let n = &self.n;
            let mut t = vec![0u64; k + 2];
            for &bi in b.iter().take(k) {
                let mut c: u128 = 0;
                for (tj, &aj) in t.iter_mut().zip(a) {
                    let s = u128::from(*tj) + u128::from(aj) * u128::from(bi) + c;
                    *tj = s as u64;
                    c = s >> 64;
                }
                let s = u128::from(t[k]) + c;
                t[k] = s as u64;
                t[k + 1] = (s >> 64) as u64;
                let m = t[0].wrapping_mul(self.ninv);
                let s = u128::from(t[0]) + u128::from(m) * u128::from(n[0]);
                let mut c = s >> 64;
                for j in 1..k {
                    let s = u128::from(t[j]) + u128::from(m) * u128::from(n[j]) + c;
                    t[j - 1] = s as u64;
                    c = s >> 64;
                }
                let s = u128::from(t[k]) + c;
                t[k - 1] = s as u64;
                t[k] = t[k + 1] + (s >> 64) as u64;
                t[k + 1] = 0;
            }
            let top = t[k];
            t.truncate(k);
            if top != 0 || !lt(&t, n) {
                sub_in_place(&mut t, n);
            }
            t
        }

        /// `base^exp mod n` for `base < n` (limbs) and a big-endian exponent.
        pub(super) fn pow(&self, base: &[u64], exp: &[u8]) -> Vec<u64> {
            let k = self.n.len();
            let mut one = vec![0u64; k];
            one[0] = 1;
            let xm = self.mont_mul(base, &self.rr);
            let mut acc = self.mont_mul(&one, &self.rr);
            for &byte in exp {
                for bit in (0..8).rev() {
                    acc = self.mont_mul(&acc, &acc);
                    if (byte >> bit) & 1 == 1 {
                        acc = self.mont_mul(&acc, &xm);
                    }
                }
            }
            self.mont_mul(&acc, &one)
        }
    }
}

/// DER `DigestInfo` prefix for SHA-256 (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// EMSA-PKCS1-v1_5 encoding of SHA-256(`msg`) in `k` bytes.
fn pkcs1_sha256_encode(msg: &[u8], k: usize) -> Option<Vec<u8>> {
    let t_len = SHA256_DIGEST_INFO.len() + 32;
    if k < t_len + 11 {
        return None;
    }
    let mut em = vec![0xffu8; k];
    em[0] = 0;
    em[1] = 1;
    em[k - t_len - 1] = 0;
    em[k - t_len..k - 32].copy_from_slice(&SHA256_DIGEST_INFO);
    em[k - 32..].copy_from_slice(&Sha256::digest(msg));
    Some(em)
}

/// SHA256withRSA (RSASSA-PKCS1-v1_5) verification.
fn rsa_verify(key: &RsaKey, msg: &[u8], sig: &[u8]) -> bool {
    let Some(m) = bignum::Modulus::new(&key.n) else { return false };
    let k = key.n.len();
    let sig = &sig[sig.iter().position(|&b| b != 0).unwrap_or(sig.len())..];
    if sig.len() > k {
        return false;
    }
    let Some(s) = bignum::from_be(sig, m.limbs()) else { return false };
    if !bignum::lt(&s, m.n()) {
        return false;
    }
    let em = bignum::to_be(&m.pow(&s, &key.e), k);
    pkcs1_sha256_encode(msg, k).is_some_and(|want| want == em)
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

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// One distinct digest.
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
}

/// A local log file.
#[derive(Debug)]
struct LogEntry {
    shown: String,
    sha256: Option<[u8; 32]>,
    error: Option<String>,
    covered: bool,
}

/// Validates the digests and log files under the inputs (see the module docs).
///
/// # Errors
/// Only when none of the inputs exists or the public-key directory cannot be listed; every
/// problem with an individual file is reported in [`IntegrityReport::problems`] instead.
pub fn validate(o: &IntegrityOptions) -> anyhow::Result<IntegrityReport> {
    let mut rep = IntegrityReport::default();
    let mut problems = Vec::new();
    let found = gather(&o.inputs, &mut problems)?;
    let sidecars: HashMap<&str, &Found> = found
        .iter()
        .filter(|f| f.class == PathClass::Sidecar)
        .map(|f| (f.shown.as_str(), f))
        .collect();
    let examined: Vec<Option<Examined>> = found
        .par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(raw, inflated), f| match f.class {
                PathClass::Sidecar => None,
                _ => Some(examine(f, raw, inflated, DEFAULT_MAX_FILE_BYTES)),
            },
        )
        .collect();
    let (digests, mut logs, other_files) = sort_files(&found, examined, &mut problems);
    let (digests, duplicate_digests) = dedupe_digests(digests);
    rep.digests = digests.len() as u64;
    if duplicate_digests > 0 {
        rep.notes
            .push(format!("{duplicate_digests} identical copies of digest files counted once"));
    }
    check_log_files(&digests, &mut logs, &mut rep);
    let links = check_chains(&digests, &mut rep);
    find_uncovered(&logs, &links.windows, &mut rep);
    check_signatures(o, &digests, &sidecars, &links.successor_sig, &mut rep, &mut problems)?;

    if other_files > 0 {
        rep.notes.push(format!(
            "{other_files} files are neither CloudTrail log files nor digests and were ignored"
        ));
    }
    let in_window = rep.uncovered.iter().filter(|u| u.in_digest_window).count();
    if in_window > 0 {
        rep.notes.push(format!(
            "{in_window} log files were delivered inside an hour covered by a digest of their \
             account and region but are not listed in it: they were added after delivery, or \
             another trail without log-file validation writes to the same prefix"
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
    rep.mismatched.sort();
    rep.missing.sort();
    rep.uncovered.sort();
    rep.chain_breaks.sort();
    rep.gaps.sort();
    rep.bad_signatures.sort();
    rep.chains.sort();
    rep.problems.sort();
    rep.problems.dedup();
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
                walk(input, input, &prefix, &mut seen, &mut found, problems);
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

/// Splits the examined files into digests and log files; counts the rest.
fn sort_files(
    found: &[Found],
    examined: Vec<Option<Examined>>,
    problems: &mut Vec<IntegrityProblem>,
) -> (Vec<DigestEntry>, Vec<LogEntry>, u64) {
    let mut digests: Vec<DigestEntry> = Vec::new();
    let mut logs: Vec<LogEntry> = Vec::new();
    let mut other_files = 0u64;
    for (f, ex) in found.iter().zip(examined) {
        let Some(ex) = ex else { continue };
        match ex.digest {
            Some(Ok(doc)) => {
                let Some(sha256) = ex.sha256 else { continue };
                let declared = doc.object.as_deref().and_then(digest_location);
                let local = digest_location(&f.shown);
                if let (Some(obj), Some(k)) = (doc.object.as_deref(), match_key(&f.shown)) {
                    if match_key(obj).as_deref() != Some(k.as_str()) {
                        problems.push(warning(
                            &f.shown,
                            "digest_moved",
                            &format!("the digest names itself {obj}: it was moved or renamed"),
                        ));
                    }
                }
                for m in &doc.malformed {
                    problems.push(error(&f.shown, "malformed_digest", m));
                }
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
                let key = doc.object.as_deref().and_then(match_key).or_else(|| match_key(&f.shown));
                let start = doc.start.as_deref().and_then(parse_iso);
                let end = doc.end.as_deref().and_then(parse_iso).or(name_time);
                digests.push(DigestEntry {
                    shown: f.shown.clone(),
                    sha256,
                    doc,
                    key,
                    chain,
                    start,
                    end,
                });
            }
            Some(Err(why)) if f.class == PathClass::Digest => {
                problems.push(error(&f.shown, "unreadable_digest", &why));
            }
            None if f.class == PathClass::Digest => {
                let (reason, detail) = ex.error.unwrap_or(("unreadable", "no content".into()));
                problems.push(error(&f.shown, "unreadable_digest", &format!("{reason}: {detail}")));
            }
            _ if f.class == PathClass::Log => logs.push(LogEntry {
                shown: f.shown.clone(),
                sha256: ex.sha256,
                error: ex.error.map(|(r, d)| format!("{r}: {d}")),
                covered: false,
            }),
            _ => other_files += 1,
        }
    }

    (digests, logs, other_files)
}

/// Orders digests by (chain, end time, path) and drops identical copies of one digest.
fn dedupe_digests(mut digests: Vec<DigestEntry>) -> (Vec<DigestEntry>, u64) {
    digests.sort_by(|a, b| (&a.chain, a.end, &a.shown).cmp(&(&b.chain, b.end, &b.shown)));
    let mut uniq: Vec<DigestEntry> = Vec::new();
    let mut seen_digest: HashSet<(Option<String>, [u8; 32])> = HashSet::new();
    let mut duplicate_digests = 0u64;
    for d in digests {
        if seen_digest.insert((d.key.clone(), d.sha256)) {
            uniq.push(d);
        } else {
            duplicate_digests += 1;
        }
    }
    (uniq, duplicate_digests)
}

/// Checks every listed log file against its local copies (`missing`, `mismatched`).
fn check_log_files(digests: &[DigestEntry], logs: &mut [LogEntry], rep: &mut IntegrityReport) {
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, l) in logs.iter().enumerate() {
        if let Some(k) = match_key(&l.shown) {
            by_key.entry(k).or_default().push(i);
        }
        by_name.entry(match_name(&l.shown).to_string()).or_default().push(i);
    }
    for d in digests {
        for listed in &d.doc.logs {
            rep.log_files_checked += 1;
            let copies: Vec<usize> = match match_key(&listed.object).and_then(|k| by_key.get(&k)) {
                Some(v) => v.clone(),
                None => match by_name.get(match_name(&listed.object)) {
                    Some(v) if v.len() == 1 => v.clone(),
                    _ => Vec::new(),
                },
            };
            if copies.is_empty() {
                rep.missing.push(Missing {
                    path: awslogs_suffix(&listed.object).unwrap_or(&listed.object).to_string(),
                    s3_object: listed.object.clone(),
                    digest: d.shown.clone(),
                });
                continue;
            }
            let expected = listed.hash.as_deref().map(norm_sha256);
            let alg_ok =
                listed.algorithm.as_deref().is_none_or(|a| a.eq_ignore_ascii_case("SHA-256"));
            let mut all_ok = true;
            for i in copies {
                let l = &mut logs[i];
                l.covered = true;
                let actual = l.sha256.map(|h| hex(&h));
                let reason = match (&expected, &actual) {
                    _ if !alg_ok => Some(format!(
                        "unsupported hash algorithm {:?}",
                        listed.algorithm.as_deref().unwrap_or("")
                    )),
                    (None, _) => Some("the digest lists no hashValue".to_string()),
                    (Some(Err(why)), _) => Some(format!("the digest lists a {why}")),
                    (_, None) => Some(format!(
                        "cannot be read: {}",
                        l.error.as_deref().unwrap_or("unknown error")
                    )),
                    (Some(Ok(want)), Some(got)) if want != got => {
                        Some("SHA-256 of the uncompressed content differs".to_string())
                    }
                    _ => None,
                };
                if let Some(reason) = reason {
                    all_ok = false;
                    rep.mismatched.push(Mismatch {
                        path: l.shown.clone(),
                        s3_object: listed.object.clone(),
                        digest: d.shown.clone(),
                        expected: listed
                            .hash
                            .clone()
                            .unwrap_or_default()
                            .trim()
                            .to_ascii_lowercase(),
                        actual,
                        reason,
                    });
                }
            }
            if all_ok {
                rep.log_files_ok += 1;
            }
        }
    }
}

/// What the chain walk hands to the later checks.
struct ChainFacts {
    /// The signature of a digest as its (correctly linked) successor records it, and the
    /// successor's path.
    successor_sig: HashMap<usize, (String, String)>,
    /// Covered (start, end) windows per (prefix, region).
    windows: HashMap<(String, String), Vec<(i64, i64)>>,
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
    // The signature of each digest as its successor records it.
    let mut successor_sig: HashMap<usize, (String, String)> = HashMap::new();
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
            match (prev, link) {
                (None, None) => summary.starts_at_origin = true,
                (None, Some(p)) => rep.notes.push(format!(
                    "{}: the oldest digest of chain {} names a predecessor ({}) that is not among \
                     the inputs; the export may start mid-chain",
                    cur.shown,
                    chain_label(ck),
                    p.object.as_deref().unwrap_or("no previousDigestS3Object")
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
                            if let Some(sig) = &p.signature {
                                successor_sig.insert(pi, (sig.clone(), cur.shown.clone()));
                            }
                        }
                        Some(reason) => rep.chain_breaks.push(ChainBreak {
                            previous: Some(pr.shown.clone()),
                            next: cur.shown.clone(),
                            expected_previous: p
                                .object
                                .as_deref()
                                .map(|o| awslogs_suffix(o).unwrap_or(o).to_string()),
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

/// Lists local log files no digest lists, flagging those inside a digested hour.
fn find_uncovered(
    logs: &[LogEntry],
    windows: &HashMap<(String, String), Vec<(i64, i64)>>,
    rep: &mut IntegrityReport,
) {
    for l in logs {
        if l.covered {
            continue;
        }
        let in_window = log_location(&l.shown).is_some_and(|(prefix, region, t)| {
            t.is_some_and(|t| {
                windows
                    .get(&(prefix, region))
                    .is_some_and(|ws| ws.iter().any(|&(s, e)| t >= s && t + 60 <= e))
            })
        });
        rep.uncovered.push(Uncovered { path: l.shown.clone(), in_digest_window: in_window });
    }
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
    let want = match p.hash.as_deref().map(norm_sha256) {
        None => return Some("previousDigestHashValue is missing".into()),
        Some(Err(why)) => return Some(format!("previousDigestHashValue: {why}")),
        Some(Ok(h)) => h,
    };
    let hash_ok = want == hex(&pr.sha256);
    let name_ok = named.is_some() && named == pr.key;
    if hash_ok && name_ok {
        return None;
    }
    let named_str = p.object.as_deref().unwrap_or("(none)");
    if hash_ok {
        return Some(format!(
            "previousDigestS3Object names {named_str}, but the hash is that of the preceding \
             digest (renamed or edited digest)"
        ));
    }
    let named_present = named.as_deref().and_then(|k| by_dkey.get(k));
    let hash_holder = unhex(&want)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|h| by_hash.get(&h))
        .map(|&i| &digests[i]);
    match (named_present, hash_holder) {
        (_, Some(h)) => Some(format!(
            "links to {} (by hash), not to the preceding digest: an extra or re-ordered digest \
             sits between them",
            h.shown
        )),
        (Some(_), None) if name_ok => Some(format!(
            "hash mismatch: previousDigestHashValue is {want} but the preceding digest's SHA-256 \
             is {} (the preceding digest or this link was modified)",
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

/// Verifies each digest's signature when its metadata and public key are at hand; counts and
/// explains the rest (`signatures_checked`, `bad_signatures`, `signatures_unchecked`, `notes`).
fn check_signatures(
    o: &IntegrityOptions,
    digests: &[DigestEntry],
    sidecars: &HashMap<&str, &Found>,
    successor_sig: &HashMap<usize, (String, String)>,
    rep: &mut IntegrityReport,
    problems: &mut Vec<IntegrityProblem>,
) -> anyhow::Result<()> {
    let keys = match &o.public_keys {
        Some(dir) => Some(load_public_keys(dir, problems).map_err(|e| {
            anyhow::anyhow!("cannot list the public-key directory {}: {e}", dir.display())
        })?),
        None => None,
    };
    let mut why: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut with_sig = 0u64;
    for (i, d) in digests.iter().enumerate() {
        let meta_name = format!("{}.metadata.json", d.shown);
        let mut sig = None;
        let mut alg = None;
        if let Some(f) = sidecars.get(meta_name.as_str()) {
            match read_sidecar(&f.path) {
                Ok((s, a)) => {
                    sig = s;
                    alg = a;
                    if sig.is_none() {
                        problems.push(warning(
                            &f.shown,
                            "sidecar_without_signature",
                            "no x-amz-meta-signature / Metadata.signature in the sidecar",
                        ));
                    }
                }
                Err(e) => problems.push(warning(&f.shown, "sidecar_unreadable", &e)),
            }
        }
        if let (Some(s), Some((next_sig, next))) = (&sig, successor_sig.get(&i)) {
            if !s.trim().eq_ignore_ascii_case(next_sig.trim()) {
                rep.chain_breaks.push(ChainBreak {
                    previous: Some(d.shown.clone()),
                    next: next.clone(),
                    expected_previous: d.key.clone(),
                    reason: "the successor's previousDigestSignature differs from this digest's \
                             signature metadata"
                        .into(),
                });
            }
        }
        let sig = sig.or_else(|| successor_sig.get(&i).map(|(s, _)| s.clone()));
        if sig.is_some() {
            with_sig += 1;
        }
        let alg = alg.or_else(|| d.doc.algorithm.clone());
        let Some(keys) = &keys else {
            *why.entry("no --public-keys directory was given").or_default() += 1;
            continue;
        };
        let Some(sig) = sig else {
            *why.entry("no signature metadata (sidecar or successor digest)").or_default() += 1;
            continue;
        };
        if !alg.as_deref().unwrap_or("SHA256withRSA").eq_ignore_ascii_case("SHA256withRSA") {
            *why.entry("unsupported signature algorithm").or_default() += 1;
            continue;
        }
        let fp = d.doc.fingerprint.as_deref().unwrap_or("").trim().to_ascii_lowercase();
        let Some(key) = keys.get(&fp) else {
            *why.entry("no public key with the digest's fingerprint").or_default() += 1;
            continue;
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
        rep.signatures_checked += 1;
        match unhex(&sig) {
            None => rep.bad_signatures.push(BadSignature {
                digest: d.shown.clone(),
                reason: "the signature is not hexadecimal".into(),
            }),
            Some(bytes) if !rsa_verify(key, text.as_bytes(), &bytes) => {
                rep.bad_signatures.push(BadSignature {
                    digest: d.shown.clone(),
                    reason: format!("SHA256withRSA signature does not verify with key {fp}"),
                })
            }
            Some(_) => {}
        }
    }
    rep.signatures_unchecked = digests.len() as u64 - rep.signatures_checked;
    if rep.signatures_unchecked > 0 {
        let reasons: Vec<String> = why.iter().map(|(r, n)| format!("{n}: {r}")).collect();
        rep.notes.push(format!(
            "{} of {} digest signatures were not checked ({}); {with_sig} digests had a \
             signature available. Without verified signatures the hashes and the chain prove \
             only that files and digests agree, not that AWS wrote them",
            rep.signatures_unchecked,
            digests.len(),
            reasons.join("; ")
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
    let status = if r.ok() { "OK" } else { "FAILED" };
    let _ = writeln!(
        s,
        "integrity: {status} ({} digests in {} chains, {} log files checked, {} matched)",
        r.digests,
        r.chains.len(),
        r.log_files_checked,
        r.log_files_ok
    );
    let in_window = r.uncovered.iter().filter(|u| u.in_digest_window).count();
    let rows = [
        ("mismatched", r.mismatched.len()),
        ("missing", r.missing.len()),
        ("chain breaks", r.chain_breaks.len()),
        ("uncovered", r.uncovered.len()),
        ("  inside a digested hour", in_window),
        ("gaps and restarts", r.gaps.len()),
        ("signatures checked", r.signatures_checked as usize),
        ("bad signatures", r.bad_signatures.len()),
        ("problems", r.problems.len()),
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
    for m in &r.missing {
        let _ = writeln!(s, "MISSING    {} (listed in {})", m.path, m.digest);
    }
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
    // Files delivered after the last digest can be many: list the first few only.
    const MAX_PLAIN: usize = 20;
    let mut plain = 0;
    for u in &r.uncovered {
        if u.in_digest_window {
            let _ = writeln!(s, "UNLISTED   {} (inside a digested hour)", u.path);
        } else {
            plain += 1;
            if plain <= MAX_PLAIN {
                let _ = writeln!(s, "uncovered  {}", u.path);
            }
        }
    }
    if plain > MAX_PLAIN {
        let _ =
            writeln!(s, "uncovered  ... and {} more (--format json lists all)", plain - MAX_PLAIN);
    }
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

// ---------------------------------------------------------------------------------------------
// Test support: a digest writer for generated trails
// ---------------------------------------------------------------------------------------------

/// Writes realistic digest files for a generated trail (tests, fuzz seeds, demos).
///
/// Not part of the stable API: it exists so that tests can build a trail with a known-good
/// digest chain and then tamper with it.
#[doc(hidden)]
pub mod testgen {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::{self, Write};

    /// An RSA key pair for signing test digests (big-endian byte strings).
    #[derive(Debug, Clone)]
    pub struct TestKey {
        /// Modulus.
        pub n: Vec<u8>,
        /// Public exponent.
        pub e: Vec<u8>,
        /// Private exponent.
        pub d: Vec<u8>,
    }

    impl TestKey {
        /// The public key as DER PKCS#1 `RSAPublicKey` (the `ListPublicKeys` format).
        pub fn public_der(&self) -> Vec<u8> {
            fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
                let mut v = vec![tag];
                let n = body.len();
                if n < 0x80 {
                    v.push(n as u8);
                } else if n < 0x100 {
                    v.extend([0x81, n as u8]);
                } else {
                    v.extend([0x82, (n >> 8) as u8, n as u8]);
                }
                v.extend_from_slice(body);
                v
            }
            let int = |b: &[u8]| {
                let b = strip_zeros(b);
                let mut body = Vec::new();
                if b.first().is_some_and(|&x| x & 0x80 != 0) {
                    body.push(0);
                }
                body.extend_from_slice(&b);
                tlv(0x02, &body)
            };
            let mut seq = int(&self.n);
            seq.extend(int(&self.e));
            tlv(0x30, &seq)
        }

        /// SHA256withRSA signature of `msg`, hex.
        pub fn sign_hex(&self, msg: &[u8]) -> String {
            let k = strip_zeros(&self.n).len();
            let m = bignum::Modulus::new(&self.n).expect("test key modulus is odd");
            let em = pkcs1_sha256_encode(msg, k).expect("test key is large enough");
            let x = bignum::from_be(&em, m.limbs()).expect("fits");
            hex(&bignum::to_be(&m.pow(&x, &self.d), k))
        }
    }

    /// Verifies a SHA256withRSA signature with a DER (PKCS#1 or SPKI) public key.
    pub fn verify(public_der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        parse_rsa_der(public_der).is_some_and(|k| rsa_verify(&k, msg, sig))
    }

    /// How to write the digests.
    #[derive(Debug, Clone)]
    pub struct DigestGenOptions {
        /// `digestS3Bucket` / `s3Bucket`.
        pub bucket: String,
        /// Trail name of the account trails (`AWSLogs/<acct>/…`).
        pub trail: String,
        /// Trail name of organization-trail copies (`AWSLogs/<o-id>/<acct>/…`).
        pub org_trail: String,
        /// Home region of both trails.
        pub home_region: String,
        /// `digestPublicKeyFingerprint`.
        pub fingerprint: String,
        /// Sign the digests (else a deterministic placeholder signature is used).
        pub key: Option<TestKey>,
        /// Write `<digest>.metadata.json` sidecars holding the signature.
        pub sidecars: bool,
    }

    impl Default for DigestGenOptions {
        fn default() -> Self {
            DigestGenOptions {
                bucket: "trailhound-example-trail-bucket".into(),
                trail: "management-events".into(),
                org_trail: "org-trail".into(),
                home_region: "us-east-1".into(),
                fingerprint: "0123456789abcdef0123456789abcdef".into(),
                key: None,
                sidecars: true,
            }
        }
    }

    /// What [`write_digests`] wrote.
    #[derive(Debug, Clone, Default)]
    pub struct DigestGenReport {
        /// Digest files, relative to the trail root (`/`-separated), in chain then time order.
        pub digests: Vec<String>,
        /// `logFiles` entries written (each log file is listed once).
        pub log_files: usize,
        /// Number of chains (account or org prefix × region).
        pub chains: usize,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct LogFileOut {
        s3_bucket: String,
        s3_object: String,
        hash_value: String,
        hash_algorithm: &'static str,
        newest_event_time: Option<String>,
        oldest_event_time: Option<String>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DigestOut {
        aws_account_id: String,
        digest_start_time: String,
        digest_end_time: String,
        digest_s3_bucket: String,
        digest_s3_object: String,
        digest_public_key_fingerprint: String,
        digest_signature_algorithm: &'static str,
        newest_event_time: Option<String>,
        oldest_event_time: Option<String>,
        previous_digest_s3_bucket: Option<String>,
        previous_digest_s3_object: Option<String>,
        previous_digest_hash_value: Option<String>,
        previous_digest_hash_algorithm: Option<&'static str>,
        previous_digest_signature: Option<String>,
        log_files: Vec<LogFileOut>,
    }

    fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<io::Result<_>>()?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                files_under(&p, out)?;
            } else {
                out.push(p);
            }
        }
        Ok(())
    }

    /// A log file to list: (key, hex SHA-256, (oldest, newest) event time).
    type Listing = (String, String, (Option<i64>, Option<i64>));

    /// Oldest and newest `eventTime` of a `{"Records":[…]}` document.
    fn event_span(doc: &[u8]) -> (Option<i64>, Option<i64>) {
        let Ok(v) = serde_json::from_slice::<Value>(doc) else { return (None, None) };
        let times = v
            .get("Records")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("eventTime").and_then(Value::as_str).and_then(parse_iso));
        times.fold((None, None), |(lo, hi): (Option<i64>, Option<i64>), t| {
            (Some(lo.map_or(t, |x| x.min(t))), Some(hi.map_or(t, |x| x.max(t))))
        })
    }

    fn compact(t: i64) -> String {
        fmt_iso(t).replace(['-', ':'], "")
    }

    /// Walks the log files of a generated trail under `trail_dir` and writes one digest per
    /// hour (empty hours included) per (account or org prefix, region), from the hour of the
    /// first delivery to the hour of the last: correct hashes of the uncompressed logs, the
    /// previous-digest chain from a starting digest with null previous fields, fields as in
    /// CLOUDTRAIL.md §6. Deterministic: the same trail gives byte-identical digests.
    ///
    /// # Errors
    /// I/O errors reading the trail or writing the digests, and unreadable log files.
    pub fn write_digests(trail_dir: &Path, o: &DigestGenOptions) -> io::Result<DigestGenReport> {
        let mut files = Vec::new();
        files_under(trail_dir, &mut files)?;
        // (prefix, region) → hour → [(key, sha256, span)]
        type Hours = BTreeMap<i64, Vec<Listing>>;
        let mut groups: BTreeMap<(String, String), Hours> = BTreeMap::new();
        let mut inflated = Vec::new();
        for p in files {
            let shown = rel_string(&p, trail_dir);
            if classify(&shown) != PathClass::Log {
                continue;
            }
            let Some(key) = awslogs_suffix(&shown).map(str::to_string) else { continue };
            let Some((prefix, region, Some(t))) = log_location(&key) else { continue };
            let raw = std::fs::read(&p)?;
            gunzip_into(&raw, &mut inflated, DEFAULT_MAX_FILE_BYTES)
                .map_err(|e| io::Error::other(format!("{shown}: {e}")))?;
            let sha = hex(&Sha256::digest(&inflated));
            let span = event_span(&inflated);
            groups
                .entry((prefix, region))
                .or_default()
                .entry(t - t.rem_euclid(3600))
                .or_default()
                .push((key, sha, span));
        }
        let mut rep = DigestGenReport { chains: groups.len(), ..Default::default() };
        for ((prefix, region), hours) in &groups {
            let account = prefix.rsplit('/').next().unwrap_or("").to_string();
            let trail = if prefix.split('/').count() > 2 { &o.org_trail } else { &o.trail };
            let (Some(&first), Some(&last)) = (hours.keys().next(), hours.keys().next_back())
            else {
                continue;
            };
            let mut prev: Option<(String, String, String)> = None; // (object, sha, signature)
            let mut hour = first;
            while hour <= last {
                let end = hour + 3600;
                let dir = format!(
                    "{prefix}/CloudTrail-Digest/{region}/{}",
                    &fmt_iso(end)[..10].replace('-', "/")
                );
                let name = format!(
                    "{account}_CloudTrail-Digest_{region}_{trail}_{}_{}.json.gz",
                    o.home_region,
                    compact(end)
                );
                let object = format!("{dir}/{name}");
                let empty = Vec::new();
                let mut listed: Vec<&Listing> = hours.get(&hour).unwrap_or(&empty).iter().collect();
                listed.sort_by(|a, b| a.0.cmp(&b.0));
                let oldest = listed.iter().filter_map(|l| l.2 .0).min();
                let newest = listed.iter().filter_map(|l| l.2 .1).max();
                let doc = DigestOut {
                    aws_account_id: account.clone(),
                    digest_start_time: fmt_iso(hour),
                    digest_end_time: fmt_iso(end),
                    digest_s3_bucket: o.bucket.clone(),
                    digest_s3_object: object.clone(),
                    digest_public_key_fingerprint: o.fingerprint.clone(),
                    digest_signature_algorithm: "SHA256withRSA",
                    newest_event_time: newest.map(fmt_iso),
                    oldest_event_time: oldest.map(fmt_iso),
                    previous_digest_s3_bucket: prev.as_ref().map(|_| o.bucket.clone()),
                    previous_digest_s3_object: prev.as_ref().map(|p| p.0.clone()),
                    previous_digest_hash_value: prev.as_ref().map(|p| p.1.clone()),
                    previous_digest_hash_algorithm: prev.as_ref().map(|_| "SHA-256"),
                    previous_digest_signature: prev.as_ref().map(|p| p.2.clone()),
                    log_files: listed
                        .iter()
                        .map(|(key, sha, span)| LogFileOut {
                            s3_bucket: o.bucket.clone(),
                            s3_object: key.clone(),
                            hash_value: sha.clone(),
                            hash_algorithm: "SHA-256",
                            newest_event_time: span.1.map(fmt_iso),
                            oldest_event_time: span.0.map(fmt_iso),
                        })
                        .collect(),
                };
                rep.log_files += doc.log_files.len();
                let json = serde_json::to_vec(&doc).map_err(io::Error::other)?;
                let sha = Sha256::digest(&json).into();
                let ddoc = parse_digest(&json).map_err(io::Error::other)?;
                let text = signing_string(&ddoc, &sha).unwrap_or_default();
                let signature = match &o.key {
                    Some(k) => k.sign_hex(text.as_bytes()),
                    // A deterministic stand-in of the usual length (256 bytes).
                    None => (0..8u8)
                        .map(|i| hex(&Sha256::digest([text.as_bytes(), &[i]].concat())))
                        .collect(),
                };
                let mut enc = GzEncoder::new(Vec::new(), Compression::default());
                enc.write_all(&json)?;
                let gz = enc.finish()?;
                let path = trail_dir.join(&object);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, gz)?;
                if o.sidecars {
                    let meta = serde_json::json!({
                        "ContentType": "application/json",
                        "ContentEncoding": "gzip",
                        "Metadata": {
                            "signature": signature,
                            "signature-algorithm": "SHA256withRSA",
                        }
                    });
                    let mut text = serde_json::to_string_pretty(&meta).map_err(io::Error::other)?;
                    text.push('\n');
                    std::fs::write(trail_dir.join(format!("{object}.metadata.json")), text)?;
                }
                rep.digests.push(object.clone());
                prev = Some((object, hex(&sha), signature));
                hour = end;
            }
        }
        Ok(rep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slow reference: (a * b) mod n by shift-and-subtract on u128 (n < 2^127).
    fn mulmod_ref(a: u128, b: u128, n: u128) -> u128 {
        let mut r = 0u128;
        for i in (0..128).rev() {
            r = (r << 1) % n;
            if (b >> i) & 1 == 1 {
                r = (r + a) % n;
            }
        }
        r
    }

    fn powmod_ref(b: u128, e: u128, n: u128) -> u128 {
        let mut acc = 1 % n;
        for i in (0..128).rev() {
            acc = mulmod_ref(acc, acc, n);
            if (e >> i) & 1 == 1 {
                acc = mulmod_ref(acc, b, n);
            }
        }
        acc
    }

    #[test]
    fn montgomery_pow_matches_a_reference() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200 {
            let n = ((u128::from(next()) << 64 | u128::from(next())) >> (next() % 100)) | 1;
            let n = n & (u128::MAX >> 2);
            if n < 3 {
                continue;
            }
            let b = (u128::from(next()) << 64 | u128::from(next())) % n;
            let e = u128::from(next() % 100_000);
            let m = bignum::Modulus::new(&n.to_be_bytes()).unwrap();
            let got = bignum::to_be(
                &m.pow(&bignum::from_be(&b.to_be_bytes(), m.limbs()).unwrap(), &e.to_be_bytes()),
                16,
            );
            assert_eq!(
                u128::from_be_bytes(got.try_into().unwrap()),
                powmod_ref(b, e, n),
                "n={n} b={b} e={e}"
            );
        }
    }

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
        assert_eq!(match_key("b/AWSLogs/1/x.json.gz").as_deref(), Some("AWSLogs/1/x.json"));
        assert!(digest_location("AWSLogs/1/CloudTrail-Digest/r/x.json.gz").is_none());
        assert!(parse_compact_time("2024031XT0905Z").is_none());
    }

    #[test]
    fn hashes_are_parsed_leniently() {
        assert!(norm_sha256(&"A".repeat(64)).is_ok());
        assert!(norm_sha256(&"a".repeat(63)).unwrap_err().contains("63 hex digits"));
        assert!(norm_sha256("zz").is_err());
        assert_eq!(unhex("0aFf"), Some(vec![10, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("é1"), None);
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    }

    #[test]
    fn digest_parser_is_lenient() {
        let d = parse_digest(
            br#"{"digestStartTime":5,"logFiles":{"x":1},"previousDigestHashValue":"ab"}"#,
        )
        .unwrap();
        assert!(d.malformed.iter().any(|m| m.contains("digestStartTime is not a string")));
        assert!(d.malformed.iter().any(|m| m.contains("logFiles is not an array")));
        assert!(d.prev.is_some());
        assert!(parse_digest(b"[1]").is_err());
        assert!(parse_digest(b"{\"digestStartTime\":null}").is_err());
        assert!(looks_like_digest(b" {\"awsAccountId\":\"1\",\"digestStartTime\":\"x\"}"));
        assert!(!looks_like_digest(b"{\"Records\":[{\"digestStartTime\":1}]}"));
    }

    #[test]
    fn der_parser_rejects_garbage_without_panicking() {
        let mut x: u32 = 7;
        for len in 0..300usize {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = parse_key_file(&data);
            let mut d = data.clone();
            if !d.is_empty() {
                d[0] = 0x30;
            }
            let _ = parse_rsa_der(&d);
        }
        assert!(parse_rsa_der(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
    }
}

//! Finding and reading the input files: the walk of the input directories (symbolic links
//! kept inside the input tree, FIFOs and devices skipped), what each path looks like (digest,
//! log file, sidecar) and where a key sits under `AWSLogs/` (its chain, its delivery time),
//! and the capped read of one file.

use super::digest::short;
use super::{error, warning, IntegrityProblem};
use crate::ingest::decompress::{gunzip_into, is_gzip};
use crate::time::parse_iso;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Paths and names
// ---------------------------------------------------------------------------------------------

/// The key from the first `AWSLogs` segment on (`/`-separated), or `None`.
pub(super) fn awslogs_suffix(key: &str) -> Option<&str> {
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
pub(super) fn match_key(key: &str) -> Option<&str> {
    awslogs_suffix(key).map(|s| s.strip_suffix(".gz").unwrap_or(s))
}

/// The last path segment without a trailing `.gz`.
pub(super) fn match_name(key: &str) -> &str {
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

/// A path from its last `AWSLogs` segment on (`/`-joined), or `None`.
fn from_last_awslogs(p: &Path) -> Option<String> {
    let parts: Vec<String> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let at = parts.iter().rposition(|s| s == "AWSLogs")?;
    Some(parts[at..].join("/"))
}

/// Where an input sits under `AWSLogs/` when the part below it does not say (the input is
/// `bucket/AWSLogs`, `bucket/AWSLogs/<acct>`, or `.` inside them): from its absolute path as
/// given (without `..`, which only the file system can resolve), else from its canonical path
/// (a symbolic link named otherwise that leads into `AWSLogs/`).
fn awslogs_base(p: &Path) -> Option<String> {
    let abs =
        std::path::absolute(p).ok().filter(|a| !a.components().any(|c| c == Component::ParentDir));
    abs.and_then(|a| from_last_awslogs(&a))
        .or_else(|| std::fs::canonicalize(p).ok().and_then(|c| from_last_awslogs(&c)))
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

/// Where a log file sits: (prefix up to `CloudTrail`, region) and its delivery time, from its
/// [`Found::located`] path.
pub(super) fn log_location(key: &str) -> Option<(String, String, Option<i64>)> {
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
pub(super) struct ChainKey {
    pub(super) prefix: String,
    pub(super) region: String,
    pub(super) trail: String,
    pub(super) home_region: String,
}

/// Parses a digest key into its chain and the file-name time.
pub(super) fn digest_location(key: &str) -> Option<(ChainKey, Option<i64>)> {
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
pub(super) fn moved_reason(shown: &str, declared: &str) -> Option<String> {
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
// Walking and reading
// ---------------------------------------------------------------------------------------------

/// What a path looks like before its content is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PathClass {
    /// Under `CloudTrail-Digest/` or named `…_CloudTrail-Digest_…`.
    Digest,
    /// Under `CloudTrail/` or named `…_CloudTrail_…`.
    Log,
    /// A `.metadata.json` sidecar (read on demand).
    Sidecar,
    /// Under `CloudTrail-Insight/`: never read (the other commands skip that folder too).
    Insight,
    /// Anything else: read to see whether it is a digest, or a log file under another name.
    Other,
}

/// True when a path is under a `CloudTrail-Digest/` or `CloudTrail-Insight/` folder (below the
/// input), which the other commands never read ([`crate::ingest::discover`]); any other file
/// they read, and so must be checked here whatever its name.
pub(super) fn read_by_other_commands(shown: &str) -> bool {
    let mut segs: Vec<&str> = shown.split('/').collect();
    segs.pop();
    use crate::ingest::{DIGEST_FOLDER, INSIGHT_FOLDER};
    !segs.iter().any(|s| *s == DIGEST_FOLDER || *s == INSIGHT_FOLDER)
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
        PathClass::Insight
    } else if name.contains("_CloudTrail_") || segs.contains(&"CloudTrail") {
        PathClass::Log
    } else {
        PathClass::Other
    }
}

/// A file found under the inputs.
#[derive(Debug)]
pub(super) struct Found {
    pub(super) path: PathBuf,
    /// The path as the report shows it: relative to the input root.
    pub(super) shown: String,
    /// The path that says where the file sits under `AWSLogs/` (its account, region and
    /// delivery time): the part below the input root when it has an `AWSLogs` segment, else
    /// that part under the input's own place below `AWSLogs/` ([`awslogs_base`]). Run on
    /// `bucket/AWSLogs/<acct>`, a file is located as it is when run on `bucket`.
    pub(super) located: String,
    pub(super) class: PathClass,
}

/// One input directory being walked.
struct WalkRoot<'a> {
    /// The input as given (paths are shown relative to it).
    root: &'a Path,
    /// Its canonical form: symbolic links may lead anywhere below it, never outside.
    canon: PathBuf,
    /// Shown before relative paths when several directories are given.
    prefix: String,
    /// The input's place under `AWSLogs/` ([`awslogs_base`]), asked for only when a path
    /// below it has no `AWSLogs` segment.
    base: std::cell::OnceCell<Option<String>>,
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

    /// See [`Found::located`].
    fn located(&self, p: &Path) -> String {
        let r = rel_string(p, self.root);
        if awslogs_suffix(&r).is_some() {
            return r;
        }
        match self.base.get_or_init(|| awslogs_base(self.root)) {
            Some(b) => format!("{b}/{r}"),
            None => r,
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
            problems.push(warning(&w.shown(dir), "io_error", &unreadable(&e)));
            return;
        }
    }
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            problems.push(warning(&w.shown(dir), "io_error", &unreadable(&e)));
            return;
        }
    };
    paths.sort();
    for p in paths {
        let shown = w.shown(&p);
        let link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        if link {
            // A symbolic link is followed only while it stays inside the input tree: a link
            // to /etc/passwd must not have that file's hash printed as evidence. The other
            // commands follow every link, so what such a link leads to would be read as
            // evidence that nothing here checked: an error, not a skip.
            match std::fs::canonicalize(&p) {
                // A link into or out of a folder the other commands skip (CloudTrail-Digest/,
                // CloudTrail-Insight/): each file is visited once, by the first path found,
                // and judged by it, so a file the other commands read through one path could
                // be taken as skipped through the link (planted events passed as OK). Real
                // exports have no such links: an error.
                Ok(target)
                    if target.starts_with(&w.canon) && crosses_skipped(&shown, &target, w) =>
                {
                    problems.push(error(
                        &shown,
                        "symlink_crosses_skipped_folder",
                        "symbolic link into or out of a CloudTrail-Digest/ or CloudTrail-Insight/                          folder: the other commands read what it leads to by one path and skip it                          by the other, so it is not checked; replace the link by a copy and run again",
                    ));
                    continue;
                }
                Ok(target) if target.starts_with(&w.canon) => {}
                Ok(_) => {
                    problems.push(error(
                        &shown,
                        "symlink_outside_input",
                        "symbolic link to a path outside the input tree: not read, so not \
                         checked, but the other commands follow it and would read what it \
                         leads to as evidence; copy that file into the tree and run again",
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
            Err(e) => problems.push(warning(&shown, "io_error", &unreadable(&e))),
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
                    let located = w.located(&p);
                    out.push(Found { class: classify(&shown), shown, located, path: p });
                }
            }
        }
    }
}

/// Why a directory or file found while walking could not be read. A warning, but the run is
/// not ok ([`super::IntegrityReport::not_shown`]): what it holds is not checked, while the
/// other commands, run with other rights, may read it.
fn unreadable(e: &std::io::Error) -> String {
    format!("{e}: what it holds is not checked, and another command run with other rights may read it as evidence; make it readable and run again")
}

/// True when the link at `shown` and its target `target` differ in whether the other commands
/// read what is below them ([`read_by_other_commands`]).
fn crosses_skipped(shown: &str, target: &Path, w: &WalkRoot<'_>) -> bool {
    let probe = |s: &str| if target.is_dir() { format!("{s}/x") } else { s.to_string() };
    let real = rel_string(target, &w.canon);
    read_by_other_commands(&probe(shown)) != read_by_other_commands(&probe(&real))
}

pub(super) fn read_capped(path: &Path, buf: &mut Vec<u8>, cap: u64) -> std::io::Result<()> {
    buf.clear();
    std::fs::File::open(path)?.take(cap.saturating_add(1)).read_to_end(buf)?;
    Ok(())
}

/// Reads and inflates one file into `inflated` (or leaves it in `raw`); returns which buffer
/// holds the content, or why it could not be read.
pub(super) fn load<'b>(
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

/// Walks the inputs into a sorted file list (paths shown relative to their input root).
pub(super) fn gather(
    inputs: &[PathBuf],
    problems: &mut Vec<IntegrityProblem>,
) -> anyhow::Result<Vec<Found>> {
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
                let w = WalkRoot { root: input, canon, prefix, base: Default::default() };
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
                    let located = match awslogs_suffix(&shown) {
                        Some(_) => shown.clone(),
                        None => awslogs_base(input).unwrap_or_else(|| shown.clone()),
                    };
                    let (class, path) = (classify(&shown), input.clone());
                    found.push(Found { class, shown, located, path });
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
}

//! `integrity`, and the integrity check `investigate` makes of the digest files among its
//! inputs. The other commands skip `CloudTrail-Digest/` (digests are not events), so a case
//! folder made from an export whose log files no longer match their digests said "verify: OK"
//! and never mentioned it: `verify` judges the evidence it is given, altered or not. Now
//! `investigate` validates the digests it finds (the hashes, the chain and what it covers, as
//! `trailhound integrity` does without `--public-keys`), writes `integrity.json`, says the
//! status on its summary, and exits 1 when the evidence does not match its digests. Without
//! digests it says that integrity was not checked.

use super::{cli, stdout_write, to_json, Exit};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// `verify`'s input options: the evidence, never `--cache`. The cache is the working state
/// of the runs that made the plan, sealed against damage, not against a hand that can write
/// it: a review edited one cached event, sealed it again, and the warm `plan` left a live
/// session undenied while `verify --cache` said OK (a cold verify said FAIL). An auditor does
/// not take its answer from the state of what it audits (SPEC §6).
pub(super) fn uncached(input: &cli::InputArgs) -> cli::InputArgs {
    if input.cache.is_some() && !input.quiet {
        eprintln!("trailhound: verify reads the evidence itself: --cache is not used (the cache is the working state of the runs that made the plan, not evidence)");
    }
    cli::InputArgs { cache: None, ..input.clone() }
}

pub(super) fn integrity(a: cli::IntegrityArgs) -> Result<Exit> {
    let opts = crate::integrity::IntegrityOptions {
        inputs: a.inputs.clone(),
        public_keys: a.public_keys.clone(),
        max_file_size: a.max_file_size,
    };
    let report = crate::integrity::validate(&opts)?;
    match a.format {
        cli::TableOrJson::Json => stdout_write(&to_json(&report)?)?,
        cli::TableOrJson::Table => stdout_write(&crate::integrity::render_table(&report))?,
    }
    // 0: everything verified, signatures included; 1: something failed (with
    // `--public-keys`, a signature that cannot be checked fails too); 3: nothing failed but
    // no signature was checked (no `--public-keys`), so the digests are not shown to be AWS's.
    Ok(match report.verdict() {
        crate::integrity::Verdict::Ok => Exit::Ok,
        crate::integrity::Verdict::Unverified => Exit::Incomplete,
        crate::integrity::Verdict::Failed => Exit::Finding,
    })
}

/// The integrity of a case's inputs, when they hold digest files or an input is a trail's
/// `CloudTrail` folder with digests beside it (`None` otherwise).
pub(super) fn of_case(
    ing: &crate::ingest::Ingest,
    inputs: &[PathBuf],
    max_file_size: u64,
) -> Result<Option<crate::integrity::IntegrityReport>> {
    let mut beside: Vec<PathBuf> = inputs.iter().filter_map(|i| digests_beside(i)).collect();
    beside.retain(|d| !inputs.contains(d));
    beside.sort();
    beside.dedup();
    if beside.is_empty() && !ing.problems.iter().any(|p| p.reason == "digest") {
        return Ok(None);
    }
    let opts = crate::integrity::IntegrityOptions {
        inputs: inputs.iter().chain(&beside).cloned().collect(),
        public_keys: None,
        max_file_size,
    };
    let mut r = crate::integrity::validate(&opts)?;
    for d in &beside {
        r.notes.push(format!(
            "digests read from {}, beside the log files given (CloudTrail writes them there)",
            crate::escape::one_line(&d.display().to_string())
        ));
    }
    Ok(Some(r))
}

/// The `CloudTrail-Digest` folder beside an input given as an account's `…/CloudTrail`
/// folder or one region's `…/CloudTrail/REGION`, when there is one: CloudTrail writes the
/// digests of `AWSLogs/ACCOUNT/CloudTrail/REGION/…` under `AWSLogs/ACCOUNT/CloudTrail-Digest/
/// REGION/…`, so a case made from the log folder alone checked none. (Not deeper: a day's
/// digests list files delivered in their hour, whose folder may be the day before, so a
/// day's folder against its digests' folder reads as files missing.)
fn digests_beside(input: &Path) -> Option<PathBuf> {
    let of = |p: &Path| {
        let parts: Vec<_> = p.components().collect();
        let at = parts.iter().rposition(|c| c.as_os_str() == "CloudTrail")?;
        if parts.len() - at > 2 {
            return None;
        }
        let mut d: PathBuf = parts[..at].iter().collect();
        d.push("CloudTrail-Digest");
        d.extend(&parts[at + 1..]);
        d.is_dir().then_some(d)
    };
    if !input.is_dir() {
        return None;
    }
    // As given, else as the file system names it (an input of `.` inside the folder).
    of(input).or_else(|| of(&std::fs::canonicalize(input).ok()?))
}

/// The case folder's integrity check, written when the trail has digest files (and removed
/// when it has none).
pub(super) const INTEGRITY_FILE: &str = "integrity.json";

/// Writes the case's integrity check to `path`; a trail without digests removes an
/// `integrity.json` an earlier case left there (another trail's "OK", beside a report that
/// says no check ran).
pub(super) fn keep_in_case(
    r: Option<&crate::integrity::IntegrityReport>,
    path: &Path,
) -> Result<()> {
    use anyhow::Context as _;
    match r {
        Some(r) => crate::outfile::write(path, to_json(r)?)
            .with_context(|| format!("writing {}", path.display())),
        None => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing the earlier case's {}", path.display()))
            }
            _ => Ok(()),
        },
    }
}

/// The evidence does not match its digests.
pub(super) fn failed(r: &crate::integrity::IntegrityReport) -> bool {
    r.verdict() == crate::integrity::Verdict::Failed
}

/// What the case summary says of `verify`'s verdict, given what the digests showed: an OK
/// over logs that do not match their digests is no proof, and one over logs some of which no
/// digest covers (or where digests may have been deleted) is an OK on those logs as given.
/// `investigate --cache`: its check of the plan read the event table the cache held, as the
/// plan did, so it is not the independent proof `verify` gives (which never reads a cache,
/// [`uncached`]): said in verify.json's notes and on the verify line (a review: a re-sealed
/// cache dropped a deny and the case said "verify: OK" as if proven).
pub(super) fn over_cache(v: &mut crate::plan::verify::Verification, cached: bool) {
    if cached {
        v.notes.insert(0, format!("{CACHED}; run `trailhound verify`, which reads the evidence itself, for the independent proof"));
    }
}

const CACHED: &str = "checked over --cache (the event table the cache held, as the plan was made), not over the evidence read again";

/// [`verify_line`] of `v`, said to be over the cache when `cached` ([`over_cache`]).
pub(super) fn cached_line(
    v: &crate::plan::verify::Verification,
    r: Option<&crate::integrity::IntegrityReport>,
    cached: bool,
) -> String {
    let line = verify_line(v.verdict, r, v.unrevocable.len());
    match cached {
        true => format!("{line} [{CACHED}: not the independent proof; run `trailhound verify`]"),
        false => line,
    }
}

pub(super) fn verify_line(
    verdict: &str,
    r: Option<&crate::integrity::IntegrityReport>,
    unrevocable: usize,
) -> String {
    let partly_unproven =
        |r: &crate::integrity::IntegrityReport| r.uncovered_total > 0 || !r.not_shown.is_empty();
    // A leaked root key, or what root minted, stays valid whatever the plan does (F11): an
    // "every credential is cut" beside it was read as contained (a review).
    let found_cut = match unrevocable {
        0 => "every live tainted credential found is cut",
        _ => "every live tainted credential found that IAM can cut is cut",
    };
    let line = match verdict {
        "FAIL" => return "FAIL: see verify.json".to_string(),
        _ if r.is_some_and(failed) => {
            "OK on the evidence as given, but it does not match its digests (below): not a proof".to_string()
        }
        "INCOMPLETE" => format!("INCOMPLETE: {found_cut}, but some input could not be read (verify.json, unread)"),
        _ if r.is_some_and(partly_unproven) => "OK on the evidence as given, but its digests do not cover all of it (below): what they do not cover is not proven".to_string(),
        _ if unrevocable > 0 => {
            return format!("OK for what IAM can cut, but {} NOT cut: {unrevocable} live tainted credential(s) no IAM policy can cut stay valid (unrevocable: verify.json gives each one's remedy)", if unrevocable == 1 { "one is" } else { "some are" });
        }
        _ => "OK: every live tainted credential is cut".to_string(),
    };
    match unrevocable {
        0 => line,
        n => format!("{line}; {n} live tainted credential(s) no IAM policy can cut stay valid (unrevocable: verify.json gives each one's remedy)"),
    }
}

/// The line of the case summary that says what the integrity check found.
pub(super) fn case_line(r: Option<&crate::integrity::IntegrityReport>) -> String {
    let Some(r) = r else {
        return "integrity: not checked (no CloudTrail-Digest files among the inputs: run trailhound integrity on the export with its digests)".to_string();
    };
    let first = crate::integrity::render_table(r).lines().next().unwrap_or("").to_string();
    match r.verdict() {
        crate::integrity::Verdict::Failed => format!("{first}: the evidence does not match its digests, so the plan and verify judge altered evidence (integrity.json)"),
        _ => format!("{first} (integrity.json)"),
    }
}

#[cfg(test)]
mod tests {
    use super::verify_line;
    use crate::integrity::IntegrityReport;

    #[test]
    fn an_ok_over_logs_the_digests_do_not_all_cover_says_so() {
        let mut r = IntegrityReport { digests: 3, ..Default::default() };
        let plain = "OK: every live tainted credential is cut";
        assert_eq!(verify_line("OK", Some(&r), 0), plain);
        assert_eq!(verify_line("OK", None, 0), plain);
        // A live credential no IAM policy can cut (a leaked root key) is never "every ... cut".
        let root = verify_line("OK", None, 3);
        assert!(
            root.starts_with("OK for what IAM can cut, but some are NOT cut: 3 live"),
            "{root}"
        );
        let incomplete = verify_line("INCOMPLETE", None, 1);
        assert!(
            incomplete.starts_with(
                "INCOMPLETE: every live tainted credential found that IAM can cut is cut, but"
            ),
            "{incomplete}"
        );
        assert!(incomplete.ends_with("1 live tainted credential(s) no IAM policy can cut stay valid (unrevocable: verify.json gives each one's remedy)"));
        assert_eq!(verify_line("FAIL", None, 2), "FAIL: see verify.json");
        r.uncovered_total = 2;
        assert!(verify_line("OK", Some(&r), 0).contains("do not cover all of it"));
        r.uncovered_total = 0;
        r.not_shown.push("a chain ends early".into());
        assert!(verify_line("OK", Some(&r), 0).contains("do not cover all of it"));
        r.mismatched_total = 1;
        assert!(verify_line("OK", Some(&r), 0).contains("not a proof"));
        assert_eq!(verify_line("FAIL", Some(&r), 0), "FAIL: see verify.json");
    }
}

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

/// The integrity of a case's inputs, when they hold digest files (`None` otherwise).
pub(super) fn of_case(
    ing: &crate::ingest::Ingest,
    inputs: &[std::path::PathBuf],
    max_file_size: u64,
) -> Result<Option<crate::integrity::IntegrityReport>> {
    if !ing.problems.iter().any(|p| p.reason == "digest") {
        return Ok(None);
    }
    let opts = crate::integrity::IntegrityOptions {
        inputs: inputs.to_vec(),
        public_keys: None,
        max_file_size,
    };
    Ok(Some(crate::integrity::validate(&opts)?))
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

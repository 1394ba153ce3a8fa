//! The input-problem summary of an ingest, printed to stderr after the read: failed and
//! skipped files, rejected records, evidence conflicts, time anomalies and truncated fields.
//!
//! stdout carries data only (JSON, tables, reports); what a human should notice about the
//! input goes to stderr from here.

use super::{Ingest, Severity};
use std::io::Write;

/// Prints the input problems of an ingest to stderr: every failed or skipped file, and the
/// rejected records (all of them with `verbose`, else the first few per file and a count).
pub fn report_problems(ingest: &Ingest, quiet: bool) {
    if quiet {
        return;
    }
    if ingest.problems.is_empty() {
        report_evidence_warnings(ingest, &mut std::io::stderr().lock());
        return;
    }
    let stderr = std::io::stderr();
    let mut w = stderr.lock();
    let mut rejected_shown = 0usize;
    let mut rejected_hidden = 0usize;
    for p in &ingest.problems {
        match p.severity {
            Severity::Failed => {
                let _ = writeln!(w, "trailhound: error: {p}");
            }
            Severity::Skipped => {
                let _ = writeln!(w, "trailhound: skipped: {p}");
            }
            Severity::Rejected => {
                if rejected_shown < 20 {
                    rejected_shown += 1;
                    let _ = writeln!(w, "trailhound: rejected: {p}");
                } else {
                    rejected_hidden += 1;
                }
            }
        }
    }
    report_evidence_warnings(ingest, &mut w);
    if rejected_hidden > 0 {
        let _ = writeln!(
            w,
            "trailhound: … and {rejected_hidden} more rejected records (see `trailhound scan --format json`)"
        );
    }
    let s = &ingest.stats;
    if ingest.incomplete() {
        let _ = writeln!(
            w,
            "trailhound: warning: {} of {} files could not be read and {} records were rejected; results may be incomplete",
            s.files_failed, s.files_seen, s.rejected
        );
    }
}

/// Evidence conflicts, time anomalies and truncated fields (SPEC §8): not unreadable input,
/// but what a responder must know before trusting the results.
///
/// Event ids, times and paths are the evidence's own text: each is one-lined (SPEC §9).
fn report_evidence_warnings(ingest: &Ingest, w: &mut impl Write) {
    use crate::escape::one_line;
    let s = &ingest.stats;
    for c in ingest.conflicts.iter().take(20) {
        let _ = writeln!(
            w,
            "trailhound: warning: evidence conflict: eventID {} has different content in {} (record {}) and {} (record {}); both are kept as events",
            one_line(&c.event_id),
            one_line(&c.first.path),
            c.first.record,
            one_line(&c.other.path),
            c.other.record
        );
    }
    if s.conflicts > 20 {
        let _ = writeln!(
            w,
            "trailhound: warning: … {} evidence conflicts in all (see `trailhound scan --format json`)",
            s.conflicts
        );
    }
    if s.time_anomalies > 0 {
        let first = ingest.time_anomalies.first();
        let _ = writeln!(
            w,
            "trailhound: warning: {} events are dated after the reference time {} (clock skew or forged records), first {} in {} (record {}); they never move a default cut-off",
            s.time_anomalies,
            crate::time::fmt_iso(ingest.reference_time),
            one_line(&first.map_or_else(|| "?".to_string(), |a| a.event_time.to_string())),
            one_line(first.map_or("?", |a| a.path.as_str())),
            first.map_or(0, |a| a.record),
        );
    }
    if s.truncated_fields > 0 {
        let _ = writeln!(
            w,
            "trailhound: warning: {} oversized values truncated at {} bytes (or {} entries) each, as what one record may add to reports is capped",
            s.truncated_fields,
            crate::ingest::raw::FIELD_CAP,
            crate::ingest::raw::LIST_CAP
        );
    }
}

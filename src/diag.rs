//! Diagnostics on stderr: the progress-bar factory and the input-problem summary.
//!
//! stdout carries data only (JSON, tables, reports); everything a human should notice about
//! the run goes to stderr from here. Bars are drawn only when asked for and stderr is a
//! terminal, so JSON output and pipes stay clean.

use crate::ingest::{Ingest, Severity};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};

/// A byte-counting progress bar on stderr, or a hidden one when `enabled` is false or stderr
/// is not a terminal.
pub fn progress_bar(enabled: bool, total_bytes: u64, msg: &'static str) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(msg);
    bar
}

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
fn report_evidence_warnings(ingest: &Ingest, w: &mut impl Write) {
    let s = &ingest.stats;
    for c in ingest.conflicts.iter().take(20) {
        let _ = writeln!(
            w,
            "trailhound: warning: evidence conflict: eventID {} has different content in {} (record {}) and {} (record {}); both are kept as events",
            c.event_id, c.first.path, c.first.record, c.other.path, c.other.record
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
            first.map_or("?", |a| a.event_time.as_str()),
            first.map_or("?", |a| a.path.as_str()),
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

/// Current and peak resident memory of this process, for `TRAILHOUND_TIMING=1` output
/// (Linux `/proc/self/status`; empty elsewhere).
pub fn memory_note() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    format!("RSS {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

/// With `TRAILHOUND_TIMING=1`, prints a phase mark with the time since start and the memory.
pub fn mark(phase: &str) {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    if std::env::var_os("TRAILHOUND_TIMING").is_some() {
        eprintln!("trailhound: timing: {phase} at {:?}; {}", start.elapsed(), memory_note());
    }
}

/// Gives the heap's free pages back to the system (glibc keeps freed memory of its per-thread
/// arenas mapped until told otherwise); a no-op elsewhere.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only walks the allocator's own free lists; no Rust state involved.
        unsafe {
            malloc_trim(0);
        }
    }
}

//! The terminal rendering of an [`IntegrityReport`] (`--format table`).

use super::{IntegrityReport, Verdict};
use crate::escape::one_line as l;

/// Terminal rendering: a summary line per check, then the findings.
///
/// Every path, digest field, reason and note is shown through [`crate::escape::one_line`]
/// (here `l`): file names and digest files are the attacker's to choose, and a newline in one
/// must not start a line of its own that reads like a verdict (SPEC §9).
pub fn render_table(r: &IntegrityReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let status = match r.verdict() {
        Verdict::Ok => "OK".to_string(),
        Verdict::Unverified => format!("UNVERIFIED ({})", r.unverified_because()),
        Verdict::Failed => "FAILED".to_string(),
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
        ("not shown either way", r.not_shown.len() as u64),
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
            "chain {} {} {} (home {}{}): {} digests, {} → {}{}",
            l(&c.prefix),
            l(&c.region),
            l(&c.trail),
            l(&c.home_region),
            c.bucket.as_deref().map(|b| format!(", bucket {}", l(b))).unwrap_or_default(),
            c.digests,
            l(c.first_start.as_deref().unwrap_or("?")),
            l(c.last_end.as_deref().unwrap_or("?")),
            if c.starts_at_origin { ", starts at the chain origin" } else { "" }
        );
    }
    for m in &r.mismatched {
        let _ =
            writeln!(s, "MISMATCHED {}: {} (listed in {})", l(&m.path), l(&m.reason), l(&m.digest));
    }
    more(&mut s, "MISMATCHED", r.mismatched_total, r.mismatched.len());
    for m in &r.missing {
        let _ = writeln!(s, "MISSING    {} (listed in {})", l(&m.path), l(&m.digest));
    }
    more(&mut s, "MISSING   ", r.missing_total, r.missing.len());
    for b in &r.chain_breaks {
        let _ = writeln!(
            s,
            "BROKEN     {} → {}: {}",
            l(b.previous.as_deref().unwrap_or("(none)")),
            l(&b.next),
            l(&b.reason)
        );
    }
    for b in &r.bad_signatures {
        let _ = writeln!(s, "SIGNATURE  {}: {}", l(&b.digest), l(&b.reason));
    }
    for b in &r.unverifiable_signatures {
        let _ = writeln!(s, "UNVERIFIED {}: {}", l(&b.digest), l(&b.reason));
    }
    // Files delivered after the last digest can be many: list the first few only.
    const MAX_PLAIN: usize = 20;
    let mut shown = 0;
    let mut plain = 0;
    for u in &r.uncovered {
        if u.in_digest_window {
            shown += 1;
            let _ = writeln!(s, "UNLISTED   {} (inside a digested hour)", l(&u.path));
        } else {
            plain += 1;
            if plain <= MAX_PLAIN {
                shown += 1;
                let _ = writeln!(s, "uncovered  {}", l(&u.path));
            }
        }
    }
    more(&mut s, "uncovered ", r.uncovered_total, shown);
    for g in &r.gaps {
        let what = if g.new_chain { "new chain" } else { "gap" };
        let _ = writeln!(
            s,
            "{what:<10} {} → {} ({} s, {} → {})",
            l(&g.from),
            l(&g.to),
            g.seconds,
            l(&g.after),
            l(&g.before)
        );
    }
    for n in &r.not_shown {
        let _ = writeln!(s, "not shown  {}", l(n));
    }
    for p in &r.problems {
        let _ =
            writeln!(s, "{:<10} {}: {} ({})", p.severity, l(&p.path), l(&p.detail), l(&p.reason));
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {}", l(n));
    }
    s
}

fn more(s: &mut String, label: &str, total: u64, shown: usize) {
    use std::fmt::Write as _;
    if total > shown as u64 {
        let _ = writeln!(s, "{label} ... and {} more ({total} in all)", total - shown as u64);
    }
}

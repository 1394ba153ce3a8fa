//! `trailhound scan`: inventory and ingest health of a trail.

use crate::ingest::{Ingest, Problem};
use crate::model::{is_long_term_key, is_temporary_key};
use crate::time::{fmt_or, Time};
use serde::Serialize;
use std::collections::BTreeMap;

/// File counters of a scan (`files` in the JSON).
#[derive(Debug, Serialize)]
pub struct FileCounts {
    pub seen: u64,
    pub read: u64,
    pub skipped: u64,
    pub failed: u64,
}

/// Distinct access keys by kind (`access_keys` in the JSON).
#[derive(Debug, Serialize)]
pub struct KeyCounts {
    /// `AKIA…` keys.
    pub long_term: u64,
    /// `ASIA…` keys.
    pub temporary: u64,
    /// Keys with another prefix (anonymised data, bearer tokens).
    pub other: u64,
}

/// Events per event source.
#[derive(Debug, Serialize)]
pub struct SourceCount {
    pub source: String,
    pub events: u64,
}

/// The `scan --format json` document.
#[derive(Debug, Serialize)]
pub struct ScanReport {
    pub files: FileCounts,
    pub records: u64,
    pub events: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Unique events outside `--since`/`--until`.
    pub filtered_out: u64,
    pub missing_event_id: u64,
    /// Records with the `eventID` of an earlier record but other content: evidence
    /// conflicts, each kept as an event (counted in `events`).
    pub conflicts: u64,
    /// Events dated after `reference_time`.
    pub time_anomalies: u64,
    /// The run's reference time: now, or `SOURCE_DATE_EPOCH`.
    pub reference_time: Time,
    /// Values truncated or left out because one record may add only so much to reports.
    pub truncated_fields: u64,
    /// Records salvaged from damaged (failed) files, counted in `records` too.
    pub salvaged_records: u64,
    pub first_event: Option<Time>,
    pub last_event: Option<Time>,
    /// Events per account (`recipientAccountId`, else the caller's account).
    pub accounts: BTreeMap<String, u64>,
    pub regions: BTreeMap<String, u64>,
    /// Distinct principals (ARN, else principal id).
    pub principals: u64,
    pub access_keys: KeyCounts,
    /// Top 20 event sources by event count.
    pub event_sources: Vec<SourceCount>,
    /// Files read per detected shape.
    pub shapes: BTreeMap<&'static str, u64>,
    pub bytes_read: u64,
    pub bytes_decompressed: u64,
    /// Problems per reason code.
    pub problems_by_reason: BTreeMap<&'static str, u64>,
    pub problems: Vec<Problem>,
    /// The first evidence conflicts (both files of each).
    pub conflict_list: Vec<crate::ingest::Conflict>,
    /// The first events dated after `reference_time` (file and record of each).
    pub time_anomaly_list: Vec<crate::ingest::TimeAnomaly>,
}

/// Summarizes an ingest.
pub fn scan_report(ing: &Ingest) -> ScanReport {
    let s = &ing.stats;
    let mut accounts: BTreeMap<String, u64> = BTreeMap::new();
    let mut regions: BTreeMap<String, u64> = BTreeMap::new();
    let mut sources: BTreeMap<&str, u64> = BTreeMap::new();
    // Counts indexed by interned string: no map lookups per event.
    let n = ing.strings.len() + 1;
    let slot = |i: u32| if i == crate::ingest::NONE { n - 1 } else { i as usize };
    let (mut acc_n, mut reg_n, mut src_n) = (vec![0u64; n], vec![0u64; n], vec![0u64; n]);
    let (mut is_principal, mut is_key) = (vec![false; n], vec![false; n]);
    for st in &ing.stubs {
        acc_n[slot(st.account)] += 1;
        reg_n[slot(st.region)] += 1;
        src_n[slot(st.source)] += 1;
        is_principal[slot(st.principal)] = true;
        is_key[slot(st.key)] = true;
    }
    let nonzero = |v: &[u64]| -> Vec<(u32, u64)> {
        v[..n - 1].iter().enumerate().filter(|(_, &c)| c > 0).map(|(i, &c)| (i as u32, c)).collect()
    };
    let per_account = nonzero(&acc_n);
    let per_region = nonzero(&reg_n);
    let per_source = nonzero(&src_n);
    let principals: Vec<u32> = (0..n - 1).filter(|&i| is_principal[i]).map(|i| i as u32).collect();
    let key_ids: Vec<u32> = (0..n - 1).filter(|&i| is_key[i]).map(|i| i as u32).collect();
    for (i, n) in per_account {
        if let Some(a) = ing.str(i) {
            accounts.insert(a.to_string(), n);
        }
    }
    for (i, n) in per_region {
        if let Some(r) = ing.str(i) {
            regions.insert(r.to_string(), n);
        }
    }
    for (i, n) in per_source {
        *sources.entry(ing.str(i).unwrap_or("")).or_default() += n;
    }
    // Only counted: a hash set, not a sorted one (at 1 GB of trail, ordering 114,000 keys by
    // their text was most of the report's time); a keyed hash, as the keys are the logs' text
    // (the one of `crate::ingest::StrMap`).
    let mut keys = std::collections::HashSet::with_capacity_and_hasher(
        key_ids.len(),
        foldhash::fast::RandomState::default(),
    );
    keys.extend(key_ids.iter().filter_map(|&k| ing.str(k)));
    let mut event_sources: Vec<SourceCount> = sources
        .into_iter()
        .map(|(s, n)| SourceCount { source: s.to_string(), events: n })
        .collect();
    event_sources.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.source.cmp(&b.source)));
    event_sources.truncate(20);
    let long_term = keys.iter().filter(|k| is_long_term_key(k)).count() as u64;
    let temporary = keys.iter().filter(|k| is_temporary_key(k)).count() as u64;
    let mut problems_by_reason: BTreeMap<&'static str, u64> = BTreeMap::new();
    for p in &ing.problems {
        *problems_by_reason.entry(p.reason).or_default() += 1 + p.more;
    }
    ScanReport {
        files: FileCounts {
            seen: s.files_seen,
            read: s.files_read,
            skipped: s.files_skipped,
            failed: s.files_failed,
        },
        records: s.records,
        events: s.events,
        duplicates: s.duplicates,
        rejected: s.rejected,
        filtered_out: s.filtered_out,
        missing_event_id: s.missing_event_id,
        conflicts: s.conflicts,
        time_anomalies: s.time_anomalies,
        reference_time: Time(ing.reference_time),
        truncated_fields: s.truncated_fields,
        salvaged_records: s.salvaged_records,
        first_event: Time::opt(ing.span().0),
        last_event: Time::opt(ing.span().1),
        accounts,
        regions,
        principals: principals.len() as u64,
        access_keys: KeyCounts {
            long_term,
            temporary,
            other: keys.len() as u64 - long_term - temporary,
        },
        event_sources,
        shapes: s.shapes.clone(),
        bytes_read: s.bytes_read,
        bytes_decompressed: s.bytes_decompressed,
        problems_by_reason,
        problems: ing.problems.clone(),
        conflict_list: ing.conflicts.clone(),
        time_anomaly_list: ing.time_anomalies.clone(),
    }
}

/// Renders the scan as a terminal table.
pub fn render_table(r: &ScanReport) -> String {
    use crate::escape::one_line;
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "files     {} seen, {} read, {} skipped, {} failed",
        r.files.seen, r.files.read, r.files.skipped, r.files.failed
    );
    let _ = writeln!(
        o,
        "records   {} read = {} events + {} duplicates + {} rejected + {} outside the time window",
        r.records, r.events, r.duplicates, r.rejected, r.filtered_out
    );
    if r.conflicts + r.time_anomalies + r.truncated_fields + r.salvaged_records > 0 {
        let _ = writeln!(
            o,
            "evidence  {} conflicts (same eventID, other content), {} events after {}, {} values truncated, {} records salvaged from damaged files",
            r.conflicts, r.time_anomalies, r.reference_time, r.truncated_fields, r.salvaged_records
        );
    }
    let _ =
        writeln!(o, "span      {} .. {}", fmt_or(r.first_event, "-"), fmt_or(r.last_event, "-"));
    let _ = writeln!(o, "bytes     {} read, {} decompressed", r.bytes_read, r.bytes_decompressed);
    let _ = writeln!(
        o,
        "principals {}   access keys: {} long-term, {} temporary, {} other",
        r.principals, r.access_keys.long_term, r.access_keys.temporary, r.access_keys.other
    );
    // Account ids, regions and event sources are log text: a forged record can hold any of
    // them, so each is shown on one line (SPEC §9), as every other table does.
    let _ = writeln!(o, "\naccounts");
    for (a, n) in &r.accounts {
        let _ = writeln!(o, "  {:<24} {n:>10}", one_line(a));
    }
    let _ = writeln!(o, "\nregions");
    for (a, n) in &r.regions {
        let _ = writeln!(o, "  {:<24} {n:>10}", one_line(a));
    }
    let _ = writeln!(o, "\ntop event sources");
    for s in &r.event_sources {
        let _ = writeln!(o, "  {:<40} {:>10}", one_line(&s.source), s.events);
    }
    if !r.problems_by_reason.is_empty() {
        let _ = writeln!(o, "\nproblems");
        for (reason, n) in &r.problems_by_reason {
            let _ = writeln!(o, "  {reason:<24} {n:>10}");
        }
    }
    o
}

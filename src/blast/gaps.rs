//! Holes in an account's evidence while a tainted session of it was alive: what it did there
//! is not in the trail, and a blast radius that shows nothing there reads as "did nothing".
//!
//! Two kinds are told apart, each a note naming the account, the time to collect from and
//! the sessions concerned (at most five by name):
//!
//! - **Before the logs begin.** A tainted session issued before its account's first event
//!   (its issue is known from another account's copy of the call): its first calls are not in
//!   the trail. The mirror of the unseen tail (SPEC §9), which is what a credential did after
//!   the logs end.
//! - **The region of global events.** IAM and the global STS endpoint record their calls in
//!   one region of each partition (`us-east-1`; `cn-north-1` in China; `us-gov-west-1` in
//!   GovCloud; F15). When an account's logs of that region are absent, or begin or end more
//!   than [`SLACK`] inside a tainted session's life while its other regions go on, what the
//!   session did in IAM (users, keys, policies) is not in the trail, unless the region fell
//!   quiet (which the note says: a trail cannot tell the two apart). For a tainted long-term
//!   key (the leaked one, one the attacker made), valid through the whole evidence, only an
//!   absent region is told.
//!
//! - **A region the credential worked in.** A call to a regional STS endpoint is recorded only
//!   in that region (F15): a role assumed there leaves its `AssumeRole` in that region's logs
//!   alone. When an account's logs of a region where a tainted credential (a session, or a
//!   long-term key) made calls end more than [`SLACK`] before its life (as the account's other
//!   logs cover it) is over, while it was still working there (its last call there within
//!   [`SLACK`] of their end), something untainted was logged there up to then, and the
//!   silence at the end is more than three times the region's longest before it, what it did
//!   there since is not in the trail, unless it stopped working there (a review found a
//!   session's region cut short with no word, while the same cut in the region of global
//!   events was told). For a long-term key, the region of global events is looked at so too.
//!
//! Holes in the middle of a region's logs are not looked for: a quiet region has minutes or
//! hours without a file, which no offline check tells from a file left out.

use crate::chain::{NodeKind, SessionGraph};
use crate::ingest::Ingest;
use crate::time::fmt_iso;
use std::collections::{BTreeMap, BTreeSet};

/// The first and last event of something (unix seconds).
type Span = (i64, i64);

/// What one pass over the table says of an account's logs of one region.
struct RegionLog {
    span: Span,
    /// The longest silence between two of its events.
    gap: i64,
    /// The last call of anything untainted there, by a caller of its own (not a service's).
    others: Option<i64>,
}

/// How far inside a session's life a region's logs must begin or end to be a hole (a log
/// file holds up to about five minutes of events, and a quiet region writes none).
const SLACK: i64 = 900;

/// The region where the partition of `arn` records IAM and global STS calls.
fn global_region(arn: Option<&str>) -> Option<&'static str> {
    let partition = arn.and_then(|a| a.split(':').nth(1)).unwrap_or("aws");
    match partition {
        "aws" => Some("us-east-1"),
        "aws-cn" => Some("cn-north-1"),
        "aws-us-gov" => Some("us-gov-west-1"),
        // The isolated and sovereign partitions (their IAM endpoints' signing regions, as the
        // AWS SDKs' endpoint data give them): a review found them without any note.
        "aws-iso" => Some("us-iso-east-1"),
        "aws-iso-b" => Some("us-isob-east-1"),
        "aws-iso-e" => Some("eu-isoe-west-1"),
        "aws-iso-f" => Some("us-isof-south-1"),
        "aws-eusc" => Some("eusc-de-east-1"),
        _ => None,
    }
}

/// Adds to `notes` the holes in the evidence of the accounts of the tainted sessions `nodes`
/// (module docs).
pub(super) fn evidence_gaps(
    ing: &Ingest,
    g: &SessionGraph,
    nodes: &BTreeSet<usize>,
    notes: &mut Vec<String>,
) {
    let spans: BTreeMap<&str, Span> = ing
        .account_spans()
        .iter()
        .filter(|a| a.events > 0)
        .filter_map(|a| Some((ing.str(a.account)?, (a.first, a.last))))
        .collect();
    // Each tainted session with its account, its global region and its life.
    let mut lives = Vec::new();
    for &n in nodes {
        let node = &g.nodes[n];
        let Some(acct) = node.account_id.as_deref() else { continue };
        let Some(&span) = spans.get(acct) else { continue };
        let region = global_region(node.principal_arn.as_deref());
        match node.kind {
            NodeKind::Session => {
                let Some(start) = node.issued_at else { continue };
                let end = crate::chain::session_expiry(g, n);
                lives.push((n, acct, region, start, end, span, false));
            }
            // A long-term key (the leaked one, one the attacker made) lives through the whole
            // evidence: only an absent region of global events is told for it.
            NodeKind::LongTermKey => {
                lives.push((n, acct, region, span.0, Some(span.1), span, true))
            }
            _ => {}
        }
    }
    if lives.is_empty() {
        return;
    }
    // One pass over the table's events of the accounts of `lives` (an index, not a hash, for
    // every other event), time anomalies left out:
    // - of each (account, region), its first and last event, its longest silence (the table is
    //   in time order: how quiet the region is on its own), and the last call of anything
    //   untainted by a caller of its own (what shows the region's logs going on while a
    //   credential worked there): a service's call (`invokedBy`), which a tainted call may
    //   have set off, shows nothing of the region's own traffic (a review: an attacker's
    //   launch in an unused region, followed by the service's calls, read as a busy region);
    // - of each tainted credential, the regions it made calls in, in its own account's logs (a
    //   copy in another account's says nothing of this one's regions), with its last call
    //   there. Not over query results: they hold the tainted credentials' events and each
    //   account's first and last, not where each region's logs end.
    let query_results = ing.stats.shapes.contains_key("query_result");
    let mut of_account = vec![false; ing.strings.len()];
    for span in ing.account_spans() {
        let a = ing.str(span.account);
        of_account[span.account as usize] = lives.iter().any(|l| Some(l.1) == a);
    }
    let mut watched = vec![false; g.nodes.len()];
    for l in lives.iter().filter(|_| !query_results) {
        watched[l.0] = true;
    }
    let mut logs: rustc_hash::FxHashMap<(u32, u32), RegionLog> = Default::default();
    let mut worked: BTreeMap<usize, BTreeMap<u32, i64>> = BTreeMap::new();
    for (i, s) in ing.stubs.iter().enumerate() {
        if !of_account.get(s.account as usize).copied().unwrap_or(false)
            || ing.is_time_anomaly(s.time)
        {
            continue;
        }
        let log = logs.entry((s.account, s.region)).or_insert(RegionLog {
            span: (s.time, s.time),
            gap: 0,
            others: None,
        });
        log.gap = log.gap.max(s.time - log.span.1);
        log.span = (log.span.0.min(s.time), log.span.1.max(s.time));
        if query_results {
            continue;
        }
        let mine = |n: usize| g.nodes[n].account_id.as_deref() == ing.str(s.account);
        match g.node_of_event(i) {
            Some(n) if watched[n] && mine(n) => {
                let last = worked.entry(n).or_default().entry(s.region).or_insert(s.time);
                *last = (*last).max(s.time);
            }
            Some(n) if watched[n] => {}
            Some(_) if s.flags & crate::ingest::INVOKED_BY == 0 => {
                log.others = Some(log.others.map_or(s.time, |t| t.max(s.time)));
            }
            _ => {}
        }
    }
    let logs: BTreeMap<(&str, &str), RegionLog> = logs
        .into_iter()
        .filter_map(|((a, r), log)| Some(((ing.str(a)?, ing.str(r)?), log)))
        .collect();
    let worked: BTreeMap<usize, BTreeMap<&str, i64>> = worked
        .into_iter()
        .map(|(n, rs)| (n, rs.into_iter().filter_map(|(r, t)| Some((ing.str(r)?, t))).collect()))
        .collect();
    let mut found: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for (n, acct, region, start, end, (first, last), key) in lives {
        let id = g.nodes[n].id.as_str();
        if !key && start + SLACK < first {
            let what = format!(
                "logs of account {acct} begin at {}, after tainted session(s) of it were issued: what they did before is not in the trail; collect its logs from {}",
                fmt_iso(first),
                fmt_iso(start)
            );
            found.entry((acct.to_string(), what)).or_default().push(id);
        }
        let Some(end) = end else { continue };
        // The part of the session's life the account's logs cover.
        let (w0, w1) = (start.max(first), end.min(last));
        // The regions it was still working in when their logs end (its last call there
        // within [`SLACK`] of their end), other than that of global events, while it lived on
        // and the account's other logs went on, where something untainted was logged too up
        // to then (a region nobody else uses ends with the credential's own last call there:
        // a review found a sweep of one call in each region named every region). A credential
        // that stopped calling in a region well before the region's logs end is not told:
        // what it may have done there later is no more hidden than what it may have done in a
        // region it never used.
        // The region of global events is told by its own rule below for a session; for a
        // long-term key that rule tells only an absent region, so it is looked at here too.
        for (&r, &worked_until) in
            worked.get(&n).into_iter().flatten().filter(|(&r, _)| key || Some(r) != region)
        {
            let Some(log) = logs.get(&(acct, r)) else { continue };
            let rl = log.span.1;
            let busy = log.others.is_some_and(|t| t + SLACK >= worked_until);
            // Quieter at its end than it ever was before: three times its longest silence (a
            // review found regions of a dozen events in two hours, silent up to 24 and 47
            // minutes at a time, named for 26 and 52 minutes without an event at their end).
            let silence = w1 - rl;
            let unusual = silence > 3 * log.gap;
            if silence > SLACK && unusual && worked_until + SLACK >= rl && busy {
                let what = format!(
                    "logs of account {acct} in {r}, where tainted credential(s) of it made calls, end at {} while its other logs go on to {} and those credentials were still valid: unless they stopped working there, what they did in {r} since is not in the trail (a role assumed through that region's STS endpoint is recorded only there, F15); check that every {r} log file of the account from {} was given",
                    fmt_iso(rl),
                    fmt_iso(last),
                    fmt_iso(rl)
                );
                found.entry((acct.to_string(), what)).or_default().push(id);
            }
        }
        let Some(region) = region else { continue };
        if !key && w1 - w0 <= SLACK {
            continue;
        }
        let what = match logs.get(&(acct, region)).map(|log| &log.span) {
            None if !key => format!(
                "logs of account {acct} hold no {region} events, where IAM and global STS calls are recorded (F15), while tainted session(s) of it were alive: what they did in IAM is not in the trail; collect the account's {region} logs"
            ),
            None if key => format!(
                "logs of account {acct} hold no {region} events, where IAM and global STS calls are recorded (F15), while tainted key(s) of it were valid: what they did in IAM is not in the trail; collect the account's {region} logs"
            ),
            Some(&(_, rl)) if !key && rl + SLACK < w1 => format!(
                "logs of account {acct} in {region}, where IAM and global STS calls are recorded (F15), end at {} while its other logs go on to {} and tainted session(s) of it were alive: unless the region fell quiet, what they did in IAM since is not in the trail; check that every {region} log file of the account from {} was given",
                fmt_iso(rl),
                fmt_iso(last),
                fmt_iso(rl)
            ),
            Some(&(rf, _)) if !key && rf > w0 + SLACK => format!(
                "logs of account {acct} in {region}, where IAM and global STS calls are recorded (F15), begin at {} while its other logs begin at {} and tainted session(s) of it were alive: unless the region was quiet, what they did in IAM before is not in the trail; check that every {region} log file of the account from {} was given",
                fmt_iso(rf),
                fmt_iso(first),
                fmt_iso(w0)
            ),
            _ => continue,
        };
        found.entry((acct.to_string(), what)).or_default().push(id);
    }
    for ((_, what), mut ids) in found {
        ids.sort_unstable();
        ids.dedup();
        let more =
            if ids.len() > 5 { format!(" and {} more", ids.len() - 5) } else { String::new() };
        let shown: Vec<&str> = ids.into_iter().take(5).collect();
        notes.push(format!("{what} ({}{more})", shown.join(", ")));
    }
}

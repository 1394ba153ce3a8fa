//! The digests as chains: identical copies merged, their listings added up, moved digests
//! found, each chain walked in time order (breaks, gaps, restarts) and the local log files
//! that no digest lists.

use super::digest::{short, PrevRef};
use super::logs::LogIndex;
use super::walk::{awslogs_suffix, log_location, match_key, ChainKey};
use super::{error, hex, parse_sha256, DigestEntry, LIST_LIMIT};
use super::{ChainBreak, ChainSummary, Gap, IntegrityProblem, IntegrityReport, Uncovered};
use crate::time::{fmt_iso, parse_iso};
use std::collections::{BTreeMap, HashMap};

/// Keeps one of each set of identical digests (by content: the name that counts is inside
/// it), preferring a copy found where it belongs; orders them by (chain, end time, path).
pub(super) fn dedupe_digests(digests: Vec<DigestEntry>) -> (Vec<DigestEntry>, u64) {
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
pub(super) fn merge_listings(
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
pub(super) fn check_moved(digests: &[DigestEntry], problems: &mut Vec<IntegrityProblem>) {
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

/// How far (seconds) a digest may start after its predecessor's end without a gap between
/// them (`gaps`).
const GAP_SLACK: i64 = 60;

/// What the chain walk hands to the later checks.
pub(super) struct ChainFacts {
    /// For a digest whose successor links to it correctly (hash and name): the successor's
    /// `previousDigestSignature` (if any) and the successor's path.
    pub(super) successor_sig: HashMap<usize, (Option<String>, String)>,
    /// Covered (start, end) windows per (prefix, region): each an unbroken stretch of one
    /// chain ([`Stretches`]).
    pub(super) windows: HashMap<(String, String), Vec<(i64, i64)>>,
}

/// One chain's digest windows, merged into unbroken stretches: a digest extends the stretch
/// of the one before it when it links to it correctly and starts no later than
/// [`GAP_SLACK`] after its end (no gap, no restart, no break between them). A log file whose
/// minute straddles the end of one hourly window and the start of the next (`…T1100Z…`
/// against windows ending and starting at 11:00:37) fits neither window, but lies inside the
/// stretch: CloudTrail would have listed it in one of them.
#[derive(Default)]
struct Stretches {
    done: Vec<(i64, i64)>,
    open: Option<(i64, i64)>,
}

impl Stretches {
    /// Adds the next digest's window (in chain order); `linked`: it links to the one before.
    fn add(&mut self, window: Option<(i64, i64)>, linked: bool) {
        match (self.open.as_mut(), window) {
            (Some(o), Some((s, e))) if linked && s <= o.1 + GAP_SLACK => {
                o.0 = o.0.min(s);
                o.1 = o.1.max(e);
            }
            _ => {
                let ended = std::mem::replace(&mut self.open, window);
                self.done.extend(ended);
            }
        }
    }

    fn finish(mut self) -> Vec<(i64, i64)> {
        self.done.extend(self.open);
        self.done
    }
}

/// True when the previous fields `p` of digest `cur` name `cur` itself.
fn names_itself(cur: &DigestEntry, p: &PrevRef) -> bool {
    let by_name =
        p.object.as_deref().and_then(match_key).is_some_and(|k| Some(k) == cur.key.as_deref());
    let by_hash = p.hash.as_deref().is_some_and(|h| parse_sha256(h) == Ok(cur.sha256));
    by_name || by_hash
}

/// Walks each chain in time order (`chain_breaks`, `gaps`, `chains`).
pub(super) fn check_chains(digests: &[DigestEntry], rep: &mut IntegrityReport) -> ChainFacts {
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
            bucket: {
                let mut n: BTreeMap<&str, usize> = BTreeMap::new();
                for &i in idx.iter() {
                    if let Some(b) = digests[i].doc.bucket.as_deref() {
                        *n.entry(b).or_default() += 1;
                    }
                }
                n.into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                    .map(|(b, _)| b.to_string())
            },
            digests: idx.len() as u64,
            first_start: None,
            last_end: None,
            starts_at_origin: false,
        };
        let starts: Vec<i64> = idx.iter().filter_map(|&i| digests[i].start).collect();
        summary.first_start = starts.iter().min().map(|&t| fmt_iso(t));
        summary.last_end = idx.iter().filter_map(|&i| digests[i].end).max().map(fmt_iso);
        let mut stretches = Stretches::default();
        for (pos, &i) in idx.iter().enumerate() {
            let cur = &digests[i];
            let window = cur.start.zip(cur.end);
            let prev_idx = pos.checked_sub(1).map(|p| idx[p]);
            let prev = prev_idx.map(|p| &digests[p]);
            let link = cur.doc.prev.as_ref();
            let expected_previous = link
                .and_then(|p| p.object.as_deref())
                .map(|o| awslogs_suffix(o).unwrap_or(o).to_string());
            if link.is_some_and(|p| names_itself(cur, p)) {
                stretches.add(window, false);
                rep.chain_breaks.push(ChainBreak {
                    previous: prev.map(|pr| pr.shown.clone()),
                    next: cur.shown.clone(),
                    expected_previous,
                    reason: "the digest names itself as its predecessor".into(),
                });
                continue;
            }
            let mut linked = false;
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
                            linked = true;
                        }
                        Some(reason) => rep.chain_breaks.push(ChainBreak {
                            previous: Some(pr.shown.clone()),
                            next: cur.shown.clone(),
                            expected_previous,
                            reason,
                        }),
                    }
                    if let (Some(a), Some(b)) = (pr.end, cur.start) {
                        if b > a + GAP_SLACK {
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
            stretches.add(window, linked);
        }
        let key = (ck.prefix.clone(), ck.region.clone());
        windows.entry(key).or_default().extend(stretches.finish());
        rep.chains.push(summary);
    }

    ChainFacts { successor_sig, windows }
}

/// Lists local log files no digest lists, flagging those inside a digested hour (inside an
/// unbroken stretch of one chain's digests, [`Stretches`]); names the first [`LIST_LIMIT`]
/// (those inside a digested hour first) and counts all.
pub(super) fn find_uncovered(
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
        let in_window = log_location(&l.located).is_some_and(|(prefix, region, t)| {
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

/// How far a chain may end before the newest chain of its trail and account (or start after
/// its oldest): CloudTrail delivers a digest for every hour of every region of a trail, events
/// or not, a little after the hour, so one region's newest digest may be delivered while
/// another's is not yet (an hour). Two hours are not that: with a tolerance of two hours, the
/// newest two hours of one region could be deleted with their log files and the report still
/// said ok.
const EARLY: i64 = 5400;

/// Fills [`IntegrityReport::not_shown`] from the chains and gaps found, and says in a note
/// what no offline check can show: the newest digests of every chain may have been deleted
/// with their log files.
pub(super) fn not_shown(rep: &mut IntegrityReport) {
    // One trail: its account's prefix, or, for an organization trail (`AWSLogs/<o-id>/<acct>`),
    // the organization's, whose member accounts' chains end together too.
    let trail_of = |prefix: &str| -> String {
        match prefix.rsplit_once('/') {
            Some((org, _)) if prefix.split('/').count() == 3 => org.to_string(),
            _ => prefix.to_string(),
        }
    };
    let mut newest: BTreeMap<(String, &str, &str), i64> = BTreeMap::new();
    let ends: Vec<Option<i64>> =
        rep.chains.iter().map(|c| c.last_end.as_deref().and_then(parse_iso)).collect();
    for (c, end) in rep.chains.iter().zip(&ends) {
        if let Some(e) = *end {
            let n = newest.entry((trail_of(&c.prefix), &c.trail, &c.home_region)).or_insert(e);
            *n = (*n).max(e);
        }
    }
    let mut found = Vec::new();
    // The same at the other end: a chain whose oldest digest names a predecessor that is not
    // among the inputs, starting hours after the other chains of its trail (an export that
    // starts mid-chain starts every chain about then): its oldest digests and their log files
    // may have been deleted. Before, only a note said "the export may start mid-chain", and a
    // region whose first hours of the incident were deleted passed as ok.
    let starts: Vec<Option<i64>> =
        rep.chains.iter().map(|c| c.first_start.as_deref().and_then(parse_iso)).collect();
    let mut oldest: BTreeMap<(String, &str, &str), i64> = BTreeMap::new();
    for (c, start) in rep.chains.iter().zip(&starts) {
        if let Some(s) = *start {
            let o = oldest.entry((trail_of(&c.prefix), &c.trail, &c.home_region)).or_insert(s);
            *o = (*o).min(s);
        }
    }
    for (c, start) in rep.chains.iter().zip(&starts) {
        let first = oldest.get(&(trail_of(&c.prefix), c.trail.as_str(), c.home_region.as_str()));
        if let (false, Some(s), Some(&first)) = (c.starts_at_origin, *start, first) {
            if s - first > EARLY {
                found.push(format!(
                    "{} {} (trail {}): its digests start at {}, {} h after the oldest digest of the same trail ({}), and its oldest digest names a predecessor that is not among the inputs: the oldest digests of this region and their log files may have been deleted",
                    c.prefix, c.region, c.trail, fmt_iso(s), (s - first) / 3600, fmt_iso(first)
                ));
            }
        }
    }
    for (c, end) in rep.chains.iter().zip(&ends) {
        let top = newest.get(&(trail_of(&c.prefix), c.trail.as_str(), c.home_region.as_str()));
        if let (Some(e), Some(&top)) = (*end, top) {
            if top - e > EARLY {
                found.push(format!(
                    "{} {} (trail {}): its digests end at {}, {} h before the newest digest of the same trail ({}), though CloudTrail writes one every hour: the newest digests of this region and their log files may have been deleted",
                    c.prefix, c.region, c.trail, fmt_iso(e), (top - e) / 3600, fmt_iso(top)
                ));
            }
        }
    }
    for g in rep.gaps.iter().filter(|g| g.seconds > 0) {
        found.push(format!(
            "{} s without digests from {} to {} (between {} and {}){}: logging stopped then, or digests and their log files were deleted",
            g.seconds,
            g.from,
            g.to,
            g.after,
            g.before,
            if g.new_chain { ", where the chain starts again" } else { "" }
        ));
    }
    rep.not_shown = found;
    if let Some(last) = ends.iter().flatten().max() {
        rep.notes.push(format!(
            "nothing vouches for what follows the newest digest of each chain (the latest ends at {}): its digests and log files could be deleted without a trace here; compare with the trail's LatestDigestDeliveryTime (aws cloudtrail get-trail-status)",
            fmt_iso(*last)
        ));
    }
}

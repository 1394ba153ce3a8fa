//! The first pass's record sink: a [`Stub`] per record, the issuing calls in full and each
//! credential's first facts, into one rayon worker's accumulator ([`ThreadAcc`]).

use super::intern::{FxMap, Strings};
use super::issuing::{for_graph, is_detail, signed_in, IssuingCall, Outcome, CONSOLE_LOGIN};
use super::problem::push_reject;
use super::record_digest::{content_digest, event_digest};
use super::table::{id128, stand_in, CredFacts, Keyed};
use super::{parse, raw, RecordReject, RejectReason, Stub, FAILED, HAS_ID, INVOKED_BY, SIGN_IN};
use super::{DETAIL, NONE, NO_TIME};
use crate::model::Event;

/// What happened to one file.
#[derive(Debug)]
pub(super) enum FileStatus {
    Read(parse::Shape),
    Skipped(&'static str, String),
    Failed(&'static str, String),
}

/// What happened to one file, kept for the merge (the records went into a [`ThreadAcc`]).
#[derive(Debug)]
pub(super) struct FileOutcome {
    pub(super) file: u32,
    pub(super) status: FileStatus,
    pub(super) bytes_read: u64,
    pub(super) bytes_decompressed: u64,
    pub(super) records: u64,
    pub(super) rejects: Vec<RecordReject>,
    /// the oversized values ([`content_digest`]) of its records.
    pub(super) truncated: u64,
    /// SHA-256 of the file as stored, when
    /// [`IngestOptions::fingerprint`](super::IngestOptions::fingerprint) and it was read whole.
    pub(super) sha256: Option<String>,
}

/// One rayon worker's share of the first pass: strings interned once per worker (not per
/// file), stubs, issuing events and credential facts. Merged once, at the end.
#[derive(Debug, Default)]
pub(super) struct ThreadAcc {
    /// [`IngestOptions::inventory_only`](super::IngestOptions::inventory_only).
    pub(super) inventory_only: bool,
    /// [`IngestOptions::fingerprint`](super::IngestOptions::fingerprint).
    pub(super) fingerprint: bool,
    pub(super) strings: Strings,
    pub(super) stubs: Vec<Keyed>,
    pub(super) details: Vec<IssuingCall>,
    /// First call ([`CallAt`]: earliest, then lowest eventID, file, record) of each credential.
    pub(super) creds: FirstFacts,
    /// The entries of `creds` the file being read replaced, as they were: put back if the
    /// file fails as a whole (`read.rs`), which drops what it said.
    pub(super) replaced: Vec<((u32, i64), (CallAt, CredFacts))>,
    pub(super) files: Vec<FileOutcome>,
    /// Which records to keep in full ([`super::watch`]), when there are seed keys
    /// ([`IngestOptions::seed_keys`](super::IngestOptions::seed_keys)).
    pub(super) watch: Option<super::watch::Watch>,
    /// The events signed by a seed key, or guessed to be tainted, in full ([`super::kept`]).
    pub(super) kept: super::kept::KeptLog,
    /// Every record's normalized event, encoded, when the file goes to the cache.
    pub(super) events: Option<super::cache::EventLog>,
    /// Where the events of the files read through the cache are.
    pub(super) cached: Vec<(u32, super::cache::CachedEvents)>,
    /// The last record's account, region and event source ([`Strings::opt_recent`]).
    pub(super) recent: Recent,
}

/// String numbers of the fields that mostly repeat from record to record.
#[derive(Debug)]
pub(super) struct Recent {
    account: u32,
    region: u32,
    source: u32,
}

impl Default for Recent {
    fn default() -> Recent {
        Recent { account: NONE, region: NONE, source: NONE }
    }
}

/// Each credential `(key, creationDate)` with where its first call is ([`CallAt`]) and what
/// that call said.
pub(super) type FirstFacts = FxMap<(u32, i64), (CallAt, CredFacts)>;

/// When and where a call is: `(eventTime, eventID, file, record)` (the id as
/// [`super::table::id128`] numbers it). A credential's first call is its earliest, of those in
/// one second the one with the lowest id, the place breaking a tie only between copies of one
/// event: the first in storage order gave a session the role (or the root issuer) a later
/// call's `sessionIssuer` named when that record came first in its file, and the same records
/// in another order another plan (a review); so did two calls of one second in two files.
pub(crate) type CallAt = (i64, u128, u32, u32);

/// The id of a call in its [`CallAt`]: its `eventID`'s number, or 0 for a record without one
/// (whose stand-in id names its place, which file and record already say, in this run's
/// numbering: a cached or extended run numbers the files otherwise).
pub(crate) fn call_id(flags: u8, id: u128) -> u128 {
    if flags & HAS_ID != 0 {
        id
    } else {
        0
    }
}

/// Where a credential's first call is: `((key, created), (time, id, file, record))`.
pub(crate) type FirstCall = ((u32, i64), CallAt);

/// Each credential's first facts without where they were said, and, when `keep`, where each
/// first call is (sorted by credential), for [`super::Growable::first_calls`].
pub(super) fn split_first(creds: FirstFacts, keep: bool) -> (super::Creds, Vec<FirstCall>) {
    let mut first_calls: Vec<FirstCall> = Vec::new();
    if keep {
        first_calls = creds.iter().map(|(k, (o, _))| (*k, *o)).collect();
        first_calls.sort_unstable();
    }
    (creds.into_iter().map(|(k, (_, v))| (k, v)).collect(), first_calls)
}

/// Records what a credential's call at `here` said unless an earlier call (in [`CallAt`]
/// order) is already recorded: each credential keeps its first call's facts.
pub(super) fn keep_first(creds: &mut FirstFacts, key: (u32, i64), here: CallAt, facts: CredFacts) {
    match creds.get(&key) {
        Some((o, _)) if *o <= here => {}
        _ => {
            creds.insert(key, (here, facts));
        }
    }
}

impl ThreadAcc {
    /// Records what the call at `here` of credential `key` says (`facts`, asked only then)
    /// unless an earlier call of it is recorded ([`keep_first`]); what it replaces is kept in
    /// [`ThreadAcc::replaced`].
    pub(super) fn first_call(
        &mut self,
        key: (u32, i64),
        here: CallAt,
        facts: impl FnOnce(&mut Strings) -> CredFacts,
    ) {
        if self.creds.get(&key).is_some_and(|(o, _)| *o <= here) {
            return;
        }
        let facts = facts(&mut self.strings);
        match self.creds.insert(key, (here, facts)) {
            // One the same file said is dropped with it, never put back (a review: a Parquet
            // file in descending time order that failed half-way put back its own rows).
            Some(old) if old.0 .2 != here.2 => self.replaced.push((key, old)),
            _ => {}
        }
    }

    /// Drops what file `file` (the one being read) said of the credentials, and puts back
    /// what it replaced, as it was before the file.
    pub(super) fn forget_file(&mut self, file: u32) {
        self.creds.retain(|_, (o, _)| o.2 != file);
        // The first copy logged of a key is what it was before the file: put back last.
        for (key, old) in self.replaced.drain(..).rev() {
            self.creds.insert(key, old);
        }
    }
}

/// First pass over one file: a [`Stub`] per record, the full event for issuing calls, and
/// what each credential's first call says about its principal, into the worker's [`ThreadAcc`].
pub(super) struct FileScan<'a> {
    pub(super) file: u32,
    pub(super) acc: &'a mut ThreadAcc,
    pub(super) records: u64,
    pub(super) kept: u64,
    pub(super) rejects: Vec<RecordReject>,
    /// the oversized values ([`content_digest`]) summed over the file's records.
    pub(super) truncated: u64,
}

impl FileScan<'_> {
    /// The same as [`parse::RecordSink::record`], for an event read from exported Parquet.
    pub(super) fn event(&mut self, e: Event) {
        let idx = e.origin.record;
        self.records += 1;
        self.kept += 1;
        let mut flags = 0u8;
        let id = if e.id.starts_with("noid:") {
            stand_in(self.file, idx)
        } else {
            flags |= HAS_ID;
            id128(&e.id)
        };
        if e.failed() {
            flags |= FAILED;
        }
        if e.identity.invoked_by.is_some() {
            flags |= INVOKED_BY;
        }
        let outcome = Outcome {
            error_code: e.error_code.as_deref(),
            error_message: e.error_message.as_deref(),
            result: e.response.console_login.as_deref(),
        };
        let who = (e.identity.kind.as_deref(), e.identity.arn.as_deref());
        if signed_in(&e.name, &e.source, who, outcome) {
            flags |= SIGN_IN;
        }
        let created = e.identity.creation_date.unwrap_or(NO_TIME);
        let acc = &mut *self.acc;
        if let Some(log) = &mut acc.events {
            // A row exported without an eventID was named by its place (`noid:<file>:<row>`,
            // the Parquet reader's `named`): kept without it, as for a JSON record, so that a
            // later run names it by the file's number in that run, not in this one.
            log.push(idx, &e, flags & HAS_ID != 0);
        }
        let key = acc.strings.opt(e.identity.access_key_id.as_deref());
        if key != NONE && !acc.inventory_only {
            let here = (e.time, call_id(flags, id), self.file, idx);
            acc.first_call((key, created), here, |s| CredFacts::of_identity(&e.identity, s));
        }
        let principal = e.identity.arn.as_deref().or(e.identity.principal_id.as_deref());
        let stub = Stub {
            time: e.time,
            created,
            file: self.file,
            record: idx,
            key,
            ip: acc.strings.opt(e.source_ip.as_deref()),
            account: acc.strings.opt(e.account()),
            region: acc.strings.opt(e.region.as_deref()),
            source: acc.strings.opt(Some(e.source.as_str()).filter(|s| !s.is_empty())),
            principal: acc.strings.opt(principal),
            flags: if !acc.inventory_only && is_detail(&e.name, &e.source) {
                flags | DETAIL
            } else {
                flags
            },
        };
        acc.stubs.push(Keyed { id, digest: event_digest(&e).max(1), s: stub });
        if stub.flags & DETAIL != 0 {
            acc.details.push(for_graph(e));
        }
    }
}

impl parse::RecordSink for FileScan<'_> {
    fn record(&mut self, r: Option<&raw::RawRecord<'_>>, idx: u32) {
        self.records += 1;
        let Some(r) = r else {
            let detail = "array element is not an object".into();
            let reason = RejectReason::NotARecord;
            push_reject(&mut self.rejects, RecordReject { record: idx, reason, detail, more: 0 });
            return;
        };
        let time = match parse::check(r, idx) {
            Ok(t) => t,
            Err(rej) => {
                push_reject(&mut self.rejects, rej);
                return;
            }
        };
        self.kept += 1;
        let (digest, oversized) = content_digest(r, time);
        self.truncated += u64::from(oversized);
        let ui = r.user_identity.get();
        let mut flags = 0u8;
        let id = match r.event_id.non_empty() {
            Some(s) => {
                flags |= HAS_ID;
                id128(s)
            }
            // Unique by construction: never deduplicated.
            None => stand_in(self.file, idx),
        };
        if r.error_code.non_empty().is_some() {
            flags |= FAILED;
        }
        if ui.and_then(|u| u.invoked_by.non_empty()).is_some() {
            flags |= INVOKED_BY;
        }
        if r.event_name.get() == Some(CONSOLE_LOGIN) {
            let outcome = Outcome {
                error_code: r.error_code.non_empty(),
                error_message: r.error_message.non_empty(),
                result: r.response_elements.get().and_then(|p| p.console_login.non_empty()),
            };
            let who = (ui.and_then(|u| u.kind.get()), ui.and_then(|u| u.arn.get()));
            if signed_in(CONSOLE_LOGIN, r.event_source.get().unwrap_or(""), who, outcome) {
                flags |= SIGN_IN;
            }
        }
        let created = parse::creation_date_of(r).unwrap_or(NO_TIME);
        let key_str = ui.and_then(|u| u.access_key_id.capped());
        let acc = &mut *self.acc;
        let key = acc.strings.opt(key_str.as_deref());
        let arn = ui.and_then(|u| u.arn.capped());
        let principal = match &arn {
            Some(a) => acc.strings.intern(a),
            None => acc.strings.opt(ui.and_then(|u| u.principal_id.capped()).as_deref()),
        };
        let arn_id = if arn.is_some() { principal } else { NONE };
        if let Some(w) = &mut acc.watch {
            let ids = (key, arn_id);
            w.keep(&mut acc.kept, key_str.as_deref(), arn.as_deref(), ids, r, self.file, idx);
        }
        if key != NONE && !acc.inventory_only {
            let here = (time, call_id(flags, id), self.file, idx);
            acc.first_call((key, created), here, |s| CredFacts::of(r, arn_id, s));
        }
        let detail = !acc.inventory_only
            && is_detail(r.event_name.get().unwrap_or(""), r.event_source.get().unwrap_or(""));
        if detail || acc.events.is_some() {
            if let Ok(e) = parse::normalize(r, self.file, idx) {
                if let Some(log) = &mut acc.events {
                    log.push(idx, &e, flags & HAS_ID != 0);
                }
                if detail {
                    acc.details.push(for_graph(e));
                    flags |= DETAIL;
                }
            }
        }
        let account =
            r.recipient_account_id.capped().or_else(|| ui.and_then(|u| u.account_id.capped()));
        let stub = Stub {
            time,
            created,
            file: self.file,
            record: idx,
            key,
            ip: acc.strings.opt(r.source_ip_address.capped().as_deref()),
            account: acc.strings.opt_recent(account.as_deref(), &mut acc.recent.account),
            region: acc
                .strings
                .opt_recent(r.aws_region.capped().as_deref(), &mut acc.recent.region),
            source: acc
                .strings
                .opt_recent(r.event_source.capped().as_deref(), &mut acc.recent.source),
            principal,
            flags,
        };
        // Never 0: deduplication takes a 0 digest for "content unknown", a copy of anything.
        acc.stubs.push(Keyed { id, digest: digest.max(1), s: stub });
    }
    fn unparsed(&mut self, idx: u32, reason: RejectReason, detail: String) {
        self.records += 1;
        push_reject(&mut self.rejects, RecordReject { record: idx, reason, detail, more: 0 });
    }
    fn only_foreign(&self) -> bool {
        !self.rejects.is_empty()
            && self.kept == 0
            && self.rejects.iter().all(|r| r.reason == RejectReason::NotARecord)
    }
}

#[cfg(test)]
mod tests {
    use super::{CredFacts, ThreadAcc};

    /// A file that fails half-way leaves the credentials' first calls as they were before it:
    /// its rows in descending time replaced one another (a review: the rollback put back the
    /// file's own earlier row, which then beat the good file's call).
    #[test]
    fn a_failed_file_leaves_the_first_calls_as_they_were() {
        let mut acc = ThreadAcc::default();
        let f = |arn: u32| CredFacts {
            kind: 0,
            arn,
            account_id: 0,
            principal_id: 0,
            user_name: 0,
            issuer_kind: 0,
            issuer_arn: 0,
            source_identity: 0,
            from_console: false,
            ec2_instance: false,
        };
        let facts = |arn: u32| move |_: &mut super::Strings| f(arn);
        let key = (7, 100);
        acc.first_call(key, (1_000, 5, 0, 3), facts(1)); // the good file 0's call
        acc.replaced.clear(); // file 1 begins
        acc.first_call(key, (900, 6, 1, 0), facts(2));
        acc.first_call(key, (800, 7, 1, 1), facts(3));
        acc.first_call(key, (700, 8, 1, 2), facts(4));
        assert_eq!(acc.creds[&key].1.arn, 4);
        acc.forget_file(1);
        assert_eq!(acc.creds[&key], ((1_000, 5, 0, 3), f(1)));
        // A key only the failed file named is gone, its earlier rows too: a good file read
        // after it has the key's first call.
        acc.replaced.clear();
        acc.first_call((9, 0), (900, 1, 2, 0), facts(5));
        acc.first_call((9, 0), (800, 2, 2, 1), facts(6));
        acc.forget_file(2);
        assert!(!acc.creds.contains_key(&(9, 0)));
        acc.replaced.clear();
        acc.first_call((9, 0), (1_000, 3, 3, 0), facts(7));
        assert_eq!(acc.creds[&(9, 0)].1.arn, 7);
    }
}

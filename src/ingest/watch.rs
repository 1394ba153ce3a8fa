//! Which records the first pass keeps in full ([`super::kept`]): those signed by a seed key
//! (the `--key` values of `blast`/`plan`, always tainted), and, as a guess that spares most of
//! the second pass, those of the credentials the seed keys' own calls lead to, learned as the
//! files go by:
//!
//! - the key an issuing call made by a watched credential returned (`AssumeRole`,
//!   `GetSessionToken`, `CreateAccessKey`, …: F1);
//! - the role sessions of a Lambda function a watched credential changed, and of an instance
//!   it launched, which are named by the function or the instance (F21).
//!
//! This is only a guess at the taint, never the taint itself: the session graph decides which
//! events a report wants, and the second pass ([`super::Ingest::for_each_event`]) re-reads
//! every file holding a wanted event that was not kept. A record read before its credential
//! was learned (by the other worker, or in a file earlier in the list) is simply not kept.
//! What is kept is the same [`Event`] a re-read would give, so the output never depends on
//! what was guessed.
//!
//! Bounded for forged trails: at most [`MAX_LEARNED`] credentials are learned and at most
//! [`MAX_GUESSED`] events ([`MAX_GUESSED_BYTES`] encoded) kept by guess, and at most
//! [`MAX_SEED_BYTES`] of the seed keys' own events: past that, their files are read again by
//! the second pass like those of any event not kept, and the issuing calls among them are
//! still learned from.
//!
//! The workers share what they learned through an append-only list; each worker copies the
//! entries it has not seen into its own sets when the list's length changed (one relaxed
//! atomic read per record), so each entry is copied once per worker.
//!
//! Whether a key or an ARN is watched depends only on its text and on how many entries of the
//! list the worker has copied, so each worker notes the answer by the string's number in its
//! interner ([`Memo`]): a record costs an array read or two, not a hash of its key and of its
//! ARN's session name. The sets are hashed with keys drawn at random for the process: the
//! learned function names (and, in a forged trail, keys) are the writer's to choose.

use super::{issuing::needs_detail, parse, raw};
use crate::model::names::function_names;
use crate::model::Event;
use std::collections::{HashMap, HashSet};
use std::hash::RandomState;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// At most this many credentials (keys and named sessions) are learned in one run.
pub(super) const MAX_LEARNED: usize = 4096;

/// At most this many events are kept because they were guessed (a few hundred bytes each,
/// encoded: [`super::kept::KeptLog`]).
pub(super) const MAX_GUESSED: usize = 65_536;

/// And at most this many bytes of them, encoded: an attacker's own sessions can sign records
/// whose every field is as long as ingest keeps (4 KiB).
pub(super) const MAX_GUESSED_BYTES: usize = 64 << 20;

/// And at most this many bytes of the seed keys' own events, encoded (all workers): a flood
/// of calls signed by the leaked key (an exfiltration reads objects by the hundred thousand)
/// was kept whole, 300,000 `GetObject` calls taking `plan` to 534 MB. The 5 GB generated
/// trail's seed and guessed events take about 50 MB.
pub(super) const MAX_SEED_BYTES: usize = 128 << 20;

/// A credential learned: an access key id, or the role sessions of one account named by a
/// function or an instance.
#[derive(Debug, Clone)]
enum Learned {
    Key(Box<str>),
    Session { account: Box<str>, name: Box<str> },
}

/// What the workers share.
#[derive(Debug)]
pub(super) struct Shared {
    seeds: Vec<Box<str>>,
    learned: Mutex<Vec<Learned>>,
    /// `learned`'s length, read without the lock.
    len: AtomicUsize,
    /// Events kept by guess so far (all workers).
    guessed: AtomicUsize,
    /// Their encoded bytes so far (all workers).
    guessed_bytes: AtomicUsize,
    /// The encoded bytes of the seed keys' events kept so far (all workers), and the most.
    seed_bytes: AtomicUsize,
    max_seed_bytes: usize,
}

impl Shared {
    pub(super) fn new(seeds: &[String], max_seed_bytes: usize) -> Arc<Shared> {
        Arc::new(Shared {
            seeds: seeds.iter().map(|s| s.as_str().into()).collect(),
            learned: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
            guessed: AtomicUsize::new(0),
            guessed_bytes: AtomicUsize::new(0),
            seed_bytes: AtomicUsize::new(0),
            max_seed_bytes,
        })
    }
}

/// One worker's view: the seed keys and what it has copied of the shared list.
#[derive(Debug)]
pub(super) struct Watch {
    shared: Arc<Shared>,
    seen: usize,
    keys: HashSet<Box<str>, RandomState>,
    /// Session name → the accounts whose role sessions of that name are watched.
    sessions: HashMap<Box<str>, Vec<Box<str>>, RandomState>,
    /// Whether each string (by its number in the worker's interner) is a watched key.
    key_memo: Memo,
    /// Whether each string is the ARN of a watched role session.
    arn_memo: Memo,
}

/// Answers noted by string number, each valid while the worker has copied as many learned
/// entries as when it was noted: `(entries copied + 1) << 1 | answer`, 0 for none.
#[derive(Debug, Default)]
struct Memo(Vec<u32>);

impl Memo {
    /// The answer for string `id`, worked out by `ask` unless noted at `seen`.
    fn get(&mut self, id: u32, seen: usize, ask: impl FnOnce() -> bool) -> bool {
        if id == super::NONE {
            return ask();
        }
        let stamp = (seen as u32 + 1) << 1;
        let i = id as usize;
        if let Some(&v) = self.0.get(i) {
            if v & !1 == stamp {
                return v & 1 == 1;
            }
        } else {
            self.0.resize(i + 1, 0);
        }
        let answer = ask();
        self.0[i] = stamp | u32::from(answer);
        answer
    }
}

impl Watch {
    pub(super) fn new(shared: &Arc<Shared>) -> Watch {
        Watch {
            keys: shared.seeds.iter().cloned().collect(),
            shared: Arc::clone(shared),
            seen: 0,
            sessions: HashMap::default(),
            key_memo: Memo::default(),
            arn_memo: Memo::default(),
        }
    }

    /// Copies what other workers learned since the last call.
    fn refresh(&mut self) {
        if self.shared.len.load(Ordering::Relaxed) == self.seen {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let list = shared.learned.lock().unwrap_or_else(|e| e.into_inner());
        self.catch_up(&list);
    }

    /// Adds the entries of the shared list (`list`, under its lock) this worker has not seen.
    fn catch_up(&mut self, list: &[Learned]) {
        for l in &list[self.seen..] {
            self.add(l.clone());
        }
        self.seen = list.len();
    }

    fn add(&mut self, l: Learned) {
        match l {
            Learned::Key(k) => {
                self.keys.insert(k);
            }
            Learned::Session { account, name } => {
                let accounts = self.sessions.entry(name).or_default();
                if !accounts.contains(&account) {
                    accounts.push(account);
                }
            }
        }
    }

    /// Shares `l` with every worker (unless the list is full).
    fn learn(&mut self, l: Learned) {
        let shared = Arc::clone(&self.shared);
        let mut list = shared.learned.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() >= MAX_LEARNED {
            return;
        }
        list.push(l);
        shared.len.store(list.len(), Ordering::Relaxed);
        // What others added before it, and it.
        self.catch_up(&list);
    }

    fn is_seed(&self, key: Option<&str>) -> bool {
        key.is_some_and(|k| self.shared.seeds.iter().any(|s| &**s == k))
    }

    /// Whether the record signed by `key` as `arn` is watched; `key_id` and `arn_id`: their
    /// numbers in the worker's interner (or [`super::NONE`]).
    fn wants(&mut self, key_id: u32, key: Option<&str>, arn_id: u32, arn: Option<&str>) -> bool {
        self.refresh();
        let seen = self.seen;
        if let Some(k) = key {
            let keys = &self.keys;
            if self.key_memo.get(key_id, seen, || keys.contains(k)) {
                return true;
            }
        }
        let Some(arn) = arn else { return false };
        if self.sessions.is_empty() {
            return false;
        }
        let sessions = &self.sessions;
        self.arn_memo.get(arn_id, seen, || {
            role_session(arn).is_some_and(|(account, name)| {
                sessions.get(name).is_some_and(|a| a.iter().any(|a| &**a == account))
            })
        })
    }

    /// Keeps the record (`key`, `arn`: its signing key and principal ARN, `ids`: their numbers
    /// in the worker's interner) in `kept` when it is watched, and learns what a watched
    /// issuing call leads to.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn keep(
        &mut self,
        kept: &mut super::kept::KeptLog,
        key: Option<&str>,
        arn: Option<&str>,
        ids: (u32, u32),
        r: &raw::RawRecord<'_>,
        file: u32,
        idx: u32,
    ) {
        if !self.wants(ids.0, key, ids.1, arn) {
            return;
        }
        let guess = !self.is_seed(key);
        if guess
            && (self.shared.guessed.fetch_add(1, Ordering::Relaxed) >= MAX_GUESSED
                || self.shared.guessed_bytes.load(Ordering::Relaxed) >= MAX_GUESSED_BYTES)
        {
            return;
        }
        // Past the seed keys' bound, their events are read only for what they lead to.
        let full =
            !guess && self.shared.seed_bytes.load(Ordering::Relaxed) >= self.shared.max_seed_bytes;
        if full && !r.event_name.non_empty().is_some_and(needs_detail) {
            return;
        }
        let Ok(e) = parse::normalize(r, file, idx) else { return };
        if !e.failed() && super::issuing::is_detail(&e.name, &e.source) {
            for l in leads(&e) {
                self.learn(l);
            }
        }
        if full {
            return;
        }
        let bytes = kept.push(&e, r.event_id.non_empty().is_some());
        let total = if guess { &self.shared.guessed_bytes } else { &self.shared.seed_bytes };
        total.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// When CloudTrail delivered a log file, as its name says
/// (`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz`): the `YYYYMMDDTHHMMZ` part,
/// which sorts in time order; `None` for a file named otherwise.
pub(super) fn delivered(path: &std::path::Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    name.split('_').find(|p| {
        let b = p.as_bytes();
        b.len() == 14
            && b[..8].iter().all(u8::is_ascii_digit)
            && b[8] == b'T'
            && b[9..13].iter().all(u8::is_ascii_digit)
            && b[13] == b'Z'
    })
}

/// `(account, session name)` of an assumed-role ARN
/// (`arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/NAME`).
fn role_session(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("sts"), Some(_), Some(account), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let rest = rest.strip_prefix("assumed-role/")?;
    let (_, name) = rest.rsplit_once('/')?;
    Some((account, name))
}

/// The credentials a successful issuing call leads to: the key it returned, and the role
/// sessions of the functions it changed or the instances it launched.
fn leads(e: &Event) -> Vec<Learned> {
    let mut out = Vec::new();
    let p = &e.response;
    for k in [&p.credentials_key, &p.access_key_id].into_iter().flatten() {
        out.push(Learned::Key(k.as_str().into()));
    }
    let Some(here) = e.account() else { return out };
    let mut session = |account: &str, name: &str| {
        out.push(Learned::Session { account: account.into(), name: name.into() });
    };
    if let Some(f) = &e.request.function_name {
        for (account, name) in function_names(f) {
            session(account.unwrap_or(here), name);
        }
    }
    if let Some(ids) = &p.instance_ids {
        for id in ids.split(',').filter(|i| crate::model::is_instance_id(i)) {
            session(here, id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{delivered, role_session, Learned, Memo, Shared, Watch};
    use crate::ingest::NONE;
    use std::path::Path;

    #[test]
    fn an_answer_noted_holds_only_until_something_more_is_learned() {
        let mut m = Memo::default();
        let mut asked = 0;
        let mut ask = |a: bool| {
            asked += 1;
            a
        };
        assert!(!m.get(7, 0, || ask(false)));
        assert!(!m.get(7, 0, || ask(true)), "noted at the same count: not asked again");
        assert!(m.get(7, 1, || ask(true)), "one entry more: asked again");
        assert!(m.get(7, 1, || ask(false)));
        assert!(!m.get(3, 1, || ask(false)), "another string");
        assert!(m.get(NONE, 1, || ask(true)), "no string: always asked");
        assert!(m.get(NONE, 1, || ask(true)));
        assert_eq!(asked, 5);
    }

    #[test]
    fn a_string_number_seen_before_is_asked_again_once_a_key_or_a_function_is_learned() {
        let shared = Shared::new(&["AKIAIOSFODNN7EXAMPLE".to_string()], super::MAX_SEED_BYTES);
        let mut w = Watch::new(&shared);
        let mut other = Watch::new(&shared);
        let arn = "arn:aws:sts::111122223333:assumed-role/app/orders-api";
        let key = "ASIAQ3EGUKNVEXAMPLE1";
        assert!(w.wants(1, Some("AKIAIOSFODNN7EXAMPLE"), NONE, None), "a seed key");
        assert!(!w.wants(2, Some(key), 3, Some(arn)));
        // Learned by the other worker: this one sees it at its next record.
        other.learn(Learned::Key(key.into()));
        assert!(w.wants(2, Some(key), 3, Some(arn)));
        let key2 = "ASIAQ3EGUKNVEXAMPLE2";
        assert!(!w.wants(4, Some(key2), 3, Some(arn)));
        other.learn(Learned::Session { account: "444455556666".into(), name: "orders-api".into() });
        assert!(!w.wants(4, Some(key2), 3, Some(arn)), "another account's function");
        other.learn(Learned::Session { account: "111122223333".into(), name: "orders-api".into() });
        assert!(w.wants(4, Some(key2), 3, Some(arn)));
        assert!(!w.wants(4, Some(key2), NONE, None), "no ARN");
    }

    #[test]
    fn delivered_reads_the_time_in_a_cloudtrail_file_name() {
        let p = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/11/\
                 111122223333_CloudTrail_eu-west-1_20240311T0806Z_MtEmWI5CT0WhNekQ.json.gz";
        assert_eq!(delivered(Path::new(p)), Some("20240311T0806Z"));
        assert_eq!(delivered(Path::new("export.json")), None);
        assert_eq!(delivered(Path::new("a_20240311T08Z_b.json")), None);
    }

    #[test]
    fn role_session_reads_an_assumed_role_arn_only() {
        assert_eq!(
            role_session("arn:aws:sts::111122223333:assumed-role/app/orders-api"),
            Some(("111122223333", "orders-api"))
        );
        assert_eq!(
            role_session("arn:aws-us-gov:sts::111122223333:assumed-role/p/a/th/i-0abc"),
            Some(("111122223333", "i-0abc"))
        );
        assert_eq!(role_session("arn:aws:iam::111122223333:user/alice"), None);
        assert_eq!(role_session("arn:aws:sts::111122223333:federated-user/bob"), None);
        assert_eq!(role_session("assumed-role/app/x"), None);
    }
}

//! The compact event table ingest hands on: one [`Stub`] per unique event with interned
//! strings and bit flags, the 128-bit `eventID` keys used to deduplicate and sort them, and
//! what the first call of each credential said about its principal ([`CredFacts`]).

use super::intern::{FxMap, Strings};
use super::raw;

/// "No string" in a [`Stub`] field.
pub const NONE: u32 = u32::MAX;
/// "No time" in [`Stub::created`].
pub const NO_TIME: i64 = i64::MIN;

/// [`Stub::flags`]: the record carried an `eventID`.
pub const HAS_ID: u8 = 1;
/// [`Stub::flags`]: the call failed (`errorCode`).
pub const FAILED: u8 = 2;
/// [`Stub::flags`]: made by a service on the principal's behalf (`invokedBy`).
pub const INVOKED_BY: u8 = 4;
/// [`Stub::flags`]: the full event is in [`Ingest::details`](super::Ingest::details).
pub const DETAIL: u8 = 8;
/// [`Stub::flags`]: an IAM user's successful console sign-in ([`super::issuing::signed_in`]),
/// whose user ([`Stub::principal`]) may have a console session no call of the trail shows.
pub const SIGN_IN: u8 = 16;

/// The compact form of every unique event: what the inventory and the session graph need, with
/// strings interned in [`Ingest::strings`](super::Ingest::strings). 56 bytes an event, so a trail
/// of millions of events fits in memory; the full [`Event`](crate::model::Event) is read back on
/// demand ([`Ingest::load_events`](super::Ingest::load_events)) for the few events a report needs
/// in detail. The `eventID` is only needed to deduplicate and order the events, so it is dropped
/// once ingest has done both (see [`Keyed`]).
///
/// `repr(C)`: its layout is fixed (56 bytes, aligned to 8, the flags followed by 7 bytes of
/// padding), so that a run's table in the cache is written in it and read in place
/// ([`Stubs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Stub {
    /// `eventTime`, unix seconds.
    pub time: i64,
    /// `creationDate` of the signing session, or [`NO_TIME`].
    pub created: i64,
    pub file: u32,
    pub record: u32,
    /// Access key id (interned), or [`NONE`].
    pub key: u32,
    pub ip: u32,
    /// `recipientAccountId`, else the caller's account.
    pub account: u32,
    pub region: u32,
    pub source: u32,
    /// Caller ARN, else principal id.
    pub principal: u32,
    pub flags: u8,
}

// The layout the run's table in the cache is written in (`stub_bytes` in `cache::run`): each
// field at the offset it is written at, the flags last, then padding.
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(offset_of!(Stub, time) == 0 && offset_of!(Stub, created) == 8);
    assert!(offset_of!(Stub, file) == 16 && offset_of!(Stub, record) == 20);
    assert!(offset_of!(Stub, key) == 24 && offset_of!(Stub, ip) == 28);
    assert!(offset_of!(Stub, account) == 32 && offset_of!(Stub, region) == 36);
    assert!(offset_of!(Stub, source) == 40 && offset_of!(Stub, principal) == 44);
    assert!(offset_of!(Stub, flags) == 48 && size_of::<Stub>() == 56 && align_of::<Stub>() == 8);
};

/// The top 32 bits of the stand-in id of an event without an `eventID` ([`stand_in`]).
pub(super) const STAND_IN: u128 = 0xFFFF_FFFFu128 << 96;

/// The `eventID` an event without one is given, `noid:<file>:<record>` (the text that
/// [`stand_in`] stands for): every path that names such an event, and the extension of an
/// earlier run that renames one, names it here.
pub(super) fn stand_in_name(file: u32, record: u32) -> String {
    format!("noid:{file}:{record}")
}

/// The id of an event without an `eventID`: where it is in this run (file and record), so
/// unique by construction and never deduplicated; it sorts after every real id (a real one
/// in that range is a UUID beginning `FFFFFFFF`).
pub(super) fn stand_in(file: u32, record: u32) -> u128 {
    STAND_IN | (u128::from(file) << 32) | u128::from(record)
}

/// A stub with its `eventID` as 128 bits (the UUID itself, or a 128-bit hash of another
/// string), as ingest holds it until events are deduplicated and sorted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Keyed {
    pub(super) id: u128,
    /// [`content_digest`](super::record_digest::content_digest) of the record
    /// ([`event_digest`](super::record_digest::event_digest) for a Parquet row); never 0,
    /// which would mean "unknown" and match any content.
    pub(super) digest: u64,
    pub(super) s: Stub,
}

/// Moves every element of `from` into `into` (through `f`), a slice at a time from the back,
/// giving each slice's memory back at once: the two vectors never both exist in full, which
/// matters for the millions of stubs and hundreds of thousands of issuing calls of a large
/// trail. The elements arrive in reverse order.
pub(super) fn move_from_back<T, U>(mut from: Vec<T>, into: &mut Vec<U>, mut f: impl FnMut(T) -> U) {
    const SLICE: usize = 1 << 14;
    into.reserve_exact(from.len());
    while !from.is_empty() {
        let start = from.len().saturating_sub(SLICE);
        into.extend(from.drain(start..).rev().map(&mut f));
        from.shrink_to_fit();
    }
}

/// The stubs without their ids, in the same order, and the ids and content digests in that
/// order when `keep`. Moved over a sixteenth at a time from the back, each part on every
/// core, the source shrunk after each part so that both vectors never exist in full (at 5 GB
/// of trail, 4 million stubs: moved a few thousand at a time on one core this took 0.14 s).
pub(super) fn strip_ids(mut keyed: Vec<Keyed>, keep: bool) -> (Vec<Stub>, Vec<u128>, Vec<u64>) {
    use rayon::prelude::*;
    let n = keyed.len();
    let part = n.div_ceil(16).max(1 << 14);
    let mut out: Vec<Stub> = Vec::with_capacity(n);
    let kept = if keep { n } else { 0 };
    let (mut ids, mut digests) = (Vec::with_capacity(kept), Vec::with_capacity(kept));
    while !keyed.is_empty() {
        let start = keyed.len().saturating_sub(part);
        if keep {
            ids.par_extend(keyed[start..].par_iter().rev().map(|k| k.id));
            digests.par_extend(keyed[start..].par_iter().rev().map(|k| k.digest));
        }
        out.par_extend(keyed.par_drain(start..).rev().map(|k| k.s));
        keyed.shrink_to_fit();
    }
    par_reverse(&mut out);
    par_reverse(&mut ids);
    par_reverse(&mut digests);
    (out, ids, digests)
}

/// `v` in reverse order, the swaps spread over the cores.
fn par_reverse<T: Send>(v: &mut [T]) {
    use rayon::prelude::*;
    let half = v.len() / 2;
    let (front, back) = v.split_at_mut(half);
    let skip = back.len() - half; // the middle element of an odd length stays
    let back = &mut back[skip..];
    front.par_iter_mut().zip(back.par_iter_mut().rev()).for_each(|(a, b)| std::mem::swap(a, b));
}

impl Stub {
    /// A stub at `time`, `(file, record)`, with no strings (for tests).
    #[cfg(test)]
    pub(super) fn bare(time: i64, file: u32, record: u32, flags: u8) -> Stub {
        Stub {
            time,
            created: NO_TIME,
            file,
            record,
            key: NONE,
            ip: NONE,
            account: NONE,
            region: NONE,
            source: NONE,
            principal: NONE,
            flags,
        }
    }

    /// The same stub with its strings renumbered through `m` (from one interner to another).
    pub(super) fn remap(self, m: impl Fn(u32) -> u32) -> Stub {
        Stub {
            key: m(self.key),
            ip: m(self.ip),
            account: m(self.account),
            region: m(self.region),
            source: m(self.source),
            principal: m(self.principal),
            ..self
        }
    }
    /// The `creationDate`, if any.
    pub fn created(&self) -> Option<i64> {
        (self.created != NO_TIME).then_some(self.created)
    }
}

/// What the first call of a credential said about its principal, with interned strings
/// ([`NONE`] when absent): the compact form of [`crate::model::Identity`] kept for every
/// credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredFacts {
    pub kind: u32,
    pub arn: u32,
    pub account_id: u32,
    pub principal_id: u32,
    pub user_name: u32,
    pub issuer_kind: u32,
    pub issuer_arn: u32,
    /// `sessionContext.sourceIdentity` (F4).
    pub source_identity: u32,
    pub from_console: bool,
    pub ec2_instance: bool,
}

impl CredFacts {
    /// `arn`: the number of the record's `userIdentity.arn` in `strings` (interned already,
    /// for its stub), or [`NONE`].
    pub(super) fn of(r: &raw::RawRecord, arn: u32, strings: &mut Strings) -> CredFacts {
        let mut f = CredFacts {
            kind: NONE,
            arn: NONE,
            account_id: NONE,
            principal_id: NONE,
            user_name: NONE,
            issuer_kind: NONE,
            issuer_arn: NONE,
            source_identity: NONE,
            from_console: r.session_credential_from_console.0 == Some(true),
            ec2_instance: false,
        };
        if let Some(u) = r.user_identity.get() {
            f.kind = strings.opt(u.kind.capped().as_deref());
            f.arn = arn;
            f.account_id = strings.opt(u.account_id.capped().as_deref());
            f.principal_id = strings.opt(u.principal_id.capped().as_deref());
            f.user_name = strings.opt(u.user_name.capped().as_deref());
            if let Some(sc) = u.session_context.get() {
                if let Some(iss) = sc.session_issuer.get() {
                    f.issuer_kind = strings.opt(iss.kind.capped().as_deref());
                    f.issuer_arn = strings.opt(iss.arn.capped().as_deref());
                }
                f.ec2_instance = sc.ec2_role_delivery.non_empty().is_some();
                f.source_identity = strings.opt(sc.source_identity.capped().as_deref());
            }
        }
        f
    }
    pub(super) fn of_identity(i: &crate::model::Identity, strings: &mut Strings) -> CredFacts {
        CredFacts {
            kind: strings.opt(i.kind.as_deref()),
            arn: strings.opt(i.arn.as_deref()),
            account_id: strings.opt(i.account_id.as_deref()),
            principal_id: strings.opt(i.principal_id.as_deref()),
            user_name: strings.opt(i.user_name.as_deref()),
            issuer_kind: strings.opt(i.issuer_kind.as_deref()),
            issuer_arn: strings.opt(i.issuer_arn.as_deref()),
            source_identity: strings.opt(i.source_identity.as_deref()),
            from_console: i.from_console,
            ec2_instance: i.ec2_role_delivery.is_some(),
        }
    }
    pub(super) fn remap(self, m: impl Fn(u32) -> u32) -> CredFacts {
        CredFacts {
            kind: m(self.kind),
            arn: m(self.arn),
            account_id: m(self.account_id),
            principal_id: m(self.principal_id),
            user_name: m(self.user_name),
            issuer_kind: m(self.issuer_kind),
            issuer_arn: m(self.issuer_arn),
            source_identity: m(self.source_identity),
            ..self
        }
    }
}

/// What the first call of each credential `(access key, creationDate)` said about its
/// principal.
pub type Creds = FxMap<(u32, i64), CredFacts>;

/// 128 bits that identify an `eventID`: the UUID itself when it is one, else a hash.
pub fn id128(s: &str) -> u128 {
    const HEX: [u8; 256] = {
        let mut t = [0xFFu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    /// Where the 32 hex digits of a UUID are: 16 for each half.
    const DIGITS: [usize; 32] = [
        0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, //
        19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
    ];
    let b = s.as_bytes();
    if b.len() == 36 && b[8] == b'-' && b[13] == b'-' && b[18] == b'-' && b[23] == b'-' {
        // Two 64-bit halves over fixed positions (unrolled, no 128-bit shifts): asked of every
        // record of the trail.
        let mut bad = 0u8;
        let mut half = |at: &[usize]| {
            at.iter().fold(0u64, |v, &i| {
                let d = HEX[b[i] as usize];
                bad |= d;
                (v << 4) | u64::from(d & 0x0F)
            })
        };
        let (hi, lo) = (half(&DIGITS[..16]), half(&DIGITS[16..]));
        if bad & 0xF0 == 0 {
            return (u128::from(hi) << 64) | u128::from(lo);
        }
    }
    hashed_id(s)
}

/// [`id128`] of an id that is not a UUID: two independent 64-bit SipHashes of it.
fn hashed_id(s: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut h1 = std::collections::hash_map::DefaultHasher::new();
    (0u8, s).hash(&mut h1);
    let mut h2 = std::collections::hash_map::DefaultHasher::new();
    (1u8, s).hash(&mut h2);
    (u128::from(h1.finish()) << 64) | u128::from(h2.finish())
}

const _: () = assert!(std::mem::size_of::<Stub>() == 56 && std::mem::align_of::<Stub>() == 8);

/// The event table: stubs of its own, or the stubs of a run's table in the cache, read in
/// place from the mapped file ([`Stubs::mapped`]) rather than copied into fresh memory (45 MB
/// at 1 GB of trail, a sixth of a warm `plan`, most of it the kernel backing new pages).
/// Either way a slice of [`Stub`]s.
pub struct Stubs(Store);

impl Default for Stubs {
    fn default() -> Stubs {
        Stubs(Store::Owned(Vec::new()))
    }
}

enum Store {
    Owned(Vec<Stub>),
    /// `len` stubs at byte `at` of the file, which is kept mapped as long as they are.
    Mapped {
        file: std::sync::Arc<super::cache::Sealed>,
        at: usize,
        len: usize,
    },
}

impl Stubs {
    /// The `len` stubs at byte `at` of `file`, in place, if they are laid out there as in
    /// memory: a little-endian target and an offset aligned for [`Stub`], inside the file.
    /// `None` otherwise (the caller decodes a copy). Every bit pattern is a valid `Stub`
    /// (integers only; the padding is never read), so any bytes will do.
    pub(crate) fn mapped(
        file: &std::sync::Arc<super::cache::Sealed>,
        at: usize,
        len: usize,
    ) -> Option<Stubs> {
        let bytes: &[u8] = file;
        let size = len.checked_mul(std::mem::size_of::<Stub>())?;
        let part = bytes.get(at..at.checked_add(size)?)?;
        let aligned = (part.as_ptr() as usize) % std::mem::align_of::<Stub>() == 0;
        (cfg!(target_endian = "little") && aligned)
            .then(|| Stubs(Store::Mapped { file: file.clone(), at, len }))
    }
    /// The stubs as a vector of their own: a copy when they are mapped, made a part at a time,
    /// each part's pages of the file given back once copied ([`super::cache::Sealed::release`]),
    /// so that the table is not resident twice (250 MB at 5 GB of trail, in a run that extends
    /// the table with new files).
    pub fn into_vec(self) -> Vec<Stub> {
        match self.0 {
            Store::Owned(v) => v,
            Store::Mapped { ref file, at, len } => {
                const PART: usize = 1 << 14; // stubs: 896 KiB
                let (all, bytes): (&[Stub], &[u8]) = (&self, file);
                let size = std::mem::size_of::<Stub>();
                let mut v = Vec::with_capacity(len);
                for (i, part) in all.chunks(PART).enumerate() {
                    v.extend_from_slice(part);
                    let from = at + i * PART * size;
                    file.release(&bytes[from..from + std::mem::size_of_val(part)]);
                }
                v
            }
        }
    }
}

impl From<Vec<Stub>> for Stubs {
    fn from(v: Vec<Stub>) -> Stubs {
        Stubs(Store::Owned(v))
    }
}

impl std::ops::Deref for Stubs {
    type Target = [Stub];
    fn deref(&self) -> &[Stub] {
        match &self.0 {
            Store::Owned(v) => v,
            Store::Mapped { file, at, len } => {
                let bytes: &[u8] = file;
                let part = &bytes[*at..*at + len * std::mem::size_of::<Stub>()];
                // SAFETY: `mapped` checked that these bytes are inside the file, aligned for
                // `Stub` and `len` stubs long; `Stub` is `repr(C)` with integer fields only,
                // so every bit pattern of its fields is valid (the padding is never read as a
                // value); the file's bytes do not change while it is kept here (a cache file
                // is never written in place: see `read_sealed`), and `file` keeps it mapped as
                // long as the slice is borrowed from `self`.
                unsafe { std::slice::from_raw_parts(part.as_ptr().cast::<Stub>(), *len) }
            }
        }
    }
}

impl<'a> IntoIterator for &'a Stubs {
    type Item = &'a Stub;
    type IntoIter = std::slice::Iter<'a, Stub>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl std::fmt::Debug for Stubs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if matches!(self.0, Store::Mapped { .. }) { "mapped" } else { "owned" };
        write!(f, "Stubs({} {how})", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_ids_keeps_every_stub_in_order() {
        let stub = |i: u32| Stub::bare(i64::from(i), i / 7, i, 0);
        // Ten parts of at least 16,384 stubs, the last one partial; an odd number in all.
        let n = 150_001u32;
        let keyed: Vec<Keyed> = (0..n)
            .map(|i| Keyed { id: u128::from(i) * 3, digest: u64::from(i) + 5, s: stub(i) })
            .collect();
        let (stubs, ids, digests) = strip_ids(keyed.clone(), false);
        assert_eq!(stubs.len(), n as usize);
        assert!(stubs.iter().enumerate().all(|(i, s)| *s == stub(i as u32)));
        assert!(ids.is_empty() && digests.is_empty());
        // Kept, the ids and digests come in the same order as their stubs.
        let (again, ids, digests) = strip_ids(keyed, true);
        assert_eq!(again, stubs);
        assert!(ids.iter().enumerate().all(|(i, id)| *id == i as u128 * 3));
        assert!(digests.iter().enumerate().all(|(i, d)| *d == i as u64 + 5));
        assert!(strip_ids(Vec::new(), true).0.is_empty());
        for len in [0usize, 1, 2, 5, 6] {
            let mut v: Vec<usize> = (0..len).collect();
            par_reverse(&mut v);
            assert_eq!(v, (0..len).rev().collect::<Vec<_>>());
        }
    }

    #[test]
    fn uuid_ids_are_exact_and_others_hashed() {
        assert_eq!(id128("00000000-0000-0000-0000-00000000000a"), 10);
        assert_eq!(id128("FFFFFFFF-0000-0000-0000-000000000000"), 0xFFFF_FFFFu128 << 96);
        assert_ne!(id128("event-1"), id128("event-2"));
        assert_eq!(id128("event-1"), id128("event-1"));
    }

    /// The UUID's own 128 bits, as a plain reading of its hex digits gives them, whatever
    /// the case; one byte that is not a hex digit, anywhere, makes it an id to hash.
    #[test]
    fn uuid_ids_read_as_their_digits() {
        let reference = |s: &str| -> Option<u128> {
            let hex: String = s.chars().filter(|&c| c != '-').collect();
            let dashes = s.char_indices().filter(|&(_, c)| c == '-').map(|(i, _)| i);
            (s.len() == 36 && dashes.eq([8, 13, 18, 23]) && hex.len() == 32)
                .then(|| u128::from_str_radix(&hex, 16).ok())
                .flatten()
        };
        // splitmix64, seeded: the same strings on every run.
        let mut state = 19u64;
        let mut below = |n: usize| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n as u64) as usize
        };
        let digits = b"0123456789abcdefABCDEF";
        let alphabet = b"0123456789abcdefABCDEFgz-G/:@ ";
        for i in 0..20_000 {
            let mut id: Vec<u8> = (0..36).map(|_| digits[below(digits.len())]).collect();
            for at in [8, 13, 18, 23] {
                id[at] = b'-';
            }
            if i % 2 == 1 {
                // One byte anywhere (a dash too) becomes any of the alphabet.
                id[below(36)] = alphabet[below(alphabet.len())];
            }
            let s = String::from_utf8(id).unwrap();
            match reference(&s) {
                Some(v) => assert_eq!(id128(&s), v, "{s}"),
                None => assert_eq!(id128(&s), hashed_id(&s), "{s} is hashed"),
            }
        }
    }
}

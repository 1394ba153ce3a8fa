//! The string interner of the event table, and the Fx-hashed map used for its integer keys.
//!
//! FxHash (rustc's hasher, from `rustc-hash`): much cheaper than SipHash for the short
//! strings and integer keys of the ingest hot loop. It is not keyed, so its collisions can be
//! made at will: a role-session name is the caller's to choose (and a forged log file says
//! what its writer likes), and 50,000 crafted role-session ARNs of one FxHash (3 MB of gzipped
//! logs) took `scan` 15.7 s against 0.1 s for as many ordinary ones, every new string compared
//! with all before it. So the interner's index switches to a keyed hash as soon as a lookup
//! meets a run of strings of one hash ([`StringIndex`]), and the maps keyed by other strings
//! from the logs use a keyed hash ([`StrMap`]). Integer keys (string numbers, times) stay on
//! FxHash: the numbers are handed out by the interner, in order.

use super::NONE;
use std::collections::HashMap;

/// A `HashMap` with [`rustc_hash::FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// A `HashMap` keyed by strings from the logs: foldhash with seeds drawn at random for the
/// process, so that no log can be made of keys of one hash (see the module's documentation).
/// Nothing iterates one of these into an output, so the random seeds change no result.
///
/// foldhash, not std's SipHash: the session graph's encoding for `--cache` looks up every
/// repeating string of every node and edge in one of these (at 1 GB of trail, 114,000 nodes),
/// where SipHash was a third of that step's time. foldhash claims only "minimal" resistance to
/// hash flooding: its seeds could be worked out by someone who watches the running program's
/// timings and adapts its input, which a log written before the run cannot do; what it keeps
/// out is what matters here, keys colliding whatever the seed (the same choice as the event-id
/// map of `extend.rs`).
pub type StrMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A string interner: each distinct string stored once, addressed by `u32`. The index is a
/// table of positions hashed by the string they point to, so it holds no second copy of the
/// strings (at 5 GB of trail that is 700 k strings, most of them ARNs).
#[derive(Debug, Default)]
pub struct Strings {
    pub(super) list: StringList,
    pub(super) index: StringIndex,
}

/// Strings stored end to end in one buffer: no allocation (and its header and rounding) per
/// string, and one copy of each.
#[derive(Debug, Default)]
pub struct StringList {
    text: String,
    /// End offset in `text` of each string; a string starts where the one before ends.
    ends: Vec<usize>,
}

impl StringList {
    /// The `i`-th string, if there is one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }
    /// The `i`-th string of an index this list handed out.
    fn at(&self, i: u32) -> &str {
        self.get(i as usize).unwrap_or_default()
    }
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }
    /// Gives back the growth slack once no string will be added.
    pub(super) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
    /// The buffer and the end offsets, as [`StringList::from_raw_parts`] takes them.
    pub(super) fn raw_parts(&self) -> (&str, &[usize]) {
        (&self.text, &self.ends)
    }
    /// A list from its parts; `None` unless every end is a character boundary of `text`, in
    /// order.
    pub(super) fn from_raw_parts(text: String, ends: Vec<usize>) -> Option<StringList> {
        let mut last = 0;
        for &e in &ends {
            if e < last || !text.is_char_boundary(e) {
                return None;
            }
            last = e;
        }
        Some(StringList { text, ends })
    }
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// Every string, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.at(i as u32))
    }
}

/// Positions in a string list, hashed by the string at that position: with FxHash, until a
/// lookup compares more than [`COLLIDED`] strings (only strings whose hash shares the
/// looked-up string's tag bits are compared: one or two, unless the strings were made to
/// collide), then with a keyed SipHash (std's, keys random for the process) from then on. A
/// string's number does not depend on the hash, so neither does any result.
#[derive(Debug, Default)]
pub struct StringIndex {
    table: hashbrown::HashTable<u32>,
    keyed: Option<std::hash::RandomState>,
}

/// How many strings one lookup may compare before the index is rehashed with a keyed hash.
const COLLIDED: u32 = 16;

fn str_hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// The hash of `s` in an index keyed by `keyed` (FxHash when `None`).
fn hash_with(keyed: &Option<std::hash::RandomState>, s: &str) -> u64 {
    use std::hash::BuildHasher;
    match keyed {
        None => str_hash(s),
        Some(k) => k.hash_one(s),
    }
}

impl StringIndex {
    /// The position of `s`, whose hash is `hash`, and whether finding it compared more than
    /// [`COLLIDED`] strings.
    fn find_hashed(&self, list: &StringList, hash: u64, s: &str) -> (Option<u32>, bool) {
        let mut compared = 0;
        let found = self
            .table
            .find(hash, |&i| {
                compared += 1;
                list.at(i) == s
            })
            .copied();
        (found, compared > COLLIDED)
    }

    /// Adds position `i` (of a string not in the index yet), whose hash is `hash`.
    fn insert(&mut self, list: &StringList, hash: u64, i: u32) {
        let keyed = &self.keyed;
        self.table.insert_unique(hash, i, |&j| hash_with(keyed, list.at(j)));
    }

    /// Hashes every position again with a keyed hash (new keys if it had some).
    fn rekey(&mut self, list: &StringList) {
        let keyed = Some(std::hash::RandomState::new());
        let mut table = hashbrown::HashTable::with_capacity(self.table.len());
        for &i in self.table.iter() {
            table.insert_unique(hash_with(&keyed, list.at(i)), i, |&j| {
                hash_with(&keyed, list.at(j))
            });
        }
        *self = StringIndex { table, keyed };
    }
}

impl Strings {
    /// An interner that goes on from `list` (each string's number stays as it is).
    pub(super) fn from_list(list: StringList) -> Strings {
        let mut index = StringIndex::default();
        index.table.reserve(list.len(), |&j| str_hash(list.at(j)));
        for i in 0..list.len() as u32 {
            index.insert(&list, str_hash(list.at(i)), i);
        }
        Strings { list, index }
    }

    /// The strings, numbered as interned; the index is dropped.
    pub fn into_list(self) -> StringList {
        self.list
    }

    /// The index of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        let hash = hash_with(&self.index.keyed, s);
        let (found, collided) = self.index.find_hashed(&self.list, hash, s);
        let i = match found {
            Some(i) => i,
            None => {
                let i = self.list.len() as u32;
                self.list.push(s);
                self.index.insert(&self.list, hash, i);
                i
            }
        };
        if collided {
            self.index.rekey(&self.list);
        }
        i
    }

    /// [`Strings::intern`] of `s`, or [`NONE`] for none.
    pub fn opt(&mut self, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.intern(s))
    }

    /// [`Strings::opt`] for a field that mostly repeats from one record to the next (a file's
    /// region, account, event source): `recent` is the number of the field's string in the
    /// record before, compared first, which spares hashing it.
    pub(super) fn opt_recent(&mut self, s: Option<&str>, recent: &mut u32) -> u32 {
        let Some(s) = s else { return NONE };
        if *recent != NONE && self.list.at(*recent) == s {
            return *recent;
        }
        *recent = self.intern(s);
        *recent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_field_gets_the_number_interning_gives() {
        let mut st = Strings::default();
        let mut recent = NONE;
        let a = st.opt_recent(Some("us-east-1"), &mut recent);
        assert_eq!((a, recent), (0, 0));
        assert_eq!(st.opt_recent(Some("us-east-1"), &mut recent), 0);
        assert_eq!(st.opt_recent(None, &mut recent), NONE);
        assert_eq!(recent, 0, "no value leaves the last one");
        assert_eq!(st.intern("eu-west-1"), 1);
        assert_eq!(st.opt_recent(Some("eu-west-1"), &mut recent), 1, "interned before");
        assert_eq!(st.opt_recent(Some("us-east-1"), &mut recent), 0);
        assert_eq!(st.opt_recent(Some("us-east-"), &mut recent), 2, "a prefix is another string");
        assert_eq!(st.list.len(), 3);
    }

    #[test]
    fn interner_keeps_one_copy_and_finds_it_again() {
        let mut st = Strings::default();
        let words: Vec<String> =
            (0..5000).map(|i| format!("arn:aws:iam::111122223333:role/r{i}")).collect();
        let ids: Vec<u32> = words.iter().map(|w| st.intern(w)).collect();
        assert_eq!(ids, (0..5000).collect::<Vec<u32>>());
        for (w, &i) in words.iter().zip(&ids) {
            assert_eq!(st.intern(w), i);
        }
        assert_eq!(st.list.len(), 5000);
        assert_eq!(st.intern("arn:aws:iam::111122223333:role/r5000"), 5000, "a new string");
        assert_eq!(st.list.len(), 5001);
        assert_eq!(st.intern(""), 5001);
        assert!(st.index.keyed.is_none(), "ordinary strings stay on FxHash");
    }

    /// `n` role-session ARNs, each a valid session name (`[\w+=,.@-]`, at most 64 characters),
    /// all of one FxHash (rustc-hash 2.1's, unkeyed): its 16-byte rounds fold
    /// `(s0 ^ x) * (C ^ y)`, so a round whose first 8 bytes equal the state `s0` adds nothing
    /// whatever its last 8 are. The state before the fifth round is the product of the third
    /// (prefix and a searched nonce), so the fifth round's first half is that state's bytes,
    /// once they are all valid, and its second half is free: one hash for every choice.
    fn colliding_arns(n: usize) -> Vec<String> {
        const SEED1: u64 = 0x243f_6a88_85a3_08d3;
        const SEED2: u64 = 0x1319_8a2e_0370_7344;
        const C: u64 = 0xa409_3822_299f_31d0;
        let mix = |x: u64, y: u64| {
            let p = u128::from(x) * u128::from(y);
            (p as u64) ^ ((p >> 64) as u64)
        };
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
        let chars: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+=,.@-";
        let prefix = b"arn:aws:sts::111122223333:assumed-role/r/"; // 41 bytes
        let mut nonce = 0u64;
        let (head, state) = loop {
            nonce += 1;
            let mut head = prefix.to_vec();
            head.extend((0..7).map(|k| chars[(nonce >> (6 * k)) as usize % chars.len()]));
            head.extend_from_slice(b"SSSSSSSSSSSSSSSS"); // the fourth round: 64 bytes so far
            let (mut s0, mut s1) = (SEED1, SEED2);
            for r in head.chunks_exact(16) {
                let t = mix(s0 ^ word(&r[..8]), C ^ word(&r[8..]));
                (s0, s1) = (s1, t);
            }
            let _ = s1;
            if s0.to_le_bytes().iter().all(|b| chars.contains(b)) {
                break (head, s0);
            }
        };
        (0..n)
            .map(|i| {
                let mut a = head.clone();
                a.extend_from_slice(&state.to_le_bytes());
                a.extend((0..8).map(|k| chars[(i / chars.len().pow(k)) % chars.len()]));
                a.extend_from_slice(b"-tail-of-the-name"); // past the rounds' free half
                String::from_utf8(a).unwrap()
            })
            .collect()
    }

    /// Strings made to share one FxHash (a chosen role-session name, or a forged log) cost
    /// each lookup a comparison with every one of them, until the index is keyed; then a
    /// lookup compares one or two again. Every string keeps its number throughout.
    #[test]
    fn strings_made_to_collide_get_a_keyed_index() {
        let arns = colliding_arns(3000);
        let distinct: std::collections::HashSet<&String> = arns.iter().collect();
        assert_eq!(distinct.len(), 3000);
        assert!(arns.iter().all(|a| a.len() <= 41 + 64 && str_hash(a) == str_hash(&arns[0])));
        let mut st = Strings::default();
        st.intern("eu-west-1");
        for (i, a) in arns.iter().enumerate() {
            assert_eq!(st.intern(a), i as u32 + 1);
        }
        assert!(st.index.keyed.is_some(), "the index went to a keyed hash");
        let mut worst = 0;
        for (i, a) in arns.iter().enumerate() {
            let hash = hash_with(&st.index.keyed, a);
            let mut compared = 0;
            let found = st.index.table.find(hash, |&j| {
                compared += 1;
                st.list.at(j) == a
            });
            assert_eq!(found.copied(), Some(i as u32 + 1));
            worst = worst.max(compared);
        }
        assert!(worst <= COLLIDED, "a lookup compared {worst} strings");
        assert_eq!(st.intern("eu-west-1"), 0);
        assert_eq!(st.intern("new"), 3001);
        // An interner that goes on from the list finds them all again.
        let mut again = Strings::from_list(std::mem::take(&mut st.list));
        assert!(arns.iter().enumerate().all(|(i, a)| again.intern(a) == i as u32 + 1));
        assert!(again.index.keyed.is_some());
    }
}

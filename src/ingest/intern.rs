//! The string interner of the event table, and the Fx-hashed map used for its integer keys.
//!
//! FxHash (rustc's hasher, from `rustc-hash`): much cheaper than SipHash for the short
//! strings and integer keys of the ingest hot loop. Inputs are log contents, not
//! attacker-controlled hash-flooding material in a long-running service, so DoS resistance is
//! not needed here.

use super::NONE;
use std::collections::HashMap;

/// A `HashMap` with [`rustc_hash::FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

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

/// Positions in a string list, hashed by the string at that position.
#[derive(Debug, Default)]
pub struct StringIndex(hashbrown::HashTable<u32>);

fn str_hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

impl StringIndex {
    fn find_hashed(&self, list: &StringList, hash: u64, s: &str) -> Option<u32> {
        self.0.find(hash, |&i| list.at(i) == s).copied()
    }
}

impl Strings {
    /// An interner that goes on from `list` (each string's number stays as it is).
    pub(super) fn from_list(list: StringList) -> Strings {
        let mut index = StringIndex::default();
        index.0.reserve(list.len(), |&j| str_hash(list.at(j)));
        for i in 0..list.len() as u32 {
            index.0.insert_unique(str_hash(list.at(i)), i, |&j| str_hash(list.at(j)));
        }
        Strings { list, index }
    }

    /// The index of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        let hash = str_hash(s);
        if let Some(i) = self.index.find_hashed(&self.list, hash, s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s);
        let list = &self.list;
        self.index.0.insert_unique(hash, i, |&j| str_hash(list.at(j)));
        i
    }
    pub(super) fn opt(&mut self, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.intern(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}

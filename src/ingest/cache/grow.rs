//! A run over files some of which an earlier run already merged (new log files arrived):
//! the earlier run's table is the base, and only the other files are read and merged into it
//! ([`crate::ingest::extend`]), instead of every file's entry being merged again.
//!
//! Beside each run's table two more parts are kept for this:
//!
//! - `runs/<key>.files`: what the run's key is a hash of ([`RunKey`]): the options, then
//!   each file's entry (path as named, whether named, absolute path, [`super::entry::StatKey`]).
//!   An earlier run is a base for this one only when its options are the same and **every one
//!   of its files is among this run's, with the same entry** (same path, same size, times,
//!   inode and device), in the same order. A changed or removed file rules the run out: then
//!   every file is merged from its entry, as before.
//! - `runs/<key>.grow`: each stub's event id (or an event without one's stand-in) and content
//!   digest in stub order, and where each credential's first call is: what deduplication
//!   (whether a new file's copy of an earlier event is the same event), the sort and "first
//!   call of a credential" need to place the new files' events exactly where a cold run puts
//!   them.

use super::codec::{Reader, Sink};
use super::run::{decode_graph_inputs, derived_header};
use super::{Cache, RunKey, Stream};
use crate::ingest::extend::Base;
use crate::ingest::sink::FirstFacts;
use crate::ingest::{Growable, InputFile};

impl Cache {
    /// Keeps what a later run needs to extend the run `key` (its `.files` and `.grow`), written
    /// in the background before its table ([`super::RunSave::write_growable`]). A run found
    /// through its `.files` whose table is not there (being written by another run, or never
    /// written) is no base: [`Cache::find_base`] tries the next.
    pub(super) fn save_growable(&self, key: &RunKey, grow: &Growable) {
        if grow.digests.len() != grow.ids.len() {
            return; // read back, they would be taken one for the other
        }
        let mut files = Stream::start(self.derived_path(key.hash, "files"), || true, |_| {});
        derived_header(&mut files.w, key.hash);
        files.w.u32(key.head.len() as u32);
        files.w.buf.extend_from_slice(&key.head);
        files.w.u32(key.ends.len() as u32);
        files.put_all(entries(key), |w, e| {
            w.u32(e.len() as u32);
            w.buf.extend_from_slice(e);
        });
        files.finish();
        let mut out = Stream::start(self.derived_path(key.hash, "grow"), || true, |_| {});
        derived_header(&mut out.w, key.hash);
        out.w.u32(grow.ids.len() as u32);
        out.put_fixed(&grow.ids, |id| id.to_le_bytes());
        out.put_fixed(&grow.digests, |d| d.to_le_bytes());
        out.w.u32(grow.first_calls.len() as u32);
        out.put_all(&grow.first_calls, |w, &((key, created), (time, id, file, record))| {
            w.u32(key);
            w.i64(created);
            w.i64(time);
            w.u128(id);
            w.u32(file);
            w.u32(record);
        });
        out.finish();
    }

    /// Counts `n` files as taken from the cache (those of a run extended).
    pub(crate) fn taken(&self, n: u64) {
        self.hits.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// The kept run with the most files that a run over `files` (`key`) can extend: its
    /// options are the same and each of its files is one of `files`, unchanged, in the same
    /// order; `None` when there is none or its parts do not all read back whole.
    pub(in crate::ingest) fn find_base(&self, key: &RunKey, files: &[InputFile]) -> Option<Base> {
        let mut here: std::collections::HashMap<&[u8], u32> =
            std::collections::HashMap::with_capacity(files.len());
        for (i, e) in entries(key).enumerate() {
            if here.insert(e, i as u32).is_some() {
                return None; // a file named twice: no base is tried
            }
        }
        let mut candidates: Vec<(Vec<u32>, u128)> = Vec::new();
        for e in std::fs::read_dir(self.dir.join("runs")).ok()?.flatten() {
            let name = e.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".files")) else {
                continue;
            };
            let Ok(hash) = u128::from_str_radix(hex, 16) else { continue };
            if hex.len() != 32 || hash == key.hash {
                continue;
            }
            if let Some(map) = self.load_derived(hash, "files").and_then(|d| {
                let mut r = Reader::new(d.bytes());
                let n = r.count(1)?;
                if r.take(n)? != key.head.as_slice() {
                    return None;
                }
                let n = r.count(4)?;
                let mut map = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = r.count(1)?;
                    let i = *here.get(r.take(len)?)?;
                    if map.last().is_some_and(|&l| l >= i) {
                        return None;
                    }
                    map.push(i);
                }
                (r.b.is_empty() && n < files.len()).then_some(map)
            }) {
                candidates.push((map, hash));
            }
        }
        candidates.sort_unstable_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        candidates.into_iter().find_map(|(map, hash)| self.load_base(hash, map, files))
    }

    /// The run `hash`'s table, graph inputs and `.grow`, over `files` at `map`.
    fn load_base(&self, hash: u128, map: Vec<u32>, files: &[InputFile]) -> Option<Base> {
        // Not in the memory region: the extension grows the table's vectors.
        let theirs: Vec<InputFile> = map.iter().map(|&i| files[i as usize].clone()).collect();
        let ing = self.read_run(hash, theirs, false)?;
        // Each part is let go of as soon as it is decoded: at 5 GB of trail they are 160 MB
        // and 75 MB, all resident once their seal is checked.
        let inputs = self.load_derived(hash, "inputs")?;
        let (details, creds) = decode_graph_inputs(inputs.bytes(), ing.strings.len(), map.len())?;
        drop(inputs);
        let grow = self.load_derived(hash, "grow")?;
        let mut r = Reader::new(grow.bytes());
        let n = r.count(16)?;
        if n != ing.stubs.len() {
            return None;
        }
        let part = r.take(n * 16)?;
        let ids: Vec<u128> = part
            .chunks_exact(16)
            .map(|c| u128::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        grow.release(part);
        let part = r.take(n * 8)?;
        let digests: Vec<u64> = part
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        grow.release(part);
        // Each credential's first call, in the order of their keys as the facts are.
        let n = r.count(44)?;
        if n != creds.len() {
            return None;
        }
        let mut first: FirstFacts = FirstFacts::default();
        first.reserve(n);
        for (k, facts) in creds {
            if (r.u32()?, r.i64()?) != k {
                return None;
            }
            let origin = (r.i64()?, r.u128()?, r.u32()?, r.u32()?);
            if origin.2 as usize >= map.len() {
                return None;
            }
            first.insert(k, (origin, facts));
        }
        if !r.b.is_empty() {
            return None;
        }
        Some(Base { ing, details, creds: first, ids, digests, map, hash })
    }
}

/// The file entries of `key`, in order.
fn entries(key: &RunKey) -> impl Iterator<Item = &[u8]> + '_ {
    key.ends.iter().scan(0usize, |start, &end| {
        let e = &key.entries[*start..end];
        *start = end;
        Some(e)
    })
}

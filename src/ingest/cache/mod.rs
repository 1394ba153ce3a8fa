//! `--cache DIR`: what the first pass learned from each input file, kept so that the next run
//! over the same trail reads the cache instead of inflating and parsing the file again.
//!
//! One entry per input file, named by a hash of the file's canonical path, in two parts:
//!
//! - `files/<hash>.t`, the table: the file's key (canonical path, size, modification and
//!   status-change times, inode, device, the [xxh3-128] hash of its bytes as stored, the
//!   decompressed-size cap), what happened to it ([`FileOutcome`]: shape, counts, rejected
//!   records, SHA-256), its stubs with its own strings, the first facts of each credential
//!   it holds and its issuing calls. This is all a warm run reads.
//! - `files/<hash>.e`, the events: every record's normalized [`Event`], with an index by
//!   record, read back (a few records at a time) only when a report needs events in full
//!   ([`Ingest::for_each_event`](super::Ingest::for_each_event)).
//!
//! **Never trusted blindly.** An entry is used only when the file's size, modification time,
//! status-change time, inode and device are all unchanged. The status-change time (`ctime`)
//! moves on every write and cannot be set back by `touch` or any other call short of changing
//! the system clock, so a file rewritten with its old size and modification time restored is
//! still caught. When any of them differs the file is read and hashed: the same bytes (a
//! copied or touched file) keep the entry, other bytes are parsed again and the entry is
//! replaced. Removed files are simply not asked for. An entry that does not decode (another
//! version of trailhound, a truncated or scribbled file) is a miss, never an error.
//!
//! **Byte-identical to a cold run.** A run that fills the cache uses what it wrote: each file
//! read is encoded to its entry and decoded back into the run, exactly as a warm run would,
//! so both see the same stubs, issuing calls and facts. A file that failed for what its bytes
//! hold (damaged gzip or JSON, too large, empty) is cached with its salvaged records and its
//! problem, which every run reports again; one that could not be read (an I/O error) and
//! standard input are never cached.
//!
//! A run over files that all went through the cache also keeps its merged result (`runs/`,
//! see [`run`]), which the next run with the same files and options loads in one read: the
//! file is mapped, and its event table is used in place, in the layout of
//! [`Stub`](super::Stub) ([`Stubs`](super::Stubs)), after a check that it refers to no string
//! or file past the table's; so are the kept graph's indexes. Both files stay mapped for the
//! rest of the command: the cache directory must not be edited in place meanwhile (a file
//! cut short under the map would stop the process with SIGBUS). The tool itself never does:
//! every cache file is replaced through a new file and a rename. Only
//! the runs used last are kept ([`run::KEPT_RUNS`]): a batch of new log files makes a new
//! run, and the old one is removed once it falls out of those. Then the entries of input files
//! that are gone are removed too ([`Cache::prune_files`]).
//!
//! A run over more files than a kept run, which are all among them unchanged (new log files
//! arrived), reads only the new files and merges them into that run's table ([`grow`],
//! [`crate::ingest::extend`]).
//!
//! Every cache file names the build that wrote it (version, and the size and modification time
//! of the executable): another build's cache is a miss, never trusted to normalize alike.
//!
//! Each file ends with an xxh3-128 of its content (each event of `.e` has its own hash in the
//! index), so a damaged or half-written one is a miss, never a wrong answer. A file's entry
//! that is not there yet is created in its place ([`write::write_new`]: a run sharing the cache
//! that meets it half-written takes it for a miss); a cache file that is there is replaced
//! through a temporary name and a rename, never written over in place, so that a run reading
//! it (a mapped file) never sees its bytes change. The cache never lives inside an input
//! directory (SPEC §8): `load_with` refuses it like any other output.
//!
//! [xxh3-128]: https://xxhash.com/

pub(super) mod codec;
mod entry;
mod grow;
mod run;
mod write;

pub(crate) use codec::{Fields, Reader, Sink, Writer};
pub(super) use entry::{EventLog, StatKey};
pub(super) use run::decode_graph_inputs;
pub(crate) use run::{Derived, RunKey, RunSave};
pub use write::wait_for_writes;
pub(crate) use write::Stream;
use write::{wait_for_write_of, write_atomic, write_new};

use super::discover::InputFile;
use super::read::{how_found, process_file, Scratch};
use super::sink::ThreadAcc;
use crate::model::{Event, Origin};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The cache's digest key ([`Cache::open`]): read from `digest.key`, or made.
fn digest_key(dir: &Path) -> std::io::Result<[u64; 3]> {
    let path = dir.join("digest.key");
    if let Some(k) = read_sealed(&path).and_then(|b| parse_keys(&b)) {
        return Ok(k);
    }
    // No key, or a damaged one: no entry can be trusted to compare alike. Only a key that is
    // there and does not read back is removed (never one another run may just have made).
    remove_entries(dir);
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let k = crate::ingest::tape::fresh_keys();
    let mut w = Writer::default();
    for v in k {
        w.u64(v);
    }
    // Written beside and linked into place, so two runs that make the cache at once agree on
    // one key: the second link fails, and both read back the first.
    let tmp = dir.join(format!("digest.key.tmp{}.{:016x}", std::process::id(), k[0]));
    write_atomic(&tmp, &w.buf)?;
    match std::fs::hard_link(&tmp, &path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => {
            // No hard links on this file system (FAT, some network mounts): created only
            // when it is still not there.
            use std::io::Write;
            if let Ok(mut f) = std::fs::File::options().write(true).create_new(true).open(&path) {
                f.write_all(&std::fs::read(&tmp)?)?;
            }
        }
    }
    let _ = std::fs::remove_file(&tmp);
    read_sealed(&path)
        .and_then(|b| parse_keys(&b))
        .ok_or_else(|| std::io::Error::other("its digest key (digest.key) cannot be read back"))
}

/// Removes the cache's own files from `dir`'s `files/` and `runs/` (named `<32 hex
/// digits>.<part>` for one of the parts it writes, and starting with its magic bytes), and
/// nothing else: `--cache` may have been pointed at a directory that holds other things, and
/// files being written (`.tmp…`) are another run's.
fn remove_entries(dir: &Path) {
    for sub in ["files", "runs"] {
        let Ok(list) = std::fs::read_dir(dir.join(sub)) else { continue };
        for e in list.flatten() {
            if is_ours(&e) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Whether a directory entry is one of the cache's own files: a file named as one
/// ([`is_named`]), starting with its magic bytes (the file is opened: ask [`is_named`] first
/// where a name is enough).
pub(super) fn is_ours(e: &std::fs::DirEntry) -> bool {
    e.file_name().to_str().is_some_and(is_named) && e.file_type().is_ok_and(|t| t.is_file()) && {
        use std::io::Read;
        let mut magic = [0u8; 7];
        std::fs::File::open(e.path()).and_then(|mut f| f.read_exact(&mut magic)).is_ok()
            && &magic == b"THCACHE"
    }
}

/// Whether a file name is one the cache gives its files: `<32 hex digits>.<part>` for one of
/// the parts it writes.
pub(super) fn is_named(name: &str) -> bool {
    const PARTS: [&str; 8] = ["t", "e", "r", "inputs", "graph", "files", "grow", "events"];
    name.split_once('.').is_some_and(|(h, ext)| {
        h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()) && PARTS.contains(&ext)
    })
}

/// The three keys of `digest.key`.
fn parse_keys(b: &[u8]) -> Option<[u64; 3]> {
    let mut r = Reader::new(b);
    let k = [r.u64()?, r.u64()?, r.u64()?];
    (r.b.is_empty() && k.iter().all(|v| v & 1 == 1)).then_some(k)
}

/// An open cache directory.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    hits: AtomicU64,
    misses: AtomicU64,
    /// A file kept beside a run, read (and its seal checked) beside the run's table
    /// ([`Cache::load_run`]) for the [`Cache::load_derived`] that asks for it next.
    prefetched: std::sync::Mutex<Option<(PathBuf, Sealed)>>,
}

/// Where the events of a file read through the cache are: its entry's `.e` part, and the
/// content hash it must carry.
#[derive(Debug, Clone)]
pub(super) struct CachedEvents {
    path: PathBuf,
    hash: u128,
}

impl CachedEvents {
    /// The name its file's entry goes by in `files/` (without `.t` or `.e`).
    pub(super) fn entry_name(&self) -> String {
        self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

impl Cache {
    /// Opens (creating it when needed) the cache in `dir`.
    ///
    /// Every entry keeps its records' content digests, which deduplication compares with
    /// those of files read in later runs: they are all keyed with the cache's own random key
    /// (`digest.key`, made once, never replaced while it reads back whole), not the key a run
    /// without a cache draws for itself. A cache whose key is damaged or gone is emptied and
    /// given a new one: entries digested under another key would make copies of one event
    /// look different.
    ///
    /// # Errors
    /// The directory cannot be created, or another cache was opened in this process.
    pub fn open(dir: &Path) -> std::io::Result<Cache> {
        std::fs::create_dir_all(dir.join("files"))?;
        // SPEC §8: the cache's own folders and key are written into by every run; one that
        // is a link (planted: `files -> ../trail/AWSLogs`) would put the entries wherever it
        // leads, into the evidence too, which the check of the cache's own path cannot see.
        for part in ["files", "runs", "digest.key"] {
            let p = dir.join(part);
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(std::io::Error::other(format!(
                    "{} is a symbolic link: the cache writes into it, so it would write wherever the link leads (remove the link, or use another --cache folder)",
                    p.display()
                )));
            }
        }
        let keys = digest_key(dir)?;
        if !crate::ingest::tape::use_keys(keys) {
            return Err(std::io::Error::other(
                "another cache's digest key is already in use in this process",
            ));
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            prefetched: Default::default(),
        })
    }

    /// `(files taken from the cache, files read and cached)` so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    /// Removes the entries of input files that are gone (their canonical path names nothing
    /// any more): called when a run is saved, that is when the set of files changed. Only the
    /// start of each table is read, for the path in its header; an entry whose header does
    /// not decode (another build's, a damaged one) is left to be replaced when its file is
    /// read, and one whose path cannot be looked at (permissions) is kept.
    ///
    /// The entries named in `own` (by [`CachedEvents::entry_name`]) are those of the run just
    /// saved, whose files were looked at moments ago: they are not opened (at 1 GB of trail,
    /// opening every entry was an eighth of a `scan` run after new log files arrived). One of
    /// them whose file goes in between is pruned by a later run.
    pub(super) fn prune_files(&self, own: &std::collections::HashSet<String>) {
        use std::io::Read;
        let Ok(dir) = std::fs::read_dir(self.dir.join("files")) else { return };
        let mut buf = Vec::with_capacity(4096);
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(key) = name.to_str().and_then(|n| n.strip_suffix(".t")) else { continue };
            if key.len() != 32 || own.contains(key) {
                continue;
            }
            let mut header = None;
            for limit in [4096u64, 1 << 16] {
                buf.clear();
                let read = std::fs::File::open(e.path())
                    .and_then(|f| f.take(limit).read_to_end(&mut buf))
                    .is_ok();
                header = read.then(|| entry::header(&buf)).flatten();
                if header.is_some() || (buf.len() as u64) < limit {
                    break;
                }
            }
            let Some(h) = header else { continue };
            if Path::new(&h.path).try_exists().is_ok_and(|there| !there) {
                let _ = std::fs::remove_file(e.path());
                let _ = std::fs::remove_file(e.path().with_extension("e"));
            }
        }
    }

    fn entry_path(&self, canonical: &Path, ext: &str) -> PathBuf {
        let h = xxhash_rust::xxh3::xxh3_128(canonical.as_os_str().as_encoded_bytes());
        self.dir.join("files").join(format!("{h:032x}.{ext}"))
    }

    /// The first pass over one file through the cache: its entry when it is still valid,
    /// else the file itself (and a new entry). Returns the bytes the progress bar counts and,
    /// when the file's events are in the cache, where.
    pub(super) fn process(
        &self,
        f: &InputFile,
        idx: u32,
        st: &mut Scratch,
        acc: &mut ThreadAcc,
        cap: u64,
    ) -> (u64, Option<CachedEvents>) {
        let Some((canonical, meta)) = resolve(&f.path, &mut st.dirs) else {
            return (process_file(f, idx, None, st, acc, cap), None);
        };
        let key = entry::StatKey::of(&meta);
        let table = self.entry_path(&canonical, "t");
        let events = self.entry_path(&canonical, "e");
        let path_str = canonical.to_string_lossy();
        if let Some(bytes) = read_sealed(&table) {
            if let Some(hdr) = entry::header(&bytes) {
                if hdr.path == path_str && hdr.cap == cap && hdr.how == how_found(f) {
                    let same = hdr.stat == key || {
                        // Something about the file changed: its bytes decide.
                        read_raw(&canonical, cap, &mut st.raw)
                            && xxhash_rust::xxh3::xxh3_128(&st.raw) == hdr.hash
                            && {
                                // Same bytes: the entry stands, under the file's new key.
                                let _ = write_atomic(&table, &entry::rekey(&bytes, &key));
                                true
                            }
                    };
                    if same && entry::absorb(&bytes, idx, acc) {
                        self.hits.fetch_add(1, Ordering::Relaxed);
                        return (meta.len(), Some(CachedEvents { path: events, hash: hdr.hash }));
                    }
                }
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // Read into an accumulator of its own, encode it, and take back what was encoded.
        let mut own = ThreadAcc {
            inventory_only: false,
            fingerprint: true,
            events: Some(EventLog::default()),
            ..ThreadAcc::default()
        };
        let n = process_file(f, idx, None, st, &mut own, cap);
        let hash = xxhash_rust::xxh3::xxh3_128(&st.raw);
        let hdr =
            entry::Header { path: path_str.into_owned(), stat: key, hash, cap, how: how_found(f) };
        match entry::encode(&hdr, &mut own) {
            Some((t, e)) => {
                let written = write_new(&events, &e).is_ok() && write_new(&table, &t).is_ok();
                if entry::absorb(&t, idx, acc) {
                    return (n, written.then_some(CachedEvents { path: events, hash }));
                }
                // Cannot happen (the bytes were just encoded); read the file plainly.
                (process_file(f, idx, None, st, acc, cap), None)
            }
            // Not cacheable (a failed file): its outcome goes in as it is.
            None => {
                entry::absorb_plain(own, acc);
                (n, None)
            }
        }
    }
}

impl CachedEvents {
    /// The events of the records `want` (sorted record indices) as records of file `file`,
    /// those the entry holds. `None` when the entry is gone or no longer this file's.
    pub(super) fn events(&self, file: u32, want: &[u32]) -> Option<Vec<Event>> {
        entry::read_events(&self.path, self.hash, file, want)
    }
}

/// The version of trailhound and the identity of this very build (size and modification time
/// of the running executable): every cache file carries it, and one written by another build
/// is a miss. A rebuilt binary may normalize records differently; its cache starts afresh
/// rather than trust that every change to the first pass bumped a format number.
fn build_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe().and_then(std::fs::metadata).map(|m| {
            let t = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}:{}", m.len(), t.map_or(0, |d| d.as_nanos()))
        });
        match exe {
            Ok(e) => format!(
                "{}+{:016x}",
                env!("CARGO_PKG_VERSION"),
                xxhash_rust::xxh3::xxh3_64(e.as_bytes())
            ),
            Err(_) => env!("CARGO_PKG_VERSION").to_string(),
        }
    })
}

/// [`build_id`] and a fingerprint of the digest key this process uses (the cache's own, set by
/// [`Cache::open`] before any cache file is read or written): every cache file carries it, so
/// an entry or run digested under another key (a `digest.key` copied from another cache, a
/// `files/` directory taken from one) is a miss. Trusted, its digests made every copy of an
/// event it holds look different from the same event read fresh: a duplicate delivery became
/// an evidence conflict, and a tainted event was counted twice.
fn stamp() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let k = crate::ingest::tape::keys();
        let bytes: Vec<u8> = k.iter().flat_map(|v| v.to_le_bytes()).collect();
        format!("{}#{:016x}", build_id(), xxhash_rust::xxh3::xxh3_64(&bytes))
    })
}

/// `path` with every link in it resolved (as [`std::fs::canonicalize`]), and what the file
/// system says of the file it names. The resolved directory is kept in `dirs`: a file that is
/// not a link is its directory's resolved path and its name, one look at the file instead of
/// one per component of its path (after new log files arrived, resolving each path in full
/// was a twentieth of reading them).
fn resolve(
    path: &Path,
    dirs: &mut std::collections::HashMap<PathBuf, PathBuf>,
) -> Option<(PathBuf, std::fs::Metadata)> {
    let plain = || {
        let c = std::fs::canonicalize(path).ok()?;
        let m = std::fs::metadata(&c).ok()?;
        Some((c, m))
    };
    // A name that is a link, `..` or `.`, or no directory named: resolved in full.
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return plain() };
    let last = path.components().next_back();
    if dir.as_os_str().is_empty() || !matches!(last, Some(std::path::Component::Normal(_))) {
        return plain();
    }
    let m = std::fs::symlink_metadata(path).ok()?;
    if m.file_type().is_symlink() {
        return plain();
    }
    let resolved = match dirs.get(dir) {
        Some(d) => d.join(name),
        None => {
            let d = std::fs::canonicalize(dir).ok()?;
            let joined = d.join(name);
            dirs.insert(dir.to_path_buf(), d);
            joined
        }
    };
    Some((resolved, m))
}

/// Reads `path` whole (at most `cap + 1` bytes) into `buf`.
fn read_raw(path: &Path, cap: u64, buf: &mut Vec<u8>) -> bool {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(path).and_then(|f| f.take(cap.saturating_add(1)).read_to_end(buf)).is_ok()
}

/// The bytes of a sealed cache file without its seal: read into memory when small, mapped
/// when large (the run table and the kept graph: mapping them spares copying tens of MB out of
/// the page cache into freshly zeroed pages, the larger part of a warm run's reading).
pub(crate) enum Sealed {
    Read(Vec<u8>, usize),
    Mapped(memmap2::Mmap, usize),
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.len())
    }
}

impl Sealed {
    /// The file's bytes, seal included, and where the seal starts.
    fn whole(&self) -> (&[u8], usize) {
        match self {
            Sealed::Read(b, len) => (b, *len),
            Sealed::Mapped(m, len) => (m, *len),
        }
    }

    /// Gives back the memory of `part`, bytes of this file that are done with and will not be
    /// read again: the pages of a mapped file that hold only bytes of `part` leave the
    /// process's resident memory (they stay in the page cache). A warm run at 5 GB of trail
    /// decodes a 170 MB graph into 600 MB of objects; without this, every page of the file
    /// would stay resident to the end of the decoding, on top of what it made. Nothing for a
    /// file read into memory, or a part of less than a page.
    pub(crate) fn release(&self, part: &[u8]) {
        let Sealed::Mapped(m, _) = self else { return };
        let Some((offset, len)) =
            whole_pages(m.as_ptr() as usize, m.len(), part.as_ptr() as usize, part.len())
        else {
            return;
        };
        // SAFETY: a read-only mapping of a file that is never written in place (`write_parts`
        // renames a new file over it): dropping its pages only means that a later read would
        // fault them in again from the same file, and the caller reads none of `part` again.
        // The range is inside the map and page-aligned ([`whole_pages`]).
        let _ =
            unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len) };
    }
}

/// The range (offset from `base`, length) of the whole pages inside the `len` bytes at
/// `start`, in a map of `map_len` bytes at `base`; `None` when there is none or the bytes are
/// not all inside the map. Pages are taken as 64 KiB: a multiple of every page size Linux uses
/// on the usual machines, so the range is aligned whatever the page size is (the `madvise`
/// wrapper would otherwise widen it down to a page boundary, outside the bytes).
fn whole_pages(base: usize, map_len: usize, start: usize, len: usize) -> Option<(usize, usize)> {
    const ALIGN: usize = 1 << 16;
    let end = start.checked_add(len)?;
    if start < base || end > base.checked_add(map_len)? {
        return None;
    }
    let (from, to) = (start.checked_next_multiple_of(ALIGN)?, end / ALIGN * ALIGN);
    (to > from).then(|| (from - base, to - from))
}

impl std::ops::Deref for Sealed {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let (all, len) = self.whole();
        &all[..len]
    }
}

/// Files at least this large are mapped rather than read by [`read_sealed`].
const MAP_AT: u64 = 1 << 20;

/// Reads a file [`write_atomic`] wrote: its bytes without the seal, `None` when it is gone or
/// its seal does not match (a damaged or half-copied cache file is a miss).
fn read_sealed(path: &Path) -> Option<Sealed> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let size = f.metadata().ok()?.len();
    let b = if size >= MAP_AT {
        // SAFETY: a cache file is never written in place: `write_parts` writes a temporary
        // file and renames it over the old one, so the file mapped here keeps its bytes while
        // the map lives (a later run's rename leaves this inode as it is). Only a hand edit of
        // the cache directory during a run could change them under the map.
        let m = unsafe { memmap2::Mmap::map(&f) }.ok()?;
        let len = m.len().checked_sub(16)?;
        Sealed::Mapped(m, len)
    } else {
        let mut v = Vec::with_capacity(size as usize);
        f.read_to_end(&mut v).ok()?;
        let len = v.len().checked_sub(16)?;
        Sealed::Read(v, len)
    };
    let (all, len) = b.whole();
    let (body, seal) = all.split_at(len);
    let seal = u128::from_le_bytes(seal.try_into().ok()?);
    (xxhash_rust::xxh3::xxh3_128(body) == seal).then_some(b)
}

/// The origin of record `record` of file `file`.
fn origin(file: u32, record: u32) -> Origin {
    Origin { file, record }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest key is made once and read back by every later open; a damaged one is
    /// replaced, and the cache's own entries go with it (nothing else does).
    #[test]
    fn the_digest_key_is_made_once_and_a_damaged_one_empties_the_cache() {
        let d = tempfile::TempDir::new().unwrap();
        std::fs::create_dir_all(d.path().join("files")).unwrap();
        let k = digest_key(d.path()).unwrap();
        assert_eq!(digest_key(d.path()).unwrap(), k);
        let entry = d.path().join("files").join(format!("{:032x}.t", 7));
        std::fs::write(&entry, b"THCACHEt and the rest").unwrap();
        let other = d.path().join("files").join(format!("{:032x}.t", 8));
        std::fs::write(&other, b"not an entry").unwrap();
        assert_eq!(digest_key(d.path()).unwrap(), k, "a key that reads back stands");
        assert!(entry.exists());
        std::fs::write(d.path().join("digest.key"), b"scribbled").unwrap();
        let k2 = digest_key(d.path()).unwrap();
        assert_ne!(k2, k);
        assert_eq!(digest_key(d.path()).unwrap(), k2);
        assert!(!entry.exists() && other.exists());
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    /// Small files are read, large ones mapped; either way a changed byte, a cut or a file
    /// shorter than its seal is a miss, never a panic.
    #[test]
    fn sealed_files_read_or_mapped_fail_closed() {
        let dir = tempfile::TempDir::new().unwrap();
        for size in [10usize, MAP_AT as usize + 12_345] {
            let body: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let p = dir.path().join(format!("f{size}"));
            write_atomic(&p, &body).unwrap();
            let got = read_sealed(&p).expect("a sealed file reads back");
            assert_eq!(&got[..], &body[..]);
            assert_eq!(matches!(got, Sealed::Mapped(..)), size as u64 >= MAP_AT, "{size}");
            drop(got);
            let mut raw = std::fs::read(&p).unwrap();
            raw[size / 2] ^= 1;
            std::fs::write(&p, &raw).unwrap();
            assert!(read_sealed(&p).is_none(), "a changed byte");
            raw[size / 2] ^= 1;
            std::fs::write(&p, &raw[..raw.len() - 1]).unwrap();
            assert!(read_sealed(&p).is_none(), "a cut file");
            std::fs::write(&p, &raw[..7]).unwrap();
            assert!(read_sealed(&p).is_none(), "shorter than its seal");
        }
        assert!(read_sealed(&dir.path().join("gone")).is_none());
    }

    /// What a mapped file gives back is whole aligned pages inside the part, never a byte
    /// around it; and the bytes read the same afterwards.
    #[test]
    fn only_whole_pages_inside_a_part_are_given_back() {
        const A: usize = 1 << 16;
        let base = 7 * A;
        for (start, len) in
            [(base, 10 * A), (base + 1, 3 * A), (base + A - 1, A + 2), (base + 5, 2 * A)]
        {
            let (off, n) = whole_pages(base, 20 * A, start, len).expect("a whole page inside");
            assert_eq!((base + off) % A, 0);
            assert!(base + off >= start && base + off + n <= start + len, "{start} {len}");
            assert!(n + 2 * A > len, "every whole page is given: {start} {len}");
        }
        assert_eq!(whole_pages(base, 20 * A, base + 1, A), None, "no whole page inside");
        assert_eq!(whole_pages(base, 20 * A, base - 1, 3 * A), None, "starts before the map");
        assert_eq!(whole_pages(base, 4 * A, base, 5 * A), None, "ends after the map");
        assert_eq!(whole_pages(base, 4 * A, usize::MAX - 2, 5), None, "no overflow");

        let dir = tempfile::TempDir::new().unwrap();
        let body: Vec<u8> = (0..40 * A).map(|i| (i * 31 % 251) as u8).collect();
        let p = dir.path().join("big");
        write_atomic(&p, &body).unwrap();
        let got = read_sealed(&p).expect("reads back");
        assert!(matches!(got, Sealed::Mapped(..)));
        got.release(&got[3 * A + 17..20 * A]);
        got.release(&body[..]); // not of this file: nothing
        assert_eq!(&got[..], &body[..], "the bytes read the same after a release");
    }

    /// A new entry is written in its place and reads back sealed; one already there (stale,
    /// or half-written by a run that crashed) is replaced whole, never written over in place;
    /// a half-written one is a miss until then.
    #[test]
    fn a_new_entry_is_written_in_place_and_an_old_one_replaced() {
        let dir = tempfile::TempDir::new().unwrap();
        let p = dir.path().join("e");
        let body: Vec<u8> = (0..5000).map(|i| (i * 7 % 251) as u8).collect();
        write_new(&p, &body).unwrap();
        assert_eq!(&read_sealed(&p).expect("sealed")[..], &body[..]);
        // Cut short, as by a crash: a miss.
        let raw = std::fs::read(&p).unwrap();
        std::fs::write(&p, &raw[..raw.len() / 2]).unwrap();
        assert!(read_sealed(&p).is_none(), "a half-written entry is a miss");
        // Written again: the file there is replaced (a new inode), not written into.
        #[cfg(unix)]
        let before = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&p).unwrap());
        let other: Vec<u8> = body.iter().rev().copied().collect();
        write_new(&p, &other).unwrap();
        assert_eq!(&read_sealed(&p).expect("sealed")[..], &other[..]);
        #[cfg(unix)]
        assert_ne!(std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&p).unwrap()), before);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
        // Somewhere it cannot be created: an error, nothing written.
        assert!(write_new(&dir.path().join("no/such/dir/e"), &body).is_err());
    }

    /// A path resolves as `canonicalize` resolves it, whatever links it goes through (a
    /// linked directory, a linked file, `..`), with the file's own metadata;
    /// a second file of the same directory takes the directory from what was kept.
    #[cfg(unix)]
    #[test]
    fn paths_resolve_as_canonicalize_resolves_them() {
        let d = tempfile::TempDir::new().unwrap();
        let real = d.path().join("real/2024/03");
        std::fs::create_dir_all(&real).unwrap();
        for n in ["a.json.gz", "b.json.gz"] {
            std::fs::write(real.join(n), n).unwrap();
        }
        std::os::unix::fs::symlink(d.path().join("real"), d.path().join("linked")).unwrap();
        std::os::unix::fs::symlink(real.join("a.json.gz"), real.join("c.json.gz")).unwrap();
        let rel = std::path::PathBuf::from(format!("{}/../", d.path().display()));
        let paths = [
            real.join("a.json.gz"),
            real.join("b.json.gz"),
            d.path().join("linked/2024/03/a.json.gz"),
            d.path().join("linked/2024/03/b.json.gz"),
            real.join("c.json.gz"),
            d.path().join("linked/2024/../2024/03/c.json.gz"),
            rel.join(d.path().file_name().unwrap()).join("real/2024/03/b.json.gz"),
        ];
        let mut dirs = std::collections::HashMap::new();
        for p in &paths {
            let (got, meta) = resolve(p, &mut dirs).expect("resolves");
            assert_eq!(got, std::fs::canonicalize(p).unwrap(), "{}", p.display());
            let want = std::fs::metadata(p).unwrap();
            assert_eq!(entry::StatKey::of(&meta), entry::StatKey::of(&want), "{}", p.display());
        }
        assert!(dirs.len() >= 2, "directories kept: {dirs:?}");
        assert!(resolve(&real.join("gone.json.gz"), &mut dirs).is_none());
    }
}

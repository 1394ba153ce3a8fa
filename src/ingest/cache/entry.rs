//! One cache entry: its key, the encoding of a file's first-pass results (`.t`) and events
//! (`.e`), and taking a decoded entry into a worker's accumulator.

use super::codec::{get_event, get_facts, put_event, put_facts, Reader, Writer};
use super::origin;
use crate::ingest::issuing::for_graph;
use crate::ingest::parse::Shape;
use crate::ingest::sink::{keep_first, FileOutcome, FileStatus, ThreadAcc};
use crate::ingest::table::{CredFacts, Keyed};
use crate::ingest::{RecordReject, RejectReason, Stub, DETAIL, HAS_ID, NONE};
use crate::model::Event;
use std::path::Path;

const TABLE_MAGIC: &[u8; 8] = b"THCACHEt";
const EVENTS_MAGIC: &[u8; 8] = b"THCACHEe";
/// Bumped whenever what an entry holds, or how the first pass computes it, changes: an entry
/// of another format is a miss.
const FORMAT: u32 = 14;

/// What the file system says about a file: any change in it sends the file to be hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::ingest) struct StatKey {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    dev: u64,
}

impl StatKey {
    #[cfg(unix)]
    pub(in crate::ingest) fn of(m: &std::fs::Metadata) -> StatKey {
        use std::os::unix::fs::MetadataExt;
        StatKey {
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        }
    }
    #[cfg(not(unix))]
    pub(in crate::ingest) fn of(m: &std::fs::Metadata) -> StatKey {
        // Without a status-change time every entry is checked by its hash.
        let t = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or((0, 0), |d| (d.as_secs() as i64, i64::from(d.subsec_nanos())));
        StatKey { size: m.len(), mtime: t, ctime: (-1, -1), ino: 0, dev: 0 }
    }
    pub(super) fn put(&self, w: &mut Writer) {
        w.u64(self.size);
        for v in [self.mtime.0, self.mtime.1, self.ctime.0, self.ctime.1] {
            w.i64(v);
        }
        w.u64(self.ino);
        w.u64(self.dev);
    }
    fn get(r: &mut Reader<'_>) -> Option<StatKey> {
        Some(StatKey {
            size: r.u64()?,
            mtime: (r.i64()?, r.i64()?),
            ctime: (r.i64()?, r.i64()?),
            ino: r.u64()?,
            dev: r.u64()?,
        })
    }
}

/// The key of an entry.
#[derive(Debug, Clone)]
pub(super) struct Header {
    /// Canonical path of the input file.
    pub(super) path: String,
    pub(super) stat: StatKey,
    /// xxh3-128 of the file's bytes as stored.
    pub(super) hash: u128,
    /// The decompressed-size cap the file was read with.
    pub(super) cap: u64,
    /// How the run came to the file (`read::how_found`: named on the command
    /// line, where it lies and how it is named), on which what a file that is not CloudTrail
    /// counts as depends (skipped, or a damaged log file).
    pub(super) how: u8,
}

fn put_header(w: &mut Writer, h: &Header) {
    w.buf.extend_from_slice(TABLE_MAGIC);
    w.u32(FORMAT);
    w.str(super::stamp());
    w.str(&h.path);
    h.stat.put(w);
    w.u128(h.hash);
    w.u64(h.cap);
    w.u8(h.how);
}

fn get_header(r: &mut Reader<'_>) -> Option<Header> {
    let magic: [u8; 8] = [r.u8()?, r.u8()?, r.u8()?, r.u8()?, r.u8()?, r.u8()?, r.u8()?, r.u8()?];
    if &magic != TABLE_MAGIC || r.u32()? != FORMAT || r.str()? != super::stamp() {
        return None;
    }
    Some(Header {
        path: r.str()?.to_string(),
        stat: StatKey::get(r)?,
        hash: r.u128()?,
        cap: r.u64()?,
        how: match r.u8()? {
            how @ 0..=7 => how,
            _ => return None,
        },
    })
}

/// The header of a `.t` entry, when it is one of this version.
pub(super) fn header(bytes: &[u8]) -> Option<Header> {
    get_header(&mut Reader::new(bytes))
}

/// The same entry under another [`StatKey`] (the file was touched or copied, its bytes are
/// the same).
pub(super) fn rekey(bytes: &[u8], stat: &StatKey) -> Vec<u8> {
    let mut r = Reader::new(bytes);
    let Some(mut h) = get_header(&mut r) else { return bytes.to_vec() };
    h.stat = *stat;
    let mut w = Writer::default();
    put_header(&mut w, &h);
    w.buf.extend_from_slice(r.b);
    w.buf
}

/// Every record's event as the first pass normalized it, encoded as it comes.
#[derive(Debug, Default)]
pub(crate) struct EventLog {
    w: Writer,
    /// `(record, start, end)` in `w`, in record order.
    index: Vec<(u32, u64, u64)>,
}

impl EventLog {
    /// Records the event of record `record`; `has_id`: the record carried an `eventID`.
    pub(crate) fn push(&mut self, record: u32, e: &Event, has_id: bool) {
        let start = self.w.buf.len() as u64;
        put_event(&mut self.w, e, has_id);
        self.index.push((record, start, self.w.buf.len() as u64));
    }
    fn bytes_of(&self, record: u32) -> Option<&[u8]> {
        let i = self.index.binary_search_by_key(&record, |x| x.0).ok()?;
        let (_, s, e) = self.index[i];
        self.w.buf.get(s as usize..e as usize)
    }
}

/// The reasons a file can be skipped for and still be cached: what its bytes say, not what
/// happened while reading it.
pub(super) const CACHED_SKIPS: [&str; 3] = ["digest", "not_json", "not_cloudtrail"];

/// The reasons a file can fail for and still be cached: what its bytes (read with the same
/// cap) say. An I/O error is never cached: the file is tried again next time.
pub(super) const CACHED_FAILS: [&str; 9] = [
    "gzip_truncated",
    "gzip_corrupt",
    "too_large",
    "empty_file",
    "not_json",
    "invalid_json",
    "invalid_parquet",
    "not_cloudtrail",
    "damaged_cloudtrail",
];

pub(super) const SHAPES: [Shape; 9] = [
    Shape::RecordsWrapper,
    Shape::Array,
    Shape::JsonLines,
    Shape::LookupEvents,
    Shape::SingleRecord,
    Shape::Concatenated,
    Shape::Digest,
    Shape::Parquet,
    Shape::QueryResult,
];

pub(super) const REJECTS: [RejectReason; 9] = [
    RejectReason::NotARecord,
    RejectReason::Insight,
    RejectReason::MissingEventTime,
    RejectReason::BadEventTime,
    RejectReason::InvalidJson,
    RejectReason::TooDeep,
    RejectReason::DuplicateKey,
    RejectReason::InvalidResultRow,
    RejectReason::WrongType,
];

/// Encodes what `own` (the accumulator of this one file) holds into the `.t` and `.e` parts of
/// its entry; `None` when the file is not cached (it failed, or was skipped for a reason that
/// is not in its bytes).
pub(super) fn encode(h: &Header, own: &mut ThreadAcc) -> Option<(Vec<u8>, Vec<u8>)> {
    let [out] = own.files.as_slice() else { return None };
    let log = own.events.as_ref()?;
    let mut w = Writer::default();
    put_header(&mut w, h);
    match &out.status {
        FileStatus::Read(shape) => {
            w.u8(0);
            w.u8(SHAPES.iter().position(|s| s == shape)? as u8);
        }
        FileStatus::Skipped(reason, detail) if CACHED_SKIPS.contains(reason) => {
            w.u8(1);
            w.str(reason);
            w.str(detail);
        }
        FileStatus::Failed(reason, detail) if CACHED_FAILS.contains(reason) => {
            w.u8(2);
            w.str(reason);
            w.str(detail);
        }
        _ => return None,
    }
    for v in [out.bytes_read, out.bytes_decompressed, out.records, out.truncated] {
        w.u64(v);
    }
    w.opt_str(out.sha256.as_deref());
    w.u32(out.rejects.len() as u32);
    for r in &out.rejects {
        w.u32(r.record);
        w.str(r.reason.code());
        w.str(&r.detail);
        w.u64(r.more);
    }
    let strings = &own.strings.list;
    w.u32(strings.len() as u32);
    for s in strings.iter() {
        w.str(s);
    }
    w.u32(own.stubs.len() as u32);
    for k in &own.stubs {
        w.u128(k.id);
        w.u64(k.digest);
        let s = &k.s;
        w.i64(s.time);
        w.i64(s.created);
        w.u32(s.record);
        for v in [s.key, s.ip, s.account, s.region, s.source, s.principal] {
            w.u32(v);
        }
        w.u8(s.flags);
    }
    let mut creds: Vec<_> = own.creds.iter().collect();
    creds.sort_unstable_by_key(|(k, _)| **k);
    w.u32(creds.len() as u32);
    for ((key, created), ((time, id, _, record), f)) in creds {
        w.u32(*key);
        w.i64(*created);
        w.i64(*time);
        w.u128(*id);
        w.u32(*record);
        put_facts(&mut w, f);
    }
    let details: Vec<u32> =
        own.stubs.iter().filter(|k| k.s.flags & DETAIL != 0).map(|k| k.s.record).collect();
    w.u32(details.len() as u32);
    for r in details {
        let b = log.bytes_of(r)?;
        w.u32(r);
        w.u32(b.len() as u32);
        w.buf.extend_from_slice(b);
    }

    let mut e = Writer::default();
    e.buf.extend_from_slice(EVENTS_MAGIC);
    e.u32(FORMAT);
    e.u128(h.hash);
    e.u32(log.index.len() as u32);
    for &(r, s, end) in &log.index {
        e.u32(r);
        e.u64(s);
        e.u64(end);
        e.u64(xxhash_rust::xxh3::xxh3_64(&log.w.buf[s as usize..end as usize]));
    }
    e.buf.extend_from_slice(&log.w.buf);
    Some((w.buf, e.buf))
}

/// A credential's first call in a file entry: `(time, eventID's number, record)`.
type EntryCall = (i64, u128, u32);

/// A decoded `.t` entry, with strings still borrowed from its bytes.
struct Decoded<'a> {
    status: FileStatus,
    counts: [u64; 4],
    sha256: Option<String>,
    rejects: Vec<RecordReject>,
    strings: Vec<&'a str>,
    stubs: Vec<Keyed>,
    /// `((key, created), (time, id, record), facts)`.
    creds: Vec<((u32, i64), EntryCall, CredFacts)>,
    details: Vec<Event>,
}

fn decode(bytes: &[u8], file: u32) -> Option<Decoded<'_>> {
    let mut r = Reader::new(bytes);
    get_header(&mut r)?;
    let status = match r.u8()? {
        0 => FileStatus::Read(*SHAPES.get(r.u8()? as usize)?),
        1 => {
            let reason = r.str()?;
            let reason = *CACHED_SKIPS.iter().find(|c| **c == reason)?;
            FileStatus::Skipped(reason, r.str()?.to_string())
        }
        2 => {
            let reason = r.str()?;
            let reason = *CACHED_FAILS.iter().find(|c| **c == reason)?;
            FileStatus::Failed(reason, r.str()?.to_string())
        }
        _ => return None,
    };
    let counts = [r.u64()?, r.u64()?, r.u64()?, r.u64()?];
    let sha256 = r.opt_str()?.map(str::to_string);
    let n = r.count(20)?;
    let mut rejects = Vec::with_capacity(n);
    for _ in 0..n {
        let record = r.u32()?;
        let code = r.str()?;
        let reason = *REJECTS.iter().find(|x| x.code() == code)?;
        let detail = r.str()?.to_string();
        rejects.push(RecordReject { record, reason, detail, more: r.u64()? });
    }
    let n = r.count(4)?;
    let mut strings = Vec::with_capacity(n);
    for _ in 0..n {
        strings.push(r.str()?);
    }
    let local = |i: u32| (i == NONE || (i as usize) < strings.len()).then_some(i);
    let n = r.count(69)?;
    let mut stubs = Vec::with_capacity(n);
    for _ in 0..n {
        let mut id = r.u128()?;
        let digest = r.u64()?;
        let time = r.i64()?;
        let created = r.i64()?;
        let record = r.u32()?;
        let s = Stub {
            time,
            created,
            file,
            record,
            key: local(r.u32()?)?,
            ip: local(r.u32()?)?,
            account: local(r.u32()?)?,
            region: local(r.u32()?)?,
            source: local(r.u32()?)?,
            principal: local(r.u32()?)?,
            flags: r.u8()?,
        };
        if s.flags & HAS_ID == 0 {
            // The stand-in id of a record without one names its file's position in this run.
            id = crate::ingest::table::stand_in(file, record);
        }
        stubs.push(Keyed { id, digest, s });
    }
    let n = r.count(70)?;
    let mut creds = Vec::with_capacity(n);
    for _ in 0..n {
        let key = local(r.u32()?)?;
        let created = r.i64()?;
        let time = r.i64()?;
        let id = r.u128()?;
        let record = r.u32()?;
        let facts = get_facts(&mut r, local)?;
        creds.push(((key, created), (time, id, record), facts));
    }
    let n = r.count(8)?;
    let mut details = Vec::with_capacity(n);
    for _ in 0..n {
        let record = r.u32()?;
        let len = r.u32()? as usize;
        let mut er = Reader::new(r.b.get(..len)?);
        r.b = &r.b[len..];
        details.push(get_event(&mut er, origin(file, record))?);
    }
    if !r.b.is_empty() {
        return None;
    }
    // One issuing call for each event flagged as having one, and no other, as the writer keeps
    // them (the merge counts on it, [`crate::ingest::merge`]).
    let flagged = stubs.iter().filter(|k| k.s.flags & DETAIL != 0).map(|k| k.s.record);
    if !flagged.eq(details.iter().map(|d| d.origin.record)) {
        return None;
    }
    Some(Decoded { status, counts, sha256, rejects, strings, stubs, creds, details })
}

/// Takes the entry `bytes` (a `.t` part) into `acc` as file `file`; false (and `acc`
/// untouched) when it does not decode.
pub(super) fn absorb(bytes: &[u8], file: u32, acc: &mut ThreadAcc) -> bool {
    let Some(d) = decode(bytes, file) else { return false };
    let remap: Vec<u32> = d.strings.iter().map(|s| acc.strings.intern(s)).collect();
    let m = |i: u32| if i == NONE { NONE } else { remap[i as usize] };
    let full = !acc.inventory_only;
    acc.stubs.extend(d.stubs.into_iter().map(|Keyed { id, digest, s }| Keyed {
        id,
        digest,
        s: Stub { flags: if full { s.flags } else { s.flags & !DETAIL }, ..s.remap(m) },
    }));
    if full {
        for ((k, created), (time, id, record), facts) in d.creds {
            let here = (time, id, file, record);
            keep_first(&mut acc.creds, (m(k), created), here, facts.remap(m));
        }
        acc.details.extend(d.details.into_iter().map(for_graph));
    }
    let [bytes_read, bytes_decompressed, records, truncated] = d.counts;
    acc.files.push(FileOutcome {
        file,
        status: d.status,
        bytes_read,
        bytes_decompressed,
        records,
        rejects: d.rejects,
        truncated,
        sha256: d.sha256,
    });
    true
}

/// Takes a file's own accumulator (a file that is not cached) into `acc`.
pub(super) fn absorb_plain(own: ThreadAcc, acc: &mut ThreadAcc) {
    let remap: Vec<u32> = own.strings.list.iter().map(|s| acc.strings.intern(s)).collect();
    let m = |i: u32| if i == NONE { NONE } else { remap[i as usize] };
    let full = !acc.inventory_only;
    acc.stubs.extend(own.stubs.into_iter().map(|Keyed { id, digest, s }| Keyed {
        id,
        digest,
        s: Stub { flags: if full { s.flags } else { s.flags & !DETAIL }, ..s.remap(m) },
    }));
    if full {
        for ((k, created), (here, facts)) in own.creds {
            keep_first(&mut acc.creds, (m(k), created), here, facts.remap(m));
        }
        acc.details.extend(own.details);
    }
    let mut files = own.files;
    if !acc.fingerprint {
        for f in &mut files {
            f.sha256 = None;
        }
    }
    acc.files.extend(files);
}

/// Reads the events of the records `want` (sorted) from the `.e` part at `path`, which must
/// carry `hash`, as records of file `file`. `None` when the part is gone, another file's, or
/// does not decode; records it does not hold are left out.
pub(super) fn read_events(path: &Path, hash: u128, file: u32, want: &[u32]) -> Option<Vec<Event>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let at = |f: &mut std::fs::File, pos: u64, buf: &mut [u8]| -> Option<()> {
        f.seek(SeekFrom::Start(pos)).ok()?;
        f.read_exact(buf).ok()
    };
    let mut head = [0u8; 32];
    at(&mut f, 0, &mut head)?;
    if &head[..8] != EVENTS_MAGIC {
        return None;
    }
    let mut r = Reader::new(&head[8..]);
    if r.u32()? != FORMAT || r.u128()? != hash {
        return None;
    }
    let n = r.u32()? as u64;
    let index_len = n.checked_mul(28)?;
    let data_start = 32u64.checked_add(index_len)?;
    if data_start > len {
        return None;
    }
    let mut index = vec![0u8; index_len as usize];
    at(&mut f, 32, &mut index)?;
    let entry = |i: usize| -> Option<(u32, u64, u64, u64)> {
        let mut r = Reader::new(index.get(i * 28..i * 28 + 28)?);
        Some((r.u32()?, r.u64()?, r.u64()?, r.u64()?))
    };
    let n = n as usize;
    // Where each wanted record is, then one read per run of records less than GAP apart
    // (thousands of tainted events in a file are a few reads, not a system call each).
    const GAP: u64 = 64 << 10;
    let mut found: Vec<(u32, u64, u64, u64)> = Vec::with_capacity(want.len());
    let mut lo = 0usize;
    for &rec in want {
        // The index is in record order, as `want` is: search only what is left of it.
        let (mut a, mut b) = (lo, n);
        while a < b {
            let mid = (a + b) / 2;
            if entry(mid)?.0 < rec {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        lo = a;
        if a == n {
            break;
        }
        let (r0, s, e, hash) = entry(a)?;
        if r0 != rec {
            continue;
        }
        if e < s || data_start.checked_add(e)? > len || found.last().is_some_and(|l| s < l.2) {
            return None;
        }
        found.push((rec, s, e, hash));
    }
    let mut out = Vec::with_capacity(found.len());
    let mut buf = Vec::new();
    let mut i = 0;
    while i < found.len() {
        let mut j = i + 1;
        while j < found.len() && found[j].1 - found[j - 1].2 <= GAP {
            j += 1;
        }
        let start = found[i].1;
        buf.resize((found[j - 1].2 - start) as usize, 0);
        at(&mut f, data_start + start, &mut buf)?;
        for &(rec, s, e, hash) in &found[i..j] {
            let b = &buf[(s - start) as usize..(e - start) as usize];
            if xxhash_rust::xxh3::xxh3_64(b) != hash {
                return None;
            }
            out.push(get_event(&mut Reader::new(b), origin(file, rec))?);
        }
        i = j;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::read::{process_file, Scratch};
    use crate::ingest::InputFile;

    /// Every file under `dir`.
    fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
        out.sort();
        out
    }

    /// An entry is taken back only with one issuing call for each event flagged as having
    /// one (the merge counts on it, keeping every call when as many flagged events are left
    /// as there are calls): an entry whose flag was cleared on the way is a miss.
    #[test]
    fn an_entry_whose_issuing_calls_and_flagged_events_differ_is_a_miss() {
        let mut s = crate::gen::scenario::Scenario::new();
        let k = s.user_key("111122223333", "ci-deployer", "AKIAIOSFODNN7EXAMPLE");
        let role = "arn:aws:iam::111122223333:role/Deploy";
        let d1 = s.assume_role(&k, 1_710_151_200, role, "d1", 3600);
        s.call(&d1, 1_710_151_210, "s3.amazonaws.com", "ListBuckets", serde_json::Value::Null);
        let dir = tempfile::TempDir::new().unwrap();
        s.write(dir.path(), &[]).unwrap();
        let mut tried = 0;
        for path in files_under(dir.path()) {
            let f = InputFile { path: path.clone(), explicit: true };
            let mut own = ThreadAcc {
                inventory_only: false,
                fingerprint: true,
                events: Some(EventLog::default()),
                ..ThreadAcc::default()
            };
            let cap = 1 << 30;
            process_file(&f, 0, None, &mut Scratch::new(), &mut own, cap);
            let stat = StatKey::of(&std::fs::metadata(&path).unwrap());
            let h = Header { path: path.display().to_string(), stat, hash: 0, cap, how: 1 };
            let Some((t, _)) = encode(&h, &mut own) else { continue };
            let d = decode(&t, 0).expect("an entry just encoded decodes");
            let Some(k) = d.stubs.iter().find(|k| k.s.flags & DETAIL != 0) else { continue };
            assert_eq!(d.details.len(), 1);
            // The flag byte of that event: after its time, creationDate, record and six strings.
            let mut at = k.s.time.to_le_bytes().to_vec();
            at.extend(k.s.created.to_le_bytes());
            at.extend(k.s.record.to_le_bytes());
            let pos = t.windows(at.len()).position(|w| w == at.as_slice()).unwrap();
            let flag = pos + at.len() + 6 * 4;
            assert_eq!(t[flag], k.s.flags);
            let mut cleared = t.clone();
            cleared[flag] &= !DETAIL;
            assert!(decode(&cleared, 0).is_none(), "a call whose event is not flagged");
            tried += 1;
        }
        assert_eq!(tried, 1, "one file holds the AssumeRole call");
    }
}

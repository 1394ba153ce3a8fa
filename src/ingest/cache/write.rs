//! Writing cache files: sealed and renamed into place ([`write_atomic`]); the run's table,
//! graph inputs and graph on a thread of their own, one after the other, while they are
//! encoded ([`Stream`]).

use super::codec::Writer;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};

/// The writing of the run's table and graph in the background, one job after the other in
/// the order given.
struct Writing {
    /// The last job started: it waits for the one before it first.
    last: Option<std::thread::JoinHandle<()>>,
    /// The files the jobs given since the last wait write.
    files: Vec<PathBuf>,
    /// Encoders running beside the command ([`beside`]), which queue jobs of their own.
    side: Vec<std::thread::JoinHandle<()>>,
}

static WRITING: std::sync::Mutex<Writing> =
    std::sync::Mutex::new(Writing { last: None, files: Vec::new(), side: Vec::new() });

type Job = Box<dyn FnOnce() + Send>;

/// Runs `run(value)` on a new thread named `name`; when no thread can be started, gives
/// `value` back (through a slot: `spawn` drops a closure it cannot start, and what it holds
/// with it).
fn spawn_or_give_back<T: Send + 'static>(
    name: &str,
    value: T,
    run: impl FnOnce(T) + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, Option<T>> {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(value)));
    let theirs = slot.clone();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            if let Some(v) = theirs.lock().ok().and_then(|mut v| v.take()) {
                run(v);
            }
        })
        .map_err(|_| slot.lock().ok().and_then(|mut v| v.take()))
}

/// Starts `job` (writing cache files) on a thread of its own, after the jobs queued before
/// it: the run's table and graph are hundreds of MB at 5 GB of trail, and copying them into
/// the page cache took a fifth of a run that fills the cache while the other core waited on
/// the single-threaded graph build. When no thread can be started, waits here for those jobs
/// and gives `job` back.
fn queue(writes: Vec<PathBuf>, job: Job) -> Result<(), Job> {
    let mut pending = WRITING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    pending.files.extend(writes);
    // The job goes with the one before it, which it waits for first.
    let started =
        spawn_or_give_back("cache-writer", (pending.last.take(), job), |(before, job)| {
            if let Some(h) = before {
                let _ = h.join();
            }
            job();
        });
    match started {
        Ok(h) => {
            pending.last = Some(h);
            Ok(())
        }
        Err(back) => {
            // The earlier jobs are waited for with the lock let go (a job never takes it, but
            // a stream's job waits for its encoder, which may need it).
            drop(pending);
            let Some((before, job)) = back else { return Ok(()) };
            if let Some(h) = before {
                let _ = h.join();
            }
            Err(job)
        }
    }
}

/// Runs `encode` (which writes the cache files `writes` through [`Stream`]s) on a thread of
/// its own, beside the command: the session graph is encoded while `blast` and `plan` read
/// it. [`wait_for_writes`] waits for it. When no thread can be started, runs it here.
pub(super) fn beside(writes: Vec<PathBuf>, encode: Job) {
    let mut pending = WRITING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    pending.files.extend(writes);
    match spawn_or_give_back("cache-encoder", encode, |job| job()) {
        Ok(h) => pending.side.push(h),
        Err(back) => {
            // The job queues streams, which takes the lock.
            drop(pending);
            if let Some(job) = back {
                job();
            }
        }
    }
}

/// Waits until every cache file given to be written has been: called before the process ends,
/// and before a file being written is read ([`wait_for_write_of`]), so that a run finds what
/// an earlier one in the same process kept. Never called from a job itself. A panic of an
/// encoder running [`beside`] the command is raised here.
pub fn wait_for_writes() {
    // The encoders first: they queue the jobs waited for below.
    loop {
        let side = std::mem::take(
            &mut WRITING.lock().unwrap_or_else(std::sync::PoisonError::into_inner).side,
        );
        if side.is_empty() {
            break;
        }
        for h in side {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
    let last = {
        let mut pending = WRITING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.files.clear();
        pending.last.take()
    };
    if let Some(h) = last {
        let _ = h.join();
        crate::diag::mark("cache: writes finished");
    }
}

/// [`wait_for_writes`], when `path` is one of the files being written.
pub(super) fn wait_for_write_of(path: &Path) -> bool {
    let pending = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .files
        .iter()
        .any(|p| p == path);
    if pending {
        wait_for_writes();
    }
    pending
}

/// Writes `bytes` and their seal (xxh3-128, checked by [`super::read_sealed`]) to a temporary
/// file beside `path` and renames it over `path`.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_parts(path, &[bytes])
}

/// [`write_atomic`] of the concatenation of `parts`, without concatenating them in memory.
pub(super) fn write_parts(path: &Path, parts: &[impl AsRef<[u8]>]) -> std::io::Result<()> {
    let mut out = Sealing::create(path)?;
    for p in parts {
        out.write(p.as_ref())?;
    }
    out.commit()
}

/// [`write_atomic`] of a file that is not there yet (the entry of a log file read for the
/// first time): created in its place rather than beside it and renamed, which makes three
/// changes to the directory instead of one (after new log files arrived, renaming the entries
/// of the files read was a tenth of the reading; the entries of a whole trail share one
/// directory). It is never written in place over bytes a reader may hold: should it be there
/// already (another run sharing the cache wrote it meanwhile), [`write_atomic`] replaces it.
/// A reader that meets it half-written finds its seal wrong, a miss as for a damaged file; so
/// does the run after a crash in the middle of it, which then writes it again.
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file = match std::fs::File::options().write(true).create_new(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return write_atomic(path, bytes);
        }
        Err(e) => return Err(e),
    };
    let seal = xxhash_rust::xxh3::Xxh3::new();
    let mut out = Sealing { path: path.to_path_buf(), tmp: None, file, seal };
    out.write(bytes)?;
    out.commit()
}

/// A cache file being written, and the seal of what it holds: in a temporary file beside it
/// (renamed into place once sealed), or in its place when it is new ([`write_new`]).
struct Sealing {
    path: PathBuf,
    /// The temporary file, or `None` when the file is written in its place.
    tmp: Option<PathBuf>,
    file: std::fs::File,
    seal: xxhash_rust::xxh3::Xxh3,
}

impl Sealing {
    fn create(path: &Path) -> std::io::Result<Sealing> {
        let tmp = path.with_extension(format!(
            "tmp{}.{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let tmp = PathBuf::from(tmp.to_string_lossy().replace(['(', ')', ' '], ""));
        // A new file, never one (or a link) left there: opened for writing, a link planted at
        // this name would be written through.
        if std::fs::symlink_metadata(&tmp).is_ok() {
            std::fs::remove_file(&tmp)?;
        }
        let file = std::fs::File::options().write(true).create_new(true).open(&tmp)?;
        let seal = xxhash_rust::xxh3::Xxh3::new();
        Ok(Sealing { path: path.to_path_buf(), tmp: Some(tmp), file, seal })
    }

    /// The file being written: the temporary one, or the file itself.
    fn written(&self) -> &Path {
        self.tmp.as_deref().unwrap_or(&self.path)
    }

    fn write(&mut self, b: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        self.seal.update(b);
        self.file.write_all(b).inspect_err(|_| {
            let _ = std::fs::remove_file(self.written());
        })
    }

    /// Seals the file and renames it into place.
    fn commit(mut self) -> std::io::Result<()> {
        let seal = self.seal.digest128().to_le_bytes();
        self.write(&seal)?;
        drop(self.file);
        let Some(tmp) = &self.tmp else { return Ok(()) };
        std::fs::rename(tmp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(tmp);
        })
    }

    /// Gives up: the file being written goes.
    fn abandon(self) {
        let Sealing { path, tmp, file, .. } = self;
        drop(file);
        let _ = std::fs::remove_file(tmp.as_deref().unwrap_or(&path));
    }
}

/// How many bytes a [`Stream`] hands over at a time. Each chunk the encoder fills while the
/// writer is behind is new memory, every page of it faulted in: with 4 MiB chunks the four
/// streams a run keeps held up to 100 MB of them, and a run extending the cache after 1% more
/// files arrived at 1 GB of trail peaked 25 MB higher, with 12,000 more page faults, than with
/// 1 MiB ones (whose writes are still long enough to cost nothing more).
const CHUNK: usize = 1 << 20;
/// How many handed-over chunks may wait for the writer before the encoder waits for it.
const QUEUED: usize = 4;

/// A cache file written on the writer thread while it is encoded here: the encoder appends
/// to [`Stream::w`] and calls [`Stream::spill`] between records, which hands each full
/// chunk over through a bounded channel. The file is never whole in memory: at 5 GB of trail
/// the run's table, graph inputs and graph are 550 MB, and a run that filled the cache held
/// them beside the graph (a peak of 1.2 GB). The file is sealed and renamed into place only
/// once [`Stream::finish`] is called: a stream dropped before (an encoder that gave up)
/// leaves nothing.
///
/// Streams are written one after the other, in the order they are started ([`queue`]): an
/// encoder must finish (or drop) one before it starts the next, and before it waits for the
/// writing ([`wait_for_writes`]); otherwise it would wait for a writer that waits for it.
pub(crate) struct Stream {
    /// The bytes not handed over yet.
    pub(crate) w: Writer,
    /// How many were handed over.
    handed: u64,
    out: Out,
}

impl super::codec::Sink for Stream {
    fn w(&mut self) -> &mut Writer {
        &mut self.w
    }
    fn spill(&mut self) {
        Stream::spill(self);
    }
    fn at(&self) -> u64 {
        self.handed + self.w.buf.len() as u64
    }
}

enum Out {
    /// To the writer thread: `Some` chunk, `None` once the file is whole; the chunks it has
    /// written come back to be filled again.
    Thread(SyncSender<Option<Vec<u8>>>, Receiver<Vec<u8>>),
    /// No thread could be started: the chunks wait here, written when the stream finishes
    /// (when the first function says so; the second is told whether they were).
    Here(PathBuf, Vec<Vec<u8>>, Box<dyn FnOnce() -> bool + Send>, Box<dyn FnOnce(bool) + Send>),
}

impl Stream {
    /// Starts writing `path`, when `when()` says so once the jobs before are done; `then` is
    /// called with whether it was written, once it is.
    pub(crate) fn start(
        path: PathBuf,
        when: impl FnOnce() -> bool + Send + 'static,
        then: impl FnOnce(bool) + Send + 'static,
    ) -> Stream {
        type When = Box<dyn FnOnce() -> bool + Send>;
        type Then = Box<dyn FnOnce(bool) + Send>;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED);
        let (spare_tx, spare_rx) = std::sync::mpsc::channel();
        // `when` and `then` go through a slot, so that they are still here if no thread can
        // start.
        let both = (Box::new(when) as When, Box::new(then) as Then);
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(both)));
        let (theirs, dest) = (slot.clone(), path.clone());
        let job: Job = Box::new(move || {
            if let Some((when, then)) = theirs.lock().ok().and_then(|mut t| t.take()) {
                then(receive(&dest, &rx, when(), &spare_tx));
            }
        });
        let out = match queue(vec![path.clone()], job) {
            Ok(()) => Out::Thread(tx, spare_rx),
            Err(_) => match slot.lock().ok().and_then(|mut t| t.take()) {
                Some((when, then)) => Out::Here(path, Vec::new(), when, then),
                None => Out::Here(path, Vec::new(), Box::new(|| false), Box::new(|_| {})),
            },
        };
        Stream { w: Writer::with_capacity(CHUNK + CHUNK / 4), handed: 0, out }
    }

    /// Hands the bytes over once they fill a chunk.
    pub(crate) fn spill(&mut self) {
        if self.w.buf.len() >= CHUNK {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        // A chunk the writer is done with, rather than a new one whose every page faults in
        // (the run's table at 5 GB of trail is 220 chunks; at most `QUEUED + 1` are new).
        let next = match &self.out {
            Out::Thread(_, spare) => spare.try_recv().ok(),
            Out::Here(..) => None,
        };
        let next = next.unwrap_or_else(|| Vec::with_capacity(CHUNK + CHUNK / 4));
        let full = std::mem::replace(&mut self.w.buf, next);
        self.handed += full.len() as u64;
        match &mut self.out {
            // A writer that stopped (it cannot have: it reads to the end) would only lose the
            // file, which is then not renamed into place.
            Out::Thread(tx, _) => drop(tx.send(Some(full))),
            Out::Here(_, chunks, ..) => chunks.push(full),
        }
    }

    /// The file is whole: it is sealed and renamed into place (on the writer thread, or here
    /// when there is none).
    pub(crate) fn finish(mut self) {
        self.hand_over();
        match self.out {
            Out::Thread(tx, _) => drop(tx.send(None)),
            Out::Here(path, chunks, when, then) => {
                then(when() && write_parts(&path, &chunks).is_ok());
            }
        }
    }
}

/// The writer thread's side of a [`Stream`]: writes what it receives to `path` (when
/// `wanted`), and commits it once told the file is whole; true when it was written. Reads
/// every chunk to the end, even after a failed write, so that the encoder never waits on a
/// writer that stopped. Each chunk written goes back to the encoder through `spare` (dropped
/// when the stream is done).
fn receive(
    path: &Path,
    rx: &Receiver<Option<Vec<u8>>>,
    wanted: bool,
    spare: &std::sync::mpsc::Sender<Vec<u8>>,
) -> bool {
    let mut out = if wanted { Sealing::create(path).ok() } else { None };
    for chunk in rx {
        let Some(chunk) = chunk else {
            return out.is_some_and(|o| o.commit().is_ok());
        };
        if let Some(o) = &mut out {
            if o.write(&chunk).is_err() {
                out = None;
            }
        }
        let mut chunk = chunk;
        chunk.clear();
        let _ = spare.send(chunk);
    }
    // The stream was dropped before it finished.
    if let Some(o) = out {
        o.abandon();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream is written whole, sealed, once finished; dropped before that, or not wanted
    /// once the jobs before it are done, it leaves nothing (not even its temporary file).
    #[test]
    fn a_stream_is_written_whole_or_not_at_all() {
        let dir = tempfile::TempDir::new().unwrap();
        let body: Vec<u8> = (0..3 * CHUNK + 12_345).map(|i| (i * 7 % 253) as u8).collect();
        let (told, heard) = std::sync::mpsc::channel();
        let stream = |name: &str, wanted: bool| {
            let told = told.clone();
            let name_told = name.to_string();
            let mut s = Stream::start(
                dir.path().join(name),
                move || wanted,
                move |written| told.send((name_told, written)).unwrap(),
            );
            for piece in body.chunks(1000) {
                s.w.buf.extend_from_slice(piece);
                s.spill();
            }
            assert_eq!(super::super::codec::Sink::at(&s), body.len() as u64);
            s
        };
        stream("whole", true).finish();
        drop(stream("dropped", true));
        stream("unwanted", false).finish();
        wait_for_writes();
        let mut said: Vec<_> = heard.try_iter().collect();
        said.sort();
        let expected = [("dropped", false), ("unwanted", false), ("whole", true)];
        assert_eq!(said, expected.map(|(n, w)| (n.to_string(), w)));
        let got = super::super::read_sealed(&dir.path().join("whole")).expect("written, sealed");
        assert_eq!(&got[..], &body[..]);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "only the finished stream's file: {left:?}");
    }

    /// What an encoder running beside the command writes is whole once [`wait_for_writes`]
    /// returns, even when the encoder starts its stream only after the wait began (the wait
    /// joins the encoders before the writer's jobs); a file it is to write is waited for by
    /// a reader in the same process.
    #[test]
    fn an_encoder_beside_the_command_is_waited_for() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("late");
        let body: Vec<u8> = (0..2 * CHUNK + 777).map(|i| (i * 13 % 251) as u8).collect();
        let (p, b) = (path.clone(), body.clone());
        beside(
            vec![path.clone()],
            Box::new(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                let mut s = Stream::start(p, || true, |_| {});
                for piece in b.chunks(4096) {
                    s.w.buf.extend_from_slice(piece);
                    s.spill();
                }
                s.finish();
            }),
        );
        wait_for_write_of(&path);
        let got = super::super::read_sealed(&path).expect("written whole before the wait ends");
        assert_eq!(&got[..], &body[..]);
    }
}

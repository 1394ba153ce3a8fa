//! The evidence fingerprint a plan records: SHA-256 of every input file as stored.
//!
//! Hashing every file as it is read was a fifth of a cold `plan`'s CPU beyond `scan`'s at
//! 5 GB of trail (SHA-256 of 1 GB of gzip), paid while both cores parse. A run without
//! `--cache` hashes the files afterwards instead ([`Evidence::hash_beside`]), on a thread of
//! its own while the session graph is built on one core. Read twice, a file could have
//! changed in between: each is hashed only when the file system says of it what it said
//! when the run found it (size, modification and status-change times, inode, device: the
//! rule `--cache` trusts, [`super::cache`]); otherwise it counts as `changed:<path>`, and
//! the fingerprint then matches no evidence (fail closed: a plan must not vouch for bytes it
//! may not have read). With `--cache` the files' hashes come from their entries.

use super::Ingest;
use rayon::prelude::*;

/// The evidence fingerprint of a run: computed once, on first use or by a thread started
/// after the read.
#[derive(Debug, Default)]
pub(crate) struct Evidence {
    done: std::sync::OnceLock<Fingerprint>,
    job: std::sync::Mutex<Option<std::thread::JoinHandle<Fingerprint>>>,
}

/// The fingerprint ([`Ingest::evidence_sha256`]), and the files it does not vouch for because
/// they changed while the run read them ([`Ingest::evidence_changed`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Fingerprint {
    sha256: String,
    /// As displayed, in input order.
    changed: Vec<String>,
}

impl Evidence {
    /// Hashes `files` on a thread of its own ([`hash_unchanged`]); `found` is what the file
    /// system said of each when the run found it. Without a thread, hashed on first use.
    pub(super) fn hash_beside(
        &self,
        files: Vec<super::InputFile>,
        found: Vec<Option<std::fs::Metadata>>,
    ) {
        let job = std::thread::Builder::new()
            .name("trailhound-evidence".into())
            .spawn(move || hash_unchanged(&files, &found));
        if let (Ok(job), Ok(mut slot)) = (job, self.job.lock()) {
            *slot = Some(job);
        }
    }
}

/// SHA-256 of each file's bytes as stored, as [`Ingest::evidence_sha256`] combines them: of a
/// file the file system describes as `found` did, before and after it is read;
/// `changed:<path>` for one it does not (or that was not found at all), `unreadable:<path>`
/// for one that cannot be read.
pub(super) fn hash_unchanged(
    files: &[super::InputFile],
    found: &[Option<std::fs::Metadata>],
) -> Fingerprint {
    use std::io::Read;
    let same = |a: &std::fs::Metadata, b: &Option<std::fs::Metadata>| {
        b.as_ref().is_some_and(|b| super::cache::StatKey::of(a) == super::cache::StatKey::of(b))
    };
    let mut buf = Vec::new();
    let mut changed = Vec::new();
    let hashes: Vec<String> = files
        .iter()
        .zip(found.iter().chain(std::iter::repeat(&None)))
        .map(|(f, at)| {
            // The file's state before its bytes are read, and after (`None`: not told).
            let mut read = || -> std::io::Result<_> {
                let mut file = std::fs::File::open(&f.path)?;
                let before = file.metadata()?;
                buf.clear();
                file.read_to_end(&mut buf)?;
                Ok((before, file.metadata().ok()))
            };
            match read() {
                Err(_) => format!("unreadable:{}", f.display()),
                Ok((before, Some(after))) if same(&before, at) && same(&after, at) => {
                    sha256_hex(&buf)
                }
                Ok(_) => {
                    changed.push(f.display());
                    format!("changed:{}", f.display())
                }
            }
        })
        .collect();
    Fingerprint { sha256: combine(hashes), changed }
}

/// The fingerprint of the files' hashes: their sorted list, one per line, hashed.
fn combine(mut hashes: Vec<String>) -> String {
    hashes.sort_unstable();
    sha256_hex(hashes.join("\n").as_bytes())
}

impl Ingest {
    /// `sha256(file bytes as stored)` of every input file (digests and skipped files too), so
    /// a reviewer can tell whether a plan matches the evidence it is applied to. Files that
    /// cannot be read count as `unreadable`, files that changed during the run as `changed`.
    pub fn evidence_sha256(&self) -> String {
        self.fingerprint().sha256.clone()
    }

    /// The input files (as displayed) that changed while the run read them, which
    /// [`Ingest::evidence_sha256`] therefore does not vouch for: a plan built now may rest on
    /// bytes that are no longer the evidence.
    pub fn evidence_changed(&self) -> Vec<String> {
        self.fingerprint().changed.clone()
    }

    fn fingerprint(&self) -> &Fingerprint {
        let e = &self.evidence;
        e.done.get_or_init(|| {
            let job = e.job.lock().ok().and_then(|mut j| j.take());
            job.and_then(|j| j.join().ok())
                .unwrap_or_else(|| Fingerprint { sha256: self.hash_inputs(), changed: Vec::new() })
        })
    }

    fn hash_inputs(&self) -> String {
        let hashes: Vec<String> = self
            .inputs
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                if let Some(Some(h)) = self.file_sha256.get(i) {
                    return h.clone();
                }
                let bytes = if f.is_stdin() {
                    Ok(self.stdin.clone().unwrap_or_default())
                } else {
                    std::fs::read(&f.path)
                };
                match bytes {
                    Ok(b) => sha256_hex(&b),
                    Err(_) => format!("unreadable:{}", f.display()),
                }
            })
            .collect();
        combine(hashes)
    }
}

#[cfg(test)]
impl Ingest {
    /// Hashes the evidence after the read as a run without `--cache` does, against what the
    /// file system said of each input file ([`Ingest::input_files`]) when `found` was taken.
    pub(crate) fn hash_evidence_as_found(&self, found: Vec<Option<std::fs::Metadata>>) {
        self.evidence.hash_beside(self.inputs.clone(), found);
    }

    /// The input files, in input order.
    pub(crate) fn input_files(&self) -> Vec<std::path::PathBuf> {
        self.inputs.iter().map(|f| f.path.clone()).collect()
    }
}

/// Lower-case hex SHA-256.
pub(super) fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::InputFile;

    fn input(p: &std::path::Path) -> InputFile {
        InputFile { path: p.to_path_buf(), explicit: true }
    }

    /// Files hashed after the read give the fingerprint of their bytes, as hashing them while
    /// they were read did; a file that changed since the run found it, or that is gone, is
    /// never taken for the bytes the run read.
    #[test]
    fn files_hashed_after_the_read_are_vouched_for_only_while_unchanged() {
        let d = tempfile::TempDir::new().unwrap();
        let (a, b) = (d.path().join("a.json.gz"), d.path().join("b.json"));
        std::fs::write(&a, b"\x1f\x8b not really gzip").unwrap();
        std::fs::write(&b, br#"{"Records":[]}"#).unwrap();
        let files = vec![input(&a), input(&b)];
        let found = || files.iter().map(|f| std::fs::metadata(&f.path).ok()).collect::<Vec<_>>();
        let while_read = combine(vec![
            sha256_hex(&std::fs::read(&a).unwrap()),
            sha256_hex(&std::fs::read(&b).unwrap()),
        ]);
        assert_eq!(
            hash_unchanged(&files, &found()),
            Fingerprint { sha256: while_read.clone(), changed: vec![] }
        );

        // Rewritten after it was found, with the same size: not vouched for.
        let at_start = found();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&b, &br#"{"Records":[1]}"#[..14]).unwrap();
        let after = hash_unchanged(&files, &at_start);
        assert_eq!(after.changed, vec![files[1].display()]);
        let after = after.sha256;
        assert_ne!(after, while_read);
        let changed = combine(vec![
            sha256_hex(&std::fs::read(&a).unwrap()),
            format!("changed:{}", files[1].display()),
        ]);
        assert_eq!(after, changed);
        // Found afresh, it is hashed as it now is; a file that is gone is unreadable, and one
        // the run has no state for is not vouched for.
        assert_ne!(hash_unchanged(&files, &found()).sha256, while_read);
        std::fs::remove_file(&a).unwrap();
        let gone = hash_unchanged(&files, &found());
        assert!(gone.changed.is_empty(), "a file that is gone is reported as unreadable");
        let gone = gone.sha256;
        assert_eq!(
            gone,
            combine(vec![
                format!("unreadable:{}", files[0].display()),
                sha256_hex(&std::fs::read(&b).unwrap())
            ])
        );
        let unknown = hash_unchanged(&files[1..], &[None]);
        assert_eq!(unknown.changed, vec![files[1].display()]);
        assert!(unknown.sha256 != hash_unchanged(&files[1..], &found()[1..]).sha256);
    }
}

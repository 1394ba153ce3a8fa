//! How every output file is written (SPEC §8: evidence is never overwritten or polluted).
//!
//! An output is written to a new file beside it and renamed over its name: an existing file
//! is never opened for writing. Checking the output's path against the inputs
//! (`app::links::guard_outputs`) cannot see everything a name may lead to: a case folder
//! prepared by someone else can hold `report.html` as a hard link to a log file, or
//! `plan.sh` as a symbolic link to any file, and `--script` can name a hard link into the
//! trail. Opened for writing, each wrote through to what it led to; renamed over, the link
//! itself is replaced and what it led to stays as it was. A command that fails leaves no
//! half-written output behind.
//!
//! A name that leads to something other than a regular file (`/dev/stdout`, a pipe) is
//! written through, as before: no log file is one.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A new file being written for `path`, renamed over it by [`Pending::commit`]; removed if
/// dropped before.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The new file, or `None` when `path` is written through (not a regular file).
    tmp: Option<PathBuf>,
    path: PathBuf,
}

/// Opens a new file for `path` (see the module's documentation).
///
/// # Errors
/// The new file cannot be created (the folder is missing or not writable).
pub(crate) fn create(path: &Path) -> std::io::Result<(std::fs::File, Pending)> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let f = std::fs::File::options().write(true).open(path)?;
        return Ok((f, Pending { tmp: None, path: path.to_path_buf() }));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(64).collect())
        .unwrap_or_default();
    let mut n = 0u32;
    loop {
        let tmp = dir.join(format!(".{name}.trailhound-{}-{n}.tmp", std::process::id()));
        // `create_new`: never a file (or link) already there.
        match std::fs::File::options().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((f, Pending { tmp: Some(tmp), path: path.to_path_buf() })),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

impl Pending {
    /// Puts the written file in its place.
    ///
    /// # Errors
    /// The rename fails (the name is a folder, say); the new file is then removed.
    pub(crate) fn commit(mut self) -> std::io::Result<()> {
        match self.tmp.take() {
            Some(tmp) => std::fs::rename(&tmp, &self.path).inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes `bytes` as the file `path` (see the module's documentation).
///
/// # Errors
/// As [`create`] and [`Pending::commit`], or the write fails.
pub(crate) fn write(path: &Path, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    let (mut f, pending) = create(path)?;
    f.write_all(bytes.as_ref())?;
    drop(f);
    pending.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_hard_or_symbolic_link_at_the_name_is_replaced_and_what_it_led_to_is_kept() {
        let d = tempfile::tempdir().unwrap();
        let evidence = d.path().join("log.json");
        std::fs::write(&evidence, "evidence").unwrap();
        let hard = d.path().join("report.html");
        std::fs::hard_link(&evidence, &hard).unwrap();
        let soft = d.path().join("plan.sh");
        std::os::unix::fs::symlink(&evidence, &soft).unwrap();
        write(&hard, "html").unwrap();
        write(&soft, "script").unwrap();
        assert_eq!(std::fs::read_to_string(&evidence).unwrap(), "evidence");
        assert_eq!(std::fs::read_to_string(&hard).unwrap(), "html");
        assert_eq!(std::fs::read_to_string(&soft).unwrap(), "script");
        assert!(!std::fs::symlink_metadata(&soft).unwrap().file_type().is_symlink());
        // Nothing else is left in the folder.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 3);
        // A name that is a folder: an error, and no new file left behind.
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(write(&sub, "x").is_err());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 4);
        // Dropped before its commit: nothing is written.
        let (_f, p) = create(&d.path().join("never")).unwrap();
        drop(p);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 4);
    }
}

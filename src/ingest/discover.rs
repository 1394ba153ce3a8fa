//! The directory walk: INPUT paths (S3 export trees, organization trails, single files, `-`
//! for standard input) into a sorted, de-duplicated file list, following symbolic links
//! without entering a directory twice.

use super::{Problem, Severity};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A file to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    /// Path as found (or `-`).
    pub path: PathBuf,
    /// Named on the command line rather than found by walking a directory.
    pub explicit: bool,
}

impl InputFile {
    pub(super) fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }
    /// How the file is named in messages and outputs.
    pub fn display(&self) -> String {
        if self.is_stdin() {
            "<stdin>".to_string()
        } else {
            self.path.display().to_string()
        }
    }
}

/// Walks the inputs into a sorted, de-duplicated file list. Problems met while walking
/// (missing paths, unreadable directories, symlink loops) are appended to `problems`.
pub fn discover(inputs: &[PathBuf], problems: &mut Vec<Problem>) -> Vec<InputFile> {
    discover_stat(inputs, problems).into_iter().map(|(f, _)| f).collect()
}

/// [`discover`], with what the file system said of each file as it was found (`None` for
/// standard input): the cache's run key is taken from it rather than asking again, a tenth of
/// a run over a cache (`--cache`) that holds the whole trail.
pub(super) fn discover_stat(
    inputs: &[PathBuf],
    problems: &mut Vec<Problem>,
) -> Vec<(InputFile, Option<std::fs::Metadata>)> {
    let mut files = Vec::new();
    let mut seen_dirs = HashSet::new();
    let mut seen_files = HashSet::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            files.push((InputFile { path: input.clone(), explicit: true }, None));
            continue;
        }
        match std::fs::metadata(input) {
            Err(e) => problems.push(io_problem(input, &e)),
            Ok(m) if m.is_dir() => {
                walk(input, &mut seen_dirs, &mut seen_files, &mut files, problems)
            }
            Ok(m) => {
                if seen_files.insert(file_key(input, &m)) {
                    files.push((InputFile { path: input.clone(), explicit: true }, Some(m)));
                } else {
                    // Found before (in a directory given earlier, or under another name): named
                    // now, so a file that is not CloudTrail fails the run whatever the order of
                    // the arguments (SPEC §8; `plan t t/manifest.json` exited 0 and
                    // `plan t/manifest.json t` 3, a review).
                    let key = file_key(input, &m);
                    let same = |(f, fm): &&mut (InputFile, Option<std::fs::Metadata>)| {
                        fm.as_ref().is_some_and(|fm| file_key(&f.path, fm) == key)
                    };
                    if let Some(f) = files.iter_mut().find(same) {
                        f.0.explicit = true;
                    }
                }
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

#[cfg(unix)]
type FileKey = (u64, u64);
#[cfg(not(unix))]
type FileKey = PathBuf;

#[cfg(unix)]
fn file_key(_p: &Path, m: &std::fs::Metadata) -> FileKey {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_key(p: &Path, _m: &std::fs::Metadata) -> FileKey {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

pub(super) fn io_problem(path: &Path, e: &std::io::Error) -> Problem {
    let looped = e.raw_os_error() == Some(40); // ELOOP on Linux
    Problem {
        path: path.display().to_string(),
        reason: if looped {
            "symlink_loop"
        } else if e.kind() == std::io::ErrorKind::NotFound {
            "not_found"
        } else {
            "io_error"
        },
        detail: if looped { "symbolic link loop".to_string() } else { e.to_string() },
        record: None,
        severity: if looped { Severity::Skipped } else { Severity::Failed },
        more: 0,
    }
}

fn skipped(path: &Path, reason: &'static str, detail: &str) -> Problem {
    Problem {
        path: path.display().to_string(),
        reason,
        detail: detail.to_string(),
        record: None,
        severity: Severity::Skipped,
        more: 0,
    }
}

/// The folders of digest and Insights files beside the logs, which a walk never reads
/// (`trailhound integrity` checks every other file, [`crate::integrity`]).
pub const DIGEST_FOLDER: &str = "CloudTrail-Digest";
pub const INSIGHT_FOLDER: &str = "CloudTrail-Insight";

/// Entries of a directory from which [`walk`] looks at them on every core.
const PARALLEL_AT: usize = 16;

/// Recursive directory walk that follows symbolic links but never enters a directory twice,
/// so a symlink loop is reported once instead of recursing forever.
fn walk(
    dir: &Path,
    seen_dirs: &mut HashSet<FileKey>,
    seen_files: &mut HashSet<FileKey>,
    files: &mut Vec<(InputFile, Option<std::fs::Metadata>)>,
    problems: &mut Vec<Problem>,
) {
    match std::fs::metadata(dir) {
        Ok(m) => {
            if !seen_dirs.insert(file_key(dir, &m)) {
                problems.push(skipped(
                    dir,
                    "symlink_loop",
                    "directory already visited through another path (symbolic link loop)",
                ));
                return;
            }
        }
        Err(e) => {
            problems.push(io_problem(dir, &e));
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            problems.push(io_problem(dir, &e));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(en) => paths.push(en.path()),
            Err(e) => problems.push(io_problem(dir, &e)),
        }
    }
    paths.sort();
    // What each entry is, asked on every core when there are many (a day's log files): the
    // walk over a trail's thousands of files was a fifth of a run over a cache that held it.
    let metas: Vec<std::io::Result<std::fs::Metadata>> = if paths.len() >= PARALLEL_AT {
        use rayon::prelude::*;
        paths.par_iter().map(std::fs::metadata).collect()
    } else {
        paths.iter().map(std::fs::metadata).collect()
    };
    for (p, meta) in paths.into_iter().zip(metas) {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Digest and Insights objects sit beside the logs in the same bucket: route, don't count.
        if name == DIGEST_FOLDER {
            problems.push(skipped(
                &p,
                "digest",
                "CloudTrail digest files are not events (see `trailhound integrity`)",
            ));
            continue;
        }
        if name == INSIGHT_FOLDER {
            problems.push(skipped(&p, "insight", "CloudTrail Insights files are not events"));
            continue;
        }
        match meta {
            Err(e) => problems.push(io_problem(&p, &e)),
            Ok(m) if m.is_dir() => walk(&p, seen_dirs, seen_files, files, problems),
            // FIFOs, sockets and devices found while walking would block or never end:
            // only regular files are read (a FIFO named on the command line still is).
            Ok(m) if !m.is_file() => problems.push(skipped(
                &p,
                "not_a_file",
                "not a regular file (FIFO, socket or device): not read while walking a directory",
            )),
            Ok(m) => {
                if seen_files.insert(file_key(&p, &m)) {
                    files.push((InputFile { path: p, explicit: false }, Some(m)));
                }
            }
        }
    }
}

//! What an input directory's walk reaches through symbolic links: the walk follows them, so
//! an output (the cache above all, which every run writes into) that a link inside the trail
//! leads to would be read back as evidence, and a cache so read grew with every run (each run
//! caching the cache's own files). SPEC §8: such an output is refused like one inside the
//! directory. [`guard_outputs`] is the whole check, before anything is written.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Each symbolic link under `root` (followed into linked directories, each directory once)
/// with the canonical path it leads to (for a link to nothing yet, the path it names, its
/// links resolved). Lists directories only: no file is opened.
pub(super) fn linked_targets(root: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(canon) = dir.canonicalize() else { continue };
        if !seen.insert(canon) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            let path = e.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                // A link to nothing yet is where a write to it lands: an output created
                // there later is read through the link by the next run (a case folder read
                // back as evidence), so it counts by the path it names.
                let target = path.canonicalize().unwrap_or_else(|_| super::resolve_path(&path));
                if target.is_dir() {
                    stack.push(target.clone());
                }
                out.push((path, target));
            }
        }
    }
    out
}

/// The link (of [`linked_targets`]) through which the walk reaches `output` (as resolved,
/// also when it does not exist yet): a link to it, to a directory holding it, or into it.
pub(super) fn reaching(linked: &[(PathBuf, PathBuf)], output: &Path) -> Option<PathBuf> {
    linked
        .iter()
        .find(|(_, t)| output.starts_with(t) || t.starts_with(output))
        .map(|(link, _)| link.clone())
}

/// SPEC §8: evidence is never overwritten or polluted. Refuses (exit 2, before anything is
/// written) an output that is one of the input files (also through a symlink or a hard link)
/// or that lies inside an input directory.
pub(super) fn guard_outputs(
    inputs: &[std::path::PathBuf],
    outputs: &[(&str, &std::path::Path)],
) -> anyhow::Result<()> {
    // Two outputs at one path: the second written replaced the first (`plan -o p --script
    // p` left the script where the plan was, and verify then had no plan). Two paths that are
    // hard links to one file are not: each output replaces what is at its path.
    for (i, (opt_a, a)) in outputs.iter().enumerate() {
        let ra = super::resolve_path(a);
        for (opt_b, b) in &outputs[i + 1..] {
            if ra == super::resolve_path(b) {
                anyhow::bail!(
                    "refusing to write {opt_a} {} and {opt_b} {}: they are the same file, and the second would replace the first",
                    a.display(),
                    b.display()
                );
            }
        }
    }
    for input in inputs {
        if input.as_os_str() == "-" {
            // Evidence given on standard input: never written over through its path.
            let stdin = std::path::Path::new("/dev/stdin");
            if let Some((opt, out)) = outputs.iter().find(|(_, o)| same_file(o, stdin)) {
                anyhow::bail!(
                    "refusing to write {opt} {}: it is the file given on standard input (evidence is never overwritten: write outside the trail)",
                    out.display()
                );
            }
            continue;
        }
        let inp = super::resolve_path(input);
        let is_dir = inp.is_dir();
        let linked = if is_dir { linked_targets(&inp) } else { Vec::new() };
        for (opt, out) in outputs {
            let o = super::resolve_path(out);
            let clash = if is_dir { o.starts_with(&inp) } else { o == inp || same_file(&o, &inp) };
            if clash {
                anyhow::bail!(
                    "refusing to write {opt} {}: it {} the input {} {} (evidence is never overwritten or polluted: write outside the trail)",
                    out.display(),
                    if is_dir { "is inside" } else { "is" },
                    if is_dir { "directory" } else { "file" },
                    input.display()
                );
            }
            // An input file inside an `AWSLogs` tree (the trail given as a list of its files,
            // a shell glob): the tree is the evidence, and a case folder written inside it was
            // read back by the next run over the tree (every tainted event twice, as conflicts).
            let tree = (!is_dir)
                .then(|| {
                    inp.ancestors().skip(1).find(|a| a.file_name().is_some_and(|n| n == "AWSLogs"))
                })
                .flatten();
            if let Some(tree) = tree.filter(|t| o.starts_with(t)) {
                anyhow::bail!(
                    "refusing to write {opt} {}: it is inside {}, the AWSLogs tree that holds the input file {} (evidence is never overwritten or polluted: write outside the trail)",
                    out.display(),
                    tree.display(),
                    input.display()
                );
            }
            if let Some(link) = reaching(&linked, &o) {
                anyhow::bail!(
                    "refusing to write {opt} {}: the input directory {} reaches it through the link {} (its files would be read as evidence: write outside the trail, or remove the link)",
                    out.display(),
                    input.display(),
                    link.display()
                );
            }
        }
    }
    Ok(())
}

/// [`guard_outputs`] of `--cache DIR`: the directory and what the cache writes in it (its
/// `files/` and `runs/` folders, `digest.key`). A trail given as `DIR/files` with `--cache
/// DIR` had the cache's entries written into the evidence, and read back (and cached) as
/// inputs by every later run (a review).
pub(super) fn guard_cache(inputs: &[PathBuf], dir: &Path) -> anyhow::Result<()> {
    let parts = [dir.to_path_buf(), dir.join("files"), dir.join("runs"), dir.join("digest.key")];
    let outputs: Vec<(&str, &Path)> = parts.iter().map(|p| ("--cache", p.as_path())).collect();
    guard_outputs(inputs, &outputs)
}

/// SPEC §8: refuses a folder below `root` on the way to `dir` (an `export --partition`
/// partition) that is a symbolic link: `create_dir_all` follows it, and a planted
/// `account=… -> ../trail/AWSLogs/…` put the partitions' files into the evidence, read back
/// by every later run. `guard_outputs` sees only `root`.
pub(super) fn refuse_linked_below(root: &Path, dir: &Path) -> anyhow::Result<()> {
    let Ok(rest) = dir.strip_prefix(root) else { return Ok(()) };
    let mut at = root.to_path_buf();
    for part in rest.components() {
        at.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            anyhow::bail!(
                "refusing to write under {}: it is a symbolic link, and the files written there would land wherever it leads (remove the link, or write elsewhere)",
                at.display()
            );
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &std::path::Path, _: &std::path::Path) -> bool {
    false
}

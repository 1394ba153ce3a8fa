//! The structure issue #18 set up, checked so that it stays: no source file over 1,000 lines
//! of non-test code, and no import cycle between the top-level modules of `src/` (a module
//! and its own submodules count as one). The module map is in the README ("Architecture").

use crate::util::files_under;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    files_under(&src).into_iter().filter(|p| p.extension().is_some_and(|x| x == "rs")).collect()
}

/// Lines before the first `#[cfg(test)]` at the start of a line (the unit tests follow it).
fn non_test_lines(text: &str) -> usize {
    text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")).count()
}

/// The top-level module a file belongs to (`src/ingest/parse.rs` → `ingest`).
fn top_module(p: &Path) -> String {
    let rel = p.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::NAME` a file's non-test code mentions.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `trailhound_crate::` and the like
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    // `use crate::{a, b::c}` groups.
    for (i, _) in code.match_indices("use crate::{") {
        let inner = &code[i + "use crate::{".len()..];
        let inner = &inner[..inner.find("};").unwrap_or(inner.len())];
        for part in inner.split(',') {
            let name: String =
                part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn no_source_file_has_over_1000_lines_of_non_test_code() {
    let big: Vec<String> = sources()
        .into_iter()
        .filter_map(|p| {
            let n = non_test_lines(&std::fs::read_to_string(&p).unwrap());
            (n > 1000).then(|| format!("{}: {n}", p.display()))
        })
        .collect();
    assert!(big.is_empty(), "split these files by concern:\n{}", big.join("\n"));
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let files = sources();
    let modules: BTreeSet<String> = files.iter().map(|p| top_module(p)).collect();
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &files {
        let m = top_module(p);
        if m == "lib" || m == "main" {
            continue;
        }
        let refs = crate_refs(&std::fs::read_to_string(p).unwrap());
        let e = uses.entry(m.clone()).or_default();
        e.extend(refs.into_iter().filter(|r| *r != m && modules.contains(r)));
    }
    assert!(
        uses.get("plan").is_some_and(|u| u.contains("blast")),
        "the scan sees imports: {uses:?}"
    );
    // Depth-first search for a back edge; report the cycle found.
    fn visit(
        m: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|x| x == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for n in uses.get(m).into_iter().flatten() {
            if let Some(c) = visit(n, uses, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in uses.keys() {
        let cycle = visit(m, &uses, &mut Vec::new(), &mut done);
        assert!(cycle.is_none(), "import cycle: {}", cycle.unwrap().join(" → "));
    }
}

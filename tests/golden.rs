//! Golden snapshots: every output of every stage, byte for byte, on three trails (the bundled
//! sample, a generated trail and a hostile generated trail). They guard refactoring (issue #18):
//! a change that moves code must leave every file here identical.
//!
//! The snapshots live in `testdata/golden/<trail>/`. When a change is *meant* to alter an
//! output, regenerate them and review the diff like code:
//!
//! ```sh
//! TRAILHOUND_UPDATE_GOLDEN=1 cargo test --release golden
//! git diff testdata/golden
//! ```
//!
//! Temporary paths are replaced by `<TRAIL>` and `<OUT>` so that the snapshots do not depend on
//! where the test runs. `SOURCE_DATE_EPOCH` is pinned by `util::bin`.

use crate::trust::{hostile_trail, Rng};
use crate::util::{bin, files_under};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const LEAKED: &str = "AKIAIOSFODNN7EXAMPLE";
/// Outputs larger than this are compared by digest.
const BIG: usize = 64 * 1024;

struct Run<'a> {
    trail: &'a Path,
    out: &'a Path,
    files: BTreeMap<String, Vec<u8>>,
}

impl Run<'_> {
    fn normalise(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = String::from_utf8_lossy(bytes).into_owned();
        for (p, tag) in [(self.out, "<OUT>"), (self.trail, "<TRAIL>")] {
            s = s.replace(&p.display().to_string(), tag);
        }
        s.into_bytes()
    }

    /// Runs the binary; records its stdout (as `name`) and its exit code.
    fn cmd(&mut self, name: &str, args: &[&str]) {
        let out = bin().args(args).arg("--no-progress").output().unwrap();
        let mut bytes = self.normalise(&out.stdout);
        bytes.extend_from_slice(format!("\n[exit {}]\n", out.status.code().unwrap()).as_bytes());
        self.insert(name, bytes);
    }

    /// Files over [`BIG`] are kept as their size and SHA-256 (the repository stays small; to see
    /// what changed, run the command on both commits and diff).
    fn insert(&mut self, name: &str, bytes: Vec<u8>) {
        if bytes.len() > BIG {
            let digest: String =
                Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            let text = format!("{} bytes, sha256 {digest}\n", bytes.len());
            self.files.insert(format!("{name}.sha256"), text.into_bytes());
        } else {
            self.files.insert(name.to_string(), bytes);
        }
    }

    /// Records a file the tool wrote under the output directory. Parquet (whose compressed
    /// pages hold the temporary paths) is recorded as the CSV of its frame.
    fn file(&mut self, name: &str, path: &Path) {
        let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if name.ends_with(".parquet") {
            use polars::prelude::{CsvWriter, ParquetReader, SerReader, SerWriter};
            let mut df = ParquetReader::new(std::io::Cursor::new(bytes)).finish().unwrap();
            let mut csv = Vec::new();
            CsvWriter::new(&mut csv).finish(&mut df).unwrap();
            bytes = csv;
        }
        let bytes = self.normalise(&bytes);
        self.insert(name, bytes);
    }
}

fn snapshot(trail: &Path, key: &str) -> BTreeMap<String, Vec<u8>> {
    let out = TempDir::new().unwrap();
    let mut r = Run { trail, out: out.path(), files: BTreeMap::new() };
    let t = &trail.display().to_string();
    let o = |f: &str| out.path().join(f).display().to_string();
    r.cmd("scan.json", &["scan", t, "--format", "json"]);
    r.cmd("scan.txt", &["scan", t]);
    for fmt in ["json", "tree", "dot", "mermaid"] {
        r.cmd(&format!("sessions.{fmt}"), &["sessions", t, "-k", key, "--format", fmt]);
    }
    r.cmd("sessions-all.json", &["sessions", t, "--format", "json"]);
    for fmt in ["json", "table", "markdown"] {
        r.cmd(&format!("blast.{fmt}"), &["blast", t, "-k", key, "--format", fmt]);
    }
    r.cmd("blast-events.stdout", &["blast", t, "-k", key, "--events-out", &o("tainted.jsonl")]);
    r.file("blast-events.jsonl", &out.path().join("tainted.jsonl"));
    for strategy in ["strict", "surgical"] {
        let (plan, script) = (o(&format!("{strategy}.json")), o(&format!("{strategy}.sh")));
        r.cmd(
            &format!("plan-{strategy}.stdout"),
            &["plan", t, "-k", key, "--strategy", strategy, "-o", &plan, "--script", &script],
        );
        r.file(&format!("plan-{strategy}.json"), Path::new(&plan));
        r.file(&format!("plan-{strategy}.sh"), Path::new(&script));
        r.cmd(
            &format!("verify-{strategy}.json"),
            &["verify", t, "--plan", &plan, "--format", "json"],
        );
        r.cmd(&format!("verify-{strategy}.txt"), &["verify", t, "--plan", &plan]);
    }
    r.cmd("export.stdout", &["export", t, "-o", &o("events.csv")]);
    r.file("export.csv", &out.path().join("events.csv"));
    r.cmd("investigate.stdout", &["investigate", t, "-k", key, "-o", &o("case")]);
    let case = out.path().join("case");
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(&case).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for p in names {
        let f = p.file_name().unwrap().to_string_lossy().into_owned();
        r.file(&format!("case/{f}"), &p);
    }
    r.files
}

fn check(name: &str, trail: &Path, key: &str) {
    let got = snapshot(trail, key);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/golden").join(name);
    if std::env::var_os("TRAILHOUND_UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        for (f, bytes) in &got {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        return;
    }
    let mut differ = Vec::new();
    for (f, bytes) in &got {
        match std::fs::read(dir.join(f)) {
            Ok(want) if &want == bytes => {}
            Ok(_) => differ.push(format!("{f}: differs")),
            Err(_) => differ.push(format!("{f}: no snapshot")),
        }
    }
    let stored: Vec<String> = if dir.is_dir() {
        files_under(&dir)
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
            .collect()
    } else {
        Vec::new()
    };
    differ.extend(
        stored
            .into_iter()
            .filter(|f| !got.contains_key(f))
            .map(|f| format!("{f}: no longer written")),
    );
    differ.sort();
    assert!(
        differ.is_empty(),
        "golden snapshot {name} changed (TRAILHOUND_UPDATE_GOLDEN=1 to accept, then review git diff):\n{}",
        differ.join("\n")
    );
}

#[test]
fn golden_sample_trail() {
    let trail = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample-trail");
    check("sample", &trail, LEAKED);
}

#[test]
fn golden_generated_trail() {
    let dir = TempDir::new().unwrap();
    let st = bin()
        .args(["generate", "-o"])
        .arg(dir.path())
        .args(["--seed", "23", "--hours", "5", "--duplicates"])
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    check("generated", dir.path(), LEAKED);
}

#[test]
fn golden_hostile_trail() {
    let dir = TempDir::new().unwrap();
    hostile_trail(dir.path(), &mut Rng(0x60_1D));
    check("hostile", dir.path(), crate::trust::LEAKED);
}

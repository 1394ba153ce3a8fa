//! Writes seed corpora for the fuzz targets from the project's deterministic generator:
//! a small generated trail with digests, then a handful of its files (gzip for `decompress`,
//! `ingest_file` and `integrity_digest`, their JSON for `parse_records`) plus the committed
//! hand-written seeds in `fuzz/seeds/`. Usage (from the repository root):
//!
//! ```text
//! cargo run --release --manifest-path fuzz/Cargo.toml --example make_seeds
//! ```

use std::path::{Path, PathBuf};
use trailhound::gen::{generate, GenOptions};
use trailhound::ingest::decompress::gunzip_into;

// The digest writer of the integration tests (it no longer ships in the library).
#[path = "../../tests/integrity_gen.rs"]
mod integrity_gen;
use integrity_gen::{write_digests, DigestGenOptions};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("readable").map(|e| e.expect("entry").path()).collect();
    v.sort();
    for p in v {
        if p.is_dir() {
            files_under(&p, out)
        } else {
            out.push(p)
        }
    }
}

fn main() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = fuzz.join("corpus");
    let trail = std::env::temp_dir().join(format!("trailhound-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&trail);
    let opts = GenOptions {
        seed: 7,
        out_dir: trail.clone(),
        hours: 3,
        background_events_per_hour: 60,
        records_per_file: 20,
        duplicates: true,
        org_trail: true,
        ..Default::default()
    };
    generate(&opts).expect("generate");
    write_digests(&trail, &DigestGenOptions::default()).expect("digests");
    let mut files = Vec::new();
    files_under(&trail, &mut files);
    let logs: Vec<&PathBuf> =
        files.iter().filter(|p| p.to_string_lossy().contains("/CloudTrail/")).collect();
    let digests: Vec<&PathBuf> = files
        .iter()
        .filter(|p| {
            p.to_string_lossy().ends_with(".json.gz") && p.to_string_lossy().contains("Digest")
        })
        .collect();
    let mut n = 0;
    let mut put = |target: &str, name: String, data: &[u8]| {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).expect("corpus dir");
        std::fs::write(dir.join(name), data).expect("write seed");
        n += 1;
    };
    let mut inflated = Vec::new();
    // Every 8th log file, and a few digests: small, varied, realistic.
    for (i, p) in logs.iter().step_by(8).chain(digests.iter().step_by(6)).enumerate() {
        let raw = std::fs::read(p).expect("read");
        gunzip_into(&raw, &mut inflated, 1 << 30).expect("generated files inflate");
        for t in ["decompress", "ingest_file"] {
            put(t, format!("gen-{i:03}.json.gz"), &raw);
        }
        put("parse_records", format!("gen-{i:03}.json"), &inflated);
    }
    for (i, p) in digests.iter().step_by(4).enumerate() {
        let raw = std::fs::read(p).expect("read");
        gunzip_into(&raw, &mut inflated, 1 << 30).expect("generated digests inflate");
        put("integrity_digest", format!("gen-{i:03}.json"), &inflated);
    }
    // Hand-written seeds: the other input shapes and known traps.
    let mut seeds = Vec::new();
    files_under(&fuzz.join("seeds"), &mut seeds);
    for p in seeds {
        let data = std::fs::read(&p).expect("read seed");
        let name = p.file_name().expect("name").to_string_lossy().to_string();
        for t in ["decompress", "parse_records", "ingest_file", "integrity_digest"] {
            put(t, format!("seed-{name}"), &data);
        }
    }
    let _ = std::fs::remove_dir_all(&trail);
    println!("wrote {n} seed files under {}", corpus.display());
}

//! Arbitrary bytes written as one input file → the whole per-file path through the public
//! API: `ingest` (read, gzip detection, capped inflate, shape detection, parse, dedupe,
//! counting), the second targeted pass (`load_events`), the session graph and the scan
//! report. Never a panic, and the accounting invariant of SPEC §8 holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use trailhound::ingest::{ingest, IngestOptions};

fn input_path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("trailhound-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("input.json.gz")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = input_path();
    std::fs::write(path, data).expect("write input");
    let opts =
        IngestOptions { inputs: vec![path.clone()], max_file_bytes: 4 << 20, ..Default::default() };
    let ing = ingest(&opts).expect("a single readable file is never a fatal error");
    let s = &ing.stats;
    assert_eq!(s.records, s.events + s.duplicates + s.rejected + s.filtered_out, "{s:?}");
    let all: Vec<usize> = (0..ing.stubs.len()).collect();
    let _ = ing.load_events(&all);
    let g = trailhound::chain::SessionGraph::build(&ing);
    let _ = trailhound::chain::render::dot(&g, &g.select(&[], &[]));
    let _ = trailhound::scan::scan_report(&ing);
});

//! Arbitrary bytes as a digest file (gzipped when they are not gzip already) next to one
//! real log file → `integrity::validate` and its table: never a panic, whatever the digest
//! claims (hashes, chain links, times, keys, nesting).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use trailhound::integrity::{render_table, validate, IntegrityOptions};

const LOG: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11/111122223333_CloudTrail_us-east-1_20240311T0905Z_abcdefghijklmnop.json.gz";
const DIGEST: &str = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/11/111122223333_CloudTrail-Digest_us-east-1_management-events_us-east-1_20240311T100000Z.json.gz";

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("in memory");
    e.finish().expect("in memory")
}

fn root() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("trailhound-fuzz-int-{}", std::process::id()));
        let log = dir.join(LOG);
        std::fs::create_dir_all(log.parent().expect("parent")).expect("dirs");
        std::fs::write(&log, gz(br#"{"Records":[]}"#)).expect("log");
        std::fs::create_dir_all(dir.join(DIGEST).parent().expect("parent")).expect("dirs");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let root = root();
    let bytes = if data.starts_with(&[0x1f, 0x8b]) { data.to_vec() } else { gz(data) };
    std::fs::write(root.join(DIGEST), bytes).expect("write digest");
    let opts = IntegrityOptions {
        inputs: vec![root.clone()],
        public_keys: None,
        max_file_size: trailhound::ingest::DEFAULT_MAX_FILE_BYTES,
    };
    let report = validate(&opts).expect("an existing input is never a fatal error");
    let _ = render_table(&report);
});

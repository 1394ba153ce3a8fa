//! Arbitrary bytes → `parse_document` (shape detection and record normalization of one
//! decompressed document): never a panic, and every record seen is either kept or rejected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailhound::ingest::parse::{parse_document, Parsed};

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let mut buffers = simd_json::Buffers::default();
    let mut sink = Parsed::all(0);
    let _ = parse_document(&mut buf, &mut buffers, &mut sink);
    assert_eq!(sink.records as usize, sink.events.len() + sink.rejects.len());
});

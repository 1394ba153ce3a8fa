//! Arbitrary bytes → `gunzip_into` with a small cap: never a panic, and a successful
//! inflate never returns more than the cap (the gzip-bomb guard, SPEC §8).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailhound::ingest::decompress::gunzip_into;

const CAP: u64 = 256 << 10;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    match gunzip_into(data, &mut out, CAP) {
        Ok(()) => assert!(out.len() as u64 <= CAP, "inflated {} bytes past the cap", out.len()),
        // A fresh buffer never grows far past the cap, even on a bomb.
        Err(_) => assert!(out.capacity() as u64 <= 2 * (CAP + 1024), "buffer {}", out.capacity()),
    }
});

//! One integration-test binary (faster to link than one per file). Each module is an area:

// Helpers: temp dirs, gzip writers, running the binary, dataset paths.
mod util;
// The bad-input matrix of SPEC §8 and the input shapes of SPEC §1.
mod ingest;
// Real public CloudTrail logs from ../shared/datasets (skipped with a reason when absent).
mod datasets;
// Generated incidents with a known answer: sessions, blast, plan, verify.
mod generated;
// The investigate case folder and its HTML report (headless Chromium).
mod report;
// Digest validation (`integrity`) on generated trails with generated digests.
mod integrity;
// The digest writer those tests (and the fuzz seed generator) use, signing with a test key.
mod integrity_gen;

//! One integration-test binary (faster to link than one per file). Each module is an area:

// Tests say on stderr why they skip.
#![allow(clippy::print_stderr, clippy::print_stdout)]

// Helpers: temp dirs, gzip writers, running the binary, dataset paths.
mod util;
// The bad-input matrix of SPEC §8 and the input shapes of SPEC §1.
mod ingest;
// Damaged and hostile evidence (issue #14): deep nesting, conflicting ids, future dates,
// duplicate keys, damaged files, foreign JSON, oversized values, concatenated documents.
mod hostile;
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
// SPEC §8/§9 on hostile trails the tests build: plan.sh, output formats, evidence paths.
mod trust;
// Known-answer incidents for the chain, taint, plan and verify rules (SPEC §6, §9).
mod incidents;
// Golden snapshots of every output on three trails: refactoring must leave them identical.
mod golden;
// The structure: file sizes and no import cycle between top-level modules (issue #18).
mod architecture;
// `--cache DIR`: warm runs byte-identical to cold ones; changed files caught (issue #19).
mod cache;
// IAM snapshots (issue #20): the generator's snapshot, reach against its known answer,
// `generate --iam-out`, damaged snapshot files.
mod iam;
// --iam on blast, plan and verify: the unseen tail's reach, contained (issue #20).
mod contain;
// `trailhound query` (issue #21): the DuckDB round trip against a direct run, query results
// read back by content, the Athena SQL against reviewed golden files.
mod query;

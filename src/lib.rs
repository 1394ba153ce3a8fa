//! trailhound: offline CloudTrail forensics for a leaked AWS access key.
//!
//! Pipeline (each stage a module with a small API that tests and benches call directly):
//!
//! ```text
//! ingest (discover → inflate → parse, parallel per file; dedupe, sort)
//!   → model::Event table
//!   → chain::SessionGraph   (who issued which credential, SPEC §3)
//!   → blast::BlastRadius    (what the tainted credentials did, SPEC §4)
//!   → plan::Plan            (deny policies + key deactivations, SPEC §5)
//!   → plan::verify          (offline proof, SPEC §6)
//! ```
//!
//! `query` writes the SQL that selects, on the engine holding an organization's trail, only
//! the events this pipeline needs (issue #21); `ingest::result` reads the results back.
//!
//! `app` wires the stages to the command line (`cli`) and is the only module that prints
//! (`diag` draws progress and timing on stderr); `gen` writes the deterministic synthetic
//! trails used by tests, the bundled sample and the benchmarks. The module map is in the
//! README ("Architecture"). Modules the binary, tests and benches do not use are `pub(crate)`.

pub mod app;
pub mod arena;
pub mod blast;
pub mod chain;
pub mod cli;
pub(crate) mod contain;
pub(crate) mod diag;
pub(crate) mod escape;
pub(crate) mod export;
pub(crate) mod findings;
pub mod gen;
pub mod iam;
pub mod ingest;
pub mod integrity;
pub(crate) mod model;
pub(crate) mod outfile;
pub(crate) mod plan;
pub mod query;
pub mod report;
pub mod scan;
pub(crate) mod taint;
pub mod time;

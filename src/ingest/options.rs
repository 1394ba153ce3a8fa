//! What to read and how: the options of one ingest run.

use std::path::PathBuf;

/// Default cap on one file's decompressed size: 1 GiB. Real CloudTrail objects are far smaller.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// What to read and how.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Files, directories (walked recursively) or `-` for standard input.
    pub inputs: Vec<PathBuf>,
    /// Keep events at or after this time (unix seconds).
    pub since: Option<i64>,
    /// Keep events at or before this time (unix seconds).
    pub until: Option<i64>,
    /// Cap on one file's decompressed size (gzip-bomb guard).
    pub max_file_bytes: u64,
    /// Only the inventory (`scan`, `export`): skip what the session graph needs (the full
    /// issuing events and the per-credential facts), which is most of ingest's memory after
    /// the stubs.
    pub inventory_only: bool,
    /// Hash every file's bytes while they are in memory anyway, for
    /// [`Ingest::evidence_sha256`](super::Ingest::evidence_sha256) (plans record it): saves reading
    /// the trail a second time.
    pub fingerprint: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Access key ids (the `--key` values of `blast`/`plan`) whose events the first pass keeps
    /// in full, with those of the credentials their calls lead to (a guess, bounded:
    /// [`super::watch`]), so that reading them back
    /// ([`Ingest::for_each_event`](super::Ingest::for_each_event)) needs no second read of the
    /// files that hold only those. With seed keys the files are read in delivery order.
    pub seed_keys: Vec<String>,
    /// The most bytes of the seed keys' own events the first pass keeps, encoded
    /// ([`super::watch::MAX_SEED_BYTES`]; the tests ask for fewer).
    pub max_seed_bytes: usize,
    /// `--cache DIR`: take each unchanged file's first pass from the cache, and cache the
    /// files read ([`super::Cache`]).
    pub cache: Option<std::sync::Arc<super::Cache>>,
    /// The caller keeps the run's table in the cache while it goes on, instead of ingest
    /// before it returns: the session graph, built right after ingest with
    /// [`SessionGraph::build_releasing`](crate::chain::SessionGraph::build_releasing) (the
    /// graph takes one core, the writing the other), or `scan`'s report
    /// ([`Ingest::keep_run_while`](super::Ingest::keep_run_while)). A caller that sets this
    /// and does neither leaves the run out of the cache (its files' entries are kept either
    /// way).
    pub save_with_graph: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            inputs: Vec::new(),
            since: None,
            until: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            inventory_only: false,
            fingerprint: false,
            progress: false,
            seed_keys: Vec::new(),
            max_seed_bytes: super::watch::MAX_SEED_BYTES,
            cache: None,
            save_with_graph: false,
        }
    }
}

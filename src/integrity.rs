//! PLACEHOLDER (helper-2 replaces this file): offline validation of CloudTrail digest files.
use serde::Serialize;
use std::path::PathBuf;

/// What to validate.
#[derive(Debug, Clone, Default)]
pub struct IntegrityOptions {
    pub inputs: Vec<PathBuf>,
    pub public_keys: Option<PathBuf>,
}

/// The `integrity --format json` document (SPEC §2 keys).
#[derive(Debug, Serialize, Default)]
pub struct IntegrityReport {
    pub digests: u64,
    pub log_files_checked: u64,
    pub mismatched: Vec<String>,
    pub missing: Vec<String>,
    pub uncovered: Vec<String>,
    pub chain_breaks: Vec<(String, String)>,
    pub signatures_checked: u64,
}

impl IntegrityReport {
    /// True when nothing failed to validate.
    pub fn ok(&self) -> bool {
        self.mismatched.is_empty() && self.missing.is_empty() && self.chain_breaks.is_empty()
    }
}

/// Validates the digests under the inputs.
///
/// # Errors
/// Not implemented yet.
pub fn validate(_o: &IntegrityOptions) -> anyhow::Result<IntegrityReport> {
    anyhow::bail!("integrity: not implemented yet")
}

/// Terminal rendering.
pub fn render_table(_r: &IntegrityReport) -> String {
    String::new()
}

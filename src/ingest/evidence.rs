//! The evidence fingerprint a plan records: SHA-256 of every input file as stored.

use super::Ingest;
use rayon::prelude::*;

impl Ingest {
    /// `sha256(file bytes as stored)` of every input file (digests and skipped files too), so
    /// a reviewer can tell whether a plan matches the evidence it is applied to. Files that
    /// cannot be read count as `unreadable`.
    pub fn evidence_sha256(&self) -> String {
        self.evidence.get_or_init(|| self.hash_inputs()).clone()
    }

    fn hash_inputs(&self) -> String {
        let mut hashes: Vec<String> = self
            .inputs
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                if let Some(Some(h)) = self.file_sha256.get(i) {
                    return h.clone();
                }
                let bytes = if f.is_stdin() {
                    Ok(self.stdin.clone().unwrap_or_default())
                } else {
                    std::fs::read(&f.path)
                };
                match bytes {
                    Ok(b) => sha256_hex(&b),
                    Err(_) => format!("unreadable:{}", f.display()),
                }
            })
            .collect();
        hashes.sort_unstable();
        sha256_hex(hashes.join("\n").as_bytes())
    }
}

/// Lower-case hex SHA-256.
pub(super) fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

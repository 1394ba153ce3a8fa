//! TEMPORARY STUB written by the lead engineer so the rest of the crate compiles.
//! helper-1: overwrite this whole file with the real generator.
use std::path::PathBuf;
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub seed: u64,
    pub out_dir: PathBuf,
    pub start: i64,
    pub hours: u32,
    pub target_bytes: Option<u64>,
    pub background_events_per_hour: u32,
    pub records_per_file: usize,
    pub incident: bool,
    pub duplicates: bool,
    pub org_trail: bool,
}
impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            out_dir: PathBuf::new(),
            start: 0,
            hours: 6,
            target_bytes: None,
            background_events_per_hour: 300,
            records_per_file: 500,
            incident: true,
            duplicates: false,
            org_trail: false,
        }
    }
}
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IncidentTruth {
    pub leaked_key: String,
}
#[derive(Debug)]
pub struct GenReport {
    pub files: usize,
    pub records: usize,
    pub unique_events: usize,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    pub truth: Option<IncidentTruth>,
}
pub fn generate(_o: &GenOptions) -> std::io::Result<GenReport> {
    Err(std::io::Error::other("stub"))
}
pub fn write_truth(_p: &std::path::Path, _t: &IncidentTruth) -> std::io::Result<()> {
    Ok(())
}

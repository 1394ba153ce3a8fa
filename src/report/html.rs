//! PLACEHOLDER (helper-3 replaces this file): the self-contained HTML case report.
use crate::blast::BlastRadius;
use crate::chain::GraphJson;
use crate::plan::verify::Verification;
use crate::plan::Plan;
use crate::scan::ScanReport;

/// Everything the report shows, already computed by the other stages.
pub struct ReportData<'a> {
    pub scan: &'a ScanReport,
    /// The tainted part of the session graph (leaked keys, their chains and ancestors).
    pub graph: GraphJson<'a>,
    pub blast: &'a BlastRadius,
    pub plan: &'a Plan,
    pub verify: &'a Verification,
}

/// Renders the report as one self-contained HTML document (no network access).
pub fn render(_d: &ReportData) -> String {
    String::from("<!doctype html><title>trailhound</title>")
}

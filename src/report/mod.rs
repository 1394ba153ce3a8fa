//! Reports written for people: the self-contained HTML case report.
pub mod html;

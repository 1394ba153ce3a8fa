//! The self-contained HTML case report (`report.html` of `investigate`, SPEC §2).
//!
//! One file a responder can open anywhere, offline, and attach to a ticket. It shows, top to
//! bottom: a header (seed keys, incident span, counts, the verification verdict), the session
//! chain drawn as a graph, the tainted activity on a timeline with one lane per credential,
//! the tainted credentials, top actions, resources, data reads, sources, the persistence
//! found with its follow-ups, the revocation plan (each command with a copy button) and the
//! offline verification of that plan.
//!
//! Rules this module keeps:
//! * **Self-contained.** CSS and the small vanilla script are embedded (`assets/`), every
//!   chart is inline SVG laid out here in Rust, all data is rendered as markup. There is no
//!   URL to load: a `Content-Security-Policy` meta tag (`default-src 'none'`, the script
//!   allowed only by its SHA-256 hash) makes the browser refuse any network access, and any
//!   injected script, even if an escaping bug slipped through.
//! * **Escaping.** Every string that comes from the logs (user agents, session and user
//!   names, ARNs, error messages, …) is attacker-controlled: it goes through [`escape_html`]
//!   (or [`clip`], which truncates then escapes) before it touches the output, in text, in
//!   attributes and in SVG alike. Element ids are built from indices, never from data, and no
//!   data is placed inside the script.
//! * **Bounded.** Thousands of events and hundreds of sessions stay readable and small: the
//!   timeline is bucketed (at most ~100 columns) with at most [`MAX_LANES`] credential lanes;
//!   the graph shows at most [`MAX_SIBLINGS`] children per credential (the rest collapse into
//!   a "+N more" node) and at most [`MAX_GRAPH_NODES`] nodes; long tables are capped and say
//!   how many rows the JSON files hold.
//! * **Deterministic.** The output depends only on the inputs (no clock, no randomness, only
//!   ordered maps): the same case gives the same bytes.
//!
//! The code: this file holds the data ([`ReportData`]), the shared context (`Ctx`), the
//! escaping and formatting helpers, the document frame and its header; `layout` places the
//! session chain as a tree, `graph` draws it, `timeline` draws the activity over time and
//! `tables` renders the table and card sections (findings, plan, credentials, activity,
//! persistence, verification, notes).

mod graph;
mod layout;
mod tables;
mod timeline;

use crate::blast::BlastRadius;
use crate::chain::{GraphJson, Node, NodeKind};
use crate::findings::Finding;
use crate::plan::verify::Verification;
use crate::plan::Plan;
use crate::plan::{ActionKind, CredentialStatus};
use crate::scan::ScanReport;
use crate::time::{fmt_iso, Time};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use graph::graph_section;
use tables::{
    activity_section, credentials_section, findings_section, notes_section, persistence_section,
    plan_section, verify_section,
};
use timeline::timeline_section;

/// Everything the report shows, already computed by the other stages.
pub struct ReportData<'a> {
    /// Inventory and ingest health of the whole trail.
    pub scan: &'a ScanReport,
    /// The tainted part of the session graph (leaked keys, their chains and ancestors).
    pub graph: GraphJson<'a>,
    /// The blast radius, with its events' moments and persistence calls kept (the timeline
    /// and the persistence table are drawn from them).
    pub blast: &'a BlastRadius,
    /// The revocation plan.
    pub plan: &'a Plan,
    /// The offline verification of the plan.
    pub verify: &'a Verification,
    /// What the check of the evidence against its CloudTrail digests found, in one line (or
    /// that it was not checked), and whether the evidence failed it: then the plan and its
    /// verification judge altered evidence, and the header says so instead of "verified".
    pub integrity: (&'a str, bool),
}

/// Children drawn under one credential before the rest collapse into a "+N more" node.
pub const MAX_SIBLINGS: usize = 8;
/// Credential nodes drawn in the graph at most (the rest collapse into "+N more" nodes).
pub const MAX_GRAPH_NODES: usize = 300;
/// Credential lanes drawn under the timeline at most.
pub const MAX_LANES: usize = 30;
/// Deepest chain level drawn (deeper credentials collapse into "+N more").
const MAX_DEPTH: usize = 24;
/// Rows shown in long tables.
const TABLE_ROWS: usize = 25;
/// User agents shown.
const UA_ROWS: usize = 15;
/// Rows shown in the credential, persistence and verification tables.
const LONG_TABLE_ROWS: usize = 150;
/// Plan actions shown (the rest are counted and left to plan.json / plan.sh).
const ACTION_CARDS: usize = 400;
/// Bytes of plan commands shown before the rest are referred to `plan.sh`.
const COMMAND_BUDGET: usize = 600_000;

const CSS: &str = include_str!("../assets/report.css");
const SCRIPT: &str = include_str!("../assets/report.js");

/// Account colours: (fill, stroke). Accounts beyond the palette share [`OTHER`].
const PALETTE: [(&str, &str); 8] = [
    ("#dbeafe", "#2563eb"),
    ("#dcfce7", "#16a34a"),
    ("#fef3c7", "#d97706"),
    ("#f3e8ff", "#9333ea"),
    ("#fce7f3", "#db2777"),
    ("#ccfbf1", "#0d9488"),
    ("#e7e5e4", "#78716c"),
    ("#e0f2fe", "#0369a1"),
];
const OTHER: (&str, &str) = ("#f1f5f9", "#64748b");

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($o:expr, $($t:tt)*) => {{
        let _ = write!($o, $($t)*);
    }};
}
pub(crate) use w;

/// Escapes text for HTML element content and quoted attribute values (also inside inline
/// SVG): `& < > " '` become entities, and control characters other than tab, newline and
/// carriage return (invalid in HTML) become U+FFFD.
pub(crate) fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if c.is_control() => o.push('\u{FFFD}'),
            // Bidi overrides and invisible characters from a log (`ad\u{200b}min` shown as
            // `admin`, a U+202E turning the rest of its block around) are shown as escapes, as
            // every other output shows them (`escape::one_line`).
            c if crate::escape::is_unsafe_char(c) => {
                let _ = std::fmt::Write::write_fmt(&mut o, format_args!("\\u{{{:x}}}", c as u32));
            }
            c => o.push(c),
        }
    }
    o
}

/// Truncates `s` to at most `max` characters (ending in `…` when cut), then escapes it.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return escape_html(s);
    }
    let t: String = s.chars().take(max.saturating_sub(1)).collect();
    let mut o = escape_html(&t);
    o.push('…');
    o
}

/// Like [`clip`], but keeps the start and the end (user agents differ at their end).
pub(crate) fn clip_mid(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return escape_html(s);
    }
    let head: String = s.chars().take(max / 2).collect();
    let tail: String = s.chars().skip(n - (max - max / 2).saturating_sub(1)).collect();
    format!("{}…{}", escape_html(&head), escape_html(&tail))
}

/// Like [`clip_mid`], but keeps more of the end, where generated names differ
/// (`stratus-red-team-…-abc123`): a third for the start, the rest for the end.
pub(crate) fn clip_tail(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 4 {
        return clip(s, max);
    }
    let head_n = max / 3;
    let tail_n = max - head_n - 1;
    let head: String = s.chars().take(head_n).collect();
    let tail: String = s.chars().skip(n - tail_n).collect();
    format!("{}…{}", escape_html(&head), escape_html(&tail))
}

/// Allows line breaks after the separators of ARNs and paths (`/`, `:`) in already escaped
/// text, so long names wrap between their parts instead of in the middle of a word.
fn brk(escaped: &str) -> String {
    let mut o = String::with_capacity(escaped.len() + 16);
    for c in escaped.chars() {
        o.push(c);
        if c == '/' || c == ':' {
            o.push_str("<wbr>");
        }
    }
    o
}

/// Standard base64 (for the script's CSP hash).
fn base64(data: &[u8]) -> String {
    use ::base64::Engine as _;
    ::base64::engine::general_purpose::STANDARD.encode(data)
}

/// `MM-DD HH:MM` (UTC).
fn short(t: i64) -> String {
    let s = fmt_iso(t);
    if s.len() == 20 {
        format!("{} {}", &s[5..10], &s[11..16])
    } else {
        s
    }
}

/// `HH:MM` (UTC).
fn hm(t: i64) -> String {
    let s = fmt_iso(t);
    if s.len() == 20 {
        s[11..16].to_string()
    } else {
        s
    }
}

/// A duration for people: `45s`, `12m 05s`, `2h 06m`, `3d 04h`.
fn dur(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// `assumed-role/Role/session` out of `arn:aws:sts::123:assumed-role/Role/session`.
fn principal_short(arn: &str) -> &str {
    if arn.starts_with("arn:") {
        arn.splitn(6, ':').nth(5).filter(|s| !s.is_empty()).unwrap_or(arn)
    } else {
        arn
    }
}

fn opt(s: Option<&str>) -> String {
    s.map(escape_html).unwrap_or_else(|| "<span class=\"muted\">–</span>".into())
}

/// An optional time, escaped, or a muted dash.
fn opt_time(t: Option<Time>) -> String {
    opt(t.map(|t| t.to_string()).as_deref())
}

/// "Showing N of M" under a capped table.
fn more(o: &mut String, shown: usize, total: usize, where_: &str) {
    if total > shown {
        w!(o, "<p class=\"more\">Showing {shown} of {total}; all of them are in {where_}.</p>");
    }
}

/// What the other sections need to know about the case, computed once.
struct Ctx<'a> {
    d: &'a ReportData<'a>,
    /// The plan's cut-off.
    eff: i64,
    /// Account → palette slot.
    colors: BTreeMap<String, usize>,
    /// Tainted credential id → plan status (`live`, `expired`, `deactivate`, `unrevocable`).
    status: BTreeMap<&'a str, &'a CredentialStatus>,
    /// Tainted credential id → row in the credentials table.
    cred_row: BTreeMap<&'a str, usize>,
    /// Session id → the action (order) whose deny covers it.
    denied: BTreeMap<&'a str, u32>,
    deactivated: BTreeSet<&'a str>,
    unrevocable: BTreeSet<&'a str>,
    not_covered: BTreeSet<&'a str>,
    seeds: BTreeSet<&'a str>,
    /// Tainted access key ids.
    tainted_keys: BTreeSet<&'a str>,
    /// Tainted credential ids (graph node ids).
    tainted: BTreeSet<&'a str>,
}

impl<'a> Ctx<'a> {
    fn new(d: &'a ReportData<'a>) -> Ctx<'a> {
        let b = d.blast;
        let mut acct: BTreeMap<&str, u64> = BTreeMap::new();
        for (a, n) in &b.accounts {
            *acct.entry(a.as_str()).or_default() += n;
        }
        for n in &d.graph.nodes {
            if let Some(a) = &n.account_id {
                acct.entry(a.as_str()).or_default();
            }
        }
        let mut order: Vec<(&str, u64)> = acct.into_iter().collect();
        order.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
        let colors = order.iter().enumerate().map(|(i, (a, _))| (a.to_string(), i)).collect();
        let mut denied = BTreeMap::new();
        let mut deactivated = BTreeSet::new();
        for a in &d.plan.actions {
            for s in a.covers.iter().flatten() {
                denied.entry(s.as_str()).or_insert(a.order);
            }
            if a.kind == ActionKind::DeactivateAccessKey {
                if let Some(k) = &a.access_key_id {
                    deactivated.insert(k.as_str());
                }
            }
        }
        Ctx {
            d,
            eff: d.plan.effective_at.secs(),
            colors,
            status: d.plan.tainted.credentials.iter().map(|c| (c.id.as_str(), &c.status)).collect(),
            cred_row: b
                .credentials
                .iter()
                .take(LONG_TABLE_ROWS)
                .enumerate()
                .map(|(i, c)| (c.id.as_str(), i))
                .collect(),
            denied,
            deactivated,
            unrevocable: d.plan.unrevocable.iter().map(|u| u.credential.as_str()).collect(),
            not_covered: d.verify.not_covered.iter().map(|s| s.session.as_str()).collect(),
            seeds: b.seeds.iter().map(String::as_str).collect(),
            tainted_keys: b.credentials.iter().filter_map(|c| c.access_key_id.as_deref()).collect(),
            tainted: b.credentials.iter().map(|c| c.id.as_str()).collect(),
        }
    }

    fn color(&self, account: Option<&str>) -> (&'static str, &'static str) {
        account
            .and_then(|a| self.colors.get(a))
            .and_then(|&i| PALETTE.get(i).copied())
            .unwrap_or(OTHER)
    }

    fn is_tainted(&self, id: &str) -> bool {
        self.tainted.contains(id) || self.status.contains_key(id)
    }

    fn is_seed(&self, n: &Node) -> bool {
        self.seeds.contains(n.id.as_str())
            || n.access_key_id.as_deref().is_some_and(|k| self.seeds.contains(k))
    }

    /// Expired by the cut-off: the plan's verdict for tainted credentials, else the
    /// credential's own expiry.
    fn is_expired(&self, n: &Node) -> bool {
        match self.status.get(n.id.as_str()) {
            Some(s) => **s == CredentialStatus::Expired,
            None => n.kind == NodeKind::Session && n.expires_at.is_some_and(|x| x <= self.eff),
        }
    }
}

/// Renders the report as one self-contained HTML document (no network access), with the key
/// findings given (`crate::findings::findings(blast, graph, Some(plan))`).
pub fn render_with_findings(d: &ReportData, findings: &[Finding]) -> String {
    let cx = Ctx::new(d);
    let mut o = String::with_capacity(256 * 1024);
    let hash = {
        use sha2::{Digest, Sha256};
        base64(&Sha256::digest(SCRIPT.as_bytes()))
    };
    let seeds = d.blast.seeds.join(", ");
    w!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; img-src data:; base-uri 'none'; form-action 'none'\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"trailhound {}\">\n\
<title>trailhound case report: {}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        escape_html(&d.plan.tool_version),
        clip(&seeds, 120)
    );
    o.push_str("<div id=\"js-error\" hidden></div>\n");
    header(&mut o, &cx);
    o.push_str(
        "<nav class=\"toc\"><a href=\"#findings\">Key findings</a><a href=\"#plan\">Plan</a>\
<a href=\"#chain\">Session chain</a><a href=\"#timeline\">Timeline</a>\
<a href=\"#persistence\">Persistence</a><a href=\"#credentials\">Credentials</a>\
<a href=\"#activity\">Activity</a><a href=\"#verify\">Verification</a>\
<span class=\"js\" id=\"js-status\">static</span></nav>\n<main>\n",
    );
    findings_section(&mut o, findings);
    plan_section(&mut o, &cx);
    graph_section(&mut o, &cx);
    timeline_section(&mut o, &cx);
    persistence_section(&mut o, &cx);
    credentials_section(&mut o, &cx);
    activity_section(&mut o, &cx);
    verify_section(&mut o, &cx);
    notes_section(&mut o, &cx);
    w!(
        o,
        "<footer>trailhound {} · case report for {} · all times UTC · the full data is in the JSON, \
Parquet and shell files next to this report</footer>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape_html(&d.plan.tool_version),
        clip(&seeds, 120)
    );
    o
}

fn header(o: &mut String, cx: &Ctx) {
    let (d, b, v, p) = (cx.d, cx.d.blast, cx.d.verify, cx.d.plan);
    let verdict = if d.integrity.1 && v.verdict != "FAIL" {
        "<span class=\"verdict fail\">EVIDENCE ALTERED: the logs do not match their digests</span>"
            .to_string()
    } else if v.verdict == "INCOMPLETE" {
        "<span class=\"verdict fail\">INPUT INCOMPLETE: verified over what was read only</span>"
            .to_string()
    } else if v.verdict == "OK" && !v.unrevocable.is_empty() {
        format!(
            "<span class=\"verdict fail\">PLAN VERIFIED FOR WHAT IAM CAN CUT: {} unrevocable still valid</span>",
            v.unrevocable.len()
        )
    } else if v.verdict == "OK" {
        "<span class=\"verdict ok\">PLAN VERIFIED</span>".to_string()
    } else {
        format!(
            "<span class=\"verdict fail\">PLAN INCOMPLETE: {} not covered, {} keys left active</span>",
            v.not_covered.len(),
            v.keys_left_active.len()
        )
    };
    w!(o, "<header class=\"top\">\n<h1>Leaked-key case report {verdict}</h1>\n<div class=\"sub\">Seed key");
    if b.seeds.len() != 1 {
        o.push('s');
    }
    o.push_str(": ");
    for (i, s) in b.seeds.iter().enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        w!(o, "<code>{}</code>", clip(s, 80));
    }
    let span = match (b.first_event, b.last_event) {
        (Some(f), Some(l)) => {
            let len = format!(" ({})", dur(l.secs() - f.secs()));
            format!("{} → {}{len}", escape_html(&f.to_string()), escape_html(&l.to_string()))
        }
        _ => "no tainted events".into(),
    };
    w!(o, " · tainted activity {span}</div>\n");
    w!(o, "<div class=\"sub\">{}</div>\n<div class=\"cards\">\n", clip(d.integrity.0, 400));
    let sessions = b.credentials.iter().filter(|c| c.kind == NodeKind::Session).count();
    let keys = b.credentials.iter().filter(|c| c.kind == NodeKind::LongTermKey).count();
    let live = p.tainted.credentials.iter().filter(|c| c.status == CredentialStatus::Live).count();
    let card = |o: &mut String, n: String, l: &str, class: &str| {
        w!(o, "<div class=\"card {class}\"><div class=\"n\">{n}</div><div class=\"l\">{l}</div></div>\n");
    };
    card(
        o,
        b.credentials.len().to_string(),
        &format!("tainted credentials ({sessions} sessions, {keys} keys)"),
        "",
    );
    card(o, b.events.to_string(), "tainted events", "");
    card(o, b.accounts.len().to_string(), "accounts touched", "");
    card(o, b.regions.len().to_string(), "regions", "");
    card(o, b.source_ips.len().to_string(), "source IPs", "");
    card(o, b.persistence.len().to_string(), "persistence findings", "");
    card(o, live.to_string(), "live sessions to deny", "");
    card(o, p.actions.len().to_string(), "plan actions", "");
    card(
        o,
        v.not_covered.len().to_string(),
        "sessions NOT covered",
        if v.not_covered.is_empty() { "good" } else { "bad" },
    );
    card(o, v.collateral.len().to_string(), "collateral sessions", "");
    o.push_str("</div>\n<dl class=\"kv\">\n");
    w!(
        o,
        "<dt>Cut-off (effective_at)</dt><dd>{} · strategy {}</dd>\n",
        escape_html(&p.effective_at.to_string()),
        match p.strategy {
            crate::plan::Strategy::Strict => "strict",
            crate::plan::Strategy::Surgical => "surgical",
        }
    );
    let s = d.scan;
    w!(
        o,
        "<dt>Trail</dt><dd>{} unique events ({} duplicates) in {} files, {} → {}; {} accounts, {} regions</dd>\n",
        s.events,
        s.duplicates,
        s.files.read,
        opt_time(s.first_event),
        opt_time(s.last_event),
        s.accounts.len(),
        s.regions.len()
    );
    if s.files.failed + s.files.skipped + s.rejected > 0 {
        w!(
            o,
            "<dt>Ingest problems</dt><dd>{} files failed, {} skipped, {} records rejected (see scan.json)</dd>\n",
            s.files.failed,
            s.files.skipped,
            s.rejected
        );
    }
    o.push_str("</dl>\n</header>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_html_escapes_markup_and_quotes() {
        assert_eq!(
            escape_html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape_html(r#"a"b'c&d"#), "a&quot;b&#39;c&amp;d");
        assert_eq!(escape_html("&lt;"), "&amp;lt;", "already-escaped text is escaped again");
        assert_eq!(
            escape_html("plain ARN arn:aws:iam::1:user/x"),
            "plain ARN arn:aws:iam::1:user/x"
        );
        assert_eq!(escape_html("tab\tnl\n"), "tab\tnl\n");
        assert_eq!(
            escape_html("nul\0bell\u{7}del\u{7f}c1\u{85}"),
            "nul\u{FFFD}bell\u{FFFD}del\u{FFFD}c1\u{FFFD}"
        );
        assert_eq!(escape_html("ünïcødé ✓"), "ünïcødé ✓");
        assert_eq!(escape_html("ad\u{200B}min \u{202E}x"), "ad\\u{200b}min \\u{202e}x");
        for s in ["<", ">", "\"", "'", "<img src=x onerror=alert(1)>", "\" onmouseover=\"x"] {
            let e = escape_html(s);
            assert!(!e.contains(['<', '>', '"', '\'']), "{s:?} → {e:?}");
        }
    }

    #[test]
    fn clip_truncates_on_characters_then_escapes() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("<<<<", 3), "&lt;&lt;…");
        assert_eq!(clip("a<b", 10), "a&lt;b");
        assert_eq!(clip_mid("abcdefghij", 5), "ab…ij");
        assert_eq!(
            clip_tail("stratus-red-team-ec2lui-role-pcccexdthk", 24),
            "stratus-…role-pcccexdthk"
        );
        assert_eq!(clip_tail("<b>-abcdefghijklmnop", 12), "&lt;b&gt;-…jklmnop");
        assert_eq!(
            brk("arn:aws:iam::1:role/&lt;x"),
            "arn:<wbr>aws:<wbr>iam:<wbr>:<wbr>1:<wbr>role/<wbr>&lt;x"
        );
        assert_eq!(clip_mid("<<<<<<>>>>>>", 4), "&lt;&lt;…&gt;");
        assert_eq!(clip_mid("short", 10), "short");
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        use sha2::{Digest, Sha256};
        // sha256("") in base64, as used in CSP hashes.
        assert_eq!(base64(&Sha256::digest(b"")), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn short_forms() {
        assert_eq!(
            principal_short("arn:aws:sts::111122223333:assumed-role/R/s"),
            "assumed-role/R/s"
        );
        assert_eq!(principal_short("arn:aws:iam::111122223333:user/a/b"), "user/a/b");
        assert_eq!(principal_short("saml:foo"), "saml:foo");
        assert_eq!(dur(59), "59s");
        assert_eq!(dur(3 * 3600 + 6 * 60), "3h 06m");
        assert_eq!(short(1710147636), "03-11 09:00");
        assert_eq!(hm(1710147636), "09:00");
    }
}

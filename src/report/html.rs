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

use crate::blast::BlastRadius;
use crate::chain::{GraphJson, Node, NodeKind};
use crate::findings::{Finding, Severity};
use crate::plan::verify::{SessionVerdict, Verification};
use crate::plan::Plan;
use crate::scan::ScanReport;
use crate::time::{fmt_iso, parse_iso};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Everything the report shows, already computed by the other stages.
pub struct ReportData<'a> {
    /// Inventory and ingest health of the whole trail.
    pub scan: &'a ScanReport,
    /// The tainted part of the session graph (leaked keys, their chains and ancestors).
    pub graph: GraphJson<'a>,
    /// The blast radius, with `tainted_events` loaded (the timeline is drawn from them).
    pub blast: &'a BlastRadius,
    /// The revocation plan.
    pub plan: &'a Plan,
    /// The offline verification of the plan.
    pub verify: &'a Verification,
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

const CSS: &str = include_str!("assets/report.css");
const SCRIPT: &str = include_str!("assets/report.js");

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

macro_rules! w {
    ($o:expr, $($t:tt)*) => {{
        let _ = write!($o, $($t)*);
    }};
}

/// Escapes text for HTML element content and quoted attribute values (also inside inline
/// SVG): `& < > " '` become entities, and control characters other than tab, newline and
/// carriage return (invalid in HTML) become U+FFFD.
pub fn escape_html(s: &str) -> String {
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
            c => o.push(c),
        }
    }
    o
}

/// Truncates `s` to at most `max` characters (ending in `…` when cut), then escapes it.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return escape_html(s);
    }
    let t: String = s.chars().take(max.saturating_sub(1)).collect();
    let mut o = escape_html(&t);
    o.push('…');
    o
}

/// Like [`clip`], but keeps the start and the end (user agents differ at their end).
pub fn clip_mid(s: &str, max: usize) -> String {
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
pub fn clip_tail(s: &str, max: usize) -> String {
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
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(data.len().div_ceil(3) * 4);
    for ch in data.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= ch.len() {
                o.push(A[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
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
    eff: Option<i64>,
    /// Account → palette slot.
    colors: BTreeMap<String, usize>,
    /// Tainted credential id → plan status (`live`, `expired`, `deactivate`, `unrevocable`).
    status: BTreeMap<&'a str, &'a str>,
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
            if a.kind == "deactivate_access_key" {
                if let Some(k) = &a.access_key_id {
                    deactivated.insert(k.as_str());
                }
            }
        }
        Ctx {
            d,
            eff: parse_iso(&d.plan.effective_at),
            colors,
            status: d
                .plan
                .tainted
                .credentials
                .iter()
                .map(|c| (c.id.as_str(), c.status.as_str()))
                .collect(),
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
            Some(s) => *s == "expired",
            None => {
                n.kind == NodeKind::Session
                    && matches!((n.expires_at, self.eff), (Some(x), Some(e)) if x <= e)
            }
        }
    }
}

/// Renders the report as one self-contained HTML document (no network access). The key
/// findings are computed from the report's own graph selection; [`render_with_findings`]
/// takes them computed over the whole session graph (which also finds the sessions of a
/// stolen instance credential outside the tainted chain).
pub fn render(d: &ReportData) -> String {
    let f = crate::findings::findings_from(d.blast, &d.graph.nodes, d.graph.attempts, Some(d.plan));
    render_with_findings(d, &f)
}

/// [`render`] with the key findings given (`crate::findings::findings(blast, graph, Some(plan))`).
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
    let verdict = if v.ok {
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
    let span = match (b.first_event.as_deref(), b.last_event.as_deref()) {
        (Some(f), Some(l)) => {
            let len = match (parse_iso(f), parse_iso(l)) {
                (Some(a), Some(z)) => format!(" ({})", dur(z - a)),
                _ => String::new(),
            };
            format!("{} → {}{len}", escape_html(f), escape_html(l))
        }
        _ => "no tainted events".into(),
    };
    w!(o, " · tainted activity {span}</div>\n<div class=\"cards\">\n");
    let sessions = b.credentials.iter().filter(|c| c.kind == NodeKind::Session).count();
    let keys = b.credentials.iter().filter(|c| c.kind == NodeKind::LongTermKey).count();
    let live = p.tainted.credentials.iter().filter(|c| c.status == "live").count();
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
        escape_html(&p.effective_at),
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
        opt(s.first_event.as_deref()),
        opt(s.last_event.as_deref()),
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

// ---------------------------------------------------------------------------------------
// The session chain.

const G_W: i64 = 224;
const G_H: i64 = 64;
const G_COL: i64 = 346;
const G_ROW: i64 = 80;
const G_PAD: i64 = 22;

/// One box of the drawn tree.
enum Slot {
    Node(usize),
    /// Children of `parent` not drawn.
    More(Vec<usize>),
}

struct Placed {
    slot: Slot,
    depth: usize,
    y: i64,
    /// (index of the parent box in `placed`, edge index into the graph's edges).
    from: Option<(usize, Option<usize>)>,
}

struct Tree {
    /// Tree children (node, edge), each node under its first issuer.
    kids: Vec<Vec<(usize, usize)>>,
    size: Vec<usize>,
    /// The subtree holds a credential not expired by the cut-off.
    live: Vec<bool>,
    placed: Vec<Placed>,
    rows: i64,
    drawn: usize,
    max_depth: usize,
}

/// Lays the graph out as a left-to-right layered tree: depth = column, leaves take rows in
/// order, parents sit in the middle of their children.
fn layout(cx: &Ctx) -> Tree {
    let g = &cx.d.graph;
    let n = g.nodes.len();
    let idx: BTreeMap<&str, usize> =
        g.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut all_kids: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (k, e) in g.edges.iter().enumerate() {
        let (Some(&p), Some(&c)) = (idx.get(e.parent.as_str()), idx.get(e.child.as_str())) else {
            continue;
        };
        if p != c && parent[c].is_none() {
            parent[c] = Some(p);
            all_kids[p].push((c, k));
        }
    }
    for ks in &mut all_kids {
        ks.sort_by(|a, b| {
            g.edges[a.1]
                .event_time
                .cmp(&g.edges[b.1].event_time)
                .then_with(|| g.nodes[a.0].id.cmp(&g.nodes[b.0].id))
        });
    }
    // Roots: nodes without an issuer, the ones leading to a seed first. Nodes only reachable
    // through a cycle (malformed input) become roots too.
    let mut roots: Vec<usize> = (0..n).filter(|&i| parent[i].is_none()).collect();
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut kids: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut visit = |r: usize, seen: &mut Vec<bool>, order: &mut Vec<usize>| {
        let mut stack = vec![r];
        seen[r] = true;
        while let Some(i) = stack.pop() {
            order.push(i);
            for &(c, k) in &all_kids[i] {
                if !seen[c] {
                    seen[c] = true;
                    kids[i].push((c, k));
                    stack.push(c);
                }
            }
        }
    };
    for &r in &roots {
        visit(r, &mut seen, &mut order);
    }
    for i in 0..n {
        if !seen[i] {
            roots.push(i);
            visit(i, &mut seen, &mut order);
        }
    }
    let mut size = vec![1usize; n];
    for &i in order.iter().rev() {
        size[i] = 1 + kids[i].iter().map(|&(c, _)| size[c]).sum::<usize>();
    }
    let mut live = vec![false; n];
    for &i in order.iter().rev() {
        live[i] = (cx.is_tainted(&g.nodes[i].id) && !cx.is_expired(g.nodes[i]))
            || kids[i].iter().any(|&(c, _)| live[c]);
    }
    let mut has_seed = vec![false; n];
    for &i in order.iter().rev() {
        has_seed[i] = cx.is_seed(g.nodes[i]) || kids[i].iter().any(|&(c, _)| has_seed[c]);
    }
    roots.sort_by(|&a, &b| {
        has_seed[b].cmp(&has_seed[a]).then_with(|| g.nodes[a].id.cmp(&g.nodes[b].id))
    });
    let mut t = Tree { kids, size, live, placed: Vec::new(), rows: 0, drawn: 0, max_depth: 0 };
    let mut top = Vec::new();
    for &r in &roots {
        if t.drawn >= MAX_GRAPH_NODES {
            top.push(r);
            continue;
        }
        place(cx, &mut t, r, 0, None);
    }
    if !top.is_empty() {
        let y = next_row(&mut t);
        t.placed.push(Placed { slot: Slot::More(top), depth: 0, y, from: None });
    }
    t
}

fn next_row(t: &mut Tree) -> i64 {
    let y = G_PAD + 12 + G_H / 2 + t.rows * G_ROW;
    t.rows += 1;
    y
}

/// Places node `i` and its subtree; returns its y.
fn place(
    cx: &Ctx,
    t: &mut Tree,
    i: usize,
    depth: usize,
    from: Option<(usize, Option<usize>)>,
) -> i64 {
    let g = &cx.d.graph;
    t.drawn += 1;
    t.max_depth = t.max_depth.max(depth);
    let me = t.placed.len();
    t.placed.push(Placed { slot: Slot::Node(i), depth, y: 0, from });
    let kids = t.kids[i].clone();
    if kids.is_empty() {
        let y = next_row(t);
        t.placed[me].y = y;
        return y;
    }
    let budget = MAX_GRAPH_NODES.saturating_sub(t.drawn);
    let cap = if depth + 1 >= MAX_DEPTH { 0 } else { MAX_SIBLINGS.min(budget) };
    let (shown, hidden): (Vec<(usize, usize)>, Vec<usize>) =
        if kids.len() <= cap || (kids.len() == cap + 1 && kids.len() <= budget && cap > 0) {
            (kids, Vec::new())
        } else {
            // Keep, alternately, the children whose subtree is still alive (what the plan
            // must cut) and the ones that lead further (the shape of the chain); then the
            // busiest. Ties by time, then id.
            let tie = |a: &(usize, usize), b: &(usize, usize)| {
                let (na, nb) = (g.nodes[a.0], g.nodes[b.0]);
                nb.events
                    .cmp(&na.events)
                    .then_with(|| g.edges[a.1].event_time.cmp(&g.edges[b.1].event_time))
                    .then_with(|| na.id.cmp(&nb.id))
            };
            let mut alive = kids.clone();
            alive.sort_by(|a, b| {
                t.live[b.0]
                    .cmp(&t.live[a.0])
                    .then_with(|| (t.size[b.0] > 1).cmp(&(t.size[a.0] > 1)))
                    .then_with(|| tie(a, b))
            });
            let mut deep = kids.clone();
            deep.sort_by(|a, b| {
                (t.size[b.0] > 1)
                    .cmp(&(t.size[a.0] > 1))
                    .then_with(|| t.live[b.0].cmp(&t.live[a.0]))
                    .then_with(|| tie(a, b))
            });
            let mut keep: BTreeSet<usize> = BTreeSet::new();
            let (mut ia, mut id) = (alive.iter(), deep.iter());
            while keep.len() < cap {
                let before = keep.len();
                if let Some(x) = ia.find(|x| !keep.contains(&x.0)) {
                    keep.insert(x.0);
                }
                if keep.len() < cap {
                    if let Some(x) = id.find(|x| !keep.contains(&x.0)) {
                        keep.insert(x.0);
                    }
                }
                if keep.len() == before {
                    break;
                }
            }
            let shown: Vec<(usize, usize)> =
                kids.iter().copied().filter(|x| keep.contains(&x.0)).collect();
            let hidden = kids.iter().filter(|x| !keep.contains(&x.0)).map(|x| x.0).collect();
            (shown, hidden)
        };
    let mut ys = Vec::new();
    for (c, k) in shown {
        ys.push(place(cx, t, c, depth + 1, Some((me, Some(k)))));
    }
    if !hidden.is_empty() {
        let y = next_row(t);
        t.max_depth = t.max_depth.max(depth + 1);
        t.placed.push(Placed {
            slot: Slot::More(hidden),
            depth: depth + 1,
            y,
            from: Some((me, None)),
        });
        ys.push(y);
    }
    let y = (ys[0] + ys[ys.len() - 1]) / 2;
    t.placed[me].y = y;
    y
}

fn badge(o: &mut String, x_right: &mut i64, y: i64, text: &str, fill: &str, ink: &str) {
    let w = text.len() as i64 * 6 + 10;
    let x = *x_right - w;
    w!(
        o,
        "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"14\" rx=\"3\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"1.5\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"9.5\" font-weight=\"700\" fill=\"{ink}\" text-anchor=\"middle\">{text}</text>",
        y - 7,
        x + w / 2,
        y + 3
    );
    *x_right = x - 4;
}

fn node_title(cx: &Ctx, n: &Node, issued_by: Option<usize>) -> String {
    let g = &cx.d.graph;
    let mut t = String::new();
    let _ = writeln!(t, "{}", n.id);
    let kind = match n.kind {
        NodeKind::LongTermKey => "long-term access key",
        NodeKind::Session => "temporary session",
        NodeKind::ExternalIdentity => "external identity",
        NodeKind::Service => "AWS service",
    };
    let _ = writeln!(t, "{kind}{}", if n.orphan { " (no issuing event in the logs)" } else { "" });
    if let Some(a) = &n.principal_arn {
        let _ = writeln!(t, "principal: {a}");
    }
    if let Some(a) = &n.account_id {
        let _ = writeln!(t, "account: {a}");
    }
    if let Some(k) = issued_by {
        let e = g.edges[k];
        let _ = writeln!(
            t,
            "issued by {} at {} (event {})",
            e.event_name,
            fmt_iso(e.event_time),
            e.event_id
        );
    } else if let Some(i) = n.issued_at {
        let _ = writeln!(t, "issued {}", fmt_iso(i));
    }
    if let Some(x) = n.expires_at {
        let _ = writeln!(t, "expires {}", fmt_iso(x));
    }
    let _ = writeln!(t, "{} events", n.events);
    if let (Some(f), Some(l)) = (n.first_seen, n.last_seen) {
        let _ = writeln!(t, "active {} → {}", fmt_iso(f), fmt_iso(l));
    }
    if !n.source_ips.is_empty() {
        let ips: Vec<&str> = n.source_ips.iter().take(6).map(|s| s.as_str()).collect();
        let _ = writeln!(
            t,
            "source IPs: {}{}",
            ips.join(", "),
            if n.source_ips.len() > 6 { ", …" } else { "" }
        );
    }
    let status = match cx.status.get(n.id.as_str()) {
        Some(s) => format!("plan status: {s}"),
        None if cx.is_tainted(&n.id) => "tainted".into(),
        None => "not tainted: issued the leaked credential".into(),
    };
    let _ = write!(t, "{status}");
    if let Some(ord) = cx.denied.get(n.id.as_str()) {
        let _ = write!(t, "; denied by plan action #{ord}");
    }
    if cx.not_covered.contains(n.id.as_str()) {
        let _ = write!(t, "; NOT COVERED by the plan");
    }
    clip(&t, 1200)
}

fn graph_section(o: &mut String, cx: &Ctx) {
    let g = &cx.d.graph;
    o.push_str("<section id=\"chain\">\n<h2>Session chain</h2>\n");
    if g.nodes.is_empty() {
        o.push_str("<p class=\"muted\">The seed keys do not appear in the trail: no chain to draw.</p>\n</section>\n");
        return;
    }
    let t = layout(cx);
    let width = 2 * G_PAD + t.max_depth as i64 * G_COL + G_W;
    let height = G_PAD + 12 + t.rows * G_ROW + 4;
    w!(
        o,
        "<p class=\"muted\">Every credential the seed key led to, left to right: who issued what, with which call. \
{} credentials and {} issuance edges in the tainted graph{}. Hover a box for details; click it to jump to its row.</p>\n",
        g.nodes.len(),
        g.edges.len(),
        if t.drawn < g.nodes.len() {
            format!("; {} drawn, the rest folded into “+N more” boxes", t.drawn)
        } else {
            String::new()
        }
    );
    w!(
        o,
        "<div class=\"fit\"><svg id=\"chain-svg\" class=\"fitsvg\" width=\"100%\" viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"xMinYMin meet\" style=\"max-width:{width}px\" data-w=\"{width}\" data-h=\"{height}\" role=\"img\" aria-label=\"session chain graph\">\n\
<defs><marker id=\"arr\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#64748b\"/></marker></defs>\n"
    );
    let x_of = |depth: usize| G_PAD + depth as i64 * G_COL;
    // Edges first, under the boxes.
    for p in &t.placed {
        let Some((pi, edge)) = p.from else { continue };
        let parent = &t.placed[pi];
        let (x1, y1) = (x_of(parent.depth) + G_W, parent.y);
        let (x2, y2) = (x_of(p.depth), p.y);
        let dash = if edge.is_none() { " stroke-dasharray=\"4 4\"" } else { "" };
        w!(
            o,
            "<path d=\"M{x1},{y1} C{},{y1} {},{y2} {},{y2}\" fill=\"none\" stroke=\"#94a3b8\" stroke-width=\"1.6\"{dash} marker-end=\"url(#arr)\"/>\n",
            x1 + 70,
            x2 - 80,
            x2 - 2
        );
        let (label, when) = match (edge, &p.slot) {
            (Some(k), _) => (clip(&g.edges[k].event_name, 18), short(g.edges[k].event_time)),
            (None, Slot::More(h)) => (format!("{} more", h.len()), String::new()),
            _ => (String::new(), String::new()),
        };
        w!(
            o,
            "<text class=\"sans\" x=\"{}\" y=\"{}\" font-size=\"10.5\" font-weight=\"600\" fill=\"#334155\" text-anchor=\"end\" paint-order=\"stroke\" stroke=\"#fcfcfd\" stroke-width=\"4\">{label}</text>",
            x2 - 10,
            y2 - 6
        );
        if !when.is_empty() {
            w!(
                o,
                "<text x=\"{}\" y=\"{}\" font-size=\"9.5\" fill=\"#64748b\" text-anchor=\"end\" paint-order=\"stroke\" stroke=\"#fcfcfd\" stroke-width=\"4\">{when}</text>",
                x2 - 10,
                y2 + 13
            );
        }
        o.push('\n');
    }
    let parent_edge: BTreeMap<usize, usize> = t
        .placed
        .iter()
        .filter_map(|p| match (&p.slot, p.from) {
            (Slot::Node(i), Some((_, Some(k)))) => Some((*i, k)),
            _ => None,
        })
        .collect();
    for p in &t.placed {
        let x = x_of(p.depth);
        let top = p.y - G_H / 2;
        match &p.slot {
            Slot::Node(i) => {
                let n = g.nodes[*i];
                draw_node(o, cx, n, x, top, parent_edge.get(i).copied());
            }
            Slot::More(hidden) => draw_more(o, cx, hidden, x, top),
        }
    }
    o.push_str("</svg></div>\n");
    graph_legend(o, cx);
    o.push_str("<div class=\"readout\" id=\"graph-readout\">Hover a credential for its details.</div>\n</section>\n");
}

fn draw_node(o: &mut String, cx: &Ctx, n: &Node, x: i64, top: i64, edge: Option<usize>) {
    let tainted = cx.is_tainted(&n.id);
    let seed = cx.is_seed(n);
    let expired = cx.is_expired(n);
    let (fill, stroke) =
        if tainted { cx.color(n.account_id.as_deref()) } else { ("#ffffff", "#94a3b8") };
    let href = cx.cred_row.get(n.id.as_str()).map(|r| format!("#cred-{r}"));
    if let Some(h) = &href {
        w!(o, "<a href=\"{h}\">");
    }
    w!(
        o,
        "<g class=\"tnode\"><g{}><title>{}</title>",
        if expired { " class=\"expired\"" } else { "" },
        node_title(cx, n, edge)
    );
    let dash = if n.orphan { " stroke-dasharray=\"6 4\"" } else { "" };
    w!(
        o,
        "<rect class=\"box\" x=\"{x}\" y=\"{top}\" width=\"{G_W}\" height=\"{G_H}\" rx=\"7\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{}\"{dash}/>",
        if seed { 3.5 } else { 1.6 }
    );
    if tainted {
        w!(
            o,
            "<rect x=\"{x}\" y=\"{top}\" width=\"6\" height=\"{G_H}\" rx=\"3\" fill=\"{stroke}\"/>"
        );
    }
    let title = n.access_key_id.as_deref().unwrap_or(&n.id);
    let ink = if tainted { "#0f172a" } else { "#64748b" };
    w!(
        o,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" font-weight=\"700\" fill=\"{ink}\">{}</text>",
        x + 12,
        top + 16,
        clip_mid(title, 30)
    );
    let who = n.principal_arn.as_deref().map(principal_short).unwrap_or(match n.kind {
        NodeKind::Service => "AWS service",
        NodeKind::ExternalIdentity => "external identity",
        _ => "unknown principal",
    });
    // Role sessions on two lines (role, then session), each shortened in the middle so the
    // distinguishing tail stays; the full names are in the box's tooltip.
    let (l1, l2) = match who.strip_prefix("assumed-role/").and_then(|r| r.rsplit_once('/')) {
        Some((role, session)) => (format!("role {}", clip_tail(role, 27)), clip_tail(session, 32)),
        None => (clip_tail(who, 32), String::new()),
    };
    w!(
        o,
        "<text x=\"{}\" y=\"{}\" font-size=\"10.5\" fill=\"{ink}\">{l1}</text>",
        x + 12,
        top + 30
    );
    if !l2.is_empty() {
        w!(
            o,
            "<text x=\"{}\" y=\"{}\" font-size=\"10.5\" fill=\"{ink}\">{l2}</text>",
            x + 12,
            top + 43
        );
    }
    let meta = if !tainted {
        format!("issuer, not tainted · {} ev", n.events)
    } else {
        match n.kind {
            NodeKind::Session => match (n.issued_at, n.expires_at) {
                (Some(i), Some(e)) => format!("{} ev · {} → {}", n.events, short(i), hm(e)),
                (Some(i), None) => format!("{} ev · issued {}", n.events, short(i)),
                _ => format!("{} ev", n.events),
            },
            _ => match (n.issued_at, n.first_seen) {
                (Some(i), _) => format!("{} ev · created {}", n.events, short(i)),
                (None, Some(f)) => format!("{} ev · first use {}", n.events, short(f)),
                _ => format!("{} ev", n.events),
            },
        }
    };
    w!(
        o,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#475569\">{}</text>",
        x + 12,
        top + 56,
        escape_html(&meta)
    );
    let mut xr = x + G_W - 6;
    if seed {
        badge(o, &mut xr, top, "LEAKED", "#b91c1c", "#fff");
    }
    if cx.not_covered.contains(n.id.as_str()) {
        badge(o, &mut xr, top, "NOT COVERED", "#7f1d1d", "#fff");
    }
    if cx.denied.contains_key(n.id.as_str()) {
        badge(o, &mut xr, top, "DENY", "#fee2e2", "#991b1b");
    }
    if n.access_key_id.as_deref().is_some_and(|k| cx.deactivated.contains(k))
        && n.kind == NodeKind::LongTermKey
    {
        badge(o, &mut xr, top, "DEACTIVATE", "#1e293b", "#fff");
    }
    if cx.unrevocable.contains(n.id.as_str()) {
        badge(o, &mut xr, top, "UNREVOCABLE", "#ffedd5", "#9a3412");
    }
    if expired {
        badge(o, &mut xr, top, "EXPIRED", "#e2e8f0", "#334155");
    }
    o.push_str("</g></g>");
    if href.is_some() {
        o.push_str("</a>");
    }
    o.push('\n');
}

fn draw_more(o: &mut String, cx: &Ctx, hidden: &[usize], x: i64, top: i64) {
    let g = &cx.d.graph;
    let nodes: Vec<&Node> = hidden.iter().map(|&i| g.nodes[i]).collect();
    let expired = nodes.iter().filter(|n| cx.is_expired(n)).count();
    let events: u64 = nodes.iter().map(|n| n.events).sum();
    let denied = nodes.iter().filter(|n| cx.denied.contains_key(n.id.as_str())).count();
    let notcov = nodes.iter().filter(|n| cx.not_covered.contains(n.id.as_str())).count();
    let mut title = format!(
        "{} more credentials not drawn (all are in blast.json and the table below):\n",
        nodes.len()
    );
    for n in nodes.iter().take(40) {
        let _ = writeln!(
            title,
            "{}  {}",
            n.id,
            n.principal_arn.as_deref().map(principal_short).unwrap_or("")
        );
    }
    if nodes.len() > 40 {
        let _ = write!(title, "…");
    }
    w!(
        o,
        "<g class=\"tnode\"><title>{}</title><rect class=\"box\" x=\"{x}\" y=\"{top}\" width=\"{G_W}\" height=\"{G_H}\" rx=\"7\" fill=\"#f8fafc\" stroke=\"#64748b\" stroke-width=\"1.6\" stroke-dasharray=\"3 3\"/>",
        clip(&title, 4000)
    );
    w!(
        o,
        "<text class=\"sans\" x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"700\" fill=\"#334155\">+{} more</text>",
        x + 12,
        top + 18,
        nodes.len()
    );
    w!(
        o,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#475569\">{} live · {} expired · {} ev</text>",
        x + 12,
        top + 32,
        nodes.len() - expired,
        expired,
        events
    );
    w!(
        o,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"{}\">{} denied{}</text>",
        x + 12,
        top + 44,
        if notcov > 0 { "#b91c1c" } else { "#475569" },
        denied,
        if notcov > 0 { format!(" · {notcov} NOT COVERED") } else { String::new() }
    );
    o.push_str("</g>\n");
}

fn graph_legend(o: &mut String, cx: &Ctx) {
    let g = &cx.d.graph;
    let mut per: BTreeMap<usize, (String, usize)> = BTreeMap::new();
    for n in &g.nodes {
        if !cx.is_tainted(&n.id) {
            continue;
        }
        let a = n.account_id.as_deref().unwrap_or("unknown").to_string();
        let slot = cx.colors.get(&a).copied().unwrap_or(usize::MAX).min(PALETTE.len());
        let e = per.entry(slot).or_insert((a, 0));
        e.1 += 1;
    }
    o.push_str("<div class=\"legend\">");
    for (slot, (a, n)) in &per {
        let (fill, stroke) = PALETTE.get(*slot).copied().unwrap_or(OTHER);
        let name =
            if *slot >= PALETTE.len() { "other accounts".to_string() } else { escape_html(a) };
        w!(
            o,
            "<span><span class=\"sw\" style=\"background:{fill};border-color:{stroke}\"></span>account {name} ({n})</span>"
        );
    }
    o.push_str(
        "<span><span class=\"sw\" style=\"background:#fff;border-color:#94a3b8\"></span>issuer above the leak (not tainted)</span>\
<span><span class=\"sw\" style=\"background:#fff;border-color:#0f172a;border-width:3px\"></span>leaked key</span>\
<span><span class=\"sw dash\" style=\"border-color:#64748b\"></span>orphan: no issuing event in the logs</span>\
<span><span class=\"sw dim\" style=\"background:#dbeafe;border-color:#2563eb\"></span>expired by the cut-off</span>\
<span><span class=\"pill s-live\">DENY</span> principal gets a deny policy</span>\
<span><span class=\"pill s-deactivate\">DEACTIVATE</span> key deactivated</span>\
<span><span class=\"pill s-unrevocable\">UNREVOCABLE</span> no IAM policy can cut it</span></div>\n",
    );
}

// ---------------------------------------------------------------------------------------
// The timeline.

/// Bucket width (seconds) for a span: the smallest "nice" width giving at most 96 buckets.
fn bucket_for(span: i64) -> i64 {
    const NICE: [i64; 14] =
        [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
    for b in NICE {
        if span <= b * 96 {
            return b;
        }
    }
    (span / 96 / 86400 + 1) * 86400
}

/// Tick step (seconds) for axis labels: at most ~10 labels.
fn tick_for(span: i64) -> i64 {
    const NICE: [i64; 13] =
        [300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000];
    for b in NICE {
        if span <= b * 10 {
            return b;
        }
    }
    (span / 10 / 86400 + 1) * 86400
}

fn timeline_section(o: &mut String, cx: &Ctx) {
    let b = cx.d.blast;
    o.push_str("<section id=\"timeline\">\n<h2>Tainted activity over time</h2>\n");
    let evs = &b.tainted_events;
    let (Some(t0), Some(t1)) = (
        evs.iter().map(|e| e.time).min().or_else(|| b.first_event.as_deref().and_then(parse_iso)),
        evs.iter().map(|e| e.time).max().or_else(|| b.last_event.as_deref().and_then(parse_iso)),
    ) else {
        o.push_str("<p class=\"muted\">No tainted events.</p>\n</section>\n");
        return;
    };
    // The axis covers the tainted activity, and the cut-off when it is near.
    let (mut lo, mut hi) = (t0, t1 + 1);
    let slack = (hi - lo).max(6 * 3600);
    let eff_shown = cx.eff.filter(|&e| e >= lo - slack && e <= hi + slack);
    if let Some(e) = eff_shown {
        lo = lo.min(e);
        hi = hi.max(e + 1);
    }
    let bucket = bucket_for(hi - lo);
    let a = lo.div_euclid(bucket) * bucket;
    let z = (hi + bucket - 1).div_euclid(bucket) * bucket;
    let nb = ((z - a) / bucket) as usize;
    // Counts per bucket and account slot, plus names for the hover text.
    let nslots = PALETTE.len() + 1;
    let mut counts = vec![vec![0u64; nslots]; nb];
    let mut names: Vec<BTreeMap<&str, u64>> = vec![BTreeMap::new(); nb];
    let slot_of = |acct: Option<&str>| {
        acct.and_then(|a| cx.colors.get(a)).copied().unwrap_or(usize::MAX).min(PALETTE.len())
    };
    if evs.is_empty() {
        for (h, n) in &b.per_hour {
            if let Some(t) = parse_iso(&format!("{h}:00:00Z")) {
                let k = ((t - a) / bucket).clamp(0, nb as i64 - 1) as usize;
                counts[k][PALETTE.len()] += n;
            }
        }
    }
    for e in evs {
        let k = ((e.time - a) / bucket).clamp(0, nb as i64 - 1) as usize;
        counts[k][slot_of(e.account())] += 1;
        *names[k].entry(e.name.as_str()).or_default() += 1;
    }
    let max = counts.iter().map(|c| c.iter().sum::<u64>()).max().unwrap_or(1).max(1);
    let slot_names: BTreeMap<usize, String> = cx
        .colors
        .iter()
        .map(|(a, &s)| {
            (
                s.min(PALETTE.len()),
                if s >= PALETTE.len() { "other accounts".into() } else { a.clone() },
            )
        })
        .collect();

    // Credential lanes: the seeds, then live credentials, then the most active; drawn in
    // order of first activity.
    let creds = &b.credentials;
    let mut by_key: BTreeMap<&str, Vec<(usize, Option<i64>)>> = BTreeMap::new();
    for (i, c) in creds.iter().enumerate() {
        if let Some(k) = &c.access_key_id {
            by_key
                .entry(k.as_str())
                .or_default()
                .push((i, c.issued_at.as_deref().and_then(parse_iso)));
        }
    }
    let mut lane_hits: Vec<BTreeMap<usize, u64>> = vec![BTreeMap::new(); creds.len()];
    for e in evs {
        let Some(list) = e.identity.access_key_id.as_deref().and_then(|k| by_key.get(k)) else {
            continue;
        };
        let ci = if list.len() == 1 {
            list[0].0
        } else {
            list.iter()
                .find(|(_, t)| *t == e.identity.creation_date)
                .or_else(|| list.first())
                .map_or(list[0].0, |x| x.0)
        };
        let k = ((e.time - a) / bucket).clamp(0, nb as i64 - 1) as usize;
        *lane_hits[ci].entry(k).or_default() += 1;
    }
    let start_of = |c: &crate::blast::TaintedCredential| {
        c.issued_at
            .as_deref()
            .and_then(parse_iso)
            .or_else(|| c.first_seen.as_deref().and_then(parse_iso))
            .unwrap_or(t0)
    };
    let mut lanes: Vec<usize> = (0..creds.len()).collect();
    if lanes.len() > MAX_LANES {
        lanes.sort_by(|&x, &y| {
            let sx = creds[x].access_key_id.as_deref().is_some_and(|k| cx.seeds.contains(k));
            let sy = creds[y].access_key_id.as_deref().is_some_and(|k| cx.seeds.contains(k));
            let lx = cx.status.get(creds[x].id.as_str()) == Some(&"live");
            let ly = cx.status.get(creds[y].id.as_str()) == Some(&"live");
            sy.cmp(&sx)
                .then(ly.cmp(&lx))
                .then(creds[y].events.cmp(&creds[x].events))
                .then(x.cmp(&y))
        });
        lanes.truncate(MAX_LANES);
    }
    lanes.sort_by(|&x, &y| start_of(&creds[x]).cmp(&start_of(&creds[y])).then(x.cmp(&y)));

    // Geometry.
    const L: i64 = 300;
    const PW: i64 = 860;
    const BT: i64 = 30; // bars top
    const BH: i64 = 150; // bars height
    const LANE: i64 = 17;
    let axis = BT + BH;
    let issue_y = axis + 34;
    let pers_y = issue_y + 16;
    let lanes_top = pers_y + 18;
    let height = lanes_top + lanes.len() as i64 * LANE + 8;
    let width = L + PW + 24;
    let xt = |t: i64| L as f64 + (t - a) as f64 * PW as f64 / (z - a) as f64;
    let bw = PW as f64 / nb as f64;

    w!(
        o,
        "<p class=\"muted\">{} tainted events in {} buckets of {}, stacked by account. The shaded band is the tainted activity \
({} → {}); ▲ marks credential issuance, ◆ persistence; below, one lane per credential (thin bar: its validity, blocks: its calls).</p>\n",
        b.events,
        nb,
        dur(bucket),
        escape_html(&fmt_iso(t0)),
        escape_html(&fmt_iso(t1))
    );
    w!(
        o,
        "<div class=\"fit\"><svg id=\"timeline-svg\" class=\"fitsvg\" width=\"100%\" viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"xMinYMin meet\" data-w=\"{width}\" data-h=\"{height}\" role=\"img\" aria-label=\"timeline of tainted events\">\n"
    );
    // Incident band and y axis.
    w!(
        o,
        "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#fee2e2\" fill-opacity=\"0.55\"/>",
        xt(t0),
        BT - 14,
        (xt(t1 + 1) - xt(t0)).max(2.0),
        height - BT + 6
    );
    w!(
        o,
        "<text class=\"sans\" x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#991b1b\" font-weight=\"600\">tainted activity {} → {} ({})</text>\n",
        xt(t0) + 4.0,
        BT - 3,
        short(t0),
        hm(t1),
        dur(t1 - t0)
    );
    for k in 0..=2u64 {
        let v = max * k / 2;
        let y = axis as f64 - v as f64 * BH as f64 / max as f64;
        w!(
            o,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e2e8f0\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" fill=\"#64748b\" text-anchor=\"end\">{v}</text>",
            L + PW,
            L - 6,
            y + 3.0
        );
    }
    w!(
        o,
        "<text class=\"sans\" x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#475569\" text-anchor=\"end\">events per {}</text>\n",
        L - 30,
        BT + 12,
        dur(bucket)
    );
    // Account legend in the left margin.
    for (row, (s, name)) in slot_names.iter().enumerate().take(7) {
        let (fill, stroke) = PALETTE.get(*s).copied().unwrap_or(OTHER);
        let y = BT + 34 + row as i64 * 16;
        w!(
            o,
            "<rect x=\"16\" y=\"{}\" width=\"12\" height=\"10\" rx=\"2\" fill=\"{stroke}\" stroke=\"{fill}\"/><text x=\"34\" y=\"{}\" font-size=\"10.5\" fill=\"#334155\">{}</text>",
            y - 9,
            y,
            clip(name, 26)
        );
    }
    // Bars.
    for (k, c) in counts.iter().enumerate() {
        let total: u64 = c.iter().sum();
        let x = L as f64 + k as f64 * bw;
        let mut y = axis as f64;
        for (s, &n) in c.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let h = n as f64 * BH as f64 / max as f64;
            y -= h;
            let (_, stroke) = PALETTE.get(s).copied().unwrap_or(OTHER);
            w!(
                o,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{stroke}\"/>",
                x + 0.5,
                (bw - 1.0).max(0.8)
            );
        }
        if total > 0 {
            let from = a + k as i64 * bucket;
            let mut tip =
                format!("{} – {} UTC: {} events", fmt_iso(from), hm(from + bucket), total);
            for (s, &n) in c.iter().enumerate() {
                if n > 0 {
                    let name = slot_names.get(&s).map_or("unknown account", String::as_str);
                    let _ = write!(tip, "\n  account {name}: {n}");
                }
            }
            let mut top: Vec<(&str, u64)> = names[k].iter().map(|(a, b)| (*a, *b)).collect();
            top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
            for (name, n) in top.iter().take(5) {
                let _ = write!(tip, "\n  {name} ×{n}");
            }
            w!(
                o,
                "<rect class=\"tcol\" x=\"{x:.1}\" y=\"{BT}\" width=\"{bw:.1}\" height=\"{BH}\" fill=\"#000\" fill-opacity=\"0\"><title>{}</title></rect>",
                clip(&tip, 1500)
            );
        }
        o.push('\n');
    }
    // X axis.
    w!(o, "<line x1=\"{L}\" x2=\"{}\" y1=\"{axis}\" y2=\"{axis}\" stroke=\"#334155\"/>\n", L + PW);
    let step = tick_for(z - a);
    let mut tk = (a + step - 1).div_euclid(step) * step;
    let mut last_day = String::new();
    while tk <= z {
        let x = xt(tk);
        let iso = fmt_iso(tk);
        let day = iso.get(..10).unwrap_or("").to_string();
        let label = if day != last_day || step >= 86400 { short(tk) } else { hm(tk) };
        last_day = day;
        w!(
            o,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{axis}\" y2=\"{}\" stroke=\"#334155\"/><line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#e2e8f0\" stroke-dasharray=\"2 3\"/><text x=\"{x:.1}\" y=\"{}\" font-size=\"10\" fill=\"#334155\" text-anchor=\"middle\">{label}</text>\n",
            axis + 5,
            lanes_top,
            height - 4,
            axis + 17
        );
        tk += step;
    }
    // Issuance and persistence markers.
    w!(
        o,
        "<text class=\"sans\" x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#334155\" text-anchor=\"end\">credentials issued ▲</text>",
        L - 8,
        issue_y + 4
    );
    w!(
        o,
        "<text class=\"sans\" x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#334155\" text-anchor=\"end\">persistence ◆</text>\n",
        L - 8,
        pers_y + 4
    );
    let g = &cx.d.graph;
    let by_id: BTreeMap<&str, &Node> = g.nodes.iter().map(|n| (n.id.as_str(), *n)).collect();
    let mut issued: Vec<Marker> = Vec::new();
    for e in g.edges.iter().filter(|e| cx.is_tainted(&e.child)) {
        if e.event_time < a || e.event_time > z {
            continue;
        }
        let child = by_id.get(e.child.as_str());
        let (_, stroke) = cx.color(child.and_then(|n| n.account_id.as_deref()));
        let tip = format!(
            "{} {} → {} {}",
            hm(e.event_time),
            e.event_name,
            e.child.split('@').next().unwrap_or(""),
            child.and_then(|n| n.principal_arn.as_deref()).map(principal_short).unwrap_or("")
        );
        issued.push((e.event_time, tip, stroke));
    }
    markers(o, &mut issued, "credential(s) issued", issue_y, "l5,9 l-10,0 z", &xt);
    let mut pers: Vec<Marker> = Vec::new();
    for p in &b.persistence {
        let Some(t) = parse_iso(&p.event_time) else { continue };
        if t < a || t > z {
            continue;
        }
        let tip =
            format!("{} {}: {} ({}) → {}", hm(t), p.event_name, p.target, p.detail, p.follow_up);
        pers.push((t, tip, "#b91c1c"));
    }
    markers(o, &mut pers, "persistence finding(s)", pers_y, "l5,5 l-5,5 l-5,-5 z", &xt);
    o.push('\n');
    // Lanes.
    let maxhit = lane_hits.iter().flat_map(|m| m.values()).copied().max().unwrap_or(1).max(1);
    for (row, &ci) in lanes.iter().enumerate() {
        let c = &creds[ci];
        let y = lanes_top + row as i64 * LANE;
        let (_, stroke) = cx.color(c.account_id.as_deref());
        let status = cx.status.get(c.id.as_str()).copied().unwrap_or("");
        let mut tip = format!(
            "{}\n{}\n{} events · {}",
            c.id,
            c.principal_arn.as_deref().unwrap_or(""),
            c.events,
            if status.is_empty() { "tainted" } else { status }
        );
        if let (Some(f), Some(l)) = (&c.first_seen, &c.last_seen) {
            let _ = write!(tip, "\nactive {f} → {l}");
        }
        if let Some(x) = &c.expires_at {
            let _ = write!(tip, "\nexpires {x}");
        }
        let href = cx.cred_row.get(c.id.as_str()).map(|r| format!("#cred-{r}"));
        if let Some(h) = &href {
            w!(o, "<a href=\"{h}\">");
        }
        w!(o, "<g class=\"tlane\"><title>{}</title>", clip(&tip, 800));
        if row % 2 == 0 {
            w!(
                o,
                "<rect x=\"8\" y=\"{y}\" width=\"{}\" height=\"{LANE}\" fill=\"#f8fafc\"/>",
                L + PW - 8
            );
        }
        let key = c.access_key_id.as_deref().unwrap_or(&c.id);
        let who = c.principal_arn.as_deref().map(principal_short).unwrap_or("");
        let seed = c.access_key_id.as_deref().is_some_and(|k| cx.seeds.contains(k));
        w!(
            o,
            "<text x=\"12\" y=\"{}\" font-size=\"10.5\" fill=\"#0f172a\"{}>{}</text><text x=\"158\" y=\"{}\" font-size=\"10\" fill=\"#475569\">{}</text>",
            y + 12,
            if seed { " font-weight=\"700\"" } else { "" },
            clip_mid(key, 21),
            y + 12,
            clip_tail(
                who.strip_prefix("assumed-role/")
                    .and_then(|r| r.rsplit_once('/'))
                    .map_or(who, |(role, _)| role),
                23
            )
        );
        // Validity bar: issue (or first use) to expiry (or the end of the axis).
        let s = start_of(c).clamp(a, z);
        let e = c.expires_at.as_deref().and_then(parse_iso).unwrap_or(z).clamp(a, z);
        let dim = if status == "expired" { "0.25" } else { "0.5" };
        w!(
            o,
            "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"3\" fill=\"{stroke}\" fill-opacity=\"{dim}\"/>",
            xt(s),
            y + 7,
            (xt(e) - xt(s)).max(1.0)
        );
        for (&k, &n) in &lane_hits[ci] {
            let op = 0.35 + 0.65 * (n as f64 / maxhit as f64);
            w!(
                o,
                "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"11\" fill=\"{stroke}\" fill-opacity=\"{op:.2}\"/>",
                L as f64 + k as f64 * bw + 0.5,
                y + 3,
                (bw - 1.0).max(1.5)
            );
        }
        o.push_str("</g>");
        if href.is_some() {
            o.push_str("</a>");
        }
        o.push('\n');
    }
    if let Some(e) = eff_shown {
        let x = xt(e);
        w!(
            o,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#b91c1c\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\
<text class=\"sans\" x=\"{:.1}\" y=\"{}\" font-size=\"11\" font-weight=\"700\" fill=\"#b91c1c\" text-anchor=\"end\" paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"4\">cut-off {}</text>\n",
            BT - 14,
            height,
            x - 4.0,
            BT + 24,
            hm(e)
        );
    }
    o.push_str("</svg></div>\n");
    if lanes.len() < creds.len() {
        w!(
            o,
            "<p class=\"more\">Lanes for the {} most active of {} credentials; all are in the credentials table.</p>\n",
            lanes.len(),
            creds.len()
        );
    }
    if eff_shown.is_none() {
        if let Some(e) = cx.eff {
            w!(
                o,
                "<p class=\"more\">The cut-off {} is far from the tainted activity and is not drawn.</p>\n",
                escape_html(&fmt_iso(e))
            );
        }
    }
    o.push_str("<div class=\"readout\" id=\"tl-readout\">Hover a column, marker or lane for details.</div>\n</section>\n");
}

/// A timeline marker: time, hover line, colour.
type Marker = (i64, String, &'static str);

/// Draws markers on one row, merging those closer than 8 px into one (its hover text lists
/// them), so hundreds of issuance events stay a readable row.
fn markers(
    o: &mut String,
    items: &mut [Marker],
    what: &str,
    y: i64,
    shape: &str,
    xt: &dyn Fn(i64) -> f64,
) {
    items.sort_by(|p, q| p.0.cmp(&q.0).then_with(|| p.1.cmp(&q.1)));
    let mut k = 0;
    while k < items.len() {
        let x0 = xt(items[k].0);
        let mut end = k + 1;
        while end < items.len() && xt(items[end].0) - x0 < 8.0 {
            end += 1;
        }
        let group = &items[k..end];
        let mut tip = format!(
            "{} {what}, {} – {}",
            group.len(),
            fmt_iso(group[0].0),
            hm(group[group.len() - 1].0)
        );
        for m in group.iter().take(12) {
            tip.push('\n');
            tip.push_str(&m.1);
        }
        if group.len() > 12 {
            let _ = write!(tip, "\n… {} more", group.len() - 12);
        }
        w!(
            o,
            "<path class=\"tmark\" d=\"M{x0:.1},{} {shape}\" fill=\"{}\"><title>{}</title></path>",
            y - 5,
            group[0].2,
            clip(&tip, 2500)
        );
        k = end;
    }
}

// ---------------------------------------------------------------------------------------
// Tables.

fn table_head(o: &mut String, cols: &[&str]) {
    o.push_str("<table><thead><tr>");
    for c in cols {
        match c.strip_prefix('#') {
            Some(n) => w!(o, "<th class=\"num\">{n}</th>"),
            None => w!(o, "<th>{c}</th>"),
        }
    }
    o.push_str("</tr></thead><tbody>\n");
}

fn status_pill(s: &str) -> String {
    let class = match s {
        "live" => "s-live",
        "expired" => "s-expired",
        "deactivate" => "s-deactivate",
        "unrevocable" => "s-unrevocable",
        _ => "s-expired",
    };
    format!("<span class=\"pill {class}\">{}</span>", escape_html(s))
}

fn credentials_section(o: &mut String, cx: &Ctx) {
    let b = cx.d.blast;
    w!(o, "<section id=\"credentials\">\n<h2>Tainted credentials ({})</h2>\n", b.credentials.len());
    if b.credentials.is_empty() {
        o.push_str("<p class=\"muted\">None.</p>\n</section>\n");
        return;
    }
    // One account: the column would repeat it on every row (it is in the header above).
    let accounts: BTreeSet<Option<&str>> =
        b.credentials.iter().map(|c| c.account_id.as_deref()).collect();
    let show_account = accounts.len() > 1;
    let mut cols = vec!["Status", "Credential and principal"];
    if show_account {
        cols.push("Account");
    }
    cols.extend(["Issued by", "Issued → expires", "#Events", "Active", "Source IPs"]);
    table_head(o, &cols);
    // A time in a cell: `MM-DD HH:MM`, the full time in its tooltip.
    let tm = |t: Option<&str>| match t {
        Some(x) => match parse_iso(x) {
            Some(v) => format!("<span title=\"{}\">{}</span>", escape_html(x), short(v)),
            None => clip(x, 40),
        },
        None => "<span class=\"muted\">–</span>".into(),
    };
    for (i, c) in b.credentials.iter().take(LONG_TABLE_ROWS).enumerate() {
        let status = cx.status.get(c.id.as_str()).copied().unwrap_or("tainted");
        let mut st = status_pill(status);
        if let Some(ord) = cx.denied.get(c.id.as_str()) {
            w!(st, " <a href=\"#act-{ord}\" class=\"pill s-live\">deny #{ord}</a>");
        }
        if cx.not_covered.contains(c.id.as_str()) {
            st.push_str(" <span class=\"pill s-bad\">NOT COVERED</span>");
        }
        let key = c.access_key_id.as_deref().unwrap_or(&c.id);
        let seed =
            if cx.seeds.contains(key) { " <span class=\"pill s-bad\">leaked</span>" } else { "" };
        let by = match (&c.issuing_event, &c.issued_by) {
            (Some(ev), Some(p)) => format!("{} by <code>{}</code>", escape_html(ev), clip(p, 40)),
            (None, Some(p)) => format!("<code>{}</code>", clip(p, 40)),
            (Some(ev), None) => escape_html(ev),
            (None, None) => "<span class=\"muted\">not in the logs</span>".into(),
        };
        let ips: Vec<String> = c
            .source_ips
            .iter()
            .take(4)
            .map(|v| {
                format!(
                    "{}{}",
                    clip(&v.value, 45),
                    if v.new { " <span class=\"pill s-unrevocable\">new</span>" } else { "" }
                )
            })
            .collect();
        let more_ips = if c.source_ips.len() > 4 {
            format!(" +{}", c.source_ips.len() - 4)
        } else {
            String::new()
        };
        w!(
            o,
            "<tr id=\"cred-{i}\"><td>{st}</td><td class=\"wrap\"><code>{}</code>{seed}<div class=\"sub2\" title=\"{}\">{}</div></td>{}<td class=\"wrap\">{by}</td><td class=\"t\">{}<br>→ {}</td><td class=\"num\">{}</td><td class=\"t\">{}<br>{}</td><td>{}{more_ips}</td></tr>\n",
            clip(key, 40),
            c.principal_arn.as_deref().map_or_else(String::new, |p| clip(p, 300)),
            c.principal_arn.as_deref().map_or_else(|| "–".into(), |p| brk(&clip_tail(principal_short(p), 70))),
            if show_account { format!("<td>{}</td>", opt(c.account_id.as_deref())) } else { String::new() },
            tm(c.issued_at.as_deref()),
            tm(c.expires_at.as_deref()),
            c.events,
            tm(c.first_seen.as_deref()),
            tm(c.last_seen.as_deref()),
            ips.join("<br>")
        );
    }
    o.push_str("</tbody></table>\n");
    more(o, b.credentials.len().min(LONG_TABLE_ROWS), b.credentials.len(), "blast.json");
    o.push_str("</section>\n");
}

fn activity_section(o: &mut String, cx: &Ctx) {
    let b = cx.d.blast;
    o.push_str("<section id=\"activity\">\n<h2>What the tainted credentials did</h2>\n<div class=\"grid2\"><div>\n");
    w!(o, "<h3>Top actions ({} distinct)</h3>\n", b.actions.len());
    table_head(o, &["Event source", "Action", "#Calls", "#Errors"]);
    for a in b.actions.iter().take(TABLE_ROWS) {
        w!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            clip(&a.event_source, 40),
            clip(&a.event_name, 60),
            a.count,
            if a.errors > 0 { format!("<b>{}</b>", a.errors) } else { "0".into() }
        );
    }
    o.push_str("</tbody></table>\n");
    more(o, b.actions.len().min(TABLE_ROWS), b.actions.len(), "blast.json");
    o.push_str("</div><div>\n");
    w!(o, "<h3>Top resources ({} distinct)</h3>\n", b.resources.len());
    table_head(o, &["Resource", "#Events", "Actions"]);
    for r in b.resources.iter().take(TABLE_ROWS) {
        let acts: Vec<&str> = r.actions.iter().take(4).map(String::as_str).collect();
        w!(
            o,
            "<tr><td class=\"wrap\"><code>{}</code></td><td class=\"num\">{}</td><td>{}{}</td></tr>\n",
            brk(&clip(&r.arn, 110)),
            r.events,
            clip(&acts.join(", "), 90),
            if r.actions.len() > 4 { format!(" +{}", r.actions.len() - 4) } else { String::new() }
        );
    }
    o.push_str("</tbody></table>\n");
    more(o, b.resources.len().min(TABLE_ROWS), b.resources.len(), "blast.json");
    o.push_str("</div></div>\n");
    if !b.data_access.is_empty() {
        w!(o, "<h3>Data read ({} objects, secrets, parameters, keys)</h3>\n", b.data_access.len());
        table_head(o, &["First read", "Call", "Resource", "#Reads"]);
        for x in b.data_access.iter().take(TABLE_ROWS) {
            w!(
                o,
                "<tr><td class=\"t\">{}</td><td><code>{}</code></td><td class=\"wrap\"><code>{}</code></td><td class=\"num\">{}</td></tr>\n",
                escape_html(&x.first),
                clip(&x.event_name, 50),
                brk(&clip(&x.resource, 140)),
                x.count
            );
        }
        o.push_str("</tbody></table>\n");
        more(o, b.data_access.len().min(TABLE_ROWS), b.data_access.len(), "blast.json");
    }
    o.push_str("<div class=\"grid2\"><div>\n");
    let ips = top(&b.source_ips);
    w!(o, "<h3>Source IPs ({})</h3>\n", ips.len());
    table_head(o, &["Source IP / service", "#Events"]);
    for (ip, n) in ips.iter().take(TABLE_ROWS) {
        w!(o, "<tr><td><code>{}</code></td><td class=\"num\">{n}</td></tr>\n", clip(ip, 80));
    }
    o.push_str("</tbody></table>\n");
    more(o, ips.len().min(TABLE_ROWS), ips.len(), "blast.json");
    let regions = top(&b.regions);
    let accounts = top(&b.accounts);
    o.push_str("<h3>Accounts and regions</h3>\n<p>");
    for (a, n) in &accounts {
        let (fill, stroke) = cx.color(Some(a));
        w!(
            o,
            "<span class=\"pill\" style=\"background:{fill};color:#0f172a;border:1px solid {stroke}\">{} · {n}</span> ",
            clip(a, 40)
        );
    }
    o.push_str("</p><p>");
    for (r, n) in &regions {
        w!(o, "<span class=\"pill s-expired\">{} · {n}</span> ", clip(r, 40));
    }
    o.push_str("</p>\n</div><div>\n");
    let uas = top(&b.user_agents);
    w!(o, "<h3>User agents ({})</h3>\n", uas.len());
    table_head(o, &["User agent", "#Events"]);
    for (ua, n) in uas.iter().take(UA_ROWS) {
        w!(
            o,
            "<tr><td class=\"wrap\" title=\"{}\"><code>{}</code></td><td class=\"num\">{n}</td></tr>\n",
            clip(ua, 2000),
            clip_mid(ua, 110)
        );
    }
    o.push_str("</tbody></table>\n");
    more(o, uas.len().min(UA_ROWS), uas.len(), "blast.json");
    o.push_str("</div></div>\n");
    // Failed issuing calls made with tainted keys: what the attacker tried and could not do.
    let attempts: Vec<_> =
        cx.d.graph
            .attempts
            .iter()
            .filter(|a| a.caller_key.as_deref().is_some_and(|k| cx.tainted_keys.contains(k)))
            .collect();
    if !attempts.is_empty() {
        w!(o, "<h3>Failed credential-issuing attempts ({})</h3>\n", attempts.len());
        table_head(o, &["Time", "Call", "Caller key", "Target", "Error"]);
        for a in attempts.iter().take(TABLE_ROWS) {
            w!(
                o,
                "<tr><td class=\"t\">{}</td><td><code>{}</code></td><td><code>{}</code></td><td class=\"wrap\">{}</td><td>{}</td></tr>\n",
                escape_html(&fmt_iso(a.event_time)),
                clip(&a.event_name, 50),
                opt(a.caller_key.as_deref()),
                a.target.as_deref().map_or_else(|| "–".into(), |t| brk(&clip(t, 120))),
                a.error_code.as_deref().map_or_else(|| "–".into(), |t| clip(t, 60))
            );
        }
        o.push_str("</tbody></table>\n");
        more(o, attempts.len().min(TABLE_ROWS), attempts.len(), "sessions.dot / the sessions JSON");
    }
    o.push_str("</section>\n");
}

/// Map entries by count, largest first.
fn top(m: &BTreeMap<String, u64>) -> Vec<(&String, &u64)> {
    let mut v: Vec<(&String, &u64)> = m.iter().collect();
    v.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
    v
}

fn persistence_section(o: &mut String, cx: &Ctx) {
    let b = cx.d.blast;
    w!(
        o,
        "<section id=\"persistence\">\n<h2>Persistence: what outlives the sessions ({})</h2>\n",
        b.persistence.len()
    );
    if b.persistence.is_empty() {
        o.push_str("<p class=\"muted\">No persistence found (no keys, users, login profiles, policies, roles or trail changes made with tainted credentials).</p>\n</section>\n");
        return;
    }
    // Grouped by what each call changed (a user, a role, a trail, a function), groups in
    // order of their first change.
    let events: BTreeMap<&str, &crate::model::Event> =
        b.tainted_events.iter().map(|e| (e.id.as_str(), e)).collect();
    type Groups<'a> = Vec<((Option<&'a str>, String), Vec<&'a crate::blast::Persistence>)>;
    let mut groups: BTreeMap<(Option<&str>, String), Vec<&crate::blast::Persistence>> =
        BTreeMap::new();
    for p in b.persistence.iter().take(LONG_TABLE_ROWS) {
        let t = crate::findings::target_of(p, events.get(p.event_id.as_str()).copied());
        groups.entry((p.account_id.as_deref(), t)).or_default().push(p);
    }
    let mut groups: Groups = groups.into_iter().collect();
    groups.sort_by(|x, y| {
        let fx = x.1.iter().map(|p| p.event_time.as_str()).min();
        let fy = y.1.iter().map(|p| p.event_time.as_str()).min();
        fx.cmp(&fy).then_with(|| x.0.cmp(&y.0))
    });
    // One key made every change: say so once instead of repeating it on every row.
    let keys: BTreeSet<Option<&str>> =
        b.persistence.iter().map(|p| p.by_access_key.as_deref()).collect();
    let by_col = keys.len() > 1;
    w!(
        o,
        "<p class=\"muted\">{} targets, in the order the attacker first touched them",
        groups.len()
    );
    if let (false, Some(Some(k))) = (by_col, keys.iter().next()) {
        w!(o, "; every change made with <code>{}</code>", clip(k, 40));
    }
    o.push_str(".</p>\n");
    let ncol = if by_col { 5 } else { 4 };
    if by_col {
        table_head(o, &["Time", "Call", "Detail", "Follow-up", "By key"]);
    } else {
        table_head(o, &["Time", "Call", "Detail", "Follow-up"]);
    }
    for ((account, target), items) in &groups {
        w!(
            o,
            "<tr class=\"grp\"><td colspan=\"{ncol}\"><b title=\"{}\">{}</b> <span class=\"muted\">{}{} change{}</span></td></tr>\n",
            clip(target, 600),
            clip_mid(target, 90),
            account.map_or_else(String::new, |a| format!("account {} · ", clip(a, 40))),
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        );
        for p in items {
            w!(
                o,
                "<tr><td class=\"t\">{}</td><td><code>{}</code></td><td class=\"wrap\">{}</td><td>{}</td>{}</tr>\n",
                escape_html(&p.event_time),
                clip(&p.event_name, 50),
                brk(&clip(&p.detail, 160)),
                clip(&p.follow_up, 200),
                if by_col {
                    format!("<td><code>{}</code></td>", opt(p.by_access_key.as_deref()))
                } else {
                    String::new()
                }
            );
        }
    }
    o.push_str("</tbody></table>\n");
    more(o, b.persistence.len().min(LONG_TABLE_ROWS), b.persistence.len(), "blast.json");
    o.push_str("</section>\n");
}

// ---------------------------------------------------------------------------------------
// Key findings.

fn sev_pill(s: Severity) -> String {
    format!("<span class=\"sev sev-{0}\">{0}</span>", s.as_str())
}

/// One finding card. Every field may carry log text: all of it is escaped.
fn finding_card(o: &mut String, f: &Finding) {
    w!(
        o,
        "<div class=\"finding f-{}{}\"><div class=\"fh\">{}<span class=\"ft\" title=\"{}\">{}</span>",
        f.severity.as_str(),
        if f.failed { " failed" } else { "" },
        sev_pill(f.severity),
        clip(&f.title, 600),
        clip_mid(&f.title, 140)
    );
    for t in &f.techniques {
        w!(o, "<span class=\"tech\" title=\"MITRE ATT&amp;CK technique\">{}</span>", clip(t, 20));
    }
    if let Some(a) = &f.account_id {
        w!(o, "<span class=\"muted\">account {}</span>", clip(a, 40));
    }
    if let Some(t) = &f.time {
        w!(o, "<span class=\"muted\">{}</span>", clip(t, 40));
    }
    o.push_str("</div>\n<div class=\"fb\">");
    // The target, unless the title already names it in full.
    if !f.title.contains(&f.target) || f.title.chars().count() > 140 {
        w!(
            o,
            "<div><span class=\"k\">Target</span><code title=\"{}\">{}</code></div>\n",
            clip(&f.target, 600),
            clip_mid(&f.target, 110)
        );
    }
    w!(o, "<div class=\"fd\">{}</div>\n", brk(&clip(&f.detail, 700)));
    w!(o, "<div class=\"next\"><span class=\"k\">Next step</span>{}", clip(&f.next_step, 900));
    if !f.evidence.is_empty() {
        w!(
            o,
            " <details class=\"ev\"><summary>evidence ({})</summary><ul class=\"notes mono\">",
            f.evidence.len()
        );
        for e in &f.evidence {
            w!(o, "<li>{}</li>", clip(e, 120));
        }
        o.push_str("</ul></details>");
    }
    o.push_str("</div>\n</div></div>\n");
}

/// Findings shown before the rest fold into a "more" list.
const FINDING_CARDS: usize = 40;

/// Medium and low findings, and failed attempts: one compact row each.
fn finding_rows(o: &mut String, list: &[&Finding]) {
    table_head(o, &["Severity", "Finding", "ATT&amp;CK", "Next step"]);
    for f in list.iter().take(FINDING_CARDS) {
        w!(
            o,
            "<tr class=\"frow\"><td>{}</td><td class=\"wrap\"><b title=\"{}\">{}</b>{}<div class=\"fd\">{}</div></td><td>{}</td><td class=\"wrap\">{}</td></tr>\n",
            sev_pill(f.severity),
            clip(&f.target, 600),
            clip_mid(&f.title, 120),
            f.time.as_deref().map_or_else(String::new, |t| format!(" <span class=\"muted\">{}</span>", clip(t, 40))),
            brk(&clip(&f.detail, 300)),
            f.techniques.iter().map(|t| format!("<span class=\"tech\">{}</span>", clip(t, 20))).collect::<Vec<_>>().join(" "),
            clip(&f.next_step, 400)
        );
    }
    o.push_str("</tbody></table>\n");
    more(o, list.len().min(FINDING_CARDS), list.len(), "blast.json");
}

fn findings_section(o: &mut String, findings: &[Finding]) {
    o.push_str("<section id=\"findings\">\n<h2>Key findings and next steps</h2>\n");
    let (done, failed): (Vec<&Finding>, Vec<&Finding>) = findings.iter().partition(|f| !f.failed);
    if done.is_empty() && failed.is_empty() {
        o.push_str("<p class=\"muted\">Nothing to report: the seed keys made no tainted calls.</p>\n</section>\n");
        return;
    }
    let mut by: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in &done {
        *by.entry(f.severity).or_default() += 1;
    }
    o.push_str("<p class=\"muted\">Ranked by severity, then time. ");
    let parts: Vec<String> = by.iter().map(|(s, n)| format!("{} {n}", sev_pill(*s))).collect();
    o.push_str(&parts.join(" "));
    w!(
        o,
        " · {} failed attempt(s) listed apart. Technique ids are MITRE ATT&amp;CK.</p>\n",
        failed.len()
    );
    let (urgent, rest): (Vec<&Finding>, Vec<&Finding>) =
        done.iter().partition(|f| f.severity <= Severity::High);
    for f in urgent.iter().take(FINDING_CARDS) {
        finding_card(o, f);
    }
    more(o, urgent.len().min(FINDING_CARDS), urgent.len(), "blast.json");
    if !rest.is_empty() {
        w!(o, "<h3>Also found ({})</h3>\n", rest.len());
        finding_rows(o, &rest);
    }
    if !failed.is_empty() {
        w!(
            o,
            "<h3 class=\"failed-h\">Attempted but failed ({}): what the attacker tried and was refused</h3>\n<div class=\"failed-group\">\n",
            failed.len()
        );
        finding_rows(o, &failed);
        o.push_str("</div>\n");
    }
    o.push_str("</section>\n");
}

fn id_list(o: &mut String, label: &str, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    w!(
        o,
        "<details><summary>{label} {} session{}</summary><ul class=\"notes mono\">",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" }
    );
    for s in ids.iter().take(50) {
        w!(o, "<li>{}</li>", clip(s, 120));
    }
    if ids.len() > 50 {
        w!(o, "<li>… {} more in plan.json</li>", ids.len() - 50);
    }
    o.push_str("</ul></details>\n");
}

fn plan_section(o: &mut String, cx: &Ctx) {
    let p = cx.d.plan;
    let s = &p.summary;
    o.push_str("<section id=\"plan\">\n<h2>Revocation plan</h2>\n");
    w!(
        o,
        "<p>{} actions: {} keys to deactivate, {} deny policies on {} principals. {} tainted sessions: {} covered, {} expired by the cut-off \
<b>{}</b>, {} unrevocable; {} untainted sessions also cut (collateral). The same commands are in <code>plan.sh</code>; apply them in order.</p>\n",
        p.actions.len(),
        s.keys_to_deactivate,
        s.policies,
        s.principals,
        s.tainted_sessions,
        s.covered_sessions,
        s.expired_sessions,
        escape_html(&p.effective_at),
        s.unrevocable_sessions,
        s.collateral_sessions
    );
    let mut budget = COMMAND_BUDGET;
    for (k, a) in p.actions.iter().enumerate().take(ACTION_CARDS) {
        let class = match a.kind.as_str() {
            "deactivate_access_key" => "key",
            "put_role_policy" | "put_user_policy" | "resource_policy_deny" => "deny",
            _ => "human",
        };
        let target = a
            .principal_arn
            .as_deref()
            .or(a.access_key_id.as_deref())
            .or(a.user_name.as_deref())
            .unwrap_or("");
        w!(
            o,
            "<div class=\"act {class}\" id=\"act-{}\"><div class=\"h\"><span class=\"ord\">#{}</span><span class=\"ty\">{}</span><code>{}</code>",
            a.order,
            a.order,
            clip(&a.kind, 40),
            clip(target, 140)
        );
        if let Some(u) = a.user_name.as_deref().filter(|_| a.access_key_id.is_some()) {
            w!(o, "<span class=\"muted\">user {}</span>", clip(u, 80));
        }
        if let Some(acct) = &a.account_id {
            w!(o, "<span class=\"muted\">account {}</span>", clip(acct, 40));
        }
        if let (Some(sz), Some(lim)) = (a.policy_size, a.policy_size_limit) {
            w!(o, "<span class=\"muted\">policy {sz} / {lim} chars</span>");
        }
        w!(
            o,
            "</div><div class=\"why\" title=\"{}\">{}</div>\n",
            clip(&a.reason, 1000),
            clip(&a.reason, 1000)
        );
        if let Some(c) = &a.covers {
            id_list(o, "Denies", c);
        }
        if let Some(c) = &a.collateral {
            id_list(o, "Collateral: also cuts", c);
        }
        if a.command.len() <= budget {
            budget -= a.command.len();
            w!(
                o,
                "<div class=\"cmd\"><button class=\"copy\" type=\"button\" data-for=\"cmd-{k}\" hidden>Copy</button><pre id=\"cmd-{k}\">{}</pre></div>\n",
                escape_html(&a.command)
            );
        } else {
            o.push_str("<p class=\"more\">Command not repeated here (report size limit): see plan.sh.</p>\n");
        }
        o.push_str("</div>\n");
    }
    more(o, p.actions.len().min(ACTION_CARDS), p.actions.len(), "plan.json and plan.sh");
    if !p.unrevocable.is_empty() {
        w!(o, "<h3>Unrevocable ({}): no IAM policy can cut these</h3>\n", p.unrevocable.len());
        table_head(o, &["Credential", "Principal", "Why", "Valid until"]);
        for u in p.unrevocable.iter().take(LONG_TABLE_ROWS) {
            w!(
                o,
                "<tr><td><code>{}</code></td><td class=\"wrap\">{}</td><td>{}</td><td>{}</td></tr>\n",
                clip(&u.credential, 80),
                u.principal_arn.as_deref().map_or_else(|| "–".into(), |x| brk(&clip(x, 110))),
                clip(&u.reason, 300),
                opt(u.valid_until.as_deref())
            );
        }
        o.push_str("</tbody></table>\n");
        more(o, p.unrevocable.len().min(LONG_TABLE_ROWS), p.unrevocable.len(), "plan.json");
    }
    if !p.notes.is_empty() {
        o.push_str("<h3>Planner notes</h3>\n<ul class=\"notes\">");
        for n in p.notes.iter().take(50) {
            w!(o, "<li>{}</li>", clip(n, 600));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</section>\n");
}

fn verdict_table(o: &mut String, title: &str, list: &[SessionVerdict], by: bool) {
    if list.is_empty() {
        return;
    }
    w!(o, "<h3>{title} ({})</h3>\n", list.len());
    if by {
        table_head(o, &["Session", "Principal", "Issued", "Valid until", "Denied by"]);
    } else {
        table_head(o, &["Session", "Principal", "Issued", "Valid until"]);
    }
    for s in list.iter().take(LONG_TABLE_ROWS) {
        w!(
            o,
            "<tr><td><code>{}</code></td><td class=\"wrap\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td>",
            clip(&s.session, 80),
            s.principal_arn.as_deref().map_or_else(|| "–".into(), |x| brk(&clip(x, 110))),
            opt(s.issued_at.as_deref()),
            opt(s.valid_until.as_deref())
        );
        if by {
            w!(
                o,
                "<td class=\"wrap\">{}</td>",
                s.denied_by.as_deref().map_or_else(|| "–".into(), |x| brk(&clip(x, 140)))
            );
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
    more(o, list.len().min(LONG_TABLE_ROWS), list.len(), "verify.json");
}

fn verify_section(o: &mut String, cx: &Ctx) {
    let v = cx.d.verify;
    o.push_str("<section id=\"verify\">\n<h2>Verification of the plan (offline)</h2>\n");
    if v.ok {
        w!(
            o,
            "<div class=\"banner ok\">OK: every live tainted credential is cut by the plan at {}.</div>\n",
            escape_html(&v.effective_at)
        );
    } else {
        w!(
            o,
            "<div class=\"banner fail\">FAIL: {} tainted session(s) not covered and {} key(s) left active at {}.</div>\n",
            v.not_covered.len(),
            v.keys_left_active.len(),
            escape_html(&v.effective_at)
        );
    }
    o.push_str("<div class=\"vgrid\">");
    let cell = |o: &mut String, n: usize, l: &str, bad: bool| {
        w!(
            o,
            "<div{}><div class=\"n\">{n}</div>{l}</div>",
            if bad { " class=\"bad\"" } else { "" }
        );
    };
    cell(o, v.tainted_sessions as usize, "tainted sessions", false);
    cell(o, v.covered.len(), "covered", false);
    cell(o, v.not_covered.len(), "not covered", !v.not_covered.is_empty());
    cell(o, v.expired.len(), "expired by the cut-off", false);
    cell(o, v.unrevocable.len(), "unrevocable", false);
    cell(o, v.collateral.len(), "collateral", false);
    cell(o, v.keys_deactivated.len(), "keys deactivated", false);
    cell(o, v.keys_left_active.len(), "keys left active", !v.keys_left_active.is_empty());
    o.push_str("</div>\n");
    verdict_table(o, "NOT covered: still alive after the plan", &v.not_covered, false);
    if !v.keys_left_active.is_empty() {
        w!(
            o,
            "<h3>Keys left active ({})</h3>\n<ul class=\"notes mono\">",
            v.keys_left_active.len()
        );
        for k in v.keys_left_active.iter().take(LONG_TABLE_ROWS) {
            w!(o, "<li>{}</li>", clip(k, 80));
        }
        o.push_str("</ul>\n");
    }
    verdict_table(o, "Collateral: untainted sessions the plan also cuts", &v.collateral, true);
    verdict_table(o, "Covered", &v.covered, true);
    verdict_table(o, "Expired by the cut-off (no action needed)", &v.expired, false);
    verdict_table(o, "Unrevocable (acknowledged by the plan)", &v.unrevocable, false);
    if !v.keys_deactivated.is_empty() {
        w!(o, "<h3>Keys deactivated ({})</h3>\n<p class=\"mono\">", v.keys_deactivated.len());
        let keys: Vec<String> =
            v.keys_deactivated.iter().take(LONG_TABLE_ROWS).map(|k| clip(k, 80)).collect();
        o.push_str(&keys.join(", "));
        o.push_str("</p>\n");
    }
    o.push_str("</section>\n");
}

fn notes_section(o: &mut String, cx: &Ctx) {
    let (b, v, g) = (cx.d.blast, cx.d.verify, &cx.d.graph);
    let mut notes: BTreeSet<&str> = BTreeSet::new();
    notes.extend(b.notes.iter().map(String::as_str));
    notes.extend(v.notes.iter().map(String::as_str));
    let signals = &b.signals;
    if notes.is_empty() && signals.is_empty() && g.notes.is_empty() {
        return;
    }
    o.push_str("<section id=\"notes\">\n<h2>Signals and notes</h2>\n");
    if !signals.is_empty() {
        table_head(o, &["Signal", "Credential", "Principal", "Detail"]);
        for s in signals.iter().take(TABLE_ROWS) {
            w!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"wrap\">{}</td><td>{}</td></tr>\n",
                clip(&s.kind, 60),
                clip(&s.credential, 80),
                s.principal_arn.as_deref().map_or_else(|| "–".into(), |x| brk(&clip(x, 110))),
                clip(&s.detail, 300)
            );
        }
        o.push_str("</tbody></table>\n");
        more(o, signals.len().min(TABLE_ROWS), signals.len(), "blast.json");
    }
    if !notes.is_empty() {
        o.push_str("<ul class=\"notes\">");
        for n in notes.iter().take(50) {
            w!(o, "<li>{}</li>", clip(n, 600));
        }
        o.push_str("</ul>\n");
    }
    if !g.notes.is_empty() {
        w!(o, "<details><summary>Chain notes ({})</summary><ul class=\"notes\">", g.notes.len());
        for n in g.notes.iter().take(50) {
            w!(o, "<li>{}</li>", clip(n, 600));
        }
        if g.notes.len() > 50 {
            w!(o, "<li>… {} more</li>", g.notes.len() - 50);
        }
        o.push_str("</ul></details>\n");
    }
    o.push_str("</section>\n");
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
    fn buckets_and_ticks_stay_bounded() {
        assert_eq!(bucket_for(0), 60);
        assert_eq!(bucket_for(3600), 60);
        assert_eq!(bucket_for(4 * 3600), 300);
        assert_eq!(bucket_for(7 * 86400), 7200);
        for span in [1, 59, 3600, 86399, 86400 * 30, 86400 * 400, 86400 * 4000] {
            assert!(span / bucket_for(span) <= 96, "{span}");
            assert!(span / tick_for(span) <= 10, "{span}");
        }
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

//! The session chain drawn as inline SVG: the boxes placed by `layout`, the issuance edges
//! with their calls, the badges (leaked, deny, deactivate, expired, …), the hover titles and
//! the account legend.

use super::layout::{layout, Slot, G_COL, G_H, G_PAD, G_ROW, G_W};
use super::{
    clip, clip_mid, clip_tail, escape_html, hm, principal_short, short, w, Ctx, OTHER, PALETTE,
};
use crate::chain::{Node, NodeKind};
use crate::time::fmt_iso;
use std::collections::BTreeMap;
use std::fmt::Write;

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

pub(super) fn graph_section(o: &mut String, cx: &Ctx) {
    let g = &cx.d.graph;
    o.push_str("<section id=\"chain\">\n<h2>Session chain</h2>\n");
    if g.nodes.is_empty() {
        o.push_str("<p class=\"muted\">The seed keys do not appear in the trail: no chain to draw.</p>\n</section>\n");
        return;
    }
    let t = layout(cx);
    let width = 2 * G_PAD + t.max_depth as i64 * G_COL + G_W;
    // Roles the unseen tail could reach but the evidence does not show in use (`--iam`):
    // dashed boxes in a band under the chain.
    let reach: Vec<&crate::contain::RoleReach> =
        cx.d.plan.reachable.iter().flat_map(|r| r.unused_roles()).collect();
    let per_row = (t.max_depth + 1).max(3);
    let band_rows = reach.len().div_ceil(per_row) as i64;
    let band_top = G_PAD + 12 + t.rows * G_ROW + 24;
    let width = if reach.is_empty() {
        width
    } else {
        width.max(2 * G_PAD + (per_row as i64 - 1) * G_COL + G_W)
    };
    let height = if reach.is_empty() {
        G_PAD + 12 + t.rows * G_ROW + 4
    } else {
        band_top + 20 + band_rows * G_ROW
    };
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
    if !reach.is_empty() {
        w!(
            o,
            "<text class=\"sans\" x=\"{G_PAD}\" y=\"{band_top}\" font-size=\"12\" font-weight=\"700\" fill=\"#334155\">Reachable from the unseen tail, not used in the evidence (IAM snapshot): {} role(s)</text>\n",
            reach.len()
        );
        for (i, r) in reach.iter().enumerate() {
            let x = G_PAD + (i % per_row) as i64 * G_COL;
            let top = band_top + 16 + (i / per_row) as i64 * G_ROW;
            draw_reachable(o, r, x, top);
        }
    }
    o.push_str("</svg></div>\n");
    graph_legend(o, cx);
    o.push_str("<div class=\"readout\" id=\"graph-readout\">Hover a credential for its details.</div>\n</section>\n");
}

/// A role the unseen tail could reach but did not use in the evidence: a dashed box.
fn draw_reachable(o: &mut String, r: &crate::contain::RoleReach, x: i64, top: i64) {
    let name = r.arn.rsplit('/').next().unwrap_or(&r.arn);
    let mut title = format!(
        "{}\nreachable from the unseen tail (IAM snapshot), not used in the evidence\nfrom: {}\nvia {} ({} hop(s)){}\n",
        r.arn,
        r.from.join(", "),
        r.via,
        r.depth,
        if r.certain { "" } else { "\nonly under a condition" }
    );
    for s in r.reasons.iter().chain(&r.labels) {
        title.push_str(s);
        title.push('\n');
    }
    w!(
        o,
        "<g class=\"reach\" data-arn=\"{}\"><title>{}</title>\
<rect x=\"{x}\" y=\"{top}\" width=\"{G_W}\" height=\"{G_H}\" rx=\"8\" fill=\"#ffffff\" stroke=\"#64748b\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\
<text class=\"sans\" x=\"{}\" y=\"{}\" font-size=\"12\" font-weight=\"700\" fill=\"#334155\">{}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#64748b\">{} · {}{}</text>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#64748b\">via {}</text></g>\n",
        escape_html(&r.arn),
        escape_html(&title),
        x + 10,
        top + 20,
        clip(name, 30),
        x + 10,
        top + 36,
        escape_html(&r.account_id),
        if r.kind == "ordinary" { "role" } else { r.kind.as_str() },
        if r.certain { "" } else { " · conditional" },
        x + 10,
        top + 52,
        clip_mid(&r.via, 34)
    );
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
                // The expiry's date when it is not the (a 12 h session issued after
                // noon, a 36 h one): a clock time alone would read as the same day.
                (Some(i), Some(e)) if fmt_iso(i)[..10] == fmt_iso(e)[..10] => {
                    format!("{} ev · {} → {}", n.events, short(i), hm(e))
                }
                (Some(i), Some(e)) => format!("{} ev · {} → {}", n.events, short(i), short(e)),
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

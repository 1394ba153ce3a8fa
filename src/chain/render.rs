//! Text renderings of the session graph: terminal tree, Graphviz DOT, Mermaid.

use super::{t, NodeKind, SessionGraph};
use crate::escape::{dot_string, mermaid_text, one_line};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

fn node_line(g: &SessionGraph, i: usize) -> String {
    let n = &g.nodes[i];
    let mut s = String::new();
    match n.kind {
        NodeKind::LongTermKey => {
            let _ = write!(s, "{} long-term key", one_line(&n.id));
        }
        NodeKind::Session => {
            let _ = write!(s, "{}", one_line(n.access_key_id.as_deref().unwrap_or(&n.id)));
        }
        _ => {
            let _ = write!(s, "{}", one_line(&n.id));
        }
    }
    if let Some(p) = &n.principal_arn {
        let _ = write!(s, "  {}", one_line(p));
    }
    if let Some(a) = &n.account_id {
        let _ = write!(s, "  [{}]", one_line(a));
    }
    if n.kind == NodeKind::Session {
        let _ = write!(s, "  issued {} expires {}", t(n.issued_at), t(n.expires_at));
    }
    if n.kind == NodeKind::LongTermKey || n.kind == NodeKind::Session {
        let _ = write!(s, "  {} events", n.events);
        if n.events > 0 {
            let _ = write!(s, " {}..{}", t(n.first_seen), t(n.last_seen));
        }
    }
    if n.orphan {
        let _ = write!(
            s,
            "  (no issuing event in the logs{})",
            n.issued_by_event.as_deref().map(|x| format!(": {}", one_line(x))).unwrap_or_default()
        );
    }
    if n.root_derived {
        s.push_str("  (root)");
    }
    s
}

fn group_key(g: &SessionGraph, i: usize) -> String {
    let n = &g.nodes[i];
    n.role_arn.clone().or_else(|| n.principal_arn.clone()).unwrap_or_default()
}

/// Renders the selected nodes as an indented tree from each root issuer.
pub fn tree(g: &SessionGraph, sel: &BTreeSet<usize>, collapse: usize) -> String {
    let ch = g.children();
    let mut has_parent = vec![false; g.nodes.len()];
    for &(p, c) in &g.edge_nodes {
        if sel.contains(&p) {
            has_parent[c] = true;
        }
    }
    let mut roots: Vec<usize> = sel.iter().copied().filter(|&i| !has_parent[i]).collect();
    roots.sort_by(|&a, &b| {
        let (na, nb) = (&g.nodes[a], &g.nodes[b]);
        (na.orphan, na.first_seen.or(na.issued_at), &na.id).cmp(&(
            nb.orphan,
            nb.first_seen.or(nb.issued_at),
            &nb.id,
        ))
    });
    let mut out = String::new();
    let mut orphans_by_principal: BTreeMap<String, usize> = BTreeMap::new();
    let mut visited = BTreeSet::new();
    for r in roots {
        if g.nodes[r].orphan && ch[r].is_empty() {
            let k = group_key(g, r);
            let c = orphans_by_principal.entry(k.clone()).or_default();
            *c += 1;
            if *c > collapse {
                continue;
            }
        }
        let _ = writeln!(out, "{}", node_line(g, r));
        walk(g, &ch, sel, r, "", collapse, &mut out, &mut visited);
    }
    for (p, n) in orphans_by_principal {
        if n > collapse {
            let _ = writeln!(
                out,
                "… and {} more sessions of {} with no issuing event in the logs",
                n - collapse,
                one_line(&p)
            );
        }
    }
    if !g.notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for n in &g.notes {
            let _ = writeln!(out, "  - {}", one_line(n));
        }
    }
    if !g.attempts.is_empty() {
        let _ = writeln!(out, "\nfailed issuing calls: {}", g.attempts.len());
        for a in g.attempts.iter().take(20) {
            let _ = writeln!(
                out,
                "  {} {} by {} -> {} ({})",
                crate::time::fmt_iso(a.event_time),
                one_line(&a.event_name),
                one_line(a.caller_key.as_deref().or(a.caller_arn.as_deref()).unwrap_or("?")),
                one_line(a.target.as_deref().unwrap_or("?")),
                one_line(a.error_code.as_deref().unwrap_or("error"))
            );
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn walk(
    g: &SessionGraph,
    ch: &[Vec<(usize, usize)>],
    sel: &BTreeSet<usize>,
    n: usize,
    prefix: &str,
    collapse: usize,
    out: &mut String,
    visited: &mut BTreeSet<usize>,
) {
    if !visited.insert(n) {
        return;
    }
    let kids: Vec<(usize, usize)> =
        ch[n].iter().copied().filter(|(c, _)| sel.contains(c)).collect();
    // Collapse siblings of one principal beyond the limit.
    let mut per_group: BTreeMap<String, usize> = BTreeMap::new();
    let mut shown = Vec::new();
    let mut hidden: BTreeMap<String, usize> = BTreeMap::new();
    for &(c, e) in &kids {
        let k = group_key(g, c);
        let cnt = per_group.entry(k.clone()).or_default();
        *cnt += 1;
        if *cnt > collapse && ch[c].is_empty() {
            *hidden.entry(k).or_default() += 1;
        } else {
            shown.push((c, e));
        }
    }
    let total = shown.len() + hidden.len();
    for (pos, &(c, e)) in shown.iter().enumerate() {
        let last = pos + 1 == total;
        let (branch, cont) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
        let _ = writeln!(
            out,
            "{prefix}{branch}{} → {}",
            one_line(&g.edges[e].event_name),
            node_line(g, c)
        );
        walk(g, ch, sel, c, &format!("{prefix}{cont}"), collapse, out, visited);
    }
    for (k, (group, count)) in hidden.iter().enumerate() {
        let branch = if shown.len() + k + 1 == total { "└─ " } else { "├─ " };
        let _ = writeln!(out, "{prefix}{branch}… {count} more sessions of {}", one_line(group));
    }
}

/// Graphviz DOT: every id and label a double-quoted DOT string escaped by [`dot_string`]
/// (SPEC §9), attributes written as `name=value` pairs (valid for `dot`).
pub fn dot(g: &SessionGraph, sel: &BTreeSet<usize>) -> String {
    let mut o = String::from("digraph sessions {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    for &i in sel {
        let n = &g.nodes[i];
        let attrs = match n.kind {
            NodeKind::LongTermKey => "shape=box, style=bold",
            NodeKind::Session => {
                if n.orphan {
                    "shape=box, style=dashed"
                } else {
                    "shape=box, style=rounded"
                }
            }
            _ => "shape=ellipse",
        };
        let label = format!(
            "{}\\n{}\\n{}",
            dot_string(n.access_key_id.as_deref().unwrap_or(&n.id)),
            dot_string(n.principal_arn.as_deref().unwrap_or("")),
            dot_string(&format!("{} events, issued {}", n.events, t(n.issued_at)))
        );
        let _ = writeln!(o, "  \"{}\" [{attrs}, label=\"{label}\"];", dot_string(&n.id));
    }
    for (k, &(p, c)) in g.edge_nodes.iter().enumerate() {
        if sel.contains(&p) && sel.contains(&c) {
            let e = &g.edges[k];
            let style = if e.inferred { ", style=dashed" } else { "" };
            let _ = writeln!(
                o,
                "  \"{}\" -> \"{}\" [label=\"{} {}{}\"{style}];",
                dot_string(&e.parent),
                dot_string(&e.child),
                dot_string(&e.event_name),
                crate::time::fmt_iso(e.event_time),
                if e.inferred { " (inferred)" } else { "" }
            );
        }
    }
    o.push_str("}\n");
    o
}

/// Mermaid flowchart.
pub fn mermaid(g: &SessionGraph, sel: &BTreeSet<usize>) -> String {
    let mut o = String::from("flowchart LR\n");
    let mid = |i: usize| format!("n{i}");
    let clean = mermaid_text;
    for &i in sel {
        let n = &g.nodes[i];
        let _ = writeln!(
            o,
            "  {}[\"{}<br/>{}<br/>{} events\"]",
            mid(i),
            clean(n.access_key_id.as_deref().unwrap_or(&n.id)),
            clean(n.principal_arn.as_deref().unwrap_or("")),
            n.events
        );
    }
    for (k, &(p, c)) in g.edge_nodes.iter().enumerate() {
        if sel.contains(&p) && sel.contains(&c) {
            let _ = writeln!(o, "  {} -->|{}| {}", mid(p), clean(&g.edges[k].event_name), mid(c));
        }
    }
    o
}

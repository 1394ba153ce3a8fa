//! Text renderings of the session graph: terminal tree, Graphviz DOT, Mermaid.

use super::{t, NodeKind, SessionGraph};
use crate::escape::{dot_string, mermaid_text, one_line};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Terminal width the tree is laid out for (SPEC: fits 100 columns).
pub const TREE_WIDTH: usize = 100;

/// How the tree shows times: `HH:MM` when everything shown is on one UTC day (named once in
/// the header), else `MM-DD HH:MM`.
#[derive(Clone, Copy)]
pub struct Clock {
    one_day: bool,
    /// "Now" for LIVE / EXPIRED.
    now: i64,
}

impl Clock {
    fn at(&self, t: Option<i64>) -> String {
        match t {
            None => "?".into(),
            Some(t) => {
                let iso = crate::time::fmt_iso(t);
                if self.one_day {
                    iso[11..16].to_string()
                } else {
                    format!("{} {}", &iso[5..10], &iso[11..16])
                }
            }
        }
    }
}

/// A principal ARN as a reader names it: `role AdminRole/ci`, `user alice`,
/// `federated contractor`, `root`, with the account as `@ACCOUNT`.
pub fn short_principal(arn: &str) -> String {
    let acct = super::arn_account(arn).unwrap_or("?");
    let rest = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let short = if let Some(r) = rest.strip_prefix("assumed-role/") {
        format!("role {r}")
    } else if let Some(u) = rest.strip_prefix("user/") {
        format!("user {}", u.rsplit('/').next().unwrap_or(u))
    } else if let Some(f) = rest.strip_prefix("federated-user/") {
        format!("federated {f}")
    } else if rest == "root" {
        "root".to_string()
    } else if let Some(r) = rest.strip_prefix("role/") {
        format!("role {}", r.rsplit('/').next().unwrap_or(r))
    } else {
        rest.to_string()
    };
    format!("{} @{acct}", one_line(&short))
}

/// `text` in lines of at most [`TREE_WIDTH`] characters, broken at spaces, the first after
/// `first` and the rest after `rest`; a word longer than a line is cut with
/// [`middle_ellipsis`] (an id a note names whole is in the JSON output).
fn wrap_into(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = String::from(first);
    let mut len = first.chars().count();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let room = TREE_WIDTH - rest.chars().count();
        let word = if word.chars().count() > room {
            middle_ellipsis(word, room)
        } else {
            word.to_string()
        };
        let w = word.chars().count();
        if !empty && len + 1 + w > TREE_WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(rest);
            len = rest.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            len += 1;
        }
        line.push_str(&word);
        len += w;
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

/// An event name as the tree shows it: Lambda's without the API version CloudTrail appends
/// (`UpdateFunctionCode20150331v2` is `UpdateFunctionCode`), which would leave no room for
/// the session on a line of [`TREE_WIDTH`].
fn short_event(name: &str) -> &str {
    if !crate::ingest::FUNCTION_CHANGES.contains(&name) {
        return name;
    }
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v');
    // "…v2" trims to the date's digits and on: the name itself has no digits or 'v' at its end.
    if base.is_empty() {
        name
    } else {
        base
    }
}

/// `head…tail` of `s` in at most `max` characters (the tail names a session apart).
pub fn middle_ellipsis(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 5 {
        return s.to_string();
    }
    let tail = (max - 1) / 2;
    let head = max - 1 - tail;
    let h: String = s.chars().take(head).collect();
    let t: String = s.chars().skip(n - tail).collect();
    format!("{h}…{t}")
}

fn node_line(
    g: &SessionGraph,
    i: usize,
    clock: Clock,
    room: usize,
    parent: Option<usize>,
) -> String {
    let n = &g.nodes[i];
    let id = match n.kind {
        NodeKind::Session => one_line(n.access_key_id.as_deref().unwrap_or(&n.id)).into_owned(),
        _ => one_line(&n.id).into_owned(),
    };
    // The account is shown where the chain enters it.
    let same_account = parent.is_some_and(|p| {
        let pa = g.nodes[p].principal_arn.as_deref().and_then(super::arn_account);
        pa.is_some() && pa == n.principal_arn.as_deref().and_then(super::arn_account)
    });
    let principal = n
        .principal_arn
        .as_deref()
        .map(|a| {
            let s = short_principal(a);
            if same_account {
                s.rsplit_once(" @").map(|x| x.0.to_string()).unwrap_or(s)
            } else {
                s
            }
        })
        .unwrap_or_default();
    let mut tail = String::new();
    match n.kind {
        NodeKind::Session => {
            let until = super::session_expiry(g, i);
            match until {
                Some(u) if u <= clock.now => tail.push_str("  EXPIRED"),
                Some(u) => {
                    let _ = write!(tail, "  LIVE until {}", clock.at(Some(u)));
                }
                None => tail.push_str("  LIVE?"),
            }
        }
        NodeKind::LongTermKey => tail.push_str("  key"),
        _ => {}
    }
    if matches!(n.kind, NodeKind::LongTermKey | NodeKind::Session) {
        let _ = write!(tail, "  {} call{}", n.events, if n.events == 1 { "" } else { "s" });
        if n.denied > 0 {
            let _ = write!(tail, " ({} DENIED)", n.denied);
        }
        if n.events > 0 {
            let _ = write!(tail, ", last {}", clock.at(n.last_seen));
        }
    }
    if n.orphan {
        let _ = write!(
            tail,
            "  ({})",
            n.issued_by_event.as_deref().map(one_line).unwrap_or("no issuing event".into())
        );
    }
    if n.root_derived {
        tail.push_str("  (root)");
    }
    let mut fixed = id.chars().count() + 2 + tail.chars().count();
    if fixed + principal.chars().count() > room {
        // Tight: the last-call time goes first, then the middle of the principal's name.
        if let Some(k) = tail.find(", last ") {
            let cut = tail[k..].find("  ").map_or(tail.len(), |e| k + e);
            tail.replace_range(k..cut, "");
            fixed = id.chars().count() + 2 + tail.chars().count();
        }
    }
    let principal = middle_ellipsis(&principal, room.saturating_sub(fixed).max(16));
    format!("{id}  {principal}{tail}")
}

fn group_key(g: &SessionGraph, i: usize) -> String {
    let n = &g.nodes[i];
    n.role_arn.clone().or_else(|| n.principal_arn.clone()).unwrap_or_default()
}

/// Renders the selected nodes as an indented tree from each root issuer.
pub fn tree(g: &SessionGraph, sel: &BTreeSet<usize>, collapse: usize) -> String {
    if sel.len() == g.nodes.len() {
        return tree_with_notes(g, sel, collapse, &g.notes);
    }
    // A selection: only the notes that name one of its credentials, found in one pass over
    // each note for all the names at once (each name looked for in each note was minutes with
    // 100,000 notes and as many names, a forged trail of reused key ids).
    let names: BTreeSet<&str> = sel
        .iter()
        .flat_map(|&i| [Some(g.nodes[i].id.as_str()), g.nodes[i].access_key_id.as_deref()])
        .flatten()
        .collect();
    let notes: Vec<String> = match aho_corasick::AhoCorasick::new(&names) {
        Ok(any) => g.notes.iter().filter(|n| any.is_match(n.as_str())).cloned().collect(),
        // Too many names for one automaton: each looked for in turn.
        Err(_) => g.notes.iter().filter(|n| names.iter().any(|k| n.contains(k))).cloned().collect(),
    };
    tree_with_notes(g, sel, collapse, &notes)
}

/// [`tree`] with the notes to print under it (the caller filters them to the selection).
pub fn tree_with_notes(
    g: &SessionGraph,
    sel: &BTreeSet<usize>,
    collapse: usize,
    notes: &[String],
) -> String {
    let ch = g.children();
    let mut has_parent = vec![false; g.nodes.len()];
    for &(p, c) in &g.edge_nodes {
        if sel.contains(&p) {
            has_parent[c] = true;
        }
    }
    let mut roots: Vec<usize> = sel.iter().copied().filter(|&i| !has_parent[i]).collect();
    // Credentials first, in time order; then what has no time of its own (a service, an
    // outside identity: in a `--key` view, only there as another issuer of what the key led
    // to, such as a Lambda function the key changed); orphans last.
    roots.sort_by(|&a, &b| {
        let (na, nb) = (&g.nodes[a], &g.nodes[b]);
        let (ta, tb) = (na.first_seen.or(na.issued_at), nb.first_seen.or(nb.issued_at));
        (na.orphan, ta.is_none(), ta, &na.id).cmp(&(nb.orphan, tb.is_none(), tb, &nb.id))
    });
    let mut out = String::new();
    let mut times = sel
        .iter()
        .flat_map(|&i| {
            // The expiry too: a 12 h session issued after noon ends the next day, and its
            // "LIVE until 03:01" must not read as the day the header names.
            let n = &g.nodes[i];
            [n.issued_at, n.first_seen, n.last_seen, super::session_expiry(g, i)]
        })
        .flatten();
    let days: BTreeSet<String> =
        times.by_ref().map(|t| crate::time::fmt_iso(t)[..10].to_string()).collect();
    let clock = Clock { one_day: days.len() <= 1, now: crate::time::now() };
    if let (true, Some(day)) = (clock.one_day, days.iter().next()) {
        let _ = writeln!(
            out,
            "times are UTC on {day}; LIVE/EXPIRED as of now; DENIED: calls refused\n"
        );
    } else {
        let _ = writeln!(
            out,
            "times are UTC (MM-DD HH:MM); LIVE/EXPIRED as of now; DENIED: calls refused\n"
        );
    }
    let mut orphans_by_principal: BTreeMap<String, usize> = BTreeMap::new();
    let mut visited = BTreeSet::new();
    for r in roots {
        if g.nodes[r].orphan && ch[r].is_empty() && expired(g, r, clock) {
            let k = group_key(g, r);
            let c = orphans_by_principal.entry(k.clone()).or_default();
            *c += 1;
            if *c > collapse {
                continue;
            }
        }
        let _ = writeln!(out, "{}", node_line(g, r, clock, TREE_WIDTH, None));
        walk(g, &ch, sel, r, collapse, clock, &mut out, &mut visited);
    }
    for (p, n) in orphans_by_principal {
        if n > collapse {
            let _ = writeln!(
                out,
                "… and {} more EXPIRED sessions of {} with no issuing event in the logs",
                n - collapse,
                one_line(&p)
            );
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for n in notes {
            wrap_into(&mut out, &one_line(n), "  - ", "    ");
        }
    }
    let keys: BTreeSet<&str> =
        sel.iter().filter_map(|&i| g.nodes[i].access_key_id.as_deref()).collect();
    let all = sel.len() == g.nodes.len();
    let attempts: Vec<&super::Attempt> = g
        .attempts
        .iter()
        .filter(|a| all || a.caller_key.as_deref().is_some_and(|k| keys.contains(k)))
        .collect();
    if !attempts.is_empty() {
        let _ = writeln!(out, "\nfailed issuing calls: {}", attempts.len());
        for a in attempts.iter().take(20) {
            let line = format!(
                "  {} {} by {} → {} ({})",
                clock.at(Some(a.event_time)),
                one_line(&a.event_name),
                one_line(a.caller_key.as_deref().or(a.caller_arn.as_deref()).unwrap_or("?")),
                a.target.as_deref().map(short_principal).unwrap_or_else(|| "?".into()),
                one_line(a.error_code.as_deref().unwrap_or("error"))
            );
            let _ = writeln!(out, "{}", middle_ellipsis(&line, TREE_WIDTH));
        }
    }
    out
}

/// Whether node `i` is a session that had expired by the tree's clock: only those are folded
/// into "… N more" lines. A live one (or one whose end is unknown) is always shown: folding
/// by position hid the one live session of a role behind eight expired ones.
fn expired(g: &SessionGraph, i: usize, clock: Clock) -> bool {
    g.nodes[i].kind == NodeKind::Session
        && super::session_expiry(g, i).is_some_and(|u| u <= clock.now)
}

/// How many levels a chain is indented by in the text tree. A deeper session's line is not
/// indented further: it starts with its depth in brackets, `[41]`. A chain can be as deep as
/// its records say (each hop one `AssumeRole` signed with the session before it): indented all
/// the way, 20,000 hops made lines of 60,000 characters, 1 GB of text.
const MAX_INDENT: usize = 16;

/// The tree under `n` (its line already written), depth first, with an explicit stack rather
/// than a call per level (a chain of 30,000 hops, 2 MB of gzipped logs, overflowed the stack:
/// `sessions` aborted). Lines come in the order a recursive walk gives: each child's line,
/// then its subtree, then the next child; the collapsed siblings of a node last.
#[allow(clippy::too_many_arguments)]
fn walk(
    g: &SessionGraph,
    ch: &[Vec<(usize, usize)>],
    sel: &BTreeSet<usize>,
    n: usize,
    collapse: usize,
    clock: Clock,
    out: &mut String,
    visited: &mut BTreeSet<usize>,
) {
    /// A node being walked: its children to show, those collapsed, and the next to show.
    struct Frame {
        node: usize,
        prefix: String,
        depth: usize,
        shown: Vec<(usize, usize)>,
        hidden: BTreeMap<String, usize>,
        next: usize,
    }
    let open = |n: usize, prefix: String, depth: usize, visited: &mut BTreeSet<usize>| {
        if !visited.insert(n) {
            return None;
        }
        // Collapse siblings of one principal beyond the limit.
        let mut per_group: BTreeMap<String, usize> = BTreeMap::new();
        let mut shown = Vec::new();
        let mut hidden: BTreeMap<String, usize> = BTreeMap::new();
        for &(c, e) in ch[n].iter().filter(|(c, _)| sel.contains(c)) {
            let k = group_key(g, c);
            let cnt = per_group.entry(k.clone()).or_default();
            *cnt += 1;
            if *cnt > collapse && ch[c].is_empty() && expired(g, c, clock) {
                *hidden.entry(k).or_default() += 1;
            } else {
                shown.push((c, e));
            }
        }
        Some(Frame { node: n, prefix, depth, shown, hidden, next: 0 })
    };
    let mut stack: Vec<Frame> = open(n, String::new(), 0, visited).into_iter().collect();
    while let Some(f) = stack.last_mut() {
        let total = f.shown.len() + f.hidden.len();
        let Some(&(c, e)) = f.shown.get(f.next) else {
            let prefix = &f.prefix;
            for (k, (group, count)) in f.hidden.iter().enumerate() {
                let branch = if f.shown.len() + k + 1 == total { "└─ " } else { "├─ " };
                let _ = writeln!(
                    out,
                    "{prefix}{branch}… {count} more EXPIRED sessions of {}",
                    one_line(group)
                );
            }
            stack.pop();
            continue;
        };
        f.next += 1;
        let last = f.next == total;
        let (branch, cont) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
        let edge = &g.edges[e];
        let depth = f.depth + 1;
        let deep = if depth > MAX_INDENT { format!("[{depth}] ") } else { String::new() };
        let head = format!(
            "{}{branch}{deep}{} {}{} → ",
            f.prefix,
            one_line(short_event(&edge.event_name)),
            clock.at(Some(edge.event_time)),
            if edge.inferred { " (inferred)" } else { "" }
        );
        let room = TREE_WIDTH.saturating_sub(head.chars().count());
        let _ = writeln!(out, "{head}{}", node_line(g, c, clock, room, Some(f.node)));
        let prefix =
            if depth < MAX_INDENT { format!("{}{cont}", f.prefix) } else { f.prefix.clone() };
        if let Some(child) = open(c, prefix, depth, visited) {
            stack.push(child);
        }
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

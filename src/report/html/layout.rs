//! The layout of the session-chain graph: the graph as a left-to-right layered tree (depth =
//! column), each credential under its first issuer, with at most [`MAX_SIBLINGS`] children per
//! credential, [`MAX_DEPTH`] levels and [`MAX_GRAPH_NODES`] boxes (the rest fold into "+N more"
//! boxes). Drawing is in `graph`.

use super::{Ctx, MAX_DEPTH, MAX_GRAPH_NODES, MAX_SIBLINGS};
use std::collections::{BTreeMap, BTreeSet};

/// Box width.
pub(super) const G_W: i64 = 224;
/// Box height.
pub(super) const G_H: i64 = 64;
/// Distance between the left edges of two columns (one chain level).
pub(super) const G_COL: i64 = 346;
/// Distance between two rows.
pub(super) const G_ROW: i64 = 80;
/// Margin around the drawing.
pub(super) const G_PAD: i64 = 22;

/// One box of the drawn tree.
pub(super) enum Slot {
    Node(usize),
    /// Children of `parent` not drawn.
    More(Vec<usize>),
}

/// A box placed in the tree: what it shows, its column and the y of its middle.
pub(super) struct Placed {
    pub(super) slot: Slot,
    pub(super) depth: usize,
    pub(super) y: i64,
    /// (index of the parent box in `placed`, edge index into the graph's edges).
    pub(super) from: Option<(usize, Option<usize>)>,
}

/// The laid-out tree.
pub(super) struct Tree {
    /// Tree children (node, edge), each node under its first issuer.
    kids: Vec<Vec<(usize, usize)>>,
    size: Vec<usize>,
    /// The subtree holds a credential not expired by the cut-off.
    live: Vec<bool>,
    pub(super) placed: Vec<Placed>,
    pub(super) rows: i64,
    pub(super) drawn: usize,
    pub(super) max_depth: usize,
}

/// Lays the graph out as a left-to-right layered tree: depth = column, leaves take rows in
/// order, parents sit in the middle of their children.
pub(super) fn layout(cx: &Ctx) -> Tree {
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

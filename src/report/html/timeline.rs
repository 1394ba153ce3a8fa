//! The timeline of the tainted activity: events bucketed over time (at most ~100 columns)
//! and stacked by account, issuance and persistence markers, one lane per credential (at most
//! [`MAX_LANES`]) and the plan's cut-off.

use super::{clip, clip_mid, clip_tail, dur, escape_html, hm, principal_short, short, w, Ctx};
use super::{MAX_LANES, OTHER, PALETTE};
use crate::blast::TaintedCredential;
use crate::chain::Node;
use crate::plan::CredentialStatus;
use crate::time::{fmt_iso, parse_iso, Time};
use std::collections::BTreeMap;
use std::fmt::Write;

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

/// Left margin (axis labels, lane names), in px.
const L: i64 = 300;
/// Width of the plot.
const PW: i64 = 860;
/// Top of the bars.
const BT: i64 = 30;
/// Height of the bars.
const BH: i64 = 150;
/// Height of one credential lane.
const LANE: i64 = 17;

/// The timeline section: bars, markers and lanes in one SVG, then what it leaves out.
pub(super) fn timeline_section(o: &mut String, cx: &Ctx) {
    let b = cx.d.blast;
    o.push_str("<section id=\"timeline\">\n<h2>Tainted activity over time</h2>\n");
    let Some(span) = span_of(cx) else {
        o.push_str("<p class=\"muted\">No tainted events.</p>\n</section>\n");
        return;
    };
    let cols = columns(cx, &span);
    let picked = pick_lanes(cx, &span);
    let lanes = &picked.shown;
    let creds = &b.credentials;
    let f = Frame::new(span, lanes.len());
    let Span { t0, t1, bucket, nb, eff_shown, .. } = f.span;
    let (height, width) = (f.height, f.width);
    let xt = |t: i64| f.xt(t);
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
    draw_scale(o, &f, &cols);
    draw_bars(o, &f, &cols);
    draw_ticks(o, &f);
    draw_markers(o, cx, &f);
    draw_lanes(o, cx, &f, &picked);
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
        w!(
            o,
            "<p class=\"more\">The cut-off {} is far from the tainted activity and is not drawn.</p>\n",
            escape_html(&fmt_iso(cx.eff))
        );
    }
    o.push_str("<div class=\"readout\" id=\"tl-readout\">Hover a column, marker or lane for details.</div>\n</section>\n");
}

/// The time axis: the tainted activity (and the cut-off when it is near), in whole buckets.
#[derive(Clone, Copy)]
struct Span {
    /// First and last tainted event.
    t0: i64,
    t1: i64,
    /// The cut-off, when it is near enough to be drawn.
    eff_shown: Option<i64>,
    /// Bucket width (seconds).
    bucket: i64,
    /// The axis runs from `a` to `z`, bucket-aligned.
    a: i64,
    z: i64,
    /// Number of buckets.
    nb: usize,
}

/// The span of the axis, or `None` without tainted activity.
fn span_of(cx: &Ctx) -> Option<Span> {
    let b = cx.d.blast;
    let evs = b.moments.list();
    let (Some(t0), Some(t1)) = (
        evs.iter().map(|e| e.time).min().or(b.first_event.map(Time::secs)),
        evs.iter().map(|e| e.time).max().or(b.last_event.map(Time::secs)),
    ) else {
        return None;
    };
    // The axis covers the tainted activity, and the cut-off when it is near.
    let (mut lo, mut hi) = (t0, t1 + 1);
    let slack = (hi - lo).max(6 * 3600);
    let eff_shown = Some(cx.eff).filter(|&e| e >= lo - slack && e <= hi + slack);
    if let Some(e) = eff_shown {
        lo = lo.min(e);
        hi = hi.max(e + 1);
    }
    let bucket = bucket_for(hi - lo);
    let a = lo.div_euclid(bucket) * bucket;
    let z = (hi + bucket - 1).div_euclid(bucket) * bucket;
    let nb = ((z - a) / bucket) as usize;
    Some(Span { t0, t1, eff_shown, bucket, a, z, nb })
}

/// The columns: event counts per bucket and account slot, and the calls made in each bucket.
struct Columns<'a> {
    counts: Vec<Vec<u64>>,
    names: Vec<BTreeMap<&'a str, u64>>,
    /// The tallest column.
    max: u64,
    /// Account slot → name, for the legend and the hover text.
    slot_names: BTreeMap<usize, String>,
}

fn columns<'a>(cx: &Ctx<'a>, span: &Span) -> Columns<'a> {
    let b = cx.d.blast;
    let (evs, m) = (b.moments.list(), &b.moments);
    let Span { a, bucket, nb, .. } = *span;
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
        counts[k][slot_of(m.str(e.account))] += 1;
        *names[k].entry(m.str(e.name).unwrap_or_default()).or_default() += 1;
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
    Columns { counts, names, max, slot_names }
}

/// The credential lanes drawn and the calls of each credential per bucket.
struct Lanes {
    /// Indices into the blast radius's credentials, in drawing order.
    shown: Vec<usize>,
    /// Per credential: bucket → calls.
    hits: Vec<BTreeMap<usize, u64>>,
}

/// When a credential's lane starts: its issue time, else its first use, else `t0`.
fn lane_start(c: &TaintedCredential, t0: i64) -> i64 {
    c.issued_at.or(c.first_seen).map_or(t0, Time::secs)
}

fn pick_lanes(cx: &Ctx, span: &Span) -> Lanes {
    let b = cx.d.blast;
    let (evs, m) = (b.moments.list(), &b.moments);
    let Span { t0, a, bucket, nb, .. } = *span;
    // Credential lanes: the seeds, then live credentials, then the most active; drawn in
    // order of first activity.
    let creds = &b.credentials;
    let mut by_key: BTreeMap<&str, Vec<(usize, Option<i64>)>> = BTreeMap::new();
    for (i, c) in creds.iter().enumerate() {
        if let Some(k) = &c.access_key_id {
            by_key.entry(k.as_str()).or_default().push((i, c.issued_at.map(Time::secs)));
        }
    }
    let mut lane_hits: Vec<BTreeMap<usize, u64>> = vec![BTreeMap::new(); creds.len()];
    for e in evs {
        let Some(list) = m.str(e.key).and_then(|k| by_key.get(k)) else {
            continue;
        };
        let ci = if list.len() == 1 {
            list[0].0
        } else {
            list.iter()
                .find(|(_, t)| *t == e.created)
                .or_else(|| list.first())
                .map_or(list[0].0, |x| x.0)
        };
        let k = ((e.time - a) / bucket).clamp(0, nb as i64 - 1) as usize;
        *lane_hits[ci].entry(k).or_default() += 1;
    }
    let start_of = |c: &TaintedCredential| lane_start(c, t0);
    let mut lanes: Vec<usize> = (0..creds.len()).collect();
    if lanes.len() > MAX_LANES {
        lanes.sort_by(|&x, &y| {
            let sx = creds[x].access_key_id.as_deref().is_some_and(|k| cx.seeds.contains(k));
            let sy = creds[y].access_key_id.as_deref().is_some_and(|k| cx.seeds.contains(k));
            let live =
                |i: usize| cx.status.get(creds[i].id.as_str()) == Some(&&CredentialStatus::Live);
            let (lx, ly) = (live(x), live(y));
            sy.cmp(&sx)
                .then(ly.cmp(&lx))
                .then(creds[y].events.cmp(&creds[x].events))
                .then(x.cmp(&y))
        });
        lanes.truncate(MAX_LANES);
    }
    lanes.sort_by(|&x, &y| start_of(&creds[x]).cmp(&start_of(&creds[y])).then(x.cmp(&y)));
    Lanes { shown: lanes, hits: lane_hits }
}

/// Where things go on the drawing.
struct Frame {
    span: Span,
    /// The y of the time axis (the foot of the bars).
    axis: i64,
    /// The y of the issuance markers.
    issue_y: i64,
    /// The y of the persistence markers.
    pers_y: i64,
    /// The top of the first lane.
    lanes_top: i64,
    height: i64,
    width: i64,
    /// Width of one bucket.
    bw: f64,
}

impl Frame {
    fn new(span: Span, lanes: usize) -> Frame {
        let axis = BT + BH;
        let issue_y = axis + 34;
        let pers_y = issue_y + 16;
        let lanes_top = pers_y + 18;
        let height = lanes_top + lanes as i64 * LANE + 8;
        let width = L + PW + 24;
        let bw = PW as f64 / span.nb as f64;
        Frame { span, axis, issue_y, pers_y, lanes_top, height, width, bw }
    }

    /// The x of time `t`.
    fn xt(&self, t: i64) -> f64 {
        let Span { a, z, .. } = self.span;
        L as f64 + (t - a) as f64 * PW as f64 / (z - a) as f64
    }
}

/// The incident band, the y axis and the account legend.
fn draw_scale(o: &mut String, f: &Frame, cols: &Columns) {
    let Span { t0, t1, bucket, .. } = f.span;
    let (axis, height, xt) = (f.axis, f.height, |t: i64| f.xt(t));
    let (max, slot_names) = (cols.max, &cols.slot_names);
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
}

/// The stacked bars, each with its hover text.
fn draw_bars(o: &mut String, f: &Frame, cols: &Columns) {
    let Span { a, bucket, .. } = f.span;
    let (axis, bw) = (f.axis, f.bw);
    let (counts, names, max, slot_names) = (&cols.counts, &cols.names, cols.max, &cols.slot_names);
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
}

/// The x axis and its ticks.
fn draw_ticks(o: &mut String, f: &Frame) {
    let Span { a, z, .. } = f.span;
    let (axis, lanes_top, height, xt) = (f.axis, f.lanes_top, f.height, |t: i64| f.xt(t));
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
}

/// The issuance and persistence marker rows.
fn draw_markers(o: &mut String, cx: &Ctx, f: &Frame) {
    let b = cx.d.blast;
    let Span { a, z, .. } = f.span;
    let (issue_y, pers_y, xt) = (f.issue_y, f.pers_y, |t: i64| f.xt(t));
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
        let t = p.event_time.secs();
        if t < a || t > z {
            continue;
        }
        let tip =
            format!("{} {}: {} ({}) → {}", hm(t), p.event_name, p.target, p.detail, p.follow_up);
        pers.push((t, tip, "#b91c1c"));
    }
    markers(o, &mut pers, "persistence finding(s)", pers_y, "l5,5 l-5,5 l-5,-5 z", &xt);
    o.push('\n');
}

/// One lane per credential: its validity and its calls.
fn draw_lanes(o: &mut String, cx: &Ctx, f: &Frame, picked: &Lanes) {
    let b = cx.d.blast;
    let creds = &b.credentials;
    let Span { t0, a, z, .. } = f.span;
    let (lanes_top, bw, xt) = (f.lanes_top, f.bw, |t: i64| f.xt(t));
    let (lanes, lane_hits) = (&picked.shown, &picked.hits);
    let start_of = |c: &TaintedCredential| lane_start(c, t0);
    // Lanes.
    let maxhit = lane_hits.iter().flat_map(|m| m.values()).copied().max().unwrap_or(1).max(1);
    for (row, &ci) in lanes.iter().enumerate() {
        let c = &creds[ci];
        let y = lanes_top + row as i64 * LANE;
        let (_, stroke) = cx.color(c.account_id.as_deref());
        let status = cx.status.get(c.id.as_str()).copied();
        let mut tip = format!(
            "{}\n{}\n{} events · {}",
            c.id,
            c.principal_arn.as_deref().unwrap_or(""),
            c.events,
            status.map_or("tainted", CredentialStatus::as_str)
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
        let e = c.expires_at.map_or(z, Time::secs).clamp(a, z);
        let dim = if status == Some(&CredentialStatus::Expired) { "0.25" } else { "0.5" };
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

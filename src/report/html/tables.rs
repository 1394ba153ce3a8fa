//! The table and card sections of the report: key findings, the revocation plan, the
//! tainted credentials, what they did (actions, resources, data reads, sources, failed
//! attempts), persistence, the verification of the plan, and the signals and notes. Long
//! lists are capped and say where the rest is.

use super::{brk, clip, clip_mid, clip_tail, escape_html, more, opt, opt_time, principal_short};
use super::{short, w};
use super::{Ctx, ACTION_CARDS, COMMAND_BUDGET, LONG_TABLE_ROWS, TABLE_ROWS, UA_ROWS};
use crate::findings::{Finding, Severity};
use crate::plan::verify::SessionVerdict;
use crate::plan::{ActionKind, CredentialStatus};
use crate::time::{fmt_iso, Time};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

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

/// The plan status of a tainted credential (`tainted` when the plan does not list it).
fn status_pill(s: Option<&CredentialStatus>) -> String {
    let class = match s {
        Some(CredentialStatus::Live) => "s-live",
        Some(CredentialStatus::Deactivate) => "s-deactivate",
        Some(CredentialStatus::Unrevocable) => "s-unrevocable",
        _ => "s-expired",
    };
    let text = s.map_or("tainted", CredentialStatus::as_str);
    format!("<span class=\"pill {class}\">{}</span>", escape_html(text))
}

pub(super) fn credentials_section(o: &mut String, cx: &Ctx) {
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
    let tm = |t: Option<Time>| match t {
        Some(t) => {
            format!("<span title=\"{}\">{}</span>", escape_html(&t.to_string()), short(t.secs()))
        }
        None => "<span class=\"muted\">–</span>".into(),
    };
    for (i, c) in b.credentials.iter().take(LONG_TABLE_ROWS).enumerate() {
        let mut st = status_pill(cx.status.get(c.id.as_str()).copied());
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
            tm(c.issued_at),
            tm(c.expires_at),
            c.events,
            tm(c.first_seen),
            tm(c.last_seen),
            ips.join("<br>")
        );
    }
    o.push_str("</tbody></table>\n");
    more(o, b.credentials.len().min(LONG_TABLE_ROWS), b.credentials.len(), "blast.json");
    o.push_str("</section>\n");
}

pub(super) fn activity_section(o: &mut String, cx: &Ctx) {
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
                escape_html(&x.first.to_string()),
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

pub(super) fn persistence_section(o: &mut String, cx: &Ctx) {
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
        b.finding_events.iter().map(|e| (e.id.as_str(), e)).collect();
    type Groups<'a> = Vec<((Option<&'a str>, String), Vec<&'a crate::blast::Persistence>)>;
    let mut groups: BTreeMap<(Option<&str>, String), Vec<&crate::blast::Persistence>> =
        BTreeMap::new();
    for p in b.persistence.iter().take(LONG_TABLE_ROWS) {
        let t = crate::findings::target_of(p, events.get(p.event_id.as_str()).copied());
        groups.entry((p.account_id.as_deref(), t)).or_default().push(p);
    }
    let mut groups: Groups = groups.into_iter().collect();
    groups.sort_by(|x, y| {
        let fx = x.1.iter().map(|p| p.event_time).min();
        let fy = y.1.iter().map(|p| p.event_time).min();
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
                escape_html(&p.event_time.to_string()),
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
    if let Some(t) = f.time {
        w!(o, "<span class=\"muted\">{}</span>", clip(&t.to_string(), 40));
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
            f.time.map_or_else(String::new, |t| format!(" <span class=\"muted\">{}</span>", clip(&t.to_string(), 40))),
            brk(&clip(&f.detail, 300)),
            f.techniques.iter().map(|t| format!("<span class=\"tech\">{}</span>", clip(t, 20))).collect::<Vec<_>>().join(" "),
            clip(&f.next_step, 400)
        );
    }
    o.push_str("</tbody></table>\n");
    more(o, list.len().min(FINDING_CARDS), list.len(), "blast.json");
}

pub(super) fn findings_section(o: &mut String, findings: &[Finding]) {
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

pub(super) fn plan_section(o: &mut String, cx: &Ctx) {
    let p = cx.d.plan;
    let s = &p.summary;
    o.push_str("<section id=\"plan\">\n<h2>Revocation plan</h2>\n");
    w!(
        o,
        "<p>{} actions: {} keys to deactivate, {} deny policies on {} principals. {} tainted sessions: {} covered{}, {} expired by the cut-off \
<b>{}</b>, {} unrevocable; {} untainted sessions also cut (collateral). The same commands are in <code>plan.sh</code>; apply them in order.</p>\n",
        p.actions.len(),
        s.keys_to_deactivate,
        s.policies,
        s.principals,
        s.tainted_sessions,
        s.covered_sessions,
        s.not_covered_text(),
        s.expired_sessions,
        escape_html(&p.effective_at.to_string()),
        s.unrevocable_sessions,
        s.collateral_sessions
    );
    let mut budget = COMMAND_BUDGET;
    for (k, a) in p.actions.iter().enumerate().take(ACTION_CARDS) {
        let class = match a.kind {
            ActionKind::DeactivateAccessKey => "key",
            ActionKind::PutRolePolicy
            | ActionKind::PutUserPolicy
            | ActionKind::CreatePolicy
            | ActionKind::AttachRolePolicy
            | ActionKind::AttachUserPolicy
            | ActionKind::ResourcePolicyDeny => "deny",
            _ => "human",
        };
        let target = a
            .principal_arn
            .as_deref()
            .or(a.access_key_id.as_deref())
            .or(a.user_name.as_deref())
            .or(a.policy_arn.as_deref())
            .unwrap_or("");
        w!(
            o,
            "<div class=\"act {class}\" id=\"act-{}\"><div class=\"h\"><span class=\"ord\">#{}</span><span class=\"ty\">{}</span><code>{}</code>",
            a.order,
            a.order,
            clip(a.kind.as_str(), 40),
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
                opt_time(u.valid_until)
            );
        }
        o.push_str("</tbody></table>\n");
        more(o, p.unrevocable.len().min(LONG_TABLE_ROWS), p.unrevocable.len(), "plan.json");
    }
    if !p.precautionary.is_empty() {
        w!(
            o,
            "<h3>Precautionary ({}): not evidence-based; what the unseen tail could reach per the IAM snapshot (<code>--contain-reachable</code>)</h3>\n",
            p.precautionary.len()
        );
        table_head(o, &["#", "Type", "Target", "Why"]);
        for a in p.precautionary.iter().take(LONG_TABLE_ROWS) {
            let target = a.principal_arn.as_deref().or(a.user_name.as_deref()).unwrap_or("–");
            w!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"wrap\">{}</td><td>{}</td></tr>\n",
                a.order,
                clip(a.kind.as_str(), 40),
                brk(&clip(target, 110)),
                clip(&a.reason, 400)
            );
        }
        o.push_str("</tbody></table>\n");
        more(
            o,
            p.precautionary.len().min(LONG_TABLE_ROWS),
            p.precautionary.len(),
            "plan.json and plan.sh",
        );
    }
    if !p.notes.is_empty() {
        o.push_str("<h3>Planner notes</h3>\n<ul class=\"notes\">");
        notes_list(o, &p.notes, "plan.json");
        o.push_str("</ul>\n");
    }
    o.push_str("</section>\n");
}

/// The last column of a table of verdicts, when it has one: its heading and its text.
type Column = (&'static str, fn(&SessionVerdict) -> Option<&str>);

/// Who denies each session ([`SessionVerdict::denied_by`]).
const DENIED_BY: Option<Column> = Some(("Denied by", |s| s.denied_by.as_deref()));

fn verdict_table(o: &mut String, title: &str, list: &[SessionVerdict], last: Option<Column>) {
    if list.is_empty() {
        return;
    }
    w!(o, "<h3>{title} ({})</h3>\n", list.len());
    match last {
        Some((head, _)) => table_head(o, &["Session", "Principal", "Issued", "Valid until", head]),
        None => table_head(o, &["Session", "Principal", "Issued", "Valid until"]),
    }
    for s in list.iter().take(LONG_TABLE_ROWS) {
        w!(
            o,
            "<tr><td><code>{}</code></td><td class=\"wrap\">{}</td><td class=\"t\">{}</td><td class=\"t\">{}</td>",
            clip(&s.session, 80),
            s.principal_arn.as_deref().map_or_else(|| "–".into(), |x| brk(&clip(x, 110))),
            opt_time(s.issued_at),
            opt_time(s.valid_until)
        );
        if let Some((_, text)) = last {
            w!(
                o,
                "<td class=\"wrap\">{}</td>",
                text(s).map_or_else(|| "–".into(), |x| brk(&clip(x, 400)))
            );
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
    more(o, list.len().min(LONG_TABLE_ROWS), list.len(), "verify.json");
}

pub(super) fn verify_section(o: &mut String, cx: &Ctx) {
    let v = cx.d.verify;
    o.push_str("<section id=\"verify\">\n<h2>Verification of the plan (offline)</h2>\n");
    if let ("INCOMPLETE", Some(unread)) = (v.verdict, &v.unread) {
        w!(
            o,
            "<div class=\"banner fail\">INCOMPLETE: every live tainted credential found{} is cut by the plan at {}, but {}{}</div>\n",
            if v.unrevocable.is_empty() { "" } else { " that IAM can cut" },
            escape_html(&v.effective_at.to_string()),
            escape_html(unread),
            match v.unrevocable.len() {
                0 => String::new(),
                n => format!("; {n} live tainted credential(s) no IAM policy can cut stay valid (see \"Unrevocable\" below)"),
            }
        );
    } else if v.verdict == "OK" && !v.unrevocable.is_empty() {
        // Root's own key and what root minted stay valid whatever the plan does (F11).
        w!(
            o,
            "<div class=\"banner fail\">OK for what IAM can cut at {}, but {} live tainted credential(s) no IAM policy can cut stay valid: see \"Unrevocable\" below for each one's remedy.</div>\n",
            escape_html(&v.effective_at.to_string()),
            v.unrevocable.len()
        );
    } else if v.verdict == "OK" {
        w!(
            o,
            "<div class=\"banner ok\">OK: every live tainted credential is cut by the plan at {}.</div>\n",
            escape_html(&v.effective_at.to_string())
        );
    } else {
        w!(
            o,
            "<div class=\"banner fail\">FAIL: {} tainted session(s) not covered and {} key(s) left active at {}.</div>\n",
            v.not_covered.len(),
            v.keys_left_active.len(),
            escape_html(&v.effective_at.to_string())
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
    cell(o, v.unrevocable.len(), "unrevocable (NOT cut)", !v.unrevocable.is_empty());
    cell(o, v.collateral.len(), "collateral", false);
    cell(o, v.keys_deactivated.len(), "keys deactivated", false);
    cell(o, v.keys_left_active.len(), "keys left active", !v.keys_left_active.is_empty());
    o.push_str("</div>\n");
    verdict_table(o, "NOT covered: still alive after the plan", &v.not_covered, None);
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
    verdict_table(o, "Collateral: untainted sessions the plan also cuts", &v.collateral, DENIED_BY);
    verdict_table(o, "Covered", &v.covered, DENIED_BY);
    verdict_table(o, "Expired by the cut-off (no action needed)", &v.expired, None);
    verdict_table(
        o,
        "Unrevocable: still valid, no IAM policy can cut them",
        &v.unrevocable,
        Some(("Why, and the remedy", |s| s.reason.as_deref())),
    );
    for (list, title) in [
        (&v.keys_deactivated, "Keys deactivated"),
        (&v.keys_denied, "Keys only denied (still Active: cut by their user's deny-all)"),
    ] {
        if list.is_empty() {
            continue;
        }
        w!(o, "<h3>{title} ({})</h3>\n<p class=\"mono\">", list.len());
        let keys: Vec<String> = list.iter().take(LONG_TABLE_ROWS).map(|k| clip(k, 80)).collect();
        o.push_str(&keys.join(", "));
        o.push_str("</p>\n");
    }
    o.push_str("</section>\n");
}

pub(super) fn notes_section(o: &mut String, cx: &Ctx) {
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
        notes_list(o, &notes.iter().collect::<Vec<_>>(), "blast.json");
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

/// The items of a list of notes: every one that says something is NOT COVERED or NOT CUT
/// first (however many: a responder must not miss one behind others), then the first 50 of
/// the rest, and how many more `where_` holds.
fn notes_list<S: AsRef<str>>(o: &mut String, notes: &[S], where_: &str) {
    let urgent = |n: &str| n.contains("NOT COVERED") || n.contains("NOT CUT");
    for n in notes.iter().map(AsRef::as_ref).filter(|n| urgent(n)) {
        w!(o, "<li>{}</li>", clip(n, 600));
    }
    let rest: Vec<&str> = notes.iter().map(AsRef::as_ref).filter(|n| !urgent(n)).collect();
    for n in rest.iter().take(50) {
        w!(o, "<li>{}</li>", clip(n, 600));
    }
    if rest.len() > 50 {
        w!(o, "<li>… {} more in {where_}</li>", rest.len() - 50);
    }
}

#[cfg(test)]
mod tests {
    /// A NOT COVERED note behind 60 others is still shown, and what is left out is counted.
    #[test]
    fn a_not_covered_note_is_never_left_out_of_a_long_list() {
        let mut notes: Vec<String> = (0..60).map(|i| format!("note {i}")).collect();
        notes.push("NOT COVERED: 3 live tainted session(s) of role AppRole".into());
        let mut o = String::new();
        super::notes_list(&mut o, &notes, "plan.json");
        assert!(o.starts_with("<li>NOT COVERED: 3 live"), "{o}");
        assert!(o.contains("<li>note 49</li>") && !o.contains("<li>note 50</li>"), "{o}");
        assert!(o.ends_with("<li>… 10 more in plan.json</li>"), "{o}");
    }
}

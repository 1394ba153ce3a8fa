//! Renderings of a blast radius: the terminal summary (`--format table`) and the Markdown
//! for an incident ticket (`--format markdown`). The JSON is the serialized [`BlastRadius`].

use super::{Action, BlastRadius, Finding};
use crate::chain::NodeKind;
use crate::time::{fmt_or, Time};
use std::collections::BTreeMap;

/// Terminal rendering: a responder's one-screen summary.
pub fn render_table(b: &BlastRadius) -> String {
    use crate::escape::one_line as l;
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "blast radius of {}", l(&b.seeds.join(", ")));
    let _ = writeln!(
        o,
        "{} tainted credentials, {} events, {} .. {}",
        b.credentials.len(),
        b.events,
        fmt_or(b.first_event, "-"),
        fmt_or(b.last_event, "-")
    );
    let join = |m: &BTreeMap<String, u64>| {
        m.iter().map(|(k, v)| format!("{} ({v})", l(k))).collect::<Vec<_>>().join(", ")
    };
    findings_text(b, &mut o);
    let _ = writeln!(o);
    let _ = writeln!(o, "accounts: {}", join(&b.accounts));
    let _ = writeln!(o, "regions: {}", join(&b.regions));
    let _ = writeln!(o, "source IPs: {}", l(&group_ips(&b.source_ips)));
    let _ = writeln!(o, "user agents: {}", b.user_agents.len());
    // HH:MM when every time shown is on one UTC day (named once), else MM-DD HH:MM: a 12 h
    // session issued after noon, or a 36 h one, ends on another day than it began.
    let day = |t: &Time| t.to_string().chars().take(10).collect::<String>();
    let days: std::collections::BTreeSet<String> = b
        .credentials
        .iter()
        .flat_map(|c| [c.issued_at, c.expires_at])
        .flatten()
        .map(|t| day(&t))
        .collect();
    let one_day = days.len() <= 1;
    match days.iter().next().filter(|_| one_day) {
        Some(day) => {
            let _ = writeln!(o, "\ncredentials (times UTC on {day}: issued–expires)");
        }
        None => {
            let _ = writeln!(o, "\ncredentials (times UTC, MM-DD HH:MM: issued–expires, the expiry's date when it is another day)");
        }
    }
    let hm = |t: &Option<Time>, with_date: bool| {
        t.map_or("-".to_string(), |t| {
            let t = t.to_string();
            let clock = if with_date { t.get(5..16) } else { t.get(11..16) };
            clock.map_or_else(|| t.clone(), |s| s.replacen('T', " ", 1))
        })
    };
    // The widest `when` (`MM-DD HH:MM–MM-DD HH:MM`) widens the column and the line.
    let w = if one_day { 11 } else { 23 };
    for c in &b.credentials {
        let when = if c.kind == NodeKind::LongTermKey {
            format!("key {}", hm(&c.issued_at, !one_day))
        } else {
            let other_day = match (&c.issued_at, &c.expires_at) {
                (Some(i), Some(x)) => day(i) != day(x),
                _ => !one_day,
            };
            format!("{}–{}", hm(&c.issued_at, !one_day), hm(&c.expires_at, other_day))
        };
        let head = format!(
            "  {:<20}  {:<w$}  {:>4} calls  ",
            l(c.access_key_id.as_deref().unwrap_or(&c.id)),
            when,
            c.events,
        );
        let who = format!(
            "{}{}",
            c.principal_arn
                .as_deref()
                .map(crate::chain::render::short_principal)
                .unwrap_or_else(|| "?".into()),
            c.issuing_event.as_deref().map(|e| format!(" ({})", l(e))).unwrap_or_default()
        );
        // Only the principal is shortened: the times and the count stay whole.
        let room = (100 + w - 11).saturating_sub(head.chars().count()).max(24);
        let _ = writeln!(o, "{head}{}", crate::chain::render::middle_ellipsis(&who, room));
        let new: Vec<&str> =
            c.source_ips.iter().filter(|v| v.new).map(|v| v.value.as_str()).collect();
        if !new.is_empty() {
            let _ = writeln!(o, "      new source IPs: {}", l(&new.join(", ")));
        }
    }
    let name = |a: &Action| {
        l(&format!("{}:{}", a.event_source.trim_end_matches(".amazonaws.com"), a.event_name))
            .into_owned()
    };
    let _ = writeln!(o, "\ntop successful actions (calls)");
    let mut ok: Vec<&Action> = b.actions.iter().filter(|a| a.count > a.errors).collect();
    ok.sort_by(|x, y| {
        (y.count - y.errors).cmp(&(x.count - x.errors)).then_with(|| name(x).cmp(&name(y)))
    });
    for a in ok.iter().take(15) {
        let _ = writeln!(o, "  {:<60} {:>6}", name(a), a.count - a.errors);
    }
    let failed: Vec<&Action> = b.actions.iter().filter(|a| a.errors > 0).collect();
    if !failed.is_empty() {
        let _ = writeln!(o, "\nfailed or denied attempts (calls)");
        for a in failed.iter().take(15) {
            let _ = writeln!(o, "  {:<60} {:>6}", name(a), a.errors);
        }
    }
    if !b.resources.is_empty() {
        let _ = writeln!(o, "\ntop resources");
        for r in b.resources.iter().take(10) {
            let _ = writeln!(o, "  {:>6}  {}", r.events, l(&r.arn));
        }
    }
    if !b.data_access.is_empty() {
        let _ = writeln!(o, "\ndata access");
        for d in b.data_access.iter().take(10) {
            let _ = writeln!(o, "  {:>6}  {} {}", d.count, l(&d.event_name), l(&d.resource));
        }
    }
    if !b.persistence.is_empty() {
        let _ = writeln!(o, "\npersistence (follow-up needed)");
        for p in &b.persistence {
            let _ = writeln!(
                o,
                "  {} {} {}: {} -> {}",
                p.event_time,
                l(&p.event_name),
                l(&p.target),
                l(&p.detail),
                p.follow_up
            );
        }
    }
    for u in &b.attacker_users {
        let _ = writeln!(
            o,
            "\nattacker-controlled user: {} since {} ({})",
            l(&u.user_arn),
            u.since,
            l(&u.evidence.join(", "))
        );
    }
    if !b.evidence_window.is_empty() {
        let _ = writeln!(o, "\nevidence window (per account)");
        for w in &b.evidence_window {
            let _ = writeln!(
                o,
                "  {}  {} .. {}  {} events",
                l(&w.account_id),
                w.first_event,
                w.last_event,
                w.events
            );
        }
    }
    if !b.unseen_tail.is_empty() {
        let _ = writeln!(o, "\nunseen tail: still valid when the evidence ends");
        for t in &b.unseen_tail {
            let _ = writeln!(
                o,
                "  {}  valid until {}  evidence ends {}: {}",
                l(&t.credential),
                fmt_or(t.valid_until, "deactivation"),
                fmt_or(t.evidence_ends, "(no logs of its account)"),
                t.reason
            );
        }
    }
    for s in &b.signals {
        let _ = writeln!(o, "\nsignal: {} {}: {}", l(&s.kind), l(&s.credential), l(&s.detail));
    }
    for n in &b.notes {
        let _ = writeln!(o, "\nnote: {}", l(n));
    }
    o
}

/// `: target`, unless the title already names it.
fn named(f: &Finding) -> String {
    if f.title.contains(&f.target) {
        String::new()
    } else {
        format!(": {}", crate::escape::one_line(&f.target))
    }
}

fn findings_text(b: &BlastRadius, o: &mut String) {
    use crate::escape::one_line as l;
    use std::fmt::Write;
    if b.findings.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nkey findings and next steps");
    for f in b.findings.iter().filter(|f| !f.failed) {
        let _ = writeln!(
            o,
            "  {:<8} {}{} [{}]\n           next: {}",
            f.severity.as_str().to_uppercase(),
            l(&f.title),
            named(f),
            f.techniques.join(", "),
            l(&f.next_step)
        );
    }
    let failed: Vec<_> = b.findings.iter().filter(|f| f.failed).collect();
    if !failed.is_empty() {
        let _ = writeln!(o, "\nfailed attempts (refused by AWS, still intent)");
        for f in failed {
            let _ = writeln!(o, "  {}{} [{}]", l(&f.title), named(f), f.techniques.join(", "));
        }
    }
}

/// Source addresses grouped by IPv4 /24 (`203.0.113.0/24: 54 addresses, 310 calls`); other
/// values (IPv6, service names) as they are.
pub fn group_ips(ips: &BTreeMap<String, u64>) -> String {
    // key → (addresses, calls, the first address: named when it is alone in its /24)
    let mut groups: BTreeMap<String, (u64, u64, &str)> = BTreeMap::new();
    for (ip, n) in ips {
        let octets: Vec<&str> = ip.split('.').collect();
        let v4 = octets.len() == 4 && octets.iter().all(|o| o.parse::<u8>().is_ok());
        let key =
            if v4 { format!("{}.{}.{}.0/24", octets[0], octets[1], octets[2]) } else { ip.clone() };
        let g = groups.entry(key).or_insert((0, 0, ip.as_str()));
        g.0 += 1;
        g.1 += n;
    }
    groups
        .into_iter()
        .map(|(k, (addrs, calls, first))| {
            if addrs > 1 {
                format!("{k} ({addrs} addresses, {calls} calls)")
            } else {
                format!("{first} ({calls})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Markdown rendering, for an incident ticket. Every value from the logs goes through
/// [`crate::escape::markdown_cell`]: no HTML, no broken table, no markup (SPEC §9).
pub fn render_markdown(b: &BlastRadius) -> String {
    use crate::escape::markdown_cell as m;
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "# Blast radius of {}\n", m(&b.seeds.join(", ")));
    let _ = writeln!(
        o,
        "- **{}** tainted credentials, **{}** events, {} to {}",
        b.credentials.len(),
        b.events,
        m(&fmt_or(b.first_event, "-")),
        m(&fmt_or(b.last_event, "-"))
    );
    let join = |map: &BTreeMap<String, u64>| {
        map.iter().map(|(k, v)| format!("{} ({v})", m(k))).collect::<Vec<_>>().join(", ")
    };
    if !b.findings.is_empty() {
        let _ = writeln!(o, "\n## Key findings and next steps\n\n| severity | finding | target | ATT&CK | next step |\n|---|---|---|---|---|");
        for f in b.findings.iter().filter(|f| !f.failed) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                f.severity.as_str(),
                m(&f.title),
                m(&f.target),
                m(&f.techniques.join(", ")),
                m(&f.next_step)
            );
        }
        let failed: Vec<_> = b.findings.iter().filter(|f| f.failed).collect();
        if !failed.is_empty() {
            let _ = writeln!(
                o,
                "\n### Failed attempts\n\n| finding | target | ATT&CK |\n|---|---|---|"
            );
            for f in failed {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} |",
                    m(&f.title),
                    m(&f.target),
                    m(&f.techniques.join(", "))
                );
            }
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "- accounts: {}", join(&b.accounts));
    let _ = writeln!(o, "- regions: {}", join(&b.regions));
    let _ = writeln!(o, "- source IPs: {}\n", join(&b.source_ips));
    let _ = writeln!(o, "## Credentials\n\n| key | principal | account | issued | by | expires | events |\n|---|---|---|---|---|---|---|");
    for c in &b.credentials {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            m(c.access_key_id.as_deref().unwrap_or(&c.id)),
            m(c.principal_arn.as_deref().unwrap_or("?")),
            m(c.account_id.as_deref().unwrap_or("?")),
            m(&fmt_or(c.issued_at, "-")),
            c.issued_by
                .as_deref()
                .map(|x| format!("{} {}", m(x), m(c.issuing_event.as_deref().unwrap_or(""))))
                .unwrap_or_else(|| "-".into()),
            m(&fmt_or(c.expires_at, "-")),
            c.events
        );
    }
    let _ = writeln!(o, "\n## Actions\n\n| action | count | errors |\n|---|---|---|");
    for a in &b.actions {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            m(&format!("{}:{}", a.event_source, a.event_name)),
            a.count,
            a.errors
        );
    }
    if !b.persistence.is_empty() {
        let _ = writeln!(o, "\n## Persistence\n\n| time | action | target | detail | follow-up |\n|---|---|---|---|---|");
        for p in &b.persistence {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                m(&p.event_time.to_string()),
                m(&p.event_name),
                m(&p.target),
                m(&p.detail),
                m(&p.follow_up)
            );
        }
    }
    if !b.data_access.is_empty() {
        let _ = writeln!(o, "\n## Data access\n\n| action | resource | count |\n|---|---|---|");
        for d in &b.data_access {
            let _ = writeln!(o, "| {} | {} | {} |", m(&d.event_name), m(&d.resource), d.count);
        }
    }
    if !b.attacker_users.is_empty() {
        let _ = writeln!(
            o,
            "\n## Attacker-controlled users\n\n| user | since | evidence |\n|---|---|---|"
        );
        for u in &b.attacker_users {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                m(&u.user_arn),
                m(&u.since.to_string()),
                m(&u.evidence.join(", "))
            );
        }
    }
    if !b.unseen_tail.is_empty() {
        let _ = writeln!(o, "\n## Unseen tail\n\nStill valid when the evidence of their account ends: what they did since is not in the logs.\n\n| credential | valid until | evidence ends | why |\n|---|---|---|---|");
        for t in &b.unseen_tail {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                m(&t.credential),
                m(&fmt_or(t.valid_until, "until deactivated")),
                m(&fmt_or(t.evidence_ends, "no logs")),
                m(&t.reason)
            );
        }
    }
    for n in b.notes.iter().chain(b.signals.iter().map(|s| &s.detail)) {
        let _ = writeln!(o, "\n> {}", m(n));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::group_ips;
    use std::collections::BTreeMap;

    #[test]
    fn addresses_group_by_slash_24_and_a_lone_address_is_named() {
        let ips: BTreeMap<String, u64> = [
            ("203.0.113.7", 3),
            ("203.0.113.9", 2),
            ("10.1.1.5", 1),
            ("10.1.12.8", 4),
            ("ec2.amazonaws.com", 6),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(
            group_ips(&ips),
            "10.1.1.5 (1), 10.1.12.8 (4), 203.0.113.0/24 (2 addresses, 5 calls), ec2.amazonaws.com (6)"
        );
    }
}

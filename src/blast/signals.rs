//! Signals over the whole trail, for a responder who is not sure which key leaked.

use super::Signal;
use crate::chain::SessionGraph;
use crate::ingest::Ingest;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Signals over the whole trail: EC2 instance-profile credentials of one role session (same
/// role, session name = instance id) used from more than one network. The instance fetches
/// new keys as they rotate, so the evidence is per role session, not per key: a stolen key
/// shows up as the same session ARN calling from somewhere else (CLOUDTRAIL.md §5, item 6).
pub(super) fn signals(ing: &Ingest, g: &SessionGraph) -> Vec<Signal> {
    let parent = g.parent_edge();
    // Cheapest test first: the node's own fields, the last segment of its ARN before a search
    // through it, its parent (another node, elsewhere in memory) last.
    let is_instance = |n: usize| {
        let node = &g.nodes[n];
        node.issued_by_event.as_deref() == Some("EC2 instance profile")
            || node.principal_arn.as_deref().is_some_and(|a| {
                a.rsplit('/').next().is_some_and(|s| s.starts_with("i-"))
                    && crate::chain::arn_is(a, "assumed-role/")
            })
            || parent[n].is_some_and(|(p, _)| g.nodes[p].id == "service:ec2.amazonaws.com")
    };
    // Once per credential, not once per event: few credentials are instance sessions.
    // Both on both cores, in parts (this runs beside the blast radius, and whichever core is
    // free takes the next part): the maps and sets merge to the same result in any order.
    let instance: Vec<bool> = (0..g.nodes.len()).into_par_iter().map(is_instance).collect();
    if !instance.contains(&true) {
        return Vec::new();
    }
    // session ARN -> (ip -> keys that used it)
    type BySession<'a> = BTreeMap<&'a str, BTreeMap<&'a str, BTreeSet<&'a str>>>;
    const PART: usize = 65_536;
    let by_session: BySession<'_> = ing
        .stubs
        .par_chunks(PART)
        .enumerate()
        .map(|(p, stubs)| {
            let mut by_session = BySession::new();
            for (j, st) in stubs.iter().enumerate() {
                let Some(n) = g.node_of_event(p * PART + j) else { continue };
                if !instance[n] || st.flags & crate::ingest::INVOKED_BY != 0 {
                    continue;
                }
                let Some(ip) = ing.str(st.ip) else { continue };
                if ip.starts_with("AWS Internal") || ip.ends_with(".amazonaws.com") {
                    continue;
                }
                let Some(arn) = g.nodes[n].principal_arn.as_deref() else { continue };
                let key = g.nodes[n].access_key_id.as_deref().unwrap_or("?");
                by_session.entry(arn).or_default().entry(ip).or_default().insert(key);
            }
            by_session
        })
        .reduce(BySession::new, |mut a, b| {
            for (arn, ips) in b {
                let into = a.entry(arn).or_default();
                for (ip, keys) in ips {
                    into.entry(ip).or_default().extend(keys);
                }
            }
            a
        });
    by_session
        .into_iter()
        .filter(|(_, ips)| ips.len() > 1)
        .map(|(arn, ips)| Signal {
            kind: "instance_credentials_used_elsewhere".into(),
            credential: arn.to_string(),
            principal_arn: Some(arn.to_string()),
            detail: format!(
                "EC2 instance-profile session {arn} used from {} networks: {}",
                ips.len(),
                ips.iter()
                    .map(|(ip, keys)| format!(
                        "{ip} (keys {})",
                        keys.iter().copied().collect::<Vec<_>>().join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        })
        .collect()
}

/// The kind of [`suspected`]'s signals.
pub const SUSPECTED: &str = "session_without_issuer_from_attacker_ip";

/// Role sessions the trail shows in use but not issued, not tainted, not console or service
/// sessions, that called from an address a tainted credential called from. An `AssumeRole`
/// through a regional STS endpoint the trail does not record (F15) leaves exactly that: the
/// session's calls elsewhere are in the trail, its issuing call is not, and nothing links it
/// to the leaked key (a review reproduced it with plan and verify OK). Not tainted (the same
/// address may be a shared NAT): a signal, and a review item in the plan.
///
/// So are the role sessions issued to a principal of another account whose logs are not in
/// the trail (`account:…`) that called from such an address: a tainted session in that
/// account may have made a user or key there whose calls the trail cannot show, and then come
/// back through it (a review reproduced a chain out and back with plan and verify OK).
pub(super) fn suspected(g: &SessionGraph, tainted: &BTreeSet<usize>) -> Vec<Signal> {
    let outside = |ip: &str| !ip.starts_with("AWS Internal") && !ip.ends_with(".amazonaws.com");
    let ips: BTreeSet<&str> = tainted
        .iter()
        .flat_map(|&n| g.nodes[n].source_ips.iter().map(|s| s.as_str()))
        .filter(|ip| outside(ip))
        .collect();
    if ips.is_empty() {
        return Vec::new();
    }
    let parent = g.parent_edge();
    let mut children: Option<Vec<Vec<(usize, usize)>>> = None;
    let mut out = Vec::new();
    for (n, node) in g.nodes.iter().enumerate() {
        let role_session =
            node.principal_arn.as_deref().filter(|a| crate::chain::arn_is(a, "assumed-role/"));
        let from_unlogged = parent[n].is_some_and(|(p, _)| g.nodes[p].id.starts_with("account:"));
        let unissued = node.orphan && node.issued_by_event.is_none() && parent[n].is_none();
        let (Some(arn), true) = (role_session, unissued || from_unlogged) else {
            continue;
        };
        // IAM Identity Center and service-linked roles: their sessions come from the SSO
        // sign-in or the service, never from a key (and a shared office address would name
        // every one of them).
        let role = crate::chain::after_segment(arn, "assumed-role/").unwrap_or("");
        if node.kind != crate::chain::NodeKind::Session
            || tainted.contains(&n)
            || arn.rsplit('/').next().is_some_and(|s| s.starts_with("i-"))
            || role.starts_with("AWSReservedSSO_")
            || role.starts_with("AWSServiceRole")
        {
            continue;
        }
        let shared: Vec<&str> =
            node.source_ips.iter().map(|s| s.as_str()).filter(|ip| ips.contains(ip)).collect();
        if shared.is_empty() {
            continue;
        }
        let detail = match parent[n] {
            Some((p, _)) => format!(
                "role session {} ({arn}) was issued to a principal of {}, whose own record of the call is not in the trail (that account's logs, or those of the region it called from, F15), and called from {} that the leaked key's credentials called from: a tainted session there may have made that principal; if it is not yours, deny it",
                node.id,
                g.nodes[p].id,
                shared.join(", ")
            ),
            None => format!(
                "role session {} ({arn}) has no issuing call in the trail and called from {} that the leaked key's credentials called from: it may have been issued through an STS regional endpoint or region the trail does not record (F15); if it is not yours, deny it",
                node.id,
                shared.join(", ")
            ),
        };
        // What it issued (a chain on from it, F5): a deny of it alone leaves those alive.
        let ch = children.get_or_insert_with(|| g.children());
        let seen = issued_from(ch, n, |_| false);
        let mut issued: Vec<&str> = seen
            .iter()
            .filter(|&&c| c != n && !tainted.contains(&c))
            .filter(|&&c| g.nodes[c].kind == crate::chain::NodeKind::Session)
            .map(|&c| g.nodes[c].id.as_str())
            .collect();
        let made = made_by(g, tainted, &seen);
        let detail = if made.is_empty() {
            detail
        } else {
            format!(
                "{detail}; it made, directly or through what it issued, what a deny of its sessions leaves valid, and which is the attacker's if it is: {}",
                made.join("; ")
            )
        };
        let detail = if issued.is_empty() {
            detail
        } else {
            issued.sort_unstable();
            let more = issued.len().saturating_sub(20);
            format!(
                "{detail}; it issued, directly or through others, {} session(s) that each need their own deny on their own role if it is not yours (F5): {}{}",
                issued.len(),
                issued[..issued.len() - more].join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            )
        };
        out.push(Signal {
            kind: SUSPECTED.into(),
            credential: node.id.clone(),
            principal_arn: Some(arn.to_string()),
            detail,
        });
    }
    out
}

/// `n` and every credential it issued, directly or through others, along the graph's
/// `children` ([`SessionGraph::children`]), not going into those `skip` says.
fn issued_from(
    children: &[Vec<(usize, usize)>],
    n: usize,
    skip: impl Fn(usize) -> bool,
) -> BTreeSet<usize> {
    let mut seen = BTreeSet::from([n]);
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        for &(c, _) in &children[x] {
            if !skip(c) && seen.insert(c) {
                stack.push(c);
            }
        }
    }
    seen
}

/// What the untainted credentials among `nodes` made that outlives every deny of a session: the
/// access keys they created (F1) and the users and roles they made, gave a password or whose
/// trust they set (the session graph's grants), as a review lists them, sorted.
fn made_by(g: &SessionGraph, tainted: &BTreeSet<usize>, nodes: &BTreeSet<usize>) -> Vec<String> {
    let mine = |n: &usize| nodes.contains(n) && !tainted.contains(n);
    // A user deleted since (with its keys: IAM deletes no user that has one) is not left.
    let gone = |account: Option<&str>, user: Option<&str>, since: Option<i64>| {
        let (Some(a), Some(u), Some(t)) = (account, user, since) else { return false };
        g.user_gone_after(a, u, t).is_some()
    };
    let mut made: Vec<String> = nodes
        .iter()
        .filter(|n| mine(n) && g.nodes[**n].kind == crate::chain::NodeKind::LongTermKey)
        .filter(|&&n| {
            // The key's user as the plan reads it (its ARN's), else its records' `userName`.
            let k = &g.nodes[n];
            let (account, user) = match crate::chain::user_named(k) {
                Some((a, u)) => (Some(a), Some(u)),
                None => (k.account_id.as_deref(), k.user_name.as_deref()),
            };
            !gone(account, user, k.issued_at.or(k.first_seen))
        })
        .map(|&n| {
            let k = &g.nodes[n];
            format!(
                "access key {} of {}",
                k.access_key_id.as_deref().unwrap_or(&k.id),
                k.principal_arn.as_deref().or(k.user_name.as_deref()).unwrap_or("?")
            )
        })
        .collect();
    let users = g.user_grants.iter().filter(|gr| {
        !gone(Some(gr.account_id.as_str()), Some(gr.user_name.as_str()), Some(gr.time))
    });
    let roles = g
        .role_grants
        .iter()
        .filter(|gr| g.role_gone_after(&gr.account_id, &gr.user_name, gr.time).is_none());
    for (what, grants) in [("user", users.collect::<Vec<_>>()), ("role", roles.collect())] {
        made.extend(grants.into_iter().filter(|gr| mine(&gr.by)).map(|gr| {
            format!(
                "{what} {} ({} at {})",
                gr.user_arn,
                gr.event_name,
                crate::time::fmt_iso(gr.time)
            )
        }));
    }
    made.sort_unstable();
    made.dedup();
    made
}

/// The suspected sessions ([`suspected`]'s signals in `b`) that made, directly or through the
/// untainted sessions they issued, keys, users or roles ([`made_by`]) still there at the end
/// of the trail, with what each made. Denying the session (what its review item offered) leaves
/// those valid, and the plan does not act on them: a review found such a session's admin user
/// and key alive, the review item silent on them. Each is named in the session's review item
/// and in a note. Not a failure: the address shared with the leaked key may be a NAT its own
/// legitimate calls went through, where a clean admin's session made a role or a user (a
/// review of a first version that failed plan and verify on them found that on an ordinary
/// incident); the session is not tainted, for the same reason.
pub fn suspects_made(g: &SessionGraph, b: &super::BlastRadius) -> Vec<(usize, Vec<String>)> {
    let suspects: Vec<usize> = b
        .signals
        .iter()
        .filter(|s| s.kind == SUSPECTED)
        .filter_map(|s| g.node(&s.credential))
        .collect();
    if suspects.is_empty() {
        return Vec::new();
    }
    // The sessions to check already (`crate::chain::Unsure`): their review items name what
    // they made, and they count once.
    let unsure: BTreeSet<usize> =
        g.unsure_sessions(&b.nodes, &b.unsure).iter().map(|u| u.node).collect();
    let ch = g.children();
    let mut out = Vec::new();
    for n in suspects.into_iter().filter(|n| !unsure.contains(n)) {
        let seen = issued_from(&ch, n, |c| unsure.contains(&c));
        let made = made_by(g, &b.nodes, &seen);
        if !made.is_empty() {
            out.push((n, made));
        }
    }
    out
}

/// The note of a suspected session that made what `made` lists ([`suspects_made`]).
pub fn suspect_made_note(g: &SessionGraph, n: usize, made: &[String]) -> String {
    const LISTED: usize = 10;
    let more = made.len().saturating_sub(LISTED);
    format!(
        "SUSPECTED session {} (no issuing call in the trail, called from an address of the leaked key's credentials) made what a deny of its sessions leaves valid: {}{}; if it is not yours, these are the attacker's and this plan does NOT act on them: deactivate the keys, contain and remove the users, and undo the roles' trust by hand (see its review item)",
        crate::escape::one_line(&g.nodes[n].id),
        crate::escape::one_line(&made[..made.len() - more].join("; ")),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    )
}

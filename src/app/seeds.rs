//! The seeds of a command: `--key` values checked and normalized, required to be in the
//! evidence (with the closest key ids when one is not), and the credentials of each
//! `--principal` (SPEC §2, §9).

use crate::model::SeedKey;
use anyhow::{bail, Result};

/// Normalizes `--key` values (SPEC §2, §9): trimmed, upper-cased (key ids are upper case;
/// the `@TIME` of a session id is kept as given). An ARN is refused with a pointer to
/// `--principal`. Other shapes are accepted with a warning, because anonymised datasets break
/// the alphabet.
pub(super) fn check_keys(keys: &[String], quiet: bool) -> Result<Vec<SeedKey>> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let k = k.trim();
        if k.is_empty() {
            bail!("--key: empty access key id");
        }
        if k.starts_with("arn:") {
            bail!("--key {}: that is an ARN, not an access key id; use --principal {} to select by principal", crate::escape::one_line(k), crate::escape::one_line(k));
        }
        let k = SeedKey::spelled(k);
        if !(quiet || k.starts_with("AKIA") || k.starts_with("ASIA")) {
            eprintln!(
                "trailhound: warning: --key {}: not an AKIA… or ASIA… access key id",
                crate::escape::one_line(&k)
            );
        }
        out.push(SeedKey::parse(&k));
    }
    Ok(out)
}

/// The three of `seen` closest to `wanted` (by edit distance, then order; each once), escaped
/// for one line of a message.
fn closest<'a>(wanted: &str, seen: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut by_distance: Vec<(usize, &str)> = seen.map(|s| (edit_distance(wanted, s), s)).collect();
    by_distance.sort();
    by_distance.dedup();
    by_distance.iter().take(3).map(|(_, s)| crate::escape::one_line(s).into_owned()).collect()
}

/// Levenshtein distance (small strings: key ids).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + usize::from(ca != *cb));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// SPEC §9: a `--key` that matches no credential in the evidence is a usage error naming the
/// closest key ids seen.
pub(super) fn require_keys(g: &crate::chain::SessionGraph, keys: &[SeedKey]) -> Result<()> {
    for k in keys {
        if g.holds_seed(k) {
            continue;
        }
        let id = k.key_id();
        let close = closest(id, g.nodes.iter().filter_map(|n| n.access_key_id.as_deref()));
        let what = if matches!(k, SeedKey::Node(_)) && !g.nodes_for_key(id).is_empty() {
            let ids: Vec<&str> =
                g.nodes_for_key(id).iter().map(|&n| g.nodes[n].id.as_str()).collect();
            format!("; its sessions are {}", ids.join(", "))
        } else if close.is_empty() {
            "; the trail has no access key ids at all".to_string()
        } else {
            format!("; closest key ids in the trail: {}", close.join(", "))
        };
        bail!(
            "--key {}: no credential in the evidence has this key id{what}",
            crate::escape::one_line(k.as_str())
        );
    }
    Ok(())
}

/// The seeds of `blast`/`plan`/`investigate`: the `--key` values, and the credentials of each
/// `--principal` (a user, role, federated-user or session ARN) as node ids. A principal that
/// no credential in the evidence acts as is a usage error (SPEC §9).
pub(super) fn seeds_of(
    g: &crate::chain::SessionGraph,
    keys: &[SeedKey],
    principals: &[String],
) -> Result<Vec<SeedKey>> {
    let mut seeds = keys.to_vec();
    for p in principals {
        let p = p.trim();
        let found = g
            .seeds_of_principal(p)
            .map_err(|e| anyhow::anyhow!("--principal {}: {e}", crate::escape::one_line(p)))?;
        if found.is_empty() {
            let close = closest(p, g.nodes.iter().filter_map(|n| n.principal_arn.as_deref()));
            bail!(
                "--principal {}: no credential in the evidence acts as this principal; closest: {}",
                crate::escape::one_line(p),
                if close.is_empty() { "none".to_string() } else { close.join(", ") }
            );
        }
        seeds.extend(found);
    }
    seeds.dedup();
    Ok(seeds)
}

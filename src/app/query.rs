//! `trailhound query`: phase 1's and phase 3's SQL, and phase 2's from the session graph of a
//! phase-1 result (`crate::query`).

use super::*;

/// `query`: phase 1's SQL, or phase 2's from the session graph of a phase-1 result.
pub(super) fn query(a: cli::QueryArgs) -> Result<Exit> {
    let o = crate::query::QueryOptions::from_args(&a)?;
    if let (Some(s), false) = (o.since, a.quiet) {
        // The stages cannot tell a result's window from the trail's: say it here.
        eprintln!(
            "trailhound: warning: WINDOW: --since {} leaves out every issuing call before it, and the calls that give the attacker a user or a role's trust: a session the leaked key took before it is missing from the results; query from before the leak",
            crate::time::fmt_iso(s)
        );
    }
    if a.phase != 2 {
        let sql = if a.phase == 1 { crate::query::phase1(&o) } else { crate::query::phase3(&o) };
        stdout_write(&sql)?;
        return Ok(Exit::Ok);
    }
    if a.from.is_empty() || (a.keys.is_empty() && a.principals.is_empty()) {
        bail!("--phase 2 needs --from (the phase-1 result) and at least one --key or --principal");
    }
    let keys = check_keys(&a.keys, a.quiet)?;
    let input = InputArgs {
        inputs: a.from,
        since: None,
        until: None,
        threads: None,
        strict: false,
        max_file_size: ingest::DEFAULT_MAX_FILE_BYTES,
        cache: None,
        no_progress: true,
        quiet: a.quiet,
    };
    let mut ing = load_with(&input, false, false, &keys)?;
    let workloads = crate::query::workloads(&ing.details);
    // A leaked key that made no issuing call is in no phase-1 row: its events are still asked.
    let g = crate::chain::SessionGraph::build_releasing(&mut ing)?;
    let seeds = seeds_of(&g, &keys, &a.principals)?;
    let (k, u, r) = crate::query::tainted(&g, &seeds, workloads);
    stdout_write(&crate::query::phase2(&o, &k, &u, &r))?;
    Ok(finish(&ing))
}

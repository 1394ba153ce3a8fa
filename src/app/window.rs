//! `--since` and `--until`: what a window leaves out, said on stderr and in the notes, and
//! why a plan or a verification over one is never taken as done (NOT VERIFIED, exit 1).

use super::*;

/// The WINDOW notes of `--since` and `--until` (each also said on stderr), for the plan's
/// notes and [`not_verified_in_window`]; empty without a window.
pub(super) fn window_notes(g: &crate::chain::SessionGraph, a: &InputArgs) -> Result<Vec<String>> {
    Ok([window_note(g, a)?, until_note(a)?].into_iter().flatten().collect())
}

/// With `--since`: what the window leaves out. Every issuing call before it is gone, and with
/// them the calls that give the attacker a user or a role's trust: a session used in the
/// window but issued before it has no known issuer, and a grant made before it taints
/// nothing. So a plan (or a verification) of a window may miss live tainted sessions that one
/// over the whole trail finds. Said on stderr too, even with `-q`.
fn window_note(g: &crate::chain::SessionGraph, a: &InputArgs) -> Result<Option<String>> {
    let Some(since) = parse_time_arg("--since", &a.since)? else { return Ok(None) };
    let before = g
        .nodes
        .iter()
        .filter(|n| {
            n.kind == crate::chain::NodeKind::Session
                && n.orphan
                && n.issued_at.is_some_and(|t| t < since)
        })
        .count();
    let note = format!(
        "WINDOW: --since {} leaves out every issuing call before it, and the calls that give the attacker a user or a role's trust ({before} session(s) used in the window were issued before it): live tainted sessions may be missing from this result; run it again without --since before relying on it",
        crate::time::fmt_iso(since)
    );
    eprintln!("trailhound: warning: {note}");
    Ok(Some(note))
}

/// With `--until`: the events after it are in the logs but left out by the option, so the
/// notes that say the evidence ends before the cut-off mean the option, not missing logs.
fn until_note(a: &InputArgs) -> Result<Option<String>> {
    let Some(until) = parse_time_arg("--until", &a.until)? else { return Ok(None) };
    let note = format!(
        "WINDOW: --until {} leaves out the events after it: where the notes say the evidence ends before the cut-off, or what live tainted credentials did since is not in the logs, it is this option that leaves them out; run again without --until before applying",
        crate::time::fmt_iso(until)
    );
    eprintln!("trailhound: warning: {note}");
    Ok(Some(note))
}

/// A window that starts after the trail does leaves out issuing calls and grants, and the
/// sessions issued before it that it does not show in use; one that ends before it leaves out
/// what live tainted credentials minted after it (a key, a session), which is in the logs:
/// what verify re-derives is short by them, so it cannot show the plan cuts every one. Never
/// OK, in `verify` as in `investigate`'s verify.json. `windows`: the WINDOW notes.
pub(super) fn not_verified_in_window(
    v: &mut crate::plan::verify::Verification,
    windows: Vec<String>,
) {
    if windows.is_empty() {
        return;
    }
    v.fail();
    v.notes.extend(windows);
    v.notes.push("NOT VERIFIED: verify over a window (--since, --until) cannot show that the plan cuts every tainted credential; run it again without them".into());
}

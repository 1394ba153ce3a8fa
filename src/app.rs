//! Orchestration: one function per subcommand, turning validated arguments into stage calls
//! and stage results into output. The only place that writes to stdout.

// The output layer: this module writes results to stdout and messages to stderr (Cargo.toml
// denies printing everywhere else).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use crate::cli::{self, Cli, Command, InputArgs};
use crate::ingest::{self, Ingest, IngestOptions};
use crate::model::SeedKey;
use crate::time::parse_iso;
use anyhow::{bail, Context, Result};
use std::io::Write;

mod evidence_check;
mod links;
mod query;
mod window;
use links::guard_outputs;
use window::{not_verified_in_window, window_notes};
mod seeds;
use seeds::{check_keys, require_keys, seeds_of};

/// Process exit codes (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok = 0,
    /// A negative finding: `verify` found a live tainted session the plan does not cover.
    Finding = 1,
    /// Usage error or fatal error.
    Fatal = 2,
    /// Done, but some input could not be read.
    Incomplete = 3,
}

/// Runs one command line.
///
/// # Errors
/// Fatal errors (bad arguments, unwritable outputs, `--strict` input problems).
/// A fatal error as the binary prints it: its causes joined by `: `, with no escape sequence
/// left raw, as a message can name a file of the evidence (SPEC §9).
pub fn error_text(err: &anyhow::Error) -> String {
    crate::escape::terminal(&format!("{err:#}")).into_owned()
}

pub fn run(cli: Cli) -> Result<Exit> {
    crate::diag::mark("start");
    match cli.command {
        Command::Scan(a) => scan(a),
        Command::Export(a) => export(a),
        Command::Generate(a) => generate(a),
        Command::Investigate(a) => investigate(a),
        Command::Integrity(a) => evidence_check::integrity(a),
        Command::Sessions(a) => sessions(a),
        Command::Blast(a) => blast(a),
        Command::Plan(a) => plan(a),
        Command::Verify(a) => verify(a),
        Command::Query(a) => query::query(a),
    }
}

fn parse_time_arg(name: &str, v: &Option<String>) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(s) => match parse_iso(s) {
            Some(t) => Ok(Some(t)),
            None => bail!("{name}: {s:?} is not an RFC 3339 time (e.g. 2024-03-11T08:00:00Z)"),
        },
    }
}

/// Validates the shared input options, sizes the thread pool, and runs ingest.
/// `inventory_only` for commands that never build the session graph, `fingerprint` for
/// those that record the evidence hash (plan, investigate, verify); `seeds`, the `--key`
/// values whose events the first pass keeps in full (they are tainted: blast reads them back).
fn load_with(
    a: &InputArgs,
    inventory_only: bool,
    fingerprint: bool,
    seeds: &[SeedKey],
) -> Result<Ingest> {
    // Every command that reads the whole table builds the session graph next.
    load_keeping(a, inventory_only, fingerprint, seeds, !inventory_only)
}

/// [`load_with`]; `keep_later`: the caller keeps the run's table in the cache while it goes
/// on ([`IngestOptions::save_with_graph`]).
fn load_keeping(
    a: &InputArgs,
    inventory_only: bool,
    fingerprint: bool,
    seeds: &[SeedKey],
    keep_later: bool,
) -> Result<Ingest> {
    let since = parse_time_arg("--since", &a.since)?;
    let until = parse_time_arg("--until", &a.until)?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            bail!("--since is after --until");
        }
    }
    if let Some(n) = a.threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        // Fails only if the pool was already built (a second run in one process): keep it.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    let cache = match &a.cache {
        Some(dir) => {
            // SPEC §8: the cache is an output like any other, never written into the evidence.
            links::guard_cache(&a.inputs, dir)?;
            let c = ingest::Cache::open(dir)
                .with_context(|| format!("cannot use --cache {}", dir.display()))?;
            Some(std::sync::Arc::new(c))
        }
        None => None,
    };
    let opts = IngestOptions {
        cache,
        inputs: a.inputs.clone(),
        since,
        until,
        max_file_bytes: a.max_file_size,
        inventory_only,
        fingerprint,
        progress: !a.no_progress && !a.quiet,
        seed_keys: seeds.iter().map(|k| k.key_id().to_string()).collect(),
        save_with_graph: keep_later,
        ..IngestOptions::default()
    };
    let ing = ingest::ingest(&opts).context("reading standard input")?;
    // Records salvaged from a damaged file were read (SPEC §8: exit 3 with them).
    if ing.stats.files_read == 0 && ing.stats.files_skipped == 0 && ing.stats.records == 0 {
        crate::ingest::report_problems(&ing, a.quiet);
        bail!(
            "no input could be read from {} (SPEC §9: nothing read at all is an error, not an empty result)",
            a.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    if a.strict {
        if let Some(p) = ing.problems.iter().find(|p| p.severity != ingest::Severity::Skipped) {
            bail!("--strict: unreadable input: {p}");
        }
    }
    crate::ingest::report_problems(&ing, a.quiet);
    Ok(ing)
}

/// Hands the large in-memory structures to the OS at exit instead of freeing them piece by
/// piece (hundreds of thousands of allocations on a big trail; the process ends right after).
fn release<T>(v: T) {
    std::mem::forget(v);
}

/// The evidence no output may overwrite or be written into (SPEC §8): the trail and the IAM
/// snapshot. A snapshot taken before containment cannot be taken again: `plan -o` naming a
/// snapshot file replaced it, and a case folder written into a snapshot directory was read
/// as snapshot files by every later run.
fn evidence_paths(input: &InputArgs, iam: &cli::IamArgs) -> Vec<std::path::PathBuf> {
    input.inputs.iter().chain(&iam.iam).cloned().collect()
}

/// The `--iam` snapshot of a command, its problems printed on stderr naming their files.
fn load_iam(args: &cli::IamArgs, input: &InputArgs) -> Result<Option<crate::contain::Iam>> {
    if let (Some(dir), false) = (&input.cache, args.iam.is_empty()) {
        // The trail was checked when the cache was opened; the snapshot is checked here,
        // before it (every command reads the snapshot first).
        links::guard_cache(&args.iam, dir)?;
    }
    let iam = crate::contain::load_args(&args.iam, input.strict)?;
    if let (Some(i), false) = (&iam, input.quiet) {
        for p in &i.problems {
            eprintln!(
                "trailhound: iam snapshot {}: {}",
                crate::escape::one_line(&p.file.display().to_string()),
                crate::escape::one_line(&p.message)
            );
        }
    }
    Ok(iam)
}

/// [`finish`], counting the IAM snapshot's unreadable files as unread input (exit 3).
fn finish_with(ing: &Ingest, iam: Option<&crate::contain::Iam>) -> Exit {
    match finish(ing) {
        Exit::Ok if iam.is_some_and(|i| !i.problems.is_empty()) => Exit::Incomplete,
        code => code,
    }
}

fn finish(ing: &Ingest) -> Exit {
    if ing.incomplete() {
        Exit::Incomplete
    } else {
        Exit::Ok
    }
}

/// Writes to stdout. Whatever the format, no raw control character from a log reaches the
/// terminal (SPEC §9): JSON, DOT, Mermaid and Markdown escape for themselves, and this last
/// guard escapes any left in tables and trees.
fn stdout_write(text: &str) -> Result<()> {
    let text = crate::escape::terminal(text);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    w.write_all(text.as_bytes())?;
    w.flush()?;
    Ok(())
}

/// Colour on a terminal, unless `NO_COLOR` is set (no-color.org).
fn use_colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Colours the status markers of an already escaped tree or table (no other escape sequence
/// can be in it).
fn colourize(text: &str) -> String {
    text.replace("  LIVE", "  \x1b[1;31mLIVE\x1b[0m")
        .replace("  EXPIRED", "  \x1b[2mEXPIRED\x1b[0m")
        .replace(" DENIED)", " \x1b[33mDENIED\x1b[0m)")
        .replace("FAIL:", "\x1b[1;31mFAIL\x1b[0m:")
        .replace("OK:", "\x1b[1;32mOK\x1b[0m:")
}

/// Writes text that was escaped and coloured by the caller.
fn stdout_raw(text: &str) -> Result<()> {
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    w.write_all(text.as_bytes())?;
    w.flush()?;
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    let s = serde_json::to_string_pretty(v)?;
    let mut s = crate::escape::json_text(&s).into_owned();
    s.push('\n');
    Ok(s)
}

fn scan(a: cli::ScanArgs) -> Result<Exit> {
    let mut ing = load_keeping(&a.input, true, false, &[], true)?;
    let report = ing.keep_run_while(crate::scan::scan_report);
    crate::diag::mark("scan: counted");
    match a.format {
        cli::TableOrJson::Json => stdout_write(&to_json(&report)?)?,
        cli::TableOrJson::Table => stdout_write(&crate::scan::render_table(&report))?,
    }
    let code = finish(&ing);
    release(ing);
    Ok(code)
}

/// Events per batch when streaming an export: bounds memory whatever the trail size.
const EXPORT_BATCH: usize = 100_000;

fn export(a: cli::ExportArgs) -> Result<Exit> {
    if !a.partition {
        crate::export::TableFormat::from_path(&a.output)?;
    }
    guard_outputs(&a.input.inputs, &[("-o", a.output.as_path())])?;
    let ing = load_with(&a.input, true, false, &[])?;
    // Carried in the Parquet it writes: a plan from it is as incomplete as the logs were.
    let incomplete = ing.incomplete().then(|| {
        format!(
            "exported from input of which {} file(s) failed and {} record(s) were rejected (see the export's own warnings)",
            ing.stats.files_failed, ing.stats.rejected
        )
    });
    let all: Vec<usize> = (0..ing.stubs.len()).collect();
    let mut writers: std::collections::BTreeMap<
        (String, String, String),
        crate::export::TableWriter,
    > = Default::default();
    let mut single = if a.partition {
        None
    } else {
        Some(crate::export::TableWriter::create_marked(&a.output, incomplete.as_deref())?)
    };
    // Stubs are in time order and each file's events are close in time, so a batch re-reads
    // few files, and memory stays bounded by the batch.
    for chunk in all.chunks(EXPORT_BATCH) {
        let loaded = ing.load_events(chunk)?;
        match &mut single {
            Some(w) => w.write(&loaded.iter().collect::<Vec<_>>(), &ing.files)?,
            None => {
                let mut parts: std::collections::BTreeMap<_, Vec<&crate::model::Event>> =
                    Default::default();
                for e in &loaded {
                    parts.entry(crate::export::partition_of(e)).or_default().push(e);
                }
                for (p, evs) in parts {
                    if !writers.contains_key(&p) {
                        let dir = crate::export::partition_dir(&a.output, &p);
                        links::refuse_linked_below(&a.output, &dir)?;
                        std::fs::create_dir_all(&dir)
                            .with_context(|| format!("creating {}", dir.display()))?;
                        writers.insert(
                            p.clone(),
                            crate::export::TableWriter::create_marked(
                                &dir.join("events.parquet"),
                                incomplete.as_deref(),
                            )?,
                        );
                    }
                    if let Some(w) = writers.get_mut(&p) {
                        w.write(&evs, &ing.files)?;
                    }
                }
            }
        }
    }
    if let Some(w) = single {
        w.finish()?;
    }
    let partitions = writers.len();
    for (_, w) in writers {
        w.finish()?;
    }
    if !a.input.quiet {
        if a.partition {
            eprintln!(
                "trailhound: wrote {} events in {partitions} partitions under {}",
                all.len(),
                a.output.display()
            );
        } else {
            eprintln!("trailhound: wrote {} events to {}", all.len(), a.output.display());
        }
    }
    let code = finish(&ing);
    release(ing);
    Ok(code)
}

/// A path made absolute with symlinks resolved, also when it does not exist yet (the longest
/// existing prefix is resolved, the rest appended).
fn resolve_path(p: &std::path::Path) -> std::path::PathBuf {
    resolve_path_within(p, 0)
}

/// [`resolve_path`], following at most 40 links that point to nothing yet (a dangling link
/// is where a write to it lands: in its target).
fn resolve_path_within(p: &std::path::Path, links: u32) -> std::path::PathBuf {
    use std::path::{Component, PathBuf};
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    };
    let comps: Vec<Component> = abs.components().collect();
    for cut in (0..=comps.len()).rev() {
        let head: PathBuf = comps[..cut].iter().collect();
        if let Ok(mut r) = head.canonicalize() {
            for (i, c) in comps[cut..].iter().enumerate() {
                match c {
                    Component::ParentDir => {
                        r.pop();
                    }
                    Component::CurDir => {}
                    c => {
                        let next = r.join(c.as_os_str());
                        if let (true, Ok(target)) = (links < 40, std::fs::read_link(&next)) {
                            let rest: PathBuf = comps[cut + i + 1..].iter().collect();
                            return resolve_path_within(&r.join(target).join(rest), links + 1);
                        }
                        r = next;
                    }
                }
            }
            return r;
        }
    }
    abs
}

/// Ingest, then the session graph, warning about `--key` values the trail never mentions.
///
/// With an `--iam` snapshot, the role ARNs it knows are filled into the graph (after the graph
/// the table alone gives is kept in the cache); without one, the graph is kept in the cache
/// while the command goes on ([`crate::chain::SessionGraph::build_shared`]).
fn load_graph(
    input: &InputArgs,
    keys: &[SeedKey],
    fingerprint: bool,
    iam: Option<&crate::contain::Iam>,
) -> Result<(Ingest, std::sync::Arc<crate::chain::SessionGraph>)> {
    let mut ing = load_with(input, false, fingerprint, keys)?;
    crate::diag::mark("ingest done");
    let g = match iam {
        Some(i) => {
            let mut g = crate::chain::SessionGraph::build_releasing(&mut ing)?;
            require_keys(&g, keys)?;
            crate::contain::fill_role_arns(i, &mut g);
            std::sync::Arc::new(g)
        }
        None => {
            let g = crate::chain::SessionGraph::build_shared(&mut ing)?;
            require_keys(&g, keys)?;
            g
        }
    };
    crate::diag::mark("session graph built");
    Ok((ing, g))
}

/// The planner's options from the command line (shared by `plan` and `investigate`).
fn plan_options(
    (strategy, effective_at): (cli::Strategy, Option<i64>),
    (input, principals): (&InputArgs, &[String]),
) -> crate::plan::PlanOptions {
    crate::plan::PlanOptions {
        strategy: match strategy {
            cli::Strategy::Strict => crate::plan::Strategy::Strict,
            cli::Strategy::Surgical => crate::plan::Strategy::Surgical,
        },
        effective_at,
        now: crate::time::now(),
        input_paths: input.inputs.iter().map(|p| p.display().to_string()).collect(),
        principals: principals.to_vec(),
    }
}

/// The blast radius of `seeds` and, on the other core meanwhile, what the plan needs of the
/// graph alone (at 1 GB of trail a tenth of a `plan` over a filled cache).
fn blast_for_plan(
    ing: &Ingest,
    g: &crate::chain::SessionGraph,
    seeds: &[SeedKey],
    keep_events: bool,
) -> Result<(crate::blast::BlastRadius, crate::plan::SessionsByTarget)> {
    let (b, by_target) = rayon::join(
        || crate::blast::blast_with(ing, g, seeds, true, keep_events),
        || {
            let t = crate::plan::sessions_by_target(g);
            crate::diag::mark("plan: sessions by target");
            t
        },
    );
    Ok((b?, by_target))
}

/// The plan, with what the IAM snapshot says when there is one (issue #20): the unseen tail's
/// reach in the blast radius and the plan, and the precautionary actions when asked.
fn plan_with_snapshot(
    ing: &Ingest,
    g: &crate::chain::SessionGraph,
    (b, by_target): (&mut crate::blast::BlastRadius, crate::plan::SessionsByTarget),
    opts: &crate::plan::PlanOptions,
    iam: Option<&crate::contain::Iam>,
    contain: bool,
) -> crate::plan::Plan {
    let reach = iam.map(|i| crate::contain::reachable(i, g, &b.nodes, &mut b.unseen_tail));
    let mut p = crate::plan::build_plan_with(ing, g, b, opts, by_target, iam);
    if let (Some(i), Some(r)) = (iam, reach) {
        b.reachable = Some(r.clone());
        crate::plan::apply_snapshot(&mut p, i, r, g, contain);
    }
    p
}

fn sessions(a: cli::SessionsArgs) -> Result<Exit> {
    let keys = check_keys(&a.keys, a.input.quiet)?;
    let iam = load_iam(&a.iam, &a.input)?;
    let (ing, g) = load_graph(&a.input, &keys, false, iam.as_ref())?;
    // A principal's credentials seed the taint as in blast and plan (a `--principal` that
    // matches nothing is a usage error there too): selected without it, the tree left out
    // what the attacker's users did, which `sessions --key` of the same credential shows.
    let seeds =
        if a.principals.is_empty() { keys.clone() } else { seeds_of(&g, &keys, &a.principals)? };
    let sel = crate::blast::with_taint(&g, &seeds, g.select(&keys, &a.principals));
    let reach = iam.as_ref().map(|i| crate::contain::reachable_of_selection(i, &ing, &g, &sel));
    let mut text = match a.format {
        cli::GraphFormat::Json => match &reach {
            Some(r) => {
                let mut v = serde_json::to_value(g.to_json(&sel))?;
                v["reachable"] = serde_json::to_value(r)?;
                to_json(&v)?
            }
            None => to_json(&g.to_json(&sel))?,
        },
        cli::GraphFormat::Tree => crate::chain::render::tree(&g, &sel, a.collapse),
        cli::GraphFormat::Dot => crate::chain::render::dot(&g, &sel),
        cli::GraphFormat::Mermaid => crate::chain::render::mermaid(&g, &sel),
    };
    if let (Some(r), cli::GraphFormat::Tree) = (&reach, a.format) {
        text.push('\n');
        text.push_str(&crate::contain::render(r));
    }
    if a.format == cli::GraphFormat::Tree && use_colour() {
        stdout_raw(&colourize(&crate::escape::terminal(&text)))?;
    } else {
        stdout_write(&text)?;
    }
    let code = finish_with(&ing, iam.as_ref());
    release(g);
    release(ing);
    Ok(code)
}

fn blast(a: cli::BlastArgs) -> Result<Exit> {
    let keys = check_keys(&a.seeds.keys, a.input.quiet)?;
    if let Some(p) = &a.events_out {
        crate::export::TableFormat::from_path(p)?;
        guard_outputs(&evidence_paths(&a.input, &a.iam), &[("--events-out", p)])?;
    }
    let iam = load_iam(&a.iam, &a.input)?;
    let (ing, g) = load_graph(&a.input, &keys, false, iam.as_ref())?;
    let seeds = seeds_of(&g, &keys, &a.seeds.principals)?;
    // The tainted events are aggregated as they are re-read and not kept (SPEC §8: memory
    // bounded by what is kept); `--events-out` streams them in batches.
    let mut b = crate::blast::blast_with(&ing, &g, &seeds, true, false)?;
    if let Some(i) = &iam {
        b.reachable = Some(crate::contain::reachable(i, &g, &b.nodes, &mut b.unseen_tail));
    }
    let b = crate::findings::with_findings(b, &g, None);
    crate::diag::mark("blast done");
    if let Some(p) = &a.events_out {
        write_events_in_batches(&ing, &b.event_indices, 250_000, p)?;
    }
    let mut text = match a.format {
        cli::ReportFormat::Json => to_json(&b)?,
        cli::ReportFormat::Table => crate::blast::render_table(&b),
        cli::ReportFormat::Markdown => crate::blast::render_markdown(&b),
    };
    match (&b.reachable, a.format) {
        (Some(r), cli::ReportFormat::Table) => text.push_str(&crate::contain::render(r)),
        (Some(r), cli::ReportFormat::Markdown) => {
            text.push_str(&format!("\n```text\n{}```\n", crate::contain::render(r)))
        }
        _ => {}
    }
    stdout_write(&text)?;
    let code = finish_with(&ing, iam.as_ref());
    release(b);
    release(g);
    release(ing);
    Ok(code)
}

fn plan(a: cli::PlanArgs) -> Result<Exit> {
    let keys = check_keys(&a.seeds.keys, a.input.quiet)?;
    let effective_at = parse_time_arg("--effective-at", &a.effective_at)?;
    let mut outs: Vec<(&str, &std::path::Path)> = Vec::new();
    if let Some(p) = &a.output {
        outs.push(("-o", p));
    }
    if let Some(p) = &a.script {
        outs.push(("--script", p));
    }
    guard_outputs(&evidence_paths(&a.input, &a.iam), &outs)?;
    let iam = load_iam(&a.iam, &a.input)?;
    let (ing, g) = load_graph(&a.input, &keys, true, iam.as_ref())?;
    let seeds = seeds_of(&g, &keys, &a.seeds.principals)?;
    // The plan reads the tainted calls' resources, not the events in full (memory: SPEC §7).
    let (mut b, by_target) = blast_for_plan(&ing, &g, &seeds, false)?;
    crate::diag::mark("blast done");
    let opts = plan_options((a.strategy, effective_at), (&a.input, &a.seeds.principals));
    let mut p =
        plan_with_snapshot(&ing, &g, (&mut b, by_target), &opts, iam.as_ref(), a.contain_reachable);
    p.seed_principals = a.seeds.principals.iter().map(|s| s.trim().to_string()).collect();
    let windows = window_notes(&g, &a.input)?;
    let windowed = !windows.is_empty();
    p.notes.extend(windows);
    crate::diag::mark("plan done");
    let text = to_json(&p)?;
    match &a.output {
        Some(path) => crate::outfile::write(path, &text)
            .with_context(|| format!("writing {}", path.display()))?,
        None => stdout_write(&text)?,
    }
    if let Some(path) = &a.script {
        crate::outfile::write(path, crate::plan::render_script(&p))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if a.output.is_some() && a.format == cli::TableOrJson::Json {
        stdout_write(&to_json(&PlanSummary::of(&p))?)?;
    } else if !a.input.quiet && a.output.is_some() {
        let s = &p.summary;
        eprintln!(
            "trailhound: plan: {} actions{}, {} policies; {} tainted sessions: {} covered{}, {} expired, {} unrevocable; {} collateral; {} keys to deactivate{}",
            p.actions.len(), precautionary_text(&p), s.policies, s.tainted_sessions, s.covered_sessions, s.not_covered_text(),
            s.expired_sessions, s.unrevocable_sessions, s.collateral_sessions, s.keys_to_deactivate, root_keys_text(&p)
        );
        if !p.unseen_tail.is_empty() {
            eprintln!(
                "trailhound: {} tainted credential(s) were still valid where the evidence ends (unseen_tail in the plan): what they did after it is not in these logs, and a credential they minted since was issued after the cut-off, which no deny here cuts; re-run on logs through the cut-off and up to the time you apply the plan, before applying it",
                p.unseen_tail.len()
            );
        }
    }
    let mut code = finish_with(&ing, iam.as_ref());
    // Even with -q: a plan that leaves live tainted credentials alive must not look done.
    for m in p.summary.uncut_errors() {
        eprintln!("trailhound: error: {m}");
    }
    if p.summary.leaves_some_uncut() {
        code = Exit::Finding;
    }
    // Over a window the plan cannot show it cuts every tainted credential (verify and
    // investigate say NOT VERIFIED): it must not look done either.
    if windowed {
        eprintln!("trailhound: error: this plan was made over a window (--since, --until): what the logs outside it show is not in it; plan again without them before applying it");
        code = Exit::Finding;
    }
    release(b);
    release(g);
    release(ing);
    Ok(code)
}

fn verify(a: cli::VerifyArgs) -> Result<Exit> {
    let text = std::fs::read_to_string(&a.plan)
        .with_context(|| format!("reading {}", a.plan.display()))?;
    let p: crate::plan::Plan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a trailhound plan", a.plan.display()))?;
    let iam = load_iam(&a.iam, &a.input)?;
    // The plan's seeds, for the first pass to keep their calls: verify reads the tainted
    // calls in full (their persistence), and those are most of them.
    let seeds: Vec<SeedKey> = p.seeds.iter().map(|s| SeedKey::parse(s)).collect();
    let mut ing = load_with(&evidence_check::uncached(&a.input), false, true, &seeds)?;
    let mut g = crate::chain::SessionGraph::build_releasing(&mut ing)?;
    if let Some(i) = &iam {
        crate::contain::fill_role_arns(i, &mut g);
    }
    let mut v = crate::plan::verify::verify_with(&ing, &g, &p, iam.as_ref())?;
    let script = match &a.script {
        Some(s) => Some((
            s.display().to_string(),
            String::from_utf8_lossy(
                &std::fs::read(s).with_context(|| format!("reading {}", s.display()))?,
            )
            .into_owned(),
        )),
        None => None,
    };
    v.check_inputs(&p, script.as_ref().map(|(a, b)| (a.as_str(), b.as_str())), &a.keys);
    not_verified_in_window(&mut v, window_notes(&g, &a.input)?);
    match a.format {
        cli::TableOrJson::Json => stdout_write(&to_json(&v)?)?,
        cli::TableOrJson::Table if use_colour() => {
            stdout_raw(&colourize(&crate::plan::verify::render_table(&v)))?
        }
        cli::TableOrJson::Table => stdout_write(&crate::plan::verify::render_table(&v))?,
    }
    match v.verdict {
        "FAIL" => return Ok(Exit::Finding),
        "INCOMPLETE" => return Ok(Exit::Incomplete),
        _ => {}
    }
    let code = finish_with(&ing, iam.as_ref());
    release(g);
    release(v);
    release(ing);
    Ok(code)
}

/// `plan --format json` / the `plan` part of `investigate --format json`: what a responder
/// reads first.
#[derive(serde::Serialize)]
struct PlanSummary<'a> {
    effective_at: crate::time::Time,
    strategy: crate::plan::Strategy,
    actions: usize,
    actions_by_type: std::collections::BTreeMap<&'a str, usize>,
    /// `--contain-reachable`'s actions, which plan.sh runs after `actions` (not counted there).
    #[serde(skip_serializing_if = "is_zero_usize")]
    precautionary: usize,
    summary: &'a crate::plan::Summary,
    unrevocable: &'a [crate::plan::Unrevocable],
    attacker_users: usize,
    unseen_tail: usize,
    notes: &'a [String],
}

impl<'a> PlanSummary<'a> {
    fn of(p: &'a crate::plan::Plan) -> Self {
        let mut by = std::collections::BTreeMap::new();
        for a in &p.actions {
            *by.entry(a.kind.as_str()).or_default() += 1;
        }
        PlanSummary {
            effective_at: p.effective_at,
            strategy: p.strategy,
            actions: p.actions.len(),
            actions_by_type: by,
            precautionary: p.precautionary.len(),
            summary: &p.summary,
            unrevocable: &p.unrevocable,
            attacker_users: p.attacker_users.len(),
            unseen_tail: p.unseen_tail.len(),
            notes: &p.notes,
        }
    }
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

/// `", +N precautionary"` after an action count, or nothing.
fn precautionary_text(p: &crate::plan::Plan) -> String {
    match p.precautionary.len() {
        0 => String::new(),
        n => format!(" (+{n} precautionary)"),
    }
}

/// `", N root key(s) unrevocable …"` for the plan's one-line summaries, or nothing: its session
/// counts leave out a leaked root key, which no action here touches (a review found the line
/// silent on it once root's sessions had expired).
fn root_keys_text(p: &crate::plan::Plan) -> String {
    match p.unrevocable.iter().filter(|u| !u.credential.contains('@')).count() {
        0 => String::new(),
        n => format!(", {n} root key(s) unrevocable (still Active: delete as the root user, F11)"),
    }
}

/// The files of an `investigate` case folder (and [`evidence_check::INTEGRITY_FILE`]).
const CASE_FILES: &[&str] = &[
    "scan.json",
    "sessions.dot",
    "blast.json",
    "blast.md",
    "tainted-events.parquet",
    "plan.json",
    "plan.sh",
    "verify.json",
    "report.html",
];

fn investigate(a: cli::InvestigateArgs) -> Result<Exit> {
    let keys = check_keys(&a.seeds.keys, a.input.quiet)?;
    let effective_at = parse_time_arg("--effective-at", &a.effective_at)?;
    let case_files: Vec<std::path::PathBuf> = CASE_FILES.iter().map(|f| a.output.join(f)).collect();
    let integrity_file = a.output.join(evidence_check::INTEGRITY_FILE);
    let mut outs: Vec<(&str, &std::path::Path)> = vec![("-o", a.output.as_path())];
    outs.extend(case_files.iter().map(|p| ("-o", p.as_path())));
    outs.push(("-o", integrity_file.as_path()));
    guard_outputs(&evidence_paths(&a.input, &a.iam), &outs)?;
    let iam = load_iam(&a.iam, &a.input)?;
    let (ing, g) = load_graph(&a.input, &keys, true, iam.as_ref())?;
    let seeds = seeds_of(&g, &keys, &a.seeds.principals)?;
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    // The timeline reads a few fields of each tainted event, the findings the persistence
    // and failed calls in full; `tainted-events.parquet` is written a batch at a time, below.
    // Held in full, the events took the peak to 1.19 GB at 5 GB of trail (SPEC §7), and grew
    // with them: 1.75 GB for 300,000 `GetObject` calls signed by the leaked key.
    let (mut b, by_target) = blast_for_plan(&ing, &g, &seeds, true)?;
    crate::diag::mark("blast done");
    let opts = plan_options((a.strategy, effective_at), (&a.input, &a.seeds.principals));
    let mut p =
        plan_with_snapshot(&ing, &g, (&mut b, by_target), &opts, iam.as_ref(), a.contain_reachable);
    p.seed_principals = a.seeds.principals.iter().map(|s| s.trim().to_string()).collect();
    let windows = window_notes(&g, &a.input)?;
    p.notes.extend(windows.iter().cloned());
    crate::diag::mark("plan done");
    let mut v = crate::plan::verify::verify_with(&ing, &g, &p, iam.as_ref())?;
    not_verified_in_window(&mut v, windows);
    evidence_check::over_cache(&mut v, a.input.cache.is_some());
    // Before any file of the case is written: a check that cannot run leaves the folder as
    // it was, not part old and part new.
    let integrity = evidence_check::of_case(&ing, &a.input.inputs, a.input.max_file_size)?;
    let scan = crate::scan::scan_report(&ing);
    let b = crate::findings::with_findings(b, &g, Some(&p));
    // The seeds' lineage and every tainted credential beyond it, with the chain to it, as
    // `sessions --key` draws them: a session tainted through an attacker-made user (its
    // console sign-in) has no issuing edge from the seeds, and the case's graph left it out
    // while the report counted it (a review).
    let sel = crate::blast::with_tainted(&g, g.select(&seeds, &[]), &b.nodes);
    let out = |name: &str| a.output.join(name);
    let write = |name: &str, text: &str| -> Result<()> {
        crate::outfile::write(&out(name), text)
            .with_context(|| format!("writing {}", out(name).display()))
    };
    // The events first: they are read again, and a file changed since the first pass stops
    // the run before any other file of the case folder is written.
    write_tainted_events(
        &ing,
        &b.event_indices,
        CASE_EVENTS_BATCH,
        &out("tainted-events.parquet"),
    )?;
    crate::diag::mark("case: events written");
    write("scan.json", &to_json(&scan)?)?;
    write("sessions.dot", &crate::chain::render::dot(&g, &sel))?;
    write("blast.json", &to_json(&b)?)?;
    write("blast.md", &crate::blast::render_markdown(&b))?;
    write("plan.json", &to_json(&p)?)?;
    write("plan.sh", &crate::plan::render_script(&p))?;
    write("verify.json", &to_json(&v)?)?;
    let failed = integrity.as_ref().is_some_and(evidence_check::failed);
    let integrity_line = evidence_check::case_line(integrity.as_ref());
    evidence_check::keep_in_case(integrity.as_ref(), &integrity_file)?;
    let html = crate::report::html::render_with_findings(
        &crate::report::html::ReportData {
            scan: &scan,
            graph: g.to_json(&sel),
            blast: &b,
            plan: &p,
            verify: &v,
            integrity: (&integrity_line, failed),
        },
        &b.findings,
    );
    write("report.html", &html)?;
    crate::diag::mark("case: report.html written");
    if a.format == cli::TableOrJson::Json {
        let summary = serde_json::json!({
            "case_folder": a.output.display().to_string(),
            "files": CASE_FILES.iter().copied().chain(integrity.is_some().then_some(evidence_check::INTEGRITY_FILE)).collect::<Vec<_>>(),
            "tainted_credentials": b.credentials.len(),
            "tainted_events": b.events,
            "first_event": b.first_event,
            "last_event": b.last_event,
            "findings": b.findings,
            "plan": PlanSummary::of(&p),
            "integrity": integrity.as_ref().map(|r| r.status),
            "verify": {
                "ok": v.ok,
                "verdict": v.verdict,
                "covered": v.covered.len(),
                "not_covered": v.not_covered.len(),
                "unrevocable": v.unrevocable.len(),
                "keys_left_active": v.keys_left_active.len(),
                "command_problems": v.command_problems.len(),
            },
        });
        stdout_write(&to_json(&summary)?)?;
    } else if !a.input.quiet {
        let top: Vec<&crate::findings::Finding> =
            b.findings.iter().filter(|f| !f.failed).take(8).collect();
        if !top.is_empty() {
            eprintln!("trailhound: key findings (all in report.html and blast.md):");
            for f in top {
                eprintln!(
                    "  {:<8} {}",
                    f.severity.as_str().to_uppercase(),
                    crate::escape::one_line(&f.title)
                );
            }
        }
        let s = &p.summary;
        eprintln!(
            "trailhound: case folder {}:\n  {} tainted credentials, {} tainted events, {} .. {}\n  plan: {} actions{} ({} policies, {} keys to deactivate{}); {} tainted sessions: {} covered{}, {} expired, {} unrevocable; {} collateral\n  verify: {}\n  {}\n  files: scan.json sessions.dot blast.json blast.md tainted-events.parquet plan.json plan.sh verify.json report.html",
            a.output.display(),
            b.credentials.len(),
            b.events,
            crate::time::fmt_or(b.first_event, "-"),
            crate::time::fmt_or(b.last_event, "-"),
            p.actions.len(),
            precautionary_text(&p),
            s.policies,
            s.keys_to_deactivate,
            root_keys_text(&p),
            s.tainted_sessions,
            s.covered_sessions,
            s.not_covered_text(),
            s.expired_sessions,
            s.unrevocable_sessions,
            s.collateral_sessions,
            evidence_check::cached_line(&v, integrity.as_ref(), a.input.cache.is_some()),
            integrity_line
        );
    }
    let code = match v.verdict {
        "FAIL" => Exit::Finding,
        _ if failed => Exit::Finding,
        "INCOMPLETE" => Exit::Incomplete,
        _ => finish_with(&ing, iam.as_ref()),
    };
    release(g);
    release(b);
    release(ing);
    Ok(code)
}

/// The rows of each batch of `investigate`'s `tainted-events.parquet` (a row group each): the
/// events of a batch in full and its frame take about 6 KB a row (25 MB), beside the session
/// graph and the event table. (Batches of 300,000 rows wrote 300,000 events no faster.)
const CASE_EVENTS_BATCH: usize = 4096;

/// Writes the events at `indices` (into the event table, in time order) to `path`, `batch`
/// at a time: memory bounded by the batch.
fn write_events_in_batches(
    ing: &Ingest,
    indices: &[usize],
    batch: usize,
    path: &std::path::Path,
) -> Result<()> {
    let mut w = crate::export::TableWriter::create(path)?;
    for part in indices.chunks(batch) {
        let evs = ing.load_events(part)?;
        w.write(&evs.iter().collect::<Vec<_>>(), &ing.files)?;
    }
    w.finish()
}

/// Writes the tainted events to `path`, in time order, a batch at a time; on failure (a file
/// changed since the first pass) no part of it is left behind.
fn write_tainted_events(
    ing: &Ingest,
    indices: &[usize],
    batch: usize,
    path: &std::path::Path,
) -> Result<()> {
    write_events_in_batches(ing, indices, batch, path).inspect_err(|_| {
        let _ = std::fs::remove_file(path);
    })
}

/// Parses sizes like `1GB`, `500MB`, `64KiB`, `1000000`.
fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().with_context(|| format!("bad size {s:?}"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1048576.0,
        "g" | "gb" => 1e9,
        "gib" => 1073741824.0,
        u => bail!("bad size unit {u:?} in {s:?} (use B, KB, MB, GB, KiB, MiB, GiB)"),
    };
    Ok((n * mult) as u64)
}

fn generate(a: cli::GenerateArgs) -> Result<Exit> {
    let mut o = crate::gen::GenOptions {
        seed: a.seed,
        out_dir: a.output.clone(),
        hours: a.hours,
        incident: !a.no_incident,
        duplicates: a.duplicates,
        ..Default::default()
    };
    if let Some(s) = &a.size {
        o.target_bytes = Some(parse_size(s)?);
    }
    if let Some(dir) = &a.iam_out {
        let inside = |d: &std::path::Path| {
            let abs =
                |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            abs(d).starts_with(abs(&a.output))
        };
        if inside(dir) {
            bail!("--iam-out {} is inside --output: the trail's readers would take the snapshot for log files", dir.display());
        }
    }
    let report =
        crate::gen::generate(&o).with_context(|| format!("writing {}", a.output.display()))?;
    if let (Some(path), Some(truth)) = (&a.truth, &report.truth) {
        crate::gen::write_truth(path, truth)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(dir) = &a.iam_out {
        let truth = crate::gen::write_iam_snapshot(a.seed, dir)
            .with_context(|| format!("writing {}", dir.display()))?;
        if let Some(path) = &a.iam_truth {
            let text = serde_json::to_string_pretty(&truth)? + "\n";
            crate::outfile::write(path, text)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        eprintln!("trailhound: wrote the IAM snapshot under {}", dir.display());
    }
    eprintln!(
        "trailhound: wrote {} files, {} records ({} unique), {} bytes uncompressed, {} compressed, under {}",
        report.files,
        report.records,
        report.unique_events,
        report.uncompressed_bytes,
        report.compressed_bytes,
        a.output.display()
    );
    if let Some(t) = &report.truth {
        eprintln!(
            "trailhound: the leaked key is {} ({}), used by the attacker from {} to {}; try:\n  trailhound investigate {} --key {} --effective-at {} -o case",
            t.leaked_key,
            t.leaked_user_arn,
            t.incident_start,
            t.incident_end,
            a.output.display(),
            t.leaked_key,
            t.incident_end
        );
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// A file that lost records between the first pass and the re-read stops the case folder's
    /// events part way (here after the batches of the first account's file were written): the
    /// error names the file, and no partial `tainted-events.parquet` is left to be taken for
    /// the whole.
    #[test]
    fn a_file_changed_since_the_first_pass_leaves_no_partial_tainted_events_file() {
        use crate::gen::scenario::Scenario;
        const T0: i64 = 1_710_151_200;
        let mut s = Scenario::new();
        let leaked = s.user_key("111122223333", "ci-deployer", "AKIAIOSFODNN7EXAMPLE");
        for i in 0..4 {
            s.call(
                &leaked,
                T0 + i * 60,
                "s3.amazonaws.com",
                "ListBuckets",
                serde_json::Value::Null,
            );
        }
        let role = "arn:aws:iam::444455556666:role/Audit";
        let audit = s.assume_role(&leaked, T0 + 600, role, "x", 3600);
        for i in 0..4 {
            s.call(
                &audit,
                T0 + 700 + i * 60,
                "s3.amazonaws.com",
                "ListBuckets",
                serde_json::Value::Null,
            );
        }
        // Unchanged files: written whole. (A run serves again from memory what it read
        // again once, so the change below is made in a run that has not read yet.)
        let (control, read, _) = s.ingested(&[]);
        let all: Vec<usize> = (0..read.stubs.len()).collect();
        let out = control.path().join("tainted-events.parquet");
        write_tainted_events(&read, &all, 1, &out).unwrap();
        assert!(std::fs::metadata(&out).unwrap().len() > 0, "unchanged files: written whole");
        let (dir, ing, _) = s.ingested(&[]);
        let out = dir.path().join("tainted-events.parquet");

        let second = ing
            .files
            .iter()
            .find(|f| f.contains("444455556666_CloudTrail"))
            .map(std::path::PathBuf::from)
            .expect("the second account's file");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, br#"{"Records":[]}"#).unwrap();
        std::fs::write(&second, gz.finish().unwrap()).unwrap();
        let err = write_tainted_events(&ing, &all, 1, &out).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("444455556666_CloudTrail") && msg.contains("did the file change"),
            "{msg}"
        );
        assert!(!out.exists(), "a partial tainted-events.parquet was left behind");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GB").unwrap(), 1_000_000_000);
        assert_eq!(parse_size("64KiB").unwrap(), 65536);
        assert_eq!(parse_size("1.5 MB").unwrap(), 1_500_000);
        assert!(parse_size("12 parsecs").is_err());
    }
}

//! Orchestration: one function per subcommand, turning validated arguments into stage calls
//! and stage results into output. The only place that writes to stdout.

use crate::cli::{self, Cli, Command, InputArgs};
use crate::ingest::{self, Ingest, IngestOptions};
use crate::time::parse_iso;
use anyhow::{bail, Context, Result};
use std::io::Write;

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
pub fn run(cli: Cli) -> Result<Exit> {
    crate::diag::mark("start");
    match cli.command {
        Command::Scan(a) => scan(a),
        Command::Export(a) => export(a),
        Command::Generate(a) => generate(a),
        Command::Investigate(a) => investigate(a),
        Command::Integrity(a) => integrity(a),
        Command::Sessions(a) => sessions(a),
        Command::Blast(a) => blast(a),
        Command::Plan(a) => plan(a),
        Command::Verify(a) => verify(a),
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
/// those that record the evidence hash (plan, investigate, verify).
fn load_with(a: &InputArgs, inventory_only: bool, fingerprint: bool) -> Result<Ingest> {
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
    let opts = IngestOptions {
        inputs: a.inputs.clone(),
        since,
        until,
        max_file_bytes: a.max_file_size,
        inventory_only,
        fingerprint,
        progress: !a.no_progress && !a.quiet,
    };
    let ing = ingest::ingest(&opts).context("reading standard input")?;
    if a.strict {
        if let Some(p) = ing.problems.iter().find(|p| p.severity != ingest::Severity::Skipped) {
            bail!("--strict: unreadable input: {p}");
        }
    }
    crate::diag::report_problems(&ing, a.quiet);
    Ok(ing)
}

/// Hands the large in-memory structures to the OS at exit instead of freeing them piece by
/// piece (hundreds of thousands of allocations on a big trail; the process ends right after).
fn release<T>(v: T) {
    std::mem::forget(v);
}

fn finish(ing: &Ingest) -> Exit {
    if ing.incomplete() {
        Exit::Incomplete
    } else {
        Exit::Ok
    }
}

fn stdout_write(text: &str) -> Result<()> {
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    w.write_all(text.as_bytes())?;
    w.flush()?;
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}

fn scan(a: cli::ScanArgs) -> Result<Exit> {
    let ing = load_with(&a.input, true, false)?;
    let report = crate::scan::scan_report(&ing);
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
    let ing = load_with(&a.input, true, false)?;
    let all: Vec<usize> = (0..ing.stubs.len()).collect();
    let mut writers: std::collections::BTreeMap<
        (String, String, String),
        crate::export::TableWriter,
    > = Default::default();
    let mut single =
        if a.partition { None } else { Some(crate::export::TableWriter::create(&a.output)?) };
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
                        std::fs::create_dir_all(&dir)
                            .with_context(|| format!("creating {}", dir.display()))?;
                        writers.insert(
                            p.clone(),
                            crate::export::TableWriter::create(&dir.join("events.parquet"))?,
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

/// Checks `--key` values: AKIA (long-term) or ASIA (temporary) ids (SPEC §2). Other shapes
/// are accepted with a warning, because anonymised datasets break the alphabet.
fn check_keys(keys: &[String], quiet: bool) -> Result<()> {
    for k in keys {
        if k.trim().is_empty() {
            bail!("--key: empty access key id");
        }
        if !(quiet || k.starts_with("AKIA") || k.starts_with("ASIA")) {
            eprintln!("trailhound: warning: --key {k}: not an AKIA… or ASIA… access key id");
        }
    }
    Ok(())
}

/// Warns about seed keys that the trail never mentions (a typo, or the wrong trail).
/// Ingest, then the session graph, warning about `--key` values the trail never mentions.
fn load_graph(
    input: &InputArgs,
    keys: &[String],
    fingerprint: bool,
) -> Result<(Ingest, crate::chain::SessionGraph)> {
    let mut ing = load_with(input, false, fingerprint)?;
    crate::diag::mark("ingest done");
    let g = crate::chain::SessionGraph::build_releasing(&mut ing);
    crate::diag::mark("session graph built");
    warn_unknown_keys(&g, keys, input.quiet);
    Ok((ing, g))
}

/// The planner's options from the command line (shared by `plan` and `investigate`).
fn plan_options(
    strategy: cli::Strategy,
    effective_at: Option<i64>,
    input: &InputArgs,
) -> crate::plan::PlanOptions {
    crate::plan::PlanOptions {
        strategy: match strategy {
            cli::Strategy::Strict => crate::plan::Strategy::Strict,
            cli::Strategy::Surgical => crate::plan::Strategy::Surgical,
        },
        effective_at,
        now: crate::time::now(),
        input_paths: input.inputs.iter().map(|p| p.display().to_string()).collect(),
    }
}

fn warn_unknown_keys(g: &crate::chain::SessionGraph, keys: &[String], quiet: bool) {
    for k in keys {
        if !quiet && g.nodes_for_key(k).is_empty() {
            eprintln!("trailhound: warning: access key {k} does not appear in the trail");
        }
    }
}

fn sessions(a: cli::SessionsArgs) -> Result<Exit> {
    check_keys(&a.keys, a.input.quiet)?;
    let (ing, g) = load_graph(&a.input, &a.keys, false)?;
    let sel = g.select(&a.keys, &a.principals);
    let text = match a.format {
        cli::GraphFormat::Json => to_json(&g.to_json(&sel))?,
        cli::GraphFormat::Tree => crate::chain::render::tree(&g, &sel, a.collapse),
        cli::GraphFormat::Dot => crate::chain::render::dot(&g, &sel),
        cli::GraphFormat::Mermaid => crate::chain::render::mermaid(&g, &sel),
    };
    stdout_write(&text)?;
    let code = finish(&ing);
    release(g);
    release(ing);
    Ok(code)
}

fn blast(a: cli::BlastArgs) -> Result<Exit> {
    check_keys(&a.keys, a.input.quiet)?;
    if let Some(p) = &a.events_out {
        crate::export::TableFormat::from_path(p)?;
    }
    let (ing, g) = load_graph(&a.input, &a.keys, false)?;
    let b = crate::blast::blast(&ing, &g, &a.keys, true)?;
    crate::diag::mark("blast done");
    if let Some(p) = &a.events_out {
        let evs: Vec<&crate::model::Event> = b.tainted_events.iter().collect();
        crate::export::write_events(p, &evs, &ing.files)?;
    }
    let text = match a.format {
        cli::ReportFormat::Json => to_json(&b)?,
        cli::ReportFormat::Table => crate::blast::render_table(&b),
        cli::ReportFormat::Markdown => crate::blast::render_markdown(&b),
    };
    stdout_write(&text)?;
    let code = finish(&ing);
    release(b);
    release(g);
    release(ing);
    Ok(code)
}

fn plan(a: cli::PlanArgs) -> Result<Exit> {
    check_keys(&a.keys, a.input.quiet)?;
    let effective_at = parse_time_arg("--effective-at", &a.effective_at)?;
    let (ing, g) = load_graph(&a.input, &a.keys, true)?;
    let b = crate::blast::blast(&ing, &g, &a.keys, true)?;
    crate::diag::mark("blast done");
    let opts = plan_options(a.strategy, effective_at, &a.input);
    let p = crate::plan::build_plan(&ing, &g, &b, &opts);
    crate::diag::mark("plan done");
    let text = to_json(&p)?;
    match &a.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?
        }
        None => stdout_write(&text)?,
    }
    if let Some(path) = &a.script {
        std::fs::write(path, crate::plan::render_script(&p))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !a.input.quiet && a.output.is_some() {
        let s = &p.summary;
        eprintln!(
            "trailhound: plan: {} actions, {} policies; {} tainted sessions: {} covered, {} expired, {} unrevocable; {} collateral; {} keys to deactivate",
            p.actions.len(), s.policies, s.tainted_sessions, s.covered_sessions, s.expired_sessions,
            s.unrevocable_sessions, s.collateral_sessions, s.keys_to_deactivate
        );
    }
    let code = finish(&ing);
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
    let mut ing = load_with(&a.input, false, true)?;
    let g = crate::chain::SessionGraph::build_releasing(&mut ing);
    let v = crate::plan::verify::verify(&ing, &g, &p)?;
    match a.format {
        cli::TableOrJson::Json => stdout_write(&to_json(&v)?)?,
        cli::TableOrJson::Table => stdout_write(&crate::plan::verify::render_table(&v))?,
    }
    if !v.ok {
        return Ok(Exit::Finding);
    }
    let code = finish(&ing);
    release(g);
    release(v);
    release(ing);
    Ok(code)
}

fn integrity(a: cli::IntegrityArgs) -> Result<Exit> {
    let opts = crate::integrity::IntegrityOptions {
        inputs: a.inputs.clone(),
        public_keys: a.public_keys.clone(),
    };
    let report = crate::integrity::validate(&opts)?;
    match a.format {
        cli::TableOrJson::Json => stdout_write(&to_json(&report)?)?,
        cli::TableOrJson::Table => stdout_write(&crate::integrity::render_table(&report))?,
    }
    // 0: everything verified, signatures included; 1: something failed (with
    // `--public-keys`, a signature that cannot be checked fails too); 3: nothing failed but
    // no signature was checked (no `--public-keys`), so the digests are not shown to be AWS's.
    Ok(match report.verdict() {
        crate::integrity::Verdict::Ok => Exit::Ok,
        crate::integrity::Verdict::Unverified => Exit::Incomplete,
        crate::integrity::Verdict::Failed => Exit::Finding,
    })
}

fn investigate(a: cli::InvestigateArgs) -> Result<Exit> {
    check_keys(&a.keys, a.input.quiet)?;
    let effective_at = parse_time_arg("--effective-at", &a.effective_at)?;
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let (ing, g) = load_graph(&a.input, &a.keys, true)?;
    let b = crate::blast::blast(&ing, &g, &a.keys, true)?;
    crate::diag::mark("blast done");
    let opts = plan_options(a.strategy, effective_at, &a.input);
    let p = crate::plan::build_plan(&ing, &g, &b, &opts);
    crate::diag::mark("plan done");
    let v = crate::plan::verify::verify(&ing, &g, &p)?;
    let scan = crate::scan::scan_report(&ing);
    let sel = g.select(&a.keys, &[]);
    let out = |name: &str| a.output.join(name);
    let write = |name: &str, text: &str| -> Result<()> {
        std::fs::write(out(name), text).with_context(|| format!("writing {}", out(name).display()))
    };
    write("scan.json", &to_json(&scan)?)?;
    write("sessions.dot", &crate::chain::render::dot(&g, &sel))?;
    write("blast.json", &to_json(&b)?)?;
    write("blast.md", &crate::blast::render_markdown(&b))?;
    let evs: Vec<&crate::model::Event> = b.tainted_events.iter().collect();
    crate::export::write_events(&out("tainted-events.parquet"), &evs, &ing.files)?;
    write("plan.json", &to_json(&p)?)?;
    write("plan.sh", &crate::plan::render_script(&p))?;
    write("verify.json", &to_json(&v)?)?;
    let html = crate::report::html::render(&crate::report::html::ReportData {
        scan: &scan,
        graph: g.to_json(&sel),
        blast: &b,
        plan: &p,
        verify: &v,
    });
    write("report.html", &html)?;
    if !a.input.quiet {
        let s = &p.summary;
        eprintln!(
            "trailhound: case folder {}:\n  {} tainted credentials, {} tainted events, {} .. {}\n  plan: {} actions ({} policies, {} keys to deactivate); {} tainted sessions: {} covered, {} expired, {} unrevocable; {} collateral\n  verify: {}\n  files: scan.json sessions.dot blast.json blast.md tainted-events.parquet plan.json plan.sh verify.json report.html",
            a.output.display(),
            b.credentials.len(),
            b.events,
            b.first_event.as_deref().unwrap_or("-"),
            b.last_event.as_deref().unwrap_or("-"),
            p.actions.len(),
            s.policies,
            s.keys_to_deactivate,
            s.tainted_sessions,
            s.covered_sessions,
            s.expired_sessions,
            s.unrevocable_sessions,
            s.collateral_sessions,
            if v.ok { "OK: every live tainted credential is cut" } else { "FAIL: see verify.json" }
        );
    }
    let code = if v.ok { finish(&ing) } else { Exit::Finding };
    release(g);
    release(b);
    release(ing);
    Ok(code)
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
    let report =
        crate::gen::generate(&o).with_context(|| format!("writing {}", a.output.display()))?;
    if let (Some(path), Some(truth)) = (&a.truth, &report.truth) {
        crate::gen::write_truth(path, truth)
            .with_context(|| format!("writing {}", path.display()))?;
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

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GB").unwrap(), 1_000_000_000);
        assert_eq!(parse_size("64KiB").unwrap(), 65536);
        assert_eq!(parse_size("1.5 MB").unwrap(), 1_500_000);
        assert!(parse_size("12 parsecs").is_err());
    }
}

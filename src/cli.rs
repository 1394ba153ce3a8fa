//! The command line: clap derive structs only (raw arguments, no I/O).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  trailhound scan ./AWSLogs
  trailhound sessions ./AWSLogs -k AKIAIOSFODNN7EXAMPLE
  trailhound blast ./AWSLogs -k AKIAIOSFODNN7EXAMPLE --events-out tainted.parquet
  trailhound plan ./AWSLogs -k AKIAIOSFODNN7EXAMPLE -o plan.json --script plan.sh
  trailhound verify ./AWSLogs --plan plan.json
  trailhound investigate ./AWSLogs -k AKIAIOSFODNN7EXAMPLE -o case/
  trailhound export ./AWSLogs -o events.parquet
  trailhound query --engine athena --since 2024-03-10T00:00:00Z > phase1.sql

Exit codes: 0 done; 1 negative finding (verify: a live tainted credential is not cut, or a
command does not do what its action says); 2 usage or fatal error (also: a --key or
--principal that matches nothing, nothing readable, an output inside the evidence); 3 done,
but some input could not be read (integrity: signatures not checked).
F-numbers and SPEC sections cited in the output: docs/revocation-facts.md, docs/spec.md.";

/// Offline CloudTrail forensics for a leaked AWS access key: session chains, blast radius
/// and a revocation plan. Never calls AWS.
#[derive(Debug, Parser)]
#[command(name = "trailhound", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inventory and ingest health: files, records, duplicates, accounts, regions, keys, problems.
    Scan(ScanArgs),
    /// The credential lineage: every session each key led to.
    Sessions(SessionsArgs),
    /// The blast radius of leaked keys: what their credentials did.
    Blast(BlastArgs),
    /// The revocation plan: deny policies and key deactivations, with AWS CLI commands.
    Plan(PlanArgs),
    /// Evaluate a plan offline against every session in the trail.
    Verify(VerifyArgs),
    /// Every unique event as a table (.parquet, .csv, .jsonl).
    Export(ExportArgs),
    /// The one-shot case folder: every report, the plan, its proof and report.html.
    Investigate(InvestigateArgs),
    /// Validate CloudTrail digest files offline: hashes, chain, coverage, signatures.
    Integrity(IntegrityArgs),
    /// Write a deterministic synthetic trail (for tests, demos and benchmarks).
    Generate(GenerateArgs),
    /// Print the SQL of the two-phase round trip for an engine that holds the trail.
    Query(QueryArgs),
}

/// Options shared by every command that reads a trail.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Trail files or directories (walked recursively), or `-` for standard input.
    #[arg(required = true, value_name = "INPUT", help_heading = "Input")]
    pub inputs: Vec<PathBuf>,
    /// Only events at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME", help_heading = "Input")]
    pub since: Option<String>,
    /// Only events at or before this time (RFC 3339).
    #[arg(long, value_name = "TIME", help_heading = "Input")]
    pub until: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", help_heading = "Input")]
    pub threads: Option<usize>,
    /// Make the first unreadable input (file or record) fatal.
    #[arg(long, help_heading = "Input")]
    pub strict: bool,
    /// Cap on one file's decompressed size in bytes (gzip-bomb guard).
    #[arg(long, value_name = "BYTES", default_value_t = crate::ingest::DEFAULT_MAX_FILE_BYTES, help_heading = "Input")]
    pub max_file_size: u64,
    /// Keep what was read of each file in DIR, and take unchanged files from it on the next
    /// run instead of reading them again (never inside an input directory).
    #[arg(long, value_name = "DIR", help_heading = "Input")]
    pub cache: Option<PathBuf>,
    /// Never draw a progress bar.
    #[arg(long, help_heading = "Output")]
    pub no_progress: bool,
    /// Print nothing on stderr but fatal errors.
    #[arg(long, short, help_heading = "Output")]
    pub quiet: bool,
}

/// The IAM snapshot of `sessions`, `blast`, `plan`, `verify` and `investigate`.
#[derive(Debug, Args, Clone, Default)]
pub struct IamArgs {
    /// An IAM snapshot file: `aws iam get-account-authorization-details` output (one per
    /// account), or `list-access-keys`, `get-login-profile`, `list-mfa-devices` output or a
    /// credential report; a directory takes every file in it. Repeatable. Shows what the
    /// tainted credentials still alive could reach.
    #[arg(long = "iam", value_name = "FILE", help_heading = "Input")]
    pub iam: Vec<PathBuf>,
}

/// The seeds of `blast`, `plan` and `investigate`: at least one `--key` or `--principal`.
#[derive(Debug, Args, Clone)]
pub struct SeedArgs {
    /// The leaked access key (AKIA… or ASIA…, or KEY@ISSUE_TIME for one session of a reused
    /// id); repeatable.
    #[arg(
        long = "key",
        short = 'k',
        value_name = "ID",
        required_unless_present = "principals",
        help_heading = "Selection"
    )]
    pub keys: Vec<String>,
    /// Every credential of this principal (user, role or session ARN) is a seed; repeatable.
    #[arg(long = "principal", value_name = "ARN", help_heading = "Selection")]
    pub principals: Vec<String>,
}

/// `scan` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableOrJson {
    Table,
    Json,
}

/// `trailhound scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table, help_heading = "Output")]
    pub format: TableOrJson,
}

/// `sessions` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Tree,
    Json,
    Dot,
    Mermaid,
}

/// `trailhound sessions`.
#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// Show only the lineage of this access key (AKIA… or ASIA…, or KEY@ISSUE_TIME); repeatable.
    #[arg(long = "key", short = 'k', value_name = "ID", help_heading = "Selection")]
    pub keys: Vec<String>,
    /// Show only the lineage of credentials of this principal ARN; repeatable.
    #[arg(long = "principal", value_name = "ARN", help_heading = "Selection")]
    pub principals: Vec<String>,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub iam: IamArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Tree, help_heading = "Output")]
    pub format: GraphFormat,
    /// In the tree, show at most this many sibling sessions of one principal before collapsing.
    #[arg(long, default_value_t = 8, help_heading = "Output")]
    pub collapse: usize,
}

/// `blast` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Markdown,
}

/// `trailhound blast`.
#[derive(Debug, Args)]
pub struct BlastArgs {
    #[command(flatten)]
    pub seeds: SeedArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub iam: IamArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table, help_heading = "Output")]
    pub format: ReportFormat,
    /// Also write every tainted event to this file (.parquet, .csv or .jsonl).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub events_out: Option<PathBuf>,
}

/// Plan strategies (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Strategy {
    /// Deny every session of the principal issued before the cut-off.
    Strict,
    /// Deny only the tainted sessions (aws:userid), where IAM can tell them apart.
    Surgical,
}

/// `trailhound plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub seeds: SeedArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub iam: IamArgs,
    /// strict (default) or surgical.
    #[arg(long, value_enum, default_value_t = Strategy::Strict, help_heading = "Plan")]
    pub strategy: Strategy,
    /// Also deny the roles the unseen tail could reach but the evidence does not show in use,
    /// and list the users and accounts to review (precautionary actions, kept apart; needs
    /// --iam).
    #[arg(long, requires = "iam", help_heading = "Plan")]
    pub contain_reachable: bool,
    /// Cut-off time (RFC 3339); default: the later of now and one second after the newest
    /// tainted issue time.
    #[arg(long, value_name = "TIME", help_heading = "Plan")]
    pub effective_at: Option<String>,
    /// Write the plan here instead of standard output.
    #[arg(long, short, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Also write the AWS CLI commands as a reviewable shell script.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub script: Option<PathBuf>,
    /// With -o: how to print the summary on stdout (table on stderr by default, or json).
    #[arg(long, value_enum, default_value_t = TableOrJson::Table, help_heading = "Output")]
    pub format: TableOrJson,
}

/// `trailhound verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The plan file written by `trailhound plan`.
    #[arg(long, value_name = "FILE", help_heading = "Selection")]
    pub plan: PathBuf,
    /// The plan.sh you will run: verify fails unless it is this plan's script byte for byte.
    #[arg(long, value_name = "FILE", help_heading = "Selection")]
    pub script: Option<PathBuf>,
    /// The leaked key(s) (or principals) you mean: verify fails unless they are the plan's
    /// seeds; repeatable.
    #[arg(long = "key", short = 'k', value_name = "ID", help_heading = "Selection")]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub iam: IamArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table, help_heading = "Output")]
    pub format: TableOrJson,
}

/// `trailhound export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output file; the extension picks the format (.parquet, .csv, .jsonl). With
    /// `--partition`, a directory.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// Write Parquet partitioned by account, region and day
    /// (`DIR/account=…/region=…/day=…/events.parquet`), for Athena, Spark or DuckDB.
    #[arg(long)]
    pub partition: bool,
}

/// `trailhound generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write the trail into (an `AWSLogs/` tree is created inside).
    #[arg(long, short, value_name = "DIR")]
    pub output: PathBuf,
    /// PRNG seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Approximate uncompressed size, e.g. `1GB`, `500MB` (default: a small trail).
    #[arg(long, value_name = "SIZE")]
    pub size: Option<String>,
    /// Hours of background traffic (ignored with --size).
    #[arg(long, default_value_t = 6)]
    pub hours: u32,
    /// Do not inject the leaked-key incident.
    #[arg(long)]
    pub no_incident: bool,
    /// Also deliver some events twice (same eventID), as duplicate delivery and org trails do.
    #[arg(long)]
    pub duplicates: bool,
    /// Write the incident's known answer (tainted keys, events) to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Also write the world's IAM snapshot (`get-account-authorization-details` per account,
    /// `list-access-keys` per user) into this directory. It must be outside `--output`: the
    /// trail's readers would take its JSON files for log files.
    #[arg(long, value_name = "DIR")]
    pub iam_out: Option<PathBuf>,
    /// Write the IAM snapshot's known answer (the leaked user's reach) to this JSON file.
    #[arg(long, value_name = "FILE", requires = "iam_out")]
    pub iam_truth: Option<PathBuf>,
}

/// `trailhound investigate`.
#[derive(Debug, Args)]
pub struct InvestigateArgs {
    #[command(flatten)]
    pub seeds: SeedArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub iam: IamArgs,
    /// strict (default) or surgical.
    #[arg(long, value_enum, default_value_t = Strategy::Strict, help_heading = "Plan")]
    pub strategy: Strategy,
    /// Also deny the roles the unseen tail could reach but the evidence does not show in use,
    /// and list the users and accounts to review (precautionary actions, kept apart; needs
    /// --iam).
    #[arg(long, requires = "iam", help_heading = "Plan")]
    pub contain_reachable: bool,
    /// Cut-off time (RFC 3339); see `plan --effective-at`.
    #[arg(long, value_name = "TIME", help_heading = "Plan")]
    pub effective_at: Option<String>,
    /// The case folder to write (created if missing; never inside an input directory).
    #[arg(long, short, value_name = "DIR", help_heading = "Output")]
    pub output: PathBuf,
    /// The summary on stderr as text (default), or on stdout as JSON.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table, help_heading = "Output")]
    pub format: TableOrJson,
}

/// `trailhound integrity`.
// Exit status: 0 every check passed and every digest signature verified (needs
// `--public-keys`); 1 something failed: a listed log file missing or modified, a chain break,
// a moved or unreadable digest, a log file added inside a digested hour, no digest at all,
// or, with `--public-keys`, a signature that does not verify or cannot be checked (no
// `.metadata.json` and no successor recording it, an empty signature, another algorithm, an
// unknown fingerprint, a key not valid at the digest's time), an unreadable folder, or a
// link into or out of a folder the other commands skip; 3 nothing failed, but something is
// not proven (status "unverified"): no `--public-keys` (the files agree with the digests, but
// nothing shows AWS wrote them), a file read as evidence that no digest lists or that could
// not be read, or a chain that ends hours early or restarts after a gap. Lists of missing,
// mismatched and uncovered files name the first 100; the `*_total` fields count them all.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 verified (signatures included); 1 something failed \
(with --public-keys: any signature that does not verify or cannot be checked); 3 nothing failed \
but something is not proven: signatures not checked (no --public-keys), a file the other commands \
read that no digest lists or that could not be read, or a chain that ends hours early or restarts \
after a gap. Bounded lists name the first 100 entries.")]
pub struct IntegrityArgs {
    /// Trail directories (log files and `CloudTrail-Digest/` files), walked recursively.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
    pub format: TableOrJson,
    /// Directory with the CloudTrail public keys: the JSON output of `aws cloudtrail
    /// list-public-keys` (validity windows enforced) or `<fingerprint>.pem|.der|.b64` files.
    /// Every digest signature must then verify: one that cannot be checked fails (exit 1).
    /// Without it no signature is checked and the status is "unverified" (exit 3).
    #[arg(long, value_name = "DIR")]
    pub public_keys: Option<PathBuf>,
    /// Cap on one file's decompressed size in bytes, as for the other commands: a file they
    /// would read that is larger (or unreadable) is not proven, so the status is not ok.
    #[arg(long, value_name = "BYTES", default_value_t = crate::ingest::DEFAULT_MAX_FILE_BYTES)]
    pub max_file_size: u64,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Print nothing on stderr but fatal errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The engines of `trailhound query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryEngine {
    /// Amazon Athena (Trino SQL) over the documented CloudTrail table.
    Athena,
    /// DuckDB over local CloudTrail files (a view with the Athena table's schema).
    Duckdb,
    /// Spark SQL over CloudTrail files (the same view; --files is a directory).
    Spark,
    /// CloudTrail Lake (--table is the event data store id; selects each event's eventjson).
    Lake,
}

/// `trailhound query`.
#[derive(Debug, Args)]
#[command(after_help = "Phase 1 selects the credential-issuing calls; run it, save the result \
(CSV or JSON Lines), then phase 2 (--phase 2 --from RESULT -k KEY) selects the tainted \
credentials' events. Give both results to sessions, blast, plan, verify or investigate.")]
pub struct QueryArgs {
    /// The engine that holds the trail.
    #[arg(long, value_enum)]
    pub engine: QueryEngine,
    /// 1: the issuing calls; 2: the tainted credentials' events (needs --from and a seed);
    /// 3 (optional): each account's first and last events, for the evidence window.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub phase: u8,
    /// Only events at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events at or before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The table to query (Athena), the view to create (DuckDB, Spark) or the event data
    /// store id (Lake).
    #[arg(long, value_name = "NAME", default_value = "cloudtrail_logs")]
    pub table: String,
    /// Athena: a partition column holding the day as yyyy/MM/dd (the partition projection
    /// table's `timestamp`), bounded by the window so that only those days are scanned.
    #[arg(long, value_name = "COLUMN")]
    pub date_partition: Option<String>,
    /// DuckDB: the local CloudTrail files (a glob); Spark: their directory (read recursively).
    #[arg(long, value_name = "GLOB", default_value = "AWSLogs/**/*.json.gz")]
    pub files: String,
    /// DuckDB: the CSV file the query writes (default trailhound-phase1.csv, …); Spark: the
    /// directory of JSON Lines part files it writes.
    #[arg(long, value_name = "FILE")]
    pub result: Option<String>,
    /// Phase 2: the phase-1 result (CSV or JSON Lines); repeatable.
    #[arg(long = "from", value_name = "FILE")]
    pub from: Vec<PathBuf>,
    /// Phase 2: the leaked access key (as for blast); repeatable.
    #[arg(long = "key", short = 'k', value_name = "ID")]
    pub keys: Vec<String>,
    /// Phase 2: every credential of this principal is a seed; repeatable.
    #[arg(long = "principal", value_name = "ARN")]
    pub principals: Vec<String>,
    /// Print nothing on stderr but fatal errors.
    #[arg(long, short)]
    pub quiet: bool,
}

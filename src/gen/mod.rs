//! Deterministic generator of synthetic CloudTrail trails, with an optional leaked-key incident.
//!
//! [`generate`] writes an S3-export-shaped tree
//! (`AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`,
//! one gzip member holding `{"Records":[…]}` per file) for the AWS documentation example accounts
//! `111122223333` (main), `444455556666` (second account) and `123456789012` (external vendor).
//! Every byte comes from a seeded splitmix64 PRNG: the same [`GenOptions`] give byte-identical
//! files (no wall clock, no hash-map iteration, gzip header mtime 0).
//!
//! Delivery is modelled like CloudTrail's (CLOUDTRAIL.md §1, F15): each record gets a delivery
//! delay (usually 1–8 minutes, sometimes 15–40), records are grouped per account, region and
//! 5-minute delivery slot, shuffled, split into files of at most `records_per_file`, and the file
//! name carries the delivery time. So files are not sorted inside, later files can hold older
//! events, and (optionally) some events are delivered twice or copied to an organization-trail path.
//!
//! Background traffic covers every identity type the chain builder meets: IAM users with `AKIA`
//! keys, console sessions with rotating `ASIA` keys and no issuing event (F2), user-assumed roles
//! (same- and cross-account, F3), EC2 instance-profile and Lambda sessions issued by `AWSService`,
//! SAML and web-identity federation, root console use, a service-linked role whose calls carry no
//! key (F17), a vendor account assuming a role (only the role-owner copy is logged), S3 data
//! events, `AwsServiceEvent` records without `userIdentity.type`, AccessDenied errors, and one
//! `ASIA` key id reused by two unrelated sessions hours apart (F16).
//!
//! The incident (`GenOptions::incident`): the long-term key `AKIAIOSFODNN7EXAMPLE` of IAM user
//! `ci-deployer` (legitimately used from CI at 198.51.100.23 before) is used from 203.0.113.0/24:
//! GetCallerIdentity and recon with some AccessDenied; a denied cross-account AssumeRole; AssumeRole
//! to `AdminRole` (session `ci`, 12 h); a 900 s AssumeRole to `DeployRole` that expires early;
//! persistence from the AdminRole session (CreateUser `backup-admin`, CreateLoginProfile,
//! AttachUserPolicy AdministratorAccess, CreateAccessKey, UpdateAssumeRolePolicy and PutRolePolicy
//! on `MaintenanceRole`); the backdoor key creates a second key for itself; role chaining from
//! AdminRole to `444455556666:role/CrossAccountAudit` (logged in both accounts with a shared
//! `sharedEventID`), S3 exfiltration there, a third hop to `DataReader` through the regional
//! eu-west-1 STS endpoint; GetSessionToken and GetFederationToken (`contractor`) sessions and their
//! use. Some issuing events are delivered after files holding their sessions' first use. A
//! legitimate AdminRole session of `alice`, issued 20 minutes before the attacker's and still
//! valid at the end, is the collateral a surgical revocation must avoid.
//!
//! The known answer is returned as [`IncidentTruth`], computed while the records are emitted (taint
//! follows `userIdentity.accessKeyId` + session `creationDate` through the issuing events).
//!
//! Layout: [`generate`] drives a `Gen` of `emit` (PRNG, world, delivery sink, truth ledger)
//! through `background` (random and scripted traffic) and `incident`; activities are built from
//! the primitives of `emit` and the credential-issuing events of `issuing`, records take the
//! shape of `record`, `delivery` writes the files, and `truth` keeps the known answer.
//! [`scenario`] is the small record-by-record counterpart for known-answer tests, and `iam`
//! ([`iam_snapshot`]) the IAM snapshot of the same world with the leaked user's known reach.

mod agent;
mod aws;
mod background;
mod delivery;
mod emit;
mod iam;
mod identity;
mod incident;
mod issuing;
mod record;
mod rng;
pub mod scenario;
mod truth;
mod world;

use std::io;
use std::path::PathBuf;

use emit::Gen;
pub use iam::{iam_snapshot, write_iam_snapshot, IamSnapshot, IamTruth};
pub use truth::{write_truth, IncidentTruth, TruthCredential};

/// The main account (where the leaked user lives).
pub const MAIN_ACCOUNT: &str = "111122223333";
/// The second account (target of the cross-account role chain).
pub const SECOND_ACCOUNT: &str = "444455556666";
/// The external account (vendor assuming a role in the main account; its own logs are absent).
pub const EXTERNAL_ACCOUNT: &str = "123456789012";
/// The leaked long-term access key (AWS documentation example key).
pub const LEAKED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
/// The IAM user owning [`LEAKED_KEY`].
pub const LEAKED_USER_ARN: &str = "arn:aws:iam::111122223333:user/ci-deployer";
/// Organization id used for the organization-trail copy paths.
pub const ORG_ID: &str = "o-exampleorgid";
/// Default start of the trail: 2024-03-11T08:00:00Z.
pub const DEFAULT_START: i64 = 1_710_144_000;

/// Background traffic is generated (and finished files flushed) in chunks of this many seconds.
const CHUNK: i64 = 600;
/// Background rate used at least when `target_bytes` is set, so big trails keep big files.
const TARGET_MIN_RATE: u32 = 40_000;
/// Average serialized record size, used only to estimate the span of a `target_bytes` trail.
const EST_RECORD_BYTES: u64 = 1_250;

/// Options of one generator run.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// PRNG seed: same options and seed give byte-identical output.
    pub seed: u64,
    /// Output root; files go under `out_dir/AWSLogs/...`.
    pub out_dir: PathBuf,
    /// Start of the trail, unix seconds (default 2024-03-11T08:00:00Z).
    pub start: i64,
    /// Time span of the background traffic in hours (default 6; at least 3 with `incident`;
    /// the minimum span when `target_bytes` is set).
    pub hours: u32,
    /// When set, background records are generated until the uncompressed total reaches about
    /// this many bytes; the rate is raised to at least 40,000 events per hour and the span is
    /// stretched as needed (the incident is placed in the middle of the estimated span).
    pub target_bytes: Option<u64>,
    /// Background API events per hour (default 300).
    pub background_events_per_hour: u32,
    /// Maximum records per file (default 500).
    pub records_per_file: usize,
    /// Inject the leaked-key incident and return its [`IncidentTruth`].
    pub incident: bool,
    /// Re-deliver some events (a few incident events included) in a second file, same eventID.
    pub duplicates: bool,
    /// Also write organization-trail copies (`AWSLogs/o-exampleorgid/<acct>/...`) of some files.
    pub org_trail: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 1,
            out_dir: PathBuf::from("trail"),
            start: DEFAULT_START,
            hours: 6,
            target_bytes: None,
            background_events_per_hour: 300,
            records_per_file: 500,
            incident: true,
            duplicates: false,
            org_trail: false,
        }
    }
}

/// What a run wrote.
#[derive(Clone, Debug)]
pub struct GenReport {
    /// Number of `.json.gz` files written (organization copies included).
    pub files: usize,
    /// Number of records written (duplicates and organization copies included).
    pub records: usize,
    /// Number of distinct eventIDs.
    pub unique_events: usize,
    /// Total uncompressed JSON bytes.
    pub uncompressed_bytes: u64,
    /// Total bytes on disk.
    pub compressed_bytes: u64,
    /// Unix seconds of the earliest eventTime.
    pub first_event: i64,
    /// Unix seconds of the latest eventTime.
    pub last_event: i64,
    /// The known answer when `incident` was set.
    pub truth: Option<IncidentTruth>,
}

/// Generates a trail as described in the module docs and returns what was written.
///
/// # Errors
/// Any I/O error from creating directories or writing files under `opts.out_dir`.
pub fn generate(opts: &GenOptions) -> io::Result<GenReport> {
    let mut g = Gen::new(opts);
    let min_hours = if opts.incident { opts.hours.max(3) } else { opts.hours.max(1) };
    let mut rate = opts.background_events_per_hour;
    let mut span = i64::from(min_hours) * 3600;
    if let Some(target) = opts.target_bytes {
        // Big trails: a high rate (big files). Small targets: a rate low enough that the
        // trail still spans `hours` (and the incident fits).
        let fit = target / (u64::from(min_hours) * EST_RECORD_BYTES);
        rate = u32::try_from(fit).unwrap_or(u32::MAX).min(rate.max(TARGET_MIN_RATE)).max(1);
        let per_hour = u64::from(rate) * EST_RECORD_BYTES;
        let hours = i64::try_from(target.div_ceil(per_hour)).unwrap_or(1 << 20);
        span = span.max(hours * 3600);
    }
    let start = opts.start;
    let end = start + span;
    // The incident sits in the middle of the span, at an unround second.
    let t0 = start + span / 2 - 2700 + g.rng.range(0, 900);
    g.scripted_background(start, end, t0);
    let incident_end = if opts.incident { g.incident(t0) } else { start };

    let mut t = start;
    let mut carry = 0.0_f64;
    loop {
        let to = t + CHUNK;
        carry += f64::from(rate) * (CHUNK as f64) / 3600.0;
        carry = g.background_chunk(t, to, carry);
        g.sink.flush_until(to)?;
        t = to;
        let done = match opts.target_bytes {
            Some(target) => {
                g.sink.raw_bytes + g.sink.pending_bytes >= target && t >= incident_end + 1800
            }
            None => t >= end,
        };
        if done {
            break;
        }
    }
    g.sink.flush_all()?;
    let truth =
        if opts.incident { Some(g.ledger.truth(g.first_event, g.last_event)) } else { None };
    Ok(GenReport {
        files: g.sink.files,
        records: g.sink.records,
        unique_events: g.events,
        uncompressed_bytes: g.sink.raw_bytes,
        compressed_bytes: g.sink.gz_bytes,
        first_event: g.first_event,
        last_event: g.last_event,
        truth,
    })
}

#[cfg(test)]
mod tests;

//! Delivery, modelled like CloudTrail's: records wait in 5-minute slots per account and region,
//! and each finished slot becomes shuffled, gzipped `{"Records":[…]}` files named like an S3
//! export (`AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/…json.gz`), sometimes with an
//! organization-trail copy.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::aws::dt;
use super::rng::{Rng, ALNUM};
use super::{GenOptions, ORG_ID};

/// Delivery slot: CloudTrail publishes about every 5 minutes (CLOUDTRAIL.md §1).
const SLOT: i64 = 300;
/// Probability that a file also gets an organization-trail copy (with `org_trail`).
const ORG_COPY_RATE: f64 = 0.3;

/// Pending records keyed by (delivery slot end, account, region); flushed into files once no
/// later-generated record can land in the slot any more.
pub(super) struct Sink {
    root: PathBuf,
    rng: Rng,
    per_file: usize,
    org_trail: bool,
    level: Compression,
    pending: BTreeMap<(i64, &'static str, &'static str), Vec<Vec<u8>>>,
    flushed_until: i64,
    made_dirs: BTreeSet<PathBuf>,
    pub(super) files: usize,
    pub(super) records: usize,
    pub(super) raw_bytes: u64,
    pub(super) gz_bytes: u64,
    pub(super) pending_bytes: u64,
    buf: Vec<u8>,
}

impl Sink {
    /// An empty sink writing under `opts.out_dir`, shuffling and naming files with `rng`.
    pub(super) fn new(opts: &GenOptions, rng: Rng) -> Self {
        Sink {
            root: opts.out_dir.clone(),
            rng,
            per_file: opts.records_per_file,
            org_trail: opts.org_trail,
            // Small sample trails get the best ratio; big benchmark trails favour speed.
            level: if opts.target_bytes.is_some() {
                Compression::fast()
            } else {
                Compression::best()
            },
            pending: BTreeMap::new(),
            flushed_until: i64::MIN,
            made_dirs: BTreeSet::new(),
            files: 0,
            records: 0,
            raw_bytes: 0,
            gz_bytes: 0,
            pending_bytes: 0,
            buf: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        rec: Vec<u8>,
        acct: &'static str,
        region: &'static str,
        delivery: i64,
    ) {
        let mut slot_end = (delivery.div_euclid(SLOT) + 1) * SLOT;
        if slot_end <= self.flushed_until {
            slot_end = (self.flushed_until.div_euclid(SLOT) + 1) * SLOT;
        }
        self.pending_bytes += rec.len() as u64 + 1;
        self.pending.entry((slot_end, acct, region)).or_default().push(rec);
    }

    pub(super) fn flush_until(&mut self, cutoff: i64) -> io::Result<()> {
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > cutoff {
                break;
            }
            let (slot_end, acct, region) = *entry.key();
            let recs = entry.remove();
            self.write_group(slot_end, acct, region, recs)?;
        }
        self.flushed_until = self.flushed_until.max(cutoff);
        Ok(())
    }

    pub(super) fn flush_all(&mut self) -> io::Result<()> {
        self.flush_until(i64::MAX)
    }

    fn write_group(
        &mut self,
        slot_end: i64,
        acct: &'static str,
        region: &'static str,
        mut recs: Vec<Vec<u8>>,
    ) -> io::Result<()> {
        for r in &recs {
            self.pending_bytes = self.pending_bytes.saturating_sub(r.len() as u64 + 1);
        }
        // Records inside a file are not sorted by eventTime (CLOUDTRAIL.md §1).
        self.rng.shuffle(&mut recs);
        let per_file = self.per_file.max(1);
        for chunk in recs.chunks(per_file) {
            let delivered = slot_end + self.rng.range(0, 180);
            let mut order: Vec<usize> = (0..chunk.len()).collect();
            self.write_file(delivered, acct, region, chunk, &order, false)?;
            if self.org_trail && self.rng.chance(ORG_COPY_RATE) {
                self.rng.shuffle(&mut order);
                let delivered = delivered + self.rng.range(0, 120);
                self.write_file(delivered, acct, region, chunk, &order, true)?;
            }
        }
        Ok(())
    }

    fn write_file(
        &mut self,
        delivered: i64,
        acct: &'static str,
        region: &'static str,
        recs: &[Vec<u8>],
        order: &[usize],
        org: bool,
    ) -> io::Result<()> {
        let d = dt(delivered);
        let mut dir = self.root.join("AWSLogs");
        if org {
            dir.push(ORG_ID);
        }
        dir.push(acct);
        dir.push("CloudTrail");
        dir.push(region);
        dir.push(d.format("%Y/%m/%d").to_string());
        if !self.made_dirs.contains(&dir) {
            fs::create_dir_all(&dir)?;
            self.made_dirs.insert(dir.clone());
        }
        let name = format!(
            "{}_CloudTrail_{}_{}_{}.json.gz",
            acct,
            region,
            d.format("%Y%m%dT%H%MZ"),
            self.rng.string(ALNUM, 16)
        );
        self.buf.clear();
        self.buf.extend_from_slice(b"{\"Records\":[");
        for (i, &k) in order.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.buf.extend_from_slice(&recs[k]);
        }
        self.buf.extend_from_slice(b"]}");
        // GzEncoder::new writes a header with mtime 0 and no file name: deterministic.
        let mut enc = GzEncoder::new(Vec::with_capacity(self.buf.len() / 4 + 64), self.level);
        enc.write_all(&self.buf)?;
        let gz = enc.finish()?;
        fs::write(dir.join(name), &gz)?;
        self.files += 1;
        self.records += recs.len();
        self.raw_bytes += self.buf.len() as u64;
        self.gz_bytes += gz.len() as u64;
        Ok(())
    }
}

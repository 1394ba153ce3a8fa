//! Test support: realistic CloudTrail digest files for a generated trail, signed with a test
//! key through the `rsa` crate, so that tests can build a trail with a known-good digest chain
//! and then tamper with it. Independent of the validator: it computes its own hashes, chain
//! links and signing strings (CLOUDTRAIL.md §6), so the two check each other.
//!
//! Also compiled into the fuzz seed generator (`fuzz/examples/make_seeds.rs`, by path).

#![allow(dead_code)]

use flate2::write::GzEncoder;
use flate2::Compression;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{BigUint, RsaPrivateKey};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use trailhound::ingest::decompress::gunzip_into;
use trailhound::time::{fmt_iso, parse_iso};

/// A 2048-bit RSA key made with `openssl genrsa 2048` for these tests only (public exponent
/// 65537). It signs nothing but generated test digests.
pub const TEST_N: &str = "9b11a91c4eb6987745216c55858910c0d858b216d75a5cde94db689dc3c5e893787b4096d2fa496269f9033012714353b51399881e392ca1d75ec5b0b1e6c6be9c027ac7755011a861318c9fc3b408a836d362518d5d3c13323cd349ac5f167077aaec816a3598ad0822d996c57c182116ab464b044af9bffe01bea3e798f9ae7f1df8523a2c3b51a4b56ec09b6f54913d51a486162119e7ecec6dc27dcf58ef325ee4033d239e793967af9afd78853c379970f25a524c1a0ac0c78406a83bb789e49f16f5d0659cfe9ae26478fefa842d2a2b5acaeac69c51ec3c5daf56ede2ddbccd02f5d8485b4fb06ebfb466e7e9a807bd350a5a93325c736f6552e16d83";
/// Its private exponent.
pub const TEST_D: &str = "329dc1258c4bedd880a8384472221b65d7389c68f84276adf0c8ed8d11aa38106af35051eaebe7a8480f100b50f9c7903b3afa9283cb05d68e0651612bb0b88edf3daff60b44e77e9ebb1dbbc895ab7dbce7a2e01bd4a31760fe99b9229aa7286ee74bebb24f6c568ea15184f5515c4ef0a7577a851c3409874fea7a75ce69311a1a79ad25aa24dc7dd703525fc710d38811d57ac4e45ee80e389750eeaf4ddbdd3758bb61edd3e419ad15ebc094d466921e45f515dd9b0a6c9fcd41ffcd68b05972621cc36d44276e9a345b3eff2bc0e518165267441f630bd5aeb145e9d7cc75f684e3029c1fb85048d63cfdae0f1c2e2288475ee090dcb8d84d31e12b2501";

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The test key pair (primes recovered from n, e, d by the `rsa` crate).
#[derive(Debug, Clone)]
pub struct TestKey(pub RsaPrivateKey);

impl Default for TestKey {
    fn default() -> Self {
        TestKey::new()
    }
}

impl TestKey {
    pub fn new() -> TestKey {
        let n = BigUint::from_bytes_be(&unhex(TEST_N));
        let d = BigUint::from_bytes_be(&unhex(TEST_D));
        TestKey(RsaPrivateKey::from_components(n, BigUint::from(65537u32), d, vec![]).unwrap())
    }

    /// The public key as DER PKCS#1 `RSAPublicKey` (the `ListPublicKeys` format).
    pub fn public_der(&self) -> Vec<u8> {
        self.0.to_public_key().to_pkcs1_der().unwrap().as_bytes().to_vec()
    }

    /// SHA256withRSA signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        SigningKey::<Sha256>::new(self.0.clone()).sign(msg).to_vec()
    }

    /// SHA256withRSA signature of `msg`, hex.
    pub fn sign_hex(&self, msg: &[u8]) -> String {
        hex(&self.sign(msg))
    }
}

/// How to write the digests.
#[derive(Debug, Clone)]
pub struct DigestGenOptions {
    /// `digestS3Bucket` / `s3Bucket`.
    pub bucket: String,
    /// Trail name of the account trails (`AWSLogs/<acct>/…`).
    pub trail: String,
    /// Trail name of organization-trail copies (`AWSLogs/<o-id>/<acct>/…`).
    pub org_trail: String,
    /// Home region of both trails.
    pub home_region: String,
    /// `digestPublicKeyFingerprint`.
    pub fingerprint: String,
    /// Sign the digests (else a deterministic placeholder signature is used).
    pub key: Option<TestKey>,
    /// Write `<digest>.metadata.json` sidecars holding the signature.
    pub sidecars: bool,
    /// Seconds past the hour at which each digest's window starts and ends (CloudTrail's
    /// rarely fall on the hour: `…T100037Z` to `…T110037Z`); 0 to 3599.
    pub window_offset: i64,
}

impl Default for DigestGenOptions {
    fn default() -> Self {
        DigestGenOptions {
            bucket: "trailhound-example-trail-bucket".into(),
            trail: "management-events".into(),
            org_trail: "org-trail".into(),
            home_region: "us-east-1".into(),
            fingerprint: "0123456789abcdef0123456789abcdef".into(),
            key: None,
            sidecars: true,
            window_offset: 0,
        }
    }
}

/// What [`write_digests`] wrote.
#[derive(Debug, Clone, Default)]
pub struct DigestGenReport {
    /// Digest files, relative to the trail root (`/`-separated), in chain then time order.
    pub digests: Vec<String>,
    /// `logFiles` entries written (each log file is listed once).
    pub log_files: usize,
    /// Number of chains (account or org prefix × region).
    pub chains: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogFileOut {
    s3_bucket: String,
    s3_object: String,
    hash_value: String,
    hash_algorithm: &'static str,
    newest_event_time: Option<String>,
    oldest_event_time: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DigestOut {
    aws_account_id: String,
    digest_start_time: String,
    digest_end_time: String,
    digest_s3_bucket: String,
    digest_s3_object: String,
    digest_public_key_fingerprint: String,
    digest_signature_algorithm: &'static str,
    newest_event_time: Option<String>,
    oldest_event_time: Option<String>,
    previous_digest_s3_bucket: Option<String>,
    previous_digest_s3_object: Option<String>,
    previous_digest_hash_value: Option<String>,
    previous_digest_hash_algorithm: Option<&'static str>,
    previous_digest_signature: Option<String>,
    log_files: Vec<LogFileOut>,
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<io::Result<_>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// A log file to list: (key, hex SHA-256, (oldest, newest) event time).
type Listing = (String, String, (Option<i64>, Option<i64>));

/// Oldest and newest `eventTime` of a `{"Records":[…]}` document.
fn event_span(doc: &[u8]) -> (Option<i64>, Option<i64>) {
    let Ok(v) = serde_json::from_slice::<Value>(doc) else { return (None, None) };
    let times = v
        .get("Records")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("eventTime").and_then(Value::as_str).and_then(parse_iso));
    times.fold((None, None), |(lo, hi): (Option<i64>, Option<i64>), t| {
        (Some(lo.map_or(t, |x| x.min(t))), Some(hi.map_or(t, |x| x.max(t))))
    })
}

fn compact(t: i64) -> String {
    fmt_iso(t).replace(['-', ':'], "")
}

/// `AWSLogs/<prefix…>/CloudTrail/<region>/…/<name>` → (key from `AWSLogs/`, prefix, region,
/// delivery time from the file name).
fn log_key(rel: &str) -> Option<(String, String, String, i64)> {
    let at = rel.find("AWSLogs/")?;
    let key = &rel[at..];
    let i = key.find("/CloudTrail/")?;
    let prefix = key[..i].to_string();
    let rest = &key[i + "/CloudTrail/".len()..];
    let region = rest.split('/').next()?.to_string();
    let name = rest.rsplit('/').next()?;
    let stamp = name.split('_').find(|p| p.len() == 14 && p.as_bytes()[8] == b'T')?;
    let t = parse_iso(&format!(
        "{}-{}-{}T{}:{}:00Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13]
    ))?;
    Some((key.to_string(), prefix, region, t))
}

/// Walks the log files of a generated trail under `trail_dir` and writes one digest per
/// hour (empty hours included, each starting [`DigestGenOptions::window_offset`] seconds past
/// the hour) per (account or org prefix, region), from the hour of the first delivery to the
/// hour of the last (a file is listed by the hour its file-name minute starts in): correct hashes of the uncompressed logs, the
/// previous-digest chain from a starting digest with null previous fields, fields as in
/// CLOUDTRAIL.md §6. Deterministic: the same trail gives byte-identical digests.
pub fn write_digests(trail_dir: &Path, o: &DigestGenOptions) -> io::Result<DigestGenReport> {
    let mut files = Vec::new();
    files_under(trail_dir, &mut files)?;
    // (prefix, region) → hour → [(key, sha256, span)]
    type Hours = BTreeMap<i64, Vec<Listing>>;
    let mut groups: BTreeMap<(String, String), Hours> = BTreeMap::new();
    let mut inflated = Vec::new();
    for p in files {
        let rel = p.strip_prefix(trail_dir).unwrap().to_string_lossy().replace('\\', "/");
        if !rel.contains("/CloudTrail/") || rel.ends_with(".metadata.json") {
            continue;
        }
        let Some((key, prefix, region, t)) = log_key(&rel) else { continue };
        let raw = std::fs::read(&p)?;
        gunzip_into(&raw, &mut inflated, 1 << 30)
            .map_err(|e| io::Error::other(format!("{rel}: {e}")))?;
        let sha = hex(&Sha256::digest(&inflated));
        let span = event_span(&inflated);
        groups
            .entry((prefix, region))
            .or_default()
            .entry(t - (t - o.window_offset).rem_euclid(3600))
            .or_default()
            .push((key, sha, span));
    }
    let mut rep = DigestGenReport { chains: groups.len(), ..Default::default() };
    // CloudTrail writes a digest every hour for every region of a trail, log files or not:
    // every chain spans the hours of the whole trail.
    let hours_of_all = groups.values().flat_map(|h| h.keys().copied());
    let (Some(first), Some(last)) = (hours_of_all.clone().min(), hours_of_all.max()) else {
        return Ok(rep);
    };
    for ((prefix, region), hours) in &groups {
        let account = prefix.rsplit('/').next().unwrap_or("").to_string();
        let trail = if prefix.split('/').count() > 2 { &o.org_trail } else { &o.trail };
        let mut prev: Option<(String, String, String)> = None; // (object, sha, signature)
        let mut hour = first;
        while hour <= last {
            let end = hour + 3600;
            let dir = format!(
                "{prefix}/CloudTrail-Digest/{region}/{}",
                &fmt_iso(end)[..10].replace('-', "/")
            );
            let name = format!(
                "{account}_CloudTrail-Digest_{region}_{trail}_{}_{}.json.gz",
                o.home_region,
                compact(end)
            );
            let object = format!("{dir}/{name}");
            let empty = Vec::new();
            let mut listed: Vec<&Listing> = hours.get(&hour).unwrap_or(&empty).iter().collect();
            listed.sort_by(|a, b| a.0.cmp(&b.0));
            let oldest = listed.iter().filter_map(|l| l.2 .0).min();
            let newest = listed.iter().filter_map(|l| l.2 .1).max();
            let doc = DigestOut {
                aws_account_id: account.clone(),
                digest_start_time: fmt_iso(hour),
                digest_end_time: fmt_iso(end),
                digest_s3_bucket: o.bucket.clone(),
                digest_s3_object: object.clone(),
                digest_public_key_fingerprint: o.fingerprint.clone(),
                digest_signature_algorithm: "SHA256withRSA",
                newest_event_time: newest.map(fmt_iso),
                oldest_event_time: oldest.map(fmt_iso),
                previous_digest_s3_bucket: prev.as_ref().map(|_| o.bucket.clone()),
                previous_digest_s3_object: prev.as_ref().map(|p| p.0.clone()),
                previous_digest_hash_value: prev.as_ref().map(|p| p.1.clone()),
                previous_digest_hash_algorithm: prev.as_ref().map(|_| "SHA-256"),
                previous_digest_signature: prev.as_ref().map(|p| p.2.clone()),
                log_files: listed
                    .iter()
                    .map(|(key, sha, span)| LogFileOut {
                        s3_bucket: o.bucket.clone(),
                        s3_object: key.clone(),
                        hash_value: sha.clone(),
                        hash_algorithm: "SHA-256",
                        newest_event_time: span.1.map(fmt_iso),
                        oldest_event_time: span.0.map(fmt_iso),
                    })
                    .collect(),
            };
            rep.log_files += doc.log_files.len();
            let json = serde_json::to_vec(&doc).map_err(io::Error::other)?;
            let sha = hex(&Sha256::digest(&json));
            let text = signing_string(
                &fmt_iso(end),
                &o.bucket,
                &object,
                &sha,
                prev.as_ref().map(|p| p.2.as_str()),
            );
            let signature = match &o.key {
                Some(k) => k.sign_hex(text.as_bytes()),
                // A deterministic stand-in of the usual length (256 bytes).
                None => (0..8u8)
                    .map(|i| hex(&Sha256::digest([text.as_bytes(), &[i]].concat())))
                    .collect(),
            };
            let mut enc = GzEncoder::new(Vec::new(), Compression::default());
            enc.write_all(&json)?;
            let gz = enc.finish()?;
            let path = trail_dir.join(&object);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, gz)?;
            if o.sidecars {
                write_sidecar(trail_dir, &object, &signature, "SHA256withRSA")?;
            }
            rep.digests.push(object.clone());
            prev = Some((object, sha, signature));
            hour = end;
        }
    }
    Ok(rep)
}

/// `<digest>.metadata.json` as `aws s3api head-object` writes it.
pub fn write_sidecar(root: &Path, digest: &str, signature: &str, alg: &str) -> io::Result<()> {
    let meta = serde_json::json!({
        "ContentType": "application/json",
        "ContentEncoding": "gzip",
        "Metadata": {
            "signature": signature,
            "signature-algorithm": alg,
        }
    });
    let mut text = serde_json::to_string_pretty(&meta).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(root.join(format!("{digest}.metadata.json")), text)
}

/// The string CloudTrail signs for a digest (CLOUDTRAIL.md §6).
pub fn signing_string(
    end: &str,
    bucket: &str,
    object: &str,
    sha_hex: &str,
    prev_sig: Option<&str>,
) -> String {
    format!("{end}\n{bucket}/{object}\n{sha_hex}\n{}", prev_sig.unwrap_or("null"))
}

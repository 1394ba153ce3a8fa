//! Digest signatures: the signature from a `.metadata.json` sidecar or from the successor's
//! `previousDigestSignature`, the public keys of `--public-keys` (key files and
//! `list-public-keys` JSON with validity windows), the string CloudTrail signs, and the
//! verdict for each digest. The RSA verification itself is in [`super::keys`].

use super::digest::{short, DigestDoc};
use super::walk::{read_capped, Found};
use super::{error, hex, keys, unhex, warning, DigestEntry};
use super::{BadSignature, ChainBreak, IntegrityOptions, IntegrityProblem, IntegrityReport};
use crate::time::{fmt_iso, parse_iso};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// `Metadata` of `aws s3api head-object` (keys lower-cased by S3).
#[derive(Debug, Default, Deserialize)]
struct SidecarMeta {
    #[serde(default, alias = "x-amz-meta-signature")]
    signature: Option<String>,
    #[serde(default, rename = "signature-algorithm", alias = "x-amz-meta-signature-algorithm")]
    algorithm: Option<String>,
}

/// A `<digest>.metadata.json` sidecar: `head-object` output, or a flat metadata object.
#[derive(Debug, Default, Deserialize)]
struct Sidecar {
    #[serde(default, rename = "Metadata", alias = "metadata")]
    metadata: Option<SidecarMeta>,
    #[serde(default, rename = "x-amz-meta-signature")]
    flat_signature: Option<String>,
    #[serde(default, rename = "x-amz-meta-signature-algorithm")]
    flat_algorithm: Option<String>,
}

/// Reads a sidecar: `(signature hex, algorithm)`.
fn read_sidecar(path: &Path) -> Result<(Option<String>, Option<String>), String> {
    let mut buf = Vec::new();
    read_capped(path, &mut buf, 1 << 20).map_err(|e| e.to_string())?;
    if buf.len() > 1 << 20 {
        return Err("larger than 1 MiB".into());
    }
    let s: Sidecar = serde_json::from_slice(&buf).map_err(|e| format!("invalid: {e}"))?;
    let meta = s.metadata.unwrap_or_default();
    Ok((meta.signature.or(s.flat_signature), meta.algorithm.or(s.flat_algorithm)))
}

/// A `list-public-keys` time: ISO 8601 text or epoch seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyTime {
    Text(String),
    Epoch(f64),
}

impl KeyTime {
    fn seconds(&self) -> Option<i64> {
        match self {
            KeyTime::Text(s) => parse_iso(s.trim()),
            KeyTime::Epoch(f) if f.is_finite() && f.abs() < 1e13 => Some(f.floor() as i64),
            KeyTime::Epoch(_) => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyListEntry {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    validity_start_time: Option<KeyTime>,
    #[serde(default)]
    validity_end_time: Option<KeyTime>,
}

/// The output of `aws cloudtrail list-public-keys`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyList {
    public_key_list: Vec<KeyListEntry>,
}

/// One usable key and when it is valid.
struct KeyEntry {
    key: keys::RsaPublicKey,
    /// `(ValidityStartTime, ValidityEndTime)` from `list-public-keys`; `None` for a bare key
    /// file, which carries no window.
    window: Option<(i64, i64)>,
}

/// Keys by lower-case fingerprint.
type KeyRing = BTreeMap<String, Vec<KeyEntry>>;

/// Loads `<fingerprint>.{der,pem,pub,key,b64}` files and `list-public-keys` JSON files.
/// Rejected keys are warnings (a digest that needs one then fails as unverifiable).
fn load_public_keys(dir: &Path, problems: &mut Vec<IntegrityProblem>) -> std::io::Result<KeyRing> {
    let mut ring: KeyRing = BTreeMap::new();
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let shown = p.display().to_string();
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else { continue };
        let (Some((stem, _)), Some((_, ext))) = (name.split_once('.'), name.rsplit_once('.'))
        else {
            continue;
        };
        let ext = ext.to_ascii_lowercase();
        if !matches!(ext.as_str(), "json" | "der" | "pem" | "pub" | "key" | "b64") || !p.is_file() {
            continue;
        }
        let mut data = Vec::new();
        if let Err(e) = read_capped(&p, &mut data, 16 << 20) {
            problems.push(warning(&shown, "public_key_unreadable", &e.to_string()));
            continue;
        }
        if data.len() > 16 << 20 {
            problems.push(warning(&shown, "public_key_unreadable", "larger than 16 MiB"));
            continue;
        }
        if ext != "json" {
            match keys::parse_public_key(&data) {
                Ok(key) => ring
                    .entry(stem.trim().to_ascii_lowercase())
                    .or_default()
                    .push(KeyEntry { key, window: None }),
                Err(why) => problems.push(warning(&shown, "public_key_rejected", &why)),
            }
            continue;
        }
        let list: KeyList = match serde_json::from_slice(&data) {
            Ok(l) => l,
            Err(e) => {
                problems.push(warning(
                    &shown,
                    "public_key_unreadable",
                    &format!("not the output of aws cloudtrail list-public-keys: {e}"),
                ));
                continue;
            }
        };
        for (i, k) in list.public_key_list.iter().enumerate() {
            let what = format!("PublicKeyList[{i}]");
            let Some(fp) = k.fingerprint.as_deref().map(|f| f.trim().to_ascii_lowercase()) else {
                problems.push(warning(
                    &shown,
                    "public_key_rejected",
                    &format!("{what}: no Fingerprint"),
                ));
                continue;
            };
            let start = k.validity_start_time.as_ref().map(KeyTime::seconds);
            let end = k.validity_end_time.as_ref().map(KeyTime::seconds);
            let (Some(Some(start)), Some(Some(end))) = (start, end) else {
                problems.push(warning(
                    &shown,
                    "public_key_rejected",
                    &format!(
                        "{what} ({fp}): ValidityStartTime/ValidityEndTime missing or not a time"
                    ),
                ));
                continue;
            };
            let parsed = k
                .value
                .as_deref()
                .ok_or_else(|| "no Value".to_string())
                .and_then(keys::decode_base64)
                .and_then(|der| keys::parse_public_key(&der));
            match parsed {
                Ok(key) => {
                    ring.entry(fp).or_default().push(KeyEntry { key, window: Some((start, end)) })
                }
                Err(why) => problems.push(warning(
                    &shown,
                    "public_key_rejected",
                    &format!("{what} ({fp}): {why}"),
                )),
            }
        }
    }
    Ok(ring)
}

/// The string CloudTrail signs for a digest (CLOUDTRAIL.md §6; `null` for a starting digest,
/// as the AWS CLI's validator does).
fn signing_string(d: &DigestDoc, digest_sha256: &[u8; 32]) -> Option<String> {
    Some(format!(
        "{}\n{}/{}\n{}\n{}",
        d.end.as_deref()?,
        d.bucket.as_deref()?,
        d.object.as_deref()?,
        hex(digest_sha256),
        d.prev.as_ref().and_then(|p| p.signature.as_deref()).unwrap_or("null")
    ))
}

/// The keys for a digest's fingerprint valid at its end time, or why there are none.
fn keys_for<'k>(ring: &'k KeyRing, d: &DigestEntry) -> Result<Vec<&'k keys::RsaPublicKey>, String> {
    let fp = d.doc.fingerprint.as_deref().unwrap_or("").trim().to_ascii_lowercase();
    if fp.is_empty() {
        return Err("the digest names no digestPublicKeyFingerprint".into());
    }
    let Some(entries) = ring.get(&fp) else {
        return Err(format!("no usable public key with the digest's fingerprint {}", short(&fp)));
    };
    let Some(t) = d.doc.end.as_deref().and_then(parse_iso) else {
        return Err("digestEndTime is missing or not a time".into());
    };
    let valid: Vec<&keys::RsaPublicKey> = entries
        .iter()
        .filter(|k| k.window.is_none_or(|(s, e)| s <= t && t <= e))
        .map(|k| &k.key)
        .collect();
    if valid.is_empty() {
        let windows: Vec<String> = entries
            .iter()
            .filter_map(|k| k.window.map(|(s, e)| format!("{} to {}", fmt_iso(s), fmt_iso(e))))
            .collect();
        return Err(format!(
            "public key {} is not valid at the digest's end time {} (valid {})",
            short(&fp),
            fmt_iso(t),
            windows.join(", ")
        ));
    }
    Ok(valid)
}

/// Verifies `sig_hex` with any of `keys`.
fn verify_any(keys: &[&keys::RsaPublicKey], text: &str, sig_hex: &str) -> Result<(), String> {
    let Some(bytes) = unhex(sig_hex) else {
        return Err("the signature is not hexadecimal".into());
    };
    let mut why = String::new();
    for k in keys {
        match keys::verify_sha256_rsa(k, text.as_bytes(), &bytes) {
            Ok(()) => return Ok(()),
            Err(e) => why = e,
        }
    }
    Err(why)
}

/// Records a digest whose signature cannot be checked (a failure with `--public-keys`).
fn unverifiable(rep: &mut IntegrityReport, d: &DigestEntry, reason: String) {
    rep.unverifiable_signatures.push(BadSignature { digest: d.shown.clone(), reason });
}

/// A digest's own signature metadata, as found.
enum Own {
    /// No sidecar.
    Absent,
    /// The sidecar could not be used, and why.
    Unusable(String),
    /// `(signature, algorithm)`.
    Present(String, Option<String>),
}

fn own_signature(
    d: &DigestEntry,
    sidecars: &HashMap<&str, &Found>,
    problems: &mut Vec<IntegrityProblem>,
) -> Own {
    let Some(f) = sidecars.get(format!("{}.metadata.json", d.shown).as_str()) else {
        return Own::Absent;
    };
    match read_sidecar(&f.path) {
        Ok((Some(s), a)) if !s.trim().is_empty() => Own::Present(s, a),
        Ok((Some(_), _)) => Own::Unusable(format!("{}: the signature is empty", f.shown)),
        Ok((None, _)) => {
            problems.push(warning(
                &f.shown,
                "sidecar_without_signature",
                "no x-amz-meta-signature / Metadata.signature in the sidecar",
            ));
            Own::Unusable(format!("{}: no signature in the sidecar", f.shown))
        }
        Err(e) => {
            problems.push(warning(&f.shown, "sidecar_unreadable", &e));
            Own::Unusable(format!("{}: unreadable sidecar ({e})", f.shown))
        }
    }
}

/// Checks every digest's signature (see the module docs, point 4): `signatures_checked`,
/// `bad_signatures`, `unverifiable_signatures`, `signatures_unchecked`, and chain breaks when
/// a successor records a signature that is not its predecessor's.
pub(super) fn check_signatures(
    o: &IntegrityOptions,
    digests: &[DigestEntry],
    sidecars: &HashMap<&str, &Found>,
    successor_sig: &HashMap<usize, (Option<String>, String)>,
    rep: &mut IntegrityReport,
    problems: &mut Vec<IntegrityProblem>,
) -> anyhow::Result<()> {
    let ring = match &o.public_keys {
        Some(dir) => {
            let ring = load_public_keys(dir, problems).map_err(|e| {
                anyhow::anyhow!("cannot list the public-key directory {}: {e}", dir.display())
            })?;
            if ring.is_empty() {
                problems.push(error(
                    &dir.display().to_string(),
                    "no_public_keys",
                    "no usable public key in the --public-keys directory: no digest signature \
                     can be verified",
                ));
            }
            Some(ring)
        }
        None => None,
    };
    let mut with_sig = 0u64;
    for (i, d) in digests.iter().enumerate() {
        let own = own_signature(d, sidecars, problems);
        let recorded = successor_sig.get(&i).and_then(|(s, next)| s.as_ref().map(|s| (s, next)));
        if matches!(own, Own::Present(..)) || recorded.is_some() {
            with_sig += 1;
        }
        let Some(ring) = &ring else {
            // Without keys, only a disagreement between the two copies can be seen, not which
            // one is genuine: an error on the metadata, not a break blamed on either digest.
            if let (Own::Present(s, _), Some((r, next))) = (&own, recorded) {
                if unhex(s) != unhex(r) {
                    problems.push(error(
                        &format!("{}.metadata.json", d.shown),
                        "signature_conflict",
                        &format!(
                            "the signature metadata differs from the previousDigestSignature that \
                             {next} records; without --public-keys it cannot be told which one \
                             is genuine"
                        ),
                    ));
                }
            }
            continue;
        };
        let own_alg = match &own {
            Own::Present(_, a) => a.clone(),
            _ => None,
        };
        let alg = own_alg.clone().or_else(|| d.doc.algorithm.clone());
        match (&own_alg, &d.doc.algorithm) {
            (Some(a), Some(b)) if !a.trim().eq_ignore_ascii_case(b.trim()) => {
                unverifiable(
                    rep,
                    d,
                    format!(
                        "the signature metadata says {} but the digest says {}",
                        short(a),
                        short(b)
                    ),
                );
                continue;
            }
            _ => {}
        }
        match alg.as_deref().map(str::trim) {
            Some(a) if a.eq_ignore_ascii_case("SHA256withRSA") => {}
            Some(a) => {
                unverifiable(rep, d, format!("unsupported signature algorithm {:?}", short(a)));
                continue;
            }
            None => {
                unverifiable(
                    rep,
                    d,
                    "no signature algorithm (sidecar or digestSignatureAlgorithm)".into(),
                );
                continue;
            }
        }
        let keys = match keys_for(ring, d) {
            Ok(k) => k,
            Err(why) => {
                unverifiable(rep, d, why);
                continue;
            }
        };
        let Some(text) = signing_string(&d.doc, &d.sha256) else {
            rep.signatures_checked += 1;
            rep.bad_signatures.push(BadSignature {
                digest: d.shown.clone(),
                reason:
                    "digestEndTime, digestS3Bucket or digestS3Object missing: nothing to verify"
                        .into(),
            });
            continue;
        };
        let rec = recorded.map(|(r, next)| (verify_any(&keys, &text, r), r, next));
        match (&own, rec) {
            (Own::Present(s, _), rec) => {
                rep.signatures_checked += 1;
                match (verify_any(&keys, &text, s), rec) {
                    (Ok(()), Some((Err(_), _, next))) => rep.chain_breaks.push(ChainBreak {
                        previous: Some(d.shown.clone()),
                        next: next.clone(),
                        expected_previous: d.key.clone(),
                        reason: "the previousDigestSignature it records is not the predecessor's \
                                 (verified) signature: this digest was altered"
                            .into(),
                    }),
                    (Ok(()), _) => {}
                    (Err(why), Some((Ok(()), _, next))) => rep.bad_signatures.push(BadSignature {
                        digest: d.shown.clone(),
                        reason: format!(
                            "signature metadata: {why}; the previousDigestSignature that {next} \
                             records does verify, so the metadata was altered"
                        ),
                    }),
                    (Err(why), _) => rep
                        .bad_signatures
                        .push(BadSignature { digest: d.shown.clone(), reason: why }),
                }
            }
            (Own::Unusable(why), Some((Ok(()), _, next))) => {
                rep.signatures_checked += 1;
                rep.bad_signatures.push(BadSignature {
                    digest: d.shown.clone(),
                    reason: format!(
                        "{why}; the previousDigestSignature that {next} records does verify, so \
                         the metadata was altered or damaged"
                    ),
                });
            }
            (Own::Absent, Some((Ok(()), _, _))) => rep.signatures_checked += 1,
            (own, Some((Err(why), _, next))) => {
                // The copy the successor records does not verify, and the predecessor has no
                // usable signature of its own here: the successor's link is what is wrong. The
                // predecessor is not blamed, only left unverified.
                rep.chain_breaks.push(ChainBreak {
                    previous: Some(d.shown.clone()),
                    next: next.clone(),
                    expected_previous: d.key.clone(),
                    reason: format!(
                        "the previousDigestSignature it records is not a valid signature of the \
                         predecessor ({why}): this digest was altered"
                    ),
                });
                let own_why = match own {
                    Own::Unusable(w) => w.clone(),
                    _ => "no signature metadata of its own".to_string(),
                };
                unverifiable(
                    rep,
                    d,
                    format!(
                        "{own_why}, and the previousDigestSignature that {next} records does not \
                     verify (see chain_breaks)"
                    ),
                );
            }
            (Own::Unusable(why), None) => unverifiable(rep, d, why.clone()),
            (Own::Absent, None) => unverifiable(
                rep,
                d,
                "no signature: no .metadata.json sidecar and no successor digest recording it"
                    .into(),
            ),
        }
    }
    rep.signatures_unchecked = digests.len() as u64 - rep.signatures_checked;
    if ring.is_none() && !digests.is_empty() {
        rep.notes.push(format!(
            "digest signatures were not checked (no --public-keys directory was given; {with_sig} \
             of {} digests had a signature available): the hashes and the chain prove only that \
             the files and the digests agree, not that AWS wrote the digests. Status \
             \"unverified\", exit 3",
            digests.len()
        ));
    }
    Ok(())
}

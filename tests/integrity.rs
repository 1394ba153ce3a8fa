//! Digest validation (`integrity`) on generated trails with generated digests, tampered in
//! known ways; and property tests: the record parser, the decompressor and the digest
//! validator never panic on hostile bytes (mutations of real generated files).

use crate::integrity_gen::{
    hex, signing_string, unhex, write_digests, write_sidecar, DigestGenOptions, TestKey, TEST_N,
};
use crate::util::*;
use base64::Engine as _;
use rsa::BigUint;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use trailhound::gen::{generate, GenOptions};
use trailhound::ingest::decompress::gunzip_into;
use trailhound::ingest::parse::{parse_document, Parsed};
use trailhound::integrity::keys::{parse_public_key, verify_sha256_rsa};
use trailhound::integrity::{validate, IntegrityOptions};

/// The test key's public half as `openssl rsa -pubout` writes it (SubjectPublicKeyInfo).
const TEST_PUB_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmxGpHE62mHdFIWxVhYkQ
wNhYshbXWlzelNtoncPF6JN4e0CW0vpJYmn5AzAScUNTtROZiB45LKHXXsWwsebG
vpwCesd1UBGoYTGMn8O0CKg202JRjV08EzI800msXxZwd6rsgWo1mK0IItmWxXwY
IRarRksESvm//gG+o+eY+a5/HfhSOiw7UaS1bsCbb1SRPVGkhhYhGefs7G3Cfc9Y
7zJe5AM9I555OWevmv14hTw3mXDyWlJMGgrAx4QGqDu3ieSfFvXQZZz+muJkeP76
hC0qK1rK6sacUew8Xa9W7eLdvM0C9dhIW0+wbr+0ZufpqAe9NQpakzJcc29lUuFt
gwIDAQAB
-----END PUBLIC KEY-----
";
/// `openssl dgst -sha256 -sign` of [`KAT_MSG`] with the test key (PKCS#1 v1.5 is
/// deterministic, so our signer must produce exactly this).
const KAT_MSG: &str = "trailhound known-answer test\n2024-03-11T09:00:00Z";
const KAT_SIG: &str = "6293b35da47ab47d4c4cc47730f5b51fc8f6933bfad7e65d7e6499e3549484b6d904dd66b8043f7a43a80bfa306322d7da9820737cbe41f08da3fb5b510dec75aa8a52006d8fa20b9f233445bc1606f89e95f12832a7954b5758e66fe42fd1e73b612e1cb35b225207ecfd67d2e96ee60269ff39614d68241a1de8ce3a7d3012db659c169b2adc8cacf77b23599f2aa6be6641747aff59842ad4641ca9db8db73279388e62af8db9787b97a16789e9faf54f795e868eba6ec470000d61e09196b3c6a26e83e5b998b40b97f77afb0243f70be61d65b47919ac87e8b4b6144d4bc9df9151070dc292784b14b600ced5914f79a9982c1febd9db990c6dc0b5ec3c";

fn test_key() -> TestKey {
    TestKey::new()
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A generated trail (optionally with organization-trail copies) plus its digests.
fn trail(seed: u64, hours: u32, org: bool, d: DigestGenOptions) -> (TempDir, Vec<String>, usize) {
    let dir = TempDir::new().unwrap();
    let opts = GenOptions {
        seed,
        out_dir: dir.path().to_path_buf(),
        hours,
        incident: hours >= 3,
        org_trail: org,
        ..Default::default()
    };
    generate(&opts).unwrap();
    let rep = write_digests(dir.path(), &d).unwrap();
    assert!(!rep.digests.is_empty());
    (dir, rep.digests, rep.log_files)
}

fn run(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let out =
        bin().arg("integrity").arg(dir).args(["--format", "json"]).args(extra).output().unwrap();
    (out.status.code().unwrap(), json(&out.stdout))
}

/// Every `.json.gz` log file under `CloudTrail/`, relative, sorted.
fn log_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in crate::util::files_under(root) {
        let rel = e.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        if rel.contains("/CloudTrail/") {
            out.push(rel);
        }
    }
    out.sort();
    out
}

fn gunzip_file(p: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    gunzip_into(&std::fs::read(p).unwrap(), &mut out, 1 << 30).unwrap();
    out
}

fn strs(v: &Value, list: &str, field: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} is not a list: {v}"))
        .iter()
        .map(|e| e[field].as_str().unwrap_or("").to_string())
        .collect()
}

/// The chain a digest belongs to: everything up to its date folders.
fn chain_of(rel: &str) -> &str {
    let i = rel.find("/CloudTrail-Digest/").unwrap() + "/CloudTrail-Digest/".len();
    let region_end = rel[i..].find('/').unwrap();
    &rel[..i + region_end]
}

/// An index i with digests i-1, i, i+1 in one chain.
fn middle(digests: &[String]) -> usize {
    (1..digests.len() - 1)
        .find(|&i| {
            chain_of(&digests[i - 1]) == chain_of(&digests[i])
                && chain_of(&digests[i]) == chain_of(&digests[i + 1])
        })
        .expect("a chain of three digests")
}

fn rewrite_digest(root: &Path, rel: &str, edit: impl FnOnce(&mut Value)) {
    let p = root.join(rel);
    let mut v: Value = serde_json::from_slice(&gunzip_file(&p)).unwrap();
    edit(&mut v);
    std::fs::write(&p, gz(&serde_json::to_vec(&v).unwrap())).unwrap();
}

#[test]
fn intact_chain_validates() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, listed) = trail(21, 3, true, opts);
    let logs = log_files(d.path());
    assert_eq!(listed, logs.len(), "every generated log file is listed once");
    let (code, v) = run(d.path(), &[]);
    // Without public keys nothing failed, but nothing shows AWS wrote the digests: exit 3.
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["status"], "unverified", "{v}");
    for k in [
        "digests",
        "log_files_checked",
        "mismatched",
        "missing",
        "uncovered",
        "chain_breaks",
        "signatures_checked",
        "gaps",
        "chains",
        "problems",
        "notes",
    ] {
        assert!(v.get(k).is_some(), "key {k} missing: {v}");
    }
    assert_eq!(v["digests"], digests.len() as u64);
    assert_eq!(v["log_files_checked"], logs.len() as u64);
    assert_eq!(v["log_files_ok"], logs.len() as u64);
    for k in ["mismatched", "missing", "uncovered", "chain_breaks", "gaps", "bad_signatures"] {
        assert_eq!(v[k].as_array().unwrap().len(), 0, "{k}: {v}");
    }
    assert_eq!(v["problems"].as_array().unwrap().len(), 0, "{v}");
    let chains = v["chains"].as_array().unwrap();
    let distinct: std::collections::BTreeSet<&str> = digests.iter().map(|s| chain_of(s)).collect();
    assert_eq!(chains.len(), distinct.len());
    assert!(chains.iter().all(|c| c["starts_at_origin"] == true), "{v}");
    assert!(chains.iter().any(|c| c["trail"] == "org-trail"), "org-trail copies have a chain");
    // Signatures were not checked, and the report says so.
    assert_eq!(v["signatures_checked"], 0);
    assert_eq!(v["signatures_unchecked"], digests.len() as u64);
    assert!(strs_plain(&v["notes"]).iter().any(|n| n.contains("signatures were not checked")));
    // Table output, deterministic.
    let t1 = bin().arg("integrity").arg(d.path()).output().unwrap();
    let t2 = bin().arg("integrity").arg(d.path()).output().unwrap();
    assert_eq!(t1.status.code(), Some(3));
    assert_eq!(t1.stdout, t2.stdout);
    assert!(String::from_utf8_lossy(&t1.stdout).starts_with("integrity: UNVERIFIED"));
    // With the public key every signature verifies: exit 0, "integrity: OK".
    let keys = TempDir::new().unwrap();
    write(keys.path(), &format!("{fp}.pem"), TEST_PUB_PEM.as_bytes());
    let k = keys.path().to_str().unwrap();
    let (code, v) = run(d.path(), &["--public-keys", k]);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")), "{v}");
    assert_eq!(v["signatures_checked"], digests.len() as u64);
    let t = bin().arg("integrity").arg(d.path()).args(["--public-keys", k]).output().unwrap();
    assert_eq!(t.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&t.stdout).starts_with("integrity: OK"));
}

fn strs_plain(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn recompressed_log_still_matches_but_modified_log_is_mismatched() {
    let (d, _, _) = trail(22, 1, false, DigestGenOptions::default());
    let logs = log_files(d.path());
    // The hash is of the uncompressed content: a different gzip encoding is the same file.
    let a = d.path().join(&logs[3]);
    let content = gunzip_file(&a);
    std::fs::write(&a, gz(&content)).unwrap();
    // One changed byte inside a record is not.
    let b = d.path().join(&logs[7]);
    let mut content = gunzip_file(&b);
    let at = content.windows(9).position(|w| w == b"eventName").unwrap() + 12;
    content[at] ^= 0x01;
    std::fs::write(&b, gz(&content)).unwrap();
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(strs(&v, "mismatched", "path"), vec![logs[7].clone()]);
    let m = &v["mismatched"][0];
    assert_ne!(m["expected"], m["actual"]);
    assert!(m["digest"].as_str().unwrap().contains("CloudTrail-Digest"));
    assert_eq!(v["log_files_ok"].as_u64().unwrap() + 1, v["log_files_checked"].as_u64().unwrap());
    // A listed file that is no longer gzip-readable is mismatched too, with the reason.
    let c = d.path().join(&logs[9]);
    let mut raw = std::fs::read(&c).unwrap();
    raw.truncate(raw.len() / 2);
    std::fs::write(&c, raw).unwrap();
    let (_, v) = run(d.path(), &[]);
    assert_eq!(strs(&v, "mismatched", "path"), vec![logs[7].clone(), logs[9].clone()]);
    assert!(v["mismatched"][1]["reason"].as_str().unwrap().contains("cannot be read"), "{v}");
}

#[test]
fn removed_log_file_is_missing() {
    let (d, _, _) = trail(23, 1, false, DigestGenOptions::default());
    let logs = log_files(d.path());
    std::fs::remove_file(d.path().join(&logs[5])).unwrap();
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(strs(&v, "missing", "path"), vec![logs[5].clone()]);
    assert!(v["mismatched"].as_array().unwrap().is_empty());
}

#[test]
fn added_log_file_is_uncovered() {
    let (d, digests, _) = trail(24, 1, false, DigestGenOptions::default());
    let logs = log_files(d.path());
    // Same folder and delivery minute as a listed file: inside a digested hour.
    let src = &logs[4];
    let (head, _) = src.rsplit_once('_').unwrap();
    let planted = format!("{head}_PLANTEDPLANTED00.json.gz");
    write(
        d.path(),
        &planted,
        &gz(records_file(&[("11111111-2222-3333-4444-555555555555", "2024-03-11T08:30:00Z")])
            .as_bytes()),
    );
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(strs(&v, "uncovered", "path"), vec![planted.clone()]);
    assert_eq!(v["uncovered"][0]["in_digest_window"], true);
    std::fs::remove_file(d.path().join(&planted)).unwrap();

    // Delivered after the last digest's hour: uncovered, but not a failure (not digested yet).
    let last_end = digests
        .iter()
        .map(|x| {
            let stamp = &x[x.len() - "20240311T090000Z.json.gz".len()..][..16];
            trailhound::time::parse_iso(stamp).unwrap()
        })
        .max()
        .unwrap();
    let stamp = trailhound::time::fmt_iso(last_end + 600).replace(['-', ':'], "");
    let (folder, name) = src.rsplit_once('/').unwrap();
    let parts: Vec<&str> = name.split('_').collect();
    let later = format!(
        "{folder}/{}_CloudTrail_{}_{}Z_LATERLATERLATER0.json.gz",
        parts[0],
        parts[2],
        &stamp[..13]
    );
    write(d.path(), &later, &gz(b"{\"Records\":[]}"));
    let (code, v) = run(d.path(), &[]);
    assert_eq!(strs(&v, "uncovered", "path"), vec![later.clone()], "{v}");
    assert_eq!(v["uncovered"][0]["in_digest_window"], false);
    assert_eq!(code, 3, "only reported; unverified as no keys were given: {v}");
}

/// With every signature verified, a file the other commands read as evidence is never "ok"
/// unless a digest lists it: whatever its name, whatever it mentions near its top, in a region
/// whose digests were deleted, or reached through a link out of the tree.
#[test]
fn signed_digests_never_vouch_for_a_log_file_they_do_not_list() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(61, 3, false, opts);
    let keys = key_dir(&fp);
    let k = ["--public-keys", keys.path().to_str().unwrap()];
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")), "the untouched trail: {v}");
    let logs = log_files(d.path());
    let forged = || {
        gz(records_file(&[("f0f0f0f0-2222-3333-4444-555555555555", "2024-03-11T08:30:00Z")])
            .as_bytes())
    };
    let scan_events = |dir: &Path| {
        let out = bin().arg("scan").arg(dir).args(["--format", "json", "-q"]).output().unwrap();
        json(&out.stdout)["events"].as_u64().unwrap()
    };
    let before = scan_events(d.path());

    // 1. A log file, beside the others in a digested hour, that mentions "digestStartTime"
    //    near its top: it was taken for a digest that failed to parse (a warning), and never
    //    counted as uncovered, while scan read its record.
    let (head, _) = logs[4].rsplit_once('_').unwrap();
    let planted = format!("{head}_DIGESTLOOKALIKE0.json.gz");
    let rec = records_file(&[("f1f1f1f1-2222-3333-4444-555555555555", "2024-03-11T08:30:00Z")]);
    let body = format!("{{\"digestStartTime\":\"2024-03-11T08:00:00Z\",{}", &rec[1..]);
    write(d.path(), &planted, &gz(body.as_bytes()));
    assert_eq!(scan_events(d.path()), before + 1, "scan reads the planted record");
    let (code, v) = run(d.path(), &k);
    assert_eq!(code, 1, "{v}");
    assert_eq!(strs(&v, "uncovered", "path"), vec![planted.clone()], "{v}");
    assert_eq!(v["uncovered"][0]["in_digest_window"], true, "{v}");
    std::fs::remove_file(d.path().join(&planted)).unwrap();

    // 1b. A log file named like a digest's signature sidecar, beside the listed files.
    let sidecar = format!("{head}_SIDECARLOOKALIKE.metadata.json");
    write(d.path(), &sidecar, rec.as_bytes());
    assert_eq!(scan_events(d.path()), before + 1, "scan reads the sidecar-named file");
    let (code, v) = run(d.path(), &k);
    assert_eq!(code, 1, "{v}");
    assert_eq!(strs(&v, "uncovered", "path"), vec![sidecar.clone()], "{v}");
    std::fs::remove_file(d.path().join(&sidecar)).unwrap();

    // 2. A log file under a name that is no CloudTrail name, next to the account's folders.
    let account = logs[0].split('/').nth(1).unwrap().to_string();
    let odd = format!("AWSLogs/{account}/extra-0910.json.gz");
    write(d.path(), &odd, &forged());
    assert_eq!(scan_events(d.path()), before + 1, "scan reads the oddly named file");
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (3, Some("unverified")), "{v}");
    assert_eq!(strs(&v, "uncovered", "path"), vec![odd.clone()], "{v}");
    std::fs::remove_file(d.path().join(&odd)).unwrap();

    // 3. One region's digests deleted: its log files are listed by nothing now.
    let region_dir = {
        let (dir, _) = digests[0].split_once("/2024/").unwrap();
        dir.to_string()
    };
    std::fs::remove_dir_all(d.path().join(&region_dir)).unwrap();
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (3, Some("unverified")), "{v}");
    let log_dir = format!("{}/", region_dir.replace("/CloudTrail-Digest/", "/CloudTrail/"));
    let unlisted = logs.iter().filter(|l| l.starts_with(&log_dir)).count();
    assert!(unlisted > 0);
    assert_eq!(v["uncovered_total"].as_u64(), Some(unlisted as u64), "{v}");
    let table = bin().arg("integrity").arg(d.path()).args(k).output().unwrap();
    let first = String::from_utf8_lossy(&table.stdout).lines().next().unwrap_or("").to_string();
    assert!(
        first.starts_with(&format!(
            "integrity: UNVERIFIED ({unlisted} log files that no digest lists"
        )),
        "{first}"
    );
}

/// Paths are shown relative to the input, but a file is located (account, region, delivery
/// time) by its place under `AWSLogs/`: run on `bucket/AWSLogs`, `bucket/AWSLogs/<acct>` or `.`
/// inside it, a log file planted inside a signed, digested hour fails as it does when run on
/// the bucket (it was only uncovered outside every digested hour: unverified, exit 3).
#[test]
fn a_planted_log_file_fails_whichever_folder_of_the_bucket_is_the_input() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, _, _) = trail(62, 3, true, opts);
    let keys = key_dir(&fp);
    let k = ["--public-keys", keys.path().to_str().unwrap()];
    let logs = log_files(d.path());
    let src = logs.iter().find(|l| !l.contains("/o-")).unwrap();
    let account = src.split('/').nth(1).unwrap().to_string();
    let acct_dir = d.path().join("AWSLogs").join(&account);
    // Each input, and what of a path from the bucket it no longer shows.
    let inputs: Vec<(PathBuf, String)> = vec![
        (d.path().to_path_buf(), String::new()),
        (d.path().join("AWSLogs"), "AWSLogs/".into()),
        (acct_dir.clone(), format!("AWSLogs/{account}/")),
    ];
    for (input, _) in &inputs {
        let (code, v) = run(input, &k);
        assert_eq!((code, v["status"].as_str()), (0, Some("ok")), "{}: {v}", input.display());
    }
    // Same folder and delivery minute as a listed file.
    let (head, _) = src.rsplit_once('_').unwrap();
    let planted = format!("{head}_PLANTEDPLANTED00.json.gz");
    let rec = records_file(&[("f2f2f2f2-2222-3333-4444-555555555555", "2024-03-11T09:30:00Z")]);
    write(d.path(), &planted, &gz(rec.as_bytes()));
    let expect_failed = |v: &Value, code: i32, shown: &str, what: &str| {
        assert_eq!((code, v["status"].as_str()), (1, Some("failed")), "{what}: {v}");
        assert_eq!(strs(v, "uncovered", "path"), vec![shown.to_string()], "{what}: {v}");
        assert_eq!(v["uncovered"][0]["in_digest_window"], true, "{what}: {v}");
        assert_eq!(v["uncovered_in_digest_window"], 1, "{what}: {v}");
    };
    for (input, above) in &inputs {
        let (code, v) = run(input, &k);
        let shown = planted.strip_prefix(above.as_str()).unwrap();
        expect_failed(&v, code, shown, &input.display().to_string());
    }
    // `.` from inside the account folder: the input's own path says nothing either.
    let out = bin()
        .current_dir(&acct_dir)
        .args(["integrity", ".", "--format", "json"])
        .args(k)
        .output()
        .unwrap();
    let shown = planted.strip_prefix(&format!("AWSLogs/{account}/")).unwrap();
    expect_failed(&json(&out.stdout), out.status.code().unwrap(), shown, "`.`");
}

#[test]
fn the_table_keeps_hostile_file_names_and_digest_fields_on_one_line() {
    let (d, digests, _) = trail(29, 1, false, DigestGenOptions::default());
    let logs = log_files(d.path());
    // A log file planted inside a digested hour whose name tries to print a verdict.
    let forged = "\nintegrity: OK (forged)\u{1b}[2J";
    let (head, _) = logs[4].rsplit_once('_').unwrap();
    let planted = format!("{head}_PLANTED{forged}.json.gz");
    write(
        d.path(),
        &planted,
        &gz(records_file(&[("11111111-2222-3333-4444-555555555555", "2024-03-11T08:30:00Z")])
            .as_bytes()),
    );
    // A digest that lists a file by a hostile name: it is missing.
    rewrite_digest(d.path(), &digests[0], |v| {
        v["logFiles"][0]["s3Object"] = Value::String(format!("gone{forged}.json.gz"));
    });
    let out = bin().arg("integrity").arg(d.path()).args(["--format", "table"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("integrity: FAILED"), "{text}");
    assert!(!text.contains('\u{1b}'), "raw escape sequence:\n{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("integrity:")).count(), 1, "{text}");
    // Both are still named, each on its own line.
    let planted_line = text.lines().find(|l| l.contains("PLANTED")).expect(&text);
    assert!(planted_line.starts_with("UNLISTED"), "{text}");
    assert!(
        planted_line.contains("PLANTED\\nintegrity: OK (forged)\\u{1b}[2J.json.gz (inside"),
        "{text}"
    );
    let missing = text.lines().find(|l| l.starts_with("MISSING ")).expect(&text);
    assert!(missing.contains("gone\\nintegrity: OK"), "{text}");
}

#[test]
fn edited_digest_link_breaks_the_chain_on_both_sides() {
    let (d, digests, _) = trail(25, 3, false, DigestGenOptions::default());
    let i = middle(&digests);
    rewrite_digest(d.path(), &digests[i], |v| {
        v["previousDigestHashValue"] = Value::String("0".repeat(64));
    });
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1);
    let pairs: Vec<(String, String)> = v["chain_breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["previous"].as_str().unwrap().into(), b["next"].as_str().unwrap().into()))
        .collect();
    let mut want = vec![
        (digests[i - 1].clone(), digests[i].clone()),
        (digests[i].clone(), digests[i + 1].clone()),
    ];
    want.sort();
    assert_eq!(pairs, want, "{v}");
    assert!(v["chain_breaks"][0]["reason"].as_str().unwrap().contains("hash mismatch"));
}

#[test]
fn deleted_middle_digest_is_a_break_and_a_gap() {
    let (d, digests, _) = trail(26, 3, false, DigestGenOptions::default());
    let i = middle(&digests);
    let listed: Vec<String> = {
        let v: Value = serde_json::from_slice(&gunzip_file(&d.path().join(&digests[i]))).unwrap();
        v["logFiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["s3Object"].as_str().unwrap().into())
            .collect()
    };
    std::fs::remove_file(d.path().join(&digests[i])).unwrap();
    std::fs::remove_file(d.path().join(format!("{}.metadata.json", digests[i]))).unwrap();
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1);
    let b = v["chain_breaks"].as_array().unwrap();
    assert_eq!(b.len(), 1, "{v}");
    assert_eq!(b[0]["previous"], digests[i - 1].as_str());
    assert_eq!(b[0]["next"], digests[i + 1].as_str());
    assert_eq!(b[0]["expected_previous"], digests[i].as_str());
    assert!(b[0]["reason"].as_str().unwrap().contains("not among the inputs"));
    let g = v["gaps"].as_array().unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(
        (g[0]["after"].as_str(), g[0]["seconds"].as_i64()),
        (Some(digests[i - 1].as_str()), Some(3600))
    );
    // The files only the deleted digest listed are now uncovered (outside any digested hour).
    let mut unc = strs(&v, "uncovered", "path");
    unc.sort();
    let mut want = listed.clone();
    want.sort();
    assert_eq!(unc, want);
}

/// Makes every digest after `from` in its chain point to the (edited) digest before it.
fn relink(root: &Path, digests: &[String], from: usize) {
    use sha2::Digest;
    let mut j = from + 1;
    while j < digests.len() && chain_of(&digests[j]) == chain_of(&digests[from]) {
        let h = sha2::Sha256::digest(gunzip_file(&root.join(&digests[j - 1])));
        let h: String = h.iter().map(|b| format!("{b:02x}")).collect();
        rewrite_digest(root, &digests[j], |v| v["previousDigestHashValue"] = Value::String(h));
        j += 1;
    }
}

/// Makes digest `i` start a new chain (its previous-digest fields null, as after a trail
/// was stopped and started) and re-links the rest of the chain to it, so that only the
/// restart remains.
fn restart_chain_at(root: &Path, digests: &[String], i: usize) {
    rewrite_digest(root, &digests[i], |v| {
        for k in [
            "previousDigestS3Bucket",
            "previousDigestS3Object",
            "previousDigestHashValue",
            "previousDigestHashAlgorithm",
            "previousDigestSignature",
        ] {
            v[k] = Value::Null;
        }
    });
    relink(root, digests, i);
}

#[test]
fn restart_with_null_previous_fields_is_a_gap_not_a_break() {
    let (d, digests, _) = trail(27, 3, false, DigestGenOptions::default());
    let i = middle(&digests);
    restart_chain_at(d.path(), &digests, i);
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 3, "{v}");
    assert!(v["chain_breaks"].as_array().unwrap().is_empty(), "{v}");
    let g = v["gaps"].as_array().unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0]["new_chain"], true);
    assert_eq!(g[0]["before"], digests[i].as_str());
}

/// Digest windows rarely fall on the hour (10:00:37 to 11:00:37, then to 12:00:37): a log file
/// named for the minute 11:00 fits neither window on its own, but lies inside the unbroken,
/// signed chain, so planted there it fails. Where the chain restarts (null previous fields)
/// the windows are not joined: the same file is only uncovered.
#[test]
fn a_log_file_planted_where_two_digest_windows_meet_fails() {
    let opts = DigestGenOptions { key: Some(test_key()), window_offset: 37, ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(63, 3, false, opts);
    let keys = key_dir(&fp);
    let k = ["--public-keys", keys.path().to_str().unwrap()];
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")), "the untouched trail: {v}");
    // Digest i ends, and digest i + 1 starts, at `boundary` (…:00:37).
    let i = middle(&digests);
    let stamp = &digests[i][digests[i].len() - "20240311T090037Z.json.gz".len()..][..16];
    let boundary = trailhound::time::parse_iso(stamp).unwrap();
    assert_eq!(boundary.rem_euclid(3600), 37, "{stamp}");
    let logs = chain_of(&digests[i]).replace("/CloudTrail-Digest/", "/CloudTrail/");
    let account = logs.split('/').nth(1).unwrap();
    let region = logs.rsplit('/').next().unwrap();
    let iso = trailhound::time::fmt_iso(boundary - 37);
    let minute = iso[..16].replace(['-', ':'], "");
    let planted = format!(
        "{logs}/{}/{account}_CloudTrail_{region}_{minute}Z_PLANTEDBOUNDARY.json.gz",
        iso[..10].replace('-', "/")
    );
    let rec = records_file(&[("f3f3f3f3-2222-3333-4444-555555555555", &iso)]);
    write(d.path(), &planted, &gz(rec.as_bytes()));
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (1, Some("failed")), "{v}");
    assert_eq!(strs(&v, "uncovered", "path"), vec![planted.clone()], "{v}");
    assert_eq!(v["uncovered"][0]["in_digest_window"], true, "{v}");

    // The chain restarts at digest i + 1: a gap, not a break, and the windows stay apart.
    restart_chain_at(d.path(), &digests, i + 1);
    let (code, v) = run(d.path(), &[]);
    assert_eq!((code, v["status"].as_str()), (3, Some("unverified")), "{v}");
    assert_eq!(v["gaps"][0]["new_chain"], true, "{v}");
    assert_eq!(strs(&v, "uncovered", "path"), vec![planted], "{v}");
    assert_eq!(v["uncovered"][0]["in_digest_window"], false, "{v}");
}

#[test]
fn lenient_parsing_of_hostile_digests() {
    let (d, digests, _) = trail(28, 1, false, DigestGenOptions::default());
    // The Elastic sample's 63-digit hash.
    rewrite_digest(d.path(), &digests[0], |v| {
        let h = v["logFiles"][0]["hashValue"].as_str().unwrap()[..63].to_string();
        v["logFiles"][0]["hashValue"] = Value::String(h);
        v["logFiles"][1]["hashValue"] = Value::from(42);
        v["digestEndTime"] = Value::String("yesterday".into());
    });
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1);
    let reasons = strs(&v, "mismatched", "reason");
    assert!(reasons.iter().any(|r| r.contains("63 hex digits")), "{v}");
    assert!(reasons.iter().any(|r| r.contains("no hashValue")), "{v}");
    assert!(strs(&v, "problems", "detail").iter().any(|p| p.contains("digestEndTime")), "{v}");
    // A truncated digest and a digest that is not JSON: named, never a crash.
    let p = d.path().join(&digests[1]);
    let raw = std::fs::read(&p).unwrap();
    std::fs::write(&p, &raw[..raw.len() / 2]).unwrap();
    write(d.path(), &digests[2], &gz(b"not json at all"));
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1);
    let bad: Vec<String> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["reason"] == "unreadable_digest")
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bad, vec![digests[1].clone(), digests[2].clone()], "{v}");
}

#[test]
fn digests_are_found_by_content_and_identical_copies_count_once() {
    let (d, digests, _) = trail(29, 1, false, DigestGenOptions::default());
    let (_, base) = run(d.path(), &[]);
    // A copy of one digest under a name that says nothing: detected by content, deduplicated.
    std::fs::copy(d.path().join(&digests[0]), d.path().join("copy-of-something.gz")).unwrap();
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["digests"], base["digests"]);
    assert_eq!(v["log_files_checked"], base["log_files_checked"]);
    assert!(strs_plain(&v["notes"]).iter().any(|n| n.contains("identical copies")));
    // The same trail given twice (two inputs): same verdict, paths disambiguated by input.
    let out = bin()
        .arg("integrity")
        .arg(d.path())
        .arg(d.path().join("AWSLogs"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[cfg(unix)]
#[test]
fn fifo_and_symlink_loop_in_the_tree_do_not_hang() {
    let (d, _, _) = trail(34, 1, false, DigestGenOptions::default());
    let dir = d.path().join("AWSLogs/111122223333/CloudTrail/us-east-1");
    std::os::unix::fs::symlink("..", dir.join("loop")).unwrap();
    let fifo = dir.join("pipe.json.gz");
    if !std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo not available");
        return;
    }
    let out = bin()
        .arg("integrity")
        .arg(d.path())
        .args(["--format", "json"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let v = json(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{v}");
    let reasons = strs(&v, "problems", "reason");
    assert!(reasons.contains(&"not_a_regular_file".to_string()), "{v}");
    assert!(reasons.contains(&"already_visited".to_string()), "{v}");
}

#[test]
fn scan_skips_digest_files() {
    let (d, digests, _) = trail(30, 1, false, DigestGenOptions::default());
    let (code, v) = scan_json(&[d.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    let plain = TempDir::new().unwrap();
    generate(&GenOptions {
        seed: 30,
        out_dir: plain.path().to_path_buf(),
        hours: 1,
        incident: false,
        ..Default::default()
    })
    .unwrap();
    let (_, w) = scan_json(&[plain.path().to_str().unwrap()]);
    assert_eq!(v["events"], w["events"], "digests add no events");
    assert_eq!(v["records"], w["records"]);
    assert!(v["problems_by_reason"]["digest"].as_u64().unwrap() >= 1, "{v}");
    // A digest named on the command line is detected by content and skipped, not an event.
    let one = d.path().join(&digests[0]);
    let (code, v) = scan_json(&[one.to_str().unwrap()]);
    assert_eq!(v["events"], 0);
    assert_eq!(v["files"]["skipped"], 1, "{v}");
    assert_eq!(code, 0, "{v}");
}

#[test]
fn rsa_known_answer() {
    let k = test_key();
    assert_eq!(k.sign_hex(KAT_MSG.as_bytes()), KAT_SIG);
    let public = parse_public_key(&k.public_der()).unwrap();
    assert_eq!(parse_public_key(TEST_PUB_PEM.as_bytes()).unwrap(), public, "SPKI PEM = PKCS#1 DER");
    assert!(verify_sha256_rsa(&public, KAT_MSG.as_bytes(), &unhex(KAT_SIG)).is_ok());
    let mut bad = unhex(KAT_SIG);
    bad[100] ^= 1;
    assert!(verify_sha256_rsa(&public, KAT_MSG.as_bytes(), &bad).is_err());
    assert!(verify_sha256_rsa(&public, b"another message", &unhex(KAT_SIG)).is_err());
}

#[test]
fn signatures_are_verified_with_public_keys() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(31, 2, false, opts);
    let keys = TempDir::new().unwrap();
    // The SPKI PEM form.
    write(keys.path(), &format!("{fp}.pem"), TEST_PUB_PEM.as_bytes());
    let k = keys.path().to_str().unwrap();
    let (code, v) = run(d.path(), &["--public-keys", k]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["signatures_checked"], digests.len() as u64);
    assert_eq!(v["signatures_unchecked"], 0);

    // `aws cloudtrail list-public-keys` output (base64 DER PKCS#1) works too.
    let keys2 = TempDir::new().unwrap();
    let list = serde_json::json!({"PublicKeyList": [{
        "Value": b64(&test_key().public_der()),
        "ValidityStartTime": "2024-01-01T00:00:00Z",
        "ValidityEndTime": "2025-01-01T00:00:00Z",
        "Fingerprint": fp,
    }]});
    write(keys2.path(), "keys.json", list.to_string().as_bytes());
    let (code, v) = run(d.path(), &["--public-keys", keys2.path().to_str().unwrap()]);
    assert_eq!((code, v["signatures_checked"].as_u64()), (0, Some(digests.len() as u64)), "{v}");

    // Without sidecars, every digest but the newest of each chain gets its signature from
    // its successor's previousDigestSignature; the newest cannot be checked, which fails.
    let chains: std::collections::BTreeSet<&str> = digests.iter().map(|s| chain_of(s)).collect();
    for x in &digests {
        std::fs::remove_file(d.path().join(format!("{x}.metadata.json"))).unwrap();
    }
    let (code, v) = run(d.path(), &["--public-keys", k]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["signatures_checked"], (digests.len() - chains.len()) as u64);
    assert_eq!(v["signatures_unchecked"], chains.len() as u64);
    let mut newest: Vec<String> = chains
        .iter()
        .map(|c| digests.iter().rfind(|x| chain_of(x) == *c).unwrap().clone())
        .collect();
    newest.sort();
    assert_eq!(strs(&v, "unverifiable_signatures", "digest"), newest, "{v}");
    assert!(v["bad_signatures"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn a_rewritten_newest_digest_is_caught_only_by_its_signature() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(32, 1, false, opts);
    // The attacker edits a log file of the newest digest and fixes the hash in that digest:
    // hashes and chain agree; only the signature (kept as S3 metadata) gives it away.
    let newest = digests.iter().rfind(|x| chain_of(x) == chain_of(&digests[0])).unwrap();
    let dv: Value = serde_json::from_slice(&gunzip_file(&d.path().join(newest))).unwrap();
    let target = dv["logFiles"][0]["s3Object"].as_str().unwrap().to_string();
    let mut content = gunzip_file(&d.path().join(&target));
    let at = content.windows(15).position(|w| w == b"sourceIPAddress").unwrap() + 18;
    content[at] = if content[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(d.path().join(&target), gz(&content)).unwrap();
    let new_hash = {
        use sha2::Digest;
        sha2::Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    rewrite_digest(d.path(), newest, |v| v["logFiles"][0]["hashValue"] = Value::String(new_hash));
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 3, "undetectable without signatures, but not reported as verified: {v}");
    let keys = TempDir::new().unwrap();
    write(keys.path(), &format!("{fp}.der"), &test_key().public_der());
    let (code, v) = run(d.path(), &["--public-keys", keys.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(strs(&v, "bad_signatures", "digest"), vec![newest.clone()]);
}

#[test]
fn generated_digests_are_deterministic() {
    let (a, da, _) = trail(33, 1, true, DigestGenOptions::default());
    let (b, db, _) = trail(33, 1, true, DigestGenOptions::default());
    assert_eq!(da, db);
    for x in &da {
        assert_eq!(
            std::fs::read(a.path().join(x)).unwrap(),
            std::fs::read(b.path().join(x)).unwrap()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fail closed: attacks from issue 17, each on a generated signed chain
// ---------------------------------------------------------------------------------------------

/// A signed trail whose newest digest (of the first chain) was rewritten by an attacker who
/// edited one of its log files and fixed the hash: the hashes and the chain agree, only the
/// signature can tell. Returns (trail, digests, the newest digest, the key fingerprint).
fn tampered_newest(seed: u64) -> (TempDir, Vec<String>, String, String) {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(seed, 1, false, opts);
    let newest = digests.iter().rfind(|x| chain_of(x) == chain_of(&digests[0])).unwrap().clone();
    let dv: Value = serde_json::from_slice(&gunzip_file(&d.path().join(&newest))).unwrap();
    let target = dv["logFiles"][0]["s3Object"].as_str().unwrap().to_string();
    let mut content = gunzip_file(&d.path().join(&target));
    let at = content.windows(15).position(|w| w == b"sourceIPAddress").unwrap() + 18;
    content[at] = if content[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(d.path().join(&target), gz(&content)).unwrap();
    let new_hash = {
        use sha2::Digest;
        hex(&sha2::Sha256::digest(&content))
    };
    rewrite_digest(d.path(), &newest, |v| v["logFiles"][0]["hashValue"] = Value::String(new_hash));
    (d, digests, newest, fp)
}

/// A key directory holding the test key under `fp`.
fn key_dir(fp: &str) -> TempDir {
    let keys = TempDir::new().unwrap();
    write(keys.path(), &format!("{fp}.der"), &test_key().public_der());
    keys
}

/// Runs with `--public-keys` and expects exit 1 with `digest` unverifiable for `why`.
fn expect_unverifiable(dir: &Path, keys: &Path, digest: &str, why: &str) -> Value {
    let (code, v) = run(dir, &["--public-keys", keys.to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["status"], "failed");
    let hit = v["unverifiable_signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["digest"] == digest)
        .unwrap_or_else(|| panic!("{digest} not unverifiable: {v}"));
    assert!(hit["reason"].as_str().unwrap().contains(why), "{hit} lacks {why:?}");
    v
}

#[test]
fn tampered_newest_digest_naming_an_unknown_key_fails() {
    let (d, _, newest, fp) = tampered_newest(50);
    rewrite_digest(d.path(), &newest, |v| {
        v["digestPublicKeyFingerprint"] = Value::String("f".repeat(32));
    });
    expect_unverifiable(d.path(), key_dir(&fp).path(), &newest, "no usable public key");
}

#[test]
fn tampered_newest_digest_without_metadata_fails() {
    let (d, _, newest, fp) = tampered_newest(51);
    std::fs::remove_file(d.path().join(format!("{newest}.metadata.json"))).unwrap();
    expect_unverifiable(d.path(), key_dir(&fp).path(), &newest, "no signature");
}

#[test]
fn tampered_newest_digest_with_an_empty_signature_fails() {
    let (d, _, newest, fp) = tampered_newest(52);
    write_sidecar(d.path(), &newest, "", "SHA256withRSA").unwrap();
    expect_unverifiable(d.path(), key_dir(&fp).path(), &newest, "empty");
}

#[test]
fn tampered_newest_digest_with_another_signature_algorithm_fails() {
    let (d, _, newest, fp) = tampered_newest(53);
    let sig = "ab".repeat(256);
    write_sidecar(d.path(), &newest, &sig, "SHA1withRSA").unwrap();
    rewrite_digest(d.path(), &newest, |v| {
        v["digestSignatureAlgorithm"] = Value::String("SHA1withRSA".into());
    });
    expect_unverifiable(d.path(), key_dir(&fp).path(), &newest, "unsupported signature algorithm");
}

#[test]
fn an_empty_or_wrong_public_key_folder_fails_every_digest() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let (d, digests, _) = trail(54, 1, false, opts);
    let empty = TempDir::new().unwrap();
    let (code, v) = run(d.path(), &["--public-keys", empty.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["unverifiable_signatures"].as_array().unwrap().len(), digests.len(), "{v}");
    assert!(strs(&v, "problems", "reason").contains(&"no_public_keys".to_string()), "{v}");
    // Keys, but not the one the digests name.
    let wrong = key_dir(&"e".repeat(32));
    let (code, v) = run(d.path(), &["--public-keys", wrong.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["signatures_checked"], 0);
    assert_eq!(v["unverifiable_signatures"].as_array().unwrap().len(), digests.len(), "{v}");
}

#[test]
fn a_key_outside_its_validity_window_fails() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(55, 1, false, opts);
    let list = |start: &str, end: &str| {
        serde_json::json!({"PublicKeyList": [{
            "Value": b64(&test_key().public_der()),
            "ValidityStartTime": start,
            "ValidityEndTime": end,
            "Fingerprint": fp,
        }]})
        .to_string()
    };
    let keys = TempDir::new().unwrap();
    // The key was rotated out before the trail's digests (2024-03-11) were signed.
    write(
        keys.path(),
        "keys.json",
        list("2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z").as_bytes(),
    );
    let v = expect_unverifiable(d.path(), keys.path(), &digests[0], "not valid at");
    assert_eq!(v["unverifiable_signatures"].as_array().unwrap().len(), digests.len());
    // Inside its window (AWS CLI v2 prints offsets): verified.
    write(
        keys.path(),
        "keys.json",
        list("2024-01-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00").as_bytes(),
    );
    let (code, v) = run(d.path(), &["--public-keys", keys.path().to_str().unwrap()]);
    assert_eq!((code, v["signatures_checked"].as_u64()), (0, Some(digests.len() as u64)), "{v}");
}

#[test]
fn a_moved_digest_fails() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(56, 1, false, opts);
    // The newest digest of a chain moved to another day's folder, sidecar and all: its
    // signature still verifies (it covers the name it was written under), so only the move
    // gives it away.
    let newest = digests.iter().rfind(|x| chain_of(x) == chain_of(&digests[0])).unwrap();
    let moved = newest.replace("/2024/03/11/", "/2024/03/12/");
    assert_ne!(&moved, newest);
    for (a, b) in [
        (newest.clone(), moved.clone()),
        (format!("{newest}.metadata.json"), format!("{moved}.metadata.json")),
    ] {
        let to = d.path().join(&b);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::rename(d.path().join(&a), to).unwrap();
    }
    let keys = key_dir(&fp);
    let (code, v) = run(d.path(), &["--public-keys", keys.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    let moved_problems: Vec<&Value> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["reason"] == "digest_moved")
        .collect();
    assert_eq!(moved_problems.len(), 1, "{v}");
    assert_eq!(moved_problems[0]["path"], moved.as_str());
    assert_eq!(moved_problems[0]["severity"], "error");
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_tree_are_not_followed() {
    let (d, _, _) = trail(57, 1, false, DigestGenOptions::default());
    let outside = TempDir::new().unwrap();
    let secret = b"root:x:0:0:root:/root:/bin/bash\n";
    let target = write(outside.path(), "passwd", secret);
    let secret_sha = {
        use sha2::Digest;
        hex(&sha2::Sha256::digest(secret))
    };
    // A listed log file replaced by a link to a file outside the tree.
    let logs = log_files(d.path());
    let victim = d.path().join(&logs[2]);
    std::fs::remove_file(&victim).unwrap();
    std::os::unix::fs::symlink(&target, &victim).unwrap();
    let out = bin().arg("integrity").arg(d.path()).args(["--format", "json"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains(&secret_sha), "the outside file's hash is printed: {text}");
    let v = json(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(strs(&v, "missing", "path"), vec![logs[2].clone()], "{v}");
    let skipped: Vec<&Value> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["reason"] == "symlink_outside_input")
        .collect();
    assert_eq!(skipped.len(), 1, "{v}");
    assert_eq!(skipped[0]["path"], logs[2].as_str());
    // The other commands follow the link and read what it leads to: not checked here, so
    // an error, never a skip the status ignores.
    assert_eq!(skipped[0]["severity"], "error", "{v}");
    let table = bin().arg("integrity").arg(d.path()).output().unwrap();
    assert!(!String::from_utf8_lossy(&table.stdout).contains(&secret_sha));
}

#[test]
fn a_bad_successor_does_not_get_its_predecessor_blamed() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(58, 3, false, opts);
    let i = middle(&digests);
    let keys = key_dir(&fp);
    let k = keys.path().to_str().unwrap();
    // The middle digest's sidecar is missing: its signature comes from its successor, and
    // verifies.
    std::fs::remove_file(d.path().join(format!("{}.metadata.json", digests[i]))).unwrap();
    let (code, v) = run(d.path(), &["--public-keys", k]);
    assert_eq!((code, v["signatures_checked"].as_u64()), (0, Some(digests.len() as u64)), "{v}");
    // The successor's previousDigestSignature is altered.
    rewrite_digest(d.path(), &digests[i + 1], |v| {
        let s = v["previousDigestSignature"].as_str().unwrap().to_string();
        let flipped = if s.starts_with('0') { "1" } else { "0" };
        v["previousDigestSignature"] = Value::String(format!("{flipped}{}", &s[1..]));
    });
    let (code, v) = run(d.path(), &["--public-keys", k]);
    assert_eq!(code, 1, "{v}");
    // The successor is what is bad: its own signature fails and its link is broken...
    assert_eq!(strs(&v, "bad_signatures", "digest"), vec![digests[i + 1].clone()], "{v}");
    let b = v["chain_breaks"].as_array().unwrap();
    assert!(
        b.iter().any(|b| b["previous"] == digests[i].as_str()
            && b["next"] == digests[i + 1].as_str()
            && b["reason"].as_str().unwrap().contains("this digest was altered")),
        "{v}"
    );
    // ...and the genuine predecessor is left unverified, not reported as a bad signature.
    assert!(!strs(&v, "bad_signatures", "digest").contains(&digests[i]), "{v}");
    let unv = strs(&v, "unverifiable_signatures", "digest");
    assert_eq!(unv, vec![digests[i].clone()], "{v}");
}

#[test]
fn a_self_referencing_oldest_digest_fails() {
    let (d, digests, _) = trail(59, 2, false, DigestGenOptions::default());
    let oldest = &digests[0];
    let object = {
        let v: Value = serde_json::from_slice(&gunzip_file(&d.path().join(oldest))).unwrap();
        v["digestS3Object"].clone()
    };
    rewrite_digest(d.path(), oldest, |v| {
        v["previousDigestS3Bucket"] = v["digestS3Bucket"].clone();
        v["previousDigestS3Object"] = object;
        v["previousDigestHashValue"] = Value::String("0".repeat(64));
        v["previousDigestHashAlgorithm"] = Value::String("SHA-256".into());
        v["previousDigestSignature"] = Value::String("ab".repeat(256));
    });
    relink(d.path(), &digests, 0);
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1, "{v}");
    let b = v["chain_breaks"].as_array().unwrap();
    assert_eq!(b.len(), 1, "{v}");
    assert_eq!(b[0]["next"], oldest.as_str());
    assert!(b[0]["reason"].as_str().unwrap().contains("names itself"), "{v}");
    assert!(!strs_plain(&v["notes"]).iter().any(|n| n.contains("mid-chain")), "{v}");
}

#[test]
fn signatures_of_the_wrong_length_fail_without_a_false_chain_break() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(60, 3, false, opts);
    let i = middle(&digests);
    let side = d.path().join(format!("{}.metadata.json", digests[i]));
    let meta: Value = serde_json::from_slice(&std::fs::read(&side).unwrap()).unwrap();
    let sig = meta["Metadata"]["signature"].as_str().unwrap().to_string();
    // A leading zero byte added: the same number, the wrong length.
    write_sidecar(d.path(), &digests[i], &format!("00{sig}"), "SHA256withRSA").unwrap();
    let keys = key_dir(&fp);
    let (code, v) = run(d.path(), &["--public-keys", keys.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(strs(&v, "bad_signatures", "digest"), vec![digests[i].clone()], "{v}");
    assert!(v["bad_signatures"][0]["reason"].as_str().unwrap().contains("257 bytes"), "{v}");
    // The successor, which records the right signature, is not blamed.
    assert!(v["chain_breaks"].as_array().unwrap().is_empty(), "{v}");
    // Without keys the disagreement is an error on the metadata, still not a chain break.
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 1, "{v}");
    assert!(v["chain_breaks"].as_array().unwrap().is_empty(), "{v}");
    assert!(strs(&v, "problems", "reason").contains(&"signature_conflict".to_string()), "{v}");

    // A leading zero dropped: find a message whose signature starts with 00.
    let key = test_key();
    let public = parse_public_key(&key.public_der()).unwrap();
    let (msg, full) = (0u32..)
        .map(|n| format!("message {n}"))
        .map(|m| {
            let s = key.sign(m.as_bytes());
            (m, s)
        })
        .find(|(_, s)| s[0] == 0)
        .unwrap();
    assert!(verify_sha256_rsa(&public, msg.as_bytes(), &full).is_ok());
    assert!(verify_sha256_rsa(&public, msg.as_bytes(), &full[1..]).is_err(), "dropped zero");
    let mut longer = vec![0u8];
    longer.extend_from_slice(&full);
    assert!(verify_sha256_rsa(&public, msg.as_bytes(), &longer).is_err(), "added zero");
}

#[test]
fn a_huge_digest_is_summarised_in_bounded_output() {
    // 200,000 listed entries, none present locally, plus 50,000 entries without s3Object:
    // counted in full, named up to the limit.
    let dir = TempDir::new().unwrap();
    let digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/11/111122223333_CloudTrail-Digest_us-east-1_management-events_us-east-1_20240311T090000Z.json.gz";
    let mut doc = String::from(
        r#"{"awsAccountId":"111122223333","digestStartTime":"2024-03-11T08:00:00Z","digestEndTime":"2024-03-11T09:00:00Z","digestS3Bucket":"trailhound-example-trail-bucket","digestS3Object":""#,
    );
    doc.push_str(digest);
    doc.push_str(r#"","digestPublicKeyFingerprint":"0123456789abcdef0123456789abcdef","digestSignatureAlgorithm":"SHA256withRSA","logFiles":["#);
    for n in 0..200_000 {
        doc.push_str(&format!(
            r#"{{"s3Object":"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11/f{n}.json.gz"}},"#
        ));
    }
    doc.push_str(&"{\"x\":1},".repeat(50_000));
    doc.push_str("{}]}");
    write(dir.path(), digest, &gz(doc.as_bytes()));
    let start = std::time::Instant::now();
    let out = bin().arg("integrity").arg(dir.path()).args(["--format", "json"]).output().unwrap();
    let took = start.elapsed();
    assert!(out.stdout.len() < 200_000, "{} bytes of JSON", out.stdout.len());
    let v = json(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["log_files_checked"], 250_001);
    assert_eq!(v["missing_total"], 200_000);
    assert_eq!(v["missing"].as_array().unwrap().len(), 100);
    assert_eq!(v["list_limit"], 100);
    let malformed: Vec<&Value> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["reason"] == "malformed_digest")
        .collect();
    assert!(malformed.len() <= 6, "{v}");
    assert!(malformed.iter().any(|p| p["detail"].as_str().unwrap().contains("more")), "{v}");
    assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
    let table = bin().arg("integrity").arg(dir.path()).output().unwrap();
    assert!(table.stdout.len() < 100_000, "{} bytes of table", table.stdout.len());
    assert!(String::from_utf8_lossy(&table.stdout).contains("199900 more"));
}

// ---------------------------------------------------------------------------------------------
// Hostile keys and forged signatures
// ---------------------------------------------------------------------------------------------

/// DER TLV (test-side only: hostile keys need encodings no encoder would write).
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = body.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        let len = n.to_be_bytes();
        let skip = len.iter().position(|&b| b != 0).unwrap();
        v.push(0x80 | (len.len() - skip) as u8);
        v.extend_from_slice(&len[skip..]);
    }
    v.extend_from_slice(body);
    v
}

/// A positive DER INTEGER, minimally encoded.
fn int(b: &[u8]) -> Vec<u8> {
    let b = &b[b.iter().position(|&x| x != 0).unwrap_or(b.len() - 1)..];
    let mut body = Vec::new();
    if b[0] & 0x80 != 0 {
        body.push(0);
    }
    body.extend_from_slice(b);
    tlv(0x02, &body)
}

fn pkcs1(n_int: &[u8], e_int: &[u8]) -> Vec<u8> {
    tlv(0x30, &[n_int, e_int].concat())
}

fn spki(alg: &[u8], key: &[u8]) -> Vec<u8> {
    tlv(0x30, &[alg.to_vec(), tlv(0x03, &[&[0u8][..], key].concat())].concat())
}

const RSA_ALG: &[u8] =
    &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
/// id-ecPublicKey with the prime256v1 curve.
const EC_ALG: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];

fn pem(label: &str, der: &[u8]) -> String {
    let body = b64(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// Every hostile key file of issue 17, named.
fn hostile_keys() -> Vec<(&'static str, Vec<u8>)> {
    use rsa::pkcs8::EncodePrivateKey;
    let n = unhex(TEST_N);
    let good = pkcs1(&int(&n), &int(&[1, 0, 1]));
    let small_n = {
        let mut m = n[..62].to_vec();
        m[61] |= 1;
        m
    };
    let mut huge_e = vec![0u8; 1 << 20];
    huge_e[0] = 0x01;
    *huge_e.last_mut().unwrap() = 0x01;
    let negative_n = tlv(0x02, &n); // top bit set, no leading zero: a negative INTEGER
    let non_minimal_n = tlv(0x02, &[&[0u8, 0u8][..], &n].concat());
    let non_minimal_e = tlv(0x02, &[0, 1, 0, 1]);
    let private_pem = test_key().0.to_pkcs8_pem(Default::default()).unwrap().to_string();
    vec![
        ("exponent 1", pkcs1(&int(&n), &int(&[1]))),
        ("exponent 2", pkcs1(&int(&n), &int(&[2]))),
        ("exponent 4", pkcs1(&int(&n), &int(&[4]))),
        ("exponent 2^32+1", pkcs1(&int(&n), &int(&[1, 0, 0, 0, 1]))),
        ("496-bit modulus", pkcs1(&int(&small_n), &int(&[1, 0, 1]))),
        ("trailing garbage after the DER", [good.clone(), vec![0]].concat()),
        ("trailing garbage after the SPKI", [spki(RSA_ALG, &good), b"xx".to_vec()].concat()),
        ("PEM labelled CERTIFICATE", pem("CERTIFICATE", &spki(RSA_ALG, &good)).into_bytes()),
        ("PEM labelled PRIVATE KEY", private_pem.into_bytes()),
        ("PEM labelled RSA PRIVATE KEY", pem("RSA PRIVATE KEY", &good).into_bytes()),
        ("PEM PUBLIC KEY holding PKCS#1", pem("PUBLIC KEY", &good).into_bytes()),
        (
            "PEM with trailing garbage",
            [pem("PUBLIC KEY", &spki(RSA_ALG, &good)), "garbage\n".into()].concat().into_bytes(),
        ),
        ("EC algorithm identifier", spki(EC_ALG, &good)),
        ("EC algorithm identifier (PEM)", pem("PUBLIC KEY", &spki(EC_ALG, &good)).into_bytes()),
        ("negative modulus", pkcs1(&negative_n, &int(&[1, 0, 1]))),
        ("non-minimal modulus", pkcs1(&non_minimal_n, &int(&[1, 0, 1]))),
        ("non-minimal exponent", pkcs1(&int(&n), &non_minimal_e)),
        ("1 MiB exponent", pkcs1(&int(&n), &int(&huge_e))),
    ]
}

#[test]
fn hostile_key_files_are_rejected_fast() {
    let n = unhex(TEST_N);
    let good = pkcs1(&int(&n), &int(&[1, 0, 1]));
    assert!(parse_public_key(&good).is_ok(), "the well-formed key is accepted");
    assert!(parse_public_key(&spki(RSA_ALG, &good)).is_ok());
    assert!(parse_public_key(pem("RSA PUBLIC KEY", &good).as_bytes()).is_ok());
    assert!(parse_public_key(b64(&good).as_bytes()).is_ok(), "base64 text of DER");
    assert!(parse_public_key(pkcs1(&int(&n), &int(&[3])).as_slice()).is_ok(), "e = 3 is valid");
    for (what, bytes) in hostile_keys() {
        let start = std::time::Instant::now();
        let r = parse_public_key(&bytes);
        assert!(r.is_err(), "{what} was accepted");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "{what} took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn hostile_key_files_fail_the_run() {
    let (d, _, newest, fp) = tampered_newest(61);
    // The attacker signs the rewritten digest for exponent 1: the "signature" is the padded
    // message itself.
    let dv = gunzip_file(&d.path().join(&newest));
    let v: Value = serde_json::from_slice(&dv).unwrap();
    let sha = {
        use sha2::Digest;
        hex(&sha2::Sha256::digest(&dv))
    };
    let text = signing_string(
        v["digestEndTime"].as_str().unwrap(),
        v["digestS3Bucket"].as_str().unwrap(),
        v["digestS3Object"].as_str().unwrap(),
        &sha,
        v["previousDigestSignature"].as_str(),
    );
    write_sidecar(
        d.path(),
        &newest,
        &hex(&emsa_pkcs1_sha256(text.as_bytes(), 256)),
        "SHA256withRSA",
    )
    .unwrap();
    for (what, bytes) in hostile_keys() {
        let keys = TempDir::new().unwrap();
        let ext = if bytes.starts_with(b"-----") { "pem" } else { "der" };
        write(keys.path(), &format!("{fp}.{ext}"), &bytes);
        let start = std::time::Instant::now();
        let (code, v) = run(d.path(), &["--public-keys", keys.path().to_str().unwrap()]);
        assert_eq!(code, 1, "{what}: {v}");
        assert!(
            strs(&v, "problems", "reason").contains(&"public_key_rejected".to_string()),
            "{what}: {v}"
        );
        assert_eq!(v["signatures_checked"], 0, "{what}: {v}");
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "{what}");
    }
}

/// EMSA-PKCS1-v1_5 encoding of SHA-256(`msg`) in `k` bytes (RFC 8017 §9.2).
fn emsa_pkcs1_sha256(msg: &[u8], k: usize) -> Vec<u8> {
    use sha2::Digest;
    let t = [&DIGEST_INFO_SHA256[..], &sha2::Sha256::digest(msg)[..]].concat();
    let mut em = vec![0xffu8; k];
    em[0] = 0;
    em[1] = 1;
    em[k - t.len() - 1] = 0;
    em[k - t.len()..].copy_from_slice(&t);
    em
}

const DIGEST_INFO_SHA256: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Raw RSA with the test key's private exponent: `em^d mod n`, `k` bytes.
fn raw_sign(em: &[u8]) -> Vec<u8> {
    let n = BigUint::from_bytes_be(&unhex(TEST_N));
    let d = BigUint::from_bytes_be(&unhex(crate::integrity_gen::TEST_D));
    let s = BigUint::from_bytes_be(em).modpow(&d, &n).to_bytes_be();
    let mut out = vec![0u8; 256 - s.len()];
    out.extend(s);
    out
}

#[test]
fn forged_paddings_are_rejected() {
    use sha2::Digest;
    let msg = b"2024-03-11T09:00:00Z\nbucket/AWSLogs/x.json.gz\nabc\nnull";
    let public = parse_public_key(&test_key().public_der()).unwrap();
    let good = emsa_pkcs1_sha256(msg, 256);
    assert!(verify_sha256_rsa(&public, msg, &raw_sign(&good)).is_ok(), "control");
    let h = sha2::Sha256::digest(msg);
    let mut forged: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut e = good.clone();
    e[1] = 2;
    forged.push(("block type 2", e));
    let mut e = good.clone();
    e[0] = 1;
    forged.push(("leading byte not zero", e));
    let mut e = good.clone();
    e[40] = 0xfe;
    forged.push(("a padding byte not 0xff", e));
    let mut e = good.clone();
    let sep = 256 - 51 - 1;
    e[sep] = 0xff;
    forged.push(("no zero separator", e));
    let mut e = good.clone();
    e[255] ^= 1;
    forged.push(("another hash", e));
    // DigestInfo without the NULL parameters (shorter T, longer padding).
    let t = [
        &[
            0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x04, 0x20,
        ][..],
        &h[..],
    ]
    .concat();
    let mut e = vec![0xffu8; 256];
    e[0] = 0;
    e[1] = 1;
    e[256 - t.len() - 1] = 0;
    e[256 - t.len()..].copy_from_slice(&t);
    forged.push(("DigestInfo without NULL parameters", e));
    // SHA-512's OID with SHA-256's hash length.
    let mut e = good.clone();
    e[256 - 51 + 14] = 0x03;
    forged.push(("another digest algorithm OID", e));
    // Short padding, the hash in the middle, garbage after it (Bleichenbacher 2006 layout).
    let mut e = vec![0u8; 256];
    e[1] = 1;
    e[2..10].fill(0xff);
    e[10] = 0;
    e[11..11 + 19].copy_from_slice(&DIGEST_INFO_SHA256);
    e[30..62].copy_from_slice(&h);
    e[62..].fill(0x42);
    forged.push(("hash followed by garbage", e));
    // Padding of 7 bytes: too short (RFC 8017 requires at least 8).
    let t = [&DIGEST_INFO_SHA256[..], &h[..]].concat();
    let mut e = vec![0x42u8; 256];
    e[0] = 0;
    e[1] = 1;
    e[2..9].fill(0xff);
    e[9] = 0;
    e[10..10 + t.len()].copy_from_slice(&t);
    forged.push(("padding shorter than 8 bytes, garbage after", e));
    for (what, em) in forged {
        assert!(verify_sha256_rsa(&public, msg, &raw_sign(&em)).is_err(), "{what} verified");
    }
    // Degenerate signatures: 0, 1, n - 1, n, all ones.
    let n = unhex(TEST_N);
    let mut n_minus_1 = n.clone();
    n_minus_1[255] -= 1;
    let mut one = vec![0u8; 256];
    one[255] = 1;
    for (what, s) in [
        ("zero", vec![0u8; 256]),
        ("one", one),
        ("n - 1", n_minus_1),
        ("n", n.clone()),
        ("all ones", vec![0xffu8; 256]),
    ] {
        assert!(verify_sha256_rsa(&public, msg, &s).is_err(), "signature {what} verified");
    }
}

/// Integer cube root, rounded up, by bisection.
fn cube_root_ceil(x: &BigUint) -> BigUint {
    let (mut lo, mut hi) = (BigUint::from(0u8), BigUint::from(1u8) << (x.bits() / 3 + 2));
    while lo < hi {
        let mid = (&lo + &hi) >> 1;
        if &(&mid * &mid * &mid) < x {
            lo = mid + 1u8;
        } else {
            hi = mid;
        }
    }
    lo
}

#[test]
fn bleichenbacher_e3_forgery_is_rejected() {
    use sha2::Digest;
    // A 2048-bit key with e = 3 (the test modulus; e need not fit the private key to verify).
    let n = unhex(TEST_N);
    let der = pkcs1(&int(&n), &int(&[3]));
    let public = parse_public_key(&der).unwrap();
    let msg = b"2024-03-11T09:00:00Z\nbucket/forged\nabc\nnull";
    let h = sha2::Sha256::digest(msg);
    // 00 01 FF 00 DigestInfo hash, then garbage chosen so that the whole is a perfect cube:
    // a verifier that parses the padding and ignores what follows the hash accepts it.
    let prefix = [&[0u8, 1, 0xff, 0][..], &DIGEST_INFO_SHA256[..], &h[..]].concat();
    let mut target = prefix.clone();
    target.resize(256, 0);
    let s = cube_root_ceil(&BigUint::from_bytes_be(&target));
    let cube = (&s * &s * &s).to_bytes_be();
    let mut cube_em = vec![0u8; 256 - cube.len()];
    cube_em.extend(cube);
    assert_eq!(&cube_em[..prefix.len()], &prefix[..], "the forgery is well-formed up to the hash");
    let mut sig = vec![0u8; 256];
    let sb = s.to_bytes_be();
    sig[256 - sb.len()..].copy_from_slice(&sb);
    assert!(verify_sha256_rsa(&public, msg, &sig).is_err(), "Bleichenbacher e=3 forgery verified");
}

// ---------------------------------------------------------------------------------------------
// Property tests: hostile bytes never panic
// ---------------------------------------------------------------------------------------------

/// xorshift64*: a small seeded PRNG, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One to three stacked mutations: truncation, byte flips, inserted junk or JSON syntax,
/// deleted or duplicated ranges, splices of another input, or plain random bytes.
fn mutate(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = v.len();
        match rng.below(8) {
            0 => v.truncate(rng.below(len + 1)),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    if !v.is_empty() {
                        let i = rng.below(v.len());
                        v[i] ^= 1 << rng.below(8);
                    }
                }
            }
            2 => {
                let at = rng.below(len + 1);
                let junk: Vec<u8> = (0..1 + rng.below(64)).map(|_| rng.next() as u8).collect();
                v.splice(at..at, junk);
            }
            3 => {
                const SYN: &[u8] = b"{}[]\":,\\0-eE.nulltruefalse\n\x00\xff";
                for _ in 0..1 + rng.below(6) {
                    if !v.is_empty() {
                        let i = rng.below(v.len());
                        v[i] = SYN[rng.below(SYN.len())];
                    }
                }
            }
            4 => {
                let a = rng.below(len + 1);
                let b = (a + rng.below(256)).min(len);
                v.drain(a..b);
            }
            5 => {
                let a = rng.below(len + 1);
                let b = (a + rng.below(4096)).min(len);
                let seg = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, seg);
            }
            6 => {
                let a = rng.below(other.len() + 1);
                let b = (a + rng.below(4096)).min(other.len());
                let at = rng.below(len + 1);
                v.splice(at..at, other[a..b].iter().copied());
            }
            _ => v = (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
        }
    }
    v
}

/// Runs `f`, and on a panic saves the input as a reproducer and fails naming it.
fn no_panic(what: &str, i: usize, input: &[u8], f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        let p = std::env::temp_dir().join(format!("trailhound-{what}-crash-{i}.bin"));
        std::fs::write(&p, input).unwrap();
        panic!("{what} panicked on iteration {i}; input saved to {}", p.display());
    }
}

/// Real inputs to mutate: gzip log files, their JSON, digests and the other shapes.
fn corpus() -> (TempDir, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (d, digests, _) = trail(40, 1, true, DigestGenOptions::default());
    let mut gz_files: Vec<Vec<u8>> = log_files(d.path())
        .iter()
        .step_by(5)
        .map(|f| std::fs::read(d.path().join(f)).unwrap())
        .collect();
    gz_files.extend(digests.iter().take(3).map(|f| std::fs::read(d.path().join(f)).unwrap()));
    let mut docs: Vec<Vec<u8>> = gz_files
        .iter()
        .map(|g| {
            let mut out = Vec::new();
            gunzip_into(g, &mut out, 1 << 30).unwrap();
            out
        })
        .collect();
    let recs = records_file(&[("a1", "2024-03-11T08:00:00Z"), ("a2", "2024-03-11T08:00:01Z")]);
    let v: Value = serde_json::from_str(&recs).unwrap();
    let arr = v["Records"].to_string();
    let lines: String = v["Records"].as_array().unwrap().iter().map(|r| format!("{r}\n")).collect();
    let lookup = serde_json::json!({"Events": v["Records"].as_array().unwrap().iter()
        .map(|r| serde_json::json!({"EventId": "x", "CloudTrailEvent": r.to_string()}))
        .collect::<Vec<_>>()})
    .to_string();
    docs.extend([recs.into_bytes(), arr.into_bytes(), lines.into_bytes(), lookup.into_bytes()]);
    (d, gz_files, docs)
}

#[test]
fn property_parser_never_panics_on_hostile_bytes() {
    let (_d, gz_files, docs) = corpus();
    let mut rng = Rng(0x5EED_0001);
    let mut buffers = simd_json::Buffers::default();
    let all: Vec<&Vec<u8>> = docs.iter().chain(gz_files.iter()).collect();
    for i in 0..4000 {
        let base = all[rng.below(all.len())];
        let other = all[rng.below(all.len())];
        let input = mutate(&mut rng, base, other);
        no_panic("parse_document", i, &input, || {
            let mut buf = input.clone();
            let mut sink = Parsed::all(0);
            let _ = parse_document(&mut buf, &mut buffers, &mut sink);
            assert_eq!(sink.records as usize, sink.events.len() + sink.rejects.len());
        });
    }
}

#[test]
fn property_decompressor_never_panics_and_respects_the_cap() {
    let (_d, gz_files, _) = corpus();
    let mut rng = Rng(0x5EED_0002);
    let mut out = Vec::new();
    // A small gzip bomb joins the corpus.
    let bomb = gz(&vec![b'{'; 4 << 20]);
    let all: Vec<&Vec<u8>> = gz_files.iter().chain(std::iter::once(&bomb)).collect();
    for i in 0..4000 {
        let base = all[rng.below(all.len())];
        let other = all[rng.below(all.len())];
        let input = if rng.below(4) == 0 { base.to_vec() } else { mutate(&mut rng, base, other) };
        let cap = [16u64, 1024, 64 << 10, 1 << 20][rng.below(4)];
        let had = out.capacity();
        no_panic("gunzip_into", i, &input, || match gunzip_into(&input, &mut out, cap) {
            Ok(()) => assert!(out.len() as u64 <= cap, "output {} > cap {cap}", out.len()),
            // On error the reused buffer may have been filled up to the capacity it already
            // had, but it never grows far past the cap.
            Err(_) => assert!(
                out.capacity() <= had.max(2 * (cap as usize + 1024)),
                "buffer grew to {} (had {had}) past cap {cap}",
                out.capacity()
            ),
        });
    }
}

#[test]
fn property_validator_never_panics_on_hostile_digests() {
    let (d, digests, _) = trail(41, 1, false, DigestGenOptions::default());
    let mut rng = Rng(0x5EED_0003);
    let originals: Vec<(PathBuf, Vec<u8>, Vec<u8>)> = digests
        .iter()
        .map(|x| {
            let p = d.path().join(x);
            let raw = std::fs::read(&p).unwrap();
            let json = gunzip_file(&p);
            (p, raw, json)
        })
        .collect();
    let opts = IntegrityOptions {
        inputs: vec![d.path().to_path_buf()],
        public_keys: None,
        max_file_size: trailhound::ingest::DEFAULT_MAX_FILE_BYTES,
    };
    for i in 0..150 {
        let (p, raw, json) = &originals[rng.below(originals.len())];
        let other = &originals[rng.below(originals.len())].2;
        // Mutate the JSON (and gzip it) or the gzip bytes themselves.
        let input = if rng.below(2) == 0 {
            gz(&mutate(&mut rng, json, other))
        } else {
            mutate(&mut rng, raw, other)
        };
        std::fs::write(p, &input).unwrap();
        no_panic("integrity::validate", i, &input, || {
            let r = validate(&opts).unwrap();
            let _ = trailhound::integrity::render_table(&r);
        });
        std::fs::write(p, raw).unwrap();
    }
    assert!(validate(&opts).unwrap().ok());
}

/// Three ways a planted file escaped a signed check while the other commands read its events:
/// a symbolic link that makes the file be visited first through a `CloudTrail-Insight/` path
/// (integrity visits each file once, by the first path, and never reads Insight files), a file
/// larger than integrity's cap (ignored as "neither log nor digest", while `scan
/// --max-file-size` reads it), and a file integrity could not read. Each now keeps the run from
/// OK.
#[test]
fn a_file_reached_through_an_insight_link_or_too_large_to_check_is_never_ok() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, _, _) = trail(62, 3, false, opts);
    let keys = key_dir(&fp);
    let k = ["--public-keys", keys.path().to_str().unwrap()];
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")), "the untouched trail: {v}");
    let logs = log_files(d.path());
    let account = logs[0].split('/').nth(1).unwrap().to_string();
    let rec = records_file(&[("f2f2f2f2-2222-3333-4444-555555555555", "2024-03-11T08:30:00Z")]);
    let scan_events = |dir: &Path, extra: &[&str]| {
        let out = bin().arg("scan").arg(dir).args(["--format", "json", "-q"]).args(extra).output();
        json(&out.unwrap().stdout)["events"].as_u64().unwrap()
    };
    let before = scan_events(d.path(), &[]);

    // 1. A folder of planted files under another account, reached first through a link named
    //    CloudTrail-Insight in the first account's folder.
    let zz = "AWSLogs/999988887777/CloudTrail/us-east-1/2024/03/11/zz";
    write(
        d.path(),
        &format!("{zz}/999988887777_CloudTrail_us-east-1_20240311T0830Z_PLANTED.json.gz"),
        &gz(rec.as_bytes()),
    );
    let link = d.path().join(format!("AWSLogs/{account}/CloudTrail-Insight"));
    std::os::unix::fs::symlink("../999988887777/CloudTrail/us-east-1/2024/03/11/zz", &link)
        .unwrap();
    assert_eq!(scan_events(d.path(), &[]), before + 1, "scan reads the planted record");
    let (code, v) = run(d.path(), &k);
    assert_eq!(code, 1, "{v}");
    assert!(
        strs(&v, "problems", "reason").contains(&"symlink_crosses_skipped_folder".into()),
        "{v}"
    );
    std::fs::remove_file(&link).unwrap();
    // A link to the planted file itself, inside a CloudTrail-Insight folder.
    let insight = d.path().join(format!("AWSLogs/{account}/CloudTrail-Insight/us-east-1"));
    std::fs::create_dir_all(&insight).unwrap();
    let target =
        d.path().join(zz).join("999988887777_CloudTrail_us-east-1_20240311T0830Z_PLANTED.json.gz");
    std::os::unix::fs::symlink(&target, insight.join("a.json.gz")).unwrap();
    let (code, v) = run(d.path(), &k);
    assert_eq!(code, 1, "{v}");
    std::fs::remove_dir_all(d.path().join(format!("AWSLogs/{account}/CloudTrail-Insight")))
        .unwrap();
    std::fs::remove_dir_all(d.path().join("AWSLogs/999988887777")).unwrap();
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")), "cleaned up: {v}");

    // 2. A file too large for the cap, outside the CloudTrail folders: scan reads it once the
    //    cap is raised, so integrity cannot call the run OK.
    let big = format!("AWSLogs/{account}/zz-extra/export-part.json.gz");
    let padded = format!("{}{}", " ".repeat(3 << 20), rec);
    write(d.path(), &big, &gz(padded.as_bytes()));
    assert_eq!(scan_events(d.path(), &[]), before + 1);
    let cap = (2u64 << 20).to_string();
    let (code, v) = run(d.path(), &[&k[..], &["--max-file-size", &cap]].concat());
    assert_eq!((code, v["status"].as_str()), (3, Some("unverified")), "{v}");
    assert_eq!(strs(&v, "uncovered", "path"), vec![big.clone()], "{v}");
    // Read whole, its record is listed by no digest: unverified as well.
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (3, Some("unverified")), "{v}");
    std::fs::remove_file(d.path().join(&big)).unwrap();

    // 3. A folder that cannot be listed (when the tests do not run with the rights to list it
    //    anyway): not ok (unverified; nothing was shown to have changed).
    use std::os::unix::fs::PermissionsExt;
    let locked = d.path().join(format!("AWSLogs/{account}/locked"));
    std::fs::create_dir_all(&locked).unwrap();
    write(&locked, "x.json.gz", &gz(rec.as_bytes()));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_err() {
        let (code, v) = run(d.path(), &k);
        assert_eq!((code, v["status"].as_str()), (3, Some("unverified")), "{v}");
    } else {
        eprintln!("SKIPPED part 3: the tests run with the rights to read a mode-000 folder");
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The newest digests of one region deleted with the log files they list: every check passed
/// (OK, exit 0) and nothing was said, though CloudTrail writes a digest every hour for every
/// region of a trail, so the chain ending hours before its trail's other chains shows it. Now
/// the run is unverified, names the chain (`not_shown`), and always says that nothing vouches
/// for what follows the newest digest.
#[test]
fn a_chain_that_ends_hours_before_the_rest_of_its_trail_is_not_ok() {
    for org in [false, true] {
        chain_cut(org, true, 3);
    }
    // Two hours are not a delivery delay either (they passed as ok).
    chain_cut(false, true, 2);
}

/// The same at the other end: the oldest digests of one region deleted with their log files
/// (the first hours of the incident there). Its oldest digest names a predecessor that is not
/// there, while the other chains of the trail start hours earlier: not ok (before: ok, with a
/// note that the export may start mid-chain).
#[test]
fn a_chain_that_starts_hours_after_the_rest_of_its_trail_is_not_ok() {
    chain_cut(false, false, 3);
    chain_cut(true, false, 2);
}

/// [`a_chain_that_ends_hours_before_the_rest_of_its_trail_is_not_ok`] on a trail with (or
/// without) organization-trail copies: with them, every chain of one member account is cut,
/// and the other member's chains of the same trail show it. `newest`: the last `n` digests are
/// cut, else the first `n`.
fn chain_cut(org: bool, newest: bool, n: usize) {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, digests, _) = trail(63, 6, org, opts);
    let keys = key_dir(&fp);
    let k = ["--public-keys", keys.path().to_str().unwrap()];
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")), "the untouched trail: {v}");
    assert!(v["not_shown"].as_array().unwrap().is_empty(), "{v}");
    assert!(v["notes"].to_string().contains("LatestDigestDeliveryTime"), "{v}");
    // The last (or first) `n` digests of the first chain (with organization copies: of every
    // chain of the first member account), their sidecars and the files they list.
    let first = if org {
        digests.iter().find(|x| x.starts_with("AWSLogs/o-")).expect("organization digests")
    } else {
        &digests[0]
    };
    let chain = chain_of(first).to_string();
    let member = chain[..chain.find("/CloudTrail-Digest/").unwrap()].to_string();
    let mut chains: Vec<&str> = digests
        .iter()
        .map(|x| chain_of(x))
        .filter(|c| if org { c.starts_with(&format!("{member}/")) } else { *c == chain })
        .collect();
    chains.sort();
    chains.dedup();
    let mut cut = Vec::new();
    for c in &chains {
        let mut of_chain: Vec<&String> = digests.iter().filter(|x| chain_of(x) == *c).collect();
        of_chain.sort();
        assert!(of_chain.len() >= 5, "{of_chain:?}");
        let part = if newest { &of_chain[of_chain.len() - n..] } else { &of_chain[..n] };
        cut.extend(part.iter().map(|x| x.to_string()));
    }
    for rel in &cut {
        let v: Value = serde_json::from_slice(&gunzip_file(&d.path().join(rel))).unwrap();
        for l in v["logFiles"].as_array().unwrap() {
            let key = l["s3Object"].as_str().unwrap();
            let local = &key[key.find("AWSLogs/").unwrap()..];
            std::fs::remove_file(d.path().join(local)).unwrap();
        }
        std::fs::remove_file(d.path().join(rel)).unwrap();
        let _ = std::fs::remove_file(d.path().join(format!("{rel}.metadata.json")));
    }
    let (code, v) = run(d.path(), &k);
    assert_eq!((code, v["status"].as_str()), (3, Some("unverified")), "{v}");
    let shown = v["not_shown"].to_string();
    let region = chain.rsplit('/').next().unwrap();
    let said = if newest { format!("{n} h before") } else { format!("{n} h after") };
    assert!(shown.contains(region) && shown.contains(&said), "{v}");
}

/// `investigate` on an export whose digests sit beside its logs checks them: one log file
/// rewritten after delivery (a record removed, the file still valid) makes the case say
/// integrity FAILED, write `integrity.json` and exit 1, where it said "verify: OK" and never
/// mentioned the digests. Untouched, the case says the status it has without keys.
#[test]
fn investigate_checks_the_digests_among_its_inputs() {
    let (d, _, _) = trail(7, 4, false, DigestGenOptions::default());
    let investigate = |d: &Path| {
        let out = TempDir::new().unwrap();
        let case = out.path().join("case");
        let o = bin()
            .args(["investigate", "--no-progress", "--key", trailhound::gen::LEAKED_KEY, "-o"])
            .arg(&case)
            .arg(d)
            .output()
            .unwrap();
        let integrity = std::fs::read(case.join("integrity.json")).ok().map(|b| json(&b));
        let html = std::fs::read_to_string(case.join("report.html")).unwrap();
        let status = integrity.as_ref().map(|v| v["status"].clone());
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stderr).to_string(),
            status,
            html,
            integrity,
        )
    };
    let (before, err, status, html, _) = investigate(d.path());
    assert!(html.contains("integrity: UNVERIFIED"), "the report says it too");
    assert!(html.contains("PLAN VERIFIED"));
    assert_eq!(status, Some(Value::from("unverified")), "{err}");
    assert!(err.contains("integrity: UNVERIFIED"), "{err}");
    // One log file of the trail loses its last record.
    let rel = log_files(d.path()).into_iter().next().unwrap();
    let path = d.path().join(&rel);
    let mut v: Value = serde_json::from_slice(&gunzip_file(&path)).unwrap();
    let records = v["Records"].as_array_mut().unwrap();
    assert!(records.len() > 1, "{rel}");
    records.pop();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &serde_json::to_vec(&v).unwrap()).unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    let (after, err, status, html, _) = investigate(d.path());
    assert_eq!(status, Some(Value::from("failed")), "{err}");
    assert!(err.contains("integrity: FAILED"), "{err}");
    assert!(err.contains("verify: OK on the evidence as given, but it does not match"), "{err}");
    assert_eq!(after, 1, "{err}");
    assert_ne!(before, 1, "the untouched case does not fail: {err}");
    assert!(html.contains("EVIDENCE ALTERED") && !html.contains("PLAN VERIFIED"));
    // Given as the account's `CloudTrail` folder, or one region's, without the digests: those
    // beside it, where CloudTrail writes them, are read.
    let account = d.path().join("AWSLogs/111122223333");
    let region = std::fs::read_dir(account.join("CloudTrail")).unwrap().next().unwrap().unwrap();
    for input in [account.join("CloudTrail"), region.path()] {
        let (code, err, status, _, integrity) = investigate(&input);
        assert_eq!(status, Some(Value::from("failed")), "{}: {err}", input.display());
        assert_eq!(code, 1, "{err}");
        let notes = integrity.unwrap()["notes"].to_string();
        assert!(notes.contains("CloudTrail-Digest") && notes.contains("beside"), "{notes}");
    }
    // Without digests: said not checked, here and in the report.
    std::fs::remove_dir_all(account.join("CloudTrail-Digest")).unwrap();
    let (_, err, status, html, _) = investigate(&account.join("CloudTrail"));
    assert_eq!(status, None);
    assert!(err.contains("integrity: not checked"), "{err}");
    assert!(html.contains("integrity: not checked"));
}

/// Chains that name different buckets (`digestS3Bucket`) leave the status at best
/// UNVERIFIED, naming the buckets, and each chain shows its bucket: a review copied a whole
/// chain of another account's bucket, log files and digests signed with the region's key
/// (CloudTrail's keys are per region, not per account), into the export, and got OK.
#[test]
fn chains_of_two_buckets_are_not_ok() {
    let signed = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = signed.fingerprint.clone();
    let (d, _, _) = trail(7, 2, false, signed.clone());
    let keys = TempDir::new().unwrap();
    write(keys.path(), &format!("{fp}.pem"), TEST_PUB_PEM.as_bytes());
    let with_keys = ["--public-keys", keys.path().to_str().unwrap()];
    let (acct, other) = ("444455556666", "123456789012");
    // A copy of one account's logs as another account's, digested in another bucket and
    // signed with the same (regional) key.
    let foreign = TempDir::new().unwrap();
    for rel in log_files(d.path()).into_iter().filter(|r| r.contains(acct)) {
        let to = foreign.path().join(rel.replace(acct, other));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(d.path().join(&rel), &to).unwrap();
    }
    let bucket = DigestGenOptions { bucket: "attacker-owned-bucket".into(), ..signed };
    assert!(!write_digests(foreign.path(), &bucket).unwrap().digests.is_empty());
    let (code, clean) = run(d.path(), &with_keys);
    assert_eq!((code, clean["status"].as_str()), (0, Some("ok")), "{clean:#}");
    assert_eq!(clean.get("buckets"), None, "{clean:#}");
    let ours = clean["chains"][0]["bucket"].clone();
    assert_eq!(ours, "trailhound-example-trail-bucket");
    for f in crate::util::files_under(foreign.path()) {
        let to = d.path().join(f.strip_prefix(foreign.path()).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&f, &to).unwrap();
    }
    let (code, v) = run(d.path(), &with_keys);
    assert_eq!((code, v["status"].as_str()), (3, Some("unverified")), "{v:#}");
    assert_eq!(v["buckets"], serde_json::json!(["attacker-owned-bucket", ours]), "{v:#}");
    assert_eq!(v["mismatched_total"], 0);
    let table = bin().arg("integrity").arg(d.path()).args(with_keys).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("the chains name 2 buckets")
            && table.contains(", bucket attacker-owned-bucket)"),
        "{table}"
    );
}

/// `investigate` given part of the trail on standard input (`-`) beside the export says its
/// records are not proven by the digests (UNVERIFIED, `-` among the files no digest lists),
/// not that the evidence was altered: a review saw "EVIDENCE ALTERED" and exit 1, every
/// listed file matching, because `-` was taken for a file that could not be read.
#[test]
fn investigate_with_standard_input_says_it_is_not_proven_not_altered() {
    let (d, _, _) = trail(7, 2, false, DigestGenOptions::default());
    let rel = log_files(d.path()).into_iter().next().unwrap();
    let piped = gunzip_file(&d.path().join(&rel));
    let out = TempDir::new().unwrap();
    let case = out.path().join("case");
    let o = bin()
        .args(["investigate", "--no-progress", "--key", trailhound::gen::LEAKED_KEY, "-o"])
        .arg(&case)
        .arg(d.path())
        .arg("-")
        .write_stdin(piped)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let integrity = json(&std::fs::read(case.join("integrity.json")).unwrap());
    assert_eq!(integrity["status"], "unverified", "{err}");
    assert_eq!(integrity["problems"], serde_json::json!([]), "{integrity:#}");
    assert!(strs(&integrity, "uncovered", "path").contains(&"-".to_string()), "{integrity:#}");
    assert!(err.contains("its digests do not cover all of it"), "{err}");
    assert_ne!(o.status.code(), Some(1), "{err}");
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    assert!(!html.contains("EVIDENCE ALTERED"));
    // A pipe given by its name (`/dev/stdin`, `<(zcat f)`) is not proven either.
    let o = bin()
        .arg("integrity")
        .arg(d.path())
        .arg("/dev/stdin")
        .args(["--format", "json"])
        .write_stdin(gunzip_file(&d.path().join(&rel)))
        .output()
        .unwrap();
    let v = json(&o.stdout);
    assert!(strs(&v, "uncovered", "path").contains(&"/dev/stdin".to_string()), "{v:#}");
}

/// A region (or an account) deleted whole, its digests with its log files, breaks no other
/// chain: integrity cannot see it offline and stays OK (a review deleted us-west-2 whole). It
/// says so, naming every account and region chain it vouches for, so that a responder can
/// compare them with what the trail logs; the deleted one is no longer named.
#[test]
fn integrity_names_the_chains_it_vouches_for_as_a_region_deleted_whole_leaves_no_trace() {
    let opts = DigestGenOptions { key: Some(test_key()), ..Default::default() };
    let fp = opts.fingerprint.clone();
    let (d, _, _) = trail(21, 3, false, opts);
    let keys = TempDir::new().unwrap();
    write(keys.path(), &format!("{fp}.pem"), TEST_PUB_PEM.as_bytes());
    let k = keys.path().to_str().unwrap();
    let vouched = |v: &Value| -> String {
        strs_plain(&v["notes"])
            .into_iter()
            .find(|n| n.starts_with("the digests vouch only for the"))
            .unwrap_or_else(|| panic!("{v}"))
    };
    let (code, v) = run(d.path(), &["--public-keys", k]);
    assert_eq!(code, 0, "{v}");
    let chains = v["chains"].as_array().unwrap().clone();
    assert!(chains.len() >= 2, "{v}");
    let note = vouched(&v);
    let place =
        |c: &Value| format!("{} {}", c["prefix"].as_str().unwrap(), c["region"].as_str().unwrap());
    for c in &chains {
        assert!(note.contains(&place(c)), "{note}");
    }
    assert!(note.contains(&format!("the {} account and region chain(s)", chains.len())), "{note}");
    // One region deleted whole: still OK (not detectable), and no longer named.
    let gone = &chains[chains.len() - 1];
    let (prefix, region) = (gone["prefix"].as_str().unwrap(), gone["region"].as_str().unwrap());
    for folder in ["CloudTrail", "CloudTrail-Digest"] {
        std::fs::remove_dir_all(d.path().join(prefix).join(folder).join(region)).unwrap();
    }
    let (code, v) = run(d.path(), &["--public-keys", k]);
    assert_eq!(code, 0, "{v}");
    let note = vouched(&v);
    assert!(!note.contains(&place(gone)), "{note}");
    assert!(
        note.contains(&format!("the {} account and region chain(s)", chains.len() - 1)),
        "{note}"
    );
}

/// A case folder used again for a trail without digests kept the earlier case's
/// `integrity.json` (another trail's "OK"), beside a report saying no check ran (a review):
/// it is removed, and the summary lists it only when written.
#[test]
fn a_case_folder_used_again_loses_an_earlier_integrity_json() {
    let (d, _, _) = trail(7, 4, false, DigestGenOptions::default());
    let out = TempDir::new().unwrap();
    let case = out.path().join("case");
    let investigate = || {
        let o = bin()
            .args(["investigate", "--no-progress", "--format", "json", "--key"])
            .arg(trailhound::gen::LEAKED_KEY)
            .arg("-o")
            .arg(&case)
            .arg(d.path())
            .output()
            .unwrap();
        json(&o.stdout)
    };
    let v = investigate();
    assert!(case.join("integrity.json").exists());
    assert!(v["files"].to_string().contains("integrity.json"), "{v}");
    for account in std::fs::read_dir(d.path().join("AWSLogs")).unwrap() {
        let digests = account.unwrap().path().join("CloudTrail-Digest");
        if digests.exists() {
            std::fs::remove_dir_all(digests).unwrap();
        }
    }
    let v = investigate();
    assert!(!case.join("integrity.json").exists(), "the earlier case's integrity.json is gone");
    assert!(!v["files"].to_string().contains("integrity.json"), "{v}");
    assert!(case.join("plan.json").exists());
}

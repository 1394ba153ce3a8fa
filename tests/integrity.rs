//! Digest validation (`integrity`) on generated trails with generated digests, tampered in
//! known ways; and property tests: the record parser, the decompressor and the digest
//! validator never panic on hostile bytes (mutations of real generated files).

use crate::util::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use trailhound::gen::{generate, GenOptions};
use trailhound::ingest::decompress::gunzip_into;
use trailhound::ingest::parse::{parse_document, Parsed};
use trailhound::integrity::testgen::{verify, write_digests, DigestGenOptions, TestKey};
use trailhound::integrity::{validate, IntegrityOptions};

/// A 2048-bit RSA key made with `openssl genrsa 2048` for these tests only (public exponent
/// 65537). It signs nothing but generated test digests.
const TEST_N: &str = "9b11a91c4eb6987745216c55858910c0d858b216d75a5cde94db689dc3c5e893787b4096d2fa496269f9033012714353b51399881e392ca1d75ec5b0b1e6c6be9c027ac7755011a861318c9fc3b408a836d362518d5d3c13323cd349ac5f167077aaec816a3598ad0822d996c57c182116ab464b044af9bffe01bea3e798f9ae7f1df8523a2c3b51a4b56ec09b6f54913d51a486162119e7ecec6dc27dcf58ef325ee4033d239e793967af9afd78853c379970f25a524c1a0ac0c78406a83bb789e49f16f5d0659cfe9ae26478fefa842d2a2b5acaeac69c51ec3c5daf56ede2ddbccd02f5d8485b4fb06ebfb466e7e9a807bd350a5a93325c736f6552e16d83";
const TEST_D: &str = "329dc1258c4bedd880a8384472221b65d7389c68f84276adf0c8ed8d11aa38106af35051eaebe7a8480f100b50f9c7903b3afa9283cb05d68e0651612bb0b88edf3daff60b44e77e9ebb1dbbc895ab7dbce7a2e01bd4a31760fe99b9229aa7286ee74bebb24f6c568ea15184f5515c4ef0a7577a851c3409874fea7a75ce69311a1a79ad25aa24dc7dd703525fc710d38811d57ac4e45ee80e389750eeaf4ddbdd3758bb61edd3e419ad15ebc094d466921e45f515dd9b0a6c9fcd41ffcd68b05972621cc36d44276e9a345b3eff2bc0e518165267441f630bd5aeb145e9d7cc75f684e3029c1fb85048d63cfdae0f1c2e2288475ee090dcb8d84d31e12b2501";
/// The same key's public half as `openssl rsa -pubout` writes it (SubjectPublicKeyInfo).
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

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn test_key() -> TestKey {
    TestKey { n: unhex(TEST_N), e: vec![1, 0, 1], d: unhex(TEST_D) }
}

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
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
    let (d, digests, listed) = trail(21, 3, true, DigestGenOptions::default());
    let logs = log_files(d.path());
    assert_eq!(listed, logs.len(), "every generated log file is listed once");
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 0, "{v}");
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
    assert!(strs_plain(&v["notes"]).iter().any(|n| n.contains("signatures were not checked")));
    // Table output, deterministic.
    let t1 = bin().arg("integrity").arg(d.path()).output().unwrap();
    let t2 = bin().arg("integrity").arg(d.path()).output().unwrap();
    assert_eq!(t1.status.code(), Some(0));
    assert_eq!(t1.stdout, t2.stdout);
    assert!(String::from_utf8_lossy(&t1.stdout).starts_with("integrity: OK"));
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
    assert_eq!(code, 0, "{v}");
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

#[test]
fn restart_with_null_previous_fields_is_a_gap_not_a_break() {
    let (d, digests, _) = trail(27, 3, false, DigestGenOptions::default());
    let i = middle(&digests);
    rewrite_digest(d.path(), &digests[i], |v| {
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
    // Re-link the rest of the chain to the edited digest so that only the restart remains.
    relink(d.path(), &digests, i);
    let (code, v) = run(d.path(), &[]);
    assert_eq!(code, 0, "{v}");
    let g = v["gaps"].as_array().unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0]["new_chain"], true);
    assert_eq!(g[0]["before"], digests[i].as_str());
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
    assert_eq!(code, 0, "{v}");
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
    assert_eq!(out.status.code(), Some(0));
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
    assert_eq!(out.status.code(), Some(0), "{v}");
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
    assert!(verify(&k.public_der(), KAT_MSG.as_bytes(), &unhex(KAT_SIG)));
    let mut bad = unhex(KAT_SIG);
    bad[100] ^= 1;
    assert!(!verify(&k.public_der(), KAT_MSG.as_bytes(), &bad));
    assert!(!verify(&k.public_der(), b"another message", &unhex(KAT_SIG)));
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
    // its successor's previousDigestSignature.
    let chains: std::collections::BTreeSet<&str> = digests.iter().map(|s| chain_of(s)).collect();
    for x in &digests {
        std::fs::remove_file(d.path().join(format!("{x}.metadata.json"))).unwrap();
    }
    let (code, v) = run(d.path(), &["--public-keys", k]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["signatures_checked"], (digests.len() - chains.len()) as u64);
    assert_eq!(v["signatures_unchecked"], chains.len() as u64);
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
    assert_eq!(code, 0, "undetectable without signatures: {v}");
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
    let opts = IntegrityOptions { inputs: vec![d.path().to_path_buf()], public_keys: None };
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

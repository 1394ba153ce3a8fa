//! Issue #14 / SPEC §8: damaged and hostile evidence never hides a tainted event or crashes
//! the run. Every input is built here; `scan_json` checks the accounting invariant
//! `records = events + duplicates + rejected + filtered_out` on each one.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use tempfile::TempDir;
use trailhound::gen::{generate, GenOptions, IncidentTruth, LEAKED_KEY};
use trailhound::ingest::decompress::gunzip_into;

const T0: &str = "2024-03-11T08:00:00Z";
const T1: &str = "2024-03-11T08:05:00Z";

fn id(n: u32) -> String {
    format!("14141414-0000-0000-0000-{n:012}")
}

/// A directory with one good file of two events.
fn with_good_file() -> TempDir {
    let d = TempDir::new().unwrap();
    let good = records_file(&[(&id(1), T0), (&id(2), T1)]);
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/11/good.json.gz",
        &gz(good.as_bytes()),
    );
    d
}

fn scan_dir(d: &Path) -> (i32, Value) {
    scan_json(&[d.to_str().unwrap()])
}

fn problem<'a>(v: &'a Value, file: &str) -> Vec<&'a Value> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["path"].as_str().unwrap().ends_with(file))
        .collect()
}

/// A small generated incident (seed fixed) with its known answer.
fn incident() -> (TempDir, IncidentTruth) {
    let d = TempDir::new().unwrap();
    let opts =
        GenOptions { seed: 14, out_dir: d.path().join("trail"), hours: 4, ..Default::default() };
    let r = generate(&opts).unwrap();
    (d, r.truth.unwrap())
}

/// The principals the plan denies and the keys it deactivates, for `--key LEAKED_KEY` at the
/// incident's end (a fixed cut-off, so the comparison is about the evidence only).
fn denied(inputs: &[&Path], truth: &IncidentTruth) -> (i32, BTreeSet<String>) {
    let out = bin()
        .args(["plan", "--no-progress", "--quiet", "--key", LEAKED_KEY, "--effective-at"])
        .arg(&truth.incident_end)
        .args(inputs)
        .output()
        .unwrap();
    let p = json(&out.stdout);
    let set = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| match a["type"].as_str() {
            Some("put_role_policy" | "put_user_policy") => {
                Some(format!("deny {}", a["principal_arn"].as_str().unwrap()))
            }
            Some("deactivate_access_key") => {
                Some(format!("deactivate {}", a["access_key_id"].as_str().unwrap()))
            }
            _ => None,
        })
        .collect();
    (out.status.code().unwrap(), set)
}

/// Every record of the generated trail (gzipped `{"Records":[…]}` files).
fn records_of(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for f in files_under(dir) {
        let mut text = Vec::new();
        gunzip_into(&std::fs::read(&f).unwrap(), &mut text, u64::MAX).unwrap();
        let v: Value = serde_json::from_slice(&text).unwrap();
        out.extend(v["Records"].as_array().unwrap().iter().cloned());
    }
    out
}

#[test]
fn deep_nesting_costs_one_file_or_one_record_never_the_run() {
    let d = with_good_file();
    let n = 20_000;
    // Balanced brackets at the top level: valid JSON, not CloudTrail.
    let top = gz(format!("{}{}", "[".repeat(n), "]".repeat(n)).as_bytes());
    assert!(top.len() < 1024, "a few hundred bytes of gzip: {}", top.len());
    write(d.path(), "AWSLogs/deep-top.json.gz", &top);
    // Unbalanced: not even JSON.
    write(d.path(), "AWSLogs/deep-open.json.gz", &gz("[".repeat(n).as_bytes()));
    // Inside requestParameters of one record, next to a good record.
    let deep = record(&id(3), T0).replace(
        "\"requestParameters\":null",
        &format!("\"requestParameters\":{{\"x\":{}1{}}}", "[".repeat(n), "]".repeat(n)),
    );
    let doc = format!("{{\"Records\":[{deep},{}]}}", record(&id(4), T1));
    write(d.path(), "AWSLogs/deep-record.json.gz", &gz(doc.as_bytes()));
    // And a record nested in records, the one structure the wire types could recurse into.
    let nested = format!(
        "{{\"Records\":[{}{}{}]}}",
        "{\"eventTime\":\"2024-03-11T08:00:00Z\",\"Records\":[".repeat(n),
        "1",
        "]}".repeat(n)
    );
    write(d.path(), "AWSLogs/deep-records.json.gz", &gz(nested.as_bytes()));
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["events"], 3, "the good file and the good record of deep-record: {v}");
    let p = problem(&v, "deep-record.json.gz");
    assert_eq!((p[0]["reason"].as_str(), p[0]["record"].as_u64()), (Some("too_deep"), Some(0)));
    assert_eq!(problem(&v, "deep-records.json.gz")[0]["reason"], "too_deep");
    assert_eq!(problem(&v, "deep-top.json.gz")[0]["reason"], "not_cloudtrail");
    assert_eq!(problem(&v, "deep-open.json.gz")[0]["reason"], "invalid_json");
    // Every command that reads the trail survives it.
    for cmd in [&["sessions", "--format", "json"][..], &["blast", "--format", "json"]] {
        let out = bin()
            .args(cmd)
            .args(["--key", "AKIAEXAMPLEALICE0001", "--no-progress"])
            .arg(d.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
        json(&out.stdout);
    }
}

#[test]
fn a_benign_record_reusing_a_tainted_event_id_is_a_conflict_not_a_duplicate() {
    let (d, truth) = incident();
    let trail = d.path().join("trail");
    // The first AssumeRole made with the leaked key: it opens the whole chain.
    let all = records_of(&trail);
    let assume = all
        .iter()
        .filter(|r| {
            r["eventName"] == "AssumeRole" && r["userIdentity"]["accessKeyId"] == LEAKED_KEY
        })
        .min_by_key(|r| r["eventTime"].as_str().unwrap().to_string())
        .expect("the incident has an AssumeRole by the leaked key");
    let event_id = assume["eventID"].as_str().unwrap();
    let time = assume["eventTime"].as_str().unwrap();
    // Same eventID, benign content, in a file whose path sorts before every real one.
    let hostile = d.path().join("hostile");
    write(&hostile, "0000-first.json.gz", &gz(records_file(&[(event_id, time)]).as_bytes()));

    let (code, clean) = denied(&[&trail], &truth);
    assert_eq!(code, 0);
    let (code, with) = denied(&[&hostile, &trail], &truth);
    assert_eq!(code, 0, "a conflict is reported, not a failure to read");
    assert!(clean.len() >= 3, "the incident denies roles and deactivates keys: {clean:?}");
    assert_eq!(with, clean, "the benign copy hides nothing");

    let (code, v) = scan_json(&[hostile.to_str().unwrap(), trail.to_str().unwrap()]);
    let (_, v0) = scan_json(&[trail.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["conflicts"], 1, "{v}");
    assert_eq!(v["events"].as_u64().unwrap(), v0["events"].as_u64().unwrap() + 1, "both kept");
    let c = &v["conflict_list"][0];
    assert_eq!(c["event_id"], event_id);
    assert!(c["first"]["path"].as_str().unwrap().ends_with("0000-first.json.gz"), "{c}");
    assert!(c["other"]["path"].as_str().unwrap().contains("/trail/AWSLogs/"), "{c}");
    // The blast radius counts the tainted AssumeRole as before.
    let blast = |inputs: &[&Path]| {
        let out = bin()
            .args(["blast", "--format", "json", "--no-progress", "--quiet", "--key", LEAKED_KEY])
            .args(inputs)
            .output()
            .unwrap();
        json(&out.stdout)["events"].as_u64().unwrap()
    };
    assert_eq!(blast(&[&hostile, &trail]), blast(&[&trail]));
    assert_eq!(blast(&[&trail]) as usize, truth.tainted_event_ids.len());
}

#[test]
fn true_duplicates_are_still_duplicates_whatever_the_key_order_and_spacing() {
    let d = TempDir::new().unwrap();
    let a = record(&id(5), T0);
    // The same record with its keys in another order and pretty-printed.
    let v: serde_json::Map<String, Value> = serde_json::from_str(&a).unwrap();
    let mut keys: Vec<&String> = v.keys().collect();
    keys.reverse();
    let reordered: serde_json::Map<String, Value> =
        keys.into_iter().map(|k| (k.clone(), v[k].clone())).collect();
    let b = serde_json::to_string_pretty(&Value::Object(reordered)).unwrap();
    assert_ne!(a, b);
    write(d.path(), "a.json", format!("{{\"Records\":[{a}]}}").as_bytes());
    write(d.path(), "b.json", format!("{{\"Records\":[{b}]}}").as_bytes());
    // And a copy that differs in one field is a conflict.
    write(
        d.path(),
        "c.json",
        format!("{{\"Records\":[{}]}}", a.replace("198.51.100.7", "203.0.113.9")).as_bytes(),
    );
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (
            v["records"].as_u64(),
            v["events"].as_u64(),
            v["duplicates"].as_u64(),
            v["conflicts"].as_u64()
        ),
        (Some(3), Some(2), Some(1), Some(1)),
        "{v}"
    );
}

#[test]
fn events_after_the_reference_time_are_time_anomalies() {
    let (d, truth) = incident();
    let trail = d.path().join("trail");
    // A call with the leaked key, dated 2031 (the tests pin SOURCE_DATE_EPOCH to 2026-01-01).
    // Signed as the key's own user, so that only its date is odd.
    let future = record(&id(6), "2031-06-01T00:00:00Z")
        .replace("AKIAEXAMPLEALICE0001", LEAKED_KEY)
        .replace("user/alice", "user/ci-deployer")
        .replace("\"userName\":\"alice\"", "\"userName\":\"ci-deployer\"");
    let hostile = d.path().join("hostile");
    write(&hostile, "future.json", format!("{{\"Records\":[{future}]}}").as_bytes());
    let (code, v) = scan_json(&[hostile.to_str().unwrap(), trail.to_str().unwrap()]);
    assert_eq!(code, 0, "an anomaly, not unreadable input: {v}");
    assert_eq!(v["time_anomalies"], 1, "{v}");
    assert_eq!(v["reference_time"], "2026-01-01T00:00:00Z");
    let a = &v["time_anomaly_list"][0];
    assert!(a["path"].as_str().unwrap().ends_with("future.json"), "{a}");
    assert_eq!(
        (a["record"].as_u64(), a["event_time"].as_str()),
        (Some(0), Some("2031-06-01T00:00:00Z"))
    );
    let (_, v0) = scan_json(&[trail.to_str().unwrap()]);
    assert_eq!(v0["time_anomalies"], 0);
    // The stderr warning names it too.
    let out = bin().args(["scan"]).arg(&hostile).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("after the reference time") && err.contains("future.json"), "{err}");
    // At a fixed cut-off the plan is the same with and without it (the default cut-off is
    // the plan's business: it must ignore time anomalies, see Ingest::is_time_anomaly).
    let (_, clean) = denied(&[&trail], &truth);
    let (_, with) = denied(&[&hostile, &trail], &truth);
    assert_eq!(with, clean);
}

#[test]
fn a_duplicate_key_rejects_only_its_record() {
    let d = with_good_file();
    let twice = record(&id(7), T0).replace(
        "\"eventName\":\"DescribeInstances\"",
        "\"eventName\":\"DescribeInstances\",\"eventName\":\"AssumeRole\"",
    );
    let doc = format!("{{\"Records\":[{},{twice},{}]}}", record(&id(8), T0), record(&id(9), T1));
    write(d.path(), "dupkey.json", doc.as_bytes());
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 3, "{v}");
    assert_eq!((v["events"].as_u64(), v["rejected"].as_u64()), (Some(4), Some(1)), "{v}");
    let p = problem(&v, "dupkey.json");
    assert_eq!(
        (p[0]["reason"].as_str(), p[0]["record"].as_u64()),
        (Some("duplicate_key"), Some(1))
    );
    assert!(p[0]["detail"].as_str().unwrap().contains("eventName"), "{}", p[0]);
}

/// A wrapper key given twice (`Records` twice, `Records` and `Events`), or an event's
/// `CloudTrailEvent` twice: other tools keep the last copy, trailhound kept the first and
/// counted nothing. Every array is now read and the file is a failure that says why; the
/// event with two texts is a rejected record.
#[test]
fn a_wrapper_key_given_twice_loses_no_record_silently() {
    let d = with_good_file();
    let lookup = |r: &str| format!("\"CloudTrailEvent\":{}", serde_json::to_string(r).unwrap());
    let twice =
        format!("{{\"Records\":[{}],\"Records\":[{}]}}", record(&id(20), T0), record(&id(21), T1));
    write(d.path(), "records-twice.json", twice.as_bytes());
    let both = format!(
        "{{\"Records\":[{}],\"Events\":[{{{}}}]}}",
        record(&id(22), T0),
        lookup(&record(&id(23), T1))
    );
    write(d.path(), "records-and-events.json", both.as_bytes());
    let texts = format!(
        "{{\"Events\":[{{{},{}}},{{{}}}]}}",
        lookup(&record(&id(24), T0)),
        lookup(&record(&id(25), T0)),
        lookup(&record(&id(26), T1))
    );
    write(d.path(), "two-texts.json", texts.as_bytes());
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 3, "{v}");
    // 2 good + 2 + 2 + 1; the event with two texts is rejected.
    assert_eq!((v["events"].as_u64(), v["rejected"].as_u64()), (Some(7), Some(1)), "{v}");
    for f in ["records-twice.json", "records-and-events.json"] {
        let p = problem(&v, f);
        assert_eq!(
            (p[0]["reason"].as_str(), p[0]["severity"].as_str()),
            (Some("damaged_cloudtrail"), Some("failed")),
            "{f}: {v}"
        );
        assert!(p[0]["detail"].as_str().unwrap().contains("ambiguous"), "{}", p[0]);
    }
    let p = problem(&v, "two-texts.json");
    assert_eq!(
        (p[0]["reason"].as_str(), p[0]["record"].as_u64()),
        (Some("duplicate_key"), Some(0))
    );
}

/// A log file whose gzip magic lost a bit, or compressed twice, or in a container trailhound
/// does not open, found by walking the trail where CloudTrail writes its logs: damaged
/// evidence, a failure (exit 3) naming what it holds, not a stray file skipped with exit 0.
/// A stray file outside the log folders is still skipped.
#[test]
fn a_damaged_log_file_found_by_walking_fails_and_a_stray_file_is_skipped() {
    let d = with_good_file();
    let dir = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/11/";
    let good = gz(records_file(&[(&id(30), T0)]).as_bytes());
    let mut flipped = good.clone();
    flipped[1] ^= 1;
    write(d.path(), &format!("{dir}flipped.json.gz"), &flipped);
    write(d.path(), &format!("{dir}twice.json.gz"), &gz(&good));
    write(d.path(), "AWSLogs/111122223333/CloudTrail/x_CloudTrail_y.json", b"BZh91AY&SY");
    write(d.path(), "notes/README.txt", b"case notes, not evidence");
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 3, "{v}");
    for (f, says) in [
        ("flipped.json.gz", "damaged gzip header"),
        ("twice.json.gz", "compressed twice"),
        ("x_CloudTrail_y.json", "bzip2"),
    ] {
        let p = problem(&v, f);
        assert_eq!(p[0]["severity"].as_str(), Some("failed"), "{f}: {v}");
        assert!(p[0]["detail"].as_str().unwrap().contains(says), "{f}: {}", p[0]);
    }
    let p = problem(&v, "README.txt");
    assert_eq!(p[0]["severity"].as_str(), Some("skipped"), "{v}");
}

/// Documents back to back, and JSON Lines holding a whole document: no record is dropped
/// without a word. A record that also has a `logFiles` key is a record (it was skipped as a
/// digest, or dropped inside a sequence); `Records` that is not an array inside a sequence is
/// a rejected record (it vanished); `Records` twice inside a sequence makes the file damaged
/// (as it does alone); a whole document on one line of JSON Lines is rejected saying how many
/// records it holds (it was "an object with no record fields").
#[test]
fn documents_back_to_back_lose_no_record_without_a_word() {
    let d = with_good_file();
    let with_logfiles = |id: &str| record(id, T0).replacen('{', "{\"logFiles\":[],", 1);
    let seq = format!("{}\n{}", records_file(&[(&id(40), T0)]), with_logfiles(&id(41)));
    write(d.path(), "seq-logfiles.json", seq.as_bytes());
    write(d.path(), "single-logfiles.json", with_logfiles(&id(42)).as_bytes());
    let seq = format!("{}\n{{\"Records\":{{\"a\":1}}}}", records_file(&[(&id(43), T0)]));
    write(d.path(), "seq-records-object.json", seq.as_bytes());
    let twice =
        format!("{{\"Records\":[{}],\"Records\":[{}]}}", record(&id(44), T0), record(&id(45), T1));
    let seq = format!("{}\n{twice}", records_file(&[(&id(46), T0)]));
    write(d.path(), "seq-twice.json", seq.as_bytes());
    let jl =
        format!("{}\n{}\n", record(&id(47), T0), records_file(&[(&id(48), T0), (&id(49), T1)]));
    write(d.path(), "wrapper-line.jsonl", jl.as_bytes());
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 3, "seq-twice.json is damaged: {v}");
    // 2 good + 2 + 1 + 1 (+1 rejected) + 3 + 1 (+1 rejected).
    assert_eq!((v["events"].as_u64(), v["rejected"].as_u64()), (Some(10), Some(2)), "{v}");
    assert!(problem(&v, "single-logfiles.json").is_empty(), "a record, not a digest: {v}");
    let p = problem(&v, "seq-records-object.json");
    assert_eq!(p[0]["reason"].as_str(), Some("not_a_record"), "{v}");
    assert_eq!(problem(&v, "seq-twice.json")[0]["reason"].as_str(), Some("damaged_cloudtrail"));
    let p = problem(&v, "wrapper-line.jsonl");
    assert!(p[0]["detail"].as_str().unwrap().contains("with 2 records"), "{}", p[0]);
}

/// A file of thousands of records that are all rejected (a few KB gzipped): every one is
/// counted, the first thousand are listed, and one entry per reason counts the rest, so that
/// memory stays bounded; a run over a cache says the same.
#[test]
fn a_flood_of_rejected_records_is_counted_but_not_listed_one_by_one() {
    let d = with_good_file();
    let bare: Vec<&str> = vec!["{\"eventID\":\"x\"}"; 2500];
    let flood = format!("{{\"Records\":[{},[1]]}}", bare.join(","));
    write(d.path(), "flood.json.gz", &gz(flood.as_bytes()));
    let cache = TempDir::new().unwrap();
    let c = cache.path().to_str().unwrap();
    for args in [
        &[d.path().to_str().unwrap()][..],
        &[d.path().to_str().unwrap(), "--cache", c],
        &[d.path().to_str().unwrap(), "--cache", c],
    ] {
        let (_, v) = scan_json(args);
        assert_eq!(v["rejected"].as_u64(), Some(2501), "{args:?}");
        let by = &v["problems_by_reason"];
        assert_eq!(
            (by["missing_event_time"].as_u64(), by["not_a_record"].as_u64()),
            (Some(2500), Some(1)),
            "{by}"
        );
        let listed = problem(&v, "flood.json.gz");
        assert_eq!(listed.len(), 1002, "1000 listed, one entry per reason past them");
        assert!(
            listed[1000]["detail"].as_str().unwrap().contains("and 1499 more records"),
            "{}",
            listed[1000]
        );
    }
}

/// 39 pretty-printed records as a terminal shows them.
fn pretty_records(n: u32) -> String {
    let recs: Vec<Value> =
        (0..n).map(|i| serde_json::from_str(&record(&id(100 + i), T0)).unwrap()).collect();
    serde_json::to_string_pretty(&serde_json::json!({ "Records": recs })).unwrap()
}

#[test]
fn a_terminal_paste_fails_and_every_complete_record_is_salvaged() {
    let d = with_good_file();
    let text = pretty_records(39);
    // Starts inside the first record's userIdentity, ends inside the last record, then the
    // shell prompt: 37 complete records in between.
    let start = text.find("\"principalId\"").unwrap() + 5;
    let end = text.rfind("\"awsRegion\"").unwrap();
    let paste = format!("{}\nresponder@host:~/case$ ", &text[start..end]);
    write(d.path(), "pasted.txt", paste.as_bytes());
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 3, "a damaged file is a failure: {v}");
    assert_eq!(v["events"], 2 + 37, "{v}");
    assert_eq!(v["salvaged_records"], 37, "{v}");
    let p = problem(&v, "pasted.txt");
    assert_eq!(
        (p[0]["reason"].as_str(), p[0]["severity"].as_str()),
        (Some("damaged_cloudtrail"), Some("failed"))
    );
    assert!(p[0]["detail"].as_str().unwrap().contains("37 complete records salvaged"), "{}", p[0]);
    // Alone, it is still read (exit 3, not "nothing could be read").
    let (code, v) = scan_json(&[d.path().join("pasted.txt").to_str().unwrap()]);
    assert_eq!((code, v["events"].as_u64()), (3, Some(37)), "{v}");
    // The salvaged records are events like any other: blast reads them back.
    let out = bin()
        .args(["blast", "--format", "json", "--no-progress", "--key", "AKIAEXAMPLEALICE0001"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out.stdout)["events"], 39);
}

#[test]
fn a_truncated_download_and_a_gzip_cut_short_salvage_their_complete_records() {
    let d = with_good_file();
    let text = pretty_records(10);
    // Cut inside the 8th record.
    let cut = text.match_indices("\"eventVersion\"").nth(7).unwrap().0 + 30;
    write(d.path(), "partial.json", &text.as_bytes()[..cut]);
    // A gzip object cut in half (no trailer, deflate stream unfinished).
    let big = pretty_records(300);
    let z = gz(big.as_bytes());
    write(d.path(), "cut.json.gz", &z[..z.len() / 2]);
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 3, "{v}");
    let p = problem(&v, "partial.json");
    assert_eq!(p[0]["reason"], "invalid_json");
    assert!(p[0]["detail"].as_str().unwrap().contains("7 complete records salvaged"), "{}", p[0]);
    let p = problem(&v, "cut.json.gz");
    assert_eq!(p[0]["reason"], "gzip_truncated");
    let detail = p[0]["detail"].as_str().unwrap();
    let n: u64 = detail.split("; ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(n > 50 && n < 300, "about half of the 300 records: {detail}");
    assert_eq!(v["salvaged_records"].as_u64().unwrap(), 7 + n, "{v}");
    // The 300 records share ids with the 10 of partial.json (same numbering): duplicates.
    assert_eq!(v["events"].as_u64().unwrap(), 2 + n, "{v}");
}

#[test]
fn json_that_is_not_cloudtrail_is_skipped_in_a_walk_and_fails_when_named() {
    let d = with_good_file();
    let config = r#"{"fileVersion":"1.0","configSnapshotId":"4a5b","configurationItems":[{"configurationItemVersion":"1.3","resourceType":"AWS::S3::Bucket","awsAccountId":"111122223333"}]}"#;
    write(
        d.path(),
        "AWSLogs/111122223333/Config/us-east-1/2024/3/11/ConfigSnapshot/snap.json.gz",
        &gz(config.as_bytes()),
    );
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail/manifest.json",
        br#"{"files":[{"key":"a.json.gz","size":12}]}"#,
    );
    write(
        d.path(),
        "ground_truth.json",
        br#"[{"attack":"T1078","keys":["AKIAIOSFODNN7EXAMPLE"]}]"#,
    );
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 0, "a bucket export with other services' files is not a failure: {v}");
    assert_eq!(
        (v["files"]["read"].as_u64(), v["files"]["skipped"].as_u64()),
        (Some(1), Some(3)),
        "{v}"
    );
    for f in ["snap.json.gz", "manifest.json", "ground_truth.json"] {
        let p = problem(&v, f);
        assert_eq!(
            (p[0]["reason"].as_str(), p[0]["severity"].as_str()),
            (Some("not_cloudtrail"), Some("skipped")),
            "{f}"
        );
    }
    let named = d.path().join("ground_truth.json");
    let (code, v) =
        scan_json(&[d.path().join("AWSLogs").to_str().unwrap(), named.to_str().unwrap()]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(problem(&v, "ground_truth.json")[0]["severity"], "failed");
    // Named after the directory that holds it, or before: the same failure (the walk found it
    // first and the name given after was dropped as a second sight of the file: exit 0).
    let manifest = d.path().join("AWSLogs/111122223333/CloudTrail/manifest.json");
    let (dir, manifest) = (d.path().to_str().unwrap(), manifest.to_str().unwrap());
    for args in [[dir, manifest], [manifest, dir]] {
        let (code, v) = scan_json(&args);
        assert_eq!(code, 3, "{args:?}: {v}");
        assert_eq!(problem(&v, "manifest.json")[0]["severity"], "failed", "{args:?}");
    }
}

#[test]
fn oversized_values_are_capped_and_counted() {
    let d = TempDir::new().unwrap();
    let agent = "A".repeat(4 << 20);
    let recs: Vec<String> = (0..4)
        .map(|i| record(&id(20 + i), T0).replace("aws-cli/2.15.0", &format!("{agent}{i}")))
        .collect();
    let doc = format!("{{\"Records\":[{}]}}", recs.join(","));
    let z = gz(doc.as_bytes());
    assert!(z.len() < 200_000, "{}", z.len());
    write(d.path(), "agents.json.gz", &z);
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["truncated_fields"], 4, "{v}");
    let out = bin()
        .args(["blast", "--format", "json", "--no-progress", "--key", "AKIAEXAMPLEALICE0001"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(out.stdout.len() < 100_000, "blast JSON of {} bytes", out.stdout.len());
    let b = json(&out.stdout);
    let agents = b["user_agents"].as_object().unwrap();
    // The four agents differ only past the cap: one truncated value, counted four times.
    assert_eq!(agents.len(), 1, "{:?}", agents.keys().map(|k| k.len()).collect::<Vec<_>>());
    let (ua, n) = agents.iter().next().unwrap();
    assert_eq!(n, 4);
    assert!(ua.len() < 4096 + 64 && ua.contains("truncated by trailhound"), "{}", &ua[4000..]);
}

#[test]
fn concatenated_documents_on_stdin_and_in_one_gzip_object_are_read() {
    let a = records_file(&[(&id(30), T0), (&id(31), T1)]);
    let b = records_file(&[(&id(32), T0)]);
    let c = format!("[{}]", record(&id(33), T1));
    // `cat *.json.gz | trailhound scan -`: gzip members, each a whole document.
    let mut members = gz(a.as_bytes());
    members.extend(gz(b.as_bytes()));
    members.extend(gz(c.as_bytes()));
    // The same documents uncompressed, back to back and separated by newlines, and all in
    // one gzip member.
    let plain = format!("{a}{b}\n{c}\n");
    let one = gz(plain.as_bytes());
    for (what, input) in [("members", members), ("plain", plain.into_bytes()), ("one", one)] {
        let out = bin()
            .args(["scan", "-", "--format", "json", "--no-progress"])
            .write_stdin(input)
            .output()
            .unwrap();
        let v = json(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: {v} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            (v["records"].as_u64(), v["events"].as_u64()),
            (Some(4), Some(4)),
            "{what}: {v}"
        );
        assert_eq!(v["shapes"]["concatenated"], 1, "{what}: {v}");
    }
    // A broken document in the sequence makes the whole a damaged file, records salvaged.
    let broken = format!("{a}{}", &b[..b.len() - 3]);
    let out = bin()
        .args(["scan", "-", "--format", "json", "--no-progress"])
        .write_stdin(broken)
        .output()
        .unwrap();
    let v = json(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{v}");
    assert_eq!(v["events"], 2, "the two records of the complete document: {v}");
}

/// xorshift64*: a seeded, dependency-free generator for the mutation loop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Inputs the mutations start from: every shape, damaged and hostile ones included.
fn mutation_seeds() -> Vec<Vec<u8>> {
    let a = records_file(&[(&id(40), T0), (&id(41), T1)]);
    let lines = format!("{}\n{}\n", record(&id(42), T0), record(&id(43), T1));
    let lookup = format!(
        "{{\"Events\":[{{\"CloudTrailEvent\":{}}}]}}",
        serde_json::to_string(&record(&id(44), T0)).unwrap()
    );
    vec![
        a.clone().into_bytes(),
        format!("[{}]", record(&id(45), T0)).into_bytes(),
        lines.into_bytes(),
        lookup.into_bytes(),
        record(&id(46), T0).into_bytes(),
        format!("{a}\n{a}").into_bytes(),
        pretty_records(3).into_bytes(),
        pretty_records(3).as_bytes()[40..300].to_vec(),
        br#"{"digestStartTime":"2024-03-11T08:00:00Z","logFiles":[]}"#.to_vec(),
        br#"{"fileVersion":"1.0","configurationItems":[{"a":[1,2,{"b":null}]}]}"#.to_vec(),
    ]
}

/// One mutation of `input` (byte edits, bracket runs, splices, duplicated keys, long strings).
fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(9) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let alphabet = b"{}[]\",:\\ \n0aet";
                v.insert(at, alphabet[rng.below(alphabet.len())]);
            }
            2 if !v.is_empty() => {
                v.remove(rng.below(v.len()));
            }
            3 => {
                // A run of brackets: deep nesting, balanced or not.
                let deep = rng.below(8) == 0;
                let n = 1 + rng.below(if deep { 60_000 } else { 300 });
                let open: &[u8] = if rng.below(2) == 0 { b"[" } else { b"{\"k\":" };
                let mut run = open.repeat(n);
                if rng.below(2) == 0 {
                    run.extend(std::iter::repeat_n(if open == b"[" { b']' } else { b'}' }, n));
                }
                v.splice(at..at, run);
            }
            4 => v.truncate(at),
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let s = rng.below(other.len());
                let e = s + rng.below(other.len() - s + 1);
                v.splice(at..at, other[s..e].iter().copied());
            }
            6 => {
                let key = [
                    &b"\"eventID\":\"x\","[..],
                    b"\"eventName\":\"AssumeRole\",",
                    b"\"userIdentity\":{},",
                ];
                v.splice(at..at, key[rng.below(3)].iter().copied());
            }
            7 => {
                let n = rng.below(40_000);
                let mut s = b"\"userAgent\":\"".to_vec();
                s.extend(std::iter::repeat_n(b'A', n));
                s.extend_from_slice(b"\",");
                v.splice(at..at, s);
            }
            _ => {
                if !v.is_empty() {
                    let s = rng.below(v.len());
                    let e = (s + rng.below(64)).min(v.len());
                    let piece = v[s..e].to_vec();
                    v.splice(at..at, piece);
                }
            }
        }
    }
    v
}

/// Stand-in for the cargo-fuzz targets on stable Rust (fuzz/README.md): seeded mutations of
/// every input shape through `parse_document` (every one) and the whole `ingest` path with
/// gzip and `load_events` (one in 64), on the test thread's default 2 MiB stack. Never a
/// panic, never a stack overflow, and `records = events + rejected` for every document. A
/// short run in CI; `TRAILHOUND_MUTATION_SECS=N` runs for N seconds (fuzz/run.sh), and
/// `TRAILHOUND_MUTATION_SEED` picks another seed.
#[test]
fn mutated_inputs_never_crash_and_always_account() {
    use trailhound::ingest::parse::{parse_document, Parsed};
    let secs: Option<u64> =
        std::env::var("TRAILHOUND_MUTATION_SECS").ok().and_then(|s| s.parse().ok());
    let seed: u64 = std::env::var("TRAILHOUND_MUTATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7472_6169_6c68_6f75);
    let start = std::time::Instant::now();
    let mut rng = Rng(seed | 1);
    let seeds = mutation_seeds();
    let mut corpus = seeds.clone();
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("input.json.gz");
    let mut buffers = simd_json::Buffers::default();
    let (mut n, mut records, mut too_deep, mut damaged) = (0u64, 0u64, 0u64, 0u64);
    loop {
        let done = match secs {
            Some(s) => start.elapsed().as_secs() >= s,
            None => n >= 1500,
        };
        if done {
            break;
        }
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base, &seeds);
        let mut buf = input.clone();
        let mut sink = Parsed::all(0);
        let r = parse_document(&mut buf, &mut buffers, &mut sink);
        assert_eq!(
            sink.records as usize,
            sink.events.len() + sink.rejects.len(),
            "iteration {n} (seed {seed}): {r:?}"
        );
        records += sink.records;
        too_deep += sink.rejects.iter().filter(|r| r.reason.code() == "too_deep").count() as u64;
        damaged +=
            u64::from(matches!(r, Err(trailhound::ingest::parse::FileError::Damaged { .. })));
        // Inputs that still hold records grow the corpus (bounded), as a fuzzer's would.
        if !sink.events.is_empty() && input.len() < 1 << 20 && corpus.len() < 4096 {
            corpus.push(input.clone());
        }
        if n % 64 == 0 {
            let bytes = match rng.below(3) {
                0 => input.clone(),
                1 => gz(&input),
                _ => {
                    let z = gz(&input);
                    z[..rng.below(z.len() + 1)].to_vec()
                }
            };
            std::fs::write(&path, bytes).unwrap();
            let opts = trailhound::ingest::IngestOptions {
                inputs: vec![path.clone()],
                max_file_bytes: 4 << 20,
                ..Default::default()
            };
            let ing = trailhound::ingest::ingest(&opts).unwrap();
            let s = &ing.stats;
            assert_eq!(s.records, s.events + s.duplicates + s.rejected + s.filtered_out, "{s:?}");
            let all: Vec<usize> = (0..ing.stubs.len()).collect();
            assert_eq!(ing.load_events(&all).unwrap().len(), all.len(), "iteration {n}");
        }
        n += 1;
    }
    eprintln!(
        "mutation stand-in: seed {seed}, {n} inputs in {:?}, {records} records, {too_deep} too deep, {damaged} damaged documents, corpus {}",
        start.elapsed(),
        corpus.len()
    );
}

#[test]
fn parquet_copies_are_duplicates_and_never_hide_a_json_record() {
    let d = with_good_file();
    let pq = TempDir::new().unwrap();
    bin()
        .args(["export", "-q", "-o"])
        .arg(pq.path().join("a.parquet"))
        .arg(d.path())
        .assert()
        .code(0);
    std::fs::copy(pq.path().join("a.parquet"), pq.path().join("b.parquet")).unwrap();
    let (code, v) = scan_json(&[pq.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (v["events"].as_u64(), v["duplicates"].as_u64(), v["conflicts"].as_u64()),
        (Some(2), Some(2), Some(0)),
        "{v}"
    );
    // A row and the record it came from are digested differently: a conflict, both kept.
    let (code, v) =
        scan_json(&[pq.path().join("a.parquet").to_str().unwrap(), d.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["events"].as_u64(), v["conflicts"].as_u64()), (Some(4), Some(2)), "{v}");
}

/// One event written by its log file and by an export that spells its time otherwise
/// (`.000Z`) is one event, a duplicate: read as an evidence conflict, both copies were kept
/// and every tainted event counted twice (a review). A time that differs is a conflict still.
#[test]
fn one_event_with_its_time_spelled_otherwise_is_a_duplicate() {
    let d = TempDir::new().unwrap();
    let file = |t: &str| gz(format!("{{\"Records\":[{}]}}", record(&id(1), t)).as_bytes());
    write(d.path(), "a.json.gz", &file("2024-03-11T09:00:00Z"));
    write(d.path(), "b.json.gz", &file("2024-03-11T09:00:00.000Z"));
    write(d.path(), "c.json.gz", &file("2024-03-11T09:00:00+00:00"));
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 0, "{v}");
    let counts =
        |v: &Value| (v["events"].as_u64(), v["duplicates"].as_u64(), v["conflicts"].as_u64());
    assert_eq!(counts(&v), (Some(1), Some(2), Some(0)), "{v}");
    write(d.path(), "d.json.gz", &file("2024-03-11T09:00:01Z"));
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 0, "{v}");
    assert_eq!(counts(&v), (Some(2), Some(2), Some(1)), "{v}");
}

/// A file holding CloudTrail records in a shape trailhound does not read (`Records` an object
/// or a JSON-encoded string, records in a nested array), or compressed in a way it does not
/// open (bzip2, xz), found by walking a folder, is a failure that names the file (exit 3):
/// a review found each skipped as "not CloudTrail" with its records lost and exit 0. A
/// document in UTF-16 with its byte order mark (Windows PowerShell's `>`) is read. JSON
/// that holds no record fields (a manifest) is still skipped, exit 0.
#[test]
fn records_in_a_shape_not_read_fail_the_file_and_utf16_is_read() {
    let recs = format!("[{},{}]", record(&id(1), T0), record(&id(2), T1));
    // Named neither as JSON nor as a log file: the content alone tells.
    let shapes: [(&str, Vec<u8>); 8] = [
        ("object", format!("{{\"Records\":{{\"0\":{}}}}}", record(&id(1), T0)).into_bytes()),
        ("string", format!("{{\"Records\":{}}}", serde_json::json!(recs)).into_bytes()),
        ("nested", format!("[{recs}]").into_bytes()),
        ("bzip2", b"BZh91AY&SY\x00\x01".to_vec()),
        ("xz", b"\xfd7zXZ\x00\x00\x04".to_vec()),
        ("lz4", b"\x04\x22\x4d\x18\x64\x40\xa7".to_vec()),
        ("lzma", b"\x5d\x00\x00\x80\x00\xff\xff".to_vec()),
        // Named as JSON, not JSON (compressed some other way, or damaged).
        ("named.json", b"\x89\x01\x02 not json".to_vec()),
    ];
    for (name, body) in shapes {
        let d = with_good_file();
        let file = format!("{name}-export.bin");
        write(d.path(), &format!("exports/{file}"), &body);
        let (code, v) = scan_dir(d.path());
        assert_eq!(code, 3, "{name}: {v}");
        let p = problem(&v, &file);
        assert_eq!(p.len(), 1, "{name}: {v}");
        assert_eq!(p[0]["severity"], "failed", "{name}: {v}");
        assert_eq!(v["events"], 2, "the good file is still read: {v}");
    }
    // UTF-16, little- and big-endian, with the mark: read.
    let text = records_file(&[(&id(3), T0), (&id(4), T1)]);
    for little in [true, false] {
        let d = with_good_file();
        let mut body: Vec<u8> = if little { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
        for u in text.encode_utf16() {
            body.extend(if little { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        write(d.path(), "exports/utf16.json", &body);
        let (code, v) = scan_dir(d.path());
        assert_eq!((code, &v["events"]), (0, &serde_json::json!(4)), "{little}: {v}");
    }
    // A manifest: skipped, exit 0.
    let d = with_good_file();
    write(d.path(), "exports/manifest.json", br#"{"files":["a.json.gz"],"account":"x"}"#);
    let (code, v) = scan_dir(d.path());
    assert_eq!(code, 0, "{v}");
    assert_eq!(problem(&v, "manifest.json")[0]["severity"], "skipped", "{v}");
}

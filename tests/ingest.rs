//! SPEC §8: every kind of bad input is a clear, counted message naming the file; it never
//! stops the other files (unless --strict) and never panics. SPEC §1: every input shape.

use crate::util::*;
use tempfile::TempDir;

const T0: &str = "2024-03-11T08:00:00Z";
const T1: &str = "2024-03-11T08:05:00Z";

/// A directory with one good file, plus whatever the test adds.
fn with_good_file() -> TempDir {
    let d = TempDir::new().unwrap();
    let good = records_file(&[
        ("11111111-0000-0000-0000-000000000001", T0),
        ("11111111-0000-0000-0000-000000000002", T1),
    ]);
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/11/good.json.gz",
        &gz(good.as_bytes()),
    );
    d
}

fn assert_one_failure(d: &TempDir, file: &str, reason: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![d.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, v) = scan_json(&args);
    assert_eq!(code, 3, "exit 3 when some input could not be read: {v}");
    assert_eq!(v["files"]["read"], 1, "the good file is still read: {v}");
    assert_eq!(v["events"], 2, "{v}");
    assert!(
        problem_reasons(&v).contains(&(file.to_string(), reason.to_string())),
        "expected {file}: {reason} in {:?}",
        problem_reasons(&v)
    );
    v
}

#[test]
fn truncated_gzip() {
    let d = with_good_file();
    let z = gz(records_file(&[("22222222-0000-0000-0000-000000000001", T0)]).as_bytes());
    write(d.path(), "AWSLogs/x/cut.json.gz", &z[..z.len() - 12]);
    let v = assert_one_failure(&d, "cut.json.gz", "gzip_truncated", &[]);
    assert_eq!(v["files"]["failed"], 1);
}

#[test]
fn corrupt_gzip() {
    let d = with_good_file();
    let mut z = gz(records_file(&[("22222222-0000-0000-0000-000000000001", T0)]).as_bytes());
    let n = z.len();
    z[n - 7] ^= 0x55; // CRC-32 trailer
    write(d.path(), "bad-crc.json.gz", &z);
    let (code, v) = scan_json(&[d.path().to_str().unwrap()]);
    assert_eq!(code, 3, "a corrupt object is a failure: {v}");
    assert!(problem_reasons(&v).contains(&("bad-crc.json.gz".into(), "gzip_corrupt".into())));
    // Its readable part held one complete record: salvaged and counted (SPEC §8).
    assert_eq!((v["events"].as_u64(), v["salvaged_records"].as_u64()), (Some(3), Some(1)), "{v}");
}

#[test]
fn corrupt_json() {
    let d = with_good_file();
    write(d.path(), "broken.json", b"{\"Records\":[{\"eventTime\":\"2024-03-11T08:00:00Z\",");
    assert_one_failure(&d, "broken.json", "invalid_json", &[]);
}

#[test]
fn json_that_is_not_cloudtrail() {
    let d = with_good_file();
    write(d.path(), "package.json", br#"{"name":"left-pad","version":"1.3.0"}"#);
    write(d.path(), "numbers.json", b"[1,2,3]");
    // Found while walking: skipped and reported (SPEC §8), not a failure.
    let (code, v) = scan_json(&[d.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["files"]["read"].as_u64(), v["files"]["skipped"].as_u64()), (Some(1), Some(2)));
    let reasons = problem_reasons(&v);
    assert!(reasons.contains(&("package.json".into(), "not_cloudtrail".into())), "{reasons:?}");
    assert!(reasons.contains(&("numbers.json".into(), "not_cloudtrail".into())), "{reasons:?}");
    // Named on the command line: a failure.
    let (code, v) = scan_json(&[
        d.path().join("AWSLogs").to_str().unwrap(),
        d.path().join("package.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{v}");
}

#[test]
fn empty_file() {
    let d = with_good_file();
    write(d.path(), "empty.json.gz", b"");
    assert_one_failure(&d, "empty.json.gz", "empty_file", &[]);
}

#[test]
fn gzip_bomb_stops_at_the_cap() {
    let d = with_good_file();
    // 64 MiB of spaces compresses to ~64 KiB; the cap is 8 MiB.
    let mut bomb = b"{\"Records\":[".to_vec();
    bomb.resize(64 << 20, b' ');
    bomb.extend_from_slice(b"]}");
    write(d.path(), "bomb.json.gz", &gz(&bomb));
    let v = assert_one_failure(&d, "bomb.json.gz", "too_large", &["--max-file-size", "8388608"]);
    let detail =
        v["problems"].as_array().unwrap().iter().find(|p| p["reason"] == "too_large").unwrap()
            ["detail"]
            .clone();
    assert!(detail.as_str().unwrap().contains("8388608"), "{detail}");
}

#[test]
fn unreadable_file_dangling_symlink() {
    let d = with_good_file();
    std::os::unix::fs::symlink(d.path().join("gone.json.gz"), d.path().join("link.json.gz"))
        .unwrap();
    assert_one_failure(&d, "link.json.gz", "not_found", &[]);
}

#[test]
fn missing_input_path_is_named() {
    let d = with_good_file();
    let missing = d.path().join("no-such-dir");
    let (code, v) = scan_json(&[d.path().to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(problem_reasons(&v).contains(&("no-such-dir".into(), "not_found".into())), "{v}");
}

#[test]
fn symlink_loop_terminates_and_is_reported() {
    let d = with_good_file();
    std::os::unix::fs::symlink(d.path(), d.path().join("AWSLogs/loop")).unwrap();
    std::os::unix::fs::symlink("self", d.path().join("self")).unwrap();
    let (code, v) = scan_json(&[d.path().to_str().unwrap()]);
    assert_eq!(v["events"], 2, "each file read once: {v}");
    let reasons = problem_reasons(&v);
    assert!(reasons.contains(&("loop".into(), "symlink_loop".into())), "{reasons:?}");
    assert!(reasons.contains(&("self".into(), "symlink_loop".into())), "{reasons:?}");
    assert_eq!(code, 0, "a loop loses no data: skipped, not failed");
}

#[test]
fn record_with_every_field_null_is_rejected_with_its_index() {
    let d = with_good_file();
    let doc = format!(
        "{{\"Records\":[{},{{\"eventVersion\":null,\"userIdentity\":null,\"eventTime\":null,\"eventSource\":null,\"eventName\":null,\"eventID\":null,\"requestParameters\":null,\"responseElements\":null,\"resources\":null}}]}}",
        record("33333333-0000-0000-0000-000000000001", T0)
    );
    write(d.path(), "nulls.json", doc.as_bytes());
    let (code, v) = scan_json(&[d.path().to_str().unwrap()]);
    assert_eq!(code, 3);
    assert_eq!(
        (v["records"].as_u64(), v["events"].as_u64(), v["rejected"].as_u64()),
        (Some(4), Some(3), Some(1))
    );
    let p = v["problems"].as_array().unwrap().iter().find(|p| p["severity"] == "rejected").unwrap();
    assert_eq!(p["record"], 1);
    assert!(p["path"].as_str().unwrap().ends_with("nulls.json"));
}

#[test]
fn strict_makes_the_first_problem_fatal() {
    let d = with_good_file();
    write(d.path(), "broken.json", b"{\"Records\":[");
    let out = bin().args(["scan", "--strict", "--format", "json"]).arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.json") && err.contains("--strict"), "{err}");
}

#[test]
fn duplicates_across_files_and_trails_count_once() {
    let d = TempDir::new().unwrap();
    let a = records_file(&[
        ("44444444-0000-0000-0000-000000000001", T0),
        ("44444444-0000-0000-0000-000000000002", T1),
    ]);
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/11/a.json.gz",
        &gz(a.as_bytes()),
    );
    // Organization trail copy of the same events, under o-id/account.
    write(
        d.path(),
        "org/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2024/03/11/a.json.gz",
        &gz(a.as_bytes()),
    );
    let (code, v) = scan_json(&[d.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(
        (v["records"].as_u64(), v["events"].as_u64(), v["duplicates"].as_u64()),
        (Some(4), Some(2), Some(2))
    );
}

#[test]
fn every_input_shape_gives_the_same_events() {
    let d = TempDir::new().unwrap();
    let recs = [
        record("55555555-0000-0000-0000-000000000001", T0),
        record("55555555-0000-0000-0000-000000000002", T1),
    ];
    write(d.path(), "a/wrapper.json", format!("{{\"Records\":[{}]}}", recs.join(",")).as_bytes());
    write(d.path(), "b/array.json", format!("[\n{}\n]", recs.join(",\n")).as_bytes());
    write(d.path(), "c/lines.jsonl.gz", &gz(format!("{}\n{}\n", recs[0], recs[1]).as_bytes()));
    let lookup: Vec<String> = recs
        .iter()
        .map(|r| {
            format!(
                "{{\"EventId\":\"x\",\"CloudTrailEvent\":{}}}",
                serde_json::to_string(r).unwrap()
            )
        })
        .collect();
    write(d.path(), "d/lookup.json", format!("{{\"Events\":[{}]}}", lookup.join(",")).as_bytes());
    // Two gzip members in one object.
    let mut multi = gz(format!("{{\"Records\":[{},", recs[0]).as_bytes());
    multi.extend(gz(format!("{}]}}", recs[1]).as_bytes()));
    write(d.path(), "e/multi.json.gz", &multi);
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/digest.json.gz",
        &gz(b"{\"digestStartTime\":\"x\",\"logFiles\":[]}"),
    );
    write(
        d.path(),
        "f/moved-digest.json",
        b"{\"digestStartTime\":\"2024-03-11T08:00:00Z\",\"logFiles\":[]}",
    );
    let dirs = ["a", "b", "c", "d", "e"];
    for sub in dirs {
        let (code, v) = scan_json(&[d.path().join(sub).to_str().unwrap()]);
        assert_eq!(code, 0, "{sub}: {v}");
        assert_eq!(v["events"], 2, "{sub}: {v}");
    }
    let (code, v) = scan_json(&[d.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (v["records"].as_u64(), v["events"].as_u64(), v["duplicates"].as_u64()),
        (Some(10), Some(2), Some(8))
    );
    let shapes = &v["shapes"];
    for s in ["records_wrapper", "json_array", "json_lines", "lookup_events"] {
        assert!(shapes[s].as_u64().unwrap() >= 1, "{s} in {shapes}");
    }
    let reasons = problem_reasons(&v);
    assert!(reasons.contains(&("CloudTrail-Digest".into(), "digest".into())), "{reasons:?}");
    assert!(reasons.contains(&("moved-digest.json".into(), "digest".into())), "{reasons:?}");
}

#[test]
fn stdin_is_an_input() {
    let doc = records_file(&[("66666666-0000-0000-0000-000000000001", T0)]);
    let out = bin()
        .args(["scan", "-", "--format", "json"])
        .write_stdin(gz(doc.as_bytes()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out.stdout)["events"], 1);
}

#[test]
fn time_window_filters_and_is_accounted() {
    let d = with_good_file();
    let (code, v) = scan_json(&[d.path().to_str().unwrap(), "--since", "2024-03-11T08:01:00Z"]);
    assert_eq!(code, 0);
    assert_eq!((v["events"].as_u64(), v["filtered_out"].as_u64()), (Some(1), Some(1)));
    let out = bin().args(["scan", "--since", "yesterday"]).arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "bad time is a usage error");
}

#[test]
fn export_writes_every_format() {
    let d = with_good_file();
    for ext in ["parquet", "csv", "jsonl"] {
        let out = d.path().join(format!("events.{ext}"));
        bin()
            .args(["export", "-q"])
            .arg(d.path().join("AWSLogs"))
            .arg("-o")
            .arg(&out)
            .assert()
            .code(0);
        let bytes = std::fs::read(&out).unwrap();
        match ext {
            "parquet" => assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1")),
            "csv" => {
                let text = String::from_utf8(bytes).unwrap();
                assert_eq!(text.lines().count(), 3, "{text}");
                assert!(text.lines().next().unwrap().starts_with("event_id,event_time,"));
                assert!(text.contains("2024-03-11T08:00:00Z"));
            }
            _ => {
                let text = String::from_utf8(bytes).unwrap();
                let rows: Vec<serde_json::Value> =
                    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
                assert_eq!(rows.len(), 2);
                assert_eq!(rows[0]["access_key_id"], "AKIAEXAMPLEALICE0001");
            }
        }
    }
    bin().args(["export"]).arg(d.path()).args(["-o", "x.xlsx"]).assert().code(2);
}

#[test]
fn json_output_is_deterministic() {
    let d = with_good_file();
    let a = bin().args(["scan", "--format", "json"]).arg(d.path()).output().unwrap().stdout;
    let b = bin()
        .args(["scan", "--format", "json", "--threads", "1"])
        .arg(d.path())
        .output()
        .unwrap()
        .stdout;
    assert_eq!(a, b);
}

#[test]
fn export_partitioned_by_account_region_day() {
    use polars::prelude::{ParquetReader, SerReader};
    let d = TempDir::new().unwrap();
    let opts = trailhound::gen::GenOptions {
        seed: 3,
        hours: 2,
        out_dir: d.path().join("trail"),
        ..Default::default()
    };
    let report = trailhound::gen::generate(&opts).unwrap();
    let out = d.path().join("parts");
    bin()
        .args(["export", "-q", "--partition", "-o"])
        .arg(&out)
        .arg(d.path().join("trail"))
        .assert()
        .code(0);
    let mut rows = 0;
    let mut dirs = Vec::new();
    for p in files_under(&out) {
        let rel = p.strip_prefix(&out).unwrap().to_string_lossy().to_string();
        let parts: Vec<&str> = rel.split('/').collect();
        assert!(
            parts[0].starts_with("account=")
                && parts[1].starts_with("region=")
                && parts[2].starts_with("day="),
            "{rel}"
        );
        let df = ParquetReader::new(std::fs::File::open(&p).unwrap()).finish().unwrap();
        // Every row of a partition belongs to it.
        let regions = df.column("aws_region").unwrap().str().unwrap().clone();
        assert!(regions.iter().all(|r| r == Some(&parts[1]["region=".len()..])), "{rel}");
        rows += df.height();
        dirs.push(rel);
    }
    assert_eq!(rows, report.unique_events, "every unique event exported once");
    assert!(dirs.len() >= 4, "{dirs:?}");
}

#[test]
fn fifo_in_a_walked_tree_is_skipped_not_read() {
    let d = with_good_file();
    let fifo = d.path().join("AWSLogs/pipe.json.gz");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED: mkfifo not available");
        return;
    }
    let (code, v) = scan_json(&[d.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert!(problem_reasons(&v).contains(&("pipe.json.gz".into(), "not_a_file".into())));
}

#[test]
fn broken_or_foreign_parquet_is_reported_and_the_rest_is_read() {
    use polars::prelude::{df, ParquetWriter};
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let opts = trailhound::gen::GenOptions {
        seed: 5,
        hours: 1,
        out_dir: trail.clone(),
        ..Default::default()
    };
    let report = trailhound::gen::generate(&opts).unwrap();
    let input = d.path().join("input");
    let good = input.join("good.parquet");
    std::fs::create_dir_all(&input).unwrap();
    bin().args(["export", "-q", "-o"]).arg(&good).arg(&trail).assert().code(0);
    // The first half of a real export: starts like Parquet, has no footer.
    let bytes = std::fs::read(&good).unwrap();
    write(&input, "truncated.parquet", &bytes[..bytes.len() / 2]);
    // Valid Parquet, but some other table.
    let mut other = df!("name" => ["a", "b"], "value" => [1i64, 2]).unwrap();
    let f = std::fs::File::create(input.join("other.parquet")).unwrap();
    ParquetWriter::new(f).finish(&mut other).unwrap();

    let (code, v) = scan_json(&[input.to_str().unwrap()]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["files"]["failed"], 2, "{v}");
    assert_eq!(v["events"].as_u64().unwrap() as usize, report.unique_events, "{v}");
    let reasons = problem_reasons(&v);
    assert!(reasons.contains(&("truncated.parquet".into(), "invalid_parquet".into())), "{v}");
    assert!(reasons.contains(&("other.parquet".into(), "invalid_parquet".into())), "{v}");
    let detail = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"].as_str().unwrap().ends_with("other.parquet"))
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains("event_id"), "{detail}");
}

use assert_cmd::Command;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The binary, with a clean environment apart from what tests pin.
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("trailhound").expect("binary built");
    c.env_clear().env("SOURCE_DATE_EPOCH", "1767225600");
    c
}

pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn write(dir: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

/// A realistic record (IAM user call) with the given event id and time.
pub fn record(id: &str, time: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER00001","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEALICE0001","userName":"alice"}},"eventTime":"{time}","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"r-{id}","eventID":"{id}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}"#
    )
}

pub fn records_file(ids: &[(&str, &str)]) -> String {
    let recs: Vec<String> = ids.iter().map(|(i, t)| record(i, t)).collect();
    format!("{{\"Records\":[{}]}}", recs.join(","))
}

pub fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

/// `../shared/datasets/<name>` if present; otherwise prints why the test is skipped.
pub fn dataset(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets").join(name);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: dataset {} not found (a clone outside the workspace has no ../shared)",
            p.display()
        );
        None
    }
}

/// Runs `scan --format json` and checks the accounting invariant of SPEC §8.
pub fn scan_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out =
        bin().arg("scan").args(args).args(["--format", "json", "--no-progress"]).output().unwrap();
    let v = json(&out.stdout);
    let n = |k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n("records"),
        n("events") + n("duplicates") + n("rejected") + n("filtered_out"),
        "records = events + duplicates + rejected + filtered_out: {v}"
    );
    (out.status.code().unwrap(), v)
}

pub fn problem_reasons(v: &serde_json::Value) -> Vec<(String, String)> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let path = p["path"].as_str().unwrap();
            let name = Path::new(path).file_name().unwrap().to_string_lossy().to_string();
            (name, p["reason"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Every regular file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

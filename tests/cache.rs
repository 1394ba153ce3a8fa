//! `--cache DIR` (issue #19): a run through the cache gives byte for byte what a cold run
//! gives, on a generated incident with hostile extras; changed, removed and added files are
//! caught; a damaged cache is only a slower run; the cache never goes inside the evidence.

use crate::util::{bin, files_under, gz, write};
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use trailhound::gen::{generate, GenOptions, LEAKED_KEY};

/// A record signed by the leaked key from `ip` (the same length for every `ip` the tests use).
fn leaked_call(id: &str, time: &str, ip: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER00009","arn":"arn:aws:iam::111122223333:user/deploy","accountId":"111122223333","accessKeyId":"{LEAKED_KEY}","userName":"deploy"}},"eventTime":"{time}","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"r-{id}","eventID":"{id}","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
    )
}

/// A generated incident plus what a hostile or damaged bucket adds: an uncompressed file the
/// tests rewrite, a record without an `eventID`, a rejected record, an evidence conflict, a
/// truncated gzip object, an empty file and a foreign JSON document.
fn trail() -> (TempDir, PathBuf) {
    let d = TempDir::new().unwrap();
    let opts = GenOptions {
        seed: 41,
        out_dir: d.path().to_path_buf(),
        hours: 4,
        duplicates: true,
        org_trail: true,
        ..Default::default()
    };
    generate(&opts).unwrap();
    let base = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11";
    let plain = write(
        d.path(),
        &format!("{base}/extra_plain.json"),
        format!(
            r#"{{"Records":[{},{}]}}"#,
            leaked_call(
                "11111111-2222-3333-4444-555555555555",
                "2024-03-11T09:15:00Z",
                "2001:db8::a10"
            ),
            leaked_call(
                "11111111-2222-3333-4444-555555555556",
                "2024-03-11T09:16:00Z",
                "2001:db8::a11"
            ),
        )
        .as_bytes(),
    );
    let noid =
        leaked_call("X", "2024-03-11T09:20:00Z", "2001:db8::a12").replace(r#""eventID":"X","#, "");
    let no_time = leaked_call("11111111-2222-3333-4444-555555555557", "T", "2001:db8::a13")
        .replace(r#""eventTime":"T","#, "");
    // The same id as the first call of extra_plain.json, other content: a conflict.
    let conflict = leaked_call(
        "11111111-2222-3333-4444-555555555555",
        "2024-03-11T09:15:00Z",
        "2001:db8::a14",
    );
    write(
        d.path(),
        &format!("{base}/extra_odd.json.gz"),
        &gz(format!(r#"{{"Records":[{noid},{no_time},{conflict}]}}"#).as_bytes()),
    );
    let damaged = gz(format!(
        r#"{{"Records":[{}]}}"#,
        leaked_call(
            "11111111-2222-3333-4444-555555555558",
            "2024-03-11T09:30:00Z",
            "2001:db8::a15"
        )
    )
    .as_bytes());
    write(d.path(), &format!("{base}/extra_damaged.json.gz"), &damaged[..damaged.len() - 30]);
    write(d.path(), &format!("{base}/extra_empty.json.gz"), b"");
    write(d.path(), &format!("{base}/extra_config.json"), br#"{"configurationItems":[]}"#);
    (d, plain)
}

/// Every output of the commands a responder runs on one trail, with or without the cache:
/// (what, exit code, stdout, stderr, file written).
fn outputs(trail: &Path, cache: Option<&Path>, work: &Path) -> Vec<(String, i32, Vec<u8>)> {
    let key = ["--key", LEAKED_KEY];
    let events = work.join("events.jsonl");
    let _ = std::fs::remove_file(&events);
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("scan", vec!["scan", "--format", "json"]),
        ("sessions", vec!["sessions", "--format", "json"]),
        ("blast", [&["blast", "--format", "json"][..], &key].concat()),
        ("plan", [&["plan", "--effective-at", "2024-03-11T11:00:00Z"][..], &key].concat()),
        ("blast-events", [&["blast", "--events-out", events.to_str().unwrap()][..], &key].concat()),
    ];
    let mut out = Vec::new();
    for (what, args) in runs {
        let mut c = bin();
        c.args(&args).arg(trail).arg("--no-progress");
        if let Some(dir) = cache {
            c.arg("--cache").arg(dir);
        }
        let o = c.output().unwrap();
        let code = o.status.code().unwrap();
        out.push((format!("{what} stdout"), code, o.stdout));
        out.push((format!("{what} stderr"), code, o.stderr));
    }
    out.push(("events file".into(), 0, std::fs::read(&events).unwrap()));
    out
}

/// What `blast --format json` printed among [`outputs`].
fn blast_stdout(o: &[(String, i32, Vec<u8>)]) -> Vec<u8> {
    o.iter().find(|o| o.0 == "blast stdout").unwrap().2.clone()
}

fn same(a: &[(String, i32, Vec<u8>)], b: &[(String, i32, Vec<u8>)], when: &str) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.0, y.0);
        // Shown from a little before the first byte that differs.
        let at = x.2.iter().zip(&y.2).position(|(a, b)| a != b).unwrap_or(x.2.len().min(y.2.len()));
        let near = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(600).min(b.len())..])
                .chars()
                .take(1500)
                .collect::<String>()
        };
        assert!(
            x.1 == y.1 && x.2 == y.2,
            "{when}: {} differs (exit {} vs {}) at byte {at}:\n{}\n---\n{}",
            x.0,
            x.1,
            y.1,
            near(&x.2),
            near(&y.2)
        );
    }
}

/// `(files taken from the cache, files read)` of one `scan` through the cache.
fn cache_counts(trail: &Path, cache: &Path) -> (u64, u64) {
    let (hits, misses, _) = cache_note(trail, cache);
    (hits, misses)
}

/// [`cache_counts`], and whether the whole run was taken at once.
fn cache_note(trail: &Path, cache: &Path) -> (u64, u64, bool) {
    let line = cache_line(trail, cache, &["scan", "--format", "json"]);
    let nums = numbers(&line);
    (nums[0], nums[1], line.contains("(the whole run)"))
}

/// The numbers in `line`, in order.
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect()
}

/// One `args` run through `cache` with `TRAILHOUND_TIMING`: its standard error and output.
fn timed_run(trail: &Path, cache: &Path, args: &[&str]) -> (String, Vec<u8>) {
    let o = bin()
        .env("TRAILHOUND_TIMING", "1")
        .args(args)
        .args(["--no-progress", "--cache"])
        .arg(cache)
        .arg(trail)
        .output()
        .unwrap();
    (String::from_utf8_lossy(&o.stderr).into_owned(), o.stdout)
}

/// The cache line (`TRAILHOUND_TIMING`) of one `args` run through `cache`: how many files
/// were taken from the cache and how, how many were read.
fn cache_line(trail: &Path, cache: &Path, args: &[&str]) -> String {
    let (err, _) = timed_run(trail, cache, args);
    let line = err.lines().find(|l| l.contains("files taken from the cache"));
    line.unwrap_or_else(|| panic!("no cache line in {err}")).to_string()
}

fn entry_files(cache: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["files", "runs"]
        .iter()
        .flat_map(|d| std::fs::read_dir(cache.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn warm_runs_give_byte_for_byte_what_a_cold_run_gives() {
    let (d, _) = trail();
    let work = TempDir::new().unwrap();
    let cache = work.path().join("cache");
    let cold = outputs(d.path(), None, work.path());
    // The trail is hostile enough to mean something: a conflict, a rejected record and a
    // damaged file are reported, and the leaked key's sessions are there.
    let scan = String::from_utf8_lossy(&cold[0].2);
    assert!(scan.contains("\"conflicts\": 1") || scan.contains("\"conflicts\":1"), "{scan}");
    assert!(scan.contains("missing_event_time") && scan.contains("gzip_truncated"), "{scan}");
    assert_eq!(cold[0].1, 3, "a damaged file makes the run incomplete");
    let filling = outputs(d.path(), Some(&cache), work.path());
    same(&cold, &filling, "the run that fills the cache");
    let warm = outputs(d.path(), Some(&cache), work.path());
    same(&cold, &warm, "a warm run");
    // Every file is taken from the cache, the damaged and the empty one too (what they hold
    // and the problem they are does not change); the whole run is kept as one.
    let (hits, misses, whole) = cache_note(d.path(), &cache);
    assert_eq!(misses, 0, "nothing is read again");
    assert!(whole, "the scan's run was kept by the scan before");
    assert!(hits > 20, "{hits}");
    // One table for scan (the inventory), one for the commands that build the session graph,
    // each with its issuing calls in a file of their own, and the graph.
    let mut kept: Vec<String> = std::fs::read_dir(cache.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path().extension().unwrap().to_string_lossy().to_string())
        .collect();
    kept.sort();
    // What a later run with more files needs to extend each table: its files and its ids.
    // And the events the reports read again, for the next run of a report.
    assert_eq!(
        kept,
        ["events", "files", "files", "graph", "grow", "grow", "inputs", "inputs", "r", "r"]
    );
    // Nothing was written into the evidence.
    assert!(!d.path().join("files").exists());
}

#[test]
fn changed_removed_and_added_files_are_read_again() {
    let (d, plain) = trail();
    let work = TempDir::new().unwrap();
    let cache = work.path().join("cache");
    outputs(d.path(), Some(&cache), work.path());
    let (_, base_misses) = cache_counts(d.path(), &cache);

    // Rewritten in place, same size, modification time set back: the status-change time
    // gives it away, and its bytes decide.
    let before = std::fs::metadata(&plain).unwrap();
    let text = std::fs::read_to_string(&plain).unwrap().replace("2001:db8::a10", "2001:db8::a99");
    std::fs::write(&plain, &text).unwrap();
    let f = std::fs::File::options().write(true).open(&plain).unwrap();
    f.set_modified(before.modified().unwrap()).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&plain).unwrap().len(), before.len());
    assert_eq!(cache_counts(d.path(), &cache).1, base_misses + 1, "the rewritten file is read");
    let warm = outputs(d.path(), Some(&cache), work.path());
    same(&outputs(d.path(), None, work.path()), &warm, "after a rewrite");
    let blast = String::from_utf8_lossy(&warm[4].2);
    assert!(blast.contains("2001:db8::a99") && !blast.contains("2001:db8::a10"), "{blast}");

    // Touched only: read and hashed once, the entry kept.
    let f = std::fs::File::options().write(true).open(&plain).unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    drop(f);
    let after_touch = cache_counts(d.path(), &cache);
    assert_eq!(after_touch.1, base_misses, "same bytes: the entry stands");

    // Removed: its entry goes too, once a run over the new set of files is saved.
    let tables = |ext: &str| {
        std::fs::read_dir(cache.join("files"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == ext))
            .count()
    };
    let (t0, e0) = (tables("t"), tables("e"));
    std::fs::remove_file(&plain).unwrap();
    let warm = outputs(d.path(), Some(&cache), work.path());
    assert_eq!((tables("t"), tables("e")), (t0 - 1, e0 - 1), "the removed file's entry");
    same(&outputs(d.path(), None, work.path()), &warm, "after a removal");
    assert!(!String::from_utf8_lossy(&warm[4].2).contains("2001:db8::a99"));
    let (hits, misses) = cache_counts(d.path(), &cache);
    assert_eq!(misses, base_misses);

    // Added: only the new file is read, once.
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11/extra_new.json.gz",
        &gz(format!(
            r#"{{"Records":[{}]}}"#,
            leaked_call(
                "11111111-2222-3333-4444-55555555555a",
                "2024-03-11T10:00:00Z",
                "2001:db8::a77"
            )
        )
        .as_bytes()),
    );
    assert_eq!(cache_counts(d.path(), &cache), (hits, base_misses + 1), "only the new file");
    let warm = outputs(d.path(), Some(&cache), work.path());
    same(&outputs(d.path(), None, work.path()), &warm, "after an addition");
    assert!(String::from_utf8_lossy(&warm[4].2).contains("2001:db8::a77"));
    assert_eq!(cache_counts(d.path(), &cache), (hits + 1, base_misses), "the new file is cached");

    // Every change above made new runs (merged tables) for scan and for the graph commands;
    // only the four used last are kept, each with all its parts, and the newest whole.
    let runs: Vec<String> = std::fs::read_dir(cache.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let tables = runs.iter().filter(|n| n.ends_with(".r")).count();
    assert_eq!(tables, 4, "{runs:?}");
    for n in &runs {
        let key = n.split('.').next().unwrap();
        assert!(runs.contains(&format!("{key}.r")), "{n} kept without its table: {runs:?}");
    }
    assert!(cache_note(d.path(), &cache).2, "the run used last is kept whole");
    let warm = outputs(d.path(), Some(&cache), work.path());
    same(&outputs(d.path(), None, work.path()), &warm, "after runs were pruned");
}

/// How one `args` run through `cache` was had ([`cache_line`]), and how many files it read.
fn how(trail: &Path, cache: &Path, args: &[&str]) -> (String, u64) {
    let line = cache_line(trail, cache, args);
    let how = line.split('(').nth(1).unwrap().split(')').next().unwrap().to_string();
    let read = line.split("), ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    (how, read)
}

/// Copies the log files of another generated trail (another seed, no incident) into
/// `trail`'s folders, where their names fall among the files already there; returns how many.
fn more_logs(trail: &Path, seed: u64) -> u64 {
    let more = TempDir::new().unwrap();
    let opts = GenOptions {
        seed,
        out_dir: more.path().to_path_buf(),
        hours: 2,
        incident: false,
        org_trail: true,
        ..Default::default()
    };
    generate(&opts).unwrap();
    let mut n = 0;
    for p in files_under(&more.path().join("AWSLogs")) {
        let to = trail.join(p.strip_prefix(more.path()).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        assert!(!to.exists(), "{to:?}");
        std::fs::copy(&p, &to).unwrap();
        n += 1;
    }
    n
}

/// The `duplicates` count of a `scan --format json`.
fn duplicates(scan: &[u8]) -> u64 {
    let s = String::from_utf8_lossy(scan);
    let n = s.split("\"duplicates\": ").nth(1).unwrap_or_else(|| panic!("{s}"));
    n.split(',').next().unwrap().parse().unwrap()
}

/// An `AssumeRole` by the leaked key with no `eventID` (damaged or hostile evidence).
fn assume_without_id() -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER00009","arn":"arn:aws:iam::111122223333:user/deploy","accountId":"111122223333","accessKeyId":"{LEAKED_KEY}","userName":"deploy"}},"eventTime":"2024-03-11T09:25:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":{{"roleArn":"arn:aws:iam::111122223333:role/NoIdRole","roleSessionName":"noid"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIAEXAMPLENOID00001","sessionToken":"t","expiration":"Mar 11, 2024, 10:25:00 AM"}},"assumedRoleUser":{{"assumedRoleId":"AROAEXAMPLENOID00001:noid","arn":"arn:aws:sts::111122223333:assumed-role/NoIdRole/noid"}}}},"requestID":"r-noid","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}"#
    )
}

#[test]
fn new_log_files_extend_the_earlier_run_and_give_what_a_cold_run_gives() {
    let (d, _) = trail();
    // An old issuing call without an `eventID`: its stand-in names its file's number, which
    // the new files below change.
    let base = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11";
    write(
        d.path(),
        &format!("{base}/extra_zz_assume.json"),
        format!(r#"{{"Records":[{}]}}"#, assume_without_id()).as_bytes(),
    );
    let work = TempDir::new().unwrap();
    let cache = work.path().join("cache");
    let first = outputs(d.path(), Some(&cache), work.path());
    let sessions = String::from_utf8_lossy(&first[2].2);
    assert!(sessions.contains("\"noid:"), "{sessions}");
    // Log files arrive, their names among the old ones; with them a damaged file, a record
    // without an id and a rejected one, whose problems a cold run lists among the old ones'.
    let mut added = more_logs(d.path(), 1041);
    assert!(added > 10, "{added}");
    let noid =
        leaked_call("X", "2024-03-11T09:40:00Z", "2001:db8::b12").replace(r#""eventID":"X","#, "");
    let no_time = leaked_call("11111111-2222-3333-4444-55555555555b", "T", "2001:db8::b13")
        .replace(r#""eventTime":"T","#, "");
    write(
        d.path(),
        &format!("{base}/extra_more_odd.json.gz"),
        &gz(format!(r#"{{"Records":[{noid},{no_time}]}}"#).as_bytes()),
    );
    write(d.path(), &format!("{base}/extra_more_damaged.json.gz"), &gz(b"{\"Records\":[{")[..20]);
    added += 2;
    // Each kind of run (the inventory, and the commands that build the session graph) reads
    // only the new files, into the table of the run before.
    assert_eq!(how(d.path(), &cache, &["scan"]), ("extending an earlier run".into(), added));
    assert_eq!(
        how(d.path(), &cache, &["sessions", "--format", "json"]),
        ("extending an earlier run".into(), 0),
        "the new files' entries were written by the scan"
    );
    // What the extended runs kept gives what a cold run over all the files gives; so does
    // extending again.
    let cold = outputs(d.path(), None, work.path());
    let scan = String::from_utf8_lossy(&cold[0].2);
    assert!(scan.contains("gzip_truncated") && scan.contains("missing_event_time"), "{scan}");
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "after an extension");
    std::fs::remove_dir_all(cache.join("runs")).unwrap();
    outputs(d.path(), Some(&cache), work.path());
    let again = more_logs(d.path(), 1042);
    let (h, read) = how(d.path(), &cache, &["blast", "--key", LEAKED_KEY]);
    assert_eq!((h.as_str(), read), ("extending an earlier run", again));
    same(
        &outputs(d.path(), None, work.path()),
        &outputs(d.path(), Some(&cache), work.path()),
        "twice",
    );
}

#[test]
fn new_files_that_repeat_an_old_event_or_spoil_the_cache_are_merged_in_full() {
    let (d, _) = trail();
    let base = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11";
    // An issuing call by the leaked key, in a file of its own.
    let assume = assume_without_id().replace(
        r#""requestID":"r-noid","#,
        r#""requestID":"r-noid","eventID":"11111111-2222-3333-4444-5555555555aa","#,
    );
    write(
        d.path(),
        &format!("{base}/extra_zz_assume.json"),
        format!(r#"{{"Records":[{assume}]}}"#).as_bytes(),
    );
    let work = TempDir::new().unwrap();
    let cache = work.path().join("cache");
    let first = outputs(d.path(), Some(&cache), work.path());
    // Second deliveries of events already in the table (duplicates: a call and the issuing
    // call), in a file that comes before theirs: a cold run keeps the new copies, and the
    // run is extended with them in the old copies' places.
    let copy = leaked_call(
        "11111111-2222-3333-4444-555555555556",
        "2024-03-11T09:16:00Z",
        "2001:db8::a11",
    );
    write(
        d.path(),
        &format!("{base}/extra_again.json.gz"),
        &gz(format!(r#"{{"Records":[{copy},{assume}]}}"#).as_bytes()),
    );
    assert_eq!(how(d.path(), &cache, &["scan"]), ("extending an earlier run".into(), 1));
    let cold = outputs(d.path(), None, work.path());
    let sessions = String::from_utf8_lossy(&cold[2].2);
    let edge = sessions.split("5555555555aa").nth(1).unwrap();
    assert!(edge.split('}').next().unwrap().contains("extra_again.json.gz"), "{edge}");
    assert_eq!(duplicates(&cold[0].2), duplicates(&first[0].2) + 2);
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "duplicates in a new file");
    // Another copy of a call with other content (an evidence conflict): which copies a cold
    // run keeps and lists is decided by the whole merge.
    let other = copy.replace("2001:db8::a11", "2001:db8::c11");
    write(
        d.path(),
        &format!("{base}/extra_again2.json.gz"),
        &gz(format!(r#"{{"Records":[{other}]}}"#).as_bytes()),
    );
    assert_eq!(how(d.path(), &cache, &["scan"]), ("file by file".into(), 1));
    let cold = outputs(d.path(), None, work.path());
    let scan = String::from_utf8_lossy(&cold[0].2);
    assert!(scan.contains("\"conflicts\": 2") || scan.contains("\"conflicts\":2"), "{scan}");
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "a conflict in a new file");
    // The ids kept beside the tables scribbled over, the file lists cut short: no earlier
    // run is taken as it is, and a new file still gives what a cold run gives.
    for p in entry_files(&cache) {
        let ext = p.extension().unwrap().to_string_lossy().to_string();
        if ext == "grow" || ext == "files" {
            let mut b = std::fs::read(&p).unwrap();
            if ext == "grow" {
                let mid = b.len() / 2;
                b[mid] ^= 0x5A;
            } else {
                b.truncate(b.len() - 40);
            }
            std::fs::write(&p, b).unwrap();
        }
    }
    more_logs(d.path(), 1043);
    assert_eq!(how(d.path(), &cache, &["scan"]).0, "file by file");
    same(
        &outputs(d.path(), None, work.path()),
        &outputs(d.path(), Some(&cache), work.path()),
        "a spoilt cache",
    );
}

#[test]
fn a_damaged_cache_is_read_around_never_trusted() {
    let (d, _) = trail();
    let work = TempDir::new().unwrap();
    let cache = work.path().join("cache");
    let cold = outputs(d.path(), None, work.path());
    outputs(d.path(), Some(&cache), work.path());
    // Scribble over the middle of every event part and kept graph, the tables still good:
    // the graph is built again and the events read from the files.
    let scribble = |exts: &[&str], cut: bool| {
        for p in entry_files(&cache) {
            if !p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)) {
                continue;
            }
            let mut b = std::fs::read(&p).unwrap();
            if cut {
                b.truncate(b.len() / 2);
            } else {
                let (mid, end) = (b.len() / 2, (b.len() / 2 + 64).min(b.len()));
                for x in &mut b[mid..end] {
                    *x ^= 0x5A;
                }
            }
            std::fs::write(&p, b).unwrap();
        }
    };
    scribble(&["e", "graph", "events"], false);
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "with damaged events and graph");
    // The graph and the issuing calls it is built from both damaged, the table good: the run
    // stops and says what to do, rather than build a graph without them.
    scribble(&["graph", "inputs"], false);
    let o = bin()
        .args(["sessions", "--format", "json", "--no-progress", "--cache"])
        .arg(&cache)
        .arg(d.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && o.stdout.is_empty(), "{err}");
    assert!(err.contains("--cache directory: remove it and run again"), "{err}");
    std::fs::remove_dir_all(cache.join("runs")).unwrap();
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "without the kept runs");
    // Cut every table and kept run in half: every file is read again.
    scribble(&["t", "r"], false);
    scribble(&["t", "r"], true);
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "with a damaged cache");
    // The run replaced the entries: the next one takes them again.
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "after the repair");
    // Event parts that vanish send the reports back to the files.
    for p in entry_files(&cache) {
        if p.extension().is_some_and(|e| e == "e") {
            std::fs::remove_file(p).unwrap();
        }
    }
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "without event parts");
    // The key of the digests kept in the entries scribbled over: entries digested under
    // another key cannot be compared with new files' records, so the cache is emptied of its
    // own files (nothing else in the directory) and filled again.
    let theirs = cache.join("files").join("notes.txt");
    std::fs::write(&theirs, "not the cache's").unwrap();
    // Named like an entry, but not one (an md5-named file, say).
    let lookalike = cache.join("files").join("d41d8cd98f00b204e9800998ecf8427e.t");
    std::fs::write(&lookalike, "not the cache's either").unwrap();
    std::fs::write(cache.join("digest.key"), b"scribbled").unwrap();
    let (hits, misses) = cache_counts(d.path(), &cache);
    assert_eq!(hits, 0);
    assert!(misses > 20, "{misses}");
    assert!(theirs.exists() && lookalike.exists(), "only the cache's own files are removed");
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "with a new digest key");
}

/// `(files holding wanted events, files served from the events kept in the cache)` of one
/// `blast` through `cache`, summed over its re-read lines (`TRAILHOUND_TIMING`: it reads
/// events for its findings, then for the blast radius), and its output.
fn reread_line(trail: &Path, cache: &Path) -> ((u64, u64), Vec<u8>) {
    let args = ["blast", "--format", "json", "--key", LEAKED_KEY];
    let (err, out) = timed_run(trail, cache, &args);
    let mut sum = (0, 0);
    for line in err.lines().filter(|l| l.contains("re-read:")) {
        // "re-read: N events wanted in F files, K of the files served from the first pass, S
        // from the events kept in the cache, R from what this run read before"
        let nums = numbers(line);
        assert_eq!(nums.len(), 5, "{line}");
        sum = (sum.0 + nums[1], sum.1 + nums[3]);
    }
    (sum, out)
}

#[test]
fn a_report_run_again_takes_the_events_it_wants_from_the_cache_and_never_damaged_ones() {
    let (d, _) = trail();
    let work = TempDir::new().unwrap();
    let cache = work.path().join("cache");
    let cold = outputs(d.path(), None, work.path());
    let blast = &blast_stdout(&cold);
    let ((files, served), out) = reread_line(d.path(), &cache);
    assert!(files > 1, "the leaked key's events are in several files: {files}");
    assert_eq!(served, 0, "nothing kept yet");
    assert_eq!(&out, blast);
    // The next run reads none of those files (nor their entries in the cache).
    let ((again, served), out) = reread_line(d.path(), &cache);
    assert!(again > 1 && served == again, "{again} files, {served} served");
    assert_eq!(&out, blast);
    // Damaged (the seal no longer matches): read around, and kept again.
    let events: Vec<PathBuf> =
        entry_files(&cache).into_iter().filter(|p| p.extension().unwrap() == "events").collect();
    assert_eq!(events.len(), 1);
    let mut b = std::fs::read(&events[0]).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x20;
    std::fs::write(&events[0], b).unwrap();
    let ((_, served), out) = reread_line(d.path(), &cache);
    assert_eq!(served, 0);
    assert_eq!(&out, blast);
    let ((again, served), out) = reread_line(d.path(), &cache);
    assert!(again > 1 && served == again, "{again} files, {served} served");
    assert_eq!(&out, blast);
    // Every other command gives what a cold run gives, the kept events in place.
    same(&cold, &outputs(d.path(), Some(&cache), work.path()), "with the events kept");
}

#[test]
fn a_run_extended_by_new_log_files_takes_the_events_the_run_before_kept() {
    let (d, _) = trail();
    let work = TempDir::new().unwrap();
    let cache = work.path().join("cache");
    reread_line(d.path(), &cache);
    let ((files, served), _) = reread_line(d.path(), &cache);
    assert!(files > 1 && served == files, "{files} files, {served} served");
    // New log files arrive, their names among the old ones: every old file after them is
    // renumbered. A command that reads no events extends the run first; the next report
    // still serves the old files from what the run before kept.
    let added = more_logs(d.path(), 1043);
    let sessions = ["sessions", "--format", "json"];
    assert_eq!(how(d.path(), &cache, &sessions), ("extending an earlier run".into(), added));
    let blast = blast_stdout(&outputs(d.path(), None, work.path()));
    let ((now, served), out) = reread_line(d.path(), &cache);
    assert!(now >= files && served > 0 && served <= now, "{now} files, {served} served");
    assert_eq!(out, blast);
    let ((again, served), out) = reread_line(d.path(), &cache);
    assert!(served == again && again == now, "{again} files, {served} served");
    assert_eq!(out, blast);
    // A report that extends the run itself (its events without an `eventID` named after
    // their files' new numbers) gives what a cold run gives, every command after it too.
    more_logs(d.path(), 1044);
    let blast = blast_stdout(&outputs(d.path(), None, work.path()));
    let ((now, served), out) = reread_line(d.path(), &cache);
    assert!(served > 0 && served <= now, "{now} files, {served} served");
    assert_eq!(out, blast);
    same(
        &outputs(d.path(), None, work.path()),
        &outputs(d.path(), Some(&cache), work.path()),
        "extended",
    );
    // Damaged kept events are never carried into the run that extends theirs.
    for p in entry_files(&cache).into_iter().filter(|p| p.extension().unwrap() == "events") {
        let mut b = std::fs::read(&p).unwrap();
        let mid = b.len() / 2;
        b[mid] ^= 0x20;
        std::fs::write(&p, b).unwrap();
    }
    more_logs(d.path(), 1045);
    let blast = blast_stdout(&outputs(d.path(), None, work.path()));
    let ((_, served), out) = reread_line(d.path(), &cache);
    assert_eq!(served, 0);
    assert_eq!(out, blast);
}

#[test]
fn the_cache_never_goes_inside_the_evidence() {
    let (d, _) = trail();
    let inside = d.path().join("AWSLogs/cache");
    let o = bin()
        .args(["scan", "--no-progress", "--cache"])
        .arg(&inside)
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--cache") && err.contains("evidence"), "{err}");
    assert!(!inside.exists(), "nothing was created");
    // Nor the folders it writes in: a trail given as `CASE/files` (or `CASE/runs`) with
    // `--cache CASE` had the cache's entries written into it (a review).
    let case = TempDir::new().unwrap();
    for sub in ["files", "runs"] {
        let trail = case.path().join(sub);
        copy_dir(d.path(), &trail);
        let before = std::fs::read_dir(&trail).unwrap().count();
        let mut cmd = bin();
        let o = cmd.args(["scan", "--no-progress", "--cache"]).arg(case.path()).arg(&trail);
        let o = o.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{sub}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("--cache") && err.contains("evidence"), "{sub}: {err}");
        assert_eq!(std::fs::read_dir(&trail).unwrap().count(), before, "{sub}");
        std::fs::remove_dir_all(&trail).unwrap();
    }
    // Old runs are removed, but only the cache's own files: a user's notes named like a run
    // and its parts stay.
    let cache = case.path().join("c");
    std::fs::create_dir_all(cache.join("runs")).unwrap();
    let notes = ["incident-42-notes-from-analyst-A.r", "incident-42-notes-from-analyst-A.md"];
    for n in notes {
        std::fs::write(cache.join("runs").join(n), "my notes").unwrap();
    }
    // More runs than the cache keeps (`KEPT_RUNS`, 4): the oldest are removed.
    for hour in 10..16 {
        let until = format!("2024-03-11T{hour}:00:00Z");
        let mut cmd = bin();
        let o = cmd.args(["scan", "--no-progress", "-q", "--until", &until, "--cache"]);
        let o = o.arg(&cache).arg(d.path()).output().unwrap();
        assert!(o.status.code().is_some_and(|c| [0, 1, 3].contains(&c)), "{o:?}");
    }
    for n in notes {
        assert!(cache.join("runs").join(n).exists(), "{n} removed");
    }
}

/// `verify` is the plan's auditor: it reads the evidence itself, never the cache the runs
/// that made the plan filled (a review re-sealed a forged cached event: the warm plan left a
/// live session undenied, and `verify --cache` said OK over it). With `--cache` it says so,
/// reads nothing from it and writes nothing to it, and gives a cold verify's answer.
#[test]
fn verify_never_takes_its_answer_from_the_cache() {
    let (d, _) = trail();
    let work = TempDir::new().unwrap();
    let plan = work.path().join("plan.json");
    let cache = work.path().join("cache");
    let mut cmd = bin();
    cmd.args(["plan", "--no-progress", "-q", "--key", LEAKED_KEY, "-o"]).arg(&plan);
    let o = cmd.arg(d.path()).arg("--cache").arg(&cache).output().unwrap();
    assert!(o.status.code().is_some_and(|c| [0, 1, 3].contains(&c)), "{o:?}");
    let before = files_under(&cache).len();
    let verify = |cache: Option<&Path>| {
        let mut cmd = bin();
        cmd.args(["verify", "--no-progress", "--format", "json", "--plan"]).arg(&plan);
        if let Some(c) = cache {
            cmd.arg("--cache").arg(c);
        }
        cmd.arg(d.path()).output().unwrap()
    };
    let cold = verify(None);
    let fresh = work.path().join("never-made");
    for c in [&cache, &fresh] {
        let o = verify(Some(c));
        assert_eq!(o.status.code(), cold.status.code());
        assert_eq!(o.stdout, cold.stdout);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("verify reads the evidence itself: --cache is not used"), "{err}");
    }
    assert!(!fresh.exists(), "verify made a cache");
    assert_eq!(files_under(&cache).len(), before, "verify wrote to the cache");
    // `investigate --cache` checks its plan over what the cache held, and says so.
    let case = work.path().join("case");
    let mut cmd = bin();
    cmd.args(["investigate", "--no-progress", "--key", LEAKED_KEY, "-o"]).arg(&case);
    let o = cmd.arg(d.path()).arg("--cache").arg(&cache).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not the independent proof; run `trailhound verify`"), "{err}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("verify.json")).unwrap()).unwrap();
    assert!(v["notes"][0].as_str().unwrap().starts_with("checked over --cache"), "{v}");
}

/// Copies a directory tree (files and folders).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn exported_parquet_goes_through_the_cache_too() {
    let (d, _) = trail();
    let work = TempDir::new().unwrap();
    let pq = work.path().join("pq");
    let o = bin()
        .args(["export", "--no-progress", "-q", "--partition", "-o"])
        .arg(&pq)
        .arg(d.path())
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c == 0 || c == 3), "{o:?}");
    let cache = work.path().join("cache");
    let cold = outputs(&pq, None, work.path());
    assert!(String::from_utf8_lossy(&cold[4].2).contains(LEAKED_KEY));
    // The tainted call exported without an eventID, named by its file's number in each run.
    let events = String::from_utf8_lossy(&cold.last().unwrap().2).into_owned();
    assert!(events.contains(r#"{"event_id":"noid:"#), "{events}");
    // A partition exported later (the first in path order: every file after it is
    // renumbered): the run without it is extended with it.
    let late = pq.join("account=111122223333/region=eu-west-1");
    let aside = work.path().join("aside");
    std::fs::rename(&late, &aside).unwrap();
    outputs(&pq, Some(&cache), work.path());
    std::fs::rename(&aside, &late).unwrap();
    assert_eq!(how(&pq, &cache, &["scan"]), ("extending an earlier run".into(), 1));
    same(&cold, &outputs(&pq, Some(&cache), work.path()), "Parquet, extended");
    same(&cold, &outputs(&pq, Some(&cache), work.path()), "Parquet, warm");
    // With the kept runs gone, every file comes from its entry and the tainted events from
    // the entries' events.
    std::fs::remove_dir_all(cache.join("runs")).unwrap();
    same(&cold, &outputs(&pq, Some(&cache), work.path()), "Parquet, file by file");
    assert_eq!(cache_counts(&pq, &cache).1, 0);
}

/// The parts of a kept run are written before its table, the table on a thread of its own
/// while the session graph is built: when the table cannot be written (here a directory is
/// in its place), the parts written before it are removed, the graph is not kept, and the
/// answer is a cold run's.
#[test]
fn a_run_whose_table_cannot_be_written_keeps_none_of_its_parts() {
    let (d, _) = trail();
    let work = TempDir::new().unwrap();
    let cache = work.path().join("cache");
    let sessions = |cache: Option<&Path>| {
        let mut c = bin();
        c.args(["sessions", "--format", "json", "--no-progress", "-q"]);
        if let Some(dir) = cache {
            c.arg("--cache").arg(dir);
        }
        let o = c.arg(d.path()).output().unwrap();
        assert!(o.status.code().is_some_and(|c| c != 2), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let cold = sessions(None);
    assert_eq!(sessions(Some(&cache)), cold);
    let names = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(cache.join("runs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let kept = names();
    let key = kept.iter().find_map(|n| n.strip_suffix(".r")).unwrap().to_string();
    for part in ["files", "graph", "grow", "inputs"] {
        assert!(kept.contains(&format!("{key}.{part}")), "{part} kept: {kept:?}");
    }
    std::fs::remove_dir_all(cache.join("runs")).unwrap();
    std::fs::create_dir_all(cache.join("runs").join(format!("{key}.r"))).unwrap();
    assert_eq!(sessions(Some(&cache)), cold);
    let left = names();
    for part in ["files", "graph", "grow", "inputs"] {
        assert!(
            !left.contains(&format!("{key}.{part}")),
            "{part} left without its table: {left:?}"
        );
    }
}

/// The log files under `trail` (paths relative to it), in path order.
fn log_files(trail: &Path) -> Vec<PathBuf> {
    let all = files_under(&trail.join("AWSLogs"));
    all.iter().map(|p| p.strip_prefix(trail).unwrap().to_path_buf()).collect()
}

/// The delivery time a CloudTrail object's name carries (`…_20240311T0915Z_…`), or "" for
/// the hand-written extras.
fn delivered(p: &Path) -> String {
    let name = p.file_name().unwrap().to_string_lossy();
    name.split('_').nth(3).filter(|t| t.len() == 14 && t.ends_with('Z')).unwrap_or("").into()
}

/// Incidents go on while their logs arrive: the responder runs the commands, new log files
/// land (holding the attacker's next steps: the sessions issued to keys the earlier files
/// only saw in use, the calls of sessions issued earlier), and the responder runs them again.
/// Each time, the run through the cache extends the earlier run and gives byte for byte what
/// a cold run over the same files gives. The files arrive in the order they were delivered,
/// and, as a copy from another account or region does, out of it.
#[test]
fn incident_logs_that_arrive_while_it_goes_on_extend_the_run_as_a_cold_run_reads_them() {
    let (d, _) = trail();
    let all = log_files(d.path());
    let held = TempDir::new().unwrap();
    let hold = |files: &[&PathBuf]| {
        for p in files {
            let to = held.path().join(p);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::rename(d.path().join(p), to).unwrap();
        }
    };
    let land = |files: &[&PathBuf]| {
        for p in files {
            std::fs::rename(held.path().join(p), d.path().join(p)).unwrap();
        }
    };
    let stages: Vec<(&str, Vec<&PathBuf>, Vec<&PathBuf>)> = vec![
        (
            // Delivered after 09:45 (the incident began at 09:15), then after 10:20.
            "in delivery order",
            all.iter().filter(|p| delivered(p).as_str() > "20240311T0945Z").collect(),
            all.iter().filter(|p| delivered(p).as_str() > "20240311T1020Z").collect(),
        ),
        (
            // Every third file, then every other of those: new files among the old in every
            // folder, each renumbering the files after it.
            "out of order",
            all.iter().step_by(3).collect(),
            all.iter().step_by(6).collect(),
        ),
    ];
    for (how_held, first, second) in stages {
        let work = TempDir::new().unwrap();
        let cache = work.path().join("cache");
        hold(&first);
        outputs(d.path(), Some(&cache), work.path());
        let mut blast_before = outputs(d.path(), None, work.path())[4].2.clone();
        for (now, later) in [(&first, &second), (&second, &Vec::new())] {
            let landing: Vec<&PathBuf> =
                now.iter().filter(|p| !later.contains(p)).copied().collect();
            assert!(landing.len() > 5, "{how_held}: {} files", landing.len());
            land(&landing);
            assert_eq!(
                how(d.path(), &cache, &["scan"]),
                ("extending an earlier run".into(), landing.len() as u64),
                "{how_held}: only the new files are read"
            );
            let cold = outputs(d.path(), None, work.path());
            same(&cold, &outputs(d.path(), Some(&cache), work.path()), how_held);
            // The files that landed told more of the incident.
            assert_ne!(cold[4].2, blast_before, "{how_held}: the blast grew");
            blast_before = cold[4].2.clone();
        }
        assert!(log_files(d.path()) == all, "{how_held}: every file is back");
    }
}

/// Entries made under another cache's digest key (its `digest.key` copied in, as a partial
/// restore would) are misses, not digests compared with this key's: trusted, an exact second
/// delivery of a file became an evidence conflict (and a tainted event in it counted twice).
#[test]
fn entries_digested_under_another_key_are_not_trusted() {
    let d = TempDir::new().unwrap();
    let opts =
        GenOptions { seed: 5, out_dir: d.path().join("trail"), hours: 2, ..Default::default() };
    generate(&opts).unwrap();
    let trail = d.path().join("trail");
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    for c in [&a, &b] {
        let o = bin().args(["scan", "--no-progress", "-q", "--cache"]).arg(c).arg(&trail).output();
        assert!(o.unwrap().status.success());
    }
    std::fs::copy(a.join("digest.key"), b.join("digest.key")).unwrap();
    // An exact second delivery of a file.
    let first =
        files_under(&trail).into_iter().find(|f| f.extension().is_some_and(|e| e == "gz")).unwrap();
    std::fs::create_dir_all(trail.join("zzz")).unwrap();
    std::fs::copy(&first, trail.join("zzz/a.json.gz")).unwrap();
    let scan = |cache: Option<&Path>| {
        let mut c = bin();
        c.args(["scan", "--format", "json", "--no-progress", "-q"]);
        if let Some(p) = cache {
            c.arg("--cache").arg(p);
        }
        String::from_utf8(c.arg(&trail).output().unwrap().stdout).unwrap()
    };
    let cold = scan(None);
    assert!(duplicates(cold.as_bytes()) > 0, "the copy is a duplicate");
    assert_eq!(scan(Some(&b)), cold, "a cache whose key was replaced gives the cold answer");
    assert_eq!(scan(Some(&b)), cold, "and so does the run after it");
}

/// What a file that is not CloudTrail counts as depends on how the run came to it: a damaged
/// file reached through a link named `notes` is a stray (skipped), the same file through a
/// link named as a log file is a damaged log (exit 3). The cache kept its verdict under the
/// file's own path: once the link was renamed as a log file, a warm run skipped it and exited
/// 0 where a cold run exited 3 (a review). The entry is now kept under how the run came to
/// the file too.
#[test]
fn a_file_reached_under_another_name_is_judged_again() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = trailhound::gen::scenario::Scenario::new();
    let leaked = s.user_key("111122223333", "ci-deployer", LEAKED_KEY);
    s.call(&leaked, 1_710_151_200, "s3.amazonaws.com", "ListBuckets", serde_json::Value::Null);
    s.write(&trail, &[]).unwrap();
    let outside = d.path().join("blob");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut gz,
        leaked_call("e-1", "2024-03-11T10:05:00Z", "203.0.113.9").as_bytes(),
    )
    .unwrap();
    let mut bytes = gz.finish().unwrap();
    bytes[0] ^= 1; // no longer gzip: damaged
    std::fs::write(&outside, bytes).unwrap();
    let stray = trail.join("notes");
    std::os::unix::fs::symlink(&outside, &stray).unwrap();
    let cache = d.path().join("cache");
    let scan = |cache: Option<&Path>| {
        let mut c = bin();
        c.args(["scan", "--format", "json", "--no-progress"]).arg(&trail);
        if let Some(dir) = cache {
            c.arg("--cache").arg(dir);
        }
        let o = c.output().unwrap();
        (o.status.code().unwrap(), o.stdout)
    };
    let (code, _) = scan(Some(&cache));
    assert_eq!(code, 0, "a stray file is skipped");
    let logs = files_under(&trail)[0].parent().unwrap().to_path_buf();
    let named = logs.join("111122223333_CloudTrail_us-east-1_20240311T1030Z_x.json.gz");
    std::fs::rename(&stray, &named).unwrap();
    let cold = scan(None);
    assert_eq!(cold.0, 3, "a damaged log file: {}", String::from_utf8_lossy(&cold.1));
    assert_eq!(scan(Some(&cache)), cold, "warm as cold");
}

//! Generated incidents with a known answer: the generator records, while writing the trail,
//! which credentials and events the leaked key led to (`IncidentTruth`); trailhound must
//! reconstruct exactly that from the files alone.

use crate::util::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tempfile::TempDir;
use trailhound::gen::{generate, GenOptions, IncidentTruth, LEAKED_KEY};
use trailhound::time::parse_iso;

fn trail(seed: u64, hours: u32) -> (TempDir, IncidentTruth) {
    let d = TempDir::new().unwrap();
    let opts = GenOptions {
        seed,
        out_dir: d.path().to_path_buf(),
        hours,
        duplicates: true,
        org_trail: true,
        ..Default::default()
    };
    let r = generate(&opts).unwrap();
    (d, r.truth.unwrap())
}

fn run_json(args: &[&str], dir: &Path) -> (i32, Value) {
    let out = bin().args(args).arg(dir).arg("--no-progress").output().unwrap();
    (out.status.code().unwrap(), json(&out.stdout))
}

fn nodes_by_key(g: &Value) -> BTreeMap<String, Value> {
    g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["access_key_id"].as_str().map(|k| (k.to_string(), n.clone())))
        .collect()
}

#[test]
fn generated_sessions_match_the_known_chain() {
    let (d, truth) = trail(11, 4);
    let (code, g) = run_json(&["sessions", "--format", "json", "--key", LEAKED_KEY], d.path());
    assert_eq!(code, 0);
    let nodes = nodes_by_key(&g);
    let id_to_key: BTreeMap<&str, &str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n["access_key_id"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        nodes.len(),
        truth.tainted_credentials.len(),
        "exactly the tainted credentials: {:?}",
        nodes.keys()
    );
    for c in &truth.tainted_credentials {
        let n =
            nodes.get(&c.access_key_id).unwrap_or_else(|| panic!("{} missing", c.access_key_id));
        assert_eq!(n["kind"], c.kind, "{}", c.access_key_id);
        assert_eq!(n["principal_arn"], c.principal_arn, "{}", c.access_key_id);
        assert_eq!(n["account_id"], c.account_id, "{}", c.access_key_id);
        if c.kind == "session" {
            assert_eq!(n["issued_at"].as_str(), c.issued_at.as_deref(), "{}", c.access_key_id);
            assert_eq!(n["expires_at"].as_str(), c.expires_at.as_deref(), "{}", c.access_key_id);
            assert_eq!(n["orphan"], false);
        }
        // A Lambda session has two issuers: the service, and the key that set the function's
        // code (F21); the truth names the latter.
        let edge = g["edges"].as_array().unwrap().iter().find(|e| {
            e["child"] == n["id"]
                && c.issued_by
                    .as_deref()
                    .is_none_or(|p| id_to_key[e["parent"].as_str().unwrap()] == p)
        });
        match (&c.issued_by, edge) {
            (None, None) => {}
            (Some(parent), Some(e)) => {
                assert_eq!(
                    id_to_key[e["parent"].as_str().unwrap()],
                    parent.as_str(),
                    "parent of {}",
                    c.access_key_id
                );
                assert_eq!(e["event_name"].as_str(), c.issuing_event.as_deref());
                assert_eq!(e["event_id"].as_str(), c.issuing_event_id.as_deref());
                assert!(e["file"].as_str().unwrap().ends_with(".json.gz"));
            }
            (p, e) => panic!("{}: expected parent {p:?}, edge {e:?}", c.access_key_id),
        }
    }
    // The cross-account hop is one edge, with the role owner's copy kept as evidence (F3).
    let cross = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| !e["other_copies"].is_null())
        .expect("merged copy");
    let copies: BTreeSet<&str> =
        cross["other_copies"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for id in &truth.role_owner_copy_event_ids {
        assert!(copies.contains(id.as_str()), "{id} in {copies:?}");
    }
    // The failed AssumeRole is an attempt with its target taken from the error message.
    assert!(g["attempts"].as_array().unwrap().iter().any(|a| a["caller_key"] == LEAKED_KEY
        && a["target"].as_str().is_some_and(|t| t.starts_with("arn:aws:iam::"))));
}

#[test]
fn generated_key_reuse_gives_two_sessions_and_a_note() {
    let (d, truth) = trail(12, 6);
    let (_, g) = run_json(&["sessions", "--format", "json"], d.path());
    for k in &truth.reused_key_ids {
        let n = g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["access_key_id"] == k.as_str())
            .count();
        assert_eq!(n, 2, "{k}: one node per session (F16)");
        assert!(
            g["notes"].as_array().unwrap().iter().any(|s| s.as_str().unwrap().contains(k.as_str())),
            "note for {k}"
        );
    }
    assert!(!truth.reused_key_ids.is_empty());
}

#[test]
fn generated_chain_stops_plainly_without_the_callers_account() {
    let (d, truth) = trail(13, 4);
    let only = d.path().join("AWSLogs/444455556666");
    let (code, g) = run_json(&["sessions", "--format", "json"], &only);
    assert_eq!(code, 0);
    let nodes = nodes_by_key(&g);
    let cross = truth
        .tainted_credentials
        .iter()
        .find(|c| {
            c.account_id == "444455556666"
                && c.issued_by.as_deref().is_some_and(|p| p.starts_with("ASIA"))
                && c.principal_arn.contains("CrossAccountAudit")
        })
        .unwrap();
    let node = &nodes[&cross.access_key_id];
    let edge = g["edges"].as_array().unwrap().iter().find(|e| e["child"] == node["id"]).unwrap();
    assert_eq!(edge["parent"], "account:111122223333", "the chain stops at the caller's account");
    assert!(g["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("account 111122223333")));
}

#[test]
fn generated_chains_do_not_depend_on_file_order_or_duplicates() {
    let (d, _) = trail(14, 3);
    let (_, a) = run_json(&["sessions", "--format", "json"], d.path());
    // Copy every file under a name that reverses the sort order, and deliver a third of them twice.
    let e = TempDir::new().unwrap();
    let files = files_under(d.path());
    let n = files.len();
    for (i, f) in files.iter().enumerate() {
        let data = std::fs::read(f).unwrap();
        write(e.path(), &format!("z/{:06}.json.gz", n - i), &data);
        if i % 3 == 0 {
            write(e.path(), &format!("a/{:06}.json.gz", i), &data);
        }
    }
    let (_, b) = run_json(&["sessions", "--format", "json"], e.path());
    let strip = |g: &Value| {
        let mut g = g.clone();
        for k in ["edges", "attempts"] {
            for e in g[k].as_array_mut().unwrap() {
                e["file"] = Value::Null;
            }
        }
        g
    };
    let (a, b) = (strip(&a), strip(&b));
    for k in ["nodes", "edges", "attempts", "notes"] {
        let (x, y) = (a[k].as_array().unwrap(), b[k].as_array().unwrap());
        assert_eq!(x.len(), y.len(), "{k}");
        for (i, (p, q)) in x.iter().zip(y).enumerate() {
            assert_eq!(p, q, "{k}[{i}]");
        }
    }
}

#[test]
fn generated_blast_matches_the_known_answer() {
    let (d, truth) = trail(21, 4);
    let out_file = d.path().join("tainted.jsonl");
    let out = bin()
        .args(["blast", "--format", "json", "--key", LEAKED_KEY, "--events-out"])
        .arg(&out_file)
        .arg(d.path().join("AWSLogs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let b = json(&out.stdout);
    let keys: BTreeSet<&str> = b["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["access_key_id"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> =
        truth.tainted_credentials.iter().map(|c| c.access_key_id.as_str()).collect();
    assert_eq!(keys, want);
    assert_eq!(b["events"].as_u64().unwrap(), truth.tainted_event_ids.len() as u64);
    let written: BTreeSet<String> = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event_id"].as_str().unwrap().to_string()
        })
        .collect();
    let want_ids: BTreeSet<String> = truth.tainted_event_ids.iter().cloned().collect();
    assert_eq!(written, want_ids, "--events-out holds exactly the tainted events");
    assert!(b["accounts"]["444455556666"].as_u64().unwrap() > 0, "the chain crosses accounts");
    // The created key is used afterwards, and its use is tainted.
    for k in &truth.created_access_keys {
        let c = b["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["access_key_id"] == k.as_str())
            .unwrap();
        assert!(c["events"].as_u64().unwrap() > 0, "{k} used");
    }
    let persisted: BTreeSet<&str> = b["persistence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["event_name"].as_str().unwrap())
        .collect();
    for name in [
        "CreateUser",
        "CreateLoginProfile",
        "AttachUserPolicy",
        "CreateAccessKey",
        "UpdateAssumeRolePolicy",
    ] {
        assert!(persisted.contains(name), "{name} in {persisted:?}");
    }
    for ip in &truth.attacker_ips {
        assert!(b["source_ips"][ip.as_str()].as_u64().is_some(), "{ip}");
    }
    assert!(b["data_access"].as_array().unwrap().iter().any(|d| d["event_name"] == "GetObject"));
    // Parquet output of the same set.
    let pq = d.path().join("tainted.parquet");
    bin()
        .args(["blast", "-q", "--key", LEAKED_KEY, "--events-out"])
        .arg(&pq)
        .arg(d.path().join("AWSLogs"))
        .assert()
        .code(0);
    assert!(std::fs::read(&pq).unwrap().starts_with(b"PAR1"));
}

/// Where a live tainted session must be denied, from the truth alone (F7).
fn expected_targets(truth: &IncidentTruth, cutoff: i64) -> BTreeSet<String> {
    truth
        .tainted_credentials
        .iter()
        .filter(|c| c.kind == "session")
        .filter(|c| c.expires_at.as_deref().and_then(parse_iso).is_none_or(|x| x > cutoff))
        .map(|c| match &c.role_arn {
            Some(r) => r.clone(),
            None => truth.leaked_user_arn.clone(),
        })
        // Users the attacker created get a deny-all, live sessions or not (SPEC §9).
        .chain(truth.created_users.iter().cloned())
        .collect()
}

fn check_policy_grammar(a: &Value) {
    let doc = &a["policy_document"];
    assert_eq!(doc["Version"], "2012-10-17");
    let text = serde_json::to_string(doc).unwrap();
    let size = text.chars().filter(|c| !c.is_whitespace()).count();
    let limit = if a["type"] == "put_role_policy" { 10240 } else { 2048 };
    assert!(size <= limit, "F8: {size} > {limit}");
    assert_eq!(a["policy_size"].as_u64().unwrap() as usize, size);
    assert!(text
        .chars()
        .all(|c| c == '\t' || c == '\n' || c == '\r' || ('\u{20}'..='\u{ff}').contains(&c)));
    let name = a["policy_name"].as_str().unwrap();
    assert!(
        name.len() <= 128 && !name.contains(|c: char| c.is_whitespace() || "\\/*?".contains(c))
    );
    for s in doc["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Deny");
        assert_eq!(s["Action"], "*");
        assert_eq!(s["Resource"], "*");
        if name == "TrailhoundDenyAll" {
            // An attacker-made user: everything it does is denied (SPEC §9).
            assert_eq!(a["type"], "put_user_policy");
            assert!(s.get("Condition").is_none());
            continue;
        }
        let cond = s["Condition"].as_object().unwrap();
        let sid = s["Sid"].as_str().unwrap_or("");
        if ["TrailhoundDenyLaunchedInstances", "TrailhoundDenyChangedFunctions"].contains(&sid) {
            // Renewals included (F21): aws:userid only, no time condition.
            assert!(cond.keys().eq(["StringLike"]), "{s}");
            assert!(cond["StringLike"]["aws:userid"].as_array().is_some_and(|a| !a.is_empty()));
            continue;
        }
        assert!(parse_iso(cond["DateLessThan"]["aws:TokenIssueTime"].as_str().unwrap()).is_some());
        for k in cond.keys() {
            assert!(k == "DateLessThan" || k == "StringLike", "{k}");
        }
    }
}

fn plan(dir: &Path, strategy: &str, cutoff: &str) -> (i32, Value, Vec<u8>) {
    let out = bin()
        .args([
            "plan",
            "--no-progress",
            "--key",
            LEAKED_KEY,
            "--strategy",
            strategy,
            "--effective-at",
            cutoff,
        ])
        .arg(dir)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json(&out.stdout), out.stdout)
}

fn verify(dir: &Path, plan_bytes: &[u8]) -> (i32, Value) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), plan_bytes).unwrap();
    let out = bin()
        .args(["verify", "--format", "json", "--plan"])
        .arg(f.path())
        .arg(dir)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json(&out.stdout))
}

#[test]
fn generated_plan_known_answers_for_both_strategies() {
    let (d, truth) = trail(31, 4);
    // During the incident: AdminRole, DataReader (chained, 1 h) and the user's sessions are live;
    // the 900 s DeployRole session has expired.
    let cutoff = truth.incident_end.clone();
    let c = parse_iso(&cutoff).unwrap();
    for strategy in ["strict", "surgical"] {
        let (code, p, bytes) = plan(d.path(), strategy, &cutoff);
        assert_eq!(code, 0);
        assert_eq!(p["schema"], "trailhound.plan/v1");
        assert_eq!(p["effective_at"], cutoff.as_str());
        let actions = p["actions"].as_array().unwrap();
        // Deactivations first: the leaked key and every key the attacker created.
        let deact: Vec<&str> = actions
            .iter()
            .take_while(|a| a["type"] == "deactivate_access_key")
            .map(|a| a["access_key_id"].as_str().unwrap())
            .collect();
        let mut want: Vec<&str> = truth.created_access_keys.iter().map(String::as_str).collect();
        want.push(LEAKED_KEY);
        want.sort();
        let mut got = deact.clone();
        got.sort();
        assert_eq!(got, want);
        let targets: BTreeSet<String> = actions
            .iter()
            .filter(|a| a["type"] == "put_role_policy" || a["type"] == "put_user_policy")
            .map(|a| {
                check_policy_grammar(a);
                a["principal_arn"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(
            targets,
            expected_targets(&truth, c),
            "{strategy}: one policy per principal with a live tainted session"
        );
        assert_eq!(p["summary"]["policies"].as_u64().unwrap(), targets.len() as u64);
        let collateral = p["summary"]["collateral_sessions"].as_u64().unwrap();
        if strategy == "surgical" {
            assert_eq!(collateral, 0, "surgical spares alice's AdminRole session");
        } else {
            assert!(collateral >= 1, "strict also cuts alice's live AdminRole session");
        }
        let (vcode, v) = verify(d.path(), &bytes);
        assert_eq!(vcode, 0, "{v}");
        assert_eq!(v["not_covered"].as_array().unwrap().len(), 0);
        assert_eq!(v["collateral"].as_array().unwrap().len() as u64, collateral);
        assert_eq!(v["keys_left_active"].as_array().unwrap().len(), 0);
    }
}

#[test]
fn generated_verify_catches_a_missing_deny() {
    let (d, truth) = trail(32, 4);
    let (_, mut p, _) = plan(d.path(), "strict", &truth.incident_end);
    let actions = p["actions"].as_array_mut().unwrap();
    let i = actions
        .iter()
        .position(|a| a["principal_arn"].as_str().is_some_and(|r| r.ends_with("role/AdminRole")))
        .unwrap();
    actions.remove(i);
    let (code, v) = verify(d.path(), serde_json::to_string(&p).unwrap().as_bytes());
    assert_eq!(code, 1, "a live tainted session is not covered: {v}");
    let missing: Vec<&str> = v["not_covered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["principal_arn"].as_str().unwrap())
        .collect();
    assert_eq!(missing, vec!["arn:aws:sts::111122223333:assumed-role/AdminRole/ci"]);
    // Dropping what cuts a key (its deactivation, and its deletion for an attacker-made
    // user, whose DeleteUser would then fail and whose deny-all plan.sh would put back: so
    // that too) leaves it active.
    let (_, mut p, _) = plan(d.path(), "strict", &truth.incident_end);
    let key = p["actions"][0]["access_key_id"].clone();
    p["actions"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["access_key_id"] != key && a["type"] != "delete_user");
    let (code, v) = verify(d.path(), serde_json::to_string(&p).unwrap().as_bytes());
    assert_eq!(code, 1);
    assert_eq!(v["keys_left_active"].as_array().unwrap().len(), 1);
}

#[test]
fn generated_plans_cover_every_live_session_over_many_trails() {
    // Property: over many seeds (different ids, timings, delivery order) and cut-offs across
    // the incident, every plan of either strategy verifies.
    for seed in 100..110u64 {
        let (d, truth) = trail(seed, 2);
        let start = parse_iso(&truth.incident_start).unwrap();
        let end = parse_iso(&truth.incident_end).unwrap() + 3 * 3600;
        let cutoff = start + ((seed * 7919) as i64 % (end - start));
        let cutoff = trailhound::time::fmt_iso(cutoff);
        for strategy in ["strict", "surgical"] {
            let (code, p, bytes) = plan(d.path(), strategy, &cutoff);
            assert_eq!(code, 0);
            let (vcode, v) = verify(d.path(), &bytes);
            assert_eq!(vcode, 0, "seed {seed} {strategy} cut-off {cutoff}: {v}");
            assert_eq!(
                p["summary"]["covered_sessions"].as_u64().unwrap(),
                v["covered"].as_array().unwrap().len() as u64,
                "seed {seed} {strategy}"
            );
            if strategy == "surgical" {
                // Only sessions aws:userid cannot tell from a tainted one (the same role and
                // session name, F9: a Lambda function's sessions all carry its name, F21).
                let tainted: BTreeSet<&str> = v["covered"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .chain(v["expired"].as_array().unwrap())
                    .filter_map(|c| c["principal_arn"].as_str())
                    .collect();
                for c in v["collateral"].as_array().unwrap() {
                    let arn = c["principal_arn"].as_str().unwrap();
                    assert!(tainted.contains(arn), "seed {seed}: {c} in {v}");
                }
            }
        }
    }
}

#[test]
fn plan_and_verify_agree_on_what_a_cut_off_inside_the_incident_leaves_uncut() {
    // Property: a cut-off while the attacker is still minting sessions leaves the later ones
    // alive (F14). Whatever the cut-off, the plan's own figures are the ones `verify` finds:
    // the same sessions covered, the same number not covered, and the same exit code.
    let mut uncut = 0;
    for seed in 120..126u64 {
        let (d, truth) = trail(seed, 2);
        let start = parse_iso(&truth.incident_start).unwrap();
        let end = parse_iso(&truth.incident_end).unwrap();
        for k in 1..4 {
            let cutoff = trailhound::time::fmt_iso(start + (end - start) * k / 4);
            for strategy in ["strict", "surgical"] {
                let (code, p, bytes) = plan(d.path(), strategy, &cutoff);
                let (vcode, v) = verify(d.path(), &bytes);
                let at = format!("seed {seed} {strategy} cut-off {cutoff}");
                let covered = |x: &Value| x["summary"]["covered_sessions"].as_u64().unwrap();
                let not_covered = p["summary"]["uncovered_sessions"].as_u64().unwrap_or(0);
                assert_eq!(covered(&p), v["covered"].as_array().unwrap().len() as u64, "{at}");
                assert_eq!(not_covered, v["not_covered"].as_array().unwrap().len() as u64, "{at}");
                assert_eq!(
                    p["summary"]["collateral_sessions"].as_u64().unwrap(),
                    v["collateral"].as_array().unwrap().len() as u64,
                    "{at}"
                );
                assert_eq!(
                    p["summary"]["expired_sessions"].as_u64().unwrap(),
                    v["expired"].as_array().unwrap().len() as u64,
                    "{at}"
                );
                assert_eq!(
                    p["summary"]["keys_to_deactivate"].as_u64().unwrap(),
                    v["keys_deactivated"].as_array().unwrap().len() as u64,
                    "{at}"
                );
                assert_eq!(code, vcode, "{at}: {v}");
                assert_eq!(code, if not_covered > 0 { 1 } else { 0 }, "{at}");
                uncut += not_covered;
            }
        }
    }
    assert!(uncut > 0, "some cut-off fell before a tainted session was issued");
}

#[test]
fn generated_plan_is_byte_identical_across_runs_and_threads() {
    let (d, truth) = trail(41, 3);
    let (_, _, a) = plan(d.path(), "surgical", &truth.incident_end);
    let b = bin()
        .args([
            "plan",
            "--threads",
            "1",
            "--key",
            LEAKED_KEY,
            "--strategy",
            "surgical",
            "--effective-at",
            &truth.incident_end,
        ])
        .arg(d.path())
        .output()
        .unwrap()
        .stdout;
    assert_eq!(a, b);
    let script = d.path().join("plan.sh");
    bin()
        .args(["plan", "-q", "--key", LEAKED_KEY, "-o"])
        .arg(d.path().join("p.json"))
        .arg("--script")
        .arg(&script)
        .arg(d.path().join("AWSLogs"))
        .assert()
        .code(0);
    let s = std::fs::read_to_string(&script).unwrap();
    assert!(s.contains("aws iam update-access-key") && s.contains(LEAKED_KEY));
    assert!(s.contains("exit 1"), "the script refuses to run unreviewed");
}

#[test]
fn bundled_sample_is_reproducible_from_the_generator() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample-trail");
    let d = TempDir::new().unwrap();
    // The options in testdata/README.md.
    let opts = GenOptions {
        seed: 1,
        hours: 3,
        duplicates: true,
        out_dir: d.path().to_path_buf(),
        ..Default::default()
    };
    let r = generate(&opts).unwrap();
    let generated = files_under(d.path());
    for x in &generated {
        let rel = x.strip_prefix(d.path()).unwrap();
        let committed = std::fs::read(sample.join(rel))
            .unwrap_or_else(|_| panic!("{} not in testdata", rel.display()));
        assert!(
            committed == std::fs::read(x).unwrap(),
            "{} differs from the generator",
            rel.display()
        );
    }
    assert_eq!(generated.len(), r.files);
    let committed_truth: Value = serde_json::from_str(
        &std::fs::read_to_string(sample.with_file_name("sample-truth.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(committed_truth, serde_json::to_value(r.truth.unwrap()).unwrap());
}

#[test]
fn generated_background_covers_every_issuer_kind() {
    let (d, _) = trail(15, 6);
    let (_, g) = run_json(&["sessions", "--format", "json"], d.path());
    let nodes: BTreeMap<&str, &Value> =
        g["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap(), n)).collect();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for e in g["edges"].as_array().unwrap() {
        let parent = nodes[e["parent"].as_str().unwrap()];
        let child = nodes[e["child"].as_str().unwrap()];
        let pk = parent["kind"].as_str().unwrap().to_string();
        seen.insert((e["event_name"].as_str().unwrap().to_string(), pk.clone()));
        // Every issued credential is a session or a long-term key, never an external node.
        assert!(child["kind"] == "session" || child["kind"] == "long_term_key", "{child}");
        match e["event_name"].as_str().unwrap() {
            "AssumeRoleWithSAML" => assert!(e["parent"].as_str().unwrap().starts_with("saml:")),
            "AssumeRoleWithWebIdentity" => {
                assert!(e["parent"].as_str().unwrap().starts_with("oidc:"))
            }
            "CreateAccessKey" => assert_eq!(child["kind"], "long_term_key"),
            _ => {}
        }
    }
    for (name, parent_kind) in [
        ("AssumeRole", "long_term_key"),
        ("AssumeRole", "session"),
        ("AssumeRole", "service"),
        ("AssumeRole", "external_identity"),
        ("AssumeRoleWithSAML", "external_identity"),
        ("AssumeRoleWithWebIdentity", "external_identity"),
        ("GetSessionToken", "long_term_key"),
        ("GetFederationToken", "long_term_key"),
        ("CreateAccessKey", "session"),
        ("CreateAccessKey", "long_term_key"),
    ] {
        assert!(
            seen.contains(&(name.to_string(), parent_kind.to_string())),
            "{name} from a {parent_kind}: {seen:?}"
        );
    }
    // Orphans: console sessions with no issuing event are roots, labelled.
    assert!(g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["orphan"] == true && n["issued_by_event"] == "console sign-in"));
}

#[test]
fn generated_sessions_render_as_tree_dot_and_mermaid() {
    let (d, truth) = trail(16, 3);
    let text = |fmt: &str| {
        let out = bin()
            .args(["sessions", "--format", fmt, "--key", LEAKED_KEY])
            .arg(d.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let tree = text("tree");
    assert!(tree.lines().nth(2).is_some_and(|l| l.starts_with(LEAKED_KEY)), "{tree}");
    assert!(tree.lines().all(|l| l.chars().count() <= 100), "fits 100 columns:\n{tree}");
    assert!(tree.contains("LIVE") || tree.contains("EXPIRED"), "{tree}");
    assert!(tree.contains("DENIED)"), "the leaked key's refused calls are marked: {tree}");
    for c in &truth.tainted_credentials {
        assert!(tree.contains(&c.access_key_id), "{} in tree", c.access_key_id);
    }
    assert!(tree.contains("├─ AssumeRole ") && tree.contains("└─ "), "{tree}");
    // One edge per issuance the selection shows: every tainted credential's but the leaked
    // key's, plus Lambda's own issuance of the sessions of the function the key changed (F21).
    let (_, g) = run_json(&["sessions", "--format", "json", "--key", LEAKED_KEY], d.path());
    let edges = g["edges"].as_array().unwrap();
    let services = edges.iter().filter(|e| e["parent"] == "service:lambda.amazonaws.com").count();
    assert_eq!(edges.len(), truth.tainted_credentials.len() - 1 + services);
    let dot = text("dot");
    assert!(dot.starts_with("digraph sessions {") && dot.trim_end().ends_with('}'));
    assert_eq!(dot.matches(" -> ").count(), edges.len());
    let mm = text("mermaid");
    assert!(mm.starts_with("flowchart LR"));
    assert_eq!(mm.matches(" -->|").count(), edges.len());
    // Many sibling console sessions collapse into a count.
    let all = {
        let out = bin().args(["sessions", "--collapse", "2"]).arg(d.path()).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(all.contains("more EXPIRED sessions of"), "collapsed siblings");
}

#[test]
fn plan_denies_a_foreign_role_session_on_our_resources() {
    // Only account 111122223333's logs: the leaked key assumes a role in 444455556666, and that
    // session reads our bucket (logged in our account). Its own account's IAM may not be ours.
    let d = TempDir::new().unwrap();
    let t = "2024-03-11T09:00:00Z";
    let assume = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE000000001","arn":"arn:aws:iam::111122223333:user/ci-deployer","accountId":"111122223333","accessKeyId":"{LEAKED_KEY}","userName":"ci-deployer"}},"eventTime":"{t}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":{{"roleArn":"arn:aws:iam::444455556666:role/Ext","roleSessionName":"x"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIAEXAMPLEFOREIGN01","sessionToken":"t","expiration":"Mar 11, 2024, 10:00:00 AM"}},"assumedRoleUser":{{"assumedRoleId":"AROAEXAMPLEEXT000001:x","arn":"arn:aws:sts::444455556666:assumed-role/Ext/x"}}}},"requestID":"r1","eventID":"00000000-0000-0000-0000-0000000000a1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","sharedEventID":"00000000-0000-0000-0000-0000000000f1","eventCategory":"Management"}}"#
    );
    let get = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLEEXT000001:x","arn":"arn:aws:sts::444455556666:assumed-role/Ext/x","accountId":"444455556666","accessKeyId":"ASIAEXAMPLEFOREIGN01","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLEEXT000001","arn":"arn:aws:iam::444455556666:role/Ext","accountId":"444455556666","userName":"Ext"}},"attributes":{{"creationDate":"{t}","mfaAuthenticated":"false"}}}}}},"eventTime":"2024-03-11T09:05:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":{{"bucketName":"example-bucket","key":"secret.txt"}},"responseElements":null,"requestID":"r2","eventID":"00000000-0000-0000-0000-0000000000a2","readOnly":true,"resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::example-bucket/secret.txt"}}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data"}}"#
    );
    // The same session refused on another bucket: nothing of that bucket is denied.
    let refused = get
        .replace("example-bucket", "refused-bucket")
        .replace("0000000000a2", "0000000000a3")
        .replace(r#""requestID":"r2","#, r#""requestID":"r3","errorCode":"AccessDenied","#);
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11/a.json.gz",
        &gz(format!("{{\"Records\":[{get},{assume},{refused}]}}").as_bytes()),
    );
    let (code, p, bytes) = plan(d.path(), "strict", "2024-03-11T09:30:00Z");
    assert_eq!(code, 0);
    let actions = p["actions"].as_array().unwrap();
    let rp: Vec<&Value> = actions.iter().filter(|a| a["type"] == "resource_policy_deny").collect();
    assert_eq!(rp.len(), 1, "{actions:?}");
    // `investigate`, which keeps the tainted events in full for its case folder, plans the
    // same actions as `plan`, which reads only their resources.
    let case = TempDir::new().unwrap();
    let o = bin()
        .args(["investigate", "--no-progress", "-q", "--key", LEAKED_KEY])
        .args(["--strategy", "strict", "--effective-at", "2024-03-11T09:30:00Z", "-o"])
        .arg(case.path().join("case"))
        .arg(d.path())
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{o:?}");
    let folder = json(&std::fs::read(case.path().join("case/plan.json")).unwrap());
    assert_eq!(folder["actions"], p["actions"]);
    assert_eq!(rp[0]["account_id"], "111122223333");
    assert_eq!(rp[0]["principal_arn"], "arn:aws:s3:::example-bucket");
    let st = &rp[0]["policy_document"]["Statement"][0];
    assert_eq!(st["Effect"], "Deny");
    assert_eq!(st["Principal"]["AWS"][0], "arn:aws:sts::444455556666:assumed-role/Ext/x");
    // Shown, never run: put-bucket-policy would replace the bucket's whole policy.
    let command = rp[0]["command"].as_str().unwrap();
    assert!(command.contains("put-bucket-policy --bucket example-bucket"), "{command}");
    assert!(command.contains("REPLACES the whole bucket policy"), "{command}");
    assert!(command.lines().all(|l| l.starts_with('#')), "{command}");
    // The role policy is still planned (for whoever controls that account), after the key.
    assert_eq!(actions[0]["type"], "deactivate_access_key");
    assert!(actions
        .iter()
        .any(|a| a["type"] == "put_role_policy" && a["account_id"] == "444455556666"));
    assert!(p["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("444455556666")));
    let (vcode, _) = verify(d.path(), &bytes);
    assert_eq!(vcode, 0);
    // The commented command, uncommented into the plan: verify refuses it.
    let mut edited = p.clone();
    let i = actions.iter().position(|a| a["type"] == "resource_policy_deny").unwrap();
    let run = command.lines().last().unwrap().trim_start_matches("# ").to_string();
    edited["actions"][i]["command"] = Value::String(run);
    let (vcode, v) = verify(d.path(), &serde_json::to_vec(&edited).unwrap());
    assert_eq!(vcode, 1, "{v}");
    assert!(v["command_problems"][0]["problem"].as_str().unwrap().contains("must be a comment"));
}

#[test]
fn a_foreign_session_in_the_china_partition_is_denied_once_per_bucket_in_that_partition() {
    // As above, in cn-north-1 (partition aws-cn): the session reads many objects of one
    // bucket. The deny names the bucket in its own partition, objects included, once; and the
    // resource made from requestParameters.bucketName is in that partition too.
    let d = TempDir::new().unwrap();
    let t = "2024-03-11T09:00:00Z";
    let assume = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE000000001","arn":"arn:aws-cn:iam::111122223333:user/ci-deployer","accountId":"111122223333","accessKeyId":"{LEAKED_KEY}","userName":"ci-deployer"}},"eventTime":"{t}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"cn-north-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":{{"roleArn":"arn:aws-cn:iam::444455556666:role/Ext","roleSessionName":"x"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIAEXAMPLEFOREIGN01","sessionToken":"t","expiration":"Mar 11, 2024, 10:00:00 AM"}},"assumedRoleUser":{{"assumedRoleId":"AROAEXAMPLEEXT000001:x","arn":"arn:aws-cn:sts::444455556666:assumed-role/Ext/x"}}}},"requestID":"r1","eventID":"00000000-0000-0000-0000-0000000000a1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","sharedEventID":"00000000-0000-0000-0000-0000000000f1","eventCategory":"Management"}}"#
    );
    let mut records = vec![assume];
    for i in 0..40 {
        records.push(format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLEEXT000001:x","arn":"arn:aws-cn:sts::444455556666:assumed-role/Ext/x","accountId":"444455556666","accessKeyId":"ASIAEXAMPLEFOREIGN01","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLEEXT000001","arn":"arn:aws-cn:iam::444455556666:role/Ext","accountId":"444455556666","userName":"Ext"}},"attributes":{{"creationDate":"{t}","mfaAuthenticated":"false"}}}}}},"eventTime":"2024-03-11T09:05:{i:02}Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"cn-north-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":{{"bucketName":"example-bucket","key":"data/{i:03}.csv"}},"responseElements":null,"requestID":"g{i}","eventID":"00000000-0000-0000-0000-000000000{i:03}","readOnly":true,"resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws-cn:s3:::example-bucket/data/{i:03}.csv"}},{{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws-cn:s3:::example-bucket"}}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data"}}"#
        ));
    }
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail/cn-north-1/2024/03/11/a.json.gz",
        &gz(format!("{{\"Records\":[{}]}}", records.join(",")).as_bytes()),
    );
    let (code, p, _) = plan(d.path(), "strict", "2024-03-11T09:30:00Z");
    assert_eq!(code, 0);
    let actions = p["actions"].as_array().unwrap();
    let rp: Vec<&Value> = actions.iter().filter(|a| a["type"] == "resource_policy_deny").collect();
    assert_eq!(rp.len(), 1, "one deny for the bucket, not one per object: {actions:?}");
    assert_eq!(rp[0]["principal_arn"], "arn:aws-cn:s3:::example-bucket");
    let st = &rp[0]["policy_document"]["Statement"][0];
    assert_eq!(
        st["Resource"],
        serde_json::json!(["arn:aws-cn:s3:::example-bucket", "arn:aws-cn:s3:::example-bucket/*"])
    );
    let command = rp[0]["command"].as_str().unwrap();
    assert!(command.contains("put-bucket-policy --bucket example-bucket"), "{command}");
    let out = bin()
        .args(["blast", "--no-progress", "--format", "json", "--key", LEAKED_KEY])
        .arg(d.path())
        .output()
        .unwrap();
    let b = json(&out.stdout);
    let listed = b["resources"].to_string();
    assert!(listed.contains("arn:aws-cn:s3:::example-bucket/data/007.csv"), "{listed}");
    assert!(!listed.contains("arn:aws:s3:::"), "no resource in the aws partition: {listed}");
}

#[test]
fn a_key_whose_records_name_two_users_is_left_to_a_review_and_verify_agrees() {
    // userIdentity.userName says alice, the ARN says ci-deployer (a forged or damaged
    // record). The plan must not deactivate the key under either name unchecked: a review
    // item with both, the key counted as left active, and verify says the same.
    let d = TempDir::new().unwrap();
    let call = |name: &str, user: &str, time: &str, id: &str| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE000000001","arn":"arn:aws:iam::111122223333:user/ci-deployer","accountId":"111122223333","accessKeyId":"{LEAKED_KEY}","userName":"{user}"}},"eventTime":"{time}","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"r{id}","eventID":"00000000-0000-0000-0000-0000000000{id}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}"#
        )
    };
    let records = [
        call("ListUsers", "alice", "2024-03-11T09:00:00Z", "b1"),
        call("ListRoles", "ci-deployer", "2024-03-11T09:01:00Z", "b2"),
    ];
    write(
        d.path(),
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/11/a.json.gz",
        &gz(format!("{{\"Records\":[{}]}}", records.join(",")).as_bytes()),
    );
    let (_, p, bytes) = plan(d.path(), "strict", "2024-03-11T09:30:00Z");
    let actions = p["actions"].as_array().unwrap();
    assert!(
        !actions.iter().any(|a| a["type"] == "deactivate_access_key"),
        "no deactivation under a name the evidence contradicts: {actions:?}"
    );
    let review = actions
        .iter()
        .find(|a| a["type"] == "review" && a["reason"].as_str().unwrap().contains("two users"))
        .unwrap_or_else(|| panic!("a review item: {actions:?}"));
    let command = review["command"].as_str().unwrap();
    assert!(command.contains("--user-name 'ci-deployer'"), "{command}");
    assert!(command.contains("--user-name 'alice'"), "{command}");
    assert!(command.lines().all(|l| l.starts_with('#')), "{command}");
    let (code, v) = verify(d.path(), &bytes);
    assert_eq!(code, 1, "the key is not cut: {v}");
    assert!(v["keys_left_active"].to_string().contains(LEAKED_KEY), "{v}");
}

#[test]
fn plan_records_a_fingerprint_of_its_evidence() {
    let (d, truth) = trail(42, 2);
    let (_, p1, bytes) = plan(d.path(), "strict", &truth.incident_end);
    let fp = p1["inputs"]["sha256"].as_str().unwrap().to_string();
    // The documented formula, computed here from the files themselves (the tool hashes them
    // while reading): SHA-256 over the sorted hex SHA-256s of the input files, one per line.
    use sha2::{Digest, Sha256};
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut each: Vec<String> = files_under(d.path())
        .iter()
        .map(|p| hex(&Sha256::digest(std::fs::read(p).unwrap())))
        .collect();
    each.sort();
    assert_eq!(fp, hex(&Sha256::digest(each.join("\n").as_bytes())));
    // Any change to any file changes the fingerprint, and verify says so.
    let file = files_under(&d.path().join("AWSLogs/111122223333/CloudTrail/us-east-1"))
        .into_iter()
        .next()
        .unwrap();
    let (_, v) = verify(d.path(), &bytes);
    assert!(!v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("different evidence")));
    write(file.parent().unwrap(), "extra.json", b"{\"Records\":[]}");
    let (_, p2, _) = plan(d.path(), "strict", &truth.incident_end);
    assert_ne!(p2["inputs"]["sha256"].as_str().unwrap(), fp);
    let (_, v) = verify(d.path(), &bytes);
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("different evidence")),
        "{v}"
    );
}

/// Drops what legitimately differs between a run on the JSON and a run on its Parquet export:
/// where each event was read (`file`) and the plan's evidence fingerprint (`inputs`).
fn without_sources(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != "file" && *k != "inputs")
                .map(|(k, v)| (k.clone(), without_sources(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_sources).collect()),
        other => other.clone(),
    }
}

#[test]
fn exported_parquet_is_accepted_as_input_with_the_same_results() {
    // SPEC §7: the chain, blast and plan stages can start from the exported Parquet.
    let (d, truth) = trail(41, 3);
    let out = TempDir::new().unwrap();
    let parts = out.path().join("parts");
    bin().args(["export", "-q", "--partition", "-o"]).arg(&parts).arg(d.path()).assert().code(0);
    // After the last tainted issue: a plan that covers every live tainted session (exit 0).
    let cutoff = truth.incident_end.as_str();
    let runs: [&[&str]; 4] = [
        &["sessions", "--format", "json", "--key", LEAKED_KEY],
        &["blast", "--format", "json", "--key", LEAKED_KEY],
        &["plan", "--key", LEAKED_KEY, "--effective-at", cutoff],
        &["plan", "--key", LEAKED_KEY, "--effective-at", cutoff, "--strategy", "strict"],
    ];
    for args in runs {
        let (c1, from_json) = run_json(args, d.path());
        let (c2, from_parquet) = run_json(args, &parts);
        assert_eq!((c1, c2), (0, 0), "{args:?}");
        assert_eq!(without_sources(&from_json), without_sources(&from_parquet), "{args:?}");
    }
    // Not vacuous: the Parquet run finds the incident, and traces its events to Parquet files.
    let (_, b) = run_json(&["blast", "--format", "json", "--key", LEAKED_KEY], &parts);
    let tainted: BTreeSet<&str> = b["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["access_key_id"].as_str())
        .collect();
    let expected: BTreeSet<&str> =
        truth.tainted_credentials.iter().map(|c| c.access_key_id.as_str()).collect();
    assert_eq!(tainted, expected);
    let (_, s) = run_json(&["sessions", "--format", "json", "--key", LEAKED_KEY], &parts);
    let edges = s["edges"].as_array().unwrap();
    assert!(!edges.is_empty());
    assert!(edges.iter().all(|e| e["file"].as_str().unwrap().ends_with("events.parquet")));
    // A plan made from the Parquet verifies against it.
    let (code, _, plan_bytes) = plan(&parts, "surgical", &truth.incident_end);
    assert_eq!(code, 0);
    let (code, v) = verify(&parts, &plan_bytes);
    assert_eq!((code, &v["ok"]), (0, &Value::Bool(true)), "{v}");
}

/// An export another engine projected without one column of the schema (a review dropped
/// `request_function_name`: the plan from it missed the sessions of the function the attacker
/// changed, exit 0, verify OK): its rows are read, and the file is damaged, naming the column.
/// The function change it leaves without a function is a route not followed (the trail ties
/// no session to it), a finding that outranks the damage: `plan` exits 1 (not 0) and `verify`
/// says FAIL, not OK.
#[test]
fn an_export_without_a_column_of_its_schema_is_damaged_not_trusted() {
    use polars::prelude::{ParquetReader, ParquetWriter, SerReader};
    let (d, truth) = trail(41, 3);
    let out = TempDir::new().unwrap();
    let full = out.path().join("events.parquet");
    bin().args(["export", "-q", "-o"]).arg(&full).arg(d.path()).assert().code(0);
    let df = ParquetReader::new(std::fs::File::open(&full).unwrap()).finish().unwrap();
    let cut = out.path().join("cut");
    std::fs::create_dir(&cut).unwrap();
    let mut df = df.drop("request_function_name").unwrap();
    let f = std::fs::File::create(cut.join("events.parquet")).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
    let o = bin()
        .args(["plan", "--no-progress", "--key", LEAKED_KEY, "--effective-at"])
        .arg(&truth.incident_end)
        .arg(&cut)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("without the column(s) request_function_name"), "{err}");
    assert!(err.contains("route to sessions the taint does not follow"), "{err}");
    let (code, v) = verify(&cut, &o.stdout);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{v}");
    // The whole export is read as before (the test above compares its results).
    // The folder holds the damaged copy too: damaged (3), and its function change without a
    // function is a route not followed, which outranks it (1).
    let (code, _, _) = plan(out.path(), "surgical", &truth.incident_end);
    assert_eq!(code, 1, "the folder holds the damaged copy too");
    std::fs::remove_dir_all(&cut).unwrap();
    let (code, _, _) = plan(out.path(), "surgical", &truth.incident_end);
    assert_eq!(code, 0);
}

#[test]
fn an_object_key_holding_the_resource_separator_adds_no_resource_through_parquet() {
    // S3 keys are named by whoever writes the object: one holding `;arn:…` read back from the
    // exported Parquet as two resources, and the plan denied a bucket nobody touched.
    use trailhound::gen::scenario::Scenario;
    let t0 = 1_710_151_200;
    let mut s = Scenario::new();
    let leaked = s.user_key("111122223333", "ci-deployer", LEAKED_KEY);
    let sess = s.assume_role(&leaked, t0, "arn:aws:iam::444455556666:role/Ext", "x", 3600);
    for (i, key) in
        ["loot;arn:aws:s3:::innocent-payroll-bucket", "a\\;b\\", "plain.csv"].iter().enumerate()
    {
        s.get_object(&sess, t0 + 60 + i as i64, "111122223333", "exfil-bucket", key);
    }
    let d = TempDir::new().unwrap();
    s.write(&d.path().join("trail"), &["444455556666"]).unwrap();
    let parts = d.path().join("parts");
    bin()
        .args(["export", "-q", "--partition", "-o"])
        .arg(&parts)
        .arg(d.path().join("trail"))
        .assert()
        .code(0);
    let cutoff = "2024-03-11T10:30:00Z";
    let runs: [&[&str]; 2] = [
        &["blast", "--format", "json", "--key", LEAKED_KEY],
        &["plan", "--key", LEAKED_KEY, "--effective-at", cutoff, "--strategy", "strict"],
    ];
    for args in runs {
        let (_, from_json) = run_json(args, &d.path().join("trail"));
        let (_, from_parquet) = run_json(args, &parts);
        assert_eq!(without_sources(&from_json), without_sources(&from_parquet), "{args:?}");
        let text = from_parquet.to_string();
        assert!(!text.contains("\"arn:aws:s3:::innocent-payroll-bucket\""), "{text}");
    }
    let (_, b) = run_json(&["blast", "--format", "json", "--key", LEAKED_KEY], &parts);
    let listed = b["resources"].to_string();
    assert!(listed.contains("loot;arn:aws:s3:::innocent-payroll-bucket"), "{listed}");
    assert!(listed.contains(r"a\\;b\\"), "the backslashes are kept: {listed}");
}

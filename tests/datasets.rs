//! Real public CloudTrail logs (../shared/datasets, see its README for licences). Expected
//! figures are computed independently in the test from the raw JSON with serde_json, not
//! copied from trailhound's own output.

use crate::util::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// All records of a directory of `{"Records":[…]}` files or bare arrays, read with serde_json.
fn raw_records(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for p in files_under(dir) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&p).unwrap()) else {
            continue;
        };
        match v {
            serde_json::Value::Array(a) => out.extend(a),
            serde_json::Value::Object(mut o) => {
                if let Some(serde_json::Value::Array(a)) = o.remove("Records") {
                    out.extend(a)
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn dataset_invictus_counts() {
    let Some(d) = dataset("invictus-aws") else { return };
    let (code, v) = scan_json(&[d.to_str().unwrap()]);
    assert_eq!(code, 0, "LICENSE and README are skipped, not failures: {v}");
    assert_eq!(v["records"], 2900);
    assert_eq!(v["files"]["read"], 55);
    let raw = raw_records(&d);
    let ids: BTreeSet<&str> = raw.iter().map(|r| r["eventID"].as_str().unwrap()).collect();
    assert_eq!(v["events"].as_u64().unwrap(), ids.len() as u64);
    let asia: BTreeSet<&str> = raw
        .iter()
        .filter_map(|r| r["userIdentity"]["accessKeyId"].as_str())
        .filter(|k| k.starts_with("ASIA"))
        .collect();
    assert_eq!(v["access_keys"]["temporary"].as_u64().unwrap(), asia.len() as u64);
}

#[test]
fn dataset_stratus_counts() {
    let Some(d) = dataset("stratus-detonations") else { return };
    let (code, v) = scan_json(&[d.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["records"], 310);
    assert_eq!(v["files"]["read"], 35);
    assert_eq!(v["shapes"]["json_array"], 35);
}

#[test]
fn dataset_aws_fixtures_read_and_malformed_reported() {
    let Some(d) = dataset("aws-processing-library-fixtures") else { return };
    let (code, v) = scan_json(&[d.to_str().unwrap()]);
    assert_eq!(code, 3, "one malformed file: {v}");
    // 13 JSON files, 12 well-formed (one of them gzipped), 1 malformed.
    assert_eq!(v["files"]["read"], 12, "{v}");
    assert_eq!(v["files"]["failed"], 1, "{v}");
    let failed: Vec<_> =
        v["problems"].as_array().unwrap().iter().filter(|p| p["severity"] == "failed").collect();
    assert!(failed[0]["path"].as_str().unwrap().ends_with("SerializerTestFileBadJsonFormat.json"));
    assert_eq!(failed[0]["reason"], "invalid_json");
    // The all-null record is rejected for its missing time, not silently dropped.
    assert!(v["problems"].as_array().unwrap().iter().any(|p| p["path"]
        .as_str()
        .unwrap()
        .ends_with("SerializerAllFieldsNull.json")
        && p["reason"] == "missing_event_time"
        && p["record"] == 0));
}

#[test]
fn dataset_invictus_user_key_assumes_five_roles() {
    let Some(d) = dataset("invictus-aws") else { return };
    let out = bin()
        .args(["sessions", "--format", "json", "--key", "AKIATFQR7NSC8Q4X20BJ"])
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let g = json(&out.stdout);
    let nodes: BTreeMap<&str, &serde_json::Value> =
        g["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap(), n)).collect();
    let roles: BTreeSet<String> = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["parent"] == "AKIATFQR7NSC8Q4X20BJ" && e["event_name"] == "AssumeRole")
        .map(|e| {
            let child = nodes[e["child"].as_str().unwrap()];
            child["principal_arn"].as_str().unwrap().split('/').nth(1).unwrap().to_string()
        })
        .collect();
    // Independent answer: successful AssumeRole calls made with that key, by role.
    let raw = raw_records(&d);
    let expect: BTreeSet<String> = raw
        .iter()
        .filter(|r| {
            r["eventName"] == "AssumeRole"
                && r["errorCode"].is_null()
                && r["userIdentity"]["accessKeyId"] == "AKIATFQR7NSC8Q4X20BJ"
        })
        .map(|r| {
            r["requestParameters"]["roleArn"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(roles.len(), 5, "{roles:?}");
    assert_eq!(roles, expect);
    // Every issued session that was used is attached to its use.
    for e in g["edges"].as_array().unwrap() {
        let child = nodes[e["child"].as_str().unwrap()];
        let key = child["access_key_id"].as_str().unwrap();
        let used = raw.iter().filter(|r| r["userIdentity"]["accessKeyId"] == key).count() as u64;
        assert_eq!(child["events"].as_u64().unwrap(), used, "{key}");
    }
    assert_eq!(
        g["attempts"].as_array().unwrap().len(),
        13,
        "failed AssumeRole calls are attempts, not edges"
    );
}

#[test]
fn dataset_stratus_federation_token_session_is_used() {
    let Some(d) = dataset("stratus-detonations") else { return };
    let out = bin().args(["sessions", "--format", "json"]).arg(&d).output().unwrap();
    let g = json(&out.stdout);
    let edge = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_name"] == "GetFederationToken")
        .expect("GetFederationToken edge");
    let child = g["nodes"].as_array().unwrap().iter().find(|n| n["id"] == edge["child"]).unwrap();
    assert_eq!(child["principal_type"], "FederatedUser");
    assert!(child["principal_arn"].as_str().unwrap().contains(":federated-user/"));
    assert!(
        child["events"].as_u64().unwrap() >= 1,
        "the federated session is used afterwards: {child}"
    );
    assert!(edge["parent"].as_str().unwrap().starts_with("AKIA"));
}

#[test]
fn dataset_invictus_blast_matches_an_independent_taint() {
    let Some(d) = dataset("invictus-aws") else { return };
    let out = bin()
        .args(["blast", "--format", "json", "--key", "AKIATFQR7NSC8Q4X20BJ"])
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let b = json(&out.stdout);
    // Independent taint: the key, every key issued by a successful call made with a tainted
    // key (STS credentials or CreateAccessKey), and every role session issued, by a caller
    // with no access key (a service, another account), at or after a tainted credential set
    // that role's trust policy (CreateRole, UpdateAssumeRolePolicy): to a fixed point; and the
    // calls with no key of the users a tainted key made or set a password for. The
    // dataset's attacker creates roles for EC2 instances and Lambda functions, whose
    // sessions the services then take.
    let raw = raw_records(&d);
    let mut tainted: BTreeSet<String> = ["AKIATFQR7NSC8Q4X20BJ".to_string()].into();
    let mut roles: BTreeMap<(String, String), String> = BTreeMap::new();
    // Users a tainted key made or set a password or key for: their calls with no key (a
    // console session's, F17) from then on are the attacker's too.
    let mut users: BTreeMap<(String, String), String> = BTreeMap::new();
    let time = |r: &serde_json::Value| r["eventTime"].as_str().unwrap_or("").to_string();
    loop {
        let before = (tainted.len(), roles.len());
        for r in &raw {
            let caller = r["userIdentity"]["accessKeyId"].as_str().unwrap_or("");
            if !r["errorCode"].is_null() {
                continue;
            }
            if tainted.contains(caller) {
                for k in [
                    &r["responseElements"]["credentials"]["accessKeyId"],
                    &r["responseElements"]["accessKey"]["accessKeyId"],
                ] {
                    if let Some(k) = k.as_str() {
                        tainted.insert(k.to_string());
                    }
                }
                let name = r["eventName"].as_str().unwrap_or("");
                if let (
                    "CreateUser" | "CreateLoginProfile" | "UpdateLoginProfile" | "CreateAccessKey",
                    Some(user),
                ) = (name, r["requestParameters"]["userName"].as_str())
                {
                    let acct = r["recipientAccountId"].as_str().unwrap_or("").to_string();
                    let since = users.entry((acct, user.to_string())).or_insert_with(|| time(r));
                    *since = since.clone().min(time(r));
                }
                if let ("CreateRole" | "UpdateAssumeRolePolicy", Some(role)) =
                    (name, r["requestParameters"]["roleName"].as_str())
                {
                    let acct = r["recipientAccountId"].as_str().unwrap_or("").to_string();
                    let since = roles.entry((acct, role.to_string())).or_insert_with(|| time(r));
                    *since = since.clone().min(time(r));
                }
            }
            let role_arn = r["requestParameters"]["roleArn"].as_str().unwrap_or("");
            let role = (
                role_arn.split(':').nth(4).unwrap_or("").to_string(),
                role_arn.rsplit('/').next().unwrap_or("").to_string(),
            );
            let issued = r["responseElements"]["credentials"]["accessKeyId"].as_str();
            if let (true, Some(since), Some(k)) = (caller.is_empty(), roles.get(&role), issued) {
                if time(r) >= *since {
                    tainted.insert(k.to_string());
                }
            }
        }
        if (tainted.len(), roles.len()) == before {
            break;
        }
    }
    let keyless_of_user = |r: &serde_json::Value| {
        let u = &r["userIdentity"];
        let arn = u["arn"].as_str().unwrap_or("");
        let user = (
            arn.split(':').nth(4).unwrap_or("").to_string(),
            arn.rsplit('/').next().unwrap_or("").to_string(),
        );
        u["type"] == "IAMUser"
            && u["accessKeyId"].as_str().unwrap_or("").is_empty()
            && users.get(&user).is_some_and(|since| time(r) >= *since)
    };
    let ids: BTreeSet<&str> = raw
        .iter()
        .filter(|r| {
            r["userIdentity"]["accessKeyId"].as_str().is_some_and(|k| tainted.contains(k))
                || keyless_of_user(r)
        })
        .map(|r| r["eventID"].as_str().unwrap())
        .collect();
    assert!(raw.iter().any(keyless_of_user), "the attacker's user signs in to the console");
    assert_eq!(b["events"].as_u64().unwrap(), ids.len() as u64);
    // The keys, and the console sessions of those users known only by their sign-in (their
    // calls carry no key): each a session of one of them, issued from then on.
    let mut creds: BTreeSet<String> = BTreeSet::new();
    let mut signins = 0;
    for c in b["credentials"].as_array().unwrap() {
        if let Some(k) = c["access_key_id"].as_str() {
            creds.insert(k.to_string());
            continue;
        }
        assert!(c["id"].as_str().unwrap().starts_with("no-key@"), "{c}");
        let arn = c["principal_arn"].as_str().unwrap();
        let user = (
            arn.split(':').nth(4).unwrap_or("").to_string(),
            arn.rsplit('/').next().unwrap_or("").to_string(),
        );
        let since = users.get(&user).unwrap_or_else(|| panic!("{c}"));
        assert!(c["issued_at"].as_str().unwrap() >= since.as_str(), "{c}");
        signins += 1;
    }
    assert!(signins >= 1, "the attacker's user's sign-in is a console session of its own");
    assert_eq!(creds, tainted);
    let persisted: BTreeSet<&str> = b["persistence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["event_name"].as_str().unwrap())
        .collect();
    for name in ["CreateAccessKey", "CreateUser", "CreateLoginProfile"] {
        assert!(persisted.contains(name), "{name} in {persisted:?}");
    }
}

#[test]
fn dataset_invictus_stolen_instance_credentials_are_signalled() {
    let Some(d) = dataset("invictus-aws") else { return };
    let out = bin()
        .args(["blast", "--format", "json", "--key", "AKIATFQR7NSC8Q4X20BJ"])
        .arg(&d)
        .output()
        .unwrap();
    let b = json(&out.stdout);
    // Independent answer: instance-profile role sessions (session name = instance id) whose
    // calls come from more than one source IP.
    let raw = raw_records(&d);
    let mut ips: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &raw {
        let arn = r["userIdentity"]["arn"].as_str().unwrap_or("");
        if arn.contains(":assumed-role/")
            && arn.rsplit('/').next().unwrap().starts_with("i-")
            && r["userIdentity"]["invokedBy"].is_null()
        {
            ips.entry(arn.to_string())
                .or_default()
                .insert(r["sourceIPAddress"].as_str().unwrap().to_string());
        }
    }
    let want: BTreeSet<String> =
        ips.into_iter().filter(|(_, v)| v.len() > 1).map(|(k, _)| k).collect();
    let got: BTreeSet<String> = b["signals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "instance_credentials_used_elsewhere")
        .map(|s| s["credential"].as_str().unwrap().to_string())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

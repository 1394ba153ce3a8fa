//! IAM snapshots (issue #20): the generator's snapshot of an incident's world, loaded back and
//! reached from the leaked user, against the generator's known answer; `generate --iam-out`;
//! damaged snapshot files.

use crate::util::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use tempfile::TempDir;
use trailhound::gen::{generate, iam_snapshot, GenOptions, IamTruth, LEAKED_USER_ARN};
use trailhound::iam::{load, RoleKind, Snapshot};

fn snapshot_of(seed: u64) -> (TempDir, Snapshot, IamTruth) {
    let d = TempDir::new().unwrap();
    let truth = trailhound::gen::write_iam_snapshot(seed, d.path()).unwrap();
    let (snap, problems) = load(&files_under(d.path()));
    assert!(problems.is_empty(), "{problems:?}");
    (d, snap, truth)
}

#[test]
fn reach_of_the_leaked_user_matches_the_generators_truth() {
    for seed in [1, 7, 42] {
        let (_d, snap, truth) = snapshot_of(seed);
        let r = snap.reach(LEAKED_USER_ARN);
        assert!(r.found);
        let roles: Vec<String> = r.roles.iter().map(|x| x.arn.clone()).collect();
        assert_eq!(roles, truth.reachable_roles, "seed {seed}");
        let conditional: Vec<String> =
            r.roles.iter().filter(|x| !x.certain).map(|x| x.arn.clone()).collect();
        assert_eq!(conditional, truth.conditional_roles);
        let via: Vec<(String, String)> =
            r.roles.iter().map(|x| (x.arn.clone(), x.via.clone())).collect();
        let mut expected_via = truth.first_via.clone();
        expected_via.sort();
        assert_eq!(via, expected_via, "first paths (a stale policy version would change them)");
        let users: Vec<String> = r.users.iter().map(|u| u.arn.clone()).collect();
        assert_eq!(users, truth.credential_users);
        let accounts: BTreeSet<String> =
            r.policy_changes.iter().map(|c| c.account.clone()).collect();
        assert_eq!(accounts.into_iter().collect::<Vec<_>>(), truth.policy_change_accounts);
        // Not reachable: every other role of the snapshot, some of them Identity Center or
        // service-linked.
        let all: BTreeSet<&str> =
            snap.accounts.values().flat_map(|a| a.roles.values().map(|r| r.arn.as_str())).collect();
        let unreachable: Vec<&str> =
            all.iter().copied().filter(|a| !roles.iter().any(|x| x == a)).collect();
        assert_eq!(
            unreachable,
            truth.unreachable_roles.iter().map(String::as_str).collect::<Vec<_>>()
        );
        let kinds: BTreeSet<RoleKind> =
            unreachable.iter().map(|a| snap.role(a).unwrap().kind).collect();
        assert!(
            kinds.contains(&RoleKind::IdentityCenter) && kinds.contains(&RoleKind::ServiceLinked)
        );
        // Some reachable roles the attacker did not use.
        assert!(truth.reachable_roles.len() > truth.used_roles.len());
        assert!(truth.used_roles.iter().all(|u| truth.reachable_roles.contains(u)));
        // Access keys from list-access-keys; users without a key output stay unknown.
        let ci = snap.user(LEAKED_USER_ARN).unwrap();
        let keys = ci.access_keys.as_ref().unwrap();
        assert_eq!(keys[0].id.as_deref(), Some(trailhound::gen::LEAKED_KEY));
        assert!(snap.user("arn:aws:iam::111122223333:user/bob").unwrap().access_keys.is_none());
    }
}

#[test]
fn the_roles_the_incident_used_are_the_truths_used_roles() {
    let d = TempDir::new().unwrap();
    let opts =
        GenOptions { seed: 3, hours: 3, out_dir: d.path().to_path_buf(), ..Default::default() };
    let truth = generate(&opts).unwrap().truth.unwrap();
    // The roles assumed along the chain, not the one whose sessions Lambda took for a function
    // the leaked key deployed (F21): the snapshot's reach follows role assumption only.
    let used: BTreeSet<String> = truth
        .tainted_credentials
        .iter()
        .filter(|c| !c.issuing_event.as_deref().is_some_and(|e| e.starts_with("UpdateFunction")))
        .filter_map(|c| c.role_arn.clone())
        .collect();
    let iam = iam_snapshot(3).truth;
    assert_eq!(used.into_iter().collect::<Vec<_>>(), iam.used_roles);
    // Same world: the role ids of the trail are those of the snapshot.
    let snap_files = iam_snapshot(3).files;
    let text: String = snap_files.iter().map(|(_, t)| t.as_str()).collect();
    let trail: String = files_under(d.path())
        .iter()
        .map(|p| {
            let mut out = Vec::new();
            let raw = std::fs::read(p).unwrap();
            trailhound::ingest::decompress::gunzip_into(&raw, &mut out, 1 << 30).unwrap();
            String::from_utf8(out).unwrap()
        })
        .collect();
    let admin_id = text
        .split("\"RoleName\": \"AdminRole\"")
        .nth(1)
        .and_then(|t| t.split("\"RoleId\": \"").nth(1))
        .map(|t| t[..t.find('"').unwrap()].to_string())
        .unwrap();
    assert!(admin_id.starts_with("AROA") && trail.contains(&admin_id), "{admin_id}");
}

#[test]
fn generate_iam_out_writes_outside_the_trail_and_leaves_the_trail_unchanged() {
    let d = TempDir::new().unwrap();
    let plain = d.path().join("plain");
    let with = d.path().join("with");
    let iam = d.path().join("iam");
    let truth = d.path().join("iam-truth.json");
    let run = |out: &PathBuf, extra: &[&std::ffi::OsStr]| {
        bin().args(["generate", "--hours", "3", "-o"]).arg(out).args(extra).assert().success();
    };
    run(&plain, &[]);
    run(&with, &["--iam-out".as_ref(), iam.as_os_str(), "--iam-truth".as_ref(), truth.as_os_str()]);
    let a = files_under(&plain);
    let b = files_under(&with);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap(), "{}", x.display());
    }
    let (snap, problems) = load(&files_under(&iam));
    assert!(problems.is_empty(), "{problems:?}");
    let t: IamTruth = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    let roles: Vec<String> = snap.reach(LEAKED_USER_ARN).roles.into_iter().map(|r| r.arn).collect();
    assert_eq!(roles, t.reachable_roles);
    // Inside the trail: refused, nothing written.
    let inside = with.join("iam");
    bin()
        .args(["generate", "--hours", "3", "-o"])
        .arg(&with)
        .arg("--iam-out")
        .arg(&inside)
        .assert()
        .failure()
        .stderr(predicates::str::contains("inside --output"));
    assert!(!inside.exists());
}

#[test]
fn damaged_snapshot_files_are_problems_beside_a_good_snapshot() {
    let d = TempDir::new().unwrap();
    let good = trailhound::gen::write_iam_snapshot(1, &d.path().join("good")).unwrap();
    let text = std::fs::read_to_string(d.path().join("good/111122223333-2.json")).unwrap();
    let bad = d.path().join("bad");
    let files = [
        write(&bad, "truncated.json", &text.as_bytes()[..text.len() / 3]),
        write(&bad, "shape.json", b"{\"Users\": []}"),
        write(&bad, "binary.json", &[0xff, 0xfe, 0, 1, 2]),
        write(&bad, "gz.json.gz", &gz(b"{\"RoleDetailList\": [{\"RoleName\": \"x\"}]}")),
        write(&bad, "csv.csv", b"user,arn\nx\n"),
        write(&bad, "doc.json", br#"{"RoleDetailList": [{"RoleName": "R", "Arn": "arn:aws:iam::444455556666:role/R", "AssumeRolePolicyDocument": "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22111122223333%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7%7D"}]}"#),
    ];
    let mut paths = files.to_vec();
    paths.extend(files_under(&d.path().join("good")));
    let (snap, problems) = load(&paths);
    for f in &files {
        assert!(
            problems.iter().any(|p| &p.file == f),
            "no problem for {}: {problems:?}",
            f.display()
        );
    }
    assert_eq!(problems.len(), files.len(), "{problems:?}");
    // The good snapshot still gives the known answer, and the damaged role is kept.
    let roles: Vec<String> = snap.reach(LEAKED_USER_ARN).roles.into_iter().map(|r| r.arn).collect();
    assert_eq!(roles, good.reachable_roles);
    assert!(snap.role("arn:aws:iam::444455556666:role/R").is_some());
}

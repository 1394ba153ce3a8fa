//! The unseen tail, contained (issue #20): `--iam` on blast, plan and verify over a generated
//! incident with the generator's matching IAM snapshot and its known answer.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const CUT: &str = "2024-03-11T11:48:36Z";
const KEY: &str = "AKIAIOSFODNN7EXAMPLE";

struct Case {
    dir: TempDir,
    trail: PathBuf,
    iam: PathBuf,
    truth: Value,
}

fn case() -> Case {
    let dir = TempDir::new().unwrap();
    let trail = dir.path().join("trail");
    let iam = dir.path().join("iam");
    let truth = dir.path().join("iam-truth.json");
    bin()
        .args(["generate", "-o"])
        .arg(&trail)
        .arg("--iam-out")
        .arg(&iam)
        .arg("--iam-truth")
        .arg(&truth)
        .assert()
        .success();
    let truth = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    Case { dir, trail, iam, truth }
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

fn plan(c: &Case, extra: &[&str], out: &Path) -> std::process::Output {
    bin()
        .arg("plan")
        .arg(&c.trail)
        .args(["--key", KEY, "--effective-at", CUT, "-q", "-o"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn verify(c: &Case, plan: &Path, iam: bool) -> (i32, Value) {
    let mut cmd = bin();
    cmd.arg("verify").arg("--plan").arg(plan).arg(&c.trail).args(["--format", "json", "-q"]);
    if iam {
        cmd.arg("--iam").arg(&c.iam);
    }
    let o = cmd.output().unwrap();
    (o.status.code().unwrap(), json(&o.stdout))
}

#[test]
fn contain_reachable_denies_exactly_the_reachable_unused_roles_and_verify_holds_them() {
    let c = case();
    let out = c.dir.path().join("plan.json");
    let script = c.dir.path().join("plan.sh");
    let o = plan(
        &c,
        &[
            "--contain-reachable",
            "--iam",
            c.iam.to_str().unwrap(),
            "--script",
            script.to_str().unwrap(),
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(p["contain_reachable"], true);
    // The script, precautionary actions and all, is the plan's as verify writes it again.
    let o = bin()
        .arg("verify")
        .arg("--plan")
        .arg(&out)
        .arg("--script")
        .arg(&script)
        .arg(&c.trail)
        .args(["--iam", c.iam.to_str().unwrap(), "--format", "json", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        json(&o.stdout)["script"]["matches"],
        true,
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // The known answer: what the leaked user could reach, minus what the attacker used.
    let reachable = strings(&c.truth["reachable_roles"]);
    let used = strings(&c.truth["used_roles"]);
    let unused: BTreeSet<String> = reachable.difference(&used).cloned().collect();
    assert!(!unused.is_empty() && !used.is_empty());
    let roles = p["reachable"]["roles"].as_array().unwrap();
    let plan_unused: BTreeSet<String> = roles
        .iter()
        .filter(|r| r["used"] == false)
        .map(|r| r["arn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(plan_unused, unused);
    let plan_used: BTreeSet<String> = roles
        .iter()
        .filter(|r| r["used"] == true)
        .map(|r| r["arn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(plan_used, used);

    // One precautionary deny per reachable role that is unused, or used but without an
    // evidence deny (its logged sessions expired before the cut-off: the unseen tail could
    // have minted more); none among the evidence's actions.
    let evidence_denied: BTreeSet<&str> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "put_role_policy")
        .filter_map(|a| a["principal_arn"].as_str())
        .collect();
    let used_bare: BTreeSet<String> =
        used.iter().filter(|r| !evidence_denied.contains(r.as_str())).cloned().collect();
    assert!(!used_bare.is_empty() && used_bare.len() < used.len(), "{used_bare:?} of {used:?}");
    let pre = p["precautionary"].as_array().unwrap();
    let denied: BTreeSet<String> = pre
        .iter()
        .filter(|a| a["type"] == "put_role_policy")
        .map(|a| a["principal_arn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(denied, unused.union(&used_bare).cloned().collect::<BTreeSet<_>>());
    assert!(pre.iter().all(|a| a["reason"].as_str().unwrap().starts_with("precaution")));
    let n = p["actions"].as_array().unwrap().len() as u64;
    assert_eq!(pre[0]["order"].as_u64(), Some(n + 1), "numbered after the evidence's actions");
    assert!(p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["policy_name"] != "TrailhoundPrecautionRevokeOlderSessions"));
    // Every user whose credentials could be created is a review item.
    let reviews: Vec<&str> = pre
        .iter()
        .filter(|a| a["type"] == "review")
        .map(|a| a["reason"].as_str().unwrap())
        .collect();
    for u in strings(&c.truth["credential_users"]) {
        let name = u.rsplit('/').next().unwrap();
        assert!(
            reviews.iter().any(|r| r.contains(&format!("for user {name} "))),
            "no review for {u}: {reviews:?}"
        );
    }
    // The tail's reasons say what the snapshot says instead of "rights unknown".
    let tail = p["unseen_tail"].as_array().unwrap();
    assert!(tail.iter().any(|t| t["reason"].as_str().unwrap().starts_with("per the IAM snapshot")));
    // plan.sh keeps them apart, after the evidence's actions.
    let sh = std::fs::read_to_string(&script).unwrap();
    let banner = sh.find("precautionary (--contain-reachable)").expect("banner");
    let first_pre = sh.find("TrailhoundPrecautionRevokeOlderSessions").unwrap();
    assert!(banner < first_pre);

    // verify --iam recomputes the reachable set and finds every reachable role denied, used
    // or not (an ordinary role: every one reached here).
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 0, "{v}");
    let ordinary: BTreeSet<String> = roles
        .iter()
        .filter(|r| r["kind"] == "ordinary")
        .map(|r| r["arn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ordinary, reachable);
    assert_eq!(strings(&v["precautionary"]["reachable_roles_denied"]), reachable);
    assert!(v["precautionary"]["reachable_roles_not_denied"].as_array().unwrap().is_empty());

    // Drop one precautionary deny: verify --iam names the role and fails; verify without the
    // snapshot cannot tell, passes on the evidence and says to give it the snapshot.
    let mut cut = p.clone();
    let gone = unused.iter().next().unwrap().clone();
    cut["precautionary"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["principal_arn"].as_str() != Some(gone.as_str()));
    let cut_path = c.dir.path().join("plan-cut.json");
    std::fs::write(&cut_path, serde_json::to_string(&cut).unwrap()).unwrap();
    let (code, v) = verify(&c, &cut_path, true);
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    assert_eq!(strings(&v["precautionary"]["reachable_roles_not_denied"]), BTreeSet::from([gone]));
    let (code, v) = verify(&c, &cut_path, false);
    assert_eq!(code, 0, "{v}");
    assert!(v["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("--iam")));

    // A precautionary command that does more than its action says is a command problem.
    let mut bad = p.clone();
    let a = bad["precautionary"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["type"] == "put_role_policy")
        .unwrap();
    let cmd = a["command"].as_str().unwrap().to_string();
    a["command"] = Value::String(format!("{cmd}; aws iam delete-user --user-name alice"));
    let bad_path = c.dir.path().join("plan-bad.json");
    std::fs::write(&bad_path, serde_json::to_string(&bad).unwrap()).unwrap();
    let (code, v) = verify(&c, &bad_path, false);
    assert_eq!(code, 1);
    assert_eq!(v["precautionary"]["command_problems"].as_array().unwrap().len(), 1);
}

#[test]
fn without_contain_reachable_the_plan_records_the_reach_but_adds_no_action() {
    let c = case();
    let with = c.dir.path().join("with.json");
    let without = c.dir.path().join("without.json");
    assert!(plan(&c, &["--iam", c.iam.to_str().unwrap()], &with).status.success());
    assert!(plan(&c, &[], &without).status.success());
    let a: Value = serde_json::from_slice(&std::fs::read(&with).unwrap()).unwrap();
    let b: Value = serde_json::from_slice(&std::fs::read(&without).unwrap()).unwrap();
    assert!(a["reachable"].is_object() && b.get("reachable").is_none());
    assert!(a.get("precautionary").is_none());
    // The evidence's actions do not depend on the snapshot, but for the size budget it shows:
    // F8 limits the total of a principal's inline policies, and the snapshot shows how much of
    // it the existing ones use.
    let strip = |v: &Value| {
        let mut v = v["actions"].clone();
        for a in v.as_array_mut().unwrap() {
            a.as_object_mut().unwrap().remove("policy_size_limit");
        }
        v
    };
    assert_eq!(strip(&a), strip(&b));
    let limit_of = |v: &Value, who: &str| {
        v["actions"].as_array().unwrap().iter().find(|x| x["principal_arn"] == who).unwrap()
            ["policy_size_limit"]
            .as_u64()
            .unwrap()
    };
    let ci = "arn:aws:iam::111122223333:user/ci-deployer";
    assert_eq!(limit_of(&b, ci), 2048);
    assert!(limit_of(&a, ci) < 2048, "ci-deployer's existing inline policies count");
    // --contain-reachable needs a snapshot.
    let o = plan(&c, &["--contain-reachable"], &c.dir.path().join("x.json"));
    assert_eq!(o.status.code(), Some(2));
}

/// Adds `extra` (over 10,100 characters) to AdminRole's inline policies in the snapshot and
/// `attached` managed policies to it; AdminRole is used by the attacker, so it gets an
/// evidence-based deny.
fn fill_admin_role(c: &Case, attached: usize) {
    let mut hit = false;
    for f in files_under(&c.iam) {
        let mut v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let Some(roles) = v.get_mut("RoleDetailList").and_then(Value::as_array_mut) else {
            continue;
        };
        for r in roles.iter_mut().filter(|r| r["RoleName"] == "AdminRole") {
            let big = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "x".repeat(10_100), "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
            r["RolePolicyList"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"PolicyName": "legacy", "PolicyDocument": big}));
            let list = r["AttachedManagedPolicies"].as_array_mut().unwrap();
            for i in list.len()..attached {
                let arn = format!("arn:aws:iam::111122223333:policy/extra-{i}");
                list.push(
                    serde_json::json!({"PolicyName": format!("extra-{i}"), "PolicyArn": arn}),
                );
            }
            hit = true;
        }
        std::fs::write(&f, serde_json::to_string(&v).unwrap()).unwrap();
    }
    assert!(hit, "AdminRole is in the snapshot");
}

/// `plan --contain-reachable` of `c` with its snapshot (exit 0): the plan file, the plan, and
/// the entry of `role` (an ARN) among the roles it says the unseen tail reaches.
fn contained_role(c: &Case, role: &str) -> (std::path::PathBuf, Value, Value) {
    let out = c.dir.path().join("plan.json");
    let o = plan(c, &["--contain-reachable", "--iam", c.iam.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p = read(&out);
    let entry = p["reachable"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["arn"] == role)
        .cloned()
        .unwrap_or_else(|| panic!("{}", p["reachable"]["roles"]));
    (out, p, entry)
}

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn a_deny_with_no_inline_room_left_becomes_a_managed_policy_that_verify_evaluates() {
    let c = case();
    let iam = c.iam.to_str().unwrap();
    // Before the snapshot is filled: the inline deny on AdminRole, for comparison.
    let inline = c.dir.path().join("inline.json");
    assert!(plan(&c, &["--iam", iam], &inline).status.success());
    fill_admin_role(&c, 0);
    let out = c.dir.path().join("plan.json");
    assert!(plan(&c, &["--iam", iam], &out).status.success());
    let p = read(&out);
    let actions = p["actions"].as_array().unwrap();
    let admin = "arn:aws:iam::111122223333:role/AdminRole";
    assert!(!actions.iter().any(|a| a["type"] == "put_role_policy" && a["principal_arn"] == admin));
    let managed = "arn:aws:iam::111122223333:policy/TrailhoundRevokeOlderSessions-AdminRole";
    let create = actions
        .iter()
        .find(|a| a["type"] == "create_policy" && a["policy_arn"] == managed)
        .expect("the deny is created as a managed policy");
    let attach = actions
        .iter()
        .find(|a| a["type"] == "attach_role_policy" && a["principal_arn"] == admin)
        .expect("and attached to the role");
    assert_eq!(attach["policy_arn"], managed);
    assert!(create["order"].as_u64() < attach["order"].as_u64());
    assert!(create["command"].as_str().unwrap().starts_with(
        "aws iam create-policy --policy-name TrailhoundRevokeOlderSessions-AdminRole --policy-document '{"
    ));
    assert_eq!(
        attach["command"],
        format!("aws iam attach-role-policy --role-name AdminRole --policy-arn {managed}")
    );
    // The managed policy denies what the inline one did: the same statement, the same sessions.
    let put = read(&inline)["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "put_role_policy" && a["principal_arn"] == admin)
        .cloned()
        .unwrap();
    assert_eq!(create["policy_document"], put["policy_document"]);
    assert_eq!(attach["covers"], put["covers"]);
    assert!(!attach["covers"].as_array().unwrap().is_empty());
    assert_eq!(create["policy_size_limit"], 6144);
    // plan.sh: when the create fails (a policy of that name is already there: an earlier run's
    // cut-off, or the attacker's document), the attach is skipped, never made to attach a
    // policy this plan did not write; the other actions still run, and the script fails.
    let script = c.dir.path().join("plan.sh");
    let scripted = c.dir.path().join("scripted.json");
    let o = plan(&c, &["--iam", iam, "--script", script.to_str().unwrap()], &scripted);
    assert!(o.status.success());
    let sh = std::fs::read_to_string(&script).unwrap();
    if let Some(sc) = crate::trust::tool("shellcheck") {
        let o = std::process::Command::new(sc)
            .args(["-s", "sh", "-e", "SC2317"])
            .arg(&script)
            .output()
            .unwrap();
        assert!(o.status.success(), "shellcheck:\n{}", String::from_utf8_lossy(&o.stdout));
    }
    let work = TempDir::new().unwrap();
    let (ok, calls, err) = crate::trust::run_plan_sh_failing(
        &sh,
        "/bin/sh",
        work.path(),
        "111122223333",
        None,
        Some("create-policy "),
    );
    assert!(!ok, "{err}");
    assert!(err.contains("create_policy FAILED: its attach below is skipped"), "{err}");
    assert!(err.contains("attach_role_policy SKIPPED: its create_policy"), "{err}");
    assert!(
        !calls.iter().any(|c| c.get(1).map(String::as_str) == Some("attach-role-policy")),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c.get(1).map(String::as_str) == Some("update-access-key")),
        "the other actions still ran: {calls:?}"
    );
    // verify --iam evaluates the managed deny: every tainted session covered, and AdminRole's
    // by the attached policy.
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 0, "{v}");
    let by_managed: Vec<&Value> = v["covered"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["denied_by"].as_str().unwrap().ends_with(managed))
        .collect();
    assert_eq!(by_managed.len(), attach["covers"].as_array().unwrap().len());
    // The inline plan, held against the filled snapshot: IAM would refuse the put, so its
    // sessions are not covered.
    let (code, v) = verify(&c, &inline, true);
    assert_eq!(code, 1, "{v}");
    let problems = v["command_problems"].as_array().unwrap();
    assert!(problems.iter().any(|x| x["type"] == "put_role_policy"
        && x["problem"].as_str().unwrap().starts_with("IAM would refuse it")));
    assert!(!v["not_covered"].as_array().unwrap().is_empty());
    // An attach whose policy the plan does not create covers nothing, and is a command
    // problem (an existing policy may allow anything).
    let mut cut = p.clone();
    cut["actions"].as_array_mut().unwrap().retain(|a| a["type"] != "create_policy");
    let cut_path = c.dir.path().join("cut.json");
    std::fs::write(&cut_path, serde_json::to_string(&cut).unwrap()).unwrap();
    let (code, v) = verify(&c, &cut_path, true);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["command_problems"].to_string().contains("which no earlier action of the plan creates"),
        "{v:#}"
    );
    // A create-policy that makes another ARN than the one the action names is refused.
    let mut lie = p.clone();
    for a in lie["actions"].as_array_mut().unwrap() {
        if a["type"] == "create_policy" {
            a["policy_name"] = "SomethingElse".into();
        }
    }
    let lie_path = c.dir.path().join("lie.json");
    std::fs::write(&lie_path, serde_json::to_string(&lie).unwrap()).unwrap();
    let (code, v) = verify(&c, &lie_path, true);
    assert_eq!(code, 1, "{v}");
    assert!(v["command_problems"].as_array().unwrap().iter().any(|x| x["type"] == "create_policy"));
}

#[test]
fn with_no_inline_room_and_the_managed_quota_used_the_deny_stays_with_a_review() {
    let c = case();
    fill_admin_role(&c, 10);
    let out = c.dir.path().join("plan.json");
    // IAM will refuse the deny (LimitExceeded): AdminRole's tainted sessions are not covered.
    assert_eq!(plan(&c, &["--iam", c.iam.to_str().unwrap()], &out).status.code(), Some(1));
    let p = read(&out);
    assert!(p["summary"]["uncovered_sessions"].as_u64().unwrap() > 0, "{:#}", p["summary"]);
    assert!(p["notes"].to_string().contains("IAM refuses it (LimitExceeded)"), "{:#}", p["notes"]);
    let actions = p["actions"].as_array().unwrap();
    let put = actions
        .iter()
        .find(|a| {
            a["type"] == "put_role_policy"
                && a["principal_arn"].as_str().unwrap().ends_with("role/AdminRole")
        })
        .unwrap();
    assert!(put["policy_size_limit"].as_u64().unwrap() < 197, "{}", put["policy_size_limit"]);
    assert!(!actions.iter().any(|a| a["type"] == "create_policy"));
    assert!(actions.iter().any(|a| a["type"] == "review"
        && a["reason"]
            .as_str()
            .unwrap()
            .contains("role AdminRole: its inline policies already use")
        && a["reason"].as_str().unwrap().contains("10 managed policies attached")
        && a["command"].as_str().unwrap().contains("list-attached-role-policies")));
}

#[test]
fn blast_with_a_damaged_snapshot_file_still_answers_names_the_file_and_exits_3() {
    let c = case();
    std::fs::write(c.iam.join("zz-broken.json"), b"{\"RoleDetailList\": [").unwrap();
    let o = bin()
        .arg("blast")
        .arg(&c.trail)
        .args(["--key", KEY, "--format", "json", "--no-progress", "--iam"])
        .arg(&c.iam)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("zz-broken.json"), "{err}");
    let b = json(&o.stdout);
    let r = &b["reachable"];
    assert_eq!(r["problems"].as_array().unwrap().len(), 1);
    assert!(r["problems"][0]["file"].as_str().unwrap().ends_with("zz-broken.json"));
    assert!(!r["roles"].as_array().unwrap().is_empty(), "the good files still count");
    // The table names the reachable roles too.
    let o = bin()
        .arg("blast")
        .arg(&c.trail)
        .args(["--key", KEY, "--no-progress", "-q", "--iam"])
        .arg(&c.iam)
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("Reachable from the unseen tail"), "{t}");
}

#[test]
fn the_report_draws_the_reachable_unused_roles_as_dashed_boxes() {
    let c = case();
    let out = c.dir.path().join("case");
    let o = bin()
        .arg("investigate")
        .arg(&c.trail)
        .args(["--key", KEY, "--effective-at", CUT, "-q", "--contain-reachable", "--iam"])
        .arg(&c.iam)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let reachable = strings(&c.truth["reachable_roles"]);
    let used = strings(&c.truth["used_roles"]);
    let drawn: BTreeSet<String> = html
        .match_indices("<g class=\"reach\" data-arn=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect();
    assert_eq!(drawn, reachable.difference(&used).cloned().collect::<BTreeSet<_>>());
    assert!(html.contains("stroke-dasharray=\"6 4\""));
    // The plan section lists the precautionary actions apart from the evidence's.
    let plan: Value =
        serde_json::from_slice(&std::fs::read(out.join("plan.json")).unwrap()).unwrap();
    let n = plan["precautionary"].as_array().unwrap().len();
    assert!(n > 0);
    assert!(html.contains(&format!("<h3>Precautionary ({n}): not evidence-based")), "{n}");
    // The case folder's plan and verify carry the precautionary actions and their check.
    let v: Value =
        serde_json::from_slice(&std::fs::read(out.join("verify.json")).unwrap()).unwrap();
    assert_eq!(v["ok"], true);
    assert!(v["precautionary"]["checked_against_snapshot"] == true);
}

/// Puts backup-admin, the user the attacker made, into the snapshot, as taken after the attacker
/// made it: one more key, a group, a second attached policy, an inline policy (with a `Sid` of
/// `sid_len` characters) and an MFA device than the logs show.
fn add_backup_admin(c: &Case, sid_len: usize) {
    let sid = "k".repeat(sid_len);
    let page = c.iam.join("111122223333.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&page).unwrap()).unwrap();
    v["UserDetailList"].as_array_mut().unwrap().push(serde_json::json!({
        "Path": "/", "UserName": "backup-admin", "UserId": "AIDAIOSFODNN7BACKUP1",
        "Arn": "arn:aws:iam::111122223333:user/backup-admin", "CreateDate": "2024-03-11T10:43:36Z",
        "GroupList": ["ops"],
        "AttachedManagedPolicies": [
            {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
        ],
        "UserPolicyList": [{"PolicyName": "keepalive", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}}],
        "Tags": []
    }));
    // Its group, in the same page (a group a user names that the snapshot lacks is a problem).
    v["GroupDetailList"].as_array_mut().unwrap().push(serde_json::json!({
        "Path": "/", "GroupName": "ops", "GroupId": "AGPAIOSFODNN7OPS0001",
        "Arn": "arn:aws:iam::111122223333:group/ops", "GroupPolicyList": [],
        "AttachedManagedPolicies": []
    }));
    std::fs::write(&page, serde_json::to_string(&v).unwrap()).unwrap();
    std::fs::write(
        c.iam.join("keys-backup-admin.json"),
        r#"{"AccessKeyMetadata": [{"UserName": "backup-admin", "AccessKeyId": "AKIAIOSFODNN7BACKUP1", "Status": "Active", "CreateDate": "2024-03-11T11:40:00Z"}]}"#,
    )
    .unwrap();
    std::fs::write(
        c.iam.join("mfa-backup-admin.json"),
        r#"{"MFADevices": [{"UserName": "backup-admin", "SerialNumber": "arn:aws:iam::111122223333:mfa/backup", "EnableDate": "2024-03-11T11:41:00Z"}]}"#,
    )
    .unwrap();
}

#[test]
fn an_attacker_made_user_in_the_snapshot_is_deleted_with_what_only_the_snapshot_shows() {
    let c = case();
    add_backup_admin(&c, 4);
    let with = c.dir.path().join("with.json");
    let o = plan(&c, &["--iam", c.iam.to_str().unwrap()], &with);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p: Value = serde_json::from_slice(&std::fs::read(&with).unwrap()).unwrap();
    let of_user: Vec<&Value> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["user_name"] == "backup-admin"
                || a["reason"].as_str().unwrap().contains("backup-admin")
        })
        .collect();
    let find = |kind: &str, field: &str, value: &str| {
        of_user
            .iter()
            .find(|a| a["type"] == kind && a[field] == value)
            .map(|a| a["order"].as_u64().unwrap())
    };
    let delete_user =
        find("delete_user", "user_name", "backup-admin").expect("the user is deleted");
    let before = [
        find("deactivate_access_key", "access_key_id", "AKIAIOSFODNN7BACKUP1"),
        find("delete_access_key", "access_key_id", "AKIAIOSFODNN7BACKUP1"),
        find("detach_user_policy", "policy_arn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        find("delete_user_policy", "policy_name", "keepalive"),
        find("remove_user_from_group", "group_name", "ops"),
    ];
    for (i, o) in before.iter().enumerate() {
        let o = o.unwrap_or_else(|| panic!("snapshot fact {i} has no action: {of_user:#?}"));
        assert!(o < delete_user, "fact {i} removed before DeleteUser");
    }
    // What the logs showed is not doubled.
    let admin = of_user
        .iter()
        .filter(|a| {
            a["type"] == "detach_user_policy"
                && a["policy_arn"] == "arn:aws:iam::aws:policy/AdministratorAccess"
        })
        .count();
    assert_eq!(admin, 1);
    assert!(of_user.iter().any(|a| {
        let c = a["command"].as_str().unwrap();
        a["type"] == "review"
            && c.contains("# aws iam deactivate-mfa-device --user-name 'backup-admin'")
            && c.contains("arn:aws:iam::111122223333:mfa/backup")
    }));
    // Orders are 1..=n in sequence, and verify accepts every command.
    let orders: Vec<u64> =
        p["actions"].as_array().unwrap().iter().map(|a| a["order"].as_u64().unwrap()).collect();
    assert_eq!(orders, (1..=orders.len() as u64).collect::<Vec<_>>());
    let (code, v) = verify(&c, &with, true);
    assert_eq!(code, 0, "{v}");
    assert!(v["command_problems"].as_array().unwrap().is_empty());
}

#[test]
fn an_attacker_made_user_with_its_inline_room_filled_gets_the_deny_all_as_a_managed_policy() {
    // The attacker filled its user's inline budget (2,048 characters, F8) so that no inline
    // deny fits: the deny-all becomes a managed policy, detached again before DeleteUser.
    let c = case();
    add_backup_admin(&c, 2_000);
    let out = c.dir.path().join("plan.json");
    let o = plan(&c, &["--iam", c.iam.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p = read(&out);
    let actions = p["actions"].as_array().unwrap();
    let arn = "arn:aws:iam::111122223333:policy/TrailhoundDenyAll-backup-admin";
    let order = |kind: &str, pred: &dyn Fn(&Value) -> bool| {
        let hits: Vec<u64> = actions
            .iter()
            .filter(|a| a["type"] == kind && pred(a))
            .map(|a| a["order"].as_u64().unwrap())
            .collect();
        assert_eq!(hits.len(), 1, "one {kind}: {actions:#?}");
        hits[0]
    };
    let create = order("create_policy", &|a| a["policy_arn"] == arn);
    let attach = order("attach_user_policy", &|a| {
        a["policy_arn"] == arn
            && a["principal_arn"] == "arn:aws:iam::111122223333:user/backup-admin"
    });
    let detach = order("detach_user_policy", &|a| a["policy_arn"] == arn);
    let keepalive = order("delete_user_policy", &|a| a["policy_name"] == "keepalive");
    let delete = order("delete_user", &|a| a["user_name"] == "backup-admin");
    assert!(create < attach && attach < detach && detach < delete && keepalive < delete);
    assert!(!actions
        .iter()
        .any(|a| a["type"] == "put_user_policy" && a["user_name"] == "backup-admin"));
    assert!(!actions.iter().any(|a| a["policy_name"] == "TrailhoundDenyAll"));
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 0, "{v}");
    assert!(v["command_problems"].as_array().unwrap().is_empty());
    // The rollback section of plan.sh knows how to take the managed policy away again.
    let script = c.dir.path().join("plan.sh");
    let o =
        plan(&c, &["--iam", c.iam.to_str().unwrap(), "--script", script.to_str().unwrap()], &out);
    assert!(o.status.success());
    let sh = std::fs::read_to_string(&script).unwrap();
    assert!(sh.contains(&format!("aws iam delete-policy --policy-arn '{arn}'")), "{sh}");
}

/// Every file of a snapshot is read, wherever it sits under `--iam DIR`; what is missing is
/// said, never read as no reach: an empty folder is a usage error, and a page that says more
/// follow (`IsTruncated`) without the last page among the files is a problem (exit 3).
#[test]
fn a_snapshot_in_folders_is_read_whole_and_one_missing_its_last_page_is_incomplete() {
    let c = case();
    let flat = c.dir.path().join("flat.json");
    let o = plan(&c, &["--contain-reachable", "--iam", c.iam.to_str().unwrap()], &flat);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // One folder per account, as a responder collecting several accounts lays it out.
    let nested = c.dir.path().join("nested");
    for f in std::fs::read_dir(&c.iam).unwrap() {
        let f = f.unwrap().path();
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let acct = if name.contains("444455556666") { "444455556666" } else { "111122223333" };
        let d = nested.join(acct).join("details");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(&f, d.join(&name)).unwrap();
    }
    // A desktop's hidden files are no snapshot's.
    std::fs::write(nested.join("111122223333").join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    let deep = c.dir.path().join("deep.json");
    let o = plan(&c, &["--contain-reachable", "--iam", nested.to_str().unwrap()], &deep);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (read(&flat), read(&deep));
    assert!(!a["reachable"]["roles"].as_array().unwrap().is_empty());
    assert_eq!(a["reachable"]["roles"], b["reachable"]["roles"]);
    assert_eq!(a["precautionary"], b["precautionary"]);
    // A folder with no file at all: nothing to contain with, said at once.
    let empty = c.dir.path().join("empty");
    std::fs::create_dir_all(empty.join("111122223333")).unwrap();
    let o = plan(&c, &["--contain-reachable", "--iam", empty.to_str().unwrap()], &deep);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no files in it"));
    // The main account's last page left out: its first page says more follow.
    std::fs::remove_file(c.iam.join("111122223333-2.json")).unwrap();
    let o = plan(&c, &["--contain-reachable", "--iam", c.iam.to_str().unwrap()], &deep);
    assert_eq!(o.status.code(), Some(3));
    let (code, v) = verify(&c, &deep, true);
    assert_eq!(code, 3, "{v}");
    let err = String::from_utf8_lossy(
        &bin()
            .arg("plan")
            .arg(&c.trail)
            .args(["--key", KEY, "--effective-at", CUT, "--no-progress", "-o"])
            .arg(&deep)
            .args(["--contain-reachable", "--iam", c.iam.to_str().unwrap()])
            .output()
            .unwrap()
            .stderr,
    )
    .to_string();
    assert!(
        err.contains("111122223333.json")
            && err.contains("IsTruncated")
            && err.contains("no last page of account 111122223333"),
        "{err}"
    );
}

/// A role the evidence shows in use is contained only by a deny of every session issued before
/// the cut-off: a surgical plan's evidence deny names only the logged sessions, and the unseen
/// tail could have minted more of the role. With `--contain-reachable`, each such role gets the
/// precautionary deny (its own tainted sessions not counted as collateral), and `verify --iam`
/// fails a plan without it.
#[test]
fn a_reachable_role_the_evidence_uses_is_contained_whole_even_by_a_surgical_plan() {
    let c = case();
    let out = c.dir.path().join("surgical.json");
    let iam = c.iam.to_str().unwrap();
    let args = ["--contain-reachable", "--strategy", "surgical", "--iam", iam];
    let o = plan(&c, &args, &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p = read(&out);
    let used: BTreeSet<String> = p["reachable"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["used"] == true && r["kind"] == "ordinary")
        .map(|r| r["arn"].as_str().unwrap().to_string())
        .collect();
    assert!(!used.is_empty(), "{}", p["reachable"]);
    let tainted: BTreeSet<&str> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["covers"].as_array().into_iter().flatten())
        .map(|x| x.as_str().unwrap())
        .collect();
    let pre = p["precautionary"].as_array().unwrap();
    for arn in &used {
        let deny = pre
            .iter()
            .find(|a| a["type"] == "put_role_policy" && a["principal_arn"] == arn.as_str())
            .unwrap_or_else(|| panic!("no precaution on used role {arn}: {pre:?}"));
        assert!(deny["reason"].as_str().unwrap().contains("and used in the evidence"), "{deny}");
        for s in deny["collateral"].as_array().unwrap() {
            assert!(!tainted.contains(s.as_str().unwrap()), "tainted {s} counted as collateral");
        }
    }
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 0, "{v}");
    // Without one of those precautions, verify with the snapshot names the role and fails.
    let mut cut = p.clone();
    let first = used.iter().next().unwrap().clone();
    cut["precautionary"]
        .as_array_mut()
        .unwrap()
        .retain(|a| !(a["type"] == "put_role_policy" && a["principal_arn"] == first.as_str()));
    let edited = c.dir.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec_pretty(&cut).unwrap()).unwrap();
    let (code, v) = verify(&c, &edited, true);
    assert_eq!(code, 1, "{v}");
    let not_denied = &v["precautionary"]["reachable_roles_not_denied"];
    assert_eq!(not_denied, &serde_json::json!([first]), "{v}");
}

/// The leaked key's user may hold another key the attacker made where no log reached (an
/// unrecorded region, F15, or after the last log): with a snapshot, each active key of that user
/// the plan does not deactivate is a review item naming it and its deactivation, and one made
/// once the evidence had begun says so. The leaked key itself is not named again.
#[test]
fn another_active_key_of_the_leaked_keys_user_in_the_snapshot_is_named_for_review() {
    let c = case();
    std::fs::write(
        c.iam.join("access-keys-111122223333-ci-deployer.json"),
        r#"{"AccessKeyMetadata": [
            {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "CreateDate": "2023-06-01T09:00:00Z", "Status": "Active", "UserName": "ci-deployer"},
            {"AccessKeyId": "AKIAIOSFODNN7UNSEEN2", "CreateDate": "2024-03-11T11:40:00+00:00", "Status": "Active", "UserName": "ci-deployer"},
            {"AccessKeyId": "AKIAIOSFODNN7OLDKEY3", "CreateDate": "2023-01-01T00:00:00Z", "Status": "Inactive", "UserName": "ci-deployer"}
        ], "IsTruncated": false}"#,
    )
    .unwrap();
    let out = c.dir.path().join("plan.json");
    let o = plan(&c, &["--iam", c.iam.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p = read(&out);
    let reviews: Vec<&Value> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["type"] == "review"
                && a["reason"].as_str().unwrap().contains("another active access key")
        })
        .collect();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    let r = reviews[0]["reason"].as_str().unwrap();
    assert!(r.contains("user ci-deployer") && r.contains("AKIAIOSFODNN7UNSEEN2"), "{r}");
    assert!(r.contains("once the evidence had begun"), "{r}");
    assert!(reviews[0]["command"]
        .as_str()
        .unwrap()
        .contains("update-access-key --user-name 'ci-deployer' --access-key-id 'AKIAIOSFODNN7UNSEEN2' --status Inactive"));
    // Without the snapshot nothing names it: the logs never showed it.
    let bare = c.dir.path().join("bare.json");
    let o = plan(&c, &[], &bare);
    assert_eq!(o.status.code(), Some(0));
    assert!(!std::fs::read_to_string(&bare).unwrap().contains("AKIAIOSFODNN7UNSEEN2"));
}

/// A role that the snapshot shows trusting any AWS principal with no condition is a door no
/// deny of the plan closes for sessions issued after the cut-off: a review item names it. One
/// with a condition (an external id, an organization) is not.
#[test]
fn a_role_open_to_any_principal_in_the_snapshot_is_named_for_review() {
    let c = case();
    let page = c.iam.join("444455556666.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&page).unwrap()).unwrap();
    let role = |name: &str, condition: Value| {
        let mut st = serde_json::json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"});
        if !condition.is_null() {
            st["Condition"] = condition;
        }
        serde_json::json!({
            "Path": "/", "RoleName": name, "RoleId": format!("AROAIOSFODNN7{:0>7}", name.len()),
            "Arn": format!("arn:aws:iam::444455556666:role/{name}"),
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [st]},
            "RolePolicyList": [], "AttachedManagedPolicies": []
        })
    };
    let roles = v["RoleDetailList"].as_array_mut().unwrap();
    roles.push(role("Backdoor", Value::Null));
    roles.push(role("Vendor", serde_json::json!({"StringEquals": {"sts:ExternalId": "x1"}})));
    std::fs::write(&page, serde_json::to_string(&v).unwrap()).unwrap();
    let out = c.dir.path().join("plan.json");
    let o = plan(&c, &["--iam", c.iam.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p = read(&out);
    let open: Vec<&str> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "review")
        .map(|a| a["reason"].as_str().unwrap())
        .filter(|r| r.contains("trusts any AWS principal with no condition"))
        .collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0].contains("arn:aws:iam::444455556666:role/Backdoor"), "{open:?}");
}

/// A snapshot that does not hold the unseen tail's account (another account's export, a page
/// left out) cannot tell what it could reach: `--contain-reachable` contains none of it, so
/// the plan says so (a review item per principal, exit 1) and `verify --iam` fails, rather
/// than "0 reachable roles, OK". A principal missing from a snapshot that holds its account
/// (a user made after it was taken) is taken as allowed everything there: contained.
#[test]
fn a_snapshot_without_the_unseen_tails_account_contains_nothing_and_fails() {
    let c = case();
    // The control: every principal of the tail in the snapshot or in an account it holds.
    let out = c.dir.path().join("plan-all.json");
    let o = plan(&c, &["--contain-reachable", "--iam", c.iam.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p = read(&out);
    let principals = p["reachable"]["principals"].as_array().unwrap();
    let made = principals
        .iter()
        .find(|x| x["principal"] == "arn:aws:iam::111122223333:user/backup-admin")
        .expect("the attacker's user is in the unseen tail");
    assert_eq!(
        (made["in_snapshot"].as_bool(), made["upper_bound"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(p["summary"].get("uncontained_principals").is_none());

    // The main account's pages left out: only the second account's export remains.
    for f in std::fs::read_dir(&c.iam).unwrap() {
        let f = f.unwrap().path();
        if f.file_name().unwrap().to_str().unwrap().contains("111122223333") {
            std::fs::remove_file(f).unwrap();
        }
    }
    let out = c.dir.path().join("plan.json");
    let script = c.dir.path().join("plan.sh");
    let o = plan(
        &c,
        &[
            "--contain-reachable",
            "--iam",
            c.iam.to_str().unwrap(),
            "--script",
            script.to_str().unwrap(),
        ],
        &out,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not in the IAM snapshot"), "{stderr}");
    let p = read(&out);
    let missing: Vec<&Value> = p["reachable"]["principals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["in_snapshot"] == false && x.get("upper_bound").is_none())
        .collect();
    assert!(!missing.is_empty());
    assert_eq!(p["summary"]["uncontained_principals"].as_u64(), Some(missing.len() as u64));
    let reviews: Vec<&str> = p["precautionary"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["reason"].as_str())
        .filter(|r| r.starts_with("precaution NOT made"))
        .collect();
    assert_eq!(reviews.len(), missing.len(), "{reviews:?}");
    for m in &missing {
        let arn = m["principal"].as_str().unwrap();
        assert!(reviews.iter().any(|r| r.contains(arn)), "{arn}: {reviews:?}");
    }
    assert!(std::fs::read_to_string(&script).unwrap().contains("# WARNING: "));
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 1, "{v}");
    let not_in = strings(&v["precautionary"]["principals_not_in_snapshot"]);
    let want: BTreeSet<String> =
        missing.iter().map(|m| m["principal"].as_str().unwrap().to_string()).collect();
    assert_eq!(not_in, want);
}

/// The precautionary denies cut untainted live sessions too: every summary counts them (plan
/// JSON and `--format json`, stderr, blast's next step), as verify does. They said "0
/// collateral" and "N actions" of a plan.sh that went on to cut production sessions.
#[test]
fn the_precautions_collateral_is_in_every_summary_as_verify_counts_it() {
    let c = case();
    let out = c.dir.path().join("plan.json");
    let o = bin()
        .arg("plan")
        .arg(&c.trail)
        .args(["--key", KEY, "--effective-at", CUT, "--format", "json", "-o"])
        .arg(&out)
        .args(["--contain-reachable", "--iam", c.iam.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let short = json(&o.stdout);
    let p = read(&out);
    let ids = |list: &Value| -> BTreeSet<String> {
        list.as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["collateral"].as_array().cloned().unwrap_or_default())
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    let evidence = ids(&p["actions"]);
    let all: BTreeSet<String> = evidence.union(&ids(&p["precautionary"])).cloned().collect();
    assert!(all.len() > evidence.len(), "the precautions cut more: {all:?}");
    assert_eq!(p["summary"]["collateral_sessions"].as_u64(), Some(all.len() as u64));
    assert_eq!(short["summary"]["collateral_sessions"], p["summary"]["collateral_sessions"]);
    let pre = p["precautionary"].as_array().unwrap().len();
    assert_eq!(short["precautionary"].as_u64(), Some(pre as u64));
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 0, "{v}");
    let verified: BTreeSet<String> = v["collateral"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["session"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(verified, all);
}

/// A role the evidence shows in use that the snapshot lacks: the tail could assume it again
/// and what it reaches the snapshot cannot say. In an account the snapshot holds it is
/// evaluated as allowed everything there and denied whole (precaution); in one it does not
/// hold, it is not contained (exit 1, verify fails). Both were "0 NOT denied", plan 0 and
/// verify OK.
#[test]
fn a_used_role_the_snapshot_lacks_is_denied_whole_or_fails_the_containment() {
    let c = case();
    // The main account's export without DeployRole (made or renamed after it was taken).
    let page = c.iam.join("111122223333-2.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&page).unwrap()).unwrap();
    v["RoleDetailList"].as_array_mut().unwrap().retain(|r| r["RoleName"] != "DeployRole");
    std::fs::write(&page, serde_json::to_string(&v).unwrap()).unwrap();
    let deploy = "arn:aws:iam::111122223333:role/ci/DeployRole";
    let (out, p, role) = contained_role(&c, deploy);
    assert_eq!(role["used"], true);
    let principal = p["reachable"]["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["principal"] == deploy)
        .expect("evaluated on its own");
    assert_eq!(principal["upper_bound"], true);
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 0, "{v}");
    assert!(strings(&v["precautionary"]["reachable_roles_denied"]).contains(deploy), "{v}");

    // The second account's export left out: its used roles are not contained.
    std::fs::remove_file(c.iam.join("444455556666.json")).unwrap();
    let o = plan(&c, &["--contain-reachable", "--iam", c.iam.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let p = read(&out);
    let reviews = p["precautionary"].to_string();
    for used in [
        "arn:aws:iam::444455556666:role/CrossAccountAudit",
        "arn:aws:iam::444455556666:role/DataReader",
    ] {
        assert!(reviews.contains(&format!("precaution NOT made: {used}")), "{used}: {reviews}");
    }
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 1, "{v}");
}

/// A role the evidence shows in use that the snapshot holds but does not let the tail into (an
/// export from before the attacker changed its trust) is denied whole all the same: the logs
/// show a tainted credential assumed it, so the tail could again. And an account export that
/// holds no role list (`--filter`) is a snapshot problem, not "no roles" (exit 3).
#[test]
fn a_used_role_the_snapshot_keeps_out_is_denied_and_a_filtered_export_is_incomplete() {
    let c = case();
    let page = c.iam.join("111122223333-2.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&page).unwrap()).unwrap();
    let deploy = "arn:aws:iam::111122223333:role/ci/DeployRole";
    for r in v["RoleDetailList"].as_array_mut().unwrap() {
        if r["RoleName"] == "DeployRole" {
            r["AssumeRolePolicyDocument"] = serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/nobody"}, "Action": "sts:AssumeRole"}]});
        }
    }
    std::fs::write(&page, serde_json::to_string(&v).unwrap()).unwrap();
    let (out, _, role) = contained_role(&c, deploy);
    assert_eq!(role["used"], true, "{role}");
    let (code, v) = verify(&c, &out, true);
    assert_eq!(code, 0, "{v}");
    assert!(strings(&v["precautionary"]["reachable_roles_denied"]).contains(deploy), "{v}");

    // The main account exported without its role list.
    for f in ["111122223333.json", "111122223333-2.json"] {
        let page = c.iam.join(f);
        let mut v: Value = serde_json::from_slice(&std::fs::read(&page).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("RoleDetailList");
        std::fs::write(&page, serde_json::to_string(&v).unwrap()).unwrap();
    }
    let o = plan(&c, &["--contain-reachable", "--iam", c.iam.to_str().unwrap()], &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    let problems = read(&out)["reachable"]["problems"].to_string();
    assert!(problems.contains("hold no RoleDetailList"), "{problems}");
}

/// One role's inline policies share its budget (F8) with every inline deny the plan puts on
/// it: with `--strategy surgical`, a used and reachable role gets the evidence's deny and a
/// precautionary one. A review padded the role's policies in the snapshot so that either deny
/// fitted, not both: each was held to the room alone, plan.sh's second put was refused
/// (LimitExceeded), and `verify --iam` said OK.
#[test]
fn the_plans_inline_denies_on_one_role_share_its_room() {
    let c = case();
    let iam = c.iam.to_str().unwrap();
    let args = ["--contain-reachable", "--iam", iam, "--strategy", "surgical"];
    let first = c.dir.path().join("first.json");
    let o = plan(&c, &args, &first);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let inline = |p: &Value, list: &str| -> Vec<(String, u64, u64)> {
        p[list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == "put_role_policy")
            .map(|a| {
                let n = |k: &str| a[k].as_u64().unwrap();
                (
                    a["principal_arn"].as_str().unwrap().to_string(),
                    n("policy_size"),
                    n("policy_size_limit"),
                )
            })
            .collect()
    };
    let p = read(&first);
    let pre = inline(&p, "precautionary");
    let (role, (a, room), b) = inline(&p, "actions")
        .into_iter()
        .find_map(|(r, a, room)| {
            pre.iter().find(|(q, ..)| *q == r).map(|&(_, b, _)| (r.clone(), (a, room), b))
        })
        .expect("a role with the evidence's deny and a precautionary one, both inline");
    // Another inline policy on the role in the snapshot: room left for either deny, not both.
    let name = role.rsplit('/').next().unwrap().to_string();
    let doc = |sid: usize| serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "x".repeat(sid), "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let pad = room - (a + b - 1);
    let sid = pad as usize - serde_json::to_string(&doc(0)).unwrap().len();
    assert_eq!(serde_json::to_string(&doc(sid)).unwrap().len() as u64, pad);
    let mut hit = false;
    for f in files_under(&c.iam) {
        let mut v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let Some(roles) = v.get_mut("RoleDetailList").and_then(Value::as_array_mut) else {
            continue;
        };
        for r in roles.iter_mut().filter(|r| r["Arn"] == role.as_str()) {
            let policy = serde_json::json!({"PolicyName": "legacy", "PolicyDocument": doc(sid)});
            r["RolePolicyList"].as_array_mut().unwrap().push(policy);
            hit = true;
        }
        std::fs::write(&f, serde_json::to_string(&v).unwrap()).unwrap();
    }
    assert!(hit, "{name} is in the snapshot");
    // The plan made with that snapshot: at most the room inline on the role, the precaution
    // made a managed policy, and verify --iam holds it.
    let second = c.dir.path().join("second.json");
    let o = plan(&c, &args, &second);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let q = read(&second);
    let on_role: u64 = ["actions", "precautionary"]
        .iter()
        .flat_map(|l| inline(&q, l))
        .filter(|(r, ..)| *r == role)
        .map(|(_, s, _)| s)
        .sum();
    assert!(on_role < a + b, "{on_role} of {} left on {name}", a + b - 1);
    assert!(
        q["precautionary"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["type"] == "attach_role_policy" && x["principal_arn"] == role.as_str()),
        "{:#}",
        q["precautionary"]
    );
    let (code, v) = verify(&c, &second, true);
    assert_eq!(code, 0, "{:#}", v["notes"]);
    // The first plan, applied over that snapshot, is refused its second put.
    let (code, v) = verify(&c, &first, true);
    assert_eq!(code, 1, "{v:#}");
    assert!(v.to_string().contains("of the plan's other inline policies on it"), "{v:#}");
    // With room for both denies and nothing more, a snapshot taken after the plan's script
    // ran holds both under the plan's own names: putting them again replaces them, their
    // room is not counted twice (verify had refused the applied plan, over the room).
    let c = case();
    let add = |policies: Vec<Value>| {
        for f in files_under(&c.iam) {
            let mut v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            let Some(roles) = v.get_mut("RoleDetailList").and_then(Value::as_array_mut) else {
                continue;
            };
            for r in roles.iter_mut().filter(|r| r["Arn"] == role.as_str()) {
                r["RolePolicyList"].as_array_mut().unwrap().extend(policies.iter().cloned());
            }
            std::fs::write(&f, serde_json::to_string(&v).unwrap()).unwrap();
        }
    };
    add(vec![serde_json::json!({"PolicyName": "legacy", "PolicyDocument": doc(sid - 1)})]);
    let iam = c.iam.to_str().unwrap();
    let args = ["--contain-reachable", "--iam", iam, "--strategy", "surgical"];
    let third = c.dir.path().join("third.json");
    let o = plan(&c, &args, &third);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let t = read(&third);
    let puts: Vec<Value> = ["actions", "precautionary"]
        .iter()
        .flat_map(|l| t[*l].as_array().unwrap().iter())
        .filter(|a| a["type"] == "put_role_policy" && a["principal_arn"] == role.as_str())
        .map(|a| serde_json::json!({"PolicyName": a["policy_name"], "PolicyDocument": a["policy_document"]}))
        .collect();
    assert_eq!(puts.len(), 2, "both fit: {:#}", t["precautionary"]);
    assert_eq!(verify(&c, &third, true).0, 0);
    add(puts);
    let (code, v) = verify(&c, &third, true);
    assert_eq!(code, 0, "after the script ran: {:#}", v["notes"]);
}

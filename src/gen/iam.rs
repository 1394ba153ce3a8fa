//! The IAM snapshot of a generated world (issue #20): what a responder would export with
//! `aws iam get-account-authorization-details` in each account (the main account's split into
//! two pages, `IsTruncated`/`Marker`) and `aws iam list-access-keys` for each user with a key,
//! as the accounts stood before the incident (the backdoor user is not in it).
//!
//! The users and roles are the world's (same names, paths and unique ids as in the trail of the
//! same seed), plus the roles the trail only names (`OrganizationAccountAccessRole`) and an
//! Identity Center role. Policies are chosen so that the leaked user's reach has a known
//! answer ([`IamTruth`]): roles the attacker used, roles reachable but unused (one only under a
//! condition), roles not reachable (a trust naming another account although the user's policy
//! allows the role; service, SAML and OIDC trusts), users whose keys could be created, and the
//! account whose policies could be changed. A stale non-default version of a customer managed
//! policy would change the answer if it were read. Main-account documents are JSON objects (CLI
//! shape), second-account documents URL-encoded strings (API shape). AWS managed policies are
//! abbreviated to the statements that matter here.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::emit::seed_world;
use super::identity::{RoleDef, UserDef};
use super::{EXTERNAL_ACCOUNT, LEAKED_USER_ARN, MAIN_ACCOUNT, SECOND_ACCOUNT};

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const READONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const CREATED: &str = "2023-06-01T09:00:00Z";

/// The known reach of the leaked user in the snapshot. Every `Vec` is sorted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IamTruth {
    /// The leaked user's ARN.
    pub principal: String,
    /// Every role the principal could assume, directly or transitively.
    pub reachable_roles: Vec<String>,
    /// The subset of `reachable_roles` reachable only under a condition.
    pub conditional_roles: Vec<String>,
    /// The subset of `reachable_roles` the incident's attacker assumed.
    pub used_roles: Vec<String>,
    /// Every other role in the snapshot.
    pub unreachable_roles: Vec<String>,
    /// Users whose access keys or passwords the principal could create.
    pub credential_users: Vec<String>,
    /// Accounts whose IAM policies the principal could change.
    pub policy_change_accounts: Vec<String>,
    /// Role ARN → the ARN it is first reached from (breadth first, candidates by ARN).
    pub first_via: Vec<(String, String)>,
}

/// The snapshot files (name, JSON text) and the known answer.
#[derive(Clone, Debug)]
pub struct IamSnapshot {
    /// File name and content, in write order.
    pub files: Vec<(String, String)>,
    /// The known reach of [`LEAKED_USER_ARN`].
    pub truth: IamTruth,
}

fn doc(stmts: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": stmts})
}

fn allow(action: Value, resource: Value) -> Value {
    json!({"Effect": "Allow", "Action": action, "Resource": resource})
}

fn trust(principal: Value) -> Value {
    doc(json!([{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]))
}

/// RFC 3986 encoding of a document, as the IAM API returns it.
fn url_encoded(v: &Value) -> Value {
    let text = v.to_string();
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Value::String(out)
}

struct Acct {
    id: &'static str,
    encode: bool,
    users: Vec<Value>,
    groups: Vec<Value>,
    roles: Vec<Value>,
    policies: Vec<Value>,
}

impl Acct {
    fn d(&self, v: Value) -> Value {
        if self.encode {
            url_encoded(&v)
        } else {
            v
        }
    }

    fn inline(&self, list: &[(&str, Value)]) -> Vec<Value> {
        list.iter()
            .map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": self.d(d.clone())}))
            .collect()
    }

    fn user(&mut self, u: &UserDef, groups: &[&str], inline: &[(&str, Value)], attached: &[&str]) {
        let inline = self.inline(inline);
        self.users.push(json!({
            "Path": "/", "UserName": u.name, "UserId": u.id, "Arn": u.arn(), "CreateDate": CREATED,
            "UserPolicyList": inline, "GroupList": groups,
            "AttachedManagedPolicies": attached_list(attached), "Tags": [],
        }));
    }

    fn role(&mut self, r: &RoleDef, trust: Value, inline: &[(&str, Value)], attached: &[&str]) {
        let inline = self.inline(inline);
        self.roles.push(json!({
            "Path": r.path, "RoleName": r.name, "RoleId": r.id, "Arn": r.arn(), "CreateDate": CREATED,
            "AssumeRolePolicyDocument": self.d(trust), "InstanceProfileList": [],
            "RolePolicyList": inline, "AttachedManagedPolicies": attached_list(attached),
            "Tags": [], "RoleLastUsed": {},
        }));
    }

    fn group(&mut self, name: &str, id: &str, inline: &[(&str, Value)], attached: &[&str]) {
        let inline = self.inline(inline);
        self.groups.push(json!({
            "Path": "/", "GroupName": name, "GroupId": id,
            "Arn": format!("arn:aws:iam::{}:group/{name}", self.id), "CreateDate": CREATED,
            "GroupPolicyList": inline, "AttachedManagedPolicies": attached_list(attached),
        }));
    }

    fn managed(&mut self, arn: &str, versions: &[(&str, Value)], default: &str) {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let list: Vec<Value> = versions
            .iter()
            .map(|(v, d)| {
                json!({"Document": self.d(d.clone()), "VersionId": v,
                "IsDefaultVersion": *v == default, "CreateDate": CREATED})
            })
            .collect();
        self.policies.push(json!({
            "PolicyName": name, "PolicyId": format!("ANPA{}", name.to_ascii_uppercase().replace('-', "")),
            "Arn": arn, "Path": "/", "DefaultVersionId": default, "AttachmentCount": 1,
            "IsAttachable": true, "CreateDate": CREATED, "UpdateDate": CREATED, "PolicyVersionList": list,
        }));
    }
}

fn attached_list(arns: &[&str]) -> Vec<Value> {
    arns.iter()
        .map(|a| json!({"PolicyName": a.rsplit('/').next().unwrap_or(a), "PolicyArn": a}))
        .collect()
}

fn role_def(acct: &'static str, name: &str, path: &str, id: String) -> RoleDef {
    RoleDef { acct, name: name.to_string(), path: path.to_string(), id }
}

/// Builds the snapshot of the world of `seed` (the same world as `generate` with that seed).
pub fn iam_snapshot(seed: u64) -> IamSnapshot {
    let (_, _, tags, w) = seed_world(seed);
    let (u, r) = (&w.users, &w.roles);
    let mut main = Acct {
        id: MAIN_ACCOUNT,
        encode: false,
        users: vec![],
        groups: vec![],
        roles: vec![],
        policies: vec![],
    };
    let mut second = Acct {
        id: SECOND_ACCOUNT,
        encode: true,
        users: vec![],
        groups: vec![],
        roles: vec![],
        policies: vec![],
    };
    let root = |a: &str| format!("arn:aws:iam::{a}:root");
    let org_role = role_def(
        SECOND_ACCOUNT,
        "OrganizationAccountAccessRole",
        "/",
        format!("AROA{}ORGACCESS", tags[SECOND_ACCOUNT]),
    );
    let sso_admin = role_def(
        MAIN_ACCOUNT,
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
        "/aws-reserved/sso.amazonaws.com/",
        format!("AROA{}SSOADMIN", tags[MAIN_ACCOUNT]),
    );
    let artifacts = format!("arn:aws:iam::{MAIN_ACCOUNT}:policy/ci-artifacts");

    // Managed policies.
    main.managed(ADMIN, &[("v1", doc(json!([allow(json!("*"), json!("*"))])))], "v1");
    main.managed(
        READONLY,
        &[(
            "v1",
            doc(json!([allow(json!(["*:Describe*", "*:Get*", "*:List*", "s3:Get*"]), json!("*"))])),
        )],
        "v1",
    );
    main.managed(
        &artifacts,
        &[
            // A stale version: read instead of v2, the leaked user would assume every role
            // trusting the account itself (MaintenanceRole directly rather than via AdminRole).
            ("v1", doc(json!([allow(json!("sts:AssumeRole"), json!("*"))]))),
            (
                "v2",
                doc(json!([allow(
                    json!(["s3:GetObject", "s3:PutObject"]),
                    json!("arn:aws:s3:::example-app-artifacts-111122223333/*")
                )])),
            ),
        ],
        "v2",
    );

    // Main account users and groups.
    let ci_policy = doc(json!([
        allow(
            json!("sts:AssumeRole"),
            json!([r.admin.arn(), r.deploy.arn(), r.readonly.arn(), org_role.arn(),])
        ),
        allow(json!("cloudformation:Describe*"), json!("*")),
    ]));
    main.group("Admins", &format!("AGPA{}ADMINS", tags[MAIN_ACCOUNT]), &[], &[ADMIN]);
    let dev_assume = doc(json!([allow(json!("sts:AssumeRole"), json!(r.readonly.arn()))]));
    main.group(
        "Developers",
        &format!("AGPA{}DEVS", tags[MAIN_ACCOUNT]),
        &[("dev-assume", dev_assume)],
        &[READONLY],
    );
    main.user(&u.alice, &["Admins"], &[], &[]);
    main.user(&u.bob, &["Developers"], &[], &[]);
    main.user(&u.carol, &["Developers"], &[], &[]);
    let bot = doc(json!([allow(json!("sts:AssumeRole"), json!(r.deploy.arn()))]));
    main.user(&u.deploy_bot, &[], &[("assume-deploy", bot)], &[]);
    main.user(&u.ci_deployer, &[], &[("ci-deploy", ci_policy)], &[&artifacts]);

    // Main account roles.
    main.role(&r.admin, trust(json!({"AWS": root(MAIN_ACCOUNT)})), &[], &[ADMIN]);
    let mfa_trust = doc(
        json!([{"Effect": "Allow", "Principal": {"AWS": root(MAIN_ACCOUNT)}, "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]),
    );
    main.role(&r.readonly, mfa_trust, &[], &[READONLY]);
    let deploy_policy = doc(json!([
        allow(json!("sts:AssumeRole"), json!(r.deploy_target.arn())),
        allow(json!(["cloudformation:*", "s3:*"]), json!("*")),
    ]));
    main.role(
        &r.deploy,
        trust(json!({"AWS": [u.ci_deployer.arn(), u.deploy_bot.arn()]})),
        &[("deploy", deploy_policy)],
        &[],
    );
    main.role(
        &r.maintenance,
        trust(json!({"AWS": root(MAIN_ACCOUNT)})),
        &[("maintenance", doc(json!([allow(json!("ec2:*"), json!("*"))])))],
        &[],
    );
    let vendor_trust = doc(
        json!([{"Effect": "Allow", "Principal": {"AWS": root(EXTERNAL_ACCOUNT)}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "example-vendor-4417"}}}]),
    );
    main.role(&r.vendor, vendor_trust, &[], &[READONLY]);
    let saml = |acct: &str| {
        doc(json!([{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{acct}:saml-provider/ExampleIdP")},
        "Action": "sts:AssumeRoleWithSAML", "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}]))
    };
    main.role(&r.sso_engineer, saml(MAIN_ACCOUNT), &[], &[READONLY]);
    let sso_trust = doc(json!([{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{MAIN_ACCOUNT}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE")},
        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]));
    main.role(&sso_admin, sso_trust, &[], &[ADMIN]);
    let oidc = doc(json!([{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{MAIN_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:example-org/*"}}}]));
    main.role(&r.github, oidc, &[("deploy", doc(json!([allow(json!("s3:*"), json!("*"))])))], &[]);
    main.role(&r.rds_slr, trust(json!({"Service": "rds.amazonaws.com"})), &[], &[]);

    // Second account.
    second.user(
        &u.etl_user,
        &[],
        &[(
            "etl",
            doc(json!([allow(
                json!("s3:*"),
                json!("arn:aws:s3:::example-etl-staging-444455556666/*")
            )])),
        )],
        &[],
    );
    second.user(&u.ops_admin, &[], &[("admin", doc(json!([allow(json!("*"), json!("*"))])))], &[]);
    let audit_policy = doc(json!([
        allow(json!("sts:AssumeRole"), json!(r.data_reader.arn())),
        allow(json!(["s3:GetObject", "s3:ListBucket", "iam:List*"]), json!("*")),
    ]));
    second.role(
        &r.cross_audit,
        trust(json!({"AWS": r.admin.arn()})),
        &[("audit", audit_policy)],
        &[],
    );
    second.role(
        &r.data_reader,
        trust(json!({"AWS": r.cross_audit.arn()})),
        &[("read", doc(json!([allow(json!("s3:Get*"), json!("*"))])))],
        &[],
    );
    let target_policy = doc(json!([
        allow(json!("iam:CreateAccessKey"), json!(u.etl_user.arn())),
        allow(json!("cloudformation:*"), json!("*")),
    ]));
    second.role(
        &r.deploy_target,
        trust(json!({"AWS": r.deploy.arn()})),
        &[("target", target_policy)],
        &[],
    );
    second.role(
        &org_role,
        trust(json!({"AWS": root(EXTERNAL_ACCOUNT)})),
        &[("admin", doc(json!([allow(json!("*"), json!("*"))])))],
        &[],
    );
    second.role(&r.sso_readonly_second, saml(SECOND_ACCOUNT), &[], &[]);

    // Service roles of instances and functions (each once).
    let mut service_roles: Vec<(RoleDef, &str)> = Vec::new();
    for i in &w.instances {
        service_roles.push((i.role.clone(), "ec2.amazonaws.com"));
    }
    for f in &w.functions {
        service_roles.push((f.role.clone(), "lambda.amazonaws.com"));
    }
    service_roles.sort_by_key(|a| a.0.arn());
    service_roles.dedup_by(|a, b| a.0.arn() == b.0.arn());
    for (role, service) in &service_roles {
        let a = if role.acct == MAIN_ACCOUNT { &mut main } else { &mut second };
        a.role(
            role,
            trust(json!({"Service": service})),
            &[("work", doc(json!([allow(json!(["s3:GetObject", "logs:*"]), json!("*"))])))],
            &[],
        );
    }

    // Files: the main account in two pages, the second in one; list-access-keys per user.
    let page = |users: &[Value],
                groups: &[Value],
                roles: &[Value],
                policies: &[Value],
                marker: Option<&str>| {
        let mut v = json!({"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles,
            "Policies": policies, "IsTruncated": marker.is_some()});
        if let Some(m) = marker {
            v["Marker"] = json!(m);
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    };
    let mut files = vec![
        (
            format!("{MAIN_ACCOUNT}.json"),
            page(&main.users, &main.groups, &[], &[], Some("EXAMPLEMARKER1")),
        ),
        (format!("{MAIN_ACCOUNT}-2.json"), page(&[], &[], &main.roles, &main.policies, None)),
        (
            format!("{SECOND_ACCOUNT}.json"),
            page(&second.users, &second.groups, &second.roles, &second.policies, None),
        ),
    ];
    for user in
        [&u.alice, &u.bob, &u.carol, &u.deploy_bot, &u.ci_deployer, &u.etl_user, &u.ops_admin]
    {
        if let Some(k) = &user.key {
            let v = json!({"AccessKeyMetadata": [{"UserName": user.name, "AccessKeyId": k, "Status": "Active", "CreateDate": CREATED}],
                "IsTruncated": false});
            files.push((
                format!("access-keys-{}-{}.json", user.acct, user.name),
                serde_json::to_string_pretty(&v).unwrap_or_default(),
            ));
        }
    }

    let reachable = [
        &r.admin,
        &r.deploy,
        &r.readonly,
        &r.maintenance,
        &r.cross_audit,
        &r.data_reader,
        &r.deploy_target,
    ];
    let mut reachable_roles: Vec<String> = reachable.iter().map(|x| x.arn()).collect();
    reachable_roles.sort();
    let mut all: Vec<String> = main
        .roles
        .iter()
        .chain(&second.roles)
        .filter_map(|x| x["Arn"].as_str().map(str::to_string))
        .collect();
    all.sort();
    let unreachable_roles = all.into_iter().filter(|a| !reachable_roles.contains(a)).collect();
    let mut used_roles: Vec<String> =
        [&r.admin, &r.deploy, &r.cross_audit, &r.data_reader].iter().map(|x| x.arn()).collect();
    used_roles.sort();
    let mut credential_users: Vec<String> =
        [&u.alice, &u.bob, &u.carol, &u.deploy_bot, &u.ci_deployer, &u.etl_user]
            .iter()
            .map(|x| x.arn())
            .collect();
    credential_users.sort();
    let leaked = LEAKED_USER_ARN.to_string();
    let mut first_via = vec![
        (r.admin.arn(), leaked.clone()),
        (r.deploy.arn(), leaked.clone()),
        (r.readonly.arn(), leaked.clone()),
        (r.maintenance.arn(), r.admin.arn()),
        (r.cross_audit.arn(), r.admin.arn()),
        (r.deploy_target.arn(), r.deploy.arn()),
        (r.data_reader.arn(), r.cross_audit.arn()),
    ];
    first_via.sort();
    let truth = IamTruth {
        principal: leaked,
        reachable_roles,
        conditional_roles: vec![r.readonly.arn()],
        used_roles,
        unreachable_roles,
        credential_users,
        policy_change_accounts: vec![MAIN_ACCOUNT.to_string()],
        first_via,
    };
    IamSnapshot { files, truth }
}

/// Writes [`iam_snapshot`]`(seed)` into `dir` (created if missing) and returns the known answer.
///
/// # Errors
/// Any I/O error creating `dir` or writing the files.
pub fn write_iam_snapshot(seed: u64, dir: &Path) -> io::Result<IamTruth> {
    let snap = iam_snapshot(seed);
    fs::create_dir_all(dir)?;
    for (name, text) in &snap.files {
        fs::write(dir.join(name), text)?;
    }
    Ok(snap.truth)
}

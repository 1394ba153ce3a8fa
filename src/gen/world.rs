//! The world: users, roles, EC2 instances, Lambda functions, buckets and the read calls of
//! background traffic.

use std::collections::BTreeMap;

use super::aws::{
    CFN, CLOUDTRAIL, EC2, EU_WEST_1, IAM, KMS, LAMBDA, S3, SECRETS, SSM, STS, US_EAST_1, US_WEST_2,
};
use super::identity::{Cred, RoleDef, UserDef};
use super::rng::{Rng, B32, HEX};
use super::{EXTERNAL_ACCOUNT, LEAKED_KEY, MAIN_ACCOUNT, SECOND_ACCOUNT};

pub(super) struct Roles {
    pub(super) admin: RoleDef,
    pub(super) readonly: RoleDef,
    pub(super) deploy: RoleDef,
    pub(super) maintenance: RoleDef,
    pub(super) vendor: RoleDef,
    pub(super) sso_engineer: RoleDef,
    pub(super) sso_readonly_second: RoleDef,
    pub(super) github: RoleDef,
    pub(super) cross_audit: RoleDef,
    pub(super) data_reader: RoleDef,
    pub(super) deploy_target: RoleDef,
    pub(super) rds_slr: RoleDef,
    pub(super) batch_worker: RoleDef,
}

pub(super) struct Users {
    pub(super) alice: UserDef,
    pub(super) bob: UserDef,
    pub(super) carol: UserDef,
    pub(super) deploy_bot: UserDef,
    pub(super) ci_deployer: UserDef,
    pub(super) etl_user: UserDef,
    pub(super) ops_admin: UserDef,
}

#[derive(Clone)]
pub(super) struct Instance {
    pub(super) role: RoleDef,
    pub(super) id: String,
    pub(super) ip: String,
    pub(super) region: &'static str,
    pub(super) cred: Option<Cred>,
}

#[derive(Clone)]
pub(super) struct Function {
    pub(super) role: RoleDef,
    pub(super) name: &'static str,
    pub(super) region: &'static str,
    pub(super) ip: String,
    pub(super) cred: Option<Cred>,
}

pub(super) const BUCKETS: &[(&str, &str, &str)] = &[
    (MAIN_ACCOUNT, "example-app-artifacts-111122223333", US_EAST_1),
    (MAIN_ACCOUNT, "example-web-assets-111122223333", US_EAST_1),
    (MAIN_ACCOUNT, "example-batch-input-111122223333", EU_WEST_1),
    (SECOND_ACCOUNT, "example-finance-reports-444455556666", US_EAST_1),
    (SECOND_ACCOUNT, "example-customer-data-eu-444455556666", EU_WEST_1),
    (SECOND_ACCOUNT, "example-etl-staging-444455556666", US_WEST_2),
];

/// (eventSource, eventName, global endpoint) of background read calls.
pub(super) const READS: &[(&str, &str, bool)] = &[
    (EC2, "DescribeInstances", false),
    (EC2, "DescribeSecurityGroups", false),
    (EC2, "DescribeVpcs", false),
    (EC2, "DescribeSubnets", false),
    (EC2, "DescribeVolumes", false),
    (EC2, "DescribeRegions", false),
    (S3, "ListBuckets", true),
    (S3, "GetBucketAcl", true),
    (S3, "GetBucketPolicy", true),
    (S3, "GetBucketLocation", true),
    (IAM, "ListUsers", true),
    (IAM, "ListRoles", true),
    (IAM, "GetUser", true),
    (IAM, "GetRole", true),
    (IAM, "ListAttachedRolePolicies", true),
    (IAM, "ListPolicies", true),
    (IAM, "GetAccountSummary", true),
    (LAMBDA, "ListFunctions20150331", false),
    (LAMBDA, "GetFunction20150331v2", false),
    (STS, "GetCallerIdentity", true),
    (CFN, "DescribeStacks", false),
    (KMS, "ListKeys", false),
    (KMS, "ListAliases", false),
    (SECRETS, "ListSecrets", false),
    (SSM, "DescribeInstanceInformation", false),
    ("logs.amazonaws.com", "DescribeLogGroups", false),
    ("rds.amazonaws.com", "DescribeDBInstances", false),
    ("dynamodb.amazonaws.com", "ListTables", false),
    (CLOUDTRAIL, "DescribeTrails", false),
    ("monitoring.amazonaws.com", "DescribeAlarms", false),
];

pub(super) const TERRAFORM_READS: &[(&str, &str, bool)] = &[
    (EC2, "DescribeVpcs", false),
    (EC2, "DescribeSubnets", false),
    (EC2, "DescribeSecurityGroups", false),
    (EC2, "DescribeInstances", false),
    (IAM, "GetRole", true),
    (IAM, "ListAttachedRolePolicies", true),
    (IAM, "ListRolePolicies", true),
    (S3, "GetBucketPolicy", true),
    (S3, "GetBucketAcl", true),
    (LAMBDA, "GetFunction20150331v2", false),
    (STS, "GetCallerIdentity", true),
    (CFN, "DescribeStacks", false),
    (KMS, "DescribeKey", false),
];

pub(super) const FUNCTIONS: &[&str] = &["orders-api", "thumbnailer", "nightly-report"];
pub(super) const STACKS: &[&str] = &["orders-api-prod", "web-frontend", "network-baseline"];

/// The accounts' principals and resources, drawn from the PRNG in a fixed order.
pub(super) struct World {
    pub(super) users: Users,
    pub(super) roles: Roles,
    pub(super) instances: Vec<Instance>,
    pub(super) functions: Vec<Function>,
    /// Unique id of the vendor's own role in [`EXTERNAL_ACCOUNT`].
    pub(super) vendor_role_id: String,
}

impl World {
    /// Builds the world; `tags` holds each account's 8-character id tag.
    pub(super) fn new(rng: &mut Rng, tags: &BTreeMap<&'static str, String>) -> Self {
        let uid = |rng: &mut Rng, prefix: &str, acct: &'static str| {
            format!("{prefix}{}{}", tags[acct], rng.string(B32, 9))
        };
        let user = |rng: &mut Rng, acct: &'static str, name: &str, key: bool| UserDef {
            acct,
            name: name.to_string(),
            id: uid(rng, "AIDA", acct),
            key: if key { Some(format!("AKIA{}{}", tags[acct], rng.string(B32, 8))) } else { None },
        };
        let users = Users {
            alice: user(rng, MAIN_ACCOUNT, "alice", true),
            bob: user(rng, MAIN_ACCOUNT, "bob", false),
            carol: user(rng, MAIN_ACCOUNT, "carol", false),
            deploy_bot: user(rng, MAIN_ACCOUNT, "deploy-bot", true),
            ci_deployer: UserDef {
                key: Some(LEAKED_KEY.to_string()),
                ..user(rng, MAIN_ACCOUNT, "ci-deployer", false)
            },
            etl_user: user(rng, SECOND_ACCOUNT, "etl-user", true),
            ops_admin: user(rng, SECOND_ACCOUNT, "ops-admin", false),
        };
        let role = |rng: &mut Rng, acct: &'static str, name: &str, path: &str| RoleDef {
            acct,
            name: name.to_string(),
            path: path.to_string(),
            id: format!("AROA{}{}", tags[acct], rng.string(B32, 9)),
        };
        let roles = Roles {
            admin: role(rng, MAIN_ACCOUNT, "AdminRole", "/"),
            readonly: role(rng, MAIN_ACCOUNT, "ReadOnlyRole", "/"),
            deploy: role(rng, MAIN_ACCOUNT, "DeployRole", "/ci/"),
            maintenance: role(rng, MAIN_ACCOUNT, "MaintenanceRole", "/"),
            vendor: role(rng, MAIN_ACCOUNT, "VendorReadOnly", "/partners/"),
            sso_engineer: role(rng, MAIN_ACCOUNT, "SSO-Engineer", "/"),
            sso_readonly_second: role(rng, SECOND_ACCOUNT, "SSO-ReadOnly", "/"),
            github: role(rng, MAIN_ACCOUNT, "GitHubActionsDeploy", "/"),
            cross_audit: role(rng, SECOND_ACCOUNT, "CrossAccountAudit", "/"),
            data_reader: role(rng, SECOND_ACCOUNT, "DataReader", "/"),
            deploy_target: role(rng, SECOND_ACCOUNT, "DeployTarget", "/"),
            rds_slr: role(
                rng,
                MAIN_ACCOUNT,
                "AWSServiceRoleForRDS",
                "/aws-service-role/rds.amazonaws.com/",
            ),
            batch_worker: role(rng, MAIN_ACCOUNT, "BatchWorkerRole", "/"),
        };
        let mut instances = Vec::new();
        for (acct, rname, region, n) in [
            (MAIN_ACCOUNT, "WebServerRole", US_EAST_1, 3),
            (MAIN_ACCOUNT, "BatchWorkerRole", EU_WEST_1, 2),
            (SECOND_ACCOUNT, "EtlWorkerRole", US_WEST_2, 2),
        ] {
            let r = if rname == "BatchWorkerRole" {
                roles.batch_worker.clone()
            } else {
                role(rng, acct, rname, "/")
            };
            for _ in 0..n {
                let id = format!("i-0{}", rng.string(HEX, 16));
                let ip = format!(
                    "{}.{}.{}.{}",
                    rng.pick(&[3, 18, 34, 52, 54]),
                    rng.range(1, 255),
                    rng.range(0, 255),
                    rng.range(1, 255)
                );
                instances.push(Instance { role: r.clone(), id, ip, region, cred: None });
            }
        }
        let mut functions = Vec::new();
        for (i, (acct, region)) in
            [(MAIN_ACCOUNT, US_EAST_1), (MAIN_ACCOUNT, EU_WEST_1), (SECOND_ACCOUNT, US_EAST_1)]
                .into_iter()
                .enumerate()
        {
            let name = FUNCTIONS[i];
            let r = role(rng, acct, &format!("{name}-exec-role"), "/service-role/");
            let ip =
                format!("3.{}.{}.{}", rng.range(80, 240), rng.range(0, 255), rng.range(1, 255));
            functions.push(Function { role: r, name, region, ip, cred: None });
        }
        let vendor_role_id = format!("AROA{}{}", tags[EXTERNAL_ACCOUNT], rng.string(B32, 9));
        World { users, roles, instances, functions, vendor_role_id }
    }
}

//! Background traffic: random activities of every identity type the chain builder meets
//! ([`Gen::background_chunk`]) and the scripted background sessions an analysis must tell apart
//! from the incident ([`Gen::scripted_background`]).

use serde_json::json;

use super::agent::Ua;
use super::aws::{
    CFN, CLOUDTRAIL, EC2, EU_WEST_1, IAM, KMS, LAMBDA, S3, SECRETS, SSM, STS, US_EAST_1, US_WEST_2,
};
use super::emit::Gen;
use super::identity::{Actor, Cred, RoleDef, Who};
use super::rng::{ALNUM, HEX};
use super::world::{READS, TERRAFORM_READS};
use super::{EXTERNAL_ACCOUNT, MAIN_ACCOUNT, SECOND_ACCOUNT};

impl Gen {
    // ----- random activities ------------------------------------------------------------------

    pub(super) fn background_chunk(&mut self, from: i64, to: i64, mut budget: f64) -> f64 {
        // Weights: user CLI, console, role use, EC2, Lambda, SAML, web identity, RDS SLR,
        // service events, vendor, root, legit cross-account deploy.
        const WEIGHTS: [u32; 12] = [24, 14, 12, 20, 10, 5, 4, 3, 3, 2, 1, 2];
        while budget > 0.0 {
            let before = self.events;
            let t = self.rng.range(from, to);
            match self.rng.weighted(&WEIGHTS) {
                0 => self.act_user_cli(t),
                1 => self.act_console(t),
                2 => self.act_role_user(t),
                3 => self.act_instance(t),
                4 => self.act_lambda(t),
                5 => self.act_saml(t),
                6 => self.act_web_identity(t),
                7 => self.act_slr(t),
                8 => self.act_service_event(t),
                9 => self.act_vendor(t),
                10 => self.act_root(t),
                _ => self.act_cross_deploy(t),
            }
            budget -= (self.events - before) as f64;
        }
        budget
    }

    fn reads(
        &mut self,
        t: i64,
        a: &Actor,
        n: usize,
        table: &[(&'static str, &'static str, bool)],
    ) -> i64 {
        // People and tools work in one region per session.
        let home = self.regional();
        let mut t = t;
        for _ in 0..n {
            t += self.rng.range(1, 40);
            let &(src, name, global) = self.rng.pick(table);
            let region = if global { None } else { Some(home) };
            let deny_p = if src == IAM || src == SECRETS { 0.06 } else { 0.015 };
            if self.rng.chance(deny_p) {
                self.denied_call(t, a, src, name, region);
            } else {
                self.call(t, a, src, name, region);
            }
        }
        t
    }

    fn act_user_cli(&mut self, t: i64) {
        match self.rng.below(3) {
            0 => {
                let a = Actor {
                    cred: Cred::user(&self.users.alice),
                    ip: self.office_ip(),
                    ua: Ua::CliMac,
                };
                let n = self.rng.range(3, 12) as usize;
                self.reads(t, &a, n, READS);
            }
            1 => {
                let a = Actor {
                    cred: Cred::user(&self.users.deploy_bot),
                    ip: "198.51.100.50".to_string(),
                    ua: Ua::Terraform,
                };
                let n = self.rng.range(4, 14) as usize;
                self.reads(t, &a, n, TERRAFORM_READS);
            }
            _ => {
                let a = Actor {
                    cred: Cred::user(&self.users.etl_user),
                    ip: "198.51.100.80".to_string(),
                    ua: Ua::App,
                };
                let n = self.rng.range(2, 8);
                let mut t = t;
                for _ in 0..n {
                    t += self.rng.range(1, 30);
                    match self.rng.below(5) {
                        0 => {
                            self.call(t, &a, "dynamodb.amazonaws.com", "ListTables", None);
                        }
                        1 => {
                            self.call(t, &a, KMS, "DescribeKey", Some(US_WEST_2));
                        }
                        2 => {
                            let key = self.object_key("staging", "parquet");
                            let b = ("example-etl-staging-444455556666", US_WEST_2);
                            self.s3_object(t, &a, b, &key, true);
                        }
                        _ => {
                            let key = self.object_key("reports", "csv");
                            let b = ("example-finance-reports-444455556666", US_EAST_1);
                            self.s3_object(t, &a, b, &key, false);
                        }
                    }
                }
            }
        }
    }

    fn act_console(&mut self, t: i64) {
        let u = match self.rng.below(4) {
            0 => self.users.alice.clone(),
            1 => self.users.bob.clone(),
            2 => self.users.carol.clone(),
            _ => self.users.ops_admin.clone(),
        };
        let ip = self.office_ip();
        self.console_login(t, Who::User(u.clone()), &ip, true);
        self.console_session(t, Who::User(u), &ip);
    }

    /// Console API calls: `ASIA` keys rotating every few calls, no issuing event (F2).
    fn console_session(&mut self, login: i64, who: Who, ip: &str) {
        let acct = Cred::new(who.clone(), None).acct();
        let mut cred = Cred::new(who, Some(self.new_key("ASIA", acct)));
        cred.created = Some(login);
        cred.mfa = true;
        cred.console = true;
        let mut a = Actor { cred, ip: ip.to_string(), ua: Ua::Console };
        let n = self.rng.range(4, 22);
        let home = self.regional();
        let mut t = login + self.rng.range(2, 20);
        for i in 0..n {
            if i > 0 && self.rng.chance(0.3) {
                a.cred.key = Some(self.new_key("ASIA", acct));
                if self.rng.chance(0.3) {
                    a.cred.created = Some(t);
                }
            }
            let &(src, name, global) = self.rng.pick(READS);
            let region = if global { None } else { Some(home) };
            if self.rng.chance(0.02) {
                self.denied_call(t, &a, src, name, region);
            } else {
                self.call(t, &a, src, name, region);
            }
            t += self.rng.range(2, 180);
        }
    }

    fn act_root(&mut self, t: i64) {
        let acct = if self.rng.chance(0.7) { MAIN_ACCOUNT } else { SECOND_ACCOUNT };
        let ip = self.office_ip();
        self.console_login(t, Who::Root(acct), &ip, true);
        let mut cred = Cred::new(Who::Root(acct), Some(self.new_key("ASIA", acct)));
        cred.created = Some(t);
        cred.mfa = true;
        cred.console = true;
        let a = Actor { cred, ip, ua: Ua::Console };
        let mut t = t + 5;
        for (src, name) in [
            (IAM, "GetAccountSummary"),
            (IAM, "ListAccountAliases"),
            (IAM, "ListUsers"),
            (S3, "ListBuckets"),
            (EC2, "DescribeRegions"),
        ] {
            if self.rng.chance(0.7) {
                self.call(t, &a, src, name, None);
                t += self.rng.range(3, 90);
            }
        }
    }

    fn act_role_user(&mut self, t: i64) {
        let (caller, role, session, dur) = if self.rng.chance(0.5) {
            (
                Actor { cred: Cred::user(&self.users.alice), ip: self.office_ip(), ua: Ua::CliMac },
                self.roles.readonly.clone(),
                "alice".to_string(),
                None,
            )
        } else {
            let s = format!("terraform-{}", t);
            (
                Actor {
                    cred: Cred::user(&self.users.deploy_bot),
                    ip: "198.51.100.50".to_string(),
                    ua: Ua::Terraform,
                },
                self.roles.deploy.clone(),
                s,
                Some(3600),
            )
        };
        let regional = if self.rng.chance(0.08) { Some(EU_WEST_1) } else { None };
        let cred = self.assume_role(t, &caller, &role, &session, dur, regional);
        if self.rng.chance(0.1) {
            // Seen in real logs: the same AssumeRole logged twice in one second with two
            // different keys, only one of them used (CLOUDTRAIL.md §5).
            self.assume_role(t, &caller, &role, &session, dur, regional);
        }
        let a = Actor { cred, ip: caller.ip.clone(), ua: caller.ua };
        let n = self.rng.range(2, 10) as usize;
        let table = if caller.ua == Ua::Terraform { TERRAFORM_READS } else { READS };
        self.reads(t + 1, &a, n, table);
    }

    fn act_cross_deploy(&mut self, t: i64) {
        let caller = Actor {
            cred: Cred::user(&self.users.deploy_bot),
            ip: "198.51.100.50".to_string(),
            ua: Ua::Terraform,
        };
        let role = self.roles.deploy_target.clone();
        let session = format!("deploy-{}", self.rng.range(1000, 9999));
        let cred = self.assume_role(t, &caller, &role, &session, Some(3600), None);
        let a = Actor { cred, ip: caller.ip, ua: Ua::Terraform };
        let n = self.rng.range(2, 8) as usize;
        self.reads(t + 1, &a, n, TERRAFORM_READS);
    }

    fn act_instance(&mut self, t: i64) {
        let idx = self.rng.below(self.instances.len() as u64) as usize;
        let inst = self.instances[idx].clone();
        let cred = match inst.cred {
            Some(c) if t - c.created.unwrap_or(t) < 3600 => c,
            _ => {
                let dur = 21_600 + self.rng.range(0, 1800);
                let c = self.service_assume(t, EC2, &inst.role, &inst.id, dur, None);
                self.instances[idx].cred = Some(c.clone());
                c
            }
        };
        let a = Actor { cred, ip: inst.ip.clone(), ua: Ua::SsmAgent };
        let acct = inst.role.acct;
        let n = self.rng.range(1, 7);
        let mut t = t + 1;
        for _ in 0..n {
            t += self.rng.range(1, 120);
            let region = Some(inst.region);
            match self.rng.below(7) {
                0 => {
                    let mut r = self.api(t, &a, SSM, "UpdateInstanceInformation", region);
                    r.request_parameters = json!({
                        "instanceId": inst.id,
                        "agentVersion": "3.2.2016.0",
                        "agentStatus": "Active",
                        "platformType": "Linux",
                        "platformName": "Amazon Linux",
                        "platformVersion": "2023",
                        "agentName": "amazon-ssm-agent",
                    });
                    self.send(r);
                }
                1 => {
                    let mut r = self.api(t, &a, EC2, "DescribeTags", region);
                    r.request_parameters = json!({"filterSet": {"items": [{"name": "resource-id", "valueSet": {"items": [{"value": inst.id}]}}]}});
                    self.send(r);
                }
                2 => {
                    self.call(t, &a, SSM, "GetParameter", region);
                }
                3 => {
                    self.call(t, &a, SECRETS, "GetSecretValue", region);
                }
                4 => {
                    self.call(t, &a, KMS, "Decrypt", region);
                }
                _ => {
                    let b = self.bucket(acct);
                    let put = self.rng.chance(0.4);
                    let key = self.object_key("app", if put { "json" } else { "bin" });
                    self.s3_object(t, &a, b, &key, put);
                }
            }
        }
    }

    fn act_lambda(&mut self, t: i64) {
        let idx = self.rng.below(self.functions.len() as u64) as usize;
        let f = self.functions[idx].clone();
        let cred = match f.cred {
            Some(c) if t - c.created.unwrap_or(t) < 2400 => c,
            _ => {
                let c = self.service_assume(t, LAMBDA, &f.role, f.name, 43_200, None);
                self.functions[idx].cred = Some(c.clone());
                c
            }
        };
        let a = Actor { cred, ip: f.ip.clone(), ua: Ua::LambdaPy };
        self.lambda_calls(t + 1, &a, f.region);
    }

    fn lambda_calls(&mut self, t: i64, a: &Actor, region: &'static str) {
        let n = self.rng.range(1, 5);
        let mut t = t;
        for _ in 0..n {
            t += self.rng.range(0, 5);
            match self.rng.below(4) {
                0 => {
                    self.call(t, a, KMS, "Decrypt", Some(region));
                }
                1 => {
                    self.call(t, a, SSM, "GetParameter", Some(region));
                }
                2 => {
                    self.call(t, a, SECRETS, "GetSecretValue", Some(region));
                }
                _ => {
                    let b = self.bucket(a.cred.acct());
                    let key = self.object_key("out", "json");
                    self.s3_object(t, a, b, &key, true);
                }
            }
        }
    }

    fn act_saml(&mut self, t: i64) {
        let (role, provider, acct) = if self.rng.chance(0.75) {
            (self.roles.sso_engineer.clone(), "OktaProd", MAIN_ACCOUNT)
        } else {
            (self.roles.sso_readonly_second.clone(), "OktaProd", SECOND_ACCOUNT)
        };
        let person = *self.rng.pick(&["dave@example.com", "erin@example.com", "frank@example.com"]);
        let qualifier = "Sz1y4k5oaiUuyJ9C9x3q+Wd2d5E=";
        let ip = self.office_ip();
        let saml = Actor {
            cred: Cred::new(
                Who::Saml {
                    principal: format!("{qualifier}:{person}"),
                    user: person.to_string(),
                    provider: qualifier.to_string(),
                },
                None,
            ),
            ip: ip.clone(),
            ua: Ua::Browser,
        };
        let key = self.new_key("ASIA", acct);
        let provider_arn = format!("arn:aws:iam::{acct}:saml-provider/{provider}");
        let mut r = self.base(t, &saml, US_EAST_1, STS, "AssumeRoleWithSAML");
        r.request_parameters = json!({
            "sAMLAssertionID": format!("id{}", self.rng.string(HEX, 24)),
            "roleSessionName": person,
            "roleArn": role.arn(),
            "principalArn": provider_arn,
            "durationSeconds": 3600,
        });
        r.response_elements = json!({
            "credentials": self.credentials(&key, t + 3600),
            "assumedRoleUser": {
                "assumedRoleId": format!("{}:{}", role.id, person),
                "arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", acct, role.name, person),
            },
            "subject": person,
            "subjectType": "persistent",
            "issuer": "http://www.okta.com/exk1example2Abc3d4e5",
            "audience": "https://signin.aws.amazon.com/saml",
            "nameQualifier": qualifier,
        });
        r.resources = Some(json!([
            {"accountId": acct, "type": "AWS::IAM::Role", "ARN": role.arn()},
            {"accountId": acct, "type": "AWS::IAM::SAMLProvider", "ARN": provider_arn}
        ]));
        r.recipient_account_id = acct;
        let id = self.send(r);
        let mut cred = Cred::new(Who::Role(role, person.to_string()), Some(key));
        cred.created = Some(t);
        cred.expires = Some(t + 3600);
        cred.console = true;
        self.ledger.issued(&saml.cred, &cred, "AssumeRoleWithSAML", &id, t);
        let a = Actor { cred, ip, ua: Ua::Console };
        let n = self.rng.range(2, 12) as usize;
        self.reads(t + 3, &a, n, READS);
    }

    fn act_web_identity(&mut self, t: i64) {
        let role = self.roles.github.clone();
        let sub = "repo:example-org/webapp:ref:refs/heads/main";
        let issuer = "token.actions.githubusercontent.com";
        let ip = format!(
            "20.{}.{}.{}",
            self.rng.range(20, 120),
            self.rng.range(0, 255),
            self.rng.range(1, 255)
        );
        let web = Actor {
            cred: Cred::new(
                Who::Web {
                    principal: format!("{issuer}:sts.amazonaws.com:{sub}"),
                    user: sub.to_string(),
                    provider: issuer.to_string(),
                },
                None,
            ),
            ip: ip.clone(),
            ua: Ua::GithubActions,
        };
        let key = self.new_key("ASIA", MAIN_ACCOUNT);
        let session = "GitHubActions";
        let mut r = self.base(t, &web, US_EAST_1, STS, "AssumeRoleWithWebIdentity");
        r.request_parameters =
            json!({"roleArn": role.arn(), "roleSessionName": session, "durationSeconds": 3600});
        r.response_elements = json!({
            "credentials": self.credentials(&key, t + 3600),
            "subjectFromWebIdentityToken": sub,
            "assumedRoleUser": {
                "assumedRoleId": format!("{}:{}", role.id, session),
                "arn": format!("arn:aws:sts::{MAIN_ACCOUNT}:assumed-role/{}/{}", role.name, session),
            },
            "provider": format!("arn:aws:iam::{MAIN_ACCOUNT}:oidc-provider/{issuer}"),
            "audience": "sts.amazonaws.com",
        });
        r.additional_event_data =
            Some(json!({"identityProviderConnectionVerificationMethod": "IAMTrustStore"}));
        r.resources = Some(json!([
            {"accountId": MAIN_ACCOUNT, "type": "AWS::IAM::Role", "ARN": role.arn()}
        ]));
        r.recipient_account_id = MAIN_ACCOUNT;
        let id = self.send(r);
        let mut cred = Cred::new(Who::Role(role, session.to_string()), Some(key));
        cred.created = Some(t);
        cred.expires = Some(t + 3600);
        self.ledger.issued(&web.cred, &cred, "AssumeRoleWithWebIdentity", &id, t);
        let a = Actor { cred, ip, ua: Ua::GithubActions };
        let mut t = t + 2;
        for _ in 0..self.rng.range(2, 6) {
            t += self.rng.range(2, 60);
            if self.rng.chance(0.5) {
                let key = self.object_key("builds", "zip");
                self.s3_object(
                    t,
                    &a,
                    ("example-app-artifacts-111122223333", US_EAST_1),
                    &key,
                    true,
                );
            } else {
                self.call(t, &a, CFN, "DescribeStacks", Some(US_EAST_1));
            }
        }
    }

    fn act_slr(&mut self, t: i64) {
        let role = self.roles.rds_slr.clone();
        let mut cred =
            self.service_assume(t, "rds.amazonaws.com", &role, "SLRManagement", 900, None);
        // Service-linked-role calls carry no accessKeyId (F17).
        cred.key = None;
        cred.invoked_by = Some("rds.amazonaws.com");
        let a = Actor {
            cred,
            ip: "rds.amazonaws.com".to_string(),
            ua: Ua::Service("rds.amazonaws.com"),
        };
        let region = self.regional();
        let mut t = t + 1;
        for name in ["DescribeSecurityGroups", "DescribeSubnets", "DescribeVpcs"] {
            if self.rng.chance(0.8) {
                self.call(t, &a, EC2, name, Some(region));
                t += self.rng.range(0, 3);
            }
        }
    }

    fn act_service_event(&mut self, t: i64) {
        let acct = if self.rng.chance(0.6) { MAIN_ACCOUNT } else { SECOND_ACCOUNT };
        if self.rng.chance(0.3) {
            // CloudTrail itself checking its bucket: AWSService identity.
            let a = Actor {
                cred: Cred::new(Who::Service(CLOUDTRAIL), None),
                ip: CLOUDTRAIL.to_string(),
                ua: Ua::Service(CLOUDTRAIL),
            };
            let mut r = self.base(t, &a, US_EAST_1, S3, "GetBucketAcl");
            let b = format!("example-cloudtrail-logs-{acct}");
            r.request_parameters =
                json!({"bucketName": b, "Host": format!("{b}.s3.amazonaws.com"), "acl": ""});
            r.additional_event_data = Some(self.s3_extra(0, 540));
            r.recipient_account_id = acct;
            r.resources = Some(
                json!([{"accountId": acct, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{b}")}]),
            );
            self.send(r);
            return;
        }
        // AwsServiceEvent: userIdentity without `type` (F17).
        let (by, name) =
            if self.rng.chance(0.5) { (KMS, "RotateKey") } else { (SECRETS, "RotationSucceeded") };
        let a = Actor {
            cred: Cred::new(Who::Untyped { acct, by }, None),
            ip: by.to_string(),
            ua: Ua::Service(by),
        };
        let region = self.regional();
        let mut r = self.base(t, &a, region, by, name);
        r.event_type = "AwsServiceEvent";
        r.read_only = false;
        r.request_id = None;
        if by == KMS {
            let key = self.rng.uuid();
            r.resources = Some(
                json!([{"accountId": acct, "type": "AWS::KMS::Key", "ARN": format!("arn:aws:kms:{region}:{acct}:key/{key}")}]),
            );
            r.additional_event_data = Some(json!({"keyId": key}));
        } else {
            r.additional_event_data = Some(
                json!({"SecretId": format!("arn:aws:secretsmanager:{region}:{acct}:secret:prod/app/db-credentials-{}", self.rng.string(ALNUM, 6))}),
            );
        }
        self.send(r);
    }

    fn act_vendor(&mut self, t: i64) {
        let role = self.roles.vendor.clone();
        let vendor_role = RoleDef {
            acct: EXTERNAL_ACCOUNT,
            name: "SecurityScanner".to_string(),
            path: "/".to_string(),
            id: self.vendor_role_id.clone(),
        };
        let mut vcred = Cred::new(
            Who::Role(vendor_role, "scanner".to_string()),
            Some(self.new_key("ASIA", EXTERNAL_ACCOUNT)),
        );
        vcred.created = Some(t - 600);
        let caller = Actor { cred: vcred, ip: "198.51.100.201".to_string(), ua: Ua::Vendor };
        let session = format!("scan-{}", self.rng.range(100_000, 999_999));
        let cred = self.assume_role(t, &caller, &role, &session, Some(3600), None);
        let a = Actor { cred, ip: caller.ip, ua: Ua::Vendor };
        let n = self.rng.range(3, 10) as usize;
        self.reads(t + 1, &a, n, READS);
    }

    // ----- scripted background ----------------------------------------------------------------

    pub(super) fn scripted_background(&mut self, start: i64, end: i64, t0: i64) {
        // A legitimate AdminRole session named `ci` early on (role session names are not
        // unique); it expires long before the incident.
        let bot = Actor {
            cred: Cred::user(&self.users.deploy_bot),
            ip: "198.51.100.50".to_string(),
            ua: Ua::Terraform,
        };
        let admin = self.roles.admin.clone();
        let t = start + 900 + self.rng.range(0, 300);
        let c = self.assume_role(t, &bot, &admin, "ci", Some(3600), None);
        let a = Actor { cred: c, ip: bot.ip.clone(), ua: Ua::Terraform };
        self.reads(t + 2, &a, 6, TERRAFORM_READS);

        // Alice's AdminRole session, 20 minutes before the attacker's and valid for 12 h: the
        // collateral a TokenIssueTime deny on AdminRole would hit.
        let alice = Actor {
            cred: Cred::user(&self.users.alice),
            ip: "192.0.2.10".to_string(),
            ua: Ua::CliMac,
        };
        let t = if self.incident_on { t0 - 1200 } else { start + (end - start) / 2 };
        let c = self.assume_role(t, &alice, &admin, "alice", Some(43_200), None);
        let a = Actor { cred: c, ip: alice.ip.clone(), ua: Ua::CliMac };
        let mut u = t + 5;
        while u < end {
            let n = self.rng.range(1, 4) as usize;
            self.reads(u, &a, n, READS);
            u += self.rng.range(1200, 2400);
        }

        // F16: one ASIA key id issued to two unrelated sessions hours apart.
        let reused = self.new_key("ASIA", MAIN_ACCOUNT);
        let inst_role = self.roles.batch_worker.clone();
        let t1 = start + (end - start) / 6 + self.rng.range(0, 900);
        let inst_id = format!("i-0{}", self.rng.string(HEX, 16));
        let c = self.service_assume(t1, EC2, &inst_role, &inst_id, 21_600, Some(reused.clone()));
        let a = Actor { cred: c, ip: "54.216.33.10".to_string(), ua: Ua::App };
        for k in 0..4 {
            let key = self.object_key("batch", "csv");
            self.s3_object(
                t1 + 30 + k * 300,
                &a,
                ("example-batch-input-111122223333", EU_WEST_1),
                &key,
                false,
            );
        }
        let f = self.functions[0].clone();
        let t2 = start + (end - start) * 2 / 3 + self.rng.range(0, 900);
        let c = self.service_assume(t2, LAMBDA, &f.role, f.name, 43_200, Some(reused.clone()));
        let a = Actor { cred: c, ip: f.ip, ua: Ua::LambdaPy };
        self.lambda_calls(t2 + 1, &a, f.region);
        self.call(t2 + 20, &a, STS, "GetCallerIdentity", None);
        self.ledger.reused_key(reused);

        // ci-deployer's legitimate CI runs with the (later leaked) key.
        let ci = Actor {
            cred: Cred::user(&self.users.ci_deployer),
            ip: "198.51.100.23".to_string(),
            ua: Ua::CiOld,
        };
        let stop = if self.incident_on { t0 - 600 } else { end };
        let mut t = start + 240 + self.rng.range(0, 600);
        while t < stop {
            self.call(t, &ci, STS, "GetCallerIdentity", None);
            self.call(t + 4, &ci, "ecr.amazonaws.com", "GetAuthorizationToken", Some(US_EAST_1));
            let key = format!("builds/{}/orders-api.zip", self.rng.string(HEX, 12));
            self.s3_object(
                t + 40,
                &ci,
                ("example-app-artifacts-111122223333", US_EAST_1),
                &key,
                true,
            );
            let mut r =
                self.api(t + 55, &ci, LAMBDA, "UpdateFunctionCode20150331v2", Some(US_EAST_1));
            let fn_arn = format!("arn:aws:lambda:us-east-1:{MAIN_ACCOUNT}:function:orders-api");
            r.request_parameters =
                json!({"functionName": "orders-api", "publish": true, "dryRun": false});
            r.response_elements = json!({"functionName": "orders-api", "functionArn": fn_arn, "runtime": "python3.12", "codeSize": self.rng.range(100_000, 900_000), "version": "$LATEST", "state": "Active"});
            let id = self.send(r);
            // The key is leaked: whatever it deployed may be the attacker's (F21).
            let call = (t + 55, "UpdateFunctionCode20150331v2", id.as_str());
            self.ledger.function_changed(&ci.cred, (MAIN_ACCOUNT, "orders-api"), call);
            self.call(t + 70, &ci, CFN, "DescribeStacks", Some(US_EAST_1));
            t += 2700 + self.rng.range(-300, 300);
        }
    }
}

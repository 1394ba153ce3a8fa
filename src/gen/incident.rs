//! The leaked-key incident (see the module docs of [`super`] for the story).

use serde_json::json;

use super::agent::Ua;
use super::aws::{
    us_time_no_comma, CFN, CLOUDTRAIL, EC2, EU_WEST_1, IAM, KMS, LAMBDA, ORGS, S3, SECRETS, STS,
    US_EAST_1, US_WEST_2,
};
use super::emit::Gen;
use super::identity::{Actor, Cred, UserDef};
use super::rng::{B32, HEX};
use super::{LEAKED_USER_ARN, MAIN_ACCOUNT, SECOND_ACCOUNT};

impl Gen {
    /// Emits the incident starting at `t0`; returns the time of its last event.
    pub(super) fn incident(&mut self, t0: i64) -> i64 {
        let ip1 = "203.0.113.77".to_string();
        let ip2 = "203.0.113.140".to_string();
        self.ledger.attacker_ip(&ip1);
        self.ledger.attacker_ip(&ip2);
        let ci = self.users.ci_deployer.clone();
        let mut leaked = Actor { cred: Cred::user(&ci), ip: ip1.clone(), ua: Ua::PyRequests };

        // 1. Validate the key, then recon (some denied).
        self.call(t0, &leaked, STS, "GetCallerIdentity", None);
        leaked.ua = Ua::CliKali;
        let mut r = self.api(t0 + 25, &leaked, IAM, "ListAttachedUserPolicies", None);
        r.request_parameters = json!({"userName": "ci-deployer"});
        self.send(r);
        self.denied_call(t0 + 41, &leaked, IAM, "ListUsers", None);
        self.call(t0 + 58, &leaked, S3, "ListBuckets", None);
        self.call(t0 + 73, &leaked, EC2, "DescribeInstances", Some(US_EAST_1));
        self.call(t0 + 88, &leaked, EC2, "DescribeInstances", Some(EU_WEST_1));
        self.call(t0 + 97, &leaked, EC2, "DescribeInstances", Some(US_WEST_2));
        self.denied_call(t0 + 121, &leaked, SECRETS, "ListSecrets", Some(US_EAST_1));
        self.denied_call(t0 + 150, &leaked, IAM, "GetAccountAuthorizationDetails", None);
        self.call(t0 + 182, &leaked, LAMBDA, "ListFunctions20150331", Some(US_EAST_1));
        self.call(t0 + 210, &leaked, IAM, "ListRoles", None);
        let mut r = self.api(t0 + 236, &leaked, IAM, "GetRole", None);
        r.request_parameters = json!({"roleName": "AdminRole"});
        self.send(r);

        // 8. A denied cross-account AssumeRole: params/response null, role only in the message;
        // denied cross-account calls are not logged in the target account.
        let mut r = self.base(t0 + 300, &leaked, US_EAST_1, STS, "AssumeRole");
        r.error_code = Some("AccessDenied");
        r.error_message = Some(format!("User: {LEAKED_USER_ARN} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{SECOND_ACCOUNT}:role/OrganizationAccountAccessRole"));
        self.send(r);

        // 2. AdminRole session `ci` (12 h). Its issuing event is delivered late, after the
        // file holding its first use (F15).
        let admin_role = self.roles.admin.clone();
        self.next_delay = Some(1500);
        self.next_dup = true;
        let admin = self.assume_role(t0 + 420, &leaked, &admin_role, "ci", Some(43_200), None);
        let admin_a = Actor { cred: admin, ip: ip1.clone(), ua: Ua::CliKali };
        self.next_delay = Some(75);
        self.call(t0 + 452, &admin_a, STS, "GetCallerIdentity", None);
        self.call(t0 + 480, &admin_a, IAM, "ListUsers", None);
        self.call(t0 + 505, &admin_a, IAM, "ListRoles", None);
        self.call(t0 + 530, &admin_a, ORGS, "DescribeOrganization", None);
        self.call(t0 + 560, &admin_a, EC2, "DescribeInstances", Some(US_WEST_2));
        self.call(t0 + 600, &admin_a, EC2, "DescribeSecurityGroups", Some(EU_WEST_1));

        // 9. A 900 s session that expires long before the end of the trail.
        let deploy_role = self.roles.deploy.clone();
        let short = self.assume_role(t0 + 640, &leaked, &deploy_role, "ci-short", Some(900), None);
        let short_a = Actor { cred: short, ip: ip1.clone(), ua: Ua::CliKali };
        self.call(t0 + 700, &short_a, LAMBDA, "ListFunctions20150331", Some(US_EAST_1));
        self.call(t0 + 820, &short_a, CFN, "DescribeStacks", Some(US_EAST_1));
        let mut r = self.api(t0 + 1100, &short_a, LAMBDA, "GetFunction20150331v2", Some(US_EAST_1));
        r.request_parameters = json!({"functionName": "orders-api"});
        self.send(r);

        // 7. Persistence from the AdminRole session.
        let backup = UserDef {
            acct: MAIN_ACCOUNT,
            name: "backup-admin".to_string(),
            id: format!("AIDA{}{}", self.tags[MAIN_ACCOUNT], self.rng.string(B32, 9)),
            key: None,
        };
        let mut r = self.base(t0 + 1200, &admin_a, US_EAST_1, IAM, "CreateUser");
        r.request_parameters = json!({"path": "/", "userName": backup.name});
        r.response_elements = json!({"user": {
            "path": "/",
            "userName": backup.name,
            "userId": backup.id,
            "arn": backup.arn(),
            "createDate": us_time_no_comma(t0 + 1200),
        }});
        self.send(r);
        self.ledger.created_user(&admin_a.cred, backup.arn());
        let mut r = self.base(t0 + 1232, &admin_a, US_EAST_1, IAM, "CreateLoginProfile");
        r.request_parameters = json!({"userName": backup.name, "passwordResetRequired": false});
        r.response_elements = json!({"loginProfile": {
            "userName": backup.name,
            "createDate": us_time_no_comma(t0 + 1232),
            "passwordResetRequired": false,
        }});
        self.send(r);
        let mut r = self.base(t0 + 1260, &admin_a, US_EAST_1, IAM, "AttachUserPolicy");
        r.request_parameters = json!({"userName": backup.name, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"});
        self.send(r);
        let bk1 = self.create_access_key(t0 + 1295, &admin_a, &backup, false);
        let maint = self.roles.maintenance.clone();
        let mut r = self.base(t0 + 1380, &admin_a, US_EAST_1, IAM, "UpdateAssumeRolePolicy");
        let trust = format!("{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"{}\"}},\"Action\":\"sts:AssumeRole\"}}]}}", backup.arn());
        r.request_parameters = json!({"roleName": maint.name, "policyDocument": trust});
        self.send(r);
        let mut r = self.base(t0 + 1410, &admin_a, US_EAST_1, IAM, "PutRolePolicy");
        r.request_parameters = json!({
            "roleName": maint.name,
            "policyName": "maint-ops",
            "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
        });
        self.send(r);
        self.ledger.modified_role(&admin_a.cred, maint.arn());

        // The backdoor key, from a second attacker IP; it mints a second key for itself.
        let bk1_a = Actor { cred: bk1, ip: ip2.clone(), ua: Ua::Boto3Kali };
        self.call(t0 + 1600, &bk1_a, STS, "GetCallerIdentity", None);
        let mut r = self.api(t0 + 1630, &bk1_a, IAM, "ListAccessKeys", None);
        r.request_parameters = json!({"userName": "backup-admin"});
        self.send(r);
        let bk2 = self.create_access_key(t0 + 1660, &bk1_a, &backup, true);
        let bk2_a = Actor { cred: bk2, ip: ip2.clone(), ua: Ua::Boto3Kali };
        self.call(t0 + 1800, &bk2_a, S3, "ListBuckets", None);
        self.call(t0 + 1830, &bk2_a, IAM, "ListUsers", None);

        // 3. Role chaining across accounts (logged in both accounts, F3), delivered twice.
        let audit_role = self.roles.cross_audit.clone();
        self.next_dup = true;
        let audit = self.assume_role(t0 + 2000, &admin_a, &audit_role, "audit", Some(3600), None);
        let audit_a = Actor { cred: audit, ip: ip2.clone(), ua: Ua::CliKali };
        self.call(t0 + 2040, &audit_a, STS, "GetCallerIdentity", None);
        self.call(t0 + 2070, &audit_a, S3, "ListBuckets", None);
        self.call(t0 + 2100, &audit_a, IAM, "ListRoles", None);
        self.call(t0 + 2130, &audit_a, EC2, "DescribeInstances", Some(EU_WEST_1));
        let finance = ("example-finance-reports-444455556666", US_EAST_1);
        let mut t = t0 + 2200;
        for (i, file) in [
            "2024/q1/payroll.csv",
            "2024/q1/ledger.xlsx",
            "2024/q1/vendors.csv",
            "2023/annual/report.pdf",
            "2023/annual/salaries.csv",
            "exports/customers-full.csv.gz",
        ]
        .iter()
        .enumerate()
        {
            self.next_dup = i == 1;
            self.s3_object(t, &audit_a, finance, file, false);
            t += self.rng.range(20, 60);
        }

        // 4. Third hop inside 444455556666 through the regional eu-west-1 STS endpoint.
        let reader_role = self.roles.data_reader.clone();
        let reader = self.assume_role(
            t0 + 2700,
            &audit_a,
            &reader_role,
            "reader",
            Some(3600),
            Some(EU_WEST_1),
        );
        let reader_a = Actor { cred: reader, ip: ip2.clone(), ua: Ua::CliKali };
        self.call(t0 + 2730, &reader_a, STS, "GetCallerIdentity", Some(EU_WEST_1));
        let eu = ("example-customer-data-eu-444455556666", EU_WEST_1);
        let mut t = t0 + 2760;
        for _ in 0..5 {
            let key = self.object_key("customers", "json.gz");
            self.s3_object(t, &reader_a, eu, &key, false);
            t += self.rng.range(15, 50);
        }
        self.call(t0 + 3000, &reader_a, KMS, "Decrypt", Some(EU_WEST_1));

        // 5. GetSessionToken; the issuing event arrives after its first use (F15).
        leaked.ip = ip1.clone();
        self.next_delay = Some(1800);
        let gst = self.get_session_token(t0 + 3300, &leaked, 43_200);
        let gst_a = Actor { cred: gst, ip: ip1.clone(), ua: Ua::CliKali };
        self.next_delay = Some(90);
        self.call(t0 + 3330, &gst_a, STS, "GetCallerIdentity", None);
        self.call(t0 + 3360, &gst_a, EC2, "DescribeInstances", Some(US_WEST_2));
        self.call(t0 + 3390, &gst_a, S3, "ListBuckets", None);
        self.call(t0 + 3420, &gst_a, EC2, "DescribeSnapshots", Some(US_EAST_1));

        // 6. GetFederationToken `contractor`.
        let fed = self.get_federation_token(t0 + 3900, &leaked, "contractor", 43_200);
        let fed_a = Actor { cred: fed, ip: ip2.clone(), ua: Ua::Boto3Kali };
        self.call(t0 + 3930, &fed_a, STS, "GetCallerIdentity", None);
        self.call(t0 + 3960, &fed_a, S3, "ListBuckets", None);
        let artifacts = ("example-app-artifacts-111122223333", US_EAST_1);
        let mut t = t0 + 3990;
        for _ in 0..3 {
            let key = format!("builds/{}/orders-api.zip", self.rng.string(HEX, 12));
            self.s3_object(t, &fed_a, artifacts, &key, false);
            t += self.rng.range(10, 40);
        }
        self.call(t0 + 4100, &fed_a, EC2, "DescribeSecurityGroups", Some(US_EAST_1));

        // Last look around with the AdminRole session.
        self.call(t0 + 4800, &admin_a, EC2, "DescribeInstances", Some(US_WEST_2));
        self.call(t0 + 4900, &admin_a, CLOUDTRAIL, "DescribeTrails", Some(US_EAST_1));
        self.call(t0 + 4950, &admin_a, CLOUDTRAIL, "GetTrailStatus", Some(US_EAST_1));
        let mut r = self.api(t0 + 5100, &admin_a, IAM, "ListAccessKeys", None);
        r.request_parameters = json!({"userName": "backup-admin"});
        self.send(r);
        t0 + 5100
    }
}

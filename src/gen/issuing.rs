//! Credential-issuing events: AssumeRole (by a principal, across accounts, or by an AWS
//! service), GetSessionToken, GetFederationToken, CreateAccessKey, and console sign-in. Each
//! returns the new credential and tells the ledger who issued it.

use serde_json::{json, Value};

use super::agent::{ua_string, Ua};
use super::aws::{us_time, EC2, IAM, SIGNIN, STS, US_EAST_1};
use super::emit::Gen;
use super::identity::{Actor, Cred, RoleDef, UserDef, Who};
use super::EXTERNAL_ACCOUNT;

impl Gen {
    /// AssumeRole by `caller` (IAMUser, AssumedRole or external account). Cross-account calls are
    /// logged twice (F3): caller account with the caller's identity, role owner with an
    /// `AWSAccount` identity, both with the same `sharedEventID`, requestID and response. A
    /// caller in [`EXTERNAL_ACCOUNT`] only gets the role-owner copy (its logs are not exported).
    pub(super) fn assume_role(
        &mut self,
        t: i64,
        caller: &Actor,
        role: &RoleDef,
        session: &str,
        duration: Option<i64>,
        sts_region: Option<&'static str>,
    ) -> Cred {
        let region = sts_region.unwrap_or(US_EAST_1);
        let key = self.new_key("ASIA", role.acct);
        let dur = duration.unwrap_or(3600);
        let mut params = json!({"roleArn": role.arn(), "roleSessionName": session});
        if let Some(d) = duration {
            params["durationSeconds"] = json!(d);
        }
        let resp = json!({
            "credentials": self.credentials(&key, t + dur),
            "assumedRoleUser": {
                "assumedRoleId": format!("{}:{}", role.id, session),
                "arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", role.acct, role.name, session),
            },
        });
        let resources =
            json!([{"accountId": role.acct, "type": "AWS::IAM::Role", "ARN": role.arn()}]);
        let details = json!({"RequestDetails": {
            "awsServingRegion": region,
            "endpointType": if sts_region.is_some() { "regional" } else { "global" },
        }});
        let caller_acct = caller.cred.acct();
        let cross = caller_acct != role.acct;
        let shared = if cross { Some(self.rng.uuid()) } else { None };
        let request_id = self.rng.uuid();
        let mut first_id = None;
        if caller_acct != EXTERNAL_ACCOUNT {
            let mut r = self.base(t, caller, region, STS, "AssumeRole");
            r.request_parameters = params.clone();
            r.response_elements = resp.clone();
            r.resources = Some(resources.clone());
            r.request_id = Some(request_id.clone());
            r.shared_event_id = shared.clone();
            if r.event_version != "1.08" {
                r.additional_event_data = Some(details.clone());
            }
            first_id = Some(self.send(r));
        }
        if cross {
            let owner = Actor {
                cred: Cred::new(
                    Who::Account { acct: caller_acct, principal: caller.cred.principal_id() },
                    None,
                ),
                ip: caller.ip.clone(),
                ua: caller.ua,
            };
            let mut r = self.base(t, &owner, region, STS, "AssumeRole");
            r.user_agent = ua_string(caller.ua, STS, "AssumeRole");
            r.request_parameters = params;
            r.response_elements = resp;
            r.resources = Some(resources);
            r.request_id = Some(request_id);
            r.shared_event_id = shared;
            r.recipient_account_id = role.acct;
            if r.event_version != "1.08" {
                r.additional_event_data = Some(details);
            }
            let id = self.send(r);
            self.ledger.owner_copy(&caller.cred, &id);
            if first_id.is_none() {
                first_id = Some(id);
            }
        }
        let mut cred = Cred::new(Who::Role(role.clone(), session.to_string()), Some(key));
        cred.created = Some(t);
        cred.expires = Some(t + dur);
        cred.mfa = caller.cred.mfa;
        let id = first_id.unwrap_or_default();
        self.ledger.issued(&caller.cred, &cred, "AssumeRole", &id, t);
        cred
    }

    /// AssumeRole made by an AWS service (EC2 instance profile, Lambda, RDS service-linked role).
    pub(super) fn service_assume(
        &mut self,
        t: i64,
        by: &'static str,
        role: &RoleDef,
        session: &str,
        dur: i64,
        forced_key: Option<String>,
    ) -> Cred {
        let svc = Actor {
            cred: Cred::new(Who::Service(by), None),
            ip: by.to_string(),
            ua: Ua::Service(by),
        };
        let key = match forced_key {
            Some(k) => k,
            None => self.new_key("ASIA", role.acct),
        };
        let region = US_EAST_1;
        let mut r = self.base(t, &svc, region, STS, "AssumeRole");
        let slr = role.path.starts_with("/aws-service-role/");
        r.request_parameters = json!({"roleArn": role.arn(), "roleSessionName": session});
        let creds = self.credentials(&key, t + dur);
        if slr {
            r.request_parameters["durationSeconds"] = json!(dur);
            r.response_elements = json!({
                "credentials": creds,
                "assumedRoleUser": {
                    "assumedRoleId": format!("{}:{}", role.id, session),
                    "arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", role.acct, role.name, session),
                },
                "packedPolicySize": 91,
            });
        } else {
            // EC2, ECS and Lambda responses carry only the credentials (CLOUDTRAIL.md §5).
            r.response_elements = json!({"credentials": creds});
        }
        r.resources =
            Some(json!([{"accountId": role.acct, "type": "AWS::IAM::Role", "ARN": role.arn()}]));
        r.recipient_account_id = role.acct;
        r.shared_event_id = Some(self.rng.uuid());
        let id = self.send(r);
        let mut cred = Cred::new(Who::Role(role.clone(), session.to_string()), Some(key));
        cred.created = Some(t);
        cred.expires = Some(t + dur);
        cred.ec2 = by == EC2;
        self.ledger.issued(&svc.cred, &cred, "AssumeRole", &id, t);
        cred
    }

    pub(super) fn get_session_token(&mut self, t: i64, caller: &Actor, dur: i64) -> Cred {
        let Who::User(u) = &caller.cred.who else {
            return caller.cred.clone();
        };
        let key = self.new_key("ASIA", u.acct);
        let mut r = self.base(t, caller, US_EAST_1, STS, "GetSessionToken");
        r.request_parameters = json!({"durationSeconds": dur});
        r.response_elements = json!({"credentials": self.credentials(&key, t + dur)});
        let id = self.send(r);
        let mut cred = Cred::new(Who::User(u.clone()), Some(key));
        cred.created = Some(t);
        cred.expires = Some(t + dur);
        self.ledger.issued(&caller.cred, &cred, "GetSessionToken", &id, t);
        cred
    }

    pub(super) fn get_federation_token(
        &mut self,
        t: i64,
        caller: &Actor,
        name: &str,
        dur: i64,
    ) -> Cred {
        let Who::User(u) = &caller.cred.who else {
            return caller.cred.clone();
        };
        let key = self.new_key("ASIA", u.acct);
        let mut r = self.base(t, caller, US_EAST_1, STS, "GetFederationToken");
        r.request_parameters = json!({
            "name": name,
            "policy": "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}]\n}",
            "durationSeconds": dur,
        });
        r.response_elements = json!({
            "credentials": self.credentials(&key, t + dur),
            "federatedUser": {
                "federatedUserId": format!("{}:{}", u.acct, name),
                "arn": format!("arn:aws:sts::{}:federated-user/{}", u.acct, name),
            },
            "packedPolicySize": 4,
        });
        let id = self.send(r);
        let mut cred =
            Cred::new(Who::Federated { name: name.to_string(), user: u.clone() }, Some(key));
        cred.created = Some(t);
        cred.expires = Some(t + dur);
        self.ledger.issued(&caller.cred, &cred, "GetFederationToken", &id, t);
        cred
    }

    /// CreateAccessKey for `user`; `for_self` omits `userName` (caller creates its own key).
    pub(super) fn create_access_key(
        &mut self,
        t: i64,
        caller: &Actor,
        user: &UserDef,
        for_self: bool,
    ) -> Cred {
        let key = self.new_key("AKIA", user.acct);
        let mut r = self.base(t, caller, US_EAST_1, IAM, "CreateAccessKey");
        r.request_parameters = if for_self { Value::Null } else { json!({"userName": user.name}) };
        r.response_elements = json!({"accessKey": {
            "accessKeyId": key,
            "status": "Active",
            "userName": user.name,
            "createDate": us_time(t),
        }});
        let id = self.send(r);
        let mut u = user.clone();
        u.key = Some(key.clone());
        let cred = Cred::new(Who::User(u), Some(key));
        self.ledger.issued(&caller.cred, &cred, "CreateAccessKey", &id, t);
        cred
    }

    pub(super) fn console_login(&mut self, t: i64, who: Who, ip: &str, mfa: bool) {
        let a = Actor { cred: Cred::new(who.clone(), None), ip: ip.to_string(), ua: Ua::Browser };
        let mut r = self.base(t, &a, US_EAST_1, SIGNIN, "ConsoleLogin");
        r.event_type = "AwsConsoleSignIn";
        r.read_only = false;
        r.request_id = None;
        r.response_elements = json!({"ConsoleLogin": "Success"});
        let mut extra = json!({
            "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_c4f9a2",
            "MobileVersion": "No",
            "MFAUsed": if mfa { "Yes" } else { "No" },
        });
        if let (true, Who::User(u)) = (mfa, &who) {
            extra["MFAIdentifier"] = json!(format!("arn:aws:iam::{}:mfa/{}", u.acct, u.name));
        }
        r.additional_event_data = Some(extra);
        r.tls_details = Some(
            json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "signin.aws.amazon.com"}),
        );
        self.send(r);
    }
}

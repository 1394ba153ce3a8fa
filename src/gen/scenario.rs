//! Small hand-built incidents, record by record, for known-answer tests.
//!
//! [`super::generate`] writes a whole realistic trail around one fixed incident; a
//! [`Scenario`] instead writes exactly the calls a test describes (a root key creating a user,
//! an attacker-made user signing in to the console, a federated session seen only in use, a
//! chain through an account whose logs are missing, names full of shell metacharacters), so
//! the right answer follows from the IAM facts by hand. Records have the shape CloudTrail
//! writes (`userIdentity` with `sessionContext`, `requestParameters`, `responseElements`,
//! the role owner's `AWSAccount` copy of a cross-account `AssumeRole` with a shared
//! `sharedEventID`, F3). Everything is deterministic: ids come from a counter.

use super::aws::{iso, us_time};

mod web;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// A credential of the scenario, as its calls show it in `userIdentity`.
#[derive(Debug, Clone)]
pub struct Cred {
    /// The access key id (`AKIA…`/`ASIA…`).
    pub key: String,
    /// `userIdentity` of its calls (without `accessKeyId`).
    identity: Value,
    /// Account of the principal.
    pub account: String,
    /// Identity ARN of its calls.
    pub arn: String,
    /// `principalId` of its calls.
    pub principal_id: String,
    /// `sessionContext.attributes.creationDate` (sessions).
    pub issued_at: Option<i64>,
    /// `credentials.expiration` (sessions).
    pub expires_at: Option<i64>,
    /// IAM user name (users and their sessions).
    pub user_name: Option<String>,
    from_console: bool,
}

impl Cred {
    /// The same credential, its calls written with the principal id `id` (another key of the
    /// same user, renamed or spelled otherwise since, keeps the user's unique id).
    pub fn with_principal_id(&self, id: &str) -> Cred {
        let mut c = self.clone();
        c.identity["principalId"] = Value::from(id);
        c.principal_id = id.to_string();
        c
    }

    /// The same credential, its calls written without `sessionCredentialFromConsole` (some
    /// console calls lack it).
    pub fn unflagged(&self) -> Cred {
        Cred { from_console: false, ..self.clone() }
    }

    /// The console session of a sign-in (SAML, say): the same identity and issue time under a
    /// key of its own, whose calls are flagged `sessionCredentialFromConsole` and whose issuing
    /// call is not logged.
    pub fn console_copy(&self, key: &str) -> Cred {
        Cred { key: key.to_string(), from_console: true, ..self.clone() }
    }

    /// The session id trailhound gives it (`ASIA…@time`), or the key for long-term keys.
    pub fn node_id(&self) -> String {
        match self.issued_at {
            Some(t) if self.key.starts_with("ASIA") => format!("{}@{}", self.key, iso(t)),
            _ => self.key.clone(),
        }
    }
}

/// A scenario being written.
#[derive(Debug, Default, Clone)]
pub struct Scenario {
    /// (account, record) in the order made.
    records: Vec<(String, Value)>,
    counter: u64,
    role_ids: BTreeMap<String, String>,
    user_ids: BTreeMap<String, String>,
}

/// A role ARN's account and name (the last path segment).
fn role_parts(role_arn: &str) -> (String, String) {
    let acct = role_arn.split(':').nth(4).unwrap_or("").to_string();
    let name = role_arn.rsplit('/').next().unwrap_or("").to_string();
    (acct, name)
}

impl Scenario {
    /// An empty scenario.
    pub fn new() -> Scenario {
        Scenario::default()
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn event_id(&mut self) -> String {
        let n = self.next();
        format!("{n:08x}-5ce0-4a1e-8000-{n:012x}")
    }

    /// A fresh key id with `prefix` (`AKIA`/`ASIA`): 20 characters of `[A-Z0-9]`.
    pub fn new_key(&mut self, prefix: &str) -> String {
        let n = self.next();
        format!("{prefix}SCEN{n:012}")
    }

    fn unique_id(&mut self, map_role: bool, arn: &str, prefix: &str) -> String {
        let n = self.counter + 1;
        let map = if map_role { &mut self.role_ids } else { &mut self.user_ids };
        if let Some(id) = map.get(arn) {
            return id.clone();
        }
        let id = format!("{prefix}SCEN{n:013}");
        map.insert(arn.to_string(), id.clone());
        self.counter += 1;
        id
    }

    /// The long-term key `key` of IAM user `user` in `account` (it exists before the trail).
    pub fn user_key(&mut self, account: &str, user: &str, key: &str) -> Cred {
        let arn = format!("arn:aws:iam::{account}:user/{user}");
        let pid = self.unique_id(false, &arn, "AIDA");
        Cred {
            key: key.into(),
            identity: json!({"type": "IAMUser", "principalId": pid, "arn": arn, "accountId": account, "userName": user}),
            account: account.into(),
            arn,
            principal_id: pid,
            issued_at: None,
            expires_at: None,
            user_name: Some(user.into()),
            from_console: false,
        }
    }

    /// The root user's access key `key` of `account`.
    pub fn root_key(&mut self, account: &str, key: &str) -> Cred {
        let arn = format!("arn:aws:iam::{account}:root");
        Cred {
            key: key.into(),
            identity: json!({"type": "Root", "principalId": account, "arn": arn, "accountId": account}),
            account: account.into(),
            arn,
            principal_id: account.into(),
            issued_at: None,
            expires_at: None,
            user_name: None,
            from_console: false,
        }
    }

    fn identity_of(c: &Cred) -> Value {
        let mut id = c.identity.clone();
        id["accessKeyId"] = json!(c.key);
        if let Some(t) = c.issued_at {
            let ctx = id
                .as_object_mut()
                .map(|o| o.entry("sessionContext").or_insert_with(|| json!({})).clone())
                .unwrap_or_default();
            let mut ctx = if ctx.is_object() { ctx } else { json!({}) };
            if ctx.get("sessionIssuer").is_none() {
                ctx["sessionIssuer"] = json!({});
            }
            ctx["attributes"] = json!({"creationDate": iso(t), "mfaAuthenticated": "false"});
            id["sessionContext"] = ctx;
        }
        id
    }

    /// Records a call made with `c` and returns its eventID. `request`/`response` are the
    /// `requestParameters`/`responseElements` (use `Value::Null` for none).
    #[allow(clippy::too_many_arguments)]
    pub fn call_full(
        &mut self,
        c: &Cred,
        at: i64,
        source: &str,
        name: &str,
        request: Value,
        response: Value,
        error: Option<&str>,
        user_agent: &str,
    ) -> String {
        let id = self.event_id();
        let mut r = json!({
            "eventVersion": "1.09",
            "userIdentity": Self::identity_of(c),
            "eventTime": iso(at),
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.50",
            "userAgent": user_agent,
            "requestParameters": request,
            "responseElements": response,
            "requestID": format!("req-{id}"),
            "eventID": id,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": c.account,
            "eventCategory": "Management",
        });
        if let Some(code) = error {
            r["errorCode"] = json!(code);
            r["errorMessage"] = json!(format!("{code} for {name}"));
        }
        if c.from_console {
            r["sessionCredentialFromConsole"] = json!("true");
        }
        self.records.push((c.account.clone(), r));
        id
    }

    /// A plain API call made with `c`.
    pub fn call(&mut self, c: &Cred, at: i64, source: &str, name: &str, request: Value) -> String {
        self.call_full(c, at, source, name, request, Value::Null, None, "aws-cli/2.15.0")
    }

    fn credentials(key: &str, expires: i64) -> Value {
        json!({"accessKeyId": key, "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLETOKEN", "expiration": us_time(expires)})
    }

    /// `AssumeRole` of `role_arn` (with its path) by `caller`, session `session`, valid
    /// `duration` seconds. Cross-account calls are also logged in the role's account as the
    /// `AWSAccount` copy with a shared `sharedEventID` (F3).
    pub fn assume_role(
        &mut self,
        caller: &Cred,
        at: i64,
        role_arn: &str,
        session: &str,
        duration: i64,
    ) -> Cred {
        let (acct, name) = role_parts(role_arn);
        let role_id = self.unique_id(true, role_arn, "AROA");
        let key = self.new_key("ASIA");
        let session_arn = format!("arn:aws:sts::{acct}:assumed-role/{name}/{session}");
        let request =
            json!({"roleArn": role_arn, "roleSessionName": session, "durationSeconds": duration});
        let response = json!({
            "credentials": Self::credentials(&key, at + duration),
            "assumedRoleUser": {"assumedRoleId": format!("{role_id}:{session}"), "arn": session_arn},
        });
        let cross = caller.account != acct;
        let shared = cross.then(|| format!("5a7ed000-0000-4000-8000-{:012x}", self.next()));
        let id = self.call_full(
            caller,
            at,
            "sts.amazonaws.com",
            "AssumeRole",
            request.clone(),
            response.clone(),
            None,
            "aws-cli/2.15.0",
        );
        if let Some(s) = &shared {
            let last = self.records.len() - 1;
            self.records[last].1["sharedEventID"] = json!(s);
            self.records[last].1["resources"] =
                json!([{"accountId": acct, "type": "AWS::IAM::Role", "ARN": role_arn}]);
            let copy_id = self.event_id();
            let mut copy = self.records[last].1.clone();
            copy["userIdentity"] = json!({
                "type": "AWSAccount",
                "principalId": caller.principal_id,
                "accountId": caller.account,
            });
            copy["eventID"] = json!(copy_id);
            copy["recipientAccountId"] = json!(acct);
            self.records.push((acct.clone(), copy));
        }
        let _ = id;
        Cred {
            key,
            identity: json!({
                "type": "AssumedRole",
                "principalId": format!("{role_id}:{session}"),
                "arn": session_arn,
                "accountId": acct,
                "sessionContext": {"sessionIssuer": {
                    "type": "Role", "principalId": role_id, "arn": role_arn, "accountId": acct, "userName": name,
                }},
            }),
            account: acct,
            arn: session_arn,
            principal_id: format!("{role_id}:{session}"),
            issued_at: Some(at),
            expires_at: Some(at + duration),
            user_name: None,
            from_console: false,
        }
    }

    /// [`Scenario::assume_role`] in the caller's own account, its record written without
    /// `responseElements` (as some converted exports keep it): the session is seen only in use.
    pub fn assume_role_unanswered(
        &mut self,
        caller: &Cred,
        at: i64,
        role_arn: &str,
        session: &str,
        duration: i64,
    ) -> Cred {
        let c = self.assume_role(caller, at, role_arn, session, duration);
        if let Some((_, r)) = self.records.last_mut() {
            if let Some(o) = r.as_object_mut() {
                o.remove("responseElements");
            }
        }
        c
    }

    /// `RunInstances` by `caller` with the instance profile `profile`, launching
    /// `instance_ids` (as EC2's response names them); returns the call's eventID.
    pub fn run_instances(
        &mut self,
        caller: &Cred,
        at: i64,
        profile: &str,
        instance_ids: &[&str],
    ) -> String {
        let request = json!({
            "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": instance_ids.len()}]},
            "instanceType": "t3.micro",
            "iamInstanceProfile": {"name": profile},
        });
        let items: Vec<Value> = instance_ids
            .iter()
            .map(|i| json!({"instanceId": i, "imageId": "ami-0abcdef1234567890", "instanceState": {"code": 0, "name": "pending"}}))
            .collect();
        let response = json!({"requestId": "req-run", "reservationId": "r-0123456789abcdef0", "ownerId": caller.account, "instancesSet": {"items": items}});
        self.call_full(
            caller,
            at,
            "ec2.amazonaws.com",
            "RunInstances",
            request,
            response,
            None,
            "aws-cli/2.15.0",
        )
    }

    /// A session of role `role_arn` named `session`, issued at `at` for `duration` seconds, as
    /// its calls show it (`extra`: more `sessionContext` fields), its issuing call not written.
    fn role_session(
        &mut self,
        role_arn: &str,
        session: &str,
        at: i64,
        duration: i64,
        extra: Value,
    ) -> Cred {
        let (acct, name) = role_parts(role_arn);
        let role_id = self.unique_id(true, role_arn, "AROA");
        let key = self.new_key("ASIA");
        let session_arn = format!("arn:aws:sts::{acct}:assumed-role/{name}/{session}");
        let mut ctx = json!({
            "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": role_arn, "accountId": acct, "userName": name},
        });
        if let (Some(c), Some(x)) = (ctx.as_object_mut(), extra.as_object()) {
            c.extend(x.clone());
        }
        Cred {
            key,
            identity: json!({
                "type": "AssumedRole",
                "principalId": format!("{role_id}:{session}"),
                "arn": session_arn,
                "accountId": acct,
                "sessionContext": ctx,
            }),
            account: acct,
            arn: session_arn,
            principal_id: format!("{role_id}:{session}"),
            issued_at: Some(at),
            expires_at: Some(at + duration),
            user_name: None,
            from_console: false,
        }
    }

    /// A role session of EC2 instance `instance_id` with the instance profile's role
    /// `role_arn`, issued at `at` for `duration` seconds: named by the instance id, as EC2
    /// names it, and seen only in use (its issuing call is the service's, not in the logs).
    pub fn instance_session(
        &mut self,
        role_arn: &str,
        instance_id: &str,
        at: i64,
        duration: i64,
    ) -> Cred {
        let ctx = json!({"ec2RoleDelivery": "2.0"});
        self.role_session(role_arn, instance_id, at, duration, ctx)
    }

    /// `AssumeRoleWithSAML` of `role_arn` through the SAML provider `provider_arn` by the
    /// person `subject` (session named by them), valid `duration` seconds: the record is the
    /// provider's sign-in (a `SAMLUser` identity, no key), in the role's account.
    pub fn assume_role_with_saml(
        &mut self,
        provider_arn: &str,
        role_arn: &str,
        subject: &str,
        at: i64,
        duration: i64,
    ) -> Cred {
        let cred = self.role_session(role_arn, subject, at, duration, json!({}));
        let provider = provider_arn.rsplit('/').next().unwrap_or(provider_arn);
        let qualifier = format!("{provider}EXAMPLEqualifier=");
        let saml = Cred {
            key: String::new(),
            identity: json!({"type": "SAMLUser", "principalId": format!("{qualifier}:{subject}"), "userName": subject, "identityProvider": qualifier}),
            account: cred.account.clone(),
            arn: String::new(),
            principal_id: format!("{qualifier}:{subject}"),
            issued_at: None,
            expires_at: None,
            user_name: None,
            from_console: false,
        };
        let request = json!({"roleArn": role_arn, "roleSessionName": subject, "principalArn": provider_arn, "durationSeconds": duration});
        let response = json!({
            "credentials": Self::credentials(&cred.key, at + duration),
            "assumedRoleUser": {"assumedRoleId": cred.principal_id, "arn": cred.arn},
            "subject": subject,
            "subjectType": "persistent",
            "issuer": "http://www.okta.com/exk1example2Abc3d4e5",
            "audience": "https://signin.aws.amazon.com/saml",
            "nameQualifier": qualifier,
        });
        self.call_full(
            &saml,
            at,
            "sts.amazonaws.com",
            "AssumeRoleWithSAML",
            request,
            response,
            None,
            "Mozilla/5.0",
        );
        if let Some((_, r)) = self.records.last_mut() {
            if let Some(o) = r["userIdentity"].as_object_mut() {
                o.remove("accessKeyId");
            }
        }
        cred
    }

    /// Removes `responseElements` from the last record written (some converted exports drop
    /// it): a call whose response is seen only in the credential's use.
    pub fn drop_last_response(&mut self) {
        if let Some(o) = self.records.last_mut().and_then(|(_, r)| r.as_object_mut()) {
            o.remove("responseElements");
        }
    }

    /// `UpdateSAMLProvider` by `caller`: the provider `provider_arn` trusts a new metadata
    /// document (another identity provider's signing key); returns the call's eventID.
    pub fn update_saml_provider(&mut self, caller: &Cred, at: i64, provider_arn: &str) -> String {
        let request = json!({"sAMLProviderArn": provider_arn, "sAMLMetadataDocument": "<EntityDescriptor>…</EntityDescriptor>"});
        let response = json!({"sAMLProviderArn": provider_arn});
        self.call_full(
            caller,
            at,
            "iam.amazonaws.com",
            "UpdateSAMLProvider",
            request,
            response,
            None,
            "aws-cli/2.15.0",
        )
    }

    /// A Lambda call by `caller` that sets function `function`'s code or configuration
    /// (`event`: `CreateFunction20150331`, `UpdateFunctionCode20150331v2`, …), naming the
    /// function as given (a name or an ARN) and, when `role_arn` is given, its role; returns
    /// the call's eventID.
    pub fn function_change(
        &mut self,
        caller: &Cred,
        at: i64,
        event: &str,
        function: &str,
        role_arn: Option<&str>,
    ) -> String {
        let mut request =
            json!({"functionName": function, "runtime": "python3.12", "handler": "index.handler"});
        if let Some(r) = role_arn {
            request["role"] = json!(r);
        }
        let name = function.rsplit(":function:").next().unwrap_or(function);
        let response = json!({
            "functionName": name,
            "functionArn": format!("arn:aws:lambda:us-east-1:{}:function:{name}", caller.account),
            "role": role_arn,
            "runtime": "python3.12",
        });
        self.call_full(
            caller,
            at,
            "lambda.amazonaws.com",
            event,
            request,
            response,
            None,
            "aws-cli/2.15.0",
        )
    }

    /// A role session Lambda took for function `function` with its role `role_arn`, issued at
    /// `at` for `duration` seconds: named by the function, as Lambda names it, and seen only in
    /// use (Lambda's own `AssumeRole` is not in the logs).
    pub fn function_session(
        &mut self,
        role_arn: &str,
        function: &str,
        at: i64,
        duration: i64,
    ) -> Cred {
        self.role_session(role_arn, function, at, duration, json!({}))
    }

    /// [`Scenario::function_session`] (an hour) with Lambda's own `AssumeRole` logged, in
    /// `region`: where the function runs.
    pub fn lambda_session(&mut self, role: &str, function: &str, at: i64, region: &str) -> Cred {
        let c = self.function_session(role, function, at, 3600);
        let r = json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
            "eventTime": iso(at),
            "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole",
            "awsRegion": region,
            "sourceIPAddress": "lambda.amazonaws.com",
            "userAgent": "lambda.amazonaws.com",
            "requestParameters": {"roleArn": role, "roleSessionName": function},
            "responseElements": {"credentials": Self::credentials(&c.key, at + 3600)},
            "eventID": self.event_id(),
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": c.account,
        });
        self.records.push((c.account.clone(), r));
        c
    }

    /// [`Scenario::create_access_key`], its record written without `responseElements` (as
    /// some converted exports keep it): the key's id is seen only in its use.
    pub fn create_access_key_unanswered(
        &mut self,
        caller: &Cred,
        at: i64,
        user: Option<&str>,
    ) -> Cred {
        let c = self.create_access_key(caller, at, user);
        if let Some((_, r)) = self.records.last_mut() {
            if let Some(o) = r.as_object_mut() {
                o.remove("responseElements");
            }
        }
        c
    }

    /// `GetSessionToken` by `caller` (an IAM user's or root's long-term key).
    pub fn get_session_token(&mut self, caller: &Cred, at: i64, duration: i64) -> Cred {
        let key = self.new_key("ASIA");
        let response = json!({"credentials": Self::credentials(&key, at + duration)});
        self.call_full(
            caller,
            at,
            "sts.amazonaws.com",
            "GetSessionToken",
            json!({"durationSeconds": duration}),
            response,
            None,
            "aws-cli/2.15.0",
        );
        Cred {
            key,
            identity: caller.identity.clone(),
            issued_at: Some(at),
            expires_at: Some(at + duration),
            ..caller.clone()
        }
    }

    /// `GetFederationToken` by `caller` for federated user `name`.
    pub fn get_federation_token(
        &mut self,
        caller: &Cred,
        at: i64,
        name: &str,
        duration: i64,
    ) -> Cred {
        let key = self.new_key("ASIA");
        let acct = caller.account.clone();
        let arn = format!("arn:aws:sts::{acct}:federated-user/{name}");
        let response = json!({
            "credentials": Self::credentials(&key, at + duration),
            "federatedUser": {"federatedUserId": format!("{acct}:{name}"), "arn": arn},
        });
        self.call_full(
            caller,
            at,
            "sts.amazonaws.com",
            "GetFederationToken",
            json!({"name": name, "durationSeconds": duration}),
            response,
            None,
            "aws-cli/2.15.0",
        );
        self.federated_session(caller, &key, name, at, at + duration)
    }

    /// A federated-user session of `caller`'s user named `name` issued at `at` (whether or
    /// not its GetFederationToken call is in the logs).
    pub fn federated_session(
        &mut self,
        caller: &Cred,
        key: &str,
        name: &str,
        at: i64,
        expires: i64,
    ) -> Cred {
        let acct = caller.account.clone();
        let arn = format!("arn:aws:sts::{acct}:federated-user/{name}");
        let issuer_type = if caller.arn.ends_with(":root") { "Root" } else { "IAMUser" };
        let mut issuer = json!({"type": issuer_type, "principalId": caller.principal_id, "arn": caller.arn, "accountId": acct});
        if let Some(u) = &caller.user_name {
            issuer["userName"] = json!(u);
        }
        Cred {
            key: key.into(),
            identity: json!({
                "type": "FederatedUser",
                "principalId": format!("{acct}:{name}"),
                "arn": arn,
                "accountId": acct,
                "sessionContext": {"sessionIssuer": issuer},
            }),
            account: acct.clone(),
            arn,
            principal_id: format!("{acct}:{name}"),
            issued_at: Some(at),
            expires_at: Some(expires),
            user_name: None,
            from_console: false,
        }
    }

    /// `CreateUser` of `user` by `caller`; returns the new user's ARN.
    pub fn create_user(&mut self, caller: &Cred, at: i64, user: &str) -> String {
        let arn = format!("arn:aws:iam::{}:user/{user}", caller.account);
        let uid = self.unique_id(false, &arn, "AIDA");
        self.call_full(
            caller,
            at,
            "iam.amazonaws.com",
            "CreateUser",
            json!({"userName": user}),
            json!({"user": {"path": "/", "userName": user, "userId": uid, "arn": arn, "createDate": us_time(at)}}),
            None,
            "aws-cli/2.15.0",
        );
        arn
    }

    /// `CreateLoginProfile` (a console password) for `user` by `caller`.
    pub fn create_login_profile(&mut self, caller: &Cred, at: i64, user: &str) -> String {
        self.call_full(
            caller,
            at,
            "iam.amazonaws.com",
            "CreateLoginProfile",
            json!({"userName": user, "passwordResetRequired": false}),
            json!({"loginProfile": {"userName": user, "createDate": us_time(at), "passwordResetRequired": false}}),
            None,
            "aws-cli/2.15.0",
        )
    }

    /// `UpdateLoginProfile` (a new console password) for `user` by `caller`.
    pub fn update_login_profile(&mut self, caller: &Cred, at: i64, user: &str) -> String {
        self.call(caller, at, "iam.amazonaws.com", "UpdateLoginProfile", json!({"userName": user}))
    }

    /// `AttachUserPolicy` of `policy_arn` to `user` by `caller`.
    pub fn attach_user_policy(&mut self, caller: &Cred, at: i64, user: &str, policy_arn: &str) {
        self.call(
            caller,
            at,
            "iam.amazonaws.com",
            "AttachUserPolicy",
            json!({"userName": user, "policyArn": policy_arn}),
        );
    }

    /// `CreateAccessKey` for `user` (`None`: the caller's own user) by `caller`; returns
    /// the new key as a credential of that user.
    pub fn create_access_key(&mut self, caller: &Cred, at: i64, user: Option<&str>) -> Cred {
        let key = self.new_key("AKIA");
        self.create_access_key_with(caller, at, user, &key)
    }

    /// [`Scenario::create_access_key`] whose response names `key` (any text: a forged log).
    pub fn create_access_key_with(
        &mut self,
        caller: &Cred,
        at: i64,
        user: Option<&str>,
        key: &str,
    ) -> Cred {
        let key = key.to_string();
        let owner = user.map(str::to_string).or_else(|| caller.user_name.clone());
        let request = match user {
            Some(u) => json!({"userName": u}),
            None => Value::Null,
        };
        let mut access = json!({"accessKeyId": key, "status": "Active", "createDate": us_time(at)});
        if let Some(u) = &owner {
            access["userName"] = json!(u);
        }
        self.call_full(
            caller,
            at,
            "iam.amazonaws.com",
            "CreateAccessKey",
            request,
            json!({"accessKey": access}),
            None,
            "aws-cli/2.15.0",
        );
        match owner {
            Some(u) => self.user_key(&caller.account.clone(), &u, &key),
            None => {
                let mut c = caller.clone();
                c.key = key;
                c.issued_at = None;
                c.expires_at = None;
                c
            }
        }
    }

    /// `PutUserPolicy` (an inline policy named `policy`) on `user` by `caller`.
    pub fn put_user_policy(&mut self, caller: &Cred, at: i64, user: &str, policy: &str) {
        self.call(
            caller,
            at,
            "iam.amazonaws.com",
            "PutUserPolicy",
            json!({"userName": user, "policyName": policy, "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
        );
    }

    /// `AddUserToGroup` of `user` to `group` by `caller`.
    pub fn add_user_to_group(&mut self, caller: &Cred, at: i64, user: &str, group: &str) {
        self.call(
            caller,
            at,
            "iam.amazonaws.com",
            "AddUserToGroup",
            json!({"userName": user, "groupName": group}),
        );
    }

    /// An S3 `GetObject` of `bucket`/`key` made with `c`, recorded in `bucket_account`'s logs
    /// (the bucket owner's data event).
    pub fn get_object(&mut self, c: &Cred, at: i64, bucket_account: &str, bucket: &str, key: &str) {
        let resources = json!([
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
            {"accountId": bucket_account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")},
        ]);
        let request = json!({"bucketName": bucket, "key": key});
        self.data_event(c, at, bucket_account, "s3.amazonaws.com", "GetObject", request, resources);
    }

    /// A data event of call `name` made with `c`, recorded in `account`'s logs (the owner of
    /// the `resources` it names, a JSON array as CloudTrail writes it).
    #[allow(clippy::too_many_arguments)]
    pub fn data_event(
        &mut self,
        c: &Cred,
        at: i64,
        account: &str,
        source: &str,
        name: &str,
        request: Value,
        resources: Value,
    ) {
        let id = self.event_id();
        let mut r = json!({
            "eventVersion": "1.09",
            "userIdentity": Self::identity_of(c),
            "eventTime": iso(at),
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.50",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": request,
            "responseElements": null,
            "resources": resources,
            "eventID": id,
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": false,
            "recipientAccountId": account,
            "eventCategory": "Data",
        });
        if c.from_console {
            r["sessionCredentialFromConsole"] = json!("true");
        }
        self.records.push((account.to_string(), r));
    }

    /// A console sign-in of `user` at `at`, and the console session's temporary key (no
    /// issuing event: `sessionCredentialFromConsole`, F2), issued at the sign-in.
    pub fn console_login(&mut self, account: &str, at: i64, user: &str) -> Cred {
        let mut u = self.user_key(account, user, "");
        let id = self.event_id();
        let mut ident = u.identity.clone();
        ident["accessKeyId"] = json!("");
        let r = json!({
            "eventVersion": "1.09",
            "userIdentity": ident,
            "eventTime": iso(at),
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.50",
            "userAgent": "Mozilla/5.0",
            "requestParameters": null,
            "responseElements": {"ConsoleLogin": "Success"},
            "additionalEventData": {"MFAUsed": "No", "MobileVersion": "No"},
            "eventID": id,
            "readOnly": false,
            "eventType": "AwsConsoleSignIn",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management",
        });
        self.records.push((account.to_string(), r));
        u.key = self.new_key("ASIA");
        u.issued_at = Some(at);
        u.expires_at = Some(at + 12 * 3600);
        u.from_console = true;
        u
    }

    /// Removes the records written so far that `drop` picks (given their account and record):
    /// a copy of a call that went to a region or trail the evidence does not hold.
    pub fn drop_records(&mut self, drop: impl Fn(&str, &Value) -> bool) {
        self.records.retain(|(account, r)| !drop(account, r));
    }

    /// Edits every record written so far (with the account whose logs hold it).
    pub fn edit_records(&mut self, mut edit: impl FnMut(&str, &mut Value)) {
        for (account, r) in &mut self.records {
            edit(account, r);
        }
    }

    /// Adds, beside each record written so far that `edit` returns `true` for, an edited copy
    /// of it (before the record when `before`): a record planted under another eventID.
    pub fn copy_records(&mut self, before: bool, mut edit: impl FnMut(&mut Value) -> bool) {
        let mut out = Vec::with_capacity(self.records.len());
        for (account, r) in std::mem::take(&mut self.records) {
            let mut copy = r.clone();
            let planted = edit(&mut copy).then(|| (account.clone(), copy));
            if before {
                out.extend(planted);
                out.push((account, r));
            } else {
                out.push((account, r));
                out.extend(planted);
            }
        }
        self.records = out;
    }

    /// A console "switch role" from the console session `from` to `role_arn` at `at`: the
    /// `SwitchRole` sign-in record (no key; `additionalEventData.SwitchFrom` names the user),
    /// and the role session the console makes, named after the user, whose issuing call is not
    /// logged and whose calls are flagged as console calls.
    pub fn switch_role(&mut self, from: &Cred, at: i64, role_arn: &str) -> Cred {
        let session = from.arn.rsplit('/').next().unwrap_or("").to_string();
        let c = Cred {
            from_console: true,
            ..self.role_session(role_arn, &session, at, 3600, json!({}))
        };
        let id = self.event_id();
        let mut ident = Self::identity_of(&c);
        ident["accessKeyId"] = json!("");
        self.records.push((
            from.account.clone(),
            json!({
                "eventVersion": "1.08",
                "userIdentity": ident,
                "eventTime": iso(at),
                "eventSource": "signin.amazonaws.com",
                "eventName": "SwitchRole",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "203.0.113.50",
                "userAgent": "Mozilla/5.0",
                "requestParameters": null,
                "responseElements": {"SwitchRole": "Success"},
                "additionalEventData": {"SwitchFrom": from.arn, "RedirectTo": "https://console.aws.amazon.com/console/home"},
                "eventID": id,
                "readOnly": false,
                "eventType": "AwsConsoleSignIn",
                "managementEvent": true,
                "recipientAccountId": from.account,
                "eventCategory": "Management",
            }),
        ));
        c
    }

    /// The root user of `account` signing in to the console at `at`: the `ConsoleLogin`
    /// record, and the console session (`Root` identity, flagged as from the console).
    pub fn root_console_login(&mut self, account: &str, at: i64) -> Cred {
        let mut u = self.root_key(account, "");
        let id = self.event_id();
        let mut ident = u.identity.clone();
        ident["accessKeyId"] = json!("");
        self.records.push((
            account.to_string(),
            json!({
                "eventVersion": "1.09", "userIdentity": ident, "eventTime": iso(at),
                "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
                "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.50", "userAgent": "Mozilla/5.0",
                "requestParameters": null, "responseElements": {"ConsoleLogin": "Success"},
                "eventID": id, "readOnly": false, "eventType": "AwsConsoleSignIn",
                "managementEvent": true, "recipientAccountId": account, "eventCategory": "Management",
            }),
        ));
        u.key = self.new_key("ASIA");
        u.issued_at = Some(at);
        u.expires_at = Some(at + 3600);
        u.from_console = true;
        u
    }

    /// Writes the scenario as an S3 export tree under `dir` (`AWSLogs/<account>/CloudTrail/
    /// us-east-1/…`, one gzip file per account), leaving out the accounts in `skip` (whose
    /// logs the responder does not have).
    ///
    /// # Errors
    /// I/O errors.
    pub fn write(&self, dir: &Path, skip: &[&str]) -> io::Result<()> {
        let mut by_account: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
        for (a, r) in &self.records {
            if !skip.contains(&a.as_str()) {
                by_account.entry(a).or_default().push(r);
            }
        }
        for (acct, recs) in by_account {
            let first = recs
                .iter()
                .filter_map(|r| r["eventTime"].as_str())
                .min()
                .unwrap_or("2024-03-11T00:00:00Z")
                .to_string();
            let (y, m, d) = (&first[0..4], &first[5..7], &first[8..10]);
            let stamp = format!("{y}{m}{d}T{}{}Z", &first[11..13], &first[14..16]);
            let rel = format!(
                "AWSLogs/{acct}/CloudTrail/us-east-1/{y}/{m}/{d}/{acct}_CloudTrail_us-east-1_{stamp}_scenario0000001.json.gz"
            );
            let path = dir.join(rel);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p)?;
            }
            let body = serde_json::to_vec(&json!({"Records": recs})).map_err(io::Error::other)?;
            let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
            enc.write_all(&body)?;
            std::fs::write(path, enc.finish()?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
impl Scenario {
    /// For unit tests: the last record written, to damage or strip it.
    pub(crate) fn last_record(&mut self) -> &mut Value {
        &mut self.records.last_mut().expect("a record").1
    }

    /// For unit tests: the scenario written to a temporary export tree (leaving out the
    /// accounts in `skip`), ingested, and its session graph. The directory is returned so that
    /// the files outlive a re-read of the events (blast, plan).
    pub(crate) fn ingested(
        &self,
        skip: &[&str],
    ) -> (tempfile::TempDir, crate::ingest::Ingest, crate::chain::SessionGraph) {
        let d = tempfile::TempDir::new().unwrap();
        self.write(&d.path().join("trail"), skip).unwrap();
        let opts = crate::ingest::IngestOptions {
            inputs: vec![d.path().join("trail")],
            ..Default::default()
        };
        let ing = crate::ingest::ingest(&opts).unwrap();
        let g = crate::chain::SessionGraph::build(&ing);
        (d, ing, g)
    }
}

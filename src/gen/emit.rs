//! The generator's state ([`Gen`]) and the primitives every activity is built from: a record
//! with the common fields filled in ([`Gen::base`]), generic API calls, S3 object events, and
//! [`Gen::send`], which serializes a record, shows it to the [`Ledger`] and queues it for
//! delivery.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::agent::{ua_string, Ua};
use super::aws::{
    action_of, iso, read_only, service_of, us_time, EU_WEST_1, IAM, ORGS, S3, SIGNIN, STS,
    US_EAST_1, US_WEST_2,
};
use super::delivery::Sink;
use super::identity::Actor;
use super::record::{ident, Record};
use super::rng::{Rng, B32, B64, UPPER_ALNUM};
use super::truth::Ledger;
use super::world::{Function, Instance, Roles, Users, World, BUCKETS, FUNCTIONS, STACKS};
use super::{GenOptions, EXTERNAL_ACCOUNT, MAIN_ACCOUNT, SECOND_ACCOUNT};

/// Probability that a background record is delivered twice (with `duplicates`).
const DUP_RATE: f64 = 0.004;

/// One generator run: the PRNG, the world, the delivery sink and the known-answer ledger.
pub(super) struct Gen {
    pub(super) rng: Rng,
    pub(super) sink: Sink,
    duplicates: bool,
    pub(super) incident_on: bool,
    /// Each account's 8-character tag, shared by the ids minted in it.
    pub(super) tags: BTreeMap<&'static str, String>,
    pub(super) users: Users,
    pub(super) roles: Roles,
    pub(super) instances: Vec<Instance>,
    pub(super) functions: Vec<Function>,
    pub(super) vendor_role_id: String,
    /// Delivery delay of the next record sent (instead of a random one).
    pub(super) next_delay: Option<i64>,
    /// Deliver the next record sent twice (with `duplicates`).
    pub(super) next_dup: bool,
    pub(super) events: usize,
    pub(super) first_event: i64,
    pub(super) last_event: i64,
    /// Truth bookkeeping.
    pub(super) ledger: Ledger,
}

/// The PRNG state after the world is drawn, the delivery PRNG, the accounts' id tags and the
/// world of a seed: shared by [`Gen::new`] and the IAM snapshot of the same seed.
pub(super) fn seed_world(seed: u64) -> (Rng, Rng, BTreeMap<&'static str, String>, World) {
    let mut rng = Rng::new(seed);
    let sink_rng = Rng::new(rng.next_u64());
    let mut tags = BTreeMap::new();
    for acct in [MAIN_ACCOUNT, SECOND_ACCOUNT, EXTERNAL_ACCOUNT] {
        tags.insert(acct, rng.string(B32, 8));
    }
    let world = World::new(&mut rng, &tags);
    (rng, sink_rng, tags, world)
}

impl Gen {
    pub(super) fn new(opts: &GenOptions) -> Self {
        let (rng, sink_rng, tags, world) = seed_world(opts.seed);
        let World { users, roles, instances, functions, vendor_role_id } = world;
        Gen {
            rng,
            sink: Sink::new(opts, sink_rng),
            duplicates: opts.duplicates,
            incident_on: opts.incident,
            tags,
            users,
            roles,
            instances,
            functions,
            vendor_role_id,
            next_delay: None,
            next_dup: false,
            events: 0,
            first_event: i64::MAX,
            last_event: i64::MIN,
            ledger: Ledger::new(opts.incident),
        }
    }

    // ----- small builders ---------------------------------------------------------------------

    pub(super) fn new_key(&mut self, prefix: &str, acct: &'static str) -> String {
        format!("{prefix}{}{}", self.tags[acct], self.rng.string(B32, 8))
    }

    fn session_token(&mut self) -> String {
        let n = self.rng.range(380, 720) as usize;
        format!("IQoJb3JpZ2luX2Vj{}", self.rng.string(B64, n))
    }

    pub(super) fn credentials(&mut self, key: &str, expires: i64) -> Value {
        json!({
            "accessKeyId": key,
            "sessionToken": self.session_token(),
            "expiration": us_time(expires),
        })
    }

    fn version(&mut self) -> &'static str {
        match self.rng.below(10) {
            0..=2 => "1.08",
            3..=6 => "1.09",
            _ => "1.10",
        }
    }

    pub(super) fn regional(&mut self) -> &'static str {
        match self.rng.below(20) {
            0..=13 => US_EAST_1,
            14..=17 => EU_WEST_1,
            _ => US_WEST_2,
        }
    }

    pub(super) fn office_ip(&mut self) -> String {
        if self.rng.chance(0.05) {
            format!("2001:db8:85a3::{:x}", self.rng.range(0x100, 0xffff))
        } else {
            format!("192.0.2.{}", self.rng.range(10, 60))
        }
    }

    fn tls(&mut self, src: &str, region: &str) -> Value {
        let host = match src {
            IAM => "iam.amazonaws.com".to_string(),
            STS if region == US_EAST_1 => "sts.amazonaws.com".to_string(),
            S3 => "s3.amazonaws.com".to_string(),
            SIGNIN => "signin.aws.amazon.com".to_string(),
            _ => format!("{}.{}.amazonaws.com", service_of(src), region),
        };
        if self.rng.chance(0.6) {
            json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host})
        } else {
            json!({"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256", "clientProvidedHostHeader": host})
        }
    }

    /// A record with the common fields filled in; callers adjust and [`Gen::send`] it.
    pub(super) fn base(
        &mut self,
        t: i64,
        a: &Actor,
        region: &'static str,
        src: &'static str,
        name: &'static str,
    ) -> Record {
        let tls = match a.ua {
            Ua::Console | Ua::Service(_) => None,
            _ if self.rng.chance(0.92) => Some(self.tls(src, region)),
            _ => None,
        };
        let event_version = self.version();
        let request_id = if src == S3 { self.rng.string(UPPER_ALNUM, 16) } else { self.rng.uuid() };
        Record {
            t,
            event_version,
            user_identity: ident(&a.cred),
            event_time: iso(t),
            event_source: src,
            event_name: name,
            aws_region: region,
            source_ip_address: a.ip.clone(),
            user_agent: ua_string(a.ua, src, name),
            error_code: None,
            error_message: None,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            additional_event_data: None,
            request_id: Some(request_id),
            event_id: self.rng.uuid(),
            read_only: read_only(name),
            resources: None,
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: a.cred.acct(),
            shared_event_id: None,
            service_event_details: None,
            event_category: "Management",
            tls_details: tls,
            session_credential_from_console: if a.cred.console { Some("true") } else { None },
        }
    }

    fn random_delay(&mut self) -> i64 {
        if self.rng.chance(0.02) {
            self.rng.range(900, 2400)
        } else {
            self.rng.range(60, 480)
        }
    }

    /// Serializes `r`, updates the truth bookkeeping and queues it for delivery.
    pub(super) fn send(&mut self, r: Record) -> String {
        let bytes = serde_json::to_vec(&r).expect("records always serialize");
        self.ledger.observe(&r);
        self.events += 1;
        self.first_event = self.first_event.min(r.t);
        self.last_event = self.last_event.max(r.t);
        let delay = match self.next_delay.take() {
            Some(d) => d,
            None => self.random_delay(),
        };
        let forced = std::mem::take(&mut self.next_dup);
        let dup = self.duplicates && (forced || self.rng.chance(DUP_RATE));
        let acct = r.recipient_account_id;
        let region = r.aws_region;
        if dup {
            let later = r.t + delay + self.rng.range(600, 3000);
            self.sink.push(bytes.clone(), acct, region, later);
        }
        self.sink.push(bytes, acct, region, r.t + delay);
        r.event_id
    }

    fn deny(&self, r: &mut Record) {
        let svc = service_of(r.event_source);
        let action = action_of(r.event_name);
        let arn = r.user_identity.arn.clone().unwrap_or_default();
        match svc {
            "ec2" => {
                r.error_code = Some("Client.UnauthorizedOperation");
                r.error_message = Some(format!("You are not authorized to perform this operation. User: {arn} is not authorized to perform: ec2:{action} because no identity-based policy allows the ec2:{action} action"));
            }
            "s3" => {
                r.error_code = Some("AccessDenied");
                r.error_message = Some("Access Denied".to_string());
            }
            _ => {
                let acct = r.recipient_account_id;
                let resource = match svc {
                    "iam" => format!("arn:aws:iam::{acct}:user/"),
                    "secretsmanager" => "*".to_string(),
                    _ => format!("arn:aws:{svc}:{}:{acct}:*", r.aws_region),
                };
                r.error_code = Some("AccessDenied");
                r.error_message = Some(format!("User: {arn} is not authorized to perform: {svc}:{action} on resource: {resource} because no identity-based policy allows the {svc}:{action} action"));
            }
        }
        r.response_elements = Value::Null;
    }

    pub(super) fn bucket(&mut self, acct: &str) -> (&'static str, &'static str) {
        let own: Vec<&(&str, &str, &str)> = BUCKETS.iter().filter(|b| b.0 == acct).collect();
        let b = if own.is_empty() { self.rng.pick(BUCKETS) } else { *self.rng.pick(&own) };
        (b.1, b.2)
    }

    fn params(&mut self, src: &str, name: &str, acct: &'static str, region: &str) -> Value {
        match name {
            "DescribeInstances" => json!({"instancesSet": {}, "filterSet": {}}),
            "DescribeSecurityGroups" => {
                json!({"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}})
            }
            "DescribeVpcs" => json!({"vpcSet": {}, "filterSet": {}}),
            "DescribeSubnets" => json!({"subnetSet": {}, "filterSet": {}}),
            "DescribeVolumes" => json!({"volumeSet": {}, "filterSet": {}}),
            "DescribeRegions" => json!({"regionSet": {}}),
            "DescribeSnapshots" => {
                json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsers": {}, "filterSet": {}})
            }
            "ListBuckets" => json!({"Host": "s3.amazonaws.com"}),
            "GetUser" | "ListAttachedUserPolicies" | "ListAccessKeys" | "ListGroupsForUser" => {
                let u = *self.rng.pick(&["alice", "bob", "carol", "deploy-bot"]);
                json!({"userName": u})
            }
            "GetRole" | "ListAttachedRolePolicies" | "ListRolePolicies" => {
                let r = *self.rng.pick(&[
                    "ReadOnlyRole",
                    "DeployRole",
                    "WebServerRole",
                    "BatchWorkerRole",
                    "GitHubActionsDeploy",
                ]);
                json!({"roleName": r})
            }
            "ListPolicies" => json!({"scope": "Local", "onlyAttached": false}),
            "GetFunction20150331v2" => json!({"functionName": *self.rng.pick(FUNCTIONS)}),
            "DescribeStacks" => json!({"stackName": *self.rng.pick(STACKS)}),
            "DescribeKey" | "Decrypt" => {
                let key = self.rng.uuid();
                if name == "Decrypt" {
                    json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": "redacted"}})
                } else {
                    json!({"keyId": format!("arn:aws:kms:{region}:{acct}:key/{key}")})
                }
            }
            "GetSecretValue" => json!({"secretId": "prod/app/db-credentials"}),
            "GetParameter" => json!({"name": "/app/prod/api-endpoint", "withDecryption": true}),
            "DescribeTrails" => json!({"includeShadowTrails": true}),
            "GetTrailStatus" => {
                json!({"name": format!("arn:aws:cloudtrail:{region}:{acct}:trail/management-events")})
            }
            _ if src == "dynamodb.amazonaws.com" && name == "DescribeTable" => {
                json!({"tableName": "orders"})
            }
            _ => Value::Null,
        }
    }

    /// A read/management call with generic parameters; `region` `None` picks by endpoint kind.
    pub(super) fn api(
        &mut self,
        t: i64,
        a: &Actor,
        src: &'static str,
        name: &'static str,
        region: Option<&'static str>,
    ) -> Record {
        let acct = a.cred.acct();
        if src == S3 && name.starts_with("GetBucket") {
            // Bucket-level S3 calls are logged in the bucket's region.
            let (b, bucket_region) = self.bucket(acct);
            let sub = match name {
                "GetBucketAcl" => "acl",
                "GetBucketPolicy" => "policy",
                _ => "location",
            };
            let mut r = self.base(t, a, bucket_region, src, name);
            r.request_parameters =
                json!({"bucketName": b, "Host": format!("{b}.s3.amazonaws.com"), sub: ""});
            let out = self.rng.range(300, 9000);
            r.additional_event_data = Some(self.s3_extra(0, out));
            return r;
        }
        let global = matches!(src, IAM | STS | ORGS) || (src == S3 && name != "GetObject");
        let region = match region {
            Some(r) => r,
            None if global => US_EAST_1,
            None => self.regional(),
        };
        let mut r = self.base(t, a, region, src, name);
        r.request_parameters = self.params(src, name, acct, region);
        if src == S3 {
            let out = self.rng.range(300, 9000);
            r.additional_event_data = Some(self.s3_extra(0, out));
        }
        r
    }

    pub(super) fn call(
        &mut self,
        t: i64,
        a: &Actor,
        src: &'static str,
        name: &'static str,
        region: Option<&'static str>,
    ) -> String {
        let r = self.api(t, a, src, name, region);
        self.send(r)
    }

    pub(super) fn denied_call(
        &mut self,
        t: i64,
        a: &Actor,
        src: &'static str,
        name: &'static str,
        region: Option<&'static str>,
    ) -> String {
        let mut r = self.api(t, a, src, name, region);
        self.deny(&mut r);
        self.send(r)
    }

    pub(super) fn s3_extra(&mut self, bytes_in: i64, bytes_out: i64) -> Value {
        json!({
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": self.rng.string(B64, 76),
            "bytesTransferredOut": bytes_out,
        })
    }

    /// An S3 object-level data event (GetObject / PutObject).
    pub(super) fn s3_object(
        &mut self,
        t: i64,
        a: &Actor,
        bucket: (&'static str, &'static str),
        key: &str,
        put: bool,
    ) -> String {
        let (b, region) = bucket;
        let name = if put { "PutObject" } else { "GetObject" };
        let mut r = self.base(t, a, region, S3, name);
        let size = self.rng.range(2_000, 40_000_000);
        r.request_parameters =
            json!({"bucketName": b, "Host": format!("{b}.s3.{region}.amazonaws.com"), "key": key});
        if put {
            r.response_elements = json!({"x-amz-server-side-encryption": "AES256"});
            r.additional_event_data = Some(self.s3_extra(size, 0));
        } else {
            r.additional_event_data = Some(self.s3_extra(0, size));
        }
        let acct = BUCKETS.iter().find(|x| x.1 == b).map_or(a.cred.acct(), |x| x.0);
        r.resources = Some(json!([
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{b}/{key}")},
            {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{b}")}
        ]));
        r.recipient_account_id = acct;
        r.management_event = false;
        r.event_category = "Data";
        if r.tls_details.is_some() {
            r.tls_details = Some(
                json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{b}.s3.{region}.amazonaws.com")}),
            );
        }
        self.send(r)
    }

    pub(super) fn object_key(&mut self, prefix: &str, ext: &str) -> String {
        format!(
            "{prefix}/2024/{:02}/{}-{:05}.{ext}",
            self.rng.range(1, 4),
            self.rng.pick(&["part", "batch", "export", "chunk"]),
            self.rng.range(0, 99_999)
        )
    }
}

//! One raw record into an [`Event`]: the checks that make it a usable CloudTrail event
//! ([`check`]) and the typed fields every later stage reads ([`normalize`]): times as unix
//! seconds, empty strings as `None` (F17), the STS/IAM request and response fields lifted out.

use super::raw::RawRecord;
use super::{RecordReject, RejectReason};
use crate::model::{Event, Identity, Origin, Request, Response};
use crate::time::{parse_iso, parse_us_date};

/// True when a JSON object has at least one field every CloudTrail record has.
fn looks_like_record(r: &RawRecord) -> bool {
    r.event_time.get().is_some()
        || r.event_name.get().is_some()
        || r.event_source.get().is_some()
        || r.event_id.get().is_some()
        || r.event_version.get().is_some()
}

pub(super) fn reject(record: u32, reason: RejectReason, detail: &str) -> RecordReject {
    RecordReject { record, reason, detail: detail.to_owned(), more: 0 }
}

/// Checks that a raw record is a usable CloudTrail event and returns its `eventTime`.
///
/// # Errors
/// A [`RecordReject`] for objects that are not CloudTrail records, Insights records (never
/// counted as events, SPEC §1) and records without a usable `eventTime`.
pub fn check(r: &RawRecord, idx: u32) -> Result<i64, RecordReject> {
    if !looks_like_record(r) {
        return Err(reject(
            idx,
            RejectReason::NotARecord,
            "object has no CloudTrail record fields",
        ));
    }
    if r.event_type.get() == Some("AwsCloudTrailInsight")
        || r.event_category.get() == Some("Insight")
    {
        return Err(reject(idx, RejectReason::Insight, "CloudTrail Insights record"));
    }
    let time = match r.event_time.get() {
        None => Err(reject(idx, RejectReason::MissingEventTime, "eventTime is missing or null")),
        Some(t) => parse_iso(t).ok_or_else(|| {
            reject(idx, RejectReason::BadEventTime, &format!("unparseable eventTime {t:?}"))
        }),
    }?;
    let top = [
        ("userIdentity", r.user_identity.wrong),
        ("requestParameters", r.request_parameters.wrong),
        ("responseElements", r.response_elements.wrong),
    ];
    if let Some((field, Some(what))) = top.into_iter().find(|(_, w)| w.is_some()) {
        return Err(reject(
            idx,
            RejectReason::WrongType,
            &format!("{field} is {what}, not an object: the record cannot be read as CloudTrail writes it (an export that keeps it as JSON text must be converted back)"),
        ));
    }
    // The calls the session graph reads in full, but Lambda's (whose `role` is a string).
    let (name, source) = (r.event_name.get().unwrap_or(""), r.event_source.get().unwrap_or(""));
    let detail = super::issuing::is_detail(name, source);
    let response = detail && !source.eq_ignore_ascii_case("lambda.amazonaws.com");
    // A call the session graph reads whose record cannot say so (a review): its service not
    // said or spaced (it is known only by its service, `is_detail`), its name another's but
    // for case or spaces; or its caller not named at all (`userIdentity` `{}`: a call by
    // nobody). Each dropped the chain it made, and plan and verify said OK.
    let damaged = super::issuing::detail_damage(name, r.event_source.get());
    let nobody = detail
        && r.user_identity.get().is_some_and(|u| {
            [&u.arn, &u.principal_id, &u.invoked_by, &u.identity_provider, &u.user_name]
                .iter()
                .all(|f| f.non_empty().is_none())
                && u.access_key_id.non_empty().is_none()
        });
    if let Some(why) = damaged.or_else(|| {
        nobody.then(|| format!("userIdentity names no caller (no arn, principalId, accessKeyId, invokedBy) on this {name} call"))
    }) {
        return Err(reject(idx, RejectReason::WrongType, &why));
    }
    if let Some((field, what, not)) = r.nested_wrong(response) {
        return Err(reject(
            idx,
            RejectReason::WrongType,
            &format!("{field} is {what}, not {not}: the record cannot be read as CloudTrail writes it (an export that keeps it as JSON text must be converted back)"),
        ));
    }
    // Who made the call: a record that does not say (no `userIdentity`, or null) would be a
    // call by nobody (a review: the leaked key's `AssumeRole` without it lost the role's
    // whole chain from the taint, and plan and verify said OK on that evidence). CloudTrail
    // writes one on every record but Insights' (rejected above); a service's own event says
    // `invokedBy`.
    if r.user_identity.get().is_none() {
        return Err(reject(
            idx,
            RejectReason::WrongType,
            "userIdentity is missing or null: the record does not say who made the call",
        ));
    }
    // What the call was: a record that does not say cannot be read as any call (an
    // `AssumeRole` named by an array issued no session). A missing `eventSource` is let be
    // here: that of a call the session graph reads was refused above (`detail_damage`).
    for (field, v) in [("eventName", &r.event_name), ("eventSource", &r.event_source)] {
        let what = match (v.wrong, v.get()) {
            (Some(what), _) => what,
            (None, None) if field == "eventName" => "missing or null",
            (None, _) => continue,
        };
        let not = if v.wrong.is_some() { ", not a string" } else { "" };
        return Err(reject(
            idx,
            RejectReason::WrongType,
            &format!("{field} is {what}{not}: the record does not say what call it is"),
        ));
    }
    Ok(time)
}

/// The normalized `userIdentity` of a raw record.
pub fn identity_of(r: &RawRecord) -> Identity {
    let mut identity = Identity {
        from_console: r.session_credential_from_console.0 == Some(true),
        ..Identity::default()
    };
    if let Some(u) = r.user_identity.get() {
        identity.kind = u.kind.owned();
        identity.principal_id = u.principal_id.owned();
        identity.arn = u.arn.owned();
        identity.account_id = u.account_id.owned();
        identity.access_key_id = u.access_key_id.owned();
        identity.user_name = u.user_name.owned();
        identity.invoked_by = u.invoked_by.owned();
        identity.identity_provider = u.identity_provider.owned();
        if let Some(sc) = u.session_context.get() {
            if let Some(iss) = sc.session_issuer.get() {
                identity.issuer_kind = iss.kind.owned();
                identity.issuer_arn = iss.arn.owned();
                identity.issuer_principal_id = iss.principal_id.owned();
                identity.issuer_account_id = iss.account_id.owned();
                identity.issuer_user_name = iss.user_name.owned();
            }
            if let Some(a) = sc.attributes.get() {
                identity.creation_date = a.creation_date.non_empty().and_then(parse_iso);
                identity.mfa_authenticated = a.mfa_authenticated.0;
            }
            identity.source_identity = sc.source_identity.owned();
            identity.ec2_role_delivery = sc.ec2_role_delivery.owned();
        }
    }
    identity
}

/// The `creationDate` of the session that signed a record, without building the identity.
pub fn creation_date_of(r: &RawRecord) -> Option<i64> {
    let u = r.user_identity.get()?;
    let sc = u.session_context.get()?;
    sc.attributes.get()?.creation_date.non_empty().and_then(parse_iso)
}

/// The ARN partition of an AWS region (`cn-north-1` is in `aws-cn`, `us-gov-west-1` in
/// `aws-us-gov`, the isolated regions in theirs); `aws` for every other (or no) region.
fn partition_of_region(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 7] = [
        ("cn-", "aws-cn"),
        // The AWS European Sovereign Cloud (its first region is eusc-de-east-1).
        ("eusc-", "aws-eusc"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-iso-", "aws-iso"),
    ];
    PREFIXES.iter().find(|(p, _)| region.starts_with(p)).map_or("aws", |(_, partition)| partition)
}

/// The ARN of the bucket (or object) `requestParameters.bucketName` names, in the partition
/// of the call's region: a bucket in China or GovCloud is not an `arn:aws:` one, and a deny
/// naming it so would match nothing there. A name ending in `--x-s3` is a directory bucket
/// (S3 Express One Zone; general purpose bucket names may not end so): its ARN is
/// `arn:<partition>:s3express:<region>:<account>:bucket/<name>`, made only when the record
/// gives the region and the receiving account (else the record's own `resources` name it).
fn bucket_arn(r: &RawRecord, request: &Request) -> Option<String> {
    let bucket = request.bucket_name.as_deref()?;
    let region = r.aws_region.get().unwrap_or("");
    let partition = partition_of_region(region);
    if bucket.ends_with("--x-s3") {
        let account = r.recipient_account_id.get()?;
        return (!region.is_empty())
            .then(|| format!("arn:{partition}:s3express:{region}:{account}:bucket/{bucket}"));
    }
    Some(match &request.key {
        Some(k) => format!("arn:{partition}:s3:::{bucket}/{k}"),
        None => format!("arn:{partition}:s3:::{bucket}"),
    })
}

/// Turns one raw record into an [`Event`], or says why it cannot be used.
///
/// # Errors
/// A [`RecordReject`] for objects that are not CloudTrail records, Insights records (never
/// counted as events, SPEC §1) and records without a usable `eventTime`.
/// An access key id a response or request names (a key issued, created, or acted on): AWS
/// writes them in capitals, and the calls that use the key carry it so; one written in lower
/// case or with blanks around it (a damaged or forged record) is read as that key, so that its
/// uses are found. Any other text is kept as it is.
fn key_id(s: &super::raw::Str<'_>) -> Option<String> {
    let v = s.owned()?;
    let t = v.trim();
    let upper = t.to_ascii_uppercase();
    let shaped = (upper.starts_with("AKIA") || upper.starts_with("ASIA"))
        && t.len() >= 16
        && t.bytes().all(|b| b.is_ascii_alphanumeric());
    Some(if shaped { upper } else { v })
}

pub fn normalize(r: &RawRecord, file: u32, idx: u32) -> Result<Event, RecordReject> {
    let time = check(r, idx)?;
    let id = r.event_id.owned().unwrap_or_else(|| super::table::stand_in_name(file, idx));
    let identity = identity_of(r);

    let mut request = Request::default();
    if let Some(q) = r.request_parameters.get() {
        request = Request {
            role_arn: q.role_arn.owned(),
            role_session_name: q.role_session_name.owned(),
            duration_seconds: q.duration_seconds.0,
            user_name: q.user_name.owned(),
            name: q
                .name
                .owned()
                .or_else(|| q.parameters_read(r.event_source.get(), r.event_name.get())),
            source_identity: q.source_identity.owned(),
            principal_arn: q.principal_arn.owned().or_else(|| q.saml_provider_arn.owned()),
            role_name: q.role_name.owned(),
            policy_arn: q.policy_arn.owned(),
            policy_name: q.policy_name.owned(),
            policy_size: q.policy_document.get().map(super::raw::policy_chars),
            new_user_name: q.new_user_name.owned(),
            group_name: q.group_name.owned(),
            access_key_id: key_id(&q.access_key_id),
            status: q.status.owned(),
            bucket_name: q.bucket_name.owned(),
            key: q.key.owned(),
            function_name: q.function_name.owned(),
            secret_id: q.secret_id.owned(),
            instance_id: q.instance_id.owned(),
            target_principal: q.target_principal.owned(),
            passed_role: (!r.passed_roles.is_empty()).then(|| r.passed_roles.join(" ")),
        };
    }

    let mut response = Response::default();
    if let Some(p) = r.response_elements.get() {
        if let Some(c) = p.credentials.get() {
            response.credentials_key = key_id(&c.access_key_id);
            response.credentials_expiration = c.expiration.non_empty().and_then(parse_us_date);
        }
        if let Some(a) = p.assumed_role_user.get() {
            response.assumed_role_arn = a.arn.owned();
            response.assumed_role_id = a.assumed_role_id.owned();
        }
        if let Some(f) = p.federated_user.get() {
            response.federated_user_arn = f.arn.owned();
            response.federated_user_id = f.federated_user_id.owned();
        }
        if let Some(k) = p.access_key.get() {
            response.access_key_id = key_id(&k.access_key_id);
            response.access_key_user = k.user_name.owned();
            response.access_key_created = k.create_date.non_empty().and_then(parse_us_date);
        }
        if let Some(u) = p.user.get() {
            response.user_arn = u.arn.owned();
            response.user_id = u.user_id.owned();
            response.user_name = u.user_name.owned();
        }
        if let Some(l) = p.login_profile.get() {
            response.login_profile_user = l.user_name.owned();
        }
        if let Some(role) = p.role.get() {
            response.role_arn = role.arn.owned();
        }
        response.credential_id = p
            .ssh_public_key
            .get()
            .and_then(|k| k.id.owned())
            .or_else(|| p.service_specific_credential.get().and_then(|c| c.id.owned()))
            .or_else(|| p.certificate.get().and_then(|c| c.id.owned()));
        response.subject = p.subject.owned().or_else(|| p.subject_from_web_identity_token.owned());
        response.provider = p.issuer.owned().or_else(|| p.provider.owned());
        response.source_identity = p.source_identity.owned();
        response.console_login = p.console_login.owned();
        response.instance_ids = p.instance_ids();
    }
    // A Cognito developer token: its identity is the subject of the sessions assumed with it,
    // and its end is when it stops minting them.
    if r.event_name.get() == Some(crate::model::names::COGNITO_DEVELOPER_TOKEN) {
        let q = r.request_parameters.get();
        if response.subject.is_none() {
            response.subject = r
                .response_elements
                .get()
                .and_then(|p| p.identity_id.owned())
                .or_else(|| q.and_then(|q| q.identity_id.owned()));
        }
        let life = q
            .and_then(|q| q.token_duration.0)
            .filter(|&d| d > 0)
            .map_or(crate::model::names::COGNITO_TOKEN_LIFE, |d| {
                d.min(crate::model::names::COGNITO_TOKEN_LIFE)
            });
        response.credentials_expiration = Some(time.saturating_add(life));
    }
    // A reset or reactivation of an existing one names it in the request (a reset's response
    // holds a password, which CloudTrail may leave out).
    if response.credential_id.is_none() {
        let status = r.request_parameters.get().and_then(|q| q.status.get());
        let revives = r
            .event_name
            .get()
            .is_some_and(|n| crate::model::names::other_credential_call(n, status));
        if let Some(q) = r.request_parameters.get().filter(|_| revives) {
            response.credential_id = q
                .service_specific_credential_id
                .owned()
                .or_else(|| q.ssh_public_key_id.owned())
                .or_else(|| q.certificate_id.owned())
                .or_else(|| {
                    (r.event_name.get() == Some("UpdateAccessKey"))
                        .then(|| q.access_key_id.owned())
                        .flatten()
                });
        }
    }

    let mut resources = Vec::new();
    if let Some(list) = &r.resources.0 {
        for res in list.iter().filter_map(|o| o.get()) {
            if let Some(arn) = res.arn.non_empty() {
                resources.push(arn.to_owned());
            }
        }
    }
    if let Some(arn) = bucket_arn(r, &request) {
        if !resources.contains(&arn) {
            resources.push(arn);
        }
    }
    let dropped = r.resources.dropped();
    if dropped > 0 {
        // Marked, as a truncated string is: what the record named is not all kept here, and
        // whoever acts on the list (a plan's resource denies) must know it.
        resources.push(format!("{}{dropped} more resources]", super::raw::TRUNCATED));
    }

    Ok(Event {
        id,
        time,
        version: r.event_version.owned(),
        source: r.event_source.owned().unwrap_or_default(),
        name: r.event_name.owned().unwrap_or_default(),
        region: r.aws_region.owned(),
        source_ip: r.source_ip_address.owned(),
        user_agent: r.user_agent.owned(),
        error_code: r.error_code.owned(),
        error_message: r.error_message.owned(),
        read_only: r.read_only.0,
        event_type: r.event_type.owned(),
        category: r.event_category.owned(),
        request_id: r.request_id.owned(),
        recipient_account: r.recipient_account_id.owned(),
        shared_event_id: r.shared_event_id.owned(),
        identity,
        request,
        response,
        resources,
        origin: Origin { file, record: idx },
    })
}

#[cfg(test)]
mod partition_tests {
    #[test]
    fn each_region_is_in_its_partition() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("eusc-de-east-1", "aws-eusc"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
        ] {
            assert_eq!(super::partition_of_region(region), partition, "{region}");
        }
    }
}

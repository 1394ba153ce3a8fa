//! Shape detection and record parsing of one decompressed file.
//!
//! The shape is read from the content, never the file name (SPEC §1): `{"Records":[…]}`, a
//! bare JSON array of records, JSON Lines, `lookup-events` output (records as JSON strings in
//! `CloudTrailEvent`), a single record, or a digest file (skipped). One simd-json pass parses
//! the whole document into the borrowed [`RawRecord`] tree, then each record is normalized into
//! an owned [`Event`] or rejected with a reason.

use super::raw::{Obj, RawRecord};
use super::{RecordReject, RejectReason};
use crate::model::{Event, Identity, Origin, Request, Response};
use crate::time::{parse_iso, parse_us_date};

/// What kind of document a file held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{"Records":[…]}`.
    RecordsWrapper,
    /// A bare JSON array of records.
    Array,
    /// One record per line.
    JsonLines,
    /// `aws cloudtrail lookup-events` output.
    LookupEvents,
    /// One bare record object.
    SingleRecord,
    /// A CloudTrail digest file: not events (SPEC §1).
    Digest,
}

/// Why a whole file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Nothing but whitespace.
    Empty,
    /// The content does not start like JSON.
    NotJson,
    /// JSON syntax error.
    InvalidJson(String),
    /// Valid JSON, but not CloudTrail records.
    NotCloudTrail(String),
}

/// The records of one file.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Records seen (kept + rejected).
    pub records: u64,
    /// Normalized events, in file order.
    pub events: Vec<Event>,
    /// Records that could not be used, with the reason.
    pub rejects: Vec<RecordReject>,
}

/// Parses one decompressed document. `buf` is modified (simd-json de-escapes in place).
///
/// # Errors
/// [`FileError`] when the document as a whole is unusable; individual bad records are
/// returned in [`Parsed::rejects`] instead.
pub fn parse_document(
    buf: &mut [u8],
    file: u32,
    buffers: &mut simd_json::Buffers,
) -> Result<(Shape, Parsed), FileError> {
    let mut start = 0;
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        start = 3;
    }
    while start < buf.len() && buf[start].is_ascii_whitespace() {
        start += 1;
    }
    if start == buf.len() {
        return Err(FileError::Empty);
    }
    let body = &mut buf[start..];
    match body[0] {
        b'[' => {
            let list: Vec<Obj<RawRecord>> =
                simd_json::serde::from_slice_with_buffers(body, buffers)
                    .map_err(|e| FileError::InvalidJson(e.to_string()))?;
            let mut out = Parsed::default();
            for (i, r) in list.iter().enumerate() {
                push_record(&mut out, r.get(), file, i as u32);
            }
            not_cloudtrail_if_nothing_usable(Shape::Array, out)
        }
        b'{' if is_json_lines(body) => Ok((Shape::JsonLines, parse_lines(body, file, buffers))),
        b'{' => {
            let top: RawRecord = simd_json::serde::from_slice_with_buffers(body, buffers)
                .map_err(|e| FileError::InvalidJson(e.to_string()))?;
            let mut out = Parsed::default();
            if let Some(records) = &top.records.0 {
                for (i, r) in records.iter().enumerate() {
                    push_record(&mut out, r.get(), file, i as u32);
                }
                return Ok((Shape::RecordsWrapper, out));
            }
            if let Some(events) = &top.lookup_events.0 {
                let mut scratch = Vec::new();
                for (i, e) in events.iter().enumerate() {
                    let i = i as u32;
                    out.records += 1;
                    let Some(text) = e.get().and_then(|e| e.cloud_trail_event.get()) else {
                        out.rejects.push(reject(
                            i,
                            RejectReason::NotARecord,
                            "no CloudTrailEvent string",
                        ));
                        continue;
                    };
                    scratch.clear();
                    scratch.extend_from_slice(text.as_bytes());
                    match simd_json::serde::from_slice_with_buffers::<RawRecord>(
                        &mut scratch,
                        buffers,
                    ) {
                        Ok(r) => {
                            out.records -= 1;
                            push_record(&mut out, Some(&r), file, i);
                        }
                        Err(err) => {
                            out.rejects.push(reject(i, RejectReason::InvalidJson, &err.to_string()))
                        }
                    }
                }
                return Ok((Shape::LookupEvents, out));
            }
            if top.digest_start_time.get().is_some() || top.log_files.is_some() {
                return Ok((Shape::Digest, out));
            }
            if looks_like_record(&top) {
                push_record(&mut out, Some(&top), file, 0);
                return Ok((Shape::SingleRecord, out));
            }
            Err(FileError::NotCloudTrail(
                "a JSON object without \"Records\", \"Events\" or CloudTrail record fields".into(),
            ))
        }
        _ => Err(FileError::NotJson),
    }
}

fn not_cloudtrail_if_nothing_usable(
    shape: Shape,
    out: Parsed,
) -> Result<(Shape, Parsed), FileError> {
    let all_foreign = !out.rejects.is_empty()
        && out.events.is_empty()
        && out.rejects.iter().all(|r| r.reason == RejectReason::NotARecord);
    if all_foreign {
        return Err(FileError::NotCloudTrail(format!(
            "none of the {} array elements is a CloudTrail record",
            out.rejects.len()
        )));
    }
    Ok((shape, out))
}

/// JSON Lines: the first line is a complete object and another object starts on a later line.
fn is_json_lines(body: &[u8]) -> bool {
    let Some(nl) = body.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let first = body[..nl].trim_ascii();
    let rest = body[nl + 1..].trim_ascii_start();
    first.len() > 1 && first.ends_with(b"}") && rest.first() == Some(&b'{')
}

fn parse_lines(body: &mut [u8], file: u32, buffers: &mut simd_json::Buffers) -> Parsed {
    let mut out = Parsed::default();
    for (idx, line) in body.split_mut(|&b| b == b'\n').enumerate() {
        let idx = idx as u32;
        let trimmed_len = line.trim_ascii().len();
        if trimmed_len == 0 {
            continue;
        }
        match simd_json::serde::from_slice_with_buffers::<RawRecord>(line, buffers) {
            Ok(r) => push_record(&mut out, Some(&r), file, idx),
            Err(e) => {
                out.records += 1;
                out.rejects.push(reject(idx, RejectReason::InvalidJson, &e.to_string()));
            }
        }
    }
    out
}

fn looks_like_record(r: &RawRecord) -> bool {
    r.event_time.get().is_some()
        || r.event_name.get().is_some()
        || r.event_source.get().is_some()
        || r.event_id.get().is_some()
        || r.event_version.get().is_some()
}

fn reject(record: u32, reason: RejectReason, detail: &str) -> RecordReject {
    RecordReject { record, reason, detail: detail.to_owned() }
}

fn push_record(out: &mut Parsed, r: Option<&RawRecord>, file: u32, idx: u32) {
    out.records += 1;
    match r {
        None => out.rejects.push(reject(
            idx,
            RejectReason::NotARecord,
            "array element is not an object",
        )),
        Some(r) => match normalize(r, file, idx) {
            Ok(e) => out.events.push(e),
            Err(rej) => out.rejects.push(rej),
        },
    }
}

/// Turns one raw record into an [`Event`], or says why it cannot be used.
///
/// # Errors
/// A [`RecordReject`] for objects that are not CloudTrail records, Insights records (never
/// counted as events, SPEC §1) and records without a usable `eventTime`.
pub fn normalize(r: &RawRecord, file: u32, idx: u32) -> Result<Event, RecordReject> {
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
        None => {
            return Err(reject(idx, RejectReason::MissingEventTime, "eventTime is missing or null"))
        }
        Some(t) => match parse_iso(t) {
            Some(t) => t,
            None => {
                return Err(reject(
                    idx,
                    RejectReason::BadEventTime,
                    &format!("unparseable eventTime {t:?}"),
                ))
            }
        },
    };
    let id = r.event_id.owned().unwrap_or_else(|| format!("noid:{file}:{idx}"));

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

    let mut request = Request::default();
    if let Some(q) = r.request_parameters.get() {
        request = Request {
            role_arn: q.role_arn.owned(),
            role_session_name: q.role_session_name.owned(),
            duration_seconds: q.duration_seconds.0,
            user_name: q.user_name.owned(),
            name: q.name.owned(),
            source_identity: q.source_identity.owned(),
            principal_arn: q.principal_arn.owned(),
            role_name: q.role_name.owned(),
            policy_arn: q.policy_arn.owned(),
            policy_name: q.policy_name.owned(),
            group_name: q.group_name.owned(),
            access_key_id: q.access_key_id.owned(),
            status: q.status.owned(),
            bucket_name: q.bucket_name.owned(),
            key: q.key.owned(),
            function_name: q.function_name.owned(),
            secret_id: q.secret_id.owned(),
            instance_id: q.instance_id.owned(),
            target_principal: q.target_principal.owned(),
        };
    }

    let mut response = Response::default();
    if let Some(p) = r.response_elements.get() {
        if let Some(c) = p.credentials.get() {
            response.credentials_key = c.access_key_id.owned();
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
            response.access_key_id = k.access_key_id.owned();
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
        response.subject = p.subject.owned().or_else(|| p.subject_from_web_identity_token.owned());
        response.provider = p.issuer.owned().or_else(|| p.provider.owned());
        response.source_identity = p.source_identity.owned();
        response.console_login = p.console_login.owned();
    }

    let mut resources = Vec::new();
    if let Some(list) = &r.resources.0 {
        for res in list.iter().filter_map(|o| o.get()) {
            if let Some(arn) = res.arn.non_empty() {
                resources.push(arn.to_owned());
            }
        }
    }
    if let Some(bucket) = &request.bucket_name {
        let arn = match &request.key {
            Some(k) => format!("arn:aws:s3:::{bucket}/{k}"),
            None => format!("arn:aws:s3:::{bucket}"),
        };
        if !resources.contains(&arn) {
            resources.push(arn);
        }
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
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<(Shape, Parsed), FileError> {
        let mut b = s.as_bytes().to_vec();
        parse_document(&mut b, 0, &mut simd_json::Buffers::default())
    }

    const REC: &str = r#"{"eventVersion":"1.08","eventTime":"2023-07-10T11:42:36Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","eventID":"e1","userIdentity":{"type":"IAMUser","accessKeyId":"AKIAIOSFODNN7EXAMPLE","arn":"arn:aws:iam::111122223333:user/a","sessionContext":{"attributes":{"creationDate":"20230710T114200Z","mfaAuthenticated":"false"},"sessionIssuer":{}}},"requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/R","roleSessionName":"s","durationSeconds":"900"},"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE000000001","expiration":"Jul 10, 2023, 12:42:36 PM","sessionToken":"x"},"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/R/s","assumedRoleId":"AROAEXAMPLE:s"}},"resources":[{"ARN":"arn:aws:iam::111122223333:role/R","accountId":"111122223333","type":"AWS::IAM::Role"}],"readOnly":true}"#;

    #[test]
    fn every_shape_gives_the_same_event() {
        let wrapper = format!("{{\"Records\":[{REC}]}}");
        let array = format!("[{REC}]");
        let lines = format!("{REC}\n{}\n", REC.replace("\"e1\"", "\"e2\""));
        let escaped = serde_json::to_string(REC).unwrap();
        let lookup =
            format!("{{\"Events\":[{{\"EventId\":\"e1\",\"CloudTrailEvent\":{escaped}}}]}}");
        let mut seen = Vec::new();
        for (doc, shape) in [
            (wrapper.as_str(), Shape::RecordsWrapper),
            (array.as_str(), Shape::Array),
            (lines.as_str(), Shape::JsonLines),
            (lookup.as_str(), Shape::LookupEvents),
            (REC, Shape::SingleRecord),
        ] {
            let (s, p) = parse(doc).unwrap();
            assert_eq!(s, shape);
            assert!(p.rejects.is_empty(), "{shape:?}: {:?}", p.rejects);
            seen.push(p.events[0].clone());
        }
        let e = &seen[0];
        assert_eq!(e.response.credentials_key.as_deref(), Some("ASIAEXAMPLE000000001"));
        assert_eq!(e.response.credentials_expiration, parse_iso("2023-07-10T12:42:36Z"));
        assert_eq!(e.request.duration_seconds, Some(900));
        assert_eq!(e.identity.creation_date, parse_iso("2023-07-10T11:42:00Z"));
        assert_eq!(e.identity.mfa_authenticated, Some(false));
        assert_eq!(e.resources, vec!["arn:aws:iam::111122223333:role/R".to_string()]);
        for other in &seen[1..] {
            let mut o = other.clone();
            o.id = e.id.clone();
            assert_eq!(&o, e);
        }
    }

    #[test]
    fn lenient_fields_do_not_reject_records() {
        let odd = r#"{"Records":[{"eventTime":"2023-07-10T11:42:36Z","eventName":"X","userIdentity":"weird","requestParameters":[1,2],"responseElements":{"credentials":5},"readOnly":"true","resources":null,"userAgent":7}]}"#;
        let (_, p) = parse(odd).unwrap();
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].read_only, Some(true));
        assert_eq!(p.events[0].user_agent, None);
    }

    #[test]
    fn bad_records_are_rejected_with_reasons() {
        let doc = r#"{"Records":[{"eventVersion":"1.1","eventTime":null},{"eventName":"X","eventTime":"yesterday"},3,{"foo":1},{"eventTime":"2023-07-10T11:42:36Z","eventType":"AwsCloudTrailInsight"}]}"#;
        let (_, p) = parse(doc).unwrap();
        assert_eq!(p.records, 5);
        assert!(p.events.is_empty());
        let reasons: Vec<_> = p.rejects.iter().map(|r| (r.record, r.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (0, RejectReason::MissingEventTime),
                (1, RejectReason::BadEventTime),
                (2, RejectReason::NotARecord),
                (3, RejectReason::NotARecord),
                (4, RejectReason::Insight),
            ]
        );
    }

    #[test]
    fn file_level_errors() {
        assert_eq!(parse("  \n").unwrap_err(), FileError::Empty);
        assert_eq!(parse("hello").unwrap_err(), FileError::NotJson);
        assert!(matches!(parse("{\"Records\":[{").unwrap_err(), FileError::InvalidJson(_)));
        assert!(matches!(parse("{\"foo\":1}").unwrap_err(), FileError::NotCloudTrail(_)));
        assert!(matches!(parse("[1,2,{\"a\":1}]").unwrap_err(), FileError::NotCloudTrail(_)));
        let (shape, p) =
            parse(r#"{"digestStartTime":"2024-01-01T00:00:00Z","logFiles":[]}"#).unwrap();
        assert_eq!((shape, p.records), (Shape::Digest, 0));
    }

    #[test]
    fn json_lines_with_a_broken_line_keeps_the_rest() {
        let doc = format!("{REC}\n{{\"eventTime\": oops}}\n{}\n", REC.replace("\"e1\"", "\"e3\""));
        let (shape, p) = parse(&doc).unwrap();
        assert_eq!(shape, Shape::JsonLines);
        assert_eq!((p.records, p.events.len()), (3, 2));
        assert_eq!(p.rejects[0].record, 1);
        assert_eq!(p.rejects[0].reason, RejectReason::InvalidJson);
    }
}

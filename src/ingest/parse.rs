//! Shape detection and record parsing of one decompressed file.
//!
//! The shape is read from the content, never the file name (SPEC §1): `{"Records":[…]}`, a
//! bare JSON array of records, JSON Lines, `lookup-events` output (records as JSON strings in
//! `CloudTrailEvent`), a single record, or a digest file (skipped). One simd-json pass parses
//! the whole document into the borrowed [`RawRecord`] tree, then each record is normalized into
//! an owned [`Event`] or rejected with a reason.

use super::raw::{Obj, RawRecord, Str};
use super::{RecordReject, RejectReason};
use crate::model::{Event, Identity, Origin, Request, Response};
use crate::time::{parse_iso, parse_us_date};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
    /// A Parquet table written by `trailhound export` ([`super::parquet`]).
    Parquet,
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
    /// A Parquet file that cannot be read as an export table ([`super::parquet`]).
    Parquet(String),
}

/// Receives the records of one document, one call per record, in file order.
pub trait RecordSink {
    /// A record at index `idx`; `None` when the array element is not a JSON object.
    fn record(&mut self, r: Option<&RawRecord<'_>>, idx: u32);
    /// A record that could not be parsed at all (a JSON Lines line, a `CloudTrailEvent` string).
    fn unparsed(&mut self, idx: u32, reason: RejectReason, detail: String);
    /// True when records were seen but none was a CloudTrail record (only foreign objects).
    fn only_foreign(&self) -> bool;
}

/// A sink that normalizes records into owned [`Event`]s: all of them, or only the record
/// indices in `want` (the second, targeted pass over files holding tainted events).
#[derive(Debug, Default)]
pub struct Parsed {
    /// File index stored in each event's [`Origin`].
    pub file: u32,
    /// Only these record indices (sorted); `None` = every record.
    pub want: Option<Vec<u32>>,
    /// Records seen (kept + rejected).
    pub records: u64,
    /// Normalized events, in file order.
    pub events: Vec<Event>,
    /// Records that could not be used, with the reason.
    pub rejects: Vec<RecordReject>,
}

impl Parsed {
    /// A sink keeping every record of file `file`.
    pub fn all(file: u32) -> Parsed {
        Parsed { file, ..Parsed::default() }
    }
}

impl RecordSink for Parsed {
    fn record(&mut self, r: Option<&RawRecord<'_>>, idx: u32) {
        self.records += 1;
        if let Some(w) = &self.want {
            if w.binary_search(&idx).is_err() {
                return;
            }
        }
        match r {
            None => self.rejects.push(reject(
                idx,
                RejectReason::NotARecord,
                "array element is not an object",
            )),
            Some(r) => match normalize(r, self.file, idx) {
                Ok(e) => self.events.push(e),
                Err(rej) => self.rejects.push(rej),
            },
        }
    }
    fn unparsed(&mut self, idx: u32, reason: RejectReason, detail: String) {
        self.records += 1;
        self.rejects.push(RecordReject { record: idx, reason, detail });
    }
    fn only_foreign(&self) -> bool {
        !self.rejects.is_empty()
            && self.events.is_empty()
            && self.rejects.iter().all(|r| r.reason == RejectReason::NotARecord)
    }
}

/// Parses one decompressed document into `sink`. `buf` is modified (simd-json de-escapes in
/// place).
///
/// # Errors
/// [`FileError`] when the document as a whole is unusable; individual bad records go to the
/// sink instead.
pub fn parse_document<S: RecordSink>(
    buf: &mut [u8],
    buffers: &mut simd_json::Buffers,
    sink: &mut S,
) -> Result<Shape, FileError> {
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
            let mut d = simd_json::Deserializer::from_slice_with_buffers(body, buffers)
                .map_err(|e| FileError::InvalidJson(e.to_string()))?;
            let n = RecordsSeed { sink: &mut *sink }
                .deserialize(&mut d)
                .map_err(|e| FileError::InvalidJson(e.to_string()))?;
            if sink.only_foreign() {
                return Err(FileError::NotCloudTrail(format!(
                    "none of the {} array elements is a CloudTrail record",
                    n.unwrap_or(0)
                )));
            }
            Ok(Shape::Array)
        }
        b'{' if starts_with_records_key(body) => {
            // The CloudTrail file format itself, on the hot path: records are handed to the
            // sink one by one as they are deserialized, never collected.
            let mut d = simd_json::Deserializer::from_slice_with_buffers(body, buffers)
                .map_err(|e| FileError::InvalidJson(e.to_string()))?;
            match (TopSeed { sink }).deserialize(&mut d) {
                Ok(true) => Ok(Shape::RecordsWrapper),
                Ok(false) => Err(FileError::NotCloudTrail("\"Records\" is not an array".into())),
                Err(e) => Err(FileError::InvalidJson(e.to_string())),
            }
        }
        b'{' if is_json_lines(body) => {
            parse_lines(body, buffers, sink);
            Ok(Shape::JsonLines)
        }
        b'{' => {
            let top: RawRecord = simd_json::serde::from_slice_with_buffers(body, buffers)
                .map_err(|e| FileError::InvalidJson(e.to_string()))?;
            if let Some(records) = &top.records.0 {
                for (i, r) in records.iter().enumerate() {
                    sink.record(r.get(), i as u32);
                }
                return Ok(Shape::RecordsWrapper);
            }
            if let Some(events) = &top.lookup_events.0 {
                let mut scratch = Vec::new();
                for (i, e) in events.iter().enumerate() {
                    let i = i as u32;
                    let Some(text) = e.get().and_then(|e| e.cloud_trail_event.get()) else {
                        sink.unparsed(
                            i,
                            RejectReason::NotARecord,
                            "no CloudTrailEvent string".into(),
                        );
                        continue;
                    };
                    scratch.clear();
                    scratch.extend_from_slice(text.as_bytes());
                    match simd_json::serde::from_slice_with_buffers::<RawRecord>(
                        &mut scratch,
                        buffers,
                    ) {
                        Ok(r) => sink.record(Some(&r), i),
                        Err(err) => sink.unparsed(i, RejectReason::InvalidJson, err.to_string()),
                    }
                }
                return Ok(Shape::LookupEvents);
            }
            if top.digest_start_time.get().is_some() || top.log_files.is_some() {
                return Ok(Shape::Digest);
            }
            if looks_like_record(&top) {
                sink.record(Some(&top), 0);
                return Ok(Shape::SingleRecord);
            }
            Err(FileError::NotCloudTrail(
                "a JSON object without \"Records\", \"Events\" or CloudTrail record fields".into(),
            ))
        }
        _ => Err(FileError::NotJson),
    }
}

/// True when the object's first key is `"Records"` (every CloudTrail log file).
fn starts_with_records_key(body: &[u8]) -> bool {
    body[1..].trim_ascii_start().starts_with(b"\"Records\"")
}

/// Feeds the elements of a JSON array of records to a sink, one at a time.
struct RecordsSeed<'s, S> {
    sink: &'s mut S,
}

impl<'de, S: RecordSink> DeserializeSeed<'de> for RecordsSeed<'_, S> {
    /// Number of elements, or `None` when the value was not an array.
    type Value = Option<u32>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: RecordSink> Visitor<'de> for RecordsSeed<'_, S> {
    type Value = Option<u32>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of CloudTrail records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<u32>, A::Error> {
        let mut i = 0u32;
        while let Some(r) = seq.next_element::<Obj<RawRecord<'de>>>()? {
            self.sink.record(r.get(), i);
            i += 1;
        }
        Ok(Some(i))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Option<u32>, A::Error> {
        while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<u32>, E> {
        Ok(None)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Option<u32>, E> {
        Ok(None)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Option<u32>, E> {
        Ok(None)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Option<u32>, E> {
        Ok(None)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Option<u32>, E> {
        Ok(None)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Option<u32>, E> {
        Ok(None)
    }
}

/// `{"Records":[…], …}`: streams the `Records` array into the sink, skips other keys.
struct TopSeed<'s, S> {
    sink: &'s mut S,
}

impl<'de, S: RecordSink> DeserializeSeed<'de> for TopSeed<'_, S> {
    /// True when a `Records` array was found.
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: RecordSink> Visitor<'de> for TopSeed<'_, S> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a CloudTrail log file object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(k) = m.next_key::<Str<'de>>()? {
            if !found && k.get() == Some("Records") {
                found = m.next_value_seed(RecordsSeed { sink: &mut *self.sink })?.is_some();
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
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

fn parse_lines<S: RecordSink>(body: &mut [u8], buffers: &mut simd_json::Buffers, sink: &mut S) {
    for (idx, line) in body.split_mut(|&b| b == b'\n').enumerate() {
        let idx = idx as u32;
        if line.trim_ascii().is_empty() {
            continue;
        }
        match simd_json::serde::from_slice_with_buffers::<RawRecord>(line, buffers) {
            Ok(r) => sink.record(Some(&r), idx),
            Err(e) => sink.unparsed(idx, RejectReason::InvalidJson, e.to_string()),
        }
    }
}

pub(crate) fn looks_like_record(r: &RawRecord) -> bool {
    r.event_time.get().is_some()
        || r.event_name.get().is_some()
        || r.event_source.get().is_some()
        || r.event_id.get().is_some()
        || r.event_version.get().is_some()
}

fn reject(record: u32, reason: RejectReason, detail: &str) -> RecordReject {
    RecordReject { record, reason, detail: detail.to_owned() }
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
    match r.event_time.get() {
        None => Err(reject(idx, RejectReason::MissingEventTime, "eventTime is missing or null")),
        Some(t) => parse_iso(t).ok_or_else(|| {
            reject(idx, RejectReason::BadEventTime, &format!("unparseable eventTime {t:?}"))
        }),
    }
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

/// Turns one raw record into an [`Event`], or says why it cannot be used.
///
/// # Errors
/// A [`RecordReject`] for objects that are not CloudTrail records, Insights records (never
/// counted as events, SPEC §1) and records without a usable `eventTime`.
pub fn normalize(r: &RawRecord, file: u32, idx: u32) -> Result<Event, RecordReject> {
    let time = check(r, idx)?;
    let id = r.event_id.owned().unwrap_or_else(|| format!("noid:{file}:{idx}"));
    let identity = identity_of(r);

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
        let mut sink = Parsed::all(0);
        let shape = parse_document(&mut b, &mut simd_json::Buffers::default(), &mut sink)?;
        Ok((shape, sink))
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

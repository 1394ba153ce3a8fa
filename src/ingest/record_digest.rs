//! Content digests: 64 bits over every field trailhound reads from a record (or from an event
//! read back from Parquet), keyed per run. Two copies of one `eventID` with the same digest
//! are duplicates; with different digests they are an evidence conflict (SPEC §8).

use super::raw::{RawRecord, Str};
use super::tape;
use crate::model::Event;

/// Running state of [`content_digest`].
struct Digest {
    h: u64,
    k: [u64; 3],
    tag: u64,
    /// Strings longer than [`super::raw::FIELD_CAP`] (truncated when kept).
    oversized: u32,
}

#[inline]
fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap_or_default())
}

#[inline]
fn le32(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(b[..4].try_into().unwrap_or_default()))
}

impl Digest {
    /// Absorbs the next field (its position and length, then its bytes), 16 bytes per
    /// multiply; the tail is read as overlapping words (no byte loop, no copy).
    #[inline]
    fn bytes(&mut self, b: Option<&[u8]>) {
        self.tag += 1;
        let Some(b) = b else { return };
        let k = self.k;
        let n = b.len();
        self.oversized += u32::from(n > super::raw::FIELD_CAP);
        let mut h = tape::fold_mul(self.h ^ k[0] ^ self.tag, (n as u64) ^ k[1]);
        let (x, y) = if n >= 16 {
            let mut c = b[..n - 1].chunks_exact(16);
            for w in &mut c {
                h = tape::fold_mul(le64(w) ^ k[1], le64(&w[8..]) ^ h);
            }
            (le64(&b[n - 16..]), le64(&b[n - 8..]))
        } else if n >= 8 {
            (le64(b), le64(&b[n - 8..]))
        } else if n >= 4 {
            (le32(b), le32(&b[n - 4..]))
        } else if n > 0 {
            (u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16, 0)
        } else {
            (0, 0)
        };
        self.h = tape::fold_mul(x ^ k[2], y ^ h);
    }
    #[inline]
    fn s(&mut self, s: &Str) {
        self.bytes(s.get().map(str::as_bytes));
    }
    /// A time, by the second it names when it reads as one (`parse`), else by its text: one
    /// event written `2024-03-11T09:00:00Z` by a log file and `2024-03-11T09:00:00.000Z` by an
    /// export (or a `creationDate` in basic form) is the same event to every report, and
    /// counted as an evidence conflict, both copies kept, it was counted twice (a review).
    #[inline]
    fn t(&mut self, s: &Str, parse: fn(&str) -> Option<i64>) {
        match s.get().and_then(parse) {
            Some(v) => self.second(v),
            None => self.s(s),
        }
    }
    /// A time read as the second `v` ([`Digest::t`]).
    #[inline]
    fn second(&mut self, v: i64) {
        let mut b = [b'T'; 9];
        b[1..].copy_from_slice(&v.to_le_bytes());
        self.bytes(Some(&b));
    }
    #[inline]
    fn n(&mut self, v: Option<i64>) {
        self.bytes(v.map(i64::to_le_bytes).as_ref().map(|b| &b[..]));
    }
    #[inline]
    fn f(&mut self, v: Option<bool>) {
        self.bytes(v.map(|b| if b { &b"t"[..] } else { &b"f"[..] }));
    }
}

/// 64-bit digest of what trailhound reads from a record: every field of the wire structs
/// ([`RawRecord`]), each with its position, so key order, whitespace and escaping do not
/// matter (two deliveries of one event, an organization and an account trail, a
/// `lookup-events` export and the log file, give the same digest) and a record that differs
/// in any field trailhound uses gets another one. Fields trailhound never reads do not count:
/// two records that agree on everything read are the same event to every report, so keeping
/// either hides nothing. Keyed per run ([`tape::keys`]) with a multiply-fold mix, so a copy
/// that collides with a given record cannot be prepared in advance. One pass over the
/// record's read values: cheap next to parsing it. Also returns how many of those values
/// ingest truncates or leaves out: strings longer than [`super::raw::FIELD_CAP`] bytes and
/// `resources` entries past [`super::raw::LIST_CAP`] (what one record may add to memory and
/// reports is capped, SPEC §8). `time` is the record's `eventTime` as the record's check
/// ([`super::normalize::check`]) parsed it: counted by the second it names, not parsed again.
pub fn content_digest(r: &RawRecord, time: i64) -> (u64, u32) {
    let mut d = Digest { h: 0, k: tape::keys(), tag: 0, oversized: 0 };
    d.s(&r.event_version);
    d.second(time);
    for s in [
        &r.event_source,
        &r.event_name,
        &r.aws_region,
        &r.source_ip_address,
        &r.user_agent,
        &r.error_code,
        &r.error_message,
        &r.request_id,
        &r.event_id,
        &r.event_type,
        &r.event_category,
        &r.recipient_account_id,
        &r.shared_event_id,
    ] {
        d.s(s);
    }
    d.f(r.read_only.0);
    d.f(r.management_event.0);
    d.f(r.session_credential_from_console.0);
    d.tag = 100;
    if let Some(u) = r.user_identity.get() {
        for s in [
            &u.kind,
            &u.principal_id,
            &u.arn,
            &u.account_id,
            &u.access_key_id,
            &u.user_name,
            &u.invoked_by,
            &u.identity_provider,
        ] {
            d.s(s);
        }
        if let Some(sc) = u.session_context.get() {
            d.s(&sc.source_identity);
            d.s(&sc.ec2_role_delivery);
            if let Some(i) = sc.session_issuer.get() {
                for s in [&i.kind, &i.principal_id, &i.arn, &i.account_id, &i.user_name] {
                    d.s(s);
                }
            }
            d.tag = 120;
            if let Some(a) = sc.attributes.get() {
                d.t(&a.creation_date, crate::time::parse_iso);
                d.f(a.mfa_authenticated.0);
            }
            d.tag = 130;
            if let Some(w) = sc.web_id_federation_data.get() {
                d.s(&w.federated_provider);
            }
        }
    }
    d.tag = 200;
    if let Some(q) = r.request_parameters.get() {
        for s in [
            &q.role_arn,
            &q.role_session_name,
            &q.user_name,
            &q.name,
            &q.source_identity,
            &q.principal_arn,
            &q.role_name,
            &q.policy_arn,
            &q.policy_name,
            &q.group_name,
            &q.access_key_id,
            &q.status,
            &q.bucket_name,
            &q.key,
            &q.function_name,
            &q.secret_id,
            &q.instance_id,
            &q.target_principal,
            &q.serial_number,
            &q.saml_provider_arn,
            &q.service_specific_credential_id,
            &q.ssh_public_key_id,
            &q.certificate_id,
            &q.identity_id,
        ] {
            d.s(s);
        }
        d.n(q.duration_seconds.0);
        d.n(q.token_duration.0);
        d.n(q.policy_document.get().map(super::raw::policy_chars));
        d.s(&q.new_user_name);
        d.s(&q.path);
        for n in q.names.0.iter().flatten() {
            d.s(n);
        }
    }
    // Taken from the tape, not a wire field: what any parameter of the request names.
    if !r.passed_roles.is_empty() {
        d.tag = 250;
        for p in &r.passed_roles {
            d.bytes(Some(p.as_bytes()));
        }
    }
    d.tag = 300;
    if let Some(p) = r.response_elements.get() {
        for s in [
            &p.subject,
            &p.issuer,
            &p.provider,
            &p.subject_from_web_identity_token,
            &p.identity_id,
            &p.source_identity,
            &p.console_login,
        ] {
            d.s(s);
        }
        d.tag = 310;
        if let Some(x) = p.credentials.get() {
            d.s(&x.access_key_id);
            d.t(&x.expiration, crate::time::parse_us_date);
        }
        d.tag = 320;
        if let Some(x) = p.assumed_role_user.get() {
            d.s(&x.arn);
            d.s(&x.assumed_role_id);
        }
        d.tag = 330;
        if let Some(x) = p.federated_user.get() {
            d.s(&x.arn);
            d.s(&x.federated_user_id);
        }
        d.tag = 340;
        if let Some(x) = p.access_key.get() {
            for s in [&x.access_key_id, &x.user_name, &x.status, &x.create_date] {
                d.s(s);
            }
        }
        d.tag = 350;
        if let Some(x) = p.user.get() {
            for s in [&x.arn, &x.user_id, &x.user_name] {
                d.s(s);
            }
        }
        d.tag = 360;
        if let Some(x) = p.login_profile.get() {
            d.s(&x.user_name);
        }
        d.tag = 370;
        if let Some(x) = p.role.get() {
            d.s(&x.arn);
            d.s(&x.role_name);
        }
        d.tag = 380;
        if let Some(items) = p.instances_set.get().and_then(|x| x.items.0.as_ref()) {
            for i in items {
                d.s(i.get().map_or(&Str(None), |i| &i.instance_id));
            }
        }
        // The id of an SSH key, service-specific credential or signing certificate the call
        // made: the plan deactivates it by this id, so a copy of the event under the same
        // `eventID` that names another id is an evidence conflict, not a duplicate.
        d.tag = 390;
        d.s(p.ssh_public_key.get().map_or(&Str(None), |x| &x.id));
        d.s(p.service_specific_credential.get().map_or(&Str(None), |x| &x.id));
        d.s(p.certificate.get().map_or(&Str(None), |x| &x.id));
    }
    d.tag = 400;
    if let Some(list) = &r.resources.0 {
        d.n(Some(list.len() as i64 + i64::from(r.resources.dropped())));
        for res in list {
            match res.get() {
                Some(x) => {
                    d.s(&x.arn);
                    d.s(&x.account_id);
                    d.s(&x.kind);
                }
                None => d.bytes(Some(b"-")),
            }
        }
    }
    let h = tape::fold_mul(d.h ^ d.k[2], d.k[0] ^ u64::from(d.tag as u32));
    (h, d.oversized + r.resources.dropped())
}

/// [`content_digest`] of an event read back from a Parquet export (no raw record): every
/// normalized field, so two copies of one export are duplicates, and a row that differs from
/// another copy of its `eventID` in anything kept is a conflict (a Parquet row and the JSON
/// record it came from are digested differently: they count as a conflict, both kept, which
/// never hides anything).
pub fn event_digest(e: &Event) -> u64 {
    let mut d = Digest { h: 1, k: tape::keys(), tag: 0, oversized: 0 };
    let s = |d: &mut Digest, v: &Option<String>| d.bytes(v.as_deref().map(str::as_bytes));
    d.bytes(Some(e.id.as_bytes()));
    d.n(Some(e.time));
    d.bytes(Some(e.source.as_bytes()));
    d.bytes(Some(e.name.as_bytes()));
    for v in [
        &e.version,
        &e.region,
        &e.source_ip,
        &e.user_agent,
        &e.error_code,
        &e.error_message,
        &e.event_type,
        &e.category,
        &e.request_id,
        &e.recipient_account,
        &e.shared_event_id,
    ] {
        s(&mut d, v);
    }
    d.f(e.read_only);
    let i = &e.identity;
    for v in [
        &i.kind,
        &i.principal_id,
        &i.arn,
        &i.account_id,
        &i.access_key_id,
        &i.user_name,
        &i.invoked_by,
        &i.identity_provider,
        &i.issuer_kind,
        &i.issuer_arn,
        &i.issuer_principal_id,
        &i.issuer_account_id,
        &i.issuer_user_name,
        &i.source_identity,
        &i.ec2_role_delivery,
    ] {
        s(&mut d, v);
    }
    d.n(i.creation_date);
    d.f(i.mfa_authenticated);
    d.f(Some(i.from_console));
    let q = &e.request;
    for v in [
        &q.role_arn,
        &q.role_session_name,
        &q.user_name,
        &q.name,
        &q.source_identity,
        &q.principal_arn,
        &q.role_name,
        &q.policy_arn,
        &q.policy_name,
        &q.group_name,
        &q.access_key_id,
        &q.status,
        &q.bucket_name,
        &q.key,
        &q.function_name,
        &q.secret_id,
        &q.instance_id,
        &q.target_principal,
    ] {
        s(&mut d, v);
    }
    d.n(q.duration_seconds);
    d.n(q.policy_size);
    s(&mut d, &q.new_user_name);
    s(&mut d, &q.passed_role);
    let p = &e.response;
    for v in [
        &p.credentials_key,
        &p.assumed_role_arn,
        &p.assumed_role_id,
        &p.federated_user_arn,
        &p.federated_user_id,
        &p.access_key_id,
        &p.access_key_user,
        &p.user_arn,
        &p.user_id,
        &p.user_name,
        &p.login_profile_user,
        &p.role_arn,
        &p.subject,
        &p.provider,
        &p.source_identity,
        &p.console_login,
        &p.instance_ids,
        &p.credential_id,
    ] {
        s(&mut d, v);
    }
    d.n(p.credentials_expiration);
    d.n(p.access_key_created);
    for r in &e.resources {
        d.bytes(Some(r.as_bytes()));
    }
    tape::fold_mul(d.h ^ d.k[1], d.k[2] ^ d.tag)
}

/// [`event_digest`] a field at a time, for a reader that has the fields but no [`Event`] (the
/// Parquet first pass, `ingest::parquet::light`): fields must come in [`event_digest`]'s order,
/// an absent one as `None` (or counted by [`EventDigest::skip`]); the result is then the
/// digest of the event those fields make.
pub(super) struct EventDigest(Digest);

impl EventDigest {
    pub(super) fn new() -> EventDigest {
        EventDigest(Digest { h: 1, k: tape::keys(), tag: 0, oversized: 0 })
    }
    pub(super) fn str(&mut self, v: Option<&str>) {
        self.0.bytes(v.map(str::as_bytes));
    }
    pub(super) fn num(&mut self, v: Option<i64>) {
        self.0.n(v);
    }
    pub(super) fn flag(&mut self, v: Option<bool>) {
        self.0.f(v);
    }
    /// `n` absent fields in a row (the same as `n` calls with `None`).
    pub(super) fn skip(&mut self, n: u64) {
        self.0.tag += n;
    }
    pub(super) fn finish(self) -> u64 {
        let d = self.0;
        tape::fold_mul(d.h ^ d.k[1], d.k[2] ^ d.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::tests::REC;

    /// The content digest of the single record in `doc`.
    fn digest_of(doc: &str) -> u64 {
        let mut b = doc.as_bytes().to_vec();
        let t =
            simd_json::to_tape_with_buffers(&mut b, &mut simd_json::Buffers::default()).unwrap();
        let r = tape::from_tape::<RawRecord>(&t.0).unwrap();
        let time = r.event_time.get().and_then(crate::time::parse_iso).unwrap();
        content_digest(&r, time).0
    }

    #[test]
    fn content_digest_ignores_order_and_spacing_but_not_values() {
        let a = digest_of(REC);
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(REC).unwrap();
        let reversed: serde_json::Map<String, serde_json::Value> =
            v.iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(a, digest_of(&serde_json::to_string_pretty(&reversed).unwrap()));
        for (from, to) in [
            ("\"AssumeRole\"", "\"AssumeRolX\""),
            ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLF"),
            ("\"900\"", "\"901\""),
            ("\"readOnly\":true", "\"readOnly\":false"),
            ("role/R\",\"accountId", "role/S\",\"accountId"),
        ] {
            assert!(REC.contains(from), "{from}");
            assert_ne!(a, digest_of(&REC.replace(from, to)), "{from} -> {to}");
        }
        // A value moved to another field is another record.
        let moved =
            REC.replace("\"roleSessionName\":\"s\"", "\"roleSessionName\":\"\",\"name\":\"s\"");
        assert_ne!(a, digest_of(&moved));
        // The id of the other credential a call made (what the plan deactivates) counts.
        for (field, inner) in [
            ("sSHPublicKey", "sSHPublicKeyId"),
            ("serviceSpecificCredential", "serviceSpecificCredentialId"),
            ("certificate", "certificateId"),
        ] {
            let with = |id: &str| {
                REC.replace(
                    "\"responseElements\":{",
                    &format!("\"responseElements\":{{\"{field}\":{{\"{inner}\":\"{id}\"}},"),
                )
            };
            assert_ne!(
                digest_of(&with("APKAEXAMPLE1")),
                digest_of(&with("APKAEXAMPLE2")),
                "{field}"
            );
            assert_ne!(a, digest_of(&with("APKAEXAMPLE1")), "{field}");
        }
    }
}

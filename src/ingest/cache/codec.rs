//! The cache's binary encoding: little-endian integers, length-prefixed strings, and the
//! normalized [`Event`] field by field.
//!
//! The reader never panics and never trusts a length: every read is bounds-checked against
//! what is left, so a truncated or scribbled cache file decodes to `None` (and the input file
//! is read again) instead of crashing or allocating what a length claims.

use crate::ingest::issuing::IssuingCall;
use crate::ingest::CredFacts;
use crate::model::{Event, Identity, Origin, Request, Response};

/// Appends values to a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

/// Where encoded bytes go: a [`Writer`], which may hand its bytes on as it fills
/// ([`super::Stream`]).
pub(crate) trait Sink {
    fn w(&mut self) -> &mut Writer;
    /// Called between records: the bytes may be handed on here.
    fn spill(&mut self) {}
    /// How many bytes were written so far.
    fn at(&self) -> u64;
    /// Writes each of `items` with `put`, the bytes handed on as they fill.
    fn put_all<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut put: impl FnMut(&mut Writer, T),
    ) where
        Self: Sized,
    {
        for x in items {
            put(self.w(), x);
            self.spill();
        }
    }
    /// Writes each of `items` as the `N` bytes `enc` gives: the bytes [`Sink::put_all`] would
    /// write with a `put` that wrote them, encoded a block of items at a time into their place
    /// (a quarter of a [`super::Stream`]'s chunk) rather than each pushed field by field. The
    /// run's table is 800,000 stubs at 1 GB of trail, written again by every run that adds
    /// files to it.
    fn put_fixed<T, const N: usize>(&mut self, items: &[T], enc: impl Fn(&T) -> [u8; N])
    where
        Self: Sized,
    {
        for part in items.chunks(((1 << 18) / N).max(1)) {
            let buf = &mut self.w().buf;
            let at = buf.len();
            buf.resize(at + part.len() * N, 0);
            for (rec, x) in buf[at..].chunks_exact_mut(N).zip(part) {
                rec.copy_from_slice(&enc(x));
            }
            self.spill();
        }
    }
}

impl Sink for Writer {
    fn w(&mut self) -> &mut Writer {
        self
    }
    fn at(&self) -> u64 {
        self.buf.len() as u64
    }
}

impl Writer {
    pub(crate) fn with_capacity(n: usize) -> Writer {
        Writer { buf: Vec::with_capacity(n) }
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u128(&mut self, v: u128) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
    }
    /// `None` is the length `u32::MAX`.
    pub(crate) fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.u32(u32::MAX),
        }
    }
    pub(crate) fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
            None => self.u8(0),
        }
    }
    pub(crate) fn opt_bool(&mut self, v: Option<bool>) {
        self.u8(match v {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
    }
}

/// Fixed-size little-endian fields of one record, read in order: the record's length is
/// checked once by whoever cut it (a read past its end panics), so no field needs a check.
pub(crate) struct Fields<'a>(pub(crate) &'a [u8]);

impl Fields<'_> {
    pub(crate) fn u32(&mut self) -> u32 {
        let (h, t) = self.0.split_at(4);
        self.0 = t;
        u32::from_le_bytes([h[0], h[1], h[2], h[3]])
    }
    pub(crate) fn u64(&mut self) -> u64 {
        let (h, t) = self.0.split_at(8);
        self.0 = t;
        u64::from_le_bytes(h.try_into().unwrap_or_default())
    }
    pub(crate) fn u8(&mut self) -> u8 {
        let (h, t) = self.0.split_at(1);
        self.0 = t;
        h[0]
    }
}

/// Reads values back; every method returns `None` past the end or on a malformed value.
pub(crate) struct Reader<'a> {
    pub(crate) b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b }
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.arr()?))
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.arr()?))
    }
    pub(crate) fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.arr()?))
    }
    pub(crate) fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.arr()?))
    }
    /// A count of items each at least `min` bytes long: `None` when the rest cannot hold them
    /// (so a scribbled count never reserves more than the file's size).
    pub(crate) fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.saturating_mul(min.max(1)) <= self.b.len()).then_some(n)
    }
    pub(crate) fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    pub(crate) fn opt_str(&mut self) -> Option<Option<&'a str>> {
        let n = self.u32()?;
        if n == u32::MAX {
            return Some(None);
        }
        std::str::from_utf8(self.take(n as usize)?).ok().map(Some)
    }
    fn opt_string(&mut self) -> Option<Option<String>> {
        Some(self.opt_str()?.map(str::to_string))
    }
    pub(crate) fn opt_i64(&mut self) -> Option<Option<i64>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.i64()?)),
            _ => None,
        }
    }
    pub(crate) fn opt_bool(&mut self) -> Option<Option<bool>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(false)),
            2 => Some(Some(true)),
            _ => None,
        }
    }
}

/// Writes a credential's facts (string indices of their table).
pub(super) fn put_facts(w: &mut Writer, f: &CredFacts) {
    for v in [f.kind, f.arn, f.account_id, f.principal_id, f.user_name, f.issuer_kind] {
        w.u32(v);
    }
    w.u32(f.issuer_arn);
    w.u32(f.source_identity);
    w.u8(u8::from(f.from_console));
    w.u8(u8::from(f.ec2_instance));
}

/// Reads facts [`put_facts`] wrote, each string index checked by `local`.
pub(super) fn get_facts(
    r: &mut Reader<'_>,
    local: impl Fn(u32) -> Option<u32>,
) -> Option<CredFacts> {
    let mut v = [0u32; 8];
    for x in &mut v {
        *x = local(r.u32()?)?;
    }
    Some(CredFacts {
        kind: v[0],
        arn: v[1],
        account_id: v[2],
        principal_id: v[3],
        user_name: v[4],
        issuer_kind: v[5],
        issuer_arn: v[6],
        source_identity: v[7],
        from_console: r.u8()? != 0,
        ec2_instance: r.u8()? != 0,
    })
}

/// Writes every field of `e` but its origin (the decoder is told where the event is). The
/// `eventID` is written as absent when the record had none (`has_id` false): its stand-in
/// `noid:<file>:<record>` names the file's position in this run's file list, which another
/// run with more or fewer files renumbers.
pub(crate) fn put_event(w: &mut Writer, e: &Event, has_id: bool) {
    // Destructured in full: a field added to the model fails to compile here until it is
    // written (and read back in `get_event`).
    let Event {
        id,
        time,
        version,
        source,
        name,
        region,
        source_ip,
        user_agent,
        error_code,
        error_message,
        read_only,
        event_type,
        category,
        request_id,
        recipient_account,
        shared_event_id,
        identity,
        request,
        response,
        resources,
        origin: _,
    } = e;
    w.opt_str(has_id.then_some(id.as_str()));
    w.i64(*time);
    w.opt_str(version.as_deref());
    w.str(source);
    w.str(name);
    for s in [region, source_ip, user_agent, error_code, error_message] {
        w.opt_str(s.as_deref());
    }
    w.opt_bool(*read_only);
    for s in [event_type, category, request_id, recipient_account, shared_event_id] {
        w.opt_str(s.as_deref());
    }
    put_identity(w, identity);
    put_request(w, request);
    put_response(w, response);
    w.u32(resources.len() as u32);
    for r in resources {
        w.str(r);
    }
}

fn put_identity(w: &mut Writer, i: &Identity) {
    let Identity {
        kind,
        principal_id,
        arn,
        account_id,
        access_key_id,
        user_name,
        invoked_by,
        identity_provider,
        issuer_kind,
        issuer_arn,
        issuer_principal_id,
        issuer_account_id,
        issuer_user_name,
        creation_date,
        mfa_authenticated,
        source_identity,
        ec2_role_delivery,
        from_console,
    } = i;
    for s in [
        kind,
        principal_id,
        arn,
        account_id,
        access_key_id,
        user_name,
        invoked_by,
        identity_provider,
        issuer_kind,
        issuer_arn,
        issuer_principal_id,
        issuer_account_id,
        issuer_user_name,
    ] {
        w.opt_str(s.as_deref());
    }
    w.opt_i64(*creation_date);
    w.opt_bool(*mfa_authenticated);
    w.opt_str(source_identity.as_deref());
    w.opt_str(ec2_role_delivery.as_deref());
    w.u8(u8::from(*from_console));
}

fn put_request(w: &mut Writer, q: &Request) {
    let Request {
        role_arn,
        role_session_name,
        duration_seconds,
        user_name,
        name,
        source_identity,
        principal_arn,
        role_name,
        policy_arn,
        policy_name,
        policy_size,
        new_user_name,
        group_name,
        access_key_id,
        status,
        bucket_name,
        key,
        function_name,
        secret_id,
        instance_id,
        target_principal,
        passed_role,
    } = q;
    w.opt_str(role_arn.as_deref());
    w.opt_str(role_session_name.as_deref());
    w.opt_i64(*duration_seconds);
    for s in [
        user_name,
        name,
        source_identity,
        principal_arn,
        role_name,
        policy_arn,
        policy_name,
        group_name,
        access_key_id,
        status,
        bucket_name,
        key,
        function_name,
        secret_id,
        instance_id,
        target_principal,
    ] {
        w.opt_str(s.as_deref());
    }
    w.opt_i64(*policy_size);
    w.opt_str(new_user_name.as_deref());
    w.opt_str(passed_role.as_deref());
}

fn put_response(w: &mut Writer, p: &Response) {
    let Response {
        credentials_key,
        credentials_expiration,
        assumed_role_arn,
        assumed_role_id,
        federated_user_arn,
        federated_user_id,
        access_key_id,
        access_key_user,
        access_key_created,
        user_arn,
        user_id,
        user_name,
        login_profile_user,
        role_arn,
        subject,
        provider,
        source_identity,
        console_login,
        instance_ids,
        credential_id,
    } = p;
    w.opt_str(credentials_key.as_deref());
    w.opt_i64(*credentials_expiration);
    for s in [
        assumed_role_arn,
        assumed_role_id,
        federated_user_arn,
        federated_user_id,
        access_key_id,
        access_key_user,
    ] {
        w.opt_str(s.as_deref());
    }
    w.opt_i64(*access_key_created);
    for s in [
        user_arn,
        user_id,
        user_name,
        login_profile_user,
        role_arn,
        subject,
        provider,
        source_identity,
        console_login,
        instance_ids,
        credential_id,
    ] {
        w.opt_str(s.as_deref());
    }
}

/// Reads an event [`put_event`] wrote, as read from record `origin.record` of file
/// `origin.file` of this run.
pub(crate) fn get_event(r: &mut Reader<'_>, origin: Origin) -> Option<Event> {
    let id = match r.opt_str()? {
        Some(id) => id.to_string(),
        None => crate::ingest::table::stand_in_name(origin.file, origin.record),
    };
    let time = r.i64()?;
    let version = r.opt_string()?;
    let source = r.str()?.to_string();
    let name = r.str()?.to_string();
    let region = r.opt_string()?;
    let source_ip = r.opt_string()?;
    let user_agent = r.opt_string()?;
    let error_code = r.opt_string()?;
    let error_message = r.opt_string()?;
    let read_only = r.opt_bool()?;
    let event_type = r.opt_string()?;
    let category = r.opt_string()?;
    let request_id = r.opt_string()?;
    let recipient_account = r.opt_string()?;
    let shared_event_id = r.opt_string()?;
    let identity = get_identity(r)?;
    let request = Request {
        role_arn: r.opt_string()?,
        role_session_name: r.opt_string()?,
        duration_seconds: r.opt_i64()?,
        user_name: r.opt_string()?,
        name: r.opt_string()?,
        source_identity: r.opt_string()?,
        principal_arn: r.opt_string()?,
        role_name: r.opt_string()?,
        policy_arn: r.opt_string()?,
        policy_name: r.opt_string()?,
        group_name: r.opt_string()?,
        access_key_id: r.opt_string()?,
        status: r.opt_string()?,
        bucket_name: r.opt_string()?,
        key: r.opt_string()?,
        function_name: r.opt_string()?,
        secret_id: r.opt_string()?,
        instance_id: r.opt_string()?,
        target_principal: r.opt_string()?,
        policy_size: r.opt_i64()?,
        new_user_name: r.opt_string()?,
        passed_role: r.opt_string()?,
    };
    let response = Response {
        credentials_key: r.opt_string()?,
        credentials_expiration: r.opt_i64()?,
        assumed_role_arn: r.opt_string()?,
        assumed_role_id: r.opt_string()?,
        federated_user_arn: r.opt_string()?,
        federated_user_id: r.opt_string()?,
        access_key_id: r.opt_string()?,
        access_key_user: r.opt_string()?,
        access_key_created: r.opt_i64()?,
        user_arn: r.opt_string()?,
        user_id: r.opt_string()?,
        user_name: r.opt_string()?,
        login_profile_user: r.opt_string()?,
        role_arn: r.opt_string()?,
        subject: r.opt_string()?,
        provider: r.opt_string()?,
        source_identity: r.opt_string()?,
        console_login: r.opt_string()?,
        instance_ids: r.opt_string()?,
        credential_id: r.opt_string()?,
    };
    let n = r.count(4)?;
    let mut resources = Vec::with_capacity(n);
    for _ in 0..n {
        resources.push(r.str()?.to_string());
    }
    Some(Event {
        id,
        time,
        version,
        source,
        name,
        region,
        source_ip,
        user_agent,
        error_code,
        error_message,
        read_only,
        event_type,
        category,
        request_id,
        recipient_account,
        shared_event_id,
        identity,
        request,
        response,
        resources,
        origin,
    })
}

/// Reads an identity [`put_identity`] wrote.
fn get_identity(r: &mut Reader<'_>) -> Option<Identity> {
    Some(Identity {
        kind: r.opt_string()?,
        principal_id: r.opt_string()?,
        arn: r.opt_string()?,
        account_id: r.opt_string()?,
        access_key_id: r.opt_string()?,
        user_name: r.opt_string()?,
        invoked_by: r.opt_string()?,
        identity_provider: r.opt_string()?,
        issuer_kind: r.opt_string()?,
        issuer_arn: r.opt_string()?,
        issuer_principal_id: r.opt_string()?,
        issuer_account_id: r.opt_string()?,
        issuer_user_name: r.opt_string()?,
        creation_date: r.opt_i64()?,
        mfa_authenticated: r.opt_bool()?,
        source_identity: r.opt_string()?,
        ec2_role_delivery: r.opt_string()?,
        from_console: match r.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        },
    })
}

/// An issuing call's string fields in the order [`put_issuing`] writes them, in runs between
/// its other fields: after its id, time and name; the identity's (then three of the issuer's
/// the graph does not keep, and scalars); the request's; the response's after its key and
/// expiration; the response's after the created key's date.
mod layout {
    use crate::ingest::issuing::Field as F;
    pub(super) const CALL: [F; 5] =
        [F::SourceIp, F::ErrorCode, F::ErrorMessage, F::RecipientAccount, F::SharedEventId];
    pub(super) const IDENTITY: [F; 10] = [
        F::Kind,
        F::PrincipalId,
        F::Arn,
        F::AccountId,
        F::AccessKeyId,
        F::UserName,
        F::InvokedBy,
        F::IdentityProvider,
        F::IssuerKind,
        F::IssuerArn,
    ];
    pub(super) const REQUEST: [F; 5] =
        [F::RoleArn, F::RoleSessionName, F::RequestUserName, F::PrincipalArn, F::TargetPrincipal];
    pub(super) const ISSUED: [F; 6] = [
        F::AssumedRoleArn,
        F::AssumedRoleId,
        F::FederatedUserArn,
        F::FederatedUserId,
        F::CreatedKeyId,
        F::AccessKeyUser,
    ];
    pub(super) const LAST: [F; 5] =
        [F::Provider, F::Subject, F::UserArn, F::ResponseUserName, F::LoginProfileUser];
    /// After the response: the request's role name (trust-policy calls), added later.
    pub(super) const ROLE: [F; 1] = [F::RequestRoleName];
    /// Then the instances a `RunInstances` launched, added later still.
    pub(super) const LAUNCH: [F; 1] = [F::InstanceIds];
    /// Then the function a Lambda call changed.
    pub(super) const FUNCTION: [F; 1] = [F::FunctionName];
    /// Then the name an `UpdateUser` gives the user.
    pub(super) const RENAME: [F; 1] = [F::NewUserName];
    /// Then the call's region.
    pub(super) const REGION: [F; 1] = [F::Region];
    /// Then the source identity the request sets.
    pub(super) const SOURCE: [F; 1] = [F::RequestSourceIdentity];
}

/// Writes every field of an issuing call but its origin (the decoder is told where it is):
/// only what the session graph reads, a third of a whole event's bytes and allocations. The
/// `eventID` is written as it is (a stand-in too: `extend` renames those of a renumbered file).
///
/// The layout is that of a call's fields as [`put_identity`] and its neighbours write them,
/// with the identity's fields the graph does not keep written as absent ([`layout`]).
pub(super) fn put_issuing(w: &mut Writer, c: &IssuingCall) {
    use crate::ingest::issuing::Field as F;
    let s = c.strs();
    let run = |w: &mut Writer, fields: &[F]| fields.iter().for_each(|&f| w.opt_str(s[f as usize]));
    w.str(c.id());
    w.i64(c.time);
    w.str(c.name());
    run(w, &layout::CALL);
    run(w, &layout::IDENTITY);
    for _ in 0..3 {
        w.opt_str(None);
    }
    w.opt_i64(c.creation_date);
    // MFA, not kept; the caller's sourceIdentity.
    w.opt_bool(None);
    run(w, &[F::SourceIdentity]);
    run(w, &[F::Ec2RoleDelivery]);
    w.u8(u8::from(c.from_console));
    run(w, &layout::REQUEST);
    run(w, &[F::CredentialsKey]);
    w.opt_i64(c.credentials_expiration);
    run(w, &layout::ISSUED);
    w.opt_i64(c.access_key_created);
    run(w, &layout::LAST);
    run(w, &layout::ROLE);
    run(w, &layout::LAUNCH);
    run(w, &layout::FUNCTION);
    run(w, &layout::RENAME);
    run(w, &layout::REGION);
    run(w, &layout::SOURCE);
}

/// Reads an issuing call [`put_issuing`] wrote, found at `origin`.
pub(super) fn get_issuing<'a>(r: &mut Reader<'a>, origin: Origin) -> Option<IssuingCall> {
    use crate::ingest::issuing::{Field as F, FIELDS};
    // Fields are read in the order they are written here, which is `put_issuing`'s.
    fn read<'a>(r: &mut Reader<'a>, s: &mut [Option<&'a str>; FIELDS], fields: &[F]) -> Option<()> {
        for &f in fields {
            s[f as usize] = r.opt_str()?;
        }
        Some(())
    }
    let mut s = [None; FIELDS];
    let mut run = |r: &mut Reader<'a>, fields: &[F]| read(r, &mut s, fields);
    let id = r.str()?;
    let time = r.i64()?;
    let name = r.str()?;
    run(r, &layout::CALL)?;
    run(r, &layout::IDENTITY)?;
    // The issuer's principal id, account and user name, not kept.
    for _ in 0..3 {
        r.opt_str()?;
    }
    let creation_date = r.opt_i64()?;
    r.opt_bool()?;
    run(r, &[F::SourceIdentity])?;
    run(r, &[F::Ec2RoleDelivery])?;
    let from_console = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    run(r, &layout::REQUEST)?;
    run(r, &[F::CredentialsKey])?;
    let credentials_expiration = r.opt_i64()?;
    run(r, &layout::ISSUED)?;
    let access_key_created = r.opt_i64()?;
    run(r, &layout::LAST)?;
    run(r, &layout::ROLE)?;
    run(r, &layout::LAUNCH)?;
    run(r, &layout::FUNCTION)?;
    run(r, &layout::RENAME)?;
    run(r, &layout::REGION)?;
    run(r, &layout::SOURCE)?;
    s[F::Id as usize] = Some(id);
    s[F::Name as usize] = Some(name);
    let mut c = IssuingCall::new(time, origin, &s);
    c.creation_date = creation_date;
    c.credentials_expiration = credentials_expiration;
    c.access_key_created = access_key_created;
    c.from_console = from_console;
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event with every field set, each to a value of its own.
    fn full() -> Event {
        let mut n = 0;
        let mut s = || {
            n += 1;
            Some(format!("v{n}-é\u{0}\"x"))
        };
        Event {
            id: s().unwrap(),
            time: -5,
            version: s(),
            source: s().unwrap(),
            name: s().unwrap(),
            region: s(),
            source_ip: s(),
            user_agent: s(),
            error_code: s(),
            error_message: s(),
            read_only: Some(false),
            event_type: s(),
            category: s(),
            request_id: s(),
            recipient_account: s(),
            shared_event_id: s(),
            identity: Identity {
                kind: s(),
                principal_id: s(),
                arn: s(),
                account_id: s(),
                access_key_id: s(),
                user_name: s(),
                invoked_by: s(),
                identity_provider: s(),
                issuer_kind: s(),
                issuer_arn: s(),
                issuer_principal_id: s(),
                issuer_account_id: s(),
                issuer_user_name: s(),
                creation_date: Some(i64::MIN + 1),
                mfa_authenticated: Some(true),
                source_identity: s(),
                ec2_role_delivery: s(),
                from_console: true,
            },
            request: Request {
                role_arn: s(),
                role_session_name: s(),
                duration_seconds: Some(3600),
                user_name: s(),
                name: s(),
                source_identity: s(),
                principal_arn: s(),
                role_name: s(),
                policy_arn: s(),
                policy_name: s(),
                policy_size: Some(2014),
                new_user_name: s(),
                group_name: s(),
                access_key_id: s(),
                status: s(),
                bucket_name: s(),
                key: s(),
                function_name: s(),
                secret_id: s(),
                instance_id: s(),
                target_principal: s(),
                passed_role: s(),
            },
            response: Response {
                credentials_key: s(),
                credentials_expiration: Some(7),
                assumed_role_arn: s(),
                assumed_role_id: s(),
                federated_user_arn: s(),
                federated_user_id: s(),
                access_key_id: s(),
                access_key_user: s(),
                access_key_created: Some(8),
                user_arn: s(),
                user_id: s(),
                user_name: s(),
                login_profile_user: s(),
                role_arn: s(),
                subject: s(),
                provider: s(),
                source_identity: s(),
                console_login: s(),
                instance_ids: s(),
                credential_id: s(),
            },
            resources: vec![s().unwrap(), String::new(), "x".repeat(70_000)],
            origin: Origin { file: 3, record: 9 },
        }
    }

    #[test]
    fn every_field_comes_back() {
        let origin = Origin { file: 3, record: 9 };
        for e in [full(), Event { origin, ..Event::default() }] {
            let mut w = Writer::default();
            put_event(&mut w, &e, true);
            let mut r = Reader::new(&w.buf);
            assert_eq!(get_event(&mut r, origin), Some(e));
            assert!(r.b.is_empty(), "nothing left over");
        }
    }

    /// Each field the graph reads is kept under its own name (`full` gives every field a
    /// value of its own, so two fields swapped fail), and an issuing call is written in the
    /// layout caches already hold: that of its fields as an event's writers lay them out, with
    /// the identity's fields the graph does not keep written as absent.
    #[test]
    fn an_issuing_call_keeps_each_field_under_its_name_in_the_cached_layout() {
        use crate::ingest::issuing::{for_graph, Field as F, FIELDS};
        let e = full();
        let c = for_graph(e.clone());
        let (i, q, p) = (&e.identity, &e.request, &e.response);
        let want: [(F, &Option<String>); FIELDS - 2] = [
            (F::SourceIp, &e.source_ip),
            (F::ErrorCode, &e.error_code),
            (F::ErrorMessage, &e.error_message),
            (F::RecipientAccount, &e.recipient_account),
            (F::SharedEventId, &e.shared_event_id),
            (F::Kind, &i.kind),
            (F::PrincipalId, &i.principal_id),
            (F::Arn, &i.arn),
            (F::AccountId, &i.account_id),
            (F::AccessKeyId, &i.access_key_id),
            (F::UserName, &i.user_name),
            (F::InvokedBy, &i.invoked_by),
            (F::IdentityProvider, &i.identity_provider),
            (F::IssuerKind, &i.issuer_kind),
            (F::IssuerArn, &i.issuer_arn),
            (F::Ec2RoleDelivery, &i.ec2_role_delivery),
            (F::RoleArn, &q.role_arn),
            (F::RoleSessionName, &q.role_session_name),
            (F::RequestUserName, &q.user_name),
            (F::PrincipalArn, &q.principal_arn),
            (F::TargetPrincipal, &q.target_principal),
            (F::CredentialsKey, &p.credentials_key),
            (F::AssumedRoleArn, &p.assumed_role_arn),
            (F::AssumedRoleId, &p.assumed_role_id),
            (F::FederatedUserArn, &p.federated_user_arn),
            (F::FederatedUserId, &p.federated_user_id),
            (F::CreatedKeyId, &p.access_key_id),
            (F::AccessKeyUser, &p.access_key_user),
            (F::Provider, &p.provider),
            (F::Subject, &p.subject),
            (F::UserArn, &p.user_arn),
            (F::ResponseUserName, &p.user_name),
            (F::LoginProfileUser, &p.login_profile_user),
            (F::RequestRoleName, &q.role_name),
            (F::InstanceIds, &p.instance_ids),
            (F::FunctionName, &q.function_name),
            (F::NewUserName, &q.new_user_name),
            (F::Region, &e.region),
            (F::SourceIdentity, &i.source_identity),
            (F::RequestSourceIdentity, &q.source_identity),
        ];
        let mut seen = [false; FIELDS];
        seen[F::Id as usize] = true;
        seen[F::Name as usize] = true;
        for (f, v) in want {
            assert!(v.is_some(), "{f:?}: full() sets it");
            assert_eq!(c.get(f), v.as_deref(), "{f:?}");
            assert!(!std::mem::replace(&mut seen[f as usize], true), "{f:?} twice");
        }
        assert!(seen.iter().all(|&s| s), "every field checked");
        assert_eq!(
            (c.id(), c.name(), c.time, c.origin),
            (e.id.as_str(), e.name.as_str(), e.time, e.origin)
        );
        assert_eq!(
            (c.creation_date, c.credentials_expiration, c.access_key_created, c.from_console),
            (i.creation_date, p.credentials_expiration, p.access_key_created, i.from_console)
        );
        assert_eq!(c.as_use().ec2_instance, i.ec2_role_delivery.is_some());

        let mut w = Writer::default();
        put_issuing(&mut w, &c);
        let mut old = Writer::default();
        old.str(&e.id);
        old.i64(e.time);
        old.str(&e.name);
        for s in [&e.source_ip, &e.error_code, &e.error_message, &e.recipient_account] {
            old.opt_str(s.as_deref());
        }
        old.opt_str(e.shared_event_id.as_deref());
        let kept = Identity {
            issuer_principal_id: None,
            issuer_account_id: None,
            issuer_user_name: None,
            mfa_authenticated: None,
            ..i.clone()
        };
        put_identity(&mut old, &kept);
        for s in [&q.role_arn, &q.role_session_name, &q.user_name, &q.principal_arn] {
            old.opt_str(s.as_deref());
        }
        old.opt_str(q.target_principal.as_deref());
        old.opt_str(p.credentials_key.as_deref());
        old.opt_i64(p.credentials_expiration);
        for s in [&p.assumed_role_arn, &p.assumed_role_id, &p.federated_user_arn] {
            old.opt_str(s.as_deref());
        }
        for s in [&p.federated_user_id, &p.access_key_id, &p.access_key_user] {
            old.opt_str(s.as_deref());
        }
        old.opt_i64(p.access_key_created);
        for s in [&p.provider, &p.subject, &p.user_arn, &p.user_name, &p.login_profile_user] {
            old.opt_str(s.as_deref());
        }
        old.opt_str(q.role_name.as_deref());
        old.opt_str(p.instance_ids.as_deref());
        old.opt_str(q.function_name.as_deref());
        old.opt_str(q.new_user_name.as_deref());
        old.opt_str(e.region.as_deref());
        old.opt_str(q.source_identity.as_deref());
        assert!(w.buf == old.buf, "the cached layout");
        let mut r = Reader::new(&w.buf);
        assert_eq!(get_issuing(&mut r, c.origin), Some(c.clone()));
        assert!(r.b.is_empty());
    }

    /// The cached layout names every field of an issuing call once: a field added to
    /// [`crate::ingest::issuing::Field`] and not to [`layout`] fails here.
    #[test]
    fn the_issuing_call_layout_names_every_field_once() {
        use crate::ingest::issuing::{Field as F, FIELDS};
        let mut seen = [0u32; FIELDS];
        let written = [F::Id, F::Name, F::Ec2RoleDelivery, F::CredentialsKey, F::SourceIdentity];
        for list in [
            &written[..],
            &layout::CALL,
            &layout::IDENTITY,
            &layout::REQUEST,
            &layout::ISSUED,
            &layout::LAST,
            &layout::ROLE,
            &layout::LAUNCH,
            &layout::FUNCTION,
            &layout::RENAME,
            &layout::REGION,
            &layout::SOURCE,
        ] {
            for &f in list {
                seen[f as usize] += 1;
            }
        }
        assert_eq!(seen, [1; FIELDS]);
        let mut w = Writer::default();
        let call = IssuingCall::default();
        put_issuing(&mut w, &call);
        assert_eq!(get_issuing(&mut Reader::new(&w.buf), call.origin), Some(call));
    }

    /// Absent and empty fields stay apart; renaming a call changes its id alone.
    #[test]
    fn an_issuing_call_tells_absent_from_empty_and_renames_alone() {
        use crate::ingest::issuing::{Field as F, FIELDS};
        let mut s = [None; FIELDS];
        s[F::Id as usize] = Some("noid:1:2");
        s[F::Name as usize] = Some("AssumeRole");
        s[F::ErrorCode as usize] = Some("");
        s[F::LoginProfileUser as usize] = Some("last");
        let mut c = IssuingCall::new(5, Origin { file: 1, record: 2 }, &s);
        assert_eq!(c.get(F::ErrorCode), Some(""));
        assert!(c.failed(), "an empty errorCode is still one");
        assert_eq!(c.get(F::SourceIp), None);
        assert_eq!(c.get(F::LoginProfileUser), Some("last"));
        c.set_id("noid:4:2");
        s[F::Id as usize] = Some("noid:4:2");
        assert_eq!(c.strs(), s);
        assert_eq!(c, IssuingCall::new(5, Origin { file: 1, record: 2 }, &s));
        let none = IssuingCall::default();
        assert_eq!((none.id(), none.name(), none.get(F::SourceIp)), ("", "", None));
    }

    #[test]
    fn a_record_without_id_gets_the_stand_in_of_where_it_is_now() {
        let mut w = Writer::default();
        put_event(&mut w, &full(), false);
        let e = get_event(&mut Reader::new(&w.buf), Origin { file: 12, record: 4 }).unwrap();
        assert_eq!(e.id, "noid:12:4");
        assert_eq!(e.origin, Origin { file: 12, record: 4 });
    }

    #[test]
    fn cut_or_scribbled_bytes_never_panic() {
        let mut w = Writer::default();
        put_event(&mut w, &full(), true);
        let origin = Origin::default();
        for cut in 0..w.buf.len() {
            assert_eq!(get_event(&mut Reader::new(&w.buf[..cut]), origin), None, "cut at {cut}");
        }
        for at in (0..w.buf.len()).step_by(7) {
            let mut b = w.buf.clone();
            b[at] ^= 0xA5;
            // Decodes to something or to nothing, never a panic or a huge allocation.
            let _ = get_event(&mut Reader::new(&b), origin);
        }
    }
}

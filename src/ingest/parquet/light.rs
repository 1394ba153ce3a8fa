//! The Parquet first pass without an [`Event`](crate::model::Event) per row: the [`LIGHT`]
//! columns of a chunk as borrowed strings ([`Columns`]), one row of them ([`Row`]), its content
//! digest, and [`FileScan::parquet_row`], which makes the row's stub and credential facts the
//! way [`FileScan::event`] does for an event, interning straight from the column buffers.

#[cfg(doc)]
use super::LIGHT;
use super::{seconds, type_err};
use crate::ingest::record_digest::EventDigest;
use crate::ingest::sink::FileScan;
use crate::ingest::table::{id128, CredFacts, Keyed};
use crate::ingest::{Stub, FAILED, HAS_ID, INVOKED_BY, NONE, NO_TIME};
use polars::prelude::DataFrame;

/// A string column of a chunk: `None` for a null; empty when the file has no such column.
type Strs<'a> = Vec<Option<&'a str>>;

/// The [`LIGHT`] columns of a chunk, borrowed from its `DataFrame`.
pub(super) struct Columns<'a> {
    id: Strs<'a>,
    time: Vec<Option<i64>>,
    source: Strs<'a>,
    name: Strs<'a>,
    region: Strs<'a>,
    source_ip: Strs<'a>,
    error_code: Strs<'a>,
    recipient_account: Strs<'a>,
    kind: Strs<'a>,
    principal_id: Strs<'a>,
    arn: Strs<'a>,
    account_id: Strs<'a>,
    access_key_id: Strs<'a>,
    user_name: Strs<'a>,
    invoked_by: Strs<'a>,
    issuer_kind: Strs<'a>,
    issuer_arn: Strs<'a>,
    source_identity: Strs<'a>,
    created: Vec<Option<i64>>,
    ec2_role_delivery: Strs<'a>,
    from_console: Vec<Option<bool>>,
}

/// One row of [`Columns`] with an `event_time`: the fields of the event the row makes (that
/// [`super::read`] would make when the row is not read in full). Absent and empty strings
/// are `None` (`""` for the id, source and name, which are not optional in the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Row<'a> {
    pub(super) record: u32,
    pub(super) id: &'a str,
    pub(super) time: i64,
    pub(super) source: &'a str,
    pub(super) name: &'a str,
    pub(super) region: Option<&'a str>,
    pub(super) source_ip: Option<&'a str>,
    pub(super) error_code: Option<&'a str>,
    pub(super) recipient_account: Option<&'a str>,
    pub(super) kind: Option<&'a str>,
    pub(super) principal_id: Option<&'a str>,
    pub(super) arn: Option<&'a str>,
    pub(super) account_id: Option<&'a str>,
    pub(super) access_key_id: Option<&'a str>,
    pub(super) user_name: Option<&'a str>,
    pub(super) invoked_by: Option<&'a str>,
    pub(super) issuer_kind: Option<&'a str>,
    pub(super) issuer_arn: Option<&'a str>,
    pub(super) source_identity: Option<&'a str>,
    pub(super) created: Option<i64>,
    pub(super) ec2_role_delivery: Option<&'a str>,
    pub(super) from_console: bool,
}

impl<'a> Columns<'a> {
    /// The columns of `df` (a chunk's [`LIGHT`] columns), with its `event_name` column
    /// already read as `names`.
    ///
    /// # Errors
    /// A column of the wrong type (the same message as [`super::read`]'s).
    pub(super) fn of(df: &'a DataFrame, names: Strs<'a>) -> Result<Columns<'a>, String> {
        let s = |name: &str| -> Result<Strs<'a>, String> {
            let Ok(col) = df.column(name) else { return Ok(Vec::new()) };
            Ok(col.str().map_err(|e| type_err(name, e))?.iter().collect())
        };
        let t = |name: &str| -> Result<Vec<Option<i64>>, String> {
            df.column(name).map_or(Ok(Vec::new()), |col| seconds(col, name))
        };
        // In schema order, so that a table with several bad columns names the same one as
        // `read` does.
        Ok(Columns {
            id: s("event_id")?,
            time: t("event_time")?,
            source: s("event_source")?,
            name: names,
            region: s("aws_region")?,
            source_ip: s("source_ip")?,
            error_code: s("error_code")?,
            recipient_account: s("recipient_account_id")?,
            kind: s("identity_type")?,
            principal_id: s("principal_id")?,
            arn: s("principal_arn")?,
            account_id: s("account_id")?,
            access_key_id: s("access_key_id")?,
            user_name: s("user_name")?,
            invoked_by: s("invoked_by")?,
            issuer_kind: s("session_issuer_type")?,
            issuer_arn: s("session_issuer_arn")?,
            created: t("session_created")?,
            source_identity: s("source_identity")?,
            ec2_role_delivery: s("ec2_role_delivery")?,
            from_console: match df.column("session_credential_from_console") {
                Ok(col) => col
                    .bool()
                    .map_err(|e| type_err("session_credential_from_console", e))?
                    .iter()
                    .collect(),
                Err(_) => Vec::new(),
            },
        })
    }

    /// Row `i` (file row `record`), or `None` when its `event_time` is null.
    pub(super) fn row(&self, i: usize, record: u32) -> Option<Row<'a>> {
        let o = |c: &Strs<'a>| c.get(i).copied().flatten().filter(|s| !s.is_empty());
        let req = |c: &Strs<'a>| o(c).unwrap_or("");
        Some(Row {
            record,
            id: req(&self.id),
            time: self.time.get(i).copied().flatten()?,
            source: req(&self.source),
            name: req(&self.name),
            region: o(&self.region),
            source_ip: o(&self.source_ip),
            error_code: o(&self.error_code),
            recipient_account: o(&self.recipient_account),
            kind: o(&self.kind),
            principal_id: o(&self.principal_id),
            arn: o(&self.arn),
            account_id: o(&self.account_id),
            access_key_id: o(&self.access_key_id),
            user_name: o(&self.user_name),
            invoked_by: o(&self.invoked_by),
            issuer_kind: o(&self.issuer_kind),
            issuer_arn: o(&self.issuer_arn),
            source_identity: o(&self.source_identity),
            created: self.created.get(i).copied().flatten(),
            ec2_role_delivery: o(&self.ec2_role_delivery),
            from_console: self.from_console.get(i).copied().flatten().unwrap_or(false),
        })
    }
}

impl Row<'_> {
    /// False for a row exported without an eventID: it is then named by its Parquet row.
    pub(super) fn has_id(&self) -> bool {
        !self.id.is_empty() && !self.id.starts_with("noid:")
    }

    /// [`event_digest`](crate::ingest::record_digest::event_digest) of the event the row makes
    /// in file `file`, field by field in its order; the columns not in [`LIGHT`] are absent.
    pub(super) fn digest(&self, file: u32) -> u64 {
        let mut d = EventDigest::new();
        let noid;
        let id = if self.has_id() {
            self.id
        } else {
            noid = crate::ingest::table::stand_in_name(file, self.record);
            &noid
        };
        d.str(Some(id));
        d.num(Some(self.time));
        d.str(Some(self.source));
        d.str(Some(self.name));
        d.skip(1); // version
        d.str(self.region);
        d.str(self.source_ip);
        d.skip(1); // user agent
        d.str(self.error_code);
        d.skip(4); // error message, event type, category, request id
        d.str(self.recipient_account);
        d.skip(1); // shared event id
        d.flag(None); // read only
        for v in [
            self.kind,
            self.principal_id,
            self.arn,
            self.account_id,
            self.access_key_id,
            self.user_name,
            self.invoked_by,
        ] {
            d.str(v);
        }
        d.skip(1); // identity provider
        d.str(self.issuer_kind);
        d.str(self.issuer_arn);
        d.skip(3); // issuer principal id, account id, user name
        d.str(self.source_identity);
        d.str(self.ec2_role_delivery);
        d.num(self.created);
        d.flag(None); // MFA
        d.flag(Some(self.from_console));
        d.skip(18 + 4); // the request's strings, duration, policy size, new user name, role
        d.skip(18 + 2); // the response's strings, expiration and key creation date
        d.finish()
    }
}

impl FileScan<'_> {
    /// [`FileScan::event`] for a Parquet row that is not an issuing call, read from its
    /// [`LIGHT`] columns: the same stub, digest, credential facts and interned strings (in
    /// the same order) as for the event [`super::read`] makes of it, without making it.
    pub(super) fn parquet_row(&mut self, r: &Row<'_>) {
        let idx = r.record;
        self.records += 1;
        self.kept += 1;
        let mut flags = 0u8;
        let id = if r.has_id() {
            flags |= HAS_ID;
            id128(r.id)
        } else {
            crate::ingest::table::stand_in(self.file, idx)
        };
        if r.error_code.is_some() {
            flags |= FAILED;
        }
        if r.invoked_by.is_some() {
            flags |= INVOKED_BY;
        }
        let created = r.created.unwrap_or(NO_TIME);
        let digest = r.digest(self.file);
        let acc = &mut *self.acc;
        let key = acc.strings.opt(r.access_key_id);
        if key != NONE && !acc.inventory_only {
            let here = (r.time, crate::ingest::sink::call_id(flags, id), self.file, idx);
            // Interned in `CredFacts::of_identity`'s order.
            acc.first_call((key, created), here, |s| CredFacts {
                kind: s.opt(r.kind),
                arn: s.opt(r.arn),
                account_id: s.opt(r.account_id),
                principal_id: s.opt(r.principal_id),
                user_name: s.opt(r.user_name),
                issuer_kind: s.opt(r.issuer_kind),
                issuer_arn: s.opt(r.issuer_arn),
                source_identity: s.opt(r.source_identity),
                from_console: r.from_console,
                ec2_instance: r.ec2_role_delivery.is_some(),
            });
        }
        let s = &mut acc.strings;
        let stub = Stub {
            time: r.time,
            created,
            file: self.file,
            record: idx,
            key,
            ip: s.opt(r.source_ip),
            account: s.opt(r.recipient_account.or(r.account_id)),
            region: s.opt(r.region),
            source: s.opt(Some(r.source).filter(|s| !s.is_empty())),
            principal: s.opt(r.arn.or(r.principal_id)),
            flags,
        };
        acc.stubs.push(Keyed { id, digest: digest.max(1), s: stub });
    }
}

//! `trailhound export` and `--events-out`: the normalized events as a table.
//!
//! One fixed schema (column names below) for all three formats. Parquet and CSV are written
//! by polars from a `DataFrame`; JSON Lines is written row by row with serde (the same
//! columns, one object per line), which keeps polars' JSON feature and its second JSON parser
//! out of the build. Times are UTC: `Datetime(ms)` columns in Parquet, ISO 8601 in CSV and
//! JSON Lines. `resources` holds the resource ARNs joined with `;`.

use crate::model::Event;
use crate::time::fmt_iso;
use anyhow::{bail, Context, Result};
use polars::prelude::{
    Column, CsvWriter, DataFrame, DataType, NamedFrom, ParquetWriter, SerWriter, Series, TimeUnit,
};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Output table format, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Parquet,
    Csv,
    JsonLines,
}

impl TableFormat {
    /// The format for a path's extension (`.parquet`, `.csv`, `.jsonl`/`.ndjson`).
    ///
    /// # Errors
    /// An unknown extension.
    pub fn from_path(p: &Path) -> Result<TableFormat> {
        match p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("parquet") => Ok(TableFormat::Parquet),
            Some("csv") => Ok(TableFormat::Csv),
            Some("jsonl") | Some("ndjson") => Ok(TableFormat::JsonLines),
            _ => bail!(
                "cannot tell the table format of {}: use a .parquet, .csv or .jsonl extension",
                p.display()
            ),
        }
    }
}

/// How a column is read from an [`Event`] and written back into one.
#[derive(Clone, Copy)]
pub enum Access {
    Str(fn(&Event) -> Option<&str>, fn(&mut Event, String)),
    /// Unix seconds in the model; `Datetime(ms, UTC)` in Parquet, ISO 8601 in CSV/JSON Lines.
    Time(fn(&Event) -> Option<i64>, fn(&mut Event, i64)),
    Bool(fn(&Event) -> Option<bool>, fn(&mut Event, bool)),
    Int(fn(&Event) -> Option<i64>, fn(&mut Event, i64)),
}

/// The export schema: every field of the normalized [`Event`], so that `sessions`, `blast`
/// and `plan` can start from exported Parquet (SPEC §7) and reach the same result as from
/// the JSON it came from. `file` and `record` (the source of each row) are written after
/// these and are not read back: a row read from Parquet is traced to the Parquet file.
pub const COLUMNS: &[(&str, Access)] = &[
    ("event_id", Access::Str(|e| Some(&e.id), |e, v| e.id = v)),
    ("event_time", Access::Time(|e| Some(e.time), |e, v| e.time = v)),
    ("event_version", Access::Str(|e| e.version.as_deref(), |e, v| e.version = Some(v))),
    ("event_source", Access::Str(|e| Some(&e.source), |e, v| e.source = v)),
    ("event_name", Access::Str(|e| Some(&e.name), |e, v| e.name = v)),
    ("aws_region", Access::Str(|e| e.region.as_deref(), |e, v| e.region = Some(v))),
    ("source_ip", Access::Str(|e| e.source_ip.as_deref(), |e, v| e.source_ip = Some(v))),
    ("user_agent", Access::Str(|e| e.user_agent.as_deref(), |e, v| e.user_agent = Some(v))),
    ("error_code", Access::Str(|e| e.error_code.as_deref(), |e, v| e.error_code = Some(v))),
    (
        "error_message",
        Access::Str(|e| e.error_message.as_deref(), |e, v| e.error_message = Some(v)),
    ),
    ("read_only", Access::Bool(|e| e.read_only, |e, v| e.read_only = Some(v))),
    ("event_type", Access::Str(|e| e.event_type.as_deref(), |e, v| e.event_type = Some(v))),
    ("event_category", Access::Str(|e| e.category.as_deref(), |e, v| e.category = Some(v))),
    ("request_id", Access::Str(|e| e.request_id.as_deref(), |e, v| e.request_id = Some(v))),
    (
        "recipient_account_id",
        Access::Str(|e| e.recipient_account.as_deref(), |e, v| e.recipient_account = Some(v)),
    ),
    (
        "shared_event_id",
        Access::Str(|e| e.shared_event_id.as_deref(), |e, v| e.shared_event_id = Some(v)),
    ),
    (
        "identity_type",
        Access::Str(|e| e.identity.kind.as_deref(), |e, v| e.identity.kind = Some(v)),
    ),
    (
        "principal_id",
        Access::Str(
            |e| e.identity.principal_id.as_deref(),
            |e, v| e.identity.principal_id = Some(v),
        ),
    ),
    ("principal_arn", Access::Str(|e| e.identity.arn.as_deref(), |e, v| e.identity.arn = Some(v))),
    (
        "account_id",
        Access::Str(|e| e.identity.account_id.as_deref(), |e, v| e.identity.account_id = Some(v)),
    ),
    (
        "access_key_id",
        Access::Str(
            |e| e.identity.access_key_id.as_deref(),
            |e, v| e.identity.access_key_id = Some(v),
        ),
    ),
    (
        "user_name",
        Access::Str(|e| e.identity.user_name.as_deref(), |e, v| e.identity.user_name = Some(v)),
    ),
    (
        "invoked_by",
        Access::Str(|e| e.identity.invoked_by.as_deref(), |e, v| e.identity.invoked_by = Some(v)),
    ),
    (
        "identity_provider",
        Access::Str(
            |e| e.identity.identity_provider.as_deref(),
            |e, v| e.identity.identity_provider = Some(v),
        ),
    ),
    (
        "session_issuer_type",
        Access::Str(|e| e.identity.issuer_kind.as_deref(), |e, v| e.identity.issuer_kind = Some(v)),
    ),
    (
        "session_issuer_arn",
        Access::Str(|e| e.identity.issuer_arn.as_deref(), |e, v| e.identity.issuer_arn = Some(v)),
    ),
    (
        "session_issuer_principal_id",
        Access::Str(
            |e| e.identity.issuer_principal_id.as_deref(),
            |e, v| e.identity.issuer_principal_id = Some(v),
        ),
    ),
    (
        "session_issuer_account_id",
        Access::Str(
            |e| e.identity.issuer_account_id.as_deref(),
            |e, v| e.identity.issuer_account_id = Some(v),
        ),
    ),
    (
        "session_issuer_user_name",
        Access::Str(
            |e| e.identity.issuer_user_name.as_deref(),
            |e, v| e.identity.issuer_user_name = Some(v),
        ),
    ),
    (
        "session_created",
        Access::Time(|e| e.identity.creation_date, |e, v| e.identity.creation_date = Some(v)),
    ),
    (
        "mfa_authenticated",
        Access::Bool(
            |e| e.identity.mfa_authenticated,
            |e, v| e.identity.mfa_authenticated = Some(v),
        ),
    ),
    (
        "source_identity",
        Access::Str(
            |e| e.identity.source_identity.as_deref(),
            |e, v| e.identity.source_identity = Some(v),
        ),
    ),
    (
        "ec2_role_delivery",
        Access::Str(
            |e| e.identity.ec2_role_delivery.as_deref(),
            |e, v| e.identity.ec2_role_delivery = Some(v),
        ),
    ),
    (
        "session_credential_from_console",
        Access::Bool(
            |e| e.identity.from_console.then_some(true),
            |e, v| e.identity.from_console = v,
        ),
    ),
    (
        "role_arn",
        Access::Str(|e| e.request.role_arn.as_deref(), |e, v| e.request.role_arn = Some(v)),
    ),
    (
        "role_session_name",
        Access::Str(
            |e| e.request.role_session_name.as_deref(),
            |e, v| e.request.role_session_name = Some(v),
        ),
    ),
    (
        "duration_seconds",
        Access::Int(|e| e.request.duration_seconds, |e, v| e.request.duration_seconds = Some(v)),
    ),
    (
        "request_user_name",
        Access::Str(|e| e.request.user_name.as_deref(), |e, v| e.request.user_name = Some(v)),
    ),
    ("request_name", Access::Str(|e| e.request.name.as_deref(), |e, v| e.request.name = Some(v))),
    (
        "request_source_identity",
        Access::Str(
            |e| e.request.source_identity.as_deref(),
            |e, v| e.request.source_identity = Some(v),
        ),
    ),
    (
        "request_principal_arn",
        Access::Str(
            |e| e.request.principal_arn.as_deref(),
            |e, v| e.request.principal_arn = Some(v),
        ),
    ),
    (
        "request_role_name",
        Access::Str(|e| e.request.role_name.as_deref(), |e, v| e.request.role_name = Some(v)),
    ),
    (
        "request_policy_arn",
        Access::Str(|e| e.request.policy_arn.as_deref(), |e, v| e.request.policy_arn = Some(v)),
    ),
    (
        "request_policy_name",
        Access::Str(|e| e.request.policy_name.as_deref(), |e, v| e.request.policy_name = Some(v)),
    ),
    (
        "request_group_name",
        Access::Str(|e| e.request.group_name.as_deref(), |e, v| e.request.group_name = Some(v)),
    ),
    (
        "request_access_key_id",
        Access::Str(
            |e| e.request.access_key_id.as_deref(),
            |e, v| e.request.access_key_id = Some(v),
        ),
    ),
    (
        "request_status",
        Access::Str(|e| e.request.status.as_deref(), |e, v| e.request.status = Some(v)),
    ),
    (
        "request_bucket_name",
        Access::Str(|e| e.request.bucket_name.as_deref(), |e, v| e.request.bucket_name = Some(v)),
    ),
    ("request_key", Access::Str(|e| e.request.key.as_deref(), |e, v| e.request.key = Some(v))),
    (
        "request_function_name",
        Access::Str(
            |e| e.request.function_name.as_deref(),
            |e, v| e.request.function_name = Some(v),
        ),
    ),
    (
        "request_secret_id",
        Access::Str(|e| e.request.secret_id.as_deref(), |e, v| e.request.secret_id = Some(v)),
    ),
    (
        "request_instance_id",
        Access::Str(|e| e.request.instance_id.as_deref(), |e, v| e.request.instance_id = Some(v)),
    ),
    (
        "request_target_principal",
        Access::Str(
            |e| e.request.target_principal.as_deref(),
            |e, v| e.request.target_principal = Some(v),
        ),
    ),
    (
        "issued_access_key_id",
        Access::Str(
            |e| e.response.credentials_key.as_deref(),
            |e, v| e.response.credentials_key = Some(v),
        ),
    ),
    (
        "issued_expiration",
        Access::Time(
            |e| e.response.credentials_expiration,
            |e, v| e.response.credentials_expiration = Some(v),
        ),
    ),
    (
        "issued_principal_arn",
        Access::Str(
            |e| e.response.assumed_role_arn.as_deref(),
            |e, v| e.response.assumed_role_arn = Some(v),
        ),
    ),
    (
        "issued_principal_id",
        Access::Str(
            |e| e.response.assumed_role_id.as_deref(),
            |e, v| e.response.assumed_role_id = Some(v),
        ),
    ),
    (
        "federated_user_arn",
        Access::Str(
            |e| e.response.federated_user_arn.as_deref(),
            |e, v| e.response.federated_user_arn = Some(v),
        ),
    ),
    (
        "federated_user_id",
        Access::Str(
            |e| e.response.federated_user_id.as_deref(),
            |e, v| e.response.federated_user_id = Some(v),
        ),
    ),
    (
        "created_access_key_id",
        Access::Str(
            |e| e.response.access_key_id.as_deref(),
            |e, v| e.response.access_key_id = Some(v),
        ),
    ),
    (
        "created_access_key_user",
        Access::Str(
            |e| e.response.access_key_user.as_deref(),
            |e, v| e.response.access_key_user = Some(v),
        ),
    ),
    (
        "created_access_key_date",
        Access::Time(
            |e| e.response.access_key_created,
            |e, v| e.response.access_key_created = Some(v),
        ),
    ),
    (
        "created_user_arn",
        Access::Str(|e| e.response.user_arn.as_deref(), |e, v| e.response.user_arn = Some(v)),
    ),
    (
        "created_user_id",
        Access::Str(|e| e.response.user_id.as_deref(), |e, v| e.response.user_id = Some(v)),
    ),
    (
        "created_user_name",
        Access::Str(|e| e.response.user_name.as_deref(), |e, v| e.response.user_name = Some(v)),
    ),
    (
        "login_profile_user",
        Access::Str(
            |e| e.response.login_profile_user.as_deref(),
            |e, v| e.response.login_profile_user = Some(v),
        ),
    ),
    (
        "created_role_arn",
        Access::Str(|e| e.response.role_arn.as_deref(), |e, v| e.response.role_arn = Some(v)),
    ),
    (
        "response_subject",
        Access::Str(|e| e.response.subject.as_deref(), |e, v| e.response.subject = Some(v)),
    ),
    (
        "response_provider",
        Access::Str(|e| e.response.provider.as_deref(), |e, v| e.response.provider = Some(v)),
    ),
    (
        "response_source_identity",
        Access::Str(
            |e| e.response.source_identity.as_deref(),
            |e, v| e.response.source_identity = Some(v),
        ),
    ),
    (
        "console_login",
        Access::Str(
            |e| e.response.console_login.as_deref(),
            |e, v| e.response.console_login = Some(v),
        ),
    ),
];

/// Resource ARNs are one column, joined with this separator.
pub const RESOURCE_SEPARATOR: char = ';';

fn column(name: &str, a: Access, events: &[&Event], csv: bool) -> Result<Column> {
    Ok(match a {
        Access::Str(get, _) if csv => Column::new(
            name.into(),
            events
                .iter()
                .map(|e| get(e).map(|v| crate::escape::csv_cell(v).into_owned()))
                .collect::<Vec<Option<String>>>(),
        ),
        Access::Str(get, _) => {
            Column::new(name.into(), events.iter().map(|e| get(e)).collect::<Vec<Option<&str>>>())
        }
        Access::Time(get, _) => {
            let ms: Vec<Option<i64>> = events.iter().map(|e| get(e).map(|t| t * 1000)).collect();
            Series::new(name.into(), ms)
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?
                .into()
        }
        Access::Bool(get, _) => {
            Column::new(name.into(), events.iter().map(|e| get(e)).collect::<Vec<Option<bool>>>())
        }
        Access::Int(get, _) => {
            Column::new(name.into(), events.iter().map(|e| get(e)).collect::<Vec<Option<i64>>>())
        }
    })
}

/// The events as a polars `DataFrame` with the export schema ([`COLUMNS`], then
/// `resources`, `file`, `record`).
///
/// # Errors
/// polars errors building the columns.
pub fn events_frame(events: &[&Event], files: &[String]) -> Result<DataFrame> {
    frame(events, files, false)
}

/// [`events_frame`], with every string cell neutralised for CSV when `csv` (a leading `=`,
/// `+`, `-`, `@`, tab or CR gets a `'`: no spreadsheet formula from a log, SPEC §9).
fn frame(events: &[&Event], files: &[String], csv: bool) -> Result<DataFrame> {
    let mut cols = Vec::with_capacity(COLUMNS.len() + 3);
    for &(name, a) in COLUMNS {
        cols.push(column(name, a, events, csv)?);
    }
    let joined: Vec<String> = events
        .iter()
        .map(|e| {
            let j = e.resources.join(&RESOURCE_SEPARATOR.to_string());
            if csv {
                crate::escape::csv_cell(&j).into_owned()
            } else {
                j
            }
        })
        .collect();
    cols.push(Column::new("resources".into(), joined));
    let file_of = |e: &Event| files.get(e.origin.file as usize).map(String::as_str).unwrap_or("");
    cols.push(if csv {
        Column::new(
            "file".into(),
            events
                .iter()
                .map(|e| crate::escape::csv_cell(file_of(e)).into_owned())
                .collect::<Vec<String>>(),
        )
    } else {
        Column::new("file".into(), events.iter().map(|e| file_of(e)).collect::<Vec<&str>>())
    });
    cols.push(Column::new(
        "record".into(),
        events.iter().map(|e| e.origin.record).collect::<Vec<u32>>(),
    ));
    Ok(DataFrame::new(events.len(), cols)?)
}

/// One event as a JSON Lines object: the same columns, in the same order, times as ISO 8601.
fn write_json_line(w: &mut impl Write, e: &Event, files: &[String]) -> Result<()> {
    let mut first = true;
    let mut field = |w: &mut dyn Write, name: &str, v: serde_json::Value| -> Result<()> {
        w.write_all(if first { b"{" } else { b"," })?;
        first = false;
        serde_json::to_writer(&mut *w, name)?;
        w.write_all(b":")?;
        serde_json::to_writer(&mut *w, &v)?;
        Ok(())
    };
    use serde_json::Value;
    for &(name, a) in COLUMNS {
        let v = match a {
            Access::Str(get, _) => get(e).map_or(Value::Null, Value::from),
            Access::Time(get, _) => get(e).map_or(Value::Null, |t| Value::from(fmt_iso(t))),
            Access::Bool(get, _) => get(e).map_or(Value::Null, Value::from),
            Access::Int(get, _) => get(e).map_or(Value::Null, Value::from),
        };
        field(w, name, v)?;
    }
    field(w, "resources", Value::from(e.resources.join(&RESOURCE_SEPARATOR.to_string())))?;
    let file = files.get(e.origin.file as usize).map(String::as_str).unwrap_or("");
    field(w, "file", Value::from(file))?;
    field(w, "record", Value::from(e.origin.record))?;
    w.write_all(b"}\n")?;
    Ok(())
}

/// A table file being written in batches: Parquet row groups, CSV or JSON Lines rows.
pub struct TableWriter {
    path: std::path::PathBuf,
    sink: Sink,
}

enum Sink {
    Parquet(Box<polars::io::parquet::write::BatchedWriter<BufWriter<std::fs::File>>>),
    Csv(Box<polars::io::csv::write::BatchedWriter<BufWriter<std::fs::File>>>),
    Lines(BufWriter<std::fs::File>),
}

impl TableWriter {
    /// Creates `path` (format from its extension).
    ///
    /// # Errors
    /// Unknown extension or I/O errors; the message names the path.
    pub fn create(path: &Path) -> Result<TableWriter> {
        let format = TableFormat::from_path(path)?;
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let w = BufWriter::new(file);
        let schema = events_frame(&[], &[])?.schema().clone();
        let sink = match format {
            TableFormat::JsonLines => Sink::Lines(w),
            TableFormat::Csv => Sink::Csv(Box::new(
                CsvWriter::new(w)
                    .include_header(true)
                    .with_datetime_format(Some("%Y-%m-%dT%H:%M:%SZ".into()))
                    .batched(&schema)?,
            )),
            TableFormat::Parquet => {
                Sink::Parquet(Box::new(ParquetWriter::new(w).batched(&schema)?))
            }
        };
        Ok(TableWriter { path: path.to_path_buf(), sink })
    }

    /// Appends rows.
    ///
    /// # Errors
    /// I/O or polars errors; the message names the path.
    pub fn write(&mut self, events: &[&Event], files: &[String]) -> Result<()> {
        let ctx = || format!("writing {}", self.path.display());
        match &mut self.sink {
            Sink::Lines(w) => {
                for e in events {
                    write_json_line(w, e, files).with_context(ctx)?;
                }
            }
            Sink::Csv(b) => b.write_batch(&frame(events, files, true)?).with_context(ctx)?,
            Sink::Parquet(b) => {
                if !events.is_empty() {
                    b.write_batch(&events_frame(events, files)?).with_context(ctx)?
                }
            }
        }
        Ok(())
    }

    /// Finishes the file (Parquet footer, flush).
    ///
    /// # Errors
    /// I/O or polars errors; the message names the path.
    pub fn finish(self) -> Result<()> {
        let ctx = || format!("writing {}", self.path.display());
        match self.sink {
            Sink::Lines(mut w) => w.flush().with_context(ctx)?,
            Sink::Csv(mut b) => b.finish().with_context(ctx)?,
            Sink::Parquet(b) => {
                b.finish().with_context(ctx)?;
            }
        }
        Ok(())
    }
}

/// Writes events to `path` in the format its extension names.
///
/// # Errors
/// Unknown extension, I/O or polars errors; the message names the path.
pub fn write_events(path: &Path, events: &[&Event], files: &[String]) -> Result<()> {
    let mut w = TableWriter::create(path)?;
    w.write(events, files)?;
    w.finish()
}

/// Partition of an event for `export --partition`: account, region, UTC day.
pub fn partition_of(e: &Event) -> (String, String, String) {
    let clean = |s: Option<&str>| {
        s.unwrap_or("unknown")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect::<String>()
    };
    (clean(e.account()), clean(e.region.as_deref()), fmt_iso(e.time)[..10].to_string())
}

/// The hive-style directory of a partition: `account=A/region=R/day=YYYY-MM-DD`, read by
/// DuckDB (`hive_partitioning`), Athena, Spark and polars.
pub fn partition_dir(root: &Path, p: &(String, String, String)) -> std::path::PathBuf {
    root.join(format!("account={}", p.0))
        .join(format!("region={}", p.1))
        .join(format!("day={}", p.2))
}

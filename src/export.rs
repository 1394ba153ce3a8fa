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
use serde::Serialize;
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

/// One output row (the JSON Lines object; the Parquet/CSV columns have the same names).
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub event_id: &'a str,
    pub event_time: String,
    pub event_version: Option<&'a str>,
    pub event_source: &'a str,
    pub event_name: &'a str,
    pub aws_region: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    pub read_only: Option<bool>,
    pub event_type: Option<&'a str>,
    pub event_category: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub recipient_account_id: Option<&'a str>,
    pub shared_event_id: Option<&'a str>,
    pub identity_type: Option<&'a str>,
    pub principal_id: Option<&'a str>,
    pub principal_arn: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub access_key_id: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub invoked_by: Option<&'a str>,
    pub session_issuer_type: Option<&'a str>,
    pub session_issuer_arn: Option<&'a str>,
    pub session_created: Option<String>,
    pub mfa_authenticated: Option<bool>,
    pub source_identity: Option<&'a str>,
    pub role_arn: Option<&'a str>,
    pub role_session_name: Option<&'a str>,
    pub issued_access_key_id: Option<&'a str>,
    pub issued_expiration: Option<String>,
    pub issued_principal_arn: Option<&'a str>,
    pub created_access_key_id: Option<&'a str>,
    pub resources: String,
    pub file: &'a str,
    pub record: u32,
}

impl<'a> Row<'a> {
    /// The row of one event.
    pub fn new(e: &'a Event, files: &'a [String]) -> Row<'a> {
        let i = &e.identity;
        Row {
            event_id: &e.id,
            event_time: fmt_iso(e.time),
            event_version: e.version.as_deref(),
            event_source: &e.source,
            event_name: &e.name,
            aws_region: e.region.as_deref(),
            source_ip: e.source_ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            error_code: e.error_code.as_deref(),
            error_message: e.error_message.as_deref(),
            read_only: e.read_only,
            event_type: e.event_type.as_deref(),
            event_category: e.category.as_deref(),
            request_id: e.request_id.as_deref(),
            recipient_account_id: e.recipient_account.as_deref(),
            shared_event_id: e.shared_event_id.as_deref(),
            identity_type: i.kind.as_deref(),
            principal_id: i.principal_id.as_deref(),
            principal_arn: i.arn.as_deref(),
            account_id: i.account_id.as_deref(),
            access_key_id: i.access_key_id.as_deref(),
            user_name: i.user_name.as_deref(),
            invoked_by: i.invoked_by.as_deref(),
            session_issuer_type: i.issuer_kind.as_deref(),
            session_issuer_arn: i.issuer_arn.as_deref(),
            session_created: i.creation_date.map(fmt_iso),
            mfa_authenticated: i.mfa_authenticated,
            source_identity: i.source_identity.as_deref(),
            role_arn: e.request.role_arn.as_deref(),
            role_session_name: e.request.role_session_name.as_deref(),
            issued_access_key_id: e.response.credentials_key.as_deref(),
            issued_expiration: e.response.credentials_expiration.map(fmt_iso),
            issued_principal_arn: e
                .response
                .assumed_role_arn
                .as_deref()
                .or(e.response.federated_user_arn.as_deref()),
            created_access_key_id: e.response.access_key_id.as_deref(),
            resources: e.resources.join(";"),
            file: files.get(e.origin.file as usize).map(String::as_str).unwrap_or(""),
            record: e.origin.record,
        }
    }
}

fn str_col<'a>(name: &str, rows: &[Row<'a>], f: impl Fn(&Row<'a>) -> Option<&'a str>) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<Option<&str>>>())
}

fn time_col(name: &str, events: &[&Event], f: impl Fn(&Event) -> Option<i64>) -> Result<Column> {
    let ms: Vec<Option<i64>> = events.iter().map(|e| f(e).map(|t| t * 1000)).collect();
    let s = Series::new(name.into(), ms).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?;
    Ok(s.into())
}

/// The events as a polars `DataFrame` with the export schema.
///
/// # Errors
/// polars errors building the columns.
pub fn events_frame(events: &[&Event], files: &[String]) -> Result<DataFrame> {
    let rows: Vec<Row> = events.iter().map(|e| Row::new(e, files)).collect();
    let cols = vec![
        Column::new("event_id".into(), rows.iter().map(|r| r.event_id).collect::<Vec<&str>>()),
        time_col("event_time", events, |e| Some(e.time))?,
        str_col("event_version", &rows, |r| r.event_version),
        Column::new(
            "event_source".into(),
            rows.iter().map(|r| r.event_source).collect::<Vec<&str>>(),
        ),
        Column::new("event_name".into(), rows.iter().map(|r| r.event_name).collect::<Vec<&str>>()),
        str_col("aws_region", &rows, |r| r.aws_region),
        str_col("source_ip", &rows, |r| r.source_ip),
        str_col("user_agent", &rows, |r| r.user_agent),
        str_col("error_code", &rows, |r| r.error_code),
        str_col("error_message", &rows, |r| r.error_message),
        Column::new(
            "read_only".into(),
            rows.iter().map(|r| r.read_only).collect::<Vec<Option<bool>>>(),
        ),
        str_col("event_type", &rows, |r| r.event_type),
        str_col("event_category", &rows, |r| r.event_category),
        str_col("request_id", &rows, |r| r.request_id),
        str_col("recipient_account_id", &rows, |r| r.recipient_account_id),
        str_col("shared_event_id", &rows, |r| r.shared_event_id),
        str_col("identity_type", &rows, |r| r.identity_type),
        str_col("principal_id", &rows, |r| r.principal_id),
        str_col("principal_arn", &rows, |r| r.principal_arn),
        str_col("account_id", &rows, |r| r.account_id),
        str_col("access_key_id", &rows, |r| r.access_key_id),
        str_col("user_name", &rows, |r| r.user_name),
        str_col("invoked_by", &rows, |r| r.invoked_by),
        str_col("session_issuer_type", &rows, |r| r.session_issuer_type),
        str_col("session_issuer_arn", &rows, |r| r.session_issuer_arn),
        time_col("session_created", events, |e| e.identity.creation_date)?,
        Column::new(
            "mfa_authenticated".into(),
            rows.iter().map(|r| r.mfa_authenticated).collect::<Vec<Option<bool>>>(),
        ),
        str_col("source_identity", &rows, |r| r.source_identity),
        str_col("role_arn", &rows, |r| r.role_arn),
        str_col("role_session_name", &rows, |r| r.role_session_name),
        str_col("issued_access_key_id", &rows, |r| r.issued_access_key_id),
        time_col("issued_expiration", events, |e| e.response.credentials_expiration)?,
        str_col("issued_principal_arn", &rows, |r| r.issued_principal_arn),
        str_col("created_access_key_id", &rows, |r| r.created_access_key_id),
        Column::new(
            "resources".into(),
            rows.iter().map(|r| r.resources.as_str()).collect::<Vec<&str>>(),
        ),
        Column::new("file".into(), rows.iter().map(|r| r.file).collect::<Vec<&str>>()),
        Column::new("record".into(), rows.iter().map(|r| r.record).collect::<Vec<u32>>()),
    ];
    Ok(DataFrame::new(rows.len(), cols)?)
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
                    serde_json::to_writer(&mut *w, &Row::new(e, files)).with_context(ctx)?;
                    w.write_all(b"\n").with_context(ctx)?;
                }
            }
            Sink::Csv(b) => b.write_batch(&events_frame(events, files)?).with_context(ctx)?,
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

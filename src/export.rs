//! `trailhound export` and `--events-out`: the normalized events as a table.
//!
//! One fixed schema (column names below) for all three formats. Parquet and CSV are written
//! by polars from a `DataFrame`; JSON Lines is written row by row with serde (the same
//! columns, one object per line), which keeps polars' JSON feature and its second JSON parser
//! out of the build. Times are UTC: `Datetime(ms)` columns in Parquet, ISO 8601 in CSV and
//! JSON Lines. `resources` holds the resource ARNs joined with `;` (a `;` or `\` inside one
//! preceded by `\`: [`crate::model::join_resources`]).

use crate::model::{join_resources, Access, Event, COLUMNS};
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
            let j = join_resources(&e.resources);
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
    field(w, "resources", Value::from(join_resources(&e.resources)))?;
    let file = files.get(e.origin.file as usize).map(String::as_str).unwrap_or("");
    field(w, "file", Value::from(file))?;
    field(w, "record", Value::from(e.origin.record))?;
    w.write_all(b"}\n")?;
    Ok(())
}

/// The key of a Parquet footer entry that says the table was exported from input that could
/// not all be read, and what was not ([`TableWriter::create_marked`]).
pub const INCOMPLETE_KEY: &str = "trailhound.incomplete";

/// The column every exported Parquet row carries beside the footer's [`INCOMPLETE_KEY`]: null
/// in an export of input read whole, else what was not read, on every row. An engine that
/// selects rows from the export (DuckDB's `COPY (SELECT * …) TO`) writes no footer entries of
/// its own, and a plan on its selection from a damaged export said OK (a review); nor may the
/// mark be a column only incomplete exports have: DuckDB takes the columns of several files
/// from the first, and a complete export read first dropped it. A file without the column
/// is read but counted damaged, as one without any other column of the export.
pub const INCOMPLETE_COLUMN: &str = "trailhound_incomplete";

/// `df` with the [`INCOMPLETE_COLUMN`] saying `why` on every row (nulls for `None`: an export
/// of input read whole).
fn marked(mut df: DataFrame, why: Option<&str>) -> Result<DataFrame> {
    let n = df.height();
    df.with_column(Column::new(INCOMPLETE_COLUMN.into(), vec![why; n]))?;
    Ok(df)
}

/// A table file being written in batches: Parquet row groups, CSV or JSON Lines rows.
pub struct TableWriter {
    path: std::path::PathBuf,
    sink: Sink,
    pending: crate::outfile::Pending,
}

enum Sink {
    /// The writer, and what the input lacked (every row's [`INCOMPLETE_COLUMN`]).
    Parquet(
        Box<polars::io::parquet::write::BatchedWriter<BufWriter<std::fs::File>>>,
        Option<String>,
    ),
    Csv(Box<polars::io::csv::write::BatchedWriter<BufWriter<std::fs::File>>>),
    Lines(BufWriter<std::fs::File>),
}

impl TableWriter {
    /// Creates `path` (format from its extension).
    ///
    /// # Errors
    /// Unknown extension or I/O errors; the message names the path.
    pub fn create(path: &Path) -> Result<TableWriter> {
        Self::create_marked(path, None)
    }

    /// [`TableWriter::create`] of a table exported from input that could not all be read
    /// (`incomplete`: what was not, said once): a Parquet file carries it in its footer
    /// ([`INCOMPLETE_KEY`]), and reading the file back counts it damaged, so that a plan
    /// started from it says INCOMPLETE as one from the original logs does. (A review found an
    /// export of a trail with a cut-short gzip, or a rejected record, read back to plan exit 0
    /// and verify OK with the lost role assumption's session alive.)
    ///
    /// # Errors
    /// As [`TableWriter::create`].
    pub fn create_marked(path: &Path, incomplete: Option<&str>) -> Result<TableWriter> {
        let format = TableFormat::from_path(path)?;
        // Written beside and renamed into place: never through a link at its name (SPEC §8).
        let (file, pending) = crate::outfile::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let w = BufWriter::new(file);
        let empty = events_frame(&[], &[])?;
        let sink = match format {
            TableFormat::JsonLines => Sink::Lines(w),
            TableFormat::Csv => Sink::Csv(Box::new(
                CsvWriter::new(w)
                    .include_header(true)
                    .with_datetime_format(Some("%Y-%m-%dT%H:%M:%SZ".into()))
                    .batched(empty.schema())?,
            )),
            TableFormat::Parquet => {
                use polars::io::parquet::write::KeyValueMetadata;
                let mark = incomplete.map(|why| {
                    KeyValueMetadata::from_static(vec![(INCOMPLETE_KEY.into(), why.into())])
                });
                let w = ParquetWriter::new(w).with_key_value_metadata(mark);
                let schema = marked(empty, incomplete)?.schema().clone();
                Sink::Parquet(Box::new(w.batched(&schema)?), incomplete.map(String::from))
            }
        };
        Ok(TableWriter { path: path.to_path_buf(), sink, pending })
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
            Sink::Parquet(b, why) => {
                if !events.is_empty() {
                    let df = marked(events_frame(events, files)?, why.as_deref())?;
                    b.write_batch(&df).with_context(ctx)?
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
            Sink::Parquet(b, _) => {
                b.finish().with_context(ctx)?;
            }
        }
        self.pending.commit().with_context(ctx)
    }
}

/// Writes events to `path` in the format its extension names, in one batch (the tests'
/// shorthand: the commands write a batch at a time, [`TableWriter`]).
///
/// # Errors
/// Unknown extension, I/O or polars errors; the message names the path.
#[cfg(test)]
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

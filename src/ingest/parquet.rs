//! Reading back the Parquet that `trailhound export` writes (SPEC §7): when an organization's
//! trail is too big for one machine, an existing engine (Athena, Spark, DuckDB) can run the
//! heavy scan over the exported, partitioned Parquet, and `sessions`, `blast` and `plan` start
//! from the rows it selects. Each row becomes the same normalized [`Event`] the JSON reader
//! would have produced (the export schema, [`crate::model::COLUMNS`], carries every field of
//! the model), so the chain, taint and plan are the same as from the original JSON.
//!
//! A file is recognised by content (`PAR1` at both ends), wherever it sits in the input tree.
//! Columns are looked up by name: a missing optional column reads as null, so a projection
//! made by another engine still works as long as it keeps `event_id`, `event_time`,
//! `event_source` and `event_name`. A row is traced to the Parquet file and its row number,
//! which is what the responder has in hand; the original `file`/`record` columns are not
//! read back. Rows are converted a slice at a time so a large file does not become a large
//! vector of events.

use super::{RecordReject, RejectReason};
use crate::model::{Access, Event, Origin, COLUMNS, RESOURCE_SEPARATOR};
use polars::prelude::{Column, DataType, ParallelStrategy, ParquetReader, SerReader, TimeUnit};

/// Columns without which a row is not an event.
pub const REQUIRED: [&str; 4] = ["event_id", "event_time", "event_source", "event_name"];

/// The columns the first pass needs for every row (the stub, the credential facts, F5
/// `session_created`); the other columns are only converted for rows that need the full
/// event (`full` in [`read`]).
const LIGHT: [&str; 19] = [
    "event_id",
    "event_time",
    "event_source",
    "event_name",
    "aws_region",
    "source_ip",
    "error_code",
    "recipient_account_id",
    "identity_type",
    "principal_id",
    "principal_arn",
    "account_id",
    "access_key_id",
    "user_name",
    "invoked_by",
    "session_issuer_type",
    "session_issuer_arn",
    "session_created",
    "ec2_role_delivery",
];

/// Rows read and converted to events at a time: bounds memory on large files.
const SLICE: usize = 65_536;

fn is_light(name: &str) -> bool {
    LIGHT.contains(&name) || name == "session_credential_from_console"
}

/// True when `data` starts like a Parquet file (a truncated one too: it is then reported as
/// unreadable Parquet rather than as "not JSON").
pub fn is_parquet(data: &[u8]) -> bool {
    data.starts_with(b"PAR1")
}

/// Seconds per unit of a time column.
fn per_second(c: &Column, name: &str) -> Result<i64, String> {
    match c.dtype() {
        DataType::Datetime(TimeUnit::Milliseconds, _) => Ok(1_000),
        DataType::Datetime(TimeUnit::Microseconds, _) => Ok(1_000_000),
        DataType::Datetime(TimeUnit::Nanoseconds, _) => Ok(1_000_000_000),
        DataType::Int64 => Ok(1),
        other => Err(format!("column {name} has type {other}, expected a timestamp")),
    }
}

/// Reads the rows of a Parquet file that `keep` accepts (by row number), calling `each` with
/// the event, or with a rejection for a row without a usable `event_time`. Rows whose event
/// name `full` accepts get every column; the others only the [`LIGHT`] ones (and
/// `session_credential_from_console`). Returns the number of rows in the file.
///
/// # Errors
/// Not readable as Parquet, a required column missing, or a column of the wrong type.
pub fn read(
    data: &[u8],
    file: u32,
    keep: impl Fn(u32) -> bool,
    full: impl Fn(&str) -> bool,
    mut each: impl FnMut(Result<Event, RecordReject>),
) -> Result<u64, String> {
    let open = || {
        // Files are already read in parallel, one per worker: no second level of threads.
        ParquetReader::new(std::io::Cursor::new(data))
            .read_parallel(ParallelStrategy::None)
            .set_low_memory(true)
    };
    let unreadable = |e: polars::error::PolarsError| format!("unreadable Parquet: {e}");
    let mut r = open();
    let schema = r.schema().map_err(unreadable)?;
    for name in REQUIRED {
        if !schema.contains(name) {
            return Err(format!(
                "Parquet without a {name} column: not a table written by `trailhound export`"
            ));
        }
    }
    let height = r.num_rows().map_err(unreadable)?;
    let present = |names: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        names.filter(|n| schema.contains(n)).map(str::to_string).collect()
    };
    let light_cols = present(&mut COLUMNS.iter().map(|c| c.0).filter(|n| is_light(n)));
    let all_cols = present(&mut COLUMNS.iter().map(|c| c.0).chain(std::iter::once("resources")));
    let type_err = |name: &str, e: polars::error::PolarsError| format!("column {name}: {e}");
    let mut off = 0;
    while off < height {
        let len = SLICE.min(height - off);
        // Slice row -> index into `evs`.
        let mut slot: Vec<Option<usize>> = vec![None; len];
        let mut evs: Vec<Event> = Vec::new();
        for (i, s) in slot.iter_mut().enumerate() {
            let record = (off + i) as u32;
            if keep(record) {
                *s = Some(evs.len());
                evs.push(Event { origin: Origin { file, record }, ..Event::default() });
            }
        }
        if evs.is_empty() {
            off += len;
            continue;
        }
        let read = |cols: &[String]| {
            open()
                .with_slice(Some((off, len)))
                .with_columns(Some(cols.to_vec()))
                .finish()
                .map_err(unreadable)
        };
        let light = read(&light_cols)?;
        // Which rows get every column.
        let mut whole = vec![false; len];
        let names = light.column("event_name").and_then(|c| c.str().cloned());
        let names = names.map_err(|e| type_err("event_name", e))?;
        for (i, v) in names.iter().enumerate() {
            whole[i] = slot[i].is_some() && full(v.unwrap_or(""));
        }
        let all = if whole.iter().any(|&w| w) { Some(read(&all_cols)?) } else { None };
        let part_of = |name: &str| if is_light(name) { Some(&light) } else { all.as_ref() };
        let mut has_time = vec![false; evs.len()];
        for &(name, access) in COLUMNS {
            let Some(col) = part_of(name).and_then(|df| df.column(name).ok()) else { continue };
            let slot: Vec<Option<usize>> = if is_light(name) {
                slot.clone()
            } else {
                slot.iter().zip(&whole).map(|(s, &w)| s.filter(|_| w)).collect()
            };
            match access {
                Access::Str(_, set) => {
                    let ca = col.str().map_err(|e| type_err(name, e))?;
                    for (i, v) in ca.iter().enumerate() {
                        if let (Some(k), Some(v)) = (slot[i], v) {
                            if !v.is_empty() {
                                set(&mut evs[k], v.to_string());
                            }
                        }
                    }
                }
                Access::Time(_, set) => {
                    let unit = per_second(col, name)?;
                    let as_int = col.cast(&DataType::Int64).map_err(|e| type_err(name, e))?;
                    let ca = as_int.i64().map_err(|e| type_err(name, e))?;
                    for (i, v) in ca.iter().enumerate() {
                        if let (Some(k), Some(v)) = (slot[i], v) {
                            set(&mut evs[k], v.div_euclid(unit));
                            if name == "event_time" {
                                has_time[k] = true;
                            }
                        }
                    }
                }
                Access::Bool(_, set) => {
                    let ca = col.bool().map_err(|e| type_err(name, e))?;
                    for (i, v) in ca.iter().enumerate() {
                        if let (Some(k), Some(v)) = (slot[i], v) {
                            set(&mut evs[k], v);
                        }
                    }
                }
                Access::Int(_, set) => {
                    let as_int = col.cast(&DataType::Int64).map_err(|e| type_err(name, e))?;
                    let ca = as_int.i64().map_err(|e| type_err(name, e))?;
                    for (i, v) in ca.iter().enumerate() {
                        if let (Some(k), Some(v)) = (slot[i], v) {
                            set(&mut evs[k], v);
                        }
                    }
                }
            }
        }
        if let Some(col) = all.as_ref().and_then(|df| df.column("resources").ok()) {
            let ca = col.str().map_err(|e| type_err("resources", e))?;
            for (i, v) in ca.iter().enumerate() {
                if let (Some(k), Some(v), true) = (slot[i], v, whole[i]) {
                    evs[k].resources = v
                        .split(RESOURCE_SEPARATOR)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                }
            }
        }
        for (k, mut e) in evs.into_iter().enumerate() {
            if !has_time[k] {
                each(Err(RecordReject {
                    record: e.origin.record,
                    reason: RejectReason::MissingEventTime,
                    detail: "event_time is null".into(),
                }));
                continue;
            }
            // Rows exported without an eventID keep being unique, now by Parquet row.
            if e.id.is_empty() || e.id.starts_with("noid:") {
                e.id = format!("noid:{file}:{}", e.origin.record);
            }
            each(Ok(e));
        }
        off += len;
    }
    Ok(height as u64)
}

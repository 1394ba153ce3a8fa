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

#[cfg(test)]
mod tests {
    //! Round trips through the exporter ([`crate::export::write_events`]) and back through
    //! [`read`], and the reader's errors on tables it cannot take.

    use super::*;
    use polars::prelude::{DataFrame, NamedFrom, ParquetWriter, Series};

    /// 2024-03-11T10:00:00Z
    const T0: i64 = 1_710_151_200;
    /// The file index the reader is given: every row read back is traced to it.
    const FILE: u32 = 7;

    /// An event with every column of the schema set (strings named after their column,
    /// times a second apart, booleans `flag`, integers apart), and two resources.
    fn full_event(record: u32, flag: bool) -> Event {
        let mut e = Event { origin: Origin { file: FILE, record }, ..Event::default() };
        for (i, &(name, access)) in COLUMNS.iter().enumerate() {
            match access {
                Access::Str(_, set) => set(&mut e, format!("{name}-{record}")),
                Access::Time(_, set) => set(&mut e, T0 + i as i64),
                Access::Bool(_, set) => set(&mut e, flag),
                Access::Int(_, set) => set(&mut e, 900 + i as i64),
            }
        }
        e.resources = vec!["arn:aws:s3:::bucket".into(), "arn:aws:s3:::bucket/a key.txt".into()];
        e
    }

    /// An event with only the required columns set: every other column is null.
    fn sparse_event(record: u32) -> Event {
        Event {
            id: format!("sparse-{record}"),
            time: T0 + 3600,
            source: "s3.amazonaws.com".into(),
            name: "ListBuckets".into(),
            origin: Origin { file: FILE, record },
            ..Event::default()
        }
    }

    /// Exports `events` to a tempdir `.parquet` file and returns its bytes.
    fn exported(events: &[Event]) -> Vec<u8> {
        let d = tempfile::TempDir::new().unwrap();
        let path = d.path().join("events.parquet");
        let refs: Vec<&Event> = events.iter().collect();
        crate::export::write_events(&path, &refs, &["trail/a.json.gz".to_string()]).unwrap();
        std::fs::read(&path).unwrap()
    }

    type Rows = Vec<Result<Event, RecordReject>>;

    fn read_all(data: &[u8], full: bool) -> Result<(u64, Rows), String> {
        let mut out = Vec::new();
        let n = read(data, FILE, |_| true, |_| full, |r| out.push(r))?;
        Ok((n, out))
    }

    fn events_of(rows: Rows) -> Vec<Event> {
        rows.into_iter().map(|r| r.unwrap_or_else(|e| panic!("rejected: {e:?}"))).collect()
    }

    /// A Parquet file of `df`, written by polars directly (not by the exporter).
    fn parquet_of(mut df: DataFrame) -> Vec<u8> {
        let mut buf = Vec::new();
        ParquetWriter::new(&mut buf).finish(&mut df).unwrap();
        buf
    }

    fn ms(name: &str, v: &[Option<i64>]) -> Column {
        Series::new(name.into(), v.to_vec())
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap()
            .into()
    }

    fn strs(name: &str, v: &[&str]) -> Column {
        Column::new(name.into(), v.to_vec())
    }

    #[test]
    fn exported_events_read_back_as_the_same_events() {
        let mut odd = sparse_event(2);
        // A long string with what CSV, JSON and shells treat specially, and non-ASCII text.
        let long: String =
            "é\"'\n\t;=+-@\\ ✓ \u{0}".chars().cycle().take(100_000).collect::<String>();
        odd.user_agent = Some(long.clone());
        odd.request.key = Some("$(rm -rf /); `id` | tee ".repeat(50));
        odd.read_only = Some(false);
        odd.resources = vec!["arn:aws:iam::111122223333:role/a b".into()];
        let events = vec![full_event(0, true), sparse_event(1), odd, full_event(3, false)];
        let (n, rows) = read_all(&exported(&events), true).unwrap();
        assert_eq!(n, 4);
        let back = events_of(rows);
        assert_eq!(back.len(), 4);
        for (want, got) in events.iter().zip(&back) {
            assert_eq!(want, got);
        }
        assert_eq!(back[2].user_agent.as_deref(), Some(long.as_str()));
        assert_eq!(back[0].resources.len(), 2, "split again at the separator");
        assert!(back[1].resources.is_empty() && back[1].user_agent.is_none());
        assert_eq!(back[3].identity.mfa_authenticated, Some(false), "false is not null");
    }

    #[test]
    fn rows_not_kept_are_skipped_and_rows_not_full_get_the_light_columns_only() {
        let events = vec![full_event(0, true), full_event(1, true), full_event(2, true)];
        let data = exported(&events);
        let mut out = Vec::new();
        let n = read(&data, FILE, |r| r != 1, |name| name == "event_name-2", |r| out.push(r));
        assert_eq!(n.unwrap(), 3, "the row count of the file, kept or not");
        let back = events_of(out);
        assert_eq!(back.len(), 2);
        assert_eq!(back[1], events[2], "a row `full` accepts gets every column");
        // Row 0: the light columns only, and no resources.
        let mut light = Event { origin: Origin { file: FILE, record: 0 }, ..Event::default() };
        for &(_, access) in COLUMNS.iter().filter(|c| is_light(c.0)) {
            let src = &events[0];
            match access {
                Access::Str(get, set) => set(&mut light, get(src).unwrap().to_string()),
                Access::Time(get, set) => set(&mut light, get(src).unwrap()),
                Access::Bool(get, set) => set(&mut light, get(src).unwrap()),
                Access::Int(get, set) => set(&mut light, get(src).unwrap()),
            }
        }
        assert_eq!(back[0], light);
        assert!(back[0].user_agent.is_none() && back[0].resources.is_empty());
    }

    #[test]
    fn a_row_without_an_id_is_named_by_its_row_and_one_without_a_time_is_rejected() {
        let df = DataFrame::new(
            2,
            vec![
                strs("event_id", &["", "b"]),
                ms("event_time", &[Some(T0 * 1000), None]),
                strs("event_source", &["s3.amazonaws.com", "s3.amazonaws.com"]),
                strs("event_name", &["ListBuckets", "ListBuckets"]),
            ],
        )
        .unwrap();
        let (n, rows) = read_all(&parquet_of(df), true).unwrap();
        assert_eq!(n, 2);
        let ok = rows[0].as_ref().unwrap();
        assert_eq!((ok.id.as_str(), ok.time), ("noid:7:0", T0));
        assert_eq!(ok.region, None, "a missing optional column reads as null");
        let rej = rows[1].as_ref().unwrap_err();
        assert_eq!((rej.record, rej.reason), (1, RejectReason::MissingEventTime));
    }

    #[test]
    fn a_table_without_a_required_column_is_an_error() {
        let df = DataFrame::new(
            1,
            vec![
                strs("event_id", &["a"]),
                ms("event_time", &[Some(T0 * 1000)]),
                strs("event_source", &["s3.amazonaws.com"]),
            ],
        )
        .unwrap();
        let err = read_all(&parquet_of(df), true).unwrap_err();
        assert_eq!(
            err,
            "Parquet without a event_name column: not a table written by `trailhound export`"
        );
    }

    #[test]
    fn a_column_of_the_wrong_type_is_an_error_not_a_panic() {
        let base = || {
            vec![
                strs("event_id", &["a"]),
                ms("event_time", &[Some(T0 * 1000)]),
                strs("event_source", &["s3.amazonaws.com"]),
                strs("event_name", &["ListBuckets"]),
            ]
        };
        let with = |i: usize, c: Column| {
            let mut cols = base();
            if i < cols.len() {
                cols[i] = c;
            } else {
                cols.push(c);
            }
            read_all(&parquet_of(DataFrame::new(1, cols).unwrap()), true).unwrap_err()
        };
        let err = with(1, strs("event_time", &["2024-03-11T10:00:00Z"]));
        assert!(err.starts_with("column event_time has type"), "{err}");
        assert!(err.ends_with("expected a timestamp"), "{err}");
        let err = with(3, Column::new("event_name".into(), [1i64]));
        assert!(err.starts_with("column event_name: "), "{err}");
        let err = with(4, strs("read_only", &["yes"]));
        assert!(err.starts_with("column read_only: "), "{err}");
        let err = with(4, Column::new("user_agent".into(), [true]));
        assert!(err.starts_with("column user_agent: "), "{err}");
        let err = with(4, Column::new("resources".into(), [1i64]));
        assert!(err.starts_with("column resources: "), "{err}");
    }

    #[test]
    fn bytes_that_are_not_a_whole_parquet_file_are_unreadable() {
        assert!(is_parquet(b"PAR1 truncated"));
        assert!(!is_parquet(b"{\"Records\": []}"));
        let err = read_all(b"PAR1 truncated", true).unwrap_err();
        assert!(err.starts_with("unreadable Parquet: "), "{err}");
        let whole = exported(&[sparse_event(0)]);
        let err = read_all(&whole[..whole.len() / 2], true).unwrap_err();
        assert!(err.starts_with("unreadable Parquet: "), "{err}");
    }
}

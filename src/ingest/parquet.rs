//! Reading back the Parquet that `trailhound export` writes (SPEC §7): when an organization's
//! trail is too big for one machine, an existing engine (Athena, Spark, DuckDB) can run the
//! heavy scan over the exported, partitioned Parquet, and `sessions`, `blast` and `plan` start
//! from the rows it selects. Each row becomes the same normalized [`Event`] the JSON reader
//! would have produced (the export schema, [`crate::model::COLUMNS`], carries every field of
//! the model), so the chain, taint and plan are the same as from the original JSON.
//!
//! A file is recognised by content (`PAR1` at both ends), wherever it sits in the input tree.
//! Columns are looked up by name: a file without `event_id`, `event_time`, `event_source` or
//! `event_name` is not read; one without another column of the export schema is read, each
//! missing column as null, and counted damaged (exit 3, `verify` INCOMPLETE) naming what it
//! lacks: a projection made by another engine that dropped `request_function_name` or
//! `response_instance_ids` lost the sessions of the functions and instances the attacker
//! changed or launched, and a review found plan exit 0 and verify OK on it. A row is traced to the Parquet file and its row number,
//! which is what the responder has in hand; the original `file`/`record` columns are not
//! read back. Rows are read a row group (at most a slice) at a time so a large file does not
//! become a large vector of events. The first pass (`scan`) makes an [`Event`] only of the
//! rows that need one (issuing calls); the others go from the column buffers straight into
//! the worker's stubs (`light`). [`read`] makes the events a report reads back.

use super::issuing::needs_detail;
use super::sink::FileScan;
use super::{RecordReject, RejectReason};
use crate::model::{split_resources, Access, Event, Origin, COLUMNS};
use polars::io::parquet::metadata::{FileMetadata, FileMetadataRef};
use polars::prelude::{
    Column, DataFrame, DataType, ParallelStrategy, ParquetReader, SerReader, TimeUnit,
};
use std::sync::Arc;

mod light;

/// Columns without which a row is not an event.
pub const REQUIRED: [&str; 4] = ["event_id", "event_time", "event_source", "event_name"];

/// The columns the first pass needs for every row (the stub, the credential facts, F5
/// `session_created`); the other columns are only converted for rows that need the full
/// event (`full` in [`read`]).
const LIGHT: [&str; 21] = [
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
    "source_identity",
    "ec2_role_delivery",
    "session_credential_from_console",
];

/// Rows read and converted at a time: bounds memory on large files.
const SLICE: usize = 65_536;

fn is_light(name: &str) -> bool {
    LIGHT.contains(&name)
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

fn unreadable(e: polars::error::PolarsError) -> String {
    format!("unreadable Parquet: {e}")
}

fn type_err(name: &str, e: polars::error::PolarsError) -> String {
    format!("column {name}: {e}")
}

/// A time column in seconds.
fn seconds(col: &Column, name: &str) -> Result<Vec<Option<i64>>, String> {
    let unit = per_second(col, name)?;
    let as_int = col.cast(&DataType::Int64).map_err(|e| type_err(name, e))?;
    let ca = as_int.i64().map_err(|e| type_err(name, e))?;
    Ok(ca.iter().map(|v| v.map(|v| v.div_euclid(unit))).collect())
}

/// An open Parquet file: its footer read once, the columns it has, one footer per row group.
struct Table<'a> {
    data: &'a [u8],
    rows: usize,
    /// The file's footer narrowed to each of its row groups: reading a row group through it
    /// decodes that row group only (a slice of the whole file makes polars walk every row
    /// group before it, and read the footer again).
    groups: Vec<FileMetadataRef>,
    /// The [`LIGHT`] columns the file has, in schema order.
    light: Vec<String>,
    /// Its other columns of [`COLUMNS`], and `resources`.
    rest: Vec<String>,
    /// Rows read at a time ([`SLICE`]; fewer in tests).
    slice: usize,
    /// The columns of the export schema (and `resources`) the file lacks: each reads as null,
    /// and what the tool derives from it is unknown ([`scan`]).
    missing: Vec<&'static str>,
    /// What its footer says the export could not read ([`crate::export::INCOMPLETE_KEY`]).
    incomplete: Option<String>,
}

/// Rows `start..start + len` of a file: rows `skip..skip + len` of its row group `group`.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    group: usize,
    skip: usize,
    start: usize,
    len: usize,
}

/// What an incomplete export's rows say it lacked ([`crate::export::INCOMPLETE_COLUMN`]): the
/// first text a row holds, when the file has that column (`has`): rows an engine selected from
/// such an export, whose footer entry it did not copy. A column that cannot be read as text
/// says the file is incomplete too.
fn marked_rows(data: &[u8], has: bool) -> Option<String> {
    if !has {
        return None;
    }
    let col = crate::export::INCOMPLETE_COLUMN;
    let df = reader(data).with_columns(Some(vec![col.to_string()])).finish();
    let unreadable = || Some(format!("its column {col} cannot be read as text"));
    let Ok(df) = df else { return unreadable() };
    let Ok(c) = df.column(col) else { return unreadable() };
    // Nulls only (an engine may type such a column as nulls): an export read whole.
    if c.null_count() == c.len() {
        return None;
    }
    let Ok(c) = c.str() else { return unreadable() };
    let first = c.iter().flatten().find(|t| !t.is_empty()).map(String::from);
    first
}

fn reader(data: &[u8]) -> ParquetReader<std::io::Cursor<&[u8]>> {
    // Files are already read in parallel, one per worker: no second level of threads.
    ParquetReader::new(std::io::Cursor::new(data))
        .read_parallel(ParallelStrategy::None)
        .set_low_memory(true)
}

impl<'a> Table<'a> {
    fn open(data: &'a [u8]) -> Result<Table<'a>, String> {
        let mut r = reader(data);
        let schema = r.schema().map_err(unreadable)?;
        for name in REQUIRED {
            if !schema.contains(name) {
                return Err(format!(
                    "Parquet without a {name} column: not a table written by `trailhound export`"
                ));
            }
        }
        let meta = r.get_metadata().map_err(unreadable)?;
        let mut base: FileMetadata = (**meta).clone();
        let incomplete = base
            .key_value_metadata
            .iter()
            .flatten()
            .find_map(|kv| {
                (kv.key == crate::export::INCOMPLETE_KEY)
                    .then(|| kv.value.clone().unwrap_or_default())
            })
            .or_else(|| marked_rows(data, schema.contains(crate::export::INCOMPLETE_COLUMN)));
        let rows = base.num_rows;
        let groups = std::mem::take(&mut base.row_groups)
            .into_iter()
            .map(|g| {
                let n = g.num_rows();
                Arc::new(FileMetadata {
                    num_rows: n,
                    max_row_group_height: n,
                    row_groups: vec![g],
                    ..base.clone()
                })
            })
            .collect();
        let present = |n: &&str| schema.contains(n);
        let names = COLUMNS.iter().map(|c| c.0);
        let marker = crate::export::INCOMPLETE_COLUMN;
        let missing = names.clone().chain(["resources", marker]).filter(|n| !present(n)).collect();
        let light = names.clone().filter(|n| is_light(n)).filter(present);
        let rest = names.filter(|n| !is_light(n)).chain(["resources"]).filter(present);
        Ok(Table {
            data,
            rows,
            groups,
            light: light.map(str::to_string).collect(),
            rest: rest.map(str::to_string).collect(),
            slice: SLICE,
            missing,
            incomplete,
        })
    }

    /// The file's rows a [`SLICE`] at a time (`slice`), never across row groups.
    fn chunks(&self) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut start = 0;
        for (group, g) in self.groups.iter().enumerate() {
            let n = g.num_rows;
            let mut skip = 0;
            while skip < n {
                let len = self.slice.min(n - skip);
                out.push(Chunk { group, skip, start: start + skip, len });
                skip += len;
            }
            start += n;
        }
        out
    }

    /// Columns `cols` of rows `from..from + len` of `c` (counted from its first row).
    fn read(
        &self,
        c: Chunk,
        from: usize,
        len: usize,
        cols: &[String],
    ) -> Result<DataFrame, String> {
        let mut r = reader(self.data);
        r.set_metadata(self.groups[c.group].clone());
        let df = r
            .with_slice(Some((c.skip + from, len)))
            .with_columns(Some(cols.to_vec()))
            .finish()
            .map_err(unreadable)?;
        // Rows are then looked up by position: never past the end.
        if df.height() != len {
            return Err(format!(
                "unreadable Parquet: row group {} gave {} rows where {len} were expected",
                c.group,
                df.height()
            ));
        }
        Ok(df)
    }
}

/// Sets every column `df` has (of [`COLUMNS`], and `resources`) from its row `i` into
/// `evs[slot[i]]`, for the rows with a slot (looked up one by one: they are few next to the
/// rows of the chunk); `has_time` records which events got an `event_time`. Empty strings
/// read as absent.
fn fill(
    df: &DataFrame,
    slot: &[Option<usize>],
    evs: &mut [Event],
    has_time: &mut [bool],
) -> Result<(), String> {
    let rows: Vec<(usize, usize)> =
        slot.iter().enumerate().filter_map(|(i, s)| s.map(|k| (i, k))).collect();
    for &(name, access) in COLUMNS {
        let Ok(col) = df.column(name) else { continue };
        match access {
            Access::Str(_, set) => {
                let ca = col.str().map_err(|e| type_err(name, e))?;
                for &(i, k) in &rows {
                    if let Some(v) = ca.get(i).filter(|v| !v.is_empty()) {
                        set(&mut evs[k], v.to_string());
                    }
                }
            }
            Access::Time(_, set) => {
                let unit = per_second(col, name)?;
                let as_int = col.cast(&DataType::Int64).map_err(|e| type_err(name, e))?;
                let ca = as_int.i64().map_err(|e| type_err(name, e))?;
                for &(i, k) in &rows {
                    if let Some(v) = ca.get(i) {
                        set(&mut evs[k], v.div_euclid(unit));
                        if name == "event_time" {
                            has_time[k] = true;
                        }
                    }
                }
            }
            Access::Bool(_, set) => {
                let ca = col.bool().map_err(|e| type_err(name, e))?;
                for &(i, k) in &rows {
                    if let Some(v) = ca.get(i) {
                        set(&mut evs[k], v);
                    }
                }
            }
            Access::Int(_, set) => {
                let as_int = col.cast(&DataType::Int64).map_err(|e| type_err(name, e))?;
                let ca = as_int.i64().map_err(|e| type_err(name, e))?;
                for &(i, k) in &rows {
                    if let Some(v) = ca.get(i) {
                        set(&mut evs[k], v);
                    }
                }
            }
        }
    }
    if let Ok(col) = df.column("resources") {
        let ca = col.str().map_err(|e| type_err("resources", e))?;
        for &(i, k) in &rows {
            if let Some(v) = ca.get(i) {
                evs[k].resources = split_resources(v);
            }
        }
    }
    Ok(())
}

/// The events of rows `from..from + slot.len()` of `c` that have a slot (`origin` and
/// every [`LIGHT`] column set; the other columns for those whose slot is also in `whole`),
/// and which of them have an `event_time`. `light` is those rows' [`LIGHT`] columns.
fn events(
    t: &Table,
    c: Chunk,
    from: usize,
    file: u32,
    light: &DataFrame,
    slot: &[Option<usize>],
    whole: &[Option<usize>],
) -> Result<(Vec<Event>, Vec<bool>), String> {
    let mut evs: Vec<Event> = Vec::new();
    for (i, s) in slot.iter().enumerate() {
        if s.is_some() {
            let record = (c.start + from + i) as u32;
            evs.push(Event { origin: Origin { file, record }, ..Event::default() });
        }
    }
    let mut has_time = vec![false; evs.len()];
    fill(light, slot, &mut evs, &mut has_time)?;
    if !t.rest.is_empty() && whole.iter().any(Option::is_some) {
        let rest = t.read(c, from, slot.len(), &t.rest)?;
        fill(&rest, whole, &mut evs, &mut has_time)?;
    }
    Ok((evs, has_time))
}

/// The event names of a chunk's [`LIGHT`] columns.
fn names(light: &DataFrame) -> Result<Vec<Option<&str>>, String> {
    let ca = light.column("event_name").and_then(|c| c.str());
    Ok(ca.map_err(|e| type_err("event_name", e))?.iter().collect())
}

/// The rejection of a row without a usable `event_time`.
fn no_time(record: u32) -> RecordReject {
    RecordReject {
        record,
        reason: RejectReason::MissingEventTime,
        detail: "event_time is null".into(),
        more: 0,
    }
}

/// An event as the reader hands it on: rows exported without an eventID keep being unique,
/// now by Parquet row.
fn named(mut e: Event) -> Event {
    if e.id.is_empty() || e.id.starts_with("noid:") {
        e.id = super::table::stand_in_name(e.origin.file, e.origin.record);
    }
    e
}

/// Reads the rows of a Parquet file that `keep` accepts (by row number), calling `each` with
/// the event, or with a rejection for a row without a usable `event_time`. Rows whose event
/// name `full` accepts get every column; the others only the [`LIGHT`] ones. Returns the
/// number of rows in the file.
///
/// # Errors
/// Not readable as Parquet, a required column missing, or a column of the wrong type.
pub fn read(
    data: &[u8],
    file: u32,
    keep: impl Fn(u32) -> bool,
    full: impl Fn(&str) -> bool,
    each: impl FnMut(Result<Event, RecordReject>),
) -> Result<u64, String> {
    read_table(&Table::open(data)?, file, keep, full, each)
}

/// [`read`] of an open table.
fn read_table(
    t: &Table,
    file: u32,
    keep: impl Fn(u32) -> bool,
    full: impl Fn(&str) -> bool,
    mut each: impl FnMut(Result<Event, RecordReject>),
) -> Result<u64, String> {
    for c in t.chunks() {
        let kept: Vec<usize> = (0..c.len).filter(|&i| keep((c.start + i) as u32)).collect();
        let (Some(&from), Some(&last)) = (kept.first(), kept.last()) else { continue };
        // Only the rows from the first kept one to the last.
        let len = last + 1 - from;
        let mut slot: Vec<Option<usize>> = vec![None; len];
        for (k, &i) in kept.iter().enumerate() {
            slot[i - from] = Some(k);
        }
        let light = t.read(c, from, len, &t.light)?;
        let whole: Vec<Option<usize>> = slot
            .iter()
            .zip(names(&light)?)
            .map(|(s, name)| s.filter(|_| full(name.unwrap_or(""))))
            .collect();
        let (evs, has_time) = events(t, c, from, file, &light, &slot, &whole)?;
        for (e, ok) in evs.into_iter().zip(has_time) {
            each(match (ok, event_damage(&e)) {
                (false, _) => Err(no_time(e.origin.record)),
                (true, Some(detail)) => {
                    let (record, reason) = (e.origin.record, RejectReason::WrongType);
                    Err(RecordReject { record, reason, detail, more: 0 })
                }
                (true, None) => Ok(named(e)),
            });
        }
    }
    Ok(t.rows as u64)
}

/// The first pass over a Parquet file, into `sink`: the same stubs, issuing calls, credential
/// facts and rejections as [`read`] (every row kept) with each event handed to
/// [`FileScan::event`], without building an [`Event`] for the rows that do not need one.
/// Only rows whose event name `full` accepts (read with every column) or that are issuing
/// calls ([`needs_detail`]) become events; the others are read from the [`LIGHT`] columns
/// as borrowed strings, straight into the worker's interned strings
/// ([`FileScan::parquet_row`]). Returns the number of rows in the file.
///
/// # Errors
/// Not readable as Parquet, a required column missing, or a column of the wrong type.
pub(super) fn scan(
    data: &[u8],
    sink: &mut FileScan<'_>,
    full: impl Fn(&str) -> bool,
) -> Result<(u64, Vec<&'static str>, Option<String>), String> {
    let t = Table::open(data)?;
    let rows = scan_table(&t, sink, full)?;
    Ok((rows, t.missing, t.incomplete))
}

/// [`scan`] of an open table.
fn scan_table(
    t: &Table,
    sink: &mut FileScan<'_>,
    full: impl Fn(&str) -> bool,
) -> Result<u64, String> {
    for c in t.chunks() {
        let light = t.read(c, 0, c.len, &t.light)?;
        let names = names(&light)?;
        let mut slot: Vec<Option<usize>> = vec![None; c.len];
        let mut whole: Vec<Option<usize>> = vec![None; c.len];
        let mut n = 0;
        for (i, name) in names.iter().enumerate() {
            let name = name.unwrap_or("");
            let w = full(name);
            // A sign-in too: whether it succeeded is in its response ([`super::SIGN_IN`]).
            if w || needs_detail(name) || name == super::CONSOLE_LOGIN {
                slot[i] = Some(n);
                whole[i] = w.then_some(n);
                n += 1;
            }
        }
        let cols = light::Columns::of(&light, names)?;
        let mut evs: Vec<Option<Event>> = Vec::new();
        if n > 0 {
            let (e, _) = events(t, c, 0, sink.file, &light, &slot, &whole)?;
            evs = e.into_iter().map(Some).collect();
        }
        for (i, s) in slot.iter().enumerate() {
            let record = (c.start + i) as u32;
            let e = s.and_then(|k| evs[k].take());
            match (cols.row(i, record), e) {
                (None, _) => {
                    sink.records += 1;
                    super::problem::push_reject(&mut sink.rejects, no_time(record));
                }
                (Some(row), e) => match (row_damage(&row), e) {
                    (Some(detail), _) => {
                        sink.records += 1;
                        let reason = RejectReason::WrongType;
                        let rej = RecordReject { record, reason, detail, more: 0 };
                        super::problem::push_reject(&mut sink.rejects, rej);
                    }
                    (None, Some(e)) => sink.event(named(e)),
                    (None, None) => sink.parquet_row(&row),
                },
            }
        }
    }
    Ok(t.rows as u64)
}

/// Why a row cannot be read as the call it names, as [`super::normalize::check`] says of a
/// JSON record: an issuing call's service missing or not its own, a name that is one but for
/// case, or no caller column naming who made a call the session graph reads (the Parquet form
/// of `userIdentity` `{}`). A review edited rows of an export so: each lost the chain or key
/// it made, plan and verify OK, where the same damage in JSON was rejected.
fn row_damage(r: &light::Row<'_>) -> Option<String> {
    let callers = [r.arn, r.principal_id, r.access_key_id, r.invoked_by, r.user_name];
    damage(r.name, r.source, callers.iter().all(|f| f.is_none_or(str::is_empty)))
}

/// [`row_damage`] of a row read whole ([`read`]: the same rows rejected).
fn event_damage(e: &Event) -> Option<String> {
    let i = &e.identity;
    let callers = [&i.arn, &i.principal_id, &i.access_key_id, &i.invoked_by, &i.user_name];
    damage(&e.name, &e.source, callers.iter().all(|f| f.as_deref().is_none_or(str::is_empty)))
}

/// [`row_damage`] of a call `name` to `source` whose caller columns are all empty (`nobody`).
fn damage(name: &str, source: &str, nobody: bool) -> Option<String> {
    let said = Some(source).filter(|s| !s.is_empty());
    if let Some(why) = super::issuing::detail_damage(name, said) {
        return Some(why);
    }
    (nobody && super::issuing::is_detail(name, source)).then(|| {
        format!("no caller column (principal_arn, principal_id, access_key_id, invoked_by, user_name) names who made this {name} call")
    })
}

#[cfg(test)]
mod tests {
    //! Round trips through the exporter ([`crate::export::write_events`]) and back through
    //! [`read`], and the reader's errors on tables it cannot take.

    use super::*;
    use crate::ingest::record_digest::event_digest;
    use crate::ingest::sink::ThreadAcc;
    use crate::ingest::DETAIL;
    use polars::prelude::{NamedFrom, ParquetWriter, Series};

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

    /// Events that vary every column between null, empty, short and long values (quotes,
    /// the resource separator, control and non-ASCII characters), with issuing and other
    /// event names, ids that are UUID-like, repeated, empty or `noid:`, access keys and
    /// creation dates that recur (so credentials are seen again, later and earlier), and
    /// resources.
    fn odd_events(n: u32) -> Vec<Event> {
        let long: String = "é\"'\n\t;=+-@\\ ✓ \u{0}".chars().cycle().take(3_000).collect();
        let names = ["AssumeRole", "CreateUser", "GetObject", "", "CreateAccessKey", "ListBuckets"];
        let mix = |r: u32, c: usize| {
            let h = (u64::from(r) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (c as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            (h.wrapping_mul(0x94D0_49BB_1331_11EB) >> 62) as usize
        };
        (0..n)
            .map(|r| {
                let mut e = Event { origin: Origin { file: FILE, record: r }, ..Event::default() };
                for (c, &(name, access)) in COLUMNS.iter().enumerate() {
                    let pick = mix(r, c);
                    match access {
                        Access::Str(_, set) => match pick {
                            0 => {}
                            1 => set(&mut e, String::new()),
                            2 => set(&mut e, format!("{name}-{}", r % 3)),
                            _ => set(&mut e, format!("{long}{name}{r}")),
                        },
                        Access::Time(_, set) if pick > 0 => set(&mut e, T0 + i64::from(r % 3)),
                        Access::Bool(_, set) if pick > 0 => set(&mut e, pick == 3),
                        Access::Int(_, set) if pick > 0 => set(&mut e, i64::from(r)),
                        _ => {}
                    }
                }
                e.time = T0 + i64::from(r);
                e.name = names[r as usize % names.len()].to_string();
                // An issuing call is read as one only from its own service, and names who
                // made it (else its row is rejected, `row_damage`).
                match e.name.as_str() {
                    "AssumeRole" => e.source = "sts.amazonaws.com".into(),
                    "CreateUser" | "CreateAccessKey" => e.source = "iam.amazonaws.com".into(),
                    _ => {}
                }
                if needs_detail(&e.name)
                    && e.identity.principal_id.as_deref().is_none_or(str::is_empty)
                {
                    e.identity.principal_id = Some(format!("AIDAODD{r}"));
                }
                e.id = match r % 5 {
                    0 => String::new(),
                    1 => format!("noid:9:{r}"),
                    2 => format!("{r:08x}-1111-2222-3333-444455556666"),
                    _ => format!("id-{}", r / 2),
                };
                e.identity.access_key_id = match r % 4 {
                    0 => None,
                    1 => Some("AKIAONE".into()),
                    2 => Some("AKIATWO".into()),
                    _ => Some(String::new()),
                };
                e.identity.creation_date = [None, Some(T0), Some(T0 + 1)][r as usize % 3];
                e.resources = match r % 3 {
                    0 => vec![],
                    1 => vec!["arn:aws:s3:::b".into()],
                    _ => vec!["arn:aws:s3:::b/k y".into(), format!("{long}")],
                };
                e
            })
            .collect()
    }

    /// A footer saying the export could not read all its input makes the file damaged, its
    /// rows still read; the footer's text (a forged file's to choose) reaches the problem on
    /// one line, its control characters escaped. A file without the mark reads clean.
    #[test]
    fn an_incomplete_mark_in_the_footer_is_damage_told_on_one_line() {
        let d = tempfile::TempDir::new().unwrap();
        let events = odd_events(4);
        let refs: Vec<&Event> = events.iter().collect();
        let files = ["trail/a.json.gz".to_string()];
        let hostile = "\u{1b}[2J$(touch x)\nforged";
        for (name, mark) in [("clean.parquet", None), ("marked.parquet", Some(hostile))] {
            let mut w =
                crate::export::TableWriter::create_marked(&d.path().join(name), mark).unwrap();
            w.write(&refs, &files).unwrap();
            w.finish().unwrap();
        }
        let opts = crate::ingest::IngestOptions {
            inputs: vec![d.path().to_path_buf()],
            ..Default::default()
        };
        let ing = crate::ingest::ingest(&opts).unwrap();
        assert_eq!(ing.stats.files_failed, 1, "{:?}", ing.problems);
        let p = &ing.problems[0];
        assert!(p.path.ends_with("marked.parquet"), "{p:?}");
        assert!(p.detail.contains("says it is incomplete"), "{p:?}");
        assert!(p.detail.contains("\\u{1b}[2J$(touch x)\\nforged"), "{p:?}");
        assert!(!p.detail.contains('\u{1b}') && !p.detail.contains('\n'), "{p:?}");
        assert_eq!(ing.stats.salvaged_records, 4);
        use polars::prelude::{Column, ParquetWriter};
        // Rows an engine selected from the marked export (`COPY (SELECT *) TO`): the column
        // without the footer entry says it all the same.
        let e = tempfile::TempDir::new().unwrap();
        let marked = crate::ingest::ingest(&crate::ingest::IngestOptions {
            inputs: vec![d.path().join("marked.parquet")],
            ..Default::default()
        })
        .unwrap();
        let mut df = crate::export::events_frame(&refs, &files).unwrap();
        let col = crate::export::INCOMPLETE_COLUMN;
        df.with_column(Column::new(col.into(), vec!["gzip_truncated: a.json.gz"; 4])).unwrap();
        let f = std::fs::File::create(e.path().join("selected.parquet")).unwrap();
        ParquetWriter::new(f).finish(&mut df).unwrap();
        let opts = crate::ingest::IngestOptions {
            inputs: vec![e.path().to_path_buf()],
            ..Default::default()
        };
        let ing = crate::ingest::ingest(&opts).unwrap();
        assert_eq!(ing.stats.files_failed, 1, "{:?}", ing.problems);
        assert!(
            ing.problems[0].detail.contains("(gzip_truncated: a.json.gz)"),
            "{:?}",
            ing.problems
        );
        assert_eq!(ing.stats.salvaged_records, 4);
        // A file without the column (an older export, or one a selection dropped it from) is
        // damaged, naming it: a complete export carries the column, of nulls.
        let mut df = crate::export::events_frame(&refs, &files).unwrap();
        let f = std::fs::File::create(e.path().join("selected.parquet")).unwrap();
        ParquetWriter::new(f).finish(&mut df).unwrap();
        let ing = crate::ingest::ingest(&opts).unwrap();
        assert_eq!(ing.stats.files_failed, 1, "{:?}", ing.problems);
        assert!(ing.problems[0].detail.contains(col), "{:?}", ing.problems);
        let clean = std::fs::read(d.path().join("clean.parquet")).unwrap();
        assert_eq!(marked_rows(&clean, true), None);
        // The export itself marks its rows too.
        assert_eq!(marked.stats.files_failed, 1);
        let pq = std::fs::read(d.path().join("marked.parquet")).unwrap();
        let t = Table::open(&pq).unwrap();
        assert!(t.rest.iter().chain(&t.light).all(|c| c != col));
        assert!(marked_rows(&pq, true).is_some_and(|m| m.contains("forged")));
    }

    /// `events` exported in row groups of `group` rows (one batch each).
    fn exported_in_groups(events: &[Event], group: usize) -> Vec<u8> {
        let d = tempfile::TempDir::new().unwrap();
        let path = d.path().join("events.parquet");
        let mut w = crate::export::TableWriter::create(&path).unwrap();
        for batch in events.chunks(group) {
            let refs: Vec<&Event> = batch.iter().collect();
            w.write(&refs, &["trail/a.json.gz".to_string()]).unwrap();
        }
        w.finish().unwrap();
        std::fs::read(&path).unwrap()
    }

    /// What a first pass over `data` leaves: the worker's accumulator, the file's record and
    /// kept counts, its rejections.
    struct Pass {
        acc: ThreadAcc,
        records: u64,
        kept: u64,
        rejects: Vec<RecordReject>,
    }

    /// The first pass with [`scan`] (`light`), or the way it was made before it: every row
    /// read as an [`Event`] and handed to [`FileScan::event`].
    fn first_pass(t: &Table, inventory_only: bool, full: fn(&str) -> bool, light: bool) -> Pass {
        let mut acc = ThreadAcc { inventory_only, ..ThreadAcc::default() };
        let mut fs = FileScan {
            file: FILE,
            acc: &mut acc,
            records: 0,
            kept: 0,
            rejects: Vec::new(),
            truncated: 0,
        };
        let n = if light {
            scan_table(t, &mut fs, full).unwrap()
        } else {
            let mut rejects = Vec::new();
            let n = read_table(
                t,
                FILE,
                |_| true,
                full,
                |r| match r {
                    Ok(e) => fs.event(e),
                    Err(rej) => rejects.push(rej),
                },
            )
            .unwrap();
            fs.records += rejects.len() as u64;
            for r in rejects {
                crate::ingest::problem::push_reject(&mut fs.rejects, r);
            }
            n
        };
        assert_eq!(n, fs.records, "every row is a record, kept or rejected");
        let (records, kept, rejects) = (fs.records, fs.kept, fs.rejects);
        Pass { acc, records, kept, rejects }
    }

    fn assert_same_pass(a: &Pass, b: &Pass) {
        assert_eq!((a.records, a.kept, &a.rejects), (b.records, b.kept, &b.rejects));
        assert_eq!(a.acc.stubs.len(), b.acc.stubs.len());
        for (x, y) in a.acc.stubs.iter().zip(&b.acc.stubs) {
            assert_eq!((x.id, x.digest, x.s), (y.id, y.digest, y.s), "row {}", y.s.record);
        }
        assert_eq!(a.acc.details, b.acc.details);
        assert_eq!(a.acc.creds, b.acc.creds);
        let strings = |p: &Pass| p.acc.strings.list.iter().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(strings(a), strings(b), "the same strings, interned in the same order");
    }

    #[test]
    fn the_first_pass_from_column_buffers_equals_the_pass_over_whole_events() {
        let mut events = odd_events(240);
        // One caller ARN of 100 kB.
        events[7].identity.arn = Some("é\"✓;".repeat(25_000));
        // A light row that is the first call of a credential, with strings not seen before.
        assert_eq!(events[8].name, "GetObject");
        let i = &mut events[8].identity;
        (i.access_key_id, i.kind, i.arn) =
            (Some("AKIANEW".into()), Some("K".into()), Some("A".into()));
        let data = exported_in_groups(&events, 50);
        let mut t = Table::open(&data).unwrap();
        assert_eq!(t.groups.len(), 5, "several row groups");
        let full_names: [fn(&str) -> bool; 3] = [needs_detail, |_| true, |_| false];
        for slice in [SLICE, 7] {
            t.slice = slice;
            for full in full_names {
                for inventory_only in [false, true] {
                    let old = first_pass(&t, inventory_only, full, false);
                    let new = first_pass(&t, inventory_only, full, true);
                    assert_same_pass(&new, &old);
                    assert_eq!(new.acc.stubs.len(), 240);
                    if !inventory_only {
                        assert_eq!(new.acc.details.len(), 240 / 6 * 3, "issuing calls in full");
                        assert!(new.acc.creds.len() >= 4, "{:?}", new.acc.creds.len());
                    }
                }
            }
        }
    }

    #[test]
    fn a_light_rows_digest_is_the_digest_of_the_event_read_back_from_it() {
        let mut events = odd_events(60);
        events[3].identity.arn = Some("x".repeat(100_000));
        events[4].region = Some(String::new());
        let data = exported(&events);
        // The events as `read` makes them from the light columns (and their digests).
        let t = Table::open(&data).unwrap();
        let mut want = Vec::new();
        read_table(&t, FILE, |_| true, |_| false, |r| want.push(r.unwrap())).unwrap();
        let light = t.read(t.chunks()[0], 0, 60, &t.light).unwrap();
        let cols = light::Columns::of(&light, names(&light).unwrap()).unwrap();
        let mut digests = std::collections::HashSet::new();
        for (i, e) in want.iter().enumerate() {
            let row = cols.row(i, i as u32).unwrap();
            assert_eq!(row.digest(FILE), event_digest(e), "row {i}: {e:?}");
            assert_eq!(row.has_id(), !e.id.starts_with("noid:"));
            digests.insert(row.digest(FILE));
        }
        assert_eq!(digests.len(), 60, "rows that differ have different digests");
        assert_eq!(want[4].region, None, "an empty string is absent");
        assert_eq!(want[3].identity.arn.as_ref().map(String::len), Some(100_000));
        // One field more or less is another digest.
        let row = cols.row(5, 5).unwrap();
        let other = light::Row { region: Some("eu-west-3"), ..row };
        assert_ne!(row.digest(FILE), other.digest(FILE));
        assert_ne!(row.digest(FILE), row.digest(FILE + 1), "a noid row is named by its file");
    }

    #[test]
    fn the_first_pass_rejects_rows_without_a_time_and_names_rows_without_an_id() {
        let df = DataFrame::new(
            3,
            vec![
                strs("event_id", &["", "b", "noid:1:1"]),
                ms("event_time", &[Some(T0 * 1000), None, Some(T0 * 1000 + 1500)]),
                strs("event_source", &["s3.amazonaws.com", "", "sts.amazonaws.com"]),
                strs("event_name", &["ListBuckets", "AssumeRole", "AssumeRole"]),
                strs("principal_arn", &["", "", "arn:aws:iam::111122223333:user/u"]),
            ],
        )
        .unwrap();
        let data = parquet_of(df);
        let t = Table::open(&data).unwrap();
        let new = first_pass(&t, false, needs_detail, true);
        assert_same_pass(&new, &first_pass(&t, false, needs_detail, false));
        assert_eq!((new.records, new.kept), (3, 2));
        assert_eq!(
            (new.rejects[0].record, new.rejects[0].reason),
            (1, RejectReason::MissingEventTime)
        );
        let s: Vec<_> = new.acc.stubs.iter().map(|k| (k.s.record, k.s.time, k.s.flags)).collect();
        assert_eq!(s, [(0, T0, 0), (2, T0 + 1, DETAIL)]);
        assert_eq!(new.acc.details[0].id(), "noid:7:2");
    }

    #[test]
    fn the_first_pass_reports_a_bad_table_like_read() {
        let bad = parquet_of(
            DataFrame::new(
                1,
                vec![
                    strs("event_id", &["a"]),
                    ms("event_time", &[Some(T0 * 1000)]),
                    strs("event_source", &["s3.amazonaws.com"]),
                    strs("event_name", &["ListBuckets"]),
                    Column::new("access_key_id".into(), [1i64]),
                ],
            )
            .unwrap(),
        );
        let mut acc = ThreadAcc::default();
        let mut fs = FileScan {
            file: FILE,
            acc: &mut acc,
            records: 0,
            kept: 0,
            rejects: vec![],
            truncated: 0,
        };
        let err = scan(&bad, &mut fs, needs_detail).unwrap_err();
        assert!(err.starts_with("column access_key_id: "), "{err}");
        let whole = exported(&[sparse_event(0)]);
        for data in [&b"PAR1 truncated"[..], &whole[..whole.len() / 2]] {
            let err = scan(data, &mut fs, needs_detail).unwrap_err();
            assert!(err.starts_with("unreadable Parquet: "), "{err}");
        }
        let df = DataFrame::new(1, vec![strs("event_id", &["a"])]).unwrap();
        let err = scan(&parquet_of(df), &mut fs, needs_detail).unwrap_err();
        assert!(err.starts_with("Parquet without a event_time column"), "{err}");
    }

    /// An issuing call's row whose service is missing or not its own, whose name is one but
    /// for case, or whose caller columns are all empty is rejected, as its JSON record is (a
    /// review edited exported rows so, and the chain or key each made was lost, plan and
    /// verify OK). Another call's row without a caller is kept.
    #[test]
    fn rows_that_cannot_be_read_as_the_call_they_name_are_rejected() {
        let iam = "iam.amazonaws.com";
        let df = DataFrame::new(
            5,
            vec![
                strs("event_id", &["a", "b", "c", "d", "e"]),
                ms("event_time", &[Some(T0 * 1000); 5]),
                strs("event_source", &["", "sts.amazonaws.com", iam, iam, "s3.amazonaws.com"]),
                strs(
                    "event_name",
                    &[
                        "CreateAccessKey",
                        "CreateAccessKey",
                        "createAccessKey",
                        "CreateAccessKey",
                        "ListBuckets",
                    ],
                ),
                strs("principal_arn", &["arn:x", "arn:x", "arn:x", "", ""]),
            ],
        )
        .unwrap();
        let data = parquet_of(df);
        let t = Table::open(&data).unwrap();
        let p = first_pass(&t, false, needs_detail, true);
        let rejected: Vec<(u32, RejectReason)> =
            p.rejects.iter().map(|r| (r.record, r.reason)).collect();
        let wrong = RejectReason::WrongType;
        assert_eq!(rejected, [(0, wrong), (1, wrong), (2, wrong), (3, wrong)], "{:?}", p.rejects);
        assert_eq!((p.records, p.kept), (5, 1));
        assert!(p.rejects[3].detail.starts_with("no caller column"), "{:?}", p.rejects[3]);
    }

    #[test]
    fn read_keeps_rows_across_row_groups_and_slices() {
        let events = odd_events(30);
        let data = exported_in_groups(&events, 8);
        let mut t = Table::open(&data).unwrap();
        assert_eq!(t.groups.len(), 4);
        let mut all = Vec::new();
        read_table(&t, FILE, |_| true, |_| true, |r| all.push(r.unwrap())).unwrap();
        assert_eq!(all.len(), 30);
        for (e, want) in all.iter().zip(&events) {
            assert_eq!(e.origin.record, want.origin.record);
            assert_eq!((&e.name, e.time), (&want.name, want.time));
        }
        t.slice = 3;
        let want = [2u32, 9, 10, 23, 29];
        let mut got = Vec::new();
        let n = read_table(&t, FILE, |r| want.contains(&r), |_| true, |r| got.push(r.unwrap()));
        assert_eq!(n.unwrap(), 30);
        let back: Vec<u32> = got.iter().map(|e| e.origin.record).collect();
        assert_eq!(back, want);
        for e in &got {
            assert_eq!(e, &all[e.origin.record as usize]);
        }
    }
}

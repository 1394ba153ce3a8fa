//! Query results as input (issue #21): the flat rows that `trailhound query` selects on
//! Athena, CloudTrail Lake, Spark or DuckDB, downloaded as CSV (header row, RFC 4180 quoting,
//! every value a string: what the Athena and Lake consoles download) or written as JSON Lines
//! (one flat object per line: DuckDB `COPY … (FORMAT json)`, Spark `df.write.json`).
//!
//! Parquet results (the same columns, written by DuckDB or Spark) are read through polars
//! ([`parquet_to_json_lines`]) into the same rows.
//!
//! Detected by content like every other shape ([`detect`]): a CSV whose header names
//! `eventid`, `eventtime` and `eventname`, or JSON Lines whose first object has the lower-case
//! keys `eventid` and `eventtime` (a CloudTrail record spells them `eventID`, `eventTime`).
//! Each row is turned back into the CloudTrail record it came from ([`to_json_lines`]): the
//! columns of [`COLUMNS`] are placed at their path in the record, and the JSON-text columns
//! (`requestparameters`, `responseelements`, `resources`) are spliced in as JSON after a check
//! that each is exactly one JSON value. The rebuilt records then go through the same parser and
//! normalization as any trail, so a result gives the same events as the records it selected.
//!
//! A CloudTrail Lake result (`trailhound query --engine lake`) carries each event's own JSON in
//! the column `eventjson`: when a result has that column, each row is that record, taken whole
//! once it is checked to be one JSON object, and the other columns (the time, id and name
//! shown beside it) are not used. A row whose `eventjson` is empty is rejected. Lake results
//! are also read as `aws cloudtrail get-query-results` prints them ([`Form::LakeApi`]).
//!
//! A row that cannot be rebuilt (a field count that differs from the header, an unterminated
//! quote, a JSON-text column that is not JSON, a line that is not a JSON object) is rejected
//! alone (`invalid_result_row`, with the file and row), and the other rows are still read. A
//! column given twice (a repeated JSON key, header name or Lake cell) rejects its row as a
//! `duplicate_key`: which value is the row's cannot be told. A CSV row stops being split at
//! the header's count of fields, and a Lake answer is read a row at a time, so a small crafted
//! result cannot take memory out of proportion to its size.
//! Empty values and JSON `null` are absent fields; columns not in [`COLUMNS`] are ignored.

use serde_json::{Map, Value};

/// The note `blast`, `plan` and `investigate` add when their input holds query results.
pub const NOTE: &str = "the input holds query results (trailhound query): only the issuing calls, the tainted credentials' events and (with phase 3) each account's first and last events were selected, so trail-wide counts (events per account in evidence_window) and the activity of untainted principals are unknown here; without phase 3, where each account's logs end (evidence_window, unseen_tail) is only as late as the newest selected event";

/// How a column's value goes back into the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string field.
    Text,
    /// A JSON value kept as JSON text by the engine (`requestparameters` in the Athena table).
    Json,
}

/// The flat result columns, in the order the queries select them: name, path of the field in
/// the CloudTrail record, and kind. Every field the record parser reads
/// ([`super::raw::RawRecord`]) has a column.
pub const COLUMNS: &[(&str, &[&str], Kind)] = &[
    ("eventversion", &["eventVersion"], Kind::Text),
    ("eventtime", &["eventTime"], Kind::Text),
    ("eventsource", &["eventSource"], Kind::Text),
    ("eventname", &["eventName"], Kind::Text),
    ("awsregion", &["awsRegion"], Kind::Text),
    ("sourceipaddress", &["sourceIPAddress"], Kind::Text),
    ("useragent", &["userAgent"], Kind::Text),
    ("errorcode", &["errorCode"], Kind::Text),
    ("errormessage", &["errorMessage"], Kind::Text),
    ("requestparameters", &["requestParameters"], Kind::Json),
    ("responseelements", &["responseElements"], Kind::Json),
    ("requestid", &["requestID"], Kind::Text),
    ("eventid", &["eventID"], Kind::Text),
    ("readonly", &["readOnly"], Kind::Text),
    ("eventtype", &["eventType"], Kind::Text),
    ("eventcategory", &["eventCategory"], Kind::Text),
    ("managementevent", &["managementEvent"], Kind::Text),
    ("recipientaccountid", &["recipientAccountId"], Kind::Text),
    ("sharedeventid", &["sharedEventID"], Kind::Text),
    ("sessioncredentialfromconsole", &["sessionCredentialFromConsole"], Kind::Text),
    ("resources", &["resources"], Kind::Json),
    ("useridentity_type", &["userIdentity", "type"], Kind::Text),
    ("useridentity_principalid", &["userIdentity", "principalId"], Kind::Text),
    ("useridentity_arn", &["userIdentity", "arn"], Kind::Text),
    ("useridentity_accountid", &["userIdentity", "accountId"], Kind::Text),
    ("useridentity_accesskeyid", &["userIdentity", "accessKeyId"], Kind::Text),
    ("useridentity_username", &["userIdentity", "userName"], Kind::Text),
    ("useridentity_invokedby", &["userIdentity", "invokedBy"], Kind::Text),
    ("useridentity_identityprovider", &["userIdentity", "identityProvider"], Kind::Text),
    (
        "sessionissuer_type",
        &["userIdentity", "sessionContext", "sessionIssuer", "type"],
        Kind::Text,
    ),
    (
        "sessionissuer_principalid",
        &["userIdentity", "sessionContext", "sessionIssuer", "principalId"],
        Kind::Text,
    ),
    ("sessionissuer_arn", &["userIdentity", "sessionContext", "sessionIssuer", "arn"], Kind::Text),
    (
        "sessionissuer_accountid",
        &["userIdentity", "sessionContext", "sessionIssuer", "accountId"],
        Kind::Text,
    ),
    (
        "sessionissuer_username",
        &["userIdentity", "sessionContext", "sessionIssuer", "userName"],
        Kind::Text,
    ),
    (
        "session_creationdate",
        &["userIdentity", "sessionContext", "attributes", "creationDate"],
        Kind::Text,
    ),
    (
        "session_mfaauthenticated",
        &["userIdentity", "sessionContext", "attributes", "mfaAuthenticated"],
        Kind::Text,
    ),
    ("session_sourceidentity", &["userIdentity", "sessionContext", "sourceIdentity"], Kind::Text),
    (
        "session_federatedprovider",
        &["userIdentity", "sessionContext", "webIdFederationData", "federatedProvider"],
        Kind::Text,
    ),
    // An instance's role session (`ec2RoleDelivery`): what ties it to the launch that gave the
    // instance its profile. Without it a query result's instance session had no issuing event.
    ("session_ec2roledelivery", &["userIdentity", "sessionContext", "ec2RoleDelivery"], Kind::Text),
];

/// The forms a query result comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Csv,
    JsonLines,
    /// The answer of CloudTrail Lake's `GetQueryResults` (`aws cloudtrail get-query-results`):
    /// `{"QueryResultRows": [[{"column": "value"}, …], …], …}`, each row a list of one-entry
    /// maps.
    LakeApi,
}

/// How far into a document the first line of a JSON Lines result is looked for its
/// `eventtime` key (the queries select it second; kept small, since every JSON document read
/// is sniffed).
const SNIFF: usize = 4 * 1024;

/// The form of a query result, when `doc` (decompressed) is one.
pub fn detect(doc: &[u8]) -> Option<Form> {
    let doc = doc.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc);
    let start = doc.iter().position(|b| !b.is_ascii_whitespace())?;
    let doc = &doc[start..];
    if doc[0] == b'{' {
        let key = doc[1..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(&[][..], |i| &doc[1 + i..]);
        if key.starts_with(b"\"Records\"") {
            return None; // a CloudTrail file: the common case, decided at once
        }
        let head = &doc[..doc.len().min(SNIFF)];
        if contains(head, b"\"QueryResultRows\"") {
            // The whole document must be one object with that key: the words alone may sit
            // in a string of a record.
            #[derive(serde::Deserialize)]
            struct Answer {
                #[serde(rename = "QueryResultRows")]
                _rows: serde::de::IgnoredAny,
            }
            if serde_json::from_slice::<Answer>(doc).is_ok() {
                return Some(Form::LakeApi);
            }
        }
        if !contains(head, b"\"eventtime\"") && !contains(head, b"\"eventjson\"") {
            return None;
        }
        let line = doc.split(|&b| b == b'\n').next().unwrap_or(doc);
        let obj: Map<String, Value> = serde_json::from_slice(line).ok()?;
        // Spark leaves a null column out of its row: a first row without `eventid` is still
        // a result (its whole file was skipped as not CloudTrail).
        let has = |k: &str| obj.contains_key(k);
        return (has(EVENT_JSON)
            || (has("eventtime") && (has("eventid") || has("eventname") || has("eventsource"))))
        .then_some(Form::JsonLines);
    }
    if doc[0] == b'[' {
        return None;
    }
    let doc = csv_body(doc);
    let end = doc.iter().position(|&b| b == b'\n').unwrap_or(doc.len());
    let mut rows = Csv { doc: &doc[..end], pos: 0, max: MAX_COLUMNS };
    let header = rows.next_row()?.ok()?;
    let has = |n: &str| header.iter().any(|h| h.trim().eq_ignore_ascii_case(n));
    // `eventid` is not required: a result without it is still one (read, and damaged for
    // the columns it lacks, [`missing_columns`]), not a stray file to skip.
    (has(EVENT_JSON) || (has("eventtime") && (has("eventname") || has("eventsource"))))
        .then_some(Form::Csv)
}

/// A CSV result from its header on: without the blank lines before it, or the `sep=,` line
/// a spreadsheet writes first (either made every row a rejected one, or the file skipped).
fn csv_body(doc: &[u8]) -> &[u8] {
    let start = doc.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(doc.len());
    let doc = &doc[start..];
    if doc.len() >= 5 && doc[..4].eq_ignore_ascii_case(b"sep=") {
        let end = doc.iter().position(|&b| b == b'\n').map_or(doc.len(), |i| i + 1);
        if end <= 8 {
            return csv_body(&doc[end..]);
        }
    }
    doc
}

/// The columns every query of `trailhound query` selects that `names` (a CSV header, a
/// Parquet schema) lacks, in [`COLUMNS`] order; none for a result with `eventjson` (Lake).
/// A result without one of them is damaged for what the tool derives from it: a hand-edited
/// SELECT without `eventsource` gave a plan with no tainted session, exit 0, verify OK.
pub fn missing_columns<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'static str> {
    let names: Vec<String> = names.map(|n| n.trim().to_ascii_lowercase()).collect();
    if names.iter().any(|n| n == EVENT_JSON) {
        return Vec::new();
    }
    COLUMNS.iter().map(|c| c.0).filter(|c| !names.iter().any(|n| n == c)).collect()
}

/// [`missing_columns`] of a CSV result's header.
pub fn csv_missing_columns(doc: &[u8]) -> Vec<&'static str> {
    let doc = csv_body(doc.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc));
    let mut rows = Csv { doc, pos: 0, max: MAX_COLUMNS };
    match rows.next_row() {
        Some(Ok(header)) => missing_columns(header.iter().map(String::as_str)),
        _ => Vec::new(),
    }
}

/// The columns a JSON Lines result lacks: when its writer keeps null values (some row has a
/// `null`: DuckDB), every column of [`COLUMNS`] no row names; otherwise (Spark leaves null
/// columns out of each row) only those every event has, which no row names.
pub fn jsonl_missing_columns(doc: &[u8]) -> Vec<&'static str> {
    let mut names: std::collections::BTreeSet<String> = Default::default();
    let mut nulls = false;
    for line in doc.split(|&b| b == b'\n') {
        if let Ok(obj) = serde_json::from_slice::<Map<String, Value>>(line) {
            if obj.contains_key(EVENT_JSON) {
                return Vec::new();
            }
            nulls |= obj.values().any(Value::is_null);
            names.extend(obj.into_iter().map(|(k, _)| k));
        }
    }
    if names.is_empty() {
        return Vec::new();
    }
    let missing = missing_columns(names.iter().map(String::as_str));
    if nulls {
        return missing;
    }
    const EVERY_EVENT: &[&str] =
        &["eventversion", "eventtime", "eventsource", "eventname", "awsregion", "eventtype"];
    missing.into_iter().filter(|c| EVERY_EVENT.contains(c)).collect()
}

/// The columns a Parquet result lacks ([`missing_columns`]), from its schema.
pub fn parquet_missing_columns(data: &[u8]) -> Vec<&'static str> {
    use polars::prelude::{ParallelStrategy, ParquetReader, SerReader};
    let mut r =
        ParquetReader::new(std::io::Cursor::new(data)).read_parallel(ParallelStrategy::None);
    match r.schema() {
        Ok(s) => missing_columns(s.iter_names().map(|n| n.as_str())),
        Err(_) => Vec::new(),
    }
}

/// The CloudTrail Lake column holding the event's own JSON.
const EVENT_JSON: &str = "eventjson";

/// A row's `eventjson`: the record itself, once it is checked to be one JSON object (line
/// breaks, which JSON allows only between tokens, become spaces so that it stays on its line).
fn whole_event(v: Value) -> Result<Vec<u8>, String> {
    let text = match v {
        Value::String(s) => s,
        Value::Object(o) => Value::Object(o).to_string(),
        Value::Null => String::new(),
        _ => return Err("column eventjson is not a JSON object".to_string()),
    };
    if text.trim().is_empty() {
        return Err("column eventjson is empty: the event data store kept no JSON for this event"
            .to_string());
    }
    if !text.trim_start().starts_with('{')
        || serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err()
    {
        return Err("column eventjson is not one JSON object".to_string());
    }
    Ok(text.replace(['\n', '\r'], " ").into_bytes())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The result rows rebuilt as CloudTrail records, one JSON object per line (row `i` on line
/// `i`), and the rows that could not be rebuilt: `(row, detail)`, each with a placeholder `{}`
/// line.
pub fn to_json_lines(doc: &[u8], form: Form) -> (Vec<u8>, Vec<(u32, String)>) {
    let doc = doc.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc);
    let mut out = Vec::with_capacity(doc.len() + doc.len() / 4);
    let mut bad = Vec::new();
    let mut row = 0u32;
    let mut emit = |r: Result<Vec<u8>, String>, out: &mut Vec<u8>| {
        match r {
            Ok(line) => out.extend_from_slice(&line),
            Err(d) => {
                out.extend_from_slice(b"{}");
                bad.push((row, d));
            }
        }
        out.push(b'\n');
        row += 1;
    };
    match form {
        Form::Csv => {
            let mut rows = Csv { doc: csv_body(doc), pos: 0, max: MAX_COLUMNS };
            let Some(Ok(header)) = rows.next_row() else { return (out, bad) };
            rows.max = header.len();
            let cols: Vec<Option<usize>> = header
                .iter()
                .map(|h| {
                    let h = h.trim();
                    COLUMNS.iter().position(|c| c.0.eq_ignore_ascii_case(h))
                })
                .collect();
            let whole = header.iter().position(|h| h.trim().eq_ignore_ascii_case(EVENT_JSON));
            // A column named twice: which value is the row's? (Neither: every row is rejected.)
            let twice = header.iter().enumerate().find_map(|(i, h)| {
                let h = h.trim();
                let known = cols[i].is_some() || h.eq_ignore_ascii_case(EVENT_JSON);
                (known && header[..i].iter().any(|g| g.trim().eq_ignore_ascii_case(h)))
                    .then(|| h.to_string())
            });
            while let Some(r) = rows.next_row() {
                let line = r.and_then(|mut fields| {
                    if fields.len() == 1 && fields[0].is_empty() {
                        return Ok(None);
                    }
                    if let Some(c) = &twice {
                        return Err(format!("{DUPLICATE} {c} (in the header)"));
                    }
                    if fields.len() != cols.len() {
                        return Err(format!(
                            "{} fields where the header has {}",
                            fields.len(),
                            cols.len()
                        ));
                    }
                    if let Some(w) = whole {
                        let v = Value::String(std::mem::take(&mut fields[w]));
                        return whole_event(v).map(Some);
                    }
                    let vals = cols.iter().zip(&fields).filter_map(|(c, f)| {
                        let c = (*c)?;
                        (!f.is_empty()).then(|| (c, Value::String(f.clone())))
                    });
                    record(vals).map(Some)
                });
                match line {
                    Ok(None) => {}
                    Ok(Some(l)) => emit(Ok(l), &mut out),
                    Err(e) => emit(Err(e), &mut out),
                }
            }
        }
        Form::LakeApi => {
            // The rows are read one at a time as the answer is parsed: a whole answer held as
            // a `Value` took 50 times its size (1.35 GB for a 64 KB gzip of 1.5 million rows).
            let mut row_of = |r: Value| {
                let obj = match r {
                    Value::Array(cells) => {
                        let mut obj = Map::new();
                        let mut err = None;
                        for c in cells {
                            match c {
                                Value::Object(c) => {
                                    for (k, v) in c {
                                        if obj.contains_key(&k) {
                                            err = Some(format!("{DUPLICATE} {k}"));
                                        }
                                        obj.insert(k, v);
                                    }
                                }
                                _ => err = Some("a cell is not a one-entry map".to_string()),
                            }
                        }
                        err.map_or(Ok(obj), Err)
                    }
                    _ => Err("a row is not a list of cells".to_string()),
                };
                emit(obj.and_then(object_row), &mut out);
            };
            let mut seen = 0u32;
            let mut de = serde_json::Deserializer::from_slice(doc);
            let read = serde::de::DeserializeSeed::deserialize(
                lake::Answer { row: &mut row_of, seen: &mut seen },
                &mut de,
            )
            .and_then(|()| de.end());
            if let Err(e) = read {
                let d = match (seen, e.classify()) {
                    (0, _) => "not a GetQueryResults answer (one JSON object)".to_string(),
                    (_, serde_json::error::Category::Data) => {
                        "QueryResultRows is not an array".to_string()
                    }
                    _ => format!("the answer is damaged after its last row read: {e}"),
                };
                emit(Err(d), &mut out);
            } else if seen > 1 {
                // Which list is the answer's? Every row of each is read, and this is counted.
                let d = format!(
                    "{DUPLICATE} QueryResultRows, {seen} times: the rows of each were read"
                );
                emit(Err(d), &mut out);
            }
        }
        Form::JsonLines => {
            for line in doc.split(|&b| b == b'\n') {
                if line.trim_ascii().is_empty() {
                    emit(Ok(Vec::new()), &mut out);
                    continue;
                }
                let r = serde_json::from_slice::<lake::Unique>(line)
                    .map_err(|e| match e.to_string() {
                        d if d.starts_with(DUPLICATE) => d,
                        d => format!("not a JSON object: {d}"),
                    })
                    .and_then(|o| object_row(o.0));
                emit(r, &mut out);
            }
        }
    }
    (out, bad)
}

/// One record from a row given as a JSON object of columns (JSON Lines, `GetQueryResults`).
fn object_row(mut obj: Map<String, Value>) -> Result<Vec<u8>, String> {
    if let Some(v) = obj.remove(EVENT_JSON) {
        return whole_event(v);
    }
    // A role assumption always names its role: a row without it is a result whose SELECT
    // left the column out (Spark leaves null columns out of a row, so the file's other rows
    // cannot say it).
    let named = |k: &str| obj.get(k).is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
    if obj.get("eventname").and_then(Value::as_str).is_some_and(|n| n.starts_with("AssumeRole"))
        && !named("requestparameters")
    {
        return Err("the row has no requestparameters, which every role assumption has".into());
    }
    record(obj.into_iter().filter_map(|(k, v)| {
        let c = COLUMNS.iter().position(|c| c.0 == k)?;
        (!v.is_null()).then_some((c, v))
    }))
}

/// One record from `(column index, value)` pairs: the text fields as a JSON object tree, the
/// JSON-text fields spliced in after it is checked that each is one JSON value.
fn record(vals: impl Iterator<Item = (usize, Value)>) -> Result<Vec<u8>, String> {
    let mut root = Map::new();
    let mut spliced: Vec<(&str, String)> = Vec::new();
    // Every event has these: a row without one (the column left out, or emptied) is not the
    // result of a query of `trailhound query` (an empty `eventsource` gave a plan with no
    // tainted session, verify OK).
    let mut required = [(1usize, false), (2, false), (3, false)];
    debug_assert_eq!(
        required.map(|(c, _)| COLUMNS[c].0),
        ["eventtime", "eventsource", "eventname"]
    );
    for (c, v) in vals {
        let (name, path, kind) = COLUMNS[c];
        if let Some(r) = required.iter_mut().find(|r| r.0 == c) {
            r.1 = !matches!(&v, Value::Null) && v.as_str().is_none_or(|s| !s.trim().is_empty());
        }
        match kind {
            Kind::Json => {
                let text = match v {
                    Value::String(s) if s.trim().is_empty() => continue,
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
                    return Err(format!("column {name} is not one JSON value"));
                }
                // JSON allows raw line breaks only as whitespace between tokens: as spaces,
                // the record stays on its line.
                spliced.push((path[0], text.replace(['\n', '\r'], " ")));
            }
            Kind::Text => {
                let v = match v {
                    Value::String(s) => s,
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(format!("column {name} holds an object or array")),
                };
                let (last, parents) = path.split_last().expect("a column has a path");
                let mut obj = &mut root;
                for p in parents {
                    let e = obj.entry(*p).or_insert_with(|| Value::Object(Map::new()));
                    obj = e.as_object_mut().expect("only objects are made at inner paths");
                }
                obj.insert((*last).to_string(), Value::String(v));
            }
        }
    }
    if let Some((c, _)) = required.iter().find(|r| !r.1) {
        return Err(format!("the row has no {}, which every event has", COLUMNS[*c].0));
    }
    let mut line = serde_json::to_vec(&Value::Object(root)).map_err(|e| e.to_string())?;
    for (key, text) in spliced {
        line.pop(); // the closing brace
        if line.len() > 1 {
            line.push(b',');
        }
        line.extend_from_slice(&serde_json::to_vec(key).map_err(|e| e.to_string())?);
        line.push(b':');
        line.extend_from_slice(text.as_bytes());
        line.push(b'}');
    }
    Ok(line)
}

/// A Parquet query result (`COPY (…) TO 'x.parquet'`, Spark `df.write.parquet`): a Parquet
/// file with the `eventtime` and `eventid` columns, or `eventjson`, and no `event_id` (which would make it a
/// `trailhound export` table, [`super::parquet`]). `None` when `data` is not one; otherwise
/// its rows as [`to_json_lines`] gives them, or why the file cannot be read.
#[allow(clippy::type_complexity)]
pub fn parquet_to_json_lines(data: &[u8]) -> Option<Result<(Vec<u8>, Vec<(u32, String)>), String>> {
    use polars::prelude::{DataType, ParallelStrategy, ParquetReader, SerReader};
    let reader =
        || ParquetReader::new(std::io::Cursor::new(data)).read_parallel(ParallelStrategy::None);
    let schema = reader().schema().ok()?;
    let whole = schema.contains(EVENT_JSON);
    if !(whole || (schema.contains("eventtime") && schema.contains("eventid")))
        || schema.contains("event_id")
    {
        return None;
    }
    let read = || -> Result<(Vec<u8>, Vec<(u32, String)>), String> {
        let df = reader().finish().map_err(|e| format!("unreadable Parquet: {e}"))?;
        let text = |name: &str| -> Result<Option<Vec<Option<String>>>, String> {
            let Ok(c) = df.column(name) else { return Ok(None) };
            let c = c.cast(&DataType::String).map_err(|e| format!("column {name}: {e}"))?;
            let c = c.str().map_err(|e| format!("column {name}: {e}"))?;
            Ok(Some(c.iter().map(|v| v.map(str::to_string)).collect()))
        };
        // With `eventjson` (CloudTrail Lake), each row is that record; otherwise it is rebuilt
        // from the columns of COLUMNS.
        let whole = if whole { text(EVENT_JSON)? } else { None };
        let mut cols = Vec::new();
        if whole.is_none() {
            for (i, (name, _, _)) in COLUMNS.iter().enumerate() {
                if let Some(v) = text(name)? {
                    cols.push((i, v));
                }
            }
        }
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for row in 0..df.height() {
            let line = match &whole {
                Some(w) => whole_event(w[row].clone().map_or(Value::Null, Value::String)),
                None => record(cols.iter().filter_map(|(i, v)| {
                    let s = v[row].as_deref().filter(|s| !s.is_empty())?;
                    Some((*i, Value::String(s.to_string())))
                })),
            };
            match line {
                Ok(line) => out.extend_from_slice(&line),
                Err(d) => {
                    out.extend_from_slice(b"{}");
                    bad.push((row as u32, d));
                }
            }
            out.push(b'\n');
        }
        Ok((out, bad))
    };
    Some(read())
}

/// RFC 4180 rows: fields separated by commas, rows by CRLF or LF, a quoted field may hold
/// commas, line breaks and doubled quotes.
struct Csv<'a> {
    doc: &'a [u8],
    pos: usize,
    /// The most fields a row may have: the header's count once it is read.
    max: usize,
}

/// The most columns a result's header may have (trailhound's own queries select a few dozen).
const MAX_COLUMNS: usize = 4096;

impl Csv<'_> {
    /// The next row; `Err` for a row that is not valid CSV (the rest of the document is then
    /// consumed: an unterminated quote runs to the end).
    fn next_row(&mut self) -> Option<Result<Vec<String>, String>> {
        if self.pos >= self.doc.len() {
            return None;
        }
        let d = self.doc;
        let mut fields = Vec::new();
        let mut field = Vec::new();
        let mut i = self.pos;
        let mut err = None;
        // At most `max` fields are kept: a row of millions of commas (a few KB gzipped) held
        // a vector per field, hundreds of MB.
        let max = self.max;
        let mut over = false;
        let mut put = |fields: &mut Vec<Vec<u8>>, field: &mut Vec<u8>| {
            if fields.len() < max {
                fields.push(std::mem::take(field));
            } else {
                field.clear();
                over = true;
            }
        };
        loop {
            if i >= d.len() {
                put(&mut fields, &mut field);
                break;
            }
            if d[i] == b'"' && field.is_empty() {
                // A quoted field.
                i += 1;
                loop {
                    match d.get(i) {
                        None => {
                            let lines = d[self.pos..].iter().filter(|&&b| b == b'\n').count();
                            err = Some(format!("unterminated quoted field: it runs to the end of the file, so the {lines} line break(s) after the row's start are read as part of it (the rows there are lost)"));
                            break;
                        }
                        Some(b'"') if d.get(i + 1) == Some(&b'"') => {
                            field.push(b'"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            field.push(c);
                            i += 1;
                        }
                    }
                }
                if err.is_some() {
                    i = d.len();
                    break;
                }
                match d.get(i) {
                    None | Some(b',' | b'\n' | b'\r') => {}
                    Some(_) => {
                        err = Some("text after a closing quote".to_string());
                    }
                }
            }
            match d.get(i) {
                None => {
                    put(&mut fields, &mut field);
                    break;
                }
                Some(b',') => {
                    put(&mut fields, &mut field);
                    i += 1;
                }
                Some(b'\r') if d.get(i + 1) == Some(&b'\n') => {
                    put(&mut fields, &mut field);
                    i += 2;
                    break;
                }
                Some(b'\n') => {
                    put(&mut fields, &mut field);
                    i += 1;
                    break;
                }
                Some(&c) => {
                    field.push(c);
                    i += 1;
                }
            }
        }
        self.pos = i;
        if let Some(e) = err {
            return Some(Err(e));
        }
        if over {
            return Some(Err(format!("more than {max} fields (the most the header allows)")));
        }
        let fields: Result<Vec<String>, String> = fields
            .into_iter()
            .map(|f| String::from_utf8(f).map_err(|_| "a field is not UTF-8".to_string()))
            .collect();
        Some(fields)
    }
}

/// How the detail of a row rejected for a column given twice starts (read as a
/// `duplicate_key` reject, SPEC §8: which of the two values is the row's cannot be told).
pub(crate) const DUPLICATE: &str = "a column given twice:";

/// Streaming readers of result rows.
mod lake {
    use super::DUPLICATE;
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Value};
    use std::fmt;

    /// A `GetQueryResults` answer: each row of `QueryResultRows` handed to `row` as it is
    /// read; `seen` counts the key (given twice, the rows of both are read). Other keys are
    /// skipped unread.
    pub(super) struct Answer<'a, F: FnMut(Value)> {
        pub row: &'a mut F,
        pub seen: &'a mut u32,
    }

    impl<'de, F: FnMut(Value)> DeserializeSeed<'de> for Answer<'_, F> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de, F: FnMut(Value)> Visitor<'de> for Answer<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a GetQueryResults answer")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(k) = map.next_key::<String>()? {
                if k == "QueryResultRows" {
                    *self.seen += 1;
                    map.next_value_seed(Rows(&mut *self.row))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if *self.seen == 0 {
                return Err(serde::de::Error::custom("no QueryResultRows"));
            }
            Ok(())
        }
    }

    struct Rows<'a, F: FnMut(Value)>(&'a mut F);

    impl<'de, F: FnMut(Value)> DeserializeSeed<'de> for Rows<'_, F> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de, F: FnMut(Value)> Visitor<'de> for Rows<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("QueryResultRows as an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(v) = seq.next_element::<Value>()? {
                (self.0)(v);
            }
            Ok(())
        }
    }

    /// A JSON object whose keys are each given once: a key given twice is an error whose text
    /// starts with [`DUPLICATE`] (a JSON Lines row; the serde map keeps the last silently).
    pub(super) struct Unique(pub Map<String, Value>);

    impl<'de> serde::Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
            d.deserialize_map(UniqueVisitor)
        }
    }

    struct UniqueVisitor;

    impl<'de> Visitor<'de> for UniqueVisitor {
        type Value = Unique;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut m = Map::new();
            while let Some(k) = map.next_key::<String>()? {
                let v = map.next_value::<Value>()?;
                if m.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("{DUPLICATE} {k}")));
                }
                m.insert(k, v);
            }
            Ok(Unique(m))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(doc: &str, form: Form) -> (Vec<String>, Vec<(u32, String)>) {
        let (out, bad) = to_json_lines(doc.as_bytes(), form);
        let s = String::from_utf8(out).unwrap();
        (s.lines().map(str::to_string).collect(), bad)
    }

    #[test]
    fn detects_by_content() {
        assert_eq!(
            detect(b"\"eventid\",\"eventtime\",\"eventname\"\n\"a\",\"b\",\"c\"\n"),
            Some(Form::Csv)
        );
        assert_eq!(detect(b"eventname,eventtime,eventid\r\n"), Some(Form::Csv));
        assert_eq!(detect(b"{\"eventtime\":\"x\",\"eventid\":\"y\"}\n"), Some(Form::JsonLines));
        assert_eq!(detect(b"{\"eventTime\":\"x\",\"eventID\":\"y\"}\n"), None);
        assert_eq!(detect(b"{\"Records\":[]}"), None);
        assert_eq!(detect(b"name,value\n1,2\n"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn csv_rows_become_records() {
        let doc = "\"eventid\",\"eventtime\",\"eventname\",\"useridentity_accesskeyid\",\"requestparameters\",\"other\",\"eventsource\"\n\
                   \"e1\",\"2024-03-11T09:00:00Z\",\"AssumeRole\",\"AKIAIOSFODNN7EXAMPLE\",\"{\"\"roleArn\"\":\"\"arn:aws:iam::111122223333:role/a,b\"\"}\",\"x\",\"sts.amazonaws.com\"\n\
                   \"e2\",\"2024-03-11T09:01:00Z\",\"GetCallerIdentity\",\"\",\"\",\"\",\"sts.amazonaws.com\"\n";
        let (l, bad) = lines(doc, Form::Csv);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(l.len(), 2);
        let r: Value = serde_json::from_str(&l[0]).unwrap();
        assert_eq!(r["eventID"], "e1");
        assert_eq!(r["userIdentity"]["accessKeyId"], "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(r["requestParameters"]["roleArn"], "arn:aws:iam::111122223333:role/a,b");
        let r: Value = serde_json::from_str(&l[1]).unwrap();
        assert!(r.get("userIdentity").is_none() && r.get("requestParameters").is_none());
    }

    /// A column given twice (a JSON Lines key, a CSV header name, a Lake cell) rejects the row
    /// as a duplicate key instead of keeping the last value (a review read `GetObject` by one
    /// key as `DeleteTrail` by another); a CSV row with more fields than the header stops
    /// being split there; `QueryResultRows` given twice reads both lists and says so.
    #[test]
    fn a_column_given_twice_rejects_its_row() {
        let twice = |bad: &[(u32, String)], row: u32| {
            bad.iter().any(|b| b.0 == row && b.1.starts_with(DUPLICATE))
        };
        let jl = "{\"eventid\":\"e1\",\"eventtime\":\"t\",\"eventname\":\"GetObject\",\"eventname\":\"DeleteTrail\"}\n\
                  {\"eventid\":\"e2\",\"eventtime\":\"t\",\"eventname\":\"GetObject\",\"eventsource\":\"s3.amazonaws.com\"}";
        let (l, bad) = lines(jl, Form::JsonLines);
        assert!(twice(&bad, 0) && bad.len() == 1, "{bad:?}");
        assert!(l[1].contains("GetObject"));
        let csv = "eventid,eventtime,eventname,EventName\ne1,t,GetObject,DeleteTrail\n";
        let (_, bad) = lines(csv, Form::Csv);
        assert!(twice(&bad, 0), "{bad:?}");
        let api = r#"{"QueryResultRows":[[{"eventid":"e1"},{"eventname":"GetObject"},{"eventname":"DeleteTrail"}],[{"eventid":"e2"},{"eventtime":"t"},{"eventsource":"s"},{"eventname":"n"}]]}"#;
        let (l, bad) = lines(api, Form::LakeApi);
        assert_eq!(l.len(), 2);
        assert!(twice(&bad, 0) && bad.len() == 1, "{bad:?}");
        let api = r#"{"QueryResultRows":[[{"eventid":"e1"},{"eventtime":"t"},{"eventsource":"s"},{"eventname":"n"}]],"QueryResultRows":[[{"eventid":"e2"},{"eventtime":"t"},{"eventsource":"s"},{"eventname":"n"}]]}"#;
        let (l, bad) = lines(api, Form::LakeApi);
        assert!(l[0].contains("e1") && l[1].contains("e2"), "{l:?}");
        assert!(twice(&bad, 2), "{bad:?}");
        let wide = format!(
            "eventid,eventtime,eventname,eventsource\ne1,t{}\ne2,t,A,s\n",
            ",".repeat(100_000)
        );
        let (l, bad) = lines(&wide, Form::Csv);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].1.contains("more than 4 fields"), "{bad:?}");
        assert!(l[1].contains("e2"), "the next row is read");
    }

    #[test]
    fn bad_rows_are_rejected_alone() {
        let doc = "eventid,eventtime,eventname,requestparameters,eventsource\n\
                   e1,t,A,,s\n\
                   e2,t\n\
                   e3,t,A,\"{\"\"a\"\":1}, \"\"eventID\"\":\"\"x\"\"\",s\n\
                   e4,t,A,\"{}\",s\n\
                   e5,t,\"A";
        let (l, bad) = lines(doc, Form::Csv);
        assert_eq!(l.len(), 5);
        let rows: Vec<u32> = bad.iter().map(|b| b.0).collect();
        assert_eq!(rows, vec![1, 2, 4], "{bad:?}");
        assert!(bad[0].1.contains("2 fields"));
        assert!(bad[1].1.contains("not one JSON value"));
        assert!(bad[2].1.contains("unterminated"));
        assert_eq!(l[1], "{}");
        assert!(l[3].contains("\"requestParameters\":{}"));
    }

    #[test]
    fn an_eventjson_row_is_its_record_whole() {
        let ev = r#"{"eventVersion":"1.09","eventTime":"2024-03-11T09:00:00Z","eventID":"e1","responseElements":{"credentials":{"accessKeyId":"ASIAIOSFODNN7EXAMPLE"}}}"#;
        let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(ev).unwrap())
            .unwrap()
            .replace('"', "\"\"");
        let doc = format!(
            "eventtime,eventid,eventname,eventjson\n\
             2024-03-11 09:00:00.000,e1,AssumeRole,\"{pretty}\"\n\
             2024-03-11 09:00:01.000,e2,AssumeRole,\n\
             2024-03-11 09:00:02.000,e3,AssumeRole,\"{{}} {{}}\"\n\
             2024-03-11 09:00:03.000,e4,AssumeRole,\"[1]\"\n"
        );
        assert_eq!(detect(doc.as_bytes()), Some(Form::Csv));
        assert_eq!(detect(b"eventjson\n\"{}\"\n"), Some(Form::Csv), "eventjson alone");
        let (l, bad) = lines(&doc, Form::Csv);
        assert_eq!(l.len(), 4, "one line per row, the pretty-printed record on one");
        let r: Value = serde_json::from_str(&l[0]).unwrap();
        assert_eq!(r["responseElements"]["credentials"]["accessKeyId"], "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(r["eventTime"], "2024-03-11T09:00:00Z", "the record's time, not the column's");
        assert_eq!(bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1, 2, 3], "{bad:?}");
        assert!(bad[0].1.contains("empty"));
        assert!(bad[1].1.contains("not one JSON object") && bad[2].1.contains("not one JSON"));

        let jl = format!(
            "{{\"eventtime\":\"x\",\"eventjson\":{}}}\n{{\"eventjson\":null}}\n{{\"eventjson\":{ev}}}\n",
            serde_json::to_string(ev).unwrap()
        );
        assert_eq!(detect(jl.as_bytes()), Some(Form::JsonLines));
        let (l, bad) = lines(&jl, Form::JsonLines);
        assert_eq!(bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1]);
        assert_eq!(l[0], ev);
        assert_eq!(serde_json::from_str::<Value>(&l[2]).unwrap()["eventID"], "e1");

        // The answer of `aws cloudtrail get-query-results`.
        let api = format!(
            "{{\"QueryStatus\": \"FINISHED\", \"QueryResultRows\": [[{{\"eventtime\": \"2024-03-11 09:00:00.000\"}}, {{\"eventjson\": {}}}], [{{\"eventjson\": \"\"}}], [1]]}}",
            serde_json::to_string(ev).unwrap()
        );
        assert_eq!(detect(api.as_bytes()), Some(Form::LakeApi));
        let (l, bad) = lines(&api, Form::LakeApi);
        assert_eq!(l[0], ev);
        assert_eq!(bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1, 2], "{bad:?}");
        let (l, bad) = lines("{\"QueryResultRows\": 5}", Form::LakeApi);
        assert_eq!((l.len(), bad.len()), (1, 1));
        // A record whose text holds the words is not taken for an answer.
        let rec = "{\"eventVersion\":\"1.09\",\"userAgent\":\"\\\"QueryResultRows\\\"\"}\n{\"eventVersion\":\"1.09\"}\n";
        assert_eq!(detect(rec.as_bytes()), None, "{rec}");
    }

    #[test]
    fn json_lines_rows_become_records() {
        let doc = "{\"eventid\":\"e1\",\"eventtime\":\"t\",\"eventsource\":\"s\",\"eventname\":\"n\",\"readonly\":true,\"responseelements\":{\"credentials\":{\"accessKeyId\":\"ASIA\"}},\"resources\":null}\n\
                   \n\
                   [1]\n\
                   {\"eventid\":\"e2\",\"eventtime\":\"t\",\"eventsource\":\"s\",\"eventname\":\"n\",\"requestparameters\":\"{\\n\\\"a\\\":\\n1}\"}\n";
        let (l, bad) = lines(doc, Form::JsonLines);
        assert_eq!(bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![2]);
        let r: Value = serde_json::from_str(&l[0]).unwrap();
        assert_eq!(r["readOnly"], "true");
        assert_eq!(r["responseElements"]["credentials"]["accessKeyId"], "ASIA");
        assert!(l[1].is_empty());
        let r: Value = serde_json::from_str(&l[3]).unwrap();
        assert_eq!(r["requestParameters"]["a"], 1);
    }
}

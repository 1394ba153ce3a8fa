//! `trailhound query` (issue #21): the SQL of the two-phase round trip, run where an
//! organization's trail already lives (Athena, CloudTrail Lake, Spark) or on local files
//! (DuckDB), so that trailhound reads back only the events its analysis needs.
//!
//! - Phase 1 selects the calls the session graph is built from in the window (the names of
//!   [`crate::ingest::needs_detail`]: STS `AssumeRole*`, `GetSessionToken`,
//!   `GetFederationToken`, `AssumeRoot`, IAM `CreateAccessKey`, the user and role grants,
//!   renames and deletions, launches, function and provider changes, sign-in and Cognito
//!   tokens) and `ConsoleLogin`.
//! - Phase 2 runs the session graph and the taint on a phase-1 result (`--from`) and selects
//!   every event signed by a tainted access key id, made by a user the attacker controls
//!   (their console sessions' keys are not in any issuing call), or by a session with a
//!   tainted session's ARN (a console session a sign-in token opened), of a role whose trust
//!   the attacker set, or of an instance or function a tainted key launched or changed
//!   ([`workloads`]), in the same window.
//!
//! Both phases select the same flat columns ([`crate::ingest::result::COLUMNS`]), named so that
//! trailhound rebuilds each row into the record it came from; `sessions`, `blast`, `plan`,
//! `verify` and `investigate` then read the phase-1 and phase-2 results together (CSV or JSON
//! Lines, detected by content) and give the answer of a direct run on the same window for the
//! tainted credentials. What two-phase input cannot know (trail-wide counts, the activity of
//! untainted principals) is stated in a note of `blast` and `plan`
//! ([`crate::ingest::result::NOTE`]); the optional phase 3 ([`phase3`]) fetches where each
//! account's logs begin and end.
//!
//! The column names rest on these AWS pages:
//! - Athena: the table of "Create a table for CloudTrail logs in Athena using manual
//!   partitioning" (<https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table.html>)
//!   and its partition-projection variant, whose date partition is the string column
//!   `timestamp` as `yyyy/MM/dd`
//!   (<https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html>).
//!   `requestparameters` and `responseelements` are JSON strings there; `resources` is an
//!   `ARRAY<STRUCT<arn, accountid, type>>`, turned into JSON with `transform`, `MAP` and
//!   `json_format(CAST(… AS JSON))` (Trino functions, Athena engine version 3). That table
//!   has no column for `managementEvent`, `userIdentity.identityProvider` and
//!   `sessionContext.sourceIdentity`: the Athena query selects them as `NULL`.
//! - DuckDB: the same SELECT over a view that reproduces the Athena table's schema from local
//!   CloudTrail files (`read_json_objects`), with those three fields added, so the DuckDB
//!   round trip is exact (tests/query.rs runs it against a direct run).
//! - Spark SQL: the same SELECT (backtick identifiers, backslash-escaped literals, `to_json`
//!   and `transform`) over the same view built from the files read whole as text
//!   (`wholetext`, `get_json_object`), written as JSON Lines part files with
//!   `INSERT OVERWRITE DIRECTORY … USING json`. Not in CI (Spark takes minutes to install and
//!   start): `benches/query-spark.sh` runs the round trip with PySpark in local mode and
//!   compares it with a direct run.
//! - CloudTrail Lake: its `requestparameters` and `responseelements` are `map<string,string>`,
//!   where how a nested object (`responseElements.credentials`) is encoded is not documented,
//!   but every CloudTrail event data store also has the column `eventjson` ("Supported SQL
//!   schemas for event data stores",
//!   <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/query-supported-event-schemas.html>):
//!   the event's own JSON, which the Lake queries select whole, with `eventtime`, `eventid` and
//!   `eventname` beside it for the reader of the CSV ([`lake`]). A result row with an
//!   `eventjson` column is that record, exactly ([`crate::ingest::result`]); one whose
//!   `eventjson` is empty is rejected. The table is the event data store's id (the ID part of
//!   its ARN), `eventtime` is a `timestamp` compared with `'YYYY-MM-DD HH:MM:SS'` strings (the
//!   form of the page "CloudTrail Lake queries"), and phase 3 uses `min_by`/`max_by` and
//!   `UNION ALL` rather than a sub-query (Lake supports "all valid Presto SQL SELECT
//!   statements, functions, and operators", "CloudTrail Lake SQL constraints",
//!   <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/query-limitations.html>).
//!   tests/query.rs runs the Lake SQL in DuckDB over a view with those columns of the Lake
//!   schema and checks the round trip against a direct run; no live Lake run was made.
//!
//! Every value taken from the evidence (key ids, ARNs) appears in the SQL only inside a
//! string literal, escaped for the engine ([`literal`]). ARNs are `LIKE` patterns of printable
//! ASCII alone ([`like_pattern`]: anything else matches as `%`); a key id is letters and
//! digits, and one holding a control character would be left out and counted in a comment.

use crate::ingest::result::{Kind, COLUMNS};
use crate::model::names::{ROLE_GRANTS, STS_ISSUERS, USER_GRANTS};

/// The engines `trailhound query` writes SQL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Amazon Athena (Trino SQL) over the documented CloudTrail table.
    Athena,
    /// DuckDB over local CloudTrail files, through a view with the Athena table's schema.
    DuckDb,
    /// Spark SQL over CloudTrail files (local or `s3a://`), through the same view.
    Spark,
    /// CloudTrail Lake over an event data store (its `eventjson` column, whole).
    Lake,
}

/// Where and when to query.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    pub engine: Engine,
    /// The table (Athena) or the view to create (DuckDB).
    pub table: String,
    /// Athena: a partition column holding the day as `yyyy/MM/dd` (the partition projection
    /// table's `timestamp`), constrained to the window's days so that Athena reads (and bills)
    /// only those partitions.
    pub date_partition: Option<String>,
    /// DuckDB: the glob of the local CloudTrail files.
    pub files: String,
    /// DuckDB: the CSV file the query writes.
    pub result: String,
    /// The window (unix seconds, inclusive).
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl QueryOptions {
    /// The options of a `trailhound query` command line.
    ///
    /// # Errors
    /// A `--since`/`--until` that is not an RFC 3339 time; `--files` or `--result` holding a
    /// control character.
    pub fn from_args(a: &crate::cli::QueryArgs) -> anyhow::Result<QueryOptions> {
        let time = |name: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
            v.as_deref()
                .map(|s| {
                    crate::time::parse_iso(s).ok_or_else(|| {
                        anyhow::anyhow!(
                            "{name}: {s:?} is not an RFC 3339 time (e.g. 2024-03-11T08:00:00Z)"
                        )
                    })
                })
                .transpose()
        };
        let o = QueryOptions {
            engine: match a.engine {
                crate::cli::QueryEngine::Athena => Engine::Athena,
                crate::cli::QueryEngine::Duckdb => Engine::DuckDb,
                crate::cli::QueryEngine::Spark => Engine::Spark,
                crate::cli::QueryEngine::Lake => Engine::Lake,
            },
            table: a.table.clone(),
            date_partition: a.date_partition.clone(),
            files: a.files.clone(),
            result: a.result.clone().unwrap_or_else(|| format!("trailhound-phase{}.csv", a.phase)),
            since: time("--since", &a.since)?,
            until: time("--until", &a.until)?,
        };
        if o.files.chars().chain(o.result.chars()).any(char::is_control) {
            anyhow::bail!("--files and --result must not hold control characters");
        }
        if let (Some(s), Some(u)) = (o.since, o.until) {
            anyhow::ensure!(s <= u, "--since is after --until");
        }
        let mut o = o;
        if o.engine == Engine::Lake {
            o.table = lake_store(&o.table)?;
        }
        Ok(o)
    }
}

/// The event names of phase 1: the issuing calls, the calls that give the attacker a user
/// or a role's trust, instance launches, Lambda function and SAML provider changes, and console sign-ins.
pub fn issuing_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = STS_ISSUERS.to_vec();
    v.push("CreateAccessKey");
    v.extend_from_slice(USER_GRANTS);
    v.extend_from_slice(ROLE_GRANTS);
    v.push(crate::ingest::LAUNCHES);
    v.extend_from_slice(crate::ingest::FUNCTION_CHANGES);
    v.extend_from_slice(crate::ingest::PROVIDER_CHANGES);
    // The rest of what the session graph is built from ([`crate::ingest::needs_detail`]): a
    // review found the query route's plan without the console session a leaked key's
    // `GetSigninToken` opened, and without what that session made, exit 0 and verify OK.
    v.extend_from_slice(&[
        crate::ingest::USER_RENAME,
        crate::ingest::USER_DELETE,
        crate::ingest::ROLE_DELETE,
        crate::ingest::SIGNIN_TOKEN,
        crate::model::names::COGNITO_DEVELOPER_TOKEN,
    ]);
    // And the sign-ins, flagged in the event table ([`crate::ingest::SIGN_IN`]).
    v.push(crate::ingest::CONSOLE_LOGIN);
    v
}

/// The sessions of the instances each `RunInstances` among `calls` launched and of the
/// Lambda functions each function change set, as `(caller's access key id, ARN prefix)`: the
/// prefix (`arn:aws%:sts::ACCOUNT:assumed-role/%/NAME`, lower case) is what phase 2 selects
/// when the caller is tainted. Those sessions are issued by EC2 or Lambda, in no phase-1 row:
/// a review found the query route's plan without the leaked key's instance's session (verify
/// OK), which the direct run denies.
pub fn workloads(calls: &[crate::ingest::IssuingCall]) -> Vec<(Option<String>, String)> {
    use crate::ingest::IssuingField as F;
    let mut out = Vec::new();
    for e in calls.iter().filter(|e| !e.failed()) {
        let acct = e.get(F::RecipientAccount).or_else(|| e.get(F::AccountId)).unwrap_or("%");
        let key = e.get(F::AccessKeyId).map(String::from);
        let mut push = |acct: &str, name: &str| {
            let p = format!("arn:aws%:sts::{acct}:assumed-role/%/{name}");
            out.push((key.clone(), p));
        };
        if e.name() == crate::ingest::LAUNCHES {
            for id in e.get(F::InstanceIds).unwrap_or("").split(',') {
                if crate::model::is_instance_id(id) {
                    push(acct, id);
                }
            }
        } else if crate::ingest::FUNCTION_CHANGES.contains(&e.name()) {
            let names = e.get(F::FunctionName).map(crate::model::names::function_names);
            for (a, f) in names.unwrap_or_default() {
                push(a.unwrap_or(acct), f);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A SQL string literal of `s` for `engine`, or `None` when `s` holds a control character.
/// Trino and DuckDB double a quote; Spark SQL escapes it (and a backslash) with a backslash,
/// and reads two adjacent literals as one.
pub fn literal(s: &str, engine: Engine) -> Option<String> {
    if s.chars().any(char::is_control) {
        return None;
    }
    Some(match engine {
        Engine::Spark => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        _ => format!("'{}'", s.replace('\'', "''")),
    })
}

/// A quoted identifier (a table or column name given on the command line): double quotes,
/// or backticks in Spark SQL.
fn ident_for(s: &str, engine: Engine) -> String {
    let q = if engine == Engine::Spark { '`' } else { '"' };
    s.split('.')
        .map(|p| format!("{q}{}{q}", p.replace(q, &format!("{q}{q}"))))
        .collect::<Vec<_>>()
        .join(".")
}

/// The expression of one result column over the Athena-schema table.
fn expr(engine: Engine, name: &str, path: &[&str], kind: Kind) -> String {
    let athena_missing =
        ["managementevent", "useridentity_identityprovider", "session_sourceidentity"];
    if engine == Engine::Athena && athena_missing.contains(&name) {
        return "CAST(NULL AS VARCHAR)".to_string();
    }
    if name == "resources" {
        return match engine {
            Engine::Athena => "json_format(CAST(transform(resources, x -> MAP(ARRAY['ARN', 'accountId', 'type'], ARRAY[x.arn, x.accountid, x.type])) AS JSON))".to_string(),
            Engine::DuckDb => "CAST(to_json(list_transform(resources, lambda x: {'ARN': x.arn, 'accountId': x.accountid, 'type': x.type})) AS VARCHAR)".to_string(),
            Engine::Spark => "to_json(transform(resources, x -> map('ARN', x.arn, 'accountId', x.accountid, 'type', x.type)))".to_string(),
            Engine::Lake => unreachable!("the Lake queries select eventjson whole"),
        };
    }
    debug_assert!(kind == Kind::Text || path.len() == 1);
    path.iter().map(|p| p.to_ascii_lowercase()).collect::<Vec<_>>().join(".")
}

/// The SELECT list shared by both phases.
fn select_list(engine: Engine) -> String {
    COLUMNS
        .iter()
        .map(|(name, path, kind)| {
            format!("  {} AS {}", expr(engine, name, path, *kind), ident_for(name, engine))
        })
        .collect::<Vec<_>>()
        .join(",\n")
}

/// The window's conditions (CloudTrail writes `eventTime` as `YYYY-MM-DDTHH:MM:SSZ`, so string
/// order is time order), with the date partition's when there is one.
fn window(o: &QueryOptions) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(s) = o.since {
        w.push(format!("eventtime >= '{}'", crate::time::fmt_iso(s)));
    }
    if let Some(u) = o.until {
        w.push(format!("eventtime <= '{}'", crate::time::fmt_iso(u)));
    }
    if let (Some(col), Engine::Athena) = (&o.date_partition, o.engine) {
        let day = |t: i64| crate::time::fmt_iso(t)[..10].replace('-', "/");
        if let Some(s) = o.since {
            w.push(format!("{} >= '{}'", ident_for(col, o.engine), day(s)));
        }
        if let Some(u) = o.until {
            w.push(format!("{} <= '{}'", ident_for(col, o.engine), day(u)));
        }
    }
    w
}

fn statement(o: &QueryOptions, phase: u8, header: &str, mut conds: Vec<String>) -> String {
    if o.engine == Engine::Lake {
        return lake(o, phase, header, &conds);
    }
    conds.extend(window(o));
    let from = format!("FROM {}\nWHERE {}", ident_for(&o.table, o.engine), conds.join("\n  AND "));
    wrap(o, phase, header, &from)
}

/// The statement of `phase` selecting the result columns `from` (a FROM … WHERE clause).
fn wrap(o: &QueryOptions, phase: u8, header: &str, from: &str) -> String {
    let mut sql =
        format!("-- trailhound query, phase {phase} ({}): {header}\n", engine_name(o.engine));
    if o.since.is_none() && o.until.is_none() {
        sql.push_str("-- no --since/--until: every event of the table is scanned\n");
    }
    let body = format!("SELECT\n{}\n{from}\nORDER BY eventtime, eventid", select_list(o.engine));
    match o.engine {
        Engine::Athena => {
            sql.push_str(&body);
            sql.push_str(";\n");
        }
        Engine::Spark => {
            sql.push_str(&spark_view(o));
            sql.push_str(&format!(
                "INSERT OVERWRITE DIRECTORY {} USING json\n{body};\n",
                literal(&o.result, o.engine).unwrap_or_else(|| "'trailhound-result'".into())
            ));
        }
        Engine::Lake => unreachable!("the Lake statements are written by lake()"),
        Engine::DuckDb => {
            sql.push_str(&duckdb_view(o));
            sql.push_str(&format!(
                "COPY (\n{body}\n) TO {} (HEADER, DELIMITER ',');\n",
                literal(&o.result, o.engine).unwrap_or_else(|| "'trailhound-result.csv'".into())
            ));
        }
    }
    sql
}

fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::Athena => "athena",
        Engine::DuckDb => "duckdb",
        Engine::Spark => "spark",
        Engine::Lake => "lake",
    }
}

/// The event data store id of `--table` for CloudTrail Lake: the ID part of its ARN (a whole
/// ARN is cut to it). It is written bare in the FROM clause, as the Lake examples do, so only
/// letters, digits and hyphens are taken.
fn lake_store(table: &str) -> anyhow::Result<String> {
    let id = table.rsplit_once(":eventdatastore/").map_or(table, |(_, id)| id);
    anyhow::ensure!(
        !id.is_empty()
            && id.len() <= 256
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "--table: {table:?} is not an event data store id (the ID part of its ARN, e.g. EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE)"
    );
    Ok(id.to_string())
}

/// The window for CloudTrail Lake, whose `eventtime` is a `timestamp` compared with
/// `'YYYY-MM-DD HH:MM:SS'` strings.
fn lake_window(o: &QueryOptions) -> Vec<String> {
    let t = |t: i64| crate::time::fmt_iso(t).trim_end_matches('Z').replace('T', " ");
    let mut w = Vec::new();
    if let Some(s) = o.since {
        w.push(format!("eventtime >= '{}'", t(s)));
    }
    if let Some(u) = o.until {
        w.push(format!("eventtime <= '{}'", t(u)));
    }
    w
}

/// A CloudTrail Lake statement: the events' own JSON (`eventjson`) whole, with their time, id
/// and name beside it for whoever reads the CSV. Phase 3 (`conds` empty) takes each account's
/// first and last events with `min_by`/`max_by`, one row each, joined by `UNION ALL`.
fn lake(o: &QueryOptions, phase: u8, header: &str, conds: &[String]) -> String {
    let mut sql = format!("-- trailhound query, phase {phase} (lake): {header}\n");
    if o.since.is_none() && o.until.is_none() {
        sql.push_str("-- no --since/--until: every event of the event data store is scanned\n");
    }
    let mut w = conds.to_vec();
    w.extend(lake_window(o));
    let eds = &o.table;
    if phase == 3 {
        let cond = if w.is_empty() { "TRUE".to_string() } else { w.join(" AND ") };
        let part = |agg: &str, by: &str| {
            format!(
                "SELECT {agg}(eventtime) AS eventtime, {by}(eventjson, eventtime) AS eventjson\nFROM {eds}\nWHERE {cond}\nGROUP BY COALESCE(recipientaccountid, useridentity.accountid)"
            )
        };
        sql.push_str(&format!(
            "{}\nUNION ALL\n{};\n",
            part("min", "min_by"),
            part("max", "max_by")
        ));
        return sql;
    }
    sql.push_str(&format!(
        "SELECT eventtime, eventid, eventname, eventjson\nFROM {eds}\nWHERE {}\nORDER BY eventtime, eventid;\n",
        w.join("\n  AND ")
    ));
    sql
}

/// Phase 1: the issuing calls and console sign-ins in the window.
pub fn phase1(o: &QueryOptions) -> String {
    let names: Vec<String> = issuing_names().iter().map(|n| format!("'{n}'")).collect();
    statement(
        o,
        1,
        "the credential-issuing calls, for the session graph",
        vec![format!("eventname IN ({})", names.join(", "))],
    )
}

/// A user's ARN as a `LIKE` pattern, in lower case, for any path and partition:
/// `arn:aws%:iam::ACCOUNT:user/%NAME`. The taint may know a user only by the name a call gave
/// (a `CreateLoginProfile` of `alice`), while its calls carry `user/dev/alice`: matched
/// exactly, the query route left out the console session of a user with a path, and its plan
/// exited 0 with verify OK where a direct run failed (a review). A pattern asks for more rows,
/// never fewer.
fn user_pattern(arn: &str) -> String {
    let lower = like_pattern(arn);
    match (lower.split_once(":iam::"), lower.rsplit_once('/')) {
        (Some((_, rest)), Some((_, name)))
            if rest.split_once(':').is_some_and(|(_, r)| r.starts_with("user/")) =>
        {
            let account = rest.split(':').next().unwrap_or_default();
            format!("arn:aws%:iam::{account}:user/%{name}")
        }
        _ => lower,
    }
}

/// A `LIKE` pattern of `s` (compared with `lower(…)` of the column) that every engine reads
/// alike and that matches at least what `s` names: ASCII letters lower-cased one by one (on
/// those the engines' `lower()` and Rust's agree), and each run of anything else that is not
/// printable ASCII as `%`: a control character (left out before, with only a comment to say
/// so), a non-ASCII one (Rust lower-cases `İ` to two characters where the engines' simple
/// mapping gives one), an invisible one (which the SQL's output rewrote as `\u{…}` text
/// inside the literal) and the backslash (Spark's default `LIKE` escape, with which
/// `back\slash` failed the statement and `x\_y` matched only `x_y`). Each asked for none of
/// the session's rows, so the query route's plan missed what it did, exit 0 (a review); a
/// `%` asks for more rows, never fewer.
fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if (c.is_ascii_graphic() || c == ' ') && c != '\\' {
            c.to_ascii_lowercase()
        } else {
            '%'
        };
        if !(c == '%' && out.ends_with('%')) {
            out.push(c);
        }
    }
    out
}

/// Phase 2: every event signed by one of `keys`, made by one of `users` (ARNs), or by a
/// session whose ARN starts with one of `roles` (lower case: the tainted sessions' ARNs, the
/// sessions of roles whose trust the attacker set and of what a tainted key launched or
/// changed; `_` in a name matches any character there, which asks for more rows, never
/// fewer).
pub fn phase2(o: &QueryOptions, keys: &[String], users: &[String], roles: &[String]) -> String {
    let lits = |v: &[String]| -> (Vec<String>, usize) {
        let l: Vec<String> = v.iter().filter_map(|s| literal(s, o.engine)).collect();
        let dropped = v.len() - l.len();
        (l, dropped)
    };
    let (k, dk) = lits(keys);
    let (u, du) = lits(&users.iter().map(|a| user_pattern(a)).collect::<Vec<_>>());
    let patterns: Vec<String> = roles.iter().map(|r| like_pattern(&format!("{r}%"))).collect();
    let (r, dr) = lits(&patterns);
    let mut any = Vec::new();
    if !k.is_empty() {
        any.push(format!("useridentity.accesskeyid IN ({})", k.join(", ")));
    }
    for u in &u {
        any.push(format!("lower(useridentity.arn) LIKE {u}"));
    }
    for r in &r {
        any.push(format!("lower(useridentity.arn) LIKE {r}"));
    }
    if any.is_empty() {
        any.push("FALSE".to_string());
    }
    let mut sql = String::new();
    if dk + du + dr > 0 {
        sql.push_str(&format!(
            "-- {} key id(s) or ARN(s) with a control character left out\n",
            dk + du + dr
        ));
    }
    sql.push_str(&statement(
        o,
        2,
        &if r.is_empty() {
            format!(
                "the events of {} tainted access key id(s) and {} user(s) the attacker controls or a tainted credential acts as",
                k.len(),
                u.len()
            )
        } else {
            format!(
                "the events of {} tainted access key id(s), {} user(s) the attacker controls or a tainted credential acts as and {} session ARN pattern(s) (tainted sessions, the sessions of roles whose trust policy the attacker set and of what a tainted key launched or changed)",
                k.len(),
                u.len(),
                r.len()
            )
        },
        vec![format!("({})", any.join("\n    OR "))],
    ));
    sql
}

/// Phase 3 (optional): the first and the last events of each account in the window. With
/// them, the evidence window of each account (where its logs end, which decides the unseen
/// tail, SPEC §9) and the set of accounts with logs are those of the whole trail; only the
/// per-account event counts stay unknown. Costs a second pass over the window (the aggregate,
/// then the rows at its ends).
pub fn phase3(o: &QueryOptions) -> String {
    if o.engine == Engine::Lake {
        return lake(
            o,
            3,
            "the first and last events of each account, for the evidence window",
            &[],
        );
    }
    let acct = "COALESCE(recipientaccountid, useridentity.accountid)";
    let w = window(o);
    let cond = if w.is_empty() { "TRUE".to_string() } else { w.join(" AND ") };
    let from = format!(
        "FROM {t}\nJOIN (\n  SELECT {acct} AS end_account, min(eventtime) AS end_first, max(eventtime) AS end_last\n  FROM {t}\n  WHERE {cond}\n  GROUP BY {acct}\n) ends ON {acct} = ends.end_account AND (eventtime = ends.end_first OR eventtime = ends.end_last)\nWHERE {cond}",
        t = ident_for(&o.table, o.engine),
    );
    wrap(o, 3, "the first and last events of each account, for the evidence window", &from)
}

/// The Spark SQL view with the Athena table's schema (and the three fields that table lacks)
/// over CloudTrail files (`{"Records":[…]}`, gzipped or not), read whole as text
/// (`recursiveFileLookup` under the `--files` directory); every field is taken with
/// `get_json_object`, objects as their JSON text.
fn spark_view(o: &QueryOptions) -> String {
    let s = |p: &str| format!("get_json_object(r, '$.{p}')");
    let st = |fields: &[(&str, String)]| {
        let f: Vec<String> = fields.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
        format!("named_struct({})", f.join(", "))
    };
    let issuer = st(&[
        ("type", s("userIdentity.sessionContext.sessionIssuer.type")),
        ("principalid", s("userIdentity.sessionContext.sessionIssuer.principalId")),
        ("arn", s("userIdentity.sessionContext.sessionIssuer.arn")),
        ("accountid", s("userIdentity.sessionContext.sessionIssuer.accountId")),
        ("username", s("userIdentity.sessionContext.sessionIssuer.userName")),
    ]);
    let context = st(&[
        (
            "attributes",
            st(&[
                ("mfaauthenticated", s("userIdentity.sessionContext.attributes.mfaAuthenticated")),
                ("creationdate", s("userIdentity.sessionContext.attributes.creationDate")),
            ]),
        ),
        ("sessionissuer", issuer),
        ("ec2roledelivery", s("userIdentity.sessionContext.ec2RoleDelivery")),
        ("sourceidentity", s("userIdentity.sessionContext.sourceIdentity")),
        (
            "webidfederationdata",
            st(&[(
                "federatedprovider",
                s("userIdentity.sessionContext.webIdFederationData.federatedProvider"),
            )]),
        ),
    ]);
    let ui = st(&[
        ("type", s("userIdentity.type")),
        ("principalid", s("userIdentity.principalId")),
        ("arn", s("userIdentity.arn")),
        ("accountid", s("userIdentity.accountId")),
        ("invokedby", s("userIdentity.invokedBy")),
        ("accesskeyid", s("userIdentity.accessKeyId")),
        ("username", s("userIdentity.userName")),
        ("identityprovider", s("userIdentity.identityProvider")),
        ("sessioncontext", context),
    ]);
    let mut cols =
        vec![format!("  {} AS eventversion", s("eventVersion")), format!("  {ui} AS useridentity")];
    for (name, path, _) in COLUMNS {
        if path.len() > 1 || *name == "eventversion" || *name == "resources" {
            continue;
        }
        cols.push(format!("  {} AS {name}", s(path[0])));
    }
    cols.push("  transform(from_json(get_json_object(r, '$.resources'), 'ARRAY<STRUCT<ARN: STRING, accountId: STRING, type: STRING>>'), x -> named_struct('arn', x.ARN, 'accountid', x.accountId, 'type', x.type)) AS resources".to_string());
    let raw = ident_for(&format!("{}_files", o.table), Engine::Spark);
    format!(
        "CREATE OR REPLACE TEMPORARY VIEW {raw} USING text OPTIONS (path {}, wholetext 'true', recursiveFileLookup 'true');\nCREATE OR REPLACE TEMPORARY VIEW {} AS\nWITH records AS (\n  SELECT explode(from_json(value, 'Records ARRAY<STRING>').Records) AS r\n  FROM {raw}\n)\nSELECT\n{}\nFROM records;\n",
        literal(&o.files, Engine::Spark).unwrap_or_else(|| "'AWSLogs'".into()),
        ident_for(&o.table, Engine::Spark),
        cols.join(",\n")
    )
}

/// The DuckDB view with the Athena table's schema (and the three fields that table lacks)
/// over local CloudTrail files (`{"Records":[…]}`, gzipped or not).
fn duckdb_view(o: &QueryOptions) -> String {
    let s = |p: &str| format!("r->>'$.{p}'");
    let ui = format!(
        "{{'type': {}, 'principalid': {}, 'arn': {}, 'accountid': {}, 'invokedby': {}, 'accesskeyid': {}, 'username': {}, 'identityprovider': {}, 'sessioncontext': {{'attributes': {{'mfaauthenticated': {}, 'creationdate': {}}}, 'sessionissuer': {{'type': {}, 'principalid': {}, 'arn': {}, 'accountid': {}, 'username': {}}}, 'ec2roledelivery': {}, 'sourceidentity': {}, 'webidfederationdata': {{'federatedprovider': {}}}}}}}",
        s("userIdentity.type"),
        s("userIdentity.principalId"),
        s("userIdentity.arn"),
        s("userIdentity.accountId"),
        s("userIdentity.invokedBy"),
        s("userIdentity.accessKeyId"),
        s("userIdentity.userName"),
        s("userIdentity.identityProvider"),
        s("userIdentity.sessionContext.attributes.mfaAuthenticated"),
        s("userIdentity.sessionContext.attributes.creationDate"),
        s("userIdentity.sessionContext.sessionIssuer.type"),
        s("userIdentity.sessionContext.sessionIssuer.principalId"),
        s("userIdentity.sessionContext.sessionIssuer.arn"),
        s("userIdentity.sessionContext.sessionIssuer.accountId"),
        s("userIdentity.sessionContext.sessionIssuer.userName"),
        s("userIdentity.sessionContext.ec2RoleDelivery"),
        s("userIdentity.sessionContext.sourceIdentity"),
        s("userIdentity.sessionContext.webIdFederationData.federatedProvider"),
    );
    let mut cols =
        vec![format!("  {} AS eventversion", s("eventVersion")), format!("  {ui} AS useridentity")];
    for (name, path, kind) in COLUMNS {
        if path.len() > 1 || *name == "eventversion" || *name == "resources" {
            continue;
        }
        cols.push(match kind {
            Kind::Json => format!("  CAST(json_extract(r, '$.{}') AS VARCHAR) AS {name}", path[0]),
            Kind::Text => format!("  {} AS {name}", s(path[0])),
        });
    }
    cols.push(
        "  list_transform(json_transform(r->'$.resources', '[{\"ARN\": \"VARCHAR\", \"accountId\": \"VARCHAR\", \"type\": \"VARCHAR\"}]'), lambda x: {'arn': x.ARN, 'accountid': x.accountId, 'type': x.type}) AS resources"
            .to_string(),
    );
    format!(
        "CREATE OR REPLACE TEMP VIEW {} AS\nWITH records AS (\n  SELECT unnest(CASE WHEN {} THEN error({}) ELSE json_transform(json->'$.Records', '[\"JSON\"]') END) AS r\n  FROM read_json_objects({}, format = 'auto', filename = true, maximum_object_size = 1073741824)\n),\nchecked AS (\n  SELECT r FROM records\n  WHERE CASE WHEN {} THEN error({}) ELSE true END\n)\nSELECT\n{}\nFROM checked;\n",
        ident_for(&o.table, o.engine),
        twice_in("json"),
        DUCKDB_FILE_KEY_TWICE_ERROR,
        literal(&o.files, o.engine).unwrap_or_else(|| "'AWSLogs/**/*.json.gz'".into()),
        duckdb_key_twice(),
        DUCKDB_KEY_TWICE_ERROR,
        cols.join(",\n")
    )
}

/// The objects of a record whose fields the DuckDB view picks out one by one: DuckDB keeps a
/// key written twice (a forged record: `responseElements` twice, a decoy first) and its path
/// lookups return the first copy, where trailhound's own reader rejects the record (SPEC §8).
/// The objects selected whole as JSON text (`requestParameters`, `responseElements`, …) keep
/// both copies and are rejected when trailhound reads the result.
const DUCKDB_PICKED: [&str; 6] = [
    "r",
    "r->'$.userIdentity'",
    "r->'$.userIdentity.sessionContext'",
    "r->'$.userIdentity.sessionContext.attributes'",
    "r->'$.userIdentity.sessionContext.sessionIssuer'",
    "r->'$.userIdentity.sessionContext.webIdFederationData'",
];

/// Stops the query (DuckDB's `error`) at a record with a key written twice: a result that
/// read one copy of it would be silently other than what a direct run reads.
const DUCKDB_KEY_TWICE_ERROR: &str = "'trailhound: the CloudTrail record ' || coalesce(regexp_replace(r->>'$.eventID', '[^A-Za-z0-9-]', '?', 'g'), 'without an eventID') || ' has a key written twice in one object (a damaged or forged record: DuckDB reads one copy); run trailhound on these files directly, which rejects the record and names its file'";

/// The same for a file whose own object has a key written twice (`"Records"` twice: DuckDB
/// reads the first array, a direct read both, a review).
const DUCKDB_FILE_KEY_TWICE_ERROR: &str = "'trailhound: the CloudTrail file ' || regexp_replace(filename, '[^A-Za-z0-9._/-]', '?', 'g') || ' has a key written twice in its top-level object (a damaged or forged file: DuckDB reads one copy); run trailhound on these files directly'";

/// Whether the JSON object `o` has a key written twice.
fn twice_in(o: &str) -> String {
    format!("coalesce(len(json_keys({o})) <> len(list_distinct(json_keys({o}))), false)")
}

/// Whether a record has a key written twice in an object the view picks fields from (or in
/// one of its `resources`).
fn duckdb_key_twice() -> String {
    let mut any: Vec<String> = DUCKDB_PICKED.iter().map(|o| twice_in(o)).collect();
    any.push(format!(
        "coalesce(list_bool_or(list_transform(json_transform(r->'$.resources', '[\"JSON\"]'), lambda x: {})), false)",
        twice_in("x")
    ));
    any.join(" OR ")
}

/// What to ask phase 2 for: the access key ids (the seeds' and every tainted credential's),
/// the ARNs of the users the attacker controls, and the session ARN prefixes
/// (`arn:aws%:sts::ACCOUNT:assumed-role/NAME/`, lower case: `aws%` for every partition, as
/// `aws-cn` or `aws-us-gov`, which asks for more rows, never fewer) of the roles whose trust policy
/// the attacker set, whose sessions without an issuing call in phase 1 are tainted by their
/// use alone ([`crate::taint`], rule 3), of the tainted sessions themselves, and of the
/// `workloads` a tainted key (or a call without a key) launched or changed; each sorted.
pub(crate) fn tainted(
    g: &crate::chain::SessionGraph,
    seeds: &[crate::model::SeedKey],
    workloads: Vec<(Option<String>, String)>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut notes = Vec::new();
    let idx = crate::blast::seed_nodes(g, seeds, &mut notes);
    let t = crate::taint::taint(g, &idx);
    // Key ids only: a seed of a credential with no key (`no-key@USER@TIME`, a principal's
    // console session) names none.
    let key_id = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric());
    let mut keys: std::collections::BTreeSet<String> =
        seeds.iter().map(|s| s.key_id().to_string()).filter(|k| key_id(k)).collect();
    keys.extend(
        t.nodes
            .iter()
            .filter_map(|&n| g.nodes[n].access_key_id.as_ref().map(|k| k.to_string()))
            .filter(|k| key_id(k)),
    );
    // The attacker's users, and every IAM user a tainted credential acts as (a `--principal`
    // seed's): a user's console sessions have keys no phase-1 row shows, so the query route
    // left them out (16 of 28 tainted sessions of a principal seed, plan 0 and verify OK
    // where a direct run failed, a review).
    let mut users: std::collections::BTreeSet<String> =
        t.attacker_users.iter().map(|u| u.user_arn.clone()).collect();
    users.extend(t.nodes.iter().filter_map(|&n| {
        g.nodes[n]
            .principal_arn
            .as_deref()
            .filter(|a| crate::chain::arn_is(a, "user/"))
            .map(String::from)
    }));
    let mut roles: std::collections::BTreeSet<String> = t
        .attacker_roles
        .iter()
        .map(|(acct, name)| format!("arn:aws%:sts::{acct}:assumed-role/{name}/"))
        .collect();
    // The ARN of each tainted role or federated session: a console session its sign-in token
    // opened has that ARN and a key of its own that no phase-1 row shows (a review found what
    // such a session made missing from the query route's plan, verify OK).
    for &n in &t.nodes {
        let arn = g.nodes[n].principal_arn.as_deref().unwrap_or("");
        if crate::chain::arn_is(arn, "assumed-role/")
            || crate::chain::arn_is(arn, "federated-user/")
        {
            roles.insert(arn.to_string());
        }
    }
    // The sessions of what a tainted key (or a call without a key) launched or changed.
    roles.extend(
        workloads
            .into_iter()
            .filter(|(k, _)| k.as_ref().is_none_or(|k| keys.contains(k)))
            .map(|(_, p)| p),
    );
    (keys.into_iter().collect(), users.into_iter().collect(), roles.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(engine: Engine) -> QueryOptions {
        QueryOptions {
            engine,
            table: "db.cloudtrail_logs".into(),
            date_partition: None,
            files: "AWSLogs/**/*.json.gz".into(),
            result: "out.csv".into(),
            since: crate::time::parse_iso("2024-03-11T00:00:00Z"),
            until: None,
        }
    }

    #[test]
    fn evidence_strings_stay_inside_escaped_literals() {
        let keys = vec!["AKIA'); DROP TABLE x; --".to_string(), "ASIA\nEVIL".to_string()];
        let users = vec!["arn:aws:iam::111122223333:user/o'brien".to_string()];
        for e in [Engine::Athena, Engine::DuckDb, Engine::Spark] {
            let sql = phase2(&opts(e), &keys, &users, &[]);
            let (k, u) = if e == Engine::Spark {
                ("'AKIA\\'); DROP TABLE x; --'", "'arn:aws%:iam::111122223333:user/%o\\'brien'")
            } else {
                ("'AKIA''); DROP TABLE x; --'", "'arn:aws%:iam::111122223333:user/%o''brien'")
            };
            assert!(sql.contains(k), "{sql}");
            assert!(sql.contains(u), "{sql}");
            assert!(!sql.contains("EVIL"), "a value with a control character is left out");
            assert!(sql.starts_with("-- 1 key id(s) or ARN(s) with a control character left out\n"));
            assert!(sql.contains("1 tainted access key id(s) and 1 user(s) the attacker controls"));
            let from = if e == Engine::Spark {
                "FROM `db`.`cloudtrail_logs`"
            } else {
                "FROM \"db\".\"cloudtrail_logs\""
            };
            assert!(sql.contains(from), "{sql}");
            assert!(sql.contains("eventtime >= '2024-03-11T00:00:00Z'"));
        }
        assert_eq!(literal("a\\'b", Engine::Spark).unwrap(), "'a\\\\\\'b'");
        // The sessions of a role whose trust policy the attacker set, by ARN prefix.
        let roles = vec!["arn:aws:sts::111122223333:assumed-role/o'x/".to_string()];
        let sql = phase2(&opts(Engine::Athena), &[], &[], &roles);
        assert!(
            sql.contains(
                "lower(useridentity.arn) LIKE 'arn:aws:sts::111122223333:assumed-role/o''x/%'"
            ),
            "{sql}"
        );
        assert!(sql.contains("and 1 session ARN pattern(s)"), "{sql}");
        // A user in any path and partition, its name in any case.
        let users = vec!["arn:aws:iam::111122223333:user/Alice".to_string()];
        let sql = phase2(&opts(Engine::Athena), &[], &users, &[]);
        assert!(
            sql.contains("lower(useridentity.arn) LIKE 'arn:aws%:iam::111122223333:user/%alice'"),
            "{sql}"
        );
        let none = phase2(&opts(Engine::Athena), &[], &[], &[]);
        assert!(none.contains("WHERE (FALSE)"), "no tainted key: nothing selected: {none}");
    }

    #[test]
    fn lake_selects_eventjson_from_an_event_data_store_id() {
        let mut o = opts(Engine::Lake);
        o.table = lake_store(
            "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE",
        )
        .unwrap();
        assert_eq!(o.table, "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE");
        for bad in ["cloudtrail_logs", "eds; DROP TABLE x", "", "a b", "\"q\""] {
            assert!(lake_store(bad).is_err(), "{bad:?}");
        }
        o.until = crate::time::parse_iso("2024-03-12T23:59:59Z");
        let p1 = phase1(&o);
        assert!(p1.contains("SELECT eventtime, eventid, eventname, eventjson\nFROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE\n"), "{p1}");
        assert!(p1.contains("eventtime >= '2024-03-11 00:00:00'"), "{p1}");
        assert!(p1.contains("eventtime <= '2024-03-12 23:59:59'"), "{p1}");
        for n in issuing_names() {
            assert!(p1.contains(&format!("'{n}'")), "{n}");
        }
        let p2 = phase2(&o, &["AKIA'x".to_string()], &[], &[]);
        assert!(p2.contains("useridentity.accesskeyid IN ('AKIA''x')"), "{p2}");
        let p3 = phase3(&o);
        assert_eq!(
            p3.matches("GROUP BY COALESCE(recipientaccountid, useridentity.accountid)").count(),
            2
        );
        assert!(
            p3.contains("min_by(eventjson, eventtime)")
                && p3.contains("max_by(eventjson, eventtime)")
        );
        assert!(p3.contains("\nUNION ALL\n"));
    }

    #[test]
    fn phase1_selects_every_issuing_call_and_each_result_column_once() {
        let sql = phase1(&opts(Engine::Athena));
        for n in issuing_names() {
            assert!(sql.contains(&format!("'{n}'")), "{n}");
        }
        for (name, _, _) in COLUMNS {
            assert_eq!(sql.matches(&format!(" AS \"{name}\"")).count(), 1, "{name}");
        }
        assert!(sql.contains("-- trailhound query, phase 1 (athena)"));
        // The graph's every input, and nothing it does not read.
        for n in issuing_names().into_iter().filter(|&n| n != crate::ingest::CONSOLE_LOGIN) {
            assert!(crate::ingest::needs_detail(n), "{n}");
        }
        for n in ["GetSigninToken", "UpdateUser", "DeleteUser", "DeleteRole"] {
            assert!(issuing_names().contains(&n), "{n}");
        }
        let duck = phase1(&opts(Engine::DuckDb));
        assert!(duck.contains("read_json_objects('AWSLogs/**/*.json.gz'"));
        assert!(duck.contains(") TO 'out.csv' (HEADER, DELIMITER ',');"));
    }
}

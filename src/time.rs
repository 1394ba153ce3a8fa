//! Timestamps as UTC unix seconds, and the parsers for the three time formats CloudTrail uses.
//!
//! * `eventTime` and `sessionContext.attributes.creationDate`: ISO 8601, extended
//!   (`2023-07-10T11:42:31Z`, what real logs carry) or basic (`20131102T010628Z`, what the
//!   userIdentity reference documents). Both are accepted (CLOUDTRAIL.md §4, F5).
//! * `credentials.expiration`, `accessKey.createDate`: the US-style locale string
//!   `Nov 29, 2018 4:31:59 AM` or, since 2023, `Aug 26, 2023, 9:54:28 PM` (F12).
//!
//! Everything is kept as `i64` seconds: CloudTrail has second precision and an integer is
//! cheap to compare, sort and hash.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time as unix seconds, the form every result keeps its times in: compared and
/// sorted as an integer, formatted only where text is written. It serializes as
/// [`fmt_iso`] writes it and deserializes with [`parse_iso`] (a value that is not a time is
/// an error naming the value); [`Display`](fmt::Display) is [`fmt_iso`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub i64);

impl Time {
    /// The time as unix seconds.
    pub fn secs(self) -> i64 {
        self.0
    }

    /// An optional timestamp as a `Time`.
    pub fn opt(t: Option<i64>) -> Option<Time> {
        t.map(Time)
    }

    /// Parses a timestamp as [`parse_iso`] does.
    pub fn parse(s: &str) -> Option<Time> {
        parse_iso(s).map(Time)
    }
}

impl From<i64> for Time {
    fn from(t: i64) -> Self {
        Time(t)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_iso(self.0))
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fmt_iso(self.0))
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Time::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a time: {s:?}")))
    }
}

/// An optional time as text: [`fmt_iso`], or `none` when there is none.
pub fn fmt_or(t: Option<Time>, none: &str) -> String {
    t.map_or_else(|| none.to_string(), |t| fmt_iso(t.0))
}

/// `deserialize_with` for an informational `Option<Time>` of a document that is read back
/// (`plan.json`) and that nothing reads: a string that is not a time reads as `None`, as a
/// hand-edited value there was ignored when these fields were strings. `null` is `None`;
/// a value that is not a string is still an error. Pair it with `#[serde(default)]`, so that
/// a missing field is `None` as it was for an `Option<String>`.
pub fn de_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.and_then(|s| Time::parse(&s)))
}

/// Like [`de_lenient`] for a field that must be present as a string: only a string that is
/// not a time reads as `None`; `null` is an error, as it was for a `String` field.
pub fn de_lenient_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
    Ok(Time::parse(&String::deserialize(d)?))
}

/// Parses an ISO 8601 / RFC 3339 timestamp (extended or basic notation) to unix seconds.
///
/// The common `YYYY-MM-DDTHH:MM:SSZ` shape is decoded by hand (it is on every record, so it
/// is on the hot path); anything else goes through chrono.
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() == 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[19] == b'Z' {
        let n = |i: usize, len: usize| -> Option<u32> {
            let mut v = 0u32;
            for &c in &b[i..i + len] {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + u32::from(c - b'0');
            }
            Some(v)
        };
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(n(0, 4)? as i32, n(5, 2)?, n(8, 2)?)?;
        let dt = date.and_hms_opt(n(11, 2)?, n(14, 2)?, n(17, 2)?)?;
        return Some(dt.and_utc().timestamp());
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp());
    }
    // Basic notation, as in the userIdentity reference: 20131102T010628Z.
    let t = s.strip_suffix('Z').unwrap_or(s);
    for fmt in ["%Y%m%dT%H%M%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(dt.and_utc().timestamp());
        }
    }
    None
}

/// Parses the US-style date strings of STS and IAM responses (`expiration`, `createDate`).
///
/// Accepts `Nov 29, 2018 4:31:59 AM` and `Aug 26, 2023, 9:54:28 PM`, and falls back to
/// ISO 8601 for exports that normalised the field.
pub fn parse_us_date(s: &str) -> Option<i64> {
    us_date_as_sts_writes_it(s).or_else(|| parse_us_date_in_general(s))
}

/// [`parse_us_date`] of the one shape STS and IAM write (`Nov 29, 2018 4:31:59 AM`, with or
/// without the comma after the year; English month abbreviation, single spaces, upper-case
/// AM/PM), decoded by hand: it is in every issuing call's response, and chrono's pattern
/// parse, tried pattern after pattern on a cleaned copy, took 0.7 µs a date in a tight loop
/// (this takes 40 ns), 1.7% of a cold `plan`'s CPU in a profile at 1 GB of trail. `None` for
/// anything else, which [`parse_us_date_in_general`] reads (it gives the same time for every
/// string this one reads: tested on every day of four years).
fn us_date_as_sts_writes_it(s: &str) -> Option<i64> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let b = s.as_bytes();
    let month = MONTHS.iter().position(|m| b.get(..3) == Some(&m[..]))? as u32 + 1;
    let mut at = 3;
    let lit = |at: &mut usize, want: &[u8]| -> Option<()> {
        (b.get(*at..*at + want.len())? == want).then(|| *at += want.len())
    };
    // One or two digits, or exactly `width` when it is given.
    let num = |at: &mut usize, width: Option<usize>| -> Option<u32> {
        let digits = b.get(*at..)?.iter().take_while(|c| c.is_ascii_digit()).count();
        let ok = match width {
            Some(w) => digits == w,
            None => (1..=2).contains(&digits),
        };
        if !ok {
            return None;
        }
        let v = b[*at..*at + digits].iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
        *at += digits;
        Some(v)
    };
    lit(&mut at, b" ")?;
    let day = num(&mut at, None)?;
    lit(&mut at, b", ")?;
    let year = num(&mut at, Some(4))?;
    if b.get(at) == Some(&b',') {
        at += 1;
    }
    lit(&mut at, b" ")?;
    let hour = num(&mut at, None)?;
    lit(&mut at, b":")?;
    let minute = num(&mut at, Some(2))?;
    lit(&mut at, b":")?;
    let second = num(&mut at, Some(2))?;
    let pm = match b.get(at..)? {
        b" AM" => false,
        b" PM" => true,
        _ => return None,
    };
    if !(1..=12).contains(&hour) || minute > 59 || second > 59 {
        return None;
    }
    let hour = hour % 12 + if pm { 12 } else { 0 };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    Some(date.and_hms_opt(hour, minute, second)?.and_utc().timestamp())
}

/// [`parse_us_date`] of any shape it accepts.
///
/// Without AM or PM, an hour past 12 (or 0) reads as the 24-hour clock; an hour from 1 to 12
/// is read as nothing: `Mar 12, 2024, 1:00:00` is 1 AM or 1 PM, and a session's end read 12
/// hours early was believed, the session planned as over while alive (STS and IAM write
/// AM or PM; the shape is a converter's, which dropped it or wrote 24 hours: the session is
/// given its kind's longest life instead).
fn parse_us_date_in_general(s: &str) -> Option<i64> {
    let cleaned: String = s.replace(", ", " ").replace(',', " ");
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    for fmt in ["%b %d %Y %I:%M:%S %p", "%B %d %Y %I:%M:%S %p", "%b %d %Y %H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&cleaned, fmt) {
            use chrono::Timelike;
            if fmt.ends_with("%H:%M:%S") && (1..=12).contains(&dt.hour()) {
                return None;
            }
            return Some(dt.and_utc().timestamp());
        }
    }
    parse_iso(s)
}

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn fmt_iso(t: i64) -> String {
    let mut s = String::with_capacity(20);
    push_iso(&mut s, t);
    s
}

/// Appends [`fmt_iso`]`(t)` to `out`. Written out by hand (the civil date from the day
/// number, then the digits): it names every session node, so it is on the graph's hot path,
/// where `format!` (and chrono's `format`, which re-parses its pattern) cost more than the
/// rest of the node.
pub fn push_iso(out: &mut String, t: i64) {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's
    // `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        out.push_str(&fmt_iso_rare(t));
        return;
    }
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, v: i64, width: usize| {
        let mut v = v;
        for k in (at..at + width).rev() {
            b[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, secs / 3600, 2);
    put(14, secs / 60 % 60, 2);
    put(17, secs % 60, 2);
    out.push_str(std::str::from_utf8(&b).unwrap_or_default());
}

/// [`fmt_iso`] of a time outside the years 0 to 9999 (or of any time chrono cannot
/// represent: the number itself).
fn fmt_iso_rare(t: i64) -> String {
    match DateTime::<Utc>::from_timestamp(t, 0) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => t.to_string(),
    }
}

/// Formats an optional timestamp; `None` stays `None`.
pub fn fmt_opt(t: Option<i64>) -> Option<String> {
    t.map(fmt_iso)
}

/// The current time in unix seconds, honouring `SOURCE_DATE_EPOCH` so that outputs that
/// carry a generation time can be pinned for reproducible builds and tests.
pub fn now() -> i64 {
    if let Some(v) = std::env::var_os("SOURCE_DATE_EPOCH") {
        if let Some(t) = v.to_str().and_then(|s| s.trim().parse::<i64>().ok()) {
            return t;
        }
    }
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `fmt_iso` was before it was written out by hand: chrono's fields through `format!`.
    fn fmt_iso_chrono(t: i64) -> String {
        use chrono::{Datelike, Timelike};
        match DateTime::<Utc>::from_timestamp(t, 0) {
            Some(dt) if (0..=9999).contains(&dt.year()) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            ),
            Some(dt) => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            None => t.to_string(),
        }
    }

    #[test]
    fn fmt_iso_matches_chrono_everywhere() {
        let year0 = -62_167_219_200i64; // 0000-01-01T00:00:00Z
        let year10000 = 253_402_300_800i64; // 10000-01-01T00:00:00Z
        let mut ts = vec![0, -1, 1, 951_782_400, 951_868_799, 4_107_542_400, i64::MIN, i64::MAX];
        for edge in [year0, year10000] {
            ts.extend((-90_000..90_000).step_by(997).map(|d| edge + d));
        }
        // Eight centuries (leap years, century rules), a day about every three, at varying seconds.
        let mut t = -11_676_096_000i64; // 1600-01-01, to 2400-01-01
        while t < 13_569_465_600 {
            ts.push(t);
            t += 86_400 * 3 + 7_919;
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ts.push((x as i64) >> 20);
        }
        for t in ts {
            assert_eq!(fmt_iso(t), fmt_iso_chrono(t), "t = {t}");
            let mut s = String::from("K@");
            push_iso(&mut s, t);
            assert_eq!(s, format!("K@{}", fmt_iso_chrono(t)));
        }
    }

    #[test]
    fn iso_extended_and_basic_agree() {
        let a = parse_iso("2013-11-02T01:06:28Z").unwrap();
        assert_eq!(parse_iso("20131102T010628Z"), Some(a));
        assert_eq!(parse_iso("2013-11-02T01:06:28.000Z"), Some(a));
        assert_eq!(parse_iso("2013-11-02T02:06:28+01:00"), Some(a));
        assert_eq!(fmt_iso(a), "2013-11-02T01:06:28Z");
    }

    #[test]
    fn iso_rejects_garbage() {
        assert_eq!(parse_iso("2013-13-02T01:06:28Z"), None);
        assert_eq!(parse_iso("not a time"), None);
        assert_eq!(parse_iso(""), None);
    }

    #[test]
    fn us_dates_both_styles() {
        // F12: both the 2018 and the 2023+ (extra comma) shapes.
        assert_eq!(parse_us_date("Nov 29, 2018 4:31:59 AM"), parse_iso("2018-11-29T04:31:59Z"));
        assert_eq!(parse_us_date("Aug 26, 2023, 9:54:28 PM"), parse_iso("2023-08-26T21:54:28Z"));
        assert_eq!(parse_us_date("Jul 18, 2023, 12:07:39 AM"), parse_iso("2023-07-18T00:07:39Z"));
        assert_eq!(parse_us_date("2023-07-18T00:07:39Z"), parse_iso("2023-07-18T00:07:39Z"));
        assert_eq!(parse_us_date("tomorrow"), None);
        // Without AM or PM: the 24-hour clock where the hour says so, nothing where it may be
        // either (1 AM or 1 PM).
        assert_eq!(parse_us_date("Mar 12, 2024, 13:00:00"), parse_iso("2024-03-12T13:00:00Z"));
        assert_eq!(parse_us_date("Mar 12, 2024, 0:30:00"), parse_iso("2024-03-12T00:30:00Z"));
        assert_eq!(parse_us_date("Mar 12, 2024, 1:00:00"), None);
        assert_eq!(parse_us_date("Mar 12, 2024, 12:00:00"), None);
    }

    /// The hand-written reader of the shape STS writes gives what the general one gives,
    /// wherever it reads a date; what it does not read is left to the general one.
    #[test]
    fn us_dates_as_sts_writes_them_read_as_the_general_parser_reads_them() {
        let months =
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let mut read = 0;
        for year in [1999, 2000, 2023, 2024] {
            for (m, month) in months.iter().enumerate() {
                for day in 1..=31 {
                    for (hour, minute, second) in [(12, 0, 0), (1, 7, 59), (9, 59, 0), (11, 30, 1)]
                    {
                        for p in ["AM", "PM"] {
                            for comma in ["", ","] {
                                let s = format!("{month} {day}, {year}{comma} {hour}:{minute:02}:{second:02} {p}");
                                let fast = us_date_as_sts_writes_it(&s);
                                let general = parse_us_date_in_general(&s);
                                assert_eq!(fast, general, "{s}");
                                let real =
                                    NaiveDate::from_ymd_opt(year, m as u32 + 1, day).is_some();
                                assert_eq!(fast.is_some(), real, "{s}");
                                read += usize::from(fast.is_some());
                            }
                        }
                    }
                }
            }
        }
        // Every day of two common and two leap years (2000 is one), four times each.
        assert_eq!(read, (365 * 2 + 366 * 2) * 4 * 2 * 2);
        // Zero-padded days and hours read too.
        let s = "Mar 01, 2024 09:05:06 PM";
        assert_eq!(us_date_as_sts_writes_it(s), parse_iso("2024-03-01T21:05:06Z"));
        assert_eq!(us_date_as_sts_writes_it(s), parse_us_date_in_general(s));
        // Other shapes are the general parser's (or nobody's): same answer either way.
        for s in [
            "nov 29, 2018 4:31:59 AM",
            "November 29, 2018 4:31:59 AM",
            "Nov 29, 2018 16:31:59",
            "Nov 29, 2018 0:31:59 AM",
            "Nov 29, 2018 13:31:59 PM",
            "Nov 29,  2018 4:31:59 AM",
            "Nov 29, 2018 4:31:59 am",
            "Nov 29, 2018 4:31:60 AM",
            "Nov 29, 2018 4:31:59 AM ",
            "Nov 29, 18 4:31:59 AM",
            "Nov 229, 2018 4:31:59 AM",
            "Nov 29, 2018 4:31:5 AM",
            "Nov",
            "",
            "2023-07-18T00:07:39Z",
        ] {
            assert_eq!(us_date_as_sts_writes_it(s), None, "{s}");
            assert_eq!(parse_us_date(s), parse_us_date_in_general(s), "{s}");
        }
    }

    #[test]
    fn time_serializes_as_fmt_iso_and_round_trips() {
        let t = Time(parse_iso("2024-03-11T10:00:00Z").unwrap());
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2024-03-11T10:00:00Z\"");
        assert_eq!(serde_json::from_str::<Time>(&json).unwrap(), t);
        assert_eq!(t.to_string(), "2024-03-11T10:00:00Z");
        // Any shape `parse_iso` accepts reads; it is written back in the one canonical shape.
        let offset: Time = serde_json::from_str("\"2024-03-11T11:00:00+01:00\"").unwrap();
        assert_eq!(offset, t);
        let basic: Time = serde_json::from_str("\"20240311T100000Z\"").unwrap();
        assert_eq!(basic, t);
        assert_eq!(serde_json::to_string(&Some(t)).unwrap(), json);
        assert_eq!(serde_json::to_string(&None::<Time>).unwrap(), "null");
        assert!(Time(1) < Time(2));
    }

    #[test]
    fn a_bad_time_is_an_error_naming_the_value() {
        let e = serde_json::from_str::<Time>("\"yesterday\"").unwrap_err().to_string();
        assert!(e.contains("not a time: \"yesterday\""), "{e}");
        assert!(serde_json::from_str::<Time>("\"2024-13-01T00:00:00Z\"").is_err());
        assert!(serde_json::from_str::<Time>("1710151200").is_err(), "a number is not a time");
        assert!(serde_json::from_str::<Time>("null").is_err());
    }

    #[test]
    fn time_outside_four_digit_years_serializes_as_fmt_iso() {
        // Whatever `fmt_iso` writes outside years 0–9999 (chrono's sign and width, or the bare
        // number outside chrono's range) is what the JSON shows.
        for t in [-62_167_219_201, 253_402_300_800, i64::MAX, i64::MIN] {
            let json = serde_json::to_string(&Time(t)).unwrap();
            assert_eq!(json, format!("\"{}\"", fmt_iso(t)), "{t}");
            assert_eq!(Time(t).to_string(), fmt_iso(t));
        }
        assert_eq!(fmt_iso(253_402_300_800), "+10000-01-01T00:00:00Z");
        assert_eq!(fmt_iso(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn lenient_reads_a_bad_string_as_none_and_refuses_other_types() {
        #[derive(Deserialize)]
        struct D {
            #[serde(default, deserialize_with = "de_lenient")]
            a: Option<Time>,
            #[serde(deserialize_with = "de_lenient_str")]
            b: Option<Time>,
        }
        let d: D = serde_json::from_str(r#"{"a": "junk", "b": "2024-03-11T10:00:00Z"}"#).unwrap();
        assert_eq!((d.a, d.b), (None, Some(Time(1_710_151_200))));
        let d: D = serde_json::from_str(r#"{"a": null, "b": "junk"}"#).unwrap();
        assert_eq!((d.a, d.b), (None, None));
        let d: D = serde_json::from_str(r#"{"b": "junk"}"#).unwrap();
        assert_eq!(d.a, None);
        assert!(serde_json::from_str::<D>(r#"{"a": null}"#).is_err(), "b is required");
        assert!(serde_json::from_str::<D>(r#"{"a": 5, "b": "junk"}"#).is_err());
        assert!(serde_json::from_str::<D>(r#"{"a": null, "b": null}"#).is_err());
    }
}

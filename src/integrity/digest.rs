//! Digest documents, parsed into typed structs with serde (never a whole `serde_json::Value`):
//! the fields validation uses are kept, and each `logFiles[]` entry is handed to a callback as
//! it is read and then dropped, so a digest listing millions of entries costs no more memory
//! than one entry. Parsing is lenient per field: a field of the wrong type is recorded as a
//! malformed-field message (at most [`MAX_MALFORMED`] named per digest, the rest counted) and
//! read as absent, never a reason to reject the whole digest. A duplicate top-level key is an
//! error: two parsers could read two different digests from it.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// Malformed-field messages named per digest; further ones are counted.
pub const MAX_MALFORMED: usize = 5;

/// A JSON value expected to be a string, read leniently.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Lenient<'a> {
    /// Absent or `null`.
    #[default]
    Null,
    /// A string.
    Str(Cow<'a, str>),
    /// Another JSON type (named).
    Other(&'static str),
}

impl<'a> Lenient<'a> {
    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Lenient::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient::Other("a number"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient::Other("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `logFiles[]` entry (other fields are skipped).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry<'a> {
    /// `s3Object`: the log file's key.
    #[serde(borrow, default)]
    pub s3_object: Lenient<'a>,
    /// `hashValue`: hex SHA-256 of the uncompressed log file.
    #[serde(borrow, default)]
    pub hash_value: Lenient<'a>,
    /// `hashAlgorithm`.
    #[serde(borrow, default)]
    pub hash_algorithm: Lenient<'a>,
}

/// The `previousDigest*` fields.
#[derive(Debug, Clone, Default)]
pub struct PrevRef {
    /// `previousDigestS3Bucket`.
    pub bucket: Option<String>,
    /// `previousDigestS3Object`.
    pub object: Option<String>,
    /// `previousDigestHashValue`.
    pub hash: Option<String>,
    /// `previousDigestSignature`.
    pub signature: Option<String>,
}

/// The fields of a digest file that validation keeps.
#[derive(Debug, Clone, Default)]
pub struct DigestDoc {
    /// `digestStartTime`.
    pub start: Option<String>,
    /// `digestEndTime`.
    pub end: Option<String>,
    /// `digestS3Bucket`.
    pub bucket: Option<String>,
    /// `digestS3Object`.
    pub object: Option<String>,
    /// `digestPublicKeyFingerprint`.
    pub fingerprint: Option<String>,
    /// `digestSignatureAlgorithm`.
    pub algorithm: Option<String>,
    /// `None`: a starting digest (all previous fields null or absent).
    pub prev: Option<PrevRef>,
    /// `logFiles` entries read.
    pub log_files: u64,
    /// Field-level problems (wrong types, missing fields), at most [`MAX_MALFORMED`].
    pub malformed: Vec<String>,
    /// Field-level problems beyond those named.
    pub malformed_more: u64,
}

impl DigestDoc {
    fn malformed(&mut self, msg: impl FnOnce() -> String) {
        if self.malformed.len() < MAX_MALFORMED {
            self.malformed.push(msg());
        } else {
            self.malformed_more += 1;
        }
    }
}

/// Cheap content test: a JSON object that mentions `"digestStartTime"` near the top and is
/// not a `{"Records":…}` log file.
pub fn looks_like_digest(doc: &[u8]) -> bool {
    let d = doc.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(doc).trim_ascii_start();
    if !d.starts_with(b"{") || d[1..].trim_ascii_start().starts_with(b"\"Records\"") {
        return false;
    }
    let head = &d[..d.len().min(4096)];
    head.windows(17).any(|w| w == b"\"digestStartTime\"")
}

/// Parses a digest, calling `each(index, entry)` for every `logFiles[]` entry in order.
///
/// # Errors
/// Not JSON, not an object, a duplicate top-level key, or no `digestStartTime` and
/// `logFiles` keys (then it is not a digest; entries already handed to `each` must be
/// discarded by the caller).
pub fn parse_digest<F>(doc: &[u8], each: F) -> Result<DigestDoc, String>
where
    F: FnMut(u64, LogFileEntry<'_>),
{
    let doc = doc.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(doc);
    let mut de = serde_json::Deserializer::from_slice(doc);
    let out = TopSeed { each }.deserialize(&mut de).map_err(|e| format!("invalid JSON: {e}"))?;
    de.end().map_err(|e| format!("invalid JSON: {e}"))?;
    let (mut d, seen_start, seen_logs) = out?;
    if !seen_start || !seen_logs {
        return Err("a JSON object without \"digestStartTime\" and \"logFiles\"".into());
    }
    for (name, val) in [("digestEndTime", d.end.clone()), ("digestStartTime", d.start.clone())] {
        match val {
            None => d.malformed(|| format!("{name} is missing")),
            Some(t) if crate::time::parse_iso(&t).is_none() => {
                d.malformed(|| format!("{name} is not a time: {:?}", short(&t)))
            }
            Some(_) => {}
        }
    }
    Ok(d)
}

/// Shortens a value for a message.
pub fn short(s: &str) -> String {
    if s.len() <= 80 {
        return s.to_string();
    }
    let mut end = 77;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// (document, saw `digestStartTime`, saw `logFiles`), or a semantic error.
type TopOut = Result<(DigestDoc, bool, bool), String>;

struct TopSeed<F> {
    each: F,
}

impl<'de, F: FnMut(u64, LogFileEntry<'_>)> DeserializeSeed<'de> for TopSeed<F> {
    type Value = TopOut;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(u64, LogFileEntry<'_>)> Visitor<'de> for TopSeed<F> {
    type Value = TopOut;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a digest object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut d = DigestDoc::default();
        let mut prev = PrevRef::default();
        let mut seen: HashSet<Cow<'de, str>> = HashSet::new();
        let (mut seen_start, mut seen_logs) = (false, false);
        let mut dup: Option<String> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if seen.contains(&key) {
                dup.get_or_insert_with(|| short(&key));
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let slot: Option<&mut Option<String>> = match key.as_ref() {
                "digestStartTime" => {
                    seen_start = true;
                    Some(&mut d.start)
                }
                "digestEndTime" => Some(&mut d.end),
                "digestS3Bucket" => Some(&mut d.bucket),
                "digestS3Object" => Some(&mut d.object),
                "digestPublicKeyFingerprint" => Some(&mut d.fingerprint),
                "digestSignatureAlgorithm" => Some(&mut d.algorithm),
                "previousDigestS3Bucket" => Some(&mut prev.bucket),
                "previousDigestS3Object" => Some(&mut prev.object),
                "previousDigestHashValue" => Some(&mut prev.hash),
                "previousDigestSignature" => Some(&mut prev.signature),
                "logFiles" => {
                    seen_logs = true;
                    let r = map.next_value_seed(LogFilesSeed { each: &mut self.each })?;
                    match r {
                        Ok(n) => d.log_files = n,
                        Err(what) => {
                            d.malformed(|| format!("logFiles is {what}, not an array"));
                        }
                    }
                    None
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    None
                }
            };
            if let Some(slot) = slot {
                match map.next_value::<Lenient<'de>>()? {
                    Lenient::Str(s) => *slot = Some(s.into_owned()),
                    Lenient::Null => {}
                    Lenient::Other(what) => {
                        d.malformed(|| format!("{} is not a string: {what}", short(&key)));
                    }
                }
            }
            seen.insert(key);
        }
        if let Some(k) = dup {
            return Ok(Err(format!("duplicate key {k:?}: the digest is ambiguous")));
        }
        if prev.bucket.is_some()
            || prev.object.is_some()
            || prev.hash.is_some()
            || prev.signature.is_some()
        {
            d.prev = Some(prev);
        }
        Ok(Ok((d, seen_start, seen_logs)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err("not a JSON object".into()))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("not a JSON object".into()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("not a JSON object".into()))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("not a JSON object".into()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("not a JSON object".into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("not a JSON object".into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("not a JSON object".into()))
    }
}

/// `logFiles`: entries streamed to the callback; `Err(type)` when it is not an array.
struct LogFilesSeed<'f, F> {
    each: &'f mut F,
}

impl<'de, F: FnMut(u64, LogFileEntry<'_>)> DeserializeSeed<'de> for LogFilesSeed<'_, F> {
    type Value = Result<u64, &'static str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(u64, LogFileEntry<'_>)> Visitor<'de> for LogFilesSeed<'_, F> {
    type Value = Result<u64, &'static str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of log files")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        let mut n = 0u64;
        while let Some(e) = a.next_element::<EntryOrOther<'de>>()? {
            (self.each)(n, e.0.unwrap_or_default());
            n += 1;
        }
        Ok(Ok(n))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(0))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Err("an object"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("a string"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
}

/// An entry that is an object (`Some`), or any other JSON value (`None`, skipped).
struct EntryOrOther<'a>(Option<LogFileEntry<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for EntryOrOther<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EntryOrOther<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a log file entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
                LogFileEntry::deserialize(de::value::MapAccessDeserializer::new(a))
                    .map(|e| EntryOrOther(Some(e)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EntryOrOther(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(EntryOrOther(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(EntryOrOther(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(EntryOrOther(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(EntryOrOther(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(EntryOrOther(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(EntryOrOther(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_is_lenient_per_field_and_streams_entries() {
        let mut seen = Vec::new();
        let d = parse_digest(
            br#"{"digestStartTime":5,"logFiles":[{"s3Object":"a","hashValue":42},7,
                {"s3Object":"b\u0041","x":[1]}],"previousDigestHashValue":"ab"}"#,
            |i, e| {
                let number = e.hash_value == Lenient::Other("a number");
                seen.push((i, e.s3_object.as_str().map(str::to_string), number))
            },
        )
        .unwrap();
        assert!(d.malformed.iter().any(|m| m.contains("digestStartTime is not a string")));
        assert!(d.prev.is_some());
        assert_eq!(d.log_files, 3);
        assert_eq!(seen[0].1.as_deref(), Some("a"));
        assert!(seen[0].2, "hashValue 42 is read as a number");
        assert_eq!(seen[1].1, None);
        assert_eq!(seen[2].1.as_deref(), Some("bA"));
        let d = parse_digest(br#"{"digestStartTime":"x","logFiles":{"x":1}}"#, |_, _| {}).unwrap();
        assert!(d.malformed.iter().any(|m| m.contains("logFiles is an object")), "{d:?}");
        assert!(parse_digest(b"[1]", |_, _| {}).is_err());
        assert!(parse_digest(b"{\"digestStartTime\":null}", |_, _| {}).is_err());
        assert!(parse_digest(b"{\"digestStartTime\":\"a\",\"logFiles\":[]} x", |_, _| {}).is_err());
        let dup = parse_digest(
            br#"{"digestStartTime":"a","logFiles":[],"digestS3Object":"x","digestS3Object":"y"}"#,
            |_, _| {},
        );
        assert!(dup.unwrap_err().contains("duplicate key"));
        assert!(looks_like_digest(b" {\"awsAccountId\":\"1\",\"digestStartTime\":\"x\"}"));
        assert!(!looks_like_digest(b"{\"Records\":[{\"digestStartTime\":1}]}"));
    }

    #[test]
    fn malformed_messages_are_bounded() {
        let mut doc = String::from("{\"digestStartTime\":\"2024-03-11T08:00:00Z\",\"logFiles\":[]");
        for i in 0..50 {
            doc.push_str(&format!(",\"k{i}\":1"));
        }
        for k in ["digestS3Bucket", "digestS3Object", "digestPublicKeyFingerprint"] {
            doc.push_str(&format!(",\"{k}\":[1,2]"));
        }
        doc.push('}');
        let d = parse_digest(doc.as_bytes(), |_, _| {}).unwrap();
        // digestEndTime missing + three wrong types = 4 named.
        assert_eq!(d.malformed.len(), 4, "{d:?}");
        assert_eq!(d.malformed_more, 0);
    }
}

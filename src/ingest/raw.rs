//! Wire schema: borrowed serde structs mirroring CloudTrail JSON, and lenient field types.
//!
//! Real trails put unexpected types in fields (`durationSeconds` as a string, `mfaAuthenticated`
//! as a string, `requestParameters` as `null`, a string where an object was expected, …).
//! A strict serde struct would reject the whole record over one such field, so every field here
//! is *lenient*: [`Str`] keeps strings and ignores other types, [`Num`] accepts numbers and
//! numeric strings, [`Flag`] accepts booleans and `"true"`/`"false"`, [`Obj`] accepts an object
//! and ignores anything else, [`List`] accepts an array and ignores anything else. Unknown
//! fields are skipped (serde's default). Strings borrow from the decompressed buffer, which
//! simd-json de-escapes in place, so parsing allocates only for the few escaped strings that
//! the deserializer hands over as owned.
//!
//! This module describes the wire format only; [`crate::model`] holds the normalized event.

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A string field that tolerates any JSON type: strings are kept, everything else is `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Option<Cow<'a, str>>);

impl<'a> Str<'a> {
    /// The string, if the field held a (non-empty or empty) string.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
    /// The string if present and not empty (CloudTrail writes `""` for absent keys, F17).
    pub fn non_empty(&self) -> Option<&str> {
        self.get().filter(|s| !s.is_empty())
    }
    /// An owned copy of [`Str::non_empty`], capped at [`FIELD_CAP`] bytes ([`cap`]).
    pub fn owned(&self) -> Option<String> {
        self.non_empty().map(|s| cap(s).into_owned())
    }
    /// [`Str::non_empty`] capped at [`FIELD_CAP`] bytes ([`cap`]).
    pub fn capped(&self) -> Option<Cow<'_, str>> {
        self.non_empty().map(cap)
    }
}

/// A string field that names what a record is (`eventName`, `eventSource`): as [`Str`], and,
/// when the value was neither a string nor null, what it was instead, which rejects the record
/// ([`super::normalize::check`], SPEC §8). Read as missing, an `AssumeRole` whose
/// `eventName` was `["AssumeRole"]` was no role assumption at all: its session went unfollowed.
///
/// Its visitor repeats [`Str`]'s with the wrong type noted. `Str` is not read through it as
/// [`Obj`] is through [`Top`]: `Str` is every string field of every record, and reading it
/// through `Named` cost `scan` 0.5% more instructions (callgrind, 200 MB of trail).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Named<'a> {
    s: Str<'a>,
    /// The JSON type the value had when it was not a string or null.
    pub wrong: Option<&'static str>,
}

impl<'a> std::ops::Deref for Named<'a> {
    type Target = Str<'a>;
    fn deref(&self) -> &Str<'a> {
        &self.s
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Named<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        fn named<'a>(s: Option<Cow<'a, str>>, wrong: Option<&'static str>) -> Named<'a> {
            Named { s: Str(s), wrong }
        }
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Named<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(named(Some(Cow::Borrowed(v)), None))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(named(Some(Cow::Owned(v.to_owned())), None))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(named(Some(Cow::Owned(v)), None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(named(None, Some("a boolean")))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(named(None, Some("a number")))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(named(None, Some("a number")))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(named(None, Some("a number")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(named(None, None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(named(None, None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                Named::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(named(None, Some("an array")))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(named(None, Some("an object")))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Most bytes of one string field that ingest keeps (4 KiB): what one record may add to
/// memory and to every report is capped (SPEC §8). CloudTrail itself truncates user agents at
/// 1 KB and omits request and response elements over 100 KB, so a longer single field is
/// hostile or broken; it is cut at a character boundary and marked ([`TRUNCATED`]), and
/// ingest counts it (`truncated_fields` in `scan`).
pub const FIELD_CAP: usize = 4096;

/// The marker that ends a truncated field, followed by the number of bytes left out.
pub const TRUNCATED: &str = "…[truncated by trailhound: ";

/// `s`, or its first [`FIELD_CAP`] bytes (at a character boundary) and the [`TRUNCATED`]
/// marker with the number of bytes left out.
pub fn cap(s: &str) -> Cow<'_, str> {
    if s.len() <= FIELD_CAP {
        return Cow::Borrowed(s);
    }
    let mut end = FIELD_CAP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{TRUNCATED}{} more bytes]", &s[..end], s.len() - end))
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                Str::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Str(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Str(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The characters of a policy document as F8 counts them against an entity's inline policy
/// budget: whitespace is not counted. Only ASCII whitespace is left out here, so that a
/// document with other blanks is counted at least as large as IAM counts it; and a character
/// outside ASCII counts as its UTF-8 bytes (IAM's refusal speaks of bytes), never fewer. The
/// IAM snapshot's documents are counted the same way (a review: its loader left out every
/// Unicode blank, and 9,950 no-break spaces hid a full budget).
pub fn policy_chars(doc: &str) -> i64 {
    let n: usize =
        doc.chars().filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r')).map(char::len_utf8).sum();
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A number field that also accepts numeric strings; other types become `None`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Num(pub Option<i64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(i64::try_from(v).ok()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(if v.is_finite() { Some(v as i64) } else { None }))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse().ok()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Num, D2::Error> {
                Num::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean field that also accepts the strings `"true"`/`"false"` (CloudTrail writes
/// `mfaAuthenticated` and `sessionCredentialFromConsole` as strings, CLOUDTRAIL.md §7).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                Ok(Flag(match v {
                    "true" | "True" | "TRUE" | "Yes" | "yes" => Some(true),
                    "false" | "False" | "FALSE" | "No" | "no" => Some(false),
                    _ => None,
                }))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Flag, D2::Error> {
                Flag::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Flag, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Flag(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Flag, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Flag(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object field: the struct when the JSON value is an object, `None` for anything else.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T> Obj<T> {
    /// The inner value, if the field was an object.
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    /// As [`Top`], whose wrong type is simply `None` here.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Top::deserialize(d).map(|t| t.obj)
    }
}

/// A top-level object field of a record (`userIdentity`, `requestParameters`,
/// `responseElements`): as [`Obj`], and, when the value was neither an object nor null, what
/// it was instead. Such a record is rejected ([`super::normalize::check`], SPEC §8: a wrong
/// type in one field): read as "no request" or "no response", a successful `AssumeRole` whose
/// request and response were both JSON strings (as some exports write them) issued no session
/// at all, and a `CreateLoginProfile` whose request was one was taken for the caller's own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Top<T> {
    obj: Obj<T>,
    /// The JSON type the value had when it was not an object or null.
    pub wrong: Option<&'static str>,
}

impl<T> Top<T> {
    /// The inner value, if the field was an object.
    pub fn get(&self) -> Option<&T> {
        self.obj.get()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Top<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        fn wrong<T>(what: &'static str) -> Top<T> {
            Top { obj: Obj(None), wrong: Some(what) }
        }
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Top<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Top<T>, A::Error> {
                let obj = T::deserialize(MapAccessDeserializer::new(a)).map(|v| Obj(Some(v)))?;
                Ok(Top { obj, wrong: None })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Top<T>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(wrong("an array"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Top<T>, E> {
                Ok(wrong("a string"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top<T>, E> {
                Ok(wrong("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top<T>, E> {
                Ok(wrong("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top<T>, E> {
                Ok(wrong("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top<T>, E> {
                Ok(wrong("a number"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Top<T>, E> {
                Ok(Top { obj: Obj(None), wrong: None })
            }
            fn visit_none<E: de::Error>(self) -> Result<Top<T>, E> {
                Ok(Top { obj: Obj(None), wrong: None })
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Top<T>, D2::Error> {
                Top::deserialize(d)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Most elements one [`List`] keeps (`resources` of one record): what one record may add to
/// memory and reports is capped (SPEC §8); the rest are counted in [`List::dropped`].
pub const LIST_CAP: usize = 256;

/// An array field: the elements when the JSON value is an array, `None` otherwise. At most
/// [`LIST_CAP`] elements are kept; the number left out is the second field.
/// (`CAP` elements for a list whose every element matters: [`INSTANCES_CAP`].)
#[derive(Debug, Clone, PartialEq)]
pub struct List<T, const CAP: usize = LIST_CAP>(pub Option<Vec<T>>, pub u32);

/// Most instance ids one `RunInstances` record gives that are kept: each is a session the
/// attacker's instance renews by itself (F21), so they are not cut at [`LIST_CAP`] (an attacker
/// that launched 300 instances in one call left 44 of them undenied).
pub const INSTANCES_CAP: usize = 1 << 20;

impl<T, const CAP: usize> Default for List<T, CAP> {
    fn default() -> Self {
        List(None, 0)
    }
}

impl<T, const CAP: usize> List<T, CAP> {
    /// Elements left out past `CAP`.
    pub fn dropped(&self) -> u32 {
        self.1
    }
}

impl<'de, T: Deserialize<'de>, const CAP: usize> Deserialize<'de> for List<T, CAP> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const CAP: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const CAP: usize> Visitor<'de> for V<T, CAP> {
            type Value = List<T, CAP>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<List<T, CAP>, A::Error> {
                let mut v = Vec::with_capacity(a.size_hint().unwrap_or(0).min(CAP));
                while v.len() < CAP {
                    match a.next_element::<T>()? {
                        Some(x) => v.push(x),
                        None => return Ok(List(Some(v), 0)),
                    }
                }
                let mut dropped = 0u32;
                while a.next_element::<IgnoredAny>()?.is_some() {
                    dropped = dropped.saturating_add(1);
                }
                Ok(List(Some(v), dropped))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<List<T, CAP>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(List(None, 0))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<List<T, CAP>, E> {
                Ok(List(None, 0))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<List<T, CAP>, E> {
                Ok(List(None, 0))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<List<T, CAP>, E> {
                Ok(List(None, 0))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<List<T, CAP>, E> {
                Ok(List(None, 0))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<List<T, CAP>, E> {
                Ok(List(None, 0))
            }
            fn visit_unit<E: de::Error>(self) -> Result<List<T, CAP>, E> {
                Ok(List(None, 0))
            }
            fn visit_none<E: de::Error>(self) -> Result<List<T, CAP>, E> {
                Ok(List(None, 0))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<List<T, CAP>, D2::Error> {
                List::deserialize(d)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// One CloudTrail record.
///
/// The large nested objects are boxed: serde moves values by copy on every level of
/// nesting, and a flat 2 KB struct made those copies a measurable share of ingest time.
///
/// Not recursive on purpose: the document around the records (`{"Records":[…]}`,
/// `lookup-events` output, a digest) is read from the tape directly
/// ([`super::parse`]), so no input can make deserialization nest deeper than these structs
/// do, and a record holding a `"Records"` key of its own is just an unknown field.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRecord<'a> {
    #[serde(borrow, default)]
    pub event_version: Str<'a>,
    #[serde(borrow, default)]
    pub user_identity: Top<Box<RawIdentity<'a>>>,
    #[serde(borrow, default)]
    pub event_time: Str<'a>,
    #[serde(borrow, default)]
    pub event_source: Named<'a>,
    #[serde(borrow, default)]
    pub event_name: Named<'a>,
    #[serde(borrow, default)]
    pub aws_region: Str<'a>,
    #[serde(rename = "sourceIPAddress", borrow, default)]
    pub source_ip_address: Str<'a>,
    #[serde(borrow, default)]
    pub user_agent: Str<'a>,
    #[serde(borrow, default)]
    pub error_code: Str<'a>,
    #[serde(borrow, default)]
    pub error_message: Str<'a>,
    #[serde(borrow, default)]
    pub request_parameters: Top<Box<RawRequest<'a>>>,
    #[serde(borrow, default)]
    pub response_elements: Top<Box<RawResponse<'a>>>,
    #[serde(rename = "requestID", borrow, default)]
    pub request_id: Str<'a>,
    #[serde(rename = "eventID", borrow, default)]
    pub event_id: Str<'a>,
    #[serde(default)]
    pub read_only: Flag,
    #[serde(borrow, default)]
    pub event_type: Str<'a>,
    #[serde(borrow, default)]
    pub event_category: Str<'a>,
    #[serde(default)]
    pub management_event: Flag,
    #[serde(borrow, default)]
    pub recipient_account_id: Str<'a>,
    #[serde(rename = "sharedEventID", borrow, default)]
    pub shared_event_id: Str<'a>,
    #[serde(borrow, default)]
    pub resources: List<Obj<RawResource<'a>>>,
    #[serde(default)]
    pub session_credential_from_console: Flag,
    /// Every role or instance-profile ARN in `requestParameters`, at any depth, sorted
    /// ([`super::tape::passed_roles`]): not a field of the record, set by the reader from the
    /// tape after the record is deserialized.
    #[serde(skip)]
    pub passed_roles: Vec<&'a str>,
}

/// `userIdentity` (CLOUDTRAIL.md §4).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawIdentity<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Str<'a>,
    #[serde(borrow, default)]
    pub principal_id: Str<'a>,
    #[serde(borrow, default)]
    pub arn: Str<'a>,
    #[serde(borrow, default)]
    pub account_id: Str<'a>,
    #[serde(borrow, default)]
    pub access_key_id: Named<'a>,
    #[serde(borrow, default)]
    pub user_name: Str<'a>,
    #[serde(borrow, default)]
    pub invoked_by: Str<'a>,
    #[serde(borrow, default)]
    pub identity_provider: Str<'a>,
    #[serde(borrow, default)]
    pub session_context: Top<RawSessionContext<'a>>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSessionContext<'a> {
    #[serde(borrow, default)]
    pub session_issuer: Top<RawIssuer<'a>>,
    #[serde(borrow, default)]
    pub attributes: Top<RawAttributes<'a>>,
    #[serde(borrow, default)]
    pub source_identity: Str<'a>,
    #[serde(borrow, default)]
    pub ec2_role_delivery: Str<'a>,
    #[serde(borrow, default)]
    pub web_id_federation_data: Obj<RawWebId<'a>>,
}

/// `sessionContext.sessionIssuer`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawIssuer<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Str<'a>,
    #[serde(borrow, default)]
    pub principal_id: Str<'a>,
    #[serde(borrow, default)]
    pub arn: Str<'a>,
    #[serde(borrow, default)]
    pub account_id: Str<'a>,
    #[serde(borrow, default)]
    pub user_name: Str<'a>,
}

/// `sessionContext.attributes`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAttributes<'a> {
    #[serde(borrow, default)]
    pub creation_date: Str<'a>,
    #[serde(default)]
    pub mfa_authenticated: Flag,
}

/// `sessionContext.webIdFederationData`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawWebId<'a> {
    #[serde(borrow, default)]
    pub federated_provider: Str<'a>,
}

/// The `requestParameters` fields later stages use (STS/IAM issuance and persistence, S3).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRequest<'a> {
    #[serde(borrow, default)]
    pub role_arn: Named<'a>,
    #[serde(borrow, default)]
    pub role_session_name: Named<'a>,
    #[serde(default)]
    pub duration_seconds: Num,
    #[serde(borrow, default)]
    pub user_name: Named<'a>,
    #[serde(borrow, default)]
    pub name: Str<'a>,
    /// SSM `GetParameters`' parameter names ([`RawRequest::parameters_read`]).
    #[serde(borrow, default)]
    pub names: List<Str<'a>>,
    /// SSM `GetParametersByPath`'s path ([`RawRequest::parameters_read`]).
    #[serde(borrow, default)]
    pub path: Str<'a>,
    #[serde(borrow, default)]
    pub source_identity: Str<'a>,
    #[serde(borrow, default)]
    pub principal_arn: Str<'a>,
    #[serde(borrow, default)]
    pub role_name: Named<'a>,
    #[serde(borrow, default)]
    pub policy_arn: Str<'a>,
    #[serde(borrow, default)]
    pub policy_name: Str<'a>,
    /// `PutUserPolicy`/`PutRolePolicy`'s document: only its size is kept ([`policy_chars`]).
    #[serde(borrow, default)]
    pub policy_document: Str<'a>,
    /// `UpdateUser`'s new name.
    #[serde(borrow, default)]
    pub new_user_name: Named<'a>,
    #[serde(borrow, default)]
    pub group_name: Str<'a>,
    #[serde(borrow, default)]
    pub access_key_id: Str<'a>,
    #[serde(borrow, default)]
    pub status: Str<'a>,
    #[serde(borrow, default)]
    pub bucket_name: Str<'a>,
    #[serde(borrow, default)]
    pub key: Str<'a>,
    #[serde(borrow, default)]
    pub function_name: Str<'a>,
    #[serde(borrow, default)]
    pub secret_id: Str<'a>,
    #[serde(borrow, default)]
    pub instance_id: Str<'a>,
    #[serde(borrow, default)]
    pub target_principal: Str<'a>,
    #[serde(borrow, default)]
    pub serial_number: Str<'a>,
    /// The id of a user's other long-term credential that `Update*`/`Reset*` acts on
    /// ([`crate::model::Response::credential_id`]).
    #[serde(borrow, default)]
    pub service_specific_credential_id: Str<'a>,
    #[serde(borrow, default, rename = "sSHPublicKeyId")]
    pub ssh_public_key_id: Str<'a>,
    #[serde(borrow, default)]
    pub certificate_id: Str<'a>,
    /// `GetOpenIdTokenForDeveloperIdentity`'s identity and token life in seconds.
    #[serde(borrow, default)]
    pub identity_id: Str<'a>,
    #[serde(default)]
    pub token_duration: Num,
    /// `UpdateSAMLProvider`'s provider (read as the request's `principal_arn`, the provider
    /// an `AssumeRoleWithSAML` names).
    #[serde(borrow, default, rename = "sAMLProviderArn")]
    pub saml_provider_arn: Str<'a>,
}

/// The `responseElements` fields that identify issued credentials and created principals.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawResponse<'a> {
    #[serde(borrow, default)]
    pub credentials: Top<RawCredentials<'a>>,
    #[serde(borrow, default)]
    pub assumed_role_user: Top<RawAssumedRoleUser<'a>>,
    #[serde(borrow, default)]
    pub federated_user: Top<RawFederatedUser<'a>>,
    #[serde(borrow, default)]
    pub access_key: Top<RawAccessKey<'a>>,
    #[serde(borrow, default)]
    pub user: Top<RawUser<'a>>,
    #[serde(borrow, default)]
    pub login_profile: Top<RawLoginProfile<'a>>,
    #[serde(borrow, default, rename = "sSHPublicKey")]
    pub ssh_public_key: Top<RawSshPublicKey<'a>>,
    #[serde(borrow, default)]
    pub service_specific_credential: Top<RawServiceSpecificCredential<'a>>,
    #[serde(borrow, default)]
    pub certificate: Top<RawCertificate<'a>>,
    #[serde(borrow, default)]
    pub role: Top<RawRole<'a>>,
    #[serde(borrow, default)]
    pub subject: Str<'a>,
    #[serde(borrow, default)]
    pub issuer: Str<'a>,
    #[serde(borrow, default)]
    pub provider: Str<'a>,
    #[serde(borrow, default)]
    pub subject_from_web_identity_token: Str<'a>,
    /// `GetOpenIdTokenForDeveloperIdentity`'s Cognito identity ([`crate::model::names::COGNITO_DEVELOPER_TOKEN`]).
    #[serde(borrow, default)]
    pub identity_id: Str<'a>,
    #[serde(borrow, default)]
    pub source_identity: Str<'a>,
    #[serde(rename = "ConsoleLogin", borrow, default)]
    pub console_login: Str<'a>,
    #[serde(borrow, default)]
    pub instances_set: Top<RawInstancesSet<'a>>,
}

/// `responseElements.instancesSet` (EC2 `RunInstances`): the instances launched.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawInstancesSet<'a> {
    #[serde(borrow, default)]
    pub items: List<Obj<RawInstance<'a>>, INSTANCES_CAP>,
}

/// One entry of `responseElements.instancesSet.items`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawInstance<'a> {
    #[serde(borrow, default)]
    pub instance_id: Str<'a>,
}

impl RawRecord<'_> {
    /// The first object nested in `userIdentity` or `responseElements` that holds another
    /// JSON type (a string, as CloudTrail Lake's and some SIEMs' `map<string,string>` shape
    /// keeps nested objects as JSON text, or an array): `(path, what it is)`. Read as absent,
    /// a `CreateAccessKey` whose `accessKey` was JSON text made no key, and a session's
    /// `sessionContext` as text lost its `creationDate` (a review: the attacker's key was
    /// never deactivated, and plan and verify said OK): such a record is rejected
    /// ([`super::normalize::check`]). So is a name in `requestParameters` that is not a string
    /// (an `UpdateUser` whose `newUserName` was an array lost the rename). `requestParameters`
    /// and `responseElements` are looked at only when `response`:
    /// for the calls whose response the session graph reads (Lambda's `role` is an ARN string).
    /// Returns `(path, what it is, what it should be)`.
    pub fn nested_wrong(
        &self,
        response: bool,
    ) -> Option<(&'static str, &'static str, &'static str)> {
        if let Some(u) = self.user_identity.get() {
            if let Some(w) = u.access_key_id.wrong {
                return Some(("userIdentity.accessKeyId", w, "a string"));
            }
            let sc = &u.session_context;
            if let Some(w) = sc.wrong {
                return Some(("userIdentity.sessionContext", w, "an object"));
            }
            if let Some(sc) = sc.get() {
                let parts = [
                    ("userIdentity.sessionContext.sessionIssuer", sc.session_issuer.wrong),
                    ("userIdentity.sessionContext.attributes", sc.attributes.wrong),
                ];
                if let Some((path, Some(w))) = parts.into_iter().find(|(_, w)| w.is_some()) {
                    return Some((path, w, "an object"));
                }
            }
        }
        if let Some(q) = self.request_parameters.get().filter(|_| response) {
            let names = [
                ("requestParameters.roleArn", q.role_arn.wrong),
                ("requestParameters.roleSessionName", q.role_session_name.wrong),
                ("requestParameters.userName", q.user_name.wrong),
                ("requestParameters.roleName", q.role_name.wrong),
                ("requestParameters.newUserName", q.new_user_name.wrong),
            ];
            if let Some((path, Some(w))) = names.into_iter().find(|(_, w)| w.is_some()) {
                return Some((path, w, "a string"));
            }
        }
        let r = self.response_elements.get().filter(|_| response)?;
        let parts = [
            ("responseElements.credentials", r.credentials.wrong),
            ("responseElements.assumedRoleUser", r.assumed_role_user.wrong),
            ("responseElements.federatedUser", r.federated_user.wrong),
            ("responseElements.accessKey", r.access_key.wrong),
            ("responseElements.user", r.user.wrong),
            ("responseElements.loginProfile", r.login_profile.wrong),
            ("responseElements.sSHPublicKey", r.ssh_public_key.wrong),
            ("responseElements.serviceSpecificCredential", r.service_specific_credential.wrong),
            ("responseElements.certificate", r.certificate.wrong),
            ("responseElements.role", r.role.wrong),
            ("responseElements.instancesSet", r.instances_set.wrong),
        ];
        let keys = [
            (
                "responseElements.credentials.accessKeyId",
                r.credentials.get().and_then(|c| c.access_key_id.wrong),
            ),
            (
                "responseElements.accessKey.accessKeyId",
                r.access_key.get().and_then(|k| k.access_key_id.wrong),
            ),
        ];
        let object = parts.into_iter().find_map(|(path, w)| w.map(|w| (path, w, "an object")));
        object.or_else(|| keys.into_iter().find_map(|(path, w)| w.map(|w| (path, w, "a string"))))
    }
}

impl RawRequest<'_> {
    /// What an SSM read that has no `name` names in its request, kept as the request's `name`
    /// ([`crate::model::Request::name`]): `GetParameters`' `names` joined by spaces (a
    /// parameter's name or ARN has none) and `GetParametersByPath`'s `path`. The blast's
    /// data-read findings list each parameter (a review: those reads said "not named in the
    /// records", and the responder told to rotate every parameter read had none to rotate).
    /// Other services' `names` and `path` (an IAM user's path) are not names of what was read.
    pub fn parameters_read(&self, source: Option<&str>, event: Option<&str>) -> Option<String> {
        if source != Some("ssm.amazonaws.com") {
            return None;
        }
        match event? {
            "GetParameters" => {
                let names: Vec<_> = self.names.0.as_ref()?.iter().filter_map(Str::capped).collect();
                (!names.is_empty()).then(|| names.join(" "))
            }
            "GetParametersByPath" => self.path.owned(),
            _ => None,
        }
    }
}

impl RawResponse<'_> {
    /// The ids of the instances a `RunInstances` launched, comma-separated in the order of
    /// the response, or `None`. Only ids of the form EC2 gives them (`i-` and 8 or 17 hex
    /// digits, [`crate::model::is_instance_id`]) are kept: the session graph matches them
    /// against role session names.
    pub fn instance_ids(&self) -> Option<String> {
        let items = self.instances_set.get()?.items.0.as_ref()?;
        let ids: Vec<&str> = items
            .iter()
            .filter_map(|i| i.get()?.instance_id.non_empty())
            .filter(|id| crate::model::is_instance_id(id))
            .collect();
        (!ids.is_empty()).then(|| ids.join(","))
    }
}

/// `responseElements.credentials`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCredentials<'a> {
    #[serde(borrow, default)]
    pub access_key_id: Named<'a>,
    #[serde(borrow, default)]
    pub expiration: Str<'a>,
}

/// `responseElements.assumedRoleUser`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAssumedRoleUser<'a> {
    #[serde(borrow, default)]
    pub assumed_role_id: Str<'a>,
    #[serde(borrow, default)]
    pub arn: Str<'a>,
}

/// `responseElements.federatedUser`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawFederatedUser<'a> {
    #[serde(borrow, default)]
    pub federated_user_id: Str<'a>,
    #[serde(borrow, default)]
    pub arn: Str<'a>,
}

/// `responseElements.accessKey` (CreateAccessKey).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAccessKey<'a> {
    #[serde(borrow, default)]
    pub access_key_id: Named<'a>,
    #[serde(borrow, default)]
    pub user_name: Str<'a>,
    #[serde(borrow, default)]
    pub status: Str<'a>,
    #[serde(borrow, default)]
    pub create_date: Str<'a>,
}

/// `responseElements.user` (CreateUser).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawUser<'a> {
    #[serde(borrow, default)]
    pub user_name: Str<'a>,
    #[serde(borrow, default)]
    pub user_id: Str<'a>,
    #[serde(borrow, default)]
    pub arn: Str<'a>,
}

/// `responseElements.loginProfile` (CreateLoginProfile).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawLoginProfile<'a> {
    #[serde(borrow, default)]
    pub user_name: Str<'a>,
}

/// `responseElements.sSHPublicKey` (UploadSSHPublicKey).
#[derive(Debug, Default, serde::Deserialize)]
pub struct RawSshPublicKey<'a> {
    #[serde(borrow, default, rename = "sSHPublicKeyId")]
    pub id: Str<'a>,
}

/// `responseElements.serviceSpecificCredential` (CreateServiceSpecificCredential).
#[derive(Debug, Default, serde::Deserialize)]
pub struct RawServiceSpecificCredential<'a> {
    #[serde(borrow, default, rename = "serviceSpecificCredentialId")]
    pub id: Str<'a>,
}

/// `responseElements.certificate` (UploadSigningCertificate).
#[derive(Debug, Default, serde::Deserialize)]
pub struct RawCertificate<'a> {
    #[serde(borrow, default, rename = "certificateId")]
    pub id: Str<'a>,
}

/// `responseElements.role` (CreateRole).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRole<'a> {
    #[serde(borrow, default)]
    pub arn: Str<'a>,
    #[serde(borrow, default)]
    pub role_name: Str<'a>,
}

/// One entry of `resources` (note the upper-case `ARN` key).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawResource<'a> {
    #[serde(rename = "ARN", borrow, default)]
    pub arn: Str<'a>,
    #[serde(borrow, default)]
    pub account_id: Str<'a>,
    #[serde(rename = "type", borrow, default)]
    pub kind: Str<'a>,
}

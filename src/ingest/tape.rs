//! A serde deserializer over a simd-json tape that never recurses into what it skips, and the
//! nesting check.
//!
//! simd-json builds a flat tape of the whole document (no recursion there), but its serde
//! deserializer recurses once per level of nesting even for values that are only skipped
//! (`IgnoredAny` visits every element): 15,000 nested brackets anywhere in a record overflowed
//! the worker's stack and aborted the process. Here every container on the tape carries the
//! number of nodes inside it, so a skipped value costs O(1) and no recursion, and the wire
//! structs ([`super::raw`]) are not recursive, so the deserializer's own depth is bounded by
//! the struct nesting (about six levels) whatever the input.
//!
//! Records are deserialized one at a time from their own slice of the tape, so a record that
//! fails (a duplicate key, a wrong type that even the lenient fields refuse, nesting deeper
//! than [`MAX_DEPTH`]) is rejected alone and the file goes on.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use simd_json::{Node, StaticNode};
use std::fmt;

/// Deepest nesting accepted inside one record (objects and arrays counted from the record
/// itself at 1). Real CloudTrail records nest a dozen levels or so; 128 is also serde_json's
/// default recursion limit. A record nested deeper is rejected (`too_deep`).
pub const MAX_DEPTH: usize = 128;

/// Why a record could not be deserialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TapeError {
    /// The same key twice in one object of a field that is read (`{"eventName":…,"eventName":…}`):
    /// readers disagree on which one counts, so the record is not used.
    DuplicateKey(String),
    /// Anything else the lenient wire types refuse.
    Other(String),
}

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TapeError::DuplicateKey(k) => write!(f, "duplicate key {k:?} in one object"),
            TapeError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TapeError {}

impl de::Error for TapeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TapeError::Other(msg.to_string())
    }
    fn duplicate_field(field: &'static str) -> Self {
        TapeError::DuplicateKey(field.to_string())
    }
}

/// Number of tape nodes taken by the value starting at `nodes[i]` (1 for a scalar).
#[inline]
pub fn extent(nodes: &[Node<'_>], i: usize) -> usize {
    match nodes.get(i) {
        Some(Node::Array { count, .. } | Node::Object { count, .. }) => count + 1,
        _ => 1,
    }
}

/// True when the value at the start of `nodes` nests deeper than `limit` levels. A value of
/// `limit` nodes or fewer cannot, so most records cost one comparison.
pub fn too_deep(nodes: &[Node<'_>], limit: usize) -> bool {
    if nodes.len() <= limit {
        return false;
    }
    // End (exclusive) of every open container, innermost last; no allocation per record.
    let mut ends = [0usize; MAX_DEPTH + 1];
    let limit = limit.min(MAX_DEPTH);
    let mut open = 0usize;
    for (i, n) in nodes.iter().enumerate() {
        while open > 0 && ends[open - 1] <= i {
            open -= 1;
        }
        if let Node::Array { count, .. } | Node::Object { count, .. } = n {
            if open + 1 > limit {
                return true;
            }
            ends[open] = i + 1 + count;
            open += 1;
        }
    }
    false
}

/// A serde deserializer reading one value from a tape slice.
pub struct TapeDe<'t, 'de> {
    nodes: &'t [Node<'de>],
    idx: usize,
}

impl<'t, 'de> TapeDe<'t, 'de> {
    /// A deserializer for the value at the start of `nodes`.
    pub fn new(nodes: &'t [Node<'de>]) -> Self {
        TapeDe { nodes, idx: 0 }
    }
    fn next(&mut self) -> Result<Node<'de>, TapeError> {
        let n =
            *self.nodes.get(self.idx).ok_or_else(|| TapeError::Other("unexpected end".into()))?;
        self.idx += 1;
        Ok(n)
    }
}

/// Deserializes a `T` from the value at the start of `nodes`.
///
/// # Errors
/// [`TapeError`] when `T` refuses the value.
pub fn from_tape<'de, T: de::Deserialize<'de>>(nodes: &[Node<'de>]) -> Result<T, TapeError> {
    T::deserialize(&mut TapeDe::new(nodes))
}

impl<'de> Deserializer<'de> for &mut TapeDe<'_, 'de> {
    type Error = TapeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TapeError> {
        let start = self.idx;
        match self.next()? {
            Node::String(s) => v.visit_borrowed_str(s),
            Node::Static(StaticNode::Null) => v.visit_unit(),
            Node::Static(StaticNode::Bool(b)) => v.visit_bool(b),
            Node::Static(StaticNode::I64(n)) => v.visit_i64(n),
            Node::Static(StaticNode::U64(n)) => v.visit_u64(n),
            #[allow(clippy::useless_conversion)]
            Node::Static(StaticNode::F64(n)) => v.visit_f64(n.into()),
            // 128-bit integers (the crate is built with them): as far as the lenient fields
            // care, a number; never an error.
            #[allow(unreachable_patterns)]
            Node::Static(other) => match other {
                StaticNode::I128(n) => match i64::try_from(n) {
                    Ok(x) => v.visit_i64(x),
                    Err(_) => v.visit_f64(n as f64),
                },
                StaticNode::U128(n) => match u64::try_from(n) {
                    Ok(x) => v.visit_u64(x),
                    Err(_) => v.visit_f64(n as f64),
                },
                _ => v.visit_unit(),
            },
            Node::Array { len, count } => {
                let r = v.visit_seq(Seq { de: &mut *self, left: len });
                // Whatever the visitor consumed, continue after the array.
                self.idx = start + 1 + count;
                r
            }
            Node::Object { len, count } => {
                let r = v.visit_map(Map { de: &mut *self, left: len });
                self.idx = start + 1 + count;
                r
            }
        }
    }

    /// Skips the value in O(1): no recursion, however deep it nests.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TapeError> {
        if self.idx >= self.nodes.len() {
            return Err(TapeError::Other("unexpected end".into()));
        }
        self.idx += extent(self.nodes, self.idx);
        v.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TapeError> {
        match self.nodes.get(self.idx) {
            Some(Node::Static(StaticNode::Null)) => {
                self.idx += 1;
                v.visit_none()
            }
            _ => v.visit_some(self),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier
    }
}

struct Seq<'a, 't, 'de> {
    de: &'a mut TapeDe<'t, 'de>,
    left: usize,
}

impl<'de> SeqAccess<'de> for Seq<'_, '_, 'de> {
    type Error = TapeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, TapeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Map<'a, 't, 'de> {
    de: &'a mut TapeDe<'t, 'de>,
    left: usize,
}

impl<'de> MapAccess<'de> for Map<'_, '_, 'de> {
    type Error = TapeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TapeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, TapeError> {
        seed.deserialize(&mut *self.de)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The keys and value positions of the object at `nodes[i]`: `(key, index of its value)`.
pub fn members<'t, 'de>(
    nodes: &'t [Node<'de>],
    i: usize,
) -> impl Iterator<Item = (&'de str, usize)> + 't {
    let (len, mut j) = match nodes.get(i) {
        Some(Node::Object { len, .. }) => (*len, i + 1),
        _ => (0, i + 1),
    };
    (0..len).map_while(move |_| {
        let key = match nodes.get(j)? {
            Node::String(s) => *s,
            _ => return None,
        };
        let v = j + 1;
        if v >= nodes.len() {
            return None;
        }
        j = v + extent(nodes, v);
        Some((key, v))
    })
}

/// The positions of the elements of the array at `nodes[i]`.
pub fn elements<'t>(nodes: &'t [Node<'_>], i: usize) -> impl Iterator<Item = usize> + 't {
    let (len, mut j) = match nodes.get(i) {
        Some(Node::Array { len, .. }) => (*len, i + 1),
        _ => (0, i + 1),
    };
    (0..len).map_while(move |_| {
        if j >= nodes.len() {
            return None;
        }
        let at = j;
        j += extent(nodes, j);
        Some(at)
    })
}

/// Every role or instance profile the record's `requestParameters` (the object at the start
/// of `nodes`) names, sorted and each once: what the call hands a service to act with
/// (`iam:PassRole`), whatever the service calls the parameter. Two ways:
///
/// - any string, at any depth and under any key, that is a role's or instance profile's ARN
///   ([`is_role_arn`]): `roleArn`, `executionRoleArn`, `overrides.taskRoleArn`,
///   `ServiceRoleArn`, `iamInstanceProfile.arn`, …, every one, so that a decoy ARN (in a tag,
///   say) does not stand in for the role the call passes;
/// - a role's bare name ([`is_role_name`]) where the request says it is one ([`named_roles`]):
///   services that take a name (Glue's `role`, EMR's `serviceRole` and `jobFlowRole`, Data
///   Pipeline's `role` and `resourceRole` fields, Elastic Beanstalk's `IamInstanceProfile` and
///   `ServiceRole` option values, a launch template's `IamInstanceProfile.Name`). A name kept
///   is the name as the request gives it (the role is in the account that received the call);
///   one that an ARN of that account in the same request ends with is not listed twice. Not in
///   IAM's and STS's own calls, which name the role they act on (`GetRole`, `PutRolePolicy`).
///
/// Found on the tape, so no wire struct has to name each service's parameter; in one order, so
/// that two copies of one event with their keys in another order (SPEC §8's duplicates) name
/// the same roles.
pub fn passed_roles<'de>(nodes: &[Node<'de>]) -> Vec<&'de str> {
    let Some((_, at)) = members(nodes, 0).find(|(k, _)| *k == "requestParameters") else {
        return Vec::new();
    };
    let end = (at + extent(nodes, at)).min(nodes.len());
    let mut roles: Vec<&'de str> = nodes[at..end]
        .iter()
        .filter_map(|n| match n {
            Node::String(s) if is_role_arn(s) => Some(*s),
            _ => None,
        })
        .collect();
    // IAM's and STS's own calls act on a role (`GetRole`'s `roleName`) rather than hand one to
    // a service: only their ARNs are kept, as before names were read.
    let top =
        |key: &str| members(nodes, 0).find(|(k, _)| *k == key).and_then(|(_, v)| text(nodes, v));
    let own = matches!(top("eventSource"), Some("iam.amazonaws.com" | "sts.amazonaws.com"));
    let mut names = Vec::new();
    if !own {
        named_roles(nodes, at, 0, &mut names);
    }
    if !names.is_empty() {
        // A name is not listed again beside the ARN of the same role: one of the account that
        // received the call (the account a bare name is of) with the same last segment (IAM's
        // names are unique in an account whatever the path). A decoy of another account with
        // the same name does not hide it. A set, so that a request of thousands of both costs
        // no more than their count.
        let account = top("recipientAccountId").unwrap_or("");
        let last = |s: &'de str| s.rsplit('/').next().unwrap_or(s);
        let same: std::collections::HashSet<&str> = roles
            .iter()
            .filter(|a| a.split(':').nth(4) == Some(account))
            .map(|a| last(a))
            .collect();
        names.retain(|n| !same.contains(last(n)));
    }
    roles.extend(names);
    roles.sort_unstable();
    roles.dedup();
    roles
}

/// Keys whose value is what a service acts on rather than a role it is handed: tags (`{"Key":
/// "Role", "Value": "web"}`), environment variables (`ROLE=worker`), labels, arguments,
/// attributes, metadata and a model's chat messages (`{"role": "user"}`) of the caller's own.
/// Their strings are not read as role names (an ARN among them still counts: [`passed_roles`]).
fn skipped_key(k: &str) -> bool {
    starts_ci(k, "tag")
        || ends_ci(k, "tags")
        || ["environment", "variable", "label", "argument", "metadata", "attribute", "messages"]
            .iter()
            .any(|w| contains_ci(k, w))
}

/// A key that says its value is a role or instance profile (`role`, `serviceRole`,
/// `jobFlowRole`, `RoleName`, `roles`, `iamInstanceProfile`, `InstanceProfileName`), and not a
/// session's name or length (`roleSessionName`).
fn role_key(k: &str) -> bool {
    mentions_role(k)
        && !NOT_IAM_ROLES.iter().any(|w| ends_ci(k, w))
        && (ends_ci(k, "role")
            || ends_ci(k, "rolename")
            || ends_ci(k, "roles")
            || contains_ci(k, "instanceprofile"))
}

/// Keys ending in `Role` that name a role of another service's own, never an IAM role: a
/// QuickSight user's `UserRole`, a Connect participant's `ParticipantRole`, an OpenSearch
/// domain's `MasterBackendRole` (a review found each failing the plan).
const NOT_IAM_ROLES: &[&str] = &["userrole", "participantrole", "backendrole"];

/// `k` begins with `w` (lower case), whatever the case of `k`; no allocation, since every key
/// of every request is looked at.
fn starts_ci(k: &str, w: &str) -> bool {
    k.len() >= w.len() && k.as_bytes()[..w.len()].eq_ignore_ascii_case(w.as_bytes())
}

/// `k` ends with `w`, whatever the case of `k`.
fn ends_ci(k: &str, w: &str) -> bool {
    k.len() >= w.len() && k.as_bytes()[k.len() - w.len()..].eq_ignore_ascii_case(w.as_bytes())
}

/// `k` holds `w`, whatever the case of `k`.
fn contains_ci(k: &str, w: &str) -> bool {
    k.len() >= w.len()
        && k.as_bytes().windows(w.len()).any(|x| x.eq_ignore_ascii_case(w.as_bytes()))
}

/// The pairs of keys by which a request names a setting and gives its value in one object:
/// Elastic Beanstalk's option settings (`OptionName`, `Value`) and Data Pipeline's fields
/// (`key`, `stringValue`). Not a tag's `Key` and `Value`, nor CloudFormation's `ParameterKey`
/// and `ParameterValue`: a stack's parameter called `ServerRole` is often a word of the
/// template's (a review found CI stacks failing the plan), and what a stack launches is logged
/// as the caller's own calls, which the graph follows.
const SETTINGS: &[(&str, &str)] = &[("optionname", "value"), ("key", "stringvalue")];

/// A key or a setting's name ([`SETTINGS`]) that holds `Role` or `InstanceProfile`, and is not a
/// session's: a setting so named says its value is a role (Beanstalk's
/// `ServiceRoleForManagedUpdates`); a key must also end as [`role_key`] says.
fn mentions_role(k: &str) -> bool {
    (contains_ci(k, "role") || contains_ci(k, "instanceprofile")) && !contains_ci(k, "session")
}

/// The string at `nodes[j]`, if that is one.
fn text<'de>(nodes: &[Node<'de>], j: usize) -> Option<&'de str> {
    match nodes.get(j) {
        Some(Node::String(s)) => Some(*s),
        _ => None,
    }
}

/// Beanstalk's namespace of the environment variables it gives the application
/// (`aws:elasticbeanstalk:application:environment`): a variable called `SERVER_ROLE` is the
/// application's word, not a role.
fn app_variables(nodes: &[Node<'_>], i: usize) -> bool {
    members(nodes, i).any(|(k, v)| {
        k.eq_ignore_ascii_case("namespace")
            && matches!(nodes.get(v), Some(Node::String(n)) if ends_ci(n, "application:environment"))
    })
}

/// The bare role names under the value at `nodes[i]` ([`passed_roles`]): a string under a
/// [`role_key`] (or each string of an array, or an object's `name`, under one), and a setting
/// whose name is a role key ([`SETTINGS`]); not under a [`skipped_key`]. The record is no
/// deeper than [`MAX_DEPTH`] (checked before it is read), which bounds the recursion.
fn named_roles<'de>(nodes: &[Node<'de>], i: usize, depth: usize, out: &mut Vec<&'de str>) {
    if depth > MAX_DEPTH {
        return;
    }
    let name = |j: usize| text(nodes, j).filter(|s| is_role_name(s));
    match nodes.get(i) {
        Some(Node::Object { .. }) => {
            // One pass over the members (every object of every request is walked): a
            // setting's name is noted, its value looked up only when the name is a role's.
            let mut setting: Option<(&str, &str)> = None;
            for (k, v) in members(nodes, i) {
                if let Some(&(_, value)) = SETTINGS.iter().find(|(n, _)| k.eq_ignore_ascii_case(n))
                {
                    if let Some(s) = text(nodes, v).filter(|s| mentions_role(s)) {
                        setting = Some((s, value));
                    }
                }
                let container =
                    matches!(nodes.get(v), Some(Node::Object { .. } | Node::Array { .. }));
                let role = role_key(k);
                if !(container || role) || skipped_key(k) {
                    continue;
                }
                if role {
                    // Under a bare `role`, a word in capitals is another service's own role
                    // (WorkMail's `USER`, Grafana's `ADMIN`), not an IAM role's name.
                    let bare = k.eq_ignore_ascii_case("role") || k.eq_ignore_ascii_case("roles");
                    let word = |w: &str| w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
                    let name = |j: usize| name(j).filter(|w| !(bare && word(w)));
                    match nodes.get(v) {
                        Some(Node::String(_)) => out.extend(name(v)),
                        Some(Node::Array { .. }) => out.extend(elements(nodes, v).filter_map(name)),
                        Some(Node::Object { .. }) => out.extend(
                            members(nodes, v)
                                .filter(|(k, _)| k.eq_ignore_ascii_case("name"))
                                .filter_map(|(_, j)| name(j)),
                        ),
                        _ => {}
                    }
                }
                if container {
                    named_roles(nodes, v, depth + 1, out);
                }
            }
            if let Some((_, value)) = setting {
                if !app_variables(nodes, i) {
                    let v = members(nodes, i).find(|(k, _)| k.eq_ignore_ascii_case(value));
                    out.extend(v.and_then(|(_, v)| name(v)));
                }
            }
        }
        Some(Node::Array { .. }) => {
            for j in elements(nodes, i) {
                named_roles(nodes, j, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// What IAM takes as a role's or instance profile's name, with its path or not: a name of
/// letters, digits and `+=,.@_-` (role names stop at 64 characters, instance profiles' at 128),
/// after a path of such segments, each followed by `/` (Batch takes `/service-role/Name`, Glue
/// `service-role/Name`), at most 640 characters in all. No `:`, so an ARN is not a name, and no
/// space, so the roles of one call joined by spaces read back apart.
pub fn is_role_name(s: &str) -> bool {
    let body = s.strip_prefix('/').unwrap_or(s);
    (1..=640).contains(&s.len())
        && body.split('/').all(|seg| {
            !seg.is_empty()
                && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        })
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME` or `…:instance-profile/NAME`, with a 12-digit
/// account, at most 2,048 characters (IAM's own limit on a role ARN in a request) and none
/// that IAM refuses in a path or name (a space, a control character, anything not ASCII), so
/// that the roles of one call joined by spaces ([`passed_roles`]) read back apart.
pub fn is_role_arn(s: &str) -> bool {
    if s.len() > 2048 || !s.starts_with("arn:") || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let mut parts = s.splitn(6, ':');
    let (Some(_), Some(partition), Some(service), Some(region), Some(account), Some(res)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && ["role/", "instance-profile/"]
            .iter()
            .any(|p| res.strip_prefix(p).is_some_and(|n| !n.is_empty()))
}

static K: std::sync::OnceLock<[u64; 3]> = std::sync::OnceLock::new();

/// The key of [`super::record_digest::content_digest`]: random per run, so nobody can
/// prepare a record that collides with another one in advance (no hash reaches an output, so
/// output stays deterministic); or, with `--cache`, the cache's own ([`use_keys`]), since its
/// entries keep their records' digests for later runs to compare with.
pub(crate) fn keys() -> [u64; 3] {
    *K.get_or_init(fresh_keys)
}

/// A new random key, not put in use.
pub(crate) fn fresh_keys() -> [u64; 3] {
    use std::hash::{BuildHasher, Hasher};
    let s = std::collections::hash_map::RandomState::new();
    let k = |i: u64| {
        let mut h = s.build_hasher();
        h.write_u64(i);
        h.finish() | 1
    };
    [k(1), k(2), k(3)]
}

/// Makes `k` the key of every digest of this process; false when another key was already
/// in use (a digest was taken before, or another cache was opened).
pub(crate) fn use_keys(k: [u64; 3]) -> bool {
    K.get_or_init(|| k) == &k
}

/// The 128-bit product of `a` and `b`, folded to 64 bits (high half xor low half).
#[inline]
pub(crate) fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tape(s: &str) -> (Vec<u8>, simd_json::Buffers) {
        (s.as_bytes().to_vec(), simd_json::Buffers::default())
    }

    #[test]
    fn depth_is_counted_from_the_value() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let (mut b, mut buf) = tape(&deep);
        let t = simd_json::to_tape_with_buffers(&mut b, &mut buf).unwrap();
        assert!(too_deep(&t.0, 128));
        assert!(!too_deep(&t.0, 200));
        let (mut b, mut buf) = tape(r#"{"a":[1,{"b":[[2]]}],"c":3}"#);
        let t = simd_json::to_tape_with_buffers(&mut b, &mut buf).unwrap();
        assert!(!too_deep(&t.0, 5));
        assert!(too_deep(&t.0[..], 4) || t.0.len() <= 4);
    }

    /// The role a request names is found at any depth and under any key, the same whatever
    /// the order of the keys; only what is a role's or instance profile's ARN counts, and only
    /// inside `requestParameters`.
    #[test]
    fn the_role_a_request_names_is_found_anywhere_in_it_whatever_the_order() {
        let role = |doc: &str| {
            let (mut b, mut buf) = tape(doc);
            let t = simd_json::to_tape_with_buffers(&mut b, &mut buf).unwrap();
            let all = passed_roles(&t.0);
            (!all.is_empty()).then(|| all.join(" "))
        };
        let a = "arn:aws:iam::111122223333:role/service-role/A";
        let b = "arn:aws:iam::111122223333:role/service-role/Z";
        let one = format!(
            r#"{{"eventName":"E","requestParameters":{{"x":[1,{{"y":{{"z":"{b}"}}}}],"roleArn":"{a}"}},"responseElements":{{"r":"arn:aws:iam::111122223333:role/0"}}}}"#
        );
        let other = format!(
            r#"{{"responseElements":null,"requestParameters":{{"roleArn":"{a}","x":[{{"y":{{"z":"{b}"}}}},1]}},"eventName":"E"}}"#
        );
        let both = format!("{a} {b}");
        assert_eq!(role(&one).as_deref(), Some(both.as_str()), "each, not the response's");
        assert_eq!(role(&other).as_deref(), Some(both.as_str()), "whatever the order");
        let twice = format!(r#"{{"requestParameters":{{"x":"{a}","y":["{a}"]}}}}"#);
        assert_eq!(role(&twice).as_deref(), Some(a), "each once");
        let gov = "arn:aws-us-gov:iam::111122223333:instance-profile/B";
        let deep = format!(r#"{{"requestParameters":{{"a":{{"b":[[{{"c":"{gov}"}}]]}}}}}}"#);
        assert_eq!(role(&deep).as_deref(), Some(gov));
        for not in [
            "arn:aws:sts::111122223333:assumed-role/A/s",
            "arn:aws:iam::111122223333:policy/P",
            "arn:aws:iam::aws:role/A",
            "arn:aws:iam::12345:role/A",
            "arn:aws:iam:us-east-1:111122223333:role/A",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:s3:::111122223333:role/A",
            "xarn:aws:iam::111122223333:role/A",
            "arn:aws:iam::111122223333:role/A B",
            "arn:aws:iam::111122223333:role/A\\u001b",
            "arn:aws:iam::111122223333:role/\\u00e9",
        ] {
            let doc = format!(r#"{{"requestParameters":{{"k":"{not}"}}}}"#);
            assert_eq!(role(&doc), None, "{not}");
        }
        assert_eq!(role(&format!(r#"{{"additionalEventData":{{"k":"{a}"}}}}"#)), None);
        assert_eq!(role(r#"{"requestParameters":null}"#), None);
        let long = format!("{a}{}", "x".repeat(2048));
        assert_eq!(role(&format!(r#"{{"requestParameters":{{"k":"{long}"}}}}"#)), None);
    }

    /// A role a service takes by its bare name is found where the request says it is a role:
    /// under a key of a role (Glue, EMR, a launch template's profile), as a setting's value
    /// (Elastic Beanstalk's options, Data Pipeline's fields), with its path; not in a tag, an
    /// environment variable, a session's name, nor a string that is no role's name.
    #[test]
    fn a_role_a_request_names_by_its_bare_name_is_found_where_it_is_a_role() {
        let roles = |params: &str| {
            let doc = format!(
                r#"{{"eventName":"E","recipientAccountId":"111122223333","requestParameters":{params}}}"#
            );
            let (mut b, mut buf) = tape(&doc);
            let t = simd_json::to_tape_with_buffers(&mut b, &mut buf).unwrap();
            passed_roles(&t.0).join(" ")
        };
        let cases = [
            (r#"{"name":"j","role":"MyGlueRole","command":{"name":"glueetl"}}"#, "MyGlueRole"),
            (
                r#"{"serviceRole":"EMR_DefaultRole","jobFlowRole":"EMR_EC2_DefaultRole","name":"c"}"#,
                "EMR_DefaultRole EMR_EC2_DefaultRole",
            ),
            (
                r#"{"optionSettings":[{"namespace":"aws:autoscaling:launchconfiguration","optionName":"IamInstanceProfile","value":"aws-elasticbeanstalk-ec2-role"},{"namespace":"n","optionName":"InstanceType","value":"t3.micro"}]}"#,
                "aws-elasticbeanstalk-ec2-role",
            ),
            (
                r#"{"pipelineObjects":[{"id":"Default","fields":[{"key":"role","stringValue":"DataPipelineDefaultRole"},{"key":"resourceRole","stringValue":"DPResource"},{"key":"scheduleType","stringValue":"cron"}]}]}"#,
                "DPResource DataPipelineDefaultRole",
            ),
            (r#"{"LaunchTemplateData":{"IamInstanceProfile":{"Name":"P"}}}"#, "P"),
            (r#"{"roles":["RoleA","RoleB","ADMIN"]}"#, "RoleA RoleB"),
            (
                r#"{"roleName":"A","roleArn":"arn:aws:iam::111122223333:role/service-role/A"}"#,
                "arn:aws:iam::111122223333:role/service-role/A",
            ),
            (r#"{"tags":[{"key":"Role","value":"web"}],"Tags":{"Role":"web"}}"#, ""),
            (r#"{"tagSpecifications":[{"tags":[{"Key":"role","Value":"x"}]}]}"#, ""),
            (r#"{"containerDefinitions":[{"environment":[{"name":"ROLE","value":"w"}]}]}"#, ""),
            (r#"{"environment":{"variables":{"ROLE":"w"}}}"#, ""),
            (r#"{"x":{"key":"role","value":"v"},"y":{"optionName":"Size","value":"v"}}"#, ""),
            (r#"{"roleSessionName":"s","stage":"prod"}"#, ""),
            (r#"{"attributes":{"Role":"alerts"},"name":"t"}"#, ""),
            (
                r#"{"role":"has space","serviceRole":"a:b","jobFlowRole":"","r":"Role","instanceRole":"/"}"#,
                "",
            ),
            (r#"{"role":7,"serviceRole":null,"jobFlowRole":{"arn":"p"}}"#, ""),
            // From the review: a path, a setting whose name holds Role, a decoy of another
            // account with the same name, enum words of other services, chat messages, a
            // stack's parameter, Beanstalk's application variables.
            (
                r#"{"serviceRole":"/service-role/AWSBatchServiceRole","role":"a//b"}"#,
                "/service-role/AWSBatchServiceRole",
            ),
            (
                r#"{"role":"service-role/AWSGlueServiceRole-x"}"#,
                "service-role/AWSGlueServiceRole-x",
            ),
            (
                r#"{"optionSettings":[{"namespace":"aws:elasticbeanstalk:managedactions","optionName":"ServiceRoleForManagedUpdates","value":"AdminRole"}]}"#,
                "AdminRole",
            ),
            (
                r#"{"role":"AdminRole","tags":{"owner":"arn:aws:iam::444455556666:role/AdminRole"}}"#,
                "AdminRole arn:aws:iam::444455556666:role/AdminRole",
            ),
            (r#"{"role":"USER","userRole":"READER","participantRole":"CUSTOM_BOT"}"#, ""),
            (r#"{"updateInstructionBatch":[{"role":"ADMIN"}],"messages":[{"role":"user"}]}"#, ""),
            (r#"{"sAMLOptions":{"masterBackendRole":"admins"}}"#, ""),
            (r#"{"parameters":[{"parameterKey":"ServerRole","parameterValue":"webserver"}]}"#, ""),
            (
                r#"{"optionSettings":[{"namespace":"aws:elasticbeanstalk:application:environment","optionName":"SERVER_ROLE","value":"worker"}]}"#,
                "",
            ),
        ];
        for (params, want) in cases {
            assert_eq!(roles(params), want, "{params}");
        }
        let iam = r#"{"eventSource":"iam.amazonaws.com","requestParameters":{"roleName":"A"}}"#;
        let (mut b, mut buf) = tape(iam);
        let t = simd_json::to_tape_with_buffers(&mut b, &mut buf).unwrap();
        assert!(passed_roles(&t.0).is_empty(), "IAM's own call acts on the role it names");
    }

    #[test]
    fn skipping_a_deep_value_does_not_recurse() {
        // Far deeper than any stack would take with one frame per level.
        let n = 500_000;
        let doc = format!("{{\"x\":{}1{},\"eventName\":\"E\"}}", "[".repeat(n), "]".repeat(n));
        let (mut b, mut buf) = tape(&doc);
        let t = simd_json::to_tape_with_buffers(&mut b, &mut buf).unwrap();
        #[derive(serde::Deserialize)]
        struct R<'a> {
            #[serde(rename = "eventName", borrow)]
            name: &'a str,
        }
        let r: R = from_tape(&t.0).unwrap();
        assert_eq!(r.name, "E");
        let keys: Vec<&str> = members(&t.0, 0).map(|(k, _)| k).collect();
        assert_eq!(keys, ["x", "eventName"]);
    }

    #[test]
    fn duplicate_known_key_is_an_error() {
        let (mut b, mut buf) = tape(r#"{"eventName":"A","eventName":"B"}"#);
        let t = simd_json::to_tape_with_buffers(&mut b, &mut buf).unwrap();
        #[derive(Debug, serde::Deserialize)]
        struct R<'a> {
            #[serde(rename = "eventName", borrow)]
            _name: &'a str,
        }
        assert!(matches!(from_tape::<R>(&t.0), Err(TapeError::DuplicateKey(_))));
    }
}

//! The IAM policies of the plan: the deny statement it writes, its size as IAM measures it
//! (F8), and how a deny statement matches a session as IAM evaluates it (`aws:TokenIssueTime`,
//! `aws:userid` with `StringLike` globs), offline.

use crate::chain::Node;
use crate::time::fmt_iso;
use serde_json::{json, Value};

/// Stands for a role id the evidence does not show, in an offline `aws:userid`: 21 characters
/// (the length of a role's unique id, `AROA` and 17 more, F9) that no id contains, so that a
/// `StringLike` pattern matches it only where it matches every role id (`*`, `?`).
const UNKNOWN_ROLE_ID: &str = "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// The session name of an assumed-role session's ARN.
pub(super) fn role_session_name(node: &Node) -> Option<&str> {
    let arn = node.principal_arn.as_deref()?;
    crate::chain::arn_is(arn, "assumed-role/").then(|| arn.rsplit('/').next()).flatten()
}

/// The `aws:userid` a session's requests carry (F9), for evaluating a deny offline: the one
/// the evidence shows; else, for an assumed-role session, `ROLEID:session` with `role_id`
/// (from the IAM snapshot) or a stand-in for the unknown role id.
pub fn session_userid(node: &Node, role_id: Option<&str>) -> Option<String> {
    userid_or(node, role_id, UNKNOWN_ROLE_ID)
}

/// The value of `aws:userid` for a session's requests, as a `StringLike` pattern (F9): the
/// id the evidence shows; else `ROLEID:session` with `role_id` from the IAM snapshot, or
/// `*:session` (any id of the role the deny is put on). What comes from the evidence is
/// matched literally ([`literal`]): a forged session name `*` must not widen the deny to
/// every session of the role, nor `${*}` narrow it to a name no session has.
///
/// `None` too for a session whose id or name holds a character IAM refuses in a policy
/// document ([`iam_takes_char`]): no real session name has one (a forged record), and a
/// deny naming it would be refused whole, the real sessions it named left uncut.
pub(super) fn userid_pattern(node: &Node, role_id: Option<&str>) -> Option<String> {
    let pattern = if let Some(u) = &node.userid {
        literal(u)
    } else {
        let name = role_session_name(node)?;
        format!("{}:{}", role_id.map_or_else(|| "*".to_string(), literal), literal(name))
    };
    pattern.chars().all(iam_takes_char).then_some(pattern)
}

/// The first character of a session's `aws:userid` (or, without one, of its session name)
/// that IAM refuses in a policy document ([`iam_takes_char`]).
pub(super) fn refused_char(node: &Node) -> Option<char> {
    let text = node.userid.as_deref().or_else(|| role_session_name(node))?;
    text.chars().find(|&c| !iam_takes_char(c))
}

/// Whether IAM takes `c` in a policy document: the `PolicyDocument` parameter of
/// `PutRolePolicy`, `PutUserPolicy` and the like is validated as tab, line feed, carriage
/// return and U+0020 to U+00FF only, and a document with any other character is refused
/// whole (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html>).
pub fn iam_takes_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}')
}

/// `s` as a `StringLike` pattern that matches only `s`: IAM's escapes for the characters a
/// pattern reads otherwise (`${*}`, `${?}`, `${$}`: a policy of version 2012-10-17, which
/// the plan writes, reads `${` as the start of a policy variable).
pub fn literal(s: &str) -> String {
    if !s.contains(['*', '?', '$']) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '*' | '?' | '$' => {
                out.push_str("${");
                out.push(c);
                out.push('}');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The evidence's `aws:userid` of `node`, else `ROLEID:session` for an assumed-role session,
/// with `unknown` standing for a role id neither the evidence nor the snapshot gives.
fn userid_or(node: &Node, role_id: Option<&str>, unknown: &str) -> Option<String> {
    if let Some(u) = &node.userid {
        return Some(u.clone());
    }
    let name = role_session_name(node)?;
    Some(format!("{}:{name}", role_id.unwrap_or(unknown)))
}

/// Characters of a policy without whitespace (the IAM size measure, F8).
pub fn policy_size(doc: &Value) -> usize {
    serde_json::to_string(doc).unwrap_or_default().chars().filter(|c| !c.is_whitespace()).count()
}

/// `doc`'s statements spread over as few policy documents of at most `max` characters each
/// (F8) as their order allows, a statement's `aws:userid` list cut between documents where it
/// does not fit whole: each part is the same deny of fewer sessions, so together they deny
/// what `doc` does. `None` when one statement does not fit alone even with a single id.
pub(super) fn split_policy(doc: &Value, max: usize) -> Option<Vec<Value>> {
    let wrap = |sts: &[Value]| json!({ "Version": "2012-10-17", "Statement": sts });
    let fits = |sts: &[Value]| policy_size(&wrap(sts)) <= max;
    let ids_of = |st: &Value| st.pointer("/Condition/StringLike/aws:userid")?.as_array().cloned();
    let mut docs: Vec<Vec<Value>> = vec![Vec::new()];
    for st in doc.get("Statement")?.as_array()? {
        let cur = docs.last_mut()?;
        cur.push(st.clone());
        if fits(cur) {
            continue;
        }
        cur.pop();
        let Some(ids) = ids_of(st).filter(|ids| ids.len() > 1) else {
            // Whole, in a document of its own.
            if !cur.is_empty() {
                docs.push(Vec::new());
            }
            let cur = docs.last_mut()?;
            cur.push(st.clone());
            if !fits(cur) {
                return None;
            }
            continue;
        };
        let with = |part: &[Value]| {
            let mut s = st.clone();
            s["Condition"]["StringLike"]["aws:userid"] = Value::Array(part.to_vec());
            s
        };
        let mut part: Vec<Value> = Vec::new();
        for id in ids {
            part.push(id);
            let cur = docs.last_mut()?;
            cur.push(with(&part));
            let ok = fits(cur);
            cur.pop();
            if ok {
                continue;
            }
            let id = part.pop()?;
            if !part.is_empty() {
                cur.push(with(&part));
            }
            if cur.is_empty() {
                return None;
            }
            docs.push(Vec::new());
            part = vec![id];
            let cur = docs.last_mut()?;
            cur.push(with(&part));
            let ok = fits(cur);
            cur.pop();
            if !ok {
                return None;
            }
        }
        docs.last_mut()?.push(with(&part));
    }
    Some(docs.iter().filter(|d| !d.is_empty()).map(|d| wrap(d)).collect())
}

/// A deny statement as written into a policy.
pub(super) fn deny_statement(sid: &str, cutoff: i64, userids: Option<&[String]>) -> Value {
    let mut cond = serde_json::Map::new();
    cond.insert("DateLessThan".into(), json!({ "aws:TokenIssueTime": fmt_iso(cutoff) }));
    if let Some(ids) = userids {
        cond.insert("StringLike".into(), json!({ "aws:userid": ids }));
    }
    json!({ "Sid": sid, "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": Value::Object(cond) })
}

/// The statement of `TrailhoundDenyAll` (no condition): every session and long-term key of
/// its principal, whenever issued, denied everything (the attacker's users and roles).
pub(super) fn deny_all_statement() -> Value {
    json!({ "Sid": super::DENY_ALL_POLICY_NAME, "Effect": "Deny", "Action": "*", "Resource": "*" })
}

/// The `Sid` of the statement that denies the sessions of instances a tainted credential
/// launched ([`launch_statement`]).
pub(super) const LAUNCH_SID: &str = "TrailhoundDenyLaunchedInstances";

/// The `Sid` of the statement that denies the sessions of Lambda functions whose code or
/// configuration a tainted credential set ([`launch_statement`]).
pub(super) const FUNCTION_SID: &str = "TrailhoundDenyChangedFunctions";

/// The issue time of the session an instance fetches after the plan has run: later than any
/// cut-off, so only a deny with no `aws:TokenIssueTime` condition matches it
/// ([`crate::chain::SessionGraph::launched_sessions`]).
pub const RENEWAL: i64 = i64::MAX / 4;

/// A deny of every session, renewals included, whose `aws:userid` is one of `userids` (the
/// `ROLEID:i-…` of instances a tainted credential launched, or `ROLEID:FUNCTION` of functions
/// it changed, F9): no time condition, because the instance or Lambda fetches new credentials
/// by itself (F21).
pub(super) fn launch_statement(sid: &str, userids: &[String]) -> Value {
    json!({ "Sid": sid, "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": { "StringLike": { "aws:userid": userids } } })
}

/// Whether any of `statements` matches a session ([`statement_matches`]).
pub fn any_matches(statements: &[Value], issued: Option<i64>, userid: Option<&str>) -> bool {
    statements.iter().any(|s| statement_matches(s, issued, userid))
}

/// Whether a deny `statement` (from a plan) matches a session issued at `issued` with
/// `aws:userid` = `userid`, as IAM evaluates it (SPEC §6), for every action on every
/// resource: only such a deny cuts a session. A statement narrowed to some actions or
/// resources (`Action`/`Resource` other than `*`, any `NotAction`, `NotResource`,
/// `Principal` or `NotPrincipal`, an element this check does not know, or a condition
/// operator with nothing under it) proves nothing, so it never matches: a hand-edited plan
/// fails closed.
pub fn statement_matches(statement: &Value, issued: Option<i64>, userid: Option<&str>) -> bool {
    let Some(st) = statement.as_object() else { return false };
    if st.get("Effect").and_then(Value::as_str) != Some("Deny") {
        return false;
    }
    if st
        .keys()
        .any(|k| !matches!(k.as_str(), "Sid" | "Effect" | "Action" | "Resource" | "Condition"))
    {
        return false;
    }
    let everything = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s == "*",
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    };
    if !everything(st.get("Action")) || !everything(st.get("Resource")) {
        return false;
    }
    let cond = match st.get("Condition") {
        None => return true,
        Some(c) => match c.as_object() {
            Some(c) => c,
            None => return false,
        },
    };
    for (op, kv) in cond {
        let Some(kv) = kv.as_object().filter(|kv| !kv.is_empty()) else { return false };
        for (key, val) in kv {
            let vals: Vec<&str> = match val {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => return false,
            };
            let ok = match (op.as_str(), key.as_str()) {
                // F5: no aws:TokenIssueTime on long-term keys → the condition does not match.
                ("DateLessThan", "aws:TokenIssueTime") => {
                    issued.is_some_and(|t| vals.iter().any(|v| iam_date(v).is_some_and(|c| t < c)))
                }
                ("StringLike", "aws:userid") => {
                    userid.is_some_and(|u| vals.iter().any(|p| glob_match(p, u)))
                }
                _ => false, // a condition we cannot evaluate offline never proves coverage
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// A date condition value in the one form the plan writes and IAM documents (W3C ISO 8601,
/// `YYYY-MM-DDThh:mm:ssZ`). Any other form (a space for the `T`, no zone, the basic form that
/// a lenient parser also reads) proves nothing: IAM may refuse the policy or never match it,
/// so a hand-edited date fails closed.
pub(super) fn iam_date(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    let shape = b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    shape.then(|| crate::time::parse_iso(v)).flatten()
}

/// One element of a `StringLike` pattern.
#[derive(Clone, Copy, PartialEq)]
enum Glob {
    /// `*`: any run of characters.
    Any,
    /// `?`: one character.
    One,
    /// A character matched as itself (`${*}`, `${?}`, `${$}` are `*`, `?`, `$`).
    Char(char),
}

/// A `StringLike` pattern of a 2012-10-17 policy, or `None` when it holds a policy variable
/// (`${aws:username}`, …): its value depends on the request, so offline it proves nothing.
fn glob_parse(pattern: &str) -> Option<Vec<Glob>> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("${") {
            let esc = ["${*}", "${?}", "${$}"].into_iter().find(|e| rest.starts_with(e))?;
            out.push(Glob::Char(esc.as_bytes()[2] as char));
            rest = &rest[esc.len()..];
            continue;
        }
        out.push(match c {
            '*' => Glob::Any,
            '?' => Glob::One,
            c => Glob::Char(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

/// The text a `StringLike` pattern matches when it matches exactly one (no `*` or `?`, no
/// policy variable): `${*}`, `${?}` and `${$}` read as the character.
pub(super) fn exact_text(pattern: &str) -> Option<String> {
    glob_parse(pattern)?
        .into_iter()
        .map(|g| match g {
            Glob::Char(c) => Some(c),
            Glob::Any | Glob::One => None,
        })
        .collect()
}

/// IAM `StringLike` matching: `*` any run, `?` one character, `${*}`, `${?}` and `${$}` the
/// character itself; a pattern with any other `${` (a policy variable) matches nothing.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let Some(p) = glob_parse(pattern) else { return false };
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == Glob::One || p[pi] == Glob::Char(t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == Glob::Any {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == Glob::Any {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("AROAEXAMPLE:ci", "AROAEXAMPLE:ci"));
        assert!(glob_match("*:ci", "AROAEXAMPLE:ci"));
        assert!(!glob_match("*:ci", "AROAEXAMPLE:cia"));
        assert!(glob_match("A?OA*", "AROAX"));
        assert!(!glob_match("", "x"));
        // IAM's escapes match the character itself, not as a wildcard.
        assert!(glob_match("A:x${*}y", "A:x*y"));
        assert!(!glob_match("A:x${*}y", "A:xzy"));
        assert!(glob_match("A:${$}${?}", "A:$?"));
        assert!(!glob_match("A:${?}", "A:z"));
        // A policy variable depends on the request: it proves nothing offline.
        assert!(!glob_match("${aws:username}", "${aws:username}"));
        assert!(!glob_match("A:${", "A:${"));
    }

    #[test]
    fn a_forged_session_name_is_denied_literally() {
        for name in ["*", "x${*}y", "a?b", "$", "${aws:userid}"] {
            let pattern = literal(&format!("AROAEXAMPLE:{name}"));
            assert!(glob_match(&pattern, &format!("AROAEXAMPLE:{name}")), "{name}");
            assert!(!glob_match(&pattern, "AROAEXAMPLE:innocent"), "{name} must not widen");
        }
    }

    #[test]
    fn deny_condition_semantics() {
        let t = crate::time::parse_iso("2024-03-11T10:00:00Z").unwrap();
        let strict = deny_statement("s", t, None);
        assert!(statement_matches(&strict, Some(t - 1), None));
        assert!(!statement_matches(&strict, Some(t), None), "DateLessThan is strict");
        // F5: long-term keys carry no aws:TokenIssueTime.
        assert!(!statement_matches(&strict, None, Some("AIDAEXAMPLE")));
        let surgical = deny_statement("s", t, Some(&["*:ci".to_string()]));
        assert!(statement_matches(&surgical, Some(t - 5), Some("AROAX:ci")));
        assert!(!statement_matches(&surgical, Some(t - 5), Some("AROAX:other")));
    }

    #[test]
    fn a_deny_narrowed_or_of_an_unknown_shape_never_proves_a_cut() {
        let t = crate::time::parse_iso("2024-03-11T10:00:00Z").unwrap();
        let strict = deny_statement("s", t, None);
        assert!(statement_matches(&strict, Some(t - 1), None));
        let edited = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
            let mut s = strict.clone();
            f(s.as_object_mut().unwrap());
            statement_matches(&s, Some(t - 1), None)
        };
        assert!(edited(&|s| {
            s.insert("Action".into(), json!(["iam:*", "*"]));
        }));
        assert!(!edited(&|s| {
            s.insert("Action".into(), json!("iam:*"));
        }));
        assert!(!edited(&|s| {
            s.insert("Resource".into(), json!("arn:aws:s3:::b/*"));
        }));
        assert!(!edited(&|s| {
            s.remove("Action");
            s.insert("NotAction".into(), json!("*"));
        }));
        assert!(!edited(&|s| {
            s.insert("NotResource".into(), json!("arn:aws:s3:::b"));
        }));
        assert!(!edited(&|s| {
            s.insert("Principal".into(), json!({"AWS": "*"}));
        }));
        assert!(!edited(&|s| {
            s.insert("Condition".into(), json!({"DateLessThan": {}}));
        }));
        assert!(!edited(&|s| {
            s.insert("Condition".into(), json!("x"));
        }));
        assert!(!edited(&|s| {
            s.insert("Effect".into(), json!("Allow"));
        }));
        assert!(edited(&|s| {
            s.remove("Condition");
        }));
    }

    /// Only the documented date form proves a cut: the forms a lenient parser also reads
    /// (a space, no zone, the basic form) do not.
    #[test]
    fn a_cut_off_in_another_date_form_proves_nothing() {
        let t = crate::time::parse_iso("2024-03-11T10:00:00Z").unwrap();
        let at = |date: &str| json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateLessThan": {"aws:TokenIssueTime": date}}});
        assert!(statement_matches(&at("2024-03-11T10:30:00Z"), Some(t), None));
        for other in
            ["2024-03-11 10:30:00", "20240311T103000Z", "2024-03-11T10:30:00", "1710153000"]
        {
            assert!(crate::time::parse_iso(other).is_some() || other == "1710153000");
            assert!(!statement_matches(&at(other), Some(t), None), "{other}");
        }
    }

    #[test]
    fn size_ignores_whitespace() {
        let d = json!({"a": "b c"});
        assert_eq!(policy_size(&d), "{\"a\":\"bc\"}".len());
    }
}

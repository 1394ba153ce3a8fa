//! What `verify` holds a plan's actions to beyond their own commands: IAM's policy grammar
//! (a put IAM refuses whole cuts nothing) and the evidence behind every removal and
//! deactivation (a plan.json edited by hand, with its plan.sh, must not switch off or delete
//! what the trail does not show the attacker's).

use super::targets::TargetKind;
use super::ActionKind;
use crate::chain::{NodeKind, SessionGraph};
use std::collections::BTreeSet;

/// IAM refuses a policy whose statement has a `Sid` that is not a string of ASCII letters and
/// digits, or two statements of one `Sid`: the whole put is then refused, whatever else
/// denies.
pub(super) fn sids_iam_takes(doc: &serde_json::Value) -> Result<(), String> {
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for st in statements {
        let Some(sid) = st.get("Sid") else { continue };
        match sid.as_str() {
            Some(s) if s.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                if !seen.insert(s) {
                    return Err(format!(
                        "two statements have the Sid {s:?}: IAM refuses the policy"
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "IAM refuses the Sid {}: only ASCII letters and digits",
                    crate::escape::one_line(&sid.to_string())
                ))
            }
        }
    }
    Ok(())
}

/// What the evidence backs a plan's removals with, as verify derives it: the users the
/// attacker controls (live, under a name the trail is sure of), the tainted access keys, and
/// the other credentials tainted credentials made or revived. A removal or deactivation of
/// anything else is a command problem: plan.json and plan.sh edited together (to delete a
/// clean user, or switch off a clean key) had matched each other and verify said OK (review of
/// 2026-12-06).
pub(super) struct Backing {
    /// (account, user in lower case).
    users: BTreeSet<(String, String)>,
    /// Those of [`Backing::users`] the attacker made, surely (the plan removes them).
    made: BTreeSet<(String, String)>,
    keys: BTreeSet<String>,
    /// `othercreds::deactivated` of each credential tainted credentials made or revived.
    others: BTreeSet<(String, String, String)>,
    /// (account, user in lower case) of each `--principal` user whose console sign-in the
    /// trail shows (`super::principals`): the plan removes its password.
    passwords: BTreeSet<(String, String)>,
}

impl Backing {
    pub(super) fn of(
        g: &SessionGraph,
        b: &crate::blast::BlastRadius,
        rooms: &super::TrailRooms,
        principal_left: &[super::principals::Left],
    ) -> Backing {
        let who = |u: &crate::taint::AttackerUser| {
            (u.account_id.clone(), u.user_name.to_ascii_lowercase())
        };
        let users = b.attacker_users.iter().filter(|u| u.live()).map(who).collect();
        let made = b.attacker_users.iter().filter(|u| u.removable()).map(who).collect();
        let keys = b
            .nodes
            .iter()
            .filter(|&&n| g.nodes[n].kind == NodeKind::LongTermKey)
            .filter_map(|&n| g.nodes[n].access_key_id.as_deref().map(str::to_string))
            .collect();
        let others = super::othercreds::made_ids(g, rooms);
        let passwords = principal_left
            .iter()
            .filter(|l| l.password)
            .map(|l| (l.account.clone(), l.user.to_ascii_lowercase()))
            .collect();
        Backing { users, made, keys, others, passwords }
    }

    pub(super) fn check(&self, a: &super::Action) -> Result<(), String> {
        use ActionKind as K;
        let user = || {
            (
                a.account_id.clone().unwrap_or_default(),
                a.user_name.as_deref().unwrap_or("").to_ascii_lowercase(),
            )
        };
        let of_attacker = || self.users.contains(&user());
        let backed = match a.kind {
            K::DeleteUser
            | K::DeleteAccessKey
            | K::DetachUserPolicy
            | K::DeleteUserPolicy
            | K::RemoveUserFromGroup => self.made.contains(&user()),
            K::DeleteLoginProfile => of_attacker() || self.passwords.contains(&user()),
            K::DeactivateAccessKey => {
                of_attacker()
                    || a.access_key_id.as_ref().is_some_and(|k| self.keys.contains(k))
                    || super::othercreds::deactivated(a).is_some_and(|d| self.others.contains(&d))
            }
            K::DeactivateSshPublicKey
            | K::DeactivateServiceSpecificCredential
            | K::DeactivateSigningCertificate => {
                of_attacker()
                    || super::othercreds::deactivated(a).is_some_and(|d| self.others.contains(&d))
            }
            _ => true,
        };
        match backed {
            true => Ok(()),
            false => Err(format!(
                "the evidence does not back it: {} is not a user the attacker {}{}, as verify derives them from the trail; a plan.json edited by hand?",
                crate::escape::one_line(a.user_name.as_deref().unwrap_or("?")),
                match a.kind {
                    K::DeleteUser
                    | K::DeleteAccessKey
                    | K::DetachUserPolicy
                    | K::DeleteUserPolicy
                    | K::RemoveUserFromGroup => "surely made (the plan removes no other)",
                    _ => "controls",
                },
                match a.kind {
                    K::DeactivateAccessKey => {
                        " and the key is neither tainted nor set Active by a tainted credential"
                    }
                    K::DeactivateSshPublicKey
                    | K::DeactivateServiceSpecificCredential
                    | K::DeactivateSigningCertificate => {
                        " and no tainted credential made or revived this credential"
                    }
                    _ => "",
                }
            )),
        }
    }
}

/// The first character of `doc`'s keys and strings that IAM refuses in a policy document
/// ([`super::policy::iam_takes_char`]).
fn refused_char(doc: &serde_json::Value) -> Option<char> {
    use serde_json::Value;
    let first = |s: &str| s.chars().find(|&c| !super::policy::iam_takes_char(c));
    match doc {
        Value::String(s) => first(s),
        Value::Array(a) => a.iter().find_map(refused_char),
        Value::Object(o) => o.iter().find_map(|(k, v)| first(k).or_else(|| refused_char(v))),
        _ => None,
    }
}

/// IAM refuses the whole of an identity policy (MalformedPolicyDocument) that breaks its
/// grammar, and then the put cuts nothing, whatever its statements say: an element the
/// grammar does not have (a `Comment`; a `Principal`, which an identity policy must not
/// name), a `Version` other than its two, an `Effect` other than `Allow` or `Deny`, a
/// statement without an action or a resource, an action without its service prefix
/// (`GetObject`), a resource that is neither `*` nor an ARN. verify had judged each statement
/// alone and counted such a deny as cutting (a hand-edited plan.json, review of 2026-12-06).
/// And a document holding a character IAM does not take ([`refused_char`]: a forged session
/// name in a surgical deny's `aws:userid`, review of 2026-12-06, evening).
pub(super) fn grammar_iam_takes(doc: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    let l = |v: &Value| crate::escape::one_line(&v.to_string()).into_owned();
    let refused =
        |why: String| Err(format!("IAM refuses the policy (MalformedPolicyDocument): {why}"));
    let Some(top) = doc.as_object() else { return refused("it is not a JSON object".into()) };
    if let Some(c) = refused_char(doc) {
        return refused(format!(
            "it holds U+{:04X}, and IAM takes only tab, line feed, carriage return and U+0020 to U+00FF in a policy document",
            c as u32
        ));
    }
    if let Some(k) = top.keys().find(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement")) {
        return refused(format!(
            "it has an element {} the policy grammar does not",
            l(&Value::from(k.as_str()))
        ));
    }
    match top.get("Version").map(Value::as_str) {
        None | Some(Some("2012-10-17" | "2008-10-17")) => {}
        Some(_) => return refused(format!("Version {} is not 2012-10-17", l(&top["Version"]))),
    }
    let statements: Vec<&Value> = match top.get("Statement") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return refused("it has no statement".into()),
    };
    let list = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(a) if !a.is_empty() => {
                a.iter().map(|x| x.as_str().map(str::to_string)).collect()
            }
            _ => None,
        }
    };
    for st in statements {
        let Some(st) = st.as_object() else {
            return refused("a statement is not an object".into());
        };
        const KEYS: &[&str] =
            &["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"];
        if let Some(k) = st.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return refused(format!(
                "a statement has an element {} an identity policy may not",
                l(&Value::from(k.as_str()))
            ));
        }
        if !matches!(st.get("Effect").and_then(Value::as_str), Some("Allow" | "Deny")) {
            return refused(format!(
                "a statement's Effect is {}",
                l(st.get("Effect").unwrap_or(&Value::Null))
            ));
        }
        for (a, b, what) in
            [("Action", "NotAction", "action"), ("Resource", "NotResource", "resource")]
        {
            let values = match (st.get(a), st.get(b)) {
                (Some(v), None) | (None, Some(v)) => list(v),
                _ => return refused(format!("a statement must have one of {a} and {b}")),
            };
            let Some(values) = values else {
                return refused(format!(
                    "a statement's {what} is not a string or a list of strings"
                ));
            };
            for v in &values {
                let ok = v == "*"
                    || match what {
                        "action" => v.split_once(':').is_some_and(|(svc, name)| {
                            !svc.is_empty()
                                && svc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                                && !name.is_empty()
                                && name
                                    .bytes()
                                    .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
                        }),
                        _ => v.starts_with("arn:"),
                    };
                if !ok {
                    return refused(format!(
                        "{} is not an {what} ({})",
                        l(&Value::from(v.as_str())),
                        if what == "action" { "service:Action, or *" } else { "an ARN, or *" }
                    ));
                }
            }
        }
        if st.get("Condition").is_some_and(|c| !c.is_object()) {
            return refused("a statement's Condition is not an object".into());
        }
    }
    Ok(())
}

/// The deny statements the planner writes, which `verify` holds every deny of a plan to (a
/// review: plan.json and plan.sh edited together, one adding a deny of every session of a
/// clean role whenever issued, the other moving every cut-off to 2030, matched each other and
/// verify said OK, though plan.sh would refuse every new session of those roles, until 2030
/// or for good, and the collateral counted none of them):
///
/// - a deny of the sessions issued before the plan's cut-off (`DateLessThan`
///   `aws:TokenIssueTime` at exactly its `effective_at`), of every session of the principal
///   or of those `StringLike` `aws:userid` names;
/// - a deny of everything, with no condition, on a user the attacker controls or a role it
///   made, as verify derives them (SPEC §9);
/// - a deny with no time condition of the sessions `aws:userid` names, each of an instance a
///   tainted credential launched or a function it changed (F21).
///
/// Anything else (an `Allow`, another time, another condition) is a command problem.
pub(super) struct DenyShapes {
    cut: i64,
    /// The users and roles denied everything, keyed as `verify::on_key` keys them.
    everything: BTreeSet<(TargetKind, String, String)>,
    /// The session names of the tainted sessions of launched instances and changed functions.
    launched: BTreeSet<String>,
}

impl DenyShapes {
    pub(super) fn of(g: &SessionGraph, b: &crate::blast::BlastRadius, cut: i64) -> DenyShapes {
        let key = super::verify::on_key;
        let mut everything: BTreeSet<_> = b
            .attacker_users
            .iter()
            .map(|u| key(TargetKind::User, &u.user_name, &u.account_id))
            .collect();
        // Every role a tainted credential made, gone since or not: a plan made before the
        // role's deletion denies it everything, and verify over later logs must not call that
        // deny a hand edit (a review).
        everything.extend(
            g.role_grants
                .iter()
                .filter(|gr| gr.event_name == "CreateRole" && b.nodes.contains(&gr.by))
                .map(|gr| key(TargetKind::Role, &gr.user_name, &gr.account_id)),
        );
        let launched = g
            .launched_sessions()
            .into_keys()
            .filter(|n| b.nodes.contains(n))
            .filter_map(|n| {
                let node = &g.nodes[n];
                match &node.userid {
                    Some(u) => u.split_once(':').map(|(_, s)| s.to_string()),
                    None => super::policy::role_session_name(node).map(str::to_string),
                }
            })
            .collect();
        DenyShapes { cut, everything, launched }
    }

    /// The planner writes `Version` 2012-10-17 alone: under another (or none), IAM reads a
    /// `${…}` as itself, which `statements` takes as proving nothing and a review used to slip
    /// an `Allow` past these checks.
    pub(super) fn version(&self, doc: Option<&serde_json::Value>) -> Result<(), String> {
        match doc.and_then(|d| d.get("Version")).and_then(serde_json::Value::as_str) {
            Some("2012-10-17") => Ok(()),
            _ => Err("its policy document's Version is not 2012-10-17, the only one the planner writes (a plan.json edited by hand?)".into()),
        }
    }

    /// Whether each of `statements`, put on `kind` `name` of `account`, is one the planner
    /// writes there.
    pub(super) fn check(
        &self,
        (kind, name, account): (TargetKind, &str, &str),
        statements: &[serde_json::Value],
    ) -> Result<(), String> {
        use serde_json::Value;
        let l = |v: &Value| crate::escape::one_line(&v.to_string()).into_owned();
        let who = format!("{kind} {}", crate::escape::one_line(name));
        let never = |why: String| {
            Err(format!("{why}: a deny the planner never writes (a plan.json edited by hand?)"))
        };
        for st in statements {
            if st.get("Effect").and_then(Value::as_str) != Some("Deny") {
                return never(format!("a statement on {who} is not a Deny"));
            }
            let Some(cond) = st.get("Condition") else {
                if self.everything.contains(&super::verify::on_key(kind, name, account)) {
                    continue;
                }
                return never(format!("it denies every session and key of {who} whenever issued (no condition), but the evidence shows it neither a user the attacker controls nor a role it made: every new session of it would be refused, which no collateral counts"));
            };
            let Some(cond) = cond.as_object() else {
                return never(format!("a condition on {who} is not an object"));
            };
            let mut before = None;
            let mut userids = None;
            for (op, kv) in cond {
                let kv = kv.as_object().filter(|kv| kv.len() == 1);
                match (op.as_str(), kv.and_then(|kv| kv.iter().next())) {
                    ("DateLessThan", Some((k, v))) if k == "aws:TokenIssueTime" => before = Some(v),
                    ("StringLike", Some((k, v))) if k == "aws:userid" => userids = Some(v),
                    _ => {
                        return never(format!(
                            "a statement on {who} has the condition {} {}",
                            crate::escape::one_line(op),
                            l(&cond[op])
                        ))
                    }
                }
            }
            match (before, userids) {
                (Some(t), _) => {
                    let at = t.as_str().and_then(super::policy::iam_date);
                    if at != Some(self.cut) {
                        let cut = crate::time::fmt_iso(self.cut);
                        return never(match at {
                            Some(at) if at < self.cut => format!(
                                "it denies only the sessions of {who} issued before {}, earlier than the plan's cut-off {cut}",
                                l(t)
                            ),
                            _ => format!(
                                "it denies the sessions of {who} issued before {}, not before the plan's cut-off {cut}: those issued after the cut-off would be refused too, which no collateral counts",
                                l(t)
                            ),
                        });
                    }
                }
                (None, Some(ids)) => {
                    let list: Vec<&Value> = match ids {
                        Value::Array(a) => a.iter().collect(),
                        one => vec![one],
                    };
                    for p in list {
                        let session = p
                            .as_str()
                            .and_then(|p| p.split_once(':'))
                            .and_then(|(_, s)| super::policy::exact_text(s));
                        if !session.is_some_and(|s| self.launched.contains(&s)) {
                            return never(format!(
                                "it denies the sessions of {who} whose aws:userid is like {} whenever issued (no time condition), but that names no session of an instance a tainted credential launched or a function it changed (F21)",
                                l(p)
                            ));
                        }
                    }
                }
                (None, None) => {
                    return never(format!("a statement on {who} has an empty condition"))
                }
            }
        }
        Ok(())
    }
}

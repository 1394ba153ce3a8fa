//! What `verify` holds a plan's actions to beyond their own commands: IAM's policy grammar
//! (a put IAM refuses whole cuts nothing) and the evidence behind every removal and
//! deactivation (a plan.json edited by hand, with its plan.sh, must not switch off or delete
//! what the trail does not show the attacker's).

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
}

impl Backing {
    pub(super) fn of(
        g: &SessionGraph,
        b: &crate::blast::BlastRadius,
        rooms: &super::TrailRooms,
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
        Backing { users, made, keys, others }
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
            K::DeleteLoginProfile => of_attacker(),
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

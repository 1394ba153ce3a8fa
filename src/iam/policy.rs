//! Offline IAM policy evaluation: parsing policy documents (object, JSON string or URL-encoded
//! string) and matching statements against an action, a resource and (for trust policies) a
//! principal.
//!
//! Evaluation follows the IAM User Guide, "Policy evaluation logic": an explicit `Deny` wins,
//! then an `Allow`, else the request is implicitly denied; a permissions boundary must allow as
//! well. `Action`/`NotAction`, `Resource`/`NotResource` and `Principal`/`NotPrincipal` take a
//! string or an array; `Statement` an object or an array. Actions match case-insensitively with
//! `*` and `?`; resource ARNs match per segment (a wildcard does not span the `:` between ARN
//! segments, the resource part after the fifth `:` is one segment).
//!
//! Conditions cannot be evaluated offline (they depend on the request context), so a matching
//! statement with a `Condition` gives [`Tri::Maybe`]: an `Allow` "may allow" (the condition keys
//! become labels), a `Deny` "may deny" (it never denies for certain). Service control policies,
//! resource control policies and session policies are not in an IAM snapshot and are not
//! evaluated: every answer is "as far as the identity, boundary and trust policies go".

use serde_json::Value;

/// A three-state answer: certainly not, maybe (a condition decides), certainly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tri {
    /// Certainly not.
    No,
    /// Depends on a condition that cannot be evaluated offline.
    Maybe,
    /// Certainly.
    Yes,
}

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// `Principal` / `NotPrincipal` values of a statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Principals {
    /// `"Principal": "*"` or `{"AWS": "*"}`.
    pub any: bool,
    /// `AWS` values: ARNs, account ids, unique ids (`AIDA…`/`AROA…` of deleted principals).
    pub aws: Vec<String>,
    /// `Service` values (never an IAM principal of a snapshot).
    pub service: Vec<String>,
    /// `Federated` values (SAML / OIDC providers; never an IAM principal of a snapshot).
    pub federated: Vec<String>,
}

/// One statement, its patterns pre-lowered where matching is case-insensitive.
#[derive(Clone, Debug)]
pub struct Statement {
    /// `Sid`, or `#N` (index in the document) when absent.
    pub sid: String,
    /// Allow or Deny.
    pub effect: Effect,
    /// Action patterns (lower case).
    pub actions: Vec<String>,
    /// True when the patterns came from `NotAction`.
    pub not_action: bool,
    /// Resource patterns; `None` when the statement has neither `Resource` nor `NotResource`
    /// (trust policies), which matches every resource.
    pub resources: Option<Vec<String>>,
    /// True when the patterns came from `NotResource`.
    pub not_resource: bool,
    /// `Principal` / `NotPrincipal` (resource-based and trust policies only).
    pub principals: Option<Principals>,
    /// True when the principals came from `NotPrincipal`.
    pub not_principal: bool,
    /// Condition keys (`operator:key`, sorted); empty when the statement has no `Condition`.
    pub conditions: Vec<String>,
}

/// A parsed policy document.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The statements in document order.
    pub statements: Vec<Statement>,
}

/// Who asks, for trust (resource-based) policies.
#[derive(Clone, Copy, Debug)]
pub struct Caller<'a> {
    /// The caller's ARN (`arn:aws:iam::ACCT:user/path/name` or `…:role/path/name`).
    pub arn: &'a str,
    /// The caller's account id.
    pub account: &'a str,
    /// The caller's unique id (`AIDA…`/`AROA…`), empty if unknown.
    pub id: &'a str,
}

/// How a trust policy names a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalMatch {
    /// Not at all.
    None,
    /// By the caller's own ARN or unique id.
    Direct,
    /// By the caller's account (`arn:aws:iam::ACCT:root`, bare id) or `*`.
    Account,
}

/// The result of evaluating a set of statements for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eval {
    /// Whether an Allow statement applies.
    pub allow: Tri,
    /// Whether a Deny statement applies.
    pub deny: Tri,
    /// `policy#sid` of the statements that applied (allows, then denies), in order.
    pub reasons: Vec<String>,
    /// Condition labels of the statements that applied only under a condition.
    pub labels: Vec<String>,
}

impl Default for Eval {
    fn default() -> Self {
        Eval { allow: Tri::No, deny: Tri::No, reasons: Vec::new(), labels: Vec::new() }
    }
}

/// The final decision of an [`Eval`] or a combination of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Explicitly denied.
    Denied,
    /// No statement allows (implicit deny).
    NotAllowed,
    /// Allowed only if conditions hold (labels say which), or an Allow is open to a
    /// conditional Deny.
    MayAllow(Vec<String>),
    /// Allowed.
    Allowed,
}

impl Eval {
    /// The decision: explicit deny wins, then allow, else implicit deny.
    pub fn decision(&self) -> Decision {
        match (self.deny, self.allow) {
            (Tri::Yes, _) => Decision::Denied,
            (_, Tri::No) => Decision::NotAllowed,
            (Tri::No, Tri::Yes) => Decision::Allowed,
            _ => Decision::MayAllow(self.labels.clone()),
        }
    }

    /// Merges another evaluation of the same request (another policy of the same set).
    pub fn absorb(&mut self, o: Eval) {
        self.allow = self.allow.max(o.allow);
        self.deny = self.deny.max(o.deny);
        self.reasons.extend(o.reasons);
        for l in o.labels {
            if !self.labels.contains(&l) {
                self.labels.push(l);
            }
        }
    }
}

/// Why a policy document could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError(pub String);

/// Decodes `%XX` escapes (RFC 3986, as the IAM API returns policy documents). `+` is kept.
///
/// # Errors
/// A `%` not followed by two hex digits, or bytes that are not UTF-8 after decoding.
pub fn url_decode(s: &str) -> Result<String, PolicyError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            match (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(PolicyError(format!("bad URL escape at byte {i}"))),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PolicyError("URL-decoded document is not UTF-8".into()))
}

impl Policy {
    /// Parses a document as the CLI (a JSON object) or the API (a URL-encoded string) gives it;
    /// a plain JSON string is accepted too.
    ///
    /// # Errors
    /// A string that is not JSON after decoding, or a document without a valid `Statement`.
    pub fn from_value(v: &Value) -> Result<Policy, PolicyError> {
        match v {
            Value::Object(_) => Policy::from_doc(v),
            Value::String(s) => {
                let t = s.trim_start();
                let text = if t.starts_with('{') { s.clone() } else { url_decode(s)? };
                let doc: Value = serde_json::from_str(&text)
                    .map_err(|e| PolicyError(format!("policy document is not JSON: {e}")))?;
                if !doc.is_object() {
                    return Err(PolicyError("policy document is not a JSON object".into()));
                }
                Policy::from_doc(&doc)
            }
            _ => Err(PolicyError("policy document is neither an object nor a string".into())),
        }
    }

    fn from_doc(doc: &Value) -> Result<Policy, PolicyError> {
        let st = doc.get("Statement").ok_or_else(|| PolicyError("no Statement".into()))?;
        let list: Vec<&Value> = match st {
            Value::Array(a) => a.iter().collect(),
            Value::Object(_) => vec![st],
            _ => return Err(PolicyError("Statement is neither an object nor an array".into())),
        };
        let mut statements = Vec::with_capacity(list.len());
        for (i, s) in list.into_iter().enumerate() {
            statements.push(Statement::parse(s, i)?);
        }
        Ok(Policy { statements })
    }

    /// Evaluates an identity-based (or boundary) policy for `action` on `resource`; `name`
    /// prefixes the reasons.
    pub fn eval(&self, name: &str, action: &str, resource: &str) -> Eval {
        self.eval_inner(name, action, resource, None).0
    }

    /// Evaluates a trust policy for `caller` calling `action`; also says how the caller was
    /// named by the statements that applied (the strongest: direct before account).
    pub fn eval_trust(&self, name: &str, action: &str, caller: Caller<'_>) -> (Eval, Eval) {
        let (direct, account) = self.eval_inner(name, action, "*", Some(caller));
        (direct, account.unwrap_or_default())
    }

    /// Returns (evaluation, account-level evaluation): with a caller, the first holds the
    /// statements naming it directly (and every Deny), the second the statements naming its
    /// account or `*`.
    fn eval_inner(
        &self,
        name: &str,
        action: &str,
        resource: &str,
        caller: Option<Caller<'_>>,
    ) -> (Eval, Option<Eval>) {
        let action = action.to_ascii_lowercase();
        let mut e = Eval::default();
        let mut acct = caller.map(|_| Eval::default());
        for s in &self.statements {
            if !s.matches_action(&action) {
                continue;
            }
            if caller.is_none() && !s.matches_resource(resource) {
                continue;
            }
            let mut how = PrincipalMatch::Direct;
            if let Some(c) = caller {
                how = s.matches_principal(c);
                if how == PrincipalMatch::None {
                    continue;
                }
            }
            let tri = if s.conditions.is_empty() { Tri::Yes } else { Tri::Maybe };
            let reason = format!("{name}#{}", s.sid);
            let target = match (&mut acct, s.effect, how) {
                (Some(a), Effect::Allow, PrincipalMatch::Account) => a,
                _ => &mut e,
            };
            match s.effect {
                Effect::Allow => {
                    target.allow = target.allow.max(tri);
                    if tri == Tri::Maybe {
                        for c in &s.conditions {
                            let l = format!("condition {c}");
                            if !target.labels.contains(&l) {
                                target.labels.push(l);
                            }
                        }
                    }
                }
                Effect::Deny => {
                    target.deny = target.deny.max(tri);
                    if tri == Tri::Maybe {
                        let l = format!("may be denied by condition ({reason})");
                        if !target.labels.contains(&l) {
                            target.labels.push(l);
                        }
                    }
                }
            }
            target.reasons.push(reason);
        }
        (e, acct)
    }

    /// Whether some Allow statement names an action matching `action` (resource ignored): a
    /// cheap filter before evaluating per resource.
    pub fn may_allow_action(&self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        self.statements.iter().any(|s| s.effect == Effect::Allow && s.matches_action(&action))
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| PolicyError(format!("{what} holds a non-string value")))
            })
            .collect(),
        _ => Err(PolicyError(format!("{what} is neither a string nor an array"))),
    }
}

impl Statement {
    fn parse(s: &Value, index: usize) -> Result<Statement, PolicyError> {
        if !s.is_object() {
            return Err(PolicyError(format!("statement {index} is not an object")));
        }
        let sid = match s.get("Sid").and_then(Value::as_str) {
            Some(x) if !x.is_empty() => x.to_string(),
            _ => format!("#{index}"),
        };
        let effect = match s.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(PolicyError(format!("statement {sid}: bad Effect {other:?}"))),
        };
        let (actions, not_action) = match (s.get("Action"), s.get("NotAction")) {
            (Some(a), None) => (strings(a, "Action")?, false),
            (None, Some(a)) => (strings(a, "NotAction")?, true),
            _ => {
                return Err(PolicyError(format!(
                    "statement {sid}: needs exactly one of Action and NotAction"
                )))
            }
        };
        let actions = actions.into_iter().map(|a| a.to_ascii_lowercase()).collect();
        let (resources, not_resource) = match (s.get("Resource"), s.get("NotResource")) {
            (Some(r), None) => (Some(strings(r, "Resource")?), false),
            (None, Some(r)) => (Some(strings(r, "NotResource")?), true),
            (None, None) => (None, false),
            _ => {
                return Err(PolicyError(format!("statement {sid}: both Resource and NotResource")))
            }
        };
        let (principals, not_principal) = match (s.get("Principal"), s.get("NotPrincipal")) {
            (Some(p), None) => (Some(Principals::parse(p)?), false),
            (None, Some(p)) => (Some(Principals::parse(p)?), true),
            (None, None) => (None, false),
            _ => {
                return Err(PolicyError(format!(
                    "statement {sid}: both Principal and NotPrincipal"
                )))
            }
        };
        let mut conditions = Vec::new();
        match s.get("Condition") {
            None | Some(Value::Null) => {}
            Some(Value::Object(ops)) => {
                for (op, keys) in ops {
                    match keys {
                        Value::Object(k) => {
                            conditions.extend(k.keys().map(|key| format!("{op}:{key}")))
                        }
                        _ => conditions.push(op.clone()),
                    }
                }
                if conditions.is_empty() && !ops.is_empty() {
                    conditions.push("Condition".into());
                }
            }
            Some(_) => {
                return Err(PolicyError(format!("statement {sid}: Condition is not an object")))
            }
        }
        conditions.sort();
        Ok(Statement {
            sid,
            effect,
            actions,
            not_action,
            resources,
            not_resource,
            principals,
            not_principal,
            conditions,
        })
    }

    /// `action` is lower case.
    pub fn matches_action(&self, action: &str) -> bool {
        let hit = self.actions.iter().any(|p| glob(p.as_bytes(), action.as_bytes()));
        hit != self.not_action
    }

    fn matches_resource(&self, resource: &str) -> bool {
        // A policy variable (`${aws:username}`) stands for a value of the request, unknown
        // offline: it is read the way that gives more reach, never less. As `*` where a match
        // widens what the statement allows (an Allow's `Resource`, a Deny's `NotResource`), as
        // matching nothing where a match would deny more or allow less (a Deny's `Resource`,
        // an Allow's `NotResource`).
        let wide = (self.effect == Effect::Allow) != self.not_resource;
        let one = |p: &String| (wide || !p.contains("${")) && arn_match(p, resource);
        match &self.resources {
            None => true,
            Some(rs) => rs.iter().any(one) != self.not_resource,
        }
    }

    fn matches_principal(&self, c: Caller<'_>) -> PrincipalMatch {
        let Some(p) = &self.principals else { return PrincipalMatch::None };
        let mut how = PrincipalMatch::None;
        if p.any {
            how = PrincipalMatch::Account;
        }
        for v in &p.aws {
            if v == c.arn || (!c.id.is_empty() && v == c.id) {
                how = PrincipalMatch::Direct;
                break;
            }
            if v == c.account || account_root(v) == Some(c.account) {
                how = PrincipalMatch::Account;
            }
        }
        if self.not_principal {
            // NotPrincipal: everyone except the named; naming the caller (or its account)
            // exempts it, anyone else is covered at account level.
            return if how == PrincipalMatch::None {
                PrincipalMatch::Account
            } else {
                PrincipalMatch::None
            };
        }
        how
    }
}

impl Principals {
    fn parse(v: &Value) -> Result<Principals, PolicyError> {
        let mut p = Principals::default();
        match v {
            Value::String(s) if s == "*" => p.any = true,
            Value::Object(m) => {
                for (k, vals) in m {
                    let vals = strings(vals, "Principal")?;
                    match k.as_str() {
                        "AWS" => {
                            for x in vals {
                                if x == "*" {
                                    p.any = true;
                                } else {
                                    p.aws.push(x);
                                }
                            }
                        }
                        "Service" => p.service.extend(vals),
                        "Federated" => p.federated.extend(vals),
                        _ => {} // CanonicalUser: never an IAM principal of a snapshot
                    }
                }
            }
            _ => return Err(PolicyError("Principal is neither \"*\" nor an object".into())),
        }
        Ok(p)
    }
}

/// `*` (any run) and `?` (one byte) wildcard match; iterative, linear backtracking.
pub fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// The account of an account principal `arn:PARTITION:iam::ACCOUNT:root`, in any partition
/// (`aws`, `aws-cn`, `aws-us-gov`, …).
pub fn account_root(v: &str) -> Option<&str> {
    let mut it = v.splitn(6, ':');
    let (a, _, svc, region, acct, res) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    (a == "arn" && svc == "iam" && region.is_empty() && res == "root").then_some(acct)
}

/// Resource ARN match: `*` alone matches anything; otherwise segment by segment (the six
/// `arn:partition:service:region:account:resource` parts, the last holding any further
/// colons), wildcards within a segment, except that a `*` ending a segment may match beyond
/// its colons (AWS: "If the * wildcard is the last character of a resource ARN segment, it
/// can expand to match beyond colon boundaries", so `arn:aws:iam::*` matches every IAM ARN).
/// A policy variable (`${aws:username}`) is matched as `*`: what it stands for is the
/// request's, which an offline evaluation does not know, so it matches every value it could
/// take, never less reach.
pub fn arn_match(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let owned;
    let pattern = if pattern.contains("${") {
        owned = without_variables(pattern);
        owned.as_str()
    } else {
        pattern
    };
    let (p, s) = (pattern.as_bytes(), arn.as_bytes());
    // The bytes before the first wildcard must be the ARN's own: most patterns part here.
    let lit = p.iter().position(|&c| c == b'*' || c == b'?').unwrap_or(p.len());
    if lit == p.len() {
        return p == s;
    }
    if s.len() < lit || p[..lit] != s[..lit] {
        return false;
    }
    // A `*` ending its segment (before `:` or at the end) may match across colons.
    let ends_segment = |i: usize| p[i] == b'*' && (i + 1 == p.len() || p[i + 1] == b':');
    // Without such a `*` before the resource part (past the fifth colon, where any wildcard
    // may), no wildcard crosses a colon: segment by segment, as a glob each.
    let mut colons = 0;
    let crossing = (0..p.len()).any(|i| {
        colons += usize::from(p[i] == b':');
        colons < 5 && ends_segment(i)
    });
    if !crossing {
        let mut ps = pattern.splitn(6, ':');
        let mut rs = arn.splitn(6, ':');
        loop {
            match (ps.next(), rs.next()) {
                (None, None) => return true,
                (Some(a), Some(b)) if glob(a.as_bytes(), b.as_bytes()) => {}
                _ => return false,
            }
        }
    }
    // Per pattern byte: whether a wildcard there may match a colon.
    let mut colons = 0;
    let crosses: Vec<bool> = (0..p.len())
        .map(|i| {
            let c = colons >= 5 || ends_segment(i);
            colons += usize::from(p[i] == b':');
            c
        })
        .collect();
    // ok[j]: the pattern read so far matches the first j bytes of the ARN (two rows, reused).
    let mut ok = vec![false; s.len() + 1];
    let mut next = vec![false; s.len() + 1];
    ok[0] = true;
    for (i, &pc) in p.iter().enumerate() {
        next.fill(false);
        if pc == b'*' {
            let mut reach = false;
            for j in 0..=s.len() {
                // `*` matches nothing, or one more byte after a match.
                reach = ok[j] || (reach && (crosses[i] || s[j - 1] != b':'));
                next[j] = reach;
            }
        } else {
            for j in 1..=s.len() {
                let c = s[j - 1];
                let hit = if pc == b'?' { crosses[i] || c != b':' } else { pc == c };
                next[j] = ok[j - 1] && hit;
            }
        }
        std::mem::swap(&mut ok, &mut next);
        if !ok.contains(&true) {
            return false;
        }
    }
    ok[s.len()]
}

/// `pattern` with each policy variable (`${…}`) replaced by `*` (module docs of
/// [`arn_match`]); an unterminated `${` stays as written.
fn without_variables(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = rest.find("${") {
        let Some(end) = rest[i..].find('}') else { break };
        out.push_str(&rest[..i]);
        out.push('*');
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;

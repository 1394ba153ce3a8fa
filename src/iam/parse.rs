//! Reading the snapshot files: kind detection, the authorization-details shape, the per-user
//! outputs and the credential report, and the merge into a [`Snapshot`].

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use super::policy::Policy;
use super::{
    arn_parts, Account, Doc, Group, InlinePolicy, KeyMeta, ManagedPolicy, Role, RoleKind, Snapshot,
    SnapshotProblem, User,
};

/// Largest file read (and largest inflated size of a gzip file).
const MAX_FILE_BYTES: u64 = 1 << 30;

/// A per-user fact from an output other than authorization details.
enum Fact {
    /// A user's keys, and whether a list-access-keys page says more follow (`IsTruncated`,
    /// `Marker`; `None` for the credential report's slots).
    Keys(Vec<KeyMeta>, Option<bool>),
    LoginProfile(bool),
    Mfa(Vec<String>),
    MfaActive(bool),
}

/// Who a fact is about.
enum Whom {
    /// User name only (list-access-keys, get-login-profile, list-mfa-devices).
    Name(String),
    /// ARN (credential report).
    Arn(String),
}

#[derive(Default)]
pub(super) struct Builder {
    snap: Snapshot,
    problems: Vec<SnapshotProblem>,
    pending: Vec<(PathBuf, Whom, Fact)>,
    /// Each entity of the authorization details by kind and ARN: the file it came from and
    /// a hash of its text, so that a second copy that differs (two snapshots of different
    /// times, or an edited page) is a problem rather than silently losing to the first.
    seen: BTreeMap<(&'static str, String), (PathBuf, u64)>,
    /// The authorization-details files: whether the page says more pages follow
    /// (`IsTruncated`), and the accounts its entities name.
    pages: Vec<(PathBuf, bool, std::collections::BTreeSet<String>)>,
    /// Per account its entities name: which of the user and role lists its pages hold, and
    /// its first file. An export made with `--filter` (or a page of one list lost) lacks a
    /// list, and what it would have listed is unknown, not none.
    lists: BTreeMap<String, (std::collections::BTreeSet<&'static str>, PathBuf)>,
}

/// A name or ARN for a message, at most 100 characters (a hostile file may hold huge ones).
fn clip(s: &str) -> String {
    match s.char_indices().nth(100) {
        Some((i, _)) => format!("{}… ({} bytes)", &s[..i], s.len()),
        None => s.to_string(),
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Reads a file, inflating gzip.
fn read(path: &Path) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut raw = Vec::new();
    f.take(MAX_FILE_BYTES + 1).read_to_end(&mut raw).map_err(|e| format!("cannot read: {e}"))?;
    if raw.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    if crate::ingest::decompress::is_gzip(&raw) {
        let mut out = Vec::new();
        crate::ingest::decompress::gunzip_into(&raw, &mut out, MAX_FILE_BYTES)
            .map_err(|e| format!("bad gzip: {e}"))?;
        return Ok(out);
    }
    Ok(raw)
}

/// Parses a document value; `bytes` is the size of its JSON text.
fn doc(v: Option<&Value>) -> (Doc, usize) {
    let Some(v) = v else { return (Doc::Unreadable("no policy document".into()), 0) };
    // F8: characters, whitespace not counted, as the trail's puts are counted.
    let size = |t: &str| usize::try_from(crate::ingest::raw::policy_chars(t)).unwrap_or(usize::MAX);
    let bytes = match v {
        Value::String(t) if t.trim_start().starts_with('{') => size(t),
        Value::String(t) => super::policy::url_decode(t).map_or(size(t), |d| size(&d)),
        other => serde_json::to_string(other).map_or(0, |t| size(&t)),
    };
    match Policy::from_value(v) {
        Ok(p) => (Doc::Ok(p), bytes),
        Err(e) => (Doc::Unreadable(e.0), bytes),
    }
}

fn names(v: &Value, list_key: &str, field: &str) -> Vec<String> {
    let mut out: Vec<String> =
        list(v, list_key).iter().filter_map(|x| s(x, field).map(str::to_string)).collect();
    out.sort();
    out.dedup();
    out
}

fn boundary(v: &Value) -> Option<String> {
    v.get("PermissionsBoundary").and_then(|b| s(b, "PermissionsBoundaryArn")).map(str::to_string)
}

/// A policy document as JSON whatever its form (the CLI's decoded object, the API's
/// URL-encoded string, a JSON string), so that two exports of one moment compare equal.
fn decoded(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(t)) => {
            let text = if t.trim_start().starts_with('{') {
                Some(t.clone())
            } else {
                super::policy::url_decode(t).ok()
            };
            text.and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_else(|| Value::String(t.clone()))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    }
}

/// What of an entity decides its reach (its id, policies, groups, trust, path, boundary; the
/// id because a surgical deny names sessions by it, F9), to tell a
/// second copy that differs in these from one that differs only in what does not
/// (`RoleLastUsed`, tags, the form its documents are encoded in).
fn reach_view(kind: &str, v: &Value) -> Value {
    let policies = |k: &str| -> Value {
        let mut out: Vec<(String, Value)> = list(v, k)
            .iter()
            .map(|p| {
                (s(p, "PolicyName").unwrap_or("").to_string(), decoded(p.get("PolicyDocument")))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        serde_json::json!(out)
    };
    let attached = |k: &str| serde_json::json!(names(v, k, "PolicyArn"));
    match kind {
        "user" => serde_json::json!([
            v.get("UserId"),
            v.get("Path"),
            names_of(v, "GroupList"),
            attached("AttachedManagedPolicies"),
            boundary(v),
            policies("UserPolicyList")
        ]),
        "group" => serde_json::json!([
            v.get("GroupId"),
            attached("AttachedManagedPolicies"),
            policies("GroupPolicyList")
        ]),
        "role" => serde_json::json!([
            v.get("RoleId"),
            v.get("Path"),
            decoded(v.get("AssumeRolePolicyDocument")),
            attached("AttachedManagedPolicies"),
            boundary(v),
            policies("RolePolicyList")
        ]),
        _ => serde_json::json!([
            v.get("DefaultVersionId"),
            default_version(v).map(|x| decoded(x.get("Document")))
        ]),
    }
}

/// The default version of a managed policy entry: the one flagged `IsDefaultVersion`, else
/// the one `DefaultVersionId` names.
fn default_version(p: &Value) -> Option<&Value> {
    let default = s(p, "DefaultVersionId").unwrap_or("");
    let versions = list(p, "PolicyVersionList");
    versions
        .iter()
        .find(|x| x.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true))
        .or_else(|| versions.iter().find(|x| s(x, "VersionId") == Some(default)))
}

/// The strings of list `k` of `v`, sorted.
fn names_of(v: &Value, k: &str) -> Vec<String> {
    let mut out: Vec<String> =
        list(v, k).iter().filter_map(|x| x.as_str().map(str::to_string)).collect();
    out.sort();
    out
}

impl Builder {
    fn problem(&mut self, file: &Path, message: impl Into<String>) {
        self.problems.push(SnapshotProblem::new(file, message));
    }

    /// Whether `v`, the `kind` entity `arn` of `path`, is the first copy read. A later copy
    /// with the same text is dropped quietly (the same page given twice); one that differs is
    /// a problem naming both files, and the first copy stays (which is current cannot be told).
    /// An AWS managed policy is the same in every account's snapshot but for AWS's own
    /// updates between two snapshots: its copies are not compared.
    fn first_copy(&mut self, path: &Path, kind: &'static str, arn: &str, v: &Value) -> bool {
        let text = if arn.starts_with("arn:") && arn_parts(arn).is_some_and(|(a, _)| a == "aws") {
            0
        } else {
            xxhash_rust::xxh3::xxh3_64(reach_view(kind, v).to_string().as_bytes())
        };
        match self.seen.get(&(kind, arn.to_string())) {
            None => {
                self.seen.insert((kind, arn.to_string()), (path.to_path_buf(), text));
                true
            }
            Some((_, t)) if *t == text => false,
            Some((first, _)) => {
                let first = first.display().to_string();
                self.problem(
                    path,
                    format!(
                        "{kind} {} is also in {} with other content: snapshots of two different times, or an edited file? Give one snapshot; the first copy is used",
                        clip(arn),
                        clip(&first)
                    ),
                );
                false
            }
        }
    }

    pub(super) fn file(&mut self, path: &Path) {
        let bytes = match read(path) {
            Ok(b) => b,
            Err(e) => return self.problem(path, e),
        };
        let v: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                let head = &bytes[..bytes.len().min(64)];
                if head.starts_with(b"user,arn,") || head.starts_with(b"\xef\xbb\xbfuser,arn,") {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    return self.credential_report(path, &text);
                }
                return self.problem(path, format!("not JSON and not a credential report: {e}"));
            }
        };
        if !v.is_object() {
            return self.problem(path, "not a JSON object: not an IAM export this tool reads");
        }
        let has = |k: &str| v.get(k).is_some();
        if ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"]
            .iter()
            .any(|k| has(k))
        {
            self.authorization_details(path, &v);
        } else if has("AccessKeyMetadata") {
            self.access_keys(path, &v);
        } else if has("LoginProfile") {
            match v.get("LoginProfile").and_then(|l| s(l, "UserName")) {
                Some(n) => self.pending.push((
                    path.to_path_buf(),
                    Whom::Name(n.to_string()),
                    Fact::LoginProfile(true),
                )),
                None => self.problem(path, "LoginProfile without UserName"),
            }
        } else if has("MFADevices") {
            self.mfa(path, &v);
        } else if let Some(c) = s(&v, "Content") {
            match base64::engine::general_purpose::STANDARD.decode(c.trim()) {
                Ok(b) => {
                    let text = String::from_utf8_lossy(&b).into_owned();
                    self.credential_report(path, &text);
                }
                Err(e) => {
                    self.problem(path, format!("credential report Content is not base64: {e}"))
                }
            }
        } else {
            let keys: Vec<&str> = v
                .as_object()
                .map(|m| m.keys().take(5).map(String::as_str).collect())
                .unwrap_or_default();
            self.problem(
                path,
                format!("not an IAM export this tool reads (top-level keys {keys:?})"),
            );
        }
    }

    fn account(&mut self, arn: &str) -> Option<&mut Account> {
        let (acct, _) = arn_parts(arn)?;
        if acct.len() != 12 || !acct.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(
            self.snap
                .accounts
                .entry(acct.to_string())
                .or_insert_with(|| Account { id: acct.to_string(), ..Account::default() }),
        )
    }

    fn inline(&mut self, path: &Path, what: &str, v: &Value, key: &str) -> Vec<InlinePolicy> {
        let mut out = Vec::new();
        for p in list(v, key) {
            let name = s(p, "PolicyName").unwrap_or("").to_string();
            let (d, bytes) = doc(p.get("PolicyDocument"));
            if let Doc::Unreadable(e) = &d {
                self.problem(
                    path,
                    format!("{what}: inline policy {:?} unreadable: {e}", clip(&name)),
                );
            }
            out.push(InlinePolicy { name, bytes, doc: d });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn authorization_details(&mut self, path: &Path, v: &Value) {
        for k in ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"] {
            if v.get(k).is_some_and(|x| !x.is_array() && !x.is_null()) {
                self.problem(path, format!("{k} is not a list: none of its entries is read"));
            }
        }
        let truncated = more_pages(v);
        let mut accounts = std::collections::BTreeSet::new();
        for k in ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"] {
            for x in list(v, k) {
                let acct = s(x, "Arn").and_then(arn_parts).map(|(a, _)| a);
                if let Some(a) = acct.filter(|a| a.len() == 12) {
                    accounts.insert(a.to_string());
                }
            }
        }
        for a in &accounts {
            let e = self
                .lists
                .entry(a.clone())
                .or_insert_with(|| (Default::default(), path.to_path_buf()));
            for k in ["UserDetailList", "RoleDetailList"] {
                if v.get(k).is_some_and(Value::is_array) {
                    e.0.insert(k);
                }
            }
        }
        self.pages.push((path.to_path_buf(), truncated, accounts));
        for (i, u) in list(v, "UserDetailList").iter().enumerate() {
            let (Some(arn), Some(name)) = (s(u, "Arn"), s(u, "UserName")) else {
                self.problem(path, format!("UserDetailList[{i}]: no Arn or UserName, skipped"));
                continue;
            };
            if !self.first_copy(path, "user", arn, u) {
                continue;
            }
            let what = format!("user {}", clip(arn));
            let inline = self.inline(path, &what, u, "UserPolicyList");
            let user = User {
                arn: arn.to_string(),
                account: arn_parts(arn).map_or(String::new(), |(a, _)| a.to_string()),
                name: name.to_string(),
                path: s(u, "Path").unwrap_or("/").to_string(),
                id: s(u, "UserId").unwrap_or("").to_string(),
                groups: names_of(u, "GroupList"),
                inline_policy_bytes: inline.iter().map(|p| p.bytes).sum(),
                inline,
                attached: names(u, "AttachedManagedPolicies", "PolicyArn"),
                boundary: boundary(u),
                access_keys: None,
                login_profile: None,
                mfa_devices: None,
                mfa_active: None,
            };
            match self.account(arn) {
                Some(a) => {
                    a.users.entry(name.to_string()).or_insert(user);
                }
                None => self.problem(path, format!("{what}: ARN without an account id, skipped")),
            }
        }
        for (i, g) in list(v, "GroupDetailList").iter().enumerate() {
            let (Some(arn), Some(name)) = (s(g, "Arn"), s(g, "GroupName")) else {
                self.problem(path, format!("GroupDetailList[{i}]: no Arn or GroupName, skipped"));
                continue;
            };
            if !self.first_copy(path, "group", arn, g) {
                continue;
            }
            let inline = self.inline(path, &format!("group {}", clip(arn)), g, "GroupPolicyList");
            let group = Group {
                arn: arn.to_string(),
                name: name.to_string(),
                inline,
                attached: names(g, "AttachedManagedPolicies", "PolicyArn"),
            };
            match self.account(arn) {
                Some(a) => {
                    a.groups.entry(name.to_string()).or_insert(group);
                }
                None => self.problem(
                    path,
                    format!("group {}: ARN without an account id, skipped", clip(arn)),
                ),
            }
        }
        for (i, r) in list(v, "RoleDetailList").iter().enumerate() {
            let (Some(arn), Some(name)) = (s(r, "Arn"), s(r, "RoleName")) else {
                self.problem(path, format!("RoleDetailList[{i}]: no Arn or RoleName, skipped"));
                continue;
            };
            if !self.first_copy(path, "role", arn, r) {
                continue;
            }
            let what = format!("role {}", clip(arn));
            let inline = self.inline(path, &what, r, "RolePolicyList");
            let (trust, _) = doc(r.get("AssumeRolePolicyDocument"));
            if let Doc::Unreadable(e) = &trust {
                self.problem(path, format!("{what}: trust policy unreadable: {e}"));
            }
            let rpath = s(r, "Path").unwrap_or("/").to_string();
            let role = Role {
                arn: arn.to_string(),
                account: arn_parts(arn).map_or(String::new(), |(a, _)| a.to_string()),
                name: name.to_string(),
                kind: RoleKind::of(&rpath),
                path: rpath,
                id: s(r, "RoleId").unwrap_or("").to_string(),
                inline_policy_bytes: inline.iter().map(|p| p.bytes).sum(),
                inline,
                attached: names(r, "AttachedManagedPolicies", "PolicyArn"),
                boundary: boundary(r),
                trust,
            };
            match self.account(arn) {
                Some(a) => {
                    a.roles.entry(name.to_string()).or_insert(role);
                }
                None => self.problem(path, format!("{what}: ARN without an account id, skipped")),
            }
        }
        for (i, p) in list(v, "Policies").iter().enumerate() {
            let Some(arn) = s(p, "Arn") else {
                self.problem(path, format!("Policies[{i}]: no Arn, skipped"));
                continue;
            };
            if !self.first_copy(path, "managed policy", arn, p) {
                continue;
            }
            let default = s(p, "DefaultVersionId").unwrap_or("").to_string();
            let (d, _) = match default_version(p) {
                Some(x) => doc(x.get("Document")),
                None => (Doc::Unreadable("no default version in PolicyVersionList".into()), 0),
            };
            if let Doc::Unreadable(e) = &d {
                self.problem(path, format!("managed policy {}: unreadable: {e}", clip(arn)));
            }
            let mp = ManagedPolicy {
                arn: arn.to_string(),
                name: s(p, "PolicyName").unwrap_or("").to_string(),
                default_version: default,
                doc: d,
            };
            if let Some((acct, _)) = arn_parts(arn) {
                if acct != "aws" {
                    self.account(arn);
                }
            }
            self.snap.policies.insert(arn.to_string(), mp);
        }
    }

    fn access_keys(&mut self, path: &Path, v: &Value) {
        let mut by_user: BTreeMap<String, Vec<KeyMeta>> = BTreeMap::new();
        // A page after which more follow (a review: a first page alone was taken for the
        // user's every key, and a second key the attacker held went unnamed).
        let more = more_pages(v);
        let items = list(v, "AccessKeyMetadata");
        if items.is_empty() {
            return self.problem(
                path,
                "list-access-keys output without keys: it names no user, so it cannot be attributed",
            );
        }
        for (i, k) in items.iter().enumerate() {
            let Some(user) = s(k, "UserName") else {
                self.problem(path, format!("AccessKeyMetadata[{i}]: no UserName, skipped"));
                continue;
            };
            by_user.entry(user.to_string()).or_default().push(KeyMeta {
                id: s(k, "AccessKeyId").map(str::to_string),
                status: s(k, "Status").unwrap_or("").to_string(),
                created: s(k, "CreateDate").map(str::to_string),
            });
        }
        for (user, keys) in by_user {
            self.pending.push((path.to_path_buf(), Whom::Name(user), Fact::Keys(keys, Some(more))));
        }
    }

    fn mfa(&mut self, path: &Path, v: &Value) {
        let mut by_user: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let items = list(v, "MFADevices");
        if items.is_empty() {
            return self.problem(
                path,
                "list-mfa-devices output without devices: it names no user, so it cannot be attributed",
            );
        }
        for (i, d) in items.iter().enumerate() {
            let (Some(user), Some(serial)) = (s(d, "UserName"), s(d, "SerialNumber")) else {
                self.problem(
                    path,
                    format!("MFADevices[{i}]: no UserName or SerialNumber, skipped"),
                );
                continue;
            };
            by_user.entry(user.to_string()).or_default().push(serial.to_string());
        }
        for (user, serials) in by_user {
            self.pending.push((path.to_path_buf(), Whom::Name(user), Fact::Mfa(serials)));
        }
    }

    fn credential_report(&mut self, path: &Path, text: &str) {
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').map(str::trim).collect();
        let col = |n: &str| header.iter().position(|h| *h == n);
        let (Some(c_arn), Some(c_pw), Some(c_mfa)) =
            (col("arn"), col("password_enabled"), col("mfa_active"))
        else {
            return self.problem(
                path,
                "credential report without arn, password_enabled, mfa_active columns",
            );
        };
        let slots: Vec<(usize, usize)> = (1..=2)
            .filter_map(|n| {
                Some((
                    col(&format!("access_key_{n}_active"))?,
                    col(&format!("access_key_{n}_last_rotated"))?,
                ))
            })
            .collect();
        for (i, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').map(|x| x.trim().trim_matches('"')).collect();
            let Some(arn) = f.get(c_arn) else {
                self.problem(path, format!("credential report line {}: too few fields", i + 2));
                continue;
            };
            if !crate::chain::arn_is(arn, "user/") {
                continue; // `<root_account>`
            }
            let flag = |c: usize| match f.get(c).copied() {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            };
            let arn = (*arn).to_string();
            if let Some(pw) = flag(c_pw) {
                self.pending.push((
                    path.to_path_buf(),
                    Whom::Arn(arn.clone()),
                    Fact::LoginProfile(pw),
                ));
            }
            if let Some(m) = flag(c_mfa) {
                self.pending.push((path.to_path_buf(), Whom::Arn(arn.clone()), Fact::MfaActive(m)));
            }
            if slots.len() == 2 {
                let mut keys = Vec::new();
                for &(ca, cr) in &slots {
                    let rotated = f.get(cr).copied().filter(|r| *r != "N/A" && !r.is_empty());
                    match (flag(ca), rotated) {
                        (Some(true), r) => keys.push(KeyMeta {
                            id: None,
                            status: "Active".into(),
                            created: r.map(str::to_string),
                        }),
                        (Some(false), Some(r)) => keys.push(KeyMeta {
                            id: None,
                            status: "Inactive".into(),
                            created: Some(r.to_string()),
                        }),
                        _ => {}
                    }
                }
                self.pending.push((path.to_path_buf(), Whom::Arn(arn), Fact::Keys(keys, None)));
            }
        }
    }

    /// Every managed policy attached to a principal, and every group a user is in, must be in
    /// the snapshot: one left out (`--filter User Role`, a page not given) would read as no
    /// permissions, and its reach as none. One problem per missing policy or group, on the
    /// file of the first principal naming it. A permissions boundary is not required: an
    /// export may leave out an AWS managed policy that is used only as a boundary, and an
    /// unknown boundary already reads as "may allow" (more reach, never less).
    fn check_references(&mut self) {
        let mut missing: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        let mut want = |what: String, by: &str, kind: &'static str| {
            let e = missing.entry(what).or_insert_with(|| (kind.to_string(), Vec::new()));
            e.1.push(by.to_string());
        };
        let has = |arn: &String| self.snap.policies.contains_key(arn);
        for a in self.snap.accounts.values() {
            for u in a.users.values() {
                for p in u.attached.iter().filter(|p| !has(p)) {
                    want(p.clone(), &u.arn, "managed policy");
                }
                for g in u.groups.iter().filter(|g| !a.groups.contains_key(*g)) {
                    want(format!("group {g} of account {}", a.id), &u.arn, "group");
                }
            }
            for g in a.groups.values() {
                for p in g.attached.iter().filter(|p| !has(p)) {
                    want(p.clone(), &g.arn, "managed policy");
                }
            }
            for r in a.roles.values() {
                for p in r.attached.iter().filter(|p| !has(p)) {
                    want(p.clone(), &r.arn, "managed policy");
                }
            }
        }
        for (what, (kind, by)) in missing {
            let file = ["user", "role", "group"]
                .iter()
                .find_map(|k| self.seen.get(&(*k, by[0].clone())))
                .map_or_else(PathBuf::new, |(f, _)| f.clone());
            let more =
                if by.len() > 1 { format!(" and {} more", by.len() - 1) } else { String::new() };
            let (name, fix) = if kind == "group" {
                (clip(&what), "its page was not given")
            } else {
                (format!("managed policy {}", clip(&what)), "an export filtered with --filter without LocalManagedPolicy and AWSManagedPolicy, or a page not given")
            };
            self.problem(
                &file,
                format!("{} names {name}, which is not in the snapshot ({fix}): its permissions are unknown, not none; give the whole export", clip(&by[0]), ) + &more,
            );
        }
    }

    /// The keys a user's list-access-keys leaves out, as unnamed active keys (which the plan's
    /// review item of the leaked user's other keys names): those after a page that says more
    /// follow when no last page is among the files, and the active keys the credential
    /// report counts beyond those listed (two snapshots taken at different times: the list
    /// had won silently over the report, and the attacker's second key went unnamed). Each is
    /// a snapshot problem too.
    fn keys_left_out(
        &mut self,
        listed: &std::collections::BTreeSet<String>,
        slots: &BTreeMap<String, (PathBuf, Vec<KeyMeta>)>,
        (more, last): (&BTreeMap<String, PathBuf>, &std::collections::BTreeSet<String>),
    ) {
        let unknown = || KeyMeta { id: None, status: "Active".into(), created: None };
        for key in listed {
            let Some((acct, name)) = key.split_once('/') else { continue };
            let mut left: Vec<KeyMeta> = Vec::new();
            if let Some(file) = more.get(key).filter(|_| !last.contains(key)) {
                self.problem(
                    file,
                    format!("list-access-keys of user {} says more keys follow (IsTruncated, Marker or NextToken) and no last page is among the files: its other keys are unknown, taken as one more active key; give every page (or let the AWS CLI paginate)", clip(name)),
                );
                left.push(unknown());
            }
            let Some(u) = self.snap.accounts.get(acct).and_then(|a| a.users.get(name)) else {
                continue;
            };
            let list = u.access_keys.as_deref().unwrap_or_default();
            let (report_file, report) = match slots.get(key) {
                Some((f, r)) => (Some(f), r.as_slice()),
                None => (None, &[][..]),
            };
            // The report's active slots no listed key is (the same creation time, whatever
            // its status now: a key deactivated since the report, which AWS caches for up to
            // four hours, is one the list holds as Inactive); a slot without a time counts
            // against the listed keys none of those matched.
            let at = |k: &KeyMeta| k.created.as_deref().and_then(crate::time::parse_iso);
            let (timed, untimed): (Vec<&KeyMeta>, Vec<&KeyMeta>) =
                report.iter().filter(|k| k.status == "Active").partition(|k| at(k).is_some());
            let unmatched: Vec<&KeyMeta> =
                timed.into_iter().filter(|r| !list.iter().any(|k| at(k) == at(r))).collect();
            let spare = list.iter().filter(|k| report.iter().all(|r| at(r) != at(k))).count();
            let unknown_slots = untimed.len().saturating_sub(spare);
            let lacking = unmatched.len() + unknown_slots;
            if let Some(file) = report_file.filter(|_| lacking > left.len()) {
                let message = format!("the credential report shows {lacking} active access key(s) of user {} that list-access-keys does not list: the two were taken at different times; they are taken as unnamed active keys (list the user's keys again)", clip(name));
                self.problems.push(SnapshotProblem::new(file, message));
                let before = left.len();
                left.extend(unmatched.into_iter().cloned());
                while left.len() < before + lacking {
                    left.push(unknown());
                }
            }
            if let Some(u) = self.snap.accounts.get_mut(acct).and_then(|a| a.users.get_mut(name)) {
                u.access_keys.get_or_insert_with(Vec::new).extend(left);
            }
        }
    }

    pub(super) fn finish(mut self) -> (Snapshot, Vec<SnapshotProblem>) {
        // A page that says more follow (`IsTruncated`) needs the last page of its account
        // among the files: without it, some users, roles or policies were never given and
        // their reach would read as none. (Pages in between cannot be counted: a page does
        // not say which marker asked for it.)
        let pages = std::mem::take(&mut self.pages);
        // A last page that names no account (only AWS managed policies: the export lists
        // policies last) completes the export of one account, which cannot be told: each such
        // page is counted once, and when fewer are left than accounts still lacking a last
        // page, every page of those accounts that says more follow is a problem.
        let named_last = |a: &String| pages.iter().any(|(_, t, acc)| !t && acc.contains(a));
        let anonymous_last = pages.iter().filter(|(_, t, acc)| !t && acc.is_empty()).count();
        let mut lacking: BTreeMap<&String, Vec<&PathBuf>> = BTreeMap::new();
        let mut unnamed: Vec<&PathBuf> = Vec::new();
        for (file, _, accounts) in pages.iter().filter(|p| p.1) {
            if accounts.is_empty() {
                unnamed.push(file);
            }
            for a in accounts.iter().filter(|a| !named_last(a)) {
                lacking.entry(a).or_default().push(file);
            }
        }
        let mut bad: Vec<(&PathBuf, Option<&String>)> = Vec::new();
        if lacking.len() > anonymous_last {
            bad.extend(lacking.iter().flat_map(|(a, fs)| fs.iter().map(move |f| (*f, Some(*a)))));
        }
        // A page that names no account itself needs some last page among the files.
        if !pages.iter().any(|p| !p.1) {
            bad.extend(unnamed.iter().map(|f| (*f, None)));
        }
        bad.sort();
        bad.dedup();
        for (file, acct) in bad {
            let whose = acct.map_or(String::new(), |a| format!(" of account {}", clip(a)));
            self.problem(
                file,
                format!("a page of get-account-authorization-details that says more pages follow (IsTruncated, Marker or NextToken), and no last page{whose} is among the files (a last page that names no account, holding only AWS managed policies, is counted for one account only): give every page (call again with --starting-token NEXTTOKEN, or the API's Marker, until the output has no NextToken and IsTruncated is false), or let the AWS CLI paginate (no --max-items)"),
            );
        }
        // An account whose pages hold no user list or no role list (an export made with
        // `--filter`): its roles read as none, and what the unseen tail could reach there as
        // nothing to contain (a review: the precautionary denies of two roles were lost, plan
        // 0 and verify OK).
        for (acct, (have, file)) in std::mem::take(&mut self.lists) {
            for k in ["UserDetailList", "RoleDetailList"].iter().filter(|k| !have.contains(*k)) {
                self.problem(
                    &file,
                    format!("the get-account-authorization-details pages of account {} hold no {k} (an export made with --filter, or a page lost): what it lists is unknown, not none; give the whole export (no --filter)", clip(&acct)),
                );
            }
        }
        self.check_references();
        let pending = std::mem::take(&mut self.pending);
        // Key lists with ids (list-access-keys) win over the credential report's slots.
        let mut with_ids: std::collections::BTreeSet<String> = Default::default();
        // Per user ("ACCOUNT/NAME"): the report's slots, the list pages that say more follow
        // (with a file of them), and whether a last page was seen.
        let mut slots: BTreeMap<String, (PathBuf, Vec<KeyMeta>)> = BTreeMap::new();
        let mut more: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut last: std::collections::BTreeSet<String> = Default::default();
        for (file, whom, fact) in pending {
            let found: Vec<(String, String)> = match &whom {
                Whom::Arn(arn) => self
                    .snap
                    .user(arn)
                    .map(|u| vec![(u.account.clone(), u.name.clone())])
                    .unwrap_or_default(),
                Whom::Name(n) => self
                    .snap
                    .accounts
                    .values()
                    .filter(|a| a.users.contains_key(n))
                    .map(|a| (a.id.clone(), n.clone()))
                    .collect(),
            };
            let who = match &whom {
                Whom::Arn(a) | Whom::Name(a) => clip(a),
            };
            if found.len() != 1 {
                let why = if found.is_empty() {
                    "no snapshot account has"
                } else {
                    "several snapshot accounts have"
                };
                self.problem(
                    &file,
                    format!("{why} user {who:?}: its credential facts are not attached"),
                );
                continue;
            }
            let (acct, name) = &found[0];
            let key = format!("{acct}/{name}");
            let Some(u) = self.snap.accounts.get_mut(acct).and_then(|a| a.users.get_mut(name))
            else {
                continue;
            };
            match fact {
                Fact::Keys(k, page) => {
                    match page {
                        None => {
                            slots.insert(key.clone(), (file.clone(), k.clone()));
                        }
                        Some(true) => {
                            more.entry(key.clone()).or_insert_with(|| file.clone());
                        }
                        Some(false) => {
                            last.insert(key.clone());
                        }
                    }
                    let has_ids = k.iter().any(|m| m.id.is_some());
                    if has_ids || !with_ids.contains(&key) {
                        if has_ids && with_ids.contains(&key) {
                            // Another page of list-access-keys: merge.
                            let list = u.access_keys.get_or_insert_with(Vec::new);
                            for m in k {
                                if !list.contains(&m) {
                                    list.push(m);
                                }
                            }
                        } else {
                            u.access_keys = Some(k);
                        }
                        if has_ids {
                            with_ids.insert(key);
                        }
                    }
                }
                Fact::LoginProfile(b) => {
                    u.login_profile = Some(u.login_profile.unwrap_or(false) || b);
                }
                Fact::Mfa(serials) => {
                    let list = u.mfa_devices.get_or_insert_with(Vec::new);
                    list.extend(serials);
                    list.sort();
                    list.dedup();
                }
                Fact::MfaActive(b) => u.mfa_active = Some(b),
            }
        }
        self.keys_left_out(&with_ids, &slots, (&more, &last));
        (self.snap, self.problems)
    }
}

/// Whether an IAM API page says more pages follow: `IsTruncated`, a `Marker` that
/// `IsTruncated` does not deny, or the AWS CLI's `NextToken` (its `--max-items` output carries
/// no `IsTruncated`; a list-access-keys page with one was taken for the user's every key).
fn more_pages(v: &Value) -> bool {
    let truncated = v.get("IsTruncated").and_then(Value::as_bool);
    truncated == Some(true)
        || (s(v, "Marker").is_some_and(|t| !t.is_empty()) && truncated != Some(false))
        || s(v, "NextToken").is_some_and(|t| !t.is_empty())
}

#[cfg(test)]
pub(super) fn doc_for_tests(v: &Value) -> (Doc, usize) {
    doc(Some(v))
}

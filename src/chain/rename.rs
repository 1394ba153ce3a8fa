//! Users renamed with `UpdateUser` (`newUserName`). IAM keeps a renamed user's keys, policies,
//! groups and console password, and from then on knows it only by its new name: an action
//! under the old one fails with NoSuchEntity, and an access key "deactivated" under it stays
//! active. So the graph keeps every rename the trail shows, whoever made it (an attacker's
//! user renames itself from its console session, which may carry no key, F17), and every
//! action on a user is taken under the name it has at the end of the trail. Deletions
//! (`DeleteUser`) are kept the same way: a user made again under a deleted user's name is
//! another user.

use super::*;
use crate::ingest::IssuingField as F;

/// The name a rename gives: the last segment of its `user_arn`.
pub fn renamed_to(r: &UserGrant) -> &str {
    r.user_arn.rsplit('/').next().unwrap_or("")
}

/// Whether `e` is a `DeleteRole` (`true`) or a `DeleteUser` (`false`), with the name its
/// request gives; `None` for any other call.
fn deletion_of(e: &IssuingCall) -> Option<(bool, Option<&str>)> {
    let role = e.name() == crate::ingest::ROLE_DELETE;
    if !role && e.name() != crate::ingest::USER_DELETE {
        return None;
    }
    Some((role, if role { e.get(F::RequestRoleName) } else { e.get(F::RequestUserName) }))
}

/// An error code that says the caller was refused: what a deleted user's or role's credentials
/// get. For a session, not authenticated or not allowed; for a long-term key, only not
/// authenticated: IAM deletes no user that has a key, and a deleted key is not known at all, so
/// a key refused for want of permission (AccessDenied: it was authenticated) shows its user
/// there (a review).
fn is_refusal(code: &str, long_term: bool) -> bool {
    let code = code.strip_prefix("Client.").unwrap_or(code);
    let unauthenticated = matches!(
        code,
        "InvalidClientTokenId"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "AuthFailure"
            | "UnrecognizedClientException"
    );
    let not_allowed = || {
        code.starts_with("AccessDenied")
            || matches!(
                code,
                "UnauthorizedOperation"
                    | "UnauthorizedAccess"
                    | "Unauthorized"
                    | "Forbidden"
                    | "ExpiredToken"
                    | "ExpiredTokenException"
                    | "InvalidToken"
                    | "NotAuthorized"
                    | "NotAuthorizedException"
            )
    };
    unauthenticated || (!long_term && not_allowed())
}

/// How long after a user's or role's deletion a session of it may still show a call and the
/// deletion be believed: the logging services' clocks (SigV4 allows five minutes).
const USED_AFTER_DELETION: i64 = 300;

/// The `(event name, eventID)` of each `DeleteUser` or `DeleteRole` whose records (copies of
/// one event: same eventID) disagree: one failed and another did not, or they name two
/// principals. One of them is false (a copy planted beside a refused deletion) and the logs
/// cannot tell which: the deletion is not believed, so the user or role is still acted on (an
/// action on one that is gone fails with NoSuchEntity; a user believed gone kept the
/// attacker's password and policies, and verify said OK).
fn disputed_deletions(events: &[IssuingCall]) -> BTreeSet<(&str, &str)> {
    /// What the copies of one deletion say.
    struct Copies<'a> {
        failed: bool,
        ok: bool,
        first: Option<&'a str>,
        two_named: bool,
    }
    let mut seen: BTreeMap<(&str, &str), Copies<'_>> = BTreeMap::new();
    for e in events.iter().filter(|e| !e.id().is_empty()) {
        let Some((_, name)) = deletion_of(e) else { continue };
        let c = seen.entry((e.name(), e.id())).or_insert(Copies {
            failed: false,
            ok: false,
            first: name,
            two_named: false,
        });
        if e.failed() {
            c.failed = true;
        } else {
            c.ok = true;
        }
        c.two_named |= !name.unwrap_or("").eq_ignore_ascii_case(c.first.unwrap_or(""));
    }
    seen.into_iter().filter(|(_, c)| (c.failed && c.ok) || c.two_named).map(|(k, _)| k).collect()
}

impl SessionGraph {
    /// Keeps each successful `UpdateUser` among `events` that gives a user a new name, and each
    /// successful `DeleteUser` and `DeleteRole`, in time order, with the node of the credential
    /// that made it.
    pub(super) fn keep_renames_and_deletions(&mut self, events: &[IssuingCall]) {
        let disputed = disputed_deletions(events);
        for e in events {
            if let Some((role, name)) = deletion_of(e).filter(|_| !e.failed()) {
                let Some(user) = name.filter(|u| !u.is_empty()) else {
                    continue;
                };
                let kind = if role { "role" } else { "user" };
                if disputed.contains(&(e.name(), e.id())) {
                    self.notes.push(format!(
                        "{} {} (event {}) not believed: another record of the same event (same eventID) says it failed or names another {kind}; the {kind} is taken as still there (an evidence conflict)",
                        e.name(),
                        crate::escape::one_line(user),
                        crate::escape::one_line(e.id()),
                    ));
                    continue;
                }
                let d = self.grant_of(e, user.to_string(), |p, a, u| {
                    format!("arn:{p}:iam::{a}:{kind}/{u}")
                });
                let list = if role { &mut self.role_deletions } else { &mut self.user_deletions };
                list.push(d);
                continue;
            }
            if e.name() != crate::ingest::USER_RENAME || e.failed() {
                continue;
            }
            let (Some(from), Some(to)) = (e.get(F::RequestUserName), e.get(F::NewUserName)) else {
                continue;
            };
            // A user name has no `/` (IAM refuses one); a name that holds one, or none, is
            // not a rename this can follow.
            if from.is_empty() || to.is_empty() || to.contains('/') {
                continue;
            }
            let r =
                self.grant_of(e, from.to_string(), |p, a, _| format!("arn:{p}:iam::{a}:user/{to}"));
            self.user_renames.push(r);
        }
        for list in [&mut self.user_renames, &mut self.user_deletions, &mut self.role_deletions] {
            list.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        }
    }

    /// A note for each `CreateUser` (`CreateRole`) of a name made before with no deletion of
    /// it logged in between (the first 20, then a count): IAM makes none over a name that is
    /// taken, so the deletion is not in these logs or the record is false, and the principal
    /// made first is still taken to be there ([`SessionGraph::first_gone`]): a deny on the
    /// new one is collateral to check.
    pub(super) fn note_makings_over_taken_names(&mut self) {
        const LISTED: usize = 20;
        let mut notes = Vec::new();
        let mut more = 0usize;
        for role in [false, true] {
            let (grants, deletions, making) = if role {
                (&self.role_grants, &self.role_deletions, "CreateRole")
            } else {
                (&self.user_grants, &self.user_deletions, "CreateUser")
            };
            let mut made: BTreeMap<(&str, String), &UserGrant> = BTreeMap::new();
            let mut list: Vec<&UserGrant> =
                grants.iter().filter(|g| g.event_name == making).collect();
            list.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
            for gr in list {
                let key = (gr.account_id.as_str(), gr.user_name.to_ascii_lowercase());
                if let Some(prev) = made.get(&key) {
                    let gone = deletions.iter().any(|d| {
                        d.account_id == gr.account_id
                            && d.user_name.eq_ignore_ascii_case(&gr.user_name)
                            && d.time >= prev.time
                            && d.time <= gr.time
                    });
                    if !gone && prev.time < gr.time {
                        if notes.len() < LISTED {
                            notes.push(format!(
                                "{making} {} in {} at {} (event {}) names a {} made before at {} (event {}) with no deletion of it logged in between: IAM makes none over a name that is taken, so the deletion is not in these logs or the record is false; the {} made first is taken to be still there (a deny on it may reach the new one: check)",
                                crate::escape::one_line(&gr.user_name),
                                gr.account_id,
                                crate::time::fmt_iso(gr.time),
                                crate::escape::one_line(&gr.event_id),
                                if role { "role" } else { "user" },
                                crate::time::fmt_iso(prev.time),
                                crate::escape::one_line(&prev.event_id),
                                if role { "role" } else { "user" },
                            ));
                        } else {
                            more += 1;
                        }
                        continue;
                    }
                }
                made.insert(key, gr);
            }
        }
        if more > 0 {
            notes.push(format!(
                "{more} more makings of a name made before, with no deletion logged in between"
            ));
        }
        self.notes.extend(notes);
    }

    /// Drops each `DeleteUser` and `DeleteRole` the trail itself contradicts, so that it is
    /// not believed: a user's access key made or used before the deletion and used after it
    /// (IAM deletes no user that still has a key, and no key outlives its user); a credential
    /// of the user, or a session of the role, issued after it, with no `CreateUser` or
    /// `CreateRole` of the name logged in between (a console sign-in, a session token, a key
    /// made, a role assumed). Such a record is not what happened (forged into the logs, say).
    /// Believed, it made the attacker's user or the role whose trust policy it set gone: no
    /// deny-all, no removal of the password, later sessions not tainted, and verify said OK.
    /// Needs each credential's first and last call (after the tally). Returns a note for each
    /// deletion dropped.
    pub(super) fn drop_contradicted_deletions(
        &mut self,
        ing: &crate::ingest::Ingest,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        if self.user_deletions.is_empty() && self.role_deletions.is_empty() {
            return notes;
        }
        // Each credential's last call that succeeded: a call refused after a deletion (the
        // user's permissions went with it) shows nothing there (a review: a real deletion
        // whose user's console session kept trying, every call refused, was not believed).
        // Only a refusal shows that: a call that failed for another reason (NoSuchEntity on
        // another name, a dry run) was made by a caller IAM still knew and allowed (a review
        // hid its use behind such errors after a forged deletion). The failed calls of the
        // credentials of a deleted name, after the first such deletion, are read back for
        // their error code; one that cannot be read counts as use.
        // The first deletion of each name (user or role), by account and lower-case name.
        let mut firsts: BTreeMap<(&str, String), i64> = BTreeMap::new();
        for d in self.user_deletions.iter().chain(&self.role_deletions) {
            let t =
                firsts.entry((&d.account_id, d.user_name.to_ascii_lowercase())).or_insert(d.time);
            *t = (*t).min(d.time);
        }
        let first_deletion = |node: &Node| {
            let named = match node.kind {
                NodeKind::Session => role_named(node).or_else(|| user_named(node)),
                NodeKind::LongTermKey => user_named(node),
                _ => None,
            };
            let (acct, name) = named?;
            firsts.get(&(acct, name.to_ascii_lowercase())).copied()
        };
        let mut last_ok: Vec<Option<i64>> = vec![None; self.nodes.len()];
        let mut since: BTreeMap<usize, Option<i64>> = BTreeMap::new();
        let mut failed: Vec<usize> = Vec::new();
        for (i, st) in ing.stubs.iter().enumerate() {
            let n = self.event_node.get(i).copied().unwrap_or(super::NO_NODE);
            if n == super::NO_NODE {
                continue;
            }
            let n = n as usize;
            if st.flags & crate::ingest::FAILED != 0 {
                let from = *since.entry(n).or_insert_with(|| first_deletion(&self.nodes[n]));
                if from.is_some_and(|d| st.time > d) {
                    failed.push(i);
                }
                continue;
            }
            let l = &mut last_ok[n];
            *l = Some(l.map_or(st.time, |t| t.max(st.time)));
        }
        if !failed.is_empty() {
            let mut used: Vec<(usize, i64)> = Vec::new();
            let read = ing.for_each_event(&failed, |pos, e| {
                let n = self.event_node[failed[pos]] as usize;
                let long_term = self.nodes[n].kind == NodeKind::LongTermKey;
                if !e.error_code.as_deref().is_some_and(|c| is_refusal(c, long_term)) {
                    used.push((failed[pos], e.time));
                }
            });
            if read.is_err() {
                used = failed.iter().map(|&i| (i, ing.stubs[i].time)).collect();
            }
            for (i, t) in used {
                let l = &mut last_ok[self.event_node[i] as usize];
                *l = Some(l.map_or(t, |x| x.max(t)));
            }
        }
        for role in [false, true] {
            let why = self.contradicted_deletions(role, &last_ok);
            if why.iter().all(Option::is_none) {
                continue;
            }
            let list = if role { &mut self.role_deletions } else { &mut self.user_deletions };
            let mut kept = Vec::with_capacity(list.len());
            for (d, why) in std::mem::take(list).into_iter().zip(why) {
                match why {
                    None => kept.push(d),
                    Some(why) => notes.push(format!(
                        "{} {} (event {}) not believed: {why}; the {} is taken as still there",
                        if role { "DeleteRole" } else { "DeleteUser" },
                        crate::escape::one_line(&d.user_arn),
                        crate::escape::one_line(&d.event_id),
                        if role { "role" } else { "user" },
                    )),
                }
            }
            *list = kept;
        }
        notes
    }

    /// For each user (`role`: role) deletion, why the trail contradicts it, if it does (see
    /// [`SessionGraph::drop_contradicted_deletions`]).
    fn contradicted_deletions(&self, role: bool, last_ok: &[Option<i64>]) -> Vec<Option<String>> {
        let dels = if role { &self.role_deletions } else { &self.user_deletions };
        let mut why: Vec<Option<String>> = vec![None; dels.len()];
        if dels.is_empty() {
            return why;
        }
        // Account, then lower-case name: looked up with a borrowed name.
        let mut by_name: BTreeMap<&str, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
        for (i, d) in dels.iter().enumerate() {
            let names = by_name.entry(&d.account_id).or_default();
            names.entry(d.user_name.to_ascii_lowercase()).or_default().push(i);
        }
        let (grants, making) = if role {
            (&self.role_grants, "CreateRole")
        } else {
            (&self.user_grants, "CreateUser")
        };
        let remade = |acct: &str, name: &str, after: i64, until: i64| {
            grants.iter().any(|m| {
                m.event_name == making
                    && m.account_id == acct
                    && m.user_name.eq_ignore_ascii_case(name)
                    && m.time >= after
                    && m.time <= until
            })
        };
        let mut lower = String::new();
        for (k, node) in self.nodes.iter().enumerate() {
            let parsed = match node.kind {
                NodeKind::Session if role => role_named(node),
                NodeKind::LongTermKey | NodeKind::Session if !role => user_named(node),
                _ => None,
            };
            let Some((acct, name)) = parsed else { continue };
            let Some(names_here) = by_name.get(acct) else { continue };
            let from = node.issued_at.or(node.first_seen);
            lower.clear();
            lower.push_str(name);
            lower.make_ascii_lowercase();
            // A key is matched under the name its user had at the deletion (renames followed).
            let renamed: Vec<String> = if !role && !self.user_renames.is_empty() {
                let renames = self.renames_of(acct, name, from);
                renames.into_iter().map(|r| renamed_to(r).to_ascii_lowercase()).collect()
            } else {
                Vec::new()
            };
            for n in std::iter::once(lower.as_str()).chain(renamed.iter().map(String::as_str)) {
                for &i in names_here.get(n).into_iter().flatten() {
                    if why[i].is_some() {
                        continue;
                    }
                    let t = dels[i].time;
                    // A key made before the deletion, or in its second or after it with no
                    // making of the name logged since (IAM makes no key for a user that is
                    // not there), used after it (a review: a forged deletion in the second of
                    // the key's making, or with a copy moving the key's making after it, was
                    // believed though the key was used later).
                    let kept_key = !role
                        && node.kind == NodeKind::LongTermKey
                        && from.is_some_and(|f| f < t || (n == lower && !remade(acct, name, t, f)))
                        && last_ok[k].is_some_and(|l| l > t);
                    // A session issued in the deletion's second or after it; or one issued
                    // before it and still in use well after it (its user's or role's
                    // permissions went with it), with no making of the name logged in
                    // between (a review: a forged deletion a second after the attacker's
                    // user signed in to the console, whose calls went on for 50 minutes).
                    let issued_after = node.issued_at.filter(|&at| at >= t);
                    let used_after = (node.kind == NodeKind::Session && n == lower)
                        .then_some(last_ok[k])
                        .flatten()
                        .filter(|&l| l > t + USED_AFTER_DELETION && !remade(acct, name, t, l));
                    if kept_key {
                        why[i] = Some(format!(
                            "key {} of the user, made or used before it, was used after it (IAM deletes no user that has a key)",
                            crate::escape::one_line(&node.id)
                        ));
                    } else if let Some(l) = used_after {
                        why[i] = Some(format!(
                            "{} of the {} was still in use at {}, after it, with no {making} of the name logged in between",
                            crate::escape::one_line(&node.id),
                            if role { "role" } else { "user" },
                            crate::time::fmt_iso(l)
                        ));
                    } else if let Some(at) =
                        issued_after.filter(|&at| n == lower && !remade(acct, name, t, at))
                    {
                        why[i] = Some(format!(
                            "{} was issued to it after it ({}), with no {making} of the name logged in between",
                            crate::escape::one_line(&node.id),
                            crate::time::fmt_iso(at)
                        ));
                    }
                }
            }
        }
        why
    }

    /// What shows that the role `name` of `account` (whatever its case) there at `since` is
    /// gone ([`first_gone`]): its first `DeleteRole`, or `CreateRole` of the name, after
    /// `since`'s second.
    pub fn role_gone_after(&self, account: &str, name: &str, since: i64) -> Option<&UserGrant> {
        self.first_gone(true, account, name, since)
    }

    /// What shows that the user `name` of `account` (whatever its case) there at `since` is
    /// gone: its first `DeleteUser`, or `CreateUser` of the name, after `since`'s second
    /// ([`SessionGraph::name_gone_after`]), under each name it had from then on (renames
    /// followed): once renamed away, a deletion or a making of its old name is another
    /// user's (the attacker renamed the user its SSH key was on and made a new user under the
    /// old name: the key was taken as gone, verify OK). A deletion or making in the second of
    /// a rename into or out of the name is not taken (their order is not known).
    pub fn user_gone_after(&self, account: &str, name: &str, since: i64) -> Option<&UserGrant> {
        let renames = self.renames_of(account, name, Some(since));
        let mut spans = Vec::with_capacity(renames.len() + 1);
        let (mut at, mut from) = (name, since);
        for r in &renames {
            spans.push((at, from, r.time));
            (at, from) = (renamed_to(r), r.time);
        }
        spans.push((at, from, i64::MAX));
        spans
            .into_iter()
            .filter_map(|(n, from, until)| {
                self.name_gone_after(account, n, from).filter(|d| d.time < until)
            })
            .min_by_key(|d| d.time)
    }

    /// What shows that the user the name `name` of `account` (whatever its case) meant at
    /// `since` is gone, renames not followed ([`first_gone`]): its first `DeleteUser`, or
    /// `CreateUser` of the name, after `since`'s second.
    pub fn name_gone_after(&self, account: &str, name: &str, since: i64) -> Option<&UserGrant> {
        self.first_gone(false, account, name, since)
    }

    /// The first record after `since` (a later second) that shows the user (`role`: role)
    /// `name` of `account` (whatever its case) there at `since` gone: its deletion. A
    /// successful `CreateUser` (`CreateRole`) of the name with no deletion logged before it is
    /// not taken alone: IAM makes none over a name that is taken, so either the deletion is not
    /// in these logs or the record is false (a copy of the attacker's own making naming another
    /// caller, or one forged under a new eventID, made the attacker's role or user "gone": no
    /// deny-all, verify OK). The one there at `since` is then still taken to be there (a deny
    /// on a new principal of the name is collateral, not a credential left alive). A deletion
    /// in the same second as `since` is not taken: it cannot be ordered against what happened
    /// at `since` (the attacker making, deleting and making again its role or user in one
    /// second switched its rule off, verify OK), and believed wrongly it leaves the attacker's
    /// user or role alive and uncut.
    fn first_gone(&self, role: bool, account: &str, name: &str, since: i64) -> Option<&UserGrant> {
        let deletions = if role { &self.role_deletions } else { &self.user_deletions };
        deletions.iter().find(|d| {
            d.time > since && d.account_id == account && d.user_name.eq_ignore_ascii_case(name)
        })
    }

    /// The renames that user `name` of `account`, as a call at `since` named it (`None`: at
    /// any time), went through by the end of the trail: each made at or after the one before
    /// it, from the name that one gave (IAM names are not told apart by case). Empty in a
    /// trail without renames, the common case.
    pub fn renames_of(&self, account: &str, name: &str, since: Option<i64>) -> Vec<&UserGrant> {
        if self.user_renames.is_empty() {
            return Vec::new();
        }
        let index = self.renames_by_name.get_or_init(|| {
            let mut m: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
            for (i, r) in self.user_renames.iter().enumerate() {
                let key = (r.account_id.clone(), r.user_name.to_ascii_lowercase());
                m.entry(key).or_default().push(i);
            }
            m
        });
        let mut out: Vec<&UserGrant> = Vec::new();
        let mut t = since.unwrap_or(i64::MIN);
        let mut at = name.to_ascii_lowercase();
        // Each step takes a rename no earlier than the last, not taken yet: renames in one
        // second are followed from name to name whatever their order in the list (their
        // eventIDs, random, ordered them: `evil` → `tmp` → `evil2` in one second stopped at
        // `tmp`). Which order they were made in is not known: `rename_unordered` says so.
        let mut taken: Vec<usize> = Vec::new();
        while let Some(list) = index.get(&(account.to_string(), at.clone())) {
            let next = list
                .iter()
                .copied()
                .find(|&i| self.user_renames[i].time >= t && !taken.contains(&i));
            let Some(i) = next else { break };
            let r = &self.user_renames[i];
            out.push(r);
            t = r.time;
            taken.push(i);
            at = renamed_to(r).to_ascii_lowercase();
        }
        out
    }

    /// Why the name a user of `account` has at the end of the trail is not known, if it is
    /// not, given the renames `chain` it went through from `since` ([`SessionGraph::renames_of`]
    /// of the name a call at `since` gave it): a rename it went through (`A` → `B`) shares
    /// its second with another rename in the account from `A` or from `B`, or to `B`. Their
    /// order decides where the user ends (`evil` → `tmp` and `tmp` → `evil2`: `evil2`, or
    /// `tmp` if the second came first; a swap of two users' names through a third), and the
    /// logs do not order calls within a second. An action under a guessed name may act on
    /// another user (a swap made the plan deny the clean user everything, verify OK).
    pub fn rename_unordered(
        &self,
        account: &str,
        chain: &[&UserGrant],
        since: Option<i64>,
    ) -> Option<String> {
        if let Some(r) = chain.first().filter(|r| since == Some(r.time)) {
            // The call that named the user (a `CreateUser` of the name, say) and a rename from
            // the name in one second: was the user made, then renamed, or was another user
            // renamed away first, freeing the name?
            return Some(format!(
                "UpdateUser {} → {} (event {}) is in the same second ({}) as the call that named the user, and their order decides which user the rename moved",
                crate::escape::one_line(&r.user_name),
                crate::escape::one_line(renamed_to(r)),
                crate::escape::one_line(&r.event_id),
                crate::time::fmt_iso(r.time)
            ));
        }
        for r in chain {
            let (from, to) = (r.user_name.as_str(), renamed_to(r));
            let other = self.user_renames.iter().find(|o| {
                let (of, ot) = (o.user_name.as_str(), renamed_to(o));
                !std::ptr::eq(*o, *r)
                    && o.time == r.time
                    && o.account_id == account
                    && [of, ot]
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(from) || n.eq_ignore_ascii_case(to))
            });
            if let Some(o) = other {
                return Some(format!(
                    "UpdateUser {} → {} (event {}) and {} → {} (event {}) are in the same second ({}), and their order decides the name the user has now",
                    crate::escape::one_line(from),
                    crate::escape::one_line(to),
                    crate::escape::one_line(&r.event_id),
                    crate::escape::one_line(&o.user_name),
                    crate::escape::one_line(renamed_to(o)),
                    crate::escape::one_line(&o.event_id),
                    crate::time::fmt_iso(r.time)
                ));
            }
        }
        None
    }

    /// The name user `name` of `account`, as a call at `since` named it, has at the end of the
    /// trail ([`SessionGraph::renames_of`]): `name` itself when it was not renamed after.
    pub fn user_name_now<'a>(
        &'a self,
        account: &str,
        name: &'a str,
        since: Option<i64>,
    ) -> &'a str {
        self.renames_of(account, name, since).last().map_or(name, |r| renamed_to(r))
    }

    /// The other users the making records of each key name ([`SessionGraph::key_owner_claims`]),
    /// by the key's node: `(account, name)` under the name each has at the end of the trail.
    pub fn key_owner_claims_by_key(&self) -> BTreeMap<usize, Vec<(String, String)>> {
        let mut claimed: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
        for c in &self.key_owner_claims {
            let name = self.user_name_now(&c.account_id, &c.user_name, Some(c.time)).to_string();
            claimed.entry(c.by).or_default().push((c.account_id.clone(), name));
        }
        claimed
    }

    /// `arn` (a user's ARN) with its last segment, the user's name, replaced by the name the
    /// user has at the end of the trail; `arn` itself when it was not renamed.
    pub fn user_arn_now(&self, arn: &str, since: Option<i64>) -> String {
        let (Some(account), Some((head, name))) = (arn_account(arn), arn.rsplit_once('/')) else {
            return arn.to_string();
        };
        let now = self.user_name_now(account, name, since);
        if now == name {
            arn.to_string()
        } else {
            format!("{head}/{now}")
        }
    }
}

/// The account and name of the IAM user whose credential `node` is, as its ARN's `user/…`
/// names it (the name when the credential was seen: see [`crate::taint::user_of`] for the
/// name it has at the end of the trail).
pub fn user_named(node: &Node) -> Option<(&str, &str)> {
    let arn = node.principal_arn.as_deref()?;
    let rest = after_segment(arn, "user/")?;
    Some((arn_account(arn)?, rest.rsplit('/').next().unwrap_or(rest)))
}

/// The account and name (its last segment, without the path) of a role ARN.
pub fn role_arn_named(arn: &str) -> Option<(&str, &str)> {
    let rest = after_segment(arn, "role/")?;
    Some((arn_account(arn)?, rest.rsplit('/').next().unwrap_or(rest)))
}

/// The account and name of the role a session belongs to (from its issuing call's role ARN,
/// else from its assumed-role ARN).
pub fn role_named(node: &Node) -> Option<(&str, &str)> {
    if let Some(r) = node.role_arn.as_deref() {
        return role_arn_named(r);
    }
    let arn = node.principal_arn.as_deref()?;
    let rest = after_segment(arn, "assumed-role/")?;
    Some((arn_account(arn)?, rest.split('/').next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rename(account: &str, from: &str, to: &str, time: i64) -> UserGrant {
        UserGrant {
            user_arn: format!("arn:aws:iam::{account}:user/{to}"),
            account_id: account.to_string(),
            user_name: from.to_string(),
            event_name: "UpdateUser".to_string(),
            event_id: format!("e{time}"),
            time,
            by: 0,
        }
    }

    #[test]
    fn renames_are_followed_forward_in_time_whatever_the_case_and_end() {
        let a = "111122223333";
        let g = SessionGraph {
            user_renames: vec![
                rename(a, "tmp", "Evil", 10),
                rename("444455556666", "evil", "other", 15),
                rename(a, "EVIL", "x", 20),
                rename(a, "x", "tmp", 30),
                rename(a, "tmp", "back", 40),
            ],
            ..Default::default()
        };
        // tmp at 0 → Evil → x → tmp → back: every step later than the one before.
        assert_eq!(g.user_name_now(a, "tmp", Some(0)), "back");
        assert_eq!(g.renames_of(a, "TMP", Some(0)).len(), 4);
        // Named after the first rename: only the later ones apply.
        assert_eq!(g.user_name_now(a, "x", Some(25)), "back");
        assert_eq!(g.user_name_now(a, "back", Some(25)), "back");
        assert_eq!(g.user_name_now(a, "x", Some(31)), "x");
        // Another account's user of the same name is not this one.
        assert_eq!(g.user_name_now("444455556666", "tmp", None), "tmp");
        assert_eq!(
            g.user_arn_now(&format!("arn:aws:iam::{a}:user/team/Evil"), Some(12)),
            format!("arn:aws:iam::{a}:user/team/back")
        );
        assert_eq!(SessionGraph::default().user_name_now(a, "tmp", None), "tmp");
    }
}

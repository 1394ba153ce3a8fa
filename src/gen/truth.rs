//! The known answer of the incident: [`IncidentTruth`], and the [`Ledger`] that computes it
//! while the records are emitted (taint follows `userIdentity.accessKeyId` + session
//! `creationDate` through the issuing events).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::aws::iso;
use super::identity::{Cred, Who};
use super::record::Record;
use super::{LEAKED_KEY, LEAKED_USER_ARN, MAIN_ACCOUNT};

/// One credential of the incident (or a collateral session), as the analyser should find it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TruthCredential {
    /// `AKIA…` or `ASIA…` key id.
    pub access_key_id: String,
    /// `"long_term_key"` or `"session"`.
    pub kind: String,
    /// IAM user ARN for keys and GetSessionToken sessions, assumed-role or federated-user ARN
    /// for the other sessions.
    pub principal_arn: String,
    /// Account the credential belongs to (role owner for role sessions).
    pub account_id: String,
    /// RFC 3339 issue time (`creationDate` of sessions, CreateAccessKey time), null for the leaked key.
    pub issued_at: Option<String>,
    /// RFC 3339 expiry of sessions, null for long-term keys.
    pub expires_at: Option<String>,
    /// Key id of the credential that made the issuing call, null for the leaked key.
    pub issued_by: Option<String>,
    /// `AssumeRole`, `GetSessionToken`, `GetFederationToken`, `CreateAccessKey`, or null.
    pub issuing_event: Option<String>,
    /// eventID of the issuing event (the caller-account copy), or null.
    pub issuing_event_id: Option<String>,
    /// IAM role ARN (with path) for role sessions, else null.
    pub role_arn: Option<String>,
}

/// The exact known answer of the generated incident. Every `Vec` is sorted.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct IncidentTruth {
    /// The leaked key (`AKIAIOSFODNN7EXAMPLE`).
    pub leaked_key: String,
    /// ARN of the user owning the leaked key.
    pub leaked_user_arn: String,
    /// Every credential derived from the leaked key, the key itself included (sorted by key id).
    pub tainted_credentials: Vec<TruthCredential>,
    /// Every unique eventID whose `userIdentity.accessKeyId` (within its session) is tainted,
    /// including the legitimate pre-incident use of the leaked key; role-owner copies of
    /// cross-account AssumeRole calls (AWSAccount identity, no key) are not included.
    pub tainted_event_ids: Vec<String>,
    /// The subset of `tainted_event_ids` before `incident_start` (legitimate CI use of the key).
    pub pre_incident_event_ids: Vec<String>,
    /// Access keys created with tainted credentials.
    pub created_access_keys: Vec<String>,
    /// ARNs of users created with tainted credentials.
    pub created_users: Vec<String>,
    /// ARNs of roles whose trust or inline policies were changed with tainted credentials.
    pub modified_roles: Vec<String>,
    /// Role ARNs (with path) that have at least one tainted session.
    pub roles_with_tainted_sessions: Vec<String>,
    /// IAM user ARNs with tainted GetSessionToken/GetFederationToken sessions.
    pub users_with_tainted_sessions: Vec<String>,
    /// eventIDs of tainted events that failed (`errorCode` set).
    pub failed_attempts: Vec<String>,
    /// eventIDs of the role-owner (AWSAccount) copies of tainted cross-account AssumeRole calls.
    pub role_owner_copy_event_ids: Vec<String>,
    /// Untainted sessions of roles in `roles_with_tainted_sessions` still valid at `trail_end`.
    pub collateral_sessions: Vec<TruthCredential>,
    /// Background `ASIA` key ids issued to two different sessions (F16).
    pub reused_key_ids: Vec<String>,
    /// RFC 3339 time of the first event from an attacker IP.
    pub incident_start: String,
    /// RFC 3339 time of the last event from an attacker IP.
    pub incident_end: String,
    /// Source IPs of the attacker.
    pub attacker_ips: Vec<String>,
    /// RFC 3339 time of the earliest event of the trail.
    pub trail_start: String,
    /// RFC 3339 time of the latest event of the trail.
    pub trail_end: String,
}

/// Writes `truth` as pretty-printed JSON (with a trailing newline) to `path`.
///
/// # Errors
/// Any I/O error from creating or writing the file.
pub fn write_truth(path: &Path, truth: &IncidentTruth) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(truth).map_err(io::Error::other)?;
    text.push('\n');
    fs::write(path, text)
}

/// A change of a function by a tainted credential: time, eventID, event name, the caller's key.
type FunctionChange = (i64, String, String, Option<String>);

/// Truth bookkeeping of one run: which keys are tainted (within which session), which events
/// they signed, and what the attacker created or changed.
#[derive(Default)]
pub(super) struct Ledger {
    /// Tainted key id → `creationDate` of its tainted session (`None` for long-term keys).
    taint: BTreeMap<String, Option<String>>,
    tainted_creds: Vec<TruthCredential>,
    tainted_events: Vec<(i64, String)>,
    failed: Vec<String>,
    owner_copies: Vec<String>,
    created_keys: Vec<String>,
    created_users: Vec<String>,
    modified_roles: Vec<String>,
    tainted_users: BTreeSet<String>,
    role_sessions: Vec<TruthCredential>,
    reused_keys: Vec<String>,
    attacker_ips: BTreeSet<String>,
    attack_window: Option<(i64, i64)>,
    /// Functions whose code a tainted credential set: (account, name) → each change (time,
    /// eventID, event name, the caller's key) in time order (F21).
    function_changes: BTreeMap<(String, String), Vec<FunctionChange>>,
    /// The role sessions Lambda took, named by their function: (account, function, issue
    /// time, the credential, its `creationDate`). Those issued at or after a change of their
    /// function by a tainted credential are tainted; which ones is known only once every
    /// record is made (the background's sessions are made before the calls that change them).
    lambda_sessions: Vec<(String, String, i64, TruthCredential, Option<String>)>,
    /// The events signed by a function's session: (key, `creationDate`, time, eventID, failed).
    lambda_events: Vec<(String, Option<String>, i64, String, bool)>,
}

impl Ledger {
    /// An empty ledger; with `incident` the leaked key is tainted from the start.
    pub(super) fn new(incident: bool) -> Self {
        let mut l = Ledger::default();
        if incident {
            l.taint.insert(LEAKED_KEY.to_string(), None);
            l.tainted_creds.push(TruthCredential {
                access_key_id: LEAKED_KEY.to_string(),
                kind: "long_term_key".to_string(),
                principal_arn: LEAKED_USER_ARN.to_string(),
                account_id: MAIN_ACCOUNT.to_string(),
                issued_at: None,
                expires_at: None,
                issued_by: None,
                issuing_event: None,
                issuing_event_id: None,
                role_arn: None,
            });
        }
        l
    }

    /// Notes a record about to be delivered: tainted events, failures, the attack window.
    pub(super) fn observe(&mut self, r: &Record) {
        let key = r.user_identity.access_key_id.as_deref();
        let created =
            r.user_identity.session_context.as_ref().map(|s| s.attributes.creation_date.as_str());
        // A key is tainted only within its session (same creationDate): F16.
        let function_session = r.user_identity.arn.as_deref().is_some_and(|a| {
            a.contains(":assumed-role/")
                && a.rsplit('/').next().is_some_and(|n| super::world::FUNCTIONS.contains(&n))
        });
        if let (Some(k), true) = (key, function_session) {
            self.lambda_events.push((
                k.to_string(),
                created.map(str::to_string),
                r.t,
                r.event_id.clone(),
                r.error_code.is_some(),
            ));
        }
        if let Some(want) = key.and_then(|k| self.taint.get(k)) {
            if want.as_deref() == created {
                self.tainted_events.push((r.t, r.event_id.clone()));
                if r.error_code.is_some() {
                    self.failed.push(r.event_id.clone());
                }
            }
        }
        if self.attacker_ips.contains(&r.source_ip_address) {
            self.attack_window = Some(match self.attack_window {
                Some((lo, hi)) => (lo.min(r.t), hi.max(r.t)),
                None => (r.t, r.t),
            });
        }
    }

    fn is_tainted(&self, c: &Cred) -> bool {
        match &c.key {
            Some(k) => self.taint.get(k) == Some(&c.created.map(iso)),
            None => false,
        }
    }

    /// Records that `parent` minted `child` with event `event` (id `event_id`) at `t`.
    pub(super) fn issued(
        &mut self,
        parent: &Cred,
        child: &Cred,
        event: &str,
        event_id: &str,
        t: i64,
    ) {
        let Some(key) = child.key.clone() else {
            return;
        };
        let role_arn = match &child.who {
            Who::Role(r, _) => Some(r.arn()),
            _ => None,
        };
        let principal_arn = match &child.who {
            Who::User(u) => u.arn(),
            _ => child.arn(),
        };
        let tc = TruthCredential {
            access_key_id: key.clone(),
            kind: if key.starts_with("AKIA") {
                "long_term_key".to_string()
            } else {
                "session".to_string()
            },
            principal_arn,
            account_id: child.acct().to_string(),
            issued_at: Some(iso(t)),
            expires_at: child.expires.map(iso),
            issued_by: parent.key.clone(),
            issuing_event: Some(event.to_string()),
            issuing_event_id: Some(event_id.to_string()),
            role_arn,
        };
        if let (Who::Service(super::aws::LAMBDA), Who::Role(r, function)) =
            (&parent.who, &child.who)
        {
            self.lambda_sessions.push((
                r.acct.to_string(),
                function.clone(),
                t,
                tc.clone(),
                child.created.map(iso),
            ));
        }
        if self.is_tainted(parent) {
            self.taint.insert(key, child.created.map(iso));
            if event == "GetSessionToken" || event == "GetFederationToken" {
                if let Who::User(u) = &parent.who {
                    self.tainted_users.insert(u.arn());
                }
            }
            if event == "CreateAccessKey" {
                self.created_keys.push(tc.access_key_id.clone());
            }
            self.tainted_creds.push(tc);
        } else if tc.role_arn.is_some() && !matches!(parent.who, Who::Service(_)) {
            self.role_sessions.push(tc);
        }
    }

    /// Event `id` is the role owner's copy of a cross-account AssumeRole by `caller`.
    pub(super) fn owner_copy(&mut self, caller: &Cred, id: &str) {
        if self.is_tainted(caller) {
            self.owner_copies.push(id.to_string());
        }
    }

    /// `by` created the IAM user `arn`.
    pub(super) fn created_user(&mut self, by: &Cred, arn: String) {
        if self.is_tainted(by) {
            self.created_users.push(arn);
        }
    }

    /// `by` changed the trust or inline policy of the role `arn`.
    pub(super) fn modified_role(&mut self, by: &Cred, arn: String) {
        if self.is_tainted(by) {
            self.modified_roles.push(arn);
        }
    }

    /// `by` set the code or configuration of function `name` in account `acct` at `t`: the
    /// function's sessions from then on run code of its choosing (F21).
    pub(super) fn function_changed(
        &mut self,
        by: &Cred,
        (acct, name): (&str, &str),
        (t, event, id): (i64, &str, &str),
    ) {
        if self.is_tainted(by) {
            let v = self.function_changes.entry((acct.to_string(), name.to_string())).or_default();
            v.push((t, id.to_string(), event.to_string(), by.key.clone()));
            v.sort();
        }
    }

    /// The sessions of functions a tainted credential changed, issued at or after the change,
    /// with their events and failed ones: (credentials, (time, eventID), failed eventIDs).
    #[allow(clippy::type_complexity)]
    fn function_taint(&self) -> (Vec<TruthCredential>, Vec<(i64, String)>, Vec<String>) {
        let (mut creds, mut events, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for (acct, name, t, tc, created) in &self.lambda_sessions {
            let changes = self.function_changes.get(&(acct.clone(), name.clone()));
            // The latest change before the session: the code it runs.
            let Some((_, id, event, by)) = changes.and_then(|c| c.iter().rfind(|c| c.0 <= *t))
            else {
                continue;
            };
            creds.push(TruthCredential {
                issued_by: by.clone(),
                issuing_event: Some(event.clone()),
                issuing_event_id: Some(id.clone()),
                ..tc.clone()
            });
            for (k, c, et, id, f) in &self.lambda_events {
                if *k == tc.access_key_id && c == created {
                    events.push((*et, id.clone()));
                    if *f {
                        failed.push(id.clone());
                    }
                }
            }
        }
        (creds, events, failed)
    }

    /// Calls from `ip` are the attacker's.
    pub(super) fn attacker_ip(&mut self, ip: &str) {
        self.attacker_ips.insert(ip.to_string());
    }

    /// `key` was issued to two unrelated sessions (F16).
    pub(super) fn reused_key(&mut self, key: String) {
        self.reused_keys.push(key);
    }

    /// The known answer, once every record was sent; `first_event` and `last_event` bound the
    /// trail.
    pub(super) fn truth(&self, first_event: i64, last_event: i64) -> IncidentTruth {
        let (lo, hi) = self.attack_window.unwrap_or((first_event, last_event));
        let (function_creds, function_events, function_failed) = self.function_taint();
        let mut tainted_credentials = self.tainted_creds.clone();
        tainted_credentials.extend(function_creds);
        tainted_credentials.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
        let tainted_events: Vec<(i64, String)> =
            self.tainted_events.iter().cloned().chain(function_events).collect();
        let mut failed = self.failed.clone();
        failed.extend(function_failed);
        let mut tainted_event_ids: Vec<String> =
            tainted_events.iter().map(|(_, id)| id.clone()).collect();
        tainted_event_ids.sort();
        tainted_event_ids.dedup();
        let mut pre: Vec<String> =
            tainted_events.iter().filter(|(t, _)| *t < lo).map(|(_, id)| id.clone()).collect();
        pre.sort();
        let roles: BTreeSet<String> =
            tainted_credentials.iter().filter_map(|c| c.role_arn.clone()).collect();
        let trail_end = iso(last_event);
        let mut collateral: Vec<TruthCredential> = self
            .role_sessions
            .iter()
            .filter(|c| {
                c.role_arn.as_ref().is_some_and(|r| roles.contains(r))
                    && c.expires_at.as_ref().is_some_and(|e| *e > trail_end)
            })
            .cloned()
            .collect();
        collateral.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        IncidentTruth {
            leaked_key: LEAKED_KEY.to_string(),
            leaked_user_arn: LEAKED_USER_ARN.to_string(),
            tainted_credentials,
            tainted_event_ids,
            pre_incident_event_ids: pre,
            created_access_keys: sorted(&self.created_keys),
            created_users: sorted(&self.created_users),
            modified_roles: sorted(&self.modified_roles),
            roles_with_tainted_sessions: roles.into_iter().collect(),
            users_with_tainted_sessions: self.tainted_users.iter().cloned().collect(),
            failed_attempts: sorted(&failed),
            role_owner_copy_event_ids: sorted(&self.owner_copies),
            collateral_sessions: collateral,
            reused_key_ids: sorted(&self.reused_keys),
            incident_start: iso(lo),
            incident_end: iso(hi),
            attacker_ips: self.attacker_ips.iter().cloned().collect(),
            trail_start: iso(first_event),
            trail_end,
        }
    }
}

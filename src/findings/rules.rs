//! The findings that are not one persistence call grouped by its target: the leaked key's
//! use, stolen instance credentials, data read, the unseen tail, accounts whose logs are
//! missing, and failed attempts.

use super::meaning::{call_target, meaning, Meaning};
use super::{Finding, Severity, MAX_EVIDENCE};
use crate::blast::BlastRadius;
use crate::chain::{Attempt, Node};
use crate::model::Event;
use crate::plan::{CredentialStatus, Plan};
use crate::time::Time;
use std::collections::{BTreeMap, BTreeSet};

/// The seed keys were used: the headline, with what the plan does about it.
pub(super) fn leaked_key(
    b: &BlastRadius,
    nodes: &[&crate::chain::Node],
    plan: Option<&Plan>,
    out: &mut Vec<Finding>,
) {
    if b.credentials.is_empty() {
        return;
    }
    let accounts: BTreeSet<&str> =
        b.credentials.iter().filter_map(|c| c.account_id.as_deref()).collect();
    let mut detail = format!(
        "{} tainted credentials in {} account(s), {} tainted events",
        b.credentials.len(),
        accounts.len(),
        b.events
    );
    if let (Some(f), Some(l)) = (&b.first_event, &b.last_event) {
        detail.push_str(&format!(", {f} → {l}"));
    }
    let next_step = match plan {
        Some(p) => {
            let live =
                p.tainted.credentials.iter().filter(|c| c.status == CredentialStatus::Live).count();
            format!(
                "apply the revocation plan (plan.sh, {} actions{}) after checking it: {} live tainted session(s) to deny, {} key(s) to deactivate",
                p.actions.len(),
                match p.precautionary.len() {
                    0 => String::new(),
                    n => format!(" and {n} precautionary ones, {} collateral session(s) in all", p.summary.collateral_sessions),
                },
                live,
                p.summary.keys_to_deactivate
            ) + &match p.unrevocable.len() {
                // Root's own key and what root minted stay valid whatever plan.sh does (F11):
                // "apply the plan, 0 actions" read as contained (a review).
                0 => String::new(),
                n => format!("; {n} tainted credential(s) no IAM policy can cut stay valid after it (plan.json's unrevocable: act on each one's remedy, e.g. delete a root key as the root user)"),
            }
        }
        // A root key, and the sessions root minted with it, only the root user can end (F11);
        // no policy of the account reaches a service-linked role's or an Identity Center
        // role's sessions either (F6, F20).
        None if b.credentials.iter().any(|c| c.principal_type.as_deref() == Some("Root"))
            || nodes.iter().any(|n| {
                // By the role's path, as the plan tells them apart.
                n.role_arn.as_deref().and_then(crate::plan::role_blocker).is_some()
                    && b.credentials.iter().any(|c| c.id == n.id)
            }) =>
        {
            "run trailhound plan with the same --key to cut every live credential IAM can cut; root's own key and the sessions root minted (F11), and the sessions of service-linked and Identity Center roles (F6, F20), no policy of the account cuts".into()
        }
        None => "run trailhound plan with the same --key to cut every live credential".into(),
    };
    out.push(Finding {
        severity: Severity::Critical,
        kind: "leaked_key_used".into(),
        title: format!("Leaked key used: {}", b.seeds.join(", ")),
        target: b.seeds.join(", "),
        account_id: (accounts.len() == 1).then(|| accounts.iter().next().unwrap().to_string()),
        time: b.first_event,
        detail,
        techniques: vec!["T1078.004".into()],
        next_step,
        evidence: b.seeds.clone(),
        failed: false,
    });
}

/// Instance-profile credentials used from another network: the role session to plan for.
pub(super) fn stolen_instance_credentials(
    b: &BlastRadius,
    nodes: &[&Node],
    out: &mut Vec<Finding>,
) {
    let signals: Vec<_> =
        b.signals.iter().filter(|s| s.kind == "instance_credentials_used_elsewhere").collect();
    // The sessions of each signalled role session, gathered in one walk over the nodes (not
    // one walk per signal: a forged trail can raise many).
    let mut by_arn: BTreeMap<&str, Vec<&Node>> = signals
        .iter()
        .map(|s| (s.principal_arn.as_deref().unwrap_or(&s.credential), Vec::new()))
        .collect();
    if !by_arn.is_empty() {
        for n in nodes.iter().copied().filter(|n| n.access_key_id.is_some()) {
            if let Some(v) = n.principal_arn.as_deref().and_then(|a| by_arn.get_mut(a)) {
                v.push(n);
            }
        }
    }
    for s in signals {
        let arn = s.principal_arn.as_deref().unwrap_or(&s.credential);
        // Sessions of this role session (the instance rotates keys), oldest first.
        let mut sessions: Vec<&Node> = by_arn.get(arn).cloned().unwrap_or_default();
        sessions.sort_by(|x, y| {
            (x.issued_at.or(x.first_seen), &x.id).cmp(&(y.issued_at.or(y.first_seen), &y.id))
        });
        let home: BTreeSet<&str> = sessions
            .first()
            .map(|n| n.source_ips.iter().map(|s| s.as_str()).collect())
            .unwrap_or_default();
        let elsewhere: Vec<&Node> = sessions
            .iter()
            .copied()
            .filter(|n| n.source_ips.iter().any(|ip| !home.contains(ip.as_str())))
            .collect();
        let offer = if elsewhere.is_empty() { &sessions } else { &elsewhere };
        let mut keys: Vec<String> = offer.iter().map(|n| n.id.clone()).collect();
        if keys.is_empty() {
            // The selection lacks the instance's sessions: the key ids the signal names.
            let mut seen = BTreeSet::new();
            for w in s.detail.split(|c: char| !c.is_ascii_alphanumeric()) {
                if w.len() == 20 && w.starts_with("ASIA") && seen.insert(w) {
                    keys.push(w.to_string());
                }
            }
        }
        let instance = arn.rsplit('/').next().unwrap_or(arn);
        let next_step = if keys.is_empty() {
            format!("trailhound plan … --principal {arn}")
        } else {
            format!(
                "treat the session as leaked: trailhound plan … {}; stop instance {instance} or rotate its role's credentials",
                keys.iter().map(|k| format!("--key {k}")).collect::<Vec<_>>().join(" ")
            )
        };
        out.push(Finding {
            severity: Severity::Critical,
            kind: "instance_credentials_stolen".into(),
            title: format!("Instance credentials used outside the instance: {instance}"),
            target: arn.to_string(),
            account_id: crate::chain::arn_account(arn).map(str::to_string),
            time: offer.iter().filter_map(|n| n.first_seen).min().map(Time),
            detail: s.detail.clone(),
            techniques: vec!["T1552.005".into(), "T1078.004".into()],
            next_step,
            evidence: keys,
            failed: false,
        });
    }
}

/// Data read, grouped by bucket or by kind of store.
pub(super) fn data_read(b: &BlastRadius, out: &mut Vec<Finding>) {
    // (target, kind) -> (reads, first, resources)
    let mut m: BTreeMap<(String, &'static str), (u64, Time, BTreeSet<&str>)> = BTreeMap::new();
    for d in &b.data_access {
        let (target, what) = match d.event_name.as_str() {
            "GetObject" => {
                // Of any partition (a review: each object of a GovCloud bucket was a finding
                // of its own).
                let bucket = d
                    .resource
                    .strip_prefix("arn:")
                    .and_then(|r| r.split_once(":s3:::"))
                    .map(|(_, r)| r.split('/').next().unwrap_or(r))
                    .unwrap_or(&d.resource);
                (format!("bucket/{bucket}"), "s3")
            }
            "GetSecretValue" | "BatchGetSecretValue" => ("Secrets Manager".into(), "secrets"),
            "GetParameter" | "GetParameters" | "GetParametersByPath" => {
                ("SSM parameters".into(), "parameters")
            }
            "GetPasswordData" => ("EC2 Windows passwords".into(), "passwords"),
            "DescribeInstanceAttribute" => ("EC2 instance user data".into(), "userdata"),
            "Decrypt" => ("KMS".into(), "kms"),
            _ => (d.resource.clone(), "other"),
        };
        let e = m.entry((target, what)).or_insert((0, d.first, BTreeSet::new()));
        e.0 += d.count;
        if d.first < e.1 {
            e.1 = d.first;
        }
        e.2.insert(d.resource.as_str());
    }
    for ((target, what), (reads, first, res)) in m {
        let (severity, techniques, next) = match what {
            "s3" => (Severity::High, vec!["T1530"], "assume the objects read are disclosed; check the bucket policy and who else read them"),
            "secrets" => (Severity::High, vec!["T1555.006"], "rotate every secret read"),
            "parameters" => (Severity::High, vec!["T1552"], "rotate every credential stored in the parameters read"),
            "passwords" => (Severity::High, vec!["T1552"], "change the local administrator passwords of those instances"),
            "userdata" => (Severity::Medium, vec!["T1552.005"], "check the user data read for secrets and rotate them"),
            "kms" => (Severity::Medium, vec!["T1552"], "review what the decrypted data protects"),
            _ => (Severity::Medium, vec!["T1530"], "review the data read"),
        };
        // An object by its key: the title names its bucket.
        let sample: Vec<String> = res
            .iter()
            .map(|r| shown_resource(r))
            .map(|r| match (what, r.split_once('/')) {
                ("s3", Some((_, key))) if !key.is_empty() => key.to_string(),
                _ => r,
            })
            .take(5)
            .collect();
        out.push(Finding {
            severity,
            kind: "data_read".into(),
            title: format!("Data read: {target}"),
            target,
            account_id: None,
            time: Some(first),
            detail: format!(
                "{reads} read(s) of {} resource(s): {}{}",
                res.len(),
                sample.join(", "),
                if res.len() > sample.len() { ", …" } else { "" }
            ),
            techniques: techniques.into_iter().map(String::from).collect(),
            next_step: next.into(),
            evidence: Vec::new(),
            failed: false,
        });
    }
}

/// A resource read as a data-read finding lists it: the whole name, not its last segment (a
/// review: `payroll/0.csv` shown as `0.csv`, the secret `prod/db` as `db`). An ARN is cut to
/// its resource (`bucket/key` of an object, the secret's name, `parameter/NAME`, `key/ID`); a
/// service's name (a read whose record names no resource, as a `BatchGetSecretValue` by
/// filters) says so, for it is no resource read. Secrets Manager logs a `GetSecretValue` of
/// its own for each secret a `BatchGetSecretValue` returns (AWS's API reference): those name
/// the secrets.
pub(super) fn shown_resource(r: &str) -> String {
    if r == "secretsmanager.amazonaws.com" {
        return format!("(not named in the records of {r}: each secret a BatchGetSecretValue returned has a GetSecretValue record of its own, listed here when the trail holds it)");
    }
    if r.ends_with(".amazonaws.com") && !r.contains(['/', ':']) {
        return format!("(not named in the records of {r}: see their requestParameters)");
    }
    let Some(rest) = r.strip_prefix("arn:") else { return r.to_string() };
    let resource = rest.splitn(5, ':').nth(4).unwrap_or(rest);
    // (A parameter's ARN does not say whether its name begins with `/`: left as it is.)
    resource.strip_prefix("secret:").unwrap_or(resource).to_string()
}

/// Tainted credentials still valid when their account's evidence ends, per account.
pub(super) fn unseen_tail(b: &BlastRadius, out: &mut Vec<Finding>) {
    let mut per: BTreeMap<Option<&str>, Vec<&crate::taint::TailRisk>> = BTreeMap::new();
    for t in &b.unseen_tail {
        per.entry(t.account_id.as_deref()).or_default().push(t);
    }
    for (account, list) in per {
        let ends = list.iter().filter_map(|t| t.evidence_ends).max();
        let creds: Vec<String> = list.iter().map(|t| t.credential.clone()).collect();
        out.push(Finding {
            severity: Severity::High,
            kind: "unseen_tail".into(),
            title: format!(
                "{} tainted credential(s) still valid when the logs of account {} end",
                list.len(),
                account.unwrap_or("?")
            ),
            target: format!("account/{}", account.unwrap_or("?")),
            account_id: account.map(str::to_string),
            time: ends,
            detail: format!(
                "evidence ends {}; what they did since is not in the logs: {}{} ({})",
                crate::time::fmt_or(ends, "(no logs)"),
                list.iter().take(5).map(|t| t.credential.as_str()).collect::<Vec<_>>().join(", "),
                if list.len() > 5 { ", …" } else { "" },
                list.first().map_or("", |t| t.reason.as_str())
            ),
            techniques: vec!["T1078.004".into()],
            next_step: "collect the logs through the cut-off and re-run before applying the plan"
                .into(),
            evidence: creds.into_iter().take(MAX_EVIDENCE).collect(),
            failed: false,
        });
    }
}

/// Accounts where tainted credentials live but whose logs are not in the trail.
pub(super) fn missing_logs(b: &BlastRadius, out: &mut Vec<Finding>) {
    let seen: BTreeSet<&str> = b.evidence_window.iter().map(|w| w.account_id.as_str()).collect();
    let mut per: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in &b.credentials {
        if let Some(a) = c.account_id.as_deref() {
            if !seen.contains(a) {
                per.entry(a).or_default().push(c.id.as_str());
            }
        }
    }
    for (a, ids) in per {
        out.push(Finding {
            severity: Severity::High,
            kind: "missing_logs".into(),
            title: format!(
                "No logs of account {a}, where {} tainted credential(s) live",
                ids.len()
            ),
            target: format!("account/{a}"),
            account_id: Some(a.to_string()),
            time: None,
            detail: format!(
                "the chain crosses into account {a}; what {} did there is not visible",
                ids.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            ),
            techniques: vec!["T1078.004".into()],
            next_step: format!("collect AWSLogs/{a}/ and re-run"),
            evidence: ids.into_iter().take(MAX_EVIDENCE).map(String::from).collect(),
            failed: false,
        });
    }
}

/// Failed attempts: persistence, logging and defense-evasion calls that returned an error,
/// and refused credential-issuing calls of tainted keys; grouped by (call, target).
pub(super) fn failed_attempts(
    b: &BlastRadius,
    attempts: &[Attempt],
    events: &BTreeMap<&str, &Event>,
    out: &mut Vec<Finding>,
) {
    // (call, account, target) -> (meaning, first, errors, evidence)
    type Acc = (Meaning, Time, BTreeSet<String>, Vec<String>);
    let mut m: BTreeMap<(String, Option<String>, String), Acc> = BTreeMap::new();
    let mut add = |name: &str,
                   account: Option<String>,
                   target: String,
                   mn: Meaning,
                   time: Time,
                   error: Option<&str>,
                   id: &str| {
        let e = m
            .entry((name.to_string(), account, target))
            .or_insert_with(|| (mn, time, BTreeSet::new(), Vec::new()));
        if time < e.1 {
            e.1 = time;
        }
        if let Some(err) = error {
            e.2.insert(err.to_string());
        }
        e.3.push(id.to_string());
    };
    let mut names_seen: BTreeSet<&str> = BTreeSet::new();
    for e in events.values().filter(|e| e.failed()) {
        let policy = e.request.policy_arn.as_deref().or(e.request.policy_name.as_deref());
        let Some(mut mn) = meaning(&e.name, policy, None, true) else { continue };
        mn.severity = mn.severity.lower();
        names_seen.insert(e.name.as_str());
        add(
            &e.name,
            e.account().map(str::to_string),
            call_target(e),
            mn,
            Time(e.time),
            e.error_code.as_deref(),
            &e.id,
        );
    }
    let tainted: BTreeSet<&str> =
        b.credentials.iter().filter_map(|c| c.access_key_id.as_deref()).collect();
    // Without the events loaded: the per-action error counts, but for the names whose refused
    // calls are each named below (an issuing call's, with its target): one refused call was
    // listed twice, once with no target.
    let attempted: BTreeSet<&str> = attempts
        .iter()
        .filter(|a| a.caller_key.as_deref().is_some_and(|k| tainted.contains(k)))
        .map(|a| a.event_name.as_str())
        .collect();
    if !b.events_kept {
        for a in
            b.actions.iter().filter(|a| a.errors > 0 && !attempted.contains(a.event_name.as_str()))
        {
            let Some(mut mn) = meaning(&a.event_name, None, None, true) else { continue };
            mn.severity = mn.severity.lower();
            let what = mn.what.clone();
            out.push(Finding {
                severity: mn.severity,
                kind: "failed_attempt".into(),
                title: format!("Attempted, failed {}×: {} ({what})", a.errors, a.event_name),
                target: a.event_source.trim_end_matches(".amazonaws.com").to_string(),
                account_id: None,
                time: None,
                detail: format!("{} of {} {} calls failed", a.errors, a.count, a.event_name),
                techniques: mn.techniques.iter().map(|t| t.to_string()).collect(),
                next_step: "the attacker tried this: check that it is still refused, and why"
                    .into(),
                evidence: Vec::new(),
                failed: true,
            });
        }
    }
    for a in attempts {
        if !a.caller_key.as_deref().is_some_and(|k| tainted.contains(k)) {
            continue;
        }
        if events.contains_key(a.event_id.as_str()) && names_seen.contains(a.event_name.as_str()) {
            continue;
        }
        let full = a.target.clone().unwrap_or_else(|| "?".into());
        let account = crate::chain::arn_account(&full).map(str::to_string);
        // `arn:aws:iam::123:role/path/Name` -> `role/Name`.
        let last = |rest: &str| rest.rsplit('/').next().unwrap_or(rest).to_string();
        let target = match (
            full.starts_with("arn:"),
            crate::chain::after_segment(&full, "role/"),
            crate::chain::after_segment(&full, "user/"),
        ) {
            (true, Some(rest), _) => format!("role/{}", last(rest)),
            (true, None, Some(rest)) => format!("user/{}", last(rest)),
            _ => full.clone(),
        };
        let mn = Meaning {
            severity: Severity::Medium,
            kind: "failed_attempt",
            what: format!("{} refused", a.event_name),
            techniques: &["T1078.004"],
        };
        add(
            &a.event_name,
            account,
            target,
            mn,
            Time(a.event_time),
            a.error_code.as_deref(),
            &a.event_id,
        );
    }
    for ((name, account, target), (mn, first, errors, mut ids)) in m {
        ids.sort();
        ids.dedup();
        let n = ids.len();
        ids.truncate(MAX_EVIDENCE);
        let errs: Vec<&str> = errors.iter().map(String::as_str).collect();
        out.push(Finding {
            severity: mn.severity,
            kind: "failed_attempt".into(),
            title: format!(
                "Attempted{}: {name} on {target}",
                if n > 1 { format!(" {n}×") } else { String::new() }
            ),
            target,
            account_id: account,
            time: Some(first),
            detail: format!(
                "{} — refused ({})",
                mn.what,
                if errs.is_empty() { "error".to_string() } else { errs.join(", ") }
            ),
            techniques: mn.techniques.iter().map(|t| t.to_string()).collect(),
            next_step: "check it is still refused, and look for a later success".into(),
            evidence: ids,
            failed: true,
        });
    }
}

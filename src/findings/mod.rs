//! Key findings and next steps: the strongest signals of a blast radius, ranked, each naming
//! its target and what to do about it (issue #16, point 3).
//!
//! [`findings`] reads only what the other stages expose (the [`BlastRadius`] with its tainted
//! events when they were loaded, the [`SessionGraph`] and, when there is one, the [`Plan`]):
//! persistence grouped by its target (a user, a role, a trail, a Lambda function), the
//! stolen-instance-credential signal with the role session to feed back to `plan`,
//! attacker-made users, trust-policy changes, logging stopped, admin policies attached, data
//! read, the unseen tail and accounts whose logs are missing. Failed attempts (a `StopLogging`
//! answered with `AccessDenied`, a refused `AssumeRole`) are findings of their own with
//! `failed = true`, so a report can show them apart from what succeeded.
//!
//! Every string here may come from the logs: renderers must escape `title`, `target`,
//! `detail`, `next_step` and `evidence` for their output.
//!
//! Techniques are MITRE ATT&CK (Enterprise, cloud) ids.

mod meaning;
mod rules;

pub use crate::blast::{Finding, Severity};

use crate::blast::BlastRadius;
use crate::chain::{Attempt, Node, SessionGraph};
use crate::model::Event;
use crate::plan::Plan;
use crate::time::Time;
use meaning::{call_target, meaning, next_step_for, Meaning};
use rules::{
    data_read, failed_attempts, leaked_key, missing_logs, stolen_instance_credentials, unseen_tail,
};
use std::collections::{BTreeMap, BTreeSet};

/// At most this many evidence ids per finding (the rest are in blast.json).
pub(super) const MAX_EVIDENCE: usize = 20;

/// Group key of a finding about a target: (account, target).
type Key = (Option<String>, String);

#[derive(Default)]
struct Group {
    severity: Option<Severity>,
    kind: &'static str,
    /// Every kind seen, with its severity (the title names those of the top severity).
    kinds: BTreeSet<(Severity, &'static str)>,
    first: Option<Time>,
    /// In the order first met; `seen_whats` and `seen` say which are in, so that a target
    /// with 100,000 changes (an attacker's own calls) is not a list scanned at each.
    whats: Vec<String>,
    seen_whats: std::collections::HashSet<String>,
    techniques: BTreeSet<String>,
    evidence: Vec<String>,
    seen: std::collections::HashSet<String>,
}

impl Group {
    fn add(&mut self, m: &Meaning, time: Time, event_id: &str) {
        if self.severity.is_none_or(|s| m.severity < s) {
            self.severity = Some(m.severity);
            self.kind = m.kind;
        }
        self.kinds.insert((m.severity, m.kind));
        if self.first.is_none_or(|f| time < f) {
            self.first = Some(time);
        }
        if self.seen_whats.insert(m.what.clone()) {
            self.whats.push(m.what.clone());
        }
        self.techniques.extend(m.techniques.iter().map(|t| t.to_string()));
        self.add_evidence(event_id);
    }

    /// Adds an event id to the evidence, unless it is there.
    fn add_evidence(&mut self, id: &str) {
        if self.seen.insert(id.to_string()) {
            self.evidence.push(id.to_string());
        }
    }
}

/// The key findings of a blast radius, ranked by severity, then time, then title. Failed
/// attempts are included with `failed = true` (render them apart).
pub fn findings(b: &BlastRadius, g: &SessionGraph, plan: Option<&Plan>) -> Vec<Finding> {
    let nodes: Vec<&Node> = g.nodes.iter().collect();
    findings_from(b, &nodes, &g.attempts, plan)
}

/// The blast radius with its key findings (they read the blast radius and the graph).
pub fn with_findings(mut b: BlastRadius, g: &SessionGraph, plan: Option<&Plan>) -> BlastRadius {
    b.findings = findings(&b, g, plan);
    b
}

/// [`findings`] from the parts of the session graph it reads: its nodes (all of them, or a
/// selection such as [`crate::chain::GraphJson::nodes`]) and its failed issuing calls. With
/// a selection that lacks an instance's own sessions, the stolen-instance finding offers the
/// key ids named by the signal instead of the exact `KEY@TIME` sessions.
pub fn findings_from(
    b: &BlastRadius,
    nodes: &[&Node],
    attempts: &[Attempt],
    plan: Option<&Plan>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let events: BTreeMap<&str, &Event> =
        b.finding_events.iter().map(|e| (e.id.as_str(), e)).collect();

    leaked_key(b, nodes, plan, &mut out);

    // Persistence, grouped by target.
    let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
    for p in &b.persistence {
        let ev = events.get(p.event_id.as_str()).copied();
        let target = target_of(p, ev);
        let hint = match p.event_name.as_str() {
            "CreateAccessKey" => p.detail.strip_prefix("access key ").map(str::to_string),
            "UpdateAccessKey" => ev.and_then(|e| e.request.access_key_id.clone()),
            "AddUserToGroup" => p.group_name.clone(),
            _ => None,
        };
        let policy = p.policy_arn.as_deref().or(p.policy_name.as_deref());
        // A call of an IAM name to another service (an identity store's or Transfer Family's
        // `CreateUser`) is not IAM's: it made no IAM user, whatever its name says.
        let (m, target) = if p.not_iam {
            let what = p.detail.clone();
            (
                Meaning { severity: Severity::Medium, kind: "persistence", what, techniques: &[] },
                p.target.clone(),
            )
        } else {
            let Some(m) = meaning(&p.event_name, policy, hint.as_deref(), false) else {
                continue;
            };
            (m, target)
        };
        groups.entry((p.account_id.clone(), target)).or_default().add(
            &m,
            p.event_time,
            &p.event_id,
        );
    }
    // Attacker-made users join their user's group.
    for u in &b.attacker_users {
        let key = (Some(u.account_id.clone()), format!("user/{}", u.user_name));
        let m = Meaning {
            severity: Severity::High,
            kind: "attacker_user",
            what: if u.created {
                "made by the attacker: every credential of it since is tainted".into()
            } else {
                "its password was set by the attacker: its console sessions since are tainted"
                    .into()
            },
            techniques: if u.created { &["T1136.003", "T1078.004"] } else { &["T1098.001"] },
        };
        let g = groups.entry(key).or_default();
        g.add(&m, u.since, "");
        g.evidence.retain(|x| !x.is_empty());
        g.seen.remove("");
        for e in &u.evidence {
            g.add_evidence(e.rsplit(' ').next().unwrap_or(e));
        }
        // An attacker-made user is the strongest thing in its group unless something
        // critical (an admin policy) was done to it.
        if g.severity.is_some_and(|s| s >= Severity::High) {
            g.kind = "attacker_user";
        }
    }
    for ((account, target), gr) in groups {
        let Some(severity) = gr.severity else { continue };
        let top: Vec<&str> =
            gr.kinds.iter().filter(|(s, _)| Some(*s) == gr.severity).map(|(_, k)| *k).collect();
        let title = title_for(gr.kind, &top, &target, &gr.whats);
        let mut next_step = next_step_for(gr.kind, &target);
        if let Some(p) = plan {
            let acts = plan_actions_for(p, account.as_deref(), &target);
            if !acts.is_empty() {
                next_step.push_str(&format!("; the plan does it in actions {}", acts.join(", ")));
            }
        }
        let mut evidence = gr.evidence;
        evidence.truncate(MAX_EVIDENCE);
        out.push(Finding {
            severity,
            kind: gr.kind.to_string(),
            title,
            target,
            account_id: account,
            time: gr.first,
            detail: gr.whats.join("; "),
            techniques: gr.techniques.into_iter().collect(),
            next_step,
            evidence,
            failed: false,
        });
    }

    stolen_instance_credentials(b, nodes, &mut out);
    data_read(b, &mut out);
    unseen_tail(b, &mut out);
    missing_logs(b, &mut out);
    failed_attempts(b, attempts, &events, &mut out);

    out.sort_by(|x, y| {
        (x.failed, x.severity, &x.time, &x.title, &x.target)
            .cmp(&(y.failed, y.severity, &y.time, &y.title, &y.target))
    });
    out
}

fn title_for(kind: &str, all: &[&str], target: &str, whats: &[String]) -> String {
    let mut kinds: Vec<&str> = vec![kind];
    kinds.extend(all.iter().copied().filter(|k| *k != kind));
    let leads: Vec<&str> = kinds.iter().map(|k| lead_of(k)).collect();
    let mut leads_dedup: Vec<&str> = Vec::new();
    for l in leads {
        if !leads_dedup.contains(&l) {
            leads_dedup.push(l);
        }
    }
    let lead = leads_dedup.join(" + ");
    let more = if whats.len() > 1 { format!(" ({} changes)", whats.len()) } else { String::new() };
    format!("{lead}: {target}{more}")
}

fn lead_of(kind: &str) -> &'static str {
    match kind {
        "logging_tampered" => "Logging tampered with",
        "trust_policy_changed" => "Trust policy changed",
        "admin_policy_attached" => "Admin policy attached",
        "attacker_user" => "Attacker-made user",
        "lambda_backdoor" => "Lambda function backdoored",
        "defense_evasion" => "Defense evasion",
        _ => "Persistence",
    }
}

/// The target a persistence entry names (`user/…`, `role/…`, `trail/…`, `function/…`), from
/// its event when loaded (`ev`), else from its structured fields: what a report groups by.
pub fn target_of(p: &crate::blast::Persistence, ev: Option<&Event>) -> String {
    match ev {
        Some(e) => call_target(e),
        None => persistence_target(p),
    }
}

/// The target of a persistence entry when its event is not loaded.
fn persistence_target(p: &crate::blast::Persistence) -> String {
    if let Some(n) = &p.name {
        if p.event_name.contains("Trail") || p.event_name.contains("Logging") {
            return format!("trail/{n}");
        }
    }
    if let Some(u) = &p.user_name {
        return format!("user/{u}");
    }
    if let Some(r) = &p.role_name {
        return format!("role/{r}");
    }
    if let Some(g) = &p.group_name {
        return format!("group/{g}");
    }
    p.target.replacen("trail ", "trail/", 1)
}

/// Plan actions (`#order`) acting on `target` (a user or role name) in `account`.
fn plan_actions_for(p: &Plan, account: Option<&str>, target: &str) -> Vec<String> {
    let Some((kind, name)) = target.split_once('/') else { return Vec::new() };
    if name == "?" || !(kind == "user" || kind == "role") {
        return Vec::new();
    }
    p.actions
        .iter()
        .filter(|a| account.is_none() || a.account_id.as_deref() == account)
        .filter(|a| {
            (kind == "user" && a.user_name.as_deref() == Some(name))
                || a.principal_arn.as_deref().is_some_and(|arn| {
                    arn.rsplit_once(&format!(":{kind}/"))
                        .is_some_and(|(_, rest)| rest.rsplit('/').next() == Some(name))
                })
        })
        .map(|a| format!("#{}", a.order))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::scenario::Scenario;
    use serde_json::json;

    /// 2024-03-11T10:00:00Z
    const T0: i64 = 1_710_151_200;
    const MAIN: &str = "111122223333";
    const LEAKED: &str = "AKIAIOSFODNN7EXAMPLE";

    fn blast_of(s: &Scenario) -> (BlastRadius, SessionGraph) {
        let (_d, ing, g) = s.ingested(&[]);
        let b =
            crate::blast::blast(&ing, &g, &[crate::model::SeedKey::parse(LEAKED)], true).unwrap();
        (b, g)
    }

    /// The leaked key makes a user with admin rights, rewrites a role's trust, backdoors a
    /// function, reads a bucket, and tries three times to stop the trail.
    fn incident() -> (Scenario, BTreeMap<&'static str, Vec<String>>) {
        let mut s = Scenario::new();
        let mut ids: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let k = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.create_user(&k, T0 + 10, "backdoor");
        s.attach_user_policy(
            &k,
            T0 + 20,
            "backdoor",
            "arn:aws:iam::aws:policy/AdministratorAccess",
        );
        let id = s.call(
            &k,
            T0 + 30,
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            json!({"roleName": "Victim", "policyDocument": "{}"}),
        );
        ids.entry("trust").or_default().push(id);
        let id = s.call(
            &k,
            T0 + 40,
            "lambda.amazonaws.com",
            "CreateFunction20150331",
            json!({"functionName": "evil-fn", "role": "arn:aws:iam::111122223333:role/x"}),
        );
        ids.entry("function").or_default().push(id);
        s.get_object(&k, T0 + 50, MAIN, "payroll", "2024/march.csv");
        for i in 0..3 {
            let id = s.call_full(
                &k,
                T0 + 60 + i,
                "cloudtrail.amazonaws.com",
                "StopLogging",
                json!({"name": "main-trail"}),
                serde_json::Value::Null,
                Some("AccessDenied"),
                "aws-cli/2.15.0",
            );
            ids.entry("stop").or_default().push(id);
        }
        (s, ids)
    }

    fn by_target<'a>(f: &'a [Finding], target: &str, failed: bool) -> &'a Finding {
        f.iter()
            .find(|x| x.target == target && x.failed == failed)
            .unwrap_or_else(|| panic!("no finding on {target} (failed={failed}): {f:#?}"))
    }

    #[test]
    fn an_incident_gives_ranked_findings_by_target_with_failed_attempts_apart() {
        let (s, ids) = incident();
        let (b, g) = blast_of(&s);
        let f = findings(&b, &g, None);
        // Ranked: what succeeded first, by severity; failed attempts last.
        let keys: Vec<(bool, Severity)> = f.iter().map(|x| (x.failed, x.severity)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{f:#?}");
        let lead = f.iter().find(|x| x.kind == "leaked_key_used").unwrap();
        assert_eq!((lead.severity, lead.target.as_str()), (Severity::Critical, LEAKED));
        // Same severity: earlier first.
        for w in f.windows(2) {
            if (w[0].failed, w[0].severity) == (w[1].failed, w[1].severity) {
                assert!(w[0].time <= w[1].time || w[1].time.is_none(), "{w:#?}");
            }
        }

        let user = by_target(&f, "user/backdoor", false);
        assert_eq!(user.severity, Severity::Critical);
        assert_eq!(user.kind, "admin_policy_attached");
        for t in ["T1136.003", "T1098.003"] {
            assert!(user.techniques.iter().any(|x| x == t), "{t} in {user:?}");
        }
        assert_eq!(user.evidence.len(), 2, "CreateUser and AttachUserPolicy: {user:?}");

        let trust = by_target(&f, "role/Victim", false);
        assert_eq!(trust.kind, "trust_policy_changed");
        assert!(trust.techniques.contains(&"T1484.002".to_string()));
        assert_eq!(trust.evidence, ids["trust"]);

        let func = by_target(&f, "function/evil-fn", false);
        assert_eq!(func.kind, "lambda_backdoor");
        assert_eq!(func.evidence, ids["function"]);

        let data = by_target(&f, "bucket/payroll", false);
        assert_eq!(data.techniques, vec!["T1530".to_string()]);

        // The three refused StopLogging calls: one failed finding on the trail, by name.
        let stop = by_target(&f, "trail/main-trail", true);
        assert!(stop.title.contains("3×") && stop.title.contains("StopLogging"), "{stop:?}");
        assert!(stop.detail.contains("AccessDenied"));
        assert_eq!(stop.techniques, vec!["T1562.008".to_string()]);
        let mut want = ids["stop"].clone();
        want.sort();
        assert_eq!(stop.evidence, want);
        assert!(!f.iter().any(|x| !x.failed && x.target == "trail/main-trail"));

        // Deterministic.
        assert_eq!(f, findings(&b, &g, None));
        let j = serde_json::to_value(&f).unwrap();
        assert_eq!(j[0]["severity"], "critical");
    }

    fn node(id: &str, key: &str, arn: &str, issued: i64, ips: &[&str]) -> Node {
        Node {
            id: id.into(),
            kind: crate::chain::NodeKind::Session,
            access_key_id: Some(key.into()),
            principal_arn: Some(arn.into()),
            principal_type: Some("AssumedRole".into()),
            account_id: Some(MAIN.into()),
            issued_at: Some(issued),
            expires_at: Some(issued + 21600),
            orphan: true,
            events: 3,
            denied: 0,
            first_seen: Some(issued + 5),
            last_seen: Some(issued + 50),
            issued_by_event: Some("EC2 instance profile".into()),
            role_arn: None,
            userid: None,
            user_name: None,
            source_ips: ips.iter().map(|s| (*s).into()).collect(),
            root_derived: false,
            issue_seen: true,
            user_arn: None,
            source_identity: None,
        }
    }

    #[test]
    fn stolen_instance_credentials_offer_the_session_used_elsewhere_for_the_plan() {
        let (s, _) = incident();
        let (mut b, _) = blast_of(&s);
        let arn = "arn:aws:sts::111122223333:assumed-role/web/i-0abc1234567890def";
        b.signals = vec![crate::blast::Signal {
            kind: "instance_credentials_used_elsewhere".into(),
            credential: arn.into(),
            principal_arn: Some(arn.into()),
            detail: "used from 2 networks".into(),
        }];
        let home = node(
            "ASIAHOME000000000001@2024-03-11T09:00:00Z",
            "ASIAHOME000000000001",
            arn,
            T0 - 3600,
            &["10.0.0.5"],
        );
        let away = node(
            "ASIAAWAY000000000002@2024-03-11T09:30:00Z",
            "ASIAAWAY000000000002",
            arn,
            T0 - 1800,
            &["10.0.0.5", "198.51.100.7"],
        );
        let f = findings_from(&b, &[&home, &away], &[], None);
        let x = f.iter().find(|x| x.kind == "instance_credentials_stolen").unwrap();
        assert_eq!(x.severity, Severity::Critical);
        assert_eq!(x.target, arn);
        assert_eq!(x.evidence, vec![away.id.clone()]);
        assert!(x.next_step.contains("--key ASIAAWAY000000000002@2024-03-11T09:30:00Z"), "{x:?}");
        assert!(!x.next_step.contains("ASIAHOME"), "{x:?}");
        assert!(x.title.contains("i-0abc1234567890def"));
        assert!(x.techniques.contains(&"T1552.005".to_string()));
    }

    #[test]
    fn severity_orders_and_serializes_snake_case() {
        assert!(Severity::Critical < Severity::High && Severity::High < Severity::Low);
        assert_eq!(serde_json::to_string(&Severity::Critical).unwrap(), "\"critical\"");
        assert_eq!(Severity::Medium.as_str(), "medium");
    }

    /// A data-read finding names each resource whole (a review: `payroll/0.csv` shown as
    /// `0.csv`, the secret `prod/db` as `db`, the service as a resource).
    #[test]
    fn data_reads_name_the_whole_resource() {
        for (r, shown) in [
            ("arn:aws:s3:::payroll-bucket/payroll/0.csv", "payroll-bucket/payroll/0.csv"),
            ("arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf", "prod/db-AbCdEf"),
            ("prod/db", "prod/db"),
            ("arn:aws:ssm:us-east-1:111122223333:parameter/prod/api-key", "parameter/prod/api-key"),
            ("arn:aws-us-gov:s3:::gov-payroll/hr/1.csv", "gov-payroll/hr/1.csv"),
            ("/prod/db-password", "/prod/db-password"),
            ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab", "key/1234abcd-12ab"),
            (
                "secretsmanager.amazonaws.com",
                "(not named in the records of secretsmanager.amazonaws.com: each secret a BatchGetSecretValue returned has a GetSecretValue record of its own, listed here when the trail holds it)",
            ),
            (
                "kms.amazonaws.com",
                "(not named in the records of kms.amazonaws.com: see their requestParameters)",
            ),
        ] {
            assert_eq!(super::rules::shown_resource(r), shown, "{r}");
        }
    }
}

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

pub use crate::blast::{Finding, Severity};

use crate::blast::BlastRadius;
use crate::chain::{Attempt, Node, SessionGraph};
use crate::model::Event;
use crate::plan::{CredentialStatus, Plan};
use std::collections::{BTreeMap, BTreeSet};

/// At most this many evidence ids per finding (the rest are in blast.json).
const MAX_EVIDENCE: usize = 20;

/// What one persistence-like call means.
struct Meaning {
    severity: Severity,
    kind: &'static str,
    what: String,
    techniques: &'static [&'static str],
}

fn is_admin_policy(arn: &str) -> bool {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    name == "AdministratorAccess" || name == "IAMFullAccess" || name == "PowerUserAccess"
}

/// The target (kind, name) of a call and its meaning. `ev` is the full event when loaded.
fn meaning(
    name: &str,
    policy: Option<&str>,
    target_hint: Option<&str>,
    failed: bool,
) -> Option<Meaning> {
    let m = |severity, kind, what: String, techniques| {
        Some(Meaning { severity, kind, what, techniques })
    };
    let pol = policy.unwrap_or("?");
    match name {
        "StopLogging" => {
            m(Severity::Critical, "logging_tampered", "logging stopped".into(), &["T1562.008"])
        }
        "DeleteTrail" => {
            m(Severity::Critical, "logging_tampered", "trail deleted".into(), &["T1562.008"])
        }
        "UpdateTrail" | "PutEventSelectors" => m(
            Severity::Critical,
            "logging_tampered",
            format!("{name}: what the trail records changed"),
            &["T1562.008"],
        ),
        "UpdateAssumeRolePolicy" => m(
            Severity::Critical,
            "trust_policy_changed",
            "trust policy changed (who may assume the role)".into(),
            &["T1484.002", "T1098.003"],
        ),
        "CreateSAMLProvider" | "CreateOpenIDConnectProvider" | "UpdateSAMLProvider" => m(
            Severity::Critical,
            "trust_policy_changed",
            format!("{name}: a new identity provider can federate in"),
            &["T1484.002"],
        ),
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy"
            if policy.is_some_and(is_admin_policy) =>
        {
            m(
                Severity::Critical,
                "admin_policy_attached",
                format!("admin policy {pol} attached"),
                &["T1098.003"],
            )
        }
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => {
            m(Severity::Medium, "persistence", format!("policy {pol} attached"), &["T1098.003"])
        }
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" => m(
            Severity::Medium,
            "persistence",
            format!("inline policy {pol} written"),
            &["T1098.003"],
        ),
        "CreatePolicyVersion" | "SetDefaultPolicyVersion" => m(
            Severity::High,
            "persistence",
            format!("{name}: a managed policy now grants something else"),
            &["T1098.003"],
        ),
        "AddUserToGroup" => m(
            Severity::Medium,
            "persistence",
            format!("user added to group {}", target_hint.unwrap_or("?")),
            &["T1098.003"],
        ),
        "CreateUser" => {
            m(Severity::High, "attacker_user", "IAM user created".into(), &["T1136.003"])
        }
        "CreateLoginProfile" | "UpdateLoginProfile" => {
            m(Severity::High, "persistence", "console password set".into(), &["T1098.001"])
        }
        "CreateAccessKey" => m(
            Severity::High,
            "persistence",
            format!("access key {} created", target_hint.unwrap_or("?")),
            &["T1098.001"],
        ),
        "UpdateAccessKey" => m(
            Severity::Low,
            "persistence",
            format!("access key {} status changed", target_hint.unwrap_or("?")),
            &["T1098.001"],
        ),
        "CreateServiceSpecificCredential" | "UploadSSHPublicKey" => m(
            Severity::High,
            "persistence",
            format!("{name}: a credential outside access keys"),
            &["T1098.001"],
        ),
        "CreateVirtualMFADevice" | "EnableMFADevice" => m(
            Severity::Medium,
            "persistence",
            format!("{name}: an MFA device the attacker holds"),
            &["T1556.006"],
        ),
        "CreateRole" => m(Severity::Medium, "persistence", "role created".into(), &["T1098.003"]),
        "CreateFunction20150331" => {
            m(Severity::High, "lambda_backdoor", "Lambda function created".into(), &["T1648"])
        }
        "UpdateFunctionCode20150331v2" => {
            m(Severity::High, "lambda_backdoor", "Lambda function code replaced".into(), &["T1648"])
        }
        "AddPermission20150331v2" => m(
            Severity::High,
            "lambda_backdoor",
            "Lambda resource policy opened (who may invoke it)".into(),
            &["T1648", "T1098"],
        ),
        "RunInstances" => {
            m(Severity::Medium, "persistence", "EC2 instances launched".into(), &["T1578.002"])
        }
        "ImportKeyPair" | "CreateKeyPair" => {
            m(Severity::Medium, "persistence", format!("{name}: SSH key pair"), &["T1098.004"])
        }
        "LeaveOrganization" => m(
            Severity::Critical,
            "defense_evasion",
            "account asked to leave its organization".into(),
            &["T1666"],
        ),
        "DeleteFlowLogs"
        | "DeleteDetector"
        | "DeleteConfigurationRecorder"
        | "StopConfigurationRecorder" => m(
            Severity::High,
            "logging_tampered",
            format!("{name}: monitoring removed"),
            &["T1562.008"],
        ),
        "GetPasswordData" | "GetSecretValue" | "BatchGetSecretValue" | "GetObject" if failed => {
            m(Severity::Medium, "data_read", format!("{name} refused"), &["T1552"])
        }
        _ => None,
    }
}

/// Target (`kind/name`) of a call from its fields. Unknown names stay `?`.
fn call_target(e: &Event) -> String {
    let q = &e.request;
    let trail = || {
        q.name
            .clone()
            .or_else(|| {
                e.resources
                    .iter()
                    .find(|r| r.contains(":trail/"))
                    .map(|r| r.rsplit('/').next().unwrap_or(r).to_string())
            })
            .unwrap_or_else(|| "?".into())
    };
    match e.source.as_str() {
        "cloudtrail.amazonaws.com" => return format!("trail/{}", trail()),
        "lambda.amazonaws.com" => {
            if let Some(f) = &q.function_name {
                return format!("function/{}", f.rsplit(':').next().unwrap_or(f));
            }
            if let Some(r) = e.resources.iter().find(|r| r.contains(":function:")) {
                return format!("function/{}", r.rsplit(':').next().unwrap_or(r));
            }
            return "function/?".into();
        }
        _ => {}
    }
    match e.name.as_str() {
        "CreateAccessKey" => format!(
            "user/{}",
            e.response
                .access_key_user
                .as_deref()
                .or(q.user_name.as_deref())
                .or(e.identity.user_name.as_deref())
                .unwrap_or("?")
        ),
        "CreateUser" => format!(
            "user/{}",
            e.response.user_name.as_deref().or(q.user_name.as_deref()).unwrap_or("?")
        ),
        "CreateLoginProfile" | "UpdateLoginProfile" => format!(
            "user/{}",
            e.response.login_profile_user.as_deref().or(q.user_name.as_deref()).unwrap_or("?")
        ),
        "AddUserToGroup" => format!("user/{}", q.user_name.as_deref().unwrap_or("?")),
        "RunInstances" => match &q.instance_id {
            Some(i) => format!("instance/{i}"),
            None => "ec2 instances".into(),
        },
        _ => {
            if let Some(r) = &q.role_name {
                format!("role/{r}")
            } else if let Some(g) = &q.group_name {
                format!("group/{g}")
            } else if let Some(u) = q.user_name.as_deref().or(e.identity.user_name.as_deref()) {
                format!("user/{u}")
            } else if let Some(b) = &q.bucket_name {
                format!("bucket/{b}")
            } else if let Some(r) = e.resources.first() {
                r.clone()
            } else {
                e.source.trim_end_matches(".amazonaws.com").to_string()
            }
        }
    }
}

/// The next step for a target, by its kind.
fn next_step_for(kind: &str, target: &str) -> String {
    let name = target.split_once('/').map_or(target, |x| x.1);
    match (kind, target.split('/').next().unwrap_or("")) {
        ("logging_tampered", _) => format!(
            "restore logging on {target} (aws cloudtrail start-logging / re-create the trail); treat the time after this call as unlogged"
        ),
        ("trust_policy_changed", "role") => format!(
            "compare the trust policy of role {name} with its last known-good version (aws iam get-role) and restore it; deny or delete external principals it now trusts"
        ),
        ("trust_policy_changed", _) => {
            format!("delete or verify the identity provider {target}")
        }
        ("admin_policy_attached", _) => {
            format!("detach the admin policy from {target}, then review what {target} did since")
        }
        ("attacker_user", _) => format!(
            "contain then delete user {name} (the plan's clean-up order: login profile, keys, policies, groups, MFA, user)"
        ),
        ("lambda_backdoor", _) => format!(
            "review the code, role and resource policy of {target}; delete it or remove the permission it was given"
        ),
        (_, "user") => format!("undo the changes to user {name} (keys, password, policies)"),
        (_, "role") => format!("review role {name}: its trust policy and policies; delete it if the attacker made it"),
        (_, "group") => format!("undo the changes to group {name}"),
        (_, "instance") | (_, "ec2 instances") => "review and terminate instances you do not know; their instance profiles hold credentials".into(),
        _ => format!("review and undo the change to {target}"),
    }
}

/// Group key of a finding about a target: (account, target).
type Key = (Option<String>, String);

#[derive(Default)]
struct Group {
    severity: Option<Severity>,
    kind: &'static str,
    /// Every kind seen, with its severity (the title names those of the top severity).
    kinds: BTreeSet<(Severity, &'static str)>,
    first: Option<String>,
    whats: Vec<String>,
    techniques: BTreeSet<String>,
    evidence: Vec<String>,
}

impl Group {
    fn add(&mut self, m: &Meaning, time: &str, event_id: &str) {
        if self.severity.is_none_or(|s| m.severity < s) {
            self.severity = Some(m.severity);
            self.kind = m.kind;
        }
        self.kinds.insert((m.severity, m.kind));
        if self.first.as_deref().is_none_or(|f| time < f) {
            self.first = Some(time.to_string());
        }
        if !self.whats.contains(&m.what) {
            self.whats.push(m.what.clone());
        }
        self.techniques.extend(m.techniques.iter().map(|t| t.to_string()));
        if !self.evidence.iter().any(|x| x == event_id) {
            self.evidence.push(event_id.to_string());
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
        b.tainted_events.iter().map(|e| (e.id.as_str(), e)).collect();

    leaked_key(b, plan, &mut out);

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
        let Some(m) = meaning(&p.event_name, policy, hint.as_deref(), false) else {
            continue;
        };
        groups.entry((p.account_id.clone(), target)).or_default().add(
            &m,
            &p.event_time,
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
        let since = crate::time::fmt_iso(u.since);
        let g = groups.entry(key).or_default();
        g.add(&m, &since, "");
        g.evidence.retain(|x| !x.is_empty());
        for e in &u.evidence {
            let id = e.rsplit(' ').next().unwrap_or(e).to_string();
            if !g.evidence.contains(&id) {
                g.evidence.push(id);
            }
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

/// The seed keys were used: the headline, with what the plan does about it.
fn leaked_key(b: &BlastRadius, plan: Option<&Plan>, out: &mut Vec<Finding>) {
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
                "apply the revocation plan (plan.sh, {} actions) after checking it: {} live tainted session(s) to deny, {} key(s) to deactivate",
                p.actions.len(),
                live,
                p.summary.keys_to_deactivate
            )
        }
        None => "run trailhound plan with the same --key to cut every live credential".into(),
    };
    out.push(Finding {
        severity: Severity::Critical,
        kind: "leaked_key_used".into(),
        title: format!("Leaked key used: {}", b.seeds.join(", ")),
        target: b.seeds.join(", "),
        account_id: (accounts.len() == 1).then(|| accounts.iter().next().unwrap().to_string()),
        time: b.first_event.clone(),
        detail,
        techniques: vec!["T1078.004".into()],
        next_step,
        evidence: b.seeds.clone(),
        failed: false,
    });
}

/// Instance-profile credentials used from another network: the role session to plan for.
fn stolen_instance_credentials(b: &BlastRadius, nodes: &[&Node], out: &mut Vec<Finding>) {
    for s in b.signals.iter().filter(|s| s.kind == "instance_credentials_used_elsewhere") {
        let arn = s.principal_arn.as_deref().unwrap_or(&s.credential);
        // Sessions of this role session (the instance rotates keys), oldest first.
        let mut sessions: Vec<&Node> = nodes
            .iter()
            .copied()
            .filter(|n| n.principal_arn.as_deref() == Some(arn) && n.access_key_id.is_some())
            .collect();
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
            time: offer.iter().filter_map(|n| n.first_seen).min().map(crate::time::fmt_iso),
            detail: s.detail.clone(),
            techniques: vec!["T1552.005".into(), "T1078.004".into()],
            next_step,
            evidence: keys,
            failed: false,
        });
    }
}

/// Data read, grouped by bucket or by kind of store.
fn data_read(b: &BlastRadius, out: &mut Vec<Finding>) {
    // (target, kind) -> (reads, first, resources)
    let mut m: BTreeMap<(String, &'static str), (u64, String, BTreeSet<&str>)> = BTreeMap::new();
    for d in &b.data_access {
        let (target, what) = match d.event_name.as_str() {
            "GetObject" => {
                let bucket = d
                    .resource
                    .strip_prefix("arn:aws:s3:::")
                    .map(|r| r.split('/').next().unwrap_or(r))
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
        let e = m.entry((target, what)).or_insert((0, d.first.clone(), BTreeSet::new()));
        e.0 += d.count;
        if d.first < e.1 {
            e.1 = d.first.clone();
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
        let sample: Vec<&str> = res
            .iter()
            .map(|r| r.rsplit(['/', ':']).find(|x| !x.is_empty()).unwrap_or(r))
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

/// Tainted credentials still valid when their account's evidence ends, per account.
fn unseen_tail(b: &BlastRadius, out: &mut Vec<Finding>) {
    let mut per: BTreeMap<Option<&str>, Vec<&crate::taint::TailRisk>> = BTreeMap::new();
    for t in &b.unseen_tail {
        per.entry(t.account_id.as_deref()).or_default().push(t);
    }
    for (account, list) in per {
        let ends = list.iter().filter_map(|t| t.evidence_ends.as_deref()).max();
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
            time: ends.map(str::to_string),
            detail: format!(
                "evidence ends {}; what they did since is not in the logs: {}{} ({})",
                ends.unwrap_or("(no logs)"),
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
fn missing_logs(b: &BlastRadius, out: &mut Vec<Finding>) {
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
fn failed_attempts(
    b: &BlastRadius,
    attempts: &[Attempt],
    events: &BTreeMap<&str, &Event>,
    out: &mut Vec<Finding>,
) {
    // (call, account, target) -> (meaning, first, errors, evidence)
    type Acc = (Meaning, String, BTreeSet<String>, Vec<String>);
    let mut m: BTreeMap<(String, Option<String>, String), Acc> = BTreeMap::new();
    let mut add = |name: &str,
                   account: Option<String>,
                   target: String,
                   mn: Meaning,
                   time: String,
                   error: Option<&str>,
                   id: &str| {
        let e = m
            .entry((name.to_string(), account, target))
            .or_insert_with(|| (mn, time.clone(), BTreeSet::new(), Vec::new()));
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
            crate::time::fmt_iso(e.time),
            e.error_code.as_deref(),
            &e.id,
        );
    }
    // Without the events loaded: the per-action error counts.
    if events.is_empty() {
        for a in b.actions.iter().filter(|a| a.errors > 0) {
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
    let tainted: BTreeSet<&str> =
        b.credentials.iter().filter_map(|c| c.access_key_id.as_deref()).collect();
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
            full.split_once(":role/"),
            full.split_once(":user/"),
        ) {
            (true, Some((_, rest)), _) => format!("role/{}", last(rest)),
            (true, None, Some((_, rest))) => format!("user/{}", last(rest)),
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
            crate::time::fmt_iso(a.event_time),
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
        let d = tempfile::TempDir::new().unwrap();
        s.write(&d.path().join("trail"), &[]).unwrap();
        let opts = crate::ingest::IngestOptions {
            inputs: vec![d.path().join("trail")],
            ..Default::default()
        };
        let ing = crate::ingest::ingest(&opts).unwrap();
        let g = SessionGraph::build(&ing);
        let b = crate::blast::blast(&ing, &g, &[LEAKED.to_string()], true).unwrap();
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
            user_arn: None,
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

    #[test]
    fn admin_policy_is_recognised_by_its_name_only() {
        assert!(is_admin_policy("arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(!is_admin_policy("arn:aws:iam::aws:policy/AdministratorAccessX"));
        assert!(!is_admin_policy("arn:aws:iam::aws:policy/ReadOnlyAccess"));
    }
}

//! Offline proof of a plan (SPEC §6): an independent auditor, not the plan's echo.
//!
//! What `verify` takes from the plan is only what the plan would *do*: its actions, and each
//! action only if its `command` (parsed as shell words) does exactly what the action says.
//! Everything else it derives itself from the seeds and the evidence:
//! * the tainted set, with the same rules as `blast` ([`crate::taint`]): issuance edges and
//!   attacker-made users;
//! * which live tainted credentials no IAM policy can cut: root's own key and what root itself
//!   minted (F11), service-linked roles (path `/aws-service-role/`, F6), Identity Center roles
//!   (path `/aws-reserved/sso.amazonaws.com/`, F20) — by facts, never by name prefix and never
//!   from the plan's `unrevocable` list, which has no authority here;
//! * the state IAM would be in once the actions have run, in order: inline policies put
//!   (a second `put` of the same name replaces the first, a `delete_user_policy` removes it),
//!   managed policies created by the plan and attached (an attach counts only for a policy an
//!   earlier `create_policy` of the plan makes: the content of any other is unknown here;
//!   `detach_user_policy` removes it), keys deactivated or deleted, users deleted. With the
//!   IAM snapshot (`--iam`), an inline `put` that the principal's other inline policies leave
//!   no room for (F8 limits their total) is one IAM would refuse: a command problem that
//!   denies nothing.
//!
//! Each session is then evaluated as IAM would: the inline and attached policies of the
//! principal that governs it (F7; a policy on role A never applies to a session of role B,
//! F5), with `aws:TokenIssueTime` = its issue time and `aws:userid` = its user id (F9); an
//! explicit deny wins. A role session whose id the evidence does not show carries
//! `ROLEID:session`: the role id comes from the snapshot when given, else it is unknown and
//! only a pattern that matches every role id there (`*:session`) proves coverage. Long-term keys carry no `aws:TokenIssueTime` (F5): they are cut only by deactivation,
//! deletion, a deny without that condition, or their user's deletion.

use super::guard::{grammar_iam_takes, sids_iam_takes, Backing, DenyShapes};
use super::{
    attach_target, expected_words, statement_matches, ActionKind, Blocker, Plan, TargetKind,
};
use crate::chain::{arn_account, session_expiry, NodeKind, SessionGraph};
use crate::escape::{is_unsafe_char, shell_words};
use crate::iam::role_key;
use crate::ingest::Ingest;
use crate::model::SeedKey;
use crate::time::{fmt_or, Time};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A user name and account an action names (either may be absent).
type UserAccount = (Option<String>, Option<String>);

/// One session in the verification report.
#[derive(Debug, Clone, Serialize)]
pub struct SessionVerdict {
    pub session: String,
    pub principal_arn: Option<String>,
    pub issued_at: Option<Time>,
    pub valid_until: Option<Time>,
    /// The policy that denies it (`principal_arn#policy_name`), or `deleted user …`.
    pub denied_by: Option<String>,
    /// For unrevocable credentials: why, and the remedy (verify's own judgement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How the reason of a root access key among [`Verification::unrevocable`] begins: a key, not a
/// session, so the one-line summary counts it with the keys (a review found "3 tainted
/// sessions: 1 covered, 3 unrevocable").
const ROOT_KEY: &str = "root access key";

fn is_root_key(s: &SessionVerdict) -> bool {
    s.reason.as_deref().is_some_and(|r| r.starts_with(ROOT_KEY))
}

/// An action whose command does not do what the action says (or does more).
#[derive(Debug, Clone, Serialize)]
pub struct CommandProblem {
    pub order: u32,
    #[serde(rename = "type")]
    pub kind: ActionKind,
    pub problem: String,
}

/// The `verify --format json` document.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub plan_schema: String,
    pub effective_at: Time,
    pub seeds: Vec<String>,
    pub tainted_sessions: u64,
    pub covered: Vec<SessionVerdict>,
    pub not_covered: Vec<SessionVerdict>,
    pub expired: Vec<SessionVerdict>,
    /// Live tainted credentials that no IAM policy can cut, as verify judges them from the
    /// evidence (root, service-linked and Identity Center roles), with their remedy. They do
    /// not fail the run by themselves.
    pub unrevocable: Vec<SessionVerdict>,
    /// Untainted sessions alive at `effective_at` that the plan also denies.
    pub collateral: Vec<SessionVerdict>,
    pub keys_deactivated: Vec<String>,
    /// Tainted keys neither deactivated nor deleted with their user, but cut by a deny-all on
    /// their user: they stay Active in IAM, and work again if that deny is taken off.
    pub keys_denied: Vec<String>,
    pub keys_left_active: Vec<String>,
    /// Actions whose `command` does not do exactly what the action says: not counted as done.
    pub command_problems: Vec<CommandProblem>,
    /// Users the attacker created or took over, as verify derives them.
    pub attacker_users: Vec<crate::taint::AttackerUser>,
    /// Per account, where the evidence ends (SPEC §9).
    pub evidence_window: Vec<crate::taint::EvidenceWindow>,
    /// Tainted credentials still valid when their account's evidence ends.
    pub unseen_tail: Vec<crate::taint::TailRisk>,
    /// The plan's precautionary actions (`--contain-reachable`), checked on their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precautionary: Option<PrecautionCheck>,
    /// When some input could not be read (files that failed, records rejected): what was not
    /// read, which may hold a call that issued or used a tainted credential. `ok` is then of
    /// what was read only, and the headline says INCOMPLETE rather than OK (exit 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
    /// `--script`: whether the script the responder will run is this plan's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptCheck>,
    /// True when every live tainted credential that can be cut is cut, and every command does
    /// what its action says (precautionary ones included); for a plan made with
    /// `--contain-reachable` and verified with `--iam`, also every reachable, unused role is
    /// denied; and all input was read (`unread` is none): a verdict over part of the evidence
    /// is never `ok` (automation reading `ok` alone is not told it passed).
    pub ok: bool,
    /// `OK`, `FAIL` (something is not cut, or a command is wrong) or `INCOMPLETE` (nothing
    /// wrong over what was read, but some input could not be: exit 3).
    pub verdict: &'static str,
    pub notes: Vec<String>,
    /// The keys the plan's principals act through on this trail ([`SessionGraph::seeds_of_principal`]):
    /// with the keys given, what the plan's seeds may be ([`Verification::check_inputs`]).
    #[serde(skip)]
    principal_keys: BTreeSet<String>,
}

impl Verification {
    /// Sets [`Verification::verdict`] from `ok` as worked out over what was read and
    /// `unread`, and `ok` to whether that is `OK`.
    fn settle(&mut self) {
        self.verdict = match (self.ok, &self.unread) {
            (false, _) => "FAIL",
            (true, Some(_)) => "INCOMPLETE",
            (true, None) => "OK",
        };
        self.ok = self.verdict == "OK";
    }

    /// A FAIL whatever else was found (a window that cannot show every credential is cut).
    pub fn fail(&mut self) {
        self.ok = false;
        self.verdict = "FAIL";
    }

    /// Holds the plan to what the responder names beside it: `script`, the path and text of
    /// the plan.sh they will run, must be byte for byte the script of this plan as `plan
    /// --script` writes it (verify proves plan.json, and a script edited by hand, or left
    /// from an earlier run, would apply something else under its OK); `keys`, the leaked keys
    /// they mean, must be the plan's seeds (a plan made for another key proves nothing of this
    /// one). Either mismatch is a FAIL.
    pub fn check_inputs(&mut self, plan: &Plan, script: Option<(&str, &str)>, keys: &[String]) {
        let l = crate::escape::one_line;
        match script {
            Some((path, text)) => {
                let want = super::script::render_script(plan);
                // The script as plan.sh asks to run it: its guard (the line that says to delete
                // it, and the `exit 1` below it) taken out, and nothing else.
                let run = want.replacen(super::script::GUARD, "", 1);
                // Told against the form the script is in (guard kept, or taken out as asked),
                // so the first difference named is the change, not the guard.
                let base = if text.contains(super::script::GUARD) { &want } else { &run };
                let difference =
                    first_difference(&want, text).and_then(|_| first_difference(base, text));
                if let Some(d) = &difference {
                    self.fail();
                    self.notes.push(format!("the script {} is NOT this plan's ({d}): do not run it; write it again from this plan (trailhound plan … -o plan.json --script plan.sh) and verify both", l(path)));
                }
                self.script =
                    Some(ScriptCheck { path: path.to_string(), matches: difference.is_none(), difference });
            }
            None => self.notes.push("the script was not checked: give it with --script plan.sh to prove that what you will run is this plan, byte for byte".into()),
        }
        // The keys (as `plan --key` reads them) and principal ARNs given must be those the plan
        // is for: no more, and no fewer (a plan for one more key deactivates that key too). A
        // plan made for principals holds their keys among its seeds: the principals must be
        // the same, each key given one of its seeds, and each of its seeds a key given or one
        // the principals act through on this trail (a review: a plan made for a user's ARN and
        // a colleague's innocent key passed `verify -k ARN`, which deactivated that key too).
        let (given_principals, given_keys): (Vec<&String>, Vec<&String>) =
            keys.iter().partition(|k| k.trim().starts_with("arn:"));
        let given_keys: BTreeSet<String> = given_keys.iter().map(|k| SeedKey::spelled(k)).collect();
        let lower = |v: &mut dyn Iterator<Item = &String>| -> BTreeSet<String> {
            v.map(|p| p.trim().to_ascii_lowercase()).collect()
        };
        let seeds: BTreeSet<String> = plan.seeds.iter().map(|s| s.trim().to_string()).collect();
        let same = if plan.seed_principals.is_empty() {
            given_principals.is_empty() && given_keys == seeds
        } else {
            lower(&mut given_principals.into_iter()) == lower(&mut plan.seed_principals.iter())
                && given_keys.is_subset(&seeds)
                && seeds.iter().all(|s| given_keys.contains(s) || self.principal_keys.contains(s))
        };
        if !keys.is_empty() && !same {
            self.fail();
            self.notes.push(format!(
                "the plan was made for {}, not for the key(s) given ({}): it proves nothing of them",
                l(&plan.seeds.join(", ")),
                l(&keys.join(", "))
            ));
        }
    }
}

/// `verify --script` (issue: verify proved plan.json while the script run was never read).
#[derive(Debug, Clone, Serialize)]
pub struct ScriptCheck {
    pub path: String,
    /// The script is byte for byte the plan's.
    pub matches: bool,
    /// Where it first differs, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<String>,
}

/// Where `found` first differs from `want`, line by line, or `None` when they are the same bytes.
fn first_difference(want: &str, found: &str) -> Option<String> {
    if want == found {
        return None;
    }
    let short = |s: &str| {
        let s = crate::escape::one_line(s.strip_suffix('\n').unwrap_or(s));
        match s.char_indices().nth(100) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.into_owned(),
        }
    };
    let (mut w, mut f) = (want.split_inclusive('\n'), found.split_inclusive('\n'));
    for line in 1.. {
        match (w.next(), f.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) if a.trim_end_matches(['\n', '\r']) == b.trim_end_matches(['\n', '\r']) => {
                return Some(format!("line {line} ends otherwise than the plan's (a carriage return, or no newline at the end)"))
            }
            (Some(a), Some(b)) => {
                return Some(format!("line {line} is `{}`, the plan's is `{}`", short(b), short(a)))
            }
            (Some(a), None) => {
                return Some(format!("it ends before line {line}, the plan's `{}`", short(a)))
            }
            (None, Some(b)) => {
                return Some(format!("its line {line} `{}` is not in the plan's", short(b)))
            }
            (None, None) => break,
        }
    }
    Some("it differs".into())
}

/// What `verify` says of the precautionary actions (issue #20).
#[derive(Debug, Serialize)]
pub struct PrecautionCheck {
    /// How many the plan holds.
    pub actions: usize,
    /// True when verify recomputed what the unseen tail could reach from an IAM snapshot
    /// (`verify --iam`); otherwise only the commands were checked.
    pub checked_against_snapshot: bool,
    /// Reachable roles not used in the evidence that a deny covers (sessions issued before the
    /// cut-off), and those it does not.
    pub reachable_roles_denied: Vec<String>,
    pub reachable_roles_not_denied: Vec<String>,
    /// Reachable roles no IAM policy can deny (service-linked, F6; Identity Center, F20).
    pub reachable_roles_unrevocable: Vec<String>,
    /// Principals of the unseen tail the snapshot does not hold: what they could reach is
    /// unknown, so a plan made with `--contain-reachable` cannot have contained it (fails).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub principals_not_in_snapshot: Vec<String>,
    /// Precautionary actions whose command does not do what the action says, or that do more
    /// than deny or review.
    pub command_problems: Vec<CommandProblem>,
}

/// Applies the precautionary actions to `state` (IAM once the evidence-based actions have
/// run) as plan.sh runs them, last: a precautionary put of the same policy name on the same
/// principal replaces an evidence deny. Returns the problems of those whose command does not
/// check out, or that do more than deny sessions of a role or ask for a review.
fn apply_precautions(
    plan: &Plan,
    state: &mut Denies,
    iam: Option<&crate::contain::Iam>,
) -> Vec<CommandProblem> {
    let mut problems = Vec::new();
    for a in &plan.precautionary {
        let problem = match a.kind {
            ActionKind::PutRolePolicy
            | ActionKind::CreatePolicy
            | ActionKind::AttachRolePolicy
            | ActionKind::Review => check_action(a).and_then(|()| state.apply(a, iam)).err(),
            _ => Some(
                "a precautionary action may only deny sessions of a role or ask for a review"
                    .into(),
            ),
        };
        if let Some(problem) = problem {
            problems.push(CommandProblem { order: a.order, kind: a.kind.clone(), problem });
        }
    }
    problems
}

/// The verdict on the precautionary actions, given IAM's `state` once every action has run
/// ([`apply_precautions`]) and their problems: with a snapshot, whether they deny every
/// sessions issued before the cut-off of every reachable role (issue #20).
fn check_precautions(
    plan: &Plan,
    reach: Option<&crate::contain::Reachable>,
    state: &Denies,
    command_problems: Vec<CommandProblem>,
    eff: i64,
) -> PrecautionCheck {
    let mut c = PrecautionCheck {
        actions: plan.precautionary.len(),
        checked_against_snapshot: reach.is_some(),
        reachable_roles_denied: Vec::new(),
        reachable_roles_not_denied: Vec::new(),
        reachable_roles_unrevocable: Vec::new(),
        principals_not_in_snapshot: Vec::new(),
        command_problems,
    };
    let Some(reach) = reach else { return c };
    c.principals_not_in_snapshot = reach
        .principals
        .iter()
        .filter(|p| !p.in_snapshot && !p.upper_bound)
        .map(|p| p.principal.clone())
        .collect();
    // Every reachable role, used in the evidence or not: a used one is contained only by a
    // deny of every session issued before the cut-off (a surgical deny names the logged
    // sessions alone), which its evidence deny may be.
    for r in &reach.roles {
        if r.kind != "ordinary" {
            if !r.used {
                c.reachable_roles_unrevocable.push(r.arn.clone());
            }
            continue;
        }
        // Denied: a policy on the role denies every session issued before the cut-off.
        let covered = role_key(&r.arn).is_some_and(|(acct, name)| {
            state.on.get(&on_key(TargetKind::Role, name, acct)).is_some_and(|m| {
                m.values().any(|(_, stmts)| {
                    stmts.iter().any(|st| statement_matches(st, Some(eff - 1), None))
                })
            })
        });
        if covered {
            c.reachable_roles_denied.push(r.arn.clone());
        } else {
            c.reachable_roles_not_denied.push(r.arn.clone());
        }
    }
    c
}

/// The words of one command line, or why it is not one plain command.
fn command_words(command: &str) -> Result<Vec<Vec<String>>, String> {
    let mut out = Vec::new();
    for line in command.split('\n') {
        let t = line.trim_start();
        if t.is_empty() {
            continue;
        }
        if t.starts_with('#') {
            if line.chars().any(is_unsafe_char) {
                return Err("a comment line carries a control character".into());
            }
            continue;
        }
        match shell_words(line) {
            Some(w) if !w.is_empty() => out.push(w),
            Some(_) => {}
            None => {
                return Err(format!(
                    "{:?} is not one plain command (shell syntax the planner never writes)",
                    crate::escape::one_line(line)
                ))
            }
        }
    }
    Ok(out)
}

/// The kind of principal a deny action is put on or attached to (`None`: not such an action).
fn principal_kind(kind: &ActionKind) -> Option<TargetKind> {
    match kind {
        ActionKind::PutRolePolicy | ActionKind::AttachRolePolicy => Some(TargetKind::Role),
        ActionKind::PutUserPolicy | ActionKind::AttachUserPolicy => Some(TargetKind::User),
        _ => None,
    }
}

/// Checks that an action's command performs exactly the action (SPEC §6).
/// The partitions the trail's own ARNs show for each account (`arn:aws-cn:…:111122223333:…`).
fn account_partitions(g: &SessionGraph) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for n in &g.nodes {
        for arn in [&n.principal_arn, &n.role_arn, &n.user_arn].into_iter().flatten() {
            if let (Some(acct), Some(p)) = (arn_account(arn), crate::chain::arn_partition(arn)) {
                seen.entry(acct).or_default().insert(p);
            }
        }
    }
    seen
}

/// An IAM ARN the action names in an account whose ARNs in the trail are all of another
/// partition: in aws-cn or aws-us-gov no principal or policy is `arn:aws:`, so IAM refuses
/// the put or attach and its deny is never in force. Checked against the evidence, not
/// against the plan's own ARNs (which agree with each other however they were built).
fn check_partition(a: &super::Action, seen: &BTreeMap<&str, BTreeSet<&str>>) -> Result<(), String> {
    for arn in [&a.principal_arn, &a.policy_arn].into_iter().flatten() {
        let Some(known) = arn_account(arn).and_then(|acct| seen.get(acct)) else {
            continue;
        };
        let p = super::commands::partition_of(arn);
        if !known.contains(p) {
            let known: Vec<&str> = known.iter().copied().collect();
            return Err(format!(
                "{} is in partition {p}, but the trail's ARNs of its account are in {}: IAM there would refuse it",
                crate::escape::one_line(arn),
                known.join(", ")
            ));
        }
    }
    Ok(())
}

fn check_action(a: &super::Action) -> Result<(), String> {
    let lines = command_words(&a.command)?;
    if a.kind == ActionKind::Review {
        return match lines.is_empty() {
            true => Ok(()),
            false => Err("a review item must not run anything".into()),
        };
    }
    if a.kind == ActionKind::ResourcePolicyDeny {
        return match lines.is_empty() {
            true => Ok(()),
            false => Err("a resource_policy_deny must be a comment: put-bucket-policy (or any put of a resource policy) replaces the whole policy, so the statement is merged by hand".into()),
        };
    }
    // The name of a policy the action makes (a name to remove is the evidence's own).
    let makes = matches!(
        a.kind,
        ActionKind::PutRolePolicy | ActionKind::PutUserPolicy | ActionKind::CreatePolicy
    );
    if let Some(name) = a.policy_name.as_deref().filter(|_| makes) {
        if !crate::escape::is_iam_policy_name(name) {
            return Err(format!(
                "IAM refuses the policy name {:?} (1 to 128 of A-Z a-z 0-9 +=,.@_-)",
                crate::escape::one_line(name)
            ));
        }
    }
    if let Some(doc) = &a.policy_document {
        grammar_iam_takes(doc)?;
        sids_iam_takes(doc)?;
    }
    let Some(expected) = expected_words(a) else {
        return Err(format!(
            "verify does not know what a {:?} action with these fields does",
            a.kind.as_str()
        ));
    };
    match lines.as_slice() {
        [one] if *one == expected => {}
        [one] => {
            let diff: Vec<String> = one
                .iter()
                .zip(&expected)
                .filter(|(x, y)| x != y)
                .map(|(x, y)| {
                    format!("{:?} where the action says {:?}", crate::escape::one_line(x), y)
                })
                .take(3)
                .collect();
            return Err(if diff.is_empty() {
                format!("the command has {} words, the action {}", one.len(), expected.len())
            } else {
                format!("the command says {}", diff.join("; "))
            });
        }
        [] => return Err("no command".into()),
        _ => return Err("more than one command".into()),
    }
    if a.kind == ActionKind::CreatePolicy {
        let name = a.policy_name.as_deref().unwrap_or("");
        let acct = a.account_id.as_deref().unwrap_or("");
        // The partition is the account's, which the action does not name: any known one.
        let partition = super::commands::partition_of(a.policy_arn.as_deref().unwrap_or(""));
        let want = format!("arn:{partition}:iam::{acct}:policy/{name}");
        if a.policy_arn.as_deref() != Some(want.as_str()) {
            return Err(format!(
                "create-policy makes {want}, not the policy_arn {:?} the action names",
                crate::escape::one_line(a.policy_arn.as_deref().unwrap_or(""))
            ));
        }
        let size = a.policy_document.as_ref().map(super::policy_size).unwrap_or(0);
        if size > super::precaution::MANAGED_POLICY_LIMIT {
            return Err(format!(
                "the managed policy has {size} characters, over IAM's {} (F8): create-policy would be refused",
                super::precaution::MANAGED_POLICY_LIMIT
            ));
        }
    }
    if matches!(a.kind, ActionKind::AttachRolePolicy | ActionKind::AttachUserPolicy) {
        let (policy, principal) =
            (a.policy_arn.as_deref().unwrap_or(""), a.principal_arn.as_deref().unwrap_or(""));
        let (pp, qp) =
            (super::commands::partition_of(policy), super::commands::partition_of(principal));
        if pp != qp {
            return Err(format!(
                "the policy {} is in partition {pp} and the principal in {qp}: IAM would refuse the attach",
                crate::escape::one_line(policy)
            ));
        }
    }
    if matches!(a.kind, ActionKind::AttachRolePolicy | ActionKind::AttachUserPolicy)
        && a.policy_arn.as_deref().and_then(arn_account) != a.account_id.as_deref()
    {
        return Err(format!(
            "the action names account {} but the policy {} is in another",
            a.account_id.as_deref().unwrap_or("?"),
            crate::escape::one_line(a.policy_arn.as_deref().unwrap_or(""))
        ));
    }
    if let Some(kind) = principal_kind(&a.kind) {
        let arn = a.principal_arn.as_deref().unwrap_or("");
        let want = if kind == TargetKind::Role { "role/" } else { "user/" };
        if !crate::chain::arn_is(arn, want) {
            return Err(format!("{} on {arn}, which is not a {}", a.kind, &want[..want.len() - 1]));
        }
        if arn_account(arn) != a.account_id.as_deref() {
            return Err(format!(
                "the action names account {} but the principal {arn} is in another",
                a.account_id.as_deref().unwrap_or("?")
            ));
        }
    }
    Ok(())
}

/// The deny policies IAM holds once the plan's actions have run, in order, as verify
/// rebuilds them from each action's own fields: inline policies by name, and the managed
/// policies the plan creates where they are attached.
/// One principal's deny policies: inline name, or `managed:` ARN → (label, statements).
type PolicySet = BTreeMap<String, (String, Vec<serde_json::Value>)>;

#[derive(Default)]
struct Denies {
    /// (kind, principal name, account) → policy (inline name, or `managed:` ARN) →
    /// (label, statements).
    on: BTreeMap<(TargetKind, String, String), PolicySet>,
    /// Managed policies created by the plan: ARN → statements.
    managed: BTreeMap<String, Vec<serde_json::Value>>,
    /// The same, every statement ([`all_statements`]): what [`DenyShapes`] checks.
    managed_all: BTreeMap<String, Vec<serde_json::Value>>,
    /// The characters of each inline policy the plan has put so far, by principal (as
    /// [`Denies::on`]) and policy name: one principal's inline policies share its budget (F8),
    /// those the plan puts too (a review: an evidence deny and a precautionary one on one role
    /// were each held to the room alone, and IAM refused the second).
    inline: BTreeMap<(TargetKind, String, String), BTreeMap<String, usize>>,
    /// The inline policies the trail shows tainted credentials put (F8's room, with the
    /// snapshot's).
    trail: super::TrailRooms,
    /// What each deny is held to ([`DenyShapes`]).
    shapes: Option<DenyShapes>,
}

/// What an action removes from its user, as [`left_on_user`] names it; `None` for an action
/// that removes nothing DeleteUser would refuse over.
fn removal(a: &super::Action) -> Option<String> {
    Some(match a.kind {
        ActionKind::DeleteAccessKey => format!("access key {}", a.access_key_id.as_deref()?),
        ActionKind::DeleteLoginProfile => "console password".to_string(),
        ActionKind::DeleteUserPolicy => format!("inline policy {}", a.policy_name.as_deref()?),
        ActionKind::DetachUserPolicy => format!("policy {}", a.policy_arn.as_deref()?),
        ActionKind::RemoveUserFromGroup => format!("group {}", a.group_name.as_deref()?),
        ActionKind::PutUserPolicy => format!("+inline policy {}", a.policy_name.as_deref()?),
        _ => return None,
    })
}

/// What DeleteUser would refuse over that the evidence (or the plan itself) puts on `user` and
/// the plan did not remove before it: its keys the evidence shows (deleted, not only
/// deactivated), a console password a tainted credential set, the inline and managed policies
/// the trail shows tainted credentials or the attacker's users put on it (`shown`), inline
/// policies the plan put. Each under the name the user has at the end of the trail. (Groups
/// are not in the graph: plan.sh puts the deny-all back when DeleteUser fails over one.) What
/// no action can remove, because the evidence does not name it, is never removed: a key made
/// for it whose id the logs do not show, and an MFA device, SSH key, service-specific
/// credential or signing certificate a tainted credential gave it.
fn left_on_user(
    g: &SessionGraph,
    user: &(String, String),
    user_keys: &BTreeMap<(String, String), Vec<&str>>,
    grants: &[&crate::chain::UserGrant],
    shown: &super::TrailRooms,
    found: &[crate::blast::Persistence],
    removed: &BTreeSet<(String, String, String)>,
) -> Vec<String> {
    let mut need: BTreeSet<String> = BTreeSet::new();
    let named = |acct: &str, name: &str, at: Option<i64>| {
        acct == user.0 && g.user_name_now(acct, name, at).eq_ignore_ascii_case(&user.1)
    };
    for k in &g.unnamed_keys {
        if named(&k.account_id, &k.user_name, Some(k.time)) {
            need.insert(format!(
                "the access key made at {} whose id the logs do not show",
                crate::time::fmt_iso(k.time)
            ));
        }
    }
    for p in found.iter().filter(|p| super::BLOCKS_DELETE_USER.contains(&p.event_name.as_str())) {
        if let (Some(a), Some(u)) = (p.account_id.as_deref(), p.user_name.as_deref()) {
            if named(a, u, Some(p.event_time.secs())) {
                need.insert(format!("what {} {} gave it", p.event_name, p.event_id));
            }
        }
    }
    for k in user_keys.get(user).into_iter().flatten() {
        need.insert(format!("access key {k}"));
    }
    if grants.iter().any(|gr| {
        gr.event_name.ends_with("LoginProfile")
            && gr.account_id == user.0
            && g.user_name_now(&gr.account_id, &gr.user_name, Some(gr.time))
                .eq_ignore_ascii_case(&user.1)
    }) {
        need.insert("console password".to_string());
    }
    let (inline, attached) = shown.user_policies(&user.0, &user.1);
    need.extend(inline.into_iter().map(|p| format!("inline policy {p}")));
    need.extend(attached.into_iter().map(|p| format!("policy {p}")));
    let mine = |what: &str| removed.contains(&(user.0.clone(), user.1.clone(), what.to_string()));
    for (acct, u, what) in removed {
        if let Some(name) = what.strip_prefix("+inline policy ") {
            if (acct, u) == (&user.0, &user.1) {
                need.insert(format!("inline policy {name}"));
            }
        }
    }
    need.into_iter()
        .filter(|w| !mine(w))
        .map(|w| crate::escape::one_line(&w).into_owned())
        .collect()
}

/// The statements of a policy document. In a document that is not of version 2012-10-17
/// (the one the plan writes) IAM reads `${` literally, not as the escapes and variables the
/// offline match reads ([`super::policy::glob_match`]): such a statement proves nothing.
/// Every statement of a policy document, as IAM reads it (one, or a list).
fn all_statements(doc: Option<&serde_json::Value>) -> Vec<serde_json::Value> {
    match doc.and_then(|d| d.get("Statement")) {
        Some(serde_json::Value::Array(v)) => v.clone(),
        Some(v @ serde_json::Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

pub(super) fn statements(doc: Option<&serde_json::Value>) -> Vec<serde_json::Value> {
    let mut v = match doc.and_then(|d| d.get("Statement")) {
        Some(serde_json::Value::Array(v)) => v.clone(),
        Some(v @ serde_json::Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    };
    if doc.and_then(|d| d.get("Version")).and_then(serde_json::Value::as_str) != Some("2012-10-17")
    {
        v.retain(|s| !s.to_string().contains("${"));
    }
    v
}

/// The key of a principal's policies in [`Denies::on`]: IAM names a role or user without
/// regard to case (`Admin` and `admin` are one role), so a put on either spelling replaces a
/// put of the same policy name on the other.
pub(super) fn on_key(kind: TargetKind, name: &str, account: &str) -> (TargetKind, String, String) {
    (kind, name.to_ascii_lowercase(), account.to_string())
}

impl Denies {
    /// Whether a deny the plan puts on the role or user `name` of `account` matches every
    /// session and key of it, whenever issued (no condition it could fail): what cuts the
    /// attacker's users and roles.
    fn deny_every_session(&self, kind: TargetKind, name: &str, account: &str) -> bool {
        self.on
            .get(&on_key(kind, name, account))
            .is_some_and(|m| m.values().any(|(_, st)| super::policy::any_matches(st, None, None)))
    }

    /// Applies one action whose command checked out. `Err`: IAM would refuse it (with the
    /// snapshot: an inline deny the principal's other inline policies leave no room for, F8),
    /// or the planner never writes it ([`DenyShapes`]; an attach of a policy the plan does not
    /// create).
    fn apply(
        &mut self,
        a: &super::Action,
        iam: Option<&crate::contain::Iam>,
    ) -> Result<(), String> {
        let acct = a.account_id.clone().unwrap_or_default();
        let principal = a.principal_arn.as_deref().unwrap_or("");
        let name = principal.rsplit('/').next().unwrap_or("").to_string();
        if principal_kind(&a.kind) == Some(TargetKind::Role) {
            let kind = iam.and_then(|i| i.snapshot.role(principal)).map(|r| r.kind);
            if let Some(
                k @ (crate::iam::RoleKind::ServiceLinked | crate::iam::RoleKind::IdentityCenter),
            ) = kind
            {
                return Err(format!(
                    "IAM would refuse it: the IAM snapshot shows {principal} is {} ({})",
                    if k == crate::iam::RoleKind::ServiceLinked {
                        "a service-linked role"
                    } else {
                        "an IAM Identity Center role"
                    },
                    if k == crate::iam::RoleKind::ServiceLinked { "F6" } else { "F20" }
                ));
            }
        }
        match a.kind {
            ActionKind::PutRolePolicy | ActionKind::PutUserPolicy => {
                let kind = principal_kind(&a.kind).unwrap_or(TargetKind::User);
                let size = a.policy_document.as_ref().map(super::policy_size).unwrap_or(0);
                let pname = a.policy_name.clone().unwrap_or_default();
                // The plan's own other inline policies on the principal, put before this one.
                let mine = self.inline.entry(on_key(kind, &name, &acct)).or_default();
                let planned: usize = mine
                    .iter()
                    .filter(|(n, _)| **n != pname && !super::room::in_snapshot(a, iam, n))
                    .map(|(_, s)| *s)
                    .sum();
                let also = match planned {
                    0 => String::new(),
                    n => format!(" beside the {n} of the plan's other inline policies on it"),
                };
                // Over the principal's whole inline budget whatever else it holds (F8).
                let limit = super::inline_limit(kind == TargetKind::Role);
                if size.saturating_add(planned) > limit {
                    return Err(format!(
                        "IAM would refuse it (LimitExceeded): this deny has {size} characters{also}, over the {limit} that all inline policies of {principal} may hold together (F8)"
                    ));
                }
                if let Some(room) = super::room::room(a, iam, &self.trail) {
                    if room.used.saturating_add(planned).saturating_add(size) > room.limit {
                        return Err(format!(
                            "IAM would refuse it: this deny has {size} characters{also}, and for {principal} {}",
                            room.why
                        ));
                    }
                }
                let stmts = statements(a.policy_document.as_ref());
                if let Some(shapes) = &self.shapes {
                    shapes.version(a.policy_document.as_ref())?;
                    // A put replaces the principal's inline policy of that name: the planner
                    // names its own `Trailhound…` (a review renamed a deny after a guardrail
                    // the role held, which IAM would have replaced).
                    if !pname.starts_with("Trailhound") {
                        return Err(format!(
                            "it puts the inline policy {}, a name the planner never gives (its are Trailhound…): IAM replaces the principal's policy of that name (a plan.json edited by hand?)",
                            crate::escape::one_line(&pname)
                        ));
                    }
                    // Every statement, those `statements` leaves out as proving nothing too.
                    shapes
                        .check((kind, &name, &acct), &all_statements(a.policy_document.as_ref()))?;
                }
                mine.insert(pname.clone(), size);
                let label = format!("{principal}#{pname}");
                // A put with the same policy name replaces the earlier one.
                self.on
                    .entry(on_key(kind, &name, &acct))
                    .or_default()
                    .insert(pname, (label, stmts));
            }
            ActionKind::CreatePolicy => {
                let name = a.policy_arn.as_deref().and_then(|arn| arn.rsplit('/').next());
                // (Policy names are unique whatever their case.)
                if a.policy_arn
                    .as_ref()
                    .is_some_and(|arn| self.managed.keys().any(|k| k.eq_ignore_ascii_case(arn)))
                {
                    return Err(format!(
                        "IAM would refuse it (EntityAlreadyExists): an earlier action of the plan creates {} (plan.sh then skips the attach that follows)",
                        crate::escape::one_line(a.policy_arn.as_deref().unwrap_or(""))
                    ));
                }
                let in_snapshot = iam.is_some_and(|i| {
                    i.snapshot.policies.keys().any(|p| {
                        arn_account(p) == Some(acct.as_str())
                            && name.is_some_and(|n| {
                                p.rsplit('/').next().is_some_and(|q| q.eq_ignore_ascii_case(n))
                            })
                    })
                });
                if in_snapshot {
                    return Err(format!(
                        "IAM would refuse it (EntityAlreadyExists): the IAM snapshot shows a policy named {} in account {acct}, whose document this plan did not write",
                        crate::escape::one_line(name.unwrap_or(""))
                    ));
                }
                if name.is_some_and(|n| self.trail.made_policy(&acct, n)) {
                    return Err(format!(
                        "IAM would refuse it (EntityAlreadyExists): the trail shows a CreatePolicy of the name {} in account {acct}, whose document this plan did not write (plan.sh then skips its attach)",
                        crate::escape::one_line(name.unwrap_or(""))
                    ));
                }
                if let Some(shapes) = &self.shapes {
                    shapes.version(a.policy_document.as_ref())?;
                }
                if let Some(arn) = &a.policy_arn {
                    self.managed.insert(arn.clone(), statements(a.policy_document.as_ref()));
                    self.managed_all
                        .insert(arn.clone(), all_statements(a.policy_document.as_ref()));
                }
            }
            ActionKind::AttachRolePolicy | ActionKind::AttachUserPolicy => {
                let kind = principal_kind(&a.kind).unwrap_or(TargetKind::User);
                let arn = a.policy_arn.clone().unwrap_or_default();
                // F8: 10 managed policies attached to one principal by default. Those the
                // trail shows tainted credentials attached, or the snapshot shows, and this
                // plan's own attaches before this one count.
                let role = kind == TargetKind::Role;
                let snap = iam.and_then(|i| {
                    let p = a.principal_arn.as_deref()?;
                    Some(if role {
                        &i.snapshot.role(p)?.attached[..]
                    } else {
                        &i.snapshot.user(p)?.attached[..]
                    })
                });
                let already = self.trail.attached_with(&acct, role, &name, snap.unwrap_or(&[]));
                let this = format!("managed:{arn}");
                let planned = self.on.get(&on_key(kind, &name, &acct)).map_or(0, |m| {
                    m.keys().filter(|k| k.starts_with("managed:") && **k != this).count()
                });
                let quota = super::precaution::ATTACHED_POLICY_QUOTA;
                if already + planned + 1 > quota {
                    return Err(format!(
                        "IAM would refuse it (LimitExceeded): {principal} would have more than the {quota} managed policies one principal may have attached by default (F8: {already} already, {planned} attached by this plan before)"
                    ));
                }
                match self.managed.get(&arn) {
                    Some(stmts) => {
                        if let (Some(shapes), Some(all)) = (&self.shapes, self.managed_all.get(&arn)) {
                            shapes.check((kind, &name, &acct), all)?;
                        }
                        let label = format!("{principal}#{arn}");
                        let v = (label, stmts.clone());
                        self.on.entry(on_key(kind, &name, &acct)).or_default().insert(this, v);
                    }
                    // The planner attaches only the policies it creates: any other (an
                    // existing one may allow anything) is a hand edit (a review: an attach
                    // of an admin policy verified OK, with a note that it covered nothing).
                    None => {
                        return Err(format!(
                            "it attaches {}, which no earlier action of the plan creates: the planner attaches only the deny policies it creates (an existing policy may allow anything; a plan.json edited by hand?)",
                            crate::escape::one_line(&arn)
                        ))
                    }
                }
            }
            ActionKind::DeleteUserPolicy => {
                if let (Some(u), Some(p)) = (&a.user_name, &a.policy_name) {
                    if let Some(m) = self.on.get_mut(&on_key(TargetKind::User, u, &acct)) {
                        m.remove(p);
                    }
                    if let Some(m) = self.inline.get_mut(&on_key(TargetKind::User, u, &acct)) {
                        m.remove(p);
                    }
                }
            }
            ActionKind::DetachUserPolicy => {
                if let (Some(u), Some(p)) = (&a.user_name, &a.policy_arn) {
                    if let Some(m) = self.on.get_mut(&on_key(TargetKind::User, u, &acct)) {
                        m.remove(&format!("managed:{p}"));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The IAM user (account, name) a credential node acts as, when it is an IAM user's.
pub(super) fn user_of(g: &SessionGraph, n: usize) -> Option<(String, String)> {
    crate::taint::user_of(g, n).map(|(a, u)| (a.to_string(), u.to_string()))
}

/// The account and name of the IAM user whose `GetFederationToken` made a federated session.
fn federated_users_user(node: &crate::chain::Node) -> Option<(String, String)> {
    if node.principal_type.as_deref() != Some("FederatedUser") {
        return None;
    }
    let arn = node.user_arn.as_deref()?;
    let rest = crate::chain::after_segment(arn, "user/")?;
    Some((arn_account(arn)?.to_string(), rest.rsplit('/').next().unwrap_or(rest).to_string()))
}

/// Verifies `plan` against the trail.
///
/// # Errors
/// A plan whose schema is not understood (an `effective_at` that is not a time is refused
/// when the plan is read).
#[cfg(test)]
pub fn verify(ing: &Ingest, g: &SessionGraph, plan: &Plan) -> anyhow::Result<Verification> {
    verify_with(ing, g, plan, None)
}

/// [`verify`], with the IAM snapshot given to `verify --iam`: what the unseen tail could reach
/// is recomputed from it and the plan's precautionary actions are held against it.
///
/// # Errors
/// As [`verify`].
pub fn verify_with(
    ing: &Ingest,
    g: &SessionGraph,
    plan: &Plan,
    iam: Option<&crate::contain::Iam>,
) -> anyhow::Result<Verification> {
    if plan.schema != super::SCHEMA {
        anyhow::bail!("unsupported plan schema {:?} (expected {})", plan.schema, super::SCHEMA);
    }
    let eff = plan.effective_at.secs();
    let mut seeds: Vec<SeedKey> = plan.seeds.iter().map(|s| SeedKey::parse(s)).collect();
    // A plan made for a principal: its credentials on this trail, which may show more of them
    // than the plan's (another key of the same user in logs delivered since). From the plan's
    // keys alone, a later trail's other key and the sessions it took went unjudged: OK.
    let mut more_of_principals = Vec::new();
    let mut principal_keys = BTreeSet::new();
    for p in &plan.seed_principals {
        let found = g.seeds_of_principal(p).map_err(|e| {
            anyhow::anyhow!("the plan's principal {}: {e}", crate::escape::one_line(p))
        })?;
        principal_keys.extend(found.iter().map(|s| s.as_str().to_string()));
        if found.is_empty() {
            anyhow::bail!(
                "the plan's principal {} has no credential in this trail: run verify on the trail the plan was made from (or a later copy of it)",
                crate::escape::one_line(p)
            );
        }
        for s in found {
            if !seeds.contains(&s) {
                more_of_principals.push(s.as_str().to_string());
                seeds.push(s);
            }
        }
    }
    // The tainted set is re-derived from the plan's seeds: a seed this trail does not hold (a
    // narrower trail than the plan's, or an edited plan) would leave it short, and the run
    // would say OK about less than the plan is meant for. That is an error (exit 2), as an
    // unknown --key is for `plan`.
    if seeds.is_empty() {
        anyhow::bail!(
            "the plan names no seeds: there is nothing to re-derive the tainted set from"
        );
    }
    if let Some(s) = seeds.iter().find(|s| !g.holds_seed(s)) {
        anyhow::bail!(
            "the plan's seed {} is not in this trail: verify re-derives the tainted set from the seeds, so run it on the trail the plan was made from (or a later copy of it)",
            crate::escape::one_line(s.as_str())
        );
    }
    // With the tainted calls read in full: the persistence they left (what blocks DeleteUser,
    // the credentials other than keys they made, `othercreds`) is judged from them. Without,
    // the list was empty, and an SSH key the attacker gave a user went unseen.
    let b = crate::blast::blast_with(ing, g, &seeds, true, false)?;
    let mut notes = b.notes.clone();
    if !more_of_principals.is_empty() {
        notes.push(format!(
            "the plan's principals act through credentials its seeds do not name, judged as tainted too: {}",
            more_of_principals.iter().map(|s| crate::escape::one_line(s)).collect::<Vec<_>>().join(", ")
        ));
    }
    // Liveness is judged at the plan's cut-off, or now if that is later: moving the cut-off
    // into the future (by hand, or with --effective-at) must not turn a session alive now
    // into an "expired" one that needs no deny.
    let now = crate::time::now();
    let live_from = eff.min(now);
    if eff > now {
        notes.push(format!(
            "the plan's cut-off {} is after now ({}): sessions alive now are judged live even if they expire before it",
            crate::time::fmt_iso(eff),
            crate::time::fmt_iso(now)
        ));
    }
    let evidence = ing.evidence_sha256();
    notes.extend(ing.evidence_changed().iter().map(|f| super::changed_note(f)));
    if !plan.inputs.sha256.is_empty() && plan.inputs.sha256 != evidence {
        notes.push(format!(
            "the plan was built from different evidence (inputs sha256 {} in the plan, {evidence} here): the verification is of this trail",
            plan.inputs.sha256
        ));
    }

    // The state IAM is in once the plan's actions (those whose command checks out) have run.
    let mut command_problems = Vec::new();
    let mut policies = Denies {
        trail: super::TrailRooms::from_trail(ing, &b)?,
        shapes: Some(DenyShapes::of(g, &b, eff)),
        ..Denies::default()
    };
    // (key, user name, account)
    let mut keys_cut: BTreeSet<String> = BTreeSet::new();
    // The deactivations of users' other long-term credentials that IAM would take.
    let mut others_cut: Vec<super::Action> = Vec::new();
    // What the plan removed from each user before deleting it: (account, user, what).
    let mut removed: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut key_user: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    // Every (user, account) the plan deactivates or deletes each key under.
    let mut key_named: BTreeMap<String, Vec<UserAccount>> = BTreeMap::new();
    let mut deleted_users: BTreeSet<(String, String)> = BTreeSet::new();
    // The long-term keys the evidence shows for each user, gathered once (a plan may delete
    // many users, and a forged trail may hold many keys).
    let mut user_keys: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    // The console passwords a tainted credential set (the plan removes those before it
    // deletes a user).
    let mut set_by_taint: Vec<&crate::chain::UserGrant> = Vec::new();
    if plan.actions.iter().any(|a| a.kind == ActionKind::DeleteUser) {
        let tainted: BTreeSet<usize> = b.nodes.iter().copied().collect();
        set_by_taint.extend(g.user_grants.iter().filter(|gr| tainted.contains(&gr.by)));
        for &n in b.nodes.iter().filter(|&&n| g.nodes[n].kind == NodeKind::LongTermKey) {
            if let (Some(u), Some(k)) = (user_of(g, n), g.nodes[n].access_key_id.as_deref()) {
                user_keys.entry(u).or_default().push(k);
            }
        }
    }
    let partitions = account_partitions(g);
    // A --principal user's credentials a deny does not cut (`super::principals`): what the
    // plan may remove, and, after the actions, what it left.
    let principal_left = super::principals::left(g, &plan.seed_principals);
    let backed = Backing::of(g, &b, &policies.trail, &principal_left);
    let deny_alls = super::script::DenyAlls::of(&plan.actions);
    for a in &plan.actions {
        if let Err(problem) = check_action(a)
            .and_then(|()| check_partition(a, &partitions))
            .and_then(|()| backed.check(a))
            .and_then(|()| policies.apply(a, iam))
        {
            command_problems.push(CommandProblem { order: a.order, kind: a.kind.clone(), problem });
            continue;
        }
        let acct = a.account_id.clone().unwrap_or_default();
        if super::othercreds::deactivated(a).is_some() {
            others_cut.push(a.clone());
        }
        match a.kind {
            ActionKind::DeactivateAccessKey | ActionKind::DeleteAccessKey => {
                if let Some(k) = &a.access_key_id {
                    keys_cut.insert(k.clone());
                    // The deactivation's user is the one judged (a delete may spell it in
                    // another case, which IAM takes alike).
                    let named = (a.user_name.clone(), a.account_id.clone());
                    key_named.entry(k.clone()).or_default().push(named.clone());
                    if a.kind == ActionKind::DeactivateAccessKey {
                        key_user.insert(k.clone(), named);
                    } else {
                        key_user.entry(k.clone()).or_insert(named);
                    }
                }
            }
            ActionKind::DeleteUser => {
                // DeleteUser fails (DeleteConflict) while the user still has an access key
                // (an inactive one too), a console password, a policy or a group: it only
                // counts when the plan removed, before it, every one of those the evidence
                // shows (what the evidence does not show, plan.sh's deny-all guards).
                if let Some(u) = &a.user_name {
                    let user = (acct, u.clone());
                    let left = left_on_user(
                        g,
                        &user,
                        &user_keys,
                        &set_by_taint,
                        &policies.trail,
                        &b.persistence,
                        &removed,
                    );
                    if left.is_empty() {
                        deleted_users.insert(user);
                    } else {
                        // plan.sh puts the user's deny-all back when DeleteUser fails: judged
                        // as it leaves the user.
                        let back = deny_alls.of_user(a).iter().copied().find(|d| d.order < a.order);
                        let then = match back {
                            Some(d) if policies.apply(d, iam).is_ok() => {
                                format!("plan.sh then puts its deny-all (action {}) back", d.order)
                            }
                            _ => "and the user is left without a deny-all".to_string(),
                        };
                        notes.push(format!(
                            "delete_user {} (action {}) would fail (DeleteConflict): {} not removed before it; {then}",
                            crate::escape::one_line(u),
                            a.order,
                            left.join(", ")
                        ));
                    }
                }
            }
            _ => {}
        }
        if let (Some(u), Some(what)) = (&a.user_name, removal(a)) {
            removed.insert((a.account_id.clone().unwrap_or_default(), u.clone(), what));
        }
    }
    // What is cut is judged on the state after the precautionary actions too.
    let precaution_problems = apply_precautions(plan, &mut policies, iam);

    // `issued`: the issue time to judge the session at, when not its own (a launched
    // instance's next session, [`super::policy::RENEWAL`]).
    let denied_at = |n: usize, issued: Option<i64>| -> Option<String> {
        let node = &g.nodes[n];
        // A federated session acts with its IAM user's permissions (F7): deleting the user
        // cuts it too.
        if let Some(u) = user_of(g, n).or_else(|| federated_users_user(node)) {
            if deleted_users.contains(&u) {
                return Some(format!("deleted user {}", u.1));
            }
        }
        let t = attach_target(g, n).ok()?;
        let m = policies.on.get(&on_key(t.kind, &t.name, &t.account_id))?;
        let issued = issued.or_else(|| {
            (node.kind == NodeKind::Session).then(|| crate::chain::token_issue_time(node)).flatten()
        });
        // The role id of a session the evidence shows no aws:userid for: from the snapshot.
        let role_id = iam
            .filter(|_| node.userid.is_none())
            .and_then(|i| i.snapshot.role(node.principal_arn.as_deref()?))
            .map(|r| r.id.as_str())
            .filter(|id| crate::iam::is_role_id(id));
        let userid = super::session_userid(node, role_id);
        m.values()
            .find(|(_, stmts)| {
                stmts.iter().any(|s| statement_matches(s, issued, userid.as_deref()))
            })
            .map(|(l, _)| l.clone())
    };
    let denied_by = |n: usize| denied_at(n, None);
    // Sessions of instances launched by a credential the logs show (`RunInstances`): the
    // instance fetches new credentials by itself, so its session is cut only when the one it
    // fetches next is denied too.
    let launched = g.launched_sessions();
    let verdict = |n: usize, by: Option<String>, reason: Option<String>| {
        let node = &g.nodes[n];
        SessionVerdict {
            session: node.id.clone(),
            principal_arn: node.principal_arn.clone(),
            issued_at: Time::opt(node.issued_at),
            // A long-term key (a root key among the unrevocable) never expires on its own.
            valid_until: Time::opt(session_expiry(g, n).filter(|_| node.kind == NodeKind::Session)),
            denied_by: by,
            reason,
        }
    };
    let plan_unrevocable: BTreeSet<&str> =
        plan.unrevocable.iter().map(|u| u.credential.as_str()).collect();

    let mut v = Verification {
        plan_schema: plan.schema.clone(),
        effective_at: plan.effective_at,
        seeds: plan.seeds.clone(),
        tainted_sessions: 0,
        covered: Vec::new(),
        not_covered: Vec::new(),
        expired: Vec::new(),
        unrevocable: Vec::new(),
        collateral: Vec::new(),
        keys_deactivated: Vec::new(),
        keys_denied: Vec::new(),
        keys_left_active: Vec::new(),
        command_problems,
        attacker_users: b.attacker_users.clone(),
        evidence_window: b.evidence_window.clone(),
        unseen_tail: b.unseen_tail.clone(),
        precautionary: None,
        unread: None,
        script: None,
        ok: false,
        verdict: "FAIL",
        notes: Vec::new(),
        principal_keys,
    };
    // The other users the making records of each key name, by node: (account, name now).
    let claimed = g.key_owner_claims_by_key();
    for (i, node) in g.nodes.iter().enumerate() {
        let tainted = b.nodes.contains(&i);
        match node.kind {
            NodeKind::LongTermKey if tainted => {
                let k = node.access_key_id.as_deref().unwrap_or(&node.id).to_string();
                if node.root_derived || node.principal_type.as_deref() == Some("Root") {
                    v.unrevocable.push(verdict(
                        i,
                        None,
                        Some(format!("{ROOT_KEY}: delete it as the root user or through centralized root access (F11); until then it can take new sessions of any role it may assume, which a deny on sessions issued before the cut-off does not reach")),
                    ));
                    continue;
                }
                // The key's user as the plan reads it: its ARN's, else its records' `userName`
                // under the name the user has at the end of the trail.
                let mine = user_of(g, i).or_else(|| {
                    let (a, u) = (node.account_id.as_deref()?, node.user_name.as_deref()?);
                    let since = node.issued_at.or(node.first_seen);
                    Some((a.to_string(), g.user_name_now(a, u, since).to_string()))
                });
                // The deactivation must name this key's own user and account. When the logs
                // name no user of the key, a deactivation under any name is a guess AWS refuses
                // unless it is right (NoSuchEntity): not shown to cut (it had been taken).
                let right_user = key_user.get(&k).is_some_and(|(u, a)| match &mine {
                    Some((ma, mu)) => {
                        u.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(mu))
                            && a.as_deref().is_none_or(|a| a == ma)
                    }
                    None => false,
                });
                let off = (keys_cut.contains(&k) && right_user)
                    || mine.as_ref().is_some_and(|u| deleted_users.contains(u));
                // Making records that name other users of the key (`key_owner_claims`): the
                // logs cannot tell which is its user, so it is cut only when the plan
                // deactivates it (or deletes the user) under each of them too.
                let others = claimed.get(&i).map(Vec::as_slice).unwrap_or_default();
                let under = |(a, u): &(String, String)| {
                    deleted_users.contains(&(a.clone(), u.clone()))
                        || key_named.get(&k).is_some_and(|v| {
                            v.iter().any(|(nu, na)| {
                                nu.as_deref().is_some_and(|nu| nu.eq_ignore_ascii_case(u))
                                    && na.as_deref().is_none_or(|na| na == a)
                            })
                        })
                };
                let others_cut = others.iter().all(under);
                let off = match &mine {
                    Some(m) if !others.is_empty() => others_cut && under(m),
                    _ => off && others_cut,
                };
                // Denied only when every user its making records name is denied everything:
                // the deny on the first one does not reach the key if it is another's.
                let all_denied = || {
                    others
                        .iter()
                        .chain(mine.as_ref())
                        .all(|(a, u)| policies.deny_every_session(TargetKind::User, u, a))
                };
                if off {
                    v.keys_deactivated.push(k);
                } else if denied_by(i).is_some() && (others.is_empty() || all_denied()) {
                    v.keys_denied.push(k);
                } else {
                    if !others_cut {
                        let names: Vec<_> = others
                            .iter()
                            .map(|(_, u)| {
                                if u.is_empty() {
                                    "root".into()
                                } else {
                                    crate::escape::one_line(u)
                                }
                            })
                            .collect();
                        notes.push(format!(
                            "the records of the making of {k} name other users of it too ({}): the logs cannot tell which one it belongs to, so it is cut only when deactivated under each",
                            names.join(", ")
                        ));
                    } else if keys_cut.contains(&k) {
                        notes.push(match mine {
                            Some(u) => format!(
                                "the plan deactivates {k} for another user than the one it belongs to ({}): AWS would refuse it",
                                u.1
                            ),
                            None => format!(
                                "the plan deactivates {k} under a user the logs do not show it belongs to (they name no user of it): AWS refuses it unless that is its user (aws iam get-access-key-last-used --access-key-id {k} names it); verify cannot show it is cut"
                            ),
                        });
                    }
                    if plan_unrevocable.contains(node.id.as_str()) {
                        notes.push(format!("the plan lists long-term key {k} as unrevocable; it is not (deactivate it)"));
                    }
                    v.keys_left_active.push(k);
                }
            }
            // An untainted key of a user the plan denies everything (a user the attacker took
            // over): the deny stops it too.
            NodeKind::LongTermKey => {
                if let Some(by) = denied_by(i).filter(|d| !d.starts_with("deleted user")) {
                    v.collateral.push(verdict(i, Some(by), None));
                }
            }
            NodeKind::Session => {
                let alive = session_expiry(g, i).is_none_or(|x| x > live_from);
                let by = denied_by(i);
                if !tainted {
                    // With no `creationDate`, issued before its first call (collateral only:
                    // a tainted session with no issue time is never counted as cut).
                    let by = by.or_else(|| denied_at(i, g.nodes[i].first_seen));
                    if alive
                        && by.is_some()
                        && !by.as_deref().is_some_and(|d| d.starts_with("deleted user"))
                    {
                        v.collateral.push(verdict(i, by, None));
                    }
                    continue;
                }
                v.tainted_sessions += 1;
                if let Some(&(kind, name)) = launched.get(&i) {
                    if denied_at(i, Some(super::policy::RENEWAL)).is_none() {
                        let what = match kind {
                            crate::chain::Workload::Instance => format!("instance {name} was launched by a tainted credential and fetches new credentials for its role by itself"),
                            crate::chain::Workload::Function => format!("Lambda function {name} runs code or configuration a tainted credential set, and Lambda fetches new credentials for its role by itself"),
                        };
                        v.not_covered.push(verdict(
                            i,
                            None,
                            Some(format!("{what}: only a deny with no aws:TokenIssueTime condition (its aws:userid, F9) cuts the next one (F21)")),
                        ));
                        continue;
                    }
                }
                if !alive {
                    v.expired.push(verdict(i, by, None));
                    continue;
                }
                if by.is_some() {
                    v.covered.push(verdict(i, by, None));
                    continue;
                }
                match attach_target(g, i) {
                    Err(
                        b @ (Blocker::Root | Blocker::ServiceLinkedRole | Blocker::IdentityCenter),
                    ) => {
                        v.unrevocable.push(verdict(
                            i,
                            None,
                            Some(super::blocker_reason(&b).into()),
                        ));
                    }
                    Err(Blocker::UnknownPrincipal) => {
                        v.not_covered.push(verdict(
                            i,
                            None,
                            Some(
                                "its principal is unknown, so no policy can be shown to cut it"
                                    .into(),
                            ),
                        ));
                    }
                    Ok(t) => {
                        if plan_unrevocable.contains(node.id.as_str()) {
                            notes.push(format!(
                                "the plan lists {} as unrevocable; it is not: a deny on {} {} cuts it",
                                node.id, t.kind, t.arn
                            ));
                        }
                        v.not_covered.push(verdict(i, None, None));
                    }
                }
            }
            _ => {}
        }
    }
    // Keys a tainted credential made whose id the logs do not show (a `CreateAccessKey`
    // record without its response): no action can name them, so they are cut only with their
    // user (deleted, or denied everything).
    for k in g.unnamed_keys.iter().filter(|k| b.nodes.contains(&k.by)) {
        let name = g.user_name_now(&k.account_id, &k.user_name, Some(k.time));
        let user = (k.account_id.clone(), name.to_string());
        let cut = deleted_users.contains(&user)
            || g.user_gone_after(&k.account_id, &k.user_name, k.time).is_some()
            || policies.deny_every_session(TargetKind::User, &user.1, &user.0);
        if !cut {
            v.keys_left_active.push(super::unknown_key(k));
        }
    }
    // SSH public keys, service-specific credentials, signing certificates (`othercreds`).
    let user_cut = |a: &str, u: &str| {
        deleted_users.contains(&(a.to_string(), u.to_string()))
            || policies.deny_every_session(TargetKind::User, u, a)
    };
    let (left, revived) = super::othercreds::left_active(g, &policies.trail, &others_cut, user_cut);
    v.keys_left_active.extend(left);
    for k in revived {
        if !v.keys_deactivated.contains(&k) {
            v.keys_deactivated.push(k);
        }
    }
    v.ok =
        v.not_covered.is_empty() && v.keys_left_active.is_empty() && v.command_problems.is_empty();
    // A role the attacker made must be denied whatever its sessions' issue time (`roles`).
    let role_cut = |t: &super::targets::Target| {
        policies.deny_every_session(TargetKind::Role, &t.name, &t.account_id)
    };
    let uncut_roles = super::roles::uncut_notes(&super::roles::made_roles(g, &b), role_cut);
    v.ok &= uncut_roles.is_empty();
    notes.extend(uncut_roles);
    let unnamed = super::roles::unnamed_notes(g, &b);
    v.ok &= unnamed.is_empty();
    notes.extend(unnamed);
    // A user of the attacker's whose name now the trail cannot tell (renames in one second):
    // no action can be shown to act on it rather than on whoever holds that name.
    for u in b.attacker_users.iter().filter(|u| u.deleted.is_none()) {
        if let Some(why) = &u.name_unsure {
            v.ok = false;
            notes.push(format!(
                "NOT CUT: user {} the attacker controls: {why}; no action can be shown to act on it rather than on another user",
                crate::escape::one_line(&u.user_name)
            ));
            continue;
        }
        // A user the attacker made or set the console password of is theirs after any
        // cut-off (a new sign-in, a new key): it must be denied everything or removed,
        // whatever the plan says of it (SPEC §9).
        let (acct, name) = (u.account_id.clone(), u.user_name.clone());
        if !policies.deny_every_session(TargetKind::User, &name, &acct)
            && !deleted_users.contains(&(acct, name))
        {
            v.ok = false;
            notes.push(format!(
                "NOT CUT: user {} in {} the attacker controls (since {}: {}) is neither denied everything nor removed by the plan: the password or keys the attacker set let them sign in or make new credentials after any cut-off",
                crate::escape::one_line(&u.user_name),
                u.account_id,
                crate::time::fmt_iso(u.since.0),
                crate::escape::one_line(&u.evidence.join(", ")),
            ));
        }
    }
    // A --principal user's console password and keys the trail does not show
    // (`super::principals`): cut only with the user.
    for l in principal_left {
        let password_removed = l.password
            && removed.iter().any(|(a, u, what)| {
                *a == l.account && u.eq_ignore_ascii_case(&l.user) && what == "console password"
            });
        if !user_cut(&l.account, &l.user) && !password_removed {
            v.ok = false;
            notes.push(format!("NOT CUT: {}", l.what));
        }
    }
    // Sessions the trail cannot attribute, that may be the attacker's (`super::tocheck`):
    // no plan can be shown complete without a person's check.
    // Those the plan does not cut first; at most `LISTED` named (a forged trail may give
    // thousands).
    let mut checks: Vec<(u8, String, crate::chain::Unsure)> = g
        .unsure_sessions(&b.nodes, &b.unsure)
        .into_iter()
        .map(|u| {
            let n = &g.nodes[u.node];
            let alive = u.valid_until.is_none_or(|x| x > live_from);
            let (order, state) = match (alive, denied_at(u.node, n.issued_at.or(n.first_seen))) {
                (false, _) => (2, "it has expired".to_string()),
                (true, Some(by)) => {
                    (1, format!("the plan denies it ({})", crate::escape::one_line(&by)))
                }
                (true, None) => (0, "it may still be valid and the plan does NOT cut it".into()),
            };
            (order, state, u)
        })
        .collect();
    checks.sort_by_key(|c| (c.0, c.2.node));
    let listed = super::tocheck::LISTED;
    if checks.len() > listed {
        let uncut = checks.iter().filter(|c| c.0 == 0).count();
        notes.push(format!(
            "CHECK: {} sessions may be the attacker's, {uncut} of them valid and NOT cut by the plan (the first {listed} follow)",
            checks.len()
        ));
    }
    v.ok &= checks.is_empty();
    for (_, state, u) in checks.into_iter().take(listed) {
        let n = &g.nodes[u.node];
        notes.push(format!(
            "CHECK: {} {} may be the attacker's: {}; {state}; what it did is not in the blast radius",
            if n.kind == NodeKind::LongTermKey { "access key" } else { "session" },
            crate::escape::one_line(&n.id),
            u.why
        ));
    }
    // Suspected sessions that made keys, users or roles (`crate::blast::suspects_made`): what
    // they made is the attacker's if they are, and no plan action reaches it (a note, as the
    // plan's: the session is not tainted).
    let suspects_made = crate::blast::suspects_made(g, &b);
    notes
        .extend(suspects_made.iter().map(|(n, made)| crate::blast::suspect_made_note(g, *n, made)));
    // Routes to sessions the taint does not follow (`super::unfollowed`): no plan can be shown
    // to cut what they lead to.
    let unfollowed = super::unfollowed::routes(&b);
    v.ok &= unfollowed.is_empty();
    notes.extend(super::unfollowed::notes(&unfollowed));
    // Sessions that used EKS, whose sign-in no deny stops (F22, `super::eks`).
    let eks = super::eks::left(g, &b, live_from, &launched);
    v.ok &= eks.is_empty();
    notes.extend(super::eks::notes(g, &eks));
    let inside = super::eks::inside(&b, &eks);
    v.ok &= inside.is_empty();
    notes.extend(super::eks::inside_notes(g, &inside));
    // A deny in an account whose logs are not in the trail is applied only by a run of plan.sh
    // with credentials for that account (its block is skipped otherwise): say which covered
    // sessions depend on it, so that an OK is not read as "done" after one run.
    let trail_accounts = ing.accounts();
    let mut elsewhere: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &v.covered {
        let acct = c.denied_by.as_deref().and_then(crate::chain::arn_account);
        if let Some(a) = acct.filter(|a| !trail_accounts.contains(a)) {
            *elsewhere.entry(a).or_default() += 1;
        }
    }
    for (a, n) in elsewhere {
        notes.push(format!(
            "{n} covered session(s) are cut by a deny in account {a}, whose logs are not in the trail: it takes effect only once plan.sh runs with credentials for {a} (or its owner applies that block)"
        ));
    }
    // F8 limits the total of a principal's inline policies, which only the snapshot shows:
    // without it, an inline deny that fits alone may still be refused (LimitExceeded).
    // A snapshot that does not hold the principal (another account's export) shows none of
    // its other policies either: as if there were none.
    let unseen = |a: &&super::Action| match (iam, a.principal_arn.as_deref()) {
        (None, _) => true,
        (Some(i), Some(arn)) => i.snapshot.role(arn).is_none() && i.snapshot.user(arn).is_none(),
        (Some(i), None) => match (a.account_id.as_deref(), a.user_name.as_deref()) {
            (Some(acct), Some(u)) => i.snapshot.user_in(acct, u).is_none(),
            _ => true,
        },
    };
    if !v.covered.is_empty()
        && plan
            .actions
            .iter()
            .filter(unseen)
            .any(|a| matches!(a.kind, ActionKind::PutRolePolicy | ActionKind::PutUserPolicy))
    {
        notes.push("each inline deny was checked against F8's limit and the inline policies the trail shows tainted credentials put on its principal: IAM counts the principal's other inline policies too, which only an IAM snapshot holding the principal shows (give verify --iam with its account's snapshot); a deny IAM refuses makes plan.sh report it and exit 1".into());
    }
    // Likewise the managed policies: the quota of 10 attached counts those attached before
    // the trail or by others, and a name taken by someone else makes create-policy fail.
    let managed = |a: &super::Action| match iam {
        None => a.kind == ActionKind::CreatePolicy,
        Some(_) => matches!(a.kind, ActionKind::AttachRolePolicy | ActionKind::AttachUserPolicy),
    };
    if !v.covered.is_empty() && plan.actions.iter().filter(unseen).any(managed) {
        notes.push("each managed deny was checked against F8's quota of 10 managed policies attached and the names and attaches the trail shows tainted credentials made: IAM counts the policies attached before the trail or by others, and refuses a policy name already taken (EntityAlreadyExists), which only an IAM snapshot holding the principal shows (give verify --iam with its account's snapshot); plan.sh reports a refused create or attach and exits 1".into());
    }
    let reach = iam.map(|i| crate::contain::reachable(i, g, &b.nodes, &mut v.unseen_tail));
    if reach.is_some() || !plan.precautionary.is_empty() || plan.contain_reachable {
        let c = check_precautions(plan, reach.as_ref(), &policies, precaution_problems, eff);
        let contained = !plan.contain_reachable
            || (c.reachable_roles_not_denied.is_empty() && c.principals_not_in_snapshot.is_empty());
        v.ok &= c.command_problems.is_empty() && contained;
        if plan.contain_reachable && !c.checked_against_snapshot {
            notes.push("the plan contains what the unseen tail could reach (--contain-reachable): give verify the same --iam snapshot to check that every reachable role is denied".into());
        }
        v.precautionary = Some(c);
    }
    notes.sort();
    notes.dedup();
    v.notes = notes;
    v.unread = unread(ing, iam);
    v.settle();
    Ok(v)
}

/// What [`Verification::unread`] says of `ing`, and of the IAM snapshot's problems.
pub fn unread(ing: &Ingest, iam: Option<&crate::contain::Iam>) -> Option<String> {
    let s = &ing.stats;
    let trail = ing.incomplete().then(|| {
        format!(
            "{} of {} files could not be read and {} records were rejected (each named above and in `scan`): a credential they issued or used is not followed, so the verdict is of what was read only; repair or re-export them and verify again",
            s.files_failed, s.files_seen, s.rejected
        )
    });
    let snapshot = iam.filter(|i| !i.problems.is_empty()).map(|i| {
        format!(
            "{} part(s) of the IAM snapshot could not be read (each named above): what it shows of room, quotas and names, and what the unseen tail could reach, is of what was read only",
            i.problems.len()
        )
    });
    match (trail, snapshot) {
        (Some(t), Some(s)) => Some(format!("{t}; and {s}")),
        (t, s) => t.or(s),
    }
}

/// Terminal rendering.
pub fn render_table(v: &Verification) -> String {
    use std::fmt::Write;
    // Every value that can come from a log or a path on one line (a newline in a session
    // name or a file name must not start a line of its own).
    use crate::escape::one_line as l;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {} tainted sessions: {} covered, {} NOT covered, {} expired by {}, {} unrevocable; {} collateral; keys: {} deactivated, {}{} left active{}; {} command problems",
        v.verdict,
        v.tainted_sessions,
        v.covered.len(),
        v.not_covered.len(),
        v.expired.len(),
        v.effective_at,
        v.unrevocable.iter().filter(|s| !is_root_key(s)).count(),
        v.collateral.len(),
        v.keys_deactivated.len(),
        match v.keys_denied.len() {
            0 => String::new(),
            n => format!("{n} only denied (still Active), "),
        },
        v.keys_left_active.len(),
        match v.unrevocable.iter().filter(|s| is_root_key(s)).count() {
            0 => String::new(),
            n => format!(", {n} root key(s) unrevocable (still Active)"),
        },
        v.command_problems.len()
    );
    let _ = writeln!(o, "  plan for: {}", l(&v.seeds.join(", ")));
    if let Some(s) = &v.script {
        let _ = writeln!(
            o,
            "  script {}: {}",
            l(&s.path),
            if s.matches { "this plan's, byte for byte" } else { "NOT this plan's" }
        );
    }
    if let Some(u) = &v.unread {
        let _ = writeln!(o, "  unread input: {}", l(u));
    }
    for (label, list) in [
        ("covered", &v.covered),
        ("NOT covered", &v.not_covered),
        ("unrevocable", &v.unrevocable),
        ("collateral", &v.collateral),
    ] {
        for s in list {
            let _ = writeln!(
                o,
                "  {label:<12} {}  {}  issued {}  valid until {}{}{}",
                l(&s.session),
                l(s.principal_arn.as_deref().unwrap_or("?")),
                fmt_or(s.issued_at, "?"),
                fmt_or(s.valid_until, "?"),
                s.denied_by.as_deref().map(|d| format!("  denied by {}", l(d))).unwrap_or_default(),
                s.reason.as_deref().map(|r| format!("  ({})", l(r))).unwrap_or_default()
            );
        }
    }
    for k in &v.keys_denied {
        let _ = writeln!(o, "  key only denied: {} stays Active, cut by its user's deny-all: it works again if that policy is taken off", l(k));
    }
    for k in &v.keys_left_active {
        let _ = writeln!(o, "  key left active: {}", l(k));
    }
    for c in &v.command_problems {
        let _ =
            writeln!(o, "  command of action {} ({}) is wrong: {}", c.order, c.kind, l(&c.problem));
    }
    if let Some(c) = &v.precautionary {
        let _ = writeln!(
            o,
            "precautionary: {} action(s); {}",
            c.actions,
            if c.checked_against_snapshot {
                format!(
                    "reachable roles: {} denied, {} NOT denied, {} unrevocable{}",
                    c.reachable_roles_denied.len(),
                    c.reachable_roles_not_denied.len(),
                    c.reachable_roles_unrevocable.len(),
                    match c.principals_not_in_snapshot.len() {
                        0 => String::new(),
                        n => format!("; {n} principal(s) of the unseen tail NOT in the snapshot (their reach unknown)"),
                    }
                )
            } else {
                "not held against a snapshot (no --iam)".to_string()
            }
        );
        for r in &c.reachable_roles_not_denied {
            let _ = writeln!(o, "  reachable role NOT denied: {}", l(r));
        }
        for r in &c.reachable_roles_unrevocable {
            let _ = writeln!(o, "  reachable role no IAM policy can deny: {}", l(r));
        }
        for p in &c.principals_not_in_snapshot {
            let _ = writeln!(
                o,
                "  principal NOT in the IAM snapshot (what it could reach is unknown): {}",
                l(p)
            );
        }
        for p in &c.command_problems {
            let _ = writeln!(
                o,
                "  command of precautionary action {} ({}) is wrong: {}",
                p.order,
                p.kind,
                l(&p.problem)
            );
        }
    }
    for t in &v.unseen_tail {
        let _ = writeln!(
            o,
            "  unseen tail: {} valid until {}, evidence of account {} ends {}: {}",
            l(&t.credential),
            fmt_or(t.valid_until, "deactivation"),
            l(t.account_id.as_deref().unwrap_or("?")),
            fmt_or(t.evidence_ends, "(no logs)"),
            l(&t.reason)
        );
    }
    for n in &v.notes {
        let _ = writeln!(o, "note: {}", l(n));
    }
    crate::escape::terminal(&o).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::scenario::Scenario;
    use crate::plan::{build_plan, sessions_by_target, PlanOptions, Strategy};

    /// A policy IAM would refuse whole (MalformedPolicyDocument) cuts nothing: verify finds
    /// each break of the grammar, and takes the shapes the planner writes.
    #[test]
    fn a_policy_iam_refuses_for_its_grammar_is_a_command_problem() {
        use serde_json::json;
        let deny = super::super::policy::deny_statement("TrailhoundRevokeOlderSessions", T0, None);
        let good = json!({"Version": "2012-10-17", "Statement": [deny.clone()]});
        assert_eq!(grammar_iam_takes(&good), Ok(()));
        let ok = json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotAction": ["s3:Get*", "iam:List?ser*"], "NotResource": "arn:aws:s3:::b/*"}});
        assert_eq!(grammar_iam_takes(&ok), Ok(()));
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut d = good.clone();
            f(&mut d);
            grammar_iam_takes(&d).unwrap_err()
        };
        let bad = [
            with(&|d| d["Comment"] = json!("approved")),
            with(&|d| d["Version"] = json!("2012-10-18")),
            with(&|d| d["Statement"] = json!([])),
            with(&|d| d["Statement"][0]["Principal"] = json!("*")),
            with(&|d| d["Statement"][0]["Effect"] = json!("deny")),
            with(&|d| d["Statement"][0]["Action"] = json!("GetObject")),
            with(&|d| d["Statement"][0]["Action"] = json!([])),
            with(&|d| d["Statement"][0]["NotAction"] = json!("s3:*")),
            with(&|d| d["Statement"][0]["Resource"] = json!("payroll-bucket")),
            with(&|d| {
                d["Statement"][0].as_object_mut().unwrap().remove("Resource");
            }),
            with(&|d| d["Statement"][0]["Condition"] = json!("x")),
            // A character outside the set IAM takes, in a value or a key.
            with(&|d| {
                d["Statement"][0]["Condition"] =
                    json!({"StringLike": {"aws:userid": ["*:evil\u{100}"]}})
            }),
            with(&|d| d["Statement"][0]["Condition"] = json!({"StringLike\u{2028}": {}})),
        ];
        for e in &bad {
            assert!(e.starts_with("IAM refuses the policy (MalformedPolicyDocument): "), "{e}");
        }
        assert!(bad[bad.len() - 1].contains("U+2028"), "{}", bad[bad.len() - 1]);
        // Latin-1 is taken: a condition's value with `é` is not refused for it.
        let mut latin = good.clone();
        latin["Statement"][0]["Condition"] = json!({"StringLike": {"aws:userid": ["*:caf\u{e9}"]}});
        assert_eq!(grammar_iam_takes(&latin), Ok(()));
    }

    /// A managed policy the plan creates lives in its account's partition (aws-cn,
    /// aws-us-gov, …): its ARN names that partition, and an attach of a policy of another
    /// partition than the principal's is one IAM would refuse.
    #[test]
    fn a_managed_policy_is_made_and_attached_in_the_principals_partition() {
        use super::super::commands::{checked, partition_of};
        use super::super::Action;
        assert_eq!(partition_of("arn:aws-cn:iam::111122223333:role/Admin"), "aws-cn");
        assert_eq!(partition_of("arn:forged:iam::111122223333:role/Admin"), "aws");
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [super::super::policy::deny_statement("TrailhoundRevokeOlderSessions", T0, None)]});
        let name = "TrailhoundRevokeOlderSessions-Admin";
        let create = |policy: &str| {
            checked(Action {
                kind: ActionKind::CreatePolicy,
                account_id: Some(MAIN.into()),
                policy_name: Some(name.into()),
                policy_arn: Some(policy.into()),
                policy_size: Some(super::super::policy_size(&doc)),
                policy_document: Some(doc.clone()),
                ..Default::default()
            })
        };
        let attach = |policy: &str, role: &str| {
            checked(Action {
                kind: ActionKind::AttachRolePolicy,
                account_id: Some(MAIN.into()),
                principal_arn: Some(role.into()),
                policy_name: Some(name.into()),
                policy_arn: Some(policy.into()),
                ..Default::default()
            })
        };
        for part in ["aws", "aws-cn", "aws-us-gov"] {
            let policy = format!("arn:{part}:iam::{MAIN}:policy/{name}");
            let role = format!("arn:{part}:iam::{MAIN}:role/Admin");
            assert_eq!(check_action(&create(&policy)), Ok(()), "{part}");
            assert_eq!(check_action(&attach(&policy, &role)), Ok(()), "{part}");
        }
        let cn_role = format!("arn:aws-cn:iam::{MAIN}:role/Admin");
        let commercial = format!("arn:aws:iam::{MAIN}:policy/{name}");
        assert!(check_action(&attach(&commercial, &cn_role)).is_err());
    }

    /// 2024-03-11T10:00:00Z
    const T0: i64 = 1_710_151_200;
    const MAIN: &str = "111122223333";
    const LEAKED: &str = "AKIAIOSFODNN7EXAMPLE";

    /// An incident: the leaked key of `ci-deployer` assumes two roles; both sessions are
    /// still alive at the cut-off. Holds the evidence, its graph, the plan built for it and
    /// the ids of the two sessions.
    struct Incident {
        ing: Ingest,
        g: SessionGraph,
        plan: Plan,
        deploy: String,
        admin: String,
        _dir: tempfile::TempDir,
    }

    impl Incident {
        fn new() -> Incident {
            let mut s = Scenario::new();
            let k = s.user_key(MAIN, "ci-deployer", LEAKED);
            s.call(&k, T0, "sts.amazonaws.com", "GetCallerIdentity", serde_json::json!({}));
            let deploy =
                s.assume_role(&k, T0 + 10, "arn:aws:iam::111122223333:role/Deploy", "d1", 3600);
            s.call(&deploy, T0 + 15, "s3.amazonaws.com", "ListBuckets", serde_json::json!({}));
            let admin =
                s.assume_role(&k, T0 + 20, "arn:aws:iam::111122223333:role/Admin", "a1", 3600);
            s.call(&admin, T0 + 25, "iam.amazonaws.com", "ListUsers", serde_json::json!({}));
            let (dir, ing, g) = s.ingested(&[]);
            let plan = strict_plan(&ing, &g);
            Incident { ing, g, plan, deploy: deploy.node_id(), admin: admin.node_id(), _dir: dir }
        }

        fn verify(&self, plan: &Plan) -> Verification {
            verify(&self.ing, &self.g, plan).unwrap()
        }
    }

    /// Plan options for `strategy`, built at `T0 + 100`, no cut-off given.
    fn options(strategy: Strategy) -> PlanOptions {
        PlanOptions {
            strategy,
            effective_at: None,
            now: T0 + 100,
            input_paths: Vec::new(),
            principals: Vec::new(),
        }
    }

    /// The strict plan for the leaked key, built at `T0 + 100`.
    fn strict_plan(ing: &Ingest, g: &SessionGraph) -> Plan {
        let b = crate::blast::blast(ing, g, &[SeedKey::parse(LEAKED)], true).unwrap();
        build_plan(ing, g, &b, &options(Strategy::Strict), sessions_by_target(g))
    }

    /// A log file rewritten after the run found it (a delivery still being written, or
    /// someone editing the evidence) is named in the plan's and the verification's notes: the
    /// fingerprint they record does not vouch for it.
    #[test]
    fn a_file_that_changed_while_the_run_read_it_is_named_in_the_plan_and_the_verification() {
        let mut s = Scenario::new();
        let k = s.user_key(MAIN, "ci-deployer", LEAKED);
        let deploy =
            s.assume_role(&k, T0 + 10, "arn:aws:iam::111122223333:role/Deploy", "d1", 3600);
        s.call(&deploy, T0 + 15, "s3.amazonaws.com", "ListBuckets", serde_json::json!({}));
        // The file that changes carries a name chosen to break a shell, a line and a terminal.
        let dir = tempfile::TempDir::new().unwrap();
        let trail = dir.path().join("trail");
        s.write(&trail, &[]).unwrap();
        let last = crate::ingest::ingest(&crate::ingest::IngestOptions {
            inputs: vec![trail.clone()],
            ..Default::default()
        })
        .unwrap()
        .input_files()
        .pop()
        .unwrap();
        let hostile = last.with_file_name("x$(touch pwned)'\"\n\u{1b}[31mred.json.gz");
        std::fs::rename(&last, &hostile).unwrap();
        let opts = crate::ingest::IngestOptions { inputs: vec![trail], ..Default::default() };
        let ing = crate::ingest::ingest(&opts).unwrap();
        let g = SessionGraph::build(&ing);
        let files = ing.input_files();
        let found: Vec<_> = files.iter().map(|f| std::fs::metadata(f).ok()).collect();
        let target = files.iter().find(|f| **f == hostile).unwrap();
        // The same bytes written again: only the file system's record of it changes.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(target, std::fs::read(target).unwrap()).unwrap();
        ing.hash_evidence_as_found(found);

        let plan = strict_plan(&ing, &g);
        let name = target.file_name().unwrap().to_str().unwrap();
        let named = |notes: &[String]| {
            notes
                .iter()
                .filter(|n| n.contains("changed while this run read it"))
                .all(|n| n.contains(name))
                && notes.iter().filter(|n| n.contains("changed while this run read it")).count()
                    == 1
        };
        assert!(named(&plan.notes), "{:?}", plan.notes);
        let v = verify(&ing, &g, &plan).unwrap();
        assert!(named(&v.notes), "{:?}", v.notes);
        // On the terminal the note is one line, its escape code shown, not sent; in JSON too.
        let table = render_table(&v);
        let line = table.lines().find(|l| l.contains("changed while this run read it")).unwrap();
        assert!(line.contains("touch pwned") && line.ends_with("being written"), "{line}");
        assert!(!table.contains('\u{1b}'), "{table}");
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains('\u{1b}') && !json.contains('\n'));
    }

    fn sessions(list: &[SessionVerdict]) -> Vec<&str> {
        list.iter().map(|s| s.session.as_str()).collect()
    }

    #[test]
    fn the_plan_as_built_covers_every_live_tainted_session() {
        let inc = Incident::new();
        // As `verify` reads it: from the JSON the plan command wrote.
        let text = serde_json::to_string_pretty(&inc.plan).unwrap();
        let plan: Plan = serde_json::from_str(&text).unwrap();
        let v = inc.verify(&plan);
        assert!(v.ok, "{}", render_table(&v));
        assert_eq!(v.tainted_sessions, 2);
        let mut covered = sessions(&v.covered);
        covered.sort();
        let mut want = vec![inc.deploy.as_str(), inc.admin.as_str()];
        want.sort();
        assert_eq!(covered, want);
        assert!(v.not_covered.is_empty() && v.command_problems.is_empty());
        assert_eq!(v.keys_deactivated, vec![LEAKED.to_string()]);
        assert!(v.keys_left_active.is_empty());
        let admin = v.covered.iter().find(|s| s.session == inc.admin).unwrap();
        let by = admin.denied_by.as_deref().unwrap();
        let name = by.strip_prefix("arn:aws:iam::111122223333:role/Admin#").unwrap();
        assert_eq!(super::super::shape_name(name), super::super::STRICT_POLICY_NAME, "{by}");
        assert_ne!(name, super::super::STRICT_POLICY_NAME, "{by}");
    }

    #[test]
    fn a_deny_removed_from_the_plan_leaves_its_session_not_covered() {
        let inc = Incident::new();
        let mut plan = inc.plan.clone();
        let before = plan.actions.len();
        plan.actions.retain(|a| {
            !(a.kind == ActionKind::PutRolePolicy
                && a.principal_arn.as_deref() == Some("arn:aws:iam::111122223333:role/Admin"))
        });
        assert_eq!(plan.actions.len(), before - 1, "the plan had one deny on role Admin");
        let v = inc.verify(&plan);
        assert!(!v.ok);
        assert_eq!(sessions(&v.not_covered), vec![inc.admin.as_str()]);
        assert_eq!(sessions(&v.covered), vec![inc.deploy.as_str()]);
        assert!(v.command_problems.is_empty());
        assert!(render_table(&v).starts_with("FAIL: 2 tainted sessions: 1 covered, 1 NOT covered"));
    }

    #[test]
    fn a_tampered_command_is_a_command_problem_and_does_not_count() {
        let inc = Incident::new();
        let mut plan = inc.plan.clone();
        let a =
            plan.actions.iter_mut().find(|a| a.kind == ActionKind::DeactivateAccessKey).unwrap();
        assert!(a.command.contains("--user-name ci-deployer"), "{}", a.command);
        a.command = a.command.replace("--user-name ci-deployer", "--user-name someone-else");
        let order = a.order;
        let v = inc.verify(&plan);
        assert!(!v.ok);
        assert_eq!(v.command_problems.len(), 1, "{:?}", v.command_problems);
        let p = &v.command_problems[0];
        assert_eq!((p.order, &p.kind), (order, &ActionKind::DeactivateAccessKey));
        assert!(
            p.problem.contains("\"someone-else\" where the action says \"ci-deployer\""),
            "{}",
            p.problem
        );
        // The action is not counted as done: the leaked key stays active.
        assert_eq!(v.keys_left_active, vec![LEAKED.to_string()]);
        assert!(v.keys_deactivated.is_empty());
        // The denies still hold.
        assert!(v.not_covered.is_empty());
    }

    #[test]
    fn an_unknown_action_type_still_parses_and_is_a_command_problem() {
        let inc = Incident::new();
        let mut doc = serde_json::to_value(&inc.plan).unwrap();
        let first = &mut doc["actions"][0];
        assert_eq!(first["type"], "deactivate_access_key");
        first["type"] = "frobnicate_key".into();
        let plan: Plan = serde_json::from_value(doc).unwrap();
        assert_eq!(plan.actions[0].kind, ActionKind::Other("frobnicate_key".into()));
        let v = inc.verify(&plan);
        assert!(!v.ok);
        assert_eq!(v.command_problems.len(), 1);
        assert_eq!(
            v.command_problems[0].problem,
            "verify does not know what a \"frobnicate_key\" action with these fields does"
        );
        let json = serde_json::to_value(&v.command_problems[0]).unwrap();
        assert_eq!(json["type"], "frobnicate_key");
    }

    /// The `aws:userid` patterns of the surgical deny on `role`.
    fn userids(p: &Plan, role: &str) -> Vec<String> {
        let a = p
            .actions
            .iter()
            .find(|a| {
                a.kind == ActionKind::PutRolePolicy && a.principal_arn.as_deref() == Some(role)
            })
            .unwrap();
        let doc = a.policy_document.as_ref().unwrap();
        let list = doc.pointer("/Statement/0/Condition/StringLike/aws:userid").unwrap();
        serde_json::from_value(list.clone()).unwrap()
    }

    #[test]
    fn a_session_the_evidence_gives_no_id_is_named_by_the_snapshots_role_id() {
        let admin_arn = "arn:aws:iam::111122223333:role/Admin";
        let deploy_arn = "arn:aws:iam::111122223333:role/Deploy";
        let mut s = Scenario::new();
        let k = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.call(&k, T0, "sts.amazonaws.com", "GetCallerIdentity", serde_json::json!({}));
        let quiet = s.assume_role(&k, T0 + 10, admin_arn, "q1", 3600);
        // No assumedRoleUser in the response and no call by the session: its aws:userid is
        // not in the evidence.
        let resp = s.last_record()["responseElements"].as_object_mut().unwrap();
        resp.remove("assumedRoleUser");
        let seen = s.assume_role(&k, T0 + 20, deploy_arn, "d1", 3600);
        s.call(&seen, T0 + 25, "s3.amazonaws.com", "ListBuckets", serde_json::json!({}));
        let (_dir, ing, g) = s.ingested(&[]);
        let b = crate::blast::blast(&ing, &g, &[SeedKey::parse(LEAKED)], true).unwrap();
        let o = options(Strategy::Surgical);
        let plan = build_plan(&ing, &g, &b, &o, sessions_by_target(&g));
        // Without a snapshot the pattern is any id of the role with that session name, and
        // verify proves it covers the session (whatever the id, it ends in `:q1`).
        assert_eq!(userids(&plan, admin_arn), vec!["*:q1".to_string()]);
        let v = verify(&ing, &g, &plan).unwrap();
        assert!(v.ok, "{}", render_table(&v));
        assert!(sessions(&v.covered).contains(&quiet.node_id().as_str()));

        // The snapshot gives Admin's id (the one AWS gave it) and a Deploy id other than the
        // evidence's: Deploy was re-created since.
        let admin_id = quiet.principal_id.split(':').next().unwrap().to_string();
        let dir = tempfile::TempDir::new().unwrap();
        let role = |name: &str, id: &str| {
            serde_json::json!({"Path": "/", "RoleName": name, "RoleId": id,
                "Arn": format!("arn:aws:iam::111122223333:role/{name}"),
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "RolePolicyList": [], "AttachedManagedPolicies": []})
        };
        let details = serde_json::json!({"UserDetailList": [], "GroupDetailList": [], "Policies": [],
            "RoleDetailList": [role("Admin", &admin_id), role("Deploy", "AROASCEN9999999999999")]});
        let file = dir.path().join("111122223333.json");
        std::fs::write(&file, details.to_string()).unwrap();
        let iam = crate::contain::load(&[file]).unwrap();
        assert!(iam.problems.is_empty(), "{:?}", iam.problems);
        let mut b2 = crate::blast::blast(&ing, &g, &[SeedKey::parse(LEAKED)], true).unwrap();
        let reach = crate::contain::reachable(&iam, &g, &b2.nodes, &mut b2.unseen_tail);
        let mut p = build_plan(&ing, &g, &b2, &o, sessions_by_target(&g));
        crate::plan::apply_snapshot(&mut p, &iam, reach, &g, false);
        assert_eq!(userids(&p, admin_arn), vec![format!("{admin_id}:q1")]);
        // Deploy keeps the id its sessions carry, with a note that the snapshot disagrees.
        let seen_id = seen.principal_id.clone();
        assert_eq!(userids(&p, deploy_arn), vec![seen_id.clone()]);
        assert!(p.notes.iter().any(|n| n.contains("AROASCEN9999999999999")
            && n.contains(seen_id.split(':').next().unwrap())
            && n.contains("re-created")));
        let put = p.actions.iter().find(|a| a.principal_arn.as_deref() == Some(admin_arn)).unwrap();
        assert!(put.command.contains(&format!("{admin_id}:q1")), "{}", put.command);
        assert!(check_action(put).is_ok());
        // verify with the snapshot proves the exact id; without it, an exact id it cannot see
        // in the evidence proves nothing.
        let v = verify_with(&ing, &g, &p, Some(&iam)).unwrap();
        assert!(v.ok, "{}", render_table(&v));
        let v = verify(&ing, &g, &p).unwrap();
        assert!(!v.ok);
        assert_eq!(sessions(&v.not_covered), vec![quiet.node_id().as_str()]);

        // A hostile snapshot whose role id is `*` does not widen the deny to every session.
        let details = serde_json::json!({"UserDetailList": [], "GroupDetailList": [], "Policies": [],
            "RoleDetailList": [role("Admin", "*")]});
        let file = dir.path().join("hostile.json");
        std::fs::write(&file, details.to_string()).unwrap();
        let hostile = crate::contain::load(&[file]).unwrap();
        let mut b3 = crate::blast::blast(&ing, &g, &[SeedKey::parse(LEAKED)], true).unwrap();
        let reach = crate::contain::reachable(&hostile, &g, &b3.nodes, &mut b3.unseen_tail);
        let mut p = build_plan(&ing, &g, &b3, &o, sessions_by_target(&g));
        crate::plan::apply_snapshot(&mut p, &hostile, reach, &g, false);
        assert_eq!(userids(&p, admin_arn), vec!["*:q1".to_string()]);
        assert!(p.notes.iter().any(|n| n.contains("is not a role id")));
    }

    #[test]
    fn a_role_the_evidence_names_without_its_path_gets_it_from_the_snapshot() {
        let role_arn =
            "arn:aws:iam::111122223333:role/aws-service-role/ops.example.com/AWSServiceRoleForOps";
        let mut s = Scenario::new();
        let k = s.user_key(MAIN, "ci-deployer", LEAKED);
        s.call(&k, T0, "sts.amazonaws.com", "GetCallerIdentity", serde_json::json!({}));
        let quiet = s.assume_role(&k, T0 + 10, role_arn, "q1", 3600);
        // The request without roleArn and no call by the session: only the session ARN
        // (no path) names the role.
        let req = s.last_record()["requestParameters"].as_object_mut().unwrap();
        req.remove("roleArn");
        let (_dir, ing, mut g) = s.ingested(&[]);
        let b = crate::blast::blast(&ing, &g, &[SeedKey::parse(LEAKED)], true).unwrap();
        let o = options(Strategy::Strict);
        // Without the snapshot the role looks ordinary: a deny on it.
        let guessed = build_plan(&ing, &g, &b, &o, sessions_by_target(&g));
        let bare = "arn:aws:iam::111122223333:role/AWSServiceRoleForOps";
        assert!(guessed.actions.iter().any(|a| a.principal_arn.as_deref() == Some(bare)));
        let dir = tempfile::TempDir::new().unwrap();
        let details = serde_json::json!({"UserDetailList": [], "GroupDetailList": [], "Policies": [],
            "RoleDetailList": [{"Path": "/aws-service-role/ops.example.com/", "RoleName": "AWSServiceRoleForOps",
                "RoleId": quiet.principal_id.split(':').next().unwrap(), "Arn": role_arn,
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "RolePolicyList": [], "AttachedManagedPolicies": []}]});
        let file = dir.path().join("111122223333.json");
        std::fs::write(&file, details.to_string()).unwrap();
        let iam = crate::contain::load(&[file]).unwrap();
        // verify --iam refuses the guessed deny: IAM would not change a service-linked role.
        let v = verify_with(&ing, &g, &guessed, Some(&iam)).unwrap();
        assert!(
            v.command_problems.iter().any(|c| c.problem.contains("service-linked")),
            "{}",
            render_table(&v)
        );
        assert!(!v.ok);
        // A snapshot whose Arn disagrees with its own Path for the role is not taken.
        let mut odd = details.clone();
        odd["RoleDetailList"][0]["Path"] = "/".into();
        let file = dir.path().join("odd.json");
        std::fs::write(&file, odd.to_string()).unwrap();
        let odd = crate::contain::load(&[file]).unwrap();
        assert_eq!(crate::contain::fill_role_arns(&odd, &mut g), 0);
        // With the snapshot's path the session is unrevocable (F6) and nothing is put on it.
        assert_eq!(crate::contain::fill_role_arns(&iam, &mut g), 1);
        let b = crate::blast::blast(&ing, &g, &[SeedKey::parse(LEAKED)], true).unwrap();
        let p = build_plan(&ing, &g, &b, &o, sessions_by_target(&g));
        assert!(!p.actions.iter().any(|a| a
            .principal_arn
            .as_deref()
            .is_some_and(|x| x.contains("AWSServiceRoleForOps"))));
        let un = p.unrevocable.iter().find(|u| u.credential == quiet.node_id()).unwrap();
        assert!(un.reason.contains("service-linked"), "{}", un.reason);
        let v = verify_with(&ing, &g, &p, Some(&iam)).unwrap();
        assert!(v.ok, "{}", render_table(&v));
        assert_eq!(sessions(&v.unrevocable), vec![quiet.node_id().as_str()]);
    }
}

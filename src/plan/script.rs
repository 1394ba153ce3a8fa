//! `plan.sh`: the plan's actions as a reviewable shell script, one guarded block per account.

use super::{command_is_safe, ActionKind, Plan};
use crate::escape::{is_account_id, one_line, shell_word};
use std::collections::BTreeSet;

/// What a failed action of `kind` leaves undone, for the line `plan.sh` prints (no log text:
/// the action's order number and kind say which one it was).
/// `cleanup`: the action is a step of removing a user, whose removal then stops.
fn failure_meaning(kind: &ActionKind, cleanup: bool) -> &'static str {
    if cleanup {
        return "the removal of this user stops here and its deny-all policy stays on; the other actions still ran: fix it (see the error above) and run again";
    }
    match kind {
        // NoSuchEntity: the key was deleted, or it is not this user's (the logs named
        // another user than its owner); only IAM can tell which.
        ActionKind::DeactivateAccessKey => {
            "if AWS said NoSuchEntity, the key was already deleted OR belongs to another user than the one named here: run aws iam get-access-key-last-used --access-key-id with the key, whose UserName is its owner; until it is deactivated it can mint sessions that the denies below do not cut: fix it and run again"
        }
        ActionKind::PutRolePolicy
        | ActionKind::PutUserPolicy
        | ActionKind::AttachRolePolicy
        | ActionKind::AttachUserPolicy => {
            "the tainted sessions this deny covers are NOT cut; the actions after it still ran: fix it (see the error above) and run again"
        }
        ActionKind::CreatePolicy => {
            "its attach below is skipped: if AWS said EntityAlreadyExists, a policy of that name is already there (an earlier run with another cut-off, or someone else, the attacker included) and its document is not this plan's: check it, delete it and run again"
        }
        _ => "the actions after it still ran: fix it (see the error above) and run again",
    }
}

/// The start of an action that waits on an earlier one: when `var` was set (the earlier one
/// failed), say so, run `instead` (one command, or nothing), count the action as failed, and
/// go on to the `elif`/`if` of the action itself, which the caller writes next.
fn write_skip(o: &mut String, var: &str, n: u32, kind: &str, why: &str, instead: Option<&str>) {
    use std::fmt::Write;
    let _ = writeln!(
        o,
        "if [ \"${{{var}:-}}\" = yes ]\nthen\n  echo \"plan.sh: action [{n}] {kind} SKIPPED: {why}\" >&2"
    );
    if let Some(cmd) = instead {
        put_back(o, n, cmd);
    }
    let _ = write!(o, "  FAILED=\"$FAILED {n}\"\nel");
}

/// Puts a user's deny-all policy back (`deny`, one command) inside a `then` branch, guarded:
/// under `set -e` an unguarded failure (the user gone, throttling, AccessDenied) stopped the
/// script there, before the actions after it, with another user's deny-all already off.
fn put_back(o: &mut String, n: u32, deny: &str) {
    use std::fmt::Write;
    let _ = writeln!(
        o,
        "  if ! {{ {deny}; }}\n  then\n    echo \"plan.sh: action [{n}]: putting the deny-all policy back FAILED (see the error above): if the user still exists it has no deny-all now: put it back by hand at once\" >&2\n  fi"
    );
}

/// The plan's actions as a reviewable shell script (nothing runs unless the reader removes
/// the guard at the top). Every value from the logs is a shell word in a command or one
/// escaped line in a comment; a command that fails [`command_is_safe`] (a hand-edited plan) is
/// written commented out, never run.
///
/// The actions come in one block per account. The script asks AWS which account its
/// credentials belong to (`aws sts get-caller-identity`) and runs only that account's block;
/// the others are skipped with a message naming the account to run it again with. At the
/// end, a commented rollback section removes the deny policies once the principals are
/// cleaned up.
/// The lines that stop plan.sh until the responder has read it and deleted them.
pub(super) const GUARD: &str =
    "echo 'Review this script, then delete this line and the exit below to run it.' >&2\nexit 1\n";

pub fn render_script(p: &Plan) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "#!/bin/sh\n# trailhound revocation plan ({}, strategy {}, effective at {})",
        one_line(&p.schema),
        serde_json::to_string(&p.strategy).unwrap_or_default().trim_matches('"'),
        one_line(&p.effective_at.to_string())
    );
    let _ = writeln!(o, "# seeds: {}", one_line(&p.seeds.join(", ")));
    let accounts: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for a in p.actions.iter().chain(&p.precautionary) {
            if let Some(x) = a.account_id.as_deref() {
                if !v.contains(&x) {
                    v.push(x);
                }
            }
        }
        v
    };
    let _ = writeln!(
        o,
        "# Review every command. Run this script once with credentials for each account it names\n# ({}): each run does only the block of the account its credentials belong to.\n# Before running it: `trailhound verify TRAIL --plan plan.json --script plan.sh --key KEY`\n# proves that this script is the plan's and that it cuts every live tainted credential.\n# Policy changes take a few minutes to apply (F14): watch CloudTrail afterwards.\n# The facts cited (F1-F22) are explained in docs/revocation-facts.md.",
        one_line(&accounts.join(", "))
    );
    for w in p.summary.uncut_warnings() {
        let _ = writeln!(o, "{w}");
    }
    let _ = writeln!(o, "set -eu\n{GUARD}");
    let _ = writeln!(o, "CALLER_ACCOUNT=$(aws sts get-caller-identity --query Account --output text)\necho \"plan.sh: running the block of account $CALLER_ACCOUNT\" >&2\nRAN=no\nFAILED=\n");
    // The create_policy action making each managed policy: its attach runs only if that
    // create did (an existing policy of the name holds a document this plan did not write).
    let created: std::collections::HashMap<&str, u32> = p
        .actions
        .iter()
        .chain(&p.precautionary)
        .filter(|a| a.kind == ActionKind::CreatePolicy)
        .filter_map(|a| Some((a.policy_arn.as_deref()?, a.order)))
        .collect();
    // The DeleteUser action of each user the plan removes, by account and user name.
    let users_removed: std::collections::HashMap<(Option<&str>, Option<&str>), u32> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeleteUser)
        .map(|a| ((a.account_id.as_deref(), a.user_name.as_deref()), a.order))
        .collect();
    let deny_alls = DenyAlls::of(&p.actions);
    let mut current: Option<Option<&str>> = None;
    let close = |o: &mut String, acct: Option<&str>| {
        if let Some(acct) = acct.filter(|a| is_account_id(a)) {
            let _ = writeln!(
                o,
                "  RAN=yes\nelse\n  echo \"plan.sh: skipped the block of account {acct}: run again with credentials for it\" >&2\nfi\n"
            );
        }
    };
    for (i, a) in p.actions.iter().chain(&p.precautionary).enumerate() {
        let acct = a.account_id.as_deref();
        if i == p.actions.len() {
            let _ = writeln!(
                o,
                "# ----- precautionary (--contain-reachable): NOT evidence-based; what the unseen tail\n# could reach per the IAM snapshot. Review them on their own. -----\n"
            );
        }
        if current != Some(acct) {
            if let Some(prev) = current {
                close(&mut o, prev);
            }
            current = Some(acct);
            match acct.filter(|a| is_account_id(a)) {
                Some(x) => {
                    let _ = writeln!(
                        o,
                        "# ===== account {x} =====\nif [ \"$CALLER_ACCOUNT\" = {x} ]; then\n"
                    );
                }
                None => {
                    let _ = writeln!(o, "# ===== account unknown: review only =====\n");
                }
            }
        }
        let _ = writeln!(
            o,
            "# [{}] {} in account {}\n# {}",
            a.order,
            one_line(a.kind.as_str()),
            one_line(acct.unwrap_or("?")),
            one_line(&a.reason)
        );
        let in_block = acct.is_some_and(is_account_id);
        let text = if command_is_safe(&a.command) {
            a.command.clone()
        } else {
            format!("# NOT RUN (not a plain command): {}", one_line(&a.command))
        };
        let wrap = in_block && command_is_safe(&a.command) && !a.command.contains('\n');
        // The DeleteUser action this one prepares, when it is a step of removing a user.
        let removal =
            users_removed.get(&(a.account_id.as_deref(), a.user_name.as_deref())).copied();
        // The removal of a user's deny-all: the inline policy deleted, or the managed policy
        // it became (F8) detached.
        let is_deny_all_removal = match a.kind {
            ActionKind::DeleteUserPolicy => {
                a.policy_name.as_deref() == Some(super::DENY_ALL_POLICY_NAME)
            }
            ActionKind::DetachUserPolicy => deny_alls
                .of_user(a)
                .iter()
                .any(|put| put.policy_arn.is_some() && put.policy_arn == a.policy_arn),
            _ => false,
        };
        match (&a.kind, wrap) {
            // DeleteUser needs the deny-all policy gone first; if the user cannot be deleted
            // (something the logs do not show still holds it), or a step before it failed,
            // the deny goes back on at once.
            (ActionKind::DeleteUser, true) => {
                let deny = deny_all_of(p, &deny_alls, a);
                let back = if deny.is_some() {
                    "putting the deny-all policy back on the user"
                } else {
                    "the user has no deny-all policy now: put it back by hand at once"
                };
                let why = format!("a step of removing this user failed above; {back}");
                write_skip(
                    &mut o,
                    &format!("CLEANUP_FAILED_{}", a.order),
                    a.order,
                    "delete_user",
                    &why,
                    deny.as_deref(),
                );
                let _ = writeln!(o, "if ! {text}\nthen");
                let _ = writeln!(
                    o,
                    "  echo \"plan.sh: action [{}] delete_user FAILED: {back}; remove what the logs do not show (MFA devices, SSH keys, signing certificates, service-specific credentials) and run again\" >&2",
                    a.order,
                );
                if let Some(deny) = &deny {
                    put_back(&mut o, a.order, deny);
                }
                let _ = writeln!(o, "  FAILED=\"$FAILED {}\"\nfi", a.order);
            }
            // Any other command: a failure (AccessDenied, LimitExceeded, a principal deleted
            // meanwhile) is reported and the actions after it still run; under `set -e` alone
            // the first failure stopped the script before every deny after it. Two kinds wait
            // on an earlier action: an attach on the create_policy making its policy (an
            // existing policy of that name holds a document this plan did not write), and the
            // removal of a user's deny-all policy on every step of removing the user before it
            // (the user would be left without its deny, and DeleteUser would fail anyway).
            (kind, true)
                if !matches!(kind, ActionKind::Review | ActionKind::Other(_))
                    && !text.trim_start().starts_with('#') =>
            {
                let (n, k) = (a.order, kind.as_str());
                let waits = match kind {
                    ActionKind::AttachRolePolicy | ActionKind::AttachUserPolicy => a
                        .policy_arn
                        .as_deref()
                        .and_then(|arn| created.get(arn))
                        .map(|m| (format!("CREATE_FAILED_{m}"), format!("its create_policy [{m}] failed, so the policy of that name is not this plan's"))),
                    _ if is_deny_all_removal => removal.map(|d| {
                        (format!("CLEANUP_FAILED_{d}"), "a step of removing this user failed above: its deny-all policy stays on".to_string())
                    }),
                    _ => None,
                };
                if let Some((var, why)) = &waits {
                    write_skip(&mut o, var, n, k, why, None);
                }
                // The step of removing a user that this action is, if any: that removal waits.
                let cleanup_of = removal.filter(|&d| {
                    d > n
                        && matches!(
                            kind,
                            ActionKind::DeleteLoginProfile
                                | ActionKind::DeleteAccessKey
                                | ActionKind::DetachUserPolicy
                                | ActionKind::DeleteUserPolicy
                                | ActionKind::RemoveUserFromGroup
                        )
                });
                let mark = match (kind, cleanup_of) {
                    (ActionKind::CreatePolicy, _) => format!("\n  CREATE_FAILED_{n}=yes"),
                    (_, Some(d)) => format!("\n  CLEANUP_FAILED_{d}=yes"),
                    _ => String::new(),
                };
                let why = failure_meaning(kind, cleanup_of.is_some());
                // A console password already gone is cut: removing it again is no failure (a
                // review: a second run of plan.sh, or a password an admin had deleted, made
                // every run end "not fully applied").
                let gone = match cleanup_of {
                    Some(_) => "the removal goes on",
                    None => "the user has no console password",
                };
                if cleanup_of.is_some() || *kind == ActionKind::DeleteLoginProfile {
                    // A step of removing a user whose object is already gone (the attacker
                    // took the policy or password off again, the trail shows only that it was
                    // put; the responder removed it): IAM answers NoSuchEntity, and the removal
                    // goes on. The match is on the AWS CLI's own words, which no IAM name or
                    // path can hold (they have no spaces).
                    let _ = writeln!(
                        o,
                        "if ! TRAILHOUND_OUT=$({text} 2>&1)\nthen\n  case \"$TRAILHOUND_OUT\" in\n    *\"An error occurred (NoSuchEntity) when calling the \"*)\n      printf '%s\\n' \"$TRAILHOUND_OUT\" >&2\n      echo \"plan.sh: action [{n}] {k}: already gone (AWS said NoSuchEntity, above); {gone}\" >&2 ;;\n    *)\n      printf '%s\\n' \"$TRAILHOUND_OUT\" >&2\n      echo \"plan.sh: action [{n}] {k} FAILED: {why}\" >&2\n      FAILED=\"$FAILED {n}\"{mark_case} ;;\n  esac\nfi",
                        mark_case = mark.replace("\n  ", "\n      "),
                    );
                } else {
                    let _ = writeln!(
                        o,
                        "if ! {text}\nthen\n  echo \"plan.sh: action [{n}] {k} FAILED: {why}\" >&2\n  FAILED=\"$FAILED {n}\"{mark}\nfi"
                    );
                }
            }
            _ => {
                let _ = writeln!(o, "{text}");
            }
        }
        // The body of an `if` needs a command: an action of comments only gets a no-op.
        if in_block && text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            let _ = writeln!(o, ":");
        }
        let _ = writeln!(o);
    }
    if let Some(prev) = current {
        close(&mut o, prev);
    }
    let _ = writeln!(
        o,
        "if [ \"$RAN\" = no ]; then\n  echo \"plan.sh: no block of this plan is for account $CALLER_ACCOUNT\" >&2\n  exit 1\nfi\nif [ -n \"$FAILED\" ]; then\n  echo \"plan.sh: action(s)$FAILED FAILED (see above): the plan is not fully applied\" >&2\n  exit 1\nfi\n"
    );
    for u in &p.unrevocable {
        let _ = writeln!(
            o,
            "# UNREVOCABLE {} ({}): {} valid until {}",
            one_line(&u.credential),
            one_line(u.principal_arn.as_deref().unwrap_or("?")),
            one_line(&u.reason),
            one_line(&crate::time::fmt_or(u.valid_until, "unknown"))
        );
    }
    // Rollback: the denies stay until someone decides they can go.
    let deleted: BTreeSet<(Option<&str>, Option<&str>)> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeleteUser)
        .map(|a| (a.account_id.as_deref(), a.user_name.as_deref()))
        .collect();
    let mut rollback = Vec::new();
    let mut managed = Vec::new();
    for a in p.actions.iter().chain(&p.precautionary) {
        if let (
            ActionKind::AttachRolePolicy | ActionKind::AttachUserPolicy,
            Some(arn),
            Some(policy),
        ) = (&a.kind, a.principal_arn.as_deref(), a.policy_arn.as_deref())
        {
            let principal = arn.rsplit('/').next().unwrap_or("");
            let role = a.kind == ActionKind::AttachRolePolicy;
            if role || !deleted.contains(&(a.account_id.as_deref(), Some(principal))) {
                let (verb, flag) = if role {
                    ("detach-role-policy", "--role-name")
                } else {
                    ("detach-user-policy", "--user-name")
                };
                rollback.push(format!(
                    "#   [account {}] {}",
                    one_line(a.account_id.as_deref().unwrap_or("?")),
                    one_line(&format!(
                        "aws iam {verb} {} --policy-arn {}",
                        super::commands::option(flag, principal),
                        shell_word(policy)
                    ))
                ));
            }
        }
        if let (ActionKind::CreatePolicy, Some(policy)) = (&a.kind, a.policy_arn.as_deref()) {
            // Deleted last: IAM refuses to delete a policy that is still attached.
            managed.push(format!(
                "#   [account {}] {}",
                one_line(a.account_id.as_deref().unwrap_or("?")),
                one_line(&format!("aws iam delete-policy --policy-arn {}", shell_word(policy)))
            ));
        }
        let (Some(arn), Some(name)) = (a.principal_arn.as_deref(), a.policy_name.as_deref()) else {
            continue;
        };
        let principal = arn.rsplit('/').next().unwrap_or("");
        let line = match a.kind {
            ActionKind::PutRolePolicy => format!(
                "aws iam delete-role-policy {} --policy-name {}",
                super::commands::option("--role-name", principal),
                shell_word(name)
            ),
            ActionKind::PutUserPolicy
                if !deleted.contains(&(a.account_id.as_deref(), Some(principal))) =>
            {
                format!(
                    "aws iam delete-user-policy {} --policy-name {}",
                    super::commands::option("--user-name", principal),
                    shell_word(name)
                )
            }
            _ => continue,
        };
        rollback.push(format!(
            "#   [account {}] {}",
            one_line(a.account_id.as_deref().unwrap_or("?")),
            one_line(&line)
        ));
    }
    rollback.extend(managed);
    if !rollback.is_empty() {
        let _ = writeln!(
            o,
            "\n# ----- rollback -----\n# The deny policies need not stay forever: once every tainted session has expired and the\n# principals are cleaned up (keys rotated, trust and permissions reviewed), remove them with:"
        );
        for l in rollback {
            let _ = writeln!(o, "{l}");
        }
    }
    o
}

/// The command that puts the deny-all policy on the user `delete_user` action `d` deletes,
/// when the plan has it (and it is a plain command).
fn deny_all_of(p: &Plan, deny_alls: &DenyAlls<'_>, d: &super::Action) -> Option<String> {
    let a = *deny_alls.of_user(d).first()?;
    let c = a.command.as_str();
    if !command_is_safe(c) || c.contains('\n') {
        return None;
    }
    // A managed deny-all goes back on only if its create_policy ran: a policy of that name
    // that the plan did not make holds a document it did not write. (Looked for only then: an
    // inline one's search of every action was again per removed user.)
    let made = (a.kind == ActionKind::AttachUserPolicy)
        .then(|| {
            p.actions.iter().find(|m| {
                m.kind == ActionKind::CreatePolicy
                    && m.policy_arn.is_some()
                    && m.policy_arn == a.policy_arn
            })
        })
        .flatten();
    Some(match made {
        Some(m) => format!("[ \"${{CREATE_FAILED_{}:-}}\" = yes ] || {c}", m.order),
        None => c.to_string(),
    })
}

/// The plan's deny-all actions on users, by account and user name, in plan order: asked for
/// each of a user's removal steps, a search of every action was quadratic in the users
/// removed (a review: 16,000 attacker-made users, 11 s of plan and more of verify).
pub(super) struct DenyAlls<'p>(
    std::collections::HashMap<(Option<&'p str>, Option<&'p str>), Vec<&'p super::Action>>,
);

impl<'p> DenyAlls<'p> {
    pub(super) fn of(actions: &'p [super::Action]) -> DenyAlls<'p> {
        let mut m: std::collections::HashMap<_, Vec<&super::Action>> = Default::default();
        for a in actions.iter().filter(|a| is_deny_all(a)) {
            let user = a.principal_arn.as_deref().and_then(|arn| arn.rsplit('/').next());
            m.entry((a.account_id.as_deref(), user)).or_default().push(a);
        }
        DenyAlls(m)
    }

    /// The actions that put the deny-all policy on the user that `d` (an action on a user)
    /// acts on, in plan order: inline, or as the managed policy it became where the user's
    /// inline room was used up (F8). Same account, and the last segment of the deny's
    /// principal ARN is `d`'s user name.
    pub(super) fn of_user<'s>(&'s self, d: &'p super::Action) -> &'s [&'p super::Action] {
        let key = (d.account_id.as_deref(), d.user_name.as_deref());
        self.0.get(&key).map_or(&[], Vec::as_slice)
    }
}

/// A deny-all of a user: the inline `TrailhoundDenyAll`, or the managed policy it became.
fn is_deny_all(a: &super::Action) -> bool {
    let name = a.policy_name.as_deref().unwrap_or("");
    match a.kind {
        ActionKind::PutUserPolicy => name == super::DENY_ALL_POLICY_NAME,
        ActionKind::AttachUserPolicy => {
            name.strip_prefix(super::DENY_ALL_POLICY_NAME).is_some_and(|rest| rest.starts_with('-'))
        }
        _ => false,
    }
}

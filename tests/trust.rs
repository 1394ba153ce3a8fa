//! SPEC §8 and §9 on hostile evidence the tests build themselves: log text chosen by the
//! attacker never runs in `plan.sh`, each output format escapes for itself, and no output
//! ever overwrites or pollutes the evidence.

use crate::util::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use trailhound::gen::scenario::Scenario;

/// 2024-03-11T10:00:00Z
const T0: i64 = 1_710_151_200;
const MAIN: &str = "111122223333";
const SECOND: &str = "444455556666";
pub(crate) const LEAKED: &str = "AKIAIOSFODNN7EXAMPLE";

/// Pieces of text an attacker would put in names to break out of a shell word, a comment,
/// a table or a terminal.
const HOSTILE: &[&str] = &[
    "$(echo PWNED >> canary)",
    "`echo PWNED >> canary`",
    "; echo PWNED >> canary;",
    "\necho PWNED >> canary\n",
    "' ; echo PWNED >> canary ; '",
    "\" ; echo PWNED >> canary ; \"",
    "\\",
    "|",
    "&",
    "\r",
    "\u{1b}[2J\u{1b}[31m",
    "#",
    "*",
    "~",
    "{a,b}",
    "${HOME}",
    "%s%n",
    " ",
    "é",
    "\u{2028}",
    "\u{202e}",
    "<script>alert(1)</script>",
    "=HYPERLINK(\"x\")",
    "ok-name",
    ".@+=,_",
];

const FAKE_AWS: &str = r#"#!/bin/bash
{ printf 'CALL\0'; for a in "$@"; do printf '%s\0' "$a"; done; } >> "$FAKE_AWS_LOG"
arg() { local f=$1; shift; while [ $# -gt 0 ]; do if [ "$1" = "$f" ]; then printf '%s' "$2"; return; fi; shift; done; }
op="$1 $2"
fail() { echo "An error occurred ($1) when calling the $2 operation: $3" >&2; exit 254; }
if [ "$op" = "sts get-caller-identity" ]; then printf '%s\n' "$FAKE_AWS_ACCOUNT"; exit 0; fi
if [ -n "${FAKE_AWS_FAIL:-}" ] && [ "$2 $(arg --role-name "$@")" = "$FAKE_AWS_FAIL" ]; then fail LimitExceeded "$2" "refused by the test"; fi
[ -n "${FAKE_AWS_STATE:-}" ] || exit 0
u=$(arg --user-name "$@")
ud="$FAKE_AWS_STATE/users/$u"
[ -n "$u" ] && [ -d "$ud" ] || exit 0
case "$op" in
  "iam update-access-key") [ -e "$ud/keys/$(arg --access-key-id "$@")" ] || fail NoSuchEntity UpdateAccessKey "no such key";;
  "iam delete-access-key") k="$ud/keys/$(arg --access-key-id "$@")"; [ -e "$k" ] || fail NoSuchEntity DeleteAccessKey "no such key"; /bin/rm "$k";;
  "iam put-user-policy") /bin/mkdir -p "$ud/inline"; : > "$ud/inline/$(arg --policy-name "$@")";;
  "iam delete-user-policy") f="$ud/inline/$(arg --policy-name "$@")"; [ -e "$f" ] || fail NoSuchEntity DeleteUserPolicy "no such policy"; /bin/rm "$f";;
  "iam delete-login-profile") [ -e "$ud/login" ] || fail NoSuchEntity DeleteLoginProfile "no login profile"; /bin/rm "$ud/login";;
  "iam attach-user-policy") a=$(arg --policy-arn "$@"); /bin/mkdir -p "$ud/attached"; : > "$ud/attached/${a//\//_}";;
  "iam detach-user-policy") a=$(arg --policy-arn "$@"); f="$ud/attached/${a//\//_}"; [ -e "$f" ] || fail NoSuchEntity DetachUserPolicy "not attached"; /bin/rm "$f";;
  "iam remove-user-from-group") f="$ud/groups/$(arg --group-name "$@")"; [ -e "$f" ] || fail NoSuchEntity RemoveUserFromGroup "not a member"; /bin/rm "$f";;
  "iam delete-user")
    [ -e "$ud/login" ] && fail DeleteConflict DeleteUser "login profile must be deleted first"
    for d in keys inline attached groups mfa; do
      for f in "$ud/$d"/*; do [ -e "$f" ] && fail DeleteConflict DeleteUser "$d must be removed first"; done
    done
    /bin/rm -r "$ud";;
esac
exit 0
"#;

/// A small seeded PRNG (splitmix64): the property test is reproducible.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn hostile(&mut self) -> String {
        let mut s = String::new();
        for _ in 0..1 + self.below(3) {
            s.push_str(HOSTILE[self.below(HOSTILE.len())]);
        }
        if self.below(3) == 0 {
            s.push_str("x1");
        }
        s
    }
}

/// A tainted chain whose every attacker-chosen field is `h(…)`: role and session names, a
/// created user and its policy, a created key id, a bucket, a user agent, a hop into an
/// account whose logs are missing (so that a resource-policy deny names the session), a SAML
/// provider's name and a Lambda function's.
pub(crate) fn hostile_trail(dir: &Path, rng: &mut Rng) {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    let role = format!("arn:aws:iam::{MAIN}:role/{}", rng.hostile());
    let admin = s.assume_role(&leaked, T0 + 60, &role, &rng.hostile(), 43_200);
    s.call_full(
        &admin,
        T0 + 70,
        "iam.amazonaws.com",
        "ListUsers",
        Value::Null,
        Value::Null,
        None,
        &rng.hostile(),
    );
    let user = rng.hostile();
    s.create_user(&admin, T0 + 80, &user);
    s.create_login_profile(&admin, T0 + 90, &user);
    s.attach_user_policy(
        &admin,
        T0 + 100,
        &user,
        &format!("arn:aws:iam::aws:policy/{}", rng.hostile()),
    );
    s.put_user_policy(&admin, T0 + 105, &user, &rng.hostile());
    s.add_user_to_group(&admin, T0 + 106, &user, &rng.hostile());
    let key = if rng.below(2) == 0 { rng.hostile() } else { s.new_key("AKIA") };
    let backdoor = s.create_access_key_with(&admin, T0 + 110, Some(&user), &key);
    s.call(&backdoor, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let foreign_role = format!("arn:aws:iam::{SECOND}:role/{}", rng.hostile());
    let hop = s.assume_role(&admin, T0 + 130, &foreign_role, &rng.hostile(), 3600);
    s.get_object(&hop, T0 + 140, MAIN, &rng.hostile(), &rng.hostile());
    s.call(
        &admin,
        T0 + 150,
        "cloudtrail.amazonaws.com",
        "StopLogging",
        serde_json::json!({"name": rng.hostile()}),
    );
    // A SAML provider re-pointed and a Lambda function changed, both named by the attacker:
    // their review items carry the names.
    let provider = format!("arn:aws:iam::{MAIN}:saml-provider/{}", rng.hostile());
    s.update_saml_provider(&admin, T0 + 160, &provider);
    s.function_change(&admin, T0 + 170, "UpdateFunctionCode20150331v2", &rng.hostile(), None);
    s.write(dir, &[SECOND]).unwrap();
}

/// A directory with a fake `aws` and nothing else: a script that tries to run anything but
/// `aws` finds no such command. The fake appends its arguments (NUL-separated, one `CALL` per
/// run) to `$FAKE_AWS_LOG`, answers `sts get-caller-identity` with `$FAKE_AWS_ACCOUNT`, and,
/// when `$FAKE_AWS_STATE` names a directory, enforces IAM's preconditions on the users found
/// there (`users/NAME/{keys,inline,attached,groups,mfa}/…` and `users/NAME/login`):
/// `delete-user` fails with DeleteConflict while anything remains, deleting what does not exist
/// fails with NoSuchEntity, as AWS answers.
pub fn fake_aws(dir: &Path) -> PathBuf {
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    // The executable is written by a child `install`, never by this (multi-threaded) process:
    // a write descriptor of ours could be inherited by a sibling test's fork and make the exec
    // fail with "Text file busy" (ETXTBSY).
    let src = dir.join("fake-aws.sh");
    std::fs::write(&src, FAKE_AWS).unwrap();
    let st = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&src)
        .arg(bin.join("aws"))
        .status()
        .unwrap();
    assert!(st.success(), "install the fake aws");
    bin
}

fn recorded_calls(log: &Path) -> Vec<Vec<String>> {
    let data = std::fs::read(log).unwrap_or_default();
    let mut calls: Vec<Vec<String>> = Vec::new();
    for part in data.split(|&b| b == 0) {
        let s = String::from_utf8(part.to_vec()).unwrap();
        if s == "CALL" {
            calls.push(Vec::new());
        } else if let Some(c) = calls.last_mut() {
            c.push(s);
        }
    }
    // The split leaves one empty piece after the last NUL.
    if let Some(c) = calls.last_mut() {
        if c.last().is_some_and(String::is_empty) {
            c.pop();
        }
    }
    calls
}

/// What each action of `plan.json` must make `aws` receive, derived here from the action's
/// own fields, independently of the planner.
fn described_calls(plan: &Value, account: &str) -> Vec<Vec<String>> {
    let mut out = vec![vec![
        "sts".to_string(),
        "get-caller-identity".into(),
        "--query".into(),
        "Account".into(),
        "--output".into(),
        "text".into(),
    ]];
    for a in plan["actions"].as_array().unwrap() {
        if a["account_id"] != account {
            continue;
        }
        let f = |k: &str| a[k].as_str().unwrap_or_else(|| panic!("{k} in {a}")).to_string();
        let doc = || serde_json::to_string(&a["policy_document"]).unwrap();
        let words: Vec<String> = match a["type"].as_str().unwrap() {
            "deactivate_access_key" => vec![
                "iam".into(),
                "update-access-key".into(),
                "--user-name".into(),
                f("user_name"),
                "--access-key-id".into(),
                f("access_key_id"),
                "--status".into(),
                "Inactive".into(),
            ],
            "delete_access_key" => vec![
                "iam".into(),
                "delete-access-key".into(),
                "--user-name".into(),
                f("user_name"),
                "--access-key-id".into(),
                f("access_key_id"),
            ],
            t @ ("put_role_policy" | "put_user_policy") => {
                let arn = f("principal_arn");
                let name = arn.rsplit('/').next().unwrap().to_string();
                let (verb, flag) = if t == "put_role_policy" {
                    ("put-role-policy", "--role-name")
                } else {
                    ("put-user-policy", "--user-name")
                };
                vec![
                    "iam".into(),
                    verb.into(),
                    flag.into(),
                    name,
                    "--policy-name".into(),
                    f("policy_name"),
                    "--policy-document".into(),
                    doc(),
                ]
            }
            // Comments only: putting a resource policy replaces the whole policy.
            "resource_policy_deny" => continue,
            "delete_login_profile" => {
                vec![
                    "iam".into(),
                    "delete-login-profile".into(),
                    "--user-name".into(),
                    f("user_name"),
                ]
            }
            "detach_user_policy" => vec![
                "iam".into(),
                "detach-user-policy".into(),
                "--user-name".into(),
                f("user_name"),
                "--policy-arn".into(),
                f("policy_arn"),
            ],
            "delete_user_policy" => vec![
                "iam".into(),
                "delete-user-policy".into(),
                "--user-name".into(),
                f("user_name"),
                "--policy-name".into(),
                f("policy_name"),
            ],
            "remove_user_from_group" => vec![
                "iam".into(),
                "remove-user-from-group".into(),
                "--user-name".into(),
                f("user_name"),
                "--group-name".into(),
                f("group_name"),
            ],
            "delete_user" => {
                vec!["iam".into(), "delete-user".into(), "--user-name".into(), f("user_name")]
            }
            "review" => continue,
            t => panic!("unknown action type {t}"),
        };
        out.push(words);
    }
    out
}

/// Runs `plan.sh` (its review guard removed) under `shell` with only the fake `aws` on
/// PATH, as with credentials of `account`, and the fake's IAM `state` when given. Returns
/// whether it succeeded, the calls `aws` received and stderr.
fn run_plan_sh(
    script: &str,
    shell: &str,
    work: &Path,
    account: &str,
    state: Option<&Path>,
) -> (bool, Vec<Vec<String>>, String) {
    run_plan_sh_failing(script, shell, work, account, state, None)
}

/// [`run_plan_sh`] with the fake refusing one call: `fail` is `"VERB ROLE"`
/// (`"put-role-policy AdminRole"`; `"create-policy "` for a call without a role), answered
/// with LimitExceeded.
pub(crate) fn run_plan_sh_failing(
    script: &str,
    shell: &str,
    work: &Path,
    account: &str,
    state: Option<&Path>,
    fail: Option<&str>,
) -> (bool, Vec<Vec<String>>, String) {
    let body = script
        .replace("echo 'Review this script, then delete this line and the exit below to run it.' >&2\nexit 1\n", "");
    assert_ne!(body, script, "the review guard is where the test expects it");
    let path = work.join("plan.sh");
    std::fs::write(&path, body).unwrap();
    let bin = fake_aws(work);
    let log = work.join("aws.log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = std::process::Command::new(shell);
    cmd.arg(&path)
        .current_dir(work)
        .env_clear()
        .env("PATH", &bin)
        .env("FAKE_AWS_LOG", &log)
        .env("FAKE_AWS_ACCOUNT", account)
        .env("HOME", work);
    if let Some(st) = state {
        cmd.env("FAKE_AWS_STATE", st);
    }
    if let Some(f) = fail {
        cmd.env("FAKE_AWS_FAIL", f);
    }
    let out = cmd.output().unwrap();
    (out.status.success(), recorded_calls(&log), String::from_utf8_lossy(&out.stderr).to_string())
}

/// [`run_plan_sh`] that must succeed.
fn run_script(script: &str, shell: &str, work: &Path, account: &str) -> (Vec<Vec<String>>, String) {
    let (ok, calls, stderr) = run_plan_sh(script, shell, work, account, None);
    assert!(ok, "{shell} plan.sh failed: {stderr}");
    (calls, stderr)
}

fn plan_of(dir: &Path, strategy: &str, out: &Path) -> (Value, String) {
    let plan = out.join("plan.json");
    let script = out.join("plan.sh");
    let o = bin()
        .args(["plan", "--no-progress", "--key", LEAKED, "--strategy", strategy])
        .args(["--effective-at", "2024-03-11T10:30:00Z", "-o"])
        .arg(&plan)
        .arg("--script")
        .arg(&script)
        .arg(dir)
        .output()
        .unwrap();
    let p = json(&std::fs::read(&plan).unwrap());
    // Exit 1 exactly when a deny or a deactivation could not be planned (a name IAM would not
    // accept is a review item) and so some live tainted credential is not cut.
    let uncovered = p["summary"]["uncovered_sessions"].as_u64().unwrap_or(0)
        + p["summary"]["keys_by_hand"].as_u64().unwrap_or(0);
    assert_eq!(
        o.status.code(),
        Some(if uncovered > 0 { 1 } else { 0 }),
        "plan: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (p, std::fs::read_to_string(&script).unwrap())
}

#[test]
fn hostile_names_never_run_in_plan_sh_and_aws_gets_exactly_the_planned_arguments() {
    let mut rng = Rng(0x7A11_4040);
    let shells: Vec<&str> =
        ["/bin/sh", "/bin/bash"].into_iter().filter(|s| Path::new(s).exists()).collect();
    let mut commands_run = 0;
    for case in 0..24 {
        let d = TempDir::new().unwrap();
        let trail = d.path().join("trail");
        hostile_trail(&trail, &mut rng);
        let out = d.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        for strategy in ["strict", "surgical"] {
            let (plan, script) = plan_of(&trail, strategy, &out);
            let mut accounts: Vec<&str> = plan["actions"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["account_id"].as_str())
                .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
                .collect();
            accounts.sort();
            accounts.dedup();
            assert!(
                accounts.contains(&MAIN),
                "case {case}: the leaked key is at least deactivated"
            );
            for shell in &shells {
                for account in &accounts {
                    let expected = described_calls(&plan, account);
                    let (calls, stderr) = run_script(&script, shell, &out, account);
                    assert!(
                        !out.join("canary").exists(),
                        "case {case} ({strategy}, {shell}): log text ran in plan.sh:\n{script}"
                    );
                    let noise: Vec<&str> =
                        stderr.lines().filter(|l| !l.starts_with("plan.sh: ")).collect();
                    assert!(
                        noise.is_empty(),
                        "case {case} ({strategy}, {shell}): {stderr}\n{script}"
                    );
                    assert_eq!(
                        calls, expected,
                        "case {case} ({strategy}, {shell}, {account}): aws received other arguments than plan.json describes"
                    );
                    commands_run += calls.len() - 1;
                }
            }
            // verify parses every command as shell words and agrees (SPEC §6), and finds the
            // script as written (the runs above edit plan.sh) the plan's, byte for byte, from
            // plan.json alone.
            std::fs::write(out.join("as-written.sh"), &script).unwrap();
            let v = bin()
                .args(["verify", "--no-progress", "--format", "json", "--plan"])
                .arg(out.join("plan.json"))
                .arg("--script")
                .arg(out.join("as-written.sh"))
                .arg(&trail)
                .output()
                .unwrap();
            let vj = json(&v.stdout);
            assert_eq!(vj["command_problems"], serde_json::json!([]), "case {case}: {vj}");
            assert_eq!(vj["script"]["matches"], true, "case {case}: {vj}");
            // No comment line of the script carries log text past its end.
            for line in script.lines() {
                assert!(
                    !line.chars().any(|c| c.is_control() && c != '\t'),
                    "control character in {line:?}"
                );
            }
        }
    }
    assert!(commands_run > 100, "the property test ran real commands ({commands_run})");
}

/// A trail with plausible names, for the shellcheck and output-format tests.
fn plain_incident(dir: &Path) -> Scenario {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = s.assume_role(
        &leaked,
        T0 + 60,
        &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
        "ci",
        43_200,
    );
    s.create_user(&admin, T0 + 80, "backup-admin");
    s.create_login_profile(&admin, T0 + 90, "backup-admin");
    s.attach_user_policy(
        &admin,
        T0 + 100,
        "backup-admin",
        "arn:aws:iam::aws:policy/AdministratorAccess",
    );
    let k = s.create_access_key(&admin, T0 + 110, Some("backup-admin"));
    s.call(&k, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let hop = s.assume_role(
        &admin,
        T0 + 130,
        &format!("arn:aws:iam::{SECOND}:role/Audit"),
        "audit",
        3600,
    );
    s.get_object(&hop, T0 + 140, MAIN, "corp-data", "secrets.csv");
    s.write(dir, &[SECOND]).unwrap();
    s
}

/// A tool the CI installs (`.ci/run`); elsewhere its absence skips the check with a reason.
pub(crate) fn tool(name: &str) -> Option<PathBuf> {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return Some(p);
        }
    }
    assert!(std::env::var_os("CI").is_none(), "{name} is missing on CI: .ci/run installs it");
    eprintln!("SKIPPED: {name} is not installed (.ci/run installs it)");
    None
}

#[test]
fn plan_sh_passes_bash_n_and_shellcheck_on_hostile_and_plain_input() {
    let mut rng = Rng(99);
    for hostile in [false, true] {
        let d = TempDir::new().unwrap();
        let trail = d.path().join("trail");
        if hostile {
            hostile_trail(&trail, &mut rng);
        } else {
            plain_incident(&trail);
        }
        let out = d.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let (_, script) = plan_of(&trail, "surgical", &out);
        let p = out.join("plan.sh");
        std::fs::write(&p, &script).unwrap();
        let n = std::process::Command::new("bash").arg("-n").arg(&p).output().unwrap();
        assert!(n.status.success(), "bash -n: {}", String::from_utf8_lossy(&n.stderr));
        if let Some(sc) = tool("shellcheck") {
            // SC2317: the commands after the review guard's `exit 1` are unreachable on purpose.
            let o = std::process::Command::new(sc)
                .args(["-s", "sh", "-e", "SC2317"])
                .arg(&p)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "shellcheck:\n{}\n{script}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
}

#[test]
fn dot_and_mermaid_outputs_are_valid_and_escaped() {
    let mut rng = Rng(5);
    for hostile in [false, true] {
        let d = TempDir::new().unwrap();
        let trail = d.path().join("trail");
        if hostile {
            hostile_trail(&trail, &mut rng);
        } else {
            plain_incident(&trail);
        }
        let dot = bin()
            .args(["sessions", "--no-progress", "--format", "dot", "--key", LEAKED])
            .arg(&trail)
            .output()
            .unwrap();
        let text = String::from_utf8(dot.stdout).unwrap();
        assert!(text.contains("shape=box"), "{text}");
        assert!(!text.contains("[box"), "attributes are name=value pairs: {text}");
        if let Some(d) = tool("dot") {
            let mut c = std::process::Command::new(d)
                .arg("-Tsvg")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            let o = c.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "Graphviz rejects the DOT:\n{}\n{text}",
                String::from_utf8_lossy(&o.stderr)
            );
            let svg = String::from_utf8_lossy(&o.stdout);
            assert!(!svg.contains("<script"), "no markup from a log reaches the SVG");
        }
        let mm = bin()
            .args(["sessions", "--no-progress", "--format", "mermaid", "--key", LEAKED])
            .arg(&trail)
            .output()
            .unwrap();
        let text = String::from_utf8(mm.stdout).unwrap();
        for line in text.lines().skip(1) {
            let t = line.trim();
            // Node lines: id["label"]; edge lines: a -->|label| b. No quote, bracket, pipe or
            // angle bracket from a log inside a label.
            if let Some(rest) = t.split_once("[\"").map(|x| x.1) {
                let label = rest.strip_suffix("\"]").unwrap_or_else(|| panic!("{line}"));
                let label = label.replace("<br/>", "");
                assert!(!label.contains(['"', '<', '>', '[', ']', '|']), "{line}");
            } else {
                let parts: Vec<&str> = t.split('|').collect();
                assert_eq!(parts.len(), 3, "{line}");
            }
        }
    }
}

#[test]
fn csv_markdown_and_terminal_outputs_neutralise_log_text() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let ua = "=HYPERLINK(\"http://203.0.113.9/x\",\"click\")";
    s.call_full(&leaked, T0, "s3.amazonaws.com", "ListBuckets", Value::Null, Value::Null, None, ua);
    let evil = "<img src=x onerror=alert(1)>|\n| injected | row |\u{1b}[2J";
    s.call_full(&leaked, T0 + 5, "iam.amazonaws.com", "CreateUser", serde_json::json!({"userName": evil}),
        serde_json::json!({"user": {"userName": evil, "arn": format!("arn:aws:iam::{MAIN}:user/{evil}")}}), None, "-cmd|' /C calc'!A0");
    s.write(&trail, &[]).unwrap();

    // CSV: no cell starts with a formula character.
    let csv = d.path().join("events.csv");
    let o = bin().args(["export", "--no-progress", "-o"]).arg(&csv).arg(&trail).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert!(text.contains("'-cmd"), "{text}");
    for line in text.lines() {
        for cell in line.split(',') {
            let c = cell.trim_start_matches('"');
            assert!(!c.starts_with(['=', '+', '@']), "formula cell {cell:?} in {line}");
        }
    }
    // Markdown: no raw HTML, no extra table row.
    let md = bin()
        .args(["blast", "--no-progress", "--format", "markdown", "--key", LEAKED])
        .arg(&trail)
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(!md.contains("<img"), "{md}");
    assert!(md.contains("&lt;img"), "{md}");
    assert!(!md.contains("\n| injected"), "{md}");
    assert!(!md.contains('\u{1b}'));
    // Terminal: no escape sequence, no line break from a log.
    for args in [&["blast", "--key", LEAKED][..], &["sessions", "--key", LEAKED], &["scan"]] {
        let o = bin().args(args).arg("--no-progress").arg(&trail).output().unwrap();
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(!out.contains('\u{1b}'), "{args:?}: raw escape sequence");
        assert!(!out.lines().any(|l| l.starts_with("| injected")), "{args:?}: {out}");
    }
}

/// A trail (in a temporary directory, kept as long as the `TempDir`) of one call with the
/// leaked key, for tests that add hostile files beside it.
fn one_call_trail() -> (TempDir, PathBuf) {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.call(&leaked, T0, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.write(&trail, &[]).unwrap();
    (d, trail)
}

/// A forged line a log value would try to start in a terminal table.
const FORGED_LINE: &str = "\nfiles     0 seen, 0 read, 0 skipped, 0 failed\u{1b}[2J";

#[test]
fn scan_table_keeps_forged_accounts_regions_and_sources_on_one_line() {
    let (_d, trail) = one_call_trail();
    // A forged record whose account, region and event source each try to start a line.
    let mut forged: Value = serde_json::from_str(&record(
        "aaaaaaaa-1111-2222-3333-444444444444",
        "2024-03-11T10:05:00Z",
    ))
    .unwrap();
    forged["recipientAccountId"] = Value::from(format!("{MAIN}{FORGED_LINE}"));
    forged["awsRegion"] = Value::from(format!("us-east-1{FORGED_LINE}"));
    forged["eventSource"] = Value::from(format!("iam.amazonaws.com{FORGED_LINE}"));
    let body = serde_json::to_vec(&serde_json::json!({"Records": [forged]})).unwrap();
    write(&trail, "forged.json.gz", &gz(&body));

    let o = bin().args(["scan", "--no-progress"]).arg(&trail).output().unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.contains('\u{1b}'), "raw escape sequence:\n{out}");
    // One "files" line, the first: the forged ones stay inside their rows.
    let files_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("files")).collect();
    assert_eq!(files_lines.len(), 1, "{out}");
    assert!(out.starts_with("files     2 seen"), "{out}");
    // Each forged value is still shown, escaped, in its section.
    for v in
        [format!("{MAIN}\\nfiles"), "us-east-1\\nfiles".into(), "iam.amazonaws.com\\nfiles".into()]
    {
        assert!(
            out.lines().any(|l| l.starts_with("  ") && l.contains(&v) && l.contains("\\u{1b}[2J")),
            "{v} not on one line:\n{out}"
        );
    }
}

#[test]
fn stderr_names_hostile_files_on_one_line() {
    let (_d, trail) = one_call_trail();
    // Damaged files whose names try to print a line of their own and clear the screen.
    let damaged = "bad\ntrailhound: 0 problems\u{1b}[2J.json.gz";
    write(&trail, damaged, b"not gzip");
    let other = "x\u{1b}[31m.json";
    write(&trail, other, b"{\"a\":1}");

    let o = bin().args(["scan", "--no-progress"]).arg(&trail).output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    // A `.json.gz` that is not gzip is damaged evidence (exit 3); the other is skipped.
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(!err.contains('\u{1b}'), "raw escape sequence:\n{err}");
    assert!(err.lines().all(|l| l.starts_with("trailhound: ")), "{err}");
    assert!(!err.lines().any(|l| l.starts_with("trailhound: 0 problems")), "{err}");
    let named = |how: &str, name: &str| {
        err.lines().any(|l| l.starts_with(&format!("trailhound: {how}: ")) && l.contains(name))
    };
    assert!(named("error", "bad\\ntrailhound: 0 problems\\u{1b}[2J.json.gz"), "{err}");
    assert!(named("skipped", "x\\u{1b}[31m.json"), "{err}");

    // Named on the command line, the same file is a fatal error: still no raw escape.
    let o = bin().args(["scan", "--no-progress"]).arg(trail.join(other)).output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains('\u{1b}'), "raw escape sequence:\n{err}");
    assert!(
        err.lines().any(|l| l.starts_with("trailhound: error: no input could be read")),
        "{err}"
    );
}

fn assert_refused(args: &[&str], trail: &Path, untouched: &Path) {
    let before = std::fs::read(untouched).ok();
    let o = bin().args(args).arg("--no-progress").arg(trail).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains("refusing to write"), "{args:?}: {err}");
    assert_eq!(std::fs::read(untouched).ok(), before, "{args:?} touched {}", untouched.display());
}

#[test]
fn outputs_never_overwrite_or_pollute_the_evidence() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let input = files_under(&trail)[0].clone();
    let inp = input.to_str().unwrap();
    let inside = trail.join("AWSLogs/out.json");
    let ins = inside.to_str().unwrap();
    // Into the trail, or onto one of its files, through each option that writes.
    assert_refused(&["plan", "--key", LEAKED, "-o", ins], &trail, &inside);
    assert_refused(&["plan", "--key", LEAKED, "--script", inp], &trail, &input);
    assert_refused(
        &["blast", "--key", LEAKED, "--events-out", &format!("{ins}l")],
        &trail,
        &inside,
    );
    assert_refused(&["export", "-o", &format!("{}/x.parquet", trail.display())], &trail, &input);
    assert_refused(&["export", "--partition", "-o", trail.to_str().unwrap()], &trail, &input);
    assert_refused(
        &["investigate", "--key", LEAKED, "-o", trail.join("case").to_str().unwrap()],
        &trail,
        &input,
    );
    assert!(!trail.join("case").exists(), "the case folder is not created");
    // An input named as a file: the output may not be that file, even through a symlink.
    let link = d.path().join("link.jsonl");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    std::fs::create_dir_all(d.path().join("sub")).unwrap();
    assert_refused(
        &["export", "-o", &format!("{}", d.path().join("sub/../link.jsonl").display())],
        &input,
        &input,
    );
    let o = bin()
        .args(["plan", "--no-progress", "--key", LEAKED, "-o"])
        .arg(&link)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "symlink to the input: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Two outputs that are one file, however spelled (the script replaced the plan).
    let earlier = d.path().join("p.json");
    std::fs::write(&earlier, b"an earlier plan").unwrap();
    let p = earlier.to_str().unwrap();
    let other = format!("{}/sub/../p.json", d.path().display());
    for second in [p, other.as_str()] {
        assert_refused(&["plan", "--key", LEAKED, "-o", p, "--script", second], &trail, &earlier);
    }
    // Beside the trail is fine.
    let ok = d.path().join("plan.json");
    let o = bin()
        .args(["plan", "--no-progress", "--key", LEAKED, "-o"])
        .arg(&ok)
        .arg(&trail)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn links_planted_at_an_outputs_name_are_replaced_never_written_through() {
    // A case folder prepared by someone else, `--script` naming a hard link into the trail,
    // a cache whose `files` folder leads into the trail: the paths are outside the evidence,
    // what they lead to is not.
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let logs = files_under(&trail);
    let before: Vec<Vec<u8>> = logs.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let notes = d.path().join("notes.txt");
    std::fs::write(&notes, b"case notes").unwrap();
    let case = d.path().join("case");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::hard_link(&logs[0], case.join("report.html")).unwrap();
    std::fs::hard_link(&logs[1 % logs.len()], case.join("tainted-events.parquet")).unwrap();
    std::os::unix::fs::symlink(&notes, case.join("plan.sh")).unwrap();
    // `args`, then the output `out`, over the trail.
    let run = |args: &[&str], out: &Path| bin().args(args).arg(out).arg(&trail).output().unwrap();
    let o = run(&["investigate", "--no-progress", "-q", "--key", LEAKED, "-o"], &case);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(case.join("report.html")).unwrap();
    assert!(html.contains("<html"), "the case's own report is in place");
    assert!(!std::fs::symlink_metadata(case.join("plan.sh")).unwrap().file_type().is_symlink());
    let hard = d.path().join("hl.sh");
    std::fs::hard_link(&logs[0], &hard).unwrap();
    let o = run(&["plan", "--no-progress", "-q", "--key", LEAKED, "--script"], &hard);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(&hard).unwrap().starts_with("#!"));
    // The cache's `files` folder as a link into the trail: refused before anything is written.
    let cache = d.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::os::unix::fs::symlink(trail.join("AWSLogs"), cache.join("files")).unwrap();
    let o = run(&["scan", "--no-progress", "--cache"], &cache);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--cache") && err.contains("evidence"), "{err}");
    // A partition folder of `export --partition` planted as a link into the trail: refused.
    let parts = d.path().join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    std::os::unix::fs::symlink(trail.join("AWSLogs"), parts.join("account=111122223333")).unwrap();
    let o = run(&["export", "--no-progress", "--partition", "-o"], &parts);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    // The evidence, and the file outside it a link led to, are as they were.
    assert_eq!(files_under(&trail), logs, "no file added to the trail");
    for (f, b) in logs.iter().zip(&before) {
        assert_eq!(&std::fs::read(f).unwrap(), b, "{} changed", f.display());
    }
    assert_eq!(std::fs::read(&notes).unwrap(), b"case notes");
}

#[test]
fn an_output_the_trail_reaches_through_a_link_is_refused() {
    // The walk follows links: a cache (or a plan) that a link inside the trail leads to would
    // be read back as evidence, and a cache so read grew with every run.
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let cache = d.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::os::unix::fs::symlink(&cache, trail.join("AWSLogs/extra")).unwrap();
    let marker = cache.join("marker");
    std::fs::write(&marker, b"x").unwrap();
    let o =
        bin().args(["scan", "--no-progress", "--cache"]).arg(&cache).arg(&trail).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("reaches it through the link"), "{err}");
    let left: Vec<_> =
        std::fs::read_dir(&cache).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("marker")], "nothing written to the cache");
    // A plan into the linked directory, and a link to its parent: refused too.
    let plan = cache.join("plan.json");
    assert_refused(&["plan", "--key", LEAKED, "-o", plan.to_str().unwrap()], &trail, &plan);
    std::fs::remove_file(trail.join("AWSLogs/extra")).unwrap();
    std::os::unix::fs::symlink(d.path(), trail.join("AWSLogs/up")).unwrap();
    assert_refused(&["plan", "--key", LEAKED, "-o", plan.to_str().unwrap()], &trail, &plan);
    // Without the link, the same cache is used.
    std::fs::remove_file(trail.join("AWSLogs/up")).unwrap();
    let o = bin()
        .args(["scan", "--no-progress", "-q", "--cache"])
        .arg(&cache)
        .arg(&trail)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn an_output_through_a_dangling_link_or_onto_standard_input_is_refused() {
    // `-o` names a link outside the trail that points to a file not yet made inside it: the
    // write would follow the link into the evidence.
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let target = trail.join("AWSLogs/events.parquet");
    let link = d.path().join("out.parquet");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_refused(&["export", "-o", link.to_str().unwrap()], &trail, &target);
    assert_refused(&["plan", "--key", LEAKED, "-o", link.to_str().unwrap()], &trail, &target);
    assert!(!target.exists(), "nothing written into the trail");
    // A chain of two links, the second relative: refused too.
    let hop = d.path().join("hop");
    std::os::unix::fs::symlink("trail/AWSLogs/x.jsonl", &hop).unwrap();
    let first = d.path().join("first.jsonl");
    std::os::unix::fs::symlink(&hop, &first).unwrap();
    assert_refused(
        &["export", "-o", first.to_str().unwrap()],
        &trail,
        &trail.join("AWSLogs/x.jsonl"),
    );
    // Evidence on standard input, `-o` naming that same file: refused, the file untouched.
    let lake = d.path().join("lake.jsonl");
    let rec = std::fs::read(&files_under(&trail)[0]).unwrap();
    let mut text = Vec::new();
    trailhound::ingest::decompress::gunzip_into(&rec, &mut text, 1 << 30).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let lines: Vec<String> =
        v["Records"].as_array().unwrap().iter().map(|r| r.to_string()).collect();
    std::fs::write(&lake, lines.join("\n") + "\n").unwrap();
    let before = std::fs::read(&lake).unwrap();
    // Standard input is the file itself (a shell's `< lake.jsonl`), not a pipe.
    let on_stdin = |out: &Path| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("trailhound"))
            .args(["export", "--no-progress", "-", "-o"])
            .arg(out)
            .stdin(std::fs::File::open(&lake).unwrap())
            .output()
            .unwrap()
    };
    let o = on_stdin(&lake);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("standard input"), "{err}");
    assert_eq!(std::fs::read(&lake).unwrap(), before, "the evidence is untouched");
    // Another file as output: written.
    let other = d.path().join("table.jsonl");
    let o = on_stdin(&other);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(other.exists());
}

/// An `--iam` snapshot is evidence too: taken before containment, it cannot be taken again.
/// `plan -o` naming a snapshot file replaced it, and a case folder written into a snapshot
/// folder was read as snapshot files by every later run (a review); the cache may not go
/// there either. And a link inside the trail to nothing yet: an output created where it
/// points was read back through it as evidence by the next run.
#[test]
fn outputs_never_land_in_the_iam_snapshot_nor_where_a_dangling_link_in_the_trail_points() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let iam = d.path().join("iam");
    std::fs::create_dir_all(&iam).unwrap();
    let keys = iam.join("keys.json");
    std::fs::write(
        &keys,
        r#"{"AccessKeyMetadata":[{"UserName":"ci-deployer","AccessKeyId":"AKIAIOSFODNN7EXAMPLE","Status":"Active","CreateDate":"2024-01-01T00:00:00Z"}]}"#,
    )
    .unwrap();
    let (k, i) = (keys.to_str().unwrap(), iam.to_str().unwrap());
    let case = iam.join("case");
    assert_refused(&["plan", "--key", LEAKED, "--iam", k, "-o", k], &trail, &keys);
    assert_refused(
        &["plan", "--key", LEAKED, "--iam", i, "--script", &format!("{i}/p.sh")],
        &trail,
        &keys,
    );
    assert_refused(
        &["blast", "--key", LEAKED, "--iam", i, "--events-out", &format!("{i}/e.csv")],
        &trail,
        &keys,
    );
    assert_refused(
        &["investigate", "--key", LEAKED, "--iam", i, "-o", case.to_str().unwrap()],
        &trail,
        &keys,
    );
    assert_refused(
        &["plan", "--key", LEAKED, "--iam", i, "--cache", &format!("{i}/cache")],
        &trail,
        &keys,
    );
    assert_eq!(std::fs::read_dir(&iam).unwrap().count(), 1, "only the snapshot is there");
    // A link in the trail to a folder not made yet, beside the trail: an output there is
    // refused, the cache included, and nothing is made.
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let logs = files_under(&trail)[0].parent().unwrap().to_path_buf();
    std::os::unix::fs::symlink(out.join("case"), logs.join("more")).unwrap();
    std::os::unix::fs::symlink(out.join("cache"), logs.join("c")).unwrap();
    let input = files_under(&trail)[0].clone();
    assert_refused(
        &["investigate", "--key", LEAKED, "-o", out.join("case").to_str().unwrap()],
        &trail,
        &input,
    );
    assert_refused(&["scan", "--cache", out.join("cache").to_str().unwrap()], &trail, &input);
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing made");
    // Elsewhere beside the trail: written.
    let o = bin()
        .args(["investigate", "--no-progress", "-q", "--key", LEAKED, "--iam", i, "-o"])
        .arg(out.join("elsewhere"))
        .arg(&trail)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("elsewhere/plan.json").exists());
}

#[test]
fn an_implausible_key_id_never_reaches_a_command() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin =
        s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/AdminRole"), "ci", 3600);
    s.create_user(&admin, T0 + 10, "svc");
    let forged = "AKIA1234;curl 203.0.113.9|sh";
    s.create_access_key_with(&admin, T0 + 20, Some("svc"), forged);
    s.write(&trail, &[]).unwrap();
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (plan, script) = plan_of(&trail, "strict", &out);
    assert!(!script.lines().any(|l| !l.starts_with('#') && l.contains("curl")), "{script}");
    let acts = plan["actions"].as_array().unwrap();
    assert!(acts.iter().all(|a| a["access_key_id"].as_str() != Some(forged)), "{plan}");
    assert!(
        acts.iter().any(|a| a["type"] == "review"
            && a["reason"].as_str().unwrap().contains("not a valid access key id")),
        "{plan}"
    );
}

/// Sets up the fake IAM state of `user`: what the incident gave it.
struct IamUser<'a> {
    keys: &'a [&'a str],
    login: bool,
    attached: &'a [&'a str],
    inline: &'a [&'a str],
    groups: &'a [&'a str],
    mfa: &'a [&'a str],
}

fn iam_user(state: &Path, user: &str, u: IamUser) {
    let ud = state.join("users").join(user);
    let (keys, login, attached, groups, mfa) = (u.keys, u.login, u.attached, u.groups, u.mfa);
    for (dir, items) in [
        ("keys", keys),
        ("attached", attached),
        ("inline", u.inline),
        ("groups", groups),
        ("mfa", mfa),
    ] {
        std::fs::create_dir_all(ud.join(dir)).unwrap();
        for i in items {
            std::fs::write(ud.join(dir).join(i.replace('/', "_")), b"").unwrap();
        }
    }
    std::fs::create_dir_all(ud.join("inline")).unwrap();
    if login {
        std::fs::write(ud.join("login"), b"").unwrap();
    }
}

fn run_with_state(script: &str, work: &Path, state: &Path, account: &str) -> (bool, String) {
    let (ok, _, stderr) = run_plan_sh(script, "/bin/sh", work, account, Some(state));
    (ok, stderr)
}

#[test]
fn plan_sh_runs_end_to_end_against_aws_preconditions() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = s.assume_role(
        &leaked,
        T0 + 60,
        &format!("arn:aws:iam::{MAIN}:role/AdminRole"),
        "ci",
        43_200,
    );
    s.create_user(&admin, T0 + 80, "backup-admin");
    s.create_login_profile(&admin, T0 + 90, "backup-admin");
    s.attach_user_policy(
        &admin,
        T0 + 100,
        "backup-admin",
        "arn:aws:iam::aws:policy/AdministratorAccess",
    );
    s.put_user_policy(&admin, T0 + 101, "backup-admin", "inline-admin");
    s.add_user_to_group(&admin, T0 + 102, "backup-admin", "admins");
    let serial = format!("arn:aws:iam::{MAIN}:mfa/backup-admin");
    let mfa = serde_json::json!({ "userName": "backup-admin", "serialNumber": serial });
    s.call(&admin, T0 + 103, "iam.amazonaws.com", "EnableMFADevice", mfa);
    let k1 = s.create_access_key(&admin, T0 + 110, Some("backup-admin"));
    let k2 = s.create_access_key(&k1, T0 + 115, None);
    s.call(&k2, T0 + 120, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let hop = s.assume_role(
        &admin,
        T0 + 130,
        &format!("arn:aws:iam::{SECOND}:role/Audit"),
        "audit",
        3600,
    );
    s.call(&hop, T0 + 140, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.write(&trail, &[]).unwrap();
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (plan, script) = plan_of(&trail, "strict", &out);

    let state_with = |mfa: &[&str], leaked_keys: &[&str]| {
        let state = TempDir::new().unwrap();
        let keys = [k1.key.as_str(), k2.key.as_str()];
        let attached = ["arn:aws:iam::aws:policy/AdministratorAccess"];
        iam_user(
            state.path(),
            "backup-admin",
            IamUser {
                keys: &keys,
                login: true,
                attached: &attached,
                inline: &["inline-admin"],
                groups: &["admins"],
                mfa,
            },
        );
        iam_user(
            state.path(),
            "ci-deployer",
            IamUser {
                keys: leaked_keys,
                login: false,
                attached: &[],
                inline: &[],
                groups: &[],
                mfa: &[],
            },
        );
        state
    };
    let fresh_state = |mfa: &[&str]| state_with(mfa, &[LEAKED]);
    // With credentials of each account in turn, the whole script runs.
    let state = fresh_state(&[]);
    for account in [MAIN, SECOND] {
        let (ok, err) = run_with_state(&script, &out, state.path(), account);
        assert!(ok, "{account}: {err}\n{script}");
        assert!(err.contains(&format!("running the block of account {account}")), "{err}");
    }
    assert!(
        !state.path().join("users/backup-admin").exists(),
        "the attacker's user is deleted:\n{script}"
    );
    assert_eq!(actions_for(&plan, "delete_user").len(), 1);
    // The MFA device the evidence shows is a review item (its serial comes from a list call),
    // named in the delete_user action, which DeleteUser would otherwise refuse.
    let delete = actions_for(&plan, "delete_user")[0]["reason"].as_str().unwrap();
    assert!(delete.contains("The evidence shows EnableMFADevice on it"), "{delete}");
    assert!(
        actions_for(&plan, "review").iter().any(|a| a["command"]
            .as_str()
            .unwrap()
            .contains("# aws iam deactivate-mfa-device --user-name 'backup-admin'")),
        "{plan}"
    );
    // An account the plan does not name: nothing runs, and the script says so.
    let (ok, err) = run_with_state(&script, &out, fresh_state(&[]).path(), "123456789012");
    assert!(!ok && err.contains("no block of this plan is for account 123456789012"), "{err}");
    // Something the logs do not show (an MFA device): DeleteUser refuses, the script stops.
    let state = fresh_state(&["arn:aws:iam::111122223333:mfa/backup-admin"]);
    let (ok, err) = run_with_state(&script, &out, state.path(), MAIN);
    assert!(
        !ok && err.contains("DeleteConflict"),
        "the fake enforces DeleteUser's preconditions: {err}"
    );
    // ... and the user is not left without its deny: the deny-all policy goes back on.
    assert!(err.contains("delete_user FAILED: putting the deny-all policy back"), "{err}");
    assert!(state.path().join("users/backup-admin/inline/TrailhoundDenyAll").exists(), "{err}");
    assert!(err.contains("FAILED (see above): the plan is not fully applied"), "{err}");
    // The deny-all cannot go back on either (refused here; the user deleted meanwhile,
    // throttling): said, and the script still runs to its end instead of stopping there
    // under `set -e` with the actions after it not run.
    let state = fresh_state(&["arn:aws:iam::111122223333:mfa/backup-admin"]);
    let (ok, _, err) = run_plan_sh_failing(
        &script,
        "/bin/sh",
        &out,
        MAIN,
        Some(state.path()),
        Some("put-user-policy "),
    );
    assert!(!ok, "{err}");
    assert!(err.contains("putting the deny-all policy back FAILED"), "{err}");
    assert!(
        err.contains("FAILED (see above): the plan is not fully applied"),
        "it ran to its end: {err}"
    );
    // The leaked key already deleted by the responder: its deactivation fails, and the denies
    // after it still run; the script still ends in failure, saying why.
    let state = state_with(&[], &[]);
    let (ok, calls, err) = run_plan_sh(&script, "/bin/sh", &out, MAIN, Some(state.path()));
    assert!(!ok, "{err}");
    assert!(err.contains("deactivate_access_key FAILED: if AWS said NoSuchEntity"), "{err}");
    // NoSuchEntity also answers a key named under another user: the text says how to tell.
    assert!(err.contains("OR belongs to another user"), "{err}");
    assert!(err.contains("aws iam get-access-key-last-used --access-key-id"), "{err}");
    assert!(
        calls.iter().any(|c| c.get(1).map(String::as_str) == Some("put-role-policy")
            && c.contains(&"AdminRole".to_string())),
        "the deny after the failed deactivation still ran: {calls:?}"
    );
    assert!(!state.path().join("users/backup-admin").exists(), "{err}");
    // A deny IAM refuses (LimitExceeded here; AccessDenied, a role deleted meanwhile): the
    // script reports it and still makes every other call of the block, then fails.
    let state = fresh_state(&[]);
    let (ok, calls, err) = run_plan_sh_failing(
        &script,
        "/bin/sh",
        &out,
        MAIN,
        Some(state.path()),
        Some("put-role-policy AdminRole"),
    );
    assert!(!ok, "{err}");
    assert!(
        err.contains("put_role_policy FAILED: the tainted sessions this deny covers are NOT cut"),
        "{err}"
    );
    assert!(err.contains("FAILED (see above): the plan is not fully applied"), "{err}");
    assert_eq!(calls, described_calls(&plan, MAIN), "every action was still tried: {err}");
    assert!(!state.path().join("users/backup-admin").exists(), "{err}");
    // What a step of removing the user would take off is already gone (the attacker took its
    // password and its admin policy off again after the trail showed them put, or the responder
    // did): IAM answers NoSuchEntity, the removal goes on and the user is deleted.
    let state = state_with(&[], &[LEAKED]);
    std::fs::remove_file(state.path().join("users/backup-admin/login")).unwrap();
    std::fs::remove_file(
        state
            .path()
            .join("users/backup-admin/attached/arn:aws:iam::aws:policy_AdministratorAccess"),
    )
    .unwrap();
    let (ok, _, err) = run_plan_sh(&script, "/bin/sh", &out, MAIN, Some(state.path()));
    assert!(ok, "{err}");
    assert!(
        err.contains(
            "delete_login_profile: already gone (AWS said NoSuchEntity, above); the removal goes on"
        ),
        "{err}"
    );
    assert!(err.contains("detach_user_policy: already gone"), "{err}");
    assert!(!state.path().join("users/backup-admin").exists(), "{err}");
    // Any other failure of a step of removing the user (LimitExceeded here; AccessDenied): the
    // rest of the removal waits, the user keeps its deny-all policy, and the script fails.
    let state = state_with(&[], &[LEAKED]);
    let (ok, calls, err) = run_plan_sh_failing(
        &script,
        "/bin/sh",
        &out,
        MAIN,
        Some(state.path()),
        Some("delete-login-profile "),
    );
    assert!(!ok, "{err}");
    assert!(err.contains("An error occurred (LimitExceeded)"), "AWS's own words are shown: {err}");
    assert!(
        err.contains("delete_login_profile FAILED: the removal of this user stops here"),
        "{err}"
    );
    assert!(
        err.contains("delete_user SKIPPED: a step of removing this user failed above"),
        "{err}"
    );
    assert!(state.path().join("users/backup-admin/inline/TrailhoundDenyAll").exists(), "{err}");
    assert!(
        !calls.iter().any(|c| c.get(1).map(String::as_str) == Some("delete-user")),
        "{calls:?}"
    );
    // The rollback section names every deny it can remove.
    assert!(script.contains("# ----- rollback -----"), "{script}");
    assert!(script.contains("delete-role-policy --role-name 'AdminRole'"), "{script}");
}

fn actions_for<'a>(plan: &'a Value, kind: &str) -> Vec<&'a Value> {
    plan["actions"].as_array().unwrap().iter().filter(|a| a["type"] == kind).collect()
}

/// A role chain is as deep as its records say: each hop one `AssumeRole` signed with the
/// session before it. `sessions` draws it without a call per level (30,000 levels, 2 MB of
/// gzipped logs, overflowed the stack and aborted) and without indenting past a fixed depth
/// (indented all the way, each line was as long as the chain is deep: O(hops²) text); the
/// deeper lines say their depth instead.
#[test]
fn a_role_chain_thirty_thousand_hops_deep_is_drawn_not_a_crash() {
    const HOPS: usize = 30_000;
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let mut c = s.user_key(MAIN, "ci-deployer", LEAKED);
    let role = format!("arn:aws:iam::{MAIN}:role/hop");
    for i in 0..HOPS {
        c = s.assume_role(&c, T0 + i as i64, &role, &format!("h{i}"), 43_200);
    }
    s.write(&trail, &[]).unwrap();
    let o =
        bin().args(["sessions", "--no-progress", "--key", LEAKED]).arg(&trail).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let hops: Vec<&str> = out.lines().filter(|l| l.contains("AssumeRole")).collect();
    assert_eq!(hops.len(), HOPS, "one line per hop");
    assert!(hops[0].starts_with("└─ AssumeRole"), "{}", hops[0]);
    assert!(hops[HOPS - 1].contains(&format!("[{HOPS}] AssumeRole")), "{}", hops[HOPS - 1]);
    let widest = out.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 160, "a line of {widest} characters");
}

/// A cut-off given before a tainted session was issued cannot cut it (F14): the plan must
/// not count it as covered, must say so on stderr and in `plan.sh`, and exits 1, as `verify`
/// does on the same plan. With a cut-off after the issue time, the same trail plans clean.
#[test]
fn a_cut_off_before_a_tainted_session_is_never_reported_as_covering_it() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let c = s.user_key(MAIN, "ci-deployer", LEAKED);
    // Issued at 11:00 for 12 hours; the cut-off below is 10:30.
    s.assume_role(&c, T0 + 3600, &format!("arn:aws:iam::{MAIN}:role/Deploy"), "late", 43_200);
    s.write(&trail, &[]).unwrap();
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let run = |cut: &str, name: &str| {
        let plan = out.join(format!("{name}.json"));
        let script = out.join(format!("{name}.sh"));
        let mut cmd = bin();
        cmd.args(["plan", "--no-progress", "--key", LEAKED, "-o"]).arg(&plan);
        cmd.arg("--script").arg(&script);
        let o = cmd.args(["--effective-at", cut]).arg(&trail).output().unwrap();
        let p = json(&std::fs::read(&plan).unwrap());
        let v = bin().args(["verify", "--no-progress", "--plan"]).arg(&plan).arg(&trail).output();
        let v = v.unwrap();
        (o, p, std::fs::read_to_string(&script).unwrap(), v)
    };

    let (o, p, script, v) = run("2024-03-11T10:30:00Z", "early");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does NOT cut 1 live tainted session"), "{stderr}");
    assert_eq!(p["summary"]["tainted_sessions"], 1);
    assert_eq!(p["summary"]["covered_sessions"], 0, "{}", p["summary"]);
    assert_eq!(p["summary"]["uncovered_sessions"], 1, "{}", p["summary"]);
    let deny = p["actions"].as_array().unwrap().iter().find(|a| a["type"] == "put_role_policy");
    let deny = deny.expect("the role still gets its deny");
    assert_eq!(deny["covers"], serde_json::json!([]), "{deny}");
    assert!(p["notes"].as_array().unwrap().iter().any(|n| n
        .as_str()
        .is_some_and(|n| n.starts_with("NOT COVERED: 1 live tainted session(s) of role Deploy"))));
    assert!(
        script.contains("# WARNING: this plan does NOT cut 1 live tainted session"),
        "{script}"
    );
    assert_eq!(v.status.code(), Some(1), "verify agrees: {}", String::from_utf8_lossy(&v.stdout));

    let (o, p, script, v) = run("2024-03-11T11:30:00Z", "later");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(p["summary"]["covered_sessions"], 1, "{}", p["summary"]);
    assert!(p["summary"].get("uncovered_sessions").is_none(), "{}", p["summary"]);
    assert!(!script.contains("WARNING"), "{script}");
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stdout));
}

/// `plan` with `args` on `trail`, writing `plan.json` beside it, then `verify` of that plan:
/// plan's exit code, the plan, plan's stderr and verify's exit code.
fn plan_then_verify(trail: &Path, args: &[&str]) -> (Option<i32>, Value, String, Option<i32>) {
    let plan = trail.with_file_name("plan.json");
    let mut cmd = bin();
    cmd.args(["plan", "--no-progress"]).args(args).arg("-o").arg(&plan).arg(trail);
    let o = cmd.output().unwrap();
    let p = json(&std::fs::read(&plan).unwrap());
    let v = bin().args(["verify", "--no-progress", "--plan"]).arg(&plan).arg(trail).output();
    (o.status.code(), p, String::from_utf8_lossy(&o.stderr).into_owned(), v.unwrap().status.code())
}

/// A deny that cannot be written as a command (a role name IAM would not accept, from a
/// forged record) becomes a review item: the plan does not count its session as covered,
/// says so, and exits 1, as `verify` does.
#[test]
fn a_deny_left_to_a_review_item_is_not_counted_as_covering_anything() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let c = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.assume_role(&c, T0 + 60, &format!("arn:aws:iam::{MAIN}:role/Admin;x"), "ci", 43_200);
    s.write(&trail, &[]).unwrap();
    let args = ["--key", LEAKED, "--effective-at", "2024-03-11T10:30:00Z"];
    let (code, p, stderr, vcode) = plan_then_verify(&trail, &args);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(p["summary"]["covered_sessions"], 0, "{}", p["summary"]);
    assert_eq!(p["summary"]["uncovered_sessions"], 1, "{}", p["summary"]);
    assert_eq!(p["summary"]["policies"], 0, "{}", p["summary"]);
    assert!(p["actions"].as_array().unwrap().iter().all(|a| a["type"] != "put_role_policy"), "{p}");
    let notes = p["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n.as_str().unwrap().starts_with("NOT COVERED: the deny for role")),
        "{notes:?}"
    );
    assert_eq!(vcode, Some(1));
}

/// A leaked temporary key seen only in calls that name no principal (no issuing event, no
/// ARN): no deny can be planned for it. The plan does not call it unrevocable (it is only
/// not provably cut): it is uncovered, and plan exits 1 as verify does.
#[test]
fn a_session_of_unknown_principal_is_uncovered_not_unrevocable() {
    let d = TempDir::new().unwrap();
    let key = "ASIAEXAMPLEUNKNOWN01";
    let rec = record("00000000-0000-0000-0000-0000000000c1", "2024-03-11T10:05:00Z").replace(
        r#""userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER00001","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEALICE0001","userName":"alice"}"#,
        &format!(r#""userIdentity":{{"type":"AssumedRole","accountId":"111122223333","accessKeyId":"{key}"}}"#),
    );
    assert!(rec.contains(key));
    write(
        d.path(),
        "trail/AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/11/u.json.gz",
        &gz(format!("{{\"Records\":[{rec}]}}").as_bytes()),
    );
    let trail = d.path().join("trail");
    let args = ["--key", key, "--effective-at", "2024-03-11T10:10:00Z"];
    let (code, p, stderr, vcode) = plan_then_verify(&trail, &args);
    assert_eq!(p["summary"]["tainted_sessions"], 1, "{}", p["summary"]);
    assert_eq!(p["summary"]["unrevocable_sessions"], 0, "{}", p["summary"]);
    assert_eq!(p["summary"]["uncovered_sessions"], 1, "{}", p["summary"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(vcode, Some(1));
}

/// A role whose trust policy the leaked key rewrote: the session the attacker then takes from
/// an account whose logs are not in the trail (only the role owner's copy of the AssumeRole
/// is) is the attacker's, and the plan denies it; verify agrees. A session an untainted user of
/// the trail takes of that role afterwards is that user's, not tainted; one an outsider took
/// before the rewrite is not the attacker's route either. The same when the role owner's copy
/// names the outsider's key (before, that key was a credential of the trail with nothing to
/// taint it, and the session went untainted and undenied, verify OK).
#[test]
fn a_session_through_a_trust_policy_the_attacker_set_is_tainted_and_denied() {
    for (named, forged_deletion) in [(false, false), (true, false), (false, true)] {
        a_session_through_a_trust_policy_the_attacker_set(named, forged_deletion);
    }
}

/// `key_in_owners_copy`: the role owner's copy of the outsider's call names its key;
/// `forged_deletion`: a `DeleteRole` of the role logged after the rewrite, which the role's
/// later sessions contradict (a second review: believed, it ended the rule, verify OK).
fn a_session_through_a_trust_policy_the_attacker_set(
    key_in_owners_copy: bool,
    forged_deletion: bool,
) {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let admin = format!("arn:aws:iam::{MAIN}:role/Admin");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let outsider = s.user_key(SECOND, "mallory", "AKIAI44QH8DHBEXAMPLE");
    let alice = s.user_key(MAIN, "alice", "AKIAJ7ALICE000EXAMPL");
    // Another account's partner took the role before the rewrite (an account that had, the
    // rewrite did not let in: `a_partner_that_took_the_role_before…` in incidents.rs).
    let partner = s.user_key("777788889999", "partner", "AKIAJ7PARTNER0EXAMPL");
    let before = s.assume_role(&partner, T0 + 30, &admin, "earlier", 3600);
    // Named in another case than the role's ARN: IAM role names are unique regardless of case.
    let trust = serde_json::json!({"roleName": "admin", "policyDocument": "{\"Statement\":[]}"});
    s.call(&leaked, T0 + 60, "iam.amazonaws.com", "UpdateAssumeRolePolicy", trust);
    if forged_deletion {
        let by = s.user_key(MAIN, "admin", "AKIAJ7ADMIN000EXAMPL");
        s.call(
            &by,
            T0 + 90,
            "iam.amazonaws.com",
            "DeleteRole",
            serde_json::json!({"roleName": "Admin"}),
        );
    }
    let back_in = s.assume_role(&outsider, T0 + 120, &admin, "x", 43_200);
    // A clean CI user of a third account whose own logs are in the trail: its session is its
    // own (counting every caller of another account as from outside tainted it, and plan.sh
    // then deleted the user its session made).
    let ci = s.user_key("123456789012", "ci", "AKIAJ7CI000000EXAMPL");
    let ci_session = s.assume_role(&ci, T0 + 125, &admin, "ci", 3600);
    s.call(&ci_session, T0 + 126, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&back_in, T0 + 130, "iam.amazonaws.com", "ListUsers", Value::Null);
    let alices = s.assume_role(&alice, T0 + 140, &admin, "alice", 3600);
    s.call(&alices, T0 + 150, "s3.amazonaws.com", "ListBuckets", Value::Null);
    s.call(&before, T0 + 160, "s3.amazonaws.com", "ListBuckets", Value::Null);
    if key_in_owners_copy {
        s.edit_records(|_, r| {
            if r["userIdentity"]["type"] == "AWSAccount" {
                r["userIdentity"]["accessKeyId"] = serde_json::json!(outsider.key);
            }
        });
    }
    // The attacker's own account's logs are not in the trail, nor the partner's.
    s.write(&trail, &[SECOND, "777788889999"]).unwrap();

    let cut = trailhound::time::fmt_iso(T0 + 600);
    let (code, plan, err, verified) =
        plan_then_verify(&trail, &["--key", LEAKED, "--effective-at", &cut]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(verified, Some(0), "verify agrees");
    let ids: Vec<&str> = plan["tainted"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(ids.contains(&back_in.node_id().as_str()), "{ids:?}");
    assert!(!ids.contains(&alices.node_id().as_str()), "{ids:?}");
    assert!(!ids.contains(&ci_session.node_id().as_str()), "{ids:?}");
    assert!(!ids.contains(&before.node_id().as_str()), "{ids:?}");
    let deny = actions_for(&plan, "put_role_policy");
    assert_eq!(deny.len(), 1, "{plan}");
    assert_eq!(deny[0]["principal_arn"], admin.as_str());
    assert_eq!(deny[0]["covers"], serde_json::json!([back_in.node_id()]), "{}", deny[0]);
}

/// `--since` after a tainted session's AssumeRole filters the issuing call out: the session
/// is an orphan the seeds do not reach, so a plan of the window has no deny for it. The plan
/// and verify of that window say so (note and stderr, even with `-q`); over the whole trail
/// the session is tainted and denied.
#[test]
fn a_window_that_leaves_out_an_issuing_call_says_so() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/Admin"), "a", 43_200);
    s.call(&leaked, T0 + 400, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    s.call(&admin, T0 + 420, "iam.amazonaws.com", "ListUsers", Value::Null);
    s.write(&trail, &[]).unwrap();
    let cut = trailhound::time::fmt_iso(T0 + 3600);
    let since = trailhound::time::fmt_iso(T0 + 300);
    let args = ["--key", LEAKED, "--effective-at", cut.as_str(), "-q"];
    let (code, plan, _, verified) = plan_then_verify(&trail, &args);
    assert_eq!((code, verified), (Some(0), Some(0)));
    assert_eq!(actions_for(&plan, "put_role_policy").len(), 1, "the whole trail: {plan}");
    let windowed: Vec<&str> = args.iter().copied().chain(["--since", since.as_str()]).collect();
    let (_, plan, err, _) = plan_then_verify(&trail, &windowed);
    assert!(actions_for(&plan, "put_role_policy").is_empty(), "{plan}");
    // Verified over the same window, that plan was OK (exit 0): verify of a window is never.
    let o = bin()
        .args(["verify", "--no-progress", "--format", "json", "--since", since.as_str(), "--plan"])
        .arg(trail.with_file_name("plan.json"))
        .arg(&trail)
        .output()
        .unwrap();
    let v = json(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert!(v["notes"].to_string().contains("NOT VERIFIED: verify over a window"), "{v}");
    let note = format!("WINDOW: --since {since} leaves out every issuing call before it");
    assert!(err.contains(&note), "{err}");
    assert!(err.contains("(1 session(s) used in the window were issued before it)"), "{err}");
    assert!(
        plan["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with(&note)),
        "{plan}"
    );
}

/// `investigate` verifies the plan it writes: over a window (`--since`, `--until`) that
/// verify is never OK either (it said "verify: OK" and exited 0 while the session minted
/// before `--since`, or the key made after `--until`, was left alive). Both windows print
/// their WARNING on stderr.
#[test]
fn investigate_over_a_window_is_not_verified() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let admin = s.assume_role(&leaked, T0, &format!("arn:aws:iam::{MAIN}:role/Admin"), "a", 43_200);
    s.call(&leaked, T0 + 400, "sts.amazonaws.com", "GetCallerIdentity", Value::Null);
    s.call(&admin, T0 + 420, "iam.amazonaws.com", "ListUsers", Value::Null);
    s.create_access_key(&admin, T0 + 900, Some("bob"));
    s.write(&trail, &[]).unwrap();
    let cut = trailhound::time::fmt_iso(T0 + 3600);
    let run = |window: &[&str], case: &str| {
        let o = bin()
            .args(["investigate", "--no-progress", "--format", "json", "--key", LEAKED])
            .args(["--effective-at", cut.as_str()])
            .args(window)
            .arg("-o")
            .arg(d.path().join(case))
            .arg(&trail)
            .output()
            .unwrap();
        let v = json(&std::fs::read(d.path().join(case).join("verify.json")).unwrap());
        (o.status.code(), v, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, v, err) = run(&[], "whole");
    assert_eq!((code, v["verdict"].as_str()), (Some(0), Some("OK")), "{err}");
    let since = trailhound::time::fmt_iso(T0 + 300);
    let until = trailhound::time::fmt_iso(T0 + 600);
    for (opt, at) in [("--since", &since), ("--until", &until)] {
        let (code, v, err) = run(&[opt, at.as_str()], &format!("case{opt}"));
        assert_eq!(code, Some(1), "{opt}: {err}");
        assert_eq!(v["verdict"], "FAIL", "{opt}: {v}");
        assert!(v["notes"].to_string().contains("NOT VERIFIED: verify over a window"), "{v}");
        assert!(err.contains(&format!("warning: WINDOW: {opt} {at}")), "{opt}: {err}");
        // plan over the same window must not look done either.
        let o = bin()
            .args(["plan", "--no-progress", "-q", "--key", LEAKED, "--effective-at", cut.as_str()])
            .args([opt, at.as_str()])
            .arg(&trail)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{opt}: {err}");
        assert!(err.contains("this plan was made over a window"), "{err}");
    }
}

/// Rule 3 over several passes: each backdoored role's session backdoors the next role, whose
/// session the outsider then takes; every hop is tainted and denied.
#[test]
fn a_chain_of_backdoored_roles_is_followed_hop_by_hop() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    let outsider = s.user_key(SECOND, "mallory", "AKIAI44QH8DHBEXAMPLE");
    let mut by = leaked;
    let mut hops = Vec::new();
    for i in 0..4 {
        let role = format!("Hop{i}");
        let trust = serde_json::json!({"roleName": role, "policyDocument": "{}"});
        s.call(&by, T0 + 100 * i + 10, "iam.amazonaws.com", "UpdateAssumeRolePolicy", trust);
        let arn = format!("arn:aws:iam::{MAIN}:role/{role}");
        let sess = s.assume_role(&outsider, T0 + 100 * i + 20, &arn, "x", 43_200);
        hops.push(sess.node_id());
        by = sess;
    }
    s.write(&trail, &[SECOND]).unwrap();
    let cut = trailhound::time::fmt_iso(T0 + 1000);
    let (code, plan, err, verified) =
        plan_then_verify(&trail, &["--key", LEAKED, "--effective-at", &cut]);
    assert_eq!((code, verified), (Some(0), Some(0)), "{err}");
    let ids: Vec<&str> = plan["tainted"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    for h in &hops {
        assert!(ids.contains(&h.as_str()), "{h} in {ids:?}");
    }
    assert_eq!(actions_for(&plan, "put_role_policy").len(), 4, "{plan}");
}

/// The trail given as a list of its files (a shell glob): an output inside the `AWSLogs` tree
/// that holds them was written there, and the next run over the tree read the case's
/// tainted-events table back as evidence. Refused; beside the tree is fine.
#[test]
fn an_output_inside_the_aws_logs_tree_of_an_input_file_is_refused() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let input = files_under(&trail)[0].clone();
    let case = trail.join("AWSLogs/case");
    let events = trail.join("AWSLogs/111122223333/tainted.parquet");
    let c = case.to_str().unwrap();
    assert_refused(&["investigate", "--key", LEAKED, "-o", c], &input, &case.join("plan.json"));
    let e = events.to_str().unwrap();
    assert_refused(&["blast", "--key", LEAKED, "--events-out", e], &input, &events);
    assert!(!case.exists() && !events.exists(), "nothing written into the tree");
    let beside = d.path().join("case");
    let o = bin()
        .args(["investigate", "--no-progress", "--key", LEAKED, "-o"])
        .arg(&beside)
        .arg(&input)
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(beside.join("plan.json").exists());
}

/// A user the attacker made whose inline room it used up (F8) gets its deny-all as a managed
/// policy. Its clean-up detaches that policy before DeleteUser; when DeleteUser then fails (a
/// key made for the user whose id the logs do not show), plan.sh must attach it back, as it
/// puts an inline deny-all back, and `verify` judges the user as plan.sh leaves it. And a
/// policy the attacker made first under the name the plan would give its own is never the
/// plan's: the plan takes another name, and `verify` refuses a create under the taken one.
#[test]
fn a_managed_deny_all_goes_back_on_when_delete_user_fails_and_its_name_is_never_the_attackers() {
    let mut s = Scenario::new();
    let leaked = s.user_key(MAIN, "ci-deployer", LEAKED);
    s.create_user(&leaked, T0, "bob");
    let doc = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Sid\":\"{}\",\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}]}}",
        "k".repeat(1940)
    );
    let pad = serde_json::json!({"userName": "bob", "policyName": "pad", "policyDocument": doc});
    s.call(&leaked, T0 + 10, "iam.amazonaws.com", "PutUserPolicy", pad);
    let key = s.create_access_key(&leaked, T0 + 20, Some("bob"));
    s.create_access_key_unanswered(&leaked, T0 + 30, Some("bob"));
    let taken = serde_json::json!({"policyName": "TrailhoundDenyAll-bob", "policyDocument": "{}"});
    s.call(&leaked, T0 + 40, "iam.amazonaws.com", "CreatePolicy", taken);
    let bob = s.user_key(MAIN, "bob", &key.key);
    s.call(&bob, T0 + 50, "s3.amazonaws.com", "ListBuckets", Value::Null);
    let dir = TempDir::new().unwrap();
    s.write(&dir.path().join("trail"), &[]).unwrap();
    let out = TempDir::new().unwrap();
    let (plan, script) = plan_of(&dir.path().join("trail"), "strict", out.path());
    let arn = format!("arn:aws:iam::{MAIN}:policy/TrailhoundDenyAll-bob-2");
    let made: Vec<&str> = actions_for(&plan, "create_policy")
        .iter()
        .filter_map(|a| a["policy_arn"].as_str())
        .collect();
    assert_eq!(made, [arn.as_str()], "{plan}");
    // Verify judges the user as plan.sh leaves it: not deleted, denied everything.
    let plan_path = out.path().join("plan.json");
    let verify = || {
        let o = bin()
            .args(["verify", "--no-progress", "--format", "json", "--plan"])
            .arg(&plan_path)
            .arg(dir.path().join("trail"))
            .output()
            .unwrap();
        (o.status.code(), json(&o.stdout))
    };
    let (code, v) = verify();
    assert_eq!(code, Some(0), "{v}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains(
            "whose id the logs do not show not removed before it; plan.sh then puts its deny-all"
        ),
        "{notes}"
    );
    // The fake IAM holds bob with both keys: DeleteUser refuses, the deny goes back on.
    let state = TempDir::new().unwrap();
    let ud = state.path().join("users/bob");
    for (d, f) in [("keys", key.key.as_str()), ("keys", "AKIAUNKNOWNKEY000001"), ("inline", "pad")]
    {
        std::fs::create_dir_all(ud.join(d)).unwrap();
        std::fs::write(ud.join(d).join(f), "").unwrap();
    }
    let (ok, _, err) = run_plan_sh(&script, "/bin/sh", out.path(), MAIN, Some(state.path()));
    assert!(!ok, "{err}");
    assert!(err.contains("delete_user FAILED: putting the deny-all policy back"), "{err}");
    let attached = ud.join("attached").join(arn.replace('/', "_"));
    assert!(attached.exists(), "the managed deny-all is attached again: {err}\n{script}");
    // A create under the name the attacker took: IAM would refuse it, verify says so.
    let edited = std::fs::read_to_string(&plan_path)
        .unwrap()
        .replace("TrailhoundDenyAll-bob-2", "TrailhoundDenyAll-bob");
    std::fs::write(&plan_path, edited).unwrap();
    let (code, v) = verify();
    assert_ne!(code, Some(0), "{v}");
    assert!(v["command_problems"].to_string().contains("EntityAlreadyExists"), "{v}");
}

/// verify proves plan.json, but the responder runs plan.sh: with `--script`, verify fails
/// unless the script is this plan's byte for byte (a command taken out by hand, a script left
/// from a run over less of the trail), and with `--key` unless the plan is for that key.
/// Before, verify never read the script and took the plan's seeds on trust: OK for both.
#[test]
fn verify_holds_the_script_and_the_key_to_the_plan() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (_, script) = plan_of(&trail, "strict", &out);
    let verify = |script: Option<&str>, key: Option<&str>| {
        let mut c = bin();
        c.args(["verify", "--no-progress", "--format", "json", "--plan"])
            .arg(out.join("plan.json"));
        if let Some(s) = script {
            let p = d.path().join("run-me.sh");
            std::fs::write(&p, s).unwrap();
            c.arg("--script").arg(p);
        }
        if let Some(k) = key {
            c.args(["--key", k]);
        }
        let o = c.arg(&trail).output().unwrap();
        (o.status.code(), json(&o.stdout))
    };
    let (code, v) = verify(Some(&script), Some(LEAKED));
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["script"]["matches"], true);
    let (code, v) = verify(None, None);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(v["notes"].to_string().contains("the script was not checked"), "{v:#}");
    // The script as it asks to be run: its guard lines deleted, and nothing else.
    let guard = "echo 'Review this script, then delete this line and the exit below to run it.' >&2\nexit 1\n";
    assert!(script.contains(guard));
    let (code, v) = verify(Some(&script.replacen(guard, "", 1)), Some(&LEAKED.to_lowercase()));
    assert_eq!(code, Some(0), "{v:#}");
    // Line ends changed: not the plan's, and said so.
    let (code, v) = verify(Some(&script.replace('\n', "\r\n")), None);
    assert_eq!(code, Some(1), "{v:#}");
    assert!(v["script"]["difference"].as_str().unwrap().contains("ends otherwise"), "{v:#}");
    // One command taken out of the script.
    let edited: String = script
        .lines()
        .filter(|l| !l.contains("put-role-policy"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(edited, script);
    let (code, v) = verify(Some(&edited), None);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["script"]["matches"], false);
    assert!(v["script"]["difference"].as_str().unwrap().starts_with("line "), "{v:#}");
    // The script of a plan over less of the trail (the files with the hop to the second
    // account not yet in).
    let less = d.path().join("less");
    let out_less = d.path().join("out-less");
    std::fs::create_dir_all(&out_less).unwrap();
    let mut s = plain_incident(&less);
    s.drop_records(|_, r| r["eventName"] == "AssumeRole" && r.to_string().contains(":role/Audit"));
    std::fs::remove_dir_all(&less).unwrap();
    s.write(&less, &[SECOND]).unwrap();
    let (_, old) = plan_of(&less, "strict", &out_less);
    assert_ne!(old, script);
    assert_eq!(verify(Some(&old), None).0, Some(1));
    // A plan for one more key than the responder means (it deactivates that key too).
    let two = d.path().join("two.json");
    let o = bin()
        .args(["plan", "--no-progress", "-q", "--key", LEAKED, "--key", "AKIASCEN000000000009"])
        .args(["--effective-at", "2024-03-11T10:30:00Z", "-o"])
        .arg(&two)
        .arg(&trail)
        .output()
        .unwrap();
    assert!(two.exists(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin()
        .args(["verify", "--no-progress", "--format", "json", "--key", LEAKED, "--plan"])
        .arg(&two)
        .arg(&trail)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stdout));
    // A plan for another key than the one the responder means.
    let (code, v) = verify(Some(&script), Some("AKIAI44QH8DHBEXAMPLE"));
    assert_eq!(code, Some(1), "{v:#}");
    assert!(v["notes"].to_string().contains("not for the key(s) given"), "{v:#}");
}

/// `verify --format json` of the plan `p` (written beside `trail`, as a plan.json edited by
/// hand) over `trail`: exit code and JSON.
fn verify_edited(trail: &Path, p: &Value) -> (Option<i32>, Value) {
    let f = trail.with_file_name("edited.json");
    std::fs::write(&f, serde_json::to_vec(p).unwrap()).unwrap();
    let o = bin()
        .args(["verify", "--no-progress", "--format", "json", "--plan"])
        .arg(&f)
        .arg(trail)
        .output()
        .unwrap();
    (o.status.code(), json(&o.stdout))
}

/// plan.json and plan.sh edited together match each other, so the evidence must back every
/// removal and deactivation itself: deleting a user, or switching off a key, the trail does not
/// show the attacker's is a command problem (verify had said OK, review of 2026-12-06).
#[test]
fn verify_fails_removals_the_evidence_does_not_back() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (plan, _) = plan_of(&trail, "strict", &out);
    let forged = |action: Value| {
        let mut p = plan.clone();
        p["actions"].as_array_mut().unwrap().push(action);
        verify_edited(&trail, &p)
    };
    let clean_user = serde_json::json!({
        "order": 99, "type": "delete_user", "account_id": MAIN, "user_name": "alice",
        "reason": "cleanup", "command": "aws iam delete-user --user-name alice",
    });
    let clean_key = serde_json::json!({
        "order": 99, "type": "deactivate_access_key", "account_id": MAIN, "user_name": "alice",
        "access_key_id": "AKIAI44QH8DHBEXAMPLE", "reason": "cleanup",
        "command": "aws iam update-access-key --user-name alice --access-key-id AKIAI44QH8DHBEXAMPLE --status Inactive",
    });
    for action in [clean_user, clean_key] {
        let (code, v) = forged(action.clone());
        assert_eq!(code, Some(1), "{action}: {v:#}");
        assert!(
            v["command_problems"].to_string().contains("the evidence does not back it"),
            "{v:#}"
        );
    }
    // The attacker's own user, deleted again: backed.
    let attacker = serde_json::json!({
        "order": 99, "type": "delete_login_profile", "account_id": MAIN, "user_name": "backup-admin",
        "reason": "again", "command": "aws iam delete-login-profile --user-name backup-admin",
    });
    let (_, v) = forged(attacker);
    assert_eq!(v["command_problems"], serde_json::json!([]), "{v:#}");
}

/// plan.json and plan.sh edited together match each other, so verify holds every deny to
/// what the planner writes ([`DenyShapes`](../src/plan/guard.rs)): a review added a deny of
/// every session of a clean role whenever issued, and moved every cut-off to 2030, and verify
/// said OK, though plan.sh would refuse every new session of those roles (for good, or until
/// 2030) and the collateral counted none of them. An `Allow`, a wider `aws:userid` with no
/// time, and a condition verify does not know are refused too.
#[test]
fn verify_fails_denies_the_planner_never_writes() {
    let d = TempDir::new().unwrap();
    let trail = d.path().join("trail");
    plain_incident(&trail);
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (plan, _) = plan_of(&trail, "strict", &out);
    let verify = |p: &Value| verify_edited(&trail, p);
    assert_eq!(verify(&plan).0, Some(0), "the plan as written");
    let deny = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["type"] == "put_role_policy" && a["principal_arn"].to_string().contains("AdminRole")
        })
        .cloned()
        .expect("the deny on AdminRole");
    // The deny, its document and its command changed together, and put on `role`.
    let put = |role: &str, statement: Value| {
        let mut a = deny.clone();
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [statement]});
        let name = a["policy_name"].as_str().unwrap().to_string();
        a["order"] = 99.into();
        a["principal_arn"] = format!("arn:aws:iam::{MAIN}:role/{role}").into();
        a["command"] = format!(
            "aws iam put-role-policy --role-name {role} --policy-name {name} --policy-document '{}'",
            serde_json::to_string(&doc).unwrap()
        )
        .into();
        a["policy_document"] = doc;
        a
    };
    let statement = |condition: Value| {
        let mut s =
            serde_json::json!({"Sid": "X", "Effect": "Deny", "Action": "*", "Resource": "*"});
        if !condition.is_null() {
            s["Condition"] = condition;
        }
        s
    };
    let before = |t: &str| serde_json::json!({"DateLessThan": {"aws:TokenIssueTime": t}});
    let edits = [
        ("OrgAccess", statement(Value::Null), "whenever issued (no condition)"),
        ("AdminRole", statement(before("2030-01-01T00:00:00Z")), "not before the plan's cut-off"),
        (
            "AdminRole",
            serde_json::json!({"Sid": "X", "Effect": "Allow", "Action": "*", "Resource": "*"}),
            "is not a Deny",
        ),
        (
            "AdminRole",
            statement(serde_json::json!({"StringLike": {"aws:userid": "*:*"}})),
            "names no session of an instance",
        ),
        (
            "AdminRole",
            statement(
                serde_json::json!({"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}),
            ),
            "has the condition DateGreaterThan",
        ),
    ];
    for (role, st, why) in edits {
        let mut p = plan.clone();
        p["actions"].as_array_mut().unwrap().push(put(role, st.clone()));
        let (code, v) = verify(&p);
        assert_eq!(code, Some(1), "{st}: {v:#}");
        let problems = v["command_problems"].to_string();
        assert!(
            problems.contains(why) && problems.contains("a deny the planner never writes"),
            "{st}: {problems}"
        );
    }
    // The planner's own shape on another role: a deny of the sessions issued before the
    // cut-off is collateral at most, never a problem.
    let mut p = plan.clone();
    let t = plan["effective_at"].as_str().unwrap();
    p["actions"].as_array_mut().unwrap().push(put("OrgAccess", statement(before(t))));
    let (code, v) = verify(&p);
    assert_eq!(v["command_problems"], serde_json::json!([]), "{v:#}");
    assert_eq!(code, Some(0), "{v:#}");
    // Under Version 2008-10-17 (or none) IAM reads `${…}` as itself: an Allow holding one is
    // still a statement the planner never writes (a review slipped admin rights past the
    // checks that way).
    for version in [Some("2008-10-17"), None] {
        let mut p = plan.clone();
        let mut a = put("AdminRole", statement(before(t)));
        let name = a["policy_name"].as_str().unwrap().to_string();
        let mut doc = serde_json::json!({"Statement": [
            statement(before(t)),
            {"Sid": "Y", "Effect": "Allow", "Action": "*", "Resource": ["*", "arn:aws:s3:::${y}"]}
        ]});
        if let Some(v) = version {
            doc["Version"] = v.into();
        }
        a["command"] = format!(
            "aws iam put-role-policy --role-name AdminRole --policy-name {name} --policy-document '{}'",
            serde_json::to_string(&doc).unwrap()
        )
        .into();
        a["policy_document"] = doc;
        p["actions"].as_array_mut().unwrap().push(a);
        let (code, v) = verify(&p);
        assert_eq!(code, Some(1), "{version:?}: {v:#}");
        assert!(v["command_problems"].to_string().contains("Version is not 2012-10-17"), "{v:#}");
    }
    // The same deny under another policy's name replaces that policy in IAM (a guardrail).
    let mut p = plan.clone();
    let mut renamed = put("OrgAccess", statement(before(t)));
    let name = renamed["policy_name"].as_str().unwrap().to_string();
    renamed["command"] = renamed["command"].as_str().unwrap().replace(&name, "guardrail").into();
    renamed["policy_name"] = "guardrail".into();
    p["actions"].as_array_mut().unwrap().push(renamed);
    let (code, v) = verify(&p);
    assert_eq!(code, Some(1), "{v:#}");
    assert!(v["command_problems"].to_string().contains("a name the planner never gives"), "{v:#}");
}

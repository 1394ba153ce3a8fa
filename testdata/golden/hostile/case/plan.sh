#!/bin/sh
# trailhound revocation plan (trailhound.plan/v1, strategy strict, effective at 2026-01-01T00:00:00Z)
# seeds: AKIAIOSFODNN7EXAMPLE
# Review every command. Run this script once with credentials for each account it names
# (111122223333): each run does only the block of the account its credentials belong to.
# Before running it: `trailhound verify TRAIL --plan plan.json --script plan.sh --key KEY`
# proves that this script is the plan's and that it cuts every live tainted credential.
# Policy changes take a few minutes to apply (F14): watch CloudTrail afterwards.
# The facts cited (F1-F22) are explained in docs/revocation-facts.md.
# WARNING: 1 tainted access key(s) are left to review items: deactivate them by hand.
# WARNING: 1 user(s) the attacker controls are left to review items (the NOT CUT notes say
# why: renames in one second, or a name IAM would not take). Find, deny and remove them by hand.
# WARNING: 2 call(s) of tainted credentials opened a route to sessions the taint does not
# follow (NOT FOLLOWED review items): this plan does not cut them. Close each by hand.
set -eu
echo 'Review this script, then delete this line and the exit below to run it.' >&2
exit 1

CALLER_ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
echo "plan.sh: running the block of account $CALLER_ACCOUNT" >&2
RAN=no
FAILED=

# ===== account 111122223333 =====
if [ "$CALLER_ACCOUNT" = 111122223333 ]; then

# [1] deactivate_access_key in account 111122223333
# leaked key; stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5)
if ! aws iam update-access-key --user-name ci-deployer --access-key-id AKIAIOSFODNN7EXAMPLE --status Inactive
then
  echo "plan.sh: action [1] deactivate_access_key FAILED: if AWS said NoSuchEntity, the key was already deleted OR belongs to another user than the one named here: run aws iam get-access-key-last-used --access-key-id with the key, whose UserName is its owner; until it is deactivated it can mint sessions that the denies below do not cut: fix it and run again" >&2
  FAILED="$FAILED 1"
fi

# [2] review in account 111122223333
# deactivate_access_key not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (key created by or for a credential the attacker controls (persistence); stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5))
# review: deactivate_access_key not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (key created by or for a credential the attacker controls (persistence); stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5))
:

# [3] review in account 111122223333
# put_user_policy not planned: IAM principal name "{a,b}* x1" is not a valid IAM principal name; do it by hand after checking the evidence (user {a,b}* x1 is attacker-controlled since 2024-03-11T10:01:20Z (CreateLoginProfile 00000009-5ce0-4a1e-8000-000000000009, CreateUser 00000008-5ce0-4a1e-8000-000000000008): deny everything it does, with any credential, sessions and long-term keys alike, until it is removed (SPEC §9))
# review: put_user_policy not planned: IAM principal name "{a,b}* x1" is not a valid IAM principal name; do it by hand after checking the evidence (user {a,b}* x1 is attacker-controlled since 2024-03-11T10:01:20Z (CreateLoginProfile 00000009-5ce0-4a1e-8000-000000000009, CreateUser 00000008-5ce0-4a1e-8000-000000000008): deny everything it does, with any credential, sessions and long-term keys alike, until it is removed (SPEC §9))
:

# [4] review in account 111122223333
# delete_login_profile not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: its console password was set by the attacker; remove it)
# review: delete_login_profile not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: its console password was set by the attacker; remove it)
:

# [5] review in account 111122223333
# delete_access_key not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: delete its access key |x1 (already deactivated above) before deleting the user)
# review: delete_access_key not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: delete its access key |x1 (already deactivated above) before deleting the user)
:

# [6] review in account 111122223333
# detach_user_policy not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: detach arn:aws:iam::aws:policy/=HYPERLINK("x"), attached by the attacker)
# review: detach_user_policy not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: detach arn:aws:iam::aws:policy/=HYPERLINK("x"), attached by the attacker)
:

# [7] review in account 111122223333
# delete_user_policy not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: delete inline policy &\necho PWNED >> canary\n (the user has no credentials left by now))
# review: delete_user_policy not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: delete inline policy &\necho PWNED >> canary\n (the user has no credentials left by now))
:

# [8] review in account 111122223333
# delete_user_policy not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: delete inline policy TrailhoundDenyAll (the user has no credentials left by now))
# review: delete_user_policy not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: delete inline policy TrailhoundDenyAll (the user has no credentials left by now))
:

# [9] review in account 111122223333
# remove_user_from_group not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: remove it from group ok-nameok-name)
# review: remove_user_from_group not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1: remove it from group ok-nameok-name)
:

# [10] review in account 111122223333
# delete_user not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1 was created by the attacker (CreateLoginProfile 00000009-5ce0-4a1e-8000-000000000009, CreateUser 00000008-5ce0-4a1e-8000-000000000008); delete it. If AWS answers DeleteConflict, something the logs do not show remains (MFA devices, signing certificates, SSH keys, service-specific credentials, other keys or policies): list and remove it first)
# review: delete_user not planned: IAM user name "{a,b}* x1" is not a valid IAM user name; do it by hand after checking the evidence (user {a,b}* x1 was created by the attacker (CreateLoginProfile 00000009-5ce0-4a1e-8000-000000000009, CreateUser 00000008-5ce0-4a1e-8000-000000000008); delete it. If AWS answers DeleteConflict, something the logs do not show remains (MFA devices, signing certificates, SSH keys, service-specific credentials, other keys or policies): list and remove it first)
:

# [11] review in account 111122223333
# StopLogging trail <script>alert(1)</script> at 2024-03-11T10:02:30Z (event 00000015-5ce0-4a1e-8000-000000000015): NOT FOLLOWED by the taint: logging may have stopped here (or gone elsewhere, or left out management events): what the tainted credentials did after it is not in these logs and will not be, so no plan made from them can be shown to cut it; restore logging, then look in IAM itself for what was made since (aws iam generate-credential-report, list-users, list-access-keys, list-roles and their trust policies; or run again with --iam on a fresh snapshot), deactivate or delete what the attacker made, and deny the sessions issued since (F6)
# review: StopLogging trail <script>alert(1)</script> at 2024-03-11T10:02:30Z (event 00000015-5ce0-4a1e-8000-000000000015): NOT FOLLOWED by the taint: logging may have stopped here (or gone elsewhere, or left out management events): what the tainted credentials did after it is not in these logs and will not be, so no plan made from them can be shown to cut it; restore logging, then look in IAM itself for what was made since (aws iam generate-credential-report, list-users, list-access-keys, list-roles and their trust policies; or run again with --iam on a fresh snapshot), deactivate or delete what the attacker made, and deny the sessions issued since (F6)
# aws cloudtrail start-logging --name '<script>alert(1)</script>'
:

# [12] review in account 111122223333
# UpdateSAMLProvider saml-provider/\r |x1 at 2024-03-11T10:02:40Z (event 00000016-5ce0-4a1e-8000-000000000016): restore the provider's metadata document from a copy you trust (aws iam update-saml-provider) or delete the provider: until then whoever holds the new signing key signs in to every role that trusts it, after any cut-off
# review: UpdateSAMLProvider saml-provider/\r |x1 at 2024-03-11T10:02:40Z (event 00000016-5ce0-4a1e-8000-000000000016): restore the provider's metadata document from a copy you trust (aws iam update-saml-provider) or delete the provider: until then whoever holds the new signing key signs in to every role that trusts it, after any cut-off
:

# [13] review in account 111122223333
# UpdateFunctionCode20150331v2 function ? at 2024-03-11T10:02:50Z (event 00000017-5ce0-4a1e-8000-000000000017): NOT FOLLOWED by the taint: the record names no function, so the trail ties no session to this change, and Lambda takes the function's role sessions by itself whenever it runs (F21); find the function the caller changed (aws lambda list-functions, by its last modification), restore or delete it, then deny its role's sessions by aws:userid ROLEID:FUNCTION with no time condition
# review: UpdateFunctionCode20150331v2 function ? at 2024-03-11T10:02:50Z (event 00000017-5ce0-4a1e-8000-000000000017): NOT FOLLOWED by the taint: the record names no function, so the trail ties no session to this change, and Lambda takes the function's role sessions by itself whenever it runs (F21); find the function the caller changed (aws lambda list-functions, by its last modification), restore or delete it, then deny its role's sessions by aws:userid ROLEID:FUNCTION with no time condition
:

  RAN=yes
else
  echo "plan.sh: skipped the block of account 111122223333: run again with credentials for it" >&2
fi

if [ "$RAN" = no ]; then
  echo "plan.sh: no block of this plan is for account $CALLER_ACCOUNT" >&2
  exit 1
fi
if [ -n "$FAILED" ]; then
  echo "plan.sh: action(s)$FAILED FAILED (see above): the plan is not fully applied" >&2
  exit 1
fi


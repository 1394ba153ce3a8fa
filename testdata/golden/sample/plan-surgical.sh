#!/bin/sh
# trailhound revocation plan (trailhound.plan/v1, strategy surgical, effective at 2026-01-01T00:00:00Z)
# seeds: AKIAIOSFODNN7EXAMPLE
# Review every command. Run this script once with credentials for each account it names
# (111122223333): each run does only the block of the account its credentials belong to.
# Before running it: `trailhound verify TRAIL --plan plan.json --script plan.sh --key KEY`
# proves that this script is the plan's and that it cuts every live tainted credential.
# Policy changes take a few minutes to apply (F14): watch CloudTrail afterwards.
# The facts cited (F1-F22) are explained in docs/revocation-facts.md.
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
# key created by or for a credential the attacker controls (persistence); stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5)
if ! aws iam update-access-key --user-name backup-admin --access-key-id AKIAYZ43I2OT25JVNEE4 --status Inactive
then
  echo "plan.sh: action [1] deactivate_access_key FAILED: if AWS said NoSuchEntity, the key was already deleted OR belongs to another user than the one named here: run aws iam get-access-key-last-used --access-key-id with the key, whose UserName is its owner; until it is deactivated it can mint sessions that the denies below do not cut: fix it and run again" >&2
  FAILED="$FAILED 1"
fi

# [2] deactivate_access_key in account 111122223333
# key created by or for a credential the attacker controls (persistence); stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5)
if ! aws iam update-access-key --user-name backup-admin --access-key-id AKIAYZ43I2OTVGMVNPHZ --status Inactive
then
  echo "plan.sh: action [2] deactivate_access_key FAILED: if AWS said NoSuchEntity, the key was already deleted OR belongs to another user than the one named here: run aws iam get-access-key-last-used --access-key-id with the key, whose UserName is its owner; until it is deactivated it can mint sessions that the denies below do not cut: fix it and run again" >&2
  FAILED="$FAILED 2"
fi

# [3] deactivate_access_key in account 111122223333
# leaked key; stops new sessions being minted with it (a deny on aws:TokenIssueTime never matches long-term keys, F5)
if ! aws iam update-access-key --user-name ci-deployer --access-key-id AKIAIOSFODNN7EXAMPLE --status Inactive
then
  echo "plan.sh: action [3] deactivate_access_key FAILED: if AWS said NoSuchEntity, the key was already deleted OR belongs to another user than the one named here: run aws iam get-access-key-last-used --access-key-id with the key, whose UserName is its owner; until it is deactivated it can mint sessions that the denies below do not cut: fix it and run again" >&2
  FAILED="$FAILED 3"
fi

# [4] put_role_policy in account 111122223333
# Lambda function(s) orders-api whose code or configuration a tainted credential set run with role orders-api-exec-role: deny every session of them by aws:userid (F9), with no time condition, because Lambda fetches new credentials for the function by itself (F21)
if ! aws iam put-role-policy --role-name orders-api-exec-role --policy-name TrailhoundRevokeTaintedSessions-c1b4dc63 --policy-document '{"Statement":[{"Action":"*","Condition":{"StringLike":{"aws:userid":["AROAYZ43I2OTGTXKT6JZR:orders-api"]}},"Effect":"Deny","Resource":"*","Sid":"TrailhoundDenyChangedFunctions"}],"Version":"2012-10-17"}'
then
  echo "plan.sh: action [4] put_role_policy FAILED: the tainted sessions this deny covers are NOT cut; the actions after it still ran: fix it (see the error above) and run again" >&2
  FAILED="$FAILED 4"
fi

# [5] put_user_policy in account 111122223333
# user backup-admin is attacker-controlled since 2024-03-11T09:13:36Z (CreateLoginProfile 3cc1c864-c45a-46a4-be97-8f075a10a89b, CreateUser d2b89ac2-d3a4-4899-ba61-b9a9081f2a7f): deny everything it does, with any credential, sessions and long-term keys alike, until it is removed (SPEC §9)
if ! aws iam put-user-policy --user-name backup-admin --policy-name TrailhoundDenyAll --policy-document '{"Statement":[{"Action":"*","Effect":"Deny","Resource":"*","Sid":"TrailhoundDenyAll"}],"Version":"2012-10-17"}'
then
  echo "plan.sh: action [5] put_user_policy FAILED: the tainted sessions this deny covers are NOT cut; the actions after it still ran: fix it (see the error above) and run again" >&2
  FAILED="$FAILED 5"
fi

# [6] delete_login_profile in account 111122223333
# user backup-admin: its console password was set by the attacker; remove it
if ! TRAILHOUND_OUT=$(aws iam delete-login-profile --user-name backup-admin 2>&1)
then
  case "$TRAILHOUND_OUT" in
    *"An error occurred (NoSuchEntity) when calling the "*)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [6] delete_login_profile: already gone (AWS said NoSuchEntity, above); the removal goes on" >&2 ;;
    *)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [6] delete_login_profile FAILED: the removal of this user stops here and its deny-all policy stays on; the other actions still ran: fix it (see the error above) and run again" >&2
      FAILED="$FAILED 6"
      CLEANUP_FAILED_11=yes ;;
  esac
fi

# [7] delete_access_key in account 111122223333
# user backup-admin: delete its access key AKIAYZ43I2OT25JVNEE4 (already deactivated above) before deleting the user
if ! TRAILHOUND_OUT=$(aws iam delete-access-key --user-name backup-admin --access-key-id AKIAYZ43I2OT25JVNEE4 2>&1)
then
  case "$TRAILHOUND_OUT" in
    *"An error occurred (NoSuchEntity) when calling the "*)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [7] delete_access_key: already gone (AWS said NoSuchEntity, above); the removal goes on" >&2 ;;
    *)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [7] delete_access_key FAILED: the removal of this user stops here and its deny-all policy stays on; the other actions still ran: fix it (see the error above) and run again" >&2
      FAILED="$FAILED 7"
      CLEANUP_FAILED_11=yes ;;
  esac
fi

# [8] delete_access_key in account 111122223333
# user backup-admin: delete its access key AKIAYZ43I2OTVGMVNPHZ (already deactivated above) before deleting the user
if ! TRAILHOUND_OUT=$(aws iam delete-access-key --user-name backup-admin --access-key-id AKIAYZ43I2OTVGMVNPHZ 2>&1)
then
  case "$TRAILHOUND_OUT" in
    *"An error occurred (NoSuchEntity) when calling the "*)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [8] delete_access_key: already gone (AWS said NoSuchEntity, above); the removal goes on" >&2 ;;
    *)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [8] delete_access_key FAILED: the removal of this user stops here and its deny-all policy stays on; the other actions still ran: fix it (see the error above) and run again" >&2
      FAILED="$FAILED 8"
      CLEANUP_FAILED_11=yes ;;
  esac
fi

# [9] detach_user_policy in account 111122223333
# user backup-admin: detach arn:aws:iam::aws:policy/AdministratorAccess, attached by the attacker
if ! TRAILHOUND_OUT=$(aws iam detach-user-policy --user-name backup-admin --policy-arn arn:aws:iam::aws:policy/AdministratorAccess 2>&1)
then
  case "$TRAILHOUND_OUT" in
    *"An error occurred (NoSuchEntity) when calling the "*)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [9] detach_user_policy: already gone (AWS said NoSuchEntity, above); the removal goes on" >&2 ;;
    *)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [9] detach_user_policy FAILED: the removal of this user stops here and its deny-all policy stays on; the other actions still ran: fix it (see the error above) and run again" >&2
      FAILED="$FAILED 9"
      CLEANUP_FAILED_11=yes ;;
  esac
fi

# [10] delete_user_policy in account 111122223333
# user backup-admin: delete inline policy TrailhoundDenyAll (the user has no credentials left by now)
if [ "${CLEANUP_FAILED_11:-}" = yes ]
then
  echo "plan.sh: action [10] delete_user_policy SKIPPED: a step of removing this user failed above: its deny-all policy stays on" >&2
  FAILED="$FAILED 10"
elif ! TRAILHOUND_OUT=$(aws iam delete-user-policy --user-name backup-admin --policy-name TrailhoundDenyAll 2>&1)
then
  case "$TRAILHOUND_OUT" in
    *"An error occurred (NoSuchEntity) when calling the "*)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [10] delete_user_policy: already gone (AWS said NoSuchEntity, above); the removal goes on" >&2 ;;
    *)
      printf '%s\n' "$TRAILHOUND_OUT" >&2
      echo "plan.sh: action [10] delete_user_policy FAILED: the removal of this user stops here and its deny-all policy stays on; the other actions still ran: fix it (see the error above) and run again" >&2
      FAILED="$FAILED 10"
      CLEANUP_FAILED_11=yes ;;
  esac
fi

# [11] delete_user in account 111122223333
# user backup-admin was created by the attacker (CreateLoginProfile 3cc1c864-c45a-46a4-be97-8f075a10a89b, CreateUser d2b89ac2-d3a4-4899-ba61-b9a9081f2a7f); delete it. If AWS answers DeleteConflict, something the logs do not show remains (MFA devices, signing certificates, SSH keys, service-specific credentials, other keys or policies): list and remove it first
if [ "${CLEANUP_FAILED_11:-}" = yes ]
then
  echo "plan.sh: action [11] delete_user SKIPPED: a step of removing this user failed above; putting the deny-all policy back on the user" >&2
  if ! { aws iam put-user-policy --user-name backup-admin --policy-name TrailhoundDenyAll --policy-document '{"Statement":[{"Action":"*","Effect":"Deny","Resource":"*","Sid":"TrailhoundDenyAll"}],"Version":"2012-10-17"}'; }
  then
    echo "plan.sh: action [11]: putting the deny-all policy back FAILED (see the error above): if the user still exists it has no deny-all now: put it back by hand at once" >&2
  fi
  FAILED="$FAILED 11"
elif ! aws iam delete-user --user-name backup-admin
then
  echo "plan.sh: action [11] delete_user FAILED: putting the deny-all policy back on the user; remove what the logs do not show (MFA devices, SSH keys, signing certificates, service-specific credentials) and run again" >&2
  if ! { aws iam put-user-policy --user-name backup-admin --policy-name TrailhoundDenyAll --policy-document '{"Statement":[{"Action":"*","Effect":"Deny","Resource":"*","Sid":"TrailhoundDenyAll"}],"Version":"2012-10-17"}'; }
  then
    echo "plan.sh: action [11]: putting the deny-all policy back FAILED (see the error above): if the user still exists it has no deny-all now: put it back by hand at once" >&2
  fi
  FAILED="$FAILED 11"
fi

# [12] review in account 111122223333
# UpdateFunctionCode20150331v2 function orders-api at 2024-03-11T08:13:18Z (event fd95a866-5087-4d6d-b811-1e258aabc4dd): restore or delete the function (code, layers, environment, role): it runs with its role's credentials, which Lambda renews by itself (F21)
# review: UpdateFunctionCode20150331v2 function orders-api at 2024-03-11T08:13:18Z (event fd95a866-5087-4d6d-b811-1e258aabc4dd): restore or delete the function (code, layers, environment, role): it runs with its role's credentials, which Lambda renews by itself (F21)
:

# [13] review in account 111122223333
# UpdateAssumeRolePolicy role/MaintenanceRole at 2024-03-11T09:16:36Z (event ce5f1330-faf5-4fbc-b842-5d8aed82c003): restore the previous trust policy (who can assume the role changed)
# review: UpdateAssumeRolePolicy role/MaintenanceRole at 2024-03-11T09:16:36Z (event ce5f1330-faf5-4fbc-b842-5d8aed82c003): restore the previous trust policy (who can assume the role changed)
# aws iam get-role --role-name 'MaintenanceRole' --query Role.AssumeRolePolicyDocument
# aws iam update-assume-role-policy --role-name 'MaintenanceRole' --policy-document file://trust-policy-before-the-incident.json
:

# [14] review in account 111122223333
# PutRolePolicy role/MaintenanceRole at 2024-03-11T09:17:06Z (event 2dbdcb92-b70f-44e4-b130-eed693ce8144): detach or delete the policy
# review: PutRolePolicy role/MaintenanceRole at 2024-03-11T09:17:06Z (event 2dbdcb92-b70f-44e4-b130-eed693ce8144): detach or delete the policy
# aws iam delete-role-policy --role-name 'MaintenanceRole' --policy-name 'maint-ops'
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


# ----- rollback -----
# The deny policies need not stay forever: once every tainted session has expired and the
# principals are cleaned up (keys rotated, trust and permissions reviewed), remove them with:
#   [account 111122223333] aws iam delete-role-policy --role-name 'orders-api-exec-role' --policy-name 'TrailhoundRevokeTaintedSessions-c1b4dc63'

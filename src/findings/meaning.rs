//! What one persistence-like call means for the findings: its severity, kind, what it did and
//! its ATT&CK techniques, the target it names, and the next step for a kind of finding.

use super::Severity;
use crate::model::Event;

/// What one persistence-like call means.
pub(super) struct Meaning {
    pub(super) severity: Severity,
    pub(super) kind: &'static str,
    pub(super) what: String,
    pub(super) techniques: &'static [&'static str],
}

pub(super) fn is_admin_policy(arn: &str) -> bool {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    name == "AdministratorAccess" || name == "IAMFullAccess" || name == "PowerUserAccess"
}

/// The target (kind, name) of a call and its meaning. `ev` is the full event when loaded.
pub(super) fn meaning(
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
        "CreateServiceSpecificCredential"
        | "UploadSSHPublicKey"
        | "ResetServiceSpecificCredential"
        | "UpdateServiceSpecificCredential"
        | "UpdateSSHPublicKey" => m(
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
        "SendCommand" | "StartSession" => m(
            Severity::High,
            "persistence",
            format!("{name}: commands run on instances, whose role credentials they can read"),
            &["T1651"],
        ),
        "AssociateIamInstanceProfile" | "ReplaceIamInstanceProfileAssociation" => m(
            Severity::High,
            "persistence",
            format!("{name}: a role put on an instance"),
            &["T1098"],
        ),
        "CreateAutoScalingGroup"
        | "UpdateAutoScalingGroup"
        | "CreateLaunchConfiguration"
        | "CreateLaunchTemplate"
        | "CreateLaunchTemplateVersion"
        | "ModifyLaunchTemplate"
        | "CreateFleet"
        | "RequestSpotInstances"
        | "RequestSpotFleet" => m(
            Severity::Medium,
            "persistence",
            format!("{name}: instances started from a template with its instance profile"),
            &["T1578.002"],
        ),
        "ModifyInstanceAttribute" | "SendSSHPublicKey" => m(
            Severity::High,
            "persistence",
            format!("{name}: a way into an instance, whose role credentials it can read"),
            &["T1098.004"],
        ),
        "AddRoleToInstanceProfile" => m(
            Severity::High,
            "persistence",
            format!("{name}: a role handed to every instance of an instance profile"),
            &["T1098"],
        ),
        "SetIdentityPoolRoles" => m(
            Severity::High,
            "persistence",
            format!("{name}: roles a Cognito identity pool hands out"),
            &["T1098"],
        ),
        "CreateStack" | "UpdateStack" => m(
            Severity::Medium,
            "persistence",
            format!("{name}: CloudFormation acting with the stack's service role"),
            &["T1578"],
        ),
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
pub(super) fn call_target(e: &Event) -> String {
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
pub(super) fn next_step_for(kind: &str, target: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::is_admin_policy;

    #[test]
    fn admin_policy_is_recognised_by_its_name_only() {
        assert!(is_admin_policy("arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(!is_admin_policy("arn:aws:iam::aws:policy/AdministratorAccessX"));
        assert!(!is_admin_policy("arn:aws:iam::aws:policy/ReadOnlyAccess"));
    }
}

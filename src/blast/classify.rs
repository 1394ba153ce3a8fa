//! What a tainted event means for the blast radius: the calls that leave something behind
//! (persistence, with the target, what changed and what the responder must do) and the calls
//! that read data.

use crate::model::Event;

const PERSISTENCE: &[&str] = &[
    "CreateAccessKey",
    "UpdateAccessKey",
    "CreateUser",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "AttachUserPolicy",
    "PutUserPolicy",
    "AttachRolePolicy",
    "PutRolePolicy",
    "AttachGroupPolicy",
    "PutGroupPolicy",
    "AddUserToGroup",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "CreateVirtualMFADevice",
    "EnableMFADevice",
    "CreateSAMLProvider",
    "CreateOpenIDConnectProvider",
    "UpdateSAMLProvider",
    "CreateServiceSpecificCredential",
    "UploadSSHPublicKey",
    "UploadSigningCertificate",
    "AddPermission20150331v2",
    "ImportKeyPair",
    "CreateKeyPair",
    "RunInstances",
    "SendCommand",
    "StartSession",
    "AssociateIamInstanceProfile",
    "ReplaceIamInstanceProfileAssociation",
    "CreateStack",
    "UpdateStack",
    "CreateAutoScalingGroup",
    "UpdateAutoScalingGroup",
    "CreateLaunchConfiguration",
    "CreateLaunchTemplate",
    "CreateLaunchTemplateVersion",
    "ModifyLaunchTemplate",
    "CreateFleet",
    "RequestSpotInstances",
    "RequestSpotFleet",
    "ModifyInstanceAttribute",
    "SendSSHPublicKey",
    "SendSerialConsoleSSHPublicKey",
    "SetIdentityPoolRoles",
    "AddRoleToInstanceProfile",
    "StopLogging",
    "DeleteTrail",
    "PutEventSelectors",
    "UpdateTrail",
    // Access given through a resource's own policy, grants or sharing: it names principals of
    // any account directly, so no deny or key deactivation of the plan takes it back.
    "PutBucketPolicy",
    "PutBucketAcl",
    "PutKeyPolicy",
    "CreateGrant",
    "PutResourcePolicy",
    "ModifySnapshotAttribute",
    "ModifyImageAttribute",
    "ModifyDBSnapshotAttribute",
    "ModifyDBClusterSnapshotAttribute",
    "SetRepositoryPolicy",
    "AddPermission",
    // A limit on a principal's rights or sessions removed or changed.
    "DeleteRolePermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "PutRolePermissionsBoundary",
    "PutUserPermissionsBoundary",
    "UpdateRole",
];

/// Defences taken down, by name and service (the names alone are other services' too: Fraud
/// Detector's `DeleteDetector`, Chime's `CreateAccount`): a deny or quarantine policy removed
/// (AWSCompromisedKeyQuarantineV3, F19), MFA removed, detection or recording turned off or
/// changed, an account taken out of the organization (its service control policies no longer
/// apply) or made in it, an identity provider or Roles Anywhere trust anchor changed, tags
/// that grant access (ABAC) set. Counted only as actions before: a review found them silent in
/// the plan.
const DEFENCES: &[(&str, &str)] = &[
    ("DetachUserPolicy", IAM),
    ("DetachRolePolicy", IAM),
    ("DetachGroupPolicy", IAM),
    ("DeleteUserPolicy", IAM),
    ("DeleteRolePolicy", IAM),
    ("DeleteGroupPolicy", IAM),
    ("DeactivateMFADevice", IAM),
    ("DeleteVirtualMFADevice", IAM),
    ("UpdateAccountPasswordPolicy", IAM),
    ("DeleteAccountPasswordPolicy", IAM),
    ("UpdateOpenIDConnectProviderThumbprint", IAM),
    ("AddClientIDToOpenIDConnectProvider", IAM),
    ("TagRole", IAM),
    ("TagUser", IAM),
    ("UntagRole", IAM),
    ("UntagUser", IAM),
    ("DeleteDetector", "guardduty.amazonaws.com"),
    ("UpdateDetector", "guardduty.amazonaws.com"),
    ("DisassociateFromMasterAccount", "guardduty.amazonaws.com"),
    ("DisassociateFromAdministratorAccount", "guardduty.amazonaws.com"),
    ("StopConfigurationRecorder", "config.amazonaws.com"),
    ("DeleteConfigurationRecorder", "config.amazonaws.com"),
    ("DeleteDeliveryChannel", "config.amazonaws.com"),
    ("DisableSecurityHub", "securityhub.amazonaws.com"),
    ("DeleteFlowLogs", "ec2.amazonaws.com"),
    ("ModifyInstanceMetadataOptions", "ec2.amazonaws.com"),
    ("LeaveOrganization", "organizations.amazonaws.com"),
    ("RemoveAccountFromOrganization", "organizations.amazonaws.com"),
    // CloudTrail's access to the organization (an organization trail stops for every member)
    // and CloudTrail Lake's event data stores: the evidence cut off ([`blinded`]).
    ("DisableAWSServiceAccess", "organizations.amazonaws.com"),
    ("StopEventDataStoreIngestion", "cloudtrail.amazonaws.com"),
    ("DeleteEventDataStore", "cloudtrail.amazonaws.com"),
    ("UpdateEventDataStore", "cloudtrail.amazonaws.com"),
    // A service control policy taken off, rewritten or deleted; a resource shared with
    // another account through RAM (a review found each silent in the plan).
    ("DetachPolicy", "organizations.amazonaws.com"),
    ("UpdatePolicy", "organizations.amazonaws.com"),
    ("DeletePolicy", "organizations.amazonaws.com"),
    ("CreateResourceShare", "ram.amazonaws.com"),
    ("AssociateResourceShare", "ram.amazonaws.com"),
    // (A review of those: the same families.)
    ("DisablePolicyType", "organizations.amazonaws.com"),
    ("AttachPolicy", "organizations.amazonaws.com"),
    ("MoveAccount", "organizations.amazonaws.com"),
    ("UpdateResourceShare", "ram.amazonaws.com"),
    ("AssociateResourceSharePermission", "ram.amazonaws.com"),
    ("EnableSharingWithAwsOrganization", "ram.amazonaws.com"),
    // Resource policies and shares that let another account or anyone in (a review of
    // resource policies found each silent in the plan): a review item each.
    ("PutAccessPointPolicy", "s3.amazonaws.com"),
    ("PutObjectAcl", "s3.amazonaws.com"),
    ("DeleteBucketPublicAccessBlock", "s3.amazonaws.com"),
    ("DeletePublicAccessBlock", "s3.amazonaws.com"),
    ("SetQueueAttributes", "sqs.amazonaws.com"),
    ("SetTopicAttributes", "sns.amazonaws.com"),
    ("ReplicateKey", "kms.amazonaws.com"),
    ("AddLayerVersionPermission20181031", "lambda.amazonaws.com"),
    ("CreateFunctionUrlConfig20211031", "lambda.amazonaws.com"),
    ("UpdateFunctionUrlConfig20211031", "lambda.amazonaws.com"),
    ("PutPermission", "events.amazonaws.com"),
    ("PutFileSystemPolicy", "elasticfilesystem.amazonaws.com"),
    ("PutBackupVaultAccessPolicy", "backup.amazonaws.com"),
    ("ModifyDocumentPermission", "ssm.amazonaws.com"),
    ("AuthorizeSnapshotAccess", "redshift.amazonaws.com"),
    ("SetVaultAccessPolicy", "glacier.amazonaws.com"),
    ("PutDestinationPolicy", "logs.amazonaws.com"),
    ("UpdateRestApi", "apigateway.amazonaws.com"),
    ("UpdateDomainConfig", "es.amazonaws.com"),
    ("CreateTrustAnchor", "rolesanywhere.amazonaws.com"),
    ("UpdateTrustAnchor", "rolesanywhere.amazonaws.com"),
    ("EnableTrustAnchor", "rolesanywhere.amazonaws.com"),
    ("EnableProfile", "rolesanywhere.amazonaws.com"),
];

const IAM: &str = "iam.amazonaws.com";

/// Calls that hand a service a role to run what the caller chose with (`iam:PassRole`): a task,
/// a build, a job, a notebook, a state machine. The service takes the role's sessions itself
/// and renews them for as long as the workload runs (F21), under names the logs do not tie to
/// the call, so the taint does not follow them: each is a persistence finding whose follow-up
/// says NOT FOLLOWED, and the plan and `verify` fail on it ([`NOT_FOLLOWED`]). By service: the
/// names alone are other services' too (S3 Batch Operations' `CreateJob`, App Runner's
/// `CreateService`).
const HANDED_ROLE: &[(&str, &str)] = &[
    ("RunTask", "ecs.amazonaws.com"),
    ("StartTask", "ecs.amazonaws.com"),
    ("CreateService", "ecs.amazonaws.com"),
    ("UpdateService", "ecs.amazonaws.com"),
    ("RegisterTaskDefinition", "ecs.amazonaws.com"),
    ("SubmitJob", "batch.amazonaws.com"),
    ("CreateProject", "codebuild.amazonaws.com"),
    ("UpdateProject", "codebuild.amazonaws.com"),
    ("StartBuild", "codebuild.amazonaws.com"),
    ("StartBuildBatch", "codebuild.amazonaws.com"),
    ("CreateDevEndpoint", "glue.amazonaws.com"),
    ("UpdateDevEndpoint", "glue.amazonaws.com"),
    ("CreateJob", "glue.amazonaws.com"),
    ("UpdateJob", "glue.amazonaws.com"),
    ("StartJobRun", "glue.amazonaws.com"),
    ("CreateNotebookInstance", "sagemaker.amazonaws.com"),
    ("CreatePresignedNotebookInstanceUrl", "sagemaker.amazonaws.com"),
    ("CreateProcessingJob", "sagemaker.amazonaws.com"),
    ("CreateTrainingJob", "sagemaker.amazonaws.com"),
    ("CreateStateMachine", "states.amazonaws.com"),
    ("UpdateStateMachine", "states.amazonaws.com"),
    ("RunJobFlow", "elasticmapreduce.amazonaws.com"),
    // Commands of the caller's choosing run on compute that already holds a role: scheduled
    // (State Manager re-runs an association), deployed, added as a cluster step, run in a
    // container, or a principal of any account let into a cluster (a review found each with
    // plan exit 0 and verify OK, the instance's stolen session then making a user and key).
    ("CreateAssociation", "ssm.amazonaws.com"),
    ("UpdateAssociation", "ssm.amazonaws.com"),
    ("CreateDeployment", "codedeploy.amazonaws.com"),
    ("AddJobFlowSteps", "elasticmapreduce.amazonaws.com"),
    ("ExecuteCommand", "ecs.amazonaws.com"),
    ("CreateAccessEntry", "eks.amazonaws.com"),
    ("AssociateAccessPolicy", "eks.amazonaws.com"),
    // More of the same, found by the review of the list: a Studio domain's URL, an App Runner
    // service's instance role, EMR Serverless and Glue interactive sessions, SSM Automation and
    // maintenance-window tasks, EventBridge Scheduler targets, ECS task sets, EKS Pod Identity,
    // a SageMaker model's execution role, a Batch job definition's job role, a notebook's
    // lifecycle configuration (run at each start with the notebook's role).
    ("CreatePresignedDomainUrl", "sagemaker.amazonaws.com"),
    ("CreateModel", "sagemaker.amazonaws.com"),
    ("CreateNotebookInstanceLifecycleConfig", "sagemaker.amazonaws.com"),
    ("UpdateNotebookInstanceLifecycleConfig", "sagemaker.amazonaws.com"),
    ("UpdateNotebookInstance", "sagemaker.amazonaws.com"),
    ("CreateService", "apprunner.amazonaws.com"),
    ("UpdateService", "apprunner.amazonaws.com"),
    ("StartJobRun", "emr-serverless.amazonaws.com"),
    ("CreateApplication", "emr-serverless.amazonaws.com"),
    ("CreateSession", "glue.amazonaws.com"),
    ("StartAutomationExecution", "ssm.amazonaws.com"),
    ("RegisterTaskWithMaintenanceWindow", "ssm.amazonaws.com"),
    ("UpdateMaintenanceWindowTask", "ssm.amazonaws.com"),
    ("CreateSchedule", "scheduler.amazonaws.com"),
    ("UpdateSchedule", "scheduler.amazonaws.com"),
    ("CreateTaskSet", "ecs.amazonaws.com"),
    ("CreatePodIdentityAssociation", "eks.amazonaws.com"),
    ("UpdatePodIdentityAssociation", "eks.amazonaws.com"),
    ("RegisterJobDefinition", "batch.amazonaws.com"),
    // Run with a role the request need not name (a review: plan exit 0): a change set or stack
    // set, run with the stack's service role or the target accounts' execution role; an SSM
    // document that existing associations and maintenance windows run on instances; an image
    // that running services pull and run with their task or instance role.
    ("CreateChangeSet", "cloudformation.amazonaws.com"),
    ("ExecuteChangeSet", "cloudformation.amazonaws.com"),
    ("CreateStackSet", "cloudformation.amazonaws.com"),
    ("UpdateStackSet", "cloudformation.amazonaws.com"),
    ("CreateStackInstances", "cloudformation.amazonaws.com"),
    ("UpdateStackInstances", "cloudformation.amazonaws.com"),
    ("UpdateDocument", "ssm.amazonaws.com"),
    ("UpdateDocumentDefaultVersion", "ssm.amazonaws.com"),
    ("PutImage", "ecr.amazonaws.com"),
    // Run with a role whatever the request names, or with one it names only by a parameter, a
    // default or inside a JSON string (a review: plan exit 0): a Data Pipeline's `#{myRole}`
    // parameters and their values, a Beanstalk environment's instance profile (its default, or
    // set from the source bundle), a Batch compute environment's instance role, a Glue
    // crawler's role.
    ("PutPipelineDefinition", "datapipeline.amazonaws.com"),
    ("ActivatePipeline", "datapipeline.amazonaws.com"),
    ("CreateEnvironment", "elasticbeanstalk.amazonaws.com"),
    ("UpdateEnvironment", "elasticbeanstalk.amazonaws.com"),
    ("CreateComputeEnvironment", "batch.amazonaws.com"),
    ("UpdateComputeEnvironment", "batch.amazonaws.com"),
    ("CreateCrawler", "glue.amazonaws.com"),
    ("UpdateCrawler", "glue.amazonaws.com"),
    // A Service Catalog product launched with its launch constraint's role, and the constraint
    // itself (its role is inside a JSON string of the request, which is not read).
    // A streaming session on an AppStream fleet instance, which holds the fleet's role.
    ("CreateStreamingURL", "appstream.amazonaws.com"),
    ("ProvisionProduct", "servicecatalog.amazonaws.com"),
    ("UpdateProvisionedProduct", "servicecatalog.amazonaws.com"),
    ("CreateConstraint", "servicecatalog.amazonaws.com"),
    ("UpdateConstraint", "servicecatalog.amazonaws.com"),
];

/// How the follow-up of a route to a principal's sessions that the taint does not follow
/// begins: the plan counts each such finding as left uncut (`plan` exits 1) and `verify`
/// fails on it, since no plan can be shown to cut credentials the graph does not hold.
pub const NOT_FOLLOWED: &str = "NOT FOLLOWED by the taint";

/// A root session taken (`AssumeRoot`) whose calls the trail does not hold (`seen` false): in
/// an account whose logs are not in the trail, or logged without its response (the session is
/// then linked to no call), or whose calls are in a region or time the trail lacks. What it
/// did with root's task policy (root's password set, root's credentials deleted, a bucket's
/// or queue's policy removed) is in none of these logs, and root's console sessions after a
/// password it set are the attacker's, which no deny cuts (F11). A route not followed
/// (reviews: the leaked key's `AssumeRoot` with `IAMCreateRootUserPassword` into an account
/// without logs, with some of them, or logged without its response; each plan 0 and verify
/// OK). With the session's calls in the trail, they are followed as root's.
pub(super) fn unseen_root(
    e: &Event,
    accounts: &std::collections::BTreeSet<&str>,
    seen: bool,
) -> Option<(String, String, String)> {
    if e.name != "AssumeRoot" || e.source != "sts.amazonaws.com" || seen {
        return None;
    }
    let target = e.request.target_principal.as_deref().unwrap_or("?");
    let account = crate::chain::arn_account(target).unwrap_or(target);
    let account = if crate::escape::is_account_id(account) { account } else { "?" };
    let (detail, next) = if accounts.contains(account) {
        ("root session taken (AssumeRoot) whose calls are not in the trail (its record has no response, or they are in a region or time the trail does not hold)", "run again on that account's logs of its us-east-1 region (where IAM calls are logged) around the call")
    } else {
        (
            "root session taken (AssumeRoot) in an account whose logs are not in the trail",
            "collect its logs and run again",
        )
    };
    Some((
        format!("root of account {account}"),
        detail.to_string(),
        format!("{NOT_FOLLOWED}: what the root session did there (with its task policy: root's password set, root's credentials deleted, a bucket's or queue's policy removed) is not in these logs; {next} (AWSLogs/{account}/), or check root there yourself (its password and access keys, MFA) and, if its password was set, reset it (F11)"),
    ))
}

/// The follow-up of a call that cut off the evidence: logging stopped, re-pointed or narrowed
/// (a trail, an organization trail's hold on an account, an event data store). What the
/// tainted credentials did after it is in no log the responder will have (a review: a live
/// session stopped its account's trail, then made a user and key; plan 0, verify OK with the
/// key live). A route not followed, whatever the change: an attacker's change to logging is
/// never read as harmless.
fn blinded() -> String {
    format!("{NOT_FOLLOWED}: logging may have stopped here (or gone elsewhere, or left out management events): what the tainted credentials did after it is not in these logs and will not be, so no plan made from them can be shown to cut it; restore logging, then look in IAM itself for what was made since (aws iam generate-credential-report, list-users, list-access-keys, list-roles and their trust policies; or run again with --iam on a fresh snapshot), deactivate or delete what the attacker made, and deny the sessions issued since (F6)")
}

fn handed_role(e: &Event) -> bool {
    HANDED_ROLE.iter().any(|(n, s)| *n == e.name && *s == e.source)
}

/// Credentials other services hand out, by name and service, that the taint does not follow:
/// each hands whoever holds it a role's sessions, or acts with one, after any cut-off (a review
/// found each with plan exit 0 and verify OK). What each is, and what to do, is [`Route`]'s.
const OTHER_ROUTES: &[(&str, &str, Route)] = &[
    // Who may take an identity pool's role sessions: unauthenticated identities allowed, a
    // provider (a user pool, a web identity provider) trusted.
    ("CreateIdentityPool", "cognito-identity.amazonaws.com", Route::IdentityPool),
    // (A review of the list found the ones after the first of each service's.)
    ("UpdateIdentityPool", "cognito-identity.amazonaws.com", Route::IdentityPool),
    // A user pool's users the attacker made or holds (a password set, attributes changed, a
    // group, with its role, joined, an outside identity linked) sign in to the identity pools
    // and groups that trust the user pool; the admin's own sign-in hands out its tokens.
    ("AdminCreateUser", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminSetUserPassword", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminResetUserPassword", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminUpdateUserAttributes", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminConfirmSignUp", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminEnableUser", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminAddUserToGroup", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminLinkProviderForUser", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminInitiateAuth", "cognito-idp.amazonaws.com", Route::UserPool),
    ("CreateIdentityProvider", "cognito-idp.amazonaws.com", Route::UserPool),
    ("UpdateIdentityProvider", "cognito-idp.amazonaws.com", Route::UserPool),
    ("CreateUserPoolClient", "cognito-idp.amazonaws.com", Route::UserPool),
    ("UpdateUserPoolClient", "cognito-idp.amazonaws.com", Route::UserPool),
    ("UpdateUserPool", "cognito-idp.amazonaws.com", Route::UserPool),
    ("AdminRespondToAuthChallenge", "cognito-idp.amazonaws.com", Route::UserPool),
    // A device certificate, and the IoT policy that lets it buy a role alias's sessions from
    // the IoT credentials endpoint, for as long as the certificate is active.
    ("CreateKeysAndCertificate", "iot.amazonaws.com", Route::Certificate),
    ("CreateCertificateFromCsr", "iot.amazonaws.com", Route::Certificate),
    ("RegisterCertificate", "iot.amazonaws.com", Route::Certificate),
    ("RegisterCertificateWithoutCA", "iot.amazonaws.com", Route::Certificate),
    ("UpdateCertificate", "iot.amazonaws.com", Route::Certificate),
    ("AttachPolicy", "iot.amazonaws.com", Route::Certificate),
    ("AttachPrincipalPolicy", "iot.amazonaws.com", Route::Certificate),
    ("AttachThingPrincipal", "iot.amazonaws.com", Route::Certificate),
    ("RegisterCACertificate", "iot.amazonaws.com", Route::Certificate),
    // An SSH key of a Transfer Family server's user, who acts with the user's role, or the
    // server's identity provider changed.
    ("ImportSshPublicKey", "transfer.amazonaws.com", Route::TransferKey),
    ("UpdateServer", "transfer.amazonaws.com", Route::TransferKey),
    // An OIDC issuer a cluster now takes as a login: Kubernetes RBAC, not IAM, decides (F22).
    ("AssociateIdentityProviderConfig", "eks.amazonaws.com", Route::Cluster),
    // An account let into the organization, made in it, or made its delegated administrator
    // for a service (Identity Center, StackSets: what it then does is logged in its own trail
    // only), or a service given the organization's access (a review found each with plan
    // exit 0 and verify OK).
    ("RegisterDelegatedAdministrator", "organizations.amazonaws.com", Route::Organization),
    ("InviteAccountToOrganization", "organizations.amazonaws.com", Route::Organization),
    ("CreateAccount", "organizations.amazonaws.com", Route::Organization),
    ("EnableAWSServiceAccess", "organizations.amazonaws.com", Route::Organization),
    ("AcceptHandshake", "organizations.amazonaws.com", Route::JoinedOrganization),
    // S3 Access Grants: a grantee (another account's user or role, a directory identity)
    // asks S3 for data access and gets a session of the location's role (a review: plan 0).
    ("PutAccessGrantsInstanceResourcePolicy", "s3.amazonaws.com", Route::AccessGrants),
    ("CreateAccessGrant", "s3.amazonaws.com", Route::AccessGrants),
    ("CreateAccessGrantsLocation", "s3.amazonaws.com", Route::AccessGrants),
    ("UpdateAccessGrantsLocation", "s3.amazonaws.com", Route::AccessGrants),
    ("AssociateAccessGrantsIdentityCenter", "s3.amazonaws.com", Route::AccessGrants),
    // A registry or repository another account may push to or replicate into: what runs
    // its images (tasks, functions, pods) runs with their roles (as a tainted `PutImage`).
    ("SetRepositoryPolicy", "ecr.amazonaws.com", Route::Registry),
    ("PutRegistryPolicy", "ecr.amazonaws.com", Route::Registry),
    ("PutReplicationConfiguration", "ecr.amazonaws.com", Route::Registry),
    // A certificate issued by (or the right to issue from) a private CA, which a Roles
    // Anywhere trust anchor may trust; a revocation list deleted or turned off, or a profile's
    // limits changed.
    ("IssueCertificate", "acm-pca.amazonaws.com", Route::PrivateCa),
    ("PutPolicy", "acm-pca.amazonaws.com", Route::PrivateCa),
    ("CreatePermission", "acm-pca.amazonaws.com", Route::PrivateCa),
    ("ImportCertificateAuthorityCertificate", "acm-pca.amazonaws.com", Route::PrivateCa),
    ("CreateCertificateAuthority", "acm-pca.amazonaws.com", Route::PrivateCa),
    ("UpdateCertificateAuthority", "acm-pca.amazonaws.com", Route::PrivateCa),
    ("RestoreCertificateAuthority", "acm-pca.amazonaws.com", Route::PrivateCa),
    ("UpdateCrl", "rolesanywhere.amazonaws.com", Route::PrivateCa),
    ("PutAttributeMapping", "rolesanywhere.amazonaws.com", Route::PrivateCa),
    ("DeleteCrl", "rolesanywhere.amazonaws.com", Route::PrivateCa),
    ("DisableCrl", "rolesanywhere.amazonaws.com", Route::PrivateCa),
    ("UpdateProfile", "rolesanywhere.amazonaws.com", Route::PrivateCa),
];

/// What a call of [`OTHER_ROUTES`] gives.
#[derive(Clone, Copy)]
enum Route {
    IdentityPool,
    UserPool,
    Certificate,
    TransferKey,
    Cluster,
    Organization,
    JoinedOrganization,
    PrivateCa,
    AccessGrants,
    Registry,
}

impl Route {
    fn of(e: &Event) -> Option<Route> {
        OTHER_ROUTES.iter().find(|(n, s, _)| *n == e.name && *s == e.source).map(|r| r.2)
    }

    /// What changed, and the follow-up (a route not followed).
    fn texts(self) -> (&'static str, String) {
        let (what, undo) = match self {
            Route::IdentityPool => (
                "who may take a Cognito identity pool's role sessions changed (unauthenticated identities, or an identity provider, let in)",
                "restore the pool's settings (aws cognito-identity describe-identity-pool, update-identity-pool) and deny its roles' sessions issued since the call (F6)",
            ),
            Route::UserPool => (
                "a Cognito user pool's user, group, client or identity provider made or changed: who signs in to the identity pools and groups that trust the user pool (and their roles)",
                "undo the change (disable or delete the user, reset its password, remove it from the group, delete the client or provider: aws cognito-idp), sign the user out everywhere (admin-user-global-sign-out), and deny the roles' sessions the pools issued since the call (F6)",
            ),
            Route::Certificate => (
                "an IoT certificate made, activated or given a policy: its holder buys a role alias's sessions from the IoT credentials endpoint while it is active",
                "deactivate and delete the certificate (aws iot update-certificate --new-status INACTIVE), detach the policy, and deny the role aliases' roles' sessions issued since the call (F6)",
            ),
            Route::TransferKey => (
                "an SSH key added to a Transfer Family server's user, or the server's identity provider changed: whoever it lets in acts with the user's role",
                "delete the key (aws transfer delete-ssh-public-key) or restore the server's identity provider, and check the users' roles and home directories",
            ),
            Route::Cluster => (
                "an identity provider an EKS cluster takes sign-ins from associated: whoever it vouches for acts in the cluster as Kubernetes RBAC allows, whatever IAM denies (F22)",
                "disassociate it (aws eks disassociate-identity-provider-config) and check the cluster's role bindings and audit log",
            ),
            Route::Organization => (
                "an account made in or let into the organization, made a delegated administrator, or a service given the organization's access: what that account or service does next is logged in its own trail, not in these logs",
                "close or remove the account (aws organizations close-account, remove-account-from-organization), deregister the delegated administrator (deregister-delegated-administrator) or disable the service's access, and look in that account's own logs",
            ),
            Route::JoinedOrganization => (
                "this account accepted a handshake: it joined another organization (perhaps the attacker's), whose management account, service control policies and delegated administrators now reach into it (OrganizationAccountAccessRole, if made)",
                "leave that organization if it is not yours (aws organizations leave-organization, after describe-organization), check the roles that trust its management account, and deny their sessions issued since the call (F6)",
            ),
            Route::AccessGrants => (
                "S3 Access Grants changed (who may ask for data access, a grant, or a location and its role): a grantee gets sessions of the location's role from S3 whenever it asks",
                "delete the grants and resource policy the attacker made (aws s3control list-access-grants, delete-access-grant, delete-access-grants-instance-resource-policy) and deny the locations' roles' sessions issued since the call (F6)",
            ),
            Route::Registry => (
                "an ECR repository's or registry's policy or replication changed: another account may push or replicate images that tasks, functions and pods then run with their roles",
                "restore the policies and replication (aws ecr get-repository-policy, get-registry-policy, describe-registry), check the images pushed since, and deny the roles' sessions of what ran them since the call (F6)",
            ),
            Route::PrivateCa => (
                "a certificate issued from a private CA, the right to issue from one given, or a Roles Anywhere revocation list or profile changed: whoever holds a certificate a trust anchor trusts takes its profiles' role sessions",
                "revoke the certificates issued since (aws acm-pca revoke-certificate), restore the CA's policy and permissions and the revocation list or profile, and deny the profiles' roles' sessions issued since the call (F6)",
            ),
        };
        (what, format!("{NOT_FOLLOWED}: the credential is the service's, not IAM's, and no deny or deactivation of this plan ends it; {undo}"))
    }
}

/// IAM Identity Center's calls that make or change who signs in through its access portal and
/// what they may do in each account (identity store users and groups, permission sets and
/// their assignments): the role sessions they lead to are not in the session graph (their
/// issuing calls are the portal's), so no deny of the plan follows them (F20).
const IDENTITY_CENTER: &[&str] = &[
    "CreateUser",
    "UpdateUser",
    "CreateGroup",
    "UpdateGroup",
    "CreateGroupMembership",
    // The console's own calls (the directory's, not the identity store's): a member added, a
    // user's password set or the user enabled, an external SAML identity provider, a SCIM
    // provisioning token.
    "AddMemberToGroup",
    "UpdatePassword",
    "EnableUser",
    "CreateExternalIdPConfigurationForDirectory",
    "UpdateExternalIdPConfigurationForDirectory",
    "EnableExternalIdPConfigurationForDirectory",
    "DisableExternalIdPConfigurationForDirectory",
    "DeleteExternalIdPConfigurationForDirectory",
    "AssociateDirectory",
    "DisassociateDirectory",
    "UpdateUserName",
    "CreateBearerToken",
    "CreateAccountAssignment",
    "CreatePermissionSet",
    "UpdatePermissionSet",
    "ProvisionPermissionSet",
    "PutInlinePolicyToPermissionSet",
    "AttachManagedPolicyToPermissionSet",
    "AttachCustomerManagedPolicyReferenceToPermissionSet",
    "PutPermissionsBoundaryToPermissionSet",
    // What held a permission set back taken off, the attributes access is decided by changed,
    // an outside token issuer trusted (a review found each silent in the plan).
    "DeleteInlinePolicyFromPermissionSet",
    "DetachManagedPolicyFromPermissionSet",
    "DetachCustomerManagedPolicyReferenceFromPermissionSet",
    "DeletePermissionsBoundaryFromPermissionSet",
    "UpdateInstanceAccessControlAttributeConfiguration",
    "CreateInstanceAccessControlAttributeConfiguration",
    "CreateTrustedTokenIssuer",
    "UpdateTrustedTokenIssuer",
    "CreateApplication",
    "CreateApplicationAssignment",
    "PutApplicationGrant",
    "PutApplicationAuthenticationMethod",
    "PutApplicationAccessScope",
    "CreateInstance",
    "CompleteVirtualMfaDeviceRegistration",
    "DeleteMfaDeviceForUser",
];

/// A call to IAM Identity Center ([`IDENTITY_CENTER`]), by its service: an identity store's
/// `CreateUser` is not IAM's.
fn is_identity_center(e: &Event) -> bool {
    matches!(
        e.source.as_str(),
        "identitystore.amazonaws.com" | "sso.amazonaws.com" | "sso-directory.amazonaws.com"
    ) && IDENTITY_CENTER.contains(&e.name.as_str())
}

/// Whether a successful call leaves something behind ([`PERSISTENCE`], every Lambda call that
/// sets what a function runs, with or without its API version, [`IDENTITY_CENTER`]'s, and
/// any call that hands a service a role: [`passed_role`]).
pub(super) fn is_persistence(e: &Event) -> bool {
    PERSISTENCE.contains(&e.name.as_str())
        || super::other_credential(e)
        || crate::ingest::FUNCTION_CHANGES.contains(&e.name.as_str())
        || is_identity_center(e)
        || Route::of(e).is_some()
        || DEFENCES.iter().any(|(n, s)| *n == e.name && *s == e.source)
        || handed_role(e)
        || passed_role(e).is_some()
}

/// The role (or instance profile) a call hands a service to act with (`iam:PassRole`): one
/// named anywhere in its request ([`crate::model::Request::passed_role`]), by a call that is
/// not read-only, not IAM's or STS's own (those act on the role, or are the session graph's
/// issuing calls) and not another call the session graph follows (a launch, a function's
/// change). No list of names holds every service that takes a role ([`HANDED_ROLE`] names the
/// common ones, with follow-ups of their own): an unlisted one (Transfer Family's user,
/// DataSync, Kinesis, an S3 replication rule, an EventBridge target) is caught by what its
/// request names, so that the plan fails rather than passes on it.
pub(super) fn passed_role(e: &Event) -> Option<&str> {
    let role = e.request.passed_role.as_deref()?;
    let read_only = match e.read_only {
        Some(r) => r,
        None => ["Get", "List", "Describe"].iter().any(|p| e.name.starts_with(p)),
    };
    let own = e.source == IAM || e.source == "sts.amazonaws.com";
    let stores = STORES_DATA.contains(&e.name.as_str());
    (!read_only && !own && !stores && !crate::ingest::is_detail(&e.name, &e.source)).then_some(role)
}

/// The roles a request names ([`crate::model::Request::passed_role`], joined by spaces) as a
/// review item lists them.
fn listed(roles: &str) -> String {
    roles.replace(' ', ", ")
}

/// Calls that store what they are given as data (a tag, a parameter, a secret, an object, a
/// message): a role's ARN among it is a value kept, not a role handed to the service (a review
/// found a CI key's `PutParameter` of a role ARN failing the plan). What reads it back and
/// acts on it does so with its own credentials.
const STORES_DATA: &[&str] = &[
    "CreateTags",
    "DeleteTags",
    "TagResource",
    "UntagResource",
    "AddTagsToResource",
    "RemoveTagsFromResource",
    "PutParameter",
    "CreateSecret",
    "PutSecretValue",
    "UpdateSecret",
    "PutObject",
    "PutItem",
    "UpdateItem",
    "BatchWriteItem",
    "PutRecord",
    "PutRecords",
    "SendMessage",
    "SendMessageBatch",
    "Publish",
    "PutEvents",
    "PutLogEvents",
    "PutMetricData",
];

/// A call of an IAM or STS name made to another service (Transfer Family's or an identity
/// store's `CreateUser`): not what IAM's call of the name does ([`crate::ingest::is_detail`]).
pub(super) fn not_iam(e: &Event) -> bool {
    crate::ingest::needs_detail(&e.name) && !crate::ingest::is_detail(&e.name, &e.source)
}

pub(super) fn persistence_of(e: &Event) -> Option<(String, String, String)> {
    let found = listed_persistence(e)?;
    // A call that hands a service a role is a route the taint does not follow, unless what
    // the call is already says the plan does not cover it.
    match passed_role(e) {
        Some(roles) if !found.2.starts_with(NOT_FOLLOWED) && !found.2.starts_with(NOT_CUT) => {
            let roles = listed(roles);
            Some((
                roles.clone(),
                format!("{} ({}): the call hands the service a role to act with ({roles})", e.name, e.source),
                format!("{NOT_FOLLOWED}: the service takes the role's sessions itself, under names the logs do not tie to this call, and renews them while what the call made runs (F21), and no deny of this plan names them; stop or delete what the call made or changed (its requestParameters name it), then deny the role's sessions issued since the call (F6)"),
            ))
        }
        _ => Some(found),
    }
}

/// How the resource-policy findings' follow-up begins: access granted on a resource, which
/// no deny or deactivation of the plan takes back.
const NOT_CUT: &str = "NOT CUT by this plan";

/// [`persistence_of`] before a passed role is looked at.
fn listed_persistence(e: &Event) -> Option<(String, String, String)> {
    let q = &e.request;
    let r = &e.response;
    if is_identity_center(e) {
        return Some((
            e.resources.first().cloned().or_else(|| q.user_name.as_ref().map(|u| format!("identity center user {u}"))).unwrap_or_else(|| format!("IAM Identity Center ({})", e.source)),
            format!("{} ({}): who signs in through IAM Identity Center, or what they may do in each account, changed", e.name, e.source),
            format!("{NOT_FOLLOWED}: the role sessions Identity Center hands out (AWSReservedSSO_ roles) are not tainted, and no IAM deny of this plan cuts them (F20); undo the change in Identity Center (the account assignment, the permission set's policies, the user's e-mail, MFA and group memberships), then end the users' active portal sessions there"),
        ));
    }
    if let Some(route) = Route::of(e) {
        let (what, follow) = route.texts();
        let target = e
            .resources
            .first()
            .cloned()
            .or_else(|| q.user_name.as_ref().map(|u| format!("user {u} ({})", e.source)))
            .unwrap_or_else(|| e.source.clone());
        return Some((target, format!("{} ({}): {what}", e.name, e.source), follow));
    }
    if handed_role(e) {
        return Some((
            // What it ran and the roles it named, so that two calls of one name with other
            // roles are two review items, each naming its roles.
            match (e.resources.first(), q.passed_role.as_deref().map(listed)) {
                (Some(r), Some(roles)) => format!("{r} with {roles}"),
                (Some(r), None) => r.clone(),
                (None, Some(roles)) => roles,
                (None, None) => q
                    .role_arn
                    .clone()
                    .or_else(|| q.name.as_ref().map(|n| format!("{n} ({})", e.source)))
                    .unwrap_or_else(|| e.source.clone()),
            },
            format!("{} ({}): what the caller chose (a task, build, job, notebook, state machine, command, deployment or cluster access) runs with a role's sessions", e.name, e.source),
            format!("{NOT_FOLLOWED}: the service or the compute takes the role's sessions itself and renews them while the workload runs (F21), and no deny of this plan names them; stop or delete what the call started, scheduled or let in (its requestParameters name it), then deny the role's sessions issued since the call (F6)"),
        ));
    }
    if not_iam(e) {
        return Some((
            e.resources.first().cloned().unwrap_or_else(|| e.source.clone()),
            format!("{} ({}), not IAM's call of that name", e.name, e.source),
            "review and undo".to_string(),
        ));
    }
    let user = || {
        q.user_name.clone().or_else(|| e.identity.user_name.clone()).unwrap_or_else(|| "?".into())
    };
    let role = || q.role_name.clone().unwrap_or_else(|| "?".into());
    let (target, detail, follow) = match e.name.as_str() {
        "CreateAccessKey" => (
            format!("user/{}", r.access_key_user.clone().unwrap_or_else(user)),
            format!("access key {}", r.access_key_id.as_deref().unwrap_or("?")),
            "deactivate and delete the key (aws iam update-access-key --status Inactive, then delete-access-key)".to_string(),
        ),
        "UpdateAccessKey" => (
            format!("user/{}", user()),
            format!("access key {} set {}", q.access_key_id.as_deref().unwrap_or("?"), q.status.as_deref().unwrap_or("?")),
            "check the key's status is what it should be".to_string(),
        ),
        "CreateUser" => (
            format!("user/{}", r.user_name.clone().unwrap_or_else(user)),
            format!("new IAM user {}", r.user_arn.as_deref().unwrap_or("")),
            "delete the user after removing its keys, login profile, policies and group memberships".to_string(),
        ),
        // With no user name, from a root session (AssumeRoot with the task policy
        // IAMCreateRootUserPassword): the root user's own password.
        "CreateLoginProfile" | "UpdateLoginProfile"
            if r.login_profile_user.is_none()
                && q.user_name.is_none()
                && e.identity.kind.as_deref() == Some("Root") =>
        {
            (
                "root".to_string(),
                "the root user's console password set".to_string(),
                "reset the root password (sign in as root, or account recovery) and delete it through centralized root access (aws iam delete-login-profile from an AssumeRoot session with the task policy IAMDeleteRootUserCredentials); no IAM policy restricts root (F11)".to_string(),
            )
        }
        "CreateLoginProfile" | "UpdateLoginProfile" => (
            format!("user/{}", r.login_profile_user.clone().unwrap_or_else(user)),
            "console password set".to_string(),
            "delete the login profile (aws iam delete-login-profile)".to_string(),
        ),
        "AttachUserPolicy" | "PutUserPolicy" => (
            format!("user/{}", user()),
            format!("policy {}", q.policy_arn.as_deref().or(q.policy_name.as_deref()).unwrap_or("?")),
            "detach or delete the policy".to_string(),
        ),
        "AttachRolePolicy" | "PutRolePolicy" => (
            format!("role/{}", role()),
            format!("policy {}", q.policy_arn.as_deref().or(q.policy_name.as_deref()).unwrap_or("?")),
            "detach or delete the policy".to_string(),
        ),
        "AttachGroupPolicy" | "PutGroupPolicy" | "AddUserToGroup" => (
            format!("group/{}", q.group_name.as_deref().unwrap_or("?")),
            format!("{} {}", e.name, q.policy_arn.as_deref().or(q.user_name.as_deref()).unwrap_or("")),
            "undo the group change".to_string(),
        ),
        "CreateRole" => (
            format!("role/{}", role()),
            format!("new role {}", r.role_arn.as_deref().unwrap_or("")),
            "the plan denies it everything (TrailhoundDenyAll): whoever its trust policy names could assume it after any cut-off; review what it did, then delete it (its policies and instance profiles first)".to_string(),
        ),
        "UpdateAssumeRolePolicy" => (
            format!("role/{}", role()),
            "trust policy changed".to_string(),
            "restore the previous trust policy (who can assume the role changed)".to_string(),
        ),
        // The evidence itself cut off ([`blinded`]). `PutEventSelectors` names its trail
        // `trailName`, which the request model does not keep: the record's resource instead.
        "StopLogging" | "DeleteTrail" | "PutEventSelectors" | "UpdateTrail" => (
            format!("trail {}", q.name.as_deref().or(e.resources.first().map(String::as_str)).unwrap_or("?")),
            "logging tampered with".to_string(),
            blinded(),
        ),
        // The same by the organization or CloudTrail Lake (a review of the first fix: an
        // account taken out of the organization, CloudTrail's organization access disabled,
        // an event data store stopped or deleted; each plan 0, verify OK).
        "LeaveOrganization" | "RemoveAccountFromOrganization" | "DisableAWSServiceAccess"
        | "StopEventDataStoreIngestion" | "DeleteEventDataStore" | "UpdateEventDataStore" => (
            e.resources.first().cloned().unwrap_or_else(|| e.source.clone()),
            format!("{}: the organization's or CloudTrail Lake's logging of accounts changed (an account out of the organization is no longer held by its service control policies, nor logged by its organization trail)", e.name),
            blinded(),
        ),
        name if crate::ingest::FUNCTION_CHANGES.contains(&name) => (
            format!(
                "function {}",
                q.function_name.as_deref().and_then(|f| crate::chain::function_name(f)).map_or("?", |(_, n)| n)
            ),
            "Lambda function code or configuration set".to_string(),
            "restore or delete the function (code, layers, environment, role): it runs with its role's credentials, which Lambda renews by itself (F21)".to_string(),
        ),
        "CreateSAMLProvider" => (
            format!("saml-provider/{}", q.name.as_deref().unwrap_or("?")),
            "SAML provider made (a role that trusts a provider of that name trusts it)".to_string(),
            "delete the provider, or restore the metadata document of the one it replaced: until then whoever holds its signing key signs in to every role that trusts it, after any cut-off".to_string(),
        ),
        "UpdateSAMLProvider" => (
            q.principal_arn
                .as_deref()
                .and_then(|a| a.split_once(":saml-provider/"))
                .map_or_else(|| "saml-provider/?".to_string(), |(_, n)| format!("saml-provider/{n}")),
            "SAML provider re-pointed to another metadata document".to_string(),
            "restore the provider's metadata document from a copy you trust (aws iam update-saml-provider) or delete the provider: until then whoever holds the new signing key signs in to every role that trusts it, after any cut-off".to_string(),
        ),
        // The graph ties a launched instance's role sessions to the launch by the instance ids
        // of its response: a record without them (not logged, or cut for its size) leaves those
        // sessions untainted, a route like any other the taint does not follow (a review: an
        // instance with an admin profile, plan exit 0).
        "RunInstances" if r.instance_ids.is_none() => (
            "ec2 instances".to_string(),
            "instances launched, their ids not in the record (no response)".to_string(),
            format!("{NOT_FOLLOWED}: the instances' role sessions (their instance profile's) are not tied to this launch, and the instance renews them by itself (F21); find the instances (aws ec2 describe-instances, by launch time and the caller's key), deny their role's sessions by aws:userid ROLEID:i-... with no time condition, and terminate them"),
        ),
        "RunInstances" => (
            "ec2 instances".to_string(),
            "instances launched".to_string(),
            "review and terminate unknown instances; their instance profiles may hold credentials".to_string(),
        ),
        // Routes to a role's sessions that the taint does not follow (README, "Routes the
        // taint does not follow yet"): said here so that the plan lists them for review.
        "SendCommand" | "StartSession" | "AssociateIamInstanceProfile"
        | "ReplaceIamInstanceProfileAssociation" => (
            q.instance_id.as_deref().map_or_else(|| "ec2 instances".to_string(), |i| format!("instance/{i}")),
            if e.name.ends_with("Association") || e.name.starts_with("Associate") {
                "instance profile (role) set on an instance".to_string()
            } else {
                "commands run on instances (SSM): their role's credentials are readable there".to_string()
            },
            format!("{NOT_FOLLOWED}: the instances' role sessions may be the attacker's, and the instance renews them by itself; find the instances (the call's requestParameters), deny their role's sessions by aws:userid ROLEID:i-... with no time condition (F21), and replace or remove the instance profile"),
        ),
        // Instances started by another route than RunInstances by the key (Auto Scaling's
        // service role, a fleet, a spot request) from a template or configuration naming an
        // instance profile, and ways into a running instance.
        "CreateAutoScalingGroup" | "UpdateAutoScalingGroup" | "CreateLaunchConfiguration"
        | "CreateLaunchTemplate" | "CreateLaunchTemplateVersion" | "ModifyLaunchTemplate"
        | "CreateFleet" | "RequestSpotInstances" | "RequestSpotFleet" => (
            e.resources.first().cloned().unwrap_or_else(|| format!("{} ({})", e.name, e.source)),
            "instances started by Auto Scaling, a fleet or a spot request, or the template they start from (with its instance profile)".to_string(),
            format!("{NOT_FOLLOWED}: the instances started this way carry the template's instance profile, and their role sessions, which they renew by themselves, may be the attacker's; find the instances (aws autoscaling describe-auto-scaling-groups, aws ec2 describe-fleet-instances, describe-spot-instance-requests), deny their role's sessions by aws:userid ROLEID:i-... with no time condition (F21), and delete the group, fleet, request or template version"),
        ),
        "ModifyInstanceAttribute" | "SendSSHPublicKey" | "SendSerialConsoleSSHPublicKey" => (
            q.instance_id.as_deref().map_or_else(|| "ec2 instances".to_string(), |i| format!("instance/{i}")),
            "a way into an instance (user data run at its next start, an SSH key pushed): its role's credentials are readable there".to_string(),
            format!("{NOT_FOLLOWED}: the instance's role sessions may be the attacker's, and the instance renews them by itself; deny its role's sessions by aws:userid ROLEID:i-... with no time condition (F21), restore its user data, and replace the instance if in doubt"),
        ),
        "AddRoleToInstanceProfile" => (
            format!("role/{}", role()),
            "role put in an instance profile: every instance with the profile now fetches sessions of it".to_string(),
            format!("{NOT_FOLLOWED}: instances launched earlier with this profile (their renewals included, F21) now hold sessions of this role, which no deny of this plan names; find them (aws ec2 describe-iam-instance-profile-associations), deny the role's sessions by aws:userid ROLEID:i-... with no time condition (F21), and restore the profile's role"),
        ),
        "SetIdentityPoolRoles" => (
            q.role_arn.clone().unwrap_or_else(|| "cognito identity pool".to_string()),
            "roles a Cognito identity pool hands out set (its authenticated or unauthenticated identities get their sessions)".to_string(),
            format!("{NOT_FOLLOWED}: sessions issued through the pool from then on (AssumeRoleWithWebIdentity by cognito-identity.amazonaws.com) may be the attacker's; restore the pool's roles (aws cognito-identity get-identity-pool-roles, set-identity-pool-roles) and deny the roles' sessions issued since the call (F6)"),
        ),
        "CreateStack" | "UpdateStack" => (
            e.resources.first().cloned().unwrap_or_else(|| "cloudformation stack".to_string()),
            "CloudFormation stack created or updated (with the service role it was handed, if any)".to_string(),
            format!("{NOT_FOLLOWED}: what CloudFormation made as the stack's service role (users, access keys, roles) is not tainted; list the stack's resources (aws cloudformation describe-stack-resources), deactivate and delete access keys and users it made, and deny the service role's sessions"),
        ),
        "PutBucketPolicy" | "PutBucketAcl" | "PutKeyPolicy" | "CreateGrant" | "PutResourcePolicy"
        | "ModifySnapshotAttribute" | "ModifyImageAttribute" | "ModifyDBSnapshotAttribute"
        | "ModifyDBClusterSnapshotAttribute" | "SetRepositoryPolicy" | "AddPermission" => (
            e.resources.first().cloned().unwrap_or_else(|| format!("{} ({})", e.name, e.source)),
            format!("{}: a resource's policy, grants or sharing set (access it gives other principals or accounts does not go through them)", e.name),
            format!("{NOT_CUT}: access granted on the resource itself (a bucket or key policy, an ACL, a KMS grant, a secret's policy, a snapshot or image shared with another account) outlives every deny and deactivated key; read the call's requestParameters, then restore the resource's policy, revoke the grant, or stop the sharing"),
        ),
        "DeleteRolePermissionsBoundary" | "PutRolePermissionsBoundary" | "UpdateRole" => (
            format!("role/{}", role()),
            format!("{}: the role's permissions boundary or settings (its longest session) changed", e.name),
            "restore the role's permissions boundary and maximum session duration (aws iam get-role shows them)".to_string(),
        ),
        n if super::OTHER_CREDENTIALS.contains(&n) => {
            let what = crate::model::names::other_credential_what(n).unwrap_or("credential");
            let cli = what.to_ascii_lowercase().replace(' ', "-");
            let how = match n {
                "ResetServiceSpecificCredential" => " (its password reset)",
                n if n.starts_with("Update") => " (set Active)",
                _ => "",
            };
            (
                format!("user/{}", user()),
                format!("{what} {}{how}", r.credential_id.as_deref().unwrap_or("?")),
                format!("deactivate and delete it (aws iam update-{cli} --status Inactive, then delete-{cli}): it acts as the user, and no deny on aws:TokenIssueTime ends it"),
            )
        }
        "DetachUserPolicy" | "DeleteUserPolicy" | "DetachRolePolicy" | "DeleteRolePolicy"
        | "DetachGroupPolicy" | "DeleteGroupPolicy" => (
            match e.name.as_str() {
                n if n.ends_with("UserPolicy") => format!("user/{}", user()),
                n if n.ends_with("RolePolicy") => format!("role/{}", role()),
                _ => format!("group/{}", q.group_name.as_deref().unwrap_or("?")),
            },
            format!("policy {} removed", q.policy_arn.as_deref().or(q.policy_name.as_deref()).unwrap_or("?")),
            format!(
                "policy {} taken off: if it was a deny or quarantine policy (AWSCompromisedKeyQuarantineV3, F19, or a deny a responder put), put it back; what it held back is allowed again",
                q.policy_arn.as_deref().or(q.policy_name.as_deref()).unwrap_or("?")
            ),
        ),
        "DeactivateMFADevice" | "DeleteVirtualMFADevice" => (
            format!("user/{}", user()),
            "an MFA device removed".to_string(),
            "enable MFA for the user again (and check who holds the device now)".to_string(),
        ),
        "DeleteDetector" | "UpdateDetector" | "DisassociateFromMasterAccount"
        | "DisassociateFromAdministratorAccount" | "StopConfigurationRecorder"
        | "DeleteConfigurationRecorder" | "DeleteDeliveryChannel" | "DisableSecurityHub"
        | "DeleteFlowLogs" => (
            e.resources.first().cloned().unwrap_or_else(|| e.source.clone()),
            format!("{}: detection or recording turned off or changed", e.name),
            "check it is on as it should be (the call's requestParameters say what changed); findings and records while it was off are missing".to_string(),
        ),
        "DetachPolicy" | "UpdatePolicy" | "DeletePolicy" | "DisablePolicyType" | "AttachPolicy"
        | "MoveAccount"
            if e.source == "organizations.amazonaws.com" =>
        (
            e.resources.first().cloned().unwrap_or_else(|| e.source.clone()),
            format!("{}: an organization policy (a service control policy) taken off, rewritten, deleted, attached or turned off, or an account moved", e.name),
            "put the organization's policies and accounts back as they were (aws organizations describe-policy, list-targets-for-policy, list-policies-for-target): a policy taken off or rewritten allows again what it held back, one attached or an account moved changes what every account under it may do".to_string(),
        ),
        "CreateResourceShare" | "AssociateResourceShare" | "UpdateResourceShare"
        | "AssociateResourceSharePermission" | "EnableSharingWithAwsOrganization" => (
            e.resources.first().cloned().unwrap_or_else(|| e.source.clone()),
            format!("{}: resources shared through AWS RAM (with another account, perhaps outside the organization)", e.name),
            "check who the share lets in (aws ram get-resource-share-associations) and delete the share or the principals the attacker added".to_string(),
        ),
        "ModifyInstanceMetadataOptions" => (
            q.instance_id.as_deref().map_or_else(|| "ec2 instances".to_string(), |i| format!("instance/{i}")),
            "the instance metadata service's options changed (IMDSv1 allowed again, or the hop limit raised): the role's credentials are readable through a request forgery on the instance".to_string(),
            "require IMDSv2 again (aws ec2 modify-instance-metadata-options --http-tokens required) and check the instance's role sessions for use from elsewhere".to_string(),
        ),
        // A provider made (again) under a URL roles already trust is the same as one re-pointed
        // (a review: made again by the key, its web identity sessions untainted, exit 0).
        "UpdateOpenIDConnectProviderThumbprint" | "AddClientIDToOpenIDConnectProvider"
        | "CreateOpenIDConnectProvider" | "CreateTrustAnchor" | "UpdateTrustAnchor" | "EnableTrustAnchor" | "EnableProfile" => (
            e.resources.first().cloned().unwrap_or_else(|| e.source.clone()),
            format!("{}: an identity provider's or Roles Anywhere trust anchor's trust changed", e.name),
            format!("{NOT_FOLLOWED}: the roles that trust it may now be assumed with tokens or certificates the attacker holds; restore the thumbprints, client ids or certificate bundle, and deny the roles' sessions issued since the call (F6)"),
        ),
        "CreatePolicyVersion" | "SetDefaultPolicyVersion" => (
            q.policy_arn.clone().unwrap_or_else(|| "policy ?".to_string()),
            format!("{}: the policy's rights changed for every principal it is attached to", e.name),
            "set the version you trust as the default again (aws iam list-policy-versions, set-default-policy-version) and delete the attacker's".to_string(),
        ),
        "DeleteUserPermissionsBoundary" | "PutUserPermissionsBoundary" => (
            format!("user/{}", user()),
            format!("{}: the user's permissions boundary changed", e.name),
            "restore the user's permissions boundary (aws iam get-user shows it)".to_string(),
        ),
        _ => (
            e.resources.first().cloned().unwrap_or_else(|| e.source.clone()),
            e.name.clone(),
            "review and undo".to_string(),
        ),
    };
    Some((target, detail, follow))
}

pub(super) fn is_data_read(e: &Event) -> bool {
    matches!(
        e.name.as_str(),
        "GetObject"
            | "GetSecretValue"
            | "BatchGetSecretValue"
            | "GetParameter"
            | "GetParameters"
            | "GetParametersByPath"
            | "GetPasswordData"
            | "Decrypt"
            | "DescribeInstanceAttribute"
    ) || (e.category.as_deref() == Some("Data") && e.read_only == Some(true))
}

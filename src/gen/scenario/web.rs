//! Web identity and Cognito calls of a [`Scenario`].

use super::{Cred, Scenario};
use serde_json::json;

impl Scenario {
    /// `GetOpenIdTokenForDeveloperIdentity` by `caller` (a developer's AWS credentials) for the
    /// Cognito identity `identity` of pool `pool`, the token good for `duration` seconds (no
    /// `tokenDuration` in the request when `None`). The token itself is hidden, as CloudTrail
    /// hides it.
    pub fn cognito_developer_token(
        &mut self,
        caller: &Cred,
        at: i64,
        pool: &str,
        identity: &str,
        duration: Option<i64>,
    ) -> String {
        let mut request = json!({"identityPoolId": pool, "logins": {"login.example.com": "HIDDEN_DUE_TO_SECURITY_REASONS"}});
        if let Some(d) = duration {
            request["tokenDuration"] = json!(d);
        }
        let response = json!({"identityId": identity, "token": "HIDDEN_DUE_TO_SECURITY_REASONS"});
        let source = "cognito-identity.amazonaws.com";
        let name = "GetOpenIdTokenForDeveloperIdentity";
        self.call_full(caller, at, source, name, request, response, None, "aws-sdk-java/2.20.0")
    }

    /// `AssumeRoleWithWebIdentity` of `role_arn` with a token of `provider` (an OIDC issuer,
    /// `cognito-identity.amazonaws.com` for a Cognito identity) for `subject`, session named
    /// `session`, valid `duration` seconds: the record is the provider's identity's (a
    /// `WebIdentityUser`, no key), in the role's account.
    pub fn assume_role_with_web_identity(
        &mut self,
        provider: &str,
        role_arn: &str,
        subject: &str,
        session: &str,
        at: i64,
        duration: i64,
    ) -> Cred {
        let cred = self.role_session(role_arn, session, at, duration, json!({}));
        let web = Cred {
            key: String::new(),
            identity: json!({"type": "WebIdentityUser", "principalId": format!("{provider}:{subject}"), "userName": subject, "identityProvider": provider}),
            account: cred.account.clone(),
            arn: String::new(),
            principal_id: format!("{provider}:{subject}"),
            issued_at: None,
            expires_at: None,
            user_name: None,
            from_console: false,
        };
        let request =
            json!({"roleArn": role_arn, "roleSessionName": session, "durationSeconds": duration});
        let response = json!({
            "credentials": Self::credentials(&cred.key, at + duration),
            "assumedRoleUser": {"assumedRoleId": cred.principal_id, "arn": cred.arn},
            "provider": provider,
            "subjectFromWebIdentityToken": subject,
        });
        let name = "AssumeRoleWithWebIdentity";
        self.call_full(&web, at, "sts.amazonaws.com", name, request, response, None, "Mozilla/5.0");
        if let Some((_, r)) = self.records.last_mut() {
            if let Some(o) = r["userIdentity"].as_object_mut() {
                o.remove("accessKeyId");
            }
        }
        cred
    }
}

//! Policy evaluation, on the examples of the IAM User Guide pages "Policy evaluation logic",
//! "The difference between explicit and implicit denies", "NotAction", "NotResource" and
//! "Resource" (wildcards).

use super::*;
use serde_json::json;

fn pol(v: Value) -> Policy {
    Policy::from_value(&v).unwrap()
}

fn dec(p: &Policy, action: &str, resource: &str) -> Decision {
    p.eval("p", action, resource).decision()
}

#[test]
fn explicit_deny_wins_over_allow_and_the_rest_is_implicitly_denied() {
    // "The difference between explicit and implicit denies": AllowGetList + DenyReports.
    let p = pol(json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}
    ]}));
    assert_eq!(dec(&p, "iam:GetUser", "arn:aws:iam::111122223333:user/x"), Decision::Allowed);
    assert_eq!(dec(&p, "iam:GetOrganizationsAccessReport", "*"), Decision::Denied);
    assert_eq!(dec(&p, "iam:GenerateCredentialReport", "*"), Decision::Denied);
    assert_eq!(dec(&p, "iam:CreatePolicy", "*"), Decision::NotAllowed);
    let e = p.eval("p", "iam:GetCredentialReport", "*");
    assert_eq!((e.allow, e.deny), (Tri::Yes, Tri::Yes));
    assert_eq!(e.reasons, vec!["p#AllowGetList", "p#DenyReports"]);
}

#[test]
fn not_action_with_allow_allows_everything_else() {
    // NotAction page: allow everything except IAM.
    let p = pol(json!({"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}));
    assert_eq!(dec(&p, "s3:ListBucket", "arn:aws:s3:::b"), Decision::Allowed);
    assert_eq!(dec(&p, "IAM:CreateUser", "*"), Decision::NotAllowed);
    assert!(!p.may_allow_action("iam:CreateAccessKey"));
    assert!(p.may_allow_action("sts:AssumeRole"));
}

#[test]
fn not_action_with_conditional_deny_may_deny_only() {
    // NotAction page: deny everything but IAM unless signed in with MFA.
    let p = pol(json!({"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "DenyAllUsersNotUsingMFA", "Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
    ]}));
    match dec(&p, "ec2:RunInstances", "*") {
        Decision::MayAllow(l) => {
            assert_eq!(l, vec!["may be denied by condition (p#DenyAllUsersNotUsingMFA)"])
        }
        d => panic!("{d:?}"),
    }
    assert_eq!(dec(&p, "iam:ListUsers", "*"), Decision::Allowed);
}

#[test]
fn not_resource_allow_and_deny() {
    // NotResource page: everything in S3 except the payroll folder.
    let p = pol(json!({"Statement": {"Effect": "Allow", "Action": "s3:*",
        "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]}}));
    assert_eq!(
        dec(&p, "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/x.csv"),
        Decision::NotAllowed
    );
    assert_eq!(dec(&p, "s3:GetObject", "arn:aws:s3:::HRBucket/Other/x.csv"), Decision::Allowed);
    // Deny with NotResource: deny s3 on every bucket but one.
    let d = pol(json!({"Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::keep", "arn:aws:s3:::keep/*"]}
    ]}));
    assert_eq!(dec(&d, "s3:GetObject", "arn:aws:s3:::keep/a"), Decision::Allowed);
    assert_eq!(dec(&d, "s3:GetObject", "arn:aws:s3:::other/a"), Decision::Denied);
}

#[test]
fn wildcards_in_actions_and_resources() {
    let p = pol(json!({"Statement": [
        {"Effect": "Allow", "Action": ["sts:Assume*", "s3:Get?bject"],
         "Resource": ["arn:aws:iam::*:role/Admin*", "arn:aws:s3:::bucket/*"]}
    ]}));
    assert_eq!(
        dec(&p, "STS:assumerole", "arn:aws:iam::444455556666:role/AdminRole"),
        Decision::Allowed
    );
    assert_eq!(
        dec(&p, "sts:AssumeRole", "arn:aws:iam::444455556666:role/ReadOnly"),
        Decision::NotAllowed
    );
    assert_eq!(dec(&p, "s3:GetObject", "arn:aws:s3:::bucket/a/b"), Decision::Allowed);
    assert_eq!(dec(&p, "s3:GetObjectAcl", "arn:aws:s3:::bucket/a"), Decision::NotAllowed);
    // Resource names are case sensitive.
    assert_eq!(dec(&p, "s3:GetObject", "arn:aws:s3:::Bucket/a"), Decision::NotAllowed);
    // A wildcard does not span ARN segments.
    // A `*` ending a segment matches beyond its colons (AWS's Resource element docs).
    assert!(arn_match("arn:aws:iam::1111*", "arn:aws:iam::111122223333:role/x"));
    assert!(arn_match("arn:aws:iam::*", "arn:aws:iam::111122223333:role/x"));
    assert!(arn_match("arn:aws:*", "arn:aws:iam::111122223333:role/x"));
    // Elsewhere a wildcard stays within its segment.
    assert!(!arn_match("arn:aws:iam::1*2:role/x", "arn:aws:iam::111122223333:role/x:2"));
    assert!(!arn_match("arn:aws:i*m::111122223333:role/x", "arn:aws:iam:us:111122223333:role/x"));
    assert!(!arn_match("arn:aws:iam::4444*", "arn:aws:iam::111122223333:role/x"));
    assert!(!arn_match("arn:aws:iam::111122223333:role/x", "arn:aws:iam::111122223333:role/xy"));
    // A policy variable matches whatever it could stand for.
    assert!(arn_match(
        "arn:aws:iam::111122223333:user/${aws:username}",
        "arn:aws:iam::111122223333:user/alice"
    ));
    assert!(!arn_match(
        "arn:aws:iam::111122223333:user/${aws:username}",
        "arn:aws:iam::111122223333:role/alice"
    ));
    assert_eq!(super::account_root("arn:aws-cn:iam::111122223333:root"), Some("111122223333"));
    // The literal prefix, the segments and the crossing star all part early and right.
    assert!(!arn_match("arn:aws:iam::111122223333:role/a*", "arn:aws:iam::111122223333:user/a"));
    assert!(arn_match("arn:aws:iam::111122223333:role/a*", "arn:aws:iam::111122223333:role/a/b:c"));
    assert!(!arn_match("arn:aws:s3:::*", "arn:aws:iam::111122223333:role/x"));
    assert!(arn_match("arn:aws:s3:::*", "arn:aws:s3:::bucket/key:with:colons"));
    assert!(!arn_match("arn:aws:iam:*", "arn:aws:s3:::b"));
    assert!(arn_match("arn:aws:iam:*", "arn:aws:iam::111122223333:role/x"));
    assert_eq!(super::account_root("arn:aws:iam::111122223333:user/root"), None);
    assert!(arn_match("arn:aws:iam::1111*:role/*", "arn:aws:iam::111122223333:role/p/x"));
    assert!(arn_match("*", "anything"));
    assert!(glob(b"a*b*c", b"aXXbYYc") && !glob(b"a*b*c", b"aXXbYY") && glob(b"*", b""));
    assert!(glob(b"?", b"x") && !glob(b"?", b"") && glob(b"a**", b"a"));
}

#[test]
fn conditions_make_allows_tri_state_with_labels() {
    let p = pol(
        json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*",
        "Condition": {"StringEquals": {"sts:ExternalId": "x"}, "Bool": {"aws:SecureTransport": "true"}}}}),
    );
    assert_eq!(
        dec(&p, "sts:AssumeRole", "*"),
        Decision::MayAllow(vec![
            "condition Bool:aws:SecureTransport".to_string(),
            "condition StringEquals:sts:ExternalId".to_string()
        ])
    );
}

#[test]
fn trust_policies_say_how_the_caller_is_named() {
    let t = pol(json!({"Statement": [
        {"Sid": "Direct", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/a"}, "Action": "sts:AssumeRole"},
        {"Sid": "Acct", "Effect": "Allow", "Principal": {"AWS": ["444455556666", "arn:aws:iam::123456789012:root"]}, "Action": "sts:AssumeRole"},
        {"Sid": "Svc", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]}));
    let c = |arn, account| Caller { arn, account, id: "" };
    let (d, a) =
        t.eval_trust("t", "sts:AssumeRole", c("arn:aws:iam::111122223333:user/a", "111122223333"));
    assert_eq!((d.allow, a.allow), (Tri::Yes, Tri::No));
    let (d, a) =
        t.eval_trust("t", "sts:AssumeRole", c("arn:aws:iam::444455556666:role/r", "444455556666"));
    assert_eq!((d.allow, a.allow), (Tri::No, Tri::Yes));
    let (d, a) =
        t.eval_trust("t", "sts:AssumeRole", c("arn:aws:iam::123456789012:user/z", "123456789012"));
    assert_eq!((d.allow, a.allow), (Tri::No, Tri::Yes));
    let (d, a) =
        t.eval_trust("t", "sts:AssumeRole", c("arn:aws:iam::111122223333:user/b", "111122223333"));
    assert_eq!((d.allow, a.allow), (Tri::No, Tri::No));
    // Another action than the trusted one.
    let (d, _) =
        t.eval_trust("t", "sts:TagSession", c("arn:aws:iam::111122223333:user/a", "111122223333"));
    assert_eq!(d.allow, Tri::No);
}

#[test]
fn documents_as_cli_objects_api_url_encoded_strings_or_json_strings() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let enc: String =
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
    for v in [json!(text), json!(enc), serde_json::from_str::<Value>(text).unwrap()] {
        let p = Policy::from_value(&v).unwrap();
        assert_eq!(p.statements.len(), 1);
        assert_eq!(dec(&p, "s3:GetObject", "arn:aws:s3:::b/k"), Decision::Allowed);
    }
    assert!(url_decode("%7B%zz").is_err());
    assert!(url_decode("%7").is_err());
    assert!(url_decode("%FF%FE").is_err());
    assert!(Policy::from_value(&json!("%7Bnot json")).is_err());
    assert!(
        Policy::from_value(&json!({"Statement": [{"Effect": "Maybe", "Action": "*"}]})).is_err()
    );
    assert!(Policy::from_value(&json!({"Statement": [{"Effect": "Allow"}]})).is_err());
    assert!(Policy::from_value(&json!({"Statement": 3})).is_err());
    assert!(Policy::from_value(&json!(["x"])).is_err());
    assert!(Policy::from_value(&json!("[1]")).is_err());
}

#[test]
fn a_policy_variable_is_read_the_way_that_gives_more_reach() {
    // AWS's self-service example: every user's keys, but not one's own.
    let p = pol(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::111122223333:user/*"},
        {"Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::111122223333:user/${aws:username}"}
    ]}));
    // Whose name the variable stands for is the request's: the deny is not taken as denying
    // alice (nor anyone), the allow stands.
    assert_eq!(
        dec(&p, "iam:CreateAccessKey", "arn:aws:iam::111122223333:user/alice"),
        Decision::Allowed
    );
    // Allow with NotResource: the exception is not taken as excluding alice.
    let p = pol(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:CreateAccessKey", "NotResource": "arn:aws:iam::111122223333:user/${aws:username}"}
    ]}));
    assert_eq!(
        dec(&p, "iam:CreateAccessKey", "arn:aws:iam::111122223333:user/alice"),
        Decision::Allowed
    );
    // Deny with NotResource: the exception is taken as wide as it could be.
    let p = pol(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:CreateAccessKey", "NotResource": "arn:aws:iam::111122223333:user/${aws:username}"}
    ]}));
    assert_eq!(
        dec(&p, "iam:CreateAccessKey", "arn:aws:iam::111122223333:user/alice"),
        Decision::Allowed
    );
    // Allow with Resource: the variable as `*`.
    let p = pol(json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::111122223333:user/${aws:username}"}
    ]}));
    assert_eq!(
        dec(&p, "iam:CreateAccessKey", "arn:aws:iam::111122223333:user/bob"),
        Decision::Allowed
    );
}

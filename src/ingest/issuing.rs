//! The session graph's projection of the credential-issuing calls: which events are kept
//! in full ([`needs_detail`]) and the part of them the graph reads ([`IssuingCall`]).

use crate::model::names::{ROLE_GRANTS, STS_ISSUERS, USER_GRANTS};
use crate::model::{Event, Origin};

/// The string fields of an [`IssuingCall`], by number: those of the call itself, of its
/// `userIdentity`, of its `requestParameters` and of its `responseElements` (names mirror
/// [`Event`]'s fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    Name,
    SourceIp,
    ErrorCode,
    ErrorMessage,
    RecipientAccount,
    SharedEventId,
    /// `userIdentity.type`.
    Kind,
    PrincipalId,
    Arn,
    AccountId,
    /// The access key that signed the call.
    AccessKeyId,
    UserName,
    InvokedBy,
    IdentityProvider,
    IssuerKind,
    IssuerArn,
    Ec2RoleDelivery,
    /// `requestParameters.roleArn`.
    RoleArn,
    RoleSessionName,
    /// `requestParameters.userName`.
    RequestUserName,
    PrincipalArn,
    TargetPrincipal,
    /// `responseElements.credentials.accessKeyId`: the temporary key issued.
    CredentialsKey,
    AssumedRoleArn,
    AssumedRoleId,
    FederatedUserArn,
    FederatedUserId,
    /// `responseElements.accessKey.accessKeyId`: the long-term key CreateAccessKey made.
    CreatedKeyId,
    AccessKeyUser,
    Provider,
    Subject,
    UserArn,
    /// `responseElements.user.userName`.
    ResponseUserName,
    LoginProfileUser,
    /// `requestParameters.roleName`: the role a CreateRole or UpdateAssumeRolePolicy sets
    /// the trust policy of.
    RequestRoleName,
    /// `responseElements.instancesSet.items[].instanceId` (RunInstances), comma-separated:
    /// the instances whose role sessions the caller's launch gave it.
    InstanceIds,
    /// `requestParameters.functionName` (a Lambda call of [`FUNCTION_CHANGES`]): a name, or a
    /// full or partial ARN, of the function whose code, configuration or role the call set.
    FunctionName,
    /// `requestParameters.newUserName` (`UpdateUser`): the name a user is renamed to.
    NewUserName,
    /// `awsRegion`: where a Lambda function a call changed runs, and where Lambda took a
    /// function's session ([`crate::chain::SessionGraph`], F21).
    Region,
    /// `userIdentity.sessionContext.sourceIdentity` of the caller (F4).
    SourceIdentity,
    /// `requestParameters.sourceIdentity`: the source identity an `AssumeRole` sets, which
    /// every session chained from the one it issues carries (F4).
    RequestSourceIdentity,
}

/// How many [`Field`]s there are.
pub const FIELDS: usize = Field::RequestSourceIdentity as usize + 1;
// One bit each in `IssuingCall::present`.
const _: () = assert!(FIELDS <= 64);

/// An issuing call's string fields, by [`Field`] number, as [`IssuingCall::new`] takes them.
pub type Strs<'a> = [Option<&'a str>; FIELDS];

/// An issuing call as kept in [`Ingest::details`](super::Ingest::details): only the fields the
/// session graph reads. A full [`Event`] is 1.6 KB before any of its strings; a large trail has
/// hundreds of thousands of issuing calls, so they are kept in a compact form (user agent,
/// request id, resources and the request/response fields of other APIs are read back from the
/// files when a report needs them).
///
/// Its strings sit end to end in one allocation, read by [`Field`] with [`IssuingCall::get`]:
/// a 232-byte struct and one allocation per call, where one `String` per field took 1,008
/// bytes of struct and an allocation for each field present (15 or so), each freed one by one
/// once the graph's first two passes are done (200,000 calls at 5 GB of trail).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuingCall {
    pub time: i64,
    pub origin: Origin,
    /// `userIdentity.sessionContext.attributes.creationDate` of the caller (F5).
    pub creation_date: Option<i64>,
    /// `responseElements.credentials.expiration`.
    pub credentials_expiration: Option<i64>,
    /// `responseElements.accessKey.createDate`.
    pub access_key_created: Option<i64>,
    /// `sessionCredentialFromConsole`.
    pub from_console: bool,
    /// Bit `f` set when field `f` is present.
    present: u64,
    /// Where each field ends in `text` (an absent one ends where the one before it does).
    ends: [u32; FIELDS],
    text: Box<str>,
}

impl Default for IssuingCall {
    /// A call with an empty id and name (always present, as in every call read) and nothing
    /// else.
    fn default() -> Self {
        let mut strs = [None; FIELDS];
        strs[Field::Id as usize] = Some("");
        strs[Field::Name as usize] = Some("");
        IssuingCall::new(0, Origin::default(), &strs)
    }
}

impl std::fmt::Debug for IssuingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("IssuingCall");
        d.field("time", &self.time)
            .field("origin", &self.origin)
            .field("creation_date", &self.creation_date)
            .field("credentials_expiration", &self.credentials_expiration)
            .field("access_key_created", &self.access_key_created)
            .field("from_console", &self.from_console);
        let strs = self.strs();
        let fields = d.field("strings", &strs);
        fields.finish()
    }
}

impl IssuingCall {
    /// A call with these string fields (by [`Field`] number) and no times but its own.
    pub fn new(time: i64, origin: Origin, strs: &Strs<'_>) -> IssuingCall {
        let mut text = String::with_capacity(strs.iter().flatten().map(|s| s.len()).sum());
        let mut ends = [0u32; FIELDS];
        let mut present = 0u64;
        for (f, s) in strs.iter().enumerate() {
            if let Some(s) = s {
                text.push_str(s);
                present |= 1 << f;
            }
            // A call's strings come from one record, capped far below 4 GB.
            ends[f] = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        IssuingCall {
            time,
            origin,
            creation_date: None,
            credentials_expiration: None,
            access_key_created: None,
            from_console: false,
            present,
            ends,
            text: text.into_boxed_str(),
        }
    }

    /// A string field, `None` when absent.
    pub fn get(&self, f: Field) -> Option<&str> {
        self.at(f as usize)
    }

    /// Every string field, by [`Field`] number.
    pub fn strs(&self) -> Strs<'_> {
        std::array::from_fn(|i| self.at(i))
    }

    /// The string field numbered `i`, `None` when absent.
    fn at(&self, i: usize) -> Option<&str> {
        if self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..self.ends[i] as usize)
    }

    /// The `eventID` (a stand-in name for a record without one).
    pub fn id(&self) -> &str {
        self.get(Field::Id).unwrap_or("")
    }

    /// The `eventName`.
    pub fn name(&self) -> &str {
        self.get(Field::Name).unwrap_or("")
    }

    /// Renames the call (an earlier run's stand-in id, its file renumbered).
    pub fn set_id(&mut self, id: &str) {
        let mut strs = self.strs();
        strs[Field::Id as usize] = Some(id);
        let renamed = IssuingCall::new(self.time, self.origin, &strs);
        self.present = renamed.present;
        self.ends = renamed.ends;
        self.text = renamed.text;
    }

    pub fn failed(&self) -> bool {
        self.get(Field::ErrorCode).is_some()
    }

    /// What the call says about the credential that signed it.
    pub fn as_use(&self) -> crate::model::Use<'_> {
        crate::model::Use {
            kind: self.get(Field::Kind),
            arn: self.get(Field::Arn),
            account_id: self.get(Field::AccountId),
            principal_id: self.get(Field::PrincipalId),
            user_name: self.get(Field::UserName),
            issuer_kind: self.get(Field::IssuerKind),
            issuer_arn: self.get(Field::IssuerArn),
            source_identity: self.get(Field::SourceIdentity),
            from_console: self.from_console,
            ec2_instance: self.get(Field::Ec2RoleDelivery).is_some(),
        }
    }
}

/// The part of an issuing event the session graph keeps ([`IssuingCall`]).
pub fn for_graph(e: Event) -> IssuingCall {
    fn o(s: &Option<String>) -> Option<&str> {
        s.as_deref()
    }
    let (i, q, p) = (&e.identity, &e.request, &e.response);
    // In `Field` order.
    let strs: Strs<'_> = [
        Some(e.id.as_str()),
        Some(e.name.as_str()),
        o(&e.source_ip),
        o(&e.error_code),
        o(&e.error_message),
        o(&e.recipient_account),
        o(&e.shared_event_id),
        o(&i.kind),
        o(&i.principal_id),
        o(&i.arn),
        o(&i.account_id),
        o(&i.access_key_id),
        o(&i.user_name),
        o(&i.invoked_by),
        o(&i.identity_provider),
        o(&i.issuer_kind),
        o(&i.issuer_arn),
        o(&i.ec2_role_delivery),
        o(&q.role_arn),
        o(&q.role_session_name),
        o(&q.user_name),
        o(&q.principal_arn),
        o(&q.target_principal),
        o(&p.credentials_key),
        o(&p.assumed_role_arn),
        o(&p.assumed_role_id),
        o(&p.federated_user_arn),
        o(&p.federated_user_id),
        o(&p.access_key_id),
        o(&p.access_key_user),
        o(&p.provider),
        o(&p.subject),
        o(&p.user_arn),
        o(&p.user_name),
        o(&p.login_profile_user),
        o(&q.role_name),
        o(&p.instance_ids),
        o(&q.function_name),
        o(&q.new_user_name),
        o(&e.region),
        o(&i.source_identity),
        o(&q.source_identity),
    ];
    // A provider made (`CreateSAMLProvider`, named by its request's `name`): the graph reads
    // the provider's ARN from the principal ARN, as it does for `UpdateSAMLProvider`.
    let made;
    let mut strs = strs;
    if e.name == "CreateSAMLProvider" && q.principal_arn.is_none() {
        if let (Some(acct), Some(name)) = (e.recipient_account.as_deref(), q.name.as_deref()) {
            made = format!("arn:aws:iam::{acct}:saml-provider/{name}");
            strs[Field::PrincipalArn as usize] = Some(made.as_str());
        }
    }
    let mut c = IssuingCall::new(e.time, e.origin, &strs);
    c.creation_date = i.creation_date;
    c.credentials_expiration = p.credentials_expiration;
    c.access_key_created = p.access_key_created;
    c.from_console = i.from_console;
    c
}

/// Event names whose full record the session graph needs: credential-issuing calls (F1),
/// the calls that make a user the attacker's (SPEC §9: CreateUser, a login profile created or
/// changed) and those that set a role's trust policy (CreateRole, UpdateAssumeRolePolicy:
/// who may assume it from then on, [`crate::taint`]), and `RunInstances`, whose instances'
/// role sessions are the launcher's to use (the graph links them by instance id), the Lambda
/// calls that set what a function runs ([`FUNCTION_CHANGES`], linked by function name), and
/// [`PROVIDER_CHANGES`] (linked to the sign-ins through the provider), and `UpdateUser`, whose
/// rename every action on the user must follow ([`crate::chain::SessionGraph::user_renames`]).
pub fn needs_detail(name: &str) -> bool {
    // Spelled out, not `detail_names().any(..)`: asked of every record, and the iterator
    // chain made `scan` 6% slower (CPU, 1 GB of trail).
    STS_ISSUERS.contains(&name)
        || name == "CreateAccessKey"
        || USER_GRANTS.contains(&name)
        || ROLE_GRANTS.contains(&name)
        || name == LAUNCHES
        || FUNCTION_CHANGES.contains(&name)
        || PROVIDER_CHANGES.contains(&name)
        || name == USER_RENAME
        || name == USER_DELETE
        || name == ROLE_DELETE
        || name == SIGNIN_TOKEN
        || name == crate::model::names::COGNITO_DEVELOPER_TOKEN
}

/// Every [`needs_detail`] name, for [`detail_damage`]'s look-alikes (the unit test
/// `detail_names_are_the_names_needs_detail_takes` checks that each is one `needs_detail`
/// takes; a name added to `needs_detail` alone must be added here too).
fn detail_names() -> impl Iterator<Item = &'static str> {
    let singles = [
        "CreateAccessKey",
        LAUNCHES,
        USER_RENAME,
        USER_DELETE,
        ROLE_DELETE,
        SIGNIN_TOKEN,
        crate::model::names::COGNITO_DEVELOPER_TOKEN,
    ];
    STS_ISSUERS
        .iter()
        .chain(USER_GRANTS)
        .chain(ROLE_GRANTS)
        .chain(FUNCTION_CHANGES)
        .chain(PROVIDER_CHANGES)
        .copied()
        .chain(singles)
}

/// The [`needs_detail`] names other services have calls of too (Identity Center's identity
/// store, Transfer Family, ...): one of those by another service is that service's.
const SHARED_NAMES: [&str; 5] =
    ["CreateUser", "UpdateUser", "DeleteUser", "CreateRole", "DeleteRole"];

/// Why a record of a call named `name` made to `source` (its `eventName` and `eventSource`)
/// cannot be read as CloudTrail writes it, when it may be a call the session graph reads, or
/// `None`. The graph knows such a call by its name and service (a review: each of these lost
/// the chain or key it made, and plan and verify said OK):
/// - one of those names with no service, or a service that is not its own (`iam.amazonaws.con`,
///   `sts.amazonaws.com` on `CreateAccessKey`), but a plausible other service's for a name
///   other services share;
/// - a name that is one of those but for ASCII case and spaces (`assumeRole`, `AssumeROLE`,
///   `AssumeRole `);
/// - a name holding what no API operation name holds (controls, anything not ASCII: a
///   zero-width space or a Cyrillic letter made `AssumeRole` another name).
pub fn detail_damage(name: &str, source: Option<&str>) -> Option<String> {
    if needs_detail(name) {
        let Some(s) = source.filter(|s| !s.is_empty()) else {
            return Some(format!(
                "eventSource is missing or empty on this {name} call: the service it was made to is not known"
            ));
        };
        if is_detail(name, s) {
            return None;
        }
        let host = s.strip_suffix(".amazonaws.com").unwrap_or("");
        let plausible = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
        if plausible && SHARED_NAMES.contains(&name) {
            return None;
        }
        return Some(format!(
            "eventSource {s:?} is not the service of {name}: the call cannot be told from the one it names"
        ));
    }
    if name.bytes().any(|b| !b.is_ascii() || b.is_ascii_control()) {
        return Some(format!("eventName {name:?} holds characters no API operation name has"));
    }
    // Spaces anywhere (`Assume Role`, `AssumeRole `) taken out first: rare, so copied only then.
    let spaced = name.contains(' ').then(|| name.replace(' ', ""));
    let bare = spaced.as_deref().unwrap_or(name);
    static LENGTHS: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let lengths =
        *LENGTHS.get_or_init(|| detail_names().fold(0, |m, n| m | 1u128 << n.len().min(127)));
    if lengths & (1u128 << bare.len().min(127)) == 0 {
        return None;
    }
    detail_names()
        .find(|n| n.eq_ignore_ascii_case(bare))
        .map(|n| format!("eventName {name:?} is not as CloudTrail writes it ({n})"))
}

/// [`needs_detail`] for a call of `name` logged by `source` (its `eventSource`): only the
/// service whose call it is. Other services have calls of the same names that make or remove
/// no IAM identity and issue no credential: IAM Identity Center's identity store and Transfer
/// Family have `CreateUser`, `UpdateUser` and `DeleteUser`. Read as IAM's, an identity-store `CreateUser` made an IAM user of the same name
/// the attacker's (the plan deleted it and its keys), and a Transfer `DeleteUser` marked the
/// attacker's IAM user of the same name deleted (the plan left it alone). The service is
/// compared without regard to ASCII case.
pub fn is_detail(name: &str, source: &str) -> bool {
    if !needs_detail(name) {
        return false;
    }
    let service = if STS_ISSUERS.contains(&name) {
        "sts.amazonaws.com"
    } else if name == LAUNCHES {
        "ec2.amazonaws.com"
    } else if FUNCTION_CHANGES.contains(&name) {
        "lambda.amazonaws.com"
    } else if name == SIGNIN_TOKEN {
        "signin.amazonaws.com"
    } else if name == crate::model::names::COGNITO_DEVELOPER_TOKEN {
        "cognito-identity.amazonaws.com"
    } else {
        "iam.amazonaws.com"
    };
    source.eq_ignore_ascii_case(service)
}

/// The federation endpoint's call that turns a session's credentials into a console sign-in
/// (`GetSigninToken`, the aws_consoler technique): the console session it opens has a key of
/// its own, issued by no logged call, and may outlive the session that signed it (12 h).
pub const SIGNIN_TOKEN: &str = "GetSigninToken";

/// A console sign-in (`signin.amazonaws.com`). An IAM user's opens a console session with a
/// key of its own that no logged call issues, known only by the sign-in when none of its calls
/// is logged with that key (a trail of write events, a sign-in that went straight on to a
/// role): each successful one is flagged in the event table ([`super::SIGN_IN`],
/// [`signed_in`]) and the session graph counts a console session from it when it has none.
pub const CONSOLE_LOGIN: &str = "ConsoleLogin";

/// Whether a record is an IAM user's successful console sign-in: a [`CONSOLE_LOGIN`] of
/// `signin.amazonaws.com` by an `IAMUser` with a user ARN and no error code, whose result
/// (`responseElements.ConsoleLogin`, not an error code) is `Success`, or, not stated, comes
/// with no error message (a query result without the response's column: a failed one says
/// "Failed authentication").
pub fn signed_in(
    name: &str,
    source: &str,
    who: (Option<&str>, Option<&str>),
    outcome: Outcome,
) -> bool {
    let (kind, arn) = who;
    name == CONSOLE_LOGIN
        && source.eq_ignore_ascii_case("signin.amazonaws.com")
        && kind == Some("IAMUser")
        && arn.is_some_and(|a| crate::model::arn::arn_is(a, "user/"))
        && outcome.error_code.is_none()
        && match outcome.result {
            Some(r) => r.eq_ignore_ascii_case("Success"),
            None => outcome.error_message.is_none(),
        }
}

/// What a record says of how a call went, for [`signed_in`].
#[derive(Clone, Copy)]
pub struct Outcome<'a> {
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    /// `responseElements.ConsoleLogin`.
    pub result: Option<&'a str>,
}

/// The call that deletes an IAM role: a role made again under its name is another role (with
/// another role id), whose sessions are not the old one's.
pub const ROLE_DELETE: &str = "DeleteRole";

/// The call that deletes an IAM user: a user made again under its name is another user.
pub const USER_DELETE: &str = "DeleteUser";

/// The call that renames an IAM user (`newUserName`); by whatever credential, the user is
/// called by its new name from then on.
pub const USER_RENAME: &str = "UpdateUser";

/// The calls that point a SAML identity provider at a metadata document (re-pointing one, or
/// making one, perhaps again under a name roles already trust): whoever makes one can sign in
/// as anyone through it, to every role that trusts the provider.
pub const PROVIDER_CHANGES: &[&str] = &["UpdateSAMLProvider", "CreateSAMLProvider"];

/// The Lambda calls that set what a function runs or with which role (its code, its
/// configuration: role, layers, environment), as CloudTrail names them (with the API version
/// Lambda appends, and without, as older and converted logs have them): whoever makes one
/// runs code of their choice with the function's role, whose sessions Lambda names by the
/// function name ([`Field::FunctionName`]).
pub const FUNCTION_CHANGES: &[&str] = &[
    "CreateFunction20150331",
    "CreateFunction",
    "UpdateFunctionCode20150331v2",
    "UpdateFunctionCode20150331",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration20150331v2",
    "UpdateFunctionConfiguration20150331",
    "UpdateFunctionConfiguration",
];

/// The call whose response names instances ([`Field::InstanceIds`]).
pub const LAUNCHES: &str = "RunInstances";

#[cfg(test)]
mod tests {
    use super::*;

    /// [`detail_names`] and [`needs_detail`] spell one list twice (the latter for speed): a
    /// name added to one and not the other would let its look-alikes through.
    #[test]
    fn detail_names_are_the_names_needs_detail_takes() {
        let names: Vec<&str> = detail_names().collect();
        assert!(names.iter().all(|n| needs_detail(n)));
        let consts = [STS_ISSUERS, USER_GRANTS, ROLE_GRANTS, FUNCTION_CHANGES, PROVIDER_CHANGES];
        assert_eq!(names.len(), consts.iter().map(|c| c.len()).sum::<usize>() + 7);
        for n in ["AssumeRole ", "ListBuckets", "assumeRole", ""] {
            assert!(!needs_detail(n) && !names.contains(&n), "{n:?}");
        }
    }

    /// A console sign-in states its result in its response, not in an error code: it failed
    /// when that result is not `Success`, or when there is none but an error message (a query
    /// result without the response's column); with neither it is taken as made. Only an IAM
    /// user's, by its user ARN, of the sign-in service, counts.
    #[test]
    fn a_users_console_sign_in_is_told_by_its_result_or_its_error_message() {
        let user = (Some("IAMUser"), Some("arn:aws:iam::111122223333:user/jdoe"));
        let cases = [
            (Some("Success"), None, None, true),
            (Some("success"), None, None, true),
            (Some("Failure"), Some("Failed authentication"), None, false),
            (Some("Failure"), None, None, false),
            (None, Some("Failed authentication"), None, false),
            (None, None, None, true),
            (Some("Success"), None, Some("AccessDenied"), false),
        ];
        for (result, error_message, error_code, made) in cases {
            let o = Outcome { error_code, error_message, result };
            let got = signed_in(CONSOLE_LOGIN, "signin.amazonaws.com", user, o);
            assert_eq!(got, made, "{result:?} {error_message:?} {error_code:?}");
        }
        let ok = Outcome { error_code: None, error_message: None, result: Some("Success") };
        assert!(signed_in(CONSOLE_LOGIN, "SIGNIN.amazonaws.com", user, ok));
        assert!(!signed_in("SwitchRole", "signin.amazonaws.com", user, ok));
        assert!(!signed_in(CONSOLE_LOGIN, "iam.amazonaws.com", user, ok));
        let root = (Some("Root"), Some("arn:aws:iam::111122223333:root"));
        assert!(!signed_in(CONSOLE_LOGIN, "signin.amazonaws.com", root, ok));
        let role = (Some("IAMUser"), Some("arn:aws:sts::111122223333:assumed-role/R/jdoe"));
        assert!(!signed_in(CONSOLE_LOGIN, "signin.amazonaws.com", role, ok));
    }
}

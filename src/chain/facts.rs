//! What an issuing call, or a credential's own calls, tell about the credential's node: its
//! principal, account, ids and source identity (split from `build.rs`).

use super::*;
use crate::ingest::IssuingField as F;

/// What an issuing call tells about the session it made: its principal, account and ids.
pub(super) fn session_facts(n: &mut Node, e: &IssuingCall) {
    match e.name() {
        "GetSessionToken" => {
            // F7/F9: the session acts as the calling user (or root) itself.
            n.principal_arn = e.get(F::Arn).map(String::from);
            n.principal_type = e.get(F::Kind).map(Text::from);
            n.account_id = e.get(F::AccountId).map(Text::from);
            n.userid = e.get(F::PrincipalId).map(String::from);
            n.user_name = e.get(F::UserName).map(Text::from);
            n.root_derived = e.get(F::Kind) == Some("Root");
        }
        "GetFederationToken" => {
            n.principal_arn = e.get(F::FederatedUserArn).map(String::from);
            n.principal_type = Some("FederatedUser".into());
            n.account_id = e.get(F::AccountId).map(Text::from);
            n.userid = e.get(F::FederatedUserId).map(String::from);
            n.user_name = e.get(F::UserName).map(Text::from);
            n.user_arn = e.get(F::Arn).map(String::from);
            n.root_derived = e.get(F::Kind) == Some("Root");
        }
        "AssumeRoot" => {
            let target = e.get(F::TargetPrincipal);
            let p = super::unnamed::call_partition(e);
            n.principal_arn = target.map(|t| format!("arn:{p}:iam::{t}:root"));
            n.principal_type = Some("Root".into());
            n.account_id = target.map(Text::from);
            n.root_derived = true;
        }
        _ => {
            n.role_arn = e.get(F::RoleArn).map(String::from);
            n.principal_arn = e.get(F::AssumedRoleArn).map(String::from).or_else(|| {
                let role = e.get(F::RoleArn)?;
                let s = e.get(F::RoleSessionName)?;
                session_arn_for_role(role, s)
            });
            n.principal_type = Some("AssumedRole".into());
            n.account_id = e
                .get(F::RoleArn)
                .and_then(arn_account)
                .or_else(|| n.principal_arn.as_deref().and_then(arn_account))
                .map(Text::from);
            n.userid = e.get(F::AssumedRoleId).map(String::from);
            // Set by the request, else carried over from the caller's session (F4).
            let source = e.get(F::RequestSourceIdentity).or_else(|| e.get(F::SourceIdentity));
            n.source_identity = source.map(Text::from);
        }
    }
}

/// Fills what a call tells about its credential (principal, account, ids) where unknown.
pub(super) fn fill_from_use(n: &mut Node, id: &Use) {
    let own = |v: Option<&str>| v.map(str::to_string);
    let short = |v: Option<&str>| v.map(Text::from);
    if n.principal_arn.is_none() {
        n.principal_arn = own(id.arn);
    }
    if n.principal_type.is_none() {
        n.principal_type = short(id.kind)
            .or_else(|| n.principal_arn.as_deref().and_then(principal_type_of).map(Text::from));
    }
    if n.account_id.is_none() {
        n.account_id = short(id.account_id)
            .or_else(|| n.principal_arn.as_deref().and_then(arn_account).map(Text::from));
    }
    if n.userid.is_none() {
        n.userid = own(id.principal_id);
    } else if n.kind == NodeKind::Session
        && id.kind == Some("AssumedRole")
        && id.principal_id.is_some_and(|p| n.userid.as_deref() != Some(p))
    {
        // F9: the `aws:userid` the response that issued the session names is not the one
        // its first call carries (`principalId`): one of them was planted (a copy of the
        // issuing call under another eventID, read first; or a call made to look first).
        // Neither is taken: a surgical deny names the session by `*:SESSION-NAME`, any id of
        // its role (`plan::policy::userid_pattern`), which IAM matches whichever is true;
        // taking either one made a deny that matched nothing, verify saying covered.
        n.userid = None;
    }
    // The role as AWS writes it in the session's own calls (`sessionIssuer`), over the
    // `roleArn` the caller wrote in its request: a path there (`aws-reserved/…`,
    // `aws-service-role/…`) must not make a session unrevocable that its calls show is not.
    // Only a path, though: a role is never renamed, so a call naming another role (or
    // account) than the call that issued the session is not the session's (a copy of its
    // first call planted to move the deny to a role of the attacker's choosing; read first,
    // it did, and which file sorted first decided the plan).
    if id.issuer_kind == Some("Role")
        && id.issuer_arn.is_some_and(|a| {
            n.role_arn.as_deref().is_none_or(|r| {
                r != a
                    && match (super::rename::role_arn_named(r), super::rename::role_arn_named(a)) {
                        (None, _) => true,
                        (Some((ra, rn)), Some((aa, an))) => ra == aa && rn.eq_ignore_ascii_case(an),
                        (Some(_), None) => false,
                    }
            })
        })
    {
        n.role_arn = own(id.issuer_arn);
    }
    if n.user_name.is_none() && id.kind == Some("IAMUser") {
        n.user_name = short(id.user_name);
    }
    if n.source_identity.is_none() {
        n.source_identity = short(id.source_identity);
    }
    if n.kind == NodeKind::LongTermKey && id.kind == Some("Root") {
        n.root_derived = true;
    }
    if id.kind == Some("FederatedUser") && n.kind == NodeKind::Session {
        // SPEC §9: a federated session seen only in use still names the user who minted it.
        if n.user_arn.is_none() && matches!(id.issuer_kind, Some("IAMUser") | Some("Root")) {
            n.user_arn = own(id.issuer_arn);
        }
        // Root-derived only when no issuing call says who made it: a session whose
        // GetFederationToken is in the logs is its caller's (`issue_child`), and one call
        // naming root as its issuer (forged, or a copy of its first call) made an IAM user's
        // session "minted by root", unrevocable, its user's deny dropped (a review; verify OK).
        if id.issuer_kind == Some("Root") && n.orphan {
            n.root_derived = true;
        }
    }
}

/// What a key's calls claim of it: the first root claim (time, account), the first user ARN.
type Claims = (Option<(i64, String)>, Option<String>);

impl SessionGraph {
    /// Long-term keys whose calls name root and an IAM user (one a record forged or planted
    /// read first: a review made the leaked user key "root's", listed unrevocable and never
    /// deactivated, plan 0 and verify OK; the same record the other way round would have the
    /// plan deactivate a root key under a user IAM does not know). A key is one principal's,
    /// and the logs cannot tell which: the key is taken as the user's (deactivated under its
    /// name) and root is kept as another claim on it ([`SessionGraph::key_owner_claims`], user
    /// name ""), so that the plan leaves the key to a review item and verify never counts it cut.
    /// One pass over the calls, comparing string numbers; the strings only where they differ.
    pub(super) fn dispute_root_keys(&mut self, ing: &Ingest) {
        // What a call's principal (its ARN, else its principal id) says of the key: root's
        // (`…:root`, or root's principal id, the account id) with its account, or a user's.
        enum Says {
            Root(String),
            User(String),
            Other,
        }
        let says = |p: &str| {
            if let Some(acct) = p.strip_suffix(":root").and_then(arn_account) {
                Says::Root(acct.to_string())
            } else if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
                Says::Root(p.to_string())
            } else if after_segment(p, "user/").is_some() {
                Says::User(p.to_string())
            } else {
                Says::Other
            }
        };
        let mut first: Vec<u32> = vec![crate::ingest::NONE; self.nodes.len()];
        // Per key node: (first root claim: time and account, first user ARN). A key taken as
        // root's (its first call's `type`) counts as a root claim of its own account, whatever
        // its calls' ARNs say (a review: a copy with `type` Root and the user's ARN).
        let mut seen: BTreeMap<usize, Claims> = BTreeMap::new();
        let note = |seen: &mut BTreeMap<usize, Claims>, n: usize, t: i64, what: Says| {
            let e = seen.entry(n).or_default();
            match what {
                Says::Root(a) => {
                    e.0.get_or_insert((t, a));
                }
                Says::User(u) => {
                    e.1.get_or_insert(u);
                }
                Says::Other => {}
            }
        };
        for (i, st) in ing.stubs.iter().enumerate() {
            let n = self.event_node.get(i).copied().unwrap_or(NO_NODE);
            if n == NO_NODE || st.principal == crate::ingest::NONE {
                continue;
            }
            let n = n as usize;
            let node = &self.nodes[n];
            if node.kind != NodeKind::LongTermKey {
                continue;
            }
            let f = &mut first[n];
            if *f == crate::ingest::NONE {
                *f = st.principal;
                if node.root_derived || node.principal_type.as_deref() == Some("Root") {
                    let acct = node.account_id.as_deref().unwrap_or_default().to_string();
                    note(&mut seen, n, st.time, Says::Root(acct));
                }
                if let Some(p) = ing.str(st.principal) {
                    note(&mut seen, n, st.time, says(p));
                }
                continue;
            }
            if *f == st.principal {
                continue;
            }
            if let Some(p) = ing.str(st.principal) {
                note(&mut seen, n, st.time, says(p));
            }
        }
        for (n, (root, user)) in seen {
            let (Some((time, account)), Some(user)) = (root, user) else { continue };
            let node = &mut self.nodes[n];
            node.root_derived = false;
            node.principal_type = Some(Text::from("IAMUser"));
            node.user_name = after_segment(&user, "user/")
                .map(|r| Text::from(r.rsplit('/').next().unwrap_or(r)));
            node.principal_arn = Some(user.clone());
            self.notes.push(format!(
                "access key {}: its calls name root and user {} as its principal (one record is false): taken as the user's, and left to a review with root's claim on it",
                crate::escape::one_line(&node.id),
                crate::escape::one_line(&user)
            ));
            self.key_owner_claims.push(UserGrant {
                user_arn: format!("arn:aws:iam::{account}:root"),
                account_id: account,
                user_name: String::new(),
                event_name: "a call as root".to_string(),
                event_id: String::new(),
                time,
                by: n,
            });
        }
    }
}

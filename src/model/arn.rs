//! What kind of principal an ARN names, and its resource, read after the ARN's fifth colon.

/// The text after `seg` where `seg` begins the resource of `arn` (after its fifth colon:
/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`), to its end. Only there: an IAM path may
/// hold colons, and a user created under the path `/x:assumed-role/Admin/` must not read as a
/// session of role `Admin`. Nor is it cut at a later `:` + `seg`: IAM writes such ARNs (a path
/// holds any character from `!` to `~`), and the user `evil` created under the path
/// `/x:user/y/` read as user `x` (a review: its console session and the role it assumed were
/// not tainted, verify OK). A user's or role's name is the last `/` segment of what this
/// returns. Found without a substring search, whose set-up per string showed in every run: the
/// taint and the plan ask it of every node. `seg` is not empty and does not start with a colon.
pub fn after_segment<'a>(arn: &'a str, seg: &str) -> Option<&'a str> {
    let (b, s) = (arn.as_bytes(), seg.as_bytes());
    let at = b.iter().enumerate().filter(|&(_, &c)| c == b':').nth(4).map(|(i, _)| i)?;
    if !b[at + 1..].starts_with(s) {
        return None;
    }
    // `seg` is ASCII in every use, so this is a character boundary (`get` checks it).
    arn.get(at + 1 + s.len()..)
}

/// Whether the resource of `arn` (after its fifth colon) begins with `seg` (`"user/"`,
/// `"assumed-role/"`, …): what kind of principal an ARN names, never decided by a substring
/// anywhere in it, since an IAM path may hold `:assumed-role/` or `:role/` (a user created under
/// `/x:assumed-role/Admin/` is a user).
pub fn arn_is(arn: &str, seg: &str) -> bool {
    after_segment(arn, seg).is_some()
}

//! Escaping of log text for every output (SPEC §9).
//!
//! Much of a CloudTrail record is chosen by whoever held the credentials: role session names,
//! user, role, policy and bucket names, user agents, error messages, even the key ids in a
//! response of a forged or edited log. Every such value that reaches an output passes through
//! exactly one function of this module, chosen by the output:
//!
//! | output | function | what it guarantees |
//! |---|---|---|
//! | `plan.sh` and each action's `command` | [`shell_word`] | one shell word, never expanded (POSIX single quotes) |
//! | comments in `plan.sh`, terminal tables and trees | [`one_line`] | no newline, no control or bidi character: shown as `\n`, `\u{1b}` … |
//! | CSV cells | [`csv_cell`] | no formula: a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` (OWASP) |
//! | Markdown | [`markdown_cell`] | no HTML, no table break: `<>&` as entities, `|` and markup characters escaped |
//! | Graphviz DOT | [`dot_string`] | a valid double-quoted DOT string with no escape of its own |
//! | Mermaid | [`mermaid_text`] | entity codes for quotes, brackets, `#`, `|`, HTML |
//! | HTML report | `report::html` escapes for itself (text and attribute contexts, CSP) |
//!
//! And values that go into an AWS CLI command must also *look like* what they claim to be
//! ([`is_plausible_key_id`], [`is_iam_name`], [`is_account_id`]): a value that does not is never
//! placed in a command; the planner turns that action into a `review` item instead.

use std::borrow::Cow;
use std::fmt::Write;

/// One POSIX shell word: `'…'`, with each `'` written as `'\''`. Nothing inside single quotes
/// is expanded by `sh`/`bash` (no `$`, backtick, `\`, glob or newline handling), so the word
/// reaches the command exactly as given. The empty string becomes `''`.
pub fn shell_word(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('\'');
    for c in s.chars() {
        if c == '\'' {
            o.push_str("'\\''");
        } else {
            o.push(c);
        }
    }
    o.push('\'');
    o
}

/// A shell word as a reader would write it: bare when it is made only of characters no
/// shell treats specially (`A-Z a-z 0-9 _ . / : @ , + -`, not starting with `-`… which is
/// still one word), else [`shell_word`]. Either way exactly one word, never expanded.
pub fn shell_arg(s: &str) -> Cow<'_, str> {
    let plain =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_./:@,+-".contains(&b));
    if plain {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(shell_word(s))
    }
}

/// True for characters that must never be written raw to a one-line context: C0 and C1
/// controls (newline, carriage return, escape, …), DEL, the Unicode line and paragraph
/// separators, the bidirectional overrides that can make text read differently than it is,
/// and the characters that show nothing (Unicode's `Default_Ignorable_Code_Point`: zero-width
/// spaces and joiners, the soft hyphen, fillers, variation selectors, the deprecated format
/// characters, tag characters): with them, two different names (`admin` and `ad\u{200b}min`)
/// looked the same in a tree or a plan.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// The text on one line with every unsafe character ([`is_unsafe_char`]) shown as an escape
/// (`\n`, `\r`, `\t`, `\u{1b}`): safe after a `#` in a shell script and on a terminal.
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if is_unsafe_char(c) => {
                let _ = write!(o, "\\u{{{:x}}}", c as u32);
            }
            c => o.push(c),
        }
    }
    Cow::Owned(o)
}

/// Escapes unsafe characters in terminal output except the newlines that separate its lines:
/// a last guard so that no escape sequence from a log reaches the terminal raw.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe_char(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.split('\n').map(one_line).collect::<Vec<_>>().join("\n"))
}

/// JSON text as `serde_json` writes it, with the unsafe characters it leaves raw (DEL, C1
/// controls, line separators, bidi overrides) written as `\uXXXX` escapes: the same JSON
/// value, safe to `cat` on a terminal. Structural characters of JSON are ASCII, so these only
/// ever occur inside strings, where the escape is valid.
pub fn json_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe_char(c) && c != '\n' {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                let _ = write!(o, "\\u{:04x}", unit);
            }
        } else {
            o.push(c);
        }
    }
    Cow::Owned(o)
}

/// A CSV cell that no spreadsheet evaluates as a formula (OWASP "CSV Injection"): a value
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`. The CSV
/// writer quotes the cell as needed.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// Text for a Markdown table cell or list item: one line, HTML neutralised as entities, and
/// the characters Markdown treats as markup (`\ ` * _ [ ] | # ~`) backslash-escaped, so a
/// value can neither break the table nor inject HTML, links or emphasis.
pub fn markdown_cell(s: &str) -> String {
    let line = one_line(s);
    let mut o = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o
}

/// The inside of a double-quoted Graphviz DOT string: one line, `\` and `"` escaped, so
/// the string ends where the tool ends it and no `\n`/`\l` escape comes from the log.
pub fn dot_string(s: &str) -> String {
    let line = one_line(s);
    let mut o = String::with_capacity(line.len() + 4);
    for c in line.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            c => o.push(c),
        }
    }
    o
}

/// Text inside a Mermaid `["…"]` node label or `|…|` edge label: one line, with Mermaid's
/// entity codes for every character that could end the label or start markup.
pub fn mermaid_text(s: &str) -> String {
    let line = one_line(s);
    let mut o = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            '"' => o.push_str("#quot;"),
            '<' => o.push_str("#lt;"),
            '>' => o.push_str("#gt;"),
            '&' => o.push_str("#amp;"),
            '#' => o.push_str("#35;"),
            '|' => o.push_str("#124;"),
            '`' => o.push_str("#96;"),
            '[' => o.push_str("#91;"),
            ']' => o.push_str("#93;"),
            '{' => o.push_str("#123;"),
            '}' => o.push_str("#125;"),
            '(' => o.push_str("#40;"),
            ')' => o.push_str("#41;"),
            c => o.push(c),
        }
    }
    o
}

/// An AWS access key id as IAM's API accepts it: 16 to 128 characters of `[A-Z0-9]`
/// (real ids are 20 characters, `AKIA…`/`ASIA…`). Anything else is never put in a command.
pub fn is_plausible_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// An IAM user or role name as IAM accepts it: 1 to 64 characters of `[A-Za-z0-9+=,.@_-]`.
pub fn is_iam_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && iam_name_chars(s)
}

/// An IAM policy name as IAM accepts it: the characters of [`is_iam_name`], 1 to 128 of them.
pub fn is_iam_policy_name(s: &str) -> bool {
    (1..=128).contains(&s.len()) && iam_name_chars(s)
}

/// Only the characters IAM names may hold (`[\w+=,.@-]`).
fn iam_name_chars(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// A twelve-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An S3 bucket name as S3 accepts it (3–63 characters of `[a-z0-9.-]`).
pub fn is_bucket_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// Splits a command line into words as a POSIX shell would, for the subset the planner
/// writes: words separated by blanks, single quotes, double quotes without expansions, and
/// backslash escapes. Anything the shell would act on instead of passing to the command
/// (`;`, `|`, `&`, `<`, `>`, `(`, `)`, `$`, a backtick, a glob, a newline, `#` starting a
/// word) makes it `None`: such a command does more than run one program.
pub fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => cur.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => cur.push(c),
                            '\n' => {}
                            c => {
                                cur.push('\\');
                                cur.push(c);
                            }
                        },
                        '$' | '`' => return None,
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next()? {
                    '\n' => {}
                    c => cur.push(c),
                }
            }
            '#' if !in_word => return None,
            ';' | '|' | '&' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' | '\n' | '\r'
            | '{' | '}' | '~' => return None,
            c if c.is_control() => return None,
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_round_trip_every_hostile_string() {
        let hostile = [
            "plain",
            "",
            "it's",
            "$(touch /tmp/x)",
            "`id`",
            "a; rm -rf /",
            "a\nb",
            "\"quoted\"",
            "back\\slash",
            "'''",
            "x' ; echo pwned ; '",
            "\u{1b}[31mred",
            "*?[]~{}",
            "#comment",
        ];
        for h in hostile {
            let cmd = format!("aws iam x --name {} --doc {}", shell_word(h), shell_arg(h));
            let w = shell_words(&cmd).unwrap_or_else(|| panic!("{cmd:?}"));
            assert_eq!(w, vec!["aws", "iam", "x", "--name", h, "--doc", h], "{cmd:?}");
        }
    }

    #[test]
    fn shell_words_refuse_what_the_shell_would_act_on() {
        for bad in
            ["aws x; id", "aws $(id)", "aws `id`", "aws x | sh", "aws\nid", "aws x > f", "aws *"]
        {
            assert_eq!(shell_words(bad), None, "{bad:?}");
        }
        assert_eq!(
            shell_words("aws \"a b\" c\\ d"),
            Some(vec!["aws".into(), "a b".into(), "c d".into()])
        );
    }

    #[test]
    fn one_line_escapes_controls_and_bidi() {
        assert_eq!(one_line("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(one_line("\u{1b}[2J"), "\\u{1b}[2J");
        assert_eq!(one_line("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(one_line("ad\u{200B}min"), "ad\\u{200b}min", "a zero-width space shows");
        // The rest of Unicode's default-ignorable characters, and the interlinear annotation
        // marks: each shows nothing, so each is shown as its escape.
        for c in ['\u{206F}', '\u{FE0F}', '\u{E0100}', '\u{FFF9}', '\u{1D173}', '\u{180B}'] {
            let name = format!("admin{c}");
            assert_eq!(one_line(&name), format!("admin\\u{{{:x}}}", c as u32), "{:x}", c as u32);
        }
        assert_eq!(one_line("a\u{AD}b\u{E0041}"), "a\\u{ad}b\\u{e0041}");
        assert!(matches!(one_line("plain text"), Cow::Borrowed(_)));
        assert_eq!(terminal("a\u{1b}b\nc"), "a\\u{1b}b\nc");
    }

    #[test]
    fn csv_formulas_are_neutralised() {
        for f in ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(f).starts_with('\''), "{f:?}");
        }
        assert_eq!(csv_cell("aws-cli/2"), "aws-cli/2");
    }

    #[test]
    fn markdown_dot_mermaid() {
        assert_eq!(markdown_cell("<script>|x\ny"), "&lt;script&gt;\\|x\\\\ny");
        assert_eq!(dot_string("a\"b\\n"), "a\\\"b\\\\n");
        assert_eq!(dot_string("a\nb"), "a\\\\nb");
        assert_eq!(mermaid_text("\"]<b>"), "#quot;#93;#lt;b#gt;");
    }

    #[test]
    fn plausibility() {
        assert!(is_plausible_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!is_plausible_key_id("AKIA; rm -rf /"));
        assert!(!is_plausible_key_id("akiaiosfodnn7example"));
        assert!(!is_plausible_key_id("AKIA"));
        assert!(is_iam_name("backup-admin"));
        assert!(is_iam_name("a+b=c,d.e@f_g-h"));
        assert!(!is_iam_name("x$(id)"));
        assert!(!is_iam_name(""));
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("11112222333a"));
    }
}

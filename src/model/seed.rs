//! A seed of the taint, parsed once where it enters (`--key`, a `--principal` resolved to its
//! credentials, or the `seeds` of a plan read back) and matched by kind everywhere after.

use std::fmt;

/// One seed credential selector.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeedKey {
    /// An access key id: every credential that carries it (a long-term key, or every session
    /// of a temporary key id AWS reused, F16).
    Key(String),
    /// One credential by its node id, `KEY@ISSUE_TIME` (a single session of a reused key id).
    Node(String),
}

impl SeedKey {
    /// Reads a seed as the command line and plans write it: text with an `@` names one node.
    pub fn parse(text: &str) -> SeedKey {
        if text.contains('@') {
            SeedKey::Node(text.to_string())
        } else {
            SeedKey::Key(text.to_string())
        }
    }

    /// A key id as `--key` takes it (trimmed, the id in capitals; the time of
    /// `KEY@ISSUE_TIME` as node ids write it, `YYYY-MM-DDTHH:MM:SSZ`, when it reads as a time:
    /// `@…12:09:31+02:00` names the session of `@…10:09:31Z`, and had matched nothing): `plan`
    /// reads its keys so, and `verify --key` compares them so.
    pub fn spelled(text: &str) -> String {
        let k = text.trim();
        match k.split_once('@') {
            Some((id, at)) => {
                let at =
                    crate::time::parse_iso(at).map_or_else(|| at.to_string(), crate::time::fmt_iso);
                format!("{}@{at}", id.to_ascii_uppercase())
            }
            None => k.to_ascii_uppercase(),
        }
    }

    /// The seed as text (what `parse` reads back).
    pub fn as_str(&self) -> &str {
        match self {
            SeedKey::Key(s) | SeedKey::Node(s) => s,
        }
    }

    /// The access key id part (`KEY` of `KEY@ISSUE_TIME`).
    pub fn key_id(&self) -> &str {
        let s = self.as_str();
        s.split('@').next().unwrap_or(s)
    }
}

impl fmt::Display for SeedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::SeedKey;

    #[test]
    fn a_seed_with_an_issue_time_names_one_node() {
        let k = SeedKey::parse("AKIAIOSFODNN7EXAMPLE");
        assert_eq!(k, SeedKey::Key("AKIAIOSFODNN7EXAMPLE".into()));
        assert_eq!(k.key_id(), "AKIAIOSFODNN7EXAMPLE");
        let s = SeedKey::parse("ASIAEXAMPLE00000001@2024-03-11T10:00:00Z");
        assert!(matches!(s, SeedKey::Node(_)));
        assert_eq!(s.key_id(), "ASIAEXAMPLE00000001");
        assert_eq!(s.to_string(), "ASIAEXAMPLE00000001@2024-03-11T10:00:00Z");
        // The time as node ids write it, whatever offset it was given in; else as written.
        for t in ["2024-03-11T12:00:00+02:00", " 2024-03-11T10:00:00Z", "2024-03-11T10:00:00.000Z"]
        {
            let k = format!("asiaexample00000001@{}", t.trim());
            assert_eq!(SeedKey::spelled(&k), "ASIAEXAMPLE00000001@2024-03-11T10:00:00Z", "{t}");
        }
        assert_eq!(SeedKey::spelled("ASIAX@unknown"), "ASIAX@unknown");
    }
}

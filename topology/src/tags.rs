//! Device tag rules used by placement: the `user.heketi.device-tag-match` filter and the
//! well-known `arbiter` tag (docs/heketi-api.md §7.5, docs/node-commands.md §12.3–12.4).

use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

/// The volume option that carries a tag rule.
pub const TAG_MATCH_OPTION: &str = "user.heketi.device-tag-match";
/// The tag that says whether a device may hold arbiter bricks.
pub const ARBITER_TAG: &str = "arbiter";

/// A device filter from `user.heketi.device-tag-match key=value` or `key!=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagMatch {
    /// Tag name.
    pub key: String,
    /// Tag value compared exactly (case-sensitive).
    pub value: String,
    /// `!=`: the device must NOT have `key` set to `value` (a missing key matches).
    pub negate: bool,
}

/// Why a tag rule could not be parsed.
#[allow(missing_docs)] // fields are named for what they hold; Display says the rest
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TagMatchError {
    #[error("invalid device tag match rule {0:?}: expected <key>=<value> or <key>!=<value>")]
    Syntax(String),
    #[error(
        "invalid device tag match rule {rule:?}: {part} {text:?} must be non-empty and use only \
         letters, digits, '.', '_' and '-'"
    )]
    BadCharacters {
        rule: String,
        part: &'static str,
        text: String,
    },
}

/// heketi's rule regex is `[a-zA-Z0-9.-_]+` for key and value; read as the intended set
/// (letters, digits, `.`, `_`, `-`) rather than the accidental `.`-to-`_` range.
fn is_rule_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl TagMatch {
    /// Parses the option value (`k=v` / `k!=v`), surrounding spaces ignored.
    pub fn parse(rule: &str) -> Result<TagMatch, TagMatchError> {
        let trimmed = rule.trim();
        let (key, value, negate) = match trimmed.split_once("!=") {
            Some((k, v)) => (k, v, true),
            None => match trimmed.split_once('=') {
                Some((k, v)) => (k, v, false),
                None => return Err(TagMatchError::Syntax(rule.to_string())),
            },
        };
        for (part, text) in [("key", key), ("value", value)] {
            if !is_rule_word(text) {
                return Err(TagMatchError::BadCharacters {
                    rule: rule.to_string(),
                    part,
                    text: text.to_string(),
                });
            }
        }
        Ok(TagMatch {
            key: key.to_string(),
            value: value.to_string(),
            negate,
        })
    }

    /// Finds the rule among volume options of the form `"<key> <value>"`; the last one wins,
    /// as a later option overrides an earlier one in gluster.
    pub fn from_volume_options<S: AsRef<str>>(
        options: &[S],
    ) -> Result<Option<TagMatch>, TagMatchError> {
        let mut found = None;
        for option in options {
            let mut words = option.as_ref().trim().splitn(2, char::is_whitespace);
            if words.next() == Some(TAG_MATCH_OPTION) {
                found = Some(TagMatch::parse(words.next().unwrap_or(""))?);
            }
        }
        Ok(found)
    }

    /// Whether a device with these effective tags passes the rule.
    pub fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        let equal = tags.get(&self.key).is_some_and(|v| *v == self.value);
        equal != self.negate
    }
}

impl fmt::Display for TagMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negate { "!=" } else { "=" };
        write!(f, "{}{}{}", self.key, op, self.value)
    }
}

/// A device's role for arbiter volumes, from its effective `arbiter` tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArbiterRole {
    /// `required`: arbiter bricks only.
    ArbiterOnly,
    /// `disabled`: data bricks only.
    DataOnly,
    /// `supported` (the default): both.
    Both,
}

impl ArbiterRole {
    /// Reads the `arbiter` tag; a missing or unknown value means `supported`, the default.
    pub fn from_tags(tags: &BTreeMap<String, String>) -> ArbiterRole {
        match tags.get(ARBITER_TAG).map(String::as_str) {
            Some("required") => ArbiterRole::ArbiterOnly,
            Some("disabled") => ArbiterRole::DataOnly,
            _ => ArbiterRole::Both,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_both_operators() {
        assert_eq!(
            TagMatch::parse("tier=gold"),
            Ok(TagMatch {
                key: "tier".into(),
                value: "gold".into(),
                negate: false
            })
        );
        assert_eq!(
            TagMatch::parse(" builtinvols!=disabled "),
            Ok(TagMatch {
                key: "builtinvols".into(),
                value: "disabled".into(),
                negate: true
            })
        );
    }

    #[test]
    fn rejects_bad_rules() {
        assert!(matches!(
            TagMatch::parse("tier"),
            Err(TagMatchError::Syntax(_))
        ));
        assert!(matches!(
            TagMatch::parse("=gold"),
            Err(TagMatchError::BadCharacters { part: "key", .. })
        ));
        assert!(matches!(
            TagMatch::parse("tier="),
            Err(TagMatchError::BadCharacters { part: "value", .. })
        ));
        assert!(matches!(
            TagMatch::parse("ti er=gold"),
            Err(TagMatchError::BadCharacters { part: "key", .. })
        ));
        assert!(matches!(
            TagMatch::parse("a=b=c"),
            Err(TagMatchError::BadCharacters { part: "value", .. })
        ));
        let msg = TagMatch::parse("tier").map_err(|e| e.to_string()).err();
        assert_eq!(
            msg.as_deref(),
            Some(
                "invalid device tag match rule \"tier\": expected <key>=<value> or \
                 <key>!=<value>"
            )
        );
    }

    #[test]
    fn matching_is_exact_and_negation_accepts_missing_keys() {
        let eq = TagMatch::parse("tier=gold").ok();
        let ne = TagMatch::parse("tier!=gold").ok();
        let (Some(eq), Some(ne)) = (eq, ne) else {
            panic!("rules must parse")
        };
        assert!(eq.matches(&tags(&[("tier", "gold")])));
        assert!(!eq.matches(&tags(&[("tier", "Gold")])));
        assert!(!eq.matches(&tags(&[])));
        assert!(!ne.matches(&tags(&[("tier", "gold")])));
        assert!(ne.matches(&tags(&[("tier", "silver")])));
        assert!(ne.matches(&tags(&[])));
        assert_eq!(eq.to_string(), "tier=gold");
        assert_eq!(ne.to_string(), "tier!=gold");
    }

    #[test]
    fn finds_the_rule_in_volume_options() {
        let opts = [
            "performance.rda-cache-limit 10MB",
            "user.heketi.device-tag-match tier=gold",
        ];
        assert_eq!(
            TagMatch::from_volume_options(&opts),
            Ok(Some(TagMatch {
                key: "tier".into(),
                value: "gold".into(),
                negate: false
            }))
        );
        assert_eq!(TagMatch::from_volume_options(&["a b"]), Ok(None));
        assert!(TagMatch::from_volume_options(&["user.heketi.device-tag-match"]).is_err());
    }

    #[test]
    fn arbiter_roles() {
        assert_eq!(ArbiterRole::from_tags(&tags(&[])), ArbiterRole::Both);
        assert_eq!(
            ArbiterRole::from_tags(&tags(&[("arbiter", "required")])),
            ArbiterRole::ArbiterOnly
        );
        assert_eq!(
            ArbiterRole::from_tags(&tags(&[("arbiter", "disabled")])),
            ArbiterRole::DataOnly
        );
        assert_eq!(
            ArbiterRole::from_tags(&tags(&[("arbiter", "supported")])),
            ArbiterRole::Both
        );
    }
}

//! `settags` / `rmtags` of nodes and devices: argument parsing shared by both.

use heqet_api::{Tags, TagsChangeRequest};

use crate::args::{RmTagsArgs, SetTagsArgs};
use crate::error::{CliError, CliResult};

/// `(id, request)` for `settags <id> k:v… [--exact]`.
pub fn set_request(a: &SetTagsArgs) -> CliResult<(String, TagsChangeRequest)> {
    let id = match a.id.as_deref() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => return Err(CliError::msg("id required")),
    };
    if a.tags.is_empty() {
        return Err(CliError::msg("at least one tag:value pair expected"));
    }
    let mut tags = Tags::new();
    for t in &a.tags {
        let Some((k, v)) = t.split_once(':') else {
            return Err(CliError::msg(format!(
                "expected colon (:) between tag name and value, got: {t}"
            )));
        };
        tags.insert(k.to_string(), v.to_string());
    }
    let change_type = if a.exact { "set" } else { "update" };
    Ok((
        id,
        TagsChangeRequest {
            change_type: change_type.into(),
            tags,
        },
    ))
}

/// `(id, request)` for `rmtags <id> k… [--all]`.
pub fn rm_request(a: &RmTagsArgs) -> CliResult<(String, TagsChangeRequest)> {
    let id = match a.id.as_deref() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => return Err(CliError::msg("id required")),
    };
    if a.all {
        if !a.keys.is_empty() {
            return Err(CliError::msg("--all may not be combined with named tags"));
        }
        return Ok((
            id,
            TagsChangeRequest {
                change_type: "set".into(),
                tags: Tags::new(),
            },
        ));
    }
    if a.keys.is_empty() {
        return Err(CliError::msg("at least one tag expected"));
    }
    let tags = a.keys.iter().map(|k| (k.clone(), String::new())).collect();
    Ok((
        id,
        TagsChangeRequest {
            change_type: "delete".into(),
            tags,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(id: Option<&str>, tags: &[&str], exact: bool) -> CliResult<(String, TagsChangeRequest)> {
        set_request(&SetTagsArgs {
            id: id.map(String::from),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            exact,
        })
    }

    #[test]
    fn settags_parsing() {
        let (id, r) = set(Some("n1"), &["a:b", "url:http://x"], false).unwrap();
        assert_eq!(id, "n1");
        assert_eq!(r.change_type, "update");
        assert_eq!(r.tags["url"], "http://x");
        assert_eq!(
            set(Some("n1"), &["a:b"], true).unwrap().1.change_type,
            "set"
        );
        assert_eq!(
            set(None, &["a:b"], false).unwrap_err().to_string(),
            "id required"
        );
        assert_eq!(
            set(Some("n1"), &[], false).unwrap_err().to_string(),
            "at least one tag:value pair expected"
        );
        assert_eq!(
            set(Some("n1"), &["ab"], false).unwrap_err().to_string(),
            "expected colon (:) between tag name and value, got: ab"
        );
    }

    #[test]
    fn rmtags_parsing() {
        let rm = |keys: &[&str], all| {
            rm_request(&RmTagsArgs {
                id: Some("n1".into()),
                keys: keys.iter().map(|s| s.to_string()).collect(),
                all,
            })
        };
        assert_eq!(rm(&["a"], false).unwrap().1.change_type, "delete");
        assert!(rm(&[], true).unwrap().1.tags.is_empty());
        assert_eq!(
            rm(&["a"], true).unwrap_err().to_string(),
            "--all may not be combined with named tags"
        );
        assert_eq!(
            rm(&[], false).unwrap_err().to_string(),
            "at least one tag expected"
        );
    }
}

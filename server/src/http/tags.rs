//! Tag changes on nodes and devices (docs/heketi-api.md §7, §8): one rule for both.

use axum::http::StatusCode;
use axum::response::Response;
use heqet_api::{Tags, TagsChangeRequest};

use super::{json, SharedState};
use crate::error::{ApiError, ApiResult};
use crate::store::Tagged;
use crate::validate;

/// Apply a tag change request to `current` (heketi's set/update/delete semantics).
pub fn apply_tags(current: &mut Tags, req: &TagsChangeRequest) -> Result<(), ApiError> {
    let mut f = validate::Fields::default();
    if !matches!(req.change_type.as_str(), "set" | "update" | "delete") {
        f.add("change_type", "must be a valid value");
    }
    validate::check_tags(&mut f, "tags", &req.tags);
    f.finish()?;
    match req.change_type.as_str() {
        "set" => *current = req.tags.clone(),
        "update" => current.extend(req.tags.clone()),
        _ => {
            for k in req.tags.keys() {
                current.remove(k);
            }
        }
    }
    if current.len() > 32 {
        return Err(ApiError::Validation(format!(
            "tags: too many tags specified ({}), up to 32 supported.",
            current.len()
        )));
    }
    Ok(())
}

/// Shared by node and device tag routes: read, change, write in one transaction.
pub async fn change_tags(
    st: &SharedState,
    of: Tagged,
    id: &str,
    req: &TagsChangeRequest,
) -> ApiResult<Response> {
    let mut w = st.engine.store.writer().await;
    let mut tx = w.begin().await?;
    let mut tags = tx.tags_of(of, id).await?.ok_or(ApiError::IdNotFound)?;
    apply_tags(&mut tags, req)?;
    tx.set_tags(of, id, &tags).await?;
    tx.commit().await?;
    Ok(json(StatusCode::OK, &tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn change(kind: &str, pairs: &[(&str, &str)]) -> TagsChangeRequest {
        TagsChangeRequest {
            change_type: kind.into(),
            tags: tags(pairs),
        }
    }

    #[test]
    fn set_update_delete() {
        let mut t = tags(&[("a", "1"), ("b", "2")]);
        apply_tags(&mut t, &change("update", &[("b", "3"), ("c", "4")])).unwrap();
        assert_eq!(t, tags(&[("a", "1"), ("b", "3"), ("c", "4")]));
        apply_tags(&mut t, &change("delete", &[("a", ""), ("x", "")])).unwrap();
        assert_eq!(t, tags(&[("b", "3"), ("c", "4")]));
        apply_tags(&mut t, &change("set", &[("z", "9")])).unwrap();
        assert_eq!(t, tags(&[("z", "9")]));
    }

    #[test]
    fn refusals_use_heketi_texts() {
        let mut t = tags(&[("a", "1")]);
        let e = apply_tags(&mut t, &change("merge", &[("b", "2")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "validation failed: change_type: must be a valid value."
        );
        assert_eq!(t, tags(&[("a", "1")]));
        let many: Vec<(String, String)> =
            (0..32).map(|i| (format!("k{i}"), String::new())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let e = apply_tags(&mut t, &change("update", &many)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "validation failed: tags: too many tags specified (33), up to 32 supported."
        );
    }
}

//! The `/acr/v1` metadata operations (catalog, repository, tags, manifests and their
//! attributes), and the docker-compatible `/v2/_catalog` and `/v2/<name>/tags/list`.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Call, empty};
use crate::errors::{AcrError, json_response};
use crate::model::{self, AttributesUpdate};
use crate::paging::{self, Listing, PageRequest};
use crate::store::{ManifestRecord, Repo, TagRecord};

/// A 200 JSON response with a `Link` header when there is a next page.
fn listing(value: &Value, link: Option<String>) -> Response {
    let mut response = json_response(StatusCode::OK, value);
    if let Some(link) = link
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    response
}

async fn attributes_update(call: &mut Call) -> Result<AttributesUpdate, AcrError> {
    let body = call.read_body().await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(AttributesUpdate::default());
    }
    serde_json::from_slice(&body)
        .map_err(|e| AcrError::bad_request("BAD_REQUEST", format!("invalid attributes: {e}")))
}

/// One page of the repositories a catalog lists (known, with `listEnabled=true`).
fn listed_repositories(call: &Call, request: &PageRequest) -> paging::Page<String> {
    let store = call.shared.store();
    let listing = Listing {
        by_key: &store.repos,
        by_time: &store.repos_by_time,
        time: |r: &Repo| r.updated,
    };
    paging::page(
        &listing,
        request,
        |_, r| r.is_known() && r.attributes.list_enabled,
        |name, _| name.to_owned(),
    )
}

/// The listing of a repository's tags.
fn tag_listing(repo: &Repo) -> Listing<'_, TagRecord> {
    Listing {
        by_key: &repo.tags,
        by_time: &repo.tags_by_time,
        time: |t: &TagRecord| t.updated,
    }
}

/// `GET /acr/v1/_catalog` (repositories with `listEnabled=true`).
pub(crate) async fn catalog(call: Call) -> Result<Response, AcrError> {
    let request = PageRequest::from_query(&call.query)?;
    let page = listed_repositories(&call, &request);
    let link = page
        .next_last
        .map(|last| paging::link("/acr/v1/_catalog", &last, &request, &[]));
    Ok(listing(&json!({ "repositories": page.items }), link))
}

/// `GET /v2/_catalog` (docker style; same filter and paging, link without `orderby`).
pub(crate) async fn v2_catalog(call: Call) -> Result<Response, AcrError> {
    let request = PageRequest::from_query(&call.query)?;
    let page = listed_repositories(&call, &request);
    let link = page.next_last.map(|last| {
        format!(
            "</v2/_catalog?last={}&n={}>; rel=\"next\"",
            paging::encode_query_value(&last),
            request.n
        )
    });
    Ok(listing(&json!({ "repositories": page.items }), link))
}

/// `GET /v2/<name>/tags/list` (docker style).
pub(crate) async fn v2_tags_list(call: Call, name: &str) -> Result<Response, AcrError> {
    let request = PageRequest::from_query(&call.query)?;
    let page = {
        let store = call.shared.store();
        let repo = store.known_repo(name)?;
        paging::page(
            &tag_listing(repo),
            &request,
            |_, t| t.attributes.list_enabled,
            |tag, _| tag.to_owned(),
        )
    };
    let link = page.next_last.map(|last| {
        format!(
            "</v2/{name}/tags/list?last={}&n={}>; rel=\"next\"",
            paging::encode_query_value(&last),
            request.n
        )
    });
    Ok(listing(&json!({ "name": name, "tags": page.items }), link))
}

/// `GET|PATCH|DELETE /acr/v1/<name>`.
pub(crate) async fn repository(mut call: Call, name: &str) -> Result<Response, AcrError> {
    let registry = call.shared.host.clone();
    match call.method {
        Method::GET => {
            let store = call.shared.store();
            let repo = store.known_repo(name)?;
            Ok(json_response(
                StatusCode::OK,
                &model::repository_json(&registry, name, repo),
            ))
        }
        Method::PATCH => {
            let update = attributes_update(&mut call).await?;
            let mut store = call.shared.store();
            let repo = store.known_repo_mut(name)?;
            update.apply(&mut repo.attributes);
            Ok(json_response(
                StatusCode::OK,
                &model::repository_json(&registry, name, repo),
            ))
        }
        Method::DELETE => {
            let (manifests, tags) = call.shared.store().delete_repository(name)?;
            Ok(json_response(
                StatusCode::ACCEPTED,
                &json!({ "manifestsDeleted": manifests, "tagsDeleted": tags }),
            ))
        }
        _ => Err(AcrError::method_unsupported()),
    }
}

/// `GET /acr/v1/<name>/_tags` with `n`, `last`, `orderby` and the `digest` filter.
pub(crate) async fn tags(call: Call, name: &str) -> Result<Response, AcrError> {
    let request = PageRequest::from_query(&call.query)?;
    let digest = call.query("digest").map(str::to_owned);
    let page = {
        let store = call.shared.store();
        let repo = store.known_repo(name)?;
        paging::page(
            &tag_listing(repo),
            &request,
            |_, t| t.attributes.list_enabled && digest.as_ref().is_none_or(|d| *d == t.digest),
            model::tag_json,
        )
    };
    let extra: Vec<(&str, &str)> = digest.iter().map(|d| ("digest", d.as_str())).collect();
    let link = page
        .next_last
        .map(|last| paging::link(&format!("/acr/v1/{name}/_tags"), &last, &request, &extra));
    // ACR is written in Go and marshals an empty result as `null`: a repository whose tags
    // were all deleted answers `"tags": null`, never `[]` (so does an empty filtered page).
    let tags = if page.items.is_empty() {
        serde_json::Value::Null
    } else {
        json!(page.items)
    };
    let body = json!({
        "registry": call.shared.host,
        "imageName": name,
        "tags": tags,
    });
    Ok(listing(&body, link))
}

/// `GET|PATCH|DELETE /acr/v1/<name>/_tags/<tag>`.
pub(crate) async fn tag(mut call: Call, name: &str, tag: &str) -> Result<Response, AcrError> {
    let tag_body = |registry: &str, record: &crate::store::TagRecord| json!({ "registry": registry, "imageName": name, "tag": model::tag_json(tag, record) });
    let registry = call.shared.host.clone();
    match call.method {
        Method::GET => {
            let store = call.shared.store();
            let record = store
                .known_repo(name)?
                .tags
                .get(tag)
                .ok_or_else(AcrError::tag_unknown)?;
            Ok(json_response(StatusCode::OK, &tag_body(&registry, record)))
        }
        Method::PATCH => {
            let update = attributes_update(&mut call).await?;
            let mut store = call.shared.store();
            let record = store
                .known_repo_mut(name)?
                .tags
                .get_mut(tag)
                .ok_or_else(AcrError::tag_unknown)?;
            update.apply(&mut record.attributes);
            Ok(json_response(StatusCode::OK, &tag_body(&registry, record)))
        }
        Method::DELETE => {
            call.shared.store().delete_tag(name, tag)?;
            Ok(empty(StatusCode::ACCEPTED, &[]))
        }
        _ => Err(AcrError::method_unsupported()),
    }
}

/// `GET /acr/v1/<name>/_manifests` with `n`, `last`, `orderby` (default order: by digest).
pub(crate) async fn manifests(call: Call, name: &str) -> Result<Response, AcrError> {
    let request = PageRequest::from_query(&call.query)?;
    let page = {
        let store = call.shared.store();
        let repo = store.known_repo(name)?;
        let listing = Listing {
            by_key: &repo.manifests,
            by_time: &repo.manifests_by_time,
            time: |m: &ManifestRecord| m.updated,
        };
        paging::page(
            &listing,
            &request,
            |_, m| m.attributes.list_enabled,
            |digest, m| model::manifest_json(digest, m, repo.tags_of(digest)),
        )
    };
    let link = page
        .next_last
        .map(|last| paging::link(&format!("/acr/v1/{name}/_manifests"), &last, &request, &[]));
    let body = json!({
        "registry": call.shared.host,
        "imageName": name,
        "manifests": page.items,
    });
    Ok(listing(&body, link))
}

/// `GET|PATCH /acr/v1/<name>/_manifests/<digest>`.
pub(crate) async fn manifest(
    mut call: Call,
    name: &str,
    digest: &str,
) -> Result<Response, AcrError> {
    let registry = call.shared.host.clone();
    let update = match call.method {
        Method::GET => None,
        Method::PATCH => Some(attributes_update(&mut call).await?),
        _ => return Err(AcrError::method_unsupported()),
    };
    let mut store = call.shared.store();
    let repo = store.known_repo_mut(name)?;
    let tags = repo.tags_of(digest);
    let record = repo
        .manifests
        .get_mut(digest)
        .ok_or_else(AcrError::manifest_unknown)?;
    if let Some(update) = update {
        update.apply(&mut record.attributes);
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "registry": registry,
            "imageName": name,
            "manifest": model::manifest_json(digest, record, tags),
        }),
    ))
}

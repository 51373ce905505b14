//! Paging by `Link` header (RFC 8288 §3): every field and every link-value read, the `next`
//! one followed, `prev`/`first`-only pages are the last, loops and foreign origins refused,
//! and a stored continuation resumes a listing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use acr_runtime::paging::{self, Continuation, Page};
use acr_runtime::{ClientBuilder, Credential, Link, Request, Transport};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use futures_util::TryStreamExt as _;
use http::Method;

#[tokio::test]
async fn paginate_follows_link_headers_with_the_page_size() {
    let emulator = crate::emu::start().await;
    for i in 0..7 {
        emulator
            .put_image(&format!("repo{i}"), "v1", "amd64", "linux")
            .unwrap();
    }
    let t: Transport = ClientBuilder::new(emulator.endpoint())
        .credential(Credential::refresh_token(crate::emu::refresh_token(
            &emulator,
        )))
        .page_size(3)
        .build()
        .unwrap();
    let mut first = Request::new("get_repositories", Method::GET, "/acr/v1/_catalog")
        .scope("registry:catalog:*");
    if let Some(n) = t.page_size() {
        first = first.query("n", n.to_string());
    }
    let pages = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = pages.clone();
    let items: Vec<String> = paging::paginate(t, first, move |r| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let v: serde_json::Value = r.json()?;
        Ok(v["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect())
    })
    .try_collect()
    .await
    .unwrap();
    assert_eq!(
        items,
        (0..7).map(|i| format!("repo{i}")).collect::<Vec<_>>()
    );
    assert_eq!(pages.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// A loopback server of listings whose `Link` headers take each shape under test:
/// `GET /c/{case}?page=N` answers `{"items": [...]}` and the case's `Link` fields. Every
/// listing has 5 items over 3 pages (2, 2, 1) unless the case ends it early.
struct Lister {
    url: String,
    requests: Arc<AtomicUsize>,
}

const ITEMS: [&str; 5] = ["a", "b", "c", "d", "e"];

async fn list(
    State(requests): State<Arc<AtomicUsize>>,
    Path(case): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> impl IntoResponse {
    requests.fetch_add(1, Ordering::SeqCst);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let items: Vec<&str> = ITEMS.iter().copied().skip(page * 2).take(2).collect();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let port = host.rsplit(':').next().unwrap_or_default().to_owned();
    let next = page + 1;
    let more = page < 2;
    let own = |p: usize| format!("</c/{case}?page={p}>");
    let fields: Vec<String> = match case.as_str() {
        // rel="next" in the second `Link` field
        "second_field" if more => vec![
            format!("{}; rel=\"first\"", own(0)),
            format!("{}; rel=\"next\"", own(next)),
        ],
        // next as the second link-value of one field, among several relation types
        "several_rels" if more => vec![format!(
            "{}; rel=prev; title=\"x, y\", {}; rel=\"prefetch next\"",
            own(page.saturating_sub(1)),
            own(next)
        )],
        // a relative reference with only a query: resolves against the page's own URL
        "relative" if more => vec![format!("<?page={next}>; rel=next")],
        // a relative path: resolves against the page's own URL too
        "path_relative" if more => vec![format!("<path_relative?page={next}>; rel=next")],
        // the last page carries only prev / first
        "prev_only" => vec![format!("{}; rel=\"prev\"", own(page + 7))],
        "first_only" => vec![format!("{}; rel=first", own(0))],
        // loops
        "self_loop" => vec![format!("{}; rel=\"next\"", own(page))],
        "cycle" => vec![format!(
            "{}; rel=\"next\"",
            own(if page == 0 { 1 } else { 0 })
        )],
        // other origins
        "foreign" => vec![format!(
            "<https://elsewhere.example/c/foreign?page={next}>; rel=\"next\""
        )],
        "other_host" => vec![format!(
            "<http://localhost:{port}/c/other_host?page={next}>; rel=\"next\""
        )],
        _ => vec![],
    };
    let mut response = axum::Json(serde_json::json!({ "items": items })).into_response();
    for f in fields {
        response.headers_mut().append("link", f.parse().unwrap());
    }
    response
}

/// An old listing URL: its first page redirects (307) to `/c/{case}`, later pages do not
/// exist here, so a next link resolved against this URL instead of the one that answered
/// fails.
async fn moved(
    Path(case): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    if q.get("page").map(String::as_str) == Some("0") {
        (
            axum::http::StatusCode::TEMPORARY_REDIRECT,
            [("location", format!("/c/{case}?page=0"))],
        )
            .into_response()
    } else {
        axum::http::StatusCode::NOT_FOUND.into_response()
    }
}

async fn lister() -> Lister {
    let requests = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route("/moved/{case}", axum::routing::get(moved))
        .route("/c/{case}", axum::routing::get(list))
        .with_state(requests.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Lister { url, requests }
}

fn transport(url: &str) -> Transport {
    ClientBuilder::new(url)
        .credential(Credential::Anonymous)
        .build()
        .unwrap()
}

fn request(case: &str) -> Request {
    Request::new("list", Method::GET, format!("/c/{case}")).query("page", "0")
}

fn items(r: &acr_runtime::Response) -> acr_runtime::Result<Vec<String>> {
    let v: serde_json::Value = r.json()?;
    Ok(serde_json::from_value(v["items"].clone()).unwrap())
}

async fn collect(l: &Lister, case: &str) -> acr_runtime::Result<Vec<String>> {
    paging::paginate(transport(&l.url), request(case), items)
        .try_collect()
        .await
}

#[tokio::test]
async fn next_is_found_in_any_field_and_any_link_value() {
    let l = lister().await;
    for case in ["second_field", "several_rels", "relative"] {
        let all = collect(&l, case)
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(all, ITEMS, "{case}");
    }
    assert_eq!(l.requests.load(Ordering::SeqCst), 9);
}

#[tokio::test]
async fn relative_next_links_resolve_against_the_url_that_answered_after_a_redirect() {
    let l = lister().await;
    // `?page=N` (query only) and `relative?page=N` would both land on `/moved/...` if resolved
    // against the URL asked for; against the redirect's target they stay on `/c/...`.
    for case in ["relative", "path_relative"] {
        let first = Request::new("list", Method::GET, format!("/moved/{case}")).query("page", "0");
        let all: Vec<String> = paging::paginate(transport(&l.url), first, items)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(all, ITEMS, "{case}");
    }
}

#[tokio::test]
async fn a_page_with_only_prev_or_first_links_is_the_last() {
    let l = lister().await;
    for case in ["prev_only", "first_only"] {
        let all = collect(&l, case)
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(all, ["a", "b"], "{case}");
        // one page, read on its own, is no error either
        let page = transport(&l.url).send(request(case)).await.unwrap();
        let link: Link = page.header("link").unwrap().unwrap();
        assert_eq!(link.next(), None, "{case}");
        assert_eq!(link.values().len(), 1, "{case}");
    }
    // the generated responses read every field of `Link`
    let page = transport(&l.url)
        .send(request("second_field"))
        .await
        .unwrap();
    let link: Link = page.header("link").unwrap().unwrap();
    assert_eq!(link.next(), Some("/c/second_field?page=1"));
}

#[tokio::test]
async fn a_next_link_already_visited_ends_the_listing_with_an_error() {
    let l = lister().await;
    for (case, pages) in [("self_loop", 1), ("cycle", 2)] {
        let before = l.requests.load(Ordering::SeqCst);
        let e = collect(&l, case).await.unwrap_err();
        let text = e.to_string();
        assert!(text.contains("already read"), "{case}: {text}");
        assert!(
            matches!(e, acr_runtime::Error::InvalidResponse { .. }),
            "{case}"
        );
        assert_eq!(l.requests.load(Ordering::SeqCst) - before, pages, "{case}");
    }
}

#[tokio::test]
async fn a_next_link_to_another_origin_ends_the_listing_with_an_error() {
    let l = lister().await;
    for case in ["foreign", "other_host"] {
        let before = l.requests.load(Ordering::SeqCst);
        let pages: Vec<acr_runtime::Result<Page<String>>> = futures_util::StreamExt::collect(
            paging::pages(transport(&l.url), request(case), items),
        )
        .await;
        assert_eq!(pages.len(), 2, "{case}: the page, then the error");
        let first = pages[0].as_ref().unwrap();
        assert_eq!(first.items, ["a", "b"], "{case}");
        assert_eq!(first.next, None, "{case}");
        let e = pages[1].as_ref().unwrap_err();
        assert!(e.to_string().contains("another origin"), "{case}: {e}");
        assert_eq!(l.requests.load(Ordering::SeqCst) - before, 1, "{case}");
    }
}

#[tokio::test]
async fn a_stored_continuation_resumes_the_listing() {
    let l = lister().await;
    let t = transport(&l.url);
    let mut pages = paging::pages(t.clone(), request("second_field"), items);
    let first = pages.try_next().await.unwrap().unwrap();
    drop(pages);
    assert_eq!(first.items, ["a", "b"]);
    let stored = first.next.unwrap().to_string();
    assert_eq!(stored, "/c/second_field?page=1");
    // a later process: a fresh transport, the stored text

    let resumed: Continuation = stored.parse().unwrap();
    let rest: Vec<Page<String>> =
        paging::pages(t, paging::resume(request("second_field"), &resumed), items)
            .try_collect()
            .await
            .unwrap();
    let names: Vec<&str> = rest
        .iter()
        .flat_map(|p| p.items.iter().map(String::as_str))
        .collect();
    assert_eq!(names, ["c", "d", "e"]);
    assert_eq!(rest.len(), 2);
    assert!(rest[1].next.is_none());
    assert_eq!(
        rest[0].next.as_ref().map(Continuation::as_str),
        Some("/c/second_field?page=2")
    );
}

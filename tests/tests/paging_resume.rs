//! Paging a user can drive, through `acr::Client` against the ACR emulator: whole pages with
//! a continuation that survives being stored as text and resumes the listing in a new
//! client, and awaiting a paged builder returns exactly one page.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

mod common;

use acr::models::TagOrderBy;
use acr::stream::TryStreamExt as _;
use acr::{Continuation, Page, RepositoryName};

#[tokio::test]
async fn a_stored_continuation_resumes_a_tag_listing_in_a_new_client() {
    let emulator = common::start_emulator().await;
    let repo = RepositoryName::new("paging/resume").unwrap();
    for i in 0..7 {
        emulator
            .put_image(repo.as_str(), &format!("t{i}"), "amd64", "linux")
            .unwrap();
    }
    let client = common::emulator_client(&emulator);
    let everything: Vec<String> = client
        .get_tags(&repo)
        .orderby(TagOrderBy::Timedesc)
        .into_stream()
        .map_ok(|t| t.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(everything.len(), 7);

    // Read two pages of three, then stop and keep the continuation as text.
    let mut pages = client
        .get_tags(&repo)
        .n(3)
        .orderby(TagOrderBy::Timedesc)
        .into_pages();
    let mut seen: Vec<String> = Vec::new();
    let mut stored = String::new();
    for _ in 0..2 {
        let page: Page<_> = pages.try_next().await.unwrap().unwrap();
        assert_eq!(page.items.len(), 3);
        seen.extend(page.items.into_iter().map(|t| t.name));
        stored = page.next.expect("more pages").to_string();
    }
    drop(pages);

    // A new client resumes where the listing stopped, with the page size and order the
    // registry's link carries.
    let later = common::emulator_client(&emulator);
    let continuation: Continuation = stored.parse().unwrap();
    let rest: Vec<Page<_>> = later
        .get_tags(&repo)
        .resume_from(continuation.clone())
        .into_pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].next.is_none(), "the last page has no continuation");
    seen.extend(rest[0].items.iter().map(|t| t.name.clone()));
    assert_eq!(
        seen, everything,
        "no tag lost or repeated across the resume"
    );

    // Awaiting the builder is one page, also when resumed.
    let one = later
        .get_tags(&repo)
        .resume_from(continuation)
        .await
        .unwrap();
    assert_eq!(one.body.tags.len(), 1);
    assert!(one.link.is_none_or(|l| l.next().is_none()));
    let first = later.get_tags(&repo).n(3).await.unwrap();
    assert_eq!(first.body.tags.len(), 3);
    assert!(first.link.as_ref().and_then(|l| l.next()).is_some());
}

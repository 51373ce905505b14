use acr_runtime::{ClientBuilder, Credential, Request, Transport, paging};
use futures_util::TryStreamExt as _;
use http::Method;

use crate::support;

#[tokio::test]
async fn paginate_follows_link_headers_with_the_page_size() {
    let fake = support::start().await;
    let t: Transport = ClientBuilder::new(&fake.url)
        .credential(Credential::Anonymous)
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

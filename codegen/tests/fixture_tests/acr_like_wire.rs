//! Runs inside the generated `fixture_acr_like` crate (copied there by `emit_compile.rs`):
//! the emitted operations against a tiny canned HTTP server, checking what goes on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The answer to a request line.
fn answer(line: &str) -> (&'static str, String, String) {
    let tag = |name: &str| {
        format!(
            r#"{{"name":"{name}","digest":"{DIGEST}","createdTime":"2022-12-13T09:17:12.6157503Z","lastUpdateTime":"2022-12-13T09:17:12Z","changeableAttributes":{{}},"unknownField":1}}"#
        )
    };
    if line.starts_with("GET /acr/v1/lib/hello/_tags?n=2 ") {
        (
            "200 OK",
            "Link: </acr/v1/lib%2Fhello/_tags?last=b&n=2&orderby=>; rel=\"next\"\r\n".to_owned(),
            format!(
                r#"{{"imageName":"lib/hello","tags":[{},{}]}}"#,
                tag("a"),
                tag("b")
            ),
        )
    } else if line.starts_with("GET /acr/v1/lib/hello/_tags?n=5 ") {
        (
            "200 OK",
            String::new(),
            r#"{"imageName":"lib/hello","tags":[]}"#.to_owned(),
        )
    } else if line.starts_with("GET /acr/v1/lib%2Fhello/_tags?last=b") {
        (
            "200 OK",
            String::new(),
            format!(r#"{{"imageName":"lib/hello","tags":[{}]}}"#, tag("c")),
        )
    } else if line.starts_with("GET /v2/lib/hello/manifests/v1.0 ") {
        (
            "200 OK",
            format!(
                "Docker-Content-Digest: {DIGEST}\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n"
            ),
            "{\"schemaVersion\":2}".to_owned(),
        )
    } else if line.starts_with("POST /oauth2/token ") {
        (
            "200 OK",
            String::new(),
            r#"{"access_token":"acc-SECRET"}"#.to_owned(),
        )
    } else if line.starts_with("PATCH /v2/lib/hello/blobs/uploads/u1?_state=one ") {
        (
            "202 Accepted",
            "Location: /v2/lib/hello/blobs/uploads/u1?_state=two\r\nRange: 0-3\r\nDocker-Upload-UUID: u1\r\n".to_owned(),
            String::new(),
        )
    } else {
        ("404 Not Found", String::new(), String::new())
    }
}

/// Serves canned answers, recording every request (head and body).
async fn serve(listener: tokio::net::TcpListener, log: Arc<Mutex<Vec<String>>>) {
    loop {
        let (mut socket, _) = listener.accept().await.unwrap();
        let log = log.clone();
        tokio::spawn(async move {
            let mut data = Vec::new();
            let mut buf = vec![0u8; 65536];
            loop {
                let n = socket.read(&mut buf).await.unwrap();
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_owned)
                        })
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length || n == 0 {
                        break;
                    }
                }
            }
            let request = String::from_utf8_lossy(&data).to_string();
            let (status, headers, body) = answer(request.lines().next().unwrap_or_default());
            log.lock().unwrap().push(request);
            let response = format!(
                "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        });
    }
}

#[tokio::test]
async fn operations_put_the_right_things_on_the_wire() {
    use futures_util::StreamExt;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(serve(listener, log.clone()));
    let client = fixture_acr_like::Client::builder(format!("http://{addr}"))
        .build()
        .unwrap();
    let requests = |needle: &str| -> Vec<String> {
        log.lock()
            .unwrap()
            .iter()
            .filter(|r| r.contains(needle))
            .cloned()
            .collect()
    };

    // A paged list: the first page awaited directly, then every item through the stream.
    let page = client.get_tags("lib/hello").n(2).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.body.image_name, "lib/hello");
    assert_eq!(
        page.link.unwrap().next(),
        Some("/acr/v1/lib%2Fhello/_tags?last=b&n=2&orderby=")
    );
    let names: Vec<String> = client
        .get_tags("lib/hello")
        .n(2)
        .into_stream()
        .map(|t| t.unwrap().name)
        .collect()
        .await;
    assert_eq!(names, ["a", "b", "c"]);

    // Whole pages with their continuation; a stored continuation resumes the listing.
    let mut pages = client.get_tags("lib/hello").n(2).into_pages();
    let first = pages.next().await.unwrap().unwrap();
    drop(pages);
    let first_names: Vec<String> = first.items.iter().map(|t| t.name.clone()).collect();
    assert_eq!(first_names, ["a", "b"]);
    let stored = first.next.unwrap().to_string();
    let rest: Vec<String> = client
        .get_tags("lib/hello")
        .resume_from(stored.parse().unwrap())
        .into_stream()
        .map(|t| t.unwrap().name)
        .collect()
        .await;
    assert_eq!(rest, ["c"]);

    // The client's page size applies when the caller sets none.
    let sized = fixture_acr_like::Client::builder(format!("http://{addr}"))
        .page_size(5)
        .build()
        .unwrap();
    let empty = sized.get_tags("lib/hello").await.unwrap();
    assert!(empty.body.tags.is_empty());
    assert_eq!(requests("_tags?n=5 ").len(), 1);

    // A bad name is refused before any request.
    let before = log.lock().unwrap().len();
    let err = client.get_tags("Bad Name").await.unwrap_err();
    assert!(err.to_string().contains("invalid repository name"), "{err}");
    let err = client
        .get_tags("Bad Name")
        .into_stream()
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("invalid repository name"), "{err}");
    assert_eq!(log.lock().unwrap().len(), before);

    // Bytes body, typed headers, a header parameter.
    let manifest = client
        .get_manifest("lib/hello", "v1.0")
        .accept("application/vnd.oci.image.manifest.v1+json")
        .await
        .unwrap();
    assert_eq!(&manifest.body[..], b"{\"schemaVersion\":2}");
    assert_eq!(manifest.docker_content_digest.unwrap().as_str(), DIGEST);
    assert_eq!(manifest.content_length, Some(19));
    assert_eq!(
        manifest.content_type.as_deref(),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    let sent = requests("/manifests/v1.0");
    assert!(
        sent[0]
            .to_ascii_lowercase()
            .contains("accept: application/vnd.oci.image.manifest.v1+json"),
        "{}",
        sent[0]
    );

    // A form body with a repeated key, an enum and a secret: the secret goes on the wire
    // exposed, and no `Debug` (builder, response) shows it.
    let builder = client.exchange_acr_refresh_token_for_acr_access_token(
        "reg.example",
        ["repository:a:pull", "repository:b/c:push"],
        "rt-SECRET",
        fixture_acr_like::models::TokenGrantType::RefreshToken,
    );
    let debug = format!("{builder:?}");
    assert!(
        !debug.contains("rt-SECRET") && debug.contains("<redacted>"),
        "{debug}"
    );
    let token = builder.await.unwrap();
    assert_eq!(
        token.body.access_token.as_ref().map(|t| t.expose()),
        Some("acc-SECRET")
    );
    let debug = format!("{token:?}");
    assert!(!debug.contains("acc-SECRET"), "{debug}");
    let sent = requests("POST /oauth2/token");
    let body = sent[0].split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(
        body,
        "service=reg.example&refresh_token=rt-SECRET&grant_type=refresh_token&scope=repository%3Aa%3Apull&scope=repository%3Ab%2Fc%3Apush"
    );

    // An upload location is the whole path and query; bytes travel with their media type.
    let chunk = client
        .upload_chunk(
            "/v2/lib/hello/blobs/uploads/u1?_state=one",
            bytes::Bytes::from_static(b"abcd"),
        )
        .content_range("0-3")
        .await
        .unwrap();
    assert_eq!(chunk.status, 202);
    assert_eq!(
        chunk.location.unwrap().as_str(),
        "/v2/lib/hello/blobs/uploads/u1?_state=two"
    );
    assert_eq!(chunk.range.unwrap().end, 3);
    assert_eq!(chunk.docker_upload_uuid.as_deref(), Some("u1"));
    let sent = requests("PATCH ");
    let lower = sent[0].to_ascii_lowercase();
    assert!(lower.contains("content-range: 0-3"), "{}", sent[0]);
    assert!(
        lower.contains("content-type: application/octet-stream"),
        "{}",
        sent[0]
    );
    assert!(sent[0].ends_with("\r\n\r\nabcd"), "{}", sent[0]);
}

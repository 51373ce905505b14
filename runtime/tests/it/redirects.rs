//! Redirects per RFC 9110 §15.4: 307/308 for every method with the body sent again,
//! 303 to GET, 301/302 turning only POST into GET; an unfollowed redirect, a loop, too many
//! hops or a missing Location is an error; references resolve against the URL that answered.

use acr_runtime::{Body, Credential, Error, Request};
use bytes::Bytes;
use http::Method;

use crate::client;
use crate::wire::{self, answer};

fn bytes_body(data: Vec<u8>) -> Body {
    Body::Bytes {
        content_type: "application/octet-stream".into(),
        data: Bytes::from(data),
    }
}

/// A server that redirects `/from/<status>/...` with `<status>` to `/to/...` and answers
/// everything else 201 with the method it saw.
async fn redirector() -> wire::Scripted {
    wire::serve("127.0.0.1", |r, _| {
        let path = r.path().to_owned();
        if let Some(rest) = path.strip_prefix("/from/") {
            let (status, tail) = rest.split_once('/').unwrap();
            return answer(
                status.parse().unwrap(),
                &[("location", &format!("/to/{tail}"))],
                "",
            );
        }
        answer(201, &[("x-method", r.method.as_str())], "done")
    })
    .await
}

#[tokio::test]
async fn redirects_307_and_308_are_followed_for_every_method_with_the_body() {
    let server = redirector().await;
    let t = client(&server.url, Credential::Anonymous);
    // the smallest body, and one sent in slices (over 64 KiB)
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for (status, method, body) in [
        (307, Method::POST, b"x".to_vec()),
        (308, Method::PUT, big.clone()),
        (307, Method::PATCH, big.clone()),
        (308, Method::DELETE, Vec::new()),
    ] {
        let r = t
            .send(
                Request::new("op", method.clone(), format!("/from/{status}/{method}"))
                    .body(bytes_body(body.clone())),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{status} {method}");
        assert_eq!(r.header_str("x-method"), Some(method.as_str()));
        assert_eq!(r.url.path(), format!("/to/{method}"));
        let got = server.requests().last().unwrap().clone();
        assert_eq!(got.method, method);
        assert_eq!(
            got.body.len(),
            body.len(),
            "{status} {method}: the body is sent again"
        );
        assert!(got.body[..] == body[..]);
    }
}

#[tokio::test]
async fn redirect_303_fetches_with_get_and_301_302_turn_only_post_into_get() {
    let server = redirector().await;
    let t = client(&server.url, Credential::Anonymous);
    for (status, method, expect) in [
        (303, Method::POST, Method::GET),
        (303, Method::PUT, Method::GET),
        (303, Method::HEAD, Method::HEAD),
        (302, Method::POST, Method::GET),
        (301, Method::POST, Method::GET),
        (301, Method::PUT, Method::PUT),
        (302, Method::PATCH, Method::PATCH),
        (301, Method::GET, Method::GET),
    ] {
        let r = t
            .send(
                Request::new("op", method.clone(), format!("/from/{status}/x"))
                    .body(bytes_body(b"payload".to_vec()))
                    .header("content-range", "0-6")
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201);
        let got = server.requests().last().unwrap().clone();
        assert_eq!(got.method, expect, "{status} {method}");
        if expect == method {
            assert_eq!(&got.body[..], b"payload", "{status} {method}");
        } else {
            assert!(got.body.is_empty(), "{status} {method}");
            assert!(!got.headers.contains_key("content-range"));
            assert!(!got.headers.contains_key("content-type"));
        }
    }
}

#[tokio::test]
async fn unfollowed_redirects_loops_and_missing_locations_are_errors() {
    let server = wire::serve("127.0.0.1", |r, _| {
        let path = r.path().to_owned();
        match path.as_str() {
            "/no-location" => answer(307, &[], ""),
            "/multiple-choices" => answer(300, &[("location", "/elsewhere")], ""),
            "/use-proxy" => answer(305, &[("location", "/elsewhere")], ""),
            "/loop-a" => answer(302, &[("location", "/loop-b")], ""),
            "/loop-b" => answer(307, &[("location", "/loop-a")], ""),
            "/to-ftp" => answer(308, &[("location", "ftp://example.com/x")], ""),
            p if p.starts_with("/hop/") => {
                // an endless chain of fresh URLs
                let n: u32 = p[5..].parse().unwrap();
                answer(307, &[("location", &format!("/hop/{}", n + 1))], "")
            }
            _ => answer(200, &[], "ok"),
        }
    })
    .await;
    let t = client(&server.url, Credential::Anonymous);
    for (path, method, says) in [
        ("/no-location", Method::POST, "without a Location"),
        ("/no-location", Method::GET, "without a Location"),
        ("/multiple-choices", Method::GET, "does not follow"),
        ("/use-proxy", Method::PUT, "does not follow"),
        ("/loop-a", Method::GET, "loop"),
        ("/to-ftp", Method::GET, "not http"),
        ("/hop/0", Method::GET, "more than 10 redirects"),
        ("/hop/0", Method::PUT, "more than 10 redirects"),
    ] {
        let e = t
            .send(Request::new("get_blob", method.clone(), path))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidResponse { .. }), "{path}: {e:?}");
        assert!(e.to_string().contains(says), "{path} {method}: {e}");
        // the stream API says the same
        let e = t
            .send_streaming(Request::new("get_blob", method.clone(), path))
            .await
            .unwrap_err();
        assert!(e.to_string().contains(says), "{path} {method}: {e}");
    }
    // the endless chain stopped after 10 hops: 11 requests
    let hops = server
        .requests()
        .iter()
        .filter(|r| r.path().starts_with("/hop/"))
        .count();
    assert_eq!(hops, 4 * 11);
}

#[tokio::test]
async fn relative_references_resolve_against_the_url_that_answered() {
    // RFC 3986 §5.2 against the URL of the response that carries the reference
    let server = wire::serve("127.0.0.1", |r, _| match r.path() {
        "/v2/a/start" => answer(307, &[("location", "/deep/dir/")], ""),
        "/deep/dir/" => answer(308, &[("location", "next?x=1")], ""),
        "/deep/dir/next" => answer(
            202,
            &[
                ("location", "../uploads/u1?_state=s"),
                ("link", "<page2>; rel=\"next\""),
            ],
            "",
        ),
        _ => answer(404, &[], ""),
    })
    .await;
    let t = client(&server.url, Credential::Anonymous);
    let r = t
        .send(Request::new("start_upload", Method::POST, "/v2/a/start"))
        .await
        .unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(r.url.as_str(), format!("{}/deep/dir/next?x=1", server.url));
    let location = r.resolve(r.header_str("location").unwrap()).unwrap();
    assert_eq!(
        location.as_str(),
        format!("{}/deep/uploads/u1?_state=s", server.url)
    );
    assert_eq!(
        r.resolve("page2").unwrap().as_str(),
        format!("{}/deep/dir/page2", server.url)
    );
    assert!(r.resolve("ftp://x/y").is_err());
    let paths: Vec<String> = server.requests().iter().map(|r| r.uri.clone()).collect();
    assert_eq!(paths, ["/v2/a/start", "/deep/dir/", "/deep/dir/next?x=1"]);
}

#[tokio::test]
async fn uploads_and_manifests_work_through_a_front_that_answers_307() {
    // issue 9 §3: start_upload through a 307 returned OK with status 307 and put_manifest
    // failed with "unexpected status 307"; every request here is redirected once
    use crate::transfers::{Transfers as _, UploadOptions};
    use acr_runtime::blob::UploadSource;
    use acr_runtime::{Reference, RepositoryName};

    let registry = crate::support::start().await;
    let target = registry.url.clone();
    let front = wire::serve("localhost", move |r, _| {
        answer(307, &[("location", &format!("{target}{}", r.uri))], "")
    })
    .await;
    let t = crate::builder(&front.url, Credential::Anonymous)
        .chunk_size(64 * 1024)
        .build()
        .unwrap();
    let repo = RepositoryName::new("hello").unwrap();
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 241) as u8).collect();
    let acr_runtime::blob::Uploaded { digest, size, .. } = t
        .upload_blob(
            &repo,
            UploadSource::Bytes(Bytes::from(data.clone())),
            UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(size, data.len() as u64);
    assert_eq!(digest.as_str(), crate::support::sha256(&data));
    let manifest = Bytes::from_static(br#"{"schemaVersion":2}"#);
    let tag = Reference::new("v1").unwrap();
    t.put_manifest(
        &repo,
        &tag,
        manifest.clone(),
        "application/vnd.oci.image.manifest.v1+json",
    )
    .await
    .unwrap();
    assert_eq!(t.get_manifest(&repo, &tag).await.unwrap().bytes, manifest);
    // every request went through the front and was answered there with 307
    let methods: Vec<Method> = front.requests().iter().map(|r| r.method.clone()).collect();
    for m in [Method::POST, Method::PATCH, Method::PUT, Method::GET] {
        assert!(methods.contains(&m), "{methods:?}");
    }
}

#[tokio::test]
async fn a_redirect_s_answer_is_let_go_before_the_next_hop() {
    // The next hop must not wait on the redirect's connection: a server that serves one
    // connection at a time answers it only once the client has let the redirect go.
    let (url, most) = wire::one_connection_at_a_time(|head| {
        if head.starts_with("GET /a ") {
            // a body the client never reads: its connection is not free until let go
            let body = vec![b'x'; 1024 * 1024];
            let mut answer = format!(
                "HTTP/1.1 302 Found\r\nlocation: /b\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            answer.extend_from_slice(&body);
            answer
        } else {
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec()
        }
    })
    .await;
    let t = crate::wire::one_connection_client(&url);
    let r = t.send(Request::new("op", Method::GET, "/a")).await;
    assert_eq!(
        r.map(|r| r.status).map_err(|e| e.to_string()),
        Ok(http::StatusCode::OK)
    );
    assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);
}

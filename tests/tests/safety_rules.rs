//! The safety rules that do not need a second server: names that break the OCI distribution
//! grammar are refused before any request, with the rule they broke; credentials go over plain
//! http only to loopback or with an explicit opt-in, whatever the credential.
//!
//! (Redirects dropping `Authorization` across origins: `runtime/tests/it/retry.rs`
//! `redirect_to_another_host_drops_authorization`; oversized answers:
//! `runtime/tests/it/auth.rs` `token_answers_over_one_mib_are_refused` and
//! `runtime/tests/it/manifests.rs` `tampered_and_oversized_manifests_are_refused`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use acr::Client;
use acr_runtime::auth::AadTokenFuture;
use acr_runtime::{AadToken, AadTokenSource, Credential, Error, Secret};

/// A repository name that breaks the grammar, and the rule the error must name (OCI
/// distribution spec, "Pulling manifests": `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
/// at most 255 characters with the registry's host name).
fn bad_repositories() -> Vec<(String, &'static str)> {
    const COMPONENT_ENDS: &str =
        "a path component must start and end with a lowercase letter or digit";
    const ALPHABET: &str = "only lowercase letters, digits, '.', '_', '-' and '/' are allowed";
    vec![
        ("..".into(), COMPONENT_ENDS),
        ("a/../b".into(), COMPONENT_ENDS),
        ("a/./b".into(), COMPONENT_ENDS),
        ("a%2Fb".into(), ALPHABET),
        ("a%2e%2e".into(), ALPHABET),
        ("a?b".into(), ALPHABET),
        ("a?n=1".into(), ALPHABET),
        ("a#b".into(), ALPHABET),
        ("a b".into(), ALPHABET),
        ("a\\b".into(), ALPHABET),
        ("Hello".into(), COMPONENT_ENDS),
        ("heLLo".into(), ALPHABET),
        ("a".repeat(256), "longer than 255 characters"),
        (
            format!("{}/{}", "a".repeat(200), "b".repeat(60)),
            "longer than 255 characters",
        ),
        (String::new(), "empty"),
        ("/a".into(), "empty path component"),
        ("a/".into(), "empty path component"),
        ("a//b".into(), "empty path component"),
        (
            "a..b".into(),
            "separators must sit between letters or digits",
        ),
        (
            "a___b".into(),
            "separators must sit between letters or digits",
        ),
        ("é".into(), COMPONENT_ENDS),
    ]
}

/// A reference (tag or digest) that breaks the grammar, and the rule the error must name.
fn bad_references() -> Vec<(String, &'static str)> {
    const TAG: &str = "a tag holds only letters, digits, '_', '.' and '-'";
    vec![
        (String::new(), "a tag has 1 to 128 characters"),
        ("t".repeat(129), "a tag has 1 to 128 characters"),
        ("..".into(), "a tag starts with a letter, digit or '_'"),
        ("-v1".into(), "a tag starts with a letter, digit or '_'"),
        ("v1/../x".into(), TAG),
        ("v1%2Fx".into(), TAG),
        ("v1?x=1".into(), TAG),
        ("v1#x".into(), TAG),
        ("v 1".into(), TAG),
        (
            format!("sha256:{}", "A".repeat(64)),
            "sha256 wants 64 lowercase hex digits",
        ),
        ("sha256:abc".into(), "sha256 wants 64 lowercase hex digits"),
        (
            format!("sha256:{}/../x", "a".repeat(64)),
            "sha256 wants 64 lowercase hex digits",
        ),
        (format!("SHA256:{}", "a".repeat(64)), "bad algorithm"),
        (format!("x:{}", "a?".repeat(20)), "bad encoded part"),
    ]
}

fn assert_refused(result: Result<impl std::fmt::Debug, Error>, name: &str, rule: &str) {
    let error = result.expect_err(name);
    let text = error.to_string();
    assert!(
        matches!(error, Error::InvalidInput { .. }),
        "{name:?}: {error:?}"
    );
    assert!(text.contains(rule), "{name:?} should name {rule:?}: {text}");
}

#[tokio::test]
async fn names_that_break_the_oci_grammar_are_refused_before_any_request() {
    let emulator = common::start_emulator().await;
    let client = common::emulator_client(&emulator);
    for (name, rule) in bad_repositories() {
        assert_refused(client.get_tags(name.as_str()).await, &name, rule);
        assert_refused(client.get_manifest(name.as_str(), "v1").await, &name, rule);
        assert_refused(client.delete_repository(name.as_str()).await, &name, rule);
        assert_refused(client.start_upload(name.as_str()).await, &name, rule);
    }
    for (reference, rule) in bad_references() {
        assert_refused(
            client.get_manifest("hello", reference.as_str()).await,
            &reference,
            rule,
        );
        assert_refused(
            client.delete_tag("hello", reference.as_str()).await,
            &reference,
            rule,
        );
    }
    for (digest, rule) in [
        (
            "sha256:../../etc/passwd",
            "sha256 wants 64 lowercase hex digits",
        ),
        ("sha256", "a digest is algorithm:hex"),
        ("", "a digest is algorithm:hex"),
    ] {
        assert_refused(client.get_blob("hello", digest).await, digest, rule);
        assert_refused(client.delete_blob("hello", digest).await, digest, rule);
    }
    assert!(
        emulator.log().is_empty(),
        "a refused name sent a request: {:?}",
        emulator.log()
    );
    // the same names, well formed, do reach the registry
    client.get_tags("hello").await.unwrap_err();
    assert!(!emulator.log().is_empty());
}

struct Aad;

impl AadTokenSource for Aad {
    fn aad_token<'a>(&'a self, _scope: &'a str) -> AadTokenFuture<'a> {
        Box::pin(async {
            Ok(AadToken {
                token: Secret::new("aad"),
                expires_at: None,
            })
        })
    }
}

#[test]
fn credentials_go_over_plain_http_only_to_loopback_or_when_allowed() {
    let credentials = [
        Credential::basic("u", "p"),
        Credential::refresh_token("rt"),
        Credential::aad(Arc::new(Aad)),
    ];
    let remote = [
        "http://registry.example.com",
        "http://registry.example.com:5000",
        "http://10.0.0.7:5000",
        "http://127.0.0.1.nip.io",
        "http://localhost.example.com",
    ];
    let loopback = [
        "http://127.0.0.1:5000",
        "http://127.8.9.10",
        "http://[::1]:5000",
        "http://localhost:5000",
    ];
    for credential in credentials {
        for endpoint in remote {
            let refused = Client::builder(endpoint)
                .credential(credential.clone())
                .build()
                .map(|_| ())
                .expect_err(endpoint);
            assert!(
                refused.to_string().contains("plain http"),
                "{endpoint}: {refused}"
            );
            Client::builder(endpoint)
                .credential(credential.clone())
                .allow_insecure_http(true)
                .build()
                .unwrap_or_else(|e| panic!("{endpoint} with the opt-in: {e}"));
            Client::builder(endpoint.replacen("http:", "https:", 1))
                .credential(credential.clone())
                .build()
                .unwrap_or_else(|e| panic!("https for {endpoint}: {e}"));
        }
        for endpoint in loopback {
            Client::builder(endpoint)
                .credential(credential.clone())
                .build()
                .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        }
    }
    // without a credential there is nothing to protect
    for endpoint in remote {
        Client::builder(endpoint)
            .credential(Credential::Anonymous)
            .build()
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
    }
}

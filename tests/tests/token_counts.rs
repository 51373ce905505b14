//! Token requests and 401s, counted on the emulator's request log, for a client whose
//! operations know their scopes (acr-runtime's ACR mode fetches each scope's token up front):
//!
//! * (a) 100 operations over 3 repositories make at most one token request per distinct scope
//!   and receive no 401;
//! * (b) 100 concurrent first calls for one scope make one token request;
//! * (c) after the emulator revokes the tokens, the next call is refused once, refreshes once
//!   and succeeds when sent again.
//!
//! For the ACR refresh-token credential and the AAD credential (plus, in (a), the admin user
//! with `acr(true)`). Run with `--nocapture` to see the figures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

use std::collections::BTreeSet;
use std::sync::Arc;

use acr::Client;
use acr_runtime::auth::{AadToken, AadTokenFuture, AadTokenSource};
use acr_runtime::{Credential, Error, Secret};
use acr_tests::emulator::{Emulator, Grants, LoggedRequest, SeededImage, Server};

const AAD_TOKEN: &str = "token-counts-fake-aad-token";
const REPOSITORIES: [&str; 3] = ["counts/alpha", "counts/beta", "counts/gamma"];

/// An AAD identity that always hands out the emulator's fake AAD token.
struct FakeAad;

impl AadTokenSource for FakeAad {
    fn aad_token<'a>(&'a self, _scope: &'a str) -> AadTokenFuture<'a> {
        Box::pin(async {
            Ok(AadToken {
                token: Secret::new(AAD_TOKEN),
                expires_at: None,
            })
        })
    }
}

/// The credentials measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An ACR refresh token (ACR mode by default).
    RefreshToken,
    /// An AAD identity (ACR mode by default).
    Aad,
    /// The admin user's username and password, ACR mode turned on explicitly.
    AdminAcrMode,
}

async fn seeded_emulator() -> (Emulator, Vec<SeededImage>) {
    let emulator = Emulator::builder()
        .admin("admin", "counts-pa55")
        .aad_token(AAD_TOKEN)
        .start()
        .await
        .expect("the emulator starts");
    let images = REPOSITORIES
        .iter()
        .map(|r| emulator.put_image(r, "v1", "amd64", "linux").unwrap())
        .collect();
    emulator.clear_log();
    (emulator, images)
}

fn client(emulator: &Emulator, kind: Kind) -> Client {
    let builder = Client::builder(emulator.endpoint());
    let builder = match kind {
        Kind::RefreshToken => builder.credential(Credential::refresh_token(
            emulator.refresh_token_for("counts", Grants::All),
        )),
        Kind::Aad => builder.credential(Credential::aad(Arc::new(FakeAad))),
        Kind::AdminAcrMode => {
            let (user, password) = emulator.admin().unwrap();
            builder
                .credential(Credential::basic(user, password))
                .acr(true)
        }
    };
    builder.build().expect("the client builds")
}

/// What the log shows about auth.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    /// Registry requests other than `/oauth2/*`.
    data_plane: usize,
    /// Of those, how many carried no `Authorization`.
    data_plane_bare: usize,
    /// Of those, how many were answered 401.
    data_plane_401: usize,
    /// `POST /oauth2/token` (refresh-token grants).
    token_posts: usize,
    /// `GET /oauth2/token` (Basic).
    token_gets: usize,
    /// `POST /oauth2/exchange`.
    exchanges: usize,
    /// `/oauth2/*` requests answered 401.
    token_401: usize,
}

impl Counts {
    fn of(log: &[LoggedRequest]) -> Counts {
        let mut c = Counts::default();
        for r in log.iter().filter(|r| r.server == Server::Registry) {
            if r.path.starts_with("/oauth2/") {
                match (r.method.as_str(), r.path.as_str()) {
                    ("POST", "/oauth2/token") => c.token_posts += 1,
                    ("GET", "/oauth2/token") => c.token_gets += 1,
                    ("POST", "/oauth2/exchange") => c.exchanges += 1,
                    _ => {}
                }
                if r.status == 401 {
                    c.token_401 += 1;
                }
            } else {
                c.data_plane += 1;
                if !r.has_authorization() {
                    c.data_plane_bare += 1;
                }
                if r.status == 401 {
                    c.data_plane_401 += 1;
                }
            }
        }
        c
    }

    fn token_requests(&self) -> usize {
        self.token_posts + self.token_gets
    }

    fn all_401(&self) -> usize {
        self.data_plane_401 + self.token_401
    }
}

/// Operation `i` of the sequence on `repository`; returns the scope it needs.
async fn operation(client: &Client, i: usize, repository: &str, image: &SeededImage) -> String {
    match i % 5 {
        0 => {
            let r = client.get_tags(repository).await.unwrap();
            assert_eq!(r.body.tags.len(), 1);
            format!("repository:{repository}:metadata_read")
        }
        1 => {
            let r = client.get_properties(repository).await.unwrap();
            assert_eq!(r.body.image_name, repository);
            format!("repository:{repository}:metadata_read")
        }
        2 => {
            let r = client.get_manifest(repository, "v1").await.unwrap();
            assert_eq!(r.status, 200);
            format!("repository:{repository}:pull")
        }
        3 => {
            let r = client
                .check_blob_exists(repository, image.layer_digest.as_str())
                .await
                .unwrap();
            assert_eq!(r.status, 200);
            format!("repository:{repository}:pull")
        }
        _ => {
            let r = client.get_repositories().await.unwrap();
            assert_eq!(r.body.repositories.as_deref().map(<[_]>::len), Some(3));
            "registry:catalog:*".to_owned()
        }
    }
}

async fn sequence_of_100(kind: Kind) {
    let (emulator, images) = seeded_emulator().await;
    let client = client(&emulator, kind);
    let mut scopes = BTreeSet::new();
    for i in 0..100 {
        let which = i % 3;
        scopes.insert(operation(&client, i / 3, REPOSITORIES[which], &images[which]).await);
    }
    let c = Counts::of(&emulator.log());
    println!(
        "(a) {kind:?}: 100 operations over 3 repositories, {} distinct scopes: {} data-plane requests ({} without Authorization), token requests POST /oauth2/token {} + GET /oauth2/token {}, POST /oauth2/exchange {}, 401 answers {}",
        scopes.len(),
        c.data_plane,
        c.data_plane_bare,
        c.token_posts,
        c.token_gets,
        c.exchanges,
        c.all_401()
    );
    assert_eq!(scopes.len(), 7, "{scopes:?}");
    assert_eq!(c.data_plane, 100, "one request per operation: {c:?}");
    assert!(c.token_requests() <= scopes.len(), "{c:?}");
    assert_eq!(c.all_401(), 0, "{c:?}");
    assert_eq!(
        c.data_plane_bare, 0,
        "every request carried its token: {c:?}"
    );
    match kind {
        Kind::RefreshToken => assert_eq!((c.token_gets, c.exchanges), (0, 0), "{c:?}"),
        Kind::Aad => assert_eq!((c.token_gets, c.exchanges), (0, 1), "{c:?}"),
        Kind::AdminAcrMode => assert_eq!((c.token_posts, c.exchanges), (0, 0), "{c:?}"),
    }
}

#[tokio::test]
async fn sequence_of_100_with_a_refresh_token() {
    sequence_of_100(Kind::RefreshToken).await;
}

#[tokio::test]
async fn sequence_of_100_with_aad() {
    sequence_of_100(Kind::Aad).await;
}

#[tokio::test]
async fn sequence_of_100_with_the_admin_user_in_acr_mode() {
    sequence_of_100(Kind::AdminAcrMode).await;
}

async fn concurrent_first_calls(kind: Kind) {
    let (emulator, _) = seeded_emulator().await;
    let client = client(&emulator, kind);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_manifest(REPOSITORIES[0], "v1").await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().status, 200);
    }
    let c = Counts::of(&emulator.log());
    println!(
        "(b) {kind:?}: 100 concurrent first calls for one scope: POST /oauth2/token {}, POST /oauth2/exchange {}, 401 answers {}",
        c.token_posts,
        c.exchanges,
        c.all_401()
    );
    assert_eq!(c.data_plane, 100, "{c:?}");
    assert_eq!(c.token_requests(), 1, "{c:?}");
    assert_eq!(c.all_401(), 0, "{c:?}");
    assert_eq!(c.exchanges, usize::from(kind == Kind::Aad), "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_with_a_refresh_token() {
    concurrent_first_calls(Kind::RefreshToken).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_with_aad() {
    concurrent_first_calls(Kind::Aad).await;
}

/// A warm client (one call made), the log cleared.
async fn warm(kind: Kind) -> (Emulator, Client) {
    let (emulator, _) = seeded_emulator().await;
    let client = client(&emulator, kind);
    client.get_manifest(REPOSITORIES[0], "v1").await.unwrap();
    emulator.clear_log();
    (emulator, client)
}

/// After revocation: one call, then a second one that must need nothing new.
async fn call_twice_and_count(emulator: &Emulator, client: &Client) -> (Counts, Counts) {
    assert_eq!(
        client
            .get_manifest(REPOSITORIES[0], "v1")
            .await
            .unwrap()
            .status,
        200
    );
    let first = Counts::of(&emulator.log());
    emulator.clear_log();
    client.get_manifest(REPOSITORIES[0], "v1").await.unwrap();
    (first, Counts::of(&emulator.log()))
}

#[tokio::test]
async fn expired_access_token_with_a_refresh_token_is_refreshed_once() {
    // (the refresh token is the caller's credential: expire_tokens() would revoke it too)
    let (emulator, client) = warm(Kind::RefreshToken).await;
    emulator.expire_access_tokens();
    let (first, then) = call_twice_and_count(&emulator, &client).await;
    println!(
        "(c) RefreshToken after expire_access_tokens(): {} requests to the registry API, 401 answers {}, POST /oauth2/token {}; the call after: {} request, {} token requests",
        first.data_plane,
        first.all_401(),
        first.token_posts,
        then.data_plane,
        then.token_requests()
    );
    assert_eq!(
        first,
        Counts {
            data_plane: 2,
            data_plane_401: 1,
            token_posts: 1,
            ..Counts::default()
        }
    );
    assert_eq!(
        then,
        Counts {
            data_plane: 1,
            ..Counts::default()
        }
    );
}

#[tokio::test]
async fn revoked_refresh_token_credential_fails_after_one_try() {
    let (emulator, client) = warm(Kind::RefreshToken).await;
    emulator.expire_tokens();
    let e = client
        .get_manifest(REPOSITORIES[0], "v1")
        .await
        .unwrap_err();
    let c = Counts::of(&emulator.log());
    println!(
        "(c) RefreshToken after expire_tokens() (the credential itself revoked): {} request to the registry API, 401 answers {} (registry {}, token endpoint {}), then the error: {e}",
        c.data_plane,
        c.all_401(),
        c.data_plane_401,
        c.token_401
    );
    assert!(matches!(e, Error::Auth { .. }), "{e:?}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401), "{e:?}");
    assert_eq!(
        c,
        Counts {
            data_plane: 1,
            data_plane_401: 1,
            token_posts: 1,
            token_401: 1,
            ..Counts::default()
        }
    );
}

#[tokio::test]
async fn expired_tokens_with_aad_are_refreshed_once() {
    let (emulator, client) = warm(Kind::Aad).await;
    emulator.expire_tokens();
    let (first, then) = call_twice_and_count(&emulator, &client).await;
    println!(
        "(c) Aad after expire_tokens(): {} requests to the registry API ({} answered 401), POST /oauth2/token {} ({} answered 401: the cached ACR refresh token was revoked too), POST /oauth2/exchange {}; the call after: {} request, {} token requests",
        first.data_plane,
        first.data_plane_401,
        first.token_posts,
        first.token_401,
        first.exchanges,
        then.data_plane,
        then.token_requests()
    );
    assert_eq!(
        first,
        Counts {
            data_plane: 2,
            data_plane_401: 1,
            token_posts: 2,
            exchanges: 1,
            token_401: 1,
            ..Counts::default()
        }
    );
    assert_eq!(
        then,
        Counts {
            data_plane: 1,
            ..Counts::default()
        }
    );

    // only the access tokens expired: the cached ACR refresh token still serves
    emulator.clear_log();
    emulator.expire_access_tokens();
    let (first, _) = call_twice_and_count(&emulator, &client).await;
    println!(
        "(c) Aad after expire_access_tokens(): {} requests to the registry API, 401 answers {}, POST /oauth2/token {}, POST /oauth2/exchange {}",
        first.data_plane,
        first.all_401(),
        first.token_posts,
        first.exchanges
    );
    assert_eq!(
        first,
        Counts {
            data_plane: 2,
            data_plane_401: 1,
            token_posts: 1,
            ..Counts::default()
        }
    );
}

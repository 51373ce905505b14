//! An in-process emulator of the Azure Container Registry data plane (axum 0.8 on tokio, bound to
//! `127.0.0.1:0`), for what no open-source registry implements: `/acr/v1`, `/oauth2`, ACR's token
//! challenge and scopes, attribute locks, blob redirects and injected faults.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use acr_emulator::{Emulator, Fault};
//! let emulator = Emulator::builder()
//!     .admin("admin", "s3cret")
//!     .aad_token("fake-aad-token")
//!     .start()
//!     .await?;
//! let image = emulator.put_image("library/hello", "v1", "amd64", "linux")?;
//! emulator.inject(Fault::on("PATCH", "/v2/*/blobs/uploads/*").fail_with(503));
//! println!("{} serves {}", emulator.endpoint(), image.manifest_digest);
//! # Ok(()) }
//! ```
//!
//! # What it implements
//!
//! All 26 operations of the ACR data-plane REST API, version 2019-08-15-preview
//! (<https://learn.microsoft.com/rest/api/containerregistry/>), the docker-style `/v2/_catalog` and
//! `/v2/<name>/tags/list`, and `HEAD` on manifests. Everything is kept in memory.
//!
//! # Behaviour taken from ACR's public sources and the recordings
//!
//! Sources: the ACR REST reference above; Azure/acr's `docs/AAD-OAuth.md` and
//! `docs/Token-BasicAuth.md` (<https://github.com/Azure/acr/tree/main/docs>) for the token flows,
//! challenges and scopes; the Docker registry token spec
//! (<https://distribution.github.io/distribution/spec/auth/token/>); and
//! the Azure SDK for Go's recordings of live ACR traffic
//! (`sdk/containers/azcontainerregistry/testdata/recordings` in
//! <https://github.com/Azure/azure-sdk-for-go>).
//!
//! * Challenge `Bearer realm="<origin>/oauth2/token",service="<host:port>",scope="<scope>"`, with
//!   `,error="insufficient_scope"` when a valid token lacks the scope and `,error="invalid_token"`
//!   when a token is forged, expired or revoked (the recordings show that value); 401 body
//!   `UNAUTHORIZED` with one `{"Type","Name","Action"}` per action. `GET /v2/` challenges with
//!   realm and service only. Scopes per operation as ACR's challenges name them (uploads and
//!   manifest PUT need `pull,push`; deletes `delete`; `/acr/v1` reads `metadata_read`, PATCHes
//!   `metadata_write`;
//!   catalogs `registry:catalog:*`).
//! * Tokens: `POST /oauth2/exchange` takes `grant_type=access_token` with one of the configured
//!   fake AAD tokens (an unknown one gets 401 "retrieving permissions failed", as recorded) and
//!   returns a refresh token. `POST /oauth2/token` takes `grant_type=refresh_token`, or
//!   `grant_type=password` with an empty `refresh_token` (anonymous) or `username`/`password`
//!   (admin), and repeated `scope` fields; the access token's `access` claim holds the requested
//!   scopes cut down to what the principal may have (an empty grant is no error; the data-plane
//!   call then fails with `insufficient_scope`). `GET /oauth2/token?service=&scope=` takes Basic.
//!   A `service` other than `host:port` is refused with 401. Both kinds are HS256 JWTs with ACR's
//!   claims; `exp` = now + the configured lifetime (defaults: access 75 min, refresh 3 h).
//! * Admin user: Basic `user:password` is accepted directly on every data-plane call, and on
//!   `GET /oauth2/token`; so is the token user `00000000-0000-0000-0000-000000000000` with a
//!   refresh token as password.
//! * Upload sessions: relative `Location` `/v2/<name>/blobs/uploads/<uuid>?_nouploadcache=false&
//!   _state=<token>` that changes after each PATCH; `Range: 0-<last>` (`0-0` when empty);
//!   `Docker-Upload-UUID`; PUT `?digest=` verifies sha256 (400 `DIGEST_INVALID` with the recorded
//!   message and detail); 201 with `Location: /v2/<name>/blobs/<digest>`.
//! * Manifests are stored verbatim with their media type; digest = sha256 of the bytes; GET answers
//!   `Content-Type` = stored type, `Docker-Content-Digest`, `ETag: "<digest>"`; DELETE by tag → 405
//!   `UNSUPPORTED` "A manifest can only be deleted by digest.".
//! * 404s: unknown repository `NAME_UNKNOWN` `repository "<name>" is not found` (DELETE
//!   `/acr/v1/{name}`: "repository name not known to registry" with detail `{"name"}`, recorded);
//!   unknown tag on `/v2` `MANIFEST_UNKNOWN` with detail `{"Tag"}`; unknown tag on `/acr/v1`
//!   `TAG_UNKNOWN`; a path no route matches (including a name, tag or digest that breaks the OCI
//!   grammar, e.g. upper case) → `text/plain` `404 page not found` before any challenge.
//! * Attributes: times are RFC 3339 with 7 fractional digits from a clock that strictly increases;
//!   `_manifests` entries carry `mediaType`, `configMediaType`, `architecture`/`os` (read from the
//!   config blob when it is present and is an image config), `tags`, `imageSize` and, for indexes,
//!   `references`. Repository attributes also carry `teleportEnabled: false` (as the live service).
//! * Paging: `Link: </acr/v1/...?last=<urlenc>&n=<n>&orderby=<v>>;
//!   rel="next"` only when more items exist; default order is by name (tags, repositories) or by
//!   digest (manifests, as the recordings show). A page is a range read from `last` over the
//!   ordered maps (or over a `(lastUpdateTime, key)` index for `orderby=timeasc|timedesc`), so
//!   walking a listing of 100,000 tags page by page costs time linear in its length.
//!
//! # Assumptions where those sources are silent (OCI / distribution 2.8 behaviour, or a choice)
//!
//! * **Lock refusals** answer **405** with code `REGISTRY_DISALLOWED_OPERATION` and ACR's message
//!   "The operation is disallowed on this registry, repository or image. ..." The message is what
//!   docker prints for ACR; the code comes from one third-party transcript, the status is a guess.
//! * **Lock rules**: an item may be deleted only if both `deleteEnabled` and `writeEnabled` are true
//!   on the repository and on the item; deleting a manifest also needs every tag pointing at it to
//!   be deletable; deleting a repository needs everything in it deletable. `writeEnabled=false` on a
//!   repository refuses every manifest PUT; on a tag it refuses moving the tag to another digest
//!   (re-pushing the same digest is accepted). `readEnabled=false` on the repository, on the tag
//!   used or on the manifest refuses the manifest GET; on the repository it also refuses blob GETs.
//!   `listEnabled=false` hides a repository from the catalogs, a tag from `_tags` and
//!   `/v2/.../tags/list`, a manifest from `_manifests`. Metadata reads and PATCHes ignore locks.
//! * **Manifest PUT checks** (distribution's): JSON object; a `mediaType` field must equal the
//!   `Content-Type`; Docker types require it; image manifests need `config` and `layers`, indexes
//!   `manifests`; every config/layer blob (except foreign layers with `urls`) must be in the
//!   repository and every index child must be a manifest there, else 400 `MANIFEST_BLOB_UNKNOWN`
//!   with detail `{"digest"}`. Limit 4 MiB. The `Accept` header is not used to convert manifests.
//! * **imageSize** = sum of the layer sizes for images (the recorded hello-world value matches its
//!   layer), sum of the child sizes for indexes, body length otherwise.
//! * **Upload `_state`, the session rule** (CNCF distribution's `blobUploadDispatcher`, observed
//!   on docker-registry 2.8): on every request to an upload URL, a missing or invalid `_state`
//!   is refused with 404 `BLOB_UPLOAD_INVALID`; a valid one whose offset differs from the bytes
//!   held is refused the same way **and cancels the session** (later requests: 404
//!   `BLOB_UPLOAD_UNKNOWN`). A PATCH whose body breaks off keeps the bytes read, as distribution
//!   does, so after a cut the client's last Location is stale and the session ends at its next
//!   request. [`EmulatorBuilder::strict_upload_state`] turns the rule off. `GET` on a
//!   session also returns its current `Location` (distribution does). A PATCH `Content-Range`
//!   (`start-end`, a `bytes ` prefix tolerated) whose start is not the current size, or whose
//!   length differs from the body, gets 416 with the current `Range` and `Location` (OCI); the
//!   session stays usable. A failed PUT (digest mismatch) ends the session (distribution cancels
//!   it). POST with `?digest=` (monolithic upload) is accepted too.
//! * **Mount** needs `pull` on the source in the same credential; when it is missing, or the source
//!   lacks the blob, a normal session is started (202), as OCI says.
//! * **Repositories** exist (in listings and `/acr/v1`) while they hold a manifest; deleting the
//!   last manifest forgets the repository with its attributes and blob links.
//! * **Anonymous pull** grants `pull` and `metadata_read` on every repository and the catalog.
//!   With it off, `grant_type=password` without credentials gets 401.
//! * **Redirects**: with [`EmulatorBuilder::redirect_blobs`], blob GETs (not HEADs) answer 307 to
//!   a second loopback server, with a signed, expiring URL; that server supports `Range` (206) and logs with [`Server::Storage`].
//!   That server refuses requests carrying `Authorization`.
//! * Every registry response carries `Docker-Distribution-Api-Version: registry/2.0`,
//!   `Access-Control-Expose-Headers` and `X-Ms-Correlation-Request-Id`; JSON bodies are compact
//!   with a trailing newline; token responses are chunked.

mod auth;
mod body;
mod context;
mod errors;
mod faults;
mod handlers;
mod ids;
mod jwt;
mod log;
mod manifest;
mod model;
mod names;
mod paging;
mod route;
mod scope;
mod server;
mod store;
mod time;
mod tokens;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use auth::TOKEN_USER;
pub use errors::{AcrError, DISALLOWED_MESSAGE};
pub use faults::{Fault, FaultAction};
pub use jwt::decode_claims;
pub use log::{DROPPED, LOGGED_HEADERS, LoggedRequest, SECRET_LOGGED_AS, Server};
pub use manifest::{
    DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
pub use model::{Attributes, AttributesUpdate};
pub use names::sha256_digest;
pub use paging::DEFAULT_PAGE_SIZE;
pub use scope::{Grants, Scope};
pub use store::Reference;
pub use time::format_acr;

use context::{Settings, Shared, lock};
use server::ServerHandle;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// Binding a loopback port failed.
    #[error("binding 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for (0 = any).
        port: u16,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Configures and starts an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    anonymous_pull: bool,
    admin: Option<(String, String)>,
    aad_tokens: Vec<(String, Grants)>,
    redirect_blobs: bool,
    access_lifetime: Duration,
    refresh_lifetime: Duration,
    strict_upload_state: bool,
    port: u16,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            anonymous_pull: false,
            admin: None,
            aad_tokens: Vec::new(),
            redirect_blobs: false,
            access_lifetime: Duration::from_secs(75 * 60),
            refresh_lifetime: Duration::from_secs(3 * 60 * 60),
            strict_upload_state: true,
            port: 0,
        }
    }
}

impl EmulatorBuilder {
    /// Whether `grant_type=password` with an empty refresh token gets a pull token (default off).
    pub fn anonymous_pull(mut self, on: bool) -> Self {
        self.anonymous_pull = on;
        self
    }

    /// Enables the admin user (Basic auth on every call and on `GET /oauth2/token`).
    pub fn admin(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.admin = Some((user.into(), password.into()));
        self
    }

    /// A fake AAD access token that `POST /oauth2/exchange` accepts, for an identity with every
    /// permission. May be called several times.
    pub fn aad_token(self, token: impl Into<String>) -> Self {
        self.aad_token_with_grants(token, Grants::All)
    }

    /// A fake AAD access token for an identity limited to `grants`.
    pub fn aad_token_with_grants(mut self, token: impl Into<String>, grants: Grants) -> Self {
        self.aad_tokens.push((token.into(), grants));
        self
    }

    /// Whether blob GETs answer 307 to the storage server (default off).
    pub fn redirect_blobs(mut self, on: bool) -> Self {
        self.redirect_blobs = on;
        self
    }

    /// The lifetime of access tokens (`exp - iat`; default 75 minutes).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = lifetime;
        self
    }

    /// The lifetime of refresh tokens (default 3 hours).
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.refresh_lifetime = lifetime;
        self
    }

    /// Whether the upload session rule is enforced (default on, as distribution 2.8 does): a
    /// request without a valid `_state` is refused, and one whose `_state` offset differs from
    /// the bytes held is refused and cancels the session (see the module docs). Off, offsets
    /// are not compared and a missing `_state` is accepted.
    pub fn strict_upload_state(mut self, on: bool) -> Self {
        self.strict_upload_state = on;
        self
    }

    /// The registry port (default 0 = any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds both servers on loopback and starts serving.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let bind = |port: u16| async move {
            TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|source| EmulatorError::Bind { port, source })
        };
        let registry_listener = bind(self.port).await?;
        let storage_listener = bind(0).await?;
        let registry_addr =
            registry_listener
                .local_addr()
                .map_err(|source| EmulatorError::Bind {
                    port: self.port,
                    source,
                })?;
        let storage_addr = storage_listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { port: 0, source })?;
        let settings = Settings {
            admin: self.admin,
            aad_tokens: self.aad_tokens,
            access_lifetime: self.access_lifetime,
            refresh_lifetime: self.refresh_lifetime,
            strict_upload_state: self.strict_upload_state,
        };
        let shared = Arc::new(Shared::new(settings, registry_addr.to_string()));
        shared
            .anonymous_pull
            .store(self.anonymous_pull, Ordering::SeqCst);
        shared
            .redirect_blobs
            .store(self.redirect_blobs, Ordering::SeqCst);
        let _ = shared.storage_origin.set(format!("http://{storage_addr}"));
        let shutdown = CancellationToken::new();
        let registry_router = Router::new()
            .fallback(handlers::registry)
            .with_state(Arc::clone(&shared));
        let storage_router = Router::new()
            .fallback(handlers::storage::storage)
            .with_state(Arc::clone(&shared));
        let registry = server::spawn(registry_listener, registry_router, shutdown.clone());
        let storage = server::spawn(storage_listener, storage_router, shutdown.clone());
        tracing::debug!(endpoint = %shared.origin(), "ACR emulator started");
        Ok(Emulator {
            shared,
            shutdown,
            registry,
            storage,
        })
    }
}

/// What [`Emulator::put_image`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededImage {
    /// The OCI image manifest's digest.
    pub manifest_digest: String,
    /// The manifest bytes.
    pub manifest: Bytes,
    /// The config blob's digest.
    pub config_digest: String,
    /// The single layer's digest.
    pub layer_digest: String,
    /// The layer's bytes.
    pub layer: Bytes,
}

/// A running emulator; stopped by [`Emulator::shutdown`] or on drop.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    registry: ServerHandle,
    storage: ServerHandle,
}

impl Emulator {
    /// A builder with the defaults: no anonymous pull, no admin user, no AAD token, no redirects.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn endpoint(&self) -> String {
        self.shared.origin()
    }

    /// `127.0.0.1:PORT`: the token `service` and the `registry` field of bodies.
    pub fn host(&self) -> String {
        self.shared.host.clone()
    }

    /// `http://127.0.0.1:PORT` of the blob storage server.
    pub fn storage_endpoint(&self) -> String {
        format!("http://{}", self.storage.addr)
    }

    /// The admin user's credentials, if enabled.
    pub fn admin(&self) -> Option<(String, String)> {
        self.shared.settings.admin.clone()
    }

    /// Stops both servers and waits for their accept loops to end.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        let _ = (&mut self.registry.task).await;
        let _ = (&mut self.storage.task).await;
    }

    // ---- settings that may change while running ----

    /// Turns anonymous pull on or off.
    pub fn set_anonymous_pull(&self, on: bool) {
        self.shared.anonymous_pull.store(on, Ordering::SeqCst);
    }

    /// Turns blob redirects on or off.
    pub fn set_redirect_blobs(&self, on: bool) {
        self.shared.redirect_blobs.store(on, Ordering::SeqCst);
    }

    // ---- tokens ----

    /// Mints a refresh token for `subject` that `POST /oauth2/token` exchanges for what `grants`
    /// allows (also usable as Basic password with [`TOKEN_USER`]).
    pub fn refresh_token_for(&self, subject: &str, grants: Grants) -> String {
        self.shared
            .tokens
            .mint_refresh(&self.shared.ids, subject, &grants)
    }

    /// Mints an access token carrying exactly `scopes`.
    pub fn access_token_for(&self, scopes: &[Scope]) -> String {
        self.shared
            .tokens
            .mint_access(&self.shared.ids, "test", scopes)
    }

    /// Revokes every access and refresh token minted so far (they are refused as expired).
    pub fn expire_tokens(&self) {
        self.shared.tokens.expire_all();
    }

    /// Revokes every access token minted so far; refresh tokens stay valid.
    pub fn expire_access_tokens(&self) {
        self.shared.tokens.expire_access();
    }

    // ---- faults and the log ----

    /// Adds a fault (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Every request both servers saw, in the order they finished.
    pub fn log(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the log.
    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }

    // ---- seeding (no authentication, no manifest checks) ----

    /// Stores a blob in `repository`; returns its digest.
    pub fn put_blob(
        &self,
        repository: &str,
        content: impl Into<Bytes>,
    ) -> Result<String, AcrError> {
        check_name(repository)?;
        Ok(self.shared.store().store_blob(repository, content.into()))
    }

    /// Stores a manifest under `reference` (a tag or its digest) with `media_type`; returns its
    /// digest. Referenced blobs need not exist (architecture/os are read only if the config is).
    pub fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        manifest: impl Into<Bytes>,
    ) -> Result<String, AcrError> {
        check_name(repository)?;
        let reference = parse_reference(reference)?;
        self.shared
            .store()
            .put_manifest(repository, &reference, media_type, manifest.into(), false)
    }

    /// Stores a small OCI image (config with `architecture`/`os`, one layer, manifest) tagged
    /// `tag`.
    pub fn put_image(
        &self,
        repository: &str,
        tag: &str,
        architecture: &str,
        os: &str,
    ) -> Result<SeededImage, AcrError> {
        let config = serde_json::json!({
            "architecture": architecture,
            "os": os,
            "rootfs": {"type": "layers", "diff_ids": []},
        })
        .to_string();
        let layer = Bytes::from(format!(
            "layer of {repository}:{tag} for {os}/{architecture}"
        ));
        let config_digest = self.put_blob(repository, config.clone())?;
        let layer_digest = self.put_blob(repository, layer.clone())?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer_digest,
                "size": layer.len(),
            }],
        })
        .to_string();
        let manifest = Bytes::from(manifest);
        let manifest_digest = self.put_manifest(repository, tag, OCI_MANIFEST, manifest.clone())?;
        Ok(SeededImage {
            manifest_digest,
            manifest,
            config_digest,
            layer_digest,
            layer,
        })
    }

    /// Changes a repository's attributes.
    pub fn set_repository_attributes(
        &self,
        repository: &str,
        update: AttributesUpdate,
    ) -> Result<(), AcrError> {
        let mut store = self.shared.store();
        update.apply(&mut store.known_repo_mut(repository)?.attributes);
        Ok(())
    }

    /// Changes a tag's attributes.
    pub fn set_tag_attributes(
        &self,
        repository: &str,
        tag: &str,
        update: AttributesUpdate,
    ) -> Result<(), AcrError> {
        let mut store = self.shared.store();
        let record = store
            .known_repo_mut(repository)?
            .tags
            .get_mut(tag)
            .ok_or_else(AcrError::tag_unknown)?;
        update.apply(&mut record.attributes);
        Ok(())
    }

    /// Changes a manifest's attributes.
    pub fn set_manifest_attributes(
        &self,
        repository: &str,
        digest: &str,
        update: AttributesUpdate,
    ) -> Result<(), AcrError> {
        let mut store = self.shared.store();
        let record = store
            .known_repo_mut(repository)?
            .manifests
            .get_mut(digest)
            .ok_or_else(AcrError::manifest_unknown)?;
        update.apply(&mut record.attributes);
        Ok(())
    }

    // ---- inspection ----

    /// The known repositories (those holding a manifest), sorted.
    pub fn repositories(&self) -> Vec<String> {
        let store = self.shared.store();
        store
            .repos
            .iter()
            .filter(|(_, r)| r.is_known())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// A blob linked into `repository`.
    pub fn blob(&self, repository: &str, digest: &str) -> Option<Bytes> {
        let store = self.shared.store();
        store
            .has_blob(repository, digest)
            .then(|| store.blob_content(digest))
            .flatten()
    }

    /// A manifest's `(media type, bytes)` by tag or digest.
    pub fn manifest(&self, repository: &str, reference: &str) -> Option<(String, Bytes)> {
        let reference = parse_reference(reference).ok()?;
        let store = self.shared.store();
        let digest = store.resolve(repository, &reference).ok()?;
        let record = store.known_repo(repository).ok()?.manifests.get(&digest)?;
        Some((record.media_type.clone(), record.bytes.clone()))
    }

    /// The tags of `repository`, sorted.
    pub fn tags(&self, repository: &str) -> Vec<String> {
        let store = self.shared.store();
        store
            .known_repo(repository)
            .map(|r| r.tags.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The attributes of a tag.
    pub fn tag_attributes(&self, repository: &str, tag: &str) -> Option<Attributes> {
        let store = self.shared.store();
        Some(store.known_repo(repository).ok()?.tags.get(tag)?.attributes)
    }

    /// How many upload sessions are open.
    pub fn upload_sessions(&self) -> usize {
        self.shared.store().uploads.len()
    }

    /// How many bytes an open upload session holds.
    pub fn upload_size(&self, uuid: &str) -> Option<usize> {
        self.shared.store().uploads.get(uuid).map(|u| u.data.len())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn check_name(repository: &str) -> Result<(), AcrError> {
    if names::is_repository_name(repository) {
        Ok(())
    } else {
        Err(AcrError::bad_request(
            "NAME_INVALID",
            format!("invalid repository name {repository:?}"),
        ))
    }
}

fn parse_reference(reference: &str) -> Result<Reference, AcrError> {
    if names::is_sha256_digest(reference) {
        Ok(Reference::Digest(reference.to_owned()))
    } else if names::is_tag(reference) {
        Ok(Reference::Tag(reference.to_owned()))
    } else {
        Err(AcrError::bad_request(
            "TAG_INVALID",
            format!("invalid reference {reference:?}"),
        ))
    }
}

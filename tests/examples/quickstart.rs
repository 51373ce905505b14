//! The README's quickstart, compiled: list a repository's tags, push a blob and read it back.
//!
//! ```sh
//! cargo run -p acr-tests --bin acr-emulator -- --port 5050 --seed   # in another terminal
//! cargo run -p acr-tests --example quickstart -- http://127.0.0.1:5050 USER PASSWORD
//! ```

use acr::{Client, Credential, RepositoryName};
use acr_runtime::blob::{UploadOptions, UploadSource};
use futures_util::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .unwrap_or_else(|| "https://myregistry.azurecr.io".to_owned());
    let (user, password) = (
        args.next().unwrap_or_default(),
        args.next().unwrap_or_default(),
    );

    // One client per registry; cheap to clone. Tokens are fetched and cached per scope.
    let client = Client::builder(&endpoint)
        .credential(Credential::basic(user, password))
        .acr(true)
        .build()?;
    let repo = RepositoryName::new("samples/hello")?;

    // Push a blob: chunked, resumable, digest checked against the registry's.
    let pushed = client
        .transport()
        .upload_blob(
            &repo,
            UploadSource::Bytes(bytes::Bytes::from_static(b"hello, registry")),
            UploadOptions::default(),
        )
        .await?;
    let digest = pushed.digest;
    println!(
        "pushed {digest} ({} bytes; {} bytes sent)",
        pushed.size, pushed.bytes_sent
    );

    // Required parameters are arguments; the builder is awaited.
    let blob = client.get_blob(repo.clone(), digest.clone()).await?;
    assert_eq!(&blob.body[..], b"hello, registry");

    // Paged operations give a stream of items that follows the `Link` header.
    let repos: Vec<String> = client
        .get_repositories()
        .n(100)
        .into_stream()
        .try_collect()
        .await?;
    println!("repositories: {repos:?}");
    Ok(())
}

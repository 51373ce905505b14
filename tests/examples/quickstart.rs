//! The README's quickstart, compiled: list a repository's tags, push a blob and read it back.
//!
//! ```sh
//! cargo run -p acr-emulator -- --port 5050 --seed   # in another terminal
//! cargo run -p acr-tests --example quickstart -- http://127.0.0.1:5050 USER PASSWORD
//! ```
//!
//! It depends on `acr` alone (and `tokio` to run): names, errors, the blob helpers, `bytes`
//! and the stream traits all come from `acr`.

use acr::blob::UploadSource;
use acr::stream::TryStreamExt as _;
use acr::{Client, Credential, RepositoryName};

#[tokio::main]
async fn main() -> acr::Result<()> {
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
    // A bad name is an error before any request; `?` turns it into an `acr::Error`.
    let repo = RepositoryName::new("samples/hello")?;

    // Push a blob: chunked, resumable, digest checked against the registry's.
    let hello = acr::bytes::Bytes::from_static(b"hello, registry");
    let pushed = client.push_blob(&repo, UploadSource::Bytes(hello)).await?;
    let digest = pushed.digest;
    println!(
        "pushed {digest} ({} bytes; {} bytes sent)",
        pushed.size, pushed.bytes_sent
    );

    // Required parameters are arguments (owned, borrowed or text); the builder is awaited.
    let blob = client.get_blob(&repo, &digest).await?;
    assert_eq!(&blob.body.bytes(1024).await?[..], b"hello, registry");

    // Paged operations give a stream of items that follows the `Link` header (awaiting the
    // builder instead returns one page); `into_pages()` gives whole pages to resume from.
    let repos: Vec<String> = client
        .get_repositories()
        .n(100)
        .into_stream()
        .try_collect()
        .await?;
    println!("repositories: {repos:?}");
    Ok(())
}

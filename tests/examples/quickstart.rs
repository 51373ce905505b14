//! The README's quickstart, compiled (a test keeps the README's copy equal to this file after
//! these header lines): push an image and pull it back.
//!
//! ```sh
//! cargo run -p acr-emulator -- --port 5050 --seed   # in another terminal
//! cargo run -p acr-tests --example quickstart -- http://127.0.0.1:5050 admin PASSWORD
//! ```

use acr::image::Image;
use acr::{Client, Credential};

#[tokio::main]
async fn main() -> acr::Result<()> {
    // ENDPOINT USER PASSWORD; one client per registry, cheap to clone, tokens cached per scope.
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .unwrap_or("https://myregistry.azurecr.io".into());
    let (user, password) = (
        args.next().unwrap_or_default(),
        args.next().unwrap_or_default(),
    );
    let client = Client::builder(endpoint)
        .credential(Credential::basic(user, password))
        .build()?;

    // An image in memory: a config and two layers; the OCI manifest is built from them.
    let image = Image::new(r#"{"architecture":"amd64","os":"linux"}"#)
        .layer("hello, registry")
        .layer("a second layer");
    // Blobs the registry lacks go up in chunks, resumable and verified; then the manifest.
    let pushed = client.push_image("samples/hello", "v1", &image).await?;
    println!(
        "pushed {} ({} blobs sent)",
        pushed.descriptor.digest, pushed.blobs_transferred
    );

    // Pulled into an OCI image layout folder (what `skopeo copy ... oci:DIR:TAG` writes),
    // every blob and the manifest checked against their digests.
    let pulled = client
        .pull_image("samples/hello", "v1")
        .to_layout("hello-layout")
        .await?;
    assert_eq!(pulled.descriptor.digest, image.digest());
    println!(
        "pulled {} blobs into hello-layout",
        pulled.blobs_transferred
    );
    Ok(())
}

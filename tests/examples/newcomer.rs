//! The newcomer's task: push an image of three layers, tag it, pull it verified to disk, list
//! the tags, delete it by digest. `cargo run -p acr-tests --example newcomer -- URL DIR`
use acr::stream::TryStreamExt as _;
use acr::{Client, image::Image};

#[tokio::main]
async fn main() -> acr::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or("http://127.0.0.1:5000".into());
    run(&endpoint, &args.next().unwrap_or("newcomer-image".into())).await
}

/// Runs the task against the registry at `endpoint`, pulling into the folder `dir`.
pub async fn run(endpoint: &str, dir: &str) -> acr::Result<()> {
    let client = Client::builder(endpoint).build()?; // anonymous; .credential(..) for others
    let repo = "newcomer/hello";
    let image = Image::new(r#"{"architecture":"amd64","os":"linux"}"#)
        .layer("the first layer")
        .layer("the second layer")
        .layer("the third layer");
    let pushed = client.push_image(repo, "v1", &image).await?;
    client.copy_image(repo, "v1", repo, "stable").await?; // a second tag
    let pulled = client.pull_image(repo, "stable").to_layout(dir).await?;
    println!("pulled {} blobs into {dir}", pulled.blobs_transferred);
    let tags: Vec<String> = client.list_tags(repo).into_stream().try_collect().await?;
    println!("tags: {tags:?}");
    let digest = pushed.descriptor.digest;
    client.delete_manifest(repo, &digest).await?;
    println!("deleted {digest}");
    Ok(())
}

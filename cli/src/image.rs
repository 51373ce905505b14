//! `acr image push|pull|copy`: whole images between a repository and an OCI image layout
//! folder (the format `skopeo copy ... oci:DIR:TAG` reads and writes), or between two
//! repositories, on one registry or two.
//!
//! The blobs go through [`crate::transfer`] (progress bar, Ctrl-C), then the library's
//! `Client::push_image` / `Client::pull_image` moves the manifests in the order the OCI
//! distribution spec asks for (blobs it finds already transferred are skipped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use acr::blob::{ExpectedSize, UploadMethod};
use acr::image::OciLayout;
use acr::manifest::{Descriptor, ManifestKind};
use acr::{Client, Digest, Reference, RepositoryName};

use crate::transfer::UploadOptions;
use clap::Subcommand;
use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::blob::repo_name;
use crate::failure::Failure;
use crate::output::emit;
use crate::progress;
use crate::registry::Context;
use crate::transfer;

/// Commands on whole images.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Pushes an image (or multi-platform index) from an OCI image layout folder.
    ///
    /// Blobs the registry has are skipped; the others go a few at a time, resumable and
    /// verified; the manifest goes last. A layout written by `skopeo copy ... oci:DIR:TAG`
    /// works as it is.
    ///
    /// Example: `acr image push ./hello-layout hello:v1`
    Push {
        /// The OCI image layout folder.
        dir: PathBuf,
        /// Where to: `REPO:TAG`, `REPO@DIGEST`, or `REPO` (tag `latest`).
        target: String,
        /// The entry of the layout's index.json to push, by its tag (default: the target's
        /// tag when the layout has it, else the layout's only entry).
        #[arg(long, value_name = "TAG")]
        source_tag: Option<String>,
        /// How many blobs are uploaded at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallel: u16,
        /// Upload in chunks of this size (bytes, or with a KiB/MiB/GiB suffix).
        #[arg(long, value_parser = crate::blob::parse_size)]
        chunk_size: Option<usize>,
    },
    /// Pulls an image (or multi-platform index, all platforms) into an OCI image layout folder.
    ///
    /// A new folder is written beside its destination under a temporary name and renamed when
    /// everything is verified: a failed or interrupted pull leaves nothing. An existing layout
    /// is added to (blobs it has are skipped; its index.json changes last).
    ///
    /// Example: `acr image pull hello:v1 ./hello-layout`
    Pull {
        /// What: `REPO:TAG`, `REPO@DIGEST`, or `REPO` (tag `latest`).
        source: String,
        /// The OCI image layout folder (created, or added to).
        dir: PathBuf,
        /// The name the image gets in the layout's index.json (default: the source's tag).
        #[arg(long)]
        tag: Option<String>,
        /// How many blobs are downloaded at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallel: u16,
    },
    /// Copies an image (or a multi-platform index, all platforms or one) to another repository
    /// or registry.
    ///
    /// Each side is `REPO:TAG` (or `REPO@DIGEST`) on --registry, or a full reference
    /// `HOST[:PORT]/REPO:TAG` on another registry, which takes its credentials from the Docker
    /// config (`acr login`). Within one registry blobs are mounted, not sent; between two they
    /// stream through, a chunk at a time per blob. Blobs the destination has are skipped.
    ///
    /// Example: `acr image copy hello:v1 myother.azurecr.io/hello:v1 --platform linux/arm64`
    Copy {
        /// What: `REPO:TAG`, `REPO@DIGEST`, or `HOST/REPO:TAG`.
        source: String,
        /// Where to: `REPO:TAG`, or `HOST/REPO:TAG`.
        destination: String,
        /// Copy only this platform's image of an index: `OS/ARCH[/VARIANT]` (`linux/arm64/v8`).
        #[arg(long, value_name = "OS/ARCH")]
        platform: Option<String>,
        /// Also copy the referrers (signatures, SBOMs, ...) of what is copied.
        #[arg(long)]
        referrers: bool,
        /// How many blobs are copied at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallel: u16,
    },
}

/// One side of `image copy`: the registry's host when the reference names one (Docker's rule:
/// a first component with a `.` or a `:`, or `localhost`), and the image on it.
pub fn parse_side(text: &str) -> Result<(Option<String>, RepositoryName, Reference), Failure> {
    let (host, rest) = match text.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first.to_owned()), rest)
        }
        _ => (None, text),
    };
    let (repo, reference) = parse_image(rest)?;
    Ok((host, repo, reference))
}

/// `OS/ARCH[/VARIANT]` as a platform.
fn parse_platform(text: &str) -> Result<acr::manifest::Platform, Failure> {
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        [os, arch] if !os.is_empty() && !arch.is_empty() => {
            Ok(acr::manifest::Platform::new(*os, *arch))
        }
        [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
            Ok(acr::manifest::Platform::new(*os, *arch).with_variant(*variant))
        }
        _ => Err(Failure::usage(format!(
            "--platform {text:?}: expected OS/ARCH or OS/ARCH/VARIANT (linux/arm64/v8)"
        ))),
    }
}

/// `REPO:TAG`, `REPO@DIGEST` or `REPO` (tag `latest`) split into its parts.
pub fn parse_image(text: &str) -> Result<(RepositoryName, Reference), Failure> {
    let (repo, reference) = match text.split_once('@') {
        Some((repo, digest)) => (repo, digest),
        None => match text.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, tag),
            _ => (text, "latest"),
        },
    };
    let name = repo_name(repo)?;
    let reference = Reference::new(reference)
        .map_err(|e| Failure::usage(format!("bad reference in {text:?}: {e}")))?;
    Ok((name, reference))
}

/// Runs an image command.
pub async fn run(ctx: &Context, command: ImageCommand) -> Result<(), Failure> {
    match command {
        ImageCommand::Push {
            dir,
            target,
            source_tag,
            parallel,
            chunk_size,
        } => {
            let options = PushOptions {
                source_tag,
                parallel: usize::from(parallel),
                chunk_size,
            };
            push(ctx, &dir, &target, options).await
        }
        ImageCommand::Pull {
            source,
            dir,
            tag,
            parallel,
        } => pull(ctx, &source, &dir, tag, usize::from(parallel)).await,
        ImageCommand::Copy {
            source,
            destination,
            platform,
            referrers,
            parallel,
        } => {
            let platform = platform.as_deref().map(parse_platform).transpose()?;
            copy(
                ctx,
                &source,
                &destination,
                platform,
                referrers,
                usize::from(parallel),
            )
            .await
        }
    }
}

/// The client of the registry `host` names (`None`: --registry's): --registry's own when it is
/// the same host; else one with the Docker config's credential for it (https, or plain http
/// for a loopback host).
fn client_of(ctx: &Context, host: Option<&str>) -> Result<(acr::Client, String), Failure> {
    let Some(host) = host else {
        return Ok((ctx.client.clone(), ctx.registry.clone()));
    };
    let bare = |url: &str| {
        url.split_once("://")
            .map_or(url, |(_, rest)| rest)
            .trim_end_matches('/')
            .to_ascii_lowercase()
    };
    if bare(&ctx.registry) == host.to_ascii_lowercase() {
        return Ok((ctx.client.clone(), ctx.registry.clone()));
    }
    let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = hostname == "localhost"
        || hostname
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let url = if loopback {
        format!("http://{host}")
    } else {
        format!("https://{host}")
    };
    let url = crate::registry::registry_url(&url, ctx.insecure)?;
    let client = crate::registry::client_for(
        &url,
        crate::registry::from_docker_config(&url)?,
        ctx.insecure,
    )?;
    Ok((client, url))
}

/// `image copy`.
async fn copy(
    ctx: &Context,
    source: &str,
    destination: &str,
    platform: Option<acr::manifest::Platform>,
    referrers: bool,
    parallel: usize,
) -> Result<(), Failure> {
    let (src_host, src_repo, src_ref) = parse_side(source)?;
    let (dst_host, dst_repo, dst_ref) = parse_side(destination)?;
    let (src_client, src_url) = client_of(ctx, src_host.as_deref())?;
    let (dst_client, dst_url) = client_of(ctx, dst_host.as_deref())?;
    let what = format!("image copy {source} to {destination}");
    // One bar for the whole copy: the library's overall progress (its total grows as blobs
    // start; mounted and present blobs count at once).
    let bar = progress::bytes(ctx.progress, &format!("copy {source}"), 0);
    let observer = {
        let bar = bar.clone();
        acr::progress::OnProgress::new(move |p: acr::progress::Progress| {
            bar.set_length(p.total.unwrap_or(p.bytes));
            bar.set_position(p.bytes);
        })
    };
    let mut request = src_client
        .copy_image(&src_repo, &src_ref, &dst_repo, &dst_ref)
        .with_referrers(referrers)
        .blobs_in_parallel(parallel)
        .overall_progress(observer);
    if src_url != dst_url {
        request = request.to(&dst_client);
    }
    if let Some(p) = platform {
        request = request.platform(p);
    }
    // Ctrl-C drops the copy (see main's `interruptible`); the destination's open upload
    // sessions expire on the registry's side.
    let copied = request.await;
    bar.finish_and_clear();
    let copied = copied.map_err(|e| Failure::from_error(&what, &e))?;
    let json = serde_json::json!({
        "source": {"registry": src_url, "repository": src_repo.as_str(), "reference": src_ref.as_str()},
        "destination": {"registry": dst_url, "repository": dst_repo.as_str(), "reference": dst_ref.as_str()},
        "digest": copied.descriptor.digest.as_str(),
        "mediaType": copied.descriptor.media_type,
        "size": copied.descriptor.size,
        "manifests": copied.manifests,
        "blobsTransferred": copied.blobs_transferred,
        "blobsMounted": copied.blobs_mounted,
        "blobsSkipped": copied.blobs_skipped,
        "blobBytes": copied.blob_bytes,
        "referrers": copied.referrers,
    });
    emit(ctx.format, json, || {
        format!(
            "copied {source} to {}@{} ({} manifests, {} blobs sent, {} mounted, {} skipped, {} bytes{})",
            dst_repo.as_str(),
            copied.descriptor.digest.as_str(),
            copied.manifests,
            copied.blobs_transferred,
            copied.blobs_mounted,
            copied.blobs_skipped,
            copied.blob_bytes,
            if referrers {
                format!(", {} referrers", copied.referrers)
            } else {
                String::new()
            }
        )
    });
    Ok(())
}

/// The manifests and blobs under one manifest.
#[derive(Default)]
struct Tree {
    /// Blobs by digest, each once, with their size.
    blobs: BTreeMap<Digest, u64>,
    manifests: usize,
}

impl Tree {
    /// Adds the blobs of `bytes` (a manifest of `media_type`); returns the child manifests of
    /// an index.
    fn add(
        &mut self,
        media_type: &str,
        bytes: &[u8],
        what: &str,
    ) -> Result<Vec<Descriptor>, Failure> {
        self.manifests += 1;
        let kind = ManifestKind::parse(media_type, bytes)
            .map_err(|e| Failure::failed(format!("{what}: not a valid manifest: {e}")))?;
        match kind {
            ManifestKind::Image(image) => {
                for blob in std::iter::once(&image.config).chain(image.layers.iter()) {
                    self.blobs.insert(blob.digest.clone(), blob.size);
                }
                Ok(Vec::new())
            }
            ManifestKind::Index(index) => Ok(index.manifests.clone()),
            _ => Err(Failure::failed(format!(
                "{what}: a manifest of type {media_type:?} is not an image manifest or index"
            ))),
        }
    }

    fn total(&self) -> u64 {
        self.blobs.values().sum()
    }

    /// The blobs, largest first: started `--parallel` at a time in this order, the big blobs
    /// do not start last and run alone at the end (in digest order they may).
    fn largest_first(&self) -> impl Iterator<Item = (&Digest, &u64)> {
        let mut blobs: Vec<(&Digest, &u64)> = self.blobs.iter().collect();
        blobs.sort_by(|a, b| b.1.cmp(a.1));
        blobs.into_iter()
    }
}

/// The entry of `layout` to push: by `source_tag`, by the target's digest, by the target's tag,
/// else the only entry.
fn layout_entry(
    layout: &OciLayout,
    reference: &Reference,
    source_tag: Option<&str>,
) -> Result<(Descriptor, Option<String>), Failure> {
    let dir = layout.path().display();
    let index = layout
        .index()
        .map_err(|e| Failure::from_error(format!("image push: {dir}"), &e))?;
    let found = layout
        .entry(reference, source_tag)
        .map_err(|e| Failure::from_error(format!("image push: {dir}"), &e))?
        .map(|d| {
            // the tag it was found by, if any (not the only entry's own name)
            let tag = d
                .annotations
                .get(acr::image::layout::REF_NAME)
                .filter(|t| Some(t.as_str()) == source_tag || t.as_str() == reference.as_str())
                .cloned();
            (d, tag)
        });
    found.ok_or_else(|| {
        let tags: Vec<&str> = index
            .manifests
            .iter()
            .filter_map(|d| {
                d.annotations
                    .get(acr::image::layout::REF_NAME)
                    .map(String::as_str)
            })
            .collect();
        Failure::usage(format!(
            "image push: {dir} has no entry for {:?} (its tags: {}); pass --source-tag",
            source_tag.unwrap_or(reference.as_str()),
            if tags.is_empty() {
                "none".to_owned()
            } else {
                tags.join(", ")
            }
        ))
    })
}

/// The options of `image push`.
struct PushOptions {
    source_tag: Option<String>,
    parallel: usize,
    chunk_size: Option<usize>,
}

async fn push(ctx: &Context, dir: &Path, target: &str, o: PushOptions) -> Result<(), Failure> {
    let PushOptions {
        source_tag,
        parallel,
        chunk_size,
    } = o;
    let (repo, reference) = parse_image(target)?;
    let what = format!("image push {} to {target}", dir.display());
    let layout = OciLayout::open(dir)
        .map_err(|e| Failure::usage(format!("{what}: not an OCI image layout folder: {e}")))?;
    let (top, tag) = layout_entry(&layout, &reference, source_tag.as_deref())?;
    // Every blob under the entry, from the layout's own manifests.
    let mut tree = Tree::default();
    let mut queue = vec![top.clone()];
    while let Some(d) = queue.pop() {
        let bytes = layout
            .read_blob(&d.digest)
            .map_err(|e| Failure::from_error(&what, &e))?;
        let children = tree.add(
            &d.media_type,
            &bytes,
            &format!("{what}: manifest {}", d.digest),
        )?;
        queue.extend(children);
    }
    // A foreign layer (Docker `urls`) the layout does not hold is not pushed.
    tree.blobs.retain(|d, _| layout.has_blob(d));
    let bar = progress::bytes(ctx.progress, target, tree.total());
    let transport = &ctx.client;
    let uploads = futures_util::stream::iter(tree.largest_first().map(|(digest, size)| {
        let mut options = UploadOptions::default().digest(digest.clone()).size(*size);
        options.chunk_size = chunk_size;
        let path = layout.blob_path(digest);
        let (transport, repo, bar) = (&transport, &repo, &bar);
        async move { transfer::push_blob(transport, repo, &path, options, bar).await }
    }))
    .buffer_unordered(parallel)
    // Every upload runs to its end, even after one failed: after Ctrl-C each one stops at its
    // next read and cancels its own session, where dropping them would leave sessions open.
    .collect::<Vec<_>>()
    .await;
    let uploaded = match uploads.into_iter().collect::<Result<Vec<_>, _>>() {
        Ok(u) => u,
        Err(e) => {
            bar.abandon();
            return Err(e.into_failure(&what));
        }
    };
    let mut request = ctx
        .client
        .push_image(repo.clone(), reference.clone(), &layout);
    if let Some(t) = tag {
        request = request.source_tag(t);
    }
    let pushed = request.await.map_err(|e| {
        bar.abandon();
        Failure::from_error(&what, &e)
    })?;
    bar.finish_and_clear();
    let sent = uploaded
        .iter()
        .filter(|u| u.method == UploadMethod::Sent)
        .count();
    let bytes: u64 = uploaded.iter().map(|u| u.bytes_sent).sum();
    let json = serde_json::json!({
        "repository": repo.as_str(),
        "reference": reference.as_str(),
        "digest": pushed.descriptor.digest.as_str(),
        "mediaType": pushed.descriptor.media_type,
        "size": pushed.descriptor.size,
        "manifests": pushed.manifests,
        "blobsTransferred": sent,
        "blobsSkipped": uploaded.len() - sent,
        "blobBytes": bytes,
    });
    emit(ctx.format, json, || {
        format!(
            "pushed {}@{} ({} manifests, {} blobs sent, {} skipped, {} bytes)",
            repo.as_str(),
            pushed.descriptor.digest.as_str(),
            pushed.manifests,
            sent,
            uploaded.len() - sent,
            bytes
        )
    });
    Ok(())
}

/// Where a pull writes: the destination itself (an existing layout), or a temporary folder
/// beside it renamed onto it at the end (dropped, and so removed, on failure).
enum Destination {
    InPlace,
    Fresh(tempfile::TempDir),
}

fn destination(dir: &Path, what: &str) -> Result<Destination, Failure> {
    if dir.join("oci-layout").is_file() {
        return Ok(Destination::InPlace);
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Failure::usage(format!(
                    "{what}: {} exists and is neither empty nor an OCI image layout",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Failure::failed(format!(
                "{what}: cannot read {}: {e}",
                dir.display()
            )));
        }
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".acr-pull-")
        .tempdir_in(&parent)
        .map_err(|e| {
            Failure::failed(format!(
                "{what}: cannot create a folder in {}: {e}",
                parent.display()
            ))
        })?;
    Ok(Destination::Fresh(tmp))
}

/// Fetches every manifest under `top` (verified) and collects their blobs.
async fn remote_tree(
    transport: &Client,
    repo: &RepositoryName,
    top: &acr::manifest::Manifest,
    what: &str,
) -> Result<Tree, Failure> {
    let mut tree = Tree::default();
    let mut queue = tree.add(&top.media_type, &top.bytes, what)?;
    while let Some(child) = queue.pop() {
        let m = transport
            .pull_manifest(repo, &Reference::from(child.digest.clone()))
            .await
            .map_err(|e| Failure::from_error(format!("{what}: manifest {}", child.digest), &e))?;
        queue.extend(tree.add(&m.media_type, &m.bytes, what)?);
    }
    Ok(tree)
}

async fn pull(
    ctx: &Context,
    source: &str,
    dir: &Path,
    tag: Option<String>,
    parallel: usize,
) -> Result<(), Failure> {
    let (repo, reference) = parse_image(source)?;
    let what = format!("image pull {source} to {}", dir.display());
    let dest = destination(dir, &what)?;
    let work = match &dest {
        Destination::InPlace => dir.to_owned(),
        Destination::Fresh(tmp) => tmp.path().to_owned(),
    };
    let layout = OciLayout::create(&work).map_err(|e| Failure::from_error(&what, &e))?;
    let transport = &ctx.client;
    let top = transport
        .pull_manifest(&repo, &reference)
        .await
        .map_err(|e| Failure::from_error(&what, &e))?;
    let mut tree = remote_tree(transport, &repo, &top, &what).await?;
    tree.blobs.retain(|d, _| !layout.has_blob(d));
    let bar = progress::bytes(ctx.progress, source, tree.total());
    let downloads = futures_util::stream::iter(tree.largest_first().map(|(digest, size)| {
        let path = layout.blob_path(digest);
        let (transport, repo, bar) = (&transport, &repo, &bar);
        async move {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    transfer::TransferError::Local(format!(
                        "cannot create {}: {e}",
                        parent.display()
                    ))
                })?;
            }
            transfer::pull_blob(
                transport,
                repo,
                digest,
                ExpectedSize::Exactly(*size),
                &path,
                bar,
            )
            .await
        }
    }))
    .buffer_unordered(parallel)
    .try_collect::<Vec<u64>>()
    .await;
    let received = match downloads {
        Ok(sizes) => sizes,
        Err(e) => {
            bar.abandon();
            return Err(e.into_failure(&what));
        }
    };
    // The manifests, by digest so that a tag moved meanwhile cannot mix two images.
    let name = tag.or_else(|| (!reference.is_digest()).then(|| reference.as_str().to_owned()));
    let mut request = ctx
        .client
        .pull_image(repo.clone(), Reference::from(top.digest.clone()))
        .to_layout(&work);
    if let Some(n) = &name {
        request = request.tag(n.clone());
    }
    let pulled = request.await.map_err(|e| {
        bar.abandon();
        Failure::from_error(&what, &e)
    })?;
    if let Destination::Fresh(tmp) = dest {
        let kept = tmp.keep();
        if let Err(e) = std::fs::rename(&kept, dir) {
            let _ = std::fs::remove_dir_all(&kept);
            return Err(Failure::failed(format!(
                "{what}: cannot move the pulled layout to {}: {e}",
                dir.display()
            )));
        }
    }
    bar.finish_and_clear();
    let bytes: u64 = received.iter().sum();
    let json = serde_json::json!({
        "repository": repo.as_str(),
        "reference": reference.as_str(),
        "digest": pulled.descriptor.digest.as_str(),
        "mediaType": pulled.descriptor.media_type,
        "size": pulled.descriptor.size,
        "manifests": tree.manifests,
        "blobsTransferred": received.len(),
        "blobsSkipped": pulled.blobs_skipped.saturating_sub(received.len()),
        "blobBytes": bytes,
        "dir": dir.display().to_string(),
        "tag": name,
    });
    emit(ctx.format, json, || {
        format!(
            "pulled {}@{} into {} ({} blobs, {} bytes)",
            repo.as_str(),
            pulled.descriptor.digest.as_str(),
            dir.display(),
            received.len(),
            bytes
        )
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_image;

    #[test]
    fn image_references_split_into_repository_and_tag_or_digest() {
        let split = |t: &str| {
            parse_image(t)
                .map(|(r, f)| (r.as_str().to_owned(), f.as_str().to_owned()))
                .map_err(|f| f.exit)
        };
        assert_eq!(split("team/app:v1"), Ok(("team/app".into(), "v1".into())));
        assert_eq!(split("team/app"), Ok(("team/app".into(), "latest".into())));
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(split(&format!("app@{d}")), Ok(("app".into(), d)));
        assert_eq!(split("App:v1"), Err(crate::failure::EXIT_USAGE));
        assert_eq!(split("app:bad tag"), Err(crate::failure::EXIT_USAGE));
    }
}

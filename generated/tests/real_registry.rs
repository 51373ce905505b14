//! The runtime against Debian's `docker-registry` (CNCF distribution 2.8), when installed:
//! chunked and single-request uploads, mount, download with verification, manifests.
//! Skips with a printed reason when `/usr/bin/docker-registry` is absent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/skip.rs"]
mod skip;
#[path = "../../tests/src/transfers.rs"]
mod transfers;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use acr_runtime::blob::{UploadMethod, UploadSource, Uploaded};
use acr_runtime::manifest::types::OCI_MANIFEST;
use acr_runtime::{ClientBuilder, Digest, Reference, RepositoryName, Transport};
use bytes::Bytes;
use futures_util::TryStreamExt as _;
use transfers::{Transfers as _, UploadOptions};

const BINARY: &str = "/usr/bin/docker-registry";

struct Registry {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start() -> Option<Registry> {
    start_with(None).await
}

/// Starts the registry; with `Some((user, password))` behind htpasswd Basic auth.
async fn start_with(basic: Option<(&str, &str)>) -> Option<Registry> {
    if !std::path::Path::new(BINARY).exists() {
        skip::skip(&format!(
            "{BINARY} is not installed (Debian: apt-get install docker-registry)"
        ));
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut auth = String::new();
    if let Some((user, password)) = basic {
        let out = match Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
        {
            Ok(o) if o.status.success() => o.stdout,
            _ => {
                skip::skip("htpasswd is not installed (Debian: apt-get install apache2-utils)");
                return None;
            }
        };
        let file = dir.path().join("htpasswd");
        std::fs::write(&file, out).unwrap();
        auth = format!(
            "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
            file.display()
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BINARY)
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(Registry {
                child,
                url,
                _dir: dir,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("docker-registry did not start");
}

fn data(n: usize) -> Bytes {
    Bytes::from((0..n).map(|i| (i * 13 % 253) as u8).collect::<Vec<u8>>())
}

#[tokio::test]
async fn blobs_and_manifests_against_distribution() {
    let Some(reg) = start().await else { return };
    let t: Transport = ClientBuilder::new(&reg.url)
        .chunk_size(64 * 1024)
        .build()
        .unwrap();
    let repo = RepositoryName::new("runtime/test").unwrap();

    // chunked (5 chunks and a tail), one-pass
    let big = data(5 * 64 * 1024 + 1000);
    let src = UploadSource::reader(std::io::Cursor::new(big.to_vec()));
    let Uploaded {
        digest: d, size: n, ..
    } = t
        .upload_blob(&repo, src, UploadOptions::default())
        .await
        .unwrap();
    assert_eq!((d.clone(), n), (Digest::sha256(&big), big.len() as u64));
    // single request
    let small = data(100);
    let ds = t
        .upload_blob(
            &repo,
            UploadSource::Bytes(small.clone()),
            UploadOptions::default(),
        )
        .await
        .unwrap()
        .digest;
    assert_eq!(ds, Digest::sha256(&small));
    // exists → skipped; mount into another repository
    assert_eq!(
        t.blob_exists(&repo, &d).await.unwrap().and_then(|i| i.size),
        Some(big.len() as u64)
    );
    let other = RepositoryName::new("runtime/other").unwrap();
    let opts = UploadOptions::default()
        .digest(d.clone())
        .mount_from(repo.clone());
    let mounted = t
        .upload_blob(&other, UploadSource::Bytes(big.clone()), opts)
        .await
        .unwrap();
    assert_eq!(
        (mounted.digest, mounted.size, mounted.method),
        (d.clone(), big.len() as u64, UploadMethod::Mounted)
    );
    // download
    let got: Vec<Bytes> = t
        .download_blob(&other, &d)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.concat(), big.to_vec());
    // manifests
    let config = Bytes::from_static(b"{}");
    let dc = t
        .upload_blob(
            &repo,
            UploadSource::Bytes(config.clone()),
            UploadOptions::default(),
        )
        .await
        .unwrap()
        .digest;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": dc.as_str(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.as_str(), "size": big.len()}]
    });
    let bytes = Bytes::from(serde_json::to_vec(&manifest).unwrap());
    let md = t
        .put_manifest(
            &repo,
            &Reference::new("v1").unwrap(),
            bytes.clone(),
            OCI_MANIFEST,
        )
        .await
        .unwrap();
    let m = t
        .get_manifest(&repo, &Reference::new("v1").unwrap())
        .await
        .unwrap();
    assert_eq!(
        (m.digest.clone(), m.bytes.clone(), m.media_type.as_str()),
        (md.clone(), bytes, OCI_MANIFEST)
    );
    let m2 = t
        .get_manifest(&repo, &Reference::from(md.clone()))
        .await
        .unwrap();
    assert_eq!(m2.digest, md);
    let e = t
        .get_manifest(&repo, &Reference::new("missing").unwrap())
        .await
        .unwrap_err();
    assert!(
        e.is_not_found() && e.code().map(|c| c.as_str()) == Some("MANIFEST_UNKNOWN"),
        "{e}"
    );
}

#[tokio::test]
async fn htpasswd_basic_auth_against_distribution() {
    let Some(reg) = start_with(Some(("tester", "pa55-word"))).await else {
        return;
    };
    let anon: Transport = ClientBuilder::new(&reg.url).build().unwrap();
    let repo = RepositoryName::new("basic/test").unwrap();
    let e = anon
        .upload_blob(
            &repo,
            UploadSource::Bytes(data(10)),
            UploadOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED), "{e}");
    let t: Transport = ClientBuilder::new(&reg.url)
        .credential(acr_runtime::Credential::basic("tester", "pa55-word"))
        .chunk_size(64 * 1024)
        .build()
        .unwrap();
    let b = data(200_000);
    let d = t
        .upload_blob(
            &repo,
            UploadSource::Bytes(b.clone()),
            UploadOptions::default(),
        )
        .await
        .unwrap()
        .digest;
    let got: Vec<Bytes> = t
        .download_blob(&repo, &d)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.concat(), b.to_vec());
}

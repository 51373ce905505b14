use acr_runtime::manifest::{ManifestKind, types::OCI_MANIFEST};
use acr_runtime::{Credential, Error, Reference, RepositoryName};
use bytes::Bytes;

use crate::support;
use crate::{client, emu};

const IMAGE: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;

#[tokio::test]
async fn put_then_get_by_tag_and_digest() {
    let emulator = emu::start().await;
    // the emulator, as a registry, wants the config blob before the manifest
    emulator.put_blob("hello", &b"{}"[..]).unwrap();
    let t = client(
        &emulator.endpoint(),
        Credential::refresh_token(emu::refresh_token(&emulator)),
    );
    let repo = RepositoryName::new("hello").unwrap();
    let d = t
        .put_manifest(
            &repo,
            &Reference::new("v1").unwrap(),
            Bytes::from_static(IMAGE),
            OCI_MANIFEST,
        )
        .await
        .unwrap();
    assert_eq!(d.as_str(), acr_emulator::sha256_digest(IMAGE));
    for r in ["v1", d.as_str()] {
        let m = t
            .get_manifest(&repo, &Reference::new(r).unwrap())
            .await
            .unwrap();
        assert_eq!(m.bytes, IMAGE);
        assert_eq!(m.media_type, OCI_MANIFEST);
        assert_eq!(m.digest, d);
        assert!(matches!(m.parse().unwrap(), ManifestKind::Image(i) if i.config.size == 2));
    }
}

#[tokio::test]
async fn tampered_and_oversized_manifests_are_refused() {
    let fake = support::start().await;
    let t = client(&fake.url, Credential::Anonymous);
    let repo = RepositoryName::new("hello").unwrap();
    let d = t
        .put_manifest(
            &repo,
            &Reference::new("v1").unwrap(),
            Bytes::from_static(IMAGE),
            OCI_MANIFEST,
        )
        .await
        .unwrap();
    *fake.state.manifest_override.lock().unwrap() =
        Some(Bytes::from_static(b"{\"schemaVersion\":2}"));
    for r in ["v1", d.as_str()] {
        let e = t
            .get_manifest(&repo, &Reference::new(r).unwrap())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
    }
    *fake.state.manifest_override.lock().unwrap() = Some(Bytes::from(vec![b' '; 5 * 1024 * 1024]));
    let e = t
        .get_manifest(&repo, &Reference::new("v1").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { limit: 4194304, .. }), "{e:?}");
    // a put whose digest reference does not match its bytes is refused before sending
    let wrong = Reference::new(support::sha256(b"x")).unwrap();
    let e = t
        .put_manifest(&repo, &wrong, Bytes::from_static(IMAGE), OCI_MANIFEST)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
    let e = t
        .get_manifest(&repo, &Reference::new("nope").unwrap())
        .await
        .unwrap_err();
    assert!(
        e.is_not_found() && e.code().map(|c| c.as_str()) == Some("MANIFEST_UNKNOWN"),
        "{e:?}"
    );
}

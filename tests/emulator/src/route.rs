//! Routing by hand: the raw (still percent-encoded) path is split into segments and matched from
//! its end, so a repository name may span several segments (`/v2/library/hello/manifests/v1`) or
//! arrive as one encoded segment (`/v2/library%2Fhello/manifests/v1`).
//!
//! A path no route matches, or whose name, tag or digest breaks the OCI grammar, is answered
//! with ACR's plain-text `404 page not found`, before any authentication.

use super::names::{decode_name, decode_segment, is_repository_name, is_sha256_digest, is_tag};
use super::store::Reference;

/// What a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/v2/`
    V2Root,
    /// `/v2/_catalog` (docker-compatible listing, not among the 26 operations).
    V2Catalog,
    /// `/v2/<name>/tags/list` (docker-compatible listing, not among the 26 operations).
    V2TagsList { name: String },
    /// `/v2/<name>/referrers/<digest>` (OCI distribution spec v1.1.0, end-12a).
    Referrers { name: String, digest: String },
    /// `/v2/<name>/manifests/<reference>`
    Manifest { name: String, reference: Reference },
    /// `/v2/<name>/blobs/<digest>`
    Blob { name: String, digest: String },
    /// `/v2/<name>/blobs/uploads/`
    StartUpload { name: String },
    /// `/v2/<name>/blobs/uploads/<uuid>`
    Upload { name: String, uuid: String },
    /// `/acr/v1/_catalog`
    AcrCatalog,
    /// `/acr/v1/<name>`
    AcrRepository { name: String },
    /// `/acr/v1/<name>/_tags`
    AcrTags { name: String },
    /// `/acr/v1/<name>/_tags/<tag>`
    AcrTag { name: String, tag: String },
    /// `/acr/v1/<name>/_manifests`
    AcrManifests { name: String },
    /// `/acr/v1/<name>/_manifests/<digest>`
    AcrManifest { name: String, digest: String },
    /// `/oauth2/exchange`
    OAuthExchange,
    /// `/oauth2/token`
    OAuthToken,
}

fn name_of(segments: &[&str]) -> Option<String> {
    decode_name(segments).filter(|n| is_repository_name(n))
}

fn reference_of(segment: &str) -> Option<Reference> {
    let text = decode_segment(segment)?;
    if is_sha256_digest(&text) {
        Some(Reference::Digest(text))
    } else if is_tag(&text) {
        Some(Reference::Tag(text))
    } else {
        None
    }
}

fn digest_of(segment: &str) -> Option<String> {
    decode_segment(segment).filter(|d| is_sha256_digest(d))
}

/// Parses a raw path; `None` = no route (plain-text 404).
pub(crate) fn parse(path: &str) -> Option<Route> {
    if path == "/v2/" || path == "/v2" {
        return Some(Route::V2Root);
    }
    if let Some(rest) = path.strip_prefix("/v2/") {
        return parse_v2(rest);
    }
    if let Some(rest) = path.strip_prefix("/acr/v1/") {
        return parse_acr(rest);
    }
    match path {
        "/oauth2/exchange" => Some(Route::OAuthExchange),
        "/oauth2/token" => Some(Route::OAuthToken),
        _ => None,
    }
}

fn parse_v2(rest: &str) -> Option<Route> {
    if rest == "_catalog" {
        return Some(Route::V2Catalog);
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let n = segs.len();
    // `<name>/blobs/uploads/` (trailing slash) or `<name>/blobs/uploads/<uuid>`
    if n >= 4 && segs[n - 3] == "blobs" && segs[n - 2] == "uploads" {
        let name = name_of(&segs[..n - 3])?;
        let uuid = segs[n - 1];
        return Some(if uuid.is_empty() {
            Route::StartUpload { name }
        } else {
            Route::Upload {
                name,
                uuid: decode_segment(uuid)?,
            }
        });
    }
    if n >= 3 {
        let (kind, last) = (segs[n - 2], segs[n - 1]);
        let name_segs = &segs[..n - 2];
        match kind {
            "manifests" => {
                return Some(Route::Manifest {
                    name: name_of(name_segs)?,
                    reference: reference_of(last)?,
                });
            }
            // `<name>/blobs/uploads` without the trailing slash also starts an upload.
            "blobs" if last == "uploads" => {
                return Some(Route::StartUpload {
                    name: name_of(name_segs)?,
                });
            }
            "blobs" => {
                return Some(Route::Blob {
                    name: name_of(name_segs)?,
                    digest: digest_of(last)?,
                });
            }
            "referrers" => {
                return Some(Route::Referrers {
                    name: name_of(name_segs)?,
                    digest: digest_of(last)?,
                });
            }
            "tags" if last == "list" => {
                return Some(Route::V2TagsList {
                    name: name_of(name_segs)?,
                });
            }
            _ => {}
        }
    }
    None
}

fn parse_acr(rest: &str) -> Option<Route> {
    if rest == "_catalog" {
        return Some(Route::AcrCatalog);
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let n = segs.len();
    if n >= 2 {
        match segs[n - 1] {
            "_tags" => {
                return Some(Route::AcrTags {
                    name: name_of(&segs[..n - 1])?,
                });
            }
            "_manifests" => {
                return Some(Route::AcrManifests {
                    name: name_of(&segs[..n - 1])?,
                });
            }
            _ => {}
        }
    }
    if n >= 3 {
        match segs[n - 2] {
            "_tags" => {
                let tag = decode_segment(segs[n - 1]).filter(|t| is_tag(t))?;
                return Some(Route::AcrTag {
                    name: name_of(&segs[..n - 2])?,
                    tag,
                });
            }
            "_manifests" => {
                return Some(Route::AcrManifest {
                    name: name_of(&segs[..n - 2])?,
                    digest: digest_of(segs[n - 1])?,
                });
            }
            _ => {}
        }
    }
    if segs.iter().any(|s| s.starts_with('_')) {
        return None;
    }
    Some(Route::AcrRepository {
        name: name_of(&segs)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn v2_routes_with_nested_and_encoded_names() {
        let tag = Reference::Tag("v1".into());
        for path in [
            "/v2/library/hello/manifests/v1",
            "/v2/library%2Fhello/manifests/v1",
        ] {
            assert_eq!(
                parse(path),
                Some(Route::Manifest {
                    name: "library/hello".into(),
                    reference: tag.clone()
                }),
                "{path}"
            );
        }
        assert_eq!(
            parse(&format!("/v2/a/b/blobs/{}", D.replace(':', "%3A"))),
            Some(Route::Blob {
                name: "a/b".into(),
                digest: D.into()
            })
        );
        assert_eq!(
            parse("/v2/a/blobs/uploads/"),
            Some(Route::StartUpload { name: "a".into() })
        );
        assert_eq!(
            parse("/v2/a/blobs/uploads/123"),
            Some(Route::Upload {
                name: "a".into(),
                uuid: "123".into()
            })
        );
        // A repository may even be called `blobs`.
        assert_eq!(
            parse("/v2/blobs/manifests/latest"),
            Some(Route::Manifest {
                name: "blobs".into(),
                reference: Reference::Tag("latest".into())
            })
        );
    }

    #[test]
    fn acr_routes() {
        assert_eq!(parse("/acr/v1/_catalog"), Some(Route::AcrCatalog));
        assert_eq!(
            parse("/acr/v1/library%2Fhello"),
            Some(Route::AcrRepository {
                name: "library/hello".into()
            })
        );
        assert_eq!(
            parse("/acr/v1/library/hello/_tags/v1"),
            Some(Route::AcrTag {
                name: "library/hello".into(),
                tag: "v1".into()
            })
        );
        assert_eq!(
            parse(&format!("/acr/v1/x/_manifests/{}", D.replace(':', "%3A"))),
            Some(Route::AcrManifest {
                name: "x".into(),
                digest: D.into()
            })
        );
    }

    #[test]
    fn mismatches_are_not_routed() {
        for path in [
            "/",
            "/v2/x",
            "/acr/v1/x/_manifests/not-a-digest",
            "/acr/v1/Nonexistent/_tags/Nonexistent",
            "/v2/UPPER/manifests/v1",
            "/v2/x/manifests/bad:ref",
            "/v2/../x/manifests/v1",
            "/acr/v1/x/_other",
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
    }
}

//! The in-memory registry: blobs, repositories, manifests, tags, their attributes and the open
//! upload sessions, with the lock rules applied by every operation that reads or changes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use jiff::Timestamp;

use super::errors::AcrError;
use super::manifest::{self, Parsed};
use super::model::Attributes;
use super::names::sha256_digest;
use super::time::MonotonicClock;

/// A manifest reference from a path: a tag or a (validated sha256) digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag name.
    Tag(String),
    /// A `sha256:` digest.
    Digest(String),
}

impl Reference {
    /// The reference as it appears in a path.
    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(t) | Reference::Digest(t) => t,
        }
    }
}

/// One platform entry of an index (`references` in the manifest attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlatformRef {
    pub digest: String,
    pub architecture: String,
    pub os: String,
}

/// A stored manifest: its exact bytes, media type, times, locks and derived attributes.
#[derive(Debug, Clone)]
pub(crate) struct ManifestRecord {
    pub bytes: Bytes,
    pub media_type: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub attributes: Attributes,
    pub config_media_type: Option<String>,
    pub architecture: Option<String>,
    pub os: Option<String>,
    pub image_size: u64,
    pub references: Vec<PlatformRef>,
}

/// A tag: the digest it points at, its times and locks.
#[derive(Debug, Clone)]
pub(crate) struct TagRecord {
    pub digest: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub attributes: Attributes,
}

/// A repository. It is "known" (listed, readable through `/acr/v1`) while it holds a manifest;
/// before that it only holds blob links.
///
/// Tags and manifests are kept in key order, with two indexes beside them so that a listing
/// page costs O(log n + page) whatever the order asked for: `(lastUpdateTime, key)` sets for the
/// `timeasc`/`timedesc` orders, and the tags of each digest. Keys and times change only
/// through [`Repo::set_tag`], [`Repo::remove_tag`], [`Repo::add_manifest`] and
/// [`Repo::remove_manifest`], which keep the indexes true (attributes may change in place).
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub created: Timestamp,
    pub updated: Timestamp,
    pub attributes: Attributes,
    pub blobs: BTreeSet<String>,
    pub manifests: BTreeMap<String, ManifestRecord>,
    pub tags: BTreeMap<String, TagRecord>,
    /// `(updated, tag)` of every tag.
    pub tags_by_time: BTreeSet<(Timestamp, String)>,
    /// `(updated, digest)` of every manifest.
    pub manifests_by_time: BTreeSet<(Timestamp, String)>,
    /// The tags of each digest.
    tags_by_digest: HashMap<String, BTreeSet<String>>,
}

impl Repo {
    fn new(now: Timestamp) -> Self {
        Repo {
            created: now,
            updated: now,
            attributes: Attributes::default(),
            blobs: BTreeSet::new(),
            manifests: BTreeMap::new(),
            tags: BTreeMap::new(),
            tags_by_time: BTreeSet::new(),
            manifests_by_time: BTreeSet::new(),
            tags_by_digest: HashMap::new(),
        }
    }

    /// Whether the repository holds a manifest.
    pub(crate) fn is_known(&self) -> bool {
        !self.manifests.is_empty()
    }

    /// The tags pointing at `digest`, sorted.
    pub(crate) fn tags_of(&self, digest: &str) -> Vec<String> {
        self.tags_by_digest
            .get(digest)
            .map(|tags| tags.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Points `tag` at `digest` (created, or moved with a new `updated`; unchanged when it
    /// already points there).
    pub(crate) fn set_tag(&mut self, tag: &str, digest: &str, now: Timestamp) {
        match self.tags.get(tag) {
            Some(existing) if existing.digest == digest => {}
            Some(existing) => {
                let created = existing.created;
                let attributes = existing.attributes;
                self.remove_tag(tag);
                self.insert_tag(
                    tag,
                    TagRecord {
                        digest: digest.to_owned(),
                        created,
                        updated: now,
                        attributes,
                    },
                );
            }
            None => self.insert_tag(
                tag,
                TagRecord {
                    digest: digest.to_owned(),
                    created: now,
                    updated: now,
                    attributes: Attributes::default(),
                },
            ),
        }
    }

    fn insert_tag(&mut self, tag: &str, record: TagRecord) {
        self.tags_by_time.insert((record.updated, tag.to_owned()));
        self.tags_by_digest
            .entry(record.digest.clone())
            .or_default()
            .insert(tag.to_owned());
        self.tags.insert(tag.to_owned(), record);
    }

    /// Removes a tag; returns whether it existed.
    pub(crate) fn remove_tag(&mut self, tag: &str) -> bool {
        let Some(record) = self.tags.remove(tag) else {
            return false;
        };
        self.tags_by_time.remove(&(record.updated, tag.to_owned()));
        if let Some(tags) = self.tags_by_digest.get_mut(&record.digest) {
            tags.remove(tag);
            if tags.is_empty() {
                self.tags_by_digest.remove(&record.digest);
            }
        }
        true
    }

    /// Stores a manifest unless one with that digest is there already.
    pub(crate) fn add_manifest(&mut self, digest: &str, record: impl FnOnce() -> ManifestRecord) {
        if !self.manifests.contains_key(digest) {
            let record = record();
            self.manifests_by_time
                .insert((record.updated, digest.to_owned()));
            self.manifests.insert(digest.to_owned(), record);
        }
    }

    /// Removes a manifest (not its tags).
    pub(crate) fn remove_manifest(&mut self, digest: &str) {
        if let Some(record) = self.manifests.remove(digest) {
            self.manifests_by_time
                .remove(&(record.updated, digest.to_owned()));
        }
    }
}

/// An open upload session.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub name: String,
    pub data: Vec<u8>,
    pub started: Timestamp,
}

/// Whether an item may be deleted: both `deleteEnabled` and `writeEnabled` must be true.
fn deletable(a: &Attributes) -> bool {
    a.delete_enabled && a.write_enabled
}

/// The whole registry state.
#[derive(Debug)]
pub(crate) struct Store {
    clock: MonotonicClock,
    blobs: HashMap<String, Bytes>,
    pub repos: BTreeMap<String, Repo>,
    /// `(updated, name)` of every repository in `repos`, for the catalog's time orders.
    pub repos_by_time: BTreeSet<(Timestamp, String)>,
    pub uploads: HashMap<String, Upload>,
}

impl Store {
    pub(crate) fn new() -> Self {
        Store {
            clock: MonotonicClock::new(),
            blobs: HashMap::new(),
            repos: BTreeMap::new(),
            repos_by_time: BTreeSet::new(),
            uploads: HashMap::new(),
        }
    }

    /// A fresh, strictly increasing timestamp.
    pub(crate) fn now(&mut self) -> Timestamp {
        self.clock.tick()
    }

    /// The repository if it is known, else `NAME_UNKNOWN`.
    pub(crate) fn known_repo(&self, name: &str) -> Result<&Repo, AcrError> {
        self.repos
            .get(name)
            .filter(|r| r.is_known())
            .ok_or_else(|| AcrError::name_unknown(name))
    }

    /// [`Store::known_repo`], mutable.
    pub(crate) fn known_repo_mut(&mut self, name: &str) -> Result<&mut Repo, AcrError> {
        self.repos
            .get_mut(name)
            .filter(|r| r.is_known())
            .ok_or_else(|| AcrError::name_unknown(name))
    }

    fn repo_entry(&mut self, name: &str) -> &mut Repo {
        let now = self.clock.tick();
        let by_time = &mut self.repos_by_time;
        self.repos.entry(name.to_owned()).or_insert_with(|| {
            by_time.insert((now, name.to_owned()));
            Repo::new(now)
        })
    }

    /// Forgets a repository and its place in the time index.
    fn remove_repo(&mut self, name: &str) {
        if let Some(repo) = self.repos.remove(name) {
            self.repos_by_time.remove(&(repo.updated, name.to_owned()));
        }
    }

    /// Stores `bytes` and links the blob into `name`; returns its digest.
    pub(crate) fn store_blob(&mut self, name: &str, bytes: Bytes) -> String {
        let digest = sha256_digest(&bytes);
        self.blobs.insert(digest.clone(), bytes);
        self.repo_entry(name).blobs.insert(digest.clone());
        digest
    }

    /// Links an existing blob into `name` (a mount); `false` if the registry lacks it.
    pub(crate) fn link_blob(&mut self, name: &str, digest: &str) -> bool {
        if !self.blobs.contains_key(digest) {
            return false;
        }
        self.repo_entry(name).blobs.insert(digest.to_owned());
        true
    }

    /// Whether `name` links `digest`.
    pub(crate) fn has_blob(&self, name: &str, digest: &str) -> bool {
        self.repos
            .get(name)
            .is_some_and(|r| r.blobs.contains(digest))
            && self.blobs.contains_key(digest)
    }

    /// The content of a blob linked into `name`, else `BLOB_UNKNOWN`.
    pub(crate) fn blob(&self, name: &str, digest: &str) -> Result<Bytes, AcrError> {
        if let Some(repo) = self.repos.get(name)
            && !repo.attributes.read_enabled
        {
            return Err(AcrError::disallowed());
        }
        if !self.has_blob(name, digest) {
            return Err(AcrError::blob_unknown(digest));
        }
        self.blobs
            .get(digest)
            .cloned()
            .ok_or_else(|| AcrError::blob_unknown(digest))
    }

    /// The content of any stored blob (the storage server's view).
    pub(crate) fn blob_content(&self, digest: &str) -> Option<Bytes> {
        self.blobs.get(digest).cloned()
    }

    /// Unlinks a blob from `name`.
    pub(crate) fn delete_blob(&mut self, name: &str, digest: &str) -> Result<(), AcrError> {
        let repo = self
            .repos
            .get_mut(name)
            .filter(|r| r.blobs.contains(digest))
            .ok_or_else(|| AcrError::blob_unknown(digest))?;
        if !deletable(&repo.attributes) {
            return Err(AcrError::disallowed());
        }
        repo.blobs.remove(digest);
        Ok(())
    }

    /// Stores a manifest under `reference` and returns its digest.
    ///
    /// With `verify`, the media type and body are checked ([`manifest::parse`]) and every blob
    /// and child manifest it names must already be in the repository; the seeding helpers skip
    /// that. Locks: a repository with `writeEnabled=false` takes no manifest; a tag with
    /// `writeEnabled=false` cannot be moved to another digest (pushing the same digest again is
    /// accepted as a no-op).
    pub(crate) fn put_manifest(
        &mut self,
        name: &str,
        reference: &Reference,
        media_type: &str,
        bytes: Bytes,
        verify: bool,
    ) -> Result<String, AcrError> {
        let digest = sha256_digest(&bytes);
        if let Reference::Digest(expected) = reference
            && *expected != digest
        {
            return Err(AcrError::digest_invalid());
        }
        let parsed = if verify {
            manifest::parse(media_type, &bytes)?
        } else {
            manifest::parse(media_type, &bytes).ok().flatten()
        };
        if let Some(repo) = self.repos.get(name) {
            if !repo.attributes.write_enabled {
                return Err(AcrError::disallowed());
            }
            if let Reference::Tag(tag) = reference
                && let Some(existing) = repo.tags.get(tag)
                && !existing.attributes.write_enabled
                && existing.digest != digest
            {
                return Err(AcrError::disallowed());
            }
        }
        if verify && let Some(parsed) = &parsed {
            self.check_references(name, parsed)?;
        }
        let (config_media_type, platform, image_size, references) = match &parsed {
            Some(Parsed::Image { config, layers }) => {
                let platform = self.blobs.get(&config.digest).and_then(|content| {
                    manifest::platform_of_config(config.media_type.as_deref(), content)
                });
                (
                    config.media_type.clone(),
                    platform,
                    layers.iter().map(|l| l.size).sum(),
                    Vec::new(),
                )
            }
            Some(Parsed::Index { manifests }) => (
                None,
                None,
                manifests.iter().map(|m| m.size).sum(),
                manifests
                    .iter()
                    .filter_map(|m| {
                        m.platform.as_ref().map(|(arch, os)| PlatformRef {
                            digest: m.digest.clone(),
                            architecture: arch.clone(),
                            os: os.clone(),
                        })
                    })
                    .collect(),
            ),
            None => (None, None, bytes.len() as u64, Vec::new()),
        };
        let now = self.clock.tick();
        let repo = self.repo_entry(name);
        if !repo.is_known() {
            repo.created = now;
        }
        let before = std::mem::replace(&mut repo.updated, now);
        repo.add_manifest(&digest, || ManifestRecord {
            bytes,
            media_type: media_type.to_owned(),
            created: now,
            updated: now,
            attributes: Attributes::default(),
            config_media_type,
            architecture: platform.as_ref().map(|p| p.0.clone()),
            os: platform.map(|p| p.1),
            image_size,
            references,
        });
        if let Reference::Tag(tag) = reference {
            repo.set_tag(tag, &digest, now);
        }
        self.repos_by_time.remove(&(before, name.to_owned()));
        self.repos_by_time.insert((now, name.to_owned()));
        Ok(digest)
    }

    fn check_references(&self, name: &str, parsed: &Parsed) -> Result<(), AcrError> {
        let repo = self.repos.get(name);
        match parsed {
            Parsed::Image { config, layers } => {
                for d in std::iter::once(config).chain(layers).filter(|d| !d.foreign) {
                    if !self.has_blob(name, &d.digest) {
                        return Err(AcrError::manifest_blob_unknown(&d.digest));
                    }
                }
            }
            Parsed::Index { manifests } => {
                for m in manifests {
                    if !repo.is_some_and(|r| r.manifests.contains_key(&m.digest)) {
                        return Err(AcrError::manifest_blob_unknown(&m.digest));
                    }
                }
            }
        }
        Ok(())
    }

    /// Resolves `reference` to a digest in a known repository (no lock checks).
    pub(crate) fn resolve(&self, name: &str, reference: &Reference) -> Result<String, AcrError> {
        let repo = self.known_repo(name)?;
        match reference {
            Reference::Tag(tag) => repo
                .tags
                .get(tag)
                .map(|t| t.digest.clone())
                .ok_or_else(|| AcrError::tag_manifest_unknown(tag)),
            Reference::Digest(digest) if repo.manifests.contains_key(digest) => Ok(digest.clone()),
            Reference::Digest(_) => Err(AcrError::manifest_unknown()),
        }
    }

    /// A manifest for a pull: `(digest, media type, bytes)`. Refused when the repository, the tag
    /// used or the manifest has `readEnabled=false`.
    pub(crate) fn pull_manifest(
        &self,
        name: &str,
        reference: &Reference,
    ) -> Result<(String, String, Bytes), AcrError> {
        let digest = self.resolve(name, reference)?;
        let repo = self.known_repo(name)?;
        let record = repo
            .manifests
            .get(&digest)
            .ok_or_else(AcrError::manifest_unknown)?;
        let tag_readable = match reference {
            Reference::Tag(tag) => repo.tags.get(tag).is_none_or(|t| t.attributes.read_enabled),
            Reference::Digest(_) => true,
        };
        if !repo.attributes.read_enabled || !record.attributes.read_enabled || !tag_readable {
            return Err(AcrError::disallowed());
        }
        Ok((digest, record.media_type.clone(), record.bytes.clone()))
    }

    /// Deletes a manifest and every tag pointing at it. Refused when the repository, the manifest
    /// or one of those tags has `deleteEnabled=false` or `writeEnabled=false`.
    pub(crate) fn delete_manifest(&mut self, name: &str, digest: &str) -> Result<(), AcrError> {
        let repo = self.known_repo(name)?;
        let record = repo
            .manifests
            .get(digest)
            .ok_or_else(AcrError::manifest_unknown)?;
        let tags = repo.tags_of(digest);
        if !deletable(&repo.attributes)
            || !deletable(&record.attributes)
            || tags.iter().any(|t| {
                repo.tags
                    .get(t)
                    .is_some_and(|rec| !deletable(&rec.attributes))
            })
        {
            return Err(AcrError::disallowed());
        }
        let repo = self.known_repo_mut(name)?;
        repo.remove_manifest(digest);
        for tag in tags {
            repo.remove_tag(&tag);
        }
        if !repo.is_known() {
            // An emptied repository is forgotten, as ACR does (DELETE /acr/v1/{name} then 404s).
            self.remove_repo(name);
        }
        Ok(())
    }

    /// Deletes a tag (the manifest stays). Refused when the repository or the tag is locked.
    pub(crate) fn delete_tag(&mut self, name: &str, tag: &str) -> Result<(), AcrError> {
        let repo = self.known_repo(name)?;
        let record = repo.tags.get(tag).ok_or_else(AcrError::tag_unknown)?;
        if !deletable(&repo.attributes) || !deletable(&record.attributes) {
            return Err(AcrError::disallowed());
        }
        self.known_repo_mut(name)?.remove_tag(tag);
        Ok(())
    }

    /// Deletes a repository with everything in it; returns the deleted manifest digests and tags.
    /// Refused when the repository or anything in it is locked against deletion.
    pub(crate) fn delete_repository(
        &mut self,
        name: &str,
    ) -> Result<(Vec<String>, Vec<String>), AcrError> {
        let repo = self
            .repos
            .get(name)
            .filter(|r| r.is_known())
            .ok_or_else(|| AcrError::name_unknown_for_delete(name))?;
        if !deletable(&repo.attributes)
            || repo.manifests.values().any(|m| !deletable(&m.attributes))
            || repo.tags.values().any(|t| !deletable(&t.attributes))
        {
            return Err(AcrError::disallowed());
        }
        let manifests = repo.manifests.keys().cloned().collect();
        let tags = repo.tags.keys().cloned().collect();
        self.remove_repo(name);
        self.uploads.retain(|_, u| u.name != name);
        Ok((manifests, tags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AttributesUpdate;

    fn seeded() -> (Store, String) {
        let mut store = Store::new();
        let digest = store
            .put_manifest(
                "repo",
                &Reference::Tag("v1".into()),
                "application/x-test",
                Bytes::from_static(b"{}"),
                false,
            )
            .unwrap();
        (store, digest)
    }

    #[test]
    fn a_write_locked_tag_refuses_moves_and_deletes() {
        let (mut store, digest) = seeded();
        AttributesUpdate::locked().apply(
            &mut store
                .repos
                .get_mut("repo")
                .unwrap()
                .tags
                .get_mut("v1")
                .unwrap()
                .attributes,
        );
        let moved = store.put_manifest(
            "repo",
            &Reference::Tag("v1".into()),
            "application/x-test",
            Bytes::from_static(b"{\"x\":1}"),
            false,
        );
        assert_eq!(moved.unwrap_err().code, "REGISTRY_DISALLOWED_OPERATION");
        assert_eq!(
            store.delete_tag("repo", "v1").unwrap_err().code,
            "REGISTRY_DISALLOWED_OPERATION"
        );
        assert!(store.delete_manifest("repo", &digest).is_err());
        assert!(store.delete_repository("repo").is_err());
    }

    #[test]
    fn deleting_the_last_manifest_forgets_the_repository() {
        let (mut store, digest) = seeded();
        store.delete_manifest("repo", &digest).unwrap();
        assert_eq!(store.known_repo("repo").unwrap_err().code, "NAME_UNKNOWN");
    }
}

//! `acr purge`: ACR's scheduled clean-up (`acr purge` run as an ACR Task), from the client.
//!
//! For each repository a `--filter REPO:REGEX` names (`REPO` is a regular expression too, as in
//! ACR's purge; both are matched against the whole name), the tags that match `REGEX` and were
//! last updated more than `--ago` ago are deleted, except the `--keep` most recent of them and
//! locked ones (`deleteEnabled` or `writeEnabled` false), which are reported. With
//! `--untagged`, manifests left without tags (and older than `--ago`) are deleted too, except
//! locked ones, those a surviving index lists and those whose `subject` survives (signatures,
//! SBOMs of images that stay). Times are the registry's `lastUpdateTime` (`/acr/v1`).
//! `--dry-run` lists what would go and deletes nothing.

use std::collections::{BTreeMap, BTreeSet};

use acr::manifest::ManifestKind;
use acr::models::{ManifestAttributesBase, TagAttributesBase, TagOrderBy};
use acr::{Digest, Reference, RepositoryName};
use clap::Args;
use futures_util::TryStreamExt as _;
use regex::Regex;

use crate::blob::repo_name;
use crate::failure::{EXIT_FAILED, Failure};
use crate::output::emit;
use crate::registry::Context;

/// The arguments of `acr purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Which tags: `REPO:REGEX`, both regular expressions matched against whole names
    /// (`hello:.*`, `team/.*:^v1\..*`, `samples/app:dev-.*`); repeat for more.
    #[arg(long, required = true, value_name = "REPO:REGEX")]
    pub filter: Vec<String>,
    /// Only tags (and manifests) last updated longer ago than this: `30d`, `1d12h`, `2h30m`,
    /// `90m`, `45s`, `0` (days, hours, minutes, seconds).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub ago: jiff::SignedDuration,
    /// Keep the N most recent of the tags that would be deleted in each repository (as ACR's
    /// purge does).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub keep: usize,
    /// Also delete manifests left without any tag.
    #[arg(long)]
    pub untagged: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Parses `1d`, `2h30m`, `90m`, `45s`, `1d2h3m4s`, `0`: whole numbers of days (24 h), hours,
/// minutes and seconds, as ACR's purge takes them (Go durations plus `d`).
pub fn parse_duration(text: &str) -> Result<jiff::SignedDuration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(jiff::SignedDuration::ZERO);
    }
    let mut seconds: i64 = 0;
    let mut rest = t;
    if rest.is_empty() {
        return Err("an empty duration; write e.g. 1d, 2h30m, 90m".into());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "not a duration: {text:?} (write e.g. 1d, 2h30m, 90m, 45s)"
            ));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("duration out of range: {text:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            "s" => 1,
            "" => return Err(format!("a number without unit in {text:?} (d, h, m or s)")),
            other => return Err(format!("unknown unit {other:?} in {text:?} (d, h, m or s)")),
        };
        rest = &rest[unit_len..];
        seconds = n
            .checked_mul(unit)
            .and_then(|s| seconds.checked_add(s))
            .ok_or_else(|| format!("duration out of range: {text:?}"))?;
    }
    Ok(jiff::SignedDuration::from_secs(seconds))
}

/// A `--filter`: the repository and tag expressions, anchored.
#[derive(Debug)]
struct Filter {
    repo: Regex,
    tag: Regex,
}

fn parse_filter(text: &str) -> Result<Filter, Failure> {
    let (repo, tag) = text.split_once(':').ok_or_else(|| {
        Failure::usage(format!(
            "--filter {text:?}: write REPO:REGEX (e.g. hello:.* or team/.*:^v1)"
        ))
    })?;
    let anchored = |re: &str, what: &str| {
        Regex::new(&format!("^(?:{re})$"))
            .map_err(|e| Failure::usage(format!("--filter {text:?}: bad {what} expression: {e}")))
    };
    Ok(Filter {
        repo: anchored(repo, "repository")?,
        tag: anchored(tag, "tag")?,
    })
}

/// Whether attributes with these locks may be deleted.
fn deletable(delete_enabled: Option<bool>, write_enabled: Option<bool>) -> bool {
    delete_enabled != Some(false) && write_enabled != Some(false)
}

/// The plan for one repository's tags: (to delete, locked), given `tags` and `now - ago`.
fn plan_tags<'a>(
    tags: &'a [TagAttributesBase],
    filters: &[&Filter],
    cutoff: jiff::Timestamp,
    keep: usize,
) -> (Vec<&'a TagAttributesBase>, Vec<&'a TagAttributesBase>) {
    let mut old: Vec<&TagAttributesBase> = tags
        .iter()
        .filter(|t| filters.iter().any(|f| f.tag.is_match(&t.name)))
        .filter(|t| t.last_update_time < cutoff)
        .collect();
    old.sort_by_key(|t| std::cmp::Reverse(t.last_update_time));
    let (deletable_tags, locked): (Vec<_>, Vec<_>) = old.into_iter().partition(|t| {
        deletable(
            t.changeable_attributes.delete_enabled,
            t.changeable_attributes.write_enabled,
        )
    });
    (deletable_tags.into_iter().skip(keep).collect(), locked)
}

/// What the run did (or, dry, would do).
#[derive(Default)]
struct Report {
    tags: Vec<serde_json::Value>,
    manifests: Vec<serde_json::Value>,
    skipped: Vec<serde_json::Value>,
    errors: Vec<serde_json::Value>,
    lines: Vec<String>,
}

/// Runs `acr purge`.
pub async fn run(ctx: &Context, args: PurgeArgs) -> Result<(), Failure> {
    let filters = args
        .filter
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<Vec<_>, _>>()?;
    let now = jiff::Timestamp::now();
    let cutoff = now
        .checked_sub(args.ago)
        .map_err(|e| Failure::usage(format!("--ago: {e}")))?;
    let repositories: Vec<String> = ctx
        .client
        .get_repositories()
        .into_stream()
        .try_collect()
        .await
        .map_err(|e| {
            Failure::from_error("purge: listing the repositories (ACR's /acr/v1 API)", &e)
        })?;
    let mut report = Report::default();
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for repo in &repositories {
        let matching: Vec<&Filter> = filters.iter().filter(|f| f.repo.is_match(repo)).collect();
        if matching.is_empty() {
            continue;
        }
        purge_repository(ctx, &args, repo, &matching, cutoff, verb, &mut report).await?;
    }
    let summary = serde_json::json!({
        "tagsDeleted": report.tags.len(),
        "manifestsDeleted": report.manifests.len(),
        "skipped": report.skipped.len(),
        "errors": report.errors.len(),
    });
    let text = {
        let mut lines = std::mem::take(&mut report.lines);
        lines.push(format!(
            "{}: {} tags, {} manifests; {} skipped (locked or in use); {} errors",
            if args.dry_run {
                "Would delete"
            } else {
                "Deleted"
            },
            report.tags.len(),
            report.manifests.len(),
            report.skipped.len(),
            report.errors.len()
        ));
        lines.join("\n")
    };
    let failed = !report.errors.is_empty();
    emit(
        ctx.format,
        serde_json::json!({
            "dryRun": args.dry_run,
            "ago": args.ago.as_secs(),
            "cutoff": cutoff.to_string(),
            "tags": report.tags,
            "manifests": report.manifests,
            "skipped": report.skipped,
            "errors": report.errors,
            "summary": summary,
        }),
        || text,
    );
    if failed {
        return Err(Failure::plain(
            "purge: some deletions failed (listed under errors)",
            EXIT_FAILED,
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn purge_repository(
    ctx: &Context,
    args: &PurgeArgs,
    repo: &str,
    filters: &[&Filter],
    cutoff: jiff::Timestamp,
    verb: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let name = repo_name(repo)?;
    let tags: Vec<TagAttributesBase> = ctx
        .client
        .get_tags(repo)
        .orderby(TagOrderBy::Timedesc)
        .into_stream()
        .try_collect()
        .await
        .map_err(|e| Failure::from_error(format!("purge: listing the tags of {repo}"), &e))?;
    let (doomed, locked) = plan_tags(&tags, filters, cutoff, args.keep);
    for t in locked {
        report.skipped.push(serde_json::json!({
            "repository": repo, "tag": t.name, "digest": t.digest.as_str(), "reason": "locked",
        }));
        report
            .lines
            .push(format!("skipped locked tag {repo}:{}", t.name));
    }
    let mut gone_tags = BTreeSet::new();
    for t in doomed {
        let entry = serde_json::json!({
            "repository": repo, "tag": t.name, "digest": t.digest.as_str(),
            "lastUpdateTime": t.last_update_time.to_string(),
        });
        if !args.dry_run
            && let Err(e) = ctx.client.delete_tag(repo, t.name.as_str()).await
        {
            report.errors.push(error_entry(entry, &e));
            report
                .lines
                .push(format!("failed to delete tag {repo}:{}: {e}", t.name));
            continue;
        }
        report.lines.push(format!(
            "{verb} tag {repo}:{} ({})",
            t.name,
            t.digest.as_str()
        ));
        report.tags.push(entry);
        gone_tags.insert(t.name.clone());
    }
    if args.untagged {
        purge_untagged(ctx, args, &name, cutoff, &gone_tags, verb, report).await?;
    }
    Ok(())
}

fn error_entry(mut entry: serde_json::Value, e: &acr::Error) -> serde_json::Value {
    entry["error"] = e.to_string().into();
    if let Some(s) = e.status() {
        entry["status"] = s.as_u16().into();
    }
    if let Some(c) = e.code() {
        entry["code"] = c.as_str().into();
    }
    entry
}

/// The digests a manifest points to as an index's children, and its subject.
async fn links(
    ctx: &Context,
    repo: &RepositoryName,
    digest: &Digest,
) -> Result<(Vec<Digest>, Option<Digest>), acr::Error> {
    let m = ctx
        .client
        .transport()
        .get_manifest(repo, &Reference::from(digest.clone()))
        .await?;
    Ok(match m.parse()? {
        ManifestKind::Index(index) => (
            index.manifests.iter().map(|d| d.digest.clone()).collect(),
            index.subject.as_ref().map(|s| s.digest.clone()),
        ),
        ManifestKind::Image(image) => {
            (Vec::new(), image.subject.as_ref().map(|s| s.digest.clone()))
        }
        _ => (Vec::new(), None),
    })
}

fn is_index(m: &ManifestAttributesBase) -> bool {
    m.media_type
        .as_deref()
        .is_some_and(|t| t.contains("index") || t.contains("manifest.list"))
        || m.references.as_ref().is_some_and(|r| !r.is_empty())
}

#[allow(clippy::too_many_arguments)]
async fn purge_untagged(
    ctx: &Context,
    args: &PurgeArgs,
    repo: &RepositoryName,
    cutoff: jiff::Timestamp,
    gone_tags: &BTreeSet<String>,
    verb: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let r = repo.as_str();
    let manifests: Vec<ManifestAttributesBase> = ctx
        .client
        .get_manifests(r)
        .into_stream()
        .try_collect()
        .await
        .map_err(|e| Failure::from_error(format!("purge: listing the manifests of {r}"), &e))?;
    let untagged = |m: &ManifestAttributesBase| {
        m.tags
            .as_deref()
            .unwrap_or_default()
            .iter()
            .all(|t| gone_tags.contains(t))
    };
    let old = |m: &ManifestAttributesBase| m.last_update_time.is_none_or(|t| t < cutoff);
    // Candidates: untagged (after this run's tag deletions) and old.
    let mut candidates: BTreeMap<Digest, &ManifestAttributesBase> = manifests
        .iter()
        .filter(|m| untagged(m) && old(m))
        .map(|m| (m.digest.clone(), m))
        .collect();
    // Locked ones stay.
    let locked: Vec<Digest> = candidates
        .iter()
        .filter(|(_, m)| {
            let a = m.changeable_attributes.as_ref();
            !deletable(
                a.and_then(|a| a.delete_enabled),
                a.and_then(|a| a.write_enabled),
            )
        })
        .map(|(d, _)| d.clone())
        .collect();
    for d in locked {
        candidates.remove(&d);
        report
            .skipped
            .push(serde_json::json!({"repository": r, "digest": d.as_str(), "reason": "locked"}));
        report
            .lines
            .push(format!("skipped locked manifest {r}@{}", d.as_str()));
    }
    // What each index lists and each candidate refers to, read from the manifests themselves.
    let mut children: BTreeMap<Digest, Vec<Digest>> = BTreeMap::new();
    let mut subjects: BTreeMap<Digest, Digest> = BTreeMap::new();
    for m in &manifests {
        if !(is_index(m) || candidates.contains_key(&m.digest)) {
            continue;
        }
        match links(ctx, repo, &m.digest).await {
            Ok((c, s)) => {
                children.insert(m.digest.clone(), c);
                if let Some(s) = s {
                    subjects.insert(m.digest.clone(), s);
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                return Err(Failure::from_error(
                    format!("purge: reading manifest {r}@{}", m.digest),
                    &e,
                ));
            }
        }
    }
    // A candidate stays when a surviving manifest lists it or is its subject; repeat until
    // nothing changes (a kept index keeps its children, which keep their referrers).
    loop {
        let survivors: BTreeSet<&Digest> = manifests
            .iter()
            .map(|m| &m.digest)
            .filter(|d| !candidates.contains_key(*d))
            .collect();
        let listed: BTreeSet<&Digest> = survivors
            .iter()
            .filter_map(|d| children.get(*d))
            .flatten()
            .collect();
        let held: Vec<(Digest, &'static str)> = candidates
            .keys()
            .filter_map(|d| {
                if listed.contains(d) {
                    Some((d.clone(), "listed by a kept index"))
                } else if subjects.get(d).is_some_and(|s| survivors.contains(s)) {
                    Some((d.clone(), "refers to a kept manifest"))
                } else {
                    None
                }
            })
            .collect();
        if held.is_empty() {
            break;
        }
        for (d, reason) in held {
            candidates.remove(&d);
            report
                .skipped
                .push(serde_json::json!({"repository": r, "digest": d.as_str(), "reason": reason}));
            report.lines.push(format!(
                "kept untagged manifest {r}@{} ({reason})",
                d.as_str()
            ));
        }
    }
    // Indexes first, so that no index is left naming a deleted child.
    let mut order: Vec<&ManifestAttributesBase> = candidates.values().copied().collect();
    order.sort_by_key(|m| !is_index(m));
    for m in order {
        let entry = serde_json::json!({"repository": r, "digest": m.digest.as_str()});
        if !args.dry_run
            && let Err(e) = ctx.client.delete_manifest(r, m.digest.clone()).await
        {
            report
                .lines
                .push(format!("failed to delete manifest {r}@{}: {e}", m.digest));
            report.errors.push(error_entry(entry, &e));
            continue;
        }
        report
            .lines
            .push(format!("{verb} manifest {r}@{}", m.digest.as_str()));
        report.manifests.push(entry);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_acr_purge_takes_them() {
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs());
        assert_eq!(secs("1d"), Ok(86_400));
        assert_eq!(secs("2h30m"), Ok(9_000));
        assert_eq!(secs("1d2h3m4s"), Ok(93_784));
        assert_eq!(secs("0"), Ok(0));
        assert_eq!(secs("0s"), Ok(0));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
    }

    #[test]
    fn filters_are_anchored_and_checked() {
        let f = parse_filter("team/.*:v1.*").unwrap();
        assert!(f.repo.is_match("team/app"));
        assert!(!f.repo.is_match("other/team/app"));
        assert!(f.tag.is_match("v1.2"));
        assert!(!f.tag.is_match("dev-v1"));
        assert_eq!(parse_filter("noclon").err().map(|f| f.exit), Some(2));
        assert_eq!(parse_filter("a:(").err().map(|f| f.exit), Some(2));
    }

    fn tag(name: &str, hours_ago: i64, locked: bool) -> TagAttributesBase {
        let t = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(hours_ago))
            .unwrap();
        serde_json::from_value(serde_json::json!({
            "name": name,
            "digest": format!("sha256:{}", "0".repeat(64)),
            "createdTime": t.to_string(),
            "lastUpdateTime": t.to_string(),
            "changeableAttributes": {"deleteEnabled": !locked, "writeEnabled": true},
        }))
        .unwrap()
    }

    #[test]
    fn old_matching_tags_go_except_the_kept_most_recent_and_the_locked() {
        let tags = vec![
            tag("v1", 50, false),
            tag("v2", 40, false),
            tag("v3", 30, true),
            tag("v4", 20, false),
            tag("v5", 1, false),
            tag("latest", 60, false),
        ];
        let f = parse_filter("app:v.*").unwrap();
        // Ten hours ago: v5 is too recent, latest does not match.
        let cutoff = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(10))
            .unwrap();
        let names =
            |v: Vec<&TagAttributesBase>| v.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        let (doomed, locked) = plan_tags(&tags, &[&f], cutoff, 0);
        assert_eq!(names(doomed), ["v4", "v2", "v1"]);
        assert_eq!(names(locked), ["v3"]);
        let (doomed, _) = plan_tags(&tags, &[&f], cutoff, 1);
        assert_eq!(names(doomed), ["v2", "v1"], "the most recent one is kept");
    }
}

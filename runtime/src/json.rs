//! Reading JSON as registries really send it.
//!
//! Generated models and the manifest types read their bodies through this module:
//!
//! - [`from_slice`] names the JSON path of a value that does not fit the model (for example
//!   `tags[3].digest`) next to serde's message, so a bad field in a 1,000-item page is found
//!   at once (the path comes from `serde_path_to_error`).
//! - [`null_as_default`] reads JSON `null` for a list or map as empty. ACR answers the tag list
//!   of a repository whose tags were all deleted with `"tags": null`, and the CNCF
//!   distribution registry stores and serves manifests with `"layers": null` and
//!   `"annotations": null` (Go marshals a nil slice or map as `null`).
//! - [`lenient`] reads date-times as [`parse_date_time`] does: RFC 3339 §5.6 with any number
//!   of fraction digits, `Z`/`z` or a numeric offset, `T`/`t` or a space between date and time,
//!   and the offset-less form some Azure services send (read as UTC); inside lists and maps and
//!   `Option`s too, where a `null` list is empty as above.
//!
//! These are public because generated code calls them (`#[serde(deserialize_with = ...)]`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};

/// Why a JSON body did not fit its model: the path of the value and serde's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("at `{path}`: ") })]
pub struct JsonError {
    /// The JSON path of the value, `tags[3].digest` style; empty for the whole document.
    pub path: String,
    /// serde's message, with its line and column.
    pub message: String,
}

/// Parses `bytes` as a `T`; the error names the JSON path of the value that does not fit.
///
/// A body that fits is parsed once, without tracking the path (which costs about as much as
/// the parse itself); only a body that does not fit is parsed again to find the path.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(fast) => Err(from_slice_traced::<T>(bytes)
            .err()
            .unwrap_or_else(|| JsonError {
                path: String::new(),
                message: fast.to_string(),
            })),
    }
}

/// [`from_slice`] with the path tracked.
fn from_slice_traced<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| JsonError {
        path: path_of(e.path()),
        message: e.inner().to_string(),
    })?;
    de.end().map_err(|e| JsonError {
        path: String::new(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Converts a `serde_json::Value` into a `T`; the error names the JSON path as
/// [`from_slice`] does.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, JsonError> {
    serde_path_to_error::deserialize(value).map_err(|e| JsonError {
        path: path_of(e.path()),
        message: e.inner().to_string(),
    })
}

/// `serde_path_to_error` prints the root as `.`; ours is empty.
fn path_of(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." { String::new() } else { text }
}

/// Reads a `T` where JSON `null` means `T::default()` (an empty list or map).
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Parses a date-time the way registries and Azure services send them.
///
/// Accepts RFC 3339 §5.6 `date-time` (`2024-01-02T03:04:05Z`, `...05.1234567+01:00`), with
/// any number of fraction digits (beyond nanoseconds they are dropped), `Z` or `z`, `T`, `t`
/// or a space between date and time; and the same without an offset, read as UTC.
pub fn parse_date_time(text: &str) -> Result<jiff::Timestamp, String> {
    let bad = |why: &str| format!("invalid date-time {text:?}: {why}");
    let t = text.trim();
    // The date part is fixed width; the time part follows the separator.
    if t.len() < 11 || !t.is_char_boundary(10) || !t.is_char_boundary(11) {
        return Err(bad("expected YYYY-MM-DDThh:mm:ss"));
    }
    let (date, rest) = t.split_at(10);
    let (sep, time) = rest.split_at(1);
    if !matches!(sep, "T" | "t" | " ") {
        return Err(bad("expected `T` between date and time"));
    }
    // Split the offset (`Z`, `z`, `+hh:mm`, `-hh:mm`) from the time.
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => (time, ""),
    };
    // Keep at most nine fraction digits.
    let clock = match clock.split_once('.') {
        Some((hms, frac)) => {
            if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the fraction of a second is digits"));
            }
            format!("{hms}.{}", &frac[..frac.len().min(9)])
        }
        None => clock.to_owned(),
    };
    let civil: jiff::civil::DateTime = format!("{date}T{clock}")
        .parse()
        .map_err(|e: jiff::Error| bad(&e.to_string()))?;
    let offset = match offset {
        "" | "Z" | "z" => jiff::tz::Offset::UTC,
        o => {
            let b = o.as_bytes();
            let ok =
                b.len() == 6 && b[3] == b':' && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit());
            if !ok {
                return Err(bad("the offset is `Z` or `+hh:mm`"));
            }
            let n = |i: usize| i32::from(b[i] - b'0');
            let seconds = (n(1) * 10 + n(2)) * 3600 + (n(4) * 10 + n(5)) * 60;
            let seconds = if b[0] == b'-' { -seconds } else { seconds };
            jiff::tz::Offset::from_seconds(seconds).map_err(|e| bad(&e.to_string()))?
        }
    };
    offset.to_timestamp(civil).map_err(|e| bad(&e.to_string()))
}

/// A type read leniently by [`lenient`]: a date-time, or an `Option`, list or string-keyed
/// map of them (a `null` list or map is empty).
pub trait Lenient: Sized {
    /// Reads `Self` from `d`.
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Reads a [`Lenient`] value (a date-time, or a list, map or `Option` of them).
pub fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Lenient,
{
    T::read(d)
}

/// Carries a [`Lenient`] value through serde's derived collection impls.
struct Wrap<T>(T);

impl<'de, T: Lenient> Deserialize<'de> for Wrap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::read(d).map(Wrap)
    }
}

impl Lenient for jiff::Timestamp {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = jiff::Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_date_time(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl<T: Lenient> Lenient for Option<T> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<Wrap<T>>::deserialize(d)?.map(|w| w.0))
    }
}

impl<T: Lenient> Lenient for Vec<T> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Option::<Vec<Wrap<T>>>::deserialize(d)?.unwrap_or_default();
        Ok(items.into_iter().map(|w| w.0).collect())
    }
}

impl<T: Lenient> Lenient for BTreeMap<String, T> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Option::<BTreeMap<String, Wrap<T>>>::deserialize(d)?.unwrap_or_default();
        Ok(items.into_iter().map(|(k, w)| (k, w.0)).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ts(s: &str) -> String {
        parse_date_time(s).unwrap().to_string()
    }

    #[test]
    fn date_times_as_they_come() {
        let want = "2022-12-13T09:17:12.6157503Z";
        assert_eq!(ts("2022-12-13T09:17:12.6157503Z"), want);
        assert_eq!(ts("2022-12-13T09:17:12.6157503z"), want);
        assert_eq!(ts("2022-12-13t09:17:12.6157503Z"), want);
        assert_eq!(ts("2022-12-13 09:17:12.6157503Z"), want);
        // no offset: UTC
        assert_eq!(ts("2022-12-13T09:17:12.6157503"), want);
        // more than nine fraction digits: the rest is dropped
        assert_eq!(
            ts("2022-12-13T09:17:12.61575030000000001Z"),
            "2022-12-13T09:17:12.6157503Z"
        );
        assert_eq!(ts("2022-12-13T09:17:12Z"), "2022-12-13T09:17:12Z");
        assert_eq!(ts("2022-12-13T09:17:12.1Z"), "2022-12-13T09:17:12.1Z");
        // offsets
        assert_eq!(ts("2022-12-13T10:47:12+01:30"), "2022-12-13T09:17:12Z");
        assert_eq!(ts("2022-12-13T04:17:12.5-05:00"), "2022-12-13T09:17:12.5Z");
        assert_eq!(ts("2022-12-13T09:17:12-00:00"), "2022-12-13T09:17:12Z");
        for bad in [
            "",
            "2022-12-13",
            "2022-12-13X09:17:12Z",
            "2022-12-13T09:17:12.Z",
            "2022-12-13T09:17:12+0100",
            "2022-12-13T25:17:12Z",
            "2022-13-13T09:17:12Z",
            "2022-12-13T09:17:12Q",
            "2022-12-13T09:17:12.5x5Z",
        ] {
            assert!(parse_date_time(bad).is_err(), "{bad:?} refused");
        }
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        digest: crate::Digest,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Page {
        #[serde(default, deserialize_with = "null_as_default")]
        tags: Vec<Item>,
        #[serde(default, deserialize_with = "lenient")]
        times: Vec<jiff::Timestamp>,
        #[serde(default, deserialize_with = "lenient")]
        when: Option<jiff::Timestamp>,
        #[serde(default, deserialize_with = "lenient")]
        by_name: BTreeMap<String, jiff::Timestamp>,
    }

    #[test]
    fn a_bad_value_names_its_path() {
        let good = format!(r#"{{"digest":"sha256:{}"}}"#, "a".repeat(64));
        let body = format!(r#"{{"tags":[{good},{good},{good},{{"digest":"md5:x"}}]}}"#);
        let e = from_slice::<Page>(body.as_bytes()).unwrap_err();
        assert_eq!(e.path, "tags[3].digest");
        assert!(e.message.contains("invalid digest"), "{e}");
        assert!(e.to_string().starts_with("at `tags[3].digest`: "), "{e}");
        // a second of the class: a date-time in a map
        let e = from_slice::<Page>(br#"{"by_name":{"a":"2022-12-13T09:17:12Z","b":"soon"}}"#)
            .unwrap_err();
        assert_eq!(e.path, "by_name.b");
        // the whole document: no path
        let e = from_slice::<Page>(b"\"x\"").unwrap_err();
        assert_eq!(e.path, "");
        // trailing bytes are refused
        assert!(from_slice::<Page>(b"{} x").is_err());
    }

    #[test]
    fn null_collections_read_as_empty() {
        let p: Page =
            from_slice(br#"{"tags":null,"times":null,"when":null,"by_name":null}"#).unwrap();
        assert!(p.tags.is_empty() && p.times.is_empty() && p.by_name.is_empty());
        assert!(p.when.is_none());
        let p: Page = from_slice(
            br#"{"times":["2022-12-13T09:17:12","2022-12-13T09:17:12.123456789012z"],"when":"2022-12-13 09:17:12+00:00"}"#,
        )
        .unwrap();
        assert_eq!(p.times.len(), 2);
        assert!(p.when.is_some());
    }
}

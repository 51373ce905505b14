//! Comparing what a driver recorded with what the spec says each operation sends.

use serde_json::Value;

use super::calls::{Body, Expected, Wire};

/// One request as the loopback server recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The request target (path and query, as sent).
    pub target: String,
    /// Headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// Reads one request of a driver's report line.
    pub fn from_json(v: &Value) -> Option<Self> {
        let hex = v.get("body_hex")?.as_str()?;
        let body = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()?;
        Some(Self {
            method: v.get("method")?.as_str()?.to_owned(),
            target: v.get("target")?.as_str()?.to_owned(),
            headers: v
                .get("headers")?
                .as_array()?
                .iter()
                .filter_map(|h| {
                    Some((
                        h.get(0)?.as_str()?.to_owned(),
                        h.get(1)?.as_str()?.to_owned(),
                    ))
                })
                .collect(),
            body,
        })
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Percent-decodes `s` (bytes `%XX`; `+` stays `+`).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes `application/x-www-form-urlencoded` pairs (a query string or a form body).
pub fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |t: &str| percent_decode(&t.replace('+', " "));
            (d(k), d(v))
        })
        .collect()
}

fn wire_matches(want: &Wire, got: &str) -> bool {
    match want {
        Wire::Text(t) => t == got,
        Wire::Json(v) => serde_json::from_str::<Value>(got).is_ok_and(|g| &g == v),
    }
}

fn show(w: &Wire) -> String {
    match w {
        Wire::Text(t) => format!("{t:?}"),
        Wire::Json(v) => format!("JSON {v}"),
    }
}

/// The differences between what the spec says and what was sent; empty when they agree.
pub fn compare(want: &Expected, got: &Recorded) -> Vec<String> {
    let mut out = Vec::new();
    if want.method != got.method {
        out.push(format!("method {} instead of {}", got.method, want.method));
    }
    let (path, query) = got.target.split_once('?').unwrap_or((&got.target, ""));
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    // `Expected::segments` has no leading empty segment already (`/` is `[""]`).
    let want_segments = &want.segments;
    if &segments != want_segments {
        out.push(format!(
            "path {path:?} is not /{} (segments decoded: {segments:?})",
            want_segments.join("/")
        ));
    }
    let mut got_query = form_pairs(query);
    for (k, v) in &want.query {
        match got_query
            .iter()
            .position(|(gk, gv)| gk == k && wire_matches(v, gv))
        {
            Some(i) => {
                got_query.remove(i);
            }
            None => out.push(format!(
                "query {k}={} missing (query sent: {query:?})",
                show(v)
            )),
        }
    }
    for (k, v) in got_query {
        out.push(format!("query {k}={v:?} not in the spec"));
    }
    for (name, value) in &want.headers {
        match got.headers.iter().find(|(k, _)| k == name) {
            Some((_, v)) if wire_matches(value, v) => {}
            Some((_, v)) => out.push(format!("header {name}: {v:?} instead of {}", show(value))),
            None => out.push(format!("header {name} missing")),
        }
    }
    let content_type = got
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str());
    match &want.body {
        Body::Empty => {
            if !got.body.is_empty() {
                out.push(format!(
                    "a body of {} bytes the spec has none for",
                    got.body.len()
                ));
            }
        }
        Body::Json(v) => {
            if !want.content_type_param
                && !content_type.is_some_and(|c| c.starts_with("application/json"))
            {
                out.push(format!(
                    "content-type {content_type:?} instead of application/json"
                ));
            }
            match serde_json::from_slice::<Value>(&got.body) {
                Ok(g) if &g == v => {}
                Ok(g) => out.push(format!("JSON body {g} instead of {v}")),
                Err(e) => out.push(format!("body is not JSON: {e}")),
            }
        }
        Body::Bytes {
            content_type: ct,
            data,
        } => {
            if !want.content_type_param && content_type != Some(ct.as_str()) {
                out.push(format!("content-type {content_type:?} instead of {ct:?}"));
            }
            if &got.body != data {
                out.push(format!(
                    "body {:?} instead of {:?}",
                    String::from_utf8_lossy(&got.body),
                    String::from_utf8_lossy(data)
                ));
            }
        }
        Body::Form(pairs) => {
            if !want.content_type_param && content_type != Some("application/x-www-form-urlencoded")
            {
                out.push(format!(
                    "content-type {content_type:?} instead of application/x-www-form-urlencoded"
                ));
            }
            let mut got_pairs = form_pairs(&String::from_utf8_lossy(&got.body));
            for (k, w) in pairs {
                match got_pairs
                    .iter()
                    .position(|(gk, gv)| gk == k && wire_matches(w, gv))
                {
                    Some(i) => {
                        got_pairs.remove(i);
                    }
                    None => out.push(format!("form field {k}={} missing", show(w))),
                }
            }
            for (k, v) in got_pairs {
                out.push(format!("form field {k}={v:?} not in the spec"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected() -> Expected {
        Expected {
            method: "POST".into(),
            segments: vec!["v1".into(), "pets".into(), "p 0/x?y%z".into()],
            query: vec![("q".into(), Wire::Text("q 1&a=b+c/é".into()))],
            headers: vec![("x-h".into(), Wire::Text("h 2-v".into()))],
            body: Body::Json(serde_json::json!({"a": 1})),
            content_type_param: false,
        }
    }

    fn recorded(target: &str) -> Recorded {
        Recorded {
            method: "POST".into(),
            target: target.into(),
            headers: vec![
                ("x-h".into(), "h 2-v".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: br#"{"a":1}"#.to_vec(),
        }
    }

    #[test]
    fn an_encoded_request_matches() {
        let good = recorded("/v1/pets/p%200%2Fx%3Fy%25z?q=q+1%26a%3Db%2Bc%2F%C3%A9");
        assert_eq!(compare(&expected(), &good), Vec::<String>::new());
    }

    /// The root path is one empty segment on both sides (it was once compared as none).
    #[test]
    fn the_root_path_matches() {
        let mut want = expected();
        want.segments = vec![String::new()];
        want.query.clear();
        let got = recorded("/");
        assert_eq!(compare(&want, &got), Vec::<String>::new());
    }

    #[test]
    fn unencoded_or_misplaced_values_are_found() {
        // `/` not encoded: two segments.
        let d = compare(
            &expected(),
            &recorded("/v1/pets/p%200/x%3Fy%25z?q=q+1%26a%3Db%2Bc%2F%C3%A9"),
        );
        assert!(d.iter().any(|m| m.starts_with("path")), "{d:?}");
        // `&` not encoded in the query: an extra pair and a missing one.
        let d = compare(
            &expected(),
            &recorded("/v1/pets/p%200%2Fx%3Fy%25z?q=q+1&a=b%2Bc%2F%C3%A9"),
        );
        assert!(d.iter().any(|m| m.contains("missing")), "{d:?}");
        assert!(d.iter().any(|m| m.contains("not in the spec")), "{d:?}");
        let mut r = recorded("/v1/pets/p%200%2Fx%3Fy%25z?q=q+1%26a%3Db%2Bc%2F%C3%A9");
        r.headers.remove(0);
        r.body = br#"{"a":2}"#.to_vec();
        let d = compare(&expected(), &r);
        assert!(d.iter().any(|m| m == "header x-h missing"), "{d:?}");
        assert!(d.iter().any(|m| m.starts_with("JSON body")), "{d:?}");
    }

    /// A JSON-valued query parameter compares as JSON: key order and spacing do not count,
    /// a different value does.
    #[test]
    fn a_json_query_value_compares_as_json() {
        let mut want = expected();
        want.query = vec![(
            "filter".into(),
            Wire::Json(serde_json::json!({"a": 1, "b": [true]})),
        )];
        let same =
            recorded("/v1/pets/p%200%2Fx%3Fy%25z?filter=%7B%22b%22%3A+%5Btrue%5D%2C%22a%22%3A1%7D");
        assert_eq!(compare(&want, &same), Vec::<String>::new());
        let other = recorded("/v1/pets/p%200%2Fx%3Fy%25z?filter=%7B%22a%22%3A2%7D");
        let d = compare(&want, &other);
        assert!(d.iter().any(|m| m.contains("missing")), "{d:?}");
    }
}

//! Splitting the `@toc` line.

/// Splits `g(n), h(m)` into entries; a name may hold parens and commas, so an entry ends only
/// at `(<digits>)` followed by `", "` or the end.
pub(crate) fn split_toc(toc: &str) -> Vec<(String, u32)> {
    let bytes = toc.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'(' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 1 && j < bytes.len() && bytes[j] == b')' {
                let end = j + 1;
                let at_end = end == bytes.len();
                let at_sep = toc[end..].starts_with(", ");
                if at_end || at_sep {
                    let count = toc[i + 1..j].parse().unwrap_or(u32::MAX);
                    out.push((toc[start..i].to_string(), count));
                    start = if at_end { end } else { end + 2 };
                    i = start;
                    continue;
                }
            }
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push((toc[start..].to_string(), 0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_toc;

    #[test]
    fn splits_plain_and_odata_names() {
        let got = split_toc("v2(1), {name}(7), certificates(a={a},b={b})(3), x");
        assert_eq!(
            got,
            vec![
                ("v2".to_string(), 1),
                ("{name}".to_string(), 7),
                ("certificates(a={a},b={b})".to_string(), 3),
                ("x".to_string(), 0)
            ]
        );
    }
}

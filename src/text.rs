//! Small text helpers every stage uses.

/// At most `max` characters of `s`, with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// The URL if it is an absolute http(s) URL; anything else (`javascript:`, `data:`, relative,
/// malformed) is refused.
pub fn http_url(s: &str) -> Option<String> {
    let url = url::Url::parse(s.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

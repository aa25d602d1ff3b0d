//! Small text helpers every stage uses.

/// At most `max` characters of `s`, with an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// The URL if it is an absolute http(s) URL of at most [`MAX_URL`] bytes; anything else
/// (`javascript:`, `data:`, relative, malformed, or with a control character such as CR or
/// LF inside, which the URL parser would silently remove) is refused.
pub fn http_url(s: &str) -> Option<String> {
    url_problem(s).is_none().then(|| {
        url::Url::parse(s.trim())
            .map(|u| u.to_string())
            .unwrap_or_default()
    })
}

/// Longest URL kept (in bytes, as written).
pub const MAX_URL: usize = 2048;

/// Why `s` is not kept as a link (see [`http_url`]), for a warning or a field error.
pub fn url_problem(s: &str) -> Option<&'static str> {
    let s = s.trim();
    if s.chars().any(char::is_control) {
        return Some("contains a line break or another control character");
    }
    if s.len() > MAX_URL {
        return Some("is longer than 2048 bytes");
    }
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => None,
        _ => Some("is not an absolute http(s) URL"),
    }
}

/// The essence of a media type (`type/subtype`, lower case, without parameters):
/// `Application/JSON; charset=utf-8` is `application/json`.
pub fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

//! What the pages do with text and links from feeds: text is escaped by the templates (askama
//! escapes every `{{ }}` in HTML), links are only ever http(s), and JSON placed inside a
//! `<script>` element cannot end it.

/// The URL if it is an absolute http(s) URL ([`crate::text::http_url`]: http(s) URLs always
/// have a host); `javascript:`, `data:`, relative, malformed links and links with a control
/// character inside give `None` (the page then shows no link).
pub fn http_url(s: &str) -> Option<String> {
    crate::text::http_url(s)
}

/// [`http_url`] for an optional link.
pub fn link(s: Option<&str>) -> Option<String> {
    s.and_then(http_url)
}

/// JSON text made safe inside a `<script>` element: every `<` (which in JSON only occurs in
/// strings) becomes `\u003c`, so neither `</script>` nor `<!--` can appear. The JSON value is
/// unchanged.
pub fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_links_pass() {
        assert_eq!(
            http_url(" https://example.org/a?b=1 ").as_deref(),
            Some("https://example.org/a?b=1")
        );
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>",
            "/relative",
            "vbscript:x",
            "http://",
            "mailto:a@b.example",
        ] {
            assert_eq!(http_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn script_json_cannot_close_the_element() {
        let json =
            serde_json::json!({"name": "</script><script>alert(1)</script><!--"}).to_string();
        let safe = script_json(&json);
        assert!(!safe.contains("</"));
        assert!(!safe.contains("<!--"));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["name"], "</script><script>alert(1)</script><!--");
    }
}

//! Subscribing: for the current filter, a `webcal://` link and an http(s) link to the filtered
//! ICS feed, the same selection as JSON, Atom and JSON-LD, short instructions for Google, Apple
//! and Outlook, and the snippets that embed the selection into another website.
//!
//! The links carry exactly the page's filter parameters, so a subscription shows what the page
//! shows (from today on, as calendar apps keep past events themselves).

use super::query::PageQuery;
use super::{Chrome, Ctx, Nav, WebError};
use crate::output::Snapshot;
use askama::Template;

/// Default number of events of the embed snippets.
pub const EMBED_LIMIT: usize = 5;

/// The subscribe links of one filter.
#[derive(Debug, Clone)]
pub struct Links {
    pub webcal: String,
    pub ics: String,
    pub json: String,
    pub atom: String,
    pub jsonld: String,
    /// The subscribe page for this filter (relative).
    pub page_href: String,
    pub has_filter: bool,
    /// `<script src=".../embed.js" data-…>` for this filter.
    pub embed_script: String,
    /// `<iframe src=".../embed?…">` for this filter.
    pub embed_iframe: String,
}

impl Links {
    /// The links for a page's filter; `base` is `scheme://host`.
    pub fn new(q: &PageQuery, base: &str) -> Links {
        let with = |path: &str| {
            if q.filter_query.is_empty() {
                format!("{base}{path}")
            } else {
                format!("{base}{path}?{}", q.filter_query)
            }
        };
        let ics = with("/calendar.ics");
        let webcal = match ics.split_once("://") {
            Some((_, rest)) => format!("webcal://{rest}"),
            None => ics.clone(),
        };
        // data-* attributes: one per parameter, repeated values joined by commas.
        let mut data: Vec<(String, String)> = Vec::new();
        for (k, v) in &q.pairs {
            match data.iter_mut().find(|(dk, _)| dk == k) {
                Some((_, dv)) => {
                    dv.push(',');
                    dv.push_str(v);
                }
                None => data.push((k.clone(), v.clone())),
            }
        }
        let mut attrs = String::new();
        for (k, v) in &data {
            attrs.push_str(&format!(" data-{k}=\"{}\"", attr_escape(v)));
        }
        if let Some(l) = q.lang_param {
            attrs.push_str(&format!(" data-lang=\"{}\"", l.tag()));
        }
        let embed_script = format!(
            "<script src=\"{base}/embed.js\"{attrs} data-limit=\"{EMBED_LIMIT}\" async></script>"
        );
        let mut iframe_query = q.filter_query.clone();
        if !iframe_query.is_empty() {
            iframe_query.push('&');
        }
        iframe_query.push_str(&format!("limit={EMBED_LIMIT}"));
        if let Some(l) = q.lang_param {
            iframe_query.push_str(&format!("&lang={}", l.tag()));
        }
        let embed_iframe = format!(
            "<iframe src=\"{base}/embed?{}\" title=\"{}\" width=\"100%\" height=\"420\" loading=\"lazy\"></iframe>",
            attr_escape(&iframe_query),
            q.lang.texts().events_title
        );
        Links {
            webcal,
            json: with("/api/v1/events"),
            atom: with("/feed.atom"),
            jsonld: with("/api/v1/events.jsonld"),
            ics,
            page_href: q.href("/subscribe"),
            has_filter: q.has_filter(),
            embed_script,
            embed_iframe,
        }
    }
}

/// Escapes text for a double-quoted HTML attribute in a snippet the page shows as code (the
/// template escapes the whole snippet once more for display).
fn attr_escape(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[derive(Template)]
#[template(path = "subscribe.html")]
struct SubscribePage {
    chrome: Chrome,
    links: Links,
    /// Set when the unfiltered calendar feeds are capped and the page shows them.
    cut_note: Option<String>,
    theme: &'static str,
}

/// CSS variables of the embed, as shown in the snippet.
const THEME_SNIPPET: &str = "regiocal-events {\n  --regiocal-accent: #005a9c;\n  --regiocal-text: #1a1a1a;\n  --regiocal-background: #ffffff;\n  --regiocal-font: inherit;\n}";

/// Renders `/subscribe`.
pub fn render(snap: &Snapshot, q: &PageQuery, ctx: &Ctx) -> Result<String, WebError> {
    let links = Links::new(q, &ctx.base_url);
    let window = snap.feed_window();
    let cut_note = (!links.has_filter && window.is_cut()).then(|| {
        q.lang
            .feed_cut(window.filter.to, snap.calendar.feed_max_occurrences)
    });
    Ok(SubscribePage {
        chrome: Chrome::new(snap, q, "/subscribe", Nav::Subscribe),
        links,
        cut_note,
        theme: THEME_SNIPPET,
    }
    .render()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_exactly_the_filter() {
        let q = PageQuery::parse(
            Some("category=music&q=Jazz+%26+Soul&lang=en&limit=20"),
            None,
        )
        .unwrap();
        let l = Links::new(&q, "https://kalender.example");
        assert_eq!(
            l.ics,
            "https://kalender.example/calendar.ics?category=music&q=Jazz+%26+Soul"
        );
        assert_eq!(
            l.webcal,
            "webcal://kalender.example/calendar.ics?category=music&q=Jazz+%26+Soul"
        );
        assert_eq!(
            l.atom,
            "https://kalender.example/feed.atom?category=music&q=Jazz+%26+Soul"
        );
        assert!(l.embed_script.contains(" data-category=\"music\""));
        assert!(l.embed_script.contains(" data-q=\"Jazz &amp; Soul\""));
        assert!(l.embed_script.contains(" data-lang=\"en\""));
        assert!(
            l.embed_iframe
                .contains("/embed?category=music&amp;q=Jazz+%26+Soul&amp;limit=5&amp;lang=en")
        );
        let all = Links::new(&PageQuery::default(), "http://127.0.0.1:8080");
        assert_eq!(all.webcal, "webcal://127.0.0.1:8080/calendar.ics");
        assert!(!all.has_filter);
    }
}

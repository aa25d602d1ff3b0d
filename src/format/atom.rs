//! Atom 1.0 input (RFC 4287), with the event dates calendar publishers add to entries.
//!
//! `published` and `updated` say when an entry was written, not when the event takes place.
//! Event dates come from Google's `gd:when` (`startTime`/`endTime`, as in GData calendar
//! feeds), the RSS event module (`ev:startdate`, `ev:enddate`, `ev:location`, ...) or xCal
//! elements, or from the element named in `[source.mapping] start`. regiocal's own Atom output
//! ([`crate::output::atom`]) writes `ev:` elements, so it reads back into the same occurrences.
//! The XML reading (namespaces, entity and DTD refusal, depth limit) and the extension
//! elements are shared with [`super::rss`].

use super::rss::{
    Draft, XmlElement, finish, read_document, read_extension, read_w3c_geo, set_once,
};
use super::{FormatError, ParseContext, Parsed};
use crate::model::Organizer;
use chrono::{DateTime, Utc};

/// The Atom 1.0 namespace.
pub const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
/// The Atom 0.3 namespace (still emitted by a few old CMS installations).
const NS_ATOM03: &str = "http://purl.org/atom/ns#";

/// What the "no event date" warning says about Atom's own dates.
const ATOM_HINT: &str = "published and updated are publication dates";

/// Parses an Atom document.
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let root = read_document(text, "atom")?;
    if root.local != "feed" || !matches!(root.ns.as_str(), NS_ATOM | NS_ATOM03) {
        return Err(FormatError::Invalid {
            format: "atom",
            message: format!(
                "root element is <{}> in namespace {:?}, expected <feed> in {NS_ATOM:?}",
                root.qname, root.ns
            ),
        });
    }
    let ns = root.ns.as_str();
    let entries: Vec<&XmlElement> = root.elements().filter(|e| e.is(ns, "entry")).collect();
    if entries.len() > super::rss::MAX_ITEMS {
        return Err(FormatError::Invalid {
            format: "atom",
            message: format!("more than {} entries", super::rss::MAX_ITEMS),
        });
    }
    let mut out = Parsed::default();
    for (i, entry) in entries.into_iter().enumerate() {
        let draft = read_entry(entry, ns);
        let label = draft.label(i + 1);
        match finish(draft, entry, ctx, ATOM_HINT) {
            Ok(ev) => out.events.push(ev),
            Err(reason) => out
                .warnings
                .push(format!("item {label}: skipped: {reason}")),
        }
    }
    Ok(out)
}

/// Collects the fields of one entry.
fn read_entry(entry: &XmlElement, ns: &str) -> Draft {
    let mut d = Draft::default();
    for el in entry.elements() {
        if read_extension(el, &mut d) || el.ns != ns {
            continue;
        }
        match el.local.as_str() {
            "id" => set_once(&mut d.id, el.text_value()),
            "title" => set_once(&mut d.title, text_construct(el, true)),
            "summary" => set_once(&mut d.description, text_construct(el, false)),
            // Content given by reference (`src`) has no text here.
            "content" if el.attr("src").is_none() => {
                set_once(&mut d.content, text_construct(el, false))
            }
            "link" => read_link(el, &mut d),
            // GData marks every entry with a `scheme="...#kind"` category: not a topic.
            "category" if el.attr("scheme").is_some_and(|s| s.ends_with("#kind")) => {}
            "category" => d.categories.extend(
                el.attr("label")
                    .or_else(|| el.attr("term"))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            ),
            "author" if d.author.is_none() => {
                let field = |local: &str| el.child(ns, local).and_then(XmlElement::text_value);
                d.author = field("name").map(|name| Organizer {
                    name,
                    url: field("uri"),
                    email: field("email"),
                });
            }
            "updated" | "modified" => set_once(&mut d.last_modified, instant(el)),
            "published" | "issued" => set_once(&mut d.created, instant(el)),
            _ => {}
        }
    }
    read_w3c_geo(entry, &mut d);
    d
}

/// `link rel="alternate"` (or no rel) is the event page; `rel="enclosure"` with an image
/// type is the image.
fn read_link(el: &XmlElement, d: &mut Draft) {
    let Some(href) = el.attr("href").map(str::trim).filter(|h| !h.is_empty()) else {
        return;
    };
    match el.attr("rel").map(str::trim).unwrap_or("alternate") {
        "alternate" => {
            let is_html = el
                .attr("type")
                .is_none_or(|t| t.contains("html") || t.trim().is_empty());
            if is_html {
                set_once(&mut d.link, Some(href.to_string()));
            }
        }
        "enclosure" => {
            let is_image = el
                .attr("type")
                .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/"));
            if is_image {
                set_once(&mut d.image, Some(href.to_string()));
            }
        }
        _ => {}
    }
}

/// An Atom text construct: `text` as it is, `xhtml` as the markup inside its `div`, `html`
/// as its (decoded) markup. A one-line field (`as_line`, the title) and `html` without tags
/// are turned into text here, as the HTML cleanup later only looks at descriptions with tags.
fn text_construct(el: &XmlElement, as_line: bool) -> Option<String> {
    match el.attr("type").map(str::trim) {
        Some("xhtml") => {
            let div = el.elements().find(|c| c.local == "div");
            let markup = div.unwrap_or(el).markup()?;
            Some(if as_line {
                nanohtml2text::html2text(&markup)
            } else {
                markup
            })
        }
        Some("html") | Some("text/html") => {
            let html = el.text_value()?;
            if as_line || !html.contains('<') {
                let text = nanohtml2text::html2text(&html);
                let text = text.trim();
                (!text.is_empty()).then(|| text.to_string())
            } else {
                Some(html)
            }
        }
        _ => el.text_value(),
    }
}

fn instant(el: &XmlElement) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(el.text().trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

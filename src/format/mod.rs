//! Input formats: detect what a body is, decode it to text, and parse it into events.
//!
//! A new format is one file in this folder plus one arm in [`Format`], [`detect`] and [`parse`].
//! Parsers are lenient per event and strict per feed: one bad event becomes a warning naming its
//! UID or position and the rest of the feed is kept; a body that is not a feed at all (an HTML
//! error page, a truncated file, invalid XML/JSON) is a [`FormatError`] naming the position, and
//! changes nothing in the store.
//!
//! | format | module | detected by |
//! |---|---|---|
//! | iCalendar (RFC 5545) | [`ics`] | `BEGIN:VCALENDAR` (or a bare component: `BEGIN:VEVENT`, …) |
//! | xCal (RFC 6321) | [`xcal`] | XML root `icalendar` |
//! | jCal (RFC 7265) | [`jcal`] | JSON array starting with `"vcalendar"` |
//! | RSS 2.0 | [`rss`] | XML root `rss` (or RSS 1.0 `rdf:RDF`) |
//! | Atom 1.0 | [`atom`] | XML root `feed` |
//! | schema.org JSON-LD | [`jsonld`] | JSON with `@context`/`@type`/`@graph`, or an HTML page |
//! | mapped JSON | [`mapped`] | any other JSON, when the source has `[source.mapping]` |
//! | OParl 1.1 | [`oparl`] | JSON objects whose `type` is an OParl type |

pub mod atom;
pub mod datetime;
pub mod ics;
pub mod jcal;
pub mod jsonld;
pub mod mapped;
pub mod oparl;
pub mod push;
pub mod rss;
pub mod vtimezone;
pub mod xcal;

use crate::model::Event;
use chrono_tz::Tz;
use serde::Deserialize;

/// The `format` key of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatChoice {
    /// Detect from the Content-Type and the body.
    Auto,
    /// iCalendar (RFC 5545).
    Ics,
    /// xCal (RFC 6321).
    Xcal,
    /// jCal (RFC 7265).
    Jcal,
    /// RSS 2.0 (with the RSS event module or xCal elements).
    Rss,
    /// Atom 1.0.
    Atom,
    /// schema.org JSON-LD, as JSON or embedded in an HTML page.
    Jsonld,
    /// A JSON API described by `[source.mapping]`.
    Json,
    /// OParl 1.1 meetings.
    Oparl,
}

/// Where a source's fields are, for formats that need help: for `json`, JSONPath-like paths
/// (`items` selects the list, the others are relative to an item); for `rss`/`atom`, element
/// names (e.g. `start = "ev:startdate"` or `start = "dc:date"`) to read event dates from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    pub items: Option<String>,
    pub uid: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub all_day: Option<String>,
    pub location: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub locality: Option<String>,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub url: Option<String>,
    pub image: Option<String>,
    pub categories: Option<String>,
    pub status: Option<String>,
    pub price: Option<String>,
    /// chrono format string for `start`/`end` values that are not RFC 3339 / ISO 8601
    /// (e.g. `%d.%m.%Y %H:%M`); they are read in the calendar's zone.
    pub date_format: Option<String>,
}

/// A feed format regiocal can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ics,
    Xcal,
    Jcal,
    Rss,
    Atom,
    /// schema.org JSON-LD as a JSON document.
    JsonLd,
    /// An HTML page with `<script type="application/ld+json">` blocks.
    Html,
    /// A JSON API read through `[source.mapping]`.
    MappedJson,
    Oparl,
}

impl Format {
    /// Lower-case name, as shown by `check`.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Ics => "ics",
            Format::Xcal => "xcal",
            Format::Jcal => "jcal",
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::JsonLd => "jsonld",
            Format::Html => "html+jsonld",
            Format::MappedJson => "json",
            Format::Oparl => "oparl",
        }
    }
}

/// Why a body could not be read as a feed.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("got an HTML page without events (an error or login page?)")]
    Html,
    #[error("no events found in HTML page (no schema.org JSON-LD Event)")]
    NoEventsInHtml,
    #[error("unrecognised format (starts with {0:?})")]
    Unrecognised(String),
    #[error("iCalendar: {0}")]
    Ics(String),
    /// Malformed XML, with the byte position.
    #[error("{format}: invalid XML at byte {position}: {message}")]
    Xml {
        format: &'static str,
        position: u64,
        message: String,
    },
    /// Malformed JSON, with line and column.
    #[error("{format}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
    /// Items that are not what the format requires, each with its field (the push API's
    /// JSON, where a request is taken whole or not at all).
    #[error("{} invalid field(s)", .0.len())]
    Fields(Vec<(String, String)>),
    /// More events than one request may carry.
    #[error("more than {limit} events")]
    TooManyEvents { limit: usize },
    /// Well-formed but not what the format requires.
    #[error("{format}: {message}")]
    Invalid {
        format: &'static str,
        message: String,
    },
}

impl FormatError {
    /// A JSON syntax error with its position.
    pub fn json(format: &'static str, e: &serde_json::Error) -> FormatError {
        // serde_json's message ends with " at line X column Y"; the position is kept separately.
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(at) => text[..at].to_string(),
            None => text,
        };
        FormatError::Json {
            format,
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

/// What parsing a feed produced: events, one warning per skipped event or bad line, and the
/// next page to fetch for paginated formats (OParl `links.next`).
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub warnings: Vec<String>,
    pub next_page: Option<String>,
    /// The body was cut off or damaged so that events may be missing: the ones read are
    /// stored, but no stored event is withdrawn for being absent.
    pub partial: bool,
    /// Times read in the calendar's zone because their TZID names no zone.
    pub zone_fallbacks: usize,
}

/// Settings a parser needs from the calendar and the source.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    /// Zone for floating times when the feed names none.
    pub default_tz: Tz,
    /// Field mapping of the source, if configured.
    pub mapping: Option<&'a FieldMapping>,
    /// URL the body came from (to resolve relative links), for HTTP sources.
    pub base_url: Option<&'a url::Url>,
    /// When the feed is read: a series in a time zone no IANA zone follows is expanded for
    /// the years around it (see [`ics`]).
    pub now: chrono::DateTime<chrono::Utc>,
}

impl ParseContext<'static> {
    /// The same context, read at `now`.
    pub fn at(self, now: chrono::DateTime<chrono::Utc>) -> ParseContext<'static> {
        ParseContext { now, ..self }
    }

    /// A context with only the default zone.
    pub fn new(default_tz: Tz) -> ParseContext<'static> {
        ParseContext {
            default_tz,
            mapping: None,
            base_url: None,
            now: crate::clock::now(),
        }
    }
}

/// Most nesting accepted in JSON and XML documents (deeper is an attack or a broken feed).
pub const MAX_DEPTH: usize = 128;

/// Detects the format from the body's first characters, falling back on the Content-Type.
pub fn detect(
    text: &str,
    content_type: Option<&str>,
    has_mapping: bool,
) -> Result<Format, FormatError> {
    let body = text.trim_start();
    let head: String = body.chars().take(512).collect();
    // A calendar, or components without one around them (the parser reads those too).
    if head
        .get(..6)
        .is_some_and(|b| b.eq_ignore_ascii_case("BEGIN:"))
    {
        return Ok(Format::Ics);
    }
    if head.starts_with('<') {
        return match xml_root(body).as_deref() {
            Some("rss") | Some("rdf:RDF") | Some("RDF") => Ok(Format::Rss),
            Some("feed") => Ok(Format::Atom),
            Some(r) if r.ends_with(":feed") => Ok(Format::Atom),
            Some(r) if r.ends_with(":rss") => Ok(Format::Rss),
            Some(r) if r.ends_with(":icalendar") => Ok(Format::Xcal),
            Some("icalendar") => Ok(Format::Xcal),
            Some(r) if r.eq_ignore_ascii_case("html") => Ok(Format::Html),
            _ if head.to_ascii_lowercase().contains("<html")
                || head.to_ascii_lowercase().starts_with("<!doctype html") =>
            {
                Ok(Format::Html)
            }
            _ => Err(FormatError::Unrecognised(head.chars().take(40).collect())),
        };
    }
    if head.starts_with('{') || head.starts_with('[') {
        return Ok(detect_json(body, has_mapping));
    }
    let ct = crate::text::media_type(content_type.unwrap_or(""));
    let by_type = [
        ("text/calendar", Format::Ics),
        ("application/calendar+xml", Format::Xcal),
        ("application/calendar+json", Format::Jcal),
        ("application/rss+xml", Format::Rss),
        ("application/atom+xml", Format::Atom),
        ("application/ld+json", Format::JsonLd),
    ];
    if let Some((_, f)) = by_type.iter().find(|(t, _)| ct == *t) {
        return Ok(*f);
    }
    Err(FormatError::Unrecognised(head.chars().take(40).collect()))
}

/// The name of the first element of an XML document (after the declaration, comments and
/// the doctype).
fn xml_root(text: &str) -> Option<String> {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>")? + 2..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->")? + 3..];
        } else if rest.starts_with("<!") {
            // `get` rather than slicing: byte 9 may fall inside a multi-byte character.
            if rest
                .get(..9)
                .is_some_and(|d| d.eq_ignore_ascii_case("<!doctype"))
                && rest
                    .get(9..)
                    .is_some_and(|r| r.trim_start().to_ascii_lowercase().starts_with("html"))
            {
                return Some("html".into());
            }
            // Skip the doctype, including an internal subset `[...]` (whose entity
            // declarations the XML parsers then refuse with a clear message).
            let end = match (rest.find('['), rest.find('>')) {
                (Some(open), Some(gt)) if open < gt => {
                    let close = open + rest[open..].find(']')?;
                    close + rest[close..].find('>')?
                }
                (_, Some(gt)) => gt,
                _ => return None,
            };
            rest = &rest[end + 1..];
        } else {
            let r = rest.strip_prefix('<')?;
            let end = r.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
            return Some(r[..end].to_string());
        }
    }
}

/// Tells the JSON formats apart by their shape.
fn detect_json(text: &str, has_mapping: bool) -> Format {
    let probe: String = text.chars().take(4096).collect();
    let compact: String = probe.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.starts_with("[\"vcalendar\"") || compact.starts_with("[[\"vcalendar\"") {
        return Format::Jcal;
    }
    if compact.contains("\"@context\"")
        || compact.contains("\"@type\"")
        || compact.contains("\"@graph\"")
    {
        return Format::JsonLd;
    }
    if compact.contains("schema.oparl.org") {
        return Format::Oparl;
    }
    if has_mapping {
        Format::MappedJson
    } else {
        Format::JsonLd
    }
}

/// The format a source's `format` key forces, if any.
fn forced(choice: FormatChoice) -> Option<Format> {
    match choice {
        FormatChoice::Auto => None,
        FormatChoice::Ics => Some(Format::Ics),
        FormatChoice::Xcal => Some(Format::Xcal),
        FormatChoice::Jcal => Some(Format::Jcal),
        FormatChoice::Rss => Some(Format::Rss),
        FormatChoice::Atom => Some(Format::Atom),
        FormatChoice::Jsonld => None,
        FormatChoice::Json => Some(Format::MappedJson),
        FormatChoice::Oparl => Some(Format::Oparl),
    }
}

/// Decodes and parses a body in the configured (or detected) format.
pub fn parse(
    bytes: &[u8],
    choice: FormatChoice,
    content_type: Option<&str>,
    ctx: &ParseContext,
) -> Result<(Format, Parsed), FormatError> {
    let (text, decode_warning) = decode_text(bytes);
    let detected = detect(&text, content_type, ctx.mapping.is_some());
    let format = match (forced(choice), choice, detected) {
        // An HTML page where a data feed was expected is an error page.
        (Some(f), _, Ok(Format::Html)) if f != Format::Html => return Err(FormatError::Html),
        (Some(f), _, _) => f,
        (None, FormatChoice::Jsonld, Ok(Format::Html)) => Format::Html,
        (None, FormatChoice::Jsonld, _) => Format::JsonLd,
        (None, _, d) => d?,
    };
    let mut parsed = match format {
        Format::Ics => ics::parse(&text, ctx)?,
        Format::Xcal => xcal::parse(&text, ctx)?,
        Format::Jcal => jcal::parse(&text, ctx)?,
        Format::Rss => rss::parse(&text, ctx)?,
        Format::Atom => atom::parse(&text, ctx)?,
        Format::JsonLd => jsonld::parse_json(&text, ctx)?,
        Format::Html => jsonld::parse_html(&text, ctx)?,
        Format::MappedJson => mapped::parse(&text, ctx)?,
        Format::Oparl => oparl::parse(&text, ctx)?,
    };
    if let Some(w) = decode_warning {
        parsed.warnings.insert(0, w);
    }
    Ok((format, parsed))
}

/// Turns a body into text: strips a UTF-8 BOM, decodes UTF-16 with a BOM, replaces invalid
/// sequences in a body that is mostly UTF-8 (more valid non-ASCII characters than invalid
/// sequences), falls back to Windows-1252 (a superset of Latin-1) for other bodies that are
/// not valid UTF-8 (Latin-1 mislabelled as UTF-8), and drops NUL
/// characters (which PostgreSQL would refuse). Returns a warning when it had to guess.
pub fn decode_text(bytes: &[u8]) -> (String, Option<String>) {
    let (text, warning) = if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _, had_errors) = enc.decode(&bytes[bom_len..]);
        let warning = had_errors.then(|| format!("invalid {} sequences replaced", enc.name()));
        (text.into_owned(), warning)
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), None),
            Err(e) => {
                let lossy = String::from_utf8_lossy(bytes);
                let (valid, invalid) = lossy.chars().fold((0usize, 0usize), |(v, i), c| match c {
                    '\u{FFFD}' => (v, i + 1),
                    c if !c.is_ascii() => (v + 1, i),
                    _ => (v, i),
                });
                if valid > invalid {
                    // Mostly UTF-8 with a few broken sequences: replace those, keep the rest.
                    (
                        lossy.into_owned(),
                        Some(format!(
                            "body is not valid UTF-8 (first at byte {}); {invalid} invalid sequences replaced",
                            e.valid_up_to()
                        )),
                    )
                } else {
                    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
                    (
                        text.into_owned(),
                        Some(format!(
                            "body is not valid UTF-8 (at byte {}); decoded as Windows-1252/Latin-1",
                            e.valid_up_to()
                        )),
                    )
                }
            }
        }
    };
    if text.contains('\0') {
        (
            text.replace('\0', ""),
            warning.or_else(|| Some("NUL characters removed".into())),
        )
    } else {
        (text, warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_every_format_from_the_body() {
        let cases = [
            ("\r\n  BEGIN:VCALENDAR\r\n", Format::Ics),
            ("begin:vcalendar\n", Format::Ics),
            (
                "<?xml version=\"1.0\"?>\n<!-- x --><rss version=\"2.0\">",
                Format::Rss,
            ),
            (
                "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">",
                Format::Rss,
            ),
            (
                "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">",
                Format::Atom,
            ),
            (
                "<icalendar xmlns=\"urn:ietf:params:xml:ns:icalendar-2.0\">",
                Format::Xcal,
            ),
            (
                "<atom:feed xmlns:atom=\"http://www.w3.org/2005/Atom\">",
                Format::Atom,
            ),
            (
                "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"b\">]><rss version=\"2.0\">",
                Format::Rss,
            ),
            (
                "<!DOCTYPE html><html><body>Login</body></html>",
                Format::Html,
            ),
            ("<HTML><HEAD>", Format::Html),
            ("[\"vcalendar\", [], []]", Format::Jcal),
            (
                "{\"@context\": \"https://schema.org\", \"@type\": \"Event\"}",
                Format::JsonLd,
            ),
            ("[{\"@type\": \"Event\"}]", Format::JsonLd),
            (
                "{\"data\": [{\"type\": \"https://schema.oparl.org/1.1/Meeting\"}]}",
                Format::Oparl,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(detect(body, None, false).unwrap(), want, "{body}");
        }
        assert_eq!(
            detect("{\"veranstaltungen\": []}", None, true).unwrap(),
            Format::MappedJson
        );
        assert!(matches!(
            detect("hello", None, false),
            Err(FormatError::Unrecognised(_))
        ));
        // Found by fuzzing: a multi-byte character where "<!DOCTYPE" would end.
        assert!(
            detect(
                "<?xml version=\"1.0\"?>\n<!DOCT\u{a2}\u{a2}\u{a2}",
                None,
                false
            )
            .is_err()
        );
        assert_eq!(
            detect("hello", Some("text/calendar; charset=utf-8"), false).unwrap(),
            Format::Ics
        );
    }

    #[test]
    fn row10_html_where_a_feed_was_configured_is_an_error() {
        let ctx = ParseContext::new(chrono_tz::Europe::Berlin);
        let page = b"<!DOCTYPE html><html><body>Bitte anmelden</body></html>";
        assert!(matches!(
            parse(page, FormatChoice::Ics, None, &ctx),
            Err(FormatError::Html)
        ));
        assert!(matches!(
            parse(page, FormatChoice::Rss, None, &ctx),
            Err(FormatError::Html)
        ));
    }

    #[test]
    fn row13_decodes_boms_latin1_invalid_utf8_and_nul() {
        let (t, w) = decode_text(b"\xEF\xBB\xBFBEGIN:VCALENDAR");
        assert_eq!((t.as_str(), w), ("BEGIN:VCALENDAR", None));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("BEGIN:ä".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(&utf16).0, "BEGIN:ä");
        let (t, w) = decode_text(b"SUMMARY:Stra\xDFe");
        assert_eq!(t, "SUMMARY:Straße");
        assert!(w.unwrap().contains("Windows-1252"));
        let (t, w) = decode_text(b"A\0B");
        assert_eq!(t, "AB");
        assert!(w.is_some());
        // UTF-16 big endian with a BOM, and UTF-8 with a stray invalid byte: the valid
        // characters stay as they are, the invalid byte becomes U+FFFD.
        let utf16be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("Köln".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode_text(&utf16be).0, "Köln");
        let (t, w) = decode_text("Straße Köln \u{FF}".as_bytes());
        assert_eq!((t.as_str(), w), ("Straße Köln \u{FF}", None));
        let mut mixed = "Straße Köln ".as_bytes().to_vec();
        mixed.push(0xFF);
        let (t, w) = decode_text(&mixed);
        assert_eq!(t, "Straße Köln \u{FFFD}");
        assert!(w.unwrap().contains("1 invalid sequences replaced"));
    }
}

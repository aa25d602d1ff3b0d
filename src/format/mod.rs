//! Input formats: detect what a body is, decode it to text, and parse it into events.
//!
//! A new format is one file in this folder plus one arm in [`Format`], [`detect`] and [`parse`].
//! Parsers are lenient per event and strict per feed: one bad event becomes a warning naming its
//! UID or line and the rest of the feed is kept; a body that is not a feed at all (an HTML error
//! page, an empty calendar file, garbage) is a [`FormatError`] and changes nothing in the store.

pub mod ics;

use crate::config::FormatChoice;
use crate::model::Event;
use chrono_tz::Tz;

/// A feed format regiocal can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// iCalendar (RFC 5545).
    Ics,
}

impl Format {
    /// Lower-case name, as in the config.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Ics => "ics",
        }
    }
}

/// Why a body could not be read as a feed.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("got an HTML page, not a feed (an error or login page?)")]
    Html,
    #[error("unrecognised format (starts with {0:?})")]
    Unrecognised(String),
    #[error("iCalendar: {0}")]
    Ics(String),
}

/// What parsing a feed produced: events, plus one warning per skipped event or bad line.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub warnings: Vec<String>,
}

/// Settings a parser needs from the calendar.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext {
    /// Zone for floating times when the feed names none.
    pub default_tz: Tz,
}

/// Detects the format of a (decoded) body from its first non-blank characters.
pub fn detect(text: &str) -> Result<Format, FormatError> {
    let head: String = text.trim_start().chars().take(256).collect();
    let upper = head.to_ascii_uppercase();
    if upper.starts_with("BEGIN:VCALENDAR") {
        return Ok(Format::Ics);
    }
    if upper.starts_with("<!DOCTYPE HTML") || upper.starts_with("<HTML") || upper.contains("<HTML")
    {
        return Err(FormatError::Html);
    }
    let shown: String = head.chars().take(40).collect();
    Err(FormatError::Unrecognised(shown))
}

/// Decodes and parses a body in the configured (or detected) format.
pub fn parse(
    bytes: &[u8],
    choice: FormatChoice,
    ctx: &ParseContext,
) -> Result<(Format, Parsed), FormatError> {
    let (text, decode_warning) = decode_text(bytes);
    let format = match choice {
        FormatChoice::Auto => detect(&text)?,
        FormatChoice::Ics => match detect(&text) {
            Err(FormatError::Html) => return Err(FormatError::Html),
            _ => Format::Ics,
        },
    };
    let mut parsed = match format {
        Format::Ics => ics::parse(&text, ctx)?,
    };
    if let Some(w) = decode_warning {
        parsed.warnings.insert(0, w);
    }
    Ok((format, parsed))
}

/// Turns a body into text: strips a UTF-8 BOM, decodes UTF-16 with a BOM, falls back to
/// Windows-1252 (a superset of Latin-1) for bytes that are not valid UTF-8, and drops NUL
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
    fn detects_ics_and_html() {
        assert_eq!(detect("\r\n  BEGIN:VCALENDAR\r\n").unwrap(), Format::Ics);
        assert_eq!(detect("begin:vcalendar\n").unwrap(), Format::Ics);
        assert!(matches!(
            detect("<!DOCTYPE html><html><body>Login</body></html>"),
            Err(FormatError::Html)
        ));
        assert!(matches!(
            detect("{\"a\":1}"),
            Err(FormatError::Unrecognised(_))
        ));
    }

    #[test]
    fn decodes_boms_latin1_and_nul() {
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
    }
}

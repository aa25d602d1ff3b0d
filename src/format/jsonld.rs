//! schema.org JSON-LD input (being implemented).

use super::{FormatError, ParseContext, Parsed};

/// Parses a JSON-LD document.
pub fn parse_json(_text: &str, _ctx: &ParseContext) -> Result<Parsed, FormatError> {
    Err(FormatError::Invalid {
        format: "jsonld",
        message: "not supported yet".into(),
    })
}

/// Parses the JSON-LD blocks of an HTML page.
pub fn parse_html(_text: &str, _ctx: &ParseContext) -> Result<Parsed, FormatError> {
    Err(FormatError::NoEventsInHtml)
}

//! RSS input (being implemented).

use super::{FormatError, ParseContext, Parsed};

/// Parses a RSS document.
pub fn parse(_text: &str, _ctx: &ParseContext) -> Result<Parsed, FormatError> {
    Err(FormatError::Invalid {
        format: "rss",
        message: "not supported yet".into(),
    })
}

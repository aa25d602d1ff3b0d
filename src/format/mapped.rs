//! mapped JSON input (being implemented).

use super::{FormatError, ParseContext, Parsed};

/// Parses a mapped JSON document.
pub fn parse(_text: &str, _ctx: &ParseContext) -> Result<Parsed, FormatError> {
    Err(FormatError::Invalid {
        format: "mapped",
        message: "not supported yet".into(),
    })
}

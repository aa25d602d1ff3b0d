//! Atom input (being implemented).

use super::{FormatError, ParseContext, Parsed};

/// Parses a Atom document.
pub fn parse(_text: &str, _ctx: &ParseContext) -> Result<Parsed, FormatError> {
    Err(FormatError::Invalid {
        format: "atom",
        message: "not supported yet".into(),
    })
}

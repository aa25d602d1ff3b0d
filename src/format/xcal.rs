//! xCal input (being implemented).

use super::{FormatError, ParseContext, Parsed};

/// Parses a xCal document.
pub fn parse(_text: &str, _ctx: &ParseContext) -> Result<Parsed, FormatError> {
    Err(FormatError::Invalid {
        format: "xcal",
        message: "not supported yet".into(),
    })
}

//! jCal input (being implemented).

use super::{FormatError, ParseContext, Parsed};

/// Parses a jCal document.
pub fn parse(_text: &str, _ctx: &ParseContext) -> Result<Parsed, FormatError> {
    Err(FormatError::Invalid {
        format: "jcal",
        message: "not supported yet".into(),
    })
}

//! OParl input (being implemented).

use super::{FormatError, ParseContext, Parsed};

/// Parses a OParl document.
pub fn parse(_text: &str, _ctx: &ParseContext) -> Result<Parsed, FormatError> {
    Err(FormatError::Invalid {
        format: "oparl",
        message: "not supported yet".into(),
    })
}

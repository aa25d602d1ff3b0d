//! Fuzzes the schema.org JSON-LD parser on JSON documents (decoding, detection, parsing,
//! normalisation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use regiocal::config::FormatChoice;
use regiocal::format::{self, ParseContext};

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new(chrono_tz::Europe::Berlin);
    if let Ok((_, parsed)) = format::parse(data, FormatChoice::Jsonld, None, &ctx) {
        let _ = regiocal::normalize::normalize(parsed.events, &Default::default());
    }
});

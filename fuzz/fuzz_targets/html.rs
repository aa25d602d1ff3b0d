//! Fuzzes the JSON-LD extraction from HTML pages (lol_html script blocks, per-block JSON
//! parsing, normalisation). The input is prefixed with `<html>` so detection always picks the
//! HTML path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regiocal::config::FormatChoice;
use regiocal::format::{self, ParseContext};

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new(chrono_tz::Europe::Berlin);
    let mut page = b"<html>".to_vec();
    page.extend_from_slice(data);
    if let Ok((_, parsed)) = format::parse(&page, FormatChoice::Jsonld, None, &ctx) {
        let _ = regiocal::normalize::normalize(parsed.events, &Default::default());
    }
});

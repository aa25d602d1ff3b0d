//! Fuzzes the mapped JSON parser with two fixed mappings (short-form paths as in
//! `config/mapped-json-example.toml`, and full JSONPaths with a date format), then normalises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regiocal::config::{FieldMapping, FormatChoice};
use regiocal::format::{self, ParseContext};

fn path(s: &str) -> Option<String> {
    Some(s.to_string())
}

fn mappings() -> [FieldMapping; 2] {
    let short = FieldMapping {
        items: path("data.veranstaltungen"),
        uid: path("id"),
        title: path("titel"),
        description: path("beschreibung"),
        start: path("beginn"),
        end: path("ende"),
        all_day: path("ganztaegig"),
        location: path("ort.name"),
        street: path("ort.strasse"),
        postal_code: path("ort.plz"),
        locality: path("ort.stadt"),
        lat: path("ort.lat"),
        lon: path("ort.lon"),
        url: path("link"),
        image: path("bilder[0].url"),
        categories: path("kategorien"),
        status: path("abgesagt"),
        price: path("preis"),
        date_format: None,
    };
    let full = FieldMapping {
        items: path("$..events[*]"),
        uid: path("$.id"),
        title: path("$['title', 'name']"),
        start: path("$.start"),
        end: path("$.end"),
        all_day: path("$.allDay"),
        categories: path("$.tags[*]"),
        status: path("$.status"),
        price: path("$.offers[0].price"),
        lat: path("$.geo[0]"),
        lon: path("$.geo[1]"),
        date_format: path("%d.%m.%Y %H:%M"),
        ..FieldMapping::default()
    };
    [short, full]
}

fuzz_target!(|data: &[u8]| {
    for mapping in &mappings() {
        let ctx = ParseContext {
            now: regiocal::clock::now(),
            default_tz: chrono_tz::Europe::Berlin,
            mapping: Some(mapping),
            base_url: None,
        };
        if let Ok((_, parsed)) = format::parse(data, FormatChoice::Json, None, &ctx) {
            let _ = regiocal::normalize::normalize(parsed.events, &Default::default());
        }
    }
});

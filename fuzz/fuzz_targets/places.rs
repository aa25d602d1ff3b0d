//! Fuzzes the place layers an operator loads: the venue CSV, district GeoJSON, the overrides
//! file and geocoder answers (the first byte picks the parser).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let path = Path::new("fuzz");
    match which % 4 {
        0 => {
            if let Ok(venues) = regiocal::geo::venues::Registry::parse_csv(rest, path) {
                let r = regiocal::geo::venues::Registry::new(venues);
                let _ = r.resolve(Some("Stadttheater, Großes Haus"), None, None);
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(areas) = regiocal::geo::districts::Areas::parse(text, path, false)
            {
                let _ = areas.find(regiocal::model::Geo {
                    lat: 51.5,
                    lon: 7.4,
                });
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = regiocal::overrides::Overrides::parse(text, path);
            }
        }
        _ => {
            let _ = regiocal::geo::geocoder::parse_answer(rest);
        }
    }
});

//! Fuzzes the transit inputs: a GTFS feed as a zip archive, and GBFS station information
//! (the first byte picks the parser).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        if let Ok(stations) = regiocal::transit::parse_station_information(rest) {
            let index = regiocal::transit::BikeIndex::new(stations);
            let _ = index.nearest(51.51, 7.46, 600.0, 3);
        }
    } else if let Ok(gtfs) = regiocal::transit::Gtfs::from_zip(
        std::io::Cursor::new(rest),
        std::path::Path::new("fuzz.zip"),
    ) {
        let hits = gtfs.nearest(51.51, 7.46, 600.0, 3);
        if let Some(h) = hits.first() {
            let _ = gtfs.last_departure(
                &h.stop_id,
                chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default(),
                chrono::NaiveTime::MIN,
            );
        }
    }
});

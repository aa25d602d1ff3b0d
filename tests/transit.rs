//! The transit layer on the Musterstadt fixtures: nearest stops against brute force, lines per
//! stop, last departures by calendar, tolerant and strict GTFS reading, GBFS and journey links.

mod common;
#[path = "common/lcg.rs"]
mod lcg;

use chrono::{FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use common::fixture_path;
use lcg::Lcg;
use regiocal::transit::{
    BikeIndex, GbfsLocation, Gtfs, Line, Mode, Station, TransitConfig, TransitError, journey_link,
    parse_station_information,
};
use std::io::Write;
use std::path::{Path, PathBuf};

fn musterstadt() -> Gtfs {
    Gtfs::load(&fixture_path("gtfs/musterstadt")).expect("fixture loads")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn line(name: &str, mode: Mode) -> Line {
    Line {
        short_name: name.into(),
        mode,
    }
}

/// The indexed stops of a `stops.txt`, read independently: (id, lat, lon) in file order.
fn stops_by_hand(dir: &Path) -> Vec<(String, f64, f64)> {
    let mut reader = csv::Reader::from_path(dir.join("stops.txt")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, lat, lon, kind) = (
        col("stop_id"),
        col("stop_lat"),
        col("stop_lon"),
        col("location_type"),
    );
    reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| matches!(&r[kind], "" | "0") && !r[lat].is_empty())
        .map(|r| {
            (
                r[id].to_string(),
                r[lat].parse().unwrap(),
                r[lon].parse().unwrap(),
            )
        })
        .collect()
}

/// Brute force: every point within the radius, nearest first, ties in input order.
fn brute_force(
    points: &[(String, f64, f64)],
    lat: f64,
    lon: f64,
    radius: f64,
    max: usize,
) -> Vec<(String, f64)> {
    let mut hits: Vec<(usize, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let geo = |lat, lon| regiocal::model::Geo { lat, lon };
            (
                i,
                regiocal::compare::distance_m(geo(lat, lon), geo(p.1, p.2)),
            )
        })
        .filter(|&(_, d)| d <= radius)
        .collect();
    hits.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    hits.truncate(max);
    hits.into_iter()
        .map(|(i, d)| (points[i].0.clone(), d))
        .collect()
}

#[test]
fn musterstadt_loads_with_expected_counts() {
    let gtfs = musterstadt();
    let stats = gtfs.stats();
    assert_eq!(stats.stops, 25, "location_type 0/empty with coordinates");
    assert_eq!(gtfs.stop_count(), 25);
    assert_eq!(stats.stations, 1);
    assert_eq!(stats.stops_without_coordinates, 0);
    assert_eq!(stats.routes, 5);
    assert_eq!(stats.services, 3);
    assert_eq!(stats.trips, 383);
    assert_eq!(stats.stop_times, 2581);
    assert_eq!(stats.skipped_references, 0);
    assert!(stats.departures > 1500 && stats.departures < stats.stop_times);
}

#[test]
fn nearest_stops_match_brute_force_for_random_points() {
    let gtfs = musterstadt();
    let stops = stops_by_hand(&fixture_path("gtfs/musterstadt"));
    assert_eq!(stops.len(), 25);
    let mut rng = Lcg(42);
    let radii = [0.0, 50.0, 150.0, 300.0, 600.0, 1_500.0, 5_000.0, 50_000.0];
    let maxes = [1, 3, 100];
    let mut non_empty = 0;
    for i in 0..3_000 {
        // Mostly inside the region, sometimes exactly on a stop.
        let (lat, lon) = if i % 10 == 0 {
            let s = &stops[i / 10 % stops.len()];
            (s.1, s.2)
        } else {
            (rng.range(51.48, 51.55), rng.range(7.39, 7.53))
        };
        let radius = radii[i % radii.len()];
        let max = maxes[i / radii.len() % maxes.len()];
        let got: Vec<(String, f64)> = gtfs
            .nearest(lat, lon, radius, max)
            .into_iter()
            .map(|h| (h.stop_id, h.distance_m))
            .collect();
        let want = brute_force(&stops, lat, lon, radius, max);
        assert_eq!(
            got, want,
            "point ({lat}, {lon}), radius {radius}, max {max}"
        );
        non_empty += usize::from(!got.is_empty());
    }
    assert!(non_empty > 1_000, "the sample exercises hits ({non_empty})");
}

#[test]
fn point_index_matches_brute_force_worldwide_incl_poles_and_antimeridian() {
    let mut rng = Lcg(7);
    let mut points = Vec::new();
    for i in 0..2_000 {
        let (lat, lon) = match i % 4 {
            0 => (rng.range(-90.0, 90.0), rng.range(-180.0, 180.0)),
            1 => (
                rng.range(-1.0, 1.0),
                179.0 + rng.range(0.0, 2.0) - if rng.next() < 0.5 { 360.0 } else { 0.0 },
            ),
            2 => (rng.range(88.5, 90.0), rng.range(-180.0, 180.0)),
            _ => (rng.range(59.0, 61.0), rng.range(9.0, 11.0)),
        };
        let lon = if lon > 180.0 {
            lon - 360.0
        } else if lon < -180.0 {
            lon + 360.0
        } else {
            lon
        };
        points.push((format!("s{i}"), lat, lon));
    }
    let bikes = BikeIndex::new(
        points
            .iter()
            .map(|(id, lat, lon)| Station {
                station_id: id.clone(),
                name: id.clone(),
                lat: *lat,
                lon: *lon,
                capacity: None,
            })
            .collect(),
    );
    for i in 0..1_500 {
        let (lat, lon) = match i % 3 {
            0 => (
                rng.range(-1.0, 1.0),
                if rng.next() < 0.5 {
                    rng.range(179.0, 180.0)
                } else {
                    rng.range(-180.0, -179.0)
                },
            ),
            1 => (rng.range(88.0, 90.0), rng.range(-180.0, 180.0)),
            _ => (rng.range(58.5, 61.5), rng.range(8.5, 11.5)),
        };
        let radius = [1_000.0, 20_000.0, 100_000.0, 300_000.0][i % 4];
        let got: Vec<(String, f64)> = bikes
            .nearest(lat, lon, radius, 25)
            .into_iter()
            .map(|h| (h.station_id, h.distance_m))
            .collect();
        assert_eq!(
            got,
            brute_force(&points, lat, lon, radius, 25),
            "({lat}, {lon}) r {radius}"
        );
    }
}

#[test]
fn radius_edge_cases() {
    let gtfs = musterstadt();
    let (lat, lon) = (51.514, 7.463); // Markt
    let all = gtfs.nearest(lat, lon, 50_000.0, 100);
    assert_eq!(all.len(), 25);
    assert_eq!(all[0].stop_id, "markt");
    assert_eq!(all[0].distance_m, 0.0);
    assert_eq!(all[0].walk_min, 0);

    // A stop exactly on the radius is in; a hair less and it is out.
    let rathaus = all.iter().find(|h| h.stop_id == "rathaus").unwrap();
    let exact = gtfs.nearest(lat, lon, rathaus.distance_m, 100);
    assert_eq!(exact.last().unwrap().stop_id, "rathaus");
    let less = gtfs.nearest(lat, lon, rathaus.distance_m - 1e-6, 100);
    assert!(less.iter().all(|h| h.stop_id != "rathaus"));
    assert_eq!(exact.len(), less.len() + 1);
    assert_eq!(
        rathaus.walk_min,
        (rathaus.distance_m * 1.3 / 80.0).ceil() as u32
    );

    // Zero radius: only what stands on the point.
    let zero = gtfs.nearest(lat, lon, 0.0, 10);
    assert_eq!(
        zero.iter().map(|h| h.stop_id.as_str()).collect::<Vec<_>>(),
        ["markt"]
    );

    // Degenerate queries give nothing rather than panicking.
    assert!(gtfs.nearest(lat, lon, -1.0, 10).is_empty());
    assert!(gtfs.nearest(lat, lon, f64::NAN, 10).is_empty());
    assert!(gtfs.nearest(f64::NAN, lon, 600.0, 10).is_empty());
    assert!(gtfs.nearest(91.0, lon, 600.0, 10).is_empty());
    assert!(gtfs.nearest(lat, lon, 600.0, 0).is_empty());
    assert_eq!(gtfs.nearest(lat, lon, 50_000.0, 3).len(), 3);
    // Far away from the region.
    assert!(gtfs.nearest(48.0, 11.0, 600.0, 10).is_empty());
}

#[test]
fn lines_per_stop_and_names() {
    let gtfs = musterstadt();
    assert_eq!(
        gtfs.lines("markt"),
        [line("U42", Mode::Tram), line("410", Mode::Bus)]
    );
    assert_eq!(
        gtfs.lines("hoerde"),
        [line("RB 59", Mode::Rail), line("U42", Mode::Tram)]
    );
    assert_eq!(
        gtfs.lines("hbf_bus"),
        [line("410", Mode::Bus), line("447", Mode::Bus)]
    );
    // Served by untimed stop_times rows only: still a line of the stop.
    assert_eq!(gtfs.lines("museum"), [line("447", Mode::Bus)]);
    // Route without a short name: the long name, mode from extended type 1200.
    assert_eq!(
        gtfs.lines("hafen_anleger"),
        [line("Hafenfähre", Mode::Ferry)]
    );
    assert!(gtfs.lines("kirche").is_empty());
    assert!(
        gtfs.lines("hbf").is_empty(),
        "a parent station is not indexed"
    );
    assert!(gtfs.lines("nope").is_empty());

    // Names: quoted fields with commas and quotes; an empty name takes the parent station's.
    let name_at = |lat, lon| gtfs.nearest(lat, lon, 0.0, 1).pop().unwrap().name;
    assert_eq!(name_at(51.5177, 7.4592), "Musterstadt Hbf");
    assert_eq!(name_at(51.5105, 7.4608), "Theater, Haupteingang");
    assert_eq!(name_at(51.506, 7.48), "Platz \"Am See\"");
    assert_eq!(name_at(51.517, 7.4585), "Hauptbahnhof, Bussteig A");

    let hits = gtfs.nearest(51.5175, 7.4590, 100.0, 10);
    let ids: Vec<&str> = hits.iter().map(|h| h.stop_id.as_str()).collect();
    assert!(ids.contains(&"hbf_g1") && ids.contains(&"hbf_u"));
    assert!(
        !ids.contains(&"hbf") && !ids.contains(&"hbf_entr"),
        "stations and entrances are not stops"
    );
    let g1 = hits.iter().find(|h| h.stop_id == "hbf_g1").unwrap();
    assert_eq!(g1.lines, [line("RB 59", Mode::Rail)]);
}

#[test]
fn last_departure_follows_the_calendar() {
    let gtfs = musterstadt();
    let last = |stop: &str, d: NaiveDate, after: NaiveTime| gtfs.last_departure(stop, d, after);

    // Wednesday: the last U42 towards Hafen leaves Markt at 24:52 of the service day.
    let wed = last("markt", date(2026, 6, 3), time(20, 0)).unwrap();
    assert_eq!(wed.seconds, 24 * 3600 + 52 * 60);
    assert_eq!(wed.service_date, date(2026, 6, 3));
    assert_eq!(wed.time(), time(0, 52));
    assert_eq!(wed.at(), date(2026, 6, 4).and_time(time(0, 52)));
    assert_eq!(wed.line, line("U42", Mode::Tram));

    // Saturday timetable: 23:22.
    let sat = last("markt", date(2026, 6, 6), time(20, 0)).unwrap();
    assert_eq!(
        (sat.seconds, sat.service_date),
        (23 * 3600 + 22 * 60, date(2026, 6, 6))
    );

    // Ascension Day, a Thursday: the weekday service is removed and the weekend one added.
    let holiday = last("markt", date(2026, 5, 14), time(20, 0)).unwrap();
    assert_eq!(holiday.seconds, 23 * 3600 + 22 * 60);
    assert!(gtfs.service_active("WE", date(2026, 5, 14)));
    assert!(!gtfs.service_active("WD", date(2026, 5, 14)));
    assert_eq!(gtfs.services_on(date(2026, 5, 13)), ["WD"]);
    assert_eq!(gtfs.services_on(date(2026, 12, 31)), ["NYE", "WD"]);

    // New Year's Eve (calendar_dates only) adds night trams up to 26:08.
    let nye = last("markt", date(2026, 12, 31), time(22, 0)).unwrap();
    assert_eq!(
        (nye.seconds, nye.service_date),
        (26 * 3600 + 8 * 60, date(2026, 12, 31))
    );
    // Asked on New Year's Day after midnight: the previous service day's night trams count.
    let jan1 = last("markt", date(2027, 1, 1), time(0, 30)).unwrap();
    assert_eq!(jan1.service_date, date(2026, 12, 31));
    assert_eq!(jan1.at(), date(2027, 1, 1).and_time(time(2, 8)));
    assert!(last("markt", date(2027, 1, 1), time(3, 0)).is_none());

    // A trip's last stop is an arrival: Seeplatz's last departure is the 20:20 bus, not the
    // 20:41 arrival.
    let see = last("seeplatz", date(2026, 6, 3), time(19, 0)).unwrap();
    assert_eq!(
        (see.seconds, see.line.short_name.as_str()),
        (20 * 3600 + 20 * 60, "447")
    );
    assert!(last("seeplatz", date(2026, 6, 3), time(20, 21)).is_none());
    assert!(
        last("seeplatz", date(2026, 6, 6), time(0, 0)).is_none(),
        "no 447 at weekends"
    );

    // The ferry runs at weekends and on the holidays with the weekend timetable.
    let ferry = last("hafen_anleger", date(2026, 6, 6), time(12, 0)).unwrap();
    assert_eq!(ferry.seconds, 18 * 3600);
    assert_eq!(ferry.line, line("Hafenfähre", Mode::Ferry));
    assert!(last("hafen_anleger", date(2026, 6, 6), time(18, 1)).is_none());
    assert!(last("hafen_anleger", date(2026, 6, 3), time(0, 0)).is_none());
    assert_eq!(
        last("hafen_anleger", date(2026, 12, 25), time(9, 0))
            .unwrap()
            .seconds,
        18 * 3600
    );

    // Untimed rows are no departures; unknown stops and days outside the calendar give None.
    assert!(last("museum", date(2026, 6, 3), time(0, 0)).is_none());
    assert!(last("nope", date(2026, 6, 3), time(0, 0)).is_none());
    assert!(last("markt", date(2025, 6, 4), time(0, 0)).is_none());
}

/// Writes a zip of the Musterstadt folder, the files inside a `musterstadt/` folder.
fn zip_fixture(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let dir = fixture_path("gtfs/musterstadt");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for name in names {
        let base = name.file_name().unwrap().to_str().unwrap();
        zip.start_file(format!("musterstadt/{base}"), options)
            .unwrap();
        zip.write_all(&std::fs::read(&name).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn zip_feed_loads_like_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("musterstadt.zip");
    zip_fixture(&path);
    let folder = musterstadt();
    let zipped = Gtfs::load(&path).unwrap();
    assert_eq!(zipped.stats(), folder.stats());
    assert_eq!(
        zipped.nearest(51.514, 7.463, 600.0, 10),
        folder.nearest(51.514, 7.463, 600.0, 10)
    );
    assert_eq!(
        zipped.last_departure("markt", date(2026, 12, 31), time(22, 0)),
        folder.last_departure("markt", date(2026, 12, 31), time(22, 0))
    );
    let bytes = std::fs::read(&path).unwrap();
    let from_memory = Gtfs::from_zip(std::io::Cursor::new(bytes), Path::new("memory.zip")).unwrap();
    assert_eq!(from_memory.stats(), folder.stats());

    // Not a zip at all.
    std::fs::write(tmp.path().join("bad.zip"), b"PK but not really").unwrap();
    let err = Gtfs::load(&tmp.path().join("bad.zip")).unwrap_err();
    assert!(matches!(err, TransitError::Zip { .. }), "{err}");
}

/// Writes a small GTFS into a temporary folder from (file, content) pairs.
fn feed(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

const STOPS: &str = "stop_id,stop_name,stop_lat,stop_lon\na,A,51.5,7.4\nb,B,51.501,7.401\n";
const ROUTES: &str = "route_id,route_short_name,route_long_name,route_type\nr,1,Line one,3\n";
const TRIPS: &str = "route_id,service_id,trip_id\nr,S,t1\n";
const STOP_TIMES: &str = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nt1,08:00:00,08:00:00,a,1\nt1,08:05:00,08:05:00,b,2\n";
const CALENDAR: &str = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nS,1,1,1,1,1,1,1,20260101,20261231\n";

#[test]
fn bom_crlf_quotes_and_missing_optional_files_and_columns() {
    // BOM and CRLF in stops.txt, no location_type/parent_station columns, a quoted name with a
    // comma and a doubled quote, spaces around fields; routes.txt without route_short_name;
    // no calendar.txt, only calendar_dates.txt; no arrival_time column; pickup_type 1.
    let dir = feed(&[
        (
            "stops.txt",
            "\u{feff}stop_id,stop_name,stop_lat,stop_lon\r\na,\"Platz, \"\"Alt\"\"\",51.5,7.4\r\nb, B ,51.501,7.401\r\nc,C,51.502,7.402\r\nnocoord,N,,\r\n",
        ),
        (
            "routes.txt",
            "route_id,route_long_name,route_type\r\nr,Ringbahn,109\r\nq,,3\r\n",
        ),
        (
            "trips.txt",
            "route_id,service_id,trip_id,trip_headsign\nr,X,t1,\"Ring, innen\"\nq,X,t2,\nzz,X,t3,\n",
        ),
        (
            "stop_times.txt",
            "trip_id,departure_time,stop_id,stop_sequence,pickup_type\n\
             t1,21:00:00,a,1,0\n\
             t1,21:05:00,b,2,1\n\
             t1,21:10:00,c,3,\n\
             t2,22:00:00,a,1,\n\
             t2,22:30:00,b,2,\n\
             t3,23:00:00,a,1,\n\
             t9,23:00:00,a,1,\n",
        ),
        (
            "calendar_dates.txt",
            "service_id,date,exception_type\nX,20260601,1\n",
        ),
    ]);
    let gtfs = Gtfs::load(dir.path()).unwrap();
    let stats = gtfs.stats();
    assert_eq!(stats.stops, 3);
    assert_eq!(stats.stops_without_coordinates, 1);
    // The trip of an unknown route, its stop_times row, and a row of an unknown trip.
    assert_eq!(stats.skipped_references, 3);

    let hit = gtfs.nearest(51.5, 7.4, 0.0, 1).pop().unwrap();
    assert_eq!(hit.name, "Platz, \"Alt\"");
    assert_eq!(
        hit.lines,
        [line("Ringbahn", Mode::Rail), line("q", Mode::Bus)]
    );

    let day = date(2026, 6, 1);
    assert_eq!(gtfs.services_on(day), ["X"]);
    let a = gtfs.last_departure("a", day, time(12, 0)).unwrap();
    assert_eq!((a.seconds, a.line.short_name.as_str()), (22 * 3600, "q"));
    // b: 21:05 has no pickup, 22:30 is t2's last stop.
    assert!(gtfs.last_departure("b", day, time(0, 0)).is_none());
    assert_eq!(
        gtfs.lines("b").len(),
        2,
        "alighting-only stops keep their lines"
    );
    assert!(
        gtfs.last_departure("a", date(2026, 6, 2), time(0, 0))
            .is_none()
    );
}

/// The small valid feed below with some files replaced and some left out.
fn small_feed(replace: &[(&str, &str)], omit: &[&str]) -> tempfile::TempDir {
    let files: Vec<(&str, &str)> = [
        ("stops.txt", STOPS),
        ("routes.txt", ROUTES),
        ("trips.txt", TRIPS),
        ("stop_times.txt", STOP_TIMES),
        ("calendar.txt", CALENDAR),
    ]
    .into_iter()
    .filter(|(name, _)| !omit.contains(name))
    .map(|(name, content)| {
        let replaced = replace.iter().find(|(n, _)| *n == name);
        (name, replaced.map_or(content, |r| r.1))
    })
    .collect();
    feed(&files)
}

#[test]
fn missing_required_files_and_columns_are_named() {
    let err = Gtfs::load(small_feed(&[], &["stop_times.txt"]).path()).unwrap_err();
    assert!(
        matches!(
            err,
            TransitError::MissingFile {
                file: "stop_times.txt",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("stop_times.txt"), "{err}");

    let err = Gtfs::load(small_feed(&[], &["calendar.txt"]).path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("calendar.txt (or calendar_dates.txt)"),
        "{err}"
    );

    let no_lat = [("stops.txt", "stop_id,stop_name,stop_lon\na,A,7.4\n")];
    let err = Gtfs::load(small_feed(&no_lat, &[]).path()).unwrap_err();
    assert!(
        matches!(
            err,
            TransitError::MissingColumn {
                file: "stops.txt",
                column: "stop_lat"
            }
        ),
        "{err}"
    );

    // The complete small feed loads.
    let gtfs = Gtfs::load(small_feed(&[], &[]).path()).unwrap();
    let first = gtfs
        .last_departure("a", date(2026, 3, 3), time(7, 0))
        .unwrap();
    assert_eq!(first.seconds, 8 * 3600);

    let err = Gtfs::load(Path::new("/nonexistent/gtfs.zip")).unwrap_err();
    assert!(matches!(err, TransitError::Io { .. }), "{err}");
}

#[test]
fn bad_required_data_names_file_line_and_column() {
    let cases: [(&str, &str, &str, u64, &str); 9] = [
        (
            "stops.txt",
            "stop_id,stop_name,stop_lat,stop_lon\na,A,51.5,7.4\nb,B,north,7.4\n",
            "stops.txt",
            3,
            "stop_lat",
        ),
        (
            "stops.txt",
            "stop_id,stop_name,stop_lat,stop_lon\na,A,51.5,7.4\n,B,51.5,7.4\n",
            "stops.txt",
            3,
            "stop_id",
        ),
        (
            "stops.txt",
            "stop_id,stop_name,stop_lat,stop_lon\na,A,51.5,187.4\n",
            "stops.txt",
            2,
            "stop_lon",
        ),
        (
            "stops.txt",
            "stop_id,stop_name,stop_lat,stop_lon\na,\"A\nwith a line break\",51.5,7.4\na,B,51.5,7.4\n",
            "stops.txt",
            4,
            "stop_id",
        ),
        (
            "stops.txt",
            "\u{feff}stop_id,stop_name,stop_lat,stop_lon\r\na,A,51.5,7.4\r\nb,B,51.5,x\r\n",
            "stops.txt",
            3,
            "stop_lon",
        ),
        (
            "routes.txt",
            "route_id,route_short_name,route_type\nr,1,bus\n",
            "routes.txt",
            2,
            "route_type",
        ),
        (
            "stop_times.txt",
            "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nt1,08:00:00,08:00:00,a,1\nt1,08:05:00,8:61:00,b,2\n",
            "stop_times.txt",
            3,
            "departure_time",
        ),
        (
            "stop_times.txt",
            "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nt1,08:00:00,08:00:00,a,first\n",
            "stop_times.txt",
            2,
            "stop_sequence",
        ),
        (
            "calendar.txt",
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nS,1,1,1,1,1,1,1,2026-01-01,20261231\n",
            "calendar.txt",
            2,
            "start_date",
        ),
    ];
    for (file, content, want_file, want_line, want_column) in cases {
        let dir = small_feed(&[(file, content)], &[]);
        let err = Gtfs::load(dir.path()).unwrap_err();
        match &err {
            TransitError::BadValue {
                file, line, column, ..
            } => {
                assert_eq!(
                    (*file, *line, *column),
                    (want_file, want_line, want_column),
                    "{err}"
                );
            }
            other => panic!("expected BadValue for {want_file}, got {other}"),
        }
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "{want_file} line {want_line}, column `{want_column}`"
            )),
            "{message}"
        );
    }
}

#[test]
fn gbfs_2_3_and_3_0_give_the_same_stations() {
    let v2 = parse_station_information(&common::fixture("gbfs/station_information.json")).unwrap();
    let v3 =
        parse_station_information(&common::fixture("gbfs/station_information_v3.json")).unwrap();
    assert_eq!(v2.len(), 8);
    assert_eq!(v3.len(), 8);
    for (a, b) in v2.iter().zip(&v3) {
        assert_eq!(
            (&a.station_id, &a.name, a.lat, a.lon),
            (&b.station_id, &b.name, b.lat, b.lon)
        );
    }
    assert_eq!(v2[6].name, "Hafen, Speicherstraße");
    assert_eq!(v2[7].capacity, Some(24));
    assert_eq!(v3[7].capacity, None, "capacity is optional");

    let bikes = BikeIndex::load_file(&fixture_path("gbfs/station_information_v3.json")).unwrap();
    let near = bikes.nearest(51.514, 7.463, 400.0, 5);
    assert_eq!(near[0].station_id, "ms-002");
    assert_eq!(near[0].name, "Markt");
    assert_eq!(near[0].capacity, Some(16));
    assert!(near.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    assert!(near.iter().all(|h| h.distance_m <= 400.0));
}

#[test]
fn config_builds_the_layer() {
    let config = TransitConfig {
        gtfs: Some(fixture_path("gtfs/musterstadt")),
        gbfs: Some(GbfsLocation::parse(
            fixture_path("gbfs/station_information.json")
                .to_str()
                .unwrap(),
        )),
        ..TransitConfig::default()
    };
    let layer = config.build().unwrap();
    assert_eq!(layer.radius_m, 600.0);
    assert_eq!(layer.gtfs.as_ref().unwrap().stop_count(), 25);
    assert_eq!(layer.bikes.as_ref().unwrap().stations().len(), 8);

    let remote = TransitConfig {
        gbfs: Some(GbfsLocation::parse(
            "https://bikes.example/station_information.json",
        )),
        ..TransitConfig::default()
    };
    assert!(
        remote.build().unwrap().bikes.is_none(),
        "URLs are fetched by the caller"
    );
}

#[test]
fn journey_links_are_percent_encoded() {
    let template = "https://efa.example/journey?destLat={lat}&destLon={lon}&name={name}&itdDateTime={start}&lang=de";
    let name = "Theater & Oper: Großes Haus / Bühne #2 + 50% ?";
    let berlin = chrono_tz::Europe::Berlin
        .with_ymd_and_hms(2026, 6, 1, 19, 30, 0)
        .unwrap();
    let url = journey_link(template, 51.5105, 7.4608, name, berlin);
    assert_eq!(
        url,
        "https://efa.example/journey?destLat=51.5105&destLon=7.4608\
         &name=Theater%20%26%20Oper%3A%20Gro%C3%9Fes%20Haus%20%2F%20B%C3%BChne%20%232%20%2B%2050%25%20%3F\
         &itdDateTime=2026-06-01T19%3A30%3A00%2B02%3A00&lang=de"
    );
    // An independent parser gives the values back.
    let parsed = url::Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    assert_eq!(pairs[0], ("destLat".into(), "51.5105".into()));
    assert_eq!(pairs[2], ("name".into(), name.into()));
    assert_eq!(
        pairs[3],
        ("itdDateTime".into(), "2026-06-01T19:30:00+02:00".into())
    );
    assert_eq!(pairs.len(), 5);

    // Other offsets; a path template.
    let winter = FixedOffset::east_opt(3600)
        .unwrap()
        .with_ymd_and_hms(2026, 12, 24, 17, 0, 0)
        .unwrap();
    assert_eq!(
        journey_link(
            "https://x.example/to/{lat},{lon}/{name}/{start}",
            -0.5,
            7.0,
            "Süd",
            winter
        ),
        "https://x.example/to/-0.5,7/S%C3%BCd/2026-12-24T17%3A00%3A00%2B01%3A00"
    );
    let utc = Utc.with_ymd_and_hms(2026, 12, 24, 16, 0, 0).unwrap();
    assert_eq!(
        journey_link("{start}", 0.0, 0.0, "", utc),
        "2026-12-24T16%3A00%3A00Z"
    );
}

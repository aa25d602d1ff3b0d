//! GTFS loading time and memory, and nearest-stop lookups, on a large generated feed.
//!
//! Generates a GTFS feed into a temporary folder (default: 5,000 stops, 300 routes, 20,000 trips
//! of 30 stops = 600,000 stop_times, three services and some calendar exceptions; seeded, so
//! every run writes the same bytes), then measures in one process:
//!
//! * load: [`Gtfs::load`] of the folder (median of `RUNS`), against a baseline in the same run:
//!   reading the same files' bytes in 64 KiB chunks and counting lines (the I/O floor). The
//!   ratio is the figure to compare between machines.
//! * load from a `.zip` of the same files (deflate), against the same baseline.
//! * memory: VmHWM (peak resident set) from `/proc/self/status` before and after the first load,
//!   with the peak reset through `/proc/self/clear_refs` first where the kernel allows it. VmHWM
//!   is process-wide, so the delta includes the allocator's slack, not only the loader's data.
//!   VmRSS after minus before is what the loaded feed keeps.
//! * lookups: `nearest(lat, lon, 600 m, 5)` at random points in the region, per second, against a
//!   brute-force scan over all stops in the same run (the speed-up is the ratio), and
//!   `last_departure` calls per second.
//!
//! Run: `cargo bench --bench transit` (size with `REGIOCAL_BENCH_STOPS`, `_ROUTES`, `_TRIPS`,
//! `_STOPS_PER_TRIP`, `_RUNS`).

use chrono::{NaiveDate, NaiveTime};
use regiocal::transit::Gtfs;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

mod common;
#[path = "../tests/common/lcg.rs"]
mod lcg;

use common::median;
use lcg::Lcg;

const LAT: (f64, f64) = (51.35, 51.65);
const LON: (f64, f64) = (7.2, 7.75);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Size {
    stops: usize,
    routes: usize,
    trips: usize,
    stops_per_trip: usize,
}

/// Writes the feed; returns the stops' coordinates.
fn generate(dir: &Path, size: &Size) -> std::io::Result<Vec<(f64, f64)>> {
    let mut rng = Lcg(20_260_601);
    let create =
        |name: &str| File::create(dir.join(name)).map(|f| BufWriter::with_capacity(1 << 16, f));

    let mut coords = Vec::with_capacity(size.stops);
    let mut out = create("stops.txt")?;
    writeln!(
        out,
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station"
    )?;
    for i in 0..size.stops {
        let (lat, lon) = (rng.range(LAT.0, LAT.1), rng.range(LON.0, LON.1));
        coords.push((lat, lon));
        writeln!(
            out,
            "S{i},\"Haltestelle {i}, Steig {}\",{lat:.6},{lon:.6},0,",
            i % 4 + 1
        )?;
    }
    out.flush()?;

    let types = [3, 3, 3, 700, 0, 900, 2, 106, 109, 1];
    let mut out = create("routes.txt")?;
    writeln!(
        out,
        "route_id,agency_id,route_short_name,route_long_name,route_type"
    )?;
    for r in 0..size.routes {
        writeln!(
            out,
            "R{r},A,{},\"Linie {r}, Ring\",{}",
            r + 1,
            types[r % types.len()]
        )?;
    }
    out.flush()?;

    let mut out = create("calendar.txt")?;
    writeln!(
        out,
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date"
    )?;
    writeln!(out, "WD,1,1,1,1,1,0,0,20260101,20261231")?;
    writeln!(out, "SA,0,0,0,0,0,1,0,20260101,20261231")?;
    writeln!(out, "SU,0,0,0,0,0,0,1,20260101,20261231")?;
    out.flush()?;
    let mut out = create("calendar_dates.txt")?;
    writeln!(out, "service_id,date,exception_type")?;
    for day in [
        "20260101", "20260403", "20260406", "20260501", "20260514", "20261225",
    ] {
        writeln!(out, "WD,{day},2\nSU,{day},1")?;
    }
    out.flush()?;

    // Each route: a fixed path of nearby-ish stops (a random walk over the stop list).
    let paths: Vec<Vec<usize>> = (0..size.routes)
        .map(|_| {
            let mut at = rng.below(size.stops);
            (0..size.stops_per_trip)
                .map(|_| {
                    at = (at + 1 + rng.below(40)) % size.stops;
                    at
                })
                .collect()
        })
        .collect();
    let services = ["WD", "WD", "WD", "SA", "SU"];
    let mut trips = create("trips.txt")?;
    writeln!(
        trips,
        "route_id,service_id,trip_id,trip_headsign,direction_id"
    )?;
    let mut times = create("stop_times.txt")?;
    writeln!(
        times,
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type"
    )?;
    for t in 0..size.trips {
        let route = t % size.routes;
        let service = services[rng.below(services.len())];
        writeln!(trips, "R{route},{service},T{t},\"Ziel {route}\",{}", t % 2)?;
        let mut secs = 4 * 3600 + rng.below(21 * 3600) as u32;
        for (seq, &stop) in paths[route].iter().enumerate() {
            let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
            writeln!(
                times,
                "T{t},{h:02}:{m:02}:{s:02},{h:02}:{m:02}:{s:02},S{stop},{},0,0",
                seq + 1
            )?;
            secs += 60 + rng.below(120) as u32;
        }
    }
    trips.flush()?;
    times.flush()?;
    Ok(coords)
}

/// The I/O floor: read every file in 64 KiB chunks and count the lines.
fn read_and_count(dir: &Path) -> std::io::Result<usize> {
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 0;
    let mut names: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    names.sort_by_key(|e| e.file_name());
    for entry in names {
        if entry.path().extension().is_some_and(|e| e == "txt") {
            let mut file = File::open(entry.path())?;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
            }
        }
    }
    Ok(lines)
}

fn zip_dir(dir: &Path, target: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut zip = zip::ZipWriter::new(BufWriter::new(File::create(target)?));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut names: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    names.sort_by_key(|e| e.file_name());
    for entry in names {
        let name = entry.file_name().to_string_lossy().into_owned();
        zip.start_file(name, options)?;
        std::io::copy(&mut File::open(entry.path())?, &mut zip)?;
    }
    zip.finish()?.flush()?;
    Ok(())
}

/// A `/proc/self/status` field in KiB (0 where unavailable).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Great-circle distance in metres, as the index computes it.
fn distance_m(lat: f64, lon: f64, slat: f64, slon: f64) -> f64 {
    use regiocal::model::Geo;
    regiocal::compare::distance_m(
        Geo { lat, lon },
        Geo {
            lat: slat,
            lon: slon,
        },
    )
}

fn main() {
    let size = Size {
        stops: env_usize("REGIOCAL_BENCH_STOPS", 5_000),
        routes: env_usize("REGIOCAL_BENCH_ROUTES", 300),
        trips: env_usize("REGIOCAL_BENCH_TRIPS", 20_000),
        stops_per_trip: env_usize("REGIOCAL_BENCH_STOPS_PER_TRIP", 30),
    };
    let runs = env_usize("REGIOCAL_BENCH_RUNS", 5);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("gtfs");
    std::fs::create_dir(&dir).expect("gtfs dir");

    let start = Instant::now();
    let coords = generate(&dir, &size).expect("generate feed");
    let generated = start.elapsed();
    let bytes = dir_bytes(&dir);
    println!(
        "Generated {} stops, {} routes, {} trips, {} stop_times ({:.1} MB) in {:.2} s.",
        size.stops,
        size.routes,
        size.trips,
        size.trips * size.stops_per_trip,
        bytes as f64 / 1e6,
        generated.as_secs_f64()
    );

    // Memory of the first load (the page cache is warm from writing).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let (hwm0, rss0) = (status_kib("VmHWM:"), status_kib("VmRSS:"));
    let gtfs = Gtfs::load(&dir).expect("load");
    let (hwm1, rss1) = (status_kib("VmHWM:"), status_kib("VmRSS:"));
    let stats = gtfs.stats().clone();
    assert_eq!(stats.stops, size.stops);
    assert_eq!(stats.stop_times, size.trips * size.stops_per_trip);

    let lines = read_and_count(&dir).expect("read");
    let baseline = median(runs, || {
        assert_eq!(read_and_count(&dir).expect("read"), lines);
    });
    let load = median(runs, || {
        let g = Gtfs::load(&dir).expect("load");
        assert_eq!(g.stats().departures, stats.departures);
    });

    let zip_path = tmp.path().join("gtfs.zip");
    zip_dir(&dir, &zip_path).expect("zip");
    let zip_bytes = std::fs::metadata(&zip_path).map(|m| m.len()).unwrap_or(0);
    let load_zip = median(runs.min(3), || {
        let g = Gtfs::load(&zip_path).expect("load zip");
        assert_eq!(g.stats().departures, stats.departures);
    });

    // Lookups at random points in the region.
    let mut rng = Lcg(99);
    let points: Vec<(f64, f64)> = (0..100_000)
        .map(|_| (rng.range(LAT.0, LAT.1), rng.range(LON.0, LON.1)))
        .collect();
    let mut found = 0usize;
    let indexed = median(3, || {
        found = points
            .iter()
            .map(|&(lat, lon)| gtfs.nearest(lat, lon, 600.0, 5).len())
            .sum();
    });
    let brute_points = &points[..points.len() / 10];
    let mut brute_found = 0usize;
    let brute = median(3, || {
        brute_found = brute_points
            .iter()
            .map(|&(lat, lon)| {
                let mut hits: Vec<(usize, f64)> = coords
                    .iter()
                    .enumerate()
                    .map(|(i, &(slat, slon))| (i, distance_m(lat, lon, slat, slon)))
                    .filter(|h| h.1 <= 600.0)
                    .collect();
                hits.sort_by(|a, b| a.1.total_cmp(&b.1));
                hits.truncate(5);
                hits.len()
            })
            .sum();
    });
    let indexed_rate = points.len() as f64 / indexed.as_secs_f64();
    let brute_rate = brute_points.len() as f64 / brute.as_secs_f64();

    let day = NaiveDate::from_ymd_opt(2026, 6, 3).expect("date");
    let after = NaiveTime::from_hms_opt(20, 0, 0).expect("time");
    let ids: Vec<String> = (0..10_000)
        .map(|i| format!("S{}", i * 7 % size.stops))
        .collect();
    let mut with_departure = 0usize;
    let last = median(3, || {
        with_departure = ids
            .iter()
            .filter(|id| gtfs.last_departure(id, day, after).is_some())
            .count();
    });
    let last_rate = ids.len() as f64 / last.as_secs_f64();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| feed | {} stops, {} routes, {} trips, {} stop_times, {:.1} MB of .txt ({:.1} MB zipped) |",
        size.stops,
        size.routes,
        size.trips,
        stats.stop_times,
        bytes as f64 / 1e6,
        zip_bytes as f64 / 1e6
    );
    println!("| departures kept | {} |", stats.departures);
    println!(
        "| baseline: read + count lines (median of {runs}) | {:.1} ms |",
        ms(baseline)
    );
    println!(
        "| load folder (median of {runs}) | {:.1} ms = {:.1}x baseline |",
        ms(load),
        load.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "| load .zip (median of {}) | {:.1} ms = {:.1}x baseline |",
        runs.min(3),
        ms(load_zip),
        load_zip.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "| peak RSS (VmHWM) before -> after first load | {hwm0} -> {hwm1} KiB (+{:.1} MiB; peak reset: {reset}) |",
        hwm1.saturating_sub(hwm0) as f64 / 1024.0
    );
    println!(
        "| RSS kept by the loaded feed (VmRSS delta) | +{:.1} MiB |",
        rss1.saturating_sub(rss0) as f64 / 1024.0
    );
    println!(
        "| nearest(600 m, max 5), rstar | {:.0} lookups/s ({:.2} hits per lookup) |",
        indexed_rate,
        found as f64 / points.len() as f64
    );
    println!(
        "| nearest, brute force over all stops | {:.0} lookups/s ({:.2} hits per lookup) |",
        brute_rate,
        brute_found as f64 / brute_points.len() as f64
    );
    println!("| index speed-up | {:.0}x |", indexed_rate / brute_rate);
    println!(
        "| last_departure | {:.0} calls/s ({with_departure} of {} stops with one after 20:00) |",
        last_rate,
        ids.len()
    );
}

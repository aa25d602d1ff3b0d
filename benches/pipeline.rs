//! In-process benchmarks of the regiocal pipeline stages on generated, realistic feeds.
//!
//! At start the feed set is generated with the shared deterministic generator
//! (`shared/bench/gen_feeds.py --feeds 10 --events 1000 --seed 42`) into a temporary folder.
//! The generator is looked up in `$REGIOCAL_BENCH_SHARED/bench/gen_feeds.py` when that variable
//! is set, else in `$CARGO_MANIFEST_DIR/../shared/bench/gen_feeds.py`.
//!
//! Stages measured (elements = what the stage consumes or emits, see benches/README.md):
//!
//! * `parse/ics_1x1000`         one feed (1,000 events + overrides), bytes -> `Vec<Event>`
//! * `parse/ics_10x1000_concat` the 10 feeds concatenated into one body (10 VCALENDARs)
//! * `normalize/10x1000`        text cleaning, rule checks, per-UID de-duplication
//! * `snapshot/build_10x1000`   grouping into series + recurrence expansion for the window
//! * `render/ics_10x1000`       the merged iCalendar feed (elements: VEVENTs written)
//! * `render/json_10x1000`      the JSON occurrence list (elements: occurrences written)
//! * `row5/hostile_recurrence`  RELIABILITY.md row 5: snapshot of `fixtures/ics/hostile-recurrence.ics`
//!   (FREQ=SECONDLY without end, COUNT=1000000000, every occurrence EXDATEd); target < 100 ms
//!
//! Run: `cargo bench --bench pipeline` (about a minute on 2 cores, plus the build).

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, Throughput};
use regiocal::config::{Config, FormatChoice};
use regiocal::format::{self, ParseContext};
use regiocal::model::{Event, StoredEvent};
use regiocal::normalize::{self, NormalizeOptions};
use regiocal::output::{self, Filter, Snapshot};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const FEEDS: usize = 10;
const EVENTS: usize = 1000;
const SEED: &str = "42";
/// "Now" and window chosen so the expansion window is exactly the generator's
/// [2026-01-01, 2027-01-01) in Europe/Berlin: 151 days back, 213 + 1 days ahead.
const NOW: &str = "2026-06-01T00:00:00Z";
const PAST_DAYS: u32 = 151;
const FUTURE_DAYS: u32 = 213;

fn gen_script() -> PathBuf {
    let shared = match std::env::var_os("REGIOCAL_BENCH_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    // Accept both the shared/ folder and shared/bench itself.
    for candidate in [
        shared.join("bench/gen_feeds.py"),
        shared.join("gen_feeds.py"),
    ] {
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "gen_feeds.py not found under {} (set REGIOCAL_BENCH_SHARED to the shared/ folder)",
        shared.display()
    );
}

struct Data {
    _dir: tempfile::TempDir,
    one: Vec<u8>,
    concat: Vec<u8>,
    config: Config,
    parsed: Vec<Event>,
    stored: Vec<StoredEvent>,
    now: DateTime<Utc>,
    expected_occurrences: u64,
}

fn setup() -> Data {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("feeds");
    let script = gen_script();
    let status = Command::new("python3")
        .arg(&script)
        .args(["--feeds", &FEEDS.to_string()])
        .args(["--events", &EVENTS.to_string()])
        .args(["--seed", SEED, "--alt-feeds", "0", "--out"])
        .arg(&out)
        .status()
        .expect("run python3 gen_feeds.py");
    assert!(status.success(), "gen_feeds.py failed: {status}");

    let mut names: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ics"))
        .collect();
    names.sort();
    assert_eq!(names.len(), FEEDS);
    let bodies: Vec<Vec<u8>> = names.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let one = bodies[0].clone();
    let concat: Vec<u8> = bodies.concat();

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let expected_occurrences = manifest["expected"]["occurrences_in_window"]
        .as_u64()
        .unwrap();

    let mut toml = format!(
        "[calendar]\nname = \"Bench\"\npast_days = {PAST_DAYS}\nfuture_days = {FUTURE_DAYS}\n\
         [store]\npath = \"bench.sqlite\"\n"
    );
    for (i, p) in names.iter().enumerate() {
        toml.push_str(&format!(
            "[[source]]\nid = \"venue-{i:03}\"\nname = \"Venue {i}\"\nurl = \"{}\"\n",
            p.file_name().unwrap().to_string_lossy()
        ));
    }
    let config = Config::parse(&toml, &out.join("regiocal.toml")).expect("bench config");
    let now: DateTime<Utc> = NOW.parse().unwrap();

    // Parse + normalise every feed once, to have inputs for the later stages.
    let ctx = ctx();
    let mut parsed = Vec::new();
    let mut stored = Vec::new();
    let mut warnings = 0usize;
    for (i, body) in bodies.iter().enumerate() {
        let (_, p) = format::parse(body, FormatChoice::Auto, None, &ctx).expect("parse feed");
        warnings += p.warnings.len();
        parsed.extend(p.events.iter().cloned());
        let (events, w) = normalize::normalize(p.events, &NormalizeOptions::default());
        warnings += w.len();
        stored.extend(events.into_iter().map(|event| StoredEvent {
            source: format!("venue-{i:03}"),
            event,
            first_seen: now,
            updated_at: now,
            revision: 0,
        }));
    }
    let snap = Snapshot::build(&config, stored.clone(), vec![], Some(now), now);
    eprintln!(
        "bench data: {} feeds, {} bytes (1 feed: {} bytes), {} parsed components, {} stored, \
         {} warnings; snapshot: {} series, {} occurrences (generator expects {} in window), \
         {} truncated series",
        FEEDS,
        concat.len(),
        one.len(),
        parsed.len(),
        stored.len(),
        warnings,
        snap.series.len(),
        snap.rows.len(),
        expected_occurrences,
        snap.truncated_series
    );
    Data {
        _dir: dir,
        one,
        concat,
        config,
        parsed,
        stored,
        now,
        expected_occurrences,
    }
}

fn ctx() -> ParseContext<'static> {
    ParseContext::new(chrono_tz::Europe::Berlin)
}

fn count_components(body: &[u8]) -> u64 {
    let (_, p) = format::parse(body, FormatChoice::Auto, None, &ctx()).unwrap();
    p.events.len() as u64
}

fn bench_parse(c: &mut Criterion, d: &Data) {
    let mut g = c.benchmark_group("parse");
    // The 10-feed body takes ~130 ms per parse: give it time for 10 samples.
    g.measurement_time(Duration::from_secs(8));
    let ctx = ctx();
    g.throughput(Throughput::Elements(count_components(&d.one)));
    g.bench_function("ics_1x1000", |b| {
        b.iter(|| format::parse(black_box(&d.one), FormatChoice::Auto, None, &ctx).unwrap())
    });
    g.throughput(Throughput::Elements(count_components(&d.concat)));
    g.bench_function("ics_10x1000_concat", |b| {
        b.iter(|| format::parse(black_box(&d.concat), FormatChoice::Auto, None, &ctx).unwrap())
    });
    g.finish();
}

fn bench_normalize(c: &mut Criterion, d: &Data) {
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(d.parsed.len() as u64));
    let opts = NormalizeOptions::default();
    g.bench_function("10x1000", |b| {
        b.iter_batched(
            || d.parsed.clone(),
            |events| normalize::normalize(events, &opts),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn bench_snapshot(c: &mut Criterion, d: &Data) {
    let mut g = c.benchmark_group("snapshot");
    g.throughput(Throughput::Elements(d.stored.len() as u64));
    g.bench_function("build_10x1000", |b| {
        b.iter_batched(
            || d.stored.clone(),
            |stored| Snapshot::build(&d.config, stored, vec![], Some(d.now), d.now),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn bench_render(c: &mut Criterion, d: &Data) {
    let snap = Snapshot::build(&d.config, d.stored.clone(), vec![], Some(d.now), d.now);
    let filter = Filter::default();
    let ics = output::ics::render(&snap, &filter);
    let vevents = ics.matches("BEGIN:VEVENT\r\n").count() as u64;
    let json = output::json::render_events(&snap, &filter, None, None).unwrap();
    eprintln!(
        "render: ICS {} bytes, {} VEVENTs; JSON {} bytes, {} occurrences (manifest: {})",
        ics.len(),
        vevents,
        json.len(),
        snap.rows.len(),
        d.expected_occurrences
    );
    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements(vevents));
    g.bench_function("ics_10x1000", |b| {
        b.iter(|| output::ics::render(black_box(&snap), &filter))
    });
    g.throughput(Throughput::Elements(snap.rows.len() as u64));
    g.bench_function("json_10x1000", |b| {
        b.iter(|| output::json::render_events(black_box(&snap), &filter, None, None).unwrap())
    });
    g.finish();
}

/// RELIABILITY.md row 5: expanding exploding recurrences is bounded by the window and by
/// `max_occurrences_per_series`, so building their snapshot stays fast (target < 100 ms).
fn bench_row5(c: &mut Criterion, d: &Data) {
    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ics/hostile-recurrence.ics"),
    )
    .expect("hostile-recurrence.ics");
    let (_, parsed) = format::parse(&body, FormatChoice::Auto, None, &ctx()).unwrap();
    let (events, _) = normalize::normalize(parsed.events, &NormalizeOptions::default());
    let source = d.config.sources[0].id.clone();
    let stored: Vec<StoredEvent> = events
        .into_iter()
        .map(|event| StoredEvent {
            source: source.clone(),
            event,
            first_seen: d.now,
            updated_at: d.now,
            revision: 0,
        })
        .collect();
    let mut g = c.benchmark_group("row5");
    g.throughput(Throughput::Elements(stored.len() as u64));
    g.bench_function("hostile_recurrence", |b| {
        b.iter_batched(
            || stored.clone(),
            |stored| Snapshot::build(&d.config, stored, vec![], Some(d.now), d.now),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn main() {
    let data = setup();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    bench_parse(&mut c, &data);
    bench_normalize(&mut c, &data);
    bench_snapshot(&mut c, &data);
    bench_render(&mut c, &data);
    bench_row5(&mut c, &data);
    c.final_summary();
}

//! Server-side rendering time of the web UI's list page for 500 events, against a baseline in
//! the same run: the JSON API page of the same 500 occurrences. The ratio (HTML / JSON) is the
//! figure to compare between machines; absolute times are printed too.
//!
//! The 500 events are generated (seeded, so every run renders the same bytes) as one iCalendar
//! feed per demo source, with the demo region's venues, districts and transit
//! (`config/regiocal.toml`): titles, descriptions with umlauts, categories, all-day and timed
//! events over eight weeks. They go through the real parser and `Snapshot::build`, so the list
//! shows places, districts and categories as it does in production.
//!
//! * `web/list_500`:  `regiocal::web::render_list_page` with `limit=500` (HTML, grouped by day)
//! * `web/json_500`:  `output::json::render_events` of the same filter and limit (the baseline)
//! * `web/list_50`:   the default first page (50 events)
//!
//! After criterion's report, a median over `RUNS` renderings of each gives the ratio.
//!
//! Run: `cargo bench --bench web` (~30 s + build).

use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use criterion::{Criterion, Throughput};
use regiocal::config::{Config, FormatChoice};
use regiocal::format::{self, ParseContext};
use regiocal::model::StoredEvent;
use regiocal::normalize::{self, NormalizeOptions};
use regiocal::output::{Filter, Snapshot, json};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

#[path = "../tests/common/lcg.rs"]
mod lcg;

use lcg::Lcg;

const EVENTS: usize = 500;
const RUNS: usize = 200;
const NOW: &str = "2026-11-24T00:00:00Z";

const TITLES: &[&str] = &[
    "Lesung: Neue Stimmen aus dem Ruhrgebiet",
    "Orgelkonzert zum Advent",
    "Kindertheater: Der Grüffelo",
    "Führung durch die Altstadt",
    "Bürgersprechstunde des Bürgermeisters",
    "Jazz im Foyer",
    "Flohmarkt für Kinderkleidung",
    "Vortrag: Klimaanpassung in Städten",
    "Tanzabend für Senior*innen",
    "Workshop: Reparieren statt wegwerfen",
    "Stadtratssitzung (öffentlich)",
    "Filmabend: Kurzfilme aus Europa",
];
const CATEGORIES: &[&str] = &[
    "Lesung", "Konzert", "Theater", "Führung", "Politik", "Musik", "Markt", "Vortrag", "Tanz",
    "Workshop", "Politik", "Film",
];
const LOCATIONS: &[&str] = &[
    "Stadttheater Musterstadt",
    "Großes Haus",
    "Bürgerhaus Musterstadt",
    "Bürgerhaus Café",
    "Rathaus Musterstadt",
    "Stadtbibliothek Musterstadt",
    "St.-Marien-Kirche",
    "Sporthalle Süd",
    "Marktplatz Musterstadt",
    "Hinterhof Eingang C",
];

/// The generated feeds, one per demo source, as `(source id, ICS bytes)`.
fn feeds(config: &Config) -> Vec<(String, Vec<u8>)> {
    let mut rng = Lcg(20_261_124);
    let sources: Vec<&str> = config.sources.iter().map(|s| s.id.as_str()).collect();
    let mut bodies: Vec<String> = vec![String::new(); sources.len()];
    let first = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    for i in 0..EVENTS {
        let k = rng.below(TITLES.len());
        let day = first + Days::days(rng.below(56) as i64);
        let hour = 9 + rng.below(12);
        let minutes = [0, 15, 30][rng.below(3)];
        let all_day = rng.below(10) == 0;
        let (start, end) = if all_day {
            (
                format!("DTSTART;VALUE=DATE:{}", day.format("%Y%m%d")),
                format!(
                    "DTEND;VALUE=DATE:{}",
                    (day + Days::days(1)).format("%Y%m%d")
                ),
            )
        } else {
            (
                format!(
                    "DTSTART;TZID=Europe/Berlin:{}T{hour:02}{minutes:02}00",
                    day.format("%Y%m%d")
                ),
                format!(
                    "DTEND;TZID=Europe/Berlin:{}T{:02}{minutes:02}00",
                    day.format("%Y%m%d"),
                    hour + 2
                ),
            )
        };
        let location = LOCATIONS[rng.below(LOCATIONS.len())];
        let s = i % sources.len();
        bodies[s].push_str(&format!(
            "BEGIN:VEVENT\r\nUID:bench-{i}@musterstadt.example\r\nDTSTAMP:20261120T080000Z\r\n{start}\r\n{end}\r\n\
             SUMMARY:{} ({i})\r\nLOCATION:{location}\r\nCATEGORIES:{}\r\n\
             DESCRIPTION:Eintritt frei\\, Anmeldung erwünscht. Für Groß und Klein\\; \
             barrierefreier Zugang über den Hof. Weitere Informationen im Bürgerbüro.\r\n\
             URL:https://www.musterstadt.example/termine/{i}\r\nEND:VEVENT\r\n",
            TITLES[k], CATEGORIES[k]
        ));
    }
    sources
        .iter()
        .zip(bodies)
        .map(|(id, body)| {
            let ics = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//DE\r\n{body}END:VCALENDAR\r\n"
            );
            (id.to_string(), ics.into_bytes())
        })
        .collect()
}

struct Data {
    config: Config,
    snap: Snapshot,
    today: NaiveDate,
    query: String,
    filter: Filter,
}

fn setup() -> Data {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::load(&root.join("config/regiocal.toml")).expect("demo config");
    // Generated titles differ only by a number: keep them apart, every event is listed.
    config.dedupe.enabled = false;
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(NOW).expect("now").to_utc();
    let ctx = ParseContext::new(config.calendar.timezone);
    let mut stored = Vec::new();
    for (source, bytes) in feeds(&config) {
        let (_, parsed) = format::parse(&bytes, FormatChoice::Auto, None, &ctx).expect("parses");
        let (events, _) = normalize::normalize(parsed.events, &NormalizeOptions::default());
        stored.extend(events.into_iter().map(|event| StoredEvent {
            source: source.clone(),
            event,
            first_seen: now,
            updated_at: now,
            revision: 0,
        }));
    }
    let snap = Snapshot::build(&config, stored, vec![], Some(now), now);
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    let query = format!("limit={EVENTS}");
    let filter = Filter {
        from: Some(today),
        ..Filter::default()
    };
    let listed = snap.select(&filter).count();
    assert!(listed >= EVENTS, "only {listed} occurrences generated");
    let html = render_list(&config, &snap, &query, today);
    assert_eq!(html.matches("<article class=\"event").count(), EVENTS);
    Data {
        config,
        snap,
        today,
        query,
        filter,
    }
}

fn render_list(config: &Config, snap: &Snapshot, query: &str, today: NaiveDate) -> String {
    regiocal::web::render_list_page(
        snap,
        &config.web,
        Some(query),
        "http://127.0.0.1:8080",
        today,
    )
    .expect("renders")
}

fn render_json(d: &Data) -> String {
    json::render_events(&d.snap, &d.filter, Some(EVENTS), None).expect("renders")
}

/// Median wall time of `f` over `RUNS` calls.
fn median(mut f: impl FnMut() -> usize) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn main() {
    let d = setup();
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut g = c.benchmark_group("web");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("list_500", |b| {
        b.iter(|| render_list(&d.config, &d.snap, &d.query, d.today))
    });
    g.bench_function("json_500", |b| b.iter(|| render_json(&d)));
    g.throughput(Throughput::Elements(50));
    g.bench_function("list_50", |b| {
        b.iter(|| render_list(&d.config, &d.snap, "", d.today))
    });
    g.finish();
    c.final_summary();

    let html = median(|| render_list(&d.config, &d.snap, &d.query, d.today).len());
    let json = median(|| render_json(&d).len());
    let first = median(|| render_list(&d.config, &d.snap, "", d.today).len());
    let ms = |t: Duration| t.as_secs_f64() * 1000.0;
    let bytes = render_list(&d.config, &d.snap, &d.query, d.today).len();
    println!(
        "\nweb list page, {EVENTS} events: {:.2} ms ({} KiB HTML); JSON API page, same {EVENTS}: {:.2} ms; \
         ratio HTML/JSON {:.2}; default page (50 events): {:.2} ms (medians of {RUNS})",
        ms(html),
        bytes / 1024,
        ms(json),
        html.as_secs_f64() / json.as_secs_f64(),
        ms(first)
    );
}

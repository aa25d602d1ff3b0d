//! The two store backends side by side: SQLite (embedded file) and PostgreSQL (the server in
//! `REGIOCAL_TEST_POSTGRES_URL`, e.g. from `scripts/pg-test-server.sh start`), at 10^5 and
//! 10^6 occurrences, in one run.
//!
//! Data: 100 sources; per source, three single events for every weekly series of five
//! occurrences (two occurrences per stored row on average), all in the coming year, with
//! realistic fields (the template is the first event of `fixtures/ics/google.ics`; titles,
//! places, coordinates and categories vary).
//!
//! Measured per backend and size:
//! * `ingest`: every source's first `apply` (all rows new), rows/s;
//! * `refetch`: the same feeds again (hash compare, nothing written), rows/s;
//! * `change`: 10 % of every source's events changed, rows/s over all rows;
//! * `load`: `all_events` (what every snapshot rebuild reads), rows/s;
//! * `source`: `source_events` of each source (what each ingest reads), ms per source;
//! * then, once per size (the same on both backends, as requests never touch the store):
//!   snapshot build, and the filtered `GET /api/v1/events` render from the in-memory
//!   snapshot (date window + category + radius; a text-free category page), median of 30.
//!
//! Run: `eval "$(scripts/pg-test-server.sh start)"; cargo bench --bench store`
//! (sizes with `REGIOCAL_BENCH_OCCURRENCES=100000,1000000`). Without PostgreSQL, only SQLite
//! is measured (and said so).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use regiocal::config::{Config, FormatChoice};
use regiocal::format::{self, ParseContext};
use regiocal::model::{Event, EventTime, Geo, StoredEvent};
use regiocal::normalize::{self, NormalizeOptions};
use regiocal::output::{Filter, Snapshot, json};
use regiocal::store::{AnyStore, PgStore, SqliteStore, Store};
use std::path::Path;
use std::time::Instant;

const SOURCES: usize = 100;
const NOW: &str = "2026-12-01T00:00:00Z";

fn template() -> Event {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ics/google.ics"))
            .expect("fixture");
    let ctx = ParseContext::new(chrono_tz::Europe::Berlin);
    let (_, parsed) = format::parse(&bytes, FormatChoice::Auto, None, &ctx).expect("parses");
    let (events, _) = normalize::normalize(parsed.events, &NormalizeOptions::default());
    events
        .into_iter()
        .find(|e| e.rrule.is_none() && e.recurrence_id.is_none())
        .expect("a single event")
}

const CATEGORIES: [&str; 6] = ["music", "theatre", "exhibition", "family", "talk", "sports"];
const WORDS: [&str; 8] = [
    "Konzert",
    "Lesung",
    "Führung",
    "Kinderkino",
    "Vortrag",
    "Orgelnacht",
    "Flohmarkt",
    "Tanz",
];

/// Rows for one source: about `occurrences / 2` events.
fn source_events(tpl: &Event, source: usize, rows: usize, version: u32) -> Vec<Event> {
    let first = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    (0..rows)
        .map(|i| {
            let mut ev = tpl.clone();
            ev.uid = format!("s{source}-e{i}@bench.example");
            ev.title = format!(
                "{} {} Nr. {i}{}",
                WORDS[(source + i) % WORDS.len()],
                source,
                if version > 0 && i % 10 == 0 {
                    format!(" (v{version})")
                } else {
                    String::new()
                }
            );
            let day = first + Duration::days(((source * 7 + i * 3) % 360) as i64);
            let hour = 9 + (i % 12) as u32;
            let start = day.and_hms_opt(hour, 0, 0).unwrap();
            ev.start = EventTime::Local {
                local: start,
                tz: chrono_tz::Europe::Berlin,
            };
            ev.end = EventTime::Local {
                local: start + Duration::hours(2),
                tz: chrono_tz::Europe::Berlin,
            };
            ev.rrule = (i % 4 == 3).then(|| "FREQ=WEEKLY;COUNT=5".to_string());
            ev.categories = vec![CATEGORIES[(source + i) % CATEGORIES.len()].to_string()];
            ev.location = Some(format!("Saal {}, Musterstraße {}", source % 40, i % 90));
            ev.geo = Geo::new(
                51.45 + (source % 10) as f64 * 0.01 + (i % 7) as f64 * 0.001,
                7.40 + (source / 10) as f64 * 0.015 + (i % 5) as f64 * 0.001,
            );
            ev
        })
        .collect()
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>9.0}/s", n as f64 / secs.max(1e-9))
}

struct Row {
    backend: &'static str,
    ingest: f64,
    refetch: f64,
    change: f64,
    load: f64,
    source_ms: f64,
}

async fn measure(
    backend: &'static str,
    store: &AnyStore,
    feeds: &[Vec<Event>],
    changed: &[Vec<Event>],
    now: DateTime<Utc>,
) -> (Row, Vec<StoredEvent>) {
    let state = |i: usize| regiocal::model::SourceState {
        id: format!("source-{i:03}"),
        ..Default::default()
    };
    let rows: usize = feeds.iter().map(Vec::len).sum();
    let t = Instant::now();
    for (i, evs) in feeds.iter().enumerate() {
        store.apply(&state(i), Some(evs), now).await.expect("apply");
    }
    let ingest = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (i, evs) in feeds.iter().enumerate() {
        store.apply(&state(i), Some(evs), now).await.expect("apply");
    }
    let refetch = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (i, evs) in changed.iter().enumerate() {
        store
            .apply(&state(i), Some(evs), now + Duration::hours(1))
            .await
            .expect("apply");
    }
    let change = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let all = store.all_events().await.expect("load");
    let load = t.elapsed().as_secs_f64();
    assert_eq!(all.len(), rows);
    let t = Instant::now();
    for i in 0..SOURCES {
        store
            .source_events(&format!("source-{i:03}"))
            .await
            .expect("source");
    }
    let source_ms = t.elapsed().as_secs_f64() * 1000.0 / SOURCES as f64;
    eprintln!(
        "  {backend:<9} ingest {} refetch {} change {} load {} source {source_ms:.1} ms",
        rate(rows, ingest),
        rate(rows, refetch),
        rate(rows, change),
        rate(rows, load)
    );
    (
        Row {
            backend,
            ingest: rows as f64 / ingest,
            refetch: rows as f64 / refetch,
            change: rows as f64 / change,
            load: rows as f64 / load,
            source_ms,
        },
        all,
    )
}

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..30)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("REGIOCAL_BENCH_OCCURRENCES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let pg_url = std::env::var("REGIOCAL_TEST_POSTGRES_URL").ok();
    if pg_url.is_none() {
        eprintln!(
            "NOTE: REGIOCAL_TEST_POSTGRES_URL is not set: PostgreSQL NOT measured (scripts/pg-test-server.sh start)"
        );
    }
    let tpl = template();
    let now: DateTime<Utc> = NOW.parse().unwrap();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut toml = String::from(
        "[calendar]\nname = \"Bench\"\ntimezone = \"Europe/Berlin\"\npast_days = 30\nfuture_days = 400\n[dedupe]\nenabled = false\n",
    );
    for i in 0..SOURCES {
        // Push sources: no feed to fetch, their events come from the store.
        toml.push_str(&format!(
            "[[source]]\nid = \"source-{i:03}\"\nname = \"Quelle {i}\"\n"
        ));
    }
    let config = Config::parse(&toml, &dir.path().join("regiocal.toml")).expect("config");
    let mut table = String::from(
        "| occurrences | rows | backend | ingest rows/s | refetch rows/s | change rows/s | load rows/s | one source ms |\n|---:|---:|---|---:|---:|---:|---:|---:|\n",
    );
    let mut serving = String::from(
        "| occurrences | snapshot build s | category + radius + month, ms | category page, ms | day window, ms |\n|---:|---:|---:|---:|---:|\n",
    );
    let mut plans = String::new();
    for &occ in &sizes {
        let per_source = (occ / 2).div_ceil(SOURCES);
        let feeds: Vec<Vec<Event>> = (0..SOURCES)
            .map(|s| source_events(&tpl, s, per_source, 0))
            .collect();
        let changed: Vec<Vec<Event>> = (0..SOURCES)
            .map(|s| source_events(&tpl, s, per_source, 1))
            .collect();
        let rows = per_source * SOURCES;
        eprintln!("{occ} occurrences ({rows} rows):");
        let mut results = Vec::new();
        let sqlite = AnyStore::from(
            SqliteStore::open(&dir.path().join(format!("bench-{occ}.sqlite")))
                .await
                .expect("sqlite"),
        );
        let (row, loaded) = measure("sqlite", &sqlite, &feeds, &changed, now).await;
        results.push(row);
        drop(sqlite);
        if let Some(url) = &pg_url {
            let schema = format!("bench_{occ}_{}", std::process::id());
            let pg = AnyStore::from(
                PgStore::open(url, Some(&schema), 8)
                    .await
                    .expect("postgres"),
            );
            let (row, _) = measure("postgres", &pg, &feeds, &changed, now).await;
            results.push(row);
            if let AnyStore::Postgres(p) = &pg {
                if std::env::var_os("REGIOCAL_BENCH_EXPLAIN").is_some() {
                    plans.push_str(&explain(p, occ, rows).await);
                }
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(p.pool())
                    .await;
            }
        }
        for r in &results {
            table.push_str(&format!(
                "| {occ} | {rows} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} |\n",
                r.backend, r.ingest, r.refetch, r.change, r.load, r.source_ms
            ));
        }
        let t = Instant::now();
        let snap = Snapshot::build(&config, loaded, vec![], Some(now), now);
        let build = t.elapsed().as_secs_f64();
        let total = snap.select(&Filter::default()).count();
        eprintln!("  snapshot: {total} occurrences in {build:.2} s");
        let month = Filter {
            from: NaiveDate::from_ymd_opt(2027, 3, 1),
            to: NaiveDate::from_ymd_opt(2027, 3, 31),
            categories: vec!["music".into()],
            near: Geo::new(51.48, 7.45).map(|g| (g, 2.0)),
            ..Filter::default()
        };
        let category = Filter {
            categories: vec!["theatre".into()],
            ..Filter::default()
        };
        let day = Filter {
            from: NaiveDate::from_ymd_opt(2027, 2, 14),
            to: NaiveDate::from_ymd_opt(2027, 2, 14),
            ..Filter::default()
        };
        let mut ms = Vec::new();
        for f in [&month, &category, &day] {
            ms.push(median_ms(|| {
                std::hint::black_box(json::render_events(&snap, f, Some(100), None).unwrap());
            }));
        }
        eprintln!(
            "  filtered JSON page: month+category+radius {:.2} ms, category {:.2} ms, day {:.2} ms",
            ms[0], ms[1], ms[2]
        );
        serving.push_str(&format!(
            "| {total} | {build:.2} | {:.2} | {:.2} | {:.2} |\n",
            ms[0], ms[1], ms[2]
        ));
    }
    println!(
        "\n## Store backends\n\n{table}\n## Requests from the in-memory snapshot\n\n{serving}"
    );
    if !plans.is_empty() {
        println!("\n## PostgreSQL query plans\n{plans}");
    }
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the store's statements on the filled PostgreSQL store
/// (`REGIOCAL_BENCH_EXPLAIN=1`); writes only as plain `EXPLAIN`.
async fn explain(store: &PgStore, occ: usize, rows: usize) -> String {
    let statements = [
        (
            "snapshot rebuild: all events in key order (all_events)",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM events ORDER BY source_id COLLATE \"C\", uid COLLATE \"C\", recurrence_id COLLATE \"C\"",
        ),
        (
            "ingest: one source's events (source_events)",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM events WHERE source_id = 'source-042' ORDER BY uid COLLATE \"C\", recurrence_id COLLATE \"C\"",
        ),
        (
            "ingest: stored hashes of a source (apply)",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT uid, recurrence_id, content_hash FROM events WHERE source_id = 'source-042'",
        ),
        (
            "push: one event by key (upsert_events)",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT content_hash FROM events WHERE source_id = 'source-042' AND uid = 's42-e17@bench.example' AND recurrence_id = ''",
        ),
        (
            "push: event count of a source (touch_source)",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM events WHERE source_id = 'source-042' AND recurrence_id = ''",
        ),
        (
            "scheduler: claim a source (one conditional UPDATE)",
            "EXPLAIN UPDATE sources SET fetch_seq = fetch_seq + 1, lease_holder = 'i1', lease_until = now() WHERE id = 'source-042' AND fetch_seq = 0 AND (lease_holder IS NULL OR lease_holder = 'i1' OR lease_until IS NULL OR lease_until <= now())",
        ),
        (
            "every instance, every poll: the store version",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT value FROM meta WHERE key = 'version'",
        ),
    ];
    let _ = sqlx::query("ANALYZE").execute(store.pool()).await;
    let mut out = format!("\n### {occ} occurrences ({rows} rows)\n");
    for (what, sql) in statements {
        let lines: Vec<String> = match sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
            .fetch_all(store.pool())
            .await
        {
            Ok(lines) => lines,
            Err(e) => vec![format!("(failed: {e})")],
        };
        out.push_str(&format!(
            "\n{what}:\n\n```text\n{}\n```\n",
            lines.join("\n")
        ));
    }
    out
}

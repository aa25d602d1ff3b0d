//! RELIABILITY.md fault catalogue, one machine, loopback only: F1 (source down), F6 (disk
//! full) and F8 (restart). Sources are stub servers on 127.0.0.1:0 or a closed loopback port.

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::{Reply, StubServer};
use regiocal::app::App;
use regiocal::config::Config;
use regiocal::ingest::{self, Outcome};
use regiocal::model::Health;
use regiocal::server::{self, SnapshotCell};
use regiocal::store::{SqliteStore, Store};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc()
}

/// A config with one source `id` at `url` (store in `dir`), scheduled every minute so that
/// the backoff, not the schedule, decides when a failing source is retried.
fn config_with(dir: &Path, id: &str, url: &str) -> Config {
    let block = format!(
        "{}schedule = \"* * * * *\"\n",
        common::source_block(id, url)
    );
    common::write_config(dir, &block).1
}

async fn ingest_at(app: &App, id: &str, at: DateTime<Utc>) -> ingest::Report {
    let src = app.config.source(id).unwrap();
    ingest::ingest_source(&app.config, app.store.as_ref(), &app.fetcher, src, at)
        .await
        .unwrap()
}

/// Serves the app's current snapshot on 127.0.0.1:0 without a scheduler; returns the base URL
/// and a guard that stops the server when dropped.
async fn serve_snapshot(app: &App) -> (String, tokio::sync::oneshot::Sender<()>) {
    let state = app.state(
        SnapshotCell::new(app.served().await.unwrap()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, state, async {
        let _ = rx.await;
    }));
    (base, stop)
}

async fn get_json(url: String) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// A loopback port with nothing listening on it.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

/// F1: a source whose host refuses connections backs off exponentially with jitter up to the
/// 24 h cap and is never given up; after three failures `/api/v1/sources` says `failing`,
/// while its events are still served; one success resets the error count.
#[tokio::test]
async fn f1_source_down_backs_off_capped_keeps_events_and_recovers() {
    let stub = StubServer::start().await;
    stub.script(
        "/cal.ics",
        vec![Reply::Feed {
            body: common::fixture("ics/google.ics"),
            etag: Some("\"up\"".into()),
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    // Up: events stored.
    let up = App::open(config_with(dir.path(), "club", &stub.url("/cal.ics")))
        .await
        .unwrap();
    assert_eq!(
        ingest_at(&up, "club", now()).await.outcome,
        Outcome::Updated
    );
    let stored = up.store.source_events("club").await.unwrap();
    assert!(!stored.is_empty());
    drop(up);

    // Down: same source id and store, the host now refuses connections.
    let down_url = format!("http://127.0.0.1:{}/cal.ics", closed_port().await);
    let down = App::open(config_with(dir.path(), "club", &down_url))
        .await
        .unwrap();
    let mut delays = Vec::new();
    let mut at = now();
    for errors in 1..=14u32 {
        let r = ingest_at(&down, "club", at).await;
        assert_eq!(r.outcome, Outcome::Failed);
        assert!(
            r.error.as_deref().unwrap().contains("request failed"),
            "{r:?}"
        );
        let st = down.store.source_state("club").await.unwrap().unwrap();
        assert_eq!(st.error_count, errors);
        let next = st.next_run.expect("never disabled: always a next run");
        let delay = (next - at).num_seconds();
        // Nominal: 5 min doubled per failure, capped at 24 h; jitter takes up to a quarter off.
        let nominal = (300i64 << (errors - 1)).min(86_400);
        assert!(
            delay <= nominal && delay >= (nominal * 3 / 4).max(300),
            "failure {errors}: {delay} s vs nominal {nominal} s"
        );
        delays.push(delay);
        if errors == 3 {
            assert_eq!(st.health(), Health::Failing);
            let (base, _stop) = serve_snapshot(&down).await;
            let sources = get_json(format!("{base}/api/v1/sources")).await;
            let club = &sources["sources"][0];
            assert_eq!(club["health"], "failing", "{club}");
            assert_eq!(club["error_count"], 3);
            assert!(
                club["last_error"]
                    .as_str()
                    .unwrap()
                    .contains("request failed")
            );
            let events = get_json(format!("{base}/api/v1/events?source=club")).await;
            assert!(
                !events["events"].as_array().unwrap().is_empty(),
                "events of a failing source are still served"
            );
            let ics = reqwest::get(format!("{base}/calendar.ics")).await.unwrap();
            assert_eq!(ics.status(), 200);
        }
        at = next;
    }
    // Grows, then stays at the cap; jitter makes equal nominal delays differ between attempts.
    assert!(delays[4] > delays[0] * 8, "{delays:?}");
    let capped = &delays[9..];
    assert!(
        capped.iter().all(|d| *d <= 86_400 && *d >= 86_400 * 3 / 4),
        "{delays:?}"
    );
    assert!(
        capped.windows(2).any(|w| w[0] != w[1]),
        "jitter: {delays:?}"
    );
    assert_eq!(
        down.store.source_events("club").await.unwrap().len(),
        stored.len(),
        "failures never touch events"
    );
    drop(down);

    // Up again: one success resets the count and the health.
    let back = App::open(config_with(dir.path(), "club", &stub.url("/cal.ics")))
        .await
        .unwrap();
    let r = ingest_at(&back, "club", at).await;
    assert_ne!(r.outcome, Outcome::Failed, "{r:?}");
    let st = back.store.source_state("club").await.unwrap().unwrap();
    assert_eq!((st.error_count, st.last_error.as_deref()), (0, None));
    assert_eq!(st.health(), Health::Ok);
    assert!(st.next_run.unwrap() - at <= Duration::hours(2));
}

/// Page count of the SQLite file (read through a separate connection).
async fn page_count(path: &Path) -> u32 {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    n as u32
}

/// F6: the disk fills up while a large feed is applied. The transaction rolls back, the
/// source's stored events are unchanged, the failure is recorded for that source (error, backoff)
/// and the store stays sound and readable; once there is space again the next ingest succeeds.
#[tokio::test]
async fn f6_disk_full_during_a_large_ingest_rolls_back_and_recovers() {
    let stub = StubServer::start().await;
    let first = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let small = common::generated_feed("big", 20, first);
    let large = common::generated_feed("big", 3000, first);
    stub.script(
        "/big.ics",
        vec![
            Reply::Feed {
                body: small,
                etag: Some("\"small\"".into()),
            },
            Reply::Feed {
                body: large,
                etag: Some("\"large\"".into()),
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_with(dir.path(), "big", &stub.url("/big.ics"));
    // The disk-full fault is the SQLite file's (PRAGMA max_page_count), on either suite run.
    cfg.store.url = None;
    let db = cfg.store.path.clone();
    let app = App::open(cfg.clone()).await.unwrap();
    assert_eq!(ingest_at(&app, "big", now()).await.events, 20);
    let before = app.store.source_events("big").await.unwrap();
    drop(app);

    // The disk is full: no page beyond the current file size (plus a couple for bookkeeping).
    let cap = page_count(&db).await + 2;
    let full = App::with_store(
        cfg.clone(),
        SqliteStore::open_capped(&db, cap).await.unwrap(),
    )
    .await
    .unwrap();
    let r = ingest_at(&full, "big", now()).await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    let err = r.error.clone().unwrap();
    assert!(
        err.contains("cannot store 3000 events") && err.contains("full"),
        "{err}"
    );
    let after = full.store.source_events("big").await.unwrap();
    assert_eq!(
        after.iter().map(|e| &e.event).collect::<Vec<_>>(),
        before.iter().map(|e| &e.event).collect::<Vec<_>>(),
        "the source is wholly old"
    );
    let st = full.store.source_state("big").await.unwrap().unwrap();
    assert_eq!(st.error_count, 1);
    assert_eq!(st.event_count, 20);
    assert_eq!(st.etag.as_deref(), Some("\"small\""), "old validators kept");
    assert!(st.last_error.as_deref().unwrap().contains("full"));
    assert!(st.next_run.unwrap() > now());
    let regiocal::store::AnyStore::Sqlite(sqlite) = &*full.store else {
        panic!("the disk-full test runs on SQLite")
    };
    assert_eq!(sqlite.integrity_check().await.unwrap(), "ok");
    // Serving goes on from the old data, and the source's row names the problem.
    let (base, _stop) = serve_snapshot(&full).await;
    let events = get_json(format!("{base}/api/v1/events?source=big&limit=1000")).await;
    assert_eq!(events["events"].as_array().unwrap().len(), 20);
    let sources = get_json(format!("{base}/api/v1/sources")).await;
    assert_eq!(sources["sources"][0]["id"], "big");
    assert_eq!(sources["sources"][0]["health"], "degraded");
    assert!(
        sources["sources"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("full")
    );
    drop(full);

    // Space again: the next ingest stores the large feed.
    let app = App::open(cfg).await.unwrap();
    let r = ingest_at(&app, "big", now() + Duration::hours(1)).await;
    assert_eq!((r.outcome, r.events), (Outcome::Updated, 3000), "{r:?}");
    let st = app.store.source_state("big").await.unwrap().unwrap();
    assert_eq!((st.error_count, st.event_count), (0, 3000));
    assert_eq!(app.store.source_events("big").await.unwrap().len(), 3000);
}

/// F8: after a restart on the same store, a source whose next run lies in the future is not
/// fetched again, an overdue one is fetched at once and conditionally (If-None-Match and
/// If-Modified-Since from the stored state), and the stored events are served right away.
#[tokio::test]
async fn f8_restart_resumes_schedule_and_sends_stored_validators() {
    let stub = StubServer::start().await;
    let lm = "Tue, 24 Nov 2026 06:00:00 GMT";
    // Two different calendars (the same one twice would be merged into one by de-duplication).
    let cached = |etag: &str, fixture: &str| Reply::WithHeaders {
        status: 200,
        headers: vec![
            ("etag", etag.to_string()),
            ("last-modified", lm.to_string()),
            ("content-type", "text/calendar".to_string()),
        ],
        body: common::fixture(fixture),
    };
    let not_modified = Reply::WithHeaders {
        status: 304,
        headers: vec![],
        body: Vec::new(),
    };
    stub.script("/fresh.ics", vec![cached("\"f1\"", "ics/google.ics")]);
    stub.script(
        "/stale.ics",
        vec![cached("\"s1\"", "ics/nextcloud.ics"), not_modified],
    );
    let dir = tempfile::tempdir().unwrap();
    let sources = format!(
        "{}{}",
        common::source_block("fresh", &stub.url("/fresh.ics")),
        common::source_block("stale", &stub.url("/stale.ics")),
    );
    let (_, cfg) = common::write_config(dir.path(), &sources);

    // First life: both fetched once; then the daemon stops.
    let app = App::open(cfg.clone()).await.unwrap();
    let reports = app.fetch_all(None, |_| {}).await.unwrap();
    assert!(reports.iter().all(|r| r.outcome == Outcome::Updated));
    // "stale" was due while the daemon was down.
    let mut st = app.store.source_state("stale").await.unwrap().unwrap();
    st.next_run = Some(Utc::now() - Duration::minutes(10));
    app.store.save_state(&st).await.unwrap();
    let fresh_next = app
        .store
        .source_state("fresh")
        .await
        .unwrap()
        .unwrap()
        .next_run
        .unwrap();
    assert!(fresh_next > Utc::now());
    drop(app);

    // Second life on the same store.
    let app = App::open(cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    tokio::spawn(app.serve(listener, async {
        let _ = rx.await;
    }));
    // Stored events are served at once (the snapshot is built before the first accept).
    let events = loop {
        if let Ok(resp) = reqwest::get(format!("{base}/api/v1/events?limit=1000")).await {
            break resp.json::<Value>().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let served = events["events"].as_array().unwrap();
    assert!(served.iter().any(|e| e["source"] == "fresh"));
    assert!(served.iter().any(|e| e["source"] == "stale"));

    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while stub.hits("/stale.ics").len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the overdue source was not fetched"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Give a storm the chance to happen.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        stub.hits("/fresh.ics").len(),
        1,
        "no refetch before next_run"
    );
    let hits = stub.hits("/stale.ics");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1].if_none_match.as_deref(), Some("\"s1\""));
    assert_eq!(hits[1].if_modified_since.as_deref(), Some(lm));
}

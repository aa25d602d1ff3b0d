//! Ingesting sources end to end against a stub HTTP server on 127.0.0.1: conditional GET,
//! failures that keep stored events, the shrink guard, limits, stable identities.

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use common::{Reply, StubServer};
use regiocal::app::App;
use regiocal::ingest::{self, Outcome};
use regiocal::model::Health;
use regiocal::output::{Filter, json};
use regiocal::store::Store;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc()
}

async fn app_with(dir: &std::path::Path, extra: &str, sources: &[(&str, String)]) -> App {
    let blocks: String = sources
        .iter()
        .map(|(id, url)| common::source_block(id, url))
        .collect();
    let (_, cfg) = common::write_config(dir, &format!("{extra}{blocks}"));
    App::open(cfg).await.unwrap()
}

async fn run(app: &App, id: &str) -> ingest::Report {
    let src = app.config.source(id).unwrap();
    ingest::ingest_source(&app.config, app.store.as_ref(), &app.fetcher, src, now())
        .await
        .unwrap()
}

#[tokio::test]
async fn row10_conditional_get_and_failures_keep_events() {
    let stub = StubServer::start().await;
    let feed = common::fixture("ics/google.ics");
    stub.script(
        "/cal.ics",
        vec![
            Reply::Feed {
                body: feed.clone(),
                etag: Some("\"v1\"".into()),
            },
            Reply::Feed {
                body: feed.clone(),
                etag: Some("\"v1\"".into()),
            },
            Reply::Raw {
                status: 500,
                body: b"oops".to_vec(),
                content_type: "text/plain",
            },
            Reply::Raw {
                status: 200,
                body: b"<!DOCTYPE html><html><body>Bitte anmelden</body></html>".to_vec(),
                content_type: "text/html",
            },
            Reply::Raw {
                status: 200,
                body: b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2026121"
                    .to_vec(),
                content_type: "text/calendar",
            },
            Reply::Feed {
                body: feed.clone(),
                etag: Some("\"v2\"".into()),
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), "", &[("google", stub.url("/cal.ics"))]).await;

    let r = run(&app, "google").await;
    assert_eq!((r.outcome, r.events), (Outcome::Updated, 9), "{r:?}");
    assert_eq!(r.stats.inserted, 9);

    let r = run(&app, "google").await;
    assert_eq!(r.outcome, Outcome::Unchanged, "{r:?}");
    assert_eq!(
        stub.hits("/cal.ics")[1].if_none_match.as_deref(),
        Some("\"v1\"")
    );

    let r = run(&app, "google").await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.error.as_deref(), Some("HTTP status 500"));
    let r = run(&app, "google").await;
    assert!(r.error.as_deref().unwrap().contains("HTML page"), "{r:?}");
    let state = app.store.source_state("google").await.unwrap().unwrap();
    assert_eq!((state.error_count, state.event_count), (2, 9));
    assert_eq!(state.health(), Health::Degraded);
    assert_eq!(
        app.store.source_events("google").await.unwrap().len(),
        9,
        "failed fetches must not touch events"
    );

    // A truncated calendar is not a feed: nothing is replaced.
    let r = run(&app, "google").await;
    assert!(r.error.as_deref().unwrap().contains("truncated"), "{r:?}");
    assert_eq!(
        app.store.source_events("google").await.unwrap().len(),
        9,
        "{r:?}"
    );

    let r = run(&app, "google").await;
    assert_eq!(
        r.outcome,
        Outcome::Unchanged,
        "same body, new ETag: no re-parse: {r:?}"
    );
    let state = app.store.source_state("google").await.unwrap().unwrap();
    assert_eq!((state.error_count, state.last_error.as_deref()), (0, None));
    assert_eq!(state.etag.as_deref(), Some("\"v2\""));
}

#[tokio::test]
async fn bogus_304_and_oversized_and_slow_bodies_are_errors() {
    let stub = StubServer::start().await;
    stub.script(
        "/bogus",
        vec![Reply::Raw {
            status: 304,
            body: vec![],
            content_type: "text/plain",
        }],
    );
    stub.script(
        "/big",
        vec![Reply::Feed {
            body: common::generated_feed("b", 200, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            etag: None,
        }],
    );
    stub.script(
        "/slow",
        vec![Reply::Slow {
            secs: 30,
            body: common::fixture("ics/google.ics"),
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(
        dir.path(),
        "max_body_bytes = 4096\ntimeout_secs = 1\n",
        &[
            ("bogus", stub.url("/bogus")),
            ("big", stub.url("/big")),
            ("slow", stub.url("/slow")),
        ],
    )
    .await;
    let r = run(&app, "bogus").await;
    assert!(
        r.error.as_deref().unwrap().contains("not conditional"),
        "{r:?}"
    );
    let r = run(&app, "big").await;
    assert_eq!(
        r.error.as_deref(),
        Some("body exceeds the limit of 4096 bytes")
    );
    let started = std::time::Instant::now();
    let r = run(&app, "slow").await;
    assert_eq!(r.error.as_deref(), Some("timed out after 1 s"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn f4_row9_an_emptied_feed_is_held_back_until_three_fetches_confirm_it() {
    let stub = StubServer::start().await;
    let full = common::generated_feed("e", 300, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    let empty =
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Gen//DE\r\nEND:VCALENDAR\r\n".to_vec();
    stub.script(
        "/feed",
        vec![
            Reply::Feed {
                body: full,
                etag: None,
            },
            Reply::Feed {
                body: empty,
                etag: None,
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), "", &[("club", stub.url("/feed"))]).await;

    assert_eq!(run(&app, "club").await.outcome, Outcome::Updated);
    assert_eq!(app.store.source_events("club").await.unwrap().len(), 300);
    for round in 1..=2 {
        let r = run(&app, "club").await;
        assert_eq!(r.outcome, Outcome::HeldBack, "round {round}: {r:?}");
        assert!(
            r.error
                .as_deref()
                .unwrap()
                .contains(&format!("({round} so far)"))
        );
        assert_eq!(app.store.source_events("club").await.unwrap().len(), 300);
        let state = app.store.source_state("club").await.unwrap().unwrap();
        assert_eq!(state.health(), Health::Suspect);
    }
    let r = run(&app, "club").await;
    assert_eq!(
        r.outcome,
        Outcome::Updated,
        "third confirmation applies: {r:?}"
    );
    // The 23 events that were already over (2026-11-01..23, now = 2026-11-24) are kept as
    // they were; the upcoming ones stay as cancelled (for calendar.cancelled_days), so
    // subscribed calendars remove them.
    let left = app.store.source_events("club").await.unwrap();
    assert_eq!(left.len(), 300);
    let (past, upcoming): (Vec<_>, Vec<_>) = left
        .iter()
        .partition(|e| e.event.start.to_utc(chrono_tz::UTC) < now());
    assert_eq!(past.len(), 23, "past events stay");
    assert!(past.iter().all(
        |e| e.event.withdrawn.is_none() && e.event.status == regiocal::model::Status::Confirmed
    ));
    assert!(upcoming.iter().all(|e| e.event.withdrawn == Some(now())
        && e.event.status == regiocal::model::Status::Cancelled));
    assert_eq!(
        app.store
            .source_state("club")
            .await
            .unwrap()
            .unwrap()
            .health(),
        Health::Ok
    );
}

#[tokio::test]
async fn ids_and_output_are_stable_across_refetch_and_reordering() {
    let stub = StubServer::start().await;
    let feed = String::from_utf8(common::fixture("ics/google.ics")).unwrap();
    // Same calendar with the VEVENTs in reverse order.
    let head_end = feed.find("BEGIN:VEVENT").unwrap();
    let tail_start = feed.rfind("END:VEVENT\r\n").unwrap() + "END:VEVENT\r\n".len();
    let mut blocks: Vec<&str> = feed[head_end..tail_start]
        .split_inclusive("END:VEVENT\r\n")
        .collect();
    blocks.reverse();
    let reordered = format!(
        "{}{}{}",
        &feed[..head_end],
        blocks.concat(),
        &feed[tail_start..]
    );
    assert_ne!(reordered, feed);
    stub.script(
        "/g",
        vec![
            Reply::Feed {
                body: feed.into_bytes(),
                etag: None,
            },
            Reply::Feed {
                body: reordered.into_bytes(),
                etag: None,
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), "", &[("google", stub.url("/g"))]).await;

    run(&app, "google").await;
    let first_ics = app
        .export(regiocal::app::ExportFormat::Ics, &Filter::default())
        .await
        .unwrap();
    let first_json = app
        .export(regiocal::app::ExportFormat::Json, &Filter::default())
        .await
        .unwrap();
    let r = run(&app, "google").await;
    assert_eq!(r.outcome, Outcome::Updated);
    assert_eq!(r.stats.unchanged, 9, "reordering changes no event: {r:?}");
    assert_eq!(
        app.export(regiocal::app::ExportFormat::Ics, &Filter::default())
            .await
            .unwrap(),
        first_ics
    );
    assert_eq!(
        app.export(regiocal::app::ExportFormat::Json, &Filter::default())
            .await
            .unwrap(),
        first_json
    );
}

#[tokio::test]
async fn one_bad_source_does_not_affect_another() {
    let stub = StubServer::start().await;
    stub.script(
        "/ok",
        vec![Reply::Feed {
            body: common::fixture("ics/apple.ics"),
            etag: None,
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.ics").display().to_string();
    let app = app_with(
        dir.path(),
        "",
        &[
            ("ok", stub.url("/ok")),
            ("gone", stub.url("/404")),
            ("file", missing),
            (
                "hostile",
                common::fixture_path("ics/hostile-recurrence.ics")
                    .display()
                    .to_string(),
            ),
        ],
    )
    .await;
    let reports = app.fetch_all(None, |_| {}).await.unwrap();
    let by = |id: &str| reports.iter().find(|r| r.source == id).unwrap();
    assert_eq!(by("ok").outcome, Outcome::Updated);
    assert_eq!(by("gone").error.as_deref(), Some("HTTP status 404"));
    assert!(
        by("file")
            .error
            .as_deref()
            .unwrap()
            .starts_with("cannot read file"),
        "{:?}",
        by("file")
    );
    assert_eq!(
        by("hostile").outcome,
        Outcome::Updated,
        "{:?}",
        by("hostile")
    );
    assert!(!regiocal::app::all_failed(&reports));

    // Hostile recurrences are stored but bounded when served.
    let started = std::time::Instant::now();
    let snap = app.snapshot().await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let only_hostile = Filter {
        sources: vec!["hostile".into()],
        ..Default::default()
    };
    let hostile = snap.select(&only_hostile).count();
    assert!(hostile <= 2 * 1000 + 1, "{hostile}");
    assert!(snap.truncated_series >= 1);
    let doc: serde_json::Value = serde_json::from_str(
        &json::render_events(
            &snap,
            &Filter {
                sources: vec!["ok".into()],
                ..Default::default()
            },
            None,
            None,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        doc["events"].as_array().unwrap().len(),
        snap.select(&Filter {
            sources: vec!["ok".into()],
            ..Default::default()
        })
        .count()
    );
}

#[tokio::test]
async fn absurd_lines_are_refused_but_large_calendars_parse() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.ics");
    let mut body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-JUNK:".to_vec();
    body.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    body.extend(b"\r\nEND:VCALENDAR\r\n");
    std::fs::write(&long, body).unwrap();
    let large = dir.path().join("large.ics");
    std::fs::write(
        &large,
        common::generated_feed("l", 20_000, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
    )
    .unwrap();
    let app = app_with(
        dir.path(),
        "",
        &[
            ("long", long.display().to_string()),
            ("large", large.display().to_string()),
        ],
    )
    .await;
    let r = run(&app, "long").await;
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("line 3 is longer than"),
        "{r:?}"
    );
    let r = run(&app, "large").await;
    assert_eq!((r.outcome, r.events), (Outcome::Updated, 20_000));
}

#[tokio::test]
async fn row4_a_million_fold_continuations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("folds.ics");
    let mut body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261201T100000Z\r\nDESCRIPTION:a".to_vec();
    for _ in 0..1_000_000 {
        body.extend_from_slice(b"\r\n xx");
    }
    body.extend_from_slice(b"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    std::fs::write(&path, body).unwrap();
    let app = app_with(dir.path(), "", &[("folds", path.display().to_string())]).await;
    let r = run(&app, "folds").await;
    assert!(
        r.error.as_deref().unwrap().contains("unfolded line"),
        "{r:?}"
    );
}

#[tokio::test]
async fn row11_regenerated_uids_do_not_duplicate_events() {
    let stub = StubServer::start().await;
    let first = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    stub.script(
        "/o365",
        vec![
            Reply::Feed {
                body: common::generated_feed("run1", 40, first),
                etag: None,
            },
            Reply::Feed {
                body: common::generated_feed("run2", 40, first),
                etag: None,
            },
            Reply::Feed {
                body: common::generated_feed("run3", 40, first),
                etag: None,
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), "", &[("o365", stub.url("/o365"))]).await;
    for _ in 0..3 {
        assert_eq!(run(&app, "o365").await.outcome, Outcome::Updated);
        let snap = app.snapshot().await.unwrap();
        assert_eq!(
            snap.select(&Filter::default()).count(),
            40,
            "no duplicates after a UID regeneration"
        );
    }
}

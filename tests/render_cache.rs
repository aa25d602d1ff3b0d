//! Feeds are rendered once per change: the unfiltered feeds are ready (rendered and compressed)
//! before a snapshot is swapped in, and a filtered feed asked for by many clients at once is
//! rendered once.

mod common;

use regiocal::app::App;
use regiocal::output::{Filter, atom, ics, json, jsonld};
use regiocal::server::cache::Coding;
use regiocal::server::{self, Served, SnapshotCell};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn demo() -> Served {
    server::prepare(common::snapshot_of(&[
        ("nextcloud", "ics/nextcloud.ics"),
        ("google", "ics/google.ics"),
    ]))
}

#[tokio::test]
async fn unfiltered_feeds_are_ready_and_compressed_before_the_swap() {
    let served = demo();
    let snap = &served.snapshot;
    let ready: BTreeSet<&str> = served.cache.ready().map(|(k, _)| k).collect();
    assert_eq!(
        ready,
        BTreeSet::from(["calendar.ics?", "events.jsonld?", "events?", "feed.atom?"])
    );
    let all = Filter::default();
    let expected = [
        ("calendar.ics?", ics::render(snap, &all)),
        ("events.jsonld?", jsonld::render(snap, &all)),
        ("feed.atom?", atom::render(snap, &all)),
        (
            "events?",
            json::render_events(snap, &all, Some(json::DEFAULT_LIMIT), None).unwrap(),
        ),
    ];
    for (key, body) in expected {
        let (_, r) = served.cache.ready().find(|(k, _)| *k == key).unwrap();
        assert_eq!(r.body, body.as_bytes(), "{key}");
        assert!(
            r.variants_ready(),
            "{key}: gzip and brotli made before the swap"
        );
        // A request for it takes the ready rendering and renders nothing.
        let got = served
            .cache
            .get_or_render(key, "test", move || panic!("{key} rendered at a request"))
            .await;
        assert!(Arc::ptr_eq(&got, r), "{key}");
        let (br, coding, tag) = got.encoded(Coding::Brotli);
        assert_eq!(coding, Coding::Brotli);
        let mut plain = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut plain).unwrap();
        assert_eq!(plain, body.as_bytes());
        assert_ne!(tag, got.etag);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_filtered_feed_render_it_once() {
    let served = Arc::new(demo());
    let renders = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (served, renders) = (served.clone(), renders.clone());
            tokio::spawn(async move {
                let snap = served.snapshot.clone();
                served
                    .cache
                    .get_or_render("calendar.ics?category=Musik", "test", move || {
                        renders.fetch_add(1, Ordering::SeqCst);
                        // Long enough that every request arrives while it renders.
                        std::thread::sleep(Duration::from_millis(200));
                        let filter = Filter {
                            categories: vec!["Musik".into()],
                            ..Filter::default()
                        };
                        ics::render(&snap, &filter)
                    })
                    .await
            })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    assert_eq!(renders.load(Ordering::SeqCst), 1);
    assert!(got.iter().all(|r| Arc::ptr_eq(r, &got[0])));
    assert!(String::from_utf8_lossy(&got[0].body).contains("BEGIN:VEVENT"));
    // Another filter is another rendering.
    let other = served
        .cache
        .get_or_render("calendar.ics?category=Sport", "test", || "other".into())
        .await;
    assert_eq!(&other.body[..], b"other");
}

/// Over HTTP, across a swap: the unfiltered feeds are never rendered at a request, and a
/// filtered feed asked for by 24 clients at once is rendered once (from `/metrics`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_feeds_render_once_per_change() {
    regiocal::metrics::install();
    let dir = tempfile::tempdir().unwrap();
    let fixture = |name: &str| common::fixture_path(name).display().to_string();
    let (_, cfg) = common::write_config(
        dir.path(),
        &[
            common::source_block("nextcloud", &fixture("ics/nextcloud.ics")),
            common::source_block("google", &fixture("ics/google.ics")),
        ]
        .concat(),
    );
    let app = App::open(cfg).await.unwrap();
    app.fetch_all(None, |_| {}).await.unwrap();
    let state = app.state(
        SnapshotCell::new(app.served().await.unwrap()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let cell = state.snapshot.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(listener, state, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let get = |path: &str, coding: &'static str| {
        client
            .get(format!("http://{addr}{path}"))
            .header("accept-encoding", coding)
            .send()
    };
    for round in 0..2 {
        if round == 1 {
            // An ingest finished: a new snapshot with its ready feeds is swapped in.
            cell.set(app.served().await.unwrap());
        }
        for path in [
            "/calendar.ics",
            "/calendar.ics?",
            "/feed.atom",
            "/api/v1/events.jsonld",
            "/api/v1/events",
        ] {
            for coding in ["identity", "gzip", "br"] {
                let resp = get(path, coding).await.unwrap();
                assert_eq!(resp.status(), 200, "{path} {coding}");
            }
        }
    }
    let filtered = "/calendar.ics?category=Musik&from=2026-01-01";
    let answers = futures_util::future::join_all((0..24).map(|_| get(filtered, "br"))).await;
    let mut etags = BTreeSet::new();
    for a in answers {
        let a = a.unwrap();
        assert_eq!(a.status(), 200);
        etags.insert(a.headers()["etag"].to_str().unwrap().to_string());
    }
    assert_eq!(etags.len(), 1, "one rendering for all: {etags:?}");
    let metrics = get("/metrics", "identity")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |feed: &str, when: &str| -> u64 {
        let line = format!("regiocal_feed_renders_total{{feed=\"{feed}\",when=\"{when}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    for feed in ["calendar.ics", "feed.atom", "events.jsonld", "events"] {
        // The two snapshots of this test (other tests in this binary add none over HTTP).
        assert!(count(feed, "ready") >= 2, "{feed} ready\n{metrics}");
    }
    assert_eq!(count("calendar.ics", "on_demand"), 1, "{metrics}");
    assert_eq!(count("feed.atom", "on_demand"), 0, "{metrics}");
    assert_eq!(count("events.jsonld", "on_demand"), 0, "{metrics}");
    assert_eq!(count("events", "on_demand"), 0, "{metrics}");
    // Idle keep-alive connections would hold the graceful shutdown up.
    drop(client);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

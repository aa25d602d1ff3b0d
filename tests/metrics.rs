//! `GET /metrics` of an in-process server on 127.0.0.1:0 whose sources are a stub server:
//! fetch counters and histograms, per-source gauges, HTTP counters labelled by route template,
//! push counters. One test per binary, because the recorder is process-global.

mod common;

use common::{Reply, StubServer};
use regiocal::app::App;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TOKEN: &str = "rc_metrics_test_token";

/// One sample of the Prometheus text format: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text exposition format (enough of it for the values regiocal writes).
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = value.parse().expect("numeric value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                let labels = body
                    .split("\",")
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once("=\"").expect("label k=\"v\"");
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (name.to_string(), labels)
            }
            None => (series.to_string(), BTreeMap::new()),
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// The value of the sample with this name and (at least) these labels.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

#[tokio::test]
async fn metrics_count_fetches_requests_and_pushes_with_bounded_labels() {
    let stub = StubServer::start().await;
    stub.script(
        "/good.ics",
        vec![Reply::Feed {
            body: common::fixture("ics/apple.ics"),
            etag: Some("\"g1\"".into()),
        }],
    );
    stub.script(
        "/down.ics",
        vec![Reply::Raw {
            status: 500,
            body: b"oops".to_vec(),
            content_type: "text/plain",
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    let digest: String = Sha256::digest(TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sources = format!(
        "{}{}[[source]]\nid = \"theater\"\nname = \"Kleines Theater\"\n\
         [[actor]]\nid = \"theater\"\nname = \"Theater e. V.\"\nsources = [\"theater\"]\ntoken_sha256 = \"{digest}\"\n",
        common::source_block("good", &stub.url("/good.ics")),
        common::source_block("down", &stub.url("/down.ics")),
    );
    let (_, cfg) = common::write_config(dir.path(), &sources);
    let app = App::open(cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();

    // Both sources are due at start: wait until both ingests are in the snapshot.
    let deadline = Instant::now() + Duration::from_secs(20);
    let good_events = loop {
        let doc: Value = get("/api/v1/sources").await.unwrap().json().await.unwrap();
        let find = |id: &str| {
            doc["sources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == id)
                .cloned()
                .unwrap()
        };
        let (good, down) = (find("good"), find("down"));
        if good["health"] == "ok" && down["error_count"] == 1 {
            break good["event_count"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "ingests did not finish: {doc}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(good_events > 0);

    assert_eq!(get("/calendar.ics").await.unwrap().status(), 200);
    assert_eq!(
        get("/api/v1/events/no-such-event").await.unwrap().status(),
        404
    );
    assert_eq!(get("/no/such/route").await.unwrap().status(), 404);
    let push = |source: &str, token: &str| {
        client
            .post(format!("{base}/api/v1/push/{source}/events"))
            .bearer_auth(token)
            .json(&serde_json::json!({
                "id": "impro-1",
                "title": "Improabend",
                "start": "2026-12-12T20:00:00",
            }))
            .send()
    };
    assert_eq!(push("theater", TOKEN).await.unwrap().status(), 201);
    assert_eq!(push("theater", "wrong").await.unwrap().status(), 401);
    assert_eq!(push("not-configured", TOKEN).await.unwrap().status(), 403);
    // Let the push's snapshot rebuild run.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let resp = get("/metrics").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    let s = parse(&text);
    let v = |name: &str, labels: &[(&str, &str)]| {
        value(&s, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };

    // Fetches.
    assert_eq!(
        v(
            "regiocal_fetch_total",
            &[("source", "good"), ("outcome", "updated")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "regiocal_fetch_total",
            &[("source", "down"), ("outcome", "failed")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "regiocal_fetch_duration_seconds_bucket",
            &[("source", "good"), ("le", "+Inf")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "regiocal_fetch_duration_seconds_count",
            &[("source", "good")]
        ),
        1.0
    );
    assert!(
        !text.contains("quantile="),
        "histograms must not be summaries:\n{text}"
    );

    // Per-source gauges.
    assert_eq!(
        v("regiocal_source_events", &[("source", "good")]),
        good_events as f64
    );
    assert_eq!(v("regiocal_source_events", &[("source", "theater")]), 1.0);
    assert_eq!(
        v(
            "regiocal_source_health",
            &[("source", "good"), ("state", "ok")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "regiocal_source_health",
            &[("source", "good"), ("state", "failing")]
        ),
        0.0
    );
    assert_eq!(
        v(
            "regiocal_source_health",
            &[("source", "down"), ("state", "degraded")]
        ),
        1.0
    );
    assert_eq!(v("regiocal_source_error_count", &[("source", "down")]), 1.0);
    assert_eq!(v("regiocal_source_error_count", &[("source", "good")]), 0.0);

    // HTTP, by route template, never by raw path.
    assert!(
        v(
            "regiocal_http_requests_total",
            &[("route", "/calendar.ics"), ("status", "200")]
        ) >= 1.0
    );
    assert_eq!(
        v(
            "regiocal_http_requests_total",
            &[("route", "/api/v1/events/{id}"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "regiocal_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    assert!(
        v(
            "regiocal_http_request_duration_seconds_count",
            &[("route", "/api/v1/sources")]
        ) >= 1.0
    );
    for raw in ["no-such-event", "/no/such/route", "not-configured"] {
        assert!(!text.contains(raw), "raw path {raw} leaked into labels");
    }

    // Pushes.
    assert_eq!(
        v(
            "regiocal_push_total",
            &[("source", "theater"), ("result", "created")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "regiocal_push_total",
            &[("source", "theater"), ("result", "unauthorized")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "regiocal_push_total",
            &[("source", "unknown"), ("result", "forbidden")]
        ),
        1.0
    );

    // Snapshots.
    assert!(v("regiocal_snapshot_build_seconds_count", &[]) >= 2.0);
    assert!(v("regiocal_snapshot_events", &[]) >= 0.0);
}

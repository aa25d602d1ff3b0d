//! `GET /api/v1/openapi.json` of an in-process server on 127.0.0.1:0: a valid OpenAPI 3.x
//! document describing every route, the push API with its bearer scheme and error answers,
//! and schemas that match what the server really sends.

mod common;

use regiocal::app::App;
use serde_json::Value;
use std::collections::BTreeSet;

async fn get_json(client: &reqwest::Client, url: String) -> Value {
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    serde_json::from_str(&resp.text().await.unwrap()).expect("valid JSON")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn openapi_document_describes_the_api_and_matches_real_responses() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = common::write_config(
        dir.path(),
        &common::source_block(
            "google",
            &common::fixture_path("ics/google.ics").display().to_string(),
        ),
    );
    let app = App::open(cfg).await.unwrap();
    app.fetch_all(None, |_| {}).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let doc = get_json(&client, format!("{base}/api/v1/openapi.json")).await;

    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = keys(&doc["paths"]);
    let expected: BTreeSet<String> = [
        "/calendar.ics",
        "/calendar.jcal",
        "/calendar.xcs",
        "/feed.atom",
        "/api/v1/events.jsonld",
        "/api/v1/events",
        "/api/v1/events/{id}",
        "/api/v1/sources",
        "/api/v1/categories",
        "/api/v1/venues",
        "/api/v1/venues/unmatched",
        "/api/v1/stats",
        "/healthz",
        "/api/v1/push/{source}/events",
        "/api/v1/push/{source}/events/{external_id}",
        "/metrics",
        "/api/v1/openapi.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(paths, expected);

    // The bearer scheme, and every push operation requires it and documents its errors.
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let push_ops = [
        ("/api/v1/push/{source}/events", "post"),
        ("/api/v1/push/{source}/events/{external_id}", "put"),
        ("/api/v1/push/{source}/events/{external_id}", "delete"),
    ];
    for (path, method) in push_ops {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        assert_eq!(
            op["security"],
            serde_json::json!([{"bearer": []}]),
            "{method} {path}"
        );
        let codes = keys(&op["responses"]);
        for code in ["401", "403", "413", "422", "429"] {
            assert!(codes.contains(code), "{method} {path} lacks {code}");
        }
        assert!(
            op["responses"]["429"]["headers"]["Retry-After"].is_object(),
            "{method} {path}"
        );
    }
    let post = &doc["paths"]["/api/v1/push/{source}/events"]["post"];
    for ct in ["application/json", "text/calendar", "application/ld+json"] {
        assert!(post["requestBody"]["content"][ct].is_object(), "{ct}");
    }
    // Every filter the server parses is documented on every feed and listing.
    let filters: BTreeSet<String> = regiocal::server::FILTER_PARAMETERS
        .iter()
        .map(|s| s.to_string())
        .collect();
    for path in [
        "/calendar.ics",
        "/calendar.jcal",
        "/calendar.xcs",
        "/feed.atom",
        "/api/v1/events.jsonld",
        "/api/v1/events",
    ] {
        let names: BTreeSet<String> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has no parameters"))
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .filter(|n| n != "limit" && n != "cursor")
            .collect();
        assert_eq!(names, filters, "{path}");
    }

    // The read API needs no token.
    assert!(doc["paths"]["/api/v1/events"]["get"]["security"].is_null());

    // The schemas name exactly the members the server sends.
    let schemas = &doc["components"]["schemas"];
    let page = get_json(&client, format!("{base}/api/v1/events?limit=5")).await;
    let event = &page["events"][0];
    assert!(event.is_object(), "fixture must give events: {page}");
    // `provenance` is only in the detail of a merged event, `outside_region` only on events
    // outside the configured region.
    let mut documented = keys(&schemas["Event"]["properties"]);
    assert!(documented.remove("provenance"));
    assert!(documented.remove("outside_region"));
    assert_eq!(keys(event), documented);
    let sources = get_json(&client, format!("{base}/api/v1/sources")).await;
    assert_eq!(
        keys(&sources["sources"][0]),
        keys(&schemas["Source"]["properties"])
    );
    let health = get_json(&client, format!("{base}/healthz")).await;
    assert_eq!(keys(&health), keys(&schemas["Health"]["properties"]));
}

//! The demo region ingested into SQLite and into PostgreSQL answers every filter (geo, text,
//! district, venue, category, transit) with the same occurrences; so does the occurrence index
//! against a plain scan (filters are answered from the in-memory snapshot on both backends). Needs the test PostgreSQL
//! server (`REGIOCAL_TEST_POSTGRES_URL`); without it the test prints `NOT RUN` (CI fails).

mod common;

use regiocal::app::App;
use regiocal::config::Config;
use regiocal::model::Geo;
use regiocal::output::{Filter, json};
use std::path::Path;

async fn demo_app(dir: &Path, postgres: Option<&str>) -> App {
    let mut cfg =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/regiocal.toml")).unwrap();
    cfg.store.path = dir.join("demo.sqlite");
    if let Some(url) = postgres {
        cfg.store.url = Some(url.to_string());
        cfg.store.schema = Some(common::unique_schema("agree"));
    }
    let app = App::open(cfg).await.unwrap();
    let reports = app.fetch_all(None, |_| {}).await.unwrap();
    assert!(!regiocal::app::all_failed(&reports));
    app
}

/// `(id, start)` of every occurrence the filter selects, as the JSON API lists them.
fn answer(snap: &regiocal::output::Snapshot, filter: &Filter) -> Vec<(String, String)> {
    let body = json::render_events(snap, filter, Some(1000), None).unwrap();
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["start"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn sqlite_and_postgres_answer_every_filter_alike() {
    let Some(url) = common::postgres_or_skip("sqlite_and_postgres_answer_every_filter_alike")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = demo_app(dir.path(), None).await;
    let postgres = demo_app(dir.path(), Some(&url)).await;
    assert_eq!(sqlite.store.backend(), "sqlite");
    assert_eq!(postgres.store.backend(), "postgres");
    let a = sqlite.snapshot().await.unwrap();
    let b = postgres.snapshot().await.unwrap();

    let centre = Geo::new(51.515, 7.47).unwrap();
    let filters: Vec<(&str, Filter)> = vec![
        ("everything", Filter::default()),
        (
            "near the centre, 1 km",
            Filter {
                near: Some((centre, 1.0)),
                ..Filter::default()
            },
        ),
        (
            "bounding box",
            Filter {
                bbox: Some([7.44, 51.50, 7.49, 51.53]),
                ..Filter::default()
            },
        ),
        (
            "district",
            Filter {
                districts: vec!["Altstadt".into()],
                ..Filter::default()
            },
        ),
        (
            "venue",
            Filter {
                venues: vec!["stadttheater".into()],
                ..Filter::default()
            },
        ),
        (
            "category",
            Filter {
                categories: vec!["theatre".into()],
                ..Filter::default()
            },
        ),
        (
            "text search, umlauts folded",
            Filter {
                text: Some("buergerhaus".into()),
                ..Filter::default()
            },
        ),
        (
            "text search and radius",
            Filter {
                text: Some("Theater".into()),
                near: Some((centre, 2.0)),
                ..Filter::default()
            },
        ),
        (
            "reachable by public transport",
            Filter {
                transit: true,
                ..Filter::default()
            },
        ),
    ];
    for (what, filter) in &filters {
        let (x, y) = (answer(&a, filter), answer(&b, filter));
        assert!(!x.is_empty(), "{what}: the demo has matches");
        assert_eq!(x, y, "{what}: SQLite and PostgreSQL differ");
        eprintln!("{what}: {} occurrences on both", x.len());
    }
    // Narrow filters select less than everything (they filter at all).
    let all = answer(&a, &Filter::default()).len();
    assert!(answer(&a, &filters[1].1).len() < all);
    assert!(answer(&a, &filters[4].1).len() < all);
}

/// The JSON API writes its occurrence documents with a writer of its own (fast string
/// escaping); the derived `Serialize` defines them. Every document of the demo region, in the
/// list and in the detail form, must be what `serde_json` writes for it, byte for byte.
#[tokio::test]
async fn json_documents_are_what_serde_writes() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo_app(dir.path(), None).await;
    let snap = app.snapshot().await.unwrap();
    let (mut merged, mut venue, mut transit, mut provenance) = (0, 0, 0, 0);
    for row in &snap.rows {
        for detail in [false, true] {
            let doc = json::event_doc(&snap, row, detail);
            merged += usize::from(doc.sources.len() > 1);
            venue += usize::from(doc.venue.is_some());
            transit += usize::from(!doc.transit.is_empty() && doc.last_departure.is_some());
            provenance += usize::from(doc.provenance.is_some());
            let mut fast = Vec::new();
            doc.write_json(&mut fast).unwrap();
            let reference = serde_json::to_string(&doc).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                reference,
                "row {}",
                row.id
            );
        }
    }
    // The demo exercises the nested parts, not only plain fields.
    assert!(snap.rows.len() > 50, "{} rows", snap.rows.len());
    for (what, n) in [
        ("merged", merged),
        ("venue", venue),
        ("transit and last departure", transit),
        ("provenance", provenance),
    ] {
        assert!(n > 0, "no demo document with {what}");
    }
    // A page and the export write the same documents.
    let page = json::render_events(&snap, &Filter::default(), Some(5), None).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(parsed["events"].as_array().unwrap().len(), 5);
    assert!(parsed["next"].is_string());
    let mut all = Vec::new();
    json::write_events(&snap, &Filter::default(), &mut all).unwrap();
    let all: serde_json::Value = serde_json::from_slice(&all).unwrap();
    assert_eq!(
        all["events"].as_array().unwrap()[..5],
        parsed["events"].as_array().unwrap()[..]
    );
    assert!(all["next"].is_null());
}

//! Places: venue matching through the whole pipeline, districts, and the geographic filters
//! (`bbox`, `near` + `radius_km`, `district`, `venue`) on the JSON API and the ICS feed alike.

mod common;

use regiocal::app::App;
use regiocal::store::Store;
use serde_json::Value;
use std::path::Path;

struct Server {
    base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let cfg_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let geo = format!(
        "[geo]\nvenues = \"{}\"\ndistricts = \"{}\"\nregion = \"{}\"\n\
         [transit]\ngtfs = \"{}\"\ngbfs = \"{}\"\nradius_m = 600\n\
         journey_url = \"https://planer.example/?to={{lat}},{{lon}}&name={{name}}&at={{start}}\"\n",
        cfg_dir.join("venues.csv").display(),
        cfg_dir.join("districts.geojson").display(),
        cfg_dir.join("region.geojson").display(),
        common::fixture_path("gtfs/musterstadt").display(),
        common::fixture_path("gbfs/station_information.json").display(),
    );
    let src = |id: &str, rel: &str| {
        common::source_block(id, &common::fixture_path(rel).display().to_string())
    };
    let sources = format!(
        "{geo}{}{}{}",
        src("theater", "dedupe/stadttheater.ics") + "priority = 10\n",
        src("kulturportal", "dedupe/kulturamt.jsonld"),
        src("buergerhaus", "ics/nextcloud.ics"),
    );
    let (_, cfg) = common::write_config(dir.path(), &sources);
    let app = App::open(cfg).await.unwrap();
    let reports = app.fetch_all(None, |_| {}).await.unwrap();
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async {
        let _ = rx.await;
    }));
    Server {
        base,
        _stop: stop,
        _dir: dir,
    }
}

impl Server {
    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.base)).await.unwrap()
    }

    async fn events(&self, query: &str) -> Vec<Value> {
        let r = self
            .get(&format!("/api/v1/events?limit=1000&{query}"))
            .await;
        assert_eq!(r.status(), 200, "{query}");
        let doc: Value = r.json().await.unwrap();
        doc["events"].as_array().unwrap().clone()
    }

    /// Titles of the VEVENTs of the filtered ICS feed.
    async fn ics_titles(&self, query: &str) -> Vec<String> {
        let text = self
            .get(&format!("/calendar.ics?{query}"))
            .await
            .text()
            .await
            .unwrap()
            .replace("\r\n ", "");
        let mut t: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("SUMMARY:"))
            .map(str::to_string)
            .collect();
        t.sort();
        t.dedup();
        t
    }
}

fn titles(events: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = events
        .iter()
        .map(|e| e["title"].as_str().unwrap().replace(',', "\\,"))
        .collect();
    t.sort();
    t.dedup();
    t
}

#[tokio::test]
async fn events_carry_venue_district_and_coordinates() {
    let s = start().await;
    let all = s.events("").await;
    let opera = all
        .iter()
        .find(|e| {
            e["title"] == "Die Zauberflöte"
                && e["start"].as_str().unwrap().starts_with("2026-12-05")
        })
        .unwrap();
    assert_eq!(opera["venue"]["id"], "stadttheater");
    assert_eq!(
        opera["venue"]["match"], "exact",
        "\"Großes Haus\" is an alias"
    );
    assert_eq!(opera["venue"]["address"]["street"], "Theaterplatz 1");
    assert_eq!(opera["district"], "Altstadt");
    // The culture office's copy has no coordinates: merged, the theatre's are used; and an
    // event without own coordinates gets the venue's.
    let reading = all
        .iter()
        .find(|e| e["title"] == "Lesung: Weihnachtsgeschichten")
        .unwrap();
    assert_eq!(reading["venue"]["id"], "stadtbibliothek");
    assert_eq!(reading["geo"]["lat"], 51.5141);

    // The ICS feed has the full location, GEO and Apple's structured location.
    let ics = s
        .get("/calendar.ics?venue=stadttheater")
        .await
        .text()
        .await
        .unwrap()
        .replace("\r\n ", "");
    assert!(
        ics.contains("LOCATION:Großes Haus\\, Stadttheater Musterstadt\\, Theaterplatz 1\\, 12345 Musterstadt\r\n"),
        "{ics}"
    );
    assert!(ics.contains("GEO:51.515000;7.470000\r\n"));
    let apple = ics
        .lines()
        .find(|l| l.starts_with("X-APPLE-STRUCTURED-LOCATION;"))
        .unwrap();
    for part in [
        "VALUE=URI",
        "X-APPLE-RADIUS=70",
        "X-ADDRESS=\"Theaterplatz 1, 12345 Musterstadt\"",
        "X-TITLE=Stadttheater Musterstadt",
    ] {
        assert!(apple.contains(part), "{apple}");
    }
    assert!(apple.ends_with(":geo:51.515000,7.470000"), "{apple}");

    // Getting there: stops with lines, bikes, the journey link; the same in the ICS text.
    let stops = opera["transit"].as_array().unwrap();
    assert!(!stops.is_empty());
    let d: Vec<f64> = stops
        .iter()
        .map(|s| s["distance_m"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]) && d.iter().all(|m| *m <= 600.0));
    assert!(!stops[0]["lines"].as_array().unwrap().is_empty());
    assert!(!opera["bike"].as_array().unwrap().is_empty());
    assert_eq!(
        opera["journey_url"],
        "https://planer.example/?to=51.515,7.47&name=Stadttheater%20Musterstadt&at=2026-12-05T19%3A00%3A00%2B01%3A00"
    );
    assert!(ics.contains("Anreise / Getting there:"), "{ics}");
    assert!(ics.contains(&format!(
        "- {} (",
        stops[0]["name"].as_str().unwrap().replace(',', "\\,")
    )));
    // The last connection home, where the nearest stop has timed departures.
    assert!(
        all.iter().any(|e| e["last_departure"]["time"]
            .as_str()
            .is_some_and(|t| t > e["end"].as_str().unwrap())),
        "some event has a later last departure"
    );

    // The registry with event counts, and what did not match.
    let venues: Value = s.get("/api/v1/venues").await.json().await.unwrap();
    let theatre = venues["venues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "stadttheater")
        .unwrap();
    assert_eq!(theatre["district"], "Altstadt");
    assert!(!theatre["transit"].as_array().unwrap().is_empty());
    assert!(theatre["events"].as_u64().unwrap() >= 4);
    let unmatched: Value = s
        .get("/api/v1/venues/unmatched")
        .await
        .json()
        .await
        .unwrap();
    for src in unmatched["sources"].as_array().unwrap() {
        for l in src["locations"].as_array().unwrap() {
            assert!(l["occurrences"].as_u64().unwrap() >= 1);
        }
    }
}

#[tokio::test]
async fn geographic_filters_agree_on_json_and_ics() {
    let s = start().await;
    let all = s.events("").await;
    assert!(all.len() > 10);
    // Around the theatre (300 m): the theatre, the library (about 280 m away) and St. Marien
    // (about 260 m), not the Bürgerhaus (about 750 m).
    let near = s.events("near=51.515,7.47&radius_km=0.3").await;
    let venues: std::collections::BTreeSet<&str> = near
        .iter()
        .map(|e| e["venue"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        venues,
        ["st-marien", "stadtbibliothek", "stadttheater"]
            .into_iter()
            .collect()
    );
    assert_eq!(
        titles(&near),
        s.ics_titles("near=51.515,7.47&radius_km=0.3").await
    );

    // A box around the Bürgerhaus: exactly the events whose coordinates are inside.
    let bbox = "bbox=7.461,51.510,7.463,51.511";
    let boxed = s.events(bbox).await;
    let inside = |e: &Value| {
        let (lat, lon) = (e["geo"]["lat"].as_f64(), e["geo"]["lon"].as_f64());
        matches!((lat, lon), (Some(la), Some(lo)) if (51.510..=51.511).contains(&la) && (7.461..=7.463).contains(&lo))
    };
    assert!(!boxed.is_empty());
    assert!(boxed.iter().all(inside));
    assert_eq!(boxed.len(), all.iter().filter(|e| inside(e)).count());
    assert_eq!(titles(&boxed), s.ics_titles(bbox).await);

    // Reachable by public transport: every event with a stop in reach, and only those.
    let reachable = s.events("transit=1").await;
    assert_eq!(
        reachable.len(),
        all.iter()
            .filter(|e| !e["transit"].as_array().unwrap().is_empty())
            .count()
    );
    assert!(
        reachable.len() < all.len(),
        "the fixtures have places without a stop nearby"
    );

    // By district and venue.
    let altstadt = s.events("district=altstadt").await;
    assert!(altstadt.iter().all(|e| e["district"] == "Altstadt"));
    assert_eq!(
        altstadt.len(),
        all.iter().filter(|e| e["district"] == "Altstadt").count()
    );
    let nord = s.events("district=Nord").await;
    assert!(nord.iter().all(|e| e["district"] == "Nord"));
    assert_eq!(
        nord.len() + altstadt.len(),
        s.events("district=Nord,Altstadt").await.len()
    );
    let theatre = s.events("venue=stadttheater").await;
    assert_eq!(
        theatre.len(),
        all.iter()
            .filter(|e| e["venue"]["id"] == "stadttheater")
            .count()
    );
    assert!(theatre.len() >= 4);
    assert_eq!(titles(&theatre), s.ics_titles("venue=stadttheater").await);
    // Combined with other filters.
    let on_12th = s
        .events("venue=stadttheater&from=2026-12-12&to=2026-12-12")
        .await;
    assert!(on_12th.iter().any(|e| {
        e["title"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("musikschule")
    }));
    assert!(
        on_12th
            .iter()
            .all(|e| e["start"].as_str().unwrap().starts_with("2026-12-12"))
    );
}

#[tokio::test]
async fn bad_geographic_parameters_are_400_naming_the_parameter() {
    let s = start().await;
    for (query, param) in [
        ("bbox=1,2,3", "bbox"),
        ("bbox=7.5,51,7.4,52", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("near=95,7", "near"),
        ("near=51.5", "near"),
        ("near=51.5,7.4&radius_km=0", "radius_km"),
        ("near=51.5,7.4&radius_km=1000", "radius_km"),
        ("radius_km=2", "radius_km"),
        ("transit=maybe", "transit"),
    ] {
        let r = s.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["parameter"], param, "{query}: {body}");
        assert_eq!(s.get(&format!("/calendar.ics?{query}")).await.status(), 400);
    }
}

#[tokio::test]
async fn unmatched_addresses_are_geocoded_once_through_the_configured_service() {
    use common::{Reply, StubServer};
    let stub = StubServer::start().await;
    let feed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//DE\r\n\
        BEGIN:VEVENT\r\nUID:a@t\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261205T180000Z\r\n\
        SUMMARY:Basar\r\nLOCATION:Gemeindehaus Nord\\, Lindenweg 3\\, Musterstadt\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:b@t\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261206T180000Z\r\n\
        SUMMARY:Basar\r\nLOCATION:Gemeindehaus Nord\\, Lindenweg 3\\, Musterstadt\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:c@t\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261207T180000Z\r\n\
        SUMMARY:Lesung\r\nLOCATION:Stadtbibliothek Musterstadt\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";
    stub.script(
        "/feed.ics",
        vec![Reply::Feed {
            body: feed.as_bytes().to_vec(),
            etag: None,
        }],
    );
    stub.script(
        "/search",
        vec![Reply::Raw {
            status: 200,
            body: br#"[{"lat": "51.5222", "lon": "7.4511", "display_name": "Lindenweg 3"}]"#
                .to_vec(),
            content_type: "application/json",
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    let venues = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/venues.csv");
    let text = format!(
        "[geo]\nvenues = \"{}\"\n[geocoder]\nurl = \"{}\"\nper_second = 5\n{}",
        venues.display(),
        stub.url("/search"),
        common::source_block("gemeinde", &stub.url("/feed.ics"))
    );
    let (_, cfg) = common::write_config(dir.path(), &text);
    let app = App::open(cfg).await.unwrap();
    let run = || async {
        let src = app.config.source("gemeinde").unwrap();
        regiocal::ingest::ingest_source(
            &app.config,
            app.store.as_ref(),
            &app.fetcher,
            src,
            chrono::Utc::now(),
        )
        .await
        .unwrap()
    };
    let r = run().await;
    assert!(r.error.is_none(), "{r:?}");
    // One request for the two events at the same address; none for the known venue.
    let asked = stub.hits("/search");
    assert_eq!(asked.len(), 1);
    let stored = app.store.source_events("gemeinde").await.unwrap();
    let geo = |uid: &str| {
        stored
            .iter()
            .find(|s| s.event.uid == uid)
            .unwrap()
            .event
            .geo
    };
    assert_eq!(geo("a@t"), regiocal::model::Geo::new(51.5222, 7.4511));
    assert_eq!(geo("b@t"), geo("a@t"));
    assert_eq!(geo("c@t"), None, "a registry venue needs no geocoding");
    // The answer is cached: a changed feed asks again for nothing.
    stub.script(
        "/feed.ics",
        vec![Reply::Feed {
            body: feed
                .replace("SUMMARY:Lesung", "SUMMARY:Lesung am Abend")
                .into_bytes(),
            etag: None,
        }],
    );
    run().await;
    assert_eq!(stub.hits("/search").len(), 1);
    let snap = app.snapshot().await.unwrap();
    let all = regiocal::output::Filter::default();
    let doc = snap
        .select(&all)
        .map(|r| serde_json::to_value(regiocal::output::json::event_doc(&snap, r, false)).unwrap())
        .find(|d| d["title"] == "Basar")
        .unwrap();
    assert_eq!(doc["geo"]["lat"], 51.5222);
    assert_eq!(doc["district"], Value::Null, "no district layer configured");
}

#[test]
fn events_outside_the_region_are_flagged_or_dropped() {
    use regiocal::model::{EventTime, Geo, StoredEvent};
    let cfg_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let config = |mode: &str| {
        let text = format!(
            "{}[geo]\nregion = \"{}\"\noutside_region = \"{mode}\"\n{}",
            common::config_text(Path::new("/tmp"), ""),
            cfg_dir.join("region.geojson").display(),
            common::source_block("s", "s.ics")
        );
        regiocal::config::Config::parse(&text, Path::new("/tmp/regiocal.toml")).unwrap()
    };
    let at = |uid: &str, lat: f64, lon: f64| {
        let start = EventTime::Date {
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
        };
        let end = EventTime::Date {
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
        };
        let mut e = regiocal::model::Event::new(uid, uid, start, end);
        e.geo = Geo::new(lat, lon);
        e.location = Some(format!("Ort {uid}"));
        StoredEvent {
            source: "s".into(),
            event: e,
            first_seen: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            revision: 0,
        }
    };
    let events = vec![at("drinnen", 51.51, 7.46), at("draussen", 52.5, 13.4)];
    let now = chrono::DateTime::parse_from_rfc3339(common::NOW)
        .unwrap()
        .to_utc();
    let all = regiocal::output::Filter::default();
    let kept =
        regiocal::output::Snapshot::build(&config("keep"), events.clone(), vec![], None, now);
    let mut flags: Vec<(String, bool)> = kept
        .select(&all)
        .map(|r| {
            let d =
                serde_json::to_value(regiocal::output::json::event_doc(&kept, r, false)).unwrap();
            (
                d["title"].as_str().unwrap().to_string(),
                d.get("outside_region").is_some(),
            )
        })
        .collect();
    flags.sort();
    assert_eq!(
        flags,
        [
            ("draussen".to_string(), true),
            ("drinnen".to_string(), false)
        ]
    );
    let dropped = regiocal::output::Snapshot::build(&config("drop"), events, vec![], None, now);
    assert_eq!(dropped.select(&all).count(), 1);
    let bad = format!(
        "{}[geo]\noutside_region = \"maybe\"\n",
        common::config_text(Path::new("/tmp"), "")
    );
    let err = regiocal::config::Config::parse(&bad, Path::new("/tmp/regiocal.toml")).unwrap_err();
    assert!(err.to_string().contains("geo.outside_region"), "{err}");
}

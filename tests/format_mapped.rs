//! JSON APIs read through `[source.mapping]`: the fixtures under `fixtures/json/` with the
//! mappings of `config/mapped-json-example.toml`, value conversions, malformed input, and an
//! ingest end to end.

mod common;

use chrono::{NaiveDate, NaiveDateTime};
use regiocal::app::App;
use regiocal::config::{Config, FieldMapping, FormatChoice};
use regiocal::format::{self, Format, FormatError, ParseContext, Parsed};
use regiocal::model::{Address, Event, EventTime, Geo, Offer, Status};
use regiocal::store::Store;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Berlin;

fn local(s: &str) -> EventTime {
    EventTime::Local {
        local: NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
        tz: TZ,
    }
}

fn date(s: &str) -> EventTime {
    EventTime::Date {
        date: NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap(),
    }
}

/// The mapping of a source in the example config.
fn example_mapping(id: &str) -> FieldMapping {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join("mapped-json-example.toml");
    let cfg = Config::load(&path).expect("example config loads");
    let source = cfg.source(id).expect("source in example config");
    assert_eq!(source.format, FormatChoice::Json);
    source.mapping.clone().expect("mapping")
}

fn parse_with(body: impl AsRef<[u8]>, mapping: &FieldMapping) -> Result<Parsed, FormatError> {
    let ctx = ParseContext {
        now: regiocal::clock::now(),
        default_tz: TZ,
        mapping: Some(mapping),
        base_url: None,
    };
    let (fmt, parsed) = format::parse(body.as_ref(), FormatChoice::Json, None, &ctx)?;
    assert_eq!(fmt, Format::MappedJson);
    Ok(parsed)
}

fn mapping(pairs: &[(&str, &str)]) -> FieldMapping {
    let mut m = FieldMapping::default();
    for (k, v) in pairs {
        let v = Some(v.to_string());
        match *k {
            "items" => m.items = v,
            "uid" => m.uid = v,
            "title" => m.title = v,
            "description" => m.description = v,
            "start" => m.start = v,
            "end" => m.end = v,
            "all_day" => m.all_day = v,
            "location" => m.location = v,
            "street" => m.street = v,
            "postal_code" => m.postal_code = v,
            "locality" => m.locality = v,
            "lat" => m.lat = v,
            "lon" => m.lon = v,
            "url" => m.url = v,
            "image" => m.image = v,
            "categories" => m.categories = v,
            "status" => m.status = v,
            "price" => m.price = v,
            "date_format" => m.date_format = v,
            other => panic!("unknown key {other}"),
        }
    }
    m
}

fn by_uid<'a>(events: &'a [Event], uid: &str) -> &'a Event {
    events
        .iter()
        .find(|e| e.uid == uid)
        .unwrap_or_else(|| panic!("no event {uid}"))
}

fn eur(price: f64) -> Vec<Offer> {
    vec![Offer {
        name: None,
        price: Some(price),
        currency: Some("EUR".into()),
        url: None,
    }]
}

#[test]
fn ticketing_api_field_by_field() {
    let m = example_mapping("tickets");
    let parsed = parse_with(common::fixture("json/ticketing-api.json"), &m).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.next_page, None);
    let ev = &parsed.events;
    let uids: Vec<&str> = ev.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(
        uids,
        ["4711", "4712", "4713", "4714", "4715", "4716", "4717"]
    );

    let jazz = by_uid(ev, "4711");
    assert_eq!(jazz.title, "Jazz im Depot: Anna Weber Quartett");
    assert_eq!(
        jazz.description.as_deref(),
        Some(
            "<p>Das <strong>Anna Weber Quartett</strong> stellt sein neues Album &bdquo;Nachtfahrt&ldquo; vor.</p><p>Einlass ab 19:00 Uhr.</p>"
        )
    );
    assert_eq!(jazz.start, local("2026-12-05 19:30"));
    assert_eq!(jazz.end, local("2026-12-05 22:00"));
    assert_eq!(jazz.location.as_deref(), Some("Kulturdepot"));
    assert_eq!(
        jazz.address.as_deref(),
        Some(&Address {
            street: Some("Hafenstraße 12".into()),
            postal_code: Some("44137".into()),
            locality: Some("Musterstadt".into()),
            region: None,
            country: None,
        })
    );
    assert_eq!(
        jazz.geo,
        Some(Geo {
            lat: 51.5136,
            lon: 7.4653
        })
    );
    assert_eq!(jazz.categories, ["Musik", "Jazz"]);
    assert_eq!(jazz.status, Status::Confirmed);
    assert_eq!(jazz.offers, eur(12.5));
    assert_eq!(jazz.free, Some(false));
    assert_eq!(
        jazz.url.as_deref(),
        Some("https://tickets.musterstadt.de/veranstaltung/4711")
    );
    assert_eq!(
        jazz.image.as_deref(),
        Some("https://tickets.musterstadt.de/media/4711/cover.jpg")
    );

    // No end: the same instant (RFC 5545 default); no street: only the town part; price 0.
    let concert = by_uid(ev, "4712");
    assert_eq!(concert.start, local("2026-12-13 16:00"));
    assert_eq!(concert.end, concert.start);
    assert_eq!(concert.location.as_deref(), Some("Marktplatz Musterstadt"));
    assert_eq!(
        concert.address.as_ref().and_then(|a| a.street.clone()),
        None
    );
    assert_eq!(concert.offers, eur(0.0));
    assert_eq!(concert.free, Some(true));
    assert_eq!(concert.image, None, "empty picture list");
    assert_eq!(
        concert.geo,
        Some(Geo {
            lat: 51.5139,
            lon: 7.4658
        })
    );

    // `abgesagt: true` is a cancelled flag; coordinates as strings with decimal commas.
    let reading = by_uid(ev, "4713");
    assert_eq!(reading.status, Status::Cancelled);
    assert_eq!(
        reading.geo,
        Some(Geo {
            lat: 51.5149,
            lon: 7.4631
        })
    );
    assert_eq!(reading.offers, eur(8.0));

    let party = by_uid(ev, "4714");
    assert_eq!(party.end, local("2027-01-01 02:00"));
    assert_eq!(party.offers, eur(25.0));

    // All-day: dates, the end date inclusive in the API, exclusive in the model.
    let market = by_uid(ev, "4715");
    assert_eq!(market.start, date("2027-03-20"));
    assert_eq!(market.end, date("2027-03-22"));
    assert_eq!(market.geo, None, "null coordinates");
    assert_eq!(market.free, Some(true));
    assert_eq!(market.location.as_deref(), Some("Stadtpark, Festwiese"));

    let theatre = by_uid(ev, "4716");
    assert_eq!(theatre.geo, None);
    assert_eq!(theatre.categories, ["Theater"]);

    // Summer time: +02:00 is Berlin's offset then, so the wall-clock time is kept.
    let cinema = by_uid(ev, "4717");
    assert_eq!(cinema.start, local("2027-06-26 21:30"));
    assert_eq!(cinema.end, local("2027-06-26 23:45"));
    assert_eq!(
        cinema.geo,
        Some(Geo {
            lat: 51.5101,
            lon: 7.4712
        })
    );
    assert_eq!(cinema.categories, ["Film", "Open Air"]);
}

#[test]
fn german_dates_with_date_format() {
    let m = example_mapping("stadtportal");
    let parsed = parse_with(common::fixture("json/stadtportal-termine.json"), &m).unwrap();
    assert_eq!(
        parsed.warnings,
        [
            "item 2: skipped: start: \"nach Vereinbarung\" does not match the date format \"%d.%m.%Y %H:%M\" (path $.Datum)"
        ]
    );
    let ev = &parsed.events;
    assert_eq!(ev.len(), 4);

    let crafts = by_uid(ev, "vk-2026-0891");
    assert_eq!(crafts.title, "Adventsbasteln in der Stadtbibliothek");
    assert_eq!(crafts.start, local("2026-11-28 15:00"));
    assert_eq!(crafts.end, local("2026-11-28 17:00"));
    assert_eq!(
        crafts.location.as_deref(),
        Some("Stadtbibliothek Musterstadt, Kinderbereich")
    );
    assert_eq!(crafts.address, None);
    assert_eq!(crafts.categories, ["Kinder", "Familie"]);
    assert_eq!(crafts.free, Some(true));
    assert_eq!(crafts.offers, eur(0.0));
    assert_eq!(crafts.status, Status::Confirmed);

    let reception = by_uid(ev, "vk-2026-0902");
    assert_eq!(reception.status, Status::Postponed);
    assert_eq!(reception.offers, [], "an empty price is no offer");
    assert_eq!(reception.free, None);

    // An empty end counts as missing; a status sentence containing "abgesagt" cancels.
    let cleanup = by_uid(ev, "vk-2027-0033");
    assert_eq!(cleanup.start, local("2027-03-20 10:00"));
    assert_eq!(cleanup.end, cleanup.start);
    assert_eq!(cleanup.status, Status::Cancelled);
    assert_eq!(cleanup.categories, ["Umwelt", "Mitmachen"]);

    let organ = by_uid(ev, "vk-2027-0120");
    assert_eq!(organ.end, local("2027-04-04 18:15"));
    assert_eq!(
        organ.offers,
        eur(10.0),
        "the first amount of \"10 € / ermäßigt 6 €\""
    );
}

#[test]
fn conversions_of_numbers_flags_and_full_paths() {
    let body = r#"{"result": {"termine": [
        {"key": 17, "name": "Sekunden", "ts": 1796491800, "tsEnd": "1796499000",
         "allDay": 0, "cats": "Musik, Jazz ,", "state": "EventCancelled", "cost": 5,
         "pos": {"coordinates": ["51,5", "7,46"]}},
        {"key": true, "name": 42, "ts": 1796491800000, "allDay": "1", "cats": [" Kinder ", 7, null],
         "state": "Findet statt", "cost": "VVK 1.234,50 €", "pos": {"coordinates": [91, 7]}},
        {"name": "Ohne ID", "ts": "2026-12-24", "allDay": "nein"}
    ]}}"#;
    let m = mapping(&[
        ("items", "$.result.termine[*]"),
        ("uid", "key"),
        ("title", "$.name"),
        ("start", "ts"),
        ("end", "tsEnd"),
        ("all_day", "allDay"),
        ("categories", "cats"),
        ("status", "state"),
        ("price", "cost"),
        ("lat", "$.pos.coordinates[0]"),
        ("lon", "pos.coordinates[1]"),
    ]);
    let parsed = parse_with(body, &m).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let ev = &parsed.events;
    assert_eq!(ev.len(), 3);

    // 1796491800 = 2026-12-05T17:30:00Z = 18:30 in Berlin.
    assert_eq!(ev[0].uid, "17");
    assert_eq!(ev[0].start, local("2026-12-05 18:30"));
    assert_eq!(ev[0].end, local("2026-12-05 20:30"), "seconds as a string");
    assert_eq!(ev[0].categories, ["Musik", "Jazz"]);
    assert_eq!(ev[0].status, Status::Cancelled);
    assert_eq!(ev[0].offers, eur(5.0));
    assert_eq!(
        ev[0].geo,
        Some(Geo {
            lat: 51.5,
            lon: 7.46
        })
    );

    // Booleans and numbers become text; milliseconds; "1" marks all-day.
    assert_eq!(ev[1].uid, "true");
    assert_eq!(ev[1].title, "42");
    assert_eq!(ev[1].start, date("2026-12-05"));
    assert_eq!(ev[1].end, date("2026-12-06"));
    assert_eq!(ev[1].categories, ["Kinder", "7"]);
    assert_eq!(ev[1].status, Status::Confirmed);
    assert_eq!(ev[1].offers, eur(1234.5));
    assert_eq!(ev[1].geo, None, "latitude 91 is out of range");

    // No uid: a stable fallback derived from start and title.
    assert!(ev[2].uid.starts_with("fallback:"), "{}", ev[2].uid);
    assert_eq!(ev[2].start, date("2026-12-24"));
    assert_eq!(ev[2].end, date("2026-12-25"));
    let again = parse_with(body, &m).unwrap();
    assert_eq!(again.events[2].uid, ev[2].uid);
}

#[test]
fn items_paths_in_every_form() {
    let m = |items: &str| mapping(&[("items", items), ("title", "t"), ("start", "s")]);
    let list = br#"{"a": {"b-c": [{"t": "Eins", "s": "2026-12-01T10:00"}, {"t": "Zwei", "s": "2026-12-02T10:00"}]}}"#;
    for items in ["a.b-c", "$.a['b-c'][*]", "$.a['b-c']"] {
        let parsed = parse_with(list, &m(items)).unwrap();
        let titles: Vec<&str> = parsed.events.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, ["Eins", "Zwei"], "{items}");
    }
    // The short form of a single object is one item.
    let single = br#"{"event": {"t": "Allein", "s": "2026-12-03T10:00"}}"#;
    assert_eq!(parse_with(single, &m("event")).unwrap().events.len(), 1);
    // A top-level array.
    let top = br#"[{"t": "Oben", "s": "2026-12-04"}]"#;
    assert_eq!(parse_with(top, &m("$[*]")).unwrap().events.len(), 1);
    // An empty list is an empty feed, not an error.
    let empty = br#"{"a": {"b-c": []}}"#;
    for items in ["a.b-c", "$.a['b-c'][*]"] {
        let parsed = parse_with(empty, &m(items)).unwrap();
        assert!(parsed.events.is_empty() && parsed.warnings.is_empty());
    }
}

#[test]
fn bad_items_are_warnings_naming_index_field_and_path() {
    let body = r#"{"data": {"events": [
        {"titel": "Gut", "beginn": "2026-12-01T19:00:00+01:00"},
        "kein Objekt",
        {"titel": "", "beginn": "2026-12-01T19:00:00+01:00"},
        {"titel": "Morgen", "beginn": "morgen"},
        {"titel": "Objekt", "beginn": {"datum": "2026-12-01"}},
        {"titel": "Rückwärts", "beginn": "2026-12-01T19:00:00+01:00", "ende": "2026-12-01T18:00:00+01:00"},
        {"titel": "Kaputtes Ende", "beginn": "2026-12-01T19:00:00+01:00", "ende": "2026-12-32"},
        {"titel": "Ohne Beginn"},
        {"titel": "Zu früh", "beginn": -5000000000}
    ]}}"#;
    let m = mapping(&[
        ("items", "data.events"),
        ("title", "titel"),
        ("start", "beginn"),
        ("end", "ende"),
    ]);
    let parsed = parse_with(body, &m).unwrap();
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(parsed.events[0].title, "Gut");
    let w = &parsed.warnings;
    assert_eq!(w.len(), 8, "{w:?}");
    assert_eq!(w[0], "item 1: skipped: expected an object, got a string");
    assert_eq!(
        w[1],
        "item 2: skipped: title: missing or empty (path $.titel)"
    );
    assert!(
        w[2].starts_with("item 3: skipped: start: invalid date-time \"morgen\"")
            && w[2].ends_with("(path $.beginn)"),
        "{}",
        w[2]
    );
    assert_eq!(
        w[3],
        "item 4: skipped: start: expected a date string or a Unix timestamp, got an object (path $.beginn)"
    );
    assert_eq!(w[4], "item 5: skipped: end: is before start (path $.ende)");
    assert!(
        w[5].starts_with("item 6: skipped: end: invalid date") && w[5].ends_with("(path $.ende)"),
        "{}",
        w[5]
    );
    assert_eq!(w[6], "item 7: skipped: start: missing (path $.beginn)");
    assert!(
        w[7].starts_with("item 8: skipped: start: timestamp -5000000000 out of range"),
        "{}",
        w[7]
    );
}

#[test]
fn without_a_usable_mapping_the_error_points_to_the_example() {
    let want = "json: JSON without a known structure: configure [source.mapping] (see config/mapped-json-example.toml)";
    let body = br#"{"veranstaltungen": []}"#;
    let ctx = ParseContext::new(TZ);
    let err = format::parse(body, FormatChoice::Json, None, &ctx).unwrap_err();
    assert_eq!(err.to_string(), want);
    let err = regiocal::format::mapped::parse("{}", &ctx).unwrap_err();
    assert_eq!(err.to_string(), want);
    let partial = mapping(&[("items", "veranstaltungen"), ("title", "titel")]);
    assert_eq!(parse_with(body, &partial).unwrap_err().to_string(), want);
}

#[test]
fn malformed_documents_and_paths_are_errors() {
    let m = example_mapping("tickets");
    // Invalid JSON names line and column.
    let err = parse_with(
        b"{\"data\": {\"veranstaltungen\": [\n  {\"id\": 1,,}]}}",
        &m,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("json: invalid JSON at line 2, column"),
        "{err}"
    );
    // A truncated download.
    let full = common::fixture("json/ticketing-api.json");
    let err = parse_with(&full[..full.len() / 2], &m).unwrap_err();
    assert!(
        matches!(err, FormatError::Json { line, .. } if line > 1),
        "{err}"
    );
    // A JSON error response instead of the list.
    let err = parse_with(br#"{"error": "rate limit exceeded"}"#, &m)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "json: [source.mapping] items: $.data.veranstaltungen selects nothing in this document (an error response, or the wrong path?)"
    );
    // The list has the wrong type: its elements are not objects.
    let parsed = parse_with(br#"{"data": {"veranstaltungen": "keine"}}"#, &m).unwrap();
    assert_eq!(
        parsed.warnings,
        ["item 0: skipped: expected an object, got a string"]
    );
    // An invalid JSONPath names the key.
    for (key, bad) in [
        ("items", "$.data[?"),
        ("start", "$..["),
        ("lat", "$.ort.lat]"),
    ] {
        let mut pairs = vec![("items", "data"), ("title", "t"), ("start", "s")];
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, bad));
        let err = parse_with(b"{}", &mapping(&pairs)).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "json: [source.mapping] {key}: invalid JSONPath {bad:?}"
            )),
            "{err}"
        );
    }
    // Nesting deeper than serde_json's limit (= MAX_DEPTH) is an error, not a stack overflow.
    let deep = format!(
        "{}{}",
        "[".repeat(regiocal::format::MAX_DEPTH + 10),
        "]".repeat(regiocal::format::MAX_DEPTH + 10)
    );
    let err = parse_with(deep.as_bytes(), &m).unwrap_err().to_string();
    assert!(err.contains("recursion limit"), "{err}");
}

#[test]
fn never_panics_on_truncated_fixtures() {
    for (rel, id) in [
        ("json/ticketing-api.json", "tickets"),
        ("json/stadtportal-termine.json", "stadtportal"),
    ] {
        let m = example_mapping(id);
        let body = common::fixture(rel);
        let mut cut = 0;
        while cut < body.len() {
            let _ = parse_with(&body[..cut], &m);
            cut += 97;
        }
        assert!(parse_with(&body, &m).is_ok(), "{rel}");
    }
}

#[tokio::test]
async fn ingests_a_mapped_source_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::fixture_path("json/ticketing-api.json");
    let block = format!(
        "{}format = \"json\"\ncategories = [\"Kultur\"]\n[source.mapping]\nitems = \"data.veranstaltungen\"\nuid = \"id\"\ntitle = \"titel\"\ndescription = \"beschreibung\"\nstart = \"beginn\"\nend = \"ende\"\nall_day = \"ganztaegig\"\nlocation = \"ort.name\"\nlat = \"ort.lat\"\nlon = \"ort.lon\"\ncategories = \"kategorien\"\nstatus = \"abgesagt\"\nprice = \"preis\"\n",
        common::source_block("tickets", &fixture.display().to_string())
    );
    let (_, cfg) = common::write_config(dir.path(), &block);
    let app = App::open(cfg).await.unwrap();
    let reports = app.fetch_all(None, |_| {}).await.unwrap();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.error, None);
    assert_eq!(report.format, Some(Format::MappedJson));
    assert_eq!(report.events, 7);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let stored = app.store.source_events("tickets").await.unwrap();
    assert_eq!(stored.len(), 7);
    let jazz = &stored
        .iter()
        .find(|s| s.event.uid == "4711")
        .expect("4711 stored")
        .event;
    // Normalised: HTML description as text, source categories added.
    assert_eq!(
        jazz.description.as_deref(),
        Some(
            "Das Anna Weber Quartett stellt sein neues Album „Nachtfahrt“ vor.\n\nEinlass ab 19:00 Uhr."
        )
    );
    // "Musik" and "Jazz" map to the vocabulary's "music"; "Kultur" (the source's category)
    // is no category of the vocabulary.
    assert_eq!(jazz.categories, ["music"]);
    assert_eq!(jazz.start, local("2026-12-05 19:30"));
    let reading = &stored
        .iter()
        .find(|s| s.event.uid == "4713")
        .expect("4713 stored")
        .event;
    assert_eq!(reading.status, Status::Cancelled);
}

#[tokio::test]
async fn the_example_config_ingests_cleanly() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join("mapped-json-example.toml");
    let mut cfg = Config::load(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    cfg.store.path = dir.path().join("store.sqlite");
    let app = App::open(cfg).await.unwrap();
    let reports = app.fetch_all(None, |_| {}).await.unwrap();
    let summary: Vec<(&str, Option<&str>, usize)> = reports
        .iter()
        .map(|r| (r.source.as_str(), r.error.as_deref(), r.events))
        .collect();
    assert_eq!(
        summary,
        [
            ("ratsinfo", None, 3),
            ("stadtportal", None, 4),
            ("tickets", None, 7)
        ]
    );
    let ratsinfo = &reports[0];
    assert_eq!(
        ratsinfo.warnings,
        ["the feed names a next page, but a local file cannot be paged"]
    );
}

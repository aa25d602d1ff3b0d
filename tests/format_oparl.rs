//! OParl 1.1 meetings: the two pages of `fixtures/oparl/` field by field, Body and single
//! Meeting documents, malformed input, and pagination end to end against a stub server.

mod common;

use chrono::{DateTime, NaiveDateTime, Utc};
use common::{Reply, StubServer};
use regiocal::app::App;
use regiocal::config::FormatChoice;
use regiocal::format::{self, Format, FormatError, ParseContext, Parsed};
use regiocal::ingest::Outcome;
use regiocal::model::{Address, Event, EventTime, Geo, Organizer, Status};
use regiocal::store::Store;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Berlin;
const RIS: &str = "https://ris.musterstadt.de/oparl/v1";

fn local(s: &str) -> EventTime {
    EventTime::Local {
        local: NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
        tz: TZ,
    }
}

fn parse(body: impl AsRef<[u8]>) -> Result<Parsed, FormatError> {
    let ctx = ParseContext::new(TZ);
    let (fmt, parsed) = format::parse(body.as_ref(), FormatChoice::Auto, None, &ctx)?;
    assert_eq!(fmt, Format::Oparl);
    Ok(parsed)
}

fn parse_forced(body: impl AsRef<[u8]>) -> Result<Parsed, FormatError> {
    let ctx = ParseContext::new(TZ);
    format::parse(body.as_ref(), FormatChoice::Oparl, None, &ctx).map(|(_, p)| p)
}

fn meeting(events: &[Event], n: u32) -> &Event {
    let uid = format!("{RIS}/meeting/{n}");
    events
        .iter()
        .find(|e| e.uid == uid)
        .unwrap_or_else(|| panic!("no meeting {n}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

#[test]
fn page_one_field_by_field() {
    let parsed = parse(common::fixture("oparl/meetings-page1.json")).unwrap();
    assert_eq!(
        parsed.next_page.as_deref(),
        Some("https://ris.musterstadt.de/oparl/v1/body/1/meeting?page=2")
    );
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let ev = &parsed.events;
    // Meeting 2099 is deleted: left out without a warning.
    let uids: Vec<&str> = ev.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(
        uids,
        [
            format!("{RIS}/meeting/2101"),
            format!("{RIS}/meeting/2102"),
            format!("{RIS}/meeting/2103")
        ]
    );

    let rat = meeting(ev, 2101);
    assert_eq!(rat.title, "12. Sitzung des Rates der Stadt Musterstadt");
    assert_eq!(rat.start, local("2026-12-03 16:00"));
    assert_eq!(rat.end, local("2026-12-03 19:30"));
    assert_eq!(rat.status, Status::Confirmed);
    assert_eq!(
        rat.location.as_deref(),
        Some("Rathaus, Ratssaal (Raum 101)")
    );
    assert_eq!(
        rat.address.as_deref(),
        Some(&Address {
            street: Some("Markt 1".into()),
            postal_code: Some("44135".into()),
            locality: Some("Musterstadt".into()),
            region: None,
            country: None,
        })
    );
    assert_eq!(
        rat.geo,
        Some(Geo {
            lat: 51.5142,
            lon: 7.4652
        })
    );
    assert_eq!(
        rat.url.as_deref(),
        Some("https://ris.musterstadt.de/si0057.asp?__ksinr=2101")
    );
    assert_eq!(rat.categories, ["Haushalt", "Politik"]);
    // Public agenda items only (item 3 is not public).
    assert_eq!(
        rat.description.as_deref(),
        Some(
            "Tagesordnung (öffentlich):\n1 Eröffnung und Feststellung der Beschlussfähigkeit\n2 Haushaltssatzung der Stadt Musterstadt für das Jahr 2027"
        )
    );
    assert_eq!(rat.organizer, None, "organizations given as URLs only");
    assert_eq!(rat.created, Some(utc("2026-10-01T08:30:00+02:00")));
    assert_eq!(rat.last_modified, Some(utc("2026-11-19T10:00:00+01:00")));

    // A location without description: room, street, postal code and town.
    let hfa = meeting(ev, 2102);
    assert_eq!(hfa.title, "8. Sitzung des Haupt- und Finanzausschusses");
    assert_eq!(hfa.start, local("2026-11-26 17:00"));
    assert_eq!(hfa.end, local("2026-11-26 19:00"));
    assert_eq!(
        hfa.location.as_deref(),
        Some("Sitzungsraum 2.14, Markt 1, 44135 Musterstadt")
    );
    assert_eq!(hfa.geo, None);
    assert_eq!(hfa.categories, ["Politik"]);
    assert_eq!(hfa.description, None);

    let bv = meeting(ev, 2103);
    assert_eq!(bv.status, Status::Cancelled);
    assert_eq!(
        bv.location.as_deref(),
        Some("Bezirksverwaltungsstelle Nord, Sitzungssaal")
    );
    assert_eq!(
        bv.address.as_ref().and_then(|a| a.street.as_deref()),
        Some("Nordstraße 88")
    );
    assert_eq!(
        bv.categories,
        ["Bezirksvertretung", "Innenstadt-Nord", "Politik"]
    );
}

#[test]
fn page_two_field_by_field() {
    let parsed = parse(common::fixture("oparl/meetings-page2.json")).unwrap();
    assert_eq!(parsed.next_page, None, "the last page has no links.next");
    assert_eq!(
        parsed.warnings,
        [format!(
            "item {RIS}/meeting/2106: skipped: no start (the meeting has no date yet)"
        )]
    );
    let ev = &parsed.events;
    assert_eq!(ev.len(), 3);

    // No name: "Sitzung" and the embedded organization; a location given as a URL is unknown.
    let umwelt = meeting(ev, 2104);
    assert_eq!(
        umwelt.title,
        "Sitzung Ausschuss für Umwelt, Klima und Mobilität"
    );
    assert_eq!(umwelt.location, None);
    assert_eq!(umwelt.address, None);
    assert_eq!(
        umwelt.organizer.as_deref(),
        Some(&Organizer {
            name: "Ausschuss für Umwelt, Klima und Mobilität".into(),
            url: Some("https://ris.musterstadt.de/kp0040.asp?__kgrnr=4".into()),
            email: None,
        })
    );
    assert_eq!(umwelt.start, local("2027-01-20 16:30"));

    let rat = meeting(ev, 2105);
    assert_eq!(rat.end, local("2027-02-11 20:00"));
    assert!(rat.geo.is_some());

    // Summer time offset: still Berlin wall-clock time.
    let bv = meeting(ev, 2107);
    assert_eq!(bv.start, local("2027-06-17 17:00"));
    assert_eq!(bv.end, local("2027-06-17 19:00"));
}

#[test]
fn single_meeting_body_and_other_documents() {
    // A single Meeting (OParl 1.0), with a date-only start and a bare GeoJSON Point.
    let one = r#"{"id": "https://ris.example.org/oparl/meeting/1", "type": "https://schema.oparl.org/1.0/Meeting",
        "name": "Klausurtagung", "start": "2027-03-12", "end": "2027-03-13",
        "location": {"room": "Tagungshaus am See", "geojson": {"type": "Point", "coordinates": ["7,1", 51.2]}},
        "keyword": ["Klausur", 2027]}"#;
    let parsed = parse(one).unwrap();
    assert_eq!(parsed.events.len(), 1);
    let ev = &parsed.events[0];
    assert_eq!(ev.uid, "https://ris.example.org/oparl/meeting/1");
    assert_eq!(
        (ev.start, ev.end),
        (
            EventTime::Date {
                date: "2027-03-12".parse().unwrap()
            },
            EventTime::Date {
                date: "2027-03-14".parse().unwrap()
            }
        )
    );
    assert_eq!(ev.location.as_deref(), Some("Tagungshaus am See"));
    assert_eq!(
        ev.geo,
        Some(Geo {
            lat: 51.2,
            lon: 7.1
        })
    );
    assert_eq!(ev.categories, ["Klausur", "2027", "Politik"]);

    // A Body: follow its meeting list.
    let body = r#"{"id": "https://ris.example.org/oparl/body/1", "type": "https://schema.oparl.org/1.1/Body",
        "name": "Stadt Musterstadt", "meeting": "https://ris.example.org/oparl/body/1/meeting"}"#;
    let parsed = parse(body).unwrap();
    assert!(parsed.events.is_empty());
    assert_eq!(
        parsed.next_page.as_deref(),
        Some("https://ris.example.org/oparl/body/1/meeting")
    );

    // A meeting without id or name: fallback UID and title "Sitzung".
    let bare = r#"{"data": [{"start": "2026-12-01T18:00:00+01:00"}, 17,
        {"type": "https://schema.oparl.org/1.1/Paper", "id": "p1"}]}"#;
    let parsed = parse_forced(bare).unwrap();
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(parsed.events[0].title, "Sitzung");
    assert!(parsed.events[0].uid.starts_with("fallback:"));
    assert_eq!(
        parsed.warnings,
        [
            "item #2: skipped: expected a Meeting object, got a number",
            "item p1: skipped: not a Meeting but a Paper"
        ]
    );
}

#[test]
fn malformed_documents_are_errors_naming_the_position() {
    let err = parse_forced("{\"data\": [\n  {\"id\": 1,}\n]}")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("oparl: invalid JSON at line 2, column"),
        "{err}"
    );
    let full = common::fixture("oparl/meetings-page1.json");
    let err = parse_forced(&full[..full.len() - 20]).unwrap_err();
    assert!(matches!(err, FormatError::Json { .. }), "{err}");

    for (body, want) in [
        (
            r#"{"data": {"id": "x"}}"#,
            "oparl: data: expected an array of Meeting objects, got an object",
        ),
        (
            "[1, 2]",
            "oparl: expected a meeting list, a Meeting or a Body object, got an array",
        ),
        (
            r#"{"type": "https://schema.oparl.org/1.1/Body", "name": "Stadt"}"#,
            "oparl: Body: no \"meeting\" list URL",
        ),
        (
            r#"{"type": "https://schema.oparl.org/1.1/System", "body": "https://x/bodies"}"#,
            "oparl: got an OParl System object; configure the URL of a Body or of its meeting list",
        ),
        (
            r#"{"error": "not found"}"#,
            "oparl: not an OParl document (no \"data\" list and no OParl \"type\")",
        ),
    ] {
        assert_eq!(parse_forced(body).unwrap_err().to_string(), want, "{body}");
    }

    // Wrong types inside a meeting are warnings naming the meeting.
    let bad = r#"{"data": [
        {"id": "m1", "start": 20261201},
        {"id": "m2", "start": "2026-12-01T18:00:00+01:00", "end": "2026-12-01T17:00:00+01:00"},
        {"id": "m3", "start": "morgen"},
        {"id": "m4", "start": "2026-12-01T18:00:00+01:00", "end": ["x"]}
    ]}"#;
    let parsed = parse_forced(bad).unwrap();
    assert!(parsed.events.is_empty());
    assert_eq!(parsed.warnings.len(), 4);
    assert_eq!(
        parsed.warnings[0],
        "item m1: skipped: start: expected a date-time, got a number"
    );
    assert_eq!(parsed.warnings[1], "item m2: skipped: end is before start");
    assert!(
        parsed.warnings[2].starts_with("item m3: skipped: start: invalid date-time \"morgen\""),
        "{}",
        parsed.warnings[2]
    );
    assert_eq!(
        parsed.warnings[3],
        "item m4: skipped: end: expected a date-time, got an array"
    );

    // Deep nesting is refused by serde_json's recursion limit (= MAX_DEPTH).
    let deep = format!("{{\"data\": [{}]}}", "[".repeat(200));
    let err = parse_forced(deep).unwrap_err().to_string();
    assert!(err.contains("recursion limit"), "{err}");
}

#[test]
fn never_panics_on_truncated_fixtures() {
    for rel in ["oparl/meetings-page1.json", "oparl/meetings-page2.json"] {
        let body = common::fixture(rel);
        let mut cut = 0;
        while cut < body.len() {
            let _ = parse_forced(&body[..cut]);
            cut += 97;
        }
        assert!(parse_forced(&body).is_ok(), "{rel}");
    }
}

/// Page 1 with its `links.next` pointing at the stub's page 2.
fn serve_pages(stub: &StubServer) {
    let page1 = String::from_utf8(common::fixture("oparl/meetings-page1.json"))
        .unwrap()
        .replace(
            "\"next\": \"https://ris.musterstadt.de/oparl/v1/body/1/meeting?page=2\"",
            &format!("\"next\": \"{}\"", stub.url("/oparl/meetings2?page=2")),
        );
    assert!(page1.contains(&stub.url("/oparl/meetings2?page=2")));
    stub.script(
        "/oparl/meetings",
        vec![Reply::Feed {
            body: page1.into_bytes(),
            etag: None,
        }],
    );
    stub.script(
        "/oparl/meetings2",
        vec![Reply::Feed {
            body: common::fixture("oparl/meetings-page2.json"),
            etag: None,
        }],
    );
}

#[tokio::test]
async fn follows_pagination_end_to_end() {
    let stub = StubServer::start().await;
    serve_pages(&stub);
    let dir = tempfile::tempdir().unwrap();
    let url = stub.url("/oparl/meetings");
    let (_, cfg) = common::write_config(
        dir.path(),
        &format!("{}format = \"oparl\"\n", common::source_block("rat", &url)),
    );
    let app = App::open(cfg).await.unwrap();
    let reports = app.fetch_all(None, |_| {}).await.unwrap();
    let report = &reports[0];
    assert_eq!(report.error, None);
    assert_eq!(report.pages, 2);
    assert_eq!(report.format, Some(Format::Oparl));
    assert_eq!(report.events, 6);
    assert_eq!(
        report.warnings,
        [format!(
            "page 2: item {RIS}/meeting/2106: skipped: no start (the meeting has no date yet)"
        )]
    );
    assert_eq!(stub.hits("/oparl/meetings").len(), 1);
    assert_eq!(stub.hits("/oparl/meetings2").len(), 1);

    let stored = app.store.source_events("rat").await.unwrap();
    let mut uids: Vec<String> = stored.iter().map(|s| s.event.uid.clone()).collect();
    uids.sort();
    let want: Vec<String> = [2101, 2102, 2103, 2104, 2105, 2107]
        .iter()
        .map(|n| format!("{RIS}/meeting/{n}"))
        .collect();
    assert_eq!(uids, want);
    assert!(
        stored
            .iter()
            .all(|s| s.event.categories.iter().any(|c| c == "council"))
    );
    let cancelled: Vec<&str> = stored
        .iter()
        .filter(|s| s.event.status == Status::Cancelled)
        .map(|s| s.event.uid.as_str())
        .collect();
    assert_eq!(cancelled, [format!("{RIS}/meeting/2103")]);
}

/// The content hash covers every page: the same pages again are unchanged, and a change on
/// the second page alone is picked up.
#[tokio::test]
async fn a_change_on_a_later_page_is_seen() {
    let stub = StubServer::start().await;
    serve_pages(&stub);
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = common::write_config(
        dir.path(),
        &format!(
            "{}format = \"oparl\"\n",
            common::source_block("rat", &stub.url("/oparl/meetings"))
        ),
    );
    let app = App::open(cfg).await.unwrap();
    let first = &app.fetch_all(None, |_| {}).await.unwrap()[0];
    assert_eq!((first.outcome, first.pages), (Outcome::Updated, 2));

    let again = &app.fetch_all(None, |_| {}).await.unwrap()[0];
    assert_eq!((again.outcome, again.pages), (Outcome::Unchanged, 2));

    let page2 = String::from_utf8(common::fixture("oparl/meetings-page2.json")).unwrap();
    let renamed = page2.replace("\"13. Sitzung des Rates", "\"Neu: 13. Sitzung des Rates");
    assert_ne!(renamed, page2);
    stub.script(
        "/oparl/meetings2",
        vec![Reply::Feed {
            body: renamed.into_bytes(),
            etag: None,
        }],
    );
    let changed = &app.fetch_all(None, |_| {}).await.unwrap()[0];
    assert_eq!(changed.error, None);
    assert_eq!((changed.outcome, changed.pages), (Outcome::Updated, 2));
    let stored = app.store.source_events("rat").await.unwrap();
    assert_eq!(
        stored
            .iter()
            .filter(|s| s.event.title.starts_with("Neu: "))
            .count(),
        1,
        "the renamed meeting on page 2 is stored"
    );
}

#[tokio::test]
async fn a_body_url_leads_to_its_meetings() {
    let stub = StubServer::start().await;
    serve_pages(&stub);
    let body = format!(
        r#"{{"id": "{0}", "type": "https://schema.oparl.org/1.1/Body", "name": "Stadt Musterstadt",
            "meeting": "/oparl/meetings"}}"#,
        stub.url("/oparl/body/1")
    );
    stub.script(
        "/oparl/body/1",
        vec![Reply::Feed {
            body: body.into_bytes(),
            etag: None,
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = common::write_config(
        dir.path(),
        &common::source_block("rat", &stub.url("/oparl/body/1")),
    );
    let app = App::open(cfg).await.unwrap();
    let reports = app.fetch_all(None, |_| {}).await.unwrap();
    let report = &reports[0];
    assert_eq!(report.error, None);
    assert_eq!(report.pages, 3, "body, page 1, page 2");
    assert_eq!(report.format, Some(Format::Oparl), "detected from the body");
    assert_eq!(app.store.source_events("rat").await.unwrap().len(), 6);
}

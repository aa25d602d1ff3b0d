//! schema.org JSON-LD input (JSON documents and HTML pages) and the JSON-LD output: fixtures
//! from a theatre programme page, a museum's event array and a ticketing site's ItemList read
//! field by field, the shapes real publishers use, malformed input, and the round trip of the
//! output through the input.

mod common;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use chrono_tz::Europe::Berlin;
use regiocal::config::{Config, FormatChoice};
use regiocal::format::{self, Format, FormatError, ParseContext, Parsed, jsonld};
use regiocal::model::StoredEvent;
use regiocal::model::{Address, Attendance, Event, EventTime, Geo, Offer, Organizer, Status};
use regiocal::normalize::{self, recurrence};
use regiocal::output::{self, Filter, Snapshot};
use serde_json::Value;
use std::path::Path;

const THEATRE: &str = "html/stadttheater-spielplan.html";
const NO_EVENTS: &str = "html/no-events.html";
const MUSEUM: &str = "jsonld/museum-events.json";
const TICKETS: &str = "jsonld/ticketing-itemlist.json";

fn ctx() -> ParseContext<'static> {
    ParseContext::new(Berlin)
}

fn parse_bytes(bytes: &[u8]) -> Result<(Format, Parsed), FormatError> {
    format::parse(bytes, FormatChoice::Auto, None, &ctx())
}

fn parse_fixture(rel: &str) -> (Format, Parsed) {
    parse_bytes(&common::fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(text: &str) -> Parsed {
    jsonld::parse_json(text, &ctx()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn html(text: &str) -> Result<Parsed, FormatError> {
    jsonld::parse_html(text, &ctx())
}

fn local(s: &str) -> EventTime {
    EventTime::Local {
        local: NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
        tz: Berlin,
    }
}

fn date(s: &str) -> EventTime {
    EventTime::Date {
        date: NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap(),
    }
}

fn by_uid<'a>(events: &'a [Event], uid: &str) -> &'a Event {
    events
        .iter()
        .find(|e| e.uid == uid)
        .unwrap_or_else(|| panic!("no event {uid}"))
}

fn offer(name: Option<&str>, price: f64, url: Option<&str>) -> Offer {
    Offer {
        name: name.map(str::to_string),
        price: Some(price),
        currency: Some("EUR".into()),
        url: url.map(str::to_string),
    }
}

fn address(street: &str, postal_code: &str) -> Address {
    Address {
        street: Some(street.into()),
        postal_code: Some(postal_code.into()),
        locality: Some("Musterstadt".into()),
        region: None,
        country: Some("DE".into()),
    }
}

const ST: &str = "https://www.stadttheater-musterstadt.de";
const GROSSES_HAUS: &str =
    "Stadttheater Musterstadt – Großes Haus, Theaterplatz 1, 12345 Musterstadt";

fn theatre_organizer() -> Organizer {
    Organizer {
        name: "Stadttheater Musterstadt".into(),
        url: Some(format!("{ST}/")),
        email: Some("theaterkasse@stadttheater-musterstadt.de".into()),
    }
}

#[test]
fn theatre_page_graph_events_field_by_field() {
    let (fmt, parsed) = parse_fixture(THEATRE);
    assert_eq!(fmt, Format::Html);
    assert_eq!(parsed.events.len(), 7, "6 from @graph + the series");
    let ev = &parsed.events;

    let nathan = by_uid(
        ev,
        &format!("{ST}/spielplan/nathan-der-weise/2026-12-04/#event"),
    );
    assert_eq!(nathan.title, "Nathan der Weise");
    assert!(
        nathan
            .description
            .as_deref()
            .unwrap()
            .starts_with("Lessings dramatisches")
    );
    assert_eq!(
        nathan.url.as_deref(),
        Some(&*format!("{ST}/spielplan/nathan-der-weise/"))
    );
    assert_eq!(
        nathan.image.as_deref(),
        Some(&*format!("{ST}/media/spielzeit-2026/nathan-16x9.jpg"))
    );
    assert_eq!(nathan.start, local("2026-12-04 19:30"));
    assert_eq!(nathan.end, local("2026-12-04 22:15"));
    assert_eq!(nathan.status, Status::Confirmed);
    assert_eq!(nathan.attendance, Attendance::Offline);
    assert_eq!(nathan.categories, vec!["Theater"]);
    // The location is a reference to the Place node of the @graph.
    assert_eq!(nathan.location.as_deref(), Some(GROSSES_HAUS));
    assert_eq!(
        nathan.address.as_deref(),
        Some(&address("Theaterplatz 1", "12345"))
    );
    assert_eq!(nathan.geo, Geo::new(51.5136, 7.4653));
    assert_eq!(nathan.organizer.as_deref(), Some(&theatre_organizer()));
    assert_eq!(nathan.language.as_deref(), Some("de"));
    let tickets = "https://tickets.stadttheater-musterstadt.de/vorstellung/20261204-1930";
    assert_eq!(
        nathan.offers,
        vec![
            offer(Some("Parkett"), 32.0, Some(tickets)),
            offer(Some("1. Rang"), 24.5, Some(tickets)),
            offer(Some("Ermäßigt"), 12.5, Some(tickets)),
        ]
    );
    assert_eq!(nathan.free, None);
    assert_eq!(nathan.rrule, None);

    // "@type": "https://schema.org/MusicEvent", AggregateOffer low/high, ImageObject.
    let sinfonie = by_uid(ev, &format!("{ST}/konzert/3-sinfoniekonzert/#event"));
    assert_eq!(sinfonie.title, "3. Sinfoniekonzert: Brahms & Dvořák");
    assert_eq!(sinfonie.categories, vec!["Musik"]);
    assert_eq!(sinfonie.start, local("2026-12-11 20:00"));
    assert_eq!(sinfonie.end, local("2026-12-11 22:00"));
    assert_eq!(
        sinfonie.image.as_deref(),
        Some(&*format!("{ST}/media/spielzeit-2026/sinfoniekonzert-3.jpg"))
    );
    let agg = "https://tickets.stadttheater-musterstadt.de/vorstellung/20261211-2000";
    assert_eq!(
        sinfonie.offers,
        vec![offer(None, 18.0, Some(agg)), offer(None, 42.0, Some(agg))]
    );

    // Cancelled; no @id, so the identifier is the UID; inline Place with string coordinates.
    let physiker = by_uid(ev, "vst-2026-1217-physiker");
    assert_eq!(physiker.title, "Die Physiker");
    assert_eq!(physiker.status, Status::Cancelled);
    assert_eq!(
        physiker.location.as_deref(),
        Some("Studiobühne, Theaterplatz 3, 12345 Musterstadt")
    );
    assert_eq!(
        physiker.address.as_deref(),
        Some(&address("Theaterplatz 3", "12345"))
    );
    assert_eq!(physiker.geo, Geo::new(51.5141, 7.466));
    assert_eq!(physiker.offers.len(), 1);
    assert_eq!(physiker.offers[0].price, Some(18.0));

    // Two types give two categories; Language object gives its code.
    let schnee = by_uid(
        ev,
        &format!("{ST}/junges-theater/die-schneekoenigin/2026-12-20/#event"),
    );
    assert_eq!(schnee.categories, vec!["Theater", "Kinder"]);
    assert_eq!(schnee.language.as_deref(), Some("de"));
    assert_eq!(
        schnee.offers.iter().map(|o| o.price).collect::<Vec<_>>(),
        vec![Some(12.0), Some(6.0)]
    );

    // Neither @id nor identifier: URL plus start.
    let silvester = by_uid(
        ev,
        &format!("{ST}/konzert/silvesterkonzert-2026/#20261231T180000Z"),
    );
    assert_eq!(silvester.start, local("2026-12-31 19:00"));
    assert_eq!(silvester.end, local("2027-01-01 00:30"));
    assert_eq!(
        silvester.organizer.as_deref(),
        Some(&Organizer {
            name: "Philharmonie Musterstadt e.V.".into(),
            url: Some("https://www.philharmonie-musterstadt.de/".into()),
            email: Some("karten@philharmonie-musterstadt.de".into()),
        })
    );

    // Postponed, no endDate: ends when it starts.
    let kabale = by_uid(
        ev,
        &format!("{ST}/spielplan/kabale-und-liebe/2027-01-15/#event"),
    );
    assert_eq!(kabale.status, Status::Postponed);
    assert_eq!(kabale.start, local("2027-01-15 19:30"));
    assert_eq!(kabale.end, kabale.start);
    assert_eq!(kabale.offers[0].price, Some(28.0));
}

#[test]
fn theatre_page_event_schedule_becomes_one_weekly_series() {
    let (_, parsed) = parse_fixture(THEATRE);
    let series = by_uid(
        &parsed.events,
        &format!("{ST}/junges-theater/theaterwerkstatt/#series"),
    );
    assert_eq!(series.title, "Theaterwerkstatt für Jugendliche");
    assert_eq!(series.categories, vec!["Bildung"]);
    assert_eq!(series.start, local("2027-01-12 17:00"));
    assert_eq!(series.end, local("2027-01-12 19:00"));
    // 2027-03-30 23:59:59 CEST (DST started on March 28th).
    assert_eq!(
        series.rrule.as_deref(),
        Some("FREQ=WEEKLY;BYDAY=TU;UNTIL=20270330T215959Z")
    );
    assert_eq!(series.exdates, vec![date("2027-02-16")]);
    assert_eq!(series.free, Some(true));
    assert_eq!(
        series.location.as_deref(),
        Some("Probebühne im Kulissenhaus, Hinter dem Theater 4, 12345 Musterstadt")
    );
    assert_eq!(
        series.organizer.as_ref().map(|o| o.name.as_str()),
        Some("Junges Theater Musterstadt")
    );
    // Escaped slashes (`<\/p>`) are ordinary JSON escapes.
    assert!(series.description.as_deref().unwrap().contains("</p>"));

    // Expanded: every Tuesday 17:00 local (also after the DST change), without February 16th.
    let (events, warnings) = normalize::normalize(parsed.events, &Default::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let series = by_uid(
        &events,
        &format!("{ST}/junges-theater/theaterwerkstatt/#series"),
    );
    let now = DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc();
    let window = recurrence::Window::around(now, Berlin, 30, 400);
    let exp = recurrence::expand(series, &[], &window, Berlin, 1000);
    let starts: Vec<EventTime> = exp.occurrences.iter().map(|(o, _)| o.start).collect();
    let want: Vec<EventTime> = [
        "2027-01-12",
        "2027-01-19",
        "2027-01-26",
        "2027-02-02",
        "2027-02-09",
        "2027-02-23",
        "2027-03-02",
        "2027-03-09",
        "2027-03-16",
        "2027-03-23",
        "2027-03-30",
    ]
    .iter()
    .map(|d| local(&format!("{d} 17:00")))
    .collect();
    assert_eq!(starts, want);
}

#[test]
fn row8_theatre_page_invalid_block_is_a_warning_with_its_position() {
    let (_, parsed) = parse_fixture(THEATRE);
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    let w = &parsed.warnings[0];
    assert!(
        w.starts_with("JSON-LD block 3 ignored: invalid JSON"),
        "{w}"
    );
    assert!(w.contains("line 8, column 3 of the block"), "{w}");
    assert!(w.contains("page line 277, column 3"), "{w}");
    assert!(w.contains("trailing comma"), "{w}");
    // The event of the broken block is not there; the others are.
    assert!(!parsed.events.iter().any(|e| e.title.contains("Kulissen")));
}

#[test]
fn page_without_events_is_an_error() {
    let err = parse_bytes(&common::fixture(NO_EVENTS)).unwrap_err();
    assert!(matches!(err, FormatError::NoEventsInHtml), "{err}");
    assert!(err.to_string().contains("no schema.org JSON-LD Event"));
    // Also a page without any JSON-LD, and one whose only block is broken.
    assert!(matches!(
        html("<html><body><p>Programm folgt</p></body></html>"),
        Err(FormatError::NoEventsInHtml)
    ));
    assert!(matches!(
        html(r#"<html><script type="application/ld+json">{"@type": "Event",</script></html>"#),
        Err(FormatError::NoEventsInHtml)
    ));
}

#[test]
fn museum_array_field_by_field() {
    let (fmt, parsed) = parse_fixture(MUSEUM);
    assert_eq!(fmt, Format::JsonLd);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.events.len(), 5);
    let ev = &parsed.events;
    let sm = "https://www.stadtmuseum-musterstadt.de";

    // Date-only: all-day, endDate inclusive (the exhibition is open on March 7th).
    let licht = by_uid(ev, &format!("{sm}/ausstellungen/licht-und-schatten/#event"));
    assert_eq!(
        licht.title,
        "Licht und Schatten – Fotografie der 1920er Jahre"
    );
    assert_eq!(licht.start, date("2026-11-28"));
    assert_eq!(licht.end, date("2027-03-08"));
    assert_eq!(licht.categories, vec!["Ausstellung"]);
    assert_eq!(
        licht.location.as_deref(),
        Some("Stadtmuseum Musterstadt, Museumsstraße 5, 12345 Musterstadt")
    );
    assert_eq!(
        licht.address.as_deref(),
        Some(&Address {
            region: Some("Nordrhein-Westfalen".into()),
            ..address("Museumsstraße 5", "12345")
        })
    );
    assert_eq!(licht.geo, Geo::new(51.5129, 7.4681));
    assert_eq!(licht.free, Some(false), "isAccessibleForFree: \"false\"");
    assert_eq!(
        licht.offers,
        vec![offer(None, 6.0, Some(&format!("{sm}/besuch/eintritt/")))]
    );
    assert_eq!(
        licht.image.as_deref(),
        Some(&*format!(
            "{sm}/media/ausstellungen/licht-und-schatten-1200.jpg"
        ))
    );
    assert_eq!(licht.attendance, Attendance::Offline);

    // VirtualLocation only.
    let online = by_uid(
        ev,
        &format!("{sm}/programm/digitale-fuehrung-mittelalter/#event"),
    );
    assert_eq!(online.attendance, Attendance::Online);
    assert_eq!(
        online.online_url.as_deref(),
        Some(&*format!("{sm}/live/mittelalter/"))
    );
    assert_eq!(online.location, None);
    assert_eq!(online.free, Some(true));
    assert_eq!(online.start, local("2026-12-03 18:00"));
    assert_eq!(online.end, local("2026-12-03 19:00"));

    // Place + VirtualLocation without eventAttendanceMode: mixed. Address as a string.
    let nacht = by_uid(ev, &format!("{sm}/programm/museumsnacht-2027/#event"));
    assert_eq!(nacht.attendance, Attendance::Mixed);
    assert_eq!(
        nacht.location.as_deref(),
        Some("Stadtmuseum Musterstadt, Museumsstraße 5, 12345 Musterstadt")
    );
    assert_eq!(nacht.address, None);
    assert_eq!(
        nacht.online_url.as_deref(),
        Some(&*format!("{sm}/live/museumsnacht/"))
    );
    assert_eq!(nacht.free, Some(true), "isAccessibleForFree: \"True\"");
    assert_eq!(nacht.offers[0].price, Some(0.0));
    assert_eq!(nacht.end, local("2027-01-24 01:00"));

    // No @id, no identifier: URL plus start date. Two types, comma price.
    let burg = by_uid(ev, &format!("{sm}/programm/ferienwerkstatt-burg/#20270201"));
    assert_eq!(burg.categories, vec!["Ausstellung", "Kinder"]);
    assert_eq!(
        (burg.start, burg.end),
        (date("2027-02-01"), date("2027-02-06"))
    );
    assert_eq!(burg.free, Some(false));
    assert_eq!(burg.offers[0].price, Some(4.5));

    // http:// prefix, identifier, single day, Language object, mailto: organizer.
    let weber = by_uid(ev, "ausst-2027-04-weber");
    assert_eq!(weber.categories, vec!["Ausstellung"]);
    assert_eq!(
        (weber.start, weber.end),
        (date("2027-04-10"), date("2027-04-11"))
    );
    assert_eq!(
        weber.location.as_deref(),
        Some("Stadtmuseum Musterstadt, Kabinett im 1. OG")
    );
    assert_eq!(weber.language.as_deref(), Some("de"));
    assert_eq!(
        weber.organizer.as_deref(),
        Some(&Organizer {
            name: "Förderverein Stadtmuseum Musterstadt e.V.".into(),
            url: None,
            email: Some("info@foerderverein-stadtmuseum.de".into()),
        })
    );
}

#[test]
fn ticketing_itemlist_field_by_field() {
    let (fmt, parsed) = parse_fixture(TICKETS);
    assert_eq!(fmt, Format::JsonLd);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(
        uids,
        [
            "TW-1048822",
            "TW-1051907",
            "TW-0998310",
            "TW-1060044",
            "TW-1072290"
        ],
        "in list order"
    );
    let ev = &parsed.events;
    let tw = "https://www.tixwelt.example/event";

    let marie = by_uid(ev, "TW-1048822");
    assert_eq!(
        marie.title,
        "Marie Hollander & Band – Leuchtfeuer Tour 2027"
    );
    assert_eq!(marie.categories, vec!["Musik"]);
    assert_eq!(marie.start, local("2027-02-19 20:00"));
    assert_eq!(marie.end, marie.start, "no endDate: the RFC 5545 default");
    let url = format!("{tw}/marie-hollander-leuchtfeuer-musterstadt-1048822#tickets");
    assert_eq!(
        marie.offers,
        vec![offer(None, 39.9, Some(&url)), offer(None, 54.9, Some(&url))],
        "AggregateOffer with comma prices"
    );
    assert_eq!(
        marie.address.as_ref().and_then(|a| a.country.as_deref()),
        Some("DE"),
        "Country object"
    );
    assert_eq!(
        marie.location.as_deref(),
        Some("Kulturfabrik Musterstadt, Am Güterbahnhof 12, 12347 Musterstadt")
    );
    assert_eq!(
        marie.organizer.as_ref().map(|o| o.name.as_str()),
        Some("Nordlicht Konzerte GmbH")
    );

    let jazz = by_uid(ev, "TW-1051907");
    let url = format!("{tw}/musterstaedter-jazznacht-2027-1051907#tickets");
    assert_eq!(
        jazz.offers,
        vec![
            offer(Some("Stehplatz"), 24.5, Some(&url)),
            offer(Some("Sitzplatz"), 32.0, Some(&url)),
        ]
    );
    assert_eq!(jazz.end, local("2027-03-12 23:30"));

    // Rescheduled: confirmed at the new date.
    let waterloo = by_uid(ev, "TW-0998310");
    assert_eq!(waterloo.status, Status::Confirmed);
    assert_eq!(waterloo.start, local("2027-04-17 20:00"));
    assert_eq!(waterloo.end, local("2027-04-17 22:30"));
    assert_eq!(waterloo.offers.len(), 1, "lowPrice = highPrice");
    assert_eq!(waterloo.offers[0].price, Some(45.0));
    assert_eq!(waterloo.geo, Geo::new(51.5102, 7.4597));

    let chor = by_uid(ev, "TW-1060044");
    assert_eq!(
        chor.location.as_deref(),
        Some("St.-Marien-Kirche, Kirchplatz 2, 12345 Musterstadt")
    );
    assert_eq!(chor.address, None);
    assert_eq!(
        chor.offers.iter().map(|o| o.price).collect::<Vec<_>>(),
        vec![Some(15.0), Some(10.0)]
    );

    // AggregateOffer with nested offers: the offers themselves.
    let open_air = by_uid(ev, "TW-1072290");
    assert_eq!(
        open_air
            .offers
            .iter()
            .map(|o| (o.name.as_deref(), o.price))
            .collect::<Vec<_>>(),
        vec![
            (Some("Vorverkauf"), Some(29.9)),
            (Some("Abendkasse"), Some(34.9))
        ]
    );
}

#[test]
fn shapes_publishers_use() {
    let doc = r##"{
      "@context": {"@vocab": "https://schema.org/"},
      "@graph": [
        {"@type": "Place", "@id": "#rathaus", "name": "Rathaus Musterstadt",
         "address": "Markt 1, 12345 Musterstadt", "latitude": "51,5140", "longitude": 7.4650},
        {"@type": "Person", "@id": "#bm", "name": "Bürgermeisterin Petra Lang", "email": "buergermeisterin@musterstadt.de"},
        {"@type": ["schema:Event", "schema:SocialEvent"], "@id": "_:b0",
         "name": {"@value": "Neujahrsempfang der Stadt", "@language": "de"},
         "startDate": "2027-01-10T11:00", "duration": "PT3H",
         "location": {"@id": "#rathaus"}, "organizer": {"@id": "#bm"},
         "identifier": {"@type": "PropertyValue", "propertyID": "kalender", "value": 4711},
         "image": [{"@type": "ImageObject", "contentUrl": "https://www.musterstadt.de/bilder/empfang.jpg"}],
         "offers": {"@type": "Offer", "price": "kostenlos"}},
        {"@type": "Event", "name": "Stadtratssitzung (online)", "@id": "https://www.musterstadt.de/rat/2027-01-14",
         "startDate": "2027-01-14T17:00:00+01:00", "endDate": "2027-01-14T20:00:00+01:00",
         "location": "Ratssaal", "eventStatus": {"@id": "https://schema.org/EventMovedOnline"},
         "isAccessibleForFree": 1},
        {"@type": "FoodEvent", "@id": "x-late", "name": "Kürbisfest", "startDate": "2026-12-05", "endDate": "2026-12-04"},
        {"@type": "ComedyEvent", "@id": "x-nodate", "name": "Kabarett ohne Datum"},
        {"@type": "DanceEvent", "@id": "x-mixed", "name": "Tanztee", "startDate": "2026-12-06", "endDate": "2026-12-06T18:00:00+01:00"},
        {"@type": "Hackathon", "name": "kein bekannter Typ", "startDate": "2026-12-07"}
      ]
    }"##;
    let parsed = json(doc);
    let ev = &parsed.events;
    assert_eq!(ev.len(), 3, "{ev:#?}");

    let empfang = by_uid(ev, "4711");
    assert_eq!(empfang.title, "Neujahrsempfang der Stadt");
    assert_eq!(empfang.categories, vec!["Geselligkeit"]);
    assert_eq!(empfang.start, local("2027-01-10 11:00"));
    assert_eq!(empfang.end, local("2027-01-10 14:00"), "duration PT3H");
    assert_eq!(
        empfang.location.as_deref(),
        Some("Rathaus Musterstadt, Markt 1, 12345 Musterstadt")
    );
    assert_eq!(
        empfang.geo,
        Geo::new(51.514, 7.465),
        "latitude/longitude on the Place"
    );
    assert_eq!(
        empfang
            .organizer
            .as_ref()
            .map(|o| (o.name.as_str(), o.email.as_deref())),
        Some((
            "Bürgermeisterin Petra Lang",
            Some("buergermeisterin@musterstadt.de")
        ))
    );
    assert_eq!(
        empfang.image.as_deref(),
        Some("https://www.musterstadt.de/bilder/empfang.jpg")
    );
    assert_eq!(empfang.offers[0].price, Some(0.0));
    assert_eq!(empfang.free, Some(true), "price 0 means free");

    let rat = by_uid(ev, "https://www.musterstadt.de/rat/2027-01-14");
    assert_eq!(rat.status, Status::Confirmed);
    assert_eq!(rat.attendance, Attendance::Online, "EventMovedOnline");
    assert_eq!(rat.location.as_deref(), Some("Ratssaal"));
    assert_eq!(rat.free, Some(true));

    let tanz = by_uid(ev, "x-mixed");
    assert_eq!(
        (tanz.start, tanz.end),
        (date("2026-12-06"), date("2026-12-07"))
    );

    let w = &parsed.warnings;
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(
        w[0],
        "item \"x-late\": skipped: endDate is before startDate"
    );
    assert_eq!(w[1], "item \"x-nodate\": skipped: no startDate");
}

#[test]
fn event_series_sub_events_inherit_from_the_series() {
    let doc = r#"{
      "@context": "https://schema.org",
      "@type": "EventSeries",
      "@id": "https://www.kino-musterstadt.de/reihe/filmklassiker",
      "name": "Filmklassiker im Lichtspielhaus",
      "url": "https://www.kino-musterstadt.de/reihe/filmklassiker",
      "image": "https://www.kino-musterstadt.de/img/filmklassiker.jpg",
      "location": {"@type": "MovieTheater", "name": "Lichtspielhaus Musterstadt",
        "address": {"@type": "PostalAddress", "streetAddress": "Bahnhofstraße 9", "postalCode": "12345", "addressLocality": "Musterstadt"}},
      "organizer": {"@type": "Organization", "name": "Kinofreunde Musterstadt e.V."},
      "offers": {"@type": "Offer", "price": "7,50", "priceCurrency": "EUR"},
      "subEvent": [
        {"@type": "ScreeningEvent", "name": "Metropolis (1927)", "startDate": "2027-02-03T20:00:00+01:00",
         "endDate": "2027-02-03T22:35:00+01:00",
         "superEvent": {"@id": "https://www.kino-musterstadt.de/reihe/filmklassiker"}},
        {"@type": "ScreeningEvent", "@id": "https://www.kino-musterstadt.de/film/m", "name": "M – Eine Stadt sucht einen Mörder",
         "startDate": "2027-03-03T20:00:00+01:00", "location": "Open-Air-Leinwand am Stadtsee",
         "offers": {"@type": "Offer", "price": 0}},
        {"@type": "ScreeningEvent", "name": "Nosferatu", "startDate": 20270407}
      ]
    }"#;
    let parsed = json(doc);
    let ev = &parsed.events;
    assert_eq!(ev.len(), 2, "the series itself is not an event: {ev:#?}");
    let metropolis = &ev[0];
    assert_eq!(metropolis.title, "Metropolis (1927)");
    assert_eq!(metropolis.categories, vec!["Film"]);
    assert_eq!(
        metropolis.uid,
        "https://www.kino-musterstadt.de/reihe/filmklassiker#20270203T190000Z"
    );
    assert_eq!(
        metropolis.location.as_deref(),
        Some("Lichtspielhaus Musterstadt, Bahnhofstraße 9, 12345 Musterstadt")
    );
    assert_eq!(
        metropolis.organizer.as_ref().map(|o| o.name.as_str()),
        Some("Kinofreunde Musterstadt e.V.")
    );
    assert_eq!(
        metropolis.image.as_deref(),
        Some("https://www.kino-musterstadt.de/img/filmklassiker.jpg")
    );
    assert_eq!(metropolis.offers[0].price, Some(7.5));
    // Own values win.
    let m = &ev[1];
    assert_eq!(m.uid, "https://www.kino-musterstadt.de/film/m");
    assert_eq!(m.location.as_deref(), Some("Open-Air-Leinwand am Stadtsee"));
    assert_eq!(m.address, None);
    assert_eq!(m.offers[0].price, Some(0.0));
    assert_eq!(m.free, Some(true));
    // A number where a date belongs: skipped, and the warning names the field and the value.
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    let w = &parsed.warnings[0];
    assert!(w.starts_with("item #"), "{w}");
    assert!(w.contains("skipped: startDate:"), "{w}");
    assert!(w.contains("the number 20270407"), "{w}");
}

#[test]
fn sub_events_listed_on_their_own_inherit_through_super_event() {
    let doc = r##"{"@context": "https://schema.org", "@graph": [
      {"@type": "MusicEvent", "@id": "#k1", "name": "Orgelsommer I: Bach", "startDate": "2027-06-06T17:00:00+02:00",
       "superEvent": {"@id": "#orgelsommer"}},
      {"@type": "MusicEvent", "@id": "#k2", "name": "Orgelsommer II: Reger", "startDate": "2027-06-13T17:00:00+02:00",
       "superEvent": {"@id": "#orgelsommer"}, "location": "Kapelle am Friedhof"},
      {"@type": "EventSeries", "@id": "#orgelsommer", "name": "Orgelsommer 2027",
       "location": {"@type": "Place", "name": "Stadtkirche St. Marien", "address": "Kirchplatz 2, 12345 Musterstadt"},
       "isAccessibleForFree": true, "subEvent": [{"@id": "#k1"}, {"@id": "#k2"}]}
    ]}"##;
    let parsed = json(doc);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.events.len(), 2);
    let bach = by_uid(&parsed.events, "#k1");
    assert_eq!(
        bach.location.as_deref(),
        Some("Stadtkirche St. Marien, Kirchplatz 2, 12345 Musterstadt")
    );
    assert_eq!(bach.free, Some(true));
    let reger = by_uid(&parsed.events, "#k2");
    assert_eq!(reger.location.as_deref(), Some("Kapelle am Friedhof"));
    assert_eq!(reger.categories, vec!["Musik"]);
}

#[test]
fn event_schedules_become_rrules() {
    let doc = r#"[
      {"@type": "LiteraryEvent", "@id": "lesekreis", "name": "Lesekreis in der Stadtbibliothek",
       "eventSchedule": {"@type": "Schedule", "startDate": "2026-12-01", "repeatFrequency": "P1M",
         "byDay": "https://schema.org/Wednesday", "byMonthWeek": 1, "startTime": "18:30",
         "duration": "PT1H30M", "repeatCount": 6}},
      {"@type": "SportsEvent", "@id": "lauftreff", "name": "Lauftreff am Stadtsee",
       "eventSchedule": [
         {"@type": "Schedule", "startDate": "2026-11-30", "endDate": "2027-06-30", "repeatFrequency": "P1W",
          "byDay": ["Monday", "https://schema.org/Thursday"], "startTime": "07:00", "endTime": "08:00"},
         {"@type": "Schedule", "startDate": "2026-11-29", "repeatFrequency": "P2W", "byDay": "Sunday",
          "startTime": "T09:30:00+01:00", "endTime": "11:00", "scheduleTimezone": "Europe/Vienna",
          "exceptDate": ["2026-12-27", "kein Datum"]}]},
      {"@type": "Event", "@id": "flohmarkt", "name": "Flohmarkt auf dem Marktplatz",
       "eventSchedule": {"startDate": "2027-01-01", "endDate": "2027-06-30", "byMonthDay": 15, "repeatFrequency": "P1M"}},
      {"@type": "FoodEvent", "@id": "wochenmarkt", "name": "Wochenmarkt",
       "eventSchedule": {"startDate": "2026-12-01", "repeatFrequency": "P1D", "startTime": "08:00", "endTime": "13:00",
         "endDate": "2026-12-24"}},
      {"@type": "Event", "@id": "bad-tz", "name": "X",
       "eventSchedule": {"startDate": "2026-12-01", "repeatFrequency": "P1W", "scheduleTimezone": "Mars/Olympus_Mons"}},
      {"@type": "Event", "@id": "bad-freq", "name": "Y",
       "eventSchedule": {"startDate": "2026-12-01", "repeatFrequency": "PT1H"}},
      {"@type": "Event", "@id": "no-freq", "name": "Z", "eventSchedule": {"startDate": "2026-12-01"}}
    ]"#;
    let parsed = json(doc);
    let ev = &parsed.events;

    // First Wednesday of the month; startDate (a Tuesday) moves to the first match.
    let lese = by_uid(ev, "lesekreis");
    assert_eq!(lese.categories, vec!["Literatur"]);
    assert_eq!(
        lese.rrule.as_deref(),
        Some("FREQ=MONTHLY;BYDAY=1WE;COUNT=6")
    );
    assert_eq!(lese.start, local("2026-12-02 18:30"));
    assert_eq!(lese.end, local("2026-12-02 20:00"));

    // Two schedules: two series, numbered; startDate (Monday) matches at once.
    let morning = by_uid(ev, "lauftreff#schedule-1");
    assert_eq!(
        morning.rrule.as_deref(),
        Some("FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270630T215959Z")
    );
    assert_eq!(morning.start, local("2026-11-30 07:00"));
    assert_eq!(morning.end, local("2026-11-30 08:00"));
    let sunday = by_uid(ev, "lauftreff#schedule-2");
    assert_eq!(
        sunday.rrule.as_deref(),
        Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU")
    );
    let vienna = EventTime::Local {
        local: NaiveDateTime::parse_from_str("2026-11-29 09:30", "%Y-%m-%d %H:%M").unwrap(),
        tz: chrono_tz::Europe::Vienna,
    };
    assert_eq!(sunday.start, vienna, "scheduleTimezone");
    assert_eq!(sunday.exdates, vec![date("2026-12-27")]);

    // All-day monthly on the 15th: startDate moves to January 15th.
    let markt = by_uid(ev, "flohmarkt");
    assert_eq!(
        markt.rrule.as_deref(),
        Some("FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20270630")
    );
    assert_eq!(
        (markt.start, markt.end),
        (date("2027-01-15"), date("2027-01-16"))
    );

    let woche = by_uid(ev, "wochenmarkt");
    assert_eq!(
        woche.rrule.as_deref(),
        Some("FREQ=DAILY;UNTIL=20261224T225959Z")
    );
    assert_eq!(woche.end, local("2026-12-01 13:00"));

    assert_eq!(ev.len(), 5);
    let w = parsed.warnings.join("\n");
    assert!(w.contains("exceptDate") && w.contains("kein Datum"), "{w}");
    assert!(
        w.contains("item \"bad-tz\": skipped: eventSchedule: unknown scheduleTimezone \"Mars/Olympus_Mons\""),
        "{w}"
    );
    assert!(
        w.contains("item \"bad-freq\": skipped: repeatFrequency: unsupported value \"PT1H\""),
        "{w}"
    );
    assert!(
        w.contains("item \"no-freq\": skipped: eventSchedule: no repeatFrequency"),
        "{w}"
    );

    // Every rule is accepted by the recurrence engine.
    let (kept, warnings) = normalize::normalize(parsed.events, &Default::default());
    assert_eq!(kept.len(), 5, "{warnings:?}");
    let now = DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc();
    let window = recurrence::Window::around(now, Berlin, 30, 400);
    let lese = by_uid(&kept, "lesekreis");
    let starts: Vec<EventTime> = recurrence::expand(lese, &[], &window, Berlin, 100)
        .occurrences
        .iter()
        .map(|(o, _)| o.start)
        .collect();
    let want: Vec<EventTime> = [
        "2026-12-02",
        "2027-01-06",
        "2027-02-03",
        "2027-03-03",
        "2027-04-07",
        "2027-05-05",
    ]
    .iter()
    .map(|d| local(&format!("{d} 18:30")))
    .collect();
    assert_eq!(starts, want);
}

#[test]
fn row8_html_script_blocks_case_escapes_and_wrappers() {
    let page = r#"<!doctype html><html><head>
<script type="text/javascript">var ev = {"@type": "Event", "name": "kein JSON-LD", "startDate": "2026-12-01"};</script>
<Script Type="Application/LD+JSON; charset=utf-8">
<!--
{"@context": "https://schema.org", "@type": "Event", "name": "Orgelnacht", "description": "Musik <\/script> und Licht",
 "startDate": "2026-12-12T21:00:00+01:00", "location": "Stadtkirche"}
-->
</Script>
<script type="application/ld+json">//<![CDATA[
{"@context": "https://schema.org", "@type": "Event", "name": "Adventssingen", "startDate": "2026-12-13T17:00:00+01:00", "url": "/advent"}
//]]></script>
<script type="application/ld+json"></script>
</head><body><p>Veranstaltungen</p></body></html>"#;
    let base = url::Url::parse("https://www.kirche-musterstadt.de/termine/").unwrap();
    let ctx = ParseContext {
        base_url: Some(&base),
        ..ParseContext::new(Berlin)
    };
    let parsed = jsonld::parse_html(page, &ctx).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let titles: Vec<&str> = parsed.events.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(titles, ["Orgelnacht", "Adventssingen"]);
    assert_eq!(
        parsed.events[0].description.as_deref(),
        Some("Musik </script> und Licht")
    );
    assert_eq!(
        parsed.events[1].url.as_deref(),
        Some("https://www.kirche-musterstadt.de/advent"),
        "relative URL resolved against the page"
    );
}

#[test]
fn invalid_json_names_line_and_column() {
    let text = String::from_utf8(common::fixture(MUSEUM)).unwrap();
    let broken = text.replacen(
        "\"startDate\": \"2026-11-28\",",
        "\"startDate\": \"2026-11-28\"",
        1,
    );
    let err = parse_bytes(broken.as_bytes()).unwrap_err();
    match &err {
        FormatError::Json { line, column, .. } => assert_eq!((*line, *column), (17, 5)),
        other => panic!("{other}"),
    }
    assert!(
        err.to_string()
            .contains("invalid JSON at line 17, column 5"),
        "{err}"
    );

    // Truncated download.
    let mut half = text.len() / 2;
    while !text.is_char_boundary(half) {
        half -= 1;
    }
    let cut = &text[..half];
    let err = parse_bytes(cut.as_bytes()).unwrap_err();
    assert!(
        err.to_string().starts_with("jsonld: invalid JSON at line "),
        "{err}"
    );
    assert!(err.to_string().contains("EOF"), "{err}");

    // JSON, but not schema.org at all.
    let err = jsonld::parse_json(r#"{"fehler": "nicht gefunden"}"#, &ctx()).unwrap_err();
    assert!(err.to_string().contains("no schema.org node"), "{err}");
    // An empty ItemList, array or graph is a valid, empty feed.
    assert!(
        json(r#"{"@type": "ItemList", "itemListElement": []}"#)
            .events
            .is_empty()
    );
    assert!(json("[]").events.is_empty());
    assert!(
        json(r#"{"@context": "https://schema.org", "@graph": []}"#)
            .events
            .is_empty()
    );
    assert!(jsonld::parse_json(r#"[{"a": 1}]"#, &ctx()).is_err());
}

#[test]
fn wrong_types_skip_the_item_and_name_the_field() {
    let doc = r#"{"@context": "https://schema.org", "@graph": [
      {"@type": "TheaterEvent", "@id": "a", "name": "Gut", "startDate": "2026-12-05T19:30:00+01:00"},
      {"@type": "TheaterEvent", "@id": "b", "name": "Zahl", "startDate": 20261205},
      {"@type": "TheaterEvent", "@id": "c", "name": "Ende", "startDate": "2026-12-05", "endDate": {"a": 1}},
      {"@type": "TheaterEvent", "@id": "d", "name": "Kaputt", "startDate": "2026-13-45"},
      {"@type": "TheaterEvent", "@id": "e", "name": "Text", "startDate": "morgen abend"},
      {"@type": "TheaterEvent", "name": 42, "startDate": "2026-12-06", "location": 7, "offers": "frei",
       "organizer": [], "image": false, "geo": null}
    ]}"#;
    let parsed = json(doc);
    let titles: Vec<&str> = parsed.events.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(titles, ["Gut", "42"]);
    assert_eq!(
        parsed.warnings,
        [
            "item \"b\": skipped: startDate: expected an ISO 8601 date string, got the number 20261205",
            "item \"c\": skipped: endDate: expected an ISO 8601 date string, got an object",
            "item \"d\": skipped: startDate: invalid date \"2026-13-45\"",
            "item \"e\": skipped: startDate: invalid date-time \"morgen abend\" (expected ISO 8601, e.g. 2026-12-05T19:00:00+01:00)",
        ]
    );
}

#[test]
fn row2_deep_json_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let err = jsonld::parse_json(&deep, &ctx()).unwrap_err();
    assert!(
        err.to_string().contains("recursion limit exceeded"),
        "{err}"
    );
    assert!(err.to_string().contains("line 1, column 128"), "{err}");
    let objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    assert!(matches!(
        parse_bytes(objects.as_bytes()),
        Err(FormatError::Json { .. })
    ));
    // In an HTML page: the block is a warning, the page has no events.
    let page = format!(
        "<html><script type=\"application/ld+json\">{deep}</script>\
         <script type=\"application/ld+json\">{{\"@type\":\"Event\",\"name\":\"x\",\"startDate\":\"2026-12-01\"}}</script></html>"
    );
    let parsed = html(&page).unwrap();
    assert_eq!(parsed.events.len(), 1);
    assert!(
        parsed.warnings[0].contains("JSON-LD block 1 ignored"),
        "{:?}",
        parsed.warnings
    );
    // Nesting within the limit, through @graph and ItemLists, still finds the event.
    let mut nested = r#"{"@type": "Event", "name": "tief", "startDate": "2026-12-01"}"#.to_string();
    for _ in 0..40 {
        nested = format!(
            r#"{{"@type": "ItemList", "itemListElement": [{{"@type": "ListItem", "item": {nested}}}]}}"#
        );
    }
    assert_eq!(json(&nested).events.len(), 1);
}

#[test]
fn row8_at_most_ten_thousand_events_per_document() {
    let one = r#"{"@type":"Event","name":"Termin","startDate":"2026-12-01T10:00"}"#;
    let doc = format!("[{}]", vec![one; jsonld::MAX_EVENTS + 5].join(","));
    let parsed = json(&doc);
    assert_eq!(parsed.events.len(), jsonld::MAX_EVENTS);
    assert_eq!(
        parsed.warnings,
        ["more than 10000 events in one document; the rest were dropped"]
    );
}

#[test]
fn reference_cycles_and_duplicates_terminate() {
    let doc = r##"{"@graph": [
      {"@type": "ItemList", "@id": "#l", "itemListElement": [{"@id": "#l"}, {"@id": "#e"}, {"@id": "#e"}]},
      {"@type": "Event", "@id": "#e", "name": "Einmal", "startDate": "2026-12-01", "subEvent": {"@id": "#e"},
       "location": {"@id": "#e"}, "organizer": {"@id": "#l"}}
    ]}"##;
    let parsed = json(doc);
    assert_eq!(parsed.events.len(), 1, "{:?}", parsed.events);
}

#[test]
fn never_panics_on_any_prefix() {
    for rel in [THEATRE, NO_EVENTS, MUSEUM, TICKETS] {
        let bytes = common::fixture(rel);
        for cut in (0..bytes.len()).step_by(97) {
            for choice in [FormatChoice::Auto, FormatChoice::Jsonld] {
                if let Ok((_, parsed)) = format::parse(&bytes[..cut], choice, None, &ctx()) {
                    let _ = normalize::normalize(parsed.events, &Default::default());
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Output

fn snapshot() -> Snapshot {
    let fixtures = [
        ("theater", THEATRE),
        ("museum", MUSEUM),
        ("tickets", TICKETS),
    ];
    let sources: String = fixtures
        .iter()
        .map(|(id, rel)| common::source_block(id, rel))
        .collect();
    let config = Config::parse(
        &common::config_text(Path::new("/tmp"), &sources),
        Path::new("/tmp/regiocal.toml"),
    )
    .unwrap();
    let stamp = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
        .unwrap()
        .to_utc();
    let mut stored = Vec::new();
    for (id, rel) in fixtures {
        let (events, _) = common::parse_fixture(rel);
        stored.extend(events.into_iter().map(|event| StoredEvent {
            source: id.to_string(),
            event,
            first_seen: stamp,
            updated_at: stamp,
            revision: 0,
        }));
    }
    let now = DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc();
    Snapshot::build(&config, stored, vec![], Some(stamp), now)
}

#[test]
fn output_reads_back_into_the_same_occurrences() {
    let snap = snapshot();
    let filter = Filter::default();
    let text = output::jsonld::render(&snap, &filter);
    let rows: Vec<_> = snap.select(&filter).collect();
    // 7 theatre (with 11 workshop dates) + 5 museum + 5 tickets occurrences.
    assert_eq!(rows.len(), 6 + 11 + 5 + 5);

    let (fmt, parsed) = parse_bytes(text.as_bytes()).unwrap();
    assert_eq!(fmt, Format::JsonLd);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let (back, warnings) = normalize::normalize(parsed.events, &Default::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(back.len(), rows.len());
    for row in rows {
        let ev = &snap.events[row.event].event;
        let got = by_uid(&back, &format!("urn:regiocal:event:{}", row.id));
        let what = &ev.title;
        assert_eq!(got.title, ev.title);
        assert_eq!(got.start, row.occurrence.start, "{what}");
        assert_eq!(got.end, row.occurrence.end, "{what}");
        assert_eq!(got.status, ev.status, "{what}");
        assert_eq!(got.attendance, ev.attendance, "{what}");
        assert_eq!(got.geo, ev.geo, "{what}");
        assert_eq!(got.offers, ev.offers, "{what}");
        assert_eq!(got.address, ev.address, "{what}");
        assert_eq!(got.online_url, ev.online_url, "{what}");
        assert_eq!(got.organizer, ev.organizer, "{what}");
        assert_eq!(got.url, ev.url, "{what}");
        assert_eq!(got.image, ev.image, "{what}");
        assert_eq!(got.description, ev.description, "{what}");
        assert_eq!(got.language, ev.language, "{what}");
        if ev.attendance == Attendance::Online {
            assert_eq!(got.location, None, "{what}");
        } else {
            assert_eq!(got.location, ev.location, "{what}");
        }
    }
}

#[test]
fn output_items_have_the_required_properties() {
    let snap = snapshot();
    let text = output::jsonld::render(&snap, &Filter::default());
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["@context"], "https://schema.org");
    assert_eq!(doc["@type"], "ItemList");
    let items = doc["itemListElement"].as_array().unwrap();
    assert_eq!(doc["numberOfItems"], items.len());
    assert_eq!(items.len(), 27);
    let all = Filter::default();
    let rows: Vec<_> = snap.select(&all).collect();
    for (i, (li, row)) in items.iter().zip(&rows).enumerate() {
        assert_eq!(li["@type"], "ListItem");
        assert_eq!(li["position"], i + 1);
        let item = &li["item"];
        assert_eq!(item["@type"], "Event");
        assert_eq!(item["@id"], format!("urn:regiocal:event:{}", row.id));
        assert_eq!(item["identifier"], row.id.as_str());
        assert!(
            item["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{item}"
        );
        let start = item["startDate"].as_str().unwrap();
        let end = item["endDate"].as_str().unwrap();
        if start.len() == 10 {
            assert_eq!(end.len(), 10, "{item}");
            assert!(end >= start, "{item}");
        } else {
            let (s, e) = (
                DateTime::parse_from_rfc3339(start).unwrap(),
                DateTime::parse_from_rfc3339(end).unwrap(),
            );
            assert!(e >= s, "{item}");
        }
        let status = item["eventStatus"].as_str().unwrap();
        assert!(
            [
                "https://schema.org/EventScheduled",
                "https://schema.org/EventCancelled",
                "https://schema.org/EventPostponed"
            ]
            .contains(&status),
            "{status}"
        );
        assert!(
            item["eventAttendanceMode"]
                .as_str()
                .unwrap()
                .starts_with("https://schema.org/")
        );
        let locations: Vec<&Value> = match &item["location"] {
            Value::Array(list) => list.iter().collect(),
            one => vec![one],
        };
        assert!(
            !locations.is_empty(),
            "every fixture event has a location: {item}"
        );
        for loc in locations {
            match loc["@type"].as_str().unwrap() {
                "Place" => {
                    assert!(loc["name"].is_string(), "{loc}");
                    let addr = &loc["address"];
                    assert!(
                        addr.is_string() || addr["@type"] == "PostalAddress",
                        "{loc}"
                    );
                    if !loc["geo"].is_null() {
                        assert_eq!(loc["geo"]["@type"], "GeoCoordinates");
                        assert!(loc["geo"]["latitude"].is_f64());
                        assert!(loc["geo"]["longitude"].is_f64());
                    }
                }
                "VirtualLocation" => assert!(loc["url"].is_string(), "{loc}"),
                other => panic!("location type {other}"),
            }
        }
        if let Some(offers) = item["offers"].as_array() {
            for o in offers {
                assert_eq!(o["@type"], "Offer");
                assert!(o["price"].is_number(), "{o}");
                assert_eq!(o["priceCurrency"], "EUR");
                assert!(o.get("availability").is_none());
            }
        }
    }

    // Spot checks: the cancelled and postponed performances, an all-day exhibition with its
    // inclusive last day, the mixed museum night.
    let find = |name: &str| -> &Value {
        &items
            .iter()
            .find(|li| li["item"]["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["item"]
    };
    let physiker = find("Die Physiker");
    assert_eq!(physiker["eventStatus"], "https://schema.org/EventCancelled");
    assert_eq!(physiker["startDate"], "2026-12-17T19:30:00+01:00");
    assert_eq!(physiker["endDate"], "2026-12-17T21:30:00+01:00");
    assert_eq!(
        physiker["location"],
        serde_json::json!({
            "@type": "Place",
            "name": "Studiobühne",
            "address": {"@type": "PostalAddress", "streetAddress": "Theaterplatz 3",
                        "postalCode": "12345", "addressLocality": "Musterstadt", "addressCountry": "DE"},
            "geo": {"@type": "GeoCoordinates", "latitude": 51.5141, "longitude": 7.466}
        })
    );
    assert_eq!(
        find("Kabale und Liebe")["eventStatus"],
        "https://schema.org/EventPostponed"
    );
    let licht = find("Licht und Schatten – Fotografie der 1920er Jahre");
    assert_eq!(licht["startDate"], "2026-11-28");
    assert_eq!(licht["endDate"], "2027-03-07");
    assert_eq!(licht["isAccessibleForFree"], false);
    let nacht = find("Lange Museumsnacht: Schätze aus dem Depot");
    assert_eq!(
        nacht["eventAttendanceMode"],
        "https://schema.org/MixedEventAttendanceMode"
    );
    assert_eq!(nacht["location"][1]["@type"], "VirtualLocation");
    assert_eq!(
        nacht["location"][0]["address"],
        "Stadtmuseum Musterstadt, Museumsstraße 5, 12345 Musterstadt"
    );
    let nathan = find("Nathan der Weise");
    assert_eq!(nathan["organizer"]["@type"], "Organization");
    assert_eq!(nathan["organizer"]["name"], "Stadttheater Musterstadt");
    assert_eq!(nathan["inLanguage"], "de");
    assert_eq!(nathan["offers"][2]["price"], 12.5);
}

#[test]
fn output_follows_the_filter() {
    let snap = snapshot();
    let filter = Filter {
        categories: vec!["theater".into()],
        from: NaiveDate::from_ymd_opt(2026, 12, 1),
        to: NaiveDate::from_ymd_opt(2026, 12, 31),
        ..Default::default()
    };
    let doc: Value = serde_json::from_str(&output::jsonld::render(&snap, &filter)).unwrap();
    let names: Vec<&str> = doc["itemListElement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|li| li["item"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Nathan der Weise",
            "Die Physiker",
            "Die Schneekönigin – Weihnachtsmärchen nach Hans Christian Andersen"
        ]
    );
    assert_eq!(doc["numberOfItems"], 3);
    let empty = Filter {
        sources: vec!["gibt-es-nicht".into()],
        ..Default::default()
    };
    let doc: Value = serde_json::from_str(&output::jsonld::render(&snap, &empty)).unwrap();
    assert_eq!(doc["numberOfItems"], 0);
    assert_eq!(doc["itemListElement"], serde_json::json!([]));
}

/// Deterministic xorshift mutations of the fixtures (a cheap stand-in for the fuzz targets).
#[test]
fn never_panics_on_mutated_fixtures() {
    let rounds: usize = std::env::var("REGIOCAL_MUTATION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| -> usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    const TOKENS: [&[u8]; 12] = [
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b",",
        b":",
        b"null",
        b"<script type=\"application/ld+json\">",
        b"</script>",
        b"{\"@id\":\"#e\"}",
        b"\"2026-02-30T25:00\"",
    ];
    for rel in [THEATRE, MUSEUM, TICKETS] {
        let original = common::fixture(rel);
        for _ in 0..rounds {
            let mut bytes = original.clone();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len());
                match next(4) {
                    0 => bytes[at] = next(256) as u8,
                    1 => {
                        let end = (at + next(200)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    2 => {
                        let token = TOKENS[next(TOKENS.len())];
                        bytes.splice(at..at, token.iter().copied());
                    }
                    _ => {
                        let end = (at + next(300)).min(bytes.len());
                        let copy = bytes[at..end].to_vec();
                        let to = next(bytes.len());
                        bytes.splice(to..to, copy);
                    }
                }
            }
            for choice in [FormatChoice::Auto, FormatChoice::Jsonld] {
                if let Ok((_, parsed)) = format::parse(&bytes, choice, None, &ctx()) {
                    let _ = normalize::normalize(parsed.events, &Default::default());
                }
            }
        }
    }
}

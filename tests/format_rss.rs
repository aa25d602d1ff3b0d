//! RSS input: RSS 2.0 with the RSS event module (a TYPO3 news feed), xCal in RSS, RSS 1.0,
//! a CMS feed without event dates (with and without `[source.mapping]`), and hostile or
//! broken XML.

mod common;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Europe::Berlin;
use regiocal::config::{FieldMapping, FormatChoice};
use regiocal::format::{self, Format, FormatError, ParseContext, Parsed};
use regiocal::model::{Address, Event, EventTime, Geo, Organizer, Status};

const FIXTURES: [&str; 4] = [
    "rss/typo3-news-events.xml",
    "rss/xcal-in-rss.xml",
    "rss/cms-no-dates.xml",
    "rss/rss1-rdf.xml",
];

fn parse_with(rel: &str, ctx: &ParseContext) -> Parsed {
    let (format, parsed) = format::parse(&common::fixture(rel), FormatChoice::Auto, None, ctx)
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(format, Format::Rss, "{rel}");
    parsed
}

fn parse(rel: &str) -> Parsed {
    parse_with(rel, &ParseContext::new(Berlin))
}

fn parse_text(text: &str) -> Result<Parsed, FormatError> {
    let ctx = ParseContext::new(Berlin);
    format::parse(text.as_bytes(), FormatChoice::Rss, None, &ctx).map(|(_, p)| p)
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

fn utc(s: &str) -> EventTime {
    EventTime::Utc {
        utc: s.parse().unwrap(),
    }
}

fn event<'a>(p: &'a Parsed, uid: &str) -> &'a Event {
    p.events
        .iter()
        .find(|e| e.uid == uid)
        .unwrap_or_else(|| panic!("no event {uid}"))
}

fn mapping(start: &str, end: Option<&str>) -> FieldMapping {
    FieldMapping {
        start: Some(start.into()),
        end: end.map(str::to_string),
        ..FieldMapping::default()
    }
}

#[test]
fn typo3_feed_with_the_event_module() {
    let p = parse("rss/typo3-news-events.xml");
    let uids: Vec<&str> = p.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(
        uids,
        [
            "news-1842",
            "news-1850",
            "news-1851",
            "news-1855",
            "https://www.musterstadt.de/aktuelles/veranstaltungen/detail/valentinskonzert-der-musikschule",
            "news-1866",
        ]
    );

    let e = event(&p, "news-1842");
    assert_eq!(e.title, "Eröffnung des Musterstädter Weihnachtsmarkts");
    assert_eq!(e.start, local("2026-11-27 17:00"));
    assert_eq!(e.end, local("2026-11-27 21:00"));
    assert_eq!(e.location.as_deref(), Some("Marktplatz Musterstadt"));
    assert_eq!(
        e.geo,
        Some(Geo {
            lat: 51.5136,
            lon: 7.4653
        })
    );
    assert_eq!(
        e.url.as_deref(),
        Some(
            "https://www.musterstadt.de/aktuelles/veranstaltungen/detail/eroeffnung-des-musterstaedter-weihnachtsmarkts"
        )
    );
    // content:encoded (the full text) wins over the teaser; CDATA kept as raw HTML.
    let d = e.description.as_deref().unwrap();
    assert!(d.starts_with("<p>Oberbürgermeisterin Sabine Kröger"), "{d}");
    assert!(d.contains("Bis zum 23. Dezember"), "{d}");
    assert!(d.contains("Glühwein &amp; Waffeln"), "{d}");
    assert_eq!(e.categories, ["Feste & Märkte", "Innenstadt", "Markt"]);
    assert_eq!(
        e.image.as_deref(),
        Some(
            "https://www.musterstadt.de/fileadmin/_processed_/7/3/csm_weihnachtsmarkt_2025_b1d2e3f4a5.jpg"
        )
    );
    // ev:organizer wins over dc:creator (the author of the news item).
    assert_eq!(
        e.organizer.as_deref(),
        Some(&Organizer {
            name: "Stadtmarketing Musterstadt e.V.".into(),
            url: None,
            email: None
        })
    );
    assert_eq!(e.status, Status::Confirmed);
    assert_eq!(e.rrule, None);

    let e = event(&p, "news-1850");
    assert_eq!(e.title, "Lesung: „Nebel über der Ruhr“ mit Jutta Behrens");
    // No ev:enddate: same instant (RFC 5545 default).
    assert_eq!(
        (e.start, e.end),
        (local("2026-12-03 19:30"), local("2026-12-03 19:30"))
    );
    assert_eq!(
        e.geo,
        Some(Geo {
            lat: 51.5141,
            lon: 7.4662
        })
    );
    assert_eq!(
        e.organizer.as_deref(),
        Some(&Organizer {
            name: "Stadtbibliothek Musterstadt".into(),
            url: None,
            email: Some("bibliothek@musterstadt.de".into())
        })
    );
    assert_eq!(
        e.description.as_deref(),
        Some(
            "Die Krimiautorin liest aus ihrem neuen Roman. Eintritt 8 &euro;, erm&auml;&szlig;igt 5 &euro;. <a href=\"/bibliothek/\">Karten in der Stadtbibliothek</a>"
        )
    );

    let e = event(&p, "news-1851");
    assert_eq!(
        (e.start, e.end),
        (local("2026-12-12 11:00"), local("2026-12-13 18:00"))
    );
    assert_eq!(
        e.image.as_deref(),
        Some("https://www.musterstadt.de/fileadmin/user_upload/kunsthandwerk.webp")
    );
    assert_eq!(e.categories, ["Feste & Märkte", "Markt"]);
    assert_eq!(e.geo, None);

    // All-day: an end date equal to the start date is a one-day event (end exclusive).
    let e = event(&p, "news-1855");
    assert_eq!((e.start, e.end), (date("2027-01-16"), date("2027-01-17")));

    // No guid: the link is the UID. A UTC value stays an instant.
    let e = &p.events[4];
    assert_eq!(e.title, "Valentinskonzert der Musikschule");
    assert_eq!(
        (e.start, e.end),
        (utc("2027-02-14T17:00:00Z"), utc("2027-02-14T18:30:00Z"))
    );

    // After the DST change: +02:00 is Berlin's offset, so it is a Berlin wall-clock time.
    let e = event(&p, "news-1866");
    assert_eq!(
        (e.start, e.end),
        (local("2027-03-28 15:00"), local("2027-03-28 17:00"))
    );
    assert_eq!(
        e.geo,
        Some(Geo {
            lat: 51.5102,
            lon: 7.4711
        })
    );

    assert_eq!(
        p.warnings,
        [
            "item news-1860: skipped: no event date (pubDate is the publication date; set [source.mapping] start = \"<element>\" to read the date from another element)",
            "item news-1870: skipped: ev:startdate: invalid date-time \"2026-12-32T18:00:00+01:00\" (expected ISO 8601, e.g. 2026-12-05T19:00:00+01:00)",
            "item news-1871: skipped: ev:enddate is before ev:startdate",
        ]
    );
}

#[test]
fn xcal_in_rss() {
    let p = parse("rss/xcal-in-rss.xml");
    assert_eq!(p.events.len(), 5);
    let base = "https://kultur.musterstadt.de/termine/";

    let e = event(&p, &format!("{base}4711-adventskonzert"));
    assert_eq!(e.title, "Adventskonzert der Chorgemeinschaft");
    // iCalendar basic format, floating: the calendar's zone.
    assert_eq!(
        (e.start, e.end),
        (local("2026-12-05 19:00"), local("2026-12-05 21:30"))
    );
    assert_eq!(e.location.as_deref(), Some("Ev. Stadtkirche Musterstadt"));
    assert_eq!(
        e.address.as_deref(),
        Some(&Address {
            street: Some("Kirchplatz 1".into()),
            postal_code: Some("12345".into()),
            locality: Some("Musterstadt".into()),
            region: None,
            country: Some("Deutschland".into()),
        })
    );
    assert_eq!(
        e.geo,
        Some(Geo {
            lat: 51.5139,
            lon: 7.4658
        })
    );
    assert_eq!(e.categories, ["Musik"]);
    assert_eq!(
        e.organizer.as_ref().map(|o| o.name.as_str()),
        Some("Kulturbüro Musterstadt")
    );
    assert_eq!(
        e.description.as_deref(),
        Some("Werke von Bach, Rutter und Reger. Eintritt frei, Spenden erbeten.")
    );

    // Basic format in UTC.
    let e = event(&p, &format!("{base}4730-jazz-im-keller"));
    assert_eq!(
        (e.start, e.end),
        (utc("2027-01-15T19:00:00Z"), utc("2027-01-15T21:30:00Z"))
    );
    assert_eq!(e.categories, ["Musik", "Jazz"]);
    // Escaped HTML is decoded once (the HTML itself is cleaned later).
    assert_eq!(
        e.description.as_deref(),
        Some("<p>Das Trio Nordlicht spielt Eigenkompositionen.</p>")
    );

    // Basic dates: all-day, end exclusive.
    let e = event(&p, &format!("{base}4735-silvesterlauf"));
    assert_eq!((e.start, e.end), (date("2026-12-31"), date("2027-01-01")));

    // No <title>: xCal:summary; ISO extended with a tzid attribute.
    let e = event(&p, &format!("{base}4740-theater-der-besuch-der-alten-dame"));
    assert_eq!(e.title, "Theater: Der Besuch der alten Dame");
    assert_eq!(
        (e.start, e.end),
        (local("2027-02-20 19:30"), local("2027-02-20 22:00"))
    );

    let e = event(&p, &format!("{base}4752-fuehrung-industriekultur"));
    assert_eq!(e.status, Status::Cancelled);
    assert_eq!(
        (e.start, e.end),
        (local("2027-03-07 11:00"), local("2027-03-07 12:30"))
    );

    assert_eq!(
        p.warnings,
        [format!(
            "item {base}4760-fruehjahrsputz: skipped: xCal:dtstart: invalid date-time \"2027-02-30T10:00:00\" (expected ISO 8601, e.g. 2026-12-05T19:00:00+01:00)"
        )]
    );
}

#[test]
fn rss1_rdf_feed() {
    let p = parse("rss/rss1-rdf.xml");
    assert_eq!(p.events.len(), 3);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);

    let e = &p.events[0];
    assert_eq!(e.uid, "https://vhs-musterstadt.de/kurse/kurs/261-0104");
    assert_eq!(
        e.title,
        "Vortrag: Wie funktioniert die Energiewende vor Ort?"
    );
    // dc:date is the publication date, not the event date.
    assert_eq!(
        (e.start, e.end),
        (local("2026-12-08 19:00"), local("2026-12-08 20:30"))
    );
    assert_eq!(
        e.location.as_deref(),
        Some("VHS-Zentrum, Raum 104, Schulstraße 7")
    );
    assert_eq!(e.categories, ["Umwelt", "Vortrag"]);
    assert_eq!(
        e.geo,
        Some(Geo {
            lat: 51.5129,
            lon: 7.4631
        })
    );
    assert_eq!(
        e.organizer.as_ref().map(|o| o.name.as_str()),
        Some("Volkshochschule Musterstadt")
    );

    let e = &p.events[1];
    assert_eq!(e.uid, "https://vhs-musterstadt.de/kurse/kurs/271-0211");
    assert_eq!(
        e.description.as_deref(),
        Some(
            "<p>Rundgang mit dem Stadtarchivar Dr. Olaf Brinkmann.</p><p>Festes Schuhwerk empfohlen.</p>"
        )
    );
    assert_eq!(
        (e.start, e.end),
        (local("2027-04-17 10:00"), local("2027-04-17 13:00"))
    );
    assert_eq!(e.categories, ["Geschichte", "Exkursion"]);

    // Date end after the start date: exclusive, as regiocal's own outputs write it.
    let e = &p.events[2];
    assert_eq!((e.start, e.end), (date("2027-06-12"), date("2027-06-14")));
    assert_eq!(
        e.organizer.as_ref().map(|o| o.name.as_str()),
        Some("DRK Ortsverein Musterstadt")
    );
}

#[test]
fn cms_feed_without_event_dates_is_skipped_with_a_hint() {
    let p = parse("rss/cms-no-dates.xml");
    assert!(p.events.is_empty());
    assert_eq!(p.warnings.len(), 3);
    for (w, id) in p.warnings.iter().zip(["2291", "2284", "2210"]) {
        assert_eq!(
            w,
            &format!(
                "item https://heimatverein-musterstadt.de/?p={id}: skipped: no event date (pubDate is the publication date; set [source.mapping] start = \"<element>\" to read the date from another element)"
            )
        );
    }
}

#[test]
fn mapping_reads_dates_from_a_named_element() {
    // dc:date as written in the document: only the item that has one.
    let m = mapping("dc:date", None);
    let ctx = ParseContext {
        mapping: Some(&m),
        ..ParseContext::new(Berlin)
    };
    let p = parse_with("rss/cms-no-dates.xml", &ctx);
    assert_eq!(p.events.len(), 1);
    let e = &p.events[0];
    assert_eq!(e.uid, "https://heimatverein-musterstadt.de/?p=2284");
    assert_eq!(e.title, "Winterwanderung zur Wassermühle");
    assert_eq!(
        (e.start, e.end),
        (local("2027-01-09 10:00"), local("2027-01-09 10:00"))
    );
    assert_eq!(e.categories, ["Wanderungen"]);
    assert_eq!(
        e.organizer.as_ref().map(|o| o.name.as_str()),
        Some("Heinz Wollenweber")
    );
    assert_eq!(p.warnings.len(), 2);
    assert!(
        p.warnings[0].starts_with(
            "item https://heimatverein-musterstadt.de/?p=2291: skipped: no event date (no <dc:date> element"
        ),
        "{}",
        p.warnings[0]
    );

    // pubDate (RFC 2822) when a source really means it; a plain local name also matches.
    let m = mapping("pubDate", None);
    let ctx = ParseContext {
        mapping: Some(&m),
        ..ParseContext::new(Berlin)
    };
    let p = parse_with("rss/cms-no-dates.xml", &ctx);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let starts: Vec<EventTime> = p.events.iter().map(|e| e.start).collect();
    // +0000 is not Berlin's offset: the values stay instants.
    assert_eq!(
        starts,
        [
            utc("2026-11-21T17:03:12Z"),
            utc("2026-11-18T08:30:00Z"),
            utc("2026-09-14T19:45:00Z"),
        ]
    );

    // A custom date format for a German CMS field.
    let doc = r#"<rss version="2.0"><channel><title>x</title><item><guid>a1</guid><title>Flohmarkt</title><termin>05.12.2026 09:00</termin><termin_ende>05.12.2026 14:00</termin_ende></item></channel></rss>"#;
    let m = FieldMapping {
        date_format: Some("%d.%m.%Y %H:%M".into()),
        ..mapping("termin", Some("termin_ende"))
    };
    let ctx = ParseContext {
        mapping: Some(&m),
        ..ParseContext::new(Berlin)
    };
    let (_, p) = format::parse(doc.as_bytes(), FormatChoice::Auto, None, &ctx).unwrap();
    assert_eq!(
        (p.events[0].start, p.events[0].end),
        (local("2026-12-05 09:00"), local("2026-12-05 14:00"))
    );
}

#[test]
fn namespaces_are_matched_by_uri_not_prefix() {
    // Unusual prefixes, the event module as the default namespace of an element, and an
    // `ev:` prefix bound to something else.
    let doc = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:veranstaltung="http://purl.org/rss/1.0/modules/event/" xmlns:ev="urn:example:not-the-event-module">
  <channel><title>Termine</title>
    <item><guid>a</guid><title>A</title>
      <veranstaltung:startdate>2026-12-05T19:00:00+01:00</veranstaltung:startdate>
      <ev:startdate>2027-01-01T00:00:00+01:00</ev:startdate>
    </item>
    <item><guid>b</guid><title>B</title>
      <startdate xmlns="http://purl.org/rss/1.0/modules/event/">2026-12-06T10:00:00+01:00</startdate>
    </item>
    <item><guid>c</guid><title>C</title><ev:startdate>2026-12-07T10:00:00+01:00</ev:startdate></item>
  </channel>
</rss>"#;
    let p = parse_text(doc).unwrap();
    assert_eq!(p.events.len(), 2);
    assert_eq!(p.events[0].start, local("2026-12-05 19:00"));
    assert_eq!(p.events[1].start, local("2026-12-06 10:00"));
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].starts_with("item c: skipped: no event date"));
}

#[test]
fn item_without_any_id_gets_a_fallback_uid() {
    let doc = r#"<rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel><title>x</title>
<item><title>Laternenumzug</title><ev:startdate>2026-11-28T17:00:00+01:00</ev:startdate></item>
<item><title>Ohne Datum</title></item></channel></rss>"#;
    let p = parse_text(doc).unwrap();
    let e = &p.events[0];
    assert_eq!(
        e.uid,
        regiocal::format::ics::fallback_uid(&local("2026-11-28 17:00"), "Laternenumzug")
    );
    assert!(
        p.warnings[0].starts_with("item #2: skipped: no event date"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn truncated_and_invalid_xml_are_errors_with_a_position() {
    let full = String::from_utf8(common::fixture("rss/typo3-news-events.xml")).unwrap();
    let cut = &full[..full.find("<ev:location>Alter Schlachthof").unwrap()];
    let e = parse_text(cut).unwrap_err().to_string();
    assert!(e.starts_with("rss: invalid XML at byte "), "{e}");
    assert!(e.contains("truncated (<item> is not closed)"), "{e}");

    let e =
        parse_text("<rss version=\"2.0\"><channel><item><title>A</titel></item></channel></rss>")
            .unwrap_err();
    match e {
        FormatError::Xml {
            format, position, ..
        } => assert_eq!((format, position), ("rss", 42)),
        other => panic!("{other}"),
    }
    let e = parse_text("<rss version=\"2.0\"><channel><item a=1></item></channel></rss>")
        .unwrap_err()
        .to_string();
    assert!(e.contains("invalid XML at byte"), "{e}");

    // Well-formed but not RSS.
    let e = parse_text("<rss version=\"2.0\"><titel/></rss>")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "rss: no <channel> element in <rss>");
    let e = parse_text("<opml version=\"2.0\"/>")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "rss: root element is <opml>, expected <rss> or <rdf:RDF>"
    );
}

#[test]
fn row1_xml_entity_and_dtd_tricks_are_refused_in_rss() {
    let cases = [
        (
            "rss/billion-laughs.xml",
            "DTD entity declarations are not allowed",
        ),
        ("rss/xxe.xml", "DTD entity declarations are not allowed"),
    ];
    for (rel, want) in cases {
        let ctx = ParseContext::new(Berlin);
        // Auto-detection does not look into an internal DTD subset: also an error.
        assert!(format::parse(&common::fixture(rel), FormatChoice::Auto, None, &ctx).is_err());
        let e = format::parse(&common::fixture(rel), FormatChoice::Rss, None, &ctx)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("rss: invalid XML at byte 39:"), "{rel}: {e}");
        assert!(e.contains(want), "{rel}: {e}");
    }
    // An undeclared entity (HTML's &nbsp; in an RSS 0.91-style feed) is not text.
    let doc = "<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" \"http://my.netscape.com/publish/formats/rss-0.91.dtd\">\n<rss version=\"0.91\"><channel><title>A&nbsp;B</title></channel></rss>";
    let e = parse_text(doc).unwrap_err().to_string();
    assert!(e.contains("unknown entity &nbsp;"), "{e}");
    assert!(e.contains("at byte 160:"), "{e}");
    // ... while the DOCTYPE itself is accepted (and never fetched).
    let ok = doc.replace("&nbsp;", " ");
    assert!(parse_text(&ok).unwrap().events.is_empty());
}

#[test]
fn row1_external_entities_are_never_read_in_rss() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("geheim.txt");
    std::fs::write(&secret, "GEHEIMNIS-4711").unwrap();
    let url = format!("file://{}", secret.display());
    let docs = [
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY x SYSTEM \"{url}\">]><rss version=\"2.0\"><channel><item><title>&x;</title></item></channel></rss>"
        ),
        // External DTD subset: not fetched, so &x; is unknown.
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE rss SYSTEM \"{url}\"><rss version=\"2.0\"><channel><item><title>&x;</title></item></channel></rss>"
        ),
    ];
    for doc in docs {
        let e = parse_text(&doc).unwrap_err().to_string();
        assert!(!e.contains("GEHEIMNIS"), "{e}");
        assert!(
            e.contains("not allowed") || e.contains("unknown entity &x;"),
            "{e}"
        );
    }
    let e = parse_text(&String::from_utf8(common::fixture("rss/xxe.xml")).unwrap())
        .unwrap_err()
        .to_string();
    assert!(!e.contains("root:"), "{e}");
}

#[test]
fn row2_deep_xml_nesting_is_refused_in_rss() {
    let doc = format!(
        "<rss version=\"2.0\"><channel><item>{}</item></channel></rss>",
        "<x>".repeat(200)
    );
    let e = parse_text(&doc).unwrap_err().to_string();
    assert!(e.contains("nested deeper than 128 levels"), "{e}");
    assert!(e.starts_with("rss: invalid XML at byte "), "{e}");
}

#[test]
fn never_panics_on_any_prefix() {
    let ctx = ParseContext::new(Berlin);
    let mut all = FIXTURES.to_vec();
    all.extend(["rss/billion-laughs.xml", "rss/xxe.xml"]);
    for rel in all {
        let bytes = common::fixture(rel);
        for cut in (0..bytes.len()).step_by(97) {
            let _ = format::parse(&bytes[..cut], FormatChoice::Rss, None, &ctx);
            let _ = format::parse(&bytes[..cut], FormatChoice::Auto, None, &ctx);
        }
    }
}

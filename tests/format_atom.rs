//! Atom input (GData calendar feeds with `gd:when`, CMS feeds with the RSS event module or
//! xCal elements, hostile or broken XML) and the Atom output (structure, escaping, the
//! upcoming-only window and its cap, and the round trip through regiocal's own Atom input).

mod common;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Europe::Berlin;
use quick_xml::events::Event as XmlEvent;
use regiocal::config::{Config, FieldMapping, FormatChoice};
use regiocal::format::{self, Format, FormatError, ParseContext, Parsed};
use regiocal::model::{Event, EventTime, Geo, Organizer, Status, StoredEvent};
use regiocal::normalize::{self, NormalizeOptions};
use regiocal::output::{Filter, Snapshot, atom};
use std::path::Path;

const FIXTURES: [&str; 2] = ["atom/gdata-events.xml", "atom/ev-module.xml"];

fn parse_with(rel: &str, ctx: &ParseContext) -> Parsed {
    let (format, parsed) = format::parse(&common::fixture(rel), FormatChoice::Auto, None, ctx)
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(format, Format::Atom, "{rel}");
    parsed
}

fn parse(rel: &str) -> Parsed {
    parse_with(rel, &ParseContext::new(Berlin))
}

fn parse_text(text: &str) -> Result<Parsed, FormatError> {
    let ctx = ParseContext::new(Berlin);
    format::parse(text.as_bytes(), FormatChoice::Atom, None, &ctx).map(|(_, p)| p)
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

fn instant(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

// ---- input ------------------------------------------------------------------------------------

#[test]
fn gdata_calendar_feed() {
    let p = parse("atom/gdata-events.xml");
    let base =
        "http://www.google.com/calendar/feeds/jugendzentrum.musterstadt%40gmail.com/public/full/";
    assert_eq!(p.events.len(), 4);

    let e = &p.events[0];
    assert_eq!(e.uid, format!("{base}5q8n3c2v1m0k9j8h7g6f5d4s3a"));
    assert_eq!(e.title, "Offene Bühne: Poetry & Songwriting");
    assert_eq!(
        (e.start, e.end),
        (local("2026-12-04 19:00"), local("2026-12-04 22:00"))
    );
    assert_eq!(
        e.location.as_deref(),
        Some("Jugendzentrum Alte Post, Poststraße 4, 12345 Musterstadt")
    );
    assert_eq!(
        e.description.as_deref(),
        Some("Fünf Minuten Bühne für alle. Anmeldung ab 18:30 Uhr am Tresen.")
    );
    assert_eq!(
        e.url.as_deref(),
        Some(
            "https://www.google.com/calendar/event?eid=NXE4bjNjMnYxbTBrOWo4aDdnNmY1ZDRzM2EganVnZW5kemVudHJ1bQ"
        )
    );
    // The GData "kind" category is not a topic.
    assert!(e.categories.is_empty());
    assert_eq!(e.status, Status::Confirmed);
    assert_eq!(
        e.organizer.as_deref(),
        Some(&Organizer {
            name: "Jugendzentrum Alte Post".into(),
            url: None,
            email: Some("jugendzentrum.musterstadt@gmail.com".into()),
        })
    );
    // published/updated are bookkeeping, not the event date.
    assert_eq!(e.created, Some(instant("2026-10-30T15:22:08Z")));
    assert_eq!(e.last_modified, Some(instant("2026-11-18T10:05:31Z")));

    // All-day: GData end dates are exclusive; an empty content and where are no values.
    let e = &p.events[1];
    assert_eq!(e.title, "Heiligabend: Jugendzentrum geschlossen");
    assert_eq!((e.start, e.end), (date("2026-12-24"), date("2026-12-25")));
    assert_eq!(
        (e.description.as_deref(), e.location.as_deref()),
        (None, None)
    );

    let e = &p.events[2];
    assert_eq!(e.title, "Kickerturnier");
    assert_eq!(e.status, Status::Cancelled);
    assert_eq!(
        e.description.as_deref(),
        Some("<b>Fällt aus</b> – neuer Termin folgt.")
    );

    let e = &p.events[3];
    assert_eq!(e.status, Status::Tentative);
    assert_eq!((e.start, e.end), (date("2027-03-29"), date("2027-04-01")));

    // A recurrence master (gd:recurrence, no gd:when) has no event date of its own.
    assert_eq!(
        p.warnings,
        [format!(
            "item {}…: skipped: no event date (published and updated are publication dates; set [source.mapping] start = \"<element>\" to read the date from another element)",
            &format!("{base}7u6i5o4p3l2k1j0h9g8f7d6s5a")[..80]
        )]
    );
}

#[test]
fn cms_feed_with_event_module_and_xcal() {
    let p = parse("atom/ev-module.xml");
    assert_eq!(p.events.len(), 4);

    let e = &p.events[0];
    assert_eq!(e.uid, "tag:stadtmuseum.musterstadt.de,2026:node/1287");
    assert_eq!(
        e.title,
        "Familienführung: Wie lebten Kinder vor 100 Jahren?"
    );
    assert_eq!(
        (e.start, e.end),
        (local("2026-11-29 11:00"), local("2026-11-29 12:00"))
    );
    assert_eq!(
        e.location.as_deref(),
        Some("Stadtmuseum Musterstadt, Foyer")
    );
    assert_eq!(
        e.geo,
        Some(Geo {
            lat: 51.5147,
            lon: 7.4689
        })
    );
    assert_eq!(e.categories, ["Führung", "Familie"]);
    assert_eq!(
        e.image.as_deref(),
        Some(
            "https://stadtmuseum.musterstadt.de/sites/default/files/styles/teaser/public/2026-11/schulklasse-1926.jpg"
        )
    );
    // xhtml content (preferred over the summary) keeps its markup for the HTML cleanup.
    assert_eq!(
        e.description.as_deref(),
        Some(
            "<p>Mitmachführung für Kinder ab 6 Jahren mit Begleitung.</p>\n        <p>Treffpunkt: Foyer. Eintritt frei, <em>Anmeldung erbeten</em>.</p>"
        )
    );
    // ev:organizer wins over the entry's author.
    assert_eq!(
        e.organizer.as_ref().map(|o| o.name.as_str()),
        Some("Stadtmuseum Musterstadt")
    );

    // type="html" title decoded to text; a link without rel is the alternate link.
    let e = &p.events[1];
    assert_eq!(e.title, "Vortrag: Bergbau & Stadtentwicklung");
    assert_eq!(
        e.url.as_deref(),
        Some("https://stadtmuseum.musterstadt.de/programm/vortrag-bergbau-stadtentwicklung")
    );
    assert_eq!(
        e.description.as_deref(),
        Some("<p>Prof. Dr. Karin Ostermann über 150 Jahre Zechen in Musterstadt.</p>")
    );

    // xCal elements in an Atom entry.
    let e = &p.events[2];
    assert_eq!(e.title, "Workshop Linoldruck");
    assert_eq!(
        (e.start, e.end),
        (local("2027-03-06 14:00"), local("2027-03-06 17:00"))
    );
    assert_eq!(
        e.location.as_deref(),
        Some("Stadtmuseum Musterstadt, Werkstatt")
    );

    // Past midnight.
    let e = &p.events[3];
    assert_eq!(
        (e.start, e.end),
        (local("2027-05-15 18:00"), local("2027-05-16 01:00"))
    );

    assert_eq!(
        p.warnings,
        [
            "item tag:stadtmuseum.musterstadt.de,2026:node/1275: skipped: no event date (published and updated are publication dates; set [source.mapping] start = \"<element>\" to read the date from another element)"
        ]
    );
}

#[test]
fn mapping_names_an_atom_element() {
    let m = FieldMapping {
        start: Some("published".into()),
        ..FieldMapping::default()
    };
    let ctx = ParseContext {
        mapping: Some(&m),
        ..ParseContext::new(Berlin)
    };
    let p = parse_with("atom/ev-module.xml", &ctx);
    // The mapping wins where the element exists; the others keep their event dates.
    let starts: Vec<(&str, EventTime)> = p
        .events
        .iter()
        .map(|e| (e.title.as_str(), e.start))
        .collect();
    assert_eq!(
        starts,
        [
            (
                "Familienführung: Wie lebten Kinder vor 100 Jahren?",
                local("2026-11-02 12:00")
            ),
            (
                "Vortrag: Bergbau & Stadtentwicklung",
                local("2027-01-21 19:00")
            ),
            ("Workshop Linoldruck", local("2027-03-06 14:00")),
            ("Museumsnacht", local("2027-05-15 18:00")),
            ("Neue Dauerausstellung eröffnet", local("2026-10-15 09:00")),
        ]
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn malformed_documents_are_errors_with_a_position() {
    let full = String::from_utf8(common::fixture("atom/ev-module.xml")).unwrap();
    let cut = &full[..full.find("<title>Museumsnacht").unwrap()];
    let e = parse_text(cut).unwrap_err().to_string();
    assert!(e.starts_with("atom: invalid XML at byte "), "{e}");
    assert!(
        e.ends_with("document is truncated (<entry> is not closed)"),
        "{e}"
    );

    let e = parse_text("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</entry></feed>")
        .unwrap_err();
    match e {
        FormatError::Xml {
            format, position, ..
        } => assert_eq!((format, position), ("atom", 54)),
        other => panic!("{other}"),
    }

    for rel in ["atom/billion-laughs.xml", "atom/xxe-parameter-entity.xml"] {
        let ctx = ParseContext::new(Berlin);
        let e = format::parse(&common::fixture(rel), FormatChoice::Atom, None, &ctx)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("atom: invalid XML at byte ")
                && e.ends_with("DTD entity declarations are not allowed"),
            "{rel}: {e}"
        );
        assert!(format::parse(&common::fixture(rel), FormatChoice::Auto, None, &ctx).is_err());
    }

    let e = parse_text("<feed><entry/></feed>").unwrap_err().to_string();
    assert_eq!(
        e,
        "atom: root element is <feed> in namespace \"\", expected <feed> in \"http://www.w3.org/2005/Atom\""
    );
    let e = parse_text("<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>&copy;</title></feed>")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown entity &copy;"), "{e}");
}

#[test]
fn never_panics_on_any_prefix() {
    let ctx = ParseContext::new(Berlin);
    let mut all = FIXTURES.to_vec();
    all.extend(["atom/billion-laughs.xml", "atom/xxe-parameter-entity.xml"]);
    for rel in all {
        let bytes = common::fixture(rel);
        for cut in (0..bytes.len()).step_by(97) {
            let _ = format::parse(&bytes[..cut], FormatChoice::Atom, None, &ctx);
            let _ = format::parse(&bytes[..cut], FormatChoice::Auto, None, &ctx);
        }
    }
}

// ---- output -----------------------------------------------------------------------------------

fn config(ids: &[&str]) -> Config {
    let sources: String = ids
        .iter()
        .map(|id| common::source_block(id, &format!("{id}.xml")))
        .collect();
    Config::parse(
        &common::config_text(Path::new("/tmp"), &sources),
        Path::new("/tmp/regiocal.toml"),
    )
    .unwrap()
}

fn stamp() -> DateTime<Utc> {
    instant("2026-11-20T08:00:00Z")
}

fn now() -> DateTime<Utc> {
    instant(common::NOW)
}

fn snapshot(events: Vec<(&str, Event)>) -> Snapshot {
    let mut ids: Vec<&str> = events.iter().map(|(s, _)| *s).collect();
    ids.sort();
    ids.dedup();
    let stored = events
        .into_iter()
        .map(|(source, event)| StoredEvent {
            source: source.to_string(),
            event,
            first_seen: stamp(),
            updated_at: stamp(),
            revision: 0,
        })
        .collect();
    Snapshot::build(&config(&ids), stored, vec![], Some(stamp()), now())
}

fn fixture_events(rel: &str) -> Vec<Event> {
    common::parse_fixture(rel).0
}

fn read_back(text: &str) -> Parsed {
    let ctx = ParseContext::new(Berlin);
    let (format, parsed) = format::parse(
        text.as_bytes(),
        FormatChoice::Auto,
        Some("application/atom+xml"),
        &ctx,
    )
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(format, Format::Atom);
    parsed
}

/// Reads the whole document with quick-xml (an independent well-formedness check).
fn assert_well_formed(text: &str) {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0i32;
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Start(_)) => depth += 1,
            Ok(XmlEvent::End(_)) => depth -= 1,
            Ok(XmlEvent::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}", reader.error_position()),
        }
    }
    assert_eq!(depth, 0, "unbalanced elements");
}

#[test]
fn round_trip_through_the_atom_input() {
    let mut events: Vec<(&str, Event)> = Vec::new();
    for (id, rel) in [
        ("google", "ics/google.ics"),
        ("outlook", "ics/outlook.ics"),
        ("apple", "ics/apple.ics"),
        ("nextcloud", "ics/nextcloud.ics"),
        ("cms", "ics/cms-plugin.ics"),
        ("typo3", "rss/typo3-news-events.xml"),
        ("museum", "atom/ev-module.xml"),
    ] {
        events.extend(fixture_events(rel).into_iter().map(|e| (id, e)));
    }
    let snap = snapshot(events);
    let filter = Filter::default();
    let text = atom::render_at(&snap, &filter, now());
    assert_well_formed(&text);

    let rows: Vec<_> = snap
        .select(&filter)
        .filter(|r| r.occurrence.end_utc > now())
        .take(atom::MAX_ENTRIES)
        .collect();
    assert!(rows.len() > 50, "only {} rows", rows.len());
    let parsed = read_back(&text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.events.len(), rows.len());
    let tz = snap.calendar.timezone;
    for (row, ev) in rows.iter().zip(&parsed.events) {
        let stored = &snap.events[row.event].event;
        assert_eq!(ev.uid, format!("tag:regiocal,2026:event:{}", row.id));
        assert_eq!(ev.title, stored.title, "{}", row.id);
        assert_eq!(
            ev.start.to_utc(tz),
            row.occurrence.start_utc,
            "{}",
            stored.title
        );
        assert_eq!(
            ev.end.to_utc(tz),
            row.occurrence.end_utc,
            "{}",
            stored.title
        );
        assert_eq!(ev.start.is_date(), row.occurrence.start.is_date());
        assert_eq!(ev.location, stored.location, "{}", stored.title);
        assert_eq!(ev.categories, stored.categories, "{}", stored.title);
        assert_eq!(ev.url, stored.url, "{}", stored.title);
        if let (Some(a), Some(b)) = (ev.geo, stored.geo) {
            assert!((a.lat - b.lat).abs() < 1e-6 && (a.lon - b.lon).abs() < 1e-6);
        } else {
            assert_eq!(ev.geo, stored.geo);
        }
        assert_eq!(ev.last_modified, Some(stamp()));
    }

    // Recurring series become one entry per occurrence; all-day and timed both survive.
    assert!(parsed.events.iter().any(|e| e.start.is_date()));
    assert!(parsed.events.iter().any(|e| !e.start.is_date()));
    let ids: std::collections::HashSet<&str> =
        parsed.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(ids.len(), parsed.events.len(), "entry ids are unique");
}

#[test]
fn feed_snapshot_for_one_event() {
    let mut ev = Event::new(
        "x-1",
        "Adventskonzert der Chorgemeinschaft",
        local("2026-12-05 19:00"),
        local("2026-12-05 21:30"),
    );
    ev.location = Some("Ev. Stadtkirche Musterstadt".into());
    ev.description = Some("Werke von Bach und Rutter.\nEintritt frei.".into());
    ev.categories = vec!["Musik".into(), "Kirche".into()];
    ev.url = Some("https://kultur.musterstadt.de/termine/4711?a=1&b=2".into());
    ev.geo = Some(Geo {
        lat: 51.5139,
        lon: 7.4658,
    });
    let mut allday = Event::new(
        "x-2",
        "Weihnachtsbaumverkauf",
        date("2026-12-12"),
        date("2026-12-14"),
    );
    allday.status = Status::Cancelled;
    allday.url = Some("javascript:alert(1)".into());
    let snap = snapshot(vec![("kultur", ev), ("kultur", allday)]);
    let text = atom::render_at(&snap, &Filter::default(), now());
    let id = |title: &str| {
        snap.rows
            .iter()
            .find(|r| snap.events[r.event].event.title == title)
            .map(|r| r.id.clone())
            .unwrap()
    };
    let expected = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:ev="http://purl.org/rss/1.0/modules/event/" xmlns:georss="http://www.georss.org/georss" xml:lang="de">
  <id>tag:regiocal,2026:feed</id>
  <title>Test, Stadt</title>
  <updated>2026-11-20T08:00:00Z</updated>
  <author>
    <name>Test, Stadt</name>
  </author>
  <generator>regiocal</generator>
  <entry>
    <id>tag:regiocal,2026:event:{a}</id>
    <title>Adventskonzert der Chorgemeinschaft</title>
    <published>2026-11-20T08:00:00Z</published>
    <updated>2026-11-20T08:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://kultur.musterstadt.de/termine/4711?a=1&amp;b=2"/>
    <category term="Musik"/>
    <category term="Kirche"/>
    <summary>Sa., 5. Dezember 2026, 19:00–21:30 Uhr · Ev. Stadtkirche Musterstadt

Werke von Bach und Rutter.
Eintritt frei.</summary>
    <ev:startdate>2026-12-05T19:00:00+01:00</ev:startdate>
    <ev:enddate>2026-12-05T21:30:00+01:00</ev:enddate>
    <ev:location>Ev. Stadtkirche Musterstadt</ev:location>
    <georss:point>51.513900 7.465800</georss:point>
  </entry>
  <entry>
    <id>tag:regiocal,2026:event:{b}</id>
    <title>Weihnachtsbaumverkauf</title>
    <published>2026-11-20T08:00:00Z</published>
    <updated>2026-11-20T08:00:00Z</updated>
    <summary>Abgesagt: Sa., 12. Dezember 2026 – So., 13. Dezember 2026</summary>
    <ev:startdate>2026-12-12</ev:startdate>
    <ev:enddate>2026-12-14</ev:enddate>
  </entry>
</feed>"#,
        a = id("Adventskonzert der Chorgemeinschaft"),
        b = id("Weihnachtsbaumverkauf"),
    );
    assert_eq!(text, expected);
}

#[test]
fn row7_markup_in_fields_is_escaped_and_the_atom_feed_stays_well_formed() {
    let mut ev = Event::new(
        "evil",
        "<script>alert(\"x\")</script> & \"Co\" ]]>",
        local("2026-12-05 19:00"),
        local("2026-12-05 20:00"),
    );
    ev.description = Some("<b>fett</b> & mehr\u{1b}[31m ]]> <!-- -->".into());
    ev.location = Some("Saal <1> & 2".into());
    ev.categories = vec!["\"><script>".into()];
    ev.url = Some("https://example.org/?q=\"><script>".into());
    let snap = snapshot(vec![("kultur", ev)]);
    let text = atom::render_at(&snap, &Filter::default(), now());
    assert_well_formed(&text);
    assert!(!text.contains("<script>"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(
        text.contains(
            "<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Co&quot; ]]&gt;</title>"
        ),
        "{text}"
    );
    let back = read_back(&text);
    let e = &back.events[0];
    assert_eq!(e.title, "<script>alert(\"x\")</script> & \"Co\" ]]>");
    assert_eq!(e.location.as_deref(), Some("Saal <1> & 2"));
    assert_eq!(e.categories, ["\"><script>"]);
    assert_eq!(e.url.as_deref(), Some("https://example.org/?q=\"><script>"));
}

#[test]
fn only_upcoming_matching_occurrences_at_most_500() {
    // Two sources with 600 daily events each from 2026-11-20 (the window ends 400 days after
    // "now"): the first ones are over at "now", and more than 500 are left.
    let first = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let ctx = ParseContext::new(Berlin);
    let mut all = Vec::new();
    for source in ["gen", "gen2"] {
        let body = common::generated_feed(source, 600, first);
        let (_, parsed) = format::parse(&body, FormatChoice::Ics, None, &ctx).unwrap();
        let (events, _) = normalize::normalize(parsed.events, &NormalizeOptions::default());
        // Two venues, so the same titles at the same times are different events.
        all.extend(events.into_iter().map(|mut e| {
            e.location = Some(format!("Saal {source}"));
            (source, e)
        }));
    }
    let snap = snapshot(all);

    let text = atom::render_at(&snap, &Filter::default(), now());
    let back = read_back(&text);
    assert_eq!(back.events.len(), atom::MAX_ENTRIES);
    let starts: Vec<DateTime<Utc>> = back.events.iter().map(|e| e.start.to_utc(Berlin)).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "in start order");
    // 2026-11-24 00:00Z is before the 19:00 events of that day: they are the first entry.
    assert_eq!(back.events[0].start, local("2026-11-24 19:00"));

    // Later: everything that ended is gone; what is running (19:00-21:00 Berlin) stays.
    let later = instant("2027-01-10T19:30:00Z");
    let back = read_back(&atom::render_at(&snap, &Filter::default(), later));
    assert!(back.events.iter().all(|e| e.end.to_utc(Berlin) > later));
    assert_eq!(back.events[0].start, local("2027-01-10 19:00"));
    let ended = instant("2027-01-10T20:00:00Z");
    let back = read_back(&atom::render_at(&snap, &Filter::default(), ended));
    assert_eq!(back.events[0].start, local("2027-01-11 19:00"));

    // Filters apply.
    let filter = Filter {
        from: NaiveDate::from_ymd_opt(2026, 12, 1),
        to: NaiveDate::from_ymd_opt(2026, 12, 3),
        ..Filter::default()
    };
    let back = read_back(&atom::render_at(&snap, &filter, now()));
    let starts: Vec<EventTime> = back.events.iter().map(|e| e.start).collect();
    assert_eq!(
        starts,
        [
            local("2026-12-01 19:00"),
            local("2026-12-01 19:00"),
            local("2026-12-02 19:00"),
            local("2026-12-02 19:00"),
            local("2026-12-03 19:00"),
            local("2026-12-03 19:00"),
        ]
    );
    let filter = Filter {
        sources: vec!["gen2".into()],
        ..Filter::default()
    };
    let back = read_back(&atom::render_at(&snap, &filter, now()));
    let expected: Vec<String> = snap
        .select(&filter)
        .filter(|r| r.occurrence.end_utc > now())
        .map(|r| format!("tag:regiocal,2026:event:{}", r.id))
        .collect();
    let got: Vec<&str> = back.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 401, "gen2 only: one a day for the 401 days left");
    let filter = Filter {
        categories: vec!["gibt es nicht".into()],
        ..Filter::default()
    };
    assert!(
        read_back(&atom::render_at(&snap, &filter, now()))
            .events
            .is_empty()
    );
}

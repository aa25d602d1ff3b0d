//! xCal (RFC 6321) input: the Musterstadt fixture field by field, several calendars, foreign
//! namespaces, malformed XML (errors with the byte position), DTD and entity tricks, bad values
//! (the event is skipped with a warning naming the byte position), and no panic on any
//! truncation.

mod common;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Europe::Berlin;
use regiocal::config::FormatChoice;
use regiocal::format::{self, Format, FormatError, ParseContext, Parsed};
use regiocal::model::{EventTime, Geo, Status};

fn xcal(text: &str) -> Result<Parsed, FormatError> {
    let ctx = ParseContext::new(Berlin);
    format::parse(text.as_bytes(), FormatChoice::Xcal, None, &ctx).map(|(_, p)| p)
}

/// The position and message of an XML error.
fn xml_error(text: &str) -> (u64, String) {
    match xcal(text) {
        Err(FormatError::Xml {
            format,
            position,
            message,
        }) => {
            assert_eq!(format, "xcal");
            (position, message)
        }
        other => panic!("expected an XML error, got {other:?}"),
    }
}

fn local(s: &str) -> EventTime {
    EventTime::Local {
        local: NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
        tz: Berlin,
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<icalendar xmlns="urn:ietf:params:xml:ns:icalendar-2.0">"#;

/// An xCal document with one VEVENT made of the given property elements.
fn one_event(props: &str) -> String {
    format!(
        r#"{HEAD}<vcalendar><components><vevent><properties>
  <uid><text>e1@musterstadt.de</text></uid>
  <dtstart><parameters><tzid><text>Europe/Berlin</text></tzid></parameters><date-time>2026-12-05T19:00:00</date-time></dtstart>
  <summary><text>Adventskonzert</text></summary>{props}
</properties></vevent></components></vcalendar></icalendar>"#
    )
}

#[test]
fn musterstadt_fixture_field_by_field() {
    let ctx = ParseContext::new(Berlin);
    let (format, parsed) = format::parse(
        &common::fixture("xcal/musterstadt.xml"),
        FormatChoice::Auto,
        None,
        &ctx,
    )
    .unwrap();
    assert_eq!(format, Format::Xcal);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let ev = &parsed.events;
    assert_eq!(ev.len(), 7);

    let markt = &ev[0];
    assert_eq!(markt.uid, "weihnachtsmarkt-2026@kulturamt.musterstadt.de");
    let date = |s: &str| EventTime::Date {
        date: NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap(),
    };
    assert_eq!(
        (markt.start, markt.end),
        (date("2026-12-05"), date("2026-12-07"))
    );
    assert_eq!(markt.geo, Geo::new(51.5136, 7.4653));
    assert_eq!(
        markt.url.as_deref(),
        Some("https://www.musterstadt.de/weihnachtsmarkt")
    );
    assert_eq!(markt.categories, ["Markt", "Familie"]);
    assert_eq!(markt.sequence, 1);
    assert_eq!(markt.created, Some(utc("2026-10-02T08:15:00Z")));

    // Entities, CDATA and literal line breaks in <text>.
    let lesung = &ev[1];
    assert_eq!(
        lesung.start,
        EventTime::Utc {
            utc: utc("2026-12-10T18:00:00Z")
        }
    );
    assert_eq!(
        lesung.title,
        "Lesung & Gespräch: Neue Stimmen aus Musterstadt"
    );
    assert_eq!(
        lesung.description.as_deref(),
        Some(
            "Es lesen: Jörg Weiß, Ayşe Demir und Ülrich Bär.\nModeration: Dr. Süß; Eintritt frei, \
             Spenden erbeten.\nEinlass ab 18:30 Uhr."
        )
    );
    let konzert = &ev[2];
    assert_eq!(konzert.status, Status::Cancelled);
    assert_eq!(
        konzert.description.as_deref(),
        Some(
            "Das Konzert entfällt wegen Erkrankung des Dirigenten. Bereits gekaufte Karten \
             werden erstattet."
        )
    );
    let fuehrung = &ev[3];
    assert_eq!(
        (fuehrung.start, fuehrung.end),
        (local("2027-01-16 14:00"), local("2027-01-16 15:30"))
    );
    let tanz = &ev[4];
    let rule = tanz.rrule.as_deref().unwrap();
    assert!(
        rule.starts_with("FREQ=WEEKLY") && rule.contains("BYDAY=TH"),
        "{rule}"
    );
    assert!(rule.contains("UNTIL=20270415T130000Z"), "{rule}");
    assert_eq!(tanz.exdates, [local("2027-03-25 15:00")]);
    let moved = &ev[5];
    assert_eq!(moved.recurrence_id, Some(local("2027-04-08 15:00")));
    assert_eq!(
        moved.title,
        "Seniorentanz im Bürgerhaus – heute mit Live-Musik"
    );
    assert_eq!(ev[6].status, Status::Tentative);

    // The same as the iCalendar version of the calendar, field for field.
    let (from_ics, _) = common::parse_fixture("ics/formats-agree.ics");
    let (from_xcal, _) = common::parse_fixture("xcal/musterstadt.xml");
    assert_eq!(from_xcal, from_ics);
}

#[test]
fn several_calendars_prefixes_and_foreign_elements() {
    let doc = r#"<?xml version="1.0"?>
<x:icalendar xmlns:x="urn:ietf:params:xml:ns:icalendar-2.0" xmlns:o="https://example.org/other">
  <x:vcalendar>
    <x:components>
      <x:vevent><x:properties>
        <x:uid><x:text>a@musterstadt.de</x:text></x:uid>
        <x:dtstart><x:date>2026-12-24</x:date></x:dtstart>
        <x:summary><x:text>Christvesper</x:text><o:summary>ignored</o:summary></x:summary>
        <o:dtend><x:date>2027-01-30</x:date></o:dtend>
      </x:properties></x:vevent>
      <o:vevent><x:properties><x:uid><x:text>hidden@musterstadt.de</x:text></x:uid></x:properties></o:vevent>
    </x:components>
  </x:vcalendar>
  <x:vcalendar>
    <x:components>
      <x:vevent><x:properties>
        <x:uid><x:text>b@musterstadt.de</x:text></x:uid>
        <x:dtstart><x:date-time>2026-12-31T22:00:00</x:date-time></x:dtstart>
        <x:summary><x:text>Silvester</x:text></x:summary>
        <x:x-musterstadt-saal><x:parameters><x:x-plaetze><x:text>120</x:text><x:text>80</x:text></x:x-plaetze></x:parameters><x:unknown>Saal 1; Empore</x:unknown></x:x-musterstadt-saal>
        <x:rdate><x:period><x:start>2027-01-07T19:00:00</x:start><x:duration>PT2H</x:duration></x:period></x:rdate>
        <x:request-status><x:code>2.0</x:code><x:description>Success</x:description></x:request-status>
      </x:properties>
      <x:components><x:valarm><x:properties>
        <x:action><x:text>DISPLAY</x:text></x:action>
        <x:trigger><x:duration>-PT30M</x:duration></x:trigger>
      </x:properties></x:valarm></x:components>
      </x:vevent>
    </x:components>
  </x:vcalendar>
</x:icalendar>"#;
    let parsed = xcal(doc).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(uids, ["a@musterstadt.de", "b@musterstadt.de"]);
    let a = &parsed.events[0];
    assert_eq!(a.title, "Christvesper");
    // The foreign <o:dtend> is ignored: the RFC 5545 default of one day applies.
    assert_eq!(
        a.end,
        EventTime::Date {
            date: NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()
        }
    );
    let b = &parsed.events[1];
    assert_eq!(b.start, local("2026-12-31 22:00"));
    assert_eq!(
        b.rdate_periods,
        [regiocal::model::Period {
            start: local("2027-01-07 19:00"),
            end: local("2027-01-07 21:00")
        }]
    );
}

#[test]
fn truncated_and_malformed_xml_names_the_byte_position() {
    let text = String::from_utf8(common::fixture("xcal/musterstadt.xml")).unwrap();
    let cut = text.find("<summary><text>Lesung").unwrap() + 12;
    let (position, message) = xml_error(&text[..cut]);
    assert!(position > 0 && position as usize <= cut, "{position}");
    assert!(!message.is_empty());

    // Cut after a complete tag: the open elements are named.
    let cut = text.find("<vevent>").unwrap() + "<vevent>".len();
    let (position, message) = xml_error(&text[..cut]);
    assert_eq!(position as usize, cut);
    assert!(
        message.starts_with("document is truncated (<vevent> opened at byte"),
        "{message}"
    );

    let (position, message) = xml_error(&format!("{HEAD}<vcalendar></components></icalendar>"));
    assert_eq!(position as usize, HEAD.len() + "<vcalendar>".len());
    assert!(message.contains("components"), "{message}");

    let (_, message) = xml_error("<icalendar><vcalendar></vcalendar></icalendar><icalendar/>");
    assert!(message.contains("after the root element"), "{message}");
}

#[test]
fn row1_dtd_entities_are_refused_in_xcal() {
    // The "billion laughs" entity bomb.
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE icalendar [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<icalendar xmlns="urn:ietf:params:xml:ns:icalendar-2.0"><vcalendar><components><vevent><properties>
<summary><text>&lol3;</text></summary></properties></vevent></components></vcalendar></icalendar>"#;
    let (position, message) = xml_error(bomb);
    assert_eq!(message, "DTD entity declarations are not allowed");
    assert_eq!(position as usize, bomb.find("<!DOCTYPE").unwrap());

    // An external entity (XXE).
    let xxe = r#"<!DOCTYPE icalendar [<!entity xxe SYSTEM "file:///etc/passwd">]><icalendar/>"#;
    assert_eq!(xml_error(xxe).1, "DTD entity declarations are not allowed");

    // An entity that was never declared is an error, not text.
    let doc = one_event("<location><text>Saal&nbsp;1</text></location>");
    let (position, message) = xml_error(&doc);
    assert_eq!(message, "unknown entity &nbsp;");
    assert_eq!(position as usize, doc.find("&nbsp;").unwrap());

    // A DOCTYPE without declarations is harmless.
    let doc = one_event("").replacen("<icalendar", "<!DOCTYPE icalendar>\n<icalendar", 1);
    assert_eq!(xcal(&doc).unwrap().events.len(), 1);
}

#[test]
fn row2_deep_xml_nesting_is_refused_in_xcal() {
    let depth = 10_000;
    let doc = format!(
        "{HEAD}{}{}</icalendar>",
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    );
    let (position, message) = xml_error(&doc);
    assert_eq!(message, "nesting deeper than 128");
    assert!(position as usize > HEAD.len(), "{position}");
}

#[test]
fn wrong_documents_are_invalid() {
    let m = match xcal("<rss version=\"2.0\"><channel/></rss>") {
        Err(FormatError::Invalid { message, .. }) => message,
        other => panic!("{other:?}"),
    };
    assert!(m.starts_with("root element is <rss> at byte 0"), "{m}");
    let m = match xcal(&format!("{HEAD}</icalendar>")) {
        Err(FormatError::Invalid { message, .. }) => message,
        other => panic!("{other:?}"),
    };
    assert_eq!(m, "no vcalendar component found");
}

#[test]
fn a_bad_value_skips_its_event_with_a_warning_naming_the_position() {
    let doc = format!(
        r#"{HEAD}<vcalendar><components>
<vevent><properties>
  <uid><text>kaputt@musterstadt.de</text></uid>
  <dtstart><date-time>5. Dezember, 19 Uhr</date-time></dtstart>
</properties></vevent>
<vevent><properties>
  <uid><text>gut@musterstadt.de</text></uid>
  <dtstart><date>2026-12-24</date></dtstart>
  <summary><text>Heiligabend</text></summary>
</properties></vevent>
<vevent><properties>
  <dtstart><date>2026-12-24</date></dtstart>
  <dtend><date>2026-12-20</date></dtend>
</properties></vevent>
</components></vcalendar></icalendar>"#
    );
    let parsed = xcal(&doc).unwrap();
    let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
    // The one with DTEND before DTSTART is kept (swapped), under its fallback identity.
    assert_eq!(uids.len(), 2, "{uids:?}");
    assert_eq!(uids[0], "gut@musterstadt.de");
    assert!(uids[1].starts_with("fallback:"));
    let first = doc.find("<vevent>").unwrap();
    let dtstart = doc.find("<dtstart>").unwrap();
    let third = doc.rfind("<vevent>").unwrap();
    assert_eq!(
        parsed.warnings,
        [
            format!(
                "item \"kaputt@musterstadt.de\" at byte {first}: skipped: byte {dtstart}: \
                 dtstart: invalid date-time \"5. Dezember, 19 Uhr\""
            ),
            format!(
                "event #2 (no UID) at byte {third}: DTEND is before DTSTART; read with the two swapped"
            ),
        ]
    );
}

#[test]
fn row6_values_cannot_inject_lines_in_xcal() {
    let parsed = xcal(&one_event(
        "<description><text>Zeile 1&#13;&#10;END:VEVENT&#10;BEGIN:VEVENT</text></description>\
         <location><parameters><altrep><uri>x\"&#10;BEGIN:VEVENT:</uri></altrep></parameters>\
         <text>Halle</text></location>",
    ))
    .unwrap();
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(
        parsed.events[0].description.as_deref(),
        Some("Zeile 1\nEND:VEVENT\nBEGIN:VEVENT")
    );
    assert_eq!(parsed.events[0].location.as_deref(), Some("Halle"));
    for bad in [
        "<dtend><date-time>2026-12-05T21:00:00&#10;BEGIN:VEVENT</date-time></dtend>",
        "<rrule><recur><freq>DAILY;COUNT=1</freq></recur></rrule>",
        "<url><uri>https://x.example/&#10;SUMMARY:x</uri></url>",
        "<begin><text>VEVENT</text></begin>",
        "<x.evil><text>1</text></x.evil>",
    ] {
        let parsed = xcal(&one_event(bad)).unwrap();
        assert!(parsed.events.is_empty(), "{bad}");
        assert_eq!(parsed.warnings.len(), 1, "{bad}: {:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].starts_with("item \"e1@musterstadt.de\" at byte "),
            "{}",
            parsed.warnings[0]
        );
    }
}

#[test]
fn never_panics_on_any_truncation() {
    let bytes = common::fixture("xcal/musterstadt.xml");
    let ctx = ParseContext::new(Berlin);
    for end in (0..bytes.len()).step_by(97) {
        let _ = format::parse(&bytes[..end], FormatChoice::Xcal, None, &ctx);
        let _ = format::parse(&bytes[..end], FormatChoice::Auto, None, &ctx);
    }
}

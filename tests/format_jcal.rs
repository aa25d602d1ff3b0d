//! jCal (RFC 7265) input: the Musterstadt fixture field by field, documents of the wrong shape
//! (errors naming the JSON path), bad values (the event is skipped with a warning naming the
//! path), injection attempts, and no panic on any truncation.

mod common;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Europe::Berlin;
use regiocal::config::FormatChoice;
use regiocal::format::{self, Format, FormatError, ParseContext, Parsed};
use regiocal::model::{EventTime, Geo, Status};

fn jcal(text: &str) -> Result<Parsed, FormatError> {
    let ctx = ParseContext::new(Berlin);
    format::parse(text.as_bytes(), FormatChoice::Jcal, None, &ctx).map(|(_, p)| p)
}

fn invalid(text: &str) -> String {
    match jcal(text) {
        Err(FormatError::Invalid { format, message }) => {
            assert_eq!(format, "jcal");
            message
        }
        other => panic!("expected an Invalid error, got {other:?}"),
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

/// A jCal document with one VEVENT made of the given properties.
fn one_event(props: &str) -> String {
    format!(
        r#"["vcalendar", [["version", {{}}, "text", "2.0"]], [["vevent", [
            ["uid", {{}}, "text", "e1@musterstadt.de"],
            ["dtstart", {{"tzid": "Europe/Berlin"}}, "date-time", "2026-12-05T19:00:00"],
            ["summary", {{}}, "text", "Adventskonzert"]{props}
        ], []]]]"#
    )
}

#[test]
fn musterstadt_fixture_field_by_field() {
    let ctx = ParseContext::new(Berlin);
    let (format, parsed) = format::parse(
        &common::fixture("jcal/musterstadt.json"),
        FormatChoice::Auto,
        Some("application/calendar+json"),
        &ctx,
    )
    .unwrap();
    assert_eq!(format, Format::Jcal);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let ev = &parsed.events;
    assert_eq!(ev.len(), 7);

    let markt = &ev[0];
    assert_eq!(markt.uid, "weihnachtsmarkt-2026@kulturamt.musterstadt.de");
    assert_eq!(markt.title, "Weihnachtsmarkt auf dem Marktplatz");
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
    assert_eq!(markt.last_modified, Some(utc("2026-11-18T14:30:00Z")));
    assert_eq!(markt.location.as_deref(), Some("Marktplatz Musterstadt"));

    let lesung = &ev[1];
    assert_eq!(
        lesung.start,
        EventTime::Utc {
            utc: utc("2026-12-10T18:00:00Z")
        }
    );
    assert_eq!(
        lesung.end,
        EventTime::Utc {
            utc: utc("2026-12-10T19:30:00Z")
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
    assert_eq!(
        lesung.location.as_deref(),
        Some("Stadtbibliothek Musterstadt, Lesesaal (2. OG), Am Wall 3")
    );

    let konzert = &ev[2];
    assert_eq!(konzert.status, Status::Cancelled);
    assert_eq!(konzert.sequence, 2);
    assert_eq!(konzert.start, local("2027-01-03 17:00"));

    let fuehrung = &ev[3];
    assert_eq!(
        (fuehrung.start, fuehrung.end),
        (local("2027-01-16 14:00"), local("2027-01-16 15:30"))
    );

    let tanz = &ev[4];
    assert_eq!(tanz.start, local("2027-03-04 15:00"));
    let rule = tanz.rrule.as_deref().unwrap();
    assert!(rule.starts_with("FREQ=WEEKLY"), "{rule}");
    assert!(rule.contains("BYDAY=TH"), "{rule}");
    assert!(rule.contains("UNTIL=20270415T130000Z"), "{rule}");
    assert_eq!(tanz.exdates, [local("2027-03-25 15:00")]);
    assert_eq!(tanz.categories, ["Senioren", "Tanz"]);

    let moved = &ev[5];
    assert_eq!(moved.uid, tanz.uid);
    assert_eq!(moved.recurrence_id, Some(local("2027-04-08 15:00")));
    assert_eq!(moved.start, local("2027-04-08 16:00"));
    assert_eq!(
        moved.title,
        "Seniorentanz im Bürgerhaus – heute mit Live-Musik"
    );

    let kino = &ev[6];
    assert_eq!(kino.status, Status::Tentative);
    assert_eq!(kino.geo, Geo::new(51.5082, 7.4711));

    // The same as the iCalendar version of the calendar, field for field.
    let (from_ics, _) = common::parse_fixture("ics/formats-agree.ics");
    let (from_jcal, _) = common::parse_fixture("jcal/musterstadt.json");
    assert_eq!(from_jcal, from_ics);
}

#[test]
fn several_calendars_in_an_array_are_read() {
    let one = one_event("");
    let two = one.replace("e1@", "e2@");
    let parsed = jcal(&format!("[{one}, {two}]")).unwrap();
    let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(uids, ["e1@musterstadt.de", "e2@musterstadt.de"]);
}

#[test]
fn floating_times_dates_periods_and_unknown_properties() {
    let parsed = jcal(&one_event(
        r#",
        ["dtend", {"tzid": "Europe/Berlin"}, "date-time", "2026-12-05T21:00:00"],
        ["rdate", {"tzid": "Europe/Berlin"}, "period", ["2026-12-12T19:00:00", "PT2H"]],
        ["rdate", {"tzid": "Europe/Berlin"}, "date-time", "2026-12-19T19:00:00", "2026-12-26T19:00:00"],
        ["x-musterstadt-saal", {"x-plaetze": ["120", "80"]}, "text", "Saal 1; Empore"],
        ["x-eintritt-frei", {}, "boolean", true],
        ["request-status", {}, "text", ["2.0", "Success"]],
        ["attendee", {"cn": "Müller, Anna: Kulturamt", "role": "CHAIR"}, "cal-address", "mailto:anna@musterstadt.example"]"#,
    ))
    .unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let ev = &parsed.events[0];
    assert_eq!(ev.end, local("2026-12-05 21:00"));
    assert_eq!(
        ev.rdate_periods,
        [regiocal::model::Period {
            start: local("2026-12-12 19:00"),
            end: local("2026-12-12 21:00")
        }]
    );
    assert_eq!(
        ev.rdates,
        [local("2026-12-19 19:00"), local("2026-12-26 19:00")]
    );
}

#[test]
fn wrong_shapes_are_errors_naming_the_path() {
    // "vcalendar" missing.
    let m = invalid(r#"{"vcalendar": []}"#);
    assert!(m.starts_with("document: expected a jCal array"), "{m}");
    let m = invalid(r#"[["vevent", [], []]]"#);
    assert!(
        m.contains(r#"[0][0]: expected "vcalendar", got "vevent""#),
        "{m}"
    );
    let m = invalid(r#"["vcalendar", [], "events"]"#);
    assert!(
        m.starts_with("vcalendar: component must be an array [name, [properties], [components]]"),
        "{m}"
    );
    // A property that is a string.
    let m = invalid(r#"["vcalendar", [], [["vevent", ["summary"], []]]]"#);
    assert!(
        m.starts_with("vcalendar[2][0][1][0]: property must be an array of at least 4 elements"),
        "{m}"
    );
    assert!(m.contains("a string (\"summary\")"), "{m}");
    // Too short, and a calendar property of the wrong shape.
    let m = invalid(r#"["vcalendar", [["version", {}, "text"]], []]"#);
    assert!(m.starts_with("vcalendar[1][0]: property must be"), "{m}");
    let m = invalid(&one_event(r#", ["location", "Stadthalle", "text", "x"]"#));
    assert!(
        m.starts_with("vcalendar[2][0][1][3][1]: parameters must be an object, got a string"),
        "{m}"
    );
    let m = invalid(&one_event(r#", ["location", {}, 7, "x"]"#));
    assert!(
        m.starts_with("vcalendar[2][0][1][3][2]: value type must be a string"),
        "{m}"
    );
    let m = invalid(&one_event(r#", [42, {}, "text", "x"]"#));
    assert!(
        m.starts_with("vcalendar[2][0][1][3][0]: property name must be a string"),
        "{m}"
    );
    let m = invalid(&one_event(
        r#", ["location", {"cn": {"x": 1}}, "text", "x"]"#,
    ));
    assert!(
        m.starts_with("vcalendar[2][0][1][3][1].cn: parameter value"),
        "{m}"
    );
    // A sub-component of the wrong shape.
    let m = invalid(r#"["vcalendar", [], [["vevent", [], [["valarm", []]]]]]"#);
    assert!(
        m.starts_with("vcalendar[2][0][2][0]: component must be"),
        "{m}"
    );
    // No calendar at all.
    assert!(invalid("[]").starts_with("document:"));
}

#[test]
fn a_bad_value_skips_its_event_with_a_warning_naming_the_path() {
    let doc = r#"["vcalendar", [], [
        ["vevent", [
            ["uid", {}, "text", "kaputt@musterstadt.de"],
            ["dtstart", {}, "date-time", 20261205],
            ["summary", {}, "text", "Zahl statt Datum"]
        ], []],
        ["vevent", [
            ["dtstart", {}, "date", "2026-13-40"],
            ["summary", {}, "text", "Unmögliches Datum"]
        ], []],
        ["vevent", [
            ["uid", {}, "text", "gut@musterstadt.de"],
            ["dtstart", {}, "date", "2026-12-24"],
            ["rrule", {}, "recur", "FREQ=YEARLY"],
            ["summary", {}, "text", "Heiligabend"]
        ], []],
        ["vevent", [
            ["uid", {}, "text", "regel@musterstadt.de"],
            ["dtstart", {}, "date", "2026-12-24"],
            ["rrule", {}, "recur", {"freq": "WEEKLY", "count": {"n": 1}}],
            ["summary", {}, "text", "Kaputte Regel"]
        ], []]
    ]]"#;
    let parsed = jcal(doc).unwrap();
    let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(uids, ["gut@musterstadt.de"]);
    assert_eq!(parsed.events[0].rrule.as_deref(), Some("FREQ=YEARLY"));
    assert_eq!(
        parsed.warnings,
        [
            "item \"kaputt@musterstadt.de\" at vcalendar[2][0]: skipped: vcalendar[2][0][1][1][3]: \
             expected a date-time value, got a number (20261205)",
            "item at vcalendar[2][1]: skipped: vcalendar[2][1][1][0]: dtstart: invalid date \
             \"2026-13-40\"",
            "item \"regel@musterstadt.de\" at vcalendar[2][3]: skipped: vcalendar[2][3][1][2][3]: \
             recur part \"count\" must be a string, a number or an array of them, got an object",
        ]
    );
}

#[test]
fn problems_found_by_the_icalendar_rules_are_reported_too() {
    let parsed = jcal(&one_event(
        r#", ["dtend", {"tzid": "Europe/Berlin"}, "date-time", "2026-12-05T18:00:00"]"#,
    ))
    .unwrap();
    // Kept, with start and end swapped (no event is lost over it).
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(parsed.events[0].start, local("2026-12-05 18:00"));
    assert_eq!(
        parsed.warnings,
        ["event \"e1@musterstadt.de\": DTEND is before DTSTART; read with the two swapped"]
    );
    // Without a UID, the event is named by its number and its path.
    let doc = r#"["vcalendar", [], [
        ["vtimezone", [["tzid", {}, "text", "Europe/Berlin"]], []],
        ["vevent", [["dtstart", {}, "date", "2026-12-24"], ["summary", {}, "text", "Gut"]], []],
        ["vevent", [["dtstart", {}, "date", "2026-12-24"], ["dtend", {}, "date", "2026-12-20"]], []]
    ]]"#;
    let parsed = jcal(doc).unwrap();
    assert_eq!(parsed.events.len(), 2);
    assert_eq!(
        parsed.warnings,
        [
            "event #2 (no UID) at vcalendar[2][2]: DTEND is before DTSTART; read with the two swapped"
        ]
    );
    let nested = r#"["vcalendar", [], [["vevent", [], [["vcalendar", [], []]]]]]"#;
    assert_eq!(
        jcal(nested).unwrap().warnings,
        [
            "item at vcalendar[2][0]: skipped: vcalendar[2][0][2][0][0]: a vcalendar cannot be nested"
        ]
    );
    let parsed = jcal(&one_event("").replace("Europe/Berlin", "Mars/Olympus_Mons")).unwrap();
    assert!(parsed.warnings[0].contains("TZID \"Mars/Olympus_Mons\" is not defined"));
    assert_eq!(
        parsed.events.len(),
        1,
        "read in the calendar's zone, not dropped"
    );
}

#[test]
fn row6_values_cannot_inject_lines_in_jcal() {
    let parsed = jcal(&one_event(
        r#",
        ["description", {}, "text", "Zeile 1\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Eingeschleust"],
        ["location", {"altrep": "x\"\r\nBEGIN:VEVENT:"}, "text", "Halle"]"#,
    ))
    .unwrap();
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(
        parsed.events[0].description.as_deref(),
        Some("Zeile 1\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:Eingeschleust")
    );
    assert_eq!(parsed.events[0].location.as_deref(), Some("Halle"));
    for bad in [
        r#", ["x-evil\r\nBEGIN:VEVENT", {}, "text", "x"]"#,
        r#", ["dtend", {}, "date-time", "2026-12-05T21:00:00\r\nBEGIN:VEVENT"]"#,
        r#", ["duration", {}, "duration", "PT1H\r\nSUMMARY:x"]"#,
        r#", ["url", {}, "uri", "https://x.example/\r\nSUMMARY:x"]"#,
        r#", ["rrule", {}, "recur", {"freq": "DAILY;COUNT=1"}]"#,
        r#", ["rrule", {}, "recur", {"freq": "DAILY", "x;y": "1"}]"#,
        r#", ["end", {}, "text", "VEVENT"]"#,
    ] {
        let parsed = jcal(&one_event(bad)).unwrap();
        assert!(parsed.events.is_empty(), "{bad}");
        assert_eq!(parsed.warnings.len(), 1, "{bad}: {:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].starts_with(
                "item \"e1@musterstadt.de\" at vcalendar[2][0]: skipped: vcalendar[2][0][1][3]: "
            ),
            "{}",
            parsed.warnings[0]
        );
    }
}

#[test]
fn invalid_json_names_line_and_column() {
    let text = String::from_utf8(common::fixture("jcal/musterstadt.json")).unwrap();
    let cut = &text[..text.len() / 2];
    match jcal(cut) {
        Err(FormatError::Json {
            format: "jcal",
            line,
            column,
            ..
        }) => assert!(line > 50 && column > 0, "{line}:{column}"),
        other => panic!("{other:?}"),
    }
    // Nesting deeper than serde_json's limit is an error, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(jcal(&deep), Err(FormatError::Json { .. })));
    let deep_components = format!(
        r#"["vcalendar", [], [{}{}]]"#,
        r#"["vevent", [], ["#.repeat(200),
        "]]".repeat(200)
    );
    assert!(jcal(&deep_components).is_err());
}

#[test]
fn never_panics_on_any_truncation() {
    let bytes = common::fixture("jcal/musterstadt.json");
    let ctx = ParseContext::new(Berlin);
    for end in (0..bytes.len()).step_by(97) {
        let _ = format::parse(&bytes[..end], FormatChoice::Jcal, None, &ctx);
        let _ = format::parse(&bytes[..end], FormatChoice::Auto, None, &ctx);
    }
}

#[test]
fn a_bad_calendar_property_is_ignored_with_a_warning() {
    let doc = r#"["vcalendar", [
        ["version", {}, "text", "2.0"],
        ["x-wr-timezone", {}, "text", null],
        ["x-bad name", {}, "text", "x"]
    ], [["vevent", [
        ["uid", {}, "text", "e1"], ["dtstart", {}, "date", "2026-12-05"]
    ], []]]]"#;
    let parsed = jcal(doc).unwrap();
    assert_eq!(parsed.events.len(), 1);
    assert_eq!(
        parsed.warnings,
        [
            "ignored property at vcalendar[1][1]: vcalendar[1][1][3]: expected a text value, got null",
            "ignored property at vcalendar[1][2]: invalid property name \"x-bad name\"",
        ]
    );
}

//! Real calendars at the right time: one fixture per kind of export that used to give wrong or
//! missing events, each with its exact occurrences (computed by hand, and checked against
//! python `icalendar` + `recurring-ical-events` + `x-wr-timezone` where those agree with
//! RFC 5545; the tests say where regiocal differs on purpose).
//!
//! | fixture | what it shows |
//! |---|---|
//! | `google-x-wr-timezone.ics` | a UTC series in a Google calendar is expanded in its X-WR-TIMEZONE |
//! | `notes-vtimezone.ics` | TZIDs defined only by the calendar's VTIMEZONE (Notes, Exchange, custom rules; one that contradicts its IANA name) |
//! | `unknown-tzid.ics` | two VCALENDARs; TZIDs nothing defines are read in X-WR-TIMEZONE or the configured zone |
//! | `this-and-future.ics` | `RECURRENCE-ID;RANGE=THISANDFUTURE` |
//! | `override-interactions.ics` | overrides and EXDATEs that interact, RDATE on UNTIL, RDATE periods |
//! | `exchange-2010-damaged.ics`, `truncated.ics`, `bare-vevents.ics` | damaged but readable files |
//! | `implausible.ics` | series with more than 48 occurrences a day |

mod common;

use chrono::SecondsFormat;
use chrono_tz::Europe::Berlin;
use regiocal::config::FormatChoice;
use regiocal::format::{self, ParseContext, Parsed};
use regiocal::model::EventTime;
use regiocal::output::{Filter, Snapshot, ics, json};
use std::path::Path;

fn at(t: &EventTime) -> String {
    match t {
        EventTime::Date { date } => date.format("%Y-%m-%d").to_string(),
        other => other
            .to_utc(Berlin)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

fn snapshot(rel: &str) -> Snapshot {
    common::snapshot_of(&[("s", rel)])
}

/// Every occurrence of the snapshot: start, end, title.
fn rows(snap: &Snapshot) -> Vec<(String, String, String)> {
    snap.select(&Filter::default())
        .map(|r| {
            (
                at(&r.occurrence.start),
                at(&r.occurrence.end),
                snap.events[r.event].event.title.clone(),
            )
        })
        .collect()
}

/// Starts and titles only.
fn starts(snap: &Snapshot) -> Vec<(String, String)> {
    rows(snap).into_iter().map(|(s, _, t)| (s, t)).collect()
}

fn parse(rel: &str) -> Parsed {
    let ctx = ParseContext::new(Berlin).at(common::now());
    format::parse(&common::fixture(rel), FormatChoice::Auto, None, &ctx)
        .expect("parses")
        .1
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The oracle's occurrences of a fixture (start in UTC or date, summary), if python is there.
fn oracle(rel: &str) -> Option<Vec<(String, String)>> {
    let py = common::python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ics_corpus/oracle.py");
    let out = std::process::Command::new(py)
        .arg(script)
        .arg(common::fixture_path(rel))
        .output()
        .expect("run the oracle");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("oracle JSON");
    let file = &doc["files"][0];
    assert_eq!(file["status"], "ok", "{file}");
    Some(
        file["occurrences"]
            .as_array()
            .expect("occurrences")
            .iter()
            .map(|o| {
                (
                    o[0].as_str().unwrap().to_string(),
                    o[1].as_str().unwrap().to_string(),
                )
            })
            .collect(),
    )
}

/// Our occurrences in the oracle's order (by start, then title).
fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

const BILDERBUCH: &str = "Bilderbuchkino für Kinder ab 4";

#[test]
fn item1_google_utc_series_keeps_its_wall_clock_time_in_x_wr_timezone() {
    let snap = snapshot("ics/google-x-wr-timezone.ics");
    // 16:00 in Berlin all year: 15:00Z in winter, 14:00Z in summer (the bug gave 15:00Z).
    let want = pairs(&[
        ("2027-02-06T15:00:00Z", BILDERBUCH),
        ("2027-03-06T15:00:00Z", BILDERBUCH),
        ("2027-03-15T18:00:00Z", "Lesung: „Die Stadt am Fluss“"),
        ("2027-04-03T14:00:00Z", BILDERBUCH),
        ("2027-05-01T14:00:00Z", BILDERBUCH),
        // 5 June is an EXDATE (in UTC); 19 June an RDATE (in UTC).
        ("2027-06-19T14:00:00Z", BILDERBUCH),
        // The July instance (RECURRENCE-ID in UTC) was moved to 14:00.
        (
            "2027-07-03T12:00:00Z",
            "Bilderbuchkino – Sommerspezial im Stadtpark",
        ),
        ("2027-08-07T14:00:00Z", BILDERBUCH),
        ("2027-09-04T14:00:00Z", BILDERBUCH),
        ("2027-10-02T14:00:00Z", BILDERBUCH),
        ("2027-11-06T15:00:00Z", BILDERBUCH),
        ("2027-12-04T15:00:00Z", BILDERBUCH),
    ]);
    assert_eq!(starts(&snap), want);
    if let Some(theirs) = oracle("ics/google-x-wr-timezone.ics") {
        assert_eq!(sorted(starts(&snap)), theirs);
    }
    // The series is published in the calendar's zone, so subscribers see it the same way.
    let lines = common::unfold(&ics::render(&snap, &Filter::default()));
    assert!(
        lines
            .iter()
            .any(|l| l == "DTSTART;TZID=Europe/Berlin:20270206T160000"),
        "{lines:#?}"
    );
}

#[test]
fn item2_a_vtimezone_defines_its_tzid() {
    let parsed = parse("ics/notes-vtimezone.ics");
    let by = |uid: &str| parsed.events.iter().find(|e| e.uid == uid).unwrap();
    // A Notes/Exchange-style name whose rules are the EU's: read as Europe/Berlin.
    assert_eq!(
        by("notes-orgel@musterstadt.example").start.zone(),
        Some(Berlin)
    );
    let snap = snapshot("ics/notes-vtimezone.ics");
    let want = pairs(&[
        // Saturdays 11:00 across the change on 28 March.
        ("2027-03-13T10:00:00Z", "Orgelmusik zur Marktzeit"),
        ("2027-03-20T10:00:00Z", "Orgelmusik zur Marktzeit"),
        ("2027-03-27T10:00:00Z", "Orgelmusik zur Marktzeit"),
        // TZID "Europe/Berlin", but its VTIMEZONE starts summer time on the first Sunday of
        // April (rules of the past): the VTIMEZONE wins, 19:00 is still +01:00.
        (
            "2027-03-31T18:00:00Z",
            "Vortrag (Zeitzone nach alten Regeln)",
        ),
        ("2027-04-03T09:00:00Z", "Orgelmusik zur Marktzeit"),
        // MyTimezone: +12:00 until 5 May 08:00, then +10:00 (no IANA zone does that).
        ("2027-04-27T21:00:00Z", "Wöchentlich über den Wechsel"),
        // 07:30 on 5 May happens twice: the first instant counts (RFC 5545 §3.3.5).
        (
            "2027-05-04T19:30:00Z",
            "Zur doppelten Stunde (07:30 gibt es zweimal)",
        ),
        ("2027-05-04T23:00:00Z", "Wöchentlich über den Wechsel"),
        ("2027-05-11T23:00:00Z", "Wöchentlich über den Wechsel"),
    ]);
    assert_eq!(starts(&snap), want);
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.contains("custom-series@musterstadt.example")
                && w.contains("matches no IANA zone")),
        "{:?}",
        parsed.warnings
    );
    if let Some(theirs) = oracle("ics/notes-vtimezone.ics") {
        // The oracle takes the IANA zone of an IANA-named TZID over its VTIMEZONE; every
        // other occurrence agrees.
        let differ: Vec<_> = sorted(starts(&snap))
            .into_iter()
            .filter(|o| !theirs.contains(o))
            .collect();
        assert_eq!(
            differ,
            pairs(&[(
                "2027-03-31T18:00:00Z",
                "Vortrag (Zeitzone nach alten Regeln)"
            )])
        );
        assert!(theirs.contains(&(
            "2027-03-31T17:00:00Z".into(),
            "Vortrag (Zeitzone nach alten Regeln)".into()
        )));
    }
}

#[test]
fn item3_and_6_unknown_tzids_lose_no_event_and_every_calendar_of_a_file_is_read() {
    let parsed = parse("ics/unknown-tzid.ics");
    assert_eq!(parsed.events.len(), 3);
    assert_eq!(parsed.zone_fallbacks, 4);
    assert_eq!(
        parsed.warnings,
        [
            "TZID \"Western/Central Europe\" is not defined (no VTIMEZONE, not an IANA or Windows name): 3 time(s) read in Europe/Berlin (the configured [calendar] timezone)",
            "TZID \"GMT Standard Time Custom\" is not defined (no VTIMEZONE, not an IANA or Windows name): 1 time(s) read in Europe/London (the calendar's X-WR-TIMEZONE)",
        ]
    );
    let snap = snapshot("ics/unknown-tzid.ics");
    let want = pairs(&[
        // The second calendar's X-WR-TIMEZONE is London: 19:00 GMT.
        ("2027-01-20T19:00:00Z", "Town twinning evening"),
        (
            "2027-03-10T18:00:00Z",
            "Jahreshauptversammlung des Heimatvereins",
        ),
        ("2027-07-07T17:00:00Z", "Sommerfest des Heimatvereins"),
    ]);
    assert_eq!(starts(&snap), want);
    if let Some(theirs) = oracle("ics/unknown-tzid.ics") {
        assert_eq!(sorted(starts(&snap)), theirs);
    }
}

#[test]
fn item4_range_thisandfuture_moves_that_instance_and_every_later_one() {
    let snap = snapshot("ics/this-and-future.ics");
    let (old, new, special) = (
        "Yoga im Park",
        "Yoga im Park (neue Zeit)",
        "Yoga – Sondertermin am Abend",
    );
    let row = |s: &str, e: &str, t: &str| (s.to_string(), e.to_string(), t.to_string());
    let want = vec![
        row("2027-03-03T17:00:00Z", "2027-03-03T18:00:00Z", old),
        row("2027-03-10T17:00:00Z", "2027-03-10T18:00:00Z", old),
        // From 17 March on: 19:00 to 20:30 local, across the change to summer time.
        row("2027-03-17T18:00:00Z", "2027-03-17T19:30:00Z", new),
        row("2027-03-24T18:00:00Z", "2027-03-24T19:30:00Z", new),
        row("2027-03-31T17:00:00Z", "2027-03-31T18:30:00Z", new),
        // An override of one later instance still names its original time.
        row("2027-04-07T18:00:00Z", "2027-04-07T19:30:00Z", special),
        row("2027-04-14T17:00:00Z", "2027-04-14T18:30:00Z", new),
        row("2027-04-21T17:00:00Z", "2027-04-21T18:30:00Z", new),
    ];
    assert_eq!(rows(&snap), want);
    if let Some(theirs) = oracle("ics/this-and-future.ics") {
        assert_eq!(sorted(starts(&snap)), theirs);
    }
    // The override keeps its RANGE in the merged feed.
    let lines = common::unfold(&ics::render(&snap, &Filter::default()));
    assert!(
        lines
            .iter()
            .any(|l| l == "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20270317T180000"),
        "{lines:#?}"
    );
}

#[test]
fn item5_overrides_and_exclusions_that_interact() {
    let snap = snapshot("ics/override-interactions.ics");
    let row = |s: &str, e: &str, t: &str| (s.to_string(), e.to_string(), t.to_string());
    let want = vec![
        row("2027-01-07T18:30:00Z", "2027-01-07T20:15:00Z", "Chorprobe"),
        row("2027-01-14T18:30:00Z", "2027-01-14T20:15:00Z", "Chorprobe"),
        // 21 January: an EXDATE and an override of the same instance: it is gone.
        row("2027-01-28T18:30:00Z", "2027-01-28T20:15:00Z", "Chorprobe"),
        // An override for a date the rule does not produce (a Saturday) is an occurrence.
        row(
            "2027-01-30T14:00:00Z",
            "2027-01-30T17:00:00Z",
            "Chorprobe – Extraprobe am Samstag",
        ),
        row(
            "2027-02-04T19:00:00Z",
            "2027-02-04T20:45:00Z",
            "Chorprobe (später)",
        ),
        row("2027-02-11T18:30:00Z", "2027-02-11T20:15:00Z", "Chorprobe"),
        row("2027-02-18T18:30:00Z", "2027-02-18T20:15:00Z", "Chorprobe"),
        // The RDATE that falls on UNTIL is the same instance, once.
        row("2027-02-25T18:30:00Z", "2027-02-25T20:15:00Z", "Chorprobe"),
        // RDATE;VALUE=PERIOD with a TZID: its own end.
        row("2027-02-27T09:00:00Z", "2027-02-27T15:00:00Z", "Chorprobe"),
        // The override of 4 March carries the series' old rule and an older SEQUENCE than
        // the master, which since ends on 25 February: it is stale and not shown.
    ];
    assert_eq!(rows(&snap), want);
    if let Some(theirs) = oracle("ics/override-interactions.ics") {
        assert_eq!(sorted(starts(&snap)), theirs);
    }
    let lines = common::unfold(&ics::render(&snap, &Filter::default()));
    assert!(
        lines
            .iter()
            .any(|l| l == "RDATE;TZID=Europe/Berlin;VALUE=PERIOD:20270227T100000/20270227T160000"),
        "{lines:#?}"
    );
}

#[test]
fn item7_damaged_files_keep_every_complete_event() {
    // Exchange 2010 ends its export with END:VCALENDARD.
    let parsed = parse("ics/exchange-2010-damaged.ics");
    assert_eq!(parsed.events.len(), 2);
    assert!(!parsed.partial);
    assert_eq!(
        parsed.warnings,
        ["line 47: END:VCALENDARD read as END:VCALENDAR"]
    );
    assert_eq!(
        starts(&snapshot("ics/exchange-2010-damaged.ics")),
        pairs(&[
            ("2027-01-13T13:00:00Z", "Bürgersprechstunde Ordnungsamt"),
            ("2027-06-12T08:00:00Z", "Fundsachenversteigerung"),
        ])
    );

    // A download cut off in its third event: the two complete ones are read.
    let parsed = parse("ics/truncated.ics");
    assert!(parsed.partial);
    let uids: Vec<&str> = parsed.events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(
        uids,
        [
            "portal-1@musterstadt.example",
            "portal-2@musterstadt.example"
        ]
    );
    assert_eq!(
        parsed.warnings,
        [
            "line 36: BEGIN:VEVENT is never closed; that component is dropped",
            "END:VCALENDAR missing (the file ends at line 40); added",
            "the file is cut off or damaged: the complete events are kept, none is withdrawn for being absent",
        ]
    );

    // VEVENTs without a VCALENDAR, LF line ends, one without SUMMARY.
    let parsed = parse("ics/bare-vevents.ics");
    assert_eq!(parsed.events.len(), 2);
    let snap = snapshot("ics/bare-vevents.ics");
    assert_eq!(
        starts(&snap),
        pairs(&[
            ("2027-02-06T18:00:00Z", "Kneipenquiz im Jugendzentrum"),
            ("2027-02-13", ""),
        ])
    );
    if let Some(theirs) = oracle("ics/bare-vevents.ics") {
        assert_eq!(sorted(starts(&snap)), theirs);
    }
    // The missing title stays missing: null in JSON, no SUMMARY in the ICS.
    let doc: serde_json::Value =
        serde_json::from_str(&json::render_events(&snap, &Filter::default(), None, None).unwrap())
            .unwrap();
    let titles: Vec<&serde_json::Value> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["title"])
        .collect();
    assert_eq!(
        titles,
        [
            &serde_json::json!("Kneipenquiz im Jugendzentrum"),
            &serde_json::Value::Null
        ]
    );
    let text = ics::render(&snap, &Filter::default());
    assert_eq!(text.matches("\r\nSUMMARY:").count(), 1, "{text}");
    assert_eq!(text.matches("\r\nBEGIN:VEVENT\r\n").count(), 2);
}

#[test]
fn item8_series_denser_than_48_a_day_are_refused() {
    let (events, warnings) = common::parse_fixture("ics/implausible.ics");
    let uids: Vec<&str> = events.iter().map(|e| e.uid.as_str()).collect();
    assert_eq!(
        uids,
        [
            "halbstuendlich@musterstadt.example",
            "rfc-minutely@musterstadt.example"
        ]
    );
    for uid in [
        "slots-15min@musterstadt.example",
        "slots-byhour@musterstadt.example",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(uid)
                && w.contains("more than 48 occurrences within 24 hours; the series is refused")),
            "{uid}: {warnings:?}"
        );
    }
    let snap = snapshot("ics/implausible.ics");
    let count = |uid: &str| {
        snap.select(&Filter::default())
            .filter(|r| snap.events[r.event].event.uid == uid)
            .count()
    };
    // 20 a day (09:00 to 18:30 every half hour), COUNT=40: two days.
    assert_eq!(count("halbstuendlich@musterstadt.example"), 40);
    // RFC 5545's example: every 20 minutes from 9:00 to 16:40, 24 a day.
    assert_eq!(count("rfc-minutely@musterstadt.example"), 48);
    let first_day = snap
        .select(&Filter::default())
        .filter(|r| r.occurrence.start_utc.date_naive().to_string() == "2027-01-04")
        .count();
    assert_eq!(first_day, 20 + 24);
}

#[test]
fn item9_every_output_line_is_at_most_75_octets() {
    for rel in [
        "ics/injection.ics",
        "ics/google.ics",
        "ics/apple.ics",
        "ics/google-x-wr-timezone.ics",
        "ics/notes-vtimezone.ics",
        "ics/override-interactions.ics",
    ] {
        let snap = snapshot(rel);
        let mut texts = vec![ics::render(&snap, &Filter::default())];
        texts.extend(
            snap.select(&Filter::default())
                .map(|r| ics::render_occurrence(&snap, r)),
        );
        for text in texts {
            for line in text.split("\r\n") {
                assert!(line.len() <= 75, "{rel}: {} octets: {line:?}", line.len());
            }
        }
    }
}

//! The merged iCalendar output: RFC 5545 structure, round trip through the parser, and
//! agreement with the JSON API as read by an independent parser (python icalendar +
//! recurring-ical-events).

mod common;

use chrono::DateTime;
use regiocal::output::{Filter, ics, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

const FIXTURES: [(&str, &str); 5] = [
    ("google", "ics/google.ics"),
    ("outlook", "ics/outlook.ics"),
    ("apple", "ics/apple.ics"),
    ("nextcloud", "ics/nextcloud.ics"),
    ("cms", "ics/cms-plugin.ics"),
];

use common::{python, snapshot_of, unfold};

#[test]
fn output_is_structurally_valid_rfc5545() {
    let snap = snapshot_of(&FIXTURES);
    let text = ics::render(&snap, &Filter::default());
    assert!(
        text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
        "{}",
        &text[..80]
    );
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    // CRLF only; no bare CR or LF anywhere.
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
    assert_eq!(text.matches('\r').count(), text.matches("\r\n").count());
    // Folded at 75 octets.
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "line longer than 75 octets: {line:?}");
    }
    let lines = unfold(&text);
    for must in [
        "X-WR-CALNAME:Test\\, Stadt",
        "NAME:Test\\, Stadt",
        "REFRESH-INTERVAL;VALUE=DURATION:PT60M",
        "X-PUBLISHED-TTL:PT60M",
    ] {
        assert!(lines.iter().any(|l| l == must), "missing {must}");
    }

    // Every VEVENT has exactly one UID and DTSTAMP; every TZID used has exactly one VTIMEZONE.
    let mut in_event = false;
    let (mut uid, mut stamp) = (0, 0);
    let mut used = BTreeSet::new();
    let mut defined = BTreeMap::new();
    let mut events = 0;
    for l in &lines {
        match l.as_str() {
            "BEGIN:VEVENT" => (in_event, uid, stamp) = (true, 0, 0),
            "END:VEVENT" => {
                assert_eq!((uid, stamp), (1, 1), "VEVENT needs one UID and one DTSTAMP");
                in_event = false;
                events += 1;
            }
            _ if in_event && l.starts_with("UID:") => uid += 1,
            _ if in_event && l.starts_with("DTSTAMP:") => stamp += 1,
            _ if l.starts_with("TZID:") => *defined.entry(l[5..].to_string()).or_insert(0) += 1,
            _ => {}
        }
        if let Some(at) = l.find(";TZID=") {
            let rest = &l[at + 6..];
            let end = rest.find([':', ';']).unwrap();
            used.insert(rest[..end].to_string());
        }
    }
    assert!(events > 30, "{events}");
    assert_eq!(used, defined.keys().cloned().collect::<BTreeSet<_>>());
    assert!(defined.values().all(|&n| n == 1), "{defined:?}");
    assert_eq!(used.into_iter().collect::<Vec<_>>(), ["Europe/Berlin"]);
}

#[test]
fn series_stay_series() {
    let snap = snapshot_of(&FIXTURES[..1]);
    let lines = unfold(&ics::render(&snap, &Filter::default()));
    // google.ics: the weekly choir with two EXDATEs and two overrides (one moved, one cancelled).
    assert!(
        lines.iter().any(|l| l.starts_with("RRULE:FREQ=WEEKLY")
            && l.contains("BYDAY=TU")
            && l.contains("UNTIL=20270330T215959Z")),
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("EXDATE;TZID=Europe/Berlin:"))
            .count(),
        2
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("RECURRENCE-ID;TZID=Europe/Berlin:"))
            .count(),
        2
    );
    assert!(lines.iter().any(|l| l == "STATUS:CANCELLED"));
}

#[test]
fn row6_output_round_trips_through_the_parser() {
    for fixture in FIXTURES.iter().chain([("inj", "ics/injection.ics")].iter()) {
        let snap = snapshot_of(std::slice::from_ref(fixture));
        let text = ics::render(&snap, &Filter::default());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ics");
        std::fs::write(&path, &text).unwrap();
        let (again, warnings) = common::parse_fixture_at(&path);
        assert!(warnings.is_empty(), "{}: {warnings:?}", fixture.0);
        let served: BTreeSet<usize> = snap.select(&Filter::default()).map(|r| r.series).collect();
        let original: BTreeMap<(String, String), _> = served
            .iter()
            .map(|&si| &snap.series[si])
            .flat_map(|s| {
                std::iter::once(s.master)
                    .chain(s.overrides.iter().copied())
                    .map(move |i| (s, i))
            })
            .map(|(s, i)| {
                let e = &snap.events[i].event;
                (
                    (
                        s.public_uid.clone(),
                        format!("{:?}", e.recurrence_id.map(|r| r.to_utc(chrono_tz::UTC))),
                    ),
                    e.clone(),
                )
            })
            .collect();
        assert_eq!(again.len(), original.len(), "{}", fixture.0);
        for e in again {
            let key = (
                e.uid.clone(),
                format!("{:?}", e.recurrence_id.map(|r| r.to_utc(chrono_tz::UTC))),
            );
            let o = original
                .get(&key)
                .unwrap_or_else(|| panic!("{}: unexpected {key:?}", fixture.0));
            assert_eq!(
                (
                    &e.title,
                    &e.description,
                    &e.location,
                    &e.url,
                    &e.categories,
                    e.status,
                    e.start,
                    e.end,
                    &e.rrule,
                    &e.exdates,
                    e.geo
                ),
                (
                    &o.title,
                    &o.description,
                    &o.location,
                    &o.url,
                    &o.categories,
                    o.status,
                    o.start,
                    o.end,
                    &o.rrule,
                    &o.exdates,
                    o.geo
                ),
                "{}: {key:?}",
                fixture.0
            );
        }
    }
}

#[test]
fn row6_hostile_text_is_escaped_and_survives() {
    let (events, warnings) = common::parse_fixture("ics/injection.ics");
    // The UID with an embedded line break is refused; the javascript: URL is dropped.
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("UID contains control characters")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("javascript:alert(1)") && w.contains("dropped")),
        "{warnings:?}"
    );
    let by_uid = |u: &str| {
        events
            .iter()
            .find(|e| e.uid.starts_with(u))
            .unwrap_or_else(|| panic!("{u}"))
    };
    let esc = by_uid("inj-02-escapes");
    assert_eq!(
        esc.title,
        "Zeile 1 Zeile 2, mit Komma; mit Semikolon, Backslash \\ Ende"
    );
    assert_eq!(
        esc.location.as_deref(),
        Some("Hinterhof, Eingang C; 2. OG C:\\Musterstadt\\Saal")
    );
    let cr = by_uid("inj-03-raw-cr");
    assert_eq!(
        cr.status,
        regiocal::model::Status::Confirmed,
        "a bare CR must not start a new property"
    );
    assert!(!cr.description.as_deref().unwrap_or("").contains('\r'));
    assert_eq!(by_uid("inj-04-js-url").url, None);

    let snap = snapshot_of(&[("inj", "ics/injection.ics")]);
    let text = ics::render(&snap, &Filter::default());
    let lines = unfold(&text);
    assert!(
        lines.iter().any(|l| l.starts_with(
            "SUMMARY:Zeile 1 Zeile 2\\, mit Komma\\; mit Semikolon\\, Backslash \\\\ Ende"
        )),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("UID:gefaelscht")));
    let long = lines
        .iter()
        .find(|l| l.starts_with("SUMMARY:äöüß"))
        .expect("long summary");
    assert_eq!(long.chars().count(), "SUMMARY:".len() + 200);
}

/// The fixtures of `tests/ics_interop.rs`: UTC series in X-WR-TIMEZONE, own VTIMEZONEs,
/// unknown TZIDs, THISANDFUTURE, RDATE periods, damaged files, an event without title.
const INTEROP: [(&str, &str); 8] = [
    ("xwr", "ics/google-x-wr-timezone.ics"),
    ("notes", "ics/notes-vtimezone.ics"),
    ("tzid", "ics/unknown-tzid.ics"),
    ("future", "ics/this-and-future.ics"),
    ("inter", "ics/override-interactions.ics"),
    ("exch", "ics/exchange-2010-damaged.ics"),
    ("cut", "ics/truncated.ics"),
    ("bare", "ics/bare-vevents.ics"),
];

#[test]
fn independent_parser_sees_the_same_occurrences_as_the_json_api() {
    let Some(py) = python() else { return };
    let all: Vec<(&str, &str)> = FIXTURES.iter().chain(&INTEROP).copied().collect();
    let snap = snapshot_of(&all);
    let text = ics::render(&snap, &Filter::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("merged.ics");
    std::fs::write(&path, &text).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/ics_occurrences.py");
    let out = Command::new(py)
        .arg(script)
        .arg(&path)
        .arg(snap.window.start.to_rfc3339())
        .arg(snap.window.end.to_rfc3339())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeSet<(String, String, String, String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            (
                s("uid"),
                s("start"),
                s("end"),
                s("summary"),
                s("status").to_lowercase(),
            )
        })
        .collect();
    let doc: serde_json::Value =
        serde_json::from_str(&json::render_events(&snap, &Filter::default(), None, None).unwrap())
            .unwrap();
    let berlin = |v: &serde_json::Value| {
        let s = v.as_str().unwrap();
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&chrono_tz::Europe::Berlin).to_rfc3339())
            .unwrap_or_else(|_| s.to_string())
    };
    let ours: BTreeSet<_> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["uid"].as_str().unwrap().to_string(),
                berlin(&e["start"]),
                berlin(&e["end"]),
                e["title"].as_str().unwrap_or("").to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(ours.len() > 140, "{}", ours.len());
    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only in JSON: {only_ours:#?}\nonly in ICS: {only_theirs:#?}"
    );
}

/// UID, SUMMARY, LOCATION and whether the VEVENT has a RECURRENCE-ID.
type TextRow = (String, Option<String>, Option<String>, bool);

/// A second independent reader: the `icalendar` crate's parser reads every TEXT value of the
/// merged feed (escaped, folded at 75 octets, multi-byte characters at the folds) as the
/// snapshot has it.
#[test]
fn icalendar_crate_reads_the_text_values_back() {
    let all: Vec<(&str, &str)> = FIXTURES
        .iter()
        .chain(&INTEROP)
        .chain(&[("inj", "ics/injection.ics")])
        .copied()
        .collect();
    let snap = snapshot_of(&all);
    let text = ics::render(&snap, &Filter::default());
    let unfolded = icalendar::parser::unfold(&text);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("the icalendar crate reads it");
    let prop = |c: &icalendar::parser::Component<'_>, name: &str| {
        c.find_prop(name).map(|p| p.val.as_str().to_string())
    };
    let theirs: BTreeSet<TextRow> = cal
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .map(|c| {
            (
                prop(c, "UID").unwrap_or_default(),
                prop(c, "SUMMARY"),
                prop(c, "LOCATION"),
                prop(c, "RECURRENCE-ID").is_some(),
            )
        })
        .collect();
    let served: BTreeSet<usize> = snap.select(&Filter::default()).map(|r| r.series).collect();
    let ours: BTreeSet<TextRow> = served
        .iter()
        .map(|&si| &snap.series[si])
        .flat_map(|s| {
            let orphan = snap.events[s.master].event.recurrence_id.is_some();
            std::iter::once((s, s.master, !orphan))
                .chain(s.overrides.iter().map(move |&i| (s, i, true)))
        })
        .map(|(s, i, keep_rid)| {
            let e = &snap.events[i].event;
            (
                s.public_uid.clone(),
                (!e.title.is_empty()).then(|| e.title.clone()),
                e.location.clone(),
                keep_rid && e.recurrence_id.is_some(),
            )
        })
        .collect();
    assert!(ours.len() > 60, "{}", ours.len());
    assert_eq!(theirs, ours);
}

//! iCalendar, xCal and jCal agree: the same calendar in the three formats gives the same
//! occurrences, and regiocal's own jCal and xCal outputs, read back by regiocal, give the same
//! occurrences as its iCalendar output.

mod common;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Europe::Berlin;
use regiocal::config::FormatChoice;
use regiocal::format::{self, Format, ParseContext};
use regiocal::model::{Event, EventTime, StoredEvent};
use regiocal::normalize::recurrence::{self, Window};
use regiocal::normalize::{self, NormalizeOptions};
use regiocal::output::{Filter, group_series, ics, jcal, xcal};
use serde_json::Value as Json;

/// What a subscriber sees of one occurrence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Occ {
    start: String,
    end: String,
    title: String,
    description: Option<String>,
    location: Option<String>,
    status: String,
    categories: Vec<String>,
    url: Option<String>,
    geo: Option<String>,
}

fn fmt(t: &EventTime) -> String {
    match t {
        EventTime::Date { date } => date.format("%Y-%m-%d").to_string(),
        other => other
            .to_utc(Berlin)
            .with_timezone(&Berlin)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
    }
}

fn window() -> Window {
    let p = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    Window {
        start: p("2026-10-25T00:00:00+02:00"),
        end: p("2027-12-31T23:59:59+01:00"),
    }
}

/// Parses and normalises a body as the ingest does; the detected format and the warnings.
fn parse(bytes: &[u8]) -> (Format, Vec<Event>, Vec<String>) {
    let ctx = ParseContext::new(Berlin);
    let (format, parsed) = format::parse(bytes, FormatChoice::Auto, None, &ctx)
        .unwrap_or_else(|e| panic!("does not parse: {e}"));
    let (events, mut warnings) = normalize::normalize(parsed.events, &NormalizeOptions::default());
    let mut all = parsed.warnings;
    all.append(&mut warnings);
    (format, events, all)
}

fn occurrences(events: Vec<Event>) -> Vec<Occ> {
    let stored: Vec<StoredEvent> = events
        .into_iter()
        .map(|event| StoredEvent {
            source: "s".into(),
            event,
            first_seen: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            revision: 0,
        })
        .collect();
    let mut out = Vec::new();
    for s in group_series(&stored) {
        let master = &stored[s.master].event;
        let overrides: Vec<_> = s.overrides.iter().map(|&i| &stored[i].event).collect();
        for (occ, from) in
            recurrence::expand(master, &overrides, &window(), Berlin, 1000).occurrences
        {
            let ev = from.map_or(master, |i| overrides[i]);
            out.push(Occ {
                start: fmt(&occ.start),
                end: fmt(&occ.end),
                title: ev.title.clone(),
                description: ev.description.clone(),
                location: ev.location.clone(),
                status: ev.status.as_ical().to_string(),
                categories: ev.categories.clone(),
                url: ev.url.clone(),
                geo: ev.geo.map(|g| format!("{:.6};{:.6}", g.lat, g.lon)),
            });
        }
    }
    out.sort();
    out
}

fn assert_same(what: &str, got: &[Occ], want: &[Occ]) {
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{what}: first difference");
    }
    assert_eq!(got.len(), want.len(), "{what}: occurrence count");
}

#[test]
fn the_same_calendar_in_three_formats_gives_identical_occurrences() {
    let (f_ics, ev_ics, w_ics) = parse(&common::fixture("ics/formats-agree.ics"));
    let (f_xcal, ev_xcal, w_xcal) = parse(&common::fixture("xcal/musterstadt.xml"));
    let (f_jcal, ev_jcal, w_jcal) = parse(&common::fixture("jcal/musterstadt.json"));
    assert_eq!(
        (f_ics, f_xcal, f_jcal),
        (Format::Ics, Format::Xcal, Format::Jcal)
    );
    for (name, w) in [("ics", &w_ics), ("xcal", &w_xcal), ("jcal", &w_jcal)] {
        assert!(w.is_empty(), "{name} warnings: {w:#?}");
    }
    // The components themselves are equal field by field, not only their occurrences.
    assert_eq!(ev_xcal, ev_ics);
    assert_eq!(ev_jcal, ev_ics);

    let want = occurrences(ev_ics);
    assert_same("xcal", &occurrences(ev_xcal), &want);
    assert_same("jcal", &occurrences(ev_jcal), &want);

    // What the calendar contains (so that agreeing on nothing cannot pass).
    let starts: Vec<(&str, &str, &str)> = want
        .iter()
        .map(|o| (o.start.as_str(), o.end.as_str(), o.status.as_str()))
        .collect();
    assert_eq!(
        starts,
        [
            ("2026-12-05", "2026-12-07", "CONFIRMED"),
            (
                "2026-12-10T19:00:00+01:00",
                "2026-12-10T20:30:00+01:00",
                "CONFIRMED"
            ),
            (
                "2027-01-03T17:00:00+01:00",
                "2027-01-03T19:00:00+01:00",
                "CANCELLED"
            ),
            (
                "2027-01-16T14:00:00+01:00",
                "2027-01-16T15:30:00+01:00",
                "CONFIRMED"
            ),
            (
                "2027-03-04T15:00:00+01:00",
                "2027-03-04T17:00:00+01:00",
                "CONFIRMED"
            ),
            (
                "2027-03-11T15:00:00+01:00",
                "2027-03-11T17:00:00+01:00",
                "CONFIRMED"
            ),
            (
                "2027-03-18T15:00:00+01:00",
                "2027-03-18T17:00:00+01:00",
                "CONFIRMED"
            ),
            // 2027-03-25 is excluded; after the DST change the series stays at 15:00.
            (
                "2027-04-01T15:00:00+02:00",
                "2027-04-01T17:00:00+02:00",
                "CONFIRMED"
            ),
            (
                "2027-04-08T16:00:00+02:00",
                "2027-04-08T18:00:00+02:00",
                "CONFIRMED"
            ),
            (
                "2027-04-15T15:00:00+02:00",
                "2027-04-15T17:00:00+02:00",
                "CONFIRMED"
            ),
            (
                "2027-06-26T21:30:00+02:00",
                "2027-06-26T23:30:00+02:00",
                "TENTATIVE"
            ),
        ]
    );
    let lesung = &want[1];
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
    let markt = &want[0];
    assert_eq!(markt.categories, ["Markt", "Familie"]);
    assert_eq!(markt.geo.as_deref(), Some("51.513600;7.465300"));
    assert_eq!(
        markt.url.as_deref(),
        Some("https://www.musterstadt.de/weihnachtsmarkt")
    );
    let moved = &want[8];
    assert_eq!(
        moved.title,
        "Seniorentanz im Bürgerhaus – heute mit Live-Musik"
    );
    assert_eq!(moved.categories, ["Senioren", "Tanz"]);
}

use common::snapshot_of;

const ALL_FIXTURES: [(&str, &str); 7] = [
    ("google", "ics/google.ics"),
    ("outlook", "ics/outlook.ics"),
    ("apple", "ics/apple.ics"),
    ("nextcloud", "ics/nextcloud.ics"),
    ("cms", "ics/cms-plugin.ics"),
    ("agree", "ics/formats-agree.ics"),
    ("jcal", "jcal/musterstadt.json"),
];

#[test]
fn jcal_and_xcal_outputs_read_back_like_the_ics_output() {
    let snap = snapshot_of(&ALL_FIXTURES);
    let filter = Filter::default();
    let (f, ev_ics, w_ics) = parse(ics::render(&snap, &filter).as_bytes());
    assert_eq!(f, Format::Ics);
    let want = occurrences(ev_ics.clone());
    assert!(want.len() > 50, "{}", want.len());

    let jcal_text = jcal::render(&snap, &filter);
    let (f, ev_jcal, w_jcal) = parse(jcal_text.as_bytes());
    assert_eq!(f, Format::Jcal);
    assert_eq!(w_jcal, w_ics);
    assert_eq!(ev_jcal, ev_ics, "jCal output read back");
    assert_same("jcal output", &occurrences(ev_jcal), &want);

    let xcal_text = xcal::render(&snap, &filter);
    let (f, ev_xcal, w_xcal) = parse(xcal_text.as_bytes());
    assert_eq!(f, Format::Xcal);
    assert_eq!(w_xcal, w_ics);
    assert_eq!(ev_xcal, ev_ics, "xCal output read back");
    assert_same("xcal output", &occurrences(ev_xcal), &want);
}

#[test]
fn filtered_outputs_agree_too() {
    let snap = snapshot_of(&ALL_FIXTURES);
    let filter = Filter {
        categories: vec!["tanz".into()],
        ..Filter::default()
    };
    let (_, ev_ics, _) = parse(ics::render(&snap, &filter).as_bytes());
    let (_, ev_jcal, _) = parse(jcal::render(&snap, &filter).as_bytes());
    let (_, ev_xcal, _) = parse(xcal::render(&snap, &filter).as_bytes());
    // Both Musterstadt sources announce the same series: it is published once (master and
    // override), by one of them.
    assert_eq!(ev_ics.len(), 2, "{ev_ics:#?}");
    assert!(ev_ics.iter().all(|e| e.uid == ev_ics[0].uid));
    assert_eq!(ev_jcal, ev_ics);
    assert_eq!(ev_xcal, ev_ics);
}

#[test]
fn an_unfiltered_selection_is_every_published_row_in_order() {
    // The whole calendar is walked row by row, without the occurrence index; a filter the
    // index narrows (here: every source by name) must select exactly the same rows.
    let snap = snapshot_of(&ALL_FIXTURES);
    let ids =
        |filter: &Filter| -> Vec<String> { snap.select(filter).map(|r| r.id.clone()).collect() };
    let all = ids(&Filter::default());
    let published: Vec<String> = snap
        .rows
        .iter()
        .filter(|r| r.visible())
        .map(|r| r.id.clone())
        .collect();
    assert!(published.len() > 50, "{}", published.len());
    assert!(published.len() < snap.rows.len(), "some rows are merged");
    assert_eq!(all, published);
    let by_source = Filter {
        sources: ALL_FIXTURES.iter().map(|(id, _)| id.to_string()).collect(),
        ..Filter::default()
    };
    assert_eq!(ids(&by_source), all);
    // One source narrows it to that source's published rows, in the same order.
    let google = Filter {
        sources: vec!["google".into()],
        ..Filter::default()
    };
    let want: Vec<String> = snap
        .rows
        .iter()
        .filter(|r| r.visible() && snap.series[r.series].source == "google")
        .map(|r| r.id.clone())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ids(&google), want);
}

/// Known value types of RFC 7265 section 3.5.
const TYPES: [&str; 15] = [
    "binary",
    "boolean",
    "cal-address",
    "date",
    "date-time",
    "duration",
    "float",
    "integer",
    "period",
    "recur",
    "text",
    "time",
    "uri",
    "utc-offset",
    "unknown",
];

fn is_lower(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_ascii_uppercase())
}

/// Checks a jCal component recursively; returns the number of properties seen.
fn check_component(c: &Json, path: &str) -> usize {
    let parts = c
        .as_array()
        .unwrap_or_else(|| panic!("{path}: not an array"));
    assert_eq!(parts.len(), 3, "{path}: component has 3 elements");
    let name = parts[0].as_str().expect("component name is a string");
    assert!(is_lower(name), "{path}: {name}");
    let mut seen = 0;
    for (i, p) in parts[1]
        .as_array()
        .expect("properties array")
        .iter()
        .enumerate()
    {
        let at = format!("{path}[1][{i}]");
        let items = p.as_array().unwrap_or_else(|| panic!("{at}: not an array"));
        assert!(items.len() >= 4, "{at}: {p}");
        let pname = items[0].as_str().expect("property name");
        assert!(is_lower(pname), "{at}: {pname}");
        let params = items[1].as_object().expect("params object");
        for (k, v) in params {
            assert!(is_lower(k), "{at}: parameter {k}");
            assert!(k != "value", "{at}: VALUE belongs in the type");
            assert!(
                v.is_string() || v.as_array().is_some_and(|a| a.iter().all(Json::is_string)),
                "{at}: {k}={v}"
            );
        }
        let kind = items[2].as_str().expect("type");
        assert!(TYPES.contains(&kind), "{at}: type {kind}");
        for v in &items[3..] {
            let ok = match kind {
                "date" => v.as_str().is_some_and(|s| {
                    s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-'
                }),
                "date-time" => v.as_str().is_some_and(|s| {
                    chrono::NaiveDateTime::parse_from_str(
                        s.trim_end_matches('Z'),
                        "%Y-%m-%dT%H:%M:%S",
                    )
                    .is_ok()
                }),
                "utc-offset" => v
                    .as_str()
                    .is_some_and(|s| s.len() == 6 && s.as_bytes()[3] == b':'),
                "integer" => v.is_i64(),
                "float" => v.is_f64() || v.as_array().is_some_and(|a| a.iter().all(Json::is_f64)),
                "recur" => v
                    .as_object()
                    .is_some_and(|o| o.contains_key("freq") && o.keys().all(|k| is_lower(k))),
                _ => v.is_string(),
            };
            assert!(ok, "{at}: {kind} value {v}");
        }
        seen += 1;
    }
    for (i, sub) in parts[2]
        .as_array()
        .expect("components array")
        .iter()
        .enumerate()
    {
        seen += check_component(sub, &format!("{path}[2][{i}]"));
    }
    seen
}

#[test]
fn jcal_output_of_google_is_structurally_valid() {
    let snap = snapshot_of(&ALL_FIXTURES[..1]);
    let text = jcal::render(&snap, &Filter::default());
    let doc: Json = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc[0], "vcalendar");
    assert!(check_component(&doc, "vcalendar") > 50);

    let find = |comp: &Json, name: &str| -> Vec<Json> {
        comp[1]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p[0] == name)
            .cloned()
            .collect()
    };
    let cal_props = find(&doc, "x-wr-calname");
    assert_eq!(
        cal_props,
        [serde_json::json!([
            "x-wr-calname",
            {},
            "text",
            "Test, Stadt"
        ])]
    );
    assert_eq!(
        find(&doc, "refresh-interval"),
        [serde_json::json!([
            "refresh-interval",
            {},
            "duration",
            "PT60M"
        ])]
    );
    let comps = doc[2].as_array().unwrap();
    let tz = comps
        .iter()
        .find(|c| c[0] == "vtimezone")
        .expect("vtimezone");
    assert_eq!(find(tz, "tzid")[0][3], "Europe/Berlin");
    // The weekly choir: a series with RRULE, EXDATEs and a TZID.
    let choir = comps
        .iter()
        .find(|c| !find(c, "rrule").is_empty() && find(c, "recurrence-id").is_empty())
        .expect("a series");
    assert_eq!(
        find(choir, "rrule")[0],
        serde_json::json!(["rrule", {}, "recur", {
            "freq": "WEEKLY", "byday": "TU", "until": "2027-03-30T21:59:59Z"
        }])
    );
    assert_eq!(
        find(choir, "dtstart")[0],
        serde_json::json!(["dtstart", {"tzid": "Europe/Berlin"}, "date-time", "2026-10-06T19:30:00"])
    );
    assert_eq!(find(choir, "exdate").len(), 2);
    assert_eq!(find(choir, "sequence")[0][3], 3);
}

#[test]
fn xcal_output_is_well_formed_and_namespaced() {
    use quick_xml::Reader;
    use quick_xml::events::Event as X;
    let snap = snapshot_of(&ALL_FIXTURES[5..6]);
    let text = xcal::render(&snap, &Filter::default());
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                <icalendar xmlns=\"urn:ietf:params:xml:ns:icalendar-2.0\">";
    assert!(text.starts_with(head), "{}", &text[..200]);
    let mut reader = Reader::from_str(&text);
    let mut path: Vec<String> = Vec::new();
    let mut leaves = 0;
    loop {
        match reader.read_event().expect("well-formed") {
            X::Start(s) => path.push(s.name().as_ref().to_string()),
            X::End(_) => {
                path.pop();
            }
            X::Text(t) if !t.xml10_content().trim().is_empty() => {
                // Character data only in value elements, never between structural ones.
                let leaf = path.last().unwrap();
                assert!(
                    ![
                        "properties",
                        "components",
                        "parameters",
                        "vevent",
                        "vcalendar"
                    ]
                    .contains(&leaf.as_str()),
                    "text in <{leaf}>"
                );
                leaves += 1;
            }
            X::Eof => break,
            _ => {}
        }
    }
    assert!(path.is_empty());
    assert!(leaves > 100, "{leaves}");
    let compact: String = text.lines().map(str::trim).collect();
    for part in [
        "<summary><text>Lesung &amp; Gespräch: Neue Stimmen aus Musterstadt</text></summary>",
        "<geo><latitude>51.5136</latitude><longitude>7.4653</longitude></geo>",
        "<categories><text>Senioren</text><text>Tanz</text></categories>",
    ] {
        assert!(compact.contains(part), "{part} missing");
    }
    assert!(compact.contains("<dtend><date>2026-12-07</date></dtend>"));
    assert!(
        compact.contains(
            "<rrule><recur><freq>WEEKLY</freq><until>2027-04-15T13:00:00Z</until>\
             <byday>TH</byday></recur></rrule>"
        ),
        "{text}"
    );
}

/// The single events of formats-agree.ics, published as schema.org JSON-LD (with inclusive
/// all-day end dates, as schema.org writes them), give the same occurrences as the ICS.
#[test]
fn json_ld_agrees_with_ics_for_single_events() {
    let project = |occ: Vec<Occ>| -> Vec<(String, String, String, Option<String>, String)> {
        occ.into_iter()
            .map(|o| (o.start, o.end, o.title, o.location, o.status))
            .collect()
    };
    let (format, events, warnings) = parse(&common::fixture("jsonld/formats-agree.jsonld"));
    assert_eq!(format, Format::JsonLd);
    assert!(warnings.is_empty(), "{warnings:?}");
    let uids: Vec<String> = events.iter().map(|e| e.uid.clone()).collect();
    let from_jsonld = project(occurrences(events));
    let (_, ics_events, _) = parse(&common::fixture("ics/formats-agree.ics"));
    let singles: Vec<Event> = ics_events
        .into_iter()
        .filter(|e| uids.contains(&e.uid))
        .collect();
    assert_eq!(singles.len(), 4);
    let from_ics = project(occurrences(singles));
    assert_eq!(from_jsonld, from_ics);
}

//! The corpus sweep: every test calendar that ships inside the python `icalendar` and
//! `recurring-ical-events` wheels (RFC examples, exports of Google, Outlook, Apple, Lotus,
//! Thunderbird, broken and fuzzed files), expanded by regiocal and by that independent oracle
//! (`tests/ics_corpus/oracle.py`) over the same window, compared file by file (start of each
//! occurrence in UTC, or its date for all-day ones, and the summary).
//!
//! Files the oracle cannot read are listed and not counted. A file in [`DELIBERATE`] is one
//! where regiocal differs on purpose (the comment says why, with the RFC section); every other
//! difference fails the test, and so does an entry of the list that has started to match.
//!
//! Needs `REGIOCAL_TEST_PYTHON` (a python with icalendar 7.3, recurring-ical-events 3.8 and
//! x-wr-timezone 2.0; `scripts/ics-corpus.sh` sets one up and runs this test).

mod common;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Europe::Berlin;
use regiocal::config::FormatChoice;
use regiocal::format::{self, ParseContext};
use regiocal::model::{EventTime, StoredEvent};
use regiocal::normalize::recurrence::{self, Window};
use regiocal::normalize::{self, NormalizeOptions};
use regiocal::output::group_series;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// Files where regiocal gives other occurrences than the oracle on purpose.
const DELIBERATE: &[(&str, &str)] = &[
    (
        // `DTSTART;;VALUE=DATE-TIME:…`: an empty parameter is not in the grammar of
        // RFC 5545 §3.1, but the value is unambiguous. The oracle drops the event; regiocal
        // reads it (a CMS that writes every DTSTART so would otherwise lose its whole feed).
        "icalendar/tests/calendars/broken_ical.ics",
        "an empty parameter is read leniently",
    ),
    (
        // `DTSTART;VALUE=DATE:20230724` with `DTEND:20230817T000000Z`: RFC 5545 §3.8.2.2
        // wants DTEND in DTSTART's value type. An end at midnight is a date boundary, so the
        // event stays all-day (24 July to 16 August, a holiday); the oracle makes it a timed
        // event from midnight UTC. (An end with a time of day is read as the oracle does.)
        "recurring_ical_events/test/calendars/issue_201_mixed_datetime_and_date.ics",
        "a DATE start with an end at midnight stays all-day",
    ),
    (
        // Outlook writes the UNTIL of an all-day series as the UTC instant of local midnight
        // of the last day (`UNTIL=20200916T230000Z` for 17 September in London). RFC 5545
        // §3.3.10 wants a DATE there and UNTIL is inclusive: regiocal reads the local date and
        // keeps the last instance; the oracle cuts the UTC date and drops it (the same quirk
        // fixtures/ics/README.md describes for fixtures/ics/outlook.ics).
        "recurring_ical_events/test/calendars/issue_28_rrule_with_UTC_endinginZ.ics",
        "Outlook's all-day UNTIL keeps its last day",
    ),
    (
        // `UNTIL=20250920` (a DATE) on a series with a UTC DTSTART: RFC 5545 §3.3.10 says
        // UNTIL bounds the series inclusively, so regiocal keeps the instances of that whole
        // day; the oracle reads the date as midnight UTC and ends the series the day before.
        "recurring_ical_events/test/calendars/issue_75_range_parameter.ics",
        "a DATE UNTIL includes its day",
    ),
];

/// The share of oracle-readable files that must give exactly the oracle's occurrences.
const TARGET_PERCENT: f64 = 98.0;

#[derive(Deserialize)]
struct Oracle {
    window: (String, String),
    files: Vec<OracleFile>,
}

#[derive(Deserialize)]
struct OracleFile {
    file: String,
    path: String,
    status: String,
    #[serde(default)]
    occurrences: Vec<(String, String)>,
    #[serde(default)]
    error: String,
}

fn oracle(python: &str) -> Oracle {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ics_corpus/oracle.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .output()
        .expect("run the oracle");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle JSON")
}

/// Whitespace runs as one space, trimmed: both sides clean titles differently in that respect
/// only (regiocal's `clean_line`).
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn key(t: &EventTime) -> String {
    match t {
        EventTime::Date { date } => date.format("%Y-%m-%d").to_string(),
        other => other
            .to_utc(Berlin)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// regiocal's occurrences of one file, as the ingest and the snapshot compute them; or the
/// reason the whole file was refused.
fn ours(path: &str, window: &Window) -> Result<Vec<(String, String)>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let ctx = ParseContext::new(Berlin);
    let (_, parsed) =
        format::parse(&bytes, FormatChoice::Auto, None, &ctx).map_err(|e| e.to_string())?;
    let (events, _) = normalize::normalize(parsed.events, &NormalizeOptions::default());
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
            recurrence::expand(master, &overrides, window, Berlin, 100_000).occurrences
        {
            let ev = from.map_or(master, |i| overrides[i]);
            out.push((key(&occ.start), squash(&ev.title)));
        }
    }
    out.sort();
    Ok(out)
}

fn first_difference(got: &[(String, String)], want: &[(String, String)]) -> String {
    let g: BTreeSet<_> = got.iter().collect();
    let w: BTreeSet<_> = want.iter().collect();
    let extra: Vec<_> = g.difference(&w).take(3).collect();
    let missing: Vec<_> = w.difference(&g).take(3).collect();
    format!(
        "{} occurrences, oracle {}; only regiocal: {extra:?}; only oracle: {missing:?}",
        got.len(),
        want.len()
    )
}

#[test]
fn corpus_matches_the_oracle() {
    let Some(python) = common::python() else {
        return;
    };
    let oracle = oracle(&python);
    let parse = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("window")
            .with_timezone(&Utc)
    };
    let window = Window {
        start: parse(&oracle.window.0),
        end: parse(&oracle.window.1),
    };
    let deliberate: BTreeSet<&str> = DELIBERATE.iter().map(|(f, _)| *f).collect();
    let (mut readable, mut matching) = (0usize, 0usize);
    let mut unreadable = Vec::new();
    let mut failures = Vec::new();
    let mut stale = Vec::new();
    for f in &oracle.files {
        if f.status != "ok" {
            unreadable.push(format!("  {}: {}", f.file, f.error));
            continue;
        }
        readable += 1;
        let want: Vec<(String, String)> = f
            .occurrences
            .iter()
            .map(|(s, t)| (s.clone(), squash(t)))
            .collect();
        let verdict = match ours(&f.path, &window) {
            Ok(got) if got == want => Ok(()),
            Ok(got) => Err(first_difference(&got, &want)),
            Err(e) => Err(format!("refused: {e}")),
        };
        match (verdict, deliberate.contains(f.file.as_str())) {
            (Ok(()), false) => matching += 1,
            (Ok(()), true) => {
                matching += 1;
                stale.push(f.file.clone());
            }
            (Err(_), true) => {}
            (Err(why), false) => failures.push(format!("  {}: {why}", f.file)),
        }
    }
    let percent = 100.0 * matching as f64 / readable.max(1) as f64;
    let report = format!(
        "corpus: {} files, {readable} readable by the oracle, {matching} match ({percent:.1} %), \
         {} deliberately different, {} differ\noracle cannot read:\n{}\ndiffer:\n{}",
        oracle.files.len(),
        DELIBERATE.len(),
        failures.len(),
        unreadable.join("\n"),
        failures.join("\n")
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{report}");
    assert!(readable >= 200, "the corpus shrank: {report}");
    assert!(failures.is_empty(), "{report}");
    assert!(
        stale.is_empty(),
        "these DELIBERATE entries match now, remove them: {stale:?}"
    );
    assert!(percent >= TARGET_PERCENT, "{report}");
}

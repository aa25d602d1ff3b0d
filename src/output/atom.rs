//! The merged calendar as an Atom 1.0 feed (RFC 4287) of upcoming occurrences, for feed
//! readers, newsletters and CMS "upcoming events" boxes.
//!
//! One entry per occurrence that matches the filter and has not ended yet, in start order, at
//! most [`MAX_ENTRIES`]. Each entry has a stable id (`tag:regiocal,2026:event:{id}`, the id of
//! the JSON API), the event's title, a plain-text summary that starts with a German date line
//! ("Sa., 5. Dezember 2026, 19:00–21:00 Uhr · Ort"), its categories and its http(s) link, and
//! the machine-readable dates as RSS event module elements (`ev:startdate`, `ev:enddate`, RFC
//! 3339 with offset, or dates for all-day occurrences with the end exclusive) plus
//! `ev:location` and `georss:point`, so that regiocal's own Atom input reads the feed back
//! into the same occurrences. Everything is written with `quick-xml`'s writer, so all text
//! and attribute values are escaped; characters XML 1.0 cannot carry are dropped.

use super::json::{EventDoc, event_doc};
use super::{Filter, Row, Snapshot};
use crate::model::{EventTime, Status};
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::io;

/// Most entries in one feed.
pub const MAX_ENTRIES: usize = 500;
/// The feed's `id`.
pub const FEED_ID: &str = "tag:regiocal,2026:feed";
/// Prefix of every entry's `id` (followed by the occurrence id).
pub const ENTRY_ID_PREFIX: &str = "tag:regiocal,2026:event:";

const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
const NS_EV: &str = "http://purl.org/rss/1.0/modules/event/";
const NS_GEORSS: &str = "http://www.georss.org/georss";

/// Renders the upcoming occurrences matching `filter` (upcoming as of [`crate::clock::now`]).
pub fn render(snap: &Snapshot, filter: &Filter) -> String {
    render_at(snap, filter, crate::clock::now())
}

/// Renders the occurrences matching `filter` that end after `now`.
pub fn render_at(snap: &Snapshot, filter: &Filter, now: DateTime<Utc>) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    if write_feed(&mut w, snap, filter, now).is_err() {
        return String::new();
    }
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

fn write_feed(
    w: &mut Writer<Vec<u8>>,
    snap: &Snapshot,
    filter: &Filter,
    now: DateTime<Utc>,
) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    let mut feed = BytesStart::new("feed");
    feed.push_attribute(("xmlns", NS_ATOM));
    feed.push_attribute(("xmlns:ev", NS_EV));
    feed.push_attribute(("xmlns:georss", NS_GEORSS));
    feed.push_attribute(("xml:lang", "de"));
    w.write_event(Event::Start(feed))?;
    text_element(w, "id", FEED_ID)?;
    text_element(w, "title", &snap.calendar.name)?;
    if let Some(d) = &snap.calendar.description {
        text_element(w, "subtitle", d)?;
    }
    text_element(w, "updated", &stamp(&snap.last_modified))?;
    w.write_event(Event::Start(BytesStart::new("author")))?;
    text_element(w, "name", &snap.calendar.name)?;
    w.write_event(Event::End(BytesEnd::new("author")))?;
    text_element(w, "generator", "regiocal")?;
    let upcoming = snap
        .select(filter)
        .filter(|r| r.occurrence.end_utc > now)
        .take(MAX_ENTRIES);
    for row in upcoming {
        write_entry(w, snap, row)?;
    }
    w.write_event(Event::End(BytesEnd::new("feed")))?;
    Ok(())
}

/// The entry title of an event without one (the web pages say the same).
const UNTITLED: &str = "(ohne Titel)";

fn write_entry(w: &mut Writer<Vec<u8>>, snap: &Snapshot, row: &Row) -> io::Result<()> {
    let doc = event_doc(snap, row, false);
    let stored = &snap.events[row.event];
    w.write_event(Event::Start(BytesStart::new("entry")))?;
    text_element(w, "id", &format!("{ENTRY_ID_PREFIX}{}", row.id))?;
    // atom:title is required (RFC 4287 §4.1.2): an untitled event gets the web page's wording.
    text_element(w, "title", doc.title.unwrap_or(UNTITLED))?;
    text_element(w, "published", &stamp(&stored.first_seen))?;
    text_element(w, "updated", &stamp(&stored.updated_at))?;
    if let Some(url) = doc.url.filter(|u| is_http(u)) {
        let mut link = BytesStart::new("link");
        link.push_attribute(("rel", "alternate"));
        link.push_attribute(("type", "text/html"));
        link.push_attribute(("href", xml_safe(url).as_str()));
        w.write_event(Event::Empty(link))?;
    }
    for c in doc.categories {
        let mut cat = BytesStart::new("category");
        cat.push_attribute(("term", xml_safe(c).as_str()));
        w.write_event(Event::Empty(cat))?;
    }
    let zone = row
        .occurrence
        .start
        .zone()
        .unwrap_or(snap.calendar.timezone);
    text_element(w, "summary", &summary(&doc, row, zone))?;
    text_element(w, "ev:startdate", &doc.start)?;
    text_element(w, "ev:enddate", &doc.end)?;
    if let Some(l) = doc.location {
        text_element(w, "ev:location", l)?;
    }
    if let Some(g) = doc.geo {
        text_element(w, "georss:point", &format!("{:.6} {:.6}", g.lat, g.lon))?;
    }
    w.write_event(Event::End(BytesEnd::new("entry")))?;
    Ok(())
}

/// `<name>text</name>`, with the text escaped.
fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_safe(text)))?;
    Ok(())
}

/// The text without the characters XML 1.0 cannot carry (C0 controls other than tab and line
/// breaks, U+FFFE, U+FFFF), which escaping cannot fix.
fn xml_safe(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

fn is_http(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn stamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The plain-text summary: the German date line (with the status and the place), then the
/// description.
fn summary(doc: &EventDoc, row: &Row, zone: Tz) -> String {
    let mut line = String::new();
    match doc.status {
        Status::Cancelled => line.push_str("Abgesagt: "),
        Status::Postponed => line.push_str("Verschoben: "),
        Status::Confirmed | Status::Tentative => {}
    }
    line.push_str(&when(&row.occurrence.start, &row.occurrence.end, zone));
    if let Some(l) = doc.location {
        line.push_str(" · ");
        line.push_str(l);
    }
    match doc.description {
        Some(d) if !d.trim().is_empty() => format!("{line}\n\n{}", d.trim()),
        _ => line,
    }
}

/// "Sa., 5. Dezember 2026, 19:00–21:00 Uhr", "Do., 24. Dezember 2026", or a span over days.
pub fn when(start: &EventTime, end: &EventTime, zone: Tz) -> String {
    match (start, end) {
        (EventTime::Date { date }, _) => {
            let last = match end {
                EventTime::Date { date: e } if e > date => e.pred_opt().unwrap_or(*e),
                _ => *date,
            };
            if last == *date {
                german_date(*date)
            } else {
                format!("{} – {}", german_date(*date), german_date(last))
            }
        }
        _ => {
            let s = start.to_utc(zone).with_timezone(&zone);
            let e = end.to_utc(zone).with_timezone(&zone);
            let (sd, ed) = (s.date_naive(), e.date_naive());
            let (st, et) = (s.format("%H:%M"), e.format("%H:%M"));
            if s == e {
                format!("{}, {st} Uhr", german_date(sd))
            } else if sd == ed {
                format!("{}, {st}–{et} Uhr", german_date(sd))
            } else {
                format!(
                    "{}, {st} Uhr – {}, {et} Uhr",
                    german_date(sd),
                    german_date(ed)
                )
            }
        }
    }
}

/// "Sa., 5. Dezember 2026".
fn german_date(d: NaiveDate) -> String {
    const DAYS: [&str; 7] = ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."];
    let day = DAYS
        .get(d.weekday().num_days_from_monday() as usize)
        .unwrap_or(&"");
    let month = super::GERMAN_MONTHS.get(d.month0() as usize).unwrap_or(&"");
    format!("{day}, {}. {month} {}", d.day(), d.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use chrono_tz::Europe::Berlin;

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

    #[test]
    fn german_date_lines() {
        assert_eq!(
            when(
                &local("2026-12-05 19:00"),
                &local("2026-12-05 21:00"),
                Berlin
            ),
            "Sa., 5. Dezember 2026, 19:00–21:00 Uhr"
        );
        assert_eq!(
            when(
                &local("2027-03-01 10:00"),
                &local("2027-03-01 10:00"),
                Berlin
            ),
            "Mo., 1. März 2027, 10:00 Uhr"
        );
        assert_eq!(
            when(
                &local("2026-12-31 22:00"),
                &local("2027-01-01 02:00"),
                Berlin
            ),
            "Do., 31. Dezember 2026, 22:00 Uhr – Fr., 1. Januar 2027, 02:00 Uhr"
        );
        assert_eq!(
            when(&date("2026-12-24"), &date("2026-12-25"), Berlin),
            "Do., 24. Dezember 2026"
        );
        assert_eq!(
            when(&date("2026-12-24"), &date("2026-12-27"), Berlin),
            "Do., 24. Dezember 2026 – Sa., 26. Dezember 2026"
        );
        let utc = EventTime::Utc {
            utc: "2026-12-05T18:00:00Z".parse().unwrap(),
        };
        assert_eq!(when(&utc, &utc, Berlin), "Sa., 5. Dezember 2026, 19:00 Uhr");
    }

    #[test]
    fn invalid_xml_characters_are_dropped() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\td\u{FFFF}"), "abc\td");
    }
}

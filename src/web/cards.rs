//! Occurrences as the lists show them: one card per occurrence (title, time, place, district,
//! categories, badges), grouped by day. Used by the list page, the map's pop-ups and the embed.

use super::i18n::Lang;
use super::query::PageQuery;
use crate::model::{EventTime, Status};
use crate::output::{Row, Snapshot, free_admission};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// One occurrence in a list.
#[derive(Debug, Clone)]
pub struct Card {
    /// Link to the detail page.
    pub href: String,
    pub title: String,
    /// "19:00–21:00 Uhr", "ganztägig", "läuft bis Fr., 5. Dez."
    pub when: String,
    /// Start for the `datetime` attribute (RFC 3339 or a date).
    pub start_iso: String,
    /// Venue name, else the location text.
    pub place: Option<String>,
    pub district: Option<String>,
    /// Category labels in the page's language.
    pub categories: Vec<String>,
    /// "Eintritt frei" when admission is free.
    pub free: Option<&'static str>,
    /// Open the link in a new tab (the embed inside a host page).
    pub new_tab: bool,
    /// "Abgesagt" etc., for anything but a confirmed event.
    pub status: Option<&'static str>,
    pub cancelled: bool,
}

/// The cards of one day.
#[derive(Debug, Clone)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub iso: String,
    pub heading: String,
    pub cards: Vec<Card>,
}

/// Start and end of an occurrence on the calendar's wall clock; for all-day occurrences the
/// times are `None` and the end is the last day (inclusive).
struct Span {
    start: NaiveDate,
    start_time: Option<NaiveTime>,
    end: NaiveDate,
    end_time: Option<NaiveTime>,
}

fn span(snap: &Snapshot, row: &Row) -> Span {
    let tz = snap.calendar.timezone;
    let o = &row.occurrence;
    match (o.start, o.end) {
        (EventTime::Date { date: s }, end) => {
            let last = match end {
                EventTime::Date { date: e } => crate::model::add_days(e, -1).max(s),
                other => other.date_in(tz).max(s),
            };
            Span {
                start: s,
                start_time: None,
                end: last,
                end_time: None,
            }
        }
        _ => {
            let s: NaiveDateTime = o.start_utc.with_timezone(&tz).naive_local();
            let mut e: NaiveDateTime = o.end_utc.with_timezone(&tz).naive_local();
            // An end at midnight belongs to the day before ("20:00–00:00").
            if e.time() == NaiveTime::MIN && e.date() > s.date() {
                e -= chrono::Duration::seconds(1);
                return Span {
                    start: s.date(),
                    start_time: Some(s.time()),
                    end: e.date(),
                    end_time: Some(NaiveTime::MIN),
                };
            }
            Span {
                start: s.date(),
                start_time: Some(s.time()),
                end: e.date(),
                end_time: Some(e.time()),
            }
        }
    }
}

/// The day an occurrence is listed under when the list starts at `first_day`: its first day,
/// or the list's first day for one that is already running.
pub fn list_day(snap: &Snapshot, row: &Row, first_day: NaiveDate) -> NaiveDate {
    span(snap, row).start.max(first_day)
}

/// The time text of an occurrence listed under `day`.
pub fn when(snap: &Snapshot, row: &Row, lang: Lang, day: NaiveDate) -> String {
    let t = lang.texts();
    let s = span(snap, row);
    match (s.start_time, s.end_time) {
        (None, _) => {
            if s.start < day {
                format!("{} {}", t.ongoing_until, lang.short_date_near(s.end, day))
            } else if s.end > s.start {
                format!(
                    "{}, {} {}",
                    t.all_day,
                    t.until,
                    lang.short_date_near(s.end, day)
                )
            } else {
                t.all_day.to_string()
            }
        }
        (Some(st), et) => {
            let et = et.unwrap_or(st);
            if s.start < day {
                format!(
                    "{} {}, {}",
                    t.ongoing_until,
                    lang.short_date_near(s.end, day),
                    lang.time_range(et, None)
                )
            } else if s.end > s.start {
                format!(
                    "{} {} {}, {}",
                    lang.time(st),
                    t.until,
                    lang.short_date_near(s.end, day),
                    lang.time_range(et, None)
                )
            } else {
                lang.time_range(st, Some(et))
            }
        }
    }
}

/// The full date and time text of an occurrence (detail page): "Donnerstag, 3. Dezember 2026,
/// 19:00–21:00 Uhr".
pub fn when_long(snap: &Snapshot, row: &Row, lang: Lang) -> String {
    let t = lang.texts();
    let s = span(snap, row);
    match (s.start_time, s.end_time) {
        (None, _) if s.end > s.start => format!(
            "{} {} {}",
            lang.long_date(s.start),
            t.until,
            lang.long_date(s.end)
        ),
        (None, _) => format!("{}, {}", lang.long_date(s.start), t.all_day),
        (Some(st), et) if s.end > s.start => format!(
            "{}, {} {} {}, {}",
            lang.long_date(s.start),
            lang.time(st),
            t.until,
            lang.long_date(s.end),
            lang.time_range(et.unwrap_or(st), None)
        ),
        (Some(st), et) => format!("{}, {}", lang.long_date(s.start), lang.time_range(st, et)),
    }
}

/// The label of a category id in a language (the id itself when the vocabulary lacks it).
pub fn category_label(snap: &Snapshot, id: &str, lang: Lang) -> String {
    snap.vocabulary
        .categories
        .iter()
        .find(|c| c.id.eq_ignore_ascii_case(id))
        .map(|c| match lang {
            Lang::De if !c.de.is_empty() => c.de.clone(),
            Lang::En if !c.en.is_empty() => c.en.clone(),
            _ => c.id.clone(),
        })
        .unwrap_or_else(|| id.to_string())
}

/// The label of a status other than confirmed.
pub fn status_label(status: Status, lang: Lang) -> Option<&'static str> {
    let t = lang.texts();
    match status {
        Status::Confirmed => None,
        Status::Tentative => Some(t.tentative),
        Status::Cancelled => Some(t.cancelled),
        Status::Postponed => Some(t.postponed),
    }
}

/// The start of an occurrence for a `datetime` attribute.
pub fn start_iso(snap: &Snapshot, row: &Row) -> String {
    match row.occurrence.start {
        EventTime::Date { date } => crate::timefmt::iso_date(date),
        _ => row
            .occurrence
            .start_utc
            .with_timezone(&snap.calendar.timezone)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    }
}

/// The venue name or location text of an occurrence.
pub fn place_name(snap: &Snapshot, row: &Row) -> Option<String> {
    let place = snap.places.get(row.event).copied().unwrap_or_default();
    match place.venue {
        Some(v) => Some(snap.geo.venues.venues[v].name.clone()),
        None => snap.events[row.event].event.location.clone(),
    }
}

/// The district name of an occurrence.
pub fn district_name(snap: &Snapshot, row: &Row) -> Option<String> {
    let place = snap.places.get(row.event).copied().unwrap_or_default();
    place
        .district
        .map(|d| snap.geo.districts.areas[d].name.clone())
}

/// The card of an occurrence listed under `day`; `href` links to its page.
pub fn card(snap: &Snapshot, row: &Row, lang: Lang, day: NaiveDate, href: String) -> Card {
    let ev = &snap.events[row.event].event;
    Card {
        href,
        title: lang.title(&ev.title),
        when: when(snap, row, lang, day),
        start_iso: start_iso(snap, row),
        place: place_name(snap, row),
        district: district_name(snap, row),
        categories: ev
            .categories
            .iter()
            .map(|c| category_label(snap, c, lang))
            .collect(),
        free: (free_admission(ev) == Some(true)).then_some(lang.texts().free),
        new_tab: false,
        status: status_label(ev.status, lang),
        cancelled: ev.status == Status::Cancelled,
    }
}

/// The link of an occurrence's page, keeping the chosen language.
pub fn event_href(q: &PageQuery, id: &str) -> String {
    q.plain_href(&format!("/events/{id}"))
}

/// Rows grouped into days, starting at `first_day` (rows come sorted by start).
pub fn days<'a>(
    snap: &'a Snapshot,
    rows: impl Iterator<Item = &'a Row>,
    q: &PageQuery,
    first_day: NaiveDate,
    today: NaiveDate,
) -> Vec<Day> {
    let mut out: Vec<(NaiveDate, Vec<Card>)> = Vec::new();
    for row in rows {
        let day = list_day(snap, row, first_day);
        let c = card(snap, row, q.lang, day, event_href(q, &row.id));
        // Rows sorted by start give non-decreasing days: the day is almost always the last one.
        match out.iter_mut().rev().find(|(d, _)| *d == day) {
            Some((_, cards)) => cards.push(c),
            None => out.push((day, vec![c])),
        }
    }
    out.sort_by_key(|(d, _)| *d);
    out.into_iter()
        .map(|(d, cards)| Day {
            iso: d.format("%Y-%m-%d").to_string(),
            heading: q.lang.day_heading(d, today),
            cards,
        })
        .collect()
}

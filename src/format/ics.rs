//! iCalendar (RFC 5545) input, parsed with `calcard`.
//!
//! Handles what real exports contain: folded lines, escaped TEXT, quoted parameters, several
//! VCALENDARs in one file, BOMs and LF-only files, unknown properties and components (ignored),
//! TZIDs given as IANA names, Windows names ("W. Europe Standard Time"), `/`-prefixed vendor ids
//! or custom VTIMEZONE definitions (matched to an IANA zone by their offsets), Google's
//! `X-WR-TIMEZONE`, UTC and floating times, DATE values, and DTEND vs DURATION vs neither.
//! Each VEVENT that cannot be used becomes a warning naming its UID (or position) and the reason.

use super::{FormatError, ParseContext, Parsed};
use crate::model::{Event, EventTime, Geo, Status, add_days, local_to_utc, recurrence_key};
use calcard::common::PartialDateTime;
use calcard::common::timezone::Tz as CalTz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarPeriod,
    ICalendarProperty, ICalendarStatus, ICalendarValue,
};
use calcard::{Entry, Parser};
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::str::FromStr;

/// Longest physical line accepted (bytes). A longer one means the file is not a sane calendar.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Longest logical (unfolded) line accepted (bytes).
pub const MAX_UNFOLDED_BYTES: usize = 1024 * 1024;
/// Most VEVENTs read from one feed.
pub const MAX_EVENTS: usize = 250_000;

/// How a TZID resolved.
#[derive(Debug, Clone, Copy)]
enum Zone {
    Iana(Tz),
    Fixed(i32),
}

/// Per-VCALENDAR context.
struct Cal {
    floating: Tz,
    zones: HashMap<String, Zone>,
}

/// Parses an iCalendar text.
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    check_lines(text)?;
    let mut out = Parsed::default();
    let mut parser = Parser::new(text);
    let mut calendars = 0usize;
    let mut position = 0usize;
    loop {
        match parser.entry() {
            Entry::ICalendar(ical) => {
                calendars += 1;
                read_calendar(&ical, ctx, &mut position, &mut out)?;
            }
            Entry::InvalidLine(line) => out.warnings.push(format!(
                "line {}: ignored invalid line {:?}",
                line_number(text, &line),
                shorten(&line)
            )),
            Entry::UnexpectedComponentEnd { expected, found } => out.warnings.push(format!(
                "unexpected END:{} (expected END:{})",
                found.as_str(),
                expected.as_str()
            )),
            Entry::UnterminatedComponent(name) => {
                // A cut-off download: what is missing cannot be told, so the feed is refused.
                return Err(FormatError::Ics(format!(
                    "file is truncated ({name} not terminated)"
                )));
            }
            Entry::TooManyComponents => return Err(FormatError::Ics("too many components".into())),
            Entry::VCard(_) => out.warnings.push("ignored a vCard".into()),
            Entry::Eof => break,
            _ => out.warnings.push("ignored an unsupported entry".into()),
        }
    }
    if calendars == 0 {
        return Err(FormatError::Ics("no VCALENDAR found".into()));
    }
    Ok(out)
}

/// Refuses absurd line lengths and truncated files before handing the text to the parser.
fn check_lines(text: &str) -> Result<(), FormatError> {
    let mut logical = 0usize;
    let (mut begins, mut ends) = (0usize, 0usize);
    for (n, line) in text.split('\n').enumerate() {
        let content = line.trim_end_matches('\r');
        if content.eq_ignore_ascii_case("BEGIN:VCALENDAR") {
            begins += 1;
        } else if content.eq_ignore_ascii_case("END:VCALENDAR") {
            ends += 1;
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(FormatError::Ics(format!(
                "line {} is longer than {MAX_LINE_BYTES} bytes",
                n + 1
            )));
        }
        if line.starts_with([' ', '\t']) {
            logical += line.len();
        } else {
            logical = line.len();
        }
        if logical > MAX_UNFOLDED_BYTES {
            return Err(FormatError::Ics(format!(
                "unfolded line ending at line {} is longer than {MAX_UNFOLDED_BYTES} bytes",
                n + 1
            )));
        }
    }
    if begins > ends {
        // A cut-off download: what is missing cannot be told, so the feed is refused.
        return Err(FormatError::Ics(
            "file is truncated (END:VCALENDAR missing)".into(),
        ));
    }
    Ok(())
}

fn line_number(text: &str, line: &str) -> usize {
    if line.is_empty() {
        return 0;
    }
    text.find(line)
        .map(|at| text[..at].matches('\n').count() + 1)
        .unwrap_or(0)
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn read_calendar(
    ical: &ICalendar,
    ctx: &ParseContext,
    position: &mut usize,
    out: &mut Parsed,
) -> Result<(), FormatError> {
    let root = ical.components.first();
    let floating = root
        .and_then(|r| text_of(r, "X-WR-TIMEZONE"))
        .and_then(|name| match CalTz::from_str(name.trim()) {
            Ok(CalTz::Tz(tz)) => Some(tz),
            _ => None,
        })
        .unwrap_or(ctx.default_tz);
    let mut cal = Cal {
        floating,
        zones: HashMap::new(),
    };
    for comp in ical.timezones() {
        if let Some((name, zone)) = resolve_vtimezone(ical, comp, ctx.default_tz) {
            cal.zones.insert(name, zone);
        }
    }
    for comp in &ical.components {
        if comp.component_type != ICalendarComponentType::VEvent {
            continue;
        }
        *position += 1;
        if out.events.len() >= MAX_EVENTS {
            return Err(FormatError::Ics(format!("more than {MAX_EVENTS} events")));
        }
        match read_event(comp, &cal) {
            Ok(ev) => out.events.push(ev),
            Err(reason) => {
                let who = match comp.uid() {
                    Some(uid) if !uid.trim().is_empty() => format!("event {:?}", shorten(uid)),
                    _ => format!("event #{position} (no UID)"),
                };
                out.warnings.push(format!("{who} skipped: {reason}"));
            }
        }
    }
    Ok(())
}

/// The text value of an `X-` (or other unknown) property.
fn text_of<'a>(comp: &'a ICalendarComponent, name: &str) -> Option<&'a str> {
    comp.entries
        .iter()
        .find_map(|e| match (&e.name, e.values.first()) {
            (ICalendarProperty::Other(n), Some(v)) if n.eq_ignore_ascii_case(name) => v.as_text(),
            _ => None,
        })
}

/// Maps a VTIMEZONE to a zone: by its TZID / X-LIC-LOCATION / X-MICROSOFT-CDO-TZID (calcard),
/// else by matching its STANDARD/DAYLIGHT offsets against the calendar's zone and a few common
/// ones, else (no DST) a fixed offset.
fn resolve_vtimezone(
    ical: &ICalendar,
    comp: &ICalendarComponent,
    default_tz: Tz,
) -> Option<(String, Zone)> {
    let name = comp
        .entries
        .iter()
        .find(|e| e.name == ICalendarProperty::Tzid)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())?
        .to_string();
    match comp.timezone() {
        Some((_, CalTz::Tz(tz))) => return Some((name, Zone::Iana(tz))),
        Some((_, CalTz::Fixed(off))) => return Some((name, Zone::Fixed(off.local_minus_utc()))),
        _ => {}
    }
    let mut standard = None;
    let mut daylight = None;
    for id in &comp.component_ids {
        let Some(sub) = ical.components.get(*id as usize) else {
            continue;
        };
        let offset = sub
            .entries
            .iter()
            .find(|e| e.name == ICalendarProperty::Tzoffsetto)
            .and_then(|e| e.values.first())
            .and_then(utc_offset_seconds);
        match sub.component_type {
            ICalendarComponentType::Standard => standard = standard.or(offset),
            ICalendarComponentType::Daylight => daylight = daylight.or(offset),
            _ => {}
        }
    }
    let standard = standard?;
    let Some(daylight) = daylight else {
        return Some((name, Zone::Fixed(standard)));
    };
    let candidates = [
        default_tz,
        chrono_tz::Europe::Berlin,
        chrono_tz::Europe::London,
        chrono_tz::Europe::Helsinki,
        chrono_tz::America::New_York,
        chrono_tz::America::Chicago,
        chrono_tz::America::Denver,
        chrono_tz::America::Los_Angeles,
    ];
    let year = crate::clock::now().year();
    candidates
        .into_iter()
        .find(|tz| {
            let jan = tz.with_ymd_and_hms(year, 1, 15, 12, 0, 0).single();
            let jul = tz.with_ymd_and_hms(year, 7, 15, 12, 0, 0).single();
            match (jan, jul) {
                (Some(j), Some(u)) => {
                    j.offset().fix().local_minus_utc() == standard
                        && u.offset().fix().local_minus_utc() == daylight
                }
                _ => false,
            }
        })
        .map(|tz| (name, Zone::Iana(tz)))
}

fn utc_offset_seconds(v: &ICalendarValue) -> Option<i32> {
    match v {
        ICalendarValue::PartialDateTime(p) => {
            let secs = i32::from(p.tz_hour?) * 3600 + i32::from(p.tz_minute.unwrap_or(0)) * 60;
            Some(if p.tz_minus { -secs } else { secs })
        }
        ICalendarValue::Text(t) => parse_offset_text(t),
        _ => None,
    }
}

fn parse_offset_text(t: &str) -> Option<i32> {
    let t = t.trim();
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let h: i32 = rest.get(0..2)?.parse().ok()?;
    let m: i32 = rest.get(2..4)?.parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

fn read_event(comp: &ICalendarComponent, cal: &Cal) -> Result<Event, String> {
    let mut uid = None;
    let mut title = None;
    let mut description = None;
    let mut location = None;
    let mut url = None;
    let mut geo = None;
    let mut categories = Vec::new();
    let mut status = Status::Confirmed;
    let mut start = None;
    let mut end = None;
    let mut duration = None;
    let mut rrule = None;
    let mut rdates = Vec::new();
    let mut exdates = Vec::new();
    let mut recurrence_id = None;
    let mut sequence = 0u32;
    let mut last_modified = None;
    let mut created = None;

    for e in &comp.entries {
        let first = e.values.first();
        match &e.name {
            ICalendarProperty::Uid => uid = first.and_then(|v| v.as_text()).map(str::to_string),
            ICalendarProperty::Summary => title = joined_text(e),
            ICalendarProperty::Description => description = joined_text(e),
            ICalendarProperty::Location => location = joined_text(e),
            ICalendarProperty::Url => url = first.and_then(value_as_uri),
            ICalendarProperty::Geo => {
                let nums: Vec<f64> = e
                    .values
                    .iter()
                    .filter_map(|v| match v {
                        ICalendarValue::Float(f) => Some(*f),
                        ICalendarValue::Integer(i) => Some(*i as f64),
                        ICalendarValue::Text(t) => t.trim().parse().ok(),
                        _ => None,
                    })
                    .collect();
                if let [lat, lon] = nums[..] {
                    geo = Geo::new(lat, lon);
                }
            }
            ICalendarProperty::Categories => categories.extend(
                e.values
                    .iter()
                    .filter_map(|v| v.as_text())
                    .flat_map(|t| t.split(','))
                    .map(str::to_string),
            ),
            ICalendarProperty::Status => {
                status = match first {
                    Some(ICalendarValue::Status(ICalendarStatus::Cancelled)) => Status::Cancelled,
                    Some(ICalendarValue::Status(ICalendarStatus::Tentative)) => Status::Tentative,
                    Some(ICalendarValue::Text(t)) if t.eq_ignore_ascii_case("CANCELLED") => {
                        Status::Cancelled
                    }
                    Some(ICalendarValue::Text(t)) if t.eq_ignore_ascii_case("TENTATIVE") => {
                        Status::Tentative
                    }
                    _ => Status::Confirmed,
                }
            }
            ICalendarProperty::Dtstart => {
                start = Some(time_value(e, cal).map_err(|m| format!("DTSTART: {m}"))?)
            }
            ICalendarProperty::Dtend => {
                end = Some(time_value(e, cal).map_err(|m| format!("DTEND: {m}"))?)
            }
            ICalendarProperty::Duration => match first {
                Some(ICalendarValue::Duration(d)) => duration = Some(d.clone()),
                _ => return Err("DURATION: invalid value".into()),
            },
            ICalendarProperty::RecurrenceId => {
                recurrence_id = Some(time_value(e, cal).map_err(|m| format!("RECURRENCE-ID: {m}"))?)
            }
            ICalendarProperty::Rrule if rrule.is_none() => match first {
                Some(ICalendarValue::RecurrenceRule(rule)) => rrule = Some((**rule).clone()),
                _ => return Err("RRULE: invalid rule".into()),
            },
            ICalendarProperty::Rdate => {
                for v in &e.values {
                    let pdt = match v {
                        ICalendarValue::PartialDateTime(p) => p.as_ref(),
                        ICalendarValue::Period(ICalendarPeriod::Range { start, .. })
                        | ICalendarValue::Period(ICalendarPeriod::Duration { start, .. }) => start,
                        _ => return Err("RDATE: invalid value".into()),
                    };
                    rdates.push(
                        to_event_time(pdt, e.tz_id(), cal).map_err(|m| format!("RDATE: {m}"))?,
                    );
                }
            }
            ICalendarProperty::Exdate => {
                for v in &e.values {
                    match v {
                        ICalendarValue::PartialDateTime(p) => exdates.push(
                            to_event_time(p, e.tz_id(), cal).map_err(|m| format!("EXDATE: {m}"))?,
                        ),
                        _ => return Err("EXDATE: invalid value".into()),
                    }
                }
            }
            ICalendarProperty::Sequence => {
                sequence = first
                    .and_then(|v| v.as_integer())
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap_or(0)
            }
            ICalendarProperty::LastModified => last_modified = first.and_then(utc_instant),
            ICalendarProperty::Created => created = first.and_then(utc_instant),
            _ => {}
        }
    }

    let start = start.ok_or("no DTSTART")?;
    let end = match (end, duration) {
        (Some(end), _) => coerce_end(start, end, cal.floating),
        (None, Some(d)) => {
            if d.neg {
                return Err("DURATION is negative".into());
            }
            let days = i64::from(d.weeks) * 7 + i64::from(d.days);
            let secs = i64::from(d.hours) * 3600 + i64::from(d.minutes) * 60 + i64::from(d.seconds);
            add_duration(start, days, secs)
        }
        (None, None) => match start {
            EventTime::Date { date } => EventTime::Date {
                date: add_days(date, 1),
            },
            other => other,
        },
    };
    if end.to_utc(cal.floating) < start.to_utc(cal.floating) {
        return Err("DTEND is before DTSTART".into());
    }
    let title = title.map(|t| t.trim().to_string()).unwrap_or_default();
    let uid = match uid {
        Some(u) if !u.trim().is_empty() => {
            if u.chars().any(char::is_control) {
                return Err("UID contains control characters or line breaks".into());
            }
            u.trim().to_string()
        }
        _ => fallback_uid(&start, &title),
    };
    let rrule = rrule.map(|r| rrule_text(r, &start, cal)).transpose()?;
    // A URL is one token: a line break in it is an injection attempt, not a typo (the URL
    // parser would silently drop it and keep the rest).
    if url
        .as_deref()
        .is_some_and(|u| u.chars().any(char::is_control))
    {
        return Err("URL contains control characters or line breaks".into());
    }

    Ok(Event {
        recurrence_id,
        description,
        location,
        geo,
        url,
        categories,
        status,
        rrule,
        rdates,
        exdates,
        sequence,
        last_modified,
        created,
        ..Event::new(uid, title, start, end)
    })
}

/// A TEXT property's values joined back (a stray unescaped comma must not lose text).
fn joined_text(e: &ICalendarEntry) -> Option<String> {
    let parts: Vec<&str> = e.values.iter().filter_map(|v| v.as_text()).collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

fn value_as_uri(v: &ICalendarValue) -> Option<String> {
    match v {
        ICalendarValue::Uri(u) => Some(u.to_unwrapped_string()),
        ICalendarValue::Text(t) => Some(t.clone()),
        _ => None,
    }
}

fn utc_instant(v: &ICalendarValue) -> Option<DateTime<Utc>> {
    let p = v.as_partial_date_time()?;
    let naive = naive_date_time(p).ok()?;
    Some(DateTime::from_naive_utc_and_offset(
        naive - Duration::seconds(i64::from(offset_of(p))),
        Utc,
    ))
}

/// Identity for an event without UID: its start and normalised title.
pub fn fallback_uid(start: &EventTime, title: &str) -> String {
    let norm: String = title
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let digest = Sha256::digest(format!("{}\n{norm}", recurrence_key(start)).as_bytes());
    format!("fallback:{}", hex::encode(&digest[..12]))
}

/// End time in the same kind as the start (a DATE start with a DATE-TIME end becomes dates).
fn coerce_end(start: EventTime, end: EventTime, zone: Tz) -> EventTime {
    match (start, end) {
        (EventTime::Date { date }, other) if !other.is_date() => {
            let d = other.date_in(zone);
            EventTime::Date {
                date: if d <= date { add_days(date, 1) } else { d },
            }
        }
        (EventTime::Date { .. }, end) => end,
        (_, EventTime::Date { date }) => match start {
            EventTime::Local { tz, .. } => EventTime::Local {
                local: date.and_time(NaiveTime::MIN),
                tz,
            },
            _ => EventTime::Utc {
                utc: local_to_utc(date.and_time(NaiveTime::MIN), zone),
            },
        },
        (_, end) => end,
    }
}

/// `start` plus a DURATION: whole days are nominal (wall clock), the rest exact (RFC 5545 3.3.6).
fn add_duration(start: EventTime, days: i64, secs: i64) -> EventTime {
    match start {
        EventTime::Date { date } => EventTime::Date {
            date: add_days(date, days.max(if secs > 0 { 1 } else { 0 })),
        },
        EventTime::Utc { utc } => EventTime::Utc {
            utc: utc + Duration::days(days) + Duration::seconds(secs),
        },
        EventTime::Local { local, tz } => {
            let shifted = local + Duration::days(days);
            let instant = local_to_utc(shifted, tz) + Duration::seconds(secs);
            EventTime::Local {
                local: instant.with_timezone(&tz).naive_local(),
                tz,
            }
        }
    }
}

/// The single date/date-time value of a property, with its TZID.
fn time_value(e: &ICalendarEntry, cal: &Cal) -> Result<EventTime, String> {
    match e.values.first() {
        Some(ICalendarValue::PartialDateTime(p)) => to_event_time(p, e.tz_id(), cal),
        Some(ICalendarValue::Text(t)) => Err(format!("invalid date-time {:?}", shorten(t))),
        _ => Err("missing value".into()),
    }
}

fn naive_date(p: &PartialDateTime) -> Result<NaiveDate, String> {
    let (y, m, d) = match (p.year, p.month, p.day) {
        (Some(y), Some(m), Some(d)) => (y, m, d),
        _ => return Err("incomplete date".into()),
    };
    if !(1900..=2200).contains(&y) {
        return Err(format!("year {y} out of range 1900-2200"));
    }
    NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
        .ok_or_else(|| format!("invalid date {y:04}-{m:02}-{d:02}"))
}

fn naive_date_time(p: &PartialDateTime) -> Result<NaiveDateTime, String> {
    let date = naive_date(p)?;
    let h = u32::from(p.hour.unwrap_or(0));
    let m = u32::from(p.minute.unwrap_or(0));
    let s = u32::from(p.second.unwrap_or(0)).min(59);
    let time = NaiveTime::from_hms_opt(h, m, s)
        .ok_or_else(|| format!("invalid time {h:02}:{m:02}:{s:02}"))?;
    Ok(date.and_time(time))
}

fn offset_of(p: &PartialDateTime) -> i32 {
    let secs = i32::from(p.tz_hour.unwrap_or(0)) * 3600 + i32::from(p.tz_minute.unwrap_or(0)) * 60;
    if p.tz_minus { -secs } else { secs }
}

fn to_event_time(p: &PartialDateTime, tzid: Option<&str>, cal: &Cal) -> Result<EventTime, String> {
    if p.hour.is_none() {
        return Ok(EventTime::Date {
            date: naive_date(p)?,
        });
    }
    let local = naive_date_time(p)?;
    if p.has_zone() {
        let utc = local - Duration::seconds(i64::from(offset_of(p)));
        return Ok(EventTime::Utc {
            utc: DateTime::from_naive_utc_and_offset(utc, Utc),
        });
    }
    let Some(tzid) = tzid else {
        return Ok(EventTime::Local {
            local,
            tz: cal.floating,
        });
    };
    let zone = cal
        .zones
        .get(tzid)
        .copied()
        .or_else(|| match CalTz::from_str(tzid) {
            Ok(CalTz::Tz(tz)) => Some(Zone::Iana(tz)),
            Ok(CalTz::Fixed(off)) => Some(Zone::Fixed(off.local_minus_utc())),
            _ => None,
        });
    match zone {
        Some(Zone::Iana(tz)) => Ok(EventTime::Local { local, tz }),
        Some(Zone::Fixed(off)) => Ok(EventTime::Utc {
            utc: DateTime::from_naive_utc_and_offset(
                local - Duration::seconds(i64::from(off)),
                Utc,
            ),
        }),
        None => Err(format!("unknown TZID {:?}", shorten(tzid))),
    }
}

/// Writes a rule back as RRULE text with UNTIL normalised: UTC for timed series (a date UNTIL
/// means the end of that day, a floating one the series' zone), a date for all-day series
/// (Outlook's all-day UNTIL at 23:00Z is rounded to its local date).
fn rrule_text(
    mut rule: calcard::icalendar::ICalendarRecurrenceRule,
    start: &EventTime,
    cal: &Cal,
) -> Result<String, String> {
    let until = rule.until.take();
    if rule.rscale.is_some() || rule.skip.is_some() {
        return Err("RRULE: RSCALE/SKIP (RFC 7529) are not supported".into());
    }
    let mut text = rule.to_string();
    if let Some(until) = until {
        let until = &until;
        let zone = start.zone().unwrap_or(cal.floating);
        let value = if start.is_date() {
            let date = if until.hour.is_some() && until.has_zone() {
                let naive = naive_date_time(until).map_err(|m| format!("RRULE UNTIL: {m}"))?;
                let utc: DateTime<Utc> = DateTime::from_naive_utc_and_offset(
                    naive - Duration::seconds(i64::from(offset_of(until))),
                    Utc,
                );
                utc.with_timezone(&cal.floating).date_naive()
            } else {
                naive_date(until).map_err(|m| format!("RRULE UNTIL: {m}"))?
            };
            date.format("%Y%m%d").to_string()
        } else {
            let utc = if until.hour.is_none() {
                let date = naive_date(until).map_err(|m| format!("RRULE UNTIL: {m}"))?;
                let end_of_day =
                    date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
                local_to_utc(end_of_day, zone)
            } else {
                let naive = naive_date_time(until).map_err(|m| format!("RRULE UNTIL: {m}"))?;
                if until.has_zone() {
                    DateTime::from_naive_utc_and_offset(
                        naive - Duration::seconds(i64::from(offset_of(until))),
                        Utc,
                    )
                } else {
                    local_to_utc(naive, zone)
                }
            };
            utc.format("%Y%m%dT%H%M%SZ").to_string()
        };
        text.push_str(";UNTIL=");
        text.push_str(&value);
    }
    Ok(text)
}

/// RFC 5545 TEXT escaping (3.3.11): backslash, semicolon, comma and line breaks; CR and other
/// control characters (except TAB) are dropped, so no value can start a new content line.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

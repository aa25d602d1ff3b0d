//! iCalendar (RFC 5545) input, parsed with `calcard`.
//!
//! Handles what real exports contain: folded lines, escaped TEXT, quoted parameters, several
//! VCALENDARs in one file, BOMs and LF-only files, unknown properties and components (ignored),
//! TZIDs given as IANA names, Windows names ("W. Europe Standard Time"), `/`-prefixed vendor ids
//! or custom VTIMEZONE definitions (matched to an IANA zone by their offsets), Google's
//! `X-WR-TIMEZONE`, UTC and floating times, DATE values, and DTEND vs DURATION vs neither.
//! Each VEVENT that cannot be used becomes a warning naming its UID (or position) and the reason.

use super::vtimezone::{self, Resolved, Rules};
use super::{FormatError, ParseContext, Parsed};
use crate::model::{Event, EventTime, Geo, Period, Status, add_days, local_to_utc, recurrence_key};
use calcard::common::PartialDateTime;
use calcard::common::timezone::Tz as CalTz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarDuration, ICalendarEntry,
    ICalendarParameterName, ICalendarPeriod, ICalendarProperty, ICalendarStatus, ICalendarValue,
};
use calcard::{Entry, Parser};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

/// Longest physical line accepted (bytes). A longer one means the file is not a sane calendar.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Longest logical (unfolded) line accepted (bytes).
pub const MAX_UNFOLDED_BYTES: usize = 1024 * 1024;
/// Most VEVENTs read from one feed.
pub const MAX_EVENTS: usize = 250_000;

/// How a TZID resolved.
#[derive(Debug, Clone)]
enum Zone {
    Iana(Tz),
    Fixed(i32),
    /// A VTIMEZONE no IANA zone follows: its own rules convert the times.
    Custom(Arc<Rules>),
}

/// Per-VCALENDAR context.
struct Cal {
    /// The zone of floating times and of TZIDs nothing defines.
    floating: Tz,
    /// Where `floating` comes from (for warnings).
    floating_from: &'static str,
    /// `X-WR-TIMEZONE` when it names a zone: UTC times are read as wall-clock times there
    /// (Google Calendar shows a series so; what python's `x-wr-timezone` does).
    x_wr: Option<Tz>,
    zones: HashMap<String, Zone>,
    /// TZIDs that are neither defined nor known, with how often a time was read in
    /// `floating` for each.
    unknown: RefCell<BTreeMap<String, usize>>,
    /// The span a series in a [`Zone::Custom`] zone is expanded in when it is read.
    horizon: (DateTime<Utc>, DateTime<Utc>),
}

impl Cal {
    fn zone(&self, tzid: &str) -> Option<Zone> {
        self.zones
            .get(tzid)
            .cloned()
            .or_else(|| match named_zone(tzid) {
                Some(CalTz::Tz(tz)) => Some(Zone::Iana(tz)),
                Some(CalTz::Fixed(off)) => Some(Zone::Fixed(off.local_minus_utc())),
                _ => None,
            })
    }
}

/// The zone a TZID names: an IANA or Windows name, a `(UTC+01:00) …` label, or a globally
/// unique id (`/freeassociation.sourceforge.net/Europe/Berlin`, RFC 5545 §3.2.19) whose
/// trailing part is an IANA name.
fn named_zone(name: &str) -> Option<CalTz> {
    let name = name.trim();
    if let Ok(tz) = CalTz::from_str(name)
        && !matches!(tz, CalTz::Floating)
    {
        return Some(tz);
    }
    name.strip_prefix('/')?
        .match_indices('/')
        .find_map(|(at, _)| Tz::from_str(&name[at + 2..]).ok())
        .map(CalTz::Tz)
}

/// Parses an iCalendar text.
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let prepared = prepare(text)?;
    let mut out = Parsed {
        warnings: prepared.warnings,
        partial: prepared.partial,
        ..Parsed::default()
    };
    let mut parser = Parser::new(&prepared.text);
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
                // `prepare` closes every component; this is a parser limit, not the file.
                out.warnings.push(format!(
                    "{} not terminated; the rest of the file is ignored",
                    name
                ));
                out.partial = true;
                break;
            }
            Entry::TooManyComponents => return Err(FormatError::Ics("too many components".into())),
            Entry::VCard(_) => out.warnings.push("ignored a vCard".into()),
            Entry::Eof => break,
            _ => out.warnings.push("ignored an unsupported entry".into()),
        }
    }
    if calendars == 0 {
        return Err(FormatError::Ics("no VCALENDAR or VEVENT found".into()));
    }
    if out.partial && out.events.is_empty() {
        // Cut off before the first complete event: nothing is readable.
        return Err(FormatError::Ics(
            "file is truncated (no complete VEVENT before the cut)".into(),
        ));
    }
    Ok(out)
}

/// The text the parser reads, after the repairs [`prepare`] made.
struct Prepared<'a> {
    text: Cow<'a, str>,
    warnings: Vec<String>,
    /// Whether events may be missing (a component or the end of the calendar was cut off).
    partial: bool,
}

/// `BEGIN:NAME` (true) or `END:NAME` (false) lines, any case.
fn component_line(content: &str) -> Option<(bool, &str)> {
    let b = content.as_bytes();
    if b.len() >= 6 && b[..6].eq_ignore_ascii_case(b"BEGIN:") {
        Some((true, content[6..].trim()))
    } else if b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"END:") {
        Some((false, content[4..].trim()))
    } else {
        None
    }
}

/// Refuses absurd line lengths and more than [`MAX_EVENTS`] VEVENTs, and repairs what damaged but readable files get wrong, so
/// every complete VEVENT is read: components outside a VCALENDAR (bare VEVENTs) are put into
/// one, a damaged END (`END:VCALENDARD`, an Exchange 2010 export) closes its component, a
/// component left open is dropped (the events around it are kept), a missing final
/// `END:VCALENDAR` is added, and blank lines (which break the unfolding of a following
/// continuation line) are removed. Each repair is a warning; a well-formed text is not copied.
fn prepare(text: &str) -> Result<Prepared<'_>, FormatError> {
    let mut logical = 0usize;
    let mut events = 0usize;
    let mut stack: Vec<&str> = Vec::new();
    let mut repair = false;
    let mut prev_blank = false;
    for (n, line) in text.split('\n').enumerate() {
        if line.len() > MAX_LINE_BYTES {
            return Err(FormatError::Ics(format!(
                "line {} is longer than {MAX_LINE_BYTES} bytes",
                n + 1
            )));
        }
        if line.starts_with([' ', '\t']) {
            logical += line.len();
            repair |= prev_blank;
        } else {
            logical = line.len();
        }
        if logical > MAX_UNFOLDED_BYTES {
            return Err(FormatError::Ics(format!(
                "unfolded line ending at line {} is longer than {MAX_UNFOLDED_BYTES} bytes",
                n + 1
            )));
        }
        let content = line.trim_end_matches('\r');
        prev_blank = content.is_empty();
        let component = component_line(content);
        if let Some((true, name)) = component
            && name.eq_ignore_ascii_case("VEVENT")
        {
            events += 1;
            if events > MAX_EVENTS {
                // Refused before the parser builds anything (a million tiny VEVENTs would
                // take over a gigabyte as components).
                return Err(FormatError::Ics(format!(
                    "more than {MAX_EVENTS} events (line {})",
                    n + 1
                )));
            }
        }
        if repair {
            continue;
        }
        match component {
            Some((true, name)) => {
                repair |= stack.is_empty() && !name.eq_ignore_ascii_case("VCALENDAR");
                stack.push(name);
            }
            Some((false, name)) => {
                repair |= !stack
                    .pop()
                    .is_some_and(|top| top.eq_ignore_ascii_case(name));
            }
            None => {}
        }
    }
    if !repair && stack.is_empty() {
        return Ok(Prepared {
            text: Cow::Borrowed(text),
            warnings: Vec::new(),
            partial: false,
        });
    }
    Ok(repair_structure(text))
}

/// Whether `name` is `expected` with junk after it or a slip of the keys (one or two letters
/// swapped, added, missing or wrong).
fn misspelt(name: &str, expected: &str) -> bool {
    let (name, expected) = (name.to_ascii_uppercase(), expected.to_ascii_uppercase());
    name.starts_with(&expected)
        || (expected.len() >= 4
            && name.chars().next() == expected.chars().next()
            && strsim::damerau_levenshtein(&name, &expected) <= 2)
}

/// A component still open while [`repair_structure`] reads.
struct Open<'a> {
    name: &'a str,
    /// Where its BEGIN line is in the output.
    at: usize,
    line: usize,
    /// A VCALENDAR added around components that had none.
    synthetic: bool,
}

fn repair_structure(text: &str) -> Prepared<'_> {
    let mut out: Vec<Cow<'_, str>> = Vec::new();
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut warnings = Vec::new();
    let mut partial = false;
    let mut bare_warned = false;
    let mut last = 0;
    // Drops an unclosed component; whether an event went with it.
    let drop_open = |out: &mut Vec<Cow<'_, str>>, o: &Open<'_>, warnings: &mut Vec<String>| {
        let lost_event = out[o.at..].iter().any(
            |l| matches!(component_line(l), Some((true, n)) if n.eq_ignore_ascii_case("VEVENT")),
        );
        out.truncate(o.at);
        warnings.push(format!(
            "line {}: BEGIN:{} is never closed; that component is dropped",
            o.line,
            shorten(o.name)
        ));
        lost_event
    };
    for (n, line) in text.split('\n').enumerate() {
        let lno = n + 1;
        let content = line.trim_end_matches('\r');
        if content.is_empty() {
            continue;
        }
        last = lno;
        match component_line(content) {
            Some((true, name)) => {
                let is_calendar = name.eq_ignore_ascii_case("VCALENDAR");
                if is_calendar && stack.last().is_some_and(|o| o.synthetic) {
                    stack.pop();
                    out.push("END:VCALENDAR".into());
                }
                if stack.is_empty() && !is_calendar {
                    if !bare_warned {
                        warnings.push(format!(
                            "line {lno}: BEGIN:{} outside a VCALENDAR; read as if inside one",
                            shorten(name)
                        ));
                        bare_warned = true;
                    }
                    stack.push(Open {
                        name: "VCALENDAR",
                        at: out.len(),
                        line: lno,
                        synthetic: true,
                    });
                    out.push("BEGIN:VCALENDAR".into());
                }
                stack.push(Open {
                    name,
                    at: out.len(),
                    line: lno,
                    synthetic: false,
                });
                out.push(content.into());
            }
            Some((false, name)) => {
                let depth = match stack
                    .iter()
                    .rposition(|o| o.name.eq_ignore_ascii_case(name))
                {
                    Some(d) => d,
                    None => {
                        // `END:VCALENDARD`, `END:VTOOD`: the innermost component's END,
                        // misspelt.
                        let damaged = stack.last().is_some_and(|top| misspelt(name, top.name));
                        if !damaged {
                            warnings.push(format!(
                                "line {lno}: END:{} closes nothing; ignored",
                                shorten(name)
                            ));
                            continue;
                        }
                        warnings.push(format!(
                            "line {lno}: END:{} read as END:{}",
                            shorten(name),
                            stack.last().map_or("", |o| o.name)
                        ));
                        stack.len() - 1
                    }
                };
                while stack.len() > depth + 1 {
                    if let Some(o) = stack.pop() {
                        partial |= drop_open(&mut out, &o, &mut warnings);
                    }
                }
                if let Some(o) = stack.pop() {
                    out.push(format!("END:{}", o.name).into());
                }
            }
            None => out.push(content.into()),
        }
    }
    while let Some(o) = stack.pop() {
        if o.name.eq_ignore_ascii_case("VCALENDAR") {
            if !o.synthetic {
                warnings.push(format!(
                    "END:VCALENDAR missing (the file ends at line {last}); added"
                ));
            }
            out.push("END:VCALENDAR".into());
        } else {
            partial |= drop_open(&mut out, &o, &mut warnings);
        }
    }
    if partial {
        warnings.push(
            "the file is cut off or damaged: the complete events are kept, none is withdrawn for being absent"
                .into(),
        );
    }
    let mut joined = String::with_capacity(text.len() + 64);
    for l in &out {
        joined.push_str(l);
        joined.push_str("\r\n");
    }
    Prepared {
        text: Cow::Owned(joined),
        warnings,
        partial,
    }
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

/// How far a series goes, for [`zone_usage`].
#[derive(Clone, Copy)]
enum SeriesEnd {
    /// UNTIL, as local seconds.
    Until(i64),
    /// COUNT periods: at most this many seconds after DTSTART.
    After(i64),
    /// No end.
    Open,
}

/// For each TZID the calendar's events use: the span of local times (Unix seconds read as
/// UTC, a day of margin either side) its definition matters for. A series that goes on past
/// the start of `horizon` counts from there to its end or the end of `horizon`.
fn zone_usage(ical: &ICalendar, horizon: (i64, i64)) -> HashMap<&str, (i64, i64)> {
    let mut usage: HashMap<&str, (i64, i64)> = HashMap::new();
    for comp in &ical.components {
        if comp.component_type != ICalendarComponentType::VEvent {
            continue;
        }
        let mut ends: Vec<SeriesEnd> = Vec::new();
        let mut used: Vec<(&str, i64)> = Vec::new();
        let mut dtstart = None;
        for e in &comp.entries {
            match &e.name {
                ICalendarProperty::Rrule => {
                    if let Some(ICalendarValue::RecurrenceRule(r)) = e.values.first() {
                        ends.push(match (&r.until, r.count) {
                            (Some(u), _) => naive_date_time(u).map_or(SeriesEnd::Open, |n| {
                                SeriesEnd::Until(n.and_utc().timestamp())
                            }),
                            (None, Some(count)) => {
                                SeriesEnd::After(i64::from(count).saturating_mul(period_secs(r)))
                            }
                            (None, None) => SeriesEnd::Open,
                        });
                    }
                }
                ICalendarProperty::Dtstart
                | ICalendarProperty::Dtend
                | ICalendarProperty::Rdate
                | ICalendarProperty::Exdate
                | ICalendarProperty::RecurrenceId => {
                    for v in &e.values {
                        let p = match v {
                            ICalendarValue::PartialDateTime(p) => p.as_ref(),
                            ICalendarValue::Period(ICalendarPeriod::Range { start, .. })
                            | ICalendarValue::Period(ICalendarPeriod::Duration { start, .. }) => {
                                start
                            }
                            _ => continue,
                        };
                        let Ok(n) = naive_date_time(p) else { continue };
                        let at = n.and_utc().timestamp();
                        if e.name == ICalendarProperty::Dtstart {
                            dtstart = Some(at);
                        }
                        if let Some(tzid) = e.tz_id() {
                            used.push((tzid, at));
                        }
                    }
                }
                _ => {}
            }
        }
        let start = dtstart.unwrap_or(horizon.0);
        // The latest end of the series' rules, if it has any.
        let end = ends
            .iter()
            .map(|e| match *e {
                SeriesEnd::Until(u) => u,
                SeriesEnd::After(secs) => start.saturating_add(secs).min(horizon.1),
                SeriesEnd::Open => horizon.1,
            })
            .max();
        for (tzid, at) in used {
            let (mut lo, mut hi) = (at, at);
            if let Some(end) = end {
                if end > horizon.0 {
                    lo = lo.max(horizon.0);
                }
                hi = hi.max(end);
            }
            let span = usage.entry(tzid).or_insert((lo, hi));
            *span = (span.0.min(lo), span.1.max(hi));
        }
    }
    for span in usage.values_mut() {
        *span = (span.0 - 86_400, span.1 + 86_400);
    }
    usage
}

/// The longest time one period of a rule's frequency can take (times its INTERVAL), seconds.
fn period_secs(rule: &calcard::icalendar::ICalendarRecurrenceRule) -> i64 {
    use calcard::icalendar::ICalendarFrequency as F;
    let unit = match rule.freq {
        F::Yearly => 366 * 86_400,
        F::Monthly => 31 * 86_400,
        F::Weekly => 7 * 86_400,
        F::Daily => 86_400,
        F::Hourly => 3_600,
        F::Minutely => 60,
        F::Secondly => 1,
    };
    unit * i64::from(rule.interval.unwrap_or(1).max(1))
}

fn read_calendar(
    ical: &ICalendar,
    ctx: &ParseContext,
    position: &mut usize,
    out: &mut Parsed,
) -> Result<(), FormatError> {
    let root = ical.components.first();
    let x_wr_name = root
        .and_then(|r| text_of(r, "X-WR-TIMEZONE"))
        .map(str::trim);
    let x_wr = x_wr_name.and_then(|name| match named_zone(name) {
        Some(CalTz::Tz(tz)) => Some(tz),
        _ => None,
    });
    if let (Some(name), None) = (x_wr_name, x_wr) {
        out.warnings.push(format!(
            "X-WR-TIMEZONE {:?} is not a known time zone; ignored",
            shorten(name)
        ));
    }
    let now = ctx.now;
    let horizon = (
        now - Duration::days(SERIES_HORIZON_PAST_DAYS),
        now + Duration::days(SERIES_HORIZON_FUTURE_DAYS),
    );
    let mut cal = Cal {
        floating: x_wr.unwrap_or(ctx.default_tz),
        floating_from: if x_wr.is_some() {
            "the calendar's X-WR-TIMEZONE"
        } else {
            "the configured [calendar] timezone"
        },
        x_wr,
        zones: HashMap::new(),
        unknown: RefCell::new(BTreeMap::new()),
        horizon,
    };
    let usage = zone_usage(ical, (horizon.0.timestamp(), horizon.1.timestamp()));
    let preferred: Vec<Tz> = x_wr.into_iter().chain([ctx.default_tz]).collect();
    for comp in ical.timezones() {
        let Some(name) = comp
            .entries
            .iter()
            .find(|e| e.name == ICalendarProperty::Tzid)
            .and_then(|e| e.values.first())
            .and_then(|v| v.as_text())
        else {
            continue;
        };
        // A definition no event uses needs no evaluation.
        let Some(&span) = usage.get(name) else {
            continue;
        };
        let named = match comp.timezone() {
            Some((_, CalTz::Tz(tz))) => Some(tz),
            _ => match named_zone(name) {
                Some(CalTz::Tz(tz)) => Some(tz),
                _ => None,
            },
        };
        let zone = match vtimezone::resolve(ical, comp, named, &preferred, span) {
            Ok(Resolved::Iana(tz)) => Zone::Iana(tz),
            Ok(Resolved::Fixed(off)) => Zone::Fixed(off),
            Ok(Resolved::Custom(rules)) => Zone::Custom(rules),
            Err(e) => {
                out.warnings.push(format!(
                    "VTIMEZONE {:?} cannot be read ({e}); its TZID is resolved by name",
                    shorten(name)
                ));
                continue;
            }
        };
        cal.zones.insert(name.to_string(), zone);
    }
    for comp in &ical.components {
        if comp.component_type != ICalendarComponentType::VEvent {
            continue;
        }
        *position += 1;
        if out.events.len() >= MAX_EVENTS {
            return Err(FormatError::Ics(format!("more than {MAX_EVENTS} events")));
        }
        let who = || match comp.uid() {
            Some(uid) if !uid.trim().is_empty() => format!("event {:?}", shorten(uid)),
            _ => format!("event #{position} (no UID)"),
        };
        let mut notes = Vec::new();
        match read_event(comp, &cal, &mut notes) {
            Ok(ev) => out.events.push(ev),
            Err(reason) => out.warnings.push(format!("{} skipped: {reason}", who())),
        }
        out.warnings
            .extend(notes.into_iter().map(|n| format!("{}: {n}", who())));
    }
    for (tzid, times) in cal.unknown.into_inner() {
        out.zone_fallbacks += times;
        out.warnings.push(format!(
            "TZID {:?} is not defined (no VTIMEZONE, not an IANA or Windows name): {times} time(s) read in {} ({})",
            shorten(&tzid),
            cal.floating.name(),
            cal.floating_from
        ));
    }
    Ok(())
}

/// A series in a zone no IANA zone follows is expanded when read, this far back …
const SERIES_HORIZON_PAST_DAYS: i64 = 2 * 366;
/// … and this far ahead.
const SERIES_HORIZON_FUTURE_DAYS: i64 = 5 * 366;
/// Instances of such a series kept at most.
const MAX_MATERIALIZED: usize = 2_000;
/// Instances of such a series looked at at most (a daily series since 1990 is 15,000).
const MATERIALIZE_BUDGET: usize = 50_000;

/// The text value of an `X-` (or other unknown) property.
fn text_of<'a>(comp: &'a ICalendarComponent, name: &str) -> Option<&'a str> {
    comp.entries
        .iter()
        .find_map(|e| match (&e.name, e.values.first()) {
            (ICalendarProperty::Other(n), Some(v)) if n.eq_ignore_ascii_case(name) => v.as_text(),
            _ => None,
        })
}

fn read_event(
    comp: &ICalendarComponent,
    cal: &Cal,
    notes: &mut Vec<String>,
) -> Result<Event, String> {
    let mut uid = None;
    let mut title = None;
    let mut description = None;
    let mut location = None;
    let mut url = None;
    let mut geo = None;
    let mut categories = Vec::new();
    let mut status = Status::Confirmed;
    let mut start = None;
    let mut start_entry = None;
    let mut end = None;
    let mut duration = None;
    let mut rules = Vec::new();
    let mut rdates = Vec::new();
    let mut rdate_periods = Vec::new();
    let mut exdates = Vec::new();
    let mut recurrence_id = None;
    let mut this_and_future = false;
    let mut sequence = 0u32;
    let mut last_modified = None;
    let mut created = None;
    let floating = floating_for(comp, cal);

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
                start = Some(time_value(e, cal, floating).map_err(|m| format!("DTSTART: {m}"))?);
                start_entry = Some(e);
            }
            ICalendarProperty::Dtend => {
                end = Some(time_value(e, cal, floating).map_err(|m| format!("DTEND: {m}"))?)
            }
            ICalendarProperty::Duration => match first {
                Some(ICalendarValue::Duration(d)) => duration = Some(d.clone()),
                _ => return Err("DURATION: invalid value".into()),
            },
            ICalendarProperty::RecurrenceId => {
                recurrence_id =
                    Some(time_value(e, cal, floating).map_err(|m| format!("RECURRENCE-ID: {m}"))?);
                this_and_future = e
                    .params
                    .iter()
                    .any(|p| p.name == ICalendarParameterName::Range);
            }
            ICalendarProperty::Rrule => match first {
                Some(ICalendarValue::RecurrenceRule(rule)) => rules.push((**rule).clone()),
                Some(ICalendarValue::Text(t)) if !t.trim().is_empty() => {
                    return Err(format!("RRULE: invalid rule {:?}", shorten(t)));
                }
                _ => notes.push("empty RRULE ignored".into()),
            },
            ICalendarProperty::Rdate => {
                if e.values
                    .iter()
                    .all(|v| v.as_text().is_some_and(|t| t.trim().is_empty()))
                {
                    notes.push("empty RDATE ignored".into());
                    continue;
                }
                for v in &e.values {
                    let at = |p: &PartialDateTime| {
                        to_event_time(p, e.tz_id(), cal, floating)
                            .map_err(|m| format!("RDATE: {m}"))
                    };
                    match v {
                        ICalendarValue::PartialDateTime(p) => rdates.push(at(p)?),
                        ICalendarValue::Period(period) => {
                            let (s, end) = match period {
                                ICalendarPeriod::Range { start, end } => (at(start)?, at(end)?),
                                ICalendarPeriod::Duration { start, duration: d } => {
                                    let s = at(start)?;
                                    (s, add_duration(s, d))
                                }
                            };
                            rdate_periods.push((s, end));
                        }
                        // `VALUE=PERIOD` with dates (`19970101/19970102`) is not a period
                        // calcard reads; the dates are clear enough.
                        ICalendarValue::Text(t) => match lenient_period(t) {
                            Some((s, e)) => {
                                notes.push(format!("RDATE period {:?} read leniently", shorten(t)));
                                rdate_periods.push((at(&s)?, at(&e)?));
                            }
                            None => return Err(format!("RDATE: invalid value {:?}", shorten(t))),
                        },
                        _ => return Err("RDATE: invalid value".into()),
                    }
                }
            }
            ICalendarProperty::Exdate => {
                for v in &e.values {
                    match v {
                        ICalendarValue::PartialDateTime(p) => exdates.push(
                            to_event_time(p, e.tz_id(), cal, floating)
                                .map_err(|m| format!("EXDATE: {m}"))?,
                        ),
                        ICalendarValue::Text(t) if t.trim().is_empty() => {
                            notes.push("empty EXDATE ignored".into())
                        }
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

    let mut start = start.ok_or("no DTSTART")?;
    // A DATE DTSTART with an end that has a time of day (RFC 5545 wants the same value type):
    // the event starts at midnight and is timed, in the end's zone. An end at midnight is a
    // date boundary: the event stays all-day.
    if let EventTime::Date { date } = start {
        let midnight = date.and_time(NaiveTime::MIN);
        let timed = match (&end, &duration) {
            (Some(EventTime::Local { local, tz }), _) if local.time() != NaiveTime::MIN => {
                Some(EventTime::Local {
                    local: midnight,
                    tz: *tz,
                })
            }
            (Some(EventTime::Utc { utc }), _) if utc.time() != NaiveTime::MIN => {
                Some(EventTime::Utc {
                    utc: midnight.and_utc(),
                })
            }
            (None, Some(d)) if d.hours + d.minutes + d.seconds > 0 => Some(floating.time(midnight)),
            _ => None,
        };
        if let Some(timed) = timed {
            notes.push("DTSTART is a date but the event ends at a time of day; read as starting at midnight".into());
            start = timed;
        }
    }
    let mut end = match (end, duration) {
        (Some(end), _) => coerce_end(start, end, cal.floating),
        (None, Some(d)) => {
            if d.neg {
                return Err("DURATION is negative".into());
            }
            add_duration(start, &d)
        }
        (None, None) => match start {
            EventTime::Date { date } => EventTime::Date {
                date: add_days(date, 1),
            },
            other => other,
        },
    };
    if end.to_utc(cal.floating) < start.to_utc(cal.floating) {
        // The producer mixed the two up (what python's recurring-ical-events assumes too).
        notes.push("DTEND is before DTSTART; read with the two swapped".into());
        std::mem::swap(&mut start, &mut end);
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
    // Periods whose values are dates (not allowed, but written): from midnight in the
    // series' zone.
    let rdate_periods = rdate_periods
        .into_iter()
        .map(|(s, e)| Period {
            start: at_midnight(s, &start),
            end: at_midnight(e, &start),
        })
        .collect();
    let mut rrules = Vec::with_capacity(rules.len());
    for rule in rules {
        rrules.push(rrule_text(rule, &start, cal, notes)?);
    }
    // A URL is one token: a line break in it is an injection attempt, not a typo (the URL
    // parser would silently drop it and keep the rest).
    if url
        .as_deref()
        .is_some_and(|u| u.chars().any(char::is_control))
    {
        return Err("URL contains control characters or line breaks".into());
    }
    // Google writes a series in UTC and shows it at the same wall-clock time all year in the
    // calendar's X-WR-TIMEZONE: expand it there (what python's `x-wr-timezone` does).
    // RDATE, EXDATE and RECURRENCE-ID values name instants, which stay as they are.
    if let Some(tz) = cal.x_wr
        && !rrules.is_empty()
    {
        start = in_zone(start, tz);
        end = in_zone(end, tz);
    }
    let mut rrules = rrules.into_iter();
    let mut ev = Event {
        recurrence_id,
        this_and_future,
        description,
        location,
        geo,
        url,
        categories,
        status,
        rrule: rrules.next(),
        extra_rrules: rrules.collect(),
        rdates,
        rdate_periods,
        exdates,
        sequence,
        last_modified,
        created,
        ..Event::new(uid, title, start, end)
    };
    if let Some((local, rules)) = start_entry.and_then(|e| custom_local(e, cal))
        && ev.rrule.is_some()
    {
        materialize(&mut ev, local, &rules, cal.horizon, notes);
    }
    Ok(ev)
}

/// A UTC time as the wall-clock time in `tz`, unless that wall-clock time is ambiguous there
/// (it would then name the other instant).
fn in_zone(t: EventTime, tz: Tz) -> EventTime {
    match t {
        EventTime::Utc { utc } => {
            let local = utc.with_timezone(&tz).naive_local();
            if local_to_utc(local, tz) == utc {
                EventTime::Local { local, tz }
            } else {
                t
            }
        }
        other => other,
    }
}

/// A period written with dates or basic date-times on both sides of the `/`.
fn lenient_period(t: &str) -> Option<(PartialDateTime, PartialDateTime)> {
    let basic = |v: &str| -> Option<PartialDateTime> {
        let v = v.trim();
        let (date, time) = match v.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (v, None),
        };
        let num = |s: &str, r: std::ops::Range<usize>| s.get(r)?.parse::<u16>().ok();
        if date.len() != 8 {
            return None;
        }
        let mut p = PartialDateTime {
            year: Some(num(date, 0..4)?),
            month: Some(u8::try_from(num(date, 4..6)?).ok()?),
            day: Some(u8::try_from(num(date, 6..8)?).ok()?),
            ..PartialDateTime::default()
        };
        if let Some(time) = time {
            let (time, utc) = match time.strip_suffix('Z') {
                Some(t) => (t, true),
                None => (time, false),
            };
            if time.len() != 6 {
                return None;
            }
            p.hour = Some(u8::try_from(num(time, 0..2)?).ok()?);
            p.minute = Some(u8::try_from(num(time, 2..4)?).ok()?);
            p.second = Some(u8::try_from(num(time, 4..6)?).ok()?);
            if utc {
                p.tz_hour = Some(0);
                p.tz_minute = Some(0);
            }
        }
        Some(p)
    };
    let (a, b) = t.split_once('/')?;
    Some((basic(a)?, basic(b)?))
}

/// A period bound given as a date, as the date-time at midnight in the form of `start`.
fn at_midnight(t: EventTime, start: &EventTime) -> EventTime {
    match (t, start) {
        (EventTime::Date { date }, EventTime::Local { tz, .. }) => EventTime::Local {
            local: date.and_time(NaiveTime::MIN),
            tz: *tz,
        },
        (EventTime::Date { date }, EventTime::Utc { .. }) => EventTime::Utc {
            utc: date.and_time(NaiveTime::MIN).and_utc(),
        },
        (t, _) => t,
    }
}

/// The local DTSTART of a component whose TZID is a [`Zone::Custom`] zone, with its rules.
fn custom_local(e: &ICalendarEntry, cal: &Cal) -> Option<(NaiveDateTime, Arc<Rules>)> {
    let p = e.values.first()?.as_partial_date_time()?;
    if p.hour.is_none() || p.has_zone() {
        return None;
    }
    match cal.zone(e.tz_id()?)? {
        Zone::Custom(rules) => Some((naive_date_time(p).ok()?, rules)),
        _ => None,
    }
}

/// Expands the rules of a series whose zone no IANA zone follows (its times are UTC by
/// now): the rules run on wall-clock time in the calendar's own zone definition, each
/// instance becomes an RDATE in UTC, for the span of `horizon`. EXDATEs and RECURRENCE-IDs
/// were converted the same way, so they still name their instances.
fn materialize(
    ev: &mut Event,
    local_start: NaiveDateTime,
    rules: &Rules,
    horizon: (DateTime<Utc>, DateTime<Utc>),
    notes: &mut Vec<String>,
) {
    let texts: Vec<String> = ev
        .rrule
        .take()
        .into_iter()
        .chain(ev.extra_rrules.drain(..))
        .collect();
    let dtstart = rrule::Tz::UTC.from_utc_datetime(&local_start);
    let mut instances = Vec::new();
    for text in texts {
        // UNTIL is an instant; the rule runs on local times, so it is checked per instance.
        let (rule, until) = match text.split_once(";UNTIL=") {
            Some((head, u)) => (
                head.to_string(),
                NaiveDateTime::parse_from_str(u, "%Y%m%dT%H%M%SZ")
                    .ok()
                    .map(|n| n.and_utc()),
            ),
            None => (text.clone(), None),
        };
        let Ok(set) =
            rrule::RRule::<rrule::Unvalidated>::from_str(&rule).and_then(|r| r.build(dtstart))
        else {
            continue;
        };
        for dt in set.into_iter().take(MATERIALIZE_BUDGET) {
            let utc = rules.local_to_utc(dt.naive_utc());
            if until.is_some_and(|u| utc > u) || utc > horizon.1 {
                break;
            }
            if dt.naive_utc() != local_start {
                instances.push(utc);
            }
        }
    }
    // A long series keeps what is near today.
    if instances.len() > MAX_MATERIALIZED {
        instances.retain(|t| *t >= horizon.0);
        instances.truncate(MAX_MATERIALIZED);
    }
    if let (Some(first), Some(last)) = (instances.iter().min(), instances.iter().max()) {
        notes.push(format!(
            "its time zone matches no IANA zone: the series is expanded when read ({} instances, {} to {})",
            instances.len(),
            first.date_naive(),
            last.date_naive()
        ));
    }
    ev.rdates
        .extend(instances.into_iter().map(|utc| EventTime::Utc { utc }));
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
fn add_duration(start: EventTime, d: &ICalendarDuration) -> EventTime {
    let days = i64::from(d.weeks) * 7 + i64::from(d.days);
    let secs = i64::from(d.hours) * 3600 + i64::from(d.minutes) * 60 + i64::from(d.seconds);
    let (days, secs) = if d.neg { (-days, -secs) } else { (days, secs) };
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
fn time_value(e: &ICalendarEntry, cal: &Cal, floating: Floating) -> Result<EventTime, String> {
    match e.values.first() {
        Some(ICalendarValue::PartialDateTime(p)) => to_event_time(p, e.tz_id(), cal, floating),
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

/// The zone floating times of one component are read in.
#[derive(Debug, Clone, Copy)]
enum Floating {
    In(Tz),
    Utc,
}

impl Floating {
    fn time(self, local: NaiveDateTime) -> EventTime {
        match self {
            Floating::In(tz) => EventTime::Local { local, tz },
            Floating::Utc => EventTime::Utc {
                utc: local.and_utc(),
            },
        }
    }
}

/// The zone a component's floating times are read in: the calendar's, unless the component
/// itself tells what its floating DTSTART means, by a DTEND, EXDATE or RDATE with a zone
/// (the first of them, as python's recurring-ical-events reads such mixed components).
fn floating_for(comp: &ICalendarComponent, cal: &Cal) -> Floating {
    let calendar = Floating::In(cal.floating);
    if cal.x_wr.is_some() {
        return calendar;
    }
    let floating_start = comp.entries.iter().any(|e| {
        e.name == ICalendarProperty::Dtstart
            && e.tz_id().is_none()
            && e.values
                .first()
                .and_then(|v| v.as_partial_date_time())
                .is_some_and(|p| p.hour.is_some() && !p.has_zone())
    });
    if !floating_start {
        return calendar;
    }
    let zoned = |name: ICalendarProperty| {
        comp.entries
            .iter()
            .filter(move |e| e.name == name)
            .find_map(|e| {
                let p = e.values.iter().find_map(|v| v.as_partial_date_time())?;
                p.hour?;
                if p.has_zone() {
                    return (offset_of(p) == 0).then_some(Floating::Utc);
                }
                match cal.zone(e.tz_id()?)? {
                    Zone::Iana(tz) => Some(Floating::In(tz)),
                    _ => None,
                }
            })
    };
    zoned(ICalendarProperty::Dtend)
        .or_else(|| zoned(ICalendarProperty::Exdate))
        .or_else(|| zoned(ICalendarProperty::Rdate))
        .unwrap_or(calendar)
}

fn to_event_time(
    p: &PartialDateTime,
    tzid: Option<&str>,
    cal: &Cal,
    floating: Floating,
) -> Result<EventTime, String> {
    if p.hour.is_none() {
        return Ok(EventTime::Date {
            date: naive_date(p)?,
        });
    }
    let local = naive_date_time(p)?;
    if p.has_zone() {
        let utc: DateTime<Utc> = DateTime::from_naive_utc_and_offset(
            local - Duration::seconds(i64::from(offset_of(p))),
            Utc,
        );
        return Ok(EventTime::Utc { utc });
    }
    let Some(tzid) = tzid else {
        return Ok(floating.time(local));
    };
    if tzid.chars().any(char::is_control) || tzid.contains("^n") || tzid.contains("^N") {
        // A line break in a parameter (also as RFC 6868's `^n`) is an injection attempt, not
        // a zone name.
        return Err("TZID contains control characters or line breaks".into());
    }
    Ok(match cal.zone(tzid) {
        Some(Zone::Iana(tz)) => EventTime::Local { local, tz },
        Some(Zone::Fixed(off)) => EventTime::Utc {
            utc: DateTime::from_naive_utc_and_offset(
                local - Duration::seconds(i64::from(off)),
                Utc,
            ),
        },
        Some(Zone::Custom(rules)) => EventTime::Utc {
            utc: rules.local_to_utc(local),
        },
        None => {
            // Never lose an event over a zone name: read it in the calendar's zone.
            *cal.unknown
                .borrow_mut()
                .entry(tzid.to_string())
                .or_default() += 1;
            EventTime::Local {
                local,
                tz: cal.floating,
            }
        }
    })
}

/// Writes a rule back as RRULE text with UNTIL normalised: UTC for timed series (a date UNTIL
/// means the end of that day, a floating one the series' zone), a date for all-day series
/// (Outlook's all-day UNTIL at 23:00Z is rounded to its local date).
fn rrule_text(
    mut rule: calcard::icalendar::ICalendarRecurrenceRule,
    start: &EventTime,
    cal: &Cal,
    notes: &mut Vec<String>,
) -> Result<String, String> {
    let until = rule.until.take();
    if rule.rscale.is_some() || rule.skip.is_some() {
        return Err("RRULE: RSCALE/SKIP (RFC 7529) are not supported".into());
    }
    if until.is_some() && rule.count.take().is_some() {
        // RFC 5545 §3.3.10: they MUST NOT occur together (a negative COUNT is one way).
        notes.push("RRULE has both UNTIL and COUNT; COUNT ignored".into());
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

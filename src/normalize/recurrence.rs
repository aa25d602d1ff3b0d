//! Recurrence expansion: a series (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) becomes the
//! concrete occurrences inside a time window.
//!
//! Rules are evaluated by the `rrule` crate in the series' own time zone, so a weekly 19:00
//! event stays at 19:00 local time across DST changes, and a time in a DST gap moves forward
//! (RFC 5545, as python-dateutil does). DTSTART always counts as the first instance. Expansion
//! is bounded twice: by the window and by a per-series cap on occurrences, plus an iteration
//! budget so a rule like `FREQ=SECONDLY` that starts years before the window cannot stall the
//! daemon. Rules that can never produce an instance (February 30th) are recognised up front.

use crate::model::{Event, EventTime, Occurrence, add_days, recurrence_key};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

/// Candidate instances looked at per series at most (including those before the window).
pub const ITERATION_BUDGET: usize = 50_000;

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// The expansion window around `now`: whole days in `tz`, `past_days` back and
    /// `future_days` ahead.
    pub fn around(now: DateTime<Utc>, tz: Tz, past_days: u32, future_days: u32) -> Window {
        let today = now.with_timezone(&tz).date_naive();
        let start = crate::model::local_to_utc(
            add_days(today, -i64::from(past_days)).and_time(NaiveTime::MIN),
            tz,
        );
        let end = crate::model::local_to_utc(
            add_days(today, i64::from(future_days) + 1).and_time(NaiveTime::MIN),
            tz,
        );
        Window { start, end }
    }

    /// Whether an occurrence `[start, end)` touches the window (zero-length ones count when they
    /// start inside it).
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        start < self.end && (end > self.start || (start >= self.start && end == start))
    }
}

/// The result of expanding one series.
#[derive(Debug, Default)]
pub struct Expansion {
    /// Occurrences with the index of the component that supplies their fields: `None` for the
    /// master, `Some(i)` for `overrides[i]`.
    pub occurrences: Vec<(Occurrence, Option<usize>)>,
    /// Whether the cap or the iteration budget cut the expansion short.
    pub truncated: bool,
}

/// Most occurrences one series may have within any 24 hours. More is not a calendar of
/// events but a flood (`FREQ=MINUTELY` from a broken export): such a series is refused.
pub const MAX_PER_DAY: usize = 48;

/// Checks that an event's rules can be expanded (used when ingesting, so a bad rule is
/// reported with the event's UID): each parses, can produce a date, and gives at most
/// [`MAX_PER_DAY`] occurrences within 24 hours.
pub fn check_rule(ev: &Event) -> Result<(), String> {
    for rule in ev.rrule.iter().chain(&ev.extra_rrules) {
        let parsed = parse_rule(rule, &ev.start).map_err(|e| format!("RRULE {rule:?}: {e}"))?;
        let set = parsed
            .clone()
            .build(rrule_start(&ev.start))
            .map_err(|e| format!("RRULE {rule:?}: {e}"))?;
        if per_day_bound(&parsed) > MAX_PER_DAY && too_dense(&set) {
            return Err(format!(
                "RRULE {rule:?} gives more than {MAX_PER_DAY} occurrences within 24 hours; the series is refused"
            ));
        }
    }
    Ok(())
}

/// An upper bound of a rule's occurrences per day from its frequency and BYxxx parts.
fn per_day_bound(rule: &rrule::RRule<rrule::Unvalidated>) -> usize {
    use rrule::Frequency;
    let interval = usize::from(rule.get_interval().max(1));
    let count = |by: &[u8], whole: usize| if by.is_empty() { whole } else { by.len() };
    let (hours, minutes, seconds) = (
        rule.get_by_hour(),
        rule.get_by_minute(),
        rule.get_by_second(),
    );
    match rule.get_freq() {
        Frequency::Secondly => 86_400 / interval,
        Frequency::Minutely => (1_440 / interval) * count(seconds, 1),
        Frequency::Hourly => (24 / interval).max(1) * count(minutes, 1) * count(seconds, 1),
        _ => count(hours, 1) * count(minutes, 1) * count(seconds, 1),
    }
}

/// Whether the first instances of a set hold more than [`MAX_PER_DAY`] within 24 hours.
fn too_dense(set: &rrule::RRuleSet) -> bool {
    let first: Vec<DateTime<Utc>> = set
        .into_iter()
        .take(20 * MAX_PER_DAY)
        .map(|d| d.with_timezone(&Utc))
        .collect();
    first
        .windows(MAX_PER_DAY + 1)
        .any(|w| w[MAX_PER_DAY] - w[0] < Duration::hours(24))
}

/// The `rrule` crate's zone for an event time, and the start as a zoned date-time.
fn rrule_start(start: &EventTime) -> DateTime<rrule::Tz> {
    match *start {
        EventTime::Date { date } => {
            rrule::Tz::UTC.from_utc_datetime(&date.and_time(NaiveTime::MIN))
        }
        EventTime::Utc { utc } => rrule::Tz::UTC.from_utc_datetime(&utc.naive_utc()),
        EventTime::Local { local, tz } => {
            let utc = crate::model::local_to_utc(local, tz);
            rrule::Tz::Tz(tz).from_utc_datetime(&utc.naive_utc())
        }
    }
}

use chrono::TimeZone as _;

fn parse_rule(rule: &str, start: &EventTime) -> Result<rrule::RRule<rrule::Unvalidated>, String> {
    // All-day UNTIL values are dates; the crate wants a date-time comparable to DTSTART, which
    // for all-day series is midnight UTC.
    let rule_text = match (start, rule.split_once(";UNTIL=")) {
        (EventTime::Date { .. }, Some((head, until))) if until.len() == 8 => {
            format!("{head};UNTIL={until}T000000Z")
        }
        _ => rule.to_string(),
    };
    let parsed =
        rrule::RRule::<rrule::Unvalidated>::from_str(&rule_text).map_err(|e| e.to_string())?;
    if is_impossible(&parsed) {
        return Err("the rule can never match a date".into());
    }
    Ok(parsed)
}

fn build_set(rule: &str, start: &EventTime) -> Result<rrule::RRuleSet, String> {
    parse_rule(rule, start)?
        .build(rrule_start(start))
        .map_err(|e| e.to_string())
}

/// The UNTIL of a normalised rule as an instant (all-day: the end of that date in `zone`).
fn rule_until(rule: &str, zone: Tz) -> Option<DateTime<Utc>> {
    let (_, rest) = rule.split_once(";UNTIL=")?;
    let value = rest.split(';').next()?;
    if value.len() == 8 {
        let date = chrono::NaiveDate::parse_from_str(value, "%Y%m%d").ok()?;
        return Some(
            crate::model::local_to_utc(add_days(date, 1).and_time(NaiveTime::MIN), zone)
                - Duration::seconds(1),
        );
    }
    chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|n| n.and_utc())
}

/// BYMONTH + BYMONTHDAY combinations that name no real day (February 30th, April 31st).
fn is_impossible(rule: &rrule::RRule<rrule::Unvalidated>) -> bool {
    let months = rule.get_by_month();
    let days = rule.get_by_month_day();
    if months.is_empty() || days.is_empty() {
        return false;
    }
    let max_day = |m: u8| match m {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    months
        .iter()
        .all(|&m| days.iter().all(|&d| i32::from(d).abs() > max_day(m)))
}

/// Expands a series master with its overrides (or a single event) inside `window`.
///
/// `date_zone` is the zone all-day dates are placed in for filtering. The rules follow
/// RFC 5545 and, where it leaves room, what python's `recurring-ical-events` does:
///
/// * An override replaces the instance its RECURRENCE-ID names (compared in the form of the
///   master's DTSTART: a `…T000000Z` RECURRENCE-ID names a date of an all-day series); of
///   two for the same instance the higher SEQUENCE wins. An EXDATE removes the instance and
///   its override.
/// * `RANGE=THISANDFUTURE` (§3.8.4.4): every later instance is moved as the override moved
///   its own (by the difference of its DTSTART and RECURRENCE-ID), takes the override's
///   length and fields, until a later such override takes over.
/// * An override whose RECURRENCE-ID the rules do not produce still describes a real
///   occurrence (a moved RDATE instance, or an export with only the override), unless it
///   carries the series' rule itself and is older (lower SEQUENCE) than the master: then the
///   master was edited after it and it is stale.
/// * An override without its master is that one instance; its own rules are not expanded.
pub fn expand(
    master: &Event,
    overrides: &[&Event],
    window: &Window,
    date_zone: Tz,
    cap: usize,
) -> Expansion {
    let mut out = Expansion::default();
    let occurrence = |start: EventTime, end: EventTime, instance: EventTime| Occurrence {
        start_utc: start.to_utc(date_zone),
        end_utc: end.to_utc(date_zone),
        start,
        end,
        instance,
    };
    if let Some(rid) = master.recurrence_id {
        let occ = occurrence(master.start, master.end, rid);
        if window.overlaps(occ.start_utc, occ.end_utc) {
            out.occurrences.push((occ, None));
        }
        return out;
    }
    let excluded = excluded_keys(master, date_zone);
    // Overrides by the key of the instance they replace.
    let mut by_instance: HashMap<String, usize> = HashMap::new();
    let mut this_and_future: Vec<(DateTime<Utc>, usize)> = Vec::new();
    let mut rids = Vec::with_capacity(overrides.len());
    for (i, o) in overrides.iter().enumerate() {
        let rid = o
            .recurrence_id
            .map(|r| conform(&r, &master.start, date_zone));
        rids.push(rid);
        let Some(rid) = rid else { continue };
        let key = recurrence_key(&rid);
        if excluded.contains(&key) {
            continue;
        }
        let slot = by_instance.entry(key).or_insert(i);
        if overrides[*slot].sequence < o.sequence {
            *slot = i;
        }
        if o.this_and_future {
            this_and_future.push((rid.to_utc(date_zone), i));
        }
    }
    this_and_future.retain(|(_, i)| by_instance.values().any(|v| v == i));
    this_and_future.sort();
    let mut used = vec![false; overrides.len()];

    let starts = instance_starts(master, window, date_zone, cap, &mut out.truncated);
    let length = span(&master.start, &master.end, date_zone);
    for (instance, period_end) in starts {
        let key = recurrence_key(&instance);
        let at = instance.to_utc(date_zone);
        let (start, end, from) = if let Some(&i) = by_instance.get(&key) {
            used[i] = true;
            (overrides[i].start, overrides[i].end, Some(i))
        } else if let Some(&(_, i)) = this_and_future.iter().rev().find(|(r, _)| *r < at) {
            let o = overrides[i];
            let start = match rids[i] {
                Some(rid) => moved_like(&instance, &rid, &o.start, date_zone),
                None => instance,
            };
            let end = shift(&start, &span(&o.start, &o.end, date_zone));
            (start, end, Some(i))
        } else {
            let end = period_end.unwrap_or_else(|| shift(&instance, &length));
            (instance, end, None)
        };
        let occ = occurrence(start, end, instance);
        if window.overlaps(occ.start_utc, occ.end_utc) {
            out.occurrences.push((occ, from));
        }
        if out.occurrences.len() >= cap {
            out.truncated = true;
            break;
        }
    }
    for &i in by_instance.values() {
        let o = overrides[i];
        if used[i] || out.occurrences.len() >= cap {
            continue;
        }
        let Some(rid) = rids[i] else { continue };
        if o.rrule.is_some() && o.sequence < master.sequence && !produces(master, &rid, date_zone) {
            continue;
        }
        let occ = occurrence(o.start, o.end, rid);
        if window.overlaps(occ.start_utc, occ.end_utc) {
            out.occurrences.push((occ, Some(i)));
        }
    }
    out.occurrences.sort_by_key(|(o, _)| o.start_utc);
    out
}

/// The keys of a series' EXDATEs, in the form of its DTSTART.
fn excluded_keys(ev: &Event, zone: Tz) -> HashSet<String> {
    ev.exdates
        .iter()
        .map(|x| recurrence_key(&conform(x, &ev.start, zone)))
        .collect()
}

/// Whether the series' rules and dates produce the instance `rid` (not excluded).
fn produces(master: &Event, rid: &EventTime, zone: Tz) -> bool {
    let at = rid.to_utc(zone);
    let around = Window {
        start: at - Duration::days(2),
        end: at + Duration::days(2),
    };
    let key = recurrence_key(rid);
    let mut truncated = false;
    instance_starts(master, &around, zone, usize::MAX / 4, &mut truncated)
        .iter()
        .any(|(s, _)| recurrence_key(s) == key)
}

/// `instance` moved as an override moved its own instance `rid` to `start` (in `start`'s
/// form: wall-clock time for local times, so a move keeps its local time across DST).
fn moved_like(instance: &EventTime, rid: &EventTime, start: &EventTime, zone: Tz) -> EventTime {
    match (instance, rid, start) {
        (EventTime::Date { date }, EventTime::Date { date: r }, EventTime::Date { date: s }) => {
            EventTime::Date {
                date: add_days(*date, (*s - *r).num_days()),
            }
        }
        (
            EventTime::Local { local, tz },
            EventTime::Local { local: r, tz: rtz },
            EventTime::Local { local: s, tz: stz },
        ) if tz == rtz && tz == stz => EventTime::Local {
            local: *local + (*s - *r),
            tz: *tz,
        },
        _ => {
            let utc = instance.to_utc(zone) + (start.to_utc(zone) - rid.to_utc(zone));
            match start {
                EventTime::Local { tz, .. } => EventTime::Local {
                    local: utc.with_timezone(tz).naive_local(),
                    tz: *tz,
                },
                EventTime::Date { .. } => EventTime::Date {
                    date: utc.with_timezone(&zone).date_naive(),
                },
                EventTime::Utc { .. } => EventTime::Utc { utc },
            }
        }
    }
}

/// Length of an event, as whole days for all-day events and exact seconds otherwise.
enum Span {
    Days(i64),
    Exact(Duration),
}

fn span(start: &EventTime, end: &EventTime, zone: Tz) -> Span {
    match (start, end) {
        (EventTime::Date { date: s }, EventTime::Date { date: e }) => {
            Span::Days((*e - *s).num_days())
        }
        _ => Span::Exact(end.to_utc(zone) - start.to_utc(zone)),
    }
}

fn shift(start: &EventTime, span: &Span) -> EventTime {
    match (start, span) {
        (EventTime::Date { date }, Span::Days(d)) => EventTime::Date {
            date: add_days(*date, *d),
        },
        (EventTime::Date { date }, Span::Exact(d)) => EventTime::Date {
            date: add_days(*date, d.num_days().max(1)),
        },
        (EventTime::Utc { utc }, Span::Exact(d)) => EventTime::Utc { utc: *utc + *d },
        (EventTime::Local { local, tz }, Span::Exact(d)) => {
            let end = crate::model::local_to_utc(*local, *tz) + *d;
            EventTime::Local {
                local: end.with_timezone(tz).naive_local(),
                tz: *tz,
            }
        }
        (other, Span::Days(d)) => shift(other, &Span::Exact(Duration::days(*d))),
    }
}

/// Instance starts of a series (DTSTART, every RRULE, RDATE and RDATE periods, minus
/// EXDATE) that may touch the window, in the form of the series' DTSTART, each with the end
/// an RDATE period gives it. DTSTART is the first instance, unless every rule ends (UNTIL)
/// before it.
fn instance_starts(
    ev: &Event,
    window: &Window,
    zone: Tz,
    cap: usize,
    truncated: &mut bool,
) -> Vec<(EventTime, Option<EventTime>)> {
    let length = span(&ev.start, &ev.end, zone);
    let longest = ev
        .rdate_periods
        .iter()
        .map(|p| p.end.to_utc(zone) - p.start.to_utc(zone))
        .fold(
            match length {
                Span::Days(d) => Duration::days(d.max(1)),
                Span::Exact(d) => d.max(Duration::zero()),
            },
            Duration::max,
        );
    // Instances starting before this cannot reach into the window.
    let earliest = window.start - longest - Duration::days(1);
    let rules: Vec<&String> = ev.rrule.iter().chain(&ev.extra_rrules).collect();
    let start_after_until = !rules.is_empty()
        && rules
            .iter()
            .map(|r| rule_until(r, zone))
            .collect::<Option<Vec<_>>>()
            .and_then(|u| u.into_iter().max())
            .is_some_and(|until| ev.start.to_utc(zone) > until);
    let mut starts: Vec<(EventTime, Option<EventTime>)> = Vec::new();
    if !start_after_until {
        starts.push((ev.start, None));
    }
    for rule in rules {
        let Ok(set) = build_set(rule, &ev.start) else {
            continue;
        };
        let mut looked = 0usize;
        let mut in_range = 0usize;
        for dt in &set {
            looked += 1;
            if looked > ITERATION_BUDGET {
                *truncated = true;
                break;
            }
            let utc = dt.with_timezone(&Utc);
            if utc >= window.end {
                break;
            }
            if utc < earliest {
                continue;
            }
            let t = match ev.start {
                EventTime::Date { .. } => EventTime::Date {
                    date: dt.naive_utc().date(),
                },
                EventTime::Utc { .. } => EventTime::Utc { utc },
                EventTime::Local { tz, .. } => EventTime::Local {
                    local: utc.with_timezone(&tz).naive_local(),
                    tz,
                },
            };
            starts.push((t, None));
            in_range += 1;
            if in_range >= cap.saturating_mul(2) {
                *truncated = true;
                break;
            }
        }
    }
    starts.extend(
        ev.rdates
            .iter()
            .map(|r| (conform(r, &ev.start, zone), None)),
    );
    let periods: HashMap<String, EventTime> = ev
        .rdate_periods
        .iter()
        .map(|p| {
            let s = conform(&p.start, &ev.start, zone);
            starts.push((s, None));
            (recurrence_key(&s), p.end)
        })
        .collect();
    let excluded = excluded_keys(ev, zone);
    let mut seen = HashSet::new();
    let mut out: Vec<(EventTime, Option<EventTime>)> = starts
        .into_iter()
        .filter_map(|(s, _)| {
            let key = recurrence_key(&s);
            if excluded.contains(&key) || !seen.insert(key.clone()) {
                return None;
            }
            Some((s, periods.get(&key).copied()))
        })
        .collect();
    out.sort_by_key(|(s, _)| s.to_utc(zone));
    out
}

/// An RDATE/EXDATE/RECURRENCE-ID in the form of the series' DTSTART (a date on a timed
/// series names the instance on that day at DTSTART's time; a date-time on an all-day series
/// names its date: the wall-clock date for a local time, the date in `zone` for UTC).
pub fn conform(t: &EventTime, start: &EventTime, zone: Tz) -> EventTime {
    match (t, start) {
        (EventTime::Date { date }, EventTime::Local { local, tz }) => EventTime::Local {
            local: date.and_time(local.time()),
            tz: *tz,
        },
        (EventTime::Date { date }, EventTime::Utc { utc }) => EventTime::Utc {
            utc: date.and_time(utc.time()).and_utc(),
        },
        (EventTime::Local { local, .. }, EventTime::Date { .. }) => {
            EventTime::Date { date: local.date() }
        }
        (EventTime::Utc { utc }, EventTime::Date { .. }) => EventTime::Date {
            date: utc.with_timezone(&zone).date_naive(),
        },
        (other, _) => *other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use chrono_tz::Europe::Berlin;

    fn local(s: &str) -> EventTime {
        EventTime::Local {
            local: chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
            tz: Berlin,
        }
    }

    fn event(start: EventTime, end: EventTime, rrule: Option<&str>) -> Event {
        Event {
            rrule: rrule.map(str::to_string),
            ..Event::new("u", "T", start, end)
        }
    }

    fn window() -> Window {
        Window::around("2026-11-24T12:00:00Z".parse().unwrap(), Berlin, 30, 365)
    }

    #[test]
    fn weekly_keeps_local_time_across_dst() {
        let ev = event(
            local("2027-03-16 19:00"),
            local("2027-03-16 21:00"),
            Some("FREQ=WEEKLY;COUNT=4"),
        );
        let exp = expand(&ev, &[], &window(), Berlin, 1000);
        let starts: Vec<String> = exp
            .occurrences
            .iter()
            .map(|(o, _)| o.start_utc.to_rfc3339())
            .collect();
        assert_eq!(
            starts,
            [
                "2027-03-16T18:00:00+00:00",
                "2027-03-23T18:00:00+00:00",
                "2027-03-30T17:00:00+00:00",
                "2027-04-06T17:00:00+00:00"
            ]
        );
    }

    #[test]
    fn row5_secondly_without_end_is_bounded() {
        let ev = event(
            local("2026-11-01 10:00"),
            local("2026-11-01 10:00"),
            Some("FREQ=SECONDLY"),
        );
        let started = std::time::Instant::now();
        let exp = expand(&ev, &[], &window(), Berlin, 1000);
        assert_eq!(exp.occurrences.len(), 1000);
        assert!(exp.truncated);
        // A rule starting years before the window stops at the iteration budget.
        let ev = event(
            local("2020-01-01 10:00"),
            local("2020-01-01 10:00"),
            Some("FREQ=SECONDLY"),
        );
        let exp = expand(&ev, &[], &window(), Berlin, 1000);
        assert!(exp.truncated);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn impossible_rule_is_refused() {
        let ev = event(
            local("2027-01-30 10:00"),
            local("2027-01-30 11:00"),
            Some("FREQ=MONTHLY;BYMONTHDAY=30;BYMONTH=2"),
        );
        assert!(check_rule(&ev).unwrap_err().contains("never match"));
    }

    #[test]
    fn all_day_series_with_exdate() {
        let d = |s: &str| EventTime::Date {
            date: NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap(),
        };
        let mut ev = event(
            d("2026-12-01"),
            d("2026-12-02"),
            Some("FREQ=DAILY;UNTIL=20261204"),
        );
        ev.exdates = vec![d("2026-12-02")];
        let exp = expand(&ev, &[], &window(), Berlin, 1000);
        let days: Vec<String> = exp
            .occurrences
            .iter()
            .map(|(o, _)| format!("{:?}", o.start.date_in(Berlin)))
            .collect();
        assert_eq!(days, ["2026-12-01", "2026-12-03", "2026-12-04"]);
    }
}

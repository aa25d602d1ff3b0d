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

/// Checks that an event's rule can be expanded (used when ingesting, so a bad rule is reported
/// with the event's UID).
pub fn check_rule(ev: &Event) -> Result<(), String> {
    if let Some(rule) = &ev.rrule {
        build_set(rule, &ev.start).map_err(|e| format!("RRULE {rule:?}: {e}"))?;
    }
    Ok(())
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

fn build_set(rule: &str, start: &EventTime) -> Result<rrule::RRuleSet, String> {
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
    parsed.build(rrule_start(start)).map_err(|e| e.to_string())
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
/// `date_zone` is the zone all-day dates are placed in for filtering.
pub fn expand(
    master: &Event,
    overrides: &[&Event],
    window: &Window,
    date_zone: Tz,
    cap: usize,
) -> Expansion {
    let mut out = Expansion::default();
    let by_instance: HashMap<String, usize> = overrides
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.recurrence_id.map(|r| (recurrence_key(&r), i)))
        .collect();
    let mut used_overrides = HashSet::new();

    let starts = instance_starts(master, window, date_zone, cap, &mut out.truncated);
    let length = span(&master.start, &master.end, date_zone);
    for instance in starts {
        let key = recurrence_key(&instance);
        let (start, end, from) = match by_instance.get(&key) {
            Some(&i) => {
                used_overrides.insert(i);
                (overrides[i].start, overrides[i].end, Some(i))
            }
            None => (instance, shift(&instance, &length), None),
        };
        let (s, e) = (start.to_utc(date_zone), end.to_utc(date_zone));
        if window.overlaps(s, e) {
            out.occurrences.push((
                Occurrence {
                    start,
                    end,
                    instance,
                    start_utc: s,
                    end_utc: e,
                },
                from,
            ));
        }
        if out.occurrences.len() >= cap {
            out.truncated = true;
            break;
        }
    }
    // Overrides whose RECURRENCE-ID the rule does not produce (moved RDATE instances, or
    // exports that only contain the override) still describe a real occurrence.
    for (i, o) in overrides.iter().enumerate() {
        if used_overrides.contains(&i) || out.occurrences.len() >= cap {
            continue;
        }
        let (s, e) = (o.start.to_utc(date_zone), o.end.to_utc(date_zone));
        if window.overlaps(s, e) {
            let instance = o.recurrence_id.unwrap_or(o.start);
            out.occurrences.push((
                Occurrence {
                    start: o.start,
                    end: o.end,
                    instance,
                    start_utc: s,
                    end_utc: e,
                },
                Some(i),
            ));
        }
    }
    out.occurrences.sort_by_key(|(o, _)| o.start_utc);
    out
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

/// Instance starts of a series (DTSTART, RRULE, RDATE, minus EXDATE) that may touch the window,
/// in the form of the series' DTSTART.
fn instance_starts(
    ev: &Event,
    window: &Window,
    zone: Tz,
    cap: usize,
    truncated: &mut bool,
) -> Vec<EventTime> {
    let length = span(&ev.start, &ev.end, zone);
    let longest = match length {
        Span::Days(d) => Duration::days(d.max(1)),
        Span::Exact(d) => d.max(Duration::zero()),
    };
    // Instances starting before this cannot reach into the window.
    let earliest = window.start - longest - Duration::days(1);
    let mut starts: Vec<EventTime> = vec![ev.start];
    if let Some(rule) = &ev.rrule
        && let Ok(set) = build_set(rule, &ev.start)
    {
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
            starts.push(t);
            in_range += 1;
            if in_range >= cap.saturating_mul(2) {
                *truncated = true;
                break;
            }
        }
    }
    starts.extend(ev.rdates.iter().map(|r| conform(r, &ev.start, zone)));
    let excluded: HashSet<String> = ev
        .exdates
        .iter()
        .map(|x| recurrence_key(&conform(x, &ev.start, zone)))
        .collect();
    let mut seen = HashSet::new();
    let mut out: Vec<EventTime> = starts
        .into_iter()
        .filter(|s| {
            let key = recurrence_key(s);
            !excluded.contains(&key) && seen.insert(key)
        })
        .collect();
    out.sort_by_key(|s| s.to_utc(zone));
    out
}

/// An RDATE/EXDATE in the form of the series' DTSTART (a date EXDATE on a timed series names the
/// instance on that day at DTSTART's time).
fn conform(t: &EventTime, start: &EventTime, zone: Tz) -> EventTime {
    match (t, start) {
        (EventTime::Date { date }, EventTime::Local { local, tz }) => EventTime::Local {
            local: date.and_time(local.time()),
            tz: *tz,
        },
        (EventTime::Date { date }, EventTime::Utc { utc }) => EventTime::Utc {
            utc: date.and_time(utc.time()).and_utc(),
        },
        (other, EventTime::Date { .. }) if !other.is_date() => EventTime::Date {
            date: other.date_in(zone),
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

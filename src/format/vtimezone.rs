//! Time zones defined by a calendar's own VTIMEZONE (RFC 5545 §3.6.5).
//!
//! A VTIMEZONE *is* the definition of its TZID: its STANDARD and DAYLIGHT observances give
//! onsets (DTSTART, expanded by the observance's RRULE and RDATEs, as local times in the
//! offset before the onset, TZOFFSETFROM) and the offset from then on (TZOFFSETTO). [`Rules`]
//! evaluates them into a list of transitions and converts local times to UTC as RFC 5545
//! §3.3.5 says: a time in a gap is read with the offset before the gap (it moves forward), a
//! time that occurs twice (the fold) means the first of the two instants. Before the first
//! onset the earliest observance's TZOFFSETFROM applies.
//!
//! [`resolve`] then decides what the parser uses: the IANA zone that agrees with the rules
//! over the years the calendar's events use them (the zone the TZID, X-LIC-LOCATION or
//! X-MICROSOFT-CDO-TZID names is tried first, then the calendar's zones, then every IANA
//! zone), so a series keeps its wall-clock time across DST changes and the merged feed can
//! say `TZID=Europe/Berlin`; a fixed offset when the rules never change; else the rules
//! themselves. Where the TZID is an IANA or Windows name and the VTIMEZONE contradicts it,
//! the VTIMEZONE wins.

use calcard::common::PartialDateTime;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarPeriod, ICalendarProperty,
    ICalendarValue,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;
use std::sync::Arc;

/// Onsets expanded from one observance's RRULE at most.
const MAX_ONSETS_PER_RULE: usize = 2_000;

/// One change of offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Transition {
    /// The onset, as Unix seconds.
    at: i64,
    /// The offset before the onset (seconds east of UTC).
    from: i32,
    /// The offset from the onset on.
    to: i32,
}

/// The evaluated rules of one VTIMEZONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    transitions: Vec<Transition>,
    /// The offset before the first onset.
    initial: i32,
    /// The span the definition speaks for (Unix seconds): from its first onset to its last,
    /// or without end when a rule goes on without UNTIL or COUNT.
    defined: (i64, i64),
}

/// What a TZID stands for.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// An IANA zone that agrees with the definition where the calendar uses it.
    Iana(Tz),
    /// One offset throughout.
    Fixed(i32),
    /// Rules no IANA zone follows: times are converted with them.
    Custom(Arc<Rules>),
}

/// Seconds east of UTC of a UTC-OFFSET value (`+0100`, `-0530`, `+011544`).
pub fn utc_offset_seconds(v: &ICalendarValue) -> Option<i32> {
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
    let s: i32 = match rest.get(4..6) {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    (h < 24 && m < 60 && s < 60).then_some(sign * (h * 3600 + m * 60 + s))
}

fn naive(p: &PartialDateTime) -> Option<NaiveDateTime> {
    let date = NaiveDate::from_ymd_opt(i32::from(p.year?), u32::from(p.month?), u32::from(p.day?))?;
    let time = NaiveTime::from_hms_opt(
        u32::from(p.hour.unwrap_or(0)),
        u32::from(p.minute.unwrap_or(0)),
        u32::from(p.second.unwrap_or(0)).min(59),
    )?;
    Some(date.and_time(time))
}

/// Unix seconds of a local time read as if it were UTC.
fn local_secs(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp()
}

impl Rules {
    /// Evaluates a VTIMEZONE component (its observances are `ical.components[id]` for its
    /// `component_ids`), with onsets up to the end of `until_year`.
    pub fn from_component(
        ical: &ICalendar,
        comp: &ICalendarComponent,
        until_year: i32,
    ) -> Result<Rules, String> {
        let mut transitions = Vec::new();
        let mut open_ended = false;
        let horizon = NaiveDate::from_ymd_opt(until_year.clamp(1900, 2200) + 1, 1, 1)
            .map(|d| local_secs(d.and_time(NaiveTime::MIN)))
            .unwrap_or(i64::MAX);
        for id in &comp.component_ids {
            let Some(sub) = ical.components.get(*id as usize) else {
                continue;
            };
            if !matches!(
                sub.component_type,
                ICalendarComponentType::Standard | ICalendarComponentType::Daylight
            ) {
                continue;
            }
            open_ended |= observance(sub, horizon, &mut transitions)?;
        }
        if transitions.is_empty() {
            return Err("VTIMEZONE has no usable STANDARD or DAYLIGHT observance".into());
        }
        transitions.sort_by_key(|t| t.at);
        transitions.dedup_by_key(|t| t.at);
        let initial = transitions[0].from;
        let first = transitions[0].at;
        let last = if open_ended {
            i64::MAX
        } else {
            transitions[transitions.len() - 1].at
        };
        Ok(Rules {
            transitions,
            initial,
            defined: (first, last),
        })
    }

    /// The offset in force at a UTC instant (Unix seconds).
    pub fn offset_at(&self, utc: i64) -> i32 {
        let idx = self.transitions.partition_point(|t| t.at <= utc);
        match idx {
            0 => self.initial,
            i => self.transitions[i - 1].to,
        }
    }

    /// The single offset of rules that never change it.
    pub fn fixed(&self) -> Option<i32> {
        let first = self.initial;
        self.transitions
            .iter()
            .all(|t| t.to == first)
            .then_some(first)
    }

    /// The UTC instant of a local time (RFC 5545 §3.3.5: a time in a gap is read with the
    /// offset before the gap; of a time that occurs twice, the first instant).
    pub fn local_to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let secs = local_secs(local);
        let mut offsets: Vec<i32> = std::iter::once(self.initial)
            .chain(self.transitions.iter().map(|t| t.to))
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        let valid = offsets
            .iter()
            .map(|&o| secs - i64::from(o))
            .filter(|&u| i64::from(self.offset_at(u)) == secs - u)
            .min();
        let utc = valid.unwrap_or_else(|| {
            // In a gap: the last onset the local time has passed on the clock before it.
            let before = self
                .transitions
                .iter()
                .rev()
                .find(|t| secs - i64::from(t.from) >= t.at)
                .map_or(self.initial, |t| t.from);
            secs - i64::from(before)
        });
        DateTime::from_timestamp(utc, 0).unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// Whether `tz` has the same offset as these rules at every instant of `[from, to]`
    /// (Unix seconds): at every onset in the range and once a week in between.
    pub fn agrees_with(&self, tz: Tz, from: i64, to: i64) -> bool {
        let iana = |utc: i64| {
            DateTime::from_timestamp(utc, 0).map(|d| {
                tz.offset_from_utc_datetime(&d.naive_utc())
                    .fix()
                    .local_minus_utc()
            })
        };
        let same = |utc: i64| iana(utc) == Some(self.offset_at(utc));
        let onsets_agree = self
            .transitions
            .iter()
            .filter(|t| (from..=to).contains(&t.at))
            .all(|t| same(t.at) && same(t.at - 1));
        onsets_agree && (from..=to).step_by(7 * 86_400).all(same)
    }
}

/// Adds the onsets of one STANDARD or DAYLIGHT observance; whether its rule goes on without
/// end.
fn observance(
    sub: &ICalendarComponent,
    horizon: i64,
    out: &mut Vec<Transition>,
) -> Result<bool, String> {
    let mut start = None;
    let mut from = None;
    let mut to = None;
    let mut rule = None;
    // RDATE onsets: (seconds, whether they are UTC rather than local).
    let mut rdates: Vec<(i64, bool)> = Vec::new();
    for e in &sub.entries {
        let first = e.values.first();
        match &e.name {
            ICalendarProperty::Dtstart => start = first.and_then(|v| v.as_partial_date_time()),
            ICalendarProperty::Tzoffsetfrom => from = first.and_then(utc_offset_seconds),
            ICalendarProperty::Tzoffsetto => to = first.and_then(utc_offset_seconds),
            ICalendarProperty::Rrule => {
                if let Some(ICalendarValue::RecurrenceRule(r)) = first {
                    rule = Some(r.as_ref().clone());
                }
            }
            ICalendarProperty::Rdate => {
                for v in &e.values {
                    let p = match v {
                        ICalendarValue::PartialDateTime(p) => p.as_ref(),
                        ICalendarValue::Period(ICalendarPeriod::Range { start, .. })
                        | ICalendarValue::Period(ICalendarPeriod::Duration { start, .. }) => start,
                        _ => continue,
                    };
                    if let Some(n) = naive(p) {
                        rdates.push((local_secs(n) - i64::from(offset_of(p)), p.has_zone()));
                    }
                }
            }
            _ => {}
        }
    }
    let kind = match sub.component_type {
        ICalendarComponentType::Daylight => "DAYLIGHT",
        _ => "STANDARD",
    };
    let (Some(start), Some(to)) = (start, to) else {
        return Err(format!("{kind} without DTSTART or TZOFFSETTO"));
    };
    // TZOFFSETFROM is required; an export that leaves it out means "no change".
    let from = from.unwrap_or(to);
    let local_start = naive(start).ok_or_else(|| format!("{kind}: invalid DTSTART"))?;
    let onset = |local: i64| local - i64::from(from);
    let mut push = |at: i64| out.push(Transition { at, from, to });
    push(if start.has_zone() {
        local_secs(local_start) - i64::from(offset_of(start))
    } else {
        onset(local_secs(local_start))
    });
    for (secs, utc) in rdates {
        push(if utc { secs } else { onset(secs) });
    }
    let open_ended = rule
        .as_ref()
        .is_some_and(|r| r.until.is_none() && r.count.is_none());
    if let Some(mut rule) = rule {
        let until = rule.until.take();
        let mut text = rule.to_string();
        if let Some(u) = until {
            let n = naive(&u).ok_or_else(|| format!("{kind}: invalid RRULE UNTIL"))?;
            // UNTIL is UTC (RFC 5545 §3.6.5); the expansion runs on local times.
            let local_until = if u.has_zone() {
                n + chrono::Duration::seconds(i64::from(from) - i64::from(offset_of(&u)))
            } else {
                n
            };
            text.push_str(";UNTIL=");
            text.push_str(&local_until.format("%Y%m%dT%H%M%SZ").to_string());
        }
        let set = rrule::RRule::<rrule::Unvalidated>::from_str(&text)
            .and_then(|r| r.build(rrule::Tz::UTC.from_utc_datetime(&local_start)))
            .map_err(|e| format!("{kind} RRULE {text:?}: {e}"))?;
        for dt in set.into_iter().take(MAX_ONSETS_PER_RULE) {
            let local = local_secs(dt.naive_utc());
            if local > horizon {
                break;
            }
            push(onset(local));
        }
    }
    Ok(open_ended)
}

fn offset_of(p: &PartialDateTime) -> i32 {
    let secs = i32::from(p.tz_hour.unwrap_or(0)) * 3600 + i32::from(p.tz_minute.unwrap_or(0)) * 60;
    if p.tz_minus { -secs } else { secs }
}

/// Decides what a VTIMEZONE stands for, for times in `[from, to]` (Unix seconds: the span the
/// calendar's events use it in). `named` is the zone its TZID, X-LIC-LOCATION or
/// X-MICROSOFT-CDO-TZID names, `preferred` the calendar's own zones (X-WR-TIMEZONE, the
/// configured one), tried in that order before every other IANA zone.
pub fn resolve(
    ical: &ICalendar,
    comp: &ICalendarComponent,
    named: Option<Tz>,
    preferred: &[Tz],
    (from, to): (i64, i64),
) -> Result<Resolved, String> {
    let until_year = DateTime::from_timestamp(to, 0).map_or(2200, |d| {
        use chrono::Datelike;
        d.year()
    });
    let rules = match Rules::from_component(ical, comp, until_year) {
        Ok(rules) => rules,
        // A definition that cannot be evaluated: the name is all there is.
        Err(e) => return named.map(Resolved::Iana).ok_or(e),
    };
    // The zone the TZID names needs to agree only where the definition speaks: exports
    // commonly write just the transitions around the day of the export.
    if let Some(tz) = named {
        let (lo, hi) = (from.max(rules.defined.0), to.min(rules.defined.1));
        if lo > hi || rules.agrees_with(tz, lo, hi) {
            return Ok(Resolved::Iana(tz));
        }
    }
    // Any other zone must agree over whole years, so a zone that merely has the same offset
    // on the few days the calendar uses is not taken for it.
    let year_of = |t: i64| {
        use chrono::Datelike;
        DateTime::from_timestamp(t, 0).map_or(1970, |d| d.year())
    };
    let secs = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y.clamp(1900, 2200), m, d)
            .map_or(0, |d| local_secs(d.and_time(NaiveTime::MIN)))
    };
    let (whole_from, whole_to) = (secs(year_of(from), 1, 1), secs(year_of(to), 12, 31));
    let agrees = |tz: Tz| rules.agrees_with(tz, whole_from, whole_to);
    if let Some(tz) = preferred.iter().copied().find(|&tz| agrees(tz)) {
        return Ok(Resolved::Iana(tz));
    }
    if let Some(off) = rules.fixed() {
        return Ok(Resolved::Fixed(off));
    }
    // Every IANA zone, canonical regional names first.
    let rank = |tz: &Tz| {
        let name = tz.name();
        match name.split('/').next() {
            Some("Europe") => 0,
            Some("America" | "Asia" | "Australia" | "Africa" | "Pacific" | "Atlantic") => 1,
            _ if name.contains('/') && !name.starts_with("Etc/") => 2,
            _ => 3,
        }
    };
    let mut all: Vec<Tz> = chrono_tz::TZ_VARIANTS.to_vec();
    all.sort_by_key(rank);
    match all.into_iter().find(|&tz| agrees(tz)) {
        Some(tz) => Ok(Resolved::Iana(tz)),
        None => Ok(Resolved::Custom(Arc::new(rules))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calcard::{Entry, Parser};

    fn calendar(text: &str) -> ICalendar {
        match Parser::new(text).entry() {
            Entry::ICalendar(c) => c,
            other => panic!("{other:?}"),
        }
    }

    const MY_TIMEZONE: &str = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:MyTimezone\r\n\
        BEGIN:STANDARD\r\nTZOFFSETFROM:+1000\r\nTZOFFSETTO:+1200\r\nDTSTART:20240101T000000\r\n\
        END:STANDARD\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+1200\r\nTZOFFSETTO:+1000\r\n\
        DTSTART:20240505T080000\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";

    fn rules(text: &str) -> Rules {
        let cal = calendar(text);
        let tz = cal.timezones().next().unwrap();
        Rules::from_component(&cal, tz, 2030).unwrap()
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn fold_takes_the_first_instant_and_offset_before_first_onset() {
        let r = rules(MY_TIMEZONE);
        let utc = |s: &str| r.local_to_utc(at(s)).to_rfc3339();
        // Before the first onset: TZOFFSETFROM of the earliest observance.
        assert_eq!(utc("2023-06-01 12:00:00"), "2023-06-01T02:00:00+00:00");
        assert_eq!(utc("2024-03-03 08:00:00"), "2024-03-02T20:00:00+00:00");
        // 08:00 (+12) -> 06:00 (+10): 07:00:01 exists twice, the first one counts.
        assert_eq!(utc("2024-05-05 07:00:01"), "2024-05-04T19:00:01+00:00");
        assert_eq!(utc("2024-05-05 08:00:01"), "2024-05-04T22:00:01+00:00");
        assert_eq!(r.fixed(), None);
    }

    #[test]
    fn gap_moves_forward_and_rules_match_iana() {
        // Europe/Berlin as Outlook writes it: one yearly rule each, from 1601.
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n\
            BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
            RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n\
            BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
            RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n\
            END:VTIMEZONE\r\nEND:VCALENDAR\r\n";
        let r = rules(text);
        // 2027-03-28 02:30 does not exist: read with +01:00, i.e. 03:30 CEST.
        assert_eq!(
            r.local_to_utc(at("2027-03-28 02:30:00")).to_rfc3339(),
            "2027-03-28T01:30:00+00:00"
        );
        // 2026-10-25 02:30 exists twice: the first (CEST) instant.
        assert_eq!(
            r.local_to_utc(at("2026-10-25 02:30:00")).to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
        let span = |a: &str, b: &str| (at(a).and_utc().timestamp(), at(b).and_utc().timestamp());
        let (from, to) = span("2020-01-01 00:00:00", "2030-12-31 00:00:00");
        assert!(r.agrees_with(chrono_tz::Europe::Berlin, from, to));
        assert!(!r.agrees_with(chrono_tz::Europe::London, from, to));
        assert!(!r.agrees_with(chrono_tz::America::New_York, from, to));
        // Before 1996 the EU ended summer time in September: the rule contradicts Berlin.
        let (from, to) = span("1990-01-01 00:00:00", "1995-12-31 00:00:00");
        assert!(!r.agrees_with(chrono_tz::Europe::Berlin, from, to));
    }

    #[test]
    fn rdate_onsets_and_offsets_with_seconds() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:custom\r\n\
            BEGIN:STANDARD\r\nTZOFFSETFROM:+115544\r\nTZOFFSETTO:+1200\r\n\
            DTSTART:19151026T000000\r\nRDATE:19151026T000000\r\nEND:STANDARD\r\n\
            BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+1200\r\nTZOFFSETTO:+1300\r\n\
            DTSTART:19981101T020000\r\nRDATE:19981101T020000,19991107T020000\r\nEND:DAYLIGHT\r\n\
            END:VTIMEZONE\r\nEND:VCALENDAR\r\n";
        let r = rules(text);
        // calcard keeps hours and minutes of a UTC offset (the 44 seconds of 1915 are lost).
        assert_eq!(r.initial, 11 * 3600 + 55 * 60);
        assert_eq!(
            r.local_to_utc(at("1999-12-01 12:00:00")).to_rfc3339(),
            "1999-11-30T23:00:00+00:00"
        );
    }

    #[test]
    fn offset_texts() {
        assert_eq!(parse_offset_text("+0100"), Some(3600));
        assert_eq!(parse_offset_text("-0530"), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(parse_offset_text("+5744"), None);
    }
}

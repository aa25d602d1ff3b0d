//! Date/time values as the text-based formats write them (ISO 8601 / RFC 3339 / W3CDTF in
//! JSON-LD, RSS event module, Atom, OParl, JSON APIs), read into [`EventTime`].
//!
//! `2026-12-05` is an all-day date; `2026-12-05T19:00` (or with a space, seconds, fractions)
//! without an offset is a wall-clock time in the calendar's zone; with `Z` or an offset it is
//! an instant, kept as a wall-clock time in the calendar's zone when the offset is that zone's
//! offset at that instant (so outputs can say `TZID=Europe/Berlin`), else as UTC.

use crate::model::{EventTime, add_days};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Parses an ISO 8601 date or date-time; `zone` is the calendar's zone.
pub fn parse_iso(text: &str, zone: Tz) -> Result<EventTime, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty date".into());
    }
    if s.len() == 10 {
        let date =
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("invalid date {s:?}"))?;
        check_year(date)?;
        return Ok(EventTime::Date { date });
    }
    let normalized = s.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
        check_year(dt.date_naive())?;
        return Ok(from_instant(
            dt.with_timezone(&Utc),
            dt.offset().fix().local_minus_utc(),
            zone,
        ));
    }
    // Offsets without a colon (+0100) and times without seconds.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(dt) = DateTime::parse_from_str(&normalized, fmt) {
            check_year(dt.date_naive())?;
            return Ok(from_instant(
                dt.with_timezone(&Utc),
                dt.offset().fix().local_minus_utc(),
                zone,
            ));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(&normalized, fmt) {
            check_year(local.date())?;
            return Ok(EventTime::Local { local, tz: zone });
        }
    }
    Err(format!(
        "invalid date-time {:?} (expected ISO 8601, e.g. 2026-12-05T19:00:00+01:00)",
        shorten(s)
    ))
}

/// Parses a value with a chrono format string (for `[source.mapping] date_format`), read in
/// `zone` unless the format includes an offset.
pub fn parse_with_format(text: &str, format: &str, zone: Tz) -> Result<EventTime, String> {
    let s = text.trim();
    if let Ok(dt) = DateTime::parse_from_str(s, format) {
        check_year(dt.date_naive())?;
        return Ok(from_instant(
            dt.with_timezone(&Utc),
            dt.offset().fix().local_minus_utc(),
            zone,
        ));
    }
    if let Ok(local) = NaiveDateTime::parse_from_str(s, format) {
        check_year(local.date())?;
        return Ok(EventTime::Local { local, tz: zone });
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, format) {
        check_year(date)?;
        return Ok(EventTime::Date { date });
    }
    Err(format!(
        "{:?} does not match the date format {format:?}",
        shorten(s)
    ))
}

/// The RFC 5545 default end when a source gives none: the same instant, or the next day.
pub fn default_end(start: &EventTime) -> EventTime {
    match start {
        EventTime::Date { date } => EventTime::Date {
            date: add_days(*date, 1),
        },
        other => *other,
    }
}

fn from_instant(utc: DateTime<Utc>, offset: i32, zone: Tz) -> EventTime {
    let local = zone.from_utc_datetime(&utc.naive_utc());
    if local.offset().fix().local_minus_utc() == offset {
        EventTime::Local {
            local: local.naive_local(),
            tz: zone,
        }
    } else {
        EventTime::Utc { utc }
    }
}

fn check_year(date: NaiveDate) -> Result<(), String> {
    use chrono::Datelike;
    if (1900..=2200).contains(&date.year()) {
        Ok(())
    } else {
        Err(format!("year {} out of range 1900-2200", date.year()))
    }
}

fn shorten(s: &str) -> String {
    crate::text::shorten(s, 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn local(s: &str) -> EventTime {
        EventTime::Local {
            local: NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap(),
            tz: Berlin,
        }
    }

    #[test]
    fn iso_forms() {
        assert_eq!(
            parse_iso("2026-12-05", Berlin).unwrap(),
            EventTime::Date {
                date: NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
            }
        );
        assert_eq!(
            parse_iso("2026-12-05T19:00", Berlin).unwrap(),
            local("2026-12-05 19:00:00")
        );
        assert_eq!(
            parse_iso("2026-12-05 19:00:30", Berlin).unwrap(),
            local("2026-12-05 19:00:30")
        );
        assert_eq!(
            parse_iso("2026-12-05T19:00:00+01:00", Berlin).unwrap(),
            local("2026-12-05 19:00:00")
        );
        assert_eq!(
            parse_iso("2026-12-05T18:00:00Z", Berlin).unwrap(),
            EventTime::Utc {
                utc: "2026-12-05T18:00:00Z".parse().unwrap()
            }
        );
        assert_eq!(
            parse_iso("2026-07-05T19:00:00+0200", Berlin).unwrap(),
            local("2026-07-05 19:00:00")
        );
        assert_eq!(
            parse_iso("2026-12-05T19:00:00.000+01:00", Berlin).unwrap(),
            local("2026-12-05 19:00:00")
        );
        // An offset that is not Berlin's stays an instant.
        let t = parse_iso("2026-12-05T19:00:00-05:00", Berlin).unwrap();
        assert_eq!(
            t,
            EventTime::Utc {
                utc: "2026-12-06T00:00:00Z".parse().unwrap()
            }
        );
    }

    #[test]
    fn errors_name_the_value() {
        assert!(
            parse_iso("2026-13-05", Berlin)
                .unwrap_err()
                .contains("invalid date")
        );
        assert!(
            parse_iso("morgen", Berlin)
                .unwrap_err()
                .contains("\"morgen\"")
        );
        assert!(
            parse_iso("0001-01-01T00:00:00Z", Berlin)
                .unwrap_err()
                .contains("out of range")
        );
    }

    #[test]
    fn custom_formats() {
        assert_eq!(
            parse_with_format("05.12.2026 19:00", "%d.%m.%Y %H:%M", Berlin).unwrap(),
            local("2026-12-05 19:00:00")
        );
        assert!(parse_with_format("5.12.", "%d.%m.%Y %H:%M", Berlin).is_err());
    }
}

//! Cron schedules per source and the scheduler loop that drives ingestion.
//!
//! Operators write the usual 5-field crontab syntax (`*/30 * * * *`, day of week 0-7 with
//! Sunday as 0 or 7); the `cron` crate's own 6/7-field syntax (with seconds) is accepted too.
//! Schedules are evaluated in the calendar's time zone. Each source gets a fixed jitter derived
//! from its id (up to a tenth of its interval, at most five minutes) so sources on the same
//! schedule do not all fire at once. The next run is kept in the store, so a restart neither
//! refetches everything nor forgets a due fetch.

use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::str::FromStr;

/// Error parsing a schedule.
#[derive(Debug, thiserror::Error)]
#[error("invalid cron expression {expression:?}: {reason}")]
pub struct ScheduleError {
    expression: String,
    reason: String,
}

/// A parsed cron schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    text: String,
    cron: cron::Schedule,
}

impl Schedule {
    /// Parses a 5-field crontab expression or the `cron` crate's 6/7-field form.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let err = |reason: String| ScheduleError {
            expression: text.to_string(),
            reason,
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let expr = match fields.len() {
            5 => {
                let dow = crontab_dow_to_cron(fields[4]).map_err(err)?;
                format!(
                    "0 {} {} {} {} {}",
                    fields[0], fields[1], fields[2], fields[3], dow
                )
            }
            6 | 7 => fields.join(" "),
            n => {
                return Err(err(format!(
                    "expected 5 fields (minute hour day month weekday), got {n}"
                )));
            }
        };
        let cron = cron::Schedule::from_str(&expr).map_err(|e| err(e.to_string()))?;
        if cron.upcoming(Utc).next().is_none() {
            return Err(err("never fires".into()));
        }
        Ok(Schedule {
            text: text.to_string(),
            cron,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first fire time strictly after `after`, evaluated in `tz`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .after(&after.with_timezone(&tz))
            .next()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The next run for `source_id` after `after`: the next fire time plus the source's jitter.
    pub fn next_run(&self, source_id: &str, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let first = self.next_after(after, tz)?;
        let second = self
            .next_after(first, tz)
            .unwrap_or(first + Duration::hours(1));
        let span = (second - first).num_seconds().clamp(0, 3000) / 10;
        Some(first + Duration::seconds(jitter_seconds(source_id, span)))
    }
}

/// A stable pseudo-random offset in `0..=max` seconds for a source id.
fn jitter_seconds(source_id: &str, max: i64) -> i64 {
    if max <= 0 {
        return 0;
    }
    let digest = Sha256::digest(source_id.as_bytes());
    let n = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    (n % (max as u64 + 1)) as i64
}

/// Translates a crontab day-of-week field (0-7, Sunday = 0 or 7) to the `cron` crate's
/// numbering (1-7, Sunday = 1). Names (`MON-FRI`) pass through.
fn crontab_dow_to_cron(field: &str) -> Result<String, String> {
    let map = |n: &str| -> Result<u32, String> {
        let v: u32 = n.parse().map_err(|_| format!("bad day of week {n:?}"))?;
        if v > 7 {
            return Err(format!("day of week {v} out of range 0-7"));
        }
        Ok(v % 7 + 1)
    };
    let mut out = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        let step_suffix = step.map(|s| format!("/{s}")).unwrap_or_default();
        if range == "*" || range.chars().any(|c| c.is_ascii_alphabetic()) {
            out.push(format!("{range}{step_suffix}"));
            continue;
        }
        match range.split_once('-') {
            Some((a, b)) => {
                let (a_raw, b_raw): (u32, u32) = (
                    a.parse().map_err(|_| format!("bad day of week {a:?}"))?,
                    b.parse().map_err(|_| format!("bad day of week {b:?}"))?,
                );
                let (a, b) = (map(a)?, map(b)?);
                if b_raw == 7 && a_raw != 0 && step.is_none() {
                    // e.g. 5-7 (Fri-Sun): Fri-Sat plus Sunday.
                    out.push(format!("{a}-7"));
                    out.push("1".into());
                } else if b_raw == 7 || a > b {
                    out.push(format!("{a}-7{step_suffix}"));
                } else {
                    out.push(format!("{a}-{b}{step_suffix}"));
                }
            }
            None => out.push(format!("{}{step_suffix}", map(range)?)),
        }
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Berlin;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn five_field_crontab_is_accepted() {
        let s = Schedule::parse("*/30 * * * *").unwrap();
        assert_eq!(
            s.next_after(at("2026-11-24T10:05:00Z"), Berlin),
            Some(at("2026-11-24T10:30:00Z"))
        );
    }

    #[test]
    fn six_field_crate_syntax_is_accepted() {
        let s = Schedule::parse("0 15 6 * * *").unwrap();
        // 06:15 Berlin (UTC+1 in November) is 05:15 UTC.
        assert_eq!(
            s.next_after(at("2026-11-24T10:00:00Z"), Berlin),
            Some(at("2026-11-25T05:15:00Z"))
        );
    }

    #[test]
    fn crontab_weekdays_use_sunday_zero() {
        // 2026-11-24 is a Tuesday. "0 8 * * 0" is Sunday 08:00 local.
        let s = Schedule::parse("0 8 * * 0").unwrap();
        let next = s.next_after(at("2026-11-24T00:00:00Z"), Berlin).unwrap();
        assert_eq!(
            next,
            Berlin
                .with_ymd_and_hms(2026, 11, 29, 8, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
        let s = Schedule::parse("0 8 * * 1-5").unwrap();
        let next = s.next_after(at("2026-11-28T00:00:00Z"), Berlin).unwrap(); // Saturday
        assert_eq!(
            next,
            Berlin
                .with_ymd_and_hms(2026, 11, 30, 8, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
        let s = Schedule::parse("0 8 * * 5-7").unwrap();
        let next = s.next_after(at("2026-11-28T12:00:00Z"), Berlin).unwrap(); // Sat noon -> Sun
        assert_eq!(
            next,
            Berlin
                .with_ymd_and_hms(2026, 11, 29, 8, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
    }

    #[test]
    fn errors_say_why() {
        let e = Schedule::parse("every day").unwrap_err().to_string();
        assert!(e.contains("expected 5 fields"), "{e}");
        let e = Schedule::parse("61 * * * *").unwrap_err().to_string();
        assert!(e.contains("invalid cron expression"), "{e}");
        let e = Schedule::parse("0 8 * * 9").unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
    }

    #[test]
    fn jitter_is_stable_and_bounded() {
        let s = Schedule::parse("0 * * * *").unwrap();
        let base = at("2026-11-24T10:05:00Z");
        let a = s.next_run("theater", base, Berlin).unwrap();
        assert_eq!(a, s.next_run("theater", base, Berlin).unwrap());
        assert!(
            a >= at("2026-11-24T11:00:00Z") && a <= at("2026-11-24T11:05:00Z"),
            "{a}"
        );
        let spread: std::collections::HashSet<_> = (0..20)
            .map(|i| s.next_run(&format!("src-{i}"), base, Berlin).unwrap())
            .collect();
        assert!(spread.len() > 10, "sources should not all fire at once");
    }
}

/// What the last fetch of a source said about when to fetch it next.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// Success (or 304); the server's freshness hint, if any.
    Success {
        fresh_for: Option<std::time::Duration>,
    },
    /// Failure number `errors` in a row; the server's `Retry-After`, if any.
    Failure {
        errors: u32,
        retry_after: Option<std::time::Duration>,
    },
}

/// Limits for [`next_fetch`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub min_interval: std::time::Duration,
    pub max_interval: std::time::Duration,
}

/// When to fetch a source next: never before its cron schedule, never sooner than
/// `min_interval`; server hints (`Cache-Control`, `Expires`, `Retry-After`) are clamped to
/// `[min_interval, max_interval]`. After failures the delay doubles from `min_interval` up to
/// `max_interval`, with a per-source jitter of up to a quarter, and resets with the next
/// success. A source is never disabled for good.
pub fn next_fetch(
    schedule: &Schedule,
    source_id: &str,
    now: DateTime<Utc>,
    tz: Tz,
    limits: Limits,
    plan: Plan,
) -> DateTime<Utc> {
    let clamp = |d: std::time::Duration| d.clamp(limits.min_interval, limits.max_interval);
    let to_chrono = |d: std::time::Duration| Duration::from_std(d).unwrap_or(Duration::days(1));
    let cron = schedule
        .next_run(source_id, now, tz)
        .unwrap_or(now + to_chrono(limits.max_interval));
    let delay = match plan {
        Plan::Success { fresh_for } => fresh_for.map_or(limits.min_interval, clamp),
        Plan::Failure {
            errors,
            retry_after,
        } => {
            let doublings = errors.saturating_sub(1).min(30);
            let backoff = clamp(
                limits
                    .min_interval
                    .saturating_mul(1u32 << doublings.min(20)),
            );
            // Jitter: up to a quarter less, stable per source and attempt.
            let quarter = backoff.as_secs() / 4;
            let jitter = jitter_seconds(&format!("{source_id}#{errors}"), quarter as i64) as u64;
            let backoff = backoff
                .saturating_sub(std::time::Duration::from_secs(jitter))
                .max(limits.min_interval);
            retry_after.map_or(backoff, |r| backoff.max(clamp(r)))
        }
    };
    // Rounded up to a whole second: the stores keep whole seconds, and a run stored rounded
    // down could fall due before its minimum interval, even before the fetch that planned it
    // has finished (the scheduler would then fetch the source again at once).
    let next = cron.max(now + to_chrono(delay));
    // Only a date at the end of chrono's range cannot be rounded.
    next.duration_round_up(Duration::seconds(1)).unwrap_or(next)
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use chrono::Timelike;
    use chrono_tz::Europe::Berlin;
    use std::time::Duration as Std;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const LIMITS: Limits = Limits {
        min_interval: Std::from_secs(300),
        max_interval: Std::from_secs(86_400),
    };

    /// The stores keep whole seconds: a planned run is rounded up to one, never down, so it
    /// is never due before the minimum interval (nor before the fetch planning it is over).
    #[test]
    fn planned_runs_are_whole_seconds_rounded_up() {
        let s = Schedule::parse("*/5 * * * * *").unwrap();
        let limits = Limits {
            min_interval: Std::from_secs(1),
            max_interval: Std::from_secs(86_400),
        };
        let after_success = |now| {
            next_fetch(
                &s,
                "x",
                now,
                Berlin,
                limits,
                Plan::Success { fresh_for: None },
            )
        };
        let now = at("2026-11-25T00:00:44.976Z");
        // The cron tick at :45 is sooner than the minimum interval (:45.976): :46, not :45.
        assert_eq!(after_success(now), at("2026-11-25T00:00:46Z"));
        let failure = Plan::Failure {
            errors: 1,
            retry_after: None,
        };
        let n = next_fetch(&s, "x", now, Berlin, limits, failure);
        assert!(
            n >= now + Duration::seconds(1) && n.nanosecond() == 0,
            "{n}"
        );
        // A cron tick after the minimum interval stays as it is.
        assert_eq!(
            after_success(at("2026-11-25T00:00:40.2Z")),
            at("2026-11-25T00:00:45Z")
        );
    }

    #[test]
    fn hints_are_clamped_and_cron_is_a_floor() {
        let s = Schedule::parse("*/10 * * * *").unwrap();
        let now = at("2026-11-24T10:00:00Z");
        let plan = |fresh| {
            next_fetch(
                &s,
                "x",
                now,
                Berlin,
                LIMITS,
                Plan::Success { fresh_for: fresh },
            )
        };
        // No hint: the cron schedule (10:10 plus jitter up to a minute).
        let n = plan(None);
        assert!(
            n >= at("2026-11-24T10:10:00Z") && n <= at("2026-11-24T10:11:00Z"),
            "{n}"
        );
        // max-age of a year is clamped to a day; max-age=10 s to the 5 minute minimum (cron wins).
        assert_eq!(
            plan(Some(Std::from_secs(31_536_000))),
            now + Duration::days(1)
        );
        assert!(plan(Some(Std::from_secs(10))) <= at("2026-11-24T10:11:00Z"));
    }

    #[test]
    fn failures_back_off_exponentially_capped_and_honour_retry_after() {
        let s = Schedule::parse("* * * * *").unwrap();
        let now = at("2026-11-24T10:00:00Z");
        let delay = |errors, retry| {
            (next_fetch(
                &s,
                "x",
                now,
                Berlin,
                LIMITS,
                Plan::Failure {
                    errors,
                    retry_after: retry,
                },
            ) - now)
                .num_seconds()
        };
        for errors in 1..=12u32 {
            // Doubling from 5 minutes, capped at a day, minus up to a quarter of jitter.
            let nominal = (300i64 << (errors - 1)).min(86_400);
            let d = delay(errors, None);
            assert!(
                d <= nominal && d >= (nominal * 3 / 4).max(300),
                "errors {errors}: {d} vs {nominal}"
            );
        }
        // Retry-After: 99999999 s is clamped to the maximum; 2 h is honoured.
        assert_eq!(delay(1, Some(Std::from_secs(99_999_999))), 86_400);
        assert_eq!(delay(1, Some(Std::from_secs(7200))), 7200);
    }
}

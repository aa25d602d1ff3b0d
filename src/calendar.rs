//! The calendar's own settings (`[calendar]`): its name, its zone, the window occurrences are
//! expanded in, and the caps. Every stage reads them, so they live below all of them.

use crate::settings::SettingError;
use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct CalendarConfig {
    /// Calendar name (X-WR-CALNAME / NAME).
    pub name: String,
    /// Optional description (X-WR-CALDESC / DESCRIPTION).
    pub description: Option<String>,
    /// Zone for floating times, all-day dates and date filters.
    pub timezone: Tz,
    /// Days before today that the expansion window covers.
    pub past_days: u32,
    /// Days after today that the expansion window covers.
    pub future_days: u32,
    /// Suggested polling interval for subscribers (REFRESH-INTERVAL, X-PUBLISHED-TTL,
    /// Cache-Control).
    pub refresh_minutes: u32,
    /// Hard cap of occurrences expanded per series.
    pub max_occurrences_per_series: usize,
    /// Days an event that was cancelled, or vanished from its source, stays in the feeds as
    /// `STATUS:CANCELLED` (so subscribed calendars remove it instead of keeping a ghost).
    pub cancelled_days: u32,
    /// At most this many occurrences in the unfiltered calendar feeds (`/calendar.ics`,
    /// `.jcal`, `.xcs`) and `/api/v1/events.jsonld`: a large region's whole calendar is more than calendar apps take as a
    /// subscription. Over the cap those feeds start today and end with the last whole day that
    /// fits. 0: no cap. Filtered feeds and `export` are never capped.
    pub feed_max_occurrences: usize,
}

/// `[calendar]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalendar {
    name: String,
    description: Option<String>,
    #[serde(default = "default_timezone")]
    timezone: String,
    #[serde(default = "default_past_days")]
    past_days: u32,
    #[serde(default = "default_future_days")]
    future_days: u32,
    #[serde(default = "default_refresh")]
    refresh_minutes: u32,
    #[serde(default = "default_max_occ")]
    max_occurrences_per_series: usize,
    #[serde(default = "default_cancelled_days")]
    cancelled_days: u32,
    #[serde(default = "default_feed_max")]
    feed_max_occurrences: usize,
}

/// Default of `feed_max_occurrences`.
pub const DEFAULT_FEED_MAX_OCCURRENCES: usize = 5_000;

fn default_feed_max() -> usize {
    DEFAULT_FEED_MAX_OCCURRENCES
}

fn default_cancelled_days() -> u32 {
    7
}
fn default_timezone() -> String {
    "Europe/Berlin".into()
}
fn default_past_days() -> u32 {
    30
}
fn default_future_days() -> u32 {
    365
}
fn default_refresh() -> u32 {
    60
}
fn default_max_occ() -> usize {
    1000
}

impl RawCalendar {
    /// Validates `[calendar]`.
    pub fn build(self) -> Result<CalendarConfig, SettingError> {
        let invalid = |key: &str, message: &str| {
            SettingError::new(format!("calendar.{key}"), message.to_string())
        };
        let timezone: Tz = self.timezone.parse().map_err(|_| {
            SettingError::new(
                "calendar.timezone",
                format!("unknown IANA time zone {:?}", self.timezone),
            )
        })?;
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        if self.future_days == 0 || self.future_days > 3660 {
            return Err(invalid("future_days", "must be between 1 and 3660"));
        }
        if self.past_days > 3660 {
            return Err(invalid("past_days", "must be at most 3660"));
        }
        if self.refresh_minutes == 0 {
            return Err(invalid("refresh_minutes", "must be at least 1"));
        }
        if !(1..=100_000).contains(&self.max_occurrences_per_series) {
            return Err(invalid(
                "max_occurrences_per_series",
                "must be between 1 and 100000",
            ));
        }
        if self.feed_max_occurrences > 10_000_000 {
            return Err(invalid(
                "feed_max_occurrences",
                "must be at most 10000000 (0: no cap)",
            ));
        }
        Ok(CalendarConfig {
            name: self.name,
            description: self.description,
            timezone,
            past_days: self.past_days,
            future_days: self.future_days,
            refresh_minutes: self.refresh_minutes,
            max_occurrences_per_series: self.max_occurrences_per_series,
            cancelled_days: self.cancelled_days,
            feed_max_occurrences: self.feed_max_occurrences,
        })
    }
}

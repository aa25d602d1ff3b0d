//! The one place that reads the wall clock.
//!
//! Everything that depends on "now" (expansion windows, schedules, the shrink guard) asks
//! [`now`]. Setting `REGIOCAL_NOW` to an RFC 3339 timestamp pins the clock, which makes
//! exports and tests reproducible.

use chrono::{DateTime, Utc};

/// Environment variable that pins the clock (RFC 3339, e.g. `2026-11-24T00:00:00Z`).
pub const NOW_ENV: &str = "REGIOCAL_NOW";

/// The current time, or the pinned time from `REGIOCAL_NOW`.
pub fn now() -> DateTime<Utc> {
    std::env::var(NOW_ENV)
        .ok()
        .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

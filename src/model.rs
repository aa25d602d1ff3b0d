//! The canonical event model every format parses into and every output renders from.
//!
//! An [`Event`] is one calendar component as a source published it: a single event, the master
//! of a recurring series (with its RRULE, RDATEs and EXDATEs), or an override of one instance
//! (with a `recurrence_id`). Times are kept as published ([`EventTime`]): a date, a local time in
//! an IANA zone, or a UTC instant, so a series keeps its wall-clock time across DST changes and
//! can be written back out as a compact series. [`Occurrence`]s are derived from events by
//! [`crate::normalize::recurrence`] for a time window; they are never stored.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// When something starts or ends, as the source gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventTime {
    /// An all-day value (iCalendar `VALUE=DATE`).
    Date { date: NaiveDate },
    /// A wall-clock time in an IANA time zone (floating times are resolved to the calendar zone).
    Local { local: NaiveDateTime, tz: Tz },
    /// An absolute instant.
    Utc { utc: DateTime<Utc> },
}

impl EventTime {
    /// Whether this is an all-day value.
    pub fn is_date(&self) -> bool {
        matches!(self, EventTime::Date { .. })
    }

    /// The instant this time denotes. Dates are taken at midnight in `date_zone`; a local time in
    /// a DST gap is shifted forward by the gap (RFC 5545 3.3.5), an ambiguous one takes the
    /// first (daylight) instant.
    pub fn to_utc(&self, date_zone: Tz) -> DateTime<Utc> {
        match *self {
            EventTime::Utc { utc } => utc,
            EventTime::Local { local, tz } => local_to_utc(local, tz),
            EventTime::Date { date } => {
                local_to_utc(date.and_time(chrono::NaiveTime::MIN), date_zone)
            }
        }
    }

    /// The zone this time is expressed in, if any.
    pub fn zone(&self) -> Option<Tz> {
        match self {
            EventTime::Local { tz, .. } => Some(*tz),
            _ => None,
        }
    }

    /// The calendar date of this time in `zone` (dates are returned as they are).
    pub fn date_in(&self, zone: Tz) -> NaiveDate {
        match *self {
            EventTime::Date { date } => date,
            EventTime::Local { local, tz } => {
                local_to_utc(local, tz).with_timezone(&zone).date_naive()
            }
            EventTime::Utc { utc } => utc.with_timezone(&zone).date_naive(),
        }
    }
}

/// Converts a wall-clock time in `tz` to UTC with RFC 5545 gap/overlap rules.
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(dt) => dt.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Inside a DST gap: interpret with the offset in force before the gap, which moves
            // the time forward by the length of the gap.
            let before = local - chrono::Duration::hours(3);
            let offset = match tz.from_local_datetime(&before) {
                LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => {
                    chrono::Offset::fix(dt.offset()).local_minus_utc()
                }
                LocalResult::None => 0,
            };
            DateTime::<Utc>::from_naive_utc_and_offset(
                local - chrono::Duration::seconds(i64::from(offset)),
                Utc,
            )
        }
    }
}

/// Publication status of an event (iCalendar `STATUS`, schema.org `eventStatus`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Confirmed,
    Tentative,
    Cancelled,
    /// Postponed to a date not yet known (schema.org `EventPostponed`).
    Postponed,
}

impl Status {
    /// The iCalendar spelling (iCalendar has no "postponed": it is published as TENTATIVE).
    pub fn as_ical(&self) -> &'static str {
        match self {
            Status::Confirmed => "CONFIRMED",
            Status::Tentative | Status::Postponed => "TENTATIVE",
            Status::Cancelled => "CANCELLED",
        }
    }
}

/// Whether people attend in person, online, or both (schema.org `eventAttendanceMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    #[default]
    Offline,
    Online,
    Mixed,
}

/// A postal address (schema.org `PostalAddress`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Who organises an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organizer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A ticket offer (schema.org `Offer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// ISO 4217 code, e.g. `EUR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// WGS84 coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Geo {
    pub lat: f64,
    pub lon: f64,
}

impl Geo {
    /// Coordinates if both are finite and in range.
    pub fn new(lat: f64, lon: f64) -> Option<Geo> {
        ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
            .then_some(Geo { lat, lon })
    }
}

/// A start and end (an RDATE period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub start: EventTime,
    pub end: EventTime,
}

/// One calendar component of one source: a single event, a series master, or an override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The source's UID, or a fallback identity (`fallback:` + hash of start and title) when the
    /// source gave none.
    pub uid: String,
    /// Set on an override of one instance of a series (iCalendar `RECURRENCE-ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_id: Option<EventTime>,
    /// An override that applies to its instance and every later one
    /// (`RECURRENCE-ID;RANGE=THISANDFUTURE`, RFC 5545 §3.8.4.4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub this_and_future: bool,
    /// The title; empty when the source gave none (published without SUMMARY, `null` in JSON).
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<Geo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default)]
    pub status: Status,
    pub start: EventTime,
    /// Always set: from DTEND, from DURATION, or the RFC 5545 default (same instant; next day).
    pub end: EventTime,
    /// The recurrence rule in iCalendar syntax with UNTIL normalised (UTC for timed series, a
    /// date for all-day series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
    /// Further rules of a component with more than one RRULE (RFC 5545 advises against it;
    /// the instances are the union), in the same form as `rrule`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_rrules: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rdates: Vec<EventTime>,
    /// RDATEs given as periods (`RDATE;VALUE=PERIOD`): an instance with its own end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rdate_periods: Vec<Period>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exdates: Vec<EventTime>,
    #[serde(default)]
    pub sequence: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// Structured address of the location, when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Box<Address>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<Box<Organizer>>,
    /// Image URL (http(s)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<Offer>,
    /// Free admission (schema.org `isAccessibleForFree`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<bool>,
    /// Language of the event (BCP 47, e.g. `de`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub attendance: Attendance,
    /// Where to join online (schema.org `VirtualLocation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_url: Option<String>,
    /// When the event vanished from its source (it is then published as cancelled for
    /// `calendar.cancelled_days`; see [`crate::ingest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<DateTime<Utc>>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Event {
    /// An event with the given identity and times and every other field empty.
    pub fn new(
        uid: impl Into<String>,
        title: impl Into<String>,
        start: EventTime,
        end: EventTime,
    ) -> Event {
        Event {
            uid: uid.into(),
            recurrence_id: None,
            this_and_future: false,
            title: title.into(),
            description: None,
            location: None,
            geo: None,
            url: None,
            categories: Vec::new(),
            status: Status::Confirmed,
            start,
            end,
            rrule: None,
            extra_rrules: Vec::new(),
            rdates: Vec::new(),
            rdate_periods: Vec::new(),
            exdates: Vec::new(),
            sequence: 0,
            last_modified: None,
            created: None,
            address: None,
            organizer: None,
            image: None,
            offers: Vec::new(),
            free: None,
            language: None,
            attendance: Attendance::Offline,
            online_url: None,
            withdrawn: None,
        }
    }

    /// Whether this event is the master of a recurring series.
    pub fn is_recurring(&self) -> bool {
        self.rrule.is_some() || !self.rdates.is_empty() || !self.rdate_periods.is_empty()
    }

    /// Makes this component the override of one instance of its series: no rules or dates of
    /// its own, `RECURRENCE-ID` the instance.
    pub fn make_instance(&mut self, instance: EventTime) {
        self.recurrence_id = Some(instance);
        self.this_and_future = false;
        self.rrule = None;
        self.extra_rrules.clear();
        self.rdates.clear();
        self.rdate_periods.clear();
        self.exdates.clear();
    }

    /// The key that identifies this component within its source.
    pub fn key(&self) -> EventKey {
        EventKey {
            uid: self.uid.clone(),
            recurrence_id: self
                .recurrence_id
                .map(|r| recurrence_key(&r))
                .unwrap_or_default(),
        }
    }
}

/// Identity of a component within a source: UID plus the RECURRENCE-ID (empty for masters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub uid: String,
    pub recurrence_id: String,
}

/// A zone-independent spelling of a recurrence id: the date for all-day instances, the UTC
/// instant otherwise.
pub fn recurrence_key(t: &EventTime) -> String {
    match t {
        EventTime::Date { date } => crate::timefmt::basic_date(*date),
        other => crate::timefmt::basic_utc(&other.to_utc(chrono_tz::UTC)),
    }
}

/// An event as kept in the store, with bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub source: String,
    pub event: Event,
    /// When regiocal first saw this component.
    pub first_seen: DateTime<Utc>,
    /// When its content last changed (used as DTSTAMP and for Last-Modified).
    pub updated_at: DateTime<Utc>,
    /// How often its content changed since it was first seen (added to the source's SEQUENCE
    /// when published, so SEQUENCE grows with every change).
    pub revision: u32,
}

/// One concrete instance of an event in the expansion window.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// The instance start as published (for an override: its own, possibly moved, start).
    pub start: EventTime,
    pub end: EventTime,
    /// The original instance start (`RECURRENCE-ID`), which identifies the instance.
    pub instance: EventTime,
    /// Start instant, for sorting and filtering.
    pub start_utc: DateTime<Utc>,
    /// End instant (exclusive).
    pub end_utc: DateTime<Utc>,
}

/// Adds whole days to a date, saturating at the calendar's end.
pub fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        date.checked_add_days(Days::new(days as u64))
            .unwrap_or(NaiveDate::MAX)
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
            .unwrap_or(NaiveDate::MIN)
    }
}

/// Fetch and health state of a source, as kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceState {
    pub id: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// SHA-256 of the last body that was parsed, to skip unchanged bodies.
    pub content_hash: Option<String>,
    pub last_fetch: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Failed fetches in a row (reset by a success).
    pub error_count: u32,
    pub next_run: Option<DateTime<Utc>>,
    pub event_count: u32,
    /// Fetches in a row that would have removed too many future occurrences (see the shrink guard
    /// in [`crate::ingest`]).
    pub pending_shrink: u32,
    /// Warnings (skipped events) of the last successful parse.
    pub last_warnings: u32,
    /// The first [`MAX_WARNING_TEXTS`] of those warnings.
    pub warning_texts: Vec<String>,
    /// How often the source was claimed for a fetch (see [`crate::store::Store::claim`]).
    #[serde(skip)]
    pub fetch_seq: i64,
    /// Until when an instance holds the source for a fetch, if one does.
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
}

/// Warnings of a parse kept with the source's state (the rest are counted).
pub const MAX_WARNING_TEXTS: usize = 20;

/// Health of a source as shown in `/api/v1/sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Never fetched yet.
    Pending,
    Ok,
    /// Last fetch failed, earlier ones succeeded recently.
    Degraded,
    /// Three or more failures in a row.
    Failing,
    /// The last fetch would have removed too many events; it was held back.
    Suspect,
}

impl SourceState {
    /// Derived health of this source.
    pub fn health(&self) -> Health {
        if self.pending_shrink > 0 {
            Health::Suspect
        } else if self.error_count >= 3 {
            Health::Failing
        } else if self.error_count > 0 {
            Health::Degraded
        } else if self.last_success.is_some() {
            Health::Ok
        } else {
            Health::Pending
        }
    }
}

/// A stored all-day event on 2026-12-01 for tests: `source`, `uid`, and an override of the
/// instance on `rid` (a date) when given.
#[cfg(test)]
pub(crate) fn stored_for_test(source: &str, uid: &str, rid: Option<&str>) -> StoredEvent {
    let day = |s: &str| EventTime::Date {
        date: NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a test date"),
    };
    let mut event = Event::new(uid, "Titel", day("2026-12-01"), day("2026-12-02"));
    event.recurrence_id = rid.map(day);
    StoredEvent {
        source: source.into(),
        event,
        first_seen: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
        revision: 0,
    }
}

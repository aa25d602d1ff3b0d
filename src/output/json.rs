//! The JSON API documents: occurrences (`/api/v1/events`), one occurrence, and sources.
//!
//! Timed occurrences carry RFC 3339 times with the offset of the event's own zone (UTC times
//! are shown in the calendar's zone); all-day occurrences carry dates, `end` exclusive as in
//! iCalendar. Pages are cut by an opaque cursor (the last row's start and id), so a page never
//! repeats or skips a row even when rows are added before it.

use super::{Filter, Row, Snapshot, SourceInfo};
use crate::model::{Address, Attendance, EventTime, Geo, Health, Offer, Organizer, Status};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// Default and largest page size of `/api/v1/events`.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// One occurrence as the API shows it.
#[derive(Debug, Serialize)]
pub struct EventDoc<'a> {
    pub id: &'a str,
    pub uid: &'a str,
    pub source: &'a str,
    pub source_name: &'a str,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub start: String,
    pub end: String,
    pub all_day: bool,
    pub timezone: &'a str,
    pub location: Option<&'a str>,
    pub geo: Option<Geo>,
    pub categories: &'a [String],
    pub url: Option<&'a str>,
    pub status: Status,
    pub recurring: bool,
    pub license: Option<&'a str>,
    pub attribution: Option<&'a str>,
    pub address: Option<&'a Address>,
    pub organizer: Option<&'a Organizer>,
    pub image: Option<&'a str>,
    pub offers: &'a [Offer],
    /// Free admission, when the source says.
    pub free: Option<bool>,
    pub language: Option<&'a str>,
    pub attendance: Attendance,
    pub online_url: Option<&'a str>,
    /// The venue of the registry the location was matched to.
    pub venue: Option<VenueDoc<'a>>,
    /// The district the event's coordinates fall in.
    pub district: Option<&'a str>,
    /// Public-transport stops within walking distance, nearest first (with their lines).
    pub transit: Vec<crate::transit::StopHit>,
    /// Bike-sharing stations within walking distance.
    pub bike: Vec<crate::transit::StationHit>,
    /// The last departure from the nearest stop after the event ends ("last connection home").
    pub last_departure: Option<DepartureDoc>,
    /// Journey-planner link to the venue for this occurrence.
    pub journey_url: Option<String>,
    /// Set (true) when a region boundary is configured and the event is outside it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub outside_region: bool,
    /// Every source that announces this event (more than one when merged), publisher first.
    pub sources: Vec<SourceRef<'a>>,
    /// Detail only: which source gave each field of a merged event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<std::collections::BTreeMap<&'static str, &'a str>>,
}

/// A departure as events show it.
#[derive(Debug, Serialize)]
pub struct DepartureDoc {
    pub stop: String,
    /// RFC 3339 in the calendar's zone.
    pub time: String,
    pub line: String,
    pub mode: crate::transit::Mode,
}

/// Stops, bikes, last departure and journey link of one occurrence.
fn mobility(
    snap: &Snapshot,
    row: &Row,
    place: &crate::geo::Place,
    title: &str,
) -> (
    Vec<crate::transit::StopHit>,
    Vec<crate::transit::StationHit>,
    Option<DepartureDoc>,
    Option<String>,
) {
    if snap.transit.is_none() || place.geo.is_none() {
        return (Vec::new(), Vec::new(), None, None);
    }
    let tz = snap.calendar.timezone;
    let stops = snap.stops_near(place, 3);
    let bikes = snap.bikes_near(place, 3);
    let last = match (stops.first(), &snap.transit, row.occurrence.end.is_date()) {
        (Some(stop), Some(t), false) => {
            let end = row.occurrence.end_utc.with_timezone(&tz);
            t.gtfs
                .as_ref()
                .and_then(|g| g.last_departure(&stop.stop_id, end.date_naive(), end.time()))
                .and_then(|d| {
                    use chrono::TimeZone;
                    let at = tz.from_local_datetime(&d.at()).earliest()?;
                    Some(DepartureDoc {
                        stop: stop.name.clone(),
                        time: at.to_rfc3339_opts(SecondsFormat::Secs, false),
                        line: d.line.short_name.clone(),
                        mode: d.line.mode,
                    })
                })
        }
        _ => None,
    };
    let name = place
        .venue
        .map(|v| snap.geo.venues.venues[v].name.as_str())
        .unwrap_or(title);
    let journey = snap.journey_url(place, name, row.occurrence.start_utc.with_timezone(&tz));
    (stops, bikes, last, journey)
}

/// A venue of the registry, as events show it.
#[derive(Debug, Serialize)]
pub struct VenueDoc<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub address: Option<Address>,
    pub geo: Option<Geo>,
    pub accessibility: Option<&'a str>,
    pub url: Option<&'a str>,
    /// How the location was matched: `exact`, `text`, `address` or `proximity`.
    #[serde(rename = "match")]
    pub method: Option<crate::geo::venues::Method>,
}

/// The document of a registry venue.
pub fn venue_doc(
    v: &crate::geo::venues::Venue,
    method: Option<crate::geo::venues::Method>,
) -> VenueDoc<'_> {
    VenueDoc {
        id: &v.id,
        name: &v.name,
        address: v.address(),
        geo: v.geo,
        accessibility: v.accessibility.as_deref(),
        url: v.url.as_deref(),
        method,
    }
}

/// One source's announcement of an event.
#[derive(Debug, Serialize)]
pub struct SourceRef<'a> {
    pub source: &'a str,
    pub name: &'a str,
    /// The id this source's announcement has on its own (redirects to the merged event).
    pub id: &'a str,
    /// The event's page at the source.
    pub url: Option<&'a str>,
    pub license: Option<&'a str>,
    pub attribution: Option<&'a str>,
}

/// A page of occurrences.
#[derive(Debug, Serialize)]
pub struct EventsPage<'a> {
    pub events: Vec<EventDoc<'a>>,
    pub next: Option<String>,
}

/// A source as `/api/v1/sources` shows it.
#[derive(Debug, Serialize)]
pub struct SourceDoc<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub url: &'a str,
    pub schedule: &'a str,
    pub license: Option<&'a str>,
    pub attribution: Option<&'a str>,
    pub health: Health,
    pub last_fetch: Option<String>,
    pub last_success: Option<String>,
    pub next_run: Option<String>,
    pub error_count: u32,
    pub last_error: Option<&'a str>,
    pub event_count: u32,
    pub warnings: u32,
    /// Occurrences of this source merged into another source's event.
    pub merged_into_others: usize,
}

/// Why a cursor could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor")]
pub struct BadCursor;

/// The document for one row; `detail` adds per-field provenance.
pub fn event_doc<'a>(snap: &'a Snapshot, row: &'a Row, detail: bool) -> EventDoc<'a> {
    let series = &snap.series[row.series];
    let ev = &snap.events[row.event].event;
    let master = &snap.events[series.master].event;
    let src = snap.source(&series.source);
    let cal_tz = snap.calendar.timezone;
    let zone = row.occurrence.start.zone().unwrap_or(cal_tz);
    let place = snap.places.get(row.event).copied().unwrap_or_default();
    let (transit, bike, last_departure, journey_url) = mobility(snap, row, &place, &ev.title);
    EventDoc {
        id: &row.id,
        uid: &series.public_uid,
        source: &series.source,
        source_name: src.map_or(series.source.as_str(), |s| s.name.as_str()),
        title: &ev.title,
        description: ev.description.as_deref(),
        start: format_time(&row.occurrence.start, zone),
        end: format_time(
            &row.occurrence.end,
            row.occurrence.end.zone().unwrap_or(zone),
        ),
        all_day: row.occurrence.start.is_date(),
        timezone: zone.name(),
        location: ev.location.as_deref(),
        geo: place.geo,
        categories: &ev.categories,
        url: ev.url.as_deref(),
        status: ev.status,
        recurring: master.is_recurring(),
        license: src.and_then(|s| s.license.as_deref()),
        attribution: src.and_then(|s| s.attribution.as_deref()),
        address: ev.address.as_deref(),
        organizer: ev.organizer.as_deref(),
        image: ev.image.as_deref(),
        offers: &ev.offers,
        free: super::free_admission(ev),
        language: ev.language.as_deref(),
        attendance: ev.attendance,
        online_url: ev.online_url.as_deref(),
        venue: place
            .venue
            .map(|v| venue_doc(&snap.geo.venues.venues[v], place.method)),
        outside_region: place.in_region == Some(false),
        transit,
        bike,
        last_departure,
        journey_url,
        district: place
            .district
            .map(|d| snap.geo.districts.areas[d].name.as_str()),
        sources: snap
            .members(row)
            .map(|m| {
                let sid = snap.series[m.series].source.as_str();
                let info = snap.source(sid);
                // The carrier's component holds merged fields: its own URL is the published
                // one only if the provenance says so.
                let url = if !std::ptr::eq(m, row) {
                    snap.events[m.event].event.url.as_deref()
                } else if row.provenance.iter().any(|&(f, k)| f == "url" && k > 0) {
                    None
                } else {
                    ev.url.as_deref()
                };
                SourceRef {
                    source: sid,
                    name: info.map_or(sid, |s| s.name.as_str()),
                    id: &m.own_id,
                    url,
                    license: info.and_then(|s| s.license.as_deref()),
                    attribution: info.and_then(|s| s.attribution.as_deref()),
                }
            })
            .collect(),
        provenance: (detail && !row.merged.is_empty()).then(|| {
            let members: Vec<&Row> = snap.members(row).collect();
            row.provenance
                .iter()
                .filter_map(|&(field, k)| {
                    members
                        .get(k)
                        .map(|m| (field, snap.series[m.series].source.as_str()))
                })
                .collect()
        }),
    }
}

fn format_time(t: &EventTime, zone: Tz) -> String {
    match t {
        EventTime::Date { date } => crate::timefmt::iso_date(*date),
        other => other
            .to_utc(zone)
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
    }
}

fn encode_cursor(row: &Row) -> String {
    format!("{}_{}", row.occurrence.start_utc.timestamp(), row.id)
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, &str), BadCursor> {
    let (ts, id) = cursor.split_once('_').ok_or(BadCursor)?;
    let ts: i64 = ts.parse().map_err(|_| BadCursor)?;
    let at = DateTime::from_timestamp(ts, 0).ok_or(BadCursor)?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BadCursor);
    }
    Ok((at, id))
}

/// A page of matching occurrences after `cursor`; `limit = None` means all of them.
pub fn events_page<'a>(
    snap: &'a Snapshot,
    filter: &'a Filter,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<EventsPage<'a>, BadCursor> {
    let after = cursor.map(decode_cursor).transpose()?;
    let mut rows = snap.select(filter).filter(|r| match after {
        Some((at, id)) => (r.occurrence.start_utc, r.id.as_str()) > (at, id),
        None => true,
    });
    let mut events = Vec::new();
    let mut last = None;
    let mut next = None;
    for row in rows.by_ref() {
        if limit.is_some_and(|l| events.len() >= l) {
            next = last.map(encode_cursor);
            break;
        }
        events.push(event_doc(snap, row, false));
        last = Some(row);
    }
    Ok(EventsPage { events, next })
}

/// Writes every matching occurrence as one compact JSON document of the form of an
/// [`EventsPage`] (`{"events": [...], "next": null}`), making each event's document as it is
/// written: an export of the whole calendar never holds all of them in memory.
pub fn write_events(
    snap: &Snapshot,
    filter: &Filter,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct All<'a> {
        events: Stream<'a>,
        next: Option<String>,
    }
    struct Stream<'a>(&'a Snapshot, &'a Filter);
    impl Serialize for Stream<'_> {
        fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
            let Stream(snap, filter) = *self;
            ser.collect_seq(snap.select(filter).map(|row| event_doc(snap, row, false)))
        }
    }
    let doc = All {
        events: Stream(snap, filter),
        next: None,
    };
    serde_json::to_writer(out, &doc).map_err(std::io::Error::other)
}

/// Renders a page as JSON text.
pub fn render_events(
    snap: &Snapshot,
    filter: &Filter,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<String, BadCursor> {
    let page = events_page(snap, filter, limit, cursor)?;
    Ok(to_json(&page))
}

/// The document for one source; `merged` is how many of its occurrences were merged into
/// another source's event.
pub fn source_doc(s: &SourceInfo, merged: usize) -> SourceDoc<'_> {
    let st = &s.state;
    let fmt = |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    SourceDoc {
        id: &s.id,
        name: &s.name,
        url: &s.url,
        schedule: &s.schedule,
        license: s.license.as_deref(),
        attribution: s.attribution.as_deref(),
        health: st.health(),
        last_fetch: fmt(&st.last_fetch),
        last_success: fmt(&st.last_success),
        next_run: fmt(&st.next_run),
        error_count: st.error_count,
        last_error: st.last_error.as_deref(),
        event_count: st.event_count,
        warnings: st.last_warnings,
        merged_into_others: merged,
    }
}

/// Serialises a document, compactly (a quarter smaller than pretty-printed; the feeds are
/// large and compressed anyway); the structures here cannot fail to serialise.
pub fn to_json<T: Serialize>(doc: &T) -> String {
    serde_json::to_string(doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

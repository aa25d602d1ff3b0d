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
    /// `None` when the source gave no title (`null` in JSON).
    pub title: Option<&'a str>,
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

impl EventDoc<'_> {
    /// Appends this document as compact JSON: byte for byte what `serde_json` writes for it
    /// (the derived `Serialize` stays the definition: the unit test `write_json_matches_serde`
    /// checks every field, `backends_agree::json_documents_are_what_serde_writes` every
    /// document of the demo region), with strings escaped by [`json_str`]. Escaping was the
    /// largest single cost of a JSON export: `serde_json` checks strings byte by byte and hands
    /// every key and value to the writer in three calls.
    /// Nested values that are mostly absent (address, organizer, offers, venue, mobility,
    /// provenance) are written by `serde_json` itself.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"id\":");
        json_str(out, self.id);
        out.extend_from_slice(b",\"uid\":");
        json_str(out, self.uid);
        out.extend_from_slice(b",\"source\":");
        json_str(out, self.source);
        out.extend_from_slice(b",\"source_name\":");
        json_str(out, self.source_name);
        out.extend_from_slice(b",\"title\":");
        json_opt_str(out, self.title);
        out.extend_from_slice(b",\"description\":");
        json_opt_str(out, self.description);
        out.extend_from_slice(b",\"start\":");
        json_str(out, &self.start);
        out.extend_from_slice(b",\"end\":");
        json_str(out, &self.end);
        out.extend_from_slice(if self.all_day {
            b",\"all_day\":true,\"timezone\":"
        } else {
            b",\"all_day\":false,\"timezone\":"
        });
        json_str(out, self.timezone);
        out.extend_from_slice(b",\"location\":");
        json_opt_str(out, self.location);
        out.extend_from_slice(b",\"geo\":");
        json_value(out, &self.geo)?;
        out.extend_from_slice(b",\"categories\":[");
        for (i, c) in self.categories.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(out, c);
        }
        out.extend_from_slice(b"],\"url\":");
        json_opt_str(out, self.url);
        out.extend_from_slice(b",\"status\":");
        json_value(out, &self.status)?;
        out.extend_from_slice(if self.recurring {
            b",\"recurring\":true,\"license\":"
        } else {
            b",\"recurring\":false,\"license\":"
        });
        json_opt_str(out, self.license);
        out.extend_from_slice(b",\"attribution\":");
        json_opt_str(out, self.attribution);
        out.extend_from_slice(b",\"address\":");
        json_value(out, &self.address)?;
        out.extend_from_slice(b",\"organizer\":");
        json_value(out, &self.organizer)?;
        out.extend_from_slice(b",\"image\":");
        json_opt_str(out, self.image);
        out.extend_from_slice(b",\"offers\":");
        json_value(out, &self.offers)?;
        out.extend_from_slice(b",\"free\":");
        json_value(out, &self.free)?;
        out.extend_from_slice(b",\"language\":");
        json_opt_str(out, self.language);
        out.extend_from_slice(b",\"attendance\":");
        json_value(out, &self.attendance)?;
        out.extend_from_slice(b",\"online_url\":");
        json_opt_str(out, self.online_url);
        out.extend_from_slice(b",\"venue\":");
        json_value(out, &self.venue)?;
        out.extend_from_slice(b",\"district\":");
        json_opt_str(out, self.district);
        out.extend_from_slice(b",\"transit\":");
        json_value(out, &self.transit)?;
        out.extend_from_slice(b",\"bike\":");
        json_value(out, &self.bike)?;
        out.extend_from_slice(b",\"last_departure\":");
        json_value(out, &self.last_departure)?;
        out.extend_from_slice(b",\"journey_url\":");
        json_opt_str(out, self.journey_url.as_deref());
        if self.outside_region {
            out.extend_from_slice(b",\"outside_region\":true");
        }
        out.extend_from_slice(b",\"sources\":[");
        for (i, s) in self.sources.iter().enumerate() {
            out.extend_from_slice(if i > 0 {
                b",{\"source\":"
            } else {
                b"{\"source\":"
            });
            json_str(out, s.source);
            out.extend_from_slice(b",\"name\":");
            json_str(out, s.name);
            out.extend_from_slice(b",\"id\":");
            json_str(out, s.id);
            out.extend_from_slice(b",\"url\":");
            json_opt_str(out, s.url);
            out.extend_from_slice(b",\"license\":");
            json_opt_str(out, s.license);
            out.extend_from_slice(b",\"attribution\":");
            json_opt_str(out, s.attribution);
            out.push(b'}');
        }
        out.push(b']');
        if let Some(p) = &self.provenance {
            out.extend_from_slice(b",\"provenance\":");
            json_value(out, p)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// Appends `s` as a JSON string (with its quotes), escaped exactly as `serde_json` escapes
/// it: quotes, backslashes and the control characters, with the short escapes where JSON has
/// them and `\u00xx` otherwise. Runs without any of them (nearly all text) are found eight
/// bytes at a time and copied whole. The unit tests and the fuzz target `json_string` check
/// it against `serde_json`. (A SIMD escaper, `json-escape-simd`, was tried first: the fuzz
/// target found it reading up to 32 bytes past the end of the string under AddressSanitizer.)
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes
            .get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            && !word_needs_escape(u64::from_le_bytes(word))
        {
            i += 8;
            continue;
        }
        let b = bytes[i];
        if b < 0x20 || b == b'"' || b == b'\\' {
            out.extend_from_slice(&bytes[start..i]);
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes of `w` is a control character, a quote or a backslash
/// (exact: the tests for a byte below a bound and for a zero byte give no false answer for the
/// word as a whole; `word_test_is_exact` checks it).
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    below_space || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
}

fn json_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A nested value, written by `serde_json` (empty lists and absent values directly).
fn json_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> serde_json::Result<()> {
    serde_json::to_writer(out, v)
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
    /// The first of those warnings (skipped events with the reason, unknown TZIDs).
    pub warning_texts: &'a [String],
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
        title: (!ev.title.is_empty()).then_some(ev.title.as_str()),
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
/// written: an export of the whole calendar never holds all of them in memory (documents are
/// gathered into a buffer of about a megabyte between writes).
pub fn write_events(
    snap: &Snapshot,
    filter: &Filter,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    const CHUNK: usize = 1 << 20;
    let mut buf = Vec::with_capacity(CHUNK + (CHUNK >> 2));
    let docs = snap.select(filter).map(|row| event_doc(snap, row, false));
    write_page(docs, None, &mut buf, |buf| {
        if buf.len() >= CHUNK {
            out.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    })?;
    out.write_all(&buf)
}

/// Renders a page as JSON text (the form of [`EventsPage`], written as [`write_events`]
/// writes it).
pub fn render_events(
    snap: &Snapshot,
    filter: &Filter,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<String, BadCursor> {
    let page = events_page(snap, filter, limit, cursor)?;
    let mut body = Vec::with_capacity(page.events.len() * 1536 + 64);
    let docs = page.events.into_iter();
    if let Err(e) = write_page(docs, page.next.as_deref(), &mut body, |_| Ok(())) {
        return Ok(format!("{{\"error\":\"{e}\"}}"));
    }
    // Only whole UTF-8 strings and ASCII were written.
    Ok(String::from_utf8(body)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Appends `{"events":[...],"next":...}` to `buf`, each document written by
/// [`EventDoc::write_json`]; `spill` is called after each document (to write out and empty
/// the buffer when it is large enough).
fn write_page<'a>(
    docs: impl Iterator<Item = EventDoc<'a>>,
    next: Option<&str>,
    buf: &mut Vec<u8>,
    mut spill: impl FnMut(&mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    buf.extend_from_slice(b"{\"events\":[");
    for (i, doc) in docs.enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        doc.write_json(buf).map_err(std::io::Error::other)?;
        spill(buf)?;
    }
    buf.extend_from_slice(b"],\"next\":");
    json_opt_str(buf, next);
    buf.push(b'}');
    Ok(())
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
        warning_texts: &st.warning_texts,
        merged_into_others: merged,
    }
}

/// Serialises a document, compactly (a quarter smaller than pretty-printed; the feeds are
/// large and compressed anyway); the structures here cannot fail to serialise.
pub fn to_json<T: Serialize>(doc: &T) -> String {
    serde_json::to_string(doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Attendance, Geo, Offer, Organizer, Status};

    /// Every character `serde_json` escapes (each control character, quote, backslash),
    /// characters it leaves alone (DEL, `/`, non-ASCII, astral), long and empty runs.
    fn awkward() -> String {
        let mut s: String = (0u8..0x20).map(char::from).collect();
        s.push_str("\"\\/\u{7f}Größe: 12 € \u{1F3AD} ");
        s.push_str(&"Theater am Ring, Saal 2; ".repeat(40));
        s.push_str("\"\"\\\\\n\r\t");
        s
    }

    fn doc<'a>(
        text: &'a str,
        cats: &'a [String],
        address: &'a Address,
        organizer: &'a Organizer,
        offers: &'a [Offer],
        full: bool,
    ) -> EventDoc<'a> {
        let some = |v: &'a str| full.then_some(v);
        EventDoc {
            id: "0b8ffc26b466079c",
            uid: text,
            source: text,
            source_name: text,
            title: some(text),
            description: some(text),
            start: "2026-01-03T19:30:00+01:00".into(),
            end: text.into(),
            all_day: full,
            timezone: "Europe/Berlin",
            location: some(text),
            geo: full.then_some(Geo {
                lat: 52.575934,
                lon: -13.000001,
            }),
            categories: cats,
            url: some(text),
            status: if full {
                Status::Postponed
            } else {
                Status::Confirmed
            },
            recurring: full,
            license: some(text),
            attribution: some(text),
            address: full.then_some(address),
            organizer: full.then_some(organizer),
            image: some(text),
            offers,
            free: full.then_some(false),
            language: some(text),
            attendance: if full {
                Attendance::Mixed
            } else {
                Attendance::Offline
            },
            online_url: some(text),
            venue: full.then(|| VenueDoc {
                id: text,
                name: text,
                address: Some(address.clone()),
                geo: None,
                accessibility: some(text),
                url: None,
                method: Some(crate::geo::venues::Method::Proximity),
            }),
            district: some(text),
            transit: Vec::new(),
            bike: if full {
                vec![crate::transit::StationHit {
                    station_id: text.into(),
                    name: text.into(),
                    distance_m: 120.5,
                    walk_min: 2,
                    capacity: Some(12),
                }]
            } else {
                Vec::new()
            },
            last_departure: full.then(|| DepartureDoc {
                stop: text.into(),
                time: "2026-01-03T23:58:00+01:00".into(),
                line: text.into(),
                mode: crate::transit::Mode::Tram,
            }),
            journey_url: full.then(|| text.to_string()),
            outside_region: full,
            sources: (0..if full { 3 } else { 1 })
                .map(|i| SourceRef {
                    source: text,
                    name: text,
                    id: text,
                    url: (i != 1).then_some(text),
                    license: some(text),
                    attribution: None,
                })
                .collect(),
            provenance: full
                .then(|| std::collections::BTreeMap::from([("title", text), ("url", "kulturamt")])),
        }
    }

    #[test]
    fn write_json_matches_serde() {
        let text = awkward();
        let address = Address {
            street: Some(text.clone()),
            locality: Some("Köln".into()),
            ..Default::default()
        };
        let organizer = Organizer {
            name: text.clone(),
            url: None,
            email: Some("kultur@example.org".into()),
        };
        let offers = [Offer {
            name: Some(text.clone()),
            price: Some(12.5),
            currency: Some("EUR".into()),
            url: None,
        }];
        let two = [text.clone(), "Konzert".to_string()];
        for (full, cats, offers) in [
            (true, &two[..], &offers[..]),
            (false, &[][..], &[][..]),
            (true, &two[..1], &[][..]),
        ] {
            let d = doc(&text, cats, &address, &organizer, offers, full);
            let mut fast = Vec::new();
            d.write_json(&mut fast).unwrap();
            let reference = serde_json::to_vec(&d).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(reference).unwrap(),
                "full: {full}"
            );
        }
    }

    #[test]
    fn strings_are_escaped_like_serde() {
        let mut samples: Vec<String> = (0u32..0x80)
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b"))
            .collect();
        samples.extend(["", "ä", "\u{1F3AD}\u{0}", &awkward()].map(String::from));
        // Every length around the eight-byte words, with the escape at every place.
        for len in 0..80 {
            for at in 0..=len {
                let mut s = "x".repeat(len);
                s.insert(at, '"');
                samples.push(s);
            }
        }
        // Every ASCII character and a few multi-byte ones at every place of a string longer
        // than two words, so each is met by the eight-byte test as well as the byte loop.
        for c in (0u8..0x80).map(char::from).chain(['ä', '€', '\u{1F3AD}']) {
            for at in 0..=17 {
                samples.push(format!("{}{c}{}", "x".repeat(at), "y".repeat(17)));
            }
        }
        for s in samples {
            let mut fast = b"prefix".to_vec();
            json_str(&mut fast, &s);
            let mut reference = b"prefix".to_vec();
            reference.extend(serde_json::to_vec(&s).unwrap());
            assert_eq!(fast, reference, "{s:?}");
        }
    }

    /// The eight-byte test against the byte test: every byte value at every place among
    /// fillers near the edges (space, `!`, `#`, `[`, `]`, DEL, 0x80, 0xff), and random words.
    #[test]
    fn word_test_is_exact() {
        let needs = |w: [u8; 8]| w.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for filler in [b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff] {
            for at in 0..8 {
                for b in 0..=255u8 {
                    let mut w = [filler; 8];
                    w[at] = b;
                    assert_eq!(word_needs_escape(u64::from_le_bytes(w)), needs(w), "{w:?}");
                }
            }
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            assert_eq!(word_needs_escape(x), needs(x.to_le_bytes()), "{x:#x}");
        }
    }
}

//! OParl council meetings (OParl 1.1, also 1.0), as German council information systems
//! (Ratsinformationssysteme) publish them: <https://oparl.org/spezifikation/online-ansicht/>.
//!
//! Three documents are accepted:
//!
//! * a meeting list page `{"data": [Meeting...], "links": {"next": "..."}, "pagination": ...}`;
//!   `links.next` becomes [`Parsed::next_page`], so the ingest reads every page;
//! * a single `Meeting` object;
//! * a `Body` object: its meetings are not in this document, so its `meeting` list URL is
//!   returned as the next page (with no events).
//!
//! Each Meeting becomes an event: the `id` URL is the UID, `name` the title (else "Sitzung"
//! and the names of embedded organizations), `start`/`end` the times, an embedded `location`
//! object the location (its `description`, else room, street and town) and address (a location
//! given only as a URL is left unknown), `cancelled` the status, `web` the link, `keyword` the
//! categories plus "Politik" always, embedded public agenda items the description. Deleted
//! meetings (`deleted: true`) are left out silently; a meeting without `start` is skipped with
//! a warning naming its `id` (or position).

use super::datetime::{default_end, parse_iso};
use super::ics::fallback_uid;
use super::mapped::{address_line, kind, number, scalar_text};
use super::{FormatError, ParseContext, Parsed};
use crate::model::{Address, Event, EventTime, Geo, Organizer, Status};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

/// Name used in errors.
const FORMAT: &str = "oparl";

/// Category every council meeting gets.
pub const CATEGORY: &str = "Politik";

/// Most meetings read from one page.
pub const MAX_MEETINGS: usize = 100_000;

/// The OParl type of an object (`Meeting`, `Body`, ...), from its `type` URL.
fn oparl_type(obj: &Map<String, Value>) -> Option<&str> {
    let t = obj.get("type")?.as_str()?;
    if !t.contains("oparl.org/") {
        return None;
    }
    t.rsplit('/').next()
}

/// Parses an OParl document (a meeting list page, a Meeting or a Body).
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| FormatError::json(FORMAT, &e))?;
    let Value::Object(obj) = &doc else {
        return Err(invalid(format!(
            "expected a meeting list, a Meeting or a Body object, got {}",
            kind(&doc)
        )));
    };
    let mut out = Parsed::default();
    match (obj.get("data"), oparl_type(obj)) {
        (Some(data), _) => {
            let Value::Array(items) = data else {
                return Err(invalid(format!(
                    "data: expected an array of Meeting objects, got {}",
                    kind(data)
                )));
            };
            if items.len() > MAX_MEETINGS {
                return Err(invalid(format!("more than {MAX_MEETINGS} meetings")));
            }
            for (i, item) in items.iter().enumerate() {
                read_item(item, i + 1, ctx.default_tz, &mut out);
            }
            out.next_page = obj
                .get("links")
                .and_then(|l| l.get("next"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string);
        }
        (None, Some("Meeting")) => read_item(&doc, 1, ctx.default_tz, &mut out),
        (None, Some("Body")) => {
            let meetings = obj
                .get("meeting")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .ok_or_else(|| invalid("Body: no \"meeting\" list URL".into()))?;
            out.next_page = Some(meetings.to_string());
        }
        (None, Some(other)) => {
            return Err(invalid(format!(
                "got an OParl {other} object; configure the URL of a Body or of its meeting list"
            )));
        }
        (None, None) => {
            return Err(invalid(
                "not an OParl document (no \"data\" list and no OParl \"type\")".into(),
            ));
        }
    }
    Ok(out)
}

fn invalid(message: String) -> FormatError {
    FormatError::Invalid {
        format: FORMAT,
        message,
    }
}

/// Reads one list entry: a Meeting becomes an event or a warning; deleted ones are dropped.
fn read_item(item: &Value, position: usize, zone: Tz, out: &mut Parsed) {
    let Value::Object(m) = item else {
        out.warnings.push(format!(
            "item #{position}: skipped: expected a Meeting object, got {}",
            kind(item)
        ));
        return;
    };
    if m.get("deleted").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let who = match m.get("id").and_then(scalar_text) {
        Some(id) => crate::text::shorten(&id, 120),
        None => format!("#{position}"),
    };
    if let Some(t) = oparl_type(m).filter(|t| *t != "Meeting") {
        out.warnings
            .push(format!("item {who}: skipped: not a Meeting but a {t}"));
        return;
    }
    match read_meeting(m, zone) {
        Ok(ev) => out.events.push(ev),
        Err(reason) => out.warnings.push(format!("item {who}: skipped: {reason}")),
    }
}

/// A Meeting object as an event.
fn read_meeting(m: &Map<String, Value>, zone: Tz) -> Result<Event, String> {
    let start = match m.get("start").filter(|v| !v.is_null()) {
        None => return Err("no start (the meeting has no date yet)".into()),
        Some(Value::String(s)) => parse_iso(s, zone).map_err(|e| format!("start: {e}"))?,
        Some(other) => return Err(format!("start: expected a date-time, got {}", kind(other))),
    };
    let end = match m.get("end").filter(|v| !v.is_null()) {
        None => default_end(&start),
        Some(Value::String(s)) => {
            let end = parse_iso(s, zone).map_err(|e| format!("end: {e}"))?;
            match (start, end) {
                (EventTime::Date { .. }, EventTime::Date { date }) => EventTime::Date {
                    date: crate::model::add_days(date, 1),
                },
                (EventTime::Date { .. }, other) => EventTime::Date {
                    date: crate::model::add_days(other.date_in(zone), 1),
                },
                (_, end) => end,
            }
        }
        Some(other) => return Err(format!("end: expected a date-time, got {}", kind(other))),
    };
    if end.to_utc(zone) < start.to_utc(zone) {
        return Err("end is before start".into());
    }
    let organizations: Vec<&Map<String, Value>> = m
        .get("organization")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let org_names: Vec<String> = organizations
        .iter()
        .filter_map(|o| o.get("name").and_then(scalar_text))
        .collect();
    let title = text(m, "name").unwrap_or_else(|| {
        if org_names.is_empty() {
            "Sitzung".to_string()
        } else {
            format!("Sitzung {}", org_names.join(", "))
        }
    });
    let uid = text(m, "id").unwrap_or_else(|| fallback_uid(&start, &title));
    let mut ev = Event::new(uid, title, start, end);
    if m.get("cancelled").and_then(Value::as_bool) == Some(true) {
        ev.status = Status::Cancelled;
    }
    ev.url = text(m, "web");
    if let Some(Value::Object(loc)) = m.get("location") {
        read_location(loc, &mut ev);
    }
    ev.categories = m
        .get("keyword")
        .and_then(Value::as_array)
        .map(|k| k.iter().filter_map(scalar_text).collect())
        .unwrap_or_default();
    ev.categories.push(CATEGORY.into());
    ev.description = agenda(m);
    if let Some(org) = organizations.first()
        && let Some(name) = org.get("name").and_then(scalar_text)
    {
        ev.organizer = Some(Box::new(Organizer {
            name,
            url: org.get("web").and_then(scalar_text),
            email: None,
        }));
    }
    ev.last_modified = instant(m, "modified");
    ev.created = instant(m, "created");
    Ok(ev)
}

/// An embedded Location: text, address and coordinates.
fn read_location(loc: &Map<String, Value>, ev: &mut Event) {
    if loc.get("deleted").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let address = Address {
        street: text(loc, "streetAddress"),
        postal_code: text(loc, "postalCode"),
        locality: text(loc, "locality"),
        ..Address::default()
    };
    ev.location = text(loc, "description").or_else(|| {
        let parts: Vec<String> = [text(loc, "room"), address_line(&address)]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    });
    if address != Address::default() {
        ev.address = Some(Box::new(address));
    }
    ev.geo = loc.get("geojson").and_then(point);
}

/// The coordinates of a GeoJSON Point (a Feature, as OParl requires, or a bare geometry).
fn point(geojson: &Value) -> Option<Geo> {
    let geometry = geojson.get("geometry").unwrap_or(geojson);
    if geometry.get("type")?.as_str()? != "Point" {
        return None;
    }
    let coords = geometry.get("coordinates")?.as_array()?;
    let lon = number(coords.first()?)?;
    let lat = number(coords.get(1)?)?;
    Geo::new(lat, lon)
}

/// The public agenda items of an embedded `agendaItem` list, one per line.
fn agenda(m: &Map<String, Value>) -> Option<String> {
    let lines: Vec<String> = m
        .get("agendaItem")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .filter(|a| {
            a.get("public").and_then(Value::as_bool) != Some(false)
                && a.get("deleted").and_then(Value::as_bool) != Some(true)
        })
        .filter_map(|a| {
            let name = text(a, "name")?;
            Some(match text(a, "number") {
                Some(n) => format!("{n} {name}"),
                None => name,
            })
        })
        .collect();
    (!lines.is_empty()).then(|| format!("Tagesordnung (öffentlich):\n{}", lines.join("\n")))
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(scalar_text)
}

fn instant(obj: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
    let s = obj.get(key)?.as_str()?;
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

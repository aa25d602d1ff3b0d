//! schema.org JSON-LD output (`/api/v1/events.jsonld`): an `ItemList` of `Event`s, one per
//! occurrence matching the filter, for search engines and portals that read structured data.
//!
//! Each item follows Google's event rich-result rules: `name`, `startDate` (RFC 3339 with the
//! event zone's offset, or a date for all-day events), `endDate` (inclusive for all-day events,
//! as schema.org means it), `eventStatus`, `eventAttendanceMode` and a `location` (a `Place` with
//! a `PostalAddress` when the address is known, else the location text as the address; a
//! `VirtualLocation` for online events; both for mixed ones). `@id` is
//! `urn:regiocal:event:{id}` and `identifier` the occurrence's public id, so the document reads
//! back through [`crate::format::jsonld`] into the same occurrences.

use super::json::event_doc;
use super::{Filter, Row, Snapshot};
use crate::format::jsonld::address_line;
use crate::model::{Address, Attendance, EventTime, Status, add_days};
use serde::Serialize;

/// The document.
#[derive(Serialize)]
struct ItemList<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'a str,
    #[serde(rename = "numberOfItems")]
    number_of_items: usize,
    #[serde(rename = "itemListElement")]
    items: Vec<ListItem<'a>>,
}

#[derive(Serialize)]
struct ListItem<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    position: usize,
    item: EventItem<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventItem<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@id")]
    id: String,
    identifier: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    start_date: String,
    end_date: String,
    event_status: &'static str,
    event_attendance_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<OneOrMany<Location<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organizer: Option<Organization<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    offers: Vec<OfferItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_accessible_for_free: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_language: Option<&'a str>,
}

/// A single value as itself, several as an array.
#[derive(Serialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn of(mut items: Vec<T>) -> Option<OneOrMany<T>> {
        match items.len() {
            0 => None,
            1 => items.pop().map(OneOrMany::One),
            _ => Some(OneOrMany::Many(items)),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Location<'a> {
    Place(Place<'a>),
    Virtual(VirtualLocation<'a>),
}

#[derive(Serialize)]
struct Place<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: String,
    address: PlaceAddress<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo: Option<GeoCoordinates>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum PlaceAddress<'a> {
    Postal(PostalAddress<'a>),
    Text(&'a str),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostalAddress<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    street_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_locality: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_country: Option<&'a str>,
}

#[derive(Serialize)]
struct GeoCoordinates {
    #[serde(rename = "@type")]
    kind: &'static str,
    latitude: f64,
    longitude: f64,
}

#[derive(Serialize)]
struct VirtualLocation<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Organization<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OfferItem<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

/// The schema.org `Event` of one row.
fn event_item<'a>(snap: &'a Snapshot, row: &'a Row) -> EventItem<'a> {
    let doc = event_doc(snap, row, false);
    let ev = &snap.events[row.event].event;
    // schema.org's endDate of a date is the last day (inclusive).
    let end_date = match (row.occurrence.start, row.occurrence.end) {
        (EventTime::Date { date: s }, EventTime::Date { date: e }) => {
            crate::timefmt::iso_date(add_days(e, -1).max(s))
        }
        _ => doc.end.clone(),
    };
    let resolved = snap.places.get(row.event).copied().unwrap_or_default();
    let venue = resolved.venue.map(|v| &snap.geo.venues.venues[v]);
    let place = || -> Option<Location> {
        // A registry venue: its name, address and coordinates.
        if let Some(v) = venue {
            let address = if v.street.is_some() || v.city.is_some() {
                PlaceAddress::Postal(PostalAddress {
                    kind: "PostalAddress",
                    street_address: v.street.as_deref(),
                    postal_code: v.postcode.as_deref(),
                    address_locality: v.city.as_deref(),
                    address_region: None,
                    address_country: None,
                })
            } else {
                PlaceAddress::Text(ev.location.as_deref().unwrap_or(v.name.as_str()))
            };
            return Some(Location::Place(Place {
                kind: "Place",
                name: v.name.clone(),
                address,
                geo: resolved.geo.map(|g| GeoCoordinates {
                    kind: "GeoCoordinates",
                    latitude: g.lat,
                    longitude: g.lon,
                }),
            }));
        }
        let address = match ev.address.as_ref().filter(|a| !address_line(a).is_empty()) {
            Some(a) => PlaceAddress::Postal(postal(a)),
            None => PlaceAddress::Text(ev.location.as_deref()?),
        };
        Some(Location::Place(Place {
            kind: "Place",
            name: place_name(ev.location.as_deref(), ev.address.as_deref())?,
            address,
            geo: ev.geo.map(|g| GeoCoordinates {
                kind: "GeoCoordinates",
                latitude: g.lat,
                longitude: g.lon,
            }),
        }))
    };
    let online = || {
        ev.online_url.as_deref().or(ev.url.as_deref()).map(|url| {
            Location::Virtual(VirtualLocation {
                kind: "VirtualLocation",
                url,
            })
        })
    };
    let location: Vec<Location> = match ev.attendance {
        Attendance::Offline => place().into_iter().collect(),
        Attendance::Online => online().or_else(place).into_iter().collect(),
        Attendance::Mixed => place().into_iter().chain(online()).collect(),
    };
    EventItem {
        kind: "Event",
        id: format!("urn:regiocal:event:{}", row.id),
        identifier: doc.id,
        name: doc.title,
        description: doc.description,
        start_date: doc.start,
        end_date,
        event_status: match doc.status {
            Status::Cancelled => "https://schema.org/EventCancelled",
            Status::Postponed => "https://schema.org/EventPostponed",
            Status::Confirmed | Status::Tentative => "https://schema.org/EventScheduled",
        },
        event_attendance_mode: match doc.attendance {
            Attendance::Offline => "https://schema.org/OfflineEventAttendanceMode",
            Attendance::Online => "https://schema.org/OnlineEventAttendanceMode",
            Attendance::Mixed => "https://schema.org/MixedEventAttendanceMode",
        },
        location: OneOrMany::of(location),
        url: doc.url,
        image: doc.image,
        organizer: doc.organizer.map(|o| Organization {
            kind: "Organization",
            name: &o.name,
            url: o.url.as_deref(),
            email: o.email.as_deref(),
        }),
        offers: doc
            .offers
            .iter()
            .map(|o| OfferItem {
                kind: "Offer",
                name: o.name.as_deref(),
                price: o.price,
                price_currency: o.currency.as_deref(),
                url: o.url.as_deref(),
            })
            .collect(),
        is_accessible_for_free: doc.free,
        in_language: doc.language,
    }
}

/// Renders the occurrences matching `filter`.
pub fn render(snap: &Snapshot, filter: &Filter) -> String {
    let items: Vec<ListItem> = snap
        .select(filter)
        .enumerate()
        .map(|(i, row)| ListItem {
            kind: "ListItem",
            position: i + 1,
            item: event_item(snap, row),
        })
        .collect();
    let list = ItemList {
        context: "https://schema.org",
        kind: "ItemList",
        name: &snap.calendar.name,
        number_of_items: items.len(),
        items,
    };
    super::json::to_json(&list)
}

/// One occurrence as a schema.org `Event` document of its own (for a detail page).
pub fn render_event(snap: &Snapshot, row: &Row) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        #[serde(rename = "@context")]
        context: &'static str,
        #[serde(flatten)]
        item: EventItem<'a>,
    }
    super::json::to_json(&Document {
        context: "https://schema.org",
        item: event_item(snap, row),
    })
}

fn postal(a: &Address) -> PostalAddress<'_> {
    PostalAddress {
        kind: "PostalAddress",
        street_address: a.street.as_deref(),
        postal_code: a.postal_code.as_deref(),
        address_locality: a.locality.as_deref(),
        address_region: a.region.as_deref(),
        address_country: a.country.as_deref(),
    }
}

/// The venue name: the location text without the address the input appended to it
/// ("Stadttheater, Theaterplatz 1, 12345 Musterstadt" → "Stadttheater").
fn place_name(location: Option<&str>, address: Option<&Address>) -> Option<String> {
    let line = address.map(address_line).filter(|l| !l.is_empty());
    match (location, line) {
        (Some(loc), Some(line)) => Some(
            loc.strip_suffix(line.as_str())
                .and_then(|head| head.strip_suffix(", "))
                .filter(|head| !head.trim().is_empty())
                .unwrap_or(loc)
                .to_string(),
        ),
        (Some(loc), None) => Some(loc.to_string()),
        (None, Some(line)) => Some(line),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_name_drops_the_appended_address() {
        let a = Address {
            street: Some("Theaterplatz 1".into()),
            postal_code: Some("12345".into()),
            locality: Some("Musterstadt".into()),
            ..Default::default()
        };
        assert_eq!(
            place_name(
                Some("Großes Haus, Theaterplatz 1, 12345 Musterstadt"),
                Some(&a)
            )
            .as_deref(),
            Some("Großes Haus")
        );
        assert_eq!(
            place_name(Some("Theaterplatz 1, 12345 Musterstadt"), Some(&a)).as_deref(),
            Some("Theaterplatz 1, 12345 Musterstadt")
        );
        assert_eq!(
            place_name(None, Some(&a)).as_deref(),
            Some("Theaterplatz 1, 12345 Musterstadt")
        );
        assert_eq!(
            place_name(Some("Marktplatz"), None).as_deref(),
            Some("Marktplatz")
        );
    }
}

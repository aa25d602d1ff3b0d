//! `/events/{id}`: one occurrence with date and time, venue with address and map, "Anreise"
//! (nearest stops with their lines, the last departure after the event, the journey-planner
//! link, bike stations), every source with attribution and licence, "add to calendar", and the
//! schema.org JSON-LD of the event for search engines.
//!
//! Images of the sources are not shown: they live on other hosts, and the page loads nothing
//! from elsewhere but map tiles (the JSON-LD and the API still name them).
//!
//! `/events/{id}.ics` is the occurrence as a calendar file of its own
//! ([`crate::output::ics::render_occurrence`]). The id of an announcement merged into another
//! source's event answers `301` with the event that carries it now, like the API.

use super::map::{MapData, MapPlace};
use super::query::PageQuery;
use super::safe::{http_url, link, script_json};
use super::{Chrome, Ctx, Framing, Nav, WebError, WebState, cards, error_page, html_response};
use crate::http::cache::Rendered;
use crate::output::json::event_doc;
use crate::output::{Row, Snapshot, ics, jsonld};
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The venue as the page shows it.
pub struct VenueView {
    pub name: String,
    pub address: Option<String>,
    pub accessibility: Option<String>,
    pub url: Option<String>,
    /// The list of this venue's events.
    pub href: String,
}

/// Who organises the event.
pub struct OrganizerView {
    pub name: String,
    pub url: Option<String>,
}

/// A stop nearby.
pub struct StopView {
    pub name: String,
    pub walk: String,
    pub lines: Vec<String>,
}

/// A source that announces the event.
pub struct SourceView {
    pub name: String,
    /// The event's page at the source (http(s) only).
    pub url: Option<String>,
    pub license: Option<String>,
    pub license_url: Option<&'static str>,
    pub attribution: Option<String>,
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventPage {
    chrome: Chrome,
    title: String,
    when: String,
    start_iso: String,
    status: Option<&'static str>,
    cancelled: bool,
    recurring: bool,
    description: Option<String>,
    categories: Vec<(String, String)>,
    free: bool,
    offers: Vec<String>,
    organizer: Option<OrganizerView>,
    more_url: Option<String>,
    online_url: Option<String>,
    venue: Option<VenueView>,
    location: Option<String>,
    district: Option<String>,
    outside_region: bool,
    osm_href: Option<String>,
    map_json: Option<String>,
    has_transit: bool,
    stops: Vec<StopView>,
    last_departure: Option<String>,
    journey: Option<String>,
    bikes: Vec<String>,
    sources: Vec<SourceView>,
    ics_href: String,
    json_href: String,
    back_href: String,
    jsonld: String,
}

/// Web addresses of the licences sources commonly use (SPDX ids).
pub fn license_url(id: &str) -> Option<&'static str> {
    Some(match id.trim().to_ascii_uppercase().as_str() {
        "CC0-1.0" => "https://creativecommons.org/publicdomain/zero/1.0/",
        "CC-BY-4.0" => "https://creativecommons.org/licenses/by/4.0/",
        "CC-BY-SA-4.0" => "https://creativecommons.org/licenses/by-sa/4.0/",
        "DL-DE-BY-2.0" => "https://www.govdata.de/dl-de/by-2-0",
        "DL-DE-ZERO-2.0" => "https://www.govdata.de/dl-de/zero-2-0",
        "ODBL-1.0" => "https://opendatacommons.org/licenses/odbl/1-0/",
        _ => return None,
    })
}

/// Renders the page of one occurrence.
pub fn render(snap: &Snapshot, row: &Row, q: &PageQuery, ctx: &Ctx) -> Result<String, WebError> {
    let lang = q.lang;
    let t = lang.texts();
    let doc = event_doc(snap, row, true);
    let ev = &snap.events[row.event].event;
    let place = snap.places.get(row.event).copied().unwrap_or_default();
    let venue = place.venue.map(|v| {
        let v = &snap.geo.venues.venues[v];
        VenueView {
            name: v.name.clone(),
            address: v.address_line(),
            accessibility: v.accessibility.clone(),
            url: link(v.url.as_deref()),
            href: q.href_plus("/", "venue", &v.id),
        }
    });
    // The location text, unless it only repeats the venue's name.
    let location = ev
        .location
        .clone()
        .filter(|l| {
            venue
                .as_ref()
                .is_none_or(|v| !l.eq_ignore_ascii_case(&v.name))
        })
        .or_else(|| {
            ev.address
                .as_deref()
                .map(crate::format::jsonld::address_line)
                .filter(|a| !a.is_empty())
        });
    let geo = place.geo;
    let map_json = geo.map(|g| {
        let data = MapData {
            tiles: &ctx.web.tile_url,
            attribution: &ctx.web.tile_attribution,
            attribution_url: &ctx.web.tile_attribution_url,
            more: t.map_show_events,
            places: vec![MapPlace {
                name: venue
                    .as_ref()
                    .map(|v| v.name.clone())
                    .or_else(|| location.clone())
                    .unwrap_or_else(|| lang.title(&ev.title)),
                lat: g.lat,
                lon: g.lon,
                count: String::new(),
                district: None,
                href: None,
                events: Vec::new(),
            }],
        };
        script_json(&serde_json::to_string(&data).unwrap_or_else(|_| "{}".into()))
    });
    let stops = doc
        .transit
        .iter()
        .map(|s| StopView {
            name: s.name.clone(),
            walk: lang.walk(s.walk_min),
            lines: s
                .lines
                .iter()
                .map(|l| format!("{} {}", lang.mode(l.mode), l.short_name))
                .collect(),
        })
        .collect();
    let last_departure = doc.last_departure.as_ref().map(|d| {
        let time = chrono::DateTime::parse_from_rfc3339(&d.time)
            .map(|t| lang.time_range(t.time(), None))
            .unwrap_or_else(|_| d.time.clone());
        format!("{time}: {} {}, {}", lang.mode(d.mode), d.line, d.stop)
    });
    let bikes = doc
        .bike
        .iter()
        .map(|b| match b.capacity {
            Some(c) => format!(
                "{} ({}, {c} {})",
                b.name,
                lang.walk(b.walk_min),
                t.bike_capacity
            ),
            None => format!("{} ({})", b.name, lang.walk(b.walk_min)),
        })
        .collect();
    let sources = doc
        .sources
        .iter()
        .map(|s| SourceView {
            name: s.name.to_string(),
            url: link(s.url),
            license: s.license.map(str::to_string),
            license_url: s.license.and_then(license_url),
            attribution: s.attribution.map(str::to_string),
        })
        .collect();
    let offers = ev
        .offers
        .iter()
        .filter_map(|o| {
            let price = match o.price {
                Some(0.0) => t.free.to_string(),
                Some(p) => lang.price(p, o.currency.as_deref()),
                None => return o.name.clone(),
            };
            Some(match &o.name {
                Some(n) => format!("{n}: {price}"),
                None => price,
            })
        })
        .collect();
    let base_id = format!("/events/{}", row.id);
    Ok(EventPage {
        chrome: Chrome::new(snap, q, &base_id, Nav::None),
        title: lang.title(&ev.title),
        when: cards::when_long(snap, row, lang),
        start_iso: cards::start_iso(snap, row),
        status: cards::status_label(ev.status, lang),
        cancelled: ev.status == crate::model::Status::Cancelled,
        recurring: doc.recurring,
        description: ev.description.clone().filter(|d| !d.trim().is_empty()),
        categories: ev
            .categories
            .iter()
            .map(|c| {
                (
                    cards::category_label(snap, c, lang),
                    q.with_lang(format!("/?category={}", super::query::encode_value(c))),
                )
            })
            .collect(),
        free: doc.free == Some(true),
        offers,
        organizer: ev.organizer.as_ref().map(|o| OrganizerView {
            name: o.name.clone(),
            url: link(o.url.as_deref()),
        }),
        more_url: link(ev.url.as_deref()),
        online_url: link(ev.online_url.as_deref()),
        venue,
        location,
        district: doc.district.map(str::to_string),
        outside_region: doc.outside_region,
        osm_href: geo.map(|g| {
            format!(
                "https://www.openstreetmap.org/?mlat={0:.5}&mlon={1:.5}#map=17/{0:.5}/{1:.5}",
                g.lat, g.lon
            )
        }),
        map_json,
        has_transit: snap.transit.is_some() && geo.is_some(),
        stops,
        last_departure,
        journey: doc.journey_url.as_deref().and_then(http_url),
        bikes,
        sources,
        ics_href: format!("{base_id}.ics"),
        json_href: format!("/api/v1/events/{}", row.id),
        back_href: q.plain_href("/"),
        jsonld: script_json(&jsonld::render_event(snap, row)),
    }
    .render()?)
}

/// `GET /events/{id}` and `GET /events/{id}.ics`.
pub async fn page(
    State(state): State<WebState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let snap = state.snapshot.get();
    let web = &state.web;
    let (id, ics_file) = match id.strip_suffix(".ics") {
        Some(bare) => (bare, true),
        None => (id.as_str(), false),
    };
    let q = match PageQuery::parse(raw.as_deref(), super::accept_language(&headers)) {
        Ok(q) => q,
        Err(e) => {
            let (lang, param) = super::lang_of(raw.as_deref(), &headers);
            return error_page(&snap, web, lang, param, &WebError::Query(e));
        }
    };
    let Some(row) = snap.row(id) else {
        return match snap.alias(id) {
            Some(to) => {
                let suffix = if ics_file { ".ics" } else { "" };
                let location = q.plain_href(&format!("/events/{}{suffix}", to.id));
                (
                    StatusCode::MOVED_PERMANENTLY,
                    [(header::LOCATION, location)],
                )
                    .into_response()
            }
            None => error_page(&snap, web, q.lang, q.lang_param, &WebError::NotFound),
        };
    };
    if ics_file {
        let rendered = Rendered::new(ics::render_occurrence(&snap, row));
        return crate::http::rendered_response(
            &headers,
            &rendered,
            "text/calendar; charset=utf-8",
            snap.last_modified,
            super::PAGE_MAX_AGE,
            &[(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"event-{}.ics\"", row.id),
            )],
        );
    }
    let ctx = Ctx::of(web, &snap, &headers, &uri);
    match render(&snap, row, &q, &ctx) {
        Ok(body) => html_response(
            &headers,
            &Rendered::new(body),
            &snap,
            web,
            Framing::SameOrigin,
        ),
        Err(e) => error_page(&snap, web, q.lang, q.lang_param, &e),
    }
}

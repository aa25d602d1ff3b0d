//! `/map`: the venues of the filtered events on a map (Leaflet, served from the daemon; tiles
//! from `[web] tile_url`), with the same filter form as the list.
//!
//! The page lists the places as HTML too (name, district, number of events, link to the list of
//! that venue), which is what visitors without JavaScript and screen-reader users get; the
//! script reads the same places from a JSON data block and draws the markers.

use super::cards;
use super::list::{self, FormView};
use super::query::PageQuery;
use super::safe::script_json;
use super::{Chrome, Ctx, Nav, WebError};
use crate::output::{Snapshot, json::MAX_LIMIT};
use askama::Template;
use serde::Serialize;

/// Events named in a marker's pop-up.
const POPUP_EVENTS: usize = 5;

/// The data block the map script reads.
#[derive(Serialize)]
pub struct MapData<'a> {
    pub tiles: &'a str,
    pub attribution: &'a str,
    pub attribution_url: &'a str,
    /// Label of the "show events" link in pop-ups.
    pub more: &'a str,
    pub places: Vec<MapPlace>,
}

/// One marker.
#[derive(Serialize, Clone)]
pub struct MapPlace {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// "3 Termine".
    pub count: String,
    #[serde(skip)]
    pub district: Option<String>,
    /// The list of this venue's events (registry venues only).
    pub href: Option<String>,
    pub events: Vec<MapEvent>,
}

/// An event in a pop-up.
#[derive(Serialize, Clone)]
pub struct MapEvent {
    pub title: String,
    pub when: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    chrome: Chrome,
    form: FormView,
    places: Vec<MapPlace>,
    without_place: usize,
    without_place_text: String,
    count: String,
    data_json: String,
    list_href: String,
    map_href: String,
    map_view: bool,
}

/// Renders `/map`.
pub fn render(snap: &Snapshot, q: &PageQuery, ctx: &Ctx) -> Result<String, WebError> {
    let mut filter = q.filter.clone();
    let first_day = *filter.from.get_or_insert(ctx.today);
    let mut places: Vec<(Option<usize>, usize, MapPlace)> = Vec::new();
    let mut without_place = 0;
    let mut total = 0;
    for row in snap.select(&filter).take(MAX_LIMIT) {
        total += 1;
        let p = snap.places.get(row.event).copied().unwrap_or_default();
        let Some(g) = p.geo else {
            without_place += 1;
            continue;
        };
        let at = places
            .iter()
            .position(|(venue, _, m)| match (venue, p.venue) {
                (Some(a), Some(b)) => *a == b,
                (None, None) => (m.lat - g.lat).abs() < 1e-5 && (m.lon - g.lon).abs() < 1e-5,
                _ => false,
            });
        let i = match at {
            Some(i) => i,
            None => {
                places.push((
                    p.venue,
                    0,
                    MapPlace {
                        name: cards::place_name(snap, row).unwrap_or_default(),
                        lat: g.lat,
                        lon: g.lon,
                        count: String::new(),
                        district: cards::district_name(snap, row),
                        href: p
                            .venue
                            .map(|v| q.href_plus("/", "venue", &snap.geo.venues.venues[v].id)),
                        events: Vec::new(),
                    },
                ));
                places.len() - 1
            }
        };
        let (_, n, place) = &mut places[i];
        *n += 1;
        if place.events.len() < POPUP_EVENTS {
            let day = cards::list_day(snap, row, first_day);
            place.events.push(MapEvent {
                title: q.lang.title(&snap.events[row.event].event.title),
                when: format!(
                    "{}, {}",
                    q.lang.short_date(day),
                    cards::when(snap, row, q.lang, day)
                ),
                href: cards::event_href(q, &row.id),
            });
        }
    }
    let mut places: Vec<MapPlace> = places
        .into_iter()
        .map(|(_, n, mut m)| {
            m.count = q.lang.events(n);
            m
        })
        .collect();
    places.sort_by(|a, b| a.name.cmp(&b.name));
    let t = q.lang.texts();
    let data = MapData {
        tiles: &ctx.web.tile_url,
        attribution: &ctx.web.tile_attribution,
        attribution_url: &ctx.web.tile_attribution_url,
        more: t.map_show_events,
        places: places.clone(),
    };
    let data_json = script_json(&serde_json::to_string(&data).unwrap_or_else(|_| "{}".into()));
    Ok(MapPage {
        chrome: Chrome::new(snap, q, "/map", Nav::Map),
        form: list::form(snap, q, "/map"),
        places,
        without_place,
        without_place_text: format!("{} {}", q.lang.events(without_place), t.map_without_place),
        count: q.lang.events(total),
        data_json,
        list_href: q.href("/"),
        map_href: q.href("/map"),
        map_view: true,
    }
    .render()?)
}

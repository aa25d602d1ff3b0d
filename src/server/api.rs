//! The JSON API: `/api/v1/events`, `/api/v1/events/{id}`, `/api/v1/sources`, `/healthz`.

use super::{AppState, ReadyJob};
use crate::http::{ApiError, cacheable, parse_query};
use crate::output::json::{self, DEFAULT_LIMIT};
use crate::output::{Filter, Snapshot};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

const JSON: &str = "application/json";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", get(events))
        .route("/api/v1/events/{id}", get(event))
        .route("/api/v1/sources", get(sources))
        .route("/api/v1/categories", get(categories))
        .route("/api/v1/venues", get(venues))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/venues/unmatched", get(unmatched_venues))
        .route("/healthz", get(health))
}

fn max_age(snap: &Snapshot) -> u32 {
    (snap.calendar.refresh_minutes * 60).min(300)
}

/// The render cache key of an events page: what the page is made of (parsed), so unknown
/// parameters, their order and their spelling make no new entries.
fn events_key(filter: &Filter, limit: usize, cursor: Option<&str>) -> String {
    let filter = crate::http::filter_key(filter);
    match (limit, cursor) {
        (DEFAULT_LIMIT, None) => format!("events?{filter}"),
        _ => format!("events?{filter}#{limit}#{cursor:?}"),
    }
}

/// The first page of all events, rendered before a snapshot is swapped in.
pub(super) fn ready(snap: &Arc<Snapshot>) -> Vec<ReadyJob> {
    let snap = snap.clone();
    vec![ReadyJob {
        key: events_key(&Filter::default(), DEFAULT_LIMIT, None),
        feed: "events",
        render: Box::new(move || {
            json::render_events(&snap, &Filter::default(), Some(DEFAULT_LIMIT), None)
                .unwrap_or_default()
        }),
    }]
}

#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "read",
    params(super::openapi::FeedQuery, super::openapi::Paging),
    responses(
        (status = 200, description = "A page of occurrences, sorted by start", body = super::openapi::EventsPage),
        (status = 304, description = "Not modified (`If-None-Match` matched the ETag)"),
        (status = 400, description = "Invalid parameter (named in `parameter`)", body = super::openapi::ErrorBody),
    )
)]
async fn events(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = parse_query(raw.as_deref())?;
    let served = state.snapshot.current();
    let key = events_key(
        &q.filter,
        q.limit.unwrap_or(DEFAULT_LIMIT),
        q.cursor.as_deref(),
    );
    let (snap, filter, limit, cursor) = (
        served.snapshot.clone(),
        q.filter.clone(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
        q.cursor.clone(),
    );
    // A bad cursor renders as an empty body, checked below.
    let rendered = served
        .cache
        .get_or_render(&key, "events", move || {
            json::render_events(&snap, &filter, Some(limit), cursor.as_deref()).unwrap_or_default()
        })
        .await;
    let snap = &served.snapshot;
    if rendered.body.is_empty() {
        json::render_events(snap, &q.filter, Some(1), q.cursor.as_deref())
            .map_err(|e| ApiError::bad_param("cursor", e.to_string()))?;
    }
    Ok(crate::http::rendered_response(
        &headers,
        &rendered,
        JSON,
        snap.last_modified,
        max_age(snap),
        &[cors()],
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}",
    tag = "read",
    params(("id" = String, Path, description = "Public occurrence id")),
    responses(
        (status = 200, description = "One occurrence", body = super::openapi::Event),
        (status = 301, description = "The id of an announcement merged into another event: `Location` names the merged event"),
        (status = 304, description = "Not modified (`If-None-Match` matched the ETag)"),
        (status = 404, description = "No such occurrence", body = super::openapi::ErrorBody),
    )
)]
async fn event(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snap = state.snapshot.get();
    let Some(row) = snap.row(&id) else {
        // An id merged into another event answers with the event that carries it now.
        return match snap.alias(&id) {
            Some(to) => Ok((
                axum::http::StatusCode::MOVED_PERMANENTLY,
                [
                    (header::LOCATION, format!("/api/v1/events/{}", to.id)),
                    cors(),
                ],
            )
                .into_response()),
            None => Err(ApiError::not_found(format!("no event with id {id:?}"))),
        };
    };
    let body = json::to_json(&json::event_doc(&snap, row, true));
    Ok(cacheable(
        &headers,
        body,
        JSON,
        snap.last_modified,
        max_age(&snap),
        &[cors()],
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/sources",
    tag = "read",
    responses((status = 200, description = "Sources with health and fetch state", body = super::openapi::SourcesList))
)]
async fn sources(State(state): State<AppState>) -> Response {
    let snap = state.snapshot.get();
    let merged = snap.merged_away();
    let docs: Vec<_> = snap
        .sources
        .iter()
        .map(|s| json::source_doc(s, merged.get(s.id.as_str()).copied().unwrap_or(0)))
        .collect();
    no_cache_json(&serde_json::json!({ "sources": docs }))
}

#[utoipa::path(
    get,
    path = "/api/v1/categories",
    tag = "read",
    responses((status = 200, description = "The category vocabulary with labels and counts", body = super::openapi::CategoriesList))
)]
/// The category vocabulary with German and English labels and how many published
/// occurrences each has.
async fn categories(State(state): State<AppState>) -> Response {
    let snap = state.snapshot.get();
    let mut counts: std::collections::HashMap<&str, usize> = Default::default();
    for row in snap.select(&Filter::default()) {
        for c in &snap.events[row.event].event.categories {
            *counts.entry(c.as_str()).or_default() += 1;
        }
    }
    let docs: Vec<_> = snap
        .vocabulary
        .categories
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id,
                "de": c.de,
                "en": c.en,
                "events": counts.get(c.id.as_str()).copied().unwrap_or(0),
            })
        })
        .collect();
    no_cache_json(&serde_json::json!({ "categories": docs }))
}

#[utoipa::path(
    get,
    path = "/api/v1/venues",
    tag = "read",
    responses((status = 200, description = "The venue registry with the district of each venue and its published occurrences"))
)]
/// The venue registry: every venue with its district and how many published occurrences it has.
async fn venues(State(state): State<AppState>) -> Response {
    let snap = state.snapshot.get();
    let mut counts = vec![0usize; snap.geo.venues.venues.len()];
    for row in snap.select(&Filter::default()) {
        if let Some(v) = snap.places[row.event].venue {
            counts[v] += 1;
        }
    }
    let docs: Vec<_> = snap
        .geo
        .venues
        .venues
        .iter()
        .zip(&counts)
        .map(|(v, n)| {
            let district = v
                .geo
                .and_then(|g| snap.geo.districts.find(g))
                .map(|d| snap.geo.districts.areas[d].name.as_str());
            let mut doc = serde_json::to_value(json::venue_doc(v, None)).unwrap_or_default();
            let place = crate::geo::Place {
                geo: v.geo,
                ..Default::default()
            };
            if let Some(o) = doc.as_object_mut() {
                o.remove("match");
                o.insert("district".into(), serde_json::json!(district));
                o.insert("events".into(), serde_json::json!(n));
                o.insert(
                    "transit".into(),
                    serde_json::json!(snap.stops_near(&place, 5)),
                );
                o.insert("bike".into(), serde_json::json!(snap.bikes_near(&place, 3)));
            }
            doc
        })
        .collect();
    no_cache_json(&serde_json::json!({ "venues": docs }))
}

#[utoipa::path(
    get,
    path = "/api/v1/venues/unmatched",
    tag = "read",
    responses((status = 200, description = "Per source, the location texts that match no venue, with counts"))
)]
/// Location texts no venue matched, per source, most frequent first: what to add as aliases.
async fn unmatched_venues(State(state): State<AppState>) -> Response {
    let snap = state.snapshot.get();
    let mut per_source: std::collections::BTreeMap<&str, std::collections::HashMap<&str, usize>> =
        Default::default();
    for row in snap.rows.iter() {
        let Some(loc) = snap.events[row.event].event.location.as_deref() else {
            continue;
        };
        if snap.places[row.event].venue.is_none() {
            let source = snap.series[row.series].source.as_str();
            *per_source
                .entry(source)
                .or_default()
                .entry(loc)
                .or_default() += 1;
        }
    }
    let docs: Vec<_> = per_source
        .into_iter()
        .map(|(source, locs)| {
            let mut locs: Vec<(&str, usize)> = locs.into_iter().collect();
            locs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            serde_json::json!({
                "source": source,
                "locations": locs
                    .iter()
                    .map(|(l, n)| serde_json::json!({"location": l, "occurrences": n}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    no_cache_json(&serde_json::json!({ "sources": docs }))
}

#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "ops",
    responses((status = 200, description = "Counts: sources, stored components, series, occurrences, published events, merged duplicates, venues, districts"))
)]
/// What the calendar holds right now.
async fn stats(State(state): State<AppState>) -> Response {
    let snap = state.snapshot.get();
    let published = snap.select(&Filter::default()).count();
    let merged = snap.rows.iter().filter(|r| r.merged_into.is_some()).count();
    let hidden = snap.rows.iter().filter(|r| r.hidden).count();
    let with_venue = snap
        .select(&Filter::default())
        .filter(|r| snap.places[r.event].venue.is_some())
        .count();
    let doc = serde_json::json!({
        "sources": snap.sources.len(),
        "sources_failing": snap.sources.iter().filter(|s| s.state.error_count >= 3).count(),
        "series": snap.series.len(),
        "occurrences": snap.rows.len(),
        "published": published,
        "merged_duplicates": merged,
        "hidden_by_overrides": hidden,
        "published_with_venue": with_venue,
        "venues": snap.geo.venues.venues.len(),
        "districts": snap.geo.districts.areas.len(),
        "truncated_series": snap.truncated_series,
        "window": {
            "start": snap.window.start.to_rfc3339(),
            "end": snap.window.end.to_rfc3339(),
        },
        "last_modified": snap.last_modified.to_rfc3339(),
    });
    no_cache_json(&doc)
}

fn no_cache_json(doc: &serde_json::Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, JSON),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        json::to_json(doc),
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses((status = 200, description = "Liveness with counts; `status` is `degraded` while the store does not answer (the feeds are then served from the last snapshot)", body = super::openapi::HealthDoc))
)]
async fn health(State(state): State<AppState>) -> Response {
    let snap = state.snapshot.get();
    let failing = snap
        .sources
        .iter()
        .filter(|s| s.state.error_count > 0)
        .count();
    // A store that does not answer degrades the instance: it still serves its last snapshot.
    let problem = state.health.problem();
    let store = match &problem {
        None => serde_json::json!({ "backend": state.store.backend(), "status": "ok" }),
        Some((since, error)) => serde_json::json!({
            "backend": state.store.backend(),
            "status": "unreachable",
            "since": since.to_rfc3339(),
            "error": error,
        }),
    };
    let body = serde_json::json!({
        "status": if problem.is_some() { "degraded" } else { "ok" },
        "instance": &*state.instance,
        "store": store,
        "sources": snap.sources.len(),
        "sources_failing": failing,
        "events": snap.select(&Filter::default()).count(),
        "last_modified": snap.last_modified.to_rfc3339(),
    });
    (
        [
            (header::CONTENT_TYPE, JSON),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn cors() -> (header::HeaderName, String) {
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string())
}

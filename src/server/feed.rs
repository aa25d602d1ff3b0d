//! The feeds: `/calendar.ics`, `/calendar.jcal`, `/calendar.xcs`, `/feed.atom` and
//! `/api/v1/events.jsonld`, all filterable like the JSON API. Unfiltered, the three calendar
//! feeds and JSON-LD serve the snapshot's [`crate::output::FeedWindow`] (`[calendar]
//! feed_max_occurrences`): what people subscribe to stays a size calendar apps take.

use super::{AppState, ReadyJob};
use crate::http::{ApiError, parse_query, rendered_response};
use crate::output::{Filter, Snapshot, atom, ics, jcal, jsonld, xcal};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calendar.ics", get(|s, q, h| feed(s, q, h, Kind::Ics)))
        .route("/calendar.jcal", get(|s, q, h| feed(s, q, h, Kind::Jcal)))
        .route("/calendar.xcs", get(|s, q, h| feed(s, q, h, Kind::Xcal)))
        .route("/feed.atom", get(|s, q, h| feed(s, q, h, Kind::Atom)))
        .route(
            "/api/v1/events.jsonld",
            get(|s, q, h| feed(s, q, h, Kind::JsonLd)),
        )
}

#[derive(Clone, Copy)]
enum Kind {
    Ics,
    Jcal,
    Xcal,
    Atom,
    JsonLd,
}

impl Kind {
    fn render(self, snap: &Snapshot, filter: &Filter) -> String {
        match self {
            Kind::Ics => ics::render(snap, filter),
            Kind::Jcal => jcal::render(snap, filter),
            Kind::Xcal => xcal::render(snap, filter),
            Kind::Atom => atom::render(snap, filter),
            Kind::JsonLd => jsonld::render(snap, filter),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Kind::Ics => "text/calendar; charset=utf-8",
            Kind::Jcal => "application/calendar+json; charset=utf-8",
            Kind::Xcal => "application/calendar+xml; charset=utf-8",
            Kind::Atom => "application/atom+xml; charset=utf-8",
            Kind::JsonLd => "application/ld+json; charset=utf-8",
        }
    }

    /// The render cache key of this feed with a filter: the parsed filter, so unknown
    /// parameters, their order and their spelling make no new entries.
    fn cache_key(self, filter: &Filter) -> String {
        format!("{}?{}", self.filename(), crate::http::filter_key(filter))
    }

    /// The filter this feed renders with for a request's filter: the feed window for the
    /// unfiltered feeds of every occurrence, the request's own otherwise. (Atom holds the
    /// next [`atom::MAX_ENTRIES`] occurrences anyway.)
    fn effective(self, snap: &Snapshot, filter: Filter) -> Filter {
        let whole = matches!(self, Kind::Ics | Kind::Jcal | Kind::Xcal | Kind::JsonLd);
        if whole && filter == Filter::default() {
            snap.feed_window().filter.clone()
        } else {
            filter
        }
    }

    fn filename(self) -> &'static str {
        match self {
            Kind::Ics => "calendar.ics",
            Kind::Jcal => "calendar.jcal",
            Kind::Xcal => "calendar.xcs",
            Kind::Atom => "feed.atom",
            Kind::JsonLd => "events.jsonld",
        }
    }
}

/// The unfiltered feeds, rendered before a snapshot is swapped in (JSON calendars and xCal are
/// asked for rarely: they render on first demand).
pub(super) fn ready(snap: &Arc<Snapshot>) -> Vec<ReadyJob> {
    [Kind::Ics, Kind::JsonLd, Kind::Atom]
        .into_iter()
        .map(|kind| {
            let snap = snap.clone();
            ReadyJob {
                key: kind.cache_key(&Filter::default()),
                feed: kind.filename(),
                render: Box::new(move || {
                    let filter = kind.effective(&snap, Filter::default());
                    kind.render(&snap, &filter)
                }),
            }
        })
        .collect()
}

async fn feed(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    kind: Kind,
) -> Result<Response, ApiError> {
    let q = parse_query(raw.as_deref())?;
    let served = state.snapshot.current();
    let snap = served.snapshot.clone();
    let key = kind.cache_key(&q.filter);
    // The unfiltered feeds are ready; a filtered one renders once, off the async workers.
    let rendered = served
        .cache
        .get_or_render(&key, kind.filename(), move || {
            let filter = kind.effective(&snap, q.filter);
            kind.render(&snap, &filter)
        })
        .await;
    let snap = &served.snapshot;
    Ok(rendered_response(
        &headers,
        &rendered,
        kind.content_type(),
        snap.last_modified,
        snap.calendar.refresh_minutes * 60,
        &[
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}\"", kind.filename()),
            ),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string()),
        ],
    ))
}

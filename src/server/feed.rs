//! The feeds: `/calendar.ics`, `/calendar.jcal`, `/calendar.xcs`, `/feed.atom` and
//! `/api/v1/events.jsonld`, all filterable like the JSON API.

use super::AppState;
use super::http::{ApiError, parse_query, rendered_response};
use crate::output::{Filter, Snapshot, atom, ics, jcal, jsonld, xcal};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;

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

async fn feed(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    kind: Kind,
) -> Result<Response, ApiError> {
    let q = parse_query(raw.as_deref())?;
    let snap = state.snapshot.get();
    let key = format!("{}?{}", kind.filename(), raw.as_deref().unwrap_or(""));
    // Rendered on the worker (not the blocking pool): after a swap, requests for a large feed
    // must not each start a render of their own at once. Rendering before the swap is the
    // next step (see docs/performance.md).
    let rendered = state
        .snapshot
        .cache()
        .get_or_render(&snap, &key, || kind.render(&snap, &q.filter));
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

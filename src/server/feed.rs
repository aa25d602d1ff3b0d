//! `GET /calendar.ics`: the merged iCalendar feed, filterable like the JSON API.

use super::AppState;
use super::http::{ApiError, cacheable, parse_query};
use crate::output::ics;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar.ics", get(calendar))
}

async fn calendar(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = parse_query(raw.as_deref())?;
    let snap = state.snapshot.get();
    let body = ics::render(&snap, &q.filter);
    Ok(cacheable(
        &headers,
        body,
        "text/calendar; charset=utf-8",
        snap.last_modified,
        snap.calendar.refresh_minutes * 60,
        &[(
            header::CONTENT_DISPOSITION,
            "inline; filename=\"calendar.ics\"".to_string(),
        )],
    ))
}

//! The OpenAPI 3.1 description of the HTTP API, served at `GET /api/v1/openapi.json`.
//!
//! Handlers carry `#[utoipa::path]` attributes next to their code (`api.rs`, `push.rs`); the
//! feed routes share one handler, so each feed is described by a stub below. The schemas here
//! describe the JSON documents as the outputs write them; they are documentation types only
//! (the outputs serialise their own borrowed structures), and a test compares them with real
//! responses so they cannot drift unnoticed.

#![allow(dead_code)]

use super::AppState;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

/// The assembled description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "regiocal",
        description = "Merged regional event calendar: feeds (iCalendar, jCal, xCal, Atom, \
                       JSON-LD), a JSON read API, and a push API for actors without a feed."
    ),
    paths(
        calendar_ics,
        calendar_jcal,
        calendar_xcs,
        feed_atom,
        events_jsonld,
        super::api::events,
        super::api::event,
        super::api::sources,
        super::api::categories,
        super::api::venues,
        super::api::unmatched_venues,
        super::api::stats,
        super::api::health,
        super::push::create,
        super::push::replace,
        super::push::remove,
        metrics,
        openapi_json,
    ),
    components(schemas(
        Event,
        EventsPage,
        Source,
        SourcesList,
        HealthDoc,
        StoreHealthDoc,
        ErrorBody,
        FieldError,
        ValidationError,
        PushEvent,
        PushBody,
        PushResult,
        GeoDoc,
        SourceRef,
        CategoryDoc,
        CategoriesList,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "feeds", description = "Merged calendar feeds; filterable, with ETag/304."),
        (name = "read", description = "JSON read API."),
        (name = "push", description = "Push API for actors without a feed (bearer token)."),
        (name = "ops", description = "Health, metrics and this description."),
    )
)]
pub struct ApiDoc;

/// Name of the security scheme the push paths require.
pub const BEARER: &str = "bearer";

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("opaque token from `regiocal token new`")
                    .description(Some(
                        "The actor's token; the server keeps only its SHA-256 digest.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The description as JSON text (built once).
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    })
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

/// This OpenAPI description.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        document(),
    )
        .into_response()
}

/// Prometheus metrics (served by [`crate::metrics::render`]).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"))
)]
fn metrics() {}

/// Filters shared by every feed and listing.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// First day (`YYYY-MM-DD`, calendar's zone, inclusive).
    from: Option<String>,
    /// Last day (`YYYY-MM-DD`, inclusive); at most 3660 days after `from`.
    to: Option<String>,
    /// Categories, comma-separated or repeated; any matches (case-insensitive).
    category: Option<String>,
    /// Source ids, comma-separated or repeated; any matches.
    source: Option<String>,
    /// District names, comma-separated or repeated; any matches (case-insensitive).
    district: Option<String>,
    /// Venue ids of the registry, comma-separated or repeated; any matches.
    venue: Option<String>,
    /// Bounding box `minlon,minlat,maxlon,maxlat`.
    bbox: Option<String>,
    /// Centre `lat,lon`; with `radius_km` (default 5, at most 200).
    near: Option<String>,
    /// Radius around `near` in kilometres.
    radius_km: Option<f64>,
    /// `1`: only events with a public-transport stop within walking distance.
    transit: Option<String>,
    /// `1`: only events with free admission (the source says so, or all its offers cost 0).
    free: Option<String>,
    /// Text search, at most 200 characters: every word must occur in the title, description,
    /// location or venue name (case-, umlaut- and accent-insensitive; inside longer words too).
    q: Option<String>,
}

/// Paging of `/api/v1/events` (besides the filters of [`FeedQuery`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

macro_rules! feed_path {
    ($name:ident, $path:literal, $ct:literal, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(
            get,
            path = $path,
            tag = "feeds",
            params(FeedQuery),
            responses(
                (status = 200, description = $what, content_type = $ct, body = String),
                (status = 304, description = "Not modified (`If-None-Match` matched the ETag)"),
                (status = 400, description = "Invalid filter parameter", body = ErrorBody),
            )
        )]
        fn $name() {}
    };
}

feed_path!(
    calendar_ics,
    "/calendar.ics",
    "text/calendar",
    "The merged calendar as iCalendar (RFC 5545)."
);
feed_path!(
    calendar_jcal,
    "/calendar.jcal",
    "application/calendar+json",
    "The merged calendar as jCal (RFC 7265)."
);
feed_path!(
    calendar_xcs,
    "/calendar.xcs",
    "application/calendar+xml",
    "The merged calendar as xCal (RFC 6321)."
);
feed_path!(
    feed_atom,
    "/feed.atom",
    "application/atom+xml",
    "Upcoming occurrences as an Atom feed."
);
feed_path!(
    events_jsonld,
    "/api/v1/events.jsonld",
    "application/ld+json",
    "Occurrences as schema.org Event JSON-LD."
);

/// WGS84 coordinates.
#[derive(ToSchema)]
#[schema(as = Geo)]
pub struct GeoDoc {
    lat: f64,
    lon: f64,
}

/// One occurrence of an event.
#[derive(ToSchema)]
pub struct Event {
    /// Public id of this occurrence, stable across refetches.
    id: String,
    /// UID of the series in the published iCalendar.
    uid: String,
    source: String,
    source_name: String,
    /// `null` when the source gave no title.
    title: Option<String>,
    description: Option<String>,
    /// RFC 3339 with the event zone's offset, or a date for all-day occurrences.
    start: String,
    /// As `start`; exclusive for all-day occurrences.
    end: String,
    all_day: bool,
    /// IANA time zone name.
    timezone: String,
    location: Option<String>,
    geo: Option<GeoDoc>,
    categories: Vec<String>,
    url: Option<String>,
    #[schema(pattern = "^(confirmed|tentative|cancelled|postponed)$")]
    status: String,
    recurring: bool,
    license: Option<String>,
    attribution: Option<String>,
    /// Postal address (`street`, `postal_code`, `locality`, `region`, `country`).
    address: Option<serde_json::Value>,
    /// `name`, `url`, `email`.
    organizer: Option<serde_json::Value>,
    image: Option<String>,
    /// Ticket offers (`name`, `price`, `currency`, `url`).
    offers: Vec<serde_json::Value>,
    free: Option<bool>,
    language: Option<String>,
    #[schema(pattern = "^(offline|online|mixed)$")]
    attendance: String,
    online_url: Option<String>,
    /// The registry venue the location was matched to (`id`, `name`, `address`, `geo`,
    /// `accessibility`, `url`, `match`: exact, text, address or proximity).
    venue: Option<serde_json::Value>,
    /// The district the coordinates fall in.
    district: Option<String>,
    /// Present (true) only when the event is outside the configured region.
    outside_region: Option<bool>,
    /// Public-transport stops within walking distance (`stop_id`, `name`, `distance_m`,
    /// `walk_min`, `lines` with `short_name` and `mode`), nearest first.
    transit: Vec<serde_json::Value>,
    /// Bike-sharing stations within walking distance (`station_id`, `name`, `distance_m`,
    /// `walk_min`, `capacity`).
    bike: Vec<serde_json::Value>,
    /// Last departure from the nearest stop after the event ends (`stop`, `time`, `line`, `mode`).
    last_departure: Option<serde_json::Value>,
    /// Journey-planner link to the venue for this occurrence.
    journey_url: Option<String>,
    /// Every source that announces this event (more than one when merged), publisher first.
    sources: Vec<SourceRef>,
    /// Detail only (`/api/v1/events/{id}`) and only for merged events: field name -> id of the
    /// source that gave it.
    provenance: Option<std::collections::BTreeMap<String, String>>,
}

/// One source's announcement of an event.
#[derive(ToSchema)]
pub struct SourceRef {
    source: String,
    name: String,
    /// The id this announcement has on its own (redirects to the merged event).
    id: String,
    url: Option<String>,
    license: Option<String>,
    attribution: Option<String>,
}

/// One category of the vocabulary.
#[derive(ToSchema)]
pub struct CategoryDoc {
    id: String,
    /// German label.
    de: String,
    /// English label.
    en: String,
    /// Published occurrences with this category.
    events: usize,
}

/// `/api/v1/categories`.
#[derive(ToSchema)]
pub struct CategoriesList {
    categories: Vec<CategoryDoc>,
}

/// A page of occurrences.
#[derive(ToSchema)]
pub struct EventsPage {
    events: Vec<Event>,
    /// Cursor for the next page; absent on the last page.
    next: Option<String>,
}

/// A source and its fetch state.
#[derive(ToSchema)]
pub struct Source {
    id: String,
    name: String,
    /// The feed URL without credentials (empty for push-only sources).
    url: String,
    schedule: String,
    license: Option<String>,
    attribution: Option<String>,
    #[schema(pattern = "^(pending|ok|degraded|failing|suspect)$")]
    health: String,
    last_fetch: Option<String>,
    last_success: Option<String>,
    next_run: Option<String>,
    /// Failures in a row.
    error_count: u32,
    last_error: Option<String>,
    event_count: u32,
    /// Warnings of the last successful parse (skipped events, repairs, unknown TZIDs).
    warnings: u32,
    /// The first 20 of those warnings, as text.
    warning_texts: Vec<String>,
    /// Occurrences of this source merged into another source's event.
    merged_into_others: usize,
}

/// `/api/v1/sources`.
#[derive(ToSchema)]
pub struct SourcesList {
    sources: Vec<Source>,
}

/// `/healthz`.
#[derive(ToSchema)]
#[schema(as = Health)]
pub struct HealthDoc {
    /// `ok`, or `degraded` while the store does not answer.
    status: String,
    /// This process (`host:pid:nonce`); instances sharing a database differ here.
    instance: String,
    store: StoreHealthDoc,
    sources: u32,
    sources_failing: u32,
    events: u32,
    last_modified: String,
}

/// The store as `/healthz` sees it.
#[derive(ToSchema)]
#[schema(as = StoreHealth)]
pub struct StoreHealthDoc {
    /// `sqlite` or `postgres`.
    backend: String,
    /// `ok` or `unreachable`.
    status: String,
    /// Since when it is unreachable (RFC 3339).
    since: Option<String>,
    /// The first error since then.
    error: Option<String>,
}

/// Every error answer.
#[derive(ToSchema)]
pub struct ErrorBody {
    error: String,
    /// The query parameter at fault, if any.
    parameter: Option<String>,
}

/// One invalid field of a pushed event.
#[derive(ToSchema)]
pub struct FieldError {
    /// Field name; `[i].field` for the i-th event of an array.
    field: String,
    message: String,
}

/// 422 answer of the push API.
#[derive(ToSchema)]
pub struct ValidationError {
    error: String,
    parameter: Option<String>,
    fields: Option<Vec<FieldError>>,
    /// Why events were dropped, when none was usable.
    warnings: Option<Vec<String>>,
}

/// A pushed event, in the read API's shape.
#[derive(ToSchema)]
pub struct PushEvent {
    /// The actor's own stable id (1-200 characters); taken from the URL on PUT.
    id: String,
    title: String,
    description: Option<String>,
    /// `YYYY-MM-DDTHH:MM[:SS]` with or without offset, or a date if `all_day`.
    start: String,
    end: Option<String>,
    all_day: Option<bool>,
    /// IANA zone for times without offset (default: the calendar's zone).
    timezone: Option<String>,
    location: Option<String>,
    geo: Option<GeoDoc>,
    categories: Option<Vec<String>>,
    /// http(s) only.
    url: Option<String>,
    #[schema(pattern = "^(confirmed|tentative|cancelled|postponed)$")]
    status: Option<String>,
    image: Option<String>,
}

/// One event or up to 1000.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum PushBody {
    One(Box<PushEvent>),
    Many(Vec<PushEvent>),
}

/// 200/201 answer of the push API.
#[derive(ToSchema)]
pub struct PushResult {
    source: String,
    /// External ids written.
    ids: Vec<String>,
    inserted: u32,
    updated: u32,
    unchanged: u32,
    warnings: Vec<String>,
}

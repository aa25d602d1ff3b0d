//! The push API: actors without a feed submit their own events.
//!
//! * `POST /api/v1/push/{source}/events`: one event or an array (JSON in the read API's shape,
//!   with `id` as the actor's external id), or an iCalendar / JSON-LD body;
//! * `PUT /api/v1/push/{source}/events/{external_id}`: create or replace one event (JSON);
//! * `DELETE /api/v1/push/{source}/events/{external_id}`.
//!
//! Writes are idempotent by external id (the event's UID in the store). Requests carry
//! `Authorization: Bearer <token>`; the token's SHA-256 is compared in constant time with the
//! digests in `[[actor]]` (the config never holds tokens). A missing, unknown or revoked token
//! gets the same 401; a token for another actor's source gets 403. Bodies are limited to
//! [`MAX_BODY`] (413), each actor to [`RATE_PER_SECOND`] requests per second with a burst of
//! [`RATE_BURST`] (429 with `Retry-After`), and a 2xx is only sent after the transaction
//! committed. Pushed events go through the same normalisation as fetched ones.

use super::AppState;
use super::http::ApiError;
use crate::config::{ActorConfig, Config, FormatChoice};
use crate::format::{self, ParseContext, datetime};
use crate::model::{Event, EventTime, Geo, Status};
use crate::normalize::{self, NormalizeOptions};
use crate::store::Store;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::num::NonZeroU32;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;
/// Most events in one POST.
pub const MAX_EVENTS: usize = 1000;
/// Sustained requests per second per actor.
pub const RATE_PER_SECOND: u32 = 10;
/// Burst of requests per actor.
pub const RATE_BURST: u32 = 20;

/// Per-actor rate limiter.
pub type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

/// A limiter with the push API's quota.
pub fn limiter() -> Limiter {
    let per_second = NonZeroU32::new(RATE_PER_SECOND).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(RATE_BURST).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/push/{source}/events", post(create))
        .route(
            "/api/v1/push/{source}/events/{external_id}",
            put(replace).delete(remove),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A new random token (shown once) and its digest for the config.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = format!("rc_{}", hex::encode(bytes));
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    Ok((token, digest))
}

/// The actor a request's bearer token belongs to, allowed to write `source`.
fn authorize<'a>(
    cfg: &'a Config,
    headers: &HeaderMap,
    source: &str,
) -> Result<&'a ActorConfig, ApiError> {
    let unauthorized = || {
        ApiError::new(StatusCode::UNAUTHORIZED, "missing or invalid token")
            .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"regiocal\"")
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or_default();
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    // Compare with every actor, without an early exit, so timing does not tell how far a
    // guess got.
    let mut found = None;
    for actor in &cfg.actors {
        if bool::from(actor.token_sha256.ct_eq(&digest)) && !token.is_empty() {
            found = Some(actor);
        }
    }
    let actor = found.ok_or_else(unauthorized)?;
    if !actor.sources.iter().any(|s| s == source) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this token may not write source {source:?}"),
        ));
    }
    Ok(actor)
}

fn rate_limit(limiter: &Limiter, actor: &ActorConfig) -> Result<(), ApiError> {
    limiter.check_key(&actor.id).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too many requests")
            .with_header(header::RETRY_AFTER, secs.max(1).to_string())
    })
}

/// A JSON request body, or 400 naming the position of the syntax error.
fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "invalid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// 422 with field errors.
fn invalid(fields: Vec<(String, String)>) -> ApiError {
    let list: Vec<Value> = fields
        .into_iter()
        .map(|(f, m)| json!({"field": f, "message": m}))
        .collect();
    ApiError {
        details: Some(("fields", Value::Array(list))),
        ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation failed")
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/push/{source}/events",
    tag = "push",
    params(("source" = String, Path, description = "A source the actor owns")),
    request_body(
        description = "One event or an array in the read API's shape, or a calendar (iCalendar, JSON-LD)",
        content(
            (super::openapi::PushBody = "application/json"),
            (String = "text/calendar"),
            (String = "application/ld+json"),
        )
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Committed; at least one event is new", body = super::openapi::PushResult),
        (status = 200, description = "Committed; every event existed already", body = super::openapi::PushResult),
        (status = 400, description = "Malformed JSON", body = super::openapi::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked token (always the same answer)", body = super::openapi::ErrorBody),
        (status = 403, description = "The token's actor does not own this source", body = super::openapi::ErrorBody),
        (status = 413, description = "Body over 1 MiB (or over 1000 events)", body = super::openapi::ErrorBody),
        (status = 422, description = "Validation failed; every invalid field is named", body = super::openapi::ValidationError),
        (status = 429, description = "Over 10 requests per second (burst 20) for this actor", body = super::openapi::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Store busy; nothing was written", body = super::openapi::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn create(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cfg = state.app.config.clone();
    let actor = authorize(&cfg, &headers, &source)?;
    rate_limit(&state.limiter, actor)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (events, mut warnings) = if content_type.starts_with("application/json") {
        let value = json_body(&body)?;
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        if items.len() > MAX_EVENTS {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("at most {MAX_EVENTS} events per request"),
            ));
        }
        let mut events = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let prefix = if items.len() > 1 {
                format!("[{i}].")
            } else {
                String::new()
            };
            match event_from_json(item, None, cfg.calendar.timezone) {
                Ok(ev) => events.push(ev),
                Err(fields) => {
                    errors.extend(fields.into_iter().map(|(f, m)| (format!("{prefix}{f}"), m)))
                }
            }
        }
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        (events, Vec::new())
    } else {
        let ctx = ParseContext::new(cfg.calendar.timezone);
        let (_, parsed) = format::parse(&body, FormatChoice::Auto, Some(content_type), &ctx)
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        (parsed.events, parsed.warnings)
    };
    store_events(&state, &source, events, &mut warnings).await
}

#[utoipa::path(
    put,
    path = "/api/v1/push/{source}/events/{external_id}",
    tag = "push",
    params(
        ("source" = String, Path, description = "A source the actor owns"),
        ("external_id" = String, Path, description = "The actor's own id of the event"),
    ),
    request_body(content = super::openapi::PushEvent, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = super::openapi::PushResult),
        (status = 200, description = "Replaced or unchanged", body = super::openapi::PushResult),
        (status = 400, description = "Malformed JSON", body = super::openapi::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked token (always the same answer)", body = super::openapi::ErrorBody),
        (status = 403, description = "The token's actor does not own this source", body = super::openapi::ErrorBody),
        (status = 413, description = "Body over 1 MiB (or over 1000 events)", body = super::openapi::ErrorBody),
        (status = 422, description = "Validation failed; every invalid field is named", body = super::openapi::ValidationError),
        (status = 429, description = "Over 10 requests per second (burst 20) for this actor", body = super::openapi::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Store busy; nothing was written", body = super::openapi::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn replace(
    State(state): State<AppState>,
    Path((source, external_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cfg = state.app.config.clone();
    let actor = authorize(&cfg, &headers, &source)?;
    rate_limit(&state.limiter, actor)?;
    let value = json_body(&body)?;
    let event =
        event_from_json(&value, Some(&external_id), cfg.calendar.timezone).map_err(invalid)?;
    store_events(&state, &source, vec![event], &mut Vec::new()).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/push/{source}/events/{external_id}",
    tag = "push",
    params(
        ("source" = String, Path, description = "A source the actor owns"),
        ("external_id" = String, Path, description = "The actor's own id of the event"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such event in this source", body = super::openapi::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked token (always the same answer)", body = super::openapi::ErrorBody),
        (status = 403, description = "The token's actor does not own this source", body = super::openapi::ErrorBody),
        (status = 413, description = "Body over 1 MiB (or over 1000 events)", body = super::openapi::ErrorBody),
        (status = 422, description = "Validation failed; every invalid field is named", body = super::openapi::ValidationError),
        (status = 429, description = "Over 10 requests per second (burst 20) for this actor", body = super::openapi::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Store busy; nothing was written", body = super::openapi::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
async fn remove(
    State(state): State<AppState>,
    Path((source, external_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cfg = state.app.config.clone();
    let actor = authorize(&cfg, &headers, &source)?;
    rate_limit(&state.limiter, actor)?;
    let deleted = state
        .app
        .store
        .delete_event(&source, &external_id, crate::clock::now())
        .await
        .map_err(unavailable)?;
    if !deleted {
        return Err(ApiError::not_found(format!(
            "no event with id {external_id:?} in source {source:?}"
        )));
    }
    state.rebuild.notify_one();
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn unavailable(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "Push could not be stored.");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the store is busy or unavailable; try again",
    )
    .with_header(header::RETRY_AFTER, "5")
}

async fn store_events(
    state: &AppState,
    source: &str,
    events: Vec<Event>,
    warnings: &mut Vec<String>,
) -> Result<Response, ApiError> {
    let cfg = &state.app.config;
    let (events, mut more) =
        normalize::normalize(events, &NormalizeOptions::for_source(cfg, source));
    warnings.append(&mut more);
    if events.is_empty() {
        return Err(ApiError {
            details: Some(("warnings", json!(warnings))),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no usable event in the request",
            )
        });
    }
    let stats = state
        .app
        .store
        .upsert_events(source, &events, crate::clock::now())
        .await
        .map_err(unavailable)?;
    state.rebuild.notify_one();
    let ids: Vec<&str> = events.iter().map(|e| e.uid.as_str()).collect();
    let status = if stats.inserted > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = json!({
        "source": source,
        "ids": ids,
        "inserted": stats.inserted,
        "updated": stats.updated,
        "unchanged": stats.unchanged,
        "warnings": warnings,
    });
    Ok((
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

/// Fields of the read API that a client may send back but that the server sets itself.
const READ_ONLY: &[&str] = &[
    "uid",
    "source",
    "source_name",
    "recurring",
    "license",
    "attribution",
    "free",
    "attendance",
];

/// Validates a pushed event in the read API's shape; every problem becomes a field error.
pub fn event_from_json(
    value: &Value,
    path_id: Option<&str>,
    default_tz: chrono_tz::Tz,
) -> Result<Event, Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let Some(obj) = value.as_object() else {
        return Err(vec![("".into(), "must be a JSON object".into())]);
    };
    let known = [
        "id",
        "title",
        "description",
        "start",
        "end",
        "all_day",
        "timezone",
        "location",
        "geo",
        "categories",
        "url",
        "status",
        "image",
    ];
    for key in obj.keys() {
        if !known.contains(&key.as_str()) && !READ_ONLY.contains(&key.as_str()) {
            errors.push((key.clone(), "unknown field".into()));
        }
    }
    let text = |key: &str, errors: &mut Vec<(String, String)>| -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.push((key.into(), "must be a string".into()));
                None
            }
        }
    };
    let id = match (obj.get("id"), path_id) {
        (Some(Value::String(s)), Some(p)) if s != p => {
            errors.push((
                "id".into(),
                format!("does not match the id in the URL ({p:?})"),
            ));
            None
        }
        (_, Some(p)) => Some(p.to_string()),
        (Some(Value::String(s)), None) => Some(s.clone()),
        (Some(Value::Number(n)), None) => Some(n.to_string()),
        (_, None) => {
            errors.push((
                "id".into(),
                "required: your own stable id for this event".into(),
            ));
            None
        }
    };
    if let Some(id) = &id
        && (id.is_empty() || id.len() > 200 || id.chars().any(char::is_control))
    {
        errors.push((
            "id".into(),
            "must be 1-200 characters without control characters".into(),
        ));
    }
    let title = text("title", &mut errors).filter(|t| !t.trim().is_empty());
    if title.is_none() && !errors.iter().any(|(f, _)| f == "title") {
        errors.push(("title".into(), "required".into()));
    }
    let tz = match text("timezone", &mut errors) {
        Some(name) => name.parse().unwrap_or_else(|_| {
            errors.push((
                "timezone".into(),
                format!("unknown IANA time zone {name:?}"),
            ));
            default_tz
        }),
        None => default_tz,
    };
    let all_day = match obj.get("all_day") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(("all_day".into(), "must be true or false".into()));
            None
        }
    };
    let time = |key: &str, errors: &mut Vec<(String, String)>| -> Option<EventTime> {
        let raw = text(key, errors)?;
        match datetime::parse_iso(&raw, tz) {
            Ok(t) if all_day == Some(true) && !t.is_date() => {
                errors.push((key.into(), "all_day events take dates (YYYY-MM-DD)".into()));
                None
            }
            Ok(t) => Some(t),
            Err(m) => {
                errors.push((key.into(), m));
                None
            }
        }
    };
    let start = time("start", &mut errors);
    if start.is_none() && !errors.iter().any(|(f, _)| f == "start") {
        errors.push(("start".into(), "required".into()));
    }
    let end = time("end", &mut errors);
    if let (Some(s), Some(e)) = (start, end) {
        if s.is_date() != e.is_date() {
            errors.push((
                "end".into(),
                "must be a date when start is a date, and a time when start is a time".into(),
            ));
        } else if e.to_utc(tz) < s.to_utc(tz) {
            errors.push(("end".into(), "is before start".into()));
        }
    }
    let status = match text("status", &mut errors).as_deref() {
        None | Some("confirmed") => Status::Confirmed,
        Some("tentative") => Status::Tentative,
        Some("cancelled") => Status::Cancelled,
        Some("postponed") => Status::Postponed,
        Some(other) => {
            errors.push((
                "status".into(),
                format!("{other:?} is not one of confirmed, tentative, cancelled, postponed"),
            ));
            Status::Confirmed
        }
    };
    let geo = match obj.get("geo") {
        None | Some(Value::Null) => None,
        Some(Value::Object(g)) => match (
            g.get("lat").and_then(Value::as_f64),
            g.get("lon").and_then(Value::as_f64),
        ) {
            (Some(lat), Some(lon)) => Geo::new(lat, lon).or_else(|| {
                errors.push(("geo".into(), "lat must be -90..90 and lon -180..180".into()));
                None
            }),
            _ => {
                errors.push((
                    "geo".into(),
                    "must be {\"lat\": number, \"lon\": number}".into(),
                ));
                None
            }
        },
        Some(_) => {
            errors.push(("geo".into(), "must be an object".into()));
            None
        }
    };
    let categories = match obj.get("categories") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            errors.push(("categories".into(), "must be an array of strings".into()));
            Vec::new()
        }
    };
    let url = text("url", &mut errors);
    if let Some(u) = &url
        && crate::normalize::text::http_url(u).is_none()
    {
        errors.push(("url".into(), "must be an absolute http(s) URL".into()));
    }
    let description = text("description", &mut errors);
    let location = text("location", &mut errors);
    let image = text("image", &mut errors);
    let (Some(id), Some(title), Some(start), true) = (id, title, start, errors.is_empty()) else {
        return Err(errors);
    };
    let end = end.unwrap_or_else(|| datetime::default_end(&start));
    Ok(Event {
        description,
        location,
        geo,
        url,
        categories,
        status,
        image,
        ..Event::new(id, title, start, end)
    })
}

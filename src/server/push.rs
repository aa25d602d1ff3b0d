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
//! gets the same 401; a token for another actor's source gets 403. The token is checked from
//! the headers before a byte of the body is read; then the body must arrive within
//! [`BODY_TIMEOUT`] (408) and is limited to [`MAX_BODY`] (413), its media type to
//! `application/json` and [`DOCUMENT_TYPES`] (415), each actor to [`RATE_PER_SECOND`] requests per second with a burst of
//! [`RATE_BURST`] (429 with `Retry-After`), and a 2xx is only sent after the transaction
//! committed. A pushed body goes through the same door into the pipeline as a fetched one
//! ([`crate::ingest::read_pushed`]): the same parsers and the same normalisation.

use super::AppState;
use crate::format::FormatError;
use crate::http::ApiError;
use crate::ingest::Pushed;
use crate::model::Event;
use crate::store::Store;
use axum::Router;
use axum::body::{Body, Bytes};
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

/// An actor that submits events through the push API.
#[derive(Debug, Clone)]
pub struct ActorConfig {
    pub id: String,
    pub name: String,
    /// The (push-only) sources this actor may write.
    pub sources: Vec<String>,
    /// SHA-256 of the actor's bearer token (never the token itself).
    pub token_sha256: [u8; 32],
}

/// An `[[actor]]` as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActor {
    id: String,
    name: String,
    sources: Vec<String>,
    token_sha256: String,
}

impl RawActor {
    /// Validates the `[[actor]]` entries against the sources: ids unique, digests well
    /// formed and unique (a shared token would belong to whichever actor came last), and
    /// every source named a push-only one.
    pub fn build_all(
        raw: Vec<RawActor>,
        sources: &[crate::ingest::SourceConfig],
    ) -> Result<Vec<ActorConfig>, crate::settings::SettingError> {
        use crate::fetch::SourceLocation;
        let mut actors = Vec::with_capacity(raw.len());
        let mut ids = std::collections::HashSet::new();
        for a in raw {
            let bad = |key: &str, message: String| {
                crate::settings::SettingError::new(format!("actor \"{}\": {key}", a.id), message)
            };
            if a.id.is_empty() || !ids.insert(a.id.clone()) {
                return Err(bad("id", "must be set and unique".into()));
            }
            let digest = decode_sha256(&a.token_sha256).ok_or_else(|| {
                bad(
                    "token_sha256",
                    "must be 64 hex characters (run `regiocal token new --actor ID`)".into(),
                )
            })?;
            for sid in &a.sources {
                match sources.iter().find(|s| &s.id == sid) {
                    None => return Err(bad("sources", format!("no source with id {sid:?}"))),
                    Some(s) if s.location != SourceLocation::Push => {
                        return Err(bad(
                            "sources",
                            format!(
                                "source {sid:?} has a url; actors can only own push-only sources (without url)"
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            if let Some(other) = actors
                .iter()
                .find(|o: &&ActorConfig| bool::from(o.token_sha256.ct_eq(&digest)))
            {
                return Err(bad(
                    "token_sha256",
                    format!(
                        "is the same as actor {:?}'s: every actor needs a token of its own",
                        other.id
                    ),
                ));
            }
            actors.push(ActorConfig {
                id: a.id,
                name: a.name,
                sources: a.sources,
                token_sha256: digest,
            });
        }
        Ok(actors)
    }
}

/// 32 bytes from 64 hex characters.
fn decode_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;
/// Most events in one POST (any body type).
pub const MAX_EVENTS: usize = crate::format::push::MAX_EVENTS;
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
        // The handlers read the body themselves, after the token was checked.
        .layer(DefaultBodyLimit::disable())
}

/// Push bodies read at the same time.
pub const BODIES_AT_ONCE: usize = 16;
static BODIES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(BODIES_AT_ONCE);

/// Time a client has to send its whole body once the token was accepted.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Reads the body of an authorised request: at most [`MAX_BODY`] bytes (413 at once when
/// `Content-Length` says more, else as soon as more arrived) within [`BODY_TIMEOUT`] (408).
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes", MAX_BODY),
        )
        .with_header(header::CONNECTION, "close")
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    // A few bodies are read at a time, so uploads cost at most that many times MAX_BODY of
    // memory however many clients send at once (the wait counts against the deadline).
    let read = async {
        let _permit = BODIES.acquire().await;
        axum::body::to_bytes(body, MAX_BODY).await
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        )
        .with_header(header::CONNECTION, "close")),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let limited = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if limited {
                Err(too_large())
            } else {
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the body could not be read: {e}"),
                )
                .with_header(header::CONNECTION, "close"))
            }
        }
    }
}

/// The media types a push body may have besides `application/json` (the push JSON); a
/// body without `Content-Type` is recognised by its first characters.
pub const DOCUMENT_TYPES: &[&str] = &[
    "text/calendar",
    "application/calendar+json",
    "application/calendar+xml",
    "application/ld+json",
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "text/html",
];

/// The body as the pipeline takes it, by its media type (415 for one not accepted).
fn pushed<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Result<Pushed<'a>, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Pushed::Document {
            bytes: body,
            content_type: None,
        });
    };
    let essence = crate::text::media_type(value.to_str().unwrap_or("\u{fffd}"));
    if essence == "application/json" {
        return Ok(Pushed::Json {
            bytes: body,
            id: None,
        });
    }
    if DOCUMENT_TYPES.contains(&essence.as_str()) {
        return Ok(Pushed::Document {
            bytes: body,
            content_type: value.to_str().ok(),
        });
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "Content-Type {essence:?} is not accepted; use application/json or one of {}",
            DOCUMENT_TYPES.join(", ")
        ),
    ))
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
    cfg: &'a super::Settings,
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
    for actor in cfg.actors.iter() {
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

/// The answer to a body the pipeline refused: 400 for malformed JSON (naming the position),
/// 413 for too many events, 422 with every invalid field, else 422 with the reason.
fn refused(e: FormatError) -> ApiError {
    match e {
        FormatError::Json {
            line,
            column,
            message,
            ..
        } => ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON at line {line}, column {column}: {message}"),
        ),
        FormatError::TooManyEvents { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {limit} events per request"),
        ),
        FormatError::Fields(fields) => invalid(fields),
        other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    }
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
    body: Body,
) -> Result<Response, ApiError> {
    let actor = authorize(&state.settings, &headers, &source)?;
    rate_limit(&state.limiter, actor)?;
    // Refused before a byte of the body is read.
    pushed(&headers, &[])?;
    let body = read_body(&headers, body).await?;
    store_events(&state, &source, pushed(&headers, &body)?).await
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
    body: Body,
) -> Result<Response, ApiError> {
    let actor = authorize(&state.settings, &headers, &source)?;
    rate_limit(&state.limiter, actor)?;
    let body = read_body(&headers, body).await?;
    let body = Pushed::Json {
        bytes: &body,
        id: Some(&external_id),
    };
    store_events(&state, &source, body).await
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
    let actor = authorize(&state.settings, &headers, &source)?;
    rate_limit(&state.limiter, actor)?;
    let deleted = state
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
    body: Pushed<'_>,
) -> Result<Response, ApiError> {
    let cfg = &state.settings;
    let Some(src) = cfg.source(source) else {
        return Err(ApiError::not_found(format!("no source {source:?}")));
    };
    let (events, warnings): (Vec<Event>, Vec<String>) =
        crate::ingest::read_pushed(&cfg.calendar, &cfg.categories, src, body).map_err(refused)?;
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

//! The HTTP metrics: every request counted and timed by matched route and status
//! (`regiocal_http_requests_total`, `regiocal_http_request_duration_seconds`), push requests
//! also per source and result (`regiocal_push_total`).

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, histogram};
use std::time::Instant;

/// Middleware: counts and times every request by matched route and status; push requests
/// are also counted per source and result.
pub async fn track_http(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let push_source = route
        .as_deref()
        .filter(|r| r.starts_with("/api/v1/push/"))
        .and_then(|_| req.uri().path().strip_prefix("/api/v1/push/"))
        .and_then(|rest| rest.split('/').next())
        .map(|raw| {
            // Only configured sources become labels; anything else is one bucket.
            let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            match state.settings.source(&decoded) {
                Some(s) => s.id.clone(),
                None => "unknown".to_string(),
            }
        });
    let started = Instant::now();
    let resp = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".to_string());
    let status = resp.status();
    counter!(
        "regiocal_http_requests_total",
        "route" => route.clone(),
        "status" => status.as_u16().to_string()
    )
    .increment(1);
    histogram!("regiocal_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    if let Some(source) = push_source {
        counter!("regiocal_push_total", "source" => source, "result" => push_result(status))
            .increment(1);
    }
    resp
}

/// A short name for a push API status.
fn push_result(status: StatusCode) -> &'static str {
    match status.as_u16() {
        201 => "created",
        200 => "ok",
        204 => "deleted",
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        413 => "too_large",
        415 => "unsupported",
        422 => "invalid",
        429 => "rate_limited",
        503 => "unavailable",
        _ if status.is_server_error() => "server_error",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_results() {
        assert_eq!(push_result(StatusCode::CREATED), "created");
        assert_eq!(push_result(StatusCode::TOO_MANY_REQUESTS), "rate_limited");
        assert_eq!(push_result(StatusCode::BAD_GATEWAY), "server_error");
    }
}

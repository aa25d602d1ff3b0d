//! Prometheus metrics, rendered at `GET /metrics`.
//!
//! All instrumentation lives here as small helpers that the ingest, the snapshot builder and
//! the HTTP layer call in one line each. The recorder is process-global (the `metrics` facade
//! allows exactly one); [`install`] sets it up once and later calls share the same handle, so
//! several servers in one process (tests) are fine. Histograms use fixed buckets (Prometheus
//! histograms, not summaries), so they can be aggregated across scrapes and instances.
//!
//! Label cardinality is bounded: sources are labelled by configured id (push requests for an
//! unknown source are counted as `source="unknown"`), HTTP requests by the matched route
//! template (`/api/v1/events/{id}`), never the raw URI.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `regiocal_fetch_total` | counter | `source`, `outcome` (`updated`, `unchanged`, `held_back`, `failed`, `store_error`) |
//! | `regiocal_fetch_duration_seconds` | histogram | `source` |
//! | `regiocal_source_events` | gauge | `source` |
//! | `regiocal_source_warnings` | gauge (warnings of the last successful parse) | `source` |
//! | `regiocal_source_zone_fallbacks` | gauge (times read in the calendar's zone because their TZID names no zone, last parse) | `source` |
//! | `regiocal_source_health` | gauge (1 for the current state, 0 otherwise) | `source`, `state` |
//! | `regiocal_source_error_count` | gauge (failures in a row) | `source` |
//! | `regiocal_http_requests_total` | counter | `route`, `status` |
//! | `regiocal_http_request_duration_seconds` | histogram | `route` |
//! | `regiocal_push_total` | counter | `source`, `result` |
//! | `regiocal_ingest_stage_seconds` | histogram | `stage` (`fetch`, `parse`, `normalize`, `store`) |
//! | `regiocal_feed_renders_total` | counter | `feed`, `when` (`ready`: before the swap; `on_demand`) |
//! | `regiocal_feed_render_seconds` | histogram (with hashing, and compressing for `ready`) | `feed`, `when` |
//! | `regiocal_feed_render_bytes` | histogram (uncompressed body) | `feed`, `when` |
//! | `regiocal_store_bytes` | gauge (SQLite pages; PostgreSQL tables and indexes of the schema) | — |
//! | `regiocal_snapshot_build_seconds` | histogram | — |
//! | `regiocal_snapshot_events` | gauge (occurrences in the snapshot) | — |

use crate::ingest::{IngestError, Outcome, Report};
use crate::model::Health;
use crate::output::Snapshot;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Bucket bounds in seconds, from a fast HTTP answer to a slow fetch.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How often the background task compacts histogram samples between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Errors setting up the recorder.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("invalid histogram buckets: {0}")]
    Build(#[from] metrics_exporter_prometheus::BuildError),
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the global recorder (once per process) and returns its
/// handle. If another recorder was installed first, the handle renders an empty page and a
/// warning is logged.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = match builder() {
            Ok(b) => b.build_recorder(),
            Err(e) => {
                tracing::warn!(error = %e, "Metrics buckets rejected; using summaries.");
                PrometheusBuilder::new().build_recorder()
            }
        };
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "Another metrics recorder is installed; /metrics stays empty.");
        }
        handle
    })
}

fn builder() -> Result<PrometheusBuilder, MetricsError> {
    Ok(PrometheusBuilder::new().set_buckets(BUCKETS)?)
}

/// Runs the recorder's upkeep periodically (keeps histogram memory bounded between scrapes).
pub fn spawn_upkeep() -> tokio::task::JoinHandle<()> {
    let handle = install().clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}

/// `GET /metrics`: the Prometheus text format.
pub async fn render() -> Response {
    let handle = install();
    handle.run_upkeep();
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        handle.render(),
    )
        .into_response()
}

/// Records one finished ingest of `source`.
pub fn ingest_finished(source: &str, result: &Result<Report, IngestError>, took: Duration) {
    let outcome = match result {
        Ok(r) => match r.outcome {
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::HeldBack => "held_back",
            Outcome::Failed => "failed",
        },
        Err(_) => "store_error",
    };
    counter!("regiocal_fetch_total", "source" => source.to_string(), "outcome" => outcome)
        .increment(1);
    if let Ok(r) = result
        && r.outcome == Outcome::Updated
    {
        gauge!("regiocal_source_warnings", "source" => source.to_string())
            .set(r.warnings.len() as f64);
        gauge!("regiocal_source_zone_fallbacks", "source" => source.to_string())
            .set(r.zone_fallbacks as f64);
    }
    histogram!("regiocal_fetch_duration_seconds", "source" => source.to_string())
        .record(took.as_secs_f64());
}

/// Records the time one stage of an ingest took (`fetch`, `parse`, `normalize`, `store`).
pub fn ingest_stage(stage: &'static str, took: Duration) {
    histogram!("regiocal_ingest_stage_seconds", "stage" => stage).record(took.as_secs_f64());
}

/// Records a rendering of a feed or page: `when` is `ready` (before the snapshot swap, with
/// its compressed variants) or `on_demand` (at a request).
pub fn feed_rendered(
    feed: &'static str,
    when: &'static str,
    rendered: &crate::server::cache::Rendered,
    took: Duration,
) {
    counter!("regiocal_feed_renders_total", "feed" => feed, "when" => when).increment(1);
    histogram!("regiocal_feed_render_seconds", "feed" => feed, "when" => when)
        .record(took.as_secs_f64());
    histogram!("regiocal_feed_render_bytes", "feed" => feed, "when" => when)
        .record(rendered.body.len() as f64);
}

/// Records the size of the store on disk.
pub fn store_size(bytes: i64) {
    gauge!("regiocal_store_bytes").set(bytes as f64);
}

const HEALTH_STATES: [(Health, &str); 5] = [
    (Health::Pending, "pending"),
    (Health::Ok, "ok"),
    (Health::Degraded, "degraded"),
    (Health::Failing, "failing"),
    (Health::Suspect, "suspect"),
];

/// Records a freshly built snapshot: build time, occurrences, and each source's state.
pub fn snapshot_built(snap: &Snapshot, took: Duration) {
    histogram!("regiocal_snapshot_build_seconds").record(took.as_secs_f64());
    gauge!("regiocal_snapshot_events").set(snap.rows.len() as f64);
    for s in &snap.sources {
        let id = s.id.clone();
        gauge!("regiocal_source_events", "source" => id.clone())
            .set(f64::from(s.state.event_count));
        gauge!("regiocal_source_error_count", "source" => id.clone())
            .set(f64::from(s.state.error_count));
        let health = s.state.health();
        for (state, name) in HEALTH_STATES {
            let v = if state == health { 1.0 } else { 0.0 };
            gauge!("regiocal_source_health", "source" => id.clone(), "state" => name).set(v);
        }
    }
}

/// Middleware: counts and times every request by matched route and status; push requests
/// are also counted per source and result.
pub async fn track_http(
    State(state): State<crate::server::AppState>,
    req: Request,
    next: Next,
) -> Response {
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
            match state.app.config.source(&decoded) {
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

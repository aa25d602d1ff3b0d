//! Prometheus metrics, rendered at `GET /metrics`.
//!
//! This module only installs the exporter and says what every metric means: the modules
//! that measure something record it themselves with the `metrics` crate's macros (the ingest
//! its stages and outcomes, the snapshot builder its size and the sources' health, the HTTP
//! layer its requests, the render cache its renderings). It imports nothing of the flow. The
//! recorder is process-global (the `metrics` facade allows exactly one); [`install`] sets it
//! up once and later calls share the same handle, so several servers in one process (tests)
//! are fine. Histograms use fixed buckets (Prometheus
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

use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

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
        } else {
            describe();
        }
        handle
    })
}

/// The help text of every metric (Prometheus `# HELP`).
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "regiocal_fetch_total",
        "Finished ingests of a source, by outcome."
    );
    describe_histogram!(
        "regiocal_fetch_duration_seconds",
        "Time one ingest of a source took."
    );
    describe_gauge!("regiocal_source_events", "Events stored for a source.");
    describe_gauge!(
        "regiocal_source_warnings",
        "Warnings of a source's last successful parse."
    );
    describe_gauge!(
        "regiocal_source_zone_fallbacks",
        "Times of a source's last parse read in the calendar's zone because their TZID names no zone."
    );
    describe_gauge!(
        "regiocal_source_health",
        "1 for a source's current health state."
    );
    describe_gauge!(
        "regiocal_source_error_count",
        "Failed fetches of a source in a row."
    );
    describe_counter!(
        "regiocal_http_requests_total",
        "HTTP requests, by route and status."
    );
    describe_histogram!(
        "regiocal_http_request_duration_seconds",
        "Time to answer a request."
    );
    describe_counter!(
        "regiocal_push_total",
        "Push API requests, by source and result."
    );
    describe_histogram!("regiocal_ingest_stage_seconds", "Time of one ingest stage.");
    describe_counter!(
        "regiocal_feed_renders_total",
        "Renderings of a feed or page."
    );
    describe_histogram!(
        "regiocal_feed_render_seconds",
        "Time to render a feed or page."
    );
    describe_histogram!("regiocal_feed_render_bytes", "Size of a rendered body.");
    describe_gauge!("regiocal_store_bytes", "Size of the store.");
    describe_histogram!(
        "regiocal_snapshot_build_seconds",
        "Time to build a snapshot."
    );
    describe_gauge!("regiocal_snapshot_events", "Occurrences in the snapshot.");
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

//! The HTTP API: one router per concern merged here, one shared state.
//!
//! Handlers only read the current [`Snapshot`]; ingestion swaps in a new one when the store
//! changes, so requests never wait for a fetch. [`serve`] takes a bound listener and a shutdown
//! future (tests bind `127.0.0.1:0` and pass their own).

mod api;
mod feed;
pub mod openapi;
pub mod push;
mod track;

use crate::output::Snapshot;
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub use crate::http::cache;
pub use crate::http::{
    ApiError, FILTER_PARAMETERS, MAX_QUERY_CHARS, Query, Served, SnapshotCell, parse_date,
    parse_query, rendered_response,
};

/// A snapshot with its ready feeds rendered and compressed (seconds of CPU for a large
/// calendar: run it in the background, before the swap).
pub fn prepare(snapshot: Snapshot) -> Served {
    snapshot.prepare();
    let snapshot = Arc::new(snapshot);
    let jobs = feed::ready(&snapshot)
        .into_iter()
        .chain(api::ready(&snapshot))
        .collect::<Vec<_>>();
    // One thread per feed: they are independent, and the largest one sets the time.
    let ready = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| {
                let ReadyJob { key, feed, render } = job;
                (key, scope.spawn(move || cache::render_ready(feed, render)))
            })
            .collect();
        // A render that panicked is left out: its feed then renders at the first request,
        // and the rest of the snapshot is served.
        handles
                .into_iter()
                .filter_map(|(key, h)| match h.join() {
                    Ok(rendered) => Some((key, rendered)),
                    Err(_) => {
                        tracing::error!(feed = %key, "Rendering a ready feed failed; it renders at its first request.");
                        None
                    }
                })
                .collect::<Vec<_>>()
    });
    Served {
        snapshot,
        cache: cache::RenderCache::new(ready),
    }
}

/// A feed that is rendered before its snapshot is swapped in.
struct ReadyJob {
    /// The render cache key (the one requests for it look up).
    key: String,
    /// The feed's name in metrics.
    feed: &'static str,
    render: Box<dyn FnOnce() -> String + Send>,
}

/// `[server]`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_bind")]
    pub bind: std::net::SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: default_bind(),
        }
    }
}

fn default_bind() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// Shared state of all handlers, behind one `Arc`: axum clones the state for every request
/// (and the middleware once more), so a clone is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

/// What [`AppState`] holds.
pub struct AppStateInner {
    pub snapshot: SnapshotCell,
    pub settings: Settings,
    /// The store (the push API writes to it; `/healthz` reports on it).
    pub store: Arc<crate::store::AnyStore>,
    /// Whether the store answered lately.
    pub health: Arc<crate::store::Health>,
    /// This process among several sharing the store.
    pub instance: Arc<str>,
    /// Asks for a new snapshot after a write (coalesced by the rebuild task).
    pub rebuild: Arc<tokio::sync::Notify>,
    pub limiter: push::Limiter,
}

/// What the handlers read of the configuration (the app lends it when it starts serving).
#[derive(Clone)]
pub struct Settings {
    /// The zone pushed events are read in.
    pub calendar: crate::calendar::CalendarConfig,
    /// The configured sources (push checks ownership; metrics label by them).
    pub sources: Arc<[crate::ingest::SourceConfig]>,
    pub actors: Arc<[push::ActorConfig]>,
    /// The vocabulary pushed events are normalised with.
    pub categories: crate::normalize::category::Categories,
    pub web: Arc<crate::web::WebConfig>,
}

impl Settings {
    /// The configured source with this id.
    pub fn source(&self, id: &str) -> Option<&crate::ingest::SourceConfig> {
        self.sources.iter().find(|s| s.id == id)
    }
}

impl AppState {
    pub fn new(inner: AppStateInner) -> AppState {
        AppState(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The full router.
pub fn router(state: AppState) -> Router {
    let web = if state.settings.web.enabled {
        crate::web::router().with_state(crate::web::WebState {
            snapshot: state.snapshot.clone(),
            web: state.settings.web.clone(),
        })
    } else {
        Router::new()
    };
    Router::new()
        .merge(web)
        .merge(feed::router())
        .merge(api::router())
        .merge(push::router())
        .merge(openapi::router())
        .route("/metrics", axum::routing::get(crate::metrics::render))
        .layer(axum::middleware::map_response(no_sniff))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            track::track_http,
        ))
        .with_state(state)
}

/// Every answer (feeds, JSON, errors, 304s) says `X-Content-Type-Options: nosniff`, so no
/// browser reads an answer that echoes feed or request text as HTML or script.
async fn no_sniff(mut resp: axum::response::Response) -> axum::response::Response {
    resp.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Time a client has to send the request headers (slow-loris protection).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Time in-flight requests get to finish after shutdown was requested.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves until `shutdown` resolves, then finishes in-flight requests (for at most
/// [`SHUTDOWN_GRACE`]). Unlike `axum::serve`, each connection gets hyper's timer, so the
/// header-read timeout is real: a client that dribbles its headers is disconnected.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, shutdown, DEFAULT_HEADER_READ_TIMEOUT).await
}

/// [`serve`] with a given header-read timeout.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    let app = router(state);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment, keep serving.
                        tracing::warn!(error = %e, "Accept failed.");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let (builder, watcher) = (builder.clone(), graceful.watcher());
                tokio::spawn(async move {
                    // The auto builder sniffs the protocol from the first bytes, and hyper's
                    // header timer only starts after that: a client that never sends a byte
                    // would hold its socket forever. It gets the header-read timeout too.
                    let mut first = [0u8; 1];
                    match tokio::time::timeout(header_read_timeout, stream.peek(&mut first)).await {
                        Ok(Ok(n)) if n > 0 => {}
                        _ => return,
                    }
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                    // Errors here are per connection (timeouts, resets): nothing to report.
                    let _ = watcher.watch(conn).await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("Some connections were still open after the shutdown grace period.");
    }
    Ok(())
}

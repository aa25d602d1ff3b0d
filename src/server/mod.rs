//! The HTTP API: one router per concern merged here, one shared state.
//!
//! Handlers only read the current [`Snapshot`]; ingestion swaps in a new one when the store
//! changes, so requests never wait for a fetch. [`serve`] takes a bound listener and a shutdown
//! future (tests bind `127.0.0.1:0` and pass their own).

mod api;
pub mod cache;
mod feed;
mod http;
pub mod openapi;
pub mod push;
mod track;

use crate::output::Snapshot;
use axum::Router;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;

pub use http::{
    ApiError, FILTER_PARAMETERS, MAX_QUERY_CHARS, Query, parse_date, parse_query, rendered_response,
};

/// A snapshot with its renderings: what the server swaps in after a change.
pub struct Served {
    pub snapshot: Arc<Snapshot>,
    pub cache: cache::RenderCache,
}

impl Served {
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
}

/// A feed that is rendered before its snapshot is swapped in.
struct ReadyJob {
    /// The render cache key (the one requests for it look up).
    key: String,
    /// The feed's name in metrics.
    feed: &'static str,
    render: Box<dyn FnOnce() -> String + Send>,
}

/// The current snapshot and its renderings, replaceable while requests read the old ones.
#[derive(Clone)]
pub struct SnapshotCell(Arc<RwLock<Arc<Served>>>);

impl SnapshotCell {
    /// A cell holding `served`.
    pub fn new(served: Served) -> SnapshotCell {
        SnapshotCell(Arc::new(RwLock::new(Arc::new(served))))
    }

    /// The current snapshot with its renderings.
    pub fn current(&self) -> Arc<Served> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The current snapshot.
    pub fn get(&self) -> Arc<Snapshot> {
        self.current().snapshot.clone()
    }

    /// Swaps in a snapshot with its renderings. The old ones are freed in the background
    /// (once the last request reading them is done).
    pub fn set(&self, served: Served) {
        let served = Arc::new(served);
        let old = match self.0.write() {
            Ok(mut guard) => std::mem::replace(&mut *guard, served),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), served),
        };
        crate::work::drop_in_background(old);
    }
}

/// Shared state of all handlers, behind one `Arc`: axum clones the state for every request
/// (and the middleware once more), so a clone is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

/// What [`AppState`] holds.
pub struct AppStateInner {
    pub snapshot: SnapshotCell,
    /// Config, store and client (the push API writes through it).
    pub app: crate::app::App,
    /// Asks for a new snapshot after a write (coalesced by the rebuild task).
    pub rebuild: Arc<tokio::sync::Notify>,
    pub limiter: push::Limiter,
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
    let web = if state.app.config.web.enabled {
        crate::web::router()
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

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
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: std::net::SocketAddr,
    /// Timeouts and the connection cap.
    pub limits: Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: default_bind(),
            limits: Limits::default(),
        }
    }
}

/// `[server]` as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    bind: Option<std::net::SocketAddr>,
    max_connections: Option<usize>,
    header_read_timeout: Option<String>,
    request_timeout: Option<String>,
    idle_timeout: Option<String>,
}

impl RawServer {
    pub fn build(self) -> Result<ServerConfig, crate::settings::SettingError> {
        use crate::settings::{SettingError, duration_or};
        let d = Limits::default();
        let limits = Limits {
            header_read: duration_or(
                "server.header_read_timeout",
                self.header_read_timeout.as_deref(),
                d.header_read,
            )?,
            request: duration_or(
                "server.request_timeout",
                self.request_timeout.as_deref(),
                d.request,
            )?,
            idle: duration_or("server.idle_timeout", self.idle_timeout.as_deref(), d.idle)?,
            max_connections: self.max_connections.unwrap_or(d.max_connections),
        };
        if !(1..=100_000).contains(&limits.max_connections) {
            return Err(SettingError::new(
                "server.max_connections",
                "must be between 1 and 100000",
            ));
        }
        for (key, value) in [
            ("server.header_read_timeout", limits.header_read),
            ("server.request_timeout", limits.request),
            ("server.idle_timeout", limits.idle),
        ] {
            if value < Duration::from_secs(1) {
                return Err(SettingError::new(key, "must be at least 1s"));
            }
        }
        Ok(ServerConfig {
            bind: self.bind.unwrap_or_else(default_bind),
            limits,
        })
    }
}

fn default_bind() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// What a connection may cost the server: how long it may take to send its request, how
/// long it may sit idle, and how many may be open at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a client has to send the request headers (slow-loris protection); on an HTTP/1
    /// keep-alive connection also the wait for the next request.
    pub header_read: Duration,
    /// Time a request may take until its answer starts, body upload included (408 after).
    pub request: Duration,
    /// An HTTP/2 connection without an open request is closed after this (GOAWAY), however
    /// busily the client pings it.
    pub idle: Duration,
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read: DEFAULT_HEADER_READ_TIMEOUT,
            request: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
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

/// The full router, every request under the default [`Limits::request`] deadline.
pub fn router(state: AppState) -> Router {
    router_with(state, &Limits::default())
}

/// The full router under `limits`.
pub fn router_with(state: AppState, limits: &Limits) -> Router {
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
        .layer(axum::middleware::from_fn_with_state(
            limits.request,
            deadline,
        ))
        .layer(axum::middleware::map_response(no_sniff))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            track::track_http,
        ))
        .with_state(state)
}

/// A request whose answer has not started within the deadline (a body dribbled in, a store
/// that hangs) gets 408, and its connection is closed.
async fn deadline(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut resp = axum::response::IntoResponse::into_response(ApiError::new(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                format!("the request took longer than {} s", limit.as_secs()),
            ));
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            resp
        }
    }
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
/// Time an idle connection gets to close after its GOAWAY before it is dropped.
pub const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Time in-flight requests get to finish after shutdown was requested.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves with the default [`Limits`] until `shutdown` resolves, then finishes in-flight
/// requests (for at most [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, shutdown, Limits::default()).await
}

/// [`serve`] under `limits`. Unlike `axum::serve`, each connection gets hyper's timer, so the
/// header-read timeout is real (a client that dribbles its headers is disconnected), at most
/// [`Limits::max_connections`] are served at once, and an idle HTTP/2 connection is closed.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    let app = router_with(state, &limits);
    let header_read_timeout = limits.header_read;
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .max_concurrent_streams(100);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A free slot first: at the cap, new clients wait in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
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
                let activity = Arc::new(Activity::new());
                let service = hyper_util::service::TowerToHyperService::new(Tracked {
                    inner: app.clone(),
                    activity: activity.clone(),
                });
                let builder = builder.clone();
                let mut stop = stop_rx.clone();
                let idle = limits.idle;
                tokio::spawn(async move {
                    let _slot = slot;
                    // The auto builder sniffs the protocol from the first bytes, and hyper's
                    // header timer only starts after that: a client that never sends a byte
                    // would hold its socket forever. It gets the header-read timeout too.
                    let mut first = [0u8; 1];
                    match tokio::time::timeout(header_read_timeout, stream.peek(&mut first)).await {
                        Ok(Ok(n)) if n > 0 => {}
                        _ => return,
                    }
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    let mut closing = false;
                    let mut tick = tokio::time::interval(idle / 4);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    // After an idle GOAWAY, a client that does not acknowledge it (HTTP/2
                    // waits for a PING round trip) is cut off.
                    let cut = tokio::time::sleep(Duration::from_secs(365 * 86_400));
                    tokio::pin!(cut);
                    loop {
                        tokio::select! {
                            // Errors here are per connection (timeouts, resets): nothing to
                            // report.
                            _ = conn.as_mut() => break,
                            changed = stop.changed(), if !closing => {
                                let _ = changed;
                                closing = true;
                                conn.as_mut().graceful_shutdown();
                            }
                            _ = tick.tick(), if !closing => {
                                if activity.idle_for() >= idle {
                                    closing = true;
                                    conn.as_mut().graceful_shutdown();
                                    cut.as_mut().reset(tokio::time::Instant::now() + IDLE_CLOSE_GRACE);
                                }
                            }
                            () = &mut cut => break,
                        }
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: all slots back means all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("Some connections were still open after the shutdown grace period.");
    }
    Ok(())
}

/// Requests in flight on one connection and when the last one ended.
struct Activity {
    open: std::sync::atomic::AtomicUsize,
    /// Milliseconds since `epoch` at the last request's end (or the connection's start).
    last: std::sync::atomic::AtomicU64,
    epoch: std::time::Instant,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            open: Default::default(),
            last: Default::default(),
            epoch: std::time::Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How long no request has been open (zero while one is).
    fn idle_for(&self) -> Duration {
        use std::sync::atomic::Ordering;
        if self.open.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        let now = self.now_ms();
        Duration::from_millis(now.saturating_sub(self.last.load(Ordering::Acquire)))
    }
}

/// The router as a per-connection service that keeps [`Activity`] up to date: a request
/// counts as open until its response body was sent (or dropped).
#[derive(Clone)]
struct Tracked {
    inner: Router,
    activity: Arc<Activity>,
}

/// Marks its request as ended when the response body is dropped.
struct Open(Arc<Activity>);

impl Drop for Open {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        let now = self.0.now_ms();
        self.0.last.store(now, Ordering::Release);
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl tower::Service<axum::http::Request<hyper::body::Incoming>> for Tracked {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::http::Request<hyper::body::Incoming>) -> Self::Future {
        use std::sync::atomic::Ordering;
        self.activity.open.fetch_add(1, Ordering::AcqRel);
        let open = Open(self.activity.clone());
        let mut router = self.inner.clone();
        Box::pin(async move {
            let response =
                tower::Service::call(&mut router, request.map(axum::body::Body::new)).await?;
            // The body carries the guard: the request stays open while it streams.
            let (parts, body) = response.into_parts();
            let body = axum::body::Body::new(http_body_util::BodyExt::map_frame(body, move |f| {
                let _ = &open;
                f
            }));
            Ok(axum::response::Response::from_parts(parts, body))
        })
    }
}

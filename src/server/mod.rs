//! The HTTP API: one router per concern merged here, one shared state.
//!
//! Handlers only read the current [`Snapshot`]; ingestion swaps in a new one when the store
//! changes, so requests never wait for a fetch. [`serve`] takes a bound listener and a shutdown
//! future (tests bind `127.0.0.1:0` and pass their own).

mod api;
mod feed;
mod http;
pub mod push;

use crate::output::Snapshot;
use axum::Router;
use std::future::Future;
use std::sync::{Arc, RwLock};
use tokio::net::TcpListener;

pub use http::{ApiError, parse_date};

/// The current snapshot, replaceable while requests read the old one.
#[derive(Clone)]
pub struct SnapshotCell(Arc<RwLock<Arc<Snapshot>>>);

impl SnapshotCell {
    /// A cell holding `snap`.
    pub fn new(snap: Snapshot) -> SnapshotCell {
        SnapshotCell(Arc::new(RwLock::new(Arc::new(snap))))
    }

    /// The current snapshot.
    pub fn get(&self) -> Arc<Snapshot> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the snapshot.
    pub fn set(&self, snap: Snapshot) {
        let snap = Arc::new(snap);
        match self.0.write() {
            Ok(mut guard) => *guard = snap,
            Err(poisoned) => *poisoned.into_inner() = snap,
        }
    }
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub snapshot: SnapshotCell,
    /// Config, store and client (the push API writes through it).
    pub app: crate::app::App,
    /// Asks for a new snapshot after a write (coalesced by the rebuild task).
    pub rebuild: Arc<tokio::sync::Notify>,
    pub limiter: push::Limiter,
}

/// The full router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(feed::router())
        .merge(api::router())
        .merge(push::router())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

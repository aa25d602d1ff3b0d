//! Wiring for the CLI commands: open the store, run ingests (once or on schedule), build
//! snapshots, serve, export.

use crate::clock;
use crate::config::{Config, SourceLocation};
use crate::fetch::{FetchError, Fetcher};
use crate::ingest::{self, IngestError, Outcome, Report};
use crate::output::{self, Filter, Snapshot};
use crate::server::{self, AppState, SnapshotCell};
use crate::store::{SqliteStore, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

/// Errors of the application layer.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("cannot build HTTP client: {0}")]
    Client(#[from] FetchError),
    #[error("no source with id {0:?} in the config")]
    UnknownSource(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// Output formats of `regiocal export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Ics,
    Json,
    Jsonld,
    Atom,
    Jcal,
    Xcal,
}

/// An opened configuration: config, store and HTTP client.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<SqliteStore>,
    pub fetcher: Fetcher,
}

impl App {
    /// Opens the store named in the config (creating it if missing).
    pub async fn open(mut config: Config) -> Result<App, AppError> {
        let store = SqliteStore::open_with(&config.store.path, config.store.busy_timeout).await?;
        let fetcher = Fetcher::new(&config.fetch)?;
        load_remote_bikes(&mut config, &fetcher).await;
        Ok(App {
            config: Arc::new(config),
            store: Arc::new(store),
            fetcher,
        })
    }

    /// A snapshot of the store as of now.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let started = std::time::Instant::now();
        let events = self.store.all_events().await?;
        let states = self.store.source_states().await?;
        let last = self.store.last_change().await?;
        let snap = Snapshot::build(&self.config, events, states, last, clock::now());
        crate::metrics::snapshot_built(&snap, started.elapsed());
        Ok(snap)
    }

    /// Ingests every source (or one) once, `concurrency` at a time, calling `progress` after each.
    pub async fn fetch_all(
        &self,
        only: Option<&str>,
        progress: impl Fn(&Report),
    ) -> Result<Vec<Report>, AppError> {
        let sources: Vec<_> = match only {
            Some(id) => vec![
                self.config
                    .source(id)
                    .ok_or_else(|| AppError::UnknownSource(id.to_string()))?
                    .clone(),
            ],
            None => self
                .config
                .sources
                .iter()
                .filter(|s| s.location != SourceLocation::Push)
                .cloned()
                .collect(),
        };
        let mut stream = futures_util::stream::iter(sources.into_iter().map(|s| {
            let app = self.clone();
            async move {
                ingest::ingest_source(
                    &app.config,
                    app.store.as_ref(),
                    &app.fetcher,
                    &s,
                    clock::now(),
                )
                .await
            }
        }))
        .buffer_unordered(self.config.fetch.concurrency);
        let mut reports = Vec::new();
        while let Some(r) = stream.next().await {
            let r = r?;
            progress(&r);
            reports.push(r);
        }
        reports.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(reports)
    }

    /// Renders the merged output from the store, as the server would.
    pub async fn export(&self, format: ExportFormat, filter: &Filter) -> Result<String, AppError> {
        let snap = self.snapshot().await?;
        Ok(match format {
            ExportFormat::Ics => output::ics::render(&snap, filter),
            ExportFormat::Json => {
                output::json::render_events(&snap, filter, None, None).unwrap_or_default()
            }
            ExportFormat::Jsonld => output::jsonld::render(&snap, filter),
            ExportFormat::Atom => output::atom::render(&snap, filter),
            ExportFormat::Jcal => output::jcal::render(&snap, filter),
            ExportFormat::Xcal => output::xcal::render(&snap, filter),
        })
    }

    /// Serves on `listener` and runs the scheduler until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        crate::metrics::install();
        let upkeep = crate::metrics::spawn_upkeep();
        let cell = SnapshotCell::new(self.snapshot().await?);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let scheduler = tokio::spawn(run_scheduler(self.clone(), cell.clone(), stop_rx));
        let rebuild = Arc::new(tokio::sync::Notify::new());
        let rebuilder = tokio::spawn(run_rebuilder(self.clone(), cell.clone(), rebuild.clone()));
        let state = AppState {
            snapshot: cell,
            app: self.clone(),
            rebuild,
            limiter: server::push::limiter(),
        };
        let result = server::serve(listener, state, async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
        scheduler.abort();
        rebuilder.abort();
        upkeep.abort();
        result.map_err(AppError::Serve)
    }

    /// Binds the configured address.
    pub async fn bind(&self) -> Result<TcpListener, AppError> {
        let addr = self.config.server.bind;
        TcpListener::bind(addr)
            .await
            .map_err(|source| AppError::Bind {
                addr: addr.to_string(),
                source,
            })
    }
}

/// When each source is due: its stored next run, or now if it was never fetched successfully
/// or the run is overdue (a restart then fetches only what is stale).
async fn initial_due(
    app: &App,
    now: DateTime<Utc>,
) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
    let states: HashMap<_, _> = app
        .store
        .source_states()
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    Ok(app
        .config
        .sources
        .iter()
        .filter(|s| s.location != SourceLocation::Push)
        .map(|s| {
            let due = match states.get(&s.id) {
                Some(st) if st.last_success.is_some() => st.next_run.unwrap_or(now).max(now),
                _ => now,
            };
            (s.id.clone(), due)
        })
        .collect())
}

/// Fires ingests when sources are due, at most `fetch.concurrency` at once, and swaps in a new
/// snapshot after each batch of finished ingests (and hourly, so the window moves on).
async fn run_scheduler(app: App, cell: SnapshotCell, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut due = match initial_due(&app, clock::now()).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "Cannot read source states; scheduler not started.");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(app.config.fetch.concurrency));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(String, Option<DateTime<Utc>>)>();
    let far = |now: DateTime<Utc>| now + Duration::days(3650);
    let mut last_rebuild = clock::now();
    loop {
        let now = clock::now();
        for (id, at) in due.iter_mut() {
            if *at > now {
                continue;
            }
            *at = far(now);
            let Some(source) = app.config.source(id).cloned() else {
                continue;
            };
            let (app, permits, tx) = (app.clone(), permits.clone(), done_tx.clone());
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let started = std::time::Instant::now();
                let result = ingest::ingest_source(
                    &app.config,
                    app.store.as_ref(),
                    &app.fetcher,
                    &source,
                    clock::now(),
                )
                .await;
                // The ingest stored the next run (schedule, caching hints, backoff); if the
                // store is unreachable, retry after the minimum interval.
                let next = match app.store.source_state(&source.id).await {
                    Ok(Some(st)) => st.next_run,
                    _ => None,
                }
                .or_else(|| {
                    chrono::Duration::from_std(app.config.fetch.min_interval)
                        .ok()
                        .map(|d| clock::now() + d)
                });
                match result {
                    Ok(r) => tracing::info!(
                        source = %source.id,
                        outcome = ?r.outcome,
                        events = r.events,
                        warnings = r.warnings.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "Ingest finished."
                    ),
                    Err(e) => {
                        tracing::error!(source = %source.id, error = %e, "Ingest could not be recorded.")
                    }
                }
                let _ = tx.send((source.id.clone(), next));
            });
        }
        let next_due = due.values().min().copied().unwrap_or_else(|| far(now));
        let hourly = last_rebuild + Duration::hours(1);
        let wake = next_due.min(hourly);
        let sleep = (wake - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {
                if clock::now() >= hourly {
                    rebuild(&app, &cell).await;
                    last_rebuild = clock::now();
                }
            }
            Some((id, next)) = done_rx.recv() => {
                due.insert(id, next.unwrap_or_else(|| far(clock::now())));
                while let Ok((id, next)) = done_rx.try_recv() {
                    due.insert(id, next.unwrap_or_else(|| far(clock::now())));
                }
                rebuild(&app, &cell).await;
                last_rebuild = clock::now();
            }
            _ = stop.changed() => return,
        }
    }
}

/// Rebuilds the snapshot after pushes; writes arriving within 100 ms share one rebuild.
async fn run_rebuilder(app: App, cell: SnapshotCell, wake: Arc<tokio::sync::Notify>) {
    loop {
        wake.notified().await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        rebuild(&app, &cell).await;
    }
}

async fn rebuild(app: &App, cell: &SnapshotCell) {
    match app.snapshot().await {
        Ok(snap) => cell.set(snap),
        Err(e) => {
            tracing::error!(error = %e, "Cannot rebuild the snapshot; serving the previous one.")
        }
    }
}

/// Fetches a GBFS `station_information` given as a URL (through the guarded client). A failure
/// is logged and leaves the calendar without bike stations; it never stops the app.
async fn load_remote_bikes(config: &mut Config, fetcher: &Fetcher) {
    let Some(crate::transit::GbfsLocation::Url(url)) =
        config.transit_config.as_ref().and_then(|t| t.gbfs.clone())
    else {
        return;
    };
    let stations = match url::Url::parse(&url) {
        Ok(u) => match fetcher.fetch_page(&u).await {
            Ok(body) => {
                crate::transit::parse_station_information(&body.bytes).map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(format!("invalid URL: {e}")),
    };
    match stations {
        Ok(stations) => {
            if let Some(transit) = config.transit.as_mut().and_then(std::sync::Arc::get_mut) {
                tracing::info!(stations = stations.len(), "Bike-sharing stations loaded.");
                transit.bikes = Some(crate::transit::BikeIndex::new(stations));
            }
        }
        Err(e) => tracing::warn!(url = %url, error = %e, "GBFS station information not loaded."),
    }
}

/// Whether a `fetch` run failed as a whole (every source failed).
pub fn all_failed(reports: &[Report]) -> bool {
    !reports.is_empty() && reports.iter().all(|r| r.outcome == Outcome::Failed)
}

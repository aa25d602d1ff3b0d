//! Wiring for the CLI commands: open the store, run ingests (once or on schedule), build
//! snapshots, serve, export.

use crate::clock;
use crate::config::{Config, SourceLocation};
use crate::fetch::{FetchError, Fetcher};
use crate::ingest::{self, IngestError, Outcome, Report};
use crate::output::{self, Filter, Snapshot};
use crate::server::{self, AppState, AppStateInner, Served, SnapshotCell};
use crate::store::{AnyStore, Claim, Store, StoreError};
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
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
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

impl ExportFormat {
    /// The file `regiocal export --out` writes (the name the server serves it under).
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Ics => "calendar.ics",
            ExportFormat::Json => "events.json",
            ExportFormat::Jsonld => "events.jsonld",
            ExportFormat::Atom => "feed.atom",
            ExportFormat::Jcal => "calendar.jcal",
            ExportFormat::Xcal => "calendar.xcs",
        }
    }

    /// Writes the snapshot in this format to `out`; ICS and JSON (compact) are serialised as
    /// they are written (the whole calendar can be hundreds of megabytes), the others are
    /// rendered first.
    fn write(
        self,
        snap: &Snapshot,
        filter: &Filter,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        match self {
            // Without a cursor the page cannot be refused.
            ExportFormat::Json => output::json::write_events(snap, filter, out),
            ExportFormat::Ics => output::ics::write(snap, filter, out),
            _ => out.write_all(self.render(snap, filter).as_bytes()),
        }
    }

    /// Writes `dir/<file name>` through a temporary file renamed into place.
    fn write_file(
        self,
        snap: &Snapshot,
        filter: &Filter,
        dir: &std::path::Path,
    ) -> Result<(std::path::PathBuf, u64), AppError> {
        use std::io::Write;
        let path = dir.join(self.file_name());
        let tmp = dir.join(format!(".{}.tmp", self.file_name()));
        let file = std::fs::File::create(&tmp).map_err(|e| write_error(&tmp, e))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        self.write(snap, filter, &mut out)
            .and_then(|()| out.flush())
            .map_err(|e| write_error(&tmp, e))?;
        let size = std::fs::metadata(&tmp)
            .map_err(|e| write_error(&tmp, e))?
            .len();
        std::fs::rename(&tmp, &path).map_err(|e| write_error(&path, e))?;
        Ok((path, size))
    }

    /// Renders the snapshot in this format (JSON: every matching occurrence, unpaged).
    fn render(self, snap: &Snapshot, filter: &Filter) -> String {
        match self {
            ExportFormat::Ics => output::ics::render(snap, filter),
            ExportFormat::Json => {
                output::json::render_events(snap, filter, None, None).unwrap_or_default()
            }
            ExportFormat::Jsonld => output::jsonld::render(snap, filter),
            ExportFormat::Atom => output::atom::render(snap, filter),
            ExportFormat::Jcal => output::jcal::render(snap, filter),
            ExportFormat::Xcal => output::xcal::render(snap, filter),
        }
    }
}

fn write_error(path: &std::path::Path, source: std::io::Error) -> AppError {
    AppError::Write {
        path: path.display().to_string(),
        source,
    }
}

/// An opened configuration: config, store and HTTP client.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Arc<AnyStore>,
    pub fetcher: Fetcher,
    /// This process among several sharing the store (`host:pid:nonce`): the holder of the
    /// fetch leases it takes.
    pub instance: Arc<str>,
    /// Whether the store answered lately (`/healthz` says degraded when not).
    pub health: Arc<crate::store::Health>,
}

/// A name for this process that differs from every other instance's.
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "regiocal".to_string());
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{host}:{}:{nonce:08x}", std::process::id())
}

impl App {
    /// Opens the store named in the config (creating it if missing).
    pub async fn open(config: Config) -> Result<App, AppError> {
        let store = AnyStore::open(&config.store).await?;
        App::with_store(config, store).await
    }

    /// Like [`App::open`], but waits for the store: while it cannot be opened (a database
    /// server that is still starting), retries with backoff (1 s doubling to 30 s), logging
    /// each failure. For `serve`, which should come up with its database.
    pub async fn open_waiting(config: Config) -> Result<App, AppError> {
        let mut delay = std::time::Duration::from_secs(1);
        loop {
            match AnyStore::open(&config.store).await {
                Ok(store) => return App::with_store(config, store).await,
                Err(e @ StoreError::Migrate(_)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = delay.as_secs(), "Cannot open the store; retrying.");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(30));
                }
            }
        }
    }

    /// An app on an opened store.
    pub async fn with_store(
        mut config: Config,
        store: impl Into<AnyStore>,
    ) -> Result<App, AppError> {
        let fetcher = Fetcher::new(&config.fetch)?;
        load_remote_bikes(&mut config, &fetcher).await;
        Ok(App {
            config: Arc::new(config),
            store: Arc::new(store.into()),
            fetcher,
            instance: instance_name().into(),
            health: Arc::default(),
        })
    }

    /// A snapshot of the store as of now.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let started = std::time::Instant::now();
        // States first: an ingest that ends between the two reads then shows up in the events
        // and not yet in its source's state, never the other way round (a source reported
        // fetched whose events the snapshot lacks).
        let states = self.store.source_states().await?;
        let events = self.store.all_events().await?;
        let last = self.store.last_change().await?;
        tracing::debug!(events = events.len(), took = ?started.elapsed(), "Store read for the snapshot.");
        let config = self.config.clone();
        // Off the async workers: a rebuild of a large calendar takes seconds of CPU, and
        // requests go on being answered from the previous snapshot meanwhile.
        let snap = crate::work::background(move || {
            Snapshot::build(&config, events, states, last, clock::now())
        })
        .await;
        tracing::debug!(occurrences = snap.rows.len(), took = ?started.elapsed(), "Snapshot built.");
        snap.record_metrics(started.elapsed());
        Ok(snap)
    }

    /// A snapshot of the store with its ready feeds rendered: what `serve` swaps in.
    pub async fn served(&self) -> Result<Served, StoreError> {
        let snap = self.snapshot().await?;
        Ok(crate::work::background(move || server::prepare(snap)).await)
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
        let filter = filter.clone();
        Ok(crate::work::background(move || format.render(&snap, &filter)).await)
    }

    /// Writes several formats from one snapshot into `dir` (created if missing), each on a
    /// thread of its own and each file replaced atomically (written next to it, then renamed),
    /// so a web server publishing the folder never serves half a file. Returns the files
    /// written with their sizes.
    pub async fn export_to_dir(
        &self,
        formats: &[ExportFormat],
        filter: &Filter,
        dir: &std::path::Path,
    ) -> Result<Vec<(std::path::PathBuf, u64)>, AppError> {
        std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
        let snap = self.snapshot().await?;
        // A format named twice is written once (two writers would share its temporary file).
        let mut formats = formats.to_vec();
        formats.sort_by_key(|f| f.file_name());
        formats.dedup();
        let (filter, dir) = (filter.clone(), dir.to_path_buf());
        crate::work::background(move || {
            let written = std::thread::scope(|scope| {
                let handles: Vec<_> = formats
                    .iter()
                    .map(|&f| {
                        let (snap, filter, dir) = (&snap, &filter, &dir);
                        scope.spawn(move || f.write_file(snap, filter, dir))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect::<Result<Vec<_>, _>>()
            });
            // Freeing a large snapshot takes a while; the caller need not wait for it.
            crate::work::drop_in_background(snap);
            written
        })
        .await
    }

    /// Writes one format to stdout.
    pub async fn export_to_stdout(
        &self,
        format: ExportFormat,
        filter: &Filter,
    ) -> Result<(), AppError> {
        let snap = self.snapshot().await?;
        let filter = filter.clone();
        crate::work::background(move || {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = format
                .write(&snap, &filter, &mut out)
                .and_then(|()| std::io::Write::flush(&mut out));
            crate::work::drop_in_background(snap);
            written.map_err(|e| write_error(std::path::Path::new("stdout"), e))
        })
        .await
    }

    /// Serves on `listener` and runs the scheduler until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        crate::metrics::install();
        let upkeep = crate::metrics::spawn_upkeep();
        let version = self.store.version().await?;
        let snaps = Snapshots {
            cell: SnapshotCell::new(self.served().await?),
            built: Arc::new(std::sync::atomic::AtomicI64::new(version)),
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let scheduler = tokio::spawn(run_scheduler(self.clone(), snaps.clone(), stop_rx));
        let rebuild = Arc::new(tokio::sync::Notify::new());
        let rebuilder = tokio::spawn(run_rebuilder(self.clone(), snaps.clone(), rebuild.clone()));
        let state = self.state(snaps.cell, rebuild);
        let limits = self.config.server.limits;
        let result = server::serve_with(
            listener,
            state,
            async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            },
            limits,
        )
        .await;
        scheduler.abort();
        rebuilder.abort();
        upkeep.abort();
        result.map_err(AppError::Serve)
    }

    /// The server's state over this app: the snapshot cell it serves, and the notifier that
    /// asks for a rebuild after a push.
    pub fn state(&self, snapshot: SnapshotCell, rebuild: Arc<tokio::sync::Notify>) -> AppState {
        let c = &self.config;
        AppState::new(AppStateInner {
            snapshot,
            settings: server::Settings {
                calendar: c.calendar.clone(),
                sources: c.sources.clone().into(),
                actors: c.actors.clone().into(),
                categories: c.categories.clone(),
                web: Arc::new(c.web.clone()),
            },
            store: self.store.clone(),
            health: self.health.clone(),
            instance: self.instance.clone(),
            rebuild,
            limiter: server::push::limiter(),
        })
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
/// or the run is overdue (a restart then fetches only what is stale); with the `fetch_seq` the
/// claim for that run must name.
async fn initial_due(app: &App, now: DateTime<Utc>) -> Result<HashMap<String, Due>, StoreError> {
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
                Some(st) if st.last_success.is_some() => Due {
                    at: st.next_run.unwrap_or(now).max(now),
                    seq: st.fetch_seq,
                },
                Some(st) => Due {
                    at: now,
                    seq: st.fetch_seq,
                },
                None => Due { at: now, seq: 0 },
            };
            (s.id.clone(), due)
        })
        .collect())
}

/// The next run of a source as this instance knows it.
#[derive(Debug, Clone, Copy)]
struct Due {
    at: DateTime<Utc>,
    /// The source's `fetch_seq` when this instance last read it.
    seq: i64,
}

/// What a scheduled run of a source ended with.
struct RunDone {
    id: String,
    due: Due,
    /// Whether this instance fetched (else another one did, or holds the source).
    fetched: bool,
}

/// The next run after a claim was refused: the stored next run (another instance just did
/// this one), or the end of another instance's lease (it may die; then this one takes over).
fn due_after_refusal(
    state: Option<&crate::model::SourceState>,
    lease_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Due {
    let seq = state.map_or(0, |s| s.fetch_seq);
    let next = state.and_then(|s| s.next_run).unwrap_or(now).max(now);
    let at = match lease_until.or(state.and_then(|s| s.lease_until)) {
        Some(until) if until > now => next.max(until + Duration::seconds(1)),
        _ => next,
    };
    Due { at, seq }
}

/// One scheduled run of a source: claim it (several instances may share the store), ingest if
/// granted, release, and say when it is due next.
async fn run_source(app: App, source: crate::config::SourceConfig, due: Due) -> RunDone {
    let retry_later = |app: &App, seq: i64| Due {
        at: clock::now()
            + chrono::Duration::from_std(app.config.fetch.min_interval)
                .unwrap_or_else(|_| Duration::minutes(1)),
        seq,
    };
    let now = clock::now();
    let claim = app
        .store
        .claim(
            &source.id,
            &app.instance,
            due.seq,
            now,
            app.config.store.lease,
        )
        .await;
    match claim {
        Ok(Claim::Granted) => app.health.ok(),
        Ok(Claim::Refused { lease_until }) => {
            let state = app.store.source_state(&source.id).await;
            let due = match state {
                Ok(st) => due_after_refusal(st.as_ref(), lease_until, clock::now()),
                Err(_) => retry_later(&app, due.seq),
            };
            tracing::debug!(source = %source.id, next = %due.at, "Another instance has this run.");
            return RunDone {
                id: source.id,
                due,
                fetched: false,
            };
        }
        Err(e) => {
            app.health.failed(&e);
            tracing::warn!(source = %source.id, error = %e, "Cannot claim the source; retrying later.");
            return RunDone {
                due: retry_later(&app, due.seq),
                id: source.id,
                fetched: false,
            };
        }
    }
    let started = std::time::Instant::now();
    let result = {
        // The lease is renewed every third of its length while the ingest runs, so only a
        // dead instance loses its sources.
        let keep = keep_lease(app.clone(), source.id.clone());
        let result = ingest::ingest_source(
            &app.config,
            app.store.as_ref(),
            &app.fetcher,
            &source,
            clock::now(),
        )
        .await;
        keep.abort();
        result
    };
    if let Err(e) = app.store.release(&source.id, &app.instance).await {
        tracing::warn!(source = %source.id, error = %e, "Cannot release the source's lease; it expires.");
    }
    // The ingest stored the next run (schedule, caching hints, backoff); if the store is
    // unreachable, retry after the minimum interval.
    let claimed_seq = due.seq + 1;
    let next = match app.store.source_state(&source.id).await {
        Ok(Some(st)) => st.next_run.map(|at| Due {
            at,
            seq: st.fetch_seq,
        }),
        _ => None,
    }
    .unwrap_or_else(|| retry_later(&app, claimed_seq));
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
    RunDone {
        id: source.id,
        due: next,
        fetched: true,
    }
}

/// Renews this instance's lease on a source every third of the lease, until aborted.
fn keep_lease(app: App, source: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let lease = app.config.store.lease;
        loop {
            tokio::time::sleep(lease / 3).await;
            match app
                .store
                .renew(&source, &app.instance, clock::now(), lease)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(source = %source, "Lost the lease on the source while fetching it.");
                    return;
                }
                Err(e) => tracing::warn!(source = %source, error = %e, "Cannot renew the lease."),
            }
        }
    })
}

/// Fires ingests when sources are due, at most `fetch.concurrency` at once, and swaps in a new
/// snapshot once changes are stored (and hourly, so the window moves on).
///
/// A rebuild (store read, snapshot, ready feeds) of a large calendar costs seconds of CPU, so
/// changes are gathered: the rebuild comes when no ingest is running or waiting any more, or
/// when the first unapplied change is [`rebuild_delay`] old, whichever is first. A round of
/// 100 changed sources then costs one or a few rebuilds instead of one per finished batch.
async fn run_scheduler(app: App, snaps: Snapshots, mut stop: tokio::sync::watch::Receiver<bool>) {
    // The store may be away at start (a database restarting): wait for it.
    let mut delay = std::time::Duration::from_secs(1);
    let mut due = loop {
        match initial_due(&app, clock::now()).await {
            Ok(d) => break d,
            Err(e) => {
                app.health.failed(&e);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => return,
                }
                delay = (delay * 2).min(std::time::Duration::from_secs(30));
            }
        }
    };
    let permits = Arc::new(Semaphore::new(app.config.fetch.concurrency));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<RunDone>();
    let far = |now: DateTime<Utc>| now + Duration::days(3650);
    let mut last_rebuild = clock::now();
    // Ingests started and not reported back yet (running or waiting for a permit).
    let mut in_flight = 0usize;
    // When the first change not in the served snapshot was stored.
    let mut changed_since: Option<DateTime<Utc>> = None;
    let mut last_build_took = std::time::Duration::ZERO;
    loop {
        let now = clock::now();
        for (id, d) in due.iter_mut() {
            if d.at > now {
                continue;
            }
            let run = *d;
            d.at = far(now);
            let Some(source) = app.config.source(id).cloned() else {
                continue;
            };
            let (app, permits, tx) = (app.clone(), permits.clone(), done_tx.clone());
            in_flight += 1;
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let _ = tx.send(run_source(app, source, run).await);
            });
        }
        let next_due = due.values().map(|d| d.at).min().unwrap_or_else(|| far(now));
        let hourly = last_rebuild + Duration::hours(1);
        let rebuild_by = changed_since.map(|t| t + rebuild_delay(last_build_took));
        let wake = next_due
            .min(hourly)
            .min(rebuild_by.unwrap_or_else(|| far(now)));
        let sleep = (wake - now).to_std().unwrap_or_default();
        let rebuild_now = tokio::select! {
            _ = tokio::time::sleep(sleep) => {
                let now = clock::now();
                now >= hourly || rebuild_by.is_some_and(|t| now >= t)
            }
            Some(done) = done_rx.recv() => {
                let mut fetched = done.fetched;
                due.insert(done.id, done.due);
                in_flight = in_flight.saturating_sub(1);
                while let Ok(done) = done_rx.try_recv() {
                    fetched |= done.fetched;
                    due.insert(done.id, done.due);
                    in_flight = in_flight.saturating_sub(1);
                }
                if fetched {
                    changed_since.get_or_insert_with(clock::now);
                }
                changed_since.is_some()
                    && (in_flight == 0 || rebuild_by.is_some_and(|t| clock::now() >= t))
            }
            _ = stop.changed() => return,
        };
        if rebuild_now {
            let started = std::time::Instant::now();
            snaps.rebuild(&app).await;
            last_build_took = started.elapsed();
            last_rebuild = clock::now();
            changed_since = None;
        }
    }
}

/// How long stored changes may wait for a rebuild while ingests are still running: twice the
/// last rebuild, so rebuilding takes at most about a third of the time of a long round of
/// imports, but at least 2 s and at most a minute.
fn rebuild_delay(last_build_took: std::time::Duration) -> Duration {
    let delay = (last_build_took * 2).clamp(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(60),
    );
    Duration::from_std(delay).unwrap_or_else(|_| Duration::seconds(2))
}

/// The served snapshot and the store version it was built from.
#[derive(Clone)]
struct Snapshots {
    cell: SnapshotCell,
    built: Arc<std::sync::atomic::AtomicI64>,
}

impl Snapshots {
    /// Rebuilds from the store; on failure keeps serving the previous snapshot.
    async fn rebuild(&self, app: &App) {
        use std::sync::atomic::Ordering;
        // The version is read first: a write that lands during the build moves it on, and the
        // next poll builds again.
        let version = app.store.version().await;
        match app.served().await {
            Ok(served) => {
                self.cell.set(served);
                app.health.ok();
                if let Ok(bytes) = app.store.size_bytes().await {
                    metrics::gauge!("regiocal_store_bytes").set(bytes as f64);
                }
                if let Ok(v) = version {
                    self.built.store(v, Ordering::SeqCst);
                }
            }
            Err(e) => {
                app.health.failed(&e);
                tracing::error!(error = %e, "Cannot rebuild the snapshot; serving the previous one.")
            }
        }
    }
}

/// Rebuilds the snapshot after pushes (writes arriving within 100 ms share one rebuild) and
/// whenever the store's version moved (another instance wrote): checked every
/// `store.poll_interval`, backing off to 30 s while the store is unreachable.
async fn run_rebuilder(app: App, snaps: Snapshots, wake: Arc<tokio::sync::Notify>) {
    use std::sync::atomic::Ordering;
    let poll = app.config.store.poll_interval;
    let mut delay = poll;
    loop {
        tokio::select! {
            () = wake.notified() => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                snaps.rebuild(&app).await;
            }
            () = tokio::time::sleep(delay) => {
                match app.store.version().await {
                    Ok(v) => {
                        delay = poll;
                        app.health.ok();
                        if v != snaps.built.load(Ordering::SeqCst) {
                            snaps.rebuild(&app).await;
                        }
                    }
                    Err(e) => {
                        app.health.failed(&e);
                        delay = (delay * 2).min(std::time::Duration::from_secs(30).max(poll));
                    }
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_wait_twice_the_last_one_within_bounds() {
        let secs = std::time::Duration::from_secs;
        assert_eq!(
            rebuild_delay(std::time::Duration::ZERO),
            Duration::seconds(2)
        );
        assert_eq!(rebuild_delay(secs(5)), Duration::seconds(10));
        assert_eq!(rebuild_delay(secs(3600)), Duration::seconds(60));
    }
}

//! Persistence: the [`Store`] trait and its backends.
//!
//! The store keeps each source's events (one row per calendar component, as JSON) and its fetch
//! state. The one write that matters, [`Store::apply`], replaces a source's events and records its
//! new state in a single transaction: a source is always wholly old or wholly new, and a failed
//! fetch only touches the state. Reads load everything; the in-memory [`crate::output`] snapshot
//! does the filtering.
//!
//! Two backends implement the trait: [`SqliteStore`] (an embedded file, the default) and
//! [`PgStore`] (PostgreSQL, for several instances sharing one database). [`AnyStore`] is the one
//! the configuration selects. Several processes coordinate through the store alone: a source is
//! fetched by whoever wins [`Store::claim`], and [`Store::version`] tells every process that
//! another one wrote.

mod config;
pub mod postgres;
pub mod sqlite;

pub use crate::ingest::ApplyStats;
pub use config::{RawStore, StoreConfig, check_store_url};

use crate::geo::geocoder::Cache;
use crate::model::{Event, SourceState, StoredEvent};
use chrono::{DateTime, Utc};
use std::future::Future;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Errors from a store backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is corrupt ({what}): {reason}")]
    Corrupt { what: String, reason: String },
    #[error("path {path} is not valid UTF-8")]
    BadPath { path: String },
}

/// A stored event as read from a backend, before its JSON is decoded.
pub(crate) struct RawEvent {
    pub source: String,
    pub data: String,
    pub first_seen: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub revision: u32,
}

impl RawEvent {
    fn decode(self) -> Result<StoredEvent, StoreError> {
        let event: Event = serde_json::from_str(&self.data).map_err(|e| StoreError::Corrupt {
            what: format!("event of source {:?}", self.source),
            reason: e.to_string(),
        })?;
        Ok(StoredEvent {
            source: self.source,
            event,
            first_seen: self.first_seen,
            updated_at: self.updated_at,
            revision: self.revision,
        })
    }
}

/// An event as a backend writes it: its key, its JSON and the hash of that JSON (which tells an
/// unchanged event on the next fetch).
pub(crate) struct Encoded {
    pub key: crate::model::EventKey,
    pub json: String,
    pub hash: String,
}

impl Encoded {
    pub fn new(ev: &Event) -> Result<Encoded, StoreError> {
        let json = serde_json::to_string(ev).map_err(|e| StoreError::Corrupt {
            what: format!("event {:?}", ev.uid),
            reason: e.to_string(),
        })?;
        let hash = hash_json(&json);
        Ok(Encoded {
            key: ev.key(),
            json,
            hash,
        })
    }
}

/// A source's kept warnings as the JSON text stored with its state.
pub(crate) fn warning_texts_json(texts: &[String]) -> String {
    serde_json::to_string(texts).unwrap_or_else(|_| "[]".into())
}

/// Reads [`warning_texts_json`] back (anything unreadable is no warnings).
pub(crate) fn warning_texts_from_json(json: String) -> Vec<String> {
    serde_json::from_str(&json).unwrap_or_default()
}

/// The first 128 bits of the SHA-256 of an event's JSON, in hex.
pub(crate) fn hash_json(json: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(json.as_bytes())[..16])
}

/// Encodes a feed's events for [`Store::apply`] in the background: serialising and hashing a
/// thousand events takes milliseconds, which must not stall the async workers answering
/// requests (nor be spent holding the source's write lock).
pub(crate) async fn encode_all(events: &[Event]) -> Result<Vec<Encoded>, StoreError> {
    let events = events.to_vec();
    crate::work::background(move || events.iter().map(Encoded::new).collect()).await
}

/// Raw events per chunk handed to the decoders.
const DECODE_CHUNK: usize = 1024;

/// Decodes the events of a whole store (a second of CPU per 100,000 events) while the backend
/// is still reading them. Rows are handed over in chunks to decoding threads in the background
/// (one per core); a collector appends the decoded chunks to the result in the order they were
/// pushed as soon as each is ready. So reading and decoding overlap, and neither the raw rows
/// nor the decoded chunks of a large store ever pile up beside the result.
pub(crate) struct Decoder {
    chunk: Vec<RawEvent>,
    sent: usize,
    tx: Option<tokio::sync::mpsc::Sender<(usize, Vec<RawEvent>)>>,
    decoded: std::pin::Pin<Box<dyn Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send>>,
}

type DecodedChunk = (usize, Result<Vec<StoredEvent>, StoreError>);

impl Decoder {
    pub fn new() -> Decoder {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Bounded: when the backend reads faster than the threads decode, the reader waits
        // instead of piling raw rows up in memory.
        let (tx, rx) = tokio::sync::mpsc::channel::<(usize, Vec<RawEvent>)>(threads * 2);
        let decoded = crate::work::start_background(move || {
            let rx = std::sync::Mutex::new(rx);
            let (done_tx, done_rx) = std::sync::mpsc::channel::<DecodedChunk>();
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    let (rx, done_tx) = (&rx, done_tx.clone());
                    scope.spawn(move || {
                        loop {
                            // The lock is held only while waiting for the next chunk.
                            let next = match rx.lock() {
                                Ok(mut rx) => rx.blocking_recv(),
                                Err(poisoned) => poisoned.into_inner().blocking_recv(),
                            };
                            let Some((n, raw)) = next else { break };
                            let events = raw.into_iter().map(RawEvent::decode).collect();
                            if done_tx.send((n, events)).is_err() {
                                break;
                            }
                        }
                    });
                }
                drop(done_tx);
                // Chunks finish out of order; each is appended once those before it are in.
                let mut out = Vec::new();
                let mut waiting = std::collections::BTreeMap::new();
                let mut expected = 0;
                for (n, events) in done_rx {
                    waiting.insert(n, events?);
                    while let Some(events) = waiting.remove(&expected) {
                        out.extend(events);
                        expected += 1;
                    }
                }
                Ok(out)
            })
        });
        Decoder {
            chunk: Vec::with_capacity(DECODE_CHUNK),
            sent: 0,
            tx: Some(tx),
            decoded: Box::pin(decoded),
        }
    }
    /// Queues one raw event; waits while the decoders are a few chunks behind.
    pub async fn push(&mut self, raw: RawEvent) {
        self.chunk.push(raw);
        if self.chunk.len() >= DECODE_CHUNK {
            self.send().await;
        }
    }

    async fn send(&mut self) {
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(DECODE_CHUNK));
        if let Some(tx) = &self.tx
            && tx.send((self.sent, chunk)).await.is_err()
        {
            // The decoders stopped early on an error, which `finish` reports; what is still
            // read is dropped.
            self.tx = None;
        }
        self.sent += 1;
    }

    /// Waits for the decoders; the first corrupt event is the error.
    pub async fn finish(mut self) -> Result<Vec<StoredEvent>, StoreError> {
        if !self.chunk.is_empty() {
            self.send().await;
        }
        // Closing the channel ends the decoders once it is drained.
        self.tx = None;
        self.decoded.await
    }
}

/// Whether the store is reachable, as last seen.
#[derive(Debug, Default)]
pub struct Health(std::sync::Mutex<Option<(DateTime<Utc>, String)>>);

impl Health {
    /// The store answered.
    pub fn ok(&self) {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if guard.take().is_some() {
            tracing::info!("The store is reachable again.");
        }
    }

    /// The store failed with `error`; the first failure in a row is logged and kept.
    pub fn failed(&self, error: &StoreError) {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            tracing::error!(error = %error, "The store is unreachable; serving the last snapshot.");
            *guard = Some((crate::clock::now(), error.to_string()));
        }
    }

    /// Since when and why the store is unreachable, if it is.
    pub fn problem(&self) -> Option<(DateTime<Utc>, String)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The answer to [`Store::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the source now; its `fetch_seq` is the next one.
    Granted,
    /// Another process fetched the source since the caller read its state (re-read it), or
    /// holds it until `lease_until`.
    Refused { lease_until: Option<DateTime<Utc>> },
}

/// A place to keep sources' events and states (and, as a geocoder [`Cache`], its answers).
pub trait Store: Cache<Error = StoreError> + Send + Sync + 'static {
    /// States of all sources seen so far.
    fn source_states(&self) -> impl Future<Output = Result<Vec<SourceState>, StoreError>> + Send;

    /// State of one source, if it was ever fetched.
    fn source_state(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SourceState>, StoreError>> + Send;

    /// In one transaction: replaces the source's events with `events` when given (keeping
    /// `first_seen`, and `updated_at` of unchanged ones) and saves `state` (its `event_count` is
    /// set from the result).
    fn apply(
        &self,
        state: &SourceState,
        events: Option<&[Event]>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ApplyStats, StoreError>> + Send;

    /// In one transaction: inserts or updates these events of a source (by UID and
    /// RECURRENCE-ID), leaving its other events alone (the push API).
    fn upsert_events(
        &self,
        source: &str,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ApplyStats, StoreError>> + Send;

    /// Withdraws a series of a source: the master stays, cancelled and marked withdrawn (the
    /// feeds publish it as cancelled for `calendar.cancelled_days`), overrides are deleted.
    /// Whether there was a live one.
    fn delete_event(
        &self,
        source: &str,
        uid: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Saves only the state of a source (schedule, errors).
    fn save_state(
        &self,
        state: &SourceState,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// All stored events of one source.
    fn source_events(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// All stored events.
    fn all_events(&self) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// When any source's events last changed (never moves backwards).
    fn last_change(&self)
    -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;

    /// Claims a source for one fetch: granted (and `fetch_seq` moved on) only if its
    /// `fetch_seq` still is `expected_seq` (nobody fetched it since the caller read its state)
    /// and no other holder's lease runs past `now`. The lease lasts `lease`; an instance that
    /// dies mid-fetch loses the source when it expires. One atomic conditional update, so of
    /// several processes claiming the same run exactly one wins.
    fn claim(
        &self,
        source: &str,
        holder: &str,
        expected_seq: i64,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Extends the caller's lease on a source to `now + lease` (a long ingest keeps it while
    /// it runs). False if the caller no longer holds it.
    fn renew(
        &self,
        source: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives up the caller's lease on a source (after its fetch was recorded) and moves its
    /// `fetch_seq` on, so a claim based on a state read during the fetch is refused.
    fn release(
        &self,
        source: &str,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A counter that every write of events or source states moves on: a process that sees a
    /// new value rebuilds its snapshot.
    fn version(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Bytes the store takes on disk: SQLite's pages (the WAL not counted), PostgreSQL's tables
    /// with their indexes in the store's schema.
    fn size_bytes(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

/// The store the configuration selects: SQLite by default, PostgreSQL when `[store] url` (or
/// `REGIOCAL_DATABASE_URL`) is set.
#[derive(Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens the configured backend and runs its pending migrations.
    pub async fn open(config: &StoreConfig) -> Result<AnyStore, StoreError> {
        match &config.url {
            Some(url) => Ok(AnyStore::Postgres(
                PgStore::open(url, config.schema.as_deref(), config.max_connections).await?,
            )),
            None => Ok(AnyStore::Sqlite(
                SqliteStore::open_with(&config.path, config.busy_timeout).await?,
            )),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> Self {
        AnyStore::Sqlite(store)
    }
}

impl From<PgStore> for AnyStore {
    fn from(store: PgStore) -> Self {
        AnyStore::Postgres(store)
    }
}

/// Calls the same method on whichever backend this is.
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl Cache for AnyStore {
    type Error = StoreError;

    async fn geocode_cached(
        &self,
        query: &str,
    ) -> Result<Option<Option<crate::model::Geo>>, StoreError> {
        delegate!(self, s => s.geocode_cached(query))
    }

    async fn save_geocode(
        &self,
        query: &str,
        answer: Option<crate::model::Geo>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.save_geocode(query, answer, now))
    }
}

/// Every store is what the ingest writes to.
impl<T: Store> crate::ingest::Storage for T {
    async fn state(&self, source: &str) -> Result<Option<SourceState>, StoreError> {
        Store::source_state(self, source).await
    }

    async fn events(&self, source: &str) -> Result<Vec<StoredEvent>, StoreError> {
        Store::source_events(self, source).await
    }

    async fn record_state(&self, state: &SourceState) -> Result<(), StoreError> {
        Store::save_state(self, state).await
    }

    async fn replace(
        &self,
        state: &SourceState,
        events: Option<&[Event]>,
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        Store::apply(self, state, events, now).await
    }
}

impl Store for AnyStore {
    async fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        delegate!(self, s => s.source_states())
    }

    async fn source_state(&self, id: &str) -> Result<Option<SourceState>, StoreError> {
        delegate!(self, s => s.source_state(id))
    }

    async fn apply(
        &self,
        state: &SourceState,
        events: Option<&[Event]>,
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        delegate!(self, s => s.apply(state, events, now))
    }

    async fn upsert_events(
        &self,
        source: &str,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        delegate!(self, s => s.upsert_events(source, events, now))
    }

    async fn delete_event(
        &self,
        source: &str,
        uid: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.delete_event(source, uid, now))
    }

    async fn save_state(&self, state: &SourceState) -> Result<(), StoreError> {
        delegate!(self, s => s.save_state(state))
    }

    async fn source_events(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, s => s.source_events(id))
    }

    async fn size_bytes(&self) -> Result<i64, StoreError> {
        delegate!(self, s => s.size_bytes())
    }

    async fn all_events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        delegate!(self, s => s.all_events())
    }

    async fn last_change(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        delegate!(self, s => s.last_change())
    }

    async fn claim(
        &self,
        source: &str,
        holder: &str,
        expected_seq: i64,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> Result<Claim, StoreError> {
        delegate!(self, s => s.claim(source, holder, expected_seq, now, lease))
    }

    async fn renew(
        &self,
        source: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.renew(source, holder, now, lease))
    }

    async fn release(&self, source: &str, holder: &str) -> Result<(), StoreError> {
        delegate!(self, s => s.release(source, holder))
    }

    async fn version(&self) -> Result<i64, StoreError> {
        delegate!(self, s => s.version())
    }
}

/// A claim's lease end: `now + lease` (capped far in the future for absurd values).
pub(crate) fn lease_end(now: DateTime<Utc>, lease: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now + chrono::Duration::days(365))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, EventTime};

    /// `n` raw rows over three sources; event `i` has UID `e{i:05}`.
    fn raw_rows(n: usize) -> Vec<RawEvent> {
        let at: DateTime<Utc> = "2026-11-20T18:00:00Z".parse().unwrap();
        (0..n)
            .map(|i| {
                let ev = Event::new(
                    format!("e{i:05}"),
                    format!("Lesung {i}"),
                    EventTime::Utc { utc: at },
                    EventTime::Utc {
                        utc: at + chrono::Duration::hours(2),
                    },
                );
                RawEvent {
                    source: format!("quelle-{}", i * 3 / n),
                    data: Encoded::new(&ev).unwrap().json,
                    first_seen: at,
                    updated_at: at,
                    revision: 1,
                }
            })
            .collect()
    }

    /// Several chunks, decoded on several threads, come back in the order they were pushed.
    #[tokio::test]
    async fn decoder_keeps_row_order_across_chunks() {
        let n = DECODE_CHUNK * 3 + 17;
        let mut decoder = Decoder::new();
        for raw in raw_rows(n) {
            decoder.push(raw).await;
        }
        let out = decoder.finish().await.unwrap();
        assert_eq!(out.len(), n);
        for (i, s) in out.iter().enumerate() {
            assert_eq!(s.event.uid, format!("e{i:05}"));
            assert_eq!(s.event.title, format!("Lesung {i}"));
            assert_eq!(s.source, format!("quelle-{}", i * 3 / n));
        }
    }

    #[tokio::test]
    async fn decoder_of_nothing_is_empty() {
        assert!(Decoder::new().finish().await.unwrap().is_empty());
    }

    /// A corrupt row in a later chunk fails the whole read, naming its source.
    #[tokio::test]
    async fn decoder_reports_a_corrupt_row_with_its_source() {
        let mut rows = raw_rows(DECODE_CHUNK * 3);
        let bad = DECODE_CHUNK * 2 + 5;
        rows[bad].source = "stadtbibliothek".into();
        let half = rows[bad].data.len() / 2;
        rows[bad].data.truncate(half);
        let mut decoder = Decoder::new();
        for raw in rows {
            decoder.push(raw).await;
        }
        match decoder.finish().await {
            Err(StoreError::Corrupt { what, reason }) => {
                assert!(what.contains("\"stadtbibliothek\""), "{what}");
                assert!(reason.contains("EOF"), "{reason}");
            }
            other => panic!("expected Corrupt, got {:?}", other.map(|v| v.len())),
        }
    }
}

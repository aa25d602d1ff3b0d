//! Persistence: the [`Store`] trait and its backends.
//!
//! The store keeps each source's events (one row per calendar component, as JSON) and its fetch
//! state. The one write that matters, [`Store::apply`], replaces a source's events and records its
//! new state in a single transaction: a source is always wholly old or wholly new, and a failed
//! fetch only touches the state. Reads load everything; the in-memory [`crate::output`] snapshot
//! does the filtering.

pub mod sqlite;

use crate::model::{Event, SourceState, StoredEvent};
use chrono::{DateTime, Utc};
use std::future::Future;

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
}

/// What an [`Store::apply`] changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyStats {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

impl ApplyStats {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.inserted + self.updated + self.deleted > 0
    }
}

/// A place to keep sources' events and states.
pub trait Store: Send + Sync + 'static {
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

    /// A cached geocoder answer for a query: `Some(None)` = known not to be found.
    fn geocode_cached(
        &self,
        query: &str,
    ) -> impl Future<Output = Result<Option<Option<crate::model::Geo>>, StoreError>> + Send;

    /// Caches a geocoder answer.
    fn save_geocode(
        &self,
        query: &str,
        answer: Option<crate::model::Geo>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

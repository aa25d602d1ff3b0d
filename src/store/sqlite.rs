//! The default store: an embedded SQLite file (bundled library, WAL mode, migrations embedded).

use super::{ApplyStats, Claim, RawEvent, Store, StoreError};
use crate::model::{Event, EventKey, SourceState, StoredEvent, recurrence_key};
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

impl SqliteStore {
    /// `PRAGMA integrity_check`: `"ok"` for a sound database file.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.join("; "))
    }

    /// Writes a consistent copy of the database to `to` (`VACUUM INTO`), while other
    /// connections go on reading and writing. `to` must not exist.
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        let target = to.to_str().ok_or_else(|| StoreError::BadPath {
            path: to.display().to_string(),
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Opens (creating if missing) the database file and runs pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, Duration::from_secs(10)).await
    }

    /// Opens the store with a given busy timeout (how long a write waits for another writer).
    pub async fn open_with(path: &Path, busy_timeout: Duration) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_options(path, busy_timeout, None).await
    }

    /// Opens the store with the database file capped at `max_pages` pages
    /// (`PRAGMA max_page_count` on every connection; never below the current size): a write
    /// that would grow the file further fails with `SQLITE_FULL`, exactly as on a full disk.
    /// For fault tests (RELIABILITY.md F6).
    pub async fn open_capped(path: &Path, max_pages: u32) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_options(path, Duration::from_secs(10), Some(max_pages)).await
    }

    async fn open_options(
        path: &Path,
        busy_timeout: Duration,
        max_pages: Option<u32>,
    ) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: sqlx::Error::Io(e),
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy_timeout)
            .foreign_keys(true)
            // For a new store (an existing one keeps its size): events are rows of about a
            // kilobyte, written a source at a time, and 16 KiB pages write them with a quarter
            // of the system calls of SQLite's 4 KiB default (an import of 100,000 events spent
            // 0.6 s in its commits, 0.3 s with these) in a 15 % smaller file.
            .page_size(16384)
            .thread_name(|id| format!("{WORKER_THREAD}{id}"));
        let options = match max_pages {
            Some(n) => options.pragma("max_page_count", n.to_string()),
            None => options,
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // Each connection has a worker thread; imports keep them busy for seconds, while
            // requests never wait for them (they read the snapshot). So they run at the
            // priority of the rest of an import.
            .after_connect(|_, _| {
                Box::pin(async {
                    crate::work::lower_threads_named(WORKER_THREAD);
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().and_then(parse_ts_str)
}

fn parse_ts_str(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn state_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<SourceState, sqlx::Error> {
    Ok(SourceState {
        id: row.try_get("id")?,
        etag: row.try_get("etag")?,
        last_modified: row.try_get("last_modified")?,
        content_hash: row.try_get("content_hash")?,
        last_fetch: parse_ts(row.try_get("last_fetch")?),
        last_success: parse_ts(row.try_get("last_success")?),
        last_error: row.try_get("last_error")?,
        error_count: row
            .try_get::<i64, _>("error_count")?
            .try_into()
            .unwrap_or(u32::MAX),
        next_run: parse_ts(row.try_get("next_run")?),
        event_count: row
            .try_get::<i64, _>("event_count")?
            .try_into()
            .unwrap_or(u32::MAX),
        pending_shrink: row
            .try_get::<i64, _>("pending_shrink")?
            .try_into()
            .unwrap_or(u32::MAX),
        last_warnings: row
            .try_get::<i64, _>("last_warnings")?
            .try_into()
            .unwrap_or(u32::MAX),
        warning_texts: super::warning_texts_from_json(row.try_get("warning_texts")?),
        fetch_seq: row.try_get("fetch_seq")?,
        lease_until: parse_ts(row.try_get("lease_until")?),
    })
}

fn raw_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<RawEvent, StoreError> {
    Ok(RawEvent {
        source: row.try_get("source_id")?,
        data: row.try_get("data")?,
        first_seen: parse_ts(row.try_get("first_seen")?).unwrap_or_default(),
        updated_at: parse_ts(row.try_get("updated_at")?).unwrap_or_default(),
        revision: u32::try_from(row.try_get::<i64, _>("revision")?).unwrap_or(0),
    })
}

/// Separates the events of one source in [`ALL_EVENTS_BY_SOURCE`] (ASCII RS). Neither it nor
/// [`FIELD`] can occur in an RFC 3339 timestamp, a number or JSON text, which escapes every
/// control character.
const RECORD: char = '\u{1e}';
/// Separates the fields of one event there (ASCII US).
const FIELD: char = '\u{1f}';

/// The stored events of the next [`SOURCES_PER_READ`] sources after `?1` (byte order of source
/// id), one row per source, each row the source's events (`first_seen`, `updated_at`,
/// `revision`, `data`) joined by [`RECORD`] and [`FIELD`]. The inner query reads the primary
/// key in order (no sort); `group_concat` keeps the order its input rows come in, which SQLite
/// does not promise, so [`into_store_order`] checks it (an `ORDER BY` inside `group_concat`
/// made SQLite sort every source's rows again: 0.2 s of a 0.5 s read at 102,340 events).
const ALL_EVENTS_BY_SOURCE: &str = "SELECT source_id, group_concat(record, char(30)) FROM (\
        SELECT source_id, \
        first_seen || char(31) || updated_at || char(31) || revision || char(31) || data AS record \
        FROM events WHERE source_id > ?1 ORDER BY source_id, uid, recurrence_id) \
    GROUP BY source_id ORDER BY source_id LIMIT ?2";

/// Sources per query of [`ALL_EVENTS_BY_SOURCE`]. The connection's thread hands rows over
/// through a channel of 50 rows and runs ahead of the decoders: in one query, rows of the
/// whole store (a source each) piled up there. A few sources per query bound that.
const SOURCES_PER_READ: i64 = 4;

/// `events` in the store's order (source id, UID, RECURRENCE-ID key, each in byte order):
/// returned as they are when already so, else sorted.
fn into_store_order(mut events: Vec<StoredEvent>) -> Vec<StoredEvent> {
    fn order(a: &StoredEvent, b: &StoredEvent) -> std::cmp::Ordering {
        // The RECURRENCE-ID column holds `recurrence_key` ("" for none).
        let rid = |e: &StoredEvent| e.event.recurrence_id.as_ref().map(recurrence_key);
        a.source
            .cmp(&b.source)
            .then_with(|| a.event.uid.cmp(&b.event.uid))
            .then_with(|| rid(a).unwrap_or_default().cmp(&rid(b).unwrap_or_default()))
    }
    if !events.is_sorted_by(|a, b| order(a, b).is_le()) {
        tracing::debug!("Stored events came back out of key order; sorting them.");
        events.sort_by(order);
    }
    events
}

/// One event of a row of [`ALL_EVENTS_BY_SOURCE`].
fn raw_from_record(source: &str, record: &str) -> Result<RawEvent, StoreError> {
    let mut fields = record.splitn(4, FIELD);
    let (Some(first_seen), Some(updated_at), Some(revision), Some(data)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(StoreError::Corrupt {
            what: format!("event of source {source:?}"),
            reason: "a stored row lacks fields".into(),
        });
    };
    Ok(RawEvent {
        source: source.to_string(),
        data: data.to_string(),
        first_seen: parse_ts_str(first_seen).unwrap_or_default(),
        updated_at: parse_ts_str(updated_at).unwrap_or_default(),
        revision: revision.parse().unwrap_or(0),
    })
}

fn event_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<StoredEvent, StoreError> {
    raw_from_row(row)?.decode()
}

/// The names of the connections' worker threads start so (15 bytes at most: all Linux keeps).
const WORKER_THREAD: &str = "regiocal-sqlite";

/// Rows per multi-row statement (7 parameters each, well below SQLite's limit).
const BATCH: usize = 400;

/// Inserts or updates events in one statement: new rows get `first_seen = updated_at = now`,
/// existing ones keep `first_seen` and get `revision + 1`.
async fn upsert_batch(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    source: &str,
    rows: &[(EventKey, String, String)],
    now: &str,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; rows.len()].join(", ");
    let sql = format!(
        "INSERT INTO events (source_id, uid, recurrence_id, data, content_hash, first_seen, updated_at) \
         VALUES {values} \
         ON CONFLICT (source_id, uid, recurrence_id) DO UPDATE SET data = excluded.data, \
         content_hash = excluded.content_hash, updated_at = excluded.updated_at, \
         revision = events.revision + 1"
    );
    // Only placeholders are formatted into the statement.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (key, json, hash) in rows {
        q = q
            .bind(source)
            .bind(&key.uid)
            .bind(&key.recurrence_id)
            .bind(json)
            .bind(hash)
            .bind(now)
            .bind(now);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Inserts or updates one event (keeping `first_seen`; `updated_at` moves only when the
/// content changed). `old_hash` is the stored content hash, if the event exists.
async fn write_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    source: &str,
    ev: &Event,
    old_hash: Option<&str>,
    now: &str,
    stats: &mut ApplyStats,
) -> Result<(), StoreError> {
    let super::Encoded { key, json, hash } = super::Encoded::new(ev)?;
    let sql = match old_hash {
        Some(old) if old == hash => {
            stats.unchanged += 1;
            return Ok(());
        }
        Some(_) => {
            stats.updated += 1;
            "UPDATE events SET data = ?4, content_hash = ?5, updated_at = ?6, revision = revision + 1 \
             WHERE source_id = ?1 AND uid = ?2 AND recurrence_id = ?3"
        }
        None => {
            stats.inserted += 1;
            "INSERT INTO events (source_id, uid, recurrence_id, data, content_hash, first_seen, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
        }
    };
    sqlx::query(sql)
        .bind(source)
        .bind(&key.uid)
        .bind(&key.recurrence_id)
        .bind(&json)
        .bind(&hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves the store's version on (see [`Store::version`]).
const BUMP_VERSION: &str = "INSERT INTO meta (key, value) VALUES ('version', '1') \
     ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)";

async fn bump_version<'e, E>(exec: E) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query(BUMP_VERSION).execute(exec).await.map(|_| ())
}

/// After a push: the source's event count and success time, and the store's last change.
async fn touch_source(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    source: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sources (id, last_success, event_count) \
         VALUES (?1, ?2, (SELECT count(*) FROM events WHERE source_id = ?1 AND recurrence_id = '')) \
         ON CONFLICT (id) DO UPDATE SET last_success = excluded.last_success, event_count = excluded.event_count",
    )
    .bind(source)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('last_change', ?) \
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )
    .bind(now)
    .execute(&mut **tx)
    .await?;
    bump_version(&mut **tx).await
}

const UPSERT_STATE: &str = "INSERT INTO sources (id, etag, last_modified, content_hash, last_fetch, last_success, \
     last_error, error_count, next_run, event_count, pending_shrink, last_warnings, warning_texts) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (id) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
     content_hash = excluded.content_hash, last_fetch = excluded.last_fetch, \
     last_success = excluded.last_success, last_error = excluded.last_error, \
     error_count = excluded.error_count, next_run = excluded.next_run, \
     event_count = excluded.event_count, pending_shrink = excluded.pending_shrink, \
     last_warnings = excluded.last_warnings, warning_texts = excluded.warning_texts";

async fn write_state<'e, E>(exec: E, s: &SourceState) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query(UPSERT_STATE)
        .bind(&s.id)
        .bind(&s.etag)
        .bind(&s.last_modified)
        .bind(&s.content_hash)
        .bind(s.last_fetch.as_ref().map(ts))
        .bind(s.last_success.as_ref().map(ts))
        .bind(&s.last_error)
        .bind(i64::from(s.error_count))
        .bind(s.next_run.as_ref().map(ts))
        .bind(i64::from(s.event_count))
        .bind(i64::from(s.pending_shrink))
        .bind(i64::from(s.last_warnings))
        .bind(super::warning_texts_json(&s.warning_texts))
        .execute(exec)
        .await
        .map(|_| ())
}

impl crate::geo::geocoder::Cache for SqliteStore {
    type Error = StoreError;

    async fn geocode_cached(
        &self,
        query: &str,
    ) -> Result<Option<Option<crate::model::Geo>>, StoreError> {
        let row = sqlx::query("SELECT lat, lon FROM geocode WHERE query = ?")
            .bind(query)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            None => None,
            Some(r) => {
                let lat: Option<f64> = r.try_get("lat")?;
                let lon: Option<f64> = r.try_get("lon")?;
                Some(lat.zip(lon).and_then(|(a, b)| crate::model::Geo::new(a, b)))
            }
        })
    }

    async fn save_geocode(
        &self,
        query: &str,
        answer: Option<crate::model::Geo>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO geocode (query, lat, lon, fetched_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (query) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, \
             fetched_at = excluded.fetched_at",
        )
        .bind(query)
        .bind(answer.map(|g| g.lat))
        .bind(answer.map(|g| g.lon))
        .bind(ts(&now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store for SqliteStore {
    async fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let rows = sqlx::query("SELECT * FROM sources ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(state_from_row).collect::<Result<_, _>>()?)
    }

    async fn source_state(&self, id: &str) -> Result<Option<SourceState>, StoreError> {
        let row = sqlx::query("SELECT * FROM sources WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(state_from_row).transpose()?)
    }

    async fn apply(
        &self,
        state: &SourceState,
        events: Option<&[Event]>,
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        // IMMEDIATE takes the write lock up front, so concurrent ingests queue on busy_timeout
        // instead of failing when a read transaction tries to upgrade.
        let encoded = match events {
            Some(events) => Some(super::encode_all(events).await?),
            None => None,
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut stats = ApplyStats::default();
        let mut state = state.clone();
        if let Some(encoded) = encoded {
            let rows = sqlx::query(
                "SELECT uid, recurrence_id, content_hash FROM events WHERE source_id = ?",
            )
            .bind(&state.id)
            .fetch_all(&mut *tx)
            .await?;
            let mut existing: HashMap<EventKey, String> = HashMap::with_capacity(rows.len());
            for row in rows {
                existing.insert(
                    EventKey {
                        uid: row.try_get("uid")?,
                        recurrence_id: row.try_get("recurrence_id")?,
                    },
                    row.try_get("content_hash")?,
                );
            }
            let now_s = ts(&now);
            // Changed and new events go in multi-row upserts, vanished ones in multi-row
            // deletes: a few statements per thousand events instead of one each.
            let mut batch: Vec<(EventKey, String, String)> = Vec::new();
            let count = encoded.len();
            for super::Encoded { key, json, hash } in encoded {
                let old = existing.remove(&key);
                match old {
                    Some(old) if old == hash => stats.unchanged += 1,
                    Some(_) => {
                        stats.updated += 1;
                        batch.push((key, json, hash));
                    }
                    None => {
                        stats.inserted += 1;
                        batch.push((key, json, hash));
                    }
                }
                if batch.len() >= BATCH {
                    upsert_batch(&mut tx, &state.id, &batch, &now_s).await?;
                    batch.clear();
                }
            }
            upsert_batch(&mut tx, &state.id, &batch, &now_s).await?;
            let gone: Vec<EventKey> = existing.into_keys().collect();
            for chunk in gone.chunks(BATCH) {
                let tuples = vec!["(?, ?)"; chunk.len()].join(", ");
                let sql = format!(
                    "DELETE FROM events WHERE source_id = ? AND (uid, recurrence_id) IN (VALUES {tuples})"
                );
                // Only placeholders are formatted into the statement.
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&state.id);
                for key in chunk {
                    q = q.bind(&key.uid).bind(&key.recurrence_id);
                }
                q.execute(&mut *tx).await?;
                stats.deleted += chunk.len();
            }
            state.event_count = u32::try_from(count).unwrap_or(u32::MAX);
            if stats.changed() {
                // Last-Modified of the feeds must never move backwards.
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ('last_change', ?) \
                     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                )
                .bind(&now_s)
                .execute(&mut *tx)
                .await?;
            }
        }
        write_state(&mut *tx, &state).await?;
        bump_version(&mut *tx).await?;
        tx.commit().await?;
        Ok(stats)
    }

    async fn upsert_events(
        &self,
        source: &str,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut stats = ApplyStats::default();
        let now_s = ts(&now);
        for ev in events {
            let key = ev.key();
            let old: Option<String> = sqlx::query_scalar(
                "SELECT content_hash FROM events WHERE source_id = ? AND uid = ? AND recurrence_id = ?",
            )
            .bind(source)
            .bind(&key.uid)
            .bind(&key.recurrence_id)
            .fetch_optional(&mut *tx)
            .await?;
            write_event(&mut tx, source, ev, old.as_deref(), &now_s, &mut stats).await?;
        }
        if stats.changed() {
            touch_source(&mut tx, source, &now_s).await?;
        }
        tx.commit().await?;
        Ok(stats)
    }

    async fn delete_event(
        &self,
        source: &str,
        uid: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // The series stays as cancelled (with its withdrawal time) so subscribed calendars
        // remove it; the snapshot stops publishing it after `calendar.cancelled_days`.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT data, content_hash FROM events WHERE source_id = ? AND uid = ? AND recurrence_id = ''",
        )
        .bind(source)
        .bind(uid)
        .fetch_optional(&mut *tx)
        .await?;
        let mut stats = ApplyStats::default();
        if let Some(row) = row {
            let data: String = row.try_get("data")?;
            let hash: String = row.try_get("content_hash")?;
            let mut ev: Event = serde_json::from_str(&data).map_err(|e| StoreError::Corrupt {
                what: format!("event {uid:?} of source {source:?}"),
                reason: e.to_string(),
            })?;
            if ev.withdrawn.is_none() {
                ev.status = crate::model::Status::Cancelled;
                ev.withdrawn = Some(now);
                write_event(&mut tx, source, &ev, Some(&hash), &ts(&now), &mut stats).await?;
            }
        }
        let overrides = sqlx::query(
            "DELETE FROM events WHERE source_id = ? AND uid = ? AND recurrence_id != ''",
        )
        .bind(source)
        .bind(uid)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let gone = stats.updated > 0 || overrides > 0;
        if gone {
            touch_source(&mut tx, source, &ts(&now)).await?;
        }
        tx.commit().await?;
        Ok(gone)
    }

    async fn save_state(&self, state: &SourceState) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        write_state(&mut *tx, state).await?;
        bump_version(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn source_events(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM events WHERE source_id = ? ORDER BY uid, recurrence_id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn all_events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        // One row per source, streamed: a large store's raw rows are never all in memory at
        // once, and rows are handed over from SQLite's thread per source, not per event (that
        // handover, not SQLite, was most of the read's time).
        use futures_util::TryStreamExt;
        let mut decoder = super::Decoder::new();
        let mut after = String::new();
        loop {
            let mut rows = sqlx::query(ALL_EVENTS_BY_SOURCE)
                .bind(&after)
                .bind(SOURCES_PER_READ)
                .fetch(&self.pool);
            let mut sources = 0;
            while let Some(row) = rows.try_next().await? {
                let source: String = row.try_get(0)?;
                let joined: String = row.try_get(1)?;
                for record in joined.split(RECORD) {
                    decoder.push(raw_from_record(&source, record)?).await;
                }
                sources += 1;
                after = source;
            }
            if sources < SOURCES_PER_READ {
                break;
            }
        }
        Ok(into_store_order(decoder.finish().await?))
    }

    async fn last_change(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = 'last_change'")
            .fetch_optional(&self.pool)
            .await?;
        Ok(parse_ts(row.map(|r| r.try_get("value")).transpose()?))
    }

    async fn claim(
        &self,
        source: &str,
        holder: &str,
        expected_seq: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO sources (id) VALUES (?) ON CONFLICT (id) DO NOTHING")
            .bind(source)
            .execute(&mut *tx)
            .await?;
        let granted = sqlx::query(
            "UPDATE sources SET fetch_seq = fetch_seq + 1, lease_holder = ?1, lease_until = ?2 \
             WHERE id = ?3 AND fetch_seq = ?4 \
             AND (lease_holder IS NULL OR lease_holder = ?1 OR lease_until IS NULL OR lease_until <= ?5)",
        )
        .bind(holder)
        .bind(ts(&super::lease_end(now, lease)))
        .bind(source)
        .bind(expected_seq)
        .bind(ts(&now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let answer = if granted {
            Claim::Granted
        } else {
            let row = sqlx::query("SELECT lease_holder, lease_until FROM sources WHERE id = ?")
                .bind(source)
                .fetch_one(&mut *tx)
                .await?;
            let until = parse_ts(row.try_get("lease_until")?);
            let other: Option<String> = row.try_get("lease_holder")?;
            Claim::Refused {
                lease_until: until.filter(|u| *u > now && other.as_deref() != Some(holder)),
            }
        };
        tx.commit().await?;
        Ok(answer)
    }

    async fn renew(
        &self,
        source: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sources SET lease_until = ? WHERE id = ? AND lease_holder = ?")
                .bind(ts(&super::lease_end(now, lease)))
                .bind(source)
                .bind(holder)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, source: &str, holder: &str) -> Result<(), StoreError> {
        // The sequence moves on again: whoever read the state during the fetch is refused.
        sqlx::query(
            "UPDATE sources SET fetch_seq = fetch_seq + 1, lease_holder = NULL, lease_until = NULL \
             WHERE id = ? AND lease_holder = ?",
        )
        .bind(source)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn version(&self) -> Result<i64, StoreError> {
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'version'")
                .fetch_optional(&self.pool)
                .await?;
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    async fn size_bytes(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stored_for_test as stored;

    #[test]
    fn events_are_put_in_key_order_when_they_come_back_out_of_it() {
        // Byte order: "B" < "a", "Z" < "ä"; the master ("" key) before its overrides.
        let ordered = vec![
            stored("a", "B", None),
            stored("a", "a", None),
            stored("a", "a", Some("2026-12-02")),
            stored("a", "a", Some("2026-12-10")),
            stored("a", "ä", None),
            stored("b", "Z", Some("2026-12-03")),
        ];
        assert_eq!(into_store_order(ordered.clone()), ordered);
        let shuffled: Vec<StoredEvent> = [3, 5, 0, 2, 4, 1]
            .iter()
            .map(|&i| ordered[i].clone())
            .collect();
        assert_eq!(into_store_order(shuffled), ordered);
    }
}

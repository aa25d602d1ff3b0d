//! The scale-out store: PostgreSQL, shared by several regiocal instances.
//!
//! Same tables and semantics as [`super::SqliteStore`] (migrations embedded from
//! `migrations/postgres`). Writes to one source are serialised by a row lock on its `sources`
//! row (`SELECT ... FOR UPDATE`), so a fetch and a push for the same source never interleave;
//! batches travel as arrays (`UNNEST`), one statement per batch whatever its size. Timestamps are
//! stored with second precision, as in SQLite, so both backends publish the same `LAST-MODIFIED`.
//!
//! The pool reconnects by itself: a connection that broke (the server restarted) is dropped
//! and the next request opens a new one. Callers see [`StoreError::Db`] while the server is
//! away and carry on serving their last snapshot.

use super::{ApplyStats, Claim, RawEvent, Store, StoreError};
use crate::model::{Event, EventKey, Geo, SourceState, StoredEvent};
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Row};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// PostgreSQL-backed [`Store`].
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// Rows per array batch (bounded so one statement stays a few MB).
const BATCH: usize = 2000;

impl PgStore {
    /// Connects to `url`, creates `schema` if given and missing (the tables then live there),
    /// and runs pending migrations (under the migrator's advisory lock, so instances that start
    /// together migrate once).
    pub async fn open(
        url: &str,
        schema: Option<&str>,
        max_connections: u32,
    ) -> Result<PgStore, StoreError> {
        let shown = redact(url);
        let open_err = |source: sqlx::Error| StoreError::Open {
            path: shown.clone(),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(open_err)?;
        let options = match schema {
            // The name was checked by the config (letters, digits, `_`).
            Some(name) => options.options([("search_path", name)]),
            None => options,
        };
        if let Some(name) = schema {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await
                .map_err(open_err)?;
            // Unquoted, like the search_path entry: both fold to lower case.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {name}"
            )))
            .execute(&admin)
            .await
            .map_err(open_err)?;
            admin.close().await;
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_secs(300))
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The connection pool (for tests and benches that inspect the database).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(invalid PostgreSQL URL)".to_string(),
    }
}

fn secs(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(0)
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn count(row: &sqlx::postgres::PgRow, col: &str) -> Result<u32, sqlx::Error> {
    Ok(row.try_get::<i32, _>(col)?.try_into().unwrap_or(u32::MAX))
}

fn state_from_row(row: &sqlx::postgres::PgRow) -> Result<SourceState, sqlx::Error> {
    Ok(SourceState {
        id: row.try_get("id")?,
        etag: row.try_get("etag")?,
        last_modified: row.try_get("last_modified")?,
        content_hash: row.try_get("content_hash")?,
        last_fetch: row.try_get("last_fetch")?,
        last_success: row.try_get("last_success")?,
        last_error: row.try_get("last_error")?,
        error_count: count(row, "error_count")?,
        next_run: row.try_get("next_run")?,
        event_count: count(row, "event_count")?,
        pending_shrink: count(row, "pending_shrink")?,
        last_warnings: count(row, "last_warnings")?,
        warning_texts: super::warning_texts_from_json(row.try_get("warning_texts")?),
        fetch_seq: row.try_get("fetch_seq")?,
        lease_until: row.try_get("lease_until")?,
    })
}

fn raw_from_row(row: &sqlx::postgres::PgRow) -> Result<RawEvent, StoreError> {
    Ok(RawEvent {
        source: row.try_get("source_id")?,
        data: row.try_get("data")?,
        first_seen: row.try_get("first_seen")?,
        updated_at: row.try_get("updated_at")?,
        revision: u32::try_from(row.try_get::<i32, _>("revision")?).unwrap_or(0),
    })
}

fn event_from_row(row: &sqlx::postgres::PgRow) -> Result<StoredEvent, StoreError> {
    raw_from_row(row)?.decode()
}

type Tx<'a> = sqlx::Transaction<'a, Postgres>;

/// Locks the source's row (creating it if missing) for the rest of the transaction: writes to
/// one source queue behind each other, across instances.
async fn lock_source(tx: &mut Tx<'_>, source: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sources (id) VALUES ($1) ON CONFLICT (id) DO NOTHING")
        .bind(source)
        .execute(&mut **tx)
        .await?;
    sqlx::query("SELECT 1 FROM sources WHERE id = $1 FOR UPDATE")
        .bind(source)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts or updates events in one statement: new rows get `first_seen = updated_at = now`,
/// existing ones keep `first_seen` and get `revision + 1`.
async fn upsert_batch(
    tx: &mut Tx<'_>,
    source: &str,
    rows: &[(EventKey, String, String)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let uids: Vec<&str> = rows.iter().map(|r| r.0.uid.as_str()).collect();
    let rids: Vec<&str> = rows.iter().map(|r| r.0.recurrence_id.as_str()).collect();
    let data: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let hashes: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    sqlx::query(
        "INSERT INTO events (source_id, uid, recurrence_id, data, content_hash, first_seen, updated_at) \
         SELECT $1, u.uid, u.rid, u.data, u.hash, $6, $6 \
         FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) AS u(uid, rid, data, hash) \
         ON CONFLICT (source_id, uid, recurrence_id) DO UPDATE SET data = excluded.data, \
         content_hash = excluded.content_hash, updated_at = excluded.updated_at, \
         revision = events.revision + 1",
    )
    .bind(source)
    .bind(&uids)
    .bind(&rids)
    .bind(&data)
    .bind(&hashes)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves `last_change` to `now` (never backwards).
async fn touch_last_change(tx: &mut Tx<'_>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('last_change', $1) \
         ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)",
    )
    .bind(ts(&now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves the store's version on (see [`Store::version`]).
async fn bump_version<'e, E>(exec: E) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('version', '1') \
         ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text",
    )
    .execute(exec)
    .await
    .map(|_| ())
}

/// After a push: the source's event count and success time, the last change, the version.
async fn touch_source(
    tx: &mut Tx<'_>,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sources SET last_success = $2, event_count = \
         (SELECT count(*) FROM events WHERE source_id = $1 AND recurrence_id = '') WHERE id = $1",
    )
    .bind(source)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    touch_last_change(tx, now).await?;
    bump_version(&mut **tx).await
}

const UPSERT_STATE: &str = "INSERT INTO sources (id, etag, last_modified, content_hash, last_fetch, last_success, \
     last_error, error_count, next_run, event_count, pending_shrink, last_warnings, warning_texts) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (id) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, \
     content_hash = excluded.content_hash, last_fetch = excluded.last_fetch, \
     last_success = excluded.last_success, last_error = excluded.last_error, \
     error_count = excluded.error_count, next_run = excluded.next_run, \
     event_count = excluded.event_count, pending_shrink = excluded.pending_shrink, \
     last_warnings = excluded.last_warnings, warning_texts = excluded.warning_texts";

fn small(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

async fn write_state<'e, E>(exec: E, s: &SourceState) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    sqlx::query(UPSERT_STATE)
        .bind(&s.id)
        .bind(&s.etag)
        .bind(&s.last_modified)
        .bind(&s.content_hash)
        .bind(s.last_fetch.map(secs))
        .bind(s.last_success.map(secs))
        .bind(&s.last_error)
        .bind(small(s.error_count))
        .bind(s.next_run.map(secs))
        .bind(small(s.event_count))
        .bind(small(s.pending_shrink))
        .bind(small(s.last_warnings))
        .bind(super::warning_texts_json(&s.warning_texts))
        .execute(exec)
        .await
        .map(|_| ())
}

/// Inserts or updates one event (keeping `first_seen`; `updated_at` moves only when the
/// content changed). `old_hash` is the stored content hash, if the event exists.
async fn write_event(
    tx: &mut Tx<'_>,
    source: &str,
    ev: &Event,
    old_hash: Option<&str>,
    now: DateTime<Utc>,
    stats: &mut ApplyStats,
) -> Result<(), StoreError> {
    let super::Encoded { json, hash, .. } = super::Encoded::new(ev)?;
    match old_hash {
        Some(old) if old == hash => {
            stats.unchanged += 1;
            return Ok(());
        }
        Some(_) => stats.updated += 1,
        None => stats.inserted += 1,
    }
    upsert_batch(tx, source, &[(ev.key(), json, hash)], now).await
}

impl crate::geo::geocoder::Cache for PgStore {
    type Error = StoreError;

    async fn geocode_cached(&self, query: &str) -> Result<Option<Option<Geo>>, StoreError> {
        let row = sqlx::query("SELECT lat, lon FROM geocode WHERE query = $1")
            .bind(query)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            None => None,
            Some(r) => {
                let lat: Option<f64> = r.try_get("lat")?;
                let lon: Option<f64> = r.try_get("lon")?;
                Some(lat.zip(lon).and_then(|(a, b)| Geo::new(a, b)))
            }
        })
    }

    async fn save_geocode(
        &self,
        query: &str,
        answer: Option<Geo>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO geocode (query, lat, lon, fetched_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (query) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, \
             fetched_at = excluded.fetched_at",
        )
        .bind(query)
        .bind(answer.map(|g| g.lat))
        .bind(answer.map(|g| g.lon))
        .bind(secs(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store for PgStore {
    async fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let rows = sqlx::query("SELECT * FROM sources ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(state_from_row).collect::<Result<_, _>>()?)
    }

    async fn source_state(&self, id: &str) -> Result<Option<SourceState>, StoreError> {
        let row = sqlx::query("SELECT * FROM sources WHERE id = $1")
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
        let now = secs(now);
        let encoded = match events {
            Some(events) => Some(super::encode_all(events).await?),
            None => None,
        };
        let mut tx = self.pool.begin().await?;
        lock_source(&mut tx, &state.id).await?;
        let mut stats = ApplyStats::default();
        let mut state = state.clone();
        if let Some(encoded) = encoded {
            let rows = sqlx::query(
                "SELECT uid, recurrence_id, content_hash FROM events WHERE source_id = $1",
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
                    upsert_batch(&mut tx, &state.id, &batch, now).await?;
                    batch.clear();
                }
            }
            upsert_batch(&mut tx, &state.id, &batch, now).await?;
            let gone: Vec<EventKey> = existing.into_keys().collect();
            for chunk in gone.chunks(BATCH) {
                let uids: Vec<&str> = chunk.iter().map(|k| k.uid.as_str()).collect();
                let rids: Vec<&str> = chunk.iter().map(|k| k.recurrence_id.as_str()).collect();
                sqlx::query(
                    "DELETE FROM events WHERE source_id = $1 AND (uid, recurrence_id) IN \
                     (SELECT * FROM UNNEST($2::text[], $3::text[]))",
                )
                .bind(&state.id)
                .bind(&uids)
                .bind(&rids)
                .execute(&mut *tx)
                .await?;
                stats.deleted += chunk.len();
            }
            state.event_count = u32::try_from(count).unwrap_or(u32::MAX);
            if stats.changed() {
                touch_last_change(&mut tx, now).await?;
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
        let now = secs(now);
        let mut tx = self.pool.begin().await?;
        lock_source(&mut tx, source).await?;
        let mut stats = ApplyStats::default();
        for ev in events {
            let key = ev.key();
            let old: Option<String> = sqlx::query_scalar(
                "SELECT content_hash FROM events WHERE source_id = $1 AND uid = $2 AND recurrence_id = $3",
            )
            .bind(source)
            .bind(&key.uid)
            .bind(&key.recurrence_id)
            .fetch_optional(&mut *tx)
            .await?;
            write_event(&mut tx, source, ev, old.as_deref(), now, &mut stats).await?;
        }
        if stats.changed() {
            touch_source(&mut tx, source, now).await?;
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
        let now = secs(now);
        let mut tx = self.pool.begin().await?;
        lock_source(&mut tx, source).await?;
        let row = sqlx::query(
            "SELECT data, content_hash FROM events WHERE source_id = $1 AND uid = $2 AND recurrence_id = ''",
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
                write_event(&mut tx, source, &ev, Some(&hash), now, &mut stats).await?;
            }
        }
        let overrides = sqlx::query(
            "DELETE FROM events WHERE source_id = $1 AND uid = $2 AND recurrence_id != ''",
        )
        .bind(source)
        .bind(uid)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let gone = stats.updated > 0 || overrides > 0;
        if gone {
            touch_source(&mut tx, source, now).await?;
        }
        tx.commit().await?;
        Ok(gone)
    }

    async fn save_state(&self, state: &SourceState) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        write_state(&mut *tx, state).await?;
        bump_version(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn source_events(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM events WHERE source_id = $1 ORDER BY uid COLLATE \"C\", recurrence_id COLLATE \"C\"",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn all_events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        use futures_util::TryStreamExt;
        // Byte order (COLLATE "C"), as SQLite sorts: both backends hand out the same order.
        let mut rows = sqlx::query(
            "SELECT * FROM events ORDER BY source_id COLLATE \"C\", uid COLLATE \"C\", recurrence_id COLLATE \"C\"",
        )
        .fetch(&self.pool);
        let mut decoder = super::Decoder::new();
        while let Some(row) = rows.try_next().await? {
            decoder.push(raw_from_row(&row)?).await;
        }
        decoder.finish().await
    }

    async fn last_change(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'last_change'")
                .fetch_optional(&self.pool)
                .await?;
        Ok(value
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&Utc)))
    }

    async fn claim(
        &self,
        source: &str,
        holder: &str,
        expected_seq: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        sqlx::query("INSERT INTO sources (id) VALUES ($1) ON CONFLICT (id) DO NOTHING")
            .bind(source)
            .execute(&self.pool)
            .await?;
        // One conditional UPDATE: a concurrent claimer waits for the row lock, then re-checks
        // the condition against the committed row (READ COMMITTED), sees the moved fetch_seq
        // and updates nothing. Exactly one of them wins.
        let granted = sqlx::query(
            "UPDATE sources SET fetch_seq = fetch_seq + 1, lease_holder = $1, lease_until = $2 \
             WHERE id = $3 AND fetch_seq = $4 \
             AND (lease_holder IS NULL OR lease_holder = $1 OR lease_until IS NULL OR lease_until <= $5)",
        )
        .bind(holder)
        .bind(secs(super::lease_end(now, lease)))
        .bind(source)
        .bind(expected_seq)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if granted {
            return Ok(Claim::Granted);
        }
        let row = sqlx::query("SELECT lease_holder, lease_until FROM sources WHERE id = $1")
            .bind(source)
            .fetch_one(&self.pool)
            .await?;
        let until: Option<DateTime<Utc>> = row.try_get("lease_until")?;
        let other: Option<String> = row.try_get("lease_holder")?;
        Ok(Claim::Refused {
            lease_until: until.filter(|u| *u > now && other.as_deref() != Some(holder)),
        })
    }

    async fn renew(
        &self,
        source: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sources SET lease_until = $1 WHERE id = $2 AND lease_holder = $3")
                .bind(secs(super::lease_end(now, lease)))
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
             WHERE id = $1 AND lease_holder = $2",
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
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind = 'r'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(size.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_the_password() {
        assert_eq!(
            redact("postgres://cal:secret@db.example:5432/regiocal"),
            "postgres://cal:***@db.example:5432/regiocal"
        );
        assert_eq!(
            redact("postgres://db.example/regiocal"),
            "postgres://db.example/regiocal"
        );
    }
}

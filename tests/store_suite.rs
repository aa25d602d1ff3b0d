//! One store test suite, run against each backend: every test below is an `async fn` over any
//! [`Store`], instantiated once for SQLite (a temporary file) and once for PostgreSQL (a fresh
//! schema on the server named by `REGIOCAL_TEST_POSTGRES_URL`). Without that server the
//! PostgreSQL half prints `NOT RUN` and why; under CI it fails instead.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use regiocal::model::{Event, Geo, SourceState, Status};
use regiocal::store::{Claim, PgStore, SqliteStore, Store};
use std::collections::HashSet;

fn t(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0).unwrap()
}

/// Realistic events: the Google Calendar export fixture (singles, a series, an override).
fn events() -> Vec<Event> {
    let (events, _) = common::parse_fixture("ics/google.ics");
    assert!(events.len() >= 3, "fixture has events");
    events
}

fn state(id: &str) -> SourceState {
    SourceState {
        id: id.into(),
        etag: Some("\"v1\"".into()),
        last_modified: Some("Fri, 20 Nov 2026 10:00:00 GMT".into()),
        content_hash: Some("abc".into()),
        last_fetch: Some(t(10)),
        last_success: Some(t(10)),
        next_run: Some(t(11)),
        event_count: 0,
        ..SourceState::default()
    }
}

async fn apply_replaces_and_counts<S: Store>(store: S) {
    let evs = events();
    let st = state("theater");
    let stats = store.apply(&st, Some(&evs), t(10)).await.unwrap();
    assert_eq!(stats.inserted, evs.len());
    assert_eq!(stats.updated + stats.deleted + stats.unchanged, 0);

    // Same events again: nothing changes, first_seen and updated_at stay.
    let stats = store.apply(&st, Some(&evs), t(11)).await.unwrap();
    assert_eq!(stats.unchanged, evs.len());
    assert!(!stats.changed());
    let stored = store.source_events("theater").await.unwrap();
    assert!(
        stored
            .iter()
            .all(|s| s.first_seen == t(10) && s.updated_at == t(10) && s.revision == 0)
    );

    // One changed, one gone, one new.
    let mut next = evs.clone();
    next[0].title = format!("{} (verlegt)", next[0].title);
    let gone = next.remove(1);
    let mut added = next[0].clone();
    added.uid = "neu-2026@example.org".into();
    added.recurrence_id = None;
    added.rrule = None;
    next.push(added);
    let stats = store.apply(&st, Some(&next), t(12)).await.unwrap();
    assert_eq!(
        (stats.inserted, stats.updated, stats.deleted),
        (1, 1, 1),
        "{stats:?}"
    );
    let stored = store.source_events("theater").await.unwrap();
    assert_eq!(stored.len(), next.len());
    assert!(!stored.iter().any(|s| s.event.key() == gone.key()));
    let changed = stored
        .iter()
        .find(|s| s.event.key() == next[0].key())
        .unwrap();
    assert_eq!(changed.event.title, next[0].title);
    assert_eq!(changed.first_seen, t(10), "first_seen is kept");
    assert_eq!(changed.updated_at, t(12));
    assert_eq!(changed.revision, 1);
    let new = stored
        .iter()
        .find(|s| s.event.uid == "neu-2026@example.org")
        .unwrap();
    assert_eq!((new.first_seen, new.revision), (t(12), 0));
    let saved = store.source_state("theater").await.unwrap().unwrap();
    assert_eq!(saved.event_count as usize, next.len());
    assert_eq!(saved.etag.as_deref(), Some("\"v1\""));
    assert_eq!(store.last_change().await.unwrap(), Some(t(12)));
}

async fn failed_fetch_keeps_events<S: Store>(store: S) {
    let evs = events();
    store
        .apply(&state("club"), Some(&evs), t(10))
        .await
        .unwrap();
    let mut failed = state("club");
    failed.last_error = Some("HTTP 500".into());
    failed.error_count = 3;
    failed.last_fetch = Some(t(13));
    let stats = store.apply(&failed, None, t(13)).await.unwrap();
    assert!(!stats.changed());
    assert_eq!(store.source_events("club").await.unwrap().len(), evs.len());
    let saved = store.source_state("club").await.unwrap().unwrap();
    assert_eq!(saved.error_count, 3);
    assert_eq!(saved.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(
        store.last_change().await.unwrap(),
        Some(t(10)),
        "a failure is no change"
    );
    // save_state alone leaves events alone too.
    store.save_state(&state("club")).await.unwrap();
    assert_eq!(store.source_events("club").await.unwrap().len(), evs.len());
}

async fn state_round_trips<S: Store>(store: S) {
    let mut st = state("oparl");
    st.last_error = Some("Zeitüberschreitung nach 30 s".into());
    st.error_count = 2;
    st.pending_shrink = 1;
    st.last_warnings = 7;
    st.event_count = 0;
    store.save_state(&st).await.unwrap();
    let back = store.source_state("oparl").await.unwrap().unwrap();
    assert_eq!(
        SourceState {
            fetch_seq: 0,
            lease_until: None,
            ..back.clone()
        },
        st
    );
    assert!(store.source_state("nope").await.unwrap().is_none());
    store.save_state(&state("aaa")).await.unwrap();
    let ids: Vec<String> = store
        .source_states()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["aaa", "oparl"]);
}

async fn push_upsert_and_withdraw<S: Store>(store: S) {
    let evs = events();
    store
        .apply(&state("verein"), Some(&evs[..2]), t(10))
        .await
        .unwrap();
    // A push adds one and leaves the others alone.
    let mut pushed = evs[2].clone();
    pushed.uid = "push-1@verein".into();
    pushed.recurrence_id = None;
    let stats = store
        .upsert_events("verein", std::slice::from_ref(&pushed), t(11))
        .await
        .unwrap();
    assert_eq!(stats.inserted, 1);
    assert_eq!(store.source_events("verein").await.unwrap().len(), 3);
    // The same push again changes nothing.
    let stats = store
        .upsert_events("verein", std::slice::from_ref(&pushed), t(12))
        .await
        .unwrap();
    assert_eq!(stats.unchanged, 1);
    assert_eq!(store.last_change().await.unwrap(), Some(t(11)));
    // Withdrawn: stays as cancelled, marked withdrawn.
    assert!(
        store
            .delete_event("verein", "push-1@verein", t(13))
            .await
            .unwrap()
    );
    let stored = store.source_events("verein").await.unwrap();
    let gone = stored
        .iter()
        .find(|s| s.event.uid == "push-1@verein")
        .unwrap();
    assert_eq!(gone.event.status, Status::Cancelled);
    assert_eq!(gone.event.withdrawn, Some(t(13)));
    assert!(
        !store
            .delete_event("verein", "push-1@verein", t(14))
            .await
            .unwrap(),
        "already withdrawn"
    );
    assert!(
        !store
            .delete_event("verein", "unknown", t(14))
            .await
            .unwrap()
    );
    let st = store.source_state("verein").await.unwrap().unwrap();
    assert_eq!(st.event_count, 3);
}

async fn order_and_text_survive<S: Store>(store: S) {
    let base = events()[0].clone();
    let mut evs = Vec::new();
    for uid in ["b", "B", "ä-umlaut", "a", "Zebra", "10", "9"] {
        let mut ev = base.clone();
        ev.uid = uid.into();
        ev.rrule = None;
        ev.recurrence_id = None;
        ev.title = "Konzert: Bürgerhaus Café 🎻 \"Nacht\" <b>".into();
        ev.description = Some(format!(
            "Zeile 1\nZeile 2 \\ ; , \u{0} NUL\n{}",
            "x".repeat(200_000)
        ));
        evs.push(ev);
    }
    store.apply(&state("z"), Some(&evs), t(10)).await.unwrap();
    store
        .apply(&state("a"), Some(&evs[..1]), t(10))
        .await
        .unwrap();
    let all = store.all_events().await.unwrap();
    let order: Vec<(String, String)> = all
        .iter()
        .map(|s| (s.source.clone(), s.event.uid.clone()))
        .collect();
    // Byte order on both backends.
    let mut expected = order.clone();
    expected.sort();
    assert_eq!(order, expected);
    assert_eq!(order[0], ("a".into(), "b".into()));
    assert_eq!(
        all.iter()
            .find(|s| s.event.uid == "ä-umlaut")
            .unwrap()
            .event,
        evs[2],
        "the event comes back exactly"
    );
}

async fn geocode_cache<S: Store>(store: S) {
    assert_eq!(
        store.geocode_cached("Markt 1, Musterstadt").await.unwrap(),
        None
    );
    let g = Geo::new(51.5136, 7.4653).unwrap();
    store
        .save_geocode("Markt 1, Musterstadt", Some(g), t(10))
        .await
        .unwrap();
    store
        .save_geocode("Nirgendwo 0", None, t(10))
        .await
        .unwrap();
    assert_eq!(
        store.geocode_cached("Markt 1, Musterstadt").await.unwrap(),
        Some(Some(g))
    );
    assert_eq!(
        store.geocode_cached("Nirgendwo 0").await.unwrap(),
        Some(None)
    );
}

async fn last_change_never_moves_back<S: Store>(store: S) {
    let evs = events();
    store.apply(&state("a"), Some(&evs), t(12)).await.unwrap();
    // A write stamped earlier (a clock step back on another instance).
    store.apply(&state("b"), Some(&evs), t(9)).await.unwrap();
    assert_eq!(store.last_change().await.unwrap(), Some(t(12)));
}

async fn version_moves_on_writes_only<S: Store>(store: S) {
    let v0 = store.version().await.unwrap();
    store
        .apply(&state("a"), Some(&events()), t(10))
        .await
        .unwrap();
    let v1 = store.version().await.unwrap();
    assert!(v1 > v0);
    store.save_state(&state("a")).await.unwrap();
    let v2 = store.version().await.unwrap();
    assert!(v2 > v1, "a state change is visible to other instances");
    let seq = store.source_state("a").await.unwrap().unwrap().fetch_seq;
    assert_eq!(
        store
            .claim("a", "i1", seq, t(11), std::time::Duration::from_secs(60))
            .await
            .unwrap(),
        Claim::Granted
    );
    store.release("a", "i1").await.unwrap();
    assert_eq!(
        store.version().await.unwrap(),
        v2,
        "claims are not content changes"
    );
}

async fn claims_grant_one_holder<S: Store + Clone>(store: S) {
    let lease = std::time::Duration::from_secs(60);
    // A never-seen source: sequence 0.
    assert_eq!(
        store.claim("kino", "i1", 0, t(10), lease).await.unwrap(),
        Claim::Granted
    );
    let st = store.source_state("kino").await.unwrap().unwrap();
    assert_eq!(st.fetch_seq, 1);
    assert_eq!(st.lease_until, Some(t(10) + Duration::seconds(60)));
    // Another instance that read the old state is refused and told about the lease.
    assert_eq!(
        store.claim("kino", "i2", 0, t(10), lease).await.unwrap(),
        Claim::Refused {
            lease_until: Some(t(10) + Duration::seconds(60))
        }
    );
    // Even with the current sequence, the lease holds it off.
    assert!(matches!(
        store.claim("kino", "i2", 1, t(10), lease).await.unwrap(),
        Claim::Refused {
            lease_until: Some(_)
        }
    ));
    // After release: the next run needs the current sequence.
    store.release("kino", "i1").await.unwrap();
    assert_eq!(
        store.claim("kino", "i2", 0, t(10), lease).await.unwrap(),
        Claim::Refused { lease_until: None },
        "the run i2 read about was done by i1"
    );
    assert_eq!(
        store.claim("kino", "i2", 1, t(11), lease).await.unwrap(),
        Claim::Refused { lease_until: None },
        "read during i1's fetch: outdated after its release"
    );
    let seq = store.source_state("kino").await.unwrap().unwrap().fetch_seq;
    assert_eq!(seq, 2, "claim and release each count");
    assert_eq!(
        store.claim("kino", "i2", seq, t(11), lease).await.unwrap(),
        Claim::Granted
    );
    // A holder renews its lease while it works; others cannot.
    assert!(
        store
            .renew("kino", "i2", t(11) + Duration::seconds(50), lease)
            .await
            .unwrap()
    );
    assert!(!store.renew("kino", "i9", t(11), lease).await.unwrap());
    assert_eq!(
        store
            .source_state("kino")
            .await
            .unwrap()
            .unwrap()
            .lease_until,
        Some(t(11) + Duration::seconds(110))
    );
    store.renew("kino", "i2", t(11), lease).await.unwrap();
    // i2 dies holding it: after the lease, i3 takes over.
    let seq = store.source_state("kino").await.unwrap().unwrap().fetch_seq;
    assert!(matches!(
        store.claim("kino", "i3", seq, t(11), lease).await.unwrap(),
        Claim::Refused { .. }
    ));
    assert_eq!(
        store
            .claim("kino", "i3", seq, t(11) + Duration::seconds(61), lease)
            .await
            .unwrap(),
        Claim::Granted
    );
    // A stale release by the dead holder does not free i3's lease.
    store.release("kino", "i2").await.unwrap();
    let seq = store.source_state("kino").await.unwrap().unwrap().fetch_seq;
    assert!(matches!(
        store
            .claim("kino", "i4", seq, t(11) + Duration::seconds(62), lease)
            .await
            .unwrap(),
        Claim::Refused {
            lease_until: Some(_)
        }
    ));
    // Claims do not disturb the fetch state the ingest writes.
    let mut s = state("kino");
    s.event_count = 0;
    store.save_state(&s).await.unwrap();
    let back = store.source_state("kino").await.unwrap().unwrap();
    assert_eq!(back.fetch_seq, seq, "save_state keeps the claim sequence");

    // Many claimers race for one run: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .claim("race", &format!("i{i}"), 0, t(10), lease)
                .await
                .unwrap()
        }));
    }
    let mut granted = 0;
    for task in tasks {
        if task.await.unwrap() == Claim::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 1);
}

async fn concurrent_writes_to_one_source<S: Store + Clone>(store: S) {
    // A fetch replacing the source's events while pushes add to it: every write lands whole.
    let evs = events();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let mut evs = evs.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                store.apply(&state("mix"), Some(&evs), t(10)).await.unwrap();
            } else {
                for ev in &mut evs {
                    ev.uid = format!("push-{i}-{}", ev.uid);
                }
                store.upsert_events("mix", &evs, t(10)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stored = store.source_events("mix").await.unwrap();
    let keys: HashSet<_> = stored.iter().map(|s| s.event.key()).collect();
    assert_eq!(keys.len(), stored.len(), "no duplicate rows");
    for ev in &evs {
        assert!(keys.contains(&ev.key()), "the fetched events are all there");
    }
}

/// `n` single events (copies of the first sample event) with the UIDs `uid(i)` gives.
fn numbered(n: usize, uid: impl Fn(usize) -> String) -> Vec<Event> {
    let template = events().remove(0);
    (0..n)
        .map(|i| Event {
            uid: uid(i),
            recurrence_id: None,
            ..template.clone()
        })
        .collect()
}

/// A store larger than one decoding chunk (1,024 rows) comes back whole, in byte order of
/// (source, UID, RECURRENCE-ID), on both backends.
async fn large_store_reads_back_in_order<S: Store>(store: S) {
    let mut stored = Vec::new();
    for (s, source) in ["museum", "Theater", "bürgerhaus"].iter().enumerate() {
        // UIDs in an order that is neither byte nor numeric order, with upper case and umlauts.
        let mut evs = numbered(1100, |i| {
            let prefix = ["z", "Ä", "a", "B"][(i * 7 + s) % 4];
            format!("{prefix}-{}@{source}", (i * 389) % 1100)
        });
        for (i, e) in evs.iter_mut().enumerate() {
            e.title = format!("{source} {i}");
        }
        store
            .apply(&state(source), Some(&evs), t(10))
            .await
            .unwrap();
        stored.extend(evs.into_iter().map(|e| (source.to_string(), e)));
    }
    let all = store.all_events().await.unwrap();
    assert_eq!(all.len(), 3300);
    stored.sort_by(|a, b| (&a.0, &a.1.uid).cmp(&(&b.0, &b.1.uid)));
    for (got, (source, event)) in all.iter().zip(&stored) {
        assert_eq!((&got.source, &got.event.uid), (source, &event.uid));
        assert_eq!(&got.event, event, "the event comes back exactly");
    }
}

/// The store is read a few sources at a time: with 8 sources (a multiple of the batch) and with
/// 9 (a partial last batch), every source's events come back whole and in key order.
async fn many_sources_read_back_whole<S: Store>(store: S) {
    let names = ["b9", "A", "ä", "b10", "a", "Z", "z-1", "museum", "theater"];
    let mut stored: Vec<(String, String)> = Vec::new();
    for (n, source) in names.iter().enumerate() {
        let evs = numbered(3 + n, |i| format!("{}-{source}", 20 - i));
        store
            .apply(&state(source), Some(&evs), t(10))
            .await
            .unwrap();
        stored.extend(evs.iter().map(|e| (source.to_string(), e.uid.clone())));
        if n == 7 || n == 8 {
            let mut want = stored.clone();
            want.sort();
            let got: Vec<(String, String)> = store
                .all_events()
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.source, e.event.uid))
                .collect();
            assert_eq!(got, want, "after {} sources", n + 1);
        }
    }
}

/// The reported size is the store's, and it grows with what is stored.
async fn size_grows_with_events<S: Store>(store: S) {
    let empty = store.size_bytes().await.unwrap();
    assert!(empty > 0, "the tables exist: {empty}");
    let template = events().remove(0);
    let many: Vec<Event> = (0..2000)
        .map(|i| {
            let mut e = template.clone();
            e.uid = format!("serie-{i}@example.org");
            e.recurrence_id = None;
            e.description = Some(format!("Lesung {i}: {}", "Text ".repeat(100)));
            e
        })
        .collect();
    store
        .apply(&state("theater"), Some(&many), t(10))
        .await
        .unwrap();
    let full = store.size_bytes().await.unwrap();
    // 2000 events of about 600 bytes of description each.
    assert!(full >= empty + 1_000_000, "{empty} -> {full}");
}

/// A stored row damaged outside regiocal (here: truncated JSON) fails the read with an error
/// naming its source, on both backends; the other sources' rows are untouched.
async fn corrupt_row_names_its_source<S: Store>(store: S, corrupt: impl AsyncFnOnce()) {
    for source in ["museum", "stadtbibliothek", "theater"] {
        let evs = numbered(1500, |i| format!("{i}@{source}"));
        store
            .apply(&state(source), Some(&evs), t(10))
            .await
            .unwrap();
    }
    assert_eq!(store.all_events().await.unwrap().len(), 4500);
    corrupt().await;
    match store.all_events().await {
        Err(regiocal::store::StoreError::Corrupt { what, reason }) => {
            assert!(what.contains("\"stadtbibliothek\""), "{what}");
            assert!(reason.contains("EOF"), "{reason}");
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|v| v.len())),
    }
    assert_eq!(store.source_events("museum").await.unwrap().len(), 1500);
}

/// Truncates the stored JSON of one event of `stadtbibliothek`.
const CORRUPT_ONE: &str = "UPDATE events SET data = substr(data, 1, 40) \
    WHERE source_id = 'stadtbibliothek' AND uid = '777@stadtbibliothek'";

#[tokio::test]
async fn sqlite_corrupt_row_names_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    corrupt_row_names_its_source(store, async || {
        let url = format!("sqlite://{}", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let done = sqlx::query(CORRUPT_ONE).execute(&pool).await.unwrap();
        assert_eq!(done.rows_affected(), 1);
        pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn postgres_corrupt_row_names_its_source() {
    let Some(url) = common::postgres_or_skip("postgres_corrupt_row_names_its_source") else {
        return;
    };
    let schema = common::unique_schema("corrupt_row");
    let store = PgStore::open(&url, Some(&schema), 8).await.unwrap();
    corrupt_row_names_its_source(store, async || {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let sql = format!("SET search_path TO \"{schema}\"; {CORRUPT_ONE}");
        let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        pool.close().await;
    })
    .await;
}

async fn page_size(path: &std::path::Path) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let size = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    size
}

/// A new SQLite store is made of 16 KiB pages; a store made before keeps its pages and works.
#[tokio::test]
async fn sqlite_page_size_of_new_and_old_stores() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.sqlite");
    let store = SqliteStore::open(&new).await.unwrap();
    store
        .apply(&state("theater"), Some(&events()), t(10))
        .await
        .unwrap();
    drop(store);
    assert_eq!(page_size(&new).await, 16384);

    let old = dir.path().join("old.sqlite");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&old)
        .create_if_missing(true)
        .page_size(4096);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    sqlx::query("CREATE TABLE made_before (x)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let store = SqliteStore::open(&old).await.unwrap();
    store
        .apply(&state("theater"), Some(&events()), t(10))
        .await
        .unwrap();
    assert_eq!(store.all_events().await.unwrap().len(), events().len());
    drop(store);
    assert_eq!(page_size(&old).await, 4096);
}

/// Instantiates each suite test for both backends.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = SqliteStore::open(&dir.path().join("store.sqlite")).await.unwrap();
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(url) = common::postgres_or_skip(concat!("postgres::", stringify!($name))) else {
                        return;
                    };
                    let store = PgStore::open(&url, Some(&common::unique_schema(stringify!($name))), 8)
                        .await
                        .unwrap();
                    super::$name(store).await;
                }
            )*
        }
    };
}

suite!(
    apply_replaces_and_counts,
    failed_fetch_keeps_events,
    state_round_trips,
    push_upsert_and_withdraw,
    order_and_text_survive,
    geocode_cache,
    last_change_never_moves_back,
    version_moves_on_writes_only,
    claims_grant_one_holder,
    concurrent_writes_to_one_source,
    size_grows_with_events,
    large_store_reads_back_in_order,
    many_sources_read_back_whole,
);

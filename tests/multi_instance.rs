//! Several `regiocal serve` processes on one PostgreSQL database share the fetching and all
//! serve the same feeds. Needs the test PostgreSQL server (`REGIOCAL_TEST_POSTGRES_URL`);
//! without it the test prints `NOT RUN` and why (under CI it fails instead).

mod common;

use common::{Reply, StubServer};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SOURCES: usize = 50;
/// Every source is due every 5 s.
const TICK: Duration = Duration::from_secs(5);

struct Instance {
    child: Child,
    base: String,
    /// Its log lines (RUST_LOG=regiocal=debug), for the messages of failed assertions.
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path) -> Instance {
    // Owned by the Instance at once: it is killed and reaped on every path, panics included.
    let mut inst = Instance {
        child: Command::new(env!("CARGO_BIN_EXE_regiocal"))
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "regiocal=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        base: String::new(),
        log: Arc::default(),
    };
    let stderr = inst.child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let line = lines.next().unwrap().unwrap();
        if let Some(at) = line.find("Serving http://") {
            let rest = &line[at + "Serving ".len()..];
            inst.base = rest[..rest.find("/calendar.ics").unwrap()].to_string();
            let log = inst.log.clone();
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
            return inst;
        }
    }
    panic!("instance did not start");
}

fn feed(source: usize, version: &str) -> Vec<u8> {
    let mut s = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Stub//Multi//DE\r\nX-WR-TIMEZONE:Europe/Berlin\r\n",
    );
    for i in 0..4 {
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:q{source}-e{i}@stub.example\r\nDTSTAMP:20261101T000000Z\r\n\
             DTSTART;TZID=Europe/Berlin:202612{:02}T{:02}0000\r\nDURATION:PT2H\r\n\
             SUMMARY:{version} Quelle {source} Termin {i}\r\nLOCATION:Saal {source}\r\nEND:VEVENT\r\n",
            1 + (source + i) % 28,
            10 + i
        ));
    }
    s.push_str("END:VCALENDAR\r\n");
    s.into_bytes()
}

async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Sum of `regiocal_fetch_total` over sources and outcomes on one instance.
async fn fetches(base: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("regiocal_fetch_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn etag(base: &str) -> String {
    reqwest::get(format!("{base}/calendar.ics"))
        .await
        .unwrap()
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

/// Waits until `check` holds (polling every 250 ms), or panics with `what` after `limit`.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_sources_and_take_over_from_a_dead_one() {
    let Some(url) = common::postgres_or_skip("three_instances_share_sources") else {
        return;
    };
    let stub = StubServer::start().await;
    let mut blocks = String::new();
    for i in 0..SOURCES {
        stub.script(
            &format!("/q{i}.ics"),
            vec![Reply::Feed {
                body: feed(i, "A"),
                etag: Some(format!("\"q{i}-a\"")),
            }],
        );
        blocks.push_str(&format!(
            "[[source]]\nid = \"q{i}\"\nname = \"Quelle {i}\"\nurl = \"{}\"\nschedule = \"*/5 * * * * *\"\n",
            stub.url(&format!("/q{i}.ics"))
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let schema = common::unique_schema("multi");
    let config = dir.path().join("regiocal.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n\
             [store]\nurl = \"{url}\"\nschema = \"{schema}\"\nlease = \"3s\"\npoll_interval = \"1s\"\n\
             [calendar]\nname = \"Region\"\ntimezone = \"Europe/Berlin\"\npast_days = 30\nfuture_days = 400\n\
             [fetch]\nallow_networks = [\"127.0.0.0/8\"]\nmin_interval = \"1s\"\ntimeout_secs = 120\n\
             concurrency = 16\nper_host_concurrency = 64\n{blocks}"
        ),
    )
    .unwrap();
    let mut instances: Vec<Instance> = (0..3).map(|_| start(&config)).collect();
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();

    // Every instance serves every source's events, whoever fetched them.
    for base in &bases {
        common::eventually(
            Duration::from_secs(30),
            "all events on every instance",
            || async {
                let page = get_json(&format!("{base}/api/v1/events?limit=500")).await;
                page["events"].as_array().map(Vec::len) == Some(SOURCES * 4)
            },
        )
        .await;
    }
    // Run a few ticks, then look at who fetched what when.
    tokio::time::sleep(TICK * 3).await;
    let seen = stub.seen.lock().unwrap().clone();
    // Cron fires every 5 s on the wall clock: per source, at most one fetch per 5-second window
    // (a run fetched by two instances would put two into one window).
    let mut by_source: HashMap<String, Vec<u64>> = HashMap::new();
    for s in &seen {
        let secs = s
            .wall
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        by_source
            .entry(s.path.clone())
            .or_default()
            .push(secs / TICK.as_secs());
    }
    assert_eq!(by_source.len(), SOURCES);
    for (path, windows) in by_source {
        assert!(
            windows.len() >= 3,
            "{path} fetched {} times in 4 ticks",
            windows.len()
        );
        // The first fetch is the start-up fetch of a source never fetched, off the cron grid;
        // the tick right after it may be postponed by `min_interval` into the same window.
        // From then on, at most one fetch per window.
        let ticks = &windows[1..];
        let distinct: std::collections::HashSet<_> = ticks.iter().collect();
        if distinct.len() != ticks.len() {
            // What each instance logged about that source, to tell a retry after a failed
            // ingest from a run done twice.
            let id = path.trim_start_matches('/').trim_end_matches(".ics");
            let mut logs = String::new();
            for (k, inst) in instances.iter().enumerate() {
                for line in inst.log.lock().unwrap().iter() {
                    // The id, not a longer one it begins ("q3" in "q35").
                    let names = line.match_indices(id).any(|(at, _)| {
                        !line[at + id.len()..].starts_with(|c: char| c.is_ascii_digit())
                    });
                    if names {
                        logs.push_str(&format!("instance {k}: {line}\n"));
                    }
                }
            }
            panic!("{path} fetched twice within one tick: windows {windows:?}\n{logs}");
        }
    }
    // The work is shared: every instance fetched, and the counts add up to the requests. A
    // fetch is counted when its ingest is done, so the two agree between ticks (on a busy
    // machine a tick's ingests may still run when it is read: then it is read again).
    for base in &bases {
        assert!(fetches(base).await > 0.0, "{base} fetched nothing");
    }
    let mut last = (0.0, 0.0);
    let agreed = {
        let mut agreed = false;
        for _ in 0..20 {
            let before = stub.seen.lock().unwrap().len() as f64;
            let mut total = 0.0;
            for base in &bases {
                total += fetches(base).await;
            }
            let requests = stub.seen.lock().unwrap().len() as f64;
            last = (total, requests);
            if before == requests && (total - requests).abs() <= 3.0 * SOURCES as f64 / 10.0 + 3.0 {
                agreed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        agreed
    };
    assert!(agreed, "fetches counted {} vs requests {}", last.0, last.1);

    // A change ingested by one instance reaches the feeds and ETags of all within seconds.
    let before: Vec<String> = futures_util::future::join_all(bases.iter().map(|b| etag(b))).await;
    stub.script(
        "/q7.ics",
        vec![Reply::Feed {
            body: feed(7, "B"),
            etag: Some("\"q7-b\"".into()),
        }],
    );
    let changed_at = Instant::now();
    for (base, old) in bases.iter().zip(&before) {
        common::eventually(
            TICK + Duration::from_secs(5),
            "change on every instance",
            || async {
                let page = get_json(&format!("{base}/api/v1/events?source=q7")).await;
                let new_title = page["events"][0]["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("B "));
                new_title && etag(base).await != *old
            },
        )
        .await;
    }
    eprintln!(
        "change visible on all instances after {:?}",
        changed_at.elapsed()
    );
    let etags: Vec<String> = futures_util::future::join_all(bases.iter().map(|b| etag(b))).await;
    assert!(etags.windows(2).all(|w| w[0] == w[1]), "{etags:?}");

    // An instance dies in the middle of a fetch: another takes the source over after the lease.
    stub.script(
        "/q3.ics",
        vec![
            Reply::Slow {
                secs: 600,
                body: feed(3, "C"),
            },
            Reply::Feed {
                body: feed(3, "D"),
                etag: Some("\"q3-d\"".into()),
            },
        ],
    );
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let holder_query = format!("SELECT lease_holder FROM {schema}.sources WHERE id = 'q3'");
    let mut holder = None;
    let deadline = Instant::now() + TICK * 3;
    while holder.is_none() && Instant::now() < deadline {
        let h: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(holder_query.clone()))
            .fetch_one(&pool)
            .await
            .unwrap();
        // Held past a normal fetch's length: that is the stalled one.
        if h.is_some()
            && stub
                .seen
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.path == "/q3.ics")
                .count()
                > 0
        {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let again: Option<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(holder_query.clone()))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            if again.is_some() && again == h {
                holder = again;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let holder = holder.expect("some instance holds the stalled source");
    let pid: u32 = holder.split(':').nth(1).unwrap().parse().unwrap();
    let victim = instances
        .iter()
        .position(|i| i.child.id() == pid)
        .expect("the holder is one of ours");
    let killed_at = Instant::now();
    let mut dead = instances.remove(victim);
    dead.child.kill().unwrap();
    dead.child.wait().unwrap();
    drop(dead);
    let hits_before = stub.seen.lock().unwrap().len();
    for inst in &instances {
        let base = inst.base.clone();
        common::eventually(Duration::from_secs(20), "source taken over", || {
            let base = base.clone();
            async move {
                let page = get_json(&format!("{base}/api/v1/events?source=q3")).await;
                page["events"][0]["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("D "))
            }
        })
        .await;
    }
    eprintln!("taken over {:?} after the kill", killed_at.elapsed());
    // Nothing was lost: every source's events are still served, and the other sources of the
    // dead instance go on being fetched by the survivors.
    tokio::time::sleep(TICK * 2).await;
    let seen = stub.seen.lock().unwrap().clone();
    for i in 0..SOURCES {
        let path = format!("/q{i}.ics");
        assert!(
            seen[hits_before..].iter().any(|s| s.path == path),
            "{path} not fetched after the kill"
        );
    }
    for inst in &instances {
        let page = get_json(&format!("{}/api/v1/events?limit=500", inst.base)).await;
        assert_eq!(page["events"].as_array().map(Vec::len), Some(SOURCES * 4));
        let health = get_json(&format!("{}/healthz", inst.base)).await;
        assert_eq!(health["status"], "ok", "{health}");
        assert_eq!(health["store"]["backend"], "postgres");
    }
}

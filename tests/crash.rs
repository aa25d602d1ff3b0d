//! Crash safety (RELIABILITY.md F7): SIGKILL `regiocal fetch` and `regiocal serve` at random
//! points while a large feed is being ingested and an actor pushes events, many times; after
//! every kill the database passes `PRAGMA integrity_check`, the large source is wholly the old
//! or wholly the new version, and every push that got a 2xx is present.
//!
//! `REGIOCAL_KILL_LOOPS` sets the number of rounds (default 6; the closing figures used 50).

mod common;

use regiocal::store::{AnyStore, Store};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "rc_crash_test_token";
const EVENTS: usize = 20_000;

fn feed(version: char) -> Vec<u8> {
    let mut s = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Crash//DE\r\n");
    for i in 0..EVENTS {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
            + chrono::Duration::days((i % 300) as i64);
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:big-{i}\r\nDTSTART;TZID=Europe/Berlin:{d}T{h:02}0000\r\nDURATION:PT1H\r\nSUMMARY:{version} Veranstaltung {i}\r\nEND:VEVENT\r\n",
            d = day.format("%Y%m%d"),
            h = 8 + i % 12
        ));
    }
    s.push_str("END:VCALENDAR\r\n");
    s.into_bytes()
}

fn spawn(config: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_regiocal"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "regiocal=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn base_url(child: &mut Child) -> Option<String> {
    let stderr = child.stderr.take()?;
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let line = lines.next()?.ok()?;
        if let Some(at) = line.find("Serving http://") {
            let rest = &line[at + "Serving ".len()..];
            std::thread::spawn(move || for _ in lines {});
            return Some(rest[..rest.find("/calendar.ics")?].to_string());
        }
    }
    None
}

/// A small deterministic generator (the seed is printed, so a failing round can be replayed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn f7_sigkill_during_ingest_and_pushes_loses_nothing() {
    let loops: usize = std::env::var("REGIOCAL_KILL_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill test: {loops} rounds, seed {seed}");
    let mut rng = Lcg(seed);
    let dir = tempfile::tempdir().unwrap();
    let feed_path = dir.path().join("big.ics");
    let digest: String = Sha256::digest(TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sources = format!(
        "{}[[source]]\nid = \"push\"\nname = \"Push\"\n[[actor]]\nid = \"a\"\nname = \"A\"\nsources = [\"push\"]\ntoken_sha256 = \"{digest}\"\n",
        common::source_block("big", &feed_path.display().to_string())
    );
    let (config, cfg) = common::write_config(dir.path(), &sources);
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut pushes_sent = 0usize;
    let mut complete_versions = 0usize;
    let rt = tokio::runtime::Runtime::new().unwrap();

    for round in 0..loops {
        let version = if round % 2 == 0 { 'A' } else { 'B' };
        std::fs::write(&feed_path, feed(version)).unwrap();
        let mut serve = spawn(&config, &["serve"]);
        let base = base_url(&mut serve);
        let mut fetch = spawn(&config, &["fetch"]);
        let stop = Arc::new(AtomicBool::new(false));
        let pusher = base.map(|base| {
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("r{round}-p{sent}");
                    sent += 1;
                    let body = serde_json::json!({"id": id, "title": "Gepusht", "start": "2026-12-24T18:00:00+01:00"});
                    let resp = client.post(format!("{base}/api/v1/push/push/events")).bearer_auth(TOKEN).json(&body).send();
                    match resp {
                        Ok(r) if r.status().is_success() => acked.lock().unwrap().push(id),
                        Ok(r) if r.status() == 429 => std::thread::sleep(Duration::from_millis(200)),
                        _ => {}
                    }
                }
                sent
            })
        });
        std::thread::sleep(Duration::from_millis(rng.next() % 2000));
        let _ = fetch.kill();
        let _ = serve.kill();
        let _ = fetch.wait();
        let _ = serve.wait();
        stop.store(true, Ordering::Relaxed);
        if let Some(p) = pusher {
            pushes_sent += p.join().unwrap();
        }

        rt.block_on(async {
            // The configured store: SQLite, or PostgreSQL when the suite runs on it.
            let store = AnyStore::open(&cfg.store).await.unwrap();
            if let AnyStore::Sqlite(sqlite) = &store {
                assert_eq!(
                    sqlite.integrity_check().await.unwrap(),
                    "ok",
                    "round {round}"
                );
            }
            let big = store.source_events("big").await.unwrap();
            let versions: HashSet<char> = big
                .iter()
                .map(|e| e.event.title.chars().next().unwrap())
                .collect();
            assert!(
                big.is_empty() || big.len() == EVENTS,
                "round {round}: partial source with {} events",
                big.len()
            );
            assert!(
                versions.len() <= 1,
                "round {round}: mixed versions {versions:?}"
            );
            if big.len() == EVENTS {
                complete_versions += 1;
            }
            let pushed: HashSet<String> = store
                .source_events("push")
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.event.uid)
                .collect();
            for id in acked.lock().unwrap().iter() {
                assert!(
                    pushed.contains(id),
                    "round {round}: acknowledged push {id} lost"
                );
            }
        });
    }
    let acked = acked.lock().unwrap().len();
    eprintln!(
        "kill test: {loops} rounds, {EVENTS} events per feed version, {pushes_sent} pushes sent, {acked} acknowledged, lost 0, source complete after {complete_versions} rounds"
    );
    assert!(
        acked > 0,
        "no push was acknowledged; the test did not exercise the push path"
    );
}

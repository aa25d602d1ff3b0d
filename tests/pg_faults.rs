//! RELIABILITY.md F10: the PostgreSQL server goes away (mid-ingest) and comes back. regiocal
//! keeps serving its last snapshot, says `degraded` on `/healthz`, loses no stored event, and
//! reconnects by itself. The outage is a TCP proxy on 127.0.0.1 between regiocal and the test
//! server that drops every connection and refuses new ones, so other tests sharing the server
//! are not disturbed. Needs `REGIOCAL_TEST_POSTGRES_URL` (else `NOT RUN`, or a failure under CI).

mod common;

use common::{Reply, StubServer};
use regiocal::app::App;
use regiocal::config::Config;
use regiocal::store::Store;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A loopback TCP proxy that can cut all connections and refuse new ones.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns2.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { addr, up, conns }
    }

    /// The database is gone: every open connection is cut, new ones are closed at once.
    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn get(url: String) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

async fn get_json(url: String) -> Value {
    get(url).await.json().await.unwrap()
}

fn feed(version: &str) -> Vec<u8> {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Stub//F10//DE\r\n\
         BEGIN:VEVENT\r\nUID:orgel@dom.example\r\nDTSTAMP:20261101T000000Z\r\n\
         DTSTART;TZID=Europe/Berlin:20261212T200000\r\nDURATION:PT2H\r\n\
         SUMMARY:{version} Orgelnacht im Dom\r\nLOCATION:Dom\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:chor@dom.example\r\nDTSTAMP:20261101T000000Z\r\n\
         DTSTART;TZID=Europe/Berlin:20261213T170000\r\nDURATION:PT1H\r\n\
         SUMMARY:Adventssingen\r\nLOCATION:Dom\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f10_database_drops_mid_ingest_feeds_stay_and_it_reconnects() {
    let Some(url) = common::postgres_or_skip("f10_database_drops") else {
        return;
    };
    let target: url::Url = url.parse().unwrap();
    let target_addr: SocketAddr = format!(
        "{}:{}",
        target.host_str().unwrap(),
        target.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let proxy = Proxy::start(target_addr).await;
    let mut via_proxy = target.clone();
    via_proxy.set_port(Some(proxy.addr.port())).unwrap();

    let stub = StubServer::start().await;
    stub.script(
        "/dom.ics",
        vec![
            Reply::Feed {
                body: feed("A"),
                etag: None,
            },
            // The second fetch is slow: the database goes away while it runs.
            Reply::Slow {
                secs: 2,
                body: feed("B"),
            },
            Reply::Feed {
                body: feed("C"),
                etag: None,
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regiocal.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n\
             [store]\nurl = \"{via_proxy}\"\nschema = \"{}\"\npoll_interval = \"1s\"\n\
             [calendar]\nname = \"Dom\"\ntimezone = \"Europe/Berlin\"\npast_days = 30\nfuture_days = 400\n\
             [fetch]\nallow_networks = [\"127.0.0.0/8\"]\nmin_interval = \"1s\"\n\
             [[source]]\nid = \"dom\"\nname = \"Dom\"\nurl = \"{}\"\nschedule = \"*/3 * * * * *\"\n",
            common::unique_schema("f10"),
            stub.url("/dom.ics")
        ),
    )
    .unwrap();
    let app = App::open(Config::load(&path).unwrap()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.clone().serve(listener, async {
        let _ = stopped.await;
    }));

    // Up: version A served.
    common::eventually(Duration::from_secs(15), "first ingest served", || async {
        let body = get(format!("{base}/calendar.ics"))
            .await
            .text()
            .await
            .unwrap();
        body.contains("SUMMARY:A Orgelnacht im Dom")
    })
    .await;
    assert_eq!(get_json(format!("{base}/healthz")).await["status"], "ok");

    // The second fetch starts (slow); the database goes away while it runs.
    common::eventually(Duration::from_secs(10), "second fetch started", || async {
        stub.seen.lock().unwrap().len() >= 2
    })
    .await;
    proxy.down();
    let cut_at = Instant::now();
    let ics = get(format!("{base}/calendar.ics")).await;
    let etag = ics.headers()["etag"].to_str().unwrap().to_string();

    // Degraded, but the feeds are served from the last snapshot, unchanged.
    common::eventually(Duration::from_secs(10), "healthz degraded", || async {
        get_json(format!("{base}/healthz")).await["status"] == "degraded"
    })
    .await;
    let health = get_json(format!("{base}/healthz")).await;
    assert_eq!(health["store"]["status"], "unreachable", "{health}");
    assert_eq!(health["store"]["backend"], "postgres");
    for _ in 0..5 {
        let resp = get(format!("{base}/calendar.ics")).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag);
        assert!(resp.text().await.unwrap().contains("A Orgelnacht"));
        let events = get_json(format!("{base}/api/v1/events")).await;
        assert_eq!(events["events"].as_array().unwrap().len(), 2);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Stay away across a few scheduled runs (each fails to claim or record, none crashes).
    tokio::time::sleep(Duration::from_secs(4).saturating_sub(cut_at.elapsed())).await;

    // Back: reconnects by itself, health recovers, the next run stores the new version.
    proxy.up();
    let back_at = Instant::now();
    common::eventually(Duration::from_secs(40), "healthz ok again", || async {
        get_json(format!("{base}/healthz")).await["status"] == "ok"
    })
    .await;
    common::eventually(
        Duration::from_secs(60),
        "a later version ingested",
        || async {
            let body = get(format!("{base}/calendar.ics"))
                .await
                .text()
                .await
                .unwrap();
            body.contains("B Orgelnacht") || body.contains("C Orgelnacht")
        },
    )
    .await;
    eprintln!(
        "recovered {:?} after the database came back",
        back_at.elapsed()
    );
    // Nothing lost: both events stored, the source's state is consistent.
    let stored = app.store.source_events("dom").await.unwrap();
    assert_eq!(stored.len(), 2);
    let state = app.store.source_state("dom").await.unwrap().unwrap();
    assert_eq!(state.event_count, 2);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

//! The fetch choke point against a stub server on 127.0.0.1: address refusal (SSRF) on the
//! literal host, in the resolver (stub map, never the real DNS), on redirect hops; redirect
//! caps; caching hints and backoff in the stored schedule. Named after the rows of
//! RELIABILITY.md's catalogue.

mod common;

use chrono::{DateTime, Utc};
use common::{Reply, StubServer};
use regiocal::config::{Config, SourceLocation};
use regiocal::fetch::guard::Lookup;
use regiocal::fetch::{FetchError, Fetcher};
use std::future::Future;
use std::net::IpAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

fn config(allow: &str) -> Config {
    let text = format!(
        "[calendar]\nname = \"T\"\n[store]\npath = \"/tmp/unused.sqlite\"\n[fetch]\ntimeout_secs = 5\nallow_networks = [{allow}]\n"
    );
    Config::parse(&text, Path::new("/tmp/regiocal.toml")).unwrap()
}

fn source(url: &str) -> regiocal::config::SourceConfig {
    common::source("s", SourceLocation::Http(url.parse().unwrap()))
}

/// Resolves every `*.test` name to 127.0.0.1 (a stub resolver: no DNS traffic).
struct TestNames;
impl Lookup for TestNames {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            if host.ends_with(".test") {
                Ok(vec!["127.0.0.1".parse().unwrap()])
            } else {
                Err(std::io::Error::other(format!(
                    "stub resolver knows no {host}"
                )))
            }
        })
    }
}

fn feed() -> Reply {
    Reply::Feed {
        body: common::fixture("ics/apple.ics"),
        etag: None,
    }
}

#[tokio::test]
async fn row18_loopback_literal_is_refused_without_a_connection() {
    let stub = StubServer::start().await;
    stub.script("/f", vec![feed()]);
    let fetcher = Fetcher::new(&config("").fetch).unwrap();
    let err = fetcher
        .fetch(&source(&stub.url("/f")).location, None)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Refused(_)), "{err}");
    assert!(err.to_string().contains("loopback"), "{err}");
    assert!(
        stub.hits("/f").is_empty(),
        "no request may reach the server"
    );
}

#[tokio::test]
async fn row19_name_resolving_to_loopback_is_refused_unless_allowed() {
    let stub = StubServer::start().await;
    stub.script("/f", vec![feed()]);
    let url = format!("http://feeds.test:{}/f", stub.addr.port());
    let refused = Fetcher::with_lookup(&config("").fetch, Arc::new(TestNames)).unwrap();
    let err = refused
        .fetch(&source(&url).location, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("resolves to no allowed address"),
        "{err}"
    );
    assert!(stub.hits("/f").is_empty());

    let allowed =
        Fetcher::with_lookup(&config("\"127.0.0.1/32\"").fetch, Arc::new(TestNames)).unwrap();
    assert!(allowed.fetch(&source(&url).location, None).await.is_ok());
    assert_eq!(stub.hits("/f").len(), 1);
}

#[tokio::test]
async fn row19_redirect_to_a_refused_address_is_refused_on_the_hop() {
    let stub = StubServer::start().await;
    // 127.0.0.2 is loopback too, but outside the allowed /32: a broken guard would still only
    // touch lo.
    stub.script(
        "/r",
        vec![Reply::Redirect {
            to: format!("http://127.0.0.2:{}/f", stub.addr.port()),
        }],
    );
    stub.script("/f", vec![feed()]);
    let fetcher = Fetcher::new(&config("\"127.0.0.1/32\"").fetch).unwrap();
    let err = fetcher
        .fetch(&source(&stub.url("/r")).location, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("redirect refused") && err.to_string().contains("127.0.0.2"),
        "{err}"
    );
    assert!(stub.hits("/f").is_empty());
}

#[tokio::test]
async fn row15_redirect_loops_and_chains_are_capped() {
    let stub = StubServer::start().await;
    stub.script(
        "/loop",
        vec![Reply::Redirect {
            to: stub.url("/loop"),
        }],
    );
    for i in 0..8 {
        stub.script(
            &format!("/c{i}"),
            vec![Reply::Redirect {
                to: stub.url(&format!("/c{}", i + 1)),
            }],
        );
    }
    stub.script("/c8", vec![feed()]);
    let fetcher = Fetcher::new(&config("\"127.0.0.0/8\"").fetch).unwrap();
    let err = fetcher
        .fetch(&source(&stub.url("/loop")).location, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redirects"), "{err}");
    let err = fetcher
        .fetch(&source(&stub.url("/c0")).location, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than 5 redirects"), "{err}");
    assert!(stub.hits("/c8").is_empty());
    // Within the cap, redirects are followed.
    assert!(
        fetcher
            .fetch(&source(&stub.url("/c4")).location, None)
            .await
            .is_ok()
    );
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc()
}

#[tokio::test]
async fn row16_caching_hints_and_retry_after_are_clamped_in_the_stored_schedule() {
    use regiocal::store::Store;
    let stub = StubServer::start().await;
    stub.script(
        "/cached",
        vec![Reply::WithHeaders {
            status: 200,
            headers: vec![("cache-control", "max-age=31536000".into())],
            body: common::fixture("ics/apple.ics"),
        }],
    );
    stub.script(
        "/busy",
        vec![Reply::WithHeaders {
            status: 503,
            headers: vec![("retry-after", "99999999".into())],
            body: b"busy".to_vec(),
        }],
    );
    stub.script(
        "/down",
        vec![Reply::Raw {
            status: 500,
            body: b"x".to_vec(),
            content_type: "text/plain",
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    let mut sources: String = ["cached", "busy", "down"]
        .iter()
        .map(|p| common::source_block(p, &stub.url(&format!("/{p}"))))
        .collect();
    // Every minute, so the backoff (not the schedule) decides when "down" is retried.
    sources.push_str("schedule = \"* * * * *\"\n");
    let (_, cfg) = common::write_config(dir.path(), &sources);
    let app = regiocal::app::App::open(cfg).await.unwrap();
    let next = |id: &'static str| {
        let app = app.clone();
        async move {
            let s = app.config.source(id).unwrap();
            regiocal::ingest::ingest_source(
                &app.config,
                app.store.as_ref(),
                &app.fetcher,
                s,
                now(),
            )
            .await
            .unwrap();
            let st = app.store.source_state(id).await.unwrap().unwrap();
            (st.next_run.unwrap() - now(), st)
        }
    };
    // max-age of a year and Retry-After of three years are both clamped to max_interval (24 h).
    assert_eq!(next("cached").await.0, chrono::Duration::hours(24));
    let (d, st) = next("busy").await;
    assert_eq!(d, chrono::Duration::hours(24));
    assert_eq!(st.last_error.as_deref(), Some("HTTP status 503"));
    // Plain failures back off: each delay at least as long as the one before (up to jitter).
    let mut delays = Vec::new();
    for _ in 0..5 {
        delays.push(next("down").await.0.num_seconds());
    }
    assert!(
        delays[0] >= 300 && delays[4] >= 300 * 16 * 3 / 4 && delays[4] > delays[0] * 8,
        "{delays:?}"
    );
    assert_eq!(
        app.store
            .source_state("down")
            .await
            .unwrap()
            .unwrap()
            .health(),
        regiocal::model::Health::Failing
    );
}

#[tokio::test]
async fn row3_gzip_bomb_stops_at_the_decoded_size_cap() {
    use std::io::Write;
    // 64 MiB of zeros compress to about 64 KiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&chunk).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    let stub = StubServer::start().await;
    stub.script(
        "/bomb",
        vec![Reply::WithHeaders {
            status: 200,
            headers: vec![
                ("content-encoding", "gzip".into()),
                ("content-type", "text/calendar".into()),
            ],
            body: bomb,
        }],
    );
    let mut cfg = config("\"127.0.0.0/8\"");
    cfg.fetch.max_body_bytes = 1024 * 1024;
    let fetcher = Fetcher::new(&cfg.fetch).unwrap();
    let err = fetcher
        .fetch(&source(&stub.url("/bomb")).location, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 1_048_576 }),
        "{err}"
    );
}

#[tokio::test]
async fn row14_a_slow_drip_body_hits_the_total_deadline() {
    let stub = StubServer::start().await;
    stub.script("/drip", vec![Reply::Drip]);
    let mut cfg = config("\"127.0.0.0/8\"");
    cfg.fetch.timeout_secs = 2;
    let fetcher = Fetcher::new(&cfg.fetch).unwrap();
    let started = std::time::Instant::now();
    let err = fetcher
        .fetch(&source(&stub.url("/drip")).location, None)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout(2)), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn f2_one_slow_host_cannot_starve_the_others() {
    let stub = StubServer::start().await;
    let port = stub.addr.port();
    let mut sources = String::new();
    for i in 0..6 {
        stub.script(
            &format!("/slow{i}"),
            vec![Reply::Slow {
                secs: 1,
                body: common::fixture("ics/apple.ics"),
            }],
        );
        sources.push_str(&common::source_block(
            &format!("slow{i}"),
            &format!("http://slow.test:{port}/slow{i}"),
        ));
    }
    stub.script("/fast", vec![feed()]);
    sources.push_str(&common::source_block(
        "fast",
        &format!("http://fast.test:{port}/fast"),
    ));
    let dir = tempfile::tempdir().unwrap();
    let (_, mut cfg) = common::write_config(dir.path(), &sources);
    cfg.fetch.concurrency = 8;
    let store = regiocal::store::SqliteStore::open(&cfg.store.path)
        .await
        .unwrap();
    let fetcher = Fetcher::with_lookup(&cfg.fetch, Arc::new(TestNames)).unwrap();
    let mut app = regiocal::app::App::with_store(cfg, store).await.unwrap();
    app.fetcher = fetcher;
    let started = std::time::Instant::now();
    let finished = std::sync::Mutex::new(Vec::new());
    let reports = app
        .fetch_all(None, |r| {
            finished
                .lock()
                .unwrap()
                .push((r.source.clone(), started.elapsed()))
        })
        .await
        .unwrap();
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    let finished = finished.into_inner().unwrap();
    let fast = finished.iter().find(|(id, _)| id == "fast").unwrap().1;
    assert!(
        fast < std::time::Duration::from_millis(900),
        "the fast host waited for the slow one: {fast:?}"
    );
    // Six 1-second requests to one host, two at a time: three waves.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        common::MAX_IN_FLIGHT.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "at most 2 requests per host"
    );
}

#[tokio::test]
async fn f3_a_flapping_source_causes_no_churn() {
    use regiocal::store::Store;
    let stub = StubServer::start().await;
    let good = Reply::Feed {
        body: common::fixture("ics/google.ics"),
        etag: None,
    };
    let bad = Reply::Raw {
        status: 500,
        body: b"x".to_vec(),
        content_type: "text/plain",
    };
    let html = Reply::Raw {
        status: 200,
        body: b"<html><body>Wartung</body></html>".to_vec(),
        content_type: "text/html",
    };
    let mut script = Vec::new();
    for i in 0..20 {
        script.push(match i % 3 {
            0 => good.clone(),
            1 => bad.clone(),
            _ => html.clone(),
        });
    }
    stub.script("/flap", script);
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = common::write_config(
        dir.path(),
        &common::source_block("flap", &stub.url("/flap")),
    );
    let app = regiocal::app::App::open(cfg).await.unwrap();
    let src = app.config.source("flap").unwrap().clone();
    let mut snapshots = Vec::new();
    for i in 0..20 {
        let at = now() + chrono::Duration::hours(i);
        regiocal::ingest::ingest_source(&app.config, app.store.as_ref(), &app.fetcher, &src, at)
            .await
            .unwrap();
        let events = app.store.source_events("flap").await.unwrap();
        assert_eq!(events.len(), 9, "round {i}");
        snapshots.push(
            events
                .iter()
                .map(|e| (e.event.uid.clone(), e.first_seen, e.updated_at))
                .collect::<Vec<_>>(),
        );
    }
    assert!(
        snapshots.windows(2).all(|w| w[0] == w[1]),
        "ids, first_seen and updated_at must not churn"
    );
}

#[tokio::test]
async fn row20_file_sources_stay_inside_file_roots() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("feeds");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("ok.ics"), common::fixture("ics/apple.ics")).unwrap();
    let secret = dir.path().join("secret.ics");
    std::fs::write(&secret, common::fixture("ics/apple.ics")).unwrap();
    std::os::unix::fs::symlink(&secret, root.join("link.ics")).unwrap();
    let text = "[calendar]\nname = \"T\"\n[fetch]\nfile_roots = [\"feeds\"]\n\
         [[source]]\nid = \"ok\"\nname = \"ok\"\nurl = \"feeds/ok.ics\"\n\
         [[source]]\nid = \"dots\"\nname = \"dots\"\nurl = \"feeds/../secret.ics\"\n\
         [[source]]\nid = \"link\"\nname = \"link\"\nurl = \"feeds/link.ics\"\n";
    let cfg = Config::parse(text, &dir.path().join("regiocal.toml")).unwrap();
    let fetcher = Fetcher::new(&cfg.fetch).unwrap();
    assert!(
        fetcher
            .fetch(&cfg.source("ok").unwrap().location, None)
            .await
            .is_ok()
    );
    for id in ["dots", "link"] {
        let err = fetcher
            .fetch(&cfg.source(id).unwrap().location, None)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("outside [fetch] file_roots"),
            "{id}: {err}"
        );
    }
}

/// RELIABILITY.md row 15: a permanent redirect is followed for that fetch only; the source keeps
/// its configured URL (shown in `/api/v1/sources`) and the next fetch asks the old URL again.
#[tokio::test]
async fn row15_a_301_target_is_not_saved_as_the_source_url() {
    use regiocal::store::Store;
    let stub = StubServer::start().await;
    stub.script(
        "/old.ics",
        vec![Reply::WithHeaders {
            status: 301,
            headers: vec![("location", stub.url("/new.ics"))],
            body: Vec::new(),
        }],
    );
    stub.script("/new.ics", vec![feed()]);
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = common::write_config(
        dir.path(),
        &common::source_block("moved", &stub.url("/old.ics")),
    );
    let app = regiocal::app::App::open(cfg).await.unwrap();
    for round in 1..=2 {
        let s = app.config.source("moved").unwrap();
        let r = regiocal::ingest::ingest_source(
            &app.config,
            app.store.as_ref(),
            &app.fetcher,
            s,
            now(),
        )
        .await
        .unwrap();
        assert_ne!(r.outcome, regiocal::ingest::Outcome::Failed, "{r:?}");
        assert_eq!(
            stub.hits("/old.ics").len(),
            round,
            "asks the configured URL"
        );
        assert_eq!(stub.hits("/new.ics").len(), round);
    }
    assert!(!app.store.source_events("moved").await.unwrap().is_empty());
    let snap = app.snapshot().await.unwrap();
    let doc = regiocal::output::json::source_doc(snap.source("moved").unwrap(), 0);
    assert_eq!(doc.url, stub.url("/old.ics"));
    assert!(
        !std::fs::read_to_string(dir.path().join("regiocal.toml"))
            .unwrap()
            .contains("/new.ics")
    );
}

/// IANA's IPv4 Special-Purpose Address Registry, row by row (iana.org/assignments/
/// iana-ipv4-special-registry, 2025), and the multicast and broadcast blocks: written out
/// here independently of `fetch::guard`'s own table.
const IANA_IPV4: &[&str] = &[
    "0.0.0.0/8",
    "0.0.0.0/32",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.0.0/29",
    "192.0.0.8/32",
    "192.0.0.9/32",
    "192.0.0.10/32",
    "192.0.0.170/32",
    "192.0.0.171/32",
    "192.0.2.0/24",
    "192.31.196.0/24",
    "192.52.193.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "192.175.48.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
];

/// IANA's IPv6 Special-Purpose Address Registry, row by row (2025), without the two rows
/// whose addresses carry an IPv4 address that decides (`64:ff9b::/96`, `2002::/16`), plus
/// the IPv4-translated block, the deprecated site-local and IPv4-compatible blocks,
/// multicast, and samples of what lies outside global unicast (`2000::/3`).
const IANA_IPV6: &[&str] = &[
    "::1/128",
    "::/128",
    "::ffff:0:0/96",
    "::ffff:0:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "100:0:0:1::/64",
    "2001::/23",
    "2001::/32",
    "2001:1::1/128",
    "2001:1::2/128",
    "2001:1::3/128",
    "2001:2::/48",
    "2001:3::/32",
    "2001:4:112::/48",
    "2001:10::/28",
    "2001:20::/28",
    "2001:30::/28",
    "2001:db8::/32",
    "2620:4f:8000::/48",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
    // Outside 2000::/3: the rest of ::/8 and unassigned space.
    "::/8",
    "400::/6",
    "4000::/3",
    "c000::/3",
];

/// The first, a middle and the last address of a network.
fn first_middle_last(net: &ipnet::IpNet) -> [IpAddr; 3] {
    match net {
        ipnet::IpNet::V4(n) => {
            let (a, b) = (u32::from(n.network()), u32::from(n.broadcast()));
            [a, a + (b - a) / 2, b].map(|x| IpAddr::V4(x.into()))
        }
        ipnet::IpNet::V6(n) => {
            let (a, b) = (u128::from(n.network()), u128::from(n.broadcast()));
            [a, a + (b - a) / 2, b].map(|x| IpAddr::V6(x.into()))
        }
    }
}

#[test]
fn item4_every_special_purpose_registry_row_is_refused() {
    let mut checked = 0;
    for row in IANA_IPV4.iter().chain(IANA_IPV6) {
        let net: ipnet::IpNet = row.parse().unwrap();
        for ip in first_middle_last(&net) {
            assert!(
                regiocal::fetch::guard::classify(ip).is_some(),
                "{ip} (in {row}) must be refused"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3 * (IANA_IPV4.len() + IANA_IPV6.len()));
    // The addresses the attack used, as URLs: refused by the check every hop goes through.
    let policy = regiocal::fetch::guard::AddressPolicy::default();
    for url in [
        "http://[::ffff:0:7f00:1]/",
        "http://[::ffff:0:a9fe:a9fe]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::7f00:1]/",
        "http://[::1:0:0:1]/",
        "http://[2001:2::1]/",
        "http://[2001:10::1]/",
        "http://[3fff::1]/",
        "http://[5f00::1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::1]/",
        "http://[2002:a9fe:a9fe::1]/",
    ] {
        let err = policy.check_url(&url.parse().unwrap()).expect_err(url);
        assert!(err.contains("refused"), "{url}: {err}");
    }
}

#[test]
fn item4_public_addresses_pass_the_guard() {
    for ip in [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.215.14",
        "192.0.1.1",
        "192.0.3.1",
        "198.17.255.1",
        "198.20.0.1",
        "100.63.255.255",
        "100.128.0.1",
        "223.255.255.254",
        "2001:4860:4860::8888",
        "2a00:1450:4001:80b::200e",
        "2001:200::1",
        "2620:4f:8001::1",
        "3fff:1000::1",
        "2002:808:808::1",
        "64:ff9b::808:808",
        "::ffff:8.8.8.8",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(regiocal::fetch::guard::classify(ip), None, "{ip} is public");
    }
}

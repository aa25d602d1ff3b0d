//! Shared helpers for the integration tests: fixtures, configs, a tiny local HTTP server.
#![allow(dead_code)]

use regiocal::config::{Config, FormatChoice, SourceConfig, SourceLocation};
use regiocal::fetch::schedule::Schedule;
use regiocal::format::{self, ParseContext};
use regiocal::model::Event;
use regiocal::normalize::{self, NormalizeOptions};
use std::path::{Path, PathBuf};

/// Absolute path of a file under `fixtures/`.
pub fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// Bytes of a fixture.
pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixture_path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// Parses and normalises a fixture as the ingest does.
pub fn parse_fixture(rel: &str) -> (Vec<Event>, Vec<String>) {
    let ctx = ParseContext::new(chrono_tz::Europe::Berlin).at(now());
    let (_, parsed) =
        format::parse(&fixture(rel), FormatChoice::Auto, None, &ctx).expect("fixture parses");
    let (events, mut warnings) = normalize::normalize(parsed.events, &NormalizeOptions::default());
    let mut all = parsed.warnings;
    all.append(&mut warnings);
    (events, all)
}

/// A config text with the given `[[source]]` blocks, a store in `dir` (or, with
/// `REGIOCAL_TEST_STORE=postgres`, a fresh schema on the test PostgreSQL server).
pub fn config_text(dir: &Path, sources: &str) -> String {
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n{}[calendar]\nname = \"Test, Stadt\"\ntimezone = \"Europe/Berlin\"\npast_days = 30\nfuture_days = 400\n[fetch]\nallow_networks = [\"127.0.0.0/8\"]\n{sources}",
        dir.join("store.sqlite").display(),
        postgres_store_lines(dir)
    )
}

/// The environment variable naming the test PostgreSQL server
/// (`scripts/pg-test-server.sh start` prints it).
pub const POSTGRES_ENV: &str = "REGIOCAL_TEST_POSTGRES_URL";

/// `url` and `schema` lines for `[store]` when the suite runs on PostgreSQL
/// (`REGIOCAL_TEST_STORE=postgres`), else nothing. The schema is named after `dir`, so configs
/// written for the same directory share a store, as they share the SQLite file otherwise.
pub fn postgres_store_lines(dir: &Path) -> String {
    if std::env::var("REGIOCAL_TEST_STORE").as_deref() != Ok("postgres") {
        return String::new();
    }
    let url = std::env::var(POSTGRES_ENV)
        .unwrap_or_else(|_| panic!("REGIOCAL_TEST_STORE=postgres needs {POSTGRES_ENV}"));
    // FNV-1a of the directory: temporary directories are unique, so are their schemas.
    let hash = dir
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("url = \"{url}\"\nschema = \"t_it_{hash:016x}\"\n")
}

/// A schema name no other test uses.
pub fn unique_schema(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "t_{tag}_{}_{}_{nanos:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The test PostgreSQL server's URL, or `None` after saying loudly that the calling test did
/// not run. Under CI (`CI` set) a missing server fails the test instead.
pub fn postgres_or_skip(test: &str) -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: CI must run the PostgreSQL tests, but {POSTGRES_ENV} is not set"
            );
            // Written to the real stderr (not `eprintln!`, which the test harness swallows for
            // passing tests), once per test binary, so a skipped half is never silent.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "NOT RUN: the PostgreSQL tests of this binary (first: {test}): {POSTGRES_ENV} \
                     is not set; `eval \"$(scripts/pg-test-server.sh start)\"` starts a server \
                     on 127.0.0.1"
                );
            });
            None
        }
    }
}

/// Writes a config into `dir` and loads it.
pub fn write_config(dir: &Path, sources: &str) -> (PathBuf, Config) {
    let path = dir.join("regiocal.toml");
    std::fs::write(&path, config_text(dir, sources)).expect("write config");
    let cfg = Config::load(&path).expect("config loads");
    (path, cfg)
}

/// A `[[source]]` block.
pub fn source_block(id: &str, url: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nname = \"Quelle {id}\"\nurl = \"{url}\"\nlicense = \"CC0-1.0\"\nattribution = \"Test\"\n"
    )
}

/// A source config for library-level tests.
pub fn source(id: &str, location: SourceLocation) -> SourceConfig {
    SourceConfig {
        id: id.into(),
        name: id.into(),
        location,
        format: FormatChoice::Auto,
        schedule: Schedule::parse("0 * * * *").expect("schedule"),
        categories: vec![],
        license: None,
        attribution: None,
        mapping: None,
        priority: 0,
        category_map: Default::default(),
    }
}

/// The instant used as "now" by tests that pin the clock.
pub const NOW: &str = "2026-11-24T00:00:00Z";

/// [`NOW`] as an instant.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(NOW)
        .expect("NOW")
        .to_utc()
}

/// Parses and normalises a file anywhere on disk.
pub fn parse_fixture_at(path: &Path) -> (Vec<Event>, Vec<String>) {
    let ctx = ParseContext::new(chrono_tz::Europe::Berlin).at(now());
    let bytes = std::fs::read(path).expect("read");
    let (_, parsed) = format::parse(&bytes, FormatChoice::Auto, None, &ctx).expect("parses");
    let (events, mut warnings) = normalize::normalize(parsed.events, &NormalizeOptions::default());
    let mut all = parsed.warnings;
    all.append(&mut warnings);
    (events, all)
}

/// One scripted answer of the stub server.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this body and ETag; answers a matching If-None-Match with 304.
    Feed { body: Vec<u8>, etag: Option<String> },
    /// Any status with a body and content type.
    Raw {
        status: u16,
        body: Vec<u8>,
        content_type: &'static str,
    },
    /// Sleeps, then answers 200 with the body.
    Slow { secs: u64, body: Vec<u8> },
    /// 302 to this URL.
    Redirect { to: String },
    /// 200 with headers at once, then one byte per second, forever.
    Drip,
    /// Any status with extra headers and a body.
    WithHeaders {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
}

/// Slow replies being served right now, and the most at once (per test binary).
pub static IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub static MAX_IN_FLIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What the stub server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    /// When the request arrived.
    pub at: std::time::Instant,
    /// The same, on the wall clock (what cron schedules follow).
    pub wall: std::time::SystemTime,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

/// A tiny HTTP server on 127.0.0.1:0 answering every path from a per-path script (the last
/// reply repeats).
pub struct StubServer {
    pub addr: std::net::SocketAddr,
    replies: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<Reply>>>>,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

impl StubServer {
    pub async fn start() -> StubServer {
        use axum::extract::{Request, State};
        use axum::http::{StatusCode, header};
        use axum::response::IntoResponse;
        type Shared = (
            std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<Reply>>>>,
            std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
        );
        async fn handle(
            State((replies, seen)): State<Shared>,
            req: Request,
        ) -> axum::response::Response {
            let path = req.uri().path().to_string();
            let inm = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let ims = req
                .headers()
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            seen.lock().unwrap().push(Seen {
                path: path.clone(),
                at: std::time::Instant::now(),
                wall: std::time::SystemTime::now(),
                if_none_match: inm.clone(),
                if_modified_since: ims,
            });
            let reply = {
                let mut map = replies.lock().unwrap();
                match map.get_mut(&path) {
                    Some(list) if list.len() > 1 => Some(list.remove(0)),
                    Some(list) => list.first().cloned(),
                    None => None,
                }
            };
            match reply {
                None => (StatusCode::NOT_FOUND, "not found").into_response(),
                Some(Reply::Feed { body, etag }) => {
                    if etag.is_some() && inm == etag {
                        return StatusCode::NOT_MODIFIED.into_response();
                    }
                    let mut resp = (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "text/calendar")],
                        body,
                    )
                        .into_response();
                    if let Some(e) = etag {
                        resp.headers_mut().insert(header::ETAG, e.parse().unwrap());
                    }
                    resp
                }
                Some(Reply::Raw {
                    status,
                    body,
                    content_type,
                }) => (
                    StatusCode::from_u16(status).unwrap(),
                    [(header::CONTENT_TYPE, content_type)],
                    body,
                )
                    .into_response(),
                Some(Reply::Drip) => {
                    let stream = futures_util::stream::unfold((), |()| async {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        Some((
                            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"B")),
                            (),
                        ))
                    });
                    (StatusCode::OK, axum::body::Body::from_stream(stream)).into_response()
                }
                Some(Reply::Redirect { to }) => {
                    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
                }
                Some(Reply::WithHeaders {
                    status,
                    headers,
                    body,
                }) => {
                    let mut resp = (StatusCode::from_u16(status).unwrap(), body).into_response();
                    for (k, v) in headers {
                        resp.headers_mut().insert(k, v.parse().unwrap());
                    }
                    resp
                }
                Some(Reply::Slow { secs, body }) => {
                    let now = IN_FLIGHT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    MAX_IN_FLIGHT.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                    IN_FLIGHT.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    (StatusCode::OK, body).into_response()
                }
            }
        }
        let replies = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state((replies.clone(), seen.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StubServer {
            addr,
            replies,
            seen,
        }
    }

    /// Scripts the replies for `path`.
    pub fn script(&self, path: &str, replies: Vec<Reply>) {
        self.replies
            .lock()
            .unwrap()
            .insert(path.to_string(), replies);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

/// An ICS feed with `n` weekly-spaced single events starting at `first` (YYYYMMDD), UIDs `prefix-i`.
pub fn generated_feed(prefix: &str, n: usize, first: chrono::NaiveDate) -> Vec<u8> {
    let mut s = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Gen//DE\r\n");
    for i in 0..n {
        let day = first + chrono::Duration::days(i as i64);
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{prefix}-{i}\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;TZID=Europe/Berlin:{d}T190000\r\nDTEND;TZID=Europe/Berlin:{d}T210000\r\nSUMMARY:Veranstaltung {i}\r\nEND:VEVENT\r\n",
            d = day.format("%Y%m%d")
        ));
    }
    s.push_str("END:VCALENDAR\r\n");
    s.into_bytes()
}

/// A config whose sources have these ids (for building snapshots in tests).
pub fn test_config(ids: &[&str]) -> Config {
    let sources: String = ids
        .iter()
        .map(|id| source_block(id, &format!("{id}.ics")))
        .collect();
    Config::parse(
        &config_text(Path::new("/tmp"), &sources),
        Path::new("/tmp/regiocal.toml"),
    )
    .expect("test config")
}

/// A snapshot of fixtures, each `(source id, fixture path)`, stored at a fixed time and
/// expanded around [`NOW`].
pub fn snapshot_of(fixtures: &[(&str, &str)]) -> regiocal::output::Snapshot {
    let ids: Vec<&str> = fixtures.iter().map(|(id, _)| *id).collect();
    let stamp = chrono::DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
        .expect("stamp")
        .to_utc();
    let mut stored = Vec::new();
    for (id, rel) in fixtures {
        let (events, _) = parse_fixture(rel);
        stored.extend(
            events
                .into_iter()
                .map(|event| regiocal::model::StoredEvent {
                    source: id.to_string(),
                    event,
                    first_seen: stamp,
                    updated_at: stamp,
                    revision: 0,
                }),
        );
    }
    let now = chrono::DateTime::parse_from_rfc3339(NOW)
        .expect("now")
        .to_utc();
    regiocal::output::Snapshot::build(&test_config(&ids), stored, vec![], Some(stamp), now)
}

/// Unfolds content lines (RFC 5545 3.1).
pub fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(rest) = line.strip_prefix(' ') {
            lines
                .last_mut()
                .expect("continuation after a line")
                .push_str(rest);
        } else if !line.is_empty() {
            lines.push(line.to_string());
        }
    }
    lines
}

/// The python interpreter with icalendar + recurring-ical-events, if configured.
pub fn python() -> Option<String> {
    let py = std::env::var("REGIOCAL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&py)
        .args(["-c", "import icalendar, recurring_ical_events"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide python icalendar + recurring-ical-events (REGIOCAL_TEST_PYTHON)"
    );
    // The real stderr: the harness swallows `eprintln!` of passing tests.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "NOT RUN: independent ICS check needs python3 with icalendar and recurring-ical-events (set REGIOCAL_TEST_PYTHON)"
    );
    None
}

/// Waits until `check` holds (polling every 200 ms), or panics naming `what` after `limit`.
pub async fn eventually<F, Fut>(limit: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("timed out: {what}");
}

/// Serves `app` on a fresh loopback port until the returned sender is dropped; returns
/// `http://127.0.0.1:port` and that sender.
pub async fn serve(app: regiocal::app::App) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async {
        let _ = rx.await;
    }));
    (base, stop)
}

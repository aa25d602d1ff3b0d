//! The push API against an in-process server on 127.0.0.1:0: authentication (RELIABILITY.md
//! row 21), idempotent writes (row 24), validation, body limits (row 22), rate limits (row 23),
//! and pushed events showing up in every feed.

mod common;

use regiocal::app::App;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

const TOKEN_A: &str = "rc_token_of_the_theatre";
const TOKEN_B: &str = "rc_token_of_the_library";

fn digest(t: &str) -> String {
    Sha256::digest(t.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Running {
    addr: std::net::SocketAddr,
    base: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start() -> Running {
        Running::start_with("").await
    }

    /// With extra `[server]` settings.
    async fn start_with(server: &str) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let sources = format!(
            "[[source]]\nid = \"theater\"\nname = \"Kleines Theater\"\ncategories = [\"Theater\"]\n\
             [[source]]\nid = \"bibliothek\"\nname = \"Stadtbibliothek\"\n\
             [[actor]]\nid = \"theater\"\nname = \"Kleines Theater e. V.\"\nsources = [\"theater\"]\ntoken_sha256 = \"{}\"\n\
             [[actor]]\nid = \"bibliothek\"\nname = \"Stadtbibliothek\"\nsources = [\"bibliothek\"]\ntoken_sha256 = \"{}\"\n",
            digest(TOKEN_A),
            digest(TOKEN_B)
        );
        let path = dir.path().join("regiocal.toml");
        let text = common::config_text(dir.path(), &sources).replacen(
            "[server]\n",
            &format!("[server]\n{server}\n"),
            1,
        );
        std::fs::write(&path, text).unwrap();
        let cfg = regiocal::config::Config::load(&path).unwrap();
        let app = App::open(cfg).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listener_addr = listener.local_addr().unwrap();
        let base = format!("http://{listener_addr}");
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.serve(listener, async {
            let _ = rx.await;
        }));
        Running {
            addr: listener_addr,
            base,
            client: reqwest::Client::new(),
            _stop: stop,
            _dir: dir,
        }
    }

    fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let r = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    async fn events(&self, query: &str) -> Vec<Value> {
        // Writes become visible after the (coalesced) snapshot rebuild.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let doc: Value = self
            .client
            .get(format!("{}/api/v1/events?{query}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        doc["events"].as_array().unwrap().clone()
    }
}

fn concert(id: &str) -> Value {
    json!({
        "id": id,
        "title": "Improtheater: Die Stunde der Wahrheit",
        "description": "Spontan, schnell, komisch.",
        "start": "2026-12-12T20:00:00+01:00",
        "end": "2026-12-12T22:00:00+01:00",
        "location": "Kleines Theater, Hauptstraße 5, 12345 Musterstadt",
        "geo": {"lat": 51.5136, "lon": 7.4653},
        "categories": ["Comedy"],
        "url": "https://kleines-theater.example/improtheater",
        "status": "confirmed"
    })
}

#[tokio::test]
async fn row21_tokens_are_checked_and_scoped_to_the_actors_sources() {
    let s = Running::start().await;
    let path = "/api/v1/push/theater/events";
    let mut bodies = Vec::new();
    for token in [None, Some("rc_wrong"), Some("")] {
        let r = s
            .req(reqwest::Method::POST, path, token)
            .json(&concert("a"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().contains_key("www-authenticate"));
        bodies.push(r.text().await.unwrap());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "same body for every bad token: {bodies:?}"
    );
    // The library's token cannot write the theatre's source.
    let r = s
        .req(reqwest::Method::POST, path, Some(TOKEN_B))
        .json(&concert("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(s.events("source=theater").await.is_empty());
}

#[tokio::test]
async fn row24_pushes_are_idempotent_and_show_up_in_every_feed() {
    let s = Running::start().await;
    let path = "/api/v1/push/theater/events";
    let r = s
        .req(reqwest::Method::POST, path, Some(TOKEN_A))
        .json(&concert("impro-12-12"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["inserted"].as_u64(), body["ids"][0].as_str()),
        (Some(1), Some("impro-12-12"))
    );
    // The same event again, twice at once: still one event.
    let (a, b) = tokio::join!(
        s.req(reqwest::Method::POST, path, Some(TOKEN_A))
            .json(&concert("impro-12-12"))
            .send(),
        s.req(
            reqwest::Method::PUT,
            &format!("{path}/impro-12-12"),
            Some(TOKEN_A)
        )
        .json(&concert("impro-12-12"))
        .send(),
    );
    assert_eq!(
        (a.unwrap().status(), b.unwrap().status()),
        (reqwest::StatusCode::OK, reqwest::StatusCode::OK)
    );
    let events = s.events("source=theater").await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["title"], "Improtheater: Die Stunde der Wahrheit");
    assert_eq!(e["start"], "2026-12-12T20:00:00+01:00");
    assert_eq!(
        e["categories"],
        json!(["theatre"]),
        "source categories are added, and terms are mapped to the vocabulary"
    );
    let ics = s
        .client
        .get(format!("{}/calendar.ics?source=theater", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ics.contains("SUMMARY:Improtheater: Die Stunde der Wahrheit\r\n"),
        "{ics}"
    );

    // Replace, then delete.
    let mut moved = concert("impro-12-12");
    moved["start"] = json!("2026-12-13T20:00:00+01:00");
    moved["end"] = json!("2026-12-13T22:00:00+01:00");
    let r = s
        .req(
            reqwest::Method::PUT,
            &format!("{path}/impro-12-12"),
            Some(TOKEN_A),
        )
        .json(&moved)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.events("source=theater").await[0]["start"],
        "2026-12-13T20:00:00+01:00"
    );
    let r = s
        .req(
            reqwest::Method::DELETE,
            &format!("{path}/impro-12-12"),
            Some(TOKEN_A),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // Published as cancelled for a while, so subscribed calendars remove it.
    let after = s.events("source=theater").await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["status"], "cancelled");
    let r = s
        .req(
            reqwest::Method::DELETE,
            &format!("{path}/impro-12-12"),
            Some(TOKEN_A),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn pushes_accept_icalendar_bodies() {
    let s = Running::start().await;
    let r = s
        .req(
            reqwest::Method::POST,
            "/api/v1/push/bibliothek/events",
            Some(TOKEN_B),
        )
        .header("content-type", "text/calendar")
        .body(common::fixture("ics/apple.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["inserted"].as_u64(), Some(8));
    assert!(!s.events("source=bibliothek").await.is_empty());
}

#[tokio::test]
async fn validation_errors_name_every_field() {
    let s = Running::start().await;
    let bad = json!({"title": 5, "start": "morgen", "end": "2026-12-01", "geo": {"lat": 95, "lon": 7}, "url": "javascript:alert(1)", "colour": "red"});
    let r = s
        .req(
            reqwest::Method::POST,
            "/api/v1/push/theater/events",
            Some(TOKEN_A),
        )
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["id", "title", "start", "geo", "url", "colour"] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }
    let mut ev = concert("x");
    ev["end"] = json!("2026-12-12T19:00:00+01:00");
    let r = s
        .req(
            reqwest::Method::PUT,
            "/api/v1/push/theater/events/y",
            Some(TOKEN_A),
        )
        .json(&ev)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let messages: Vec<String> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}: {}", f["field"], f["message"]))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("does not match the id in the URL")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("is before start")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn row22_oversized_and_deeply_nested_bodies_are_refused() {
    let s = Running::start().await;
    let path = "/api/v1/push/theater/events";
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = s
        .req(reqwest::Method::POST, path, Some(TOKEN_A))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r = s
        .req(reqwest::Method::POST, path, Some(TOKEN_A))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("recursion limit"));
}

#[tokio::test]
async fn row23_a_flooding_token_gets_429_and_others_are_unaffected() {
    let s = Running::start().await;
    let mut limited = None;
    for i in 0..60 {
        let r = s
            .req(
                reqwest::Method::DELETE,
                &format!("/api/v1/push/theater/events/none-{i}"),
                Some(TOKEN_A),
            )
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = Some(r.headers()["retry-after"].to_str().unwrap().to_string());
            break;
        }
        assert_eq!(r.status(), 404);
    }
    let retry: u64 = limited.expect("the burst must be limited").parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let r = s
        .req(
            reqwest::Method::DELETE,
            "/api/v1/push/bibliothek/events/none",
            Some(TOKEN_B),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "another actor is not limited");
}

#[test]
fn token_new_prints_a_token_and_its_digest() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_regiocal"))
        .args(["token", "new", "--actor", "theater"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("rc_"))
        .unwrap();
    assert_eq!(token.len(), 3 + 64);
    assert!(
        text.contains(&format!("token_sha256 = \"{}\"", digest(token))),
        "{text}"
    );
}

/// RELIABILITY.md F5: while another writer holds the database lock, a push gets 503 with
/// Retry-After (never a 2xx before commit), reads go on, and the push succeeds afterwards.
#[tokio::test]
async fn f5_locked_database_gives_503_and_reads_go_on() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite");
    let text = format!(
        "[server]\nbind = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\nbusy_timeout = \"300ms\"\n[calendar]\nname = \"T\"\n\
         [[source]]\nid = \"theater\"\nname = \"Kleines Theater\"\n\
         [[actor]]\nid = \"theater\"\nname = \"T\"\nsources = [\"theater\"]\ntoken_sha256 = \"{}\"\n",
        db.display(),
        digest(TOKEN_A)
    );
    let path = dir.path().join("regiocal.toml");
    std::fs::write(&path, text).unwrap();
    let app = App::open(regiocal::config::Config::load(&path).unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let push = || {
        client
            .post(format!("{base}/api/v1/push/theater/events"))
            .bearer_auth(TOKEN_A)
            .json(&concert("locked"))
            .send()
    };

    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let r = push().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let read = client
        .get(format!("{base}/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "reads go on while the lock is held");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(push().await.unwrap().status(), 201);
}

/// Sends `head` on a raw connection and returns what the server answers within `wait`
/// (empty when it answers nothing).
async fn raw_exchange(addr: std::net::SocketAddr, head: &str, wait: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(wait, conn.read(&mut buf)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        _ => String::new(),
    }
}

/// Issue item 1: the token is checked from the headers: an upload announcing 50 MB without a
/// token gets 401 before a byte of its body was sent (not 413 after reading it), and one
/// with a token but over the limit gets 413 at once.
#[tokio::test]
async fn item1_a_tokenless_upload_gets_401_before_its_body_is_read() {
    let s = Running::start().await;
    let head = |auth: &str| {
        format!(
            "POST /api/v1/push/theater/events HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
        )
    };
    let answer = raw_exchange(s.addr, &head(""), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
    let answer = raw_exchange(
        s.addr,
        &head("Authorization: Bearer rc_wrong\r\n"),
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
    let answer = raw_exchange(
        s.addr,
        &head(&format!("Authorization: Bearer {TOKEN_A}\r\n")),
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    // A media type that is not accepted is refused before the body too.
    let answer = raw_exchange(
        s.addr,
        &format!(
            "POST /api/v1/push/theater/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN_A}\r\nContent-Type: application/jsonx\r\nContent-Length: 100\r\n\r\n"
        ),
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 415"), "{answer:?}");
}

/// Issue item 1: a body dribbled in (1 byte every 200 ms of an announced 1 MiB) is cut off by
/// the request deadline with 408, and the server goes on answering others meanwhile.
#[tokio::test]
async fn item1_a_dribbled_body_is_cut_off_by_the_request_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Running::start_with("request_timeout = \"2s\"").await;
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(
        format!(
            "POST /api/v1/push/theater/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN_A}\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n["
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while started.elapsed() < Duration::from_secs(10) {
        tokio::select! {
            n = conn.read(&mut buf) => {
                let n = n.unwrap_or(0);
                if n == 0 { break; }
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") { break; }
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                // A normal request is answered while the slow one holds its connection.
                if conn.write_all(b" ").await.is_err() { break; }
            }
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "cut off near the 2 s deadline, not after {:?}",
        started.elapsed()
    );
    let r = s
        .client
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Issue item 1: at most `max_connections` connections are served at once; one more waits
/// until a slot is free (here: until the silent ones are cut by the header-read timeout) and
/// is then served.
#[tokio::test]
async fn item1_connections_over_the_cap_wait_for_a_free_slot() {
    let s = Running::start_with("max_connections = 3\nheader_read_timeout = \"1s\"").await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tokio::net::TcpStream::connect(s.addr).await.unwrap());
    }
    // Let the server take the three into its slots.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let r = s
        .client
        .get(format!("{}/healthz", s.base))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the fourth connection waited for a slot ({:?})",
        started.elapsed()
    );
    drop(silent);
}

/// Issue item 1: an HTTP/2 connection with no open request is closed (GOAWAY) after the idle
/// timeout, however busily the client pings it.
#[tokio::test]
async fn item1_an_idle_http2_connection_is_closed_despite_pings() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Running::start_with("idle_timeout = \"1s\"").await;
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    // Connection preface and an empty SETTINGS frame.
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00pingping";
    let started = std::time::Instant::now();
    let mut frames: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(8) {
        tokio::select! {
            n = conn.read(&mut buf) => match n {
                Ok(0) | Err(_) => { closed = true; break; }
                Ok(n) => frames.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(250)) => {
                if conn.write_all(ping).await.is_err() { closed = true; break; }
            }
        }
    }
    // Walk the frames the server sent: a GOAWAY (type 7) must be among them.
    let mut types = Vec::new();
    let mut at = 0;
    while at + 9 <= frames.len() {
        let len = (usize::from(frames[at]) << 16)
            | (usize::from(frames[at + 1]) << 8)
            | usize::from(frames[at + 2]);
        types.push(frames[at + 3]);
        at += 9 + len;
    }
    assert!(types.contains(&7), "no GOAWAY in frame types {types:?}");
    assert!(closed, "the connection was closed");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

/// Issue item 3: the limit of events per POST holds for every body type, not only JSON.
#[tokio::test]
async fn item3_a_calendar_push_over_the_event_limit_is_refused() {
    let s = Running::start().await;
    let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//DE\r\n");
    for i in 0..5000 {
        ics.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:e{i}@t\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261212T{:02}{:02}00Z\r\nSUMMARY:T {i}\r\nEND:VEVENT\r\n",
            i / 60 % 24,
            i % 60
        ));
    }
    ics.push_str("END:VCALENDAR\r\n");
    let r = s
        .req(
            reqwest::Method::POST,
            "/api/v1/push/theater/events",
            Some(TOKEN_A),
        )
        .header("content-type", "text/calendar")
        .body(ics)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("at most 1000 events"));
    assert!(s.events("source=theater").await.is_empty());
}

/// Issue item 5: a pushed `url` or `image` with CR/LF inside is a 422 naming the field.
#[tokio::test]
async fn item5_a_pushed_url_with_a_line_break_is_refused_naming_the_field() {
    let s = Running::start().await;
    let mut ev = concert("crlf");
    ev["url"] = json!("https://x.example/a\r\nATTACH:https://evil.example/");
    ev["image"] = json!("https://x.example/b.jpg\nX: 1");
    let r = s
        .req(
            reqwest::Method::POST,
            "/api/v1/push/theater/events",
            Some(TOKEN_A),
        )
        .json(&ev)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    let fields: Vec<String> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["field"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    for f in ["url: ", "image: "] {
        assert!(
            fields
                .iter()
                .any(|m| m.starts_with(f) && m.contains("line break")),
            "{f} {fields:?}"
        );
    }
}

/// Issue item 6: two actors with the same token digest are refused, naming both.
#[test]
fn item6_two_actors_with_one_token_are_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let sources = format!(
        "[[source]]\nid = \"a\"\nname = \"A\"\n[[source]]\nid = \"b\"\nname = \"B\"\n\
         [[actor]]\nid = \"theater\"\nname = \"T\"\nsources = [\"a\"]\ntoken_sha256 = \"{0}\"\n\
         [[actor]]\nid = \"kino\"\nname = \"K\"\nsources = [\"b\"]\ntoken_sha256 = \"{0}\"\n",
        digest(TOKEN_A)
    );
    let path = dir.path().join("regiocal.toml");
    std::fs::write(&path, common::config_text(dir.path(), &sources)).unwrap();
    let err = regiocal::config::Config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("actor \"kino\"")
            && err.contains("\"theater\"")
            && err.contains("token_sha256"),
        "{err}"
    );
}

/// Issue item 7: a 300,000-character title is cut to the documented maximum, with a warning
/// in the answer.
#[tokio::test]
async fn item7_an_overlong_pushed_title_is_cut_with_a_warning() {
    let s = Running::start().await;
    let mut ev = concert("lang");
    ev["title"] = json!("Improtheater ".repeat(23_077));
    let r = s
        .req(
            reqwest::Method::POST,
            "/api/v1/push/theater/events",
            Some(TOKEN_A),
        )
        .json(&ev)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let warnings = body["warnings"].to_string();
    assert!(
        warnings.contains(&format!("cut to {}", regiocal::normalize::MAX_TITLE)),
        "{warnings}"
    );
    let events = s.events("source=theater").await;
    assert_eq!(
        events[0]["title"].as_str().unwrap().chars().count(),
        regiocal::normalize::MAX_TITLE
    );
}

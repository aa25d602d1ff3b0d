//! RELIABILITY.md F9: a client that dribbles its request headers, or connects and sends
//! nothing, is disconnected after the header-read timeout, and does not keep others from being
//! served.

mod common;

use regiocal::app::App;
use regiocal::server::{self, SnapshotCell};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn f9_slowloris_connections_are_cut_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = common::write_config(
        dir.path(),
        &common::source_block(
            "apple",
            &common::fixture_path("ics/apple.ics").display().to_string(),
        ),
    );
    let app = App::open(cfg).await.unwrap();
    let state = app.state(
        SnapshotCell::new(app.served().await.unwrap()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve_with(
        listener,
        state,
        async {
            let _ = rx.await;
        },
        server::Limits {
            header_read: Duration::from_secs(1),
            ..Default::default()
        },
    ));

    // 50 slow-loris clients: a request line and one header, then nothing.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /calendar.ics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // And 50 idle clients that connect and never send a byte.
    for _ in 0..50 {
        slow.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // Meanwhile a normal client is served at once.
    let started = Instant::now();
    let body = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("\"status\""), "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    // Every slow or idle client is disconnected shortly after the 1 s timeout.
    let deadline = Instant::now() + Duration::from_secs(5);
    for mut s in slow {
        let mut buf = [0u8; 1024];
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, s.read(&mut buf))
            .await
            .expect("connection must be closed by the server");
        // Closed (0 bytes), reset, or a 408 answer: either way the socket is released.
        if let Ok(n) = n
            && n > 0
        {
            assert!(
                String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
                "{}",
                String::from_utf8_lossy(&buf[..n])
            );
        }
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

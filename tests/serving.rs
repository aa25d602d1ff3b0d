//! Serving from the render cache: compressed variants with their own ETags, `Vary`, 304 for
//! `If-None-Match` and `If-Modified-Since`, HEAD, and a new snapshot replacing cached bodies.

mod common;

use regiocal::app::App;
use regiocal::web::i18n::Lang;
use std::io::Read;

#[tokio::test]
async fn feeds_are_served_compressed_cached_and_conditionally() {
    let dir = tempfile::tempdir().unwrap();
    let sources = common::source_block(
        "buergerhaus",
        &common::fixture_path("ics/nextcloud.ics")
            .display()
            .to_string(),
    );
    let (_, cfg) = common::write_config(dir.path(), &sources);
    let app = App::open(cfg).await.unwrap();
    app.fetch_all(None, |_| {}).await.unwrap();
    let (base, _stop) = common::serve(app).await;
    // Without the client's own decompression, to see what the server sends.
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut r = client.get(format!("{base}{path}"));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send()
    };

    let plain = get("/calendar.ics", &[]).await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["vary"], "Accept-Encoding");
    assert!(plain.headers().get("content-encoding").is_none());
    let tag = plain.headers()["etag"].to_str().unwrap().to_string();
    let last_modified = plain.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let text = plain.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));

    // gzip and brotli: the same bytes once decoded, each with its own ETag.
    let gz = get("/calendar.ics", &[("accept-encoding", "gzip")])
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz_tag = gz.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(gz_tag, tag);
    let bytes = gz.bytes().await.unwrap();
    assert!(bytes.len() < text.len() / 2);
    let mut back = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut back)
        .unwrap();
    assert_eq!(back, text);
    let br = get("/calendar.ics", &[("accept-encoding", "gzip, br")])
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    let br_tag = br.headers()["etag"].to_str().unwrap().to_string();
    let bytes = br.bytes().await.unwrap();
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).unwrap();
    assert_eq!(out, text.as_bytes());

    // Conditional requests, for every representation's ETag and by date.
    for t in [&tag, &gz_tag, &br_tag] {
        let r = get(
            "/calendar.ics",
            &[("if-none-match", t), ("accept-encoding", "gzip")],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 304, "{t}");
        assert_eq!(r.headers()["etag"], gz_tag.as_str());
    }
    let r = get("/calendar.ics", &[("if-modified-since", &last_modified)])
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = get(
        "/calendar.ics",
        &[("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // HEAD: the headers without a body.
    let head = client
        .head(format!("{base}/calendar.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"], tag.as_str());
    assert!(head.bytes().await.unwrap().is_empty());

    // Filtered feeds and JSON pages are cached under their own query.
    let music = get("/calendar.ics?category=music", &[]).await.unwrap();
    assert_ne!(music.headers()["etag"], tag.as_str());
    let page = get("/api/v1/events?limit=2", &[("accept-encoding", "gzip")])
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["vary"], "Accept-Encoding");
    let stats: serde_json::Value = get("/api/v1/stats", &[])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["sources"], 1);
    assert!(stats["published"].as_u64().unwrap() > 5);
    assert_eq!(stats["merged_duplicates"], 0);
    let bad = get("/api/v1/events?cursor=zzz", &[]).await.unwrap();
    assert_eq!(bad.status(), 400);
    let bad = get("/api/v1/events?cursor=zzz", &[]).await.unwrap();
    assert_eq!(
        bad.status(),
        400,
        "a bad cursor stays an error when asked again"
    );
}

/// `[calendar] feed_max_occurrences`: over the cap the unfiltered calendar feeds hold the
/// occurrences from today up to the last whole day within the cap; filtered feeds and the
/// export hold everything, and the subscribe page says how far the whole calendar reaches.
#[tokio::test]
async fn the_unfiltered_calendar_feeds_are_capped_and_the_subscribe_page_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    // 60 daily events, the first ten days ago: event 10 is today's.
    let feed = dir.path().join("daily.ics");
    std::fs::write(
        &feed,
        common::generated_feed("daily", 60, today - chrono::Duration::days(10)),
    )
    .unwrap();
    let path = dir.path().join("regiocal.toml");
    let text = common::config_text(
        dir.path(),
        &common::source_block("daily", &feed.display().to_string()),
    )
    .replace(
        "future_days = 400\n",
        "future_days = 400\nfeed_max_occurrences = 20\n",
    );
    std::fs::write(&path, text).unwrap();
    let cfg = regiocal::config::Config::load(&path).unwrap();
    let app = App::open(cfg).await.unwrap();
    app.fetch_all(None, |_| {}).await.unwrap();
    let exported = app
        .export(
            regiocal::app::ExportFormat::Ics,
            &regiocal::output::Filter::default(),
        )
        .await
        .unwrap();
    let (base, _stop) = common::serve(app).await;
    let get = |path: &str| {
        let url = format!("{base}{path}");
        async move {
            let r = reqwest::get(url).await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let titles = |ics: &str| -> Vec<usize> {
        let mut n: Vec<usize> = common::unfold(ics)
            .iter()
            .filter_map(|l| l.strip_prefix("SUMMARY:Veranstaltung "))
            .map(|n| n.parse().unwrap())
            .collect();
        n.sort_unstable();
        n
    };

    // Today (event 10) and the 19 days after it: 20 occurrences.
    let capped = get("/calendar.ics").await;
    assert_eq!(titles(&capped), (10..30).collect::<Vec<_>>());
    let jcal = get("/calendar.jcal").await;
    assert_eq!(jcal.matches("\"vevent\"").count(), 20, "{jcal}");
    let items = |doc: &str| {
        serde_json::from_str::<serde_json::Value>(doc).unwrap()["numberOfItems"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(items(&get("/api/v1/events.jsonld").await), 20);
    assert_eq!(items(&get("/api/v1/events.jsonld?source=daily").await), 60);
    // Asked for with a filter, and exported: everything.
    assert_eq!(
        titles(&get("/calendar.ics?source=daily").await),
        (0..60).collect::<Vec<_>>()
    );
    assert_eq!(titles(&exported), (0..60).collect::<Vec<_>>());
    // The capped feed is the filtered one a subscriber could ask for.
    let last = today + chrono::Duration::days(19);
    let same = get(&format!("/calendar.ics?from={today}&to={last}")).await;
    assert_eq!(titles(&same), titles(&capped));

    let page = get("/subscribe?lang=de").await;
    assert!(page.contains("id=\"feed-cut\""), "{page}");
    let named = format!("bis {} (", Lang::De.long_date(last));
    assert!(page.contains(&named), "the note names the last day: {page}");
    assert!(page.contains("höchstens 20 Termine"));
    assert!(!page.contains("Dieses Abonnement enthält alle Termine."));
    let filtered = get("/subscribe?lang=de&source=daily").await;
    assert!(!filtered.contains("id=\"feed-cut\""));
    let en = get("/subscribe?lang=en").await;
    assert!(en.contains("at most 20 events"), "{en}");
}

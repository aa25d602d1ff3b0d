//! RELIABILITY.md bad-input catalogue, end to end: each hostile body goes through the real
//! ingest (fetch from a stub server on 127.0.0.1 or a local file, decode, parse, normalise,
//! guard, store) and the test checks what the row's "Expected" column says. Parser-level
//! checks of the same rows live next to each parser's tests (see docs/reliability.md).

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use common::{Reply, StubServer};
use regiocal::app::App;
use regiocal::ingest::{self, Outcome};
use regiocal::model::{EventTime, Health, Status};
use regiocal::output::{Filter, Snapshot};
use regiocal::server::{self, SnapshotCell};
use regiocal::store::Store;
use std::sync::Arc;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc()
}

async fn app_with(dir: &std::path::Path, blocks: &str) -> App {
    let (_, cfg) = common::write_config(dir, blocks);
    App::open(cfg).await.unwrap()
}

async fn run(app: &App, id: &str) -> ingest::Report {
    let src = app.config.source(id).unwrap();
    ingest::ingest_source(&app.config, app.store.as_ref(), &app.fetcher, src, now())
        .await
        .unwrap()
}

/// A snapshot of the store as of the pinned "now".
async fn snapshot(app: &App) -> Snapshot {
    Snapshot::build(
        &app.config,
        app.store.all_events().await.unwrap(),
        app.store.source_states().await.unwrap(),
        None,
        now(),
    )
}

fn feed(body: Vec<u8>) -> Reply {
    Reply::Feed { body, etag: None }
}

fn raw(body: impl Into<Vec<u8>>, content_type: &'static str) -> Reply {
    Reply::Raw {
        status: 200,
        body: body.into(),
        content_type,
    }
}

/// One VCALENDAR holding the given VEVENT bodies (without BEGIN/END lines).
fn calendar(events: &[&str]) -> String {
    let mut s = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Rows//DE\r\n");
    for e in events {
        s.push_str("BEGIN:VEVENT\r\nDTSTAMP:20261101T000000Z\r\n");
        s.push_str(e);
        s.push_str("\r\nEND:VEVENT\r\n");
    }
    s.push_str("END:VCALENDAR\r\n");
    s
}

const GOOD: &str = "UID:gut@test\r\nDTSTART;TZID=Europe/Berlin:20261205T190000\r\nDTEND;TZID=Europe/Berlin:20261205T210000\r\nSUMMARY:Gültig";

/// Row 1: entity bombs, external entities and external DTDs in every XML format fail the
/// fetch; nothing is expanded, no file is read and no request is made (the DTD and entity
/// URLs point at the stub server, which counts hits); stored events stay.
#[tokio::test]
async fn row1_xml_entity_and_dtd_tricks_fail_the_fetch_without_reading_or_requesting() {
    let stub = StubServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("geheim.txt");
    std::fs::write(&secret, "GEHEIMNIS-4711").unwrap();
    let file_url = format!("file://{}", secret.display());
    let evil = stub.url("/evil.dtd");
    let rss_item = "<rss version=\"2.0\" xmlns:ev=\"http://purl.org/rss/1.0/modules/event/\"><channel><title>T</title><item><title>&x;</title><ev:startdate>2026-12-05T19:00:00+01:00</ev:startdate></item></channel></rss>";
    let hostile = [
        // Billion laughs.
        String::from_utf8(common::fixture("rss/billion-laughs.xml")).unwrap(),
        String::from_utf8(common::fixture("atom/billion-laughs.xml")).unwrap(),
        // External entities: a local file and a URL.
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY x SYSTEM \"{file_url}\">]>{rss_item}"
        ),
        format!("<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY x SYSTEM \"{evil}\">]>{rss_item}"),
        // A parameter entity and an external DTD subset, both at the stub.
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE feed [<!ENTITY % p SYSTEM \"{evil}\"> %p;]><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>&x;</title></feed>"
        ),
        format!("<?xml version=\"1.0\"?><!DOCTYPE rss SYSTEM \"{evil}\">{rss_item}"),
        format!(
            "<?xml version=\"1.0\"?><!DOCTYPE icalendar [<!ENTITY x SYSTEM \"{file_url}\">]><icalendar xmlns=\"urn:ietf:params:xml:ns:icalendar-2.0\"><vcalendar><components><vevent><properties><summary><text>&x;</text></summary></properties></vevent></components></vcalendar></icalendar>"
        ),
    ];
    let mut script = vec![feed(common::generated_feed(
        "x",
        10,
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    ))];
    script.extend(hostile.iter().map(|b| raw(b.clone(), "application/xml")));
    stub.script("/feed.xml", script);
    stub.script(
        "/evil.dtd",
        vec![raw("<!ENTITY x \"BOOM\">", "application/xml-dtd")],
    );
    let app = app_with(
        dir.path(),
        &common::source_block("xml", &stub.url("/feed.xml")),
    )
    .await;
    assert_eq!(run(&app, "xml").await.outcome, Outcome::Updated);

    for (i, body) in hostile.iter().enumerate() {
        let r = run(&app, "xml").await;
        assert_eq!(r.outcome, Outcome::Failed, "body {i}: {r:?}");
        let e = r.error.unwrap_or_default();
        assert!(
            e.contains("DTD entity declarations are not allowed")
                || e.contains("unknown entity &x;"),
            "body {i}: {e}\n{body}"
        );
        assert!(
            !e.contains("GEHEIMNIS") && !e.contains("BOOM") && !e.contains("lol"),
            "{e}"
        );
        let state = app.store.source_state("xml").await.unwrap().unwrap();
        assert_eq!(state.error_count as usize, i + 1, "one error per fetch");
        assert_eq!(state.event_count, 10, "stored events untouched");
        assert_eq!(app.store.source_events("xml").await.unwrap().len(), 10);
    }
    assert!(
        stub.hits("/evil.dtd").is_empty(),
        "no DTD or entity was requested"
    );
}

/// Row 2: 100 000 levels of XML or JSON nesting, in every format that reads XML or JSON, fail
/// the fetch with a typed error instead of overflowing the stack; stored events stay.
#[tokio::test]
async fn row2_hundred_thousand_levels_of_xml_or_json_nesting_fail_the_fetch() {
    const DEPTH: usize = 100_000;
    let xml = |open: &str, inner: &str, close: &str| {
        format!(
            "{open}{}{inner}{}{close}",
            "<x>".repeat(DEPTH),
            "</x>".repeat(DEPTH)
        )
    };
    let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let objects = format!("{}1{}", "{\"@graph\":".repeat(DEPTH), "}".repeat(DEPTH));
    let bodies: Vec<(&str, String, &str)> = vec![
        (
            "rss",
            xml(
                "<rss version=\"2.0\"><channel><item>",
                "",
                "</item></channel></rss>",
            ),
            "application/rss+xml",
        ),
        (
            "atom",
            xml(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>",
                "",
                "</entry></feed>",
            ),
            "application/atom+xml",
        ),
        (
            "xcal",
            xml(
                "<icalendar xmlns=\"urn:ietf:params:xml:ns:icalendar-2.0\"><vcalendar>",
                "",
                "</vcalendar></icalendar>",
            ),
            "application/calendar+xml",
        ),
        ("json arrays", arrays.clone(), "application/json"),
        ("json objects", objects.clone(), "application/ld+json"),
        (
            "jcal",
            format!("[\"vcalendar\", [], [{arrays}]]"),
            "application/calendar+json",
        ),
        (
            "oparl",
            format!("{{\"data\": [{arrays}]}}"),
            "application/json",
        ),
        (
            "html with JSON-LD",
            format!("<html><script type=\"application/ld+json\">{objects}</script></html>"),
            "text/html",
        ),
    ];
    let stub = StubServer::start().await;
    let mut script = vec![feed(common::generated_feed(
        "n",
        10,
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    ))];
    script.extend(bodies.iter().map(|(_, b, ct)| raw(b.clone(), ct)));
    stub.script("/deep", script);
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("deep", &stub.url("/deep")),
    )
    .await;
    assert_eq!(run(&app, "deep").await.outcome, Outcome::Updated);
    for (i, (what, _, _)) in bodies.iter().enumerate() {
        let r = run(&app, "deep").await;
        assert_eq!(r.outcome, Outcome::Failed, "{what}: {r:?}");
        let e = r.error.unwrap_or_default();
        assert!(
            [
                "deeper than 128",
                "recursion limit exceeded",
                "no schema.org JSON-LD Event"
            ]
            .iter()
            .any(|n| e.contains(n)),
            "{what}: {e}"
        );
        let state = app.store.source_state("deep").await.unwrap().unwrap();
        assert_eq!(state.error_count as usize, i + 1, "{what}");
        assert_eq!(app.store.source_events("deep").await.unwrap().len(), 10);
    }
}

/// Row 5: exploding recurrences are stored as they are, and their expansion is bounded by the
/// window (`past_days` 30 + `future_days` 400 around "now") and by
/// `max_occurrences_per_series` (1 000); a series with more than 48 occurrences within 24
/// hours (`FREQ=SECONDLY`) is refused with a warning, so it cannot flood the merged feed. How fast this is is measured by the `row5` group of
/// `benches/pipeline.rs`, not here.
#[tokio::test]
async fn row5_exploding_recurrences_are_stored_and_expansion_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::fixture_path("ics/hostile-recurrence.ics");
    let app = app_with(
        dir.path(),
        &common::source_block("hostile", &path.display().to_string()),
    )
    .await;
    let r = run(&app, "hostile").await;
    assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
    let stored: Vec<String> = app
        .store
        .source_events("hostile")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.uid)
        .collect();
    assert!(!stored.iter().any(|u| u.starts_with("hostile-secondly")));
    assert!(
        r.warnings.iter().any(|w| w.contains("hostile-secondly")
            && w.contains("more than 48 occurrences within 24 hours")),
        "{:?}",
        r.warnings
    );
    for uid in [
        "hostile-hourly@musterstadt.example",
        "hostile-daily-billion@musterstadt.example",
        "hostile-all-exdated@musterstadt.example",
        "hostile-ordinary@musterstadt.example",
    ] {
        assert!(stored.iter().any(|u| u == uid), "{uid} stored: {stored:?}");
    }
    let stored_rule = app
        .store
        .source_events("hostile")
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event.uid.starts_with("hostile-daily-billion"))
        .unwrap();
    assert_eq!(
        stored_rule.event.rrule.as_deref(),
        Some("FREQ=DAILY;COUNT=1000000000"),
        "the rule is stored unchanged"
    );

    let snap = snapshot(&app).await;
    let cap = app.config.calendar.max_occurrences_per_series;
    assert_eq!(cap, 1000);
    let count = |prefix: &str| {
        snap.select(&Filter::default())
            .filter(|r| snap.events[r.event].event.uid.starts_with(prefix))
            .count()
    };
    // FREQ=HOURLY without an end: exactly the cap, and the series is marked truncated.
    assert_eq!(count("hostile-hourly"), cap);
    assert!(snap.truncated_series >= 1);
    // COUNT=1000000000, daily from 2026-11-01: only the days inside the window.
    let days = (snap.window.end - snap.window.start).num_days() as usize;
    let daily = count("hostile-daily-billion");
    assert!(daily > 300 && daily <= days.min(cap), "{daily} of {days}");
    // Every EXDATE removes an occurrence: nothing left, nothing invented.
    assert_eq!(count("hostile-all-exdated"), 0);
    assert_eq!(count("hostile-ordinary"), 1);
    assert!(
        snap.select(&Filter::default())
            .all(|r| r.occurrence.start_utc < snap.window.end
                && r.occurrence.end_utc > snap.window.start)
    );
    // Whatever a client asks for, one series never yields more than the cap.
    let all = Filter {
        from: Some(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
        to: Some(NaiveDate::from_ymd_opt(2027, 12, 31).unwrap()),
        ..Default::default()
    };
    assert!(snap.select(&all).count() <= 2 * cap + 1);
    // The merged feed keeps each series as one compact VEVENT.
    let ics = regiocal::output::ics::render(&snap, &Filter::default());
    assert!(ics.contains("RRULE:FREQ=HOURLY"), "series stay series");
    assert!(ics.split("\r\n").filter(|l| *l == "BEGIN:VEVENT").count() < 10);
}

/// Row 6: a line break in UID, URL or TZID rejects that event with a reason (the rest of the
/// feed is ingested); in text properties it is escaped, and the re-parsed output has the
/// same properties (see also `ics_output::row6_*`).
#[tokio::test]
async fn row6_line_breaks_in_uid_url_or_tzid_reject_only_that_event() {
    let body = calendar(&[
        GOOD,
        "UID:uid-cr\rEND:VEVENT\r\nDTSTART:20261206T190000Z\r\nSUMMARY:UID mit CR",
        "UID:uid-escaped-lf\\nBEGIN:VEVENT\r\nDTSTART:20261206T190000Z\r\nSUMMARY:UID mit LF",
        "UID:url-cr\r\nDTSTART:20261207T190000Z\r\nSUMMARY:URL mit CR\r\nURL:https://example.org/a\rSUMMARY:x",
        "UID:url-escaped-lf\r\nDTSTART:20261207T190000Z\r\nSUMMARY:URL mit LF\r\nURL:https://example.org/a\\nSUMMARY:x",
        "UID:tzid-cr\r\nDTSTART;TZID=Europe/Berlin\rX:20261208T190000\r\nSUMMARY:TZID mit CR",
        "UID:tzid-caret-n\r\nDTSTART;TZID=\"Europe/Berlin^nX:1\":20261208T190000\r\nSUMMARY:TZID mit ^n",
        "UID:text\r\nDTSTART:20261209T190000Z\r\nSUMMARY:Eins\\nZwei\\, drei\\; vier \\\\ fünf\r\nLOCATION:Saal\rSTATUS:CANCELLED\r\nDESCRIPTION:Zeile 1\\nEND:VEVENT\\nBEGIN:VEVENT",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inj.ics");
    std::fs::write(&path, &body).unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("inj", &path.display().to_string()),
    )
    .await;
    let r = run(&app, "inj").await;
    assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
    let uids: Vec<String> = app
        .store
        .source_events("inj")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.uid)
        .collect();
    assert_eq!(uids.len(), 2, "{uids:?} {:?}", r.warnings);
    assert!(uids.contains(&"gut@test".to_string()) && uids.contains(&"text".to_string()));
    for (uid, reason) in [
        ("uid-cr", "UID contains control characters or line breaks"),
        (
            "uid-escaped-lf",
            "UID contains control characters or line breaks",
        ),
        ("url-cr", "URL contains control characters or line breaks"),
        (
            "url-escaped-lf",
            "URL contains control characters or line breaks",
        ),
        ("tzid-cr", "TZID contains control characters or line breaks"),
        (
            "tzid-caret-n",
            "TZID contains control characters or line breaks",
        ),
    ] {
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains(uid) && w.contains(reason)),
            "{uid}: {:?}",
            r.warnings
        );
    }
    // Text keeps its line breaks as escapes; re-parsing the output gives the same values.
    let snap = snapshot(&app).await;
    let text = regiocal::output::ics::render(&snap, &Filter::default());
    assert!(!text.replace("\r\n", "").contains('\r'));
    assert!(!text.replace("\r\n", "").contains('\n'));
    assert_eq!(
        text.split("\r\n").filter(|l| *l == "BEGIN:VEVENT").count(),
        2,
        "{text}"
    );
    let out = dir.path().join("out.ics");
    std::fs::write(&out, &text).unwrap();
    let (again, warnings) = common::parse_fixture_at(&out);
    assert!(warnings.is_empty(), "{warnings:?}");
    let before = app.store.source_events("inj").await.unwrap();
    let before = &before.iter().find(|e| e.event.uid == "text").unwrap().event;
    let after = again
        .iter()
        .find(|e| e.title.starts_with("Eins"))
        .expect("re-parsed");
    assert_eq!(after.title, "Eins Zwei, drei; vier \\ fünf");
    assert_eq!(
        (
            &after.title,
            &after.description,
            &after.location,
            after.status
        ),
        (
            &before.title,
            &before.description,
            &before.location,
            before.status
        )
    );
    assert_eq!(
        after.status,
        Status::Confirmed,
        "a bare CR is not a new line"
    );
}

/// Row 7: markup and script links never reach an output as markup: descriptions become plain
/// text at ingest (regiocal renders no HTML), only http(s) URLs are kept, every answer says
/// `X-Content-Type-Options: nosniff`, and the ICS feed carries plain text.
#[tokio::test]
async fn row7_script_markup_and_script_urls_are_neutralised_and_json_says_nosniff() {
    let body = calendar(&[
        "UID:xss-1\r\nDTSTART:20261205T180000Z\r\nDTEND:20261205T200000Z\r\nSUMMARY:<script>alert(1)</script>Konzert\r\nDESCRIPTION:<p onclick=\"alert(0)\">Eintritt frei</p><img src=\"x\" onerror=\"alert(2)\" srcset=\"javascript:alert(3) 1x\"><script>alert(5)</script><b>Karten</b> an der Abendkasse\r\nURL:javascript:alert(6)",
        "UID:xss-2\r\nDTSTART:20261206T180000Z\r\nDTEND:20261206T200000Z\r\nSUMMARY:Lesung\r\nURL:data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==",
        "UID:ok\r\nDTSTART:20261207T180000Z\r\nDTEND:20261207T200000Z\r\nSUMMARY:Theater\r\nURL:https://theater.example/karten?a=1&b=2",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xss.ics");
    std::fs::write(&path, &body).unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("xss", &path.display().to_string()),
    )
    .await;
    let r = run(&app, "xss").await;
    assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
    for bad in ["javascript:alert(6)", "data:text/html"] {
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains(bad) && w.contains("dropped")),
            "{bad}: {:?}",
            r.warnings
        );
    }

    let state = app.state(
        SnapshotCell::new(server::prepare(snapshot(&app).await)),
        Arc::new(tokio::sync::Notify::new()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, state, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();

    let resp = client
        .get(format!("{base}/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: serde_json::Value = resp.json().await.unwrap();
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let by = |title: &str| {
        events
            .iter()
            .find(|e| e["title"].as_str().unwrap().contains(title))
            .unwrap()
    };
    let xss = by("Konzert");
    let description = xss["description"].as_str().unwrap();
    assert!(description.contains("Eintritt frei"), "{description}");
    assert!(
        description.contains("Karten an der Abendkasse"),
        "{description}"
    );
    for markup in ["<", "onclick", "onerror", "srcset", "javascript:", "alert("] {
        assert!(!description.contains(markup), "{markup}: {description}");
    }
    // A title is plain text: kept as typed, a JSON string that clients escape.
    assert_eq!(xss["title"], "<script>alert(1)</script>Konzert");
    assert!(xss["url"].is_null(), "{xss}");
    assert!(by("Lesung")["url"].is_null());
    assert_eq!(
        by("Theater")["url"],
        "https://theater.example/karten?a=1&b=2"
    );

    // Every JSON answer, errors included, says nosniff; so do the feeds.
    for path in [
        "/api/v1/events?from=1900-01-01&to=2900-01-01",
        "/api/v1/events/%3Cscript%3E",
        "/api/v1/sources",
        "/api/v1/categories",
        "/healthz",
        "/calendar.ics",
        "/api/v1/openapi.json",
    ] {
        let resp = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path}: {}",
            resp.status()
        );
    }
    let ics = client
        .get(format!("{base}/calendar.ics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !ics.contains("javascript:") && !ics.contains("onerror"),
        "{ics}"
    );
    assert!(!ics.contains("data:text/html"), "{ics}");
}

/// Row 8: a page with three JSON-LD blocks: one whose string holds an escaped `<\/script>`
/// (read), one cut short by a literal `</script>` inside a string (logged, ignored) and one
/// with a 50 000-item `@graph` (read up to the 10 000-event cap).
#[tokio::test]
async fn row8_json_ld_blocks_are_read_to_a_cap_and_a_bad_one_is_logged() {
    let items: Vec<String> = (0..50_000)
        .map(|i| {
            format!(
                "{{\"@type\":\"Event\",\"name\":\"Termin {i}\",\"startDate\":\"2026-12-01T10:00\"}}"
            )
        })
        .collect();
    let page = format!(
        "<!DOCTYPE html><html><head>\
         <script type=\"application/ld+json\">{{\"@context\":\"https://schema.org\",\"@type\":\"Event\",\"name\":\"Orgelnacht\",\"description\":\"Musik <\\/script> und Licht\",\"startDate\":\"2026-12-12T21:00:00+01:00\"}}</script>\
         <script type=\"application/ld+json\">{{\"@type\":\"Event\",\"name\":\"Ende </script> hier\",\"startDate\":\"2026-12-02\"}}</script>\
         <script type=\"application/ld+json\">{{\"@context\":\"https://schema.org\",\"@graph\":[{}]}}</script>\
         </head><body></body></html>",
        items.join(",")
    );
    let stub = StubServer::start().await;
    stub.script("/termine", vec![raw(page, "text/html; charset=utf-8")]);
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("seite", &stub.url("/termine")),
    )
    .await;
    let r = run(&app, "seite").await;
    assert_eq!(r.outcome, Outcome::Updated, "{:?}", r.error);
    assert_eq!(r.events, regiocal::format::jsonld::MAX_EVENTS);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("JSON-LD block 2 ignored: invalid JSON")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("more than 10000 events in one document")),
        "{:?}",
        r.warnings
    );
    let stored = app.store.source_events("seite").await.unwrap();
    assert_eq!(stored.len(), regiocal::format::jsonld::MAX_EVENTS);
    let organ = stored
        .iter()
        .find(|e| e.event.title == "Orgelnacht")
        .expect("the first block is read");
    // The string went on past the escaped `<\/script>`; descriptions are stored as plain
    // text, so the tag itself is gone (row 7).
    let description = organ.event.description.as_deref().unwrap();
    assert!(
        description.starts_with("Musik") && description.ends_with("und Licht"),
        "{description}"
    );
    assert!(!description.contains('<'), "{description}");
    assert!(!stored.iter().any(|e| e.event.title.starts_with("Ende")));
}

/// Row 9 (the shrunk case; the emptied case with 300 events is F4 in `ingest.rs`): a feed
/// that loses more than 20 % of its future events is held back and the source is `suspect`;
/// a normal fetch in between resets the count; three fetches in a row apply it, and then
/// past events stay and upcoming ones are kept as cancelled.
#[tokio::test]
async fn row9_a_feed_shrunk_by_a_third_is_held_back_until_three_fetches_confirm_it() {
    let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let full = common::generated_feed("e", 300, first);
    let shrunk = common::generated_feed("e", 200, first);
    let stub = StubServer::start().await;
    stub.script(
        "/feed",
        vec![
            feed(full.clone()),
            feed(shrunk.clone()),
            feed(full),
            feed(shrunk.clone()),
            feed(shrunk.clone()),
            feed(shrunk),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("club", &stub.url("/feed")),
    )
    .await;
    assert_eq!(run(&app, "club").await.outcome, Outcome::Updated);

    let held = |r: &ingest::Report, n: u32| {
        assert_eq!(r.outcome, Outcome::HeldBack, "{r:?}");
        let e = r.error.as_deref().unwrap();
        // 277 future events (23 of 300 are over at "now") would become 177.
        assert!(e.contains("from 277 to 177"), "{e}");
        assert!(e.contains(&format!("({n} so far)")), "{e}");
    };
    held(&run(&app, "club").await, 1);
    let state = app.store.source_state("club").await.unwrap().unwrap();
    assert_eq!(state.health(), Health::Suspect);
    assert_eq!(app.store.source_events("club").await.unwrap().len(), 300);

    // The full feed again: nothing to hold back, and the count starts over.
    let r = run(&app, "club").await;
    assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
    assert_eq!(
        app.store
            .source_state("club")
            .await
            .unwrap()
            .unwrap()
            .health(),
        Health::Ok
    );
    held(&run(&app, "club").await, 1);
    held(&run(&app, "club").await, 2);
    assert_eq!(run(&app, "club").await.outcome, Outcome::Updated);

    let left = app.store.source_events("club").await.unwrap();
    assert_eq!(left.len(), 300, "nothing is deleted outright");
    let index = |uid: &str| uid.trim_start_matches("e-").parse::<usize>().unwrap();
    for e in &left {
        let i = index(&e.event.uid);
        let over = e.event.start.to_utc(chrono_tz::UTC) < now();
        if i < 200 || over {
            assert_eq!(e.event.status, Status::Confirmed, "{}", e.event.uid);
            assert!(e.event.withdrawn.is_none(), "{}", e.event.uid);
        } else {
            assert_eq!(e.event.status, Status::Cancelled, "{}", e.event.uid);
        }
    }
}

/// Row 10: a 200 OK whose body is an HTML login or error page fails the fetch (whatever the
/// Content-Type says and whatever format is configured); it is never read as an empty feed,
/// so the shrink guard is not even asked and the stored events stay.
#[tokio::test]
async fn row10_a_200_html_login_page_is_an_error_never_an_empty_feed() {
    let login = "<!DOCTYPE html>\n<html lang=\"de\"><head><title>Anmeldung</title></head><body><form action=\"/login\"><input name=\"user\"><input type=\"password\" name=\"pw\"></form></body></html>";
    let good = common::generated_feed("h", 20, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    let stub = StubServer::start().await;
    for path in ["/auto", "/ics", "/jsonld"] {
        stub.script(
            path,
            vec![
                feed(good.clone()),
                raw(login, "text/html; charset=utf-8"),
                raw(login, "text/calendar"),
            ],
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let blocks = format!(
        "{}{}format = \"ics\"\n{}format = \"jsonld\"\n",
        common::source_block("auto", &stub.url("/auto")),
        common::source_block("ics", &stub.url("/ics")),
        common::source_block("jsonld", &stub.url("/jsonld")),
    );
    let app = app_with(dir.path(), &blocks).await;
    for id in ["auto", "ics"] {
        assert_eq!(run(&app, id).await.outcome, Outcome::Updated, "{id}");
    }
    // The JSON-LD source cannot read the ICS feed; give it events another way first.
    let r = run(&app, "jsonld").await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    for round in 1..=2u32 {
        for id in ["auto", "ics"] {
            let r = run(&app, id).await;
            assert_eq!(r.outcome, Outcome::Failed, "{id} {round}: {r:?}");
            let e = r.error.unwrap_or_default();
            assert!(e.contains("HTML page"), "{id} {round}: {e}");
            let state = app.store.source_state(id).await.unwrap().unwrap();
            assert_eq!(state.error_count, round, "{id}");
            assert_eq!(state.pending_shrink, 0, "{id}: not a shrunk feed");
            assert_ne!(state.health(), Health::Suspect);
            assert_eq!(state.event_count, 20, "{id}");
            assert_eq!(app.store.source_events(id).await.unwrap().len(), 20);
        }
        let r = run(&app, "jsonld").await;
        assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
        assert!(
            r.error
                .as_deref()
                .unwrap()
                .contains("no schema.org JSON-LD Event"),
            "{r:?}"
        );
    }
}

/// Row 12: years 0 and 9999, 30 February (as a date and as the only day a rule allows) each
/// reject only their event, with the reason; the rest of the feed is ingested and the source
/// stays healthy. An unknown TZID and a DTEND before DTSTART lose no event: the first is read
/// in the calendar's zone, the second with start and end swapped, each with a warning.
#[tokio::test]
async fn row12_absurd_dates_reject_only_their_event_with_the_reason() {
    let body = calendar(&[
        GOOD,
        "UID:tz\r\nDTSTART;TZID=Mars/Olympus_Mons:20261210T190000\r\nSUMMARY:Mars",
        "UID:rueckwaerts\r\nDTSTART:20261203T200000Z\r\nDTEND:20261203T180000Z\r\nSUMMARY:Rückwärts",
        "UID:jahr-0\r\nDTSTART:00001203T200000Z\r\nSUMMARY:Jahr 0",
        "UID:jahr-9999\r\nDTSTART:99991203T200000Z\r\nSUMMARY:Jahr 9999",
        "UID:30-feb\r\nDTSTART:20270230T100000Z\r\nSUMMARY:30. Februar",
        "UID:30-feb-tag\r\nDTSTART;VALUE=DATE:20270230\r\nSUMMARY:30. Februar ganztags",
        "UID:30-feb-regel\r\nDTSTART;TZID=Europe/Berlin:20270130T100000\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=30;BYMONTH=2\r\nSUMMARY:Jeden 30. Februar",
        "UID:auch-gut\r\nDTSTART;VALUE=DATE:20261224\r\nSUMMARY:Heiligabend",
    ]);
    let stub = StubServer::start().await;
    stub.script("/cal.ics", vec![feed(body.into_bytes())]);
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("k", &stub.url("/cal.ics")),
    )
    .await;
    let r = run(&app, "k").await;
    assert_eq!(r.outcome, Outcome::Updated, "{r:?}");
    let mut uids: Vec<String> = app
        .store
        .source_events("k")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.uid)
        .collect();
    uids.sort();
    assert_eq!(uids, ["auch-gut", "gut@test", "rueckwaerts", "tz"]);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("TZID \"Mars/Olympus_Mons\" is not defined")
                && w.contains("1 time(s) read in Europe/Berlin")),
        "{:?}",
        r.warnings
    );
    let stored = app.store.source_events("k").await.unwrap();
    let time = |uid: &str| {
        let e = &stored.iter().find(|e| e.event.uid == uid).unwrap().event;
        (e.start, e.end)
    };
    let berlin = |s: &str| EventTime::Local {
        local: chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
        tz: chrono_tz::Europe::Berlin,
    };
    let utc = |s: &str| EventTime::Utc {
        utc: s.parse().unwrap(),
    };
    assert_eq!(time("tz").0, berlin("2026-12-10 19:00"));
    assert_eq!(
        time("rueckwaerts"),
        (utc("2026-12-03T18:00:00Z"), utc("2026-12-03T20:00:00Z"))
    );
    for (uid, reason) in [
        (
            "rueckwaerts",
            "DTEND is before DTSTART; read with the two swapped",
        ),
        ("jahr-0", "year 0 out of range"),
        ("jahr-9999", "year 9999 out of range"),
        ("30-feb", "invalid date 2027-02-30"),
        ("30-feb-tag", "invalid date 2027-02-30"),
        ("30-feb-regel", "never match"),
    ] {
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains(&format!("{uid:?}")) && w.contains(reason)),
            "{uid}: {reason}: {:?}",
            r.warnings
        );
    }
    assert_eq!(r.warnings.len(), 7, "{:?}", r.warnings);
    let state = app.store.source_state("k").await.unwrap().unwrap();
    assert_eq!((state.error_count, state.health()), (0, Health::Ok));
    assert_eq!(state.last_warnings, 7);
    assert_eq!(r.zone_fallbacks, 1);
}

/// Row 13: UTF-16 with a BOM (both byte orders), Latin-1 served as UTF-8, UTF-8 with a broken
/// byte and NUL bytes all ingest: decoded, replaced or stripped, with a warning; no NUL
/// reaches the store.
#[tokio::test]
async fn row13_odd_encodings_and_nul_bytes_are_decoded_replaced_or_stripped() {
    let text = calendar(&[
        "UID:enc\r\nDTSTART;TZID=Europe/Berlin:20261205T190000\r\nSUMMARY:Straßenfest in Köln\r\nLOCATION:Großer Saal",
    ]);
    let utf16 = |le: bool| -> Vec<u8> {
        let bom: [u8; 2] = if le { [0xFF, 0xFE] } else { [0xFE, 0xFF] };
        bom.into_iter()
            .chain(text.encode_utf16().flat_map(
                move |u| {
                    if le { u.to_le_bytes() } else { u.to_be_bytes() }
                },
            ))
            .collect()
    };
    let latin1: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let broken = text
        .replace("Großer Saal", "Großer Saal \u{1}")
        .into_bytes()
        .into_iter()
        .map(|b| if b == 1 { 0xFF } else { b })
        .collect::<Vec<u8>>();
    let nul = text.replace("Straßenfest", "Stra\0ßen\0fest").into_bytes();
    /// What, body, Content-Type, expected location, expected first warning.
    type Case = (
        &'static str,
        Vec<u8>,
        &'static str,
        &'static str,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "utf-16le",
            utf16(true),
            "text/calendar",
            "Großer Saal",
            None,
        ),
        (
            "utf-16be",
            utf16(false),
            "text/calendar",
            "Großer Saal",
            None,
        ),
        (
            "latin-1 as utf-8",
            latin1,
            "text/calendar; charset=utf-8",
            "Großer Saal",
            Some("Windows-1252"),
        ),
        (
            "broken utf-8",
            broken,
            "text/calendar; charset=utf-8",
            "Großer Saal \u{FFFD}",
            Some("invalid sequences replaced"),
        ),
        (
            "nul",
            nul,
            "text/calendar",
            "Großer Saal",
            Some("NUL characters removed"),
        ),
    ];
    let stub = StubServer::start().await;
    let mut blocks = String::new();
    for (i, (_, body, ct, _, _)) in cases.iter().enumerate() {
        stub.script(&format!("/{i}"), vec![raw(body.clone(), ct)]);
        blocks.push_str(&common::source_block(
            &format!("s{i}"),
            &stub.url(&format!("/{i}")),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), &blocks).await;
    for (i, (what, _, _, location, warning)) in cases.iter().enumerate() {
        let id = format!("s{i}");
        let r = run(&app, &id).await;
        assert_eq!(r.outcome, Outcome::Updated, "{what}: {r:?}");
        match warning {
            Some(w) => assert!(
                r.warnings.first().is_some_and(|x| x.contains(w)),
                "{what}: {:?}",
                r.warnings
            ),
            None => assert!(r.warnings.is_empty(), "{what}: {:?}", r.warnings),
        }
        let stored = app.store.source_events(&id).await.unwrap();
        assert_eq!(stored.len(), 1, "{what}");
        let e = &stored[0].event;
        assert_eq!(e.title, "Straßenfest in Köln", "{what}");
        assert_eq!(e.location.as_deref(), Some(*location), "{what}");
        assert!(!format!("{e:?}").contains('\0'), "{what}");
    }
}

/// Row 17 at fetch time: a URL with credentials (from a paginated document's next link, say)
/// is refused before any connection, and the error does not repeat the credentials.
/// Registration-time refusal is `config::tests::row17_*`.
#[tokio::test]
async fn row17_urls_with_credentials_are_never_fetched_or_shown() {
    let stub = StubServer::start().await;
    stub.script("/x", vec![raw("BEGIN:VCALENDAR", "text/calendar")]);
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), "").await;
    for url in [
        format!("http://kultur:geheim-4711@{}/x", stub.addr),
        format!("http://nur-name@{}/x", stub.addr),
    ] {
        let err = app
            .fetcher
            .fetch_page(&url.parse().unwrap())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("credentials"), "{err}");
        assert!(
            !err.contains("geheim") && !err.contains("nur-name"),
            "{err}"
        );
    }
    for url in [
        format!("ftp://{}/x", stub.addr),
        format!("gopher://{}/x", stub.addr),
        "file:///etc/passwd".to_string(),
    ] {
        let err = app
            .fetcher
            .fetch_page(&url.parse().unwrap())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("not http(s)"), "{url}: {err}");
    }
    assert!(stub.hits("/x").is_empty(), "no request was made");
}

/// A download cut off inside an event (RFC 5545 files have no length of their own): the
/// complete events are stored, and no stored event is withdrawn for being absent from it;
/// a complete feed without the event later does withdraw it (published as cancelled).
#[tokio::test]
async fn cut_off_calendar_keeps_its_complete_events_and_withdraws_none() {
    let cut = common::fixture("ics/truncated.ics");
    let text = String::from_utf8(cut.clone()).unwrap();
    let whole = format!("{text}ür\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",);
    let without_third = {
        let at = whole.find("BEGIN:VEVENT\r\nUID:portal-3").unwrap();
        format!("{}END:VCALENDAR\r\n", &whole[..at])
    };
    let stub = StubServer::start().await;
    stub.script(
        "/portal.ics",
        vec![
            feed(whole.into_bytes()),
            feed(cut),
            feed(without_third.into_bytes()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("portal", &stub.url("/portal.ics")),
    )
    .await;
    let state = |uid: &'static str| {
        let app = &app;
        async move {
            app.store
                .source_events("portal")
                .await
                .unwrap()
                .into_iter()
                .find(|e| e.event.uid == uid)
                .map(|e| (e.event.status, e.event.withdrawn.is_some()))
        }
    };
    let r = run(&app, "portal").await;
    assert_eq!((r.outcome, r.events), (Outcome::Updated, 3), "{r:?}");
    let r = run(&app, "portal").await;
    assert_eq!(
        (r.outcome, r.events, r.partial),
        (Outcome::Updated, 2, true),
        "{r:?}"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("BEGIN:VEVENT is never closed")),
        "{:?}",
        r.warnings
    );
    assert_eq!(
        state("portal-3@musterstadt.example").await,
        Some((Status::Confirmed, false)),
        "the event the cut-off file lacks is kept as it was"
    );
    let r = run(&app, "portal").await;
    assert_eq!((r.outcome, r.partial), (Outcome::Updated, false), "{r:?}");
    assert_eq!(
        state("portal-3@musterstadt.example").await,
        Some((Status::Cancelled, true))
    );
}

/// Issue item 8: different shrunk bodies do not confirm each other; only the same shrunk
/// content, fetched `shrink_confirmations` times in a row, is applied.
#[tokio::test]
async fn item8_only_the_same_shrunk_content_confirms_a_shrink() {
    let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let full = common::generated_feed("e", 300, first);
    let shrunk_a = common::generated_feed("e", 200, first);
    let shrunk_b = common::generated_feed("e", 150, first);
    let stub = StubServer::start().await;
    stub.script(
        "/feed",
        vec![
            feed(full),
            feed(shrunk_a.clone()),
            feed(shrunk_b.clone()),
            feed(shrunk_a.clone()),
            feed(shrunk_b),
            feed(shrunk_a.clone()),
            feed(shrunk_a.clone()),
            feed(shrunk_a),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("club", &stub.url("/feed")),
    )
    .await;
    assert_eq!(run(&app, "club").await.outcome, Outcome::Updated);
    // A, B, A, B: each a first sighting of its content.
    for round in 0..4 {
        let r = run(&app, "club").await;
        assert_eq!(r.outcome, Outcome::HeldBack, "round {round}: {r:?}");
        assert!(r.error.as_deref().unwrap().contains("(1 so far)"), "{r:?}");
        assert_eq!(app.store.source_events("club").await.unwrap().len(), 300);
    }
    // A, A, A: the same content three times in a row applies it.
    let r = run(&app, "club").await;
    assert!(r.error.as_deref().unwrap().contains("(1 so far)"), "{r:?}");
    let r = run(&app, "club").await;
    assert!(r.error.as_deref().unwrap().contains("(2 so far)"), "{r:?}");
    assert_eq!(run(&app, "club").await.outcome, Outcome::Updated);
    let left = app.store.source_events("club").await.unwrap();
    let live = left
        .iter()
        .filter(|e| e.event.status == Status::Confirmed)
        .count();
    // The 200 of A stay confirmed, plus none of the rest but those already over.
    assert!(
        (200..=223).contains(&live),
        "{live} confirmed events after applying A"
    );
}

/// Issue item 5: a URL with CR/LF inside (which the URL parser would silently remove, turning
/// `…/a\r\nATTACH:https://evil/` into one harmless-looking link) is dropped with a warning
/// naming the field, for JSON-LD `url` and `image` as for ICS.
#[tokio::test]
async fn item5_a_url_with_a_line_break_is_dropped_with_a_warning_naming_the_field() {
    let page = "<html><head><script type=\"application/ld+json\">\
        {\"@context\":\"https://schema.org\",\"@type\":\"Event\",\"name\":\"Lesung\",\
         \"startDate\":\"2026-12-12T19:00:00+01:00\",\
         \"url\":\"https://x.example/a\\r\\nATTACH:https://evil.example/\",\
         \"image\":\"https://x.example/b.jpg\\nX-EVIL:1\"}\
        </script></head><body></body></html>";
    let stub = StubServer::start().await;
    stub.script("/seite", vec![raw(page, "text/html; charset=utf-8")]);
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("seite", &stub.url("/seite")),
    )
    .await;
    let r = run(&app, "seite").await;
    assert_eq!((r.outcome, r.events), (Outcome::Updated, 1), "{r:?}");
    for field in ["url", "image"] {
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains(&format!(": {field} ")) && w.contains("line break")),
            "{field}: {:?}",
            r.warnings
        );
    }
    let stored = app.store.source_events("seite").await.unwrap();
    assert_eq!(stored[0].event.url, None);
    assert_eq!(stored[0].event.image, None);
    let ics = regiocal::output::ics::render(&snapshot(&app).await, &Filter::default());
    assert!(!ics.contains("ATTACH") && !ics.contains("X-EVIL"), "{ics}");
}

/// Issue item 7: titles, locations, descriptions and URLs have documented maxima; longer ones
/// are cut (URLs dropped) with a warning naming the event and the field.
#[tokio::test]
async fn item7_overlong_texts_and_urls_are_capped_with_warnings() {
    use regiocal::normalize::{MAX_DESCRIPTION, MAX_LOCATION, MAX_TITLE};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lang.ics");
    let title = "Sehr langer Titel ".repeat(20_000);
    let body = calendar(&[&format!(
        "UID:lang@test\r\nDTSTART:20261212T180000Z\r\nSUMMARY:{title}\r\nLOCATION:{}\r\nDESCRIPTION:{}\r\nURL:https://x.example/{}",
        "Saal ".repeat(1000),
        "Text ".repeat(10_000),
        "a".repeat(3000)
    )]);
    std::fs::write(&path, body).unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("lang", &path.display().to_string()),
    )
    .await;
    let r = run(&app, "lang").await;
    assert_eq!((r.outcome, r.events), (Outcome::Updated, 1), "{r:?}");
    for needle in [
        format!("title of 359999 characters cut to {MAX_TITLE}"),
        format!("location of 4999 characters cut to {MAX_LOCATION}"),
        format!("description of 49999 characters cut to {MAX_DESCRIPTION}"),
        "url \"https://x.example/aaa".to_string(),
    ] {
        assert!(
            r.warnings.iter().any(|w| w.contains(&needle)),
            "{needle}: {:?}",
            r.warnings
        );
    }
    let stored = &app.store.source_events("lang").await.unwrap()[0].event;
    assert_eq!(stored.title.chars().count(), MAX_TITLE);
    assert!(stored.title.ends_with('…'));
    assert_eq!(
        stored.location.as_deref().unwrap().chars().count(),
        MAX_LOCATION
    );
    assert_eq!(
        stored.description.as_deref().unwrap().chars().count(),
        MAX_DESCRIPTION
    );
    assert_eq!(stored.url, None);
}

/// Issue item 7: a body with more VEVENTs than the cap is refused while its lines are read,
/// before the parser builds a component, and the stored events stay.
#[tokio::test]
async fn item7_too_many_vevents_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("viele.ics");
    let app = app_with(
        dir.path(),
        &common::source_block("viele", &path.display().to_string()),
    )
    .await;
    std::fs::write(&path, calendar(&[GOOD])).unwrap();
    assert_eq!(run(&app, "viele").await.events, 1);
    let cap = regiocal::format::ics::MAX_EVENTS;
    let mut body = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
    for _ in 0..=cap {
        body.push_str("BEGIN:VEVENT\r\nEND:VEVENT\r\n");
    }
    body.push_str("END:VCALENDAR\r\n");
    std::fs::write(&path, body).unwrap();
    let r = run(&app, "viele").await;
    let e = r.error.as_deref().unwrap();
    assert!(
        e.contains(&format!("more than {cap} events (line {})", 2 * cap + 3)),
        "{e}"
    );
    assert_eq!(app.store.source_events("viele").await.unwrap().len(), 1);
}

/// Issue item 2: a crowd of events at one time is paired by exact title only (fuzzy pairs
/// need a block under `dedupe::MAX_PAIRS`), so it costs O(n log n); a normal crowd is still
/// paired by similar titles.
#[test]
fn item2_a_same_time_flood_is_paired_by_exact_title_only() {
    use regiocal::dedupe::{self, Candidate};
    let start: DateTime<Utc> = "2026-12-12T18:00:00Z".parse().unwrap();
    let day = start.date_naive();
    let titles: Vec<String> = (0..20_000)
        .map(|i| format!("Vortrag Nummer {i} im Rathaus"))
        .collect();
    let cand = |source: &'static str, title: &'static str| Candidate {
        source,
        start,
        all_day: None,
        local_date: day,
        title,
        location: Some("Rathaus"),
        geo: None,
    };
    let params = regiocal::dedupe::Params::default();
    let venues = regiocal::geo::venues::Registry::default();
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    // A normal evening: a pair with similar titles is found.
    let small = vec![
        cand("a", "Der Chor singt Weihnachtslieder"),
        cand("b", "Der Chor singt Weihnachtslied"),
        cand("b", "Lesung im Keller"),
    ];
    let found = dedupe::cluster(&small, &params, &venues, &[], &Default::default());
    assert_eq!(found, vec![vec![0, 1]]);
    // A flood: 10,000 events each in two sources at the same minute; two pairs share their
    // title once normalised (case, punctuation), one pair only a similar one.
    let mut flood: Vec<Candidate<'static>> = Vec::new();
    for (i, t) in titles.iter().enumerate() {
        flood.push(cand(if i % 2 == 0 { "a" } else { "b" }, leak(t.clone())));
    }
    flood.push(cand("a", "Adventsbasar der Grundschule"));
    flood.push(cand("b", "Adventsbasar der Grundschule"));
    flood.push(cand("a", "Krippenspiel in St. Marien"));
    flood.push(cand("b", "KRIPPENSPIEL in St. Marien!"));
    flood.push(cand("a", "Der Chor singt Weihnachtslieder"));
    flood.push(cand("b", "Der Chor singt Weihnachtslied"));
    let n = flood.len();
    let found = dedupe::cluster(&flood, &params, &venues, &[], &Default::default());
    assert!(
        found.contains(&vec![n - 6, n - 5]),
        "exact title pair found"
    );
    assert!(
        found.contains(&vec![n - 4, n - 3]),
        "normalised title pair found"
    );
    assert!(
        !found.iter().any(|c| c.contains(&(n - 1))),
        "no fuzzy pairing in a crowd"
    );
    // Titles that differ only in their number are not the same title: nothing else merged.
    assert_eq!(found.len(), 2, "{:?}", &found[..found.len().min(5)]);
}

/// Issue item 7: the render cache is keyed by what a rendering is made of: unknown query
/// parameters and their order make no new entries, and pages for invented `Host` values
/// beyond the first few are rendered on the spot; a parameter whose value is not UTF-8 once
/// percent-decoded (`%ff`) is a 400 naming it; an event that runs ten years shows the year
/// of its end on its card.
#[tokio::test]
async fn item7_cache_keys_bad_percent_escapes_and_long_events() {
    let body = calendar(&[
        "UID:zehn-jahre@test\r\nDTSTART;VALUE=DATE:20261201\r\nDTEND;VALUE=DATE:20361201\r\nSUMMARY:Dauerausstellung Stadtgeschichte\r\nCATEGORIES:Ausstellung",
        "UID:abend@test\r\nDTSTART:20261205T180000Z\r\nDTEND:20261205T200000Z\r\nSUMMARY:Konzert\r\nCATEGORIES:Konzert",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lang.ics");
    std::fs::write(&path, &body).unwrap();
    let app = app_with(
        dir.path(),
        &common::source_block("museum", &path.display().to_string()),
    )
    .await;
    assert_eq!(run(&app, "museum").await.events, 2);
    let cell = SnapshotCell::new(server::prepare(snapshot(&app).await));
    let state = app.state(cell.clone(), Arc::new(tokio::sync::Notify::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, state, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::new();
    let get = |path: String, host: Option<String>| {
        let mut r = client.get(format!("{base}{path}"));
        if let Some(h) = host {
            r = r.header("host", h);
        }
        async move { r.send().await.unwrap() }
    };
    for i in 0..200 {
        assert_eq!(
            get(format!("/calendar.ics?utm_source={i}"), None)
                .await
                .status(),
            200
        );
        assert_eq!(
            get(format!("/calendar.ics?x{i}=1&category=Konzert"), None)
                .await
                .status(),
            200
        );
        assert_eq!(
            get(format!("/api/v1/events?tracking={i}"), None)
                .await
                .status(),
            200
        );
    }
    // One filtered feed, however its unknown parameters vary; the unfiltered ones are ready.
    assert_eq!(cell.current().cache.kept(), 1);
    for i in 0..200 {
        let r = get("/".to_string(), Some(format!("h{i}.example"))).await;
        assert_eq!(r.status(), 200);
    }
    let kept = cell.current().cache.kept();
    assert!(
        kept <= 1 + regiocal::http::cache::MAX_HOSTS,
        "{kept} renderings kept for 200 hosts"
    );

    for (path, param) in [
        ("/api/v1/events?q=%ff", "q"),
        ("/calendar.ics?category=%ff%fe", "category"),
        ("/api/v1/events?from=2026-12-01&source=a%ffb", "source"),
    ] {
        let r = get(path.to_string(), None).await;
        assert_eq!(r.status(), 400, "{path}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains(&format!("\"{param}\"")) && text.contains("UTF-8"),
            "{path}: {text}"
        );
    }
    // Unknown parameters with bad escapes are left alone (calendar clients add their own).
    assert_eq!(
        get("/calendar.ics?x=%ff".to_string(), None).await.status(),
        200
    );
    let r = get("/?q=%ff".to_string(), None).await;
    assert_eq!(r.status(), 400);

    let page = get("/?lang=de".to_string(), None)
        .await
        .text()
        .await
        .unwrap();
    let card = page
        .split("Dauerausstellung Stadtgeschichte")
        .nth(1)
        .map(|rest| &rest[..rest.len().min(1500)])
        .unwrap_or_default();
    assert!(
        card.contains("30. Nov. 2036"),
        "the card of a ten-year event names the year of its end: {card}"
    );
}

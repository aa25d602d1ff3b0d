//! One event, one entry: the same events from three sources in three formats merge into one
//! published event each, near misses stay apart, and identity survives refetches, UID
//! regeneration, merges and unmerges. Several fetch rounds (change, move, cancel, disappear,
//! reappear) check ids, SEQUENCE, LAST-MODIFIED, STATUS and the feed's ETag after each one.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{Reply, StubServer};
use regiocal::app::App;
use regiocal::ingest;
use regiocal::output::{Filter, Snapshot, etag, ics, json};
use regiocal::store::Store;
use std::collections::BTreeMap;

const VENUES: &str = "[[venue]]\nid = \"stadttheater\"\nname = \"Stadttheater Musterstadt\"\n\
    aliases = [\"Großes Haus\", \"Kleines Haus\", \"Theaterplatz 1\"]\nlat = 51.515\nlon = 7.47\n";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc()
}

fn fixture(name: &str) -> Vec<u8> {
    common::fixture(&format!("dedupe/{name}"))
}

fn raw(body: Vec<u8>, content_type: &'static str) -> Reply {
    Reply::Raw {
        status: 200,
        body,
        content_type,
    }
}

struct Rig {
    stub: StubServer,
    app: App,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// A store with the three sources (theatre first by priority), fetched from the stub.
    async fn new(extra: &str) -> Rig {
        let stub = StubServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let block = |id: &str, prio: i32| {
            format!(
                "{}priority = {prio}\n",
                common::source_block(id, &stub.url(&format!("/{id}")))
            )
        };
        let sources = format!(
            "{VENUES}{extra}{}{}{}",
            block("stadttheater", 10),
            block("kulturamt", 5),
            block("tickets", 0)
        );
        let (_, cfg) = common::write_config(dir.path(), &sources);
        let app = App::open(cfg).await.unwrap();
        Rig {
            stub,
            app,
            _dir: dir,
        }
    }

    fn serve_theatre(&self, body: Vec<u8>) {
        self.stub
            .script("/stadttheater", vec![Reply::Feed { body, etag: None }]);
    }

    fn serve_all(&self) {
        self.serve_theatre(fixture("stadttheater.ics"));
        self.stub.script(
            "/kulturamt",
            vec![raw(fixture("kulturamt.jsonld"), "application/ld+json")],
        );
        self.stub.script(
            "/tickets",
            vec![raw(fixture("tickets-export-1.xml"), "application/rss+xml")],
        );
    }

    async fn fetch(&self, id: &str, now: DateTime<Utc>) -> ingest::Report {
        let src = self.app.config.source(id).unwrap();
        let r = ingest::ingest_source(
            &self.app.config,
            self.app.store.as_ref(),
            &self.app.fetcher,
            src,
            now,
        )
        .await
        .unwrap();
        assert!(r.error.is_none(), "{id}: {r:?}");
        r
    }

    async fn snapshot(&self, now: DateTime<Utc>) -> Snapshot {
        let s = self.app.store.as_ref();
        Snapshot::build(
            &self.app.config,
            s.all_events().await.unwrap(),
            s.source_states().await.unwrap(),
            s.last_change().await.unwrap(),
            now,
        )
    }
}

/// Published occurrences as (title, start) -> JSON document.
fn published(snap: &Snapshot) -> BTreeMap<(String, String), serde_json::Value> {
    snap.select(&Filter::default())
        .map(|r| {
            let doc = serde_json::to_value(json::event_doc(snap, r, true)).unwrap();
            let key = (
                doc["title"].as_str().unwrap().to_string(),
                doc["start"].as_str().unwrap().to_string(),
            );
            (key, doc)
        })
        .collect()
}

fn key(title: &str, start: &str) -> (String, String) {
    (title.to_string(), start.to_string())
}

#[tokio::test]
async fn three_sources_give_one_event_each_and_near_misses_stay_apart() {
    let rig = Rig::new("").await;
    rig.serve_all();
    for id in ["tickets", "kulturamt", "stadttheater"] {
        rig.fetch(id, t0()).await;
    }
    let snap = rig.snapshot(t0()).await;
    let events = published(&snap);
    let keys: Vec<_> = events.keys().cloned().collect();
    assert_eq!(
        keys,
        vec![
            key("Der Kontrabass", "2026-12-05T19:00:00+01:00"),
            key("Die Zauberflöte", "2026-12-05T19:00:00+01:00"),
            key("Die Zauberflöte", "2026-12-19T19:00:00+01:00"),
            key("Lesung: Weihnachtsgeschichten", "2026-12-05T19:00:00+01:00"),
            key(
                "Weihnachtskonzert der Musikschule",
                "2026-12-12T16:00:00+01:00"
            ),
        ],
        "{events:#?}"
    );

    // The opera: the theatre's fields first, gaps filled from the others, all three listed.
    let opera = &events[&key("Die Zauberflöte", "2026-12-05T19:00:00+01:00")];
    let sources: Vec<&str> = opera["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["stadttheater", "kulturamt", "tickets"]);
    assert_eq!(opera["source"], "stadttheater");
    assert_eq!(opera["location"], "Großes Haus");
    assert_eq!(
        opera["image"],
        "https://kultur.musterstadt.de/media/zauberfloete-1200.jpg"
    );
    assert_eq!(opera["offers"][0]["price"], 18.0);
    assert_eq!(
        opera["url"],
        "https://www.stadttheater-musterstadt.de/spielplan/zauberfloete-2026-12-05"
    );
    let cats: Vec<&str> = opera["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    // "Oper" (theatre, tickets) and "Musik, Oper" (culture office) in the vocabulary's terms.
    assert_eq!(cats, ["music", "theatre"]);
    let prov = &opera["provenance"];
    assert_eq!(prov["title"], "stadttheater");
    assert_eq!(prov["image"], "kulturamt");
    assert_eq!(prov["offers"], "kulturamt");
    assert_eq!(prov["description"], "stadttheater");
    // Each announcement keeps its licence, attribution and own page.
    for s in opera["sources"].as_array().unwrap() {
        assert_eq!(s["license"], "CC0-1.0");
        assert!(s["url"].as_str().unwrap().starts_with("https://"), "{s}");
    }
    // The ticket seller's copy on the 19th merged with the theatre's, not with the 5th.
    let late = &events[&key("Die Zauberflöte", "2026-12-19T19:00:00+01:00")];
    assert_eq!(late["sources"].as_array().unwrap().len(), 2);
    let concert = &events[&key(
        "Weihnachtskonzert der Musikschule",
        "2026-12-12T16:00:00+01:00",
    )];
    assert_eq!(concert["sources"].as_array().unwrap().len(), 2);
    assert_eq!(concert["free"], true, "filled from the culture office");

    // Sources report how many of their occurrences went into others' events.
    let merged = snap.merged_away();
    assert_eq!(merged.get("kulturamt"), Some(&2));
    assert_eq!(merged.get("tickets"), Some(&2));
    assert_eq!(merged.get("stadttheater"), None);

    // The merged feed has one VEVENT per published event.
    let text = ics::render(&snap, &Filter::default());
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 5, "{text}");
    assert_eq!(text.matches("SUMMARY:Die Zauberflöte\r\n").count(), 2);
}

#[tokio::test]
async fn public_ids_survive_uid_regeneration_and_merges_and_redirect() {
    let rig = Rig::new("").await;
    rig.serve_all();
    // The ticket seller is seen first: its id survives the merge.
    rig.fetch("tickets", t0()).await;
    let snap = rig.snapshot(t0()).await;
    let tickets_opera =
        published(&snap)[&key("Zauberflöte, Die", "2026-12-05T19:00:00+01:00")]["id"]
            .as_str()
            .unwrap()
            .to_string();

    let t1 = t0() + Duration::hours(1);
    rig.fetch("stadttheater", t1).await;
    rig.fetch("kulturamt", t1).await;
    let snap = rig.snapshot(t1).await;
    let events = published(&snap);
    let opera = &events[&key("Die Zauberflöte", "2026-12-05T19:00:00+01:00")];
    assert_eq!(
        opera["id"],
        tickets_opera.as_str(),
        "the id seen first is kept"
    );
    let own_ids: Vec<String> = opera["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert!(own_ids.contains(&tickets_opera));
    for other in own_ids.iter().filter(|i| **i != tickets_opera) {
        assert!(snap.row(other).is_none());
        assert_eq!(snap.alias(other).unwrap().id, tickets_opera);
    }
    let feed = ics::render(&snap, &Filter::default());

    // The ticket seller exports again with new item ids: nothing changes.
    rig.stub.script(
        "/tickets",
        vec![raw(fixture("tickets-export-2.xml"), "application/rss+xml")],
    );
    let t2 = t1 + Duration::hours(1);
    let r = rig.fetch("tickets", t2).await;
    assert_eq!(
        r.stats.inserted + r.stats.deleted + r.stats.updated,
        0,
        "{r:?}"
    );
    let snap = rig.snapshot(t2).await;
    assert_eq!(
        published(&snap)[&key("Die Zauberflöte", "2026-12-05T19:00:00+01:00")]["id"],
        tickets_opera.as_str()
    );
    assert_eq!(
        etag(ics::render(&snap, &Filter::default()).as_bytes()),
        etag(feed.as_bytes())
    );
}

#[tokio::test]
async fn merge_and_unmerge_over_http_redirect_old_ids() {
    let stub = StubServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = format!(
        "{VENUES}{}priority = 10\n{}",
        common::source_block("stadttheater", &stub.url("/stadttheater")),
        common::source_block("kulturamt", &stub.url("/kulturamt"))
    );
    let (_, cfg) = common::write_config(dir.path(), &sources);
    let app = App::open(cfg).await.unwrap();
    stub.script(
        "/stadttheater",
        vec![Reply::Feed {
            body: fixture("stadttheater.ics"),
            etag: None,
        }],
    );
    stub.script(
        "/kulturamt",
        vec![raw(fixture("kulturamt.jsonld"), "application/ld+json")],
    );
    for id in ["stadttheater", "kulturamt"] {
        let src = app.config.source(id).unwrap();
        ingest::ingest_source(
            &app.config,
            app.store.as_ref(),
            &app.fetcher,
            src,
            Utc::now(),
        )
        .await
        .unwrap();
    }
    let snap = app.snapshot().await.unwrap();
    let all = Filter::default();
    let opera = snap
        .select(&all)
        .find(|r| !r.merged.is_empty() && snap.events[r.event].event.title == "Die Zauberflöte")
        .unwrap_or_else(|| {
            let rows: Vec<_> = snap
                .select(&all)
                .map(|r| (&snap.events[r.event].event.title, r.merged.len()))
                .collect();
            panic!("no merged opera in {rows:?}")
        });
    // The id seen first is kept (both were first seen in the same second here: then the
    // smaller id); the other one redirects.
    let kept = opera.id.clone();
    let moved = snap
        .members(opera)
        .map(|m| m.own_id.clone())
        .find(|id| *id != kept)
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.clone().serve(listener, async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |id: String| {
        let client = client.clone();
        let url = format!("{base}/api/v1/events/{id}");
        async move { client.get(url).send().await.unwrap() }
    };
    let r = get(kept.clone()).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["sources"].as_array().unwrap().len(), 2);
    assert_eq!(body["provenance"]["image"], "kulturamt");
    let r = get(moved.clone()).await;
    assert_eq!(r.status(), 301);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/api/v1/events/{kept}")
    );
    let sources: serde_json::Value = client
        .get(format!("{base}/api/v1/sources"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let count = |id: &str| {
        sources["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()["merged_into_others"]
            .clone()
    };
    assert_eq!(count("kulturamt"), 2);
    assert_eq!(count("stadttheater"), 0);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    // The culture office renames its entry: unmerged, both ids answer again.
    let renamed = String::from_utf8(fixture("kulturamt.jsonld"))
        .unwrap()
        .replace(
            "Die Zauberflöte – Oper von W. A. Mozart",
            "Einführungsmatinee zur Oper",
        );
    stub.script(
        "/kulturamt",
        vec![raw(renamed.into_bytes(), "application/ld+json")],
    );
    let src = app.config.source("kulturamt").unwrap();
    ingest::ingest_source(
        &app.config,
        app.store.as_ref(),
        &app.fetcher,
        src,
        Utc::now(),
    )
    .await
    .unwrap();
    let snap = app.snapshot().await.unwrap();
    assert!(snap.row(&kept).is_some());
    assert!(
        snap.row(&moved).is_some(),
        "unmerged: its own id is published again"
    );
    assert!(snap.alias(&moved).is_none());
}

/// The properties of each VEVENT of a feed, by UID.
fn vevents(feed: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let unfolded = feed.replace("\r\n ", "");
    let mut out = BTreeMap::new();
    for block in unfolded.split("BEGIN:VEVENT\r\n").skip(1) {
        let body = block.split("END:VEVENT").next().unwrap();
        let props: BTreeMap<String, String> = body
            .split("\r\n")
            .filter_map(|l| {
                let (name, value) = l.split_once(':')?;
                Some((name.split(';').next()?.to_string(), value.to_string()))
            })
            .collect();
        out.insert(props["UID"].clone(), props);
    }
    out
}

#[tokio::test]
async fn fetch_rounds_track_sequence_last_modified_status_and_etag() {
    let rig = Rig::new("").await;
    let base = String::from_utf8(fixture("stadttheater.ics")).unwrap();
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let round = |n: i64| t0() + Duration::hours(n);

    // Round 0: first fetch.
    rig.serve_theatre(base.clone().into_bytes());
    rig.fetch("stadttheater", round(0)).await;
    let snap = rig.snapshot(round(0)).await;
    let feed0 = ics::render(&snap, &Filter::default());
    let v0 = vevents(&feed0);
    assert_eq!(v0.len(), 4);
    assert!(
        v0.values()
            .all(|e| e["SEQUENCE"] == "0" && e["STATUS"] == "CONFIRMED")
    );
    assert!(v0.values().all(|e| e["LAST-MODIFIED"] == stamp(round(0))));
    let uid_of = |title: &str, v: &BTreeMap<String, BTreeMap<String, String>>| {
        v.iter()
            .find(|(_, e)| e["SUMMARY"] == title && e["DTSTART"].contains("20261205"))
            .map(|(u, _)| u.clone())
            .unwrap()
    };
    let opera = uid_of("Die Zauberflöte", &v0);
    let kontrabass = uid_of("Der Kontrabass", &v0);
    let ids0: Vec<String> = snap
        .select(&Filter::default())
        .map(|r| r.id.clone())
        .collect();

    // Round 1: the same feed, events in another order: nothing changes, same ETag.
    let head_end = base.find("BEGIN:VEVENT").unwrap();
    let tail_start = base.rfind("END:VEVENT\r\n").unwrap() + "END:VEVENT\r\n".len();
    let mut blocks: Vec<&str> = base[head_end..tail_start]
        .split_inclusive("END:VEVENT\r\n")
        .collect();
    blocks.reverse();
    let reordered = format!(
        "{}{}{}",
        &base[..head_end],
        blocks.concat(),
        &base[tail_start..]
    );
    rig.serve_theatre(reordered.into_bytes());
    rig.fetch("stadttheater", round(1)).await;
    let snap = rig.snapshot(round(1)).await;
    let feed1 = ics::render(&snap, &Filter::default());
    assert_eq!(etag(feed1.as_bytes()), etag(feed0.as_bytes()));
    let ids1: Vec<String> = snap
        .select(&Filter::default())
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(ids1, ids0);

    // Round 2: the opera's description changes: its SEQUENCE and LAST-MODIFIED move, the
    // others keep theirs.
    let changed = base.replace("Inszenierung: Tobias Kern.", "Inszenierung: Mira Lenz.");
    rig.serve_theatre(changed.clone().into_bytes());
    rig.fetch("stadttheater", round(2)).await;
    let feed2 = ics::render(&rig.snapshot(round(2)).await, &Filter::default());
    let v2 = vevents(&feed2);
    assert_eq!(v2[&opera]["SEQUENCE"], "1");
    assert_eq!(v2[&opera]["LAST-MODIFIED"], stamp(round(2)));
    assert_eq!(v2[&kontrabass]["SEQUENCE"], "0");
    assert_eq!(v2[&kontrabass]["LAST-MODIFIED"], stamp(round(0)));
    assert_ne!(etag(feed2.as_bytes()), etag(feed1.as_bytes()));

    // Round 3: "Der Kontrabass" moves to the next day (same UID): same id and UID, new time.
    let moved = changed.replace(
        "DTSTART;TZID=Europe/Berlin:20261205T190000\r\nDTEND;TZID=Europe/Berlin:20261205T203000",
        "DTSTART;TZID=Europe/Berlin:20261206T180000\r\nDTEND;TZID=Europe/Berlin:20261206T193000",
    );
    assert_ne!(moved, changed);
    rig.serve_theatre(moved.clone().into_bytes());
    rig.fetch("stadttheater", round(3)).await;
    let snap = rig.snapshot(round(3)).await;
    let v3 = vevents(&ics::render(&snap, &Filter::default()));
    assert_eq!(v3.len(), 4, "moved, not doubled");
    assert_eq!(v3[&kontrabass]["DTSTART"], "20261206T180000");
    assert_eq!(v3[&kontrabass]["SEQUENCE"], "1");
    let ids3: Vec<String> = snap
        .select(&Filter::default())
        .map(|r| r.id.clone())
        .collect();
    let mut a = ids3.clone();
    let mut b = ids0.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "a moved event keeps its id");

    // Round 4: the theatre cancels the opera.
    let cancelled = moved.replacen(
        "SUMMARY:Die Zauberflöte\r\n",
        "SUMMARY:Die Zauberflöte\r\nSTATUS:CANCELLED\r\n",
        1,
    );
    rig.serve_theatre(cancelled.clone().into_bytes());
    rig.fetch("stadttheater", round(4)).await;
    let v4 = vevents(&ics::render(
        &rig.snapshot(round(4)).await,
        &Filter::default(),
    ));
    assert_eq!(v4[&opera]["STATUS"], "CANCELLED");
    assert_eq!(v4[&opera]["SEQUENCE"], "2");
    assert_eq!(v4[&opera]["LAST-MODIFIED"], stamp(round(4)));

    // Round 5: "Der Kontrabass" disappears from the feed: it stays, cancelled.
    let start = cancelled.find("BEGIN:VEVENT\r\nUID:kontrabass").unwrap();
    let end = start + cancelled[start..].find("END:VEVENT\r\n").unwrap() + "END:VEVENT\r\n".len();
    let without = format!("{}{}", &cancelled[..start], &cancelled[end..]);
    rig.serve_theatre(without.into_bytes());
    rig.fetch("stadttheater", round(5)).await;
    let v5 = vevents(&ics::render(
        &rig.snapshot(round(5)).await,
        &Filter::default(),
    ));
    assert_eq!(v5.len(), 4);
    assert_eq!(v5[&kontrabass]["STATUS"], "CANCELLED");
    assert_eq!(v5[&kontrabass]["SEQUENCE"], "2");
    assert_eq!(v5[&kontrabass]["LAST-MODIFIED"], stamp(round(5)));

    // Round 6: it is back: confirmed again, same UID, SEQUENCE moves on.
    rig.serve_theatre(cancelled.clone().into_bytes());
    rig.fetch("stadttheater", round(6)).await;
    let snap = rig.snapshot(round(6)).await;
    let v6 = vevents(&ics::render(&snap, &Filter::default()));
    assert_eq!(v6[&kontrabass]["STATUS"], "CONFIRMED");
    assert_eq!(v6[&kontrabass]["SEQUENCE"], "3");
    let ids6: Vec<String> = snap
        .select(&Filter::default())
        .map(|r| r.id.clone())
        .collect();
    let mut c = ids6.clone();
    c.sort();
    assert_eq!(c, b);

    // Round 7: gone for longer than calendar.cancelled_days (7): then it is removed.
    let start = cancelled.find("BEGIN:VEVENT\r\nUID:kontrabass").unwrap();
    let end = start + cancelled[start..].find("END:VEVENT\r\n").unwrap() + "END:VEVENT\r\n".len();
    let without = format!("{}{}", &cancelled[..start], &cancelled[end..]);
    rig.serve_theatre(without.into_bytes());
    rig.fetch("stadttheater", round(7)).await;
    // An unchanged feed later on: the cancelled entry has expired from the feeds.
    let later = round(7) + Duration::days(8);
    rig.fetch("stadttheater", later).await;
    let v7 = vevents(&ics::render(&rig.snapshot(later).await, &Filter::default()));
    assert_eq!(v7.len(), 3);
    assert!(!v7.contains_key(&kontrabass));
}

/// A weekly series from one source and single dates of it from another.
fn series_and_singles(preferred: &str) -> Snapshot {
    let ics = |body: &str| {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//T//DE\r\n{body}END:VCALENDAR\r\n")
    };
    let series = ics(
        "BEGIN:VEVENT\r\nUID:wintermarkt@verein\r\nDTSTAMP:20261101T000000Z\r\n\
        DTSTART;TZID=Europe/Berlin:20261202T160000\r\nDTEND;TZID=Europe/Berlin:20261202T200000\r\n\
        RRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Wintermarkt am Rathaus\r\nLOCATION:Rathausplatz\r\n\
        END:VEVENT\r\n",
    );
    let singles = ics(
        "BEGIN:VEVENT\r\nUID:wm-1@stadt\r\nDTSTAMP:20261101T000000Z\r\n\
        DTSTART;TZID=Europe/Berlin:20261209T160000\r\nSUMMARY:Wintermarkt am Rathaus (mit Chor)\r\n\
        LOCATION:Rathausplatz\r\nDESCRIPTION:Mit dem Kinderchor.\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:wm-2@stadt\r\nDTSTAMP:20261101T000000Z\r\n\
        DTSTART;TZID=Europe/Berlin:20261216T160000\r\nSUMMARY:Wintermarkt am Rathaus\r\n\
        LOCATION:Rathausplatz\r\nEND:VEVENT\r\n",
    );
    let ctx = regiocal::format::ParseContext::new(chrono_tz::Europe::Berlin);
    let mut stored = Vec::new();
    for (id, body) in [("verein", series), ("stadt", singles)] {
        let (_, parsed) = regiocal::format::parse(
            body.as_bytes(),
            regiocal::config::FormatChoice::Auto,
            None,
            &ctx,
        )
        .unwrap();
        stored.extend(
            parsed
                .events
                .into_iter()
                .map(|event| regiocal::model::StoredEvent {
                    source: id.into(),
                    event,
                    first_seen: t0(),
                    updated_at: t0(),
                    revision: 0,
                }),
        );
    }
    let mut cfg = common::test_config(&["verein", "stadt"]);
    for s in &mut cfg.sources {
        s.priority = i32::from(s.id == preferred);
    }
    Snapshot::build(&cfg, stored, vec![], Some(t0()), t0())
}

#[test]
fn a_series_and_single_dates_of_it_are_one_event_per_date() {
    // The series' source preferred: the series carries every date and stays compact.
    let all = Filter::default();
    let snap = series_and_singles("verein");
    let rows: Vec<_> = snap.select(&all).collect();
    assert_eq!(rows.len(), 4, "four dates, each once");
    assert!(
        rows.iter()
            .all(|r| snap.series[r.series].source == "verein")
    );
    let on_9th = rows
        .iter()
        .find(|r| r.occurrence.start_utc.format("%d").to_string() == "09")
        .unwrap();
    let doc = serde_json::to_value(json::event_doc(&snap, on_9th, true)).unwrap();
    assert_eq!(
        doc["description"], "Mit dem Kinderchor.",
        "filled from the single date"
    );
    assert_eq!(doc["sources"].as_array().unwrap().len(), 2);
    let text = ics::render(&snap, &Filter::default());
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 1, "{text}");
    assert!(text.contains("RRULE:FREQ=WEEKLY;COUNT=4"));

    // The single dates' source preferred: they carry their dates; the series leaves them out
    // with EXDATE, so calendars show each date once.
    let snap = series_and_singles("stadt");
    let rows: Vec<_> = snap.select(&all).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows.iter()
            .filter(|r| snap.series[r.series].source == "stadt")
            .count(),
        2
    );
    let text = ics::render(&snap, &Filter::default());
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 3, "{text}");
    assert!(
        text.contains("EXDATE;TZID=Europe/Berlin:20261209T160000"),
        "{text}"
    );
    assert!(
        text.contains("EXDATE;TZID=Europe/Berlin:20261216T160000"),
        "{text}"
    );
}

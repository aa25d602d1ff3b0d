//! The web UI of the real `regiocal serve` on 127.0.0.1:0 with the demo region (the demo config
//! and its fixtures, plus a source of hostile text), the clock pinned to 2026-11-24: the list and
//! its filters against the JSON API, languages, the event page, the single-event ICS, subscribe
//! links, escaping, the embed and its headers, the sources page, error pages and redirects,
//! static assets.

mod common;

use common::{python, unfold};

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The demo config rewritten into `dir`: absolute paths, the store in `dir`, port 0, a
/// loopback tile URL, and one more source whose texts are hostile.
fn demo_config(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = root.join("config");
    let mut text = std::fs::read_to_string(cfg.join("regiocal.toml")).unwrap();
    let mut replace = |from: &str, to: String| {
        assert!(text.contains(from), "demo config lacks {from:?}");
        text = text.replace(from, &to);
    };
    replace(
        "path = \"../data/regiocal.sqlite\"",
        format!(
            "path = {:?}",
            dir.join("store.sqlite").display().to_string()
        ),
    );
    replace("bind = \"127.0.0.1:8080\"", "bind = \"127.0.0.1:0\"".into());
    replace(
        "\"../fixtures/",
        format!("\"{}/", root.join("fixtures").display()),
    );
    for file in [
        "venues.csv",
        "districts.geojson",
        "region.geojson",
        "overrides.toml",
    ] {
        replace(
            &format!("= \"{file}\""),
            format!("= {:?}", cfg.join(file).display().to_string()),
        );
    }
    replace(
        "tile_url = \"https://tile.openstreetmap.org/{z}/{x}/{y}.png\"",
        "tile_url = \"http://127.0.0.1:9/tiles/{z}/{x}/{y}.png\"".into(),
    );
    text.push_str(&format!(
        "\n[[source]]\nid = \"inj\"\nname = \"<script>alert('name')</script> Testquelle\"\n\
         url = {:?}\nlicense = \"CC0-1.0\"\nattribution = \"<img src=x onerror=alert(3)> Test\"\n",
        common::fixture_path("ics/injection.ics")
            .display()
            .to_string()
    ));
    let path = dir.join("regiocal.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `regiocal serve` with every source fetched.
struct Server {
    child: Child,
    base: String,
    client: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = demo_config(dir.path());
        let mut child = Command::new(env!("CARGO_BIN_EXE_regiocal"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("REGIOCAL_NOW", "2026-11-24T09:00:00Z")
            .env("RUST_LOG", "regiocal=info")
            .env_remove("REGIOCAL_BIND")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let base = loop {
            assert!(Instant::now() < deadline, "server did not start");
            let line = lines.next().expect("server exited").unwrap();
            if let Some(at) = line.find("Serving http://") {
                let rest = &line[at + "Serving ".len()..];
                break rest[..rest.find("/calendar.ics").unwrap()].to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        // Without the client's own decompression, to see what the server sends.
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .build()
            .unwrap();
        let server = Server {
            child,
            base,
            client,
            _dir: dir,
        };
        // The scheduler fetches every source at start; wait until the snapshot has them all.
        loop {
            let doc = server.json("/api/v1/sources");
            let sources = doc["sources"].as_array().unwrap();
            if sources.iter().all(|s| s["health"] == "ok") {
                break;
            }
            assert!(Instant::now() < deadline, "sources not fetched: {doc}");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::blocking::Response {
        let mut req = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().expect("request")
    }

    /// A page's HTML (asserting 200 and the content type).
    fn page(&self, path: &str) -> String {
        let r = self.get(path, &[]);
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        r.text().unwrap()
    }

    fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path, &[]);
        assert_eq!(r.status(), 200, "{path}");
        serde_json::from_str(&r.text().unwrap()).unwrap()
    }

    /// Titles the JSON API lists for a query (from the pinned day on, all of them).
    fn api_titles(&self, query: &str) -> Vec<String> {
        let doc = self.json(&format!(
            "/api/v1/events?from=2026-11-24&limit=1000&{query}"
        ));
        doc["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap().to_string())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes the entities askama writes (`&#60;`, `&#38;`, …) and the named basics.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix('#')
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The texts between `start` and the next `end` after each occurrence of `start`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    html.split(start)
        .skip(1)
        .map(|part| &part[..part.find(end).unwrap_or(part.len())])
        .collect()
}

/// The event titles of a list page, in order.
fn card_titles(html: &str) -> Vec<String> {
    between(html, "<h3 class=\"event-title\"><a href=\"", "</a>")
        .into_iter()
        .map(|s| unescape(&s[s.find('>').unwrap() + 1..]))
        .collect()
}

/// Every `href` of a page.
fn hrefs(html: &str) -> Vec<String> {
    between(html, "href=\"", "\"")
        .into_iter()
        .map(unescape)
        .collect()
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[test]
fn the_list_is_german_by_default_and_every_filter_changes_it_like_the_api() {
    let s = Server::start();
    let html = s.page("/");
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"de\">"));
    assert!(html.contains("<h1>Veranstaltungen</h1>"));
    assert!(html.contains("Heute, Dienstag, 24. November 2026"));
    let all = s.api_titles("");
    assert!(all.len() > 60, "{}", all.len());
    // The first page shows 50 of them, in the API's order, and a link to more.
    assert_eq!(card_titles(&html), all[..50]);
    assert!(html.contains(&format!("50 von {} Terminen", all.len())));
    assert!(html.contains("href=\"/?limit=100\""));
    assert_eq!(card_titles(&s.page("/?limit=1000")), all);

    // Every filter of the form gives the same events as the API for the same parameters.
    for query in [
        "category=music",
        "category=theatre",
        "district=Nord",
        "venue=stadttheater",
        "q=burgerhaus",
        "q=B%C3%BCrgerhaus",
        "q=ZAUBERFLOTE",
        "free=1",
        "transit=1",
        "from=2026-12-01&to=2026-12-07",
        "category=family&district=Altstadt&transit=1",
    ] {
        let want = s.api_titles(query);
        assert!(!want.is_empty(), "{query} gives no events: pick another");
        assert!(want.len() < all.len(), "{query} filters nothing");
        let page = s.page(&format!("/?{query}&limit=1000"));
        assert_eq!(sorted(&card_titles(&page)), sorted(&want), "{query}");
    }
    // Text search ignores case, umlauts and accents and finds words inside compounds.
    assert!(
        s.api_titles("q=zauberflote")
            .contains(&"Die Zauberflöte".to_string())
    );
    // The form is filled from the URL, and empty form fields mean "no filter".
    let page = s.page("/?q=Chor&from=&to=&category=&free=&district=Altstadt");
    assert!(page.contains("name=\"q\" type=\"search\" value=\"Chor\""));
    assert!(page.contains("<option value=\"Altstadt\" selected>"));
    assert_eq!(
        sorted(&card_titles(&page)),
        sorted(&s.api_titles("q=Chor&district=Altstadt"))
    );
    // Every form control has a label.
    for id in between(&page, "<input id=\"", "\"")
        .into_iter()
        .chain(between(&page, "<select id=\"", "\""))
    {
        assert!(page.contains(&format!("<label for=\"{id}\">")), "{id}");
    }
}

#[test]
fn english_by_accept_language_or_the_toggle_and_the_choice_is_kept() {
    let s = Server::start();
    let r = s.get("/", &[("accept-language", "en-GB,en;q=0.9,de;q=0.5")]);
    assert!(
        r.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("Accept-Language")
    );
    let html = r.text().unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Today, Tuesday, 24 November 2026"));
    assert!(html.contains("<h1>Events</h1>"));
    // The toggle links to the same view in German.
    assert!(html.contains("href=\"/?lang=de\" hreflang=\"de\" lang=\"de\">Deutsch</a>"));

    // ?lang=en wins over the header and stays in every link and form.
    let html = s.page("/?lang=en&category=music");
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<input type=\"hidden\" name=\"lang\" value=\"en\">"));
    for href in hrefs(&html) {
        let internal = href.starts_with('/') && !href.starts_with("/static/");
        let feed = [
            "/calendar.ics",
            "/feed.atom",
            "/api/",
            "/events/",
            "/?category=music&lang=de",
        ]
        .iter()
        .any(|p| href.starts_with(p));
        if internal && !feed {
            assert!(href.contains("lang=en"), "{href} loses the language");
        }
    }
    let detail = hrefs(&html)
        .into_iter()
        .find(|h| h.starts_with("/events/"))
        .unwrap();
    assert!(detail.ends_with("?lang=en"), "{detail}");
    let page = s.page(&detail);
    assert!(page.contains("<html lang=\"en\">"));
    assert!(page.contains("<dt>When</dt>"));
    // German is the default even for other languages.
    let html = s.get("/", &[("accept-language", "fr-FR")]).text().unwrap();
    assert!(html.contains("<html lang=\"de\">"));
}

#[test]
fn the_event_page_shows_time_place_getting_there_sources_and_json_ld() {
    let s = Server::start();
    let list = s.json("/api/v1/events?from=2026-11-24&q=Zauberfl%C3%B6te&limit=1");
    let ev = &list["events"][0];
    let id = ev["id"].as_str().unwrap();
    let api = s.json(&format!("/api/v1/events/{id}"));
    let html = s.page(&format!("/events/{id}"));
    assert!(html.contains("<h1>Die Zauberflöte</h1>"));
    assert!(html.contains("Samstag, 5. Dezember 2026, 19:00–22:00 Uhr"));
    assert!(html.contains("Stadttheater Musterstadt</a><br>Theaterplatz 1, 12345 Musterstadt"));
    assert!(html.contains("Stadtteil: Altstadt"));
    assert!(html.contains("<h2 id=\"anreise-h\">Anreise</h2>"));
    for stop in api["transit"].as_array().unwrap() {
        let name = stop["name"].as_str().unwrap();
        assert!(html.contains(&format!("<strong>{name}</strong>")), "{name}");
    }
    assert!(!api["transit"].as_array().unwrap().is_empty());
    assert!(html.contains("Bus 447"));
    let journey = unescape(api["journey_url"].as_str().unwrap());
    assert!(hrefs(&html).contains(&journey));
    assert!(html.contains("Leihräder in der Nähe"));
    // Every source with attribution and licence.
    let sources = api["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 3);
    for src in sources {
        for key in ["name", "attribution", "license"] {
            let v = src[key].as_str().unwrap();
            assert!(unescape(&html).contains(v), "{key} {v}");
        }
    }
    assert!(html.contains("href=\"https://creativecommons.org/licenses/by/4.0/\""));
    assert!(html.contains(&format!("href=\"/events/{id}.ics\" download")));
    // schema.org JSON-LD for search engines, the same as the JSON-LD feed's item.
    let block = between(&html, "<script type=\"application/ld+json\">", "</script>")[0];
    let ld: serde_json::Value = serde_json::from_str(block).unwrap();
    assert_eq!(ld["@context"], "https://schema.org");
    assert_eq!(ld["@type"], "Event");
    assert_eq!(ld["name"], "Die Zauberflöte");
    assert_eq!(ld["startDate"], api["start"]);
    assert_eq!(ld["location"]["name"], "Stadttheater Musterstadt");
    let feed = s.json("/api/v1/events.jsonld?from=2026-12-05&to=2026-12-05");
    let item = feed["itemListElement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"]["identifier"] == id)
        .unwrap();
    let mut from_feed = item["item"].clone();
    from_feed["@context"] = "https://schema.org".into();
    assert_eq!(ld, from_feed);
    // The last departure after the event, where the timetable has one.
    let chor = s.json("/api/v1/events?from=2026-11-24&q=Chorabend&limit=1")["events"][0].clone();
    let last = &chor["last_departure"];
    assert!(last.is_object(), "{chor}");
    let time = &last["time"].as_str().unwrap()[11..16];
    let page = s.page(&format!("/events/{}", chor["id"].as_str().unwrap()));
    let want = format!(
        "Letzte Abfahrt nach Veranstaltungsende:</strong> {time} Uhr: Bus {}, {}",
        last["line"].as_str().unwrap(),
        last["stop"].as_str().unwrap()
    );
    assert!(page.contains(&want), "{want}");
    // The map: a data block for the script and a link for everyone else.
    assert!(html.contains("id=\"map-data\">{\"tiles\":\"http://127.0.0.1:9/tiles/"));
    assert!(html.contains("openstreetmap.org/?mlat=51.51500"));
}

#[test]
fn add_to_calendar_gives_one_valid_event() {
    let s = Server::start();
    // A single event and one instance of a weekly series.
    for q in ["q=Zauberfl%C3%B6te", "q=Offener+Chorabend"] {
        let ev =
            s.json(&format!("/api/v1/events?from=2026-11-24&limit=1&{q}"))["events"][0].clone();
        let id = ev["id"].as_str().unwrap();
        let r = s.get(&format!("/events/{id}.ics"), &[]);
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
        let text = r.text().unwrap();
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
        assert!(text.split("\r\n").all(|l| l.len() <= 75));
        let lines = unfold(&text);
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 1);
        for banned in ["RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "X-WR-CALNAME"] {
            assert!(!lines.iter().any(|l| l.starts_with(banned)), "{banned}");
        }
        for must in ["UID:", "DTSTAMP:", "DTSTART", "SUMMARY:"] {
            assert!(lines.iter().any(|l| l.starts_with(must)), "{must}");
        }
        // Read back with the crate's parser (calcard): the occurrence itself.
        let (events, _) = {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("one.ics");
            std::fs::write(&p, &text).unwrap();
            common::parse_fixture_at(&p)
        };
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].title, ev["title"].as_str().unwrap());
        let start = events[0].start.to_utc(chrono_tz::Europe::Berlin);
        let api_start =
            chrono::DateTime::parse_from_rfc3339(ev["start"].as_str().unwrap()).unwrap();
        assert_eq!(start, api_start);
        assert!(events[0].rrule.is_none());
        // And with an independent parser.
        if let Some(py) = python() {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("one.ics");
            std::fs::write(&p, &text).unwrap();
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/ics_occurrences.py");
            let out = Command::new(py)
                .arg(script)
                .arg(&p)
                .args(["2026-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(lines[0]["summary"], ev["title"]);
            let theirs =
                chrono::DateTime::parse_from_rfc3339(lines[0]["start"].as_str().unwrap()).unwrap();
            assert_eq!(theirs, api_start);
        }
    }
}

#[test]
fn subscribe_links_carry_exactly_the_filter() {
    let s = Server::start();
    let host = s.base.trim_start_matches("http://");
    let html = s.page("/?category=family&district=Altstadt&limit=20&lang=en");
    let query = "category=family&district=Altstadt";
    assert!(html.contains(&format!(
        "id=\"subscribe-webcal\" href=\"webcal://{host}/calendar.ics?{}\"",
        query.replace('&', "&#38;")
    )));
    assert!(html.contains(&format!(
        "readonly value=\"http://{host}/calendar.ics?{}\"",
        query.replace('&', "&#38;")
    )));
    // The link serves the filtered feed: the same body as asking the feed directly.
    let via_link = s
        .get(&format!("/calendar.ics?{query}"), &[])
        .text()
        .unwrap();
    let all = s.get("/calendar.ics", &[]).text().unwrap();
    let n = via_link.matches("BEGIN:VEVENT").count();
    assert!(n > 0 && n < all.matches("BEGIN:VEVENT").count());
    // The subscribe page: the same for JSON and Atom, and instructions.
    let page = s.page(&format!("/subscribe?{query}"));
    for (id, path) in [
        ("feed-json", "/api/v1/events"),
        ("feed-atom", "/feed.atom"),
        ("feed-jsonld", "/api/v1/events.jsonld"),
    ] {
        let want = format!(
            "id=\"{id}\" href=\"http://{host}{path}?{}\"",
            query.replace('&', "&#38;")
        );
        assert!(page.contains(&want), "{want}");
    }
    for h in ["Google Kalender", "Apple Kalender", "Outlook"] {
        assert!(page.contains(h), "{h}");
    }
    let json = s.json(&format!(
        "/api/v1/events?{query}&from=2026-11-24&limit=1000"
    ));
    assert_eq!(
        json["events"].as_array().unwrap().len(),
        card_titles(&s.page(&format!("/?{query}&limit=1000"))).len()
    );
    // The embed snippets for the same selection.
    assert!(page.contains(&format!(
        "&#60;script src=&#34;http://{host}/embed.js&#34; data-category=&#34;family&#34; data-district=&#34;Altstadt&#34;"
    )));
    // Behind a proxy, the configured or forwarded scheme is used.
    let r = s.get(
        "/subscribe",
        &[("x-forwarded-proto", "https"), ("host", "kalender.example")],
    );
    let page = r.text().unwrap();
    assert!(page.contains("value=\"https://kalender.example/calendar.ics\""));
    assert!(page.contains("href=\"webcal://kalender.example/calendar.ics\""));
}

#[test]
fn hostile_feed_text_is_escaped_and_unsafe_links_are_dropped() {
    let s = Server::start();
    let id = |q: &str| {
        s.json(&format!("/api/v1/events?from=2026-11-24&limit=1&{q}"))["events"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let script_event = id("q=Improtheater");
    let js_event = id("q=javascript");
    let pages = [
        "/?source=inj&limit=1000".to_string(),
        "/?q=Improtheater".into(),
        format!("/events/{script_event}"),
        format!("/events/{js_event}"),
        "/map?source=inj".into(),
        "/embed?source=inj&limit=50".into(),
        "/sources".into(),
        "/subscribe?q=%3Cscript%3Ealert(1)%3C/script%3E".into(),
    ];
    for path in &pages {
        let html = s.page(path);
        for bad in [
            "<script>alert",
            "<img src=x",
            "onerror=\"",
            "</textarea><b>",
            "<script>alert('name')",
        ] {
            assert!(!html.contains(bad), "{path} contains {bad:?}");
        }
        // The only script elements are ours (a src from here, or a JSON data block).
        for tag in between(&html, "<script", ">") {
            assert!(
                tag.contains(" src=\"/static/")
                    || tag.contains("type=\"application/json\"")
                    || tag.contains("type=\"application/ld+json\""),
                "{path}: <script{tag}>"
            );
        }
        // Every link is ours or http(s).
        for href in hrefs(&html) {
            assert!(
                href.starts_with('/')
                    || href.starts_with("http://")
                    || href.starts_with("https://")
                    || href.starts_with("webcal://")
                    || href.starts_with('#'),
                "{path}: {href}"
            );
        }
    }
    // The text is shown, escaped.
    let detail = s.page(&format!("/events/{script_event}"));
    assert!(
        detail.contains(
            "<h1>&#60;script&#62;alert(1)&#60;/script&#62; Improtheater im Bürgerhaus</h1>"
        )
    );
    assert!(detail.contains("fett &#60;kein Entity&#62; &#34;Anführungszeichen&#34;"));
    assert!(detail.contains("&#60;img src=x onerror=&#34;alert(2)&#34;&#62; Bürgerhaus Café"));
    // The JSON-LD block keeps the text but cannot close its element.
    let block = between(
        &detail,
        "<script type=\"application/ld+json\">",
        "</script>",
    )[0];
    assert!(!block.contains('<'));
    let ld: serde_json::Value = serde_json::from_str(block).unwrap();
    assert_eq!(
        ld["name"],
        "<script>alert(1)</script> Improtheater im Bürgerhaus"
    );
    // A javascript: link of the feed becomes no link at all.
    let js = s.page(&format!("/events/{js_event}"));
    assert!(!js.contains("Mehr beim Veranstalter"));
    // The hostile source name and attribution on the sources page.
    let sources = s.page("/sources");
    assert!(sources.contains("&#60;script&#62;alert(&#39;name&#39;)&#60;/script&#62; Testquelle"));
    assert!(sources.contains("&#60;img src=x onerror=alert(3)&#62; Test"));
}

#[test]
fn the_embed_may_be_framed_anywhere_and_the_script_and_api_serve_any_origin() {
    let s = Server::start();
    let r = s.get("/embed?category=family&limit=2", &[]);
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(r.headers().get("x-frame-options").is_none());
    let html = r.text().unwrap();
    let titles = card_titles(&html);
    assert_eq!(titles, s.api_titles("category=family")[..2]);
    // Links leave the frame and point at this server.
    assert!(html.contains(&format!("<a href=\"{}/events/", s.base)));
    assert!(html.contains("target=\"_blank\" rel=\"noopener\""));
    assert!(!html.contains("<nav"));
    // The other pages may only be framed by this site.
    let r = s.get("/", &[]);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        csp.contains("img-src 'self' data: http://127.0.0.1:9"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-frame-options"], "SAMEORIGIN");

    // The script: small, cacheable, loadable from any page.
    let r = s.get("/embed.js", &[]);
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let js = r.text().unwrap();
    assert!(js.len() < 8 * 1024, "{} bytes", js.len());
    assert!(js.contains("customElements.define(\"regiocal-events\""));
    assert_eq!(s.get("/embed.js", &[("if-none-match", &tag)]).status(), 304);
    // The API it reads answers any origin, and preflight-free GETs are all it needs.
    let r = s.get(
        "/api/v1/events?category=family&limit=5",
        &[("origin", "https://portal.example")],
    );
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
}

#[test]
fn the_sources_page_is_the_feed_doctor() {
    let s = Server::start();
    let html = s.page("/sources");
    let api = s.json("/api/v1/sources");
    let sources = api["sources"].as_array().unwrap();
    assert_eq!(
        between(&html, "<tr id=\"source-", "\"").len(),
        sources.len()
    );
    for src in sources {
        let id = src["id"].as_str().unwrap();
        let row = between(&html, &format!("<tr id=\"source-{id}\">"), "</tr>")[0];
        let text = unescape(row);
        assert!(text.contains(src["name"].as_str().unwrap()), "{id}");
        assert!(row.contains("health-ok\">in Ordnung</span>"), "{id}");
        assert!(
            row.contains(&format!("<td class=\"num\">{}</td>", src["event_count"])),
            "{id}"
        );
        assert!(text.contains(src["license"].as_str().unwrap()), "{id}");
        assert!(text.contains(src["attribution"].as_str().unwrap()), "{id}");
        assert!(row.contains("24.11.2026, "), "{id}: last fetch");
    }
    assert!(html.contains("<caption id=\"sources-caption\">Quellen</caption>"));
    assert!(html.contains("<a href=\"https://www.govdata.de/dl-de/by-2-0\""));
    let en = s.page("/sources?lang=en");
    assert!(en.contains("health-ok\">OK</span>"));
    assert!(en.contains("<th scope=\"col\">Last fetch</th>"));
}

#[test]
fn unknown_pages_say_so_merged_ids_redirect_and_bad_filters_name_the_parameter() {
    let s = Server::start();
    let r = s.get("/events/0000000000000000", &[]);
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let html = r.text().unwrap();
    assert!(html.contains("<html lang=\"de\">") && html.contains("<h1>Nicht gefunden</h1>"));
    let r = s.get("/events/0000000000000000.ics?lang=en", &[]);
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("<h1>Not found</h1>"));
    let r = s.get("/no/such/page", &[("accept-language", "en")]);
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("<h1>Not found</h1>"));
    // Under /api/ the answer stays JSON.
    let r = s.get("/api/v1/nothing", &[]);
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/json");

    // An announcement merged into another source's event redirects to it, like the API.
    let zf =
        s.json("/api/v1/events?from=2026-11-24&q=Zauberfl%C3%B6te&limit=1")["events"][0].clone();
    let id = zf["id"].as_str().unwrap();
    let merged: Vec<&str> = zf["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .filter(|m| *m != id)
        .collect();
    assert!(!merged.is_empty());
    for m in merged {
        let r = s.get(&format!("/events/{m}?lang=en"), &[]);
        assert_eq!(r.status(), 301);
        assert_eq!(
            r.headers()["location"],
            format!("/events/{id}?lang=en").as_str()
        );
        let r = s.get(&format!("/events/{m}.ics"), &[]);
        assert_eq!(r.status(), 301);
        assert_eq!(
            r.headers()["location"],
            format!("/events/{id}.ics").as_str()
        );
    }

    // Bad filter values: 400, a page naming the parameter, in the page's language.
    for (query, param) in [
        ("from=gestern", "from"),
        ("to=2026-01-01&from=2026-02-01", "to"),
        ("free=vielleicht", "free"),
        ("transit=2", "transit"),
        ("limit=0", "limit"),
        ("bbox=1,2,3", "bbox"),
    ] {
        let r = s.get(&format!("/?{query}"), &[]);
        assert_eq!(r.status(), 400, "{query}");
        let html = r.text().unwrap();
        assert!(html.contains("<h1>Ungültige Angabe</h1>"), "{query}");
        assert!(
            html.contains(&format!("Ungültiger Wert für <code>{param}</code>")),
            "{query}"
        );
        // And the API says the same in JSON.
        let r = s.get(&format!("/api/v1/events?{query}"), &[]);
        assert_eq!(r.status(), 400);
        let body: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
        assert_eq!(body["parameter"], param, "{query}");
    }
    let r = s.get("/map?q=x&free=2&lang=en", &[]);
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .unwrap()
            .contains("Invalid value for <code>free</code>")
    );
}

#[test]
fn text_search_and_free_admission_filter_the_api_and_the_feeds() {
    let s = Server::start();
    // `q`: case, umlauts and accents do not matter; every word must match.
    let hits = s.api_titles("q=burgerhaus+chor");
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|t| t.contains("Chor")), "{hits:?}");
    assert_eq!(hits, s.api_titles("q=B%C3%9CRGERHAUS+chor"));
    assert_eq!(hits, s.api_titles("q=Buergerhaus%2C+Chor"));
    let zf = s.api_titles("q=zauberflote");
    assert!(
        zf.len() >= 2 && zf.iter().all(|t| t == "Die Zauberflöte"),
        "{zf:?}"
    );
    let ics = s.get("/calendar.ics?q=zauberflote", &[]).text().unwrap();
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), zf.len());
    assert_eq!(ics.matches("SUMMARY:Die Zauberflöte").count(), zf.len());
    let atom = s
        .get("/feed.atom?q=zauberflote&from=2026-11-24", &[])
        .text()
        .unwrap();
    assert_eq!(atom.matches("<entry>").count(), zf.len());
    // `free`: only events whose admission is known to be free.
    let free = s.json("/api/v1/events?free=1&limit=1000");
    let events = free["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e["free"] == true));
    let r = s.get("/api/v1/events?free=maybe", &[]);
    assert_eq!(r.status(), 400);
    let r = s.get(&format!("/calendar.ics?q={}", "a".repeat(201)), &[]);
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    assert_eq!(body["parameter"], "q");
}

#[test]
fn assets_are_embedded_versioned_and_cached_and_pages_revalidate() {
    let s = Server::start();
    let html = s.page("/map");
    let assets: BTreeSet<String> = between(&html, "=\"/static/", "\"")
        .into_iter()
        .map(|p| format!("/static/{p}"))
        .collect();
    assert!(
        assets.iter().any(|a| a.ends_with("/leaflet/leaflet.js")),
        "{assets:?}"
    );
    assert!(assets.iter().any(|a| a.ends_with("/app.css")));
    for a in &assets {
        let r = s.get(a, &[("accept-encoding", "gzip")]);
        assert_eq!(r.status(), 200, "{a}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{a}"
        );
        let tag = r.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(s.get(a, &[("if-none-match", &tag)]).status(), 304, "{a}");
    }
    // Leaflet's images resolve next to its stylesheet.
    let css = assets.iter().find(|a| a.ends_with("leaflet.css")).unwrap();
    let icon = css.replace("leaflet.css", "images/marker-icon.png");
    let r = s.get(&icon, &[]);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    // An old version still answers, briefly cacheable; unknown files do not.
    let r = s.get("/static/0000000000/app.css", &[]);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
    assert_eq!(s.get("/static/0000000000/../Cargo.toml", &[]).status(), 404);
    // Pages: ETag and 304, compressed when asked.
    let r = s.get("/?category=music", &[("accept-encoding", "br")]);
    assert_eq!(r.headers()["content-encoding"], "br");
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = s.get(
        "/?category=music",
        &[("accept-encoding", "br"), ("if-none-match", &tag)],
    );
    assert_eq!(r.status(), 304);
}

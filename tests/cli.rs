//! The real `regiocal` binary: `fetch`, `export`, `check`, and `serve` (HTTP API, ETags,
//! graceful shutdown, restart without refetching) against local files and a stub server on
//! 127.0.0.1.

mod common;

use common::{Reply, StubServer};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn regiocal(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regiocal"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("REGIOCAL_NOW", common::NOW)
        .env("RUST_LOG", "regiocal=info")
        .output()
        .expect("run regiocal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `regiocal export --format F... --out dir`, asserts it succeeded and returns its stderr
/// (the progress lines).
fn export_into(config: &Path, formats: &[&str], dir: &Path) -> String {
    let mut args = vec!["export"];
    for f in formats {
        args.extend(["--format", f]);
    }
    args.extend(["--out", dir.to_str().unwrap()]);
    let out = regiocal(config, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

fn demo_sources() -> String {
    [
        ("google", "google"),
        ("outlook", "outlook"),
        ("apple", "apple"),
        ("nextcloud", "nextcloud"),
        ("cms", "cms-plugin"),
    ]
    .iter()
    .map(|(id, f)| {
        common::source_block(
            id,
            &common::fixture_path(&format!("ics/{f}.ics"))
                .display()
                .to_string(),
        )
    })
    .collect()
}

/// A running `regiocal serve` and its base URL.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(config: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_regiocal"))
            .args(["serve", "--config"])
            .arg(config)
            .env("REGIOCAL_NOW", common::NOW)
            .env("RUST_LOG", "regiocal=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let deadline = Instant::now() + Duration::from_secs(20);
        let base = loop {
            assert!(Instant::now() < deadline, "server did not start");
            let line = lines.next().expect("server exited").unwrap();
            if let Some(at) = line.find("Serving http://") {
                let rest = &line[at + "Serving ".len()..];
                break rest[..rest.find("/calendar.ics").unwrap()].to_string();
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::blocking::Response {
        let client = reqwest::blocking::Client::new();
        let mut req = client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().expect("request")
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no graceful shutdown within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn fetch_export_and_serve_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = common::write_config(dir.path(), &demo_sources());

    let out = regiocal(&config, &["fetch"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout(&out);
    assert!(summary.contains("5 sources, 0 failed"), "{summary}");
    assert!(
        summary.lines().any(|l| l.starts_with("cms ")
            && l.contains("updated")
            && l.contains(" 8 ")
            && l.contains(" 4 ")),
        "{summary}"
    );

    let ics = stdout(&regiocal(&config, &["export", "--format", "ics"]));
    let json = stdout(&regiocal(&config, &["export", "--format", "json"]));
    // Several formats from one snapshot into a folder: the same bytes as one by one.
    let folder = dir.path().join("public");
    let progress = export_into(&config, &["ics", "json"], &folder);
    assert!(progress.contains("calendar.ics"), "{progress}");
    assert_eq!(
        std::fs::read_to_string(folder.join("calendar.ics")).unwrap(),
        ics
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("events.json")).unwrap(),
        json
    );
    let names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
    // A format named twice is written once.
    let twice = dir.path().join("twice");
    export_into(&config, &["ics", "ics"], &twice);
    assert_eq!(std::fs::read_dir(&twice).unwrap().count(), 1);
    assert_eq!(
        std::fs::read_to_string(twice.join("calendar.ics")).unwrap(),
        ics
    );
    // Without --out, exactly one format.
    let two = regiocal(&config, &["export", "--format", "ics", "--format", "json"]);
    assert!(!two.status.success());
    assert!(String::from_utf8_lossy(&two.stderr).contains("--format"));
    let filtered = stdout(&regiocal(
        &config,
        &[
            "export",
            "--format",
            "json",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-31",
            "--category",
            "Familie",
            "--source",
            "nextcloud",
        ],
    ));

    let server = Server::start(&config);
    let resp = server.get("/calendar.ics", &[]);
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.len() > 10,
        "strong ETag: {etag}"
    );
    assert!(resp.headers().contains_key("last-modified"));
    assert_eq!(resp.text().unwrap(), ics, "server and export must agree");

    let not_modified = server.get("/calendar.ics", &[("If-None-Match", &etag)]);
    assert_eq!(not_modified.status(), 304);

    // Every other feed: its content type, an ETag, and the same bytes as `export`.
    for (path, format, content_type) in [
        (
            "/calendar.jcal",
            "jcal",
            "application/calendar+json; charset=utf-8",
        ),
        (
            "/calendar.xcs",
            "xcal",
            "application/calendar+xml; charset=utf-8",
        ),
        (
            "/api/v1/events.jsonld?category=Kultur",
            "jsonld",
            "application/ld+json; charset=utf-8",
        ),
    ] {
        let resp = server.get(path, &[]);
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], content_type, "{path}");
        let tag = resp.headers()["etag"].to_str().unwrap().to_string();
        let mut args = vec!["export", "--format", format];
        if path.contains("category") {
            args.extend(["--category", "Kultur"]);
        }
        assert_eq!(
            resp.text().unwrap(),
            stdout(&regiocal(&config, &args)),
            "{path}"
        );
        assert_eq!(
            server.get(path, &[("If-None-Match", &tag)]).status(),
            304,
            "{path}"
        );
    }
    let atom = server.get("/feed.atom", &[]);
    assert_eq!(
        atom.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert!(
        atom.text()
            .unwrap()
            .contains("<feed xmlns=\"http://www.w3.org/2005/Atom\"")
    );

    let api = server.get("/api/v1/events?limit=1000", &[]);
    assert_eq!(api.headers()["access-control-allow-origin"], "*");
    let api_etag = api.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(api.text().unwrap(), json);
    assert_eq!(
        server
            .get("/api/v1/events?limit=1000", &[("If-None-Match", &api_etag)])
            .status(),
        304
    );
    let api_filtered = server.get("/api/v1/events?from=2026-12-01&to=2026-12-31&category=familie&source=nextcloud&limit=1000", &[]).text().unwrap();
    assert_eq!(api_filtered, filtered);
    let doc: serde_json::Value = serde_json::from_str(&filtered).unwrap();
    let events = doc["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| {
        e["source"] == "nextcloud"
            && e["categories"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "family")
    }));
    assert!(
        events
            .iter()
            .all(|e| e["start"].as_str().unwrap() >= "2026-12-01"
                && e["start"].as_str().unwrap() < "2027-01-01")
    );

    // Paging: pages of 7 concatenate to the full list, and the last page has next = null.
    let all: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: serde_json::Value = serde_json::from_str(
            &server
                .get(&format!("/api/v1/events?limit=7&cursor={cursor}"), &[])
                .text()
                .unwrap(),
        )
        .unwrap();
        paged.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next"].as_str() {
            Some(n) => cursor = n.to_string(),
            None => break,
        }
    }
    let ids: Vec<_> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(paged, ids);

    // Detail, errors, sources, health.
    let first = &all["events"][0];
    let detail: serde_json::Value = serde_json::from_str(
        &server
            .get(
                &format!("/api/v1/events/{}", first["id"].as_str().unwrap()),
                &[],
            )
            .text()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(&detail, first);
    for key in [
        "id",
        "uid",
        "source",
        "title",
        "description",
        "start",
        "end",
        "all_day",
        "timezone",
        "location",
        "geo",
        "categories",
        "url",
        "status",
    ] {
        assert!(detail.get(key).is_some(), "missing {key}");
    }
    assert_eq!(server.get("/api/v1/events/doesnotexist", &[]).status(), 404);
    let bad = server.get("/api/v1/events?from=gestern", &[]);
    assert_eq!(bad.status(), 400);
    let err: serde_json::Value = serde_json::from_str(&bad.text().unwrap()).unwrap();
    assert_eq!(err["parameter"], "from");
    assert_eq!(server.get("/api/v1/events?limit=0", &[]).status(), 400);
    assert_eq!(server.get("/api/v1/events?cursor=xyz", &[]).status(), 400);
    let sources: serde_json::Value =
        serde_json::from_str(&server.get("/api/v1/sources", &[]).text().unwrap()).unwrap();
    let cms = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "cms")
        .unwrap();
    assert_eq!(
        cms["warning_texts"].as_array().map(Vec::len),
        Some(4),
        "{cms}"
    );
    assert_eq!(
        (
            cms["health"].as_str(),
            cms["event_count"].as_u64(),
            cms["warnings"].as_u64()
        ),
        (Some("ok"), Some(8), Some(4))
    );
    assert!(cms["last_success"].is_string() && cms["next_run"].is_string());
    let health: serde_json::Value =
        serde_json::from_str(&server.get("/healthz", &[]).text().unwrap()).unwrap();
    assert_eq!(health["status"], "ok");

    assert!(server.terminate().success());
}

#[test]
fn serve_fetches_due_sources_and_a_restart_does_not_refetch() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stub = rt.block_on(StubServer::start());
    stub.script(
        "/a.ics",
        vec![Reply::Feed {
            body: common::fixture("ics/apple.ics"),
            etag: Some("\"a1\"".into()),
        }],
    );
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = common::write_config(
        dir.path(),
        &common::source_block("apple", &stub.url("/a.ics")),
    );

    let server = Server::start(&config);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let doc: serde_json::Value =
            serde_json::from_str(&server.get("/api/v1/events", &[]).text().unwrap()).unwrap();
        if !doc["events"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the due source was not fetched on start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.terminate().success());
    assert_eq!(stub.hits("/a.ics").len(), 1);

    // The next run is stored and lies in the future: a restart serves the stored events at
    // once and does not fetch again.
    let server = Server::start(&config);
    let doc: serde_json::Value =
        serde_json::from_str(&server.get("/api/v1/events", &[]).text().unwrap()).unwrap();
    assert!(!doc["events"].as_array().unwrap().is_empty());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        stub.hits("/a.ics").len(),
        1,
        "restart must not refetch a fresh source"
    );
    assert!(server.terminate().success());
}

#[test]
fn exit_codes_and_feed_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = common::write_config(
        dir.path(),
        &format!(
            "{}{}",
            common::source_block("missing", "nowhere.ics"),
            common::source_block(
                "html",
                &common::fixture_path("ics/README.md").display().to_string()
            )
        ),
    );
    // Every source failed: exit code 1, with a summary naming the reasons.
    let out = regiocal(&config, &["fetch"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("cannot read file") && text.contains("unrecognised format"),
        "{text}"
    );

    let out = regiocal(&config, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l.starts_with("ERROR missing")),
        "{text}"
    );

    let (good, _) = common::write_config(
        dir.path(),
        &common::source_block(
            "cms",
            &common::fixture_path("ics/cms-plugin.ics")
                .display()
                .to_string(),
        ),
    );
    let out = regiocal(&good, &["check"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("OK    cms")
            && text.contains("8 events, 4 warnings")
            && text.contains("DTEND is before DTSTART; read with the two swapped")
            && text.contains("TZID \"Mars/Olympus_Mons\" is not defined"),
        "{text}"
    );
    // The feed doctor stores nothing: in a fresh directory it does not even create the store.
    let fresh = tempfile::tempdir().unwrap();
    let (doctor_only, _) = common::write_config(
        fresh.path(),
        &common::source_block(
            "cms",
            &common::fixture_path("ics/cms-plugin.ics")
                .display()
                .to_string(),
        ),
    );
    assert!(regiocal(&doctor_only, &["check"]).status.success());
    assert!(
        !fresh.path().join("store.sqlite").exists(),
        "check must not create the store"
    );

    // Overrides that match nothing in the stored calendar are reported.
    let with_overrides = tempfile::tempdir().unwrap();
    std::fs::write(
        with_overrides.path().join("overrides.toml"),
        "[[hide]]\nsource = \"cms\"\nuid = \"gibt-es-nicht@example.org\"\n",
    )
    .unwrap();
    let (cfg_path, _) = common::write_config(
        with_overrides.path(),
        &format!(
            "[dedupe]\noverrides = \"overrides.toml\"\n{}",
            common::source_block(
                "cms",
                &common::fixture_path("ics/cms-plugin.ics")
                    .display()
                    .to_string(),
            )
        ),
    );
    assert!(regiocal(&cfg_path, &["fetch"]).status.success());
    let text = stdout(&regiocal(&cfg_path, &["check"]));
    assert!(
        text.contains(
            "WARN  overrides            [[hide]] source \"cms\" uid \"gibt-es-nicht@example.org\" matches nothing any more"
        ),
        "{text}"
    );

    // Invalid config: exit code 2 and the key named.
    std::fs::write(&good, "[calendar]\nname = \"x\"\n[[source]]\nid = \"theater-x\"\nname = \"X\"\nurl = \"a.ics\"\nschedule = \"jeden Tag\"\n").unwrap();
    let out = regiocal(&good, &["fetch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("source \"theater-x\": schedule: "), "{err}");
}

#[test]
fn every_config_in_config_dir_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("overrides"))
        {
            regiocal::overrides::Overrides::load(&path).unwrap_or_else(|e| panic!("{e}"));
            continue;
        }
        seen += 1;
        let cfg = regiocal::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!cfg.sources.is_empty(), "{}", path.display());
        for s in &cfg.sources {
            if let regiocal::config::SourceLocation::File(p) = &s.location {
                assert!(
                    p.exists(),
                    "{}: source {} points at missing {}",
                    path.display(),
                    s.id,
                    p.display()
                );
            }
        }
    }
    assert!(seen >= 1);
    let demo = regiocal::config::Config::load(&dir.join("regiocal.toml")).unwrap();
    assert!(demo.sources.len() >= 5);
}

#[test]
fn backup_copies_the_sqlite_store_while_it_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg_path, cfg) = common::write_config(dir.path(), &demo_sources());
    assert!(regiocal(&cfg_path, &["fetch"]).status.success());
    let to = dir.path().join("backup.sqlite");
    let out = regiocal(&cfg_path, &["backup", "--to", to.to_str().unwrap()]);
    if cfg.store.url.is_some() {
        // The suite runs on PostgreSQL: the command points to pg_dump instead.
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second backup to the same file is refused, not overwritten.
    let again = regiocal(&cfg_path, &["backup", "--to", to.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    // The copy serves the same calendar.
    let (restored_path, _) = {
        let restored = dir.path().join("restored");
        std::fs::create_dir_all(&restored).unwrap();
        std::fs::copy(&to, restored.join("store.sqlite")).unwrap();
        common::write_config(&restored, &demo_sources())
    };
    let original = stdout(&regiocal(&cfg_path, &["export", "--format", "json"]));
    let restored = stdout(&regiocal(&restored_path, &["export", "--format", "json"]));
    assert!(original.contains("\"events\""));
    assert_eq!(original, restored);
}

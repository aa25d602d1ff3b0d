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
    let ctx = ParseContext {
        default_tz: chrono_tz::Europe::Berlin,
    };
    let (_, parsed) =
        format::parse(&fixture(rel), FormatChoice::Auto, &ctx).expect("fixture parses");
    let (events, mut warnings) = normalize::normalize(parsed.events, &NormalizeOptions::default());
    let mut all = parsed.warnings;
    all.append(&mut warnings);
    (events, all)
}

/// A config text with the given `[[source]]` blocks, a store in `dir`.
pub fn config_text(dir: &Path, sources: &str) -> String {
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n[calendar]\nname = \"Test, Stadt\"\ntimezone = \"Europe/Berlin\"\npast_days = 30\nfuture_days = 400\n[fetch]\ntimeout_secs = 5\n{sources}",
        dir.join("store.sqlite").display()
    )
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
    }
}

/// The instant used as "now" by tests that pin the clock.
pub const NOW: &str = "2026-11-24T00:00:00Z";

/// Parses and normalises a file anywhere on disk.
pub fn parse_fixture_at(path: &Path) -> (Vec<Event>, Vec<String>) {
    let ctx = ParseContext {
        default_tz: chrono_tz::Europe::Berlin,
    };
    let bytes = std::fs::read(path).expect("read");
    let (_, parsed) = format::parse(&bytes, FormatChoice::Auto, &ctx).expect("parses");
    let (events, mut warnings) = normalize::normalize(parsed.events, &NormalizeOptions::default());
    let mut all = parsed.warnings;
    all.append(&mut warnings);
    (events, all)
}

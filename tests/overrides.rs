//! Operator overrides survive re-import: hide, fix, force and forbid merges, prefer a source;
//! overrides that match nothing are reported.

mod common;

use chrono::{DateTime, Utc};
use regiocal::config::Config;
use regiocal::format::{self, ParseContext};
use regiocal::model::StoredEvent;
use regiocal::normalize;
use regiocal::output::{Filter, Snapshot, ics, json};

const VENUES: &str = "[[venue]]\nid = \"stadttheater\"\nname = \"Stadttheater Musterstadt\"\n\
    aliases = [\"Großes Haus\", \"Kleines Haus\"]\nlat = 51.515\nlon = 7.47\n";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(common::NOW).unwrap().to_utc()
}

/// A snapshot of the three theatre-week sources with these overrides.
fn snapshot(overrides: &str) -> Snapshot {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("overrides.toml"), overrides).unwrap();
    let sources: String = ["theater", "kultur", "tickets"]
        .iter()
        .map(|id| {
            let prio = if *id == "theater" { 10 } else { 0 };
            format!(
                "{}priority = {prio}\n",
                common::source_block(id, &format!("{id}.ics"))
            )
        })
        .collect();
    let text = format!(
        "{}\n[dedupe]\noverrides = \"overrides.toml\"\n{VENUES}{sources}",
        common::config_text(dir.path(), "")
    );
    let cfg = Config::parse(&text, &dir.path().join("regiocal.toml")).unwrap();
    let ctx = ParseContext::new(chrono_tz::Europe::Berlin);
    let mut stored = Vec::new();
    for (id, file) in [
        ("theater", "stadttheater.ics"),
        ("kultur", "kulturamt.jsonld"),
        ("tickets", "tickets-export-1.xml"),
    ] {
        let bytes = common::fixture(&format!("dedupe/{file}"));
        let (_, parsed) =
            format::parse(&bytes, regiocal::config::FormatChoice::Auto, None, &ctx).unwrap();
        let opts = regiocal::ingest::normalize_options(&cfg.categories, cfg.source(id).unwrap());
        let (events, _) = normalize::normalize(parsed.events, &opts);
        stored.extend(events.into_iter().map(|event| StoredEvent {
            source: id.into(),
            event,
            first_seen: now(),
            updated_at: now(),
            revision: 0,
        }));
    }
    Snapshot::build(&cfg, stored, vec![], Some(now()), now())
}

fn docs(snap: &Snapshot) -> Vec<serde_json::Value> {
    let all = Filter::default();
    snap.select(&all)
        .map(|r| serde_json::to_value(json::event_doc(snap, r, true)).unwrap())
        .collect()
}

fn find<'a>(docs: &'a [serde_json::Value], title: &str) -> Vec<&'a serde_json::Value> {
    docs.iter().filter(|d| d["title"] == title).collect()
}

#[test]
fn without_overrides_the_matcher_decides() {
    let d = docs(&snapshot(""));
    assert_eq!(d.len(), 5);
}

#[test]
fn hide_by_id_and_by_series_and_report_what_matches_nothing() {
    let base = docs(&snapshot(""));
    let kontrabass = find(&base, "Der Kontrabass")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let snap = snapshot(&format!(
        "[[hide]]\nevent = \"{kontrabass}\"\n[[hide]]\nsource = \"kultur\"\nuid = \"https://kultur.musterstadt.de/termine/4712\"\n\
         [[hide]]\nevent = \"0000000000000000\"\n"
    ));
    let d = docs(&snap);
    assert!(find(&d, "Der Kontrabass").is_empty());
    assert!(find(&d, "Lesung: Weihnachtsgeschichten").is_empty());
    assert_eq!(d.len(), 3);
    assert!(!ics::render(&snap, &Filter::default()).contains("Kontrabass"));
    assert_eq!(
        snap.unmatched_overrides,
        vec!["[[hide]] event 0000000000000000".to_string()]
    );
}

#[test]
fn fix_title_categories_location_and_time() {
    let base = docs(&snapshot(""));
    let kontrabass = find(&base, "Der Kontrabass")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let snap = snapshot(&format!(
        "[[fix]]\nevent = \"{kontrabass}\"\ntitle = \"Der Kontrabass (Gastspiel)\"\n\
         categories = [\"theatre\", \"family\"]\nstart = \"2026-12-05T19:30\"\n\
         [[fix]]\nsource = \"theater\"\nuid = \"weihnachtskonzert-20261212@stadttheater-musterstadt.de\"\nlocation = \"Foyer\"\n"
    ));
    let d = docs(&snap);
    let k = find(&d, "Der Kontrabass (Gastspiel)");
    assert_eq!(k.len(), 1);
    assert_eq!(
        k[0]["id"],
        kontrabass.as_str(),
        "a fixed event keeps its id"
    );
    assert_eq!(k[0]["start"], "2026-12-05T19:30:00+01:00");
    assert_eq!(
        k[0]["end"], "2026-12-05T21:00:00+01:00",
        "the length is kept"
    );
    assert_eq!(k[0]["categories"], serde_json::json!(["theatre", "family"]));
    let ics = ics::render(&snap, &Filter::default());
    assert!(ics.contains("SUMMARY:Der Kontrabass (Gastspiel)"));
    assert!(ics.contains("DTSTART;TZID=Europe/Berlin:20261205T193000"));
    let concert: Vec<_> = d
        .iter()
        .filter(|e| {
            e["title"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("weihnachtskonzert")
        })
        .collect();
    assert_eq!(concert.len(), 1);
    assert_eq!(concert[0]["sources"].as_array().unwrap().len(), 2);
}

#[test]
fn forced_and_forbidden_merges_and_a_preferred_source() {
    let base = docs(&snapshot(""));
    let opera = find(&base, "Die Zauberflöte");
    let opera_5th = opera
        .iter()
        .find(|e| e["start"].as_str().unwrap().starts_with("2026-12-05"))
        .unwrap();
    // The culture office's copy of the opera: kept apart from the others.
    let kultur_id = opera_5th["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "kultur")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let keep_ids: Vec<String> = opera_5th["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["source"] != "kultur")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mut separate = String::new();
    for other in &keep_ids {
        separate.push_str(&format!(
            "[[separate]]\nevents = [\"{kultur_id}\", \"{other}\"]\n"
        ));
    }
    let d = docs(&snapshot(&separate));
    assert_eq!(d.len(), 6, "the culture office's opera stands alone");

    // Forced: the reading at the library joins the Kontrabass (nonsense, but the operator rules).
    let reading = find(&base, "Lesung: Weihnachtsgeschichten")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let kontrabass = find(&base, "Der Kontrabass")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = docs(&snapshot(&format!(
        "[[merge]]\nevents = [\"{reading}\", \"{kontrabass}\"]\n"
    )));
    assert_eq!(d.len(), 4);

    // Preferring the ticket seller (over the theatre's priority): its fields win where it has
    // the event.
    let d = docs(&snapshot("[[prefer]]\nsource = \"tickets\"\n"));
    let fifth = find(&d, "Zauberflöte, Die");
    assert_eq!(fifth.len(), 1);
    assert_eq!(fifth[0]["source"], "tickets");
    assert_eq!(fifth[0]["sources"][0]["source"], "tickets");
    assert_eq!(
        fifth[0]["url"],
        "https://tickets.musterland.example/e/zauberfloete-musterstadt-05-12"
    );
}

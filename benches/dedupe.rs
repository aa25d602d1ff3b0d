//! De-duplication quality and speed on generated feeds with known duplicates.
//!
//! Generates `--feeds 100 --events 1000` with the shared generator (`gen_feeds.py`, seed 42;
//! looked up like in `benches/pipeline.rs`), whose `dups.tsv` lists every cross-feed copy
//! (title variants, UTC instead of local times, changed location text). Then:
//!
//! * quality: the duplicate pairs regiocal finds (members of one merged event) against the
//!   ground truth pairs in the window: precision and recall;
//! * speed: the snapshot build with de-duplication against the same build without it, in one
//!   run (a ratio, as the machine is noisy), and the clustering step alone on all occurrences.
//!
//! * crowds: 200,000 occurrences starting at the same minute (one source, two sources with
//!   distinct titles, two sources with one title, 200 sources), as a broken or hostile export
//!   produces them, and the worst spread for the pairing budget (buckets just under
//!   `dedupe::MAX_PAIRS`, back to back).
//!
//! Fails (exit 1) when precision < 0.99 or recall < 0.95, or when clustering one of the
//! crowds takes longer than 2 s.
//!
//! Run: `cargo bench --bench dedupe` (size with `REGIOCAL_BENCH_FEEDS` / `REGIOCAL_BENCH_EVENTS`;
//! `REGIOCAL_BENCH_CROWDS_ONLY=1` runs the crowds alone).

use chrono::{DateTime, Utc};
use regiocal::config::{Config, FormatChoice};
use regiocal::dedupe::{self, Candidate};
use regiocal::format::{self, ParseContext};
use regiocal::model::{EventTime, StoredEvent};
use regiocal::normalize::{self, NormalizeOptions};
use regiocal::output::Snapshot;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const NOW: &str = "2026-06-01T00:00:00Z";
const PAST_DAYS: u32 = 151;
const FUTURE_DAYS: u32 = 213;

fn gen_script() -> PathBuf {
    let shared = match std::env::var_os("REGIOCAL_BENCH_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    for candidate in [
        shared.join("bench/gen_feeds.py"),
        shared.join("gen_feeds.py"),
    ] {
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "gen_feeds.py not found under {} (set REGIOCAL_BENCH_SHARED to the shared/ folder)",
        shared.display()
    );
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median wall time of `runs` calls.
fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    if std::env::var_os("REGIOCAL_BENCH_CROWDS_ONLY").is_some() {
        let config = Config::parse(
            "[calendar]\nname = \"Bench\"\n[store]\npath = \"bench.sqlite\"\n",
            Path::new("/tmp/regiocal.toml"),
        )
        .expect("bench config");
        std::process::exit(i32::from(crowds(&config)));
    }
    let feeds = env_usize("REGIOCAL_BENCH_FEEDS", 100);
    let events = env_usize("REGIOCAL_BENCH_EVENTS", 1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("feeds");
    eprintln!("generating {feeds} feeds x {events} events ...");
    let status = Command::new("python3")
        .arg(gen_script())
        .args([
            "--feeds",
            &feeds.to_string(),
            "--events",
            &events.to_string(),
        ])
        .args(["--seed", "42", "--alt-feeds", "0", "--out"])
        .arg(&out)
        .status()
        .expect("run python3 gen_feeds.py");
    assert!(status.success(), "gen_feeds.py failed: {status}");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("feeds dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ics"))
        .collect();
    names.sort();

    let mut toml = format!(
        "[calendar]\nname = \"Bench\"\npast_days = {PAST_DAYS}\nfuture_days = {FUTURE_DAYS}\n\
         [store]\npath = \"bench.sqlite\"\n"
    );
    for (i, p) in names.iter().enumerate() {
        toml.push_str(&format!(
            "[[source]]\nid = \"venue-{i:03}\"\nname = \"Venue {i}\"\nurl = \"{}\"\n",
            p.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    let config = Config::parse(&toml, &out.join("regiocal.toml")).expect("bench config");
    let mut plain = config.clone();
    plain.dedupe.enabled = false;
    let now: DateTime<Utc> = NOW.parse().expect("now");

    eprintln!("parsing ...");
    let ctx = ParseContext::new(chrono_tz::Europe::Berlin);
    let mut stored = Vec::new();
    for (i, p) in names.iter().enumerate() {
        let body = std::fs::read(p).expect("read feed");
        let (_, parsed) = format::parse(&body, FormatChoice::Auto, None, &ctx).expect("parse");
        let (evs, _) = normalize::normalize(parsed.events, &NormalizeOptions::default());
        stored.extend(evs.into_iter().map(|event| StoredEvent {
            source: format!("venue-{i:03}"),
            event,
            first_seen: now,
            updated_at: now,
            revision: 0,
        }));
    }

    // Quality.
    let snap = Snapshot::build(&config, stored.clone(), vec![], Some(now), now);
    let uid_of = |row: &regiocal::output::Row| {
        snap.events[snap.series[row.series].master]
            .event
            .uid
            .clone()
    };
    let mut found: HashSet<(String, String)> = HashSet::new();
    for row in snap
        .rows
        .iter()
        .filter(|r| r.visible() && !r.merged.is_empty())
    {
        let uids: Vec<String> = snap.members(row).map(uid_of).collect();
        for (k, a) in uids.iter().enumerate() {
            for b in &uids[k + 1..] {
                found.insert((a.min(b).clone(), a.max(b).clone()));
            }
        }
    }
    let in_window: HashSet<String> = snap.rows.iter().map(uid_of).collect();
    let tsv = std::fs::read_to_string(out.join("dups.tsv")).expect("dups.tsv");
    // Ground truth: every copy with its original, and copies of one original with each other.
    let mut groups: std::collections::HashMap<String, Vec<String>> = Default::default();
    for line in tsv.lines().skip(1) {
        let mut cols = line.split('\t');
        let (Some(copy), Some(original)) = (cols.next(), cols.next()) else {
            continue;
        };
        if in_window.contains(copy) && in_window.contains(original) {
            let g = groups.entry(original.to_string()).or_default();
            if g.is_empty() {
                g.push(original.to_string());
            }
            g.push(copy.to_string());
        }
    }
    let mut truth: HashSet<(String, String)> = HashSet::new();
    for g in groups.values() {
        for (k, a) in g.iter().enumerate() {
            for b in &g[k + 1..] {
                truth.insert((a.min(b).clone(), a.max(b).clone()));
            }
        }
    }
    let hits = found.intersection(&truth).count();
    let precision = hits as f64 / found.len().max(1) as f64;
    let recall = hits as f64 / truth.len().max(1) as f64;
    let visible = snap.rows.iter().filter(|r| r.visible()).count();
    println!(
        "quality ({feeds}x{events}): {} occurrences, {} published after merging; ground truth {} \
         pairs in window, found {} pairs, {} of them correct: \
         precision {precision:.4}, recall {recall:.4}",
        snap.rows.len(),
        visible,
        truth.len(),
        found.len(),
        hits,
    );
    let misses: Vec<_> = truth.difference(&found).take(5).collect();
    if !misses.is_empty() {
        println!("  missed (first 5): {misses:?}");
    }
    let wrong: Vec<_> = found.difference(&truth).take(5).collect();
    if !wrong.is_empty() {
        println!("  not in the ground truth (first 5): {wrong:?}");
    }

    // Speed: the same build with and without de-duplication, alternated.
    eprintln!("timing ...");
    let with = median(5, || {
        Snapshot::build(&config, stored.clone(), vec![], Some(now), now)
    });
    let without = median(5, || {
        Snapshot::build(&plain, stored.clone(), vec![], Some(now), now)
    });
    let base = Snapshot::build(&plain, stored.clone(), vec![], Some(now), now);
    let zone = chrono_tz::Europe::Berlin;
    let cands: Vec<Candidate<'_>> = base
        .rows
        .iter()
        .map(|r| {
            let ev = &base.events[r.event].event;
            Candidate {
                source: &base.series[r.series].source,
                start: r.occurrence.start_utc,
                all_day: match r.occurrence.start {
                    EventTime::Date { date } => Some(date),
                    _ => None,
                },
                local_date: r.occurrence.start.date_in(zone),
                title: &ev.title,
                location: ev.location.as_deref(),
                geo: ev.geo,
            }
        })
        .collect();
    let cluster = median(5, || {
        dedupe::cluster(
            &cands,
            &config.dedupe.params,
            &config.geo.venues,
            &[],
            &HashSet::new(),
        )
    });
    println!(
        "speed: clustering {} occurrences {:.0} ms; snapshot build {:.0} ms with de-duplication, \
         {:.0} ms without (ratio {:.2})",
        cands.len(),
        cluster.as_secs_f64() * 1e3,
        with.as_secs_f64() * 1e3,
        without.as_secs_f64() * 1e3,
        with.as_secs_f64() / without.as_secs_f64()
    );
    let slow = crowds(&config);
    if precision < 0.99 || recall < 0.95 {
        eprintln!("FAIL: precision must be >= 0.99 and recall >= 0.95");
        std::process::exit(1);
    }
    if slow {
        eprintln!("FAIL: clustering a crowd of 200,000 occurrences must take <= 2 s");
        std::process::exit(1);
    }
}

/// Times the clustering of floods of occurrences; true when one took over 2 s.
fn crowds(config: &Config) -> bool {
    const N: usize = 200_000;
    let start: DateTime<Utc> = "2026-06-12T17:00:00Z".parse().expect("start");
    let day = start.date_naive();
    let names: Vec<String> = (0..200).map(|s| format!("source-{s:03}")).collect();
    let titles: Vec<String> = (0..N)
        .map(|i| format!("Lesung {i} in der Stadtbibliothek"))
        .collect();
    let make = |source: &dyn Fn(usize) -> usize,
                title: &dyn Fn(usize) -> usize,
                at: &dyn Fn(usize) -> DateTime<Utc>| {
        (0..N)
            .map(|i| Candidate {
                source: &names[source(i)],
                start: at(i),
                all_day: None,
                local_date: day,
                title: &titles[title(i)],
                location: Some("Stadtbibliothek, Marktplatz 1"),
                geo: None,
            })
            .collect::<Vec<_>>()
    };
    let same_minute = |_: usize| start;
    // Buckets of 2 x 223 occurrences (49,729 cross-source pairs, just under the budget).
    let width = config.dedupe.params.tolerance;
    let spread = |i: usize| start + width * (i / 446) as i32;
    let cases: Vec<(&str, Vec<Candidate<'_>>, bool)> = vec![
        (
            "one source, distinct titles",
            make(&|_| 0, &|i| i, &same_minute),
            true,
        ),
        (
            "two sources, distinct titles",
            make(&|i| i % 2, &|i| i, &same_minute),
            true,
        ),
        (
            "two sources, one title",
            make(&|i| i % 2, &|_| 0, &same_minute),
            true,
        ),
        (
            "two sources, pairs of titles",
            make(&|i| i % 2, &|i| i / 2, &same_minute),
            true,
        ),
        (
            "200 sources, distinct titles",
            make(&|i| i % 200, &|i| i, &same_minute),
            true,
        ),
        (
            "worst spread: 2 x 223 per bucket, back to back",
            make(&|i| i % 2, &|i| i, &spread),
            true,
        ),
    ];
    let mut slow = false;
    for (what, cands, bounded) in &cases {
        let t = Instant::now();
        let clusters = dedupe::cluster(
            cands,
            &config.dedupe.params,
            &config.geo.venues,
            &[],
            &HashSet::new(),
        );
        let took = t.elapsed();
        println!(
            "crowd of {N} ({what}): clustered in {:.0} ms, {} merged events",
            took.as_secs_f64() * 1e3,
            clusters.len()
        );
        slow |= *bounded && took > Duration::from_secs(2);
    }
    slow
}

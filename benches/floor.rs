//! The floor under an ICS ingest: how long parsing alone takes on a folder of feeds, beside
//! reading and hashing the same bytes (`cat *.ics | sha1sum`), measured in one run.
//!
//! ```sh
//! cargo bench --bench floor -- /path/to/feeds        # the folder gen_feeds.py wrote
//! RUNS=7 cargo bench --bench floor -- /path/to/feeds
//! ```
//!
//! Every step runs on all cores (files handed out one at a time from a shared counter), like
//! `regiocal fetch`. The steps:
//!
//! * `sha1sum`: `cat DIR/*.ics | sha1sum`, the reference of issue #7's "at most 3x";
//! * `calcard tokenise+parse`: `calcard::Parser::entry` over each body, the components built
//!   and dropped: the iCalendar parser alone, without regiocal's mapping;
//! * `regiocal parse`: `regiocal::format::ics::parse` (calcard plus the mapping to events:
//!   times, zones, recurrence rules, text);
//! * `icalendar parse`: the `icalendar` crate's own parser (`icalendar::parser::read_calendar`
//!   on the unfolded text), for comparison.
//!
//! Prints the median of `RUNS` runs (default 5) of each and its ratio to sha1sum's median.
//! The bodies are read into memory before the timed parse steps (sha1sum reads the files).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;
use common::median;

fn main() {
    // `cargo bench` passes `--bench`; the first other argument is the folder.
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            eprintln!("usage: cargo bench --bench floor -- DIR (a folder of .ics feeds)");
            std::process::exit(2)
        });
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ics"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .ics files in {}", dir.display());
    let bodies: Vec<String> = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    let bytes: usize = bodies.iter().map(String::len).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{} feeds, {:.1} MB, {threads} threads, median of {runs} runs",
        bodies.len(),
        bytes as f64 / 1e6
    );

    let sha = median(runs, || sha1sum(&files));
    let calcard = median(runs, || {
        on_all_cores(&bodies, threads, |text| {
            let mut parser = calcard::Parser::new(text);
            let mut components = 0usize;
            loop {
                match parser.entry() {
                    calcard::Entry::ICalendar(cal) => components += cal.components.len(),
                    calcard::Entry::Eof => break,
                    _ => {}
                }
            }
            components
        })
    });
    let ctx = regiocal::format::ParseContext::new(chrono_tz::Europe::Berlin);
    let regiocal = median(runs, || {
        on_all_cores(&bodies, threads, |text| {
            regiocal::format::ics::parse(text, &ctx).map_or(0, |p| p.events.len())
        })
    });
    let icalendar = median(runs, || {
        on_all_cores(&bodies, threads, |text| {
            let unfolded = icalendar::parser::unfold(text);
            icalendar::parser::read_calendar(&unfolded).map_or(0, |c| c.components.len())
        })
    });

    println!("| step | median s | / sha1sum |");
    println!("|---|---:|---:|");
    for (name, t) in [
        ("cat + sha1sum", sha),
        ("calcard tokenise+parse", calcard),
        ("regiocal parse (calcard + mapping)", regiocal),
        ("icalendar crate parse", icalendar),
    ] {
        println!(
            "| {name} | {:.3} | {:.1}x |",
            t.as_secs_f64(),
            t.as_secs_f64() / sha.as_secs_f64()
        );
    }
}

/// `cat FILES | sha1sum`, as the ingest comparison times it.
fn sha1sum(files: &[PathBuf]) {
    let list: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let status = Command::new("sh")
        .arg("-c")
        .arg("cat \"$@\" | sha1sum >/dev/null")
        .arg("sh")
        .args(&list)
        .status()
        .expect("run cat | sha1sum");
    assert!(status.success(), "cat | sha1sum failed: {status}");
}

/// Calls `parse` on every body, `threads` at a time. Each call returns how many components
/// or events it found, which must not be zero: a parser that fails on a feed would otherwise
/// be timed as fast.
fn on_all_cores(bodies: &[String], threads: usize, parse: impl Fn(&str) -> usize + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(text) = bodies.get(i) else { break };
                    assert!(parse(text) > 0, "the parser found nothing in feed {i}");
                }
            });
        }
    });
}

//! Helpers shared by the plain-`main` benchmarks (`floor.rs`, `transit.rs`).

use std::time::{Duration, Instant};

/// Runs `f` `runs` times (at least once) and returns the median duration.
pub fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

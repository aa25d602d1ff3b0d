//! An index over a snapshot's occurrences, so filtered requests look only at candidates.
//!
//! Rows are sorted by start. A date window `[from, to)` then needs only the rows starting in
//! `[from - SHORT, to)` (binary search), plus the few long-running ones (exhibitions, festivals,
//! longer than [`SHORT`]) that started earlier. Category and source filters start from posting
//! lists (row numbers per category and per source) cut to the same window. The index only
//! narrows the candidates: every candidate still passes the full filter, so answers are the
//! same as a scan of all rows (a test checks that on random filters).

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// Rows lasting longer than this are kept in a separate list (they may overlap a window that
/// starts long after them).
pub const SHORT: Duration = Duration::days(2);

/// Row numbers by what filters ask for.
#[derive(Debug, Default)]
pub struct OccurrenceIndex {
    /// Start of every row, in row order (sorted).
    starts: Vec<DateTime<Utc>>,
    /// Rows longer than [`SHORT`], ascending.
    long: Vec<u32>,
    /// Rows per category (ASCII-lowercased), ascending.
    categories: HashMap<String, Vec<u32>>,
    /// Rows per source id, ascending.
    sources: HashMap<String, Vec<u32>>,
}

/// What the index needs to know of a row.
pub struct Entry<'a> {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub source: &'a str,
    pub categories: &'a [String],
}

impl OccurrenceIndex {
    /// Indexes rows given in row order (sorted by start).
    pub fn build<'a>(rows: impl Iterator<Item = Entry<'a>>) -> OccurrenceIndex {
        let mut index = OccurrenceIndex::default();
        for (i, e) in rows.enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            index.starts.push(e.start);
            if e.end - e.start > SHORT {
                index.long.push(i);
            }
            for c in e.categories {
                let list = index.categories.entry(c.to_ascii_lowercase()).or_default();
                // A row may list a category twice ("Musik", "musik").
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
            match index.sources.get_mut(e.source) {
                Some(list) => list.push(i),
                None => {
                    index.sources.insert(e.source.to_string(), vec![i]);
                }
            }
        }
        index
    }

    /// Row numbers, ascending, that may overlap `[from, to)` and (when given) carry one of
    /// `categories` and come from one of `sources`. A superset of the matches, produced lazily
    /// (a page of 100 stops after its 100th match, however many rows the filter selects).
    pub fn candidates<'a>(
        &'a self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        categories: Option<&[String]>,
        sources: Option<&[String]>,
    ) -> Box<dyn Iterator<Item = u32> + Send + 'a> {
        let lo = self.starts.partition_point(|s| *s < from - SHORT);
        let hi = self.starts.partition_point(|s| *s < to).max(lo);
        let (lo, hi) = (lo as u32, hi as u32);
        let by_category = categories.map(|cats| {
            let lists: Vec<&'a Vec<u32>> = cats
                .iter()
                .filter_map(|c| self.categories.get(&c.to_ascii_lowercase()))
                .collect();
            self.union(lists, lo, hi)
        });
        let by_source = sources.map(|ids| {
            let lists: Vec<&'a Vec<u32>> = ids.iter().filter_map(|s| self.sources.get(s)).collect();
            self.union(lists, lo, hi)
        });
        match (by_category, by_source) {
            (Some(a), Some(b)) => Box::new(Intersect {
                a: a.peekable(),
                b: b.peekable(),
            }),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => {
                let early = self.long.iter().copied().take_while(move |&i| i < lo);
                Box::new(early.chain(lo..hi))
            }
        }
    }

    fn is_long(&self, i: u32) -> bool {
        self.long.binary_search(&i).is_ok()
    }

    /// The ascending union of posting lists cut to the window: rows in `[lo, hi)` found by
    /// binary search, earlier ones only if they are long.
    fn union<'a>(
        &'a self,
        lists: Vec<&'a Vec<u32>>,
        lo: u32,
        hi: u32,
    ) -> Box<dyn Iterator<Item = u32> + Send + 'a> {
        let parts: Vec<Part<'a>> = lists
            .into_iter()
            .map(|list| {
                let a = list.partition_point(|&i| i < lo);
                let b = list.partition_point(|&i| i < hi);
                let early = list[..a].iter().copied().filter(|&i| self.is_long(i));
                let part: Box<dyn Iterator<Item = u32> + Send + 'a> =
                    Box::new(early.chain(list[a..b].iter().copied()));
                part.peekable()
            })
            .collect();
        Box::new(Union { parts })
    }
}

type Part<'a> = std::iter::Peekable<Box<dyn Iterator<Item = u32> + Send + 'a>>;

/// Lazy union of ascending iterators, without repeats.
struct Union<'a> {
    parts: Vec<Part<'a>>,
}

impl Iterator for Union<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let min = self
            .parts
            .iter_mut()
            .filter_map(|p| p.peek().copied())
            .min()?;
        for p in &mut self.parts {
            while p.peek() == Some(&min) {
                p.next();
            }
        }
        Some(min)
    }
}

/// Lazy intersection of two ascending iterators.
struct Intersect<'a> {
    a: Part<'a>,
    b: Part<'a>,
}

impl Iterator for Intersect<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            let (x, y) = (*self.a.peek()?, *self.b.peek()?);
            match x.cmp(&y) {
                std::cmp::Ordering::Less => {
                    self.a.next();
                }
                std::cmp::Ordering::Greater => {
                    self.b.next();
                }
                std::cmp::Ordering::Equal => {
                    self.a.next();
                    self.b.next();
                    return Some(x);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: i64, hour: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
            + Duration::days(day)
            + Duration::hours(hour)
    }

    struct R {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        source: String,
        cats: Vec<String>,
    }

    fn rows(n: usize) -> Vec<R> {
        // Deterministic mix: short events, some multi-week exhibitions, several sources.
        let mut out: Vec<R> = (0..n)
            .map(|i| {
                let start = at((i * 7 % 97) as i64, (i % 12) as i64);
                let len = if i % 23 == 0 {
                    Duration::days(30 + (i % 5) as i64)
                } else {
                    Duration::hours(2)
                };
                R {
                    start,
                    end: start + len,
                    source: format!("s{}", i % 5),
                    cats: match i % 4 {
                        0 => vec!["music".into()],
                        1 => vec!["Theatre".into(), "music".into()],
                        2 => vec![],
                        _ => vec!["talk".into(), "TALK".into()],
                    },
                }
            })
            .collect();
        out.sort_by_key(|r| r.start);
        out
    }

    fn index(rows: &[R]) -> OccurrenceIndex {
        OccurrenceIndex::build(rows.iter().map(|r| Entry {
            start: r.start,
            end: r.end,
            source: &r.source,
            categories: &r.cats,
        }))
    }

    /// What a full scan would select.
    fn scan(
        rows: &[R],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        cats: Option<&[String]>,
        sources: Option<&[String]>,
    ) -> Vec<u32> {
        (0..rows.len() as u32)
            .filter(|&i| {
                let r = &rows[i as usize];
                r.start < to
                    && r.end > from
                    && cats.is_none_or(|c| {
                        c.iter()
                            .any(|c| r.cats.iter().any(|x| x.eq_ignore_ascii_case(c)))
                    })
                    && sources.is_none_or(|s| s.contains(&r.source))
            })
            .collect()
    }

    #[test]
    fn candidates_hold_every_match_and_prune_the_rest() {
        let rows = rows(5000);
        let idx = index(&rows);
        let cats: Vec<String> = vec!["MUSIC".into(), "talk".into()];
        let srcs: Vec<String> = vec!["s1".into(), "s3".into()];
        for (day, days) in [
            (0, 1),
            (10, 7),
            (40, 1),
            (60, 30),
            (95, 5),
            (-10, 3),
            (200, 1),
        ] {
            let (from, to) = (at(day, 0), at(day + days, 0));
            for (c, s) in [
                (None, None),
                (Some(&cats[..]), None),
                (None, Some(&srcs[..])),
                (Some(&cats[..]), Some(&srcs[..])),
            ] {
                let cand: Vec<u32> = idx.candidates(from, to, c, s).collect();
                assert!(
                    cand.windows(2).all(|w| w[0] < w[1]),
                    "ascending, no repeats"
                );
                let want = scan(&rows, from, to, c, s);
                for i in &want {
                    assert!(cand.contains(i), "day {day}+{days}: match {i} missing");
                }
                // Pruned: far fewer candidates than rows for short windows.
                if days <= 7 && c.is_none() && s.is_none() {
                    assert!(cand.len() < rows.len() / 4, "{} candidates", cand.len());
                }
            }
        }
    }

    #[test]
    fn a_long_exhibition_is_found_from_any_day_it_runs() {
        let rows = rows(200);
        let idx = index(&rows);
        let long = rows
            .iter()
            .position(|r| r.end - r.start > Duration::days(20))
            .unwrap();
        let day = rows[long].start + Duration::days(15);
        let cand: Vec<u32> = idx
            .candidates(day, day + Duration::hours(1), None, None)
            .collect();
        assert!(cand.contains(&(long as u32)));
    }
}

//! Cross-source de-duplication: which occurrences announce the same real-world event.
//!
//! Two occurrences from *different* sources are the same event when
//! - they take place at the same venue: the same entry of the venue registry
//!   ([`crate::geo::venues`]), or
//!   coordinates within [`Params::distance_m`], or location texts that agree once normalised;
//! - they start within [`Params::tolerance`] of each other (an all-day occurrence matches
//!   anything on the same local date);
//! - their titles are similar: normalised ([`TitleKey`]: case, umlauts and ß, accents,
//!   punctuation, announcement prefixes such as "Konzert:" and marketing suffixes such as
//!   "ausverkauft" removed, word order ignored), one title's words contained in the other's, or
//!   Jaro-Winkler similarity (`strsim`) of the sorted words at least [`Params::threshold`].
//!
//! Candidates are found by blocking, never by comparing all pairs: timed occurrences are put
//! in buckets as wide as the tolerance (a pair lies in one bucket or in two neighbouring
//! ones), all-day ones are bucketed by date, and only occurrences of different sources are
//! paired, smallest blocks first, within budgets: [`MAX_PAIRS`] per block and
//! [`MAX_PAIRS_PER_EVENT`] per occurrence in all (crowds beyond them are paired by
//! normalised title only), and [`MAX_FUZZY_PER_EVENT`] Jaro-Winkler comparisons of distinct
//! title pairs (beyond it, equal or contained titles only; each with a warning). One source
//! with many events at one time costs nothing, and the work stays O(n log n) whatever the
//! feeds contain (`benches/dedupe.rs` clusters 200,000 hostile occurrences within 2 s).
//! Matches are joined best first into clusters that hold at most one occurrence per source, so a chain of
//! near-matches can never glue two events of one source together. False merges are worse than
//! duplicates: when in doubt, occurrences stay apart.

use crate::compare::{contains_run, distance_m, words};
use crate::geo::venues::Registry as Gazetteer;
use crate::model::Geo;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashSet;

/// Matching settings (`[dedupe]` in the config).
#[derive(Debug, Clone)]
pub struct Params {
    /// Largest start difference of timed occurrences.
    pub tolerance: chrono::Duration,
    /// Title similarity (0..1) at or above which titles match.
    pub threshold: f64,
    /// Largest distance in metres between the coordinates of one venue.
    pub distance_m: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            tolerance: chrono::Duration::minutes(15),
            threshold: 0.92,
            distance_m: 150.0,
        }
    }
}

/// Cross-source de-duplication (`[dedupe]`).
#[derive(Debug, Clone)]
pub struct DedupeConfig {
    pub enabled: bool,
    pub params: Params,
    /// The operator's overrides file (`[dedupe] overrides`), as written (relative to the
    /// config file); [`crate::overrides`] reads it.
    pub overrides: Option<std::path::PathBuf>,
}

/// `[dedupe]` as written.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDedupe {
    enabled: Option<bool>,
    time_tolerance: Option<String>,
    title_similarity: Option<f64>,
    venue_distance_m: Option<f64>,
    overrides: Option<std::path::PathBuf>,
}

impl RawDedupe {
    /// Validates `[dedupe]`.
    pub fn build(self) -> Result<DedupeConfig, crate::settings::SettingError> {
        use crate::settings::SettingError;
        let defaults = Params::default();
        let tolerance = crate::settings::duration_or(
            "dedupe.time_tolerance",
            self.time_tolerance.as_deref(),
            defaults.tolerance.to_std().unwrap_or_default(),
        )?;
        if tolerance > std::time::Duration::from_secs(6 * 3600) {
            return Err(SettingError::new(
                "dedupe.time_tolerance",
                "must be at most 6h",
            ));
        }
        let threshold = self.title_similarity.unwrap_or(defaults.threshold);
        if !(0.5..=1.0).contains(&threshold) {
            return Err(SettingError::new(
                "dedupe.title_similarity",
                "must be between 0.5 and 1.0",
            ));
        }
        let distance_m = self.venue_distance_m.unwrap_or(defaults.distance_m);
        if !(0.0..=5000.0).contains(&distance_m) {
            return Err(SettingError::new(
                "dedupe.venue_distance_m",
                "must be between 0 and 5000",
            ));
        }
        Ok(DedupeConfig {
            enabled: self.enabled.unwrap_or(true),
            params: Params {
                tolerance: chrono::Duration::from_std(tolerance).unwrap_or_default(),
                threshold,
                distance_m,
            },
            overrides: self.overrides,
        })
    }
}

/// Most pairs of different sources compared by title similarity in one block (a time bucket
/// as wide as the tolerance, two neighbouring buckets, or an all-day date): 150 events each
/// from three aggregators starting at 19:00. A larger crowd (a flood from a broken or hostile
/// export) is compared by normalised title only, with a warning (see [`Blocks`]).
pub const MAX_PAIRS: usize = 50_000;
/// Pairs compared in one run: this many...
pub const MAX_PAIRS_TOTAL_BASE: usize = 2_000_000;
/// ...plus this many per candidate (the shared bench's 100 sources with 1,000 events each,
/// 186,000 occurrences in seven months, need about 19 per candidate).
pub const MAX_PAIRS_PER_EVENT: usize = 32;
/// Distinct pairs of titles compared by Jaro-Winkler in one run (the costly comparison): this
/// many...
pub const MAX_FUZZY_BASE: usize = 100_000;
/// ...plus this many per candidate (the shared bench's 186,000 occurrences need 1,892).
/// Beyond that, pairs are matched by equal or contained titles only, with a warning.
pub const MAX_FUZZY_PER_EVENT: usize = 1;

/// A location text with the bits of its coordinates (a hashable place).
type PlaceText<'a> = (Option<&'a str>, Option<(u64, u64)>);

/// One occurrence as the matcher sees it.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub source: &'a str,
    pub start: DateTime<Utc>,
    /// The local date of an all-day occurrence; `None` for timed ones.
    pub all_day: Option<NaiveDate>,
    /// The local start date (used to pair all-day with timed occurrences).
    pub local_date: NaiveDate,
    pub title: &'a str,
    pub location: Option<&'a str>,
    pub geo: Option<Geo>,
}

/// Announcement prefixes and marketing words that say nothing about which event it is.
const NOISE: &[&str] = &[
    "konzert",
    "tipp",
    "neu",
    "veranstaltung",
    "kultur",
    "zusatztermin",
    "ausverkauft",
    "restkarten",
    "eintritt",
    "frei",
    "ersatztermin",
    "neuauflage",
    "wiederaufnahme",
    "premiere",
    "live",
    "heute",
    "abgesagt",
    "verlegt",
    "new",
    "sold",
    "out",
];

/// A title prepared for comparison: its distinctive words, sorted and unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleKey {
    pub words: Vec<String>,
    pub joined: String,
}

impl TitleKey {
    /// The key of a title.
    pub fn new(title: &str) -> TitleKey {
        let all = words(title);
        let mut kept: Vec<String> = all
            .iter()
            .filter(|w| !NOISE.contains(&w.as_str()))
            .cloned()
            .collect();
        if kept.is_empty() {
            kept = all;
        }
        kept.sort();
        kept.dedup();
        let joined = kept.join(" ");
        TitleKey {
            words: kept,
            joined,
        }
    }

    /// Similarity 0..1: 1 for the same words, 0.97 when one title's words are all in the
    /// other (a prefix or suffix added), else Jaro-Winkler of the sorted words.
    pub fn similarity(&self, other: &TitleKey) -> f64 {
        self.quick_similarity(other)
            .unwrap_or_else(|| strsim::jaro_winkler(&self.joined, &other.joined))
    }

    /// [`TitleKey::similarity`] when it needs no Jaro-Winkler (`None` when it does): the
    /// cheap cases.
    pub fn quick_similarity(&self, other: &TitleKey) -> Option<f64> {
        if self.words.is_empty() || other.words.is_empty() {
            return Some(0.0);
        }
        if self.words == other.words {
            return Some(1.0);
        }
        let (small, large) = if self.words.len() <= other.words.len() {
            (self, other)
        } else {
            (other, self)
        };
        let distinctive: usize = small.words.iter().map(String::len).sum();
        if distinctive >= 4 && small.words.iter().all(|w| large.words.contains(w)) {
            return Some(0.97);
        }
        None
    }
}

/// Where an occurrence takes place, prepared for comparison.
#[derive(Debug, Clone)]
struct VenueKey {
    venue: Option<usize>,
    geo: Option<Geo>,
    words: Vec<String>,
    /// Words of the first part of the location (before a comma or dash): usually the venue.
    head: Vec<String>,
}

impl VenueKey {
    fn new(c: &Candidate<'_>, gazetteer: &Gazetteer) -> VenueKey {
        let location = c.location.unwrap_or("");
        let venue = c.location.and_then(|l| gazetteer.lookup(l));
        let geo = c
            .geo
            .or_else(|| venue.and_then(|v| gazetteer.venues[v].geo));
        let head_text = location
            .split([',', '–', '—', '|', '(', ';'])
            .next()
            .unwrap_or("");
        VenueKey {
            venue,
            geo,
            words: words(location),
            head: words(head_text),
        }
    }

    fn is_unknown(&self) -> bool {
        self.venue.is_none() && self.geo.is_none() && self.words.is_empty()
    }
}

/// How two venues compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Same,
    Different,
    /// One side says nothing about where.
    Unknown,
}

fn compare_venues(a: &VenueKey, b: &VenueKey, within_m: f64) -> Place {
    if a.is_unknown() || b.is_unknown() {
        return Place::Unknown;
    }
    if let (Some(x), Some(y)) = (a.venue, b.venue) {
        return if x == y {
            Place::Same
        } else {
            Place::Different
        };
    }
    if let (Some(x), Some(y)) = (a.geo, b.geo) {
        return if distance_m(x, y) <= within_m {
            Place::Same
        } else {
            Place::Different
        };
    }
    if a.words.is_empty() || b.words.is_empty() {
        return Place::Unknown;
    }
    let heads_agree = !a.head.is_empty() && a.head == b.head;
    let (small, large) = if a.words.len() <= b.words.len() {
        (a, b)
    } else {
        (b, a)
    };
    if heads_agree
        || contains_run(&large.words, &small.head)
        || contains_run(&small.words, &large.head)
        || small.words.iter().all(|w| large.words.contains(w))
    {
        Place::Same
    } else {
        Place::Different
    }
}

/// Clusters of candidates (indices into `cands`, two or more each, lowest index first) that
/// are the same event. `forced` pairs are joined regardless of the rules (operator overrides),
/// `forbidden` pairs are never joined directly.
pub fn cluster(
    cands: &[Candidate<'_>],
    params: &Params,
    gazetteer: &Gazetteer,
    forced: &[(usize, usize)],
    forbidden: &HashSet<(usize, usize)>,
) -> Vec<Vec<usize>> {
    // Occurrences of one series share title and place: prepare each distinct one once.
    let mut title_keys: Vec<TitleKey> = Vec::new();
    // Fast hashing (seeded per process): these maps see every candidate.
    let mut title_ix: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let mut venue_keys: Vec<VenueKey> = Vec::new();
    let mut venue_ix: foldhash::HashMap<PlaceText<'_>, usize> = foldhash::HashMap::default();
    let mut keys: Vec<(usize, usize)> = Vec::with_capacity(cands.len());
    for c in cands {
        let t = *title_ix.entry(c.title).or_insert_with(|| {
            title_keys.push(TitleKey::new(c.title));
            title_keys.len() - 1
        });
        let geo_bits = c.geo.map(|g| (g.lat.to_bits(), g.lon.to_bits()));
        let v = *venue_ix.entry((c.location, geo_bits)).or_insert_with(|| {
            venue_keys.push(VenueKey::new(c, gazetteer));
            venue_keys.len() - 1
        });
        keys.push((t, v));
    }
    let titles = |i: usize| &title_keys[keys[i].0];
    let venues = |i: usize| &venue_keys[keys[i].1];
    // A coarse grid over the coordinates: two places within `distance_m` are in the same or
    // neighbouring cells (longitude cells sized for latitudes up to 75°), so most pairs are
    // ruled out with two integer comparisons.
    let cell_lat = (params.distance_m.max(1.0) / 111_000.0).max(1e-6);
    let cell_lon = cell_lat / 75f64.to_radians().cos();
    let cells: Vec<Option<(i64, i64)>> = venue_keys
        .iter()
        .map(|v| {
            v.geo.map(|g| {
                (
                    (g.lat / cell_lat).floor() as i64,
                    (g.lon / cell_lon).floor() as i64,
                )
            })
        })
        .collect();
    let mut source_ix: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let sources: Vec<usize> = cands
        .iter()
        .map(|c| {
            let n = source_ix.len();
            *source_ix.entry(c.source).or_insert(n)
        })
        .collect();
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    // Jaro-Winkler is the costly comparison: a budget of distinct title pairs per run.
    let mut fuzzy_left = MAX_FUZZY_BASE + MAX_FUZZY_PER_EVENT * cands.len();
    let mut fuzzy_skipped = 0usize;
    let mut fuzzy_seen: foldhash::HashMap<(usize, usize), f64> = foldhash::HashMap::default();
    let mut consider = |i: usize, j: usize| {
        if sources[i] == sources[j] {
            return;
        }
        if let (Some(a), Some(b)) = (cells[keys[i].1], cells[keys[j].1])
            && ((a.0 - b.0).abs() > 1 || (a.1 - b.1).abs() > 1)
        {
            return;
        }
        if !forbidden.is_empty() && forbidden.contains(&(i.min(j), i.max(j))) {
            return;
        }
        let (a, b) = (&cands[i], &cands[j]);
        // Occurrences of one place share its key: a key agrees with itself.
        let place = if keys[i].1 == keys[j].1 {
            if venues(i).is_unknown() {
                Place::Unknown
            } else {
                Place::Same
            }
        } else {
            compare_venues(venues(i), venues(j), params.distance_m)
        };
        if place == Place::Different {
            return;
        }
        // Without a place to compare, only the very same title counts.
        let needed = if place == Place::Unknown {
            1.0
        } else {
            params.threshold
        };
        let sim = match titles(i).quick_similarity(titles(j)) {
            Some(sim) => sim,
            // Jaro-Winkler is below 1 for different words.
            None if place == Place::Unknown => return,
            None => {
                // Occurrences of a series share their titles: each pair of titles once.
                let pair = (keys[i].0.min(keys[j].0), keys[i].0.max(keys[j].0));
                match fuzzy_seen.get(&pair) {
                    Some(&sim) => sim,
                    None if fuzzy_left == 0 => {
                        fuzzy_skipped += 1;
                        return;
                    }
                    None => {
                        fuzzy_left -= 1;
                        let sim = strsim::jaro_winkler(&titles(i).joined, &titles(j).joined);
                        fuzzy_seen.insert(pair, sim);
                        sim
                    }
                }
            }
        };
        if sim >= needed {
            // Prefer closer starts among equally similar titles.
            let gap = (a.start - b.start).num_seconds().unsigned_abs() as f64;
            pairs.push((sim - gap * 1e-9, i.min(j), i.max(j)));
        }
    };

    // Timed occurrences: in buckets as wide as the tolerance, so two that may pair are in
    // the same bucket or in neighbouring ones.
    let tolerance = params.tolerance.num_seconds().max(0);
    let width = tolerance.max(1);
    let mut buckets: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
    for i in (0..cands.len()).filter(|&i| cands[i].all_day.is_none()) {
        buckets
            .entry(cands[i].start.timestamp().div_euclid(width))
            .or_default()
            .push(i);
    }
    // Crowds are paired by normalised title: one id per distinct `TitleKey::joined`.
    let mut joined_ix: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let joined_of: Vec<usize> = title_keys
        .iter()
        .map(|t| {
            let n = joined_ix.len();
            *joined_ix.entry(t.joined.as_str()).or_insert(n)
        })
        .collect();
    let title_of: Vec<usize> = keys.iter().map(|k| joined_of[k.0]).collect();
    let mut blocks = Blocks {
        sources: &sources,
        titles: &title_of,
        budget: MAX_PAIRS_TOTAL_BASE + MAX_PAIRS_PER_EVENT * cands.len(),
        crowded: 0,
        unpaired: 0,
        crowd_sources: Default::default(),
    };
    // All-day occurrences: against all-day and timed ones of the same date.
    let mut by_date: foldhash::HashMap<NaiveDate, (Vec<usize>, Vec<usize>)> =
        foldhash::HashMap::default();
    for (i, c) in cands.iter().enumerate() {
        let slot = by_date
            .entry(c.all_day.unwrap_or(c.local_date))
            .or_default();
        if c.all_day.is_some() {
            slot.0.push(i);
        } else {
            slot.1.push(i);
        }
    }
    // Every block with its number of cross-source pairs; the smallest are paired first, so
    // a flood (many large blocks) is what runs out of the budget, not the normal evenings.
    let mut plan: Vec<Block<'_>> = Vec::new();
    for (&b, members) in &buckets {
        plan.push(Block::new(&blocks, members, None, false));
        if let Some(next) = buckets.get(&(b + 1)) {
            plan.push(Block::new(&blocks, members, Some(next), true));
        }
    }
    let mut dates: Vec<_> = by_date.iter().filter(|(_, v)| !v.0.is_empty()).collect();
    dates.sort_unstable_by_key(|(d, _)| **d);
    for (_, (all_day, timed)) in dates {
        plan.push(Block::new(&blocks, all_day, None, false));
        plan.push(Block::new(&blocks, all_day, Some(timed), false));
    }
    plan.retain(|b| b.pairs > 0);
    plan.sort_by_key(|b| b.pairs);
    let near =
        |i: usize, j: usize| (cands[j].start - cands[i].start).num_seconds().abs() <= tolerance;
    let anytime = |_: usize, _: usize| true;
    for block in &plan {
        let test: &dyn Fn(usize, usize) -> bool = if block.neighbours { &near } else { &anytime };
        blocks.pair(block, test, &mut consider);
    }
    tracing::debug!(
        candidates = cands.len(),
        paired = MAX_PAIRS_TOTAL_BASE + MAX_PAIRS_PER_EVENT * cands.len() - blocks.budget,
        fuzzy = fuzzy_seen.len(),
        "De-duplication pairs compared."
    );
    if fuzzy_skipped > 0 {
        tracing::warn!(
            skipped = fuzzy_skipped,
            "De-duplication: the budget of title comparisons ran out; {fuzzy_skipped} pairs \
             were matched by equal or contained titles only."
        );
    }
    if blocks.crowded > 0 {
        let mut names: Vec<&str> = cands
            .iter()
            .zip(&sources)
            .filter(|(_, s)| blocks.crowd_sources.contains(s))
            .map(|(c, _)| c.source)
            .collect();
        names.sort_unstable();
        names.dedup();
        tracing::warn!(
            crowded = blocks.crowded,
            unpaired = blocks.unpaired,
            sources = %names.join(", "),
            "De-duplication: {} crowds of events starting at about the same time were \
             compared by normalised title only (more than {MAX_PAIRS} pairs each, or beyond \
             the budget of the run); {} events in crowds of one title were not compared at all.",
            blocks.crowded,
            blocks.unpaired
        );
    }

    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut sets = Clusters::new(cands);
    for &(i, j) in forced {
        if i < cands.len() && j < cands.len() {
            sets.union(i, j, true);
        }
    }
    for (_, i, j) in pairs {
        sets.union(i, j, false);
    }
    sets.into_groups()
}

/// A set of candidates paired among itself (`right` none) or with another set.
struct Block<'a> {
    left: &'a [usize],
    right: Option<&'a [usize]>,
    /// Neighbouring time buckets: pairs must start within the tolerance.
    neighbours: bool,
    /// Its pairs of different sources.
    pairs: usize,
}

impl<'a> Block<'a> {
    fn new(
        blocks: &Blocks<'_>,
        left: &'a [usize],
        right: Option<&'a [usize]>,
        neighbours: bool,
    ) -> Block<'a> {
        Block {
            left,
            right,
            neighbours,
            pairs: blocks.cross_pairs(left, right),
        }
    }
}

/// Hands the cross-source pairs of the blocks (time buckets, pairs of neighbouring buckets,
/// all-day dates) to the matcher, within budgets.
///
/// A block with more than [`MAX_PAIRS`] pairs of different sources, or more than the budget
/// left of the whole run ([`MAX_PAIRS_TOTAL_BASE`] + [`MAX_PAIRS_PER_EVENT`] per candidate),
/// is a crowd: there only candidates with the same normalised title ([`TitleKey::joined`])
/// are paired, and a one-title crowd beyond the budget is not paired at all. The comparisons
/// are therefore linear in the number of candidates, whatever the feeds contain.
struct Blocks<'a> {
    /// The source index of each candidate.
    sources: &'a [usize],
    /// The normalised title of each candidate (an id per distinct one).
    titles: &'a [usize],
    /// Pairs that may still be compared.
    budget: usize,
    /// Blocks paired by title only.
    crowded: usize,
    /// Candidates of one-title crowds left unpaired.
    unpaired: usize,
    /// The sources with events in crowds.
    crowd_sources: std::collections::BTreeSet<usize>,
}

impl Blocks<'_> {
    /// Pairs a block, by similarity if its pairs fit the budgets, else by title.
    fn pair(
        &mut self,
        block: &Block<'_>,
        near: &dyn Fn(usize, usize) -> bool,
        consider: &mut impl FnMut(usize, usize),
    ) {
        let (left, right) = (block.left, block.right);
        if block.pairs <= MAX_PAIRS && block.pairs <= self.budget {
            self.budget -= block.pairs;
            self.pair_all(left, right, near, consider);
            return;
        }
        self.crowded += 1;
        self.crowd_sources.extend(
            left.iter()
                .chain(right.unwrap_or_default())
                .map(|&i| self.sources[i]),
        );
        let mut by_title: foldhash::HashMap<usize, (Vec<usize>, Vec<usize>)> =
            foldhash::HashMap::default();
        for &i in left {
            by_title.entry(self.titles[i]).or_default().0.push(i);
        }
        for &j in right.unwrap_or_default() {
            if let Some(slot) = by_title.get_mut(&self.titles[j]) {
                slot.1.push(j);
            }
        }
        let mut groups: Vec<(Vec<usize>, Vec<usize>)> = by_title.into_values().collect();
        groups.sort_by_key(|g| g.0[0]);
        for (l, r) in groups {
            let r = right.map(|_| r.as_slice());
            if r.is_some_and(<[usize]>::is_empty) {
                continue;
            }
            let pairs = self.cross_pairs(&l, r);
            if pairs <= MAX_PAIRS && pairs <= self.budget {
                self.budget -= pairs;
                self.pair_all(&l, r, near, consider);
            } else if pairs > 0 {
                self.unpaired += l.len() + r.map_or(0, <[usize]>::len);
            }
        }
    }

    /// The candidates of `list` grouped by source, in first-appearance order.
    fn by_source(&self, list: &[usize]) -> Vec<Vec<usize>> {
        let mut at: foldhash::HashMap<usize, usize> = foldhash::HashMap::default();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for &i in list {
            let g = *at.entry(self.sources[i]).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(i);
        }
        groups
    }

    /// How many pairs of different sources the block has.
    fn cross_pairs(&self, left: &[usize], right: Option<&[usize]>) -> usize {
        let mut counts: foldhash::HashMap<usize, (usize, usize)> = foldhash::HashMap::default();
        for &i in left {
            counts.entry(self.sources[i]).or_default().0 += 1;
        }
        match right {
            None => {
                let same: usize = counts.values().map(|c| c.0 * c.0).sum();
                (left.len() * left.len() - same) / 2
            }
            Some(right) => {
                for &j in right {
                    counts.entry(self.sources[j]).or_default().1 += 1;
                }
                let same: usize = counts.values().map(|c| c.0 * c.1).sum();
                left.len() * right.len() - same
            }
        }
    }

    fn pair_all(
        &self,
        left: &[usize],
        right: Option<&[usize]>,
        near: &dyn Fn(usize, usize) -> bool,
        consider: &mut impl FnMut(usize, usize),
    ) {
        let lefts = self.by_source(left);
        match right {
            None => {
                for (k, ga) in lefts.iter().enumerate() {
                    for gb in &lefts[k + 1..] {
                        for &i in ga {
                            for &j in gb {
                                consider(i.min(j), i.max(j));
                            }
                        }
                    }
                }
            }
            Some(right) => {
                let rights = self.by_source(right);
                for ga in &lefts {
                    for gb in &rights {
                        if self.sources[ga[0]] == self.sources[gb[0]] {
                            continue;
                        }
                        for &i in ga {
                            for &j in gb {
                                if near(i, j) {
                                    consider(i.min(j), i.max(j));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Union-find over candidates that keeps at most one candidate per source in each set.
struct Clusters<'c> {
    parent: Vec<usize>,
    members: Vec<Vec<usize>>,
    cands: &'c [Candidate<'c>],
}

impl<'c> Clusters<'c> {
    fn new(cands: &'c [Candidate<'c>]) -> Self {
        Clusters {
            parent: (0..cands.len()).collect(),
            members: (0..cands.len()).map(|i| vec![i]).collect(),
            cands,
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize, force: bool) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let clash = self.members[ra].iter().any(|&x| {
            self.members[rb]
                .iter()
                .any(|&y| self.cands[x].source == self.cands[y].source)
        });
        if clash && !force {
            return;
        }
        let (keep, gone) = if self.members[ra].len() >= self.members[rb].len() {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[gone] = keep;
        let moved = std::mem::take(&mut self.members[gone]);
        self.members[keep].extend(moved);
    }

    fn into_groups(self) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = self
            .members
            .into_iter()
            .filter(|m| m.len() > 1)
            .map(|mut m| {
                m.sort_unstable();
                m
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cand<'a>(source: &'a str, h: u32, m: u32, title: &'a str, loc: &'a str) -> Candidate<'a> {
        let start = Utc.with_ymd_and_hms(2026, 12, 5, h, m, 0).unwrap();
        Candidate {
            source,
            start,
            all_day: None,
            local_date: start.date_naive(),
            title,
            location: Some(loc),
            geo: None,
        }
    }

    fn run(c: &[Candidate<'_>]) -> Vec<Vec<usize>> {
        cluster(
            c,
            &Params::default(),
            &Gazetteer::default(),
            &[],
            &HashSet::new(),
        )
    }

    #[test]
    fn titles_normalise_case_umlauts_punctuation_prefixes_and_order() {
        let k = |t: &str| TitleKey::new(t);
        assert_eq!(k("Konzert: Quartett Süd").words, vec!["quartett", "sued"]);
        assert_eq!(k("QUARTETT SUED!").words, k("Quartett Süd").words);
        assert_eq!(k("Süd Quartett").words, k("Quartett Süd").words);
        assert_eq!(k("Straße – „Nacht“").words, k("Strasse - \"Nacht\"").words);
        assert_eq!(
            k("Duo Köhler/Åström").words,
            vec!["astroem", "duo", "koehler"]
        );
        // A title of noise words only keeps them.
        assert_eq!(k("Konzert").words, vec!["konzert"]);
        assert!(k("Faust (Zusatztermin)").similarity(&k("Faust")) >= 0.97);
        assert!(k("Lesung: Goethe").similarity(&k("Vortrag: Schiller")) < 0.8);
    }

    #[test]
    fn same_event_from_three_sources_is_one_cluster() {
        let c = [
            cand("a", 19, 0, "Die Zauberflöte", "Stadttheater, Großes Haus"),
            cand("b", 19, 10, "DIE ZAUBERFLOETE (Restkarten)", "Stadttheater"),
            cand(
                "c",
                19,
                0,
                "Oper: Die Zauberflöte",
                "Stadttheater Musterstadt",
            ),
        ];
        assert_eq!(run(&c), vec![vec![0, 1, 2]]);
    }

    #[test]
    fn near_misses_stay_apart() {
        let c = [
            // Same venue and time, two halls, different productions.
            cand("a", 19, 0, "Die Zauberflöte", "Stadttheater, Großes Haus"),
            cand("b", 19, 0, "Der Kontrabass", "Stadttheater, Kleines Haus"),
            // Same title, 20 minutes later than the tolerance allows.
            cand("c", 19, 40, "Die Zauberflöte", "Stadttheater"),
            // Same title and time, another venue.
            cand("d", 19, 0, "Die Zauberflöte", "Kulturhalle Nord"),
        ];
        assert!(run(&c).is_empty(), "{:?}", run(&c));
    }

    #[test]
    fn one_source_never_has_two_members_in_a_cluster() {
        let c = [
            cand("a", 19, 0, "Jazz im Park", "Stadtpark"),
            cand("b", 19, 0, "Jazz im Park", "Stadtpark"),
            cand("a", 19, 5, "Jazz im Park", "Stadtpark"),
        ];
        let got = run(&c);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), 2);
    }

    #[test]
    fn coordinates_within_150_m_are_one_venue() {
        let mut a = cand("a", 19, 0, "Orgelkonzert", "Marktkirche");
        let mut b = cand("b", 19, 0, "Orgelkonzert", "Ev. Kirche am Markt");
        a.geo = Geo::new(49.0, 8.4);
        b.geo = Geo::new(49.0009, 8.4); // ~100 m north
        assert_eq!(run(&[a.clone(), b.clone()]), vec![vec![0, 1]]);
        b.geo = Geo::new(49.003, 8.4); // ~330 m
        assert!(run(&[a, b]).is_empty());
    }

    #[test]
    fn gazetteer_joins_spellings_of_one_venue() {
        let g = Gazetteer::new(vec![crate::geo::venues::Venue {
            id: "theater".into(),
            name: "Stadttheater Musterstadt".into(),
            aliases: vec!["Großes Haus".into(), "Theater am Ring".into()],
            ..Default::default()
        }]);
        let c = [
            cand("a", 19, 0, "Faust", "Großes Haus"),
            cand("b", 19, 0, "Faust", "Theater am Ring 1, 12345 Musterstadt"),
        ];
        let got = cluster(&c, &Params::default(), &g, &[], &HashSet::new());
        assert_eq!(got, vec![vec![0, 1]]);
        assert_eq!(g.lookup("Kulturhalle"), None);
    }

    #[test]
    fn all_day_matches_timed_on_the_same_date_only() {
        let mut a = cand("a", 9, 0, "Flohmarkt am Rathaus", "Rathausplatz");
        a.all_day = Some(a.local_date);
        let b = cand("b", 9, 0, "Flohmarkt am Rathaus", "Rathausplatz");
        let mut c = cand("c", 9, 0, "Flohmarkt am Rathaus", "Rathausplatz");
        c.all_day = Some(a.local_date.succ_opt().unwrap());
        c.local_date = c.all_day.unwrap();
        assert_eq!(run(&[a, b, c]), vec![vec![0, 1]]);
    }

    #[test]
    fn forbidden_and_forced_pairs() {
        let c = [
            cand("a", 19, 0, "Faust", "Theater"),
            cand("b", 19, 0, "Faust", "Theater"),
            cand("c", 20, 0, "Ganz anders", "Woanders"),
        ];
        let forbid: HashSet<_> = [(0, 1)].into_iter().collect();
        let g = Gazetteer::default();
        assert!(cluster(&c, &Params::default(), &g, &[], &forbid).is_empty());
        let got = cluster(&c, &Params::default(), &g, &[(0, 2)], &HashSet::new());
        assert_eq!(got, vec![vec![0, 1, 2]]);
    }

    #[test]
    fn unknown_place_needs_the_same_title() {
        let mut a = cand("a", 19, 0, "Faust", "x");
        a.location = None;
        let b = cand("b", 19, 0, "Faust (Premiere)", "Theater");
        let c = cand("c", 19, 0, "Faust", "Theater");
        // a–c: same words; a–b: "premiere" is noise, so the same words too.
        assert_eq!(run(&[a, b, c]), vec![vec![0, 1, 2]]);
    }
}

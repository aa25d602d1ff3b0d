//! The merged calendar as an immutable in-memory snapshot, and its renderings.
//!
//! After every change in the store a new [`Snapshot`] is built: all events grouped into series,
//! expanded into occurrences for the configured window, sorted by start. Requests only read a
//! snapshot (the server swaps in the new one atomically), so serving never waits for an ingest
//! and `regiocal export` renders exactly what the server serves. Renderers: [`ics`], [`json`],
//! [`jsonld`], [`atom`], [`jcal`], [`xcal`].

pub mod atom;
pub mod contentline;
pub mod ics;
pub mod index;
pub mod jcal;
pub mod json;
pub mod jsonld;
mod merge;
pub mod search;
pub mod xcal;

/// German month names (Atom titles and the web pages write dates out in German).
pub const GERMAN_MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

use crate::calendar::CalendarConfig;
use crate::geo::Place;
use crate::ingest::SourceConfig;
use crate::model::{Event, EventTime, Geo, Occurrence, SourceState, StoredEvent, recurrence_key};
use crate::normalize::recurrence::{self, Window};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Calendar-wide settings the renderers need.
#[derive(Debug, Clone)]
pub struct CalendarInfo {
    pub name: String,
    pub description: Option<String>,
    pub timezone: Tz,
    pub refresh_minutes: u32,
    /// The day the snapshot was built on, in `timezone`.
    pub today: NaiveDate,
    /// `[calendar] feed_max_occurrences` (0: no cap).
    pub feed_max_occurrences: usize,
}

/// What the unfiltered calendar feeds serve ([`Snapshot::feed_window`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedWindow {
    /// The filter the unfiltered calendar feeds are rendered with: the default one while the
    /// calendar is under `feed_max_occurrences`.
    pub filter: Filter,
    /// Occurrences of the snapshot that the unfiltered calendar feeds leave out (0: none).
    pub left_out: usize,
}

impl FeedWindow {
    /// Whether the cap cut the unfiltered feeds.
    pub fn is_cut(&self) -> bool {
        self.left_out > 0
    }
}

/// What the outputs say about a source.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub id: String,
    pub name: String,
    pub url: String,
    pub license: Option<String>,
    pub attribution: Option<String>,
    pub schedule: String,
    pub state: SourceState,
}

/// A series (or single event): its master component and overrides, as indexes into
/// [`Snapshot::events`].
#[derive(Debug, Clone)]
pub struct Series {
    pub source: String,
    pub master: usize,
    pub overrides: Vec<usize>,
    /// The UID published for this series (unique across sources, stable across refetches).
    pub public_uid: String,
    /// Instances not published with this series (merged into another source's event, or
    /// hidden by an override): written as EXDATE.
    pub hidden_instances: Vec<EventTime>,
}

/// One occurrence in the snapshot.
#[derive(Debug, Clone)]
pub struct Row {
    /// Public id: stable across refetches (source, UID and original instance start); for a
    /// merged event, the id of the member seen first.
    pub id: String,
    /// The id this occurrence has on its own (equal to `id` unless it carries a merge).
    pub own_id: String,
    pub series: usize,
    /// The component that supplies the fields (master, override, or a merged copy).
    pub event: usize,
    pub occurrence: Occurrence,
    /// Other sources' rows merged into this one, in priority order.
    pub merged: Vec<usize>,
    /// Set on a row that was merged into another one: the row that publishes it.
    pub merged_into: Option<usize>,
    /// Taken out of the feeds by an operator override.
    pub hidden: bool,
    /// For a merged row: which member (0 = this row, `k` = `merged[k - 1]`) gave each field.
    pub provenance: Vec<(&'static str, usize)>,
}

impl Row {
    /// Whether the row is published (not hidden, not merged into another).
    pub fn visible(&self) -> bool {
        !self.hidden && self.merged_into.is_none()
    }
}

/// The whole merged calendar at one point in time.
pub struct Snapshot {
    pub calendar: CalendarInfo,
    pub window: Window,
    pub events: Vec<StoredEvent>,
    pub series: Vec<Series>,
    /// Sorted by start, then id.
    pub rows: Vec<Row>,
    /// Rows by public id, built on first use (an export never looks rows up by id).
    ids: std::sync::OnceLock<IdLookup>,
    pub sources: Vec<SourceInfo>,
    /// Position of each source in `sources`, by id.
    source_ix: foldhash::HashMap<String, usize>,
    /// When the content last changed (from the store; never moves backwards).
    pub last_modified: DateTime<Utc>,
    /// Series whose expansion hit the cap or the iteration budget.
    pub truncated_series: usize,
    /// Overrides that matched nothing in this snapshot (described for reports).
    pub unmatched_overrides: Vec<String>,
    /// The category vocabulary (category filters accept its terms too).
    pub vocabulary: std::sync::Arc<crate::normalize::category::Vocabulary>,
    /// Where each event takes place (aligned with `events`).
    pub places: Vec<Place>,
    /// The normalised search text of each event (aligned with `events`), built on first use.
    search: std::sync::OnceLock<Vec<search::Haystack>>,
    /// Rows by start, category and source (built at the first filtered request).
    index: std::sync::OnceLock<index::OccurrenceIndex>,
    /// What the unfiltered calendar feeds serve, worked out on first use.
    feed_window: std::sync::OnceLock<FeedWindow>,
    /// Venues, districts and region.
    pub geo: std::sync::Arc<crate::geo::Layers>,
    /// Stops and bike stations (`[transit]`).
    pub transit: Option<std::sync::Arc<crate::transit::Transit>>,
}

/// Rows by id: published rows by their public id, and the ids of rows merged into another
/// (old id -> the row that publishes it now). Keyed by ids regiocal derived itself, so with a
/// fast hasher (seeded per process).
struct IdLookup {
    by_id: foldhash::HashMap<Box<str>, usize>,
    aliases: foldhash::HashMap<Box<str>, usize>,
}

impl IdLookup {
    fn build(rows: &[Row]) -> IdLookup {
        let mut by_id = foldhash::HashMap::with_capacity_and_hasher(rows.len(), Default::default());
        let mut aliases = foldhash::HashMap::default();
        for (i, r) in rows.iter().enumerate() {
            if r.visible() {
                by_id.insert(r.id.as_str().into(), i);
                if r.own_id != r.id {
                    aliases.insert(r.own_id.as_str().into(), i);
                }
            } else if let Some(into) = r.merged_into {
                aliases.insert(r.own_id.as_str().into(), into);
            }
        }
        IdLookup { by_id, aliases }
    }
}

/// Filters shared by every output (`from`/`to` are dates in the calendar's zone, inclusive).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Any of these categories (case-insensitive).
    pub categories: Vec<String>,
    /// Any of these source ids.
    pub sources: Vec<String>,
    /// Inside this box: min lon, min lat, max lon, max lat.
    pub bbox: Option<[f64; 4]>,
    /// Within `radius_km` of this point.
    pub near: Option<(Geo, f64)>,
    /// Any of these districts (by name, case-insensitive).
    pub districts: Vec<String>,
    /// Any of these venue ids.
    pub venues: Vec<String>,
    /// Only events with a public-transport stop within walking distance.
    pub transit: bool,
    /// Text search: every word must occur in the title, description, location or venue name
    /// (case-, umlaut- and accent-insensitive; a word matches inside longer words, so
    /// "konzert" finds "Adventskonzert").
    pub text: Option<String>,
    /// Only events with free admission (see [`free_admission`]).
    pub free: bool,
}

impl Filter {
    /// Whether the filter needs the place of an occurrence.
    fn wants_place(&self) -> bool {
        self.bbox.is_some()
            || self.near.is_some()
            || !self.districts.is_empty()
            || !self.venues.is_empty()
            || self.transit
    }
}

/// What building a snapshot reads of the configuration (the config lends it).
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pub calendar: &'a CalendarConfig,
    /// The configured sources: only their events are served.
    pub sources: &'a [SourceConfig],
    pub dedupe: &'a crate::dedupe::DedupeConfig,
    pub overrides: &'a crate::overrides::Overrides,
    pub geo: &'a std::sync::Arc<crate::geo::Layers>,
    pub transit: Option<&'a std::sync::Arc<crate::transit::Transit>>,
    pub vocabulary: &'a std::sync::Arc<crate::normalize::category::Vocabulary>,
}

impl Settings<'_> {
    /// The configured source with this id.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.id == id)
    }
}

impl Snapshot {
    /// Builds a snapshot from stored data.
    pub fn build<'a>(
        config: impl Into<Settings<'a>>,
        events: Vec<StoredEvent>,
        states: Vec<SourceState>,
        last_change: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Snapshot {
        let config: Settings<'a> = config.into();
        let cal = config.calendar;
        let window = Window::around(now, cal.timezone, cal.past_days, cal.future_days);
        let states: HashMap<String, SourceState> =
            states.into_iter().map(|s| (s.id.clone(), s)).collect();
        let sources: Vec<SourceInfo> = config
            .sources
            .iter()
            .map(|s| SourceInfo {
                id: s.id.clone(),
                name: s.name.clone(),
                url: s.location.to_string(),
                license: s.license.clone(),
                attribution: s.attribution.clone(),
                schedule: s.schedule.as_str().to_string(),
                state: states.get(&s.id).cloned().unwrap_or_else(|| SourceState {
                    id: s.id.clone(),
                    ..Default::default()
                }),
            })
            .collect();
        // Only sources still configured are served; events that vanished from their source
        // are published as cancelled for `cancelled_days`, then no more.
        let keep_cancelled = chrono::Duration::days(i64::from(cal.cancelled_days));
        let source_ix: foldhash::HashMap<String, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let events: Vec<StoredEvent> = events
            .into_iter()
            .filter(|e| source_ix.contains_key(&e.source))
            .filter(|e| {
                e.event
                    .withdrawn
                    .is_none_or(|gone| gone + keep_cancelled > now)
            })
            .filter(|e| {
                !config.geo.drop_outside
                    || config
                        .geo
                        .place(
                            e.event.location.as_deref(),
                            e.event.address.as_deref(),
                            e.event.geo,
                        )
                        .in_region
                        != Some(false)
            })
            .collect();

        let mut parts = merge::Parts::new(events);
        let mut unmatched = parts.fix_series(config.overrides);
        parts.series = group_series(&parts.events);
        // Small calendars are not worth a thread.
        let threads = if parts.series.len() < 4096 {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let (rows, truncated_series) = expand_all(
            &parts.events,
            &parts.series,
            &window,
            (cal.timezone, cal.max_occurrences_per_series),
            threads,
        );
        parts.rows = rows;
        unmatched.extend(parts.fix_rows(config.overrides, cal.timezone));
        // Unstable (no buffer of half the rows); the keys after the id only order rows that
        // are the same occurrence, deterministically.
        parts.rows.sort_unstable_by(|a, b| {
            a.occurrence
                .start_utc
                .cmp(&b.occurrence.start_utc)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.series.cmp(&b.series))
                .then_with(|| a.event.cmp(&b.event))
        });
        unmatched.extend(parts.hide(config.overrides));
        unmatched.extend(parts.dedupe(config, cal.timezone));
        for u in &unmatched {
            tracing::warn!("Override matches nothing: {u}.");
        }
        let merge::Parts {
            events,
            series,
            rows,
        } = parts;
        let places = resolve_places(config.geo, &events);
        let newest = events.iter().map(|e| e.updated_at).max();
        let last_modified = last_change.max(newest).unwrap_or(DateTime::UNIX_EPOCH);
        Snapshot {
            calendar: CalendarInfo {
                name: cal.name.clone(),
                description: cal.description.clone(),
                timezone: cal.timezone,
                refresh_minutes: cal.refresh_minutes,
                today: now.with_timezone(&cal.timezone).date_naive(),
                feed_max_occurrences: cal.feed_max_occurrences,
            },
            window,
            events,
            series,
            rows,
            ids: std::sync::OnceLock::new(),
            sources,
            source_ix,
            last_modified,
            truncated_series,
            unmatched_overrides: unmatched,
            vocabulary: config.vocabulary.clone(),
            places,
            search: std::sync::OnceLock::new(),
            index: std::sync::OnceLock::new(),
            feed_window: std::sync::OnceLock::new(),
            geo: config.geo.clone(),
            transit: config.transit.cloned(),
        }
    }

    /// Rows matching a filter, in order.
    pub fn select<'a>(&'a self, filter: &'a Filter) -> impl Iterator<Item = &'a Row> + 'a {
        let tz = self.calendar.timezone;
        let from = filter
            .from
            .map(|d| crate::model::local_to_utc(d.and_time(NaiveTime::MIN), tz));
        let to = filter.to.map(|d| {
            crate::model::local_to_utc(crate::model::add_days(d, 1).and_time(NaiveTime::MIN), tz)
        });
        let range = Window {
            start: from.unwrap_or(self.window.start),
            end: to.unwrap_or(self.window.end),
        };
        // A filter term matches itself and the categories it stands for ("Konzert" -> music).
        let none = HashMap::new();
        let needle = filter.text.as_deref().map(search::Needle::new);
        let haystacks = needle
            .as_ref()
            .filter(|n| !n.is_empty())
            .map(|_| self.search_index());
        let wanted: Vec<String> = filter
            .categories
            .iter()
            .flat_map(|f| std::iter::once(f.clone()).chain(self.vocabulary.map(f, &none)))
            .collect();
        // Only candidates from the index are looked at; each still passes every test below.
        // A filter the index cannot narrow (the whole window, any category and source: an
        // export) walks the rows without it, so an export never builds the index.
        let candidates: Box<dyn Iterator<Item = u32> + Send + 'a> = if filter.from.is_none()
            && filter.to.is_none()
            && filter.categories.is_empty()
            && filter.sources.is_empty()
        {
            Box::new(0..u32::try_from(self.rows.len()).unwrap_or(u32::MAX))
        } else {
            self.occurrence_index().candidates(
                range.start,
                range.end,
                (!filter.categories.is_empty()).then_some(&wanted[..]),
                (!filter.sources.is_empty()).then_some(&filter.sources[..]),
            )
        };
        candidates
            .map(move |i| &self.rows[i as usize])
            .filter(move |r| {
                if !r.visible() {
                    return false;
                }
                let o = &r.occurrence;
                if !range.overlaps(o.start_utc, o.end_utc) {
                    return false;
                }
                let s = &self.series[r.series];
                if !filter.sources.is_empty() && !filter.sources.contains(&s.source) {
                    return false;
                }
                if filter.wants_place() && !self.place_matches(&self.places[r.event], filter) {
                    return false;
                }
                if !filter.categories.is_empty() {
                    let cats = &self.events[r.event].event.categories;
                    if !wanted
                        .iter()
                        .any(|f| cats.iter().any(|c| c.eq_ignore_ascii_case(f)))
                    {
                        return false;
                    }
                }
                if filter.free && free_admission(&self.events[r.event].event) != Some(true) {
                    return false;
                }
                if let (Some(needle), Some(hay)) = (&needle, haystacks)
                    && !needle.matches(&hay[r.event])
                {
                    return false;
                }
                true
            })
    }

    /// What the unfiltered `/calendar.ics` (and `.jcal`, `.xcs`) serve. Under the cap
    /// (`[calendar] feed_max_occurrences`, counted over the whole window) that is everything;
    /// over it, the occurrences from today on, up to the last whole day that keeps them within
    /// the cap (today at least, however full it is). The filter is one a subscriber could
    /// also ask for (`?from=…&to=…`), so the capped feed is the same as that filtered one.
    pub fn feed_window(&self) -> &FeedWindow {
        self.feed_window.get_or_init(|| {
            let max = self.calendar.feed_max_occurrences;
            let all = Filter::default();
            let total = self.select(&all).count();
            if max == 0 || total <= max {
                return FeedWindow {
                    filter: all,
                    left_out: 0,
                };
            }
            let today = self.calendar.today;
            let mut filter = Filter {
                from: Some(today),
                ..Filter::default()
            };
            // Rows come in start order, so every row before the first one over the cap
            // starts no later than it; the day before that row's start keeps them all.
            let tz = self.calendar.timezone;
            let first_over = self
                .select(&filter)
                .nth(max)
                .map(|r| r.occurrence.start_utc.with_timezone(&tz).date_naive());
            if let Some(day) = first_over {
                filter.to = Some(crate::model::add_days(day, -1).max(today));
            }
            let kept = self.select(&filter).count();
            FeedWindow {
                filter,
                left_out: total.saturating_sub(kept),
            }
        })
    }

    /// Builds the lookup structures that requests would otherwise build on first use (the
    /// occurrence index and the rows by id), so no request pays for them: called before a
    /// snapshot is swapped in.
    pub fn prepare(&self) {
        self.occurrence_index();
        self.feed_window();
        self.id_lookup();
    }

    /// The rows by id, built once per snapshot.
    fn id_lookup(&self) -> &IdLookup {
        self.ids.get_or_init(|| IdLookup::build(&self.rows))
    }

    /// The occurrence index, built once per snapshot.
    fn occurrence_index(&self) -> &index::OccurrenceIndex {
        self.index.get_or_init(|| {
            index::OccurrenceIndex::build(self.rows.iter().map(|r| index::Entry {
                start: r.occurrence.start_utc,
                end: r.occurrence.end_utc,
                source: &self.series[r.series].source,
                categories: &self.events[r.event].event.categories,
            }))
        })
    }

    /// The search text of every event, normalised once per snapshot.
    fn search_index(&self) -> &[search::Haystack] {
        self.search.get_or_init(|| {
            self.events
                .iter()
                .zip(&self.places)
                .map(|(e, p)| {
                    let ev = &e.event;
                    let venue = p.venue.map(|v| self.geo.venues.venues[v].name.as_str());
                    search::Haystack::new(
                        [
                            Some(ev.title.as_str()),
                            ev.description.as_deref(),
                            ev.location.as_deref(),
                            venue,
                        ]
                        .into_iter()
                        .flatten(),
                    )
                })
                .collect()
        })
    }

    /// Whether a place passes the geographic parts of a filter.
    fn place_matches(&self, p: &Place, f: &Filter) -> bool {
        if !f.venues.is_empty() {
            let Some(v) = p.venue else { return false };
            if !f
                .venues
                .iter()
                .any(|id| *id == self.geo.venues.venues[v].id)
            {
                return false;
            }
        }
        if !f.districts.is_empty() {
            let Some(d) = p.district else { return false };
            let name = &self.geo.districts.areas[d].name;
            if !f.districts.iter().any(|x| x.eq_ignore_ascii_case(name)) {
                return false;
            }
        }
        if let Some([min_lon, min_lat, max_lon, max_lat]) = f.bbox {
            let Some(g) = p.geo else { return false };
            if !(min_lon..=max_lon).contains(&g.lon) || !(min_lat..=max_lat).contains(&g.lat) {
                return false;
            }
        }
        if f.transit && self.stops_near(p, 1).is_empty() {
            return false;
        }
        if let Some((center, km)) = f.near {
            let Some(g) = p.geo else { return false };
            if crate::compare::distance_m(center, g) > km * 1000.0 {
                return false;
            }
        }
        true
    }

    /// Public-transport stops within the transit radius of a place, nearest first.
    pub fn stops_near(&self, p: &Place, max: usize) -> Vec<crate::transit::StopHit> {
        match (&self.transit, p.geo) {
            (Some(t), Some(g)) => t
                .gtfs
                .as_ref()
                .map(|gtfs| gtfs.nearest(g.lat, g.lon, t.radius_m, max))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Bike-sharing stations within the transit radius of a place, nearest first.
    pub fn bikes_near(&self, p: &Place, max: usize) -> Vec<crate::transit::StationHit> {
        match (&self.transit, p.geo) {
            (Some(t), Some(g)) => t
                .bikes
                .as_ref()
                .map(|b| b.nearest(g.lat, g.lon, t.radius_m, max))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The journey-planner link to a place for a start time.
    pub fn journey_url(
        &self,
        p: &Place,
        name: &str,
        start: DateTime<chrono_tz::Tz>,
    ) -> Option<String> {
        let t = self.transit.as_ref()?;
        let template = t.journey_url.as_deref()?;
        let g = p.geo?;
        Some(crate::transit::journey_link(
            template, g.lat, g.lon, name, start,
        ))
    }

    /// The published row with this public id.
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.id_lookup().by_id.get(id).map(|&i| &self.rows[i])
    }

    /// For the id of an occurrence that is now published under another id (merged into another
    /// source's event): the row that publishes it.
    pub fn alias(&self, id: &str) -> Option<&Row> {
        self.id_lookup().aliases.get(id).map(|&i| &self.rows[i])
    }

    /// The members of a published row: the row itself, then those merged into it.
    pub fn members<'a>(&'a self, row: &'a Row) -> impl Iterator<Item = &'a Row> + 'a {
        std::iter::once(row).chain(row.merged.iter().map(|&i| &self.rows[i]))
    }

    /// How many of each source's occurrences were merged into another source's event.
    pub fn merged_away(&self) -> HashMap<&str, usize> {
        let mut out = HashMap::new();
        for r in &self.rows {
            if r.merged_into.is_some() {
                *out.entry(self.series[r.series].source.as_str())
                    .or_default() += 1;
            }
        }
        out
    }

    /// Records this freshly built snapshot (metrics `regiocal_snapshot_build_seconds`,
    /// `regiocal_snapshot_events`, and each source's events, failures in a row and health).
    pub fn record_metrics(&self, took: std::time::Duration) {
        use crate::model::Health;
        use metrics::{gauge, histogram};
        const HEALTH_STATES: [(Health, &str); 5] = [
            (Health::Pending, "pending"),
            (Health::Ok, "ok"),
            (Health::Degraded, "degraded"),
            (Health::Failing, "failing"),
            (Health::Suspect, "suspect"),
        ];
        histogram!("regiocal_snapshot_build_seconds").record(took.as_secs_f64());
        gauge!("regiocal_snapshot_events").set(self.rows.len() as f64);
        for s in &self.sources {
            let id = s.id.clone();
            gauge!("regiocal_source_events", "source" => id.clone())
                .set(f64::from(s.state.event_count));
            gauge!("regiocal_source_error_count", "source" => id.clone())
                .set(f64::from(s.state.error_count));
            let health = s.state.health();
            for (state, name) in HEALTH_STATES {
                let v = if state == health { 1.0 } else { 0.0 };
                gauge!("regiocal_source_health", "source" => id.clone(), "state" => name).set(v);
            }
        }
    }

    /// The configured source with this id.
    pub fn source(&self, id: &str) -> Option<&SourceInfo> {
        self.source_ix.get(id).map(|&i| &self.sources[i])
    }
}

/// Whether admission is free: what the source says, else whether it lists offers that all
/// cost nothing; `None` when unknown.
pub fn free_admission(ev: &Event) -> Option<bool> {
    ev.free
        .or_else(|| (!ev.offers.is_empty()).then(|| ev.offers.iter().all(|o| o.price == Some(0.0))))
}

/// The rows of every series in the window, in series order, and how many series hit the
/// expansion cap (`limits`: the calendar's zone and the cap per series). Expanded on
/// `threads` threads, each taking a contiguous run of the series; the runs' rows are then
/// moved into one vector of the exact size, so the result holds no spare capacity.
fn expand_all(
    events: &[StoredEvent],
    series: &[Series],
    window: &Window,
    limits: (Tz, usize),
    threads: usize,
) -> (Vec<Row>, usize) {
    let per_thread = series.len().div_ceil(threads).max(1);
    let parts: Vec<(Vec<Row>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..series.len())
            .step_by(per_thread)
            .map(|first| {
                let end = (first + per_thread).min(series.len());
                scope.spawn(move || expand_range(events, series, first..end, window, limits))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut rows = Vec::with_capacity(parts.iter().map(|(r, _)| r.len()).sum());
    let mut truncated = 0;
    for (part, capped) in parts {
        rows.extend(part);
        truncated += capped;
    }
    (rows, truncated)
}

/// The rows of the series in `range` (see [`expand_all`]).
fn expand_range(
    events: &[StoredEvent],
    series: &[Series],
    range: std::ops::Range<usize>,
    window: &Window,
    (tz, cap): (Tz, usize),
) -> (Vec<Row>, usize) {
    // Most series are single events with one row in the window.
    let mut rows = Vec::with_capacity(range.len());
    let mut truncated = 0;
    for si in range {
        let s = &series[si];
        let master = &events[s.master].event;
        let overrides: Vec<&Event> = s.overrides.iter().map(|&i| &events[i].event).collect();
        let exp = recurrence::expand(master, &overrides, window, tz, cap);
        if exp.truncated {
            truncated += 1;
            tracing::warn!(source = %s.source, uid = %master.uid, "Recurrence expansion capped.");
        }
        for (occ, from) in exp.occurrences {
            let event = from.map(|i| s.overrides[i]).unwrap_or(s.master);
            // A single event keeps its id when it moves; an instance of a series is
            // identified by its original start.
            let id = if master.is_recurring() {
                occurrence_id(&s.source, &master.uid, &occ.instance)
            } else {
                single_id(&s.source, &master.uid, master.recurrence_id.as_ref())
            };
            rows.push(Row {
                own_id: id.clone(),
                id,
                series: si,
                event,
                occurrence: occ,
                merged: Vec::new(),
                merged_into: None,
                hidden: false,
                provenance: Vec::new(),
            });
        }
    }
    (rows, truncated)
}

/// The place of every event; events with the same location, address and coordinates share
/// one lookup.
fn resolve_places(layers: &crate::geo::Layers, events: &[StoredEvent]) -> Vec<Place> {
    if layers.venues.venues.is_empty()
        && layers.districts.areas.is_empty()
        && layers.region.areas.is_empty()
    {
        return events
            .iter()
            .map(|e| Place {
                geo: e.event.geo,
                ..Place::default()
            })
            .collect();
    }
    type Key<'a> = (Option<&'a str>, Option<&'a str>, Option<(u64, u64)>);
    let mut cache: HashMap<Key<'_>, Place> = HashMap::new();
    events
        .iter()
        .map(|e| {
            let ev = &e.event;
            let key = (
                ev.location.as_deref(),
                ev.address.as_ref().and_then(|a| a.street.as_deref()),
                ev.geo.map(|g| (g.lat.to_bits(), g.lon.to_bits())),
            );
            *cache.entry(key).or_insert_with(|| {
                layers.place(ev.location.as_deref(), ev.address.as_deref(), ev.geo)
            })
        })
        .collect()
}

/// Groups components into series: per source and UID, the master (no RECURRENCE-ID) and its
/// overrides. An override without a master stands alone.
pub fn group_series(events: &[StoredEvent]) -> Vec<Series> {
    // (source, uid) -> (master, overrides)
    type Members = (Option<usize>, Vec<usize>);
    fn key(e: &StoredEvent) -> (&str, &str) {
        (e.source.as_str(), e.event.uid.as_str())
    }
    let add = |g: &mut Members, i: usize, e: &StoredEvent| {
        if e.event.recurrence_id.is_none() && g.0.is_none() {
            g.0 = Some(i);
        } else {
            g.1.push(i);
        }
    };
    let same = |a: &StoredEvent, b: &StoredEvent| key(a) == key(b);
    // The store hands events over ordered by source and UID: then a series is a run of
    // neighbours and needs no map. Any other order goes through the map (same series).
    let sorted = events.windows(2).all(|w| key(&w[0]) <= key(&w[1]));
    let mut out = Vec::with_capacity(if sorted {
        events.chunk_by(same).count()
    } else {
        0
    });
    let mut emit = |(source, uid): (&str, &str), (master, overrides): Members| match master {
        Some(m) => out.push(Series {
            source: source.into(),
            master: m,
            overrides,
            public_uid: public_uid(source, uid),
            hidden_instances: Vec::new(),
        }),
        None => {
            for o in overrides {
                let rid = events[o]
                    .event
                    .recurrence_id
                    .map(|r| recurrence_key(&r))
                    .unwrap_or_default();
                out.push(Series {
                    source: source.into(),
                    master: o,
                    overrides: vec![],
                    public_uid: public_uid(source, &format!("{uid}\n{rid}")),
                    hidden_instances: Vec::new(),
                });
            }
        }
    };
    if sorted {
        let mut at = 0;
        for run in events.chunk_by(same) {
            let mut g = Members::default();
            for (k, e) in run.iter().enumerate() {
                add(&mut g, at + k, e);
            }
            emit(key(&run[0]), g);
            at += run.len();
        }
    } else {
        let mut map: BTreeMap<(&str, &str), Members> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            add(map.entry(key(e)).or_default(), i, e);
        }
        for (k, g) in map {
            emit(k, g);
        }
    }
    out
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// The published UID of a series.
pub fn public_uid(source: &str, uid: &str) -> String {
    format!("{source}-{}@regiocal", short_hash(&[source, uid]))
}

/// The public id of a single event (or of an override standing alone): its source and UID.
pub fn single_id(source: &str, uid: &str, recurrence_id: Option<&EventTime>) -> String {
    match recurrence_id {
        Some(r) => short_hash(&[source, uid, &recurrence_key(r)]),
        None => short_hash(&[source, uid]),
    }
}

/// The public id of an instance of a series.
pub fn occurrence_id(source: &str, uid: &str, instance: &EventTime) -> String {
    short_hash(&[source, uid, &recurrence_key(instance)])
}

/// Strong ETag (quoted) for a body.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored event; a master (no `rid`) repeats daily.
    fn stored(source: &str, uid: &str, rid: Option<&str>) -> StoredEvent {
        let mut e = crate::model::stored_for_test(source, uid, rid);
        if rid.is_none() {
            e.event.rrule = Some("FREQ=DAILY;COUNT=5".into());
        }
        e
    }

    /// Each series as (source, master UID and RECURRENCE-ID, overrides' RECURRENCE-IDs in
    /// order, published UID), independent of where its events sit in the slice. (Overrides
    /// keep the order they are given in.)
    fn described(events: &[StoredEvent]) -> Vec<(String, String, Vec<String>, String)> {
        let rid = |i: usize| {
            let e = &events[i].event;
            format!(
                "{}/{:?}",
                e.uid,
                e.recurrence_id.as_ref().map(recurrence_key)
            )
        };
        group_series(events)
            .into_iter()
            .map(|s| {
                (
                    s.source,
                    rid(s.master),
                    {
                        let mut o: Vec<String> = s.overrides.iter().map(|&i| rid(i)).collect();
                        o.sort();
                        o
                    },
                    s.public_uid,
                )
            })
            .collect()
    }

    #[test]
    fn expanding_on_several_threads_gives_the_rows_of_one() {
        let mut events = Vec::new();
        for source in ["a", "b", "c"] {
            for uid in ["Konzert", "Lesung", "Markt"] {
                events.push(stored(source, uid, None));
            }
            events.push(stored(source, "Konzert", Some("2026-12-03")));
            events.push(stored(source, "Vortrag", Some("2026-12-04")));
        }
        // One series every day longer than the cap.
        events[0].event.rrule = Some("FREQ=DAILY;COUNT=30".into());
        let series = group_series(&events);
        let tz = chrono_tz::Europe::Berlin;
        let now = "2026-11-15T00:00:00Z".parse().unwrap();
        let window = Window::around(now, tz, 30, 90);
        let key = |rows: &[Row]| -> Vec<(String, String, usize, usize, DateTime<Utc>)> {
            rows.iter()
                .map(|r| {
                    let (id, own) = (r.id.clone(), r.own_id.clone());
                    (id, own, r.series, r.event, r.occurrence.start_utc)
                })
                .collect()
        };
        let (one, capped) = expand_all(&events, &series, &window, (tz, 20), 1);
        assert_eq!(capped, 1);
        // a's "Konzert" capped at 20, the eight other series five days each (an override
        // moves one instance, it adds none), and the three "Vortrag" overrides without a
        // master, one row each.
        assert_eq!(one.len(), 20 + 8 * 5 + 3);
        for threads in [2, 3, 7, 40] {
            let (rows, n) = expand_all(&events, &series, &window, (tz, 20), threads);
            assert_eq!(n, capped, "{threads} threads");
            assert_eq!(key(&rows), key(&one), "{threads} threads");
            assert_eq!(rows.capacity(), rows.len());
        }
    }

    #[test]
    fn published_ids_are_stable() {
        // Subscribers' calendars know events by these: they must never change. The first
        // 8 bytes of SHA-256 over the NUL-terminated parts, in lower-case hex.
        let uid = "konzert-2026@example.org";
        assert_eq!(
            public_uid("stadttheater", uid),
            "stadttheater-8f17e82d920773e2@regiocal"
        );
        assert_eq!(single_id("stadttheater", uid, None), "8f17e82d920773e2");
        let instance = EventTime::Utc {
            utc: "2026-12-03T19:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            occurrence_id("stadttheater", uid, &instance),
            "1dc0ec2f2a0c8ce7"
        );
    }

    #[test]
    fn series_are_the_same_from_store_order_and_any_other() {
        // In store order (source, UID, RECURRENCE-ID): masters sort before their overrides.
        let sorted = vec![
            stored("a", "Konzert", None),
            stored("a", "Konzert", Some("2026-12-02")),
            stored("a", "Konzert", Some("2026-12-03")),
            stored("a", "Lesung", Some("2026-12-04")),
            stored("b", "Konzert", None),
            stored("b", "Markt", None),
        ];
        let expected = described(&sorted);
        assert_eq!(
            expected,
            vec![
                (
                    "a".to_string(),
                    "Konzert/None".to_string(),
                    vec![
                        "Konzert/Some(\"20261202\")".to_string(),
                        "Konzert/Some(\"20261203\")".to_string()
                    ],
                    public_uid("a", "Konzert"),
                ),
                (
                    "a".to_string(),
                    "Lesung/Some(\"20261204\")".to_string(),
                    vec![],
                    public_uid("a", "Lesung\n20261204"),
                ),
                (
                    "b".to_string(),
                    "Konzert/None".to_string(),
                    vec![],
                    public_uid("b", "Konzert")
                ),
                (
                    "b".to_string(),
                    "Markt/None".to_string(),
                    vec![],
                    public_uid("b", "Markt")
                ),
            ]
        );
        // Shuffled (an override before its master, sources interleaved): the same series.
        let order = [2, 4, 0, 5, 3, 1];
        let shuffled: Vec<StoredEvent> = order.iter().map(|&i| sorted[i].clone()).collect();
        assert_eq!(described(&shuffled), expected);
    }
}

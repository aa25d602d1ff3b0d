//! One ingest of one source: fetch -> detect + parse -> normalize -> guard -> store.
//!
//! A failed fetch or an unreadable body changes nothing but the source's state (error count,
//! last error, next run); so does a store write that fails (disk full), which rolls back. A successful one replaces the source's events in one transaction,
//! except that:
//!
//! * **Shrink guard.** If the new feed has fewer future occurrences than the stored one by more
//!   than `fetch.shrink_threshold_percent` (default 20 %) and the stored one had at least
//!   [`SHRINK_MIN_FUTURE`] future occurrences, the fetch is held back and the source is marked
//!   `suspect`. Only when `fetch.shrink_confirmations` fetches in a row (default 3) bring the
//!   same shrunk content (the same hash) is it applied; a different shrunk body starts the
//!   count again. An empty feed is the extreme case of this.
//! * **Past events are kept.** Stored events that ended before now and are missing from the new
//!   feed stay (feeds commonly drop what is over).

mod source;

pub use source::{DEFAULT_SCHEDULE, RawSource, SourceConfig};

use crate::calendar::CalendarConfig;
use crate::fetch::schedule::{self, Plan};
use crate::fetch::{Body, FetchConfig, Fetched, Fetcher, SourceLocation};
use crate::format::{self, Format, ParseContext};
use crate::geo::geocoder::{Cache, Geocoder};
use crate::model::{Event, SourceState, StoredEvent, recurrence_key};
use crate::normalize::category::Categories;
use crate::normalize::recurrence::{self, Window};
use crate::normalize::{self, NormalizeOptions};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Instant;

/// What an ingest reads of the configuration; the app lends it from the config.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pub calendar: &'a CalendarConfig,
    /// `[fetch]`: the shrink guard and the bounds of the schedule.
    pub fetch: &'a FetchConfig,
    pub categories: &'a Categories,
    /// The venue registry: an event at a known venue needs no geocoding.
    pub venues: &'a crate::geo::venues::Registry,
    /// The geocoder, when `[geocoder]` is configured.
    pub geocoder: Option<&'a Geocoder>,
}

/// The normalisation settings of one source.
pub fn normalize_options(categories: &Categories, source: &SourceConfig) -> NormalizeOptions {
    NormalizeOptions {
        categories: source.categories.clone(),
        vocabulary: categories.controlled.then(|| categories.vocabulary.clone()),
        category_map: source.category_map.clone(),
    }
}

/// A body an actor pushed: JSON in the read API's shape (one event or an array; with the id
/// from the URL for a PUT of one event), or a document in any input format (iCalendar,
/// JSON-LD, ...).
#[derive(Debug, Clone, Copy)]
pub enum Pushed<'a> {
    Json {
        bytes: &'a [u8],
        id: Option<&'a str>,
    },
    Document {
        bytes: &'a [u8],
        content_type: Option<&'a str>,
    },
}

/// The push door into the pipeline: a pushed body is parsed and normalised as a fetched body
/// is, with the source's settings, so a pushed event cannot come out differently. At most
/// [`format::push::MAX_EVENTS`] events, whatever the body type. Returns the events with the
/// warnings (skipped items, dropped URLs).
pub fn read_pushed(
    calendar: &CalendarConfig,
    categories: &Categories,
    source: &SourceConfig,
    body: Pushed<'_>,
) -> Result<(Vec<Event>, Vec<String>), format::FormatError> {
    let ctx = ParseContext::new(calendar.timezone);
    let parsed = match body {
        Pushed::Json { bytes, id } => {
            let (text, _) = format::decode_text(bytes);
            format::push::parse(&text, &ctx, id)?
        }
        Pushed::Document {
            bytes,
            content_type,
        } => format::parse(bytes, format::FormatChoice::Auto, content_type, &ctx)?.1,
    };
    if parsed.events.len() > format::push::MAX_EVENTS {
        return Err(format::FormatError::TooManyEvents {
            limit: format::push::MAX_EVENTS,
        });
    }
    let (events, mut more) =
        normalize::normalize(parsed.events, &normalize_options(categories, source));
    let mut warnings = parsed.warnings;
    warnings.append(&mut more);
    Ok((events, warnings))
}

/// What an [`Storage::replace`] changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyStats {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

impl ApplyStats {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.inserted + self.updated + self.deleted > 0
    }
}

/// What an ingest needs from where events are kept: a source's state and events, writing
/// them back, and (as a [`Cache`]) the geocoder's answers. The store implements it and the
/// app hands it in; the ingest knows no store.
pub trait Storage: Cache {
    /// The state of a source, if it was ever fetched.
    fn state(
        &self,
        source: &str,
    ) -> impl Future<Output = Result<Option<SourceState>, Self::Error>> + Send;

    /// Every stored event of a source.
    fn events(
        &self,
        source: &str,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, Self::Error>> + Send;

    /// Saves only the state of a source (schedule, errors).
    fn record_state(
        &self,
        state: &SourceState,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// In one transaction: replaces the source's events with `events` when given and saves
    /// `state`.
    fn replace(
        &self,
        state: &SourceState,
        events: Option<&[Event]>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ApplyStats, Self::Error>> + Send;
}

/// The shrink guard only protects sources with at least this many future occurrences.
pub const SHRINK_MIN_FUTURE: usize = 5;

/// How an ingest ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// New events were stored.
    Updated,
    /// Not modified (304, or the same body as last time).
    Unchanged,
    /// The feed lost too many events; held back until confirmed.
    HeldBack,
    /// Fetch or parse failed; nothing changed.
    Failed,
}

/// What happened to one source.
#[derive(Debug, Clone)]
pub struct Report {
    pub source: String,
    pub outcome: Outcome,
    /// Events (components) in the feed after normalisation.
    pub events: usize,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    pub stats: ApplyStats,
    /// The format the body was read as.
    pub format: Option<Format>,
    /// Pages read (paginated formats).
    pub pages: usize,
    /// Category terms the vocabulary does not know (dropped), with their event counts.
    pub unmapped_categories: Vec<(String, usize)>,
    /// Times read in the calendar's zone because their TZID named no zone.
    pub zone_fallbacks: usize,
    /// The body was cut off or damaged: the events read were stored, none was withdrawn.
    pub partial: bool,
}

/// Errors that stop an ingest from recording anything (the store is unreachable or full).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("source {source_id:?}: {error}")]
    Store {
        source_id: String,
        #[source]
        error: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Fetches, parses and normalises a source without touching the store (the feed doctor).
pub async fn check_source<'a>(
    cfg: impl Into<Settings<'a>>,
    fetcher: &Fetcher,
    source: &SourceConfig,
) -> Report {
    let cfg: Settings<'a> = cfg.into();
    let mut report = Report::new(&source.id);
    match fetcher.fetch(&source.location, None).await {
        Err(e) => report.fail(e.to_string()),
        Ok(Fetched::NotModified(_)) => report.outcome = Outcome::Unchanged,
        Ok(Fetched::Body(body)) => match read_feed(
            cfg,
            fetcher,
            source,
            content_hasher(cfg, source, &body.bytes),
            body,
        )
        .await
        {
            Ok(feed) => {
                report.outcome = Outcome::Updated;
                report.events = feed.events.len();
                report.warnings = feed.warnings;
                report.format = Some(feed.format);
                report.pages = feed.pages;
                report.unmapped_categories = feed.unmapped_categories;
                report.zone_fallbacks = feed.zone_fallbacks;
                report.partial = feed.partial;
            }
            Err(e) => report.fail(e),
        },
    }
    report
}

/// Warnings of one fetch written to the log one by one; the rest are counted.
const MAX_LOGGED_WARNINGS: usize = 50;

/// Most pages read from one paginated feed.
pub const MAX_PAGES: usize = 200;

/// A feed read in full: every page parsed and normalised.
#[derive(Debug)]
pub struct Feed {
    pub format: Format,
    pub events: Vec<Event>,
    pub warnings: Vec<String>,
    pub pages: usize,
    /// SHA-256 over the bodies of all pages.
    pub hash: String,
    /// Category terms the vocabulary does not know (dropped), with their event counts.
    pub unmapped_categories: Vec<(String, usize)>,
    /// See [`Report::zone_fallbacks`].
    pub zone_fallbacks: usize,
    /// See [`Report::partial`].
    pub partial: bool,
}

/// The content hash's state after the normalisation settings and a feed's first page: what
/// tells an unchanged feed from a changed one before anything is parsed.
fn content_hasher(cfg: Settings<'_>, source: &SourceConfig, first_page: &[u8]) -> Sha256 {
    Sha256::new()
        .chain_update(normalize_fingerprint(cfg, source).as_bytes())
        .chain_update(first_page)
}

/// Parses a first body and, for paginated formats, fetches and parses the following pages;
/// then normalises the events. `hasher` is [`content_hasher`] over the first body; the
/// following pages are added to it.
async fn read_feed(
    cfg: Settings<'_>,
    fetcher: &Fetcher,
    source: &SourceConfig,
    mut hasher: Sha256,
    first: Body,
) -> Result<Feed, String> {
    let mut url = match &source.location {
        SourceLocation::Http(u) => Some(u.clone()),
        SourceLocation::File(_) | SourceLocation::Push => None,
    };
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let (mut zone_fallbacks, mut partial) = (0, false);
    let mut body = first;
    let mut pages = 0;
    let format = loop {
        pages += 1;
        // Hashing and parsing are CPU work: they run in the background, so the server's
        // async workers keep answering requests while a large feed is read.
        let (tz, mapping, base, choice) = (
            cfg.calendar.timezone,
            source.mapping.clone(),
            url.clone(),
            source.format,
        );
        let (bytes, content_type) = (std::mem::take(&mut body.bytes), body.content_type.take());
        let stage = Instant::now();
        let (parsed, hashed) = crate::work::background(move || {
            if pages > 1 {
                hasher.update(&bytes);
            }
            let ctx = ParseContext {
                default_tz: tz,
                mapping: mapping.as_ref(),
                base_url: base.as_ref(),
                now: crate::clock::now(),
            };
            let parsed = format::parse(&bytes, choice, content_type.as_deref(), &ctx);
            (parsed, hasher)
        })
        .await;
        hasher = hashed;
        stage_took("parse", stage.elapsed());
        let (format, parsed) = parsed.map_err(|e| {
            if pages > 1 {
                format!("page {pages}: {e}")
            } else {
                e.to_string()
            }
        })?;
        events.extend(parsed.events);
        zone_fallbacks += parsed.zone_fallbacks;
        partial |= parsed.partial;
        warnings.extend(parsed.warnings.into_iter().map(|w| {
            if pages > 1 {
                format!("page {pages}: {w}")
            } else {
                w
            }
        }));
        let Some(next) = parsed.next_page else {
            break format;
        };
        let Some(base) = &url else {
            warnings.push("the feed names a next page, but a local file cannot be paged".into());
            break format;
        };
        if pages >= MAX_PAGES {
            warnings.push(format!("stopped after {MAX_PAGES} pages"));
            break format;
        }
        let next_url = base
            .join(&next)
            .map_err(|e| format!("page {pages}: invalid next link {next:?}: {e}"))?;
        if !matches!(next_url.scheme(), "http" | "https") {
            return Err(format!("page {pages}: next link {next_url} is not http(s)"));
        }
        body = fetcher
            .fetch_page(&next_url)
            .await
            .map_err(|e| format!("page {}: {e}", pages + 1))?;
        url = Some(next_url);
    };
    let opts = normalize_options(cfg.categories, source);
    let unmapped_categories = normalize::unmapped_categories(&events, &opts);
    let stage = Instant::now();
    let (events, mut more) =
        crate::work::background(move || normalize::normalize(events, &opts)).await;
    stage_took("normalize", stage.elapsed());
    warnings.append(&mut more);
    Ok(Feed {
        format,
        events,
        warnings,
        pages,
        hash: hex::encode(hasher.finalize()),
        unmapped_categories,
        zone_fallbacks,
        partial,
    })
}

impl Report {
    fn new(source: &str) -> Report {
        Report {
            source: source.to_string(),
            outcome: Outcome::Failed,
            events: 0,
            warnings: Vec::new(),
            error: None,
            stats: ApplyStats::default(),
            format: None,
            pages: 0,
            unmapped_categories: Vec::new(),
            zone_fallbacks: 0,
            partial: false,
        }
    }

    fn fail(&mut self, error: String) {
        self.outcome = Outcome::Failed;
        self.error = Some(error);
    }
}

/// Runs one ingest of `source` and records the result (and its metrics).
pub async fn ingest_source<'a, S: Storage>(
    cfg: impl Into<Settings<'a>>,
    store: &S,
    fetcher: &Fetcher,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> Result<Report, IngestError> {
    let cfg: Settings<'a> = cfg.into();
    let started = std::time::Instant::now();
    let result = ingest_once(cfg, store, fetcher, source, now)
        .await
        .map_err(|error| IngestError::Store {
            source_id: source.id.clone(),
            error: Box::new(error),
        });
    record_finished(&source.id, &result, started.elapsed());
    result
}

async fn ingest_once<S: Storage>(
    cfg: Settings<'_>,
    store: &S,
    fetcher: &Fetcher,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> Result<Report, S::Error> {
    let mut state = store
        .state(&source.id)
        .await?
        .unwrap_or_else(|| SourceState {
            id: source.id.clone(),
            ..Default::default()
        });
    state.last_fetch = Some(now);
    let plan = |plan: Plan| {
        schedule::next_fetch(
            &source.schedule,
            &source.id,
            now,
            cfg.calendar.timezone,
            limits(cfg),
            plan,
        )
    };
    let mut report = Report::new(&source.id);

    let stage = Instant::now();
    let fetched = fetcher.fetch(&source.location, Some(&state)).await;
    stage_took("fetch", stage.elapsed());
    let body = match fetched {
        Err(e) => {
            let retry_after = e.retry_after();
            return record_failure(store, state, report, e.to_string(), retry_after, plan).await;
        }
        Ok(Fetched::NotModified(hint)) => {
            record_success(&mut state, now);
            state.next_run = Some(plan(Plan::Success {
                fresh_for: hint.fresh_for,
            }));
            store.record_state(&state).await?;
            report.outcome = Outcome::Unchanged;
            report.events = state.event_count as usize;
            return Ok(report);
        }
        Ok(Fetched::Body(body)) => body,
    };
    state.next_run = Some(plan(Plan::Success {
        fresh_for: body.cache.fresh_for,
    }));
    let hasher = content_hasher(cfg, source, &body.bytes);
    let hash = hex::encode(hasher.clone().finalize());
    if state.content_hash.as_deref() == Some(hash.as_str()) && state.pending_shrink == 0 {
        record_success(&mut state, now);
        state.etag = body.etag;
        state.last_modified = body.last_modified;
        store.record_state(&state).await?;
        report.outcome = Outcome::Unchanged;
        report.events = state.event_count as usize;
        return Ok(report);
    }
    let (etag, last_modified) = (body.etag.clone(), body.last_modified.clone());
    let feed = match read_feed(cfg, fetcher, source, hasher, body).await {
        Ok(feed) => feed,
        Err(e) => return record_failure(store, state, report, e, None, plan).await,
    };
    if feed.pages > 1
        && state.content_hash.as_deref() == Some(feed.hash.as_str())
        && state.pending_shrink == 0
    {
        record_success(&mut state, now);
        store.record_state(&state).await?;
        report.outcome = Outcome::Unchanged;
        report.events = state.event_count as usize;
        report.format = Some(feed.format);
        report.pages = feed.pages;
        return Ok(report);
    }
    let Feed {
        events,
        warnings,
        format,
        pages,
        hash,
        unmapped_categories,
        zone_fallbacks,
        partial,
    } = feed;
    report.zone_fallbacks = zone_fallbacks;
    report.partial = partial;
    if !unmapped_categories.is_empty() {
        tracing::info!(source = %source.id, terms = ?unmapped_categories, "Category terms not in the vocabulary were dropped.");
    }
    report.unmapped_categories = unmapped_categories;
    report.format = Some(format);
    report.pages = pages;
    // A hostile feed can carry a warning per component: log the first ones and a count.
    for w in warnings.iter().take(MAX_LOGGED_WARNINGS) {
        tracing::warn!(source = %source.id, "{w}");
    }
    if warnings.len() > MAX_LOGGED_WARNINGS {
        tracing::warn!(
            source = %source.id,
            "... and {} more warnings (see `regiocal check`)",
            warnings.len() - MAX_LOGGED_WARNINGS
        );
    }
    report.events = events.len();
    report.warnings = warnings;

    let stored = store.events(&source.id).await?;
    let future = Window {
        start: now,
        end: Window::around(now, cfg.calendar.timezone, 0, cfg.calendar.future_days).end,
    };
    let cap = cfg.calendar.max_occurrences_per_series;
    // Expanding both versions and matching identities is CPU work: in the background, like
    // parsing. (Identities are adopted even if the shrink guard then holds the feed back.)
    let cal = cfg.calendar.clone();
    let threshold = cfg.fetch.shrink_threshold_percent as usize;
    // `Some((old, new))` when the feed shrinks past the guard. The new feed is only expanded
    // when the stored one is large enough for the guard to apply (not on a first fetch).
    let (stored, mut events, shrink) = crate::work::background(move || {
        let old_future = count_occurrences(
            stored
                .iter()
                .map(|s| &s.event)
                .filter(|e| e.withdrawn.is_none()),
            &future,
            &cal,
            cap,
        );
        let shrink = (old_future >= SHRINK_MIN_FUTURE)
            .then(|| {
                (
                    old_future,
                    count_occurrences(events.iter(), &future, &cal, cap),
                )
            })
            .filter(|&(old, new)| new * 100 < old * (100 - threshold.min(100)));
        let mut events = events;
        adopt_identities(&mut events, &stored);
        (stored, events, shrink)
    })
    .await;
    if let Some((old_future, new_future)) = shrink {
        // Only the same shrunk content confirms: while a shrink is pending, `content_hash`
        // holds the hash of the shrunk body held back (nothing else reads it then).
        if state.pending_shrink > 0 && state.content_hash.as_deref() == Some(hash.as_str()) {
            state.pending_shrink += 1;
        } else {
            state.pending_shrink = 1;
        }
        if state.pending_shrink < cfg.fetch.shrink_confirmations {
            let msg = format!(
                "feed dropped from {old_future} to {new_future} future occurrences; held back until {} fetches in a row confirm it ({} so far)",
                cfg.fetch.shrink_confirmations, state.pending_shrink
            );
            tracing::warn!(source = %source.id, "{msg}");
            record_success(&mut state, now);
            state.last_error = Some(msg.clone());
            state.etag = None;
            state.last_modified = None;
            state.content_hash = Some(hash);
            store.record_state(&state).await?;
            report.outcome = Outcome::HeldBack;
            report.error = Some(msg);
            return Ok(report);
        }
        tracing::warn!(source = %source.id, old_future, new_future, "Shrunk feed confirmed; applying it.");
    }
    state.pending_shrink = 0;
    geocode(cfg, store, fetcher, &mut events, now).await?;
    let cal = cfg.calendar.clone();
    let merged =
        crate::work::background(move || keep_past(events, &stored, &future, &cal, now, partial))
            .await;
    record_success(&mut state, now);
    state.etag = etag;
    state.last_modified = last_modified;
    state.content_hash = Some(hash);
    state.last_warnings = u32::try_from(report.warnings.len()).unwrap_or(u32::MAX);
    state.warning_texts = report
        .warnings
        .iter()
        .take(crate::model::MAX_WARNING_TEXTS)
        .cloned()
        .collect();
    let stage = Instant::now();
    let applied = store.replace(&state, Some(&merged), now).await;
    stage_took("store", stage.elapsed());
    match applied {
        Ok(stats) => report.stats = stats,
        Err(e) => {
            // The transaction rolled back (disk full, I/O error): the stored events are the old
            // ones. Record it as a failed fetch with backoff, if the state can still be written.
            let error = format!("cannot store {} events: {e}", merged.len());
            // Keep the old validators and content hash, so the next fetch tries again.
            let mut old = store
                .state(&source.id)
                .await?
                .unwrap_or_else(|| SourceState {
                    id: source.id.clone(),
                    ..Default::default()
                });
            old.last_fetch = Some(now);
            return record_failure(store, old, report, error, None, plan).await;
        }
    }
    report.outcome = Outcome::Updated;
    Ok(report)
}

/// Records one finished ingest of `source` (metrics `regiocal_fetch_total`,
/// `regiocal_fetch_duration_seconds`, and for a stored feed `regiocal_source_warnings` and
/// `regiocal_source_zone_fallbacks`).
fn record_finished(source: &str, result: &Result<Report, IngestError>, took: std::time::Duration) {
    use metrics::{counter, gauge, histogram};
    let outcome = match result {
        Ok(r) => match r.outcome {
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::HeldBack => "held_back",
            Outcome::Failed => "failed",
        },
        Err(_) => "store_error",
    };
    counter!("regiocal_fetch_total", "source" => source.to_string(), "outcome" => outcome)
        .increment(1);
    if let Ok(r) = result
        && r.outcome == Outcome::Updated
    {
        gauge!("regiocal_source_warnings", "source" => source.to_string())
            .set(r.warnings.len() as f64);
        gauge!("regiocal_source_zone_fallbacks", "source" => source.to_string())
            .set(r.zone_fallbacks as f64);
    }
    histogram!("regiocal_fetch_duration_seconds", "source" => source.to_string())
        .record(took.as_secs_f64());
}

/// Records the time one stage of an ingest took (`fetch`, `parse`, `normalize`, `store`).
fn stage_took(stage: &'static str, took: std::time::Duration) {
    metrics::histogram!("regiocal_ingest_stage_seconds", "stage" => stage)
        .record(took.as_secs_f64());
}

fn limits(cfg: Settings<'_>) -> schedule::Limits {
    schedule::Limits {
        min_interval: cfg.fetch.min_interval,
        max_interval: cfg.fetch.max_interval,
    }
}

fn record_success(state: &mut SourceState, now: DateTime<Utc>) {
    state.last_success = Some(now);
    state.error_count = 0;
    state.last_error = None;
}

async fn record_failure<S: Storage>(
    store: &S,
    mut state: SourceState,
    mut report: Report,
    error: String,
    retry_after: Option<std::time::Duration>,
    plan: impl Fn(Plan) -> DateTime<Utc>,
) -> Result<Report, S::Error> {
    state.error_count = state.error_count.saturating_add(1);
    state.last_error = Some(error.clone());
    let next = plan(Plan::Failure {
        errors: state.error_count,
        retry_after,
    });
    state.next_run = Some(next);
    tracing::warn!(source = %state.id, error = %error, errors = state.error_count, next_run = %next, "Fetch failed; stored events kept.");
    store.record_state(&state).await?;
    report.fail(error);
    Ok(report)
}

/// Occurrences of a set of components inside `window`.
fn count_occurrences<'a>(
    events: impl Iterator<Item = &'a Event>,
    window: &Window,
    cal: &CalendarConfig,
    cap: usize,
) -> usize {
    // Group by UID without copying: master (no RECURRENCE-ID) and overrides.
    let mut groups: std::collections::BTreeMap<&str, (Vec<&Event>, Vec<&Event>)> =
        Default::default();
    for e in events {
        let g = groups.entry(e.uid.as_str()).or_default();
        if e.recurrence_id.is_none() {
            g.0.push(e)
        } else {
            g.1.push(e)
        }
    }
    let tz = cal.timezone;
    groups
        .values()
        .map(|(masters, overrides)| match masters.first() {
            Some(master) => recurrence::expand(master, overrides, window, tz, cap)
                .occurrences
                .len(),
            // Overrides without a master count one occurrence each (as the snapshot shows them).
            None => overrides
                .iter()
                .map(|o| {
                    recurrence::expand(o, &[], window, tz, cap)
                        .occurrences
                        .len()
                })
                .sum(),
        })
        .sum()
}

/// Adds coordinates to events whose place is neither given nor a known venue, through the
/// geocoder (if configured): cached answers always, at most `max_per_fetch` new lookups.
async fn geocode<S: Storage>(
    cfg: Settings<'_>,
    store: &S,
    fetcher: &Fetcher,
    events: &mut [Event],
    now: DateTime<Utc>,
) -> Result<(), S::Error> {
    let Some(geocoder) = cfg.geocoder else {
        return Ok(());
    };
    let mut answers: HashMap<String, Option<crate::model::Geo>> = HashMap::new();
    let mut asked = 0;
    for ev in events.iter_mut() {
        if ev.geo.is_some()
            || cfg
                .venues
                .resolve(ev.location.as_deref(), ev.address.as_deref(), None)
                .is_some()
        {
            continue;
        }
        let Some(query) = crate::geo::geocoder::query_for(ev) else {
            continue;
        };
        if let Some(known) = answers.get(&query) {
            ev.geo = *known;
            continue;
        }
        if let Some(hit) = store.geocode_cached(&query).await? {
            ev.geo = hit;
            answers.insert(query, hit);
            continue;
        }
        if asked >= geocoder.max_per_fetch() {
            continue;
        }
        asked += 1;
        if let Some(answer) = geocoder.lookup(fetcher, store, &query, now).await? {
            ev.geo = answer;
            answers.insert(query, answer);
        }
    }
    Ok(())
}

/// Gives events of a source that regenerates its UIDs on every export their stored identity
/// back: a series whose UID is new, whose master has the same start and normalised title as a
/// stored series whose UID vanished, takes the stored UID (only when exactly one matches).
fn adopt_identities(events: &mut [Event], stored: &[StoredEvent]) {
    let new_uids: HashSet<&str> = events.iter().map(|e| e.uid.as_str()).collect();
    let old_uids: HashSet<&str> = stored.iter().map(|s| s.event.uid.as_str()).collect();
    let fallback = |e: &Event| {
        (
            recurrence_key(&e.start),
            crate::dedupe::TitleKey::new(&e.title).joined,
        )
    };
    // Stored series that vanished, by fallback key (None when the key is ambiguous).
    let mut vanished: HashMap<(String, String), Option<String>> = HashMap::new();
    for s in stored {
        let e = &s.event;
        if e.recurrence_id.is_none() && !new_uids.contains(e.uid.as_str()) {
            vanished
                .entry(fallback(e))
                .and_modify(|v| *v = None)
                .or_insert_with(|| Some(e.uid.clone()));
        }
    }
    if vanished.is_empty() {
        return;
    }
    let mut fresh: HashMap<(String, String), Vec<String>> = HashMap::new();
    for e in events.iter() {
        if e.recurrence_id.is_none() && !old_uids.contains(e.uid.as_str()) {
            fresh.entry(fallback(e)).or_default().push(e.uid.clone());
        }
    }
    let mut rename: HashMap<String, String> = HashMap::new();
    for (key, uids) in fresh {
        if let (Some(Some(old)), [new]) = (vanished.get(&key), uids.as_slice()) {
            rename.insert(new.clone(), old.clone());
        }
    }
    for e in events.iter_mut() {
        if let Some(old) = rename.get(&e.uid) {
            e.uid = old.clone();
        }
    }
}

/// The new events plus stored ones no longer in the feed: those that are over are kept as
/// they are (a refetch never deletes the past); upcoming ones are kept as cancelled for
/// `calendar.cancelled_days` after they vanished, so subscribed calendars remove them. From
/// a `partial` feed (cut off) nothing is withdrawn: what is missing is kept as it was.
fn keep_past(
    mut events: Vec<Event>,
    stored: &[StoredEvent],
    future: &Window,
    cal: &CalendarConfig,
    now: DateTime<Utc>,
    partial: bool,
) -> Vec<Event> {
    let present: HashSet<_> = events.iter().map(|e| e.uid.clone()).collect();
    let tz = cal.timezone;
    let cap = cal.max_occurrences_per_series;
    let keep_for = chrono::Duration::days(i64::from(cal.cancelled_days));
    for s in stored {
        let e = &s.event;
        if present.contains(&e.uid) {
            continue;
        }
        if let Some(gone) = e.withdrawn {
            if gone + keep_for > now {
                events.push(e.clone());
            }
            continue;
        }
        let over = e.start.to_utc(tz) < future.start
            && recurrence::expand(e, &[], future, tz, cap)
                .occurrences
                .is_empty();
        if over || partial {
            events.push(e.clone());
        } else if e.recurrence_id.is_none() && cal.cancelled_days > 0 {
            let mut ghost = e.clone();
            ghost.status = crate::model::Status::Cancelled;
            ghost.withdrawn = Some(now);
            events.push(ghost);
        }
    }
    events
}

/// What else than the body decides the stored events: the source's categories and term
/// mapping and the vocabulary. Part of the content hash, so a config change is applied at the
/// next fetch even when the feed itself did not change.
fn normalize_fingerprint(cfg: Settings<'_>, source: &SourceConfig) -> String {
    let mut map: Vec<_> = source.category_map.iter().collect();
    map.sort();
    format!(
        "{}|{:?}|{:?}|{}\n",
        cfg.categories.controlled,
        source.categories,
        map,
        cfg.categories.vocabulary.fingerprint()
    )
}

//! Configuration: the TOML file an operator writes, validated into [`Config`].
//!
//! The file is looked up as `--config PATH`, else `$REGIOCAL_CONFIG`, else
//! `config/regiocal.toml`. Relative paths inside it (the store, local file sources) are relative
//! to the directory of the config file. Unknown keys are errors, and every error names the key
//! (and the source, for `[[source]]` entries).

use crate::fetch::schedule::Schedule;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "REGIOCAL_CONFIG";
/// Environment variable overriding `[server] bind`.
pub const BIND_ENV: &str = "REGIOCAL_BIND";
/// Environment variable with a PostgreSQL URL that overrides `[store] url`.
pub const DATABASE_URL_ENV: &str = "REGIOCAL_DATABASE_URL";
/// The config file used when neither `--config` nor `REGIOCAL_CONFIG` is set.
pub const DEFAULT_CONFIG: &str = "config/regiocal.toml";

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("{path}: source \"{source_id}\": {key}: {message}")]
    Source {
        path: PathBuf,
        source_id: String,
        key: String,
        message: String,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub calendar: CalendarConfig,
    pub fetch: FetchConfig,
    pub sources: Vec<SourceConfig>,
    pub actors: Vec<ActorConfig>,
    pub dedupe: DedupeConfig,
    /// Venues, districts and the region boundary (`[geo]`, `[[venue]]`).
    pub geo: crate::geo::Layers,
    /// Public transport and bike sharing near venues (`[transit]`), loaded.
    pub transit: Option<std::sync::Arc<crate::transit::Transit>>,
    /// The `[transit]` settings as given (the GBFS URL is fetched when the app opens).
    pub transit_config: Option<crate::transit::TransitConfig>,
    /// Operator overrides (from `[dedupe] overrides`).
    pub overrides: crate::overrides::Overrides,
    /// The category vocabulary (built in, extended by `[[category]]`).
    pub vocabulary: std::sync::Arc<crate::normalize::category::Vocabulary>,
    /// Whether source categories are mapped to the vocabulary (`[categories] controlled`).
    pub categories_controlled: bool,
    /// The web UI (`[web]`): map tiles and the public base URL.
    pub web: crate::web::WebConfig,
}

/// Cross-source de-duplication (`[dedupe]`).
#[derive(Debug, Clone)]
pub struct DedupeConfig {
    pub enabled: bool,
    pub params: crate::dedupe::Params,
}

/// An actor that submits events through the push API.
#[derive(Debug, Clone)]
pub struct ActorConfig {
    pub id: String,
    pub name: String,
    /// The (push-only) sources this actor may write.
    pub sources: Vec<String>,
    /// SHA-256 of the actor's bearer token (never the token itself).
    pub token_sha256: [u8; 32],
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: default_bind(),
        }
    }
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// SQLite database file (created if missing); unused when `url` is set.
    pub path: PathBuf,
    /// How long a write waits for another writer's lock before giving up (SQLite).
    pub busy_timeout: std::time::Duration,
    /// A PostgreSQL URL (`postgres://...`): several instances share one database. `None` is the
    /// embedded SQLite file at `path`. `REGIOCAL_DATABASE_URL` overrides it.
    pub url: Option<String>,
    /// PostgreSQL schema to keep the tables in (created if missing; default `public`).
    pub schema: Option<String>,
    /// Connections in the pool (PostgreSQL).
    pub max_connections: u32,
    /// How long an instance holds a source while it fetches it; a lease of an instance that
    /// died expires after this, and another instance takes the source over.
    pub lease: std::time::Duration,
    /// How often an instance checks whether another instance changed the store.
    pub poll_interval: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct CalendarConfig {
    /// Calendar name (X-WR-CALNAME / NAME).
    pub name: String,
    /// Optional description (X-WR-CALDESC / DESCRIPTION).
    pub description: Option<String>,
    /// Zone for floating times, all-day dates and date filters.
    pub timezone: Tz,
    /// Days before today that the expansion window covers.
    pub past_days: u32,
    /// Days after today that the expansion window covers.
    pub future_days: u32,
    /// Suggested polling interval for subscribers (REFRESH-INTERVAL, X-PUBLISHED-TTL,
    /// Cache-Control).
    pub refresh_minutes: u32,
    /// Hard cap of occurrences expanded per series.
    pub max_occurrences_per_series: usize,
    /// Days an event that was cancelled, or vanished from its source, stays in the feeds as
    /// `STATUS:CANCELLED` (so subscribed calendars remove it instead of keeping a ghost).
    pub cancelled_days: u32,
}

#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Total time allowed for one fetch.
    pub timeout_secs: u64,
    /// Largest body accepted (after decompression).
    pub max_body_bytes: usize,
    /// How many sources are fetched at the same time.
    pub concurrency: usize,
    /// User-Agent header sent with every request.
    pub user_agent: String,
    /// A fetch that loses more than this share of a source's future occurrences is held back...
    pub shrink_threshold_percent: u32,
    /// ...until this many fetches in a row confirm it.
    pub shrink_confirmations: u32,
    /// Networks exempt from the refusal of non-public addresses (e.g. `127.0.0.0/8`).
    pub allow_networks: Vec<ipnet::IpNet>,
    /// Redirects followed at most.
    pub max_redirects: usize,
    /// Shortest time between two fetches of a source (caching hints and backoff are clamped to
    /// `[min_interval, max_interval]`).
    pub min_interval: std::time::Duration,
    /// Longest time between two fetches of a source.
    pub max_interval: std::time::Duration,
    /// Requests to one host at the same time at most.
    pub per_host_concurrency: usize,
    /// When set, local file sources must resolve (after following symlinks) inside one of these
    /// directories.
    pub file_roots: Vec<PathBuf>,
    /// Geocoding of unmatched addresses (`[geocoder]`; off when absent).
    pub geocoder: Option<crate::geo::geocoder::GeocoderConfig>,
}

/// One feed to pull.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    pub name: String,
    pub location: SourceLocation,
    pub format: FormatChoice,
    pub schedule: Schedule,
    pub categories: Vec<String>,
    pub license: Option<String>,
    pub attribution: Option<String>,
    pub mapping: Option<FieldMapping>,
    /// Whose fields win when events of several sources are merged (higher first; default 0).
    pub priority: i32,
    /// The source's own category terms -> vocabulary ids (`[source.category_map]`), keyed by
    /// normalised term.
    pub category_map: std::collections::HashMap<String, Vec<String>>,
}

/// Where a source's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    Http(url::Url),
    File(PathBuf),
    /// No feed: an actor submits the events through the push API.
    Push,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceLocation::Http(url) => {
                // Never show credentials.
                let mut shown = url.clone();
                let _ = shown.set_username("");
                let _ = shown.set_password(None);
                write!(f, "{shown}")
            }
            SourceLocation::File(path) => write!(f, "{}", path.display()),
            SourceLocation::Push => write!(f, "push"),
        }
    }
}

/// The `format` key of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatChoice {
    /// Detect from the Content-Type and the body.
    Auto,
    /// iCalendar (RFC 5545).
    Ics,
    /// xCal (RFC 6321).
    Xcal,
    /// jCal (RFC 7265).
    Jcal,
    /// RSS 2.0 (with the RSS event module or xCal elements).
    Rss,
    /// Atom 1.0.
    Atom,
    /// schema.org JSON-LD, as JSON or embedded in an HTML page.
    Jsonld,
    /// A JSON API described by `[source.mapping]`.
    Json,
    /// OParl 1.1 meetings.
    Oparl,
}

/// Where a source's fields are, for formats that need help: for `json`, JSONPath-like paths
/// (`items` selects the list, the others are relative to an item); for `rss`/`atom`, element
/// names (e.g. `start = "ev:startdate"` or `start = "dc:date"`) to read event dates from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    pub items: Option<String>,
    pub uid: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub all_day: Option<String>,
    pub location: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub locality: Option<String>,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub url: Option<String>,
    pub image: Option<String>,
    pub categories: Option<String>,
    pub status: Option<String>,
    pub price: Option<String>,
    /// chrono format string for `start`/`end` values that are not RFC 3339 / ISO 8601
    /// (e.g. `%d.%m.%Y %H:%M`); they are read in the calendar's zone.
    pub date_format: Option<String>,
}

// ---- raw (serde) shapes -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    store: RawStore,
    calendar: RawCalendar,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "actor")]
    actors: Vec<RawActor>,
    #[serde(default)]
    dedupe: RawDedupe,
    #[serde(default, rename = "venue")]
    venues: Vec<RawVenue>,
    #[serde(default)]
    geo: RawGeo,
    geocoder: Option<RawGeocoder>,
    transit: Option<RawTransit>,
    #[serde(default)]
    categories: RawCategories,
    #[serde(default, rename = "category")]
    category: Vec<RawCategory>,
    #[serde(default)]
    web: crate::web::WebConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransit {
    gtfs: Option<PathBuf>,
    gbfs: Option<String>,
    radius_m: Option<f64>,
    journey_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGeocoder {
    url: String,
    per_second: Option<u32>,
    max_per_fetch: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGeo {
    venues: Option<PathBuf>,
    districts: Option<PathBuf>,
    region: Option<PathBuf>,
    outside_region: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCategories {
    controlled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: String,
    #[serde(default)]
    de: String,
    #[serde(default)]
    en: String,
    #[serde(default)]
    terms: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDedupe {
    enabled: Option<bool>,
    time_tolerance: Option<String>,
    title_similarity: Option<f64>,
    venue_distance_m: Option<f64>,
    overrides: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVenue {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    street: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    accessibility: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActor {
    id: String,
    name: String,
    sources: Vec<String>,
    token_sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    #[serde(default = "default_store_path")]
    path: PathBuf,
    busy_timeout: Option<String>,
    url: Option<String>,
    schema: Option<String>,
    max_connections: Option<u32>,
    lease: Option<String>,
    poll_interval: Option<String>,
}

impl Default for RawStore {
    fn default() -> Self {
        Self {
            path: default_store_path(),
            busy_timeout: None,
            url: None,
            schema: None,
            max_connections: None,
            lease: None,
            poll_interval: None,
        }
    }
}

/// A PostgreSQL URL as `[store] url` takes it.
fn check_store_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    match parsed.scheme() {
        "postgres" | "postgresql" => Ok(()),
        other => Err(format!(
            "unsupported scheme {other:?} (use postgres://user:password@host/db, or leave url out for SQLite)"
        )),
    }
}

/// A schema name: letters, digits and `_`, not starting with a digit.
fn check_schema(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid schema name {name:?} (letters, digits and _, at most 63)"
        ))
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from("regiocal.sqlite")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    name: String,
    description: Option<String>,
    #[serde(default = "default_timezone")]
    timezone: String,
    #[serde(default = "default_past_days")]
    past_days: u32,
    #[serde(default = "default_future_days")]
    future_days: u32,
    #[serde(default = "default_refresh")]
    refresh_minutes: u32,
    #[serde(default = "default_max_occ")]
    max_occurrences_per_series: usize,
    #[serde(default = "default_cancelled_days")]
    cancelled_days: u32,
}

fn default_cancelled_days() -> u32 {
    7
}

fn default_timezone() -> String {
    "Europe/Berlin".into()
}
fn default_past_days() -> u32 {
    30
}
fn default_future_days() -> u32 {
    365
}
fn default_refresh() -> u32 {
    60
}
fn default_max_occ() -> usize {
    1000
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    timeout_secs: Option<u64>,
    max_body_bytes: Option<usize>,
    concurrency: Option<usize>,
    user_agent: Option<String>,
    shrink_threshold_percent: Option<u32>,
    shrink_confirmations: Option<u32>,
    #[serde(default)]
    allow_networks: Vec<String>,
    max_redirects: Option<usize>,
    min_interval: Option<String>,
    max_interval: Option<String>,
    per_host_concurrency: Option<usize>,
    #[serde(default)]
    file_roots: Vec<PathBuf>,
}

/// Parses a duration like `90`, `90s`, `15m`, `6h` or `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {t:?} (use e.g. 90s, 15m, 6h, 1d)"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(format!(
                "invalid duration {t:?} (use e.g. 90s, 15m, 6h, 1d)"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(secs))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: String,
    name: String,
    /// Absent for push-only sources.
    url: Option<String>,
    #[serde(default = "default_format")]
    format: FormatChoice,
    schedule: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    license: Option<String>,
    attribution: Option<String>,
    mapping: Option<FieldMapping>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    category_map: std::collections::HashMap<String, CategoryIds>,
}

/// One id or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum CategoryIds {
    One(String),
    Many(Vec<String>),
}

fn default_format() -> FormatChoice {
    FormatChoice::Auto
}

/// Default schedule of a source: hourly, at minute 0 (plus per-source jitter).
pub const DEFAULT_SCHEDULE: &str = "0 * * * *";

impl Config {
    /// Resolves the config path from the CLI flag, the environment, or the default.
    pub fn resolve_path(flag: Option<&Path>) -> PathBuf {
        flag.map(Path::to_path_buf)
            .or_else(|| std::env::var_os(CONFIG_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }

    /// Reads and validates a config file, then applies `REGIOCAL_BIND` (an address that
    /// overrides `[server] bind`, e.g. `0.0.0.0:8080` in a container).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text, path)?;
        if let Ok(url) = std::env::var(DATABASE_URL_ENV)
            && !url.trim().is_empty()
        {
            check_store_url(url.trim()).map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                key: format!("{DATABASE_URL_ENV} (environment)"),
                message,
            })?;
            config.store.url = Some(url.trim().to_string());
        }
        if let Ok(bind) = std::env::var(BIND_ENV) {
            config.server.bind = bind.trim().parse().map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                key: format!("{BIND_ENV} (environment)"),
                message: format!("invalid address {bind:?}: {e}"),
            })?;
        }
        Ok(config)
    }

    /// Validates config text; `path` is used for messages and to resolve relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.into(),
            message,
        };

        let timezone: Tz = raw.calendar.timezone.parse().map_err(|_| {
            invalid(
                "calendar.timezone",
                format!("unknown IANA time zone {:?}", raw.calendar.timezone),
            )
        })?;
        if raw.calendar.name.trim().is_empty() {
            return Err(invalid("calendar.name", "must not be empty".into()));
        }
        if raw.calendar.future_days == 0 || raw.calendar.future_days > 3660 {
            return Err(invalid(
                "calendar.future_days",
                "must be between 1 and 3660".into(),
            ));
        }
        if raw.calendar.past_days > 3660 {
            return Err(invalid("calendar.past_days", "must be at most 3660".into()));
        }
        if raw.calendar.refresh_minutes == 0 {
            return Err(invalid(
                "calendar.refresh_minutes",
                "must be at least 1".into(),
            ));
        }
        if !(1..=100_000).contains(&raw.calendar.max_occurrences_per_series) {
            return Err(invalid(
                "calendar.max_occurrences_per_series",
                "must be between 1 and 100000".into(),
            ));
        }

        let fetch = FetchConfig {
            timeout_secs: raw.fetch.timeout_secs.unwrap_or(30),
            max_body_bytes: raw.fetch.max_body_bytes.unwrap_or(15 * 1024 * 1024),
            concurrency: raw.fetch.concurrency.unwrap_or(4),
            user_agent: raw
                .fetch
                .user_agent
                .unwrap_or_else(|| format!("regiocal/{}", env!("CARGO_PKG_VERSION"))),
            shrink_threshold_percent: raw.fetch.shrink_threshold_percent.unwrap_or(20),
            shrink_confirmations: raw.fetch.shrink_confirmations.unwrap_or(3),
            allow_networks: raw
                .fetch
                .allow_networks
                .iter()
                .map(|n| {
                    n.trim()
                        .parse::<ipnet::IpNet>()
                        .or_else(|_| n.trim().parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            invalid(
                                "fetch.allow_networks",
                                format!("invalid network {n:?} (use CIDR, e.g. 127.0.0.0/8)"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
            max_redirects: raw.fetch.max_redirects.unwrap_or(5),
            min_interval: parse_duration(raw.fetch.min_interval.as_deref().unwrap_or("5m"))
                .map_err(|m| invalid("fetch.min_interval", m))?,
            max_interval: parse_duration(raw.fetch.max_interval.as_deref().unwrap_or("24h"))
                .map_err(|m| invalid("fetch.max_interval", m))?,
            per_host_concurrency: raw.fetch.per_host_concurrency.unwrap_or(2),
            file_roots: raw.fetch.file_roots.iter().map(|r| base.join(r)).collect(),
            geocoder: match &raw.geocoder {
                None => None,
                Some(g) => {
                    let url = url::Url::parse(g.url.trim())
                        .ok()
                        .filter(|u| {
                            matches!(u.scheme(), "http" | "https")
                                && u.username().is_empty()
                                && u.password().is_none()
                        })
                        .ok_or_else(|| {
                            invalid(
                                "geocoder.url",
                                format!("{:?} is not an http(s) URL without credentials", g.url),
                            )
                        })?;
                    let per_second = g.per_second.unwrap_or(1);
                    if !(1..=50).contains(&per_second) {
                        return Err(invalid("geocoder.per_second", "must be 1 to 50".into()));
                    }
                    Some(crate::geo::geocoder::GeocoderConfig {
                        url,
                        per_second,
                        max_per_fetch: g.max_per_fetch.unwrap_or(20),
                    })
                }
            },
        };
        if fetch.min_interval > fetch.max_interval {
            return Err(invalid(
                "fetch.min_interval",
                "must not exceed fetch.max_interval".into(),
            ));
        }
        if fetch.max_redirects > 20 {
            return Err(invalid("fetch.max_redirects", "must be at most 20".into()));
        }
        if fetch.per_host_concurrency == 0 {
            return Err(invalid(
                "fetch.per_host_concurrency",
                "must be at least 1".into(),
            ));
        }
        if fetch.timeout_secs == 0 {
            return Err(invalid("fetch.timeout_secs", "must be at least 1".into()));
        }
        if fetch.concurrency == 0 {
            return Err(invalid("fetch.concurrency", "must be at least 1".into()));
        }
        if fetch.max_body_bytes < 1024 {
            return Err(invalid(
                "fetch.max_body_bytes",
                "must be at least 1024".into(),
            ));
        }
        if fetch.shrink_threshold_percent > 100 {
            return Err(invalid(
                "fetch.shrink_threshold_percent",
                "must be 0 to 100".into(),
            ));
        }

        let mut vocabulary = crate::normalize::category::Vocabulary::default();
        for c in &raw.category {
            let key = format!("category \"{}\"", c.id);
            if c.id.is_empty()
                || !c
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(invalid(&key, "id must be a-z, 0-9 and '-'".into()));
            }
            if !vocabulary.has(&c.id) && (c.de.trim().is_empty() || c.en.trim().is_empty()) {
                return Err(invalid(
                    &key,
                    "a new category needs `de` and `en` labels".into(),
                ));
            }
            vocabulary.add(
                &c.id,
                c.de.trim(),
                c.en.trim(),
                c.terms.iter().map(String::as_str),
            );
        }

        let mut seen = HashSet::new();
        let mut sources = Vec::with_capacity(raw.sources.len());
        for s in raw.sources {
            let bad = |key: &str, message: String| ConfigError::Source {
                path: path.to_path_buf(),
                source_id: s.id.clone(),
                key: key.into(),
                message,
            };
            if s.id.is_empty()
                || s.id.len() > 64
                || !s
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                return Err(bad(
                    "id",
                    "must be 1-64 characters of a-z, 0-9, '-' and '_'".into(),
                ));
            }
            if !seen.insert(s.id.clone()) {
                return Err(bad("id", "is used by another source".into()));
            }
            if s.name.trim().is_empty() {
                return Err(bad("name", "must not be empty".into()));
            }
            let location = match &s.url {
                Some(url) => parse_location(url, &base).map_err(|m| bad("url", m))?,
                None => SourceLocation::Push,
            };
            let schedule_text = s.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE);
            let schedule =
                Schedule::parse(schedule_text).map_err(|e| bad("schedule", e.to_string()))?;
            if s.format == FormatChoice::Json
                && s.mapping
                    .as_ref()
                    .is_none_or(|m| m.items.is_none() || m.title.is_none() || m.start.is_none())
            {
                return Err(bad(
                    "mapping",
                    "format \"json\" needs [source.mapping] with at least items, title and start"
                        .into(),
                ));
            }
            let categories = s
                .categories
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            let mut category_map = std::collections::HashMap::new();
            for (term, ids) in &s.category_map {
                let ids = match ids {
                    CategoryIds::One(id) => vec![id.clone()],
                    CategoryIds::Many(ids) => ids.clone(),
                };
                if let Some(bad_id) = ids.iter().find(|id| !vocabulary.has(id)) {
                    return Err(bad(
                        &format!("category_map.{term:?}"),
                        format!("unknown category {bad_id:?} (not in the vocabulary)"),
                    ));
                }
                category_map.insert(term.clone(), ids);
            }
            let category_map = crate::normalize::category::source_map(&category_map);
            sources.push(SourceConfig {
                id: s.id,
                name: s.name,
                location,
                format: s.format,
                schedule,
                categories,
                license: s.license,
                attribution: s.attribution,
                mapping: s.mapping,
                priority: s.priority,
                category_map,
            });
        }

        let mut actors = Vec::with_capacity(raw.actors.len());
        let mut actor_ids = HashSet::new();
        for a in raw.actors {
            let bad = |key: &str, message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                key: format!("actor \"{}\": {key}", a.id),
                message,
            };
            if a.id.is_empty() || !actor_ids.insert(a.id.clone()) {
                return Err(bad("id", "must be set and unique".into()));
            }
            let digest = decode_sha256(&a.token_sha256).ok_or_else(|| {
                bad(
                    "token_sha256",
                    "must be 64 hex characters (run `regiocal token new --actor ID`)".into(),
                )
            })?;
            for sid in &a.sources {
                match sources.iter().find(|s: &&SourceConfig| &s.id == sid) {
                    None => return Err(bad("sources", format!("no source with id {sid:?}"))),
                    Some(s) if s.location != SourceLocation::Push => {
                        return Err(bad(
                            "sources",
                            format!(
                                "source {sid:?} has a url; actors can only own push-only sources (without url)"
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            actors.push(ActorConfig {
                id: a.id,
                name: a.name,
                sources: a.sources,
                token_sha256: digest,
            });
        }

        let dedupe = {
            let d = &raw.dedupe;
            let defaults = crate::dedupe::Params::default();
            let tolerance = match d.time_tolerance.as_deref() {
                Some(t) => parse_duration(t).map_err(|m| invalid("dedupe.time_tolerance", m))?,
                None => defaults.tolerance.to_std().unwrap_or_default(),
            };
            if tolerance > std::time::Duration::from_secs(6 * 3600) {
                return Err(invalid(
                    "dedupe.time_tolerance",
                    "must be at most 6h".into(),
                ));
            }
            let threshold = d.title_similarity.unwrap_or(defaults.threshold);
            if !(0.5..=1.0).contains(&threshold) {
                return Err(invalid(
                    "dedupe.title_similarity",
                    "must be between 0.5 and 1.0".into(),
                ));
            }
            let distance_m = d.venue_distance_m.unwrap_or(defaults.distance_m);
            if !(0.0..=5000.0).contains(&distance_m) {
                return Err(invalid(
                    "dedupe.venue_distance_m",
                    "must be between 0 and 5000".into(),
                ));
            }
            DedupeConfig {
                enabled: d.enabled.unwrap_or(true),
                params: crate::dedupe::Params {
                    tolerance: chrono::Duration::from_std(tolerance).unwrap_or_default(),
                    threshold,
                    distance_m,
                },
            }
        };
        let overrides = match &raw.dedupe.overrides {
            Some(p) => crate::overrides::Overrides::load(&base.join(p))
                .map_err(|e| invalid("dedupe.overrides", e.to_string()))?,
            None => crate::overrides::Overrides::default(),
        };
        for p in &overrides.prefer {
            if !sources.iter().any(|s| &s.id == p) {
                return Err(invalid(
                    "dedupe.overrides",
                    format!("[[prefer]] names unknown source {p:?}"),
                ));
            }
        }
        let mut venues = match &raw.geo.venues {
            Some(p) => crate::geo::venues::Registry::load_csv(&base.join(p))
                .map_err(|e| invalid("geo.venues", e.to_string()))?,
            None => Vec::new(),
        };
        for v in raw.venues {
            let key = format!("venue \"{}\"", v.id);
            if v.id.trim().is_empty() || venues.iter().any(|x| x.id == v.id) {
                return Err(invalid(&key, "id must be set and unique".into()));
            }
            if v.name.trim().is_empty() {
                return Err(invalid(&key, "name must not be empty".into()));
            }
            let geo = match (v.lat, v.lon) {
                (None, None) => None,
                (Some(lat), Some(lon)) => {
                    Some(crate::model::Geo::new(lat, lon).ok_or_else(|| {
                        invalid(&key, format!("coordinates {lat}, {lon} are out of range"))
                    })?)
                }
                _ => return Err(invalid(&key, "give both lat and lon, or neither".into())),
            };
            venues.push(crate::geo::venues::Venue {
                id: v.id,
                name: v.name,
                aliases: v.aliases,
                street: v.street,
                postcode: v.postcode,
                city: v.city,
                geo,
                accessibility: v.accessibility,
                url: v.url,
            });
        }
        let layer = |key: &str, path: &Option<PathBuf>, names: bool| match path {
            Some(p) => crate::geo::districts::Areas::load(&base.join(p), names)
                .map_err(|e| invalid(key, e.to_string())),
            None => Ok(crate::geo::districts::Areas::default()),
        };
        let geo = crate::geo::Layers {
            venues: crate::geo::venues::Registry::new(venues),
            districts: layer("geo.districts", &raw.geo.districts, true)?,
            region: layer("geo.region", &raw.geo.region, false)?,
            drop_outside: match raw.geo.outside_region.as_deref() {
                None | Some("keep") => false,
                Some("drop") => true,
                Some(other) => {
                    return Err(invalid(
                        "geo.outside_region",
                        format!("{other:?}: use \"keep\" or \"drop\""),
                    ));
                }
            },
        };

        let transit_config = raw.transit.as_ref().map(|t| crate::transit::TransitConfig {
            gtfs: t.gtfs.as_ref().map(|p| base.join(p)),
            gbfs: t
                .gbfs
                .as_deref()
                .map(|g| match crate::transit::GbfsLocation::parse(g) {
                    crate::transit::GbfsLocation::Path(p) => {
                        crate::transit::GbfsLocation::Path(base.join(p))
                    }
                    url => url,
                }),
            radius_m: t.radius_m.unwrap_or(crate::transit::DEFAULT_RADIUS_M),
            journey_url: t.journey_url.clone(),
        });
        let transit = match &transit_config {
            Some(tc) => Some(std::sync::Arc::new(
                tc.build().map_err(|e| invalid("transit", e.to_string()))?,
            )),
            None => None,
        };

        raw.web
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        Ok(Config {
            web: raw.web,
            transit,
            transit_config,
            vocabulary: std::sync::Arc::new(vocabulary),
            categories_controlled: raw.categories.controlled.unwrap_or(true),
            dedupe,
            geo,
            overrides,
            actors,
            path: path.to_path_buf(),
            server: raw.server,
            store: StoreConfig {
                path: base.join(raw.store.path),
                busy_timeout: match raw.store.busy_timeout.as_deref() {
                    Some(t) if t.trim().ends_with("ms") => t
                        .trim()
                        .trim_end_matches("ms")
                        .parse()
                        .map(std::time::Duration::from_millis)
                        .map_err(|_| {
                            invalid("store.busy_timeout", format!("invalid duration {t:?}"))
                        })?,
                    Some(t) => parse_duration(t).map_err(|m| invalid("store.busy_timeout", m))?,
                    None => std::time::Duration::from_secs(10),
                },
                url: match raw.store.url {
                    Some(u) => {
                        check_store_url(&u).map_err(|m| invalid("store.url", m))?;
                        Some(u)
                    }
                    None => None,
                },
                schema: match raw.store.schema {
                    Some(s) => {
                        check_schema(&s).map_err(|m| invalid("store.schema", m))?;
                        Some(s)
                    }
                    None => None,
                },
                max_connections: match raw.store.max_connections {
                    Some(0) => {
                        return Err(invalid(
                            "store.max_connections",
                            "must be at least 1".into(),
                        ));
                    }
                    Some(n) => n,
                    None => 8,
                },
                lease: match raw.store.lease.as_deref() {
                    Some(t) => match parse_duration(t).map_err(|m| invalid("store.lease", m))? {
                        d if d.is_zero() => {
                            return Err(invalid("store.lease", "must be longer than 0s".into()));
                        }
                        d => d,
                    },
                    None => std::time::Duration::from_secs(600),
                },
                poll_interval: match raw.store.poll_interval.as_deref() {
                    Some(t) => {
                        match parse_duration(t).map_err(|m| invalid("store.poll_interval", m))? {
                            d if d.is_zero() => {
                                return Err(invalid(
                                    "store.poll_interval",
                                    "must be longer than 0s".into(),
                                ));
                            }
                            d => d,
                        }
                    }
                    None => std::time::Duration::from_secs(2),
                },
            },
            calendar: CalendarConfig {
                name: raw.calendar.name,
                description: raw.calendar.description,
                timezone,
                past_days: raw.calendar.past_days,
                future_days: raw.calendar.future_days,
                refresh_minutes: raw.calendar.refresh_minutes,
                max_occurrences_per_series: raw.calendar.max_occurrences_per_series,
                cancelled_days: raw.calendar.cancelled_days,
            },
            fetch,
            sources,
        })
    }

    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.id == id)
    }
}

/// 32 bytes from 64 hex characters.
fn decode_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Parses a source `url`: an http(s) URL, or a local path (relative to the config directory).
fn parse_location(text: &str, base: &Path) -> Result<SourceLocation, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some((scheme, _)) = text.split_once("://") {
        let url = url::Url::parse(text).map_err(|e| format!("invalid URL: {e}"))?;
        return match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => {
                if !url.username().is_empty() || url.password().is_some() {
                    return Err("URLs with credentials are not allowed".into());
                }
                if url.host_str().is_none_or(str::is_empty) {
                    return Err("URL has no host".into());
                }
                Ok(SourceLocation::Http(url))
            }
            "file" => Err("use a plain path instead of a file:// URL".into()),
            other => Err(format!(
                "unsupported scheme {other:?} (use http, https or a local path)"
            )),
        };
    }
    Ok(SourceLocation::File(base.join(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/regiocal/regiocal.toml"))
    }

    const MINIMAL: &str = "[calendar]\nname = \"Test\"\n";

    #[test]
    fn defaults_and_relative_paths() {
        let cfg = parse(&format!(
            "{MINIMAL}[store]\npath = \"data/db.sqlite\"\n[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"feeds/a.ics\"\n"
        ))
        .unwrap();
        assert_eq!(cfg.calendar.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(
            cfg.store.path,
            PathBuf::from("/etc/regiocal/data/db.sqlite")
        );
        assert_eq!(
            cfg.sources[0].location,
            SourceLocation::File(PathBuf::from("/etc/regiocal/feeds/a.ics"))
        );
        assert_eq!(cfg.sources[0].format, FormatChoice::Auto);
        assert_eq!(cfg.server.bind.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = parse(&format!("{MINIMAL}colour = \"red\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
        let err = parse(&format!(
            "{MINIMAL}[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"a.ics\"\nshedule = \"x\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `shedule`"), "{err}");
    }

    #[test]
    fn bad_schedule_names_source_and_key() {
        let err = parse(&format!(
            "{MINIMAL}[[source]]\nid = \"theater-x\"\nname = \"X\"\nurl = \"a.ics\"\nschedule = \"every day\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("source \"theater-x\": schedule: "), "{err}");
    }

    #[test]
    /// RELIABILITY.md row 17: refused when the config is loaded (sources are only registered
    /// there), and the error never repeats the credentials.
    fn row17_odd_urls_are_refused_at_registration_without_showing_credentials() {
        for (url, needle) in [
            ("ftp://example.org/a.ics", "unsupported scheme"),
            ("gopher://example.org/", "unsupported scheme"),
            ("http://u:p@example.org/a.ics", "credentials"),
            (
                "https://kultur:geheim-4711@example.org/a.ics",
                "credentials",
            ),
            ("https://nur-name@example.org/a.ics", "credentials"),
            ("HTTPS://:geheim-4711@example.org/a.ics", "credentials"),
            ("file:///etc/passwd", "plain path"),
        ] {
            let err = parse(&format!(
                "{MINIMAL}[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"{url}\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("source \"a\": url: ") && err.contains(needle),
                "{url}: {err}"
            );
            for secret in ["geheim-4711", "u:p@", "nur-name"] {
                assert!(!err.contains(secret), "{url}: {err}");
            }
        }
        // Shown URLs (logs, /api/v1/sources) never carry credentials either.
        let shown = SourceLocation::Http("https://u:geheim@example.org/a.ics".parse().unwrap());
        assert_eq!(shown.to_string(), "https://example.org/a.ics");
    }

    #[test]
    fn duplicate_ids_and_bad_timezone() {
        let err = parse(&format!(
            "{MINIMAL}[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"a.ics\"\n[[source]]\nid = \"a\"\nname = \"B\"\nurl = \"b.ics\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("source \"a\": id: is used by another source"),
            "{err}"
        );
        let err = parse("[calendar]\nname = \"T\"\ntimezone = \"Europe/Musterstadt\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("calendar.timezone"), "{err}");
    }
}

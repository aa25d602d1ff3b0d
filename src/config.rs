//! Configuration: the TOML file an operator writes, validated into [`Config`].
//!
//! The file is looked up as `--config PATH`, else `$REGIOCAL_CONFIG`, else
//! `config/regiocal.toml`. Relative paths inside it (the store, local file sources) are relative
//! to the directory of the config file. Unknown keys are errors, and every error names the key
//! (and the source, for `[[source]]` entries).
//!
//! Each module owns the section it reads, with its validation ([`crate::settings`]): this
//! module only parses the file into those sections' shapes, builds them, checks what spans
//! sections (an actor's sources, the overrides' sources) and assembles the result. It sits on
//! top, beside [`crate::app`]: it imports the sections' types, and no module of the flow
//! imports it.

pub use crate::calendar::CalendarConfig;
pub use crate::dedupe::DedupeConfig;
pub use crate::fetch::{FetchConfig, SourceLocation};
pub use crate::format::{FieldMapping, FormatChoice};
pub use crate::ingest::{DEFAULT_SCHEDULE, SourceConfig};
pub use crate::server::ServerConfig;
pub use crate::server::push::ActorConfig;
pub use crate::settings::parse_duration;
pub use crate::store::StoreConfig;

use crate::settings::SettingError;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// The geocoder of `[geocoder]` (with its rate limiter), when set.
    pub geocoder: Option<Arc<crate::geo::geocoder::Geocoder>>,
    pub sources: Vec<SourceConfig>,
    pub actors: Vec<ActorConfig>,
    pub dedupe: DedupeConfig,
    /// Venues, districts and the region boundary (`[geo]`, `[[venue]]`).
    pub geo: Arc<crate::geo::Layers>,
    /// Public transport and bike sharing near venues (`[transit]`), loaded.
    pub transit: Option<Arc<crate::transit::Transit>>,
    /// The `[transit]` settings as given (the GBFS URL is fetched when the app opens).
    pub transit_config: Option<crate::transit::TransitConfig>,
    /// Operator overrides (from `[dedupe] overrides`).
    pub overrides: Arc<crate::overrides::Overrides>,
    /// The category vocabulary (built in, extended by `[[category]]`) and `[categories]`.
    pub categories: crate::normalize::category::Categories,
    /// The web UI (`[web]`): map tiles and the public base URL.
    pub web: crate::web::WebConfig,
}

/// The file as serde reads it: each section in the shape of the module that owns it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: crate::server::RawServer,
    #[serde(default)]
    store: crate::store::RawStore,
    calendar: crate::calendar::RawCalendar,
    #[serde(default)]
    fetch: crate::fetch::RawFetch,
    #[serde(default, rename = "source")]
    sources: Vec<crate::ingest::RawSource>,
    #[serde(default, rename = "actor")]
    actors: Vec<crate::server::push::RawActor>,
    #[serde(default)]
    dedupe: crate::dedupe::RawDedupe,
    #[serde(default, rename = "venue")]
    venues: Vec<crate::geo::RawVenue>,
    #[serde(default)]
    geo: crate::geo::RawGeo,
    geocoder: Option<crate::geo::geocoder::RawGeocoder>,
    transit: Option<crate::transit::RawTransit>,
    #[serde(default)]
    categories: crate::normalize::category::RawCategories,
    #[serde(default, rename = "category")]
    category: Vec<crate::normalize::category::RawCategory>,
    #[serde(default)]
    web: crate::web::WebConfig,
}

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
            crate::store::check_store_url(url.trim()).map_err(|message| ConfigError::Invalid {
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
        let invalid = |e: SettingError| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: e.key,
            message: e.message,
        };
        let calendar = raw.calendar.build().map_err(invalid)?;
        let fetch = raw.fetch.build(&base).map_err(invalid)?;
        let geocoder = raw
            .geocoder
            .map(|g| g.build())
            .transpose()
            .map_err(invalid)?
            .map(|g| Arc::new(crate::geo::geocoder::Geocoder::new(g)));
        let categories = raw.categories.build(&raw.category).map_err(invalid)?;

        let mut seen = HashSet::new();
        let mut sources = Vec::with_capacity(raw.sources.len());
        for s in raw.sources {
            let source_id = s.id.clone();
            let bad = |e: SettingError| ConfigError::Source {
                path: path.to_path_buf(),
                source_id: source_id.clone(),
                key: e.key,
                message: e.message,
            };
            let source = s.build(&base, &categories.vocabulary).map_err(bad)?;
            if !seen.insert(source.id.clone()) {
                return Err(bad(SettingError::new("id", "is used by another source")));
            }
            sources.push(source);
        }
        let actors =
            crate::server::push::RawActor::build_all(raw.actors, &sources).map_err(invalid)?;

        let dedupe = raw.dedupe.build().map_err(invalid)?;
        let overrides = match &dedupe.overrides {
            Some(p) => crate::overrides::Overrides::load(&base.join(p))
                .map_err(|e| invalid(SettingError::new("dedupe.overrides", e.to_string())))?,
            None => crate::overrides::Overrides::default(),
        };
        for p in &overrides.prefer {
            if !sources.iter().any(|s| &s.id == p) {
                return Err(invalid(SettingError::new(
                    "dedupe.overrides",
                    format!("[[prefer]] names unknown source {p:?}"),
                )));
            }
        }
        let geo = raw.geo.build(raw.venues, &base).map_err(invalid)?;
        let transit_config = raw.transit.as_ref().map(|t| t.settings(&base));
        let transit = match &transit_config {
            Some(tc) => {
                Some(Arc::new(tc.build().map_err(|e| {
                    invalid(SettingError::new("transit", e.to_string()))
                })?))
            }
            None => None,
        };
        raw.web
            .validate()
            .map_err(|(key, message)| invalid(SettingError::new(key, message)))?;
        Ok(Config {
            path: path.to_path_buf(),
            server: raw.server.build().map_err(invalid)?,
            store: raw.store.build(&base).map_err(invalid)?,
            calendar,
            fetch,
            geocoder,
            sources,
            actors,
            dedupe,
            geo: Arc::new(geo),
            transit,
            transit_config,
            overrides: Arc::new(overrides),
            categories,
            web: raw.web,
        })
    }

    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.id == id)
    }
}

/// What an ingest reads of the configuration.
impl<'a> From<&'a Config> for crate::ingest::Settings<'a> {
    fn from(c: &'a Config) -> Self {
        crate::ingest::Settings {
            calendar: &c.calendar,
            fetch: &c.fetch,
            categories: &c.categories,
            venues: &c.geo.venues,
            geocoder: c.geocoder.as_deref(),
        }
    }
}

impl<'a> From<&'a Arc<Config>> for crate::ingest::Settings<'a> {
    fn from(c: &'a Arc<Config>) -> Self {
        c.as_ref().into()
    }
}

impl<'a> From<&'a Arc<Config>> for crate::output::Settings<'a> {
    fn from(c: &'a Arc<Config>) -> Self {
        c.as_ref().into()
    }
}

/// What building a snapshot reads of the configuration.
impl<'a> From<&'a Config> for crate::output::Settings<'a> {
    fn from(c: &'a Config) -> Self {
        crate::output::Settings {
            calendar: &c.calendar,
            sources: &c.sources,
            dedupe: &c.dedupe,
            overrides: &c.overrides,
            geo: &c.geo,
            transit: c.transit.as_ref(),
            vocabulary: &c.categories.vocabulary,
        }
    }
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

//! The `[store]` section.

use crate::settings::{SettingError, duration_or, parse_duration};
use serde::Deserialize;
use std::path::{Path, PathBuf};

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

/// `[store]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
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

fn default_store_path() -> PathBuf {
    PathBuf::from("regiocal.sqlite")
}

/// A PostgreSQL URL as `[store] url` takes it.
pub fn check_store_url(url: &str) -> Result<(), String> {
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

/// A duration that must be longer than zero.
fn positive(
    key: &str,
    value: Option<&str>,
    default: u64,
) -> Result<std::time::Duration, SettingError> {
    match duration_or(key, value, std::time::Duration::from_secs(default))? {
        d if d.is_zero() => Err(SettingError::new(key, "must be longer than 0s")),
        d => Ok(d),
    }
}

impl RawStore {
    /// Validates `[store]`; a relative `path` is relative to `base`.
    pub fn build(self, base: &Path) -> Result<StoreConfig, SettingError> {
        Ok(StoreConfig {
            path: base.join(self.path),
            busy_timeout: match self.busy_timeout.as_deref() {
                Some(t) if t.trim().ends_with("ms") => t
                    .trim()
                    .trim_end_matches("ms")
                    .parse()
                    .map(std::time::Duration::from_millis)
                    .map_err(|_| {
                        SettingError::new("store.busy_timeout", format!("invalid duration {t:?}"))
                    })?,
                Some(t) => {
                    parse_duration(t).map_err(|m| SettingError::new("store.busy_timeout", m))?
                }
                None => std::time::Duration::from_secs(10),
            },
            url: match self.url {
                Some(u) => {
                    check_store_url(&u).map_err(|m| SettingError::new("store.url", m))?;
                    Some(u)
                }
                None => None,
            },
            schema: match self.schema {
                Some(s) => {
                    check_schema(&s).map_err(|m| SettingError::new("store.schema", m))?;
                    Some(s)
                }
                None => None,
            },
            max_connections: match self.max_connections {
                Some(0) => {
                    return Err(SettingError::new(
                        "store.max_connections",
                        "must be at least 1",
                    ));
                }
                Some(n) => n,
                None => 8,
            },
            lease: positive("store.lease", self.lease.as_deref(), 600)?,
            poll_interval: positive("store.poll_interval", self.poll_interval.as_deref(), 2)?,
        })
    }
}

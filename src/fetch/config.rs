//! The `[fetch]` section, and where a source's bytes come from (its `url`).

use crate::settings::{SettingError, duration_or};
use serde::Deserialize;
use std::path::{Path, PathBuf};

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
}

/// `[fetch]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFetch {
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

impl RawFetch {
    /// Validates `[fetch]`; relative `file_roots` are relative to `base`.
    pub fn build(self, base: &Path) -> Result<FetchConfig, SettingError> {
        let invalid = |key: &str, message: &str| SettingError::new(format!("fetch.{key}"), message);
        let fetch = FetchConfig {
            timeout_secs: self.timeout_secs.unwrap_or(30),
            max_body_bytes: self.max_body_bytes.unwrap_or(15 * 1024 * 1024),
            concurrency: self.concurrency.unwrap_or(4),
            user_agent: self
                .user_agent
                .unwrap_or_else(|| format!("regiocal/{}", env!("CARGO_PKG_VERSION"))),
            shrink_threshold_percent: self.shrink_threshold_percent.unwrap_or(20),
            shrink_confirmations: self.shrink_confirmations.unwrap_or(3),
            allow_networks: self
                .allow_networks
                .iter()
                .map(|n| {
                    n.trim()
                        .parse::<ipnet::IpNet>()
                        .or_else(|_| n.trim().parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            SettingError::new(
                                "fetch.allow_networks",
                                format!("invalid network {n:?} (use CIDR, e.g. 127.0.0.0/8)"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
            max_redirects: self.max_redirects.unwrap_or(5),
            min_interval: duration_or(
                "fetch.min_interval",
                self.min_interval.as_deref(),
                std::time::Duration::from_secs(300),
            )?,
            max_interval: duration_or(
                "fetch.max_interval",
                self.max_interval.as_deref(),
                std::time::Duration::from_secs(86_400),
            )?,
            per_host_concurrency: self.per_host_concurrency.unwrap_or(2),
            file_roots: self.file_roots.iter().map(|r| base.join(r)).collect(),
        };
        if fetch.min_interval > fetch.max_interval {
            return Err(invalid(
                "min_interval",
                "must not exceed fetch.max_interval",
            ));
        }
        if fetch.max_redirects > 20 {
            return Err(invalid("max_redirects", "must be at most 20"));
        }
        if fetch.per_host_concurrency == 0 {
            return Err(invalid("per_host_concurrency", "must be at least 1"));
        }
        if fetch.timeout_secs == 0 {
            return Err(invalid("timeout_secs", "must be at least 1"));
        }
        if fetch.concurrency == 0 {
            return Err(invalid("concurrency", "must be at least 1"));
        }
        if fetch.max_body_bytes < 1024 {
            return Err(invalid("max_body_bytes", "must be at least 1024"));
        }
        if fetch.shrink_threshold_percent > 100 {
            return Err(invalid("shrink_threshold_percent", "must be 0 to 100"));
        }
        Ok(fetch)
    }
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

impl SourceLocation {
    /// Parses a source `url`: an http(s) URL, or a local path (relative to `base`, the config
    /// directory).
    pub fn parse(text: &str, base: &Path) -> Result<SourceLocation, String> {
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
}

//! Getting a source's bytes: HTTP(S) with conditional GET, or a local file.
//!
//! Every outbound request goes through [`Fetcher`], the one choke point: rustls, no proxy, the
//! address [`guard`] (non-public addresses refused on the literal host, in the resolver, on every
//! redirect hop and for the connected peer), a total deadline per fetch (not only an idle
//! timeout), a cap on the decoded body size (counted after gzip/brotli/deflate), a redirect cap
//! (and no https-to-http downgrade), a per-host concurrency limit, and `If-None-Match` /
//! `If-Modified-Since` from the source's stored state. A `304` to a request that was not
//! conditional is an error, as is an empty body. `Cache-Control: max-age`, `Expires` and
//! `Retry-After` are returned as hints for the scheduler ([`CacheHint`]).

pub mod config;
pub mod guard;
pub mod schedule;

use crate::model::SourceState;
pub use config::{FetchConfig, RawFetch, SourceLocation};
use guard::{AddressPolicy, GuardedResolver, Lookup, SystemLookup};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request failed: {0}")]
    Request(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("HTTP status {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("timed out after {0} s")]
    Timeout(u64),
    #[error("body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("empty body")]
    Empty,
    #[error("304 Not Modified to a request that was not conditional")]
    BogusNotModified,
    #[error("cannot read file {path}: {reason}")]
    File { path: String, reason: String },
}

impl FetchError {
    /// How long the server asked us to wait (`Retry-After` on 429/503).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// What a fetch produced.
#[derive(Debug)]
pub enum Fetched {
    /// The server said the body did not change since the stored ETag/Last-Modified.
    NotModified(CacheHint),
    /// A new body.
    Body(Body),
}

/// How long the server says its answer stays fresh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheHint {
    pub fresh_for: Option<Duration>,
}

/// A fetched body with its caching headers.
#[derive(Debug, Default)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub cache: CacheHint,
}

/// The one HTTP client regiocal uses for outbound requests. Cheap to clone (every field is
/// shared): it is cloned for every source an ingest fetches.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
    timeout: Duration,
    max_body: usize,
    per_host: usize,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    file_roots: Arc<[std::path::PathBuf]>,
}

impl Fetcher {
    /// Builds the client from the `[fetch]` settings, resolving names with the system resolver.
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, FetchError> {
        Fetcher::with_lookup(cfg, Arc::new(SystemLookup))
    }

    /// Builds the client with a given name lookup (tests use a stub map).
    pub fn with_lookup(cfg: &FetchConfig, lookup: Arc<dyn Lookup>) -> Result<Fetcher, FetchError> {
        let policy = AddressPolicy::new(cfg.allow_networks.clone());
        let hop_policy = policy.clone();
        let max_redirects = cfg.max_redirects;
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .connect_timeout(Duration::from_secs(cfg.timeout_secs.min(10)))
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
                lookup,
            }))
            .redirect(reqwest::redirect::Policy::custom(
                move |attempt| match redirect_decision(
                    attempt.previous(),
                    attempt.url(),
                    max_redirects,
                    &hop_policy,
                ) {
                    Ok(()) => attempt.follow(),
                    Err(reason) => attempt.error(reason),
                },
            ))
            .no_proxy()
            .build()
            .map_err(|e| FetchError::Request(e.to_string()))?;
        Ok(Fetcher {
            client,
            policy: Arc::new(policy),
            timeout: Duration::from_secs(cfg.timeout_secs),
            max_body: cfg.max_body_bytes,
            per_host: cfg.per_host_concurrency,
            hosts: Arc::new(Mutex::new(HashMap::new())),
            file_roots: cfg.file_roots.as_slice().into(),
        })
    }

    /// Fetches a source's bytes, conditionally when `state` holds validators.
    pub async fn fetch(
        &self,
        location: &SourceLocation,
        state: Option<&SourceState>,
    ) -> Result<Fetched, FetchError> {
        match location {
            SourceLocation::File(path) => self.read_file(path).await,
            SourceLocation::Http(url) => self.guarded_get(url, state).await,
            SourceLocation::Push => Err(FetchError::Refused(
                "push-only source: events arrive through the push API".into(),
            )),
        }
    }

    /// Fetches one more page of a paginated feed (unconditional GET, same limits).
    pub async fn fetch_page(&self, url: &url::Url) -> Result<Body, FetchError> {
        match self.guarded_get(url, None).await? {
            Fetched::Body(body) => Ok(body),
            Fetched::NotModified(_) => Err(FetchError::BogusNotModified),
        }
    }

    /// Address check, per-host slot, total deadline, then the request.
    async fn guarded_get(
        &self,
        url: &url::Url,
        state: Option<&SourceState>,
    ) -> Result<Fetched, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Refused(format!(
                "scheme {:?} is not http(s)",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Never sent, and never shown: the message does not repeat the URL.
            return Err(FetchError::Refused(
                "URLs with credentials are not fetched".into(),
            ));
        }
        self.policy.check_url(url).map_err(FetchError::Refused)?;
        let slot = self.host_slot(url.host_str().unwrap_or_default());
        let secs = self.timeout.as_secs();
        tokio::time::timeout(self.timeout, async {
            let _permit = slot
                .acquire_owned()
                .await
                .map_err(|e| FetchError::Request(e.to_string()))?;
            self.get(url.clone(), state).await
        })
        .await
        .map_err(|_| FetchError::Timeout(secs))?
    }

    fn host_slot(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = match self.hosts.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        hosts
            .entry(host.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone()
    }

    async fn read_file(&self, path: &std::path::Path) -> Result<Fetched, FetchError> {
        let err = |reason: String| FetchError::File {
            path: path.display().to_string(),
            reason,
        };
        if !self.file_roots.is_empty() {
            // Resolve `..` and symlinks first, so neither can lead out of the roots.
            let real = tokio::fs::canonicalize(path)
                .await
                .map_err(|e| err(e.to_string()))?;
            let mut inside = false;
            for root in self.file_roots.iter() {
                if let Ok(root) = tokio::fs::canonicalize(root).await
                    && real.starts_with(&root)
                {
                    inside = true;
                }
            }
            if !inside {
                return Err(FetchError::Refused(format!(
                    "file {} is outside [fetch] file_roots",
                    real.display()
                )));
            }
        }
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| err(e.to_string()))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
        }
        if meta.len() > self.max_body as u64 {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| err(e.to_string()))?;
        if bytes.is_empty() {
            return Err(FetchError::Empty);
        }
        Ok(Fetched::Body(Body {
            bytes,
            ..Body::default()
        }))
    }

    async fn get(&self, url: url::Url, state: Option<&SourceState>) -> Result<Fetched, FetchError> {
        let mut req = self.client.get(url);
        let mut conditional = false;
        if let Some(state) = state {
            if let Some(etag) = &state.etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
                conditional = true;
            }
            if let Some(lm) = &state.last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
                conditional = true;
            }
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| FetchError::Request(describe(e)))?;
        if let Some(peer) = resp.remote_addr() {
            self.policy.check(peer.ip()).map_err(FetchError::Refused)?;
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let header = |name: reqwest::header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let cache = CacheHint {
            fresh_for: freshness(&headers),
        };
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return if conditional {
                Ok(Fetched::NotModified(cache))
            } else {
                Err(FetchError::BogusNotModified)
            };
        }
        if !status.is_success() {
            let retry_after =
                header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v));
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Request(describe(e)))?
        {
            if bytes.len() + chunk.len() > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(FetchError::Empty);
        }
        Ok(Fetched::Body(Body {
            bytes,
            content_type: header(reqwest::header::CONTENT_TYPE),
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
            cache,
        }))
    }
}

/// Whether to follow a redirect to `next` after the URLs in `previous` (the original request
/// first): at most `max_redirects` hops, never from https to http, only to http(s) URLs without
/// credentials, and only to
/// addresses the policy allows. `Err` says why not. The target is only followed for this
/// request; the source's configured URL never changes.
pub fn redirect_decision(
    previous: &[url::Url],
    next: &url::Url,
    max_redirects: usize,
    policy: &AddressPolicy,
) -> Result<(), String> {
    if previous.len() > max_redirects {
        return Err(format!("more than {max_redirects} redirects"));
    }
    if previous
        .last()
        .is_some_and(|prev| prev.scheme() == "https" && next.scheme() != "https")
    {
        return Err("redirect from https to http refused".into());
    }
    let scheme = next.scheme();
    if !matches!(scheme, "http" | "https") {
        return Err(format!("redirect to scheme {scheme:?} refused"));
    }
    if !next.username().is_empty() || next.password().is_some() {
        return Err("redirect to a URL with credentials refused".into());
    }
    policy
        .check_url(next)
        .map_err(|reason| format!("redirect refused: {reason}"))
}

/// Freshness from `Cache-Control: max-age` (or `s-maxage`), else `Expires` relative to `Date`.
fn freshness(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(cc) = headers
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    {
        for directive in cc.split(',') {
            let d = directive.trim().to_ascii_lowercase();
            if d == "no-cache" || d == "no-store" {
                return Some(Duration::ZERO);
            }
            if let Some(v) = d
                .strip_prefix("max-age=")
                .or_else(|| d.strip_prefix("s-maxage="))
            {
                return v.trim_matches('"').parse().ok().map(Duration::from_secs);
            }
        }
    }
    let date = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
    };
    let expires = date(reqwest::header::EXPIRES)?;
    let now = date(reqwest::header::DATE)
        .map(|d| d.to_utc())
        .unwrap_or_else(crate::clock::now);
    Some((expires.to_utc() - now).to_std().unwrap_or_default())
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some(
        (at.to_utc() - crate::clock::now())
            .to_std()
            .unwrap_or_default(),
    )
}

/// A reqwest error with its causes, without the URL (which may carry secrets in its query).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn urls(list: &[&str]) -> Vec<url::Url> {
        list.iter().map(|u| u.parse().unwrap()).collect()
    }

    /// RELIABILITY.md row 15: the redirect policy refuses an https-to-http downgrade (also
    /// later in a chain), non-http(s) targets, internal targets and chains over the cap.
    #[test]
    fn row15_redirect_policy_refuses_downgrade_scheme_change_and_long_chains() {
        let public = AddressPolicy::default();
        let next: url::Url = "http://feeds.example.org/cal.ics".parse().unwrap();
        let err = redirect_decision(&urls(&["https://example.org/cal.ics"]), &next, 5, &public)
            .unwrap_err();
        assert!(err.contains("https to http"), "{err}");
        let chain = urls(&["http://a.example/", "https://b.example/"]);
        assert!(redirect_decision(&chain, &next, 5, &public).is_err());
        // Upgrades and same-scheme hops are fine.
        let secure: url::Url = "https://feeds.example.org/cal.ics".parse().unwrap();
        assert!(redirect_decision(&urls(&["http://example.org/"]), &secure, 5, &public).is_ok());
        assert!(redirect_decision(&urls(&["https://example.org/"]), &secure, 5, &public).is_ok());
        for target in ["ftp://example.org/cal.ics", "file:///etc/passwd"] {
            let err = redirect_decision(
                &urls(&["http://example.org/"]),
                &target.parse().unwrap(),
                5,
                &public,
            )
            .unwrap_err();
            assert!(err.contains("scheme"), "{err}");
        }
        let err = redirect_decision(
            &urls(&["https://example.org/"]),
            &"https://169.254.169.254/latest".parse().unwrap(),
            5,
            &public,
        )
        .unwrap_err();
        assert!(err.contains("link-local"), "{err}");
        let six = urls(&["http://example.org/"; 6]);
        assert_eq!(
            redirect_decision(&six, &secure, 5, &public).unwrap_err(),
            "more than 5 redirects"
        );
        assert!(redirect_decision(&six[..5], &secure, 5, &public).is_ok());
    }

    /// RELIABILITY.md row 17: a redirect to a URL with credentials is not followed, and the
    /// reason does not repeat them.
    #[test]
    fn row17_redirects_to_urls_with_credentials_are_refused() {
        let public = AddressPolicy::default();
        for target in [
            "https://u:geheim@example.org/cal.ics",
            "https://nur-name@example.org/cal.ics",
            "https://:geheim@example.org/cal.ics",
        ] {
            let err = redirect_decision(
                &urls(&["https://example.org/"]),
                &target.parse().unwrap(),
                5,
                &public,
            )
            .unwrap_err();
            assert_eq!(err, "redirect to a URL with credentials refused");
        }
    }

    #[test]
    fn cache_hints() {
        let mut h = HeaderMap::new();
        h.insert(
            "cache-control",
            HeaderValue::from_static("public, max-age=3600"),
        );
        assert_eq!(freshness(&h), Some(Duration::from_secs(3600)));
        h.insert("cache-control", HeaderValue::from_static("no-cache"));
        assert_eq!(freshness(&h), Some(Duration::ZERO));
        let mut h = HeaderMap::new();
        h.insert(
            "date",
            HeaderValue::from_static("Tue, 24 Nov 2026 10:00:00 GMT"),
        );
        h.insert(
            "expires",
            HeaderValue::from_static("Tue, 24 Nov 2026 12:00:00 GMT"),
        );
        assert_eq!(freshness(&h), Some(Duration::from_secs(7200)));
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("99999999"),
            Some(Duration::from_secs(99_999_999))
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}

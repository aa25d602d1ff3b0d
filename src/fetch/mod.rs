//! Getting a source's bytes: HTTP(S) with conditional GET, or a local file.
//!
//! Every outbound request goes through [`Fetcher`]: rustls, a total deadline per fetch (not
//! only an idle timeout), a cap on the decoded body size (counted after gzip/brotli/deflate), a
//! redirect cap, and `If-None-Match` / `If-Modified-Since` from the source's stored state. A
//! `304` to a request that was not conditional is an error, as is an empty body.

pub mod schedule;

use crate::config::{FetchConfig, SourceConfig, SourceLocation};
use crate::model::SourceState;
use std::time::Duration;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request failed: {0}")]
    Request(String),
    #[error("HTTP status {status}")]
    Status {
        status: u16,
        retry_after: Option<String>,
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

/// What a fetch produced.
#[derive(Debug)]
pub enum Fetched {
    /// The server said the body did not change since the stored ETag/Last-Modified.
    NotModified,
    /// A new body.
    Body(Body),
}

/// A fetched body with its caching headers.
#[derive(Debug)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The one HTTP client regiocal uses for outbound requests.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body: usize,
}

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

impl Fetcher {
    /// Builds the client from the `[fetch]` settings.
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .connect_timeout(Duration::from_secs(cfg.timeout_secs.min(10)))
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
                } else if attempt.previous().last().is_some_and(|prev| {
                    prev.scheme() == "https" && attempt.url().scheme() != "https"
                }) {
                    attempt.error("redirect from https to http refused")
                } else {
                    attempt.follow()
                }
            }))
            .no_proxy()
            .build()
            .map_err(|e| FetchError::Request(e.to_string()))?;
        Ok(Fetcher {
            client,
            timeout: Duration::from_secs(cfg.timeout_secs),
            max_body: cfg.max_body_bytes,
        })
    }

    /// Fetches a source, conditionally when `state` holds validators.
    pub async fn fetch(
        &self,
        source: &SourceConfig,
        state: Option<&SourceState>,
    ) -> Result<Fetched, FetchError> {
        match &source.location {
            SourceLocation::File(path) => self.read_file(path).await,
            SourceLocation::Http(url) => {
                let secs = self.timeout.as_secs();
                tokio::time::timeout(self.timeout, self.get(url.clone(), state))
                    .await
                    .map_err(|_| FetchError::Timeout(secs))?
            }
        }
    }

    /// Fetches one more page of a paginated feed (unconditional GET, same limits).
    pub async fn fetch_page(&self, url: &url::Url) -> Result<Body, FetchError> {
        let secs = self.timeout.as_secs();
        match tokio::time::timeout(self.timeout, self.get(url.clone(), None))
            .await
            .map_err(|_| FetchError::Timeout(secs))??
        {
            Fetched::Body(body) => Ok(body),
            Fetched::NotModified => Err(FetchError::BogusNotModified),
        }
    }

    async fn read_file(&self, path: &std::path::Path) -> Result<Fetched, FetchError> {
        let err = |reason: String| FetchError::File {
            path: path.display().to_string(),
            reason,
        };
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
            content_type: None,
            etag: None,
            last_modified: None,
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
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return if conditional {
                Ok(Fetched::NotModified)
            } else {
                Err(FetchError::BogusNotModified)
            };
        }
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
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
            content_type,
            etag,
            last_modified,
        }))
    }
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

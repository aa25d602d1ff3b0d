//! Rendered responses kept per snapshot, so a feed is rendered once per change, not per request.
//!
//! Calendar apps poll the same few URLs (the merged feed, a handful of filtered ones) over and
//! over; between two ingests the answer cannot change. Each snapshot comes with its own
//! [`RenderCache`], swapped in together with it:
//!
//! * The unfiltered feeds (ICS, JSON-LD, Atom, the first JSON API page) are rendered, hashed and
//!   compressed (gzip and brotli) before the swap, in the background ([`render_ready`]). A
//!   request for one never renders or compresses anything, also right after an import.
//! * Other renderings (filtered feeds, pages) are made on first demand on the blocking pool,
//!   once however many requests ask at the same time, and kept (least recently used first out,
//!   [`CAPACITY`] entries) with their strong ETag; their compressed variants are made on first
//!   demand too.
//!
//! A conditional request (`If-None-Match`) for a kept body is answered without rendering.

use crate::output::etag;
use axum::http::{HeaderMap, header};
use lru::LruCache;
use std::collections::HashMap;
use std::io::Write;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};

/// Renderings kept per snapshot.
pub const CAPACITY: usize = 128;

/// Bodies smaller than this are sent uncompressed.
const MIN_COMPRESS: usize = 1024;

/// A content coding the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    /// The best coding `Accept-Encoding` allows: brotli, then gzip (a `q=0` refuses one).
    pub fn negotiate(headers: &HeaderMap) -> Coding {
        let Some(accept) = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
        else {
            return Coding::Identity;
        };
        let accepts = |name: &str| {
            accept.split(',').any(|part| {
                let mut it = part.split(';');
                let coding = it.next().unwrap_or("").trim();
                let refused = it.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                coding.eq_ignore_ascii_case(name) && !refused
            })
        };
        if accepts("br") {
            Coding::Brotli
        } else if accepts("gzip") {
            Coding::Gzip
        } else {
            Coding::Identity
        }
    }

    /// The `Content-Encoding` value.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }
}

/// One rendered body with its ETag and lazily compressed variants.
pub struct Rendered {
    pub body: bytes::Bytes,
    /// Strong ETag of the uncompressed body (quoted).
    pub etag: String,
    gzip: OnceLock<bytes::Bytes>,
    brotli: OnceLock<bytes::Bytes>,
}

impl Rendered {
    /// A rendering of `body`.
    pub fn new(body: String) -> Rendered {
        Rendered::from_bytes(bytes::Bytes::from(body))
    }

    /// A rendering of any bytes (e.g. an embedded image).
    pub fn from_bytes(body: bytes::Bytes) -> Rendered {
        let etag = etag(&body);
        Rendered {
            body,
            etag,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    /// The body in a coding (compressed once), the coding actually used, and its ETag (each
    /// representation has its own strong ETag).
    pub fn encoded(&self, want: Coding) -> (bytes::Bytes, Coding, String) {
        if self.body.len() < MIN_COMPRESS {
            return (self.body.clone(), Coding::Identity, self.etag.clone());
        }
        let tagged = |suffix: &str| format!("{}-{suffix}\"", self.etag.trim_end_matches('"'));
        match want {
            Coding::Identity => (self.body.clone(), Coding::Identity, self.etag.clone()),
            Coding::Gzip => {
                let z = self.gzip.get_or_init(|| {
                    let mut enc = flate2::write::GzEncoder::new(
                        Vec::with_capacity(self.body.len() / 4),
                        flate2::Compression::new(6),
                    );
                    // Writing into a Vec cannot fail.
                    let _ = enc.write_all(&self.body);
                    bytes::Bytes::from(enc.finish().unwrap_or_default())
                });
                (z.clone(), Coding::Gzip, tagged("gz"))
            }
            Coding::Brotli => {
                let b = self.brotli.get_or_init(|| {
                    let mut out = Vec::with_capacity(self.body.len() / 5);
                    let params = brotli::enc::BrotliEncoderParams {
                        quality: 5,
                        ..Default::default()
                    };
                    let _ = brotli::BrotliCompress(&mut &self.body[..], &mut out, &params);
                    bytes::Bytes::from(out)
                });
                (b.clone(), Coding::Brotli, tagged("br"))
            }
        }
    }

    /// Whether the gzip and brotli variants are made (or the body is too small for them).
    pub fn variants_ready(&self) -> bool {
        self.body.len() < MIN_COMPRESS || (self.gzip.get().is_some() && self.brotli.get().is_some())
    }

    /// Whether `If-None-Match` names one of this rendering's ETags.
    pub fn not_modified(&self, headers: &HeaderMap) -> bool {
        let Some(inm) = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let base = self.etag.trim_end_matches('"');
        inm.split(',').map(str::trim).any(|t| {
            let t = t.strip_prefix("W/").unwrap_or(t);
            t == "*"
                || t == self.etag
                || t.strip_suffix('"')
                    .and_then(|t| t.strip_prefix(base))
                    .is_some_and(|rest| rest == "-gz" || rest == "-br")
        })
    }
}

/// A rendering in the making or made: requests for the same key while it renders wait for
/// that one rendering (single flight) instead of starting their own.
type Slot = Arc<tokio::sync::OnceCell<Arc<Rendered>>>;

/// The renderings of one snapshot: the ready ones (the unfiltered feeds, rendered and
/// compressed before the snapshot was swapped in, never evicted) and the recent on-demand ones
/// (filtered feeds, pages), least recently used first out. It is replaced with its snapshot.
pub struct RenderCache {
    ready: HashMap<String, Arc<Rendered>>,
    recent: Mutex<LruCache<String, Slot>>,
    /// The hosts pages were cached for (see [`RenderCache::admits_host`]).
    hosts: Mutex<Vec<String>>,
}

/// Most distinct `Host` values pages are cached for, when no `[web] base_url` is set.
pub const MAX_HOSTS: usize = 8;

impl Default for RenderCache {
    fn default() -> Self {
        RenderCache::new(Vec::new())
    }
}

impl RenderCache {
    /// A cache holding `ready` renderings.
    pub fn new(ready: Vec<(String, Arc<Rendered>)>) -> RenderCache {
        RenderCache {
            ready: ready.into_iter().collect(),
            recent: Mutex::new(LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
            hosts: Mutex::new(Vec::new()),
        }
    }

    /// Whether pages for `host` may be cached: the first [`MAX_HOSTS`] hosts asked for are;
    /// pages for any further one (a client inventing `Host` values) are rendered on the spot,
    /// so they cannot push the feeds out of the cache.
    pub fn admits_host(&self, host: &str) -> bool {
        let mut hosts = match self.hosts.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if hosts.iter().any(|h| h == host) {
            return true;
        }
        if hosts.len() < MAX_HOSTS {
            hosts.push(host.to_string());
            return true;
        }
        false
    }

    /// How many on-demand renderings are kept (filtered feeds, pages).
    pub fn kept(&self) -> usize {
        match self.recent.lock() {
            Ok(g) => g.len(),
            Err(p) => p.into_inner().len(),
        }
    }

    /// The ready renderings (key, rendering).
    pub fn ready(&self) -> impl Iterator<Item = (&str, &Arc<Rendered>)> {
        self.ready.iter().map(|(k, r)| (k.as_str(), r))
    }

    /// The rendering for `key`: a ready one, a kept one, or one rendered now on the blocking
    /// pool (once, however many requests ask for it meanwhile).
    pub async fn get_or_render(
        &self,
        key: &str,
        feed: &'static str,
        render: impl FnOnce() -> String + Send + 'static,
    ) -> Arc<Rendered> {
        if let Some(ready) = self.ready.get(key) {
            return ready.clone();
        }
        self.slot(key)
            .get_or_init(|| async move {
                crate::work::blocking(move || {
                    let started = std::time::Instant::now();
                    let rendered = Rendered::new(render());
                    record_rendering(feed, "on_demand", &rendered, started.elapsed());
                    Arc::new(rendered)
                })
                .await
            })
            .await
            .clone()
    }

    /// Like [`RenderCache::get_or_render`], but renders on the calling thread (for small
    /// renderings such as web pages, whose inputs borrow the request); requests that miss at
    /// the same time each render, and the first result is kept.
    pub fn get_or_render_here(
        &self,
        key: &str,
        feed: &'static str,
        render: impl FnOnce() -> String,
    ) -> Arc<Rendered> {
        if let Some(ready) = self.ready.get(key) {
            return ready.clone();
        }
        let slot = self.slot(key);
        if let Some(kept) = slot.get() {
            return kept.clone();
        }
        let started = std::time::Instant::now();
        let rendered = Arc::new(Rendered::new(render()));
        record_rendering(feed, "on_demand", &rendered, started.elapsed());
        match slot.set(rendered.clone()) {
            Ok(()) => rendered,
            Err(_) => slot.get().cloned().unwrap_or(rendered),
        }
    }

    /// The slot of `key`, made empty if there is none.
    fn slot(&self, key: &str) -> Slot {
        let mut recent = match self.recent.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        recent.get_or_insert(key.to_string(), Slot::default).clone()
    }
}

/// Renders `body` and its gzip and brotli variants now (for the ready feeds of a snapshot,
/// before it is swapped in).
pub fn render_ready(feed: &'static str, render: impl FnOnce() -> String) -> Arc<Rendered> {
    let started = std::time::Instant::now();
    let rendered = Rendered::new(render());
    rendered.encoded(Coding::Gzip);
    rendered.encoded(Coding::Brotli);
    record_rendering(feed, "ready", &rendered, started.elapsed());
    Arc::new(rendered)
}

/// Records a rendering of a feed or page: `when` is `ready` (before the snapshot swap, with
/// its compressed variants) or `on_demand` (at a request).
fn record_rendering(
    feed: &'static str,
    when: &'static str,
    rendered: &Rendered,
    took: std::time::Duration,
) {
    use metrics::{counter, histogram};
    counter!("regiocal_feed_renders_total", "feed" => feed, "when" => when).increment(1);
    histogram!("regiocal_feed_render_seconds", "feed" => feed, "when" => when)
        .record(took.as_secs_f64());
    histogram!("regiocal_feed_render_bytes", "feed" => feed, "when" => when)
        .record(rendered.body.len() as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn negotiation_prefers_brotli_and_honours_q0() {
        let n = |v: &str| Coding::negotiate(&headers(&[("accept-encoding", v)]));
        assert_eq!(n("gzip, deflate, br"), Coding::Brotli);
        assert_eq!(n("gzip"), Coding::Gzip);
        assert_eq!(n("br;q=0, gzip;q=0.8"), Coding::Gzip);
        assert_eq!(n("identity"), Coding::Identity);
        assert_eq!(Coding::negotiate(&HeaderMap::new()), Coding::Identity);
    }

    #[test]
    fn variants_round_trip_and_have_their_own_etags() {
        let text = "BEGIN:VEVENT\r\nSUMMARY:Konzert\r\nEND:VEVENT\r\n".repeat(100);
        let r = Rendered::new(text.clone());
        let (gz, c, tag) = r.encoded(Coding::Gzip);
        assert_eq!(c, Coding::Gzip);
        assert!(gz.len() < text.len() / 5);
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back)
            .unwrap();
        assert_eq!(back, text);
        assert_ne!(tag, r.etag);
        let (br, c, br_tag) = r.encoded(Coding::Brotli);
        assert_eq!(c, Coding::Brotli);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut out).unwrap();
        assert_eq!(out, text.as_bytes());
        for t in [&r.etag, &tag, &br_tag] {
            assert!(r.not_modified(&headers(&[("if-none-match", t)])), "{t}");
        }
        assert!(!r.not_modified(&headers(&[("if-none-match", "\"other\"")])));
        // Small bodies stay uncompressed.
        let small = Rendered::new("x".into());
        assert_eq!(small.encoded(Coding::Gzip).1, Coding::Identity);
    }
}

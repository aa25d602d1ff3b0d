//! Rendered responses kept per snapshot, so a feed is rendered once per change, not per request.
//!
//! Calendar apps poll the same few URLs (the merged feed, a handful of filtered ones) over and
//! over; between two ingests the answer cannot change. Each rendering is kept (least recently
//! used first out, [`CAPACITY`] entries) with its strong ETag, and its gzip and brotli variants
//! are compressed once, on first demand. A new snapshot empties the cache. A conditional request
//! (`If-None-Match`) for a cached body is answered without rendering anything.

use crate::output::{Snapshot, etag};
use axum::http::{HeaderMap, header};
use lru::LruCache;
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

struct Inner {
    /// The snapshot the entries belong to.
    snapshot: usize,
    entries: LruCache<String, Arc<Rendered>>,
}

/// The cache of one server.
pub struct RenderCache {
    inner: Mutex<Inner>,
}

impl Default for RenderCache {
    fn default() -> Self {
        RenderCache {
            inner: Mutex::new(Inner {
                snapshot: 0,
                entries: LruCache::new(NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN)),
            }),
        }
    }
}

impl RenderCache {
    /// The rendering for `key` of this snapshot, rendered now if it is not kept.
    pub fn get_or_render(
        &self,
        snap: &Arc<Snapshot>,
        key: &str,
        render: impl FnOnce() -> String,
    ) -> Arc<Rendered> {
        if let Some(hit) = self.lookup(snap, key) {
            return hit;
        }
        // Rendered outside the lock: other requests are served meanwhile.
        self.keep(snap, key, Arc::new(Rendered::new(render())))
    }

    /// The kept rendering for `key`, if it belongs to this snapshot (a new snapshot empties
    /// the cache).
    fn lookup(&self, snap: &Arc<Snapshot>, key: &str) -> Option<Arc<Rendered>> {
        let id = Arc::as_ptr(snap) as usize;
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if inner.snapshot != id {
            inner.entries.clear();
            inner.snapshot = id;
        }
        inner.entries.get(key).cloned()
    }

    /// Keeps a rendering (unless the snapshot was replaced meanwhile) and hands it back.
    fn keep(&self, snap: &Arc<Snapshot>, key: &str, rendered: Arc<Rendered>) -> Arc<Rendered> {
        let id = Arc::as_ptr(snap) as usize;
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if inner.snapshot == id {
            inner.entries.put(key.to_string(), rendered.clone());
        }
        rendered
    }
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

//! Static files of the pages, embedded into the binary at build time: our CSS and scripts
//! (`web/static/`) and Leaflet (`web/vendor/leaflet/`, copied from the npm registry's package by
//! `web/vendor.sh`; `cargo build` needs no npm).
//!
//! They are served under `/static/{version}/{path}`, where the version is a hash of all files:
//! a changed file gives new URLs, so answers are cacheable for a year (`immutable`), and paths
//! inside a stylesheet (Leaflet's `images/…`) resolve under the same version. Each file has a
//! strong ETag; text files are sent compressed when the client accepts it (compressed once).
//! A request naming an old version still gets the current file, cacheable for five minutes.

use crate::http::cache::{Coding, Rendered};
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: Body,
}

enum Body {
    Text(&'static str),
    Binary(&'static [u8]),
}

impl Body {
    fn bytes(&self) -> &'static [u8] {
        match self {
            Body::Text(s) => s.as_bytes(),
            Body::Binary(b) => b,
        }
    }
}

macro_rules! text {
    ($path:literal, $file:literal, $ct:expr) => {
        Asset {
            path: $path,
            content_type: $ct,
            body: Body::Text(include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/web/",
                $file
            ))),
        }
    };
}
macro_rules! binary {
    ($path:literal, $file:literal, $ct:expr) => {
        Asset {
            path: $path,
            content_type: $ct,
            body: Body::Binary(include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/web/",
                $file
            ))),
        }
    };
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const PNG: &str = "image/png";

static ASSETS: &[Asset] = &[
    text!("app.css", "static/app.css", CSS),
    text!("app.js", "static/app.js", JS),
    text!("map.js", "static/map.js", JS),
    text!("embed.css", "static/embed.css", CSS),
    text!("leaflet/leaflet.css", "vendor/leaflet/leaflet.css", CSS),
    text!("leaflet/leaflet.js", "vendor/leaflet/leaflet.js", JS),
    binary!(
        "leaflet/images/marker-icon.png",
        "vendor/leaflet/images/marker-icon.png",
        PNG
    ),
    binary!(
        "leaflet/images/marker-icon-2x.png",
        "vendor/leaflet/images/marker-icon-2x.png",
        PNG
    ),
    binary!(
        "leaflet/images/marker-shadow.png",
        "vendor/leaflet/images/marker-shadow.png",
        PNG
    ),
];

/// The embed script, served at its own stable URL (`/embed.js`).
pub static EMBED_JS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/static/embed.js"));

/// Ten hex digits of a hash over every file: the version in the URLs.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        for a in ASSETS {
            h.update(a.path.as_bytes());
            h.update([0]);
            h.update(a.body.bytes());
        }
        hex::encode(&h.finalize()[..5])
    })
}

/// The URL of an embedded file.
pub fn url(path: &str) -> String {
    format!("/static/{}/{path}", version())
}

/// The prepared answer of each file (ETag, compressed variants), built on first use.
fn rendered(i: usize) -> &'static Rendered {
    static ALL: OnceLock<Vec<Rendered>> = OnceLock::new();
    &ALL.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| match a.body {
                Body::Text(s) => Rendered::new(s.to_string()),
                Body::Binary(b) => Rendered::from_bytes(bytes::Bytes::from_static(b)),
            })
            .collect()
    })[i]
}

/// `GET /static/{version}/{*path}`.
pub async fn serve(Path((v, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if v == version() {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let text = matches!(ASSETS[i].body, Body::Text(_));
    respond(
        &headers,
        rendered(i),
        ASSETS[i].content_type,
        cache,
        text,
        &[],
    )
}

/// `GET /embed.js`: the embed script at a stable URL (host pages cannot follow a version), so
/// cached for an hour and revalidated by ETag; any origin may load it.
pub async fn embed_js(headers: HeaderMap) -> Response {
    static R: OnceLock<Rendered> = OnceLock::new();
    let r = R.get_or_init(|| Rendered::new(EMBED_JS.to_string()));
    respond(
        &headers,
        r,
        JS,
        "public, max-age=3600",
        true,
        &[
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
        ],
    )
}

fn respond(
    req: &HeaderMap,
    r: &Rendered,
    content_type: &'static str,
    cache_control: &'static str,
    compressible: bool,
    extra: &[(header::HeaderName, &'static str)],
) -> Response {
    let want = if compressible {
        Coding::negotiate(req)
    } else {
        Coding::Identity
    };
    let (body, coding, tag) = r.encoded(want);
    let mut h = HeaderMap::new();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    if compressible {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    for (k, v) in extra {
        h.insert(k.clone(), HeaderValue::from_static(v));
    }
    if r.not_modified(req) {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(enc) = coding.header() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    (StatusCode::OK, h, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_embedded_and_the_version_is_stable() {
        assert_eq!(version().len(), 10);
        assert_eq!(version(), version());
        for a in ASSETS {
            assert!(!a.body.bytes().is_empty(), "{}", a.path);
        }
        assert!(url("app.css").starts_with("/static/"));
        // The embed script stays small: a few kilobytes, no framework.
        assert!(
            EMBED_JS.len() < 8 * 1024,
            "embed.js is {} bytes",
            EMBED_JS.len()
        );
    }
}

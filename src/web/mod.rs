//! The web UI: server-rendered pages for residents and an embed for city portals.
//!
//! | route | page |
//! |---|---|
//! | `/` | upcoming events by day, with the filter form ([`list`]) |
//! | `/map` | the venues of the filtered events on a map ([`map`]) |
//! | `/events/{id}`, `/events/{id}.ics` | one occurrence; the same as a calendar file ([`detail`]) |
//! | `/subscribe` | webcal/https links and instructions for the current filter ([`subscribe`]) |
//! | `/sources` | the feed doctor: every source's health ([`sources`]) |
//! | `/embed`, `/embed.js` | a compact list for iframes; the script for host pages ([`embed`]) |
//! | `/static/{version}/…` | CSS, scripts, Leaflet, embedded at build time ([`assets`]) |
//!
//! Pages read only the current [`Snapshot`], like the feeds. Templates (askama, under
//! `web/templates/`) are checked at compile time and escape every value; links from feeds
//! pass [`safe::http_url`]. The URL holds the whole state of a page (filters, `lang`,
//! `limit`; see [`query`]), so every view can be linked, and forms work without JavaScript;
//! scripts only add the map and copy buttons. Text is German unless `?lang=en` or the
//! browser's `Accept-Language` prefers English ([`i18n`]).
//!
//! Rendered pages go through the server's render cache (per snapshot, query, language, host
//! and day), with ETags and compressed variants like the feeds.

mod assets;
mod cards;
pub mod config;
mod detail;
mod embed;
pub mod i18n;
mod list;
mod map;
pub mod query;
pub mod safe;
mod sources;
mod subscribe;

pub use config::WebConfig;
pub use i18n::Lang;
pub use query::{PageQuery, QueryError};

use crate::http::cache::Rendered;
use crate::output::Snapshot;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use std::sync::Arc;

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("not found")]
    NotFound,
    #[error("template: {0}")]
    Render(#[from] askama::Error),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::Query(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The routes of the web UI.
/// What the pages read: the served snapshot and the `[web]` settings.
#[derive(Clone)]
pub struct WebState {
    pub snapshot: crate::http::SnapshotCell,
    pub web: std::sync::Arc<WebConfig>,
}

/// The pages, the embed and their assets.
pub fn router() -> Router<WebState> {
    Router::new()
        .route("/", get(|s, q, h, u| page(s, q, h, u, "/", list::render)))
        .route(
            "/map",
            get(|s, q, h, u| page(s, q, h, u, "/map", map::render)),
        )
        .route("/events/{id}", get(detail::page))
        .route(
            "/subscribe",
            get(|s, q, h, u| page(s, q, h, u, "/subscribe", subscribe::render)),
        )
        .route(
            "/sources",
            get(|s, q, h, u| page(s, q, h, u, "/sources", sources::render)),
        )
        .route(
            "/embed",
            get(|s, q, h, u| page(s, q, h, u, "/embed", embed::render)),
        )
        .route("/embed.js", get(assets::embed_js))
        .route("/static/{version}/{*path}", get(assets::serve))
        .fallback(fallback)
}

/// Renders the list page as `GET /?{query}` does for a visitor without a language preference,
/// with absolute links based at `base_url` (benchmarks and tools; the server caches it).
pub fn render_list_page(
    snap: &Snapshot,
    web: &WebConfig,
    query: Option<&str>,
    base_url: &str,
    today: NaiveDate,
) -> Result<String, WebError> {
    let q = PageQuery::parse(query, None)?;
    let ctx = Ctx {
        web,
        base_url: base_url.to_string(),
        today,
    };
    list::render(snap, &q, &ctx)
}

/// What a page needs besides the snapshot and its query.
pub struct Ctx<'a> {
    pub web: &'a WebConfig,
    /// `scheme://host` of the daemon as visitors reach it (for absolute links).
    pub base_url: String,
    /// Today in the calendar's zone: lists start here unless `from` says otherwise.
    pub today: NaiveDate,
}

impl<'a> Ctx<'a> {
    /// The context of a request.
    pub fn of(web: &'a WebConfig, snap: &Snapshot, headers: &HeaderMap, uri: &Uri) -> Ctx<'a> {
        Ctx {
            web,
            base_url: base_url(web, headers, uri),
            today: crate::clock::now()
                .with_timezone(&snap.calendar.timezone)
                .date_naive(),
        }
    }
}

/// The public base URL: `[web] base_url`, else the request's host (with `X-Forwarded-Proto`
/// from a proxy), else the loopback address.
fn base_url(web: &WebConfig, headers: &HeaderMap, uri: &Uri) -> String {
    if let Some(b) = web.base() {
        return b.to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        })
        .unwrap_or("127.0.0.1");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// The navigation entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Events,
    Map,
    Subscribe,
    Sources,
    None,
}

/// One link of the navigation.
pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// What every page's frame shows: language, navigation, language toggle, asset URLs.
pub struct Chrome {
    pub lang: &'static str,
    pub t: &'static i18n::Texts,
    pub site: String,
    pub home_href: String,
    pub nav: Vec<NavItem>,
    pub toggle_href: String,
    pub toggle_lang: &'static str,
    pub toggle_label: &'static str,
    pub css_href: String,
    pub js_href: String,
    pub leaflet_css_href: String,
    pub leaflet_js_href: String,
    pub map_js_href: String,
    pub sources_href: String,
}

impl Chrome {
    /// The frame of the page at `path` (its language toggle links to the same view).
    pub fn new(snap: &Snapshot, q: &PageQuery, path: &str, current: Nav) -> Chrome {
        let t = q.lang.texts();
        let item = |href: String, label, nav| NavItem {
            href,
            label,
            current: current == nav,
        };
        let other = q.lang.other();
        Chrome {
            lang: q.lang.tag(),
            t,
            site: snap.calendar.name.clone(),
            home_href: q.plain_href("/"),
            nav: vec![
                item(q.href("/"), t.nav_events, Nav::Events),
                item(q.href("/map"), t.nav_map, Nav::Map),
                item(q.href("/subscribe"), t.nav_subscribe, Nav::Subscribe),
                item(q.plain_href("/sources"), t.nav_sources, Nav::Sources),
            ],
            toggle_href: q.href_in(path, Some(other)),
            toggle_lang: other.tag(),
            toggle_label: t.other_language,
            css_href: assets::url("app.css"),
            js_href: assets::url("app.js"),
            leaflet_css_href: assets::url("leaflet/leaflet.css"),
            leaflet_js_href: assets::url("leaflet/leaflet.js"),
            map_js_href: assets::url("map.js"),
            sources_href: q.plain_href("/sources"),
        }
    }
}

/// Who may frame a page.
#[derive(Clone, Copy)]
enum Framing {
    SameOrigin,
    Anyone,
}

/// Headers of every HTML answer: a strict Content-Security-Policy (scripts and styles only
/// from here, images also from the tile server), framing rules, referrer policy.
fn page_headers(web: &WebConfig, framing: Framing) -> Vec<(header::HeaderName, String)> {
    let ancestors = match framing {
        Framing::SameOrigin => "'self'",
        Framing::Anyone => "*",
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: {}; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}",
        web.tile_origin()
    );
    let mut h = vec![
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::VARY, "Accept-Encoding, Accept-Language".into()),
        (
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin".into(),
        ),
    ];
    if let Framing::SameOrigin = framing {
        h.push((header::X_FRAME_OPTIONS, "SAMEORIGIN".into()));
    }
    h
}

const HTML: &str = "text/html; charset=utf-8";

/// Seconds a page may be cached: short, the list moves with the clock.
const PAGE_MAX_AGE: u32 = 60;

/// The language of a request whose query could not be parsed.
fn lang_of(raw: Option<&str>, headers: &HeaderMap) -> (Lang, Option<Lang>) {
    let param = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "lang")
        .find_map(|(_, v)| Lang::from_param(&v));
    (
        param.unwrap_or_else(|| Lang::negotiate(accept_language(headers))),
        param,
    )
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

/// A page renderer: the snapshot, the parsed query and the context to HTML.
type Render = fn(&Snapshot, &PageQuery, &Ctx) -> Result<String, WebError>;

/// The handler of the pages that depend only on their query: `path` names the page (the embed
/// may be framed by any site, the others only by this one).
async fn page(
    State(state): State<WebState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    uri: Uri,
    path: &'static str,
    render: Render,
) -> Response {
    let framing = if path == "/embed" {
        Framing::Anyone
    } else {
        Framing::SameOrigin
    };
    respond(
        &state,
        path,
        raw.as_deref(),
        &headers,
        &uri,
        framing,
        render,
    )
}

/// Answers a page request: parses the query, renders (or takes the cached rendering) and
/// sends it with ETag, compression and the page headers; errors become error pages.
fn respond(
    state: &WebState,
    path: &'static str,
    raw: Option<&str>,
    headers: &HeaderMap,
    uri: &Uri,
    framing: Framing,
    render: Render,
) -> Response {
    let served = state.snapshot.current();
    let snap = &served.snapshot;
    let web = &state.web;
    let q = match PageQuery::parse(raw, accept_language(headers)) {
        Ok(q) => q,
        Err(e) => {
            let (lang, param) = lang_of(raw, headers);
            return error_page(snap, web, lang, param, &WebError::Query(e));
        }
    };
    let ctx = Ctx::of(web, snap, headers, uri);
    let mut failed = None;
    let mut run = || {
        render(snap, &q, &ctx).unwrap_or_else(|e| {
            failed = Some(e);
            String::new()
        })
    };
    // Text searches are rarely repeated: rendered on the spot, so they do not push the feeds
    // out of the cache.
    // So are pages for a host beyond the first few, when no base URL is configured.
    let rendered = if q.filter.text.is_some()
        || (web.base().is_none() && !served.cache.admits_host(&ctx.base_url))
    {
        Arc::new(Rendered::new(run()))
    } else {
        // Only what the page is made of: the known parameters (unknown ones and their
        // order do not make new entries), the language, the base URL and the day.
        let key = format!(
            "web:{path}?{}#{:?}#{:?}#{}#{}#{}",
            q.filter_query,
            q.limit,
            q.lang_param,
            q.lang.tag(),
            ctx.base_url,
            ctx.today
        );
        served.cache.get_or_render_here(&key, "web", run)
    };
    if let Some(e) = failed {
        return error_page(snap, web, q.lang, q.lang_param, &e);
    }
    if rendered.body.is_empty() {
        // A failed rendering of a concurrent request: render again to report it.
        if let Err(e) = render(snap, &q, &ctx) {
            return error_page(snap, web, q.lang, q.lang_param, &e);
        }
    }
    html_response(headers, &rendered, snap, web, framing)
}

fn html_response(
    headers: &HeaderMap,
    rendered: &Rendered,
    snap: &Snapshot,
    web: &WebConfig,
    framing: Framing,
) -> Response {
    // Lists start today, so a page changes at midnight even when the snapshot does not.
    let tz = snap.calendar.timezone;
    let midnight = crate::model::local_to_utc(
        crate::clock::now()
            .with_timezone(&tz)
            .date_naive()
            .and_time(chrono::NaiveTime::MIN),
        tz,
    );
    crate::http::rendered_response(
        headers,
        rendered,
        HTML,
        snap.last_modified.max(midnight),
        PAGE_MAX_AGE,
        &page_headers(web, framing),
    )
}

/// The error page (400, 404 or 500) in the visitor's language.
fn error_page(
    snap: &Snapshot,
    web: &WebConfig,
    lang: Lang,
    lang_param: Option<Lang>,
    error: &WebError,
) -> Response {
    use askama::Template;
    let q = PageQuery {
        lang,
        lang_param,
        ..PageQuery::default()
    };
    let t = lang.texts();
    let status = error.status();
    let (title, parameter, message) = match error {
        WebError::Query(QueryError::BadParam { parameter, message }) => {
            (t.bad_request_title, Some(*parameter), Some(message.clone()))
        }
        WebError::NotFound => (t.not_found_title, None, Some(t.not_found_text.to_string())),
        WebError::Render(e) => {
            tracing::error!(error = %e, "Page rendering failed.");
            (t.error_title, None, Some(t.error_text.to_string()))
        }
    };
    let page = ErrorPage {
        chrome: Chrome::new(snap, &q, "/", Nav::None),
        title,
        parameter,
        message,
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("{} {}", status.as_u16(), title));
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    for (k, v) in page_headers(web, Framing::SameOrigin) {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    title: &'static str,
    parameter: Option<&'static str>,
    message: Option<String>,
}

/// Unknown paths: a 404 page, except under `/api/`, where clients expect JSON.
async fn fallback(State(state): State<WebState>, uri: Uri, headers: HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::http::ApiError::not_found(format!("no route {}", uri.path()))
            .into_response();
    }
    let snap = state.snapshot.get();
    let (lang, param) = lang_of(uri.query(), &headers);
    error_page(&snap, &state.web, lang, param, &WebError::NotFound)
}

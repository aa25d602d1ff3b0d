//! HTTP plumbing shared by the feeds and API ([`crate::server`]) and the pages
//! ([`crate::web`]): the served snapshot with its render cache ([`SnapshotCell`],
//! [`cache`]), query parsing into a [`Filter`], the API error type, and cacheable responses
//! (strong ETag from the body, Last-Modified, 304 on `If-None-Match`).

pub mod cache;

use crate::output::{Filter, Snapshot};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::{Arc, RwLock};

/// A snapshot with its renderings: what the server swaps in after a change.
pub struct Served {
    pub snapshot: Arc<Snapshot>,
    pub cache: cache::RenderCache,
}

/// The current snapshot and its renderings, replaceable while requests read the old ones.
#[derive(Clone)]
pub struct SnapshotCell(Arc<RwLock<Arc<Served>>>);

impl SnapshotCell {
    /// A cell holding `served`.
    pub fn new(served: Served) -> SnapshotCell {
        SnapshotCell(Arc::new(RwLock::new(Arc::new(served))))
    }

    /// The current snapshot with its renderings.
    pub fn current(&self) -> Arc<Served> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The current snapshot.
    pub fn get(&self) -> Arc<Snapshot> {
        self.current().snapshot.clone()
    }

    /// Swaps in a snapshot with its renderings. The old ones are freed in the background
    /// (once the last request reading them is done).
    pub fn set(&self, served: Served) {
        let served = Arc::new(served);
        let old = match self.0.write() {
            Ok(mut guard) => std::mem::replace(&mut *guard, served),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), served),
        };
        crate::work::drop_in_background(old);
    }
}

/// An API error: a status and a JSON body naming the problem (and the parameter, if any).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub parameter: Option<&'static str>,
    pub message: String,
    /// Extra JSON members of the body (e.g. field errors).
    pub details: Option<(&'static str, serde_json::Value)>,
    /// Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            parameter: None,
            message: message.into(),
            details: None,
            headers: Vec::new(),
        }
    }

    /// 400 for a bad query parameter.
    pub fn bad_param(parameter: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            parameter: Some(parameter),
            ..ApiError::new(StatusCode::BAD_REQUEST, message)
        }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message, "parameter": self.parameter });
        if let (Some((key, value)), Some(obj)) = (self.details, body.as_object_mut()) {
            obj.insert(key.to_string(), value);
        }
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

/// Parsed query parameters of the feed and event routes.
#[derive(Debug, Default)]
pub struct Query {
    pub filter: Filter,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// Radius of `near` without `radius_km`, and the largest accepted.
pub const DEFAULT_RADIUS_KM: f64 = 5.0;
pub const MAX_RADIUS_KM: f64 = 200.0;

/// `count` comma-separated finite numbers.
fn numbers(param: &'static str, value: &str, count: usize) -> Result<Vec<f64>, ApiError> {
    let n: Vec<f64> = value
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_param(param, format!("must be {count} comma-separated numbers"))
        })?;
    if n.len() != count || n.iter().any(|x| !x.is_finite()) {
        return Err(ApiError::bad_param(
            param,
            format!("must be {count} comma-separated numbers"),
        ));
    }
    Ok(n)
}

/// The filter parameters [`parse_query`] understands (besides `limit` and `cursor`); every feed
/// and listing takes them, and the OpenAPI description documents each (a test checks).
pub const FILTER_PARAMETERS: &[&str] = &[
    "from",
    "to",
    "category",
    "source",
    "district",
    "venue",
    "bbox",
    "near",
    "radius_km",
    "transit",
    "free",
    "q",
];

/// The part of a render cache key a filter makes: empty for no filter, else the parsed
/// filter (so unknown parameters, their order and their spelling make no new entries).
pub fn filter_key(filter: &Filter) -> String {
    if *filter == Filter::default() {
        String::new()
    } else {
        format!("{filter:?}")
    }
}

/// Parameters the routes read besides the filters.
pub const OTHER_PARAMETERS: &[&str] = &["limit", "cursor", "lang"];

/// The pairs of a query string, `+` and percent escapes decoded. The value of a parameter
/// the routes read ([`FILTER_PARAMETERS`], [`OTHER_PARAMETERS`]) must be UTF-8 once decoded
/// (`q=%ff` is a 400 naming `q`); other parameters are decoded leniently, since calendar
/// clients add their own.
pub fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |s: &str| -> Result<String, String> {
        let spaced = s.replace('+', " ");
        match percent_encoding::percent_decode_str(&spaced).decode_utf8() {
            Ok(text) => Ok(text.into_owned()),
            Err(_) => Err(percent_encoding::percent_decode_str(&spaced)
                .decode_utf8_lossy()
                .into_owned()),
        }
    };
    let mut out = Vec::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k).unwrap_or_else(|lossy| lossy);
        let known = FILTER_PARAMETERS
            .iter()
            .chain(OTHER_PARAMETERS)
            .find(|p| **p == key);
        let value = match (decode(v), known) {
            (Ok(v), _) => v,
            (Err(_), Some(name)) => {
                return Err(ApiError::bad_param(
                    name,
                    "is not UTF-8 once percent-decoded (e.g. %ff); encode the text as UTF-8",
                ));
            }
            (Err(lossy), None) => lossy,
        };
        out.push((key, value));
    }
    Ok(out)
}

/// Longest text search (`q`) accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// A yes/no parameter: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/empty.
fn flag(param: &'static str, value: &str) -> Result<bool, ApiError> {
    match value {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "" => Ok(false),
        _ => Err(ApiError::bad_param(param, "must be 1 or 0")),
    }
}

/// Largest span `from`..`to` accepted, in days.
pub const MAX_RANGE_DAYS: i64 = 3660;

/// Parses `from`, `to`, `category`, `source`, `district`, `venue` (repeatable or
/// comma-separated), `bbox=minlon,minlat,maxlon,maxlat`, `near=lat,lon` with `radius_km`,
/// `transit`, `free` (1 or 0), `q` (text search), `limit`, `cursor`. Unknown parameters are
/// ignored (calendar clients add their own).
pub fn parse_query(raw: Option<&str>) -> Result<Query, ApiError> {
    let mut q = Query::default();
    let (mut near, mut radius) = (None, None);
    for (key, value) in query_pairs(raw)? {
        let value = value.trim();
        match key.as_str() {
            "from" => q.filter.from = Some(parse_date("from", value)?),
            "to" => q.filter.to = Some(parse_date("to", value)?),
            "category" => q.filter.categories.extend(split_list(value)),
            "source" => q.filter.sources.extend(split_list(value)),
            "limit" => {
                let n: usize = value.parse().map_err(|_| {
                    ApiError::bad_param(
                        "limit",
                        format!(
                            "must be a number from 1 to {}",
                            crate::output::json::MAX_LIMIT
                        ),
                    )
                })?;
                if !(1..=crate::output::json::MAX_LIMIT).contains(&n) {
                    return Err(ApiError::bad_param(
                        "limit",
                        format!("must be from 1 to {}", crate::output::json::MAX_LIMIT),
                    ));
                }
                q.limit = Some(n);
            }
            "cursor" if !value.is_empty() => q.cursor = Some(value.to_string()),
            "district" => q.filter.districts.extend(split_list(value)),
            "transit" => q.filter.transit = flag("transit", value)?,
            "venue" => q.filter.venues.extend(split_list(value)),
            "q" => {
                if value.chars().count() > MAX_QUERY_CHARS {
                    return Err(ApiError::bad_param(
                        "q",
                        format!("at most {MAX_QUERY_CHARS} characters"),
                    ));
                }
                q.filter.text = (!value.is_empty()).then(|| value.to_string());
            }
            "free" => q.filter.free = flag("free", value)?,
            "bbox" => {
                let n = numbers("bbox", value, 4)?;
                let [min_lon, min_lat, max_lon, max_lat] = [n[0], n[1], n[2], n[3]];
                if min_lon > max_lon
                    || min_lat > max_lat
                    || crate::model::Geo::new(min_lat, min_lon).is_none()
                    || crate::model::Geo::new(max_lat, max_lon).is_none()
                {
                    return Err(ApiError::bad_param(
                        "bbox",
                        "must be minlon,minlat,maxlon,maxlat within -180..180 and -90..90",
                    ));
                }
                q.filter.bbox = Some([min_lon, min_lat, max_lon, max_lat]);
            }
            "near" => {
                let n = numbers("near", value, 2)?;
                let g = crate::model::Geo::new(n[0], n[1]).ok_or_else(|| {
                    ApiError::bad_param("near", "must be lat,lon within -90..90 and -180..180")
                })?;
                near = Some(g);
            }
            "radius_km" => {
                let r: f64 = value
                    .parse()
                    .ok()
                    .filter(|r: &f64| r.is_finite() && *r > 0.0 && *r <= MAX_RADIUS_KM)
                    .ok_or_else(|| {
                        ApiError::bad_param(
                            "radius_km",
                            format!("must be a number above 0 and at most {MAX_RADIUS_KM}"),
                        )
                    })?;
                radius = Some(r);
            }
            _ => {}
        }
    }
    match (near, radius) {
        (Some(g), r) => q.filter.near = Some((g, r.unwrap_or(DEFAULT_RADIUS_KM))),
        (None, Some(_)) => {
            return Err(ApiError::bad_param(
                "radius_km",
                "needs `near=lat,lon` to measure from",
            ));
        }
        (None, None) => {}
    }
    if let (Some(from), Some(to)) = (q.filter.from, q.filter.to) {
        if to < from {
            return Err(ApiError::bad_param("to", "must not be before from"));
        }
        if (to - from).num_days() > MAX_RANGE_DAYS {
            return Err(ApiError::bad_param(
                "to",
                format!("the range may span at most {MAX_RANGE_DAYS} days"),
            ));
        }
    }
    Ok(q)
}

fn split_list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Parses a `YYYY-MM-DD` date parameter (a full RFC 3339 time is accepted and cut to its date).
pub fn parse_date(name: &'static str, v: &str) -> Result<NaiveDate, ApiError> {
    let date = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(v).ok().map(|d| d.date_naive()))
        .ok_or_else(|| {
            ApiError::bad_param(name, format!("expected a date like 2026-12-24, got {v:?}"))
        })?;
    if !(1900..=2200).contains(&chrono::Datelike::year(&date)) {
        return Err(ApiError::bad_param(name, "year out of range 1900-2200"));
    }
    Ok(date)
}

/// A cacheable response for a body rendered on the spot (not kept in the render cache): the
/// same headers, codings and 304 rules as [`rendered_response`].
pub fn cacheable(
    req_headers: &HeaderMap,
    body: String,
    content_type: &'static str,
    last_modified: DateTime<Utc>,
    max_age_secs: u32,
    extra: &[(header::HeaderName, String)],
) -> Response {
    rendered_response(
        req_headers,
        &cache::Rendered::new(body),
        content_type,
        last_modified,
        max_age_secs,
        extra,
    )
}

/// An HTTP date (RFC 9110 5.6.7, IMF-fixdate) header value. A snapshot's time is the same for
/// every answer until the next swap, so each thread keeps the last one it wrote: formatting
/// with chrono on every request was a few percent of a 304.
fn http_date(t: DateTime<Utc>) -> Option<HeaderValue> {
    use std::cell::RefCell;
    thread_local! {
        static LAST: RefCell<Option<(DateTime<Utc>, HeaderValue)>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((at, v)) = last.as_ref()
            && *at == t
        {
            return Some(v.clone());
        }
        let v = HeaderValue::from_str(&t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).ok()?;
        *last = Some((t, v.clone()));
        Some(v)
    })
}

/// A cached rendering as a response: 304 when `If-None-Match` names it, else the body in the
/// best coding the client accepts, with ETag, Last-Modified, Cache-Control and
/// `Vary: Accept-Encoding`.
pub fn rendered_response(
    req_headers: &HeaderMap,
    rendered: &cache::Rendered,
    content_type: &'static str,
    last_modified: DateTime<Utc>,
    max_age_secs: u32,
    extra: &[(header::HeaderName, String)],
) -> Response {
    use cache::Coding;
    let (body, coding, tag) = rendered.encoded(Coding::negotiate(req_headers));
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, v);
    }
    if let Some(v) = http_date(last_modified) {
        headers.insert(header::LAST_MODIFIED, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age_secs}")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name.clone(), v);
        }
    }
    let since = req_headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok());
    let unchanged_since = !req_headers.contains_key(header::IF_NONE_MATCH)
        && since.is_some_and(|t| last_modified.timestamp() <= t.timestamp());
    if rendered.not_modified(req_headers) || unchanged_since {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(enc) = coding.header() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    (StatusCode::OK, headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RELIABILITY.md row 25: absurd windows are refused with the parameter named.
    #[test]
    fn row25_absurd_date_windows_are_refused() {
        let e = parse_query(Some("from=1900-01-01&to=2900-01-01")).unwrap_err();
        assert_eq!(
            (e.status, e.parameter),
            (StatusCode::BAD_REQUEST, Some("to"))
        );
        let e = parse_query(Some("from=2026-01-01&to=2100-01-01")).unwrap_err();
        assert_eq!(e.parameter, Some("to"));
        let e = parse_query(Some("to=2026-01-01&from=2026-02-01")).unwrap_err();
        assert_eq!(e.parameter, Some("to"));
        let q = parse_query(Some(
            "from=2026-12-01&to=2026-12-31&category=Musik,Kinder&category=Theater&limit=50",
        ))
        .unwrap();
        assert_eq!(q.filter.categories, ["Musik", "Kinder", "Theater"]);
        assert_eq!(q.limit, Some(50));
        assert_eq!(
            parse_query(Some("limit=5000")).unwrap_err().parameter,
            Some("limit")
        );
    }

    #[test]
    fn http_dates_are_imf_fixdates_of_the_time_asked_for() {
        let a: DateTime<Utc> = "2026-03-01T09:05:07Z".parse().unwrap();
        let b: DateTime<Utc> = "1994-11-06T08:49:37Z".parse().unwrap();
        // Twice each, alternating: the kept value never answers for another time.
        for _ in 0..2 {
            assert_eq!(http_date(a).unwrap(), "Sun, 01 Mar 2026 09:05:07 GMT");
            assert_eq!(http_date(b).unwrap(), "Sun, 06 Nov 1994 08:49:37 GMT");
        }
    }

    #[test]
    fn text_search_and_free_are_parsed_and_checked() {
        let q = parse_query(Some("q=B%C3%BCrgerhaus+Caf%C3%A9&free=1")).unwrap();
        assert_eq!(q.filter.text.as_deref(), Some("Bürgerhaus Café"));
        assert!(q.filter.free);
        let q = parse_query(Some("q=&free=0")).unwrap();
        assert_eq!((q.filter.text, q.filter.free), (None, false));
        assert_eq!(
            parse_query(Some("free=maybe")).unwrap_err().parameter,
            Some("free")
        );
        let long = format!("q={}", "a".repeat(MAX_QUERY_CHARS + 1));
        assert_eq!(parse_query(Some(&long)).unwrap_err().parameter, Some("q"));
    }
}

//! Optional geocoding of addresses no venue matched, through a Nominatim-compatible service.
//!
//! Off unless the operator sets `[geocoder] url` (e.g. a self-hosted Nominatim's `/search`).
//! Requests go through the one fetch client ([`crate::fetch::Fetcher`], with its address guard,
//! caps and deadline), at most `per_second` per second (Nominatim's usage policy allows one) and
//! at most `max_per_fetch` new lookups per source fetch, so a feed full of new addresses cannot
//! hold an ingest up; the rest are looked up at the next fetch. Every answer, "not found"
//! included, is kept in a [`Cache`] (the store implements it), so an address is asked for
//! once.

use crate::fetch::Fetcher;
use crate::model::Geo;
use crate::settings::SettingError;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;

/// `[geocoder]` settings.
#[derive(Debug, Clone)]
pub struct GeocoderConfig {
    /// The search endpoint; `q` and `format=jsonv2` are added.
    pub url: url::Url,
    pub per_second: u32,
    pub max_per_fetch: usize,
}

/// `[geocoder]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGeocoder {
    url: String,
    per_second: Option<u32>,
    max_per_fetch: Option<usize>,
}

impl RawGeocoder {
    /// Validates `[geocoder]`.
    pub fn build(self) -> Result<GeocoderConfig, SettingError> {
        let url = url::Url::parse(self.url.trim())
            .ok()
            .filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.username().is_empty()
                    && u.password().is_none()
            })
            .ok_or_else(|| {
                SettingError::new(
                    "geocoder.url",
                    format!("{:?} is not an http(s) URL without credentials", self.url),
                )
            })?;
        let per_second = self.per_second.unwrap_or(1);
        if !(1..=50).contains(&per_second) {
            return Err(SettingError::new("geocoder.per_second", "must be 1 to 50"));
        }
        Ok(GeocoderConfig {
            url,
            per_second,
            max_per_fetch: self.max_per_fetch.unwrap_or(20),
        })
    }
}

/// Where geocoder answers are kept between fetches. The store implements it and the app hands
/// it in, so neither fetching nor geocoding knows the store.
pub trait Cache: Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    /// A cached answer: `Some(None)` for "not found", `None` when the query was never asked.
    fn geocode_cached(
        &self,
        query: &str,
    ) -> impl Future<Output = Result<Option<Cached>, Self::Error>> + Send;

    /// Caches an answer.
    fn save_geocode(
        &self,
        query: &str,
        answer: Cached,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The geocoder with its rate limiter.
#[derive(Clone)]
pub struct Geocoder {
    config: GeocoderConfig,
    limiter: Arc<governor::DefaultDirectRateLimiter>,
}

/// A cached answer: coordinates, or none found.
pub type Cached = Option<Geo>;

impl std::fmt::Debug for Geocoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geocoder")
            .field("config", &self.config)
            .finish()
    }
}

impl Geocoder {
    /// A geocoder for these settings.
    pub fn new(config: GeocoderConfig) -> Geocoder {
        let rate = NonZeroU32::new(config.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = governor::RateLimiter::direct(governor::Quota::per_second(rate));
        Geocoder {
            config,
            limiter: Arc::new(limiter),
        }
    }

    /// The request URL for a query.
    pub fn request_url(&self, query: &str) -> url::Url {
        let mut u = self.config.url.clone();
        u.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("format", "jsonv2")
            .append_pair("limit", "1");
        u
    }

    /// Looks up a query: from the cache, else from the service (rate limited). `None` when
    /// the service failed (nothing is cached then, so it is asked again later).
    pub async fn lookup<C: Cache>(
        &self,
        fetcher: &Fetcher,
        cache: &C,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Cached>, C::Error> {
        if let Some(hit) = cache.geocode_cached(query).await? {
            return Ok(Some(hit));
        }
        self.limiter.until_ready().await;
        let body = match fetcher.fetch_page(&self.request_url(query)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(query, error = %e, "Geocoder request failed.");
                return Ok(None);
            }
        };
        let answer = match parse_answer(&body.bytes) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(query, error = %e, "Geocoder answer unusable.");
                return Ok(None);
            }
        };
        cache.save_geocode(query, answer, now).await?;
        Ok(Some(answer))
    }

    /// New lookups allowed per source fetch.
    pub fn max_per_fetch(&self) -> usize {
        self.config.max_per_fetch
    }
}

/// Reads a Nominatim answer: a JSON array whose first element has `lat` and `lon` (strings
/// or numbers); an empty array means "not found".
pub fn parse_answer(bytes: &[u8]) -> Result<Cached, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let list = v.as_array().ok_or("not a JSON array")?;
    let Some(first) = list.first() else {
        return Ok(None);
    };
    let num = |k: &str| -> Option<f64> {
        match &first[k] {
            serde_json::Value::String(s) => s.trim().parse().ok(),
            serde_json::Value::Number(n) => n.as_f64(),
            _ => None,
        }
    };
    match (num("lat"), num("lon")) {
        (Some(lat), Some(lon)) => Geo::new(lat, lon)
            .map(Some)
            .ok_or_else(|| format!("coordinates {lat}, {lon} out of range")),
        _ => Err("first result has no lat/lon".into()),
    }
}

/// The query for an event's place: its address if it has one, else the location text.
pub fn query_for(ev: &crate::model::Event) -> Option<String> {
    if let Some(a) = &ev.address {
        let parts: Vec<&str> = [
            a.street.as_deref(),
            a.postal_code.as_deref(),
            a.locality.as_deref(),
            a.country.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .collect();
        if parts.len() >= 2 {
            return Some(parts.join(", "));
        }
    }
    ev.location
        .as_deref()
        .map(str::trim)
        .filter(|l| l.len() >= 3)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(
            parse_answer(br#"[{"lat": "51.5141", "lon": "7.4662", "display_name": "x"}]"#),
            Ok(Geo::new(51.5141, 7.4662))
        );
        assert_eq!(
            parse_answer(br#"[{"lat": 51.5, "lon": 7.4}]"#),
            Ok(Geo::new(51.5, 7.4))
        );
        assert_eq!(parse_answer(b"[]"), Ok(None));
        assert!(parse_answer(b"{}").is_err());
        assert!(parse_answer(br#"[{"lat": "x"}]"#).is_err());
        assert!(parse_answer(br#"[{"lat": "95", "lon": "7"}]"#).is_err());
    }

    #[test]
    fn queries_prefer_the_address() {
        let mut ev = crate::model::Event::new(
            "u",
            "t",
            crate::model::EventTime::Date {
                date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            },
            crate::model::EventTime::Date {
                date: chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            },
        );
        assert_eq!(query_for(&ev), None);
        ev.location = Some("Gemeindehaus Nord".into());
        assert_eq!(query_for(&ev).as_deref(), Some("Gemeindehaus Nord"));
        ev.address = Some(Box::new(crate::model::Address {
            street: Some("Lindenweg 3".into()),
            locality: Some("Musterstadt".into()),
            ..Default::default()
        }));
        assert_eq!(query_for(&ev).as_deref(), Some("Lindenweg 3, Musterstadt"));
    }
}

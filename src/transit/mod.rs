//! Public transport and bike sharing near a place: the transit layer.
//!
//! Given a venue's coordinates, this module answers "how do I get there without a car":
//!
//! * [`gtfs`] loads a GTFS static feed (a folder or a `.zip`) into a compact [`gtfs::Gtfs`]:
//!   the stops with a spatial index, the lines serving each stop, and per stop and service the
//!   sorted departure times, so that [`gtfs::Gtfs::nearest`] lists the stops within walking
//!   distance and [`gtfs::Gtfs::last_departure`] gives the "last connection home" hint.
//! * [`gbfs`] parses a GBFS `station_information.json` (1.x, 2.x and 3.0) into bike-sharing
//!   stations with their capacity and indexes them the same way ([`gbfs::BikeIndex::nearest`]).
//! * [`journey_link`] fills the operator's journey-planner URL template for one occurrence.
//!
//! [`TransitConfig`] is the runtime-independent description (filled from `[transit]` in the
//! configuration); [`TransitConfig::build`] loads it into a [`Transit`]. Nothing here fetches
//! over HTTP: a GBFS URL is fetched by the caller through [`crate::fetch`] and handed to
//! [`gbfs::parse_station_information`].
//!
//! Distances are great-circle distances (haversine, mean Earth radius) from the `geo` crate;
//! the walking estimate assumes paths 30 % longer than the straight line at 80 m per minute.

pub mod gbfs;
pub mod gtfs;

use chrono::{DateTime, SecondsFormat, TimeZone};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use std::fmt::Display;
use std::path::PathBuf;

pub use gbfs::{BikeIndex, GbfsLocation, Station, StationHit, parse_station_information};
pub use gtfs::{Gtfs, GtfsStats, LastDeparture, Line, Mode, StopHit};

/// The default search radius around a venue, in metres.
pub const DEFAULT_RADIUS_M: f64 = 600.0;

/// Walking speed used for [`walk_minutes`], in metres per minute.
pub const WALK_M_PER_MIN: f64 = 80.0;

/// Detour factor between the straight line and the walked path.
pub const WALK_DETOUR: f64 = 1.3;

/// Everything that can go wrong while loading transit data.
#[derive(Debug, thiserror::Error)]
pub enum TransitError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `.zip` GTFS feed could not be opened or one of its members not read.
    #[error("cannot read GTFS archive {path}: {source}")]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    /// A file the GTFS feed must contain is absent.
    #[error("GTFS feed {feed}: required file {file} is missing")]
    MissingFile { feed: PathBuf, file: &'static str },
    /// A required column is absent from a file's header row.
    #[error("{file}: required column `{column}` is missing from the header")]
    MissingColumn {
        file: &'static str,
        column: &'static str,
    },
    /// A row's required value is empty or malformed.
    #[error("{file} line {line}, column `{column}`: {reason}")]
    BadValue {
        file: &'static str,
        line: u64,
        column: &'static str,
        reason: String,
    },
    /// The CSV itself is malformed (e.g. an unterminated quote, invalid UTF-8 in a header).
    #[error("{file} line {line}: {source}")]
    Csv {
        file: &'static str,
        line: u64,
        #[source]
        source: csv::Error,
    },
    /// A GBFS document is not valid JSON of the expected shape.
    #[error("GBFS station_information: {0}")]
    Gbfs(String),
    /// A configuration value is out of range.
    #[error("transit configuration: {0}")]
    Config(String),
}

/// Shorthand for results of this module.
pub type Result<T, E = TransitError> = std::result::Result<T, E>;

/// The `[transit]` settings, independent of how they are read.
#[derive(Debug, Clone, PartialEq)]
pub struct TransitConfig {
    /// GTFS static feed: a folder with the `.txt` files or a `.zip` of them.
    pub gtfs: Option<PathBuf>,
    /// GBFS `station_information.json`: a local file or an http(s) URL.
    pub gbfs: Option<GbfsLocation>,
    /// Search radius around a venue, in metres.
    pub radius_m: f64,
    /// Journey-planner URL template with `{lat}`, `{lon}`, `{name}` and `{start}`.
    pub journey_url: Option<String>,
}

/// `[transit]` as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTransit {
    gtfs: Option<PathBuf>,
    gbfs: Option<String>,
    radius_m: Option<f64>,
    journey_url: Option<String>,
}

impl RawTransit {
    /// The settings, with paths relative to `base` (the GBFS URL is fetched when the app
    /// opens; the GTFS feed is loaded by [`TransitConfig::build`]).
    pub fn settings(&self, base: &std::path::Path) -> TransitConfig {
        TransitConfig {
            gtfs: self.gtfs.as_ref().map(|p| base.join(p)),
            gbfs: self.gbfs.as_deref().map(|g| match GbfsLocation::parse(g) {
                GbfsLocation::Path(p) => GbfsLocation::Path(base.join(p)),
                url => url,
            }),
            radius_m: self.radius_m.unwrap_or(DEFAULT_RADIUS_M),
            journey_url: self.journey_url.clone(),
        }
    }
}

impl Default for TransitConfig {
    fn default() -> Self {
        TransitConfig {
            gtfs: None,
            gbfs: None,
            radius_m: DEFAULT_RADIUS_M,
            journey_url: None,
        }
    }
}

/// The loaded transit layer.
#[derive(Debug)]
pub struct Transit {
    /// The GTFS feed, when configured.
    pub gtfs: Option<Gtfs>,
    /// Bike-sharing stations: loaded here for a file; for a URL the caller fetches the body
    /// and sets this from [`parse_station_information`].
    pub bikes: Option<BikeIndex>,
    /// Search radius around a venue, in metres.
    pub radius_m: f64,
    /// Journey-planner URL template.
    pub journey_url: Option<String>,
}

impl TransitConfig {
    /// Checks the values without touching the file system.
    pub fn validate(&self) -> Result<()> {
        if !(self.radius_m.is_finite() && self.radius_m > 0.0 && self.radius_m <= 50_000.0) {
            return Err(TransitError::Config(format!(
                "radius_m must be between 0 and 50000 metres, got {}",
                self.radius_m
            )));
        }
        if let Some(template) = &self.journey_url
            && !(template.starts_with("https://") || template.starts_with("http://"))
        {
            return Err(TransitError::Config(format!(
                "journey_url must be an http(s) URL template, got {template:?}"
            )));
        }
        Ok(())
    }

    /// Validates and loads the GTFS feed and a GBFS file. A GBFS URL is left to the caller
    /// (`bikes` is `None` then), as all HTTP goes through [`crate::fetch`].
    pub fn build(&self) -> Result<Transit> {
        self.validate()?;
        let gtfs = match &self.gtfs {
            Some(path) => Some(Gtfs::load(path)?),
            None => None,
        };
        let bikes = match &self.gbfs {
            Some(GbfsLocation::Path(path)) => Some(BikeIndex::load_file(path)?),
            Some(GbfsLocation::Url(_)) | None => None,
        };
        Ok(Transit {
            gtfs,
            bikes,
            radius_m: self.radius_m,
            journey_url: self.journey_url.clone(),
        })
    }
}

/// Minutes to walk `distance_m` metres of straight-line distance, rounded up.
pub fn walk_minutes(distance_m: f64) -> u32 {
    if !(distance_m.is_finite() && distance_m > 0.0) {
        return 0;
    }
    // Saturating float-to-int conversion; distances within the radius are far below u32::MAX.
    (distance_m * WALK_DETOUR / WALK_M_PER_MIN).ceil() as u32
}

/// Characters escaped in a filled-in template: everything but RFC 3986 "unreserved".
const TEMPLATE_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Fills a journey-planner URL template for a trip to `name` at (`lat`, `lon`) arriving for
/// `start`.
///
/// Placeholders: `{lat}` and `{lon}` (decimal degrees, up to 6 decimals), `{name}` (UTF-8,
/// percent-encoded) and `{start}` (RFC 3339 with the offset of `start`, e.g.
/// `2026-06-01T19:30:00+02:00`, percent-encoded). Every value is encoded so that only RFC 3986
/// unreserved characters stay literal, which is safe in a path and in a query. The template is
/// scanned once, so a name containing `{lat}` is not substituted again; unknown placeholders
/// stay as they are.
///
/// ```
/// use chrono::{FixedOffset, TimeZone};
/// let start = FixedOffset::east_opt(7200).unwrap().with_ymd_and_hms(2026, 6, 1, 19, 30, 0).unwrap();
/// let url = regiocal::transit::journey_link(
///     "https://planner.example/?to={lat},{lon}&name={name}&at={start}",
///     51.5136, 7.4653, "Theater & Oper", start,
/// );
/// assert_eq!(
///     url,
///     "https://planner.example/?to=51.5136,7.4653&name=Theater%20%26%20Oper&at=2026-06-01T19%3A30%3A00%2B02%3A00"
/// );
/// ```
pub fn journey_link<Tz>(
    template: &str,
    lat: f64,
    lon: f64,
    name: &str,
    start: DateTime<Tz>,
) -> String
where
    Tz: TimeZone,
    Tz::Offset: Display,
{
    let mut out = String::with_capacity(template.len() + name.len() * 3 + 40);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let value = [
            ("{lat}", Placeholder::Lat),
            ("{lon}", Placeholder::Lon),
            ("{name}", Placeholder::Name),
            ("{start}", Placeholder::Start),
        ]
        .into_iter()
        .find(|(key, _)| after.starts_with(key));
        match value {
            Some((key, which)) => {
                match which {
                    Placeholder::Lat => out.push_str(&format_degrees(lat)),
                    Placeholder::Lon => out.push_str(&format_degrees(lon)),
                    Placeholder::Name => {
                        out.extend(utf8_percent_encode(name, TEMPLATE_VALUE));
                    }
                    Placeholder::Start => {
                        let text = start.to_rfc3339_opts(SecondsFormat::Secs, true);
                        out.extend(utf8_percent_encode(&text, TEMPLATE_VALUE));
                    }
                }
                rest = &after[key.len()..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[derive(Clone, Copy)]
enum Placeholder {
    Lat,
    Lon,
    Name,
    Start,
}

/// Decimal degrees with at most 6 decimals (about 0.1 m) and no trailing zeros.
fn format_degrees(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Mean Earth radius used by [`geo::Haversine`], in metres.
fn earth_radius_m() -> f64 {
    geo::Haversine.radius()
}

/// An R-tree over points (longitude, latitude) carrying an index into the owner's table; the
/// one spatial lookup shared by GTFS stops and GBFS stations.
#[derive(Debug, Clone)]
pub(crate) struct PointIndex {
    tree: RTree<GeomWithData<[f64; 2], u32>>,
    /// Latitude and longitude by item index, for the exact distance.
    coords: Vec<(f64, f64)>,
}

impl PointIndex {
    /// Builds the index; `coords[i]` is item `i`'s (latitude, longitude).
    pub(crate) fn new(coords: Vec<(f64, f64)>) -> PointIndex {
        let points = coords
            .iter()
            .enumerate()
            .filter_map(|(i, &(lat, lon))| {
                u32::try_from(i)
                    .ok()
                    .map(|i| GeomWithData::new([lon, lat], i))
            })
            .collect();
        PointIndex {
            tree: RTree::bulk_load(points),
            coords,
        }
    }

    /// Items within `radius_m` of (`lat`, `lon`) as (item index, distance in metres), nearest
    /// first (ties by index), at most `max`.
    ///
    /// The radius becomes the exact bounding box of the spherical cap (wider in longitude
    /// towards the poles, the whole longitude range when the cap contains a pole, split in two
    /// across the antimeridian); candidates in the box are then filtered by their haversine
    /// distance, which is `<= radius_m` for a hit.
    pub(crate) fn within(&self, lat: f64, lon: f64, radius_m: f64, max: usize) -> Vec<(u32, f64)> {
        if max == 0
            || !(lat.is_finite() && lon.is_finite() && radius_m.is_finite())
            || radius_m < 0.0
            || !(-90.0..=90.0).contains(&lat)
        {
            return Vec::new();
        }
        let mut hits = Vec::new();
        for envelope in envelopes(lat, lon, radius_m) {
            for item in self.tree.locate_in_envelope(&envelope) {
                let index = item.data;
                let Some(&(slat, slon)) = self.coords.get(index as usize) else {
                    continue;
                };
                let d = crate::compare::distance_m(
                    crate::model::Geo { lat, lon },
                    crate::model::Geo {
                        lat: slat,
                        lon: slon,
                    },
                );
                if d <= radius_m {
                    hits.push((index, d));
                }
            }
        }
        hits.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        hits.dedup_by_key(|h| h.0);
        hits.truncate(max);
        hits
    }

    pub(crate) fn len(&self) -> usize {
        self.coords.len()
    }
}

/// The query boxes (longitude, latitude) covering the spherical cap of `radius_m` around a
/// point, with a small margin against rounding.
fn envelopes(lat: f64, lon: f64, radius_m: f64) -> Vec<AABB<[f64; 2]>> {
    let angular = radius_m / earth_radius_m(); // radians
    let margin = 1e-9;
    let dlat = angular.to_degrees() + margin;
    let lat_min = (lat - dlat).max(-90.0);
    let lat_max = (lat + dlat).min(90.0);
    let lat_r = lat.to_radians();
    // The cap contains a pole (or the radius is half the globe): every longitude.
    if angular >= std::f64::consts::FRAC_PI_2 - lat_r.abs() {
        return vec![AABB::from_corners([-180.0, lat_min], [180.0, lat_max])];
    }
    let dlon = (angular.sin() / lat_r.cos())
        .clamp(-1.0, 1.0)
        .asin()
        .to_degrees()
        + margin;
    if dlon >= 180.0 {
        return vec![AABB::from_corners([-180.0, lat_min], [180.0, lat_max])];
    }
    let (west, east) = (lon - dlon, lon + dlon);
    let mut boxes = vec![AABB::from_corners(
        [west.max(-180.0), lat_min],
        [east.min(180.0), lat_max],
    )];
    if west < -180.0 {
        boxes.push(AABB::from_corners(
            [west + 360.0, lat_min],
            [180.0, lat_max],
        ));
    }
    if east > 180.0 {
        boxes.push(AABB::from_corners(
            [-180.0, lat_min],
            [east - 360.0, lat_max],
        ));
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn walk_minutes_round_up() {
        assert_eq!(walk_minutes(0.0), 0);
        assert_eq!(walk_minutes(1.0), 1);
        // 400 m * 1.3 / 80 = 6.5 -> 7
        assert_eq!(walk_minutes(400.0), 7);
        // 800 m * 1.3 / 80 = 13 exactly
        assert_eq!(walk_minutes(800.0), 13);
        assert_eq!(walk_minutes(f64::NAN), 0);
    }

    #[test]
    fn degrees_are_trimmed() {
        assert_eq!(format_degrees(51.5), "51.5");
        assert_eq!(format_degrees(7.0), "7");
        assert_eq!(format_degrees(7.123_456_789), "7.123457");
        assert_eq!(format_degrees(-0.000_000_1), "0");
        assert_eq!(format_degrees(-12.25), "-12.25");
    }

    #[test]
    fn template_scan_is_single_pass() {
        let start = FixedOffset::east_opt(0)
            .and_then(|o| o.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single())
            .unwrap();
        let url = journey_link("x{name}y{unknown}{lat", 1.0, 2.0, "{lat}", start);
        assert_eq!(url, "x%7Blat%7Dy{unknown}{lat");
    }

    #[test]
    fn index_across_the_antimeridian_and_near_the_pole() {
        let index = PointIndex::new(vec![
            (0.0, 179.999),
            (0.0, -179.999),
            (89.999, 0.0),
            (89.999, 180.0),
        ]);
        let hits = index.within(0.0, 180.0, 500.0, 10);
        let mut found: Vec<u32> = hits.iter().map(|h| h.0).collect();
        found.sort_unstable();
        assert_eq!(found, vec![0, 1]);
        let hits = index.within(90.0, 0.0, 500.0, 10);
        assert_eq!(hits.len(), 2);
    }

    #[test]
    fn config_defaults_and_validation() {
        let config = TransitConfig::default();
        assert_eq!(config.radius_m, 600.0);
        assert!(config.validate().is_ok());
        let bad = TransitConfig {
            radius_m: -1.0,
            ..TransitConfig::default()
        };
        assert!(matches!(bad.validate(), Err(TransitError::Config(_))));
        let bad = TransitConfig {
            journey_url: Some("javascript:alert(1)".into()),
            ..TransitConfig::default()
        };
        assert!(bad.validate().is_err());
        let transit = TransitConfig::default().build().unwrap();
        assert!(transit.gtfs.is_none() && transit.bikes.is_none());
    }
}

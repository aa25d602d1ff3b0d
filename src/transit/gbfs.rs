//! GBFS bike sharing: stations from `station_information.json` and the nearest ones to a point.
//!
//! [`parse_station_information`] accepts the shapes of GBFS 1.x, 2.x and 3.0: a document with
//! `data.stations[]`, each with `station_id`, `name`, `lat`, `lon` and an optional `capacity`.
//! In 3.0 `name` is an array of localised strings (`[{"text": ..., "language": ...}]`); the
//! first non-empty text is taken. Ids given as numbers and coordinates given as numeric strings
//! (seen in older feeds) are accepted. A station without an id or with unusable coordinates is
//! skipped with a warning; a document that is not JSON or has no `data.stations` array is an
//! error.

use super::{PointIndex, Result, TransitError, walk_minutes};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where the GBFS `station_information.json` comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum GbfsLocation {
    /// A local file.
    Path(PathBuf),
    /// An http(s) URL, fetched by the caller through the project's fetch layer.
    Url(String),
}

impl GbfsLocation {
    /// An `http://` or `https://` value is a URL, anything else a path.
    pub fn parse(value: &str) -> GbfsLocation {
        let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            GbfsLocation::Url(value.to_owned())
        } else {
            GbfsLocation::Path(PathBuf::from(value))
        }
    }
}

impl From<String> for GbfsLocation {
    fn from(value: String) -> Self {
        GbfsLocation::parse(&value)
    }
}

/// A bike-sharing station.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Station {
    pub station_id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// Number of docks or parking spaces, when published.
    pub capacity: Option<u32>,
}

/// A station within the search radius.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationHit {
    pub station_id: String,
    pub name: String,
    /// Straight-line (great-circle) distance in metres.
    pub distance_m: f64,
    /// Estimated walk in minutes, rounded up.
    pub walk_min: u32,
    pub capacity: Option<u32>,
}

/// Parses a GBFS `station_information.json` document.
pub fn parse_station_information(bytes: &[u8]) -> Result<Vec<Station>> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| TransitError::Gbfs(format!("not valid JSON: {e}")))?;
    let stations = doc
        .pointer("/data/stations")
        .and_then(Value::as_array)
        .ok_or_else(|| TransitError::Gbfs("no `data.stations` array".into()))?;
    let mut out = Vec::with_capacity(stations.len());
    let mut skipped = 0usize;
    for station in stations {
        match parse_station(station) {
            Some(s) => out.push(s),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::warn!(
            skipped,
            kept = out.len(),
            "Skipped GBFS stations without an id or usable coordinates."
        );
    }
    Ok(out)
}

fn parse_station(value: &Value) -> Option<Station> {
    let station_id = match value.get("station_id")? {
        Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let lat = coordinate(value.get("lat")?).filter(|l| (-90.0..=90.0).contains(l))?;
    let lon = coordinate(value.get("lon")?).filter(|l| (-180.0..=180.0).contains(l))?;
    let name = match value.get("name") {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(|n| n.get("text").and_then(Value::as_str))
            .map(str::trim)
            .find(|t| !t.is_empty())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    let capacity = value
        .get("capacity")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok());
    Some(Station {
        station_id,
        name,
        lat,
        lon,
        capacity,
    })
}

fn coordinate(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|v: &f64| v.is_finite())
}

/// Bike-sharing stations with a spatial index.
#[derive(Debug, Clone)]
pub struct BikeIndex {
    stations: Vec<Station>,
    index: PointIndex,
}

impl BikeIndex {
    /// Indexes the stations.
    pub fn new(stations: Vec<Station>) -> BikeIndex {
        let coords = stations.iter().map(|s| (s.lat, s.lon)).collect();
        BikeIndex {
            index: PointIndex::new(coords),
            stations,
        }
    }

    /// Reads and indexes a `station_information.json` file.
    pub fn load_file(path: &Path) -> Result<BikeIndex> {
        let bytes = std::fs::read(path).map_err(|source| TransitError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(BikeIndex::new(parse_station_information(&bytes)?))
    }

    /// All stations, in document order.
    pub fn stations(&self) -> &[Station] {
        &self.stations
    }

    /// Stations within `radius_m` metres of (`lat`, `lon`), nearest first, at most `max`.
    pub fn nearest(&self, lat: f64, lon: f64, radius_m: f64, max: usize) -> Vec<StationHit> {
        self.index
            .within(lat, lon, radius_m, max)
            .into_iter()
            .filter_map(|(i, distance_m)| {
                let s = self.stations.get(i as usize)?;
                Some(StationHit {
                    station_id: s.station_id.clone(),
                    name: s.name.clone(),
                    distance_m,
                    walk_min: walk_minutes(distance_m),
                    capacity: s.capacity,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            GbfsLocation::parse("HTTPS://bikes.example/gbfs/station_information.json"),
            GbfsLocation::Url("HTTPS://bikes.example/gbfs/station_information.json".into())
        );
        assert_eq!(
            GbfsLocation::parse("data/station_information.json"),
            GbfsLocation::Path("data/station_information.json".into())
        );
        assert_eq!(
            GbfsLocation::parse("http"),
            GbfsLocation::Path("http".into())
        );
    }

    #[test]
    fn tolerant_fields_and_skipped_stations() {
        let doc = br#"{"data":{"stations":[
            {"station_id": 17, "name": "A", "lat": "51.5", "lon": 7.4, "capacity": 12},
            {"station_id": "b", "name": [{"text": "", "language": "en"}, {"text": "B", "language": "de"}], "lat": 51.6, "lon": 7.5},
            {"station_id": "c", "name": "no coordinates"},
            {"name": "no id", "lat": 51.0, "lon": 7.0},
            {"station_id": "d", "lat": 91.0, "lon": 7.0}
        ]}}"#;
        let stations = parse_station_information(doc).unwrap();
        assert_eq!(stations.len(), 2);
        assert_eq!(stations[0].station_id, "17");
        assert_eq!(stations[0].lat, 51.5);
        assert_eq!(stations[0].capacity, Some(12));
        assert_eq!(stations[1].name, "B");
        assert_eq!(stations[1].capacity, None);
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(matches!(
            parse_station_information(b"{"),
            Err(TransitError::Gbfs(_))
        ));
        assert!(matches!(
            parse_station_information(br#"{"data":{}}"#),
            Err(TransitError::Gbfs(_))
        ));
    }
}

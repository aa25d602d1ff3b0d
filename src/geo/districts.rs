//! Districts and the region boundary from GeoJSON: which district a point is in, and whether it
//! is inside the region at all.
//!
//! `[geo] districts` is a FeatureCollection of Polygon/MultiPolygon features whose `name`
//! property names the district; `[geo] region` an optional boundary (any polygon features).
//! Holes are respected. A point exactly on a border between two districts belongs to the one
//! listed first in the file, so every point gets at most one district, deterministically.

use crate::model::Geo;
use geo::{Intersects, MultiPolygon, Point, Polygon};
use std::path::{Path, PathBuf};

/// Why a GeoJSON layer cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DistrictsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A named area.
#[derive(Debug, Clone)]
pub struct Area {
    pub name: String,
    pub shape: MultiPolygon<f64>,
}

/// Named areas, in file order.
#[derive(Debug, Clone, Default)]
pub struct Areas {
    pub areas: Vec<Area>,
}

impl Areas {
    /// Reads a FeatureCollection; `need_names` requires a `name` property on each feature.
    pub fn load(path: &Path, need_names: bool) -> Result<Areas, DistrictsError> {
        let text = std::fs::read_to_string(path).map_err(|source| DistrictsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Areas::parse(&text, path, need_names)
    }

    /// Parses a FeatureCollection.
    pub fn parse(text: &str, path: &Path, need_names: bool) -> Result<Areas, DistrictsError> {
        let bad = |message: String| DistrictsError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let fc: geojson::FeatureCollection = text
            .parse::<geojson::GeoJson>()
            .map_err(|e| bad(format!("not GeoJSON: {e}")))?
            .try_into()
            .map_err(|_| bad("not a FeatureCollection".into()))?;
        let mut areas = Vec::with_capacity(fc.features.len());
        for (i, f) in fc.features.into_iter().enumerate() {
            let name = f
                .property("name")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let name = match (name, need_names) {
                (Some(n), _) if !n.trim().is_empty() => n,
                (_, true) => {
                    return Err(bad(format!(
                        "feature #{}: no `name` property (the district's name)",
                        i + 1
                    )));
                }
                _ => format!("#{}", i + 1),
            };
            let Some(geometry) = f.geometry else {
                return Err(bad(format!("feature #{} ({name}): no geometry", i + 1)));
            };
            let shape: geo::Geometry<f64> = geometry
                .try_into()
                .map_err(|e| bad(format!("feature #{} ({name}): {e}", i + 1)))?;
            let shape = match shape {
                geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
                geo::Geometry::MultiPolygon(m) => m,
                other => {
                    return Err(bad(format!(
                        "feature #{} ({name}): a {} is no area (use Polygon or MultiPolygon)",
                        i + 1,
                        kind(&other)
                    )));
                }
            };
            areas.push(Area { name, shape });
        }
        Ok(Areas { areas })
    }

    /// The first area containing the point (its border included).
    pub fn find(&self, g: Geo) -> Option<usize> {
        let p = Point::new(g.lon, g.lat);
        self.areas.iter().position(|a| a.shape.intersects(&p))
    }

    /// Whether any area contains the point.
    pub fn contains(&self, g: Geo) -> bool {
        self.find(g).is_some()
    }
}

fn kind(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_) => "point",
        geo::Geometry::Line(_)
        | geo::Geometry::LineString(_)
        | geo::Geometry::MultiLineString(_) => "line",
        _ => "geometry",
    }
}

/// A polygon from a ring of (lon, lat) pairs (for tests and generated data).
pub fn polygon(ring: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Polygon<f64> {
    Polygon::new(
        ring.to_vec().into(),
        holes.iter().map(|h| h.to_vec().into()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYER: &str = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"name": "Altstadt"},
       "geometry": {"type": "Polygon", "coordinates": [
         [[7.0, 51.0], [7.1, 51.0], [7.1, 51.1], [7.0, 51.1], [7.0, 51.0]],
         [[7.04, 51.04], [7.06, 51.04], [7.06, 51.06], [7.04, 51.06], [7.04, 51.04]]]}},
      {"type": "Feature", "properties": {"name": "Nord"},
       "geometry": {"type": "MultiPolygon", "coordinates": [
         [[[7.0, 51.1], [7.1, 51.1], [7.1, 51.2], [7.0, 51.2], [7.0, 51.1]]],
         [[[7.045, 51.045], [7.055, 51.045], [7.055, 51.055], [7.045, 51.055], [7.045, 51.045]]]]}}
    ]}"#;

    fn at(a: &Areas, lat: f64, lon: f64) -> Option<&str> {
        a.find(Geo::new(lat, lon).unwrap())
            .map(|i| a.areas[i].name.as_str())
    }

    #[test]
    fn districts_borders_and_holes() {
        let a = Areas::parse(LAYER, Path::new("d.geojson"), true).unwrap();
        assert_eq!(at(&a, 51.02, 7.02), Some("Altstadt"));
        assert_eq!(at(&a, 51.15, 7.05), Some("Nord"));
        // On the shared border: the district listed first.
        assert_eq!(at(&a, 51.1, 7.05), Some("Altstadt"));
        // In Altstadt's hole, outside Nord's island: no district.
        assert_eq!(at(&a, 51.042, 7.042), None);
        // In the hole, on Nord's island (an exclave).
        assert_eq!(at(&a, 51.05, 7.05), Some("Nord"));
        // Outside everything.
        assert_eq!(at(&a, 52.0, 7.05), None);
    }

    #[test]
    fn bad_layers_are_named() {
        let err = |t: &str| {
            Areas::parse(t, Path::new("d.geojson"), true)
                .unwrap_err()
                .to_string()
        };
        assert!(err("{").starts_with("d.geojson: not GeoJSON"));
        assert!(
            err(r#"{"type": "Point", "coordinates": [1, 2]}"#).contains("not a FeatureCollection")
        );
        assert!(
            err(r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}"#)
                .contains("feature #1: no `name` property")
        );
        assert!(
            err(r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "X"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}"#)
                .contains("a point is no area")
        );
    }
}

//! Where events take place: the venue registry ([`venues`]), districts and the region boundary
//! ([`districts`]), and the resolved place of every published event ([`Places`]).
//!
//! Places are resolved when a snapshot is built (not when a feed is stored), so a new alias in
//! the venue file or a new district layer applies to every event at the next rebuild, without
//! refetching anything.

pub mod districts;
pub mod geocoder;
pub mod venues;

use crate::model::{Address, Geo};
use crate::settings::SettingError;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use venues::Method;

/// `[geo]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawGeo {
    venues: Option<PathBuf>,
    districts: Option<PathBuf>,
    region: Option<PathBuf>,
    outside_region: Option<String>,
}

/// A `[[venue]]` given inline (the same fields as the columns of the venue file).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVenue {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    street: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    accessibility: Option<String>,
    url: Option<String>,
}

impl RawGeo {
    /// Loads the layers `[geo]` names (relative to `base`) and the inline `[[venue]]`s.
    pub fn build(self, inline: Vec<RawVenue>, base: &Path) -> Result<Layers, SettingError> {
        let mut venues = match &self.venues {
            Some(p) => venues::Registry::load_csv(&base.join(p))
                .map_err(|e| SettingError::new("geo.venues", e.to_string()))?,
            None => Vec::new(),
        };
        for v in inline {
            let key = format!("venue \"{}\"", v.id);
            if v.id.trim().is_empty() || venues.iter().any(|x| x.id == v.id) {
                return Err(SettingError::new(key, "id must be set and unique"));
            }
            if v.name.trim().is_empty() {
                return Err(SettingError::new(key, "name must not be empty"));
            }
            let geo = match (v.lat, v.lon) {
                (None, None) => None,
                (Some(lat), Some(lon)) => Some(Geo::new(lat, lon).ok_or_else(|| {
                    SettingError::new(
                        key.clone(),
                        format!("coordinates {lat}, {lon} are out of range"),
                    )
                })?),
                _ => return Err(SettingError::new(key, "give both lat and lon, or neither")),
            };
            venues.push(venues::Venue {
                id: v.id,
                name: v.name,
                aliases: v.aliases,
                street: v.street,
                postcode: v.postcode,
                city: v.city,
                geo,
                accessibility: v.accessibility,
                url: v.url,
            });
        }
        let layer = |key: &str, path: &Option<PathBuf>, names: bool| match path {
            Some(p) => districts::Areas::load(&base.join(p), names)
                .map_err(|e| SettingError::new(key, e.to_string())),
            None => Ok(districts::Areas::default()),
        };
        Ok(Layers {
            venues: venues::Registry::new(venues),
            districts: layer("geo.districts", &self.districts, true)?,
            region: layer("geo.region", &self.region, false)?,
            drop_outside: match self.outside_region.as_deref() {
                None | Some("keep") => false,
                Some("drop") => true,
                Some(other) => {
                    return Err(SettingError::new(
                        "geo.outside_region",
                        format!("{other:?}: use \"keep\" or \"drop\""),
                    ));
                }
            },
        })
    }
}

/// The geographic layers of the region (from `[geo]`).
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub venues: venues::Registry,
    pub districts: districts::Areas,
    /// The region boundary; empty = no boundary configured.
    pub region: districts::Areas,
    /// Drop events whose place is known to be outside the region.
    pub drop_outside: bool,
}

/// Where one event takes place, as resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Place {
    /// Index into the venue registry.
    pub venue: Option<usize>,
    pub method: Option<Method>,
    /// The event's own coordinates, else the venue's.
    pub geo: Option<Geo>,
    /// Index into the district layer.
    pub district: Option<usize>,
    /// `Some(false)` when a region is configured and the place is outside it.
    pub in_region: Option<bool>,
}

impl Layers {
    /// Resolves the place of an event.
    pub fn place(
        &self,
        location: Option<&str>,
        address: Option<&Address>,
        geo: Option<Geo>,
    ) -> Place {
        let matched = self.venues.resolve(location, address, geo);
        let venue = matched.map(|(i, _)| i);
        let geo = geo.or_else(|| venue.and_then(|v| self.venues.venues[v].geo));
        Place {
            venue,
            method: matched.map(|(_, m)| m),
            geo,
            district: geo.and_then(|g| self.districts.find(g)),
            in_region: match (geo, self.region.areas.is_empty()) {
                (Some(g), false) => Some(self.region.contains(g)),
                _ => None,
            },
        }
    }
}

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
use venues::Method;

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

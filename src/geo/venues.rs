//! The venue registry: the region's places and the spellings sources use for them.
//!
//! Venues come from `[geo] venues = "venues.csv"` (columns: `id`, `name`, `aliases` separated by
//! `|`, `street`, `postcode`, `city`, `lat`, `lon`, `accessibility`, `url`; header row, UTF-8)
//! and from `[[venue]]` blocks of the config. An event's location is matched, in this order:
//!
//! 1. **exact**: the whole location text is the venue's id, name or an alias (normalised: case,
//!    ä/ae, ß/ss, accents, punctuation);
//! 2. **text**: a spelling occurs as whole words in the location ("Stadttheater Musterstadt,
//!    Großes Haus"), or the address's street matches the venue's ("Theaterplatz 1" with
//!    "Str."/"Straße" normalised);
//! 3. **proximity**: the event's coordinates are within [`PROXIMITY_M`] of exactly one venue.
//!
//! Whole-word matching keeps near-duplicates apart: "Stadthalle" does not match
//! "Stadthallen-Café", "Kleine Bühne" does not match "Große Bühne".

use crate::compare::{contains_run, distance_m, words};
use crate::model::{Address, Geo};
use std::path::{Path, PathBuf};

/// Coordinates at most this far from a venue's are that venue (when only one is that close).
pub const PROXIMITY_M: f64 = 50.0;

/// One place of the region.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Venue {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub street: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub geo: Option<Geo>,
    /// Wheelchair access and similar notes.
    pub accessibility: Option<String>,
    pub url: Option<String>,
}

impl Venue {
    /// The postal address as the model writes it.
    pub fn address(&self) -> Option<Address> {
        (self.street.is_some() || self.city.is_some()).then(|| Address {
            street: self.street.clone(),
            postal_code: self.postcode.clone(),
            locality: self.city.clone(),
            region: None,
            country: None,
        })
    }

    /// Street and town in one line ("Theaterplatz 1, 12345 Musterstadt").
    pub fn address_line(&self) -> Option<String> {
        let town = [self.postcode.as_deref(), self.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let parts: Vec<String> = self
            .street
            .iter()
            .cloned()
            .chain((!town.is_empty()).then_some(town))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// An event's location completed with this venue's name and address where they are
    /// missing: "Großes Haus" becomes "Großes Haus, Stadttheater Musterstadt, Theaterplatz 1,
    /// 12345 Musterstadt".
    pub fn full_location(&self, event_location: Option<&str>) -> String {
        let given = event_location.unwrap_or("").trim();
        let have = words(given);
        let mut parts: Vec<String> = Vec::new();
        if !given.is_empty() {
            parts.push(given.to_string());
        }
        if !contains_run(&have, &words(&self.name)) {
            parts.push(self.name.clone());
        }
        if let Some(street) = &self.street
            && !contains_run(&have, &words(street))
        {
            parts.push(street.clone());
        }
        let town = [self.postcode.as_deref(), self.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !town.is_empty() && !contains_run(&have, &words(&town)) {
            parts.push(town);
        }
        parts.join(", ")
    }
}

/// How a location was matched to a venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Exact,
    Text,
    Address,
    Proximity,
}

/// Why the venue file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum VenuesError {
    #[error("cannot read venue file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Invalid {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// All venues and their spellings, ready for matching.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub venues: Vec<Venue>,
    /// (venue index, normalised words of one spelling), longest spellings first.
    spellings: Vec<(usize, Vec<String>)>,
    /// (venue index, normalised street words).
    streets: Vec<(usize, Vec<String>)>,
}

/// Words of a street, with the usual abbreviations spelled out.
fn street_words(s: &str) -> Vec<String> {
    words(s)
        .into_iter()
        .flat_map(|w| {
            let w = if let Some(stem) = w.strip_suffix("str") {
                format!("{stem}strasse")
            } else {
                w
            };
            // "Hauptstraße" and "Haupt Straße" alike.
            match w.strip_suffix("strasse") {
                Some(stem) if !stem.is_empty() => vec![stem.to_string(), "strasse".into()],
                _ => vec![w],
            }
        })
        .collect()
}

impl Registry {
    /// A registry of these venues.
    pub fn new(venues: Vec<Venue>) -> Registry {
        let mut spellings = Vec::new();
        let mut streets = Vec::new();
        for (i, v) in venues.iter().enumerate() {
            for s in [&v.id, &v.name].into_iter().chain(&v.aliases) {
                let w = words(s);
                if !w.is_empty() {
                    spellings.push((i, w));
                }
            }
            if let Some(street) = &v.street {
                let w = street_words(street);
                if !w.is_empty() {
                    streets.push((i, w));
                }
            }
        }
        spellings.sort_by_key(|s| std::cmp::Reverse(s.1.len()));
        Registry {
            venues,
            spellings,
            streets,
        }
    }

    /// Reads a venue CSV file.
    pub fn load_csv(path: &Path) -> Result<Vec<Venue>, VenuesError> {
        let bytes = std::fs::read(path).map_err(|source| VenuesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_csv(&bytes, path)
    }

    /// Parses venue CSV (a BOM is skipped; quoted fields as usual).
    pub fn parse_csv(bytes: &[u8], path: &Path) -> Result<Vec<Venue>, VenuesError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
        let bad = |line: u64, message: String| VenuesError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let headers = reader
            .headers()
            .map_err(|e| bad(1, e.to_string()))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect::<Vec<_>>();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let (Some(id_col), Some(name_col)) = (col("id"), col("name")) else {
            return Err(bad(1, "the header needs at least `id` and `name`".into()));
        };
        let known = [
            "id",
            "name",
            "aliases",
            "street",
            "postcode",
            "city",
            "lat",
            "lon",
            "accessibility",
            "url",
        ];
        if let Some(unknown) = headers.iter().find(|h| !known.contains(&h.as_str())) {
            return Err(bad(
                1,
                format!("unknown column {unknown:?} (known: {})", known.join(", ")),
            ));
        }
        let mut out: Vec<Venue> = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                bad(line, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let field = |c: Option<usize>| {
                c.and_then(|c| record.get(c))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            let id = field(Some(id_col)).ok_or_else(|| bad(line, "empty `id`".into()))?;
            let name = field(Some(name_col)).ok_or_else(|| bad(line, "empty `name`".into()))?;
            if out.iter().any(|v| v.id == id) {
                return Err(bad(line, format!("venue id {id:?} appears twice")));
            }
            let number = |c: &str| -> Result<Option<f64>, VenuesError> {
                field(col(c))
                    .map(|v| {
                        v.replace(',', ".")
                            .parse::<f64>()
                            .map_err(|_| bad(line, format!("`{c}`: {v:?} is not a number")))
                    })
                    .transpose()
            };
            let geo = match (number("lat")?, number("lon")?) {
                (Some(lat), Some(lon)) => Some(Geo::new(lat, lon).ok_or_else(|| {
                    bad(line, format!("coordinates {lat}, {lon} are out of range"))
                })?),
                (None, None) => None,
                _ => return Err(bad(line, "give both `lat` and `lon`, or neither".into())),
            };
            let url = field(col("url"));
            if let Some(u) = &url
                && crate::normalize::text::http_url(u).is_none()
            {
                return Err(bad(line, format!("`url` {u:?} is not an http(s) URL")));
            }
            out.push(Venue {
                id,
                name,
                aliases: field(col("aliases"))
                    .map(|a| {
                        a.split('|')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                street: field(col("street")),
                postcode: field(col("postcode")),
                city: field(col("city")),
                geo,
                accessibility: field(col("accessibility")),
                url,
            });
        }
        Ok(out)
    }

    /// The venue a location text names (exact or text match).
    pub fn lookup(&self, location: &str) -> Option<usize> {
        self.match_text(location).map(|(i, _)| i)
    }

    fn match_text(&self, location: &str) -> Option<(usize, Method)> {
        let text = words(location);
        if text.is_empty() {
            return None;
        }
        if let Some((i, _)) = self.spellings.iter().find(|(_, s)| *s == text) {
            return Some((*i, Method::Exact));
        }
        self.spellings
            .iter()
            .find(|(_, s)| contains_run(&text, s))
            .map(|(i, _)| (*i, Method::Text))
    }

    /// Matches an event's place to a venue: location text, then address street, then
    /// coordinates.
    pub fn resolve(
        &self,
        location: Option<&str>,
        address: Option<&Address>,
        geo: Option<Geo>,
    ) -> Option<(usize, Method)> {
        if self.venues.is_empty() {
            return None;
        }
        if let Some(m) = location.and_then(|l| self.match_text(l)) {
            return Some(m);
        }
        // A street in the address or after the first comma of the location.
        let street = address.and_then(|a| a.street.clone()).or_else(|| {
            location
                .and_then(|l| l.split(',').nth(1))
                .map(str::to_string)
        });
        if let Some(street) = street {
            let w = street_words(&street);
            if !w.is_empty()
                && let Some((i, _)) = self.streets.iter().find(|(_, s)| *s == w)
            {
                return Some((*i, Method::Address));
            }
        }
        let g = geo?;
        let mut close = self.venues.iter().enumerate().filter_map(|(i, v)| {
            let d = distance_m(g, v.geo?);
            (d <= PROXIMITY_M).then_some((i, d))
        });
        let first = close.next()?;
        if close.next().is_some() {
            // Two venues that close: the coordinates do not tell which.
            return None;
        }
        Some((first.0, Method::Proximity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let csv = "\u{feff}id,name,aliases,street,postcode,city,lat,lon,accessibility,url\n\
            stadttheater,Stadttheater Musterstadt,\"Großes Haus|Kleines Haus\",Theaterplatz 1,12345,Musterstadt,51.515,7.47,Rollstuhlgerecht,https://theater.example\n\
            stadthalle,Stadthalle,,Hauptstraße 20,12345,Musterstadt,51.512,7.46,,\n\
            cafe,Stadthallen-Café,,Hauptstr. 22,12345,Musterstadt,51.5121,7.4601,,\n\
            kleine-buehne,Kleine Bühne,,Marktstraße 3,12345,Musterstadt,51.517,7.465,,\n\
            buehne-am-markt,Große Bühne am Markt,,Marktplatz 1,12345,Musterstadt,51.5172,7.4652,,\n";
        Registry::new(Registry::parse_csv(csv.as_bytes(), Path::new("venues.csv")).unwrap())
    }

    fn id(
        r: &Registry,
        loc: Option<&str>,
        street: Option<&str>,
        geo: Option<(f64, f64)>,
    ) -> Option<(String, Method)> {
        let addr = street.map(|s| Address {
            street: Some(s.into()),
            ..Default::default()
        });
        r.resolve(loc, addr.as_ref(), geo.and_then(|(a, b)| Geo::new(a, b)))
            .map(|(i, m)| (r.venues[i].id.clone(), m))
    }

    #[test]
    fn matching_table() {
        let r = registry();
        // (location, street, coordinates, expected venue and method)
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<(f64, f64)>,
            Option<(&'a str, Method)>,
        );
        let cases: &[Case<'_>] = &[
            (
                Some("Stadttheater Musterstadt"),
                None,
                None,
                Some(("stadttheater", Method::Exact)),
            ),
            (
                Some("STADTTHEATER musterstadt"),
                None,
                None,
                Some(("stadttheater", Method::Exact)),
            ),
            (
                Some("stadttheater"),
                None,
                None,
                Some(("stadttheater", Method::Exact)),
            ),
            (
                Some("Grosses Haus"),
                None,
                None,
                Some(("stadttheater", Method::Exact)),
            ),
            (
                Some("Stadttheater Musterstadt, Großer Saal"),
                None,
                None,
                Some(("stadttheater", Method::Text)),
            ),
            (
                Some("Großes Haus, Theaterplatz 1"),
                None,
                None,
                Some(("stadttheater", Method::Text)),
            ),
            // Near-duplicates stay apart.
            (
                Some("Stadthallen-Café"),
                None,
                None,
                Some(("cafe", Method::Exact)),
            ),
            (
                Some("Stadthalle"),
                None,
                None,
                Some(("stadthalle", Method::Exact)),
            ),
            (
                Some("Kleine Bühne"),
                None,
                None,
                Some(("kleine-buehne", Method::Exact)),
            ),
            (
                Some("Große Bühne am Markt"),
                None,
                None,
                Some(("buehne-am-markt", Method::Exact)),
            ),
            (Some("Große Bühne"), None, None, None),
            // Street abbreviations.
            (
                Some("Festsaal, Hauptstr. 20"),
                None,
                None,
                Some(("stadthalle", Method::Address)),
            ),
            (
                None,
                Some("Hauptstraße 22"),
                None,
                Some(("cafe", Method::Address)),
            ),
            (
                None,
                Some("Haupt-Straße 20"),
                None,
                Some(("stadthalle", Method::Address)),
            ),
            // Coordinates: one venue within 50 m; two (hall and café, 13 m apart) is ambiguous.
            (
                Some("Irgendwo"),
                None,
                Some((51.5152, 7.4701)),
                Some(("stadttheater", Method::Proximity)),
            ),
            (None, None, Some((51.51205, 7.46005)), None),
            (None, None, Some((51.6, 7.6)), None),
        ];
        for (loc, street, geo, want) in cases {
            let got = id(&r, *loc, *street, *geo);
            let want = want.map(|(i, m)| (i.to_string(), m));
            assert_eq!(got, want, "{loc:?} {street:?} {geo:?}");
        }
    }

    #[test]
    fn csv_errors_name_file_line_and_column() {
        let err = |t: &str| {
            Registry::parse_csv(t.as_bytes(), Path::new("v.csv"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("id,name,lat,lon\na,A,51.5,x\n"),
            "v.csv: line 2: `lon`: \"x\" is not a number"
        );
        assert_eq!(
            err("id,name\na,A\na,B\n"),
            "v.csv: line 3: venue id \"a\" appears twice"
        );
        assert!(err("id,nom\n").contains("needs at least `id` and `name`"));
        assert!(err("id,name,colour\n").contains("unknown column \"colour\""));
        assert!(err("id,name,lat,lon\na,A,95,7\n").contains("out of range"));
        assert!(err("id,name,url\na,A,javascript:alert(1)\n").contains("not an http(s) URL"));
        assert_eq!(
            Registry::parse_csv(
                b"id,name,lat,lon\na,\"A, B\",\"51,5\",7\n",
                Path::new("v.csv")
            )
            .unwrap()[0]
                .geo,
            Geo::new(51.5, 7.0)
        );
    }
}

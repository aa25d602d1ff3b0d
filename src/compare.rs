//! How names and places are compared, by the venue registry ([`crate::geo`]) and by the
//! de-duplication across sources ([`crate::dedupe`]) alike: the word form names are compared
//! in, runs of words, and distances on the ground.

use crate::model::Geo;

/// The words of a text, normalised: lower case, ä→ae, ö→oe, ü→ue, ß→ss, other letters
/// transliterated to ASCII, everything that is not a letter or digit a separator.
pub fn words(text: &str) -> Vec<String> {
    let mut mapped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            'ä' | 'Ä' => mapped.push_str("ae"),
            'ö' | 'Ö' => mapped.push_str("oe"),
            'ü' | 'Ü' => mapped.push_str("ue"),
            'ß' | 'ẞ' => mapped.push_str("ss"),
            c => mapped.push(c),
        }
    }
    let ascii = deunicode::deunicode(&mapped).to_ascii_lowercase();
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `needle` occurs as a contiguous run of words in `hay`.
pub fn contains_run(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Great-circle distance in metres.
pub fn distance_m(a: Geo, b: Geo) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
}

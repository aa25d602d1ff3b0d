//! The region's controlled category vocabulary and the mapping of the sources' own terms.
//!
//! Sources label events with their own words ("Konzert", "Schauspiel", "Kids", "Ratssitzung",
//! "Guided tour"). Before events are stored (and so before de-duplication compares and unites
//! them) every term is mapped to the ids of a small controlled vocabulary (`music`, `theatre`,
//! `exhibition`, ...). The built-in vocabulary knows common German and English terms; the
//! operator adds terms or whole categories with `[[category]]`, and per-source mappings with
//! `[source.category_map]`. Terms that map to nothing are dropped (and counted, so `regiocal
//! check` can list them).

use crate::compare::words;
use crate::settings::SettingError;
use serde::Deserialize;
use std::collections::HashMap;

/// `[categories]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCategories {
    controlled: Option<bool>,
}

/// A `[[category]]`: a new category, or more terms for a built-in one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCategory {
    id: String,
    #[serde(default)]
    de: String,
    #[serde(default)]
    en: String,
    #[serde(default)]
    terms: Vec<String>,
}

/// The vocabulary events are mapped to, and whether the mapping is applied.
#[derive(Debug, Clone)]
pub struct Categories {
    /// The built-in vocabulary, extended by `[[category]]`.
    pub vocabulary: std::sync::Arc<Vocabulary>,
    /// Whether source categories are mapped to the vocabulary (`[categories] controlled`).
    pub controlled: bool,
}

impl RawCategories {
    /// The built-in vocabulary with the `[[category]]` entries added.
    pub fn build(self, added: &[RawCategory]) -> Result<Categories, SettingError> {
        let mut vocabulary = Vocabulary::default();
        for c in added {
            let key = format!("category \"{}\"", c.id);
            if c.id.is_empty()
                || !c
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(SettingError::new(key, "id must be a-z, 0-9 and '-'"));
            }
            if !vocabulary.has(&c.id) && (c.de.trim().is_empty() || c.en.trim().is_empty()) {
                return Err(SettingError::new(
                    key,
                    "a new category needs `de` and `en` labels",
                ));
            }
            vocabulary.add(
                &c.id,
                c.de.trim(),
                c.en.trim(),
                c.terms.iter().map(String::as_str),
            );
        }
        Ok(Categories {
            vocabulary: std::sync::Arc::new(vocabulary),
            controlled: self.controlled.unwrap_or(true),
        })
    }
}

/// One category of the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: String,
    /// Label for residents (German).
    pub de: String,
    /// English label.
    pub en: String,
}

/// Built-in categories: id, German label, English label, terms (German and English).
const BUILT_IN: &[(&str, &str, &str, &[&str])] = &[
    (
        "music",
        "Musik",
        "Music",
        &[
            "musik",
            "music",
            "konzert",
            "konzerte",
            "concert",
            "klassik",
            "classical",
            "jazz",
            "rock",
            "pop",
            "chor",
            "choir",
            "orgelkonzert",
            "kammermusik",
            "liederabend",
            "live musik",
            "livemusik",
            "oper",
            "opera",
            "schlager",
        ],
    ),
    (
        "theatre",
        "Theater",
        "Theatre",
        &[
            "theater",
            "theatre",
            "schauspiel",
            "drama",
            "oper",
            "opera",
            "ballett",
            "ballet",
            "musical",
            "kabarett",
            "cabaret",
            "comedy",
            "kleinkunst",
            "puppentheater",
            "improtheater",
            "tanztheater",
            "buehne",
            "stage",
        ],
    ),
    (
        "exhibition",
        "Ausstellung",
        "Exhibition",
        &[
            "ausstellung",
            "ausstellungen",
            "exhibition",
            "vernissage",
            "finissage",
            "museum",
            "kunst",
            "art",
            "galerie",
            "gallery",
        ],
    ),
    (
        "film",
        "Film",
        "Film",
        &[
            "film",
            "kino",
            "cinema",
            "movie",
            "stummfilm",
            "filmabend",
            "filmvorfuehrung",
        ],
    ),
    (
        "reading",
        "Lesung",
        "Reading",
        &[
            "lesung",
            "lesungen",
            "reading",
            "literatur",
            "literature",
            "buchpremiere",
            "poetry slam",
            "erzaehlcafe",
            "maerchenstunde",
            "vorlesen",
        ],
    ),
    (
        "family",
        "Familie & Kinder",
        "Family & children",
        &[
            "familie",
            "family",
            "kinder",
            "kind",
            "children",
            "kids",
            "jugend",
            "youth",
            "kindertheater",
            "ferienprogramm",
            "maerchen",
        ],
    ),
    (
        "sports",
        "Sport",
        "Sports",
        &[
            "sport",
            "sports",
            "lauf",
            "run",
            "fussball",
            "football",
            "turnier",
            "tournament",
        ],
    ),
    (
        "council",
        "Politik & Rat",
        "Council & politics",
        &[
            "rat",
            "ratssitzung",
            "stadtrat",
            "gemeinderat",
            "kreistag",
            "ausschuss",
            "ausschusssitzung",
            "sitzung",
            "bezirksvertretung",
            "buergerversammlung",
            "council",
            "politik",
            "politics",
        ],
    ),
    (
        "workshop",
        "Workshop & Kurs",
        "Workshop & course",
        &[
            "workshop",
            "workshops",
            "kurs",
            "kurse",
            "course",
            "seminar",
            "werkstatt",
            "mitmachen",
            "ferienworkshop",
        ],
    ),
    (
        "talk",
        "Vortrag & Diskussion",
        "Talk & discussion",
        &[
            "vortrag",
            "vortraege",
            "talk",
            "lecture",
            "diskussion",
            "discussion",
            "podium",
            "podiumsdiskussion",
            "gespraech",
        ],
    ),
    (
        "tour",
        "Führung",
        "Guided tour",
        &[
            "fuehrung",
            "fuehrungen",
            "stadtfuehrung",
            "stadtrundgang",
            "rundgang",
            "stadtspaziergang",
            "stadtteilspaziergang",
            "tour",
            "guided tour",
            "exkursion",
        ],
    ),
    (
        "party",
        "Party & Tanz",
        "Party & dance",
        &[
            "party", "tanz", "dance", "disco", "club", "tanzcafe", "ball",
        ],
    ),
    (
        "festival",
        "Fest & Festival",
        "Festival",
        &[
            "fest",
            "festival",
            "stadtfest",
            "volksfest",
            "kirmes",
            "feier",
            "jubilaeum",
        ],
    ),
    (
        "market",
        "Markt",
        "Market",
        &[
            "markt",
            "market",
            "flohmarkt",
            "flea market",
            "wochenmarkt",
            "weihnachtsmarkt",
            "basar",
        ],
    ),
    (
        "religion",
        "Religion",
        "Religion",
        &[
            "gottesdienst",
            "messe",
            "andacht",
            "religion",
            "service",
            "kirche",
        ],
    ),
];

/// The vocabulary and the term index.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub categories: Vec<Category>,
    /// Normalised term -> category ids.
    terms: HashMap<String, Vec<String>>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        let mut v = Vocabulary {
            categories: Vec::new(),
            terms: HashMap::new(),
        };
        for (id, de, en, terms) in BUILT_IN {
            v.add(id, de, en, terms.iter().copied());
        }
        v
    }
}

/// A term as looked up: its normalised words joined by spaces.
fn normal(term: &str) -> String {
    words(term).join(" ")
}

impl Vocabulary {
    /// Adds a category (or more terms and labels for an existing id).
    pub fn add<'t>(&mut self, id: &str, de: &str, en: &str, terms: impl Iterator<Item = &'t str>) {
        match self.categories.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                if !de.is_empty() {
                    c.de = de.to_string();
                }
                if !en.is_empty() {
                    c.en = en.to_string();
                }
            }
            None => self.categories.push(Category {
                id: id.to_string(),
                de: de.to_string(),
                en: en.to_string(),
            }),
        }
        let own = [id.to_string(), de.to_string(), en.to_string()];
        let given: Vec<String> = terms.map(str::to_string).collect();
        for t in given.iter().chain(own.iter()) {
            let key = normal(t);
            if key.is_empty() {
                continue;
            }
            let ids = self.terms.entry(key).or_default();
            if !ids.iter().any(|x| x == id) {
                ids.push(id.to_string());
            }
        }
    }

    /// A stable digest of the vocabulary's terms (to notice changes).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut terms: Vec<_> = self.terms.iter().collect();
        terms.sort();
        let mut h = Sha256::new();
        for (term, ids) in terms {
            h.update(term.as_bytes());
            for id in ids {
                h.update(b"=");
                h.update(id.as_bytes());
            }
            h.update(b"\n");
        }
        hex::encode(&h.finalize()[..8])
    }

    /// Whether `id` is a category of the vocabulary.
    pub fn has(&self, id: &str) -> bool {
        self.categories.iter().any(|c| c.id == id)
    }

    /// The category ids a source's term stands for: the source's own mapping first, then the
    /// vocabulary (whole term, then each word of it). Empty when the term is unknown.
    pub fn map(&self, term: &str, source_map: &HashMap<String, Vec<String>>) -> Vec<String> {
        let key = normal(term);
        if let Some(ids) = source_map.get(&key) {
            return ids.clone();
        }
        if let Some(ids) = self.terms.get(&key) {
            return ids.clone();
        }
        // "Konzert & Jazz", "Kinder/Familie": the words one by one.
        let mut out: Vec<String> = Vec::new();
        for w in words(term) {
            for id in self.terms.get(&w).into_iter().flatten() {
                if !out.contains(id) {
                    out.push(id.clone());
                }
            }
        }
        out
    }

    /// Maps a list of terms; returns the category ids (in first-seen order) and the terms that
    /// mapped to nothing.
    pub fn map_all(
        &self,
        terms: &[String],
        source_map: &HashMap<String, Vec<String>>,
    ) -> (Vec<String>, Vec<String>) {
        let mut ids: Vec<String> = Vec::new();
        let mut unknown = Vec::new();
        for t in terms {
            let mapped = self.map(t, source_map);
            if mapped.is_empty() {
                unknown.push(t.clone());
            }
            for id in mapped {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        (ids, unknown)
    }
}

/// A source's own term mapping (`[source.category_map]`), keyed by normalised term.
pub fn source_map(raw: &HashMap<String, Vec<String>>) -> HashMap<String, Vec<String>> {
    raw.iter().map(|(k, v)| (normal(k), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_and_english_terms_map_to_one_vocabulary() {
        let v = Vocabulary::default();
        let none = HashMap::new();
        let map = |t: &str| v.map(t, &none);
        assert_eq!(map("Konzert"), ["music"]);
        assert_eq!(map("concert"), ["music"]);
        assert_eq!(map("KONZERTE"), ["music"]);
        assert_eq!(map("Schauspiel"), ["theatre"]);
        assert_eq!(map("Oper"), ["music", "theatre"]);
        assert_eq!(map("Führung"), ["tour"]);
        assert_eq!(map("Fuehrung"), ["tour"]);
        assert_eq!(map("Ratssitzung"), ["council"]);
        assert_eq!(map("Kinder/Familie"), ["family"]);
        assert_eq!(map("Konzert & Jazz"), ["music"]);
        assert_eq!(map("Guided tour"), ["tour"]);
        assert_eq!(map("Musik"), ["music"], "the German label is a term");
        assert!(map("Sonstiges").is_empty());
    }

    #[test]
    fn source_mapping_wins_and_unknown_terms_are_reported() {
        let v = Vocabulary::default();
        let mut raw = HashMap::new();
        raw.insert("Bühne".to_string(), vec!["theatre".to_string()]);
        raw.insert(
            "Konzert".to_string(),
            vec!["music".to_string(), "family".to_string()],
        );
        let m = source_map(&raw);
        let (ids, unknown) = v.map_all(
            &[
                "Bühne".into(),
                "konzert".into(),
                "Sonstiges".into(),
                "Theater".into(),
            ],
            &m,
        );
        assert_eq!(ids, ["theatre", "music", "family"]);
        assert_eq!(unknown, ["Sonstiges"]);
    }

    #[test]
    fn operator_categories_extend_the_vocabulary() {
        let mut v = Vocabulary::default();
        v.add(
            "carnival",
            "Karneval",
            "Carnival",
            ["fasching", "fastnacht"].into_iter(),
        );
        assert!(v.has("carnival"));
        assert_eq!(v.map("Fastnacht", &HashMap::new()), ["carnival"]);
        assert_eq!(v.map("Karneval", &HashMap::new()), ["carnival"]);
    }
}

//! The text search of the `q` filter: case-, umlaut- and accent-insensitive word matching.
//!
//! Texts are normalised twice with the helpers of [`crate::dedupe`]: once with German umlauts
//! spelled out (`Bürgerhaus` → `buergerhaus`, the form [`crate::compare::words`] gives) and once
//! plainly transliterated (`burgerhaus`), so both ways people type without umlauts find the
//! event. A query word matches when it occurs inside a word of the text, so `konzert` finds
//! `Adventskonzert` (German compounds) and `theat` finds `Theater`; every query word must match.

use crate::compare::words;

/// The normalised text of one event (title, description, location, venue name).
#[derive(Debug, Clone, Default)]
pub struct Haystack {
    /// Words with umlauts spelled out, each surrounded by spaces: ` stadttheater musterstadt `.
    spelled: String,
    /// Words plainly transliterated (`ä` → `a`), same shape.
    plain: String,
}

impl Haystack {
    /// The haystack of some texts.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Haystack {
        let mut h = Haystack {
            spelled: String::from(" "),
            plain: String::from(" "),
        };
        for text in texts {
            for w in words(text) {
                h.spelled.push_str(&w);
                h.spelled.push(' ');
            }
            for w in plain_words(text) {
                h.plain.push_str(&w);
                h.plain.push(' ');
            }
        }
        h
    }
}

/// A parsed query: its words in both normal forms.
#[derive(Debug, Clone)]
pub struct Needle {
    words: Vec<(String, String)>,
}

impl Needle {
    /// The needle of a query text.
    pub fn new(query: &str) -> Needle {
        Needle {
            words: words(query).into_iter().zip(plain_words(query)).collect(),
        }
    }

    /// Whether the query has no words (it then matches everything).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether every query word occurs in the haystack.
    pub fn matches(&self, hay: &Haystack) -> bool {
        self.words
            .iter()
            .all(|(spelled, plain)| hay.spelled.contains(spelled) || hay.plain.contains(plain))
    }
}

/// Words lower-cased and transliterated to ASCII without the German umlaut rule (`ä` → `a`).
fn plain_words(text: &str) -> Vec<String> {
    deunicode::deunicode(text)
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(query: &str, text: &str) -> bool {
        Needle::new(query).matches(&Haystack::new([text]))
    }

    #[test]
    fn case_umlaut_and_accent_insensitive() {
        let text = "Adventskonzert im Bürgerhaus-Café, Großer Saal";
        for q in [
            "bürgerhaus",
            "BUERGERHAUS",
            "burgerhaus",
            "cafe",
            "Café",
            "grosser saal",
            "konzert",
            "advent café",
            "GROẞER",
        ] {
            assert!(hit(q, text), "{q}");
        }
        for q in ["theater", "konzert theater", "bürgerhausx"] {
            assert!(!hit(q, text), "{q}");
        }
    }

    #[test]
    fn empty_query_has_no_words() {
        assert!(Needle::new("  ,; ").is_empty());
        assert!(Needle::new("").matches(&Haystack::new(["x"])));
    }

    #[test]
    fn words_do_not_match_across_word_boundaries() {
        // "ab" + "end" are two words; "abend" is not in the text.
        assert!(!hit("abend", "ab end"));
        assert!(hit("abend", "Liederabend"));
    }
}

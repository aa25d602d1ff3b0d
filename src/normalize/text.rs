//! Text cleanup shared by every format: line breaks, control characters, HTML, URLs.

/// Normalises line breaks to `\n` (CR LF and bare CR alike), removes other control characters
/// and trims. Outputs can then escape `\n` safely; a bare CR can never reach an ICS line.
pub fn clean_text(s: &str) -> String {
    // Control characters are U+0000..=U+001F and U+007F..=U+009F; the latter start with the
    // byte 0xC2 in UTF-8. Most texts have none besides line feeds and are only trimmed.
    let needs_work = s
        .bytes()
        .any(|b| (b < 0x20 && b != b'\n') || b == 0x7F || b == 0xC2);
    if !needs_work {
        return s.trim().to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                // CR LF and a bare CR alike become one line feed.
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\t' => out.push(' '),
            '\n' => out.push('\n'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    }
}

/// One-line text (titles, locations, categories): line breaks become spaces, runs of white
/// space collapse.
pub fn clean_line(s: &str) -> String {
    let cleaned = clean_text(s);
    // Already one line with single spaces: nothing to collapse.
    let mut prev_space = false;
    let single = cleaned.chars().all(|c| {
        let ok = !c.is_whitespace() || (c == ' ' && !prev_space);
        prev_space = c.is_whitespace();
        ok
    });
    if single {
        return cleaned;
    }
    let mut out = String::with_capacity(cleaned.len());
    for word in cleaned.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A description as plain text: HTML (as CMS plugins and Outlook write it) is converted to text
/// with entities decoded; plain text is only cleaned.
pub fn plain_text(s: &str) -> String {
    let cleaned = clean_text(s);
    if looks_like_html(&cleaned) {
        let text = nanohtml2text::html2text(&cleaned);
        // Collapse the blank lines block elements leave behind.
        let mut out = String::with_capacity(text.len());
        let mut blank = 0;
        for line in text.lines() {
            let line = line.trim_end();
            if line.trim().is_empty() {
                blank += 1;
                continue;
            }
            if !out.is_empty() {
                out.push_str(if blank > 0 { "\n\n" } else { "\n" });
            }
            blank = 0;
            out.push_str(line.trim_start());
        }
        clean_text(&out)
    } else {
        cleaned
    }
}

/// Tags whose presence marks a description as HTML. A text like `3 <kein Entity> 4` is not.
const HTML_TAGS: &[&str] = &[
    "a", "b", "br", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol",
    "p", "script", "small", "span", "strong", "style", "table", "td", "th", "tr", "u", "ul",
    "html", "body", "font", "iframe",
];

/// Whether a text contains HTML markup: a known tag (`<p>`, `</li>`, `<br/>`, `<a href=…>`) or a
/// comment.
fn looks_like_html(s: &str) -> bool {
    s.match_indices('<').any(|(i, _)| {
        let rest = &s[i + 1..];
        if rest.starts_with("!--") {
            return true;
        }
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let name = rest[..name_len].to_ascii_lowercase();
        let after = rest[name_len..].chars().next();
        HTML_TAGS.contains(&name.as_str()) && matches!(after, Some('>' | '/' | ' ' | '\n' | '\t'))
    })
}

pub use crate::text::{http_url, url_problem};

/// One of these words is in every phrase of [`FREE_PHRASES`].
const FREE_KEYWORDS: &[&str] = &["eintritt", "teilnahme", "admission", "entry", "charge"];

/// Phrases that announce free admission in German and English announcements.
const FREE_PHRASES: &[&str] = &[
    "eintritt frei",
    "eintritt ist frei",
    "eintritt: frei",
    "freier eintritt",
    "eintritt kostenlos",
    "eintritt ist kostenlos",
    "eintritt: kostenlos",
    "kostenloser eintritt",
    "eintritt kostenfrei",
    "teilnahme kostenlos",
    "teilnahme ist kostenlos",
    "teilnahme kostenfrei",
    "kostenfreie teilnahme",
    "kostenlose teilnahme",
    "free admission",
    "admission free",
    "admission is free",
    "free entry",
    "entry is free",
    "free of charge",
];

/// Whether a title or description says that admission is free ("Eintritt frei",
/// "Der Eintritt ist frei", "free admission"). Only whole phrases about admission count:
/// "kostenlose Parkplätze" does not.
pub fn announces_free_admission(title: &str, description: Option<&str>) -> bool {
    // Every phrase names one of these words: most announcements name none and are done here,
    // in one pass over the text without lower-casing and splitting it.
    static KEYWORDS: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(FREE_KEYWORDS)
                .ok()
        });
    let mentions = |text: &str| KEYWORDS.as_ref().is_none_or(|k| k.is_match(text));
    if !mentions(title) && !description.is_some_and(mentions) {
        return false;
    }
    // The words of both, lower-cased and joined by single spaces, then every phrase found in
    // one pass (overlapping matches too, so no whole-word occurrence hides behind another).
    let mut words = String::with_capacity(title.len() + description.map_or(0, str::len) + 1);
    for part in [title, description.unwrap_or("")] {
        for word in part
            .split(|c: char| {
                c.is_whitespace() || c == '!' || c == '.' || c == ',' || c == '(' || c == ')'
            })
            .filter(|w| !w.is_empty())
        {
            if !words.is_empty() {
                words.push(' ');
            }
            if word.is_ascii() {
                let at = words.len();
                words.push_str(word);
                words[at..].make_ascii_lowercase();
            } else {
                words.extend(word.chars().flat_map(char::to_lowercase));
            }
        }
    }
    static PHRASES: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::LazyLock::new(|| aho_corasick::AhoCorasick::new(FREE_PHRASES).ok());
    let whole_word = |at: usize, end: usize| {
        // Whole words only: "eintritt freitags" is not "eintritt frei".
        (at == 0 || words[..at].ends_with(' '))
            && (end == words.len() || words[end..].starts_with(' '))
    };
    match PHRASES.as_ref() {
        Some(phrases) => phrases
            .find_overlapping_iter(&words)
            .any(|m| whole_word(m.start(), m.end())),
        None => FREE_PHRASES.iter().any(|p| {
            words
                .match_indices(p)
                .any(|(at, _)| whole_word(at, at + p.len()))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_free_phrase_names_a_keyword() {
        for p in FREE_PHRASES {
            assert!(FREE_KEYWORDS.iter().any(|k| p.contains(k)), "{p}");
        }
        assert!(announces_free_admission(
            "Konzert",
            Some("Der EINTRITT ist frei!")
        ));
        assert!(!announces_free_admission(
            "Konzert",
            Some("Kostenlose Parkplätze")
        ));
    }

    #[test]
    fn line_breaks_and_controls() {
        assert_eq!(clean_text("a\r\nb\rc\nd\u{7}e\u{0}"), "a\nb\nc\nde");
        assert_eq!(clean_text("\r\r\nx\u{85}y\u{9f}\tz\u{a0} "), "xy z");
        assert_eq!(
            clean_text("  plain text\nsecond line \n"),
            "plain text\nsecond line"
        );
        assert_eq!(clean_text("Grüße\u{7f}"), "Grüße");
        assert_eq!(clean_line("one two"), "one two");
        assert_eq!(
            clean_line("one  two\nthree\u{a0}four"),
            "one two three four"
        );
        assert_eq!(
            clean_line("  Konzert:\n  Jazz\tim Park "),
            "Konzert: Jazz im Park"
        );
    }

    #[test]
    fn row7_html_descriptions_become_text() {
        let html = "<p>Eintritt frei.</p><ul><li>Kinder &amp; Eltern</li><li>Ab 6 Jahren</li></ul><script>x()</script>";
        let text = plain_text(html);
        assert!(text.starts_with("Eintritt frei."), "{text}");
        assert!(text.contains("Kinder & Eltern"), "{text}");
        assert!(!text.contains('<'), "{text}");
        assert_eq!(plain_text("3 < 4 und 5 > 2"), "3 < 4 und 5 > 2");
        // Converting is idempotent: decoded entities that look like tags stay text.
        assert_eq!(
            plain_text("<b>fett</b> &lt;kein Entity&gt;"),
            "fett <kein Entity>"
        );
        assert_eq!(plain_text("fett <kein Entity>"), "fett <kein Entity>");
    }

    #[test]
    fn row7_only_http_urls() {
        assert_eq!(
            http_url("https://example.org/a b").as_deref(),
            Some("https://example.org/a%20b")
        );
        assert_eq!(http_url("javascript:alert(1)"), None);
        assert_eq!(http_url("data:text/html,x"), None);
        assert_eq!(http_url("/relative"), None);
    }

    #[test]
    fn free_admission_is_read_from_the_announcement() {
        assert!(announces_free_admission(
            "Orgelkonzert (Eintritt frei)",
            None
        ));
        assert!(announces_free_admission(
            "Lesung",
            Some("Der Eintritt ist frei, um Spenden wird gebeten.")
        ));
        assert!(announces_free_admission(
            "Open Air",
            Some("Free admission!")
        ));
        assert!(announces_free_admission(
            "Kinderkino",
            Some("Eintritt: kostenlos")
        ));
        assert!(!announces_free_admission(
            "Konzert",
            Some("Kostenlose Parkplätze am Haus. Eintritt 12 €.")
        ));
        assert!(!announces_free_admission(
            "Markt",
            Some("Eintritt freitags 2 €")
        ));
        assert!(!announces_free_admission("Konzert", None));
        // Phrases across the title and the description, and after a partial phrase.
        assert!(announces_free_admission("Konzert, Eintritt", Some("frei.")));
        assert!(announces_free_admission(
            "Konzert",
            Some("Eintritt freitags 2 €, samstags: Eintritt frei")
        ));
        assert!(!announces_free_admission("Konzert", Some("Eintrittfrei")));
        assert!(announces_free_admission("KONZERT", Some("FREE OF CHARGE")));
    }
}

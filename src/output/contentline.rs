//! RFC 5545 content lines (§3.1), as the iCalendar feed writes them.
//!
//! A line is `NAME *(;PARAM=value) :value`, ended by CRLF. TEXT values are escaped (§3.3.11:
//! backslash, semicolon, comma, line break; CR and other control characters except TAB are
//! dropped, so no value can start a line of its own); parameter values that hold `:`, `;` or
//! `,` are quoted (§3.2). Lines longer than 75 octets are folded: a physical line holds at
//! most 75 octets *including* the space that starts a continuation line, and a fold never
//! splits a UTF-8 character. (The `icalendar` crate this replaces let continuation lines run
//! to 76 octets.) Each line is built in one reused buffer and written folded, so writing
//! allocates nothing per property.

use std::fmt::{self, Write};

/// The longest physical line, in octets (RFC 5545 §3.1).
pub const MAX_OCTETS: usize = 75;

/// Writes content lines into `out`.
pub struct Lines<'a, W: Write> {
    out: &'a mut W,
    buf: String,
}

impl<'a, W: Write> Lines<'a, W> {
    pub fn new(out: &'a mut W) -> Self {
        Lines {
            out,
            buf: String::with_capacity(256),
        }
    }

    /// Writes a line as it is (`BEGIN:VEVENT`), folded if it must be.
    pub fn line(&mut self, line: &str) -> fmt::Result {
        fold_into(self.out, line)
    }

    /// Starts a property line with its name.
    pub fn start(&mut self, name: &str) -> &mut Self {
        self.buf.clear();
        self.buf.push_str(name);
        self
    }

    /// Adds a parameter (the value quoted when it holds `:`, `;` or `,`).
    pub fn param(&mut self, key: &str, value: &str) -> &mut Self {
        self.buf.push(';');
        self.buf.push_str(key);
        self.buf.push('=');
        let quoted = value.starts_with('"') && value.ends_with('"') && value.len() > 1;
        if !quoted && value.contains([':', ';', ',']) {
            self.buf.push('"');
            self.buf.push_str(value);
            self.buf.push('"');
        } else {
            self.buf.push_str(value);
        }
        self
    }

    /// Ends the line with a value written as it is (dates, URIs, rules, numbers, and TEXT
    /// the caller escaped).
    pub fn value(&mut self, value: &str) -> fmt::Result {
        self.buf.push(':');
        self.buf.push_str(value);
        fold_into(self.out, &self.buf)
    }

    /// Ends the line with a TEXT value, escaped.
    pub fn text(&mut self, value: &str) -> fmt::Result {
        self.buf.push(':');
        escape_text_into(&mut self.buf, value);
        fold_into(self.out, &self.buf)
    }

    /// `NAME:value` in one call.
    pub fn prop(&mut self, name: &str, value: &str) -> fmt::Result {
        self.start(name).value(value)
    }

    /// `NAME:text` in one call, the text escaped.
    pub fn prop_text(&mut self, name: &str, value: &str) -> fmt::Result {
        self.start(name).text(value)
    }
}

/// Appends `s` escaped as TEXT (RFC 5545 §3.3.11).
pub fn escape_text_into(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(at) = rest.find(|c: char| matches!(c, '\\' | ';' | ',' | '\n') || c.is_control())
    {
        out.push_str(&rest[..at]);
        let c = rest[at..].chars().next().unwrap_or('\n');
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            _ => {}
        }
        rest = &rest[at + c.len_utf8()..];
    }
    out.push_str(rest);
}

/// Writes one logical line folded at [`MAX_OCTETS`] octets (continuation lines start with a
/// space, which counts), then CRLF. A line of exactly 75 octets is not folded.
pub fn fold_into(out: &mut impl Write, line: &str) -> fmt::Result {
    let mut rest = line;
    let mut room = MAX_OCTETS;
    while rest.len() > room {
        let mut at = room;
        while !rest.is_char_boundary(at) {
            at -= 1;
        }
        out.write_str(&rest[..at])?;
        out.write_str("\r\n ")?;
        rest = &rest[at..];
        room = MAX_OCTETS - 1;
    }
    out.write_str(rest)?;
    out.write_str("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(line: &str) -> String {
        let mut out = String::new();
        fold_into(&mut out, line).unwrap();
        out
    }

    #[test]
    fn physical_lines_hold_at_most_75_octets_with_the_leading_space() {
        for len in [1, 74, 75, 76, 149, 150, 151, 1000] {
            for fill in ["a", "ä", "€", "🎭", "aä€🎭"] {
                let line: String = fill.chars().cycle().take(len).collect();
                let out = folded(&line);
                let physical: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
                for p in &physical {
                    assert!(p.len() <= MAX_OCTETS, "{} octets: {p:?}", p.len());
                }
                // Every continuation starts with one space; unfolding gives the line back.
                assert!(physical[1..].iter().all(|p| p.starts_with(' ')));
                assert_eq!(out.replace("\r\n ", "").trim_end_matches("\r\n"), line);
                // Folds are as late as the octet limit and the character boundary allow.
                for p in &physical[..physical.len() - 1] {
                    assert!(p.len() > MAX_OCTETS - 4, "{p:?}");
                }
            }
        }
    }

    #[test]
    fn a_line_of_exactly_75_octets_is_not_folded() {
        let line = "X".repeat(75);
        assert_eq!(folded(&line), format!("{line}\r\n"));
        let line = "X".repeat(76);
        assert_eq!(folded(&line), format!("{}\r\n X\r\n", "X".repeat(75)));
        // The second physical line takes 74 octets after its space.
        let line = "X".repeat(75 + 74 + 1);
        assert_eq!(
            folded(&line),
            format!("{}\r\n {}\r\n X\r\n", "X".repeat(75), "X".repeat(74))
        );
    }

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        let mut out = String::new();
        escape_text_into(&mut out, "a\\b;c,d\ne\r\u{7}f\tg äöü");
        assert_eq!(out, "a\\\\b\\;c\\,d\\nef\tg äöü");
    }

    #[test]
    fn parameters_are_quoted_when_they_must_be() {
        let mut out = String::new();
        let mut w = Lines::new(&mut out);
        w.start("ORGANIZER")
            .param("CN", "Müller, Anna: Kulturamt")
            .value("mailto:a@example.org")
            .unwrap();
        w.start("X-T")
            .param("A", "\"q;\"")
            .param("B", "plain")
            .value("v")
            .unwrap();
        assert_eq!(
            out,
            "ORGANIZER;CN=\"Müller, Anna: Kulturamt\":mailto:a@example.org\r\nX-T;A=\"q;\";B=plain:v\r\n"
        );
    }
}

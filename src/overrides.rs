//! Operator overrides: local corrections that survive every re-import.
//!
//! The overrides file (`[dedupe] overrides = "overrides.toml"`) is read with the config. It is
//! never written by regiocal, and it is applied to every snapshot, so a correction holds no
//! matter how often the sources are fetched again:
//!
//! ```toml
//! [[hide]]                      # take an event out of every feed
//! event = "3f2a9c0d1e2b4a5c"    # a public id, as /api/v1/events shows it
//! reason = "Duplicate of the council's own entry"
//!
//! [[hide]]                      # or a whole series of one source, by the source's UID
//! source = "kulturamt"
//! uid = "abc@example.org"
//!
//! [[merge]]                     # these are one event, whatever the matcher thinks
//! events = ["3f2a9c0d1e2b4a5c", "9b8a7c6d5e4f3a2b"]
//!
//! [[separate]]                  # these are different events, never merge them
//! events = ["3f2a9c0d1e2b4a5c", "0a1b2c3d4e5f6a7b"]
//!
//! [[fix]]                       # correct fields of an event (or series)
//! event = "3f2a9c0d1e2b4a5c"
//! title = "Die Zauberflöte"
//! categories = ["theatre"]
//! location = "Stadttheater, Großes Haus"
//! start = "2026-12-05T19:30"    # local time in the calendar's zone (or a date)
//! end = "2026-12-05T22:00"
//!
//! [[prefer]]                    # this source's fields win when events are merged
//! source = "stadttheater"
//! ```
//!
//! An override that no longer matches anything is reported by `regiocal check` and logged.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why the overrides file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OverridesError {
    #[error("cannot read overrides file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {what} #{index}: {message}")]
    Invalid {
        path: PathBuf,
        what: &'static str,
        index: usize,
        message: String,
    },
}

/// Which events an override is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One occurrence, by its public id.
    Event(String),
    /// Every occurrence of one source's series, by the source's UID.
    Series { source: String, uid: String },
}

impl Target {
    /// A readable name for reports.
    pub fn describe(&self) -> String {
        match self {
            Target::Event(id) => format!("event {id}"),
            Target::Series { source, uid } => format!("source {source:?} uid {uid:?}"),
        }
    }
}

/// A new start or end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixTime {
    Date(NaiveDate),
    /// Wall-clock time in the calendar's zone.
    Local(NaiveDateTime),
}

/// Field corrections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fix {
    pub title: Option<String>,
    pub categories: Option<Vec<String>>,
    pub location: Option<String>,
    pub start: Option<FixTime>,
    pub end: Option<FixTime>,
}

/// All overrides, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub path: Option<PathBuf>,
    pub hide: Vec<Target>,
    /// Groups of public ids to join.
    pub merge: Vec<Vec<String>>,
    /// Groups of public ids to keep apart.
    pub separate: Vec<Vec<String>>,
    pub fix: Vec<(Target, Fix)>,
    /// Preferred sources, strongest first.
    pub prefer: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    hide: Vec<RawTarget>,
    #[serde(default)]
    merge: Vec<RawGroup>,
    #[serde(default)]
    separate: Vec<RawGroup>,
    #[serde(default)]
    fix: Vec<RawFix>,
    #[serde(default)]
    prefer: Vec<RawPrefer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    event: Option<String>,
    source: Option<String>,
    uid: Option<String>,
    #[allow(dead_code)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    events: Vec<String>,
    #[allow(dead_code)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFix {
    event: Option<String>,
    source: Option<String>,
    uid: Option<String>,
    title: Option<String>,
    categories: Option<Vec<String>>,
    location: Option<String>,
    start: Option<String>,
    end: Option<String>,
    #[allow(dead_code)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrefer {
    source: String,
}

fn target(
    event: Option<String>,
    source: Option<String>,
    uid: Option<String>,
) -> Result<Target, String> {
    match (event, source, uid) {
        (Some(e), None, None) if !e.trim().is_empty() => Ok(Target::Event(e.trim().to_string())),
        (None, Some(s), Some(u)) if !s.is_empty() && !u.is_empty() => {
            Ok(Target::Series { source: s, uid: u })
        }
        _ => Err("give either `event` (a public id) or both `source` and `uid`".into()),
    }
}

fn fix_time(text: &str) -> Result<FixTime, String> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(FixTime::Date(d));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(FixTime::Local(dt));
        }
    }
    Err(format!(
        "invalid time {t:?} (use 2026-12-05T19:30 in the calendar's zone, or 2026-12-05)"
    ))
}

impl Overrides {
    /// Reads and validates an overrides file.
    pub fn load(path: &Path) -> Result<Overrides, OverridesError> {
        let text = std::fs::read_to_string(path).map_err(|source| OverridesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Overrides::parse(&text, path)
    }

    /// Parses the text of an overrides file.
    pub fn parse(text: &str, path: &Path) -> Result<Overrides, OverridesError> {
        let raw: Raw = toml::from_str(text).map_err(|e| OverridesError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let bad = |what: &'static str, index: usize, message: String| OverridesError::Invalid {
            path: path.to_path_buf(),
            what,
            index: index + 1,
            message,
        };
        let mut out = Overrides {
            path: Some(path.to_path_buf()),
            ..Default::default()
        };
        for (i, h) in raw.hide.into_iter().enumerate() {
            out.hide
                .push(target(h.event, h.source, h.uid).map_err(|m| bad("hide", i, m))?);
        }
        for (what, groups, dest) in [
            ("merge", raw.merge, &mut out.merge),
            ("separate", raw.separate, &mut out.separate),
        ] {
            for (i, g) in groups.into_iter().enumerate() {
                let ids: Vec<String> = g.events.iter().map(|e| e.trim().to_string()).collect();
                if ids.len() < 2 || ids.iter().any(String::is_empty) {
                    return Err(bad(
                        what,
                        i,
                        "`events` needs at least two public ids".into(),
                    ));
                }
                dest.push(ids);
            }
        }
        for (i, f) in raw.fix.into_iter().enumerate() {
            let t = target(f.event, f.source, f.uid).map_err(|m| bad("fix", i, m))?;
            let fix = Fix {
                title: f
                    .title
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty()),
                categories: f.categories,
                location: f.location,
                start: f
                    .start
                    .as_deref()
                    .map(fix_time)
                    .transpose()
                    .map_err(|m| bad("fix", i, m))?,
                end: f
                    .end
                    .as_deref()
                    .map(fix_time)
                    .transpose()
                    .map_err(|m| bad("fix", i, m))?,
            };
            if fix == Fix::default() {
                return Err(bad(
                    "fix",
                    i,
                    "changes nothing (set title, categories, location, start or end)".into(),
                ));
            }
            if let (Some(s), Some(e)) = (fix.start, fix.end) {
                let mixed = matches!(
                    (s, e),
                    (FixTime::Date(_), FixTime::Local(_)) | (FixTime::Local(_), FixTime::Date(_))
                );
                let backwards = match (s, e) {
                    (FixTime::Date(a), FixTime::Date(b)) => b < a,
                    (FixTime::Local(a), FixTime::Local(b)) => b < a,
                    _ => false,
                };
                if mixed || backwards {
                    return Err(bad(
                        "fix",
                        i,
                        "`end` must be of the same kind as `start` and not before it".into(),
                    ));
                }
            }
            out.fix.push((t, fix));
        }
        out.prefer = raw.prefer.into_iter().map(|p| p.source).collect();
        Ok(out)
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.hide.is_empty()
            && self.merge.is_empty()
            && self.separate.is_empty()
            && self.fix.is_empty()
            && self.prefer.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        let o = Overrides::parse(
            r#"
[[hide]]
event = "aa"
[[hide]]
source = "s"
uid = "u"
[[merge]]
events = ["a", "b"]
[[separate]]
events = ["c", "d"]
[[fix]]
event = "x"
title = "Neu"
start = "2026-12-05T19:30"
end = "2026-12-05T21:00"
[[prefer]]
source = "s"
"#,
            Path::new("o.toml"),
        )
        .unwrap();
        assert_eq!(o.hide.len(), 2);
        assert_eq!(o.merge, vec![vec!["a".to_string(), "b".to_string()]]);
        assert_eq!(o.fix[0].1.title.as_deref(), Some("Neu"));
        assert_eq!(o.prefer, vec!["s"]);
    }

    #[test]
    fn errors_name_the_file_the_entry_and_the_problem() {
        let err = |t: &str| {
            Overrides::parse(t, Path::new("o.toml"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("[[fix]]\nevent = \"x\"\n"),
            "o.toml: fix #1: changes nothing (set title, categories, location, start or end)"
        );
        assert!(err("[[merge]]\nevents = [\"a\"]\n").contains("merge #1"));
        assert!(err("[[hide]]\nsource = \"s\"\n").contains("both `source` and `uid`"));
        assert!(err("[[fix]]\nevent = \"x\"\nstart = \"5.12.2026\"\n").contains("invalid time"));
        let syntax = err("[[hide]]\nevnt = \"x\"\n");
        assert!(
            syntax.starts_with("o.toml: ")
                && syntax.contains("unknown field")
                && syntax.contains("line 2"),
            "{syntax}"
        );
    }
}

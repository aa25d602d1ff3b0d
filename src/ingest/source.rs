//! A configured source (`[[source]]`): where its bytes come from, how they are read, and what
//! the pipeline adds to its events.

use crate::fetch::SourceLocation;
use crate::fetch::schedule::Schedule;
use crate::format::{FieldMapping, FormatChoice};
use crate::normalize::category::Vocabulary;
use crate::settings::SettingError;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// One feed to pull.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    pub name: String,
    pub location: SourceLocation,
    pub format: FormatChoice,
    pub schedule: Schedule,
    pub categories: Vec<String>,
    pub license: Option<String>,
    pub attribution: Option<String>,
    pub mapping: Option<FieldMapping>,
    /// Whose fields win when events of several sources are merged (higher first; default 0).
    pub priority: i32,
    /// The source's own category terms -> vocabulary ids (`[source.category_map]`), keyed by
    /// normalised term.
    pub category_map: HashMap<String, Vec<String>>,
}

/// Default schedule of a source: hourly, at minute 0 (plus per-source jitter).
pub const DEFAULT_SCHEDULE: &str = "0 * * * *";

/// A `[[source]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub id: String,
    name: String,
    /// Absent for push-only sources.
    url: Option<String>,
    #[serde(default = "default_format")]
    format: FormatChoice,
    schedule: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    license: Option<String>,
    attribution: Option<String>,
    mapping: Option<FieldMapping>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    category_map: HashMap<String, CategoryIds>,
}

/// One id or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum CategoryIds {
    One(String),
    Many(Vec<String>),
}

fn default_format() -> FormatChoice {
    FormatChoice::Auto
}

impl RawSource {
    /// Validates a source; a local path is relative to `base`, `category_map` ids must be in
    /// `vocabulary`. The error's key is relative to the source.
    pub fn build(self, base: &Path, vocabulary: &Vocabulary) -> Result<SourceConfig, SettingError> {
        if self.id.is_empty()
            || self.id.len() > 64
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(SettingError::new(
                "id",
                "must be 1-64 characters of a-z, 0-9, '-' and '_'",
            ));
        }
        if self.name.trim().is_empty() {
            return Err(SettingError::new("name", "must not be empty"));
        }
        let location = match &self.url {
            Some(url) => {
                SourceLocation::parse(url, base).map_err(|m| SettingError::new("url", m))?
            }
            None => SourceLocation::Push,
        };
        let schedule_text = self.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE);
        let schedule = Schedule::parse(schedule_text)
            .map_err(|e| SettingError::new("schedule", e.to_string()))?;
        if self.format == FormatChoice::Json
            && self
                .mapping
                .as_ref()
                .is_none_or(|m| m.items.is_none() || m.title.is_none() || m.start.is_none())
        {
            return Err(SettingError::new(
                "mapping",
                "format \"json\" needs [source.mapping] with at least items, title and start",
            ));
        }
        let categories = self
            .categories
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        let mut category_map = HashMap::new();
        for (term, ids) in &self.category_map {
            let ids = match ids {
                CategoryIds::One(id) => vec![id.clone()],
                CategoryIds::Many(ids) => ids.clone(),
            };
            if let Some(bad_id) = ids.iter().find(|id| !vocabulary.has(id)) {
                return Err(SettingError::new(
                    format!("category_map.{term:?}"),
                    format!("unknown category {bad_id:?} (not in the vocabulary)"),
                ));
            }
            category_map.insert(term.clone(), ids);
        }
        Ok(SourceConfig {
            id: self.id,
            name: self.name,
            location,
            format: self.format,
            schedule,
            categories,
            license: self.license,
            attribution: self.attribution,
            mapping: self.mapping,
            priority: self.priority,
            category_map: crate::normalize::category::source_map(&category_map),
        })
    }
}

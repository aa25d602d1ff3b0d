//! What every configuration section shares: the error that names the key, and durations.
//!
//! Each module owns the section of the config file it reads: a `Raw…` shape that serde
//! reads (unknown keys are errors) and a `build` that validates it into the module's
//! `…Config` type (as vector's components do). [`crate::config`] only parses the file and
//! assembles the sections; a [`SettingError`] names the key relative to the section, and the
//! config adds the file and the source.

/// A key of a section that holds an invalid value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SettingError {
    /// The key as the file spells it (`fetch.min_interval`, `category_map."Bühne"`).
    pub key: String,
    pub message: String,
}

impl SettingError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> SettingError {
        SettingError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Parses a duration like `90`, `90s`, `15m`, `6h` or `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {t:?} (use e.g. 90s, 15m, 6h, 1d)"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(format!(
                "invalid duration {t:?} (use e.g. 90s, 15m, 6h, 1d)"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(secs))
}

/// A duration setting, or `default` when absent; the error names `key`.
pub fn duration_or(
    key: &str,
    value: Option<&str>,
    default: std::time::Duration,
) -> Result<std::time::Duration, SettingError> {
    match value {
        Some(t) => parse_duration(t).map_err(|m| SettingError::new(key, m)),
        None => Ok(default),
    }
}

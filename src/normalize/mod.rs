//! The normalisation pipeline between parsing and storing.
//!
//! Every parsed event passes [`normalize`]: text is cleaned (line breaks unified, control
//! characters removed, HTML descriptions turned into plain text), URLs other than http(s) are
//! dropped, the source's configured categories are added, recurrence rules are checked (an event
//! whose rule cannot be expanded is skipped with a warning), and components that appear twice
//! with the same UID and RECURRENCE-ID are reduced to the newest one. [`recurrence`] turns the
//! normalised events into occurrences for a time window.

pub mod recurrence;
pub mod text;

use crate::model::{Event, EventKey};
use std::collections::HashMap;

/// Source-level settings the pipeline applies.
#[derive(Debug, Clone, Default)]
pub struct NormalizeOptions {
    /// Categories added to every event of the source.
    pub categories: Vec<String>,
}

/// Cleans and checks a source's events. Returns the kept events and a warning per dropped one.
pub fn normalize(events: Vec<Event>, opts: &NormalizeOptions) -> (Vec<Event>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut kept: Vec<Event> = Vec::with_capacity(events.len());
    let mut index: HashMap<EventKey, usize> = HashMap::new();
    for mut ev in events {
        ev.title = text::clean_line(&ev.title);
        ev.description = ev
            .description
            .as_deref()
            .map(text::plain_text)
            .filter(|d| !d.is_empty());
        ev.location = ev
            .location
            .as_deref()
            .map(text::clean_line)
            .filter(|l| !l.is_empty());
        if let Some(url) = ev.url.take() {
            match text::http_url(&url) {
                Some(u) => ev.url = Some(u),
                None => warnings.push(format!(
                    "event {:?}: URL {:?} dropped (only http and https are kept)",
                    ev.uid,
                    text::shorten(&url, 60)
                )),
            }
        }
        let mut cats: Vec<String> = Vec::new();
        for c in ev.categories.iter().chain(opts.categories.iter()) {
            let c = text::clean_line(c);
            if !c.is_empty() && !cats.iter().any(|k| k.eq_ignore_ascii_case(&c)) {
                cats.push(c);
            }
        }
        ev.categories = cats;
        if ev.title.is_empty() {
            ev.title = "(ohne Titel)".into();
        }
        if let Err(reason) = recurrence::check_rule(&ev) {
            warnings.push(format!("event {:?} skipped: {reason}", ev.uid));
            continue;
        }
        let key = ev.key();
        match index.get(&key) {
            Some(&at) => {
                let newer =
                    (ev.sequence, ev.last_modified) >= (kept[at].sequence, kept[at].last_modified);
                warnings.push(format!(
                    "event {:?}: appears more than once; the newest copy is kept",
                    ev.uid
                ));
                if newer {
                    kept[at] = ev;
                }
            }
            None => {
                index.insert(key, kept.len());
                kept.push(ev);
            }
        }
    }
    (kept, warnings)
}

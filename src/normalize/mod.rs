//! The normalisation pipeline between parsing and storing.
//!
//! Every parsed event passes [`normalize`]: text is cleaned (line breaks unified, control
//! characters removed, HTML descriptions turned into plain text), titles, locations and
//! descriptions over their maxima ([`MAX_TITLE`], [`MAX_LOCATION`], [`MAX_DESCRIPTION`]) are
//! cut, links that are not http(s), are longer than [`crate::text::MAX_URL`] or carry a line
//! break are dropped (event, image, online, organizer and offer links; each with a warning
//! naming the field), the source's configured categories are added, recurrence rules are
//! checked (an event whose rule cannot be expanded is skipped with a warning), and components that appear twice
//! with the same UID and RECURRENCE-ID are reduced to the newest one. [`recurrence`] turns the
//! normalised events into occurrences for a time window.

pub mod category;
pub mod recurrence;
pub mod text;

use crate::model::{Event, EventKey};
use std::collections::HashMap;

/// Source-level settings the pipeline applies.
#[derive(Debug, Clone, Default)]
pub struct NormalizeOptions {
    /// Categories added to every event of the source.
    pub categories: Vec<String>,
    /// The controlled vocabulary the categories are mapped to (kept as given when `None`).
    pub vocabulary: Option<std::sync::Arc<category::Vocabulary>>,
    /// The source's own term mapping (normalised terms -> category ids).
    pub category_map: HashMap<String, Vec<String>>,
}

/// The category terms of parsed events (and of the source) that the vocabulary does not know,
/// with how many events use each (`regiocal check` lists them; the events lose them).
pub fn unmapped_categories(events: &[Event], opts: &NormalizeOptions) -> Vec<(String, usize)> {
    let Some(v) = &opts.vocabulary else {
        return Vec::new();
    };
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for ev in events {
        let terms: Vec<String> = ev
            .categories
            .iter()
            .chain(&opts.categories)
            .map(|c| text::clean_line(c))
            .filter(|c| !c.is_empty())
            .collect();
        let (_, unknown) = v.map_all(&terms, &opts.category_map);
        for u in unknown {
            *counts.entry(u).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

/// Longest title kept, in characters; a longer one is cut (with "…") and warned about.
pub const MAX_TITLE: usize = 300;
/// Longest location text kept, in characters.
pub const MAX_LOCATION: usize = 300;
/// Longest description kept, in characters.
pub const MAX_DESCRIPTION: usize = 20_000;

/// Cuts `value` to `max` characters, with a warning naming the event and the field.
fn cap(uid: &str, field: &str, value: &mut String, max: usize, warnings: &mut Vec<String>) {
    let chars = value.chars().count();
    if chars > max {
        *value = crate::text::shorten(value, max - 1);
        warnings.push(format!(
            "event {uid:?}: {field} of {chars} characters cut to {max}"
        ));
    }
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
        let uid = ev.uid.clone();
        cap(&uid, "title", &mut ev.title, MAX_TITLE, &mut warnings);
        for (field, value, max) in [
            ("location", &mut ev.location, MAX_LOCATION),
            ("description", &mut ev.description, MAX_DESCRIPTION),
        ] {
            if let Some(v) = value {
                cap(&uid, field, v, max, &mut warnings);
            }
        }
        let mut link = |field: &str, url: Option<String>| {
            let url = url?;
            match text::url_problem(&url) {
                None => text::http_url(&url),
                Some(problem) => {
                    warnings.push(format!(
                        "event {uid:?}: {field} {:?} dropped: it {problem}",
                        crate::text::shorten(&url, 60)
                    ));
                    None
                }
            }
        };
        ev.url = link("url", ev.url.take());
        ev.image = link("image", ev.image.take());
        ev.online_url = link("online URL", ev.online_url.take());
        if let Some(org) = &mut ev.organizer {
            org.name = text::clean_line(&org.name);
            org.url = link("organizer URL", org.url.take());
            org.email = org
                .email
                .take()
                .map(|e| text::clean_line(&e))
                .filter(|e| e.contains('@'));
        }
        for offer in &mut ev.offers {
            offer.url = link("offer URL", offer.url.take());
        }
        if ev.organizer.as_ref().is_some_and(|o| o.name.is_empty()) {
            ev.organizer = None;
        }
        for offer in &mut ev.offers {
            offer.name = offer
                .name
                .as_deref()
                .map(text::clean_line)
                .filter(|n| !n.is_empty());
            offer.price = offer.price.filter(|p| p.is_finite() && *p >= 0.0);
        }
        // Feeds without a price field often say it in words ("Eintritt frei").
        if ev.free.is_none() && text::announces_free_admission(&ev.title, ev.description.as_deref())
        {
            ev.free = Some(true);
        }
        if let Some(addr) = &mut ev.address {
            for field in [
                &mut addr.street,
                &mut addr.postal_code,
                &mut addr.locality,
                &mut addr.region,
                &mut addr.country,
            ] {
                *field = field
                    .as_deref()
                    .map(text::clean_line)
                    .filter(|v| !v.is_empty());
            }
        }
        ev.language = ev
            .language
            .as_deref()
            .map(text::clean_line)
            .filter(|l| !l.is_empty() && l.len() <= 35);
        let mut cats: Vec<String> = Vec::new();
        for c in ev.categories.iter().chain(opts.categories.iter()) {
            let c = text::clean_line(c);
            if !c.is_empty() && !cats.iter().any(|k| k.eq_ignore_ascii_case(&c)) {
                cats.push(c);
            }
        }
        ev.categories = match &opts.vocabulary {
            Some(v) => v.map_all(&cats, &opts.category_map).0,
            None => cats,
        };
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

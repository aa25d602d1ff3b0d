//! `/`: the upcoming events, grouped by day, with the filter form (date range, category,
//! district, venue, text, free admission, reachable by public transport) and the subscribe box
//! for the current filter.
//!
//! The list starts today (calendar zone) unless `from` says otherwise and shows
//! [`DEFAULT_LIMIT`] occurrences; "more" links to the same view with a larger `limit`.

use super::cards::{self, Day};
use super::query::PageQuery;
use super::subscribe::Links;
use super::{Chrome, Ctx, Nav, WebError};
use crate::output::{Snapshot, json::MAX_LIMIT};
use askama::Template;

/// Occurrences shown at first, and how many more each "more" link adds.
pub const DEFAULT_LIMIT: usize = 50;

/// One `<option>`.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The filter form, filled from the URL.
#[derive(Debug, Clone)]
pub struct FormView {
    /// Where the form submits to (the page it is on).
    pub action: &'static str,
    pub from: String,
    pub to: String,
    pub q: String,
    pub free: bool,
    pub transit: bool,
    pub categories: Vec<Opt>,
    pub districts: Vec<Opt>,
    pub venues: Vec<Opt>,
    /// Parameters without a field of their own (source, bbox, near, …, lang): kept.
    pub hidden: Vec<(String, String)>,
    pub reset_href: String,
    /// Whether transit data is configured (else the checkbox is left out).
    pub has_transit: bool,
}

/// Options from `(value, label)` pairs, sorted by label, with the URL's value selected (added
/// when it is not among them, e.g. a category term instead of an id).
fn options(items: Vec<(String, String)>, selected: Option<&str>) -> Vec<Opt> {
    let mut opts: Vec<Opt> = items
        .into_iter()
        .map(|(value, label)| Opt {
            selected: selected.is_some_and(|s| s.eq_ignore_ascii_case(&value)),
            value,
            label,
        })
        .collect();
    opts.sort_by_cached_key(|o| crate::compare::words(&o.label).join(" "));
    if let Some(s) = selected
        && !opts.iter().any(|o| o.selected)
    {
        opts.insert(
            0,
            Opt {
                value: s.to_string(),
                label: s.to_string(),
                selected: true,
            },
        );
    }
    opts
}

/// The filter form of a page at `action`.
pub fn form(snap: &Snapshot, q: &PageQuery, action: &'static str) -> FormView {
    const OWN_FIELDS: &[&str] = &[
        "from", "to", "q", "free", "transit", "category", "district", "venue",
    ];
    let first = |key: &str| {
        q.value(key)
            .and_then(|v| v.split(',').map(str::trim).find(|s| !s.is_empty()))
    };
    let mut hidden: Vec<(String, String)> = q
        .pairs
        .iter()
        .filter(|(k, _)| !OWN_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    if let Some(l) = q.lang_param {
        hidden.push(("lang".into(), l.tag().into()));
    }
    FormView {
        action,
        from: q.value("from").unwrap_or_default().to_string(),
        to: q.value("to").unwrap_or_default().to_string(),
        q: q.value("q").unwrap_or_default().to_string(),
        free: q.filter.free,
        transit: q.filter.transit,
        categories: options(
            snap.vocabulary
                .categories
                .iter()
                .map(|c| (c.id.clone(), cards::category_label(snap, &c.id, q.lang)))
                .collect(),
            first("category"),
        ),
        districts: options(
            snap.geo
                .districts
                .areas
                .iter()
                .map(|a| (a.name.clone(), a.name.clone()))
                .collect(),
            first("district"),
        ),
        venues: options(
            snap.geo
                .venues
                .venues
                .iter()
                .map(|v| (v.id.clone(), v.name.clone()))
                .collect(),
            first("venue"),
        ),
        hidden,
        reset_href: q.plain_href(action),
        has_transit: snap.transit.is_some(),
    }
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    chrome: Chrome,
    form: FormView,
    days: Vec<Day>,
    count: String,
    total: usize,
    more_href: Option<String>,
    links: Links,
    list_href: String,
    map_href: String,
    map_view: bool,
}

/// Renders `/`.
pub fn render(snap: &Snapshot, q: &PageQuery, ctx: &Ctx) -> Result<String, WebError> {
    let mut filter = q.filter.clone();
    let first_day = *filter.from.get_or_insert(ctx.today);
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let total = snap.select(&filter).count();
    let days = cards::days(
        snap,
        snap.select(&filter).take(limit),
        q,
        first_day,
        ctx.today,
    );
    let shown = total.min(limit);
    let more_href = (total > shown && limit < MAX_LIMIT).then(|| {
        let next = (limit + DEFAULT_LIMIT).min(MAX_LIMIT);
        // The page's own `limit` is replaced, the rest of the state kept.
        q.href_plus("/", "limit", &next.to_string())
    });
    Ok(IndexPage {
        chrome: Chrome::new(snap, q, "/", Nav::Events),
        form: form(snap, q, "/"),
        days,
        count: q.lang.shown_of(shown, total),
        total,
        more_href,
        links: Links::new(q, &ctx.base_url),
        list_href: q.href("/"),
        map_href: q.href("/map"),
        map_view: false,
    }
    .render()?)
}

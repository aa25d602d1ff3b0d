//! The embed for city portals: `/embed?…filters` is a compact list made for an `<iframe>`
//! (any site may frame it: `Content-Security-Policy: frame-ancestors *`, no `X-Frame-Options`),
//! and `/embed.js` is a small script without framework that renders the same list into the host
//! page as a `<regiocal-events>` element, themable with CSS variables (it reads the JSON API,
//! which answers any origin).

use super::cards::{self, Day};
use super::query::PageQuery;
use super::{Ctx, WebError};
use crate::output::Snapshot;
use askama::Template;

/// Events the embed shows without `limit`, and the most it shows.
pub const DEFAULT_LIMIT: usize = 5;
pub const MAX_LIMIT: usize = 50;

#[derive(Template)]
#[template(path = "embed.html")]
struct EmbedPage {
    lang: &'static str,
    t: &'static super::i18n::Texts,
    site: String,
    css_href: String,
    days: Vec<Day>,
    all_href: String,
}

/// Renders `/embed`.
pub fn render(snap: &Snapshot, q: &PageQuery, ctx: &Ctx) -> Result<String, WebError> {
    let mut filter = q.filter.clone();
    let first_day = *filter.from.get_or_insert(ctx.today);
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let mut days = cards::days(
        snap,
        snap.select(&filter).take(limit),
        q,
        first_day,
        ctx.today,
    );
    // Inside a host page's frame, event pages open in a tab of their own.
    for card in days.iter_mut().flat_map(|d| d.cards.iter_mut()) {
        card.new_tab = true;
        card.href = format!("{}{}", ctx.base_url, card.href);
    }
    Ok(EmbedPage {
        lang: q.lang.tag(),
        t: q.lang.texts(),
        site: snap.calendar.name.clone(),
        css_href: super::assets::url("embed.css"),
        days,
        all_href: format!("{}{}", ctx.base_url, q.href("/")),
    }
    .render()?)
}

//! `/sources`: the feed doctor as a page. Every configured source with its health, last fetch
//! and last success, last error, number of events, licence and attribution, as a table.

use super::detail::license_url;
use super::query::PageQuery;
use super::safe::http_url;
use super::{Chrome, Ctx, Nav, WebError};
use crate::model::Health;
use crate::output::Snapshot;
use askama::Template;
use chrono::{DateTime, Utc};

/// One row of the table.
pub struct SourceRow {
    pub id: String,
    pub name: String,
    /// The feed's address when it is a web address (local files are not shown).
    pub url: Option<String>,
    pub health: &'static str,
    /// CSS class of the health badge.
    pub health_class: &'static str,
    pub last_fetch: String,
    pub last_success: String,
    pub error: Option<String>,
    pub events: u32,
    /// The warnings kept from the last parse (skipped events and why, unknown TZIDs).
    pub warnings: Vec<String>,
    /// How many more there were.
    pub warnings_more: Option<String>,
    /// The list of this source's events.
    pub href: String,
    pub license: Option<String>,
    pub license_url: Option<&'static str>,
    pub attribution: Option<String>,
}

#[derive(Template)]
#[template(path = "sources.html")]
struct SourcesPage {
    chrome: Chrome,
    rows: Vec<SourceRow>,
}

/// Renders `/sources`.
pub fn render(snap: &Snapshot, q: &PageQuery, _ctx: &Ctx) -> Result<String, WebError> {
    let lang = q.lang;
    let t = lang.texts();
    let tz = snap.calendar.timezone;
    let when = |d: Option<DateTime<Utc>>| match d {
        Some(d) => lang.date_time(d.with_timezone(&tz).naive_local()),
        None => t.never.to_string(),
    };
    let rows = snap
        .sources
        .iter()
        .map(|s| {
            let st = &s.state;
            let (health, health_class) = match st.health() {
                Health::Ok => (t.health_ok, "ok"),
                Health::Pending => (t.health_pending, "pending"),
                Health::Degraded => (t.health_degraded, "degraded"),
                Health::Failing => (t.health_failing, "failing"),
                Health::Suspect => (t.health_suspect, "suspect"),
            };
            SourceRow {
                id: s.id.clone(),
                name: s.name.clone(),
                url: http_url(&s.url),
                health,
                health_class,
                last_fetch: when(st.last_fetch),
                last_success: when(st.last_success),
                error: st.last_error.clone().filter(|e| !e.trim().is_empty()),
                events: st.event_count,
                warnings: st.warning_texts.clone(),
                warnings_more: (st.last_warnings as usize > st.warning_texts.len()).then(|| {
                    t.warnings_more.replace(
                        "{n}",
                        &(st.last_warnings as usize - st.warning_texts.len()).to_string(),
                    )
                }),
                href: q.with_lang(format!("/?source={}", super::query::encode_value(&s.id))),
                license: s.license.clone(),
                license_url: s.license.as_deref().and_then(license_url),
                attribution: s.attribution.clone(),
            }
        })
        .collect();
    Ok(SourcesPage {
        chrome: Chrome::new(snap, q, "/sources", Nav::Sources),
        rows,
    }
    .render()?)
}

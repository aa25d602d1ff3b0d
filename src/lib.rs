//! regiocal: an open-data regional event calendar.
//!
//! Local actors (theatres, museums, clubs, city offices) publish their events as feeds. regiocal
//! pulls those feeds on cron schedules, normalises them into one event model, keeps them in a
//! store and serves one merged, filterable calendar (iCalendar and JSON).
//!
//! Data flows one way, and so do the imports (a module uses those before it; see
//! `docs/architecture.md`, enforced by `tests/architecture.rs`):
//!
//! ```text
//! schedule -> fetch -> format::detect + parse -> normalize -> ingest -> store -> output (snapshot) -> http -> web, server
//! ```
//!
//! * [`fetch`] gets a source's bytes (HTTP with conditional GET, or a local file) and runs the
//!   cron [`fetch::schedule`].
//! * [`format`] detects the format of a body and parses it into [`model::Event`]s.
//! * [`normalize`] cleans events (text, categories, validation) and expands recurrences.
//! * [`geo`], [`transit`], [`dedupe`] and [`overrides`] are what later steps look places, stops,
//!   matches and corrections up in.
//! * [`ingest`] runs that pipeline for one source (and for pushed bodies) and writes the result
//!   through its [`ingest::Storage`] trait, guarding against empty or sharply shrunk feeds.
//! * [`store`] implements that trait (SQLite or PostgreSQL).
//! * [`output`] builds an immutable in-memory snapshot of all occurrences and renders it as
//!   iCalendar or JSON; both the server and `regiocal export` use it, so they agree byte for byte.
//! * [`http`] is what the feeds and the pages share; [`web`] is the server-rendered web UI and
//!   the embed; [`server`] is the HTTP API and the push API.
//! * On top, [`config`] assembles the sections every module owns and [`app`] wires everything
//!   together for the CLI. Below everything, the leaves: [`model`], [`calendar`], [`settings`],
//!   [`text`], [`compare`], [`timefmt`], [`clock`], [`work`] (CPU-heavy work off the async
//!   workers) and [`metrics`] (the exporter; modules record their own measurements).

pub mod app;
pub mod calendar;
pub mod clock;
pub mod compare;
pub mod config;
pub mod dedupe;
pub mod fetch;
pub mod format;
pub mod geo;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod output;
pub mod overrides;
pub mod server;
pub mod settings;
pub mod store;
pub mod text;
pub mod timefmt;
pub mod transit;
pub mod web;
pub mod work;

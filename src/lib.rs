//! regiocal: an open-data regional event calendar.
//!
//! Local actors (theatres, museums, clubs, city offices) publish their events as feeds. regiocal
//! pulls those feeds on cron schedules, normalises them into one event model, keeps them in a
//! store and serves one merged, filterable calendar (iCalendar and JSON).
//!
//! Data flows one way:
//!
//! ```text
//! schedule -> fetch -> format::detect + parse -> normalize -> store -> output (snapshot) -> server
//! ```
//!
//! * [`config`] reads and validates the TOML configuration.
//! * [`fetch`] gets a source's bytes (HTTP with conditional GET, or a local file) and runs the
//!   cron [`fetch::schedule`].
//! * [`format`] detects the format of a body and parses it into [`model::Event`]s.
//! * [`normalize`] cleans events (text, categories, validation) and expands recurrences.
//! * [`ingest`] runs that pipeline for one source and applies the result to the [`store`],
//!   guarding against empty or sharply shrunk feeds.
//! * [`output`] builds an immutable in-memory snapshot of all occurrences and renders it as
//!   iCalendar or JSON; both the server and `regiocal export` use it, so they agree byte for byte.
//! * [`server`] is the HTTP API; [`metrics`] its Prometheus instrumentation; [`app`] wires
//!   everything together for the CLI.
//! * [`web`] is the server-rendered web UI (list, map, event pages, subscribe, sources) and the
//!   embed for other websites; like the feeds it reads only the current snapshot.
//! * [`timefmt`] writes the fixed date and time texts of the feeds quickly.
//! * [`work`] runs CPU-heavy work off the async workers (imports at lowered priority).

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

//! schema.org JSON-LD input: JSON documents (`application/ld+json` feeds) and the
//! `<script type="application/ld+json">` blocks of HTML pages (theatre programmes, museum and
//! ticketing sites, CMS event plugins).
//!
//! The text is parsed into a [`serde_json::Value`] first (serde_json's recursion limit of 128
//! guards against absurd nesting), then searched for nodes whose `@type` is `Event` or one of its
//! subtypes: at the top level, in arrays, in `@graph`, in `ItemList`s (`itemListElement` →
//! `item`), under `mainEntity`/`event`/`events`, and in `subEvent`s. `{"@id": …}` references are
//! resolved against the other nodes of the same document, so a `location` or `organizer` that
//! points to a `Place` or `Organization` elsewhere in the `@graph` is read like an inline one.
//!
//! Every property may be a string or an object, a single value or an array; types may carry the
//! `https://schema.org/` / `http://schema.org/` / `schema:` prefix. The event subtype becomes a
//! German category (`TheaterEvent` → "Theater"). An `EventSeries` yields its `subEvent`s (which
//! inherit location, organizer, image, offers and a few more properties when they have none);
//! an `eventSchedule` becomes one series event with an RRULE. Dates: date-only values are
//! all-day events and a date-only `endDate` is inclusive (the last day of an exhibition).
//!
//! An event that cannot be used becomes a warning `item {id or #position}: skipped: {reason}`;
//! a JSON-LD block of an HTML page that is not valid JSON becomes a warning with its block number
//! and position, and the other blocks are still read.

use super::datetime::{default_end, parse_iso};
use super::ics::fallback_uid;
use super::{FormatError, MAX_DEPTH, ParseContext, Parsed};
use crate::model::{
    Address, Attendance, Event, EventTime, Geo, Offer, Organizer, Status, add_days, local_to_utc,
    recurrence_key,
};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

/// Most events read from one document (one JSON body or one HTML page); the rest are dropped
/// with a warning.
pub const MAX_EVENTS: usize = 10_000;

/// Most `exceptDate`s read from one schedule.
const MAX_EXCEPTIONS: usize = 1000;

const FORMAT: &str = "jsonld";
const HTML_FORMAT: &str = "html+jsonld";

type Obj = Map<String, Value>;

/// Event and its subtypes, with the category each subtype stands for.
const EVENT_TYPES: &[(&str, Option<&str>)] = &[
    ("Event", None),
    ("TheaterEvent", Some("Theater")),
    ("MusicEvent", Some("Musik")),
    ("ExhibitionEvent", Some("Ausstellung")),
    ("ScreeningEvent", Some("Film")),
    ("ComedyEvent", Some("Comedy")),
    ("DanceEvent", Some("Tanz")),
    ("ChildrensEvent", Some("Kinder")),
    ("EducationEvent", Some("Bildung")),
    ("Festival", Some("Festival")),
    ("FoodEvent", Some("Kulinarik")),
    ("LiteraryEvent", Some("Literatur")),
    ("SocialEvent", Some("Geselligkeit")),
    ("SportsEvent", Some("Sport")),
    ("BusinessEvent", Some("Wirtschaft")),
    ("CourseInstance", Some("Kurs")),
    ("PublicationEvent", Some("Veröffentlichung")),
    ("SaleEvent", Some("Verkauf")),
    ("VisualArtsEvent", Some("Bildende Kunst")),
    ("EventSeries", None),
];

/// The German category label of an event type, if it has one.
pub fn category_of(schema_type: &str) -> Option<&'static str> {
    let t = strip_schema(schema_type);
    EVENT_TYPES
        .iter()
        .find(|(name, _)| *name == t)
        .and_then(|(_, label)| *label)
}

/// Properties a `subEvent` takes from its series (or parent event) when it has none.
const INHERITED: &[&str] = &[
    "location",
    "organizer",
    "image",
    "offers",
    "isAccessibleForFree",
    "inLanguage",
    "eventAttendanceMode",
    "description",
    "url",
];

/// Keys under which events may be nested in non-event nodes.
const CONTAINER_KEYS: &[&str] = &[
    "@graph",
    "itemListElement",
    "item",
    "mainEntity",
    "event",
    "events",
    "subEvent",
    "subEvents",
];

/// Parses a JSON-LD document.
pub fn parse_json(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let value: Value = serde_json::from_str(text).map_err(|e| FormatError::json(FORMAT, &e))?;
    let mut reader = Reader::new(ctx);
    reader.read_document(&value, None);
    // `[]` or `{"@context": …, "@graph": []}` is an empty feed; JSON without any schema.org
    // node is not JSON-LD.
    let empty_document = match &value {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.contains_key("@context") || o.contains_key("@graph"),
        _ => false,
    };
    if reader.typed_nodes == 0 && !empty_document {
        return Err(FormatError::Invalid {
            format: FORMAT,
            message: "no schema.org node (no \"@type\") found".into(),
        });
    }
    Ok(reader.out)
}

/// Parses the JSON-LD blocks of an HTML page. A block that is not valid JSON becomes a warning;
/// a page without any Event is [`FormatError::NoEventsInHtml`].
pub fn parse_html(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let blocks = script_blocks(text)?;
    let mut reader = Reader::new(ctx);
    for (i, block) in blocks.iter().enumerate() {
        let number = i + 1;
        let json = strip_markers(&block.text);
        if json.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&json) {
            Ok(value) => reader.read_document(&value, Some(number)),
            Err(e) => {
                let (page_line, page_column) = page_position(text, block.offset, &e);
                reader.out.warnings.push(format!(
                    "JSON-LD block {number} ignored: invalid JSON at line {}, column {} of the \
                     block (page line {page_line}, column {page_column}): {}",
                    e.line(),
                    e.column(),
                    json_message(&e)
                ));
            }
        }
    }
    if reader.event_nodes == 0 {
        return Err(FormatError::NoEventsInHtml);
    }
    Ok(reader.out)
}

/// The text of one `<script type="application/ld+json">` element.
struct Block {
    text: String,
    /// Byte offset of the text in the page.
    offset: Option<usize>,
}

/// Collects the JSON-LD script blocks of a page with lol_html (tag and attribute names are
/// case-insensitive in HTML; the `type` value is compared case-insensitively too).
fn script_blocks(html: &str) -> Result<Vec<Block>, FormatError> {
    let blocks: RefCell<Vec<Block>> = RefCell::new(Vec::new());
    let inside = Cell::new(false);
    {
        let settings = lol_html::Settings::new()
            .with_strict(false)
            .append_element_content_handler(lol_html::element!("script", |el| {
                let is_ld = el.get_attribute("type").is_some_and(|t| is_ld_json(&t));
                inside.set(is_ld);
                if is_ld {
                    blocks.borrow_mut().push(Block {
                        text: String::new(),
                        offset: None,
                    });
                }
                Ok(())
            }))
            .append_element_content_handler(lol_html::text!("script", |chunk| {
                if inside.get()
                    && let Some(block) = blocks.borrow_mut().last_mut()
                {
                    if block.offset.is_none() {
                        block.offset = Some(chunk.source_location().bytes().start);
                    }
                    block.text.push_str(chunk.as_str());
                }
                Ok(())
            }));
        let mut rewriter = lol_html::HtmlRewriter::new(settings, |_: &[u8]| {});
        let result = rewriter
            .write(html.as_bytes())
            .and_then(|()| rewriter.end());
        result.map_err(|e| FormatError::Invalid {
            format: HTML_FORMAT,
            message: format!("cannot read the HTML page: {e}"),
        })?;
    }
    Ok(blocks.into_inner())
}

fn is_ld_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
}

/// Blanks out the HTML comment / CDATA wrappers old CMSs put around script contents, keeping
/// every other character where it was (so error positions stay right).
fn strip_markers(text: &str) -> String {
    let mut s = text.to_string();
    const OPENERS: [&str; 4] = ["//<![CDATA[", "/*<![CDATA[*/", "<![CDATA[", "<!--"];
    const CLOSERS: [&str; 4] = ["//]]>", "/*]]>*/", "]]>", "-->"];
    let lead = s.len() - s.trim_start().len();
    if let Some(m) = OPENERS
        .iter()
        .find(|m| s.get(lead..).is_some_and(|rest| rest.starts_with(*m)))
    {
        s.replace_range(lead..lead + m.len(), &" ".repeat(m.len()));
    }
    let end = s.trim_end().len();
    if let Some(m) = CLOSERS
        .iter()
        .find(|m| s.get(..end).is_some_and(|head| head.ends_with(*m)))
    {
        s.replace_range(end - m.len()..end, &" ".repeat(m.len()));
    }
    s
}

/// serde_json's message without the position it appends (the caller names the position).
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

/// Line and column in the page of a JSON error inside a block starting at `offset`.
fn page_position(html: &str, offset: Option<usize>, e: &serde_json::Error) -> (usize, usize) {
    let before = offset.and_then(|o| html.get(..o)).unwrap_or("");
    let base_line = before.matches('\n').count() + 1;
    let base_column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    let line = base_line + e.line().saturating_sub(1);
    let column = if e.line() <= 1 {
        base_column + e.column().saturating_sub(1)
    } else {
        e.column()
    };
    (line, column)
}

/// Per-document state: the `@id` index and the nodes already visited.
struct Doc<'v> {
    index: HashMap<&'v str, &'v Value>,
    visited: HashSet<*const Obj>,
    block: Option<usize>,
}

impl<'v> Doc<'v> {
    fn new(root: &'v Value, block: Option<usize>) -> Doc<'v> {
        let mut index = HashMap::new();
        index_ids(root, 0, &mut index);
        Doc {
            index,
            visited: HashSet::new(),
            block,
        }
    }

    /// The node a `{"@id": …}` reference points to (or the value itself).
    fn resolve(&self, v: &'v Value) -> &'v Value {
        match v {
            Value::Object(o) if is_reference(o) => o
                .get("@id")
                .and_then(Value::as_str)
                .and_then(|id| self.index.get(id).copied())
                .unwrap_or(v),
            _ => v,
        }
    }

    /// The objects of a single-or-array property, references resolved.
    fn objects(&self, v: Option<&'v Value>) -> Vec<&'v Obj> {
        items(v)
            .filter_map(|x| self.resolve(x).as_object())
            .collect()
    }
}

/// Whether an object only points to another node.
fn is_reference(o: &Obj) -> bool {
    o.contains_key("@id") && o.keys().all(|k| matches!(k.as_str(), "@id" | "@type"))
}

fn index_ids<'v>(v: &'v Value, depth: usize, index: &mut HashMap<&'v str, &'v Value>) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| index_ids(x, depth + 1, index)),
        Value::Object(o) => {
            if let Some(id) = o.get("@id").and_then(Value::as_str)
                && !is_reference(o)
            {
                index.entry(id).or_insert(v);
            }
            o.values().for_each(|x| index_ids(x, depth + 1, index));
        }
        _ => {}
    }
}

/// A node's own properties plus those it inherits from its series.
#[derive(Clone, Copy)]
struct Node<'v> {
    own: &'v Obj,
    parent: Option<&'v Obj>,
}

impl<'v> Node<'v> {
    /// A property; inheritable ones fall back to the parent.
    fn get(&self, key: &str) -> Option<&'v Value> {
        present(self.own.get(key)).or_else(|| {
            if INHERITED.contains(&key) {
                present(self.parent.and_then(|p| p.get(key)))
            } else {
                None
            }
        })
    }
}

/// A value that is there (not `null`, not an empty array).
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        _ => true,
    })
}

/// The elements of a single-or-array value.
fn items(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let slice: &[Value] = match v {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => &[],
        Some(other) => std::slice::from_ref(other),
    };
    slice.iter().filter(|x| !x.is_null())
}

/// The first element of a single-or-array value.
fn first(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(a) => a.iter().find(|x| !x.is_null()),
        Value::Null => None,
        other => Some(other),
    }
}

/// A schema.org name without its vocabulary prefix.
fn strip_schema(t: &str) -> &str {
    let t = t.trim();
    for prefix in [
        "https://schema.org/",
        "http://schema.org/",
        "https://www.schema.org/",
        "http://www.schema.org/",
        "schema:",
    ] {
        if t.len() >= prefix.len()
            && let Some(head) = t.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            return t.get(prefix.len()..).unwrap_or("").trim_end_matches('/');
        }
    }
    t
}

/// The `@type`s of a node, prefixes stripped.
fn types_of(o: &Obj) -> Vec<&str> {
    items(o.get("@type"))
        .filter_map(Value::as_str)
        .map(strip_schema)
        .collect()
}

fn is_event(types: &[&str]) -> bool {
    types
        .iter()
        .any(|t| EVENT_TYPES.iter().any(|(name, _)| name == t))
}

/// Text of a value: a string, a number, a `{"@value"}` or an object's `name`; the first of an
/// array. Empty strings count as missing. Raw: cleanup happens in `normalize`.
fn text(v: &Value) -> Option<String> {
    text_at(v, 0)
}

fn text_at(v: &Value, depth: usize) -> Option<String> {
    if depth > 4 {
        return None;
    }
    match v {
        Value::String(s) => (!s.trim().is_empty()).then(|| s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(|x| text_at(x, depth + 1)),
        Value::Object(o) => o
            .get("@value")
            .or_else(|| o.get("name"))
            .and_then(|x| text_at(x, depth + 1)),
        _ => None,
    }
}

/// An enumeration value (`"https://schema.org/EventCancelled"` or `{"@id": …}`), prefix stripped.
fn enum_value(v: &Value) -> Option<String> {
    match first(v)? {
        Value::String(s) => Some(strip_schema(s).to_string()),
        Value::Object(o) => o
            .get("@id")
            .or_else(|| o.get("name"))
            .and_then(Value::as_str)
            .map(|s| strip_schema(s).to_string()),
        _ => None,
    }
}

/// A JSON kind for error messages.
fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A date/date-time property.
fn time_field(v: &Value, field: &str, zone: Tz) -> Result<EventTime, String> {
    let value = first(v).ok_or_else(|| format!("{field}: empty value"))?;
    let s = match value {
        Value::String(s) => s.as_str(),
        Value::Object(o) => match o.get("@value") {
            Some(Value::String(s)) => s.as_str(),
            _ => {
                return Err(format!(
                    "{field}: expected an ISO 8601 date string, got an object"
                ));
            }
        },
        other => {
            return Err(format!(
                "{field}: expected an ISO 8601 date string, got {}",
                kind(other)
            ));
        }
    };
    parse_iso(s, zone).map_err(|e| format!("{field}: {e}"))
}

/// The end of an event from its `endDate` (a date-only `endDate` is the last day, inclusive).
fn end_from(start: &EventTime, end: EventTime, zone: Tz) -> Result<EventTime, String> {
    const BEFORE: &str = "endDate is before startDate";
    match (*start, end) {
        (EventTime::Date { date: s }, EventTime::Date { date: e }) => {
            if e < s {
                return Err(BEFORE.into());
            }
            Ok(EventTime::Date {
                date: add_days(e, 1),
            })
        }
        (EventTime::Date { date: s }, timed) => {
            let d = timed.date_in(zone);
            let at_midnight =
                timed.to_utc(zone) == local_to_utc(d.and_time(NaiveTime::MIN), zone) && d > s;
            let last = if at_midnight { d } else { add_days(d, 1) };
            if last <= s {
                return Err(BEFORE.into());
            }
            Ok(EventTime::Date { date: last })
        }
        (timed, EventTime::Date { date: e }) => {
            let tz = timed.zone().unwrap_or(zone);
            if e < timed.date_in(tz) {
                return Err(BEFORE.into());
            }
            let midnight = add_days(e, 1).and_time(NaiveTime::MIN);
            Ok(match timed {
                EventTime::Local { .. } => EventTime::Local {
                    local: midnight,
                    tz,
                },
                _ => EventTime::Utc {
                    utc: local_to_utc(midnight, tz),
                },
            })
        }
        (_, end) => {
            if end.to_utc(zone) < start.to_utc(zone) {
                return Err(BEFORE.into());
            }
            Ok(end)
        }
    }
}

/// An ISO 8601 duration (`PT2H30M`, `P1D`, `P1W`) as nominal days and exact seconds.
fn parse_duration(text: &str) -> Option<(i64, i64)> {
    let t = text.trim().to_ascii_uppercase();
    let rest = t.strip_prefix('P')?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut days = 0i64;
    let mut secs = 0i64;
    let mut any = false;
    for (part, is_time) in [(date_part, false), (time_part.unwrap_or(""), true)] {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let n: i64 = num.parse().ok().filter(|n: &i64| *n <= 100_000)?;
            num.clear();
            any = true;
            match (is_time, c) {
                (false, 'W') => days += n * 7,
                (false, 'D') => days += n,
                (true, 'H') => secs += n * 3600,
                (true, 'M') => secs += n * 60,
                (true, 'S') => secs += n,
                _ => return None,
            }
        }
        if !num.is_empty() {
            return None;
        }
    }
    any.then_some((days, secs))
}

/// `start` plus a duration: whole days nominal (wall clock), the rest exact.
fn add_span(start: EventTime, days: i64, secs: i64) -> EventTime {
    match start {
        EventTime::Date { date } => EventTime::Date {
            date: add_days(date, days.max(if secs > 0 { 1 } else { 0 })),
        },
        EventTime::Utc { utc } => EventTime::Utc {
            utc: utc + Duration::days(days) + Duration::seconds(secs),
        },
        EventTime::Local { local, tz } => {
            let shifted = local
                .checked_add_signed(Duration::days(days))
                .unwrap_or(local);
            let instant = local_to_utc(shifted, tz) + Duration::seconds(secs);
            EventTime::Local {
                local: instant.with_timezone(&tz).naive_local(),
                tz,
            }
        }
    }
}

/// A price as sites write it: `12.5`, `"12,50"`, `"12.50 €"`, `"1.234,00"`, `"kostenlos"`.
fn parse_price(v: &Value) -> Option<f64> {
    match first(v)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => price_text(s),
        Value::Object(o) => o.get("@value").and_then(parse_price),
        _ => None,
    }
    .filter(|p| p.is_finite())
}

fn price_text(s: &str) -> Option<f64> {
    let lower = s.trim().to_lowercase();
    if ["free", "kostenlos", "gratis", "frei", "eintritt frei"].contains(&lower.as_str()) {
        return Some(0.0);
    }
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .collect();
    let kept = kept.trim_matches(|c| c == ',' || c == '.');
    if kept.is_empty() {
        return None;
    }
    let commas = kept.matches(',').count();
    let dots = kept.matches('.').count();
    let normalized = match (commas, dots) {
        (0, 0) | (0, 1) => kept.to_string(),
        (0, _) => kept.replace('.', ""),
        (1, 0) => kept.replace(',', "."),
        (_, 0) => kept.replace(',', ""),
        _ => {
            let last_comma = kept.rfind(',').unwrap_or(0);
            let last_dot = kept.rfind('.').unwrap_or(0);
            if last_comma > last_dot {
                kept.replace('.', "").replace(',', ".")
            } else {
                kept.replace(',', "")
            }
        }
    };
    normalized.parse().ok()
}

/// A boolean written as `true`, `"true"`, `"True"`, `1`, `"ja"`.
fn boolean(v: &Value) -> Option<bool> {
    match first(v)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "ja" | "1" => Some(true),
            "false" | "no" | "nein" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A coordinate: a number or a string (with a decimal point or comma).
fn coordinate(v: Option<&Value>) -> Option<f64> {
    match first(v?)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    }
}

/// The location line of an address: "Street, Postcode City".
pub fn address_line(a: &Address) -> String {
    let city = [a.postal_code.as_deref(), a.locality.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    [a.street.as_deref().map(str::trim), Some(city.as_str())]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "Name, Street, Postcode City", without repeating what the name already says.
fn join_location(name: Option<String>, address: Option<String>) -> Option<String> {
    match (name, address) {
        (Some(n), Some(a)) => {
            let (nt, at) = (n.trim(), a.trim());
            if nt.contains(at) {
                Some(n)
            } else if at.contains(nt) {
                Some(a)
            } else {
                Some(format!("{nt}, {at}"))
            }
        }
        (n, a) => n.or(a),
    }
}

/// What a `location` says.
#[derive(Default)]
struct Location {
    text: Option<String>,
    address: Option<Address>,
    geo: Option<Geo>,
    online_url: Option<String>,
    physical: bool,
    virtual_: bool,
}

/// A schema.org `Schedule` read into rule parts.
struct Rule {
    freq: &'static str,
    interval: u32,
    by_day: Vec<Weekday>,
    by_month_week: Vec<i32>,
    by_month_day: Vec<i32>,
    by_month: Vec<u32>,
}

impl Rule {
    /// Whether a date satisfies the BY* parts (the first instance must).
    fn matches(&self, d: NaiveDate) -> bool {
        let dim = days_in_month(d);
        let day = d.day() as i32;
        (self.by_month.is_empty() || self.by_month.contains(&d.month()))
            && (self.by_month_day.is_empty()
                || self
                    .by_month_day
                    .iter()
                    .any(|&m| if m > 0 { day == m } else { dim - day + 1 == -m }))
            && (self.by_day.is_empty() || self.by_day.contains(&d.weekday()))
            && (self.by_day.is_empty()
                || self.by_month_week.is_empty()
                || self.by_month_week.iter().any(|&w| {
                    if w > 0 {
                        (day - 1) / 7 + 1 == w
                    } else {
                        (dim - day) / 7 + 1 == -w
                    }
                }))
    }

    /// The rule text without COUNT/UNTIL.
    fn text(&self) -> String {
        let mut parts = vec![format!("FREQ={}", self.freq)];
        if self.interval > 1 {
            parts.push(format!("INTERVAL={}", self.interval));
        }
        let join = |v: Vec<String>| v.join(",");
        if !self.by_month.is_empty() {
            parts.push(format!(
                "BYMONTH={}",
                join(self.by_month.iter().map(u32::to_string).collect())
            ));
        }
        if !self.by_month_day.is_empty() {
            parts.push(format!(
                "BYMONTHDAY={}",
                join(self.by_month_day.iter().map(i32::to_string).collect())
            ));
        }
        if !self.by_day.is_empty() {
            let days: Vec<String> = if self.by_month_week.is_empty() {
                self.by_day
                    .iter()
                    .map(|d| ical_day(*d).to_string())
                    .collect()
            } else {
                self.by_month_week
                    .iter()
                    .flat_map(|w| {
                        self.by_day
                            .iter()
                            .map(move |d| format!("{w}{}", ical_day(*d)))
                    })
                    .collect()
            };
            parts.push(format!("BYDAY={}", join(days)));
        }
        parts.join(";")
    }
}

fn days_in_month(d: NaiveDate) -> i32 {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|next| next.pred_opt())
        .map_or(31, |last| last.day() as i32)
}

fn ical_day(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// A day of the week: a schema.org `DayOfWeek` URI or name, an iCalendar code, or German.
fn weekday(v: &Value) -> Result<Weekday, String> {
    let raw = enum_value(v).ok_or_else(|| format!("byDay: unexpected {}", kind(v)))?;
    let name = raw.rsplit(['/', '#', ':']).next().unwrap_or("").trim();
    let day = match name.to_lowercase().as_str() {
        "monday" | "mo" | "montag" => Weekday::Mon,
        "tuesday" | "tu" | "dienstag" => Weekday::Tue,
        "wednesday" | "we" | "mittwoch" => Weekday::Wed,
        "thursday" | "th" | "donnerstag" => Weekday::Thu,
        "friday" | "fr" | "freitag" => Weekday::Fri,
        "saturday" | "sa" | "samstag" | "sonnabend" => Weekday::Sat,
        "sunday" | "su" | "sonntag" => Weekday::Sun,
        _ => {
            return Err(format!(
                "byDay: unsupported day {:?}",
                crate::text::shorten(&raw, 40)
            ));
        }
    };
    Ok(day)
}

/// Integers of a single-or-array property, each within `range`.
fn integers(
    v: Option<&Value>,
    field: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Vec<i64>, String> {
    items(v)
        .map(|x| {
            let n = match x {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            n.filter(|n| range.contains(n) && *n != 0)
                .ok_or_else(|| format!("{field}: invalid value {}", shorten_value(x)))
        })
        .collect()
}

fn shorten_value(v: &Value) -> String {
    crate::text::shorten(&v.to_string(), 40)
}

/// `repeatFrequency` as FREQ and INTERVAL.
fn frequency(v: &Value) -> Result<(&'static str, u32), String> {
    let raw = text(v).ok_or_else(|| format!("repeatFrequency: unexpected {}", kind(v)))?;
    let t = raw.trim().to_uppercase();
    let word = match t.as_str() {
        "DAILY" | "TÄGLICH" => Some("DAILY"),
        "WEEKLY" | "WÖCHENTLICH" => Some("WEEKLY"),
        "MONTHLY" | "MONATLICH" => Some("MONTHLY"),
        "YEARLY" | "ANNUALLY" | "JÄHRLICH" => Some("YEARLY"),
        _ => None,
    };
    if let Some(w) = word {
        return Ok((w, 1));
    }
    let unsupported = || {
        format!(
            "repeatFrequency: unsupported value {:?} (expected P1D, P1W, P1M or P1Y)",
            crate::text::shorten(&raw, 40)
        )
    };
    let rest = t.strip_prefix('P').ok_or_else(unsupported)?;
    let unit = rest.chars().last().ok_or_else(unsupported)?;
    let n: u32 = rest
        .get(..rest.len() - unit.len_utf8())
        .unwrap_or("")
        .parse()
        .map_err(|_| unsupported())?;
    if n == 0 || n > 1000 {
        return Err(unsupported());
    }
    let freq = match unit {
        'D' => "DAILY",
        'W' => "WEEKLY",
        'M' => "MONTHLY",
        'Y' => "YEARLY",
        _ => return Err(unsupported()),
    };
    Ok((freq, n))
}

/// A time of day (`19:30`, `19:30:00`, `T19:30:00+01:00`); an offset is ignored (the schedule's
/// zone applies).
fn time_of_day(v: &Value, field: &str) -> Result<NaiveTime, String> {
    let raw = match first(v) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!(
                "{field}: expected a time string, got {}",
                kind(other)
            ));
        }
        None => return Err(format!("{field}: empty value")),
    };
    let t = raw.trim().trim_start_matches('T');
    let t = t
        .char_indices()
        .skip(5)
        .find(|(_, c)| matches!(c, '+' | '-' | 'Z' | 'z'))
        .map_or(t, |(i, _)| t.get(..i).unwrap_or(t));
    NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
        .map_err(|_| format!("{field}: invalid time {:?}", crate::text::shorten(&raw, 40)))
}

/// Walks documents and turns Event nodes into events.
struct Reader<'c> {
    ctx: ParseContext<'c>,
    out: Parsed,
    /// Event nodes seen (for positions in warnings).
    event_nodes: usize,
    /// Nodes with an `@type` seen.
    typed_nodes: usize,
    capped: bool,
}

impl<'c> Reader<'c> {
    fn new(ctx: &ParseContext<'c>) -> Reader<'c> {
        Reader {
            ctx: *ctx,
            out: Parsed::default(),
            event_nodes: 0,
            typed_nodes: 0,
            capped: false,
        }
    }

    fn read_document(&mut self, root: &Value, block: Option<usize>) {
        let mut doc = Doc::new(root, block);
        self.walk(root, 0, &mut doc);
    }

    fn walk<'v>(&mut self, v: &'v Value, depth: usize, doc: &mut Doc<'v>) {
        if depth > MAX_DEPTH || self.capped {
            return;
        }
        match doc.resolve(v) {
            Value::Array(list) => {
                for item in list {
                    self.walk(item, depth + 1, doc);
                }
            }
            Value::Object(obj) => {
                if !doc.visited.insert(obj as *const Obj) {
                    return;
                }
                let types = types_of(obj);
                if !types.is_empty() {
                    self.typed_nodes += 1;
                }
                if is_event(&types) {
                    self.event(obj, None, depth, doc);
                    return;
                }
                for key in CONTAINER_KEYS {
                    if let Some(child) = obj.get(*key) {
                        self.walk(child, depth + 1, doc);
                    }
                }
            }
            _ => {}
        }
    }

    /// One Event node: the event itself (or its schedule series) and its sub-events.
    fn event<'v>(
        &mut self,
        obj: &'v Obj,
        parent: Option<&'v Obj>,
        depth: usize,
        doc: &mut Doc<'v>,
    ) {
        if depth > MAX_DEPTH || self.capped {
            return;
        }
        self.event_nodes += 1;
        // Sub-events listed on their own point to their series with `superEvent`; it is only
        // read for the properties they inherit.
        let parent = parent.or_else(|| {
            doc.objects(obj.get("superEvent"))
                .into_iter()
                .find(|p| !is_reference(p) && !std::ptr::eq(*p, obj))
        });
        let node = Node { own: obj, parent };
        let label = self.label(&node, doc);
        let types = types_of(obj);
        let subs = doc.objects(present(obj.get("subEvent")).or_else(|| obj.get("subEvents")));
        let schedules = doc.objects(obj.get("eventSchedule"));
        if !schedules.is_empty() {
            let many = schedules.len() > 1;
            for (i, sched) in schedules.iter().enumerate() {
                let result = self.schedule_event(&node, sched, many.then_some(i + 1), doc);
                self.emit(&label, result);
            }
        } else if !types.contains(&"EventSeries") || subs.is_empty() {
            // A series with sub-events is only their container.
            let result = self.single_event(&node, doc);
            self.emit(&label, result);
        }
        for sub in subs {
            let sub_types = types_of(sub);
            if (sub_types.is_empty() || is_event(&sub_types))
                && doc.visited.insert(sub as *const Obj)
            {
                self.event(sub, Some(obj), depth + 1, doc);
            }
        }
    }

    /// How a warning names an item: its id, or its position.
    fn label(&self, node: &Node, doc: &Doc) -> String {
        let who = match own_id(node.own) {
            Some(id) => format!("{:?}", crate::text::shorten(&id, 80)),
            None => format!("#{}", self.event_nodes),
        };
        match doc.block {
            Some(b) => format!("{who} (JSON-LD block {b})"),
            None => who,
        }
    }

    fn emit(&mut self, label: &str, result: Result<Event, String>) {
        match result {
            Ok(ev) => {
                if self.out.events.len() >= MAX_EVENTS {
                    if !self.capped {
                        self.capped = true;
                        self.out.warnings.push(format!(
                            "more than {MAX_EVENTS} events in one document; the rest were dropped"
                        ));
                    }
                    return;
                }
                self.out.events.push(ev);
            }
            Err(reason) => self
                .out
                .warnings
                .push(format!("item {label}: skipped: {reason}")),
        }
    }

    /// A plain event with `startDate`/`endDate`.
    fn single_event<'v>(&mut self, node: &Node<'v>, doc: &Doc<'v>) -> Result<Event, String> {
        let zone = self.ctx.default_tz;
        let title = node.get("name").and_then(text).unwrap_or_default();
        let start = match present(node.own.get("startDate")) {
            Some(v) => time_field(v, "startDate", zone)?,
            None => return Err("no startDate".into()),
        };
        let end = match present(node.own.get("endDate")) {
            Some(v) => end_from(&start, time_field(v, "endDate", zone)?, zone)?,
            None => match node.own.get("duration").and_then(text) {
                Some(d) => {
                    let (days, secs) = parse_duration(&d).ok_or_else(|| {
                        format!(
                            "duration: invalid ISO 8601 duration {:?}",
                            crate::text::shorten(&d, 40)
                        )
                    })?;
                    add_span(start, days, secs)
                }
                None => default_end(&start),
            },
        };
        let uid = self.uid(node, &start, &title, None);
        let mut ev = Event::new(uid, title, start, end);
        self.fill(&mut ev, node, doc);
        Ok(ev)
    }

    /// One series event from a schema.org `Schedule`.
    fn schedule_event<'v>(
        &mut self,
        node: &Node<'v>,
        sched: &Obj,
        number: Option<usize>,
        doc: &Doc<'v>,
    ) -> Result<Event, String> {
        let zone = match sched.get("scheduleTimezone").and_then(text) {
            Some(name) => name.trim().parse::<Tz>().map_err(|_| {
                format!(
                    "eventSchedule: unknown scheduleTimezone {:?}",
                    crate::text::shorten(&name, 40)
                )
            })?,
            None => self.ctx.default_tz,
        };
        let title = node.get("name").and_then(text).unwrap_or_default();

        let start_value = present(sched.get("startDate"))
            .or_else(|| present(node.own.get("startDate")))
            .ok_or("eventSchedule: no startDate")?;
        let start_raw = time_field(start_value, "eventSchedule.startDate", zone)?;
        let start_time = present(sched.get("startTime"))
            .map(|v| time_of_day(v, "eventSchedule.startTime"))
            .transpose()?;

        let rule = self.rule(sched)?;
        // The first instance is the first day on or after startDate the rule matches.
        let first_day = |d: NaiveDate| -> Result<NaiveDate, String> {
            let mut day = d;
            for _ in 0..(366 * 4) {
                if rule.matches(day) {
                    return Ok(day);
                }
                day = day.succ_opt().ok_or("eventSchedule: date out of range")?;
            }
            Err("eventSchedule: no date matches byDay/byMonthDay/byMonth".into())
        };
        let start = match (start_raw, start_time) {
            (EventTime::Date { date }, Some(t)) => EventTime::Local {
                local: first_day(date)?.and_time(t),
                tz: zone,
            },
            (EventTime::Date { date }, None) => EventTime::Date {
                date: first_day(date)?,
            },
            (EventTime::Local { local, tz }, _) => EventTime::Local {
                local: first_day(local.date())?.and_time(local.time()),
                tz,
            },
            (utc @ EventTime::Utc { .. }, _) => utc,
        };

        let end = if let Some(v) = present(sched.get("endTime")).filter(|_| !start.is_date()) {
            let t = time_of_day(v, "eventSchedule.endTime")?;
            match start {
                EventTime::Local { local, tz } => {
                    let day = if t > local.time() {
                        local.date()
                    } else {
                        add_days(local.date(), 1)
                    };
                    EventTime::Local {
                        local: day.and_time(t),
                        tz,
                    }
                }
                other => {
                    let local = other.to_utc(zone).with_timezone(&zone).naive_local();
                    let day = if t > local.time() {
                        local.date()
                    } else {
                        add_days(local.date(), 1)
                    };
                    EventTime::Utc {
                        utc: local_to_utc(day.and_time(t), zone),
                    }
                }
            }
        } else if let Some(d) = sched
            .get("duration")
            .or_else(|| node.own.get("duration"))
            .and_then(text)
        {
            let (days, secs) = parse_duration(&d).ok_or_else(|| {
                format!(
                    "eventSchedule.duration: invalid ISO 8601 duration {:?}",
                    crate::text::shorten(&d, 40)
                )
            })?;
            add_span(start, days, secs)
        } else {
            default_end(&start)
        };

        let mut rrule = rule.text();
        let count = integers(
            sched.get("repeatCount"),
            "eventSchedule.repeatCount",
            1..=100_000,
        )?;
        if let Some(n) = count.first() {
            rrule.push_str(&format!(";COUNT={n}"));
        } else if let Some(v) = present(sched.get("endDate")) {
            let until = time_field(v, "eventSchedule.endDate", zone)?;
            let value = match (start, until) {
                (EventTime::Date { date: s }, u) => {
                    let d = u.date_in(zone);
                    if d < s {
                        return Err("eventSchedule: endDate is before startDate".into());
                    }
                    d.format("%Y%m%d").to_string()
                }
                (timed, u) => {
                    let series_zone = timed.zone().unwrap_or(zone);
                    let utc = match u {
                        EventTime::Date { date } => local_to_utc(
                            date.and_time(
                                NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN),
                            ),
                            series_zone,
                        ),
                        other => other.to_utc(series_zone),
                    };
                    if utc < timed.to_utc(zone) {
                        return Err("eventSchedule: endDate is before startDate".into());
                    }
                    utc.format("%Y%m%dT%H%M%SZ").to_string()
                }
            };
            rrule.push_str(";UNTIL=");
            rrule.push_str(&value);
        }

        let mut exdates = Vec::new();
        for x in items(sched.get("exceptDate")).take(MAX_EXCEPTIONS) {
            match time_field(x, "eventSchedule.exceptDate", start.zone().unwrap_or(zone)) {
                Ok(t) => exdates.push(t),
                Err(reason) => self.out.warnings.push(format!(
                    "item {:?}: {reason}; this exception is ignored",
                    crate::text::shorten(&title, 60)
                )),
            }
        }

        let uid = self.uid(node, &start, &title, number);
        let mut ev = Event::new(uid, title, start, end);
        ev.rrule = Some(rrule);
        ev.exdates = exdates;
        self.fill(&mut ev, node, doc);
        Ok(ev)
    }

    /// The recurrence parts of a `Schedule`.
    fn rule(&self, sched: &Obj) -> Result<Rule, String> {
        let by_day = items(sched.get("byDay"))
            .map(weekday)
            .collect::<Result<Vec<_>, _>>()?;
        let by_month_day = integers(
            sched.get("byMonthDay"),
            "eventSchedule.byMonthDay",
            -31..=31,
        )?;
        let by_month = integers(sched.get("byMonth"), "eventSchedule.byMonth", 1..=12)?;
        let by_month_week = integers(
            sched.get("byMonthWeek"),
            "eventSchedule.byMonthWeek",
            -5..=5,
        )?;
        let (mut freq, interval) = match present(sched.get("repeatFrequency")) {
            Some(v) => frequency(v)?,
            None if !by_day.is_empty() && by_month_week.is_empty() => ("WEEKLY", 1),
            None if !by_month_day.is_empty() || !by_month_week.is_empty() => ("MONTHLY", 1),
            None if !by_month.is_empty() => ("YEARLY", 1),
            None => return Err("eventSchedule: no repeatFrequency".into()),
        };
        if !by_month_week.is_empty() && !by_day.is_empty() && matches!(freq, "DAILY" | "WEEKLY") {
            freq = "MONTHLY";
        }
        if !by_month_day.is_empty() && freq == "WEEKLY" {
            return Err(
                "eventSchedule: byMonthDay cannot be used with a weekly repeatFrequency".into(),
            );
        }
        Ok(Rule {
            freq,
            interval,
            by_day,
            by_month_week: by_month_week.into_iter().map(|w| w as i32).collect(),
            by_month_day: by_month_day.into_iter().map(|d| d as i32).collect(),
            by_month: by_month.into_iter().map(|m| m as u32).collect(),
        })
    }

    /// The event's identity: `@id`, else `identifier`, else URL and start, else the fallback.
    fn uid(&self, node: &Node, start: &EventTime, title: &str, number: Option<usize>) -> String {
        let base = own_id(node.own)
            .or_else(|| {
                node.get("url")
                    .and_then(|u| self.url(u))
                    .map(|url| format!("{url}#{}", recurrence_key(start)))
            })
            .unwrap_or_else(|| fallback_uid(start, title));
        match number {
            Some(n) => format!("{base}#schedule-{n}"),
            None => base,
        }
    }

    /// A URL property (a string or an object with `url`/`@id`), resolved against the page URL.
    fn url(&self, v: &Value) -> Option<String> {
        let raw = match first(v)? {
            Value::String(s) => s.trim().to_string(),
            Value::Object(o) => o
                .get("url")
                .or_else(|| o.get("contentUrl"))
                .or_else(|| o.get("@id"))
                .and_then(|x| first(x))
                .and_then(Value::as_str)?
                .trim()
                .to_string(),
            _ => return None,
        };
        if raw.is_empty() {
            return None;
        }
        match (url::Url::parse(&raw), self.ctx.base_url) {
            (Err(url::ParseError::RelativeUrlWithoutBase), Some(base)) => {
                base.join(&raw).ok().map(|u| u.to_string())
            }
            _ => Some(raw),
        }
    }

    /// Every property but the identity and the times.
    fn fill<'v>(&self, ev: &mut Event, node: &Node<'v>, doc: &Doc<'v>) {
        ev.description = node.get("description").and_then(text);
        ev.url = node.get("url").and_then(|v| self.url(v));
        ev.image = node
            .get("image")
            .and_then(first)
            .and_then(|v| self.url(doc.resolve(v)));
        for t in types_of(node.own) {
            if let Some(c) = category_of(t)
                && !ev.categories.iter().any(|k| k == c)
            {
                ev.categories.push(c.to_string());
            }
        }

        let loc = self.location(node.get("location"), doc);
        ev.location = loc.text;
        ev.address = loc.address.map(Box::new);
        ev.geo = loc.geo;
        ev.online_url = loc.online_url;
        let mode = node
            .get("eventAttendanceMode")
            .and_then(enum_value)
            .map(|m| m.to_ascii_lowercase());
        ev.attendance = match mode.as_deref() {
            Some(m) if m.contains("mixed") => Attendance::Mixed,
            Some(m) if m.contains("online") => Attendance::Online,
            Some(m) if m.contains("offline") => Attendance::Offline,
            _ => match (loc.physical, loc.virtual_) {
                (true, true) => Attendance::Mixed,
                (false, true) => Attendance::Online,
                _ => Attendance::Offline,
            },
        };
        // EventScheduled and EventRescheduled (with its new dates) are confirmed.
        let status = node
            .get("eventStatus")
            .and_then(enum_value)
            .map(|s| s.to_ascii_lowercase());
        match status.as_deref() {
            Some(s) if s.contains("cancel") => ev.status = Status::Cancelled,
            Some(s) if s.contains("postpone") => ev.status = Status::Postponed,
            Some(s) if s.contains("movedonline") => ev.attendance = Attendance::Online,
            _ => {}
        }

        ev.offers = self.offers(node.get("offers"), doc, 0);
        ev.free = node
            .get("isAccessibleForFree")
            .and_then(boolean)
            .or_else(|| {
                let priced: Vec<f64> = ev.offers.iter().filter_map(|o| o.price).collect();
                (!priced.is_empty() && priced.iter().all(|p| *p == 0.0)).then_some(true)
            });
        ev.organizer = self.organizer(node.get("organizer"), doc).map(Box::new);
        ev.language = node
            .get("inLanguage")
            .and_then(first)
            .and_then(|v| match v {
                Value::Object(o) => o
                    .get("alternateName")
                    .and_then(text)
                    .or_else(|| o.get("name").and_then(text)),
                other => text(other),
            });
    }

    fn location<'v>(&self, v: Option<&'v Value>, doc: &Doc<'v>) -> Location {
        let mut loc = Location::default();
        for item in items(v).take(20) {
            let item = doc.resolve(item);
            match item {
                Value::String(s) => {
                    let is_link = s.trim_start().starts_with("http://")
                        || s.trim_start().starts_with("https://");
                    if is_link {
                        loc.virtual_ = true;
                        if loc.online_url.is_none() {
                            loc.online_url = self.url(item);
                        }
                    } else if !s.trim().is_empty() {
                        loc.physical = true;
                        if loc.text.is_none() {
                            loc.text = Some(s.clone());
                        }
                    }
                }
                Value::Object(o) => {
                    let types = types_of(o);
                    if types.contains(&"VirtualLocation") {
                        loc.virtual_ = true;
                        if loc.online_url.is_none() {
                            loc.online_url = o.get("url").and_then(|u| self.url(u));
                        }
                    } else if types.contains(&"PostalAddress") {
                        loc.physical = true;
                        if loc.text.is_none() && loc.address.is_none() {
                            let a = address(o);
                            loc.text = Some(address_line(&a)).filter(|t| !t.is_empty());
                            loc.address = Some(a);
                        }
                    } else {
                        loc.physical = true;
                        if loc.text.is_none() && loc.address.is_none() {
                            self.place(o, &mut loc);
                        }
                    }
                }
                _ => {}
            }
        }
        loc
    }

    fn place(&self, o: &Obj, loc: &mut Location) {
        let name = o.get("name").and_then(text);
        let (addr, addr_text) = match o.get("address").and_then(first) {
            Some(Value::Object(a)) => {
                let a = address(a);
                let line = Some(address_line(&a)).filter(|l| !l.is_empty());
                (Some(a), line)
            }
            Some(other) => (None, text(other)),
            None => (None, None),
        };
        loc.text = join_location(name, addr_text);
        loc.address = addr;
        let geo = o.get("geo").and_then(first).and_then(Value::as_object);
        let (lat, lon) = match geo {
            Some(g) => (g.get("latitude"), g.get("longitude")),
            None => (o.get("latitude"), o.get("longitude")),
        };
        loc.geo = match (coordinate(lat), coordinate(lon)) {
            (Some(lat), Some(lon)) => Geo::new(lat, lon),
            _ => None,
        };
    }

    fn offers<'v>(&self, v: Option<&'v Value>, doc: &Doc<'v>, depth: usize) -> Vec<Offer> {
        let mut out = Vec::new();
        for item in items(v).take(100) {
            let Value::Object(o) = doc.resolve(item) else {
                continue;
            };
            if types_of(o).contains(&"AggregateOffer") && depth < 2 {
                let nested = self.offers(o.get("offers"), doc, depth + 1);
                if !nested.is_empty() {
                    out.extend(nested);
                    continue;
                }
                let base = self.offer(o);
                let low = o.get("lowPrice").and_then(parse_price);
                let high = o.get("highPrice").and_then(parse_price);
                match (low, high) {
                    (Some(l), Some(h)) if h != l => {
                        out.push(Offer {
                            price: Some(l),
                            ..base.clone()
                        });
                        out.push(Offer {
                            price: Some(h),
                            ..base
                        });
                    }
                    (l, h) => out.push(Offer {
                        price: l.or(h).or(base.price),
                        ..base
                    }),
                }
            } else {
                out.push(self.offer(o));
            }
        }
        out
    }

    fn offer(&self, o: &Obj) -> Offer {
        let spec = o
            .get("priceSpecification")
            .and_then(first)
            .and_then(Value::as_object);
        let price = o
            .get("price")
            .and_then(parse_price)
            .or_else(|| spec.and_then(|s| s.get("price")).and_then(parse_price));
        let currency = o
            .get("priceCurrency")
            .and_then(text)
            .or_else(|| spec.and_then(|s| s.get("priceCurrency")).and_then(text))
            .map(|c| c.trim().to_string());
        Offer {
            name: o
                .get("name")
                .and_then(text)
                .or_else(|| o.get("category").and_then(text)),
            price,
            currency,
            url: o.get("url").and_then(|u| self.url(u)),
        }
    }

    fn organizer<'v>(&self, v: Option<&'v Value>, doc: &Doc<'v>) -> Option<Organizer> {
        let item = doc.resolve(v.and_then(first)?);
        match item {
            Value::String(s) if !s.trim().is_empty() => Some(Organizer {
                name: s.clone(),
                url: None,
                email: None,
            }),
            Value::Object(o) => Some(Organizer {
                name: o.get("name").and_then(text)?,
                url: o.get("url").and_then(|u| self.url(u)),
                email: o.get("email").and_then(text).map(|e| {
                    let e = e.trim();
                    e.strip_prefix("mailto:").unwrap_or(e).to_string()
                }),
            }),
            _ => None,
        }
    }
}

/// A node's own identity: `@id` (not a blank node), else `identifier`.
fn own_id(o: &Obj) -> Option<String> {
    let id = o
        .get("@id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with("_:"))
        .map(str::to_string);
    id.or_else(|| {
        o.get("identifier").and_then(first).and_then(|v| match v {
            Value::Object(p) => p
                .get("value")
                .or_else(|| p.get("@value"))
                .or_else(|| p.get("@id"))
                .and_then(text),
            other => text(other),
        })
    })
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
}

fn address(o: &Obj) -> Address {
    let field = |k: &str| o.get(k).and_then(text);
    Address {
        street: field("streetAddress"),
        postal_code: field("postalCode"),
        locality: field("addressLocality"),
        region: field("addressRegion"),
        country: field("addressCountry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prices_as_sites_write_them() {
        let cases = [
            (json!(12.5), Some(12.5)),
            (json!("12,50"), Some(12.5)),
            (json!("12.50"), Some(12.5)),
            (json!("12,50 €"), Some(12.5)),
            (json!("EUR 1.234,00"), Some(1234.0)),
            (json!("1,234.50"), Some(1234.5)),
            (json!("15,-"), Some(15.0)),
            (json!("kostenlos"), Some(0.0)),
            (json!("0"), Some(0.0)),
            (json!("auf Anfrage"), None),
            (json!(["9,00"]), Some(9.0)),
        ];
        for (v, want) in cases {
            assert_eq!(parse_price(&v), want, "{v}");
        }
    }

    #[test]
    fn frequencies_and_days() {
        assert_eq!(frequency(&json!("P1W")).unwrap(), ("WEEKLY", 1));
        assert_eq!(frequency(&json!("P2W")).unwrap(), ("WEEKLY", 2));
        assert_eq!(frequency(&json!("P1D")).unwrap(), ("DAILY", 1));
        assert_eq!(frequency(&json!("P1M")).unwrap(), ("MONTHLY", 1));
        assert_eq!(frequency(&json!("P1Y")).unwrap(), ("YEARLY", 1));
        assert_eq!(frequency(&json!("weekly")).unwrap(), ("WEEKLY", 1));
        assert!(frequency(&json!("PT1H")).is_err());
        assert!(frequency(&json!("P0W")).is_err());
        assert_eq!(
            weekday(&json!("https://schema.org/Tuesday")).unwrap(),
            Weekday::Tue
        );
        assert_eq!(weekday(&json!("schema:Friday")).unwrap(), Weekday::Fri);
        assert_eq!(
            weekday(&json!({"@id": "http://schema.org/Sunday"})).unwrap(),
            Weekday::Sun
        );
        assert_eq!(weekday(&json!("Mittwoch")).unwrap(), Weekday::Wed);
        assert!(
            weekday(&json!("https://schema.org/PublicHolidays"))
                .unwrap_err()
                .contains("PublicHolidays")
        );
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("PT2H30M"), Some((0, 9000)));
        assert_eq!(parse_duration("P1DT1H"), Some((1, 3600)));
        assert_eq!(parse_duration("P2W"), Some((14, 0)));
        assert_eq!(parse_duration("P1M"), None);
        assert_eq!(parse_duration("P"), None);
        assert_eq!(parse_duration("2 Stunden"), None);
        let t = |s: &str| time_of_day(&json!(s), "startTime");
        assert_eq!(
            t("19:30").unwrap(),
            NaiveTime::from_hms_opt(19, 30, 0).unwrap()
        );
        assert_eq!(
            t("T19:30:00+01:00").unwrap(),
            NaiveTime::from_hms_opt(19, 30, 0).unwrap()
        );
        assert!(t("abends").unwrap_err().contains("startTime"));
    }

    #[test]
    fn schema_prefixes_and_categories() {
        assert_eq!(
            strip_schema("https://schema.org/TheaterEvent"),
            "TheaterEvent"
        );
        assert_eq!(strip_schema("http://schema.org/MusicEvent"), "MusicEvent");
        assert_eq!(strip_schema("schema:Event"), "Event");
        assert_eq!(category_of("ExhibitionEvent"), Some("Ausstellung"));
        assert_eq!(
            category_of("https://schema.org/ChildrensEvent"),
            Some("Kinder")
        );
        assert_eq!(category_of("Event"), None);
        assert_eq!(category_of("Hackathon"), None);
    }

    #[test]
    fn script_markers_keep_positions() {
        let s = strip_markers("\n<!--\n{\"a\": 1}\n-->\n");
        assert_eq!(s.len(), "\n<!--\n{\"a\": 1}\n-->\n".len());
        assert_eq!(s.trim(), "{\"a\": 1}");
        let s = strip_markers("//<![CDATA[\n{}\n//]]>");
        assert_eq!(s.trim(), "{}");
    }

    #[test]
    fn locations_join_without_repeating() {
        assert_eq!(
            join_location(
                Some("Rathaus".into()),
                Some("Markt 1, 12345 Musterstadt".into())
            ),
            Some("Rathaus, Markt 1, 12345 Musterstadt".into())
        );
        assert_eq!(
            join_location(Some("Rathaus".into()), Some("Rathaus".into())),
            Some("Rathaus".into())
        );
        assert_eq!(
            join_location(None, Some("Markt 1".into())),
            Some("Markt 1".into())
        );
    }
}

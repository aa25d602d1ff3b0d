//! JSON APIs without a standard event vocabulary, read through the source's `[source.mapping]`.
//!
//! Ticketing systems, city portals and CMS plugins publish events as JSON of their own shape.
//! The operator describes that shape with JSONPath (RFC 9535, evaluated by `serde_json_path`):
//!
//! * `items` selects the event objects in the document: `$.data.events[*]`, or the short form
//!   `data.events` (read as `$.data.events[*]`; a lone object there is one item). A full path
//!   that selects one array is read as the list of its elements.
//! * every other key is a path relative to one item: `venue.name` (read as `$.venue.name`) or a
//!   full `$...` path. The first match wins; `null` and blank text count as missing.
//!
//! Values are converted leniently, as real APIs are inconsistent: numbers and booleans become
//! text where text is needed; `start`/`end` are ISO 8601, else the source's `date_format`
//! (chrono syntax, e.g. `%d.%m.%Y %H:%M`), else Unix seconds or milliseconds; coordinates may
//! use decimal commas; `categories` is an array or a comma-separated string; `status` is a
//! word (`abgesagt`, `cancelled`, `verschoben`, ...) or a boolean "cancelled" flag; `price` is
//! a number or text like `"12,50 €"` or `"Eintritt frei"`. All-day events (an `all_day` flag or
//! date-only values) take their end date as inclusive, as people write them.
//!
//! An item that cannot be used becomes a warning naming its index in the selection (0-based),
//! the field and the path, e.g. `item 3: skipped: start: invalid date-time "morgen" ... (path
//! $.beginn)`.

use super::FieldMapping;
use super::datetime::{default_end, parse_iso, parse_with_format};
use super::ics::fallback_uid;
use super::{FormatError, ParseContext, Parsed};
use crate::model::{Address, Event, EventTime, Geo, Offer, Status, add_days};
use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use serde_json_path::JsonPath;

/// Name used in errors.
const FORMAT: &str = "json";

/// Most items read from one document.
pub const MAX_ITEMS: usize = 100_000;

/// The error for JSON that regiocal cannot read without a mapping.
fn unknown_structure() -> FormatError {
    FormatError::Invalid {
        format: FORMAT,
        message: "JSON without a known structure: configure [source.mapping] (see config/mapped-json-example.toml)".into(),
    }
}

/// One compiled mapping path, with its text for messages.
struct Path {
    /// As configured, short forms shown with a leading `$.`.
    text: String,
    path: JsonPath,
}

impl Path {
    /// The first value the path selects in `item` that is not `null` or blank text.
    fn first<'a>(&self, item: &'a Value) -> Option<&'a Value> {
        self.path
            .query(item)
            .into_iter()
            .find(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
    }
}

/// The mapping with every path compiled.
struct Compiled<'a> {
    items: Path,
    /// Whether `items` was a short form (then it names the list itself, not its elements).
    short: bool,
    /// For a full `items` path ending in `[*]`: the path without it, to tell an empty list from
    /// a document of another shape (an error response).
    container: Option<Path>,
    fields: Fields,
    date_format: Option<&'a str>,
}

/// The per-item paths.
struct Fields {
    uid: Option<Path>,
    title: Path,
    description: Option<Path>,
    start: Path,
    end: Option<Path>,
    all_day: Option<Path>,
    location: Option<Path>,
    street: Option<Path>,
    postal_code: Option<Path>,
    locality: Option<Path>,
    lat: Option<Path>,
    lon: Option<Path>,
    url: Option<Path>,
    image: Option<Path>,
    categories: Option<Path>,
    status: Option<Path>,
    price: Option<Path>,
}

/// Turns a short form (`data.events`, `venue.name`, `bilder[0].url`) into RFC 9535 syntax
/// with bracketed member names (so keys with `-` or leading digits work); full paths starting
/// with `$` are kept.
fn full_path(text: &str) -> String {
    let t = text.trim();
    if t.starts_with('$') {
        return t.to_string();
    }
    let mut out = String::from("$");
    for segment in t.split('.').filter(|s| !s.is_empty()) {
        let (name, brackets) = match segment.find('[') {
            Some(at) => segment.split_at(at),
            None => (segment, ""),
        };
        if !name.is_empty() {
            out.push_str("['");
            for c in name.chars() {
                if c == '\'' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push_str("']");
        }
        out.push_str(brackets);
    }
    out
}

fn compile(key: &str, text: &str) -> Result<Path, FormatError> {
    let full = full_path(text);
    let path = JsonPath::parse(&full).map_err(|e| FormatError::Invalid {
        format: FORMAT,
        message: format!("[source.mapping] {key}: invalid JSONPath {text:?}: {e}"),
    })?;
    let t = text.trim();
    let shown = if t.starts_with('$') {
        t.to_string()
    } else {
        format!("$.{t}")
    };
    Ok(Path { text: shown, path })
}

fn compile_opt(key: &str, text: Option<&String>) -> Result<Option<Path>, FormatError> {
    text.map(|t| compile(key, t)).transpose()
}

impl<'a> Compiled<'a> {
    fn new(m: &'a FieldMapping) -> Result<Compiled<'a>, FormatError> {
        let (Some(items), Some(title), Some(start)) = (&m.items, &m.title, &m.start) else {
            return Err(unknown_structure());
        };
        let short = !items.trim().starts_with('$');
        let items_path = compile("items", items)?;
        let container = items_path
            .text
            .strip_suffix("[*]")
            .filter(|_| !short)
            .and_then(|c| JsonPath::parse(c).ok().map(|p| (c.to_string(), p)))
            .map(|(text, path)| Path { text, path });
        Ok(Compiled {
            items: items_path,
            short,
            container,
            fields: Fields {
                uid: compile_opt("uid", m.uid.as_ref())?,
                title: compile("title", title)?,
                description: compile_opt("description", m.description.as_ref())?,
                start: compile("start", start)?,
                end: compile_opt("end", m.end.as_ref())?,
                all_day: compile_opt("all_day", m.all_day.as_ref())?,
                location: compile_opt("location", m.location.as_ref())?,
                street: compile_opt("street", m.street.as_ref())?,
                postal_code: compile_opt("postal_code", m.postal_code.as_ref())?,
                locality: compile_opt("locality", m.locality.as_ref())?,
                lat: compile_opt("lat", m.lat.as_ref())?,
                lon: compile_opt("lon", m.lon.as_ref())?,
                url: compile_opt("url", m.url.as_ref())?,
                image: compile_opt("image", m.image.as_ref())?,
                categories: compile_opt("categories", m.categories.as_ref())?,
                status: compile_opt("status", m.status.as_ref())?,
                price: compile_opt("price", m.price.as_ref())?,
            },
            date_format: m.date_format.as_deref().filter(|f| !f.trim().is_empty()),
        })
    }

    /// The items the mapping selects in `doc`.
    fn select<'v>(&self, doc: &'v Value) -> Result<Vec<&'v Value>, FormatError> {
        let nodes = self.items.path.query(doc).all();
        let nothing = || FormatError::Invalid {
            format: FORMAT,
            message: format!(
                "[source.mapping] items: {} selects nothing in this document (an error response, or the wrong path?)",
                self.items.text
            ),
        };
        if self.short {
            // The short form names the list: its elements are the items (a lone object is one).
            if nodes.is_empty() {
                return Err(nothing());
            }
            let mut out = Vec::new();
            for node in nodes {
                match node {
                    Value::Array(list) => out.extend(list.iter()),
                    other => out.push(other),
                }
            }
            return Ok(out);
        }
        if let [Value::Array(list)] = nodes.as_slice() {
            return Ok(list.iter().collect());
        }
        if nodes.is_empty() {
            let has_container = self.container.as_ref().is_some_and(|c| {
                c.path
                    .query(doc)
                    .iter()
                    .any(|v| v.is_array() || v.is_object())
            });
            if !has_container {
                return Err(nothing());
            }
        }
        Ok(nodes)
    }
}

/// Parses a JSON document with the source's mapping.
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let mapping = ctx.mapping.ok_or_else(unknown_structure)?;
    let compiled = Compiled::new(mapping)?;
    let doc: Value = serde_json::from_str(text).map_err(|e| FormatError::json(FORMAT, &e))?;
    let items = compiled.select(&doc)?;
    if items.len() > MAX_ITEMS {
        return Err(FormatError::Invalid {
            format: FORMAT,
            message: format!("more than {MAX_ITEMS} items"),
        });
    }
    let mut out = Parsed::default();
    for (index, item) in items.into_iter().enumerate() {
        if !item.is_object() {
            out.warnings.push(format!(
                "item {index}: skipped: expected an object, got {}",
                kind(item)
            ));
            continue;
        }
        match read_item(item, &compiled, ctx.default_tz) {
            Ok(ev) => out.events.push(ev),
            Err(reason) => out
                .warnings
                .push(format!("item {index}: skipped: {reason}")),
        }
    }
    Ok(out)
}

/// Reads one item into an event, or says which field is unusable.
fn read_item(item: &Value, m: &Compiled, zone: Tz) -> Result<Event, String> {
    let f = &m.fields;
    let title = text_field(item, &f.title)
        .ok_or_else(|| format!("title: missing or empty (path {})", f.title.text))?;
    let raw_start = f
        .start
        .first(item)
        .ok_or_else(|| format!("start: missing (path {})", f.start.text))?;
    let mut start = date_value(raw_start, m.date_format, zone)
        .map_err(|e| format!("start: {e} (path {})", f.start.text))?;
    let raw_end = f.end.as_ref().and_then(|p| p.first(item).map(|v| (p, v)));
    let mut end = raw_end
        .map(|(p, v)| {
            date_value(v, m.date_format, zone).map_err(|e| format!("end: {e} (path {})", p.text))
        })
        .transpose()?;
    let all_day = f
        .all_day
        .as_ref()
        .and_then(|p| p.first(item))
        .is_some_and(truthy);
    if all_day || start.is_date() {
        // Dates as people write them: the end date is the last day, inclusive.
        let first = start.date_in(zone);
        start = EventTime::Date { date: first };
        end = end.map(|e| EventTime::Date {
            date: add_days(e.date_in(zone), 1),
        });
    } else if let Some(EventTime::Date { date }) = end {
        // A timed start with an end date: the event lasts until the end of that day.
        end = Some(EventTime::Local {
            local: add_days(date, 1).and_time(NaiveTime::MIN),
            tz: zone,
        });
    }
    let end = end.unwrap_or_else(|| default_end(&start));
    if end.to_utc(zone) < start.to_utc(zone) {
        let path = raw_end.map(|(p, _)| p.text.as_str()).unwrap_or("");
        return Err(format!("end: is before start (path {path})"));
    }
    let uid = f
        .uid
        .as_ref()
        .and_then(|p| text_field(item, p))
        .unwrap_or_else(|| fallback_uid(&start, &title));
    let mut ev = Event::new(uid, title, start, end);
    let text = |p: &Option<Path>| p.as_ref().and_then(|p| text_field(item, p));
    ev.description = text(&f.description);
    ev.url = text(&f.url);
    ev.image = text(&f.image);
    let address = Address {
        street: text(&f.street),
        postal_code: text(&f.postal_code),
        locality: text(&f.locality),
        ..Address::default()
    };
    ev.location = text(&f.location).or_else(|| address_line(&address));
    if address != Address::default() {
        ev.address = Some(Box::new(address));
    }
    let coord = |p: &Option<Path>| p.as_ref().and_then(|p| p.first(item)).and_then(number);
    if let (Some(lat), Some(lon)) = (coord(&f.lat), coord(&f.lon)) {
        ev.geo = Geo::new(lat, lon);
    }
    if let Some(v) = f.categories.as_ref().and_then(|p| p.first(item)) {
        ev.categories = categories(v);
    }
    if let Some(v) = f.status.as_ref().and_then(|p| p.first(item)) {
        ev.status = status(v);
    }
    if let Some((price, free)) = f.price.as_ref().and_then(|p| p.first(item)).and_then(price) {
        ev.offers.push(Offer {
            price: Some(price),
            currency: Some("EUR".into()),
            ..Offer::default()
        });
        ev.free = Some(free);
    }
    Ok(ev)
}

/// A field's value as trimmed, non-empty text.
fn text_field(item: &Value, path: &Path) -> Option<String> {
    path.first(item).and_then(scalar_text)
}

/// A string, number or boolean as trimmed, non-empty text.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// The JSON type of a value, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// "street, postal_code locality" from the parts that are present.
pub(crate) fn address_line(a: &Address) -> Option<String> {
    let town = [a.postal_code.as_deref(), a.locality.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let parts: Vec<&str> = [a.street.as_deref(), Some(town.as_str())]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A date value: ISO 8601, else the configured format, else Unix seconds or milliseconds.
fn date_value(v: &Value, date_format: Option<&str>, zone: Tz) -> Result<EventTime, String> {
    match v {
        Value::String(s) => {
            let iso = parse_iso(s, zone);
            if iso.is_ok() {
                return iso;
            }
            let custom = date_format.map(|f| parse_with_format(s, f, zone));
            if let Some(Ok(t)) = custom {
                // A format with an offset is not range-checked by `parse_with_format`.
                let year = t.to_utc(zone).year();
                return if (1900..=2200).contains(&year) {
                    Ok(t)
                } else {
                    Err(format!("year {year} out of range 1900-2200"))
                };
            }
            match epoch_digits(s.trim()) {
                Some(n) => epoch(n, zone),
                None => custom.unwrap_or(iso),
            }
        }
        Value::Number(n) => match n.as_i64() {
            Some(n) => epoch(n, zone),
            // Fractional seconds: whole seconds are enough for a calendar.
            None => match n.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e15 => epoch(f.trunc() as i64, zone),
                _ => Err(format!("timestamp {n} out of range")),
            },
        },
        other => Err(format!(
            "expected a date string or a Unix timestamp, got {}",
            kind(other)
        )),
    }
}

/// A string of 9 to 13 digits (a Unix timestamp written as text).
fn epoch_digits(s: &str) -> Option<i64> {
    ((9..=13).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Unix seconds (or milliseconds, for values too large to be seconds) as a time in `zone`.
fn epoch(n: i64, zone: Tz) -> Result<EventTime, String> {
    let secs = if n.unsigned_abs() >= 100_000_000_000 {
        n / 1000
    } else {
        n
    };
    let utc = DateTime::<Utc>::from_timestamp(secs, 0)
        .filter(|t| (1900..=2200).contains(&t.year()))
        .ok_or_else(|| format!("timestamp {n} out of range 1900-2200"))?;
    Ok(EventTime::Local {
        local: zone.from_utc_datetime(&utc.naive_utc()).naive_local(),
        tz: zone,
    })
}

/// Whether a flag is set: `true`, `1`, `"true"`, `"1"`, `"yes"`, `"ja"`.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "ja" | "y" | "x"
        ),
        _ => false,
    }
}

/// A number, or text with a decimal comma (`"51,5136"`).
pub(crate) fn number(v: &Value) -> Option<f64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().replace(',', ".").parse().ok()?,
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// Categories from an array of strings or a comma-separated string.
fn categories(v: &Value) -> Vec<String> {
    let list: Vec<String> = match v {
        Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
        other => scalar_text(other)
            .map(|s| s.split([',', ';']).map(str::to_string).collect())
            .unwrap_or_default(),
    };
    list.into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// A status word, or a boolean "cancelled" flag.
fn status(v: &Value) -> Status {
    match v {
        Value::Bool(true) => Status::Cancelled,
        Value::String(s) => {
            let s = s.to_lowercase();
            if ["cancel", "abgesagt", "ausgefallen", "fällt aus", "entfällt"]
                .iter()
                .any(|w| s.contains(w))
            {
                Status::Cancelled
            } else if ["postpone", "verschoben"].iter().any(|w| s.contains(w)) {
                Status::Postponed
            } else {
                Status::Confirmed
            }
        }
        _ => Status::Confirmed,
    }
}

/// A price in EUR and whether admission is free: a number, or text such as `"12,50 €"`,
/// `"ab 8 EUR"`, `"Eintritt frei"`.
fn price(v: &Value) -> Option<(f64, bool)> {
    let amount = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let lower = s.to_lowercase();
            if ["frei", "kostenlos", "free", "gratis", "umsonst"]
                .iter()
                .any(|w| lower.contains(w))
                && !lower.chars().any(|c| c.is_ascii_digit() && c != '0')
            {
                0.0
            } else {
                first_amount(s)?
            }
        }
        _ => return None,
    };
    (amount.is_finite() && amount >= 0.0).then_some((amount, amount == 0.0))
}

/// The first amount in a text: `12,50`, `12.50`, `1.234,50`.
fn first_amount(s: &str) -> Option<f64> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let run: String = s
        .get(start..)?
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .collect();
    let run = run.trim_end_matches([',', '.']);
    let normal = if run.contains(',') {
        run.replace('.', "").replace(',', ".")
    } else {
        run.to_string()
    };
    normal.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_paths_become_bracketed() {
        assert_eq!(full_path("data.events"), "$['data']['events']");
        assert_eq!(full_path("bilder[0].url"), "$['bilder'][0]['url']");
        assert_eq!(full_path("o'k.x-y"), "$['o\\'k']['x-y']");
        assert_eq!(full_path(" $.a[*] "), "$.a[*]");
    }

    #[test]
    fn prices() {
        assert_eq!(price(&json!("12,50 €")), Some((12.5, false)));
        assert_eq!(price(&json!("ab 1.234,50 EUR")), Some((1234.5, false)));
        assert_eq!(price(&json!(8)), Some((8.0, false)));
        assert_eq!(price(&json!(0)), Some((0.0, true)));
        assert_eq!(price(&json!("Eintritt frei")), Some((0.0, true)));
        assert_eq!(price(&json!("auf Anfrage")), None);
        assert_eq!(price(&json!(-3)), None);
    }

    #[test]
    fn epochs_and_statuses() {
        let z = chrono_tz::Europe::Berlin;
        let secs = epoch(1_796_491_800, z).unwrap();
        let millis = epoch(1_796_491_800_000, z).unwrap();
        assert_eq!(secs, millis);
        assert!(epoch(i64::MAX, z).is_err());
        assert_eq!(status(&json!("Abgesagt")), Status::Cancelled);
        assert_eq!(status(&json!("EventPostponed")), Status::Postponed);
        assert_eq!(status(&json!(false)), Status::Confirmed);
        assert_eq!(status(&json!(true)), Status::Cancelled);
    }
}

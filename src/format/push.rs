//! The push API's JSON ([`crate::server::push`]): one event or an array of them in the read
//! API's shape, `id` being the actor's own stable id for the event. Unlike a feed, a push is
//! all or nothing: every problem of every item is a field error (`[2].start: ...`), and a
//! body with any of them stores nothing.

use super::{FormatError, ParseContext, Parsed, datetime};
use crate::model::{Event, EventTime, Geo, Status};
use serde_json::Value;

/// Most events one push carries.
pub const MAX_EVENTS: usize = 1000;

/// Parses a pushed JSON body; `path_id` is the id from the URL (PUT of one event).
pub fn parse(text: &str, ctx: &ParseContext, path_id: Option<&str>) -> Result<Parsed, FormatError> {
    let value: Value = serde_json::from_str(text).map_err(|e| FormatError::json("push", &e))?;
    let items = match (value, path_id) {
        (Value::Array(items), None) => items,
        (single, _) => vec![single],
    };
    if items.len() > MAX_EVENTS {
        return Err(FormatError::TooManyEvents { limit: MAX_EVENTS });
    }
    let mut events = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let prefix = if items.len() > 1 {
            format!("[{i}].")
        } else {
            String::new()
        };
        match event_from_json(item, path_id, ctx.default_tz) {
            Ok(ev) => events.push(ev),
            Err(fields) => {
                errors.extend(fields.into_iter().map(|(f, m)| (format!("{prefix}{f}"), m)))
            }
        }
    }
    if !errors.is_empty() {
        return Err(FormatError::Fields(errors));
    }
    Ok(Parsed {
        events,
        ..Parsed::default()
    })
}

/// Fields of the read API that a client may send back but that the server sets itself.
const READ_ONLY: &[&str] = &[
    "uid",
    "source",
    "source_name",
    "recurring",
    "license",
    "attribution",
    "free",
    "attendance",
];

/// Validates a pushed event in the read API's shape; every problem becomes a field error.
pub fn event_from_json(
    value: &Value,
    path_id: Option<&str>,
    default_tz: chrono_tz::Tz,
) -> Result<Event, Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let Some(obj) = value.as_object() else {
        return Err(vec![("".into(), "must be a JSON object".into())]);
    };
    let known = [
        "id",
        "title",
        "description",
        "start",
        "end",
        "all_day",
        "timezone",
        "location",
        "geo",
        "categories",
        "url",
        "status",
        "image",
    ];
    for key in obj.keys() {
        if !known.contains(&key.as_str()) && !READ_ONLY.contains(&key.as_str()) {
            errors.push((key.clone(), "unknown field".into()));
        }
    }
    let text = |key: &str, errors: &mut Vec<(String, String)>| -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors.push((key.into(), "must be a string".into()));
                None
            }
        }
    };
    let id = match (obj.get("id"), path_id) {
        (Some(Value::String(s)), Some(p)) if s != p => {
            errors.push((
                "id".into(),
                format!("does not match the id in the URL ({p:?})"),
            ));
            None
        }
        (_, Some(p)) => Some(p.to_string()),
        (Some(Value::String(s)), None) => Some(s.clone()),
        (Some(Value::Number(n)), None) => Some(n.to_string()),
        (_, None) => {
            errors.push((
                "id".into(),
                "required: your own stable id for this event".into(),
            ));
            None
        }
    };
    if let Some(id) = &id
        && (id.is_empty() || id.len() > 200 || id.chars().any(char::is_control))
    {
        errors.push((
            "id".into(),
            "must be 1-200 characters without control characters".into(),
        ));
    }
    let title = text("title", &mut errors).filter(|t| !t.trim().is_empty());
    if title.is_none() && !errors.iter().any(|(f, _)| f == "title") {
        errors.push(("title".into(), "required".into()));
    }
    let tz = match text("timezone", &mut errors) {
        Some(name) => name.parse().unwrap_or_else(|_| {
            errors.push((
                "timezone".into(),
                format!("unknown IANA time zone {name:?}"),
            ));
            default_tz
        }),
        None => default_tz,
    };
    let all_day = match obj.get("all_day") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(("all_day".into(), "must be true or false".into()));
            None
        }
    };
    let time = |key: &str, errors: &mut Vec<(String, String)>| -> Option<EventTime> {
        let raw = text(key, errors)?;
        match datetime::parse_iso(&raw, tz) {
            Ok(t) if all_day == Some(true) && !t.is_date() => {
                errors.push((key.into(), "all_day events take dates (YYYY-MM-DD)".into()));
                None
            }
            Ok(t) => Some(t),
            Err(m) => {
                errors.push((key.into(), m));
                None
            }
        }
    };
    let start = time("start", &mut errors);
    if start.is_none() && !errors.iter().any(|(f, _)| f == "start") {
        errors.push(("start".into(), "required".into()));
    }
    let end = time("end", &mut errors);
    if let (Some(s), Some(e)) = (start, end) {
        if s.is_date() != e.is_date() {
            errors.push((
                "end".into(),
                "must be a date when start is a date, and a time when start is a time".into(),
            ));
        } else if e.to_utc(tz) < s.to_utc(tz) {
            errors.push(("end".into(), "is before start".into()));
        }
    }
    let status = match text("status", &mut errors).as_deref() {
        None | Some("confirmed") => Status::Confirmed,
        Some("tentative") => Status::Tentative,
        Some("cancelled") => Status::Cancelled,
        Some("postponed") => Status::Postponed,
        Some(other) => {
            errors.push((
                "status".into(),
                format!("{other:?} is not one of confirmed, tentative, cancelled, postponed"),
            ));
            Status::Confirmed
        }
    };
    let geo = match obj.get("geo") {
        None | Some(Value::Null) => None,
        Some(Value::Object(g)) => match (
            g.get("lat").and_then(Value::as_f64),
            g.get("lon").and_then(Value::as_f64),
        ) {
            (Some(lat), Some(lon)) => Geo::new(lat, lon).or_else(|| {
                errors.push(("geo".into(), "lat must be -90..90 and lon -180..180".into()));
                None
            }),
            _ => {
                errors.push((
                    "geo".into(),
                    "must be {\"lat\": number, \"lon\": number}".into(),
                ));
                None
            }
        },
        Some(_) => {
            errors.push(("geo".into(), "must be an object".into()));
            None
        }
    };
    let categories = match obj.get("categories") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            errors.push(("categories".into(), "must be an array of strings".into()));
            Vec::new()
        }
    };
    let url = text("url", &mut errors);
    let description = text("description", &mut errors);
    let location = text("location", &mut errors);
    let image = text("image", &mut errors);
    for (field, value) in [("url", &url), ("image", &image)] {
        if let Some(problem) = value.as_deref().and_then(crate::text::url_problem) {
            errors.push((
                field.into(),
                format!("must be an absolute http(s) URL: it {problem}"),
            ));
        }
    }
    let (Some(id), Some(title), Some(start), true) = (id, title, start, errors.is_empty()) else {
        return Err(errors);
    };
    let end = end.unwrap_or_else(|| datetime::default_end(&start));
    Ok(Event {
        description,
        location,
        geo,
        url,
        categories,
        status,
        image,
        ..Event::new(id, title, start, end)
    })
}

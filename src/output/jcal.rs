//! jCal (RFC 7265) output, and the structured view of the iCalendar feed that jCal and xCal
//! share.
//!
//! There is one source of truth for what an event looks like: [`super::ics::render`]. Its text
//! is unfolded and every content line converted generically ([`calendars`]): parameters become
//! a parameter map, the value type comes from a `VALUE` parameter or the RFC 5545 default of the
//! property ([`crate::format::jcal::default_value_type`]), and values take the extended forms
//! (`2026-12-05T19:00:00`, `+01:00`), TEXT unescaped, RECUR as an object, GEO as a number pair,
//! comma lists as several values. [`render`] writes that as jCal; [`super::xcal`] as xCal.

use super::{Filter, Snapshot};
use crate::format::jcal::default_value_type;
use serde_json::{Map, Value as Json};

/// A component of the feed in structured form.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Lower-case name (`vcalendar`, `vevent`, ...).
    pub name: String,
    /// Its properties, in feed order.
    pub properties: Vec<Property>,
    /// Sub-components (VTIMEZONE's STANDARD/DAYLIGHT, VEVENT's VALARM, a calendar's VEVENTs).
    pub components: Vec<Component>,
}

/// One content line in structured form.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Lower-case name.
    pub name: String,
    /// Lower-case parameter names with their values (unquoted); `VALUE` is moved to `kind`.
    pub params: Vec<(String, Vec<String>)>,
    /// Lower-case value type (`text`, `date-time`, `recur`, ...).
    pub kind: String,
    /// The values (several for comma lists such as CATEGORIES and EXDATE).
    pub values: Vec<Value>,
}

/// One value in structured form.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text (unescaped) or a value in its extended spelling (`2026-12-05T19:00:00`).
    Text(String),
    /// An INTEGER (SEQUENCE).
    Integer(i64),
    /// A FLOAT other than GEO.
    Float(f64),
    /// A BOOLEAN.
    Boolean(bool),
    /// RECUR parts with lower-case names, in order; UNTIL in the extended spelling.
    Recur(Vec<(String, Vec<String>)>),
    /// GEO.
    Geo(f64, f64),
    /// PERIOD: start and end (a date-time) or duration.
    Period(String, String),
    /// REQUEST-STATUS: code, description and optional data.
    Status(Vec<String>),
}

/// RECUR parts whose values are integers (RFC 7265 section 3.6.10).
pub const NUMERIC_RECUR_PARTS: [&str; 10] = [
    "count",
    "interval",
    "bysecond",
    "byminute",
    "byhour",
    "bymonthday",
    "byyearday",
    "byweekno",
    "bymonth",
    "bysetpos",
];

/// Renders the occurrences matching `filter` as a jCal document.
pub fn render(snap: &Snapshot, filter: &Filter) -> String {
    let cals = calendars(&super::ics::render(snap, filter));
    let doc = match cals.as_slice() {
        [one] => component_json(one),
        many => Json::Array(many.iter().map(component_json).collect()),
    };
    let mut out = doc.to_string();
    out.push('\n');
    out
}

fn component_json(c: &Component) -> Json {
    Json::Array(vec![
        Json::String(c.name.clone()),
        Json::Array(c.properties.iter().map(property_json).collect()),
        Json::Array(c.components.iter().map(component_json).collect()),
    ])
}

fn property_json(p: &Property) -> Json {
    let mut params = Map::new();
    for (name, values) in &p.params {
        let v = match values.as_slice() {
            [one] => Json::String(one.clone()),
            many => Json::Array(many.iter().cloned().map(Json::String).collect()),
        };
        params.insert(name.clone(), v);
    }
    let mut out = vec![
        Json::String(p.name.clone()),
        Json::Object(params),
        Json::String(p.kind.clone()),
    ];
    out.extend(p.values.iter().map(value_json));
    Json::Array(out)
}

fn value_json(v: &Value) -> Json {
    let strings = |list: &[String]| Json::Array(list.iter().cloned().map(Json::String).collect());
    match v {
        Value::Text(s) => Json::String(s.clone()),
        Value::Integer(i) => Json::from(*i),
        Value::Float(f) => float_json(*f),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Geo(lat, lon) => Json::Array(vec![float_json(*lat), float_json(*lon)]),
        Value::Period(start, end) => strings(&[start.clone(), end.clone()]),
        Value::Status(parts) => strings(parts),
        Value::Recur(parts) => {
            let mut map = Map::new();
            for (key, values) in parts {
                let numeric = NUMERIC_RECUR_PARTS.contains(&key.as_str());
                let one = |s: &String| match s.parse::<i64>() {
                    Ok(i) if numeric => Json::from(i),
                    _ => Json::String(s.clone()),
                };
                let v = match values.as_slice() {
                    [single] => one(single),
                    many => Json::Array(many.iter().map(one).collect()),
                };
                map.insert(key.clone(), v);
            }
            Json::Object(map)
        }
    }
}

fn float_json(f: f64) -> Json {
    serde_json::Number::from_f64(f)
        .map(Json::Number)
        .unwrap_or_else(|| Json::String(f.to_string()))
}

/// The VCALENDARs of an iCalendar text in structured form.
pub fn calendars(ics: &str) -> Vec<Component> {
    let mut done = Vec::new();
    let mut stack: Vec<Component> = Vec::new();
    for line in unfold(ics) {
        let Some((name, params, value)) = split_line(&line) else {
            continue;
        };
        if name.eq_ignore_ascii_case("BEGIN") {
            stack.push(Component {
                name: value.trim().to_ascii_lowercase(),
                properties: Vec::new(),
                components: Vec::new(),
            });
        } else if name.eq_ignore_ascii_case("END") {
            let Some(c) = stack.pop() else { continue };
            match stack.last_mut() {
                Some(parent) => parent.components.push(c),
                None => done.push(c),
            }
        } else if let Some(cur) = stack.last_mut() {
            cur.properties.push(property(name, params, value));
        }
    }
    done
}

/// Content lines with folding removed.
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match (line.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ if line.is_empty() => {}
            _ => lines.push(line.to_string()),
        }
    }
    lines
}

/// A content line's name, parameters (unquoted values) and raw value.
type Split<'a> = (&'a str, Vec<(String, Vec<String>)>, &'a str);

/// Splits `NAME;P=a,"b;c":value`.
fn split_line(line: &str) -> Option<Split<'_>> {
    let name_end = line.find([';', ':'])?;
    let name = &line[..name_end];
    let mut params = Vec::new();
    let mut rest = &line[name_end..];
    while let Some(r) = rest.strip_prefix(';') {
        let eq = r.find('=')?;
        let pname = r[..eq].to_ascii_lowercase();
        let mut values = Vec::new();
        let mut r = &r[eq + 1..];
        loop {
            if let Some(q) = r.strip_prefix('"') {
                let close = q.find('"')?;
                values.push(q[..close].to_string());
                r = &q[close + 1..];
            } else {
                let end = r.find([',', ';', ':'])?;
                values.push(r[..end].to_string());
                r = &r[end..];
            }
            match r.strip_prefix(',') {
                Some(more) => r = more,
                None => break,
            }
        }
        params.push((pname, values));
        rest = r;
    }
    let value = rest.strip_prefix(':')?;
    Some((name, params, value))
}

/// One property: the value type from `VALUE` or the default, values in structured form.
fn property(name: &str, mut params: Vec<(String, Vec<String>)>, raw: &str) -> Property {
    let name = name.to_ascii_lowercase();
    let explicit = params
        .iter()
        .position(|(p, _)| p == "value")
        .map(|i| params.remove(i).1.concat().to_ascii_lowercase());
    let kind = explicit.unwrap_or_else(|| default_value_type(&name).to_string());
    let values = match kind.as_str() {
        "text" if name == "request-status" => vec![Value::Status(
            split_unescaped(raw, ';')
                .iter()
                .map(|s| unescape(s))
                .collect(),
        )],
        "text" if matches!(name.as_str(), "categories" | "resources") => split_unescaped(raw, ',')
            .iter()
            .map(|s| Value::Text(unescape(s)))
            .collect(),
        "text" => vec![Value::Text(unescape(raw))],
        "date" | "date-time" | "time" => raw
            .split(',')
            .map(|s| Value::Text(extended(s.trim())))
            .collect(),
        "utc-offset" => vec![Value::Text(extended_offset(raw.trim()))],
        "period" => raw
            .split(',')
            .map(|p| match p.split_once('/') {
                Some((start, end)) => Value::Period(extended(start), extended(end)),
                None => Value::Text(p.to_string()),
            })
            .collect(),
        "integer" => match raw.trim().parse::<i64>() {
            Ok(i) => vec![Value::Integer(i)],
            Err(_) => vec![Value::Text(raw.to_string())],
        },
        "float" => {
            let nums: Option<Vec<f64>> = raw
                .split([';', ','])
                .map(|s| s.trim().parse::<f64>().ok())
                .collect();
            match (name.as_str(), nums.as_deref()) {
                ("geo", Some(&[lat, lon])) => vec![Value::Geo(lat, lon)],
                (_, Some(list)) => list.iter().map(|f| Value::Float(*f)).collect(),
                _ => vec![Value::Text(raw.to_string())],
            }
        }
        "boolean" => vec![Value::Boolean(raw.trim().eq_ignore_ascii_case("TRUE"))],
        "recur" => vec![Value::Recur(
            raw.split(';')
                .filter_map(|part| part.split_once('='))
                .map(|(k, v)| {
                    let key = k.trim().to_ascii_lowercase();
                    let values = v
                        .split(',')
                        .map(|x| {
                            if key == "until" {
                                extended(x.trim())
                            } else {
                                x.trim().to_string()
                            }
                        })
                        .collect();
                    (key, values)
                })
                .collect(),
        )],
        _ => vec![Value::Text(raw.to_string())],
    };
    Property {
        name,
        params,
        kind,
        values,
    }
}

/// `20261205` as `2026-12-05`, `20261205T190000Z` as `2026-12-05T19:00:00Z`, `190000` as
/// `19:00:00`; a duration or anything unexpected is returned as it is.
fn extended(s: &str) -> String {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let time = |t: &str| -> Option<String> {
        let (hms, z) = match t.strip_suffix('Z') {
            Some(x) => (x, "Z"),
            None => (t, ""),
        };
        (hms.len() == 6 && hms.bytes().all(|d| d.is_ascii_digit()))
            .then(|| format!("{}:{}:{}{z}", &hms[..2], &hms[2..4], &hms[4..]))
    };
    if b.len() == 8 && digits(0..8) {
        return format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..]);
    }
    if b.len() >= 15
        && digits(0..8)
        && b.get(8) == Some(&b'T')
        && let Some(t) = time(&s[9..])
    {
        return format!("{}-{}-{}T{t}", &s[..4], &s[4..6], &s[6..8]);
    }
    time(s).unwrap_or_else(|| s.to_string())
}

/// `+0100` as `+01:00`, `+010030` as `+01:00:30`.
fn extended_offset(s: &str) -> String {
    let ok = s.is_ascii() && matches!(s.len(), 5 | 7) && s.starts_with(['+', '-']);
    if !ok {
        return s.to_string();
    }
    let mut out = format!("{}:{}", &s[..3], &s[3..5]);
    if s.len() == 7 {
        out.push(':');
        out.push_str(&s[5..]);
    }
    out
}

/// Splits at `sep` where it is not escaped with a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Undoes RFC 5545 TEXT escaping.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_lines_become_structured_properties() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n\
            DTSTART;TZID=Europe/Berlin:20261205T190000\r\n\
            DTEND;VALUE=DATE:20261207\r\n\
            SUMMARY:Lesung\\, Gespräch\\; Musik\\nzweite Zeile\r\n\
            CATEGORIES:Musik,Kunst\\, Kultur\r\n\
            GEO:51.513600;7.465300\r\n\
            RRULE:FREQ=WEEKLY;UNTIL=20270330T215959Z;BYDAY=TU,TH;COUNT=5\r\n\
            ORGANIZER;CN=\"Amt, Abt.: 41\";ROLE=CHAIR:mailto:a@b.example\r\n\
            URL;VALUE=URI:https://example.org/a,b\r\n\
            DESCRIPTION:lang\r\n  gefaltet\r\n\
            END:VEVENT\r\nBEGIN:VTIMEZONE\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\n\
            END:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";
        let cals = calendars(ics);
        assert_eq!(cals.len(), 1);
        let ev = &cals[0].components[0];
        let p = |n: &str| ev.properties.iter().find(|p| p.name == n).unwrap();
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(p("dtstart").kind, "date-time");
        assert_eq!(
            p("dtstart").params,
            vec![("tzid".to_string(), vec!["Europe/Berlin".to_string()])]
        );
        assert_eq!(p("dtstart").values, vec![text("2026-12-05T19:00:00")]);
        assert_eq!(
            (p("dtend").kind.as_str(), p("dtend").params.len()),
            ("date", 0)
        );
        assert_eq!(p("dtend").values, vec![text("2026-12-07")]);
        assert_eq!(
            p("summary").values,
            vec![text("Lesung, Gespräch; Musik\nzweite Zeile")]
        );
        assert_eq!(
            p("categories").values,
            vec![text("Musik"), text("Kunst, Kultur")]
        );
        assert_eq!(p("geo").values, vec![Value::Geo(51.5136, 7.4653)]);
        assert_eq!(
            p("rrule").values,
            vec![Value::Recur(vec![
                ("freq".into(), vec!["WEEKLY".into()]),
                ("until".into(), vec!["2027-03-30T21:59:59Z".into()]),
                ("byday".into(), vec!["TU".into(), "TH".into()]),
                ("count".into(), vec!["5".into()]),
            ])]
        );
        assert_eq!(
            p("organizer").params[0].1,
            vec!["Amt, Abt.: 41".to_string()]
        );
        assert_eq!(p("url").kind, "uri");
        assert_eq!(p("url").values, vec![text("https://example.org/a,b")]);
        assert_eq!(p("description").values, vec![text("lang gefaltet")]);
        let std = &cals[0].components[1].components[0];
        assert_eq!(std.properties[0].values, vec![text("+02:00")]);
        assert_eq!(
            property_json(p("rrule")),
            serde_json::json!(["rrule", {}, "recur", {
                "freq": "WEEKLY", "until": "2027-03-30T21:59:59Z", "byday": ["TU", "TH"], "count": 5
            }])
        );
        assert_eq!(
            property_json(p("geo")),
            serde_json::json!(["geo", {}, "float", [51.5136, 7.4653]])
        );
    }
}

//! jCal (RFC 7265) input, and the conversion that xCal and jCal share: a structured calendar
//! written out as iCalendar text.
//!
//! jCal and xCal carry the iCalendar data model in JSON and XML. Rather than a second and third
//! interpretation of times, zones, recurrences and bad events, both parsers rewrite the document
//! as RFC 5545 content lines with [`IcsWriter`] (property names upper-cased, parameters quoted,
//! TEXT escaped, `2026-12-05T19:00:00` written as `20261205T190000`, RECUR objects as
//! `FREQ=WEEKLY;BYDAY=TU`, several values as comma lists) and hand the text to
//! [`super::ics::parse`]. Every line remembers where it came from in the original document, so
//! warnings and errors name a JSON path (`vcalendar[2][0][1][3]`) or a byte position instead of a
//! line of the intermediate text.
//!
//! A jCal document is `["vcalendar", [properties], [components]]` (or an array of those); a
//! property is `[name, {parameters}, type, value, ...]`. A document of the wrong shape is a
//! [`FormatError::Invalid`] naming the path; a value that cannot be converted (a number where a
//! date is expected) skips its top-level component with a warning naming the path.

use super::ics::escape_text;
use super::{FormatError, ParseContext, Parsed};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value as Json;

/// Longest physical line written; longer content lines are folded (the iCalendar parser refuses
/// physical lines over [`super::ics::MAX_LINE_BYTES`]).
const FOLD_AT: usize = 8 * 1024;

/// The value type a property has in RFC 5545 (and RFC 7986) when no `VALUE` parameter is given;
/// `text` for everything unknown. Lower-case, as jCal and xCal spell it.
pub fn default_value_type(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "dtstart" | "dtend" | "due" | "recurrence-id" | "exdate" | "rdate" | "dtstamp"
        | "created" | "last-modified" | "completed" => "date-time",
        "duration" | "trigger" | "refresh-interval" => "duration",
        "rrule" | "exrule" => "recur",
        "geo" => "float",
        "sequence" | "priority" | "percent-complete" | "repeat" => "integer",
        "url" | "tzurl" | "attach" | "source" | "image" | "conference" => "uri",
        "attendee" | "organizer" => "cal-address",
        "tzoffsetfrom" | "tzoffsetto" => "utc-offset",
        "freebusy" => "period",
        _ => "text",
    }
}

/// A value of a property in the structured (jCal/xCal) form.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// A single value in its jCal/xCal spelling (`2026-12-05T19:00:00`, `+01:00`, plain text).
    Text(String),
    /// A RECUR value: (part name, values), in document order.
    Recur(Vec<(String, Vec<String>)>),
    /// A structured value (GEO, REQUEST-STATUS, PERIOD): its parts in order.
    Parts(Vec<String>),
}

/// One property read from a structured document.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// The property name as the document gives it (any case).
    pub name: String,
    /// Parameters: name and values (a `VALUE` parameter is ignored; `kind` says the type).
    pub params: Vec<(String, Vec<String>)>,
    /// The value type, e.g. `date-time` (any case).
    pub kind: String,
    /// The values; several are written as a comma list.
    pub values: Vec<PropValue>,
}

/// Writes a structured calendar as iCalendar text and remembers where each line came from.
#[derive(Debug)]
pub struct IcsWriter {
    format: &'static str,
    text: String,
    /// The origin (JSON path, byte position) of each physical line, by line number - 1.
    origins: Vec<String>,
    /// The origin of each VEVENT written, in order (the iCalendar parser numbers them).
    events: Vec<String>,
    calendars: usize,
    /// Components open at the end of the text.
    depth: usize,
}

/// A point [`IcsWriter::rollback`] can return to.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint {
    text: usize,
    origins: usize,
    events: usize,
    depth: usize,
}

impl IcsWriter {
    /// An empty text; `format` names the source format in errors (`"jcal"`, `"xcal"`).
    pub fn new(format: &'static str) -> IcsWriter {
        IcsWriter {
            format,
            text: String::new(),
            origins: Vec::new(),
            events: Vec::new(),
            calendars: 0,
            depth: 0,
        }
    }

    /// Where the text is now.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            text: self.text.len(),
            origins: self.origins.len(),
            events: self.events.len(),
            depth: self.depth,
        }
    }

    /// Drops everything written after `at` (a component that turned out to be unusable).
    pub fn rollback(&mut self, at: Checkpoint) {
        self.text.truncate(at.text);
        self.origins.truncate(at.origins);
        self.events.truncate(at.events);
        self.depth = at.depth;
    }

    /// `BEGIN:NAME`.
    pub fn begin(&mut self, name: &str, origin: &str) -> Result<(), String> {
        let name = checked_name(name, "component")?;
        match name.as_str() {
            "VCALENDAR" if self.depth > 0 => return Err("a vcalendar cannot be nested".into()),
            "VCALENDAR" => self.calendars += 1,
            "VEVENT" => self.events.push(origin.to_string()),
            _ => {}
        }
        self.line(&format!("BEGIN:{name}"), origin);
        self.depth += 1;
        Ok(())
    }

    /// `END:NAME`.
    pub fn end(&mut self, name: &str, origin: &str) -> Result<(), String> {
        let name = checked_name(name, "component")?;
        self.line(&format!("END:{name}"), origin);
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    /// One content line for `prop`. A property without values writes nothing.
    pub fn property(&mut self, prop: &Prop, origin: &str) -> Result<(), String> {
        if prop.values.is_empty() {
            return Ok(());
        }
        let name = checked_name(&prop.name, "property")?;
        if name == "BEGIN" || name == "END" {
            return Err(format!("{name} is not a property"));
        }
        let kind = prop.kind.to_ascii_lowercase();
        let mut line = name.clone();
        for (pname, values) in &prop.params {
            let pname = checked_name(pname, "parameter")?;
            if pname == "VALUE" {
                continue;
            }
            line.push(';');
            line.push_str(&pname);
            line.push('=');
            let quoted: Vec<String> = values.iter().map(|v| param_value(v)).collect();
            line.push_str(&quoted.join(","));
        }
        if kind != default_value_type(&name) && kind != "unknown" {
            line.push_str(";VALUE=");
            line.push_str(&checked_name(&kind, "value type")?);
        }
        line.push(':');
        let values = prop
            .values
            .iter()
            .map(|v| ics_value(&kind, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| format!("{}: {m}", prop.name.to_ascii_lowercase()))?;
        line.push_str(&values.join(","));
        self.line(&line, origin);
        Ok(())
    }

    /// Appends one content line, folded so no physical line exceeds [`FOLD_AT`] bytes.
    fn line(&mut self, content: &str, origin: &str) {
        let mut rest = content;
        let mut first = true;
        loop {
            let room = if first { FOLD_AT } else { FOLD_AT - 1 };
            let mut cut = rest.len().min(room);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            if !first {
                self.text.push(' ');
            }
            self.text.push_str(&rest[..cut]);
            self.text.push_str("\r\n");
            self.origins.push(origin.to_string());
            rest = &rest[cut..];
            first = false;
            if rest.is_empty() {
                break;
            }
        }
    }

    /// The text written so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Parses the text as iCalendar. `warnings` (the converter's own) come first; warnings and
    /// errors of the iCalendar parser that name a line name its origin instead.
    pub fn finish(self, ctx: &ParseContext, warnings: Vec<String>) -> Result<Parsed, FormatError> {
        if self.calendars == 0 {
            return Err(FormatError::Invalid {
                format: self.format,
                message: "no vcalendar component found".into(),
            });
        }
        match super::ics::parse(&self.text, ctx) {
            Ok(mut parsed) => {
                let mut all = warnings;
                all.extend(parsed.warnings.iter().map(|w| self.relabel(w)));
                parsed.warnings = all;
                Ok(parsed)
            }
            Err(FormatError::Ics(message)) => Err(FormatError::Invalid {
                format: self.format,
                message: self.relabel(&message),
            }),
            Err(other) => Err(other),
        }
    }

    /// Replaces `line N` in a message by the origin of line N, and adds the origin to
    /// `event #N (no UID)`.
    fn relabel(&self, message: &str) -> String {
        let message = match message
            .strip_prefix("event #")
            .and_then(|r| r.split_once(" (no UID)"))
        {
            Some((n, rest)) => {
                match n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| self.events.get(n.checked_sub(1)?))
                {
                    Some(origin) => format!("event #{n} (no UID) at {origin}{rest}"),
                    None => message.to_string(),
                }
            }
            None => message.to_string(),
        };
        let mut out = String::with_capacity(message.len());
        let mut rest = message.as_str();
        while let Some(at) = rest.find("line ") {
            let after = &rest[at + 5..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let origin = after[..digits]
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| self.origins.get(i));
            out.push_str(&rest[..at]);
            match origin {
                Some(o) => out.push_str(o),
                None => out.push_str(&rest[at..at + 5 + digits]),
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
        out
    }
}

/// An iCalendar name (component, property, parameter, value type), upper-cased.
fn checked_name(name: &str, what: &str) -> Result<String, String> {
    if !name.is_empty()
        && name.len() <= 200
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(name.to_ascii_uppercase())
    } else {
        Err(format!("invalid {what} name {:?}", shorten(name)))
    }
}

/// A parameter value, quoted when it contains `:`, `;` or `,` (a `"` becomes `'` and control
/// characters become spaces: neither can be written in an iCalendar parameter).
fn param_value(v: &str) -> String {
    let clean: String = v
        .chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// One value in iCalendar syntax.
fn ics_value(kind: &str, v: &PropValue) -> Result<String, String> {
    match (kind, v) {
        ("recur", PropValue::Recur(parts)) => recur_value(parts),
        ("recur", PropValue::Text(s)) => plain(s, "recur", |c| {
            c.is_ascii_alphanumeric() || "=;,+-".contains(c)
        }),
        (_, PropValue::Recur(_)) => Err(format!("a recur value where {kind} was expected")),
        ("period", PropValue::Parts(p)) => match p.as_slice() {
            [start, end] => period_value(start, end),
            _ => Err(format!(
                "a period needs a start and an end or duration, got {} parts",
                p.len()
            )),
        },
        ("period", PropValue::Text(s)) => match s.split_once('/') {
            Some((start, end)) => period_value(start, end),
            None => Err(format!("invalid period {:?}", shorten(s))),
        },
        ("date", PropValue::Text(s)) => date_value(s),
        ("date-time", PropValue::Text(s)) => date_time_value(s),
        ("time", PropValue::Text(s)) => time_value(s),
        ("utc-offset", PropValue::Text(s)) => offset_value(s),
        ("duration", PropValue::Text(s)) => duration_value(s),
        ("integer", PropValue::Text(s)) => s
            .trim()
            .parse::<i64>()
            .map(|i| i.to_string())
            .map_err(|_| format!("invalid integer {:?}", shorten(s))),
        ("float", PropValue::Text(s)) => float_value(s),
        ("float", PropValue::Parts(p)) => Ok(p
            .iter()
            .map(|s| float_value(s))
            .collect::<Result<Vec<_>, _>>()?
            .join(";")),
        ("boolean", PropValue::Text(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok("TRUE".into()),
            "false" => Ok("FALSE".into()),
            _ => Err(format!("invalid boolean {:?}", shorten(s))),
        },
        ("uri" | "cal-address" | "binary", PropValue::Text(s)) => {
            if s.chars().any(char::is_control) {
                Err(format!("{kind} contains control characters"))
            } else {
                Ok(s.trim().to_string())
            }
        }
        (_, PropValue::Text(s)) => Ok(escape_text(s)),
        (_, PropValue::Parts(p)) => Ok(p
            .iter()
            .map(|s| escape_text(s))
            .collect::<Vec<_>>()
            .join(";")),
    }
}

/// A value that must consist of `allowed` characters only (nothing that could end the line or
/// start another part).
fn plain(s: &str, what: &str, allowed: impl Fn(char) -> bool) -> Result<String, String> {
    let t = s.trim();
    if !t.is_empty() && t.chars().all(allowed) {
        Ok(t.to_string())
    } else {
        Err(format!("invalid {what} {:?}", shorten(s)))
    }
}

/// `2026-12-05` (or already `20261205`) as `20261205`.
fn date_value(s: &str) -> Result<String, String> {
    let t = s.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y%m%d"))
        .map(|d| d.format("%Y%m%d").to_string())
        .map_err(|_| format!("invalid date {:?}", shorten(s)))
}

/// `2026-12-05T19:00:00` as `20261205T190000`, with `Z` kept; an offset (not allowed by the
/// RFCs, but written by some producers) is converted to UTC.
fn date_time_value(s: &str) -> Result<String, String> {
    let t = s.trim();
    let err = || format!("invalid date-time {:?}", shorten(s));
    if let Some(local) = t.strip_suffix(['Z', 'z']) {
        return naive_date_time(local)
            .map(|n| n.format("%Y%m%dT%H%M%SZ").to_string())
            .ok_or_else(err);
    }
    if t.len() > 19
        && let Ok(dt) = DateTime::parse_from_rfc3339(t)
    {
        return Ok(dt.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string());
    }
    naive_date_time(t)
        .map(|n| n.format("%Y%m%dT%H%M%S").to_string())
        .ok_or_else(err)
}

fn naive_date_time(t: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y%m%dT%H%M%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
}

/// `19:00:00` (optionally with `Z`) as `190000`.
fn time_value(s: &str) -> Result<String, String> {
    let t = s.trim();
    let (local, z) = match t.strip_suffix(['Z', 'z']) {
        Some(l) => (l, "Z"),
        None => (t, ""),
    };
    ["%H:%M:%S%.f", "%H%M%S"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(local, f).ok())
        .map(|n| format!("{}{z}", n.format("%H%M%S")))
        .ok_or_else(|| format!("invalid time {:?}", shorten(s)))
}

/// `+01:00` (or `+01:00:30`, or already `+0100`) as `+0100`.
fn offset_value(s: &str) -> Result<String, String> {
    let t = s.trim();
    let compact: String = t.chars().filter(|c| *c != ':').collect();
    let ok = matches!(compact.as_bytes().first(), Some(b'+' | b'-'))
        && matches!(compact.len(), 5 | 7)
        && compact.bytes().skip(1).all(|b| b.is_ascii_digit());
    if ok {
        Ok(compact)
    } else {
        Err(format!("invalid utc-offset {:?}", shorten(s)))
    }
}

fn duration_value(s: &str) -> Result<String, String> {
    plain(s, "duration", |c| {
        c.is_ascii_digit() || "PTWDHMS+-".contains(c.to_ascii_uppercase())
    })
    .map(|d| d.to_ascii_uppercase())
}

fn float_value(s: &str) -> Result<String, String> {
    let t = s.trim();
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(t.to_string()),
        _ => Err(format!("invalid float {:?}", shorten(s))),
    }
}

/// `start/end` or `start/duration`.
fn period_value(start: &str, end: &str) -> Result<String, String> {
    let start = date_time_value(start)?;
    let end_t = end.trim();
    let end = if end_t.starts_with(['P', 'p', '+', '-']) {
        duration_value(end_t)?
    } else {
        date_time_value(end_t)?
    };
    Ok(format!("{start}/{end}"))
}

/// A RECUR value: `FREQ` first, `UNTIL` converted like a date or date-time.
fn recur_value(parts: &[(String, Vec<String>)]) -> Result<String, String> {
    let mut ordered: Vec<&(String, Vec<String>)> = parts
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("freq"))
        .collect();
    ordered.extend(
        parts
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("freq")),
    );
    let mut out = Vec::with_capacity(ordered.len());
    for (key, values) in ordered {
        let key = checked_name(key, "recur part")?;
        let values = values
            .iter()
            .map(|v| {
                if key == "UNTIL" {
                    if v.trim().len() <= 10 {
                        date_value(v)
                    } else {
                        date_time_value(v)
                    }
                } else {
                    plain(v, "recur value", |c| {
                        c.is_ascii_alphanumeric() || c == '+' || c == '-'
                    })
                    .map(|p| p.to_ascii_uppercase())
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| format!("{}: {m}", key.to_ascii_lowercase()))?;
        out.push(format!("{key}={}", values.join(",")));
    }
    Ok(out.join(";"))
}

fn shorten(s: &str) -> String {
    crate::text::shorten(s, 60)
}

/// Why a structured component could not be converted.
#[derive(Debug)]
pub enum Problem {
    /// The document does not have the format's shape: the whole feed is refused.
    Structure(String),
    /// A value could not be converted: its top-level component is skipped.
    Value(String),
}

/// The warning for a skipped top-level component.
pub fn skipped(uid: Option<&str>, at: &str, reason: &str) -> String {
    match uid {
        Some(uid) if !uid.trim().is_empty() => {
            format!("item {:?} at {at}: skipped: {reason}", shorten(uid))
        }
        _ => format!("item at {at}: skipped: {reason}"),
    }
}

/// Parses a jCal document.
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let doc: Json = serde_json::from_str(text).map_err(|e| FormatError::json("jcal", &e))?;
    let invalid = |message: String| FormatError::Invalid {
        format: "jcal",
        message,
    };
    let calendars: Vec<(String, &Json)> = match &doc {
        Json::Array(items) if items.first().is_some_and(Json::is_string) => {
            vec![("vcalendar".to_string(), &doc)]
        }
        Json::Array(items) if !items.is_empty() && items.iter().all(Json::is_array) => items
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("[{i}]"), c))
            .collect(),
        other => {
            return Err(invalid(format!(
                "document: expected a jCal array [\"vcalendar\", [properties], [components]], got {}",
                describe(other)
            )));
        }
    };
    let mut w = IcsWriter::new("jcal");
    let mut warnings = Vec::new();
    for (path, cal) in calendars {
        let (name, props, comps) = component_parts(cal, &path).map_err(|p| match p {
            Problem::Structure(m) | Problem::Value(m) => invalid(m),
        })?;
        if !name.eq_ignore_ascii_case("vcalendar") {
            return Err(invalid(format!(
                "{path}[0]: expected \"vcalendar\", got {name:?}"
            )));
        }
        w.begin(name, &path).map_err(invalid)?;
        for (i, p) in props.iter().enumerate() {
            let at = format!("{path}[1][{i}]");
            match read_property(p, &at) {
                Ok(prop) => {
                    if let Err(m) = w.property(&prop, &at) {
                        warnings.push(format!("ignored property at {at}: {m}"));
                    }
                }
                Err(Problem::Structure(m)) => return Err(invalid(m)),
                Err(Problem::Value(m)) => warnings.push(format!("ignored property at {at}: {m}")),
            }
        }
        for (i, c) in comps.iter().enumerate() {
            let at = format!("{path}[2][{i}]");
            let mark = w.checkpoint();
            match write_component(&mut w, c, &at) {
                Ok(()) => {}
                Err(Problem::Structure(m)) => return Err(invalid(m)),
                Err(Problem::Value(m)) => {
                    w.rollback(mark);
                    warnings.push(skipped(component_uid(c), &at, &m));
                }
            }
        }
        w.end(name, &path).map_err(invalid)?;
    }
    w.finish(ctx, warnings)
}

/// `[name, [properties], [components]]`.
fn component_parts<'a>(
    c: &'a Json,
    path: &str,
) -> Result<(&'a str, &'a [Json], &'a [Json]), Problem> {
    match c.as_array().map(Vec::as_slice) {
        Some([Json::String(name), Json::Array(props), Json::Array(comps)]) => {
            Ok((name, props, comps))
        }
        _ => Err(Problem::Structure(format!(
            "{path}: component must be an array [name, [properties], [components]], got {}",
            describe(c)
        ))),
    }
}

/// Writes a component and its sub-components.
fn write_component(w: &mut IcsWriter, c: &Json, path: &str) -> Result<(), Problem> {
    let (name, props, comps) = component_parts(c, path)?;
    w.begin(name, path)
        .map_err(|m| Problem::Value(format!("{path}[0]: {m}")))?;
    for (i, p) in props.iter().enumerate() {
        let at = format!("{path}[1][{i}]");
        let prop = read_property(p, &at)?;
        w.property(&prop, &at)
            .map_err(|m| Problem::Value(format!("{at}: {m}")))?;
    }
    for (i, sub) in comps.iter().enumerate() {
        write_component(w, sub, &format!("{path}[2][{i}]"))?;
    }
    w.end(name, path)
        .map_err(|m| Problem::Value(format!("{path}[0]: {m}")))
}

/// The UID of a component, if it has a plain one (for warnings).
fn component_uid(c: &Json) -> Option<&str> {
    c.get(1)?.as_array()?.iter().find_map(|p| {
        let p = p.as_array()?;
        if p.first()?.as_str()?.eq_ignore_ascii_case("uid") {
            p.get(3)?.as_str()
        } else {
            None
        }
    })
}

/// `[name, {parameters}, type, value, ...]`.
fn read_property(p: &Json, path: &str) -> Result<Prop, Problem> {
    let shape = p.as_array().map(Vec::as_slice).filter(|s| s.len() >= 4);
    let Some([name, params, kind, values @ ..]) = shape else {
        return Err(Problem::Structure(format!(
            "{path}: property must be an array of at least 4 elements \
             [name, {{parameters}}, type, value], got {}",
            describe(p)
        )));
    };
    let structure = |i: usize, what: &str, got: &Json| {
        Problem::Structure(format!("{path}[{i}]: {what}, got {}", describe(got)))
    };
    let name = name
        .as_str()
        .ok_or_else(|| structure(0, "property name must be a string", name))?;
    let params_obj = params
        .as_object()
        .ok_or_else(|| structure(1, "parameters must be an object", params))?;
    let kind = kind
        .as_str()
        .ok_or_else(|| structure(2, "value type must be a string", kind))?
        .to_ascii_lowercase();
    let mut params = Vec::with_capacity(params_obj.len());
    for (k, v) in params_obj {
        let list = match v {
            Json::Array(list) => list.iter().map(scalar).collect::<Option<Vec<_>>>(),
            other => scalar(other).map(|s| vec![s]),
        }
        .ok_or_else(|| {
            Problem::Structure(format!(
                "{path}[1].{k}: parameter value must be a string or an array of strings, got {}",
                describe(v)
            ))
        })?;
        params.push((k.clone(), list));
    }
    let values = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            read_value(v, &kind).map_err(|m| Problem::Value(format!("{path}[{}]: {m}", i + 3)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Prop {
        name: name.to_string(),
        params,
        kind,
        values,
    })
}

/// A string, number or boolean as text.
fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One jCal value of type `kind`.
fn read_value(v: &Json, kind: &str) -> Result<PropValue, String> {
    let wrong = || format!("expected a {kind} value, got {}", describe(v));
    match (kind, v) {
        ("recur", Json::Object(map)) => {
            let mut parts = Vec::with_capacity(map.len());
            for (k, part) in map {
                let values = match part {
                    Json::Array(list) => list.iter().map(scalar).collect::<Option<Vec<_>>>(),
                    other => scalar(other).map(|s| vec![s]),
                }
                .ok_or_else(|| {
                    format!(
                        "recur part {k:?} must be a string, a number or an array of them, got {}",
                        describe(part)
                    )
                })?;
                parts.push((k.clone(), values));
            }
            Ok(PropValue::Recur(parts))
        }
        (_, Json::String(s)) => Ok(PropValue::Text(s.clone())),
        ("integer" | "float" | "unknown", Json::Number(n)) => Ok(PropValue::Text(n.to_string())),
        ("boolean" | "unknown", Json::Bool(b)) => Ok(PropValue::Text(b.to_string())),
        ("recur", _) => Err(wrong()),
        (_, Json::Array(list)) => list
            .iter()
            .map(|x| match x {
                Json::String(s) => Some(s.clone()),
                Json::Number(n) if matches!(kind, "float" | "integer") => Some(n.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(PropValue::Parts)
            .ok_or_else(wrong),
        _ => Err(wrong()),
    }
}

/// A JSON value's kind, for error messages.
fn describe(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("a boolean ({b})"),
        Json::Number(n) => format!("a number ({n})"),
        Json::String(s) => format!("a string ({:?})", shorten(s)),
        Json::Array(a) => format!("an array of {} elements", a.len()),
        Json::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_to_basic_forms() {
        let t = |kind: &str, s: &str| ics_value(kind, &PropValue::Text(s.into()));
        assert_eq!(t("date", "2026-12-05").unwrap(), "20261205");
        assert_eq!(
            t("date-time", "2026-12-05T19:00:00").unwrap(),
            "20261205T190000"
        );
        assert_eq!(
            t("date-time", "2026-12-05T18:00:00Z").unwrap(),
            "20261205T180000Z"
        );
        assert_eq!(
            t("date-time", "2026-12-05T19:00:00+01:00").unwrap(),
            "20261205T180000Z"
        );
        assert_eq!(t("time", "19:30:00").unwrap(), "193000");
        assert_eq!(t("utc-offset", "+01:00").unwrap(), "+0100");
        assert_eq!(t("utc-offset", "-05:30:15").unwrap(), "-053015");
        assert_eq!(t("duration", "PT1H30M").unwrap(), "PT1H30M");
        assert_eq!(t("text", "a,b;c\\d\r\ne").unwrap(), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(t("boolean", "true").unwrap(), "TRUE");
        assert!(
            t("date", "2026-13-05")
                .unwrap_err()
                .contains("invalid date")
        );
        assert!(t("date-time", "2026-12-05T19:00:00\r\nX").is_err());
        assert!(t("duration", "PT1H\r\nBEGIN:VEVENT").is_err());
        assert!(t("uri", "https://x\r\nBEGIN:VEVENT").is_err());
        let p = PropValue::Parts(vec!["2026-12-05T19:00:00Z".into(), "PT2H".into()]);
        assert_eq!(ics_value("period", &p).unwrap(), "20261205T190000Z/PT2H");
        let geo = PropValue::Parts(vec!["51.5136".into(), "7.4653".into()]);
        assert_eq!(ics_value("float", &geo).unwrap(), "51.5136;7.4653");
        let rule = PropValue::Recur(vec![
            ("byday".into(), vec!["TU".into(), "th".into()]),
            ("until".into(), vec!["2027-03-30T21:59:59Z".into()]),
            ("freq".into(), vec!["WEEKLY".into()]),
        ]);
        assert_eq!(
            ics_value("recur", &rule).unwrap(),
            "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20270330T215959Z"
        );
        let bad = PropValue::Recur(vec![("freq".into(), vec!["WEEKLY;COUNT=1".into()])]);
        assert!(ics_value("recur", &bad).is_err());
    }

    #[test]
    fn properties_get_quoted_parameters_and_value_types() {
        let mut w = IcsWriter::new("jcal");
        let prop = Prop {
            name: "dtstart".into(),
            params: vec![("tzid".into(), vec!["Europe/Berlin".into()])],
            kind: "date".into(),
            values: vec![PropValue::Text("2026-12-05".into())],
        };
        w.property(&prop, "p").unwrap();
        let org = Prop {
            name: "organizer".into(),
            params: vec![(
                "cn".into(),
                vec!["Kulturamt, \"Abt.\" 41: Veranstaltungen".into()],
            )],
            kind: "cal-address".into(),
            values: vec![PropValue::Text("mailto:kultur@musterstadt.example".into())],
        };
        w.property(&org, "o").unwrap();
        assert_eq!(
            w.text(),
            "DTSTART;TZID=Europe/Berlin;VALUE=DATE:20261205\r\n\
             ORGANIZER;CN=\"Kulturamt, 'Abt.' 41: Veranstaltungen\":mailto:kultur@musterstadt.example\r\n"
        );
        let bad = Prop {
            name: "x-evil\r\nBEGIN".into(),
            ..prop
        };
        assert!(w.property(&bad, "b").is_err());
    }

    #[test]
    fn long_lines_are_folded_and_relabelled() {
        let mut w = IcsWriter::new("jcal");
        let long = "ä".repeat(FOLD_AT);
        let prop = Prop {
            name: "description".into(),
            params: vec![],
            kind: "text".into(),
            values: vec![PropValue::Text(long.clone())],
        };
        w.property(&prop, "vcalendar[1][0]").unwrap();
        assert!(w.text().split("\r\n").all(|l| l.len() <= FOLD_AT));
        let unfolded = w.text().replace("\r\n ", "");
        assert_eq!(unfolded, format!("DESCRIPTION:{long}\r\n"));
        assert_eq!(
            w.relabel("line 2: ignored invalid line, line 99"),
            "vcalendar[1][0]: ignored invalid line, line 99"
        );
    }
}

//! xCal (RFC 6321) input.
//!
//! The document is read with quick-xml into a small element tree (namespaces resolved, depth
//! capped at [`MAX_DEPTH`], DTDs with entity declarations and unknown entity references
//! refused) and then written out as iCalendar text by the converter shared with jCal
//! ([`super::jcal::IcsWriter`]), so times, zones, recurrences and bad events are handled exactly
//! as in iCalendar. Elements in other namespaces are ignored (RFC 6321 section 5); elements
//! without a namespace are read as xCal. Warnings and errors name byte positions of the original
//! document.

use super::jcal::{IcsWriter, Problem, Prop, PropValue, skipped};
use super::{FormatError, MAX_DEPTH, ParseContext, Parsed};
use quick_xml::NsReader;
use quick_xml::events::Event as XmlEvent;
use quick_xml::name::ResolveResult;

/// The xCal namespace.
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:icalendar-2.0";

/// Value type elements of RFC 6321 (section 3.6).
const VALUE_TYPES: [&str; 15] = [
    "binary",
    "boolean",
    "cal-address",
    "date",
    "date-time",
    "duration",
    "float",
    "integer",
    "period",
    "recur",
    "text",
    "time",
    "uri",
    "utc-offset",
    "unknown",
];

/// One element of the document.
#[derive(Debug, Default)]
struct Element {
    /// Local name, lower-cased.
    name: String,
    /// In a namespace other than xCal's.
    foreign: bool,
    /// Byte offset of the start tag.
    position: u64,
    /// Character data directly inside the element (entities resolved).
    text: String,
    children: Vec<Element>,
}

impl Element {
    /// Child elements in the xCal namespace (or none).
    fn xcal_children(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter(|c| !c.foreign)
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.xcal_children().find(|c| c.name == name)
    }

    fn at(&self) -> String {
        format!("byte {}", self.position)
    }
}

/// Parses an xCal document.
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let root = read_tree(text)?;
    let invalid = |message: String| FormatError::Invalid {
        format: "xcal",
        message,
    };
    if root.foreign || root.name != "icalendar" {
        return Err(invalid(format!(
            "root element is <{}> at {}, expected <icalendar xmlns=\"{NAMESPACE}\">",
            root.name,
            root.at()
        )));
    }
    let mut w = IcsWriter::new("xcal");
    let mut warnings = Vec::new();
    for cal in root.xcal_children().filter(|c| c.name == "vcalendar") {
        w.begin("vcalendar", &cal.at()).map_err(invalid)?;
        if let Some(props) = cal.child("properties") {
            for p in props.xcal_children() {
                for prop in read_property(p) {
                    if let Err(m) = w.property(&prop, &p.at()) {
                        warnings.push(format!("ignored property at {}: {m}", p.at()));
                    }
                }
            }
        }
        if let Some(comps) = cal.child("components") {
            for c in comps.xcal_children() {
                let mark = w.checkpoint();
                match write_component(&mut w, c, 1) {
                    Ok(()) => {}
                    Err(Problem::Structure(m)) => return Err(invalid(m)),
                    Err(Problem::Value(m)) => {
                        w.rollback(mark);
                        warnings.push(skipped(component_uid(c).as_deref(), &c.at(), &m));
                    }
                }
            }
        }
        w.end("vcalendar", &cal.at()).map_err(invalid)?;
    }
    w.finish(ctx, warnings)
}

/// Writes a component and its sub-components.
fn write_component(w: &mut IcsWriter, c: &Element, depth: usize) -> Result<(), Problem> {
    if depth > MAX_DEPTH {
        return Err(Problem::Structure(format!(
            "{}: components nested too deeply",
            c.at()
        )));
    }
    w.begin(&c.name, &c.at())
        .map_err(|m| Problem::Value(format!("{}: {m}", c.at())))?;
    if let Some(props) = c.child("properties") {
        for p in props.xcal_children() {
            for prop in read_property(p) {
                w.property(&prop, &p.at())
                    .map_err(|m| Problem::Value(format!("{}: {m}", p.at())))?;
            }
        }
    }
    if let Some(comps) = c.child("components") {
        for sub in comps.xcal_children() {
            write_component(w, sub, depth + 1)?;
        }
    }
    w.end(&c.name, &c.at())
        .map_err(|m| Problem::Value(format!("{}: {m}", c.at())))
}

/// The text of a component's `<uid>` (for warnings).
fn component_uid(c: &Element) -> Option<String> {
    let uid = c.child("properties")?.child("uid")?;
    let value = uid.xcal_children().find(|v| v.name != "parameters")?;
    Some(value.text.trim().to_string())
}

/// A property element as one [`Prop`] per run of values of the same type (normally one).
fn read_property(p: &Element) -> Vec<Prop> {
    let mut params = Vec::new();
    if let Some(ps) = p.child("parameters") {
        for param in ps.xcal_children() {
            let mut values: Vec<String> = param.xcal_children().map(|v| v.text.clone()).collect();
            if values.is_empty() {
                values.push(param.text.trim().to_string());
            }
            params.push((param.name.clone(), values));
        }
    }
    let prop = |kind: &str, values: Vec<PropValue>| Prop {
        name: p.name.clone(),
        params: params.clone(),
        kind: kind.to_string(),
        values,
    };
    let parts = |names: &[&str], trim: bool| -> Vec<String> {
        names
            .iter()
            .filter_map(|n| p.child(n))
            .map(|e| {
                if trim {
                    e.text.trim().to_string()
                } else {
                    e.text.clone()
                }
            })
            .collect()
    };
    // GEO (RFC 6321 3.4.1.2) and REQUEST-STATUS (3.4.1.3) are structured values.
    if p.child("latitude").is_some() || p.child("longitude").is_some() {
        let geo = parts(&["latitude", "longitude"], true);
        return vec![prop("float", vec![PropValue::Parts(geo)])];
    }
    if p.child("code").is_some() {
        let status = parts(&["code", "description", "data"], false);
        return vec![prop("text", vec![PropValue::Parts(status)])];
    }
    let mut props: Vec<Prop> = Vec::new();
    for v in p.xcal_children().filter(|v| v.name != "parameters") {
        let (kind, value) = read_value(v);
        match props.last_mut() {
            Some(last) if last.kind == kind => last.values.push(value),
            _ => props.push(prop(&kind, vec![value])),
        }
    }
    props
}

/// One value element: its type and value.
fn read_value(v: &Element) -> (String, PropValue) {
    match v.name.as_str() {
        "recur" => {
            let mut rule: Vec<(String, Vec<String>)> = Vec::new();
            for part in v.xcal_children() {
                let value = part.text.trim().to_string();
                match rule.iter_mut().find(|(k, _)| *k == part.name) {
                    Some((_, values)) => values.push(value),
                    None => rule.push((part.name.clone(), vec![value])),
                }
            }
            ("recur".into(), PropValue::Recur(rule))
        }
        "period" => {
            let end = v.child("end").or_else(|| v.child("duration"));
            let parts = [v.child("start"), end]
                .into_iter()
                .flatten()
                .map(|e| e.text.trim().to_string())
                .collect();
            ("period".into(), PropValue::Parts(parts))
        }
        "text" | "unknown" => (v.name.clone(), PropValue::Text(v.text.clone())),
        name if VALUE_TYPES.contains(&name) => {
            (name.to_string(), PropValue::Text(v.text.trim().to_string()))
        }
        _ => ("unknown".into(), PropValue::Text(v.text.clone())),
    }
}

/// Reads the document into a tree. Errors carry the byte position.
fn read_tree(text: &str) -> Result<Element, FormatError> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let err = |position: u64, message: String| FormatError::Xml {
        format: "xcal",
        position,
        message,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let before = reader.buffer_position();
        let (foreign, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => {
                let foreign = match ns {
                    ResolveResult::Bound(ns) => ns.as_ref() != NAMESPACE,
                    ResolveResult::Unknown(_) => true,
                    ResolveResult::Unbound => false,
                };
                (foreign, event)
            }
            Err(e) => return Err(err(reader.error_position(), e.to_string())),
        };
        match event {
            XmlEvent::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(before, format!("nesting deeper than {MAX_DEPTH}")));
                }
                if root.is_some() && stack.is_empty() {
                    return Err(err(before, "content after the root element".into()));
                }
                stack.push(Element {
                    name: start.local_name().as_ref().to_ascii_lowercase(),
                    foreign,
                    position: before,
                    ..Element::default()
                });
            }
            XmlEvent::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(err(before, "unexpected end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            XmlEvent::Text(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.xml10_content());
                }
            }
            XmlEvent::CData(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.xml10_content());
                }
            }
            XmlEvent::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(err(
                                before,
                                format!("unknown entity &{};", crate::text::shorten(other, 40)),
                            ));
                        }
                    },
                    Err(e) => return Err(err(before, e.to_string())),
                };
                if let Some(cur) = stack.last_mut() {
                    cur.text.push(c);
                }
            }
            XmlEvent::DocType(d) => {
                if d.as_ref().to_ascii_uppercase().contains("<!ENTITY") {
                    return Err(err(
                        before,
                        "DTD entity declarations are not allowed".into(),
                    ));
                }
            }
            XmlEvent::Eof => {
                if let Some(open) = stack.last() {
                    return Err(err(
                        reader.buffer_position(),
                        format!(
                            "document is truncated (<{}> opened at byte {} is not closed)",
                            open.name, open.position
                        ),
                    ));
                }
                break;
            }
            XmlEvent::Empty(_) | XmlEvent::Comment(_) | XmlEvent::Decl(_) | XmlEvent::PI(_) => {}
        }
    }
    root.ok_or_else(|| err(0, "no root element".into()))
}

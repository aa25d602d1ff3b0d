//! xCal (RFC 6321) output.
//!
//! The iCalendar feed ([`super::ics::render`]) in the structured form of [`super::jcal`],
//! written as XML with quick-xml in the namespace `urn:ietf:params:xml:ns:icalendar-2.0`:
//! `<vevent><properties><dtstart><parameters><tzid><text>Europe/Berlin</text></tzid>
//! </parameters><date-time>2026-12-05T19:00:00</date-time></dtstart>...`.

use super::jcal::{Component, Property, Value, calendars};
use super::{Filter, Snapshot};
use crate::format::xcal::NAMESPACE;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::io;

/// Renders the occurrences matching `filter` as an xCal document.
pub fn render(snap: &Snapshot, filter: &Filter) -> String {
    let cals = calendars(&super::ics::render(snap, filter));
    match document(&cals) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        // Writing into memory does not fail.
        Err(_) => String::new(),
    }
}

type Xml = Writer<Vec<u8>>;

/// The order of RECUR parts in the RFC 6321 schema (appendix A).
const RECUR_ORDER: [&str; 14] = [
    "freq",
    "until",
    "count",
    "interval",
    "bysecond",
    "byminute",
    "byhour",
    "byday",
    "bymonthday",
    "byyearday",
    "byweekno",
    "bymonth",
    "bysetpos",
    "wkst",
];

fn document(cals: &[Component]) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.write_event(Event::Start(
        BytesStart::new("icalendar").with_attributes([("xmlns", NAMESPACE)]),
    ))?;
    for c in cals {
        component(&mut w, c)?;
    }
    w.write_event(Event::End(BytesEnd::new("icalendar")))?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}

fn component(w: &mut Xml, c: &Component) -> io::Result<()> {
    start(w, &c.name)?;
    start(w, "properties")?;
    for p in &c.properties {
        property(w, p)?;
    }
    end(w, "properties")?;
    if !c.components.is_empty() {
        start(w, "components")?;
        for sub in &c.components {
            component(w, sub)?;
        }
        end(w, "components")?;
    }
    end(w, &c.name)
}

fn property(w: &mut Xml, p: &Property) -> io::Result<()> {
    start(w, &p.name)?;
    if !p.params.is_empty() {
        start(w, "parameters")?;
        for (name, values) in &p.params {
            start(w, name)?;
            let kind = match name.as_str() {
                "altrep" | "dir" => "uri",
                "delegated-from" | "delegated-to" | "member" | "sent-by" => "cal-address",
                _ => "text",
            };
            for v in values {
                leaf(w, kind, v)?;
            }
            end(w, name)?;
        }
        end(w, "parameters")?;
    }
    for v in &p.values {
        match v {
            Value::Text(s) => leaf(w, &p.kind, s)?,
            Value::Integer(i) => leaf(w, "integer", &i.to_string())?,
            Value::Float(f) => leaf(w, "float", &f.to_string())?,
            Value::Boolean(b) => leaf(w, "boolean", if *b { "true" } else { "false" })?,
            Value::Geo(lat, lon) => {
                leaf(w, "latitude", &lat.to_string())?;
                leaf(w, "longitude", &lon.to_string())?;
            }
            Value::Period(s, e) => {
                start(w, "period")?;
                leaf(w, "start", s)?;
                let is_duration = e.starts_with(['P', '+', '-']);
                leaf(w, if is_duration { "duration" } else { "end" }, e)?;
                end(w, "period")?;
            }
            Value::Status(parts) => {
                for (name, part) in ["code", "description", "data"].iter().zip(parts) {
                    leaf(w, name, part)?;
                }
            }
            Value::Recur(parts) => {
                start(w, "recur")?;
                let mut parts: Vec<&(String, Vec<String>)> = parts.iter().collect();
                parts.sort_by_key(|(key, _)| {
                    RECUR_ORDER
                        .iter()
                        .position(|k| k == key)
                        .unwrap_or(RECUR_ORDER.len())
                });
                for (key, values) in parts {
                    for v in values {
                        leaf(w, key, v)?;
                    }
                }
                end(w, "recur")?;
            }
        }
    }
    end(w, &p.name)
}

fn start(w: &mut Xml, name: &str) -> io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))
}

fn end(w: &mut Xml, name: &str) -> io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// `<name>text</name>`, with characters XML 1.0 cannot carry left out.
fn leaf(w: &mut Xml, name: &str, text: &str) -> io::Result<()> {
    let clean: String = text
        .chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r') || (*c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        })
        .collect();
    w.create_element(name)
        .write_text_content(BytesText::new(&clean))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_written_as_xcal_elements() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n\
            DTSTART;TZID=Europe/Berlin:20261205T190000\r\n\
            SUMMARY:Kunst & Kultur <live>\\, \u{1}heute\r\n\
            GEO:51.5136;7.4653\r\n\
            RRULE:FREQ=WEEKLY;BYDAY=TU,TH\r\n\
            END:VEVENT\r\nEND:VCALENDAR\r\n";
        let xml = String::from_utf8(document(&calendars(ics)).unwrap()).unwrap();
        let compact: String = xml.lines().map(str::trim).collect();
        assert!(
            compact.starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <icalendar xmlns=\"urn:ietf:params:xml:ns:icalendar-2.0\">\
                 <vcalendar><properties></properties><components><vevent>"
            ),
            "{xml}"
        );
        for part in [
            "<dtstart><parameters><tzid><text>Europe/Berlin</text></tzid></parameters>\
             <date-time>2026-12-05T19:00:00</date-time></dtstart>",
            "<summary><text>Kunst &amp; Kultur &lt;live&gt;, heute</text></summary>",
            "<geo><latitude>51.5136</latitude><longitude>7.4653</longitude></geo>",
            "<rrule><recur><freq>WEEKLY</freq><byday>TU</byday><byday>TH</byday></recur></rrule>",
        ] {
            assert!(compact.contains(part), "{part} not in\n{xml}");
        }
    }
}

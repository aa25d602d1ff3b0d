//! RSS input: RSS 2.0 (`<rss><channel><item>`) and RSS 1.0 (`<rdf:RDF>` with `<item>`s), with
//! the event dates that CMS event plugins add to items.
//!
//! RSS itself has no event dates: `pubDate` is when an item was published. Dates are read from
//! the RSS event module (`ev:startdate`, `ev:enddate`, `ev:location`, `ev:organizer`,
//! `ev:type`), from xCal elements inside the item (`xCal:dtstart`, ... as in "xCal in RSS",
//! basic `20261205T190000` or ISO values), from Google's `gd:when`, or, when the source
//! configures `[source.mapping] start = "<element>"`, from any element named there. Items
//! without an event date are skipped with a warning that says how to map one. GeoRSS
//! (`georss:point`, `geo:lat`/`geo:long`, `gml:pos`), image enclosures and `media:content`,
//! `author`/`dc:creator` and categories are read too.
//!
//! This module also holds the XML plumbing shared with [`super::atom`]: a small namespace-aware
//! tree reader on top of `quick-xml` (elements are matched by namespace URI and local name,
//! never by prefix) that refuses DTD entity declarations, unknown entity references, nesting
//! deeper than [`super::MAX_DEPTH`] and truncated documents, and the reading of the extension
//! elements both feed formats carry.

use super::datetime::{default_end, parse_iso, parse_with_format};
use super::{FormatError, MAX_DEPTH, ParseContext, Parsed};
use crate::model::{Address, Event, EventTime, Geo, Organizer, Status, add_days, local_to_utc};
use chrono::{DateTime, NaiveTime};
use chrono_tz::Tz;
use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::name::ResolveResult;

/// Most items read from one feed.
pub const MAX_ITEMS: usize = 100_000;

/// RDF (RSS 1.0 root element `rdf:RDF`, `rdf:about`).
pub(crate) const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
/// RSS 1.0 core elements.
pub(crate) const NS_RSS1: &str = "http://purl.org/rss/1.0/";
/// RSS 0.90 core elements (Netscape's RDF flavour).
pub(crate) const NS_RSS090: &str = "http://my.netscape.com/rdf/simple/0.9/";
/// RSS 1.0 content module (`content:encoded`).
pub(crate) const NS_CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";
/// Dublin Core elements (`dc:creator`, `dc:subject`, `dc:date`).
pub(crate) const NS_DC: &str = "http://purl.org/dc/elements/1.1/";
/// RSS event module (`ev:startdate`, ...).
pub(crate) const NS_EV: &str = "http://purl.org/rss/1.0/modules/event/";
/// xCal elements as used in "xCal in RSS".
pub(crate) const NS_XCAL: &str = "urn:ietf:params:xml:ns:xcal";
/// Google Data (`gd:when`, `gd:where`, `gd:eventStatus`).
pub(crate) const NS_GD: &str = "http://schemas.google.com/g/2005";
/// GeoRSS Simple (`georss:point`, `georss:where`).
pub(crate) const NS_GEORSS: &str = "http://www.georss.org/georss";
/// W3C Basic Geo (`geo:lat`, `geo:long`, `geo:Point`).
pub(crate) const NS_GEO: &str = "http://www.w3.org/2003/01/geo/wgs84_pos#";
/// GML (`gml:pos` inside `georss:where`).
pub(crate) const NS_GML: &str = "http://www.opengis.net/gml";
/// Media RSS (`media:content`, `media:thumbnail`, `media:group`).
pub(crate) const NS_MEDIA: &str = "http://search.yahoo.com/mrss/";

/// The entities every XML document may use without declaring them.
const XML_ENTITIES: [(&str, &str); 5] = [
    ("lt", "<"),
    ("gt", ">"),
    ("amp", "&"),
    ("apos", "'"),
    ("quot", "\""),
];

// ---- the XML tree ------------------------------------------------------------------------------

/// An attribute with its resolved namespace (`""` for unprefixed attributes).
#[derive(Debug, Clone)]
pub(crate) struct XmlAttr {
    pub ns: String,
    pub local: String,
    pub value: String,
}

/// A child of an element: an element or a run of text (entities and CDATA decoded).
#[derive(Debug, Clone)]
pub(crate) enum XmlNode {
    Element(XmlElement),
    Text(String),
}

/// An element with its namespace URI (`""` when unbound), local name and name as written.
#[derive(Debug, Clone)]
pub(crate) struct XmlElement {
    pub ns: String,
    pub local: String,
    pub qname: String,
    pub attrs: Vec<XmlAttr>,
    pub children: Vec<XmlNode>,
}

impl XmlElement {
    /// Whether this element is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// The child elements.
    pub fn elements(&self) -> impl Iterator<Item = &XmlElement> {
        self.children.iter().filter_map(|n| match n {
            XmlNode::Element(e) => Some(e),
            XmlNode::Text(_) => None,
        })
    }

    /// The first child element `{ns}local`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&XmlElement> {
        self.elements().find(|e| e.is(ns, local))
    }

    /// All descendant elements in document order (not the element itself).
    pub fn descendants(&self) -> Vec<&XmlElement> {
        let mut out = Vec::new();
        let mut stack: Vec<&XmlElement> = self.elements().collect();
        stack.reverse();
        while let Some(e) = stack.pop() {
            out.push(e);
            let at = stack.len();
            stack.extend(e.elements());
            stack[at..].reverse();
        }
        out
    }

    /// The value of an unprefixed attribute.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attr_ns("", local)
    }

    /// The value of attribute `{ns}local`.
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// The text of the element and all its descendants.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.push_text(&mut out);
        out
    }

    fn push_text(&self, out: &mut String) {
        for n in &self.children {
            match n {
                XmlNode::Text(t) => out.push_str(t),
                XmlNode::Element(e) => e.push_text(out),
            }
        }
    }

    /// The text, trimmed, if not empty.
    pub fn text_value(&self) -> Option<String> {
        let t = self.text();
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    /// The content as markup: the text when there are no child elements, else the children
    /// written back as (X)HTML (for descriptions that embed XHTML instead of escaping it).
    pub fn markup(&self) -> Option<String> {
        if self.elements().next().is_none() {
            return self.text_value();
        }
        let mut out = String::new();
        self.push_inner_markup(&mut out);
        let t = out.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    fn push_inner_markup(&self, out: &mut String) {
        for n in &self.children {
            match n {
                XmlNode::Text(t) => out.push_str(&quick_xml::escape::escape(t.as_str())),
                XmlNode::Element(e) => {
                    out.push('<');
                    out.push_str(&e.local);
                    for a in e.attrs.iter().filter(|a| a.ns.is_empty()) {
                        out.push(' ');
                        out.push_str(&a.local);
                        out.push_str("=\"");
                        out.push_str(&quick_xml::escape::escape(a.value.as_str()));
                        out.push('"');
                    }
                    out.push('>');
                    e.push_inner_markup(out);
                    out.push_str("</");
                    out.push_str(&e.local);
                    out.push('>');
                }
            }
        }
    }

    /// The first descendant named as a user wrote it in `[source.mapping]`: `prefix:local`
    /// as written in the document, or a plain local name.
    pub fn find_named(&self, name: &str) -> Option<&XmlElement> {
        let name = name.trim();
        self.descendants()
            .into_iter()
            .find(|e| e.qname == name || (!name.contains(':') && e.local == name))
    }
}

/// Reads a whole XML document into a tree.
///
/// Refuses (with the byte position): malformed XML, a DOCTYPE with entity declarations
/// (billion laughs, XXE: nothing is ever expanded or fetched), references to entities other
/// than the five XML built-ins, nesting deeper than [`MAX_DEPTH`], a truncated document and a
/// document without (or with more than one) root element.
pub(crate) fn read_document(text: &str, format: &'static str) -> Result<XmlElement, FormatError> {
    let mut reader = NsReader::from_str(text);
    let err = |position: u64, message: String| FormatError::Xml {
        format,
        position,
        message,
    };
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root: Option<XmlElement> = None;
    loop {
        let before = reader.buffer_position();
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ResolveResult::Bound(ns), event)) => (ns.0.to_string(), event),
            Ok((_, event)) => (String::new(), event),
            Err(e) => return Err(err(reader.error_position(), e.to_string())),
        };
        match event {
            XmlEvent::Start(start) | XmlEvent::Empty(start) if root.is_some() => {
                return Err(err(
                    before,
                    format!(
                        "second root element <{}> after the document element",
                        start.name().0
                    ),
                ));
            }
            XmlEvent::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        before,
                        format!("elements nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let el = element(&reader, ns, &start).map_err(|m| err(before, m))?;
                stack.push(el);
            }
            XmlEvent::Empty(start) => {
                let el = element(&reader, ns, &start).map_err(|m| err(before, m))?;
                attach(&mut stack, &mut root, el);
            }
            XmlEvent::End(_) => {
                if let Some(el) = stack.pop() {
                    attach(&mut stack, &mut root, el);
                }
            }
            XmlEvent::Text(t) => push_text(&mut stack, &t.xml10_content()),
            XmlEvent::CData(t) => push_text(&mut stack, &t.xml10_content()),
            XmlEvent::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match XML_ENTITIES.iter().find(|(name, _)| *name == &*r) {
                        Some((_, value)) => (*value).to_string(),
                        None => {
                            return Err(err(
                                before,
                                format!(
                                    "unknown entity &{}; (only the XML built-in entities are allowed)",
                                    crate::text::shorten(&r, 40)
                                ),
                            ));
                        }
                    },
                    Err(e) => return Err(err(before, e.to_string())),
                };
                push_text(&mut stack, &resolved);
            }
            XmlEvent::DocType(d) => {
                if d.to_ascii_uppercase().contains("<!ENTITY") {
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
                        format!("document is truncated (<{}> is not closed)", open.qname),
                    ));
                }
                return root.ok_or_else(|| {
                    err(
                        reader.buffer_position(),
                        "document has no root element".into(),
                    )
                });
            }
            XmlEvent::Comment(_) | XmlEvent::Decl(_) | XmlEvent::PI(_) => {}
        }
    }
}

/// Builds an element (without children) from a start tag.
fn element(reader: &NsReader<&[u8]>, ns: String, start: &BytesStart) -> Result<XmlElement, String> {
    let qname = start.name().0.to_string();
    let local = start.local_name().into_inner().to_string();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("<{qname}>: {e}"))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let value = attr
            .normalized_value_with(quick_xml::XmlVersion::Implicit1_0, 1, |name| {
                XML_ENTITIES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| *v)
            })
            .map_err(|e| format!("<{qname}> attribute {}: {e}", attr.key.0))?
            .into_owned();
        let (resolved, name) = reader.resolver().resolve_attribute(attr.key);
        attrs.push(XmlAttr {
            ns: match resolved {
                ResolveResult::Bound(n) => n.0.to_string(),
                _ => String::new(),
            },
            local: name.into_inner().to_string(),
            value,
        });
    }
    Ok(XmlElement {
        ns,
        local,
        qname,
        attrs,
        children: Vec::new(),
    })
}

fn attach(stack: &mut [XmlElement], root: &mut Option<XmlElement>, el: XmlElement) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(XmlNode::Element(el)),
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [XmlElement], text: &str) {
    // Text outside the document element can only be whitespace (quick-xml checks the rest).
    let Some(parent) = stack.last_mut() else {
        return;
    };
    match parent.children.last_mut() {
        Some(XmlNode::Text(t)) => t.push_str(text),
        _ => parent.children.push(XmlNode::Text(text.to_string())),
    }
}

// ---- what an item says, before its dates are resolved -----------------------------------------

/// A date value as found in an item, with the element it came from (for warnings).
#[derive(Debug, Clone)]
pub(crate) struct RawTime {
    pub element: String,
    pub value: String,
    /// Zone named by the element itself (an xCal `tzid` attribute).
    pub tz: Option<Tz>,
}

/// Start and end from one vocabulary (they are never mixed).
#[derive(Debug, Clone, Default)]
pub(crate) struct RawTimes {
    pub start: Option<RawTime>,
    pub end: Option<RawTime>,
}

/// The fields of an RSS item or Atom entry, collected before the dates are resolved.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    /// guid / atom:id.
    pub id: Option<String>,
    /// rdf:about (RSS 1.0).
    pub about: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// content:encoded / atom:content (preferred over the description).
    pub content: Option<String>,
    pub link: Option<String>,
    pub location: Option<String>,
    pub address: Option<Address>,
    pub geo: Option<Geo>,
    pub categories: Vec<String>,
    pub image: Option<String>,
    /// media:thumbnail (used when there is no image).
    pub thumbnail: Option<String>,
    /// ev:organizer (preferred over the author).
    pub event_organizer: Option<Organizer>,
    pub author: Option<Organizer>,
    pub status: Option<Status>,
    pub ev: RawTimes,
    pub xcal: RawTimes,
    pub gd: RawTimes,
    pub last_modified: Option<DateTime<chrono::Utc>>,
    pub created: Option<DateTime<chrono::Utc>>,
    /// Title and description from xCal (used when the item has none).
    pub xcal_summary: Option<String>,
    pub xcal_description: Option<String>,
    pub xcal_url: Option<String>,
}

impl Draft {
    /// The identity used in warnings: the id or link, else the position.
    pub fn label(&self, position: usize) -> String {
        match self
            .id
            .as_ref()
            .or(self.about.as_ref())
            .or(self.link.as_ref())
        {
            Some(id) => crate::text::shorten(id, 80),
            None => format!("#{position}"),
        }
    }
}

/// Reads the extension elements both RSS and Atom items carry (event module, xCal, gd,
/// GeoRSS, W3C geo, Media RSS, Dublin Core). Returns whether `el` was one of them.
pub(crate) fn read_extension(el: &XmlElement, d: &mut Draft) -> bool {
    let raw = |el: &XmlElement| -> Option<RawTime> {
        Some(RawTime {
            element: el.qname.clone(),
            value: el.text_value()?,
            tz: el
                .attr("tzid")
                .or_else(|| el.attr("TZID"))
                .and_then(|z| z.trim().parse::<Tz>().ok()),
        })
    };
    match (el.ns.as_str(), el.local.as_str()) {
        (NS_EV, "startdate") => set_once(&mut d.ev.start, raw(el)),
        (NS_EV, "enddate") => set_once(&mut d.ev.end, raw(el)),
        (NS_EV, "location") => set_once(&mut d.location, el.text_value()),
        (NS_EV, "organizer") => set_once(
            &mut d.event_organizer,
            el.text_value().map(|name| Organizer {
                name,
                ..Organizer::default()
            }),
        ),
        (NS_EV, "type") => d.categories.extend(el.text_value()),
        (NS_XCAL, "dtstart") => set_once(&mut d.xcal.start, raw(el)),
        (NS_XCAL, "dtend") => set_once(&mut d.xcal.end, raw(el)),
        (NS_XCAL, "location") => set_once(&mut d.location, el.text_value()),
        (NS_XCAL, "summary") => set_once(&mut d.xcal_summary, el.text_value()),
        (NS_XCAL, "description") => set_once(&mut d.xcal_description, el.markup()),
        (NS_XCAL, "url") => set_once(&mut d.xcal_url, el.text_value()),
        (NS_XCAL, "categories") => {
            let cats: Vec<&XmlElement> = el
                .elements()
                .filter(|c| c.is(NS_XCAL, "item") || c.is(NS_XCAL, "text"))
                .collect();
            if cats.is_empty() {
                d.categories.extend(el.text_value());
            } else {
                d.categories
                    .extend(cats.iter().filter_map(|c| c.text_value()));
            }
        }
        (NS_XCAL, "status") => {
            if d.status.is_none() {
                d.status = el.text_value().and_then(|s| status_word(&s));
            }
        }
        (NS_XCAL, "x-calconnect-venue") => read_venue(el, d),
        (NS_GD, "when") => {
            if d.gd.start.is_none() {
                let attr_time = |name: &str| {
                    el.attr(name).map(|v| RawTime {
                        element: format!("{}@{name}", el.qname),
                        value: v.trim().to_string(),
                        tz: None,
                    })
                };
                d.gd.start = attr_time("startTime");
                d.gd.end = attr_time("endTime");
            }
        }
        (NS_GD, "where") => set_once(
            &mut d.location,
            el.attr("valueString")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        ),
        (NS_GD, "eventStatus") => {
            if d.status.is_none() {
                d.status = el.attr("value").and_then(|v| {
                    let word = v.rsplit(['#', '.']).next().unwrap_or(v);
                    status_word(word)
                });
            }
        }
        (NS_GEORSS, "point") => set_once(&mut d.geo, el.text_value().and_then(|t| point(&t))),
        (NS_GEORSS, "where") => set_once(
            &mut d.geo,
            el.descendants()
                .into_iter()
                .find(|e| e.is(NS_GML, "pos"))
                .and_then(|e| point(&e.text())),
        ),
        // Read as a pair by `read_w3c_geo`.
        (NS_GEO, "Point" | "lat" | "long") => {}
        (NS_MEDIA, "group") => {
            for c in el.elements() {
                read_extension(c, d);
            }
        }
        (NS_MEDIA, "content") => {
            let is_image = el
                .attr("type")
                .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/"))
                || el.attr("medium") == Some("image");
            if is_image {
                set_once(&mut d.image, el.attr("url").map(str::to_string));
            }
            for c in el.elements() {
                read_extension(c, d);
            }
        }
        (NS_MEDIA, "thumbnail") => set_once(&mut d.thumbnail, el.attr("url").map(str::to_string)),
        (NS_DC, "creator") => set_once(
            &mut d.author,
            el.text_value().map(|name| Organizer {
                name,
                ..Organizer::default()
            }),
        ),
        (NS_DC, "subject") => d.categories.extend(el.text_value()),
        _ => return false,
    }
    true
}

/// W3C geo `lat`/`long` children of an item (or of its `geo:Point`).
pub(crate) fn read_w3c_geo(item: &XmlElement, d: &mut Draft) {
    if d.geo.is_some() {
        return;
    }
    let holders = std::iter::once(item).chain(item.elements().filter(|e| e.is(NS_GEO, "Point")));
    for h in holders {
        let lat = h.child(NS_GEO, "lat").and_then(|e| number(&e.text()));
        let lon = h.child(NS_GEO, "long").and_then(|e| number(&e.text()));
        if let (Some(lat), Some(lon)) = (lat, lon) {
            d.geo = Geo::new(lat, lon);
            return;
        }
    }
}

fn read_venue(el: &XmlElement, d: &mut Draft) {
    let mut addr = Address::default();
    for e in el.descendants() {
        if e.ns != NS_XCAL {
            continue;
        }
        match e.local.as_str() {
            "x-calconnect-venue-name" => set_once(&mut d.location, e.text_value()),
            "x-calconnect-street" | "street" => set_once(&mut addr.street, e.text_value()),
            "x-calconnect-city" | "locality" => set_once(&mut addr.locality, e.text_value()),
            "x-calconnect-postalcode" | "code" => set_once(&mut addr.postal_code, e.text_value()),
            "x-calconnect-region" | "region" => set_once(&mut addr.region, e.text_value()),
            "x-calconnect-country" | "country" => set_once(&mut addr.country, e.text_value()),
            _ => {}
        }
    }
    if addr != Address::default() && d.address.is_none() {
        d.address = Some(addr);
    }
}

/// Sets `slot` unless it already has a value (the first occurrence of an element wins).
pub(crate) fn set_once<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn status_word(s: &str) -> Option<Status> {
    match s.trim().to_ascii_lowercase().as_str() {
        "cancelled" | "canceled" => Some(Status::Cancelled),
        "tentative" => Some(Status::Tentative),
        "confirmed" => Some(Status::Confirmed),
        _ => None,
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A GeoRSS point: "lat lon" (space or comma separated).
fn point(s: &str) -> Option<Geo> {
    let mut parts = s.split([' ', ',', '\t', '\n']).filter(|p| !p.is_empty());
    let lat = number(parts.next()?)?;
    let lon = number(parts.next()?)?;
    Geo::new(lat, lon)
}

/// An RSS `author` ("kultur@example.org (Kulturamt)") as an organizer.
pub(crate) fn organizer_from_author(s: &str) -> Option<Organizer> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let (Some(open), true) = (s.find('('), s.ends_with(')')) {
        let email = s[..open].trim();
        let name = s[open + 1..s.len() - 1].trim();
        if !name.is_empty() {
            return Some(Organizer {
                name: name.to_string(),
                url: None,
                email: email.contains('@').then(|| email.to_string()),
            });
        }
    }
    Some(Organizer {
        name: s.to_string(),
        url: None,
        email: (s.contains('@') && !s.contains(' ')).then(|| s.to_string()),
    })
}

/// A link resolved against the URL the body came from.
pub(crate) fn absolute(link: &str, ctx: &ParseContext) -> String {
    let link = link.trim();
    match ctx.base_url {
        Some(base) if url::Url::parse(link).is_err() => base
            .join(link)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| link.to_string()),
        _ => link.to_string(),
    }
}

// ---- dates ----------------------------------------------------------------------------------------

/// Parses a date value as feeds write it: ISO 8601 / RFC 3339, iCalendar basic
/// (`20261205T190000`, `20261205T180000Z`, `20261205`), RFC 2822 (`Sat, 05 Dec 2026 19:00:00
/// +0100`), or the source's `[source.mapping] date_format`.
pub(crate) fn parse_time(raw: &RawTime, ctx: &ParseContext) -> Result<EventTime, String> {
    let zone = raw.tz.unwrap_or(ctx.default_tz);
    let value = raw.value.trim();
    if let Some(iso) = basic_to_extended(value) {
        return parse_iso(&iso, zone);
    }
    let iso = parse_iso(value, zone);
    if iso.is_ok() {
        return iso;
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(value) {
        return parse_iso(&dt.to_rfc3339(), zone);
    }
    if let Some(fmt) = ctx.mapping.and_then(|m| m.date_format.as_deref()) {
        return parse_with_format(value, fmt, zone);
    }
    iso
}

/// `20261205T190000[Z]` or `20261205` as ISO extended text.
fn basic_to_extended(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() == 8 && digits(0..8) {
        return Some(format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8]));
    }
    let zulu = match b.len() {
        15 => false,
        16 if b.get(15) == Some(&b'Z') => true,
        _ => return None,
    };
    if !(digits(0..8) && b.get(8) == Some(&b'T') && digits(9..15)) {
        return None;
    }
    Some(format!(
        "{}-{}-{}T{}:{}:{}{}",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15],
        if zulu { "Z" } else { "" }
    ))
}

/// An end in the form of its start: date ends are exclusive (as in iCalendar; a date end on
/// or before the start date means a one-day event); a date end of a timed start means the end
/// of that day; a timed end of an all-day start is rounded up to the next whole day.
fn fit_end(start: EventTime, end: EventTime, zone: Tz) -> EventTime {
    match (start, end) {
        (EventTime::Date { date }, EventTime::Date { date: e }) => EventTime::Date {
            date: if e <= date { add_days(date, 1) } else { e },
        },
        (EventTime::Date { date }, timed) => {
            let utc = timed.to_utc(zone).with_timezone(&zone);
            let mut e = utc.date_naive();
            if utc.time() != NaiveTime::MIN {
                e = add_days(e, 1);
            }
            EventTime::Date {
                date: if e <= date { add_days(date, 1) } else { e },
            }
        }
        (timed, EventTime::Date { date }) => {
            let midnight = add_days(date, 1).and_time(NaiveTime::MIN);
            match timed {
                EventTime::Local { tz, .. } => EventTime::Local {
                    local: midnight,
                    tz,
                },
                _ => EventTime::Utc {
                    utc: local_to_utc(midnight, zone),
                },
            }
        }
        (_, end) => end,
    }
}

/// Resolves the dates of a draft and builds the event, or returns why the item is skipped.
/// `publication_hint` names the format's publication-date elements for the "no event date"
/// warning (e.g. "pubDate is the publication date").
pub(crate) fn finish(
    d: Draft,
    item: &XmlElement,
    ctx: &ParseContext,
    publication_hint: &str,
) -> Result<Event, String> {
    let mapping = ctx.mapping;
    let mapped = |name: Option<&String>| -> Option<RawTime> {
        let name = name?;
        let el = item.find_named(name)?;
        Some(RawTime {
            element: el.qname.clone(),
            value: el.text_value()?,
            tz: None,
        })
    };
    let mapped_start = mapped(mapping.and_then(|m| m.start.as_ref()));
    let times = match mapped_start {
        Some(start) => RawTimes {
            start: Some(start),
            end: mapped(mapping.and_then(|m| m.end.as_ref())),
        },
        None => [&d.ev, &d.xcal, &d.gd]
            .into_iter()
            .find(|t| t.start.is_some())
            .cloned()
            .unwrap_or_default(),
    };
    let Some(raw_start) = times.start else {
        return Err(match mapping.and_then(|m| m.start.as_deref()) {
            Some(name) => format!(
                "no event date (no <{name}> element as configured in [source.mapping] start, \
                 and no ev:startdate, xCal:dtstart or gd:when)"
            ),
            None => format!(
                "no event date ({}; set [source.mapping] start = \"<element>\" to read the date \
                 from another element)",
                publication_hint
            ),
        });
    };
    let start = parse_time(&raw_start, ctx).map_err(|m| format!("{}: {m}", raw_start.element))?;
    let end = match &times.end {
        Some(raw) => {
            let end = parse_time(raw, ctx).map_err(|m| format!("{}: {m}", raw.element))?;
            let end = fit_end(start, end, raw.tz.unwrap_or(ctx.default_tz));
            if end.to_utc(ctx.default_tz) < start.to_utc(ctx.default_tz) {
                return Err(format!("{} is before {}", raw.element, raw_start.element));
            }
            end
        }
        None => default_end(&start),
    };

    let title = d
        .title
        .or(d.xcal_summary)
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let link = d.link.or(d.xcal_url).map(|l| absolute(&l, ctx));
    let uid =
        d.id.or(d.about)
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .or_else(|| link.clone())
            .unwrap_or_else(|| super::ics::fallback_uid(&start, &title));
    let description = d.content.or(d.description).or(d.xcal_description);
    Ok(Event {
        description,
        location: d.location,
        address: d.address.map(Box::new),
        geo: d.geo,
        url: link,
        categories: d.categories,
        status: d.status.unwrap_or_default(),
        organizer: d.event_organizer.or(d.author).map(Box::new),
        image: d.image.or(d.thumbnail).map(|i| absolute(&i, ctx)),
        last_modified: d.last_modified,
        created: d.created,
        ..Event::new(uid, title, start, end)
    })
}

// ---- RSS ------------------------------------------------------------------------------------------

/// What the "no event date" warning says about RSS's own date.
const RSS_HINT: &str = "pubDate is the publication date";

/// Whether an element belongs to the RSS core vocabulary (no namespace in RSS 2.0, the RSS
/// 1.0 / 0.90 namespaces in the RDF flavours).
fn is_core(el: &XmlElement, local: &str) -> bool {
    el.local == local && matches!(el.ns.as_str(), "" | NS_RSS1 | NS_RSS090)
}

/// Parses an RSS 2.0 or RSS 1.0 document.
pub fn parse(text: &str, ctx: &ParseContext) -> Result<Parsed, FormatError> {
    let root = read_document(text, "rss")?;
    let items: Vec<&XmlElement> = if root.local == "rss" && root.ns.is_empty() {
        let channel = root
            .elements()
            .find(|e| is_core(e, "channel"))
            .ok_or_else(|| FormatError::Invalid {
                format: "rss",
                message: "no <channel> element in <rss>".into(),
            })?;
        channel.elements().filter(|e| is_core(e, "item")).collect()
    } else if root.is(NS_RDF, "RDF") {
        // RSS 1.0 items are siblings of the channel; some feeds nest them anyway.
        root.elements()
            .flat_map(|e| {
                if is_core(e, "channel") {
                    e.elements().filter(|c| is_core(c, "item")).collect()
                } else {
                    vec![e]
                }
            })
            .filter(|e| is_core(e, "item"))
            .collect()
    } else {
        return Err(FormatError::Invalid {
            format: "rss",
            message: format!(
                "root element is <{}>, expected <rss> or <rdf:RDF>",
                root.qname
            ),
        });
    };
    if items.len() > MAX_ITEMS {
        return Err(FormatError::Invalid {
            format: "rss",
            message: format!("more than {MAX_ITEMS} items"),
        });
    }
    let mut out = Parsed::default();
    for (i, item) in items.into_iter().enumerate() {
        let draft = read_item(item);
        let label = draft.label(i + 1);
        match finish(draft, item, ctx, RSS_HINT) {
            Ok(ev) => out.events.push(ev),
            Err(reason) => out
                .warnings
                .push(format!("item {label}: skipped: {reason}")),
        }
    }
    Ok(out)
}

/// Collects the fields of one RSS item.
fn read_item(item: &XmlElement) -> Draft {
    let mut d = Draft {
        about: item
            .attr_ns(NS_RDF, "about")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        ..Draft::default()
    };
    for el in item.elements() {
        if read_extension(el, &mut d) {
            continue;
        }
        if el.is(NS_CONTENT, "encoded") {
            set_once(&mut d.content, el.markup());
            continue;
        }
        if !matches!(el.ns.as_str(), "" | NS_RSS1 | NS_RSS090) {
            continue;
        }
        match el.local.as_str() {
            "title" => set_once(&mut d.title, el.text_value()),
            "link" => set_once(&mut d.link, el.text_value()),
            "description" => set_once(&mut d.description, el.markup()),
            "guid" => set_once(&mut d.id, el.text_value()),
            "category" => d.categories.extend(el.text_value()),
            "author" => set_once(
                &mut d.author,
                el.text_value().and_then(|a| organizer_from_author(&a)),
            ),
            "enclosure" => {
                let is_image = el
                    .attr("type")
                    .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/"));
                if is_image {
                    set_once(&mut d.image, el.attr("url").map(str::to_string));
                }
            }
            _ => {}
        }
    }
    read_w3c_geo(item, &mut d);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use chrono_tz::Europe::Berlin;

    fn raw(v: &str) -> RawTime {
        RawTime {
            element: "x".into(),
            value: v.into(),
            tz: None,
        }
    }

    #[test]
    fn date_forms() {
        let ctx = ParseContext::new(Berlin);
        let local = |s: &str| EventTime::Local {
            local: chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
            tz: Berlin,
        };
        assert_eq!(
            parse_time(&raw("20261205T190000"), &ctx).unwrap(),
            local("2026-12-05 19:00")
        );
        assert_eq!(
            parse_time(&raw("20261205T180000Z"), &ctx).unwrap(),
            EventTime::Utc {
                utc: "2026-12-05T18:00:00Z".parse().unwrap()
            }
        );
        assert_eq!(
            parse_time(&raw("20261224"), &ctx).unwrap(),
            EventTime::Date {
                date: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()
            }
        );
        assert_eq!(
            parse_time(&raw("Sat, 05 Dec 2026 19:00:00 +0100"), &ctx).unwrap(),
            local("2026-12-05 19:00")
        );
        assert_eq!(
            parse_time(&raw(" 2026-12-05T19:00:00+01:00 "), &ctx).unwrap(),
            local("2026-12-05 19:00")
        );
        assert!(parse_time(&raw("2026129T1900"), &ctx).is_err());
        assert!(parse_time(&raw("20261305T190000"), &ctx).is_err());
    }

    #[test]
    fn ends_take_the_form_of_the_start() {
        let d = |s: &str| EventTime::Date {
            date: NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap(),
        };
        assert_eq!(
            fit_end(d("2026-12-24"), d("2026-12-24"), Berlin),
            d("2026-12-25")
        );
        assert_eq!(
            fit_end(d("2026-12-24"), d("2026-12-27"), Berlin),
            d("2026-12-27")
        );
        let start = EventTime::Local {
            local: d("2026-12-05")
                .to_utc(Berlin)
                .with_timezone(&Berlin)
                .naive_local()
                + chrono::Duration::hours(19),
            tz: Berlin,
        };
        let end = fit_end(start, d("2026-12-05"), Berlin);
        assert_eq!(end.to_utc(Berlin), d("2026-12-06").to_utc(Berlin));
    }

    #[test]
    fn tree_reader_decodes_and_resolves_namespaces() {
        let doc = r#"<?xml version="1.0"?>
<r xmlns="urn:a" xmlns:x="urn:b"><x:e x:k="1 &amp; 2" k="v">A &lt; B &#228;<![CDATA[<b>&amp;</b>]]></x:e><e/></r>"#;
        let root = read_document(doc, "rss").unwrap();
        assert!(root.is("urn:a", "r"));
        let e = root.child("urn:b", "e").unwrap();
        assert_eq!(e.qname, "x:e");
        assert_eq!(e.attr_ns("urn:b", "k"), Some("1 & 2"));
        assert_eq!(e.attr("k"), Some("v"));
        assert_eq!(e.text(), "A < B ä<b>&amp;</b>");
        assert!(root.child("urn:a", "e").is_some());
    }

    #[test]
    fn row1_row2_tree_reader_refuses_entities_depth_and_truncation() {
        let cases = [
            (
                "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>",
                "DTD entity declarations are not allowed",
            ),
            ("<r>&nbsp;</r>", "unknown entity &nbsp;"),
            ("<r a=\"&x;\"/>", "attribute a"),
            ("<r><i>", "truncated"),
            ("<r></i>", "invalid XML"),
            ("", "no root element"),
            ("<r/><r/>", "second root element"),
        ];
        for (doc, want) in cases {
            let e = read_document(doc, "rss").unwrap_err().to_string();
            assert!(e.contains(want), "{doc}: {e}");
            assert!(e.contains("at byte"), "{doc}: {e}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        let e = read_document(&deep, "rss").unwrap_err().to_string();
        assert!(e.contains("nested deeper"), "{e}");
    }

    #[test]
    fn authors() {
        let o = organizer_from_author("kultur@musterstadt.de (Kulturamt Musterstadt)").unwrap();
        assert_eq!(o.name, "Kulturamt Musterstadt");
        assert_eq!(o.email.as_deref(), Some("kultur@musterstadt.de"));
        let o = organizer_from_author("Stadtbibliothek").unwrap();
        assert_eq!((o.name.as_str(), o.email), ("Stadtbibliothek", None));
    }
}

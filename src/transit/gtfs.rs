//! GTFS static feeds: stops near a point, the lines serving them, and the last departure.
//!
//! [`Gtfs::load`] reads a folder or a `.zip` with `stops.txt`, `routes.txt`, `trips.txt`,
//! `stop_times.txt` and `calendar.txt` and/or `calendar_dates.txt`, streaming each file row by
//! row. Nothing of `stop_times.txt` is kept per row: each row adds its route to its stop's lines
//! and, when it is a departure, one 8-byte (time, route) pair to its stop and service. After the
//! file those pairs are sorted into one compact array grouped per stop and service, so the memory
//! that stays is about 8 bytes per departure plus the stops, routes and services; while loading
//! it peaks at about 16 bytes per departure plus the trip table.
//!
//! A row counts as a departure when it has a time (`departure_time`, else `arrival_time`; rows
//! without either are untimed intermediate stops), passengers may board (`pickup_type` is not
//! `1`) and it is not the trip's last stop (highest `stop_sequence`), where a trip only arrives.
//!
//! What is tolerated: a UTF-8 BOM, quoted fields with commas or quotes, CRLF line ends, spaces
//! around fields, missing optional files and columns, stops without coordinates (skipped; GTFS
//! allows them for generic nodes and boarding areas), rows that refer to unknown trips, routes or
//! stops (skipped and counted in [`GtfsStats`]). What is an error naming file, line and column:
//! a missing required file or column, an empty id, and malformed numbers, coordinates, dates and
//! times.
//!
//! GTFS times count from "noon minus 12 hours" of the service day and may exceed `24:00:00` for
//! trips after midnight. This module counts them from midnight of the service day, which differs
//! by one hour only on the two daylight-saving changeover days.

use super::{PointIndex, Result, TransitError, walk_minutes};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};
use csv::ByteRecord;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

const STOPS: &str = "stops.txt";
const ROUTES: &str = "routes.txt";
const TRIPS: &str = "trips.txt";
const STOP_TIMES: &str = "stop_times.txt";
const CALENDAR: &str = "calendar.txt";
const CALENDAR_DATES: &str = "calendar_dates.txt";

/// Seconds in a day.
const DAY: i64 = 86_400;

/// A coarse transport mode, from GTFS `route_type` (basic and extended types).
///
/// The variants are ordered for presentation: rail before subway, tram, bus, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Rail,
    Subway,
    Monorail,
    Tram,
    Bus,
    Trolleybus,
    Ferry,
    CableTram,
    AerialLift,
    Funicular,
    Air,
    Taxi,
    Other,
}

impl Mode {
    /// The mode of a GTFS `route_type`: the basic types 0–7, 11 and 12, and the extended
    /// (Hierarchical Vehicle Type) ranges 100–1799 mapped to their coarse mode.
    pub fn from_route_type(route_type: u16) -> Mode {
        match route_type {
            0 => Mode::Tram,
            1 => Mode::Subway,
            2 => Mode::Rail,
            3 => Mode::Bus,
            4 => Mode::Ferry,
            5 => Mode::CableTram,
            6 => Mode::AerialLift,
            7 => Mode::Funicular,
            11 => Mode::Trolleybus,
            12 => Mode::Monorail,
            // Railway, coach, suburban railway.
            100..=199 | 300..=399 => Mode::Rail,
            200..=299 => Mode::Bus,
            405 => Mode::Monorail,
            // Urban railway, metro, underground.
            400..=699 => Mode::Subway,
            700..=799 => Mode::Bus,
            800..=899 => Mode::Trolleybus,
            900..=999 => Mode::Tram,
            1000..=1099 | 1200..=1299 => Mode::Ferry,
            1100..=1199 => Mode::Air,
            1300..=1399 => Mode::AerialLift,
            1400..=1499 => Mode::Funicular,
            1500..=1599 => Mode::Taxi,
            _ => Mode::Other,
        }
    }

    /// The lowercase name used in output (`tram`, `subway`, `rail`, `bus`, `ferry`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Rail => "rail",
            Mode::Subway => "subway",
            Mode::Monorail => "monorail",
            Mode::Tram => "tram",
            Mode::Bus => "bus",
            Mode::Trolleybus => "trolleybus",
            Mode::Ferry => "ferry",
            Mode::CableTram => "cable_tram",
            Mode::AerialLift => "aerial_lift",
            Mode::Funicular => "funicular",
            Mode::Air => "air",
            Mode::Taxi => "taxi",
            Mode::Other => "other",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line serving a stop: its public name and mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Line {
    /// `route_short_name`, else `route_long_name`, else `route_id`.
    pub short_name: String,
    pub mode: Mode,
}

/// A stop within the search radius.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StopHit {
    pub stop_id: String,
    /// `stop_name`, else the parent station's name.
    pub name: String,
    /// Straight-line (great-circle) distance in metres.
    pub distance_m: f64,
    /// Estimated walk in minutes, rounded up (see [`walk_minutes`]).
    pub walk_min: u32,
    /// The lines calling at the stop, by mode and then name.
    pub lines: Vec<Line>,
}

/// The last departure from a stop on a day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastDeparture {
    /// The service day the departure belongs to.
    pub service_date: NaiveDate,
    /// GTFS time of day on the service day in seconds; may exceed 24 h.
    pub seconds: u32,
    pub line: Line,
}

impl LastDeparture {
    /// The local date and time of the departure.
    pub fn at(&self) -> NaiveDateTime {
        self.service_date.and_time(NaiveTime::MIN) + TimeDelta::seconds(i64::from(self.seconds))
    }

    /// The clock time of the departure (after midnight for times past 24:00:00).
    pub fn time(&self) -> NaiveTime {
        self.at().time()
    }
}

/// Counts from loading, for logs and checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GtfsStats {
    /// Stops in the spatial index (`location_type` 0 or empty, with coordinates).
    pub stops: usize,
    /// Parent stations (`location_type` 1).
    pub stations: usize,
    /// Rows of `stops.txt` skipped for lack of coordinates.
    pub stops_without_coordinates: usize,
    pub routes: usize,
    pub services: usize,
    pub trips: usize,
    /// Rows of `stop_times.txt` read.
    pub stop_times: usize,
    /// Departures kept (per stop, service, time and route).
    pub departures: usize,
    /// Rows of `trips.txt` and `stop_times.txt` skipped for an unknown route, trip or stop.
    pub skipped_references: usize,
}

#[derive(Debug, Clone)]
struct StopRec {
    id: Box<str>,
    name: Box<str>,
    /// Route indices, sorted for presentation, one per distinct [`Line`].
    lines: Vec<u32>,
}

#[derive(Debug, Clone)]
struct RouteRec {
    line: Line,
}

#[derive(Debug, Clone, Default)]
struct ServiceRec {
    id: Box<str>,
    /// `calendar.txt`: weekday bits (Monday = bit 0) and the date range.
    weekly: Option<(u8, NaiveDate, NaiveDate)>,
    /// `calendar_dates.txt`, sorted.
    added: Vec<NaiveDate>,
    removed: Vec<NaiveDate>,
}

impl ServiceRec {
    fn active_on(&self, date: NaiveDate) -> bool {
        if self.removed.binary_search(&date).is_ok() {
            return false;
        }
        if self.added.binary_search(&date).is_ok() {
            return true;
        }
        match self.weekly {
            Some((days, start, end)) => {
                start <= date
                    && date <= end
                    && days & (1 << date.weekday().num_days_from_monday()) != 0
            }
            None => false,
        }
    }
}

/// One stop's departures for one service: `departures[start..end]`, sorted by time.
#[derive(Debug, Clone, Copy)]
struct Group {
    service: u32,
    start: u32,
    end: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Departure {
    secs: u32,
    route: u32,
}

/// A loaded GTFS feed: stops with a spatial index, their lines and departures.
pub struct Gtfs {
    stops: Vec<StopRec>,
    stop_ids: HashMap<Box<[u8]>, u32>,
    routes: Vec<RouteRec>,
    services: Vec<ServiceRec>,
    service_ids: HashMap<Box<[u8]>, u32>,
    /// Stop `i`'s groups are `groups[group_start[i]..group_start[i + 1]]`.
    group_start: Vec<u32>,
    groups: Vec<Group>,
    departures: Vec<Departure>,
    index: PointIndex,
    stats: GtfsStats,
}

impl fmt::Debug for Gtfs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gtfs")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Gtfs {
    /// Loads a GTFS feed from a folder or a `.zip` file (the `.txt` files may sit in the
    /// archive's root or in one folder).
    pub fn load(path: &Path) -> Result<Gtfs> {
        if path.is_dir() {
            return load_from(&mut DirSource {
                dir: path.to_path_buf(),
            });
        }
        let file = File::open(path).map_err(|source| TransitError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Gtfs::from_zip(file, path)
    }

    /// Loads a GTFS feed from a zip archive in any seekable reader (e.g. fetched bytes in a
    /// `Cursor`); `label` names it in errors.
    pub fn from_zip<R: Read + Seek>(reader: R, label: &Path) -> Result<Gtfs> {
        let label = label.to_path_buf();
        let archive = zip::ZipArchive::new(reader).map_err(|source| TransitError::Zip {
            path: label.clone(),
            source,
        })?;
        let mut names: HashMap<String, String> = HashMap::new();
        for name in archive.file_names() {
            let Ok(name) = name else { continue };
            let base = name.rsplit('/').next().unwrap_or(&name).to_owned();
            let shallower = names
                .get(&base)
                .is_none_or(|known| known.len() > name.len());
            if base.ends_with(".txt") && shallower {
                names.insert(base, name.into_owned());
            }
        }
        load_from(&mut ZipSource {
            archive,
            names,
            label,
        })
    }

    /// Counts from loading.
    pub fn stats(&self) -> &GtfsStats {
        &self.stats
    }

    /// Stops within `radius_m` metres of (`lat`, `lon`), nearest first (equal distances by
    /// position in `stops.txt`), at most `max`.
    pub fn nearest(&self, lat: f64, lon: f64, radius_m: f64, max: usize) -> Vec<StopHit> {
        self.index
            .within(lat, lon, radius_m, max)
            .into_iter()
            .filter_map(|(i, distance_m)| {
                let stop = self.stops.get(i as usize)?;
                Some(StopHit {
                    stop_id: stop.id.to_string(),
                    name: stop.name.to_string(),
                    distance_m,
                    walk_min: walk_minutes(distance_m),
                    lines: self.lines_of(stop),
                })
            })
            .collect()
    }

    /// The lines calling at a stop (empty for an unknown stop).
    pub fn lines(&self, stop_id: &str) -> Vec<Line> {
        self.stop_ids
            .get(stop_id.as_bytes())
            .and_then(|&i| self.stops.get(i as usize))
            .map(|stop| self.lines_of(stop))
            .unwrap_or_default()
    }

    fn lines_of(&self, stop: &StopRec) -> Vec<Line> {
        stop.lines
            .iter()
            .filter_map(|&r| self.routes.get(r as usize).map(|route| route.line.clone()))
            .collect()
    }

    /// Whether a service (`service_id`) runs on `date` per `calendar.txt` and the exceptions
    /// of `calendar_dates.txt` (which win).
    pub fn service_active(&self, service_id: &str, date: NaiveDate) -> bool {
        self.service_ids
            .get(service_id.as_bytes())
            .and_then(|&s| self.services.get(s as usize))
            .is_some_and(|service| service.active_on(date))
    }

    /// The ids of the services running on `date`, sorted.
    pub fn services_on(&self, date: NaiveDate) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .services
            .iter()
            .filter(|s| s.active_on(date))
            .map(|s| &*s.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The latest departure from `stop_id` at or after `after` on `date`.
    ///
    /// Candidates are the departures of the services running on `date` at or after `after`
    /// (including those past 24:00:00, i.e. after midnight), and the departures past 24:00:00 of
    /// the services running on the day before that fall at or after `after` on `date`. The
    /// latest in real time wins. `None` when nothing leaves the stop in that window.
    pub fn last_departure(
        &self,
        stop_id: &str,
        date: NaiveDate,
        after: NaiveTime,
    ) -> Option<LastDeparture> {
        let stop = *self.stop_ids.get(stop_id.as_bytes())? as usize;
        let groups = self.groups_of(stop);
        let after = i64::from(after.num_seconds_from_midnight());
        let mut best: Option<(i64, NaiveDate, Departure)> = None;
        let days = [(date, 0), (date.pred_opt().unwrap_or(date), -DAY)];
        for (service_date, offset) in days {
            if offset != 0 && service_date == date {
                continue;
            }
            for group in groups {
                let active = self
                    .services
                    .get(group.service as usize)
                    .is_some_and(|s| s.active_on(service_date));
                // Departures are sorted by time within a group: the last is the latest.
                let last = group
                    .end
                    .checked_sub(1)
                    .filter(|&i| active && i >= group.start)
                    .and_then(|i| self.departures.get(i as usize));
                let Some(&last) = last else { continue };
                let real = i64::from(last.secs) + offset;
                if real >= after && best.is_none_or(|(b, _, _)| real > b) {
                    best = Some((real, service_date, last));
                }
            }
        }
        let (_, service_date, departure) = best?;
        let line = self.routes.get(departure.route as usize)?.line.clone();
        Some(LastDeparture {
            service_date,
            seconds: departure.secs,
            line,
        })
    }

    fn groups_of(&self, stop: usize) -> &[Group] {
        let start = self.group_start.get(stop).copied().unwrap_or(0) as usize;
        let end = self.group_start.get(stop + 1).copied().unwrap_or(0) as usize;
        self.groups.get(start..end).unwrap_or(&[])
    }

    /// Number of stops in the spatial index.
    pub fn stop_count(&self) -> usize {
        self.index.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading files

/// Where the `.txt` files come from.
trait Source {
    /// Opens a member; `None` when it does not exist.
    fn open(&mut self, file: &'static str) -> Result<Option<Box<dyn Read + '_>>>;
    fn label(&self) -> &Path;
}

struct DirSource {
    dir: PathBuf,
}

impl Source for DirSource {
    fn open(&mut self, file: &'static str) -> Result<Option<Box<dyn Read + '_>>> {
        let path = self.dir.join(file);
        match File::open(&path) {
            Ok(f) => Ok(Some(Box::new(f))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TransitError::Io { path, source }),
        }
    }

    fn label(&self) -> &Path {
        &self.dir
    }
}

struct ZipSource<R> {
    archive: zip::ZipArchive<R>,
    /// Base name -> member name.
    names: HashMap<String, String>,
    label: PathBuf,
}

impl<R: Read + Seek> Source for ZipSource<R> {
    fn open(&mut self, file: &'static str) -> Result<Option<Box<dyn Read + '_>>> {
        let Some(name) = self.names.get(file) else {
            return Ok(None);
        };
        match self.archive.by_name(name) {
            Ok(member) => Ok(Some(Box::new(member))),
            Err(source) => Err(TransitError::Zip {
                path: self.label.join(file),
                source,
            }),
        }
    }

    fn label(&self) -> &Path {
        &self.label
    }
}

/// One CSV file being read row by row into a reused record.
struct Table<'a> {
    file: &'static str,
    reader: csv::Reader<Box<dyn Read + 'a>>,
    headers: ByteRecord,
    record: ByteRecord,
}

impl<'a> Table<'a> {
    fn new(file: &'static str, input: Box<dyn Read + 'a>) -> Result<Table<'a>> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            // Records end at LF only: a CR before it is trimmed as whitespace. (With the default
            // CRLF terminator csv reports every row of a CRLF file one line too early.)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(64 * 1024)
            .from_reader(input);
        let headers = reader
            .byte_headers()
            .map_err(|source| TransitError::Csv {
                file,
                line: 1,
                source,
            })?
            .clone();
        Ok(Table {
            file,
            reader,
            headers,
            record: ByteRecord::new(),
        })
    }

    fn optional(&self, column: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == column.as_bytes())
    }

    fn required(&self, column: &'static str) -> Result<usize> {
        self.optional(column).ok_or(TransitError::MissingColumn {
            file: self.file,
            column,
        })
    }

    /// Reads the next row, skipping blank ones; `false` at the end.
    fn next(&mut self) -> Result<bool> {
        loop {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|source| TransitError::Csv {
                    file: self.file,
                    line: source
                        .position()
                        .map_or_else(|| self.line() + 1, |p| p.line()),
                    source,
                })?;
            // A line of only a CR or spaces reads as one empty field.
            if !more || self.record.iter().any(|f| !f.is_empty()) {
                return Ok(more);
            }
        }
    }

    fn line(&self) -> u64 {
        self.record.position().map_or(0, |p| p.line())
    }

    /// The field in `column` (empty when the row is short).
    fn get(&self, column: usize) -> &[u8] {
        self.record.get(column).unwrap_or_default()
    }

    fn get_opt(&self, column: Option<usize>) -> &[u8] {
        column.map_or(&[][..], |c| self.get(c))
    }

    fn bad(&self, column: &'static str, reason: impl Into<String>) -> TransitError {
        TransitError::BadValue {
            file: self.file,
            line: self.line(),
            column,
            reason: reason.into(),
        }
    }

    /// A required, non-empty id.
    fn id(&self, index: usize, column: &'static str) -> Result<&[u8]> {
        let value = self.get(index);
        if value.is_empty() {
            return Err(self.bad(column, "empty value"));
        }
        Ok(value)
    }

    fn parse<T: std::str::FromStr>(
        &self,
        index: usize,
        column: &'static str,
        what: &str,
    ) -> Result<T> {
        let value = self.get(index);
        std::str::from_utf8(value)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.bad(column, format!("expected {what}, got {:?}", lossy(value))))
    }

    fn date(&self, index: usize, column: &'static str) -> Result<NaiveDate> {
        let value = self.get(index);
        parse_date(value).ok_or_else(|| {
            self.bad(
                column,
                format!("expected a date YYYYMMDD, got {:?}", lossy(value)),
            )
        })
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn text(bytes: &[u8]) -> Box<str> {
    String::from_utf8_lossy(bytes).into()
}

/// `YYYYMMDD`.
fn parse_date(value: &[u8]) -> Option<NaiveDate> {
    if value.len() != 8 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        value[range]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let year = i32::try_from(number(0..4)).ok()?;
    NaiveDate::from_ymd_opt(year, number(4..6), number(6..8))
}

/// `H:MM:SS` or `HH:MM:SS`, hours possibly past 24, as seconds.
fn parse_time(value: &[u8]) -> Option<u32> {
    let mut parts = value.split(|&b| b == b':');
    let mut field = |max_len: usize| {
        let part = parts.next()?;
        if part.is_empty() || part.len() > max_len || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (h, m, s) = (field(3)?, field(2)?, field(2)?);
    if parts.next().is_some() || m > 59 || s > 59 {
        return None;
    }
    Some(h * 3600 + m * 60 + s)
}

fn open_required<'s>(source: &'s mut dyn Source, file: &'static str) -> Result<Table<'s>> {
    let feed = source.label().to_path_buf();
    match source.open(file)? {
        Some(input) => Table::new(file, input),
        None => Err(TransitError::MissingFile { feed, file }),
    }
}

fn open_optional<'s>(source: &'s mut dyn Source, file: &'static str) -> Result<Option<Table<'s>>> {
    match source.open(file)? {
        Some(input) => Ok(Some(Table::new(file, input)?)),
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Loading

fn load_from(source: &mut dyn Source) -> Result<Gtfs> {
    let mut stats = GtfsStats::default();
    let StopTable {
        mut stops,
        ids: stop_ids,
        coords,
    } = read_stops(source, &mut stats)?;
    let (routes, route_ids) = read_routes(source)?;
    let (mut services, mut service_ids) = read_calendars(source)?;
    let mut trips = read_trips(
        source,
        &route_ids,
        &mut services,
        &mut service_ids,
        &mut stats,
    )?;
    let entries = read_stop_times(source, &stop_ids, &mut trips, &mut stops, &mut stats)?;
    drop(trips);

    // Lines per stop: sorted for presentation, one route per distinct line.
    for stop in &mut stops {
        stop.lines.sort_by(|&a, &b| {
            let (a, b) = (&routes[a as usize].line, &routes[b as usize].line);
            (a.mode, a.short_name.len(), &a.short_name).cmp(&(
                b.mode,
                b.short_name.len(),
                &b.short_name,
            ))
        });
        stop.lines
            .dedup_by(|a, b| routes[*a as usize].line == routes[*b as usize].line);
        stop.lines.shrink_to_fit();
    }

    let (group_start, groups, departures) = build_groups(entries, stops.len());
    stats.stops = stops.len();
    stats.routes = routes.len();
    stats.services = services.len();
    stats.departures = departures.len();
    Ok(Gtfs {
        index: PointIndex::new(coords),
        stops,
        stop_ids,
        routes,
        services,
        service_ids,
        group_start,
        groups,
        departures,
        stats,
    })
}

type Ids = HashMap<Box<[u8]>, u32>;

/// The indexed stops, their ids and their (latitude, longitude).
struct StopTable {
    stops: Vec<StopRec>,
    ids: Ids,
    coords: Vec<(f64, f64)>,
}

fn index_u32(len: usize, file: &'static str) -> Result<u32> {
    u32::try_from(len).map_err(|_| TransitError::BadValue {
        file,
        line: 0,
        column: "",
        reason: "too many rows".into(),
    })
}

fn read_stops(source: &mut dyn Source, stats: &mut GtfsStats) -> Result<StopTable> {
    let mut table = open_required(source, STOPS)?;
    let c_id = table.required("stop_id")?;
    let c_lat = table.required("stop_lat")?;
    let c_lon = table.required("stop_lon")?;
    let c_name = table.optional("stop_name");
    let c_type = table.optional("location_type");
    let c_parent = table.optional("parent_station");

    let mut stops = Vec::new();
    let mut coords = Vec::new();
    let mut ids: Ids = HashMap::new();
    let mut station_names: HashMap<Box<[u8]>, Box<str>> = HashMap::new();
    let mut seen: std::collections::HashSet<Box<[u8]>> = std::collections::HashSet::new();
    // Stops with an empty name and a parent station: (stop index, parent id).
    let mut unnamed: Vec<(usize, Box<[u8]>)> = Vec::new();

    while table.next()? {
        let id = table.id(c_id, "stop_id")?;
        if !seen.insert(id.into()) {
            return Err(table.bad("stop_id", format!("duplicate stop_id {:?}", lossy(id))));
        }
        let location_type = match c_type {
            Some(c) if !table.get(c).is_empty() => {
                let t: u8 = table.parse(c, "location_type", "a location type 0-4")?;
                if t > 4 {
                    return Err(table.bad("location_type", format!("expected 0-4, got {t}")));
                }
                t
            }
            _ => 0,
        };
        let name = table.get_opt(c_name);
        if location_type == 1 {
            stats.stations += 1;
            station_names.insert(id.into(), text(name));
        }
        if location_type != 0 {
            continue;
        }
        if table.get(c_lat).is_empty() || table.get(c_lon).is_empty() {
            stats.stops_without_coordinates += 1;
            continue;
        }
        let lat: f64 = table.parse(c_lat, "stop_lat", "a latitude")?;
        let lon: f64 = table.parse(c_lon, "stop_lon", "a longitude")?;
        if !(-90.0..=90.0).contains(&lat) {
            return Err(table.bad("stop_lat", format!("latitude {lat} out of range")));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(table.bad("stop_lon", format!("longitude {lon} out of range")));
        }
        let parent = table.get_opt(c_parent);
        if name.is_empty() && !parent.is_empty() {
            unnamed.push((stops.len(), parent.into()));
        }
        ids.insert(id.into(), index_u32(stops.len(), STOPS)?);
        stops.push(StopRec {
            id: text(id),
            name: text(name),
            lines: Vec::new(),
        });
        coords.push((lat, lon));
    }
    for (i, parent) in unnamed {
        if let (Some(name), Some(stop)) = (station_names.get(&parent), stops.get_mut(i)) {
            stop.name = name.clone();
        }
    }
    Ok(StopTable { stops, ids, coords })
}

fn read_routes(source: &mut dyn Source) -> Result<(Vec<RouteRec>, Ids)> {
    let mut table = open_required(source, ROUTES)?;
    let c_id = table.required("route_id")?;
    let c_type = table.required("route_type")?;
    let c_short = table.optional("route_short_name");
    let c_long = table.optional("route_long_name");
    let mut routes = Vec::new();
    let mut ids: Ids = HashMap::new();
    while table.next()? {
        let id = table.id(c_id, "route_id")?;
        let route_type: u16 = table.parse(c_type, "route_type", "a route type number")?;
        let short = table.get_opt(c_short);
        let long = table.get_opt(c_long);
        let name = [short, long, id]
            .into_iter()
            .find(|n| !n.is_empty())
            .unwrap_or(id);
        let index = index_u32(routes.len(), ROUTES)?;
        if ids.insert(id.into(), index).is_some() {
            return Err(table.bad("route_id", format!("duplicate route_id {:?}", lossy(id))));
        }
        routes.push(RouteRec {
            line: Line {
                short_name: lossy(name),
                mode: Mode::from_route_type(route_type),
            },
        });
    }
    Ok((routes, ids))
}

fn service_index(
    id: &[u8],
    services: &mut Vec<ServiceRec>,
    ids: &mut Ids,
    file: &'static str,
) -> Result<u32> {
    if let Some(&i) = ids.get(id) {
        return Ok(i);
    }
    let i = index_u32(services.len(), file)?;
    ids.insert(id.into(), i);
    services.push(ServiceRec {
        id: text(id),
        ..ServiceRec::default()
    });
    Ok(i)
}

fn read_calendars(source: &mut dyn Source) -> Result<(Vec<ServiceRec>, Ids)> {
    let mut services = Vec::new();
    let mut ids: Ids = HashMap::new();
    let mut found = false;
    if let Some(mut table) = open_optional(source, CALENDAR)? {
        found = true;
        const DAYS: [&str; 7] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        let c_id = table.required("service_id")?;
        let mut c_days = [0usize; 7];
        for (slot, day) in c_days.iter_mut().zip(DAYS) {
            *slot = table.required(day)?;
        }
        let c_start = table.required("start_date")?;
        let c_end = table.required("end_date")?;
        while table.next()? {
            let id = table.id(c_id, "service_id")?;
            let mut bits = 0u8;
            for (bit, (&c, day)) in c_days.iter().zip(DAYS).enumerate() {
                match table.get(c) {
                    b"1" => bits |= 1 << bit,
                    b"0" => {}
                    other => {
                        return Err(
                            table.bad(day, format!("expected 0 or 1, got {:?}", lossy(other)))
                        );
                    }
                }
            }
            let start = table.date(c_start, "start_date")?;
            let end = table.date(c_end, "end_date")?;
            let i = service_index(id, &mut services, &mut ids, CALENDAR)?;
            if let Some(service) = services.get_mut(i as usize) {
                service.weekly = Some((bits, start, end));
            }
        }
    }
    if let Some(mut table) = open_optional(source, CALENDAR_DATES)? {
        found = true;
        let c_id = table.required("service_id")?;
        let c_date = table.required("date")?;
        let c_type = table.required("exception_type")?;
        while table.next()? {
            let id = table.id(c_id, "service_id")?;
            let date = table.date(c_date, "date")?;
            let added = match table.get(c_type) {
                b"1" => true,
                b"2" => false,
                other => {
                    return Err(table.bad(
                        "exception_type",
                        format!("expected 1 or 2, got {:?}", lossy(other)),
                    ));
                }
            };
            let i = service_index(id, &mut services, &mut ids, CALENDAR_DATES)?;
            if let Some(service) = services.get_mut(i as usize) {
                if added {
                    service.added.push(date);
                } else {
                    service.removed.push(date);
                }
            }
        }
    }
    if !found {
        return Err(TransitError::MissingFile {
            feed: source.label().to_path_buf(),
            file: "calendar.txt (or calendar_dates.txt)",
        });
    }
    for service in &mut services {
        service.added.sort_unstable();
        service.added.dedup();
        service.removed.sort_unstable();
        service.removed.dedup();
    }
    Ok((services, ids))
}

/// A trip while `stop_times.txt` is read.
struct TripRec {
    route: u32,
    service: u32,
    /// Highest `stop_sequence` seen so far and the entry it produced (`NO_ENTRY` if none).
    last_seq: u32,
    last_entry: u32,
}

const NO_ENTRY: u32 = u32::MAX;

fn read_trips(
    source: &mut dyn Source,
    route_ids: &Ids,
    services: &mut Vec<ServiceRec>,
    service_ids: &mut Ids,
    stats: &mut GtfsStats,
) -> Result<HashMap<Box<[u8]>, TripRec>> {
    let mut table = open_required(source, TRIPS)?;
    let c_route = table.required("route_id")?;
    let c_service = table.required("service_id")?;
    let c_trip = table.required("trip_id")?;
    let mut trips = HashMap::new();
    while table.next()? {
        let trip = table.id(c_trip, "trip_id")?;
        let route = table.id(c_route, "route_id")?;
        let service = table.id(c_service, "service_id")?;
        let Some(&route) = route_ids.get(route) else {
            stats.skipped_references += 1;
            continue;
        };
        // A service only in trips.txt never runs, but keeps its id known.
        let service = service_index(service, services, service_ids, TRIPS)?;
        let rec = TripRec {
            route,
            service,
            last_seq: 0,
            last_entry: NO_ENTRY,
        };
        if trips.insert(trip.into(), rec).is_some() {
            return Err(table.bad("trip_id", format!("duplicate trip_id {:?}", lossy(trip))));
        }
    }
    stats.trips = trips.len();
    Ok(trips)
}

/// A departure while loading.
#[derive(Clone, Copy)]
struct Entry {
    stop: u32,
    service: u32,
    dep: Departure,
}

fn read_stop_times(
    source: &mut dyn Source,
    stop_ids: &Ids,
    trips: &mut HashMap<Box<[u8]>, TripRec>,
    stops: &mut [StopRec],
    stats: &mut GtfsStats,
) -> Result<Vec<Entry>> {
    let mut table = open_required(source, STOP_TIMES)?;
    let c_trip = table.required("trip_id")?;
    let c_stop = table.required("stop_id")?;
    let c_seq = table.required("stop_sequence")?;
    let c_dep = table.optional("departure_time");
    let c_arr = table.optional("arrival_time");
    let c_pickup = table.optional("pickup_type");
    let mut entries: Vec<Entry> = Vec::new();
    while table.next()? {
        stats.stop_times += 1;
        let trip_id = table.id(c_trip, "trip_id")?;
        let stop_id = table.id(c_stop, "stop_id")?;
        let seq: u32 = table.parse(c_seq, "stop_sequence", "a non-negative integer")?;
        let (dep, dep_column) = match table.get_opt(c_dep) {
            b"" => (table.get_opt(c_arr), "arrival_time"),
            value => (value, "departure_time"),
        };
        let secs = match dep {
            b"" => None,
            value => Some(parse_time(value).ok_or_else(|| {
                table.bad(
                    dep_column,
                    format!("expected a time HH:MM:SS, got {:?}", lossy(value)),
                )
            })?),
        };
        let (Some(trip), Some(&stop)) = (trips.get_mut(trip_id), stop_ids.get(stop_id)) else {
            stats.skipped_references += 1;
            continue;
        };
        if let Some(rec) = stops.get_mut(stop as usize)
            && !rec.lines.contains(&trip.route)
        {
            rec.lines.push(trip.route);
        }
        let boards = table.get_opt(c_pickup) != b"1";
        let entry = match secs {
            Some(secs) if boards => {
                let at = index_u32(entries.len(), STOP_TIMES)?;
                entries.push(Entry {
                    stop,
                    service: trip.service,
                    dep: Departure {
                        secs,
                        route: trip.route,
                    },
                });
                at
            }
            _ => NO_ENTRY,
        };
        if seq >= trip.last_seq {
            trip.last_seq = seq;
            trip.last_entry = entry;
        }
    }
    // A trip's last stop is where it arrives, not where anyone leaves from.
    for trip in trips.values() {
        if let Some(entry) = entries.get_mut(trip.last_entry as usize) {
            entry.dep.secs = u32::MAX;
        }
    }
    entries.retain(|e| e.dep.secs != u32::MAX);
    Ok(entries)
}

/// Sorts the entries by stop, service and time into per-stop groups of compact departures.
fn build_groups(mut entries: Vec<Entry>, stops: usize) -> (Vec<u32>, Vec<Group>, Vec<Departure>) {
    entries.sort_unstable_by_key(|e| (e.stop, e.service, e.dep));
    entries.dedup_by_key(|e| (e.stop, e.service, e.dep));
    let mut departures = Vec::with_capacity(entries.len());
    let mut groups: Vec<Group> = Vec::new();
    let mut group_start = Vec::with_capacity(stops + 1);
    let mut entries = entries.into_iter().peekable();
    for stop in 0..stops {
        // Lossless: stops and entries were counted in u32 while loading.
        let first_group = groups.len();
        group_start.push(first_group as u32);
        while let Some(e) = entries.next_if(|e| e.stop as usize == stop) {
            let at = departures.len() as u32;
            let own = groups.len() > first_group;
            match groups.last_mut() {
                Some(g) if own && g.service == e.service => g.end = at + 1,
                _ => groups.push(Group {
                    service: e.service,
                    start: at,
                    end: at + 1,
                }),
            }
            departures.push(e.dep);
        }
    }
    group_start.push(groups.len() as u32);
    groups.shrink_to_fit();
    (group_start, groups, departures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_types_map_to_modes() {
        let cases = [
            (0, Mode::Tram),
            (1, Mode::Subway),
            (2, Mode::Rail),
            (3, Mode::Bus),
            (4, Mode::Ferry),
            (5, Mode::CableTram),
            (6, Mode::AerialLift),
            (7, Mode::Funicular),
            (11, Mode::Trolleybus),
            (12, Mode::Monorail),
            (100, Mode::Rail),
            (106, Mode::Rail),
            (109, Mode::Rail),
            (200, Mode::Bus),
            (400, Mode::Subway),
            (401, Mode::Subway),
            (405, Mode::Monorail),
            (700, Mode::Bus),
            (715, Mode::Bus),
            (800, Mode::Trolleybus),
            (900, Mode::Tram),
            (1000, Mode::Ferry),
            (1100, Mode::Air),
            (1200, Mode::Ferry),
            (1300, Mode::AerialLift),
            (1400, Mode::Funicular),
            (1500, Mode::Taxi),
            (1700, Mode::Other),
            (8, Mode::Other),
            (9999, Mode::Other),
        ];
        for (route_type, mode) in cases {
            assert_eq!(
                Mode::from_route_type(route_type),
                mode,
                "route_type {route_type}"
            );
        }
        assert_eq!(Mode::AerialLift.to_string(), "aerial_lift");
        assert_eq!(serde_json::to_string(&Mode::Tram).unwrap(), "\"tram\"");
    }

    #[test]
    fn times_and_dates() {
        assert_eq!(parse_time(b"05:07:09"), Some(5 * 3600 + 7 * 60 + 9));
        assert_eq!(parse_time(b"5:07:09"), Some(5 * 3600 + 7 * 60 + 9));
        assert_eq!(parse_time(b"25:30:00"), Some(25 * 3600 + 30 * 60));
        assert_eq!(parse_time(b"24:00:00"), Some(86_400));
        for bad in [
            &b"12:60:00"[..],
            b"12:00",
            b"12:00:00:00",
            b"ab:00:00",
            b"",
            b"1:2:3x",
        ] {
            assert_eq!(parse_time(bad), None, "{:?}", lossy(bad));
        }
        assert_eq!(
            parse_date(b"20260514"),
            NaiveDate::from_ymd_opt(2026, 5, 14)
        );
        assert_eq!(parse_date(b"20260230"), None);
        assert_eq!(parse_date(b"2026-05-1"), None);
    }

    #[test]
    fn crlf_rows_with_quoted_last_fields() {
        let input = b"\xEF\xBB\xBFid , name\r\n1,\"x, \"\"y\"\"\"\r\n\r\n2, z \r\n";
        let mut table = Table::new(STOPS, Box::new(&input[..])).unwrap();
        assert_eq!(table.optional("id"), Some(0));
        assert_eq!(table.optional("name"), Some(1));
        assert!(table.next().unwrap());
        assert_eq!((table.get(1), table.line()), (&b"x, \"y\""[..], 2));
        assert!(table.next().unwrap());
        assert_eq!((table.get(1), table.line()), (&b"z"[..], 4));
        assert!(!table.next().unwrap());
    }

    #[test]
    fn service_exceptions_win() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 5, day).unwrap();
        let service = ServiceRec {
            id: "WD".into(),
            weekly: Some((0b0001_1111, d(1), d(31))),
            added: vec![d(16)],
            removed: vec![d(14)],
        };
        assert!(service.active_on(d(13))); // Wednesday
        assert!(!service.active_on(d(14))); // Thursday, removed
        assert!(!service.active_on(d(17))); // Sunday
        assert!(service.active_on(d(16))); // Saturday, added
    }
}

//! Turns the stored components of all sources into the published calendar: operator overrides
//! (fix, hide, force or forbid a merge, preferred sources) and cross-source de-duplication
//! ([`crate::dedupe`]) applied to the expanded occurrences.
//!
//! A merged event is published once, by its *carrier*: the member of the most preferred source
//! (`[[prefer]]` overrides, then `priority` of the source, then the member seen first). Its
//! fields come from the carrier and gaps are filled from the other members in the same order;
//! categories are united. The public id is the id of the member seen first, so an event keeps
//! its id when a later source announces it too; the other members' ids redirect to it. The
//! carrier's series publishes the merged fields (a single event directly, an instance of a
//! series as an override with RECURRENCE-ID); members from other series are written as EXDATE
//! of their series.

use super::Settings;
use super::{Row, Series};
use crate::dedupe::{self, Candidate};
use crate::model::{Event, EventTime, Occurrence, StoredEvent, local_to_utc, recurrence_key};
use crate::overrides::{Fix, FixTime, Overrides, Target};
use chrono_tz::Tz;
use std::collections::HashSet;

/// The pieces of a snapshot while it is assembled.
pub(super) struct Parts {
    pub events: Vec<StoredEvent>,
    pub series: Vec<Series>,
    pub rows: Vec<Row>,
}

impl Parts {
    pub fn new(events: Vec<StoredEvent>) -> Parts {
        Parts {
            events,
            series: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Applies `[[fix]]` overrides that name a whole series (source and UID) to its stored
    /// components, before expansion. Returns the overrides that matched nothing.
    pub fn fix_series(&mut self, o: &Overrides) -> Vec<String> {
        let mut unmatched = Vec::new();
        for (target, fix) in &o.fix {
            let Target::Series { source, uid } = target else {
                continue;
            };
            let mut hit = false;
            for stored in &mut self.events {
                if &stored.source == source && &stored.event.uid == uid {
                    hit = true;
                    let is_master = stored.event.recurrence_id.is_none();
                    apply_fix(&mut stored.event, fix, is_master, None);
                }
            }
            if !hit {
                unmatched.push(format!("[[fix]] {}", target.describe()));
            }
        }
        unmatched
    }

    /// Applies `[[fix]]` overrides that name one occurrence by its public id.
    pub fn fix_rows(&mut self, o: &Overrides, zone: Tz) -> Vec<String> {
        let mut unmatched = Vec::new();
        for (target, fix) in &o.fix {
            let Target::Event(id) = target else {
                continue;
            };
            let Some(ri) = self.rows.iter().position(|r| &r.own_id == id) else {
                unmatched.push(format!("[[fix]] {}", target.describe()));
                continue;
            };
            let mut ev = self.events[self.rows[ri].event].event.clone();
            let occ = self.rows[ri].occurrence.clone();
            // The copy describes this one instance.
            ev.start = occ.start;
            ev.end = occ.end;
            apply_fix(&mut ev, fix, true, Some(zone));
            let (start, end) = (ev.start, ev.end);
            self.publish_instance(ri, ev, None);
            let row = &mut self.rows[ri];
            row.occurrence = Occurrence {
                start,
                end,
                instance: occ.instance,
                start_utc: start.to_utc(zone),
                end_utc: end.to_utc(zone).max(start.to_utc(zone)),
            };
        }
        unmatched
    }

    /// Applies `[[hide]]` overrides.
    pub fn hide(&mut self, o: &Overrides) -> Vec<String> {
        let mut unmatched = Vec::new();
        for target in &o.hide {
            let mut hit = false;
            for ri in 0..self.rows.len() {
                let row = &self.rows[ri];
                let series = &self.series[row.series];
                let matches = match target {
                    Target::Event(id) => &row.own_id == id,
                    Target::Series { source, uid } => {
                        &series.source == source && &self.events[series.master].event.uid == uid
                    }
                };
                if matches {
                    hit = true;
                    self.rows[ri].hidden = true;
                    self.withhold(ri);
                }
            }
            if !hit {
                unmatched.push(format!("[[hide]] {}", target.describe()));
            }
        }
        unmatched
    }

    /// Keeps a row's instance out of its series in the ICS (EXDATE), if the series recurs.
    fn withhold(&mut self, ri: usize) {
        let row = &self.rows[ri];
        let series = &mut self.series[row.series];
        let master = &self.events[series.master].event;
        if master.is_recurring() && master.recurrence_id.is_none() {
            let key = recurrence_key(&row.occurrence.instance);
            series.overrides.retain(|&o| {
                self.events[o]
                    .event
                    .recurrence_id
                    .map(|r| recurrence_key(&r))
                    != Some(key.clone())
            });
            series.hidden_instances.push(row.occurrence.instance);
        }
    }

    /// Publishes `ev` as the fields of row `ri`: replaces a single event's component, or adds
    /// an override for one instance of a series.
    fn publish_instance(&mut self, ri: usize, mut ev: Event, stored_from: Option<StoredEvent>) {
        let row = &self.rows[ri];
        let base = &self.events[row.event];
        let series = &self.series[row.series];
        let master = &self.events[series.master].event;
        let recurring = master.is_recurring() && master.recurrence_id.is_none();
        let mut stored = stored_from.unwrap_or_else(|| base.clone());
        if recurring {
            ev.make_instance(row.occurrence.instance);
        }
        ev.uid = base.event.uid.clone();
        stored.event = ev;
        stored.source = series.source.clone();
        let idx = self.events.len();
        let old = row.event;
        self.events.push(stored);
        let series = &mut self.series[self.rows[ri].series];
        if !recurring {
            if series.master == old {
                series.master = idx;
            }
        } else if let Some(slot) = series.overrides.iter_mut().find(|o| **o == old) {
            *slot = idx;
        } else {
            series.overrides.push(idx);
        }
        self.rows[ri].event = idx;
    }

    /// Clusters the visible rows across sources and publishes each cluster once.
    pub fn dedupe(&mut self, config: Settings<'_>, zone: Tz) -> Vec<String> {
        let mut unmatched = Vec::new();
        let visible: Vec<usize> = (0..self.rows.len())
            .filter(|&i| self.rows[i].visible())
            .collect();
        // Where each visible row is among the candidates, by id: only needed to find the
        // operator's merge and separate overrides.
        let position: foldhash::HashMap<&str, usize> =
            if config.overrides.merge.is_empty() && config.overrides.separate.is_empty() {
                foldhash::HashMap::default()
            } else {
                visible
                    .iter()
                    .enumerate()
                    .map(|(k, &ri)| (self.rows[ri].own_id.as_str(), k))
                    .collect()
            };
        let mut groups = |lists: &[Vec<String>], what: &str| -> Vec<(usize, usize)> {
            let mut pairs = Vec::new();
            for ids in lists {
                let found: Vec<usize> = ids
                    .iter()
                    .filter_map(|id| position.get(id.as_str()).copied())
                    .collect();
                if found.len() < ids.len() {
                    let missing: Vec<&str> = ids
                        .iter()
                        .filter(|id| !position.contains_key(id.as_str()))
                        .map(String::as_str)
                        .collect();
                    unmatched.push(format!("[[{what}]] events {}", missing.join(", ")));
                }
                for (a, &x) in found.iter().enumerate() {
                    for &y in &found[a + 1..] {
                        pairs.push((x.min(y), x.max(y)));
                    }
                }
            }
            pairs
        };
        let forced = groups(&config.overrides.merge, "merge");
        let forbidden: HashSet<(usize, usize)> = groups(&config.overrides.separate, "separate")
            .into_iter()
            .collect();
        if !config.dedupe.enabled && forced.is_empty() {
            return unmatched;
        }
        let clusters = {
            let cands: Vec<Candidate<'_>> = visible
                .iter()
                .map(|&ri| {
                    let row = &self.rows[ri];
                    let ev = &self.events[row.event].event;
                    let occ = &row.occurrence;
                    Candidate {
                        source: &self.series[row.series].source,
                        start: occ.start_utc,
                        all_day: match occ.start {
                            EventTime::Date { date } => Some(date),
                            _ => None,
                        },
                        local_date: occ.start.date_in(zone),
                        title: &ev.title,
                        location: ev.location.as_deref(),
                        geo: ev.geo,
                    }
                })
                .collect();
            if config.dedupe.enabled {
                dedupe::cluster(
                    &cands,
                    &config.dedupe.params,
                    &config.geo.venues,
                    &forced,
                    &forbidden,
                )
            } else {
                // Only the operator's merges.
                let none = dedupe::Params {
                    threshold: 2.0,
                    ..config.dedupe.params.clone()
                };
                dedupe::cluster(&cands, &none, &config.geo.venues, &forced, &forbidden)
            }
        };
        let rank = |source: &str| -> (i64, i64) {
            let pref = config
                .overrides
                .prefer
                .iter()
                .position(|p| p == source)
                .map_or(0, |k| 1_000 - k as i64);
            let prio = config.source(source).map_or(0, |s| i64::from(s.priority));
            (-pref, -prio)
        };
        for cluster in clusters {
            let mut members: Vec<usize> = cluster.iter().map(|&k| visible[k]).collect();
            // Live members before withdrawn ones, then preference, then the oldest.
            members.sort_by_key(|&ri| {
                let row = &self.rows[ri];
                let stored = &self.events[row.event];
                let source = self.series[row.series].source.as_str();
                // The series' UID last, so one series carries all instances it shares with
                // another series.
                (
                    stored.event.withdrawn.is_some(),
                    rank(source),
                    stored.first_seen,
                    self.series[row.series].public_uid.clone(),
                )
            });
            let survivor = members
                .iter()
                .copied()
                .min_by_key(|&ri| {
                    (
                        self.events[self.rows[ri].event].first_seen,
                        self.rows[ri].own_id.clone(),
                    )
                })
                .unwrap_or(members[0]);
            let carrier = members[0];
            let (merged, provenance) = {
                let evs: Vec<&Event> = members
                    .iter()
                    .map(|&ri| &self.events[self.rows[ri].event].event)
                    .collect();
                merge_fields(&evs)
            };
            let stored = {
                let all: Vec<&StoredEvent> = members
                    .iter()
                    .map(|&ri| &self.events[self.rows[ri].event])
                    .collect();
                StoredEvent {
                    source: String::new(),
                    event: Event::new("", "", merged.start, merged.end),
                    first_seen: all.iter().map(|s| s.first_seen).min().unwrap_or_default(),
                    updated_at: all.iter().map(|s| s.updated_at).max().unwrap_or_default(),
                    // Each member's revisions, plus one per member joined (the sources'
                    // own SEQUENCE values are summed in the merged event).
                    revision: all.iter().map(|s| s.revision).sum::<u32>()
                        + u32::try_from(all.len() - 1).unwrap_or(0),
                }
            };
            let occ = self.rows[carrier].occurrence.clone();
            let mut ev = merged;
            ev.start = occ.start;
            ev.end = occ.end;
            let carrier_recurs = {
                let m = &self.events[self.series[self.rows[carrier].series].master].event;
                m.is_recurring() && m.recurrence_id.is_none()
            };
            if carrier_recurs {
                // A series keeps its own fields in the ICS (no override per merged instance);
                // the JSON shows the merged fields.
                let mut stored = stored;
                let base = &self.events[self.rows[carrier].event];
                ev.uid = base.event.uid.clone();
                ev.make_instance(occ.instance);
                stored.source = base.source.clone();
                stored.event = ev;
                self.events.push(stored);
                self.rows[carrier].event = self.events.len() - 1;
            } else {
                self.publish_instance(carrier, ev, Some(stored));
            }
            let survivor_id = self.rows[survivor].own_id.clone();
            // A single event keeps the published UID of the member seen first.
            let survivor_series = self.rows[survivor].series;
            let survivor_single = {
                let m = &self.events[self.series[survivor_series].master].event;
                !m.is_recurring()
            };
            let carrier_series = self.rows[carrier].series;
            let carrier_single = !self.events[self.series[carrier_series].master]
                .event
                .is_recurring();
            if survivor_single && carrier_single && survivor_series != carrier_series {
                self.series[carrier_series].public_uid =
                    self.series[survivor_series].public_uid.clone();
            }
            for &ri in &members[1..] {
                self.rows[ri].merged_into = Some(carrier);
                self.withhold(ri);
            }
            let row = &mut self.rows[carrier];
            row.id = survivor_id;
            row.merged = members[1..].to_vec();
            row.provenance = provenance;
        }
        unmatched
    }
}

/// Applies field corrections. `zone` is needed for new times (instance fixes only).
fn apply_fix(ev: &mut Event, fix: &Fix, times: bool, zone: Option<Tz>) {
    if let Some(t) = &fix.title {
        ev.title = t.clone();
    }
    if let Some(c) = &fix.categories {
        ev.categories = c.clone();
    }
    if let Some(l) = &fix.location {
        ev.location = Some(l.clone()).filter(|l| !l.is_empty());
    }
    if !times {
        return;
    }
    let current = ev.start;
    let to_time = |t: FixTime| match (t, zone) {
        (FixTime::Date(date), _) => EventTime::Date { date },
        (FixTime::Local(local), Some(tz)) => EventTime::Local { local, tz },
        (FixTime::Local(local), None) => match current {
            EventTime::Local { tz, .. } => EventTime::Local { local, tz },
            _ => EventTime::Utc {
                utc: local_to_utc(local, chrono_tz::UTC),
            },
        },
    };
    let old_len = ev.end.to_utc(chrono_tz::UTC) - ev.start.to_utc(chrono_tz::UTC);
    if let Some(s) = fix.start {
        let start = to_time(s);
        // Keep the length unless a new end is given.
        ev.end = match (start, ev.end) {
            (EventTime::Date { date }, EventTime::Date { .. }) => EventTime::Date {
                date: crate::model::add_days(date, old_len.num_days().max(1)),
            },
            (EventTime::Date { date }, _) => EventTime::Date {
                date: crate::model::add_days(date, 1),
            },
            (EventTime::Local { local, tz }, _) => EventTime::Local {
                local: local + old_len,
                tz,
            },
            (EventTime::Utc { utc }, _) => EventTime::Utc { utc: utc + old_len },
        };
        ev.start = start;
    }
    if let Some(e) = fix.end {
        ev.end = to_time(e);
    }
}

/// The merged fields of several components (the first wins, gaps filled in order) and, per
/// field, the index of the component that gave it.
fn merge_fields(members: &[&Event]) -> (Event, Vec<(&'static str, usize)>) {
    let mut out = members[0].clone();
    let mut prov: Vec<(&'static str, usize)> = vec![("title", 0), ("start", 0), ("status", 0)];
    macro_rules! fill {
        ($field:ident, $name:literal, $empty:expr) => {{
            let pick = members.iter().position(|m| !$empty(&m.$field));
            if let Some(k) = pick {
                out.$field = members[k].$field.clone();
                prov.push(($name, k));
            }
        }};
    }
    fill!(description, "description", Option::is_none);
    fill!(location, "location", Option::is_none);
    fill!(geo, "geo", Option::is_none);
    fill!(url, "url", Option::is_none);
    fill!(image, "image", Option::is_none);
    fill!(address, "address", Option::is_none);
    fill!(organizer, "organizer", Option::is_none);
    fill!(offers, "offers", Vec::is_empty);
    fill!(free, "free", Option::is_none);
    fill!(language, "language", Option::is_none);
    fill!(online_url, "online_url", Option::is_none);
    let mut cats: Vec<String> = Vec::new();
    for (k, m) in members.iter().enumerate() {
        for c in &m.categories {
            if !cats.iter().any(|x| x.eq_ignore_ascii_case(c)) {
                cats.push(c.clone());
                if k > 0 && !prov.iter().any(|(n, i)| *n == "categories" && *i == k) {
                    prov.push(("categories", k));
                }
            }
        }
    }
    if !members[0].categories.is_empty() {
        prov.push(("categories", 0));
    }
    out.categories = cats;
    out.sequence = members.iter().map(|m| m.sequence).sum();
    out.last_modified = members.iter().filter_map(|m| m.last_modified).max();
    out.withdrawn = members[0].withdrawn;
    (out, prov)
}

//! The two languages of the pages: German first, English by `Accept-Language` or `?lang=en`.
//!
//! Every text a resident reads is a field of [`Texts`] (one `static` per language), so a
//! template that names a missing text does not compile. Dates are written by hand in both
//! languages ("Donnerstag, 3. Dezember 2026" / "Thursday, 3 December 2026"), so no locale data
//! is needed at run time.

use chrono::{Datelike, NaiveDate, NaiveTime};

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    De,
    En,
}

impl Lang {
    /// An event's title for a page: the placeholder when it has none.
    pub fn title(self, title: &str) -> String {
        if title.is_empty() {
            self.texts().untitled.to_string()
        } else {
            title.to_string()
        }
    }

    /// The language named by `?lang=` (`de` or `en`, case-insensitive).
    pub fn from_param(v: &str) -> Option<Lang> {
        match v.trim().to_ascii_lowercase().as_str() {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header: the one of German and English with
    /// the higher weight (German on a tie, and when neither is listed).
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(header) = accept_language else {
            return Lang::De;
        };
        let (mut de, mut en) = (0.0_f32, 0.0_f32);
        for (i, part) in header.split(',').enumerate() {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q=").map(str::trim))
                .map_or(Some(1.0), |q| q.parse::<f32>().ok())
                .unwrap_or(0.0);
            // Earlier entries win ties among equal weights.
            let q = q - i as f32 * 1e-4;
            let primary = tag.split('-').next().unwrap_or("");
            match primary {
                "de" => de = de.max(q),
                "en" => en = en.max(q),
                _ => {}
            }
        }
        if en > de && en > 0.0 {
            Lang::En
        } else {
            Lang::De
        }
    }

    /// BCP 47 tag (`lang` attribute, `?lang=`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The other language.
    pub fn other(self) -> Lang {
        match self {
            Lang::De => Lang::En,
            Lang::En => Lang::De,
        }
    }

    /// The texts of this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::De => &DE,
            Lang::En => &EN,
        }
    }

    /// "3 Termine" / "3 events".
    pub fn events(self, n: usize) -> String {
        match (self, n) {
            (Lang::De, 1) => "1 Termin".into(),
            (Lang::De, n) => format!("{} Termine", group(n, '.')),
            (Lang::En, 1) => "1 event".into(),
            (Lang::En, n) => format!("{} events", group(n, ',')),
        }
    }

    /// The count line above the list: "12 Termine" or "50 von 312 Terminen".
    pub fn shown_of(self, shown: usize, total: usize) -> String {
        if shown >= total {
            return self.events(total);
        }
        match self {
            Lang::De => format!("{} von {} Terminen", group(shown, '.'), group(total, '.')),
            Lang::En => format!("{} of {} events", group(shown, ','), group(total, ',')),
        }
    }

    /// The subscribe page's note when the unfiltered calendar feeds are capped
    /// (`[calendar] feed_max_occurrences`): how far they reach and how to get more.
    pub fn feed_cut(self, until: Option<NaiveDate>, max: usize) -> String {
        match (self, until) {
            (Lang::De, Some(d)) => format!(
                "Der ganze Kalender ist zu groß für ein Abonnement: dieser Link enthält die Termine von heute bis {} (höchstens {} Termine). Wählen Sie oben Kategorien, Orte oder Veranstalter, dann enthält das Abonnement alle passenden Termine.",
                self.long_date(d),
                group(max, '.')
            ),
            (Lang::De, None) => format!(
                "Der ganze Kalender ist zu groß für ein Abonnement: dieser Link enthält die Termine ab heute (höchstens {} Termine). Wählen Sie oben Kategorien, Orte oder Veranstalter, dann enthält das Abonnement alle passenden Termine.",
                group(max, '.')
            ),
            (Lang::En, Some(d)) => format!(
                "The whole calendar is too large for a subscription: this link holds the events from today until {} (at most {} events). Choose categories, places or organisers above, and the subscription holds every matching event.",
                self.long_date(d),
                group(max, ',')
            ),
            (Lang::En, None) => format!(
                "The whole calendar is too large for a subscription: this link holds the events from today on (at most {} events). Choose categories, places or organisers above, and the subscription holds every matching event.",
                group(max, ',')
            ),
        }
    }

    /// "5 min zu Fuß" / "5 min walk".
    pub fn walk(self, minutes: u32) -> String {
        match self {
            Lang::De => format!("{minutes} min zu Fuß"),
            Lang::En => format!("{minutes} min walk"),
        }
    }

    /// The name of a transport mode ("Straßenbahn" / "Tram").
    pub fn mode(self, m: crate::transit::Mode) -> &'static str {
        use crate::transit::Mode;
        let (de, en) = match m {
            Mode::Rail => ("Zug", "Train"),
            Mode::Subway => ("U-Bahn", "Underground"),
            Mode::Tram => ("Straßenbahn", "Tram"),
            Mode::Bus | Mode::Trolleybus => ("Bus", "Bus"),
            Mode::Ferry => ("Fähre", "Ferry"),
            Mode::Monorail => ("Einschienenbahn", "Monorail"),
            Mode::CableTram | Mode::Funicular => ("Seilbahn", "Funicular"),
            Mode::AerialLift => ("Seilschwebebahn", "Cable car"),
            Mode::Air => ("Flug", "Flight"),
            Mode::Taxi => ("Rufbus/Taxi", "On-demand bus/taxi"),
            Mode::Other => ("Linie", "Line"),
        };
        match self {
            Lang::De => de,
            Lang::En => en,
        }
    }

    /// A price: "18,00 €" / "€18.00" (other currencies by their code).
    pub fn price(self, amount: f64, currency: Option<&str>) -> String {
        let cur = currency.unwrap_or("EUR");
        match (self, cur) {
            (Lang::De, "EUR") => format!("{amount:.2} €").replace('.', ","),
            (Lang::De, c) => format!("{amount:.2} {c}").replace('.', ","),
            (Lang::En, "EUR") => format!("€{amount:.2}"),
            (Lang::En, c) => format!("{c} {amount:.2}"),
        }
    }

    /// "Donnerstag, 3. Dezember 2026" / "Thursday, 3 December 2026".
    pub fn long_date(self, d: NaiveDate) -> String {
        let wd = d.weekday().num_days_from_monday() as usize;
        let m = d.month0() as usize;
        match self {
            Lang::De => format!(
                "{}, {}. {} {}",
                WEEKDAYS_DE[wd],
                d.day(),
                MONTHS_DE[m],
                d.year()
            ),
            Lang::En => format!(
                "{}, {} {} {}",
                WEEKDAYS_EN[wd],
                d.day(),
                MONTHS_EN[m],
                d.year()
            ),
        }
    }

    /// The heading of a day in the list: the long date, with "Heute"/"Morgen" in front.
    pub fn day_heading(self, d: NaiveDate, today: NaiveDate) -> String {
        let t = self.texts();
        let long = self.long_date(d);
        if d == today {
            format!("{}, {long}", t.today)
        } else if Some(d) == today.succ_opt() {
            format!("{}, {long}", t.tomorrow)
        } else {
            long
        }
    }

    /// "Do., 3. Dez." / "Thu 3 Dec" (short, for ranges).
    pub fn short_date(self, d: NaiveDate) -> String {
        let wd = d.weekday().num_days_from_monday() as usize;
        let m = d.month0() as usize;
        match self {
            Lang::De => format!(
                "{}., {}. {}",
                &WEEKDAYS_DE[wd][..2],
                d.day(),
                MONTHS_SHORT_DE[m]
            ),
            Lang::En => format!(
                "{} {} {}",
                &WEEKDAYS_EN[wd][..3],
                d.day(),
                &MONTHS_EN[m][..3]
            ),
        }
    }

    /// [`Lang::short_date`], with the year when it is not the year of `near` (the day a
    /// card is listed under): "Mo., 3. Jan. 2036" for an event that runs ten years.
    pub fn short_date_near(self, d: NaiveDate, near: NaiveDate) -> String {
        if d.year() == near.year() {
            self.short_date(d)
        } else {
            format!("{} {}", self.short_date(d), d.year())
        }
    }

    /// A point in time, compactly: "24.11.2026, 14:03" / "24 Nov 2026, 14:03".
    pub fn date_time(self, t: chrono::NaiveDateTime) -> String {
        let d = t.date();
        match self {
            Lang::De => format!("{}, {}", d.format("%d.%m.%Y"), self.time(t.time())),
            Lang::En => format!(
                "{} {} {}, {}",
                d.day(),
                &MONTHS_EN[d.month0() as usize][..3],
                d.year(),
                self.time(t.time())
            ),
        }
    }

    /// "19:00" (24-hour clock in both languages, as in German-speaking regions).
    pub fn time(self, t: NaiveTime) -> String {
        t.format("%H:%M").to_string()
    }

    /// "19:00–21:00 Uhr" / "19:00–21:00".
    pub fn time_range(self, start: NaiveTime, end: Option<NaiveTime>) -> String {
        let range = match end {
            Some(e) if e != start => format!("{}–{}", self.time(start), self.time(e)),
            _ => self.time(start),
        };
        match self {
            Lang::De => format!("{range} Uhr"),
            Lang::En => range,
        }
    }
}

/// `1234567` → `1.234.567` (German) or `1,234,567` (English).
fn group(n: usize, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

const WEEKDAYS_DE: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];
const WEEKDAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS_DE: [&str; 12] = crate::output::GERMAN_MONTHS;
const MONTHS_SHORT_DE: [&str; 12] = [
    "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez.",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Every text of the pages in one language.
pub struct Texts {
    pub skip: &'static str,
    pub nav_label: &'static str,
    pub nav_events: &'static str,
    pub nav_map: &'static str,
    pub nav_subscribe: &'static str,
    pub nav_sources: &'static str,
    /// The name of the other language, in that language (the toggle).
    pub other_language: &'static str,
    pub today: &'static str,
    pub tomorrow: &'static str,
    pub events_title: &'static str,
    pub filters: &'static str,
    pub f_from: &'static str,
    pub f_to: &'static str,
    pub f_category: &'static str,
    pub f_all_categories: &'static str,
    pub f_district: &'static str,
    pub f_all_districts: &'static str,
    pub f_venue: &'static str,
    pub f_all_venues: &'static str,
    pub f_text: &'static str,
    pub f_text_hint: &'static str,
    pub f_free: &'static str,
    pub f_transit: &'static str,
    pub f_apply: &'static str,
    pub f_reset: &'static str,
    pub view_label: &'static str,
    pub view_list: &'static str,
    pub view_map: &'static str,
    pub none: &'static str,
    pub more: &'static str,
    pub all_day: &'static str,
    pub until: &'static str,
    pub ongoing_until: &'static str,
    pub free: &'static str,
    pub cancelled: &'static str,
    pub postponed: &'static str,
    pub tentative: &'static str,
    pub recurring: &'static str,
    pub outside_region: &'static str,
    pub subscribe_title: &'static str,
    pub subscribe_intro: &'static str,
    pub subscribe_filter_all: &'static str,
    pub subscribe_filter_some: &'static str,
    pub sub_webcal: &'static str,
    pub sub_https: &'static str,
    pub sub_howto: &'static str,
    pub sub_google_h: &'static str,
    pub sub_google: &'static str,
    pub sub_apple_h: &'static str,
    pub sub_apple: &'static str,
    pub sub_outlook_h: &'static str,
    pub sub_outlook: &'static str,
    pub sub_other_h: &'static str,
    pub sub_json: &'static str,
    pub sub_atom: &'static str,
    pub sub_jsonld: &'static str,
    pub sub_embed_h: &'static str,
    pub sub_embed_intro: &'static str,
    pub sub_embed_iframe: &'static str,
    pub sub_embed_theme: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub when_h: &'static str,
    pub where_h: &'static str,
    pub description_h: &'static str,
    pub categories_h: &'static str,
    pub admission_h: &'static str,
    pub organizer_h: &'static str,
    pub more_info: &'static str,
    pub join_online: &'static str,
    pub accessibility: &'static str,
    pub venue_site: &'static str,
    pub map_of_venue: &'static str,
    pub osm_link: &'static str,
    pub getting_there_h: &'static str,
    pub stops_h: &'static str,
    pub last_departure: &'static str,
    pub journey: &'static str,
    pub bikes_h: &'static str,
    pub bike_capacity: &'static str,
    pub no_transit: &'static str,
    pub sources_h: &'static str,
    pub licence: &'static str,
    pub attribution: &'static str,
    pub at_source: &'static str,
    pub add_to_calendar: &'static str,
    pub as_json: &'static str,
    pub back: &'static str,
    pub district: &'static str,
    pub sources_title: &'static str,
    pub sources_intro: &'static str,
    pub th_source: &'static str,
    pub th_health: &'static str,
    pub th_last_fetch: &'static str,
    pub th_last_success: &'static str,
    pub th_error: &'static str,
    pub th_events: &'static str,
    pub th_warnings: &'static str,
    /// The title shown for an event its source gave none.
    pub untitled: &'static str,
    /// "{n} more" below the kept warnings (`{n}` is replaced).
    pub warnings_more: &'static str,
    pub th_licence: &'static str,
    pub th_attribution: &'static str,
    pub health_ok: &'static str,
    pub health_pending: &'static str,
    pub health_degraded: &'static str,
    pub health_failing: &'static str,
    pub health_suspect: &'static str,
    pub never: &'static str,
    pub feed_link: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub bad_request_title: &'static str,
    pub bad_request_param: &'static str,
    pub error_title: &'static str,
    pub error_text: &'static str,
    pub footer_data: &'static str,
    pub footer_api: &'static str,
    pub embed_all: &'static str,
    pub map_title: &'static str,
    pub map_label: &'static str,
    pub map_places_h: &'static str,
    pub map_without_place: &'static str,
    pub map_show_events: &'static str,
}

/// German.
pub static DE: Texts = Texts {
    skip: "Zum Inhalt springen",
    nav_label: "Hauptnavigation",
    nav_events: "Termine",
    nav_map: "Karte",
    nav_subscribe: "Abonnieren",
    nav_sources: "Quellen",
    other_language: "English",
    today: "Heute",
    tomorrow: "Morgen",
    events_title: "Veranstaltungen",
    filters: "Termine filtern",
    f_from: "Von",
    f_to: "Bis",
    f_category: "Kategorie",
    f_all_categories: "Alle Kategorien",
    f_district: "Stadtteil",
    f_all_districts: "Alle Stadtteile",
    f_venue: "Veranstaltungsort",
    f_all_venues: "Alle Orte",
    f_text: "Suche",
    f_text_hint: "Sucht in Titel, Beschreibung und Ort",
    f_free: "Nur mit freiem Eintritt",
    f_transit: "Mit Bus und Bahn erreichbar",
    f_apply: "Anzeigen",
    f_reset: "Alle Filter zurücksetzen",
    view_label: "Ansicht",
    view_list: "Liste",
    view_map: "Karte",
    none: "Für diese Auswahl gibt es keine Termine.",
    more: "Weitere Termine anzeigen",
    all_day: "ganztägig",
    until: "bis",
    ongoing_until: "läuft bis",
    free: "Eintritt frei",
    cancelled: "Abgesagt",
    postponed: "Verschoben",
    tentative: "Vorläufig",
    recurring: "Regelmäßiger Termin",
    outside_region: "außerhalb der Region",
    subscribe_title: "Kalender abonnieren",
    subscribe_intro: "Mit einem Abonnement erscheinen die Termine in Ihrer Kalender-App und bleiben von selbst aktuell.",
    subscribe_filter_all: "Dieses Abonnement enthält alle Termine.",
    subscribe_filter_some: "Dieses Abonnement enthält nur die Termine der gewählten Filter.",
    sub_webcal: "In der Kalender-App abonnieren",
    sub_https: "Kalender-Adresse",
    sub_howto: "So geht’s in Google, Apple und Outlook",
    sub_google_h: "Google Kalender",
    sub_google: "Am Computer unter calendar.google.com links neben „Weitere Kalender“ auf „+“ und dann „Per URL“ klicken, die Kalender-Adresse einfügen und „Kalender hinzufügen“ wählen. Google aktualisiert Abonnements etwa alle 12 bis 24 Stunden.",
    sub_apple_h: "Apple Kalender (iPhone, iPad, Mac)",
    sub_apple: "Den Link „In der Kalender-App abonnieren“ antippen und „Abonnieren“ bestätigen. Am Mac geht auch: Ablage → Neues Kalenderabonnement, dann die Kalender-Adresse einfügen.",
    sub_outlook_h: "Outlook",
    sub_outlook: "Outlook im Web: Kalender → „Kalender hinzufügen“ → „Aus dem Internet abonnieren“, die Kalender-Adresse einfügen. Outlook für Windows: „Kalender hinzufügen“ → „Aus dem Internet“.",
    sub_other_h: "Dieselbe Auswahl in anderen Formaten",
    sub_json: "JSON (für Portale und Apps)",
    sub_atom: "Atom-Feed (für Feedreader)",
    sub_jsonld: "schema.org JSON-LD",
    sub_embed_h: "Auf der eigenen Website zeigen",
    sub_embed_intro: "Dieses Skript zeigt die nächsten Termine der Auswahl auf Ihrer Seite; es braucht kein Framework und lässt sich mit CSS-Variablen gestalten.",
    sub_embed_iframe: "Oder als eingebettete Seite (iframe):",
    sub_embed_theme: "Farben und Schrift über CSS-Variablen, z. B.:",
    copy: "Kopieren",
    copied: "Kopiert",
    when_h: "Wann",
    where_h: "Wo",
    description_h: "Beschreibung",
    categories_h: "Kategorien",
    admission_h: "Eintritt",
    organizer_h: "Veranstalter",
    more_info: "Mehr beim Veranstalter",
    join_online: "Online teilnehmen",
    accessibility: "Barrierefreiheit",
    venue_site: "Website des Ortes",
    map_of_venue: "Karte mit dem Veranstaltungsort",
    osm_link: "Auf OpenStreetMap ansehen",
    getting_there_h: "Anreise",
    stops_h: "Haltestellen in der Nähe",
    last_departure: "Letzte Abfahrt nach Veranstaltungsende",
    journey: "Verbindung suchen",
    bikes_h: "Leihräder in der Nähe",
    bike_capacity: "Stellplätze",
    no_transit: "Keine Haltestelle in Gehweite bekannt.",
    sources_h: "Quellen",
    licence: "Lizenz",
    attribution: "Namensnennung",
    at_source: "Termin bei der Quelle",
    add_to_calendar: "In meinen Kalender (.ics)",
    as_json: "Als JSON",
    back: "Alle Termine",
    district: "Stadtteil",
    sources_title: "Quellen",
    sources_intro: "Woher die Termine kommen: jede Quelle mit ihrem Zustand, dem letzten Abruf, Fehlern, der Zahl ihrer Termine, Lizenz und Namensnennung.",
    th_source: "Quelle",
    th_health: "Zustand",
    th_last_fetch: "Letzter Abruf",
    th_last_success: "Zuletzt erfolgreich",
    th_error: "Letzter Fehler",
    th_events: "Termine",
    th_warnings: "Hinweise beim Einlesen",
    untitled: "(ohne Titel)",
    warnings_more: "… und {n} weitere (regiocal check zeigt alle)",
    th_licence: "Lizenz",
    th_attribution: "Namensnennung",
    health_ok: "in Ordnung",
    health_pending: "noch nicht abgerufen",
    health_degraded: "gestört",
    health_failing: "fällt aus",
    health_suspect: "zurückgehalten",
    never: "nie",
    feed_link: "Feed",
    not_found_title: "Nicht gefunden",
    not_found_text: "Diese Seite oder diesen Termin gibt es nicht (mehr). Vielleicht ist er vorbei oder wurde aus dem Kalender genommen.",
    bad_request_title: "Ungültige Angabe",
    bad_request_param: "Ungültiger Wert für",
    error_title: "Fehler",
    error_text: "Die Seite konnte nicht erstellt werden.",
    footer_data: "Die Termine stammen von den genannten Quellen und stehen unter deren Lizenzen.",
    footer_api: "Offene Daten: API-Beschreibung",
    embed_all: "Alle Termine",
    map_title: "Karte",
    map_label: "Karte der Veranstaltungsorte",
    map_places_h: "Orte mit Terminen",
    map_without_place: "ohne Ortsangabe (nicht auf der Karte)",
    map_show_events: "Termine anzeigen",
};

/// English.
pub static EN: Texts = Texts {
    skip: "Skip to content",
    nav_label: "Main navigation",
    nav_events: "Events",
    nav_map: "Map",
    nav_subscribe: "Subscribe",
    nav_sources: "Sources",
    other_language: "Deutsch",
    today: "Today",
    tomorrow: "Tomorrow",
    events_title: "Events",
    filters: "Filter events",
    f_from: "From",
    f_to: "To",
    f_category: "Category",
    f_all_categories: "All categories",
    f_district: "District",
    f_all_districts: "All districts",
    f_venue: "Venue",
    f_all_venues: "All venues",
    f_text: "Search",
    f_text_hint: "Searches title, description and place",
    f_free: "Free admission only",
    f_transit: "Reachable by public transport",
    f_apply: "Show",
    f_reset: "Reset all filters",
    view_label: "View",
    view_list: "List",
    view_map: "Map",
    none: "No events match this selection.",
    more: "Show more events",
    all_day: "all day",
    until: "until",
    ongoing_until: "runs until",
    free: "Free admission",
    cancelled: "Cancelled",
    postponed: "Postponed",
    tentative: "Tentative",
    recurring: "Recurring event",
    outside_region: "outside the region",
    subscribe_title: "Subscribe to the calendar",
    subscribe_intro: "With a subscription the events appear in your calendar app and stay up to date by themselves.",
    subscribe_filter_all: "This subscription contains all events.",
    subscribe_filter_some: "This subscription contains only the events of the chosen filters.",
    sub_webcal: "Subscribe in your calendar app",
    sub_https: "Calendar address",
    sub_howto: "How to subscribe in Google, Apple and Outlook",
    sub_google_h: "Google Calendar",
    sub_google: "On a computer at calendar.google.com, click “+” next to “Other calendars”, then “From URL”, paste the calendar address and choose “Add calendar”. Google refreshes subscriptions about every 12 to 24 hours.",
    sub_apple_h: "Apple Calendar (iPhone, iPad, Mac)",
    sub_apple: "Tap the link “Subscribe in your calendar app” and confirm “Subscribe”. On a Mac you can also use File → New Calendar Subscription and paste the calendar address.",
    sub_outlook_h: "Outlook",
    sub_outlook: "Outlook on the web: Calendar → “Add calendar” → “Subscribe from web”, paste the calendar address. Outlook for Windows: “Add calendar” → “From Internet”.",
    sub_other_h: "The same selection in other formats",
    sub_json: "JSON (for portals and apps)",
    sub_atom: "Atom feed (for feed readers)",
    sub_jsonld: "schema.org JSON-LD",
    sub_embed_h: "Show on your own website",
    sub_embed_intro: "This script shows the next events of the selection on your page; it needs no framework and can be styled with CSS variables.",
    sub_embed_iframe: "Or as an embedded page (iframe):",
    sub_embed_theme: "Colours and font through CSS variables, e.g.:",
    copy: "Copy",
    copied: "Copied",
    when_h: "When",
    where_h: "Where",
    description_h: "Description",
    categories_h: "Categories",
    admission_h: "Admission",
    organizer_h: "Organiser",
    more_info: "More from the organiser",
    join_online: "Join online",
    accessibility: "Accessibility",
    venue_site: "Venue website",
    map_of_venue: "Map showing the venue",
    osm_link: "View on OpenStreetMap",
    getting_there_h: "Getting there",
    stops_h: "Stops nearby",
    last_departure: "Last departure after the event",
    journey: "Plan your journey",
    bikes_h: "Bike sharing nearby",
    bike_capacity: "docks",
    no_transit: "No stop known within walking distance.",
    sources_h: "Sources",
    licence: "Licence",
    attribution: "Attribution",
    at_source: "Event at the source",
    add_to_calendar: "Add to my calendar (.ics)",
    as_json: "As JSON",
    back: "All events",
    district: "District",
    sources_title: "Sources",
    sources_intro: "Where the events come from: every source with its health, last fetch, errors, number of events, licence and attribution.",
    th_source: "Source",
    th_health: "Health",
    th_last_fetch: "Last fetch",
    th_last_success: "Last success",
    th_error: "Last error",
    th_events: "Events",
    th_warnings: "Warnings when read",
    untitled: "(untitled)",
    warnings_more: "… and {n} more (regiocal check shows all)",
    th_licence: "Licence",
    th_attribution: "Attribution",
    health_ok: "OK",
    health_pending: "not fetched yet",
    health_degraded: "degraded",
    health_failing: "failing",
    health_suspect: "held back",
    never: "never",
    feed_link: "Feed",
    not_found_title: "Not found",
    not_found_text: "This page or event does not exist (any more). It may be over or have been taken out of the calendar.",
    bad_request_title: "Invalid input",
    bad_request_param: "Invalid value for",
    error_title: "Error",
    error_text: "The page could not be built.",
    footer_data: "The events come from the sources named and are under their licences.",
    footer_api: "Open data: API description",
    embed_all: "All events",
    map_title: "Map",
    map_label: "Map of the venues",
    map_places_h: "Places with events",
    map_without_place: "without a place (not on the map)",
    map_show_events: "Show events",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heavier_of_german_and_english() {
        assert_eq!(Lang::negotiate(None), Lang::De);
        assert_eq!(Lang::negotiate(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("de-DE,de;q=0.9,en;q=0.8")), Lang::De);
        assert_eq!(Lang::negotiate(Some("fr-FR,en;q=0.5")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr-FR")), Lang::De);
        assert_eq!(Lang::negotiate(Some("en;q=0,de;q=0.1")), Lang::De);
        assert_eq!(Lang::negotiate(Some("en, de")), Lang::En);
        assert_eq!(Lang::negotiate(Some("*")), Lang::De);
        assert_eq!(Lang::from_param("EN"), Some(Lang::En));
        assert_eq!(Lang::from_param("fr"), None);
    }

    #[test]
    fn dates_and_counts_read_naturally() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(Lang::De.long_date(d), "Donnerstag, 3. Dezember 2026");
        assert_eq!(Lang::En.long_date(d), "Thursday, 3 December 2026");
        assert_eq!(Lang::De.short_date(d), "Do., 3. Dez.");
        assert_eq!(Lang::En.short_date(d), "Thu 3 Dec");
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(
            Lang::De.day_heading(d, today),
            "Morgen, Donnerstag, 3. Dezember 2026"
        );
        assert_eq!(Lang::De.events(1), "1 Termin");
        assert_eq!(Lang::De.events(1234), "1.234 Termine");
        assert_eq!(Lang::En.shown_of(50, 1234), "50 of 1,234 events");
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(
            Lang::De.time_range(t(19, 0), Some(t(21, 30))),
            "19:00–21:30 Uhr"
        );
        assert_eq!(Lang::En.time_range(t(9, 5), None), "09:05");
    }
}

-- Geocoder answers by query; lat/lon NULL = not found.
CREATE TABLE geocode (
    query      TEXT PRIMARY KEY NOT NULL,
    lat        REAL,
    lon        REAL,
    fetched_at TEXT NOT NULL
);

-- The same tables as the SQLite store (see ../sqlite), in one migration.

-- Sources: fetch state, caching validators, health counters, the next scheduled run and the
-- fetch lease (which instance fetches the source now; fetch_seq counts claims).
-- Keys compare as bytes (COLLATE "C"), as in SQLite: both backends list events in the same
-- order, and the primary key index serves ORDER BY whatever the database's default collation.
CREATE TABLE sources (
    id             TEXT COLLATE "C" PRIMARY KEY,
    etag           TEXT,
    last_modified  TEXT,
    content_hash   TEXT,
    last_fetch     TIMESTAMPTZ,
    last_success   TIMESTAMPTZ,
    last_error     TEXT,
    error_count    INTEGER NOT NULL DEFAULT 0,
    next_run       TIMESTAMPTZ,
    event_count    INTEGER NOT NULL DEFAULT 0,
    pending_shrink INTEGER NOT NULL DEFAULT 0,
    last_warnings  INTEGER NOT NULL DEFAULT 0,
    fetch_seq      BIGINT NOT NULL DEFAULT 0,
    lease_holder   TEXT,
    lease_until    TIMESTAMPTZ
);

-- Events: one row per calendar component (single event, series master or override).
-- recurrence_id is '' for masters and single events; data is the normalised event as JSON.
CREATE TABLE events (
    source_id     TEXT COLLATE "C" NOT NULL,
    uid           TEXT COLLATE "C" NOT NULL,
    recurrence_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    data          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    first_seen    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    revision      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source_id, uid, recurrence_id)
);

-- Key/value facts about the store as a whole: last_change (RFC 3339), version (a counter
-- every write moves, which instances poll to notice each other's changes).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Geocoder answers by query; lat/lon NULL = not found.
CREATE TABLE geocode (
    query      TEXT PRIMARY KEY,
    lat        DOUBLE PRECISION,
    lon        DOUBLE PRECISION,
    fetched_at TIMESTAMPTZ NOT NULL
);

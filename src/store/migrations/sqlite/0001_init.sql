-- Sources: fetch state, caching validators, health counters and the next scheduled run.
CREATE TABLE sources (
    id             TEXT PRIMARY KEY NOT NULL,
    etag           TEXT,
    last_modified  TEXT,
    content_hash   TEXT,
    last_fetch     TEXT,
    last_success   TEXT,
    last_error     TEXT,
    error_count    INTEGER NOT NULL DEFAULT 0,
    next_run       TEXT,
    event_count    INTEGER NOT NULL DEFAULT 0,
    pending_shrink INTEGER NOT NULL DEFAULT 0,
    last_warnings  INTEGER NOT NULL DEFAULT 0
);

-- Events: one row per calendar component (single event, series master or override).
-- recurrence_id is '' for masters and single events.
CREATE TABLE events (
    source_id     TEXT NOT NULL,
    uid           TEXT NOT NULL,
    recurrence_id TEXT NOT NULL DEFAULT '',
    data          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (source_id, uid, recurrence_id)
);

-- Key/value facts about the store as a whole (e.g. the time of the last change).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

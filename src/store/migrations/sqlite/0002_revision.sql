-- How often an event's content changed since it was first seen (published SEQUENCE grows with it).
ALTER TABLE events ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

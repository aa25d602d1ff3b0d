-- Several processes may share the store: a source is fetched by the one holding its lease.
-- fetch_seq counts claims, so a claim based on an outdated read is refused (one fetch per run).
ALTER TABLE sources ADD COLUMN fetch_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN lease_holder TEXT;
ALTER TABLE sources ADD COLUMN lease_until TEXT;

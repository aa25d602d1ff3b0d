-- The first warnings of a source's last successful parse (a JSON array of strings), for the
-- sources page and the API: which events were skipped and why, which TZIDs were unknown.
ALTER TABLE sources ADD COLUMN warning_texts TEXT NOT NULL DEFAULT '[]';

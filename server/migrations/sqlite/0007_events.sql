-- The audit log: append-only, one row per ceremony step or change, written in
-- the database transaction of the change it records. Never a secret in it.
-- `seq` orders it (newest first is `seq DESC`) and pages it; `id` is the
-- random public id. `app_id` is NULL for the console's own events (operators).
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL,
    app_id      TEXT REFERENCES apps (id),
    type        TEXT NOT NULL,
    outcome     TEXT NOT NULL, -- success | failure
    code        TEXT,          -- the error code of a failure
    external_id TEXT,
    device_id   TEXT,
    actor       TEXT,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    detail      TEXT NOT NULL, -- a JSON object
    created_at  INTEGER NOT NULL
);
CREATE INDEX events_app_seq ON events (app_id, seq);
CREATE INDEX events_created ON events (created_at);

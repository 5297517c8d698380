-- Webhooks: an app's endpoints, and an outbox of messages to deliver to them.
--
-- A message is written by the trigger below in the database transaction of the
-- event it reports (no message without its event, no event without its
-- messages): one per endpoint of the event's app that takes the event's type.
-- Its body is built from the event at delivery (the event as the events API
-- shows it); `event_seq` has no foreign key, as retention may sweep the event.
CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY, -- wh_ and 32 hex digits
    app_id                TEXT NOT NULL REFERENCES apps (id),
    url                   TEXT NOT NULL,
    event_types           TEXT NOT NULL, -- a JSON array of event types; empty: every type
    -- whsec_…: needed in the clear to sign (never logged, never in an event).
    secret                TEXT NOT NULL,
    -- The secret before the last rotation, also signing until `previous_secret_until`.
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    created_at            INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id);

CREATE TABLE webhook_messages (
    seq             INTEGER PRIMARY KEY, -- the order of delivery, per endpoint
    id              TEXT NOT NULL UNIQUE, -- msg_ and 32 hex digits: webhook-id
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq       INTEGER NOT NULL,
    status          TEXT NOT NULL, -- pending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A worker delivering it holds it until then (0: nobody).
    lease_until     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX webhook_messages_pending ON webhook_messages (status, next_attempt_at);
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_id, seq);

CREATE TABLE webhook_attempts (
    message_id  TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER, -- the receiver's answer; NULL when there was none
    error       TEXT,    -- why it failed, when it did
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (message_id, attempt)
);

CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
WHEN NEW.app_id IS NOT NULL
BEGIN
    INSERT INTO webhook_messages (id, endpoint_id, event_seq, status, next_attempt_at, created_at)
    SELECT 'msg_' || lower(hex(randomblob(16))), e.id, NEW.seq, 'pending', NEW.created_at, NEW.created_at
    FROM webhook_endpoints e
    WHERE e.app_id = NEW.app_id
      AND (json_array_length(e.event_types) = 0
           OR EXISTS (SELECT 1 FROM json_each(e.event_types) t WHERE t.value = NEW.type))
    ORDER BY e.id;
END;

-- The durable outbox: every delivery (e-mail, MQTT, push) is a row first, sent by a job with
-- retries, so a restart loses nothing. dedupe_key makes enqueueing the same delivery twice a no-op.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    person_id TEXT,
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_due ON outbox(channel, state, next_attempt_at);
CREATE INDEX outbox_source ON outbox(source, state);

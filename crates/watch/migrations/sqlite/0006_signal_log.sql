-- Under load the SQLite signal writer writes each signal here first (an append, no index)
-- before its reply, and within about a second moves what it holds into watch_signals in the
-- order of the persons' index, in the transaction that applies it to watch_state and the
-- devices (store/signals.rs). A signal in watch_signals is always applied; what is here on start,
-- a stop without warning left, and the writer applies it first. This replaces 0005's watermark.
CREATE TABLE watch_signal_log (
    id INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL,
    device_id TEXT,
    source TEXT NOT NULL,
    value TEXT NOT NULL,
    at BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
DROP TABLE watch_projection;

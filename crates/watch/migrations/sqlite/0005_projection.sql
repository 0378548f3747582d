-- Under load the SQLite signal writer writes each signal at once and applies the signals to
-- watch_state and the devices' live fields (last_value, last_at, on_since) a moment later, many
-- at a time in key order (store/signals.rs). This is the newest signal they hold: on start, the
-- writer applies the signals after it, which a stop without warning left unapplied.
CREATE TABLE watch_projection (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    signal_id INTEGER NOT NULL
);
INSERT INTO watch_projection (id, signal_id) SELECT 1, COALESCE(MAX(id), 0) FROM watch_signals;

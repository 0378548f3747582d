-- The per-person state is upserted for every signal. As a rowid table with a TEXT key, each
-- upsert walked two b-trees (the key's index, then the row); without rowid the row lives in the
-- key's b-tree, one walk and one page per person.
CREATE TABLE watch_state_by_person (
    person_id TEXT PRIMARY KEY,
    last_signal_at BIGINT,
    last_checkin_at BIGINT,
    -- The last time the person used their terminal (a page of it, a button).
    last_use_at BIGINT
) WITHOUT ROWID;
INSERT INTO watch_state_by_person (person_id, last_signal_at, last_checkin_at, last_use_at)
    SELECT person_id, last_signal_at, last_checkin_at, last_use_at FROM watch_state;
DROP TABLE watch_state;
ALTER TABLE watch_state_by_person RENAME TO watch_state;

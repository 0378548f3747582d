-- Web sessions and personal display preferences.
ALTER TABLE people ADD COLUMN large_text INTEGER NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN deleted_at INTEGER;

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_person ON sessions(person_id);

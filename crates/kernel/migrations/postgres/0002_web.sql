-- Web sessions and personal display preferences.
ALTER TABLE people ADD COLUMN large_text BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE people ADD COLUMN deleted_at BIGINT;

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_person ON sessions(person_id);

-- The kernel's tables. Times are integer UTC milliseconds; IDs are text.
CREATE TABLE areas (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kana TEXT,
    level TEXT NOT NULL,
    parent_id TEXT REFERENCES areas(id),
    geometry TEXT NOT NULL,
    min_lon REAL NOT NULL,
    min_lat REAL NOT NULL,
    max_lon REAL NOT NULL,
    max_lat REAL NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX areas_parent ON areas(parent_id);

CREATE TABLE households (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    area_id TEXT REFERENCES areas(id),
    address TEXT,
    representative_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX households_area ON households(area_id);

CREATE TABLE people (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    kana TEXT,
    birth_date TEXT,
    phone TEXT,
    email TEXT,
    language TEXT,
    address TEXT,
    area_id TEXT REFERENCES areas(id),
    needs_support INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX people_area ON people(area_id);

CREATE TABLE household_members (
    person_id TEXT PRIMARY KEY REFERENCES people(id),
    household_id TEXT NOT NULL REFERENCES households(id),
    relation TEXT
);
CREATE INDEX household_members_household ON household_members(household_id);

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    area_id TEXT REFERENCES areas(id),
    duties TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    role TEXT NOT NULL,
    area_id TEXT REFERENCES areas(id),
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX memberships_unique ON memberships(person_id, organisation_id, role, COALESCE(area_id, ''));
CREATE INDEX memberships_person ON memberships(person_id);

CREATE TABLE linked_identifiers (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX linked_identifiers_person ON linked_identifiers(person_id);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    purpose TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    withdrawn_at INTEGER,
    granted_by TEXT NOT NULL,
    by_guardian INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX consents_person ON consents(person_id);

-- Append-only, hash-chained. audit_head serialises appends (one row, updated per append).
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    subject_id TEXT,
    resource TEXT NOT NULL,
    reason TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(subject_id, seq);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE accounts (
    person_id TEXT PRIMARY KEY REFERENCES people(id),
    login TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    name TEXT NOT NULL,
    hint TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_person ON api_tokens(person_id);

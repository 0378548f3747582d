-- Safety-confirmation rounds (安否確認): one per event, for the households of an area.
CREATE TABLE safety_rounds (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    -- The area the round covers (a district, the town, a 町丁目).
    area_id TEXT NOT NULL REFERENCES areas(id),
    -- alert (started by the town's rule), officer or staff.
    started_how TEXT NOT NULL,
    started_by TEXT REFERENCES people(id),
    started_at BIGINT NOT NULL,
    closed_at BIGINT,
    -- Reminders sent so far (each to every silent household).
    reminders_sent BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX safety_rounds_open ON safety_rounds(closed_at, started_at);

-- Alerts that started or joined a round (aftershocks join the open one). One round per alert.
-- The alert is alerts' own: its id, not a foreign key into alerts' table (0005 drops the one
-- earlier installs have), so the modules migrate in any order.
CREATE TABLE safety_round_alerts (
    alert_id TEXT PRIMARY KEY,
    round_id TEXT NOT NULL REFERENCES safety_rounds(id),
    joined_at BIGINT NOT NULL
);

-- Every household the round asks, with its latest answer (the latest wins in tallies).
CREATE TABLE safety_targets (
    round_id TEXT NOT NULL REFERENCES safety_rounds(id),
    household_id TEXT NOT NULL REFERENCES households(id),
    area_id TEXT NOT NULL,
    -- A registered 要支援者 lives here.
    needs_support BOOLEAN NOT NULL DEFAULT FALSE,
    -- NULL while silent; safe or help.
    status TEXT,
    first_answered_at BIGINT,
    answered_at BIGINT,
    escalated_at BIGINT,
    PRIMARY KEY (round_id, household_id)
);
CREATE INDEX safety_targets_area ON safety_targets(round_id, area_id);

-- Every answer ever given (history): who answered, on which channel, what each member's state was.
CREATE TABLE safety_answers (
    id TEXT PRIMARY KEY,
    round_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    person_id TEXT REFERENCES people(id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    effective TEXT NOT NULL,
    members TEXT NOT NULL,
    comment TEXT,
    answered_at BIGINT NOT NULL,
    FOREIGN KEY (round_id, household_id) REFERENCES safety_targets(round_id, household_id)
);
CREATE INDEX safety_answers_household ON safety_answers(round_id, household_id, answered_at);

-- Answer links sent by e-mail: single use, stored as a hash, with an expiry.
CREATE TABLE safety_links (
    token_hash TEXT PRIMARY KEY,
    round_id TEXT NOT NULL REFERENCES safety_rounds(id),
    household_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people(id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Follow-up visits to households that need help or stay silent.
CREATE TABLE safety_visits (
    round_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL REFERENCES people(id),
    assigned_by TEXT REFERENCES people(id),
    assigned_at BIGINT NOT NULL,
    outcome TEXT,
    note TEXT,
    visited_at BIGINT,
    PRIMARY KEY (round_id, household_id),
    FOREIGN KEY (round_id, household_id) REFERENCES safety_targets(round_id, household_id)
);

-- Silent 要支援者 households handed to someone who can go and see.
CREATE TABLE safety_escalations (
    round_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    to_person TEXT NOT NULL REFERENCES people(id),
    escalated_at BIGINT NOT NULL,
    PRIMARY KEY (round_id, household_id, to_person)
);

-- Watch-over circles (見守りの輪): who watches whom, with the consent that started it.
CREATE TABLE watch_circles (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The kernel consent record; the circle watches nobody until it is given.
    consent_id TEXT,
    consented_at BIGINT,
    -- Approves the person's contacts (a family member); NULL: family members do.
    guardian_id TEXT,
    paused_until BIGINT,
    pause_reason TEXT,
    -- Quiet hours (minutes of the day, local time): no calls start inside them.
    quiet_start BIGINT,
    quiet_end BIGINT,
    ladder_minutes BIGINT NOT NULL,
    closed_at BIGINT
);
-- One open circle per person; a closed one (consent taken back) leaves room for a new one.
CREATE UNIQUE INDEX watch_circles_person_open ON watch_circles(person_id) WHERE closed_at IS NULL;

CREATE TABLE watch_members (
    circle_id TEXT NOT NULL REFERENCES watch_circles(id),
    person_id TEXT NOT NULL REFERENCES people(id),
    role TEXT NOT NULL,
    -- Place on the escalation ladder (1 = first contact); NULL: not called.
    ladder BIGINT,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (circle_id, person_id)
);
CREATE INDEX watch_members_person ON watch_members(person_id);

-- Devices (a linked identifier of the person, kind `device`) and their state.
CREATE TABLE watch_devices (
    id TEXT PRIMARY KEY,
    circle_id TEXT NOT NULL REFERENCES watch_circles(id),
    person_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_value TEXT,
    last_at BIGINT,
    -- Since when the device has been on (a bulb, a kettle); NULL when off.
    on_since BIGINT,
    removed_at BIGINT
);
CREATE INDEX watch_devices_circle ON watch_devices(circle_id);

-- The last signal per person, kept by the ingest so the sweep never reads the signals.
CREATE TABLE watch_state (
    person_id TEXT PRIMARY KEY,
    last_signal_at BIGINT,
    last_checkin_at BIGINT,
    -- The last time the person used their terminal (a page of it, a button).
    last_use_at BIGINT
);

CREATE TABLE watch_signals (
    id BIGSERIAL PRIMARY KEY,
    person_id TEXT NOT NULL,
    device_id TEXT,
    source TEXT NOT NULL,
    value TEXT NOT NULL,
    at BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX watch_signals_person_at ON watch_signals(person_id, at);

-- Rules per person (Healthchecks-style). flag_basis: the signal time (or day) the last missed
-- check-in was flagged for, so one miss opens one escalation.
CREATE TABLE watch_rules (
    id TEXT PRIMARY KEY,
    circle_id TEXT NOT NULL REFERENCES watch_circles(id),
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    period_minutes BIGINT,
    grace_minutes BIGINT NOT NULL,
    due_minute BIGINT,
    limit_minutes BIGINT,
    window_start BIGINT,
    window_end BIGINT,
    flag_basis BIGINT NOT NULL DEFAULT -1,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    removed_at BIGINT
);
CREATE INDEX watch_rules_circle ON watch_rules(circle_id);

CREATE TABLE watch_escalations (
    id TEXT PRIMARY KEY,
    circle_id TEXT NOT NULL REFERENCES watch_circles(id),
    rule_id TEXT NOT NULL REFERENCES watch_rules(id),
    reason TEXT NOT NULL,
    basis BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    -- Ladder step last called (0 = first contact); the welfare desk is the step after the members.
    step BIGINT NOT NULL,
    next_step_at BIGINT,
    acknowledged_by TEXT,
    acknowledged_at BIGINT,
    outcome TEXT,
    note TEXT,
    closed_at BIGINT,
    closed_how TEXT
);
CREATE UNIQUE INDEX watch_escalations_open ON watch_escalations(rule_id) WHERE closed_at IS NULL;
CREATE INDEX watch_escalations_circle ON watch_escalations(circle_id, opened_at);
-- The sweep asks, per rule, when its last call was closed.
CREATE INDEX watch_escalations_rule ON watch_escalations(rule_id, closed_at);

-- Who was called at which step (for the circle page and the history).
CREATE TABLE watch_calls (
    escalation_id TEXT NOT NULL REFERENCES watch_escalations(id),
    step BIGINT NOT NULL,
    person_id TEXT NOT NULL,
    called_at BIGINT NOT NULL,
    PRIMARY KEY (escalation_id, step, person_id)
);

-- Privacy training of supporters and volunteers (a gate for visits).
CREATE TABLE watch_trainings (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    organisation TEXT NOT NULL,
    taken_on TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX watch_trainings_person ON watch_trainings(person_id);

-- Listening volunteers' recurring calls and visits, and what was done.
CREATE TABLE watch_schedules (
    id TEXT PRIMARY KEY,
    circle_id TEXT NOT NULL REFERENCES watch_circles(id),
    volunteer_id TEXT NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL,
    weekday BIGINT NOT NULL,
    minute BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    removed_at BIGINT
);
CREATE TABLE watch_schedule_log (
    schedule_id TEXT NOT NULL REFERENCES watch_schedules(id),
    due_at BIGINT NOT NULL,
    done_by TEXT NOT NULL,
    done_at BIGINT NOT NULL,
    note TEXT,
    PRIMARY KEY (schedule_id, due_at)
);

-- The contact allow-list (fraud protection) and messages to the person's terminal.
CREATE TABLE watch_contacts (
    circle_id TEXT NOT NULL REFERENCES watch_circles(id),
    contact_id TEXT NOT NULL REFERENCES people(id),
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (circle_id, contact_id)
);
CREATE TABLE watch_messages (
    id TEXT PRIMARY KEY,
    to_person_id TEXT NOT NULL REFERENCES people(id),
    from_person_id TEXT NOT NULL REFERENCES people(id),
    body TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    -- delivered, held, approved (then delivered), rejected
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT
);
CREATE INDEX watch_messages_to ON watch_messages(to_person_id, sent_at);

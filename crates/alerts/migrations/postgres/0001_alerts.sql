-- Alerts as received or composed (CAP 1.2), the areas they reach, and who was reached.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    identifier TEXT NOT NULL,
    sent TEXT NOT NULL,
    sent_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    -- The alert this one updates or cancels (resolved from CAP references), if known here.
    refers_to TEXT REFERENCES alerts(id),
    event TEXT NOT NULL,
    category TEXT NOT NULL,
    urgency TEXT NOT NULL,
    severity TEXT NOT NULL,
    certainty TEXT NOT NULL,
    headline TEXT,
    language TEXT NOT NULL,
    expires_ms BIGINT,
    -- Set when a later Update or Cancel replaces this alert.
    replaced_by TEXT,
    cap_xml TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    targeted_people BIGINT NOT NULL DEFAULT 0,
    targeted_households BIGINT NOT NULL DEFAULT 0,
    UNIQUE (sender, identifier)
);
CREATE INDEX alerts_sent ON alerts(sent_ms);

CREATE TABLE alert_areas (
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    area_id TEXT NOT NULL REFERENCES areas(id),
    PRIMARY KEY (alert_id, area_id)
);
CREATE INDEX alert_areas_area ON alert_areas(area_id);

-- The groups an alert is limited to within its areas (要支援者, an association's members).
CREATE TABLE alert_groups (
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    grp TEXT NOT NULL,
    PRIMARY KEY (alert_id, grp)
);

-- An alert reached a person's screen (terminal or web banner): "delivered" in the drill report.
CREATE TABLE alert_receipts (
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    person_id TEXT NOT NULL REFERENCES people(id),
    channel TEXT NOT NULL,
    area_id TEXT,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (alert_id, person_id, channel)
);

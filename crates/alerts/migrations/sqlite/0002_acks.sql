-- Who acknowledged an alert (「確認しました」), on which channel, when: the drill report counts these.
CREATE TABLE alert_acks (
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    person_id TEXT NOT NULL REFERENCES people(id),
    household_id TEXT,
    area_id TEXT,
    channel TEXT NOT NULL,
    acked_at INTEGER NOT NULL,
    PRIMARY KEY (alert_id, person_id)
);
CREATE INDEX alert_acks_alert ON alert_acks(alert_id, acked_at);

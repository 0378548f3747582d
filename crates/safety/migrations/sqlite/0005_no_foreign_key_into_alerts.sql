-- safety keeps an alert's id, not a foreign key into alerts' table: modules talk through each
-- other's functions (alerts::service), never each other's tables, and migrate in any order.
-- SQLite cannot drop a constraint: the table is built again without it.
CREATE TABLE safety_round_alerts_new (
    alert_id TEXT PRIMARY KEY,
    round_id TEXT NOT NULL REFERENCES safety_rounds(id),
    joined_at INTEGER NOT NULL
);
INSERT INTO safety_round_alerts_new (alert_id, round_id, joined_at)
    SELECT alert_id, round_id, joined_at FROM safety_round_alerts;
DROP TABLE safety_round_alerts;
ALTER TABLE safety_round_alerts_new RENAME TO safety_round_alerts;

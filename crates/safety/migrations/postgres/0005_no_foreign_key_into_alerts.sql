-- safety keeps an alert's id, not a foreign key into alerts' table: modules talk through each
-- other's functions (alerts::service), never each other's tables, and migrate in any order.
ALTER TABLE safety_round_alerts DROP CONSTRAINT IF EXISTS safety_round_alerts_alert_id_fkey;

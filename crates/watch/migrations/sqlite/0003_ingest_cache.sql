-- The signal writer keeps the devices it has resolved (token → device, person, whether watched)
-- while this number stays the same; any change to what that answer depends on moves it on, so
-- a removed device or a withdrawn consent counts from the writer's next batch, as without the
-- keeping. (The writer's own updates of a device's last value name none of these columns.)
CREATE TABLE watch_ingest_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO watch_ingest_generation (id, n) VALUES (1, 0);

CREATE TRIGGER watch_devices_added AFTER INSERT ON watch_devices
BEGIN UPDATE watch_ingest_generation SET n = n + 1; END;
CREATE TRIGGER watch_devices_changed AFTER UPDATE OF id, circle_id, person_id, kind, token_hash, removed_at ON watch_devices
BEGIN UPDATE watch_ingest_generation SET n = n + 1; END;
CREATE TRIGGER watch_devices_deleted AFTER DELETE ON watch_devices
BEGIN UPDATE watch_ingest_generation SET n = n + 1; END;

CREATE TRIGGER watch_circles_added AFTER INSERT ON watch_circles
BEGIN UPDATE watch_ingest_generation SET n = n + 1; END;
CREATE TRIGGER watch_circles_changed AFTER UPDATE OF id, person_id, consent_id, closed_at ON watch_circles
BEGIN UPDATE watch_ingest_generation SET n = n + 1; END;
CREATE TRIGGER watch_circles_deleted AFTER DELETE ON watch_circles
BEGIN UPDATE watch_ingest_generation SET n = n + 1; END;

CREATE TRIGGER watch_consents_changed AFTER UPDATE OF id, withdrawn_at ON consents
BEGIN UPDATE watch_ingest_generation SET n = n + 1; END;
CREATE TRIGGER watch_consents_deleted AFTER DELETE ON consents
BEGIN UPDATE watch_ingest_generation SET n = n + 1; END;

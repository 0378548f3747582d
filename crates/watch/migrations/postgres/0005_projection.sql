-- On PostgreSQL the signals are applied to watch_state and the devices in the transaction that
-- writes them, so there is no watermark to keep (SQLite's writer keeps one: see its 0005).
SELECT 1;

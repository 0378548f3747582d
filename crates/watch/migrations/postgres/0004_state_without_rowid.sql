-- (SQLite keeps watch_state without rowid from here on.) Here: room on each page for the
-- updated versions of the rows every signal updates, so PostgreSQL updates them in place of the
-- page (HOT: no index entry written, as no indexed column changes). For pages written from now on.
ALTER TABLE watch_state SET (fillfactor = 70);
ALTER TABLE watch_devices SET (fillfactor = 70);

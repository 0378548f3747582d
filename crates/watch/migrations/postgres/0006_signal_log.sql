-- On PostgreSQL every signal goes to watch_signals in the transaction that applies it, so
-- there is no log of held signals (SQLite's writer keeps one: see its 0006).
SELECT 1;

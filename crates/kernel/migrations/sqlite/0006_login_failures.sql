-- Recent failed logins (and attempts still running), one row per key — `acct:<login>` or
-- `ip:<address>` — shared by every node on this database. Rows older than the limiter's window
-- are deleted as attempts come in.
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures(key, at);
CREATE INDEX login_failures_at ON login_failures(at);

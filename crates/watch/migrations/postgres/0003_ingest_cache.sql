-- SQLite only (see migrations/sqlite/0003_ingest_cache.sql): on PostgreSQL signals are written
-- through the pool, which keeps no devices between batches.
SELECT 1;

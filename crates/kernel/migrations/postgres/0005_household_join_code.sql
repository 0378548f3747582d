-- A household's representative shows this code on their My Page; another resident types it to
-- join the household. Made on first use, unique while it exists.
ALTER TABLE households ADD COLUMN join_code TEXT;
CREATE UNIQUE INDEX households_join_code ON households(join_code);

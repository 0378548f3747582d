-- A family member in the watch-over circle of someone in the household answered for it (代理回答):
-- who, so officers see the answer did not come from the household itself.
ALTER TABLE safety_answers ADD COLUMN proxy_by TEXT REFERENCES people(id);

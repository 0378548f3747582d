-- Token lookups keep the actors they resolved (token hash → person, household, roles) while this
-- number stays the same; any change to what that answer depends on moves it on, so a revoked
-- token, a changed role or household counts from the next lookup on every process sharing the
-- file. (Noting a token's last use names none of these columns.)
CREATE TABLE token_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO token_generation (id, n) VALUES (1, 0);

CREATE TRIGGER token_gen_tokens_changed AFTER UPDATE OF id, person_id, token_hash, revoked_at ON api_tokens
BEGIN UPDATE token_generation SET n = n + 1; END;
CREATE TRIGGER token_gen_tokens_deleted AFTER DELETE ON api_tokens
BEGIN UPDATE token_generation SET n = n + 1; END;

CREATE TRIGGER token_gen_members_added AFTER INSERT ON household_members
BEGIN UPDATE token_generation SET n = n + 1; END;
CREATE TRIGGER token_gen_members_changed AFTER UPDATE ON household_members
BEGIN UPDATE token_generation SET n = n + 1; END;
CREATE TRIGGER token_gen_members_deleted AFTER DELETE ON household_members
BEGIN UPDATE token_generation SET n = n + 1; END;

CREATE TRIGGER token_gen_memberships_added AFTER INSERT ON memberships
BEGIN UPDATE token_generation SET n = n + 1; END;
CREATE TRIGGER token_gen_memberships_changed AFTER UPDATE ON memberships
BEGIN UPDATE token_generation SET n = n + 1; END;
CREATE TRIGGER token_gen_memberships_deleted AFTER DELETE ON memberships
BEGIN UPDATE token_generation SET n = n + 1; END;

CREATE TRIGGER token_gen_orgs_changed AFTER UPDATE OF id, kind, duties ON organisations
BEGIN UPDATE token_generation SET n = n + 1; END;
CREATE TRIGGER token_gen_orgs_deleted AFTER DELETE ON organisations
BEGIN UPDATE token_generation SET n = n + 1; END;

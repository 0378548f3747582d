-- Token lookups keep the actors they resolved (token hash → person, household, roles) while this
-- number stays the same; any change to what that answer depends on moves it on, so a revoked
-- token, a changed role or household counts from the next lookup on every node. (Noting a
-- token's last use names none of these columns.) One bump per statement, not per row.
CREATE TABLE token_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO token_generation (id, n) VALUES (1, 0);

CREATE FUNCTION token_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE token_generation SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER token_gen_tokens AFTER UPDATE OF id, person_id, token_hash, revoked_at OR DELETE ON api_tokens
FOR EACH STATEMENT EXECUTE FUNCTION token_generation_bump();
CREATE TRIGGER token_gen_members AFTER INSERT OR UPDATE OR DELETE ON household_members
FOR EACH STATEMENT EXECUTE FUNCTION token_generation_bump();
CREATE TRIGGER token_gen_memberships AFTER INSERT OR UPDATE OR DELETE ON memberships
FOR EACH STATEMENT EXECUTE FUNCTION token_generation_bump();
CREATE TRIGGER token_gen_orgs AFTER UPDATE OF id, kind, duties OR DELETE ON organisations
FOR EACH STATEMENT EXECUTE FUNCTION token_generation_bump();

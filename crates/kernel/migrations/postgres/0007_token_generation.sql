-- Token lookups keep the actors they resolved (token hash → person, household, roles) while this
-- number stays the same; any change to what that answer depends on moves it on, so a revoked
-- token, a changed role or household counts from the next lookup on every node. (Noting a
-- token's last use names none of these columns.)
--
-- The bump runs at commit (deferred constraint triggers), once per transaction (`bumped_by`), so
-- the row is locked last: a transaction that changes a household and then its members, and
-- another that does it the other way round, queue on it at commit instead of deadlocking
-- (row-level statement triggers took it in the middle of each transaction).
CREATE TABLE token_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL,
    bumped_by BIGINT
);
INSERT INTO token_generation (id, n) VALUES (1, 0);

CREATE FUNCTION token_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE token_generation SET n = n + 1, bumped_by = txid_current()
    WHERE id = 1 AND bumped_by IS DISTINCT FROM txid_current();
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER token_gen_tokens AFTER UPDATE OF id, person_id, token_hash, revoked_at OR DELETE ON api_tokens
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION token_generation_bump();
CREATE CONSTRAINT TRIGGER token_gen_members AFTER INSERT OR UPDATE OR DELETE ON household_members
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION token_generation_bump();
CREATE CONSTRAINT TRIGGER token_gen_memberships AFTER INSERT OR UPDATE OR DELETE ON memberships
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION token_generation_bump();
CREATE CONSTRAINT TRIGGER token_gen_orgs AFTER UPDATE OF id, kind, duties OR DELETE ON organisations
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION token_generation_bump();

-- Every stored answer makes itself its household's latest state (unless a newer one is there:
-- two nodes may commit out of order), in the same statement, so a
-- batch of answers is one INSERT (one round trip) however many it holds.
CREATE FUNCTION safety_answer_is_latest() RETURNS trigger AS $$
BEGIN
    UPDATE safety_targets
       SET status = NEW.effective,
           answered_at = NEW.answered_at,
           first_answered_at = COALESCE(first_answered_at, NEW.answered_at)
     WHERE round_id = NEW.round_id AND household_id = NEW.household_id
       AND (answered_at IS NULL OR answered_at <= NEW.answered_at);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER safety_answer_is_latest AFTER INSERT ON safety_answers
    FOR EACH ROW EXECUTE FUNCTION safety_answer_is_latest();

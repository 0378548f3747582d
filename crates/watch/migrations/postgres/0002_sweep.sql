-- The sweep reads each kind of rule on its own (the daily and on-too-long passes do not walk
-- every period rule), and finds a person's period rules on any signal by circle.
CREATE INDEX watch_rules_kind ON watch_rules(kind, source, circle_id);
-- The shortest period (with grace) of the rules on any signal: only persons whose last signal
-- is older than that can be overdue.
CREATE INDEX watch_rules_window ON watch_rules(kind, source, ((period_minutes + grace_minutes)));
-- Every watched person has a state row (made at consent from now on), so the sweep can start
-- from watch_state.
INSERT INTO watch_state (person_id)
SELECT DISTINCT person_id FROM watch_circles WHERE consented_at IS NOT NULL
ON CONFLICT (person_id) DO NOTHING;

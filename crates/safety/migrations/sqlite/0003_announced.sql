-- When the round's households were asked: the job asks again until this is set.
ALTER TABLE safety_rounds ADD COLUMN announced_at INTEGER;
UPDATE safety_rounds SET announced_at = started_at;

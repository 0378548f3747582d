-- The meeting place in the requester's words (e.g. 「みどり保育園の門の前」), shown only to the accepted supporter.
ALTER TABLE aid_requests ADD COLUMN place TEXT;

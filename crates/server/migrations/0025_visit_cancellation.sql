-- A cancelled visit stays, marked, and leaves the lists (issue 23).
ALTER TABLE visits ADD COLUMN cancelled_at INTEGER;

-- When a clinician was brought into a care team, and by whom: the patient sees it in
-- their activity. Links made before (by an invitation) have neither.
ALTER TABLE care_team ADD COLUMN joined_at INTEGER;
ALTER TABLE care_team ADD COLUMN added_by TEXT REFERENCES users (id);

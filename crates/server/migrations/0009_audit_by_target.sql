-- The auditor filters the log by conversation: what each entry acted on becomes
-- searchable. Entries already written get theirs from the recorded payload.
ALTER TABLE audit_entries ADD COLUMN target TEXT;
UPDATE audit_entries SET target = json_extract(payload, '$.target');
CREATE INDEX audit_by_target ON audit_entries (org_id, target, idx);

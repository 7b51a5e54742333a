-- Video visits (issue 23): who, when, for how long, scheduled by whom.
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    clinician_id TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    scheduled_by TEXT NOT NULL,
    scheduled_at INTEGER NOT NULL
);
CREATE INDEX visits_by_patient ON visits (org_id, patient_id, ends_at);
CREATE INDEX visits_by_clinician ON visits (org_id, clinician_id, ends_at);
CREATE INDEX visits_by_org ON visits (org_id, ends_at);
CREATE INDEX visits_by_scheduler ON visits (scheduled_by, scheduled_at);

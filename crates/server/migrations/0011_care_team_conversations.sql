-- A care-team conversation includes every clinician of the patient's care team: one
-- brought into the care team later is added to it, with the history, by a member's
-- device. Other conversations keep the people they were started with.
ALTER TABLE conversations ADD COLUMN care_team INTEGER NOT NULL DEFAULT 0;
-- Who is in a patient's care team is now looked up by patient.
CREATE INDEX care_team_by_patient ON care_team (patient_id, org_id);

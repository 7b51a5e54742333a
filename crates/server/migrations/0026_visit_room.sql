-- A visit's room (issue 23): its end-to-end encrypted group (a conversation of the visit
-- kind, opened by the clinician's device), who came to it and where they stand, and its end.
ALTER TABLE visits ADD COLUMN conversation_id TEXT;
ALTER TABLE visits ADD COLUMN ended_at INTEGER;
ALTER TABLE conversations ADD COLUMN visit_id TEXT;
CREATE TABLE visit_participants (
    visit_id  TEXT NOT NULL REFERENCES visits (id),
    user_id   TEXT NOT NULL REFERENCES users (id),
    -- The device they came with: admission lets this one device into the group.
    device_id TEXT NOT NULL REFERENCES mls_devices (id),
    state     TEXT NOT NULL CHECK (state IN ('waiting', 'admitted', 'declined', 'left')),
    since     INTEGER NOT NULL,
    PRIMARY KEY (visit_id, user_id)
);

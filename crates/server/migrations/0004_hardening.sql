-- Hardening: browsers that signed in before (so a locked account's owner still gets in),
-- invitations that can be listed and withdrawn by id, emergency access ended early, and
-- an index for the duty that ends expired sessions.

CREATE TABLE known_devices (
    credential_hash BLOB PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    org_id          TEXT NOT NULL REFERENCES organisations (id),
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX known_devices_by_user ON known_devices (user_id);

ALTER TABLE invitations ADD COLUMN id TEXT;
UPDATE invitations SET id = lower(hex(substr(token_hash, 1, 16)));
CREATE UNIQUE INDEX invitations_by_id ON invitations (id);
ALTER TABLE invitations ADD COLUMN revoked_at INTEGER;
CREATE INDEX invitations_open_by_sender ON invitations (invited_by) WHERE used_at IS NULL AND revoked_at IS NULL;

ALTER TABLE break_glass ADD COLUMN ended_early INTEGER NOT NULL DEFAULT 0 CHECK (ended_early IN (0, 1));

CREATE INDEX sessions_open_by_expiry ON sessions (expires_at) WHERE ended_at IS NULL;

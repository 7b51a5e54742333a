-- End-to-end encrypted messaging, first part: MLS devices with the certificate the
-- server (as Authentication Service) issued them, and the KeyPackage directory.

CREATE TABLE mls_devices (
    id            TEXT PRIMARY KEY NOT NULL,
    org_id        TEXT NOT NULL REFERENCES organisations (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    signature_key BLOB NOT NULL UNIQUE,
    certificate   BLOB NOT NULL,
    -- Released only to the owner's signed-in sessions: it unlocks the browser's store.
    state_key     BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    not_after     INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoked_why   TEXT
) STRICT;
CREATE INDEX mls_devices_by_user ON mls_devices (user_id) WHERE revoked_at IS NULL;
CREATE INDEX mls_devices_revoked ON mls_devices (org_id, not_after) WHERE revoked_at IS NOT NULL;

CREATE TABLE key_packages (
    reference   BLOB PRIMARY KEY NOT NULL,
    device_id   TEXT NOT NULL REFERENCES mls_devices (id),
    last_resort INTEGER NOT NULL CHECK (last_resort IN (0, 1)),
    not_after   INTEGER NOT NULL,
    body        BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX key_packages_by_device ON key_packages (device_id, last_resort, created_at);

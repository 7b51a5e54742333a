-- Identity: organisations (tenants), users and their devices, sessions, invitations,
-- care teams and emergency ("break glass") access. Secrets are stored only as hashes:
-- session and invitation tokens as SHA-256, passwords as argon2id.

CREATE TABLE organisations (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    -- host[:port] this organisation is served on; the default organisation has none.
    host              TEXT UNIQUE,
    is_default        INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    idle_timeout_secs INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX organisations_one_default ON organisations (is_default) WHERE is_default = 1;

CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    org_id         TEXT NOT NULL REFERENCES organisations (id),
    email          TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('patient', 'clinician', 'staff', 'admin', 'auditor')),
    password_hash  TEXT NOT NULL,
    totp_secret    BLOB,
    totp_pending   BLOB,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at     INTEGER NOT NULL,
    UNIQUE (org_id, email)
) STRICT;

CREATE TABLE devices (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash   BLOB PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    device_id    TEXT NOT NULL REFERENCES devices (id),
    -- 'totp': password accepted, code due; 'enrol': must set up a code first; 'full'.
    stage        TEXT NOT NULL CHECK (stage IN ('totp', 'enrol', 'full')),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    end_reason   TEXT
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE invitations (
    token_hash   BLOB PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    role         TEXT NOT NULL CHECK (role IN ('patient', 'clinician', 'staff', 'admin', 'auditor')),
    email        TEXT NOT NULL,
    display_name TEXT NOT NULL,
    invited_by   TEXT NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT;

CREATE TABLE care_team (
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    clinician_id TEXT NOT NULL REFERENCES users (id),
    patient_id   TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (clinician_id, patient_id)
) STRICT;

CREATE TABLE break_glass (
    id           TEXT PRIMARY KEY NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    clinician_id TEXT NOT NULL REFERENCES users (id),
    patient_id   TEXT NOT NULL REFERENCES users (id),
    reason       TEXT NOT NULL,
    granted_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX break_glass_by_patient ON break_glass (patient_id);

-- End-to-end encrypted messaging, second part: conversations, the devices in each with
-- what they have acknowledged, and one ordered log of MLS ciphertext per conversation.

CREATE TABLE conversations (
    id         TEXT PRIMARY KEY NOT NULL,
    org_id     TEXT NOT NULL REFERENCES organisations (id),
    -- Whose care the conversation is about: the patient and their care team talk in it.
    patient_id TEXT NOT NULL REFERENCES users (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    -- The MLS epoch the accepted commits have reached; a commit is taken only for it.
    epoch      INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL
) STRICT;
CREATE INDEX conversations_by_patient ON conversations (patient_id);

CREATE TABLE conversation_devices (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    device_id       TEXT NOT NULL REFERENCES mls_devices (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    -- The commit that added the device (0: it created the conversation). It receives
    -- that commit's Welcome, then every message after it.
    joined_seq      INTEGER NOT NULL,
    -- The commit that removed it: it receives messages up to and including that one.
    left_seq        INTEGER,
    acked_seq       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, device_id)
) STRICT;
CREATE INDEX conversation_devices_by_device ON conversation_devices (device_id);
CREATE INDEX conversation_devices_by_user ON conversation_devices (user_id);

CREATE TABLE mls_messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('application', 'commit')),
    epoch           INTEGER NOT NULL,
    sender_device   TEXT NOT NULL REFERENCES mls_devices (id),
    body            BLOB NOT NULL,
    -- For a commit that adds devices: the Welcome they receive in its place.
    welcome         BLOB,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) STRICT;
CREATE INDEX mls_messages_commit_by_epoch ON mls_messages (conversation_id, epoch) WHERE kind = 'commit';
CREATE INDEX mls_messages_by_expiry ON mls_messages (expires_at);

-- Encrypted attachments: the bytes live in the data directory's `attachments/` folder,
-- named by id; the key that opens them travels only inside MLS messages.
CREATE TABLE attachments (
    id              TEXT PRIMARY KEY NOT NULL,
    org_id          TEXT NOT NULL REFERENCES organisations (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    uploaded_by     TEXT NOT NULL REFERENCES users (id),
    size            INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_by_expiry ON attachments (expires_at);

-- Proof of possession for device registration: a signed-in session asks for a challenge,
-- and the key it registers must sign it. A challenge is taken once (deleted), only by the
-- session it was issued to, before it expires; expired ones are deleted whenever a new one
-- is issued, and a session holds only a few unused ones.
CREATE TABLE mls_device_challenges (
    challenge    BLOB PRIMARY KEY NOT NULL,
    session_hash BLOB NOT NULL REFERENCES sessions (token_hash) ON DELETE CASCADE,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX mls_device_challenges_by_session ON mls_device_challenges (session_hash);
CREATE INDEX mls_device_challenges_by_expiry ON mls_device_challenges (expires_at);

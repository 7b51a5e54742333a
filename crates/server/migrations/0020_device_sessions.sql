-- The sessions that registered or unlocked (received the state key of) each encryption
-- device: revoking the device ends them, so the browser that held it cannot go on, nor
-- register a new device, with the same session.
CREATE TABLE device_sessions (
    device_id  TEXT NOT NULL REFERENCES mls_devices (id),
    token_hash BLOB NOT NULL,
    PRIMARY KEY (device_id, token_hash)
) STRICT;

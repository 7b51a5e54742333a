-- The KeyPackage directory and the Authentication Service under abuse.
--
-- Claims are bounded per claimer and per device within an hour: each package handed out
-- is a row here, deleted once it falls out of the window, and counted inside the claim's
-- write transaction.
CREATE TABLE key_package_claims (
    claimer_id TEXT NOT NULL REFERENCES users (id),
    device_id  TEXT NOT NULL REFERENCES mls_devices (id),
    one_time   INTEGER NOT NULL CHECK (one_time IN (0, 1)),
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX key_package_claims_by_claimer ON key_package_claims (claimer_id, at);
CREATE INDEX key_package_claims_by_device ON key_package_claims (device_id, at);
CREATE INDEX key_package_claims_by_time ON key_package_claims (at);

-- Until when a KeyPackage of the device that someone other than its owner received may
-- still be valid: while it may, a revoked device stays on the revocation list.
ALTER TABLE mls_devices ADD COLUMN handed_out_until INTEGER;

-- Registrations per person per day are counted by when each device was registered.
CREATE INDEX mls_devices_by_registration ON mls_devices (user_id, created_at);

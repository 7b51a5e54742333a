-- The highest version of each device's sealed browser state that sent a message
-- (issue 22): kept next to its state key, so a state put back in the browser is refused.
ALTER TABLE mls_devices ADD COLUMN state_version INTEGER NOT NULL DEFAULT 0;

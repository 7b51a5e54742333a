-- How far each device's person has read a conversation, as the device reported it:
-- the audit log records each move forward once (the read marks the other members see
-- travel end-to-end encrypted).
ALTER TABLE conversation_devices ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;

-- A message sent twice (its sender reconnected before hearing "accepted", or someone
-- replays captured ciphertext) is stored once: the digest of each message's bytes is
-- unique. MLS ciphertext names its group, so the same bytes never belong in two
-- conversations either. Rows written before this migration have none.
ALTER TABLE mls_messages ADD COLUMN digest BLOB;
CREATE UNIQUE INDEX mls_messages_by_digest ON mls_messages (digest);

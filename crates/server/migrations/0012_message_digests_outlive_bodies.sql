-- A delivered message's ciphertext is emptied once every member device acknowledged it,
-- but its row (digest, place, sender) stays until it expires, so a replay of it is
-- still recognised. The duty finds the messages still holding ciphertext by this index.
CREATE INDEX mls_messages_holding ON mls_messages (conversation_id, seq) WHERE length(body) > 0;

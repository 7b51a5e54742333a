-- Each conversation's public group state (RFC 9420 §16.2): what the Delivery Service
-- checks every commit against before sequencing it, and reads who joins and who leaves
-- from. Started from the creator's GroupInfo with the first commit.
ALTER TABLE conversations ADD COLUMN public_state BLOB;

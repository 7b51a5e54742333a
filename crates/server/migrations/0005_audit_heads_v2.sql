-- Signed tree heads now name their organisation inside what is signed (format v2), so
-- one tenant's head cannot be passed off as another's. Heads signed in the v1 format
-- are kept apart, for the record, and never served again; v2 heads are signed from here.

ALTER TABLE audit_heads RENAME TO audit_heads_v1;

CREATE TABLE audit_heads (
    org_id    TEXT NOT NULL,
    tree_size INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    root      BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (org_id, tree_size)
) STRICT;

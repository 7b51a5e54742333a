-- The audit log: one append-only Merkle tree per organisation. `payload` is the exact
-- JSON whose leaf hash is stored at level 0 of `audit_nodes`; the other columns only
-- serve search. `audit_nodes` holds the perfect subtrees, which never change once
-- complete, so any root or proof costs a few reads. `audit_heads` keeps every signed
-- tree head.

CREATE TABLE audit_entries (
    org_id     TEXT NOT NULL REFERENCES organisations (id),
    idx        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    actor_user TEXT,
    action     TEXT NOT NULL,
    patient    TEXT,
    payload    TEXT NOT NULL,
    PRIMARY KEY (org_id, idx)
) STRICT;
CREATE INDEX audit_by_actor ON audit_entries (org_id, actor_user, idx);
CREATE INDEX audit_by_patient ON audit_entries (org_id, patient, idx);
CREATE INDEX audit_by_action ON audit_entries (org_id, action, idx);
CREATE INDEX audit_by_time ON audit_entries (org_id, at);

CREATE TABLE audit_nodes (
    org_id TEXT NOT NULL,
    level  INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (org_id, level, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_heads (
    org_id    TEXT NOT NULL,
    tree_size INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    root      BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (org_id, tree_size)
) STRICT;

-- Break-glass grants whose end has been written to the audit log.
ALTER TABLE break_glass ADD COLUMN end_audited INTEGER NOT NULL DEFAULT 0;

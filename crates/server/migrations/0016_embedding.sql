-- Embedding: the partner origins whose pages may show an organisation's Haven in an
-- iframe. The Content-Security-Policy's `frame-ancestors` names exactly these for that
-- organisation's hosts, and `'none'` when there are none.
CREATE TABLE organisation_embed_origins (
    org_id     TEXT NOT NULL REFERENCES organisations (id),
    origin     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, origin)
) STRICT;

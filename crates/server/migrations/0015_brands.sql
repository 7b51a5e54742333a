-- White label: how each organisation presents itself, as data. The name stays in
-- `organisations.name`; colours are the validated JSON of `BrandColours`. A logo is kept
-- by the SHA-256 of its bytes and served at /api/brand/logo/{hash} on the organisation's
-- hosts only. An organisation without a row here looks like Haven.
CREATE TABLE organisation_brands (
    org_id     TEXT PRIMARY KEY REFERENCES organisations (id),
    colours    TEXT NOT NULL,
    support    TEXT NOT NULL,
    language   TEXT NOT NULL,
    logo_hash  TEXT,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE brand_logos (
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    hash         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, hash)
) STRICT;

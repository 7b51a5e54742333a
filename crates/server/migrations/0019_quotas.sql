-- Storage quotas: what one device, one person and one organisation may store, per day
-- and held at once.
--
-- Bytes written are counted per scope (`device:<id>`, `person:<id>`, `org:<id>`) and
-- per day (Unix seconds / 86400). Everything stored expires within the retention period
-- (30 days), so what a scope holds is at most what it wrote in the last 31 days: the sum
-- of its rows here, counted before anything is collected early. Rows older than that are
-- deleted by the delivery duty.
CREATE TABLE storage_written (
    scope TEXT NOT NULL,
    day   INTEGER NOT NULL,
    bytes INTEGER NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (scope, day)
) STRICT;
CREATE INDEX storage_written_by_day ON storage_written (day);

-- An organisation's own quotas, set by its administrators; without a row the defaults
-- (`haven_protocol::messaging::Quotas::default`) apply.
CREATE TABLE organisation_quotas (
    org_id               TEXT PRIMARY KEY REFERENCES organisations (id),
    device_bytes_per_day INTEGER NOT NULL,
    device_bytes_held    INTEGER NOT NULL,
    person_bytes_per_day INTEGER NOT NULL,
    person_bytes_held    INTEGER NOT NULL,
    org_bytes_per_day    INTEGER NOT NULL,
    org_bytes_held       INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

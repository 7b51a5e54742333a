-- Tenancy by host: each organisation is served on one or more host names, each with the
-- public origin users reach it at (the same host, or the one a proxy in front presents).
-- A request's Host picks the organisation; a host that is not here (nor the default
-- organisation's configured or loopback host) gets "no such clinic". `host` is the
-- normalised `host[:port]` as in a Host header. `organisations.host` is no longer read.
CREATE TABLE organisation_hosts (
    host       TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organisations (id),
    origin     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX organisation_hosts_by_org ON organisation_hosts (org_id);

INSERT INTO organisation_hosts (host, org_id, origin, created_at)
    SELECT host, id, 'https://' || host, created_at FROM organisations WHERE host IS NOT NULL;

-- kspm history schema, version 1. The same statements run on SQLite and PostgreSQL: only TEXT
-- and BIGINT columns, application-generated keys.
CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    target TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    replica TEXT NOT NULL,
    clusters BIGINT NOT NULL,
    findings BIGINT NOT NULL,
    attack_paths BIGINT NOT NULL,
    errors BIGINT NOT NULL
);
CREATE INDEX scans_by_target ON scans (tenant, target, finished_at);
CREATE TABLE scan_clusters (
    scan_id TEXT NOT NULL,
    cluster TEXT NOT NULL,
    summary TEXT NOT NULL,
    compliance TEXT NOT NULL,
    facts TEXT NOT NULL,
    graph TEXT NOT NULL,
    PRIMARY KEY (scan_id, cluster)
);
CREATE TABLE findings (
    scan_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    cluster TEXT NOT NULL,
    check_id TEXT NOT NULL,
    severity BIGINT NOT NULL,
    namespace TEXT NOT NULL,
    on_path BIGINT NOT NULL,
    controls TEXT NOT NULL,
    fkey TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (scan_id, seq)
);
CREATE TABLE paths (
    scan_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    path_id TEXT NOT NULL,
    cluster TEXT NOT NULL,
    target TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (scan_id, seq)
);
CREATE TABLE leases (
    tenant TEXT NOT NULL,
    target TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    next_due BIGINT NOT NULL,
    PRIMARY KEY (tenant, target)
)

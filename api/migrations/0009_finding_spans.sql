-- kspm history schema, version 9: findings stored by difference. Each scan of a target gets an
-- ordinal (1, 2, ... in commit order), and a finding is one row for the stretch of consecutive
-- scans that report it the same: from the first such scan's ordinal to the first that does not
-- (to_ord, 9223372036854775807 while it is still reported). An unchanged rescan writes no finding.
-- The findings of scans stored before are converted when this version is applied.
ALTER TABLE scans ADD COLUMN ordinal BIGINT NOT NULL DEFAULT 0;
CREATE TABLE finding_spans (
    tenant TEXT NOT NULL,
    target TEXT NOT NULL,
    hash TEXT NOT NULL,
    from_ord BIGINT NOT NULL,
    to_ord BIGINT NOT NULL,
    sort_key TEXT NOT NULL,
    cluster TEXT NOT NULL,
    check_id TEXT NOT NULL,
    severity BIGINT NOT NULL,
    namespace TEXT NOT NULL,
    on_path BIGINT NOT NULL,
    controls TEXT NOT NULL,
    fkey TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, target, hash, from_ord)
);
CREATE INDEX finding_spans_alive ON finding_spans (tenant, target, to_ord, from_ord)

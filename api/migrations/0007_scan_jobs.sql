-- kspm history schema, version 7: scan jobs clients asked for (TriggerScan), so that any replica
-- answers GetScanJob: what the job is doing, when it ended, the scan it committed or why it failed.
-- `updated_at` is renewed while the job runs: a job whose replica stopped is seen as abandoned.
CREATE TABLE scan_jobs (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    replica TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    scan_id TEXT NOT NULL
);
CREATE INDEX scan_jobs_by_tenant ON scan_jobs (tenant, created_at)

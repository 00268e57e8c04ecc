-- kspm history schema, version 6: exceptions (accepted risks) a tenant manages through the API,
-- applied to its next scans, and the audit of every change to them.
CREATE TABLE exceptions (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    check_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    cluster TEXT NOT NULL,
    reason TEXT NOT NULL,
    expires TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expired_at BIGINT NOT NULL
);
CREATE INDEX exceptions_by_tenant ON exceptions (tenant, created_at);
CREATE TABLE exception_audit (
    tenant TEXT NOT NULL,
    exception_id TEXT NOT NULL,
    action TEXT NOT NULL,
    author TEXT NOT NULL,
    at BIGINT NOT NULL
)

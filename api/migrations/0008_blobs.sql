-- kspm history schema, version 8: large parts of a scan (attack graphs, posture digests) stored
-- once, compressed, by content: a scan's column holds `zstd:<hash>` and the body lives here, shared
-- by every scan of the tenant whose part is the same (an unchanged rescan adds no body). `used_at`
-- is renewed by each scan that refers to it, and bodies no scan refers to go after an hour unused.
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    body BYTEA NOT NULL,
    used_at BIGINT NOT NULL
)

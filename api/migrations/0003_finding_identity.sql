-- kspm history schema, version 3: a finding's identity across scans (the engine's fingerprint)
-- and when the target's history first showed it, carried from scan to scan.
ALTER TABLE findings ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN first_seen BIGINT NOT NULL DEFAULT 0

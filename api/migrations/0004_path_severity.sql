-- kspm history schema, version 4: each attack path's severity, so that posture counts paths per
-- cluster and severity in the database.
ALTER TABLE paths ADD COLUMN severity BIGINT NOT NULL DEFAULT 0

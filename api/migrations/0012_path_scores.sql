-- kspm history schema, version 12: each attack path's score on its row, so that ListAttackPaths
-- counts, ranks and pages in the database and reads only the bodies of the scans on its page.
-- Paths stored before have no score: their scans are listed from their bodies, as before.
ALTER TABLE paths ADD COLUMN score DOUBLE PRECISION;
CREATE INDEX paths_by_score ON paths (scan_id, score)

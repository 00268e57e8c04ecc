-- kspm history schema, version 10: a scan's attack paths are stored as one body (a blob, shared
-- by the scans whose paths are the same) referred to from its graph row, and the paths table keeps a
-- row per path, without its body, for counting. Paths stored before keep their bodies.
ALTER TABLE scan_graphs ADD COLUMN paths TEXT NOT NULL DEFAULT ''

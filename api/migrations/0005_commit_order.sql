-- kspm history schema, version 5: the order in which scans were committed, across replicas (a
-- counter row taken inside each commit's transaction), so that an event stream can resume after
-- a scan and lose none committed after it.
CREATE TABLE commit_counter (
    id BIGINT PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO commit_counter (id, n) VALUES (1, 0);
ALTER TABLE scans ADD COLUMN commit_seq BIGINT NOT NULL DEFAULT 0

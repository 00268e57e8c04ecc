-- kspm history schema, version 11: each target's ordinal counter, which only goes up (pruning
-- never hands an ordinal out again), taken as the first write of every commit so that a target's
-- commits, on any replica, follow one another. The index on the report order is written per
-- database (byte order: COLLATE "C" on PostgreSQL) after this file.
CREATE TABLE target_ordinals (
    tenant TEXT NOT NULL,
    target TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant, target)
);
INSERT INTO target_ordinals (tenant, target, n)
    SELECT tenant, target, MAX(ordinal) FROM scans GROUP BY tenant, target

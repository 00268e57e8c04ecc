-- kspm history schema, version 2: the fleet graph of each scan (every cluster of the target
-- joined with the cloud bridges), so that queries see what the scan's paths were found in.
CREATE TABLE scan_graphs (
    scan_id TEXT PRIMARY KEY,
    graph TEXT NOT NULL
)

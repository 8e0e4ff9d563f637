-- A build waiting for a host belongs to the API process that accepted it (scheduling_owner); that
-- process renews one lease row every few seconds instead of every waiting build's updated_at, so a
-- queue of thousands of builds costs one UPDATE per renewal. Recovery fails a waiting build only
-- when its owner's lease ran out (or it has no owner and its updated_at is old).
CREATE TABLE scheduling_leases (
  owner VARCHAR(64) PRIMARY KEY,
  renewed_at BIGINT NOT NULL
);
ALTER TABLE instances ADD COLUMN scheduling_owner VARCHAR(64);

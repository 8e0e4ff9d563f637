-- The rest of a server's life (issue 16): who locked an instance, and Nova's instance system
-- metadata (locked_reason, shelved_image_id, shelved_at, rescue image …) as key/value rows, so
-- lifecycle flows add keys without new columns. Portable SQL (SQLite and PostgreSQL).

ALTER TABLE instances ADD COLUMN locked_by VARCHAR(16);

CREATE TABLE instance_system_metadata (
  instance_uuid VARCHAR(36) NOT NULL,
  meta_key VARCHAR(255) NOT NULL,
  meta_value TEXT NOT NULL,
  PRIMARY KEY (instance_uuid, meta_key)
);

-- Host aggregates (Nova's os-aggregates): metadata, including availability_zone, as key/value
-- rows; a host's zone is its aggregates' availability_zone, written through to
-- compute_services.availability_zone so the scheduler and the zone listing read one column.
INSERT INTO compute_id_counters (name, next_value) VALUES ('aggregates', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('server_groups', 1);

CREATE TABLE aggregates (
  id BIGINT PRIMARY KEY,
  uuid VARCHAR(36) NOT NULL UNIQUE,
  name VARCHAR(255) NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE aggregate_hosts (
  aggregate_id BIGINT NOT NULL REFERENCES aggregates (id) ON DELETE CASCADE,
  host VARCHAR(255) NOT NULL,
  PRIMARY KEY (aggregate_id, host)
);

CREATE TABLE aggregate_metadata (
  aggregate_id BIGINT NOT NULL REFERENCES aggregates (id) ON DELETE CASCADE,
  meta_key VARCHAR(255) NOT NULL,
  meta_value VARCHAR(255) NOT NULL,
  PRIMARY KEY (aggregate_id, meta_key)
);

-- Server groups (Nova's os-server-groups): one policy, its rules (max_server_per_host) as JSON,
-- members by instance uuid. claim_seq is bumped by every claim of a member, which serialises
-- the claims of one group's members (row lock on PostgreSQL, the write lock on SQLite).
CREATE TABLE server_groups (
  id BIGINT PRIMARY KEY,
  uuid VARCHAR(36) NOT NULL UNIQUE,
  name VARCHAR(255) NOT NULL,
  project_id VARCHAR(255) NOT NULL,
  user_id VARCHAR(255) NOT NULL,
  policy VARCHAR(64) NOT NULL,
  rules_json TEXT NOT NULL,
  claim_seq BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE server_group_members (
  group_id BIGINT NOT NULL REFERENCES server_groups (id) ON DELETE CASCADE,
  instance_uuid VARCHAR(36) NOT NULL,
  PRIMARY KEY (group_id, instance_uuid)
);
CREATE INDEX server_group_members_instance_idx ON server_group_members (instance_uuid);

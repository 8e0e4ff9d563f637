-- Compute tables (flavors, key pairs, instances, actions, migrations, compute nodes, services,
-- quotas). Portable SQL: the same file runs on SQLite and PostgreSQL, so no vendor types and no
-- auto-increment columns; numeric ids come from compute_id_counters (see ComputeIds).
-- Times are epoch milliseconds (BIGINT); booleans are BOOLEAN (SQLite stores 0/1).

CREATE TABLE compute_id_counters (
  name VARCHAR(64) PRIMARY KEY,
  next_value BIGINT NOT NULL
);
INSERT INTO compute_id_counters (name, next_value) VALUES ('instances', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('flavors', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('key_pairs', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('instance_actions', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('instance_action_events', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('instance_faults', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('migrations', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('compute_nodes', 1);
INSERT INTO compute_id_counters (name, next_value) VALUES ('services', 1);

CREATE TABLE flavors (
  id BIGINT PRIMARY KEY,
  flavorid VARCHAR(255) NOT NULL UNIQUE,
  name VARCHAR(255) NOT NULL UNIQUE,
  memory_mb INTEGER NOT NULL,
  vcpus INTEGER NOT NULL,
  root_gb INTEGER NOT NULL,
  ephemeral_gb INTEGER NOT NULL,
  swap_mb INTEGER NOT NULL,
  rxtx_factor DOUBLE PRECISION NOT NULL,
  is_public BOOLEAN NOT NULL,
  disabled BOOLEAN NOT NULL,
  description TEXT,
  created_at BIGINT NOT NULL
);

CREATE TABLE flavor_extra_specs (
  flavor_id BIGINT NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
  spec_key VARCHAR(255) NOT NULL,
  spec_value VARCHAR(255) NOT NULL,
  PRIMARY KEY (flavor_id, spec_key)
);

CREATE TABLE flavor_projects (
  flavor_id BIGINT NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
  project_id VARCHAR(255) NOT NULL,
  PRIMARY KEY (flavor_id, project_id)
);

CREATE TABLE key_pairs (
  id BIGINT PRIMARY KEY,
  user_id VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  key_type VARCHAR(16) NOT NULL,
  fingerprint VARCHAR(255) NOT NULL,
  public_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (user_id, name)
);

CREATE TABLE instances (
  id BIGINT PRIMARY KEY,
  uuid VARCHAR(36) NOT NULL UNIQUE,
  display_name VARCHAR(255) NOT NULL,
  description TEXT,
  hostname VARCHAR(255) NOT NULL,
  project_id VARCHAR(255) NOT NULL,
  user_id VARCHAR(255) NOT NULL,
  flavor_json TEXT NOT NULL,
  image_ref VARCHAR(255) NOT NULL,
  vm_state VARCHAR(32) NOT NULL,
  task_state VARCHAR(64),
  power_state INTEGER NOT NULL,
  host VARCHAR(255),
  node VARCHAR(255),
  availability_zone VARCHAR(255),
  metadata_json TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  user_data TEXT,
  key_name VARCHAR(255),
  key_data TEXT,
  config_drive BOOLEAN NOT NULL,
  launch_index INTEGER NOT NULL,
  reservation_id VARCHAR(255) NOT NULL,
  progress INTEGER NOT NULL,
  locked BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  launched_at BIGINT,
  terminated_at BIGINT,
  deleted_at BIGINT,
  deleted BOOLEAN NOT NULL
);
CREATE INDEX instances_project_idx ON instances (project_id, deleted);
CREATE INDEX instances_host_idx ON instances (host, deleted);

CREATE TABLE instance_faults (
  id BIGINT PRIMARY KEY,
  instance_uuid VARCHAR(36) NOT NULL,
  code INTEGER NOT NULL,
  message TEXT NOT NULL,
  details TEXT,
  host VARCHAR(255),
  created_at BIGINT NOT NULL
);
CREATE INDEX instance_faults_uuid_idx ON instance_faults (instance_uuid);

CREATE TABLE instance_actions (
  id BIGINT PRIMARY KEY,
  request_id VARCHAR(255) NOT NULL,
  instance_uuid VARCHAR(36) NOT NULL,
  action VARCHAR(255) NOT NULL,
  project_id VARCHAR(255) NOT NULL,
  user_id VARCHAR(255) NOT NULL,
  message TEXT,
  start_time BIGINT NOT NULL,
  finish_time BIGINT,
  updated_at BIGINT NOT NULL
);
CREATE INDEX instance_actions_uuid_idx ON instance_actions (instance_uuid, request_id);

CREATE TABLE instance_action_events (
  id BIGINT PRIMARY KEY,
  action_id BIGINT NOT NULL REFERENCES instance_actions (id) ON DELETE CASCADE,
  event VARCHAR(255) NOT NULL,
  host VARCHAR(255),
  result VARCHAR(255),
  traceback TEXT,
  start_time BIGINT NOT NULL,
  finish_time BIGINT
);
CREATE INDEX instance_action_events_action_idx ON instance_action_events (action_id);

CREATE TABLE migrations (
  id BIGINT PRIMARY KEY,
  uuid VARCHAR(36) NOT NULL UNIQUE,
  instance_uuid VARCHAR(36) NOT NULL,
  migration_type VARCHAR(32) NOT NULL,
  status VARCHAR(32) NOT NULL,
  source_compute VARCHAR(255),
  source_node VARCHAR(255),
  dest_compute VARCHAR(255),
  dest_node VARCHAR(255),
  dest_host VARCHAR(255),
  old_flavor_json TEXT,
  new_flavor_json TEXT,
  memory_total BIGINT,
  memory_processed BIGINT,
  memory_remaining BIGINT,
  disk_total BIGINT,
  disk_processed BIGINT,
  disk_remaining BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX migrations_instance_idx ON migrations (instance_uuid);

CREATE TABLE compute_services (
  id BIGINT PRIMARY KEY,
  uuid VARCHAR(36) NOT NULL UNIQUE,
  host VARCHAR(255) NOT NULL,
  service_binary VARCHAR(255) NOT NULL,
  topic VARCHAR(255) NOT NULL,
  availability_zone VARCHAR(255) NOT NULL,
  disabled BOOLEAN NOT NULL,
  disabled_reason VARCHAR(255),
  forced_down BOOLEAN NOT NULL,
  last_seen_up BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (host, service_binary)
);

CREATE TABLE compute_nodes (
  id BIGINT PRIMARY KEY,
  uuid VARCHAR(36) NOT NULL UNIQUE,
  host VARCHAR(255) NOT NULL,
  hypervisor_hostname VARCHAR(255) NOT NULL,
  hypervisor_type VARCHAR(255) NOT NULL,
  hypervisor_version BIGINT NOT NULL,
  host_ip VARCHAR(64) NOT NULL,
  vcpus INTEGER NOT NULL,
  vcpus_used INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  memory_mb_used INTEGER NOT NULL,
  local_gb INTEGER NOT NULL,
  local_gb_used INTEGER NOT NULL,
  disk_available_least INTEGER NOT NULL,
  running_vms INTEGER NOT NULL,
  cpu_info TEXT NOT NULL,
  claim_seq BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (host, hypervisor_hostname)
);

CREATE TABLE quota_defaults (
  resource VARCHAR(255) PRIMARY KEY,
  hard_limit BIGINT NOT NULL
);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('instances', 10);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('cores', 20);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('ram', 51200);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('key_pairs', 100);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('metadata_items', 128);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('injected_files', 5);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('injected_file_content_bytes', 10240);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('injected_file_path_bytes', 255);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('server_groups', 10);
INSERT INTO quota_defaults (resource, hard_limit) VALUES ('server_group_members', 10);

CREATE TABLE quotas (
  project_id VARCHAR(255) NOT NULL,
  resource VARCHAR(255) NOT NULL,
  hard_limit BIGINT NOT NULL,
  PRIMARY KEY (project_id, resource)
);

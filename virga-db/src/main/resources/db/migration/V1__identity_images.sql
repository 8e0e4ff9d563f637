-- Identity (Keystone v3 subset) and image (Glance v2 subset) tables.
-- Portable SQL for SQLite and PostgreSQL: timestamps are BIGINT epoch milliseconds (UTC),
-- ids VARCHAR, flags BOOLEAN (see io.virga.db.Database).

CREATE TABLE projects (
  id          VARCHAR(64)  NOT NULL PRIMARY KEY,
  name        VARCHAR(255) NOT NULL,
  domain_id   VARCHAR(64)  NOT NULL,
  description TEXT,
  enabled     BOOLEAN      NOT NULL,
  created_at  BIGINT       NOT NULL,
  CONSTRAINT projects_domain_name UNIQUE (domain_id, name)
);

CREATE TABLE users (
  id                 VARCHAR(64)  NOT NULL PRIMARY KEY,
  name               VARCHAR(255) NOT NULL,
  domain_id          VARCHAR(64)  NOT NULL,
  password_hash      VARCHAR(255) NOT NULL,
  enabled            BOOLEAN      NOT NULL,
  default_project_id VARCHAR(64)  REFERENCES projects (id) ON DELETE SET NULL,
  created_at         BIGINT       NOT NULL,
  CONSTRAINT users_domain_name UNIQUE (domain_id, name)
);

CREATE TABLE roles (
  id   VARCHAR(64)  NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  CONSTRAINT roles_name UNIQUE (name)
);

CREATE TABLE role_assignments (
  user_id    VARCHAR(64) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  project_id VARCHAR(64) NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  role_id    VARCHAR(64) NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, project_id, role_id)
);

-- Only the SHA-256 of a token id is stored: a database dump does not hand out valid tokens.
CREATE TABLE tokens (
  id_hash    VARCHAR(64) NOT NULL PRIMARY KEY,
  user_id    VARCHAR(64) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  project_id VARCHAR(64) REFERENCES projects (id) ON DELETE CASCADE,
  audit_id   VARCHAR(64) NOT NULL,
  methods    VARCHAR(255) NOT NULL,
  issued_at  BIGINT      NOT NULL,
  expires_at BIGINT      NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE images (
  id               VARCHAR(64)  NOT NULL PRIMARY KEY,
  name             VARCHAR(255),
  status           VARCHAR(32)  NOT NULL,
  visibility       VARCHAR(32)  NOT NULL,
  owner            VARCHAR(64),
  disk_format      VARCHAR(32),
  container_format VARCHAR(32),
  size             BIGINT,
  virtual_size     BIGINT,
  checksum         VARCHAR(32),
  os_hash_algo     VARCHAR(64),
  os_hash_value    VARCHAR(128),
  min_disk         INTEGER      NOT NULL,
  min_ram          INTEGER      NOT NULL,
  protected        BOOLEAN      NOT NULL,
  os_hidden        BOOLEAN      NOT NULL,
  created_at       BIGINT       NOT NULL,
  updated_at       BIGINT       NOT NULL
);
CREATE INDEX images_owner ON images (owner);
CREATE INDEX images_created_at ON images (created_at);

CREATE TABLE image_properties (
  image_id VARCHAR(64)  NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  name     VARCHAR(255) NOT NULL,
  value    TEXT         NOT NULL,
  PRIMARY KEY (image_id, name)
);

CREATE TABLE image_tags (
  image_id VARCHAR(64)  NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  value    VARCHAR(255) NOT NULL,
  PRIMARY KEY (image_id, value)
);

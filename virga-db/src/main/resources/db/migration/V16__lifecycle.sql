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

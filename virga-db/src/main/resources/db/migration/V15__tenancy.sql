-- Tenancy (issue 15): Glance image members, the server's access IPs, user descriptions.
-- Portable SQL for SQLite and PostgreSQL (see io.virga.db.Database).

-- An image shared with another project (Glance v2 members); status pending|accepted|rejected.
CREATE TABLE image_members (
  image_id   VARCHAR(64)  NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  member_id  VARCHAR(255) NOT NULL,
  status     VARCHAR(16)  NOT NULL,
  created_at BIGINT       NOT NULL,
  updated_at BIGINT       NOT NULL,
  PRIMARY KEY (image_id, member_id)
);
CREATE INDEX image_members_member ON image_members (member_id);

ALTER TABLE instances ADD COLUMN access_ip_v4 VARCHAR(39);
ALTER TABLE instances ADD COLUMN access_ip_v6 VARCHAR(39);

ALTER TABLE users ADD COLUMN description TEXT;
ALTER TABLE users ADD COLUMN email VARCHAR(255);

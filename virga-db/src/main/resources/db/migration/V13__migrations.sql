-- Resize, cold and live migration (issues 13 and 14). The migrations table exists since V2; this
-- adds what the flows and the os-migrations API need. One ALTER per column: SQLite takes only one
-- ADD COLUMN per statement. Portable SQL, as in V2.
ALTER TABLE migrations ADD COLUMN user_id VARCHAR(255);
ALTER TABLE migrations ADD COLUMN project_id VARCHAR(255);
ALTER TABLE migrations ADD COLUMN old_instance_type_id BIGINT;
ALTER TABLE migrations ADD COLUMN new_instance_type_id BIGINT;
-- the vm_state the instance had when the migration began: start it again only if it was active
ALTER TABLE migrations ADD COLUMN old_vm_state VARCHAR(32);
-- the step that failed, for the fault and the operator
ALTER TABLE migrations ADD COLUMN error_step VARCHAR(255);
CREATE INDEX migrations_status_idx ON migrations (status);

-- Nova keeps old_flavor/new_flavor on the instance while a resize waits for confirm or revert
ALTER TABLE instances ADD COLUMN old_flavor_json TEXT;
ALTER TABLE instances ADD COLUMN new_flavor_json TEXT;

-- GET /servers pages newest first by keyset (created_at, id) after a marker: with these an index
-- scan reads one page, not every instance, for all projects (admin) and for one project.
CREATE INDEX instances_list_idx ON instances (deleted, created_at, id);
CREATE INDEX instances_project_list_idx ON instances (project_id, deleted, created_at, id);

-- Endpoint filters (OS-EP-FILTER): a project with endpoints or endpoint groups
-- associated sees only those endpoints in its tokens' catalog; a project with none
-- sees the whole catalog (Keystone's return_all_endpoints_if_no_filter).
CREATE TABLE endpoint_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- JSON object: any of interface, service_id, region_id; an endpoint matches when
    -- it has every value given.
    filters     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE project_endpoints (
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, endpoint_id)
);
CREATE INDEX project_endpoints_endpoint_idx ON project_endpoints (endpoint_id);

CREATE TABLE project_endpoint_groups (
    project_id        TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    endpoint_group_id TEXT NOT NULL REFERENCES endpoint_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, endpoint_group_id)
);
CREATE INDEX project_endpoint_groups_group_idx ON project_endpoint_groups (endpoint_group_id);

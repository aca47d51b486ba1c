-- Image import tasks (Glance's interoperable import, method glance-direct). A task row
-- is the durable state of one import: the worker claims 'pending' rows, marks them
-- 'processing', and finishes them as 'success' or 'failure' with a message saying why.
-- A restart puts 'processing' rows back to 'pending', so an import survives it.

CREATE TABLE image_tasks (
    id         TEXT PRIMARY KEY,
    image_id   TEXT NOT NULL,
    owner      TEXT NOT NULL,
    user_id    TEXT,
    request_id TEXT,
    method     TEXT NOT NULL,
    status     TEXT NOT NULL,
    step       TEXT NOT NULL DEFAULT '',
    progress   BIGINT NOT NULL DEFAULT 0,
    message    TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX image_tasks_image ON image_tasks (image_id);
CREATE INDEX image_tasks_status ON image_tasks (status);

-- The platform every service shares: durable jobs, resource events, quota usage.

-- One table for all long work. A worker claims a pending job (or a running one whose
-- lease ran out) by setting lease_owner and lease_expires_at in one conditional
-- update, renews the lease while it works, and records each finished step, so a job
-- interrupted anywhere (kill -9, a lost host) is taken over from its last step by
-- another worker or after a restart. `payload` is the job's input and checkpoint data
-- (JSON); `message` is for the user, `last_error` the cause for the operator.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    project_id       TEXT,
    user_id          TEXT,
    request_id       TEXT,
    payload          TEXT NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL,
    step             TEXT NOT NULL DEFAULT '',
    progress         BIGINT NOT NULL DEFAULT 0,
    message          TEXT NOT NULL DEFAULT '',
    attempts         BIGINT NOT NULL DEFAULT 0,
    max_attempts     BIGINT NOT NULL DEFAULT 5,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX jobs_claim ON jobs (kind, state, created_at);
CREATE INDEX jobs_subject ON jobs (subject, created_at);

-- Image import tasks become jobs of kind image.import (the Glance tasks view reads
-- them from here); one interrupted by the upgrade starts again.
INSERT INTO jobs (id, kind, subject, project_id, user_id, request_id, payload, state, step,
                  progress, message, created_at, updated_at)
SELECT id, 'image.import', image_id, owner, user_id, request_id,
       '{"method":"' || method || '"}',
       CASE status WHEN 'success' THEN 'succeeded' WHEN 'failure' THEN 'failed' ELSE 'pending' END,
       CASE status WHEN 'processing' THEN '' ELSE step END,
       progress, message, created_at, updated_at
FROM image_tasks;
DROP TABLE image_tasks;

-- Resource events, in the order they committed (seq is assigned under a lock, so a
-- reader that has seen seq N has seen everything before it). Consoles resume from the
-- last seq they saw; old events are pruned.
CREATE TABLE events (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    project_id  TEXT,
    public      BIGINT NOT NULL DEFAULT 0,
    kind        TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    action      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT '',
    progress    BIGINT,
    message     TEXT NOT NULL DEFAULT '',
    request_id  TEXT,
    user_id     TEXT,
    user_name   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_resource ON events (kind, resource_id, seq);
CREATE INDEX events_request ON events (request_id);
CREATE INDEX events_project ON events (project_id, seq);

-- What each project uses of each quota'd resource: a create claims here, in the same
-- transaction as its insert, with a conditional update that cannot pass the limit
-- however many creates run at once; a delete releases in its transaction.
CREATE TABLE quota_usage (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    in_use     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, resource)
);
INSERT INTO quota_usage (project_id, resource, in_use)
SELECT owner, 'images', COUNT(*) FROM images GROUP BY owner;

-- Ids of deleted images are kept and refused on create: a client-chosen id must not
-- bring back a deleted (perhaps public, trusted) image with other content (OSSN-0075).
CREATE TABLE image_deleted_ids (
    id         TEXT PRIMARY KEY,
    deleted_at TEXT NOT NULL
);

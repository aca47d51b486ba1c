-- Compute, part 2: server groups and their members, migrations (resize, cold and live
-- migration, evacuation: one row per move, as Nova's os-migrations shows them), and a
-- host an admin marks down (forced_down) so its servers may be evacuated.

CREATE TABLE server_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    -- affinity, anti-affinity, soft-affinity or soft-anti-affinity
    policy TEXT NOT NULL,
    -- anti-affinity's max_server_per_host (Nova's only rule); NULL: 1
    max_server_per_host BIGINT,
    created_at TEXT NOT NULL,
    -- Written first by every placement in the group: it serialises them, so two
    -- parallel creates cannot both take the same host of an anti-affinity group.
    updated_at TEXT NOT NULL
);
CREATE INDEX server_groups_project ON server_groups (project_id, created_at);

CREATE TABLE server_group_members (
    server_id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES server_groups (id) ON DELETE CASCADE
);
CREATE INDEX server_group_members_group ON server_group_members (group_id);

CREATE TABLE compute_migrations (
    id BIGINT PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    server_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    -- resize, migration, live-migration or evacuation
    migration_type TEXT NOT NULL,
    -- pre-migrating, migrating, finished (waiting for confirm), confirmed, reverting,
    -- reverted, completed, done, error
    status TEXT NOT NULL,
    source_host_id TEXT,
    source_compute TEXT,
    dest_host_id TEXT,
    dest_compute TEXT,
    old_flavor TEXT NOT NULL,
    new_flavor TEXT NOT NULL,
    -- Whether the guest ran when the move began (a stopped server stays stopped).
    was_running BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX compute_migrations_server ON compute_migrations (server_id, created_at);

ALTER TABLE compute_hosts ADD COLUMN forced_down BIGINT NOT NULL DEFAULT 0;

-- Console tokens: what `openstack console url show` and the console's tabs hand out.
-- Only the token's SHA-256 is kept; a token opens one server's console of one kind
-- until it expires.
CREATE TABLE console_tokens (
    token_hash TEXT PRIMARY KEY,
    server_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX console_tokens_expiry ON console_tokens (expires_at);

-- Compute: hosts (libvirt URIs with their capacity and what is claimed of it), the
-- claims themselves (one per placed server, so a release is exact and idempotent),
-- flavors and their access lists, key pairs, servers with tags, instance actions and
-- their events, and per-project compute quota limits.

CREATE TABLE compute_hosts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    uri TEXT NOT NULL UNIQUE,
    availability_zone TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    -- kvm, qemu (TCG) or test (simulated), and why (the probe's words).
    virt_type TEXT NOT NULL,
    virt_probe TEXT NOT NULL DEFAULT '',
    hypervisor_type TEXT NOT NULL DEFAULT '',
    hypervisor_version BIGINT NOT NULL DEFAULT 0,
    hostname TEXT NOT NULL DEFAULT '',
    cpu_model TEXT NOT NULL DEFAULT '',
    vcpus BIGINT NOT NULL,
    memory_mb BIGINT NOT NULL,
    disk_gb BIGINT NOT NULL,
    cpu_ratio DOUBLE PRECISION NOT NULL,
    ram_ratio DOUBLE PRECISION NOT NULL,
    disk_ratio DOUBLE PRECISION NOT NULL,
    vcpus_used BIGINT NOT NULL DEFAULT 0,
    memory_mb_used BIGINT NOT NULL DEFAULT 0,
    disk_gb_used BIGINT NOT NULL DEFAULT 0,
    running_vms BIGINT NOT NULL DEFAULT 0,
    -- up or down: whether the last call to libvirt worked.
    state TEXT NOT NULL DEFAULT 'up',
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE compute_allocations (
    server_id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES compute_hosts (id),
    vcpus BIGINT NOT NULL,
    memory_mb BIGINT NOT NULL,
    disk_gb BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX compute_allocations_host ON compute_allocations (host_id);

CREATE TABLE flavors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    vcpus BIGINT NOT NULL,
    ram BIGINT NOT NULL,
    disk BIGINT NOT NULL,
    ephemeral BIGINT NOT NULL DEFAULT 0,
    swap BIGINT NOT NULL DEFAULT 0,
    rxtx_factor DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    is_public BIGINT NOT NULL DEFAULT 1,
    disabled BIGINT NOT NULL DEFAULT 0,
    description TEXT,
    extra_specs TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE flavor_access (
    flavor_id TEXT NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    PRIMARY KEY (flavor_id, project_id)
);

CREATE TABLE keypairs (
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);

CREATE TABLE servers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    image_id TEXT,
    flavor_id TEXT NOT NULL,
    -- The flavor as it was at create (Nova embeds it since 2.47).
    flavor TEXT NOT NULL,
    host_id TEXT,
    host_name TEXT,
    availability_zone TEXT,
    vm_state TEXT NOT NULL,
    task_state TEXT,
    power_state BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0,
    locked_reason TEXT,
    -- owner or admin: a server an admin locked only an admin unlocks.
    locked_by TEXT,
    key_name TEXT,
    key_data TEXT,
    user_data TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    config_drive BIGINT NOT NULL DEFAULT 0,
    -- {"code", "message", "created"} when the server is in ERROR.
    fault TEXT,
    description TEXT,
    reservation_id TEXT NOT NULL,
    launch_index BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    launched_at TEXT
);
CREATE INDEX servers_project ON servers (project_id, created_at);
CREATE INDEX servers_host ON servers (host_id);

CREATE TABLE server_tags (
    server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (server_id, tag)
);

CREATE TABLE instance_actions (
    id TEXT PRIMARY KEY,
    server_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT,
    action TEXT NOT NULL,
    request_id TEXT NOT NULL,
    message TEXT,
    start_time TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX instance_actions_server ON instance_actions (server_id, start_time);

CREATE TABLE instance_action_events (
    action_id TEXT NOT NULL REFERENCES instance_actions (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    start_time TEXT NOT NULL,
    finish_time TEXT,
    result TEXT,
    host TEXT,
    details TEXT,
    PRIMARY KEY (action_id, event)
);

CREATE TABLE compute_quotas (
    project_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);

-- Networking (Neutron v2.0 model): networks, subnets, ports with their fixed IPs (the
-- IPAM's allocations: one row per address, unique per subnet, so no address is handed
-- out twice whatever the concurrency), security groups and rules, routers with their
-- interfaces, floating IPs, tags, and per-project network quota limits.
-- Lists of small values a resource carries whole (DNS servers, host routes, pools,
-- address pairs) are JSON text.

CREATE TABLE net_networks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    admin_state_up BIGINT NOT NULL DEFAULT 1,
    shared BIGINT NOT NULL DEFAULT 0,
    -- router:external: floating IPs and router gateways come from it (admins only).
    external BIGINT NOT NULL DEFAULT 0,
    mtu BIGINT NOT NULL DEFAULT 1500,
    port_security_enabled BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'ACTIVE',
    -- The libvirt network (tenant) or host bridge (external) that carries it.
    backing TEXT NOT NULL DEFAULT '',
    revision_number BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX net_networks_project ON net_networks (project_id);

CREATE TABLE net_subnets (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES net_networks (id),
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    ip_version BIGINT NOT NULL,
    cidr TEXT NOT NULL,
    gateway_ip TEXT,
    enable_dhcp BIGINT NOT NULL DEFAULT 1,
    dns_nameservers TEXT NOT NULL DEFAULT '[]',
    host_routes TEXT NOT NULL DEFAULT '[]',
    allocation_pools TEXT NOT NULL DEFAULT '[]',
    ipv6_ra_mode TEXT,
    ipv6_address_mode TEXT,
    -- Where the next search for a free address starts (a sortable address key).
    ipam_cursor TEXT NOT NULL DEFAULT '',
    revision_number BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX net_subnets_network ON net_subnets (network_id);

CREATE TABLE net_ports (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES net_networks (id),
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    mac_address TEXT NOT NULL,
    admin_state_up BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'DOWN',
    device_id TEXT NOT NULL DEFAULT '',
    device_owner TEXT NOT NULL DEFAULT '',
    binding_host_id TEXT NOT NULL DEFAULT '',
    -- The libvirt URI of the host the port is plugged in on ('' unbound).
    binding_uri TEXT NOT NULL DEFAULT '',
    port_security_enabled BIGINT NOT NULL DEFAULT 1,
    allowed_address_pairs TEXT NOT NULL DEFAULT '[]',
    revision_number BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (network_id, mac_address)
);
CREATE INDEX net_ports_project ON net_ports (project_id);
CREATE INDEX net_ports_device ON net_ports (device_id);

-- The hosts a network is realised on (a libvirt network of that name there), so
-- that deleting the network removes each.
CREATE TABLE net_backings (
    network_id TEXT NOT NULL REFERENCES net_networks (id),
    host_uri TEXT NOT NULL,
    libvirt_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (network_id, host_uri)
);

-- A port's fixed IPs: the IPAM's allocations. ip_key orders addresses numerically as
-- text (32 hex digits), so the search for a free one reads ranges.
CREATE TABLE net_ip_allocations (
    subnet_id TEXT NOT NULL REFERENCES net_subnets (id),
    ip_key TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    port_id TEXT NOT NULL REFERENCES net_ports (id),
    network_id TEXT NOT NULL,
    PRIMARY KEY (subnet_id, ip_key)
);
CREATE INDEX net_ip_allocations_port ON net_ip_allocations (port_id);

CREATE TABLE net_security_groups (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    stateful BIGINT NOT NULL DEFAULT 1,
    revision_number BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX net_security_groups_project ON net_security_groups (project_id);

-- Each project's `default` group, made on first use; the primary key makes two
-- first uses at once agree on one group.
CREATE TABLE net_default_security_groups (
    project_id TEXT PRIMARY KEY,
    security_group_id TEXT NOT NULL REFERENCES net_security_groups (id)
);

CREATE TABLE net_security_group_rules (
    id TEXT PRIMARY KEY,
    security_group_id TEXT NOT NULL REFERENCES net_security_groups (id),
    project_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    ethertype TEXT NOT NULL,
    protocol TEXT,
    port_range_min BIGINT,
    port_range_max BIGINT,
    remote_ip_prefix TEXT,
    remote_group_id TEXT,
    description TEXT NOT NULL DEFAULT '',
    revision_number BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX net_sg_rules_group ON net_security_group_rules (security_group_id);
CREATE INDEX net_sg_rules_remote ON net_security_group_rules (remote_group_id);

CREATE TABLE net_port_security_groups (
    port_id TEXT NOT NULL REFERENCES net_ports (id),
    security_group_id TEXT NOT NULL REFERENCES net_security_groups (id),
    PRIMARY KEY (port_id, security_group_id)
);
CREATE INDEX net_port_sg_group ON net_port_security_groups (security_group_id);

CREATE TABLE net_routers (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    admin_state_up BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'ACTIVE',
    -- external_gateway_info: the external network and whether it does SNAT; the
    -- gateway's port holds its address.
    gateway_network_id TEXT,
    gateway_port_id TEXT,
    enable_snat BIGINT NOT NULL DEFAULT 1,
    revision_number BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX net_routers_project ON net_routers (project_id);

-- A router's interfaces are ports (device_owner network:router_interface) whose
-- device_id is the router; this is the index of which subnet each serves.
CREATE TABLE net_router_interfaces (
    router_id TEXT NOT NULL REFERENCES net_routers (id),
    port_id TEXT NOT NULL REFERENCES net_ports (id),
    subnet_id TEXT NOT NULL REFERENCES net_subnets (id),
    PRIMARY KEY (router_id, port_id, subnet_id)
);
CREATE UNIQUE INDEX net_router_interfaces_subnet ON net_router_interfaces (router_id, subnet_id);

CREATE TABLE net_floating_ips (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    floating_network_id TEXT NOT NULL REFERENCES net_networks (id),
    -- The port on the external network that holds the address.
    floating_port_id TEXT NOT NULL REFERENCES net_ports (id),
    floating_ip_address TEXT NOT NULL,
    port_id TEXT,
    fixed_ip_address TEXT,
    router_id TEXT,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'DOWN',
    revision_number BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX net_floating_ips_project ON net_floating_ips (project_id);
CREATE INDEX net_floating_ips_port ON net_floating_ips (port_id);

-- Tags of any network resource (standard-attr-tag).
CREATE TABLE net_tags (
    resource_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (resource_id, tag)
);
CREATE INDEX net_tags_tag ON net_tags (tag);

CREATE TABLE net_quotas (
    project_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);

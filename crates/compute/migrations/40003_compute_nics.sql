-- A server's network interfaces, in order: the network (or port) asked for at create,
-- the port that carries it once the boot made or took it, and whether the server made
-- that port (then its delete deletes it; a port the user gave is only unplugged).
CREATE TABLE server_nics (
    server_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    network_id TEXT NOT NULL,
    port_id TEXT NOT NULL DEFAULT '',
    fixed_ip TEXT,
    -- Security group ids for a port the server makes (JSON list).
    security_groups TEXT NOT NULL DEFAULT '[]',
    created BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (server_id, idx)
);
CREATE INDEX server_nics_port ON server_nics (port_id);

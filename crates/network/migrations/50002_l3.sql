-- Routers and floating IPs: a fixed address has at most one floating IP (the unique
-- key refuses a second association, whatever the concurrency; unassociated floating
-- IPs have NULLs, which never collide).
CREATE UNIQUE INDEX net_floating_ips_fixed ON net_floating_ips (port_id, fixed_ip_address);
CREATE INDEX net_floating_ips_router ON net_floating_ips (router_id);
CREATE INDEX net_router_interfaces_port ON net_router_interfaces (port_id);

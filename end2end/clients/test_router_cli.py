"""Routers and floating IPs through the real `openstack` CLI: an admin's external
network on the operator's bridge, a router with a gateway on it and an interface on a
tenant subnet (created, listed, shown, changed, deleted), floating IPs allocated,
associated with a port, moved off it and released, and the refusals a user meets on
the way, each with its reason. The router is really made: its namespace appears on
this machine with the NAT rules its floating IPs need, and goes when it is deleted."""

import subprocess


def netns_list():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


def nat_rules(router_id):
    ns = "fsr-" + router_id.replace("-", "")
    return subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "ferrostack"],
                          capture_output=True, text=True, check=True).stdout


def external_network(cloud, name, cidr, pool):
    cloud.run("network", "create", "--external", "--provider-network-type", "flat",
              "--provider-physical-network", "public", name)
    cloud.run("subnet", "create", "--network", name, "--subnet-range", cidr, "--no-dhcp",
              "--allocation-pool", pool, f"{name}-sub")
    return cloud.json("network", "show", name)


def test_router_and_floating_ip_lifecycle(cloud):
    ext = external_network(cloud, "cli-public", "198.51.100.0/24", "start=198.51.100.10,end=198.51.100.20")
    assert ext["router:external"] is True and ext["provider:physical_network"] == "public"
    env = cloud.user("router-user", "router-project")
    # A member sees the external network, and cannot make one.
    assert any(n["Name"] == "cli-public" for n in cloud.json("network", "list", "--external", env=env))
    r = cloud.run("network", "create", "--external", "mine", env=env, check=False)
    assert r.returncode != 0 and "Only an admin" in r.stderr, r.stderr

    cloud.run("network", "create", "r-lan", env=env)
    cloud.run("subnet", "create", "--network", "r-lan", "--subnet-range", "10.66.0.0/24", "r-lan-sub", env=env)
    router = cloud.json("router", "create", "--description", "edge", "--tag", "edge", "r1", env=env)
    assert router["name"] == "r1" and router["description"] == "edge" and router["status"] == "ACTIVE"
    assert router["external_gateway_info"] is None
    cloud.run("router", "set", "--external-gateway", "cli-public", "r1", env=env)
    router = cloud.json("router", "show", "r1", env=env)
    gw = router["external_gateway_info"]
    assert gw["network_id"] == ext["id"] and gw["enable_snat"] is True
    gw_ip = gw["external_fixed_ips"][0]["ip_address"]
    assert gw_ip.startswith("198.51.100."), gw
    cloud.run("router", "add", "subnet", "r1", "r-lan-sub", env=env)
    ports = cloud.json("port", "list", "--router", "r1", "--long", env=env)
    assert [p["Device Owner"] for p in ports] == ["network:router_interface"], ports
    assert "10.66.0.1" in str(ports[0]["Fixed IP Addresses"]), ports
    assert [x["Name"] for x in cloud.json("router", "list", "--tags", "edge", env=env)] == ["r1"]
    cloud.run("router", "set", "--name", "r1b", "--description", "renamed", "r1", env=env)
    assert cloud.json("router", "show", "r1b", env=env)["description"] == "renamed"
    # It is real: its namespace is on this machine.
    assert "fsr-" + router["id"].replace("-", "") in netns_list()

    # Refusals, each saying why.
    r = cloud.run("router", "add", "subnet", "r1b", "r-lan-sub", env=env, check=False)
    assert r.returncode != 0 and "already has a port on subnet" in r.stderr, r.stderr
    r = cloud.run("router", "delete", "r1b", env=env, check=False)
    assert r.returncode != 0 and "still has ports" in r.stderr, r.stderr

    # A floating IP, associated with a port on the routed subnet.
    vm_port = cloud.json("port", "create", "--network", "r-lan", "vm-port", env=env)
    fixed = vm_port["fixed_ips"][0]["ip_address"]
    fip = cloud.json("floating ip", "create", "--description", "web", "cli-public", env=env)
    address = fip["floating_ip_address"]
    assert address.startswith("198.51.100.") and fip["port_id"] is None and fip["status"] == "DOWN"
    cloud.run("floating ip", "set", "--port", "vm-port", address, env=env)
    shown = cloud.json("floating ip", "show", address, env=env)
    assert shown["port_id"] == vm_port["id"] and shown["fixed_ip_address"] == fixed
    assert shown["router_id"] == router["id"] and shown["status"] == "ACTIVE"
    listed = cloud.json("floating ip", "list", "--port", "vm-port", env=env)
    assert [f["Floating IP Address"] for f in listed] == [address]
    # The router's namespace translates it, both ways.
    rules = nat_rules(router["id"])
    assert f"ip daddr {address} dnat to {fixed}" in rules, rules
    assert f"ip saddr {fixed} snat to {address}" in rules, rules
    assert f"ip saddr 10.66.0.0/24 snat to {gw_ip}" in rules, rules
    # A second one for the same port, and one taking the interface away: refused.
    r = cloud.run("floating ip", "create", "--port", "vm-port", "cli-public", env=env, check=False)
    assert r.returncode != 0 and "already has a floating IP" in r.stderr, r.stderr
    r = cloud.run("router", "remove", "subnet", "r1b", "r-lan-sub", env=env, check=False)
    assert r.returncode != 0 and "required by one or more floating IPs" in r.stderr, r.stderr
    r = cloud.run("router", "unset", "--external-gateway", "r1b", env=env, check=False)
    assert r.returncode != 0 and "required by one or more floating IPs" in r.stderr, r.stderr
    # A port on a subnet no router reaches.
    cloud.run("network", "create", "island", env=env)
    cloud.run("subnet", "create", "--network", "island", "--subnet-range", "10.67.0.0/24", "island-sub", env=env)
    cloud.run("port", "create", "--network", "island", "island-port", env=env)
    r = cloud.run("floating ip", "create", "--port", "island-port", "cli-public", env=env, check=False)
    assert r.returncode != 0 and "is not reachable from subnet" in r.stderr, r.stderr

    # Moved off the port, then released.
    cloud.run("floating ip", "unset", "--port", address, env=env)
    shown = cloud.json("floating ip", "show", address, env=env)
    assert shown["port_id"] is None and shown["status"] == "DOWN"
    assert f"dnat to {fixed}" not in nat_rules(router["id"])
    cloud.run("floating ip", "delete", address, env=env)
    assert cloud.json("floating ip", "list", env=env) == []

    # Taken apart in order, the router's namespace goes with it.
    cloud.run("router", "remove", "subnet", "r1b", "r-lan-sub", env=env)
    assert cloud.json("port", "list", "--router", "r1b", env=env) == []
    cloud.run("router", "unset", "--external-gateway", "r1b", env=env)
    assert cloud.json("router", "show", "r1b", env=env)["external_gateway_info"] is None
    cloud.run("router", "delete", "r1b", env=env)
    assert "fsr-" + router["id"].replace("-", "") not in netns_list()
    assert all(x["Name"] != "r1b" for x in cloud.json("router", "list", env=env))
    for p in ("vm-port", "island-port"):
        cloud.run("port", "delete", p, env=env)
    for n in ("r-lan", "island"):
        cloud.run("network", "delete", n, env=env)
    cloud.run("network", "delete", "cli-public")


def test_a_member_cannot_touch_another_projects_router_or_floating_ip(cloud):
    external_network(cloud, "cli-public-2", "198.51.101.0/24", "start=198.51.101.10,end=198.51.101.20")
    a = cloud.user("router-a", "router-a-project")
    b = cloud.user("router-b", "router-b-project")
    cloud.run("router", "create", "a-router", env=a)
    fip = cloud.json("floating ip", "create", "cli-public-2", env=a)
    assert all(x["Name"] != "a-router" for x in cloud.json("router", "list", env=b))
    r = cloud.run("router", "show", "a-router", env=b, check=False)
    assert r.returncode != 0
    r = cloud.run("floating ip", "delete", fip["floating_ip_address"], env=b, check=False)
    assert r.returncode != 0
    assert cloud.json("floating ip", "list", env=b) == []
    # Members do not choose floating addresses.
    r = cloud.run("floating ip", "create", "--floating-ip-address", "198.51.101.15", "cli-public-2", env=b, check=False)
    assert r.returncode != 0 and "Only an admin" in r.stderr, r.stderr
    cloud.run("floating ip", "delete", fip["floating_ip_address"], env=a)
    cloud.run("router", "delete", "a-router", env=a)
    cloud.run("network", "delete", "cli-public-2")

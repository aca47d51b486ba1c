"""Networking through the real `openstack` CLI (and openstacksdk for a burst of
parallel creates): networks, subnets, ports, security groups and rules, created,
listed, shown, changed and deleted; a full pool refused with Neutron's 409 and its
reason; and what a member of another project cannot see."""

import concurrent.futures
import ipaddress
import os

import openstack


def test_network_subnet_and_port_lifecycle(cloud):
    net = cloud.json("network", "create", "--description", "web tier", "--tag", "web", "--mtu", "1400", "cli-net")
    assert net["name"] == "cli-net" and net["mtu"] == 1400 and net["status"] == "ACTIVE"
    assert "web" in net["tags"]
    assert any(n["Name"] == "cli-net" for n in cloud.json("network", "list"))
    assert [n["Name"] for n in cloud.json("network", "list", "--tags", "web")] == ["cli-net"]
    cloud.run("network", "set", "--name", "cli-net-2", "--description", "renamed", "cli-net")
    shown = cloud.json("network", "show", "cli-net-2")
    assert shown["description"] == "renamed" and shown["id"] == net["id"]

    sub = cloud.json("subnet", "create", "--network", "cli-net-2", "--subnet-range", "10.77.0.0/24",
                     "--gateway", "10.77.0.1", "--dns-nameserver", "10.77.0.53",
                     "--allocation-pool", "start=10.77.0.100,end=10.77.0.150", "cli-sub")
    assert sub["cidr"] == "10.77.0.0/24" and sub["gateway_ip"] == "10.77.0.1"
    assert sub["dns_nameservers"] == ["10.77.0.53"]
    assert sub["allocation_pools"] == [{"start": "10.77.0.100", "end": "10.77.0.150"}]
    cloud.run("subnet", "set", "--name", "cli-sub-2", "--no-dns-nameservers", "--dns-nameserver", "10.77.0.54", "cli-sub")
    sub = cloud.json("subnet", "show", "cli-sub-2")
    assert sub["dns_nameservers"] == ["10.77.0.54"]
    assert [s["Name"] for s in cloud.json("subnet", "list", "--network", "cli-net-2")] == ["cli-sub-2"]
    # The network shows its subnet.
    assert sub["id"] in cloud.json("network", "show", "cli-net-2")["subnets"]

    # A port from the pool, and one at an address asked for.
    p1 = cloud.json("port", "create", "--network", "cli-net-2", "cli-port-1")
    ip1 = p1["fixed_ips"][0]["ip_address"]
    assert ipaddress.ip_address("10.77.0.100") <= ipaddress.ip_address(ip1) <= ipaddress.ip_address("10.77.0.150")
    assert p1["mac_address"].startswith("fa:16:3e:")
    p2 = cloud.json("port", "create", "--network", "cli-net-2", "--fixed-ip", "subnet=cli-sub-2,ip-address=10.77.0.20",
                    "--mac-address", "fa:16:3e:aa:bb:cc", "cli-port-2")
    assert p2["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.77.0.20"}]
    assert p2["mac_address"] == "fa:16:3e:aa:bb:cc"
    # The same address again is refused, saying so.
    r = cloud.run("port", "create", "--network", "cli-net-2", "--fixed-ip", "subnet=cli-sub-2,ip-address=10.77.0.20",
                  "dup", check=False)
    assert r.returncode != 0 and "already allocated" in r.stderr, r.stderr
    ports = cloud.json("port", "list", "--network", "cli-net-2", "--long")
    assert sorted(p["Name"] for p in ports) == ["", "cli-port-1", "cli-port-2"]
    # The unnamed one is the subnet's DHCP server, at the first pool address.
    dhcp = [p for p in ports if p["Device Owner"] == "network:dhcp"]
    assert len(dhcp) == 1 and "10.77.0.100" in str(dhcp[0]["Fixed IP Addresses"]), dhcp
    assert [p["Name"] for p in cloud.json("port", "list", "--fixed-ip", "ip-address=10.77.0.20")] == ["cli-port-2"]
    cloud.run("port", "set", "--name", "cli-port-1b", "--description", "first", "cli-port-1")
    assert cloud.json("port", "show", "cli-port-1b")["description"] == "first"

    # A network in use is not deleted; emptied, it goes with its subnet.
    r = cloud.run("network", "delete", "cli-net-2", check=False)
    assert r.returncode != 0 and "ports still in use" in r.stderr, r.stderr
    cloud.run("port", "delete", "cli-port-1b", "cli-port-2")
    cloud.run("subnet", "delete", "cli-sub-2")
    cloud.run("network", "delete", "cli-net-2")
    assert not any(n["Name"] == "cli-net-2" for n in cloud.json("network", "list"))


def test_security_groups_and_rules(cloud):
    sg = cloud.json("security group", "create", "--description", "web servers", "cli-web")
    # A new group allows all egress, as Neutron's do.
    assert sorted(r["ethertype"] for r in sg["rules"]) == ["IPv4", "IPv6"]
    assert all(r["direction"] == "egress" for r in sg["rules"])
    names = [g["Name"] for g in cloud.json("security group", "list")]
    assert "cli-web" in names and "default" in names
    ssh = cloud.json("security group rule", "create", "--protocol", "tcp", "--dst-port", "22",
                     "--remote-ip", "0.0.0.0/0", "cli-web")
    assert (ssh["protocol"], ssh["port_range_min"], ssh["port_range_max"]) == ("tcp", 22, 22)
    icmp = cloud.json("security group rule", "create", "--protocol", "icmp", "cli-web")
    assert icmp["protocol"] == "icmp" and icmp["direction"] == "ingress"
    rules = cloud.json("security group rule", "list", "cli-web")
    assert len(rules) == 4, rules
    assert cloud.json("security group rule", "show", ssh["id"])["remote_ip_prefix"] == "0.0.0.0/0"
    # The same rule twice, and a nonsense one, are refused with the reason.
    r = cloud.run("security group rule", "create", "--protocol", "tcp", "--dst-port", "22",
                  "--remote-ip", "0.0.0.0/0", "cli-web", check=False)
    assert r.returncode != 0 and "already exists" in r.stderr, r.stderr
    r = cloud.run("security group rule", "create", "--protocol", "banana", "cli-web", check=False)
    assert r.returncode != 0 and "protocol banana not supported" in r.stderr, r.stderr
    cloud.run("security group", "set", "--name", "cli-web-2", "--description", "renamed", "cli-web")
    assert cloud.json("security group", "show", "cli-web-2")["description"] == "renamed"
    cloud.run("security group rule", "delete", icmp["id"])
    assert len(cloud.json("security group rule", "list", "cli-web-2")) == 3
    # A port using the group keeps it from being deleted.
    cloud.run("network", "create", "sg-net")
    cloud.run("subnet", "create", "--network", "sg-net", "--subnet-range", "10.78.0.0/24", "sg-sub")
    cloud.run("port", "create", "--network", "sg-net", "--security-group", "cli-web-2", "sg-port")
    r = cloud.run("security group", "delete", "cli-web-2", check=False)
    assert r.returncode != 0 and "in use" in r.stderr, r.stderr
    cloud.run("port", "set", "--no-security-group", "sg-port")
    assert cloud.json("port", "show", "sg-port")["security_group_ids"] == []
    cloud.run("security group", "delete", "cli-web-2")
    cloud.run("port", "delete", "sg-port")
    cloud.run("network", "delete", "sg-net")


def test_an_exhausted_pool_is_a_409_with_the_reason(cloud):
    cloud.run("network", "create", "tiny-net")
    cloud.run("subnet", "create", "--network", "tiny-net", "--subnet-range", "10.79.0.0/29", "tiny-sub")
    # .1 is the gateway; .2 to .6 are the pool, and .2 is the DHCP server's.
    for i in range(4):
        cloud.run("port", "create", "--network", "tiny-net", f"tiny-{i}")
    r = cloud.run("port", "create", "--network", "tiny-net", "one-too-many", check=False)
    assert r.returncode != 0
    assert "409" in r.stderr and "No more IP addresses available on network" in r.stderr, r.stderr
    ports = cloud.json("port", "list", "--network", "tiny-net")
    assert len(ports) == 5


def test_a_hundred_parallel_port_creates_get_distinct_addresses(cloud):
    conn = openstack.connect(auth_url=cloud.auth_url, username="admin", password=cloud.env()["OS_PASSWORD"],
                             project_name="admin", user_domain_name="Default", project_domain_name="Default")
    net = conn.network.create_network(name="burst-net")
    sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.80.0.0/24")
    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        made = list(pool.map(lambda i: conn.network.create_port(network_id=net.id, name=f"burst-{i}"), range(100)))
    ips = [p.fixed_ips[0]["ip_address"] for p in made]
    assert len(set(ips)) == 100, sorted(ips)
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.80.0.0/24") for ip in ips)
    assert all(p.fixed_ips[0]["subnet_id"] == sub.id for p in made)
    # The listing agrees, page by page (the SDK follows the ports_links).
    listed = [p for p in conn.network.ports(network_id=net.id, limit=30) if p.device_owner != "network:dhcp"]
    assert sorted(p.fixed_ips[0]["ip_address"] for p in listed) == sorted(ips)


def test_a_member_cannot_see_another_projects_network(cloud):
    alice = cloud.user("net-alice", "net-proj-a")
    bob = cloud.user("net-bob", "net-proj-b")
    net = cloud.json("network", "create", "alice-private", env=alice)
    cloud.run("subnet", "create", "--network", "alice-private", "--subnet-range", "10.81.0.0/24", "alice-sub", env=alice)
    r = cloud.run("network", "show", net["id"], env=bob, check=False)
    assert r.returncode != 0 and "No Network found" in r.stderr, r.stderr
    assert not any(n["ID"] == net["id"] for n in cloud.json("network", "list", env=bob))
    r = cloud.run("port", "create", "--network", net["id"], "sneaky", env=bob, check=False)
    assert r.returncode != 0
    r = cloud.run("network", "delete", net["id"], env=bob, check=False)
    assert r.returncode != 0
    assert cloud.json("network", "show", net["id"], env=alice)["name"] == "alice-private"
    # A shared network is every project's to see and to plug into.
    cloud.run("network", "create", "--share", "everyone")
    cloud.run("subnet", "create", "--network", "everyone", "--subnet-range", "10.82.0.0/24", "everyone-sub")
    assert any(n["Name"] == "everyone" for n in cloud.json("network", "list", env=bob))
    port = cloud.json("port", "create", "--network", "everyone", "bob-port", env=bob)
    assert port["fixed_ips"][0]["ip_address"].startswith("10.82.0.")
    # A member may not share its own network.
    r = cloud.run("network", "set", "--share", "alice-private", env=alice, check=False)
    assert r.returncode != 0 and "admin" in r.stderr, r.stderr

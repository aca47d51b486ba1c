"""Real guests on a tenant network (QEMU on this machine's libvirt): each gets over
DHCP exactly the address its port holds, the two reach each other, security groups
really filter between them — ping refused with only SSH allowed, let through once an
ICMP rule is added, with neither guest restarted — and the nwfilter libvirt holds for
each port says what the port's rules say. Deleting the servers gives the addresses back."""

import re
import subprocess

import websocket

from test_compute_cli import wait_for
from test_consoles_cli import SHELL, read_until

LEASE = "FERROSTACK-TEST-IMAGE LEASE "


def console_log(cloud, name, env):
    return cloud.run("console", "log", "show", name, env=env).stdout


def shell(cloud, name, env):
    url = cloud.json("console", "url", "show", "--serial", name, env=env)["url"]
    return websocket.create_connection(url, subprotocols=["binary"], timeout=10)


def ping(cloud, frm, ip, env):
    """How many of 3 pings from `frm`'s serial console to `ip` were answered."""
    ws = shell(cloud, frm, env)
    try:
        ws.send_binary(f"ping -c 3 -W 2 {ip} 2>&1 | tail -2; echo fs-ping-$((40+2))-done\r".encode())
        out = read_until(ws, "fs-ping-42-done", timeout=60)
    finally:
        ws.close()
    m = re.search(r"(\d+) packets transmitted, (\d+) (packets )?received", out)
    assert m, out
    return int(m.group(2))


def nwfilter(port_id):
    return subprocess.run(["virsh", "-c", "qemu:///system", "nwfilter-dumpxml", f"fs-port-{port_id}"],
                          capture_output=True, text=True, check=True).stdout


def port_of(cloud, server, env):
    ports = cloud.json("port", "list", "--server", server, "--long", env=env)
    assert len(ports) == 1, ports
    return cloud.json("port", "show", ports[0]["ID"], env=env)


def test_two_guests_on_a_tenant_network_with_security_groups(cloud):
    env = cloud.user("lan-user", "lan-project")
    cloud.run("network", "create", "lan", env=env)
    cloud.run("subnet", "create", "--network", "lan", "--subnet-range", "10.90.0.0/24", "lan-sub", env=env)
    cloud.run("security group", "create", "ssh-only", env=env)
    ssh = cloud.json("security group rule", "create", "--protocol", "tcp", "--dst-port", "22", "ssh-only", env=env)
    for name in ("lan-1", "lan-2"):
        cloud.run("server", "create", "--image", "ferrostack-test", "--flavor", "m1.tiny", "--network", "lan",
                  "--security-group", "ssh-only", "--availability-zone", "nova", name, env=env)
    ports = {}
    for name in ("lan-1", "lan-2"):
        wait_for(lambda: cloud.json("server", "show", name, env=env)["status"] == "ACTIVE", f"{name} active", 300)
        port = port_of(cloud, name, env)
        ip = port["fixed_ips"][0]["ip_address"]
        assert port["status"] == "ACTIVE" and port["binding_host_id"] == "local", port
        log = wait_for(lambda: LEASE in console_log(cloud, name, env) and console_log(cloud, name, env),
                       f"{name}'s DHCP lease", 240)
        leased = log.split(LEASE, 1)[1].split()[0]
        # The lease is exactly the port's address.
        assert leased == ip, (leased, ip)
        # And the server shows it.
        addresses = cloud.json("server", "show", name, env=env)["addresses"]
        assert ip in str(addresses), addresses
        ports[name] = (port, ip)
        wait_for(lambda: SHELL in console_log(cloud, name, env), f"{name}'s shell", 120)
    (p1, ip1), (p2, ip2) = ports["lan-1"], ports["lan-2"]
    assert ip1 != ip2

    # Only SSH may come in: ping is dropped, both ways.
    for p in (p1, p2):
        xml = nwfilter(p["id"])
        assert "dstportstart='22'" in xml and "<tcp" in xml, xml
        assert "<icmp" not in xml, xml
        assert f"value='{ports['lan-1'][1] if p is p1 else ports['lan-2'][1]}'" in xml, xml
    assert ping(cloud, "lan-1", ip2, env) == 0
    # An ICMP rule reaches both running guests' filters without a restart.
    icmp = cloud.json("security group rule", "create", "--protocol", "icmp", "ssh-only", env=env)
    for p in (p1, p2):
        xml = nwfilter(p["id"])
        assert "<icmp" in xml and "dstportstart='22'" in xml, xml
    assert ping(cloud, "lan-1", ip2, env) == 3
    assert ping(cloud, "lan-2", ip1, env) == 3
    # Every rule of the group is in each port's filter, and nothing more is let in.
    rules = cloud.json("security group rule", "list", "ssh-only", "--long", env=env)
    xml = nwfilter(p1["id"])
    accepts = re.findall(r"<rule action='accept' direction='(in|out)' priority='500'", xml)
    assert sorted(accepts) == sorted("in" if r["Direction"] == "ingress" else "out" for r in rules), (accepts, rules)
    for server in ("lan-1", "lan-2"):
        assert cloud.json("server", "show", server, env=env)["status"] == "ACTIVE"
    cloud.run("security group rule", "delete", icmp["id"], env=env)
    assert "<icmp" not in nwfilter(p1["id"])
    assert ping(cloud, "lan-1", ip2, env) == 0
    assert ssh["port_range_min"] == 22

    # Deleting the servers releases both addresses (and their ports).
    cloud.run("server", "delete", "--wait", "lan-1", "lan-2", env=env)
    left = cloud.json("port", "list", "--network", "lan", "--long", env=env)
    assert [p["Device Owner"] for p in left] == ["network:dhcp"], left
    for p in (p1, p2):
        r = subprocess.run(["virsh", "-c", "qemu:///system", "nwfilter-dumpxml", f"fs-port-{p['id']}"],
                           capture_output=True, text=True)
        assert r.returncode != 0, r.stdout
    # The freed addresses can be asked for again.
    again = cloud.json("port", "create", "--network", "lan", "--fixed-ip", f"ip-address={ip1}", "again", env=env)
    assert again["fixed_ips"][0]["ip_address"] == ip1
    # Deleting the network removes it from libvirt too.
    net_id = cloud.json("network", "show", "lan", env=env)["id"]
    assert f"fs-{net_id}" in subprocess.run(["virsh", "-c", "qemu:///system", "net-list", "--name"],
                                            capture_output=True, text=True, check=True).stdout
    cloud.run("port", "delete", "again", env=env)
    cloud.run("network", "delete", "lan", env=env)
    names = subprocess.run(["virsh", "-c", "qemu:///system", "net-list", "--all", "--name"],
                           capture_output=True, text=True, check=True).stdout
    assert f"fs-{net_id}" not in names, names


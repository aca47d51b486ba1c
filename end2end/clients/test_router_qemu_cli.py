"""A real router between a real guest and a test host, all on this machine: the
external network is the test run's own bridge, and the "outside world" is a network
namespace this test makes on it (203.0.113.1, with no route back to the tenant
network). The guest (QEMU) reaches it through the router's SNAT; the test host reaches
the guest through its floating IP (DNAT); once the floating IP is moved off, it
cannot. Nothing leaves the machine."""

import os
import subprocess

import pytest

from test_compute_cli import wait_for
from test_consoles_cli import SHELL
from test_consoles_cli import read_until
from test_network_qemu_cli import LEASE, console_log, ping, port_of, shell

OUTSIDE = "203.0.113.1"


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@pytest.fixture
def test_host(cloud):
    """A namespace on the external bridge at 203.0.113.1/24: the only address it can
    answer is one on that /24."""
    ns = f"fsxh{os.getpid() % 0x10000:04x}"
    veth = f"{ns}v"
    ip("netns", "del", ns, check=False)
    ip("link", "del", veth, check=False)
    ip("netns", "add", ns)
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("link", "set", veth, "master", cloud.ext_bridge, "up")
    ip("-n", ns, "addr", "add", f"{OUTSIDE}/24", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", ns, "link", "set", "lo", "up")
    yield ns
    ip("netns", "del", ns, check=False)


def router_server_id(cloud, env):
    return cloud.json("server", "show", "l3-vm", env=env)["id"]


def domiflist(server_id):
    return subprocess.run(["virsh", "-c", "qemu:///system", "domiflist", f"fs-{server_id}"],
                          capture_output=True, text=True, check=True).stdout


def guest_run(cloud, name, command, env):
    """What `command` prints on the guest's serial console."""
    ws = shell(cloud, name, env)
    try:
        ws.send_binary(f"{command}; echo fs-run-$((40+2))-done\r".encode())
        return read_until(ws, "fs-run-42-done", timeout=60)
    finally:
        ws.close()


def ping_from(ns, address):
    """How many of 3 pings from namespace `ns` to `address` were answered."""
    r = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "3", "-W", "2", address],
                       capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if "packets transmitted" in line:
            return int(line.split(",")[1].split()[0])
    # No route at all (the test host knows only its own /24).
    assert "Network is unreachable" in r.stderr, (r.stdout, r.stderr)
    return 0


def test_a_guest_reaches_the_outside_through_snat_and_is_reached_through_its_floating_ip(cloud, test_host):
    cloud.run("network", "create", "--external", "--provider-network-type", "flat",
              "--provider-physical-network", "public", "outside")
    cloud.run("subnet", "create", "--network", "outside", "--subnet-range", "203.0.113.0/24", "--gateway", OUTSIDE,
              "--no-dhcp", "--allocation-pool", "start=203.0.113.100,end=203.0.113.200", "outside-sub")
    env = cloud.user("l3-user", "l3-project")
    cloud.run("network", "create", "inside", env=env)
    cloud.run("subnet", "create", "--network", "inside", "--subnet-range", "10.92.0.0/24", "inside-sub", env=env)
    router = cloud.json("router", "create", "edge", env=env)
    cloud.run("router", "set", "--external-gateway", "outside", "edge", env=env)
    cloud.run("router", "add", "subnet", "edge", "inside-sub", env=env)
    gw_ip = cloud.json("router", "show", "edge", env=env)["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    # The router answers on the outside at once; the test host has no other way in.
    assert ping_from(test_host, gw_ip) == 3
    assert ping_from(test_host, "10.92.0.1") == 0

    cloud.run("security group", "create", "pingable", env=env)
    cloud.run("security group rule", "create", "--protocol", "icmp", "--ingress", "pingable", env=env)
    cloud.run("server", "create", "--image", "ferrostack-test", "--flavor", "m1.tiny", "--network", "inside",
              "--security-group", "pingable", "--availability-zone", "nova", "l3-vm", env=env)
    try:
        wait_for(lambda: cloud.json("server", "show", "l3-vm", env=env)["status"] == "ACTIVE", "l3-vm active", 300)
    except AssertionError:
        shown = cloud.json("server", "show", "l3-vm", env=env)
        log = open(os.path.join(os.path.dirname(cloud.data_dir), "server.log")).read()[-4000:]
        raise AssertionError(f"l3-vm is {shown.get('status')}: {shown.get('fault')}\n{log}")
    port = port_of(cloud, "l3-vm", env)
    fixed = port["fixed_ips"][0]["ip_address"]
    wait_for(lambda: LEASE in console_log(cloud, "l3-vm", env), "l3-vm's DHCP lease", 240)
    wait_for(lambda: SHELL in console_log(cloud, "l3-vm", env), "l3-vm's shell", 120)

    # Out through SNAT: the test host answers only what comes from its own /24, so the
    # replies prove the guest's address was translated to the router's.
    assert ping(cloud, "l3-vm", OUTSIDE, env) == 3

    # In through the floating IP (DNAT), and no longer once it is moved off.
    fip = cloud.json("floating ip", "create", "--port", port["id"], "outside", env=env)
    address = fip["floating_ip_address"]
    assert fip["fixed_ip_address"] == fixed
    # Nova's view lists it beside the fixed address.
    addresses = cloud.json("server", "show", "l3-vm", env=env)["addresses"]
    assert address in str(addresses) and fixed in str(addresses), addresses
    assert ping_from(test_host, address) == 3
    cloud.run("floating ip", "unset", "--port", address, env=env)
    assert ping_from(test_host, address) == 0
    # The guest still gets out (the router's own SNAT).
    assert ping(cloud, "l3-vm", OUTSIDE, env) == 3
    cloud.run("floating ip", "set", "--port", port["id"], address, env=env)
    assert ping_from(test_host, address) == 3

    # A second interface, hot-plugged into the running guest (os-interface), and
    # unplugged again; the server is never restarted.
    cloud.run("network", "create", "second", env=env)
    cloud.run("subnet", "create", "--network", "second", "--subnet-range", "10.93.0.0/24", "second-sub", env=env)
    cloud.run("server", "add", "network", "l3-vm", "second", env=env)
    extra = [p for p in cloud.json("port", "list", "--server", "l3-vm", "--long", env=env) if p["ID"] != port["id"]]
    assert len(extra) == 1, extra
    mac = extra[0]["MAC Address"]
    assert "10.93.0." in str(cloud.json("server", "show", "l3-vm", env=env)["addresses"])
    assert mac in domiflist(router_server_id(cloud, env))
    assert mac in guest_run(cloud, "l3-vm", "cat /sys/class/net/*/address", env)
    cloud.run("server", "remove", "port", "l3-vm", extra[0]["ID"], env=env)
    wait_for(lambda: mac not in domiflist(router_server_id(cloud, env)), "the NIC unplugged", 60)
    assert [p["ID"] for p in cloud.json("port", "list", "--server", "l3-vm", env=env)] == [port["id"]]
    assert cloud.json("server", "show", "l3-vm", env=env)["status"] == "ACTIVE"
    assert ping_from(test_host, address) == 3

    # Deleting the server leaves the floating IP, associated with nothing.
    cloud.run("server", "delete", "--wait", "l3-vm", env=env)
    assert cloud.json("floating ip", "show", address, env=env)["port_id"] is None
    assert ping_from(test_host, address) == 0
    cloud.run("floating ip", "delete", address, env=env)
    cloud.run("router", "remove", "subnet", "edge", "inside-sub", env=env)
    cloud.run("router", "delete", "edge", env=env)
    assert "fsr-" + router["id"].replace("-", "") not in ip("netns", "list").stdout
    cloud.run("network", "delete", "inside", env=env)
    cloud.run("network", "delete", "second", env=env)
    cloud.run("network", "delete", "outside")

"""The real `openstack` CLI and openstacksdk against Nova v2.1 at /compute: flavors
(private ones with access lists), key pairs, servers on simulated hosts through every
action, locks, limits and quotas (over-quota refused with the numbers), another
project's member told the server is not there — and the test ISO booted under real
QEMU to ACTIVE, its console log showing the image's marker, then stopped, started,
rebooted and deleted without leaving a domain, a disk or a claim behind."""

import json
import os
import subprocess
import time

import openstack

MARKER = "FERROSTACK-TEST-IMAGE BOOTED"


def wait_for(fn, what, timeout=120):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1)


def status(cloud, name, env=None):
    return cloud.json("server", "show", name, env=env)["status"]


def test_flavors_public_and_private_with_access(cloud):
    cloud.run("flavor", "create", "--vcpus", "2", "--ram", "2048", "--disk", "10", "--id", "cli.f1", "cli.small")
    f = cloud.json("flavor", "show", "cli.small")
    assert (f["vcpus"], f["ram"], f["disk"], f["os-flavor-access:is_public"]) == (2, 2048, 10, True)
    cloud.run("flavor", "set", "--property", "hw:cpu_policy=shared", "cli.small")
    assert cloud.json("flavor", "show", "cli.small")["properties"] == {"hw:cpu_policy": "shared"}
    member = cloud.user("fl-user", "fl-project")
    cloud.run("flavor", "create", "--vcpus", "1", "--ram", "512", "--disk", "1", "--private", "cli.private")
    names = [f["Name"] for f in cloud.json("flavor", "list", env=member)]
    assert "cli.small" in names and "cli.private" not in names
    cloud.run("flavor", "set", "--project", "fl-project", "cli.private")
    names = [f["Name"] for f in cloud.json("flavor", "list", env=member)]
    assert "cli.private" in names
    access = cloud.json("flavor", "show", "cli.private")["access_project_ids"]
    assert len(access) == 1
    refused = cloud.run("flavor", "create", "--vcpus", "1", "--ram", "1", "--disk", "1", "mine", env=member, check=False)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    cloud.run("flavor", "delete", "cli.private", "cli.small")
    assert "cli.small" not in [f["Name"] for f in cloud.json("flavor", "list")]


def test_keypairs_import_generate_list_delete(cloud, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    kp = cloud.json("keypair", "create", "--public-key", str(tmp_path / "k.pub"), "cli-imported")
    fp = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", str(tmp_path / "k.pub")], capture_output=True,
                        text=True, check=True).stdout.split()[1].removeprefix("MD5:")
    assert kp["fingerprint"] == fp
    made = cloud.run("keypair", "create", "cli-generated").stdout
    assert "PRIVATE KEY" in made
    names = [k["Name"] for k in cloud.json("keypair", "list")]
    assert {"cli-imported", "cli-generated"} <= set(names)
    assert cloud.json("keypair", "show", "cli-imported")["fingerprint"] == fp
    cloud.run("keypair", "delete", "cli-imported", "cli-generated")
    assert cloud.json("keypair", "list") == []


def test_servers_on_simulated_hosts_through_every_action(cloud):
    member = cloud.user("vm-user", "vm-project")
    s = cloud.json("server", "create", "--image", "ferrostack-test", "--flavor", "m1.tiny", "--nic", "none",
                   "--availability-zone", "sim", "--property", "role=web", "--wait", "sim-vm", env=member)
    assert s["status"] == "ACTIVE"
    assert s["OS-EXT-AZ:availability_zone"] == "sim"
    admin_view = cloud.json("server", "show", s["id"])
    assert admin_view["OS-EXT-SRV-ATTR:host"] in ("sim-1", "sim-2", "sim-3")
    for action, want in [("stop", "SHUTOFF"), ("start", "ACTIVE"), ("pause", "PAUSED"), ("unpause", "ACTIVE"),
                         ("suspend", "SUSPENDED"), ("resume", "ACTIVE")]:
        cloud.run("server", action, "sim-vm", env=member)
        wait_for(lambda: status(cloud, "sim-vm", member) == want, f"{action} -> {want}", 30)
    cloud.run("server", "reboot", "--hard", "--wait", "sim-vm", env=member)
    cloud.run("server", "reboot", "--soft", "--wait", "sim-vm", env=member)
    assert status(cloud, "sim-vm", member) == "ACTIVE"
    # A locked server refuses its members with the reason.
    cloud.run("server", "lock", "--reason", "month-end run", "sim-vm", env=member)
    refused = cloud.run("server", "stop", "sim-vm", env=member, check=False)
    assert refused.returncode != 0 and "locked" in refused.stderr and "month-end run" in refused.stderr, refused.stderr
    cloud.run("server", "unlock", "sim-vm", env=member)
    actions = cloud.json("server", "event", "list", "sim-vm", env=member)
    assert {"create", "stop", "lock"} <= {a["Action"] for a in actions}
    listed = cloud.json("server", "list", "--name", "^sim-", env=member)
    assert [x["Name"] for x in listed] == ["sim-vm"]
    cloud.run("server", "delete", "--wait", "sim-vm", env=member)
    assert cloud.json("server", "list", env=member) == []


def test_quota_limits_and_other_projects(cloud):
    member = cloud.user("q-user", "q-project")
    cloud.run("quota", "set", "--instances", "1", "q-project")
    cloud.run("server", "create", "--image", "ferrostack-test", "--flavor", "m1.tiny", "--nic", "none",
              "--availability-zone", "sim", "--wait", "q-vm", env=member)
    over = cloud.run("server", "create", "--image", "ferrostack-test", "--flavor", "m1.tiny", "--nic", "none",
                     "--availability-zone", "sim", "q-vm2", env=member, check=False)
    assert over.returncode != 0
    assert "403" in over.stderr and "Quota exceeded for instances" in over.stderr, over.stderr
    assert "already used 1 of 1 instances" in over.stderr, over.stderr
    limits = {row["Name"]: row["Value"] for row in cloud.json("limits", "show", "--absolute", env=member)}
    assert limits["max_total_instances"] == 1 and limits["total_instances_used"] == 1
    assert limits["total_ram_used"] == 512
    quota = {row["Resource"]: row["Limit"] for row in cloud.json("quota", "show", "--compute", "q-project")}
    assert quota["instances"] == 1 and quota["cores"] == 20
    # Another project's member: no such server.
    other = cloud.user("q-other", "q-other-project")
    p = cloud.run("server", "show", "q-vm", env=other, check=False)
    assert p.returncode != 0 and "No Server found for q-vm" in p.stderr, p.stderr
    sid = cloud.json("server", "show", "q-vm", env=member)["id"]
    p = cloud.run("server", "delete", sid, env=other, check=False)
    assert p.returncode != 0
    assert status(cloud, "q-vm", member) == "ACTIVE"
    cloud.run("server", "delete", "--wait", "q-vm", env=member)


def test_openstacksdk_creates_lists_and_deletes(cloud):
    env = cloud.user("sdk-user", "sdk-project")
    conn = openstack.connect(auth_url=cloud.auth_url, username="sdk-user", password=env["OS_PASSWORD"],
                             project_name="sdk-project", user_domain_name="Default",
                             project_domain_name="Default", region_name="RegionOne")
    image = conn.image.find_image("ferrostack-test")
    flavor = conn.compute.find_flavor("m1.tiny")
    server = conn.compute.create_server(name="sdk-vm", image_id=image.id, flavor_id=flavor.id, networks="none",
                                        availability_zone="sim")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=60)
    assert server.status == "ACTIVE"
    assert [s.name for s in conn.compute.servers()] == ["sdk-vm"]
    conn.compute.stop_server(server)
    conn.compute.wait_for_server(server, status="SHUTOFF", wait=60)
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=60)
    assert list(conn.compute.servers()) == []


def domains():
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True,
                         text=True, check=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def test_the_test_image_boots_under_real_qemu(cloud, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    cloud.run("keypair", "create", "--public-key", str(tmp_path / "k.pub"), "real-key")
    (tmp_path / "user-data").write_text("#cloud-config\nhostname: real-vm\n")
    s = cloud.json("server", "create", "--image", "ferrostack-test", "--flavor", "m1.tiny", "--nic", "none",
                   "--availability-zone", "nova", "--key-name", "real-key", "--user-data",
                   str(tmp_path / "user-data"), "--wait", "real-vm")
    assert s["status"] == "ACTIVE", s
    sid = s["id"]
    assert f"fs-{sid}" in domains()
    # The config drive cloud-init reads: the key pair in meta_data, the user data as given.
    drive = os.path.join(cloud.data_dir, "compute", "instances", sid, "disk.config")
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", drive, "-extract", "/", str(tmp_path / "cd")],
                   check=True, capture_output=True)
    latest = tmp_path / "cd" / "openstack" / "latest"
    meta = json.loads((latest / "meta_data.json").read_text())
    assert meta["uuid"] == sid and meta["name"] == "real-vm"
    assert meta["public_keys"]["real-key"] == (tmp_path / "k.pub").read_text().strip()
    assert (latest / "user_data").read_text() == "#cloud-config\nhostname: real-vm\n"
    assert "FERROSTACK" not in (latest / "network_data.json").read_text()
    log = wait_for(lambda: (lambda out: out if MARKER in out else None)(
        cloud.run("console", "log", "show", "real-vm").stdout), "the test image's marker", 240)
    assert MARKER in log
    tail = cloud.run("console", "log", "show", "--lines", "3", "real-vm").stdout
    assert len(tail.strip().splitlines()) <= 3

    cloud.run("server", "stop", "real-vm")
    wait_for(lambda: status(cloud, "real-vm") == "SHUTOFF", "SHUTOFF", 60)
    state = subprocess.run(["virsh", "-c", "qemu:///system", "domstate", f"fs-{sid}"], capture_output=True,
                           text=True).stdout.strip()
    assert state == "shut off", state
    cloud.run("server", "start", "real-vm")
    wait_for(lambda: status(cloud, "real-vm") == "ACTIVE", "ACTIVE after start", 60)
    cloud.run("server", "reboot", "--hard", "--wait", "real-vm")
    assert status(cloud, "real-vm") == "ACTIVE"

    cloud.run("server", "delete", "--wait", "real-vm")
    assert f"fs-{sid}" not in domains()
    assert not os.path.exists(os.path.join(cloud.data_dir, "compute", "instances", sid))
    # Usage figures are shown up to microversion 2.87.
    local = cloud.json("--os-compute-api-version", "2.87", "hypervisor", "show", "local")
    assert (local["vcpus_used"], local["memory_mb_used"], local["running_vms"]) == (0, 0, 0), local

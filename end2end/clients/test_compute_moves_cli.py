"""The real `openstack` CLI for compute part 2: server groups (affinity and
anti-affinity placement on simulated hosts, the refusal naming the rule), resize with
confirm and revert, cold and live migration, evacuation of a host forced down,
rebuild, rescue, shelve and unshelve, and snapshots — on simulated hosts, and under real
QEMU, where a resize restarts the guest with the new memory, and a snapshot boots as a
new server whose console shows the test image's marker."""

import os
import subprocess

from test_compute_cli import MARKER, domains, status, wait_for


def create(cloud, name, *extra, env=None, zone="sim", image="ferrostack-test", flavor="m1.tiny", wait=True):
    args = ["server", "create", "--image", image, "--flavor", flavor, "--nic", "none",
            "--availability-zone", zone, *extra]
    if wait:
        args.append("--wait")
    return cloud.json(*args, name, env=env)


def flavor_of(shown):
    f = shown["flavor"]
    return f.get("name") or f.get("original_name") if isinstance(f, dict) else f.split(" ")[0]


def host_of(cloud, name):
    return cloud.json("server", "show", name)["OS-EXT-SRV-ATTR:host"]


def test_server_groups_place_apart_and_together(cloud):
    member = cloud.user("grp-user", "grp-project")
    apart = cloud.json("server", "group", "create", "--policy", "anti-affinity", "apart", env=member)
    assert apart["policy"] == "anti-affinity"
    ids = [create(cloud, f"apart-{i}", "--hint", f"group={apart['id']}", env=member)["id"] for i in range(3)]
    hosts = {host_of(cloud, i) for i in ids}
    assert hosts == {"sim-1", "sim-2", "sim-3"}
    # A fourth member has no host left, and its fault says which rule refused each one.
    create(cloud, "apart-3", "--hint", f"group={apart['id']}", env=member, wait=False)
    wait_for(lambda: status(cloud, "apart-3", member) == "ERROR", "the fourth member in ERROR", 30)
    fault = cloud.json("server", "show", "apart-3", env=member)["fault"]["message"]
    assert "server group apart (anti-affinity) already has 1 member here" in fault, fault
    shown = cloud.json("server", "group", "show", "apart", env=member)
    assert len(shown["members"]) == 4

    together = cloud.json("server", "group", "create", "--policy", "affinity", "together", env=member)
    ids = [create(cloud, f"together-{i}", "--hint", f"group={together['id']}", env=member)["id"] for i in range(2)]
    assert host_of(cloud, ids[0]) == host_of(cloud, ids[1])
    names = {g["Name"] for g in cloud.json("server", "group", "list", env=member)}
    assert names == {"apart", "together"}
    other = cloud.user("grp-other", "grp-other-project")
    assert cloud.json("server", "group", "list", env=other) == []
    for n in ["apart-0", "apart-1", "apart-2", "apart-3", "together-0", "together-1"]:
        cloud.run("server", "delete", "--wait", n, env=member)
    cloud.run("server", "group", "delete", "apart", "together", env=member)
    assert cloud.json("server", "group", "list", env=member) == []


def test_resize_migrate_evacuate_rebuild_rescue_shelve_and_snapshot_on_simulated_hosts(cloud):
    member = cloud.user("mv-user", "mv-project")
    sid = create(cloud, "mover", env=member)["id"]
    # Resize, confirm; resize again, revert.
    cloud.run("server", "resize", "--flavor", "m1.small", "--wait", "mover", env=member)
    assert status(cloud, "mover", member) == "VERIFY_RESIZE"
    cloud.run("server", "resize", "confirm", "mover", env=member)
    shown = cloud.json("server", "show", "mover", env=member)
    assert shown["status"] == "ACTIVE" and flavor_of(shown) == "m1.small", shown["flavor"]
    cloud.run("server", "resize", "--flavor", "m1.medium", "--wait", "mover", env=member)
    cloud.run("server", "resize", "revert", "mover", env=member)
    wait_for(lambda: status(cloud, "mover", member) == "ACTIVE", "ACTIVE after revert", 30)
    assert flavor_of(cloud.json("server", "show", "mover", env=member)) == "m1.small"
    # A member may not migrate; an admin may, cold and live.
    refused = cloud.run("server", "migrate", "mover", env=member, check=False)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    before = host_of(cloud, sid)
    cloud.run("server", "migrate", "--wait", sid)
    assert status(cloud, sid) == "VERIFY_RESIZE"
    cloud.run("server", "migrate", "confirm", sid)
    wait_for(lambda: status(cloud, sid) == "ACTIVE", "ACTIVE after the cold migration", 30)
    after = host_of(cloud, sid)
    assert after != before
    target = next(h for h in ["sim-1", "sim-2"] if h != after)
    cloud.run("--os-compute-api-version", "2.30", "server", "migrate", "--live-migration", "--host", target,
              "--wait", sid)
    assert host_of(cloud, sid) == target and status(cloud, sid) == "ACTIVE"
    migrations = cloud.json("--os-compute-api-version", "2.59", "server", "migration", "list", "--server", sid)
    assert {"live-migration", "migration", "resize"} <= {m["Type"] for m in migrations}, migrations
    # Evacuate: refused while the host is up; once it is forced down, the server moves.
    up = cloud.run("server", "evacuate", sid, check=False)
    assert up.returncode != 0 and "still in use" in up.stderr, up.stderr
    cloud.run("--os-compute-api-version", "2.11", "compute", "service", "set", "--down", target, "nova-compute")
    # Not --wait: openstackclient 10.5 compares the lowered status with "ACTIVE" there
    # and never returns.
    cloud.run("server", "evacuate", sid)
    wait_for(lambda: host_of(cloud, sid) != target and status(cloud, sid) == "ACTIVE", "the evacuated server", 30)
    cloud.run("--os-compute-api-version", "2.11", "compute", "service", "set", "--up", target, "nova-compute")
    # Rebuild, rescue and unrescue, shelve and unshelve.
    cloud.run("server", "rebuild", "--image", "ferrostack-test", "--wait", "mover", env=member)
    assert status(cloud, "mover", member) == "ACTIVE"
    cloud.run("server", "rescue", "mover", env=member)
    wait_for(lambda: status(cloud, "mover", member) == "RESCUE", "RESCUE", 30)
    cloud.run("server", "unrescue", "mover", env=member)
    wait_for(lambda: status(cloud, "mover", member) == "ACTIVE", "ACTIVE after unrescue", 30)
    cloud.run("server", "shelve", "mover", env=member)
    wait_for(lambda: status(cloud, "mover", member) == "SHELVED_OFFLOADED", "SHELVED_OFFLOADED", 30)
    assert cloud.json("server", "show", sid)["OS-EXT-SRV-ATTR:host"] is None
    cloud.run("server", "unshelve", "--wait", "mover", env=member)
    assert status(cloud, "mover", member) == "ACTIVE"
    # A snapshot: an image of the member's project.
    cloud.run("server", "image", "create", "--name", "mover-snap", "--wait", "mover", env=member)
    img = cloud.json("image", "show", "mover-snap", env=member)
    assert img["status"] == "active" and img["properties"]["image_type"] == "snapshot", img
    events = {e["Action"] for e in cloud.json("server", "event", "list", "mover", env=member)}
    assert {"resize", "confirmResize", "revertResize", "rebuild", "rescue", "unrescue", "shelve", "unshelve",
            "createImage"} <= events, events
    cloud.run("server", "delete", "--wait", "mover", env=member)
    cloud.run("image", "delete", "mover-snap", env=member)


def console_markers(cloud, name):
    return cloud.run("console", "log", "show", name).stdout.count(MARKER)


def booted_again(cloud, name, before, what):
    wait_for(lambda: console_markers(cloud, name) > before, what, 240)
    return console_markers(cloud, name)


def dumpxml(sid):
    return subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", f"fs-{sid}"], capture_output=True,
                          text=True, check=True).stdout


def test_resize_rebuild_rescue_shelve_and_snapshot_under_real_qemu(cloud):
    # The test ISO is a hybrid image: uploaded as a raw disk it boots from the root disk,
    # so its snapshot holds the system.
    iso = os.environ["FERROSTACK_SEED_IMAGE"]
    cloud.run("image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", iso,
              "ferrostack-disk")
    s = create(cloud, "real-mover", zone="nova", image="ferrostack-disk")
    sid = s["id"]
    seen = booted_again(cloud, "real-mover", 0, "the first boot's marker")
    assert "<memory unit='KiB'>524288</memory>" in dumpxml(sid)

    cloud.run("server", "resize", "--flavor", "m1.small", "--wait", "real-mover")
    assert status(cloud, "real-mover") == "VERIFY_RESIZE"
    assert "<memory unit='KiB'>2097152</memory>" in dumpxml(sid)
    seen = booted_again(cloud, "real-mover", seen, "the marker after the resize")
    cloud.run("server", "resize", "confirm", "real-mover")
    wait_for(lambda: status(cloud, "real-mover") == "ACTIVE", "ACTIVE after confirm", 30)

    cloud.run("server", "rebuild", "--image", "ferrostack-disk", "--wait", "real-mover")
    seen = booted_again(cloud, "real-mover", seen, "the marker after the rebuild")

    cloud.run("server", "rescue", "real-mover")
    wait_for(lambda: status(cloud, "real-mover") == "RESCUE", "RESCUE", 240)
    xml = dumpxml(sid)
    assert xml.index("disk.rescue") < xml.index(f"/{sid}/disk'"), xml
    seen = booted_again(cloud, "real-mover", seen, "the rescue image's marker")
    cloud.run("server", "unrescue", "real-mover")
    wait_for(lambda: status(cloud, "real-mover") == "ACTIVE", "ACTIVE after unrescue", 240)
    assert "disk.rescue" not in dumpxml(sid)

    cloud.run("server", "shelve", "real-mover")
    wait_for(lambda: status(cloud, "real-mover") == "SHELVED_OFFLOADED", "SHELVED_OFFLOADED", 240)
    assert f"fs-{sid}" not in domains()
    local = cloud.json("--os-compute-api-version", "2.87", "hypervisor", "show", "local")
    assert local["running_vms"] == 0, local
    cloud.run("server", "unshelve", "--wait", "real-mover")
    assert f"fs-{sid}" in domains()
    seen = booted_again(cloud, "real-mover", seen, "the marker after unshelve")

    cloud.run("server", "image", "create", "--name", "real-snap", "--wait", "real-mover")
    snap = cloud.json("image", "show", "real-snap")
    assert snap["status"] == "active" and snap["disk_format"] == "qcow2", snap
    # The snapshot asks for the disk of the flavor it was taken under (m1.small's 20 GiB).
    assert snap["min_disk"] == 20, snap
    refused = cloud.run("server", "create", "--image", "real-snap", "--flavor", "m1.tiny", "--nic", "none",
                        "--availability-zone", "nova", "too-small", check=False)
    assert refused.returncode != 0 and "disk is too small" in refused.stderr, refused.stderr
    # The snapshot stands on its own: its server goes first (the host's disk has room
    # for one 20 GiB server here).
    cloud.run("server", "delete", "--wait", "real-mover")
    create(cloud, "from-snap", zone="nova", image="real-snap", flavor="m1.small")
    booted_again(cloud, "from-snap", 0, "the snapshot's marker")

    cloud.run("server", "delete", "--wait", "from-snap")
    cloud.run("image", "delete", "real-snap", "ferrostack-disk")
    local = cloud.json("--os-compute-api-version", "2.87", "hypervisor", "show", "local")
    assert (local["vcpus_used"], local["memory_mb_used"], local["running_vms"]) == (0, 0, 0), local

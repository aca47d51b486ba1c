"""The real `openstack` CLI (python-openstackclient over openstacksdk) against Glance v2
at /image: create with --file, list with filters, show, save byte-identical, set
properties, protection, delete, and the refusal of an unsafe qcow2."""

import hashlib
import os
import subprocess


def make_file(tmp_path, name, size):
    path = tmp_path / name
    path.write_bytes(bytes((i * 7 + 3) % 256 for i in range(size)))
    return path


def test_image_create_list_show_save_set_delete(cloud, tmp_path):
    src = make_file(tmp_path, "disk.raw", 3 * 1024 * 1024 + 17)
    img = cloud.json("image", "create", "--file", str(src), "--disk-format", "raw",
                     "--container-format", "bare", "--property", "os_distro=debian", "cli-raw")
    assert img["status"] == "active"
    assert img["checksum"] == hashlib.md5(src.read_bytes()).hexdigest()
    assert img["size"] == src.stat().st_size

    listed = cloud.json("image", "list", "--property", "os_distro=debian")
    assert [i["Name"] for i in listed] == ["cli-raw"]
    assert cloud.json("image", "list", "--name", "nothing-like-it") == []
    assert "cli-raw" in [i["Name"] for i in cloud.json("image", "list", "--status", "active")]
    assert "cli-raw" not in [i["Name"] for i in cloud.json("image", "list", "--status", "queued")]

    shown = cloud.json("image", "show", "cli-raw")
    assert shown["id"] == img["id"]
    assert shown["disk_format"] == "raw"

    out = tmp_path / "saved.raw"
    cloud.run("image", "save", "--file", str(out), "cli-raw")
    assert out.read_bytes() == src.read_bytes()

    cloud.run("image", "set", "--property", "hw_disk_bus=virtio", "--protected", "cli-raw")
    shown = cloud.json("image", "show", "cli-raw")
    props = shown["properties"]
    assert props["hw_disk_bus"] == "virtio" and props["os_distro"] == "debian"
    assert shown["protected"] is True

    refused = cloud.run("image", "delete", "cli-raw", check=False)
    assert refused.returncode != 0
    assert "protected" in refused.stderr, refused.stderr
    cloud.run("image", "set", "--unprotected", "cli-raw")
    cloud.run("image", "delete", "cli-raw")
    assert "cli-raw" not in [i["Name"] for i in cloud.json("image", "list")]


def test_a_qcow2_with_a_backing_file_is_refused(cloud, tmp_path):
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "base.qcow2", "1M"], cwd=tmp_path, check=True,
                   capture_output=True)
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "evil.qcow2"],
                   cwd=tmp_path, check=True, capture_output=True)
    p = cloud.run("image", "create", "--file", str(tmp_path / "evil.qcow2"), "--disk-format", "qcow2",
                  "--container-format", "bare", "cli-evil", check=False)
    assert p.returncode != 0
    assert "backing file" in p.stderr, p.stderr
    images = cloud.json("image", "list", "--name", "cli-evil")
    assert all(i["Status"] != "active" for i in images)
    for i in images:
        cloud.run("image", "delete", i["ID"])
    assert os.listdir(os.path.join(cloud.data_dir, "images", "staging")) == []


def test_the_cloud_offers_the_test_image_from_bring_up(cloud):
    """`ferrostack serve --seed-image` (scripts/up.sh and the test command pass the ISO
    from scripts/build-test-image.sh): a public, active image a member can see."""
    iso = os.environ.get("FERROSTACK_SEED_IMAGE")
    assert iso, "the test command sets FERROSTACK_SEED_IMAGE to the test ISO"
    name = os.path.splitext(os.path.basename(iso))[0]
    img = cloud.json("image", "show", name)
    assert (img["status"], img["visibility"], img["disk_format"]) == ("active", "public", "iso")
    assert img["size"] == os.path.getsize(iso)
    with open(iso, "rb") as f:
        assert img["checksum"] == hashlib.md5(f.read()).hexdigest()


def test_a_shared_image_reaches_another_project_once_it_accepts(cloud, tmp_path):
    src = make_file(tmp_path, "shared.raw", 64 * 1024 + 5)
    img = cloud.json("image", "create", "--file", str(src), "--disk-format", "raw",
                     "--container-format", "bare", "--shared", "cli-shared")
    cloud.json("project", "create", "cli-friends")
    cloud.json("user", "create", "--password", "friend-pw-1", "cli-friend")
    cloud.run("role", "add", "--project", "cli-friends", "--user", "cli-friend", "member")
    friend = cloud.env(user="cli-friend", password="friend-pw-1", project="cli-friends")
    names = lambda env: [i["Name"] for i in cloud.json("image", "list", env=env)]
    assert "cli-shared" not in names(friend)

    cloud.run("image", "add", "project", "cli-shared", "cli-friends")
    assert "cli-shared" not in names(friend), "offered, not yet accepted"
    cloud.run("image", "set", "--accept", img["id"], env=friend)
    assert "cli-shared" in names(friend)
    members = cloud.json("image", "member", "list", "cli-shared")
    assert [m["Status"] for m in members] == ["accepted"]

    out = tmp_path / "theirs.raw"
    cloud.run("image", "save", "--file", str(out), img["id"], env=friend)
    assert out.read_bytes() == src.read_bytes()
    # The member may not change or delete it.
    refused = cloud.run("image", "delete", img["id"], env=friend, check=False)
    assert refused.returncode != 0
    cloud.run("image", "remove", "project", "cli-shared", "cli-friends")
    assert "cli-shared" not in names(friend)
    cloud.run("image", "delete", "cli-shared")

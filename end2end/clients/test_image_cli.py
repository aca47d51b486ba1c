"""The real `openstack` CLI (python-openstackclient over openstacksdk) against Glance v2
at /image: create with --file, list with filters, show, save byte-identical, set
properties, protection, delete, and the refusal of an unsafe qcow2."""

import hashlib
import json
import os
import subprocess
import time


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
    pending = cloud.json("image", "list", "--member-status", "pending", env=friend)
    assert "cli-shared" in [i["Name"] for i in pending], "listed when pending ones are asked for"
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


def wait_for_status(cloud, name, wanted, tries=300):
    for _ in range(tries):
        shown = cloud.json("image", "show", name)
        if shown["status"] in wanted:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{name} stayed {shown['status']}")


def test_image_create_with_import_is_staged_imported_and_converted(cloud, tmp_path):
    # The import-methods discovery the CLI reads before an import.
    token = cloud.json("token", "issue")["id"]
    status, body = cloud.http("GET", "/image/v2/info/import", token)
    assert status == 200 and json.loads(body)["import-methods"]["value"] == ["glance-direct"]

    src = tmp_path / "disk.raw"
    src.write_bytes(bytes(512) * 2048 + bytes((i % 251 for i in range(4096))) + bytes(512) * 2048)
    cloud.run("image", "create", "--import", "--file", str(src), "--disk-format", "raw",
              "--container-format", "bare", "cli-imported")
    shown = wait_for_status(cloud, "cli-imported", ("active", "queued"))
    assert shown["status"] == "active", shown
    # This cloud converts imports to qcow2 (FERROSTACK_IMAGE_CONVERT_TO in conftest).
    assert shown["disk_format"] == "qcow2"
    assert shown["virtual_size"] == src.stat().st_size
    out = tmp_path / "saved.qcow2"
    cloud.run("image", "save", "--file", str(out), "cli-imported")
    assert out.read_bytes()[:4] == b"QFI\xfb"
    assert hashlib.md5(out.read_bytes()).hexdigest() == shown["checksum"]
    back = tmp_path / "back.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(out), str(back)], check=True)
    assert back.read_bytes() == src.read_bytes()
    status, body = cloud.http("GET", f"/image/v2/images/{shown['id']}/tasks", token)
    tasks = json.loads(body)["tasks"]
    assert status == 200 and [t["status"] for t in tasks] == ["success"], tasks
    assert "converted to qcow2" in tasks[0]["message"]


def test_image_stage_then_import_refuses_an_unsafe_image_with_the_reason(cloud, tmp_path):
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "base.qcow2", "1M"], cwd=tmp_path, check=True,
                   capture_output=True)
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "evil.qcow2"],
                   cwd=tmp_path, check=True, capture_output=True)
    cloud.run("image", "create", "--disk-format", "qcow2", "--container-format", "bare", "cli-staged-evil")
    cloud.run("image", "stage", "--file", str(tmp_path / "evil.qcow2"), "cli-staged-evil")
    assert cloud.json("image", "show", "cli-staged-evil")["status"] == "uploading"
    cloud.run("image", "import", "cli-staged-evil")
    shown = wait_for_status(cloud, "cli-staged-evil", ("active", "queued"))
    assert shown["status"] == "queued"
    token = cloud.json("token", "issue")["id"]
    status, body = cloud.http("GET", f"/image/v2/images/{shown['id']}/tasks", token)
    task = json.loads(body)["tasks"][0]
    assert task["status"] == "failure" and "backing file" in task["message"], task
    cloud.run("image", "delete", "cli-staged-evil")

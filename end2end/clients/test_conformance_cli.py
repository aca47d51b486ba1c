"""The real python-openstackclient against the Keystone and Glance features an operator
migrating from OpenStack uses: endpoint groups narrowing a project's catalog, metadata
definitions, the image task list, an admin moving an image to another project (regions by
id: test_identity_cli.py)."""

import json
import time
import uuid


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_endpoint_group_create_add_project_narrows_its_catalog(cloud, tmp_path):
    project, user = name("epf"), name("epf-user")
    env = cloud.user(user, project)
    before = cloud.json("catalog", "list", env=env)
    assert any("admin" in json.dumps(s["Endpoints"]) for s in before), before

    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"interface": "public"}))
    group = name("public-only")
    made = cloud.json("endpoint", "group", "create", "--description", "public endpoints", group, str(filters))
    assert made["name"] == group and made["filters"] == {"interface": "public"}, made
    assert group in [g["Name"] for g in cloud.json("endpoint", "group", "list")]
    cloud.run("endpoint", "group", "add", "project", group, project)

    # The project's tokens now carry public endpoints only.
    after = cloud.json("catalog", "list", env=env)
    text = json.dumps(after)
    assert "public" in text and "admin" not in text and "internal" not in text, after

    cloud.run("endpoint", "group", "remove", "project", group, project)
    cloud.run("endpoint", "group", "delete", group)
    assert group not in [g["Name"] for g in cloud.json("endpoint", "group", "list")]
    assert "admin" in json.dumps(cloud.json("catalog", "list", env=env))


def test_image_metadef_namespace_property_object_resource_type(cloud):
    ns = name("OS::Ferrostack::Test")
    made = cloud.json("image", "metadef", "namespace", "create", "--display-name", "Test", "--public", ns)
    assert made["namespace"] == ns and made["visibility"] == "public", made
    assert ns in [n["namespace"] for n in cloud.json("image", "metadef", "namespace", "list")]

    cloud.run("image", "metadef", "property", "create", "--name", "hw_rng", "--title", "RNG",
              "--type", "boolean", "--schema", json.dumps({"description": "a random number generator"}), ns)
    props = cloud.json("image", "metadef", "property", "list", ns)
    assert "hw_rng" in json.dumps(props), props
    shown = cloud.json("image", "metadef", "property", "show", ns, "hw_rng")
    assert shown["title"] == "RNG" and shown["type"] == "boolean", shown

    cloud.run("image", "metadef", "object", "create", "--namespace", ns, "Watchdog")
    assert "Watchdog" in json.dumps(cloud.json("image", "metadef", "object", "list", ns))

    assert "OS::Glance::Image" in json.dumps(cloud.json("image", "metadef", "resource", "type", "list"))
    cloud.run("image", "metadef", "resource", "type", "association", "create", ns, "OS::Glance::Image")
    assocs = cloud.json("image", "metadef", "resource", "type", "association", "list", ns)
    assert "OS::Glance::Image" in json.dumps(assocs), assocs

    # A member sees the public namespace and cannot make one.
    env = cloud.user(name("md-user"), name("md-proj"))
    assert ns in [n["namespace"] for n in cloud.json("image", "metadef", "namespace", "list", env=env)]
    r = cloud.run("image", "metadef", "namespace", "create", name("mine"), env=env, check=False)
    assert r.returncode != 0 and "403" in (r.stderr + r.stdout), r.stderr

    cloud.run("image", "metadef", "namespace", "delete", ns)
    assert ns not in [n["namespace"] for n in cloud.json("image", "metadef", "namespace", "list")]


def test_image_task_list_shows_an_import(cloud, tmp_path):
    src = tmp_path / "t.raw"
    src.write_bytes(bytes(512) * 64)
    image = name("cli-task")
    cloud.run("image", "create", "--import", "--file", str(src), "--disk-format", "raw",
              "--container-format", "bare", image)
    image_id = cloud.json("image", "show", image)["id"]
    for _ in range(100):
        tasks = cloud.json("image", "task", "list")
        mine = [t for t in tasks if t.get("Status") == "success"]
        if mine:
            break
        time.sleep(0.2)
    ids = [t["ID"] for t in cloud.json("image", "task", "list", "--status", "success")]
    assert ids, tasks
    found = [cloud.json("image", "task", "show", i) for i in ids]
    # The task names its image in its result (the SDK's Task has no image_id).
    assert any(image_id in json.dumps(t.get("result")) for t in found), found
    assert all(t["type"] == "api_image_import" for t in found)
    r = cloud.run("image", "task", "list", "--status", "nonsense", check=False)
    assert r.returncode != 0


def test_image_set_project_moves_an_image_to_another_project(cloud, tmp_path):
    src = tmp_path / "m.raw"
    src.write_bytes(bytes(512) * 8)
    project, user, image = name("receiver"), name("receiver-user"), name("moved")
    env = cloud.user(user, project)
    image_id = cloud.json("image", "create", "--private", "--file", str(src), "--disk-format", "raw",
                          "--container-format", "bare", image)["id"]
    assert image not in [i["Name"] for i in cloud.json("image", "list", env=env)]

    cloud.run("image", "set", "--project", project, image_id)
    project_id = cloud.json("project", "show", project)["id"]
    assert cloud.json("image", "show", image_id)["owner"] == project_id
    assert image in [i["Name"] for i in cloud.json("image", "list", env=env)]
    # Its new owner cannot give it away (only an admin may), and may delete it.
    r = cloud.run("image", "set", "--project", "admin", image_id, env=env, check=False)
    assert r.returncode != 0 and "Only an admin may set an image's owner" in r.stderr, r.stderr
    assert cloud.json("image", "show", image_id, env=env)["owner"] == project_id
    cloud.run("image", "delete", image, env=env)


def test_inherited_role_add_reaches_the_domains_projects(cloud):
    domain, project, user = name("dom"), name("proj"), name("heir")
    cloud.run("domain", "create", domain)
    cloud.run("project", "create", "--domain", domain, project)
    cloud.run("user", "create", "--password", "heir-pw-1", user)
    cloud.run("role", "add", "--domain", domain, "--user", user, "--inherited", "member")
    env = cloud.env(user=user, password="heir-pw-1", project=project, OS_PROJECT_DOMAIN_NAME=domain)
    token = cloud.json("token", "issue", env=env)
    assert token["project_id"] == cloud.json("project", "show", "--domain", domain, project)["id"]
    listed = cloud.json("role", "assignment", "list", "--user", user, "--names")
    assert any(a["Inherited"] for a in listed), listed
    cloud.run("role", "remove", "--domain", domain, "--user", user, "--inherited", "member")
    r = cloud.run("token", "issue", env=env, check=False)
    assert r.returncode != 0 and "401" in r.stderr, r.stderr
    cloud.run("domain", "set", "--disable", domain)
    cloud.run("domain", "delete", domain)
    # Keystone's cascade: the domain's project went with it.
    r = cloud.run("project", "show", "--domain", domain, project, check=False)
    assert r.returncode != 0


def test_policy_create_show_delete_and_an_endpoint_in_a_region_made_by_id(cloud, tmp_path):
    doc = tmp_path / "policy.json"
    doc.write_text(json.dumps({"identity:list_users": "role:admin"}))
    made = cloud.json("policy", "create", "--type", "application/json", str(doc))
    # The CLI shows the blob as `rules`.
    assert json.loads(made["rules"]) == {"identity:list_users": "role:admin"}, made
    assert made["id"] in [p["ID"] for p in cloud.json("policy", "list")]
    cloud.run("policy", "delete", made["id"])

    region = name("RegionX")
    cloud.run("region", "create", region)
    service = cloud.json("service", "create", "--name", name("svc"), "thing")["id"]
    ep = cloud.json("endpoint", "create", "--region", region, service, "public", "http://127.0.0.1:9/thing")
    assert ep["region"] == region, ep
    cloud.run("endpoint", "delete", ep["id"])
    cloud.run("service", "delete", service)
    cloud.run("region", "delete", region)

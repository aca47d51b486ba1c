"""The real python-openstackclient against Ferrostack's Keystone v3."""

import uuid

import pytest


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_token_issue(cloud):
    t = cloud.json("token", "issue")
    assert t["id"] and t["project_id"] and t["user_id"]
    assert t["expires"]


def test_project_create_list_show_delete(cloud):
    p = name("proj")
    created = cloud.json("project", "create", "--description", "web tier", p)
    assert created["name"] == p and created["enabled"] is True and created["domain_id"] == "default"
    assert p in [x["Name"] for x in cloud.json("project", "list")]
    shown = cloud.json("project", "show", p)
    assert shown["id"] == created["id"] and shown["description"] == "web tier"
    cloud.run("project", "set", "--disable", p)
    assert cloud.json("project", "show", p)["enabled"] is False
    cloud.run("project", "delete", p)
    r = cloud.run("project", "show", p, check=False)
    assert r.returncode != 0 and "no project found" in r.stderr.lower(), r.stderr


def test_user_create_list_show_delete(cloud):
    u = name("user")
    created = cloud.json("user", "create", "--password", "pw-12345", "--email", "u@example.org", u)
    assert created["name"] == u and created["enabled"] is True
    assert u in [x["Name"] for x in cloud.json("user", "list")]
    assert cloud.json("user", "show", u)["email"] == "u@example.org"
    cloud.run("user", "delete", u)
    assert u not in [x["Name"] for x in cloud.json("user", "list")]


def test_group_create_membership_and_delete(cloud):
    g, u = name("group"), name("user")
    cloud.json("group", "create", "--description", "ops team", g)
    cloud.json("user", "create", "--password", "pw-12345", u)
    cloud.run("group", "add", "user", g, u)
    r = cloud.run("group", "contains", "user", g, u)
    assert f"{u} in group {g}" in r.stdout, r.stdout
    assert g in [x["Name"] for x in cloud.json("group", "list")]
    assert cloud.json("group", "show", g)["description"] == "ops team"
    cloud.run("group", "remove", "user", g, u)
    cloud.run("group", "delete", g)
    assert g not in [x["Name"] for x in cloud.json("group", "list")]


def test_role_create_list_show_delete(cloud):
    r = name("role")
    created = cloud.json("role", "create", r)
    assert created["name"] == r
    names = [x["Name"] for x in cloud.json("role", "list")]
    assert {"admin", "member", "reader", r} <= set(names)
    assert cloud.json("role", "show", r)["id"] == created["id"]
    cloud.run("role", "delete", r)
    assert r not in [x["Name"] for x in cloud.json("role", "list")]


@pytest.fixture
def member(cloud):
    """A project with a user holding `member` there, given with the openstack CLI."""
    p, u = name("proj"), name("user")
    cloud.json("project", "create", p)
    cloud.json("user", "create", "--password", "member-pw-1", u)
    cloud.run("role", "add", "--project", p, "--user", u, "member")
    return p, u, cloud.env(user=u, password="member-pw-1", project=p)


def test_role_add_and_assignment_list_with_names(cloud, member):
    p, u, _ = member
    rows = cloud.json("role", "assignment", "list", "--project", p, "--names")
    assert [(r["Role"], r["User"], r["Project"]) for r in rows] == [("member", f"{u}@Default", f"{p}@Default")]
    rows = cloud.json("role", "assignment", "list", "--user", u, "--names")
    assert len(rows) == 1 and rows[0]["Role"] == "member"


def test_member_gets_403_on_user_create(cloud, member):
    _, _, env = member
    r = cloud.run("user", "create", "--password", "x-12345", name("sneaky"), env=env, check=False)
    assert r.returncode != 0
    assert "403" in r.stderr and "admin role" in r.stderr, r.stderr


def test_member_sees_only_its_project(cloud, member):
    p, _, env = member
    # A member lists the projects it can use through the CLI's own call.
    projects = cloud.json("project", "list", "--my-projects", env=env)
    assert [x["Name"] for x in projects] == [p]


def test_wrong_password_gets_401(cloud):
    r = cloud.run("token", "issue", env=cloud.env(password="not-the-password"), check=False)
    assert r.returncode != 0
    assert "401" in r.stderr, r.stderr


def test_application_credential_then_token_with_it(cloud, member):
    p, _, env = member
    ac = cloud.json("application", "credential", "create", "--description", "ci", name("appcred"), env=env)
    assert ac["Secret"] and ac["Project ID"] == cloud.json("project", "show", p)["id"]
    appcred_env = {k: v for k, v in env.items() if k not in (
        "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "OS_USER_DOMAIN_NAME", "OS_PROJECT_DOMAIN_NAME")}
    appcred_env.update({
        "OS_AUTH_TYPE": "v3applicationcredential",
        "OS_APPLICATION_CREDENTIAL_ID": ac["ID"],
        "OS_APPLICATION_CREDENTIAL_SECRET": ac["Secret"],
    })
    t = cloud.json("token", "issue", env=appcred_env)
    assert t["project_id"] == ac["Project ID"]
    listed = cloud.json("application", "credential", "list", env=env)
    assert [x["ID"] for x in listed] == [ac["ID"]]
    cloud.run("application", "credential", "delete", ac["ID"], env=env)
    r = cloud.run("token", "issue", env=appcred_env, check=False)
    assert r.returncode != 0 and "401" in r.stderr, r.stderr


def test_token_revoke_then_the_token_is_refused(cloud):
    token = cloud.json("token", "issue")["id"]
    status, _ = cloud.http("GET", "/identity/v3/auth/tokens", token, {"X-Subject-Token": token})
    assert status == 200
    cloud.run("token", "revoke", token)
    status, body = cloud.http("GET", "/identity/v3/auth/tokens", cloud.json("token", "issue")["id"],
                              {"X-Subject-Token": token})
    assert status == 404 and b"revoked" in body
    # The CLI with the revoked token is refused too.
    env = cloud.env(OS_AUTH_TYPE="token", OS_TOKEN=token)
    for k in ("OS_USERNAME", "OS_PASSWORD", "OS_USER_DOMAIN_NAME"):
        env.pop(k)
    r = cloud.run("project", "list", env=env, check=False)
    assert r.returncode != 0 and "401" in r.stderr, r.stderr


def test_region_create_with_id_and_list_by_parent(cloud):
    parent, child = name("reg"), name("reg")
    made = cloud.json("region", "create", "--description", "north", parent)
    assert made["region"] == parent and made["description"] == "north"
    cloud.json("region", "create", "--parent-region", parent, child)
    listed = cloud.json("region", "list", "--parent-region", parent)
    assert [r["Region"] for r in listed] == [child]
    again = cloud.run("region", "create", parent, check=False)
    assert again.returncode != 0 and ("409" in again.stderr or "Conflict" in again.stderr), again.stderr
    cloud.run("region", "delete", child)
    cloud.run("region", "delete", parent)

"""The real python-openstackclient against Ferrostack's Keystone v3: trusts, implied
roles, EC2 credentials and credentials, project tags."""

import os
import subprocess
import uuid

import pytest


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def member(cloud):
    """A project with a user holding `member` there: (project id, user id, its env)."""
    p, u = name("proj"), name("user")
    pid = cloud.json("project", "create", p)["id"]
    uid = cloud.json("user", "create", "--password", "member-pw-1", u)["id"]
    cloud.run("role", "add", "--project", p, "--user", u, "member")
    return pid, uid, cloud.env(user=u, password="member-pw-1", project=p)


def role_names(roles):
    """A trust's roles as the CLI prints them: a list of roles, or their names."""
    return [r["name"] for r in roles] if isinstance(roles, list) else roles.split()


def test_trust_create_list_show_delete_and_a_trust_scoped_token(cloud, member):
    pid, trustor, env = member
    trustee_name = name("trustee")
    trustee = cloud.json("user", "create", "--password", "trustee-pw-1", trustee_name)["id"]
    # The trustor makes the trust itself (a member may name users by id).
    made = cloud.json("trust", "create", "--project", pid, "--role", "member", trustor, trustee, env=env)
    assert made["trustor_user_id"] == trustor and made["trustee_user_id"] == trustee
    assert made["project_id"] == pid and role_names(made["roles"]) == ["member"]
    assert made["is_impersonation"] is False
    assert made["id"] in [t["ID"] for t in cloud.json("trust", "list")]
    shown = cloud.json("trust", "show", made["id"])
    assert shown["trustee_user_id"] == trustee and role_names(shown["roles"]) == ["member"]

    # The trustee, who holds no role anywhere, gets a token on the trustor's project.
    trust_env = cloud.env(user=trustee_name, password="trustee-pw-1")
    trust_env.pop("OS_PROJECT_NAME")
    trust_env.pop("OS_PROJECT_DOMAIN_NAME", None)
    trust_env["OS_TRUST_ID"] = made["id"]
    token = cloud.json("token", "issue", env=trust_env)
    assert token["project_id"] == pid and token["user_id"] == trustee
    status, body = cloud.http("GET", "/identity/v3/auth/tokens", cloud.json("token", "issue")["id"],
                              {"X-Subject-Token": token["id"]})
    assert status == 200 and b'"OS-TRUST:trust"' in body, body

    # A member may not make a trust for someone else.
    r = cloud.run("trust", "create", "--project", pid, "--role", "member", trustee, trustor, env=env, check=False)
    assert r.returncode != 0 and "403" in r.stderr, r.stderr

    cloud.run("trust", "delete", made["id"], env=env)
    assert made["id"] not in [t["ID"] for t in cloud.json("trust", "list")]
    # Its tokens end with it.
    status, _ = cloud.http("GET", "/identity/v3/auth/tokens", cloud.json("token", "issue")["id"],
                           {"X-Subject-Token": token["id"]})
    assert status == 404
    r = cloud.run("token", "issue", env=trust_env, check=False)
    assert r.returncode != 0, r.stdout


def test_implied_role_create_list_and_delete(cloud):
    prior, implied = name("role"), name("role")
    cloud.json("role", "create", prior)
    cloud.json("role", "create", implied)
    made = cloud.json("implied", "role", "create", "--implied-role", implied, prior)
    assert made["prior_role"] and made["implies"], made
    rows = cloud.json("implied", "role", "list")
    pairs = {(r["Prior Role Name"], r["Implied Role Name"]) for r in rows}
    # Bootstrap's, as Keystone makes them, and the new one.
    assert {("admin", "member"), ("member", "reader"), (prior, implied)} <= pairs, pairs
    # The reverse would make a cycle.
    r = cloud.run("implied", "role", "create", "--implied-role", prior, implied, check=False)
    assert r.returncode != 0 and "cycle" in r.stderr, r.stderr
    cloud.run("implied", "role", "delete", "--implied-role", implied, prior)
    pairs = {(r["Prior Role Name"], r["Implied Role Name"]) for r in cloud.json("implied", "role", "list")}
    assert (prior, implied) not in pairs


def test_ec2_credentials_create_list_show_delete(cloud, member):
    pid, uid, env = member
    made = cloud.json("ec2", "credentials", "create", env=env)
    assert made["access"] and made["secret"] and made["project_id"] == pid and made["user_id"] == uid
    listed = cloud.json("ec2", "credentials", "list", env=env)
    assert [c["Access"] for c in listed] == [made["access"]]
    shown = cloud.json("ec2", "credentials", "show", made["access"], env=env)
    assert shown["secret"] == made["secret"]
    # The admin sees it among the user's credentials, of type ec2.
    creds = cloud.json("credential", "list", "--user", uid)
    assert [c["Type"] for c in creds] == ["ec2"]
    cloud.run("ec2", "credentials", "delete", made["access"], env=env)
    assert cloud.json("ec2", "credentials", "list", env=env) == []


def test_credential_create_list_show_delete(cloud, member):
    pid, uid, env = member
    made = cloud.json("credential", "create", "--type", "cert", "--project", pid, uid, "-----BEGIN CERT-----")
    assert made["type"] == "cert" and made["blob"] == "-----BEGIN CERT-----" and made["user_id"] == uid
    assert made["id"] in [c["ID"] for c in cloud.json("credential", "list")]
    # The member sees its own, and only its own.
    mine = cloud.json("credential", "list", env=env)
    assert [c["ID"] for c in mine] == [made["id"]]
    cloud.run("credential", "set", "--type", "cert", "--data", "renewed", "--user", uid, made["id"])
    assert cloud.json("credential", "show", made["id"])["blob"] == "renewed"
    # A blob is stored encrypted, never in clear.
    pg = os.environ.get("FERROSTACK_DATABASE_URL")
    if pg:
        row = subprocess.run(["psql", pg, "-At", "-c", f"SELECT * FROM credentials WHERE id = '{made['id']}'"],
                             capture_output=True, text=True, check=True).stdout
        assert made["id"] in row and "renewed" not in row, row
    cloud.run("credential", "delete", made["id"])
    assert made["id"] not in [c["ID"] for c in cloud.json("credential", "list")]
    if not pg:
        stored = b""
        for f in ("ferrostack.db", "ferrostack.db-wal"):
            path = os.path.join(cloud.data_dir, f)
            if os.path.exists(path):
                stored += open(path, "rb").read()
        assert stored and b"-----BEGIN CERT-----" not in stored


def test_project_set_tag(cloud):
    p = name("proj")
    cloud.json("project", "create", "--tag", "web", p)
    cloud.run("project", "set", "--tag", "prod", p)
    assert sorted(cloud.json("project", "show", p)["tags"]) == ["prod", "web"]
    assert p in [x["Name"] for x in cloud.json("project", "list", "--tags", "prod")]
    cloud.run("project", "set", "--remove-tag", "web", p)
    assert cloud.json("project", "show", p)["tags"] == ["prod"]

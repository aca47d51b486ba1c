"""A running `ferrostack serve` on loopback with a fresh data dir, and helpers to run
the real `openstack` CLI against it as the admin or as any user."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ADMIN_PASSWORD = "cli-admin-pw-1"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A bridge of this test run's own (at most 15 characters).
EXT_BRIDGE = f"fsxe{os.getpid() % 0x10000:04x}"


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


SIM_HOSTS = {"sim-1": (8, 16384), "sim-2": (8, 8192), "sim-3": (4, 4096)}


def compute_config(root):
    """A config file naming three simulated hosts (libvirt's test driver) in zone `sim`
    and this machine's real hypervisor (qemu:///system) in zone `nova`."""
    lines = ["[compute]", "shutdown_timeout_secs = 3", "reconcile_secs = 2"]
    for name, (cpus, mib) in SIM_HOSTS.items():
        path = os.path.join(root, f"{name}.xml")
        with open(path, "w") as f:
            f.write(f"<node><cpu><mhz>2000</mhz><model>x86_64</model><active>{cpus}</active><max>{cpus}</max>"
                    f"<nodes>1</nodes><sockets>1</sockets><cores>{cpus}</cores><threads>1</threads></cpu>"
                    f"<memory>{mib * 1024}</memory></node>")
        lines += ["[[compute.hosts]]", f'name = "{name}"', f'uri = "test://{path}"',
                  'availability_zone = "sim"', "disk_gb = 500"]
    lines += ["[[compute.hosts]]", 'name = "local"', 'uri = "qemu:///system"', 'availability_zone = "nova"']
    # The external network's host bridge (made by the cloud fixture; nothing else is
    # plugged into it but routers and the test hosts the router tests make).
    lines += ["[network]", f'bridge_mappings = {{ public = "{EXT_BRIDGE}" }}']
    path = os.path.join(root, "ferrostack.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Cloud:
    def __init__(self, url, data_dir):
        self.url = url
        self.auth_url = url + "/identity/v3"
        self.data_dir = data_dir

    def user(self, name, project, role="member", password="pw-cli-user-1"):
        """A user holding `role` in a new project `project`; the env to act as it."""
        self.run("project", "create", project, check=False)
        self.run("user", "create", "--password", password, name, check=False)
        self.run("role", "add", "--project", project, "--user", name, role)
        return self.env(user=name, password=password, project=project)

    def env(self, user="admin", password=ADMIN_PASSWORD, project="admin", **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update({
            "OS_AUTH_URL": self.auth_url,
            "OS_USERNAME": user,
            "OS_PASSWORD": password,
            "OS_PROJECT_NAME": project,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_IDENTITY_API_VERSION": "3",
            "OS_INTERFACE": "public",
        })
        env.update(extra)
        return env

    def run(self, *args, env=None, check=True):
        """Run `openstack ARGS`; with check, fail the test on a non-zero exit."""
        cmd = [shutil.which("openstack") or os.path.join(os.path.dirname(os.sys.executable), "openstack"), *args]
        # Stdin is a terminal, as for a person typing: `image create` without --file
        # would otherwise read image data from a non-terminal stdin.
        leader, follower = os.openpty()
        try:
            p = subprocess.run(cmd, env=env or self.env(), capture_output=True, text=True, timeout=120,
                               stdin=follower)
        finally:
            os.close(leader)
            os.close(follower)
        if check and p.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
        return p

    def json(self, *args, env=None):
        return json.loads(self.run(*args, "-f", "json", env=env).stdout)

    def http(self, method, path, token, headers=None):
        req = urllib.request.Request(self.url + path, method=method)
        req.add_header("X-Auth-Token", token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


@pytest.fixture(scope="session")
def cloud():
    binary = os.environ.get("FERROSTACK_BIN") or os.path.join(REPO, "target", "release", "ferrostack")
    data_dir = tempfile.mkdtemp(prefix="ferrostack-cli-")
    # QEMU runs as its own user and must pass through to the servers' disks.
    os.chmod(data_dir, 0o711)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(data_dir, "server.log"), "w")
    env = dict(os.environ, FERROSTACK_DATA_DIR=os.path.join(data_dir, "data"), FERROSTACK_LISTEN=f"127.0.0.1:{port}",
               FERROSTACK_ADMIN_PASSWORD=ADMIN_PASSWORD, FERROSTACK_LOG="info",
               # Imports (glance-direct) are converted to qcow2, as an operator may ask.
               FERROSTACK_IMAGE_CONVERT_TO="qcow2")
    config = compute_config(data_dir)
    ip("link", "del", EXT_BRIDGE, check=False)
    ip("link", "add", EXT_BRIDGE, "type", "bridge")
    ip("link", "set", EXT_BRIDGE, "up")
    proc = subprocess.Popen([binary, "--config", config, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/identity/v3", timeout=2):
                break
        except Exception:
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                raise RuntimeError("ferrostack serve did not come up:\n" + open(log.name).read())
            time.sleep(0.2)
    c = Cloud(url, os.path.join(data_dir, "data"))
    c.ext_bridge = EXT_BRIDGE
    yield c
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    ip("link", "del", EXT_BRIDGE, check=False)
    # The server's log outlives the run (for a failure's post-mortem).
    shutil.copy(log.name, os.path.join(tempfile.gettempdir(), "ferrostack-cli-server.log"))
    shutil.rmtree(data_dir, ignore_errors=True)

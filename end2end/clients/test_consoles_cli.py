"""Server consoles through the real `openstack` CLI: `console url show --serial` gives a
WebSocket URL on which a command typed into the test image's shell answers, `--novnc`
a page whose WebSocket carries the guest's VNC server; a wrong or tampered token is
refused, and another project's member gets no URL at all."""

import time
import urllib.error
import urllib.parse
import urllib.request

import websocket

from test_compute_cli import wait_for

SHELL = "FERROSTACK-TEST-IMAGE SHELL"


def read_until(ws, needle, timeout=60):
    deadline = time.time() + timeout
    seen = b""
    ws.settimeout(2)
    while time.time() < deadline:
        try:
            chunk = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        seen += chunk if isinstance(chunk, bytes) else chunk.encode()
        if needle.encode() in seen:
            return seen.decode(errors="replace")
    raise AssertionError(f"never saw {needle!r} on the console; got {seen[-500:]!r}")


def test_serial_and_vnc_consoles_of_a_real_guest(cloud):
    s = cloud.json("server", "create", "--image", "ferrostack-test", "--flavor", "m1.tiny", "--nic", "none",
                   "--availability-zone", "nova", "--wait", "console-vm")
    wait_for(lambda: SHELL in cloud.run("console", "log", "show", "console-vm").stdout, "the test image's shell", 240)

    url = cloud.json("console", "url", "show", "--serial", "console-vm")["url"]
    assert url.startswith("ws://") and "token=" in url, url
    ws = websocket.create_connection(url, subprotocols=["binary"], timeout=10)
    try:
        # The answer (42) is not in what is typed, so it can only come from the shell.
        ws.send_binary(b"echo fs-$((6*7))-ok\r")
        out = read_until(ws, "fs-42-ok")
        assert "fs-42-ok" in out
    finally:
        ws.close()
    # The same URL opens it again while it is valid; a tampered token does not.
    ws = websocket.create_connection(url, subprotocols=["binary"], timeout=10)
    ws.close()
    bad = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    try:
        websocket.create_connection(bad, timeout=10)
        raise AssertionError("a tampered token opened the console")
    except websocket.WebSocketBadStatusException as e:
        assert e.status_code == 401, e
    # Another site's page may not use the token.
    try:
        websocket.create_connection(url, origin="http://evil.example", timeout=10)
        raise AssertionError("another origin opened the console")
    except websocket.WebSocketBadStatusException as e:
        assert e.status_code == 403, e

    novnc = cloud.json("console", "url", "show", "--novnc", "console-vm")["url"]
    assert novnc.startswith(cloud.url) and "/console/novnc?token=" in novnc, novnc
    with urllib.request.urlopen(novnc, timeout=10) as r:
        assert "rfb.js" in r.read().decode()
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(novnc).query)["token"][0]
    ws_url = cloud.url.replace("http://", "ws://") + "/compute/console/novnc/ws?token=" + token
    ws = websocket.create_connection(ws_url, subprotocols=["binary"], timeout=10)
    try:
        greeting = ws.recv()
        assert greeting.startswith(b"RFB 003."), greeting
    finally:
        ws.close()
    # A serial token does not open VNC.
    serial_token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["token"][0]
    try:
        websocket.create_connection(ws_url.split("token=")[0] + "token=" + serial_token, timeout=10)
        raise AssertionError("a serial token opened VNC")
    except websocket.WebSocketBadStatusException as e:
        assert e.status_code == 401, e

    other = cloud.user("console-other", "console-other-project")
    p = cloud.run("console", "url", "show", "--serial", s["id"], env=other, check=False)
    assert p.returncode != 0, p.stdout
    cloud.run("server", "delete", "--wait", "console-vm")


def test_a_simulated_server_has_no_console(cloud):
    member = cloud.user("console-user", "console-project")
    cloud.run("server", "create", "--image", "ferrostack-test", "--flavor", "m1.tiny", "--nic", "none",
              "--availability-zone", "sim", "--wait", "sim-console", env=member)
    p = cloud.run("console", "url", "show", "--serial", "sim-console", env=member, check=False)
    assert p.returncode != 0 and "simulated host" in p.stderr, p.stderr
    cloud.run("server", "delete", "--wait", "sim-console", env=member)

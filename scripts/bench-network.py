"""Drives scripts/bench-network.sh: plain HTTP against the Neutron API (no client
library in the measured path), N clients at once from threads."""

import concurrent.futures
import json
import statistics
import sys
import time
import urllib.request

url, token, first, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
api = url + "/network/v2.0"


def call(method, path, body=None):
    req = urllib.request.Request(api + path if path.startswith("/") else path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("X-Auth-Token", token)
    req.add_header("Content-Type", "application/json")
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        data = r.read()
    return (time.perf_counter() - started) * 1000, json.loads(data) if data else None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


# Unlimited ports for the admin project (the token's).
req = urllib.request.Request(url + "/identity/v3/auth/tokens")
req.add_header("X-Auth-Token", token)
req.add_header("X-Subject-Token", token)
with urllib.request.urlopen(req) as r:
    admin_project = json.loads(r.read())["token"]["project"]["id"]
call("PUT", f"/quotas/{admin_project}", {"quota": {"port": -1}})
_, net = call("POST", "/networks", {"network": {"name": "bench-16"}})
net = net["network"]["id"]
call("POST", "/subnets", {"subnet": {"network_id": net, "cidr": "10.100.0.0/16", "ip_version": 4}})


def create(i):
    ms, b = call("POST", "/ports", {"port": {"network_id": net, "name": f"p{i}"}})
    return ms, b["port"]["fixed_ips"][0]["ip_address"]


# One at a time: the latency of a create with the IPAM.
seq = [create(i) for i in range(100)]
lat = [ms for ms, _ in seq]
print(f"port create, one client: p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms (100 creates)")
started = time.perf_counter()
with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
    made = list(pool.map(create, range(100, first)))
secs = time.perf_counter() - started
ips = {ip for _, ip in seq} | {ip for _, ip in made}
assert len(ips) == first, len(ips)
print(f"port create, 8 clients: {len(made)} ports in {secs:.1f} s = {len(made) / secs:.0f} ports/s "
      f"(p50 {pct([m for m, _ in made], 50):.1f} ms, p99 {pct([m for m, _ in made], 99):.1f} ms); {first} distinct addresses")

# The rest up to TOTAL, in a second network of the same project, then the listings.
_, net2 = call("POST", "/networks", {"network": {"name": "bench-fill"}})
net2 = net2["network"]["id"]
call("POST", "/subnets", {"subnet": {"network_id": net2, "cidr": "10.101.0.0/16", "ip_version": 4}})
started = time.perf_counter()
with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(lambda i: call("POST", "/ports", {"port": {"network_id": net2}}), range(total - first)))
print(f"filled to {total} ports in {time.perf_counter() - started:.0f} s")


def timed(path, n=20):
    xs = [call("GET", path)[0] for _ in range(n)]
    return pct(xs, 50), pct(xs, 99)


for label, path in [
    ("a 1,000-port page", "/ports?limit=1000"),
    ("a 50-port page of one network", f"/ports?network_id={net}&limit=50"),
    ("one port by address", f"/ports?fixed_ips=ip_address={sorted(ips)[500]}"),
]:
    p50, p99 = timed(path)
    print(f"port list with {total} ports, {label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
started = time.perf_counter()
seen, path = 0, "/ports"
while path:
    _, b = call("GET", path)
    seen += len(b["ports"])
    links = [link["href"] for link in b.get("ports_links", []) if link["rel"] == "next"]
    path = links[0] if links else None
print(f"the whole listing ({seen} ports, pages of 1,000 followed): {(time.perf_counter() - started) * 1000:.0f} ms")

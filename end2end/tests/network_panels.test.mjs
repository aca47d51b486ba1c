// Project > Network in a browser: a network with a subnet made from the topology page
// appears on the graph; an instance launched on it from the same page appears wired to
// it and turns Active there, then follows a stop made through the API, all without a
// reload; clicking its node opens its page. A refused network says why and leaves
// nothing behind. The rules editor's presets reach the group's rules; a router gets an
// interface and a floating IP is associated with the instance's address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, adminToken, api, hydrated, signIn, withCloud } from './harness.mjs';

const env = withCloud(async (env) => {
  env.token = await adminToken(env.cloud);
}, {
  hosts: [{ name: 'sim-a', cpus: 8, mib: 8192, zone: 'nova' }],
  seed: true,
});

const neutron = (method, path, body) => api(env.cloud, method, '/network/v2.0' + path, { token: env.token, body });
const nova = (method, path, body) => api(env.cloud, method, '/compute/v2.1' + path, { token: env.token, body });
const node = (kind, name) => `[data-test=topology] [data-test=topo-node][data-kind=${kind}][data-name="${name}"]`;

async function open(path) {
  const p = await env.chrome.newPage({ viewport: { width: 1400, height: 900 } });
  await signIn(p, env.cloud.url, 'admin', ADMIN_PASSWORD);
  await p.waitForSelector('[data-test=sidenav]');
  await p.goto(env.cloud.url + path);
  await hydrated(p);
  await p.waitForSelector('[data-live=connected]');
  await p.evaluate(() => { window.__samePage = true; });
  return p;
}

/** Click a toolbar button until its dialog is open (a lazily loaded panel may answer
 * its first click late). */
async function openDialog(p, button, field) {
  for (let i = 0; i < 20; i++) {
    await p.click(`[data-test=${button}]`);
    // Open (its choices may still be loading behind the backdrop): wait for the field.
    if (await p.waitForSelector('[data-test=modal]', { timeout: 1000 }).catch(() => null)) {
      await p.waitForSelector(`[data-test=modal] [data-test=${field}]`, { timeout: 15_000 });
      return;
    }
  }
  throw new Error(`${button} did not open its dialog`);
}

async function choose(p, field, label) {
  const value = await p.$eval(`[data-test=${field}]`, (sel, label) => {
    const o = [...sel.options].find((o) => o.textContent.startsWith(label));
    return o ? o.value : null;
  }, label);
  assert.ok(value !== null, `${field} offers ${label}`);
  await p.selectOption(`[data-test=${field}]`, value);
}

test('a network and an instance made on the topology page appear there and go live', async () => {
  const p = await open('/project/network-topology');
  await p.waitForSelector('[data-test=empty]');
  // A refusal says why and leaves no network behind.
  await openDialog(p, 'create-network', 'field-name');
  await p.fill('[data-test=field-name]', 'bad-net');
  await p.fill('[data-test=field-cidr]', '10.40.0.0/33');
  await p.click('[data-test=dialog-submit]');
  const why = await (await p.waitForSelector('[data-test=modal-error]')).textContent();
  assert.match(why, /10\.40\.0\.0\/33/);
  assert.equal((await neutron('GET', '/networks?name=bad-net')).body.networks.length, 0, 'no half-made network');
  await p.click('[data-test=dialog-cancel]');

  await openDialog(p, 'create-network', 'field-name');
  await p.fill('[data-test=field-name]', 'web-net');
  await p.fill('[data-test=field-subnet_name]', 'web-subnet');
  await p.fill('[data-test=field-cidr]', '10.40.0.0/24');
  await p.click('[data-test=dialog-submit]');
  const bar = await p.waitForSelector(node('network', 'web-net'));
  assert.match(await bar.textContent(), /10\.40\.0\.0\/24/);

  // Launched on it from the same page: the dialog offers (and ticks) the network.
  await openDialog(p, 'launch-instance', 'field-name');
  await p.fill('[data-test=field-name]', 'web-1');
  await choose(p, 'field-image', 'ferrostack-test');
  await choose(p, 'field-flavor', 'm1.tiny');
  const box = await p.waitForSelector('[data-test=field-network]');
  assert.equal(await box.isChecked(), true, 'the only network is ticked');
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector(node('server', 'web-1'));
  await p.waitForSelector(`${node('server', 'web-1')}[data-status=ACTIVE]`, { timeout: 30_000 });
  // Wired to its network: the port the service made is on web-net.
  const server = (await nova('GET', '/servers?name=web-1')).body.servers[0];
  const ports = (await neutron('GET', `/ports?device_id=${server.id}`)).body.ports;
  const net = (await neutron('GET', '/networks?name=web-net')).body.networks[0];
  assert.equal(ports.length, 1);
  assert.equal(ports[0].network_id, net.id);
  assert.match(ports[0].fixed_ips[0].ip_address, /^10\.40\.0\./);
  // A stop through the API (as the CLI would) reaches the graph.
  await nova('POST', `/servers/${server.id}/action`, { 'os-stop': null });
  await p.waitForSelector(`${node('server', 'web-1')}[data-status=SHUTOFF]`, { timeout: 30_000 });
  assert.equal(await p.evaluate(() => window.__samePage), true, 'no reload');
  // Its node opens its page.
  await p.click(node('server', 'web-1'));
  await p.waitForURL(`**/project/instances/${server.id}`);
  await p.waitForSelector('text=web-1');
  await p.close();
});

test('the rules editor adds a preset rule and says why it refuses the same rule twice', async () => {
  const p = await open('/project/security-groups');
  await p.click('[data-test=security-groups-table] tr[data-name=default] [data-test=row-link]');
  await p.waitForSelector('[data-test=group-name]:text("default")');
  await hydrated(p);
  const icmp = '[data-test=rules-table] tr[data-name^="ingress icmp"]';
  assert.equal(await p.$(icmp), null);
  await p.click('[data-test=preset-icmp]');
  await p.waitForSelector(icmp);
  await p.click('[data-test=preset-icmp]');
  const refusal = await (await p.waitForSelector('[data-test=toast-error]')).textContent();
  assert.match(refusal, /already exists/i);
  const rules = (await neutron('GET', '/security-group-rules?protocol=icmp')).body.security_group_rules;
  assert.equal(rules.length, 1, 'one rule, not two');
  await p.close();
});

test('a router gets an interface, and a floating IP reaches the instance', async () => {
  const ext = (await neutron('POST', '/networks', { network: { name: 'public', 'router:external': true } })).body.network;
  await neutron('POST', '/subnets', { subnet: { network_id: ext.id, cidr: '198.51.100.0/24', ip_version: 4, enable_dhcp: false } });
  const p = await open('/project/routers');
  await openDialog(p, 'create-router', 'field-name');
  await p.fill('[data-test=field-name]', 'edge');
  await choose(p, 'field-external', 'public');
  await p.click('[data-test=dialog-submit]');
  const row = '[data-test=routers-table] tr[data-name=edge]';
  await p.waitForSelector(`${row}:has-text("198.51.100.")`);
  await p.click(`${row} [data-test=row-link]`);
  await p.waitForSelector('[data-test=router-name]:text("edge")');
  await hydrated(p);
  await openDialog(p, 'add-interface', 'field-subnet');
  await choose(p, 'field-subnet', 'web-net');
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector('[data-test=interfaces-table] tr:has-text("10.40.0.1")');

  await p.goto(env.cloud.url + '/project/floating-ips');
  await hydrated(p);
  await openDialog(p, 'allocate-fip', 'field-network');
  await p.click('[data-test=dialog-submit]');
  const fip = (await (await p.waitForSelector('[data-test=floating-ips-table] tr[data-name^="198.51.100."]')).getAttribute('data-name'));
  await p.click(`[data-test=floating-ips-table] tr[data-name="${fip}"] [data-test=row-associate]`);
  await choose(p, 'field-port', 'web-1: 10.40.0.');
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector(`[data-test=floating-ips-table] tr[data-name="${fip}"]:has-text("web-1: 10.40.0.")`);
  const server = (await nova('GET', '/servers?name=web-1')).body.servers[0];
  const addresses = (await nova('GET', `/servers/${server.id}`)).body.server.addresses['web-net'];
  assert.ok(addresses.some((a) => a.addr === fip && a['OS-EXT-IPS:type'] === 'floating'), JSON.stringify(addresses));
  // The topology shows the router wired to both networks.
  await p.goto(env.cloud.url + '/project/network-topology');
  await hydrated(p);
  await p.waitForSelector(node('router', 'edge'));
  await p.waitForSelector(node('network', 'public'));
  await p.close();
});

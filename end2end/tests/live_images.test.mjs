// The console updates from pushed events: with Project > Images open, an image created
// and uploaded through the API (as the openstack CLI does) appears and turns active
// without a reload; while nothing happens the page makes no requests at all (no
// polling); and when its event connection drops, it resumes from the last event it
// saw and receives what happened meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, adminToken, api, hydrated, signIn, withCloud } from './harness.mjs';

const env = withCloud(async (env) => {
  env.token = await adminToken(env.cloud);
});

const glance = (method, path, body) => api(env.cloud, method, '/image/v2' + path, { token: env.token, body });

async function upload(id, bytes) {
  const r = await fetch(`${env.cloud.url}/image/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'x-auth-token': env.token, 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(bytes, 9),
  });
  assert.equal(r.status, 204);
}

async function imagesPage() {
  const p = await env.chrome.newPage({ viewport: { width: 1280, height: 800 } });
  p.__errors = [];
  p.on('pageerror', (e) => p.__errors.push(e.message));
  await signIn(p, env.cloud.url, 'admin', ADMIN_PASSWORD);
  await p.waitForSelector('[data-test=sidenav]');
  await p.goto(env.cloud.url + '/project/images');
  await hydrated(p);
  await p.waitForSelector('[data-live=connected]');
  await p.evaluate(() => { window.__samePage = true; });
  return p;
}

const row = (name) => `[data-test=images-table] tr[data-name="${name}"]`;

test('an image made through the API appears and turns active without a reload, and an idle page sends no requests', async () => {
  const p = await imagesPage();
  const requests = [];
  p.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
  const img = (await glance('POST', '/images', { name: 'from-the-cli', disk_format: 'raw', container_format: 'bare' })).body;
  await p.waitForSelector(`${row('from-the-cli')} [data-test=badge]:text("queued")`);
  await upload(img.id, 1024 * 1024);
  await p.waitForSelector(`${row('from-the-cli')} [data-test=badge]:text("active")`);
  assert.equal(await p.evaluate(() => window.__samePage), true, 'no reload');
  // Every request the page made was a reload of the list that an event caused.
  assert.ok(requests.length > 0 && requests.every((r) => r.includes('/api/list_images')), requests.join('\n'));
  // Idle: nothing changes, and the page asks for nothing (the event stream is one
  // long-lived request opened before this counting started).
  requests.length = 0;
  await p.waitForTimeout(6000);
  assert.deepEqual(requests, [], 'no periodic requests while idle');
  assert.deepEqual(p.__errors, []);
  await p.close();
});

test('a dropped event connection resumes from its last event and misses nothing', async () => {
  const p = await imagesPage();
  const cdp = await p.context().newCDPSession(p);
  await cdp.send('Network.enable');
  // The page loses the server: its network goes away and the server restarts.
  await cdp.send('Network.emulateNetworkConditions', { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await env.cloud.stop();
  await env.cloud.start();
  await p.waitForSelector('[data-live=reconnecting]');
  // Meanwhile, an image is made; the page cannot hear of it yet.
  env.token = await adminToken(env.cloud);
  const img = (await glance('POST', '/images', { name: 'made-while-away', disk_format: 'raw', container_format: 'bare' })).body;
  const seen = () => p.evaluate((id) => (window.__ferrostackEvents || []).filter((e) => e.resource_id === id).map((e) => e.action), img.id);
  assert.deepEqual(await seen(), []);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  // Back: the stream resumes after the last event the page saw, so the event made
  // while it was away arrives (replayed from the server's event log).
  await p.waitForFunction((id) => (window.__ferrostackEvents || []).some((e) => e.resource_id === id && e.action === 'created'), img.id, { timeout: 30_000 });
  await p.waitForSelector(`${row('made-while-away')} [data-test=badge]:text("queued")`);
  assert.equal(await p.evaluate(() => window.__samePage), true, 'no reload');
  assert.deepEqual(p.__errors, []);
  await p.close();
});
